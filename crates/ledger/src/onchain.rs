//! What a chain says, as the gateway keeps it: the transfers in its blocks,
//! how its blocks link, and the devnet's simulated clock. Plain data shared
//! by the chain adapters that read them and the stores that keep them, so
//! neither of those crates depends on the other.

use crate::{Amount, TokenId};

/// One token transfer in one block of a chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainTransfer {
    pub chain: String,
    pub txid: String,
    /// Position of the transfer within its chain transaction.
    pub log_index: u32,
    pub block_height: u64,
    /// When the block was made.
    pub block_time_ms: i64,
    pub from_address: String,
    pub to_address: String,
    pub memo: String,
    pub token_id: TokenId,
    /// In the coin's base units.
    pub amount: Amount,
}

/// A block as linked into its chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockLink {
    pub height: u64,
    pub hash: String,
    pub parent_hash: String,
}

/// What the devnet keeps of one simulated chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DevnetChainState {
    pub genesis_unix_ms: i64,
    /// Blocks produced on demand, on top of those produced by time.
    pub mined_blocks: u64,
}
