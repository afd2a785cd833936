use std::sync::Arc;

use ccgate_chain::ChainSet;
use ccgate_engine::deposits::{DepositWatcher, ReorgRequest};
use ccgate_engine::devnet::DatabaseDevnet;
use ccgate_engine::devnet::{self, PayRequest};
use ccgate_engine::payouts::Payouts;
use serde_json::json;

use crate::backend::Database;
use crate::config::Settings;

/// A chain followed on a real node has no devnet: paying or mining on it is
/// refused as an unknown chain, and a live gateway without the opt-in has no
/// devnet at all.
fn chains(database: &Database, settings: &Settings) -> anyhow::Result<ChainSet> {
    if settings.devnet_chains().next().is_none() {
        anyhow::bail!(
            "this gateway is live (real money on {}): it has no devnet, so devnet commands are \
             refused",
            settings.live_chains_text()
        );
    }
    Ok(ChainSet::new(
        &settings.registry,
        DatabaseDevnet::new(database.store(), database.deposits()),
        &settings.evm,
        None,
    )?)
}

/// `ccgate devnet reorg`: rewrites the newest blocks of a simulated chain,
/// here on the database (a running server's loops pick the change up).
pub async fn reorg(
    database: &Database,
    settings: &Settings,
    request: &ReorgRequest,
    as_json: bool,
) -> anyhow::Result<()> {
    let chains = Arc::new(chains(database, settings)?);
    let watcher = DepositWatcher::new(
        Arc::new(settings.registry.clone()),
        chains,
        database.store(),
        database.deposits(),
        database.reorgs(),
        Payouts::new(database.payouts()),
    );
    let report = watcher
        .reorg(
            database.sandbox().as_ref(),
            request,
            database.business_now_ms().await?,
        )
        .await?;
    if as_json {
        println!(
            "{}",
            serde_json::to_string(&ccgate_server::admin::reorganised(&report))?
        );
        return Ok(());
    }
    println!(
        "{} blocks {}..={} rewritten: {} transfer(s) dropped, {} mined again",
        report.chain,
        report.from_height,
        report.height,
        report.dropped.len(),
        report.moved.len()
    );
    for txid in &report.dropped {
        println!("  dropped {txid}");
    }
    for (txid, height) in &report.moved {
        println!("  mined again in block {height}: {txid}");
    }
    if report.vanished_notices > 0 {
        println!(
            "  {} `failed` webhook(s) queued for payments merchants were told were processing",
            report.vanished_notices
        );
    }
    for incident in &report.incidents {
        println!(
            "  INCIDENT {} #{} (record {}): {}",
            incident.txid, incident.log_index, incident.record_id, incident.what
        );
    }
    Ok(())
}

/// `ccgate devnet mine`: produce blocks on a simulated chain now.
pub async fn mine(
    database: &Database,
    settings: &Settings,
    chain: &str,
    blocks: u64,
) -> anyhow::Result<()> {
    let chains = chains(database, settings)?;
    let (code, height) =
        devnet::mine(&chains, chain, blocks, database.business_now_ms().await?).await?;
    println!("{code} height {height}");
    Ok(())
}

/// `ccgate devnet pay`: a transfer in the next block of the token's chain.
pub async fn pay(
    database: &Database,
    settings: &Settings,
    request: PayRequest,
    json: bool,
) -> anyhow::Result<()> {
    let chains = chains(database, settings)?;
    let paid = devnet::pay(
        &settings.registry,
        &chains,
        request,
        database.business_now_ms().await?,
    )
    .await?;
    let transfer = &paid.transfer;
    if json {
        println!(
            "{}",
            json!({"chain": transfer.chain, "txid": transfer.txid, "block_height": transfer.block_height,
                   "confirmations_required": paid.confirmations_required})
        );
    } else {
        println!(
            "{} {} {} to {} in block {} (txid {}); credited after {} confirmations",
            transfer.chain,
            paid.amount,
            paid.symbol,
            transfer.to_address,
            transfer.block_height,
            transfer.txid,
            paid.confirmations_required
        );
    }
    Ok(())
}

/// `ccgate devnet fail-next-withdrawal`.
pub async fn fail_next_withdrawal(
    database: &Database,
    settings: &Settings,
    chain: &str,
    count: u32,
) -> anyhow::Result<()> {
    let chains = chains(database, settings)?;
    let code = ccgate_chain::ChainAdapter::chain(chains.devnet(chain)?.as_ref())
        .code
        .to_string();
    database
        .store()
        .devnet_fail_next_sends(&code, count)
        .await?;
    println!("The next {count} withdrawal(s) sent on {code} will fail.");
    Ok(())
}
