//! `ccgate bench writes`: the three endpoints that write — `bill/create`,
//! `payment/address/get` and `withdraw` — through the real server on SQLite
//! (and, with `--postgres`, again on PostgreSQL),
//! each request distinct and valid, against a bare axum route and against
//! plain journal postings on the same database, in the same run; and the SQL
//! statements each request runs, counted from sqlx's own statement log.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use axum::routing::post;
use ccgate_ledger::{Account, Amount, JournalEntry, MerchantId};
use ccgate_store::{Store, generate_app_id, generate_app_secret};
use secrecy::{ExposeSecret, SecretString};
use tracing::field::{Field, Visit};
use tracing_subscriber::Layer;
use tracing_subscriber::filter::{FilterExt, Targets, filter_fn};

use super::bench_kit::{Figure, Measured, micros};
use super::unix_now;
use crate::backend::Backend;
use crate::config::Settings;

#[derive(Debug, clap::Args)]
pub struct WritesBenchArgs {
    /// Concurrent connections (one client task each).
    #[arg(long, default_value_t = 32)]
    pub connections: usize,
    /// Measured seconds per target in each round.
    #[arg(long, default_value_t = 3)]
    pub seconds: u64,
    /// Rounds, each measuring every target in turn, in slices, so that drift
    /// in a noisy machine's speed hits all alike.
    #[arg(long, default_value_t = 3)]
    pub rounds: u32,
    /// Length of one slice: a round takes the targets in turn for this many
    /// milliseconds each until each had `--seconds`, as `bench assets` does.
    #[arg(long, default_value_t = 500)]
    pub slice_ms: u64,
    /// Requests per endpoint sent one at a time on one connection to count
    /// the SQL statements each runs.
    #[arg(long, default_value_t = 200)]
    pub sequential: usize,
    /// A PostgreSQL server to measure as well, e.g.
    /// `postgres://postgres@127.0.0.1:5432/test`, in a scratch schema dropped
    /// afterwards.
    #[arg(long)]
    pub postgres: Option<String>,
}

/// Where sqlx logs each statement it ran: one event per statement, at DEBUG
/// (WARN when slower than a second), from `QueryLogger::finish`.
const SQLX_QUERY: &str = "sqlx::query";

/// Counts the statements sqlx runs in this process. Installed only for
/// `bench writes`, `bench evm` (and `bench all`), and listening only while
/// one of them counts: sqlx formats its event only when someone listens, so the
/// measured throughput, and the other benches of `bench all`, do not pay
/// for it.
#[derive(Debug)]
pub struct StatementCounter {
    listening: AtomicBool,
    count: AtomicU64,
    /// While `Some`, each statement's text in short, in order.
    recorded: Mutex<Option<Vec<String>>>,
}

impl StatementCounter {
    /// Starts or stops listening. The filter's answer is cached per
    /// callsite, so the cache is rebuilt for sqlx to see the change.
    pub(super) fn listen(&self, on: bool) {
        self.listening.store(on, Ordering::Relaxed);
        tracing::callsite::rebuild_interest_cache();
    }
}

pub static STATEMENTS: StatementCounter = StatementCounter {
    listening: AtomicBool::new(false),
    count: AtomicU64::new(0),
    recorded: Mutex::new(None),
};

/// The layer that feeds `STATEMENTS`, enabled for sqlx's statement events only.
pub fn statement_layer<S>() -> impl Layer<S>
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
{
    let sqlx_statements = Targets::new().with_target(SQLX_QUERY, tracing::Level::DEBUG);
    (&STATEMENTS).with_filter(
        sqlx_statements.and(filter_fn(|_| STATEMENTS.listening.load(Ordering::Relaxed))),
    )
}

impl<S: tracing::Subscriber> Layer<S> for &'static StatementCounter {
    fn on_event(
        &self,
        event: &tracing::Event<'_>,
        _ctx: tracing_subscriber::layer::Context<'_, S>,
    ) {
        if event.metadata().target() != SQLX_QUERY {
            return;
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        let mut recorded = self.recorded.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(list) = recorded.as_mut() {
            let mut sql = SqlText::default();
            event.record(&mut sql);
            list.push(short_sql(if sql.statement.trim().is_empty() {
                &sql.summary
            } else {
                &sql.statement
            }));
        }
    }
}

impl StatementCounter {
    fn count(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }

    pub(super) fn record(&self, on: bool) -> Vec<String> {
        let mut recorded = self.recorded.lock().unwrap_or_else(PoisonError::into_inner);
        std::mem::replace(&mut *recorded, on.then(Vec::new)).unwrap_or_default()
    }
}

/// sqlx puts the first four words in `summary` and, when that is not all of
/// it, the whole statement in `db.statement`.
#[derive(Default)]
struct SqlText {
    summary: String,
    statement: String,
}

impl Visit for SqlText {
    fn record_str(&mut self, field: &Field, value: &str) {
        match field.name() {
            "summary" => value.clone_into(&mut self.summary),
            "db.statement" => value.clone_into(&mut self.statement),
            _ => {}
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "summary" && self.summary.is_empty() {
            self.summary = format!("{value:?}").trim_matches('"').to_owned();
        }
    }
}

/// What a reader needs to tell the statements apart: the verb and its table.
fn short_sql(sql: &str) -> String {
    let words: Vec<&str> = sql.split_whitespace().collect();
    let after = |keyword: &str| {
        words
            .iter()
            .position(|w| w.eq_ignore_ascii_case(keyword))
            .and_then(|i| words.get(i + 1))
            .map(|w| w.trim_end_matches(|c: char| !c.is_alphanumeric() && c != '_'))
    };
    match words.first().map(|w| w.to_ascii_uppercase()).as_deref() {
        Some("SELECT") => match after("FROM") {
            Some(table) if sql.contains("UNION ALL") => {
                format!("SELECT … FROM {table} UNION ALL …")
            }
            Some(table) => format!("SELECT … FROM {table}"),
            None => words.iter().take(4).copied().collect::<Vec<_>>().join(" "),
        },
        Some("INSERT") => {
            let conflict = if sql.contains("ON CONFLICT") {
                " … ON CONFLICT"
            } else {
                ""
            };
            let returning = if sql.contains("RETURNING") {
                " … RETURNING"
            } else {
                ""
            };
            format!(
                "INSERT INTO {}{conflict}{returning}",
                after("INTO").unwrap_or("?")
            )
        }
        Some("UPDATE") => format!("UPDATE {}", words.get(1).copied().unwrap_or("?")),
        _ => words.iter().take(4).copied().collect::<Vec<_>>().join(" "),
    }
}

const USDT_TRC20: &str = "0912e09a-d8e2-41d7-a0bc-a25530892988";
const PAYEE: &str = "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t";
const BILL_CREATE: &str = "bill/create";
const ADDRESS_GET: &str = "payment/address/get";
const WITHDRAW: &str = "withdraw";
const ENDPOINTS: [&str; 3] = [BILL_CREATE, ADDRESS_GET, WITHDRAW];
/// Each withdrawal's value, in USDT.
const WITHDRAWAL_VALUE: u128 = 2;

/// The `i`-th request to `endpoint`: each one new to the database (its own
/// `merchant_order_id` or `user_id`), each one valid.
fn request_body(endpoint: &str, i: usize) -> String {
    match endpoint {
        BILL_CREATE => format!(
            r#"{{"token_id":"{USDT_TRC20}","product_price":"10","merchant_order_id":"order-{i}"}}"#
        ),
        ADDRESS_GET => format!(r#"{{"user_id":"user-{i}","chain":"TRX"}}"#),
        _ => format!(
            r#"{{"token_id":"{USDT_TRC20}","address":"{PAYEE}","value":"{WITHDRAWAL_VALUE}","merchant_order_id":"withdrawal-{i}"}}"#
        ),
    }
}

pub(super) struct Signer {
    pub(super) app_id: String,
    pub(super) secret: SecretString,
}

impl Signer {
    fn request(
        &self,
        client: &reqwest::Client,
        url: &str,
        body: String,
    ) -> reqwest::RequestBuilder {
        let timestamp = unix_now().to_string();
        let sign = ccgate_api::sign::sign(
            &self.app_id,
            self.secret.expose_secret(),
            &timestamp,
            body.as_bytes(),
        );
        client
            .post(url)
            .header("Appid", &self.app_id)
            .header("Timestamp", timestamp)
            .header("Sign", sign)
            .header("Content-Type", "application/json")
            .body(body)
    }
}

/// One call; the answer's bytes if it is a success.
pub(super) async fn call(
    client: &reqwest::Client,
    signer: &Signer,
    url: &str,
    body: String,
) -> anyhow::Result<Vec<u8>> {
    let answer = signer
        .request(client, url, body)
        .send()
        .await?
        .bytes()
        .await?;
    if !answer.starts_with(br#"{"code":10000,"#) {
        bail!("refused: {}", String::from_utf8_lossy(&answer));
    }
    Ok(answer.to_vec())
}

async fn drive(
    client: &reqwest::Client,
    signer: &Arc<Signer>,
    url: &str,
    endpoint: &'static str,
    next: &Arc<AtomicUsize>,
    connections: usize,
    measure: Duration,
) -> Measured {
    let end = Instant::now() + measure;
    let mut tasks = Vec::with_capacity(connections);
    for _ in 0..connections {
        let (client, signer, url, next) = (
            client.clone(),
            Arc::clone(signer),
            url.to_owned(),
            Arc::clone(next),
        );
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut failures = 0usize;
            loop {
                let started = Instant::now();
                if started >= end {
                    break;
                }
                let body = request_body(endpoint, next.fetch_add(1, Ordering::Relaxed));
                match call(&client, &signer, &url, body).await {
                    Ok(_) => latencies.push(micros(started.elapsed())),
                    Err(err) => {
                        if failures == 0 {
                            tracing::warn!(endpoint, error = %err, "bench request failed");
                        }
                        failures += 1;
                    }
                }
            }
            (latencies, failures)
        }));
    }
    let mut measured = Measured {
        elapsed: measure,
        ..Measured::default()
    };
    for task in tasks {
        match task.await {
            Ok((mut latencies, failures)) => {
                measured.latencies_us.append(&mut latencies);
                measured.failures += failures;
            }
            Err(_) => measured.failures += 1,
        }
    }
    measured.requests = measured.latencies_us.len();
    measured.latencies_us.sort_unstable();
    measured
}

pub async fn writes(args: &WritesBenchArgs) -> anyhow::Result<Vec<Figure>> {
    if args.connections == 0
        || args.seconds == 0
        || args.rounds == 0
        || args.sequential == 0
        || args.slice_ms == 0
    {
        bail!("--connections, --seconds, --rounds, --sequential and --slice-ms must be at least 1");
    }
    super::bench_kit::on_sqlite_then_postgres(
        args.postgres.as_deref(),
        "ccgate_writes",
        |sqlite| measure_on("SQLite", "", sqlite, args),
        |postgres| measure_on("PostgreSQL", " on PostgreSQL", postgres, args),
    )
    .await
}

/// The whole comparison on one database: statements counted, then rounds of
/// the bare route, each endpoint and plain postings; each figure's name ends
/// with `figure_suffix`.
async fn measure_on<B: Backend>(
    backend_name: &'static str,
    figure_suffix: &'static str,
    backend: B,
    args: &WritesBenchArgs,
) -> anyhow::Result<Vec<Figure>> {
    let store = super::bench_kit::cached(&backend, super::serve::CACHE_TTL_MS_DEFAULT);
    let settings = Settings::builtin()?;
    let usdt = settings
        .registry
        .coin_by_symbol("USDT")
        .context("USDT")?
        .clone();
    let merchant = MerchantId::new(generate_app_id(unix_now()));
    let secret = generate_app_secret();
    store
        .create_merchant(&merchant, &secret, "bench", unix_now(), None)
        .await?;
    // Far more than any run withdraws: no request is refused for the balance.
    let unit = 10u128.pow(u32::from(usdt.precision.get()));
    super::bench_kit::fund(
        store.as_ref(),
        &merchant,
        &usdt.id,
        Amount::from_base_units(1_000_000_000_000 * unit),
    )
    .await?;
    let meta = super::bench_kit::adjustment();
    // Every permanent address of the run is new: the quota must not refuse one.
    let (state, _) = super::serve::bench_state(store.clone(), &settings, u64::MAX).await?;
    let real = super::bench_kit::spawn_gateway(state).await?;
    let signer = Arc::new(Signer {
        app_id: merchant.to_string(),
        secret,
    });
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(args.connections)
        .timeout(Duration::from_secs(30))
        .build()
        .context("build the HTTP client")?;
    let url = |address: std::net::SocketAddr, endpoint: &str| {
        format!("http://{address}/ccpayment/v1/{endpoint}")
    };
    let next = Arc::new(AtomicUsize::new(0));

    println!(
        "ccgate bench writes on {backend_name}: {} connections, {} rounds of {} s per target \
         in turns of {} ms, {} cores",
        args.connections,
        args.rounds,
        args.seconds,
        args.slice_ms.min(args.seconds * 1_000),
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );

    // Statements per request: one connection, one request at a time, nothing
    // else touching the database (a bench state runs no background loop).
    println!(
        "statements per request ({} sequential requests each; sqlx's statement log leaves out BEGIN, and on SQLite COMMIT too: those are not counted):",
        args.sequential
    );
    let mut first_answers = Vec::new();
    let mut listings = Vec::new();
    let mut figures = Vec::new();
    STATEMENTS.listen(true);
    for endpoint in ENDPOINTS {
        let target = url(real, endpoint);
        // The first request of each endpoint answers the bare route's bytes
        // and warms what is cached; it is not counted.
        let first = request_body(endpoint, next.fetch_add(1, Ordering::Relaxed));
        first_answers.push(call(&client, &signer, &target, first).await?);
        let before = STATEMENTS.count();
        for _ in 0..args.sequential {
            let body = request_body(endpoint, next.fetch_add(1, Ordering::Relaxed));
            call(&client, &signer, &target, body).await?;
        }
        let per_request = (STATEMENTS.count() - before) as f64 / args.sequential as f64;
        STATEMENTS.record(true);
        let body = request_body(endpoint, next.fetch_add(1, Ordering::Relaxed));
        call(&client, &signer, &target, body).await?;
        listings.push((endpoint, STATEMENTS.record(false)));
        println!("statements per request  {endpoint:<20} {per_request:>6.2}");
        figures.push(Figure::new(
            format!("{endpoint} SQL statements{figure_suffix}"),
            per_request,
            "per request",
        ));
    }
    let posting = || {
        JournalEntry::transfer(
            Account::OperatorAdjustments,
            Account::OperatorFees,
            usdt.id.clone(),
            Amount::from_base_units(1),
        )
    };
    let before = STATEMENTS.count();
    STATEMENTS.record(true);
    store.post_entry(&posting()?, &meta).await?;
    let posting_listing = STATEMENTS.record(false);
    for _ in 1..args.sequential {
        store.post_entry(&posting()?, &meta).await?;
    }
    let per_posting = (STATEMENTS.count() - before) as f64 / args.sequential as f64;
    STATEMENTS.listen(false);
    println!(
        "statements per request  {:<20} {per_posting:>6.2}",
        "journal posting"
    );
    for (endpoint, listing) in listings
        .iter()
        .map(|(e, l)| (*e, l))
        .chain([("journal posting", &posting_listing)])
    {
        println!("  one {endpoint}:");
        for statement in listing {
            println!("    {statement}");
        }
    }

    // The bare route answers each endpoint's first real answer, unchanged.
    let mut bare_router = axum::Router::new();
    for (endpoint, answer) in ENDPOINTS.into_iter().zip(first_answers) {
        bare_router = bare_router.route(
            &format!("/ccpayment/v1/{endpoint}"),
            post(move || {
                let body = answer.clone();
                async move { ([("content-type", "application/json; charset=utf-8")], body) }
            }),
        );
    }
    let bare = super::bench_kit::spawn_server(bare_router).await?;

    let mut bare_result = Measured::default();
    let mut results: Vec<Measured> = ENDPOINTS.iter().map(|_| Measured::default()).collect();
    let mut postings = Measured::default();
    let round_length = Duration::from_secs(args.seconds);
    let slice = Duration::from_millis(args.slice_ms).min(round_length);
    // The bare route is measured with `withdraw`'s bytes, the largest answer.
    let bare_url = url(bare, WITHDRAW);
    for round in 0..args.rounds {
        let mut bare_round = Measured::default();
        let mut rounds: Vec<Measured> = ENDPOINTS.iter().map(|_| Measured::default()).collect();
        let mut round_postings = Measured::default();
        while bare_round.elapsed < round_length {
            let length = slice.min(round_length - bare_round.elapsed);
            let measured = drive(
                &client,
                &signer,
                &bare_url,
                WITHDRAW,
                &next,
                args.connections,
                length,
            )
            .await;
            bare_round.add(measured);
            for (endpoint, total) in ENDPOINTS.into_iter().zip(rounds.iter_mut()) {
                let measured = drive(
                    &client,
                    &signer,
                    &url(real, endpoint),
                    endpoint,
                    &next,
                    args.connections,
                    length,
                )
                .await;
                total.add(measured);
            }
            // Plain journal postings, one DB transaction each, one after another.
            let end = Instant::now() + length;
            let mut slice_postings = Measured {
                elapsed: length,
                ..Measured::default()
            };
            while Instant::now() < end {
                let started = Instant::now();
                store.post_entry(&posting()?, &meta).await?;
                slice_postings.latencies_us.push(micros(started.elapsed()));
            }
            slice_postings.requests = slice_postings.latencies_us.len();
            slice_postings.latencies_us.sort_unstable();
            round_postings.add(slice_postings);
        }
        let mut line = format!("round {}: bare {:.0}/s", round + 1, bare_round.per_sec());
        for (endpoint, measured) in ENDPOINTS.into_iter().zip(&rounds) {
            line.push_str(&format!(", {endpoint} {:.0}/s", measured.per_sec()));
        }
        line.push_str(&format!(
            ", journal postings {:.0}/s",
            round_postings.per_sec()
        ));
        println!("{line}");
        bare_result.add(bare_round);
        for (total, measured) in results.iter_mut().zip(rounds) {
            total.add(measured);
        }
        postings.add(round_postings);
    }

    println!(
        "{:<20} {:>11} {:>8} {:>8} {:>8} {:>8} {:>12}",
        "target", "requests/s", "p50 ms", "p99 ms", "failures", "vs bare", "vs postings"
    );
    let row = |name: &str, m: &Measured| {
        println!(
            "{name:<20} {:>11.0} {:>8.3} {:>8.3} {:>8} {:>8.3} {:>12.2}",
            m.per_sec(),
            m.percentile_ms(50),
            m.percentile_ms(99),
            m.failures,
            m.per_sec() / bare_result.per_sec(),
            m.per_sec() / postings.per_sec()
        );
    };
    row("bare", &bare_result);
    for (endpoint, m) in ENDPOINTS.into_iter().zip(&results) {
        row(endpoint, m);
    }
    row("journal postings", &postings);
    let failures = bare_result.failures + results.iter().map(|m| m.failures).sum::<usize>();
    store.backend().close().await;
    if failures > 0 {
        bail!("{failures} requests failed; the figures above are not valid");
    }
    for (endpoint, m) in ENDPOINTS.into_iter().zip(&results) {
        figures.push(
            Figure::new(
                format!("{endpoint} requests{figure_suffix}"),
                m.per_sec(),
                "/s",
            )
            .with_ratio(m.per_sec() / bare_result.per_sec()),
        );
    }
    Ok(figures)
}
