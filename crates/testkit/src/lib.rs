//! The in-process engine harness, for tests only (no production crate
//! depends on it; `tidy.rs` keeps it so). [`spawn_engine`] builds the
//! gateway as `serve` does (`ccgate_engine::assemble`'s `build_services`
//! and `build_loops`) over a real SQLite file, serves its API over loopback, and
//! leaves its background loops to the test: [`Engine::tick`] runs each loop's
//! `tick(now)` once, at a time the test chooses. A test that expects nothing
//! to happen ticks first, so the loop is known to have run; no test sleeps.

mod receiver;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use ccgate_api::request::check_merchant_url;
use ccgate_client::{Client, V2Client};
use ccgate_engine::assemble::{Assembly, Parts, build_loops, build_services};
use ccgate_engine::clock::{ClockSetting, VirtualClock, real_now_ms};
use ccgate_engine::devnet::{self, Paid, PayRequest};
use ccgate_engine::outbound::OutboundPolicy;
use ccgate_engine::sandbox::Sandbox;
use ccgate_engine::webhooks::{DeliveryConfig, OutboxBell};
use ccgate_engine::{EngineError, Loops};
use ccgate_ledger::{MerchantId, PriceTable, Registry, builtin_fiat_rates};
use ccgate_pricefeed::StaticPrices;
use ccgate_server::{AppState, ServerConfig, Services};
use ccgate_store::{
    CachingStore, MasterKey, MerchantSettingsStore, SqliteStore, Store, StoreError, WebhookDialect,
    generate_app_id, generate_app_secret,
};
use secrecy::ExposeSecret;
use tokio::sync::watch;

pub use receiver::{Received, Receiver};

/// What can go wrong while the harness sets up or drives the engine.
#[derive(Debug, thiserror::Error)]
pub enum HarnessError {
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error("{0}")]
    Refused(String),
}

/// How the engine is set up; [`EngineOptions::default`] is `serve`'s
/// defaults on the built-in registry, prices and fiat rates.
#[derive(Debug, Clone)]
pub struct EngineOptions {
    /// When failed webhooks are retried, in ms after the first attempt.
    pub webhook_retry_ms: Vec<u64>,
    /// Permanent deposit addresses one merchant may hold.
    pub address_quota: u64,
    /// As `serve --sandbox`: the faults [`Engine::sandbox`] sets apply to
    /// webhook deliveries (a production sender never looks one up).
    pub sandbox: bool,
    /// The `[swap]` section's settings.
    pub swap: ccgate_engine::swaps::SwapSettings,
}

impl Default for EngineOptions {
    fn default() -> EngineOptions {
        EngineOptions {
            webhook_retry_ms: DeliveryConfig::default().retry_after_first_ms,
            address_quota: ccgate_engine::addresses::PERMANENT_ADDRESSES_PER_MERCHANT_DEFAULT,
            sandbox: false,
            swap: ccgate_engine::swaps::SwapSettings::default(),
        }
    }
}

/// A merchant's credentials.
#[derive(Debug, Clone)]
pub struct Merchant {
    pub app_id: String,
    pub app_secret: String,
}

/// What one [`Engine::tick`] did, loop by loop.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Ticked {
    /// Deposits the watcher credited.
    pub credited: usize,
    /// Withdrawals the worker moved on (sent, confirmed, voided).
    pub withdrawals: usize,
    /// Webhook deliveries attempted.
    pub deliveries: usize,
}

impl Ticked {
    pub fn is_idle(&self) -> bool {
        *self == Ticked::default()
    }
}

/// The gateway in this process: its services, its loops (run only when the
/// test ticks them) and its API on a loopback port.
#[derive(Debug)]
pub struct Engine {
    pub state: AppState,
    pub backend: SqliteStore,
    /// The chains and ledger store the loops run on; the API reaches them
    /// only through the engine's services.
    assembly: Assembly,
    loops: Loops,
    clock: Arc<VirtualClock>,
    api: SocketAddr,
    stop: watch::Sender<bool>,
    _data_dir: tempfile::TempDir,
}

/// [`spawn_engine_with`] `serve`'s defaults.
pub async fn spawn_engine() -> Result<Engine, HarnessError> {
    spawn_engine_with(EngineOptions::default()).await
}

/// A fresh gateway on a new SQLite file, built as `serve` builds one, with
/// business time frozen at the real clock's now until a tick moves it.
pub async fn spawn_engine_with(options: EngineOptions) -> Result<Engine, HarnessError> {
    let data_dir = tempfile::tempdir()?;
    let backend =
        SqliteStore::open(&data_dir.path().join("ccgate.db"), MasterKey::generate()).await?;
    let clock = Arc::new(VirtualClock::new(ClockSetting::frozen(real_now_ms())));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let api = listener.local_addr()?;
    let parts = Parts {
        registry: Registry::builtin(),
        prices: Arc::new(StaticPrices::new(PriceTable::builtin())),
        fiat_rates: builtin_fiat_rates(),
        evm: BTreeMap::new(),
        address_quota: options.address_quota,
        swap: options.swap,
    };
    let config = ServerConfig {
        // Tests send from one address, as fast as they like.
        rate_limit_per_sec: None,
        public_url: format!("http://{api}"),
        ..ServerConfig::default()
    };
    // No cache: what a test writes through the store, the API reads at once.
    let store = Arc::new(CachingStore::new(backend.clone(), Duration::ZERO));
    let assembly = build_services(store, parts).await?;
    let (stop, stopped) = watch::channel(false);
    let delivery = DeliveryConfig {
        retry_after_first_ms: options.webhook_retry_ms,
        ..DeliveryConfig::default()
    };
    let mut loops = build_loops(
        &assembly,
        &backend,
        OutboxBell::default(),
        delivery,
        OutboundPolicy::simulated(),
        stopped.clone(),
    )?;
    if options.sandbox {
        loops.sender = loops.sender.inject_faults_from(Arc::new(backend.clone()));
    }
    let mut services = Services::new(assembly.services.clone(), clock.clone(), config);
    services.webhook_sender = Some(loops.sender.clone());
    let state = AppState::new(services);
    let mut shutdown = stopped;
    tokio::spawn(ccgate_server::serve(listener, state.clone(), async move {
        let _ = shutdown.changed().await;
    }));
    Ok(Engine {
        state,
        backend,
        assembly,
        loops,
        clock,
        api,
        stop,
        _data_dir: data_dir,
    })
}

impl Engine {
    /// Business time, as the engine reads it.
    pub fn now_ms(&self) -> i64 {
        self.clock.setting().now_at(real_now_ms())
    }

    /// Moves business time to `now_ms` (it stays there) and runs each loop's
    /// tick once at that time, in `serve`'s order: the deposit watcher, the
    /// withdrawal worker, webhook delivery.
    pub async fn tick(&self, now_ms: i64) -> Result<Ticked, HarnessError> {
        self.clock.set(ClockSetting::frozen(now_ms));
        Ok(Ticked {
            credited: self.loops.watcher.tick(now_ms).await?,
            withdrawals: self.loops.batch_withdrawals.tick(now_ms).await?
                + self.loops.withdrawals.tick(now_ms).await?,
            deliveries: self.loops.sender.tick(now_ms).await?,
        })
    }

    /// Ticks at `now_ms` until a tick finds nothing to do, as `serve`'s
    /// loops drain a backlog; returns the sum.
    pub async fn settle(&self, now_ms: i64) -> Result<Ticked, HarnessError> {
        let mut total = Ticked::default();
        loop {
            let ticked = self.tick(now_ms).await?;
            if ticked.is_idle() {
                return Ok(total);
            }
            total.credited += ticked.credited;
            total.withdrawals += ticked.withdrawals;
            total.deliveries += ticked.deliveries;
        }
    }

    /// A new active merchant.
    pub async fn merchant(&self, name: &str) -> Result<Merchant, HarnessError> {
        let now_secs = self.now_ms() / 1000;
        let app_id = MerchantId::new(generate_app_id(now_secs));
        let secret = generate_app_secret();
        self.backend
            .create_merchant(&app_id, &secret, name, now_secs, None)
            .await?;
        Ok(Merchant {
            app_id: app_id.as_str().to_owned(),
            app_secret: secret.expose_secret().to_owned(),
        })
    }

    /// Where `merchant`'s webhooks go (final states only, v1), as
    /// `ccgate merchant set-webhook` sets it.
    pub async fn set_webhook(&self, merchant: &Merchant, url: &str) -> Result<(), HarnessError> {
        self.set_webhook_notifying(merchant, url, false).await
    }

    /// [`Engine::set_webhook`], with pending and processing states notified
    /// too when `pending` (`--notify-pending`).
    pub async fn set_webhook_notifying(
        &self,
        merchant: &Merchant,
        url: &str,
        pending: bool,
    ) -> Result<(), HarnessError> {
        check_merchant_url("url", url).map_err(|err| HarnessError::Refused(err.to_string()))?;
        self.backend
            .set_merchant_webhook(
                &MerchantId::new(merchant.app_id.as_str()),
                Some(url),
                pending,
                WebhookDialect::V1,
                None,
            )
            .await?;
        Ok(())
    }

    /// A signing v1 client of the API, as `merchant`.
    pub fn client(&self, merchant: &Merchant) -> Result<Client, HarnessError> {
        Client::new(
            format!("http://{}", self.api),
            &merchant.app_id,
            &merchant.app_secret,
        )
        .map_err(|err| HarnessError::Refused(err.to_string()))
    }

    /// A signing v2 client of the API, as `merchant`.
    pub fn v2_client(&self, merchant: &Merchant) -> Result<V2Client, HarnessError> {
        V2Client::new(
            format!("http://{}", self.api),
            &merchant.app_id,
            &merchant.app_secret,
        )
        .map_err(|err| HarnessError::Refused(err.to_string()))
    }

    /// The sandbox's controls over this engine's clock and loops, as
    /// `serve --sandbox` builds them (without snapshots): an advance settles
    /// each moment through the same loops [`Engine::tick`] runs.
    pub fn sandbox(&self) -> Sandbox {
        Sandbox::new(
            Arc::clone(&self.clock),
            Arc::new(self.backend.clone()),
            Arc::new(self.backend.clone()),
            Arc::clone(&self.assembly.chains),
            self.loops.clone(),
        )
    }

    /// A devnet transfer, in the next block of the token's chain.
    pub async fn pay(&self, request: PayRequest) -> Result<Paid, HarnessError> {
        let assembly = &self.assembly;
        Ok(devnet::pay(
            &assembly.services.registry,
            &assembly.chains,
            request,
            self.now_ms(),
        )
        .await?)
    }

    /// `blocks` new blocks on the devnet of `chain`; returns its height.
    pub async fn mine(&self, chain: &str, blocks: u64) -> Result<u64, HarnessError> {
        let (_, height) = devnet::mine(&self.assembly.chains, chain, blocks, self.now_ms()).await?;
        Ok(height)
    }
}

impl Drop for Engine {
    /// Stops the API listener; the loops never run on their own.
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}
