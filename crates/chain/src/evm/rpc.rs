//! The JSON-RPC transport to a node: alloy's provider over the workspace's
//! own reqwest client. alloy's bundled reqwest transport brings a second
//! reqwest whose only TLS choices pull in aws-lc (a heavy C build) or a
//! platform verifier; the workspace's reqwest already speaks TLS with ring and
//! the webpki roots, so `https://` nodes cost no new crate.

use std::fmt;
use std::path::Path;
use std::task::{Context, Poll};
use std::time::Duration;

use alloy::rpc::json_rpc::{RequestPacket, ResponsePacket};
use alloy::transports::{TransportError, TransportErrorKind, TransportFut};

use crate::adapter::ChainError;

/// Largest answer read from a node. The largest a scan asks for are a block
/// with its transactions (a full 30M-gas block of calldata is under 4 MB as
/// hex) and one `eth_getLogs` range (providers stop at 10 000 logs, about
/// 8 MB); 32 MiB is four times that, and still bounds what a broken or
/// hostile node can make the gateway hold per call. A self-hosted node
/// answering more for a busy range needs a smaller `log_range_blocks`.
pub const RPC_ANSWER_BYTES_MAX: usize = 32 * 1024 * 1024;

/// One node's endpoint, as alloy's `RpcClient` drives it (a tower service
/// per request batch).
#[derive(Clone)]
pub(crate) struct RpcHttp {
    client: reqwest::Client,
    url: reqwest::Url,
}

impl fmt::Debug for RpcHttp {
    // By hand: the URL may carry the provider's API key.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RpcHttp")
            .field("url", &redacted_rpc_url(self.url.as_str()))
            .finish_non_exhaustive()
    }
}

impl RpcHttp {
    /// Checks the URL's scheme and loads the trusted CA file now, so a bad
    /// configuration stops start-up instead of failing every tick.
    pub(crate) fn new(
        rpc_url: &str,
        timeout_ms: u64,
        ca_file: Option<&Path>,
    ) -> Result<RpcHttp, ChainError> {
        Ok(RpcHttp {
            client: rpc_http_client(timeout_ms, ca_file)?,
            url: rpc_url_checked(rpc_url)?,
        })
    }

    async fn call(self, request: RequestPacket) -> Result<ResponsePacket, TransportError> {
        let mut response = self
            .client
            .post(self.url)
            .json(&request)
            .send()
            .await
            .map_err(request_error)?;
        let status = response.status();
        // Read the body whatever the status: a node's refusal is in it. In
        // chunks, so an oversized answer stops at the bound, not after it.
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(request_error)? {
            if body.len().saturating_add(chunk.len()) > RPC_ANSWER_BYTES_MAX {
                return Err(TransportErrorKind::custom_str(&format!(
                    "the node's answer is larger than {} MiB, the most read \
                     (for eth_getLogs: configure a smaller log_range_blocks)",
                    RPC_ANSWER_BYTES_MAX / (1024 * 1024)
                )));
            }
            body.extend_from_slice(&chunk);
        }
        if !status.is_success() {
            return Err(TransportErrorKind::http_error(
                status.as_u16(),
                String::from_utf8_lossy(&body).into_owned(),
            ));
        }
        serde_json::from_slice(&body)
            .map_err(|err| TransportError::deser_err(err, String::from_utf8_lossy(&body)))
    }
}

impl tower::Service<RequestPacket> for RpcHttp {
    type Response = ResponsePacket;
    type Error = TransportError;
    type Future = TransportFut<'static>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), TransportError>> {
        // reqwest queues requests itself.
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: RequestPacket) -> Self::Future {
        Box::pin(self.clone().call(request))
    }
}

/// `http://` or `https://`; anything else (`ws://`, a typo) would only fail
/// at the first call, far from the configuration that caused it. The errors
/// never repeat the URL: a provider's carries its API key.
pub fn rpc_url_checked(rpc_url: &str) -> Result<reqwest::Url, ChainError> {
    let url: reqwest::Url = rpc_url
        .parse()
        .map_err(|err| ChainError::Config(format!("rpc_url is not a URL: {err}")))?;
    match url.scheme() {
        "http" | "https" => Ok(url),
        other => Err(ChainError::Config(format!(
            "rpc_url: the scheme must be http or https, not {other}"
        ))),
    }
}

/// A node's URL fit to print: scheme, host and port; the rest (path, query,
/// user and password, where providers put API keys) shown as `…`.
pub fn redacted_rpc_url(rpc_url: &str) -> String {
    let Ok(url) = reqwest::Url::parse(rpc_url) else {
        return "(not a URL)".to_owned();
    };
    let host = url.host_str().unwrap_or("");
    let port = url
        .port()
        .map(|port| format!(":{port}"))
        .unwrap_or_default();
    let hidden = url.path() != "/"
        || url.query().is_some()
        || url.fragment().is_some()
        || !url.username().is_empty()
        || url.password().is_some();
    let rest = if hidden { "/…" } else { "" };
    format!("{}://{host}{port}{rest}", url.scheme())
}

/// The HTTP client every call to a node goes through: TLS (rustls with ring)
/// trusts the webpki roots, and the certificates of `ca_file` too.
pub fn rpc_http_client(
    timeout_ms: u64,
    ca_file: Option<&Path>,
) -> Result<reqwest::Client, ChainError> {
    // A redirect would send the request, API key and all, wherever the
    // answer says; a node has no reason to give one.
    let mut builder = reqwest::Client::builder()
        .timeout(Duration::from_millis(timeout_ms))
        .redirect(reqwest::redirect::Policy::none());
    if let Some(path) = ca_file {
        for certificate in ca_certificates(path)? {
            builder = builder.add_root_certificate(certificate);
        }
    }
    builder.build().map_err(|err| match ca_file {
        // A CERTIFICATE block that is not a certificate only shows here,
        // when rustls adds it to the trusted roots.
        Some(path) => ChainError::Config(format!(
            "rpc_ca_file {}: not a usable CA certificate: {}",
            path.display(),
            with_causes(&err)
        )),
        None => ChainError::Config(format!("build the JSON-RPC client: {}", with_causes(&err))),
    })
}

/// The certificates of a PEM file (one CA or a bundle).
fn ca_certificates(path: &Path) -> Result<Vec<reqwest::Certificate>, ChainError> {
    let problem =
        |what: String| ChainError::Config(format!("rpc_ca_file {}: {what}", path.display()));
    let pem = std::fs::read(path).map_err(|err| problem(format!("cannot be read: {err}")))?;
    let certificates = reqwest::Certificate::from_pem_bundle(&pem)
        .map_err(|err| problem(format!("not PEM certificates: {}", with_causes(&err))))?;
    if certificates.is_empty() {
        return Err(problem(
            "holds no PEM certificate (-----BEGIN CERTIFICATE-----)".to_owned(),
        ));
    }
    Ok(certificates)
}

/// Without the URL: a provider's carries the API key, and errors are logged.
fn request_error(err: reqwest::Error) -> TransportError {
    TransportErrorKind::custom_str(&with_causes(&err.without_url()))
}

/// reqwest's own message is only "error sending request"; the reason an
/// operator needs (a refused certificate, a refused connection) is in the
/// sources.
fn with_causes(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let words = cause.to_string();
        // Some layers repeat the words of the one below.
        if !text.ends_with(&words) {
            text.push_str(": ");
            text.push_str(&words);
        }
        source = cause.source();
    }
    text
}
