//! `check/user` (spec §2.13): whether a Cwallet id exists here.

use axum::response::Response;
use ccgate_api::request::Fields;
use ccgate_api::resources::{CheckUserRequest, CwalletUser};

use super::success;
use crate::AppState;
use crate::auth::SignedCall;
use crate::failure::Failure;

pub async fn check_user(
    state: AppState,
    SignedCall { body, .. }: SignedCall,
) -> Result<Response, Failure> {
    let request = CheckUserRequest::from_fields(&Fields::parse(&body)?)?;
    let account = state
        .merchants
        .cwallet(request.c_id.trim())
        .await?
        .ok_or(Failure::UserNotFound)?;
    success(&CwalletUser {
        c_id: account.c_id,
        nickname: account.nickname,
    })
}
