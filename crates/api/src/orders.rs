//! Payment orders: `bill/create` (spec §2.2), `bill/info` (§2.3) and the API
//! Deposit webhook (§3.2). Field order is wire contract.

use serde::{Deserialize, Serialize};

use crate::RequestError;
use crate::request::Fields;

/// Ids one `bill/info` call may ask for.
pub const BILL_INFO_IDS_MAX: usize = 100;
/// Longest merchant_order_id, product name, remark or custom value accepted.
pub const ORDER_TEXT_CHARS_MAX: usize = 256;

/// `bill/create` request, with the legacy names of spec §2.2 as aliases.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BillCreateRequest {
    pub token_id: String,
    pub product_price: String,
    pub merchant_order_id: String,
    pub denominated_currency: Option<String>,
    pub order_valid_period: Option<u64>,
    pub notify_url: Option<String>,
    pub custom_value: Option<String>,
    pub remark: Option<String>,
}

fn bounded(field: &'static str, value: Option<&str>) -> Result<Option<String>, RequestError> {
    match value {
        Some(text) if text.chars().count() > ORDER_TEXT_CHARS_MAX => {
            Err(RequestError::FieldTooLong {
                field,
                max_chars: ORDER_TEXT_CHARS_MAX,
            })
        }
        other => Ok(other.map(str::to_owned)),
    }
}

impl BillCreateRequest {
    pub fn from_fields(fields: &Fields) -> Result<BillCreateRequest, RequestError> {
        let merchant_order_id = fields.required_str(&["merchant_order_id"])?;
        Ok(BillCreateRequest {
            token_id: fields
                .required_str(&["token_id", "coin_id"])?
                .trim()
                .to_owned(),
            product_price: fields
                .required_str(&["product_price", "amount"])?
                .trim()
                .to_owned(),
            merchant_order_id: bounded("merchant_order_id", Some(merchant_order_id))?
                .unwrap_or_default(),
            denominated_currency: fields
                .optional_str(&["denominated_currency", "fiat_currency"])?
                .map(|c| c.trim().to_owned()),
            order_valid_period: fields.optional_u64(&["order_valid_period", "valid_timestamp"])?,
            notify_url: bounded("notify_url", fields.optional_url("notify_url")?)?,
            custom_value: bounded("custom_value", fields.optional_str(&["custom_value"])?)?,
            remark: bounded("remark", fields.optional_str(&["remark"])?)?,
        })
    }
}

/// `bill/create` → `data` (the shape since 2023-07-31).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct BillCreated {
    pub order_id: String,
    pub amount: String,
    pub logo: String,
    pub network: String,
    pub pay_address: String,
    pub crypto: String,
    pub token_id: String,
    pub memo: String,
    pub order_valid_period: u64,
}

/// `bill/info` request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BillInfoRequest {
    pub merchant_order_ids: Vec<String>,
}

impl BillInfoRequest {
    pub fn from_fields(fields: &Fields) -> Result<BillInfoRequest, RequestError> {
        Ok(BillInfoRequest {
            merchant_order_ids: fields.string_list("merchant_order_ids", BILL_INFO_IDS_MAX)?,
        })
    }
}

/// One element of `bill/info` → `data` (an array).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
// No `default`: the key tells a withdrawal from an order apart.
pub struct BillInfo {
    pub order_detail: OrderDetail,
    #[serde(default)]
    pub trade_list: Vec<Trade>,
    #[serde(default)]
    pub refund_list: Vec<Refund>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct OrderDetail {
    pub order_id: String,
    pub product_price: String,
    pub denominated_currency: String,
    pub product_name: String,
    pub merchant_order_id: String,
    pub chain: String,
    pub contract: String,
    pub crypto: String,
    pub order_amount: String,
    pub status: String,
    pub token_rate: String,
    pub created: i64,
    /// ccgate's additions (decisions §5); SDKs ignore unknown fields.
    pub paid_amount: String,
    pub underpaid: bool,
    pub overpaid: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Trade {
    pub amount: String,
    pub chain: String,
    pub contract: String,
    pub crypto: String,
    pub service_fee: String,
    pub network_fee: String,
    pub txid: String,
    pub pay_time: i64,
    pub token_rate: String,
    pub status: String,
}

/// A refund of the order (`ccgate order refund`; CCPayment's dashboard).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Refund {
    pub refund_amount: String,
    pub network_fee: String,
    pub actual_received_amount: String,
    pub chain: String,
    pub contract: String,
    pub crypto: String,
    pub txid: String,
    pub address: String,
    pub pay_time: i64,
    pub status: String,
}

/// The Refund webhook body (spec §3.6; `network_crypto` as documented).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RefundWebhook {
    pub pay_status: String,
    pub order_type: String,
    pub record_id: String,
    pub amount: String,
    pub net_receivable: String,
    pub network_fee: String,
    pub network_crypto: String,
    pub network_coin_id: String,
    pub chain: String,
    pub contract: String,
    pub crypto: String,
    pub to_address: String,
    pub memo: String,
    pub txid: String,
    pub merchant_order_id: String,
}

/// The Invoice webhook body (spec §3.4): a payment to an invoice made on the
/// dashboard (decisions §32).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct InvoiceWebhook {
    pub pay_status: String,
    pub order_type: String,
    pub record_id: String,
    pub order_id: String,
    pub product_price: String,
    pub order_amount: String,
    pub fiat_rate: String,
    pub denominated_currency: String,
    pub paid_amount: String,
    pub credit_amount: String,
    pub token_rate: String,
    pub chain: String,
    pub contract: String,
    pub crypto: String,
    pub txid: String,
    pub network_fee: String,
    pub service_fee: String,
    pub memo: String,
    pub extend: InvoiceExtend,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct InvoiceExtend {
    pub invoice_id: String,
    pub user_email: String,
    pub merchant_order_id: String,
}

/// `order_type` of an Invoice webhook.
pub const INVOICE: &str = "Invoice";

/// `order_type` of a Refund webhook.
pub const REFUND: &str = "Refund";

/// The API Deposit webhook body (spec §3.2).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ApiDepositWebhook {
    pub pay_status: String,
    pub order_type: String,
    pub record_id: String,
    pub order_id: String,
    pub product_price: String,
    pub denominated_currency: String,
    pub order_amount: String,
    pub fiat_rate: String,
    pub paid_amount: String,
    pub token_rate: String,
    pub chain: String,
    pub txid: String,
    pub contract: String,
    pub crypto: String,
    pub extend: ApiDepositExtend,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ApiDepositExtend {
    pub merchant_order_id: String,
    /// The order's `custom_value`, echoed (decisions §7).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub custom_value: Option<String>,
}

/// `order_type` of an API Deposit webhook.
pub const API_DEPOSIT: &str = "API Deposit";

#[cfg(test)]
mod tests {
    use super::*;

    fn create(body: &str) -> Result<BillCreateRequest, RequestError> {
        BillCreateRequest::from_fields(&Fields::parse(body.as_bytes())?)
    }

    #[test]
    fn legacy_names_and_not_provided_forms() {
        // The PHP SDK sends both names and empty defaults.
        let php = create(
            r#"{"token_id":"t","amount":"","product_price":"12.5","merchant_order_id":"m1","denominated_currency":"USD","remark":"","order_valid_period":0,"notify_url":"","custom_value":""}"#,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(php.product_price, "12.5");
        assert_eq!(php.order_valid_period, None);
        assert_eq!(php.notify_url, None);
        // Pre-June-2023 clients.
        let old = create(r#"{"token_id":"t","amount":"3","merchant_order_id":"m","fiat_currency":"EUR","valid_timestamp":600}"#)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            (
                old.product_price.as_str(),
                old.denominated_currency.as_deref(),
                old.order_valid_period
            ),
            ("3", Some("EUR"), Some(600))
        );
        // Java's nulls.
        assert!(create(r#"{"token_id":"t","product_price":"1","merchant_order_id":"m","notify_url":null,"order_valid_period":null}"#).is_ok());
        assert_eq!(
            create(
                r#"{"token_id":"t","product_price":"1","merchant_order_id":"m","order_valid_period":-5}"#
            ),
            Err(RequestError::FieldType {
                field: "order_valid_period",
                expected: "a positive whole number"
            })
        );
        assert_eq!(
            create(r#"{"token_id":"t","product_price":"1"}"#),
            Err(RequestError::MissingField {
                field: "merchant_order_id"
            })
        );
    }

    #[test]
    fn bill_info_ids_are_bounded() {
        let ids: Vec<String> = (0..101).map(|i| format!("\"{i}\"")).collect();
        let body = format!(r#"{{"merchant_order_ids":[{}]}}"#, ids.join(","));
        let fields = Fields::parse(body.as_bytes()).unwrap_or_default();
        assert_eq!(
            BillInfoRequest::from_fields(&fields),
            Err(RequestError::TooManyItems {
                field: "merchant_order_ids",
                max_len: 100
            })
        );
        let fields = Fields::parse(br#"{"merchant_order_ids":[1]}"#).unwrap_or_default();
        assert!(BillInfoRequest::from_fields(&fields).is_err());
    }
}

/// `concise/url/get` request (spec §2.1), with its legacy names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConciseUrlRequest {
    /// In USD.
    pub product_price: String,
    pub merchant_order_id: String,
    pub product_name: String,
    pub order_valid_period: Option<u64>,
    pub return_url: Option<String>,
    pub notify_url: Option<String>,
    pub custom_value: Option<String>,
}

impl ConciseUrlRequest {
    pub fn from_fields(fields: &Fields) -> Result<ConciseUrlRequest, RequestError> {
        let required =
            |field: &'static str, names: &[&'static str]| -> Result<String, RequestError> {
                Ok(bounded(field, Some(fields.required_str(names)?))?.unwrap_or_default())
            };
        Ok(ConciseUrlRequest {
            product_price: fields
                .required_str(&["product_price", "amount"])?
                .trim()
                .to_owned(),
            merchant_order_id: required("merchant_order_id", &["merchant_order_id"])?,
            product_name: required("product_name", &["product_name"])?,
            order_valid_period: fields.optional_u64(&["order_valid_period", "valid_timestamp"])?,
            return_url: bounded("return_url", fields.optional_url("return_url")?)?,
            notify_url: bounded("notify_url", fields.optional_url("notify_url")?)?,
            custom_value: bounded("custom_value", fields.optional_str(&["custom_value"])?)?,
        })
    }
}

/// `concise/url/get` → `data`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct PaymentUrl {
    pub payment_url: String,
}
