//! What balance reconciliation of EVM deposit addresses reads and records:
//! the addresses that can be paid now, what the books say moved in and out
//! of one (deposits credited, sweeps signed, the sweeps' gas top-ups), and per
//! address the height up to which the node and the books agreed, or the
//! shortfall found (an incident, never a silent correction).

use async_trait::async_trait;
use ccgate_ledger::Amount;
use sqlx::{Database, Encode, Executor, IntoArguments, Type};

use crate::StoreError;
use crate::backend::SqlStore;
use crate::payouts::{PAYOUT_COLUMNS, SignedPayout, payout_from_row};
use crate::rows::{Columns, parse_amount, to_i64, to_u32, to_u64};
use crate::sweeps::{SWEEP_COLUMNS, SweepRecord, sweep_record_from_row};

/// The payout id prefix of a sweep's gas top-up, followed by the sweep id
/// (`<address>:<nonce>`); the chain adapter names them so.
pub const TOP_UP_PAYOUT_PREFIX: &str = "sweep-top-up:";

/// A deposit address due for reconciliation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReconcileTarget {
    pub address: String,
    /// Where the node and the books last agreed; `None` if never checked.
    pub checked_height: Option<u64>,
}

/// A deposit credited to an address: the block it is in and what it paid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddressDeposit {
    pub block_height: u64,
    pub amount: Amount,
    pub txid: String,
    pub log_index: u32,
}

/// An address holding less on the chain than the books say it should.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shortfall {
    pub address: String,
    /// In the native coin's base units.
    pub amount: Amount,
    pub height: u64,
    pub found_at_ms: i64,
}

#[async_trait]
pub trait ReconcileStore: Send + Sync + std::fmt::Debug + 'static {
    /// The chain's deposit addresses that can be paid now — made, or credited
    /// a deposit, at or after `active_since_secs` — least recently checked
    /// first, at most `limit`.
    async fn addresses_to_reconcile(
        &self,
        chain: &str,
        active_since_secs: i64,
        limit: u32,
    ) -> Result<Vec<ReconcileTarget>, StoreError>;

    /// Every deposit of `token_id` credited to `address`, by block.
    async fn deposits_to_address(
        &self,
        chain: &str,
        address: &str,
        token_id: &str,
    ) -> Result<Vec<AddressDeposit>, StoreError>;

    /// Every sweep signed from `address` (any token), by nonce.
    async fn sweeps_from(&self, chain: &str, address: &str)
    -> Result<Vec<SweepRecord>, StoreError>;

    /// Every gas top-up the hot wallet signed to `address`.
    async fn top_ups_to(&self, chain: &str, address: &str)
    -> Result<Vec<SignedPayout>, StoreError>;

    /// The node and the books agreed at `height`: the address is checked from
    /// there on, and a shortfall found before is cleared. Never moves back.
    async fn record_reconciled(
        &self,
        chain: &str,
        address: &str,
        height: u64,
        at_ms: i64,
    ) -> Result<(), StoreError>;

    /// The node held `shortfall` less than the books at `height`.
    async fn record_shortfall(
        &self,
        chain: &str,
        address: &str,
        shortfall: Amount,
        height: u64,
        at_ms: i64,
    ) -> Result<(), StoreError>;

    /// The chain's addresses whose last check found a shortfall.
    async fn shortfalls(&self, chain: &str) -> Result<Vec<Shortfall>, StoreError>;

    /// How many of the chain's addresses were ever found to agree with the
    /// books, and the lowest height any of them was last checked up to.
    async fn reconciled(&self, chain: &str) -> Result<(u64, Option<u64>), StoreError>;
}

// One body of SQL for both backends; see `backend.rs`.
#[async_trait]
impl<S> ReconcileStore for S
where
    S: SqlStore,
    for<'c> &'c mut <S::Db as Database>::Connection: Executor<'c, Database = S::Db>,
    for<'q> <S::Db as Database>::Arguments<'q>: IntoArguments<'q, S::Db>,
    for<'q> &'q str: Encode<'q, S::Db> + Type<S::Db>,
    for<'q> String: Encode<'q, S::Db> + Type<S::Db>,
    for<'q> i64: Encode<'q, S::Db> + Type<S::Db>,
{
    async fn addresses_to_reconcile(
        &self,
        chain: &str,
        active_since_secs: i64,
        limit: u32,
    ) -> Result<Vec<ReconcileTarget>, StoreError> {
        let rows = sqlx::query(
            "SELECT owned.address, checked.checked_height
             FROM deposit_addresses AS owned
             LEFT JOIN evm_reconciliations AS checked
               ON checked.chain = owned.chain AND checked.address = owned.address
             WHERE owned.chain = $1
               AND (owned.created_at >= $2
                    OR EXISTS (SELECT 1 FROM deposits
                               WHERE deposits.chain = owned.chain
                                 AND deposits.address = owned.address
                                 AND deposits.credited_at >= $2))
             ORDER BY COALESCE(checked.checked_at_ms, 0), owned.address
             LIMIT $3",
        )
        .bind(chain)
        .bind(active_since_secs)
        .bind(i64::from(limit))
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|row| {
                Ok(ReconcileTarget {
                    address: row.text("address")?,
                    checked_height: row
                        .opt_int("checked_height")?
                        .map(|height| to_u64(height, "checked height"))
                        .transpose()?,
                })
            })
            .collect()
    }

    async fn deposits_to_address(
        &self,
        chain: &str,
        address: &str,
        token_id: &str,
    ) -> Result<Vec<AddressDeposit>, StoreError> {
        let rows = sqlx::query(
            "SELECT block_height, paid_amount, txid, log_index FROM deposits
             WHERE chain = $1 AND address = $2 AND token_id = $3
             ORDER BY block_height, txid, log_index",
        )
        .bind(chain)
        .bind(address)
        .bind(token_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|row| {
                Ok(AddressDeposit {
                    block_height: to_u64(row.int("block_height")?, "block height")?,
                    amount: parse_amount(&row.text("paid_amount")?)?,
                    txid: row.text("txid")?,
                    log_index: to_u32(row.int("log_index")?, "log index")?,
                })
            })
            .collect()
    }

    async fn sweeps_from(
        &self,
        chain: &str,
        address: &str,
    ) -> Result<Vec<SweepRecord>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {SWEEP_COLUMNS} FROM evm_sweeps WHERE chain = $1 AND from_address = $2
             ORDER BY nonce"
        ))
        .bind(chain)
        .bind(address)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(sweep_record_from_row).collect()
    }

    async fn top_ups_to(
        &self,
        chain: &str,
        address: &str,
    ) -> Result<Vec<SignedPayout>, StoreError> {
        // A prefix compared as a string: `LIKE` would read `_` as a wildcard.
        let prefix = format!("{TOP_UP_PAYOUT_PREFIX}{address}:");
        let rows = sqlx::query(&format!(
            "SELECT {PAYOUT_COLUMNS} FROM evm_payouts
             WHERE chain = $1 AND substr(payout_id, 1, length($2)) = $2
             ORDER BY nonce"
        ))
        .bind(chain)
        .bind(prefix)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(payout_from_row).collect()
    }

    async fn record_reconciled(
        &self,
        chain: &str,
        address: &str,
        height: u64,
        at_ms: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO evm_reconciliations (chain, address, checked_height, checked_at_ms)
             VALUES ($1, $2, $3, $4)
             ON CONFLICT (chain, address) DO UPDATE
             SET checked_height = excluded.checked_height,
                 checked_at_ms = excluded.checked_at_ms,
                 shortfall = NULL, shortfall_height = NULL
             WHERE evm_reconciliations.checked_height IS NULL
                OR evm_reconciliations.checked_height <= excluded.checked_height",
        )
        .bind(chain)
        .bind(address)
        .bind(to_i64(height, "checked height")?)
        .bind(at_ms)
        .execute(&mut *self.write_connection().await?)
        .await?;
        Ok(())
    }

    async fn record_shortfall(
        &self,
        chain: &str,
        address: &str,
        shortfall: Amount,
        height: u64,
        at_ms: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO evm_reconciliations
                 (chain, address, checked_at_ms, shortfall, shortfall_height)
             VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (chain, address) DO UPDATE
             SET checked_at_ms = excluded.checked_at_ms,
                 shortfall = excluded.shortfall,
                 shortfall_height = excluded.shortfall_height",
        )
        .bind(chain)
        .bind(address)
        .bind(at_ms)
        .bind(shortfall.base_units().to_string())
        .bind(to_i64(height, "shortfall height")?)
        .execute(&mut *self.write_connection().await?)
        .await?;
        Ok(())
    }

    async fn reconciled(&self, chain: &str) -> Result<(u64, Option<u64>), StoreError> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS checked, MIN(checked_height) AS lowest FROM evm_reconciliations
             WHERE chain = $1 AND checked_height IS NOT NULL",
        )
        .bind(chain)
        .fetch_one(self.pool())
        .await?;
        Ok((
            to_u64(row.int("checked")?, "reconciled addresses")?,
            row.opt_int("lowest")?
                .map(|height| to_u64(height, "checked height"))
                .transpose()?,
        ))
    }

    async fn shortfalls(&self, chain: &str) -> Result<Vec<Shortfall>, StoreError> {
        let rows = sqlx::query(
            "SELECT address, shortfall, shortfall_height, checked_at_ms FROM evm_reconciliations
             WHERE chain = $1 AND shortfall IS NOT NULL ORDER BY address",
        )
        .bind(chain)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|row| {
                Ok(Shortfall {
                    address: row.text("address")?,
                    amount: parse_amount(&row.text("shortfall")?)?,
                    height: to_u64(row.int("shortfall_height")?, "shortfall height")?,
                    found_at_ms: row.int("checked_at_ms")?,
                })
            })
            .collect()
    }
}
