//! The operator's HTTP API, on its own loopback-only listener: the devnet's
//! `pay` and `mine`, order refunds, the stream of webhooks as they are sent
//! (`ccgate listen`), Prometheus `/metrics`, and in sandbox mode the sandbox's
//! controls, for CI scripts in any language. Plain JSON in and out
//! (`{"error": "…"}` with HTTP 400 on a refusal). Every request, `/metrics`
//! included, passes [`crate::admin_access`] first: addressed to this listener,
//! from no web page, with the admin token.

use std::convert::Infallible;

use axum::Json;
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use ccgate_chain::ChainAdapter;
use ccgate_engine::deposits::{ReorgMode, ReorgReport, ReorgRequest};
use ccgate_engine::devnet::{self, PayRequest};
use ccgate_engine::reconcile::RescanOutcome;
use ccgate_engine::sandbox::{ClockView, SnapshotInfo};
use ccgate_engine::triggers::{TRIGGERS, TriggerRequest, Triggers};
use ccgate_engine::webhooks::SentWebhook;
use ccgate_ledger::MerchantId;
use serde::Deserialize;
use serde_json::json;

use crate::AppState;
use crate::admin_access::AdminAccess;

pub fn admin_router(state: AppState, access: AdminAccess) -> Router {
    let router = Router::new()
        .route("/admin/orders/refund", post(refund))
        .route("/admin/evm/rescan", post(rescan))
        .route("/admin/webhooks/stream", get(webhooks_stream))
        .route("/metrics", get(crate::metrics::scrape));
    // A live gateway has no devnet, so nothing here mints simulated money;
    // with the operator's opt-in its devnets mint devnet coins only.
    let router = if state.chains.devnets().next().is_some() {
        router
            .route("/admin/devnet/pay", post(pay))
            .route("/admin/devnet/mine", post(mine))
    } else {
        router
    };
    // The sandbox's controls exist only in sandbox mode: a production
    // gateway has no endpoint that moves its clock.
    let router = if state.sandbox.is_some() {
        router
            .route("/admin/sandbox/clock", get(clock_show))
            .route("/admin/sandbox/clock/advance", post(clock_advance))
            .route("/admin/sandbox/clock/freeze", post(clock_freeze))
            .route("/admin/sandbox/clock/resume", post(clock_resume))
            .route("/admin/sandbox/triggers", get(trigger_list))
            .route("/admin/devnet/reorg", post(reorg))
            .route("/admin/sandbox/trigger", post(trigger))
            .route("/admin/sandbox/webhooks/fault", post(webhooks_fault))
            .route("/admin/sandbox/webhooks/clear", post(webhooks_clear))
            .route("/admin/sandbox/snapshots", get(snapshot_list))
            .route("/admin/sandbox/snapshot/save", post(snapshot_save))
            .route("/admin/sandbox/snapshot/restore", post(snapshot_restore))
            .route("/admin/sandbox/snapshot/delete", post(snapshot_delete))
    } else {
        router
    };
    router
        .layer(axum::middleware::from_fn_with_state(
            access,
            crate::admin_access::guard,
        ))
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
struct RescanBody {
    chain: String,
    txid: String,
}

/// `ccgate evm rescan` through the running server: one confirmed
/// transaction looked at again, what is ours and was missed credited once.
async fn rescan(State(state): State<AppState>, Json(body): Json<RescanBody>) -> Response {
    let Some(reconciler) = state.reconcilers.iter().find(|reconciler| {
        reconciler
            .chain()
            .chain()
            .code
            .as_str()
            .eq_ignore_ascii_case(&body.chain)
    }) else {
        return refused(format!(
            "chain {:?} follows no EVM node here",
            body.chain.chars().take(32).collect::<String>()
        ));
    };
    match reconciler.rescan(&body.txid, state.clock.now_unix_ms()).await {
        Ok(report) => Json(json!({
            "txid": report.txid,
            "block_height": report.block_height,
            "traced": report.traced,
            "transfers": report.transfers.iter().map(|(transfer, outcome)| json!({
                "log_index": transfer.log_index,
                "from_address": transfer.from_address,
                "to_address": transfer.to_address,
                "token_id": transfer.token_id.as_str(),
                "amount_base_units": transfer.amount.base_units().to_string(),
                "outcome": outcome.as_str(),
            })).collect::<Vec<_>>(),
            "credited": report.transfers.iter().filter(|(_, o)| *o == RescanOutcome::Credited).count(),
        }))
        .into_response(),
        Err(err) => refused(err),
    }
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

fn not_a_sandbox() -> Response {
    refused("this gateway is not a sandbox (start it with `serve --sandbox`)")
}

fn clock_json(clock: ClockView) -> serde_json::Value {
    json!({
        "now": clock.now_ms.div_euclid(1000),
        "now_ms": clock.now_ms,
        "frozen": clock.frozen,
        "offset_ms": clock.offset_ms,
    })
}

async fn clock_show(State(state): State<AppState>) -> Response {
    match state.sandbox.as_deref() {
        Some(sandbox) => Json(clock_json(sandbox.view())).into_response(),
        None => not_a_sandbox(),
    }
}

async fn clock_freeze(State(state): State<AppState>) -> Response {
    let Some(sandbox) = state.sandbox.as_deref() else {
        return not_a_sandbox();
    };
    match sandbox.freeze().await {
        Ok(clock) => Json(clock_json(clock)).into_response(),
        Err(err) => refused(err),
    }
}

async fn clock_resume(State(state): State<AppState>) -> Response {
    let Some(sandbox) = state.sandbox.as_deref() else {
        return not_a_sandbox();
    };
    match sandbox.resume().await {
        Ok(clock) => Json(clock_json(clock)).into_response(),
        Err(err) => refused(err),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AdvanceBody {
    /// A duration such as `31m30s`, `2h`, `90s` or `1500ms`.
    by: String,
}

async fn clock_advance(State(state): State<AppState>, Json(body): Json<AdvanceBody>) -> Response {
    let Some(sandbox) = state.sandbox.as_deref() else {
        return not_a_sandbox();
    };
    let by = match humantime::parse_duration(body.by.trim()) {
        Ok(by) => by,
        Err(err) => {
            return refused(format!(
                "`by` {:?} is not a duration like 31m30s, 2h or 1500ms: {err}",
                body.by
            ));
        }
    };
    let by_ms = u64::try_from(by.as_millis()).unwrap_or(u64::MAX);
    match sandbox.advance(by_ms).await {
        Ok(advanced) => {
            let mut answer = clock_json(advanced.clock);
            answer["steps"] = json!(advanced.steps);
            answer["work_done"] = json!(advanced.work_done);
            Json(answer).into_response()
        }
        Err(err) => refused(err),
    }
}

async fn trigger_list() -> Response {
    let triggers: Vec<_> = TRIGGERS
        .iter()
        .map(|(name, what)| json!({"name": name, "description": what}))
        .collect();
    Json(json!({ "triggers": triggers })).into_response()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TriggerBody {
    name: String,
    app_id: String,
    merchant_order_id: Option<String>,
    token_id: Option<String>,
}

async fn trigger(State(state): State<AppState>, Json(body): Json<TriggerBody>) -> Response {
    let Some(sandbox) = state.sandbox.as_deref() else {
        return not_a_sandbox();
    };
    let triggers = Triggers {
        registry: &state.registry,
        chains: &state.chains,
        orders: &state.orders,
        addresses: &state.addresses,
        withdrawals: &state.withdrawals,
        store: state.store.as_ref(),
        deposits: state.deposits.as_ref(),
        outbox: state.outbox.as_ref(),
        withdrawal_store: state.withdrawal_store.as_ref(),
        clock: state.clock.as_ref(),
        sandbox,
    };
    let request = TriggerRequest {
        name: body.name,
        app_id: MerchantId::new(body.app_id),
        merchant_order_id: body.merchant_order_id,
        token_id: body.token_id,
    };
    match triggers.run(&request).await {
        Ok(report) => {
            let webhooks: Vec<_> = report
                .webhooks
                .iter()
                .map(|row| {
                    let payload: serde_json::Value =
                        serde_json::from_str(&row.payload).unwrap_or_default();
                    json!({
                        "id": row.id,
                        "type": row.order_type,
                        "record_id": row.record_id,
                        "status": row.status,
                        "attempts": row.attempts,
                        "payload": payload,
                    })
                })
                .collect();
            Json(json!({
                "trigger": report.name,
                "steps": report.steps,
                "objects": report.objects,
                "webhooks": webhooks,
                "clock": clock_json(sandbox.view()),
            }))
            .into_response()
        }
        Err(err) => refused(err),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReorgBody {
    chain: String,
    depth: u64,
    /// Drop this transaction; the rest of the blocks stay.
    drop: Option<String>,
    /// The blocks lose all their transfers.
    #[serde(default)]
    replace: bool,
    #[serde(default)]
    force: bool,
}

async fn reorg(State(state): State<AppState>, Json(body): Json<ReorgBody>) -> Response {
    let Some(sandbox) = state.sandbox.as_deref() else {
        return not_a_sandbox();
    };
    let mode = match (body.drop, body.replace) {
        (Some(_), true) => return refused("pass `drop` or `replace`, not both"),
        (Some(txid), false) => ReorgMode::Drop(txid),
        (None, true) => ReorgMode::Replace,
        (None, false) => ReorgMode::Move,
    };
    let request = ReorgRequest {
        chain: body.chain,
        depth: body.depth,
        mode,
        force: body.force,
    };
    match sandbox.reorg(&request).await {
        Ok(report) => Json(reorg_json(&report)).into_response(),
        Err(err) => refused(err),
    }
}

/// A reorg's report as the admin API and `ccgate devnet reorg --json` show it.
pub fn reorg_json(report: &ReorgReport) -> serde_json::Value {
    json!({
        "chain": report.chain,
        "height": report.height,
        "from_height": report.from_height,
        "dropped": report.dropped,
        "moved": report.moved.iter().map(|(txid, height)| json!({"txid": txid, "block_height": height})).collect::<Vec<_>>(),
        "vanished_notices": report.vanished_notices,
        "incidents": report.incidents.iter().map(|i| json!({
            "chain": i.chain, "txid": i.txid, "log_index": i.log_index,
            "record_id": i.record_id, "what": i.what, "at_ms": i.at_ms,
        })).collect::<Vec<_>>(),
    })
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FaultBody {
    app_id: String,
    /// Fault words: `delay=5s`, `drop=0.3`, `duplicate=0.2`, `reorder`,
    /// `bad-signature`, `status=500`.
    faults: Vec<String>,
    /// Deliveries to affect; absent: every one until cleared.
    count: Option<u32>,
    /// Starts the faults' random draws (default 0).
    seed: Option<u64>,
}

async fn webhooks_fault(State(state): State<AppState>, Json(body): Json<FaultBody>) -> Response {
    let Some(sandbox) = state.sandbox.as_deref() else {
        return not_a_sandbox();
    };
    let app_id = MerchantId::new(body.app_id.trim());
    let seed = body.seed.unwrap_or(0);
    match sandbox
        .set_webhook_faults(&app_id, &body.faults, body.count, seed)
        .await
    {
        Ok(faults) => Json(json!({
            "app_id": app_id.as_str(),
            "faults": ccgate_engine::faults::describe(&faults),
            "count": faults.remaining,
            "seed": faults.seed,
        }))
        .into_response(),
        Err(err) => refused(err),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ClearBody {
    app_id: String,
}

async fn webhooks_clear(State(state): State<AppState>, Json(body): Json<ClearBody>) -> Response {
    let Some(sandbox) = state.sandbox.as_deref() else {
        return not_a_sandbox();
    };
    let app_id = MerchantId::new(body.app_id.trim());
    match sandbox.clear_webhook_faults(&app_id).await {
        Ok(cleared) => Json(json!({"app_id": app_id.as_str(), "cleared": cleared})).into_response(),
        Err(err) => refused(err),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StreamQuery {
    app_id: String,
}

/// Lines a listener that does not read may fall behind by, before the feed
/// itself starts counting what it missed.
const STREAM_LINES_BUFFERED: usize = 64;

/// `GET /admin/webhooks/stream?app_id=…`: the merchant's webhooks as they are
/// sent, one JSON object a line (`application/x-ndjson`): first
/// `{"listening": APPID}`, then per delivery `{"app_id", "record_id",
/// "order_type", "payload", "headers": {"Appid", "Timestamp", "Sign"}}`, and
/// `{"missed": N}` if the listener fell too far behind.
async fn webhooks_stream(
    State(state): State<AppState>,
    Query(query): Query<StreamQuery>,
) -> Response {
    let app_id = MerchantId::new(query.app_id.trim());
    match state.store.merchant_credentials(app_id.as_str()).await {
        Ok(Some(_)) => {}
        Ok(None) => return refused(format!("no merchant has the Appid {app_id}")),
        Err(err) => return refused(err),
    }
    // Subscribed before answering: nothing sent after the first line is missed.
    let mut feed = state.webhook_feed.subscribe();
    let (mut lines, body) =
        http_body_util::channel::Channel::<Bytes, Infallible>::new(STREAM_LINES_BUFFERED);
    tokio::spawn(async move {
        let mut line = json!({"listening": app_id.as_str()});
        loop {
            if lines.send_data(json_line(&line)).await.is_err() {
                return; // the listener hung up
            }
            line = loop {
                match feed.recv().await {
                    Ok(sent) if sent.app_id == app_id => break sent_json(&sent),
                    Ok(_) => {}
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(missed)) => {
                        break json!({"missed": missed});
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
                }
            };
        }
    });
    ([(CONTENT_TYPE, "application/x-ndjson")], Body::new(body)).into_response()
}

fn json_line(value: &serde_json::Value) -> Bytes {
    let mut line = value.to_string().into_bytes();
    line.push(b'\n');
    Bytes::from(line)
}

fn sent_json(sent: &SentWebhook) -> serde_json::Value {
    json!({
        "app_id": sent.app_id.as_str(),
        "record_id": sent.record_id,
        "order_type": sent.order_type,
        "payload": sent.payload,
        "headers": {"Appid": sent.app_id.as_str(), "Timestamp": sent.timestamp, "Sign": sent.sign},
    })
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SnapshotBody {
    name: String,
}

fn snapshot_json(snapshot: &SnapshotInfo) -> serde_json::Value {
    json!({"name": snapshot.name, "bytes": snapshot.bytes, "saved_at": snapshot.saved_at_unix})
}

async fn snapshot_list(State(state): State<AppState>) -> Response {
    let Some(sandbox) = state.sandbox.as_deref() else {
        return not_a_sandbox();
    };
    match sandbox.list_snapshots().await {
        Ok(snapshots) => {
            let listed: Vec<_> = snapshots.iter().map(snapshot_json).collect();
            Json(json!({ "snapshots": listed })).into_response()
        }
        Err(err) => refused(err),
    }
}

async fn snapshot_save(State(state): State<AppState>, Json(body): Json<SnapshotBody>) -> Response {
    let Some(sandbox) = state.sandbox.as_deref() else {
        return not_a_sandbox();
    };
    match sandbox.save_snapshot(body.name.trim()).await {
        Ok(snapshot) => Json(snapshot_json(&snapshot)).into_response(),
        Err(err) => refused(err),
    }
}

async fn snapshot_restore(
    State(state): State<AppState>,
    Json(body): Json<SnapshotBody>,
) -> Response {
    let Some(sandbox) = state.sandbox.as_deref() else {
        return not_a_sandbox();
    };
    let name = body.name.trim();
    match sandbox.restore_snapshot(name).await {
        Ok(clock) => Json(json!({"name": name, "clock": clock_json(clock)})).into_response(),
        Err(err) => refused(err),
    }
}

async fn snapshot_delete(
    State(state): State<AppState>,
    Json(body): Json<SnapshotBody>,
) -> Response {
    let Some(sandbox) = state.sandbox.as_deref() else {
        return not_a_sandbox();
    };
    let name = body.name.trim();
    match sandbox.delete_snapshot(name).await {
        Ok(()) => Json(json!({"name": name, "deleted": true})).into_response(),
        Err(err) => refused(err),
    }
}
