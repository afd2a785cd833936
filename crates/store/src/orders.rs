//! Payment orders, with the address each is paid to, and hosted checkouts,
//! which become an order once the payer picks a network; and what was paid
//! to an order.

use async_trait::async_trait;
use ccgate_ledger::{Amount, CoinId, MerchantId, TokenId};
use sqlx::{Database, Encode, Executor, IntoArguments, Type};

use crate::StoreError;
use crate::addresses::{DepositAddress, Derivation, derive_next_address};
use crate::backend::{Backend, RowsAffected, SqlStore};
use crate::console::{AuditEntry, insert_audit};
use crate::rows::{Columns, dialect_from, parse_amount, to_u64};
use crate::writes::WebhookDialect;

/// A payment order, as created (decisions §5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Order {
    pub order_id: String,
    pub app_id: MerchantId,
    pub merchant_order_id: String,
    /// `native` (bill/create) or `hosted` (concise/url/get).
    pub kind: String,
    /// The creating request's parameters: a repeat with other ones is refused.
    pub fingerprint: String,
    pub token_id: TokenId,
    pub coin_id: CoinId,
    pub chain: String,
    pub pay_address: String,
    pub product_price: String,
    pub product_name: String,
    pub denominated_currency: String,
    pub fiat_rate: String,
    pub token_rate: String,
    /// What the payer owes, in the coin's base units.
    pub order_amount: Amount,
    pub created_at: i64,
    pub expires_at: i64,
    pub notify_url: Option<String>,
    pub custom_value: Option<String>,
    pub remark: Option<String>,
    /// The dialect that made it, which its webhooks are written in.
    pub dialect: WebhookDialect,
    /// v2's `buyerEmail`, kept and answered; ccgate mails no one.
    pub buyer_email: Option<String>,
    /// Chosen on a dashboard invoice's page: its payments are notified as
    /// v1's `Invoice` (decisions §32).
    pub invoice: bool,
}

/// A hosted checkout: what the payer is asked for before choosing how to pay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkout {
    /// The key in the payment URL.
    pub key: String,
    pub app_id: MerchantId,
    pub merchant_order_id: String,
    pub fingerprint: String,
    /// In `denominated_currency`.
    pub product_price: String,
    pub product_name: String,
    pub return_url: Option<String>,
    pub notify_url: Option<String>,
    pub custom_value: Option<String>,
    pub created_at: i64,
    pub expires_at: i64,
    /// The id of its order, reserved at creation; the order itself exists
    /// once the payer picks a network. `None` only for checkouts stored
    /// before ids were reserved, until [`OrderStore::attach_checkout_order`].
    pub order_id: Option<String>,
    /// The dialect that made it, which its order's webhooks are written in.
    pub dialect: WebhookDialect,
    pub buyer_email: Option<String>,
    /// What `product_price` is in, as the payer reads it: an ISO code of a
    /// configured fiat currency (`USD` for every v1 checkout), or the symbol
    /// of the coin `price_coin_id`.
    pub denominated_currency: String,
    /// The coin a checkout is priced in, which is then the only coin it
    /// takes; `None` for a fiat price.
    pub price_coin_id: Option<CoinId>,
    /// A dashboard invoice (decisions §32), made by a merchant's user in the
    /// console rather than through the API.
    pub invoice: bool,
}

/// A payment to an order seen on chain, still confirming.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConfirmingPayment {
    /// Its block; `None` if it was seen before blocks were recorded with it.
    pub block_height: Option<u64>,
}

/// A credited payment to an order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderPayment {
    pub record_id: String,
    pub txid: String,
    pub from_address: String,
    /// The coin paid: an order's address can receive any token of its chain.
    pub coin_id: CoinId,
    pub amount: Amount,
    pub service_fee: Amount,
    /// When it was credited (unix seconds).
    pub pay_time: i64,
    /// When its block was made.
    pub block_time_ms: i64,
}

#[async_trait]
pub trait OrderStore: Send + Sync + std::fmt::Debug + 'static {
    /// Stores an order and its deposit address in one DB transaction: the
    /// next index of `derivation.family` is taken and the address derived at
    /// it becomes the order's `pay_address` and the stored address (the
    /// given `order.pay_address`, `address.address` and
    /// `address.derivation_index` are not read). If the merchant already has
    /// an order of that kind with that merchant_order_id, or the order's id
    /// is taken (a hosted checkout's reserved id, chosen twice at once),
    /// nothing is written — no index is taken — and the merchant's order of
    /// that kind is returned instead.
    async fn create_order(
        &self,
        order: &Order,
        address: &DepositAddress,
        derivation: &Derivation<'_>,
    ) -> Result<Order, StoreError>;

    async fn order_by_merchant_order_id(
        &self,
        app_id: &MerchantId,
        merchant_order_id: &str,
        kind: &str,
    ) -> Result<Option<Order>, StoreError>;

    /// The merchant's orders with these merchant_order_ids, of any kind.
    async fn orders_by_merchant_order_ids(
        &self,
        app_id: &MerchantId,
        merchant_order_ids: &[String],
    ) -> Result<Vec<Order>, StoreError>;

    async fn order(&self, order_id: &str) -> Result<Option<Order>, StoreError>;

    /// Stores a hosted checkout, or returns the merchant's existing one with
    /// the same merchant_order_id.
    /// Stores `checkout` unless the merchant has one of its
    /// merchant_order_id, and returns the one stored. `audit`, a dashboard
    /// invoice's row, is appended in the same DB transaction when this
    /// checkout is the one stored (decisions §40); the API passes `None`.
    async fn create_checkout(
        &self,
        checkout: &Checkout,
        audit: Option<&AuditEntry>,
    ) -> Result<Checkout, StoreError>;

    async fn checkout(&self, key: &str) -> Result<Option<Checkout>, StoreError>;

    /// The merchant's hosted checkouts with these merchant_order_ids.
    async fn checkouts_by_merchant_order_ids(
        &self,
        app_id: &MerchantId,
        merchant_order_ids: &[String],
    ) -> Result<Vec<Checkout>, StoreError>;

    /// Reserves the order id of a checkout stored without one (before
    /// checkouts got theirs at creation); `false` if it has one already.
    async fn attach_checkout_order(&self, key: &str, order_id: &str) -> Result<bool, StoreError>;

    /// Credited payments of an order, oldest first.
    async fn order_payments(&self, order_id: &str) -> Result<Vec<OrderPayment>, StoreError>;

    /// The order's earliest payment made by `made_by_ms` that is seen but not
    /// credited yet, if any.
    async fn order_confirming_payment(
        &self,
        order_id: &str,
        made_by_ms: i64,
    ) -> Result<Option<ConfirmingPayment>, StoreError>;

    /// The merchant's dashboard invoices, newest first, `limit` of them
    /// after `after` (an invoice's `created_at` and checkout key): keyset
    /// pages, so a page reads its own rows only (decisions §36).
    async fn invoices(
        &self,
        app_id: &MerchantId,
        after: Option<(i64, String)>,
        limit: u32,
    ) -> Result<Vec<Checkout>, StoreError>;
}

pub(crate) const ORDER_COLUMNS: &str = "order_id, app_id, merchant_order_id, kind, fingerprint, \
    token_id, coin_id, chain, pay_address, product_price, product_name, denominated_currency, \
    fiat_rate, token_rate, order_amount, created_at, expires_at, notify_url, custom_value, remark, \
    dialect, buyer_email, invoice";

/// A merchant's orders under one merchant order id, oldest first: what
/// `bill/info` and v2's order lookups read, through the index SQLite's 0064
/// made for it (a unit test in `sqlite.rs` pins the plan).
pub(crate) const ORDERS_BY_MERCHANT_ORDER_ID: &str =
    "WHERE app_id = $1 AND merchant_order_id = $2 ORDER BY created_at, order_id";

const CHECKOUT_COLUMNS: &str = "checkout_key, app_id, merchant_order_id, fingerprint, \
    product_price, product_name, return_url, notify_url, custom_value, created_at, expires_at, \
    order_id, dialect, buyer_email, denominated_currency, price_coin_id, invoice";

// One body of SQL for both backends; see `backend.rs`.
#[async_trait]
impl<S> OrderStore for S
where
    S: SqlStore,
    for<'c> &'c mut <S::Db as Database>::Connection: Executor<'c, Database = S::Db>,
    for<'q> <S::Db as Database>::Arguments<'q>: IntoArguments<'q, S::Db>,
    for<'q> &'q str: Encode<'q, S::Db> + Type<S::Db>,
    for<'q> String: Encode<'q, S::Db> + Type<S::Db>,
    for<'q> i64: Encode<'q, S::Db> + Type<S::Db>,
    // sqlx encodes `Option` per backend, not for every `T: Encode`.
    for<'q> Option<String>: Encode<'q, S::Db>,
    for<'q> Option<i64>: Encode<'q, S::Db>,
    for<'q> Option<&'q str>: Encode<'q, S::Db>,
{
    async fn create_order(
        &self,
        order: &Order,
        address: &DepositAddress,
        derivation: &Derivation<'_>,
    ) -> Result<Order, StoreError> {
        let mut db_tx = self.begin_write_with(S::Db::BEGIN_WRITE).await?;
        // On PostgreSQL this locks the family's counter until the commit:
        // orders of one chain family take turns from here (decisions §37).
        let (index, pay_address) = derive_next_address::<S::Db>(&mut db_tx, derivation).await?;
        let inserted = sqlx::query(&format!(
            "INSERT INTO orders ({ORDER_COLUMNS})
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16,
                     $17, $18, $19, $20, $21, $22, $23)
             ON CONFLICT DO NOTHING"
        ))
        .bind(&order.order_id)
        .bind(order.app_id.as_str())
        .bind(&order.merchant_order_id)
        .bind(&order.kind)
        .bind(&order.fingerprint)
        .bind(order.token_id.as_str())
        .bind(order.coin_id.as_str())
        .bind(&order.chain)
        .bind(&pay_address)
        .bind(&order.product_price)
        .bind(&order.product_name)
        .bind(&order.denominated_currency)
        .bind(&order.fiat_rate)
        .bind(&order.token_rate)
        .bind(order.order_amount.base_units().to_string())
        .bind(order.created_at)
        .bind(order.expires_at)
        .bind(&order.notify_url)
        .bind(&order.custom_value)
        .bind(&order.remark)
        .bind(order.dialect.as_str())
        .bind(&order.buyer_email)
        .bind(i64::from(order.invoice))
        .execute(&mut *db_tx)
        .await?;
        if inserted.rows_affected() == 1 {
            sqlx::query(
                "INSERT INTO deposit_addresses
                     (chain, address, app_id, order_id, notify_url, derivation_index, created_at,
                      dialect)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(&address.chain)
            .bind(&pay_address)
            .bind(address.app_id.as_str())
            .bind(&order.order_id)
            .bind(&address.notify_url)
            .bind(i64::from(index))
            .bind(order.created_at)
            .bind(address.dialect.as_str())
            .execute(&mut *db_tx)
            .await?;
            db_tx.commit().await?;
            // Stored as given but for the address derived here: reading it
            // back would return the same.
            return Ok(Order {
                pay_address,
                ..order.clone()
            });
        }
        // The merchant's order stands; the rollback gives the index back.
        db_tx.rollback().await?;
        self.order_by_merchant_order_id(&order.app_id, &order.merchant_order_id, &order.kind)
            .await?
            .ok_or_else(|| StoreError::Corrupt("a stored order vanished".into()))
    }

    async fn order_by_merchant_order_id(
        &self,
        app_id: &MerchantId,
        merchant_order_id: &str,
        kind: &str,
    ) -> Result<Option<Order>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {ORDER_COLUMNS} FROM orders
             WHERE app_id = $1 AND merchant_order_id = $2 AND kind = $3"
        ))
        .bind(app_id.as_str())
        .bind(merchant_order_id)
        .bind(kind)
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(order_from_row).transpose()
    }

    async fn orders_by_merchant_order_ids(
        &self,
        app_id: &MerchantId,
        merchant_order_ids: &[String],
    ) -> Result<Vec<Order>, StoreError> {
        let mut orders = Vec::new();
        for merchant_order_id in merchant_order_ids {
            let rows = sqlx::query(&format!(
                "SELECT {ORDER_COLUMNS} FROM orders {ORDERS_BY_MERCHANT_ORDER_ID}"
            ))
            .bind(app_id.as_str())
            .bind(merchant_order_id)
            .fetch_all(self.pool())
            .await?;
            for row in &rows {
                orders.push(order_from_row(row)?);
            }
        }
        Ok(orders)
    }

    async fn order(&self, order_id: &str) -> Result<Option<Order>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {ORDER_COLUMNS} FROM orders WHERE order_id = $1"
        ))
        .bind(order_id)
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(order_from_row).transpose()
    }

    async fn create_checkout(
        &self,
        checkout: &Checkout,
        audit: Option<&AuditEntry>,
    ) -> Result<Checkout, StoreError> {
        let mut db_tx = self.begin_write_with(S::Db::BEGIN_WRITE).await?;
        let inserted = sqlx::query(&format!(
            "INSERT INTO checkouts ({CHECKOUT_COLUMNS})
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)
             ON CONFLICT (app_id, merchant_order_id) DO NOTHING"
        ))
        .bind(&checkout.key)
        .bind(checkout.app_id.as_str())
        .bind(&checkout.merchant_order_id)
        .bind(&checkout.fingerprint)
        .bind(&checkout.product_price)
        .bind(&checkout.product_name)
        .bind(&checkout.return_url)
        .bind(&checkout.notify_url)
        .bind(&checkout.custom_value)
        .bind(checkout.created_at)
        .bind(checkout.expires_at)
        .bind(&checkout.order_id)
        .bind(checkout.dialect.as_str())
        .bind(&checkout.buyer_email)
        .bind(&checkout.denominated_currency)
        .bind(
            checkout
                .price_coin_id
                .as_ref()
                .map(|id| id.as_str().to_owned()),
        )
        .bind(i64::from(checkout.invoice))
        .execute(&mut *db_tx)
        .await?;
        if inserted.rows_affected() == 1
            && let Some(audit) = audit
        {
            insert_audit::<S::Db>(&mut db_tx, audit).await?;
        }
        let row = sqlx::query(&format!(
            "SELECT {CHECKOUT_COLUMNS} FROM checkouts WHERE app_id = $1 AND merchant_order_id = $2"
        ))
        .bind(checkout.app_id.as_str())
        .bind(&checkout.merchant_order_id)
        .fetch_one(&mut *db_tx)
        .await?;
        db_tx.commit().await?;
        checkout_from_row(&row)
    }

    async fn checkout(&self, key: &str) -> Result<Option<Checkout>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {CHECKOUT_COLUMNS} FROM checkouts WHERE checkout_key = $1"
        ))
        .bind(key)
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(checkout_from_row).transpose()
    }

    async fn checkouts_by_merchant_order_ids(
        &self,
        app_id: &MerchantId,
        merchant_order_ids: &[String],
    ) -> Result<Vec<Checkout>, StoreError> {
        let mut checkouts = Vec::new();
        for merchant_order_id in merchant_order_ids {
            let row = sqlx::query(&format!(
                "SELECT {CHECKOUT_COLUMNS} FROM checkouts WHERE app_id = $1 AND merchant_order_id = $2"
            ))
            .bind(app_id.as_str())
            .bind(merchant_order_id)
            .fetch_optional(self.pool())
            .await?;
            if let Some(row) = row {
                checkouts.push(checkout_from_row(&row)?);
            }
        }
        Ok(checkouts)
    }

    async fn attach_checkout_order(&self, key: &str, order_id: &str) -> Result<bool, StoreError> {
        let updated = sqlx::query(
            "UPDATE checkouts SET order_id = $1 WHERE checkout_key = $2 AND order_id IS NULL",
        )
        .bind(order_id)
        .bind(key)
        .execute(&mut *self.write_connection().await?)
        .await?;
        Ok(updated.rows_affected() == 1)
    }

    async fn order_payments(&self, order_id: &str) -> Result<Vec<OrderPayment>, StoreError> {
        let rows = sqlx::query(
            "SELECT record_id, txid, from_address, coin_id, paid_amount, service_fee, credited_at,
                    block_time_ms
             FROM deposits WHERE order_id = $1 ORDER BY credited_at, record_id",
        )
        .bind(order_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(payment_from_row).collect()
    }

    async fn invoices(
        &self,
        app_id: &MerchantId,
        after: Option<(i64, String)>,
        limit: u32,
    ) -> Result<Vec<Checkout>, StoreError> {
        let (after_created, after_key) = after.unzip();
        let rows = sqlx::query(&format!(
            "SELECT {CHECKOUT_COLUMNS} FROM checkouts
             WHERE app_id = $1 AND invoice = 1
               AND ($2 IS NULL OR created_at < $2 OR (created_at = $2 AND checkout_key < $3))
             ORDER BY created_at DESC, checkout_key DESC LIMIT $4"
        ))
        .bind(app_id.as_str())
        .bind(after_created)
        .bind(after_key)
        .bind(i64::from(limit))
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(checkout_from_row).collect()
    }

    async fn order_confirming_payment(
        &self,
        order_id: &str,
        made_by_ms: i64,
    ) -> Result<Option<ConfirmingPayment>, StoreError> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS payments, MIN(s.block_height) AS block FROM seen_transfers s
             WHERE s.order_id = $1 AND s.block_time_ms <= $2
               AND NOT EXISTS (SELECT 1 FROM deposits d
                               WHERE d.chain = s.chain AND d.txid = s.txid
                                 AND d.log_index = s.log_index)",
        )
        .bind(order_id)
        .bind(made_by_ms)
        .fetch_one(self.pool())
        .await?;
        if row.int("payments")? == 0 {
            return Ok(None);
        }
        Ok(Some(ConfirmingPayment {
            block_height: row
                .opt_int("block")?
                .map(|height| to_u64(height, "block height"))
                .transpose()?,
        }))
    }
}

pub(crate) fn order_from_row(row: &impl Columns) -> Result<Order, StoreError> {
    Ok(Order {
        order_id: row.text("order_id")?,
        app_id: MerchantId::new(row.text("app_id")?),
        merchant_order_id: row.text("merchant_order_id")?,
        kind: row.text("kind")?,
        fingerprint: row.text("fingerprint")?,
        token_id: TokenId::new(row.text("token_id")?),
        coin_id: CoinId::new(row.text("coin_id")?),
        chain: row.text("chain")?,
        pay_address: row.text("pay_address")?,
        product_price: row.text("product_price")?,
        product_name: row.text("product_name")?,
        denominated_currency: row.text("denominated_currency")?,
        fiat_rate: row.text("fiat_rate")?,
        token_rate: row.text("token_rate")?,
        order_amount: parse_amount(&row.text("order_amount")?)?,
        created_at: row.int("created_at")?,
        expires_at: row.int("expires_at")?,
        notify_url: row.opt_text("notify_url")?,
        custom_value: row.opt_text("custom_value")?,
        remark: row.opt_text("remark")?,
        dialect: dialect_from(&row.text("dialect")?)?,
        buyer_email: row.opt_text("buyer_email")?,
        invoice: row.int("invoice")? == 1,
    })
}

fn checkout_from_row(row: &impl Columns) -> Result<Checkout, StoreError> {
    Ok(Checkout {
        key: row.text("checkout_key")?,
        app_id: MerchantId::new(row.text("app_id")?),
        merchant_order_id: row.text("merchant_order_id")?,
        fingerprint: row.text("fingerprint")?,
        product_price: row.text("product_price")?,
        product_name: row.text("product_name")?,
        return_url: row.opt_text("return_url")?,
        notify_url: row.opt_text("notify_url")?,
        custom_value: row.opt_text("custom_value")?,
        created_at: row.int("created_at")?,
        expires_at: row.int("expires_at")?,
        order_id: row.opt_text("order_id")?,
        dialect: dialect_from(&row.text("dialect")?)?,
        buyer_email: row.opt_text("buyer_email")?,
        denominated_currency: row.text("denominated_currency")?,
        price_coin_id: row.opt_text("price_coin_id")?.map(CoinId::new),
        invoice: row.int("invoice")? == 1,
    })
}

fn payment_from_row(row: &impl Columns) -> Result<OrderPayment, StoreError> {
    Ok(OrderPayment {
        record_id: row.text("record_id")?,
        txid: row.text("txid")?,
        from_address: row.text("from_address")?,
        coin_id: CoinId::new(row.text("coin_id")?),
        amount: parse_amount(&row.text("paid_amount")?)?,
        service_fee: parse_amount(&row.text("service_fee")?)?,
        pay_time: row.int("credited_at")?,
        block_time_ms: row.int("block_time_ms")?,
    })
}
