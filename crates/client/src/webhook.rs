//! Verifying and reading the webhooks CCPayment (or ccgate) sends.

use ccgate_api::deposits::DirectDepositWebhook;
use ccgate_api::orders::{ApiDepositWebhook, InvoiceWebhook, RefundWebhook};
use ccgate_api::sign;
use ccgate_api::v2::webhooks::{
    ACTIVATE_WEBHOOK_URL, API_DEPOSIT, API_WITHDRAWAL, ApiDepositMsg, ApiWithdrawalMsg,
    DIRECT_DEPOSIT, DirectDepositMsg, USER_DEPOSIT, USER_WITHDRAWAL, UserDepositMsg,
    UserWithdrawalMsg,
};
use ccgate_api::withdrawals::WithdrawWebhook;
use serde_json::Value;

/// The headers a webhook arrives with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookHeaders {
    /// `Appid`.
    pub app_id: String,
    /// `Timestamp`, unix seconds as sent.
    pub timestamp: String,
    /// `Sign`, hex.
    pub sign: String,
}

/// A verified webhook, by `order_type`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Webhook {
    /// `API Deposit`: a payment to an order.
    ApiDeposit(ApiDepositWebhook),
    /// `Direct Deposit`: a payment to a permanent address.
    DirectDeposit(DirectDepositWebhook),
    /// `API Withdrawal`: a withdrawal resolved.
    Withdrawal(WithdrawWebhook),
    /// `Refund`: a refund resolved.
    Refund(RefundWebhook),
    /// `Invoice`: a dashboard invoice paid (CCPayment only).
    Invoice(InvoiceWebhook),
}

/// Why a webhook was not accepted.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum WebhookError {
    /// Sent for another merchant.
    #[error("the webhook is for Appid {0:?}, not this merchant")]
    WrongAppId(String),
    /// A Timestamp that is not unix seconds.
    #[error("the webhook's Timestamp is not unix seconds")]
    BadTimestamp,
    /// Outside the allowed window (a replay, or a clock far off).
    #[error("the webhook is {age_secs} s old, more than the {window_secs} s allowed")]
    TooOld {
        /// Seconds since the Timestamp (negative: in the future).
        age_secs: i64,
        /// The allowed window, either way.
        window_secs: i64,
    },
    /// Not signed with this merchant's secret, or altered.
    #[error("the webhook's Sign does not verify")]
    SignatureMismatch,
    /// Not a webhook this client knows.
    #[error("the webhook body is not a known webhook: {0}")]
    Unreadable(String),
}

/// A verified v2 webhook, by `type`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum V2Webhook {
    /// `ApiDeposit`: a payment to an order; re-query `getAppOrderInfo`.
    ApiDeposit(ApiDepositMsg),
    /// `DirectDeposit`: a payment to a permanent address; re-query `getAppDepositRecord`.
    DirectDeposit(DirectDepositMsg),
    /// `ApiWithdrawal`: a withdrawal's state; re-query `getAppWithdrawRecord`.
    ApiWithdrawal(ApiWithdrawalMsg),
    /// `UserDeposit`: a payment to a wallet user's address; re-query
    /// `getUserDepositRecord`.
    UserDeposit(UserDepositMsg),
    /// `UserWithdrawal`: a wallet user's network withdrawal's state;
    /// re-query `getUserWithdrawRecord`.
    UserWithdrawal(UserWithdrawalMsg),
    /// `ActivateWebhookURL`: the URL is being saved; answer `Success`.
    ActivateWebhookUrl,
    /// A type this client does not read (a future one):
    /// its name and `msg`, verified all the same.
    Other {
        /// `type`.
        kind: String,
        /// `msg`, as sent.
        msg: Value,
    },
}

/// The checks both dialects share: the Appid and the age.
fn check_headers(
    app_id: &str,
    headers: &WebhookHeaders,
    now_unix_secs: i64,
    window_secs: i64,
) -> Result<(), WebhookError> {
    if headers.app_id != app_id {
        return Err(WebhookError::WrongAppId(
            headers.app_id.chars().take(64).collect(),
        ));
    }
    let timestamp: i64 = headers
        .timestamp
        .trim()
        .parse()
        .map_err(|_| WebhookError::BadTimestamp)?;
    let age_secs = now_unix_secs.saturating_sub(timestamp);
    if age_secs.abs() > window_secs {
        return Err(WebhookError::TooOld {
            age_secs,
            window_secs,
        });
    }
    Ok(())
}

/// Checks a webhook as a merchant should: its Appid, its age (`window_secs`
/// either way from `now_unix_secs`) and its signature over the raw body —
/// then reads it by `order_type`.
pub fn verify_webhook(
    app_id: &str,
    app_secret: &str,
    headers: &WebhookHeaders,
    body: &[u8],
    now_unix_secs: i64,
    window_secs: i64,
) -> Result<Webhook, WebhookError> {
    check_headers(app_id, headers, now_unix_secs, window_secs)?;
    if !sign::verify(
        app_id,
        app_secret,
        headers.timestamp.trim(),
        body,
        &headers.sign,
    ) {
        return Err(WebhookError::SignatureMismatch);
    }
    let unreadable = |e: serde_json::Error| WebhookError::Unreadable(e.to_string());
    let value: Value = serde_json::from_slice(body).map_err(unreadable)?;
    let kind = value["order_type"].as_str().unwrap_or_default().to_owned();
    Ok(match kind.as_str() {
        "API Deposit" => Webhook::ApiDeposit(serde_json::from_value(value).map_err(unreadable)?),
        "Direct Deposit" => {
            Webhook::DirectDeposit(serde_json::from_value(value).map_err(unreadable)?)
        }
        "API Withdrawal" => Webhook::Withdrawal(serde_json::from_value(value).map_err(unreadable)?),
        "Refund" => Webhook::Refund(serde_json::from_value(value).map_err(unreadable)?),
        "Invoice" | "Invocie" => {
            Webhook::Invoice(serde_json::from_value(value).map_err(unreadable)?)
        }
        other => {
            return Err(WebhookError::Unreadable(format!(
                "unknown order_type {:?}",
                other.chars().take(32).collect::<String>()
            )));
        }
    })
}

/// [`verify_webhook`] for the v2 dialect: the same Appid and age checks,
/// the HMAC-SHA256 signature over `Appid + Timestamp + body`, then the body
/// read by `type`.
pub fn verify_v2_webhook(
    app_id: &str,
    app_secret: &str,
    headers: &WebhookHeaders,
    body: &[u8],
    now_unix_secs: i64,
    window_secs: i64,
) -> Result<V2Webhook, WebhookError> {
    check_headers(app_id, headers, now_unix_secs, window_secs)?;
    if !ccgate_api::v2::sign::verify(
        app_id,
        app_secret,
        headers.timestamp.trim(),
        body,
        &headers.sign,
    ) {
        return Err(WebhookError::SignatureMismatch);
    }
    let unreadable = |e: serde_json::Error| WebhookError::Unreadable(e.to_string());
    let mut value: Value = serde_json::from_slice(body).map_err(unreadable)?;
    let kind = value["type"].as_str().unwrap_or_default().to_owned();
    let msg = value["msg"].take();
    Ok(match kind.as_str() {
        API_DEPOSIT => V2Webhook::ApiDeposit(serde_json::from_value(msg).map_err(unreadable)?),
        DIRECT_DEPOSIT => {
            V2Webhook::DirectDeposit(serde_json::from_value(msg).map_err(unreadable)?)
        }
        API_WITHDRAWAL => {
            V2Webhook::ApiWithdrawal(serde_json::from_value(msg).map_err(unreadable)?)
        }
        USER_DEPOSIT => V2Webhook::UserDeposit(serde_json::from_value(msg).map_err(unreadable)?),
        USER_WITHDRAWAL => {
            V2Webhook::UserWithdrawal(serde_json::from_value(msg).map_err(unreadable)?)
        }
        ACTIVATE_WEBHOOK_URL => V2Webhook::ActivateWebhookUrl,
        "" => {
            return Err(WebhookError::Unreadable(
                "the body has no \"type\"".to_owned(),
            ));
        }
        other => V2Webhook::Other {
            kind: other.chars().take(64).collect(),
            msg,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(body: &[u8], timestamp: &str) -> WebhookHeaders {
        WebhookHeaders {
            app_id: "app".into(),
            timestamp: timestamp.into(),
            sign: sign::sign("app", "secret", timestamp, body),
        }
    }

    #[test]
    fn refusals() {
        let body = br#"{"pay_status":"success","order_type":"Refund","record_id":"1"}"#;
        let good = headers(body, "1700000000");
        assert!(matches!(
            verify_webhook("app", "secret", &good, body, 1_700_000_010, 300),
            Ok(Webhook::Refund(_))
        ));
        assert_eq!(
            verify_webhook("other", "secret", &good, body, 1_700_000_010, 300),
            Err(WebhookError::WrongAppId("app".into()))
        );
        assert_eq!(
            verify_webhook("app", "wrong", &good, body, 1_700_000_010, 300),
            Err(WebhookError::SignatureMismatch)
        );
        assert!(matches!(
            verify_webhook("app", "secret", &good, body, 1_700_001_000, 300),
            Err(WebhookError::TooOld { .. })
        ));
        let tampered = br#"{"pay_status":"success","order_type":"Refund","record_id":"2"}"#;
        assert_eq!(
            verify_webhook("app", "secret", &good, tampered, 1_700_000_010, 300),
            Err(WebhookError::SignatureMismatch)
        );
        let unknown = br#"{"order_type":"Gift"}"#;
        assert!(matches!(
            verify_webhook(
                "app",
                "secret",
                &headers(unknown, "1700000000"),
                unknown,
                1_700_000_000,
                300
            ),
            Err(WebhookError::Unreadable(_))
        ));
    }

    #[test]
    fn v2_webhooks_are_verified_with_the_hmac_and_read_by_type() {
        let body = br#"{"type":"ApiDeposit","msg":{"recordId":"r1","orderId":"wc_order_Ab12-123","coinId":1280,"coinSymbol":"USDT","status":"Success","isFlaggedAsRisky":false}}"#;
        let v2_headers = |body: &[u8]| WebhookHeaders {
            app_id: "app".into(),
            timestamp: "1700000000".into(),
            sign: ccgate_api::v2::sign::sign("app", "secret", "1700000000", body),
        };
        match verify_v2_webhook("app", "secret", &v2_headers(body), body, 1_700_000_010, 300) {
            Ok(V2Webhook::ApiDeposit(msg)) => {
                assert_eq!(
                    (msg.order_id.as_str(), msg.coin_id),
                    ("wc_order_Ab12-123", 1280)
                );
            }
            other => panic!("{other:?}"),
        }
        // A v1 signature does not pass for v2, nor the other way round.
        assert_eq!(
            verify_v2_webhook(
                "app",
                "secret",
                &headers(body, "1700000000"),
                body,
                1_700_000_010,
                300
            ),
            Err(WebhookError::SignatureMismatch)
        );
        assert_eq!(
            verify_webhook("app", "secret", &v2_headers(body), body, 1_700_000_010, 300),
            Err(WebhookError::SignatureMismatch)
        );
        let probe = br#"{"type":"ActivateWebhookURL","msg":{}}"#;
        assert_eq!(
            verify_v2_webhook(
                "app",
                "secret",
                &v2_headers(probe),
                probe,
                1_700_000_000,
                300
            ),
            Ok(V2Webhook::ActivateWebhookUrl)
        );
        let user = br#"{"type":"UserDeposit","msg":{"recordId":"r1","userId":"u1","coinId":1280,"coinSymbol":"USDT","amount":"1.5","status":"Success","isFlaggedAsRisky":false}}"#;
        assert!(matches!(
            verify_v2_webhook("app", "secret", &v2_headers(user), user, 1_700_000_000, 300),
            Ok(V2Webhook::UserDeposit(msg)) if msg.user_id == "u1" && msg.amount == "1.5"
        ));
        let withdrawal = br#"{"type":"UserWithdrawal","msg":{"recordId":"r2","orderId":"uw-1","userId":"u1","coinId":1280,"coinSymbol":"USDT","status":"Failed"}}"#;
        assert!(matches!(
            verify_v2_webhook("app", "secret", &v2_headers(withdrawal), withdrawal, 1_700_000_000, 300),
            Ok(V2Webhook::UserWithdrawal(msg)) if msg.user_id == "u1" && msg.status == "Failed"
        ));
        let future = br#"{"type":"RiskyAddress","msg":{"address":"0x1"}}"#;
        assert!(matches!(
            verify_v2_webhook("app", "secret", &v2_headers(future), future, 1_700_000_000, 300),
            Ok(V2Webhook::Other { kind, .. }) if kind == "RiskyAddress"
        ));
        let broken = br#"{"type":"ApiDeposit","msg":{"recordId":1}}"#;
        assert!(matches!(
            verify_v2_webhook(
                "app",
                "secret",
                &v2_headers(broken),
                broken,
                1_700_000_000,
                300
            ),
            Err(WebhookError::Unreadable(_))
        ));
    }
}
