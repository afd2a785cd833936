//! `PayoutStore` on PostgreSQL.

use async_trait::async_trait;

use crate::payouts::{PayoutInsert, PayoutStore, SignedPayout};
use crate::rows::{Columns, PAYOUT_COLUMNS, payout_from_row, to_i64, to_u64};
use crate::{PgStore, StoreError};

#[async_trait]
impl PayoutStore for PgStore {
    async fn signed_payout(
        &self,
        chain: &str,
        payout_id: &str,
    ) -> Result<Option<SignedPayout>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {PAYOUT_COLUMNS} FROM evm_payouts WHERE chain = $1 AND payout_id = $2"
        ))
        .bind(chain)
        .bind(payout_id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(payout_from_row).transpose()
    }

    async fn payout_by_txid(
        &self,
        chain: &str,
        txid: &str,
    ) -> Result<Option<SignedPayout>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {PAYOUT_COLUMNS} FROM evm_payouts WHERE chain = $1 AND txid = $2"
        ))
        .bind(chain)
        .bind(txid)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(payout_from_row).transpose()
    }

    async fn insert_signed_payout(
        &self,
        payout: &SignedPayout,
    ) -> Result<PayoutInsert, StoreError> {
        // Either uniqueness (payout id, or wallet and nonce) refuses the row;
        // which one decides what the caller does next.
        let inserted = sqlx::query(&format!(
            "INSERT INTO evm_payouts ({PAYOUT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
             ON CONFLICT DO NOTHING"
        ))
        .bind(&payout.chain)
        .bind(&payout.payout_id)
        .bind(&payout.from_address)
        .bind(to_i64(payout.nonce, "payout nonce")?)
        .bind(&payout.txid)
        .bind(&payout.raw_tx)
        .bind(payout.created_at_ms)
        .bind(i64::from(payout.replacements))
        .execute(&self.pool)
        .await?
        .rows_affected();
        if inserted == 1 {
            return Ok(PayoutInsert::Inserted);
        }
        Ok(
            match self.signed_payout(&payout.chain, &payout.payout_id).await? {
                Some(existing) => PayoutInsert::Existing(existing),
                None => PayoutInsert::NonceTaken,
            },
        )
    }

    async fn payout_nonces(
        &self,
        chain: &str,
        from_address: &str,
        from_nonce: u64,
        limit: u32,
    ) -> Result<Vec<u64>, StoreError> {
        let rows = sqlx::query(
            "SELECT nonce FROM evm_payouts WHERE chain = $1 AND from_address = $2 AND nonce >= $3
             ORDER BY nonce LIMIT $4",
        )
        .bind(chain)
        .bind(from_address)
        .bind(to_i64(from_nonce, "payout nonce")?)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| to_u64(row.int("nonce")?, "payout nonce"))
            .collect()
    }

    async fn replace_signed_payout(
        &self,
        current: &SignedPayout,
        replacement: &SignedPayout,
    ) -> Result<bool, StoreError> {
        // The guarded UPDATE comes first: of two instances replacing the same
        // transaction, the second finds it gone and writes nothing.
        let mut db_tx = self.pool.begin().await?;
        let replaced = sqlx::query(
            "UPDATE evm_payouts SET txid = $1, raw_tx = $2, created_at_ms = $3,
                 replacements = replacements + 1
             WHERE chain = $4 AND payout_id = $5 AND txid = $6",
        )
        .bind(&replacement.txid)
        .bind(&replacement.raw_tx)
        .bind(replacement.created_at_ms)
        .bind(&current.chain)
        .bind(&current.payout_id)
        .bind(&current.txid)
        .execute(&mut *db_tx)
        .await?
        .rows_affected();
        if replaced == 0 {
            return Ok(false);
        }
        sqlx::query(
            "INSERT INTO evm_payout_replaced (chain, payout_id, round, txid, raw_tx, created_at_ms)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&current.chain)
        .bind(&current.payout_id)
        .bind(i64::from(current.replacements))
        .bind(&current.txid)
        .bind(&current.raw_tx)
        .bind(current.created_at_ms)
        .execute(&mut *db_tx)
        .await?;
        db_tx.commit().await?;
        Ok(true)
    }

    async fn replaced_payout_txids(
        &self,
        chain: &str,
        payout_id: &str,
    ) -> Result<Vec<String>, StoreError> {
        let rows = sqlx::query(
            "SELECT txid FROM evm_payout_replaced WHERE chain = $1 AND payout_id = $2
             ORDER BY round",
        )
        .bind(chain)
        .bind(payout_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|row| row.text("txid")).collect()
    }

    async fn forget_signed_payout(&self, chain: &str, payout_id: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM evm_payouts WHERE chain = $1 AND payout_id = $2")
            .bind(chain)
            .bind(payout_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
