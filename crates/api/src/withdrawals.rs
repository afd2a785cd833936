//! `withdraw` (spec §2.5), the Withdraw webhook (§3.5) and the withdrawal
//! element of `bill/info` (decisions §6). Field order is wire contract.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::RequestError;
use crate::request::Fields;

/// Longest address or memo accepted.
pub const ADDRESS_CHARS_MAX: usize = 256;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WithdrawRequest {
    pub token_id: String,
    /// A chain address, or a Cwallet id.
    pub address: String,
    /// Decimal text of the amount to withdraw.
    pub value: String,
    pub merchant_order_id: String,
    pub memo: Option<String>,
    pub merchant_pays_fee: bool,
}

impl WithdrawRequest {
    pub fn from_fields(fields: &Fields) -> Result<WithdrawRequest, RequestError> {
        let address = fields.required_str(&["address"])?.trim();
        let memo = fields.optional_text_or_number(&["memo"])?;
        for (field, text) in [("address", Some(address)), ("memo", memo.as_deref())] {
            if text.is_some_and(|t| t.chars().count() > ADDRESS_CHARS_MAX) {
                return Err(RequestError::FieldTooLong {
                    field,
                    max_chars: ADDRESS_CHARS_MAX,
                });
            }
        }
        let merchant_order_id = fields.required_str(&["merchant_order_id"])?;
        if merchant_order_id.chars().count() > crate::orders::ORDER_TEXT_CHARS_MAX {
            return Err(RequestError::FieldTooLong {
                field: "merchant_order_id",
                max_chars: crate::orders::ORDER_TEXT_CHARS_MAX,
            });
        }
        Ok(WithdrawRequest {
            token_id: fields
                .required_str(&["token_id", "coin_id"])?
                .trim()
                .to_owned(),
            address: address.to_owned(),
            value: fields.required_str(&["value", "amount"])?.trim().to_owned(),
            merchant_order_id: merchant_order_id.to_owned(),
            memo,
            merchant_pays_fee: fields
                .optional_bool(&["merchant_pays_fee"])?
                .unwrap_or(false),
        })
    }
}

/// `withdraw` → `data`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Withdrawn {
    pub order_id: String,
    pub record_id: String,
    pub network_fee: String,
    pub net_receivable: String,
    pub network_fee_crypto: String,
    pub network_coin_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub network_fee_value: Option<String>,
}

/// The Withdraw webhook body (spec §3.5).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct WithdrawWebhook {
    pub pay_status: String,
    pub order_type: String,
    pub order_id: String,
    pub record_id: String,
    pub withdraw_amount: String,
    pub net_receivable: String,
    pub network_fee: String,
    pub network_fee_crypto: String,
    pub network_coin_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub network_fee_value: Option<String>,
    pub chain: String,
    pub contract: String,
    pub crypto: String,
    pub to_address: String,
    pub memo: String,
    pub txid: String,
    pub merchant_order_id: String,
    pub merchant_pays_fee: bool,
}

/// `order_type` of a Withdraw webhook.
pub const API_WITHDRAWAL: &str = "API Withdrawal";

/// One element of `bill/info` for withdrawal ids (decisions §6).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
// No `default`: the key tells a withdrawal from an order apart.
pub struct WithdrawInfo {
    pub withdraw_detail: WithdrawDetail,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct WithdrawDetail {
    pub order_id: String,
    pub merchant_order_id: String,
    pub coin_id: String,
    pub token_id: String,
    pub chain: String,
    pub contract: String,
    pub crypto: String,
    pub value: String,
    pub network_fee: String,
    pub net_receivable: String,
    pub merchant_pays_fee: bool,
    pub to_address: String,
    pub memo: String,
    pub txid: String,
    pub status: String,
    pub created: i64,
}

impl Fields {
    /// Memo may come as a string or, as in the docs, an integer.
    pub fn optional_text_or_number(
        &self,
        names: &[&'static str],
    ) -> Result<Option<String>, RequestError> {
        for name in names {
            match self.get(name) {
                None | Some(Value::Null) => continue,
                Some(Value::String(s)) if s.is_empty() => continue,
                Some(Value::String(s)) => return Ok(Some(s.clone())),
                Some(Value::Number(n)) if n.as_u64() == Some(0) => continue,
                Some(Value::Number(n)) if n.is_u64() || n.is_i64() => {
                    return Ok(Some(n.to_string()));
                }
                Some(_) => {
                    return Err(RequestError::FieldType {
                        field: names[0],
                        expected: "a string or an integer",
                    });
                }
            }
        }
        Ok(None)
    }

    /// An optional boolean; absent and `null` are `None`.
    pub fn optional_bool(&self, names: &[&'static str]) -> Result<Option<bool>, RequestError> {
        for name in names {
            match self.get(name) {
                None | Some(Value::Null) => continue,
                Some(Value::Bool(b)) => return Ok(Some(*b)),
                Some(_) => {
                    return Err(RequestError::FieldType {
                        field: names[0],
                        expected: "true or false",
                    });
                }
            }
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(body: &str) -> Result<WithdrawRequest, RequestError> {
        WithdrawRequest::from_fields(&Fields::parse(body.as_bytes())?)
    }

    #[test]
    fn sdk_shapes() {
        // Go always sends merchant_pays_fee; PHP sends memo ""; docs an integer memo.
        let go = parse(r#"{"token_id":"t","address":"a","value":"1","merchant_order_id":"m","memo":"","merchant_pays_fee":false}"#)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((go.memo, go.merchant_pays_fee), (None, false));
        let docs = parse(r#"{"token_id":"t","address":"a","value":"1","merchant_order_id":"m","memo":12345,"merchant_pays_fee":true}"#)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            (docs.memo.as_deref(), docs.merchant_pays_fee),
            (Some("12345"), true)
        );
        assert!(parse(r#"{"token_id":"t","address":"a","value":"1","merchant_order_id":"m","merchant_pays_fee":"yes"}"#).is_err());
        assert_eq!(
            parse(r#"{"token_id":"t","value":"1","merchant_order_id":"m"}"#),
            Err(RequestError::MissingField { field: "address" })
        );
    }
}
