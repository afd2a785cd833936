//! `ccgate bench …`, each in a scratch database of its own, and the first of
//! them, `bench assets`: the same load, in the same run, against the real
//! `assets` endpoint and against a bare axum route that returns a fixed body,
//! so the printed ratio says what ccgate's pipeline costs on this machine.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use axum::routing::post;
use ccgate_ledger::{Account, Amount, CoinId, JournalEntry, MerchantId};
use ccgate_store::{
    CachingStore, EntryMeta, MasterKey, SqliteStore, Store, generate_app_id, generate_app_secret,
};
use clap::Subcommand;
use secrecy::{ExposeSecret, SecretString};

use super::unix_now;
use crate::config::Settings;

#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Signed `assets` calls against the real server vs a bare axum route, same machine, same run.
    Assets(BenchArgs),
    /// Deposits credited per second (vs plain journal postings) and deposit-to-webhook latency.
    Deposits(super::bench_deposits::DepositBenchArgs),
    /// Withdrawals accepted per second through the server, with the race invariants checked.
    Withdrawals(super::bench_withdrawals::WithdrawalBenchArgs),
    /// Durable ledger postings per second (group commit) on SQLite and PostgreSQL, vs pgbench.
    Ledger(super::bench_ledger::LedgerBenchArgs),
    /// On a ganache node: deposit-to-webhook latency after the confirming block.
    Evm(super::bench_evm::EvmBenchArgs),
    /// EVM sweeper: node calls per tick with many credited addresses, vs the old every-address read.
    Sweeps(super::bench_sweeps::SweepBenchArgs),
    /// bill/create, payment/address/get and withdraw vs a bare route and journal postings; SQL per request.
    Writes(super::bench_writes::WritesBenchArgs),
    /// Webhook deliveries per second to a fast local receiver vs a bare HTTP client loop.
    Webhooks(super::bench_webhooks::WebhookBenchArgs),
    /// What /metrics reads from the database, empty and after many deposits: flat or not.
    Scrape(super::bench_scrape::ScrapeBenchArgs),
    /// Request latency and `/metrics` on a database with a long history vs an empty one.
    Scale(super::bench_scale::ScaleBenchArgs),
    /// Every bench in one run, then one line per figure (`--quick`: each at a small scale).
    All(super::bench_all::AllBenchArgs),
}

impl BenchCommand {
    /// Whether it reports SQL statements per request, which needs a counter
    /// installed with the logging.
    pub fn counts_statements(&self) -> bool {
        matches!(self, BenchCommand::Writes(_) | BenchCommand::All(_))
    }
}

/// Runs one bench (each prints as it goes; `all` ends with its figures).
pub async fn run(command: BenchCommand) -> anyhow::Result<ExitCode> {
    match &command {
        BenchCommand::Assets(args) => assets(args).await,
        BenchCommand::Deposits(args) => super::bench_deposits::deposits(args).await,
        BenchCommand::Evm(args) => super::bench_evm::evm(args).await,
        BenchCommand::Withdrawals(args) => super::bench_withdrawals::withdrawals(args).await,
        BenchCommand::Ledger(args) => super::bench_ledger::ledger(args).await,
        BenchCommand::Sweeps(args) => super::bench_sweeps::sweeps(args).await,
        BenchCommand::Writes(args) => super::bench_writes::writes(args).await,
        BenchCommand::Webhooks(args) => super::bench_webhooks::webhooks(args).await,
        BenchCommand::Scrape(args) => super::bench_scrape::scrape(args).await,
        BenchCommand::Scale(args) => super::bench_scale::scale(args).await,
        BenchCommand::All(args) => super::bench_all::all(args).await,
    }?;
    Ok(ExitCode::SUCCESS)
}

#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    /// Concurrent connections (one client task each).
    #[arg(long, default_value_t = 32)]
    pub connections: usize,
    /// Measured seconds per target in each round.
    #[arg(long, default_value_t = 3)]
    pub seconds: u64,
    /// Rounds, each measuring the baseline and then ccgate, so that drift in
    /// a noisy machine's speed hits both alike.
    #[arg(long, default_value_t = 3)]
    pub rounds: u32,
    /// As `serve --cache-ttl-ms`; 0 measures every request reading the database.
    #[arg(long, default_value_t = super::serve::CACHE_TTL_MS_DEFAULT)]
    pub cache_ttl_ms: u64,
    /// Unmeasured warm-up seconds per target, before the first round.
    #[arg(long, default_value_t = 1)]
    pub warmup_seconds: u64,
}

/// One figure a bench measured, as `bench all` lists it:
/// `name: value unit (ratio X.XX)`.
#[derive(Debug, Clone, PartialEq)]
pub struct Figure {
    pub name: String,
    pub value: f64,
    pub unit: &'static str,
    /// Against the bench's own baseline, measured in the same run.
    pub ratio: Option<f64>,
}

impl Figure {
    pub fn new(name: impl Into<String>, value: f64, unit: &'static str) -> Figure {
        Figure {
            name: name.into(),
            value,
            unit,
            ratio: None,
        }
    }

    pub fn with_ratio(mut self, ratio: f64) -> Figure {
        self.ratio = Some(ratio);
        self
    }
}

impl std::fmt::Display for Figure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Whole numbers for rates and counts, a decimal for small measures.
        if self.value.abs() >= 100.0 || self.value.fract() == 0.0 {
            write!(f, "{}: {:.0} {}", self.name, self.value, self.unit)?;
        } else {
            write!(f, "{}: {:.1} {}", self.name, self.value, self.unit)?;
        }
        match self.ratio {
            Some(ratio) => write!(f, " (ratio {ratio:.2})"),
            None => Ok(()),
        }
    }
}

const ASSETS_PATH: &str = "/ccpayment/v1/assets";
const REQUEST_BODY: &str = r#"{"coin_id":"8e5741cf-6e51-4892-9d04-3d40e1dd0128"}"#;

struct Target {
    url: String,
    app_id: String,
    app_secret: SecretString,
}

/// What one target answered in a measured stretch; rounds are added up.
#[derive(Default)]
pub(super) struct Measured {
    pub(super) requests: usize,
    pub(super) failures: usize,
    pub(super) elapsed: Duration,
    /// Sorted latencies in microseconds.
    pub(super) latencies_us: Vec<u64>,
}

impl Measured {
    pub(super) fn add(&mut self, mut other: Measured) {
        self.requests += other.requests;
        self.failures += other.failures;
        self.elapsed += other.elapsed;
        self.latencies_us.append(&mut other.latencies_us);
        self.latencies_us.sort_unstable();
    }

    pub(super) fn per_sec(&self) -> f64 {
        self.requests as f64 / self.elapsed.as_secs_f64()
    }

    pub(super) fn percentile_ms(&self, pct: usize) -> f64 {
        if self.latencies_us.is_empty() {
            return 0.0;
        }
        let index = (self.latencies_us.len() * pct / 100).min(self.latencies_us.len() - 1);
        self.latencies_us[index] as f64 / 1000.0
    }
}

/// A bench's own database: a new SQLite file in a scratch folder, which
/// lives as long as the folder returned with it.
pub(super) async fn scratch_sqlite() -> anyhow::Result<(tempfile::TempDir, SqliteStore)> {
    let scratch = tempfile::tempdir().context("create a scratch data directory")?;
    let sqlite = SqliteStore::open(&scratch.path().join("bench.db"), MasterKey::generate()).await?;
    Ok((scratch, sqlite))
}

/// `sqlite` behind the cache `serve` puts in front of it, `ttl_ms` long.
pub(super) fn cached(sqlite: &SqliteStore, ttl_ms: u64) -> Arc<CachingStore<SqliteStore>> {
    Arc::new(CachingStore::new(
        sqlite.clone(),
        Duration::from_millis(ttl_ms),
    ))
}

/// Credits `merchant` `amount` of `coin` by an operator adjustment.
pub(super) async fn fund(
    store: &dyn Store,
    merchant: &MerchantId,
    coin: &CoinId,
    amount: Amount,
) -> anyhow::Result<()> {
    let funding = JournalEntry::transfer(
        Account::OperatorAdjustments,
        Account::MerchantAvailable(merchant.clone()),
        coin.clone(),
        amount,
    )?;
    store.post_entry(&funding, &adjustment()).await?;
    Ok(())
}

/// What a bench's own journal entries are.
pub(super) fn adjustment() -> EntryMeta {
    EntryMeta {
        kind: "adjustment",
        reason: "bench".into(),
        created_at: unix_now(),
    }
}

/// A latency as the measurements keep it.
pub(super) fn micros(elapsed: Duration) -> u64 {
    u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX)
}

pub async fn assets(args: &BenchArgs) -> anyhow::Result<Vec<Figure>> {
    if args.connections == 0 || args.seconds == 0 || args.rounds == 0 {
        bail!("--connections, --seconds and --rounds must be at least 1");
    }
    let (_scratch, sqlite) = scratch_sqlite().await?;
    let store = cached(&sqlite, args.cache_ttl_ms);
    let app_id = MerchantId::new(generate_app_id(unix_now()));
    let app_secret = generate_app_secret();
    store
        .create_merchant(&app_id, &app_secret, "bench", unix_now())
        .await?;
    let settings = Settings::builtin()?;
    for coin in settings.registry.coins().take(3) {
        let entry = JournalEntry::transfer(
            Account::OperatorAdjustments,
            Account::MerchantAvailable(app_id.clone()),
            coin.id.clone(),
            Amount::from_base_units(1_279_514 * 10u128.pow(u32::from(coin.precision.get()))),
        )?;
        let meta = EntryMeta {
            kind: "adjustment",
            reason: "bench".into(),
            created_at: unix_now(),
        };
        store.post_entry(&entry, &meta).await?;
    }
    let quota = ccgate_engine::addresses::PERMANENT_ADDRESSES_PER_MERCHANT_DEFAULT;
    let (state, _) = super::serve::bench_state(store.clone(), &settings, quota).await?;
    let real = spawn_server(ccgate_server::router(state)).await?;
    let real_target = Target {
        url: format!("http://{real}{ASSETS_PATH}"),
        app_id: app_id.to_string(),
        app_secret: app_secret.clone(),
    };

    // The baseline answers the very bytes the real endpoint answers.
    let client = client(args.connections)?;
    let fixed_body = first_answer(&client, &real_target).await?;
    let bare_router = axum::Router::new().route(
        ASSETS_PATH,
        post(move || {
            let body = fixed_body.clone();
            async move { ([("content-type", "application/json; charset=utf-8")], body) }
        }),
    );
    let bare = spawn_server(bare_router).await?;
    let bare_target = Target {
        url: format!("http://{bare}{ASSETS_PATH}"),
        ..real_target.clone_with_secret()
    };

    println!(
        "ccgate bench assets: {} connections, {} s warm-up, {} rounds of {} s per target, {} cores",
        args.connections,
        args.warmup_seconds,
        args.rounds,
        args.seconds,
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    let mut bare_result = Measured::default();
    let mut real_result = Measured::default();
    for round in 0..args.rounds {
        let warmup = Duration::from_secs(if round == 0 { args.warmup_seconds } else { 0 });
        let bare_round = drive(&client, &bare_target, args, warmup).await;
        let real_round = drive(&client, &real_target, args, warmup).await;
        println!(
            "round {}: bare {:.0}/s, assets {:.0}/s, ratio {:.2}",
            round + 1,
            bare_round.per_sec(),
            real_round.per_sec(),
            real_round.per_sec() / bare_round.per_sec()
        );
        bare_result.add(bare_round);
        real_result.add(real_round);
    }
    println!(
        "{:<8} {:>12} {:>10} {:>10} {:>9}",
        "target", "requests/s", "p50 ms", "p99 ms", "failures"
    );
    for (name, m) in [("bare", &bare_result), ("assets", &real_result)] {
        println!(
            "{name:<8} {:>12.0} {:>10.3} {:>10.3} {:>9}",
            m.per_sec(),
            m.percentile_ms(50),
            m.percentile_ms(99),
            m.failures
        );
    }
    println!(
        "ratio: {:.2}",
        real_result.per_sec() / bare_result.per_sec()
    );
    if real_result.failures + bare_result.failures > 0 {
        bail!("some requests failed; the figures above are not valid");
    }
    store.backend().close().await;
    let name = if args.cache_ttl_ms == 0 {
        "assets (uncached)"
    } else {
        "assets"
    };
    Ok(vec![
        Figure::new(format!("{name} requests"), real_result.per_sec(), "/s")
            .with_ratio(real_result.per_sec() / bare_result.per_sec()),
        Figure::new(format!("{name} p99"), real_result.percentile_ms(99), "ms"),
    ])
}

impl Target {
    fn clone_with_secret(&self) -> Target {
        Target {
            url: self.url.clone(),
            app_id: self.app_id.clone(),
            app_secret: self.app_secret.clone(),
        }
    }

    fn request(&self, client: &reqwest::Client) -> reqwest::RequestBuilder {
        let timestamp = unix_now().to_string();
        let sign = ccgate_api::sign::sign(
            &self.app_id,
            self.app_secret.expose_secret(),
            &timestamp,
            REQUEST_BODY.as_bytes(),
        );
        client
            .post(&self.url)
            .header("Appid", &self.app_id)
            .header("Timestamp", timestamp)
            .header("Sign", sign)
            .header("Content-Type", "application/json")
            .body(REQUEST_BODY)
    }
}

fn client(connections: usize) -> anyhow::Result<reqwest::Client> {
    reqwest::Client::builder()
        .pool_max_idle_per_host(connections)
        .timeout(Duration::from_secs(10))
        .build()
        .context("build the HTTP client")
}

pub(super) async fn spawn_server(router: axum::Router) -> anyhow::Result<std::net::SocketAddr> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    serve_on(listener, router);
    Ok(address)
}

/// Serves `router` on `listener` in the background, for as long as the process runs.
pub(super) fn serve_on(listener: tokio::net::TcpListener, router: axum::Router) {
    tokio::spawn(async move {
        let service = router.into_make_service_with_connect_info::<std::net::SocketAddr>();
        if let Err(err) = axum::serve(listener, service).await {
            tracing::error!(error = %err, "bench server stopped");
        }
    });
}

/// One checked call: the answer must be a success whose signature verifies.
async fn first_answer(client: &reqwest::Client, target: &Target) -> anyhow::Result<Vec<u8>> {
    let response = target
        .request(client)
        .send()
        .await
        .context("call the real server")?;
    let timestamp = header(&response, "timestamp")?;
    let sign = header(&response, "sign")?;
    let body = response.bytes().await?.to_vec();
    if !body.starts_with(br#"{"code":10000,"#) {
        bail!(
            "the real server refused the bench request: {}",
            String::from_utf8_lossy(&body)
        );
    }
    if !ccgate_api::sign::verify(
        &target.app_id,
        target.app_secret.expose_secret(),
        &timestamp,
        &body,
        &sign,
    ) {
        bail!("the real server's response signature does not verify");
    }
    Ok(body)
}

fn header(response: &reqwest::Response, name: &str) -> anyhow::Result<String> {
    Ok(response
        .headers()
        .get(name)
        .with_context(|| format!("response lacks the {name} header"))?
        .to_str()?
        .to_owned())
}

async fn drive(
    client: &reqwest::Client,
    target: &Target,
    args: &BenchArgs,
    warmup: Duration,
) -> Measured {
    let warmup_end = Instant::now() + warmup;
    let measure = Duration::from_secs(args.seconds);
    let target = Arc::new(target.clone_with_secret());
    let mut tasks = Vec::with_capacity(args.connections);
    for _ in 0..args.connections {
        let client = client.clone();
        let target = Arc::clone(&target);
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut failures = 0usize;
            while Instant::now() < warmup_end {
                let _ = call(&client, &target).await;
            }
            let end = warmup_end + measure;
            loop {
                let started = Instant::now();
                if started >= end {
                    break;
                }
                if call(&client, &target).await {
                    latencies.push(micros(started.elapsed()));
                } else {
                    failures += 1;
                }
            }
            (latencies, failures)
        }));
    }
    let mut latencies_us = Vec::new();
    let mut failures = 0;
    for task in tasks {
        if let Ok((mut l, f)) = task.await {
            latencies_us.append(&mut l);
            failures += f;
        }
    }
    latencies_us.sort_unstable();
    Measured {
        requests: latencies_us.len(),
        failures,
        elapsed: measure,
        latencies_us,
    }
}

async fn call(client: &reqwest::Client, target: &Target) -> bool {
    match target.request(client).send().await {
        Ok(response) if response.status().is_success() => match response.bytes().await {
            Ok(body) => body.starts_with(br#"{"code":10000,"#),
            Err(_) => false,
        },
        _ => false,
    }
}
