//! The webhook outbox: webhooks waiting for delivery, claimed fairly per
//! merchant, their delivery log, and `webhook/resend`.

use async_trait::async_trait;
use ccgate_ledger::MerchantId;
use sqlx::{Database, Encode, Executor, IntoArguments, Type};

use crate::StoreError;
use crate::backend::{Backend, RowsAffected, SqlStore, placeholders, value_rows};
use crate::console::{AuditEntry, insert_audit};
use crate::rows::{Columns, dialect_from, figure, to_i64, to_u32, to_u64};
use crate::writes::{NewWebhook, WebhookDialect};

/// Which of a merchant's webhooks `webhook/resend` queues again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResendFilter<'a> {
    /// Created in `from_ms..=to_ms`.
    pub from_ms: i64,
    pub to_ms: i64,
    /// `false`: only webhooks not acknowledged yet.
    pub all_results: bool,
    /// Only of this kind, if given.
    pub order_type: Option<&'a str>,
    /// Only about these records, unless empty.
    pub record_ids: &'a [String],
}

/// A webhook claimed for delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxWebhook {
    pub id: i64,
    pub app_id: MerchantId,
    pub record_id: String,
    pub order_type: String,
    pub dialect: WebhookDialect,
    /// Where it goes: its own URL, or as claimed, its merchant's webhook URL
    /// at the claim; `None` if neither is set.
    pub url: Option<String>,
    pub payload: String,
    /// Attempts made before this one.
    pub attempts: u32,
}

/// One delivery attempt, as logged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookAttempt {
    pub attempt: u32,
    pub at_ms: i64,
    pub http_status: Option<u16>,
    pub latency_ms: u64,
    /// `delivered`, or why not (`HTTP 500`, `timeout`, `no success in body`…).
    pub outcome: String,
    /// The first bytes of the answer.
    pub response_head: String,
}

/// What happens to a webhook after an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebhookNext {
    Delivered,
    RetryAt { at_ms: i64 },
    GiveUp,
}

/// What a claim asks for; see [`OutboxStore::record_and_claim_webhooks`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WebhookClaim {
    pub now_ms: i64,
    pub lease_ms: i64,
    /// Webhooks to claim at most; 0 claims none.
    pub limit: u32,
    /// What a merchant may hold under claim whoever else waits.
    pub per_merchant_max: u32,
    /// Slots a merchant may grow past `per_merchant_max` into: each merchant
    /// with pending webhooks may hold up to an equal part of them, if that is
    /// more (decisions §38). 0 keeps every merchant at `per_merchant_max`.
    pub spare_slots: u32,
}

impl WebhookClaim {
    /// No claim: attempts recorded only.
    pub const NONE: WebhookClaim = WebhookClaim {
        now_ms: 0,
        lease_ms: 0,
        limit: 0,
        per_merchant_max: 0,
        spare_slots: 0,
    };
}

/// Webhooks claimed, and their attempts recorded, by a DB transaction that
/// has not committed yet: the delivery loop starts sending them, then
/// commits (decisions §50). Dropped without [`PendingCommit::commit`], the
/// transaction rolls back: nothing recorded, nothing claimed.
#[derive(Debug)]
pub struct PendingClaim {
    pub webhooks: Vec<OutboxWebhook>,
    pub commit: PendingCommit,
}

/// The commit of a [`PendingClaim`].
#[derive(Debug)]
pub struct PendingCommit(Option<Box<dyn OpenTransaction>>);

impl PendingCommit {
    /// Makes the claim and the attempts recorded with it durable.
    pub async fn commit(self) -> Result<(), StoreError> {
        match self.0 {
            Some(open) => open.commit().await,
            None => Ok(()),
        }
    }
}

impl PendingClaim {
    /// Commits, then hands over the webhooks claimed.
    pub async fn committed(self) -> Result<Vec<OutboxWebhook>, StoreError> {
        self.commit.commit().await?;
        Ok(self.webhooks)
    }
}

/// A DB transaction kept open past the call that wrote in it.
#[async_trait]
trait OpenTransaction: Send + std::fmt::Debug {
    async fn commit(self: Box<Self>) -> Result<(), StoreError>;
}

#[async_trait]
impl<Db: Database> OpenTransaction for crate::write_turn::WriteTransaction<Db> {
    async fn commit(self: Box<Self>) -> Result<(), StoreError> {
        Ok((*self).commit().await?)
    }
}

/// The outbox by delivery status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WebhookCounts {
    /// Not yet acknowledged; attempts continue.
    pub pending: u64,
    pub delivered: u64,
    /// Past the last rung of the retry ladder.
    pub failed: u64,
    /// Delivery attempts the receiver acknowledged.
    pub attempts_delivered: u64,
    /// Delivery attempts that failed (any other answer, a timeout, no connection).
    pub attempts_failed: u64,
}

/// A webhook as listed to operators.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookRow {
    pub id: i64,
    pub app_id: MerchantId,
    pub record_id: String,
    pub order_type: String,
    pub status: String,
    pub attempts: u32,
    pub next_attempt_at_ms: i64,
    pub created_at_ms: i64,
    pub url: Option<String>,
    pub payload: String,
}

#[async_trait]
pub trait OutboxStore: Send + Sync + std::fmt::Debug + 'static {
    /// Records the attempts of several webhooks (outbox id, attempt, what
    /// next), then claims due webhooks as `claim` says, in ONE DB
    /// transaction: one durable commit for both (decisions §27). All or
    /// none. The claim: up to `claim.limit` webhooks due at `claim.now_ms`,
    /// the earliest due first, claimed for `claim.lease_ms` (their next
    /// attempt moves past the lease, so no other worker takes them). Fair: a
    /// merchant gets at most `claim.per_merchant_max` webhooks under claim at
    /// once, counting those whose claim (by any worker) still holds — after
    /// the attempts recorded here released theirs — so one merchant's
    /// backlog or slow receiver leaves the other slots to the other merchants;
    /// or, if more, its equal part of `claim.spare_slots` among the merchants
    /// with pending webhooks, so a merchant alone is not held to the cap.
    async fn record_and_claim_webhooks(
        &self,
        attempts: &[(i64, WebhookAttempt, WebhookNext)],
        claim: &WebhookClaim,
    ) -> Result<Vec<OutboxWebhook>, StoreError> {
        self.record_and_claim_pending(attempts, claim)
            .await?
            .committed()
            .await
    }

    /// [`OutboxStore::record_and_claim_webhooks`] up to its commit, which
    /// the caller makes (decisions §50): what it claimed can be on its way
    /// meanwhile. Until then the transaction holds SQLite's write lock, and
    /// on PostgreSQL the claimed rows' locks (so another instance's claim
    /// skips them).
    async fn record_and_claim_pending(
        &self,
        attempts: &[(i64, WebhookAttempt, WebhookNext)],
        claim: &WebhookClaim,
    ) -> Result<PendingClaim, StoreError>;

    /// A claim alone, no merchant past `per_merchant_max`; see
    /// [`OutboxStore::record_and_claim_webhooks`].
    async fn claim_due_webhooks(
        &self,
        now_ms: i64,
        lease_ms: i64,
        limit: u32,
        per_merchant_max: u32,
    ) -> Result<Vec<OutboxWebhook>, StoreError> {
        let claim = WebhookClaim {
            now_ms,
            lease_ms,
            limit,
            per_merchant_max,
            spare_slots: 0,
        };
        self.record_and_claim_webhooks(&[], &claim).await
    }

    async fn record_webhook_attempt(
        &self,
        id: i64,
        attempt: &WebhookAttempt,
        next: WebhookNext,
    ) -> Result<(), StoreError>;

    /// Attempts recorded, nothing claimed; see
    /// [`OutboxStore::record_and_claim_webhooks`].
    async fn record_webhook_attempts(
        &self,
        attempts: &[(i64, WebhookAttempt, WebhookNext)],
    ) -> Result<(), StoreError> {
        self.record_and_claim_webhooks(attempts, &WebhookClaim::NONE)
            .await
            .map(drop)
    }

    /// Hands claimed webhooks back without an attempt (a worker stopping):
    /// each of `ids` still pending under the claim that ran to
    /// `claimed_until_ms` becomes due at `now_ms`, for any worker to take.
    /// One whose claim has since changed (attempted, or claimed again after
    /// its lease ran out) is left alone. Returns how many were handed back.
    async fn release_webhooks(
        &self,
        ids: &[i64],
        claimed_until_ms: i64,
        now_ms: i64,
    ) -> Result<u64, StoreError>;

    /// Counts a `webhook/resend` call if the merchant is within its limits;
    /// `false` (and nothing counted) when one is reached.
    async fn record_resend_call(
        &self,
        app_id: &MerchantId,
        now_ms: i64,
        per_minute: u32,
        per_day: u32,
    ) -> Result<bool, StoreError>;

    /// Queues the merchant's webhooks that `filter` picks for one more
    /// attempt now, appending `audit` in the same DB transaction. Returns
    /// how many.
    async fn resend_webhooks(
        &self,
        app_id: &MerchantId,
        filter: &ResendFilter<'_>,
        now_ms: i64,
        audit: Option<&AuditEntry>,
    ) -> Result<u64, StoreError>;

    /// How many webhooks are waiting, delivered and given up on, for monitoring.
    async fn webhook_counts(&self) -> Result<WebhookCounts, StoreError>;

    /// Newest first.
    async fn list_webhooks(
        &self,
        app_id: Option<&MerchantId>,
        limit: u32,
    ) -> Result<Vec<WebhookRow>, StoreError>;

    async fn webhook_with_attempts(
        &self,
        id: i64,
    ) -> Result<Option<(WebhookRow, Vec<WebhookAttempt>)>, StoreError>;
}

/// Queues a webhook inside the caller's DB transaction.
pub(crate) async fn insert_webhook<Db>(
    conn: &mut Db::Connection,
    webhook: &NewWebhook,
) -> Result<(), StoreError>
where
    Db: Database,
    for<'c> &'c mut Db::Connection: Executor<'c, Database = Db>,
    for<'q> Db::Arguments<'q>: IntoArguments<'q, Db>,
    for<'q> &'q str: Encode<'q, Db> + Type<Db>,
    for<'q> String: Encode<'q, Db> + Type<Db>,
    for<'q> i64: Encode<'q, Db> + Type<Db>,
    for<'q> Option<String>: Encode<'q, Db>,
{
    sqlx::query(
        "INSERT INTO webhook_outbox
             (app_id, record_id, order_type, dialect, url, payload, status, attempts,
              next_attempt_at_ms, created_at_ms)
         VALUES ($1, $2, $3, $4, $5, $6, 'pending', 0, $7, $7)",
    )
    .bind(webhook.app_id.as_str())
    .bind(&webhook.record_id)
    .bind(webhook.order_type)
    .bind(webhook.dialect.as_str())
    .bind(&webhook.url)
    .bind(&webhook.payload)
    .bind(webhook.created_at_ms)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Answers kept in the delivery log are cut to this many bytes.
const RESPONSE_HEAD_BYTES_MAX: usize = 256;

pub(crate) const WEBHOOK_COLUMNS: &str = "id, app_id, record_id, order_type, status, attempts, \
    next_attempt_at_ms, created_at_ms, url, payload";

// One body of SQL for both backends; see `backend.rs`.
#[async_trait]
impl<S> OutboxStore for S
where
    S: SqlStore,
    for<'c> &'c mut <S::Db as Database>::Connection: Executor<'c, Database = S::Db>,
    for<'q> <S::Db as Database>::Arguments<'q>: IntoArguments<'q, S::Db>,
    for<'q> &'q str: Encode<'q, S::Db> + Type<S::Db>,
    for<'q> String: Encode<'q, S::Db> + Type<S::Db>,
    for<'q> i64: Encode<'q, S::Db> + Type<S::Db>,
    // sqlx encodes `Option` per backend, not for every `T: Encode`.
    for<'q> Option<String>: Encode<'q, S::Db>,
    for<'q> Option<&'q str>: Encode<'q, S::Db>,
    for<'q> Option<i64>: Encode<'q, S::Db>,
    for<'q> bool: Encode<'q, S::Db> + Type<S::Db>,
{
    async fn release_webhooks(
        &self,
        ids: &[i64],
        claimed_until_ms: i64,
        now_ms: i64,
    ) -> Result<u64, StoreError> {
        if ids.is_empty() {
            return Ok(0);
        }
        let statement = format!(
            "UPDATE webhook_outbox SET next_attempt_at_ms = {}, claimed_until_ms = NULL
             WHERE status = 'pending' AND next_attempt_at_ms = {} AND id IN ({})",
            S::Db::placeholder(1),
            S::Db::placeholder(2),
            placeholders::<S::Db>(3, ids.len())
        );
        let mut query = sqlx::query(&statement).bind(now_ms).bind(claimed_until_ms);
        for id in ids {
            query = query.bind(*id);
        }
        Ok(query
            .execute(&mut *self.write_connection().await?)
            .await?
            .rows_affected())
    }

    async fn record_webhook_attempt(
        &self,
        id: i64,
        attempt: &WebhookAttempt,
        next: WebhookNext,
    ) -> Result<(), StoreError> {
        self.record_webhook_attempts(&[(id, attempt.clone(), next)])
            .await
    }

    async fn record_and_claim_pending(
        &self,
        attempts: &[(i64, WebhookAttempt, WebhookNext)],
        claim: &WebhookClaim,
    ) -> Result<PendingClaim, StoreError> {
        if attempts.is_empty() && claim.limit == 0 {
            return Ok(PendingClaim {
                webhooks: Vec::new(),
                commit: PendingCommit(None),
            });
        }
        let mut db_tx = self.begin_write().await?;
        for chunk in attempts.chunks(ATTEMPTS_PER_STATEMENT_MAX) {
            record_attempts::<S::Db>(&mut db_tx, chunk).await?;
        }
        let rows = if claim.limit == 0 {
            Vec::new()
        } else {
            crate::outbox_claim::claim_due_webhooks::<S::Db>(
                &mut db_tx,
                claim.now_ms,
                claim.lease_ms,
                claim.limit,
                claim.per_merchant_max,
                claim.spare_slots,
            )
            .await?
        };
        Ok(PendingClaim {
            webhooks: claimed_from_rows(&rows)?,
            commit: PendingCommit(Some(Box::new(db_tx))),
        })
    }

    async fn record_resend_call(
        &self,
        app_id: &MerchantId,
        now_ms: i64,
        per_minute: u32,
        per_day: u32,
    ) -> Result<bool, StoreError> {
        const MINUTE_MS: i64 = 60_000;
        const DAY_MS: i64 = 86_400_000;
        let mut db_tx = self.begin_write().await?;
        S::Db::lock_resend_calls_of(&mut db_tx, app_id).await?;
        sqlx::query("DELETE FROM resend_calls WHERE app_id = $1 AND at_ms < $2")
            .bind(app_id.as_str())
            .bind(now_ms.saturating_sub(DAY_MS))
            .execute(&mut *db_tx)
            .await?;
        let row = sqlx::query(
            "SELECT COUNT(CASE WHEN at_ms > $1 THEN 1 END) AS last_minute, COUNT(*) AS last_day
             FROM resend_calls WHERE app_id = $2",
        )
        .bind(now_ms.saturating_sub(MINUTE_MS))
        .bind(app_id.as_str())
        .fetch_one(&mut *db_tx)
        .await?;
        if row.int("last_minute")? >= i64::from(per_minute)
            || row.int("last_day")? >= i64::from(per_day)
        {
            return Ok(false);
        }
        sqlx::query("INSERT INTO resend_calls (app_id, at_ms) VALUES ($1, $2)")
            .bind(app_id.as_str())
            .bind(now_ms)
            .execute(&mut *db_tx)
            .await?;
        db_tx.commit().await?;
        Ok(true)
    }

    async fn resend_webhooks(
        &self,
        app_id: &MerchantId,
        filter: &ResendFilter<'_>,
        now_ms: i64,
        audit: Option<&AuditEntry>,
    ) -> Result<u64, StoreError> {
        let only_records = if filter.record_ids.is_empty() {
            String::new()
        } else {
            format!(
                " AND record_id IN ({})",
                placeholders::<S::Db>(8, filter.record_ids.len())
            )
        };
        let [now, app_id_is, from, to, all_results, no_type, type_is] =
            std::array::from_fn(|n| S::Db::placeholder(n + 1));
        let statement = format!(
            "UPDATE webhook_outbox SET status = 'pending', next_attempt_at_ms = {now}, claimed_until_ms = NULL
             WHERE app_id = {app_id_is} AND created_at_ms BETWEEN {from} AND {to}
               AND ({all_results} OR status != 'delivered')
               AND ({no_type} IS NULL OR order_type = {type_is}){only_records}"
        );
        let mut query = sqlx::query(&statement)
            .bind(now_ms)
            .bind(app_id.as_str())
            .bind(filter.from_ms)
            .bind(filter.to_ms)
            .bind(filter.all_results)
            .bind(filter.order_type)
            .bind(filter.order_type);
        for record_id in filter.record_ids {
            query = query.bind(record_id);
        }
        let mut db_tx = self.begin_write_with(S::Db::BEGIN_WRITE).await?;
        let queued = query.execute(&mut *db_tx).await?.rows_affected();
        if let Some(audit) = audit {
            insert_audit::<S::Db>(&mut db_tx, audit).await?;
        }
        db_tx.commit().await?;
        Ok(queued)
    }

    async fn webhook_counts(&self) -> Result<WebhookCounts, StoreError> {
        let figures = S::Db::metric_figures(self.pool()).await?;
        Ok(WebhookCounts {
            pending: figure(&figures, "webhooks.pending")?,
            delivered: figure(&figures, "webhooks.delivered")?,
            failed: figure(&figures, "webhooks.failed")?,
            attempts_delivered: figure(&figures, "attempts.delivered")?,
            attempts_failed: figure(&figures, "attempts.failed")?,
        })
    }

    async fn list_webhooks(
        &self,
        app_id: Option<&MerchantId>,
        limit: u32,
    ) -> Result<Vec<WebhookRow>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {WEBHOOK_COLUMNS} FROM webhook_outbox
             WHERE $1 IS NULL OR app_id = $1 ORDER BY id DESC LIMIT $2"
        ))
        .bind(app_id.map(MerchantId::as_str))
        .bind(i64::from(limit))
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(webhook_row).collect()
    }

    async fn webhook_with_attempts(
        &self,
        id: i64,
    ) -> Result<Option<(WebhookRow, Vec<WebhookAttempt>)>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {WEBHOOK_COLUMNS} FROM webhook_outbox WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(self.pool())
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let attempts = sqlx::query(
            "SELECT attempt, at_ms, http_status, latency_ms, outcome, response_head
             FROM webhook_attempts WHERE outbox_id = $1 ORDER BY attempt",
        )
        .bind(id)
        .fetch_all(self.pool())
        .await?
        .iter()
        .map(attempt_from_row)
        .collect::<Result<Vec<_>, StoreError>>()?;
        Ok(Some((webhook_row(&row)?, attempts)))
    }
}

/// Attempts written per statement at most: 7 parameters each, well within
/// both backends' limit on a statement's parameters (SQLite's 32 766).
const ATTEMPTS_PER_STATEMENT_MAX: usize = 512;

/// `attempts` logged and their outbox rows moved on, in two statements
/// however many there are (decisions §27): one multi-row `INSERT`, one
/// `UPDATE … FROM` a `VALUES` list.
async fn record_attempts<Db>(
    conn: &mut Db::Connection,
    attempts: &[(i64, WebhookAttempt, WebhookNext)],
) -> Result<(), StoreError>
where
    Db: Backend,
    for<'c> &'c mut Db::Connection: Executor<'c, Database = Db>,
    for<'q> Db::Arguments<'q>: IntoArguments<'q, Db>,
    for<'q> &'q str: Encode<'q, Db> + Type<Db>,
    for<'q> String: Encode<'q, Db> + Type<Db>,
    for<'q> i64: Encode<'q, Db> + Type<Db>,
    for<'q> Option<i64>: Encode<'q, Db>,
{
    if attempts.is_empty() {
        return Ok(());
    }
    let rows = value_rows::<Db>(attempts.len(), 7);
    let statement = format!(
        "INSERT INTO webhook_attempts
             (outbox_id, attempt, at_ms, http_status, latency_ms, outcome, response_head)
         VALUES {rows}"
    );
    let mut insert = sqlx::query(&statement);
    for (id, attempt, _) in attempts {
        insert = insert
            .bind(*id)
            .bind(i64::from(attempt.attempt))
            .bind(attempt.at_ms)
            .bind(attempt.http_status.map(i64::from))
            .bind(to_i64(attempt.latency_ms, "latency")?)
            .bind(attempt.outcome.clone())
            .bind(response_head(attempt));
    }
    insert.execute(&mut *conn).await?;
    // A CTE names the list's columns the same way on both backends.
    let rows = value_rows::<Db>(attempts.len(), 4);
    let statement = format!(
        "WITH settled (id, status, attempts, next_at) AS (VALUES {rows})
         UPDATE webhook_outbox
         SET status = settled.status, attempts = settled.attempts,
             next_attempt_at_ms = settled.next_at, claimed_until_ms = NULL
         FROM settled WHERE webhook_outbox.id = settled.id"
    );
    let mut update = sqlx::query(&statement);
    for (id, attempt, next) in attempts {
        let (status, next_at) = outbox_after(attempt, *next);
        update = update
            .bind(*id)
            .bind(status)
            .bind(i64::from(attempt.attempt))
            .bind(next_at);
    }
    update.execute(&mut *conn).await?;
    Ok(())
}

pub(crate) fn webhook_row(row: &impl Columns) -> Result<WebhookRow, StoreError> {
    Ok(WebhookRow {
        id: row.int("id")?,
        app_id: MerchantId::new(row.text("app_id")?),
        record_id: row.text("record_id")?,
        order_type: row.text("order_type")?,
        status: row.text("status")?,
        attempts: to_u32(row.int("attempts")?, "attempts")?,
        next_attempt_at_ms: row.int("next_attempt_at_ms")?,
        created_at_ms: row.int("created_at_ms")?,
        url: row.opt_text("url")?,
        payload: row.text("payload")?,
    })
}

/// Claimed webhooks, in id order whatever order the database returned them in.
fn claimed_from_rows(rows: &[impl Columns]) -> Result<Vec<OutboxWebhook>, StoreError> {
    let mut claimed = rows
        .iter()
        .map(|row| {
            Ok(OutboxWebhook {
                id: row.int("id")?,
                app_id: MerchantId::new(row.text("app_id")?),
                record_id: row.text("record_id")?,
                order_type: row.text("order_type")?,
                dialect: dialect_from(&row.text("dialect")?)?,
                url: row.opt_text("url")?,
                payload: row.text("payload")?,
                attempts: to_u32(row.int("attempts")?, "attempts")?,
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    claimed.sort_by_key(|webhook| webhook.id);
    Ok(claimed)
}

fn attempt_from_row(row: &impl Columns) -> Result<WebhookAttempt, StoreError> {
    Ok(WebhookAttempt {
        attempt: to_u32(row.int("attempt")?, "attempt")?,
        at_ms: row.int("at_ms")?,
        http_status: row
            .opt_int("http_status")?
            .and_then(|s| u16::try_from(s).ok()),
        latency_ms: to_u64(row.int("latency_ms")?, "latency")?,
        outcome: row.text("outcome")?,
        response_head: row.text("response_head")?,
    })
}

/// The first bytes of an answer, cut on a character boundary, a NUL
/// replaced: PostgreSQL's text holds none, and one receiver's answer must
/// not make the whole batch of attempts fail to record (and be sent again).
fn response_head(attempt: &WebhookAttempt) -> String {
    attempt
        .response_head
        .char_indices()
        .take_while(|(at, _)| *at < RESPONSE_HEAD_BYTES_MAX)
        .map(|(_, c)| {
            if c == '\0' {
                char::REPLACEMENT_CHARACTER
            } else {
                c
            }
        })
        .collect()
}

/// The outbox status and next attempt time after an attempt.
fn outbox_after(attempt: &WebhookAttempt, next: WebhookNext) -> (&'static str, i64) {
    match next {
        WebhookNext::Delivered => ("delivered", attempt.at_ms),
        WebhookNext::RetryAt { at_ms } => ("pending", at_ms),
        WebhookNext::GiveUp => ("failed", attempt.at_ms),
    }
}
