use std::process::ExitCode;
use std::sync::Arc;

use ccgate_chain::ChainSet;
use ccgate_engine::deposits::{DepositWatcher, ReorgMode, ReorgRequest};
use ccgate_engine::devnet::{self, PayRequest};
use clap::Subcommand;
use serde_json::json;

use super::Globals;
use crate::backend::Database;
use crate::config::Settings;

#[derive(Debug, Subcommand)]
pub enum DevnetCommand {
    /// Produce blocks now, on top of those produced by time.
    Mine {
        #[arg(long)]
        chain: String,
        #[arg(long, default_value_t = 1)]
        blocks: u64,
    },
    /// Make the next withdrawal sent on a chain fail (its reservation is then voided).
    FailNextWithdrawal {
        #[arg(long, default_value = "ETH")]
        chain: String,
        #[arg(long, default_value_t = 1)]
        count: u32,
    },
    /// Rewrite the newest blocks of a devnet chain: by default their transfers are mined again
    /// in the next block (confirmations start over); `--drop TXID` removes one transaction;
    /// `--replace` removes them all. Reaching confirmed blocks needs `--force` (credits there are
    /// kept and recorded as incidents, never reversed).
    Reorg {
        #[arg(long)]
        chain: String,
        #[arg(long)]
        depth: u64,
        #[arg(long, conflicts_with = "replace")]
        drop: Option<String>,
        #[arg(long)]
        replace: bool,
        #[arg(long)]
        force: bool,
        #[arg(long)]
        json: bool,
    },
    /// Send a transfer to an address; it lands in the next block of the token's chain.
    Pay {
        #[arg(long)]
        to: String,
        /// The token (coin on one network), from `ccgate coins list`.
        #[arg(long)]
        token_id: String,
        #[arg(long)]
        amount: String,
        #[arg(long)]
        from: Option<String>,
        #[arg(long)]
        memo: Option<String>,
        #[arg(long)]
        json: bool,
    },
}

pub async fn run(globals: Globals, command: DevnetCommand) -> anyhow::Result<ExitCode> {
    globals
        .with_database(async |database, settings| match command {
            DevnetCommand::FailNextWithdrawal { chain, count } => {
                fail_next_withdrawal(database, settings, &chain, count).await
            }
            DevnetCommand::Mine { chain, blocks } => mine(database, settings, &chain, blocks).await,
            DevnetCommand::Reorg {
                chain,
                depth,
                drop,
                replace,
                force,
                json,
            } => {
                let mode = match drop {
                    Some(txid) => ReorgMode::Drop(txid),
                    None if replace => ReorgMode::Replace,
                    None => ReorgMode::Move,
                };
                let request = ReorgRequest {
                    chain,
                    depth,
                    mode,
                    force,
                };
                reorg(database, settings, &request, json).await
            }
            DevnetCommand::Pay {
                to,
                token_id,
                amount,
                from,
                memo,
                json,
            } => {
                let request = PayRequest {
                    to,
                    token_id,
                    amount,
                    from,
                    memo,
                };
                pay(database, settings, request, json).await
            }
        })
        .await?;
    Ok(ExitCode::SUCCESS)
}

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
        database.devnet(),
        &settings.evm,
        None,
    )?)
}

/// `ccgate devnet reorg`: rewrites the newest blocks of a simulated chain,
/// here on the database (a running server's loops pick the change up).
async fn reorg(
    database: &Database,
    settings: &Settings,
    request: &ReorgRequest,
    as_json: bool,
) -> anyhow::Result<()> {
    let chains = Arc::new(chains(database, settings)?);
    let watcher = DepositWatcher::new(
        Arc::new(settings.registry.clone()),
        chains,
        database.watcher_stores(),
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
async fn mine(
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
async fn pay(
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
async fn fail_next_withdrawal(
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
        .devnet()
        .devnet_fail_next_sends(&code, count)
        .await?;
    println!("The next {count} withdrawal(s) sent on {code} will fail.");
    Ok(())
}
