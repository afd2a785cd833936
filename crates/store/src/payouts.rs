//! Payouts signed for EVM chains: one record per payout id, written before
//! the broadcast, so every instance and every re-send after a crash
//! broadcasts those same bytes and a payout can never be paid twice.

use async_trait::async_trait;

use crate::StoreError;

/// A signed transaction paying out one withdrawal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedPayout {
    pub chain: String,
    /// The withdrawal's order id.
    pub payout_id: String,
    /// The hot wallet that signed it.
    pub from_address: String,
    pub nonce: u64,
    pub txid: String,
    /// The signed EIP-2718 envelope, `0x` hex, exactly as broadcast.
    pub raw_tx: String,
    /// When this transaction (the newest of the payout) was signed.
    pub created_at_ms: i64,
    /// How many times the payout was signed again, stuck in the mempool: the
    /// transactions replaced are kept (`replaced_payout_txids`), since any
    /// one of them may still be the one mined.
    pub replacements: u32,
}

/// What storing a signed payout did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PayoutInsert {
    Inserted,
    /// The payout was signed before (by another instance, or before a
    /// crash): that transaction is the one to broadcast.
    Existing(SignedPayout),
    /// Another payout of the wallet holds this nonce; sign again with another.
    NonceTaken,
}

#[async_trait]
pub trait PayoutStore: Send + Sync + std::fmt::Debug + 'static {
    async fn signed_payout(
        &self,
        chain: &str,
        payout_id: &str,
    ) -> Result<Option<SignedPayout>, StoreError>;

    /// The payout whose transaction is `txid`, if one of ours.
    async fn payout_by_txid(
        &self,
        chain: &str,
        txid: &str,
    ) -> Result<Option<SignedPayout>, StoreError>;

    /// Stores `payout` unless its payout id or its (wallet, nonce) is taken.
    async fn insert_signed_payout(&self, payout: &SignedPayout)
    -> Result<PayoutInsert, StoreError>;

    /// The nonces at or above `from_nonce` held by payouts of `from_address`,
    /// ascending, at most `limit`.
    async fn payout_nonces(
        &self,
        chain: &str,
        from_address: &str,
        from_nonce: u64,
        limit: u32,
    ) -> Result<Vec<u64>, StoreError>;

    /// Makes `replacement` (same payout, same nonce, higher fees) the
    /// payout's transaction and keeps `current` among the replaced, in one DB
    /// transaction — unless `current` is no longer the payout's newest
    /// (another instance replaced it first): then `false`, nothing written,
    /// and `replacement` must never be broadcast.
    async fn replace_signed_payout(
        &self,
        current: &SignedPayout,
        replacement: &SignedPayout,
    ) -> Result<bool, StoreError>;

    /// The transactions `replace_signed_payout` replaced, oldest first.
    async fn replaced_payout_txids(
        &self,
        chain: &str,
        payout_id: &str,
    ) -> Result<Vec<String>, StoreError>;

    /// Drops a payout the node refused outright (never in any mempool), so
    /// its nonce is free again and no later payout waits behind a gap.
    async fn forget_signed_payout(&self, chain: &str, payout_id: &str) -> Result<(), StoreError>;
}
