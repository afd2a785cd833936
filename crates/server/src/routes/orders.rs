//! `bill/create` (native checkout, spec §2.2) and `bill/info` (§2.3).

use axum::response::Response;
use ccgate_api::orders::{
    BillCreateRequest, BillCreated, BillInfo, BillInfoRequest, OrderDetail, Refund, Trade,
};
use ccgate_api::request::Fields;
use ccgate_engine::domain::WebhookDialect;
use ccgate_engine::orders::{NativeOrderRequest, OrderState, OrderStatus, Validity};
use ccgate_engine::records::FoundOrders;
use ccgate_engine::withdrawals::network_named;
use ccgate_ledger::Amount;

use super::success;
use crate::AppState;
use crate::auth::SignedCall;
use crate::failure::Failure;

pub async fn bill_create(
    state: AppState,
    SignedCall { merchant, body }: SignedCall,
) -> Result<Response, Failure> {
    let request = BillCreateRequest::from_fields(&Fields::parse(&body)?)?;
    let (coin, token) = network_named(&state.registry, &request.token_id, false)?;
    let chain = state
        .registry
        .chain(token.chain.as_str())
        .ok_or_else(|| Failure::chain_not_supported(token.chain.as_str()))?;
    let now = state.clock.now_unix_ms();
    let order = state
        .orders
        .create_native(
            &merchant.app_id,
            coin,
            token,
            chain,
            &NativeOrderRequest {
                product_price: request.product_price,
                merchant_order_id: request.merchant_order_id,
                denominated_currency: request.denominated_currency,
                validity: Validity::Period(request.order_valid_period),
                notify_url: request.notify_url,
                custom_value: request.custom_value,
                remark: request.remark,
                product_name: String::new(),
                buyer_email: None,
                dialect: WebhookDialect::V1,
            },
            now,
        )
        .await?;
    // What is left of the validity, for a repeated request too.
    let remaining = order.expires_at.saturating_sub(now.div_euclid(1000)).max(0);
    success(&BillCreated {
        order_id: order.order_id,
        amount: order.order_amount.to_decimal_string(coin.precision),
        logo: token.logo.clone(),
        network: token.network.clone(),
        pay_address: order.pay_address,
        crypto: coin.symbol.clone(),
        token_id: token.id.to_string(),
        memo: String::new(),
        order_valid_period: u64::try_from(remaining).unwrap_or(0),
    })
}

pub async fn bill_info(
    state: AppState,
    SignedCall { merchant, body }: SignedCall,
) -> Result<Response, Failure> {
    let request = BillInfoRequest::from_fields(&Fields::parse(&body)?)?;
    let FoundOrders {
        orders,
        unchosen,
        withdrawals,
    } = state
        .records
        .by_merchant_order_ids(&merchant.app_id, &request.merchant_order_ids)
        .await?;
    let withdrawals = withdrawals
        .iter()
        .map(|withdrawal| super::withdrawals::withdraw_info(&state, withdrawal))
        .collect::<Result<Vec<_>, _>>()?;
    match (
        orders.is_empty() && unchosen.is_empty(),
        withdrawals.is_empty(),
    ) {
        (false, false) => return Err(Failure::MixedOrderKinds),
        (true, false) => return success(&withdrawals),
        _ => {}
    }
    let now_ms = state.clock.now_unix_ms();
    let now_secs = now_ms.div_euclid(1000);
    let mut answer = Vec::with_capacity(orders.len() + unchosen.len());
    for order in orders {
        let OrderState {
            progress, payments, ..
        } = state.orders.progress(&order, now_secs).await?;
        let found = state.registry.token(&order.token_id);
        let (crypto, contract, precision) = match found {
            Some((coin, token)) => (coin.symbol.clone(), token.contract.clone(), coin.precision),
            None => {
                return Err(Failure::Internal(format!(
                    "order {} is for token {}, no longer configured",
                    order.order_id, order.token_id
                )));
            }
        };
        let print = |amount: Amount| amount.to_decimal_string(precision);
        let trade_list = payments
            .iter()
            .map(|payment| Trade {
                amount: print(payment.amount),
                chain: order.chain.clone(),
                contract: contract.clone(),
                crypto: crypto.clone(),
                service_fee: print(payment.service_fee),
                network_fee: "0".to_owned(),
                txid: payment.txid.clone(),
                pay_time: payment.pay_time,
                token_rate: order.token_rate.clone(),
                status: "Successful".to_owned(),
            })
            .collect();
        let refund_list = state
            .records
            .refunds_of(&order.order_id)
            .await?
            .iter()
            .map(|refund| Refund {
                refund_amount: print(refund.value),
                network_fee: print(refund.network_fee),
                actual_received_amount: print(refund.net_receivable),
                chain: refund.chain.clone(),
                contract: contract.clone(),
                crypto: crypto.clone(),
                txid: refund.txid.clone(),
                address: refund.to_address.clone(),
                pay_time: refund.resolved_at.unwrap_or(refund.created_at),
                status: super::withdrawals::status_word(refund.status).to_owned(),
            })
            .collect();
        answer.push(BillInfo {
            order_detail: OrderDetail {
                order_id: order.order_id.clone(),
                product_price: order.product_price.clone(),
                denominated_currency: order.denominated_currency.clone(),
                product_name: order.product_name.clone(),
                merchant_order_id: order.merchant_order_id.clone(),
                chain: order.chain.clone(),
                contract,
                crypto,
                order_amount: print(order.order_amount),
                status: progress.status.as_str().to_owned(),
                token_rate: order.token_rate.clone(),
                created: order.created_at,
                paid_amount: print(progress.paid),
                underpaid: progress.underpaid,
                overpaid: progress.overpaid,
            },
            trade_list,
            refund_list,
        });
    }
    for checkout in &unchosen {
        let status = if now_secs > checkout.expires_at {
            OrderStatus::Expired
        } else {
            OrderStatus::Pending
        };
        answer.push(BillInfo {
            order_detail: OrderDetail {
                order_id: state.orders.hosted_order_id(checkout, now_ms).await?,
                product_price: checkout.product_price.clone(),
                denominated_currency: checkout.denominated_currency.clone(),
                product_name: checkout.product_name.clone(),
                merchant_order_id: checkout.merchant_order_id.clone(),
                status: status.as_str().to_owned(),
                created: checkout.created_at,
                paid_amount: "0".to_owned(),
                ..OrderDetail::default()
            },
            trade_list: Vec::new(),
            refund_list: Vec::new(),
        });
    }
    success(&answer)
}
