//! Payouts from an EVM chain's hot wallet — withdrawals, refunds and sweeps'
//! gas top-ups — decided here and kept in the payout store; the chain
//! adapter only drafts, signs, broadcasts and reads receipts. The rules:
//! a payout is signed once per payout id and stored before its broadcast,
//! so a re-send (after a crash, or by another instance) broadcasts the same
//! bytes and never signs again at another nonce; its nonce is one no stored
//! payout holds; a payout stuck in the mempool is signed again, same nonce,
//! higher fees, stored before it goes out.

use std::sync::Arc;

use ccgate_chain::evm::{NATIVE_TRANSFER_INDEX, SignedTx};
use ccgate_chain::{ChainError, EvmChain, PayoutState, Sent};
use ccgate_ledger::{Amount, ChainTransfer, Token};
use ccgate_store::{PayoutInsert, PayoutStore, SignedPayout, TOP_UP_PAYOUT_PREFIX};

use crate::EngineError;

/// Nonces tried per payout when other instances take them at the same time.
const NONCE_ATTEMPTS_MAX: u32 = 16;
/// Stored nonces read per look-up while finding a free one.
const NONCES_PER_READ: u32 = 256;

/// The hot wallets' payouts, over the store that keeps them signed.
#[derive(Debug, Clone)]
pub struct Payouts {
    store: Arc<dyn PayoutStore>,
}

impl Payouts {
    pub fn new(store: Arc<dyn PayoutStore>) -> Payouts {
        Payouts { store }
    }

    /// The payout signed for `payout_id` on `chain`, if any.
    pub async fn signed(
        &self,
        chain: &EvmChain,
        payout_id: &str,
    ) -> Result<Option<SignedPayout>, EngineError> {
        Ok(self.store.signed_payout(code(chain), payout_id).await?)
    }

    /// Signs once per payout id (the stored transaction is the single source
    /// of truth: a re-send, by this or another instance, broadcasts the same
    /// bytes), then broadcasts. Where it lands, `state` tells. A refusal
    /// that voids the payout is `ChainError::SendFailed`.
    pub async fn send(
        &self,
        chain: &EvmChain,
        payout_id: &str,
        to: &str,
        token: &Token,
        amount: Amount,
        now_unix_ms: i64,
    ) -> Result<Sent, EngineError> {
        chain.hot_wallet()?;
        let (payout, fresh) = match self.store.signed_payout(code(chain), payout_id).await? {
            // Signed before (by another instance, or before a crash): sent
            // again only if the node does not know it.
            Some(signed) if chain.knows_txid(&signed.txid).await? => {
                return Ok(Sent {
                    txid: signed.txid,
                    block_height: None,
                });
            }
            Some(signed) => (signed, false),
            None => {
                self.sign(chain, payout_id, to, token, amount, now_unix_ms)
                    .await?
            }
        };
        self.broadcast(chain, &payout, fresh).await?;
        Ok(Sent {
            txid: payout.txid,
            block_height: None,
        })
    }

    /// Signs a payout the store does not hold yet and broadcasts it: a
    /// sweep's gas top-up, whose caller just found none stored.
    pub async fn sign_and_send(
        &self,
        chain: &EvmChain,
        payout_id: &str,
        to: &str,
        token: &Token,
        amount: Amount,
        now_unix_ms: i64,
    ) -> Result<(), EngineError> {
        let (payout, fresh) = self
            .sign(chain, payout_id, to, token, amount, now_unix_ms)
            .await?;
        self.broadcast(chain, &payout, fresh).await
    }

    /// Where payout `payout_id`, sent as `txid`, stands. A receipt of any of
    /// the payout's transactions decides (they share one nonce: at most one
    /// is ever mined). Without one, a transaction the node does not know is
    /// broadcast again (the same stored bytes), and one waiting past
    /// `replace_after_ms` is replaced with higher fees.
    pub async fn state(
        &self,
        chain: &EvmChain,
        payout_id: &str,
        txid: &str,
        now_unix_ms: i64,
    ) -> Result<PayoutState, EngineError> {
        let stored = match chain.hot_wallet() {
            Ok(_) => self.store.signed_payout(code(chain), payout_id).await?,
            Err(_) => None,
        };
        let Some(current) = stored else {
            return Ok(chain
                .receipt_state(txid)
                .await?
                .unwrap_or_else(|| PayoutState::Pending {
                    txid: txid.to_owned(),
                }));
        };
        let replaced = self
            .store
            .replaced_payout_txids(code(chain), payout_id)
            .await?;
        // Newest first: the one most likely mined.
        for candidate in std::iter::once(&current.txid).chain(replaced.iter().rev()) {
            if let Some(state) = chain.receipt_state(candidate).await? {
                return Ok(state);
            }
        }
        // None of the payout's own transactions has a receipt, so a
        // confirmed transaction past its nonce is another one.
        if chain
            .nonce_confirmed_used(&current.from_address, current.nonce, now_unix_ms)
            .await?
        {
            tracing::warn!(chain = %code(chain), payout_id, nonce = current.nonce,
                "another transaction of the hot wallet took the payout's nonce and has the confirmations; the payout can never be mined");
            return Ok(PayoutState::Superseded { txid: current.txid });
        }
        chain
            .broadcast_if_unknown(&current.txid, &current.raw_tx)
            .await?;
        let waited_ms = now_unix_ms.saturating_sub(current.created_at_ms);
        let config = chain.config();
        let txid = if current.replacements < config.max_replacements
            && u64::try_from(waited_ms).is_ok_and(|waited| waited >= config.replace_after_ms)
        {
            self.replace_stuck(chain, &current, now_unix_ms).await?
        } else {
            current.txid
        };
        Ok(PayoutState::Pending { txid })
    }

    /// Whether a transfer is a sweep's gas top-up (the hot wallet paying a
    /// deposit address): value moving within custody, never a deposit.
    pub async fn is_sweep_top_up(
        &self,
        chain: &EvmChain,
        transfer: &ChainTransfer,
    ) -> Result<bool, EngineError> {
        if transfer.log_index != NATIVE_TRANSFER_INDEX
            || chain.hot_wallet_address().as_deref() != Some(transfer.from_address.as_str())
        {
            return Ok(false);
        }
        Ok(self
            .store
            .payout_by_txid(code(chain), &transfer.txid)
            .await?
            .is_some_and(|payout| payout.payout_id.starts_with(TOP_UP_PAYOUT_PREFIX)))
    }

    /// `transfers` without the sweeps' gas top-ups among them.
    pub async fn without_sweep_top_ups(
        &self,
        chain: &EvmChain,
        transfers: Vec<ChainTransfer>,
    ) -> Result<Vec<ChainTransfer>, EngineError> {
        let mut kept = Vec::with_capacity(transfers.len());
        for transfer in transfers {
            if !self.is_sweep_top_up(chain, &transfer).await? {
                kept.push(transfer);
            }
        }
        Ok(kept)
    }

    /// Signs the payout and stores it, unless it was signed before: then
    /// that one (`false`: not signed by this call).
    async fn sign(
        &self,
        chain: &EvmChain,
        payout_id: &str,
        to: &str,
        token: &Token,
        amount: Amount,
        now_unix_ms: i64,
    ) -> Result<(SignedPayout, bool), EngineError> {
        let draft = match chain.draft_payout(to, token, amount).await {
            Ok(draft) => draft,
            Err(ChainError::SendFailed(refusal)) => {
                // Another instance may have signed this payout meanwhile, and
                // its transaction be what makes this estimate fail (the balance
                // it spent): then that one stands, and nothing is voided.
                if let Some(signed) = self.store.signed_payout(code(chain), payout_id).await? {
                    return Ok((signed, false));
                }
                return Err(ChainError::SendFailed(refusal).into());
            }
            Err(other) => return Err(other.into()),
        };
        let from = chain.hot_wallet()?.address();
        for _ in 0..NONCE_ATTEMPTS_MAX {
            let nonce = self.free_nonce(chain, &from).await?;
            let SignedTx {
                from_address,
                nonce,
                txid,
                raw_tx,
            } = chain.sign_payout(&draft, nonce)?;
            let payout = SignedPayout {
                chain: code(chain).to_owned(),
                payout_id: payout_id.to_owned(),
                from_address,
                nonce,
                txid,
                raw_tx,
                created_at_ms: now_unix_ms,
                replacements: 0,
            };
            match self.store.insert_signed_payout(&payout).await? {
                PayoutInsert::Inserted => return Ok((payout, true)),
                PayoutInsert::Existing(first) => return Ok((first, false)),
                PayoutInsert::NonceTaken => continue,
            }
        }
        Err(ChainError::Node {
            chain: code(chain).to_owned(),
            detail: format!("sign a payout: no free nonce after {NONCE_ATTEMPTS_MAX} attempts"),
        }
        .into())
    }

    /// The lowest nonce from the node's pending count up that no stored
    /// payout of the wallet holds: a payout forgotten after a refusal leaves
    /// no gap that later ones would wait behind.
    async fn free_nonce(&self, chain: &EvmChain, from: &str) -> Result<u64, EngineError> {
        let mut candidate = chain.pending_nonce(from).await?;
        loop {
            let held = self
                .store
                .payout_nonces(code(chain), from, candidate, NONCES_PER_READ)
                .await?;
            let full_page = held.len() == NONCES_PER_READ as usize;
            for nonce in held {
                if nonce != candidate {
                    return Ok(candidate);
                }
                candidate = candidate.checked_add(1).ok_or(ChainError::AmountOverflow)?;
            }
            if !full_page {
                return Ok(candidate);
            }
        }
    }

    /// Broadcasts a stored payout. Only a payout this call signed (`fresh`)
    /// and the node refuses outright (it knows no such transaction afterwards) is
    /// forgotten, freeing its nonce, and fails the send: one signed before may
    /// be out already through another instance, and voiding it could void a
    /// payout that is paid, so a refusal of it only waits for its receipt.
    async fn broadcast(
        &self,
        chain: &EvmChain,
        payout: &SignedPayout,
        fresh: bool,
    ) -> Result<(), EngineError> {
        let Some(refusal) = chain.broadcast_raw(&payout.txid, &payout.raw_tx).await? else {
            return Ok(());
        };
        if !fresh {
            tracing::warn!(chain = %payout.chain, payout_id = %payout.payout_id, %refusal,
                "the node refused a payout signed before; it waits for its receipt");
            return Ok(());
        }
        tracing::warn!(chain = %payout.chain, payout_id = %payout.payout_id, %refusal,
            "the node refused the payout; forgotten, the withdrawal is voided");
        self.store
            .forget_signed_payout(&payout.chain, &payout.payout_id)
            .await?;
        Err(ChainError::SendFailed(format!("the node refused the payout: {refusal}")).into())
    }

    /// Signs a payout stuck in the mempool again (higher fees, same nonce),
    /// stored before the broadcast and only if no other instance replaced
    /// the same transaction first; the one now waiting is returned.
    async fn replace_stuck(
        &self,
        chain: &EvmChain,
        current: &SignedPayout,
        now_unix_ms: i64,
    ) -> Result<String, EngineError> {
        let signed = chain
            .sign_replacement(&current.txid, &current.raw_tx)
            .await?;
        let replacement = SignedPayout {
            txid: signed.signed.txid,
            raw_tx: signed.signed.raw_tx,
            created_at_ms: now_unix_ms,
            replacements: current.replacements.saturating_add(1),
            ..current.clone()
        };
        if !self
            .store
            .replace_signed_payout(current, &replacement)
            .await?
        {
            return Ok(current.txid.clone());
        }
        tracing::warn!(chain = %current.chain, payout_id = %current.payout_id,
            replaced = %current.txid, txid = %replacement.txid, round = replacement.replacements,
            max_fee_per_gas = signed.max_fee_per_gas,
            "payout stuck in the mempool; signed again with higher fees");
        // A refusal leaves both stored: "nonce too low" means one of them was
        // mined (the next tick finds its receipt); any other refusal is
        // answered by the next round.
        if let Some(refusal) = chain
            .broadcast_raw(&replacement.txid, &replacement.raw_tx)
            .await?
        {
            tracing::warn!(chain = %current.chain, payout_id = %current.payout_id, %refusal,
                "the node refused the replacement payout");
        }
        Ok(replacement.txid)
    }
}

fn code(chain: &EvmChain) -> &str {
    ccgate_chain::ChainAdapter::chain(chain).code.as_str()
}
