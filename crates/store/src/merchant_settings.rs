//! What a merchant set for its deposits and webhooks: the webhook URL and
//! dialect, whether it hears pending states, and its service fee.

use async_trait::async_trait;
use ccgate_ledger::MerchantId;
use sqlx::{Database, Encode, Executor, IntoArguments, Type};

use crate::StoreError;
use crate::backend::SqlStore;
use crate::console::{AuditEntry, update_merchant_audited};
use crate::rows::{Columns, dialect_from, to_u32};
use crate::writes::WebhookDialect;

/// A merchant's deposit and webhook settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MerchantSettings {
    pub webhook_url: Option<String>,
    /// Also notify `pending`/`processing`, not only final states (decisions §7).
    pub notify_pending: bool,
    /// Service fee in parts per million of each deposit.
    pub service_fee_ppm: u32,
    /// The dialect of webhooks no object's dialect decides (the test ping).
    pub webhook_dialect: WebhookDialect,
}

#[async_trait]
pub trait MerchantSettingsStore: Send + Sync + std::fmt::Debug + 'static {
    async fn merchant_settings(
        &self,
        app_id: &MerchantId,
    ) -> Result<Option<MerchantSettings>, StoreError>;

    /// The merchant's webhook URL, whether it hears pending states, and the
    /// dialect of its webhooks that no object's dialect decides; `audit` is
    /// appended in the same DB transaction.
    async fn set_merchant_webhook(
        &self,
        app_id: &MerchantId,
        url: Option<&str>,
        notify_pending: bool,
        dialect: WebhookDialect,
        audit: Option<&AuditEntry>,
    ) -> Result<(), StoreError>;

    /// The merchant's service fee, in parts per million of each deposit;
    /// `audit` is appended in the same DB transaction.
    async fn set_service_fee(
        &self,
        app_id: &MerchantId,
        fee_ppm: u32,
        audit: Option<&AuditEntry>,
    ) -> Result<(), StoreError>;
}

// One body of SQL for both backends; see `backend.rs`.
#[async_trait]
impl<S> MerchantSettingsStore for S
where
    S: SqlStore,
    for<'c> &'c mut <S::Db as Database>::Connection: Executor<'c, Database = S::Db>,
    for<'q> <S::Db as Database>::Arguments<'q>: IntoArguments<'q, S::Db>,
    for<'q> &'q str: Encode<'q, S::Db> + Type<S::Db>,
    for<'q> String: Encode<'q, S::Db> + Type<S::Db>,
    for<'q> i64: Encode<'q, S::Db> + Type<S::Db>,
    // sqlx encodes `Option` per backend, not for every `T: Encode`.
    for<'q> Option<&'q str>: Encode<'q, S::Db>,
    for<'q> Option<i64>: Encode<'q, S::Db>,
{
    async fn merchant_settings(
        &self,
        app_id: &MerchantId,
    ) -> Result<Option<MerchantSettings>, StoreError> {
        let row = sqlx::query(
            "SELECT webhook_url, notify_pending, service_fee_ppm, webhook_dialect
             FROM merchants WHERE app_id = $1",
        )
        .bind(app_id.as_str())
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(settings_from_row).transpose()
    }

    async fn set_merchant_webhook(
        &self,
        app_id: &MerchantId,
        url: Option<&str>,
        notify_pending: bool,
        dialect: WebhookDialect,
        audit: Option<&AuditEntry>,
    ) -> Result<(), StoreError> {
        let statement = sqlx::query(
            "UPDATE merchants SET webhook_url = $1, notify_pending = $2, webhook_dialect = $3
             WHERE app_id = $4",
        )
        .bind(url)
        .bind(i64::from(notify_pending))
        .bind(dialect.as_str())
        .bind(app_id.as_str());
        update_merchant_audited(self, app_id, statement, audit).await
    }

    async fn set_service_fee(
        &self,
        app_id: &MerchantId,
        fee_ppm: u32,
        audit: Option<&AuditEntry>,
    ) -> Result<(), StoreError> {
        let statement = sqlx::query("UPDATE merchants SET service_fee_ppm = $1 WHERE app_id = $2")
            .bind(i64::from(fee_ppm))
            .bind(app_id.as_str());
        update_merchant_audited(self, app_id, statement, audit).await
    }
}

fn settings_from_row(row: &impl Columns) -> Result<MerchantSettings, StoreError> {
    Ok(MerchantSettings {
        webhook_url: row.opt_text("webhook_url")?,
        notify_pending: row.int("notify_pending")? != 0,
        service_fee_ppm: to_u32(row.int("service_fee_ppm")?, "service fee")?,
        webhook_dialect: dialect_from(&row.text("webhook_dialect")?)?,
    })
}
