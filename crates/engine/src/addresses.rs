//! Permanent deposit addresses (`payment/address/get`), derived from the
//! deposit seed.

use std::sync::Arc;

use ccgate_chain::keys::{DepositKeys, DepositSeed};
use ccgate_ledger::{Chain, MerchantId};
use ccgate_store::{DepositAddress, DepositStore, WebhookDialect};
use secrecy::{ExposeSecret, SecretSlice};

use crate::EngineError;

/// Permanent addresses one merchant may hold (spec §2.4).
pub const PERMANENT_ADDRESSES_PER_MERCHANT_DEFAULT: u64 = 1_000;
/// Where the deposit seed is kept, sealed with the master key.
const DEPOSIT_SEED_NAME: &str = "deposit-seed";

/// The seed deposit addresses and the EVM hot wallet derive from, created on
/// the first start (concurrent first starts agree on one).
pub async fn load_deposit_seed(deposits: &dyn DepositStore) -> Result<DepositSeed, EngineError> {
    let fresh = DepositSeed::generate()?;
    let stored = deposits
        .load_or_init_secret(
            DEPOSIT_SEED_NAME,
            &SecretSlice::from(fresh.as_bytes().to_vec()),
        )
        .await?;
    Ok(DepositSeed::from_bytes(stored.expose_secret())?)
}

#[derive(Debug)]
pub struct AddressBook {
    keys: DepositKeys,
    deposits: Arc<dyn DepositStore>,
    quota: u64,
}

impl AddressBook {
    /// Loads the deposit seed, creating it on the first start.
    pub async fn open(
        deposits: Arc<dyn DepositStore>,
        quota: u64,
    ) -> Result<AddressBook, EngineError> {
        let seed = load_deposit_seed(deposits.as_ref()).await?;
        AddressBook::from_seed(&seed, deposits, quota)
    }

    pub fn from_seed(
        seed: &DepositSeed,
        deposits: Arc<dyn DepositStore>,
        quota: u64,
    ) -> Result<AddressBook, EngineError> {
        Ok(AddressBook {
            keys: DepositKeys::new(seed)?,
            deposits,
            quota,
        })
    }

    /// A new address on `chain` for one order (stored with the order).
    pub async fn order_address(
        &self,
        app_id: &MerchantId,
        order_id: &str,
        chain: &Chain,
        notify_url: Option<&str>,
        dialect: WebhookDialect,
    ) -> Result<DepositAddress, EngineError> {
        let index = self
            .deposits
            .next_derivation_index(chain.family.as_str())
            .await?;
        Ok(DepositAddress {
            chain: chain.code.to_string(),
            address: self.keys.address(chain.family, index)?,
            app_id: app_id.clone(),
            user_id: None,
            order_id: Some(order_id.to_owned()),
            notify_url: notify_url.map(str::to_owned),
            derivation_index: index,
            dialect,
        })
    }

    /// The merchant user's address on `chain`: the same on every call, in
    /// the dialect of the call that made it.
    pub async fn permanent_address(
        &self,
        app_id: &MerchantId,
        user_id: &str,
        chain: &Chain,
        notify_url: Option<&str>,
        dialect: WebhookDialect,
        now_unix_secs: i64,
    ) -> Result<DepositAddress, EngineError> {
        let code = chain.code.as_str();
        if let Some(existing) = self
            .deposits
            .permanent_address(app_id, user_id, code)
            .await?
        {
            return Ok(existing);
        }
        if self.deposits.count_permanent_addresses(app_id).await? >= self.quota {
            return Err(EngineError::AddressQuota { max: self.quota });
        }
        let index = self
            .deposits
            .next_derivation_index(chain.family.as_str())
            .await?;
        let address = DepositAddress {
            chain: code.to_owned(),
            address: self.keys.address(chain.family, index)?,
            app_id: app_id.clone(),
            user_id: Some(user_id.to_owned()),
            order_id: None,
            notify_url: notify_url.map(str::to_owned),
            derivation_index: index,
            dialect,
        };
        Ok(self
            .deposits
            .insert_permanent_address(&address, now_unix_secs)
            .await?)
    }
}
