//! Hosted checkout (spec §2.1): `concise/url/get` makes a checkout priced in
//! USD; its public page (`GET /pay/{key}`) lets the payer pick a coin and
//! network, then shows the exact amount, the address and its QR code, a
//! countdown and the status, live. The page needs no JavaScript to work (a
//! form picks the network, a link refreshes the status); with it, the status
//! and countdown update by themselves.

mod page;

pub(crate) use page::qr_svg;
pub use page::{SCRIPT_PATH, STYLESHEET_PATH};

use axum::Json;
use axum::extract::{Form, Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use ccgate_api::orders::{ConciseUrlRequest, PaymentUrl};
use ccgate_api::request::Fields;
use ccgate_engine::Rejection;
use ccgate_engine::domain::{Checkout, MerchantStatus, WebhookDialect};
use ccgate_engine::orders::{
    HostedCheckoutRequest, HostedPricing, OrderState, OrderStatus, Validity,
};
use ccgate_ledger::{Amount, AssetStatus, Chain, Token, TokenId};
use serde::Deserialize;
use serde_json::json;

use super::success;
use crate::AppState;
use crate::auth::SignedCall;
use crate::failure::Failure;

/// Longest checkout key accepted in a URL (32 hex digits; 33 decimal digits before).
const CHECKOUT_KEY_CHARS_MAX: usize = 64;

pub async fn concise_url_get(
    state: AppState,
    SignedCall { merchant, body }: SignedCall,
) -> Result<Response, Failure> {
    let request = ConciseUrlRequest::from_fields(&Fields::parse(&body)?)?;
    let checkout = state
        .orders
        .create_hosted(
            &merchant.app_id,
            &HostedCheckoutRequest {
                product_price: request.product_price,
                pricing: HostedPricing::Fiat("USD".to_owned()),
                merchant_order_id: request.merchant_order_id,
                product_name: request.product_name,
                validity: Validity::Period(request.order_valid_period),
                return_url: request.return_url,
                notify_url: request.notify_url,
                custom_value: request.custom_value,
                buyer_email: None,
                dialect: WebhookDialect::V1,
                invoice: false,
            },
            state.clock.now_unix_ms(),
            None,
        )
        .await?;
    success(&PaymentUrl {
        payment_url: page_url(&state, &checkout),
    })
}

/// Where the payer opens a checkout: `<public_url>/pay/<key>`.
pub(crate) fn page_url(state: &AppState, checkout: &Checkout) -> String {
    format!(
        "{}/pay/{}",
        state.config.public_url.trim_end_matches('/'),
        checkout.key
    )
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

/// An answer of the hosted page, with [`PAGE_HEADERS`]; the dashboard's
/// answers carry the same.
pub(crate) fn hardened(
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
    let Some(checkout) = state.records.checkout(key).await? else {
        return Ok(None);
    };
    let active = state
        .merchants
        .credentials(checkout.app_id.as_str())
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

/// The merchant's name as the payer sees it.
async fn merchant_name(state: &AppState, checkout: &Checkout) -> Result<String, Failure> {
    Ok(state
        .merchants
        .summary(&checkout.app_id)
        .await?
        .map(|merchant| merchant.name)
        .filter(|name| !name.trim().is_empty())
        .unwrap_or_else(|| "the merchant".to_owned()))
}

/// A contract token's standard ("ERC20"); nothing for a chain's own coin,
/// which the registry labels with its network all the same.
fn standard<'a>(chain: &Chain, token: &'a Token) -> Option<&'a str> {
    chain
        .is_contract(&token.contract)
        .then_some(token.network.as_str())
}

/// Every enabled coin and network, with the price in it at this moment.
fn network_options<'a>(
    state: &'a AppState,
    checkout: &Checkout,
    now_ms: i64,
) -> Vec<page::NetworkOption<'a>> {
    let registry = &state.registry;
    let mut options = Vec::new();
    // A checkout priced in a coin takes only that coin.
    let takes = |coin: &ccgate_ledger::Coin| {
        coin.status == AssetStatus::Normal
            && checkout
                .price_coin_id
                .as_ref()
                .is_none_or(|priced_in| *priced_in == coin.id)
    };
    for coin in registry.coins().filter(|coin| takes(coin)) {
        for token in coin
            .tokens
            .iter()
            .filter(|t| t.status == AssetStatus::Normal)
        {
            let Some(chain) = registry.chain(token.chain.as_str()) else {
                continue;
            };
            let quote = state
                .orders
                .hosted_quote(coin, token, checkout, now_ms)
                .ok()
                .map(|amount| amount.to_decimal_string(coin.precision));
            options.push(page::NetworkOption {
                token_id: token.id.as_str(),
                symbol: &coin.symbol,
                chain_code: chain.code.as_str(),
                chain_name: &chain.name,
                standard: standard(chain, token),
                quote,
            });
        }
    }
    options
}

/// (seen, required) confirmations of a payment in `block`.
async fn confirmations(
    state: &AppState,
    chain: &Chain,
    block: u64,
    now_ms: i64,
) -> Result<(u64, u64), Failure> {
    let height = state.network.height(chain, now_ms).await?;
    let required = chain.confirmations_required.max(1);
    let seen = height.saturating_add(1).saturating_sub(block).min(required);
    Ok((seen, required))
}

async fn render(state: &AppState, key: &str) -> Result<Response, Failure> {
    let Some(checkout) = find_checkout(state, key).await? else {
        return Ok(not_found());
    };
    let merchant_name = merchant_name(state, &checkout).await?;
    let now_ms = state.clock.now_unix_ms();
    let now_secs = now_ms.div_euclid(1000);
    let Some(order) = state.orders.checkout_order(&checkout).await? else {
        let order_id = state.orders.hosted_order_id(&checkout, now_ms).await?;
        let view = page::ChoiceView {
            checkout: &checkout,
            merchant_name: &merchant_name,
            order_id: &order_id,
            options: network_options(state, &checkout, now_ms),
            expired: now_secs > checkout.expires_at,
        };
        return Ok(html(StatusCode::OK, page::choose(&view)));
    };
    let OrderState {
        progress,
        payments,
        confirming,
    } = state.orders.progress(&order, now_secs).await?;
    let Some((coin, token)) = state.registry.token(&order.token_id) else {
        return Err(Failure::Internal(format!(
            "order {} has an unknown token",
            order.order_id
        )));
    };
    let chain = state
        .registry
        .chain(&order.chain)
        .ok_or_else(|| Failure::chain_not_supported(&order.chain))?;
    let print = |amount: Amount| amount.to_decimal_string(coin.precision);
    let still_due = (progress.status == OrderStatus::Pending && progress.underpaid)
        .then(|| order.order_amount.checked_sub(progress.paid))
        .flatten();
    let confirmations = match confirming.and_then(|payment| payment.block_height) {
        Some(block) if progress.status == OrderStatus::Processing => {
            Some(confirmations(state, chain, block, now_ms).await?)
        }
        _ => None,
    };
    // A devnet's transactions are on no explorer.
    let on_explorer = state.network.on_explorer(chain);
    let receipts = payments
        .iter()
        .map(|payment| page::Receipt {
            amount: print(payment.amount),
            txid: payment.txid.clone(),
            explorer_url: on_explorer
                .then(|| chain.explorer_tx(&payment.txid))
                .flatten(),
            pay_time: payment.pay_time,
        })
        .collect();
    let view = page::PaymentView {
        checkout: &checkout,
        merchant_name: &merchant_name,
        order: &order,
        symbol: &coin.symbol,
        chain_name: &chain.name,
        standard: standard(chain, token),
        status: progress.status,
        order_amount: print(order.order_amount),
        paid: print(progress.paid),
        still_due: still_due.map(print),
        payment_uri: page::payment_uri(
            chain,
            token,
            coin.precision,
            &order.pay_address,
            still_due.unwrap_or(order.order_amount),
        ),
        confirmations,
        receipts,
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
            return Err(Rejection::token_not_found(&choice.token_id).into());
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
                let OrderState {
                    progress,
                    confirming,
                    ..
                } = state.orders.progress(&order, now_secs).await?;
                let Some(coin) = state.registry.coin(&order.coin_id) else {
                    return Err(Failure::Internal(format!(
                        "order {} has an unknown coin",
                        order.order_id
                    )));
                };
                let print = |amount: Amount| amount.to_decimal_string(coin.precision);
                let mut answer = json!({
                    "status": progress.status.as_str(),
                    "paid_amount": print(progress.paid),
                    "order_amount": print(order.order_amount),
                    "expires_at": order.expires_at,
                    "now": now_secs,
                });
                let block = confirming.and_then(|payment| payment.block_height);
                if let (Some(block), Some(chain), OrderStatus::Processing) =
                    (block, state.registry.chain(&order.chain), progress.status)
                {
                    let (seen, required) =
                        confirmations(&state, chain, block, state.clock.now_unix_ms()).await?;
                    answer["confirmations"] = json!(seen);
                    answer["confirmations_required"] = json!(required);
                }
                answer
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
