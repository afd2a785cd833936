//! `withdraw` (spec §2.5).

use axum::response::Response;
use ccgate_api::request::Fields;
use ccgate_api::withdrawals::{WithdrawDetail, WithdrawInfo, WithdrawRequest, Withdrawn};
use ccgate_engine::domain::{WebhookDialect, Withdrawal, WithdrawalStatus};
use ccgate_engine::withdrawals::{Accepted, Asset, Destination, WithdrawalRequest};

use super::success;
use crate::AppState;
use crate::auth::SignedCall;
use crate::failure::Failure;

pub async fn withdraw(
    state: AppState,
    SignedCall { merchant, body }: SignedCall,
) -> Result<Response, Failure> {
    let request = WithdrawRequest::from_fields(&Fields::parse(&body)?)?;
    let Accepted {
        withdrawal,
        coin,
        fee_value,
    } = state
        .withdrawals
        .request(
            &merchant.app_id,
            &WithdrawalRequest {
                asset: Asset::Named(&request.token_id),
                destination: Destination::AddressOrCwallet(request.address),
                value: request.value,
                merchant_order_id: request.merchant_order_id,
                memo: request.memo,
                merchant_pays_fee: request.merchant_pays_fee,
                dialect: WebhookDialect::V1,
                notify_url: None,
                fee_quote_id: None,
                batch_task: None,
            },
            state.clock.now_unix_ms(),
        )
        .await?;
    let print = |amount: ccgate_ledger::Amount| amount.to_decimal_string(coin.precision);
    success(&Withdrawn {
        order_id: withdrawal.order_id,
        record_id: withdrawal.record_id,
        network_fee: print(withdrawal.network_fee),
        net_receivable: print(withdrawal.net_receivable),
        network_fee_crypto: coin.symbol.clone(),
        network_coin_id: coin.id.to_string(),
        network_fee_value: fee_value,
    })
}

/// The `bill/info` element of a withdrawal (decisions §6).
pub fn withdraw_info(state: &AppState, withdrawal: &Withdrawal) -> Result<WithdrawInfo, Failure> {
    let (coin, token) = state
        .registry
        .token(&withdrawal.token_id)
        .ok_or_else(|| Failure::Internal(format!("token {} vanished", withdrawal.token_id)))?;
    let print = |amount: ccgate_ledger::Amount| amount.to_decimal_string(coin.precision);
    let status = status_word(withdrawal.status);
    Ok(WithdrawInfo {
        withdraw_detail: WithdrawDetail {
            order_id: withdrawal.order_id.clone(),
            merchant_order_id: withdrawal.merchant_order_id.clone(),
            coin_id: coin.id.to_string(),
            token_id: token.id.to_string(),
            chain: withdrawal.chain.clone(),
            contract: token.contract.clone(),
            crypto: coin.symbol.clone(),
            value: print(withdrawal.value),
            network_fee: print(withdrawal.network_fee),
            net_receivable: print(withdrawal.net_receivable),
            merchant_pays_fee: withdrawal.merchant_pays_fee,
            to_address: withdrawal.to_address.clone(),
            memo: withdrawal.memo.clone(),
            txid: withdrawal.txid.clone(),
            status: status.to_owned(),
            created: withdrawal.created_at,
        },
    })
}

/// How `bill/info` writes a withdrawal's or refund's status.
pub fn status_word(status: WithdrawalStatus) -> &'static str {
    match status {
        WithdrawalStatus::Pending => "Pending",
        WithdrawalStatus::Processing => "Processing",
        WithdrawalStatus::Successful => "Successful",
        WithdrawalStatus::Failed => "Failed",
    }
}
