//! The webhook a deposit's state is reported in: API Deposit for an order's
//! address, Direct Deposit for a permanent one, in the dialect of the order
//! or address (v1's flat shapes or v2's `{"type","msg"}`, `ccgate_api`).

use ccgate_api::deposits::{DIRECT_DEPOSIT, DirectDepositWebhook};
use ccgate_api::orders::{API_DEPOSIT, ApiDepositExtend, ApiDepositWebhook};
use ccgate_api::v2::webhooks::{self as v2, ApiDepositMsg, DirectDepositMsg};
use ccgate_ledger::{Amount, Chain};
use ccgate_store::{ChainTransfer, NewWebhook, WebhookDialect};

use super::{Assessed, DepositWatcher};
use crate::EngineError;

/// Where a deposit stands, as its webhook reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum PayStatus {
    /// Seen in a block, not confirmed yet.
    Processing,
    /// Confirmed and credited.
    Success,
    /// Seen, then gone in a reorganisation.
    Failed,
}

impl PayStatus {
    /// v1's `pay_status`.
    fn v1(self) -> &'static str {
        match self {
            PayStatus::Processing => "processing",
            PayStatus::Success => "success",
            PayStatus::Failed => "failed",
        }
    }

    /// v2's `status` (spec §4.1).
    fn v2(self) -> &'static str {
        match self {
            PayStatus::Processing => "Processing",
            PayStatus::Success => "Success",
            PayStatus::Failed => "Failed",
        }
    }
}

impl DepositWatcher {
    /// The webhook reporting a transfer in state `pay_status`: API Deposit for
    /// an order's address, Direct Deposit for a permanent one.
    pub(super) async fn webhook(
        &self,
        chain: &Chain,
        transfer: &ChainTransfer,
        assessed: &Assessed<'_>,
        record_id: &str,
        pay_status: PayStatus,
        now_unix_ms: i64,
    ) -> Result<NewWebhook, EngineError> {
        let Assessed {
            address,
            coin,
            token,
            fee,
            credit,
            ..
        } = assessed;
        let print = |amount: Amount| amount.to_decimal_string(coin.precision);
        let (dialect, order_type, payload, url) = match &address.order_id {
            Some(order_id) => {
                let order = self.stores.orders.order(order_id).await?.ok_or_else(|| {
                    ccgate_store::StoreError::Corrupt(format!(
                        "address of a missing order {order_id}"
                    ))
                })?;
                if order.dialect == WebhookDialect::V2 {
                    let msg = ApiDepositMsg {
                        record_id: record_id.to_owned(),
                        order_id: order.merchant_order_id.clone(),
                        coin_id: coin.numeric_id,
                        coin_symbol: coin.symbol.clone(),
                        status: pay_status.v2().to_owned(),
                        is_flagged_as_risky: false,
                    };
                    let payload = v2::webhook_body(v2::API_DEPOSIT, &msg)?;
                    // Filed under v1's kind, as every webhook of the outbox
                    // is: `webhook/resend` picks a kind whichever dialect.
                    (WebhookDialect::V2, API_DEPOSIT, payload, order.notify_url)
                } else {
                    let payload = serde_json::to_string(&ApiDepositWebhook {
                        pay_status: pay_status.v1().to_owned(),
                        order_type: API_DEPOSIT.to_owned(),
                        record_id: record_id.to_owned(),
                        order_id: order.order_id.clone(),
                        product_price: order.product_price.clone(),
                        denominated_currency: order.denominated_currency.clone(),
                        order_amount: print(order.order_amount),
                        fiat_rate: order.fiat_rate.clone(),
                        paid_amount: print(transfer.amount),
                        token_rate: order.token_rate.clone(),
                        chain: chain.code.to_string(),
                        txid: transfer.txid.clone(),
                        contract: token.contract.clone(),
                        crypto: coin.symbol.clone(),
                        extend: ApiDepositExtend {
                            merchant_order_id: order.merchant_order_id.clone(),
                            custom_value: order.custom_value.clone(),
                        },
                    })?;
                    (WebhookDialect::V1, API_DEPOSIT, payload, order.notify_url)
                }
            }
            None if address.dialect == WebhookDialect::V2 => {
                let msg = DirectDepositMsg {
                    record_id: record_id.to_owned(),
                    reference_id: address.user_id.clone().unwrap_or_default(),
                    coin_id: coin.numeric_id,
                    coin_symbol: coin.symbol.clone(),
                    status: pay_status.v2().to_owned(),
                    is_flagged_as_risky: false,
                };
                let payload = v2::webhook_body(v2::DIRECT_DEPOSIT, &msg)?;
                (
                    WebhookDialect::V2,
                    DIRECT_DEPOSIT,
                    payload,
                    address.notify_url.clone(),
                )
            }
            None => {
                let payload = serde_json::to_string(&DirectDepositWebhook {
                    pay_status: pay_status.v1().to_owned(),
                    order_type: DIRECT_DEPOSIT.to_owned(),
                    record_id: record_id.to_owned(),
                    paid_amount: print(transfer.amount),
                    credit_amount: print(*credit),
                    chain: chain.code.to_string(),
                    from_address: transfer.from_address.clone(),
                    to_address: transfer.to_address.clone(),
                    contract: token.contract.clone(),
                    crypto: coin.symbol.clone(),
                    txid: transfer.txid.clone(),
                    service_fee: print(*fee),
                    memo: transfer.memo.clone(),
                    user_id: address.user_id.clone().unwrap_or_default(),
                })?;
                (
                    WebhookDialect::V1,
                    DIRECT_DEPOSIT,
                    payload,
                    address.notify_url.clone(),
                )
            }
        };
        Ok(NewWebhook {
            dialect,
            app_id: address.app_id.clone(),
            record_id: record_id.to_owned(),
            order_type,
            url,
            payload,
            created_at_ms: now_unix_ms,
        })
    }
}
