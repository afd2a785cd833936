//! v2's webhooks (v2 spec §3): thin `{"type","msg"}` bodies that name a
//! record and its state, for the receiver to re-query; and `webhook/resend`
//! (§2.8.2) with v2's names, which becomes the same request as v1's, so one
//! outbox answers both.

use serde::{Deserialize, Serialize};

use crate::RequestError;
use crate::request::Fields;
use crate::webhooks::{RESEND_WINDOW_SECS_MAX, ResendRequest};

/// `type` of a payment to an order (`createAppOrderDepositAddress`,
/// `createInvoiceUrl`, `createCheckoutUrl`).
pub const API_DEPOSIT: &str = "ApiDeposit";
/// `type` of a payment to a permanent address (`getOrCreateAppDepositAddress`).
pub const DIRECT_DEPOSIT: &str = "DirectDeposit";
/// `type` of a merchant's network withdrawal.
pub const API_WITHDRAWAL: &str = "ApiWithdrawal";
/// `type` of a payment to a wallet user's address (`getOrCreateUserDepositAddress`).
pub const USER_DEPOSIT: &str = "UserDeposit";
/// The outbox's kind for a UserDeposit webhook (the name `webhook/resend`
/// files `UserDeposit` under).
pub const USER_DEPOSIT_KIND: &str = "User Deposit";
/// `type` of a wallet user's network withdrawal (`applyUserWithdrawToNetwork`).
pub const USER_WITHDRAWAL: &str = "UserWithdrawal";
/// The outbox's kind for a UserWithdrawal webhook (the name `webhook/resend`
/// files `UserWithdrawal` under).
pub const USER_WITHDRAWAL_KIND: &str = "User Withdrawal";
/// `type` of the probe sent to a webhook URL being saved.
pub const ACTIVATE_WEBHOOK_URL: &str = "ActivateWebhookURL";

/// `msg` of an ApiDeposit webhook.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ApiDepositMsg {
    pub record_id: String,
    /// The merchant's order id, verbatim.
    pub order_id: String,
    pub coin_id: u64,
    pub coin_symbol: String,
    /// `Processing`, `Success` or `Failed`.
    pub status: String,
    pub is_flagged_as_risky: bool,
}

/// `msg` of a DirectDeposit webhook.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct DirectDepositMsg {
    pub record_id: String,
    /// The merchant's id for the address's owner.
    pub reference_id: String,
    pub coin_id: u64,
    pub coin_symbol: String,
    /// `Processing`, `Success` or `Failed`.
    pub status: String,
    pub is_flagged_as_risky: bool,
}

/// `msg` of a UserDeposit webhook (v2 spec §3.3.4): the only deposit
/// webhook that carries an amount.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct UserDepositMsg {
    pub record_id: String,
    pub user_id: String,
    pub coin_id: u64,
    pub coin_symbol: String,
    /// What arrived (the record's `amount`), in the coin's decimals.
    pub amount: String,
    /// `Processing`, `Success` or `Failed`.
    pub status: String,
    pub is_flagged_as_risky: bool,
}

/// `msg` of an ApiWithdrawal webhook.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ApiWithdrawalMsg {
    pub record_id: String,
    pub order_id: String,
    pub coin_id: u64,
    pub coin_symbol: String,
    /// `WaitingApproval`, `Rejected`, `Processing`, `Success` or `Failed`.
    pub status: String,
}

/// `msg` of a UserWithdrawal webhook (v2 spec §3.3.5).
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct UserWithdrawalMsg {
    pub record_id: String,
    pub order_id: String,
    pub user_id: String,
    pub coin_id: u64,
    pub coin_symbol: String,
    /// `WaitingApproval`, `Rejected`, `Processing`, `Success` or `Failed`.
    pub status: String,
}

#[derive(Serialize)]
struct Body<'a, T: Serialize> {
    r#type: &'a str,
    msg: &'a T,
}

/// The exact bytes of a v2 webhook: `{"type":…,"msg":{…}}`, compact, `type`
/// first, as CCPayment sends them (and as `JSON.stringify` of the parsed body
/// gives back, which some receivers sign instead of the raw bytes).
pub fn webhook_body<T: Serialize>(kind: &str, msg: &T) -> serde_json::Result<String> {
    serde_json::to_string(&Body { r#type: kind, msg })
}

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
    ("UserDeposit", USER_DEPOSIT_KIND),
    ("UserWithdrawal", USER_WITHDRAWAL_KIND),
    ("UserWithdrawalAPI", USER_WITHDRAWAL_KIND),
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
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Resent {
    pub resend_count: u64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::v2::fields;

    #[test]
    fn webhook_bodies_are_the_documented_bytes() {
        // The spec's ApiDeposit example (v2 spec §3.3.1), byte for byte.
        let msg = ApiDepositMsg {
            record_id: "20240919035020188328269786624000".into(),
            order_id: "1726717497".into(),
            coin_id: 2541,
            coin_symbol: "POL".into(),
            status: "Success".into(),
            is_flagged_as_risky: false,
        };
        assert_eq!(
            webhook_body(API_DEPOSIT, &msg).ok().as_deref(),
            Some(
                r#"{"type":"ApiDeposit","msg":{"recordId":"20240919035020188328269786624000","orderId":"1726717497","coinId":2541,"coinSymbol":"POL","status":"Success","isFlaggedAsRisky":false}}"#
            )
        );
        // The spec's DirectDeposit capture (§3.3.2), and an ApiWithdrawal (§3.3.3).
        let direct = DirectDepositMsg {
            record_id: "20250321034441254643830061580288".into(),
            reference_id: "67c34bb3".into(),
            coin_id: 1280,
            coin_symbol: "USDT".into(),
            status: "Success".into(),
            is_flagged_as_risky: false,
        };
        assert_eq!(
            webhook_body(DIRECT_DEPOSIT, &direct).ok().as_deref(),
            Some(
                r#"{"type":"DirectDeposit","msg":{"recordId":"20250321034441254643830061580288","referenceId":"67c34bb3","coinId":1280,"coinSymbol":"USDT","status":"Success","isFlaggedAsRisky":false}}"#
            )
        );
        let user = UserDepositMsg {
            record_id: "20250321034441254643830061580288".into(),
            user_id: "alice-01".into(),
            coin_id: 1280,
            coin_symbol: "USDT".into(),
            amount: "12.5".into(),
            status: "Success".into(),
            is_flagged_as_risky: false,
        };
        assert_eq!(
            webhook_body(USER_DEPOSIT, &user).ok().as_deref(),
            Some(
                r#"{"type":"UserDeposit","msg":{"recordId":"20250321034441254643830061580288","userId":"alice-01","coinId":1280,"coinSymbol":"USDT","amount":"12.5","status":"Success","isFlaggedAsRisky":false}}"#
            )
        );
        let withdrawal = ApiWithdrawalMsg {
            record_id: "20250331161641258456955022073856w".into(),
            order_id: "w-1".into(),
            coin_id: 1280,
            coin_symbol: "USDT".into(),
            status: "Processing".into(),
        };
        assert_eq!(
            webhook_body(API_WITHDRAWAL, &withdrawal).ok().as_deref(),
            Some(
                r#"{"type":"ApiWithdrawal","msg":{"recordId":"20250331161641258456955022073856w","orderId":"w-1","coinId":1280,"coinSymbol":"USDT","status":"Processing"}}"#
            )
        );
    }

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
