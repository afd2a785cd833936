//! What the sandbox keeps beyond the gateway's own state: the business
//! clock's setting, the look-ups that tell it when something is next due, and
//! the faults it injects into webhook deliveries.

use async_trait::async_trait;
use ccgate_ledger::MerchantId;
use sqlx::{Database, Encode, Executor, IntoArguments, Type};

use crate::StoreError;
use crate::backend::{Backend, RowsAffected, SqlStore};
use crate::outbox::insert_webhook;
use crate::rows::{Columns, to_i64, to_u32, to_u64};
use crate::writes::NewWebhook;

/// Faults injected into one merchant's webhook deliveries (sandbox only).
/// Probabilities are parts per million: 1 000 000 always, 0 never.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WebhookFaults {
    /// Held this long before sending.
    pub delay_ms: u64,
    /// Not sent; the attempt counts as failed, so the retry ladder runs.
    pub drop_ppm: u32,
    /// Sent twice.
    pub duplicate_ppm: u32,
    /// A batch due together goes out one by one, newest first.
    pub reorder: bool,
    /// The `Sign` header does not match the body.
    pub bad_signature: bool,
    /// Sent, but the attempt is recorded as if the receiver answered this.
    pub status: Option<u16>,
    /// Deliveries still to affect; `None`: until cleared.
    pub remaining: Option<u32>,
    /// Seeds the set's random sequence (see [`TakenFault::sequence`]).
    pub seed: u64,
}

/// The faults applied to one delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TakenFault {
    /// As set (`remaining` as it is after this delivery).
    pub faults: WebhookFaults,
    /// How many deliveries the set affected before this one: with the seed,
    /// what makes its random draws repeatable.
    pub sequence: u64,
}

/// The business clock as stored: running `offset_ms` ahead of the real clock,
/// or stopped at `frozen_at_ms`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StoredClock {
    pub offset_ms: i64,
    pub frozen_at_ms: Option<i64>,
}

/// One transfer of a devnet chain, by its key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransferKey {
    pub txid: String,
    pub log_index: u32,
}

/// What a devnet reorg rewrites, decided by the engine, written at once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DevnetReorg {
    pub chain: String,
    /// The first block rewritten: both scan cursors move back before it.
    pub from_height: u64,
    /// Transfers gone from the chain (and a payout among them is sent again).
    pub dropped: Vec<TransferKey>,
    /// Transfers mined again in a later block: (transfer, its new block).
    pub moved: Vec<(TransferKey, u64)>,
    /// `failed` webhooks for payments a merchant was told were processing.
    pub vanished_webhooks: Vec<NewWebhook>,
    pub incidents: Vec<ReorgIncident>,
}

/// A credited deposit that a reorg deeper than the confirmations touched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReorgIncident {
    pub chain: String,
    pub txid: String,
    pub log_index: u32,
    pub record_id: String,
    pub what: String,
    pub at_ms: i64,
}

#[async_trait]
pub trait SandboxStore: Send + Sync + std::fmt::Debug + 'static {
    /// The clock's setting, if the sandbox has ever moved it.
    async fn sandbox_clock(&self) -> Result<Option<StoredClock>, StoreError>;

    async fn set_sandbox_clock(&self, clock: StoredClock) -> Result<(), StoreError>;

    /// When the earliest undelivered webhook is next due, if there is one.
    async fn next_webhook_due_ms(&self) -> Result<Option<i64>, StoreError>;

    /// The highest block of `chain` holding a devnet transfer, if any.
    async fn devnet_last_transfer_height(&self, chain: &str) -> Result<Option<u64>, StoreError>;

    /// The record id of the deposit crediting that transfer, if credited.
    async fn credited_record_id(
        &self,
        chain: &str,
        key: &TransferKey,
    ) -> Result<Option<String>, StoreError>;

    /// Rewrites the devnet chain as decided, in one DB transaction: dropped
    /// transfers deleted (with what was seen of them, and a payout among them
    /// back to pending so it is sent again), moved ones re-mined in their new
    /// block (a payout's too), the scan cursors moved back before the first
    /// rewritten block, `failed` webhooks queued and incidents recorded.
    async fn apply_devnet_reorg(&self, reorg: &DevnetReorg) -> Result<(), StoreError>;

    /// Every incident recorded, oldest first.
    async fn reorg_incidents(&self) -> Result<Vec<ReorgIncident>, StoreError>;
    /// Replaces the merchant's webhook faults (their random sequence starts
    /// over); `MerchantNotFound` for an unknown merchant.
    async fn set_webhook_faults(
        &self,
        app_id: &MerchantId,
        faults: &WebhookFaults,
    ) -> Result<(), StoreError>;

    /// Removes the merchant's webhook faults; `false` if it had none.
    async fn clear_webhook_faults(&self, app_id: &MerchantId) -> Result<bool, StoreError>;

    /// Uses up one delivery of the merchant's faults, if it has any: the
    /// faults to apply to this delivery, with its place in their sequence.
    /// The set is removed once its count is used up.
    async fn take_webhook_fault(
        &self,
        app_id: &MerchantId,
    ) -> Result<Option<TakenFault>, StoreError>;
}

/// Columns returned by the take, in this order.
const TAKEN_COLUMNS: &str = "delay_ms, drop_ppm, duplicate_ppm, reorder, bad_signature, status, \
                             remaining, seed, used";

fn taken_from_row(row: &impl Columns) -> Result<TakenFault, StoreError> {
    let ppm = |column: &str| -> Result<u32, StoreError> { to_u32(row.int(column)?, column) };
    let status = row
        .opt_int("status")?
        .map(|status| {
            u16::try_from(status)
                .map_err(|_| StoreError::Corrupt(format!("webhook fault status {status}")))
        })
        .transpose()?;
    let used = to_u64(row.int("used")?, "webhook fault use count")?;
    Ok(TakenFault {
        faults: WebhookFaults {
            delay_ms: to_u64(row.int("delay_ms")?, "webhook fault delay")?,
            drop_ppm: ppm("drop_ppm")?,
            duplicate_ppm: ppm("duplicate_ppm")?,
            reorder: row.int("reorder")? != 0,
            bad_signature: row.int("bad_signature")? != 0,
            status,
            remaining: row
                .opt_int("remaining")?
                .map(|left| to_u32(left, "webhook fault count"))
                .transpose()?,
            seed: to_u64(row.int("seed")?, "webhook fault seed")?,
        },
        // `used` is read after its increment.
        sequence: used.saturating_sub(1),
    })
}

/// The stored forms of a fault set's fields, bound in column order.
struct FaultColumns {
    delay_ms: i64,
    drop_ppm: i64,
    duplicate_ppm: i64,
    reorder: i64,
    bad_signature: i64,
    status: Option<i64>,
    remaining: Option<i64>,
    seed: i64,
}

impl FaultColumns {
    fn of(faults: &WebhookFaults) -> Result<FaultColumns, StoreError> {
        Ok(FaultColumns {
            delay_ms: to_i64(faults.delay_ms, "webhook fault delay")?,
            drop_ppm: i64::from(faults.drop_ppm),
            duplicate_ppm: i64::from(faults.duplicate_ppm),
            reorder: i64::from(faults.reorder),
            bad_signature: i64::from(faults.bad_signature),
            status: faults.status.map(i64::from),
            remaining: faults.remaining.map(i64::from),
            seed: to_i64(faults.seed, "webhook fault seed")?,
        })
    }
}

/// A foreign-key refusal on `webhook_faults.app_id` means no such merchant.
fn unknown_merchant(app_id: &MerchantId, error: sqlx::Error) -> StoreError {
    match &error {
        sqlx::Error::Database(db) if db.is_foreign_key_violation() => {
            StoreError::MerchantNotFound(app_id.as_str().to_owned())
        }
        _ => StoreError::Database(error),
    }
}

// One body of SQL for both backends; see `backend.rs`.
#[async_trait]
impl<S> SandboxStore for S
where
    S: SqlStore,
    for<'c> &'c mut <S::Db as Database>::Connection: Executor<'c, Database = S::Db>,
    for<'q> <S::Db as Database>::Arguments<'q>: IntoArguments<'q, S::Db>,
    for<'q> &'q str: Encode<'q, S::Db> + Type<S::Db>,
    for<'q> String: Encode<'q, S::Db> + Type<S::Db>,
    for<'q> i64: Encode<'q, S::Db> + Type<S::Db>,
    // sqlx encodes `Option` per backend, not for every `T: Encode`.
    for<'q> Option<String>: Encode<'q, S::Db>,
    for<'q> Option<i64>: Encode<'q, S::Db>,
{
    async fn sandbox_clock(&self) -> Result<Option<StoredClock>, StoreError> {
        let row = sqlx::query("SELECT offset_ms, frozen_at_ms FROM sandbox_clock WHERE id = 1")
            .fetch_optional(self.pool())
            .await?;
        row.map(|row| {
            Ok(StoredClock {
                offset_ms: row.int("offset_ms")?,
                frozen_at_ms: row.opt_int("frozen_at_ms")?,
            })
        })
        .transpose()
    }

    async fn set_sandbox_clock(&self, clock: StoredClock) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO sandbox_clock (id, offset_ms, frozen_at_ms) VALUES (1, $1, $2)
             ON CONFLICT (id) DO UPDATE
             SET offset_ms = excluded.offset_ms, frozen_at_ms = excluded.frozen_at_ms",
        )
        .bind(clock.offset_ms)
        .bind(clock.frozen_at_ms)
        .execute(&mut *self.write_connection().await?)
        .await?;
        Ok(())
    }

    async fn next_webhook_due_ms(&self) -> Result<Option<i64>, StoreError> {
        sqlx::query(
            "SELECT MIN(next_attempt_at_ms) AS due FROM webhook_outbox WHERE status = 'pending'",
        )
        .fetch_one(self.pool())
        .await?
        .opt_int("due")
    }

    async fn devnet_last_transfer_height(&self, chain: &str) -> Result<Option<u64>, StoreError> {
        let height = sqlx::query(
            "SELECT MAX(block_height) AS height FROM devnet_transfers WHERE chain = $1",
        )
        .bind(chain)
        .fetch_one(self.pool())
        .await?
        .opt_int("height")?;
        height.map(|h| to_u64(h, "block height")).transpose()
    }

    async fn credited_record_id(
        &self,
        chain: &str,
        key: &TransferKey,
    ) -> Result<Option<String>, StoreError> {
        let row = sqlx::query(
            "SELECT record_id FROM deposits WHERE chain = $1 AND txid = $2 AND log_index = $3",
        )
        .bind(chain)
        .bind(&key.txid)
        .bind(i64::from(key.log_index))
        .fetch_optional(self.pool())
        .await?;
        row.map(|row| row.text("record_id")).transpose()
    }

    async fn apply_devnet_reorg(&self, reorg: &DevnetReorg) -> Result<(), StoreError> {
        let chain = reorg.chain.as_str();
        let before = to_i64(reorg.from_height.saturating_sub(1), "height")?;
        let mut db_tx = self.begin_write_with(S::Db::BEGIN_WRITE).await?;
        for key in &reorg.dropped {
            let log_index = i64::from(key.log_index);
            for table in ["devnet_transfers", "seen_transfers"] {
                sqlx::query(&format!(
                    "DELETE FROM {table} WHERE chain = $1 AND txid = $2 AND log_index = $3"
                ))
                .bind(chain)
                .bind(&key.txid)
                .bind(log_index)
                .execute(&mut *db_tx)
                .await?;
            }
            sqlx::query(
                "UPDATE withdrawals SET status = 'pending', txid = '', block_height = NULL
                 WHERE chain = $1 AND txid = $2 AND status = 'processing'",
            )
            .bind(chain)
            .bind(&key.txid)
            .execute(&mut *db_tx)
            .await?;
        }
        for (key, height) in &reorg.moved {
            let height = to_i64(*height, "height")?;
            sqlx::query(
                "UPDATE devnet_transfers SET block_height = $1
                 WHERE chain = $2 AND txid = $3 AND log_index = $4",
            )
            .bind(height)
            .bind(chain)
            .bind(&key.txid)
            .bind(i64::from(key.log_index))
            .execute(&mut *db_tx)
            .await?;
            sqlx::query(
                "UPDATE withdrawals SET block_height = $1
                 WHERE chain = $2 AND txid = $3 AND status = 'processing'",
            )
            .bind(height)
            .bind(chain)
            .bind(&key.txid)
            .execute(&mut *db_tx)
            .await?;
        }
        // The smaller of two values is `MIN` on SQLite and `LEAST` on
        // PostgreSQL; a CASE reads the same on both (the heights are NOT NULL).
        for (table, column) in [
            ("chain_cursors", "scanned_height"),
            ("chain_seen_cursors", "seen_height"),
        ] {
            sqlx::query(&format!(
                "UPDATE {table}
                 SET {column} = CASE WHEN {column} < $1 THEN {column} ELSE $1 END
                 WHERE chain = $2"
            ))
            .bind(before)
            .bind(chain)
            .execute(&mut *db_tx)
            .await?;
        }
        for webhook in &reorg.vanished_webhooks {
            insert_webhook::<S::Db>(&mut db_tx, webhook).await?;
        }
        for incident in &reorg.incidents {
            sqlx::query(
                "INSERT INTO reorg_incidents (chain, txid, log_index, record_id, what, at_ms)
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(&incident.chain)
            .bind(&incident.txid)
            .bind(i64::from(incident.log_index))
            .bind(&incident.record_id)
            .bind(&incident.what)
            .bind(incident.at_ms)
            .execute(&mut *db_tx)
            .await?;
        }
        db_tx.commit().await?;
        Ok(())
    }

    async fn reorg_incidents(&self) -> Result<Vec<ReorgIncident>, StoreError> {
        let rows = sqlx::query(
            "SELECT chain, txid, log_index, record_id, what, at_ms FROM reorg_incidents ORDER BY id",
        )
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(incident_from_row).collect()
    }

    async fn set_webhook_faults(
        &self,
        app_id: &MerchantId,
        faults: &WebhookFaults,
    ) -> Result<(), StoreError> {
        let columns = FaultColumns::of(faults)?;
        sqlx::query(
            "INSERT INTO webhook_faults (app_id, delay_ms, drop_ppm, duplicate_ppm, reorder,
                 bad_signature, status, remaining, seed, used)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 0)
             ON CONFLICT (app_id) DO UPDATE SET delay_ms = excluded.delay_ms,
                 drop_ppm = excluded.drop_ppm, duplicate_ppm = excluded.duplicate_ppm,
                 reorder = excluded.reorder, bad_signature = excluded.bad_signature,
                 status = excluded.status, remaining = excluded.remaining,
                 seed = excluded.seed, used = 0",
        )
        .bind(app_id.as_str())
        .bind(columns.delay_ms)
        .bind(columns.drop_ppm)
        .bind(columns.duplicate_ppm)
        .bind(columns.reorder)
        .bind(columns.bad_signature)
        .bind(columns.status)
        .bind(columns.remaining)
        .bind(columns.seed)
        .execute(&mut *self.write_connection().await?)
        .await
        .map_err(|e| unknown_merchant(app_id, e))?;
        Ok(())
    }

    async fn clear_webhook_faults(&self, app_id: &MerchantId) -> Result<bool, StoreError> {
        let cleared = sqlx::query("DELETE FROM webhook_faults WHERE app_id = $1")
            .bind(app_id.as_str())
            .execute(&mut *self.write_connection().await?)
            .await?;
        Ok(cleared.rows_affected() > 0)
    }

    async fn take_webhook_fault(
        &self,
        app_id: &MerchantId,
    ) -> Result<Option<TakenFault>, StoreError> {
        // One statement: two deliveries never take the same place.
        let row = sqlx::query(&format!(
            "UPDATE webhook_faults SET used = used + 1, remaining = remaining - 1
             WHERE app_id = $1 AND (remaining IS NULL OR remaining > 0)
             RETURNING {TAKEN_COLUMNS}"
        ))
        .bind(app_id.as_str())
        .fetch_optional(&mut *self.write_connection().await?)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let taken = taken_from_row(&row)?;
        if taken.faults.remaining == Some(0) {
            sqlx::query("DELETE FROM webhook_faults WHERE app_id = $1 AND remaining = 0")
                .bind(app_id.as_str())
                .execute(&mut *self.write_connection().await?)
                .await?;
        }
        Ok(Some(taken))
    }
}

fn incident_from_row(row: &impl Columns) -> Result<ReorgIncident, StoreError> {
    Ok(ReorgIncident {
        chain: row.text("chain")?,
        txid: row.text("txid")?,
        log_index: to_u32(row.int("log_index")?, "log index")?,
        record_id: row.text("record_id")?,
        what: row.text("what")?,
        at_ms: row.int("at_ms")?,
    })
}
