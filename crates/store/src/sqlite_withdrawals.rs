//! `WithdrawalStore` on SQLite.

use async_trait::async_trait;
use ccgate_ledger::{JournalEntry, MerchantId};

use crate::deposits::NewWebhook;
use crate::rows::{
    WITHDRAWAL_COLUMNS, refunds_within_received, to_i64, withdrawal_from_row, withdrawal_kind,
};
use crate::sqlite::post_entry_in;
use crate::sqlite_deposits::insert_webhook;
use crate::withdrawals::{Withdrawal, WithdrawalStatus, WithdrawalStore};
use crate::{EntryMeta, SqliteStore, StoreError};

#[async_trait]
impl WithdrawalStore for SqliteStore {
    async fn accept_withdrawal(
        &self,
        withdrawal: &Withdrawal,
        entry: &JournalEntry,
        meta: &EntryMeta,
        webhook: Option<&NewWebhook>,
    ) -> Result<Withdrawal, StoreError> {
        let w = withdrawal;
        let mut db_tx = self.pool.begin().await?;
        let inserted = sqlx::query(&format!(
            "INSERT INTO withdrawals ({WITHDRAWAL_COLUMNS})
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
             ON CONFLICT (app_id, merchant_order_id) DO NOTHING"
        ))
        .bind(&w.order_id)
        .bind(&w.record_id)
        .bind(w.app_id.as_str())
        .bind(&w.merchant_order_id)
        .bind(&w.fingerprint)
        .bind(w.token_id.as_str())
        .bind(w.coin_id.as_str())
        .bind(&w.chain)
        .bind(&w.to_address)
        .bind(&w.memo)
        .bind(w.value.base_units().to_string())
        .bind(w.network_fee.base_units().to_string())
        .bind(w.net_receivable.base_units().to_string())
        .bind(w.debit.base_units().to_string())
        .bind(i64::from(w.merchant_pays_fee))
        .bind(i64::from(w.to_cwallet))
        .bind(w.status.as_str())
        .bind(&w.txid)
        .bind(
            w.block_height
                .map(|h| to_i64(h, "block height"))
                .transpose()?,
        )
        .bind(w.created_at)
        .bind(w.resolved_at)
        .bind(withdrawal_kind(w))
        .bind(&w.refund_of)
        .execute(&mut *db_tx)
        .await?;
        if inserted.rows_affected() == 1 {
            if let Some(order_id) = &w.refund_of {
                // Checked here, not only by the caller: two refunds of one
                // order at once must not both fit in what it received.
                let payments: Vec<String> =
                    sqlx::query_scalar("SELECT paid_amount FROM deposits WHERE order_id = ?")
                        .bind(order_id)
                        .fetch_all(&mut *db_tx)
                        .await?;
                let refunds: Vec<String> = sqlx::query_scalar(
                    "SELECT value FROM withdrawals WHERE refund_of = ? AND status <> 'failed'",
                )
                .bind(order_id)
                .fetch_all(&mut *db_tx)
                .await?;
                refunds_within_received(order_id, &payments, &refunds)?;
            }
            // A refused entry (insufficient balance) drops the DB transaction:
            // the withdrawal row goes with it.
            post_entry_in(&mut db_tx, entry, meta).await?;
            if let Some(webhook) = webhook {
                insert_webhook(&mut db_tx, webhook).await?;
            }
            db_tx.commit().await?;
            return Ok(w.clone());
        }
        drop(db_tx);
        self.withdrawal_by_merchant_order_id(&w.app_id, &w.merchant_order_id)
            .await?
            .ok_or_else(|| StoreError::Corrupt("a stored withdrawal vanished".into()))
    }

    async fn withdrawal_by_merchant_order_id(
        &self,
        app_id: &MerchantId,
        merchant_order_id: &str,
    ) -> Result<Option<Withdrawal>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {WITHDRAWAL_COLUMNS} FROM withdrawals WHERE app_id = ? AND merchant_order_id = ?"
        ))
        .bind(app_id.as_str())
        .bind(merchant_order_id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(withdrawal_from_row).transpose()
    }

    async fn refunds_of(&self, order_id: &str) -> Result<Vec<Withdrawal>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {WITHDRAWAL_COLUMNS} FROM withdrawals WHERE refund_of = ? ORDER BY created_at, order_id"
        ))
        .bind(order_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(withdrawal_from_row).collect()
    }

    async fn open_withdrawals(&self, limit: u32) -> Result<Vec<Withdrawal>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {WITHDRAWAL_COLUMNS} FROM withdrawals
             WHERE status IN ('pending', 'processing') ORDER BY created_at, order_id LIMIT ?"
        ))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(withdrawal_from_row).collect()
    }

    async fn mark_withdrawal_sent(
        &self,
        order_id: &str,
        txid: &str,
        block_height: Option<u64>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE withdrawals SET status = 'processing', txid = ?, block_height = ?
             WHERE order_id = ? AND status = 'pending'",
        )
        .bind(txid)
        .bind(
            block_height
                .map(|height| to_i64(height, "block height"))
                .transpose()?,
        )
        .bind(order_id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn record_withdrawal_txid(&self, order_id: &str, txid: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE withdrawals SET txid = ? WHERE order_id = ? AND status = 'processing'")
            .bind(txid)
            .bind(order_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn resolve_withdrawal(
        &self,
        order_id: &str,
        status: WithdrawalStatus,
        resolved_at: i64,
        entry: &JournalEntry,
        meta: &EntryMeta,
        webhook: &NewWebhook,
    ) -> Result<bool, StoreError> {
        let mut db_tx = self.pool.begin().await?;
        // Only an open withdrawal moves: a second resolution finds none.
        let updated = sqlx::query(
            "UPDATE withdrawals SET status = ?, resolved_at = ?
             WHERE order_id = ? AND status IN ('pending', 'processing')",
        )
        .bind(status.as_str())
        .bind(resolved_at)
        .bind(order_id)
        .execute(&mut *db_tx)
        .await?;
        if updated.rows_affected() == 0 {
            return Ok(false);
        }
        post_entry_in(&mut db_tx, entry, meta).await?;
        insert_webhook(&mut db_tx, webhook).await?;
        db_tx.commit().await?;
        Ok(true)
    }
}
