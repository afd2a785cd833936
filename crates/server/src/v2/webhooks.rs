//! `webhook/resend` in v2 (v2 spec §2.8.2): the same outbox and limits as v1's.

use ccgate_api::v2::fields;
use ccgate_api::v2::webhooks::{Resent, resend_request};

use super::V2Result;
use crate::AppState;
use crate::auth::SignedCall;
use crate::routes::success;
use crate::routes::webhooks::resend_within_limits;

pub async fn resend(state: AppState, SignedCall { merchant, body }: SignedCall) -> V2Result {
    let request = resend_request(&fields(&body)?)?;
    let resend_count = resend_within_limits(&state, &merchant.app_id, &request).await?;
    Ok(success(&Resent { resend_count })?)
}
