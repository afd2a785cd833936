use std::process::ExitCode;
use std::sync::Arc;

use ccgate_chain::keys::evm_hot_wallet_key;
use ccgate_chain::{ChainAdapter, ChainSet, HotWallet};
use ccgate_engine::addresses::load_deposit_seed;
use ccgate_engine::deposits::DepositWatcher;
use ccgate_engine::reconcile::{Reconciler, RescanOutcome, RescanReport};
use ccgate_ledger::{Amount, TokenId};
use ccgate_store::SweepRecord;
use clap::Subcommand;
use serde_json::json;

use super::Globals;
use crate::backend::Database;
use crate::config::Settings;

#[derive(Debug, Subcommand)]
pub enum EvmCommand {
    /// The address EVM payouts come from (the same on every EVM chain): fund
    /// it with the native coin for gas and with the tokens paid out.
    HotWallet {
        #[arg(long)]
        json: bool,
    },
    /// What waits to be swept into the hot wallet, per EVM chain with a node:
    /// each credited deposit address's balance per token against its
    /// `sweep_min`, and the sweeps in flight and done (balances read from
    /// the node).
    Sweeps {
        #[arg(long)]
        json: bool,
    },
    /// The latest payouts signed per EVM chain with a node (withdrawals,
    /// refunds, sweeps' gas top-ups): nonce, transaction, and how many times
    /// a stuck one was signed again (from the database; no node is asked).
    Payouts {
        #[arg(long)]
        json: bool,
    },
    /// Looks at one confirmed transaction again and credits what it paid to
    /// our addresses and was missed — its value, its token transfers, and
    /// (where the node traces) what contracts moved inside it — once.
    Rescan {
        /// The EVM chain's code (`ETH`, `BSC`…).
        #[arg(long)]
        chain: String,
        /// The transaction's hash.
        #[arg(long)]
        txid: String,
        #[arg(long)]
        json: bool,
    },
}

pub async fn run(globals: Globals, command: EvmCommand) -> anyhow::Result<ExitCode> {
    globals
        .with_database(async |database, settings| match command {
            EvmCommand::HotWallet { json } => hot_wallet(database, json).await,
            EvmCommand::Sweeps { json } => sweeps(database, settings, json).await,
            EvmCommand::Payouts { json } => payouts(database, settings, json).await,
            EvmCommand::Rescan { chain, txid, json } => {
                rescan(database, settings, &chain, &txid, json).await
            }
        })
        .await?;
    Ok(ExitCode::SUCCESS)
}

/// `ccgate evm hot-wallet`: where payouts come from, for the operator to fund.
async fn hot_wallet(database: &Database, json: bool) -> anyhow::Result<()> {
    let seed = load_deposit_seed(database.secrets().as_ref()).await?;
    let wallet = HotWallet::new(&evm_hot_wallet_key(&seed)?, database.payouts())?;
    if json {
        println!("{}", json!({"address": wallet.address()}));
    } else {
        println!("EVM hot wallet: {}", wallet.address());
    }
    Ok(())
}

/// Payouts listed per chain by `ccgate evm payouts`.
const PAYOUTS_LISTED: u32 = 50;

/// `ccgate evm payouts`: per EVM chain with a node, the latest payouts
/// signed, with the transactions a stuck one replaced.
async fn payouts(database: &Database, settings: &Settings, json: bool) -> anyhow::Result<()> {
    let store = database.payouts();
    let mut report = Vec::new();
    for code in settings.evm.keys() {
        let mut payouts = Vec::new();
        for payout in store.signed_payouts(code, PAYOUTS_LISTED).await? {
            let replaced = store.replaced_payout_txids(code, &payout.payout_id).await?;
            payouts.push((payout, replaced));
        }
        report.push((code, payouts));
    }
    if json {
        let chains: Vec<_> = report
            .iter()
            .map(|(code, payouts)| {
                let payouts: Vec<_> = payouts
                    .iter()
                    .map(|(payout, replaced)| {
                        json!({
                            "payout_id": payout.payout_id,
                            "from_address": payout.from_address,
                            "nonce": payout.nonce,
                            "txid": payout.txid,
                            "signed_at_ms": payout.created_at_ms,
                            "replacements": payout.replacements,
                            "replaced_txids": replaced,
                        })
                    })
                    .collect();
                json!({"chain": code, "payouts": payouts})
            })
            .collect();
        println!("{}", serde_json::Value::Array(chains));
        return Ok(());
    }
    if report.is_empty() {
        println!("No EVM chain follows a node (`[evm.CODE]` in the configuration).");
    }
    for (code, payouts) in &report {
        println!(
            "{code}: {} payouts (latest {PAYOUTS_LISTED})",
            payouts.len()
        );
        println!(
            "  {:>6}  {:<66}  {:>8}  PAYOUT",
            "NONCE", "TXID", "REPLACED"
        );
        for (payout, replaced) in payouts {
            println!(
                "  {:>6}  {:<66}  {:>8}  {}",
                payout.nonce,
                payout.txid,
                replaced.len(),
                payout.payout_id
            );
        }
    }
    Ok(())
}

/// Sweeps listed per chain by `ccgate evm sweeps`.
const SWEEPS_LISTED: u32 = 50;

/// `ccgate evm sweeps`: per EVM chain with a node, each credited deposit
/// address's balance per token (read from the node) against its threshold,
/// and the latest sweeps.
async fn sweeps(database: &Database, settings: &Settings, json: bool) -> anyhow::Result<()> {
    let chains = ChainSet::new(&settings.registry, database.devnet(), &settings.evm, None)?;
    let store = database.sweeps();
    let mut report = Vec::new();
    for chain in chains.evm_chains() {
        let code = chain.chain().code.to_string();
        let waiting = chain.waiting_balances(store.as_ref()).await?;
        let sweeps = store.sweeps(&code, SWEEPS_LISTED).await?;
        let native = chain.native_token_id().cloned();
        report.push((code, native, waiting, sweeps));
    }
    let decimal =
        |token_id: &str, amount: Amount| match settings.registry.token(&TokenId::new(token_id)) {
            Some((coin, _)) => amount.to_decimal_string(coin.precision),
            None => amount.base_units().to_string(),
        };
    if json {
        let chains: Vec<_> = report
            .iter()
            .map(|(code, native, waiting, sweeps)| {
                let balances: Vec<_> = waiting
                    .iter()
                    .map(|balance| {
                        json!({
                            "address": balance.address,
                            "token_id": balance.token_id.as_str(),
                            "symbol": balance.symbol,
                            "balance": decimal(balance.token_id.as_str(), balance.balance),
                            "sweep_min": balance.threshold.map(|min| decimal(balance.token_id.as_str(), min)),
                            "above_threshold": balance.above_threshold(),
                            "sweep_in_flight": balance.in_flight,
                        })
                    })
                    .collect();
                let sweeps: Vec<_> = sweeps
                    .iter()
                    .map(|record| {
                        let sweep = &record.sweep;
                        json!({
                            "sweep_id": sweep.sweep_id,
                            "from_address": sweep.from_address,
                            "to_address": sweep.to_address,
                            "token_id": sweep.token_id,
                            "amount": decimal(&sweep.token_id, sweep.amount),
                            "txid": sweep.txid,
                            "top_up_payout_id": sweep.top_up_payout_id,
                            "state": sweep_state(record),
                            "gas_cost": record.settled.as_ref().map(|settled| match native {
                                Some(native) => decimal(native.as_str(), settled.gas_cost),
                                None => settled.gas_cost.base_units().to_string(),
                            }),
                        })
                    })
                    .collect();
                json!({"chain": code, "balances": balances, "sweeps": sweeps})
            })
            .collect();
        println!("{}", json!({ "chains": chains }));
        return Ok(());
    }
    if report.is_empty() {
        println!("no EVM chain has a node configured ([evm.CODE] in the config file)");
    }
    for (code, _, waiting, sweeps) in &report {
        println!("{code}: balances at deposit addresses");
        for balance in waiting {
            let threshold = match balance.threshold {
                Some(min) => format!("sweep_min {}", decimal(balance.token_id.as_str(), min)),
                None => "not swept (no sweep_min)".to_owned(),
            };
            let status = if balance.in_flight {
                "sweep in flight"
            } else if balance.above_threshold() {
                "above threshold, to sweep"
            } else {
                "waiting"
            };
            println!(
                "  {} {} {} ({threshold}): {status}",
                balance.address,
                decimal(balance.token_id.as_str(), balance.balance),
                balance.symbol
            );
        }
        println!("{code}: sweeps (newest first)");
        for record in sweeps {
            let sweep = &record.sweep;
            println!(
                "  {} {} {} {} txid {}",
                sweep.sweep_id,
                decimal(&sweep.token_id, sweep.amount),
                sweep.token_id,
                sweep_state(record),
                sweep.txid
            );
        }
    }
    Ok(())
}

fn sweep_state(record: &SweepRecord) -> &'static str {
    match &record.settled {
        None => "in_flight",
        Some(settled) if settled.succeeded => "done",
        Some(_) => "reverted",
    }
}

/// `ccgate evm rescan --chain C --txid T`: looks at one confirmed transaction
/// again — its value, its token transfers and, where the node traces, what
/// contracts moved inside it — and credits what is ours and was missed,
/// once. Crediting is keyed as the watcher keys it, so running it beside a
/// serving instance, or twice, credits nothing twice.
async fn rescan(
    database: &Database,
    settings: &Settings,
    chain_code: &str,
    txid: &str,
    json: bool,
) -> anyhow::Result<()> {
    let reconciler = reconciler(database, settings, chain_code).await?;
    let now_ms = database.business_now_ms().await?;
    let report = reconciler.rescan(txid, now_ms).await?;
    print_rescan(&report, settings, json);
    Ok(())
}

/// The reconciliation of one EVM chain with a node, crediting through the
/// deposit watcher's path, with the hot wallet (whose gas top-ups are never
/// deposits).
async fn reconciler(
    database: &Database,
    settings: &Settings,
    chain_code: &str,
) -> anyhow::Result<Reconciler> {
    let seed = load_deposit_seed(database.secrets().as_ref()).await?;
    let wallet = HotWallet::new(&evm_hot_wallet_key(&seed)?, database.payouts())?;
    let chains = Arc::new(ChainSet::new(
        &settings.registry,
        database.devnet(),
        &settings.evm,
        Some(wallet),
    )?);
    let chain = chains
        .evm_chains()
        .find(|chain| chain.chain().code.as_str().eq_ignore_ascii_case(chain_code))
        .cloned()
        .ok_or_else(|| {
            anyhow::anyhow!(
                "chain {chain_code:?} follows no EVM node here (an [evm.CODE] section names it)"
            )
        })?;
    let watcher = Arc::new(DepositWatcher::new(
        Arc::new(settings.registry.clone()),
        Arc::clone(&chains),
        database.watcher_stores(),
    ));
    Ok(Reconciler::new(
        chain,
        watcher,
        database.credits(),
        database.reconciliations(),
        database.payouts(),
    ))
}

fn print_rescan(report: &RescanReport, settings: &Settings, json: bool) {
    let amount = |transfer: &ccgate_store::ChainTransfer| match settings
        .registry
        .token(&transfer.token_id)
    {
        Some((coin, _)) => format!(
            "{} {}",
            transfer.amount.to_decimal_string(coin.precision),
            coin.symbol
        ),
        None => format!(
            "{} base units of {}",
            transfer.amount.base_units(),
            transfer.token_id
        ),
    };
    let outcome = |outcome: &RescanOutcome| match outcome {
        RescanOutcome::Credited => "credited now".to_owned(),
        RescanOutcome::AlreadyCredited => "credited before".to_owned(),
        RescanOutcome::CoveredByReconciliation { txid } => {
            format!("credited before by balance reconciliation as {txid}")
        }
        RescanOutcome::NotOurs => "not to an address of ours".to_owned(),
    };
    if json {
        let transfers: Vec<_> = report
            .transfers
            .iter()
            .map(|(transfer, found)| {
                json!({
                    "log_index": transfer.log_index,
                    "from_address": transfer.from_address,
                    "to_address": transfer.to_address,
                    "token_id": transfer.token_id.as_str(),
                    "amount": amount(transfer),
                    "outcome": found.as_str(),
                })
            })
            .collect();
        println!(
            "{}",
            json!({
                "txid": report.txid,
                "block_height": report.block_height,
                "traced": report.traced,
                "credited": report.transfers.iter().filter(|(_, o)| *o == RescanOutcome::Credited).count(),
                "transfers": transfers,
            })
        );
        return;
    }
    println!(
        "{} (block {}): {} transfer(s){}",
        report.txid,
        report.block_height,
        report.transfers.len(),
        if report.traced {
            ""
        } else {
            "; the node does not trace, so value moved by contracts inside it is not listed \
             (balance reconciliation finds it)"
        }
    );
    for (transfer, found) in &report.transfers {
        println!(
            "  {} → {}: {} — {}",
            if transfer.from_address.is_empty() {
                "?"
            } else {
                &transfer.from_address
            },
            transfer.to_address,
            amount(transfer),
            outcome(found)
        );
    }
}
