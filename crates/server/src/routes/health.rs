use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;

use crate::AppState;
use crate::failure::{Failure, json_response};

/// `GET /healthz`: 200 when the database answers, for load balancers; a
/// sandbox says so, so nobody mistakes it for a gateway moving real money.
pub async fn healthz(State(state): State<AppState>) -> Result<Response, Failure> {
    state.store.ping().await?;
    let body: &[u8] = if state.sandbox.is_some() {
        br#"{"status":"ok","sandbox":true}"#
    } else {
        br#"{"status":"ok"}"#
    };
    Ok(json_response(StatusCode::OK, body.to_vec()))
}
