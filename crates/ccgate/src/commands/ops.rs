//! Operations: backup, migrate, doctor.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use ccgate_chain::evm::{EvmChain, TraceApi, TraceChoice};
use ccgate_chain::keys::evm_hot_wallet_key;
use ccgate_chain::{ChainAdapter, ChainSet, HotWallet};
use ccgate_engine::addresses::load_deposit_seed;
use ccgate_engine::mode::{Mode, simulated_credits_in_live_coins};
use ccgate_ledger::Registry;
use ccgate_store::verify_ledger;
use clap::Args;

use super::{Globals, Located, unix_now_ms};
use crate::backend::{Database, DatabaseArgs};
use crate::config::Settings;
use crate::data_dir::{ADMIN_TOKEN_ENV, DataDir};

#[derive(Debug, Args)]
pub struct BackupArgs {
    /// The new file (it must not exist).
    #[arg(long)]
    to: PathBuf,
}

/// `ccgate backup --to FILE`.
pub async fn backup(globals: Globals, args: BackupArgs) -> anyhow::Result<ExitCode> {
    let Located {
        data_dir, database, ..
    } = globals.locate()?;
    let to = args.to.as_path();
    if database.database_url.is_some() {
        bail!(
            "ccgate backup copies the SQLite data directory; back PostgreSQL up with pg_dump (see docs/reference.md, `backup`)"
        );
    }
    if to.exists() {
        bail!("{} exists; a backup goes to a new file", to.display());
    }
    let store = data_dir.open_store().await?;
    store
        .backup_to(to)
        .await
        .with_context(|| format!("back up to {}", to.display()))?;
    store.close().await;
    println!(
        "Backed up to {}. Keep the master key ({} or CCGATE_MASTER_KEY) with it: the app secrets and the deposit seed cannot be read without it.",
        to.display(),
        data_dir.path().join("master.key").display()
    );
    Ok(ExitCode::SUCCESS)
}

/// `ccgate migrate`: opening a database applies its pending migrations.
pub async fn migrate(globals: Globals) -> anyhow::Result<ExitCode> {
    let Located {
        data_dir, database, ..
    } = globals.locate()?;
    Database::open(&data_dir, &database).await?.close().await;
    println!(
        "The database in {} is up to date.",
        Database::describe(&data_dir, &database)
    );
    Ok(ExitCode::SUCCESS)
}

/// Whoever reads the admin token controls the admin API (refunds included),
/// so its file must be the owner's alone.
fn admin_token_check(data_dir: &DataDir) -> Result<String, String> {
    let file = data_dir.admin_token_file();
    match std::fs::metadata(&file) {
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            return Ok(if std::env::var_os(ADMIN_TOKEN_ENV).is_some() {
                format!("from {ADMIN_TOKEN_ENV}")
            } else {
                "none yet (`ccgate serve` creates admin.token at its first start)".to_owned()
            });
        }
        Err(err) => return Err(format!("read {}: {err}", file.display())),
        Ok(metadata) => {
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                let mode = metadata.permissions().mode() & 0o777;
                if mode & 0o077 != 0 {
                    return Err(format!(
                        "{} has mode {mode:o}: other users can read the admin token; run \
                         `chmod 600 {}`",
                        file.display(),
                        file.display()
                    ));
                }
            }
            #[cfg(not(unix))]
            let _ = metadata;
        }
    }
    data_dir
        .admin_token()
        .map(|_| format!("{} readable by its owner only", file.display()))
        .map_err(|e| format!("{e:#}"))
}

/// `ccgate doctor`: each check on a line, `ok` or what is wrong; exit 1 if
/// anything is.
pub async fn doctor(globals: Globals) -> anyhow::Result<ExitCode> {
    let located = globals.locate()?;
    check(&located.data_dir, &located.database, &located.settings).await
}

async fn check(
    data_dir: &DataDir,
    args: &DatabaseArgs,
    settings: &Settings,
) -> anyhow::Result<ExitCode> {
    let mut problems = 0;
    let mut report = |what: &str, outcome: Result<String, String>| match outcome {
        Ok(detail) => println!("ok      {what}: {detail}"),
        Err(problem) => {
            problems += 1;
            println!("PROBLEM {what}: {problem}");
        }
    };
    report(
        "configuration",
        Ok(format!(
            "{} chains, {} coins, {} fiat rates, prices {}",
            settings.registry.chains().count(),
            settings.registry.coins().count(),
            settings.fiat_rates.len(),
            if settings.price_feed.is_some() {
                "from a live feed"
            } else {
                "static"
            }
        )),
    );
    let live = settings.mode.is_live();
    report(
        "webhook targets",
        match (live, settings.allow_private_webhooks) {
            (true, true) => Err(
                "allow_private_webhooks is on with live money: a merchant's webhook URL may reach \
                 loopback and private addresses (services on this host and its network)"
                    .to_owned(),
            ),
            (true, false) => Ok("public addresses only".to_owned()),
            (false, _) => Ok(
                "simulated money: loopback and private addresses allowed; link-local and this \
                 gateway's own listeners refused"
                    .to_owned(),
            ),
        },
    );
    report(
        "mode",
        match settings.mode {
            Mode::Simulated => {
                Ok("simulated: every chain is a devnet, nothing here is real money".to_owned())
            }
            Mode::Live {
                devnet_beside_live: false,
            } => Ok(format!("live on {}", settings.live_chains_text())),
            Mode::Live {
                devnet_beside_live: true,
            } => Err(format!(
                "live on {}, with allow_devnet_beside_live: simulated chains {} run beside real \
                 money (their tokens are separate devnet coins); turn it off unless you need it",
                settings.live_chains_text(),
                settings
                    .devnet_chains()
                    .map(|chain| chain.code.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        },
    );
    let loose = data_dir.loose_permissions();
    report(
        "file permissions",
        if loose.is_empty() {
            Ok(format!(
                "{} is private to its owner",
                data_dir.path().display()
            ))
        } else {
            Err(loose.join("; "))
        },
    );
    report(
        "master key",
        data_dir
            .master_key()
            .map(|_| "readable".to_owned())
            .map_err(|e| format!("{e:#}")),
    );
    report("admin token", admin_token_check(data_dir));
    match Database::open(data_dir, args).await {
        Err(err) => report("database", Err(format!("{err:#}"))),
        Ok(database) => {
            let store = database.store();
            report(
                "database",
                store
                    .ping()
                    .await
                    .map(|()| "answers".to_owned())
                    .map_err(|e| e.to_string()),
            );
            report(
                "merchants",
                match store.list_merchants().await {
                    Ok(merchants) => match merchants.first() {
                        None if settings.mode.is_live() => {
                            Ok("none yet (`ccgate merchant create`)".to_owned())
                        }
                        None => Ok("none yet (serve creates a demo merchant)".to_owned()),
                        Some(first) => store
                            .merchant_credentials(first.app_id.as_str())
                            .await
                            .map(|_| {
                                format!(
                                    "{} (secrets decrypt with this master key)",
                                    merchants.len()
                                )
                            })
                            .map_err(|e| e.to_string()),
                    },
                    Err(err) => Err(err.to_string()),
                },
            );
            report(
                "ledger",
                match verify_ledger(store.as_ref()).await {
                    Ok(audit) if audit.mismatches.is_empty() => Ok(format!(
                        "{} entries replay to the stored balances",
                        audit.entries
                    )),
                    Ok(audit) => Err(format!(
                        "{} balances differ from the journal",
                        audit.mismatches.len()
                    )),
                    Err(err) => Err(err.to_string()),
                },
            );
            if settings.mode.is_live() {
                let live: BTreeSet<String> = settings.evm.keys().cloned().collect();
                report(
                    "simulated credits",
                    match database.history().credited_deposits().await {
                        Ok(credited) => {
                            let simulated = simulated_credits_in_live_coins(
                                &settings.registry,
                                &live,
                                &credited,
                            );
                            if simulated.is_empty() {
                                Ok("no devnet deposit sits in a coin a live chain pays out"
                                    .to_owned())
                            } else {
                                Err(format!(
                                    "{} devnet deposit(s) credited to coins a live chain pays out \
                                     (on {}): serve refuses this database live",
                                    simulated.iter().map(|credit| credit.count).sum::<u64>(),
                                    simulated
                                        .iter()
                                        .map(|credit| credit.chain.as_str())
                                        .collect::<BTreeSet<_>>()
                                        .into_iter()
                                        .collect::<Vec<_>>()
                                        .join(", ")
                                ))
                            }
                        }
                        Err(err) => Err(err.to_string()),
                    },
                );
            }
            report(
                "reorgs",
                match database.sandbox().reorg_incidents().await {
                    Ok(incidents) if incidents.is_empty() => {
                        Ok("no credited deposit was touched by a reorg".to_owned())
                    }
                    Ok(incidents) => Err(incidents
                        .iter()
                        .map(|i| {
                            format!(
                                "{} {} #{} (record {}): {}",
                                i.chain, i.txid, i.log_index, i.record_id, i.what
                            )
                        })
                        .collect::<Vec<_>>()
                        .join("; ")),
                    Err(err) => Err(err.to_string()),
                },
            );
            let now_ms = match database.business_now_ms().await {
                Ok(now_ms) => now_ms,
                Err(_) => unix_now_ms(),
            };
            match ChainSet::new(&settings.registry, database.devnet(), &settings.evm, None) {
                Ok(chains) => {
                    for adapter in chains.adapters() {
                        let code = adapter.chain().code.to_string();
                        let kind = if settings.evm.contains_key(&code) {
                            "node"
                        } else {
                            "devnet"
                        };
                        report(
                            &format!("chain {code}"),
                            adapter
                                .height(now_ms)
                                .await
                                .map(|h| format!("{kind} height {h}"))
                                .map_err(|e| e.to_string()),
                        );
                    }
                    let hot_wallet = if settings.evm.is_empty() {
                        None
                    } else {
                        Some(hot_wallet_address(&database).await)
                    };
                    for node in chains.evm_chains() {
                        let code = node.chain().code.to_string();
                        if let Some(address) = &hot_wallet {
                            report(
                                &format!("chain {code} hot wallet"),
                                match address {
                                    Ok(address) => {
                                        hot_wallet_holdings(node, address, &settings.registry).await
                                    }
                                    Err(err) => Err(err.clone()),
                                },
                            );
                        }
                        report(
                            &format!("chain {code} heads"),
                            match &node.config().ws_url {
                                None => Ok(format!(
                                    "polled every {} ms (no ws_url: set one for deposits' \
                                     webhooks within milliseconds of their block)",
                                    node.config().poll_interval_ms
                                )),
                                Some(_) => node
                                    .check_head_subscription()
                                    .await
                                    .map(|()| "by the node's newHeads subscription (ws_url)".to_owned())
                                    .map_err(|err| format!(
                                        "ws_url does not take a newHeads subscription ({err}): heads \
                                         are polled every {} ms instead",
                                        node.config().poll_interval_ms
                                    )),
                            },
                        );
                        report(
                            &format!("chain {code} internal transfers"),
                            internal_transfers_seen(node).await,
                        );
                        report(
                            &format!("chain {code} reconciliation"),
                            reconciliation_shortfalls(&database, node, &settings.registry).await,
                        );
                        let configured = node.config().chain_id;
                        report(
                            &format!("chain {code} id"),
                            match node.node_chain_id().await {
                                Ok(id) if id == configured => Ok(format!("node is chain {id}")),
                                Ok(id) => Err(format!(
                                    "node is chain {id}, configured chain_id is {configured}"
                                )),
                                Err(err) => Err(err.to_string()),
                            },
                        );
                    }
                }
                Err(err) => report("chains", Err(err.to_string())),
            }
            database.close().await;
        }
    }
    Ok(if problems == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// How the chain's native coin moved by contracts reaches the books: a
/// problem when nothing would see it.
async fn internal_transfers_seen(node: &EvmChain) -> Result<String, String> {
    let config = node.config();
    let reconciliation = if config.reconcile_addresses_per_tick == 0 {
        None
    } else {
        Some(format!(
            "balance reconciliation of up to {} addresses every {} s",
            config.reconcile_addresses_per_tick,
            config.reconcile_interval_ms / 1000
        ))
    };
    // What the adapter uses: asked of the node once unless configured; the
    // block scan's choice below reads the same answer.
    let used = node.node_trace_api().await.map_err(|err| err.to_string())?;
    let configured = match config.traces {
        TraceChoice::CallTracer => Some(TraceApi::CallTracer),
        TraceChoice::TraceBlock => Some(TraceApi::TraceBlock),
        TraceChoice::Auto | TraceChoice::Off => None,
    };
    let offered = match configured {
        // Configured, not asked: ask now whether the node has it.
        Some(_) => node
            .detect_trace_api()
            .await
            .map_err(|err| err.to_string())?,
        None => used,
    };
    if let Some(configured) = configured.filter(|api| *api != offered) {
        return Err(format!(
            "traces = {configured:?} is configured, but the node offers {offered:?}: every \
             block's trace is refused and only balance reconciliation sees internal transfers"
        ));
    }
    match (
        node.block_trace_api().await.map_err(|e| e.to_string())?,
        reconciliation,
    ) {
        (Some(api), Some(net)) => Ok(format!("{api:?} traces of every block, and {net}")),
        (Some(api), None) => Ok(format!(
            "{api:?} traces of every block (reconciliation off)"
        )),
        (None, Some(net)) => Ok(format!(
            "the node offers {offered:?} (no whole-block traces{}): found by {net}",
            if config.traces == TraceChoice::Off {
                ", or traces = \"off\""
            } else {
                ""
            }
        )),
        (None, None) => Err(format!(
            "the node offers {offered:?}, no whole-block traces, and reconciliation is off \
             (reconcile_addresses_per_tick = 0): native coin paid by contracts is never credited"
        )),
    }
}

/// Deposit addresses found holding less of the native coin than the books.
async fn reconciliation_shortfalls(
    database: &Database,
    node: &EvmChain,
    registry: &Registry,
) -> Result<String, String> {
    let code = node.chain().code.as_str();
    let shortfalls = database
        .reconciliations()
        .shortfalls(code)
        .await
        .map_err(|err| err.to_string())?;
    if shortfalls.is_empty() {
        let (checked, lowest) = database
            .reconciliations()
            .reconciled(code)
            .await
            .map_err(|err| err.to_string())?;
        return Ok(match lowest {
            Some(lowest) => format!(
                "no deposit address holds less than the books ({checked} reconciled, each up to \
                 block {lowest} at least)"
            ),
            None => "no deposit address holds less than the books (none reconciled yet)".to_owned(),
        });
    }
    let amount = |base: ccgate_ledger::Amount| match node
        .native_token()
        .and_then(|token| registry.token(&token.id))
    {
        Some((coin, _)) => format!("{} {}", base.to_decimal_string(coin.precision), coin.symbol),
        None => format!("{} base units", base.base_units()),
    };
    Err(format!(
        "{} deposit address(es) hold less than the books say (a credited deposit the chain no \
         longer has, or a key used outside the gateway): {}",
        shortfalls.len(),
        shortfalls
            .iter()
            .map(|s| format!(
                "{} short {} at block {}",
                s.address,
                amount(s.amount),
                s.height
            ))
            .collect::<Vec<_>>()
            .join("; ")
    ))
}

/// The EVM hot wallet's address (the same on every EVM chain).
async fn hot_wallet_address(database: &Database) -> Result<String, String> {
    let seed = load_deposit_seed(database.secrets().as_ref())
        .await
        .map_err(|err| err.to_string())?;
    let key = evm_hot_wallet_key(&seed).map_err(|err| err.to_string())?;
    HotWallet::new(&key, database.payouts())
        .map(|wallet| wallet.address())
        .map_err(|err| err.to_string())
}

/// What the hot wallet holds on one chain; a problem when it has none of the
/// native coin, which every payout and every gas top-up spends.
async fn hot_wallet_holdings(
    node: &EvmChain,
    address: &str,
    registry: &Registry,
) -> Result<String, String> {
    let holdings = node
        .holdings(address)
        .await
        .map_err(|err| err.to_string())?;
    let shown: Vec<String> = holdings
        .iter()
        .map(|(token_id, amount)| match registry.token(token_id) {
            Some((coin, token)) => format!(
                "{} {}",
                amount.to_decimal_string(coin.precision),
                token.symbol
            ),
            None => format!("{} base units of {token_id}", amount.base_units()),
        })
        .collect();
    let native_empty = node.native_token_id().is_some_and(|native| {
        holdings
            .iter()
            .any(|(token_id, amount)| token_id == native && amount.is_zero())
    });
    if native_empty {
        return Err(format!(
            "{address} holds none of the native coin ({}): payouts and sweeps' gas top-ups cannot be paid; fund it",
            shown.join(", ")
        ));
    }
    Ok(format!("{address} holds {}", shown.join(", ")))
}
