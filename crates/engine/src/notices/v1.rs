//! v1's flat webhook bodies (spec §3), one per kind.

use ccgate_api::deposits::{DIRECT_DEPOSIT, DirectDepositWebhook};
use ccgate_api::orders::{
    API_DEPOSIT, ApiDepositExtend, ApiDepositWebhook, INVOICE, InvoiceExtend, InvoiceWebhook,
    REFUND, RefundWebhook,
};
use ccgate_api::withdrawals::{API_WITHDRAWAL, WithdrawWebhook};
use ccgate_ledger::{Amount, Coin, MerchantId};

use super::{Notice, PayStatus, Payment};
use crate::EngineError;

/// v1's `pay_status` of a deposit.
fn pay_status(status: PayStatus) -> &'static str {
    match status {
        PayStatus::Processing => "processing",
        PayStatus::Success => "success",
        PayStatus::Failed => "failed",
    }
}

fn print(coin: &Coin) -> impl Fn(Amount) -> String + '_ {
    |amount| amount.to_decimal_string(coin.precision)
}

pub(super) fn render(notice: &Notice<'_>) -> Result<String, EngineError> {
    Ok(match notice {
        // A dashboard invoice's payment (spec §3.4, decisions §32).
        Notice::OrderPayment { order, payment } if order.invoice => {
            let Payment {
                record_id,
                status,
                chain,
                transfer,
                coin,
                token,
                fee,
                credit,
            } = payment;
            let print = print(coin);
            serde_json::to_string(&InvoiceWebhook {
                pay_status: pay_status(*status).to_owned(),
                order_type: INVOICE.to_owned(),
                record_id: (*record_id).to_owned(),
                order_id: order.order_id.clone(),
                product_price: order.product_price.clone(),
                order_amount: print(order.order_amount),
                fiat_rate: order.fiat_rate.clone(),
                denominated_currency: order.denominated_currency.clone(),
                paid_amount: print(transfer.amount),
                // What is credited is known once it is: "" before, as the
                // spec's example shows.
                credit_amount: match status {
                    PayStatus::Success => print(*credit),
                    PayStatus::Processing | PayStatus::Failed => String::new(),
                },
                token_rate: order.token_rate.clone(),
                chain: chain.code.to_string(),
                contract: token.contract.clone(),
                crypto: coin.symbol.clone(),
                txid: transfer.txid.clone(),
                network_fee: "0".to_owned(),
                service_fee: print(*fee),
                memo: transfer.memo.clone(),
                extend: InvoiceExtend {
                    invoice_id: order.merchant_order_id.clone(),
                    user_email: order.buyer_email.clone().unwrap_or_default(),
                    merchant_order_id: order.merchant_order_id.clone(),
                },
            })?
        }
        Notice::OrderPayment { order, payment } => {
            let Payment {
                record_id,
                status,
                chain,
                transfer,
                coin,
                token,
                ..
            } = payment;
            let print = print(coin);
            serde_json::to_string(&ApiDepositWebhook {
                pay_status: pay_status(*status).to_owned(),
                order_type: API_DEPOSIT.to_owned(),
                record_id: (*record_id).to_owned(),
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
            })?
        }
        Notice::DirectPayment { address, payment } => {
            let Payment {
                record_id,
                status,
                chain,
                transfer,
                coin,
                token,
                fee,
                credit,
            } = payment;
            let print = print(coin);
            serde_json::to_string(&DirectDepositWebhook {
                pay_status: pay_status(*status).to_owned(),
                order_type: DIRECT_DEPOSIT.to_owned(),
                record_id: (*record_id).to_owned(),
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
            })?
        }
        Notice::Withdrawal {
            withdrawal,
            coin,
            token,
            pay_status,
            fee_value,
        } => {
            let print = print(coin);
            serde_json::to_string(&WithdrawWebhook {
                pay_status: (*pay_status).to_owned(),
                order_type: API_WITHDRAWAL.to_owned(),
                order_id: withdrawal.order_id.clone(),
                record_id: withdrawal.record_id.clone(),
                withdraw_amount: print(withdrawal.debit),
                net_receivable: print(withdrawal.net_receivable),
                network_fee: print(withdrawal.network_fee),
                network_fee_crypto: coin.symbol.clone(),
                network_coin_id: coin.id.to_string(),
                network_fee_value: fee_value.clone(),
                chain: withdrawal.chain.clone(),
                contract: token.contract.clone(),
                crypto: coin.symbol.clone(),
                to_address: withdrawal.to_address.clone(),
                memo: withdrawal.memo.clone(),
                txid: withdrawal.txid.clone(),
                merchant_order_id: withdrawal.merchant_order_id.clone(),
                merchant_pays_fee: withdrawal.merchant_pays_fee,
            })?
        }
        Notice::Refund {
            refund,
            coin,
            token,
            pay_status,
            merchant_order_id,
        } => {
            let print = print(coin);
            serde_json::to_string(&RefundWebhook {
                pay_status: (*pay_status).to_owned(),
                order_type: REFUND.to_owned(),
                record_id: refund.record_id.clone(),
                amount: print(refund.value),
                net_receivable: print(refund.net_receivable),
                network_fee: print(refund.network_fee),
                network_crypto: coin.symbol.clone(),
                network_coin_id: coin.id.to_string(),
                chain: refund.chain.clone(),
                contract: token.contract.clone(),
                crypto: coin.symbol.clone(),
                to_address: refund.to_address.clone(),
                memo: refund.memo.clone(),
                txid: refund.txid.clone(),
                merchant_order_id: merchant_order_id.clone(),
            })?
        }
    })
}

/// `{"type":"ping","msg":{"app_id":…,"sent_at":…}}`: ccgate's own, since v1
/// has no test webhook.
pub(super) fn ping(app_id: &MerchantId, now_unix_secs: i64) -> String {
    serde_json::json!({
        "type": "ping",
        "msg": {"app_id": app_id.as_str(), "sent_at": now_unix_secs},
    })
    .to_string()
}
