//! `webhook/resend` (spec §2.14).

use serde::{Deserialize, Serialize};

use crate::RequestError;
use crate::request::Fields;

/// The widest window one call may cover.
pub const RESEND_WINDOW_SECS_MAX: u64 = 3_600;

/// Which webhooks to send again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResendRequest {
    pub start_timestamp: u64,
    pub end_timestamp: u64,
    /// `false`: only webhooks not acknowledged yet (`"Failed"`, the default).
    pub all_results: bool,
    /// `None`: every type (`"All Type"`, the default).
    pub transaction_type: Option<String>,
    /// Only webhooks about these records, unless empty (v2's `recordIds`).
    pub record_ids: Vec<String>,
}

impl ResendRequest {
    pub fn from_fields(fields: &Fields) -> Result<ResendRequest, RequestError> {
        let start =
            fields
                .optional_u64(&["start_timestamp"])?
                .ok_or(RequestError::MissingField {
                    field: "start_timestamp",
                })?;
        let end = fields
            .optional_u64(&["end_timestamp"])?
            .unwrap_or(start.saturating_add(RESEND_WINDOW_SECS_MAX));
        if end < start || end - start > RESEND_WINDOW_SECS_MAX {
            return Err(RequestError::FieldType {
                field: "end_timestamp",
                expected: "at most one hour after start_timestamp",
            });
        }
        let all_results = match fields.optional_str(&["webhook_result"])? {
            None => false,
            Some(r) if r.eq_ignore_ascii_case("Failed") => false,
            Some(r) if r.eq_ignore_ascii_case("All Result") => true,
            Some(_) => {
                return Err(RequestError::FieldType {
                    field: "webhook_result",
                    expected: "\"Failed\" or \"All Result\"",
                });
            }
        };
        let transaction_type = match fields.optional_str(&["transaction_type"])? {
            None => None,
            Some(t) if t.eq_ignore_ascii_case("All Type") => None,
            Some(t) => {
                let known = [
                    "Direct Deposit",
                    "API Deposit",
                    "Invoice",
                    "API Withdrawal",
                    "Refund",
                ];
                let canonical = known.iter().find(|k| k.eq_ignore_ascii_case(t)).ok_or(
                    RequestError::FieldType {
                        field: "transaction_type",
                        expected: "\"All Type\", \"Direct Deposit\", \"API Deposit\", \"Invoice\", \"API Withdrawal\" or \"Refund\"",
                    },
                )?;
                Some((*canonical).to_owned())
            }
        };
        Ok(ResendRequest {
            start_timestamp: start,
            end_timestamp: end,
            all_results,
            transaction_type,
            record_ids: Vec::new(),
        })
    }
}

/// `webhook/resend` → `data` (decisions §7).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ResendData {
    pub resend_count: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(body: &str) -> Result<ResendRequest, RequestError> {
        ResendRequest::from_fields(&Fields::parse(body.as_bytes())?)
    }

    #[test]
    fn defaults_and_limits() {
        let r = parse(r#"{"start_timestamp":1700000000}"#).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            (r.end_timestamp, r.all_results, r.transaction_type),
            (1_700_003_600, false, None)
        );
        let r = parse(r#"{"start_timestamp":1700000000,"end_timestamp":1700000100,"webhook_result":"All Result","transaction_type":"api deposit"}"#)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            (r.all_results, r.transaction_type.as_deref()),
            (true, Some("API Deposit"))
        );
        assert!(parse(r#"{"start_timestamp":1700000000,"end_timestamp":1700003601}"#).is_err());
        assert!(parse(r#"{"start_timestamp":1700000000,"end_timestamp":1699999999}"#).is_err());
        assert!(parse(r#"{"start_timestamp":1700000000,"transaction_type":"Gift"}"#).is_err());
        assert_eq!(
            parse("{}"),
            Err(RequestError::MissingField {
                field: "start_timestamp"
            })
        );
    }
}
