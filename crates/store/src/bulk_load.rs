//! Many rows in one DB transaction, by multi-row `INSERT`s: how
//! `ccgate bench scale` fills a scratch database with a history of 100 000s
//! of orders and addresses in seconds rather than one durable commit each.
//! The rows are the ones `create_order` and `insert_permanent_address`
//! write, checked by nothing more than the schema: a conflict fails the batch.

use async_trait::async_trait;
use ccgate_ledger::MerchantId;
use sqlx::{Database, Encode, Executor, IntoArguments, Type};

use crate::StoreError;
use crate::addresses::{DepositAddress, count_permanent_addresses_made};
use crate::backend::{SqlStore, value_rows};
use crate::orders::{ORDER_COLUMNS, Order};

/// Rows per `INSERT`. Far below the bound parameters either backend allows
/// (SQLite 32 766, PostgreSQL 65 535): a statement of 1 000 orders (22 000
/// parameters) took 1.5 s on SQLite, while at 100 rows a statement 100 000
/// orders with their addresses loaded in 19 s.
const ROWS_PER_INSERT: usize = 100;

#[async_trait]
pub trait BulkLoad: Send + Sync + std::fmt::Debug + 'static {
    /// Stores orders, each with its deposit address, as `create_order`
    /// would one by one, in one DB transaction.
    async fn load_orders(&self, orders: &[(Order, DepositAddress)]) -> Result<(), StoreError>;

    /// Stores permanent addresses (each with its `user_id`), as
    /// `insert_permanent_address` would one by one, in one DB transaction.
    async fn load_permanent_addresses(
        &self,
        addresses: &[DepositAddress],
        now_unix_secs: i64,
    ) -> Result<(), StoreError>;
}

// One body of SQL for both backends; see `backend.rs`.
#[async_trait]
impl<S> BulkLoad for S
where
    S: SqlStore,
    for<'c> &'c mut <S::Db as Database>::Connection: Executor<'c, Database = S::Db>,
    for<'q> <S::Db as Database>::Arguments<'q>: IntoArguments<'q, S::Db>,
    for<'q> &'q str: Encode<'q, S::Db> + Type<S::Db>,
    for<'q> Option<&'q str>: Encode<'q, S::Db> + Type<S::Db>,
    for<'q> String: Encode<'q, S::Db> + Type<S::Db>,
    for<'q> i64: Encode<'q, S::Db> + Type<S::Db>,
{
    async fn load_orders(&self, orders: &[(Order, DepositAddress)]) -> Result<(), StoreError> {
        let mut db_tx = self.begin_write().await?;
        for chunk in orders.chunks(ROWS_PER_INSERT) {
            let statement = format!(
                "INSERT INTO orders ({ORDER_COLUMNS}) VALUES {}",
                value_rows::<S::Db>(chunk.len(), 23)
            );
            let mut insert = sqlx::query(&statement);
            for (order, _) in chunk {
                insert = insert
                    .bind(order.order_id.as_str())
                    .bind(order.app_id.as_str())
                    .bind(order.merchant_order_id.as_str())
                    .bind(order.kind.as_str())
                    .bind(order.fingerprint.as_str())
                    .bind(order.token_id.as_str())
                    .bind(order.coin_id.as_str())
                    .bind(order.chain.as_str())
                    .bind(order.pay_address.as_str())
                    .bind(order.product_price.as_str())
                    .bind(order.product_name.as_str())
                    .bind(order.denominated_currency.as_str())
                    .bind(order.fiat_rate.as_str())
                    .bind(order.token_rate.as_str())
                    .bind(order.order_amount.base_units().to_string())
                    .bind(order.created_at)
                    .bind(order.expires_at)
                    .bind(order.notify_url.as_deref())
                    .bind(order.custom_value.as_deref())
                    .bind(order.remark.as_deref())
                    .bind(order.dialect.as_str())
                    .bind(order.buyer_email.as_deref())
                    .bind(i64::from(order.invoice));
            }
            insert.execute(&mut *db_tx).await?;
            let statement = format!(
                "INSERT INTO deposit_addresses
                     (chain, address, app_id, order_id, notify_url, derivation_index, created_at,
                      dialect)
                 VALUES {}",
                value_rows::<S::Db>(chunk.len(), 8)
            );
            let mut insert = sqlx::query(&statement);
            for (order, address) in chunk {
                insert = insert
                    .bind(address.chain.as_str())
                    .bind(address.address.as_str())
                    .bind(address.app_id.as_str())
                    .bind(order.order_id.as_str())
                    .bind(address.notify_url.as_deref())
                    .bind(i64::from(address.derivation_index))
                    .bind(order.created_at)
                    .bind(address.dialect.as_str());
            }
            insert.execute(&mut *db_tx).await?;
        }
        db_tx.commit().await?;
        Ok(())
    }

    async fn load_permanent_addresses(
        &self,
        addresses: &[DepositAddress],
        now_unix_secs: i64,
    ) -> Result<(), StoreError> {
        if addresses.iter().any(|address| address.user_id.is_none()) {
            return Err(StoreError::Corrupt(
                "a permanent address needs a user id".into(),
            ));
        }
        let mut db_tx = self.begin_write().await?;
        for chunk in addresses.chunks(ROWS_PER_INSERT) {
            let statement = format!(
                "INSERT INTO deposit_addresses
                     (chain, address, app_id, user_id, notify_url, derivation_index, created_at,
                      dialect)
                 VALUES {}",
                value_rows::<S::Db>(chunk.len(), 8)
            );
            let mut insert = sqlx::query(&statement);
            for address in chunk {
                insert = insert
                    .bind(address.chain.as_str())
                    .bind(address.address.as_str())
                    .bind(address.app_id.as_str())
                    .bind(address.user_id.as_deref())
                    .bind(address.notify_url.as_deref())
                    .bind(i64::from(address.derivation_index))
                    .bind(now_unix_secs)
                    .bind(address.dialect.as_str());
            }
            insert.execute(&mut *db_tx).await?;
        }
        // The quota's count, as `insert_permanent_address` keeps it.
        let mut made: std::collections::BTreeMap<&MerchantId, i64> = Default::default();
        for address in addresses {
            *made.entry(&address.app_id).or_default() += 1;
        }
        for (app_id, made) in made {
            count_permanent_addresses_made::<S::Db>(&mut db_tx, app_id, made).await?;
        }
        db_tx.commit().await?;
        Ok(())
    }
}
