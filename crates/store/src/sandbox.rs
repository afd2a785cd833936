//! What the sandbox keeps beyond the gateway's own state: the business
//! clock's setting, and the look-ups that tell it when something is next due.

use async_trait::async_trait;

use crate::rows::to_u64;
use crate::{PgStore, SqliteStore, StoreError};

/// The business clock as stored: running `offset_ms` ahead of the real clock,
/// or stopped at `frozen_at_ms`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StoredClock {
    pub offset_ms: i64,
    pub frozen_at_ms: Option<i64>,
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
}
