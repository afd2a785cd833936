//! Orders, hosted checkouts and invoices in v2 (spec §2.3.2, §2.4): the
//! engine's native orders and hosted checkouts, the same objects v1's
//! `bill/create`, `concise/url/get` and `bill/info` make and read. An invoice
//! is a hosted checkout answered in its own currency.

use ccgate_api::v2::fields;
use ccgate_api::v2::orders::{
    CheckoutPricing, CheckoutUrl, CheckoutUrlRequest, InvoiceInfo, InvoicePayInfo, InvoiceUrl,
    InvoiceUrlRequest, OrderDepositAddress, OrderDepositAddressRequest, OrderInfo,
    OrderInfoRequest, OrderPayInfo,
};
use ccgate_engine::domain::{Checkout, MerchantCredentials, Order, WebhookDialect};
use ccgate_engine::orders::{
    HOSTED, HostedCheckoutRequest, HostedPricing, NativeOrderRequest, TOKEN_PRICING, Validity,
};
use ccgate_ledger::{Amount, Coin, Decimal, Precision, Rounding, TokenId, fiat_numeric_id};

use super::V2Result;
use super::coins::{chain_by_symbol, coin_by_number, token_on_chain};
use crate::AppState;
use crate::auth::SignedCall;
use crate::failure::Failure;
use crate::routes::checkout::page_url;
use crate::routes::success;

/// The ISO code of a configured fiat currency, by its v2 number.
fn fiat_code(state: &AppState, fiat_id: u64) -> Result<String, Failure> {
    state
        .orders
        .fiat_rates()
        .keys()
        .find(|code| fiat_numeric_id(code) == Some(fiat_id))
        .cloned()
        .ok_or(Failure::FiatIdUnknown(fiat_id))
}

/// `fiatId` and `fiatSymbol` of what an order is priced in: none for an
/// order priced in its coin.
fn fiat_of(currency: &str) -> (u64, String) {
    if currency == TOKEN_PRICING {
        (0, String::new())
    } else {
        (fiat_numeric_id(currency).unwrap_or(0), currency.to_owned())
    }
}

fn expiry(expired_at: Option<i64>) -> Validity {
    match expired_at {
        Some(unix_secs) => Validity::Until(unix_secs),
        // 24 hours, as getAppOrderInfo's documentation and v1 say.
        None => Validity::Period(None),
    }
}

/// `createAppOrderDepositAddress`: v1's `bill/create` order, in a coin by
/// number on a chain by name.
pub async fn create_order(state: AppState, SignedCall { merchant, body }: SignedCall) -> V2Result {
    let request = OrderDepositAddressRequest::from_fields(&fields(&body)?)?;
    let coin = coin_by_number(&state.registry, request.coin_id)?;
    let token = token_on_chain(coin, &request.chain)?;
    let chain = chain_by_symbol(&state.registry, token.chain.as_str())?;
    let currency = match request.fiat_id {
        Some(fiat_id) => fiat_code(&state, fiat_id)?,
        None => TOKEN_PRICING.to_owned(),
    };
    let generate_page = request.generate_checkout_url;
    let return_url = request.return_url.clone();
    let order = state
        .orders
        .create_native(
            &merchant.app_id,
            coin,
            token,
            chain,
            &NativeOrderRequest {
                product_price: request.price,
                merchant_order_id: request.order_id,
                denominated_currency: Some(currency),
                validity: expiry(request.expired_at),
                notify_url: request.notify_url,
                custom_value: None,
                remark: None,
                product_name: request.product,
                buyer_email: request.buyer_email,
                dialect: WebhookDialect::V2,
            },
            state.clock.now_unix_ms(),
        )
        .await?;
    let checkout_url = if generate_page {
        let page = state.orders.order_page(&order, coin, return_url).await?;
        page_url(&state, &page)
    } else {
        String::new()
    };
    Ok(success(&OrderDepositAddress {
        address: order.pay_address,
        amount: order.order_amount.to_decimal_string(coin.precision),
        memo: String::new(),
        checkout_url,
        confirms_needed: chain.confirmations_required,
    })?)
}

/// v1's hosted checkout, priced in any configured fiat currency or in a
/// coin; the payer picks the network (and coin) on the page.
async fn hosted_checkout(
    state: &AppState,
    merchant: &MerchantCredentials,
    request: CheckoutUrlRequest,
) -> Result<Checkout, Failure> {
    let pricing = match request.pricing {
        CheckoutPricing::FiatSymbol(code) => HostedPricing::Fiat(code),
        CheckoutPricing::FiatId(fiat_id) => HostedPricing::Fiat(fiat_code(state, fiat_id)?),
        CheckoutPricing::CoinId(number) => {
            let coin = coin_by_number(&state.registry, number)?;
            HostedPricing::Coin {
                coin_id: coin.id.clone(),
                symbol: coin.symbol.clone(),
                precision: coin.precision,
            }
        }
    };
    Ok(state
        .orders
        .create_hosted(
            &merchant.app_id,
            &HostedCheckoutRequest {
                product_price: request.price,
                pricing,
                merchant_order_id: request.order_id,
                product_name: request.product,
                validity: expiry(request.expired_at),
                return_url: request.return_url,
                notify_url: request.notify_url,
                custom_value: None,
                buyer_email: request.buyer_email,
                dialect: WebhookDialect::V2,
                invoice: false,
            },
            state.clock.now_unix_ms(),
            None,
        )
        .await?)
}

/// `createCheckoutUrl`: the plugin's hosted checkout.
pub async fn create_checkout(
    state: AppState,
    SignedCall { merchant, body }: SignedCall,
) -> V2Result {
    let request = CheckoutUrlRequest::from_fields(&fields(&body)?)?;
    let checkout = hosted_checkout(&state, &merchant, request).await?;
    Ok(success(&CheckoutUrl {
        checkout_url: page_url(&state, &checkout),
    })?)
}

/// `createInvoiceUrl`: the same hosted checkout, answered as an invoice.
pub async fn create_invoice(
    state: AppState,
    SignedCall { merchant, body }: SignedCall,
) -> V2Result {
    let request = InvoiceUrlRequest::from_fields(&fields(&body)?)?;
    let checkout = hosted_checkout(&state, &merchant, request.checkout).await?;
    Ok(success(&InvoiceUrl {
        invoice_url: page_url(&state, &checkout),
    })?)
}

/// `getInvoiceOrderInfo`: a hosted checkout (`createInvoiceUrl`,
/// `createCheckoutUrl` or `concise/url/get`) in its own currency, with its
/// payments and what they are worth in it.
pub async fn invoice_info(state: AppState, SignedCall { merchant, body }: SignedCall) -> V2Result {
    let request = OrderInfoRequest::from_fields(&fields(&body)?)?;
    let ids = [request.order_id];
    let checkout = state
        .records
        .checkouts(&merchant.app_id, &ids)
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| Failure::order_id_unknown(&ids[0]))?;
    let priced_in_coin = checkout
        .price_coin_id
        .as_ref()
        .and_then(|coin_id| state.registry.coin(coin_id));
    let (price_coin_id, price_fiat_id, value_places) = match priced_in_coin {
        Some(coin) => (coin.numeric_id, 0, coin.precision),
        None => (
            0,
            fiat_numeric_id(&checkout.denominated_currency).unwrap_or(0),
            cents()?,
        ),
    };
    let mut paid_list = Vec::new();
    let mut total = Amount::ZERO;
    if let Some(order) = state.orders.checkout_order(&checkout).await? {
        let coin = coin_of(&state, &order)?;
        // Paid in the coin it is priced in: one for one.
        let rate = match priced_in_coin {
            Some(_) => Decimal::parse("1").map_err(internal)?,
            None => locked_rate(&order)?,
        };
        for payment in payments_of(&state, &order).await? {
            let value = Decimal::parse(&payment.amount.to_decimal_string(coin.precision))
                .and_then(|paid| paid.checked_mul(rate))
                .and_then(|value| {
                    value.checked_div(Decimal::parse("1")?, value_places, Rounding::HalfUp)
                })
                .map_err(internal)?;
            if payment.status == "Success" {
                total = total
                    .checked_add(value)
                    .ok_or_else(|| internal("an invoice's paid value overflows"))?;
            }
            paid_list.push(InvoicePayInfo {
                record_id: payment.record_id,
                coin_id: coin.numeric_id,
                coin_symbol: coin.symbol.clone(),
                chain: order.chain.clone(),
                from_address: payment.from_address,
                to_address: order.pay_address.clone(),
                to_memo: String::new(),
                paid_amount: payment.amount.to_decimal_string(coin.precision),
                service_fee: payment.service_fee.to_decimal_string(coin.precision),
                txid: payment.txid,
                status: payment.status.to_owned(),
                arrived_at: payment.arrived_at,
                rate: rate.to_string(),
                paid_value: value.to_decimal_string(value_places),
                is_flagged_as_risky: false,
            });
        }
    }
    Ok(success(&InvoiceInfo {
        order_id: checkout.merchant_order_id.clone(),
        create_at: checkout.created_at,
        product: checkout.product_name.clone(),
        price: checkout.product_price.clone(),
        price_coin_id,
        price_fiat_id,
        price_symbol: checkout.denominated_currency.clone(),
        invoice_url: page_url(&state, &checkout),
        buyer_email: checkout.buyer_email.clone().unwrap_or_default(),
        expired_at: checkout.expires_at,
        total_paid_value: total.to_decimal_string(value_places),
        paid_list,
    })?)
}

/// A fiat value's places: cents, rounded half up.
fn cents() -> Result<Precision, Failure> {
    Precision::new(2).map_err(internal)
}

fn internal(err: impl std::fmt::Display) -> Failure {
    Failure::Internal(format!("value an invoice's payments: {err}"))
}

/// `getAppOrderInfo`: an order of either dialect by the merchant's id — a
/// `bill/create` or `createAppOrderDepositAddress` order, or a hosted
/// checkout's, from its creation.
pub async fn order_info(state: AppState, SignedCall { merchant, body }: SignedCall) -> V2Result {
    let request = OrderInfoRequest::from_fields(&fields(&body)?)?;
    let ids = [request.order_id];
    let order = state
        .records
        .orders(&merchant.app_id, &ids)
        .await?
        .into_iter()
        .next();
    let checkout = state
        .records
        .checkouts(&merchant.app_id, &ids)
        .await?
        .into_iter()
        .next();
    let info = match (order, checkout) {
        (Some(order), checkout) => {
            // A checkout's order, or a native order's page.
            let page = checkout.filter(|checkout| {
                order.kind == HOSTED || checkout.order_id.as_deref() == Some(&order.order_id)
            });
            chosen(&state, &order, page.as_ref()).await?
        }
        (None, Some(checkout)) => unchosen(&state, &checkout),
        (None, None) => return Err(Failure::order_id_unknown(&ids[0]).into()),
    };
    Ok(success(&info)?)
}

/// A payment to an order in the order's coin, credited or still confirming.
struct Payment {
    record_id: String,
    from_address: String,
    txid: String,
    amount: Amount,
    /// Charged when credited: zero while confirming.
    service_fee: Amount,
    /// `Success` or `Processing`.
    status: &'static str,
    /// Credited, or seen (Unix seconds).
    arrived_at: i64,
}

/// The order's payments in its own coin (v2 spec §2.4.1): the credited
/// ones, then those seen and still confirming.
async fn payments_of(state: &AppState, order: &Order) -> Result<Vec<Payment>, Failure> {
    let now_secs = state.clock.now_unix_ms().div_euclid(1000);
    let credited = state.orders.progress(order, now_secs).await?.payments;
    let confirming = state.records.confirming_payments(&order.order_id).await?;
    let in_the_orders_coin = |token_id: &TokenId| {
        state
            .registry
            .token(token_id)
            .is_some_and(|(paid, _)| paid.id == order.coin_id)
    };
    let credited = credited.into_iter().map(|payment| Payment {
        record_id: payment.record_id,
        from_address: payment.from_address,
        txid: payment.txid,
        amount: payment.amount,
        service_fee: payment.service_fee,
        status: "Success",
        arrived_at: payment.pay_time,
    });
    let still_confirming = confirming
        .into_iter()
        .filter(|payment| in_the_orders_coin(&payment.token_id))
        .map(|payment| Payment {
            record_id: payment.record_id,
            from_address: payment.from_address,
            txid: payment.txid,
            amount: payment.amount,
            service_fee: Amount::ZERO,
            status: "Processing",
            arrived_at: payment.seen_at_ms.div_euclid(1000),
        });
    Ok(credited.chain(still_confirming).collect())
}

/// One coin in the order's pricing currency, locked at creation: USD per
/// coin × units per USD (1 for an order priced in its coin, whose rate is
/// then the coin's USD price).
fn locked_rate(order: &Order) -> Result<Decimal, Failure> {
    Decimal::parse(&order.token_rate)
        .and_then(|token_rate| token_rate.checked_mul(Decimal::parse(&order.fiat_rate)?))
        .map_err(|err| Failure::Internal(format!("order {} has a bad rate: {err}", order.order_id)))
}

/// The coin of an order, which the registry must still have.
fn coin_of<'a>(state: &'a AppState, order: &Order) -> Result<&'a Coin, Failure> {
    state
        .registry
        .token(&order.token_id)
        .map(|(coin, _)| coin)
        .ok_or_else(|| {
            Failure::Internal(format!(
                "order {} is for token {}, no longer configured",
                order.order_id, order.token_id
            ))
        })
}

/// An order with its coin: what is due in it and what was paid.
async fn chosen(
    state: &AppState,
    order: &Order,
    checkout: Option<&Checkout>,
) -> Result<OrderInfo, Failure> {
    let coin = coin_of(state, order)?;
    let print = |amount: Amount| amount.to_decimal_string(coin.precision);
    let rate = locked_rate(order)?.to_string();
    let paid_list = payments_of(state, order)
        .await?
        .into_iter()
        .map(|payment| OrderPayInfo {
            record_id: payment.record_id,
            from_address: payment.from_address,
            amount: print(payment.amount),
            service_fee: print(payment.service_fee),
            txid: payment.txid,
            status: payment.status.to_owned(),
            arrived_at: payment.arrived_at,
            rate: rate.clone(),
            is_flagged_as_risky: false,
        })
        .collect();
    let (fiat_id, fiat_symbol) = fiat_of(&order.denominated_currency);
    Ok(OrderInfo {
        amount_to_pay: print(order.order_amount),
        coin_id: coin.numeric_id,
        coin_symbol: coin.symbol.clone(),
        chain: order.chain.clone(),
        to_address: order.pay_address.clone(),
        to_memo: String::new(),
        create_at: order.created_at,
        rate,
        fiat_id,
        fiat_symbol,
        expired_at: order.expires_at,
        checkout_url: checkout.map(|c| page_url(state, c)).unwrap_or_default(),
        buyer_email: order.buyer_email.clone().unwrap_or_default(),
        paid_list,
    })
}

/// A hosted checkout whose payer has not picked a network: nothing can have
/// been paid, and what is due is its price — in its fiat currency, or in its
/// coin — never `"0"`, which a plugin would read as paid (decisions §14).
fn unchosen(state: &AppState, checkout: &Checkout) -> OrderInfo {
    let priced_in_coin = checkout
        .price_coin_id
        .as_ref()
        .and_then(|coin_id| state.registry.coin(coin_id));
    let ((fiat_id, fiat_symbol), (coin_id, coin_symbol)) = match priced_in_coin {
        Some(coin) => ((0, String::new()), (coin.numeric_id, coin.symbol.clone())),
        None => (fiat_of(&checkout.denominated_currency), (0, String::new())),
    };
    OrderInfo {
        amount_to_pay: checkout.product_price.clone(),
        coin_id,
        coin_symbol,
        create_at: checkout.created_at,
        fiat_id,
        fiat_symbol,
        expired_at: checkout.expires_at,
        checkout_url: page_url(state, checkout),
        buyer_email: checkout.buyer_email.clone().unwrap_or_default(),
        ..OrderInfo::default()
    }
}
