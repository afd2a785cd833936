//! What the benches share: the figures they report, measured stretches,
//! scratch databases and servers on loopback.

use std::collections::HashMap;
use std::future::Future;
use std::ops::Add;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use ccgate_ledger::{Account, Amount, CoinId, JournalEntry, MerchantId};
use ccgate_store::{CachingStore, EntryMeta, MasterKey, PgStore, SqliteStore, Store};

use super::unix_now;
use crate::backend::Backend;

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

/// How long each of this process's threads, and each PostgreSQL server
/// process on this machine, has run on a CPU, from Linux's `schedstat`
/// files: what a bench's stretch cost in CPU, apart from how busy or slow a
/// shared machine was meanwhile.
#[derive(Debug, Clone, Default)]
pub(super) struct CpuTimes {
    /// (process id, thread id) → (who runs it, nanoseconds on a CPU).
    runners: HashMap<(u32, u64), (Runner, u64)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Runner {
    /// One of this process's SQLite connection threads.
    Sqlite,
    /// Any other thread of this process.
    ThisProcess,
    /// A PostgreSQL server process on this machine (its backends, WAL
    /// writer, checkpointer…: each one thread).
    Postgres,
}

/// What the names of the threads doing SQLite's work share (Linux truncates
/// them to 15 bytes): sqlx runs each connection on a thread of its own
/// (`sqlx-sqlite-worker-…`), and the store checkpoints the WAL on one
/// (`sqlite-checkpoint`).
const SQLITE_THREAD_NAME: &str = "sqlite";

/// A thread's CPU time so far, in nanoseconds: the first field of its
/// `schedstat`. `None` if it ended meanwhile.
fn ran_ns(task: &std::path::Path) -> Option<u64> {
    std::fs::read_to_string(task.join("schedstat"))
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

fn name_of(task: &std::path::Path) -> String {
    std::fs::read_to_string(task.join("comm"))
        .unwrap_or_default()
        .trim_end()
        .to_owned()
}

/// The numeric entries of a `/proc` directory, with their paths.
fn numbered(dir: &str) -> Vec<(u64, std::path::PathBuf)> {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .filter_map(|entry| {
                    let number = entry.file_name().to_str()?.parse().ok()?;
                    Some((number, entry.path()))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Whose CPU times a reading takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum CpuScope {
    /// This process's threads.
    ThisProcess,
    /// Those, and the PostgreSQL server's processes on this machine (a
    /// walk of every process in `/proc`: only where PostgreSQL is measured).
    WithLocalPostgres,
}

impl CpuTimes {
    /// The times in `scope` now; `None` where `/proc` does not say (not
    /// Linux). A thread or process that ends between the listing and its
    /// reads is left out, as one that ended earlier is.
    pub(super) fn read(scope: CpuScope) -> Option<CpuTimes> {
        let own = numbered("/proc/self/task");
        if own.is_empty() {
            return None;
        }
        let mut runners = HashMap::new();
        for (tid, task) in own {
            let runner = if name_of(&task).contains(SQLITE_THREAD_NAME) {
                Runner::Sqlite
            } else {
                Runner::ThisProcess
            };
            if let Some(ns) = ran_ns(&task) {
                runners.insert((0, tid), (runner, ns));
            }
        }
        if scope == CpuScope::ThisProcess {
            return Some(CpuTimes { runners });
        }
        for (pid, process) in numbered("/proc") {
            let Ok(pid) = u32::try_from(pid) else {
                continue;
            };
            if name_of(&process) == "postgres"
                && let Some(ns) = ran_ns(&process)
            {
                runners.insert((pid, 0), (Runner::Postgres, ns));
            }
        }
        Some(CpuTimes { runners })
    }

    /// What ran since `earlier` (a thread or process started since then,
    /// all it ran; one that ended meanwhile is not counted).
    pub(super) fn spent_since(&self, earlier: &CpuTimes) -> CpuSpent {
        let mut spent = CpuSpent::default();
        for (key, (runner, ran_ns)) in &self.runners {
            let before = earlier.runners.get(key).map_or(0, |(_, ns)| *ns);
            let ran = Duration::from_nanos(ran_ns.saturating_sub(before));
            spent.total += ran;
            match runner {
                Runner::Sqlite => spent.sqlite += ran,
                Runner::ThisProcess => {}
                Runner::Postgres => spent.postgres += ran,
            }
        }
        spent
    }
}

/// CPU time spent in a stretch by all a reading's scope took in, and of
/// that by this process's SQLite connections' threads and by the
/// PostgreSQL server's processes on this machine.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct CpuSpent {
    pub(super) total: Duration,
    pub(super) sqlite: Duration,
    pub(super) postgres: Duration,
}

impl CpuSpent {
    /// `work` while the CPU times in `scope` are read before and after;
    /// `None` for the spent time where they cannot be read.
    pub(super) async fn measure<T>(
        scope: CpuScope,
        work: impl Future<Output = T>,
    ) -> (T, Option<CpuSpent>) {
        let before = CpuTimes::read(scope);
        let output = work.await;
        let spent = before.and_then(|before| Some(CpuTimes::read(scope)?.spent_since(&before)));
        (output, spent)
    }

    /// Microseconds of CPU time (all the scope took in) for each of `count`.
    pub(super) fn micros_each(&self, count: usize) -> f64 {
        self.total.as_secs_f64() * 1e6 / count.max(1) as f64
    }

    /// Microseconds of the SQLite threads' CPU time for each of `count`.
    pub(super) fn sqlite_micros_each(&self, count: usize) -> f64 {
        self.sqlite.as_secs_f64() * 1e6 / count.max(1) as f64
    }

    /// Microseconds of the local PostgreSQL server's CPU time for each of `count`.
    pub(super) fn postgres_micros_each(&self, count: usize) -> f64 {
        self.postgres.as_secs_f64() * 1e6 / count.max(1) as f64
    }
}

impl Add for CpuSpent {
    type Output = CpuSpent;

    fn add(self, other: CpuSpent) -> CpuSpent {
        CpuSpent {
            total: self.total + other.total,
            sqlite: self.sqlite + other.sqlite,
            postgres: self.postgres + other.postgres,
        }
    }
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

/// The figures of one comparison run on a scratch SQLite file, then, if a
/// PostgreSQL server is given, again in a scratch schema of it (named
/// `prefix` and a random tag, dropped afterwards). Two closures, one per
/// backend, since a closure cannot be generic over the store it is given.
pub(super) async fn on_sqlite_then_postgres<OnSqlite, OnPostgres, SqliteFut, PostgresFut>(
    postgres: Option<&str>,
    prefix: &str,
    on_sqlite: OnSqlite,
    on_postgres: OnPostgres,
) -> anyhow::Result<Vec<Figure>>
where
    OnSqlite: FnOnce(SqliteStore) -> SqliteFut,
    SqliteFut: Future<Output = anyhow::Result<Vec<Figure>>>,
    OnPostgres: FnOnce(PgStore) -> PostgresFut,
    PostgresFut: Future<Output = anyhow::Result<Vec<Figure>>>,
{
    let (_scratch, sqlite) = scratch_sqlite().await?;
    let mut figures = on_sqlite(sqlite).await?;
    let Some(url) = postgres else {
        println!("(PostgreSQL not measured: pass --postgres URL)");
        return Ok(figures);
    };
    figures.extend(in_scratch_schema(url, prefix, on_postgres).await?);
    Ok(figures)
}

/// What `measure` made of a store in a new schema of the PostgreSQL at
/// `url`, named `prefix` and a random tag; the schema is dropped afterwards,
/// whatever `measure` answered.
pub(super) async fn in_scratch_schema<T, F, Fut>(
    url: &str,
    prefix: &str,
    measure: F,
) -> anyhow::Result<T>
where
    F: FnOnce(PgStore) -> Fut,
    Fut: Future<Output = anyhow::Result<T>>,
{
    let schema = format!("{prefix}_{:08x}", rand::random::<u32>());
    let outcome = async {
        let store = PgStore::connect_in_schema(url, &schema, MasterKey::generate()).await?;
        measure(store).await
    }
    .await;
    let dropped = psql(url, &format!("DROP SCHEMA IF EXISTS {schema} CASCADE"));
    let measured = outcome?;
    dropped?;
    Ok(measured)
}

/// `backend` behind the cache `serve` puts in front of it, `ttl_ms` long.
pub(super) fn cached<B: Backend>(backend: &B, ttl_ms: u64) -> Arc<CachingStore<B>> {
    Arc::new(CachingStore::new(
        backend.clone(),
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

/// Serves the gateway as `ccgate serve` does (`ccgate_server::serve`: its
/// connection limits and deadlines, around the whole router), in the
/// background, for as long as the process runs: what a bench measures is
/// what a merchant reaches.
pub(super) async fn spawn_gateway(
    state: ccgate_server::AppState,
) -> anyhow::Result<std::net::SocketAddr> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    tokio::spawn(ccgate_server::serve(
        listener,
        state,
        std::future::pending(),
    ));
    Ok(address)
}

/// Serves `router` with axum's own `serve`: a bench's baseline or a stand-in
/// for another party (a webhook receiver, a node).
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

/// Runs `sql` on the PostgreSQL at `url` with `psql`.
pub(super) fn psql(url: &str, sql: &str) -> anyhow::Result<()> {
    run(Command::new("psql").args([
        "--quiet",
        "--no-psqlrc",
        "-v",
        "ON_ERROR_STOP=1",
        "--command",
        sql,
        url,
    ]))
    .with_context(|| format!("psql: {sql}"))?;
    Ok(())
}

/// Runs a tool to completion; its standard output, or why it failed.
pub(super) fn run(command: &mut Command) -> anyhow::Result<String> {
    let program = command.get_program().to_string_lossy().into_owned();
    let output = command
        .output()
        .with_context(|| format!("cannot run {program} (is it installed and on the PATH?)"))?;
    if !output.status.success() {
        bail!(
            "{program} failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_times_count_each_thread_and_sqlite_s_apart() {
        let before = CpuTimes::read(CpuScope::ThisProcess).expect("/proc/self/task on Linux");
        // A thread named as sqlx names its SQLite threads, started after the
        // first reading: all it runs is counted, and counted as SQLite's.
        let (spun, spun_enough) = std::sync::mpsc::channel();
        let spinner = std::thread::Builder::new()
            .name(format!("{SQLITE_THREAD_NAME}-test"))
            .spawn(move || {
                let mut spins = 0u64;
                while spins < 10_000_000 {
                    spins = std::hint::black_box(spins + 1);
                }
                spun.send(()).expect("the test waits for the spinner");
                // Still alive at the second reading: ended threads drop out.
                std::thread::park();
                spins
            })
            .expect("spawn the spinner");
        spun_enough.recv().expect("the spinner spun");
        let spent = CpuTimes::read(CpuScope::ThisProcess)
            .expect("/proc/self/task on Linux")
            .spent_since(&before);
        spinner.thread().unpark();
        spinner.join().expect("the spinner");
        assert!(spent.sqlite > Duration::ZERO, "{spent:?}");
        assert!(spent.total >= spent.sqlite, "{spent:?}");
        assert_eq!(spent.postgres, Duration::ZERO, "not read: {spent:?}");
        let doubled = spent + spent;
        assert_eq!(doubled.total, spent.total * 2);
        assert_eq!(doubled.sqlite, spent.sqlite * 2);
    }
}
