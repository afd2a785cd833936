//! `DepositStore` and `OutboxStore` on PostgreSQL. Each write that must
//! happen once (a credit, an order, an address, a seen transfer) is an
//! `INSERT … ON CONFLICT DO NOTHING` on its unique key: a concurrent writer of
//! the same key waits for the first DB transaction and then writes nothing.

use std::collections::HashSet;

use async_trait::async_trait;
use ccgate_ledger::MerchantId;
use secrecy::{ExposeSecret, SecretSlice};

use crate::deposits::{
    ChainTransfer, Checkout, ConfirmingPayment, DepositAddress, DepositCredit, DepositStore,
    HeldAddress, MerchantSettings, NewWebhook, Order, OrderPayment, OutboxStore, OutboxWebhook,
    ResendFilter, SeenTransfer, WebhookAttempt, WebhookCounts, WebhookDialect, WebhookNext,
    WebhookRow,
};
use crate::postgres::post_entries_in;
use crate::rows::{
    ADDRESS_COLUMNS, CHECKOUT_COLUMNS, ORDER_COLUMNS, TRANSFER_COLUMNS, WEBHOOK_COLUMNS,
    address_from_row, attempt_from_row, checkout_from_row, held_address_from_row,
    mark_repeats_within, order_from_row, outbox_after, payment_from_row, response_head,
    settings_from_row, to_i64, to_u32, to_u64, transfer_from_row, webhook_counts, webhook_row,
};
use crate::{PgStore, StoreError};

/// Queues a webhook inside the caller's DB transaction.
pub(crate) async fn insert_webhook(
    conn: &mut sqlx::PgConnection,
    webhook: &NewWebhook,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO webhook_outbox
             (app_id, record_id, order_type, dialect, url, payload, status, attempts,
              next_attempt_at_ms, created_at_ms)
         VALUES ($1, $2, $3, $4, $5, $6, 'pending', 0, $7, $8)",
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
impl DepositStore for PgStore {
    async fn load_or_init_secret(
        &self,
        name: &str,
        fresh: &SecretSlice<u8>,
    ) -> Result<SecretSlice<u8>, StoreError> {
        let sealed = self.key.seal(name, fresh.expose_secret())?;
        sqlx::query(
            "INSERT INTO sealed_secrets (name, ciphertext) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
        )
        .bind(name)
        .bind(sealed)
        .execute(&self.pool)
        .await?;
        let stored: Vec<u8> =
            sqlx::query_scalar("SELECT ciphertext FROM sealed_secrets WHERE name = $1")
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
             WHERE app_id = $1 AND user_id = $2 AND chain = $3 AND unbound_at IS NULL"
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
            "SELECT COUNT(*) FROM deposit_addresses WHERE app_id = $1 AND user_id IS NOT NULL",
        )
        .bind(app_id.as_str())
        .fetch_one(&self.pool)
        .await?;
        to_u64(count, "address count")
    }

    async fn next_derivation_index(&self, family: &str) -> Result<u32, StoreError> {
        let next: i64 = sqlx::query_scalar(
            "INSERT INTO derivation_counters (family, next_index) VALUES ($1, 1)
             ON CONFLICT (family) DO UPDATE SET next_index = derivation_counters.next_index + 1
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
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
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
            "SELECT {ADDRESS_COLUMNS} FROM deposit_addresses WHERE chain = $1 AND address = $2"
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
             WHERE app_id = $1 AND address = $2 ORDER BY chain"
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

    async fn merchant_settings(
        &self,
        app_id: &MerchantId,
    ) -> Result<Option<MerchantSettings>, StoreError> {
        let row = sqlx::query(
            "SELECT webhook_url, notify_pending, service_fee_ppm, webhook_dialect FROM merchants WHERE app_id = $1",
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
            "UPDATE merchants SET webhook_url = $1, notify_pending = $2, webhook_dialect = $3
             WHERE app_id = $4",
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
        let updated = sqlx::query("UPDATE merchants SET service_fee_ppm = $1 WHERE app_id = $2")
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
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
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
             FROM devnet_transfers WHERE chain = $1 AND txid = $2 ORDER BY log_index LIMIT 1"
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
             WHERE chain = $1 AND block_height BETWEEN $2 AND $3
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
            sqlx::query_scalar("SELECT scanned_height FROM chain_cursors WHERE chain = $1")
                .bind(chain)
                .fetch_optional(&self.pool)
                .await?;
        height.map(|h| to_u64(h, "cursor")).transpose()
    }

    async fn set_chain_cursor(&self, chain: &str, scanned_height: u64) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO chain_cursors (chain, scanned_height) VALUES ($1, $2)
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
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16,
                     $17, $18, $19, $20, $21, $22)
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
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
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
             WHERE app_id = $1 AND merchant_order_id = $2 AND kind = $3"
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
                 WHERE app_id = $1 AND merchant_order_id = $2 ORDER BY created_at, order_id"
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
            "SELECT {ORDER_COLUMNS} FROM orders WHERE order_id = $1"
        ))
        .bind(order_id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(order_from_row).transpose()
    }

    async fn create_checkout(&self, checkout: &Checkout) -> Result<Checkout, StoreError> {
        sqlx::query(&format!(
            "INSERT INTO checkouts ({CHECKOUT_COLUMNS})
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
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
            "SELECT {CHECKOUT_COLUMNS} FROM checkouts WHERE app_id = $1 AND merchant_order_id = $2"
        ))
        .bind(checkout.app_id.as_str())
        .bind(&checkout.merchant_order_id)
        .fetch_one(&self.pool)
        .await?;
        checkout_from_row(&row)
    }

    async fn checkout(&self, key: &str) -> Result<Option<Checkout>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {CHECKOUT_COLUMNS} FROM checkouts WHERE checkout_key = $1"
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
                "SELECT {CHECKOUT_COLUMNS} FROM checkouts WHERE app_id = $1 AND merchant_order_id = $2"
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
            "UPDATE checkouts SET order_id = $1 WHERE checkout_key = $2 AND order_id IS NULL",
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
             FROM deposits WHERE order_id = $1 ORDER BY credited_at, record_id",
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
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
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
            "SELECT record_id FROM seen_transfers WHERE chain = $1 AND txid = $2 AND log_index = $3",
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
             WHERE s.order_id = $1 AND s.block_time_ms <= $2
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
            sqlx::query_scalar("SELECT seen_height FROM chain_seen_cursors WHERE chain = $1")
                .bind(chain)
                .fetch_optional(&self.pool)
                .await?;
        height.map(|h| to_u64(h, "cursor")).transpose()
    }

    async fn set_seen_cursor(&self, chain: &str, seen_height: u64) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO chain_seen_cursors (chain, seen_height) VALUES ($1, $2)
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
        let mut db_tx = self.pool.begin().await?;
        // One creditor per chain at a time, whichever instance: the look-up
        // below then cannot miss a concurrent credit of the same transfer.
        sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
            .bind(format!("ccgate deposits {chain}"))
            .execute(&mut *db_tx)
            .await?;
        let mut txids = Vec::with_capacity(credits.len());
        let mut log_indexes = Vec::with_capacity(credits.len());
        for credit in credits {
            txids.push(credit.deposit.transfer.txid.as_str());
            log_indexes.push(i64::from(credit.deposit.transfer.log_index));
        }
        let credited_before: HashSet<(String, i64)> = sqlx::query_as(
            "SELECT d.txid, d.log_index FROM deposits d
             JOIN UNNEST($2::text[], $3::bigint[]) AS t(txid, log_index)
               ON d.txid = t.txid AND d.log_index = t.log_index
             WHERE d.chain = $1",
        )
        .bind(chain)
        .bind(&txids)
        .bind(&log_indexes)
        .fetch_all(&mut *db_tx)
        .await?
        .into_iter()
        .collect();
        let mut fresh: Vec<bool> = txids
            .iter()
            .zip(&log_indexes)
            .map(|(txid, &log_index)| !credited_before.contains(&((*txid).to_owned(), log_index)))
            .collect();
        mark_repeats_within(credits, &mut fresh);
        let applied: Vec<&DepositCredit> = credits
            .iter()
            .zip(&fresh)
            .filter_map(|(credit, &is_fresh)| is_fresh.then_some(credit))
            .collect();
        let entries: Vec<_> = applied.iter().map(|c| (&c.entry, &c.meta)).collect();
        let entry_ids = post_entries_in(&mut db_tx, &entries).await?;
        insert_deposits(&mut db_tx, &applied, &entry_ids).await?;
        insert_webhooks(&mut db_tx, applied.iter().map(|c| &c.webhook)).await?;
        if let Some(height) = scanned_height {
            sqlx::query(
                "INSERT INTO chain_cursors (chain, scanned_height) VALUES ($1, $2)
                 ON CONFLICT (chain) DO UPDATE SET scanned_height = excluded.scanned_height",
            )
            .bind(chain)
            .bind(to_i64(height, "height")?)
            .execute(&mut *db_tx)
            .await?;
        }
        db_tx.commit().await?;
        Ok(fresh)
    }
}

/// Records credited deposits in one statement; no ON CONFLICT, because the
/// caller's look-up under the chain's lock is what skips repeats, so a
/// conflict here is a fault and fails the batch.
async fn insert_deposits(
    conn: &mut sqlx::PgConnection,
    applied: &[&DepositCredit],
    entry_ids: &[i64],
) -> Result<(), StoreError> {
    let mut columns = DepositColumns::default();
    for (credit, &entry_id) in applied.iter().zip(entry_ids) {
        let deposit = &credit.deposit;
        let transfer = &deposit.transfer;
        columns.record_ids.push(deposit.record_id.as_str());
        columns.chains.push(transfer.chain.as_str());
        columns.txids.push(transfer.txid.as_str());
        columns.log_indexes.push(i64::from(transfer.log_index));
        columns.app_ids.push(deposit.app_id.as_str());
        columns.addresses.push(transfer.to_address.as_str());
        columns.user_ids.push(deposit.user_id.as_deref());
        columns.order_ids.push(deposit.order_id.as_deref());
        columns.token_ids.push(transfer.token_id.as_str());
        columns.coin_ids.push(deposit.coin_id.as_str());
        columns.paid.push(transfer.amount.base_units().to_string());
        columns
            .fees
            .push(deposit.service_fee.base_units().to_string());
        columns
            .credited
            .push(deposit.credit_amount.base_units().to_string());
        columns.from_addresses.push(transfer.from_address.as_str());
        columns.memos.push(transfer.memo.as_str());
        columns
            .heights
            .push(to_i64(transfer.block_height, "block height")?);
        columns.block_times.push(transfer.block_time_ms);
        columns.entry_ids.push(entry_id);
        columns.credited_at.push(deposit.credited_at);
    }
    sqlx::query(
        "INSERT INTO deposits
             (record_id, chain, txid, log_index, app_id, address, user_id, order_id, token_id,
              coin_id, paid_amount, service_fee, credit_amount, from_address, memo,
              block_height, block_time_ms, journal_entry_id, credited_at)
         SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::bigint[], $5::text[],
                              $6::text[], $7::text[], $8::text[], $9::text[], $10::text[],
                              $11::text[], $12::text[], $13::text[], $14::text[], $15::text[],
                              $16::bigint[], $17::bigint[], $18::bigint[], $19::bigint[])",
    )
    .bind(&columns.record_ids)
    .bind(&columns.chains)
    .bind(&columns.txids)
    .bind(&columns.log_indexes)
    .bind(&columns.app_ids)
    .bind(&columns.addresses)
    .bind(&columns.user_ids)
    .bind(&columns.order_ids)
    .bind(&columns.token_ids)
    .bind(&columns.coin_ids)
    .bind(&columns.paid)
    .bind(&columns.fees)
    .bind(&columns.credited)
    .bind(&columns.from_addresses)
    .bind(&columns.memos)
    .bind(&columns.heights)
    .bind(&columns.block_times)
    .bind(&columns.entry_ids)
    .bind(&columns.credited_at)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The deposits of a batch as columns, for one `UNNEST` insert.
#[derive(Default)]
struct DepositColumns<'a> {
    record_ids: Vec<&'a str>,
    chains: Vec<&'a str>,
    txids: Vec<&'a str>,
    log_indexes: Vec<i64>,
    app_ids: Vec<&'a str>,
    addresses: Vec<&'a str>,
    user_ids: Vec<Option<&'a str>>,
    order_ids: Vec<Option<&'a str>>,
    token_ids: Vec<&'a str>,
    coin_ids: Vec<&'a str>,
    paid: Vec<String>,
    fees: Vec<String>,
    credited: Vec<String>,
    from_addresses: Vec<&'a str>,
    memos: Vec<&'a str>,
    heights: Vec<i64>,
    block_times: Vec<i64>,
    entry_ids: Vec<i64>,
    credited_at: Vec<i64>,
}

/// Queues webhooks inside the caller's DB transaction, in one statement.
async fn insert_webhooks<'w>(
    conn: &mut sqlx::PgConnection,
    webhooks: impl Iterator<Item = &'w NewWebhook>,
) -> Result<(), StoreError> {
    let mut app_ids = Vec::new();
    let mut record_ids = Vec::new();
    let mut order_types = Vec::new();
    let mut dialects = Vec::new();
    let mut urls = Vec::new();
    let mut payloads = Vec::new();
    let mut created = Vec::new();
    for webhook in webhooks {
        app_ids.push(webhook.app_id.as_str());
        record_ids.push(webhook.record_id.as_str());
        order_types.push(webhook.order_type);
        dialects.push(webhook.dialect.as_str());
        urls.push(webhook.url.as_deref());
        payloads.push(webhook.payload.as_str());
        created.push(webhook.created_at_ms);
    }
    sqlx::query(
        "INSERT INTO webhook_outbox
             (app_id, record_id, order_type, dialect, url, payload, status, attempts,
              next_attempt_at_ms, created_at_ms)
         SELECT app_id, record_id, order_type, dialect, url, payload, 'pending', 0, created, created
         FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
                     $7::bigint[])
              WITH ORDINALITY AS t(app_id, record_id, order_type, dialect, url, payload, created, n)
         ORDER BY n",
    )
    .bind(&app_ids)
    .bind(&record_ids)
    .bind(&order_types)
    .bind(&dialects)
    .bind(&urls)
    .bind(&payloads)
    .bind(&created)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

#[async_trait]
impl OutboxStore for PgStore {
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
        let released = sqlx::query(
            "UPDATE webhook_outbox SET next_attempt_at_ms = $1, claimed_until_ms = NULL
             WHERE id = ANY($2) AND status = 'pending' AND next_attempt_at_ms = $3",
        )
        .bind(now_ms)
        .bind(ids)
        .bind(claimed_until_ms)
        .execute(&self.pool)
        .await?;
        Ok(released.rows_affected())
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
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
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
             SET status = $1, attempts = $2, next_attempt_at_ms = $3, claimed_until_ms = NULL
             WHERE id = $4",
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
        // Calls of one merchant queue on its row, so the count below and the
        // insert see the same state. NO KEY: orders and addresses referencing
        // the merchant are not held up.
        sqlx::query("SELECT 1 FROM merchants WHERE app_id = $1 FOR NO KEY UPDATE")
            .bind(app_id.as_str())
            .execute(&mut *db_tx)
            .await?;
        sqlx::query("DELETE FROM resend_calls WHERE app_id = $1 AND at_ms < $2")
            .bind(app_id.as_str())
            .bind(now_ms.saturating_sub(DAY_MS))
            .execute(&mut *db_tx)
            .await?;
        let (last_minute, last_day): (i64, i64) = sqlx::query_as(
            "SELECT COUNT(*) FILTER (WHERE at_ms > $1), COUNT(*) FROM resend_calls WHERE app_id = $2",
        )
        .bind(now_ms.saturating_sub(MINUTE_MS))
        .bind(app_id.as_str())
        .fetch_one(&mut *db_tx)
        .await?;
        if last_minute >= i64::from(per_minute) || last_day >= i64::from(per_day) {
            return Ok(false);
        }
        sqlx::query("INSERT INTO resend_calls (app_id, at_ms) VALUES ($1, $2)")
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
        let updated = sqlx::query(
            "UPDATE webhook_outbox SET status = 'pending', next_attempt_at_ms = $1, claimed_until_ms = NULL
             WHERE app_id = $2 AND created_at_ms BETWEEN $3 AND $4
               AND ($5 OR status != 'delivered')
               AND ($6::text IS NULL OR order_type = $6)
               AND (cardinality($7::text[]) = 0 OR record_id = ANY($7))",
        )
        .bind(now_ms)
        .bind(app_id.as_str())
        .bind(filter.from_ms)
        .bind(filter.to_ms)
        .bind(filter.all_results)
        .bind(filter.order_type)
        .bind(filter.record_ids)
        .execute(&self.pool)
        .await?;
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
             WHERE $1::text IS NULL OR app_id = $1 ORDER BY id DESC LIMIT $2"
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
            "SELECT {WEBHOOK_COLUMNS} FROM webhook_outbox WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let attempts = sqlx::query(
            "SELECT attempt, at_ms, http_status, latency_ms, outcome, response_head
             FROM webhook_attempts WHERE outbox_id = $1 ORDER BY attempt",
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
