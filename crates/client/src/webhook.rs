//! Verifying and reading the webhooks CCPayment (or ccgate) sends.

use ccgate_api::deposits::DirectDepositWebhook;
use ccgate_api::orders::{ApiDepositWebhook, InvoiceWebhook, RefundWebhook};
use ccgate_api::sign;
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
}
