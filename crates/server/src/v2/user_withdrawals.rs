//! Wallet users' withdrawals (v2 spec §2.9.6–2.9.9, decisions §28): a
//! merchant's withdrawal paid from one of its users' accounts, through the
//! same engine path, read back as UserWithdrawRecords. Each handler parses,
//! makes one engine call, renders.

use ccgate_api::RequestError;
use ccgate_api::v2::fields;
use ccgate_api::v2::user_withdrawals::{
    OneUserWithdrawRecord, UserCwalletWithdrawRequest, UserNetworkWithdrawRequest,
    UserWithdrawRecord, UserWithdrawRecordList, UserWithdrawRecordListRequest,
};
use ccgate_api::v2::withdrawals::{AppWithdrawRecord, RecordRequest, WithdrawAccepted};
use ccgate_engine::domain::{Withdrawal, WithdrawalQuery};
use ccgate_engine::withdrawals::WithdrawalRequest;
use ccgate_ledger::MerchantId;

use super::coins::coin_filter;
use super::wallet::now_secs;
use super::withdrawals::{
    app_withdraw_record, cwallet_withdrawal, destination_filter, network_withdrawal,
};
use super::{RecordWindow, V2Result, page};
use crate::AppState;
use crate::auth::SignedCall;
use crate::failure::Failure;
use crate::routes::success;

/// `applyUserWithdrawToNetwork`: reserved from the user, sent, and notified
/// as `UserWithdrawal` when it succeeds or fails.
pub async fn to_network(state: AppState, SignedCall { merchant, body }: SignedCall) -> V2Result {
    let UserNetworkWithdrawRequest {
        user_id,
        withdrawal: request,
    } = UserNetworkWithdrawRequest::from_fields(&fields(&body)?)?;
    let withdrawal = network_withdrawal(&state.registry, request)?;
    accept(&state, &merchant.app_id, &user_id, &withdrawal).await
}

/// `applyUserWithdrawToCwallet`: instant and free, without a webhook (v2
/// spec §3.3.8).
pub async fn to_cwallet(state: AppState, SignedCall { merchant, body }: SignedCall) -> V2Result {
    let UserCwalletWithdrawRequest {
        user_id,
        withdrawal: request,
    } = UserCwalletWithdrawRequest::from_fields(&fields(&body)?)?;
    let withdrawal = cwallet_withdrawal(&state.registry, request)?;
    accept(&state, &merchant.app_id, &user_id, &withdrawal).await
}

async fn accept(
    state: &AppState,
    app_id: &MerchantId,
    user_id: &str,
    request: &WithdrawalRequest<'_>,
) -> V2Result {
    let accepted = state
        .wallets
        .withdraw(app_id, user_id, request, state.clock.now_unix_ms())
        .await?;
    Ok(success(&WithdrawAccepted {
        record_id: accepted.withdrawal.record_id,
    })?)
}

/// `getUserWithdrawRecord`: one of the merchant's users' withdrawals.
pub async fn record(state: AppState, SignedCall { merchant, body }: SignedCall) -> V2Result {
    let request = RecordRequest::from_fields(&fields(&body)?)?;
    let (record_id, order_id) = match &request {
        RecordRequest::RecordId(record_id) => (Some(record_id.as_str()), None),
        RecordRequest::OrderId(order_id) => (None, Some(order_id.as_str())),
        RecordRequest::Both {
            record_id,
            order_id,
        } => (Some(record_id.as_str()), Some(order_id.as_str())),
    };
    let withdrawal = state
        .wallets
        .withdrawal(&merchant.app_id, record_id, order_id)
        .await?
        .ok_or_else(|| Failure::withdrawal_not_found(record_id.or(order_id).unwrap_or("")))?;
    Ok(success(&OneUserWithdrawRecord {
        record: user_withdraw_record(&state, &withdrawal)?,
    })?)
}

/// `getUserWithdrawRecordList`: one user's withdrawals, newest first.
pub async fn record_list(state: AppState, SignedCall { merchant, body }: SignedCall) -> V2Result {
    let request = UserWithdrawRecordListRequest::from_fields(&fields(&body)?)?;
    let coin_id = coin_filter(&state.registry, request.coin_id)?;
    let destination = destination_filter(&state.registry, request.chain.as_deref())?;
    let window = RecordWindow::new(now_secs(&state), request.start_at, request.end_at);
    // The cursor is the last record of the page before: one of this
    // merchant's users' withdrawals, or it came from no list.
    let after = match &request.next_id {
        None => None,
        Some(next_id) => {
            let last = state
                .wallets
                .withdrawal(&merchant.app_id, Some(next_id), None)
                .await?
                .ok_or(RequestError::FieldType {
                    field: "nextId",
                    expected: "the nextId of the page before",
                })?;
            Some((last.created_at, last.record_id))
        }
    };
    let query = WithdrawalQuery {
        user_id: None,
        coin_id,
        destination,
        merchant_order_ids: request.order_ids,
        to_address: request.to_address,
        created_from: Some(window.since),
        // Inclusive, as `endAt` is.
        created_to: request.end_at,
        after,
        // One more than the page: whether another page follows.
        limit: request.limit.saturating_add(1),
    };
    let found = state
        .wallets
        .withdrawals(&merchant.app_id, &request.user_id, &query)
        .await?;
    let (records, next_id) = page(
        found,
        request.limit,
        |withdrawal| &withdrawal.record_id,
        |withdrawal| user_withdraw_record(&state, withdrawal),
    )?;
    Ok(success(&UserWithdrawRecordList { records, next_id })?)
}

/// A user's withdrawal as v2 shows it: as an AppWithdrawRecord shows a
/// merchant's (decisions §15), with the user and without the merchant's
/// `appId` and `reason`.
fn user_withdraw_record(
    state: &AppState,
    withdrawal: &Withdrawal,
) -> Result<UserWithdrawRecord, Failure> {
    let AppWithdrawRecord {
        record_id,
        withdraw_type,
        app_id: _,
        coin_id,
        coin_symbol,
        chain,
        from_address,
        to_address,
        cwallet_user,
        order_id,
        tx_id,
        to_memo,
        status,
        amount,
        fee,
        reason: _,
        coin_usd_price,
    } = app_withdraw_record(state, withdrawal)?;
    Ok(UserWithdrawRecord {
        user_id: withdrawal.user_id.clone().unwrap_or_default(),
        record_id,
        withdraw_type,
        coin_id,
        chain,
        order_id,
        tx_id,
        coin_symbol,
        from_address,
        to_address,
        cwallet_user,
        to_memo,
        amount,
        status,
        fee,
        coin_usd_price,
    })
}
