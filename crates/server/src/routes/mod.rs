pub mod addresses;
pub mod assets;
pub mod checkout;
pub mod coins;
pub mod cwallet;
pub mod docs;
pub mod health;
pub mod home;
pub mod network;
pub mod orders;
pub mod rates;
pub mod webhooks;
pub mod withdrawals;

use axum::http::{Method, StatusCode, Uri};
use axum::response::Response;
use ccgate_api::success_body;

use crate::failure::{Failure, json_response};

pub async fn not_found(uri: Uri) -> Response {
    Failure::RouteNotFound(uri.path().chars().take(200).collect()).into_response_for(uri.path())
}

pub async fn method_not_allowed(method: Method, uri: Uri) -> Response {
    method_refusal(&method, uri.path())
}

/// The envelope refusing `method` at `path`, in the path's dialect.
pub(crate) fn method_refusal(method: &Method, path: &str) -> Response {
    Failure::MethodNotAllowed(method.to_string()).into_response_for(path)
}

/// A JSON success answer; `endpoint::v1` signs it.
pub fn success<T: serde::Serialize>(data: &T) -> Result<Response, Failure> {
    let body = success_body(data)
        .map_err(|err| Failure::Internal(format!("serialise the answer: {err}")))?;
    Ok(json_response(StatusCode::OK, body))
}
