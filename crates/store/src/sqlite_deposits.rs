//! `DepositStore` and `OutboxStore` on SQLite.

use async_trait::async_trait;
use ccgate_ledger::MerchantId;
use secrecy::{ExposeSecret, SecretSlice};

use crate::deposits::{
    ChainTransfer, Checkout, ConfirmingPayment, DepositAddress, DepositCredit, DepositStore,
    HeldAddress, MerchantSettings, NewWebhook, Order, OrderPayment, OutboxStore, OutboxWebhook,
    ResendFilter, SeenTransfer, WebhookAttempt, WebhookCounts, WebhookDialect, WebhookNext,
    WebhookRow,
};
use crate::rows::{
    ADDRESS_COLUMNS, CHECKOUT_COLUMNS, ORDER_COLUMNS, TRANSFER_COLUMNS, WEBHOOK_COLUMNS,
    address_from_row, attempt_from_row, checkout_from_row, held_address_from_row,
    mark_repeats_within, order_from_row, outbox_after, payment_from_row, response_head,
    settings_from_row, to_i64, to_u32, to_u64, transfer_from_row, webhook_counts, webhook_row,
};
use crate::sqlite::post_entries_in;
use crate::{SqliteStore, StoreError};

/// Queues a webhook inside the caller's DB transaction.
pub(crate) async fn insert_webhook(
    conn: &mut sqlx::SqliteConnection,
    webhook: &NewWebhook,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO webhook_outbox
             (app_id, record_id, order_type, dialect, url, payload, status, attempts,
              next_attempt_at_ms, created_at_ms)
         VALUES (?, ?, ?, ?, ?, ?, 'pending', 0, ?, ?)",
    )
    .bind(webhook.app_id.as_str())
    .bind(&webhook.record_id)
    .bind(webhook.order_type)
    .bind(webhook.dialect.as_str())
    .bind(&webhook.url)
    .bind(&webhook.payload)
    .bind(webhook.created_at_ms)
    .bind(webhook.created_at_ms)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

#[async_trait]
impl DepositStore for SqliteStore {
    async fn load_or_init_secret(
        &self,
        name: &str,
        fresh: &SecretSlice<u8>,
    ) -> Result<SecretSlice<u8>, StoreError> {
        let sealed = self.key.seal(name, fresh.expose_secret())?;
        sqlx::query(
            "INSERT INTO sealed_secrets (name, ciphertext) VALUES (?, ?) ON CONFLICT (name) DO NOTHING",
        )
        .bind(name)
        .bind(sealed)
        .execute(&self.pool)
        .await?;
        let stored: Vec<u8> =
            sqlx::query_scalar("SELECT ciphertext FROM sealed_secrets WHERE name = ?")
                .bind(name)
                .fetch_one(&self.pool)
                .await?;
        self.key.open(name, &stored)
    }

    async fn permanent_address(
        &self,
        app_id: &MerchantId,
        user_id: &str,
        chain: &str,
    ) -> Result<Option<DepositAddress>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {ADDRESS_COLUMNS} FROM deposit_addresses
             WHERE app_id = ? AND user_id = ? AND chain = ? AND unbound_at IS NULL"
        ))
        .bind(app_id.as_str())
        .bind(user_id)
        .bind(chain)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(address_from_row).transpose()
    }

    async fn count_permanent_addresses(&self, app_id: &MerchantId) -> Result<u64, StoreError> {
        let count: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM deposit_addresses WHERE app_id = ? AND user_id IS NOT NULL",
        )
        .bind(app_id.as_str())
        .fetch_one(&self.pool)
        .await?;
        to_u64(count, "address count")
    }

    async fn next_derivation_index(&self, family: &str) -> Result<u32, StoreError> {
        let next: i64 = sqlx::query_scalar(
            "INSERT INTO derivation_counters (family, next_index) VALUES (?, 1)
             ON CONFLICT (family) DO UPDATE SET next_index = next_index + 1
             RETURNING next_index - 1",
        )
        .bind(family)
        .fetch_one(&self.pool)
        .await?;
        to_u32(next, "derivation index")
    }

    async fn insert_permanent_address(
        &self,
        address: &DepositAddress,
        now_unix_secs: i64,
    ) -> Result<DepositAddress, StoreError> {
        let user_id = address
            .user_id
            .as_deref()
            .ok_or_else(|| StoreError::Corrupt("a permanent address needs a user id".into()))?;
        let inserted = sqlx::query(
            "INSERT INTO deposit_addresses
                 (chain, address, app_id, user_id, notify_url, derivation_index, created_at,
                  dialect)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)
             ON CONFLICT (app_id, user_id, chain) WHERE user_id IS NOT NULL AND unbound_at IS NULL
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
        .execute(&self.pool)
        .await?;
        if inserted.rows_affected() == 1 {
            // Stored as given (a permanent address belongs to no order):
            // reading it back would return the same.
            return Ok(DepositAddress {
                order_id: None,
                ..address.clone()
            });
        }
        self.permanent_address(&address.app_id, user_id, &address.chain)
            .await?
            .ok_or_else(|| StoreError::Corrupt("a stored address vanished".into()))
    }

    async fn deposit_address(
        &self,
        chain: &str,
        address: &str,
    ) -> Result<Option<DepositAddress>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {ADDRESS_COLUMNS} FROM deposit_addresses WHERE chain = ? AND address = ?"
        ))
        .bind(chain)
        .bind(address)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(address_from_row).transpose()
    }

    async fn merchant_addresses(
        &self,
        app_id: &MerchantId,
        address: &str,
    ) -> Result<Vec<HeldAddress>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {ADDRESS_COLUMNS}, unbound_at, credits FROM deposit_addresses
             WHERE app_id = ? AND address = ? ORDER BY chain"
        ))
        .bind(app_id.as_str())
        .bind(address)
        .fetch_all(&self.pool)
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
        let mut db_tx = self.pool.begin().await?;
        let mut unbound = Vec::new();
        for chain in chains {
            let updated = sqlx::query(
                "UPDATE deposit_addresses SET unbound_at = ?
                 WHERE app_id = ? AND address = ? AND chain = ?
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

    async fn merchant_settings(
        &self,
        app_id: &MerchantId,
    ) -> Result<Option<MerchantSettings>, StoreError> {
        let row = sqlx::query(
            "SELECT webhook_url, notify_pending, service_fee_ppm, webhook_dialect FROM merchants WHERE app_id = ?",
        )
        .bind(app_id.as_str())
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(settings_from_row).transpose()
    }

    async fn set_merchant_webhook(
        &self,
        app_id: &MerchantId,
        url: Option<&str>,
        notify_pending: bool,
        dialect: WebhookDialect,
    ) -> Result<(), StoreError> {
        let updated = sqlx::query(
            "UPDATE merchants SET webhook_url = ?, notify_pending = ?, webhook_dialect = ?
             WHERE app_id = ?",
        )
        .bind(url)
        .bind(i64::from(notify_pending))
        .bind(dialect.as_str())
        .bind(app_id.as_str())
        .execute(&self.pool)
        .await?;
        if updated.rows_affected() == 0 {
            return Err(StoreError::MerchantNotFound(app_id.to_string()));
        }
        Ok(())
    }

    async fn set_service_fee(&self, app_id: &MerchantId, fee_ppm: u32) -> Result<(), StoreError> {
        let updated = sqlx::query("UPDATE merchants SET service_fee_ppm = ? WHERE app_id = ?")
            .bind(i64::from(fee_ppm))
            .bind(app_id.as_str())
            .execute(&self.pool)
            .await?;
        if updated.rows_affected() == 0 {
            return Err(StoreError::MerchantNotFound(app_id.to_string()));
        }
        Ok(())
    }

    async fn devnet_add_transfer(&self, transfer: &ChainTransfer) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO devnet_transfers
                 (chain, txid, log_index, block_height, block_time_ms, from_address, to_address,
                  memo, token_id, amount)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
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
        .execute(&self.pool)
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
             FROM devnet_transfers WHERE chain = ? AND txid = ? ORDER BY log_index LIMIT 1"
        ))
        .bind(chain)
        .bind(txid)
        .fetch_optional(&self.pool)
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
             WHERE chain = ? AND block_height BETWEEN ? AND ?
             ORDER BY block_height, txid, log_index"
        ))
        .bind(chain)
        .bind(to_i64(from_height, "height")?)
        .bind(to_i64(to_height, "height")?)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(transfer_from_row).collect()
    }

    async fn chain_cursor(&self, chain: &str) -> Result<Option<u64>, StoreError> {
        let height: Option<i64> =
            sqlx::query_scalar("SELECT scanned_height FROM chain_cursors WHERE chain = ?")
                .bind(chain)
                .fetch_optional(&self.pool)
                .await?;
        height.map(|h| to_u64(h, "cursor")).transpose()
    }

    async fn set_chain_cursor(&self, chain: &str, scanned_height: u64) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO chain_cursors (chain, scanned_height) VALUES (?, ?)
             ON CONFLICT (chain) DO UPDATE SET scanned_height = excluded.scanned_height",
        )
        .bind(chain)
        .bind(to_i64(scanned_height, "height")?)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn create_order(
        &self,
        order: &Order,
        address: &DepositAddress,
    ) -> Result<Order, StoreError> {
        let mut db_tx = self.pool.begin().await?;
        let inserted = sqlx::query(&format!(
            "INSERT INTO orders ({ORDER_COLUMNS})
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
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
        .bind(&order.pay_address)
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
        .execute(&mut *db_tx)
        .await?;
        if inserted.rows_affected() == 1 {
            sqlx::query(
                "INSERT INTO deposit_addresses
                     (chain, address, app_id, order_id, notify_url, derivation_index, created_at,
                      dialect)
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            )
            .bind(&address.chain)
            .bind(&address.address)
            .bind(address.app_id.as_str())
            .bind(&order.order_id)
            .bind(&address.notify_url)
            .bind(i64::from(address.derivation_index))
            .bind(order.created_at)
            .bind(address.dialect.as_str())
            .execute(&mut *db_tx)
            .await?;
            db_tx.commit().await?;
            // Stored exactly as given: reading it back would return the same.
            return Ok(order.clone());
        }
        db_tx.commit().await?;
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
             WHERE app_id = ? AND merchant_order_id = ? AND kind = ?"
        ))
        .bind(app_id.as_str())
        .bind(merchant_order_id)
        .bind(kind)
        .fetch_optional(&self.pool)
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
                "SELECT {ORDER_COLUMNS} FROM orders
                 WHERE app_id = ? AND merchant_order_id = ? ORDER BY created_at, order_id"
            ))
            .bind(app_id.as_str())
            .bind(merchant_order_id)
            .fetch_all(&self.pool)
            .await?;
            for row in &rows {
                orders.push(order_from_row(row)?);
            }
        }
        Ok(orders)
    }

    async fn order(&self, order_id: &str) -> Result<Option<Order>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {ORDER_COLUMNS} FROM orders WHERE order_id = ?"
        ))
        .bind(order_id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(order_from_row).transpose()
    }

    async fn create_checkout(&self, checkout: &Checkout) -> Result<Checkout, StoreError> {
        sqlx::query(&format!(
            "INSERT INTO checkouts ({CHECKOUT_COLUMNS})
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
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
        .execute(&self.pool)
        .await?;
        let row = sqlx::query(&format!(
            "SELECT {CHECKOUT_COLUMNS} FROM checkouts WHERE app_id = ? AND merchant_order_id = ?"
        ))
        .bind(checkout.app_id.as_str())
        .bind(&checkout.merchant_order_id)
        .fetch_one(&self.pool)
        .await?;
        checkout_from_row(&row)
    }

    async fn checkout(&self, key: &str) -> Result<Option<Checkout>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {CHECKOUT_COLUMNS} FROM checkouts WHERE checkout_key = ?"
        ))
        .bind(key)
        .fetch_optional(&self.pool)
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
                "SELECT {CHECKOUT_COLUMNS} FROM checkouts WHERE app_id = ? AND merchant_order_id = ?"
            ))
            .bind(app_id.as_str())
            .bind(merchant_order_id)
            .fetch_optional(&self.pool)
            .await?;
            if let Some(row) = row {
                checkouts.push(checkout_from_row(&row)?);
            }
        }
        Ok(checkouts)
    }

    async fn attach_checkout_order(&self, key: &str, order_id: &str) -> Result<bool, StoreError> {
        let updated = sqlx::query(
            "UPDATE checkouts SET order_id = ? WHERE checkout_key = ? AND order_id IS NULL",
        )
        .bind(order_id)
        .bind(key)
        .execute(&self.pool)
        .await?;
        Ok(updated.rows_affected() == 1)
    }

    async fn order_payments(&self, order_id: &str) -> Result<Vec<OrderPayment>, StoreError> {
        let rows = sqlx::query(
            "SELECT record_id, txid, from_address, coin_id, paid_amount, service_fee, credited_at,
                    block_time_ms
             FROM deposits WHERE order_id = ? ORDER BY credited_at, record_id",
        )
        .bind(order_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(payment_from_row).collect()
    }

    async fn record_seen_transfer(
        &self,
        seen: &SeenTransfer,
        webhook: Option<&NewWebhook>,
    ) -> Result<bool, StoreError> {
        let mut db_tx = self.pool.begin().await?;
        let inserted = sqlx::query(
            "INSERT INTO seen_transfers
                 (chain, txid, log_index, record_id, app_id, order_id, block_time_ms, seen_at_ms,
                  block_height, from_address, to_address, memo, token_id, amount)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
             ON CONFLICT (chain, txid, log_index) DO NOTHING",
        )
        .bind(&seen.chain)
        .bind(&seen.txid)
        .bind(i64::from(seen.log_index))
        .bind(&seen.record_id)
        .bind(seen.app_id.as_str())
        .bind(&seen.order_id)
        .bind(seen.block_time_ms)
        .bind(seen.seen_at_ms)
        .bind(to_i64(seen.block_height, "block height")?)
        .bind(&seen.from_address)
        .bind(&seen.to_address)
        .bind(&seen.memo)
        .bind(seen.token_id.as_str())
        .bind(seen.amount.base_units().to_string())
        .execute(&mut *db_tx)
        .await?;
        if inserted.rows_affected() == 0 {
            return Ok(false);
        }
        if let Some(webhook) = webhook {
            insert_webhook(&mut db_tx, webhook).await?;
        }
        db_tx.commit().await?;
        Ok(true)
    }

    async fn seen_record_id(
        &self,
        chain: &str,
        txid: &str,
        log_index: u32,
    ) -> Result<Option<String>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT record_id FROM seen_transfers WHERE chain = ? AND txid = ? AND log_index = ?",
        )
        .bind(chain)
        .bind(txid)
        .bind(i64::from(log_index))
        .fetch_optional(&self.pool)
        .await?)
    }

    async fn order_confirming_payment(
        &self,
        order_id: &str,
        made_by_ms: i64,
    ) -> Result<Option<ConfirmingPayment>, StoreError> {
        let (count, block): (i64, Option<i64>) = sqlx::query_as(
            "SELECT COUNT(*), MIN(s.block_height) FROM seen_transfers s
             WHERE s.order_id = ? AND s.block_time_ms <= ?
               AND NOT EXISTS (SELECT 1 FROM deposits d
                               WHERE d.chain = s.chain AND d.txid = s.txid
                                 AND d.log_index = s.log_index)",
        )
        .bind(order_id)
        .bind(made_by_ms)
        .fetch_one(&self.pool)
        .await?;
        if count == 0 {
            return Ok(None);
        }
        Ok(Some(ConfirmingPayment {
            block_height: block
                .map(|height| to_u64(height, "block height"))
                .transpose()?,
        }))
    }

    async fn seen_cursor(&self, chain: &str) -> Result<Option<u64>, StoreError> {
        let height: Option<i64> =
            sqlx::query_scalar("SELECT seen_height FROM chain_seen_cursors WHERE chain = ?")
                .bind(chain)
                .fetch_optional(&self.pool)
                .await?;
        height.map(|h| to_u64(h, "cursor")).transpose()
    }

    async fn set_seen_cursor(&self, chain: &str, seen_height: u64) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO chain_seen_cursors (chain, seen_height) VALUES (?, ?)
             ON CONFLICT (chain) DO UPDATE SET seen_height = excluded.seen_height",
        )
        .bind(chain)
        .bind(to_i64(seen_height, "height")?)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn credit_deposits(
        &self,
        chain: &str,
        scanned_height: Option<u64>,
        credits: &[DepositCredit],
    ) -> Result<Vec<bool>, StoreError> {
        // IMMEDIATE takes SQLite's write lock at once, so no other process can
        // credit between the look-up below and the commit.
        let mut db_tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        if let Some(height) = scanned_height {
            sqlx::query(
                "INSERT INTO chain_cursors (chain, scanned_height) VALUES (?, ?)
                 ON CONFLICT (chain) DO UPDATE SET scanned_height = excluded.scanned_height",
            )
            .bind(chain)
            .bind(to_i64(height, "height")?)
            .execute(&mut *db_tx)
            .await?;
        }
        let mut fresh = Vec::with_capacity(credits.len());
        for credit in credits {
            let transfer = &credit.deposit.transfer;
            let credited_before: Option<i64> = sqlx::query_scalar(
                "SELECT 1 FROM deposits WHERE chain = ? AND txid = ? AND log_index = ?",
            )
            .bind(&transfer.chain)
            .bind(&transfer.txid)
            .bind(i64::from(transfer.log_index))
            .fetch_optional(&mut *db_tx)
            .await?;
            fresh.push(credited_before.is_none());
        }
        mark_repeats_within(credits, &mut fresh);
        let applied: Vec<&DepositCredit> = credits
            .iter()
            .zip(&fresh)
            .filter_map(|(credit, &is_fresh)| is_fresh.then_some(credit))
            .collect();
        let entries: Vec<_> = applied.iter().map(|c| (&c.entry, &c.meta)).collect();
        let entry_ids = post_entries_in(&mut db_tx, &entries).await?;
        for (credit, entry_id) in applied.iter().zip(entry_ids) {
            let deposit = &credit.deposit;
            let transfer = &deposit.transfer;
            // No ON CONFLICT: the look-up above under the write lock is what
            // skips repeats, so a conflict here is a fault and fails the batch.
            sqlx::query(
                "INSERT INTO deposits
                     (record_id, chain, txid, log_index, app_id, address, user_id, order_id,
                      token_id, coin_id, paid_amount, service_fee, credit_amount, from_address,
                      memo, block_height, block_time_ms, journal_entry_id, credited_at)
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            )
            .bind(&deposit.record_id)
            .bind(&transfer.chain)
            .bind(&transfer.txid)
            .bind(i64::from(transfer.log_index))
            .bind(deposit.app_id.as_str())
            .bind(&transfer.to_address)
            .bind(&deposit.user_id)
            .bind(&deposit.order_id)
            .bind(transfer.token_id.as_str())
            .bind(deposit.coin_id.as_str())
            .bind(transfer.amount.base_units().to_string())
            .bind(deposit.service_fee.base_units().to_string())
            .bind(deposit.credit_amount.base_units().to_string())
            .bind(&transfer.from_address)
            .bind(&transfer.memo)
            .bind(to_i64(transfer.block_height, "block height")?)
            .bind(transfer.block_time_ms)
            .bind(entry_id)
            .bind(deposit.credited_at)
            .execute(&mut *db_tx)
            .await?;
            insert_webhook(&mut db_tx, &credit.webhook).await?;
        }
        db_tx.commit().await?;
        Ok(fresh)
    }
}

#[async_trait]
impl OutboxStore for SqliteStore {
    async fn claim_due_webhooks(
        &self,
        now_ms: i64,
        lease_ms: i64,
        limit: u32,
        per_merchant_max: u32,
    ) -> Result<Vec<OutboxWebhook>, StoreError> {
        crate::outbox_claim::claim_due_webhooks(
            &self.pool,
            now_ms,
            lease_ms,
            limit,
            per_merchant_max,
        )
        .await
    }

    async fn release_webhooks(
        &self,
        ids: &[i64],
        claimed_until_ms: i64,
        now_ms: i64,
    ) -> Result<u64, StoreError> {
        let mut db_tx = self.pool.begin().await?;
        let mut released = 0;
        for id in ids {
            released += sqlx::query(
                "UPDATE webhook_outbox SET next_attempt_at_ms = ?, claimed_until_ms = NULL
                 WHERE id = ? AND status = 'pending' AND next_attempt_at_ms = ?",
            )
            .bind(now_ms)
            .bind(id)
            .bind(claimed_until_ms)
            .execute(&mut *db_tx)
            .await?
            .rows_affected();
        }
        db_tx.commit().await?;
        Ok(released)
    }

    async fn record_webhook_attempt(
        &self,
        id: i64,
        attempt: &WebhookAttempt,
        next: WebhookNext,
    ) -> Result<(), StoreError> {
        self.record_webhook_attempts(&[(id, attempt.clone(), next)])
            .await
    }

    async fn record_webhook_attempts(
        &self,
        attempts: &[(i64, WebhookAttempt, WebhookNext)],
    ) -> Result<(), StoreError> {
        let mut db_tx = self.pool.begin().await?;
        for (id, attempt, next) in attempts {
            let head = response_head(attempt);
            sqlx::query(
                "INSERT INTO webhook_attempts
                 (outbox_id, attempt, at_ms, http_status, latency_ms, outcome, response_head)
             VALUES (?, ?, ?, ?, ?, ?, ?)",
            )
            .bind(id)
            .bind(i64::from(attempt.attempt))
            .bind(attempt.at_ms)
            .bind(attempt.http_status.map(i64::from))
            .bind(to_i64(attempt.latency_ms, "latency")?)
            .bind(&attempt.outcome)
            .bind(head)
            .execute(&mut *db_tx)
            .await?;
            let (status, next_at) = outbox_after(attempt, *next);
            sqlx::query(
                "UPDATE webhook_outbox
             SET status = ?, attempts = ?, next_attempt_at_ms = ?, claimed_until_ms = NULL
             WHERE id = ?",
            )
            .bind(status)
            .bind(i64::from(attempt.attempt))
            .bind(next_at)
            .bind(id)
            .execute(&mut *db_tx)
            .await?;
        }
        db_tx.commit().await?;
        Ok(())
    }

    async fn record_resend_call(
        &self,
        app_id: &MerchantId,
        now_ms: i64,
        per_minute: u32,
        per_day: u32,
    ) -> Result<bool, StoreError> {
        const MINUTE_MS: i64 = 60_000;
        const DAY_MS: i64 = 86_400_000;
        let mut db_tx = self.pool.begin().await?;
        // A write first: the limit check and the insert see the same state.
        sqlx::query("DELETE FROM resend_calls WHERE app_id = ? AND at_ms < ?")
            .bind(app_id.as_str())
            .bind(now_ms.saturating_sub(DAY_MS))
            .execute(&mut *db_tx)
            .await?;
        let (last_minute, last_day): (i64, i64) = sqlx::query_as(
            "SELECT COALESCE(SUM(at_ms > ?), 0), COUNT(*) FROM resend_calls WHERE app_id = ?",
        )
        .bind(now_ms.saturating_sub(MINUTE_MS))
        .bind(app_id.as_str())
        .fetch_one(&mut *db_tx)
        .await?;
        if last_minute >= i64::from(per_minute) || last_day >= i64::from(per_day) {
            return Ok(false);
        }
        sqlx::query("INSERT INTO resend_calls (app_id, at_ms) VALUES (?, ?)")
            .bind(app_id.as_str())
            .bind(now_ms)
            .execute(&mut *db_tx)
            .await?;
        db_tx.commit().await?;
        Ok(true)
    }

    async fn resend_webhooks(
        &self,
        app_id: &MerchantId,
        filter: &ResendFilter<'_>,
        now_ms: i64,
    ) -> Result<u64, StoreError> {
        let only_records = if filter.record_ids.is_empty() {
            String::new()
        } else {
            format!(
                " AND record_id IN ({})",
                vec!["?"; filter.record_ids.len()].join(", ")
            )
        };
        let statement = format!(
            "UPDATE webhook_outbox SET status = 'pending', next_attempt_at_ms = ?, claimed_until_ms = NULL
             WHERE app_id = ? AND created_at_ms BETWEEN ? AND ?
               AND (? OR status != 'delivered')
               AND (? IS NULL OR order_type = ?){only_records}"
        );
        let mut query = sqlx::query(&statement)
            .bind(now_ms)
            .bind(app_id.as_str())
            .bind(filter.from_ms)
            .bind(filter.to_ms)
            .bind(filter.all_results)
            .bind(filter.order_type)
            .bind(filter.order_type);
        for record_id in filter.record_ids {
            query = query.bind(record_id);
        }
        let updated = query.execute(&self.pool).await?;
        Ok(updated.rows_affected())
    }

    async fn webhook_counts(&self) -> Result<WebhookCounts, StoreError> {
        webhook_counts(&self.metric_figures().await?)
    }

    async fn list_webhooks(
        &self,
        app_id: Option<&MerchantId>,
        limit: u32,
    ) -> Result<Vec<WebhookRow>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {WEBHOOK_COLUMNS} FROM webhook_outbox
             WHERE ?1 IS NULL OR app_id = ?1 ORDER BY id DESC LIMIT ?2"
        ))
        .bind(app_id.map(MerchantId::as_str))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(webhook_row).collect()
    }

    async fn webhook_with_attempts(
        &self,
        id: i64,
    ) -> Result<Option<(WebhookRow, Vec<WebhookAttempt>)>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {WEBHOOK_COLUMNS} FROM webhook_outbox WHERE id = ?"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let attempts = sqlx::query(
            "SELECT attempt, at_ms, http_status, latency_ms, outcome, response_head
             FROM webhook_attempts WHERE outbox_id = ? ORDER BY attempt",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(attempt_from_row)
        .collect::<Result<Vec<_>, StoreError>>()?;
        Ok(Some((webhook_row(&row)?, attempts)))
    }
}
