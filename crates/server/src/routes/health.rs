use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::json;

use crate::AppState;
use crate::failure::{Failure, json_response};

/// `GET /healthz`: 200 when the database answers, for load balancers. It
/// says which kind of money this gateway moves — live (and on which chains)
/// or simulated, and whether it is a sandbox — so nobody mistakes one for
/// the other.
pub async fn healthz(State(state): State<AppState>) -> Result<Response, Failure> {
    state.network.ping().await?;
    let mut body = json!({"status": "ok", "mode": state.config.mode.as_str()});
    if state.config.mode.is_live() {
        body["live_chains"] = json!(state.network.live_chains());
    }
    if state.sandbox.is_some() {
        body["sandbox"] = json!(true);
    }
    Ok(json_response(StatusCode::OK, body.to_string().into_bytes()))
}
