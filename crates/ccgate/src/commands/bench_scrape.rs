//! `ccgate bench scrape`: what `/metrics` reads from the database (the
//! outbox by status, the delivery attempts, the journal's length) timed on
//! an empty ledger and again after many deposits, in one run: the ratio says
//! whether a scrape grows with history (issue #16 §5; it used to count every
//! row of the outbox and the journal on each scrape).

use std::time::{Duration, Instant};

use anyhow::bail;
use ccgate_ledger::MerchantId;
use ccgate_store::{
    CreditStore, DepositCredit, OutboxStore, SqliteStore, Store, generate_app_id,
    generate_app_secret,
};

use super::bench_kit::Figure;
use super::bench_ledger::deposit_credit;
use super::unix_now;

#[derive(Debug, clap::Args)]
pub struct ScrapeBenchArgs {
    /// Deposits credited between the two timings: each a journal entry and
    /// an outbox row.
    #[arg(long, default_value_t = 100_000)]
    pub deposits: u32,
}

/// Reads timed per measurement; the median is reported.
const READS: usize = 21;
/// Credits per DB transaction while loading.
const CREDITS_PER_BATCH: usize = 2_000;

/// The median time of the figures a scrape reads from the store.
async fn scrape_reads(store: &SqliteStore) -> anyhow::Result<Duration> {
    let mut times = Vec::with_capacity(READS);
    for _ in 0..READS {
        let started = Instant::now();
        store.webhook_counts().await?;
        store.journal_len().await?;
        times.push(started.elapsed());
    }
    times.sort();
    Ok(times[READS / 2])
}

pub async fn scrape(args: &ScrapeBenchArgs) -> anyhow::Result<Vec<Figure>> {
    let count = args.deposits as usize;
    let (_scratch, sqlite) = super::bench_kit::scratch_sqlite().await?;
    let merchant = MerchantId::new(generate_app_id(unix_now()));
    sqlite
        .create_merchant(
            &merchant,
            &generate_app_secret(),
            "bench-scrape",
            unix_now(),
            None,
        )
        .await?;
    println!("ccgate bench scrape: /metrics' database reads, empty and after {count} deposits");
    let empty = scrape_reads(&sqlite).await?;

    let loading = Instant::now();
    let mut credited = 0;
    let mut height = 0;
    while credited < count {
        height += 1;
        let batch = CREDITS_PER_BATCH.min(count - credited);
        let credits: Vec<DepositCredit> = (0..batch)
            .map(|i| deposit_credit(&merchant, &format!("0x{i:040x}"), height, i, 1_000_000, 300))
            .collect::<anyhow::Result<_>>()?;
        sqlite
            .credit_deposits("ETH", Some(height), &credits)
            .await?;
        credited += batch;
    }
    // The figures read are the books' own: checked, so a fast wrong answer
    // cannot pass for a flat one.
    let counts = sqlite.webhook_counts().await?;
    let entries = sqlite.journal_len().await?;
    if counts.pending != count as u64 || entries != count as u64 {
        bail!(
            "after {count} deposits the figures say {} webhooks pending and {entries} journal entries",
            counts.pending
        );
    }
    let loaded = scrape_reads(&sqlite).await?;
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "loaded {count} deposits ({count} journal entries, {count} outbox rows) in {:.1} s",
        loading.elapsed().as_secs_f64()
    );
    println!(
        "scrape reads: empty {:.3} ms, after {count} deposits {:.3} ms (median of {READS})",
        ms(empty),
        ms(loaded)
    );
    println!(
        "ratio: {:.2} (loaded ÷ empty; 1 is flat)",
        ms(loaded) / ms(empty)
    );
    sqlite.close().await;
    Ok(vec![
        Figure::new(
            format!("metrics reads after {count} deposits"),
            ms(loaded),
            "ms",
        )
        .with_ratio(ms(loaded) / ms(empty)),
    ])
}
