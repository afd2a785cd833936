//! What the sandbox keeps beyond the gateway's own state: the business
//! clock's setting, and the look-ups that tell it when something is next due.

use async_trait::async_trait;

use crate::deposits::NewWebhook;
use crate::rows::{to_i64, to_u64};
use crate::{PgStore, SqliteStore, StoreError};

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
}

#[async_trait]
impl SandboxStore for SqliteStore {
    async fn sandbox_clock(&self) -> Result<Option<StoredClock>, StoreError> {
        let row: Option<(i64, Option<i64>)> =
            sqlx::query_as("SELECT offset_ms, frozen_at_ms FROM sandbox_clock WHERE id = 1")
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.map(|(offset_ms, frozen_at_ms)| StoredClock {
            offset_ms,
            frozen_at_ms,
        }))
    }

    async fn set_sandbox_clock(&self, clock: StoredClock) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO sandbox_clock (id, offset_ms, frozen_at_ms) VALUES (1, ?, ?)
             ON CONFLICT (id) DO UPDATE
             SET offset_ms = excluded.offset_ms, frozen_at_ms = excluded.frozen_at_ms",
        )
        .bind(clock.offset_ms)
        .bind(clock.frozen_at_ms)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn next_webhook_due_ms(&self) -> Result<Option<i64>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT MIN(next_attempt_at_ms) FROM webhook_outbox WHERE status = 'pending'",
        )
        .fetch_one(&self.pool)
        .await?)
    }

    async fn devnet_last_transfer_height(&self, chain: &str) -> Result<Option<u64>, StoreError> {
        let height: Option<i64> =
            sqlx::query_scalar("SELECT MAX(block_height) FROM devnet_transfers WHERE chain = ?")
                .bind(chain)
                .fetch_one(&self.pool)
                .await?;
        height.map(|h| to_u64(h, "block height")).transpose()
    }
    async fn credited_record_id(
        &self,
        chain: &str,
        key: &TransferKey,
    ) -> Result<Option<String>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT record_id FROM deposits WHERE chain = ? AND txid = ? AND log_index = ?",
        )
        .bind(chain)
        .bind(&key.txid)
        .bind(i64::from(key.log_index))
        .fetch_optional(&self.pool)
        .await?)
    }

    async fn apply_devnet_reorg(&self, reorg: &DevnetReorg) -> Result<(), StoreError> {
        let chain = reorg.chain.as_str();
        let before = to_i64(reorg.from_height.saturating_sub(1), "height")?;
        let mut db_tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        for key in &reorg.dropped {
            let log_index = i64::from(key.log_index);
            for table in ["devnet_transfers", "seen_transfers"] {
                sqlx::query(&format!(
                    "DELETE FROM {table} WHERE chain = ? AND txid = ? AND log_index = ?"
                ))
                .bind(chain)
                .bind(&key.txid)
                .bind(log_index)
                .execute(&mut *db_tx)
                .await?;
            }
            sqlx::query(
                "UPDATE withdrawals SET status = 'pending', txid = '', block_height = NULL
                 WHERE chain = ? AND txid = ? AND status = 'processing'",
            )
            .bind(chain)
            .bind(&key.txid)
            .execute(&mut *db_tx)
            .await?;
        }
        for (key, height) in &reorg.moved {
            let height = to_i64(*height, "height")?;
            sqlx::query(
                "UPDATE devnet_transfers SET block_height = ?
                 WHERE chain = ? AND txid = ? AND log_index = ?",
            )
            .bind(height)
            .bind(chain)
            .bind(&key.txid)
            .bind(i64::from(key.log_index))
            .execute(&mut *db_tx)
            .await?;
            sqlx::query(
                "UPDATE withdrawals SET block_height = ?
                 WHERE chain = ? AND txid = ? AND status = 'processing'",
            )
            .bind(height)
            .bind(chain)
            .bind(&key.txid)
            .execute(&mut *db_tx)
            .await?;
        }
        sqlx::query(
            "UPDATE chain_cursors SET scanned_height = MIN(scanned_height, ?) WHERE chain = ?",
        )
        .bind(before)
        .bind(chain)
        .execute(&mut *db_tx)
        .await?;
        sqlx::query(
            "UPDATE chain_seen_cursors SET seen_height = MIN(seen_height, ?) WHERE chain = ?",
        )
        .bind(before)
        .bind(chain)
        .execute(&mut *db_tx)
        .await?;
        for webhook in &reorg.vanished_webhooks {
            crate::sqlite_deposits::insert_webhook(&mut db_tx, webhook).await?;
        }
        for incident in &reorg.incidents {
            sqlx::query(
                "INSERT INTO reorg_incidents (chain, txid, log_index, record_id, what, at_ms)
                 VALUES (?, ?, ?, ?, ?, ?)",
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
        let rows: Vec<(String, String, i64, String, String, i64)> = sqlx::query_as(
            "SELECT chain, txid, log_index, record_id, what, at_ms FROM reorg_incidents ORDER BY id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(incident_from_row).collect()
    }
}

#[async_trait]
impl SandboxStore for PgStore {
    async fn sandbox_clock(&self) -> Result<Option<StoredClock>, StoreError> {
        let row: Option<(i64, Option<i64>)> =
            sqlx::query_as("SELECT offset_ms, frozen_at_ms FROM sandbox_clock WHERE id = 1")
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.map(|(offset_ms, frozen_at_ms)| StoredClock {
            offset_ms,
            frozen_at_ms,
        }))
    }

    async fn set_sandbox_clock(&self, clock: StoredClock) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO sandbox_clock (id, offset_ms, frozen_at_ms) VALUES (1, $1, $2)
             ON CONFLICT (id) DO UPDATE
             SET offset_ms = excluded.offset_ms, frozen_at_ms = excluded.frozen_at_ms",
        )
        .bind(clock.offset_ms)
        .bind(clock.frozen_at_ms)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn next_webhook_due_ms(&self) -> Result<Option<i64>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT MIN(next_attempt_at_ms) FROM webhook_outbox WHERE status = 'pending'",
        )
        .fetch_one(&self.pool)
        .await?)
    }

    async fn devnet_last_transfer_height(&self, chain: &str) -> Result<Option<u64>, StoreError> {
        let height: Option<i64> =
            sqlx::query_scalar("SELECT MAX(block_height) FROM devnet_transfers WHERE chain = $1")
                .bind(chain)
                .fetch_one(&self.pool)
                .await?;
        height.map(|h| to_u64(h, "block height")).transpose()
    }

    async fn credited_record_id(
        &self,
        chain: &str,
        key: &TransferKey,
    ) -> Result<Option<String>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT record_id FROM deposits WHERE chain = $1 AND txid = $2 AND log_index = $3",
        )
        .bind(chain)
        .bind(&key.txid)
        .bind(i64::from(key.log_index))
        .fetch_optional(&self.pool)
        .await?)
    }

    async fn apply_devnet_reorg(&self, reorg: &DevnetReorg) -> Result<(), StoreError> {
        let chain = reorg.chain.as_str();
        let before = to_i64(reorg.from_height.saturating_sub(1), "height")?;
        let mut db_tx = self.pool.begin().await?;
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
        sqlx::query(
            "UPDATE chain_cursors SET scanned_height = LEAST(scanned_height, $1) WHERE chain = $2",
        )
        .bind(before)
        .bind(chain)
        .execute(&mut *db_tx)
        .await?;
        sqlx::query(
            "UPDATE chain_seen_cursors SET seen_height = LEAST(seen_height, $1) WHERE chain = $2",
        )
        .bind(before)
        .bind(chain)
        .execute(&mut *db_tx)
        .await?;
        for webhook in &reorg.vanished_webhooks {
            crate::postgres::deposits::insert_webhook(&mut db_tx, webhook).await?;
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
        let rows: Vec<(String, String, i64, String, String, i64)> = sqlx::query_as(
            "SELECT chain, txid, log_index, record_id, what, at_ms FROM reorg_incidents ORDER BY id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(incident_from_row).collect()
    }
}

fn incident_from_row(
    (chain, txid, log_index, record_id, what, at_ms): (String, String, i64, String, String, i64),
) -> Result<ReorgIncident, StoreError> {
    Ok(ReorgIncident {
        chain,
        txid,
        log_index: crate::rows::to_u32(log_index, "log index")?,
        record_id,
        what,
        at_ms,
    })
}
