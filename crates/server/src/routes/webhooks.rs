//! `webhook/resend` (spec §2.14): queue a window of webhooks for another
//! attempt, within the per-merchant limits.

use axum::Extension;
use axum::extract::State;
use axum::response::Response;
use ccgate_api::request::Fields;
use ccgate_api::webhooks::{ResendData, ResendRequest};

use super::success;
use crate::AppState;
use crate::auth::{Authenticated, RawBody};
use crate::failure::Failure;

pub async fn resend(
    State(state): State<AppState>,
    Extension(Authenticated(merchant)): Extension<Authenticated>,
    Extension(RawBody(body)): Extension<RawBody>,
) -> Result<Response, Failure> {
    let request = ResendRequest::from_fields(&Fields::parse(&body)?)?;
    let now = state.clock.now_unix_ms();
    let (per_minute, per_day) = (state.config.resend_per_minute, state.config.resend_per_day);
    if !state
        .outbox
        .record_resend_call(&merchant.app_id, now, per_minute, per_day)
        .await?
    {
        return Err(Failure::ResendLimited {
            per_minute,
            per_day,
        });
    }
    let to_ms = |secs: u64| i64::try_from(secs.saturating_mul(1000)).unwrap_or(i64::MAX);
    let resend_count = state
        .outbox
        .resend_webhooks(
            &merchant.app_id,
            to_ms(request.start_timestamp),
            to_ms(request.end_timestamp).saturating_add(999),
            request.all_results,
            request.transaction_type.as_deref(),
            now,
        )
        .await?;
    success(&ResendData { resend_count })
}
