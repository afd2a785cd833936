//! Prometheus metrics, served as `GET /metrics` on the admin listener: v1
//! requests by endpoint and answered code with their latency (counted as they
//! happen by this process), and the outbox, delivery attempts, journal size,
//! chain heights and scan lag (read from the database when scraped, so several
//! instances on one database report the same figures).

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use ccgate_api::Code;
use prometheus_client::encoding::{EncodeLabelSet, EncodeMetric, MetricEncoder, NoLabelSet};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::{MetricType, TypedMetric};
use prometheus_client::registry::Registry;

use crate::AppState;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    endpoint: String,
    code: u32,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct EndpointLabels {
    endpoint: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StatusLabels {
    status: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ChainLabels {
    chain: String,
}

/// The request-time buckets' upper bounds in nanoseconds: 0.25 ms … ~8 s,
/// doubling (and +Inf past the last).
const SECONDS_BUCKETS_NS: [u64; 16] = {
    let mut bounds = [0; 16];
    let mut i = 0;
    while i < bounds.len() {
        bounds[i] = 250_000 << i;
        i += 1;
    }
    bounds
};

/// A histogram of request times updated by atomics only, so an observation
/// takes no lock (prometheus-client's `Histogram` locks a mutex for each;
/// issue #16 §1). Encoded as that histogram was: the same buckets, in seconds.
#[derive(Debug, Clone, Default)]
struct RequestSeconds(Arc<SecondsCounts>);

#[derive(Debug, Default)]
struct SecondsCounts {
    /// Observations per bucket (not cumulative); the last is +Inf.
    buckets: [AtomicU64; SECONDS_BUCKETS_NS.len() + 1],
    count: AtomicU64,
    /// In nanoseconds, so the sum is an integer add.
    sum_ns: AtomicU64,
}

impl RequestSeconds {
    fn observe(&self, elapsed: Duration) {
        let ns = u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX);
        let bucket = SECONDS_BUCKETS_NS.partition_point(|&bound| bound < ns);
        let counts = &self.0;
        // Counts only, read together by no one but a scrape: relaxed is enough.
        if let Some(slot) = counts.buckets.get(bucket) {
            slot.fetch_add(1, Ordering::Relaxed);
        }
        counts.count.fetch_add(1, Ordering::Relaxed);
        counts.sum_ns.fetch_add(ns, Ordering::Relaxed);
    }
}

impl TypedMetric for RequestSeconds {
    const TYPE: MetricType = MetricType::Histogram;
}

impl EncodeMetric for RequestSeconds {
    fn encode(&self, mut encoder: MetricEncoder) -> Result<(), std::fmt::Error> {
        let counts = &self.0;
        let bounds = SECONDS_BUCKETS_NS
            .iter()
            .map(|&ns| Duration::from_nanos(ns).as_secs_f64())
            .chain(std::iter::once(f64::INFINITY));
        let buckets: Vec<(f64, u64)> = bounds
            .zip(&counts.buckets)
            .map(|(bound, count)| (bound, count.load(Ordering::Relaxed)))
            .collect();
        let sum = Duration::from_nanos(counts.sum_ns.load(Ordering::Relaxed)).as_secs_f64();
        encoder.encode_histogram::<NoLabelSet>(
            sum,
            counts.count.load(Ordering::Relaxed),
            &buckets,
            None,
        )
    }

    fn metric_type(&self) -> MetricType {
        Self::TYPE
    }
}

/// One endpoint's request figures, resolved for its route when the router
/// is built, so a request takes no lock, hash or allocation to count itself
/// (issue #16 §1). A series is created at its first request, as with
/// `Family::get_or_create`, so `/metrics` lists only what happened.
#[derive(Debug)]
pub(crate) struct EndpointMetrics {
    /// The route's path: its series' `endpoint` label.
    endpoint: String,
    requests: Family<RequestLabels, Counter>,
    request_seconds: Family<EndpointLabels, RequestSeconds>,
    seconds: OnceLock<RequestSeconds>,
    /// By the position of the answered code in `Code::ALL`.
    by_code: [OnceLock<Counter>; Code::ALL.len()],
}

impl EndpointMetrics {
    /// `answer`, counted under the code it carries and timed once it is
    /// ready: every API request of either dialect, refused signatures too.
    pub(crate) async fn counted(&self, answer: impl Future<Output = (Response, u32)>) -> Response {
        let started = Instant::now();
        let (response, code) = answer.await;
        self.record(started.elapsed(), code);
        response
    }

    fn record(&self, elapsed: Duration, code: u32) {
        self.seconds
            .get_or_init(|| {
                self.request_seconds
                    .get_or_create(&EndpointLabels {
                        endpoint: self.endpoint.clone(),
                    })
                    .clone()
            })
            .observe(elapsed);
        let labels = || RequestLabels {
            endpoint: self.endpoint.clone(),
            code,
        };
        match Code::ALL
            .iter()
            .position(|known| known.number() == code)
            .and_then(|index| self.by_code.get(index))
        {
            Some(counter) => counter
                .get_or_init(|| self.requests.get_or_create(&labels()).clone())
                .inc(),
            // A number outside the table (none today): the family's own path.
            None => self.requests.get_or_create(&labels()).inc(),
        };
    }
}

/// The process's metrics; one per `serve`.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    request_seconds: Family<EndpointLabels, RequestSeconds>,
    webhooks: Family<StatusLabels, Gauge>,
    webhook_attempts: Family<OutcomeLabels, Gauge>,
    journal_entries: Gauge,
    chain_height: Family<ChainLabels, Gauge>,
    chain_scan_lag: Family<ChainLabels, Gauge>,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("ccgate");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "v1_requests",
            "v1 API requests by endpoint and answered code",
            requests.clone(),
        );
        let request_seconds = Family::<EndpointLabels, RequestSeconds>::default();
        registry.register(
            "v1_request_seconds",
            "Time to answer a v1 request, signature checks and signing included",
            request_seconds.clone(),
        );
        let webhooks = Family::<StatusLabels, Gauge>::default();
        registry.register(
            "webhooks",
            "Webhooks in the outbox by delivery status (all instances)",
            webhooks.clone(),
        );
        let webhook_attempts = Family::<OutcomeLabels, Gauge>::default();
        registry.register(
            "webhook_attempts",
            "Webhook delivery attempts ever made, acknowledged or failed (all instances)",
            webhook_attempts.clone(),
        );
        let journal_entries = Gauge::default();
        registry.register(
            "journal_entries",
            "Entries in the ledger journal (all instances)",
            journal_entries.clone(),
        );
        let chain_height = Family::<ChainLabels, Gauge>::default();
        registry.register(
            "chain_height",
            "The latest block height each chain adapter reports",
            chain_height.clone(),
        );
        let chain_scan_lag = Family::<ChainLabels, Gauge>::default();
        registry.register(
            "chain_scan_lag_blocks",
            "Blocks with enough confirmations whose deposits are not credited yet",
            chain_scan_lag.clone(),
        );
        Metrics {
            registry,
            requests,
            request_seconds,
            webhooks,
            webhook_attempts,
            journal_entries,
            chain_height,
            chain_scan_lag,
        }
    }
}

impl Metrics {
    /// The figures of the API route at `path`, kept by its handler
    /// ([`crate::endpoint`]).
    pub(crate) fn endpoint(&self, path: &str) -> Arc<EndpointMetrics> {
        Arc::new(EndpointMetrics {
            endpoint: path.to_owned(),
            requests: self.requests.clone(),
            request_seconds: self.request_seconds.clone(),
            seconds: OnceLock::new(),
            by_code: std::array::from_fn(|_| OnceLock::new()),
        })
    }
}

/// `GET /metrics` in the Prometheus text format. A figure that cannot be read
/// (database or chain down) is left at its last value and logged; the scrape
/// itself still answers, because the counters are what an operator needs then.
pub async fn scrape(State(state): State<AppState>) -> Response {
    let metrics = &state.metrics;
    let figures = state.network.figures(state.clock.now_unix_ms()).await;
    match figures.webhooks {
        Ok(counts) => {
            for (status, count) in [
                ("pending", counts.pending),
                ("delivered", counts.delivered),
                ("failed", counts.failed),
            ] {
                metrics
                    .webhooks
                    .get_or_create(&StatusLabels { status })
                    .set(gauge_value(count));
            }
            for (outcome, count) in [
                ("delivered", counts.attempts_delivered),
                ("failed", counts.attempts_failed),
            ] {
                metrics
                    .webhook_attempts
                    .get_or_create(&OutcomeLabels { outcome })
                    .set(gauge_value(count));
            }
        }
        Err(err) => tracing::warn!(error = %err, "metrics: count the outbox"),
    }
    match figures.journal_entries {
        Ok(entries) => {
            metrics.journal_entries.set(gauge_value(entries));
        }
        Err(err) => tracing::warn!(error = %err, "metrics: count the journal"),
    }
    for chain in figures.chains {
        let labels = ChainLabels { chain: chain.chain };
        let height = match chain.height {
            Ok(height) => height,
            Err(err) => {
                tracing::warn!(chain = %labels.chain, error = %err, "metrics: read the chain height");
                continue;
            }
        };
        metrics
            .chain_height
            .get_or_create(&labels)
            .set(gauge_value(height));
        match chain.scan_lag {
            Some(Ok(lag)) => {
                metrics
                    .chain_scan_lag
                    .get_or_create(&labels)
                    .set(gauge_value(lag));
            }
            Some(Err(err)) => {
                tracing::warn!(chain = %labels.chain, error = %err, "metrics: read the chain cursor");
            }
            None => {}
        }
    }
    let mut text = String::new();
    if let Err(err) = prometheus_client::encoding::text::encode(&mut text, &metrics.registry) {
        tracing::error!(error = %err, "metrics: encode");
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    }
    let mut response = text.into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8"),
    );
    response
}

/// Gauges are signed 64-bit; counts from the database never get near the limit.
fn gauge_value(count: u64) -> i64 {
    i64::try_from(count).unwrap_or(i64::MAX)
}
