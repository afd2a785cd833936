//! Payouts signed for EVM chains: one record per payout id, written before
//! the broadcast, so every instance and every re-send after a crash
//! broadcasts those same bytes and a payout can never be paid twice.

use async_trait::async_trait;
use sqlx::{Database, Encode, Executor, IntoArguments, Type};

use crate::StoreError;
use crate::backend::{Backend, RowsAffected, SqlStore};
use crate::rows::{Columns, to_i64, to_u32, to_u64};

/// A signed transaction paying out one withdrawal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedPayout {
    pub chain: String,
    /// The withdrawal's order id.
    pub payout_id: String,
    /// The hot wallet that signed it.
    pub from_address: String,
    pub nonce: u64,
    pub txid: String,
    /// The signed EIP-2718 envelope, `0x` hex, exactly as broadcast.
    pub raw_tx: String,
    /// When this transaction (the newest of the payout) was signed.
    pub created_at_ms: i64,
    /// How many times the payout was signed again, stuck in the mempool: the
    /// transactions replaced are kept (`replaced_payout_txids`), since any
    /// one of them may still be the one mined.
    pub replacements: u32,
}

/// What storing a signed payout did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PayoutInsert {
    Inserted,
    /// The payout was signed before (by another instance, or before a
    /// crash): that transaction is the one to broadcast.
    Existing(SignedPayout),
    /// Another payout of the wallet holds this nonce; sign again with another.
    NonceTaken,
}

#[async_trait]
pub trait PayoutStore: Send + Sync + std::fmt::Debug + 'static {
    async fn signed_payout(
        &self,
        chain: &str,
        payout_id: &str,
    ) -> Result<Option<SignedPayout>, StoreError>;

    /// The payout whose transaction is `txid`, if one of ours.
    async fn payout_by_txid(
        &self,
        chain: &str,
        txid: &str,
    ) -> Result<Option<SignedPayout>, StoreError>;

    /// Stores `payout` unless its payout id or its (wallet, nonce) is taken.
    async fn insert_signed_payout(&self, payout: &SignedPayout)
    -> Result<PayoutInsert, StoreError>;

    /// The nonces at or above `from_nonce` held by payouts of `from_address`,
    /// ascending, at most `limit`.
    async fn payout_nonces(
        &self,
        chain: &str,
        from_address: &str,
        from_nonce: u64,
        limit: u32,
    ) -> Result<Vec<u64>, StoreError>;

    /// Makes `replacement` (same payout, same nonce, higher fees) the
    /// payout's transaction and keeps `current` among the replaced, in one DB
    /// transaction — unless `current` is no longer the payout's newest
    /// (another instance replaced it first): then `false`, nothing written,
    /// and `replacement` must never be broadcast.
    async fn replace_signed_payout(
        &self,
        current: &SignedPayout,
        replacement: &SignedPayout,
    ) -> Result<bool, StoreError>;

    /// The chain's signed payouts (withdrawals, refunds, sweeps' gas
    /// top-ups), highest nonce first, at most `limit`.
    async fn signed_payouts(
        &self,
        chain: &str,
        limit: u32,
    ) -> Result<Vec<SignedPayout>, StoreError>;

    /// The transactions `replace_signed_payout` replaced, oldest first.
    async fn replaced_payout_txids(
        &self,
        chain: &str,
        payout_id: &str,
    ) -> Result<Vec<String>, StoreError>;

    /// Drops a payout the node refused outright (never in any mempool), so
    /// its nonce is free again and no later payout waits behind a gap.
    async fn forget_signed_payout(&self, chain: &str, payout_id: &str) -> Result<(), StoreError>;
}

// One body of SQL for both backends; see `backend.rs`.
#[async_trait]
impl<S> PayoutStore for S
where
    S: SqlStore,
    for<'c> &'c mut <S::Db as Database>::Connection: Executor<'c, Database = S::Db>,
    for<'q> <S::Db as Database>::Arguments<'q>: IntoArguments<'q, S::Db>,
    for<'q> &'q str: Encode<'q, S::Db> + Type<S::Db>,
    for<'q> String: Encode<'q, S::Db> + Type<S::Db>,
    for<'q> i64: Encode<'q, S::Db> + Type<S::Db>,
{
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
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(payout_from_row).transpose()
    }

    async fn signed_payouts(
        &self,
        chain: &str,
        limit: u32,
    ) -> Result<Vec<SignedPayout>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {PAYOUT_COLUMNS} FROM evm_payouts WHERE chain = $1
             ORDER BY nonce DESC, from_address LIMIT $2"
        ))
        .bind(chain)
        .bind(i64::from(limit))
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(payout_from_row).collect()
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
        .fetch_optional(self.pool())
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
        .execute(&mut *self.write_connection().await?)
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
        .fetch_all(self.pool())
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
        let mut db_tx = self.begin_write_with(S::Db::BEGIN_WRITE).await?;
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
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(|row| row.text("txid")).collect()
    }

    async fn forget_signed_payout(&self, chain: &str, payout_id: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM evm_payouts WHERE chain = $1 AND payout_id = $2")
            .bind(chain)
            .bind(payout_id)
            .execute(&mut *self.write_connection().await?)
            .await?;
        Ok(())
    }
}

pub(crate) const PAYOUT_COLUMNS: &str =
    "chain, payout_id, from_address, nonce, txid, raw_tx, created_at_ms, replacements";

pub(crate) fn payout_from_row(row: &impl Columns) -> Result<SignedPayout, StoreError> {
    Ok(SignedPayout {
        chain: row.text("chain")?,
        payout_id: row.text("payout_id")?,
        from_address: row.text("from_address")?,
        nonce: to_u64(row.int("nonce")?, "payout nonce")?,
        txid: row.text("txid")?,
        raw_tx: row.text("raw_tx")?,
        created_at_ms: row.int("created_at_ms")?,
        replacements: to_u32(row.int("replacements")?, "payout replacements")?,
    })
}
