//! `ccgate bench deposits`: how fast confirmed deposits are credited on SQLite
//! (many addresses, one block), against plain journal postings measured in the
//! same run, and how long after the confirming block each webhook arrives.

use ccgate_engine::devnet::DatabaseDevnet;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use axum::routing::post;
use ccgate_chain::{DevnetChain, DevnetPayment};
use ccgate_engine::assemble::Assembly;
use ccgate_engine::deposits::{DepositWatcher, WatcherStores};
use ccgate_ledger::{Account, Amount, JournalEntry, MerchantId, TokenId};
use ccgate_store::{
    EntryMeta, MerchantSettingsStore, SqliteStore, Store, generate_app_id, generate_app_secret,
};

use super::bench_kit::Figure;
use super::{background, unix_now, unix_now_ms};
use crate::backend::Backend;
use crate::config::Settings;

#[derive(Debug, clap::Args)]
pub struct DepositBenchArgs {
    /// Deposits in the block (one address each).
    #[arg(long, default_value_t = 1_000)]
    pub deposits: u32,
}

const USDT_ERC20: &str = "2728e271-9f5d-4c05-8aa7-4a87b1afcc95";

pub async fn deposits(args: &DepositBenchArgs) -> anyhow::Result<Vec<Figure>> {
    if args.deposits == 0 {
        bail!("--deposits must be at least 1");
    }
    let count = args.deposits as usize;
    let (_scratch, sqlite) = super::bench_kit::scratch_sqlite().await?;
    let store = super::bench_kit::cached(&sqlite, 1_000);
    let settings = Settings::builtin()?;
    let (state, parts) =
        super::serve::bench_state(store.clone(), &settings, u64::from(args.deposits) + 1).await?;
    let (merchant, arrivals) = merchant_with_webhook_receiver(&sqlite).await?;

    println!(
        "ccgate bench deposits: {count} deposits to {count} addresses in one ETH block, twice"
    );
    let chain = settings
        .registry
        .chain("ETH")
        .context("the built-in ETH chain")?
        .clone();
    let devnet = DevnetChain::new(chain.clone(), DatabaseDevnet::new(Arc::new(sqlite.clone())));
    let mut addresses = Vec::with_capacity(count);
    for user in 0..count {
        let address = state
            .addresses
            .permanent_address(
                &merchant,
                &format!("user-{user}"),
                &chain,
                None,
                ccgate_store::WebhookDialect::V1,
                unix_now(),
            )
            .await?;
        addresses.push(address.address);
    }
    let first_round = pay_everyone(&devnet, &addresses).await?;

    // Baseline: the same number of plain journal postings, same database.
    let baseline_started = Instant::now();
    let usdt = settings
        .registry
        .coin_by_symbol("USDT")
        .context("USDT")?
        .id
        .clone();
    for _ in 0..count {
        let entry = JournalEntry::transfer(
            Account::OperatorAdjustments,
            Account::MerchantAvailable(merchant.clone()),
            usdt.clone(),
            Amount::from_base_units(1),
        )?;
        let meta = EntryMeta {
            kind: "adjustment",
            reason: "bench".into(),
            created_at: unix_now(),
        };
        store.post_entry(&entry, &meta).await?;
    }
    let baseline = baseline_started.elapsed();

    // The real loops deliver webhooks; crediting is timed on its own first.
    let (stop, stopped) = tokio::sync::watch::channel(false);
    devnet
        .mine(chain.confirmations_required, unix_now_ms())
        .await?;
    let confirmed_at = Instant::now();
    credit_confirmed(&state, &parts, &sqlite, count).await?;
    let crediting = confirmed_at.elapsed();

    // Latency with the production loops running: a second block of payments
    // to the same addresses, timed from the block that confirms it.
    let loops = background::spawn_as_serve(&state, &parts, &sqlite, &stopped)?;
    wait_for_webhooks(&arrivals, &first_round).await?;
    let txids = pay_everyone(&devnet, &addresses).await?;
    devnet
        .mine(chain.confirmations_required, unix_now_ms())
        .await?;
    let confirmed_at = Instant::now();
    wait_for_webhooks(&arrivals, &txids).await?;
    let _ = stop.send(true);
    for task in loops {
        let _ = task.await;
    }
    let mut latencies_ms: Vec<f64> = {
        let arrivals = arrivals.lock().unwrap_or_else(|p| p.into_inner());
        txids
            .iter()
            .filter_map(|txid| arrivals.get(txid))
            .map(|at| at.duration_since(confirmed_at).as_secs_f64() * 1000.0)
            .collect()
    };
    latencies_ms.sort_by(f64::total_cmp);
    let percentile =
        |pct: usize| latencies_ms[(latencies_ms.len() * pct / 100).min(latencies_ms.len() - 1)];

    let per_sec = |elapsed: Duration| count as f64 / elapsed.as_secs_f64();
    println!(
        "credited deposits     {:>10.0}/s  ({count} in {:.2} s; entry + deposit row + outbox row each)",
        per_sec(crediting),
        crediting.as_secs_f64()
    );
    println!(
        "plain journal entries {:>10.0}/s  ({count} in {:.2} s; baseline)",
        per_sec(baseline),
        baseline.as_secs_f64()
    );
    println!("ratio: {:.2}", per_sec(crediting) / per_sec(baseline));
    println!(
        "webhook after the confirming block: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms ({} webhooks)",
        percentile(50),
        percentile(99),
        latencies_ms.last().copied().unwrap_or(0.0),
        latencies_ms.len()
    );
    store.backend().close().await;
    Ok(vec![
        Figure::new("deposits credited", per_sec(crediting), "/s")
            .with_ratio(per_sec(crediting) / per_sec(baseline)),
        Figure::new(
            "deposit webhook p50 after confirmation",
            percentile(50),
            "ms",
        ),
    ])
}

/// Arrival times of webhooks by txid.
/// Credits the `count` confirmed deposits the devnet holds, as the deposit
/// watcher does (its ticks, one group commit per block).
pub(super) async fn credit_confirmed<B: Backend>(
    state: &ccgate_server::AppState,
    parts: &Assembly,
    backend: &B,
    count: usize,
) -> anyhow::Result<()> {
    let watcher = DepositWatcher::new(
        Arc::clone(&state.registry),
        Arc::clone(&parts.chains),
        WatcherStores::on(Arc::clone(&parts.store), &Arc::new(backend.clone())),
    );
    let mut credited = 0;
    while credited < count {
        let newly = watcher.tick(unix_now_ms()).await?;
        if newly == 0 {
            bail!("only {credited} of {count} deposits were credited");
        }
        credited += newly;
    }
    Ok(())
}

pub(super) type Arrivals = Arc<Mutex<HashMap<String, Instant>>>;

/// A webhook receiver that notes when each webhook arrives, by its txid.
/// A merchant for a bench, its webhooks sent to a receiver on loopback that
/// notes when each arrives.
pub(super) async fn merchant_with_webhook_receiver(
    sqlite: &SqliteStore,
) -> anyhow::Result<(MerchantId, Arrivals)> {
    let merchant = MerchantId::new(generate_app_id(unix_now()));
    sqlite
        .create_merchant(&merchant, &generate_app_secret(), "bench", unix_now(), None)
        .await?;
    let (receiver, arrivals) = arrival_receiver();
    let receiver_address = super::bench_kit::spawn_server(receiver).await?;
    sqlite
        .set_merchant_webhook(
            &merchant,
            Some(&format!("http://{receiver_address}/hook")),
            false,
            ccgate_store::WebhookDialect::V1,
            None,
        )
        .await?;
    Ok((merchant, arrivals))
}

fn arrival_receiver() -> (axum::Router, Arrivals) {
    let arrivals: Arrivals = Arc::default();
    let noted = Arc::clone(&arrivals);
    let receiver = axum::Router::new().route(
        "/hook",
        post(move |body: String| {
            let noted = Arc::clone(&noted);
            async move {
                if let Ok(json) = serde_json::from_str::<serde_json::Value>(&body) {
                    let txid = json["txid"].as_str().unwrap_or_default().to_owned();
                    noted
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .insert(txid, Instant::now());
                }
                "success"
            }
        }),
    );
    (receiver, arrivals)
}

/// One payment to each address, all in the next block; their txids.
async fn pay_everyone(devnet: &DevnetChain, addresses: &[String]) -> anyhow::Result<Vec<String>> {
    let mut txids = Vec::with_capacity(addresses.len());
    for address in addresses {
        let transfer = devnet
            .pay(
                DevnetPayment {
                    to_address: address.clone(),
                    from_address: "0x0000000000000000000000000000000000000000".to_owned(),
                    memo: String::new(),
                    token_id: TokenId::new(USDT_ERC20),
                    amount: Amount::from_base_units(1_000_000_000_000_000_000),
                },
                unix_now_ms(),
            )
            .await?;
        txids.push(transfer.txid);
    }
    Ok(txids)
}

pub(super) async fn wait_for_webhooks(
    arrivals: &Mutex<HashMap<String, Instant>>,
    txids: &[String],
) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let arrived = {
            let arrivals = arrivals.lock().unwrap_or_else(|p| p.into_inner());
            txids
                .iter()
                .filter(|txid| arrivals.contains_key(*txid))
                .count()
        };
        if arrived == txids.len() {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!(
                "only {arrived} of {} webhooks arrived within 120 s",
                txids.len()
            );
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
