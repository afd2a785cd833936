use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;

use crate::AppState;
use crate::failure::{Failure, json_response};

/// `GET /healthz`: 200 when the database answers, for load balancers.
pub async fn healthz(State(state): State<AppState>) -> Result<Response, Failure> {
    state.store.ping().await?;
    Ok(json_response(
        StatusCode::OK,
        br#"{"status":"ok"}"#.to_vec(),
    ))
}
