//! `webhook/resend` (spec §2.14): queue a window of webhooks for another
//! attempt, within the per-merchant limits.

use axum::response::Response;
use ccgate_api::request::Fields;
use ccgate_api::webhooks::{ResendData, ResendRequest};
use ccgate_engine::merchants::{self as engine, ResendLimits};
use ccgate_ledger::MerchantId;

use super::success;
use crate::AppState;
use crate::auth::SignedCall;
use crate::failure::Failure;

pub async fn resend(
    state: AppState,
    SignedCall { merchant, body }: SignedCall,
) -> Result<Response, Failure> {
    let request = ResendRequest::from_fields(&Fields::parse(&body)?)?;
    let resend_count = resend_within_limits(&state, &merchant.app_id, &request).await?;
    success(&ResendData { resend_count })
}

/// Queues the webhooks `request` picks, if the merchant is within its
/// `webhook/resend` limits; both dialects' endpoints answer from here.
pub(crate) async fn resend_within_limits(
    state: &AppState,
    app_id: &MerchantId,
    request: &ResendRequest,
) -> Result<u64, Failure> {
    let to_ms = |secs: u64| i64::try_from(secs.saturating_mul(1000)).unwrap_or(i64::MAX);
    let limits = ResendLimits {
        per_minute: state.config.resend_per_minute,
        per_day: state.config.resend_per_day,
    };
    let resend = engine::ResendRequest {
        from_ms: to_ms(request.start_timestamp),
        to_ms: to_ms(request.end_timestamp).saturating_add(999),
        all_results: request.all_results,
        order_type: request.transaction_type.as_deref(),
        record_ids: &request.record_ids,
    };
    Ok(state
        .merchants
        .resend_webhooks(app_id, &resend, limits, state.clock.now_unix_ms())
        .await?)
}
