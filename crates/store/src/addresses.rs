//! Deposit addresses derived for merchants: permanent ones (per user and
//! chain, unbound on request) and the derivation counters behind them. An
//! order's address is stored with its order (`orders.rs`).

use async_trait::async_trait;
use ccgate_ledger::MerchantId;
use sqlx::{Database, Encode, Executor, IntoArguments, Type};

use crate::StoreError;
use crate::backend::placeholders;
use crate::backend::{Backend, RowsAffected, SqlStore};
use crate::rows::{Columns, dialect_from, to_u32, to_u64};
use crate::writes::WebhookDialect;

/// An address the gateway derived for a merchant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DepositAddress {
    pub chain: String,
    pub address: String,
    pub app_id: MerchantId,
    /// The merchant's user, for a permanent address.
    pub user_id: Option<String>,
    /// The order, for an order's address.
    pub order_id: Option<String>,
    pub notify_url: Option<String>,
    pub derivation_index: u32,
    /// The dialect that made it (its order's, for an order's address), which
    /// the webhooks of its deposits are written in.
    pub dialect: WebhookDialect,
    /// A wallet user's address (decisions §24): its deposits credit the
    /// user `user_id`, not the merchant.
    pub wallet_user: bool,
}

/// One of a merchant's addresses as v2's `addressUnbinding` weighs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeldAddress {
    pub address: DepositAddress,
    /// When it was unbound (unix seconds); `None` while it is bound.
    pub unbound_at: Option<i64>,
    /// Deposits credited to it.
    pub credits: u64,
}

#[async_trait]
pub trait AddressStore: Send + Sync + std::fmt::Debug + 'static {
    async fn permanent_address(
        &self,
        app_id: &MerchantId,
        user_id: &str,
        chain: &str,
    ) -> Result<Option<DepositAddress>, StoreError>;

    /// The bound address of the merchant's wallet user `user_id` on `chain`.
    async fn user_deposit_address(
        &self,
        app_id: &MerchantId,
        user_id: &str,
        chain: &str,
    ) -> Result<Option<DepositAddress>, StoreError>;

    async fn count_permanent_addresses(&self, app_id: &MerchantId) -> Result<u64, StoreError>;

    /// Makes the permanent address `address` describes (its user, chain,
    /// dialect; a wallet user's if `wallet_user`) in one DB transaction:
    /// takes a place in the merchant's quota of `quota` addresses and the
    /// next index of `derivation.family`, derives the address at that index
    /// and stores it (`address.address` and `address.derivation_index` are
    /// not read). If the (merchant, user, chain) has a bound address already
    /// (a concurrent request made it), nothing is written — no place, no
    /// index — and that one is answered. `None`: the quota is full. A
    /// wallet user's address also brings the user into being.
    async fn make_permanent_address(
        &self,
        address: &DepositAddress,
        derivation: &Derivation<'_>,
        quota: u64,
        now_unix_secs: i64,
    ) -> Result<Option<DepositAddress>, StoreError>;

    /// Stores a permanent address already derived (its index taken outside
    /// the counters: `bench sweeps` loads addresses this way); if the
    /// (merchant, user, chain) already has one, that one is returned
    /// instead. A wallet user's address also brings the user into being, in
    /// the same DB transaction.
    async fn insert_permanent_address(
        &self,
        address: &DepositAddress,
        now_unix_secs: i64,
    ) -> Result<DepositAddress, StoreError>;

    /// The address on `chain`, bound or unbound: payments to an unbound
    /// address are still the merchant's.
    async fn deposit_address(
        &self,
        chain: &str,
        address: &str,
    ) -> Result<Option<DepositAddress>, StoreError>;

    /// Those of `addresses` on `chain` that are ours, as `deposit_address`
    /// answers each, in any order: a block's transfers looked up together
    /// (one statement per [`LOOKUPS_PER_STATEMENT_MAX`]).
    async fn deposit_addresses(
        &self,
        chain: &str,
        addresses: &[&str],
    ) -> Result<Vec<DepositAddress>, StoreError>;

    /// The merchant's addresses written exactly `address`, on every chain,
    /// order addresses and unbound ones included.
    async fn merchant_addresses(
        &self,
        app_id: &MerchantId,
        address: &str,
    ) -> Result<Vec<HeldAddress>, StoreError>;

    /// Unbinds the merchant's permanent `address` on each of `chains` where
    /// it is still bound, in one DB transaction: [`Self::permanent_address`]
    /// no longer answers it, so the next request for its user and chain
    /// derives a new one. Answers the chains unbound now, in the order
    /// given (none if a concurrent call unbound them first).
    async fn unbind_permanent_address(
        &self,
        app_id: &MerchantId,
        address: &str,
        chains: &[String],
        now_unix_secs: i64,
    ) -> Result<Vec<String>, StoreError>;
}

/// How a new deposit address is numbered and spelled by the store, inside the
/// DB transaction that stores it (decisions §37): the index is the next of
/// its chain family's counter, and the address is derived from it there.
pub struct Derivation<'a> {
    /// The chain family whose counter (`derivation_counters`) numbers it.
    pub family: &'a str,
    /// The address at an index: the deposit keys' derivation, CPU work and
    /// no IO, since it runs while the DB transaction holds the family's
    /// counter.
    pub derive: &'a (dyn Fn(u32) -> Result<String, DerivationError> + Send + Sync),
}

impl std::fmt::Debug for Derivation<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Derivation")
            .field("family", &self.family)
            .finish_non_exhaustive()
    }
}

/// Why an address could not be derived at an index (the key crate's error,
/// which the store cannot name: it does not depend on `chain`).
pub type DerivationError = Box<dyn std::error::Error + Send + Sync>;

/// Reserves the next index of `derivation.family` and derives its address,
/// inside the caller's DB transaction: a rollback returns the index.
pub(crate) async fn derive_next_address<DB>(
    conn: &mut DB::Connection,
    derivation: &Derivation<'_>,
) -> Result<(u32, String), StoreError>
where
    DB: Backend,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> <DB as Database>::Arguments<'q>: IntoArguments<'q, DB>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB>,
{
    let reserved = sqlx::query(
        "INSERT INTO derivation_counters (family, next_index) VALUES ($1, 1)
         ON CONFLICT (family) DO UPDATE SET next_index = derivation_counters.next_index + 1
         RETURNING next_index - 1 AS reserved",
    )
    .bind(derivation.family)
    .fetch_one(conn)
    .await?
    .int("reserved")?;
    let index = to_u32(reserved, "derivation index")?;
    let address = (derivation.derive)(index).map_err(StoreError::Derivation)?;
    Ok((index, address))
}

/// Takes one place in the merchant's quota of permanent addresses, inside
/// the caller's DB transaction; `false` if all `quota` are taken. The
/// check and the count are one statement: on PostgreSQL the count's row is
/// locked from here to the commit, so racing requests cannot both take the
/// last place.
async fn take_permanent_address_place<DB>(
    conn: &mut DB::Connection,
    app_id: &MerchantId,
    quota: u64,
) -> Result<bool, StoreError>
where
    DB: Backend,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> <DB as Database>::Arguments<'q>: IntoArguments<'q, DB>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
{
    if quota == 0 {
        return Ok(false);
    }
    let taken = sqlx::query(
        "INSERT INTO permanent_address_counts (app_id, addresses) VALUES ($1, 1)
         ON CONFLICT (app_id) DO UPDATE
         SET addresses = permanent_address_counts.addresses + 1
         WHERE permanent_address_counts.addresses < $2
         RETURNING addresses",
    )
    .bind(app_id.as_str())
    .bind(i64::try_from(quota).unwrap_or(i64::MAX))
    .fetch_optional(conn)
    .await?;
    Ok(taken.is_some())
}

/// Inserts a permanent address unless its (merchant, user, chain) has a
/// bound one; `true` if it did.
async fn insert_permanent_row<DB>(
    conn: &mut DB::Connection,
    address: &DepositAddress,
    user_id: &str,
    now_unix_secs: i64,
) -> Result<bool, StoreError>
where
    DB: Backend,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> <DB as Database>::Arguments<'q>: IntoArguments<'q, DB>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB>,
    for<'q> String: Encode<'q, DB> + Type<DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
    for<'q> Option<String>: Encode<'q, DB>,
{
    let inserted = sqlx::query(
        "INSERT INTO deposit_addresses
             (chain, address, app_id, user_id, notify_url, derivation_index, created_at,
              dialect, wallet_user)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         ON CONFLICT (app_id, wallet_user, user_id, chain)
             WHERE user_id IS NOT NULL AND unbound_at IS NULL
         DO NOTHING",
    )
    .bind(&address.chain)
    .bind(&address.address)
    .bind(address.app_id.as_str())
    .bind(user_id)
    .bind(&address.notify_url)
    .bind(i64::from(address.derivation_index))
    .bind(now_unix_secs)
    .bind(address.dialect.as_str())
    .bind(i64::from(address.wallet_user))
    .execute(conn)
    .await?;
    Ok(inserted.rows_affected() == 1)
}

/// Keys per `IN` list at most, well within both backends' limit on a
/// statement's parameters.
pub const LOOKUPS_PER_STATEMENT_MAX: usize = 500;

pub(crate) const ADDRESS_COLUMNS: &str = "chain, address, app_id, user_id, order_id, notify_url, \
     derivation_index, dialect, wallet_user";

/// Adds `made` permanent addresses to the merchant's count, inside the DB
/// transaction that inserts them.
pub(crate) async fn count_permanent_addresses_made<DB>(
    conn: &mut DB::Connection,
    app_id: &MerchantId,
    made: i64,
) -> Result<(), StoreError>
where
    DB: Database,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> <DB as Database>::Arguments<'q>: IntoArguments<'q, DB>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
{
    sqlx::query(
        "INSERT INTO permanent_address_counts (app_id, addresses) VALUES ($1, $2)
         ON CONFLICT (app_id) DO UPDATE
         SET addresses = permanent_address_counts.addresses + excluded.addresses",
    )
    .bind(app_id.as_str())
    .bind(made)
    .execute(conn)
    .await?;
    Ok(())
}

/// Brings the merchant's wallet user into being (if it was not), inside the
/// caller's DB transaction (decisions §24).
pub(crate) async fn add_wallet_user<DB>(
    conn: &mut DB::Connection,
    app_id: &MerchantId,
    user_id: &str,
    now_unix_secs: i64,
) -> Result<(), StoreError>
where
    DB: Database,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> <DB as Database>::Arguments<'q>: IntoArguments<'q, DB>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
{
    sqlx::query(
        "INSERT INTO wallet_users (app_id, user_id, created_at) VALUES ($1, $2, $3)
         ON CONFLICT (app_id, user_id) DO NOTHING",
    )
    .bind(app_id.as_str())
    .bind(user_id)
    .bind(now_unix_secs)
    .execute(conn)
    .await?;
    Ok(())
}

// One body of SQL for both backends; see `backend.rs`.
#[async_trait]
impl<S> AddressStore for S
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
    async fn permanent_address(
        &self,
        app_id: &MerchantId,
        user_id: &str,
        chain: &str,
    ) -> Result<Option<DepositAddress>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {ADDRESS_COLUMNS} FROM deposit_addresses
             WHERE app_id = $1 AND wallet_user = 0 AND user_id = $2 AND chain = $3
               AND unbound_at IS NULL"
        ))
        .bind(app_id.as_str())
        .bind(user_id)
        .bind(chain)
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(address_from_row).transpose()
    }

    async fn user_deposit_address(
        &self,
        app_id: &MerchantId,
        user_id: &str,
        chain: &str,
    ) -> Result<Option<DepositAddress>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {ADDRESS_COLUMNS} FROM deposit_addresses
             WHERE app_id = $1 AND wallet_user = 1 AND user_id = $2 AND chain = $3
               AND unbound_at IS NULL"
        ))
        .bind(app_id.as_str())
        .bind(user_id)
        .bind(chain)
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(address_from_row).transpose()
    }

    async fn count_permanent_addresses(&self, app_id: &MerchantId) -> Result<u64, StoreError> {
        // Kept as addresses are made (`make_permanent_address`): one row,
        // however long the merchant's history.
        let count = sqlx::query("SELECT addresses FROM permanent_address_counts WHERE app_id = $1")
            .bind(app_id.as_str())
            .fetch_optional(self.pool())
            .await?
            .map(|row| row.int("addresses"))
            .transpose()?
            .unwrap_or(0);
        to_u64(count, "address count")
    }

    async fn make_permanent_address(
        &self,
        address: &DepositAddress,
        derivation: &Derivation<'_>,
        quota: u64,
        now_unix_secs: i64,
    ) -> Result<Option<DepositAddress>, StoreError> {
        let user_id = permanent_user(address)?;
        let mut db_tx = self.begin_write_with(S::Db::BEGIN_WRITE).await?;
        // The quota's place first, then the counter: on PostgreSQL the
        // counter is the row every address of the family waits on, so it is
        // taken last and held only through the insert and the commit.
        if !take_permanent_address_place::<S::Db>(&mut db_tx, &address.app_id, quota).await? {
            db_tx.rollback().await?;
            // A concurrent twin may have taken the last place for this very
            // address: it is answered, as a repeat would be.
            return bound_permanent_address(self, address, user_id).await;
        }
        let (index, derived) = derive_next_address::<S::Db>(&mut db_tx, derivation).await?;
        let made = DepositAddress {
            address: derived,
            derivation_index: index,
            order_id: None,
            ..address.clone()
        };
        if insert_permanent_row::<S::Db>(&mut db_tx, &made, user_id, now_unix_secs).await? {
            if made.wallet_user {
                add_wallet_user::<S::Db>(&mut db_tx, &made.app_id, user_id, now_unix_secs).await?;
            }
            db_tx.commit().await?;
            // Stored as made: reading it back would return the same.
            return Ok(Some(made));
        }
        // A concurrent twin stored it first; the rollback gives back the
        // quota's place and the index.
        db_tx.rollback().await?;
        bound_permanent_address(self, address, user_id)
            .await?
            .ok_or_else(|| StoreError::Corrupt("a stored address vanished".into()))
            .map(Some)
    }

    async fn insert_permanent_address(
        &self,
        address: &DepositAddress,
        now_unix_secs: i64,
    ) -> Result<DepositAddress, StoreError> {
        let user_id = permanent_user(address)?;
        let mut db_tx = self.begin_write_with(S::Db::BEGIN_WRITE).await?;
        if insert_permanent_row::<S::Db>(&mut db_tx, address, user_id, now_unix_secs).await? {
            count_permanent_addresses_made::<S::Db>(&mut db_tx, &address.app_id, 1).await?;
            if address.wallet_user {
                add_wallet_user::<S::Db>(&mut db_tx, &address.app_id, user_id, now_unix_secs)
                    .await?;
            }
            db_tx.commit().await?;
            // Stored as given (a permanent address belongs to no order):
            // reading it back would return the same.
            return Ok(DepositAddress {
                order_id: None,
                ..address.clone()
            });
        }
        db_tx.rollback().await?;
        bound_permanent_address(self, address, user_id)
            .await?
            .ok_or_else(|| StoreError::Corrupt("a stored address vanished".into()))
    }

    async fn deposit_address(
        &self,
        chain: &str,
        address: &str,
    ) -> Result<Option<DepositAddress>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {ADDRESS_COLUMNS} FROM deposit_addresses WHERE chain = $1 AND address = $2"
        ))
        .bind(chain)
        .bind(address)
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(address_from_row).transpose()
    }

    async fn deposit_addresses(
        &self,
        chain: &str,
        addresses: &[&str],
    ) -> Result<Vec<DepositAddress>, StoreError> {
        let mut found = Vec::new();
        for chunk in addresses.chunks(LOOKUPS_PER_STATEMENT_MAX) {
            let statement = format!(
                "SELECT {ADDRESS_COLUMNS} FROM deposit_addresses WHERE chain = {} AND address IN ({})",
                S::Db::placeholder(1),
                placeholders::<S::Db>(2, chunk.len())
            );
            let mut query = sqlx::query(&statement).bind(chain);
            for address in chunk {
                query = query.bind(*address);
            }
            for row in query.fetch_all(self.pool()).await? {
                found.push(address_from_row(&row)?);
            }
        }
        Ok(found)
    }

    async fn merchant_addresses(
        &self,
        app_id: &MerchantId,
        address: &str,
    ) -> Result<Vec<HeldAddress>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {ADDRESS_COLUMNS}, unbound_at, credits FROM deposit_addresses
             WHERE app_id = $1 AND address = $2 ORDER BY chain"
        ))
        .bind(app_id.as_str())
        .bind(address)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(held_address_from_row).collect()
    }

    async fn unbind_permanent_address(
        &self,
        app_id: &MerchantId,
        address: &str,
        chains: &[String],
        now_unix_secs: i64,
    ) -> Result<Vec<String>, StoreError> {
        let mut db_tx = self.begin_write().await?;
        let mut unbound = Vec::new();
        for chain in chains {
            let updated = sqlx::query(
                "UPDATE deposit_addresses SET unbound_at = $1
                 WHERE app_id = $2 AND address = $3 AND chain = $4
                   AND user_id IS NOT NULL AND unbound_at IS NULL",
            )
            .bind(now_unix_secs)
            .bind(app_id.as_str())
            .bind(address)
            .bind(chain)
            .execute(&mut *db_tx)
            .await?;
            if updated.rows_affected() == 1 {
                unbound.push(chain.clone());
            }
        }
        db_tx.commit().await?;
        Ok(unbound)
    }
}

/// The bound address of `address`'s (merchant, user, chain), of its kind
/// (a wallet user's or the merchant's own user's).
async fn bound_permanent_address(
    store: &impl AddressStore,
    address: &DepositAddress,
    user_id: &str,
) -> Result<Option<DepositAddress>, StoreError> {
    if address.wallet_user {
        store
            .user_deposit_address(&address.app_id, user_id, &address.chain)
            .await
    } else {
        store
            .permanent_address(&address.app_id, user_id, &address.chain)
            .await
    }
}

fn permanent_user(address: &DepositAddress) -> Result<&str, StoreError> {
    address
        .user_id
        .as_deref()
        .ok_or_else(|| StoreError::Corrupt("a permanent address needs a user id".into()))
}

pub(crate) fn address_from_row(row: &impl Columns) -> Result<DepositAddress, StoreError> {
    Ok(DepositAddress {
        chain: row.text("chain")?,
        address: row.text("address")?,
        app_id: MerchantId::new(row.text("app_id")?),
        user_id: row.opt_text("user_id")?,
        order_id: row.opt_text("order_id")?,
        notify_url: row.opt_text("notify_url")?,
        derivation_index: to_u32(row.int("derivation_index")?, "derivation index")?,
        dialect: dialect_from(&row.text("dialect")?)?,
        wallet_user: row.int("wallet_user")? == 1,
    })
}

/// A row of `ADDRESS_COLUMNS` followed by `unbound_at` and `credits`.
fn held_address_from_row(row: &impl Columns) -> Result<HeldAddress, StoreError> {
    Ok(HeldAddress {
        address: address_from_row(row)?,
        unbound_at: row.opt_int("unbound_at")?,
        credits: to_u64(row.int("credits")?, "address credits")?,
    })
}
