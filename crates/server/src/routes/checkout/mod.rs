//! Hosted checkout (spec §2.1): `concise/url/get` makes a checkout priced in
//! USD; its public page (`GET /pay/{key}`) lets the payer pick a coin and
//! network, then shows the exact amount, the address and its QR code, a
//! countdown and the status, live. The page needs no JavaScript to work (a
//! form picks the network, a link refreshes the status); with it, the status
//! and countdown update by themselves.

mod page;

pub use page::{SCRIPT_PATH, STYLESHEET_PATH};

use axum::extract::{Form, Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Json};
use ccgate_api::orders::{ConciseUrlRequest, PaymentUrl};
use ccgate_api::request::Fields;
use ccgate_engine::orders::HostedCheckoutRequest;
use ccgate_ledger::TokenId;
use ccgate_store::{Checkout, MerchantStatus};
use serde::Deserialize;
use serde_json::json;

use super::success;
use crate::AppState;
use crate::auth::{Authenticated, RawBody};
use crate::failure::Failure;

/// Longest checkout key accepted in a URL (32 hex digits; 33 decimal digits before).
const CHECKOUT_KEY_CHARS_MAX: usize = 64;

pub async fn concise_url_get(
    State(state): State<AppState>,
    Extension(Authenticated(merchant)): Extension<Authenticated>,
    Extension(RawBody(body)): Extension<RawBody>,
) -> Result<Response, Failure> {
    let request = ConciseUrlRequest::from_fields(&Fields::parse(&body)?)?;
    let checkout = state
        .orders
        .create_hosted(
            &merchant.app_id,
            &HostedCheckoutRequest {
                product_price: request.product_price,
                merchant_order_id: request.merchant_order_id,
                product_name: request.product_name,
                order_valid_period: request.order_valid_period,
                return_url: request.return_url,
                notify_url: request.notify_url,
                custom_value: request.custom_value,
            },
            state.clock.now_unix_ms(),
        )
        .await?;
    success(&PaymentUrl {
        payment_url: format!(
            "{}/pay/{}",
            state.config.public_url.trim_end_matches('/'),
            checkout.key
        ),
    })
}

/// The page loads only its own stylesheet and script, talks only to this
/// server, and may not be framed (clickjacking a payer into paying).
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
    connect-src 'self'; img-src 'self' data:; form-action 'self'; base-uri 'none'; \
    frame-ancestors 'none'";

/// What every answer of the hosted page carries, besides its content type.
const PAGE_HEADERS: [(header::HeaderName, &str); 4] = [
    (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
    (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    // The checkout key in the URL is the payment's only credential.
    (header::REFERRER_POLICY, "no-referrer"),
    (header::X_FRAME_OPTIONS, "DENY"),
];

fn html(status: StatusCode, body: String) -> Response {
    hardened(status, "text/html; charset=utf-8", "no-store", body)
}

/// The page's stylesheet and script: the same bytes for the whole run.
fn asset(content_type: &'static str, body: String) -> Response {
    hardened(StatusCode::OK, content_type, "no-cache", body)
}

/// An answer of the hosted page, with [`PAGE_HEADERS`].
fn hardened(
    status: StatusCode,
    content_type: &'static str,
    cache_control: &'static str,
    body: String,
) -> Response {
    let mut response = (
        status,
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, cache_control),
        ],
        body,
    )
        .into_response();
    let headers = response.headers_mut();
    for (name, value) in PAGE_HEADERS {
        headers.insert(name, header::HeaderValue::from_static(value));
    }
    response
}

/// `GET /assets/checkout.css`.
pub async fn stylesheet() -> Response {
    asset("text/css; charset=utf-8", page::STYLE.to_owned())
}

/// `GET /assets/checkout.js`.
pub async fn script() -> Response {
    asset("text/javascript; charset=utf-8", page::script())
}

/// The checkout behind `key`, while its merchant may take payments: a
/// disabled merchant's links stop working, as its API calls do.
async fn find_checkout(state: &AppState, key: &str) -> Result<Option<Checkout>, Failure> {
    if key.len() > CHECKOUT_KEY_CHARS_MAX {
        return Ok(None);
    }
    let Some(checkout) = state.deposits.checkout(key).await? else {
        return Ok(None);
    };
    let active = state
        .store
        .merchant_credentials(checkout.app_id.as_str())
        .await?
        .is_some_and(|merchant| merchant.status == MerchantStatus::Active);
    Ok(active.then_some(checkout))
}

fn not_found() -> Response {
    html(
        StatusCode::NOT_FOUND,
        page::message("Payment not found", "This payment link is not valid."),
    )
}

/// `GET /pay/{key}`: the page.
pub async fn show(State(state): State<AppState>, Path(key): Path<String>) -> Response {
    match render(&state, &key).await {
        Ok(response) => response,
        Err(failure) => {
            tracing::error!(error = %failure, "render a checkout page");
            html(
                StatusCode::INTERNAL_SERVER_ERROR,
                page::message(
                    "Something went wrong",
                    "Please reload this page in a moment.",
                ),
            )
        }
    }
}

async fn render(state: &AppState, key: &str) -> Result<Response, Failure> {
    let Some(checkout) = find_checkout(state, key).await? else {
        return Ok(not_found());
    };
    let now_secs = state.clock.now_unix_ms().div_euclid(1000);
    let Some(order) = state.orders.checkout_order(&checkout).await? else {
        let expired = now_secs > checkout.expires_at;
        return Ok(html(
            StatusCode::OK,
            page::choose(&checkout, &state.registry, expired),
        ));
    };
    let (progress, _) = state.orders.progress(&order, now_secs).await?;
    let Some((coin, token)) = state.registry.token(&order.token_id) else {
        return Err(Failure::Internal(format!(
            "order {} has an unknown token",
            order.order_id
        )));
    };
    let chain_name = state
        .registry
        .chain(&order.chain)
        .map_or_else(|| order.chain.clone(), |c| c.name.clone());
    let view = page::PaymentView {
        checkout: &checkout,
        order: &order,
        symbol: &coin.symbol,
        network: &token.network,
        chain_name: &chain_name,
        amount: order.order_amount.to_decimal_string(coin.precision),
        status: progress.status.as_str(),
        now_secs,
    };
    Ok(html(StatusCode::OK, page::payment(&view)))
}

#[derive(Debug, Deserialize)]
pub struct Choice {
    token_id: String,
}

/// `POST /pay/{key}/select`: the payer's network; back to the page.
pub async fn select(
    State(state): State<AppState>,
    Path(key): Path<String>,
    Form(choice): Form<Choice>,
) -> Response {
    let outcome = async {
        let Some(checkout) = find_checkout(&state, &key).await? else {
            return Ok(None);
        };
        let Some((coin, token)) = state
            .registry
            .token(&TokenId::new(choice.token_id.as_str()))
        else {
            return Err(Failure::token_not_found(&choice.token_id));
        };
        let chain = state
            .registry
            .chain(token.chain.as_str())
            .ok_or_else(|| Failure::chain_not_supported(token.chain.as_str()))?;
        state
            .orders
            .choose_network(&checkout, coin, token, chain, state.clock.now_unix_ms())
            .await?;
        Ok::<_, Failure>(Some(()))
    }
    .await;
    match outcome {
        Ok(Some(())) => Redirect::to(&format!("/pay/{key}")).into_response(),
        Ok(None) => not_found(),
        Err(failure) => html(
            StatusCode::BAD_REQUEST,
            page::message("This payment cannot be made", &failure.to_string()),
        ),
    }
}

/// `GET /pay/{key}/status`: what the page's script polls.
pub async fn status(State(state): State<AppState>, Path(key): Path<String>) -> Response {
    let outcome = async {
        let Some(checkout) = find_checkout(&state, &key).await? else {
            return Ok(None);
        };
        let now_secs = state.clock.now_unix_ms().div_euclid(1000);
        let answer = match state.orders.checkout_order(&checkout).await? {
            None => json!({
                "status": if now_secs > checkout.expires_at { "Expired" } else { "Pending" },
                "expires_at": checkout.expires_at,
                "now": now_secs,
            }),
            Some(order) => {
                let (progress, _) = state.orders.progress(&order, now_secs).await?;
                let precision = state.registry.coin(&order.coin_id).map(|c| c.precision);
                let print = |amount: ccgate_ledger::Amount| {
                    precision.map_or_else(String::new, |p| amount.to_decimal_string(p))
                };
                json!({
                    "status": progress.status.as_str(),
                    "paid_amount": print(progress.paid),
                    "order_amount": print(order.order_amount),
                    "expires_at": order.expires_at,
                    "now": now_secs,
                })
            }
        };
        Ok::<_, Failure>(Some(answer))
    }
    .await;
    match outcome {
        Ok(Some(answer)) => ([(header::CACHE_CONTROL, "no-store")], Json(answer)).into_response(),
        Ok(None) => (
            StatusCode::NOT_FOUND,
            Json(json!({"error": "no such payment"})),
        )
            .into_response(),
        Err(failure) => {
            tracing::error!(error = %failure, "checkout status");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                Json(json!({"error": "try again"})),
            )
                .into_response()
        }
    }
}
