//! `ccgate withdrawal list|approve|reject|approve-batch|reject-batch`;
//! approve and reject are the operator's answer to a chain withdrawal of a
//! merchant whose withdrawals wait for approval (`ccgate merchant
//! set-withdrawal-approval`, docs/decisions.md §15), the batch forms to every
//! waiting task of a v2 batch withdrawal (§26).

use ccgate_engine::devnet::DatabaseDevnet;
use ccgate_engine::payouts::Payouts;
use std::process::ExitCode;
use std::sync::Arc;

use ccgate_chain::ChainSet;
use ccgate_engine::batch_withdrawals::BatchWithdrawals;
use ccgate_engine::withdrawals::{Withdrawals, decided};
use ccgate_ledger::MerchantId;
use ccgate_pricefeed::StaticPrices;
use ccgate_store::WithdrawalStatus;
use clap::Subcommand;

use super::Globals;
use super::listing::{self, ListingArgs};
use crate::backend::Database;
use crate::config::Settings;

/// A withdrawal's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum WithdrawalStatusArg {
    Pending,
    Processing,
    Successful,
    Failed,
}

impl From<WithdrawalStatusArg> for WithdrawalStatus {
    fn from(status: WithdrawalStatusArg) -> Self {
        match status {
            WithdrawalStatusArg::Pending => WithdrawalStatus::Pending,
            WithdrawalStatusArg::Processing => WithdrawalStatus::Processing,
            WithdrawalStatusArg::Successful => WithdrawalStatus::Successful,
            WithdrawalStatusArg::Failed => WithdrawalStatus::Failed,
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum WithdrawalCommand {
    /// Withdrawals and refunds, newest first.
    List {
        #[command(flatten)]
        listing: ListingArgs,
        /// Only withdrawals in this state (pending: reserved, not sent;
        /// processing: sent, confirming).
        #[arg(long, value_enum)]
        status: Option<WithdrawalStatusArg>,
    },
    /// Let a withdrawal waiting for approval be sent.
    Approve {
        /// The withdrawal's order id (as `withdrawal list` shows it).
        #[arg(long)]
        order_id: String,
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Refuse a withdrawal waiting for approval: its amount goes back to the
    /// merchant's balance, and the merchant is notified.
    Reject {
        /// The withdrawal's order id (as `withdrawal list` shows it).
        #[arg(long)]
        order_id: String,
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Approve every task of a v2 batch withdrawal that waits for approval.
    ApproveBatch {
        /// The merchant's Appid.
        #[arg(long)]
        app_id: String,
        /// The batch's batchOrderId.
        #[arg(long)]
        batch_order_id: String,
        /// Print the withdrawals decided as JSON lines.
        #[arg(long)]
        json: bool,
    },
    /// Reject every task of a v2 batch withdrawal that waits for approval.
    RejectBatch {
        /// The merchant's Appid.
        #[arg(long)]
        app_id: String,
        /// The batch's batchOrderId.
        #[arg(long)]
        batch_order_id: String,
        /// Print the withdrawals decided as JSON lines.
        #[arg(long)]
        json: bool,
    },
}

pub async fn run(globals: Globals, command: WithdrawalCommand) -> anyhow::Result<ExitCode> {
    globals
        .with_database(async |database, settings| match command {
            WithdrawalCommand::List { listing, status } => {
                listing::withdrawals(
                    database,
                    &settings.registry,
                    &listing,
                    status.map(Into::into),
                )
                .await
            }
            WithdrawalCommand::Approve { order_id, json } => {
                approve(database, settings, &order_id, json).await
            }
            WithdrawalCommand::Reject { order_id, json } => {
                reject(database, settings, &order_id, json).await
            }
            WithdrawalCommand::ApproveBatch {
                app_id,
                batch_order_id,
                json,
            } => decide_batch(database, settings, &app_id, &batch_order_id, true, json).await,
            WithdrawalCommand::RejectBatch {
                app_id,
                batch_order_id,
                json,
            } => decide_batch(database, settings, &app_id, &batch_order_id, false, json).await,
        })
        .await?;
    Ok(ExitCode::SUCCESS)
}

/// The withdrawal engine on this process's database, as `serve` builds it.
pub fn engine(database: &Database, settings: &Settings) -> anyhow::Result<Withdrawals> {
    let registry = Arc::new(settings.registry.clone());
    let chains = Arc::new(ChainSet::new(
        &registry,
        DatabaseDevnet::new(database.devnet()),
        &settings.evm,
        None,
    )?);
    Ok(Withdrawals::new(
        registry,
        chains,
        Arc::new(StaticPrices::new(settings.prices.clone())),
        database.store(),
        database.orders(),
        database.withdrawals(),
        Payouts::new(database.payouts()),
    ))
}

/// Lets it go: `ccgate serve` sends it.
async fn approve(
    database: &Database,
    settings: &Settings,
    order_id: &str,
    json: bool,
) -> anyhow::Result<()> {
    let approved = engine(database, settings)?.approve(order_id.trim()).await?;
    if json {
        println!("{}", serde_json::to_string(&decided(&approved))?);
    } else {
        println!(
            "Withdrawal {} approved; `ccgate serve` sends it.",
            approved.order_id
        );
    }
    Ok(())
}

/// Refuses it: the reservation goes back to the merchant, who is notified.
async fn reject(
    database: &Database,
    settings: &Settings,
    order_id: &str,
    json: bool,
) -> anyhow::Result<()> {
    let now = database.business_now_ms().await?;
    let rejected = engine(database, settings)?
        .reject(order_id.trim(), now)
        .await?;
    if json {
        println!("{}", serde_json::to_string(&decided(&rejected))?);
    } else {
        println!(
            "Withdrawal {} rejected; its amount is back in the merchant's balance.",
            rejected.order_id
        );
    }
    Ok(())
}

/// Approves or rejects every waiting task of the batch, each as `approve` or
/// `reject` does it.
async fn decide_batch(
    database: &Database,
    settings: &Settings,
    app_id: &str,
    batch_order_id: &str,
    approve: bool,
    json: bool,
) -> anyhow::Result<()> {
    let now = database.business_now_ms().await?;
    let batches = BatchWithdrawals::new(
        Arc::new(settings.registry.clone()),
        Arc::new(engine(database, settings)?),
        database.batch_withdrawals(),
    );
    let decided_ones = batches
        .decide(
            &MerchantId::new(app_id.trim()),
            batch_order_id.trim(),
            approve,
            now,
        )
        .await?;
    for withdrawal in &decided_ones {
        if json {
            println!("{}", serde_json::to_string(&decided(withdrawal))?);
        } else {
            println!(
                "Withdrawal {} ({}) {}.",
                withdrawal.order_id,
                withdrawal.merchant_order_id,
                if approve { "approved" } else { "rejected" }
            );
        }
    }
    Ok(())
}
