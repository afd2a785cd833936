//! Orders, hosted checkouts and invoices in v2 (spec §2.3.2, §2.4):
//! `createAppOrderDepositAddress`, `getAppOrderInfo`, `createCheckoutUrl`
//! (the WooCommerce plugin's shape, §6.2), `createInvoiceUrl` and
//! `getInvoiceOrderInfo`. Field order is wire contract.

use serde::{Deserialize, Serialize};

use crate::RequestError;
use crate::request::Fields;

/// A merchant's order id: 3 to 64 characters (v2 spec §2.3.2).
pub const ORDER_ID_CHARS_MIN: usize = 3;
pub const ORDER_ID_CHARS_MAX: usize = 64;
/// `product` as `createAppOrderDepositAddress` bounds it; `createCheckoutUrl`
/// cuts a longer one to this instead of refusing it (the plugin joins every
/// item name into it).
pub const PRODUCT_CHARS_MAX: usize = 120;
/// The longest e-mail address a mail system delivers to (RFC 5321 path).
pub const EMAIL_CHARS_MAX: usize = 254;

fn order_id(fields: &Fields) -> Result<String, RequestError> {
    let id = fields.required_str(&["orderId"])?;
    let chars = id.chars().count();
    if !(ORDER_ID_CHARS_MIN..=ORDER_ID_CHARS_MAX).contains(&chars) {
        return Err(RequestError::FieldLength {
            field: "orderId",
            min_chars: ORDER_ID_CHARS_MIN,
            max_chars: ORDER_ID_CHARS_MAX,
        });
    }
    Ok(id.to_owned())
}

fn price(fields: &Fields) -> Result<String, RequestError> {
    fields
        .optional_decimal_text("price")?
        .map(|text| text.trim().to_owned())
        .ok_or(RequestError::MissingField { field: "price" })
}

/// `expiredAt` as Unix seconds, when given.
fn expired_at(fields: &Fields) -> Result<Option<i64>, RequestError> {
    fields
        .optional_u64(&["expiredAt"])?
        .map(|secs| {
            i64::try_from(secs).map_err(|_| RequestError::FieldType {
                field: "expiredAt",
                expected: "Unix seconds",
            })
        })
        .transpose()
}

/// `buyerEmail` when it looks like an address: something, `@`, a domain.
fn checked_email(fields: &Fields) -> Result<Option<String>, RequestError> {
    let Some(email) = fields.optional_str(&["buyerEmail"])? else {
        return Ok(None);
    };
    let email = email.trim();
    let looks_like_one = email.chars().count() <= EMAIL_CHARS_MAX
        && !email.chars().any(char::is_whitespace)
        && email
            .split_once('@')
            .is_some_and(|(local, domain)| !local.is_empty() && domain.contains('.'));
    if looks_like_one {
        Ok(Some(email.to_owned()))
    } else {
        Err(RequestError::FieldType {
            field: "buyerEmail",
            expected: "an e-mail address",
        })
    }
}

fn bounded_product(fields: &Fields) -> Result<String, RequestError> {
    let product = fields.optional_str(&["product"])?.unwrap_or_default();
    if product.chars().count() > PRODUCT_CHARS_MAX {
        return Err(RequestError::FieldTooLong {
            field: "product",
            max_chars: PRODUCT_CHARS_MAX,
        });
    }
    Ok(product.to_owned())
}

/// `createAppOrderDepositAddress`: an order in one coin on one chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderDepositAddressRequest {
    pub order_id: String,
    pub coin_id: u64,
    pub chain: String,
    /// In `fiat_id`'s currency when set (≤ 2 decimals), else in the coin.
    pub price: String,
    pub fiat_id: Option<u64>,
    pub expired_at: Option<i64>,
    pub buyer_email: Option<String>,
    pub generate_checkout_url: bool,
    pub product: String,
    pub return_url: Option<String>,
    pub close_url: Option<String>,
    pub notify_url: Option<String>,
}

impl OrderDepositAddressRequest {
    pub fn from_fields(fields: &Fields) -> Result<OrderDepositAddressRequest, RequestError> {
        Ok(OrderDepositAddressRequest {
            order_id: order_id(fields)?,
            coin_id: fields.required_u64("coinId")?,
            chain: fields.required_str(&["chain"])?.trim().to_owned(),
            price: price(fields)?,
            fiat_id: fields.optional_u64(&["fiatId"])?,
            expired_at: expired_at(fields)?,
            buyer_email: checked_email(fields)?,
            generate_checkout_url: fields.flag("generateCheckoutURL")?,
            product: bounded_product(fields)?,
            return_url: fields.optional_url("returnUrl")?.map(str::to_owned),
            close_url: fields.optional_url("closeUrl")?.map(str::to_owned),
            notify_url: fields.optional_url("notifyUrl")?.map(str::to_owned),
        })
    }
}

/// `createAppOrderDepositAddress` → `data`.
#[derive(Serialize, Deserialize, Debug, Clone, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase", default)]
pub struct OrderDepositAddress {
    pub address: String,
    /// What to pay, in the coin.
    pub amount: String,
    pub memo: String,
    /// `""` unless a checkout page was asked for.
    pub checkout_url: String,
    pub confirms_needed: u64,
}

/// `getAppOrderInfo`'s request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderInfoRequest {
    pub order_id: String,
}

impl OrderInfoRequest {
    pub fn from_fields(fields: &Fields) -> Result<OrderInfoRequest, RequestError> {
        Ok(OrderInfoRequest {
            order_id: order_id(fields)?,
        })
    }
}

/// `getAppOrderInfo` → `data`: there is no status; the merchant derives it
/// from `paidList` against `amountToPay` and `expiredAt`.
#[derive(Serialize, Deserialize, Debug, Clone, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase", default)]
pub struct OrderInfo {
    /// In the order's coin; never `"0"` for an order that is due.
    pub amount_to_pay: String,
    pub coin_id: u64,
    pub coin_symbol: String,
    pub chain: String,
    pub to_address: String,
    pub to_memo: String,
    /// Spelt without a `d`, as CCPayment answers.
    pub create_at: i64,
    /// The price of one coin in the pricing currency, locked at creation.
    pub rate: String,
    pub fiat_id: u64,
    pub fiat_symbol: String,
    pub expired_at: i64,
    pub checkout_url: String,
    pub buyer_email: String,
    pub paid_list: Vec<OrderPayInfo>,
}

/// One payment to an order, in the order's coin.
#[derive(Serialize, Deserialize, Debug, Clone, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase", default)]
pub struct OrderPayInfo {
    pub record_id: String,
    pub from_address: String,
    pub amount: String,
    pub service_fee: String,
    /// Lower-case `d` here, unlike the records' `txId`.
    pub txid: String,
    /// `Processing`, `Success` or `Failed`.
    pub status: String,
    pub arrived_at: i64,
    pub rate: String,
    pub is_flagged_as_risky: bool,
}

/// What a checkout is priced in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckoutPricing {
    /// An ISO code, as the WooCommerce plugin sends its store's currency.
    FiatSymbol(String),
    FiatId(u64),
    /// `priceCoinId` (or the PHP demo's `coinId`).
    CoinId(u64),
}

/// `createCheckoutUrl`: the union of what its sources send (v2 spec §2.4.4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckoutUrlRequest {
    pub order_id: String,
    /// Cut to [`PRODUCT_CHARS_MAX`] characters.
    pub product: String,
    pub price: String,
    pub pricing: CheckoutPricing,
    pub expired_at: Option<i64>,
    pub buyer_email: Option<String>,
    pub notify_url: Option<String>,
    /// Kept exactly as given: the page sends the payer back to it.
    pub return_url: Option<String>,
    pub close_url: Option<String>,
}

impl CheckoutUrlRequest {
    pub fn from_fields(fields: &Fields) -> Result<CheckoutUrlRequest, RequestError> {
        let pricing = if let Some(symbol) = fields.optional_str(&["fiatSymbol"])? {
            CheckoutPricing::FiatSymbol(symbol.trim().to_ascii_uppercase())
        } else if let Some(fiat_id) = fields.optional_u64(&["priceFiatId"])? {
            CheckoutPricing::FiatId(fiat_id)
        } else if let Some(coin_id) = fields.optional_u64(&["priceCoinId", "coinId"])? {
            CheckoutPricing::CoinId(coin_id)
        } else {
            return Err(RequestError::MissingField {
                field: "fiatSymbol",
            });
        };
        // A shop's billing address is the shop's business: kept if it fits.
        let buyer_email = fields.optional_str(&["buyerEmail"])?.map(str::trim);
        if buyer_email.is_some_and(|email| email.chars().count() > EMAIL_CHARS_MAX) {
            return Err(RequestError::FieldTooLong {
                field: "buyerEmail",
                max_chars: EMAIL_CHARS_MAX,
            });
        }
        Ok(CheckoutUrlRequest {
            order_id: order_id(fields)?,
            product: fields
                .optional_str(&["product"])?
                .unwrap_or_default()
                .chars()
                .take(PRODUCT_CHARS_MAX)
                .collect(),
            price: price(fields)?,
            pricing,
            expired_at: expired_at(fields)?,
            buyer_email: buyer_email.map(str::to_owned),
            notify_url: fields.optional_url("notifyUrl")?.map(str::to_owned),
            return_url: fields.optional_url("returnUrl")?.map(str::to_owned),
            close_url: fields.optional_url("closeUrl")?.map(str::to_owned),
        })
    }
}

/// `createCheckoutUrl` → `data`.
#[derive(Serialize, Deserialize, Debug, Clone, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase", default)]
pub struct CheckoutUrl {
    pub checkout_url: String,
}

/// `createInvoiceUrl`: a checkout priced by `priceFiatId` or `priceCoinId`
/// (v2 spec §2.4.2), parsed as `createCheckoutUrl`'s union, with both
/// prices at once refused as the spec says "either, not both".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvoiceUrlRequest {
    pub checkout: CheckoutUrlRequest,
}

impl InvoiceUrlRequest {
    pub fn from_fields(fields: &Fields) -> Result<InvoiceUrlRequest, RequestError> {
        let fiat = fields.optional_u64(&["priceFiatId"])?;
        let coin = fields.optional_u64(&["priceCoinId"])?;
        match (fiat, coin) {
            (Some(_), Some(_)) => {
                return Err(RequestError::FieldType {
                    field: "priceCoinId",
                    expected: "left out when priceFiatId is given",
                });
            }
            // An invoice is priced by either id; `fiatSymbol` is
            // createCheckoutUrl's, so the refusal names the invoice's field.
            (None, None) if fields.optional_str(&["fiatSymbol"])?.is_none() => {
                return Err(RequestError::MissingField {
                    field: "priceFiatId",
                });
            }
            _ => {}
        }
        Ok(InvoiceUrlRequest {
            checkout: CheckoutUrlRequest::from_fields(fields)?,
        })
    }
}

/// `createInvoiceUrl` → `data`.
#[derive(Serialize, Deserialize, Debug, Clone, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase", default)]
pub struct InvoiceUrl {
    pub invoice_url: String,
}

/// `getInvoiceOrderInfo` → `data`: values in the invoice's own currency.
#[derive(Serialize, Deserialize, Debug, Clone, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase", default)]
pub struct InvoiceInfo {
    pub order_id: String,
    pub create_at: i64,
    pub product: String,
    pub price: String,
    /// When priced in a coin, else 0.
    pub price_coin_id: u64,
    /// When priced in a fiat currency, else 0.
    pub price_fiat_id: u64,
    /// `"USDT"`, `"EUR"`.
    pub price_symbol: String,
    pub invoice_url: String,
    pub buyer_email: String,
    pub expired_at: i64,
    /// The sum of the `Success` payments' `paidValue`.
    pub total_paid_value: String,
    pub paid_list: Vec<InvoicePayInfo>,
}

/// One payment to an invoice.
#[derive(Serialize, Deserialize, Debug, Clone, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase", default)]
pub struct InvoicePayInfo {
    pub record_id: String,
    pub coin_id: u64,
    pub coin_symbol: String,
    pub chain: String,
    pub from_address: String,
    pub to_address: String,
    pub to_memo: String,
    pub paid_amount: String,
    pub service_fee: String,
    pub txid: String,
    /// `Processing`, `Success` or `Failed`.
    pub status: String,
    pub arrived_at: i64,
    /// One paid coin in the invoice's currency.
    pub rate: String,
    /// `paidAmount × rate`, in the invoice's currency.
    pub paid_value: String,
    pub is_flagged_as_risky: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::v2::fields;

    fn order(body: &str) -> Result<OrderDepositAddressRequest, RequestError> {
        OrderDepositAddressRequest::from_fields(&fields(body.as_bytes())?)
    }

    fn checkout(body: &str) -> Result<CheckoutUrlRequest, RequestError> {
        CheckoutUrlRequest::from_fields(&fields(body.as_bytes())?)
    }

    #[test]
    fn an_order_takes_numbers_as_strings_and_nulls_as_absent() {
        // The BBL client sends optional fields as null; the docs send ids as strings.
        let parsed = order(
            r#"{"orderId":"o-123","coinId":"1280","chain":"ETH","price":"10.5","fiatId":null,"buyerEmail":null,"expiredAt":"1900000000","generateCheckoutURL":false}"#,
        );
        assert_eq!(
            parsed,
            Ok(OrderDepositAddressRequest {
                order_id: "o-123".into(),
                coin_id: 1280,
                chain: "ETH".into(),
                price: "10.5".into(),
                fiat_id: None,
                expired_at: Some(1_900_000_000),
                buyer_email: None,
                generate_checkout_url: false,
                product: String::new(),
                return_url: None,
                close_url: None,
                notify_url: None,
            })
        );
        // A whole price as a JSON number; a fraction would pass through a float.
        assert_eq!(
            order(r#"{"orderId":"o-1","coinId":1280,"chain":"ETH","price":12}"#).map(|r| r.price),
            Ok("12".into())
        );
        assert!(order(r#"{"orderId":"o-1","coinId":1280,"chain":"ETH","price":1.5}"#).is_err());
    }

    #[test]
    fn an_order_refuses_what_the_spec_bounds() {
        let base = r#""coinId":1280,"chain":"ETH","price":"1""#;
        for (body, error) in [
            (
                format!(r#"{{"orderId":"ab",{base}}}"#),
                RequestError::FieldLength {
                    field: "orderId",
                    min_chars: 3,
                    max_chars: 64,
                },
            ),
            (
                format!(r#"{{{base}}}"#),
                RequestError::MissingField { field: "orderId" },
            ),
            (
                r#"{"orderId":"o-1","coinId":1280,"chain":"ETH"}"#.to_owned(),
                RequestError::MissingField { field: "price" },
            ),
            (
                format!(r#"{{"orderId":"o-1",{base},"buyerEmail":"nobody"}}"#),
                RequestError::FieldType {
                    field: "buyerEmail",
                    expected: "an e-mail address",
                },
            ),
            (
                format!(
                    r#"{{"orderId":"o-1",{base},"product":"{}"}}"#,
                    "x".repeat(121)
                ),
                RequestError::FieldTooLong {
                    field: "product",
                    max_chars: 120,
                },
            ),
            (
                format!(r#"{{"orderId":"o-1",{base},"notifyUrl":"ftp://x"}}"#),
                RequestError::NotAnHttpUrl { field: "notifyUrl" },
            ),
        ] {
            assert_eq!(order(&body), Err(error), "{body}");
        }
    }

    #[test]
    fn the_plugins_checkout_body_parses_as_sent() {
        // wp_json_encode: `\/` escapes, a long product, an empty e-mail, URLs
        // with query strings over 150 characters.
        let product = "Blue mug, ".repeat(20);
        let notify = format!(
            "https:\\/\\/{}.shop.example\\/?wc-api=wc_gateway_ccpayment",
            "a".repeat(140)
        );
        let body = format!(
            r#"{{"orderId":"wc_order_AbCdEfGhIjKlMxY7q-123","product":"{product} Order #123","price":"49.90","fiatSymbol":"eur","expiredAt":1900003600,"buyerEmail":"","notifyUrl":"{notify}","returnUrl":"https:\/\/shop.example\/checkout\/order-received\/123\/?key=wc_order_AbCd&order-received=123","plugin":"woocommerce","version":"1.0.0"}}"#
        );
        let parsed = checkout(&body).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(parsed.order_id, "wc_order_AbCdEfGhIjKlMxY7q-123");
        assert_eq!(parsed.product.chars().count(), PRODUCT_CHARS_MAX);
        assert_eq!(parsed.price, "49.90");
        assert_eq!(parsed.pricing, CheckoutPricing::FiatSymbol("EUR".into()));
        assert_eq!(parsed.expired_at, Some(1_900_003_600));
        assert_eq!(parsed.buyer_email, None);
        assert_eq!(
            parsed.notify_url.as_deref(),
            Some(notify.replace("\\/", "/").as_str())
        );
        assert_eq!(
            parsed.return_url.as_deref(),
            Some(
                "https://shop.example/checkout/order-received/123/?key=wc_order_AbCd&order-received=123"
            )
        );
    }

    #[test]
    fn an_invoice_is_priced_in_a_fiat_or_a_coin_not_both() {
        let parse = |body: &str| {
            InvoiceUrlRequest::from_fields(&fields(body.as_bytes()).unwrap_or_default())
                .map(|request| request.checkout.pricing)
        };
        assert_eq!(
            parse(r#"{"orderId":"i-1","price":"5","priceCoinId":"1280"}"#),
            Ok(CheckoutPricing::CoinId(1280))
        );
        assert_eq!(
            parse(r#"{"orderId":"i-1","price":"5","priceFiatId":1033,"priceCoinId":null}"#),
            Ok(CheckoutPricing::FiatId(1033))
        );
        assert!(
            parse(r#"{"orderId":"i-1","price":"5","priceFiatId":1033,"priceCoinId":1280}"#)
                .is_err()
        );
    }

    #[test]
    fn a_checkout_is_priced_by_any_of_its_sources_names() {
        let base = r#""orderId":"o-1","price":"5""#;
        for (extra, pricing) in [
            (r#""priceFiatId":"1033""#, CheckoutPricing::FiatId(1033)),
            (r#""priceCoinId":1280"#, CheckoutPricing::CoinId(1280)),
            (r#""coinId":1280"#, CheckoutPricing::CoinId(1280)),
        ] {
            let body = format!("{{{base},{extra}}}");
            assert_eq!(checkout(&body).map(|r| r.pricing), Ok(pricing), "{body}");
        }
        assert_eq!(
            checkout(&format!("{{{base}}}")),
            Err(RequestError::MissingField {
                field: "fiatSymbol"
            })
        );
    }
}
