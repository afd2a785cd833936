//! The HTTP edge of ccgate: the accept loop with its connection limits
//! ([`connections`]), the axum router, each API route's one call through
//! [`endpoint`] (body limit, authentication, response signing), the
//! per-client rate limit (the client
//! found behind trusted proxies by [`client_ip`]), and the one place where
//! errors become v1 codes ([`failure`]).
//!
//! Invariant: handlers see only authenticated requests and return typed
//! failures; no handler builds an error envelope itself.

pub mod admin;
mod admin_access;
mod auth;
pub mod client_ip;
pub mod connections;
mod dashboard;
pub mod endpoint;
pub mod failure;
mod metrics;
pub mod openapi;
mod rate_limit;
mod request_frame;
mod routes;
pub mod v2;

use std::sync::Arc;

use axum::Router;

use axum::routing::{get, post};
use ccgate_engine::addresses::AddressBook;
use ccgate_engine::assemble::EngineServices;
use ccgate_engine::batch_withdrawals::BatchWithdrawals;
use ccgate_engine::console::Console;
use ccgate_engine::merchants::Merchants;
use ccgate_engine::mode::Mode;
use ccgate_engine::network::Network;
use ccgate_engine::orders::Orders;
use ccgate_engine::reconcile::Reconciler;
use ccgate_engine::records::Records;
use ccgate_engine::swaps::Swaps;
use ccgate_engine::triggers::Triggers;
use ccgate_engine::wallets::Wallets;
use ccgate_engine::withdrawals::Withdrawals;
use ccgate_ledger::Registry;
use ccgate_pricefeed::PriceSource;

pub use admin::admin_router;
pub use admin_access::AdminAccess;
pub use ccgate_engine::clock::{Clock, SystemClock};
use ccgate_engine::sandbox::Sandbox;
use ccgate_engine::webhooks::{WebhookFeed, WebhookSender};
pub use client_ip::{IpNet, TrustedProxies, parse_trusted_proxy};
pub use connections::{ConnectionLimits, serve_router};
pub use endpoint::{ApiDispatch, Dispatched, Endpoint};
pub use metrics::Metrics;
pub use rate_limit::RateLimit;
pub use request_frame::{FramedAnswer, RequestFrame};

/// Default request body limit (decisions §1).
pub const BODY_LIMIT_BYTES_DEFAULT: usize = 64 * 1024;
/// Default per-source-IP rate (decisions §1).
pub const RATE_LIMIT_PER_SEC_DEFAULT: u32 = 100;
/// Default `webhook/resend` limits per merchant (spec §2.14).
pub const RESEND_PER_MINUTE_DEFAULT: u32 = 1;
pub const RESEND_PER_DAY_DEFAULT: u32 = 25;

#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub body_limit_bytes: usize,
    /// `None` turns rate limiting off (benchmarks, the sandbox).
    pub rate_limit_per_sec: Option<u32>,
    /// Where payers reach this server: the base of hosted checkout URLs.
    pub public_url: String,
    /// `webhook/resend` calls allowed per merchant (decisions §7).
    pub resend_per_minute: u32,
    pub resend_per_day: u32,
    /// Live or simulated money, as `/healthz` reports it.
    pub mode: Mode,
    /// Timeouts and caps of the connections `serve` accepts (decisions §5).
    pub connections: ConnectionLimits,
    /// Whose forwarding headers name the client the rate limit counts.
    pub trusted_proxies: TrustedProxies,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            body_limit_bytes: BODY_LIMIT_BYTES_DEFAULT,
            rate_limit_per_sec: Some(RATE_LIMIT_PER_SEC_DEFAULT),
            public_url: "http://127.0.0.1:8080".to_owned(),
            resend_per_minute: RESEND_PER_MINUTE_DEFAULT,
            resend_per_day: RESEND_PER_DAY_DEFAULT,
            mode: Mode::Simulated,
            connections: ConnectionLimits::default(),
            trusted_proxies: TrustedProxies::default(),
        }
    }
}

/// What handlers reach, shared behind one `Arc`: every extractor and layer
/// that takes the state clones one pointer per request, not a dozen (the
/// clone and drop of the whole struct were 18 % of a signed request's CPU).
#[derive(Debug, Clone)]
pub struct AppState(Arc<Services>);

impl AppState {
    pub fn new(services: Services) -> AppState {
        AppState(Arc::new(services))
    }
}

impl std::ops::Deref for AppState {
    type Target = Services;

    fn deref(&self) -> &Services {
        &self.0
    }
}

/// Everything a handler can reach: the engine's services (the only way to
/// the stores and chains), the registry and prices it reads, and the
/// server's own configuration and counters.
#[derive(Debug)]
pub struct Services {
    pub registry: Arc<Registry>,
    pub prices: Arc<dyn PriceSource>,
    /// Credentials (through the read cache), balances, Cwallet ids, resends.
    pub merchants: Arc<Merchants>,
    pub addresses: Arc<AddressBook>,
    pub orders: Arc<Orders>,
    pub withdrawals: Arc<Withdrawals>,
    /// v2's batch withdrawals, each task a withdrawal of `withdrawals`.
    pub batch_withdrawals: Arc<BatchWithdrawals>,
    /// Orders, checkouts, withdrawals and deposits as merchants look them up.
    pub records: Arc<Records>,
    /// Chain heights, the devnets, health and the figures `/metrics` shows.
    pub network: Arc<Network>,
    /// Swaps against the operator's treasury, their quotes and records.
    pub swaps: Arc<Swaps>,
    /// The merchants' wallet users: balances, addresses, transfers.
    pub wallets: Arc<Wallets>,
    /// The dashboard's users, sessions, audit log and authorisation.
    pub console: Arc<Console>,
    /// Business time: prices' age, chain heights.
    pub clock: Arc<dyn Clock>,
    pub config: Arc<ServerConfig>,
    pub metrics: Arc<Metrics>,
    /// Present only in sandbox mode (`serve --sandbox`): the clock's controls.
    pub sandbox: Option<Arc<Sandbox>>,
    /// Present only in sandbox mode: the business events it can trigger.
    pub triggers: Option<Arc<Triggers>>,
    /// Webhooks as they are sent, for the admin API's stream (`ccgate listen`).
    pub webhook_feed: WebhookFeed,
    /// Webhook delivery, for the dashboard's test webhook; set by whoever
    /// builds the loops (`serve`, the test harness), absent otherwise.
    pub webhook_sender: Option<WebhookSender>,
    /// Balance reconciliation and rescans, per EVM chain with a node.
    pub reconcilers: Vec<Reconciler>,
}

impl Services {
    /// The handlers' view of the engine's services (built by
    /// `ccgate_engine::assemble`), with no sandbox and no reconcilers:
    /// `serve` adds those when its configuration asks for them.
    pub fn new(engine: EngineServices, clock: Arc<dyn Clock>, config: ServerConfig) -> Services {
        let EngineServices {
            registry,
            prices,
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
            webhook_feed,
        } = engine;
        Services {
            registry,
            prices,
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
            clock,
            config: Arc::new(config),
            metrics: Arc::new(Metrics::default()),
            sandbox: None,
            triggers: None,
            webhook_feed,
            webhook_sender: None,
            reconcilers: Vec::new(),
        }
    }
}

/// Every v1 endpoint (the path after `/ccpayment/v1/`) and its handler: the
/// router is built from this table, and the OpenAPI document is checked
/// against it.
pub fn v1_routes() -> Vec<(&'static str, Endpoint)> {
    vec![
        ("assets", endpoint::v1(routes::assets::assets)),
        ("coin/all", endpoint::v1(routes::coins::coin_all)),
        ("support/token", endpoint::v1(routes::coins::support_token)),
        ("token/chain", endpoint::v1(routes::coins::token_chain)),
        ("token/rate", endpoint::v1(routes::rates::token_rate)),
        ("network/fee", endpoint::v1(routes::network::network_fee)),
        (
            "get/network/height/info",
            endpoint::v1(routes::network::height_info),
        ),
        ("check/user", endpoint::v1(routes::cwallet::check_user)),
        (
            "payment/address/get",
            endpoint::v1(routes::addresses::permanent_address),
        ),
        ("bill/create", endpoint::v1(routes::orders::bill_create)),
        (
            "concise/url/get",
            endpoint::v1(routes::checkout::concise_url_get),
        ),
        ("bill/info", endpoint::v1(routes::orders::bill_info)),
        ("withdraw", endpoint::v1(routes::withdrawals::withdraw)),
        ("webhook/resend", endpoint::v1(routes::webhooks::resend)),
    ]
}

/// The application as [`serve`] serves it: its routes in their
/// [`RequestFrame`].
pub type App = RequestFrame<ApiDispatch>;

/// The whole application: every API route of both dialects, `GET /` (a
/// page saying what this is), `GET /healthz`, the API description, the hosted
/// checkout, the dashboard, and envelopes for unknown paths and methods; the
/// rate limit, request ids and the answers' log around them.
pub fn router(state: AppState) -> App {
    // Each API route holds its figures, resolved here, once.
    let endpoints = v1_routes()
        .into_iter()
        .map(|(endpoint, handler)| (format!("/ccpayment/v1/{endpoint}"), handler))
        .chain(
            v2::routes()
                .into_iter()
                .map(|(endpoint, handler)| (format!("{}{endpoint}", v2::PATH_PREFIX), handler)),
        )
        .map(|(path, handler)| {
            let figures = state.metrics.endpoint(&path);
            (path, handler.answerer(figures))
        })
        .collect();
    let pages = Router::new()
        .route("/", get(routes::home::home))
        .route("/healthz", get(routes::health::healthz))
        .route("/openapi.json", get(routes::docs::openapi_json))
        .route("/docs", get(routes::docs::docs_page))
        .route(
            routes::checkout::STYLESHEET_PATH,
            get(routes::checkout::stylesheet),
        )
        .route(routes::checkout::SCRIPT_PATH, get(routes::checkout::script))
        .route("/pay/{key}", get(routes::checkout::show))
        .route("/pay/{key}/select", post(routes::checkout::select))
        .route("/pay/{key}/status", get(routes::checkout::status))
        .merge(dashboard::routes())
        .fallback(routes::not_found)
        .method_not_allowed_fallback(routes::method_not_allowed)
        .with_state(state.clone());
    let limit = state.config.rate_limit_per_sec.map(|per_sec| {
        Arc::new(RateLimit::new(
            per_sec,
            state.config.trusted_proxies.clone(),
        ))
    });
    let app = ApiDispatch::new(endpoints, state, pages);
    RequestFrame::new(app, limit)
}

/// Serves the application until `shutdown` resolves, within the configured
/// connection limits; then stops accepting and lets requests in flight finish.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) {
    let config = Arc::clone(&state.config);
    serve_router(
        listener,
        router(state),
        &config.connections,
        &config.trusted_proxies,
        shutdown,
    )
    .await;
}
