//! Crediting deposits: transfers seen before their confirmations, the
//! deposits credited (each with its journal entry and webhook, a block
//! range's worth in one DB transaction), and how far each chain was scanned.

use async_trait::async_trait;
use ccgate_ledger::{Amount, MerchantId, TokenId};
use sqlx::{Database, Encode, Executor, IntoArguments, Type};

use crate::StoreError;
use crate::backend::{Backend, RowsAffected, SqlStore};
use crate::outbox::insert_webhook;
use crate::rows::{Columns, to_i64, to_u32, to_u64};
use crate::writes::{DepositCredit, NewWebhook};

/// A transfer to one of our addresses seen before its confirmations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeenTransfer {
    pub chain: String,
    pub txid: String,
    pub log_index: u32,
    pub record_id: String,
    pub app_id: MerchantId,
    pub order_id: Option<String>,
    /// The block it was seen in; a reorganisation below it forgets it.
    pub block_height: u64,
    pub block_time_ms: i64,
    pub seen_at_ms: i64,
    /// The payment itself, kept so a reorganisation that removes it before
    /// its confirmations can still notify it `failed`.
    pub from_address: String,
    pub to_address: String,
    pub memo: String,
    pub token_id: TokenId,
    /// In the coin's base units.
    pub amount: Amount,
}

#[async_trait]
pub trait CreditStore: Send + Sync + std::fmt::Debug + 'static {
    async fn chain_cursor(&self, chain: &str) -> Result<Option<u64>, StoreError>;

    async fn set_chain_cursor(&self, chain: &str, scanned_height: u64) -> Result<(), StoreError>;

    /// Records a transfer seen before its confirmations, with its `processing`
    /// webhook if the merchant wants one, in one DB transaction. `false` (and
    /// nothing written) if it was seen before.
    async fn record_seen_transfer(
        &self,
        seen: &SeenTransfer,
        webhook: Option<&NewWebhook>,
    ) -> Result<bool, StoreError> {
        let one = [(seen.clone(), webhook.cloned())];
        let recorded = self.record_seen_transfers(&one).await?;
        Ok(recorded.first().copied().unwrap_or(false))
    }

    /// [`CreditStore::record_seen_transfer`] for a block's transfers, all in
    /// one DB transaction (one durable commit, not one per transfer); per
    /// transfer, whether it was recorded now. All or none.
    async fn record_seen_transfers(
        &self,
        seen: &[(SeenTransfer, Option<NewWebhook>)],
    ) -> Result<Vec<bool>, StoreError>;

    /// The record id given to a transfer when it was first seen, if it was.
    async fn seen_record_id(
        &self,
        chain: &str,
        txid: &str,
        log_index: u32,
    ) -> Result<Option<String>, StoreError>;

    /// `seen_record_id` for every transfer of `chain` in the transactions
    /// `txids`, as (txid, log index, record id), in any order: a block's
    /// transfers looked up together (one statement per
    /// [`crate::LOOKUPS_PER_STATEMENT_MAX`] transactions).
    async fn seen_record_ids(
        &self,
        chain: &str,
        txids: &[&str],
    ) -> Result<Vec<(String, u32, String)>, StoreError>;

    async fn seen_cursor(&self, chain: &str) -> Result<Option<u64>, StoreError>;

    async fn set_seen_cursor(&self, chain: &str, seen_height: u64) -> Result<(), StoreError>;

    /// Credits confirmed transfers of `chain` and, if given, moves its cursor
    /// to `scanned_height`, in one DB transaction: each deposit is recorded,
    /// its journal entry posted and its webhook queued, and the whole batch (a
    /// block range's deposits) is one durable commit. A transfer credited
    /// before, by any instance or an earlier run, is skipped; the answer says,
    /// per credit, whether it was applied now.
    async fn credit_deposits(
        &self,
        chain: &str,
        scanned_height: Option<u64>,
        credits: &[DepositCredit],
    ) -> Result<Vec<bool>, StoreError>;
}

// One body of SQL for both backends; see `backend.rs`.
#[async_trait]
impl<S> CreditStore for S
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
    async fn chain_cursor(&self, chain: &str) -> Result<Option<u64>, StoreError> {
        let row = sqlx::query("SELECT scanned_height FROM chain_cursors WHERE chain = $1")
            .bind(chain)
            .fetch_optional(self.pool())
            .await?;
        row.map(|row| to_u64(row.int("scanned_height")?, "cursor"))
            .transpose()
    }

    async fn set_chain_cursor(&self, chain: &str, scanned_height: u64) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO chain_cursors (chain, scanned_height) VALUES ($1, $2)
             ON CONFLICT (chain) DO UPDATE SET scanned_height = excluded.scanned_height",
        )
        .bind(chain)
        .bind(to_i64(scanned_height, "height")?)
        .execute(&mut *self.write_connection().await?)
        .await?;
        Ok(())
    }

    async fn record_seen_transfers(
        &self,
        seen: &[(SeenTransfer, Option<NewWebhook>)],
    ) -> Result<Vec<bool>, StoreError> {
        if seen.is_empty() {
            return Ok(Vec::new());
        }
        let mut db_tx = self.begin_write().await?;
        let mut recorded = Vec::with_capacity(seen.len());
        for (seen, webhook) in seen {
            let inserted = sqlx::query(
                "INSERT INTO seen_transfers
                     (chain, txid, log_index, record_id, app_id, order_id, block_time_ms, seen_at_ms,
                      block_height, from_address, to_address, memo, token_id, amount)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
                 ON CONFLICT (chain, txid, log_index) DO NOTHING",
            )
            .bind(&seen.chain)
            .bind(&seen.txid)
            .bind(i64::from(seen.log_index))
            .bind(&seen.record_id)
            .bind(seen.app_id.as_str())
            .bind(&seen.order_id)
            .bind(seen.block_time_ms)
            .bind(seen.seen_at_ms)
            .bind(to_i64(seen.block_height, "block height")?)
            .bind(&seen.from_address)
            .bind(&seen.to_address)
            .bind(&seen.memo)
            .bind(seen.token_id.as_str())
            .bind(seen.amount.base_units().to_string())
            .execute(&mut *db_tx)
            .await?;
            let now = inserted.rows_affected() > 0;
            if now && let Some(webhook) = webhook {
                insert_webhook::<S::Db>(&mut db_tx, webhook).await?;
            }
            recorded.push(now);
        }
        db_tx.commit().await?;
        Ok(recorded)
    }

    async fn seen_record_id(
        &self,
        chain: &str,
        txid: &str,
        log_index: u32,
    ) -> Result<Option<String>, StoreError> {
        let row = sqlx::query(
            "SELECT record_id FROM seen_transfers WHERE chain = $1 AND txid = $2 AND log_index = $3",
        )
        .bind(chain)
        .bind(txid)
        .bind(i64::from(log_index))
        .fetch_optional(self.pool())
        .await?;
        row.map(|row| row.text("record_id")).transpose()
    }

    async fn seen_record_ids(
        &self,
        chain: &str,
        txids: &[&str],
    ) -> Result<Vec<(String, u32, String)>, StoreError> {
        let mut found = Vec::new();
        for chunk in txids.chunks(crate::addresses::LOOKUPS_PER_STATEMENT_MAX) {
            let statement = format!(
                "SELECT txid, log_index, record_id FROM seen_transfers
                 WHERE chain = {} AND txid IN ({})",
                S::Db::placeholder(1),
                crate::backend::placeholders::<S::Db>(2, chunk.len())
            );
            let mut query = sqlx::query(&statement).bind(chain);
            for txid in chunk {
                query = query.bind(*txid);
            }
            for row in query.fetch_all(self.pool()).await? {
                found.push((
                    row.text("txid")?,
                    to_u32(row.int("log_index")?, "log index")?,
                    row.text("record_id")?,
                ));
            }
        }
        Ok(found)
    }

    async fn seen_cursor(&self, chain: &str) -> Result<Option<u64>, StoreError> {
        let row = sqlx::query("SELECT seen_height FROM chain_seen_cursors WHERE chain = $1")
            .bind(chain)
            .fetch_optional(self.pool())
            .await?;
        row.map(|row| to_u64(row.int("seen_height")?, "cursor"))
            .transpose()
    }

    async fn set_seen_cursor(&self, chain: &str, seen_height: u64) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO chain_seen_cursors (chain, seen_height) VALUES ($1, $2)
             ON CONFLICT (chain) DO UPDATE SET seen_height = excluded.seen_height",
        )
        .bind(chain)
        .bind(to_i64(seen_height, "height")?)
        .execute(&mut *self.write_connection().await?)
        .await?;
        Ok(())
    }

    async fn credit_deposits(
        &self,
        chain: &str,
        scanned_height: Option<u64>,
        credits: &[DepositCredit],
    ) -> Result<Vec<bool>, StoreError> {
        let mut db_tx = self.begin_write_with(S::Db::BEGIN_WRITE).await?;
        S::Db::lock_credits_of(&mut db_tx, chain).await?;
        let mut fresh = S::Db::uncredited(&mut db_tx, chain, credits).await?;
        mark_repeats_within(credits, &mut fresh);
        let applied: Vec<&DepositCredit> = credits
            .iter()
            .zip(&fresh)
            .filter_map(|(credit, &is_fresh)| is_fresh.then_some(credit))
            .collect();
        let entries: Vec<_> = applied.iter().map(|c| (&c.entry, &c.meta)).collect();
        let entry_ids = S::Db::post_entries_in(&mut db_tx, &entries).await?;
        S::Db::insert_credited(&mut db_tx, &applied, &entry_ids).await?;
        if let Some(height) = scanned_height {
            sqlx::query(
                "INSERT INTO chain_cursors (chain, scanned_height) VALUES ($1, $2)
                 ON CONFLICT (chain) DO UPDATE SET scanned_height = excluded.scanned_height",
            )
            .bind(chain)
            .bind(to_i64(height, "height")?)
            .execute(&mut *db_tx)
            .await?;
        }
        db_tx.commit().await?;
        Ok(fresh)
    }
}

/// Clears `fresh` for a transfer that appears earlier in the same batch, so a
/// chain adapter repeating itself cannot credit one transfer twice.
fn mark_repeats_within(credits: &[DepositCredit], fresh: &mut [bool]) {
    let mut keys = std::collections::HashSet::with_capacity(credits.len());
    for (credit, is_fresh) in credits.iter().zip(fresh.iter_mut()) {
        let transfer = &credit.deposit.transfer;
        if !keys.insert((&transfer.txid, transfer.log_index)) {
            *is_fresh = false;
        }
    }
}
