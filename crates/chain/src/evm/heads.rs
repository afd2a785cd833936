//! Following a chain's head as it moves: the node's `newHeads` subscription
//! over WebSocket where one is configured (`ws_url`), else `eth_blockNumber`
//! every poll interval. Each new head updates the adapter's view (so the
//! watcher's `height` needs no call of its own) and rings `moved`, which
//! wakes the deposit watcher at once instead of at its next tick.

use std::sync::Arc;
use std::time::Duration;

use alloy::providers::Provider;
use futures_util::{SinkExt, StreamExt};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName};
use serde_json::{Value, json};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio::sync::{Notify, watch};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

use super::{EvmChain, redacted_rpc_url};
use crate::adapter::ChainError;

/// Largest WebSocket message read: a block header is about 1 KiB; a node
/// sending more is broken or hostile.
const WS_MESSAGE_BYTES_MAX: usize = 256 * 1024;
/// After a subscription is lost, heads are polled this long before it is
/// tried again.
const RESUBSCRIBE_AFTER: Duration = Duration::from_secs(30);

/// A `ws://` or `wss://` URL, refused otherwise (at start-up, with its key).
pub fn ws_url_checked(ws_url: &str) -> Result<reqwest::Url, ChainError> {
    let url = reqwest::Url::parse(ws_url).map_err(|err| {
        ChainError::Config(format!(
            "ws_url {:?} is not a URL: {err}",
            redacted_rpc_url(ws_url)
        ))
    })?;
    match url.scheme() {
        "ws" | "wss" if url.host_str().is_some() => Ok(url),
        _ => Err(ChainError::Config(format!(
            "ws_url {:?} must be ws://host… or wss://host…",
            redacted_rpc_url(ws_url)
        ))),
    }
}

/// Where the head follower tells of a new block, and the time it sees it
/// at: the caller's business clock, as every other adapter call is given.
#[derive(Clone)]
pub struct NewHeads {
    /// Rung for each head that moved.
    pub moved: Arc<Notify>,
    pub now_unix_ms: Arc<dyn Fn() -> i64 + Send + Sync>,
}

impl std::fmt::Debug for NewHeads {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewHeads").finish_non_exhaustive()
    }
}

impl EvmChain {
    /// Follows the head until `stopped` turns `true`: by subscription when
    /// `ws_url` is set (polling meanwhile whenever it is lost), else by
    /// polling. Never returns an error: a node down is logged and retried.
    pub async fn follow_heads(self: Arc<Self>, heads: NewHeads, stopped: watch::Receiver<bool>) {
        loop {
            let poll_for = match self.config.ws_url.clone() {
                Some(ws_url) => {
                    let mut stop = stopped.clone();
                    tokio::select! {
                        lost = self.subscribe_heads(&ws_url, &heads) => {
                            tracing::warn!(chain = %self.chain.code, error = %lost.err().map_or_else(String::new, |err| err.to_string()),
                                "the node's newHeads subscription ended; polling the head until it is back");
                        }
                        () = until_stopped(&mut stop) => return,
                    }
                    Some(RESUBSCRIBE_AFTER)
                }
                None => None,
            };
            let mut stop = stopped.clone();
            tokio::select! {
                () = self.poll_heads(&heads, poll_for) => {}
                () = until_stopped(&mut stop) => return,
            }
        }
    }

    /// Asks for the head every poll interval, for `how_long` or forever.
    async fn poll_heads(&self, heads: &NewHeads, how_long: Option<Duration>) {
        let started = tokio::time::Instant::now();
        let mut interval =
            tokio::time::interval(Duration::from_millis(self.config.poll_interval_ms));
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            interval.tick().await;
            if how_long.is_some_and(|limit| started.elapsed() >= limit) {
                return;
            }
            match self.provider.get_block_number().await {
                Ok(height) => self.saw_head(height, heads).await,
                Err(err) => {
                    tracing::debug!(chain = %self.chain.code, error = %self.node_error("eth_blockNumber", err),
                        "head poll failed; the watcher asks again itself");
                }
            }
        }
    }

    /// A head the node announced: kept in the view, the gas price refreshed
    /// when stale, and the watcher woken if it moved.
    async fn saw_head(&self, height: u64, heads: &NewHeads) {
        let now_ms = (heads.now_unix_ms)();
        let before = self.view().head.map(|(known, _)| known);
        if let Err(err) = self.observe_head(height, now_ms).await {
            tracing::debug!(chain = %self.chain.code, %err, "refreshing the gas price with a new head failed");
        }
        if before != Some(height) {
            heads.moved.notify_one();
        }
    }

    /// One `newHeads` subscription until the connection ends (an error says
    /// why).
    async fn subscribe_heads(&self, ws_url: &str, heads: &NewHeads) -> Result<(), ChainError> {
        self.connect_and_subscribe(ws_url, Some(heads)).await
    }

    /// Whether the configured `ws_url` takes a `newHeads` subscription (for
    /// `ccgate doctor`): connects, subscribes, and waits for the node's yes.
    pub async fn check_head_subscription(&self) -> Result<(), ChainError> {
        let Some(ws_url) = &self.config.ws_url else {
            return Err(ChainError::Config("no ws_url is configured".to_owned()));
        };
        tokio::time::timeout(
            Duration::from_millis(self.config.rpc_timeout_ms),
            self.connect_and_subscribe(ws_url, None),
        )
        .await
        .map_err(|_| self.node_error("eth_subscribe", "no answer in time"))?
    }

    /// One connection to `ws_url` and its subscription: followed until it
    /// ends when `moved` is given, else only until the node accepts it.
    async fn connect_and_subscribe(
        &self,
        ws_url: &str,
        heads: Option<&NewHeads>,
    ) -> Result<(), ChainError> {
        let url = ws_url_checked(ws_url)?;
        let fail = |what: &str, err: &dyn std::fmt::Display| self.node_error(what, err);
        let host = url
            .host_str()
            .ok_or_else(|| ChainError::Config("ws_url has no host".to_owned()))?
            .to_owned();
        let port = url.port_or_known_default().unwrap_or(80);
        let tcp = tokio::time::timeout(
            Duration::from_millis(self.config.rpc_timeout_ms),
            TcpStream::connect((host.as_str(), port)),
        )
        .await
        .map_err(|_| fail("ws connect", &"timed out"))?
        .map_err(|err| fail("ws connect", &err))?;
        if url.scheme() == "wss" {
            let tls = self.ws_tls_connector()?;
            let name = ServerName::try_from(host.clone())
                .map_err(|err| ChainError::Config(format!("ws_url host {host:?}: {err}")))?;
            let stream = tls
                .connect(name, tcp)
                .await
                .map_err(|err| fail("wss handshake", &err))?;
            self.run_subscription(url.as_str(), stream, heads).await
        } else {
            self.run_subscription(url.as_str(), tcp, heads).await
        }
    }

    async fn run_subscription<S>(
        &self,
        url: &str,
        stream: S,
        heads: Option<&NewHeads>,
    ) -> Result<(), ChainError>
    where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        let fail = |what: &str, err: &dyn std::fmt::Display| self.node_error(what, err);
        let config = WebSocketConfig::default()
            .max_message_size(Some(WS_MESSAGE_BYTES_MAX))
            .max_frame_size(Some(WS_MESSAGE_BYTES_MAX));
        let (mut socket, _) =
            tokio_tungstenite::client_async_with_config(url, stream, Some(config))
                .await
                .map_err(|err| fail("websocket handshake", &err))?;
        let subscribe =
            json!({"jsonrpc": "2.0", "id": 1, "method": "eth_subscribe", "params": ["newHeads"]});
        socket
            .send(Message::text(subscribe.to_string()))
            .await
            .map_err(|err| fail("eth_subscribe", &err))?;
        if heads.is_some() {
            tracing::info!(chain = %self.chain.code, "following the head by the node's newHeads subscription");
        }
        while let Some(message) = socket.next().await {
            let text = match message.map_err(|err| fail("newHeads", &err))? {
                Message::Text(text) => text,
                Message::Close(_) => break,
                // Pings are answered by tungstenite; nothing else is expected.
                _ => continue,
            };
            let Ok(answer) = serde_json::from_str::<Value>(text.as_str()) else {
                continue;
            };
            if let Some(error) = answer.get("error") {
                return Err(fail("eth_subscribe", &error));
            }
            let Some(heads) = heads else {
                // Only checking: the subscription's id is the node's yes.
                if answer.get("id").is_some() && answer.get("result").is_some() {
                    return Ok(());
                }
                continue;
            };
            let number = answer
                .pointer("/params/result/number")
                .and_then(Value::as_str)
                .and_then(|hex| u64::from_str_radix(hex.trim_start_matches("0x"), 16).ok());
            if let Some(height) = number {
                self.saw_head(height, heads).await;
            }
        }
        Err(fail("newHeads", &"the node closed the connection"))
    }

    /// TLS for `wss://`: the webpki roots and the configured CA file, as for
    /// `https://` nodes, on rustls with ring.
    fn ws_tls_connector(&self) -> Result<tokio_rustls::TlsConnector, ChainError> {
        let mut roots = rustls::RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        if let Some(path) = &self.config.rpc_ca_file {
            let certificates = CertificateDer::pem_file_iter(path)
                .map_err(|err| {
                    ChainError::Config(format!("rpc_ca_file {}: {err}", path.display()))
                })?
                .collect::<Result<Vec<_>, _>>()
                .map_err(|err| {
                    ChainError::Config(format!("rpc_ca_file {}: {err}", path.display()))
                })?;
            for certificate in certificates {
                roots.add(certificate).map_err(|err| {
                    ChainError::Config(format!("rpc_ca_file {}: {err}", path.display()))
                })?;
            }
        }
        let config = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .map_err(|err| ChainError::Config(format!("TLS for ws_url: {err}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
        Ok(tokio_rustls::TlsConnector::from(Arc::new(config)))
    }
}

async fn until_stopped(stopped: &mut watch::Receiver<bool>) {
    while !*stopped.borrow_and_update() {
        if stopped.changed().await.is_err() {
            // The sender is gone: nothing will ever stop this; wait forever.
            std::future::pending::<()>().await;
        }
    }
}
