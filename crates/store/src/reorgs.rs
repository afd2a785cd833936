//! What following a chain through reorganisations keeps: the hashes of the
//! recent blocks, to notice the chain changed under them. A reorganisation
//! that replaces blocks already credited is reported in `reorg_incidents`
//! (the sandbox's devnet reorgs report there too).

use async_trait::async_trait;
use sqlx::{Database, Encode, Executor, IntoArguments, Type};

use crate::StoreError;
use crate::backend::{RowsAffected, SqlStore};
use crate::outbox::insert_webhook;
use crate::rows::{Columns, parse_amount, to_i64, to_u32, to_u64};
use crate::writes::{ChainTransfer, NewWebhook};

pub use ccgate_ledger::BlockLink;

/// A payment seen before its confirmations that a reorganisation may remove.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnconfirmedPayment {
    pub transfer: ChainTransfer,
    /// The record id its `processing` webhook carried.
    pub record_id: String,
}

/// What rolling a chain back did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RollBack {
    /// Payments seen in the dropped blocks and not credited, forgotten.
    pub dropped_unconfirmed: u64,
    /// Credits in the dropped blocks: kept, each reported as a reorg
    /// incident for the operator (`ccgate doctor`).
    pub flagged_credits: u64,
}

#[async_trait]
pub trait ReorgStore: Send + Sync + std::fmt::Debug + 'static {
    /// The newest linked block of `chain`.
    async fn latest_block_link(&self, chain: &str) -> Result<Option<BlockLink>, StoreError>;

    /// Linked blocks of `chain` from `height` down, newest first, at most `limit`.
    async fn block_links_down_from(
        &self,
        chain: &str,
        height: u64,
        limit: u32,
    ) -> Result<Vec<BlockLink>, StoreError>;

    /// Stores `links` (replacing any at their heights) and forgets those
    /// below `keep_from_height`.
    async fn record_block_links(
        &self,
        chain: &str,
        links: &[BlockLink],
        keep_from_height: u64,
    ) -> Result<(), StoreError>;

    /// Payments of `chain` seen in blocks above `height` and not credited.
    async fn unconfirmed_payments_above(
        &self,
        chain: &str,
        height: u64,
    ) -> Result<Vec<UnconfirmedPayment>, StoreError>;

    /// Rolls `chain` back to `fork_height`, in one DB transaction: links
    /// above it are dropped, both cursors moved back to it (so the new branch
    /// is scanned again), payments seen above it and not credited forgotten
    /// (`webhooks`, their `failed` notices, queued), and each credit above it
    /// reported as a reorg incident.
    async fn roll_back_chain(
        &self,
        chain: &str,
        fork_height: u64,
        detected_at_ms: i64,
        webhooks: &[NewWebhook],
    ) -> Result<RollBack, StoreError>;
}

// One body of SQL for both backends; see `backend.rs`.
#[async_trait]
impl<S> ReorgStore for S
where
    S: SqlStore,
    for<'c> &'c mut <S::Db as Database>::Connection: Executor<'c, Database = S::Db>,
    for<'q> <S::Db as Database>::Arguments<'q>: IntoArguments<'q, S::Db>,
    for<'q> &'q str: Encode<'q, S::Db> + Type<S::Db>,
    for<'q> String: Encode<'q, S::Db> + Type<S::Db>,
    for<'q> i64: Encode<'q, S::Db> + Type<S::Db>,
    // sqlx encodes `Option` per backend, not for every `T: Encode`.
    for<'q> Option<String>: Encode<'q, S::Db>,
{
    async fn latest_block_link(&self, chain: &str) -> Result<Option<BlockLink>, StoreError> {
        let row = sqlx::query(
            "SELECT height, hash, parent_hash FROM chain_block_links WHERE chain = $1
             ORDER BY height DESC LIMIT 1",
        )
        .bind(chain)
        .fetch_optional(self.pool())
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
             WHERE chain = $1 AND height <= $2 ORDER BY height DESC LIMIT $3",
        )
        .bind(chain)
        .bind(to_i64(height, "block height")?)
        .bind(i64::from(limit))
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(block_link_from_row).collect()
    }

    async fn record_block_links(
        &self,
        chain: &str,
        links: &[BlockLink],
        keep_from_height: u64,
    ) -> Result<(), StoreError> {
        let mut db_tx = self.begin_write().await?;
        for link in links {
            sqlx::query(
                "INSERT INTO chain_block_links (chain, height, hash, parent_hash)
                 VALUES ($1, $2, $3, $4)
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
        sqlx::query("DELETE FROM chain_block_links WHERE chain = $1 AND height < $2")
            .bind(chain)
            .bind(to_i64(keep_from_height, "block height")?)
            .execute(&mut *db_tx)
            .await?;
        db_tx.commit().await?;
        Ok(())
    }

    async fn unconfirmed_payments_above(
        &self,
        chain: &str,
        height: u64,
    ) -> Result<Vec<UnconfirmedPayment>, StoreError> {
        let rows = sqlx::query(
            "SELECT chain, txid, log_index, record_id, block_height, block_time_ms, from_address,
                    to_address, memo, token_id, amount
             FROM seen_transfers s WHERE chain = $1 AND block_height > $2 AND amount IS NOT NULL
             AND NOT EXISTS (SELECT 1 FROM deposits d WHERE d.chain = s.chain
                             AND d.txid = s.txid AND d.log_index = s.log_index)
             ORDER BY block_height, txid, log_index",
        )
        .bind(chain)
        .bind(to_i64(height, "block height")?)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|row| {
                let text = |column: &str| -> Result<String, StoreError> {
                    Ok(row.opt_text(column)?.unwrap_or_default())
                };
                Ok(UnconfirmedPayment {
                    transfer: ChainTransfer {
                        chain: row.text("chain")?,
                        txid: row.text("txid")?,
                        log_index: to_u32(row.int("log_index")?, "log index")?,
                        block_height: to_u64(
                            row.opt_int("block_height")?.unwrap_or_default(),
                            "block height",
                        )?,
                        block_time_ms: row.int("block_time_ms")?,
                        from_address: text("from_address")?,
                        to_address: text("to_address")?,
                        memo: text("memo")?,
                        token_id: ccgate_ledger::TokenId::new(text("token_id")?),
                        amount: parse_amount(&text("amount")?)?,
                    },
                    record_id: row.text("record_id")?,
                })
            })
            .collect()
    }

    async fn roll_back_chain(
        &self,
        chain: &str,
        fork_height: u64,
        detected_at_ms: i64,
        webhooks: &[NewWebhook],
    ) -> Result<RollBack, StoreError> {
        let fork = to_i64(fork_height, "block height")?;
        let mut db_tx = self.begin_write().await?;
        sqlx::query("DELETE FROM chain_block_links WHERE chain = $1 AND height > $2")
            .bind(chain)
            .bind(fork)
            .execute(&mut *db_tx)
            .await?;
        sqlx::query(
            "UPDATE chain_cursors SET scanned_height = $1 WHERE chain = $2 AND scanned_height > $1",
        )
        .bind(fork)
        .bind(chain)
        .execute(&mut *db_tx)
        .await?;
        sqlx::query(
            "UPDATE chain_seen_cursors SET seen_height = $1 WHERE chain = $2 AND seen_height > $1",
        )
        .bind(fork)
        .bind(chain)
        .execute(&mut *db_tx)
        .await?;
        let dropped = sqlx::query(
            "DELETE FROM seen_transfers WHERE chain = $1 AND block_height > $2
             AND NOT EXISTS (SELECT 1 FROM deposits d WHERE d.chain = seen_transfers.chain
                             AND d.txid = seen_transfers.txid AND d.log_index = seen_transfers.log_index)",
        )
        .bind(chain)
        .bind(fork)
        .execute(&mut *db_tx)
        .await?
        .rows_affected();
        for webhook in webhooks {
            insert_webhook::<S::Db>(&mut db_tx, webhook).await?;
        }
        // Credits stand; each one in a replaced block is reported.
        let what = format!(
            "credited, then its block (above {fork_height}) was replaced by a reorganisation \
             deeper than the confirmations: the credit stands; check the transaction is in the \
             chain again, else reconcile by hand (`ccgate ledger adjust`)"
        );
        let flagged = sqlx::query(
            "INSERT INTO reorg_incidents (chain, txid, log_index, record_id, what, at_ms)
             SELECT chain, txid, log_index, record_id, $1, $2 FROM deposits
             WHERE chain = $3 AND block_height > $4",
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

fn block_link_from_row(row: &impl Columns) -> Result<BlockLink, StoreError> {
    Ok(BlockLink {
        height: to_u64(row.int("height")?, "block height")?,
        hash: row.text("hash")?,
        parent_hash: row.text("parent_hash")?,
    })
}
