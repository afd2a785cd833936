//! The operator's HTTP API, on its own loopback-only listener: the devnet's
//! `pay` and `mine`, order refunds, and Prometheus `/metrics`, for CI scripts in any language. Plain JSON in and out
//! (`{"error": "…"}` with HTTP 400 on a refusal); no signature, because only
//! processes on this machine can reach it.

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use ccgate_engine::devnet::{self, PayRequest};
use ccgate_ledger::MerchantId;
use serde::Deserialize;
use serde_json::json;

use crate::AppState;

pub fn admin_router(state: AppState) -> Router {
    Router::new()
        .route("/admin/devnet/pay", post(pay))
        .route("/admin/devnet/mine", post(mine))
        .route("/admin/orders/refund", post(refund))
        .route("/metrics", get(crate::metrics::scrape))
        .with_state(state)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PayBody {
    to: String,
    token_id: String,
    amount: String,
    from: Option<String>,
    memo: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MineBody {
    chain: String,
    blocks: Option<u64>,
}

fn refused(error: impl std::fmt::Display) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(json!({"error": error.to_string()})),
    )
        .into_response()
}

async fn pay(State(state): State<AppState>, Json(body): Json<PayBody>) -> Response {
    let request = PayRequest {
        to: body.to,
        token_id: body.token_id,
        amount: body.amount,
        from: body.from,
        memo: body.memo,
    };
    match devnet::pay(
        &state.registry,
        &state.chains,
        request,
        state.clock.now_unix_ms(),
    )
    .await
    {
        Ok(paid) => Json(json!({
            "chain": paid.transfer.chain,
            "txid": paid.transfer.txid,
            "block_height": paid.transfer.block_height,
            "confirmations_required": paid.confirmations_required,
        }))
        .into_response(),
        Err(err) => refused(err),
    }
}

async fn mine(State(state): State<AppState>, Json(body): Json<MineBody>) -> Response {
    let blocks = body.blocks.unwrap_or(1);
    match devnet::mine(
        &state.chains,
        &body.chain,
        blocks,
        state.clock.now_unix_ms(),
    )
    .await
    {
        Ok((chain, height)) => Json(json!({"chain": chain, "height": height})).into_response(),
        Err(err) => refused(err),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RefundBody {
    app_id: String,
    merchant_order_id: String,
    address: String,
    amount: String,
}

async fn refund(State(state): State<AppState>, Json(body): Json<RefundBody>) -> Response {
    let refunded = state
        .withdrawals
        .refund_order(
            &MerchantId::new(body.app_id),
            &body.merchant_order_id,
            body.address.trim(),
            body.amount.trim(),
            state.clock.now_unix_ms(),
        )
        .await;
    match refunded {
        Ok(refund) => Json(json!({
            "refund_id": refund.order_id,
            "record_id": refund.record_id,
            "status": refund.status.as_str(),
        }))
        .into_response(),
        Err(err) => refused(err),
    }
}
