//! One way to put the engine together: its services over a store backend and
//! the chains, and the background loops over those services. `serve`, the
//! benches, the hostile-input tests and the in-process engine harness
//! (`ccgate-testkit`) all build through here, so a test runs what production
//! runs. The server wraps [`EngineServices`] for its handlers; the chains and
//! the ledger store stay in [`Assembly`], for the loops and the operator's
//! tasks only.

use crate::devnet::DatabaseDevnet;
use crate::payouts::Payouts;
use std::collections::BTreeMap;
use std::sync::Arc;

use ccgate_chain::keys::evm_hot_wallet_key;
use ccgate_chain::{ChainSet, EvmNodeConfig, HotWallet};
use ccgate_ledger::{Decimal, Registry};
use ccgate_pricefeed::PriceSource;
use ccgate_store::{
    AddressStore, BatchWithdrawalStore, CachingStore, ConsoleStore, CreditStore, DashboardStore,
    DepositRecords, DevnetStore, Listings, MerchantSettingsStore, OrderStore, OutboxStore,
    PayoutStore, ReconcileStore, ReorgStore, SandboxStore, SecretStore, Store, SwapStore,
    WalletStore, WithdrawalStore,
};
use tokio::sync::watch;

use crate::addresses::{AddressBook, load_deposit_seed};
use crate::batch_withdrawals::BatchWithdrawals;
use crate::console::{Console, ConsoleConfig, ConsoleStores};
use crate::deposits::{DepositWatcher, WatcherStores};
use crate::merchants::Merchants;
use crate::network::Network;
use crate::orders::Orders;
use crate::outbound::OutboundPolicy;
use crate::records::Records;
use crate::swaps::{SwapSettings, Swaps};
use crate::wallets::Wallets;
use crate::webhooks::{DeliveryConfig, OutboxBell, WebhookFeed, WebhookSender};
use crate::withdrawals::Withdrawals;
use crate::{EngineError, Loops};

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
    + BatchWithdrawalStore
    + PayoutStore
    + ReorgStore
    + SwapStore
    + WalletStore
    + ConsoleStore
    + DashboardStore
    + Listings
    + SandboxStore
    + ReconcileStore
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
        + BatchWithdrawalStore
        + PayoutStore
        + ReorgStore
        + SwapStore
        + WalletStore
        + ConsoleStore
        + DashboardStore
        + Listings
        + SandboxStore
        + ReconcileStore
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
    /// The operator's spread, fee and quote validity for swaps.
    pub swap: SwapSettings,
}

/// The engine's services: all the API reaches the stores and chains through.
#[derive(Debug, Clone)]
pub struct EngineServices {
    pub registry: Arc<Registry>,
    pub prices: Arc<dyn PriceSource>,
    pub merchants: Arc<Merchants>,
    pub addresses: Arc<AddressBook>,
    pub orders: Arc<Orders>,
    pub withdrawals: Arc<Withdrawals>,
    pub batch_withdrawals: Arc<BatchWithdrawals>,
    pub records: Arc<Records>,
    pub network: Arc<Network>,
    pub swaps: Arc<Swaps>,
    /// The merchants' wallet users (v2 spec §2.9–2.10).
    pub wallets: Arc<Wallets>,
    /// The dashboard's users, sessions and audit log, and what each user may see.
    pub console: Arc<Console>,
    /// Webhooks as they are sent; the sender built by [`build_loops`]
    /// publishes here.
    pub webhook_feed: WebhookFeed,
}

/// The engine's services and what the background loops run on beside them:
/// the chains, and the ledger store behind its read cache.
#[derive(Debug, Clone)]
pub struct Assembly {
    pub services: EngineServices,
    pub chains: Arc<ChainSet>,
    pub store: Arc<dyn Store>,
}

/// The engine's services over `store` (merchants and balances through its
/// cache, everything else from its backend).
pub async fn build_services<B: ServiceBackend>(
    store: Arc<CachingStore<B>>,
    parts: Parts,
) -> Result<Assembly, EngineError> {
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
    let batch_withdrawals = Arc::new(BatchWithdrawals::new(
        Arc::clone(&registry),
        Arc::clone(&withdrawals),
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
        backend.clone(),
    ));
    let swaps = Arc::new(Swaps::new(
        Arc::clone(&registry),
        Arc::clone(&parts.prices),
        store.clone(),
        backend.clone(),
        backend.clone(),
        parts.swap,
        parts.evm.keys().cloned().collect(),
    ));
    let wallets = Arc::new(Wallets::new(
        Arc::clone(&registry),
        Arc::clone(&addresses),
        store.clone(),
        backend.clone(),
        backend.clone(),
        Arc::clone(&withdrawals),
        backend.clone(),
    ));
    let console = Arc::new(Console::new(
        ConsoleStores {
            console: backend.clone(),
            ledger: store.clone(),
            settings: backend.clone(),
            outbox: backend.clone(),
            listings: backend.clone(),
            withdrawals: backend.clone(),
            incidents: backend.clone(),
            reconciliations: backend.clone(),
            dashboard: backend.clone(),
        },
        Arc::clone(&merchants),
        ConsoleConfig::default(),
    ));
    let network = Arc::new(Network::new(
        Arc::clone(&registry),
        Arc::clone(&chains),
        store.clone(),
        backend.clone(),
        backend,
    ));
    Ok(Assembly {
        services: EngineServices {
            registry,
            prices: parts.prices,
            merchants,
            addresses,
            orders,
            withdrawals,
            batch_withdrawals,
            records,
            network,
            swaps,
            wallets,
            console,
            webhook_feed: WebhookFeed::default(),
        },
        chains,
        store,
    })
}

/// The deposit watcher, the withdrawal worker and webhook delivery over
/// `assembly`'s chains and `backend`. A credit rings `bell`, which wakes
/// delivery; delivery reaches only what `outbound` allows and hands its
/// claims back once `stopped` turns `true`.
pub fn build_loops<B: ServiceBackend>(
    assembly: &Assembly,
    backend: &B,
    bell: OutboxBell,
    delivery: DeliveryConfig,
    outbound: OutboundPolicy,
    stopped: watch::Receiver<bool>,
) -> Result<Loops, EngineError> {
    let services = &assembly.services;
    let backend = Arc::new(backend.clone());
    let watcher = Arc::new(
        DepositWatcher::new(
            Arc::clone(&services.registry),
            Arc::clone(&assembly.chains),
            WatcherStores::on(Arc::clone(&assembly.store), &backend),
        )
        .ringing(bell.clone()),
    );
    let sender = WebhookSender::new(
        backend.clone(),
        Arc::clone(&assembly.store),
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
        batch_withdrawals: Arc::clone(&services.batch_withdrawals),
        sender,
    })
}
