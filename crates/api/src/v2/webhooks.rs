//! `webhook/resend` in v2 (v2 spec §2.8.2): camelCase fields, v2's type
//! names, and `recordIds`. It becomes the same request as v1's, so one
//! outbox answers both.

use serde::Serialize;

use crate::RequestError;
use crate::request::Fields;
use crate::webhooks::{RESEND_WINDOW_SECS_MAX, ResendRequest};

/// Records one resend may name.
pub const RESEND_RECORD_IDS_MAX: usize = 50;

/// v2's `transactionType` names (with the misspellings one client library
/// sends) and the webhook kind the outbox files each under, whichever
/// dialect it is written in.
const TRANSACTION_TYPES: [(&str, &str); 7] = [
    ("ApiDeposit", "API Deposit"),
    ("DirectDeposit", "Direct Deposit"),
    ("ApiWithdrawal", "API Withdrawal"),
    ("ApiWithdrwal", "API Withdrawal"),
    ("UserDeposit", "User Deposit"),
    ("UserWithdrawal", "User Withdrawal"),
    ("UserWithdrawalAPI", "User Withdrawal"),
];

/// Parses a v2 resend into the request both dialects run.
pub fn resend_request(fields: &Fields) -> Result<ResendRequest, RequestError> {
    let start = fields.required_u64("startTimestamp")?;
    let end = fields
        .optional_u64(&["endTimestamp"])?
        .unwrap_or(start.saturating_add(RESEND_WINDOW_SECS_MAX));
    if end < start || end - start > RESEND_WINDOW_SECS_MAX {
        return Err(RequestError::FieldType {
            field: "endTimestamp",
            expected: "at most one hour after startTimestamp",
        });
    }
    let all_results = match fields.optional_str(&["webhookResult"])? {
        None => false,
        Some(r) if r.eq_ignore_ascii_case("Failed") => false,
        Some(r) if r.eq_ignore_ascii_case("AllResult") => true,
        Some(_) => {
            return Err(RequestError::FieldType {
                field: "webhookResult",
                expected: "\"Failed\" or \"AllResult\"",
            });
        }
    };
    let transaction_type = match fields.optional_str(&["transactionType"])? {
        None => None,
        Some(t) if t.eq_ignore_ascii_case("AllType") => None,
        Some(t) => {
            let (_, kind) = TRANSACTION_TYPES
                .iter()
                .find(|(name, _)| name.eq_ignore_ascii_case(t))
                .ok_or(RequestError::FieldType {
                    field: "transactionType",
                    expected: "\"AllType\", \"ApiDeposit\", \"DirectDeposit\", \"ApiWithdrawal\", \"UserDeposit\" or \"UserWithdrawal\"",
                })?;
            Some((*kind).to_owned())
        }
    };
    Ok(ResendRequest {
        start_timestamp: start,
        end_timestamp: end,
        all_results,
        transaction_type,
        record_ids: fields.optional_string_list("recordIds", RESEND_RECORD_IDS_MAX)?,
    })
}

/// `webhook/resend` → `data`.
#[derive(Serialize, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Resent {
    pub resend_count: u64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::v2::fields;

    fn parse(body: &str) -> Result<ResendRequest, RequestError> {
        resend_request(&fields(body.as_bytes())?)
    }

    #[test]
    fn v2_names_become_the_outbox_kinds() {
        let request = parse(
            r#"{"startTimestamp":1700000000,"webhookResult":"AllResult","transactionType":"ApiWithdrwal","recordIds":["a","b"]}"#,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(request.end_timestamp, 1_700_003_600);
        assert!(request.all_results);
        assert_eq!(request.transaction_type.as_deref(), Some("API Withdrawal"));
        assert_eq!(request.record_ids, ["a", "b"]);
        let defaults =
            parse(r#"{"startTimestamp":"1700000000"}"#).unwrap_or_else(|e| panic!("{e}"));
        assert!(!defaults.all_results);
        assert_eq!(defaults.transaction_type, None);
    }

    #[test]
    fn refusals_name_the_v2_field() {
        for (body, field) in [
            ("{}", "startTimestamp"),
            (
                r#"{"startTimestamp":10,"endTimestamp":4000}"#,
                "endTimestamp",
            ),
            (
                r#"{"startTimestamp":10,"webhookResult":"Some"}"#,
                "webhookResult",
            ),
            (
                r#"{"startTimestamp":10,"transactionType":"Refund"}"#,
                "transactionType",
            ),
        ] {
            match parse(body) {
                Err(refused) => assert!(refused.to_string().contains(field), "{body}: {refused}"),
                Ok(parsed) => panic!("{body} was accepted: {parsed:?}"),
            }
        }
        let many: Vec<String> = (0..51).map(|i| format!("\"r{i}\"")).collect();
        let body = format!(
            r#"{{"startTimestamp":10,"recordIds":[{}]}}"#,
            many.join(",")
        );
        assert!(parse(&body).is_err());
    }
}
