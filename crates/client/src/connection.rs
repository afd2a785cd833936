//! What both dialects' clients share: the merchant's credentials, the base
//! URL and the HTTP client; a signed POST of exact bytes; retries of calls
//! safe to repeat; and the envelope opened by its code before its data.

use std::future::Future;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::{ATTEMPTS_MAX, ClientError, Envelope, RETRY_PAUSE, RawAnswer, unix_now};

/// A signature over `Appid`, the secret, `Timestamp` and the body: v1's
/// SHA-256 or v2's HMAC.
pub(crate) type Signer = fn(&str, &str, &str, &[u8]) -> String;

#[derive(Debug, Clone)]
pub(crate) struct Connection {
    base_url: String,
    pub(crate) app_id: String,
    pub(crate) app_secret: SecretString,
    http: reqwest::Client,
}

impl Connection {
    pub(crate) fn new(
        base_url: String,
        app_id: String,
        app_secret: String,
        timeout: Duration,
    ) -> Result<Connection, ClientError> {
        if !(base_url.starts_with("http://") || base_url.starts_with("https://")) {
            return Err(ClientError::Settings(
                "the base URL must start with http:// or https://".to_owned(),
            ));
        }
        Ok(Connection {
            base_url: base_url.trim_end_matches('/').to_owned(),
            app_id,
            app_secret: SecretString::from(app_secret),
            http: reqwest::Client::builder().timeout(timeout).build()?,
        })
    }

    /// POSTs `body` as is to `{base}{prefix}{endpoint}` with `Appid`,
    /// `Timestamp` and `Sign` over those exact bytes.
    pub(crate) async fn post(
        &self,
        prefix: &str,
        endpoint: &str,
        body: &[u8],
        sign: Signer,
    ) -> Result<reqwest::Response, ClientError> {
        let timestamp = unix_now().to_string();
        let signature = sign(
            &self.app_id,
            self.app_secret.expose_secret(),
            &timestamp,
            body,
        );
        let url = format!(
            "{}{prefix}{}",
            self.base_url,
            endpoint.trim_start_matches('/')
        );
        Ok(self
            .http
            .post(url)
            .header("Content-Type", "application/json")
            .header("Appid", &self.app_id)
            .header("Timestamp", timestamp)
            .header("Sign", signature)
            .body(body.to_vec())
            .send()
            .await?)
    }
}

/// `send` once, or, when `safe_to_repeat` (a read, or a write carrying an
/// order id the server makes idempotent), up to [`ATTEMPTS_MAX`] times while
/// the connection fails or times out.
pub(crate) async fn with_retries<F, Fut>(
    safe_to_repeat: bool,
    mut send: F,
) -> Result<RawAnswer, ClientError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<RawAnswer, ClientError>>,
{
    let attempts = if safe_to_repeat { ATTEMPTS_MAX } else { 1 };
    let mut attempt = 1;
    loop {
        match send().await {
            Err(ClientError::Transport(err))
                if attempt < attempts && (err.is_connect() || err.is_timeout()) =>
            {
                attempt += 1;
                tokio::time::sleep(RETRY_PAUSE).await;
            }
            outcome => return outcome,
        }
    }
}

/// The answer's envelope with its code checked against `success`: a refusal
/// is [`ClientError::Api`] whatever its `data` holds (v2 sends `{}`, which
/// is no answer type), and only then is `data` read as `T`.
pub(crate) fn opened<T: DeserializeOwned>(
    answer: &RawAnswer,
    success: u32,
    check_signature: impl FnOnce() -> Result<(), ClientError>,
) -> Result<T, ClientError> {
    let envelope: Envelope<Value> = match serde_json::from_slice(&answer.body) {
        Ok(envelope) => envelope,
        Err(_) if answer.status != 200 => {
            return Err(ClientError::Status {
                status: answer.status,
            });
        }
        Err(err) => return Err(err.into()),
    };
    if envelope.code != success {
        return Err(ClientError::Api {
            code: envelope.code,
            msg: envelope.msg,
            reason: envelope.reason,
        });
    }
    check_signature()?;
    let data = envelope.data.ok_or(ClientError::Api {
        code: envelope.code,
        msg: "the answer carries no data".to_owned(),
        reason: None,
    })?;
    Ok(serde_json::from_value(data)?)
}
