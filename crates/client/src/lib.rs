#![warn(missing_docs)]
//! A client for the CCPayment v1 merchant API — against CCPayment itself or
//! against ccgate (change the base URL, nothing else).
//!
//! Every request is signed over its exact body bytes; every successful answer's
//! signature is checked before it is parsed (a mismatch is an error, as the
//! official SDKs intend). Failures carry the v1 `code`, `msg` and `reason`.
//!
//! ```no_run
//! # async fn run() -> Result<(), ccgate_client::ClientError> {
//! use ccgate_client::{Client, CreateOrder};
//!
//! let client = Client::new("http://127.0.0.1:8080", "202302010636261620672405236006912", "c4600b8125b7ed23b5b7b8ee4acb42f4")?;
//! let order = client
//!     .create_order(&CreateOrder {
//!         token_id: "2728e271-9f5d-4c05-8aa7-4a87b1afcc95".into(),
//!         product_price: "10".into(),
//!         merchant_order_id: "order-1".into(),
//!         denominated_currency: "USD".into(),
//!         ..CreateOrder::default()
//!     })
//!     .await?;
//! println!("pay {} {} to {}", order.amount, order.crypto, order.pay_address);
//! # Ok(()) }
//! ```
//!
//! Webhooks are verified and typed by [`verify_webhook`]:
//!
//! ```
//! use ccgate_client::{Webhook, WebhookHeaders, verify_webhook};
//!
//! let body = br#"{"pay_status":"success","order_type":"Direct Deposit","record_id":"1","paid_amount":"666","credit_amount":"665.8002","chain":"BSC","from_address":"","to_address":"0x1","contract":"","crypto":"USDT","txid":"internal transfer","service_fee":"0.1998","memo":"","user_id":"u1"}"#;
//! let headers = WebhookHeaders {
//!     app_id: "app".into(),
//!     timestamp: "1700000000".into(),
//!     sign: ccgate_api::sign::sign("app", "secret", "1700000000", body),
//! };
//! match verify_webhook("app", "secret", &headers, body, 1_700_000_030, 300) {
//!     Ok(Webhook::DirectDeposit(deposit)) => assert_eq!(deposit.credit_amount, "665.8002"),
//!     other => panic!("{other:?}"),
//! }
//! ```

mod calls;
mod connection;
#[cfg(feature = "axum")]
mod extract;
pub mod v2;
mod webhook;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ccgate_api::sign;
use connection::{Connection, opened, with_retries};
use secrecy::ExposeSecret;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

pub use calls::{BillInfoItem, CheckoutUrl, CreateOrder, Withdraw};
#[cfg(feature = "axum")]
pub use extract::{VerifiedV2Webhook, VerifiedWebhook, WEBHOOK_WINDOW_SECS_DEFAULT, WebhookKeys};
pub use v2::V2Client;
pub use webhook::{
    V2Webhook, Webhook, WebhookError, WebhookHeaders, verify_v2_webhook, verify_webhook,
};

/// How long a request may take unless set otherwise.
pub const TIMEOUT_DEFAULT: Duration = Duration::from_secs(30);
/// Attempts of a call that is safe to repeat (a read, or a write carrying a
/// `merchant_order_id`, which the server makes idempotent).
pub const ATTEMPTS_MAX: u32 = 3;
const RETRY_PAUSE: Duration = Duration::from_millis(250);

/// Why a call did not return what was asked for.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// Nothing came back: connection, timeout or TLS trouble.
    #[error("the request could not be sent or answered: {0}")]
    Transport(#[from] reqwest::Error),
    /// An HTTP status without a v1 envelope in the body.
    #[error("the server answered HTTP {status} without a v1 envelope")]
    Status {
        /// The HTTP status.
        status: u16,
    },
    /// The server refused the request with a v1 code.
    #[error("CCPayment code {code}: {msg}")]
    Api {
        /// The v1 code, e.g. `223001`.
        code: u32,
        /// The server's sentence.
        msg: String,
        /// The machine-readable name, e.g. `InsufficientBalance`, when sent.
        reason: Option<String>,
    },
    /// A success whose signature does not verify: do not trust its data.
    #[error("the answer's Sign does not verify: it may have been tampered with")]
    SignatureMismatch,
    /// A success without the header needed to check it.
    #[error("the answer lacks the {0} header")]
    MissingHeader(&'static str),
    /// A body that is not the expected JSON.
    #[error("the answer is not the expected JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// Settings the client cannot work with.
    #[error("invalid client settings: {0}")]
    Settings(String),
}

/// A signed-request client. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Client {
    connection: Connection,
}

/// An answer as it came, for tools that show it (`ccgate call`).
#[derive(Debug, Clone)]
pub struct RawAnswer {
    /// The HTTP status.
    pub status: u16,
    /// The body exactly as received.
    pub body: Vec<u8>,
    /// `None` when the answer carried no signature to check.
    pub signature_verified: Option<bool>,
}

#[derive(Deserialize)]
struct Envelope<T> {
    code: u32,
    #[serde(default)]
    msg: String,
    #[serde(default)]
    reason: Option<String>,
    data: Option<T>,
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl Client {
    /// `base_url` is e.g. `https://admin.ccpayment.com` or
    /// `http://127.0.0.1:8080` (the `/ccpayment/v1/…` paths are added).
    pub fn new(
        base_url: impl Into<String>,
        app_id: impl Into<String>,
        app_secret: impl Into<String>,
    ) -> Result<Client, ClientError> {
        Client::with_timeout(base_url, app_id, app_secret, TIMEOUT_DEFAULT)
    }

    /// `new`, with a timeout for each request instead of [`TIMEOUT_DEFAULT`].
    pub fn with_timeout(
        base_url: impl Into<String>,
        app_id: impl Into<String>,
        app_secret: impl Into<String>,
        timeout: Duration,
    ) -> Result<Client, ClientError> {
        Ok(Client {
            connection: Connection::new(
                base_url.into(),
                app_id.into(),
                app_secret.into(),
                timeout,
            )?,
        })
    }

    /// Sends `body` as is (the bytes that are signed) to `/ccpayment/v1/{endpoint}`.
    pub async fn call_raw(&self, endpoint: &str, body: &[u8]) -> Result<RawAnswer, ClientError> {
        let response = self
            .connection
            .post("/ccpayment/v1/", endpoint, body, sign::sign)
            .await?;
        let status = response.status().as_u16();
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let (timestamp, sign) = (header("timestamp"), header("sign"));
        let body = response.bytes().await?.to_vec();
        let signature_verified = match (timestamp, sign) {
            (Some(timestamp), Some(sign)) => Some(sign::verify(
                &self.connection.app_id,
                self.connection.app_secret.expose_secret(),
                &timestamp,
                &body,
                &sign,
            )),
            _ => None,
        };
        Ok(RawAnswer {
            status,
            body,
            signature_verified,
        })
    }

    /// A typed call: the envelope is opened, a failure code is an error, and
    /// a success must carry a valid signature.
    pub async fn call<Q: Serialize, T: DeserializeOwned>(
        &self,
        endpoint: &str,
        request: &Q,
        safe_to_repeat: bool,
    ) -> Result<T, ClientError> {
        let body = serde_json::to_vec(request)?;
        let answer = with_retries(safe_to_repeat, || self.call_raw(endpoint, &body)).await?;
        opened(
            &answer,
            ccgate_api::Code::Success.number(),
            || match answer.signature_verified {
                Some(true) => Ok(()),
                Some(false) => Err(ClientError::SignatureMismatch),
                None => Err(ClientError::MissingHeader("Sign")),
            },
        )
    }
}
