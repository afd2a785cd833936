//! One way to put a gateway together: the engine's services over a backend,
//! and the background loops over those services. `serve`, the benches, the
//! hostile-input tests and the in-process engine harness (`ccgate-testkit`)
//! all build through here, so a test runs what production runs.

use ccgate_engine::devnet::DatabaseDevnet;
use ccgate_engine::payouts::Payouts;
use std::collections::BTreeMap;
use std::sync::Arc;

use ccgate_chain::keys::evm_hot_wallet_key;
use ccgate_chain::{ChainSet, EvmNodeConfig, HotWallet};
use ccgate_engine::addresses::{AddressBook, load_deposit_seed};
use ccgate_engine::clock::Clock;
use ccgate_engine::deposits::{DepositWatcher, WatcherStores};
use ccgate_engine::orders::Orders;
use ccgate_engine::outbound::OutboundPolicy;
use ccgate_engine::webhooks::{DeliveryConfig, OutboxBell, WebhookFeed, WebhookSender};
use ccgate_engine::withdrawals::Withdrawals;
use ccgate_engine::{EngineError, Loops};
use ccgate_ledger::{Decimal, Registry};
use ccgate_pricefeed::PriceSource;
use ccgate_store::{
    AddressStore, CachingStore, CreditStore, DepositRecords, DevnetStore, MerchantSettingsStore,
    OrderStore, OutboxStore, PayoutStore, ReorgStore, SecretStore, Store, WithdrawalStore,
};
use tokio::sync::watch;

use crate::{Metrics, ServerConfig, Services};

/// The stores the services and loops are built over, all from one backend
/// (a SQLite file or a PostgreSQL database).
pub trait ServiceBackend:
    Store
    + SecretStore
    + AddressStore
    + OrderStore
    + MerchantSettingsStore
    + CreditStore
    + DevnetStore
    + DepositRecords
    + OutboxStore
    + WithdrawalStore
    + PayoutStore
    + ReorgStore
    + Clone
    + 'static
{
}

impl<B> ServiceBackend for B where
    B: Store
        + SecretStore
        + AddressStore
        + OrderStore
        + MerchantSettingsStore
        + CreditStore
        + DevnetStore
        + DepositRecords
        + OutboxStore
        + WithdrawalStore
        + PayoutStore
        + ReorgStore
        + Clone
        + 'static
{
}

/// What the services are built from besides the store.
#[derive(Debug)]
pub struct Parts {
    pub registry: Registry,
    pub prices: Arc<dyn PriceSource>,
    pub fiat_rates: BTreeMap<String, Decimal>,
    /// The chains followed on a node, by chain code; every other one is a devnet.
    pub evm: BTreeMap<String, EvmNodeConfig>,
    /// Permanent deposit addresses one merchant may hold.
    pub address_quota: u64,
    pub clock: Arc<dyn Clock>,
    pub config: ServerConfig,
}

/// The engine's services over `store` (merchants and balances through its
/// cache, everything else from its backend), with no sandbox and no
/// reconcilers: `serve` adds those when its configuration asks for them.
pub async fn build_app_state<B: ServiceBackend>(
    store: Arc<CachingStore<B>>,
    parts: Parts,
) -> Result<Services, EngineError> {
    let registry = Arc::new(parts.registry);
    let backend = Arc::new(store.backend().clone());
    let seed = load_deposit_seed(backend.as_ref()).await?;
    let hot_wallet = HotWallet::new(&evm_hot_wallet_key(&seed)?)?;
    let chains = Arc::new(ChainSet::new(
        &registry,
        DatabaseDevnet::new(backend.clone()),
        &parts.evm,
        Some(hot_wallet),
    )?);
    let addresses = Arc::new(AddressBook::from_seed(
        &seed,
        backend.clone(),
        parts.address_quota,
    )?);
    let orders = Arc::new(Orders::new(
        Arc::clone(&parts.prices),
        Arc::new(parts.fiat_rates),
        Arc::clone(&addresses),
        backend.clone(),
        backend.clone(),
    ));
    let withdrawals = Arc::new(Withdrawals::new(
        Arc::clone(&registry),
        Arc::clone(&chains),
        Arc::clone(&parts.prices),
        store.clone(),
        backend.clone(),
        backend.clone(),
        Payouts::new(backend.clone()),
    ));
    Ok(Services {
        store,
        registry,
        prices: parts.prices,
        chains,
        withdrawals,
        withdrawal_store: backend.clone(),
        addresses,
        orders,
        order_store: backend.clone(),
        address_store: backend.clone(),
        credits: backend.clone(),
        devnet: backend.clone(),
        deposit_records: backend.clone(),
        outbox: backend,
        clock: parts.clock,
        config: Arc::new(parts.config),
        metrics: Arc::new(Metrics::default()),
        sandbox: None,
        webhook_feed: WebhookFeed::default(),
        reconcilers: Vec::new(),
    })
}

/// The deposit watcher, the withdrawal worker and webhook delivery over
/// `services`' chains and `backend`. A credit rings `bell`, which wakes
/// delivery; delivery reaches only what `outbound` allows and hands its
/// claims back once `stopped` turns `true`.
pub fn build_loops<B: ServiceBackend>(
    services: &Services,
    backend: &B,
    bell: OutboxBell,
    delivery: DeliveryConfig,
    outbound: OutboundPolicy,
    stopped: watch::Receiver<bool>,
) -> Result<Loops, EngineError> {
    let backend = Arc::new(backend.clone());
    let watcher = Arc::new(
        DepositWatcher::new(
            Arc::clone(&services.registry),
            Arc::clone(&services.chains),
            WatcherStores::on(Arc::clone(&services.store), &backend),
        )
        .ringing(bell.clone()),
    );
    let sender = WebhookSender::new(
        backend.clone(),
        Arc::clone(&services.store),
        backend,
        delivery,
    )?
    .woken_by(bell)
    .reaching_only(outbound)
    .hand_back_when(stopped)
    .publish_to(services.webhook_feed.clone());
    Ok(Loops {
        watcher,
        withdrawals: Arc::clone(&services.withdrawals),
        sender,
    })
}
