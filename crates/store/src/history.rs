//! What the books hold, summarised for deciding whether a database may be
//! served in a mode: a live gateway must not start on simulated credits that
//! sit in the same balances as real money (docs/decisions.md §1).

use async_trait::async_trait;
use sqlx::{Database, Executor, IntoArguments};

use crate::StoreError;
use crate::backend::SqlStore;
use crate::rows::{Columns, to_u64};

/// How many deposits were credited on one chain in one coin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreditedDeposits {
    pub chain: String,
    pub coin_id: String,
    pub count: u64,
}

#[async_trait]
pub trait CreditHistory: Send + Sync + std::fmt::Debug + 'static {
    /// Every (chain, coin) that has credited deposits, with their number.
    async fn credited_deposits(&self) -> Result<Vec<CreditedDeposits>, StoreError>;
}

#[async_trait]
impl<S> CreditHistory for S
where
    S: SqlStore,
    for<'c> &'c mut <S::Db as Database>::Connection: Executor<'c, Database = S::Db>,
    for<'q> <S::Db as Database>::Arguments<'q>: IntoArguments<'q, S::Db>,
{
    async fn credited_deposits(&self) -> Result<Vec<CreditedDeposits>, StoreError> {
        let rows = sqlx::query(
            "SELECT chain, coin_id, COUNT(*) AS credited FROM deposits
             GROUP BY chain, coin_id ORDER BY chain, coin_id",
        )
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|row| {
                Ok(CreditedDeposits {
                    chain: row.text("chain")?,
                    coin_id: row.text("coin_id")?,
                    count: to_u64(row.int("credited")?, "credited deposits")?,
                })
            })
            .collect()
    }
}
