//! `ccgate withdrawal approve|reject`: the operator's answer to a chain
//! withdrawal of a merchant whose withdrawals wait for approval
//! (`ccgate merchant set-withdrawal-approval`, docs/decisions.md §15).

use ccgate_engine::devnet::DatabaseDevnet;
use ccgate_engine::payouts::Payouts;
use std::sync::Arc;

use ccgate_chain::ChainSet;
use ccgate_engine::withdrawals::{Withdrawals, decided};
use ccgate_pricefeed::StaticPrices;

use crate::backend::Database;
use crate::config::Settings;

/// The withdrawal engine on this process's database, as `serve` builds it.
pub fn engine(database: &Database, settings: &Settings) -> anyhow::Result<Withdrawals> {
    let registry = Arc::new(settings.registry.clone());
    let chains = Arc::new(ChainSet::new(
        &registry,
        DatabaseDevnet::new(database.store(), database.deposits()),
        &settings.evm,
        None,
    )?);
    Ok(Withdrawals::new(
        registry,
        chains,
        Arc::new(StaticPrices::new(settings.prices.clone())),
        database.store(),
        database.deposits(),
        database.withdrawals(),
        Payouts::new(database.payouts()),
    ))
}

/// Lets it go: `ccgate serve` sends it.
pub async fn approve(
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
pub async fn reject(
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
