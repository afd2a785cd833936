//! Webhook delivery: claims due webhooks from the outbox, signs and POSTs them
//! concurrently, each delivery on its own — at most
//! [`DeliveryConfig::deliveries_max`] at once, of which one merchant holds
//! [`DeliveryConfig::deliveries_per_merchant_max`], or more only while slots
//! are spare (an equal part of half the free ones), so a slow receiver (or a
//! flood of one merchant's webhooks) holds a bounded share — treats HTTP 200
//! with `success` in the body as acknowledged, and otherwise retries on the
//! ladder of decisions §7, logging every attempt. In the sandbox, faults set
//! for a merchant (`crate::faults`) are applied to its deliveries; without a
//! sandbox no fault is ever looked up.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use ccgate_api::sign;
use ccgate_ledger::MerchantId;
use ccgate_store::{
    MerchantCredentials, MerchantSettingsStore, OutboxStore, OutboxWebhook, PendingClaim,
    SandboxStore, Store, WebhookAttempt, WebhookClaim, WebhookDialect, WebhookNext,
};
use secrecy::ExposeSecret;
use tokio::sync::{Notify, OnceCell, broadcast, watch};
use tokio::task::JoinSet;

use crate::EngineError;
use crate::clock::Clock;
use crate::faults::{self, DeliveryFaults};
use crate::outbound::{OutboundClient, OutboundPolicy, describe};

/// When the retries happen, counted from the first attempt (decisions §7):
/// 30 s, 1 min 30 s, 3 min 30 s, 7 min 30 s, 15 min 30 s, 31 min 30 s.
pub const RETRY_AFTER_FIRST_MS_DEFAULT: [u64; 6] =
    [30_000, 90_000, 210_000, 450_000, 930_000, 1_890_000];
pub const DELIVERY_TIMEOUT_MS_DEFAULT: u64 = 10_000;
/// Deliveries of one merchant in flight at once, across instances.
pub const DELIVERIES_PER_MERCHANT_MAX_DEFAULT: u32 = 4;
/// Deliveries in flight at once in one instance: the most one commit can
/// record and claim again (decisions §27).
pub const DELIVERIES_MAX_DEFAULT: u32 = 256;
/// Bytes of a receiver's answer read and kept for the log.
const RESPONSE_HEAD_BYTES_MAX: usize = 256;
/// How long deliveries in flight may still finish once the worker is told to
/// stop; the rest are cut and their claims handed back.
const HAND_BACK_AFTER_MS: u64 = 2_000;
/// The outcome of an acknowledged attempt.
const DELIVERED: &str = "delivered";
/// Webhooks a slow listener may fall behind by before it misses some.
const FEED_BUFFER: usize = 1_024;

/// One webhook as it was sent: the exact body and the signed headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentWebhook {
    pub app_id: MerchantId,
    pub record_id: String,
    pub order_type: String,
    pub payload: String,
    pub timestamp: String,
    pub sign: String,
}

/// Rung when a DB transaction that queued webhooks commits in this process,
/// so delivery claims them at once instead of at its next poll (the poll
/// stays: it catches what other processes queued, and retries).
#[derive(Debug, Clone, Default)]
pub struct OutboxBell {
    rung: Arc<Notify>,
}

impl OutboxBell {
    pub fn ring(&self) {
        // Stored if no one waits yet: the next wait returns at once.
        self.rung.notify_one();
    }

    async fn rung(&self) {
        self.rung.notified().await;
    }
}

/// Every webhook as it is sent, for whoever listens (`ccgate listen`, through
/// the admin API). While nobody does, publishing builds nothing.
#[derive(Debug, Clone)]
pub struct WebhookFeed {
    sender: broadcast::Sender<SentWebhook>,
}

impl Default for WebhookFeed {
    fn default() -> Self {
        WebhookFeed {
            sender: broadcast::channel(FEED_BUFFER).0,
        }
    }
}

impl WebhookFeed {
    pub fn subscribe(&self) -> broadcast::Receiver<SentWebhook> {
        self.sender.subscribe()
    }

    fn publish(&self, sent: impl FnOnce() -> SentWebhook) {
        if self.sender.receiver_count() > 0 {
            // A listener that went away in between is no one's problem.
            let _ = self.sender.send(sent());
        }
    }
}

/// What a test delivery met: the body sent, the receiver's answer (its first
/// bytes) and how long it took.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PingOutcome {
    pub payload: String,
    pub http_status: Option<u16>,
    /// HTTP 200 with `success` in the body, as for every webhook.
    pub acknowledged: bool,
    pub outcome: String,
    pub response_head: String,
    pub latency_ms: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryConfig {
    /// Retry times after the first attempt, ascending; its length is the
    /// number of retries.
    pub retry_after_first_ms: Vec<u64>,
    pub timeout_ms: u64,
    /// Webhooks of one merchant under claim at once, counted across
    /// instances, while other merchants' webhooks wait: what one merchant's
    /// slow receiver can hold up under contention. A merchant may hold more
    /// when slots are spare: an equal part, among the merchants with pending
    /// webhooks, of half the free slots at each claim (decisions §38).
    pub deliveries_per_merchant_max: u32,
    /// Deliveries this instance has in flight at once, all merchants
    /// together.
    pub deliveries_max: u32,
}

impl Default for DeliveryConfig {
    fn default() -> Self {
        DeliveryConfig {
            retry_after_first_ms: RETRY_AFTER_FIRST_MS_DEFAULT.to_vec(),
            timeout_ms: DELIVERY_TIMEOUT_MS_DEFAULT,
            deliveries_per_merchant_max: DELIVERIES_PER_MERCHANT_MAX_DEFAULT,
            deliveries_max: DELIVERIES_MAX_DEFAULT,
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
    settings: Arc<dyn MerchantSettingsStore>,
    /// Every POST goes through it: only to addresses its policy allows.
    client: OutboundClient,
    config: Arc<DeliveryConfig>,
    /// Becomes `true` when the process is stopping.
    stopping: Option<watch::Receiver<bool>>,
    /// Where merchants' injected faults are kept; only in the sandbox.
    faults: Option<Arc<dyn SandboxStore>>,
    /// Where each webhook is published as it is sent.
    feed: Option<WebhookFeed>,
    /// What wakes `run` between its polls.
    bell: OutboxBell,
}

/// A finished attempt, to be recorded: outbox id, the attempt, what next.
type Settled = (i64, WebhookAttempt, WebhookNext);

/// A delivery's attempt as the receiver (or an injected fault) settled it.
struct Answer {
    http_status: Option<u16>,
    outcome: String,
    response_head: String,
    acknowledged: bool,
}

impl Answer {
    fn failed(outcome: String) -> Answer {
        Answer {
            http_status: None,
            outcome,
            response_head: String::new(),
            acknowledged: false,
        }
    }
}

/// Claimed webhooks delivered one after another, with the faults each gets.
type Run = Vec<(OutboxWebhook, Option<DeliveryFaults>)>;

/// How a merchant's webhooks are signed: read once per claim batch and
/// merchant, by the first of its deliveries, and shared by the others. `Err`
/// is the attempt's outcome, as when each delivery read its own. (Where a
/// webhook goes comes with its claim: [`OutboxWebhook::url`].)
#[derive(Debug, Default)]
struct Target {
    credentials: OnceCell<Result<Arc<MerchantCredentials>, String>>,
}

/// The targets of one claim batch, by merchant.
type Targets = HashMap<MerchantId, Arc<Target>>;

/// The deliveries in flight, the claims they hold, and the attempts of
/// those that finished, waiting for the loop's next commit (decisions §27).
#[derive(Default)]
struct InFlight {
    deliveries: JoinSet<Vec<Settled>>,
    /// Each run's webhooks, with when they were claimed, until its task ends.
    runs: HashMap<tokio::task::Id, (i64, Vec<i64>)>,
    /// Webhooks in those runs: the slots taken.
    claimed: usize,
    /// Attempts made and not recorded yet.
    settled: Vec<Settled>,
}

impl InFlight {
    fn start(
        &mut self,
        claimed_at_ms: i64,
        ids: Vec<i64>,
        run: impl Future<Output = Vec<Settled>> + Send + 'static,
    ) {
        self.claimed += ids.len();
        let task = self.deliveries.spawn(run);
        self.runs.insert(task.id(), (claimed_at_ms, ids));
    }

    /// `done`, and every other run that finished meanwhile: one commit
    /// records them all.
    fn finish(&mut self, done: Result<(tokio::task::Id, Vec<Settled>), tokio::task::JoinError>) {
        self.finished(done);
        while let Some(done) = self.deliveries.try_join_next_with_id() {
            self.finished(done);
        }
    }

    /// A run's task is over: its attempts wait for the next commit and its
    /// slots are free (a claim whose attempt is never recorded holds its
    /// webhook until its lease runs out).
    fn finished(&mut self, done: Result<(tokio::task::Id, Vec<Settled>), tokio::task::JoinError>) {
        let task = match done {
            Ok((task, settled)) => {
                self.settled.extend(settled);
                task
            }
            Err(err) => {
                tracing::error!(error = %err, "webhook delivery task failed");
                err.id()
            }
        };
        if let Some((_, ids)) = self.runs.remove(&task) {
            self.claimed = self.claimed.saturating_sub(ids.len());
        }
    }
}

/// Whether the stop signal is on, once it changes; never without one.
async fn stopped(stopping: &mut Option<watch::Receiver<bool>>) -> bool {
    let Some(receiver) = stopping else {
        return std::future::pending().await;
    };
    if receiver.changed().await.is_err() {
        // The signal's sender is gone: no stop will come.
        return std::future::pending().await;
    }
    *receiver.borrow()
}

impl WebhookSender {
    /// A sender with simulated money's [`OutboundPolicy`]; `serve` sets its
    /// own with [`WebhookSender::reaching_only`].
    pub fn new(
        outbox: Arc<dyn OutboxStore>,
        store: Arc<dyn Store>,
        settings: Arc<dyn MerchantSettingsStore>,
        config: DeliveryConfig,
    ) -> Result<WebhookSender, EngineError> {
        let client = OutboundClient::new(
            Duration::from_millis(config.timeout_ms),
            OutboundPolicy::simulated(),
        )
        .map_err(EngineError::Delivery)?;
        Ok(WebhookSender {
            outbox,
            store,
            settings,
            client,
            config: Arc::new(config),
            stopping: None,
            faults: None,
            feed: None,
            bell: OutboxBell::default(),
        })
    }

    /// Webhooks reach only the addresses `policy` allows; a refused one is a
    /// failed attempt (`refused: …`) and is retried on the ladder.
    pub fn reaching_only(mut self, policy: OutboundPolicy) -> WebhookSender {
        self.client = self.client.with_policy(policy);
        self
    }

    /// Claims as soon as `bell` rings, besides every poll.
    pub fn woken_by(mut self, bell: OutboxBell) -> WebhookSender {
        self.bell = bell;
        self
    }

    /// Publishes every webhook sent (body and signed headers) to `feed`.
    pub fn publish_to(mut self, feed: WebhookFeed) -> WebhookSender {
        self.feed = Some(feed);
        self
    }

    /// Sandbox only: deliveries of a merchant with faults set in `store`
    /// (`ccgate sandbox webhooks fault`) get them.
    pub fn inject_faults_from(mut self, store: Arc<dyn SandboxStore>) -> WebhookSender {
        self.faults = Some(store);
        self
    }

    /// How long a claim lasts: beyond an attempt, so a crash mid-delivery
    /// only delays it; with faults, beyond a held delivery sent twice.
    fn lease_ms(&self) -> i64 {
        let attempt_ms = self.config.timeout_ms.saturating_mul(2);
        let lease_ms = if self.faults.is_some() {
            let delay_max_ms = u64::try_from(faults::DELAY_MAX.as_millis()).unwrap_or(u64::MAX);
            attempt_ms.saturating_mul(2).saturating_add(delay_max_ms)
        } else {
            attempt_ms
        };
        i64::try_from(lease_ms).unwrap_or(i64::MAX)
    }

    /// Once `stopping` turns `true`, deliveries in flight get
    /// [`HAND_BACK_AFTER_MS`] to finish; the claims of those that do not are
    /// handed back, so another instance (or the next start) sends them at
    /// once instead of after the lease runs out.
    pub fn hand_back_when(mut self, stopping: watch::Receiver<bool>) -> WebhookSender {
        self.stopping = Some(stopping);
        self
    }

    /// A test delivery to the merchant's webhook URL now (`ccgate webhooks
    /// ping`), in the merchant's webhook dialect: v1's body
    /// `{"type":"ping","msg":{"app_id":…,"sent_at":…}}`, or v2's URL check
    /// `{"type":"ActivateWebhookURL","msg":{}}`; signed like every webhook of
    /// that dialect, never stored in the outbox nor retried.
    pub async fn ping(&self, app_id: &MerchantId, now_unix_secs: i64) -> PingOutcome {
        // A merchant whose settings cannot be read is pinged in v1, the
        // default, and the outcome says why nothing was sent.
        let (dialect, url) = match self.settings.merchant_settings(app_id).await {
            Ok(Some(settings)) => (settings.webhook_dialect, Ok(settings.webhook_url)),
            Ok(None) => (WebhookDialect::V1, Ok(None)),
            Err(e) => (
                WebhookDialect::V1,
                Err(format!("load the merchant's settings: {e}")),
            ),
        };
        let payload = crate::notices::ping(dialect, app_id, now_unix_secs);
        let started = Instant::now();
        let answer = match url {
            Ok(url) => {
                let webhook = OutboxWebhook {
                    id: 0,
                    app_id: app_id.clone(),
                    record_id: String::new(),
                    order_type: "ping".to_owned(),
                    dialect,
                    url,
                    payload: payload.clone(),
                    attempts: 0,
                };
                self.send(&webhook, false, &Target::default()).await
            }
            Err(reason) => Answer::failed(reason),
        };
        PingOutcome {
            payload,
            http_status: answer.http_status,
            acknowledged: answer.acknowledged,
            outcome: answer.outcome,
            response_head: answer.response_head,
            latency_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        }
    }

    /// Delivers every webhook due at `now_unix_ms` and returns once each has
    /// been attempted (the sandbox settles a moment with it); returns how
    /// many were claimed. Slots are refilled as deliveries finish, fairly
    /// (see [`WebhookSender::run`]), but the moment stays `now_unix_ms`.
    pub async fn tick(&self, now_unix_ms: i64) -> Result<usize, EngineError> {
        let mut flight = InFlight::default();
        let cut_off = self.stopped_for(Duration::from_millis(HAND_BACK_AFTER_MS));
        tokio::pin!(cut_off);
        let mut claimed = 0;
        // A commit that fails ends the claiming; the deliveries under way
        // still finish and are recorded before the error is returned.
        let mut failed = None;
        loop {
            let claiming = failed.is_none();
            match self.settle(&mut flight, now_unix_ms, claiming).await {
                Ok(count) => claimed += count,
                Err(err) if claiming => failed = Some(err),
                Err(err) => tracing::error!(error = %err, "record webhook attempts"),
            }
            tokio::select! {
                done = flight.deliveries.join_next_with_id() => match done {
                    None => return failed.map_or(Ok(claimed), Err),
                    Some(done) => flight.finish(done),
                },
                () = &mut cut_off => {
                    self.hand_back(&mut flight).await?;
                    return Ok(claimed);
                }
            }
        }
    }

    /// Delivers webhooks as they fall due on `clock`'s time, until the stop
    /// signal of [`WebhookSender::hand_back_when`] (without one, for ever):
    /// claims for the free slots every `poll`, when the bell rings and
    /// whenever deliveries finish — then in the same DB transaction that
    /// records their attempts (decisions §27), so each delivery runs on its
    /// own and its slot is refilled by the commit that records it. The claim
    /// takes at most `deliveries_per_merchant_max` of a merchant's webhooks,
    /// or its equal part of half the free slots if that is more, counting
    /// those still in flight, so a merchant at its share waits for its own
    /// slots while the others' webhooks go out.
    pub async fn run(self, clock: Arc<dyn Clock>, poll: Duration) {
        let mut flight = InFlight::default();
        let mut interval = tokio::time::interval(poll);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut stopping = self.stopping.clone();
        let mut stop_requested = false;
        let cut_off = self.stopped_for(Duration::from_millis(HAND_BACK_AFTER_MS));
        tokio::pin!(cut_off);
        loop {
            let claim_now = tokio::select! {
                _ = interval.tick(), if !stop_requested => true,
                () = self.bell.rung(), if !stop_requested => true,
                Some(done) = flight.deliveries.join_next_with_id() => {
                    flight.finish(done);
                    !stop_requested
                }
                stop = stopped(&mut stopping), if !stop_requested => {
                    stop_requested = stop;
                    false
                }
                () = &mut cut_off => {
                    if let Err(err) = self.hand_back(&mut flight).await {
                        tracing::error!(error = %err, "hand webhook claims back");
                    }
                    return;
                }
            };
            if (claim_now || !flight.settled.is_empty())
                && let Err(err) = self
                    .settle(&mut flight, clock.now_unix_ms(), claim_now)
                    .await
            {
                // Still claimed in the database: sent again once the leases
                // run out; what was due stays due for the next poll.
                tracing::error!(error = %err, "record webhook attempts and claim due webhooks");
            }
            if stop_requested && flight.claimed == 0 {
                return;
            }
        }
    }

    /// One commit: records the attempts of the deliveries that finished and,
    /// if `claiming`, claims what is due at `now_unix_ms` for the free slots
    /// and starts delivering it; returns how many webhooks were claimed.
    async fn settle(
        &self,
        flight: &mut InFlight,
        now_unix_ms: i64,
        claiming: bool,
    ) -> Result<usize, EngineError> {
        let in_flight = u32::try_from(flight.claimed).unwrap_or(u32::MAX);
        let free = self.config.deliveries_max.saturating_sub(in_flight);
        let claim = WebhookClaim {
            now_ms: now_unix_ms,
            lease_ms: self.lease_ms(),
            limit: if claiming { free } else { 0 },
            per_merchant_max: self.config.deliveries_per_merchant_max,
            // Half of what is free is kept back at every claim, so however
            // many merchants' receivers hang, each claim leaves room for the
            // merchants whose webhooks come next (decisions §38).
            spare_slots: free / 2,
        };
        let settled = std::mem::take(&mut flight.settled);
        let PendingClaim {
            webhooks: due,
            commit,
        } = self
            .outbox
            .record_and_claim_pending(&settled, &claim)
            .await?;
        let count = due.len();
        if self.faults.is_some() {
            // The sandbox draws each delivery's faults from the store, which
            // on SQLite waits for the write lock this transaction holds.
            commit.commit().await?;
            self.start_runs(flight, due, now_unix_ms).await?;
        } else {
            // On their way while the commit syncs (decisions §50): a claim
            // that then fails to commit is lost, and its webhooks are sent
            // again (at-least-once, as after a crash); what they answer is
            // recorded by the next commit all the same.
            self.start_runs(flight, due, now_unix_ms).await?;
            commit.commit().await?;
        }
        Ok(count)
    }

    /// Starts delivering `due`, claimed at `now_unix_ms`, in runs (see
    /// [`WebhookSender::plan_runs`]), each holding its webhooks' slots.
    async fn start_runs(
        &self,
        flight: &mut InFlight,
        due: Vec<OutboxWebhook>,
        now_unix_ms: i64,
    ) -> Result<(), EngineError> {
        let mut targets = Targets::new();
        for webhook in &due {
            targets.entry(webhook.app_id.clone()).or_default();
        }
        for run in self.plan_runs(due).await? {
            let ids = run.iter().map(|(webhook, _)| webhook.id).collect();
            let sender = self.clone();
            let run: Vec<_> = run
                .into_iter()
                .map(|(webhook, faults)| {
                    let target = targets.get(&webhook.app_id).cloned().unwrap_or_default();
                    (webhook, faults, target)
                })
                .collect();
            flight.start(now_unix_ms, ids, async move {
                let mut settled = Vec::with_capacity(run.len());
                for (webhook, faults, target) in run {
                    settled.push(sender.deliver(webhook, now_unix_ms, faults, &target).await);
                }
                settled
            });
        }
        Ok(())
    }

    /// Cuts the deliveries in flight and hands their claims back, due from
    /// when they were claimed: at once for whoever looks next. Deliveries
    /// that finished have their attempts recorded instead.
    async fn hand_back(&self, flight: &mut InFlight) -> Result<(), EngineError> {
        while let Some(done) = flight.deliveries.try_join_next_with_id() {
            flight.finished(done);
        }
        flight.deliveries.abort_all();
        flight.claimed = 0;
        let settled = std::mem::take(&mut flight.settled);
        if let Err(err) = self.outbox.record_webhook_attempts(&settled).await {
            // Their claims hold until the lease runs out: sent again then.
            tracing::error!(error = %err, "record webhook attempts");
        }
        let mut by_claim: BTreeMap<i64, Vec<i64>> = BTreeMap::new();
        for (_, (claimed_at_ms, ids)) in flight.runs.drain() {
            by_claim.entry(claimed_at_ms).or_default().extend(ids);
        }
        let mut handed_back = 0;
        for (claimed_at_ms, ids) in by_claim {
            let claimed_until_ms = claimed_at_ms.saturating_add(self.lease_ms());
            handed_back += self
                .outbox
                .release_webhooks(&ids, claimed_until_ms, claimed_at_ms)
                .await?;
        }
        if handed_back > 0 {
            tracing::info!(
                handed_back,
                "stopping: unfinished webhook deliveries handed back"
            );
        }
        Ok(())
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

    /// The claimed webhooks as runs, delivered concurrently, each in its own
    /// order: one webhook a run, except that a merchant whose faults say
    /// `reorder` gets its share of the batch as one run, newest first. Faults
    /// are taken here in claim order, so the seeded draws follow the outbox.
    async fn plan_runs(&self, due: Vec<OutboxWebhook>) -> Result<Vec<Run>, EngineError> {
        let Some(store) = &self.faults else {
            return Ok(due
                .into_iter()
                .map(|webhook| vec![(webhook, None)])
                .collect());
        };
        let mut runs = Vec::new();
        let mut reordered: BTreeMap<String, Run> = BTreeMap::new();
        for webhook in due {
            let faults = store
                .take_webhook_fault(&webhook.app_id)
                .await?
                .map(|taken| DeliveryFaults::draw(&taken));
            if faults.is_some_and(|faults| faults.reordered) {
                reordered
                    .entry(webhook.app_id.as_str().to_owned())
                    .or_default()
                    .push((webhook, faults));
            } else {
                runs.push(vec![(webhook, faults)]);
            }
        }
        for mut batch in reordered.into_values() {
            batch.sort_by_key(|(webhook, _)| std::cmp::Reverse(webhook.id));
            runs.push(batch);
        }
        Ok(runs)
    }

    async fn deliver(
        &self,
        webhook: OutboxWebhook,
        now_unix_ms: i64,
        faults: Option<DeliveryFaults>,
        target: &Target,
    ) -> Settled {
        let attempt_number = webhook.attempts.saturating_add(1);
        let started = Instant::now();
        let Answer {
            http_status,
            outcome,
            response_head,
            acknowledged,
        } = match faults {
            None => self.send(&webhook, false, target).await,
            Some(faults) => self.send_with_faults(&webhook, faults, target).await,
        };
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
        (
            webhook.id,
            WebhookAttempt {
                attempt: attempt_number,
                at_ms: now_unix_ms,
                http_status,
                latency_ms,
                outcome,
                response_head,
            },
            next,
        )
    }

    /// The delivery with its injected faults applied; the outcome names
    /// every one that fired (`injected: dropped (not sent)`…).
    async fn send_with_faults(
        &self,
        webhook: &OutboxWebhook,
        faults: DeliveryFaults,
        target: &Target,
    ) -> Answer {
        let labels = faults.labels().join(", ");
        if faults.dropped {
            return Answer::failed(format!("injected: {labels}"));
        }
        tokio::time::sleep(faults.delay).await;
        let mut answer = self.send(webhook, faults.bad_signature, target).await;
        if faults.duplicated {
            // The receiver sees the same webhook twice; the second answer counts.
            answer = self.send(webhook, faults.bad_signature, target).await;
        }
        if labels.is_empty() {
            return answer;
        }
        let (outcome, acknowledged) = if faults.status.is_some() {
            // Whatever the receiver said, the attempt fails and the ladder runs.
            (
                format!(
                    "injected: {labels}; the receiver answered: {}",
                    answer.outcome
                ),
                false,
            )
        } else {
            (
                format!("injected: {labels}; {}", answer.outcome),
                answer.acknowledged,
            )
        };
        Answer {
            outcome,
            acknowledged,
            ..answer
        }
    }

    /// One POST, its answer read; `corrupt_signature` signs another body.
    async fn send(
        &self,
        webhook: &OutboxWebhook,
        corrupt_signature: bool,
        target: &Target,
    ) -> Answer {
        match self.post(webhook, corrupt_signature, target).await {
            Ok((http_status, outcome, response_head)) => Answer {
                http_status,
                acknowledged: outcome == DELIVERED,
                outcome,
                response_head,
            },
            Err(reason) => Answer::failed(reason),
        }
    }

    /// One POST; `Err` is why it could not be made or answered. Published to
    /// the feed once signed, also when the merchant has no webhook URL, so a
    /// listener sees every webhook.
    async fn post(
        &self,
        webhook: &OutboxWebhook,
        corrupt_signature: bool,
        target: &Target,
    ) -> Result<(Option<u16>, String, String), String> {
        let credentials = target
            .credentials
            .get_or_init(|| async {
                match self
                    .store
                    .merchant_credentials(webhook.app_id.as_str())
                    .await
                {
                    Ok(Some(credentials)) => Ok(credentials),
                    Ok(None) => Err("the merchant no longer exists".to_owned()),
                    Err(e) => Err(format!("load the merchant's credentials: {e}")),
                }
            })
            .await
            .as_ref()
            .map_err(Clone::clone)?;
        // Receivers check the timestamp against their real clock.
        let timestamp = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0)
            .to_string();
        let signed = if corrupt_signature {
            // A well-formed signature of another body: only a real check catches it.
            let mut tampered = webhook.payload.clone().into_bytes();
            tampered.push(b' ');
            tampered
        } else {
            webhook.payload.clone().into_bytes()
        };
        let sign = match webhook.dialect {
            WebhookDialect::V1 => sign::sign,
            WebhookDialect::V2 => ccgate_api::v2::sign::sign,
        };
        let signature = sign(
            credentials.app_id.as_str(),
            credentials.app_secret.expose_secret(),
            &timestamp,
            &signed,
        );
        if let Some(feed) = &self.feed {
            feed.publish(|| SentWebhook {
                app_id: credentials.app_id.clone(),
                record_id: webhook.record_id.clone(),
                order_type: webhook.order_type.clone(),
                payload: webhook.payload.clone(),
                timestamp: timestamp.clone(),
                sign: signature.clone(),
            });
        }
        let url = webhook
            .url
            .as_deref()
            .ok_or_else(|| "no webhook URL is configured".to_owned())?;
        let mut response = self
            .client
            .post(url, |request| {
                request
                    .header("Content-Type", "application/json")
                    .header("Appid", credentials.app_id.as_str())
                    .header("Timestamp", timestamp)
                    .header("Sign", signature)
                    .body(webhook.payload.clone())
            })
            .await?;
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
            (_, true) => DELIVERED.to_owned(),
            (200, false) => "HTTP 200 without \"success\" in the body".to_owned(),
            (other, false) => format!("HTTP {other}"),
        };
        Ok((Some(status), outcome, head))
    }
}

fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(&bytes[..bytes.len().min(RESPONSE_HEAD_BYTES_MAX)]).into_owned()
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
