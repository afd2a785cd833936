//! A client for the CCPayment v2 merchant API (`/ccpayment/v2/<name>`): every
//! request signed with HMAC-SHA256 over `Appid + Timestamp + body`, answers
//! read from v2's envelope. v2 answers are not signed, so none is checked.

use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::{
    ATTEMPTS_MAX, ClientError, Envelope, RETRY_PAUSE, RawAnswer, TIMEOUT_DEFAULT, unix_now,
};

/// A v2 signed-request client. Cheap to clone.
#[derive(Debug, Clone)]
pub struct V2Client {
    base_url: String,
    app_id: String,
    app_secret: SecretString,
    http: reqwest::Client,
}

impl V2Client {
    /// `base_url` is e.g. `https://ccpayment.com` or `http://127.0.0.1:8080`
    /// (the `/ccpayment/v2/…` paths are added).
    pub fn new(
        base_url: impl Into<String>,
        app_id: impl Into<String>,
        app_secret: impl Into<String>,
    ) -> Result<V2Client, ClientError> {
        let base_url: String = base_url.into();
        if !(base_url.starts_with("http://") || base_url.starts_with("https://")) {
            return Err(ClientError::Settings(
                "the base URL must start with http:// or https://".to_owned(),
            ));
        }
        Ok(V2Client {
            base_url: base_url.trim_end_matches('/').to_owned(),
            app_id: app_id.into(),
            app_secret: SecretString::from(app_secret.into()),
            http: reqwest::Client::builder()
                .timeout(TIMEOUT_DEFAULT)
                .build()?,
        })
    }

    /// Sends `body` as is (the bytes that are signed; empty is allowed) to
    /// `/ccpayment/v2/{endpoint}`.
    pub async fn call_raw(&self, endpoint: &str, body: &[u8]) -> Result<RawAnswer, ClientError> {
        let timestamp = unix_now().to_string();
        let signature = ccgate_api::v2::sign::sign(
            &self.app_id,
            self.app_secret.expose_secret(),
            &timestamp,
            body,
        );
        let url = format!(
            "{}/ccpayment/v2/{}",
            self.base_url,
            endpoint.trim_start_matches('/')
        );
        let response = self
            .http
            .post(url)
            .header("Content-Type", "application/json")
            .header("Appid", &self.app_id)
            .header("Timestamp", timestamp)
            .header("Sign", signature)
            .body(body.to_vec())
            .send()
            .await?;
        let status = response.status().as_u16();
        let body = response.bytes().await?.to_vec();
        Ok(RawAnswer {
            status,
            body,
            signature_verified: None,
        })
    }

    /// A typed call: the envelope is opened and a code other than 10000 is
    /// [`ClientError::Api`]. Only calls `safe_to_repeat` (reads, and writes
    /// carrying an `orderId`, which the server makes idempotent) are retried
    /// after a connection failure.
    pub async fn call<Q: Serialize, T: DeserializeOwned>(
        &self,
        endpoint: &str,
        request: &Q,
        safe_to_repeat: bool,
    ) -> Result<T, ClientError> {
        let body = serde_json::to_vec(request)?;
        let attempts = if safe_to_repeat { ATTEMPTS_MAX } else { 1 };
        let mut attempt = 1;
        let answer = loop {
            match self.call_raw(endpoint, &body).await {
                Ok(answer) => break answer,
                Err(ClientError::Transport(err))
                    if attempt < attempts && (err.is_connect() || err.is_timeout()) =>
                {
                    attempt += 1;
                    tokio::time::sleep(RETRY_PAUSE).await;
                }
                Err(err) => return Err(err),
            }
        };
        let envelope: Envelope<T> = match serde_json::from_slice(&answer.body) {
            Ok(envelope) => envelope,
            Err(_) if answer.status != 200 => {
                return Err(ClientError::Status {
                    status: answer.status,
                });
            }
            Err(err) => return Err(err.into()),
        };
        if envelope.code != ccgate_api::v2::V2Code::Success.number() {
            return Err(ClientError::Api {
                code: envelope.code,
                msg: envelope.msg,
                reason: envelope.reason,
            });
        }
        envelope.data.ok_or(ClientError::Api {
            code: envelope.code,
            msg: "the answer carries no data".to_owned(),
            reason: None,
        })
    }
}
