//! How an API route is served: the route's own handler closure reads the
//! body, authenticates it in its dialect, calls the endpoint's function with
//! the merchant and the exact bytes, signs the answer (v1) and counts it —
//! one call, no middleware between the router and the endpoint. Layers on a
//! route each box and clone a service per request, and the request's
//! extension map carried what the pipeline found; both cost more than the
//! endpoint's own work on the cached `assets` path (issue #16 §1).

use std::future::Future;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, post};

use crate::AppState;
use crate::auth::{SignedCall, V1_SIGNATURE, V2_SIGNATURE, authenticate, sign_response};
use crate::failure::Failure;
use crate::metrics::EndpointMetrics;

/// An API endpoint's function, waiting for its route's figures to become the
/// route's handler (see [`crate::router`]).
pub struct Endpoint(Box<dyn FnOnce(Arc<EndpointMetrics>) -> MethodRouter<AppState> + Send>);

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Endpoint")
    }
}

impl Endpoint {
    pub(crate) fn route(self, figures: Arc<EndpointMetrics>) -> MethodRouter<AppState> {
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
    counted(move |state, request| {
        let handler = handler.clone();
        async move {
            let call = match authenticate(&state, request, &V1_SIGNATURE).await {
                Ok(call) => call,
                Err(failure) => return failure.into_response(),
            };
            let merchant = Arc::clone(&call.merchant);
            let answer = handler(state, call).await.into_response();
            sign_response(&merchant, answer).await
        }
    })
}

/// A v2 endpoint: authenticated by v2's signature, its answer unsigned, every
/// failure in v2's envelope.
pub fn v2<H, F, A>(handler: H) -> Endpoint
where
    H: Fn(AppState, SignedCall) -> F + Clone + Send + Sync + 'static,
    F: Future<Output = A> + Send + 'static,
    A: IntoResponse,
{
    counted(move |state, request| {
        let handler = handler.clone();
        async move {
            match authenticate(&state, request, &V2_SIGNATURE).await {
                Ok(call) => handler(state, call).await.into_response(),
                Err(failure) => failure.into_v2_response(),
            }
        }
    })
}

/// The route answering each request with `answer`, counted and timed in the
/// route's figures.
fn counted<C, F>(answer: C) -> Endpoint
where
    C: Fn(AppState, Request) -> F + Clone + Send + Sync + 'static,
    F: Future<Output = Response> + Send + 'static,
{
    Endpoint(Box::new(move |figures| {
        post(move |State(state): State<AppState>, request: Request| {
            let answering = answer(state, request);
            let figures = Arc::clone(&figures);
            async move { figures.counted(answering).await }
        })
    }))
}
