//! Webhook delivery: claims due webhooks from the outbox, signs and POSTs them
//! concurrently (a slow receiver delays only its own webhooks), treats HTTP 200
//! with `success` in the body as acknowledged, and otherwise retries on the
//! ladder of decisions §7, logging every attempt.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use ccgate_api::sign;
use ccgate_store::{DepositStore, OutboxStore, OutboxWebhook, Store, WebhookAttempt, WebhookNext};
use secrecy::ExposeSecret;
use tokio::sync::watch;

use crate::EngineError;

/// When the retries happen, counted from the first attempt (decisions §7):
/// 30 s, 1 min 30 s, 3 min 30 s, 7 min 30 s, 15 min 30 s, 31 min 30 s.
pub const RETRY_AFTER_FIRST_MS_DEFAULT: [u64; 6] =
    [30_000, 90_000, 210_000, 450_000, 930_000, 1_890_000];
pub const DELIVERY_TIMEOUT_MS_DEFAULT: u64 = 10_000;
/// Webhooks claimed per tick.
const BATCH_MAX: u32 = 64;
/// Bytes of a receiver's answer read and kept for the log.
const RESPONSE_HEAD_BYTES_MAX: usize = 256;
/// How long deliveries in flight may still finish once the worker is told to
/// stop; the rest are cut and their claims handed back.
const HAND_BACK_AFTER_MS: u64 = 2_000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryConfig {
    /// Retry times after the first attempt, ascending; its length is the
    /// number of retries.
    pub retry_after_first_ms: Vec<u64>,
    pub timeout_ms: u64,
}

impl Default for DeliveryConfig {
    fn default() -> Self {
        DeliveryConfig {
            retry_after_first_ms: RETRY_AFTER_FIRST_MS_DEFAULT.to_vec(),
            timeout_ms: DELIVERY_TIMEOUT_MS_DEFAULT,
        }
    }
}

impl DeliveryConfig {
    /// The wait before retry number `attempts` (1-based: after that many
    /// failed attempts), or `None` when the ladder is exhausted.
    fn delay_after(&self, attempts: u32) -> Option<u64> {
        let ladder = &self.retry_after_first_ms;
        let index = usize::try_from(attempts).ok()?.checked_sub(1)?;
        let at = *ladder.get(index)?;
        let previous = index
            .checked_sub(1)
            .and_then(|i| ladder.get(i))
            .copied()
            .unwrap_or(0);
        Some(at.saturating_sub(previous))
    }
}

#[derive(Debug, Clone)]
pub struct WebhookSender {
    outbox: Arc<dyn OutboxStore>,
    store: Arc<dyn Store>,
    deposits: Arc<dyn DepositStore>,
    client: reqwest::Client,
    config: Arc<DeliveryConfig>,
    /// Becomes `true` when the process is stopping.
    stopping: Option<watch::Receiver<bool>>,
}

impl WebhookSender {
    pub fn new(
        outbox: Arc<dyn OutboxStore>,
        store: Arc<dyn Store>,
        deposits: Arc<dyn DepositStore>,
        config: DeliveryConfig,
    ) -> Result<WebhookSender, EngineError> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_millis(config.timeout_ms))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| EngineError::Delivery(e.to_string()))?;
        Ok(WebhookSender {
            outbox,
            store,
            deposits,
            client,
            config: Arc::new(config),
            stopping: None,
        })
    }

    /// Once `stopping` turns `true`, deliveries in flight get
    /// [`HAND_BACK_AFTER_MS`] to finish; the claims of those that do not are
    /// handed back, so another instance (or the next start) sends them at
    /// once instead of after the lease runs out.
    pub fn hand_back_when(mut self, stopping: watch::Receiver<bool>) -> WebhookSender {
        self.stopping = Some(stopping);
        self
    }

    /// Delivers every webhook due at `now_unix_ms`; returns how many attempts
    /// were made.
    pub async fn tick(&self, now_unix_ms: i64) -> Result<usize, EngineError> {
        // The claim outlasts an attempt, so a crash mid-delivery only delays it.
        let lease_ms = i64::try_from(self.config.timeout_ms.saturating_mul(2)).unwrap_or(i64::MAX);
        let claimed_until_ms = now_unix_ms.saturating_add(lease_ms);
        let due = self
            .outbox
            .claim_due_webhooks(now_unix_ms, lease_ms, BATCH_MAX)
            .await?;
        let count = due.len();
        let mut in_flight: HashSet<i64> = due.iter().map(|webhook| webhook.id).collect();
        let mut deliveries = tokio::task::JoinSet::new();
        for webhook in due {
            let sender = self.clone();
            deliveries.spawn(async move {
                let id = webhook.id;
                (id, sender.deliver(webhook, now_unix_ms).await)
            });
        }
        let cut_off = self.stopped_for(Duration::from_millis(HAND_BACK_AFTER_MS));
        tokio::pin!(cut_off);
        loop {
            tokio::select! {
                done = deliveries.join_next() => match done {
                    None => break,
                    Some(Ok((id, recorded))) => {
                        in_flight.remove(&id);
                        if let Err(err) = recorded {
                            tracing::error!(error = %err, "record a webhook attempt");
                        }
                    }
                    Some(Err(err)) => tracing::error!(error = %err, "webhook delivery task failed"),
                },
                () = &mut cut_off => {
                    deliveries.abort_all();
                    // Due from the tick's start: at once for whoever looks next.
                    let ids: Vec<i64> = in_flight.into_iter().collect();
                    let handed_back = self
                        .outbox
                        .release_webhooks(&ids, claimed_until_ms, now_unix_ms)
                        .await?;
                    tracing::info!(handed_back, "stopping: unfinished webhook deliveries handed back");
                    break;
                }
            }
        }
        Ok(count)
    }

    /// Resolves `grace` after the stop signal; never without one.
    async fn stopped_for(&self, grace: Duration) {
        let Some(mut stopping) = self.stopping.clone() else {
            return std::future::pending().await;
        };
        if stopping.wait_for(|stop| *stop).await.is_err() {
            // The signal's sender is gone: no stop will come.
            return std::future::pending().await;
        }
        tokio::time::sleep(grace).await;
    }

    async fn deliver(&self, webhook: OutboxWebhook, now_unix_ms: i64) -> Result<(), EngineError> {
        let attempt_number = webhook.attempts.saturating_add(1);
        let started = Instant::now();
        let (http_status, outcome, response_head) = match self.post(&webhook).await {
            Ok(answer) => answer,
            Err(reason) => (None, reason, String::new()),
        };
        let acknowledged = outcome == "delivered";
        let next = if acknowledged {
            WebhookNext::Delivered
        } else {
            match self.config.delay_after(attempt_number) {
                Some(delay) => WebhookNext::RetryAt {
                    at_ms: now_unix_ms.saturating_add(i64::try_from(delay).unwrap_or(i64::MAX)),
                },
                None => WebhookNext::GiveUp,
            }
        };
        let latency_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        tracing::info!(
            record_id = %webhook.record_id, merchant = %webhook.app_id, attempt = attempt_number,
            status = ?http_status, latency_ms, outcome = %outcome, next = ?next, "webhook attempt"
        );
        self.outbox
            .record_webhook_attempt(
                webhook.id,
                &WebhookAttempt {
                    attempt: attempt_number,
                    at_ms: now_unix_ms,
                    http_status,
                    latency_ms,
                    outcome,
                    response_head,
                },
                next,
            )
            .await?;
        Ok(())
    }

    /// One POST; `Err` is why it could not be made or answered.
    async fn post(&self, webhook: &OutboxWebhook) -> Result<(Option<u16>, String, String), String> {
        let url = match &webhook.url {
            Some(url) => url.clone(),
            None => self
                .deposits
                .merchant_settings(&webhook.app_id)
                .await
                .map_err(|e| format!("load the merchant's settings: {e}"))?
                .and_then(|settings| settings.webhook_url)
                .ok_or_else(|| "no webhook URL is configured".to_owned())?,
        };
        let credentials = self
            .store
            .merchant_credentials(webhook.app_id.as_str())
            .await
            .map_err(|e| format!("load the merchant's credentials: {e}"))?
            .ok_or_else(|| "the merchant no longer exists".to_owned())?;
        // Receivers check the timestamp against their real clock.
        let timestamp = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0)
            .to_string();
        let signature = sign::sign(
            credentials.app_id.as_str(),
            credentials.app_secret.expose_secret(),
            &timestamp,
            webhook.payload.as_bytes(),
        );
        let mut response = self
            .client
            .post(&url)
            .header("Content-Type", "application/json; charset=utf-8")
            .header("Appid", credentials.app_id.as_str())
            .header("Timestamp", timestamp)
            .header("Sign", signature)
            .body(webhook.payload.clone())
            .send()
            .await
            .map_err(|e| describe(&e))?;
        let status = response.status().as_u16();
        let mut head = Vec::new();
        while head.len() < RESPONSE_HEAD_BYTES_MAX {
            match response.chunk().await {
                Ok(Some(chunk)) => head.extend_from_slice(&chunk),
                Ok(None) => break,
                Err(e) => return Ok((Some(status), describe(&e), lossy(&head))),
            }
        }
        let head = lossy(&head);
        let acknowledged = status == 200 && head.to_ascii_lowercase().contains("success");
        let outcome = match (status, acknowledged) {
            (_, true) => "delivered".to_owned(),
            (200, false) => "HTTP 200 without \"success\" in the body".to_owned(),
            (other, false) => format!("HTTP {other}"),
        };
        Ok((Some(status), outcome, head))
    }
}

fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(&bytes[..bytes.len().min(RESPONSE_HEAD_BYTES_MAX)]).into_owned()
}

fn describe(error: &reqwest::Error) -> String {
    if error.is_timeout() {
        "timed out".to_owned()
    } else if error.is_connect() {
        "could not connect".to_owned()
    } else {
        format!("transport error: {error}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ladder_delays_follow_the_decisions() {
        let config = DeliveryConfig::default();
        let delays: Vec<Option<u64>> = (1..=7).map(|n| config.delay_after(n)).collect();
        assert_eq!(
            delays,
            [
                Some(30_000),
                Some(60_000),
                Some(120_000),
                Some(240_000),
                Some(480_000),
                Some(960_000),
                None
            ]
        );
        assert_eq!(config.delay_after(0), None);
    }
}
