//! The interface every chain adapter implements, and the set of adapters the
//! gateway runs with (one per configured chain).

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use ccgate_ledger::{Amount, Chain, Registry, Token};
use ccgate_store::{ChainTransfer, DepositStore, Store, StoreError};

use crate::address::{AddressError, validate_address};
use crate::devnet::DevnetChain;

#[derive(Debug, thiserror::Error)]
pub enum ChainError {
    #[error("chain {0} is not configured")]
    UnknownChain(String),
    #[error("at most {max} blocks can be mined at once")]
    TooManyBlocks { max: u64 },
    #[error("{0}")]
    InvalidAddress(#[from] AddressError),
    #[error("the chain refused the transaction: {0}")]
    SendFailed(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A broadcast transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sent {
    pub txid: String,
    pub block_height: u64,
}

/// What the gateway asks of a chain. Deposits and withdrawals will add their
/// operations here; `chain()` carries the configuration (confirmations
/// required, block time), so adapters only answer what only the chain knows.
#[async_trait]
pub trait ChainAdapter: Send + Sync + std::fmt::Debug {
    fn chain(&self) -> &Chain;

    /// The current block height at `now_unix_ms` (business time).
    async fn height(&self, now_unix_ms: i64) -> Result<u64, ChainError>;

    /// Token transfers in blocks `from_height..=to_height`, in block order.
    async fn transfers(
        &self,
        from_height: u64,
        to_height: u64,
    ) -> Result<Vec<ChainTransfer>, ChainError>;

    /// Broadcasts a payment of `amount` (the coin's base units) of `token` to
    /// `to`; where it landed. Its confirmations are counted like a deposit's.
    /// Sending the same `payout_id` again returns the first broadcast instead
    /// of paying twice.
    async fn send(
        &self,
        payout_id: &str,
        to: &str,
        token: &Token,
        amount: Amount,
        now_unix_ms: i64,
    ) -> Result<Sent, ChainError>;

    /// What a withdrawal of `token` costs, in the coin's base units.
    fn fee_estimate(&self, token: &Token) -> Amount {
        token.network_fee
    }

    fn validate_address(&self, address: &str) -> Result<(), AddressError> {
        validate_address(self.chain().family, address)
    }
}

/// The adapters by chain code, in registry order.
#[derive(Debug, Clone)]
pub struct ChainSet {
    adapters: Vec<Arc<dyn ChainAdapter>>,
    by_code: BTreeMap<String, usize>,
    /// The simulated ones, for the devnet's own operations (pay, mine).
    devnets: BTreeMap<String, Arc<DevnetChain>>,
}

impl ChainSet {
    /// Every configured chain simulated by the devnet.
    pub fn simulated(
        registry: &Registry,
        store: Arc<dyn Store>,
        transfers: Arc<dyn DepositStore>,
    ) -> ChainSet {
        let devnets: BTreeMap<String, Arc<DevnetChain>> = registry
            .chains()
            .map(|chain| {
                let devnet =
                    DevnetChain::new(chain.clone(), Arc::clone(&store), Arc::clone(&transfers));
                (chain.code.as_str().to_ascii_uppercase(), Arc::new(devnet))
            })
            .collect();
        let adapters: Vec<Arc<dyn ChainAdapter>> = registry
            .chains()
            .filter_map(|chain| devnets.get(&chain.code.as_str().to_ascii_uppercase()))
            .map(|devnet| Arc::clone(devnet) as Arc<dyn ChainAdapter>)
            .collect();
        let by_code = adapters
            .iter()
            .enumerate()
            .map(|(index, adapter)| (adapter.chain().code.as_str().to_ascii_uppercase(), index))
            .collect();
        ChainSet {
            adapters,
            by_code,
            devnets,
        }
    }

    /// The simulated chain with this code, case-insensitively.
    pub fn devnet(&self, code: &str) -> Result<&Arc<DevnetChain>, ChainError> {
        self.devnets
            .get(&code.to_ascii_uppercase())
            .ok_or_else(|| ChainError::UnknownChain(code.chars().take(32).collect()))
    }

    /// The simulated chains, in chain-code order.
    pub fn devnets(&self) -> impl Iterator<Item = &Arc<DevnetChain>> {
        self.devnets.values()
    }

    pub fn adapters(&self) -> impl Iterator<Item = &Arc<dyn ChainAdapter>> {
        self.adapters.iter()
    }

    /// By chain code, case-insensitively.
    pub fn get(&self, code: &str) -> Result<&Arc<dyn ChainAdapter>, ChainError> {
        self.by_code
            .get(&code.to_ascii_uppercase())
            .and_then(|index| self.adapters.get(*index))
            .ok_or_else(|| ChainError::UnknownChain(code.chars().take(32).collect()))
    }
}
