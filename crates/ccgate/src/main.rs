//! `ccgate`: the gateway (`serve`) and the operator's commands, all working on
//! one data directory, also while `serve` runs on it.

mod backend;
mod commands;
mod config;
mod data_dir;

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use commands::{
    Globals, bench, call, coins, cwallet, devnet, evm, ledger, listen, merchant, ops, order,
    sandbox, serve, trigger, user, webhooks, withdrawal,
};

/// mimalloc, not glibc's malloc: the request path allocates and frees small
/// buffers on every worker thread, where glibc's arena locks showed in the
/// profile (BENCHMARKS.md, `bench assets`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Debug, Parser)]
#[command(
    name = "ccgate",
    version,
    about = "Self-hosted crypto payment gateway speaking the CCPayment v1 API"
)]
struct Cli {
    /// Where the database and the master key live (default: a per-user data directory).
    #[arg(long, global = true, env = "CCGATE_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// Log lines as `text` (default) or `json`, to stderr.
    #[arg(long, global = true, env = "CCGATE_LOG_FORMAT", default_value = "text")]
    log_format: LogFormat,
    /// A TOML file that adds, replaces or disables chains and coins, sets prices and fiat rates.
    #[arg(long, global = true, env = "CCGATE_CONFIG")]
    config: Option<PathBuf>,
    #[command(flatten)]
    database: backend::DatabaseArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the gateway.
    Serve(serve::ServeArgs),
    /// Create, list, rotate, disable and enable merchants.
    #[command(subcommand)]
    Merchant(merchant::MerchantCommand),
    /// Dashboard users: `user create --operator --email …` makes the first operator.
    #[command(subcommand)]
    User(user::UserCommand),
    /// Manual adjustments, balances and the journal audit.
    #[command(subcommand)]
    Ledger(ledger::LedgerCommand),
    /// The effective coin, chain and price registry.
    #[command(subcommand)]
    Coins(coins::CoinsCommand),
    /// Drive the simulated chains.
    #[command(subcommand)]
    Devnet(devnet::DevnetCommand),
    /// EVM chains followed on a node.
    #[command(subcommand)]
    Evm(evm::EvmCommand),
    /// Cwallet ids: accounts inside this gateway.
    #[command(subcommand)]
    Cwallet(cwallet::CwalletCommand),
    /// Deposit orders: list them, refund one.
    #[command(subcommand)]
    Order(order::OrderCommand),
    /// Withdrawals and refunds.
    #[command(subcommand)]
    Withdrawal(withdrawal::WithdrawalCommand),
    /// The webhook outbox and its delivery log.
    #[command(subcommand)]
    Webhooks(webhooks::WebhooksCommand),
    /// A consistent copy of the SQLite database, taken while `serve` runs
    /// (for PostgreSQL use pg_dump; see docs/reference.md).
    Backup(ops::BackupArgs),
    /// Apply pending database migrations and say where the schema stands.
    Migrate,
    /// Check the configuration, the data directory, the database and the chains, and say what is wrong.
    Doctor,
    /// Send a signed request to ccgate or to CCPayment itself, print the answer and whether its signature verifies.
    Call(call::CallArgs),
    /// Measure the HTTP API against a bare axum baseline.
    #[command(subcommand)]
    Bench(bench::BenchCommand),
    /// Forward a merchant's webhooks, as the running server sends them, to a
    /// local URL with the same signed headers; one line per delivery.
    Listen(listen::ListenArgs),
    /// Drive a `serve --sandbox` through its admin API: its virtual clock,
    /// the faults injected into webhook deliveries, and snapshots.
    Sandbox(sandbox::SandboxArgs),
    /// Make a business event happen in a running sandbox (`--list` names them): builds what it
    /// needs, drives the devnet and the clock, prints what happened and which webhooks went out.
    Trigger(trigger::TriggerArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // A bench would otherwise print a log line per request it makes.
    let quiet = matches!(cli.command, Command::Bench(_));
    let count_statements =
        matches!(&cli.command, Command::Bench(bench) if bench.counts_statements());
    init_tracing(
        if quiet { "warn" } else { "info" },
        cli.log_format,
        count_statements,
    );
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("error: start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let globals = Globals {
        data_dir: cli.data_dir,
        config: cli.config,
        database: cli.database,
    };
    match cli.command {
        Command::Serve(args) => serve::run(globals, args).await,
        Command::Merchant(command) => merchant::run(globals, command).await,
        Command::User(command) => user::run(globals, command).await,
        Command::Ledger(command) => ledger::run(globals, command).await,
        Command::Coins(command) => coins::run(globals, command),
        Command::Devnet(command) => devnet::run(globals, command).await,
        Command::Evm(command) => evm::run(globals, command).await,
        Command::Cwallet(command) => cwallet::run(globals, command).await,
        Command::Order(command) => order::run(globals, command).await,
        Command::Withdrawal(command) => withdrawal::run(globals, command).await,
        Command::Webhooks(command) => webhooks::run(globals, command).await,
        Command::Backup(args) => ops::backup(globals, args).await,
        Command::Migrate => ops::migrate(globals).await,
        Command::Doctor => ops::doctor(globals).await,
        Command::Call(args) => call::run(&args).await,
        Command::Bench(command) => bench::run(command, &globals.database).await,
        Command::Listen(args) => listen::run(globals, args).await,
        Command::Sandbox(args) => sandbox::run(globals, args).await,
        Command::Trigger(args) => trigger::run(globals, args).await,
    }
}

/// Logs go to stderr so that stdout stays for the command's own output;
/// `CCGATE_LOG` filters (default `info`, `warn` for benches); `--log-format
/// json` (or `CCGATE_LOG_FORMAT=json`) structures them. `count_statements`
/// adds `bench writes`' counter of sqlx's statements, with its own filter, so
/// `CCGATE_LOG` does not change what it counts.
fn init_tracing(default_filter: &str, format: LogFormat, count_statements: bool) {
    use tracing_subscriber::Layer;
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;

    let filter = tracing_subscriber::EnvFilter::try_from_env("CCGATE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_filter));
    let lines = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    let lines = if format == LogFormat::Json {
        lines.json().with_filter(filter).boxed()
    } else {
        lines.with_filter(filter).boxed()
    };
    tracing_subscriber::registry()
        .with(lines)
        .with(count_statements.then(commands::bench_writes::statement_layer))
        .init();
}
