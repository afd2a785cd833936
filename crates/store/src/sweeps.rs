//! Sweeps on EVM chains: a deposit address's balance of one token moved to
//! the hot wallet. Each sweep's transaction is signed once and stored before its
//! broadcast (insert-once per sweep id, one transaction per (address, nonce)),
//! so restarts and several instances never send two; once its receipt is
//! read, the gas it cost is posted to the journal in the same DB transaction
//! that marks it settled.

use async_trait::async_trait;
use ccgate_ledger::{Amount, JournalEntry};

use crate::{EntryMeta, StoreError};

/// A signed sweep transaction, as stored before its broadcast.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedSweep {
    pub chain: String,
    /// `<deposit address>:<nonce>`: the same for every instance that signs
    /// the sweep of that address at that nonce.
    pub sweep_id: String,
    /// The deposit address swept (the signer).
    pub from_address: String,
    /// The hot wallet.
    pub to_address: String,
    pub token_id: String,
    /// What the sweep moves, in the coin's base units.
    pub amount: Amount,
    pub nonce: u64,
    pub txid: String,
    /// The signed EIP-2718 envelope, `0x` hex, exactly as broadcast.
    pub raw_tx: String,
    /// The hot wallet's payout that paid this sweep's gas (an ERC-20 sweep
    /// from an address without enough of the native coin), if any.
    pub top_up_payout_id: Option<String>,
    pub created_at_ms: i64,
}

/// Where a sweep stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SweepRecord {
    pub sweep: SignedSweep,
    /// `None` while in flight.
    pub settled: Option<SweepSettlement>,
}

/// How a sweep ended, read from its receipt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SweepSettlement {
    /// Whether the transaction succeeded (a reverted one moved nothing but
    /// still paid its gas).
    pub succeeded: bool,
    /// Gas paid by the sweep and its top-up, in the native coin's base units.
    pub gas_cost: Amount,
    pub settled_at_ms: i64,
}

/// What storing a signed sweep did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SweepInsert {
    Inserted,
    /// Signed before (by another instance, or before a crash): that transaction
    /// is the one to broadcast.
    Existing(Box<SignedSweep>),
    /// Another sweep of the address holds this nonce.
    NonceTaken,
}

#[async_trait]
pub trait SweepStore: Send + Sync + std::fmt::Debug + 'static {
    /// Stores `sweep` unless its sweep id or its (address, nonce) is taken.
    async fn insert_signed_sweep(&self, sweep: &SignedSweep) -> Result<SweepInsert, StoreError>;

    /// The chain's sweeps not yet settled, oldest first.
    async fn open_sweeps(&self, chain: &str) -> Result<Vec<SignedSweep>, StoreError>;

    /// Drops a sweep the node refused outright (never in any mempool), so
    /// its nonce is free again.
    async fn forget_signed_sweep(&self, chain: &str, sweep_id: &str) -> Result<(), StoreError>;

    /// Marks an open sweep settled and posts its gas `cost_entry` (if any
    /// gas was paid) in one DB transaction; `false` if it was settled
    /// already (by another instance), and then nothing is posted.
    async fn settle_sweep(
        &self,
        chain: &str,
        sweep_id: &str,
        settlement: &SweepSettlement,
        cost_entry: Option<(&JournalEntry, &EntryMeta)>,
    ) -> Result<bool, StoreError>;

    /// The chain's deposit addresses that were ever credited a deposit, with
    /// their derivation index, in address order after `after`, at most
    /// `limit`: the ones that may hold something to sweep.
    async fn credited_deposit_addresses(
        &self,
        chain: &str,
        after: &str,
        limit: u32,
    ) -> Result<Vec<(String, u32)>, StoreError>;

    /// The chain's sweeps, newest first, at most `limit`.
    async fn sweeps(&self, chain: &str, limit: u32) -> Result<Vec<SweepRecord>, StoreError>;

    /// The sweeps of one token from one deposit address, newest first, at
    /// most `limit`: how its last attempts ended.
    async fn sweeps_of(
        &self,
        chain: &str,
        from_address: &str,
        token_id: &str,
        limit: u32,
    ) -> Result<Vec<SweepRecord>, StoreError>;
}
