//! The operator's HTTP API, on its own loopback-only listener: the devnet's
//! `pay` and `mine`, order refunds, the stream of webhooks as they are sent
//! (`ccgate listen`), Prometheus `/metrics`, and in sandbox mode the sandbox's
//! controls, for CI scripts in any language. Plain JSON in and out
//! (`{"error": "…"}` with HTTP 400 on a refusal). Every request, `/metrics`
//! included, passes [`crate::admin_access`] first: addressed to this listener,
//! from no web page, with the admin token.

use std::convert::Infallible;
use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{FromRequestParts, Query, State};
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use ccgate_api::admin::{
    AdvanceRequest, ClearRequest, Clock, Deleted, Dialect, FaultRequest, FaultsCleared, FaultsSet,
    Incident, MineRequest, Mined, MovedTransfer, Paid, PayRequest, QueuedWebhook, RefundRequest,
    Refunded, Refusal, Reorganised, RescanRequest, Rescanned, RescannedTransfer, Restored,
    Snapshot, SnapshotList, SnapshotRequest, StreamLine, StreamQuery, TriggerInfo, TriggerList,
    TriggerRequest, Triggered, WithdrawalDecision,
};
use ccgate_chain::ChainAdapter;
use ccgate_engine::deposits::{ReorgMode, ReorgReport};
use ccgate_engine::devnet;
use ccgate_engine::domain::WebhookDialect;
use ccgate_engine::reconcile::RescanOutcome;
use ccgate_engine::sandbox::{ClockView, Sandbox, SnapshotInfo};
use ccgate_engine::triggers::TRIGGERS;
use ccgate_engine::webhooks::SentWebhook;
use ccgate_engine::withdrawals;
use ccgate_ledger::MerchantId;

use crate::AppState;
use crate::admin_access::AdminAccess;

pub fn admin_router(state: AppState, access: AdminAccess) -> Router {
    let router = Router::new()
        .route("/admin/orders/refund", post(refund))
        .route("/admin/withdrawals/approve", post(approve_withdrawal))
        .route("/admin/withdrawals/reject", post(reject_withdrawal))
        .route("/admin/evm/rescan", post(rescan))
        .route("/admin/webhooks/stream", get(webhooks_stream))
        .route("/metrics", get(crate::metrics::scrape));
    // A live gateway has no devnet, so nothing here mints simulated money;
    // with the operator's opt-in its devnets mint devnet coins only.
    let router = if state.network.has_devnets() {
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

/// The sandbox's controls, for the handlers routed only in sandbox mode:
/// one guard for all of them.
struct SandboxControls(Arc<Sandbox>);

impl FromRequestParts<AppState> for SandboxControls {
    type Rejection = Response;

    async fn from_request_parts(_parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        state
            .sandbox
            .clone()
            .map(SandboxControls)
            .ok_or_else(not_a_sandbox)
    }
}

fn refused(error: impl std::fmt::Display) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(Refusal {
            error: error.to_string(),
        }),
    )
        .into_response()
}

fn not_a_sandbox() -> Response {
    refused("this gateway is not a sandbox (start it with `serve --sandbox`)")
}

/// `ccgate evm rescan` through the running server: one confirmed
/// transaction looked at again, what is ours and was missed credited once.
async fn rescan(State(state): State<AppState>, Json(body): Json<RescanRequest>) -> Response {
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
    match reconciler
        .rescan(&body.txid, state.clock.now_unix_ms())
        .await
    {
        Ok(report) => Json(Rescanned {
            txid: report.txid.clone(),
            block_height: report.block_height,
            traced: report.traced,
            credited: report
                .transfers
                .iter()
                .filter(|(_, outcome)| *outcome == RescanOutcome::Credited)
                .count(),
            transfers: report
                .transfers
                .iter()
                .map(|(transfer, outcome)| RescannedTransfer {
                    log_index: transfer.log_index,
                    from_address: transfer.from_address.clone(),
                    to_address: transfer.to_address.clone(),
                    token_id: transfer.token_id.to_string(),
                    amount_base_units: transfer.amount.base_units().to_string(),
                    outcome: outcome.as_str().to_owned(),
                })
                .collect(),
        })
        .into_response(),
        Err(err) => refused(err),
    }
}

async fn pay(State(state): State<AppState>, Json(body): Json<PayRequest>) -> Response {
    let request = devnet::PayRequest {
        to: body.to,
        token_id: body.token_id,
        amount: body.amount,
        from: body.from,
        memo: body.memo,
    };
    match state
        .network
        .devnet_pay(request, state.clock.now_unix_ms())
        .await
    {
        Ok(paid) => Json(Paid {
            chain: paid.transfer.chain,
            txid: paid.transfer.txid,
            block_height: paid.transfer.block_height,
            confirmations_required: paid.confirmations_required,
        })
        .into_response(),
        Err(err) => refused(err),
    }
}

async fn mine(State(state): State<AppState>, Json(body): Json<MineRequest>) -> Response {
    let blocks = body.blocks.unwrap_or(1);
    match state
        .network
        .devnet_mine(&body.chain, blocks, state.clock.now_unix_ms())
        .await
    {
        Ok((chain, height)) => Json(Mined { chain, height }).into_response(),
        Err(err) => refused(err),
    }
}

async fn refund(State(state): State<AppState>, Json(body): Json<RefundRequest>) -> Response {
    let refunded = state
        .withdrawals
        .refund_order(
            &MerchantId::new(body.app_id),
            &body.merchant_order_id,
            body.address.trim(),
            body.amount.trim(),
            state.clock.now_unix_ms(),
            None,
        )
        .await;
    match refunded {
        Ok(refund) => Json(Refunded {
            refund_id: refund.order_id,
            record_id: refund.record_id,
            status: refund.status.as_str().to_owned(),
        })
        .into_response(),
        Err(err) => refused(err),
    }
}

/// `ccgate withdrawal approve` through the running server.
async fn approve_withdrawal(
    State(state): State<AppState>,
    Json(body): Json<WithdrawalDecision>,
) -> Response {
    match state.withdrawals.approve(body.order_id.trim()).await {
        Ok(withdrawal) => Json(withdrawals::decided(&withdrawal)).into_response(),
        Err(err) => refused(err),
    }
}

/// `ccgate withdrawal reject` through the running server: the reservation
/// goes back to the merchant, the rejection is notified.
async fn reject_withdrawal(
    State(state): State<AppState>,
    Json(body): Json<WithdrawalDecision>,
) -> Response {
    let now = state.clock.now_unix_ms();
    match state.withdrawals.reject(body.order_id.trim(), now).await {
        Ok(withdrawal) => Json(withdrawals::decided(&withdrawal)).into_response(),
        Err(err) => refused(err),
    }
}

fn clock(view: ClockView) -> Clock {
    Clock {
        now: view.now_ms.div_euclid(1000),
        now_ms: view.now_ms,
        frozen: view.frozen,
        offset_ms: view.offset_ms,
        steps: None,
        work_done: None,
    }
}

async fn clock_show(SandboxControls(sandbox): SandboxControls) -> Response {
    Json(clock(sandbox.view())).into_response()
}

async fn clock_freeze(SandboxControls(sandbox): SandboxControls) -> Response {
    match sandbox.freeze().await {
        Ok(view) => Json(clock(view)).into_response(),
        Err(err) => refused(err),
    }
}

async fn clock_resume(SandboxControls(sandbox): SandboxControls) -> Response {
    match sandbox.resume().await {
        Ok(view) => Json(clock(view)).into_response(),
        Err(err) => refused(err),
    }
}

async fn clock_advance(
    SandboxControls(sandbox): SandboxControls,
    Json(body): Json<AdvanceRequest>,
) -> Response {
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
        Ok(advanced) => Json(Clock {
            steps: Some(advanced.steps),
            work_done: Some(advanced.work_done),
            ..clock(advanced.clock)
        })
        .into_response(),
        Err(err) => refused(err),
    }
}

async fn trigger_list() -> Response {
    Json(TriggerList {
        triggers: TRIGGERS
            .iter()
            .map(|trigger| TriggerInfo {
                name: trigger.name.to_owned(),
                description: trigger.description.to_owned(),
                dialects: trigger.dialects().iter().map(|d| api_dialect(*d)).collect(),
                no_v2_because: trigger.no_v2_because.map(str::to_owned),
                no_v1_because: trigger.no_v1_because.map(str::to_owned),
            })
            .collect(),
    })
    .into_response()
}

fn api_dialect(dialect: WebhookDialect) -> Dialect {
    match dialect {
        WebhookDialect::V1 => Dialect::V1,
        WebhookDialect::V2 => Dialect::V2,
    }
}

async fn trigger(
    State(state): State<AppState>,
    SandboxControls(sandbox): SandboxControls,
    Json(body): Json<TriggerRequest>,
) -> Response {
    let Some(triggers) = &state.triggers else {
        return not_a_sandbox();
    };
    let request = ccgate_engine::triggers::TriggerRequest {
        name: body.name,
        app_id: MerchantId::new(body.app_id),
        merchant_order_id: body.merchant_order_id,
        token_id: body.token_id,
        dialect: match body.dialect.unwrap_or_default() {
            Dialect::V1 => WebhookDialect::V1,
            Dialect::V2 => WebhookDialect::V2,
        },
    };
    match triggers.run(&request).await {
        Ok(report) => Json(Triggered {
            trigger: report.name,
            steps: report.steps,
            objects: report.objects,
            webhooks: report
                .webhooks
                .iter()
                .map(|row| QueuedWebhook {
                    id: row.id,
                    order_type: row.order_type.clone(),
                    record_id: row.record_id.clone(),
                    status: row.status.clone(),
                    attempts: row.attempts,
                    payload: serde_json::from_str(&row.payload).unwrap_or_default(),
                })
                .collect(),
            clock: clock(sandbox.view()),
        })
        .into_response(),
        Err(err) => refused(err),
    }
}

async fn reorg(
    SandboxControls(sandbox): SandboxControls,
    Json(body): Json<ccgate_api::admin::ReorgRequest>,
) -> Response {
    let mode = match (body.drop, body.replace) {
        (Some(_), true) => return refused("pass `drop` or `replace`, not both"),
        (Some(txid), false) => ReorgMode::Drop(txid),
        (None, true) => ReorgMode::Replace,
        (None, false) => ReorgMode::Move,
    };
    let request = ccgate_engine::deposits::ReorgRequest {
        chain: body.chain,
        depth: body.depth,
        mode,
        force: body.force,
    };
    match sandbox.reorg(&request).await {
        Ok(report) => Json(reorganised(&report)).into_response(),
        Err(err) => refused(err),
    }
}

/// A reorg's report as the admin API and `ccgate devnet reorg --json` show it.
pub fn reorganised(report: &ReorgReport) -> Reorganised {
    Reorganised {
        chain: report.chain.clone(),
        height: report.height,
        from_height: report.from_height,
        dropped: report.dropped.clone(),
        moved: report
            .moved
            .iter()
            .map(|(txid, height)| MovedTransfer {
                txid: txid.clone(),
                block_height: *height,
            })
            .collect(),
        vanished_notices: report.vanished_notices,
        incidents: report
            .incidents
            .iter()
            .map(|incident| Incident {
                chain: incident.chain.clone(),
                txid: incident.txid.clone(),
                log_index: incident.log_index,
                record_id: incident.record_id.clone(),
                what: incident.what.clone(),
                at_ms: incident.at_ms,
            })
            .collect(),
    }
}

async fn webhooks_fault(
    SandboxControls(sandbox): SandboxControls,
    Json(body): Json<FaultRequest>,
) -> Response {
    let app_id = MerchantId::new(body.app_id.trim());
    let seed = body.seed.unwrap_or(0);
    match sandbox
        .set_webhook_faults(&app_id, &body.faults, body.count, seed)
        .await
    {
        Ok(faults) => Json(FaultsSet {
            app_id: app_id.as_str().to_owned(),
            faults: ccgate_engine::faults::describe(&faults),
            count: faults.remaining,
            seed: faults.seed,
        })
        .into_response(),
        Err(err) => refused(err),
    }
}

async fn webhooks_clear(
    SandboxControls(sandbox): SandboxControls,
    Json(body): Json<ClearRequest>,
) -> Response {
    let app_id = MerchantId::new(body.app_id.trim());
    match sandbox.clear_webhook_faults(&app_id).await {
        Ok(cleared) => Json(FaultsCleared {
            app_id: app_id.as_str().to_owned(),
            cleared,
        })
        .into_response(),
        Err(err) => refused(err),
    }
}

/// Lines a listener that does not read may fall behind by, before the feed
/// itself starts counting what it missed.
const STREAM_LINES_BUFFERED: usize = 64;

/// `GET /admin/webhooks/stream?app_id=…`: the merchant's webhooks as they are
/// sent, one [`StreamLine`] a line (`application/x-ndjson`): first
/// `{"listening": APPID}`, then one per delivery, and `{"missed": N}` if the
/// listener fell too far behind.
async fn webhooks_stream(
    State(state): State<AppState>,
    Query(query): Query<StreamQuery>,
) -> Response {
    let app_id = MerchantId::new(query.app_id.trim());
    match state.merchants.credentials(app_id.as_str()).await {
        Ok(Some(_)) => {}
        Ok(None) => return refused(format!("no merchant has the Appid {app_id}")),
        Err(err) => return refused(err),
    }
    // Subscribed before answering: nothing sent after the first line is missed.
    let mut feed = state.webhook_feed.subscribe();
    let (mut lines, body) =
        http_body_util::channel::Channel::<Bytes, Infallible>::new(STREAM_LINES_BUFFERED);
    tokio::spawn(async move {
        let mut line = StreamLine::Listening {
            listening: app_id.as_str().to_owned(),
        };
        loop {
            if lines.send_data(json_line(&line)).await.is_err() {
                return; // the listener hung up
            }
            line = loop {
                match feed.recv().await {
                    Ok(sent) if sent.app_id == app_id => break sent_line(&sent),
                    Ok(_) => {}
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(missed)) => {
                        break StreamLine::Missed { missed };
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
                }
            };
        }
    });
    ([(CONTENT_TYPE, "application/x-ndjson")], Body::new(body)).into_response()
}

fn json_line(line: &StreamLine) -> Bytes {
    let mut text = serde_json::to_vec(line).unwrap_or_default();
    text.push(b'\n');
    Bytes::from(text)
}

fn sent_line(sent: &SentWebhook) -> StreamLine {
    StreamLine::Sent(ccgate_api::admin::SentWebhook {
        app_id: sent.app_id.as_str().to_owned(),
        record_id: sent.record_id.clone(),
        order_type: sent.order_type.to_owned(),
        payload: sent.payload.clone(),
        headers: ccgate_api::admin::SentHeaders {
            appid: sent.app_id.as_str().to_owned(),
            timestamp: sent.timestamp.clone(),
            sign: sent.sign.clone(),
        },
    })
}

fn snapshot(info: &SnapshotInfo) -> Snapshot {
    Snapshot {
        name: info.name.clone(),
        bytes: info.bytes,
        saved_at: info.saved_at_unix,
    }
}

async fn snapshot_list(SandboxControls(sandbox): SandboxControls) -> Response {
    match sandbox.list_snapshots().await {
        Ok(snapshots) => Json(SnapshotList {
            snapshots: snapshots.iter().map(snapshot).collect(),
        })
        .into_response(),
        Err(err) => refused(err),
    }
}

async fn snapshot_save(
    SandboxControls(sandbox): SandboxControls,
    Json(body): Json<SnapshotRequest>,
) -> Response {
    match sandbox.save_snapshot(body.name.trim()).await {
        Ok(saved) => Json(snapshot(&saved)).into_response(),
        Err(err) => refused(err),
    }
}

async fn snapshot_restore(
    SandboxControls(sandbox): SandboxControls,
    Json(body): Json<SnapshotRequest>,
) -> Response {
    let name = body.name.trim();
    match sandbox.restore_snapshot(name).await {
        Ok(view) => Json(Restored {
            name: name.to_owned(),
            clock: clock(view),
        })
        .into_response(),
        Err(err) => refused(err),
    }
}

async fn snapshot_delete(
    SandboxControls(sandbox): SandboxControls,
    Json(body): Json<SnapshotRequest>,
) -> Response {
    let name = body.name.trim();
    match sandbox.delete_snapshot(name).await {
        Ok(()) => Json(Deleted {
            name: name.to_owned(),
            deleted: true,
        })
        .into_response(),
        Err(err) => refused(err),
    }
}
