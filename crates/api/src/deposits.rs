//! Permanent deposit addresses (spec §2.4) and the deposit webhooks (§3.3).

use serde::{Deserialize, Serialize};

use crate::RequestError;
use crate::request::Fields;

/// `user_id` length bounds, in characters (spec §2.4).
pub const USER_ID_CHARS_MIN: usize = 3;
pub const USER_ID_CHARS_MAX: usize = 64;

/// `payment/address/get` request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PermanentAddressRequest {
    pub user_id: String,
    pub chain: String,
    pub notify_url: Option<String>,
}

impl PermanentAddressRequest {
    pub fn from_fields(fields: &Fields) -> Result<PermanentAddressRequest, RequestError> {
        let user_id = fields.required_str(&["user_id"])?;
        let chars = user_id.chars().count();
        if !(USER_ID_CHARS_MIN..=USER_ID_CHARS_MAX).contains(&chars) {
            return Err(RequestError::FieldLength {
                field: "user_id",
                min_chars: USER_ID_CHARS_MIN,
                max_chars: USER_ID_CHARS_MAX,
            });
        }
        let notify_url = fields.optional_url("notify_url")?;
        Ok(PermanentAddressRequest {
            user_id: user_id.to_owned(),
            chain: fields.required_str(&["chain"])?.trim().to_owned(),
            notify_url: notify_url.map(str::to_owned),
        })
    }
}

/// `payment/address/get` → `data`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct PermanentAddress {
    pub address: String,
    pub memo: String,
}

/// The Direct Deposit webhook body (spec §3.3), field order as documented.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct DirectDepositWebhook {
    pub pay_status: String,
    pub order_type: String,
    pub record_id: String,
    pub paid_amount: String,
    pub credit_amount: String,
    pub chain: String,
    pub from_address: String,
    pub to_address: String,
    pub contract: String,
    pub crypto: String,
    pub txid: String,
    pub service_fee: String,
    pub memo: String,
    pub user_id: String,
}

/// `order_type` of a Direct Deposit webhook.
pub const DIRECT_DEPOSIT: &str = "Direct Deposit";

#[cfg(test)]
mod tests {
    use super::*;

    fn request(body: &str) -> Result<PermanentAddressRequest, RequestError> {
        PermanentAddressRequest::from_fields(&Fields::parse(body.as_bytes())?)
    }

    #[test]
    fn user_id_length_is_checked_in_characters() {
        assert!(request(r#"{"user_id":"abc","chain":"ETH"}"#).is_ok());
        assert!(request(r#"{"user_id":"日本語","chain":"ETH"}"#).is_ok());
        assert!(matches!(
            request(r#"{"user_id":"ab","chain":"ETH"}"#),
            Err(RequestError::FieldLength {
                field: "user_id",
                ..
            })
        ));
        let long = format!(r#"{{"user_id":"{}","chain":"ETH"}}"#, "x".repeat(65));
        assert!(matches!(
            request(&long),
            Err(RequestError::FieldLength { .. })
        ));
        assert_eq!(
            request(r#"{"user_id":"abc"}"#),
            Err(RequestError::MissingField { field: "chain" })
        );
    }

    #[test]
    fn webhook_matches_the_documented_example() {
        let webhook = DirectDepositWebhook {
            pay_status: "success".into(),
            order_type: DIRECT_DEPOSIT.into(),
            record_id: "202307191012191681607895159656448".into(),
            paid_amount: "666".into(),
            credit_amount: "665.8002".into(),
            chain: "BSC".into(),
            from_address: "0x3E89fcC505xxxxxx6AA4b78fecB3b2d2D8".into(),
            to_address: "0x3E89fcC5050bCEc6xxxxxx096F386AA4b78f".into(),
            contract: "0x55d398326f99059ff775485246999027b3197955".into(),
            crypto: "USDT".into(),
            txid: "internal transfer".into(),
            service_fee: "0.1998".into(),
            memo: String::new(),
            user_id: "10192128173".into(),
        };
        assert_eq!(
            serde_json::to_string(&webhook).unwrap_or_default(),
            r#"{"pay_status":"success","order_type":"Direct Deposit","record_id":"202307191012191681607895159656448","paid_amount":"666","credit_amount":"665.8002","chain":"BSC","from_address":"0x3E89fcC505xxxxxx6AA4b78fecB3b2d2D8","to_address":"0x3E89fcC5050bCEc6xxxxxx096F386AA4b78f","contract":"0x55d398326f99059ff775485246999027b3197955","crypto":"USDT","txid":"internal transfer","service_fee":"0.1998","memo":"","user_id":"10192128173"}"#
        );
    }
}
