//! v2's `{"type","msg"}` webhook bodies (v2 spec §3.3): thin messages of ids
//! and status, which the merchant follows with a record query.

use ccgate_api::v2::Empty;
use ccgate_api::v2::webhooks::{
    ACTIVATE_WEBHOOK_URL, API_DEPOSIT, API_WITHDRAWAL, ApiDepositMsg, ApiWithdrawalMsg,
    DIRECT_DEPOSIT, DirectDepositMsg, USER_DEPOSIT, USER_WITHDRAWAL, UserDepositMsg,
    UserWithdrawalMsg, webhook_body,
};

use ccgate_store::{Approval, Withdrawal, WithdrawalStatus};

use super::{Notice, PayStatus};
use crate::EngineError;

/// v2's `status` of a deposit (spec §4.1).
fn status(status: PayStatus) -> &'static str {
    match status {
        PayStatus::Processing => "Processing",
        PayStatus::Success => "Success",
        PayStatus::Failed => "Failed",
    }
}

/// The body, or `None` for a kind v2 has no webhook for.
pub(super) fn render(notice: &Notice<'_>) -> Result<Option<String>, EngineError> {
    Ok(Some(match notice {
        Notice::OrderPayment { order, payment } => webhook_body(
            API_DEPOSIT,
            &ApiDepositMsg {
                record_id: payment.record_id.to_owned(),
                order_id: order.merchant_order_id.clone(),
                coin_id: payment.coin.numeric_id,
                coin_symbol: payment.coin.symbol.clone(),
                status: status(payment.status).to_owned(),
                is_flagged_as_risky: false,
            },
        )?,
        // A wallet user's address: the user is credited (decisions §24).
        Notice::DirectPayment { address, payment } if address.wallet_user => webhook_body(
            USER_DEPOSIT,
            &UserDepositMsg {
                record_id: payment.record_id.to_owned(),
                user_id: address.user_id.clone().unwrap_or_default(),
                coin_id: payment.coin.numeric_id,
                coin_symbol: payment.coin.symbol.clone(),
                amount: payment
                    .transfer
                    .amount
                    .to_decimal_string(payment.coin.precision),
                status: status(payment.status).to_owned(),
                is_flagged_as_risky: false,
            },
        )?,
        Notice::DirectPayment { address, payment } => webhook_body(
            DIRECT_DEPOSIT,
            &DirectDepositMsg {
                record_id: payment.record_id.to_owned(),
                reference_id: address.user_id.clone().unwrap_or_default(),
                coin_id: payment.coin.numeric_id,
                coin_symbol: payment.coin.symbol.clone(),
                status: status(payment.status).to_owned(),
                is_flagged_as_risky: false,
            },
        )?,
        // A wallet user's money (decisions §28).
        Notice::Withdrawal {
            withdrawal, coin, ..
        } if withdrawal.user_id.is_some() => webhook_body(
            USER_WITHDRAWAL,
            &UserWithdrawalMsg {
                record_id: withdrawal.record_id.clone(),
                order_id: withdrawal.merchant_order_id.clone(),
                user_id: withdrawal.user_id.clone().unwrap_or_default(),
                coin_id: coin.numeric_id,
                coin_symbol: coin.symbol.clone(),
                status: v2_status(withdrawal).to_owned(),
            },
        )?,
        Notice::Withdrawal {
            withdrawal, coin, ..
        } => webhook_body(
            API_WITHDRAWAL,
            &ApiWithdrawalMsg {
                record_id: withdrawal.record_id.clone(),
                order_id: withdrawal.merchant_order_id.clone(),
                coin_id: coin.numeric_id,
                coin_symbol: coin.symbol.clone(),
                status: v2_status(withdrawal).to_owned(),
            },
        )?,
        // Refunds are v1's (its `Refund` kind); v2 lists none (spec §3.3).
        Notice::Refund { .. } => return Ok(None),
    }))
}

/// v2's URL check, `{"type":"ActivateWebhookURL","msg":{}}`.
pub(super) fn ping() -> String {
    webhook_body(ACTIVATE_WEBHOOK_URL, &Empty {}).unwrap_or_default()
}

/// A withdrawal's status in v2's words (v2 spec §4.1): waiting for the
/// operator or rejected by it, else not yet final is `Processing` (whether
/// or not it is on the chain yet), then `Success` or `Failed`.
pub fn v2_status(withdrawal: &Withdrawal) -> &'static str {
    match (withdrawal.approval, withdrawal.status) {
        (Approval::Waiting, _) => "WaitingApproval",
        (Approval::Rejected, _) => "Rejected",
        (_, WithdrawalStatus::Pending | WithdrawalStatus::Processing) => "Processing",
        (_, WithdrawalStatus::Successful) => "Success",
        (_, WithdrawalStatus::Failed) => "Failed",
    }
}
