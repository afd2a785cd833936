//! Payment orders (decisions §5): creation with the rate locked, idempotent
//! `merchant_order_id`, and the order's state derived from its payments.

use std::collections::BTreeMap;
use std::sync::Arc;

use ccgate_ledger::{
    Amount, AssetStatus, Coin, CoinId, Decimal, LedgerError, MerchantId, Precision, Rounding, Token,
};
use ccgate_pricefeed::PriceSource;
use ccgate_store::{
    AuditEntry, Checkout, ConfirmingPayment, Order, OrderIdHolder, OrderPayment, OrderStore,
    WebhookDialect, WithdrawalStore,
};

use crate::addresses::AddressBook;
use crate::amounts::{fiat_price, positive_decimal};
use crate::{EngineError, RecordIds, Rejection};

/// An order's validity when none is asked for, and the most allowed (spec §2.1).
pub const ORDER_VALID_SECS_DEFAULT: u64 = 86_400;
pub const ORDER_VALID_SECS_MAX: u64 = 864_000;
/// Fiat prices carry at most cents (spec §2.2).
const FIAT_PRICE_PLACES_MAX: u8 = 2;
/// The `denominated_currency` that prices an order in the token itself.
pub const TOKEN_PRICING: &str = "token";
pub const NATIVE: &str = "native";
pub const HOSTED: &str = "hosted";

/// How long an order or checkout may be paid, in its dialect's words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Validity {
    /// v1's `order_valid_period`: seconds from creation; `None` is the default.
    Period(Option<u64>),
    /// v2's `expiredAt`: until this Unix second.
    Until(i64),
}

impl Validity {
    /// What identifies it among a request's parameters: the same for a
    /// repeat made later, so an absolute expiry is kept as given.
    fn print(self) -> Result<String, EngineError> {
        match self {
            Validity::Period(asked) => Ok(validity(asked)?.to_string()),
            Validity::Until(unix_secs) => Ok(format!("until {unix_secs}")),
        }
    }

    /// The expiry of something created at `created_at` (Unix seconds).
    fn expires_at(self, created_at: i64) -> Result<i64, EngineError> {
        match self {
            Validity::Period(asked) => {
                let secs = validity(asked)?;
                Ok(created_at.saturating_add(i64::try_from(secs).unwrap_or(i64::MAX)))
            }
            Validity::Until(unix_secs) if unix_secs <= created_at => {
                Err(Rejection::ExpiryNotAhead(unix_secs).into())
            }
            Validity::Until(unix_secs) => {
                let max = i64::try_from(ORDER_VALID_SECS_MAX).unwrap_or(i64::MAX);
                if unix_secs.saturating_sub(created_at) > max {
                    return Err(Rejection::ValidityOutOfRange {
                        field: "expiredAt",
                        max_secs: ORDER_VALID_SECS_MAX,
                    }
                    .into());
                }
                Ok(unix_secs)
            }
        }
    }
}

/// What a hosted checkout is priced in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostedPricing {
    /// An ISO code of a configured fiat currency (`USD` for v1): the payer
    /// picks any coin and network.
    Fiat(String),
    /// A coin, which is then the only one the payer may pick (on any of its
    /// networks).
    Coin {
        coin_id: CoinId,
        symbol: String,
        precision: Precision,
    },
}

/// The dashboard's audit row of an invoice, made from the checkout about to
/// be stored: it commits with the checkout (decisions §40).
pub type InvoiceAudit<'a> = dyn Fn(&Checkout) -> AuditEntry + Send + Sync + 'a;

/// What `concise/url/get` and `createCheckoutUrl` ask for, after parsing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostedCheckoutRequest {
    /// In `pricing`.
    pub product_price: String,
    pub pricing: HostedPricing,
    pub merchant_order_id: String,
    pub product_name: String,
    pub validity: Validity,
    pub return_url: Option<String>,
    pub notify_url: Option<String>,
    pub custom_value: Option<String>,
    pub buyer_email: Option<String>,
    pub dialect: WebhookDialect,
    /// A dashboard invoice (decisions §32); the API's checkouts are not.
    pub invoice: bool,
}

/// What an order is made of, whichever endpoint asked for it.
struct OrderDraft<'a> {
    order_id: String,
    /// Unix seconds: a hosted order was created with its checkout.
    created_at: i64,
    kind: &'static str,
    merchant_order_id: &'a str,
    product_price: &'a str,
    product_name: &'a str,
    currency: &'a str,
    expires_at: i64,
    notify_url: Option<&'a str>,
    custom_value: Option<&'a str>,
    remark: Option<&'a str>,
    buyer_email: Option<&'a str>,
    dialect: WebhookDialect,
    fingerprint: &'a str,
    /// Chosen on a dashboard invoice's page.
    invoice: bool,
}

fn validity(asked: Option<u64>) -> Result<u64, EngineError> {
    let secs = asked.unwrap_or(ORDER_VALID_SECS_DEFAULT);
    if secs > ORDER_VALID_SECS_MAX {
        return Err(Rejection::ValidityOutOfRange {
            field: "order_valid_period",
            max_secs: ORDER_VALID_SECS_MAX,
        }
        .into());
    }
    Ok(secs)
}

/// What `bill/create` and `createAppOrderDepositAddress` ask for, after parsing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NativeOrderRequest {
    pub product_price: String,
    pub merchant_order_id: String,
    /// An ISO code, `token` (priced in the coin itself), or `None` for USD.
    pub denominated_currency: Option<String>,
    pub validity: Validity,
    pub notify_url: Option<String>,
    pub custom_value: Option<String>,
    pub remark: Option<String>,
    /// v2's `product`; v1 orders have none.
    pub product_name: String,
    pub buyer_email: Option<String>,
    pub dialect: WebhookDialect,
}

#[derive(Debug)]
pub struct Orders {
    prices: Arc<dyn PriceSource>,
    /// Units of each currency per USD.
    fiat_rates: Arc<BTreeMap<String, Decimal>>,
    addresses: Arc<AddressBook>,
    orders: Arc<dyn OrderStore>,
    /// Only to keep one namespace of `merchant_order_id` with withdrawals.
    withdrawals: Arc<dyn WithdrawalStore>,
    ids: RecordIds,
}

/// The order's state (decisions §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderStatus {
    Pending,
    Processing,
    Successful,
    Expired,
}

impl OrderStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            OrderStatus::Pending => "Pending",
            OrderStatus::Processing => "Processing",
            OrderStatus::Successful => "Successful",
            OrderStatus::Expired => "Expired",
        }
    }
}

/// An order's payments summed up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrderProgress {
    pub status: OrderStatus,
    /// Everything confirmed, late payments included.
    pub paid: Amount,
    pub underpaid: bool,
    pub overpaid: bool,
}

/// An order's state with what it was derived from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderState {
    pub progress: OrderProgress,
    pub payments: Vec<OrderPayment>,
    /// The earliest payment made in time still confirming, if any.
    pub confirming: Option<ConfirmingPayment>,
}

/// Derived, never stored: paid in full by payments made before the order
/// expired → Successful; else a payment made in time still confirming →
/// Processing; else past its validity → Expired; else Pending. A payment made
/// after expiry is credited and counted in `paid`, but the order stays Expired.
pub fn order_progress(
    order: &Order,
    payments: &[OrderPayment],
    confirming_in_time: bool,
    now_unix_secs: i64,
) -> OrderProgress {
    let expires_at_ms = order.expires_at.saturating_mul(1000);
    let sum = |in_time_only: bool| {
        payments
            .iter()
            .filter(|p| !in_time_only || p.block_time_ms <= expires_at_ms)
            .fold(Amount::ZERO, |total, p| {
                total.checked_add(p.amount).unwrap_or(total)
            })
    };
    let paid = sum(false);
    let paid_in_time = sum(true);
    let status = if paid_in_time >= order.order_amount {
        OrderStatus::Successful
    } else if confirming_in_time {
        OrderStatus::Processing
    } else if now_unix_secs > order.expires_at {
        OrderStatus::Expired
    } else {
        OrderStatus::Pending
    };
    OrderProgress {
        status,
        paid,
        underpaid: !payments.is_empty() && paid < order.order_amount,
        overpaid: paid > order.order_amount,
    }
}

/// Parameters that make two requests "the same order". v1's are printed as
/// they always were (stored orders compare with them); v2 adds its own.
fn fingerprint(
    token: &Token,
    request: &NativeOrderRequest,
    currency: &str,
    validity: &str,
) -> String {
    let price = Decimal::parse(&request.product_price)
        .map_or_else(|_| request.product_price.clone(), |d| d.to_string());
    let optional = |value: &Option<String>| value.clone().unwrap_or_default();
    let v1 = format!(
        "{}|{price}|{currency}|{validity}|{}|{}|{}",
        token.id,
        optional(&request.notify_url),
        optional(&request.custom_value),
        optional(&request.remark)
    );
    match request.dialect {
        WebhookDialect::V1 => v1,
        WebhookDialect::V2 => format!(
            "{v1}|v2|{}|{}",
            request.product_name,
            optional(&request.buyer_email)
        ),
    }
}

/// Refuses `merchant_order_id` for a request of kind `asking` when another
/// kind already holds it: a merchant has one namespace of them across
/// orders, hosted checkouts and withdrawals (docs/decisions.md §9), since
/// `bill/info` answers by that id alone. A repeat of one's own kind is the
/// caller's idempotency to judge.
pub(crate) async fn claim_merchant_order_id(
    withdrawals: &dyn WithdrawalStore,
    app_id: &MerchantId,
    merchant_order_id: &str,
    asking: OrderIdHolder,
) -> Result<(), EngineError> {
    let holders = withdrawals
        .merchant_order_id_holders(app_id, merchant_order_id)
        .await?;
    match holders.into_iter().find(|holder| *holder != asking) {
        None => Ok(()),
        Some(holder) => Err(taken(merchant_order_id, holder)),
    }
}

/// For a request that judges its own repeats: `true` when its own kind
/// already holds `merchant_order_id` (the caller reads that one and compares,
/// before anything else), `false` when no one does, the refusal of
/// `claim_merchant_order_id` when only another kind does. One query on the
/// common path, a fresh id, where reading the repeat first took two.
pub(crate) async fn repeat_or_claim(
    withdrawals: &dyn WithdrawalStore,
    app_id: &MerchantId,
    merchant_order_id: &str,
    asking: OrderIdHolder,
) -> Result<bool, EngineError> {
    let holders = withdrawals
        .merchant_order_id_holders(app_id, merchant_order_id)
        .await?;
    repeat_or_taken(holders, merchant_order_id, asking)
}

/// [`repeat_or_claim`]'s judgement of holders already read.
pub(crate) fn repeat_or_taken(
    holders: Vec<OrderIdHolder>,
    merchant_order_id: &str,
    asking: OrderIdHolder,
) -> Result<bool, EngineError> {
    if holders.contains(&asking) {
        return Ok(true);
    }
    match holders.into_iter().next() {
        None => Ok(false),
        Some(holder) => Err(taken(merchant_order_id, holder)),
    }
}

fn taken(merchant_order_id: &str, holder: OrderIdHolder) -> EngineError {
    Rejection::MerchantOrderIdTaken {
        id: merchant_order_id.chars().take(64).collect(),
        by: match holder {
            OrderIdHolder::NativeOrder => "orders (bill/create)",
            OrderIdHolder::HostedCheckout => "hosted checkouts (concise/url/get)",
            OrderIdHolder::Withdrawal => "withdrawals",
        },
    }
    .into()
}

impl Orders {
    pub fn new(
        prices: Arc<dyn PriceSource>,
        fiat_rates: Arc<BTreeMap<String, Decimal>>,
        addresses: Arc<AddressBook>,
        orders: Arc<dyn OrderStore>,
        withdrawals: Arc<dyn WithdrawalStore>,
    ) -> Orders {
        Orders {
            prices,
            fiat_rates,
            addresses,
            orders,
            withdrawals,
            ids: RecordIds::default(),
        }
    }

    /// Units of each fiat currency per USD, by ISO code.
    pub fn fiat_rates(&self) -> &BTreeMap<String, Decimal> {
        &self.fiat_rates
    }

    /// `bill/create`: a new order with its own address, or the same order
    /// again for a repeated identical request.
    pub async fn create_native(
        &self,
        app_id: &MerchantId,
        coin: &Coin,
        token: &Token,
        chain: &ccgate_ledger::Chain,
        request: &NativeOrderRequest,
        now_unix_ms: i64,
    ) -> Result<Order, EngineError> {
        let validity = request.validity.print()?;
        let currency = match request.denominated_currency.as_deref() {
            None => "USD".to_owned(),
            Some(c) if c.eq_ignore_ascii_case(TOKEN_PRICING) => TOKEN_PRICING.to_owned(),
            Some(c) => c.to_ascii_uppercase(),
        };
        let print = fingerprint(token, request, &currency, &validity);
        let repeat = repeat_or_claim(
            self.withdrawals.as_ref(),
            app_id,
            &request.merchant_order_id,
            OrderIdHolder::NativeOrder,
        )
        .await?;
        if repeat
            && let Some(existing) = self
                .orders
                .order_by_merchant_order_id(app_id, &request.merchant_order_id, NATIVE)
                .await?
        {
            return same_or_duplicate(existing, &print, &request.merchant_order_id);
        }
        let created_at = now_unix_ms.div_euclid(1000);
        let draft = OrderDraft {
            order_id: self.ids.next(now_unix_ms),
            created_at,
            kind: NATIVE,
            merchant_order_id: &request.merchant_order_id,
            product_price: &request.product_price,
            product_name: &request.product_name,
            currency: &currency,
            expires_at: request.validity.expires_at(created_at)?,
            notify_url: request.notify_url.as_deref(),
            custom_value: request.custom_value.as_deref(),
            remark: request.remark.as_deref(),
            buyer_email: request.buyer_email.as_deref(),
            dialect: request.dialect,
            fingerprint: &print,
            invoice: false,
        };
        self.place(app_id, coin, token, chain, &draft, now_unix_ms)
            .await
    }

    /// `concise/url/get`, `createCheckoutUrl` and `createInvoiceUrl`: a
    /// hosted checkout priced in a fiat currency or in a coin, or the same
    /// one again for a repeated identical request.
    pub async fn create_hosted(
        &self,
        app_id: &MerchantId,
        request: &HostedCheckoutRequest,
        now_unix_ms: i64,
        audit: Option<&InvoiceAudit<'_>>,
    ) -> Result<Checkout, EngineError> {
        let validity = request.validity.print()?;
        let (price, currency, price_coin_id) = match &request.pricing {
            HostedPricing::Fiat(code) => {
                if !self.fiat_rates.contains_key(code) {
                    return Err(Rejection::CurrencyNotSupported(code.clone()).into());
                }
                let price = fiat_price(
                    "product_price",
                    &request.product_price,
                    FIAT_PRICE_PLACES_MAX,
                )?;
                (price, code.clone(), None)
            }
            // At most the coin's decimals; a network with fewer shows no
            // amount for a finer price and refuses it when chosen.
            HostedPricing::Coin {
                coin_id,
                symbol,
                precision,
            } => {
                let price = positive_decimal("product_price", &request.product_price)?;
                price.to_amount(*precision).map_err(|err| {
                    Rejection::AmountInvalid(match err {
                        LedgerError::AmountOverflow => "product_price is too large".to_owned(),
                        _ => format!(
                            "product_price has more than the {} decimal places of {symbol}",
                            precision.get()
                        ),
                    })
                })?;
                (price, symbol.clone(), Some(coin_id.clone()))
            }
        };
        let optional = |value: &Option<String>| value.clone().unwrap_or_default();
        // v1's parameters print as they always did (stored checkouts compare
        // with them); v2 adds its own.
        let v1_print = format!(
            "{price}|{}|{validity}|{}|{}|{}",
            request.product_name,
            optional(&request.return_url),
            optional(&request.notify_url),
            optional(&request.custom_value)
        );
        let print = match request.dialect {
            WebhookDialect::V1 => v1_print,
            WebhookDialect::V2 => format!(
                "{v1_print}|v2|{currency}|{}",
                optional(&request.buyer_email)
            ),
        };
        // An invoice is never "the same" as an API checkout of that id.
        let print = if request.invoice {
            format!("{print}|invoice|{currency}")
        } else {
            print
        };
        claim_merchant_order_id(
            self.withdrawals.as_ref(),
            app_id,
            &request.merchant_order_id,
            OrderIdHolder::HostedCheckout,
        )
        .await?;
        let created_at = now_unix_ms.div_euclid(1000);
        let expires_at = match request.validity.expires_at(created_at) {
            Ok(expires_at) => expires_at,
            // An `expiredAt` now past may still name a checkout made while
            // it was ahead: a repeat of that request is that checkout.
            Err(refused) => {
                let ids = [request.merchant_order_id.clone()];
                return match self
                    .orders
                    .checkouts_by_merchant_order_ids(app_id, &ids)
                    .await?
                    .into_iter()
                    .find(|stored| stored.fingerprint == print)
                {
                    Some(stored) => Ok(stored),
                    None => Err(refused),
                };
            }
        };
        let checkout = Checkout {
            key: checkout_key(),
            app_id: app_id.clone(),
            merchant_order_id: request.merchant_order_id.clone(),
            fingerprint: print.clone(),
            product_price: price.to_string(),
            product_name: request.product_name.clone(),
            return_url: request.return_url.clone(),
            notify_url: request.notify_url.clone(),
            custom_value: request.custom_value.clone(),
            created_at,
            expires_at,
            // Reserved now, so `bill/info` answers with the same id before
            // and after the payer's choice (decisions §8).
            order_id: Some(self.ids.next(now_unix_ms)),
            dialect: request.dialect,
            buyer_email: request.buyer_email.clone(),
            denominated_currency: currency,
            price_coin_id,
            invoice: request.invoice,
        };
        let audit = audit.map(|row_of| row_of(&checkout));
        let stored = self
            .orders
            .create_checkout(&checkout, audit.as_ref())
            .await?;
        if stored.fingerprint == print {
            Ok(stored)
        } else {
            Err(Rejection::DuplicateMerchantOrderId(
                request.merchant_order_id.chars().take(64).collect(),
            )
            .into())
        }
    }

    /// A hosted page for an order whose coin is already chosen (v2's
    /// `generateCheckoutURL`): a checkout naming the order, so the page shows
    /// the payment at once. The same page for a repeat. An order priced in
    /// its coin shows that price in the coin, and takes only that coin.
    pub async fn order_page(
        &self,
        order: &Order,
        coin: &Coin,
        return_url: Option<String>,
    ) -> Result<Checkout, EngineError> {
        let (product_price, currency, price_coin_id) =
            if order.denominated_currency == TOKEN_PRICING {
                (
                    order.order_amount.to_decimal_string(coin.precision),
                    coin.symbol.clone(),
                    Some(coin.id.clone()),
                )
            } else {
                (
                    order.product_price.clone(),
                    order.denominated_currency.clone(),
                    None,
                )
            };
        let page = Checkout {
            key: checkout_key(),
            app_id: order.app_id.clone(),
            merchant_order_id: order.merchant_order_id.clone(),
            fingerprint: format!("page of {}", order.order_id),
            product_price,
            product_name: order.product_name.clone(),
            return_url,
            notify_url: order.notify_url.clone(),
            custom_value: order.custom_value.clone(),
            created_at: order.created_at,
            expires_at: order.expires_at,
            order_id: Some(order.order_id.clone()),
            dialect: order.dialect,
            buyer_email: order.buyer_email.clone(),
            denominated_currency: currency,
            price_coin_id,
            invoice: false,
        };
        let stored = self.orders.create_checkout(&page, None).await?;
        if stored.order_id == page.order_id {
            Ok(stored)
        } else {
            Err(Rejection::DuplicateMerchantOrderId(
                order.merchant_order_id.chars().take(64).collect(),
            )
            .into())
        }
    }

    /// The payer picked a network on the hosted page: the order, at the rate
    /// of this moment, valid until the checkout expires, under the id and
    /// creation time of the checkout. Once chosen, the choice stands.
    pub async fn choose_network(
        &self,
        checkout: &Checkout,
        coin: &Coin,
        token: &Token,
        chain: &ccgate_ledger::Chain,
        now_unix_ms: i64,
    ) -> Result<Order, EngineError> {
        if let Some(order) = self.checkout_order(checkout).await? {
            return Ok(order);
        }
        if now_unix_ms.div_euclid(1000) > checkout.expires_at {
            return Err(Rejection::CheckoutExpired.into());
        }
        let print = format!("{}|{}", checkout.key, token.id);
        let draft = OrderDraft {
            order_id: self.hosted_order_id(checkout, now_unix_ms).await?,
            created_at: checkout.created_at,
            kind: HOSTED,
            merchant_order_id: &checkout.merchant_order_id,
            product_price: &checkout.product_price,
            product_name: &checkout.product_name,
            currency: pricing_currency(checkout, coin)?,
            expires_at: checkout.expires_at,
            notify_url: checkout.notify_url.as_deref(),
            custom_value: checkout.custom_value.as_deref(),
            remark: None,
            buyer_email: checkout.buyer_email.as_deref(),
            dialect: checkout.dialect,
            fingerprint: &print,
            invoice: checkout.invoice,
        };
        match self
            .orders
            .order_by_merchant_order_id(&checkout.app_id, &checkout.merchant_order_id, HOSTED)
            .await?
        {
            // A concurrent choice made it first; it stands.
            Some(existing) => Ok(existing),
            None => {
                let stored = self
                    .place(&checkout.app_id, coin, token, chain, &draft, now_unix_ms)
                    .await;
                match stored {
                    // A concurrent choice of another network won the race.
                    Err(EngineError::Rejected(Rejection::DuplicateMerchantOrderId(_))) => self
                        .orders
                        .order_by_merchant_order_id(
                            &checkout.app_id,
                            &checkout.merchant_order_id,
                            HOSTED,
                        )
                        .await?
                        .ok_or_else(|| {
                            Rejection::OrderNotFound(checkout.merchant_order_id.clone()).into()
                        }),
                    other => other,
                }
            }
        }
    }

    /// The id of a hosted checkout's order, chosen or not: reserved at
    /// creation, or now for a checkout stored before ids were reserved (the
    /// first reservation stands).
    pub async fn hosted_order_id(
        &self,
        checkout: &Checkout,
        now_unix_ms: i64,
    ) -> Result<String, EngineError> {
        if let Some(order_id) = &checkout.order_id {
            return Ok(order_id.clone());
        }
        self.orders
            .attach_checkout_order(&checkout.key, &self.ids.next(now_unix_ms))
            .await?;
        self.orders
            .checkout(&checkout.key)
            .await?
            .and_then(|stored| stored.order_id)
            .ok_or_else(|| Rejection::OrderNotFound(checkout.merchant_order_id.clone()).into())
    }

    /// The merchant's dashboard invoices, newest first: `limit` of them
    /// after `after` (an invoice's creation and checkout key).
    pub async fn invoices(
        &self,
        app_id: &MerchantId,
        after: Option<(i64, String)>,
        limit: u32,
    ) -> Result<Vec<Checkout>, EngineError> {
        Ok(self.orders.invoices(app_id, after, limit).await?)
    }

    /// The merchant's dashboard invoice with this reference (its
    /// `merchant_order_id`), if any; an API checkout of that id is none.
    pub async fn invoice(
        &self,
        app_id: &MerchantId,
        reference: &str,
    ) -> Result<Option<Checkout>, EngineError> {
        Ok(self
            .orders
            .checkouts_by_merchant_order_ids(app_id, &[reference.to_owned()])
            .await?
            .into_iter()
            .find(|checkout| checkout.invoice))
    }

    /// The order a hosted checkout's payer chose, if any.
    pub async fn checkout_order(&self, checkout: &Checkout) -> Result<Option<Order>, EngineError> {
        match &checkout.order_id {
            Some(order_id) => Ok(self.orders.order(order_id).await?),
            None => Ok(None),
        }
    }

    /// An order's payments and state now. Only payments in the order's coin
    /// count: another token sent to its address is credited to the merchant
    /// but pays nothing of the order, whose amounts are in another unit.
    pub async fn progress(
        &self,
        order: &Order,
        now_unix_secs: i64,
    ) -> Result<OrderState, EngineError> {
        let payments: Vec<OrderPayment> = self
            .orders
            .order_payments(&order.order_id)
            .await?
            .into_iter()
            .filter(|payment| payment.coin_id == order.coin_id)
            .collect();
        let confirming = self
            .orders
            .order_confirming_payment(&order.order_id, order.expires_at.saturating_mul(1000))
            .await?;
        Ok(OrderState {
            progress: order_progress(order, &payments, confirming.is_some(), now_unix_secs),
            payments,
            confirming,
        })
    }

    /// What a hosted checkout's price comes to on a network at this moment's
    /// rate, in the coin's base units: what choosing it would ask for.
    pub fn hosted_quote(
        &self,
        coin: &Coin,
        token: &Token,
        checkout: &Checkout,
        now_unix_ms: i64,
    ) -> Result<Amount, EngineError> {
        let currency = pricing_currency(checkout, coin)?;
        let token_rate = self.prices.coin_price(&coin.id, now_unix_ms)?;
        Ok(self
            .amount_due(coin, token, &checkout.product_price, currency, token_rate)?
            .0)
    }

    /// Prices, addresses and stores a new order.
    async fn place(
        &self,
        app_id: &MerchantId,
        coin: &Coin,
        token: &Token,
        chain: &ccgate_ledger::Chain,
        draft: &OrderDraft<'_>,
        now_unix_ms: i64,
    ) -> Result<Order, EngineError> {
        if coin.status != AssetStatus::Normal || token.status != AssetStatus::Normal {
            return Err(
                Rejection::CoinSuspended(format!("{} on {}", coin.symbol, token.chain)).into(),
            );
        }
        let token_rate = self.prices.coin_price(&coin.id, now_unix_ms)?;
        let (order_amount, fiat_rate) =
            self.amount_due(coin, token, draft.product_price, draft.currency, token_rate)?;
        let order = Order {
            order_id: draft.order_id.clone(),
            app_id: app_id.clone(),
            merchant_order_id: draft.merchant_order_id.to_owned(),
            kind: draft.kind.to_owned(),
            fingerprint: draft.fingerprint.to_owned(),
            token_id: token.id.clone(),
            coin_id: coin.id.clone(),
            chain: chain.code.to_string(),
            // Derived when the store has reserved its index.
            pay_address: String::new(),
            product_price: draft.product_price.to_owned(),
            product_name: draft.product_name.to_owned(),
            denominated_currency: draft.currency.to_owned(),
            fiat_rate: fiat_rate.to_string(),
            token_rate: token_rate.to_string(),
            order_amount,
            created_at: draft.created_at,
            expires_at: draft.expires_at,
            notify_url: draft.notify_url.map(str::to_owned),
            custom_value: draft.custom_value.map(str::to_owned),
            remark: draft.remark.map(str::to_owned),
            dialect: draft.dialect,
            buyer_email: draft.buyer_email.map(str::to_owned),
            invoice: draft.invoice,
        };
        let stored = self
            .addresses
            .store_order(self.orders.as_ref(), &order, chain)
            .await?;
        // A concurrent twin may have won the race: it decides, like a repeat.
        same_or_duplicate(stored, draft.fingerprint, draft.merchant_order_id)
    }

    /// What the payer owes, in the coin's base units, and the fiat rate used:
    /// `product_price / fiat_rate / token_rate` rounded up to the network's
    /// precision (the payer never pays less than the price), or the price
    /// itself when priced in the token.
    fn amount_due(
        &self,
        coin: &Coin,
        token: &Token,
        product_price: &str,
        currency: &str,
        token_rate: Decimal,
    ) -> Result<(Amount, Decimal), EngineError> {
        let invalid =
            |why: &str| EngineError::from(Rejection::AmountInvalid(format!("product_price {why}")));
        let (due_on_network, fiat_rate) = if currency == TOKEN_PRICING {
            let price = positive_decimal("product_price", product_price)?;
            let due = price.to_amount(token.precision).map_err(|err| match err {
                LedgerError::AmountOverflow => invalid("is too large"),
                _ => invalid(&format!(
                    "has more than the {} decimal places of {}",
                    token.precision.get(),
                    coin.symbol
                )),
            })?;
            (due, Decimal::parse("1")?)
        } else {
            let fiat_rate = *self
                .fiat_rates
                .get(currency)
                .ok_or_else(|| Rejection::CurrencyNotSupported(currency.to_owned()))?;
            let price = fiat_price("product_price", product_price, FIAT_PRICE_PLACES_MAX)?;
            let per_token = fiat_rate.checked_mul(token_rate)?;
            let due = price
                .checked_div(per_token, token.precision, Rounding::Up)
                .map_err(|_| invalid("is too large"))?;
            (due, fiat_rate)
        };
        if due_on_network.is_zero() {
            return Err(invalid("is too small to pay"));
        }
        Ok((
            due_on_network
                .rescale(token.precision, coin.precision)
                .map_err(|_| invalid("is too large"))?,
            fiat_rate,
        ))
    }
}

/// The currency a checkout's price is converted from when paid in `coin`:
/// its fiat currency, or none (the price is in the coin) for a checkout priced
/// in that coin; another coin than a checkout's own cannot pay it.
fn pricing_currency<'a>(checkout: &'a Checkout, coin: &Coin) -> Result<&'a str, EngineError> {
    match &checkout.price_coin_id {
        None => Ok(&checkout.denominated_currency),
        Some(priced_in) if *priced_in == coin.id => Ok(TOKEN_PRICING),
        Some(_) => {
            Err(Rejection::CheckoutTakesOneCoin(checkout.denominated_currency.clone()).into())
        }
    }
}

fn same_or_duplicate(
    order: Order,
    fingerprint: &str,
    merchant_order_id: &str,
) -> Result<Order, EngineError> {
    if order.fingerprint == fingerprint {
        Ok(order)
    } else {
        Err(
            Rejection::DuplicateMerchantOrderId(merchant_order_id.chars().take(64).collect())
                .into(),
        )
    }
}

/// A hosted checkout's key: the payment link's only credential, so 128 bits
/// from the operating system's CSPRNG (through `rand`'s thread-local
/// generator, a ChaCha seeded from it), not a guessable timestamp.
fn checkout_key() -> String {
    use rand::Rng;
    let bytes: [u8; 16] = rand::rng().random();
    hex::encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ccgate_ledger::{CoinId, TokenId};

    fn order(due: u128, expires_at: i64) -> Order {
        Order {
            order_id: "o".into(),
            app_id: MerchantId::new("m"),
            merchant_order_id: "mo".into(),
            kind: NATIVE.into(),
            fingerprint: String::new(),
            token_id: TokenId::new("t"),
            coin_id: CoinId::new("c"),
            chain: "ETH".into(),
            pay_address: "0x".into(),
            product_price: "1".into(),
            product_name: String::new(),
            denominated_currency: "USD".into(),
            fiat_rate: "1".into(),
            token_rate: "1".into(),
            order_amount: Amount::from_base_units(due),
            created_at: 0,
            expires_at,
            notify_url: None,
            custom_value: None,
            remark: None,
            dialect: WebhookDialect::V1,
            buyer_email: None,
            invoice: false,
        }
    }

    fn paid(amount: u128, block_time_ms: i64) -> OrderPayment {
        OrderPayment {
            record_id: "r".into(),
            txid: "x".into(),
            from_address: "0xpayer".into(),
            coin_id: CoinId::new("c"),
            amount: Amount::from_base_units(amount),
            service_fee: Amount::ZERO,
            pay_time: block_time_ms / 1000,
            block_time_ms,
        }
    }

    #[test]
    fn progress_follows_the_decisions() {
        let o = order(100, 1_000);
        let check = |payments: &[OrderPayment], now: i64| {
            let p = order_progress(&o, payments, false, now);
            (p.status, p.paid.base_units(), p.underpaid, p.overpaid)
        };
        assert_eq!(check(&[], 10), (OrderStatus::Pending, 0, false, false));
        assert_eq!(check(&[], 1_001), (OrderStatus::Expired, 0, false, false));
        assert_eq!(
            check(&[paid(40, 5_000)], 10),
            (OrderStatus::Pending, 40, true, false)
        );
        assert_eq!(
            check(&[paid(40, 5_000), paid(60, 6_000)], 10),
            (OrderStatus::Successful, 100, false, false)
        );
        assert_eq!(
            check(&[paid(150, 5_000)], 2_000),
            (OrderStatus::Successful, 150, false, true)
        );
        // Paid in full, but after expiry: credited and counted, still Expired.
        assert_eq!(
            check(&[paid(100, 1_000_001)], 2_000),
            (OrderStatus::Expired, 100, false, false)
        );
        // Made before expiry, confirmed after: it counts.
        assert_eq!(
            check(&[paid(100, 999_000)], 5_000),
            (OrderStatus::Successful, 100, false, false)
        );
    }
}
