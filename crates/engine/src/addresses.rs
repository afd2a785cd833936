//! Permanent deposit addresses (`payment/address/get`), derived from the
//! deposit seed.

use std::sync::Arc;

use ccgate_chain::address::{canonical_address, validate_address};
use ccgate_chain::keys::{DepositKeys, DepositSeed};
use ccgate_ledger::{Chain, ChainFamily, MerchantId};
use ccgate_store::{
    AddressStore, DepositAddress, Derivation, DerivationError, HeldAddress, Order, OrderStore,
    SecretStore, WebhookDialect,
};
use secrecy::{ExposeSecret, SecretSlice};

use crate::{EngineError, Rejection};

/// Permanent addresses one merchant may hold (spec §2.4).
pub const PERMANENT_ADDRESSES_PER_MERCHANT_DEFAULT: u64 = 1_000;
/// Where the deposit seed is kept, sealed with the master key.
const DEPOSIT_SEED_NAME: &str = "deposit-seed";

/// The seed deposit addresses and the EVM hot wallet derive from, created on
/// the first start (concurrent first starts agree on one).
pub async fn load_deposit_seed(secrets: &dyn SecretStore) -> Result<DepositSeed, EngineError> {
    let fresh = DepositSeed::generate()?;
    let stored = secrets
        .load_or_init_secret(
            DEPOSIT_SEED_NAME,
            &SecretSlice::from(fresh.as_bytes().to_vec()),
        )
        .await?;
    Ok(DepositSeed::from_bytes(stored.expose_secret())?)
}

/// Why an address cannot be unbound (v2's codes 17000–17005).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UnbindRefusal {
    /// Unknown, or another merchant's: answered alike, so that whether an
    /// address exists is not this merchant's to learn.
    #[error("{0:?} is not one of this merchant's deposit addresses")]
    NotTheMerchants(String),
    /// The address does not fit the chain, or the merchant holds it on
    /// another chain only.
    #[error("{address:?} is not one of this merchant's addresses on {chain}")]
    OtherChain { address: String, chain: String },
    #[error("{0:?} is an order's address; only permanent addresses can be unbound")]
    OrderAddress(String),
    #[error("{0:?} is already unbound")]
    AlreadyUnbound(String),
    #[error("{0:?} has never been paid; an unused address cannot be unbound")]
    NeverPaid(String),
}

/// A permanent address unbound on each of its chains.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unbound {
    /// The merchant's user it belonged to.
    pub user_id: String,
    /// Whether that user is a wallet user (v2 §2.9, decisions §24), whose
    /// id the answer names as `userID`, else a `referenceId`.
    pub wallet_user: bool,
    /// As stored (an EVM address in its checksum spelling).
    pub address: String,
    /// Each chain it was unbound on, the one asked first.
    pub chains: Vec<String>,
    pub unbound_at: i64,
}

#[derive(Debug)]
pub struct AddressBook {
    keys: DepositKeys,
    addresses: Arc<dyn AddressStore>,
    quota: u64,
}

impl AddressBook {
    /// Loads the deposit seed, creating it on the first start.
    pub async fn open(
        secrets: &dyn SecretStore,
        addresses: Arc<dyn AddressStore>,
        quota: u64,
    ) -> Result<AddressBook, EngineError> {
        let seed = load_deposit_seed(secrets).await?;
        AddressBook::from_seed(&seed, addresses, quota)
    }

    pub fn from_seed(
        seed: &DepositSeed,
        addresses: Arc<dyn AddressStore>,
        quota: u64,
    ) -> Result<AddressBook, EngineError> {
        Ok(AddressBook {
            keys: DepositKeys::new(seed)?,
            addresses,
            quota,
        })
    }

    /// Stores `order` with a new address on `chain`, numbered, derived and
    /// written in the order's one DB transaction (decisions §37); the answer
    /// carries the address as `pay_address`. A repeat of a stored order
    /// takes no index and answers the stored one.
    pub async fn store_order(
        &self,
        orders: &dyn OrderStore,
        order: &Order,
        chain: &Chain,
    ) -> Result<Order, EngineError> {
        let address = DepositAddress {
            wallet_user: false,
            chain: chain.code.to_string(),
            // Derived by the store once it has reserved the index.
            address: String::new(),
            app_id: order.app_id.clone(),
            user_id: None,
            order_id: Some(order.order_id.clone()),
            notify_url: order.notify_url.clone(),
            derivation_index: 0,
            dialect: order.dialect,
        };
        let derive = |index| self.derive(chain.family, index);
        let derivation = Derivation {
            family: chain.family.as_str(),
            derive: &derive,
        };
        Ok(orders.create_order(order, &address, &derivation).await?)
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
            .addresses
            .permanent_address(app_id, user_id, code)
            .await?
        {
            return Ok(existing);
        }
        let wanted = DepositAddress {
            wallet_user: false,
            chain: code.to_owned(),
            address: String::new(),
            app_id: app_id.clone(),
            user_id: Some(user_id.to_owned()),
            order_id: None,
            notify_url: notify_url.map(str::to_owned),
            derivation_index: 0,
            dialect,
        };
        self.make_permanent(&wanted, chain, now_unix_secs).await
    }

    /// The wallet user's address on `chain` (decisions §24): the same on
    /// every call, notified in v2 (only v2 has users); counted in the
    /// merchant's quota like its own permanent addresses.
    pub async fn user_address(
        &self,
        app_id: &MerchantId,
        user_id: &str,
        chain: &Chain,
        notify_url: Option<&str>,
        now_unix_secs: i64,
    ) -> Result<DepositAddress, EngineError> {
        let code = chain.code.as_str();
        if let Some(existing) = self
            .addresses
            .user_deposit_address(app_id, user_id, code)
            .await?
        {
            return Ok(existing);
        }
        let wanted = DepositAddress {
            chain: code.to_owned(),
            address: String::new(),
            app_id: app_id.clone(),
            user_id: Some(user_id.to_owned()),
            order_id: None,
            notify_url: notify_url.map(str::to_owned),
            derivation_index: 0,
            dialect: WebhookDialect::V2,
            wallet_user: true,
        };
        self.make_permanent(&wanted, chain, now_unix_secs).await
    }

    /// Makes the permanent address `wanted` describes, within the quota, in
    /// one DB transaction (decisions §37): the quota's place, the index,
    /// the address derived at it and the row commit together.
    async fn make_permanent(
        &self,
        wanted: &DepositAddress,
        chain: &Chain,
        now_unix_secs: i64,
    ) -> Result<DepositAddress, EngineError> {
        let derive = |index| self.derive(chain.family, index);
        let derivation = Derivation {
            family: chain.family.as_str(),
            derive: &derive,
        };
        self.addresses
            .make_permanent_address(wanted, &derivation, self.quota, now_unix_secs)
            .await?
            .ok_or_else(|| Rejection::AddressQuota { max: self.quota }.into())
    }

    /// The address at `index` of `family`: deterministic, and CPU work only
    /// (the store runs it inside the DB transaction that reserved `index`).
    fn derive(&self, family: ChainFamily, index: u32) -> Result<String, DerivationError> {
        Ok(self.keys.address(family, index)?)
    }

    /// v2's `addressUnbinding`: the merchant's permanent `address` on
    /// `chain` stops answering for its user, so the next request for that
    /// user and chain derives a new address (a new derivation index; the
    /// old one is never handed out again). Its row stays: payments to it are
    /// still credited to the merchant and its user. An EVM address is
    /// unbound on every EVM chain `chains` names where the merchant holds it
    /// for the same user. Unbound addresses still count toward the quota.
    pub async fn unbind_permanent_address<'a>(
        &self,
        app_id: &MerchantId,
        chain: &Chain,
        chains: impl IntoIterator<Item = &'a Chain>,
        address: &str,
        now_unix_secs: i64,
    ) -> Result<Unbound, EngineError> {
        let asked = address.trim();
        if validate_address(chain.family, asked).is_err() {
            return Err(UnbindRefusal::OtherChain {
                address: asked.to_owned(),
                chain: chain.code.to_string(),
            }
            .into());
        }
        let stored = canonical_address(chain.family, asked);
        let held = self.addresses.merchant_addresses(app_id, &stored).await?;
        let Some(here) = held
            .iter()
            .find(|found| found.address.chain == chain.code.as_str())
        else {
            return Err(if held.is_empty() {
                UnbindRefusal::NotTheMerchants(asked.to_owned())
            } else {
                UnbindRefusal::OtherChain {
                    address: asked.to_owned(),
                    chain: chain.code.to_string(),
                }
            }
            .into());
        };
        let Some(user_id) = here.address.user_id.clone() else {
            return Err(UnbindRefusal::OrderAddress(asked.to_owned()).into());
        };
        if here.unbound_at.is_some() {
            return Err(UnbindRefusal::AlreadyUnbound(asked.to_owned()).into());
        }
        if here.credits == 0 {
            return Err(UnbindRefusal::NeverPaid(asked.to_owned()).into());
        }
        let asked_chains = chains_to_unbind(chain, chains, &held, here, &user_id);
        let unbound = self
            .addresses
            .unbind_permanent_address(app_id, &stored, &asked_chains, now_unix_secs)
            .await?;
        // A concurrent call unbound it between the read and the write.
        if unbound.first() != Some(&here.address.chain) {
            return Err(UnbindRefusal::AlreadyUnbound(asked.to_owned()).into());
        }
        Ok(Unbound {
            user_id,
            wallet_user: here.address.wallet_user,
            address: stored,
            chains: unbound,
            unbound_at: now_unix_secs,
        })
    }
}

/// The chains to unbind `here` on: its own first, then, for an EVM
/// address, each other configured EVM chain where the merchant holds the
/// same address, still bound, for the same user.
fn chains_to_unbind<'a>(
    chain: &Chain,
    chains: impl IntoIterator<Item = &'a Chain>,
    held: &[HeldAddress],
    here: &HeldAddress,
    user_id: &str,
) -> Vec<String> {
    let mut unbind = vec![here.address.chain.clone()];
    if chain.family != ChainFamily::Evm {
        return unbind;
    }
    let evm_chains: Vec<&str> = chains
        .into_iter()
        .filter(|other| other.family == ChainFamily::Evm)
        .map(|other| other.code.as_str())
        .collect();
    unbind.extend(
        held.iter()
            .filter(|other| {
                other.address.chain != here.address.chain
                    && evm_chains.contains(&other.address.chain.as_str())
                    && other.address.user_id.as_deref() == Some(user_id)
                    && other.address.wallet_user == here.address.wallet_user
                    && other.unbound_at.is_none()
            })
            .map(|other| other.address.chain.clone()),
    );
    unbind
}

#[cfg(test)]
mod tests {
    use ccgate_ledger::ChainCode;

    use super::*;

    fn chain(code: &str, family: ChainFamily) -> Chain {
        Chain {
            code: ChainCode::new(code),
            name: code.to_owned(),
            family,
            confirmations_required: 12,
            block_time_ms: 1_000,
            logo: String::new(),
            evm_chain_id: None,
            explorer_tx_url: None,
        }
    }

    fn held(chain: &str, user: Option<&str>, unbound_at: Option<i64>) -> HeldAddress {
        HeldAddress {
            address: DepositAddress {
                wallet_user: false,
                chain: chain.to_owned(),
                address: "0xA".to_owned(),
                app_id: MerchantId::new("shop"),
                user_id: user.map(str::to_owned),
                order_id: None,
                notify_url: None,
                derivation_index: 0,
                dialect: WebhookDialect::V2,
            },
            unbound_at,
            credits: 1,
        }
    }

    #[test]
    fn an_evm_address_is_unbound_on_every_evm_chain_it_is_bound_on_for_its_user() {
        let eth = chain("ETH", ChainFamily::Evm);
        let configured = [
            eth.clone(),
            chain("BSC", ChainFamily::Evm),
            chain("POLYGON", ChainFamily::Evm),
            chain("BASE", ChainFamily::Evm),
            chain("TRX", ChainFamily::Tron),
        ];
        let held = [
            held("BSC", Some("user-1"), None),
            held("ETH", Some("user-1"), None),
            // Already unbound there, another user's, a chain no longer configured.
            held("POLYGON", Some("user-1"), Some(1)),
            held("BASE", Some("user-2"), None),
            held("ARBITRUM", Some("user-1"), None),
        ];
        let here = &held[1];
        assert_eq!(
            chains_to_unbind(&eth, &configured, &held, here, "user-1"),
            ["ETH", "BSC"]
        );
    }

    #[test]
    fn another_family_unbinds_its_own_chain_only() {
        let trx = chain("TRX", ChainFamily::Tron);
        let held = [
            held("TRX", Some("user-1"), None),
            held("TRX2", Some("user-1"), None),
        ];
        let configured = [trx.clone(), chain("TRX2", ChainFamily::Tron)];
        assert_eq!(
            chains_to_unbind(&trx, &configured, &held, &held[0], "user-1"),
            ["TRX"]
        );
    }
}
