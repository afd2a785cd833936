//! What every API call goes through before and after its endpoint (served by
//! [`crate::endpoint`]): read the raw body within the limit, authenticate
//! `Appid`/`Timestamp`/`Sign` over those exact bytes in the call's dialect,
//! and, in v1, sign whatever the endpoint answers (decisions §1).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderName, HeaderValue, header};
use axum::response::Response;
use ccgate_api::sign;
use ccgate_engine::domain::{MerchantCredentials, MerchantStatus};
use http_body_util::BodyExt;
use secrecy::ExposeSecret;

use crate::AppState;
use crate::client_ip::client_ip;
use crate::failure::Failure;

/// After refusing an oversized body we still read (and discard) up to this much
/// of it, so the client, still sending, receives the 413 envelope instead of a
/// connection reset. Past it the connection is simply closed.
const BODY_DRAIN_BYTES_MAX: usize = 16 * 1024 * 1024;
/// Our own answers are small; this only bounds a bug.
const RESPONSE_BYTES_MAX: usize = 16 * 1024 * 1024;

/// An authenticated API call as its endpoint gets it: the merchant whose
/// signature checked out (the credentials the cache holds, shared: a request
/// clones a pointer, not its strings) and the body exactly as received and
/// signed.
#[derive(Debug)]
pub struct SignedCall {
    pub merchant: Arc<MerchantCredentials>,
    pub body: Bytes,
}

/// Reads `request`'s body within the limit and authenticates it in
/// `scheme`. Only an authenticated call gets a signed answer: signing the
/// refusal of a forged or replayed request would hand its sender our
/// signature of a body of its choosing's neighbour, an oracle for the
/// secret. Every official SDK checks signatures on code 10000 only, which an
/// unauthenticated request never gets (docs/decisions.md §6).
pub(crate) async fn authenticate(
    state: &AppState,
    request: Request,
    scheme: &SignatureScheme,
) -> Result<SignedCall, Failure> {
    let (parts, body) = request.into_parts();
    let body = read_body(body, &parts.headers, state.config.body_limit_bytes).await?;
    let merchant = find_merchant(state, &parts).await?;
    check_signature(&parts.headers, &merchant, &body, scheme)?;
    Ok(SignedCall { merchant, body })
}

pub(crate) async fn read_body(
    body: Body,
    headers: &HeaderMap,
    limit_bytes: usize,
) -> Result<Bytes, Failure> {
    let too_large = Failure::BodyTooLarge { limit_bytes };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let mut body = body;
    if declared.is_some_and(|len| len > limit_bytes as u64) {
        drain(body, 0).await;
        return Err(too_large);
    }
    // A small body arrives in one frame: its bytes are kept as they came,
    // and copied into one buffer only when a second frame follows.
    let mut seen = 0;
    let mut first = Bytes::new();
    let mut joined = Vec::new();
    while let Some(frame) = body.frame().await {
        let Ok(frame) = frame else {
            return Err(Failure::Request(ccgate_api::RequestError::InvalidJson(
                "the request body could not be read".to_owned(),
            )));
        };
        if let Ok(data) = frame.into_data() {
            seen += data.len();
            if seen > limit_bytes {
                drain(body, seen).await;
                return Err(too_large);
            }
            if first.is_empty() && joined.is_empty() {
                first = data;
            } else {
                if joined.is_empty() {
                    joined.extend_from_slice(&first);
                }
                joined.extend_from_slice(&data);
            }
        }
    }
    Ok(if joined.is_empty() {
        first
    } else {
        Bytes::from(joined)
    })
}

async fn drain(mut body: Body, mut seen: usize) {
    while seen < BODY_DRAIN_BYTES_MAX {
        match body.frame().await {
            Some(Ok(frame)) => seen += frame.data_ref().map_or(0, |d| d.len()),
            _ => return,
        }
    }
}

/// The signature headers, named once: a name given as text is parsed again
/// at every look-up.
const APPID: HeaderName = HeaderName::from_static("appid");
const TIMESTAMP: HeaderName = HeaderName::from_static("timestamp");
const SIGN: HeaderName = HeaderName::from_static("sign");

/// A header's value as text; an empty or absent header counts as missing.
fn header_text<'a>(headers: &'a HeaderMap, name: &HeaderName) -> Result<&'a str, Failure> {
    match headers.get(name) {
        None => Err(Failure::HeaderMissing(name_for_humans(name))),
        Some(value) if value.is_empty() => Err(Failure::HeaderMissing(name_for_humans(name))),
        // Non-visible-ASCII bytes cannot be a valid value; treat as an empty
        // string so the specific check below refuses it with its own code.
        Some(value) => Ok(value.to_str().unwrap_or("")),
    }
}

fn name_for_humans(name: &HeaderName) -> &'static str {
    match name.as_str() {
        "appid" => "Appid",
        "timestamp" => "Timestamp",
        _ => "Sign",
    }
}

/// The merchant the request names, if the request's client address may
/// call for it (its API allowlist, checked by the engine).
pub(crate) async fn find_merchant(
    state: &AppState,
    parts: &Parts,
) -> Result<Arc<MerchantCredentials>, Failure> {
    let headers = &parts.headers;
    let app_id = header_text(headers, &APPID)?;
    header_text(headers, &TIMESTAMP)?;
    header_text(headers, &SIGN)?;
    // Without the connection's address (never so when served), the
    // unspecified address: no allowlist that lists addresses admits it.
    let client = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |info| {
            client_ip(info.0.ip(), headers, &state.config.trusted_proxies)
        });
    let credentials = state
        .merchants
        .api_credentials(app_id.trim(), client)
        .await?
        .ok_or(Failure::AppIdUnknown)?;
    if credentials.status != MerchantStatus::Active {
        return Err(Failure::AppIdDisabled);
    }
    Ok(credentials)
}

/// A dialect's signature scheme: how its Timestamp is read and its Sign
/// verified (v1's SHA-256 here, v2's HMAC in `crate::v2`).
pub(crate) struct SignatureScheme {
    pub(crate) check_timestamp: fn(&str, i64) -> Result<i64, ccgate_api::RequestError>,
    pub(crate) verify: fn(&str, &str, &str, &[u8], &str) -> bool,
}

/// v1's: unix seconds within the window, `SHA256(Appid + AppSecret + Timestamp + body)`.
pub(crate) const V1_SIGNATURE: SignatureScheme = SignatureScheme {
    check_timestamp: sign::check_timestamp,
    verify: sign::verify,
};

/// v2's: a Timestamp in seconds (or milliseconds) within the window,
/// `HMAC-SHA256(AppSecret, Appid + Timestamp + body)`.
pub(crate) const V2_SIGNATURE: SignatureScheme = SignatureScheme {
    check_timestamp: ccgate_api::v2::sign::check_timestamp,
    verify: ccgate_api::v2::sign::verify,
};

/// The request's Timestamp within the window and its Sign over `body`,
/// under the merchant's secret, in `scheme`.
pub(crate) fn check_signature(
    headers: &HeaderMap,
    credentials: &MerchantCredentials,
    body: &[u8],
    scheme: &SignatureScheme,
) -> Result<(), Failure> {
    let timestamp = header_text(headers, &TIMESTAMP)?;
    (scheme.check_timestamp)(timestamp, unix_now())?;
    let provided = header_text(headers, &SIGN)?;
    let verified = (scheme.verify)(
        credentials.app_id.as_str(),
        credentials.app_secret.expose_secret(),
        timestamp.trim(),
        body,
        provided,
    );
    if verified {
        Ok(())
    } else {
        Err(Failure::SignatureInvalid)
    }
}

pub(crate) async fn sign_response(
    credentials: &MerchantCredentials,
    response: Response,
) -> Response {
    let (mut parts, body) = response.into_parts();
    // An answer is one frame: kept as it is, not collected into a list.
    let bytes = match read_body(body, &HeaderMap::new(), RESPONSE_BYTES_MAX).await {
        Ok(bytes) => bytes,
        Err(failure) => {
            tracing::error!(error = ?failure, "collect the response body");
            parts.status = axum::http::StatusCode::OK;
            let code = ccgate_api::Code::ServiceError;
            Bytes::from(ccgate_api::error_body(code, code.default_msg()))
        }
    };
    // The header values own the texts that were signed: written once, not
    // formatted and then copied (issue #16 §1).
    let timestamp = HeaderValue::from(unix_now());
    let signature = sign::sign(
        credentials.app_id.as_str(),
        credentials.app_secret.expose_secret(),
        timestamp.to_str().unwrap_or_default(),
        &bytes,
    );
    let headers = &mut parts.headers;
    if let Ok(app_id) = HeaderValue::from_str(credentials.app_id.as_str()) {
        headers.insert(APPID, app_id);
    }
    headers.insert(TIMESTAMP, timestamp);
    if let Ok(signature) = HeaderValue::try_from(signature) {
        headers.insert(SIGN, signature);
    }
    Response::from_parts(parts, Body::from(bytes))
}

/// Timestamps are checked against the real clock, also in the sandbox, whose
/// virtual clock moves business time only (decisions §1).
pub(crate) fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}
