//! The interface every chain adapter implements (`ChainSet` in `chain_set.rs`
//! holds the gateway's adapters, one per configured chain).

use async_trait::async_trait;
use ccgate_ledger::{Amount, BlockLink, Chain, ChainTransfer, CoinId, Precision, Token};

use crate::address::{AddressError, validate_address};

/// Why the devnet's state could not be read or written (the database's
/// error, as its keeper reports it).
pub type DevnetStateError = Box<dyn std::error::Error + Send + Sync>;

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
    /// The devnet's state (kept in the gateway's database) failed.
    #[error("devnet state: {0}")]
    Devnet(#[source] DevnetStateError),
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

/// What the gateway asks of every chain: heights, blocks, transfers and fee
/// estimates. `chain()` carries the configuration (confirmations required,
/// block time), so adapters only answer what only the chain knows. Paying
/// out differs by kind (the devnet's `send`, an EVM chain's signed
/// transactions) and is driven by `engine::payouts`; no adapter keeps
/// anything.
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
