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
mod routes;
pub mod v2;

use std::sync::Arc;

use axum::Router;
use std::convert::Infallible;

use axum::body::Body;
use axum::http::{HeaderName, Request};
use axum::response::Response;
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
use tower::{Layer, Service, ServiceBuilder};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{
    MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer,
};
use tower_http::trace::TraceLayer;

pub use admin::admin_router;
pub use admin_access::AdminAccess;
pub use ccgate_engine::clock::{Clock, SystemClock};
use ccgate_engine::sandbox::Sandbox;
use ccgate_engine::webhooks::{WebhookFeed, WebhookSender};
pub use client_ip::{IpNet, TrustedProxies, parse_trusted_proxy};
pub use connections::{ConnectionLimits, serve_router};
pub use endpoint::Endpoint;
pub use metrics::Metrics;
pub use rate_limit::RateLimit;

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

const REQUEST_ID_HEADER: HeaderName = HeaderName::from_static("x-request-id");

/// Request ids that are unique within a process run and cheap to make.
#[derive(Clone, Default)]
struct SequentialRequestId {
    next: Arc<std::sync::atomic::AtomicU64>,
}

impl MakeRequestId for SequentialRequestId {
    fn make_request_id<B>(&mut self, _request: &Request<B>) -> Option<RequestId> {
        let n = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        axum::http::HeaderValue::try_from(request_id_text(n))
            .ok()
            .map(RequestId::new)
    }
}

/// `req-` and `n` in lower-case hex without leading zeros, written into the
/// text the header value then owns: no formatting machinery and no second
/// copy on every request (issue #16 §1).
fn request_id_text(n: u64) -> String {
    let mut digits = [0u8; 16];
    // Infallible: eight bytes are sixteen hex digits.
    let _ = hex::encode_to_slice(n.to_be_bytes(), &mut digits);
    let first = digits
        .iter()
        .position(|&digit| digit != b'0')
        .unwrap_or(digits.len() - 1);
    let mut text = String::with_capacity(4 + digits.len() - first);
    text.push_str("req-");
    text.push_str(std::str::from_utf8(&digits[first..]).unwrap_or("0"));
    text
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

/// The whole application: every API route of both dialects, `GET /` (a
/// page saying what this is), `GET /healthz`, the API description, the hosted
/// checkout, the dashboard, and envelopes for unknown paths and methods.
pub fn router(state: AppState) -> Router {
    // Each API route holds its figures, resolved here, once.
    let api = v1_routes()
        .into_iter()
        .map(|(endpoint, handler)| (format!("/ccpayment/v1/{endpoint}"), handler))
        .chain(
            v2::routes()
                .into_iter()
                .map(|(endpoint, handler)| (format!("{}{endpoint}", v2::PATH_PREFIX), handler)),
        )
        .fold(Router::new(), |router, (path, handler)| {
            let figures = state.metrics.endpoint(&path);
            router.route(&path, handler.route(figures))
        });
    let app = api
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
    match state.config.rate_limit_per_sec {
        Some(per_sec) => {
            let limiter = Arc::new(RateLimit::new(
                per_sec,
                state.config.trusted_proxies.clone(),
            ));
            with_request_layers(
                axum::middleware::from_fn_with_state(limiter, rate_limit::limit_by_source)
                    .layer(app),
            )
        }
        None => with_request_layers(app),
    }
}

/// What every request passes through, outermost first: panics answered as
/// service errors, a request id (made, then copied to the answer), the
/// request log. They wrap `app` once, as one typed service behind a router's
/// fallback: `Router::layer` would wrap every route in each of them, and a
/// wrapped route boxes and clones its service per request (issue #16 §1).
fn with_request_layers<S>(app: S) -> Router
where
    S: Service<Request<Body>, Response = Response, Error = Infallible>
        + Clone
        + Send
        + Sync
        + 'static,
    S::Future: Send + 'static,
{
    let layered = ServiceBuilder::new()
        .layer(CatchPanicLayer::custom(failure::panic_response))
        .layer(SetRequestIdLayer::new(
            REQUEST_ID_HEADER,
            SequentialRequestId::default(),
        ))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|request: &Request<Body>| {
                    // The fields are evaluated only when the span is enabled:
                    // at the default level a request looks nothing up here.
                    tracing::debug_span!(
                        "request",
                        id = %request
                            .headers()
                            .get(&REQUEST_ID_HEADER)
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or("-"),
                        method = %request.method(),
                        path = %request.uri().path()
                    )
                })
                .on_response(log_answer)
                .on_failure(()),
        )
        .layer(PropagateRequestIdLayer::new(REQUEST_ID_HEADER))
        .service(app);
    Router::new().fallback_service(layered)
}

/// Logs an answer. At the default level (`info`) only service errors, with
/// their hidden detail and the request id: nothing is formatted for a request
/// that went well. `CCGATE_LOG=ccgate_server=debug` adds a line per request
/// (in its `request` span: id, method, path).
fn log_answer(
    response: &axum::response::Response,
    latency: std::time::Duration,
    _span: &tracing::Span,
) {
    if let Some(failure::FailureDetail(detail)) = response.extensions().get() {
        let request_id = response
            .headers()
            .get(&REQUEST_ID_HEADER)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("-");
        tracing::error!(request_id, error = %detail, "answer service error");
    }
    tracing::debug!(
        status = response.status().as_u16(),
        latency_us = latency.as_micros(),
        "answered"
    );
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::io::Write;
    use std::sync::{Arc, Mutex};

    use axum::body::Body;
    use tower::ServiceExt;

    use super::*;
    use crate::failure::Failure;

    #[test]
    fn request_ids_are_req_and_the_number_in_lower_case_hex() {
        let edges = [
            0,
            1,
            9,
            10,
            15,
            16,
            255,
            256,
            0x2a,
            1 << 32,
            u64::MAX - 1,
            u64::MAX,
        ];
        let spread = (0..64).map(|shift| (1u64 << shift) | 0x5a5a_5a5a);
        for n in edges.into_iter().chain(spread) {
            assert_eq!(request_id_text(n), format!("req-{n:x}"), "{n}");
        }
    }

    /// The log, as the binary writes it at its default level.
    #[derive(Clone, Default)]
    struct Log(Arc<Mutex<Vec<u8>>>);

    impl Write for Log {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[tokio::test]
    async fn at_the_default_level_only_service_errors_are_logged_with_their_request_id() {
        let log = Log::default();
        let writer = log.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::INFO)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish();
        let _default = tracing::subscriber::set_default(subscriber);
        let app = with_request_layers(Router::new().route("/ok", get(|| async { "ok" })).route(
            "/fail",
            get(|| async { Failure::Internal("the pool is closed".into()) }),
        ));
        for path in ["/ok", "/ok", "/fail"] {
            let request = Request::get(path).body(Body::empty()).unwrap();
            app.clone().oneshot(request).await.unwrap();
        }
        let text = String::from_utf8(log.0.lock().unwrap().clone()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 1, "{text}");
        assert!(lines[0].contains("answer service error"), "{text}");
        assert!(lines[0].contains("the pool is closed"), "{text}");
        // The third request's id, as its answer's X-Request-Id says.
        assert!(lines[0].contains("request_id=\"req-2\""), "{text}");
    }
}
