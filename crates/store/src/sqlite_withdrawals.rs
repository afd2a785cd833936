//! `WithdrawalStore` on SQLite.

use async_trait::async_trait;
use ccgate_ledger::{CoinId, JournalEntry, MerchantId, TokenId};
use sqlx::Row;
use sqlx::sqlite::SqliteRow;

use crate::deposits::NewWebhook;
use crate::sqlite::{parse_amount, post_entry_in};
use crate::sqlite_deposits::{insert_webhook, to_i64, to_u64};
use crate::withdrawals::{Withdrawal, WithdrawalStatus, WithdrawalStore};
use crate::{EntryMeta, SqliteStore, StoreError};

const COLUMNS: &str = "order_id, record_id, app_id, merchant_order_id, fingerprint, token_id, \
    coin_id, chain, to_address, memo, value, network_fee, net_receivable, debit, \
    merchant_pays_fee, to_cwallet, status, txid, block_height, created_at, resolved_at, kind, \
    refund_of";

fn from_row(row: &SqliteRow) -> Result<Withdrawal, StoreError> {
    Ok(Withdrawal {
        order_id: row.try_get("order_id")?,
        record_id: row.try_get("record_id")?,
        app_id: MerchantId::new(row.try_get::<String, _>("app_id")?),
        merchant_order_id: row.try_get("merchant_order_id")?,
        fingerprint: row.try_get("fingerprint")?,
        token_id: TokenId::new(row.try_get::<String, _>("token_id")?),
        coin_id: CoinId::new(row.try_get::<String, _>("coin_id")?),
        chain: row.try_get("chain")?,
        to_address: row.try_get("to_address")?,
        memo: row.try_get("memo")?,
        value: parse_amount(row.try_get("value")?)?,
        network_fee: parse_amount(row.try_get("network_fee")?)?,
        net_receivable: parse_amount(row.try_get("net_receivable")?)?,
        debit: parse_amount(row.try_get("debit")?)?,
        merchant_pays_fee: row.try_get::<i64, _>("merchant_pays_fee")? != 0,
        to_cwallet: row.try_get::<i64, _>("to_cwallet")? != 0,
        status: WithdrawalStatus::parse(row.try_get("status")?)?,
        txid: row.try_get("txid")?,
        block_height: row
            .try_get::<Option<i64>, _>("block_height")?
            .map(|h| to_u64(h, "block height"))
            .transpose()?,
        created_at: row.try_get("created_at")?,
        resolved_at: row.try_get("resolved_at")?,
        refund_of: row.try_get("refund_of")?,
    })
}

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
            "INSERT INTO withdrawals ({COLUMNS})
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
        .bind(if w.is_refund() {
            "refund"
        } else {
            "withdrawal"
        })
        .bind(&w.refund_of)
        .execute(&mut *db_tx)
        .await?;
        if inserted.rows_affected() == 1 {
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
            "SELECT {COLUMNS} FROM withdrawals WHERE app_id = ? AND merchant_order_id = ?"
        ))
        .bind(app_id.as_str())
        .bind(merchant_order_id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(from_row).transpose()
    }

    async fn refunds_of(&self, order_id: &str) -> Result<Vec<Withdrawal>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM withdrawals WHERE refund_of = ? ORDER BY created_at, order_id"
        ))
        .bind(order_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(from_row).collect()
    }

    async fn open_withdrawals(&self, limit: u32) -> Result<Vec<Withdrawal>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM withdrawals
             WHERE status IN ('pending', 'processing') ORDER BY created_at, order_id LIMIT ?"
        ))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(from_row).collect()
    }

    async fn mark_withdrawal_sent(
        &self,
        order_id: &str,
        txid: &str,
        block_height: u64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE withdrawals SET status = 'processing', txid = ?, block_height = ?
             WHERE order_id = ? AND status = 'pending'",
        )
        .bind(txid)
        .bind(to_i64(block_height, "block height")?)
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
