//! Merchants as the API meets them: who is asking (its credentials, read
//! through the server's cache on every request), what it holds, the Cwallet
//! ids it may pay, and the resending of its webhooks within its limits.

use std::sync::Arc;

use ccgate_ledger::{Amount, Coin, MerchantId, Registry};
use ccgate_store::{
    CwalletAccount, MerchantCredentials, MerchantSummary, OutboxStore, ResendFilter, Store,
    StoreError,
};

use crate::{EngineError, Rejection};

#[derive(Debug)]
pub struct Merchants {
    registry: Arc<Registry>,
    /// The ledger store, behind the read cache of credentials and balances.
    store: Arc<dyn Store>,
    outbox: Arc<dyn OutboxStore>,
}

/// How often a merchant may ask for its webhooks again (decisions §7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResendLimits {
    pub per_minute: u32,
    pub per_day: u32,
}

/// Which webhooks to send again: those of the window `[from_ms, to_ms]`,
/// narrowed as the merchant asked.
#[derive(Debug, Clone, Copy)]
pub struct ResendRequest<'a> {
    pub from_ms: i64,
    pub to_ms: i64,
    /// Delivered ones too, not only those that failed.
    pub all_results: bool,
    pub order_type: Option<&'a str>,
    pub record_ids: &'a [String],
}

impl Merchants {
    pub fn new(
        registry: Arc<Registry>,
        store: Arc<dyn Store>,
        outbox: Arc<dyn OutboxStore>,
    ) -> Merchants {
        Merchants {
            registry,
            store,
            outbox,
        }
    }

    /// The credentials of the merchant with this Appid, active or not;
    /// `None` if no merchant has it.
    pub async fn credentials(
        &self,
        app_id: &str,
    ) -> Result<Option<MerchantCredentials>, EngineError> {
        Ok(self.store.merchant_credentials(app_id).await?)
    }

    /// What the merchant is called, for the pages its payers see.
    pub async fn summary(
        &self,
        app_id: &MerchantId,
    ) -> Result<Option<MerchantSummary>, EngineError> {
        Ok(self.store.merchant(app_id).await?)
    }

    /// The Cwallet account with this id, if this gateway knows it.
    pub async fn cwallet(&self, c_id: &str) -> Result<Option<CwalletAccount>, EngineError> {
        Ok(self.store.cwallet(c_id).await?)
    }

    /// A merchant's available balance of `wanted`, zero included; with no
    /// coin wanted, of every coin it holds a non-zero balance of, in registry
    /// order. Both dialects' balance endpoints answer from here.
    pub async fn available_balances<'r>(
        &'r self,
        app_id: &MerchantId,
        wanted: Option<&'r Coin>,
    ) -> Result<Vec<(&'r Coin, Amount)>, EngineError> {
        let held = self.store.merchant_balances(app_id).await?;
        let available = |coin: &Coin| -> Result<Amount, EngineError> {
            match held.iter().find(|b| b.coin == coin.id) {
                None => Ok(Amount::ZERO),
                Some(b) => b.balance.available().ok_or_else(|| {
                    EngineError::Store(StoreError::Corrupt(format!(
                        "merchant balance of {} is negative",
                        coin.id
                    )))
                }),
            }
        };
        let coins: Vec<&Coin> = match wanted {
            Some(coin) => vec![coin],
            None => self
                .registry
                .coins()
                .filter(|coin| held.iter().any(|b| b.coin == coin.id))
                .collect(),
        };
        let mut balances = Vec::with_capacity(coins.len());
        for coin in coins {
            let value = available(coin)?;
            if wanted.is_none() && value.is_zero() {
                continue;
            }
            balances.push((coin, value));
        }
        Ok(balances)
    }

    /// Queues the webhooks `request` picks for another attempt, if the
    /// merchant is within `limits`; how many were queued.
    pub async fn resend_webhooks(
        &self,
        app_id: &MerchantId,
        request: &ResendRequest<'_>,
        limits: ResendLimits,
        now_unix_ms: i64,
    ) -> Result<u64, EngineError> {
        let ResendLimits {
            per_minute,
            per_day,
        } = limits;
        if !self
            .outbox
            .record_resend_call(app_id, now_unix_ms, per_minute, per_day)
            .await?
        {
            return Err(Rejection::ResendLimited {
                per_minute,
                per_day,
            }
            .into());
        }
        let filter = ResendFilter {
            from_ms: request.from_ms,
            to_ms: request.to_ms,
            all_results: request.all_results,
            order_type: request.order_type,
            record_ids: request.record_ids,
        };
        Ok(self
            .outbox
            .resend_webhooks(app_id, &filter, now_unix_ms)
            .await?)
    }
}
