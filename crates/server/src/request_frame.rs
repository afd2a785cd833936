//! What every request passes through before its route, as one service: the
//! per-client rate limit, a panic answered as a service error, a request id
//! (the client's `X-Request-Id`, or one made here) on the answer, and the
//! answer logged.
//!
//! Four tower-http layers, a rate-limit middleware and a router around them
//! did this before. Their nested futures, the boxed service cloned for every
//! request, the request id's copies into the request's headers and
//! extensions, and the response body wrapper cost more than the signed
//! `assets` endpoint's own work (issue #16 §1, decisions §54).

use std::any::Any;
use std::convert::Infallible;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Instant;

use axum::body::Body;
use axum::http::{HeaderName, HeaderValue, Request};
use axum::response::Response;
use tower::Service;

use crate::failure;
use crate::rate_limit::RateLimit;

pub(crate) const REQUEST_ID_HEADER: HeaderName = HeaderName::from_static("x-request-id");

/// `inner`, framed: see the module's documentation.
#[derive(Debug, Clone)]
pub struct RequestFrame<S> {
    inner: S,
    /// `None`: no rate limit (`serve --no-rate-limit`, the benchmarks).
    limit: Option<Arc<RateLimit>>,
    /// The number of the next request id made here: unique within a
    /// process run and cheap to make.
    next_id: Arc<AtomicU64>,
}

impl<S> RequestFrame<S> {
    pub(crate) fn new(inner: S, limit: Option<Arc<RateLimit>>) -> RequestFrame<S> {
        RequestFrame {
            inner,
            limit,
            next_id: Arc::default(),
        }
    }

    fn make_id(&self) -> Option<HeaderValue> {
        let n = self.next_id.fetch_add(1, Ordering::Relaxed);
        HeaderValue::try_from(request_id_text(n)).ok()
    }
}

impl<S> Service<Request<Body>> for RequestFrame<S>
where
    S: Service<Request<Body>, Response = Response, Error = Infallible>,
    S::Future: Unpin,
{
    type Response = Response;
    type Error = Infallible;
    type Future = FramedAnswer<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<Body>) -> FramedAnswer<S::Future> {
        let id = match request.headers().get(&REQUEST_ID_HEADER) {
            Some(given) => Some(given.clone()),
            None => self.make_id(),
        };
        // The fields are evaluated only when the span is enabled: at the
        // default level a request formats nothing here.
        let span = tracing::debug_span!(
            "request",
            id = %id.as_ref().and_then(|v| v.to_str().ok()).unwrap_or("-"),
            method = %request.method(),
            path = %request.uri().path()
        );
        // Only the debug line's latency reads it: no clock read otherwise.
        let started = (!span.is_disabled()).then(Instant::now);
        let refusal = self
            .limit
            .as_ref()
            .and_then(|limit| limit.refusal(&request));
        let answer = match refusal {
            Some(refusal) => Answer::Refused(refusal),
            None => {
                let _entered = span.enter();
                match catch_unwind(AssertUnwindSafe(|| self.inner.call(request))) {
                    Ok(future) => Answer::Pending(future),
                    Err(panic) => Answer::Panicked(panic),
                }
            }
        };
        FramedAnswer {
            answer,
            id,
            span,
            started,
        }
    }
}

/// The answer of one framed request.
#[derive(Debug)]
pub struct FramedAnswer<F> {
    answer: Answer<F>,
    id: Option<HeaderValue>,
    span: tracing::Span,
    /// When the request was called, if its answer's debug line is written.
    started: Option<Instant>,
}

#[derive(Debug)]
enum Answer<F> {
    Pending(F),
    Refused(Response),
    Panicked(Box<dyn Any + Send + 'static>),
    Given,
}

impl<F> Future for FramedAnswer<F>
where
    F: Future<Output = Result<Response, Infallible>> + Unpin,
{
    type Output = Result<Response, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let _entered = this.span.enter();
        let mut response = match std::mem::replace(&mut this.answer, Answer::Given) {
            Answer::Pending(mut future) => {
                match catch_unwind(AssertUnwindSafe(|| Pin::new(&mut future).poll(cx))) {
                    Ok(Poll::Pending) => {
                        this.answer = Answer::Pending(future);
                        return Poll::Pending;
                    }
                    Ok(Poll::Ready(Ok(response))) => response,
                    Ok(Poll::Ready(Err(never))) => match never {},
                    Err(panic) => failure::panic_response(panic),
                }
            }
            Answer::Refused(refusal) => refusal,
            Answer::Panicked(panic) => failure::panic_response(panic),
            // Polled again after it answered: a caller's bug, not a client's.
            Answer::Given => panic!("a request's answer was polled after it was given"),
        };
        if let Some(id) = this.id.take() {
            response
                .headers_mut()
                .entry(REQUEST_ID_HEADER)
                .or_insert(id);
        }
        log_answer(&response, this.started);
        Poll::Ready(Ok(response))
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

/// Logs an answer. At the default level (`info`) only service errors, with
/// their hidden detail and the request id: nothing is formatted for a request
/// that went well. `CCGATE_LOG=ccgate_server=debug` adds a line per request
/// (in its `request` span: id, method, path).
fn log_answer(response: &Response, started: Option<Instant>) {
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
        latency_us = started.map(|started| started.elapsed().as_micros()),
        "answered"
    );
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::io::Write;
    use std::sync::Mutex;

    use axum::Router;
    use axum::routing::get;
    use http_body_util::BodyExt;
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

    impl Log {
        fn lines(&self) -> Vec<String> {
            let text = String::from_utf8(self.0.lock().unwrap().clone()).unwrap();
            text.lines().map(str::to_owned).collect()
        }
    }

    fn logging_at_info() -> (Log, tracing::subscriber::DefaultGuard) {
        let log = Log::default();
        let writer = log.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::INFO)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish();
        (log, tracing::subscriber::set_default(subscriber))
    }

    fn app() -> RequestFrame<Router> {
        RequestFrame::new(
            Router::new()
                .route("/ok", get(|| async { "ok" }))
                .route(
                    "/fail",
                    get(|| async { Failure::Internal("the pool is closed".into()) }),
                )
                .route(
                    "/panic",
                    get(|| async {
                        if true {
                            panic!("the handler's own bug");
                        }
                        "unreachable"
                    }),
                ),
            None,
        )
    }

    async fn call(app: &RequestFrame<Router>, path: &str, id: Option<&str>) -> (Response, String) {
        let mut request = Request::get(path);
        if let Some(id) = id {
            request = request.header("X-Request-Id", id);
        }
        let response = app
            .clone()
            .oneshot(request.body(Body::empty()).unwrap())
            .await
            .unwrap();
        let id = response.headers()[&REQUEST_ID_HEADER]
            .to_str()
            .unwrap()
            .to_owned();
        (response, id)
    }

    #[tokio::test]
    async fn at_the_default_level_only_service_errors_are_logged_with_their_request_id() {
        let (log, _default) = logging_at_info();
        let app = app();
        for path in ["/ok", "/ok", "/fail"] {
            call(&app, path, None).await;
        }
        let lines = log.lines();
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert!(lines[0].contains("answer service error"), "{lines:?}");
        assert!(lines[0].contains("the pool is closed"), "{lines:?}");
        // The third request's id, as its answer's X-Request-Id says.
        assert!(lines[0].contains("request_id=\"req-2\""), "{lines:?}");
    }

    #[tokio::test]
    async fn a_client_s_request_id_is_answered_as_given_and_the_others_are_numbered() {
        let app = app();
        assert_eq!(call(&app, "/ok", None).await.1, "req-0");
        assert_eq!(call(&app, "/ok", Some("trace-7f3a")).await.1, "trace-7f3a");
        assert_eq!(call(&app, "/fail", None).await.1, "req-1");
        // Unknown paths pass through the frame too.
        assert_eq!(call(&app, "/nowhere", None).await.1, "req-2");
    }

    #[tokio::test]
    async fn a_panicking_handler_is_a_service_error_and_the_server_goes_on() {
        let (log, _default) = logging_at_info();
        let app = app();
        let (response, id) = call(&app, "/panic", None).await;
        assert_eq!(id, "req-0");
        let body = response.into_body().collect().await.unwrap().to_bytes();
        let code = ccgate_api::Code::ServiceError;
        assert_eq!(body, ccgate_api::error_body(code, code.default_msg()));
        assert!(
            !String::from_utf8_lossy(&body).contains("own bug"),
            "the panic's text stays in the log: {body:?}"
        );
        let lines = log.lines();
        assert!(
            lines
                .iter()
                .any(|line| line.contains("handler panicked")
                    && line.contains("the handler's own bug")),
            "{lines:?}"
        );
        // Once, by the answers' log, with the request id.
        let naming_it: Vec<&String> = lines
            .iter()
            .filter(|line| line.contains("own bug"))
            .collect();
        assert_eq!(naming_it.len(), 1, "{lines:?}");
        assert!(naming_it[0].contains("request_id=\"req-0\""), "{lines:?}");
        assert_eq!(call(&app, "/ok", None).await.1, "req-1");
    }

    #[tokio::test]
    async fn a_service_that_panics_when_called_is_a_service_error_too() {
        let (_log, _default) = logging_at_info();
        let app = RequestFrame::new(
            tower::service_fn(|_: Request<Body>| {
                if true {
                    panic!("refused to start");
                }
                std::future::ready(Ok::<Response, Infallible>(Response::default()))
            }),
            None,
        );
        let response = app
            .oneshot(Request::get("/").body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(response.headers()[&REQUEST_ID_HEADER], "req-0");
        let body = response.into_body().collect().await.unwrap().to_bytes();
        let code = ccgate_api::Code::ServiceError;
        assert_eq!(body, ccgate_api::error_body(code, code.default_msg()));
    }
}
