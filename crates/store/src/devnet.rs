//! The simulated chains (devnets): their blocks, the transfers in them, and
//! the sends they are told to fail.

use async_trait::async_trait;
use ccgate_ledger::TokenId;
use sqlx::{Database, Encode, Executor, IntoArguments, Type};

use crate::StoreError;
use crate::backend::{RowsAffected, SqlStore};
use crate::rows::{Columns, parse_amount, to_i64, to_u32, to_u64};
use crate::writes::ChainTransfer;

pub use ccgate_ledger::DevnetChainState;

#[async_trait]
pub trait DevnetStore: Send + Sync + std::fmt::Debug + 'static {
    /// The state of a simulated chain, started at `now_unix_ms` if it has none yet.
    async fn devnet_chain(
        &self,
        chain: &str,
        now_unix_ms: i64,
    ) -> Result<DevnetChainState, StoreError>;

    /// Adds `blocks` on-demand blocks to a simulated chain (started at
    /// `now_unix_ms` if new) and returns its new state.
    async fn devnet_mine(
        &self,
        chain: &str,
        blocks: u64,
        now_unix_ms: i64,
    ) -> Result<DevnetChainState, StoreError>;

    /// Makes the next `count` devnet sends on `chain` fail.
    async fn devnet_fail_next_sends(&self, chain: &str, count: u32) -> Result<(), StoreError>;

    /// Uses up one planned failure; `true` if this send is to fail.
    async fn devnet_take_send_failure(&self, chain: &str) -> Result<bool, StoreError>;

    async fn devnet_add_transfer(&self, transfer: &ChainTransfer) -> Result<(), StoreError>;

    /// The devnet transfer with this txid, if any.
    async fn devnet_transfer(
        &self,
        chain: &str,
        txid: &str,
    ) -> Result<Option<ChainTransfer>, StoreError>;

    /// Devnet transfers in blocks `from_height..=to_height`, in block order.
    async fn devnet_transfers(
        &self,
        chain: &str,
        from_height: u64,
        to_height: u64,
    ) -> Result<Vec<ChainTransfer>, StoreError>;
}

const TRANSFER_COLUMNS: &str = "chain, txid, log_index, block_height, block_time_ms, \
    from_address, to_address, memo, token_id, amount";

// One body of SQL for both backends; see `backend.rs`.
#[async_trait]
impl<S> DevnetStore for S
where
    S: SqlStore,
    for<'c> &'c mut <S::Db as Database>::Connection: Executor<'c, Database = S::Db>,
    for<'q> <S::Db as Database>::Arguments<'q>: IntoArguments<'q, S::Db>,
    for<'q> &'q str: Encode<'q, S::Db> + Type<S::Db>,
    for<'q> String: Encode<'q, S::Db> + Type<S::Db>,
    for<'q> i64: Encode<'q, S::Db> + Type<S::Db>,
{
    async fn devnet_chain(
        &self,
        chain: &str,
        now_unix_ms: i64,
    ) -> Result<DevnetChainState, StoreError> {
        // Read first: the deposit watcher asks for every chain's height at
        // each tick, and a chain that exists needs no write turn.
        let row =
            sqlx::query("SELECT genesis_unix_ms, mined_blocks FROM devnet_chains WHERE chain = $1")
                .bind(chain)
                .fetch_optional(self.pool())
                .await?;
        match row {
            Some(row) => chain_state(chain, &row),
            None => self.devnet_mine(chain, 0, now_unix_ms).await,
        }
    }

    async fn devnet_mine(
        &self,
        chain: &str,
        blocks: u64,
        now_unix_ms: i64,
    ) -> Result<DevnetChainState, StoreError> {
        let blocks = i64::try_from(blocks)
            .map_err(|_| StoreError::Corrupt(format!("cannot mine {blocks} blocks at once")))?;
        // One statement: the upsert locks the row, so concurrent miners add up.
        let row = sqlx::query(
            "INSERT INTO devnet_chains (chain, genesis_unix_ms, mined_blocks) VALUES ($1, $2, $3)
             ON CONFLICT (chain) DO UPDATE
             SET mined_blocks = devnet_chains.mined_blocks + excluded.mined_blocks
             RETURNING genesis_unix_ms, mined_blocks",
        )
        .bind(chain)
        .bind(now_unix_ms)
        .bind(blocks)
        .fetch_one(&mut *self.write_connection().await?)
        .await?;
        chain_state(chain, &row)
    }

    async fn devnet_fail_next_sends(&self, chain: &str, count: u32) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO devnet_send_failures (chain, remaining) VALUES ($1, $2)
             ON CONFLICT (chain) DO UPDATE
             SET remaining = devnet_send_failures.remaining + excluded.remaining",
        )
        .bind(chain)
        .bind(i64::from(count))
        .execute(&mut *self.write_connection().await?)
        .await?;
        Ok(())
    }

    async fn devnet_take_send_failure(&self, chain: &str) -> Result<bool, StoreError> {
        // A concurrent taker waits for the row and re-checks `remaining > 0`
        // on the version it then sees, so one planned failure is taken once.
        let taken = sqlx::query(
            "UPDATE devnet_send_failures SET remaining = remaining - 1
             WHERE chain = $1 AND remaining > 0",
        )
        .bind(chain)
        .execute(&mut *self.write_connection().await?)
        .await?;
        Ok(taken.rows_affected() == 1)
    }

    async fn devnet_add_transfer(&self, transfer: &ChainTransfer) -> Result<(), StoreError> {
        sqlx::query(&format!(
            "INSERT INTO devnet_transfers ({TRANSFER_COLUMNS})
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
        ))
        .bind(&transfer.chain)
        .bind(&transfer.txid)
        .bind(i64::from(transfer.log_index))
        .bind(to_i64(transfer.block_height, "block height")?)
        .bind(transfer.block_time_ms)
        .bind(&transfer.from_address)
        .bind(&transfer.to_address)
        .bind(&transfer.memo)
        .bind(transfer.token_id.as_str())
        .bind(transfer.amount.base_units().to_string())
        .execute(&mut *self.write_connection().await?)
        .await?;
        Ok(())
    }

    async fn devnet_transfer(
        &self,
        chain: &str,
        txid: &str,
    ) -> Result<Option<ChainTransfer>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {TRANSFER_COLUMNS}
             FROM devnet_transfers WHERE chain = $1 AND txid = $2 ORDER BY log_index LIMIT 1"
        ))
        .bind(chain)
        .bind(txid)
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(transfer_from_row).transpose()
    }

    async fn devnet_transfers(
        &self,
        chain: &str,
        from_height: u64,
        to_height: u64,
    ) -> Result<Vec<ChainTransfer>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {TRANSFER_COLUMNS}
             FROM devnet_transfers
             WHERE chain = $1 AND block_height BETWEEN $2 AND $3
             ORDER BY block_height, txid, log_index"
        ))
        .bind(chain)
        .bind(to_i64(from_height, "height")?)
        .bind(to_i64(to_height, "height")?)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(transfer_from_row).collect()
    }
}

fn transfer_from_row(row: &impl Columns) -> Result<ChainTransfer, StoreError> {
    Ok(ChainTransfer {
        chain: row.text("chain")?,
        txid: row.text("txid")?,
        log_index: to_u32(row.int("log_index")?, "log index")?,
        block_height: to_u64(row.int("block_height")?, "block height")?,
        block_time_ms: row.int("block_time_ms")?,
        from_address: row.text("from_address")?,
        to_address: row.text("to_address")?,
        memo: row.text("memo")?,
        token_id: TokenId::new(row.text("token_id")?),
        amount: parse_amount(&row.text("amount")?)?,
    })
}

/// A `devnet_chains` row as the chain's state.
fn chain_state(chain: &str, row: &impl Columns) -> Result<DevnetChainState, StoreError> {
    let mined = row.int("mined_blocks")?;
    Ok(DevnetChainState {
        genesis_unix_ms: row.int("genesis_unix_ms")?,
        mined_blocks: u64::try_from(mined)
            .map_err(|_| StoreError::Corrupt(format!("devnet {chain} mined {mined}")))?,
    })
}
