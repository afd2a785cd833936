//! How an API route is served: every `POST` to an API path goes straight
//! from [`ApiDispatch`] to its endpoint's [`Answerer`] — one map look-up, no
//! router, no middleware — which reads the body, authenticates it in its
//! dialect, calls the endpoint's function with the merchant and the exact
//! bytes, signs the answer (v1) and counts it. Layers on a route each box and
//! clone a service per request, and axum's router matches the path, stores
//! its (absent) parameters in the request's extensions and wraps the handler
//! in three more futures: together a tenth of the cached signed `assets`
//! call (issue #16 §1, decisions §55).

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderValue, Method, header};
use axum::response::{IntoResponse, Response};
use axum::routing::future::RouteFuture;
use ccgate_api::Code;
use ccgate_api::v2::V2Code;
use tower::Service;

use crate::AppState;
use crate::auth::{SignedCall, V1_SIGNATURE, V2_SIGNATURE, authenticate, sign_response};
use crate::failure::{Failure, V2Failure, V2Result};
use crate::metrics::EndpointMetrics;
use crate::routes;

/// An answer on its way, whichever endpoint gives it.
type Answering = Pin<Box<dyn Future<Output = Response> + Send>>;

/// An API endpoint's whole work, request in, counted answer out.
#[derive(Clone)]
pub(crate) struct Answerer(Arc<dyn Fn(AppState, Request) -> Answering + Send + Sync>);

/// An API endpoint's function, waiting for its route's figures to become its
/// [`Answerer`] (see [`crate::router`]).
pub struct Endpoint(Box<dyn FnOnce(Arc<EndpointMetrics>) -> Answerer + Send>);

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Endpoint")
    }
}

impl Endpoint {
    pub(crate) fn answerer(self, figures: Arc<EndpointMetrics>) -> Answerer {
        (self.0)(figures)
    }
}

/// A v1 endpoint: authenticated by v1's signature, its answer signed, every
/// failure in v1's envelope.
pub fn v1<H, F>(handler: H) -> Endpoint
where
    H: Fn(AppState, SignedCall) -> F + Clone + Send + Sync + 'static,
    F: Future<Output = Result<Response, Failure>> + Send + 'static,
{
    counted(move |state, request: Request| {
        let handler = handler.clone();
        async move {
            let call = match authenticate(&state, request, &V1_SIGNATURE).await {
                Ok(call) => call,
                Err(failure) => {
                    let code = failure.code().number();
                    return (failure.into_response(), code);
                }
            };
            let merchant = Arc::clone(&call.merchant);
            let (answer, code) = match handler(state, call).await {
                Ok(answer) => (answer, Code::Success.number()),
                Err(failure) => {
                    let code = failure.code().number();
                    (failure.into_response(), code)
                }
            };
            (sign_response(&merchant, answer).await, code)
        }
    })
}

/// A v2 endpoint: authenticated by v2's signature, its answer unsigned, every
/// failure in v2's envelope.
pub fn v2<H, F>(handler: H) -> Endpoint
where
    H: Fn(AppState, SignedCall) -> F + Clone + Send + Sync + 'static,
    F: Future<Output = V2Result> + Send + 'static,
{
    counted(move |state, request: Request| {
        let handler = handler.clone();
        async move {
            let failed = match authenticate(&state, request, &V2_SIGNATURE).await {
                Ok(call) => match handler(state, call).await {
                    Ok(answer) => return (answer, V2Code::Success.number()),
                    Err(V2Failure(failure)) => failure,
                },
                Err(failure) => failure,
            };
            let code = failed.v2_code().number();
            (failed.into_v2_response(), code)
        }
    })
}

/// The endpoint answering each request with `answer` (the response and the
/// code it carries), counted and timed in its route's figures.
fn counted<C, F>(answer: C) -> Endpoint
where
    C: Fn(AppState, Request) -> F + Send + Sync + 'static,
    F: Future<Output = (Response, u32)> + Send + 'static,
{
    Endpoint(Box::new(move |figures| {
        Answerer(Arc::new(move |state, request| {
            let answering = answer(state, request);
            let figures = Arc::clone(&figures);
            Box::pin(async move { figures.counted(answering).await })
        }))
    }))
}

/// The application's front door: a `POST` to an API path to its endpoint,
/// any other method there refused as the route would refuse it, and every
/// other path to the router (pages, checkout, dashboard, not found).
#[derive(Clone)]
pub struct ApiDispatch {
    /// By the full path (`/ccpayment/v1/assets`).
    endpoints: Arc<HashMap<String, Answerer>>,
    state: AppState,
    routes: Router,
}

impl std::fmt::Debug for ApiDispatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiDispatch")
            .field("endpoints", &self.endpoints.len())
            .finish_non_exhaustive()
    }
}

impl ApiDispatch {
    pub(crate) fn new(
        endpoints: HashMap<String, Answerer>,
        state: AppState,
        routes: Router,
    ) -> ApiDispatch {
        ApiDispatch {
            endpoints: Arc::new(endpoints),
            state,
            routes,
        }
    }
}

impl Service<Request> for ApiDispatch {
    type Response = Response;
    type Error = Infallible;
    type Future = Dispatched;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request) -> Dispatched {
        let Some(endpoint) = self.endpoints.get(request.uri().path()) else {
            return Dispatched::Routed(self.routes.call(request));
        };
        if request.method() == Method::POST {
            return Dispatched::Answering((endpoint.0)(self.state.clone(), request));
        }
        let mut refusal = routes::method_refusal(request.method(), request.uri().path());
        refusal
            .headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("POST"));
        Dispatched::Refused(Some(refusal))
    }
}

/// What [`ApiDispatch`] answers a request with.
pub enum Dispatched {
    Answering(Answering),
    Routed(RouteFuture<Infallible>),
    /// `None` once given.
    Refused(Option<Response>),
}

impl std::fmt::Debug for Dispatched {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Dispatched::Answering(_) => "Dispatched::Answering",
            Dispatched::Routed(_) => "Dispatched::Routed",
            Dispatched::Refused(_) => "Dispatched::Refused",
        })
    }
}

impl Future for Dispatched {
    type Output = Result<Response, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.get_mut() {
            Dispatched::Answering(answering) => answering.as_mut().poll(cx).map(Ok),
            Dispatched::Routed(routed) => Pin::new(routed).poll(cx),
            Dispatched::Refused(refusal) => Poll::Ready(Ok(refusal
                .take()
                .unwrap_or_else(|| panic!("a refusal was polled after it was given")))),
        }
    }
}
