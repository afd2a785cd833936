//! `ccgate order list|refund`.

use std::process::ExitCode;

use ccgate_engine::orders::OrderStatus;
use ccgate_ledger::MerchantId;
use clap::{Args, Subcommand};
use serde_json::json;

use super::Globals;
use super::listing::{self, ListingArgs};
use crate::backend::Database;
use crate::config::Settings;

/// An order's state, as `bill/info` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OrderStatusArg {
    Pending,
    Processing,
    Successful,
    Expired,
}

impl From<OrderStatusArg> for OrderStatus {
    fn from(status: OrderStatusArg) -> Self {
        match status {
            OrderStatusArg::Pending => OrderStatus::Pending,
            OrderStatusArg::Processing => OrderStatus::Processing,
            OrderStatusArg::Successful => OrderStatus::Successful,
            OrderStatusArg::Expired => OrderStatus::Expired,
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum OrderCommand {
    /// Deposit orders (native and hosted checkouts), newest first.
    List {
        #[command(flatten)]
        listing: ListingArgs,
        /// Only orders in this state. The state is derived from the payments
        /// and the time, never stored, so it filters the page of --limit
        /// newest orders loaded: fewer may show; raise --limit to look further.
        #[arg(long, value_enum)]
        status: Option<OrderStatusArg>,
    },
    /// Refund a paid order to an address on its network; the payee bears the network fee.
    Refund(RefundArgs),
}

#[derive(Debug, Args)]
pub struct RefundArgs {
    /// The merchant's Appid.
    #[arg(long)]
    app_id: String,
    /// The order, by the id the merchant gave it.
    #[arg(long)]
    merchant_order_id: String,
    /// Where the refund goes, on the order's network.
    #[arg(long)]
    address: String,
    /// How much, in the coin (e.g. 10.5); at most what the order received, less earlier refunds.
    #[arg(long)]
    amount: String,
    /// Print the refund as JSON.
    #[arg(long)]
    json: bool,
}

pub async fn run(globals: Globals, command: OrderCommand) -> anyhow::Result<ExitCode> {
    globals
        .with_database(async |database, settings| match command {
            OrderCommand::List { listing, status } => {
                listing::orders(
                    database,
                    &settings.registry,
                    &listing,
                    status.map(Into::into),
                )
                .await
            }
            OrderCommand::Refund(request) => refund(database, settings, request).await,
        })
        .await?;
    Ok(ExitCode::SUCCESS)
}

/// `ccgate order refund`: reserves the refund now; `serve` sends it and posts
/// it at its confirmations, like a withdrawal.
async fn refund(
    database: &Database,
    settings: &Settings,
    request: RefundArgs,
) -> anyhow::Result<()> {
    let refund = super::withdrawal::engine(database, settings)?
        .refund_order(
            &MerchantId::new(request.app_id.as_str()),
            &request.merchant_order_id,
            request.address.trim(),
            request.amount.trim(),
            database.business_now_ms().await?,
            None,
        )
        .await?;
    if request.json {
        println!(
            "{}",
            json!({"refund_id": refund.order_id, "record_id": refund.record_id, "status": refund.status.as_str()})
        );
    } else {
        println!(
            "Refund {} of order {} reserved; `ccgate serve` sends it (record {}).",
            refund.order_id, request.merchant_order_id, refund.record_id
        );
    }
    Ok(())
}
