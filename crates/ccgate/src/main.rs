//! `ccgate`: the gateway (`serve`) and the operator's commands, all working on
//! one data directory, also while `serve` runs on it.

mod backend;
mod commands;
mod config;
mod data_dir;

use std::io::IsTerminal;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

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
    Serve(ServeArgs),
    /// Create, list, rotate, disable and enable merchants.
    #[command(subcommand)]
    Merchant(MerchantCommand),
    /// Manual adjustments, balances and the journal audit.
    #[command(subcommand)]
    Ledger(LedgerCommand),
    /// The effective coin, chain and price registry.
    #[command(subcommand)]
    Coins(CoinsCommand),
    /// Drive the simulated chains.
    #[command(subcommand)]
    Devnet(DevnetCommand),
    /// EVM chains followed on a node.
    #[command(subcommand)]
    Evm(EvmCommand),
    /// Cwallet ids: accounts inside this gateway.
    #[command(subcommand)]
    Cwallet(CwalletCommand),
    /// Deposit orders: list them, refund one.
    #[command(subcommand)]
    Order(OrderCommand),
    /// Withdrawals and refunds.
    #[command(subcommand)]
    Withdrawal(WithdrawalCommand),
    /// The webhook outbox and its delivery log.
    #[command(subcommand)]
    Webhooks(WebhooksCommand),
    /// A consistent copy of the SQLite database, taken while `serve` runs
    /// (for PostgreSQL use pg_dump; see docs/reference.md).
    Backup {
        /// The new file (it must not exist).
        #[arg(long)]
        to: PathBuf,
    },
    /// Apply pending database migrations and say where the schema stands.
    Migrate,
    /// Check the configuration, the data directory, the database and the chains, and say what is wrong.
    Doctor,
    /// Send a signed request to ccgate or to CCPayment itself, print the answer and whether its signature verifies.
    Call(commands::call::CallArgs),
    /// Measure the HTTP API against a bare axum baseline.
    #[command(subcommand)]
    Bench(BenchCommand),
    /// Forward a merchant's webhooks, as the running server sends them, to a
    /// local URL with the same signed headers; one line per delivery.
    Listen(ListenArgs),
    /// Drive a `serve --sandbox` through its admin API: its virtual clock,
    /// the faults injected into webhook deliveries, and snapshots.
    Sandbox(SandboxArgs),
    /// Make a business event happen in a running sandbox (`--list` names them): builds what it
    /// needs, drives the devnet and the clock, prints what happened and which webhooks went out.
    Trigger(TriggerArgs),
}

#[derive(Debug, Args)]
struct TriggerArgs {
    /// The event, e.g. `order.paid` (see `--list`).
    #[arg(required_unless_present = "list")]
    name: Option<String>,
    /// List the triggers and what each does.
    #[arg(long)]
    list: bool,
    #[arg(long, required_unless_present = "list")]
    app_id: Option<String>,
    /// Use the merchant's order (or withdrawal) with this id instead of a new one.
    #[arg(long)]
    merchant_order_id: Option<String>,
    /// Pay in this token (default: USDT on ETH).
    #[arg(long)]
    token_id: Option<String>,
    /// Make the objects as this API would (v2: createAppOrderDepositAddress,
    /// getOrCreateAppDepositAddress, applyAppWithdrawToNetwork), so their
    /// webhooks are in its dialect. `--list` says which triggers run in v2.
    #[arg(long, value_enum, default_value_t = commands::Dialect::V1)]
    dialect: commands::Dialect,
    #[arg(long, env = "CCGATE_ADMIN_URL")]
    admin_url: Option<String>,
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
struct ListenArgs {
    #[arg(long)]
    app_id: String,
    /// Where each webhook is POSTed, e.g. http://127.0.0.1:9000/hook.
    #[arg(long)]
    forward_to: String,
    /// The server's admin API; default: the one the server on --data-dir wrote.
    #[arg(long, env = "CCGATE_ADMIN_URL")]
    admin_url: Option<String>,
}

#[derive(Debug, Args)]
struct SandboxArgs {
    /// The sandbox's admin API; default: the one the server on --data-dir wrote.
    #[arg(long, env = "CCGATE_ADMIN_URL", global = true)]
    admin_url: Option<String>,
    #[command(subcommand)]
    command: SandboxCommand,
}

#[derive(Debug, Subcommand)]
enum SandboxCommand {
    /// The business clock: show, advance, freeze, resume.
    #[command(subcommand)]
    Clock(ClockCommand),
    /// Faults injected into a merchant's webhook deliveries: fault, clear.
    #[command(subcommand)]
    Webhooks(SandboxWebhooksCommand),
    /// The whole state saved and restored (SQLite): save, restore, list, delete.
    #[command(subcommand)]
    Snapshot(SnapshotCommand),
}

#[derive(Debug, Subcommand)]
enum SnapshotCommand {
    /// Save the whole state as NAME (replacing a snapshot of that name).
    Save {
        name: String,
        #[arg(long)]
        json: bool,
    },
    /// Put the whole state back as snapshot NAME has it, while the server runs.
    Restore {
        name: String,
        #[arg(long)]
        json: bool,
    },
    /// The saved snapshots.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Delete snapshot NAME.
    Delete {
        name: String,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
enum SandboxWebhooksCommand {
    /// Inject faults into the merchant's webhook deliveries (replacing any it
    /// had): delay=5s (held before sending), drop=0.3 (not sent, a failed
    /// attempt), duplicate=0.2 (sent twice), reorder (a batch newest first),
    /// bad-signature (Sign does not match), status=500 (sent, but the attempt
    /// fails as if the receiver answered 500). Probabilities draw from a
    /// seeded sequence, so a run repeats exactly.
    Fault {
        #[arg(long)]
        app_id: String,
        #[arg(required = true, value_name = "FAULT")]
        faults: Vec<String>,
        /// Deliveries to affect (default: every one until cleared).
        #[arg(long)]
        count: Option<u32>,
        /// Starts the probabilistic faults' draws.
        #[arg(long, default_value_t = 0)]
        seed: u64,
        #[arg(long)]
        json: bool,
    },
    /// Stop injecting faults into the merchant's webhook deliveries.
    Clear {
        #[arg(long)]
        app_id: String,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
enum ClockCommand {
    /// Where business time stands (`--json`: {"now": UNIX_SECONDS, "now_ms", "frozen", "offset_ms"}).
    Show {
        #[arg(long)]
        json: bool,
    },
    /// Move business time forward (e.g. `31m30s`, `2h`, `90s`, `1500ms`), firing
    /// what falls due on the way in order; returns once it has settled.
    Advance {
        by: String,
        #[arg(long)]
        json: bool,
    },
    /// Stop business time.
    Freeze {
        #[arg(long)]
        json: bool,
    },
    /// Let business time run on from where it stands.
    Resume {
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
enum CoinsCommand {
    /// Coins with their networks, fees and prices; chains; fiat rates.
    List {
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
enum DevnetCommand {
    /// Produce blocks now, on top of those produced by time.
    Mine {
        #[arg(long)]
        chain: String,
        #[arg(long, default_value_t = 1)]
        blocks: u64,
    },
    /// Make the next withdrawal sent on a chain fail (its reservation is then voided).
    FailNextWithdrawal {
        #[arg(long, default_value = "ETH")]
        chain: String,
        #[arg(long, default_value_t = 1)]
        count: u32,
    },
    /// Rewrite the newest blocks of a devnet chain: by default their transfers are mined again
    /// in the next block (confirmations start over); `--drop TXID` removes one transaction;
    /// `--replace` removes them all. Reaching confirmed blocks needs `--force` (credits there are
    /// kept and recorded as incidents, never reversed).
    Reorg {
        #[arg(long)]
        chain: String,
        #[arg(long)]
        depth: u64,
        #[arg(long, conflicts_with = "replace")]
        drop: Option<String>,
        #[arg(long)]
        replace: bool,
        #[arg(long)]
        force: bool,
        #[arg(long)]
        json: bool,
    },
    /// Send a transfer to an address; it lands in the next block of the token's chain.
    Pay {
        #[arg(long)]
        to: String,
        /// The token (coin on one network), from `ccgate coins list`.
        #[arg(long)]
        token_id: String,
        #[arg(long)]
        amount: String,
        #[arg(long)]
        from: Option<String>,
        #[arg(long)]
        memo: Option<String>,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
enum EvmCommand {
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

#[derive(Debug, Subcommand)]
enum CwalletCommand {
    /// Create a Cwallet id; `--json` prints `{"c_id":"…"}`.
    Create {
        #[arg(long)]
        nickname: String,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Args)]
struct ServeArgs {
    /// Address to listen on; port 0 picks a free port (the ready line prints it).
    #[arg(long, env = "CCGATE_LISTEN", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Largest accepted request body.
    #[arg(long, env = "CCGATE_BODY_LIMIT_BYTES", default_value_t = ccgate_server::BODY_LIMIT_BYTES_DEFAULT)]
    body_limit_bytes: usize,
    /// Requests per second allowed from one source IP.
    #[arg(long, env = "CCGATE_RATE_LIMIT_PER_SEC", default_value_t = ccgate_server::RATE_LIMIT_PER_SEC_DEFAULT)]
    rate_limit_per_sec: u32,
    /// Where payers reach this server (hosted checkout URLs); default: the listen address.
    #[arg(long, env = "CCGATE_PUBLIC_URL")]
    public_url: Option<String>,
    /// The operator's admin API (devnet pay and mine); loopback addresses only.
    /// Its token: `admin.token` in the data directory, or `CCGATE_ADMIN_TOKEN`.
    #[arg(long, env = "CCGATE_ADMIN_LISTEN", default_value = "127.0.0.1:0")]
    admin_listen: SocketAddr,
    /// A name the admin API is reached by besides 127.0.0.1/localhost (an SSH
    /// tunnel's or a proxy's, `NAME` or `NAME:PORT`); requests addressed to
    /// any other `Host` are refused. Repeat or separate with commas.
    #[arg(long = "admin-host", env = "CCGATE_ADMIN_HOSTS", value_delimiter = ',')]
    admin_hosts: Vec<String>,
    /// Do not open the admin listener.
    #[arg(long, env = "CCGATE_NO_ADMIN")]
    no_admin: bool,
    /// Turn the per-source rate limit off (sandbox, benchmarks).
    #[arg(long, env = "CCGATE_NO_RATE_LIMIT")]
    no_rate_limit: bool,
    /// How long a merchant's credentials and balances are served from memory.
    /// Changes made through this server show at once; changes made by another
    /// process (the CLI, another instance) within this time. 0 turns caching off.
    #[arg(long, env = "CCGATE_CACHE_TTL_MS", default_value_t = commands::serve::CACHE_TTL_MS_DEFAULT)]
    cache_ttl_ms: u64,
    /// When failed webhooks are retried, in ms after the first attempt, comma-separated.
    #[arg(long, env = "CCGATE_WEBHOOK_RETRY_MS", value_delimiter = ',',
          default_values_t = ccgate_engine::webhooks::RETRY_AFTER_FIRST_MS_DEFAULT)]
    webhook_retry_ms: Vec<u64>,
    /// `webhook/resend` calls allowed per merchant and minute.
    #[arg(long, env = "CCGATE_RESEND_PER_MINUTE", default_value_t = ccgate_server::RESEND_PER_MINUTE_DEFAULT)]
    resend_per_minute: u32,
    /// `webhook/resend` calls allowed per merchant and day.
    #[arg(long, env = "CCGATE_RESEND_PER_DAY", default_value_t = ccgate_server::RESEND_PER_DAY_DEFAULT)]
    resend_per_day: u32,
    /// Permanent deposit addresses one merchant may hold.
    #[arg(long, env = "CCGATE_ADDRESS_QUOTA",
          default_value_t = ccgate_engine::addresses::PERMANENT_ADDRESSES_PER_MERCHANT_DEFAULT)]
    address_quota: u64,
    /// How long a webhook receiver may take to answer.
    #[arg(long, env = "CCGATE_WEBHOOK_TIMEOUT_MS", default_value_t = ccgate_engine::webhooks::DELIVERY_TIMEOUT_MS_DEFAULT)]
    webhook_timeout_ms: u64,
    /// Webhook deliveries of one merchant in flight at once (across
    /// instances): all one slow receiver can hold up.
    #[arg(long, env = "CCGATE_WEBHOOK_DELIVERIES_PER_MERCHANT_MAX",
          default_value_t = ccgate_engine::webhooks::DELIVERIES_PER_MERCHANT_MAX_DEFAULT,
          value_parser = clap::value_parser!(u32).range(1..))]
    webhook_deliveries_per_merchant_max: u32,
    /// Webhook deliveries this instance has in flight at once.
    #[arg(long, env = "CCGATE_WEBHOOK_DELIVERIES_MAX",
          default_value_t = ccgate_engine::webhooks::DELIVERIES_MAX_DEFAULT,
          value_parser = clap::value_parser!(u32).range(1..))]
    webhook_deliveries_max: u32,
    /// Run as a sandbox: a virtual business clock and the sandbox controls on
    /// the admin API (also `sandbox = true` in the config file).
    #[arg(long, env = "CCGATE_SANDBOX")]
    sandbox: bool,
    /// How long a client may take to send a request's headers, from connecting
    /// (or from a next request's first byte on a kept-alive connection).
    #[arg(long, env = "CCGATE_HEADER_READ_TIMEOUT_MS",
          default_value_t = ccgate_server::connections::HEADER_READ_TIMEOUT_MS_DEFAULT,
          value_parser = clap::value_parser!(u64).range(1..))]
    header_read_timeout_ms: u64,
    /// How long a kept-alive connection may wait for its next request.
    #[arg(long, env = "CCGATE_IDLE_TIMEOUT_MS",
          default_value_t = ccgate_server::connections::IDLE_TIMEOUT_MS_DEFAULT,
          value_parser = clap::value_parser!(u64).range(1..))]
    idle_timeout_ms: u64,
    /// Open connections in all; a connection beyond gets 503 and is closed.
    #[arg(long, env = "CCGATE_CONNECTIONS_MAX",
          default_value_t = ccgate_server::connections::CONNECTIONS_MAX_DEFAULT,
          value_parser = clap::value_parser!(u32).range(1..))]
    connections_max: u32,
    /// Open connections from one IP address; trusted proxies are exempt.
    #[arg(long, env = "CCGATE_CONNECTIONS_PER_IP_MAX",
          default_value_t = ccgate_server::connections::CONNECTIONS_PER_IP_MAX_DEFAULT,
          value_parser = clap::value_parser!(u32).range(1..))]
    connections_per_ip_max: u32,
    /// Reverse proxies whose X-Forwarded-For (or Forwarded) names the client
    /// the rate limit counts, comma-separated: CIDR ranges or addresses.
    #[arg(long, env = "CCGATE_TRUSTED_PROXIES", value_delimiter = ',',
          value_parser = ccgate_server::parse_trusted_proxy)]
    trusted_proxies: Vec<ccgate_server::IpNet>,
    /// With live money, let webhooks reach loopback and private addresses
    /// (refused by default); link-local addresses and this gateway's own
    /// listeners stay refused (also `allow_private_webhooks = true` in the
    /// config file).
    #[arg(long, env = "CCGATE_ALLOW_PRIVATE_WEBHOOKS")]
    allow_private_webhooks: bool,
}

#[derive(Debug, Subcommand)]
enum MerchantCommand {
    /// Create a merchant and print its Appid and app secret.
    Create {
        /// What operators call it; unique among merchants.
        #[arg(long)]
        name: String,
        /// Print the credentials as JSON.
        #[arg(long)]
        json: bool,
    },
    /// List merchants (never their secrets).
    List {
        /// Print the merchants as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Issue a new app secret. The running server keeps accepting the old one
    /// for up to its `--cache-ttl-ms` (1 s by default), then refuses it.
    RotateSecret {
        /// The merchant's Appid.
        #[arg(long)]
        app_id: String,
        /// Print the new credentials as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Refuse every further request of this merchant (code 220002).
    Disable {
        /// The merchant's Appid.
        #[arg(long)]
        app_id: String,
    },
    /// Accept this merchant's requests again, after `merchant disable`.
    Enable {
        /// The merchant's Appid.
        #[arg(long)]
        app_id: String,
    },
    /// Where this merchant's webhooks go (a per-order or per-address notify_url wins).
    SetWebhook {
        /// The merchant's Appid.
        #[arg(long)]
        app_id: String,
        /// The receiver: an http:// or https:// URL.
        #[arg(long)]
        url: String,
        /// Also notify pending and processing states, not only final ones.
        #[arg(long)]
        notify_pending: bool,
        /// The dialect of webhooks no object decides: the test ping (v2:
        /// ActivateWebhookURL). Orders, addresses and withdrawals are
        /// notified in the dialect that made them.
        #[arg(long, value_enum, default_value_t = commands::Dialect::V1)]
        dialect: commands::Dialect,
    },
    /// Whether this merchant's chain withdrawals wait for `ccgate withdrawal
    /// approve` (or `reject`) before they are sent; Cwallet ones never wait.
    SetWithdrawalApproval {
        /// The merchant's Appid.
        #[arg(long)]
        app_id: String,
        /// true: each chain withdrawal waits for the operator; false: none does.
        #[arg(long, action = clap::ArgAction::Set)]
        required: bool,
    },
    /// The service fee kept from each of the merchant's deposits (default 0.03 %).
    SetFee {
        /// The merchant's Appid.
        #[arg(long)]
        app_id: String,
        /// A percentage with at most 4 decimal places, e.g. 0.03 or 1.5.
        #[arg(long)]
        percent: String,
    },
}

/// What `order list` and `withdrawal list` filter by.
#[derive(Debug, Args)]
struct ListingArgs {
    /// Only this merchant's (its Appid).
    #[arg(long)]
    app_id: Option<String>,
    /// Created at or after: unix seconds, a date (2026-12-06, midnight UTC) or
    /// an RFC 3339 time (2026-12-06T07:00:00Z).
    #[arg(long)]
    since: Option<String>,
    /// Created before (same forms as --since).
    #[arg(long)]
    until: Option<String>,
    /// At most this many, the newest.
    #[arg(long, default_value_t = 50)]
    limit: u32,
    /// Print JSON: an array of objects named by the table's columns.
    #[arg(long, conflicts_with = "csv")]
    json: bool,
    /// Print CSV (RFC 4180, a header line first), for a spreadsheet.
    #[arg(long)]
    csv: bool,
}

impl ListingArgs {
    fn split(self) -> (commands::listing::Filters, commands::listing::Format) {
        let filters = commands::listing::Filters {
            app_id: self.app_id,
            since: self.since,
            until: self.until,
            limit: self.limit,
        };
        (
            filters,
            commands::listing::Format::from_flags(self.json, self.csv),
        )
    }
}

/// An order's state, as `bill/info` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum OrderStatusArg {
    Pending,
    Processing,
    Successful,
    Expired,
}

impl From<OrderStatusArg> for ccgate_engine::orders::OrderStatus {
    fn from(status: OrderStatusArg) -> Self {
        use ccgate_engine::orders::OrderStatus;
        match status {
            OrderStatusArg::Pending => OrderStatus::Pending,
            OrderStatusArg::Processing => OrderStatus::Processing,
            OrderStatusArg::Successful => OrderStatus::Successful,
            OrderStatusArg::Expired => OrderStatus::Expired,
        }
    }
}

#[derive(Debug, Subcommand)]
enum OrderCommand {
    /// Deposit orders (native and hosted checkouts), newest first.
    List {
        #[command(flatten)]
        listing: ListingArgs,
        /// Only orders in this state. The state is derived from the payments
        /// and the time, never stored, so it filters the page of --limit
        /// newest orders loaded: fewer may show; raise --limit to look further.
        #[arg(long, value_enum)]
        status: Option<OrderStatusArg>,
    },
    /// Refund a paid order to an address on its network; the payee bears the network fee.
    Refund {
        /// The merchant's Appid.
        #[arg(long)]
        app_id: String,
        /// The order, by the id the merchant gave it.
        #[arg(long)]
        merchant_order_id: String,
        /// Where the refund goes, on the order's network.
        #[arg(long)]
        address: String,
        /// How much, in the coin (e.g. 10.5); at most what the order received, less earlier refunds.
        #[arg(long)]
        amount: String,
        /// Print the refund as JSON.
        #[arg(long)]
        json: bool,
    },
}

/// A withdrawal's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum WithdrawalStatusArg {
    Pending,
    Processing,
    Successful,
    Failed,
}

impl From<WithdrawalStatusArg> for ccgate_store::WithdrawalStatus {
    fn from(status: WithdrawalStatusArg) -> Self {
        use ccgate_store::WithdrawalStatus;
        match status {
            WithdrawalStatusArg::Pending => WithdrawalStatus::Pending,
            WithdrawalStatusArg::Processing => WithdrawalStatus::Processing,
            WithdrawalStatusArg::Successful => WithdrawalStatus::Successful,
            WithdrawalStatusArg::Failed => WithdrawalStatus::Failed,
        }
    }
}

#[derive(Debug, Subcommand)]
enum WithdrawalCommand {
    /// Withdrawals and refunds, newest first.
    List {
        #[command(flatten)]
        listing: ListingArgs,
        /// Only withdrawals in this state (pending: reserved, not sent;
        /// processing: sent, confirming).
        #[arg(long, value_enum)]
        status: Option<WithdrawalStatusArg>,
    },
    /// Let a withdrawal waiting for approval be sent.
    Approve {
        /// The withdrawal's order id (as `withdrawal list` shows it).
        #[arg(long)]
        order_id: String,
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Refuse a withdrawal waiting for approval: its amount goes back to the
    /// merchant's balance, and the merchant is notified.
    Reject {
        /// The withdrawal's order id (as `withdrawal list` shows it).
        #[arg(long)]
        order_id: String,
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
enum WebhooksCommand {
    /// Webhooks, newest first.
    List {
        /// Only this merchant's (its Appid).
        #[arg(long)]
        app_id: Option<String>,
        /// At most this many, the newest.
        #[arg(long, default_value_t = 50)]
        limit: u32,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// One webhook with its body and every delivery attempt.
    Show {
        /// The webhook's id, from `webhooks list`.
        id: i64,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Send a signed test webhook to the merchant's webhook URL now and print
    /// what the receiver answered. The body is
    /// `{"type":"ping","msg":{"app_id":"…","sent_at":<unix seconds>}}`,
    /// signed like every webhook (Appid, Timestamp, Sign headers); it is not
    /// stored in the outbox nor retried. Exits 1 unless acknowledged (HTTP 200
    /// with "success" in the body).
    Ping {
        /// The merchant's Appid.
        #[arg(long)]
        app_id: String,
        /// As `serve --allow-private-webhooks`: with live money, let the ping
        /// reach loopback and private addresses (also the config file's
        /// `allow_private_webhooks`).
        #[arg(long, env = "CCGATE_ALLOW_PRIVATE_WEBHOOKS")]
        allow_private_webhooks: bool,
        /// Print the outcome as JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
enum LedgerCommand {
    /// Credit (positive amount) or debit (negative) a merchant against the operator's adjustments account.
    Adjust {
        #[arg(long)]
        app_id: String,
        /// Coin symbol (USDT), coin id or token id.
        #[arg(long)]
        coin: String,
        /// Decimal amount, e.g. 12.5 or -0.001.
        #[arg(long, allow_hyphen_values = true)]
        amount: String,
        /// Why; kept in the journal.
        #[arg(long)]
        reason: String,
        #[arg(long)]
        json: bool,
    },
    /// A merchant's balances per coin.
    Balances {
        #[arg(long)]
        app_id: String,
        #[arg(long)]
        json: bool,
    },
    /// The operator's side of the books per coin: custody per chain, fees
    /// earned, network costs (gas), manual adjustments.
    Accounts {
        #[arg(long)]
        json: bool,
    },
    /// Replay the whole journal and compare it with the stored balances.
    Verify,
}

#[derive(Debug, Subcommand)]
enum BenchCommand {
    /// Signed `assets` calls against the real server vs a bare axum route, same machine, same run.
    Assets(commands::bench::BenchArgs),
    /// Deposits credited per second (vs plain journal postings) and deposit-to-webhook latency.
    Deposits(commands::bench_deposits::DepositBenchArgs),
    /// Withdrawals accepted per second through the server, with the race invariants checked.
    Withdrawals(commands::bench_withdrawals::WithdrawalBenchArgs),
    /// Durable ledger postings per second (group commit) on SQLite and PostgreSQL, vs pgbench.
    Ledger(commands::bench_ledger::LedgerBenchArgs),
    /// On a ganache node: deposit-to-webhook latency after the confirming block.
    Evm(commands::bench_evm::EvmBenchArgs),
    /// EVM sweeper: node calls per tick with many credited addresses, vs the old every-address read.
    Sweeps(commands::bench_sweeps::SweepBenchArgs),
    /// bill/create, payment/address/get and withdraw vs a bare route and journal postings; SQL per request.
    Writes(commands::bench_writes::WritesBenchArgs),
    /// Webhook deliveries per second to a fast local receiver vs a bare HTTP client loop.
    Webhooks(commands::bench_webhooks::WebhookBenchArgs),
    /// What /metrics reads from the database, empty and after many deposits: flat or not.
    Scrape(commands::bench_scrape::ScrapeBenchArgs),
    /// Request latency and `/metrics` on a database with a long history vs an empty one.
    Scale(commands::bench_scale::ScaleBenchArgs),
    /// Every bench in one run, then one line per figure (`--quick`: each at a small scale).
    All(commands::bench_all::AllBenchArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // A bench would otherwise print a log line per request it makes.
    let quiet = matches!(cli.command, Command::Bench(_));
    let count_statements = matches!(
        cli.command,
        Command::Bench(BenchCommand::Writes(_) | BenchCommand::All(_))
    );
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

/// `ccgate bench …`: each runs in a scratch database of its own.
/// Runs one bench (each prints as it goes; `all` ends with its figures).
async fn bench(command: &BenchCommand) -> anyhow::Result<()> {
    match command {
        BenchCommand::Assets(args) => commands::bench::assets(args).await,
        BenchCommand::Deposits(args) => commands::bench_deposits::deposits(args).await,
        BenchCommand::Evm(args) => commands::bench_evm::evm(args).await,
        BenchCommand::Withdrawals(args) => commands::bench_withdrawals::withdrawals(args).await,
        BenchCommand::Ledger(args) => commands::bench_ledger::ledger(args).await,
        BenchCommand::Sweeps(args) => commands::bench_sweeps::sweeps(args).await,
        BenchCommand::Writes(args) => commands::bench_writes::writes(args).await,
        BenchCommand::Webhooks(args) => commands::bench_webhooks::webhooks(args).await,
        BenchCommand::Scrape(args) => commands::bench_scrape::scrape(args).await,
        BenchCommand::Scale(args) => commands::bench_scale::scale(args).await,
        BenchCommand::All(args) => commands::bench_all::all(args).await,
    }
    .map(drop)
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match &cli.command {
        Command::Bench(command) => {
            bench(command).await?;
            return Ok(ExitCode::SUCCESS);
        }
        Command::Call(args) => return commands::call::run(args).await,
        _ => {}
    }
    let settings = config::Settings::load(cli.config.as_deref())?;
    if let Command::Coins(CoinsCommand::List { json }) = cli.command {
        commands::coins::list(&settings, json);
        return Ok(ExitCode::SUCCESS);
    }
    let data_dir = data_dir::DataDir::resolve(cli.data_dir)?;
    let database = cli.database;
    match cli.command {
        Command::Serve(args) => {
            commands::serve::run(&data_dir, &database, &settings, args).await?;
            return Ok(ExitCode::SUCCESS);
        }
        Command::Backup { to } => {
            commands::ops::backup(&data_dir, &database, &to).await?;
            return Ok(ExitCode::SUCCESS);
        }
        Command::Migrate => {
            commands::ops::migrate(&data_dir, &database).await?;
            return Ok(ExitCode::SUCCESS);
        }
        Command::Doctor => return commands::ops::doctor(&data_dir, &database, &settings).await,
        Command::Listen(args) => {
            let api = commands::sandbox::AdminApi::locate(&data_dir, args.admin_url.as_deref())?;
            commands::listen::run(&api, &args.app_id, &args.forward_to).await?;
            return Ok(ExitCode::SUCCESS);
        }
        Command::Sandbox(args) => {
            let api = commands::sandbox::AdminApi::locate(&data_dir, args.admin_url.as_deref())?;
            match args.command {
                SandboxCommand::Clock(clock) => {
                    let (action, json) = match clock {
                        ClockCommand::Show { json } => (commands::sandbox::ClockAction::Show, json),
                        ClockCommand::Advance { by, json } => {
                            (commands::sandbox::ClockAction::Advance(by), json)
                        }
                        ClockCommand::Freeze { json } => {
                            (commands::sandbox::ClockAction::Freeze, json)
                        }
                        ClockCommand::Resume { json } => {
                            (commands::sandbox::ClockAction::Resume, json)
                        }
                    };
                    commands::sandbox::clock(&api, action, json).await?;
                }
                SandboxCommand::Webhooks(SandboxWebhooksCommand::Fault {
                    app_id,
                    faults,
                    count,
                    seed,
                    json,
                }) => {
                    let request = commands::sandbox::FaultRequest {
                        app_id,
                        faults,
                        count,
                        seed,
                    };
                    commands::sandbox::webhooks_fault(&api, request, json).await?;
                }
                SandboxCommand::Webhooks(SandboxWebhooksCommand::Clear { app_id, json }) => {
                    commands::sandbox::webhooks_clear(&api, &app_id, json).await?;
                }
                SandboxCommand::Snapshot(command) => {
                    use commands::sandbox::SnapshotAction;
                    let (action, json) = match command {
                        SnapshotCommand::Save { name, json } => (SnapshotAction::Save(name), json),
                        SnapshotCommand::Restore { name, json } => {
                            (SnapshotAction::Restore(name), json)
                        }
                        SnapshotCommand::List { json } => (SnapshotAction::List, json),
                        SnapshotCommand::Delete { name, json } => {
                            (SnapshotAction::Delete(name), json)
                        }
                    };
                    commands::sandbox::snapshot(&api, action, json).await?;
                }
            }
            return Ok(ExitCode::SUCCESS);
        }
        Command::Trigger(args) => {
            let api = commands::sandbox::AdminApi::locate(&data_dir, args.admin_url.as_deref())?;
            match (args.list, args.name, args.app_id) {
                (false, Some(name), Some(app_id)) => {
                    let request = commands::sandbox::TriggerCall {
                        name,
                        app_id,
                        merchant_order_id: args.merchant_order_id,
                        token_id: args.token_id,
                        dialect: args.dialect,
                    };
                    commands::sandbox::trigger(&api, &request, args.json).await?;
                }
                _ => commands::sandbox::list_triggers(&api, args.json).await?,
            }
            return Ok(ExitCode::SUCCESS);
        }
        _ => {}
    }
    let database = backend::Database::open(&data_dir, &database).await?;
    let outcome = operate(&database, &settings, cli.command).await;
    database.close().await;
    outcome
}

/// The operator commands, on whichever database `--database-url` chose.
async fn operate(
    database: &backend::Database,
    settings: &config::Settings,
    command: Command,
) -> anyhow::Result<ExitCode> {
    match command {
        Command::Merchant(command) => commands::merchant::run(database, command).await?,
        Command::Webhooks(WebhooksCommand::List {
            app_id,
            limit,
            json,
        }) => {
            commands::webhooks::list(database, app_id.as_deref(), limit, json).await?;
        }
        Command::Webhooks(WebhooksCommand::Show { id, json }) => {
            commands::webhooks::show(database, id, json).await?;
        }
        Command::Webhooks(WebhooksCommand::Ping {
            app_id,
            allow_private_webhooks,
            json,
        }) => {
            let policy = ccgate_engine::outbound::OutboundPolicy::new(
                settings.mode.is_live(),
                allow_private_webhooks || settings.allow_private_webhooks,
                Vec::new(),
            );
            return commands::webhooks::ping(database, &app_id, policy, json).await;
        }
        Command::Order(OrderCommand::List { listing, status }) => {
            let (filters, format) = listing.split();
            commands::listing::orders(
                database,
                &settings.registry,
                &filters,
                status.map(Into::into),
                format,
            )
            .await?;
        }
        Command::Withdrawal(WithdrawalCommand::List { listing, status }) => {
            let (filters, format) = listing.split();
            commands::listing::withdrawals(
                database,
                &settings.registry,
                &filters,
                status.map(Into::into),
                format,
            )
            .await?;
        }
        Command::Withdrawal(WithdrawalCommand::Approve { order_id, json }) => {
            commands::withdrawal::approve(database, settings, &order_id, json).await?;
        }
        Command::Withdrawal(WithdrawalCommand::Reject { order_id, json }) => {
            commands::withdrawal::reject(database, settings, &order_id, json).await?;
        }
        Command::Order(OrderCommand::Refund {
            app_id,
            merchant_order_id,
            address,
            amount,
            json,
        }) => {
            let request = commands::order::RefundRequest {
                app_id,
                merchant_order_id,
                address,
                amount,
                json,
            };
            commands::order::refund(database, settings, request).await?;
        }
        Command::Ledger(command) => {
            return commands::ledger::run(database, &settings.registry, command).await;
        }
        Command::Devnet(DevnetCommand::FailNextWithdrawal { chain, count }) => {
            commands::devnet::fail_next_withdrawal(database, settings, &chain, count).await?;
        }
        Command::Devnet(DevnetCommand::Mine { chain, blocks }) => {
            commands::devnet::mine(database, settings, &chain, blocks).await?;
        }
        Command::Devnet(DevnetCommand::Reorg {
            chain,
            depth,
            drop,
            replace,
            force,
            json,
        }) => {
            let mode = match drop {
                Some(txid) => ccgate_engine::deposits::ReorgMode::Drop(txid),
                None if replace => ccgate_engine::deposits::ReorgMode::Replace,
                None => ccgate_engine::deposits::ReorgMode::Move,
            };
            let request = ccgate_engine::deposits::ReorgRequest {
                chain,
                depth,
                mode,
                force,
            };
            commands::devnet::reorg(database, settings, &request, json).await?;
        }
        Command::Devnet(DevnetCommand::Pay {
            to,
            token_id,
            amount,
            from,
            memo,
            json,
        }) => {
            let request = ccgate_engine::devnet::PayRequest {
                to,
                token_id,
                amount,
                from,
                memo,
            };
            commands::devnet::pay(database, settings, request, json).await?;
        }
        Command::Evm(EvmCommand::HotWallet { json }) => {
            commands::evm::hot_wallet(database, json).await?;
        }
        Command::Evm(EvmCommand::Sweeps { json }) => {
            commands::evm::sweeps(database, settings, json).await?;
        }
        Command::Evm(EvmCommand::Payouts { json }) => {
            commands::evm::payouts(database, settings, json).await?;
        }
        Command::Evm(EvmCommand::Rescan { chain, txid, json }) => {
            commands::evm::rescan(database, settings, &chain, &txid, json).await?;
        }
        Command::Cwallet(CwalletCommand::Create { nickname, json }) => {
            commands::cwallet::create(database, &nickname, json).await?;
        }
        Command::Serve(_)
        | Command::Backup { .. }
        | Command::Migrate
        | Command::Doctor
        | Command::Coins(_)
        | Command::Bench(_)
        | Command::Call(_)
        | Command::Listen(_)
        | Command::Sandbox(_)
        | Command::Trigger(_) => {}
    }
    Ok(ExitCode::SUCCESS)
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
