//! `SweepStore` on PostgreSQL.

use async_trait::async_trait;
use ccgate_ledger::JournalEntry;

use super::post_entry_in;
use crate::rows::{
    Columns, SWEEP_COLUMNS, SWEEP_REVERTED, SWEEP_SUCCEEDED, sweep_record_from_row, to_i64,
};
use crate::sweeps::{SignedSweep, SweepInsert, SweepRecord, SweepSettlement, SweepStore};
use crate::{EntryMeta, PgStore, StoreError};

impl PgStore {
    async fn signed_sweep(
        &self,
        chain: &str,
        sweep_id: &str,
    ) -> Result<Option<SignedSweep>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {SWEEP_COLUMNS} FROM evm_sweeps WHERE chain = $1 AND sweep_id = $2"
        ))
        .bind(chain)
        .bind(sweep_id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row
            .as_ref()
            .map(sweep_record_from_row)
            .transpose()?
            .map(|record| record.sweep))
    }
}

#[async_trait]
impl SweepStore for PgStore {
    async fn insert_signed_sweep(&self, sweep: &SignedSweep) -> Result<SweepInsert, StoreError> {
        // Either uniqueness (sweep id, or address and nonce) refuses the row;
        // which one decides what the caller does next.
        let inserted = sqlx::query(
            "INSERT INTO evm_sweeps (chain, sweep_id, from_address, to_address, token_id, amount,
                 nonce, txid, raw_tx, top_up_payout_id, created_at_ms)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
             ON CONFLICT DO NOTHING",
        )
        .bind(&sweep.chain)
        .bind(&sweep.sweep_id)
        .bind(&sweep.from_address)
        .bind(&sweep.to_address)
        .bind(&sweep.token_id)
        .bind(sweep.amount.base_units().to_string())
        .bind(to_i64(sweep.nonce, "sweep nonce")?)
        .bind(&sweep.txid)
        .bind(&sweep.raw_tx)
        .bind(&sweep.top_up_payout_id)
        .bind(sweep.created_at_ms)
        .execute(&self.pool)
        .await?
        .rows_affected();
        if inserted == 1 {
            return Ok(SweepInsert::Inserted);
        }
        Ok(
            match self.signed_sweep(&sweep.chain, &sweep.sweep_id).await? {
                Some(existing) => SweepInsert::Existing(Box::new(existing)),
                None => SweepInsert::NonceTaken,
            },
        )
    }

    async fn open_sweeps(&self, chain: &str) -> Result<Vec<SignedSweep>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {SWEEP_COLUMNS} FROM evm_sweeps
             WHERE chain = $1 AND settled_at_ms IS NULL
             ORDER BY created_at_ms, sweep_id"
        ))
        .bind(chain)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| sweep_record_from_row(row).map(|record| record.sweep))
            .collect()
    }

    async fn forget_signed_sweep(&self, chain: &str, sweep_id: &str) -> Result<(), StoreError> {
        sqlx::query(
            "DELETE FROM evm_sweeps WHERE chain = $1 AND sweep_id = $2 AND settled_at_ms IS NULL",
        )
        .bind(chain)
        .bind(sweep_id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn settle_sweep(
        &self,
        chain: &str,
        sweep_id: &str,
        settlement: &SweepSettlement,
        cost_entry: Option<(&JournalEntry, &EntryMeta)>,
    ) -> Result<bool, StoreError> {
        let mut db_tx = self.pool.begin().await?;
        // Only an open sweep settles: a second settlement finds none, and
        // posts no second cost.
        let updated = sqlx::query(
            "UPDATE evm_sweeps SET outcome = $1, gas_cost = $2, settled_at_ms = $3
             WHERE chain = $4 AND sweep_id = $5 AND settled_at_ms IS NULL",
        )
        .bind(if settlement.succeeded {
            SWEEP_SUCCEEDED
        } else {
            SWEEP_REVERTED
        })
        .bind(settlement.gas_cost.base_units().to_string())
        .bind(settlement.settled_at_ms)
        .bind(chain)
        .bind(sweep_id)
        .execute(&mut *db_tx)
        .await?;
        if updated.rows_affected() == 0 {
            return Ok(false);
        }
        if let Some((entry, meta)) = cost_entry {
            post_entry_in(&mut db_tx, entry, meta).await?;
        }
        db_tx.commit().await?;
        Ok(true)
    }

    async fn credited_deposit_addresses(
        &self,
        chain: &str,
        after: &str,
        limit: u32,
    ) -> Result<Vec<(String, u32)>, StoreError> {
        let rows = sqlx::query(
            "SELECT address, derivation_index FROM deposit_addresses AS owned
             WHERE chain = $1 AND address > $2
               AND EXISTS (SELECT 1 FROM deposits
                           WHERE deposits.chain = owned.chain AND deposits.address = owned.address)
             ORDER BY address LIMIT $3",
        )
        .bind(chain)
        .bind(after)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let index = u32::try_from(row.int("derivation_index")?)
                    .map_err(|_| StoreError::Corrupt("a derivation index beyond u32".to_owned()))?;
                Ok((row.text("address")?, index))
            })
            .collect()
    }

    async fn sweeps(&self, chain: &str, limit: u32) -> Result<Vec<SweepRecord>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {SWEEP_COLUMNS} FROM evm_sweeps WHERE chain = $1
             ORDER BY created_at_ms DESC, sweep_id DESC LIMIT $2"
        ))
        .bind(chain)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(sweep_record_from_row).collect()
    }

    async fn sweeps_of(
        &self,
        chain: &str,
        from_address: &str,
        token_id: &str,
        limit: u32,
    ) -> Result<Vec<SweepRecord>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {SWEEP_COLUMNS} FROM evm_sweeps
             WHERE chain = $1 AND from_address = $2 AND token_id = $3
             ORDER BY created_at_ms DESC, sweep_id DESC LIMIT $4"
        ))
        .bind(chain)
        .bind(from_address)
        .bind(token_id)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(sweep_record_from_row).collect()
    }
}
