//! `ReorgStore` on SQLite.

use async_trait::async_trait;

use crate::reorgs::{BlockLink, ReorgStore, RollBack};
use crate::rows::{block_link_from_row, to_i64};
use crate::{SqliteStore, StoreError};

#[async_trait]
impl ReorgStore for SqliteStore {
    async fn latest_block_link(&self, chain: &str) -> Result<Option<BlockLink>, StoreError> {
        let row = sqlx::query(
            "SELECT height, hash, parent_hash FROM chain_block_links WHERE chain = ?
             ORDER BY height DESC LIMIT 1",
        )
        .bind(chain)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(block_link_from_row).transpose()
    }

    async fn block_links_down_from(
        &self,
        chain: &str,
        height: u64,
        limit: u32,
    ) -> Result<Vec<BlockLink>, StoreError> {
        let rows = sqlx::query(
            "SELECT height, hash, parent_hash FROM chain_block_links
             WHERE chain = ? AND height <= ? ORDER BY height DESC LIMIT ?",
        )
        .bind(chain)
        .bind(to_i64(height, "block height")?)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(block_link_from_row).collect()
    }

    async fn record_block_links(
        &self,
        chain: &str,
        links: &[BlockLink],
        keep_from_height: u64,
    ) -> Result<(), StoreError> {
        let mut db_tx = self.pool.begin().await?;
        for link in links {
            sqlx::query(
                "INSERT INTO chain_block_links (chain, height, hash, parent_hash)
                 VALUES (?, ?, ?, ?)
                 ON CONFLICT (chain, height)
                 DO UPDATE SET hash = excluded.hash, parent_hash = excluded.parent_hash",
            )
            .bind(chain)
            .bind(to_i64(link.height, "block height")?)
            .bind(&link.hash)
            .bind(&link.parent_hash)
            .execute(&mut *db_tx)
            .await?;
        }
        sqlx::query("DELETE FROM chain_block_links WHERE chain = ? AND height < ?")
            .bind(chain)
            .bind(to_i64(keep_from_height, "block height")?)
            .execute(&mut *db_tx)
            .await?;
        db_tx.commit().await?;
        Ok(())
    }

    async fn roll_back_chain(
        &self,
        chain: &str,
        fork_height: u64,
        detected_at_ms: i64,
    ) -> Result<RollBack, StoreError> {
        let fork = to_i64(fork_height, "block height")?;
        let mut db_tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM chain_block_links WHERE chain = ? AND height > ?")
            .bind(chain)
            .bind(fork)
            .execute(&mut *db_tx)
            .await?;
        sqlx::query(
            "UPDATE chain_cursors SET scanned_height = ?1 WHERE chain = ?2 AND scanned_height > ?1",
        )
        .bind(fork)
        .bind(chain)
        .execute(&mut *db_tx)
        .await?;
        sqlx::query(
            "UPDATE chain_seen_cursors SET seen_height = ?1 WHERE chain = ?2 AND seen_height > ?1",
        )
        .bind(fork)
        .bind(chain)
        .execute(&mut *db_tx)
        .await?;
        let dropped = sqlx::query(
            "DELETE FROM seen_transfers WHERE chain = ? AND block_height > ?
             AND NOT EXISTS (SELECT 1 FROM deposits d WHERE d.chain = seen_transfers.chain
                             AND d.txid = seen_transfers.txid AND d.log_index = seen_transfers.log_index)",
        )
        .bind(chain)
        .bind(fork)
        .execute(&mut *db_tx)
        .await?
        .rows_affected();
        // Credits stand; each one in a replaced block is reported.
        let what = format!(
            "credited, then its block (above {fork_height}) was replaced by a reorganisation \
             deeper than the confirmations: the credit stands; check the chain_tx is in the \
             chain again, else reconcile by hand (`ccgate ledger adjust`)"
        );
        let flagged = sqlx::query(
            "INSERT INTO reorg_incidents (chain, txid, log_index, record_id, what, at_ms)
             SELECT chain, txid, log_index, record_id, ?1, ?2 FROM deposits
             WHERE chain = ?3 AND block_height > ?4",
        )
        .bind(what)
        .bind(detected_at_ms)
        .bind(chain)
        .bind(fork)
        .execute(&mut *db_tx)
        .await?
        .rows_affected();
        db_tx.commit().await?;
        Ok(RollBack {
            dropped_unconfirmed: dropped,
            flagged_credits: flagged,
        })
    }
}
