//! What following a chain through reorganisations keeps: the hashes of the
//! recent blocks, to notice the chain changed under them. A reorganisation
//! that replaces blocks already credited is reported in `reorg_incidents`
//! (the sandbox's devnet reorgs report there too).

use async_trait::async_trait;

use crate::StoreError;
use crate::deposits::{ChainTransfer, NewWebhook};

/// A block as linked into its chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockLink {
    pub height: u64,
    pub hash: String,
    pub parent_hash: String,
}

/// A payment seen before its confirmations that a reorganisation may remove.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnconfirmedPayment {
    pub transfer: ChainTransfer,
    /// The record id its `processing` webhook carried.
    pub record_id: String,
}

/// What rolling a chain back did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RollBack {
    /// Payments seen in the dropped blocks and not credited, forgotten.
    pub dropped_unconfirmed: u64,
    /// Credits in the dropped blocks: kept, each reported as a reorg
    /// incident for the operator (`ccgate doctor`).
    pub flagged_credits: u64,
}

#[async_trait]
pub trait ReorgStore: Send + Sync + std::fmt::Debug + 'static {
    /// The newest linked block of `chain`.
    async fn latest_block_link(&self, chain: &str) -> Result<Option<BlockLink>, StoreError>;

    /// Linked blocks of `chain` from `height` down, newest first, at most `limit`.
    async fn block_links_down_from(
        &self,
        chain: &str,
        height: u64,
        limit: u32,
    ) -> Result<Vec<BlockLink>, StoreError>;

    /// Stores `links` (replacing any at their heights) and forgets those
    /// below `keep_from_height`.
    async fn record_block_links(
        &self,
        chain: &str,
        links: &[BlockLink],
        keep_from_height: u64,
    ) -> Result<(), StoreError>;

    /// Payments of `chain` seen in blocks above `height` and not credited.
    async fn unconfirmed_payments_above(
        &self,
        chain: &str,
        height: u64,
    ) -> Result<Vec<UnconfirmedPayment>, StoreError>;

    /// Rolls `chain` back to `fork_height`, in one DB transaction: links
    /// above it are dropped, both cursors moved back to it (so the new branch
    /// is scanned again), payments seen above it and not credited forgotten
    /// (`webhooks`, their `failed` notices, queued), and each credit above it
    /// reported as a reorg incident.
    async fn roll_back_chain(
        &self,
        chain: &str,
        fork_height: u64,
        detected_at_ms: i64,
        webhooks: &[NewWebhook],
    ) -> Result<RollBack, StoreError>;
}
