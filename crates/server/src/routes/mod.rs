pub mod assets;
pub mod health;

use axum::http::{Method, Uri};

use crate::failure::Failure;

pub async fn not_found(uri: Uri) -> Failure {
    Failure::RouteNotFound(uri.path().chars().take(200).collect())
}

pub async fn method_not_allowed(method: Method) -> Failure {
    Failure::MethodNotAllowed(method.to_string())
}
