use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use ccgate_chain::ChainAdapter;
use ccgate_engine::Loops;
use ccgate_engine::addresses::load_deposit_seed;
use ccgate_engine::assemble::{Assembly, Parts, build_services};
use ccgate_engine::clock::Clock;
use ccgate_engine::mode::{Mode, simulated_credits_in_live_coins};
use ccgate_engine::outbound::OutboundPolicy;
use ccgate_engine::payouts::Payouts;
use ccgate_engine::reconcile::Reconciler;
use ccgate_engine::sandbox::Sandbox;
use ccgate_engine::sweeps::Sweeper;
use ccgate_engine::triggers::Triggers;
use ccgate_engine::webhooks::DeliveryConfig;
use ccgate_ledger::MerchantId;
use ccgate_pricefeed::{HttpPriceFeed, PriceSource, StaticPrices};
use ccgate_server::{
    AdminAccess, AppState, ConnectionLimits, ServerConfig, Services, SystemClock, TrustedProxies,
};
use ccgate_store::{CachingStore, Store, generate_app_id, generate_app_secret};
use clap::Args;
use secrecy::{ExposeSecret, SecretString};

use super::{Globals, background, unix_now};
use crate::backend::{Backend, Database, DatabaseArgs};
use crate::config::{DEVNET_COIN_SUFFIX, Settings};
use crate::data_dir::{ADMIN_URL_FILE, DataDir, write_private};

pub const CACHE_TTL_MS_DEFAULT: u64 = 1_000;
/// In the data directory: the sandbox's snapshots, `NAME.db` each.
const SNAPSHOTS_DIR: &str = "snapshots";

#[derive(Debug, Args)]
pub struct ServeArgs {
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
    #[arg(long, env = "CCGATE_CACHE_TTL_MS", default_value_t = CACHE_TTL_MS_DEFAULT)]
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
    /// instances) while others' wait: all one slow receiver can hold up
    /// under contention (alone, a merchant may use more of the free slots).
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

pub async fn run(globals: Globals, args: ServeArgs) -> anyhow::Result<ExitCode> {
    let located = globals.locate()?;
    serve(
        &located.data_dir,
        &located.database,
        &located.settings,
        args,
    )
    .await?;
    Ok(ExitCode::SUCCESS)
}

/// The state `serve` runs with; `bench` builds the same. A live price feed
/// starts refreshing here, in the background.
pub async fn app_state<B: Backend>(
    store: Arc<CachingStore<B>>,
    settings: &Settings,
    config: ServerConfig,
    address_quota: u64,
    clock: Arc<dyn Clock>,
) -> anyhow::Result<(Services, Assembly)> {
    let prices: Arc<dyn PriceSource> = match &settings.price_feed {
        Some(feed) => {
            let feed = Arc::new(HttpPriceFeed::new(feed.clone())?);
            Arc::clone(&feed).spawn_refresher(ccgate_pricefeed::system_clock_ms);
            feed
        }
        None => Arc::new(StaticPrices::new(settings.prices.clone())),
    };
    let parts = Parts {
        registry: settings.registry.clone(),
        prices,
        fiat_rates: settings.fiat_rates.clone(),
        evm: settings.evm.clone(),
        address_quota,
        swap: settings.swap,
    };
    let assembly = build_services(store, parts)
        .await
        .context("set up the engine's services")?;
    let services = Services::new(assembly.services.clone(), clock, config);
    Ok((services, assembly))
}

/// The state a bench serves: `serve`'s, with the rate limit off, no cap
/// of connections per source address (every bench client is on
/// 127.0.0.1, as if behind one proxy), and the real clock.
pub async fn bench_state<B: Backend>(
    store: Arc<CachingStore<B>>,
    settings: &Settings,
    address_quota: u64,
) -> anyhow::Result<(AppState, Assembly)> {
    let defaults = ServerConfig::default();
    let config = ServerConfig {
        rate_limit_per_sec: None,
        connections: ccgate_server::ConnectionLimits {
            connections_per_ip_max: defaults.connections.connections_max,
            ..defaults.connections.clone()
        },
        ..defaults
    };
    let (services, assembly) = app_state(
        store,
        settings,
        config,
        address_quota,
        Arc::new(SystemClock),
    )
    .await?;
    Ok((AppState::new(services), assembly))
}

async fn serve(
    data_dir: &DataDir,
    database: &DatabaseArgs,
    settings: &Settings,
    args: ServeArgs,
) -> anyhow::Result<()> {
    for loose in data_dir.loose_permissions() {
        eprintln!("WARNING: {loose}");
        tracing::warn!("{loose}");
    }
    let location = Database::describe(data_dir, database);
    // Read (or made) before anything starts, so a bad one stops `serve` at once.
    let admin_token = if args.no_admin {
        None
    } else {
        Some(data_dir.admin_token_or_create()?)
    };
    let snapshots_dir = data_dir.path().join(SNAPSHOTS_DIR);
    match Database::open(data_dir, database).await? {
        Database::Sqlite(backend) => {
            run_with(
                backend,
                &location,
                data_dir,
                admin_token,
                snapshots_dir,
                settings,
                args,
            )
            .await
        }
        Database::Postgres(backend) => {
            run_with(
                backend,
                &location,
                data_dir,
                admin_token,
                snapshots_dir,
                settings,
                args,
            )
            .await
        }
    }
}

/// `serve` on any backend; `location` says where its data is, for people.
async fn run_with<B: Backend>(
    backend: B,
    location: &str,
    data_dir: &DataDir,
    admin_token: Option<SecretString>,
    snapshots_dir: PathBuf,
    settings: &Settings,
    args: ServeArgs,
) -> anyhow::Result<()> {
    announce_mode(settings);
    if settings.mode.is_live() {
        if args.sandbox {
            anyhow::bail!(
                "--sandbox refused: this configuration is live (a chain follows a node, or \
                 mode = \"live\"), and a sandbox's virtual clock and devnet controls have no \
                 place beside real money"
            );
        }
        refuse_simulated_credits(&backend, settings).await?;
    }
    let sandbox = args.sandbox || settings.sandbox;
    // One virtual clock in sandbox mode: the state's time and the controls'.
    let virtual_clock = if sandbox {
        Some(Sandbox::load_clock(&backend).await?)
    } else {
        if backend.sandbox_clock().await?.is_some() {
            anyhow::bail!(
                "this database's business clock was moved by the sandbox, so its data only makes \
                 sense on that clock: serve it with --sandbox (or use a fresh data directory)"
            );
        }
        None
    };
    let clock: Arc<dyn Clock> = match &virtual_clock {
        Some(virtual_clock) => virtual_clock.clone(),
        None => Arc::new(SystemClock),
    };
    let store = Arc::new(CachingStore::new(
        backend,
        Duration::from_millis(args.cache_ttl_ms),
    ));
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("listen on {}", args.listen))?;
    let address = listener.local_addr()?;
    let base_url = format!("http://{address}");

    let merchants = store.list_merchants().await?;
    // A live gateway gets its merchants from its operator, never a demo one
    // whose secret went to a terminal.
    if merchants.is_empty() && !settings.mode.is_live() {
        let app_id = MerchantId::new(generate_app_id(unix_now()));
        let secret = generate_app_secret();
        store
            .create_merchant(&app_id, &secret, "demo", unix_now(), None)
            .await?;
        println!(
            "Created a demo merchant (its secret is shown only now; `ccgate merchant rotate-secret` issues a new one):"
        );
        println!("  Appid:     {app_id}");
        println!("  AppSecret: {}", secret.expose_secret());
        println!("  Base URL:  {base_url}");
    } else {
        println!(
            "{} merchant(s) in {} (`ccgate merchant list`)",
            merchants.len(),
            location
        );
    }

    let config = ServerConfig {
        body_limit_bytes: args.body_limit_bytes,
        rate_limit_per_sec: (!args.no_rate_limit).then_some(args.rate_limit_per_sec),
        public_url: args.public_url.clone().unwrap_or_else(|| base_url.clone()),
        resend_per_minute: args.resend_per_minute,
        resend_per_day: args.resend_per_day,
        mode: settings.mode,
        connections: ConnectionLimits {
            header_read_timeout: Duration::from_millis(args.header_read_timeout_ms),
            idle_timeout: Duration::from_millis(args.idle_timeout_ms),
            connections_max: args.connections_max,
            connections_per_ip_max: args.connections_per_ip_max,
        },
        trusted_proxies: TrustedProxies::new(args.trusted_proxies.clone()),
    };
    let (mut services, assembly) = app_state(
        store.clone(),
        settings,
        config,
        args.address_quota,
        Arc::clone(&clock),
    )
    .await?;
    let delivery = DeliveryConfig {
        retry_after_first_ms: args.webhook_retry_ms.clone(),
        timeout_ms: args.webhook_timeout_ms,
        deliveries_per_merchant_max: args.webhook_deliveries_per_merchant_max,
        deliveries_max: args.webhook_deliveries_max,
    };
    // Bound before delivery starts: webhooks must never reach either listener.
    let admin = match admin_token {
        None => None,
        Some(token) => {
            if !args.admin_listen.ip().is_loopback() {
                anyhow::bail!(
                    "--admin-listen {} is not a loopback address; the admin API serves this \
                     machine only (reach it from another through an SSH tunnel)",
                    args.admin_listen
                );
            }
            let admin = tokio::net::TcpListener::bind(args.admin_listen)
                .await
                .with_context(|| format!("listen on {} for the admin API", args.admin_listen))?;
            Some((admin, token))
        }
    };
    let mut own_listeners = vec![address];
    if let Some((admin, _)) = &admin {
        own_listeners.push(admin.local_addr()?);
    }
    let live = settings.mode.is_live();
    let allow_private_webhooks = args.allow_private_webhooks || settings.allow_private_webhooks;
    if live && allow_private_webhooks {
        tracing::warn!(
            "allow_private_webhooks is on with live money: merchants' webhooks may reach loopback \
             and private addresses"
        );
    }
    let outbound = OutboundPolicy::new(live, allow_private_webhooks, own_listeners);
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let mut loops = background::loops(
        &assembly,
        store.backend(),
        delivery,
        outbound,
        stopped.clone(),
    )?;
    let gate = if let Some(virtual_clock) = virtual_clock {
        // Faults are the sandbox's alone: a production sender never looks one up.
        loops.sender = loops
            .sender
            .inject_faults_from(Arc::new(store.backend().clone()));
        let controls = Arc::new(
            Sandbox::new(
                virtual_clock,
                Arc::new(store.backend().clone()),
                Arc::new(store.backend().clone()),
                Arc::clone(&assembly.chains),
                loops.clone(),
            )
            .with_snapshots(
                snapshots_dir,
                Arc::new(store.backend().clone()),
                Arc::clone(&assembly.store),
            ),
        );
        let gate = controls.gate();
        let backend = Arc::new(store.backend().clone());
        services.triggers = Some(Arc::new(Triggers {
            registry: Arc::clone(&services.registry),
            chains: Arc::clone(&assembly.chains),
            orders: Arc::clone(&services.orders),
            addresses: Arc::clone(&services.addresses),
            withdrawals: Arc::clone(&services.withdrawals),
            batch_withdrawals: Arc::clone(&services.batch_withdrawals),
            store: Arc::clone(&assembly.store),
            order_store: backend.clone(),
            devnet: backend.clone(),
            deposit_records: backend.clone(),
            outbox: backend.clone(),
            withdrawal_store: backend,
            swaps: Arc::clone(&services.swaps),
            wallets: Arc::clone(&services.wallets),
            clock: Arc::clone(&services.clock),
            sandbox: Arc::clone(&controls),
        }));
        services.sandbox = Some(controls);
        println!(
            "SANDBOX MODE: business time is virtual (`ccgate sandbox clock show`) and the sandbox \
             controls are on the admin API; nothing here moves real money"
        );
        Some(gate)
    } else {
        None
    };
    services.reconcilers = reconcilers(&assembly, store.backend(), &loops).await?;
    services.webhook_sender = Some(loops.sender.clone());
    let state = AppState::new(services);
    // Sweeping signs with deposit addresses' keys: the seed is read here, for
    // the chains with a node only.
    let sweepers = if assembly.chains.evm_chains().next().is_some() {
        let seed = Arc::new(
            load_deposit_seed(store.backend())
                .await
                .context("load the deposit seed")?,
        );
        let sweeps = Arc::new(store.backend().clone());
        assembly
            .chains
            .evm_chains()
            .map(|chain| {
                Sweeper::new(
                    Arc::clone(chain),
                    Arc::clone(&seed),
                    sweeps.clone(),
                    Payouts::new(sweeps.clone()),
                )
            })
            .collect()
    } else {
        Vec::new()
    };
    let heads: Vec<_> = assembly.chains.evm_chains().cloned().collect();
    let mut loops = background::spawn(
        &loops,
        &sweepers,
        &state.reconcilers,
        &heads,
        &state.clock,
        &stopped,
        gate,
    );
    loops.push(background::purge_console(
        Arc::clone(&state.console),
        &stopped,
    ));
    let admin_url_file = data_dir.path().join(ADMIN_URL_FILE);
    if let Some((admin, token)) = admin {
        let admin_address = admin.local_addr()?;
        let admin_url = format!("http://{admin_address}");
        println!("ccgate admin listening on {admin_url}");
        // Where `ccgate sandbox …` and `ccgate listen` find this server.
        write_private(&admin_url_file, admin_url.as_bytes())
            .with_context(|| format!("write {}", admin_url_file.display()))?;
        let access = AdminAccess::new(token, admin_address, &args.admin_hosts);
        let router = ccgate_server::admin_router(state.clone(), access);
        let limits = state.config.connections.clone();
        let mut stopped = stop.subscribe();
        // Only loopback clients reach it, so no proxy is trusted.
        tokio::spawn(async move {
            let shutdown = async move {
                let _ = stopped.changed().await;
            };
            ccgate_server::serve_router(
                admin,
                router,
                &limits,
                &TrustedProxies::default(),
                shutdown,
            )
            .await;
        });
    }
    let shutdown = shutdown_signal().context("install the signal handlers")?;
    // Scripts and tests wait for this exact line.
    println!("ccgate listening on {base_url}");
    tracing::info!(%address, data = %location, trusted_proxies = ?state.config.trusted_proxies.nets(), "serve");
    ccgate_server::serve(listener, state, shutdown).await;
    let _ = stop.send(true);
    for task in loops {
        let _ = task.await;
    }
    if !args.no_admin {
        let _ = std::fs::remove_file(&admin_url_file);
    }
    Backend::close(store.backend()).await;
    tracing::info!("stopped");
    Ok(())
}

/// The first lines `serve` prints: which kind of money it moves, and where.
/// Per EVM chain, its balance reconciliation (crediting through the deposit
/// watcher's path); says how each chain sees native coin moved by contracts.
async fn reconcilers<B: Backend>(
    assembly: &Assembly,
    backend: &B,
    loops: &Loops,
) -> anyhow::Result<Vec<Reconciler>> {
    let backend = Arc::new(backend.clone());
    let mut reconcilers = Vec::new();
    for chain in assembly.chains.evm_chains() {
        let config = chain.config();
        let code = &chain.chain().code;
        let reconciliation = if config.reconcile_addresses_per_tick == 0 {
            "off".to_owned()
        } else {
            format!(
                "up to {} addresses every {} s",
                config.reconcile_addresses_per_tick,
                config.reconcile_interval_ms / 1000
            )
        };
        match chain.block_trace_api().await {
            Ok(Some(api)) => println!(
                "EVM chain {code}: internal transfers from {api:?} traces of every block;                  balance reconciliation {reconciliation}"
            ),
            Ok(None) => println!(
                "EVM chain {code}: the node traces no whole blocks (or traces = \"off\"): internal                  transfers are found by balance reconciliation, {reconciliation}"
            ),
            // The node may come up later: the scan asks again when it needs to.
            Err(err) => {
                tracing::warn!(chain = %code, error = %err, "could not ask the node what it traces")
            }
        }
        reconcilers.push(Reconciler::new(
            Arc::clone(chain),
            Arc::clone(&loops.watcher),
            backend.clone(),
            backend.clone(),
            backend.clone(),
        ));
    }
    Ok(reconcilers)
}

fn announce_mode(settings: &Settings) {
    let prices = if settings.price_feed.is_some() {
        "from the live price feed"
    } else {
        "static (the built-in table and the configuration file)"
    };
    let devnets: Vec<&str> = settings
        .devnet_chains()
        .map(|chain| chain.code.as_str())
        .collect();
    match settings.mode {
        Mode::Simulated => {
            println!(
                "SIMULATED MODE: every chain is simulated (devnet: {}), prices are {prices}; \
                 nothing here moves real money",
                devnets.join(", ")
            );
        }
        Mode::Live { devnet_beside_live } => {
            println!(
                "LIVE MODE: real money on {}; prices are {prices}",
                settings.live_chains_text()
            );
            if !settings.disabled_chains.is_empty() {
                let disabled: Vec<&str> = settings
                    .disabled_chains
                    .iter()
                    .map(|code| code.as_str())
                    .collect();
                println!("  disabled (no node follows them): {}", disabled.join(", "));
            }
            if devnet_beside_live {
                let warning = format!(
                    "allow_devnet_beside_live: simulated chains {} run beside real money; their \
                     tokens are separate *{DEVNET_COIN_SUFFIX} coins that no live chain pays out",
                    devnets.join(", ")
                );
                println!("WARNING: {warning}");
                tracing::warn!("{warning}");
            }
        }
    }
}

/// A live gateway does not start on a database whose simulated credits sit
/// in the balances its live chains pay out (docs/decisions.md §1).
async fn refuse_simulated_credits<B: Backend>(
    backend: &B,
    settings: &Settings,
) -> anyhow::Result<()> {
    let credited = backend
        .credited_deposits()
        .await
        .context("read the credited deposits")?;
    let live: BTreeSet<String> = settings.evm.keys().cloned().collect();
    let simulated = simulated_credits_in_live_coins(&settings.registry, &live, &credited);
    if simulated.is_empty() {
        return Ok(());
    }
    let described: Vec<String> = simulated
        .iter()
        .map(|credit| {
            let coin = settings
                .registry
                .resolve_coin(&credit.coin_id)
                .map_or(credit.coin_id.as_str(), |coin| coin.symbol.as_str());
            format!("{} {coin} on {}", credit.count, credit.chain)
        })
        .collect();
    anyhow::bail!(
        "refusing to serve live: this database holds simulated (devnet) deposits credited to \
         coins that a live chain pays out ({}), so fake money would be spendable as real; run \
         live on a fresh data directory (or a new database)",
        described.join(", ")
    )
}

/// Ctrl-C or SIGTERM: stop accepting, finish requests in flight, close the
/// database. The handlers are registered before the ready line is printed, so a
/// signal sent right after it is never lost to the default action.
#[cfg(unix)]
fn shutdown_signal() -> std::io::Result<impl std::future::Future<Output = ()> + Send + 'static> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut terminate = signal(SignalKind::terminate())?;
    Ok(async move {
        tokio::select! {
            _ = interrupt.recv() => {},
            _ = terminate.recv() => {},
        }
        tracing::info!("shutting down");
    })
}

#[cfg(not(unix))]
fn shutdown_signal() -> std::io::Result<impl std::future::Future<Output = ()> + Send + 'static> {
    Ok(async {
        let _ = tokio::signal::ctrl_c().await;
        tracing::info!("shutting down");
    })
}
