//! Sweeps on EVM chains: a deposit address's balance of one token moved to
//! the hot wallet. Each sweep's transaction is signed once and stored before its
//! broadcast (insert-once per sweep id, one transaction per (address, nonce)),
//! so restarts and several instances never send two; once its receipt is
//! read, the gas it cost is posted to the journal in the same DB transaction
//! that marks it settled.

use async_trait::async_trait;
use ccgate_ledger::{Amount, JournalEntry};
use sqlx::{Database, Encode, Executor, IntoArguments, Type};

use crate::StoreError;
use crate::backend::{Backend, RowsAffected, SqlStore};
use crate::rows::{Columns, parse_amount, to_i64, to_u32, to_u64};
use crate::writes::EntryMeta;

/// A signed sweep transaction, as stored before its broadcast.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedSweep {
    pub chain: String,
    /// `<deposit address>:<nonce>`: the same for every instance that signs
    /// the sweep of that address at that nonce.
    pub sweep_id: String,
    /// The deposit address swept (the signer).
    pub from_address: String,
    /// The hot wallet.
    pub to_address: String,
    pub token_id: String,
    /// What the sweep moves, in the coin's base units.
    pub amount: Amount,
    pub nonce: u64,
    pub txid: String,
    /// The signed EIP-2718 envelope, `0x` hex, exactly as broadcast.
    pub raw_tx: String,
    /// The hot wallet's payout that paid this sweep's gas (an ERC-20 sweep
    /// from an address without enough of the native coin), if any.
    pub top_up_payout_id: Option<String>,
    pub created_at_ms: i64,
}

/// Where a sweep stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SweepRecord {
    pub sweep: SignedSweep,
    /// `None` while in flight.
    pub settled: Option<SweepSettlement>,
}

/// How a sweep ended, read from its receipt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SweepSettlement {
    /// Whether the transaction succeeded (a reverted one moved nothing but
    /// still paid its gas).
    pub succeeded: bool,
    /// Gas paid by the sweep and its top-up, in the native coin's base units.
    pub gas_cost: Amount,
    pub settled_at_ms: i64,
}

/// A deposit address the sweeper must look at: credited since its last look
/// that found nothing to sweep.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SweepDue {
    pub address: String,
    pub derivation_index: u32,
    /// How many deposits it had been credited when listed.
    pub credits: u64,
}

/// What storing a signed sweep did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SweepInsert {
    Inserted,
    /// Signed before (by another instance, or before a crash): that transaction
    /// is the one to broadcast.
    Existing(Box<SignedSweep>),
    /// Another sweep of the address holds this nonce.
    NonceTaken,
}

#[async_trait]
pub trait SweepStore: Send + Sync + std::fmt::Debug + 'static {
    /// Stores `sweep` unless its sweep id or its (address, nonce) is taken.
    async fn insert_signed_sweep(&self, sweep: &SignedSweep) -> Result<SweepInsert, StoreError>;

    /// The chain's sweeps not yet settled, oldest first.
    async fn open_sweeps(&self, chain: &str) -> Result<Vec<SignedSweep>, StoreError>;

    /// Drops a sweep the node refused outright (never in any mempool), so
    /// its nonce is free again.
    async fn forget_signed_sweep(&self, chain: &str, sweep_id: &str) -> Result<(), StoreError>;

    /// Marks an open sweep settled and posts its gas `cost_entry` (if any
    /// gas was paid) in one DB transaction; `false` if it was settled
    /// already (by another instance), and then nothing is posted.
    async fn settle_sweep(
        &self,
        chain: &str,
        sweep_id: &str,
        settlement: &SweepSettlement,
        cost_entry: Option<(&JournalEntry, &EntryMeta)>,
    ) -> Result<bool, StoreError>;

    /// The chain's deposit addresses that were ever credited a deposit, with
    /// their derivation index, in address order after `after`, at most
    /// `limit`: the ones that may hold something to sweep.
    async fn credited_deposit_addresses(
        &self,
        chain: &str,
        after: &str,
        limit: u32,
    ) -> Result<Vec<(String, u32)>, StoreError>;

    /// The chain's deposit addresses credited since the sweeper last found
    /// nothing to sweep at them, least recently looked at first, at most
    /// `limit`: what a sweep tick reads from the node, however many
    /// addresses the chain has.
    async fn addresses_due_for_sweep(
        &self,
        chain: &str,
        limit: u32,
    ) -> Result<Vec<SweepDue>, StoreError>;

    /// The sweeper looked at `address`; `cleared`: nothing was left to sweep
    /// of its first `credits` deposits, so it is due again only after another.
    async fn record_sweep_look(
        &self,
        chain: &str,
        address: &str,
        credits: u64,
        cleared: bool,
        at_ms: i64,
    ) -> Result<(), StoreError>;

    /// The chain's sweeps, newest first, at most `limit`.
    async fn sweeps(&self, chain: &str, limit: u32) -> Result<Vec<SweepRecord>, StoreError>;

    /// The sweeps of one token from one deposit address, newest first, at
    /// most `limit`: how its last attempts ended.
    async fn sweeps_of(
        &self,
        chain: &str,
        from_address: &str,
        token_id: &str,
        limit: u32,
    ) -> Result<Vec<SweepRecord>, StoreError>;
}

// One body of SQL for both backends; see `backend.rs`.
#[async_trait]
impl<S> SweepStore for S
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
        .execute(&mut *self.write_connection().await?)
        .await?
        .rows_affected();
        if inserted == 1 {
            return Ok(SweepInsert::Inserted);
        }
        let existing = sqlx::query(&format!(
            "SELECT {SWEEP_COLUMNS} FROM evm_sweeps WHERE chain = $1 AND sweep_id = $2"
        ))
        .bind(&sweep.chain)
        .bind(&sweep.sweep_id)
        .fetch_optional(self.pool())
        .await?;
        Ok(
            match existing.as_ref().map(sweep_record_from_row).transpose()? {
                Some(existing) => SweepInsert::Existing(Box::new(existing.sweep)),
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
        .fetch_all(self.pool())
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
        .execute(&mut *self.write_connection().await?)
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
        let mut db_tx = self.begin_write().await?;
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
            S::Db::post_entry_in(&mut db_tx, entry, meta).await?;
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
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|row| {
                let index = to_u32(row.int("derivation_index")?, "derivation index")?;
                Ok((row.text("address")?, index))
            })
            .collect()
    }

    async fn addresses_due_for_sweep(
        &self,
        chain: &str,
        limit: u32,
    ) -> Result<Vec<SweepDue>, StoreError> {
        let rows = sqlx::query(
            "SELECT address, derivation_index, credits FROM deposit_addresses
             WHERE chain = $1 AND credits > sweep_seen
             ORDER BY sweep_looked_at_ms, address LIMIT $2",
        )
        .bind(chain)
        .bind(i64::from(limit))
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|row| {
                Ok(SweepDue {
                    address: row.text("address")?,
                    derivation_index: to_u32(row.int("derivation_index")?, "derivation index")?,
                    credits: to_u64(row.int("credits")?, "credits")?,
                })
            })
            .collect()
    }

    async fn record_sweep_look(
        &self,
        chain: &str,
        address: &str,
        credits: u64,
        cleared: bool,
        at_ms: i64,
    ) -> Result<(), StoreError> {
        let credits = to_i64(credits, "credits")?;
        sqlx::query(
            "UPDATE deposit_addresses
             SET sweep_looked_at_ms = $1,
                 sweep_seen = CASE WHEN $2 = 1 AND $3 > sweep_seen THEN $3 ELSE sweep_seen END
             WHERE chain = $4 AND address = $5",
        )
        .bind(at_ms)
        .bind(i64::from(cleared))
        .bind(credits)
        .bind(chain)
        .bind(address)
        .execute(&mut *self.write_connection().await?)
        .await?;
        Ok(())
    }

    async fn sweeps(&self, chain: &str, limit: u32) -> Result<Vec<SweepRecord>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {SWEEP_COLUMNS} FROM evm_sweeps WHERE chain = $1
             ORDER BY created_at_ms DESC, sweep_id DESC LIMIT $2"
        ))
        .bind(chain)
        .bind(i64::from(limit))
        .fetch_all(self.pool())
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
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(sweep_record_from_row).collect()
    }
}

pub(crate) const SWEEP_COLUMNS: &str = "chain, sweep_id, from_address, to_address, token_id, amount, \
     nonce, txid, raw_tx, top_up_payout_id, created_at_ms, outcome, gas_cost, settled_at_ms";

/// The stored words for a settled sweep's outcome.
const SWEEP_SUCCEEDED: &str = "succeeded";

const SWEEP_REVERTED: &str = "reverted";

pub(crate) fn sweep_record_from_row(row: &impl Columns) -> Result<SweepRecord, StoreError> {
    let sweep = SignedSweep {
        chain: row.text("chain")?,
        sweep_id: row.text("sweep_id")?,
        from_address: row.text("from_address")?,
        to_address: row.text("to_address")?,
        token_id: row.text("token_id")?,
        amount: parse_amount(&row.text("amount")?)?,
        nonce: to_u64(row.int("nonce")?, "sweep nonce")?,
        txid: row.text("txid")?,
        raw_tx: row.text("raw_tx")?,
        top_up_payout_id: row.opt_text("top_up_payout_id")?,
        created_at_ms: row.int("created_at_ms")?,
    };
    let settled = match (
        row.opt_text("outcome")?,
        row.opt_text("gas_cost")?,
        row.opt_int("settled_at_ms")?,
    ) {
        (Some(outcome), Some(gas_cost), Some(settled_at_ms)) => Some(SweepSettlement {
            succeeded: match outcome.as_str() {
                SWEEP_SUCCEEDED => true,
                SWEEP_REVERTED => false,
                other => {
                    return Err(StoreError::Corrupt(format!(
                        "sweep {}: outcome {other:?}",
                        sweep.sweep_id
                    )));
                }
            },
            gas_cost: parse_amount(&gas_cost)?,
            settled_at_ms,
        }),
        _ => None,
    };
    Ok(SweepRecord { sweep, settled })
}
