//! `rescanLostTransaction` (v2 spec §2.3.6): look at one transaction to one
//! of the merchant's addresses again.

use serde::Serialize;

use crate::RequestError;
use crate::request::Fields;

/// Longest transaction id any supported chain writes (EVM: `0x` + 64 hex).
pub const TX_ID_CHARS_MAX: usize = 128;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RescanRequest {
    pub chain: String,
    pub to_address: String,
    pub tx_id: String,
}

impl RescanRequest {
    pub fn from_fields(fields: &Fields) -> Result<RescanRequest, RequestError> {
        let tx_id = fields.required_str(&["txId"])?.trim();
        if tx_id.chars().count() > TX_ID_CHARS_MAX
            || !tx_id.chars().all(|c| c.is_ascii_alphanumeric())
        {
            return Err(RequestError::FieldType {
                field: "txId",
                expected: "a transaction hash (letters and digits)",
            });
        }
        Ok(RescanRequest {
            chain: fields.required_str(&["chain"])?.to_owned(),
            to_address: fields.required_str(&["toAddress"])?.trim().to_owned(),
            tx_id: tx_id.to_owned(),
        })
    }
}

/// What to tell the payer.
#[derive(Serialize, Debug, Clone, PartialEq, Eq)]
pub struct Rescanned {
    pub description: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::v2::fields;

    #[test]
    fn a_tx_id_is_a_bounded_hash() {
        let parse =
            |body: &str| RescanRequest::from_fields(&fields(body.as_bytes()).unwrap_or_default());
        let good = parse(r#"{"chain":"ETH","toAddress":" 0xab ","txId":"0x01ff"}"#);
        assert_eq!(
            good.map(|r| (r.to_address, r.tx_id)),
            Ok(("0xab".to_owned(), "0x01ff".to_owned()))
        );
        for bad in [
            r#"{"chain":"ETH","toAddress":"0xab","txId":"0x01; drop"}"#,
            &format!(
                r#"{{"chain":"ETH","toAddress":"0xab","txId":"{}"}}"#,
                "a".repeat(129)
            ),
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
        assert_eq!(
            parse(r#"{"chain":"ETH","txId":"0x01"}"#),
            Err(RequestError::MissingField { field: "toAddress" })
        );
    }
}
