//! `payment/address/get` (spec §2.4): a permanent deposit address per
//! (merchant, user, chain).

use axum::response::Response;
use ccgate_api::deposits::{PermanentAddress, PermanentAddressRequest};
use ccgate_api::request::Fields;

use super::success;
use crate::AppState;
use crate::auth::SignedCall;
use crate::failure::Failure;

pub async fn permanent_address(
    state: AppState,
    SignedCall { merchant, body }: SignedCall,
) -> Result<Response, Failure> {
    let request = PermanentAddressRequest::from_fields(&Fields::parse(&body)?)?;
    let chain = state
        .registry
        .chain(&request.chain)
        .ok_or_else(|| Failure::chain_not_supported(&request.chain))?;
    let address = state
        .addresses
        .permanent_address(
            &merchant.app_id,
            &request.user_id,
            chain,
            request.notify_url.as_deref(),
            ccgate_engine::domain::WebhookDialect::V1,
            state.clock.now_unix_ms().div_euclid(1000),
        )
        .await?;
    success(&PermanentAddress {
        address: address.address,
        memo: String::new(),
    })
}
