//! `ccgate bench withdrawals`: signed `withdraw` requests through the real
//! server on SQLite, many at once, over a balance that covers exactly half of
//! them — throughput, with the race invariants checked afterwards (exactly
//! that half accepted, the balance at zero, the journal replaying to the
//! stored balances). Baseline, same run and database: plain journal entries.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use ccgate_ledger::{Account, Amount, JournalEntry, MerchantId};
use ccgate_store::{Store, generate_app_id, generate_app_secret, verify_ledger};
use secrecy::ExposeSecret;

use super::bench_kit::Figure;
use super::unix_now;
use crate::config::Settings;

#[derive(Debug, clap::Args)]
pub struct WithdrawalBenchArgs {
    /// Withdrawal requests to send; the balance covers half of them.
    #[arg(long, default_value_t = 2_000)]
    pub requests: usize,
    /// Concurrent connections.
    #[arg(long, default_value_t = 32)]
    pub connections: usize,
}

const USDT_TRC20: &str = "0912e09a-d8e2-41d7-a0bc-a25530892988";
const PAYEE: &str = "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t";
/// Each withdrawal's value, in USDT.
const VALUE: u128 = 2;

pub async fn withdrawals(args: &WithdrawalBenchArgs) -> anyhow::Result<Vec<Figure>> {
    if args.requests < 2 || args.connections == 0 {
        bail!("--requests must be at least 2 and --connections at least 1");
    }
    let covered = args.requests / 2;
    let (_scratch, sqlite) = super::bench_kit::scratch_sqlite().await?;
    let store = super::bench_kit::cached(&sqlite, 1_000);
    let settings = Settings::builtin()?;
    let usdt = settings
        .registry
        .coin_by_symbol("USDT")
        .context("USDT")?
        .clone();
    let unit = 10u128.pow(u32::from(usdt.precision.get()));
    let merchant = MerchantId::new(generate_app_id(unix_now()));
    let secret = generate_app_secret();
    store
        .create_merchant(&merchant, &secret, "bench", unix_now(), None)
        .await?;
    super::bench_kit::fund(
        store.as_ref(),
        &merchant,
        &usdt.id,
        Amount::from_base_units(VALUE * unit * covered as u128),
    )
    .await?;
    let meta = super::bench_kit::adjustment();

    // Baseline: as many plain journal entries as withdrawals will be accepted.
    let baseline_started = Instant::now();
    for _ in 0..covered {
        let entry = JournalEntry::transfer(
            Account::OperatorAdjustments,
            Account::OperatorFees,
            usdt.id.clone(),
            Amount::from_base_units(1),
        )?;
        store.post_entry(&entry, &meta).await?;
    }
    let baseline = baseline_started.elapsed();

    let quota = ccgate_engine::addresses::PERMANENT_ADDRESSES_PER_MERCHANT_DEFAULT;
    let (state, _) = super::serve::bench_state(store.clone(), &settings, quota).await?;
    let address = super::bench_kit::spawn_gateway(state).await?;
    let url = format!("http://{address}/ccpayment/v1/withdraw");
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(args.connections)
        .timeout(Duration::from_secs(30))
        .build()?;
    println!(
        "ccgate bench withdrawals: {} signed requests, {} connections, balance for {covered}",
        args.requests, args.connections
    );
    let next = Arc::new(AtomicUsize::new(0));
    let accepted = Arc::new(AtomicUsize::new(0));
    let refused = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..args.connections {
        let (client, url, next, accepted, refused) = (
            client.clone(),
            url.clone(),
            next.clone(),
            accepted.clone(),
            refused.clone(),
        );
        let (app_id, secret) = (merchant.to_string(), secret.expose_secret().to_owned());
        let requests = args.requests;
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= requests {
                    return Ok::<_, anyhow::Error>(());
                }
                let body = format!(
                    r#"{{"token_id":"{USDT_TRC20}","address":"{PAYEE}","value":"{VALUE}","merchant_order_id":"bench-{i}"}}"#
                );
                let timestamp = unix_now().to_string();
                let sign = ccgate_api::sign::sign(&app_id, &secret, &timestamp, body.as_bytes());
                let answer = client
                    .post(&url)
                    .header("Appid", &app_id)
                    .header("Timestamp", timestamp)
                    .header("Sign", sign)
                    .body(body)
                    .send()
                    .await?
                    .bytes()
                    .await?;
                if answer.starts_with(br#"{"code":10000,"#) {
                    accepted.fetch_add(1, Ordering::Relaxed);
                } else if answer.starts_with(br#"{"code":223001,"#) {
                    refused.fetch_add(1, Ordering::Relaxed);
                } else {
                    bail!("unexpected answer: {}", String::from_utf8_lossy(&answer));
                }
            }
        }));
    }
    for task in tasks {
        task.await??;
    }
    let elapsed = started.elapsed();
    let (accepted, refused) = (
        accepted.load(Ordering::Relaxed),
        refused.load(Ordering::Relaxed),
    );

    // The race's invariants, checked on what was written.
    let available = store
        .merchant_balances(&merchant)
        .await?
        .iter()
        .find(|b| b.coin == usdt.id)
        .and_then(|b| b.balance.available())
        .unwrap_or(Amount::ZERO);
    let audit = verify_ledger(store.backend()).await?;
    let holds = accepted == covered
        && refused == args.requests - covered
        && available.is_zero()
        && audit.mismatches.is_empty();

    let per_sec = |count: usize, elapsed: Duration| count as f64 / elapsed.as_secs_f64();
    println!(
        "withdrawals accepted  {:>10.0}/s  ({accepted} accepted + {refused} refused for the balance, in {:.2} s; {:.0} requests/s)",
        per_sec(accepted, elapsed),
        elapsed.as_secs_f64(),
        per_sec(args.requests, elapsed)
    );
    println!(
        "plain journal entries {:>10.0}/s  ({covered} in {:.2} s; baseline)",
        per_sec(covered, baseline),
        baseline.as_secs_f64()
    );
    println!(
        "ratio: {:.2}",
        per_sec(accepted, elapsed) / per_sec(covered, baseline)
    );
    println!(
        "invariants: exactly {covered} accepted: {}; balance at zero: {}; journal replays to the balances: {}",
        accepted == covered,
        available.is_zero(),
        audit.mismatches.is_empty()
    );
    store.backend().close().await;
    if !holds {
        bail!("an invariant does not hold; the figures above are not valid");
    }
    Ok(vec![
        Figure::new("withdrawals accepted", per_sec(accepted, elapsed), "/s")
            .with_ratio(per_sec(accepted, elapsed) / per_sec(covered, baseline)),
    ])
}
