//! `ccgate bench ledger`: durable postings per second through the ledger's
//! group commit (a block's deposits in one DB transaction: journal entries,
//! postings, deposit rows, outbox rows and the chain cursor), on SQLite and,
//! given a server, on PostgreSQL against `pgbench` (TPC-B-like) on the same
//! server in the same run. Every commit is durable: the databases run with
//! their normal fsync settings (`synchronous = FULL`, `synchronous_commit = on`).

use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use ccgate_ledger::{
    Account, Amount, ChainCode, CoinId, Direction, JournalEntry, MerchantId, Posting, TokenId,
};
use ccgate_store::{
    ChainTransfer, CreditStore, DepositCredit, EntryMeta, NewDeposit, NewWebhook, PgStore, Store,
    generate_app_id, generate_app_secret, verify_ledger,
};

use super::bench_kit::{Figure, in_scratch_schema, psql, run};
use super::unix_now;

#[derive(Debug, clap::Args)]
pub struct LedgerBenchArgs {
    /// Seconds each measurement runs.
    #[arg(long, default_value_t = 10)]
    pub seconds: u64,
    /// Deposits per group commit (a block's worth).
    #[arg(long, default_value_t = 1_000)]
    pub batch: usize,
    /// A PostgreSQL server to measure as well, e.g.
    /// `postgres://postgres@127.0.0.1:5432/test`; scratch schemas are created
    /// in it and dropped afterwards. Needs `pgbench` and `psql` on the PATH.
    #[arg(long)]
    pub postgres: Option<String>,
    /// Clients of the pgbench baseline.
    #[arg(long, default_value_t = 8)]
    pub pgbench_clients: u32,
}

const CHAIN: &str = "ETH";
const USDT: &str = "8e5741cf-6e51-4892-9d04-3d40e1dd0128";
const USDT_ERC20: &str = "2728e271-9f5d-4c05-8aa7-4a87b1afcc95";
/// Deposits are spread over this many merchants, as a real block's would be.
const MERCHANTS: usize = 16;

/// What one measurement committed.
struct Measured {
    postings: u64,
    commits: u64,
    elapsed: Duration,
}

impl Measured {
    fn postings_per_sec(&self) -> f64 {
        self.postings as f64 / self.elapsed.as_secs_f64()
    }

    fn print(&self, label: &str) {
        println!(
            "{label:<34} {:>9.0} postings/s  ({} postings, {} commits, {:.1} s)",
            self.postings_per_sec(),
            self.postings,
            self.commits,
            self.elapsed.as_secs_f64()
        );
    }
}

pub async fn ledger(args: &LedgerBenchArgs) -> anyhow::Result<Vec<Figure>> {
    if args.batch == 0 || args.seconds == 0 {
        bail!("--batch and --seconds must be at least 1");
    }
    let duration = Duration::from_secs(args.seconds);
    println!(
        "ccgate bench ledger: deposit credits of 3 postings each, {} per group commit, {} s per measurement",
        args.batch, args.seconds
    );

    let (_scratch, sqlite) = super::bench_kit::scratch_sqlite().await?;
    let grouped = measure(&sqlite, args.batch, duration).await?;
    let single = measure(&sqlite, 1, duration).await?;
    check_books(&sqlite).await?;
    grouped.print("SQLite, group commit");
    single.print("SQLite, one commit per deposit");
    println!(
        "SQLite group commit ÷ one commit per deposit: {:.1}",
        grouped.postings_per_sec() / single.postings_per_sec()
    );
    sqlite.close().await;
    let mut figures = vec![
        Figure::new(
            "ledger SQLite group commit",
            grouped.postings_per_sec(),
            "postings/s",
        )
        .with_ratio(grouped.postings_per_sec() / single.postings_per_sec()),
    ];

    let Some(url) = &args.postgres else {
        println!("(PostgreSQL not measured: pass --postgres URL to compare with pgbench)");
        return Ok(figures);
    };
    // The baseline first, in a scratch schema of its own that goes whatever
    // happened; then the ledger in another.
    let pgbench_schema = format!("ccgate_pgbench_{:08x}", rand::random::<u32>());
    let tps = pgbench_tps(url, &pgbench_schema, args.pgbench_clients, args.seconds);
    let dropped = psql(
        url,
        &format!("DROP SCHEMA IF EXISTS {pgbench_schema} CASCADE"),
    );
    let tps = tps?;
    dropped?;
    let figure = in_scratch_schema(url, "ccgate_bench", |store| {
        postgres(args, store, tps, duration)
    })
    .await?;
    figures.push(figure);
    Ok(figures)
}

/// The ledger's group commit on PostgreSQL against pgbench's `tps` there.
async fn postgres(
    args: &LedgerBenchArgs,
    store: PgStore,
    tps: f64,
    duration: Duration,
) -> anyhow::Result<Figure> {
    let grouped = measure(&store, args.batch, duration).await?;
    let single = measure(&store, 1, duration).await?;
    check_books(&store).await?;
    store.close().await;
    println!(
        "{:<34} {tps:>9.0} tps  (pgbench -c {}, TPC-B-like, same server; baseline)",
        "PostgreSQL, pgbench", args.pgbench_clients
    );
    grouped.print("PostgreSQL, group commit");
    single.print("PostgreSQL, one commit per deposit");
    println!(
        "PostgreSQL group commit ÷ one commit per deposit: {:.1}",
        grouped.postings_per_sec() / single.postings_per_sec()
    );
    println!(
        "ratio: {:.2} (durable postings/s ÷ pgbench tps)",
        grouped.postings_per_sec() / tps
    );
    Ok(Figure::new(
        "ledger PostgreSQL group commit",
        grouped.postings_per_sec(),
        "postings/s",
    )
    .with_ratio(grouped.postings_per_sec() / tps))
}

/// Commits blocks of `batch` deposit credits for `duration`; only the time
/// inside the store counts, not building the batches.
async fn measure<S: Store + CreditStore>(
    store: &S,
    batch: usize,
    duration: Duration,
) -> anyhow::Result<Measured> {
    let mut merchants = Vec::with_capacity(MERCHANTS);
    for _ in 0..MERCHANTS {
        let merchant = MerchantId::new(generate_app_id(unix_now()));
        store
            // Names are unique, and each measurement makes merchants anew.
            .create_merchant(
                &merchant,
                &generate_app_secret(),
                &format!("bench-{merchant}"),
                unix_now(),
                None,
            )
            .await?;
        merchants.push(merchant);
    }
    let started_height = store.chain_cursor(CHAIN).await?.unwrap_or(0);
    let mut measured = Measured {
        postings: 0,
        commits: 0,
        elapsed: Duration::ZERO,
    };
    let mut height = started_height;
    while measured.elapsed < duration {
        height += 1;
        let credits: Vec<DepositCredit> = (0..batch)
            .map(|i| {
                deposit_credit(
                    &merchants[i % MERCHANTS],
                    &format!("0x{i:040x}"),
                    height,
                    i,
                    1_000_000,
                    300,
                )
            })
            .collect::<anyhow::Result<_>>()?;
        let started = Instant::now();
        let applied = store.credit_deposits(CHAIN, Some(height), &credits).await?;
        measured.elapsed += started.elapsed();
        measured.commits += 1;
        for (credit, now) in credits.iter().zip(applied) {
            if !now {
                bail!("a fresh transfer was not credited");
            }
            measured.postings += credit.entry.postings().len() as u64;
        }
    }
    Ok(measured)
}

/// A deposit of `amount` base units of USDT on ETH to `to_address` of
/// `merchant`, `fee` of it the operator's, as the watcher builds it: the
/// journal entry, the deposit row and a webhook in the outbox. Distinct per
/// (`height`, `index`).
pub(super) fn deposit_credit(
    merchant: &MerchantId,
    to_address: &str,
    height: u64,
    index: usize,
    amount: u128,
    fee: u128,
) -> anyhow::Result<DepositCredit> {
    let usdt = CoinId::new(USDT);
    let mut postings = vec![
        posting(
            Account::ChainCustody(ChainCode::new(CHAIN)),
            &usdt,
            Direction::Debit,
            amount,
        ),
        posting(
            Account::MerchantAvailable(merchant.clone()),
            &usdt,
            Direction::Credit,
            amount - fee,
        ),
    ];
    if fee > 0 {
        postings.push(posting(
            Account::OperatorFees,
            &usdt,
            Direction::Credit,
            fee,
        ));
    }
    let entry = JournalEntry::new(postings)?;
    let txid = format!("0x{height:032x}{index:032x}");
    let record_id = format!("{height}-{index}");
    let now = unix_now();
    Ok(DepositCredit {
        deposit: NewDeposit {
            record_id: record_id.clone(),
            transfer: ChainTransfer {
                chain: CHAIN.into(),
                txid: txid.clone(),
                log_index: 0,
                block_height: height,
                block_time_ms: now * 1000,
                from_address: "0x0000000000000000000000000000000000000000".into(),
                to_address: to_address.to_owned(),
                memo: String::new(),
                token_id: TokenId::new(USDT_ERC20),
                amount: Amount::from_base_units(amount),
            },
            app_id: merchant.clone(),
            user_id: Some(format!("user-{index}")),
            order_id: None,
            coin_id: usdt,
            service_fee: Amount::from_base_units(fee),
            credit_amount: Amount::from_base_units(amount - fee),
            credited_at: now,
        },
        entry,
        meta: EntryMeta {
            kind: "deposit",
            reason: format!("{CHAIN} {txid} #0"),
            created_at: now,
        },
        webhook: NewWebhook {
            dialect: ccgate_store::WebhookDialect::V1,
            app_id: merchant.clone(),
            record_id,
            order_type: "DirectDeposit",
            url: None,
            payload: format!("{{\"type\":\"DirectDeposit\",\"txid\":\"{txid}\"}}"),
            created_at_ms: now * 1000,
        },
    })
}

fn posting(account: Account, coin: &CoinId, direction: Direction, units: u128) -> Posting {
    Posting {
        account,
        coin: coin.clone(),
        direction,
        amount: Amount::from_base_units(units),
    }
}

/// The invariants still hold after the run: the journal replays to the
/// stored balances.
async fn check_books(store: &dyn Store) -> anyhow::Result<()> {
    let audit = verify_ledger(store).await?;
    if !audit.mismatches.is_empty() {
        bail!(
            "the journal does not replay to the balances: {:?}",
            audit.mismatches
        );
    }
    println!("books checked: the journal replays to the stored balances");
    Ok(())
}

/// pgbench's TPC-B-like transactions per second, in a scratch schema.
fn pgbench_tps(url: &str, schema: &str, clients: u32, seconds: u64) -> anyhow::Result<f64> {
    psql(url, &format!("CREATE SCHEMA {schema}"))?;
    let search_path = format!("-c search_path={schema}");
    run(Command::new("pgbench")
        .env("PGOPTIONS", &search_path)
        .args(["--initialize", "--quiet", "--scale=1", url]))
    .context("pgbench --initialize")?;
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let threads = threads.min(clients as usize).max(1);
    let report = run(Command::new("pgbench")
        .env("PGOPTIONS", &search_path)
        .args([
            &format!("--client={clients}"),
            &format!("--jobs={threads}"),
            &format!("--time={seconds}"),
            url,
        ]))
    .context("pgbench")?;
    report
        .lines()
        .find_map(|line| {
            let rest = line.strip_prefix("tps = ")?;
            rest.split_whitespace().next()?.parse::<f64>().ok()
        })
        .with_context(|| format!("no `tps = ` line in pgbench's report:\n{report}"))
}
