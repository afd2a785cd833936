//! The interface every chain adapter implements, and the set of adapters the
//! gateway runs with (one per configured chain).

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use ccgate_ledger::{Amount, Chain, CoinId, Precision, Registry, Token};
use ccgate_store::{BlockLink, ChainTransfer, DepositStore, Store, StoreError};

use crate::address::{AddressError, validate_address};
use crate::devnet::DevnetChain;
use crate::evm::{EvmChain, EvmNodeConfig, HotWallet};

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
    /// The node could not be reached or answered nonsense; the work is
    /// retried at the next tick.
    #[error("node of chain {chain}: {detail}")]
    Node { chain: String, detail: String },
    /// The node refused a trace, or answered one in a shape that cannot be
    /// read: not a node that is down, so the work is not retried as is.
    #[error("node of chain {chain} cannot trace: {detail}")]
    Untraceable { chain: String, detail: String },
    #[error("an amount on the chain does not fit 128 bits of base units")]
    AmountOverflow,
    #[error("chain configuration: {0}")]
    Config(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A broadcast transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sent {
    pub txid: String,
    /// The block it landed in, when sending already tells (the devnet);
    /// `None` until mined, then `payout_state` says.
    pub block_height: Option<u64>,
}

/// Gas in the chain's native coin: what a payout of a token will cost (an
/// estimate), or what a mined transaction cost.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GasFee {
    /// The native coin.
    pub coin_id: CoinId,
    pub coin_precision: Precision,
    /// In the native coin's base units.
    pub amount: Amount,
}

/// Where a sent payout stands on the chain, and through which transaction:
/// an adapter may replace a payout stuck in the mempool (same nonce, higher
/// fees), so the transaction that lands need not be the one first sent.
/// `gas` is what the mined transaction burnt in the chain's native coin, where
/// the chain charges it to the sender (not the devnet).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PayoutState {
    /// Not in a block yet; `txid` is the transaction now waiting.
    Pending { txid: String },
    /// Included and executed in this block (it may still be reorganised away
    /// before its confirmations: asked again until then).
    Included {
        txid: String,
        block_height: u64,
        gas: Option<GasFee>,
    },
    /// Included, but its execution failed: nothing was paid, the gas was.
    Reverted {
        txid: String,
        block_height: u64,
        gas: Option<GasFee>,
    },
    /// Never mined, and now never can be: another transaction of the sender
    /// (the hot wallet used outside the gateway) took its nonce, and that one
    /// has the confirmations. Nothing was paid, no gas either.
    Superseded { txid: String },
}

impl PayoutState {
    /// The payout's transaction as the chain now has it.
    pub fn txid(&self) -> &str {
        match self {
            PayoutState::Pending { txid }
            | PayoutState::Included { txid, .. }
            | PayoutState::Reverted { txid, .. }
            | PayoutState::Superseded { txid } => txid,
        }
    }
}

/// What the gateway asks of a chain. Deposits and withdrawals will add their
/// operations here; `chain()` carries the configuration (confirmations
/// required, block time), so adapters only answer what only the chain knows.
#[async_trait]
pub trait ChainAdapter: Send + Sync + std::fmt::Debug {
    fn chain(&self) -> &Chain;

    /// Whether blocks can be replaced (a reorganisation): then the watcher
    /// follows the hashes of the recent blocks through `block_link`.
    fn reorgs_possible(&self) -> bool {
        false
    }

    /// The block at `height` with its hash and its parent's; `None` if the
    /// chain has no such block (any more).
    async fn block_link(&self, _height: u64) -> Result<Option<BlockLink>, ChainError> {
        Ok(None)
    }

    /// The first block to scan on a chain never scanned before.
    fn first_block(&self) -> u64 {
        0
    }

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

    /// Where payout `payout_id`, sent as `txid`, stands. An adapter may send
    /// it again meanwhile (the same transaction, e.g. one a node dropped), or
    /// replace it when it waited too long by `now_unix_ms` (business time).
    async fn payout_state(
        &self,
        payout_id: &str,
        txid: &str,
        now_unix_ms: i64,
    ) -> Result<PayoutState, ChainError>;

    /// For a token whose payouts burn gas of another coin (an ERC-20's, the
    /// chain's native coin), that gas at the current price; the caller,
    /// which has prices, turns it into the token. `None`: `fee_estimate`.
    fn gas_fee(&self, _token: &Token) -> Option<GasFee> {
        None
    }

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
    /// The ones behind a real node.
    evm: BTreeMap<String, Arc<EvmChain>>,
}

impl ChainSet {
    /// Every configured chain simulated by the devnet.
    pub fn simulated(
        registry: &Registry,
        store: Arc<dyn Store>,
        transfers: Arc<dyn DepositStore>,
    ) -> ChainSet {
        let devnets = registry
            .chains()
            .map(|chain| {
                let devnet =
                    DevnetChain::new(chain.clone(), Arc::clone(&store), Arc::clone(&transfers));
                (chain.code.as_str().to_ascii_uppercase(), Arc::new(devnet))
            })
            .collect();
        ChainSet::assemble(registry, devnets, BTreeMap::new())
    }

    /// The chains with a node configured (`evm`, by chain code) follow that
    /// node, paying out from `hot_wallet` (`None` in processes that never
    /// pay out); every other one is simulated by the devnet.
    pub fn new(
        registry: &Registry,
        store: Arc<dyn Store>,
        transfers: Arc<dyn DepositStore>,
        evm: &BTreeMap<String, EvmNodeConfig>,
        hot_wallet: Option<HotWallet>,
    ) -> Result<ChainSet, ChainError> {
        let mut devnets = BTreeMap::new();
        let mut nodes = BTreeMap::new();
        for chain in registry.chains() {
            let code = chain.code.as_str().to_ascii_uppercase();
            match evm.get(&code) {
                Some(config) => {
                    let adapter =
                        EvmChain::new(chain.clone(), config.clone(), registry, hot_wallet.clone())?;
                    nodes.insert(code, Arc::new(adapter));
                }
                None => {
                    let devnet =
                        DevnetChain::new(chain.clone(), Arc::clone(&store), Arc::clone(&transfers));
                    devnets.insert(code, Arc::new(devnet));
                }
            }
        }
        if let Some(code) = evm.keys().find(|code| registry.chain(code).is_none()) {
            return Err(ChainError::UnknownChain(code.clone()));
        }
        Ok(ChainSet::assemble(registry, devnets, nodes))
    }

    fn assemble(
        registry: &Registry,
        devnets: BTreeMap<String, Arc<DevnetChain>>,
        evm: BTreeMap<String, Arc<EvmChain>>,
    ) -> ChainSet {
        let adapters: Vec<Arc<dyn ChainAdapter>> = registry
            .chains()
            .filter_map(|chain| {
                let code = chain.code.as_str().to_ascii_uppercase();
                match (devnets.get(&code), evm.get(&code)) {
                    (_, Some(node)) => Some(Arc::clone(node) as Arc<dyn ChainAdapter>),
                    (Some(devnet), None) => Some(Arc::clone(devnet) as Arc<dyn ChainAdapter>),
                    (None, None) => None,
                }
            })
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
            evm,
        }
    }

    /// The chains behind a real EVM node.
    pub fn evm_chains(&self) -> impl Iterator<Item = &Arc<EvmChain>> {
        self.evm.values()
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
