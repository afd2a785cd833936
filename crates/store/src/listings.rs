//! The operator's listings of orders and withdrawals (`ccgate order list`,
//! `ccgate withdrawal list`): read-only, newest first, a bounded page.

use async_trait::async_trait;
use ccgate_ledger::MerchantId;
use sqlx::{Database, Encode, Executor, IntoArguments, Type};

use crate::StoreError;
use crate::backend::SqlStore;
use crate::orders::{ORDER_COLUMNS, Order, order_from_row};
use crate::withdrawals::{WITHDRAWAL_COLUMNS, Withdrawal, WithdrawalStatus, withdrawal_from_row};

/// Which rows a listing takes: every filter left `None` matches all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListingFilter {
    pub app_id: Option<MerchantId>,
    /// Created at or after (unix seconds).
    pub since: Option<i64>,
    /// Created before (unix seconds).
    pub until: Option<i64>,
    /// The page: at most this many rows, the newest.
    pub limit: u32,
}

#[async_trait]
pub trait Listings: Send + Sync + std::fmt::Debug + 'static {
    /// Deposit orders (native and hosted), newest first. Their status is
    /// derived from their payments, so it is no filter here.
    async fn list_orders(&self, filter: &ListingFilter) -> Result<Vec<Order>, StoreError>;

    /// Withdrawals and refunds, newest first, in `status` if given.
    async fn list_withdrawals(
        &self,
        filter: &ListingFilter,
        status: Option<WithdrawalStatus>,
    ) -> Result<Vec<Withdrawal>, StoreError>;
}

#[async_trait]
impl<S> Listings for S
where
    S: SqlStore,
    for<'c> &'c mut <S::Db as Database>::Connection: Executor<'c, Database = S::Db>,
    for<'q> <S::Db as Database>::Arguments<'q>: IntoArguments<'q, S::Db>,
    for<'q> i64: Encode<'q, S::Db> + Type<S::Db>,
    // sqlx encodes `Option` per backend, not for every `T: Encode`.
    for<'q> Option<String>: Encode<'q, S::Db> + Type<S::Db>,
    for<'q> Option<i64>: Encode<'q, S::Db> + Type<S::Db>,
{
    async fn list_orders(&self, filter: &ListingFilter) -> Result<Vec<Order>, StoreError> {
        // A NULL parameter switches its filter off; each is bound once and
        // named twice ($n), which both backends allow.
        let rows = sqlx::query(&format!(
            "SELECT {ORDER_COLUMNS} FROM orders
             WHERE ($1 IS NULL OR app_id = $1)
               AND ($2 IS NULL OR created_at >= $2)
               AND ($3 IS NULL OR created_at < $3)
             ORDER BY created_at DESC, order_id DESC LIMIT $4"
        ))
        .bind(filter.app_id.as_ref().map(|id| id.as_str().to_owned()))
        .bind(filter.since)
        .bind(filter.until)
        .bind(i64::from(filter.limit))
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(order_from_row).collect()
    }

    async fn list_withdrawals(
        &self,
        filter: &ListingFilter,
        status: Option<WithdrawalStatus>,
    ) -> Result<Vec<Withdrawal>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {WITHDRAWAL_COLUMNS} FROM withdrawals
             WHERE ($1 IS NULL OR app_id = $1)
               AND ($2 IS NULL OR created_at >= $2)
               AND ($3 IS NULL OR created_at < $3)
               AND ($4 IS NULL OR status = $4)
             ORDER BY created_at DESC, order_id DESC LIMIT $5"
        ))
        .bind(filter.app_id.as_ref().map(|id| id.as_str().to_owned()))
        .bind(filter.since)
        .bind(filter.until)
        .bind(status.map(|status| status.as_str().to_owned()))
        .bind(i64::from(filter.limit))
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(withdrawal_from_row).collect()
    }
}
