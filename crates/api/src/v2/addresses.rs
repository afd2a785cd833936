//! `addressUnbinding` (v2 spec §2.3.5) and `getTradeBlockHeight` /
//! `getPaymentBlockHeight` (§2.8.1). Field order is wire contract.

use serde::{Deserialize, Serialize};

use crate::RequestError;
use crate::request::Fields;

/// At least any address of a supported chain (a bech32m Bitcoin address is
/// 62 characters), and no more than a refusal echoes of client input.
pub const ADDRESS_CHARS_MAX: usize = 64;
/// Record ids are 32 or 33 digits (spec §4.2); treated as opaque up to this.
pub const RECORD_ID_CHARS_MAX: usize = 64;

/// `addressUnbinding`'s request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnbindRequest {
    pub chain: String,
    pub address: String,
}

impl UnbindRequest {
    pub fn from_fields(fields: &Fields) -> Result<UnbindRequest, RequestError> {
        let chain = fields.required_str(&["chain"])?.trim().to_owned();
        let address = fields.required_str(&["address"])?.trim();
        if address.chars().count() > ADDRESS_CHARS_MAX {
            return Err(RequestError::FieldTooLong {
                field: "address",
                max_chars: ADDRESS_CHARS_MAX,
            });
        }
        Ok(UnbindRequest {
            chain,
            address: address.to_owned(),
        })
    }
}

/// One address unbound on one chain.
#[derive(Serialize, Deserialize, Debug, Clone, Default, PartialEq, Eq)]
#[serde(default)]
pub struct UnboundAddress {
    pub chain: String,
    pub address: String,
}

/// `addressUnbinding` → `data`. The capital `ID`s are CCPayment's spelling.
#[derive(Serialize, Deserialize, Debug, Clone, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase", default)]
pub struct Unbinding {
    /// The address on every chain it was unbound on (an EVM address on
    /// each EVM chain it was bound on).
    pub unbound: Vec<UnboundAddress>,
    /// Unix seconds.
    pub unbound_at: i64,
    /// A wallet-system user's id; `""` (ccgate has no wallet system yet).
    #[serde(rename = "userID")]
    pub user_id: String,
    /// The `referenceId` the permanent address was made for.
    #[serde(rename = "referenceID")]
    pub reference_id: String,
}

/// `getTradeBlockHeight`'s request: `record_id` in both of the spec's
/// sources, `recordId` accepted too.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockHeightRequest {
    pub record_id: String,
}

impl BlockHeightRequest {
    pub fn from_fields(fields: &Fields) -> Result<BlockHeightRequest, RequestError> {
        let record_id = fields.required_str(&["record_id", "recordId"])?.trim();
        if record_id.chars().count() > RECORD_ID_CHARS_MAX {
            return Err(RequestError::FieldTooLong {
                field: "record_id",
                max_chars: RECORD_ID_CHARS_MAX,
            });
        }
        Ok(BlockHeightRequest {
            record_id: record_id.to_owned(),
        })
    }
}

/// `getTradeBlockHeight` → `data`.
#[derive(Serialize, Deserialize, Debug, Clone, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase", default)]
pub struct BlockHeights {
    pub chain: String,
    /// The block the record's transaction is in.
    pub tx_block_height: u64,
    /// The chain's latest block the gateway knows.
    pub curr_block_height: u64,
    /// Confirmations the chain needs before a deposit is credited.
    pub req_confirmations: u32,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::v2::fields;

    #[test]
    fn an_unbinding_needs_a_chain_and_a_bounded_address() {
        let parse =
            |body: &str| UnbindRequest::from_fields(&fields(body.as_bytes()).unwrap_or_default());
        assert_eq!(
            parse(r#"{"chain":" ETH ","address":" 0xAb "}"#),
            Ok(UnbindRequest {
                chain: "ETH".into(),
                address: "0xAb".into()
            })
        );
        assert_eq!(
            parse(r#"{"address":"0xab"}"#),
            Err(RequestError::MissingField { field: "chain" })
        );
        assert_eq!(
            parse(r#"{"chain":"ETH"}"#),
            Err(RequestError::MissingField { field: "address" })
        );
        assert_eq!(
            parse(&format!(
                r#"{{"chain":"ETH","address":"{}"}}"#,
                "a".repeat(65)
            )),
            Err(RequestError::FieldTooLong {
                field: "address",
                max_chars: 64
            })
        );
    }

    #[test]
    fn a_block_height_request_takes_either_spelling_of_the_record_id() {
        let parse = |body: &str| {
            BlockHeightRequest::from_fields(&fields(body.as_bytes()).unwrap_or_default())
                .map(|request| request.record_id)
        };
        assert_eq!(parse(r#"{"record_id":"2026"}"#), Ok("2026".to_owned()));
        assert_eq!(parse(r#"{"recordId":" 2026 "}"#), Ok("2026".to_owned()));
        assert_eq!(
            parse("[]"),
            Err(RequestError::MissingField { field: "record_id" })
        );
        assert_eq!(
            parse(&format!(r#"{{"record_id":"{}"}}"#, "1".repeat(65))),
            Err(RequestError::FieldTooLong {
                field: "record_id",
                max_chars: 64
            })
        );
    }

    #[test]
    fn an_unbinding_is_written_and_read_with_capital_ids() {
        let unbinding = Unbinding {
            unbound: vec![UnboundAddress {
                chain: "ETH".into(),
                address: "0xA".into(),
            }],
            unbound_at: 1,
            user_id: String::new(),
            reference_id: "user-7".into(),
        };
        let written = serde_json::to_string(&unbinding).unwrap_or_default();
        assert_eq!(
            written,
            r#"{"unbound":[{"chain":"ETH","address":"0xA"}],"unboundAt":1,"userID":"","referenceID":"user-7"}"#
        );
        // What the client crate reads back.
        let read: Result<Unbinding, _> = serde_json::from_str(&written);
        assert_eq!(read.ok(), Some(unbinding));
    }
}
