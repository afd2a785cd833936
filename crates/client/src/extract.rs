//! `VerifiedWebhook`: an axum extractor (feature `axum`) that gives a
//! merchant's handler a webhook already verified and typed — or answers
//! 401 with the reason, before the handler runs.
//!
//! ```no_run
//! use axum::{Router, routing::post};
//! use ccgate_client::{VerifiedWebhook, Webhook, WebhookKeys};
//!
//! #[derive(Clone)]
//! struct Shop { keys: WebhookKeys }
//! impl AsRef<WebhookKeys> for Shop {
//!     fn as_ref(&self) -> &WebhookKeys { &self.keys }
//! }
//!
//! async fn on_webhook(VerifiedWebhook(webhook): VerifiedWebhook) -> &'static str {
//!     if let Webhook::ApiDeposit(paid) = webhook {
//!         println!("order {} paid {}", paid.extend.merchant_order_id, paid.paid_amount);
//!     }
//!     "success" // CCPayment retries until it reads this
//! }
//!
//! let keys = WebhookKeys::new("202302010636261620672405236006912", "c4600b8125b7ed23b5b7b8ee4acb42f4");
//! let app: Router = Router::new().route("/ccpayment/webhook", post(on_webhook)).with_state(Shop { keys });
//! ```

use std::time::{SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use secrecy::{ExposeSecret, SecretString};

use crate::webhook::{V2Webhook, Webhook, WebhookHeaders, verify_v2_webhook, verify_webhook};

/// How old a webhook may be, either way, unless set otherwise (the Java SDK's 300 s).
pub const WEBHOOK_WINDOW_SECS_DEFAULT: i64 = 300;
/// Webhook bodies are small; this bounds what is read.
const WEBHOOK_BODY_BYTES_MAX: usize = 256 * 1024;

/// The merchant's credentials, for checking webhooks.
#[derive(Debug, Clone)]
pub struct WebhookKeys {
    app_id: String,
    app_secret: SecretString,
    window_secs: i64,
}

impl WebhookKeys {
    /// The merchant's Appid and secret, with the default window.
    pub fn new(app_id: impl Into<String>, app_secret: impl Into<String>) -> WebhookKeys {
        WebhookKeys {
            app_id: app_id.into(),
            app_secret: SecretString::from(app_secret.into()),
            window_secs: WEBHOOK_WINDOW_SECS_DEFAULT,
        }
    }

    /// How old (either way) a webhook may be.
    pub fn with_window_secs(mut self, window_secs: i64) -> WebhookKeys {
        self.window_secs = window_secs;
        self
    }
}

/// A webhook whose Appid, age and signature checked out.
#[derive(Debug, Clone)]
pub struct VerifiedWebhook(pub Webhook);

/// A v2 webhook (`{"type","msg"}`, HMAC-signed) whose Appid, age and
/// signature checked out; answer it with a body containing `Success`.
#[derive(Debug, Clone)]
pub struct VerifiedV2Webhook(pub V2Webhook);

/// A webhook's headers, its body (bounded) and the time it is checked at.
async fn received(request: Request) -> (WebhookHeaders, Bytes, i64) {
    // In a block of its own: the borrow of the request (whose body is not
    // `Sync`) must end before the await, or the future is not `Send`.
    let headers = {
        let header = |name: &str| {
            request
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned()
        };
        WebhookHeaders {
            app_id: header("appid"),
            timestamp: header("timestamp"),
            sign: header("sign"),
        }
    };
    let body = axum::body::to_bytes(request.into_body(), WEBHOOK_BODY_BYTES_MAX)
        .await
        .unwrap_or_else(|_| Bytes::new());
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
    (headers, body, now)
}

fn refuse(reason: String) -> Response {
    (StatusCode::UNAUTHORIZED, reason).into_response()
}

impl<S> FromRequest<S> for VerifiedWebhook
where
    S: AsRef<WebhookKeys> + Send + Sync,
{
    type Rejection = Response;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let keys = state.as_ref();
        let (headers, body, now) = received(request).await;
        verify_webhook(
            &keys.app_id,
            keys.app_secret.expose_secret(),
            &headers,
            &body,
            now,
            keys.window_secs,
        )
        .map(VerifiedWebhook)
        .map_err(|err| refuse(err.to_string()))
    }
}

impl<S> FromRequest<S> for VerifiedV2Webhook
where
    S: AsRef<WebhookKeys> + Send + Sync,
{
    type Rejection = Response;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let keys = state.as_ref();
        let (headers, body, now) = received(request).await;
        verify_v2_webhook(
            &keys.app_id,
            keys.app_secret.expose_secret(),
            &headers,
            &body,
            now,
            keys.window_secs,
        )
        .map(VerifiedV2Webhook)
        .map_err(|err| refuse(err.to_string()))
    }
}
