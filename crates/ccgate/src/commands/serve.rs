use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use ccgate_chain::keys::evm_hot_wallet_key;
use ccgate_chain::{ChainAdapter, ChainSet, HotWallet, Sweeper};
use ccgate_engine::Loops;
use ccgate_engine::addresses::{AddressBook, load_deposit_seed};
use ccgate_engine::clock::Clock;
use ccgate_engine::merchants::Merchants;
use ccgate_engine::mode::{Mode, simulated_credits_in_live_coins};
use ccgate_engine::network::Network;
use ccgate_engine::orders::Orders;
use ccgate_engine::outbound::OutboundPolicy;
use ccgate_engine::reconcile::Reconciler;
use ccgate_engine::records::Records;
use ccgate_engine::sandbox::Sandbox;
use ccgate_engine::triggers::Triggers;
use ccgate_engine::webhooks::{DeliveryConfig, WebhookFeed};
use ccgate_engine::withdrawals::Withdrawals;
use ccgate_ledger::MerchantId;
use ccgate_pricefeed::{HttpPriceFeed, PriceSource, StaticPrices};
use ccgate_server::{
    AdminAccess, AppState, ConnectionLimits, Metrics, ServerConfig, Services, SystemClock,
    TrustedProxies,
};
use ccgate_store::{CachingStore, Store, generate_app_id, generate_app_secret};
use secrecy::{ExposeSecret, SecretString};

use super::{background, unix_now};
use crate::ServeArgs;
use crate::backend::{Backend, Database, DatabaseArgs};
use crate::config::{DEVNET_COIN_SUFFIX, Settings};
use crate::data_dir::{ADMIN_URL_FILE, DataDir, write_private};

pub const CACHE_TTL_MS_DEFAULT: u64 = 1_000;
/// In the data directory: the sandbox's snapshots, `NAME.db` each.
const SNAPSHOTS_DIR: &str = "snapshots";

/// What the background loops run on beside the handlers' services: the
/// chains and the ledger store behind its read cache, which handlers reach
/// only through the engine.
#[derive(Debug, Clone)]
pub struct Parts {
    pub chains: Arc<ChainSet>,
    pub store: Arc<dyn Store>,
}

/// The state `serve` runs with; `bench` builds the same. A live price feed
/// starts refreshing here, in the background.
pub async fn app_state<B: Backend>(
    store: Arc<CachingStore<B>>,
    settings: &Settings,
    config: ServerConfig,
    address_quota: u64,
    clock: Arc<dyn Clock>,
) -> anyhow::Result<(Services, Parts)> {
    let prices: Arc<dyn PriceSource> = match &settings.price_feed {
        Some(feed) => {
            let feed = Arc::new(HttpPriceFeed::new(feed.clone())?);
            Arc::clone(&feed).spawn_refresher(ccgate_pricefeed::system_clock_ms);
            feed
        }
        None => Arc::new(StaticPrices::new(settings.prices.clone())),
    };
    let registry = Arc::new(settings.registry.clone());
    let backend = Arc::new(store.backend().clone());
    let seed = load_deposit_seed(backend.as_ref())
        .await
        .context("load the deposit seed")?;
    let hot_wallet = HotWallet::new(&evm_hot_wallet_key(&seed)?, backend.clone())?;
    let chains = Arc::new(
        ChainSet::new(
            &registry,
            store.clone(),
            backend.clone(),
            &settings.evm,
            Some(hot_wallet),
        )
        .context("set up the chains")?,
    );
    let addresses = Arc::new(AddressBook::from_seed(
        &seed,
        backend.clone(),
        address_quota,
    )?);
    let orders = Arc::new(Orders::new(
        Arc::clone(&prices),
        Arc::new(settings.fiat_rates.clone()),
        Arc::clone(&addresses),
        backend.clone(),
        backend.clone(),
    ));
    let withdrawals = Arc::new(Withdrawals::new(
        Arc::clone(&registry),
        Arc::clone(&chains),
        Arc::clone(&prices),
        store.clone(),
        backend.clone(),
        backend.clone(),
    ));
    let merchants = Arc::new(Merchants::new(
        Arc::clone(&registry),
        store.clone(),
        backend.clone(),
    ));
    let records = Arc::new(Records::new(
        Arc::clone(&chains),
        backend.clone(),
        backend.clone(),
        backend.clone(),
    ));
    let network = Arc::new(Network::new(
        Arc::clone(&registry),
        Arc::clone(&chains),
        store.clone(),
        backend.clone(),
        backend,
    ));
    let services = Services {
        registry,
        prices,
        merchants,
        addresses,
        orders,
        withdrawals,
        records,
        network,
        clock,
        config: Arc::new(config),
        metrics: Arc::new(Metrics::default()),
        sandbox: None,
        triggers: None,
        webhook_feed: WebhookFeed::default(),
        reconcilers: Vec::new(),
    };
    Ok((services, Parts { chains, store }))
}

/// The state a bench serves: `serve`'s, with the rate limit off and the
/// real clock.
pub async fn bench_state<B: Backend>(
    store: Arc<CachingStore<B>>,
    settings: &Settings,
    address_quota: u64,
) -> anyhow::Result<(AppState, Parts)> {
    let config = ServerConfig {
        rate_limit_per_sec: None,
        ..ServerConfig::default()
    };
    let (services, parts) = app_state(
        store,
        settings,
        config,
        address_quota,
        Arc::new(SystemClock),
    )
    .await?;
    Ok((AppState::new(services), parts))
}

pub async fn run(
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
            .create_merchant(&app_id, &secret, "demo", unix_now())
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
    let (mut services, parts) = app_state(
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
        &services,
        &parts,
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
                Arc::clone(&parts.chains),
                loops.clone(),
            )
            .with_snapshots(
                snapshots_dir,
                Arc::new(store.backend().clone()),
                Arc::clone(&parts.store),
            ),
        );
        let gate = controls.gate();
        let backend = Arc::new(store.backend().clone());
        services.triggers = Some(Arc::new(Triggers {
            registry: Arc::clone(&services.registry),
            chains: Arc::clone(&parts.chains),
            orders: Arc::clone(&services.orders),
            addresses: Arc::clone(&services.addresses),
            withdrawals: Arc::clone(&services.withdrawals),
            store: Arc::clone(&parts.store),
            deposits: backend.clone(),
            deposit_records: backend.clone(),
            outbox: backend.clone(),
            withdrawal_store: backend,
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
    services.reconcilers = reconcilers(&parts, store.backend(), &loops).await?;
    let state = AppState::new(services);
    // Sweeping signs with deposit addresses' keys: the seed is read here, for
    // the chains with a node only.
    let sweepers = if parts.chains.evm_chains().next().is_some() {
        let seed = Arc::new(
            load_deposit_seed(store.backend())
                .await
                .context("load the deposit seed")?,
        );
        let sweeps = Arc::new(store.backend().clone());
        parts
            .chains
            .evm_chains()
            .map(|chain| Sweeper::new(Arc::clone(chain), Arc::clone(&seed), sweeps.clone()))
            .collect()
    } else {
        Vec::new()
    };
    let heads: Vec<_> = parts.chains.evm_chains().cloned().collect();
    let loops = background::spawn(
        &loops,
        &sweepers,
        &state.reconcilers,
        &heads,
        &state.clock,
        &stopped,
        gate,
    );
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
    parts: &Parts,
    backend: &B,
    loops: &Loops,
) -> anyhow::Result<Vec<Reconciler>> {
    let backend = Arc::new(backend.clone());
    let mut reconcilers = Vec::new();
    for chain in parts.chains.evm_chains() {
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
