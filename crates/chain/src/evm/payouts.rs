//! Payouts from the hot wallet: signed once per payout id and stored before
//! the broadcast (so a re-send, by this or another instance, sends the same
//! bytes), nonces that no stored payout holds, receipts read until the
//! payout settles, and a payout stuck in the mempool signed again with
//! higher fees.

use std::sync::Arc;

use alloy::consensus::{SignableTransaction, Transaction as _, TxEip1559, TxEnvelope};
use alloy::eips::eip2718::{Decodable2718, Encodable2718};
use alloy::network::{TransactionBuilder, TxSignerSync};
use alloy::primitives::{Address, Bytes, TxHash, TxKind, U256};
use alloy::providers::Provider;
use alloy::rpc::types::TransactionRequest;
use alloy::signers::local::PrivateKeySigner;
use alloy::sol_types::SolCall;
use ccgate_ledger::{Amount, Token};
use ccgate_store::{PayoutInsert, PayoutStore, SignedPayout};
use secrecy::{ExposeSecret, SecretBox};

use super::{EvmChain, transferCall};
use crate::adapter::{ChainAdapter, ChainError, GasFee, PayoutState};

/// Nonces tried per payout when other instances take them at the same time.
const NONCE_ATTEMPTS_MAX: u32 = 16;
/// Nodes' answers to a re-broadcast of a transaction they have already seen (in
/// the mempool, or mined): the payout is out, its receipt will tell.
const ALREADY_SENT_ANSWERS: [&str; 6] = [
    "already known",
    // ganache's answer when the same transaction waits in its pool.
    "underpriced",
    "known transaction",
    "already imported",
    "nonce too low",
    "correct nonce",
];

/// What signs payouts, and where signed ones are kept.
#[derive(Debug, Clone)]
pub struct HotWallet {
    pub(super) signer: PrivateKeySigner,
    pub(super) payouts: Arc<dyn PayoutStore>,
}

impl HotWallet {
    pub fn new(
        key: &SecretBox<[u8; 32]>,
        payouts: Arc<dyn PayoutStore>,
    ) -> Result<HotWallet, ChainError> {
        let signer = PrivateKeySigner::from_slice(key.expose_secret()).map_err(|_| {
            ChainError::Config("the hot wallet key is not a valid secp256k1 key".to_owned())
        })?;
        Ok(HotWallet { signer, payouts })
    }

    /// The address payouts come from: fund it with the native coin (gas) and
    /// the tokens paid out.
    pub fn address(&self) -> String {
        self.signer.address().to_checksum(None)
    }
}

/// A stored signed transaction's bytes.
pub(super) fn decode_raw(txid: &str, raw_tx: &str) -> Result<Vec<u8>, ChainError> {
    hex::decode(raw_tx.trim_start_matches("0x"))
        .map_err(|err| ChainError::Config(format!("stored transaction {txid} is not hex: {err}")))
}

/// A mined transaction, from its receipt.
pub(crate) struct Mined {
    pub(crate) succeeded: bool,
    /// Gas used × effective gas price.
    pub(crate) gas_wei: U256,
    pub(crate) block_height: u64,
}

/// A fee raised enough for nodes to take a same-nonce replacement (geth
/// asks for a tenth more): an eighth more, and at least one wei.
pub(super) fn raised_fee(fee: u128) -> u128 {
    fee.saturating_add(fee / 8).saturating_add(1)
}

impl EvmChain {
    /// The lowest nonce from the node's pending count up that no stored
    /// payout of the wallet holds: a payout forgotten after a refusal leaves
    /// no gap that later ones would wait behind.
    pub(super) async fn free_nonce(
        &self,
        wallet: &HotWallet,
        from: Address,
    ) -> Result<u64, ChainError> {
        const NONCES_PER_READ: u32 = 256;
        let mut candidate = self
            .provider
            .get_transaction_count(from)
            .pending()
            .await
            .map_err(|err| self.node_error("eth_getTransactionCount", err))?;
        loop {
            let held = wallet
                .payouts
                .payout_nonces(
                    self.chain.code.as_str(),
                    &from.to_checksum(None),
                    candidate,
                    NONCES_PER_READ,
                )
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

    /// Signs the payout as an EIP-1559 transaction and stores it, unless it was
    /// signed before: then that one. Gas is estimated by the node, which also
    /// refuses a payout that would fail (a token balance too low…).
    pub(super) async fn sign_payout(
        &self,
        wallet: &HotWallet,
        payout_id: &str,
        to: Address,
        token: &Token,
        amount: Amount,
        now_unix_ms: i64,
    ) -> Result<(SignedPayout, bool), ChainError> {
        let (entry, contract) = self.token_of(token)?;
        let units = entry.chain_units(amount)?;
        let from = wallet.signer.address();
        let (kind, value, input) = match contract {
            None => (TxKind::Call(to), units, Bytes::new()),
            Some(contract) => (
                TxKind::Call(contract),
                U256::ZERO,
                Bytes::from(transferCall { to, value: units }.abi_encode()),
            ),
        };
        let request = TransactionRequest::default()
            .with_from(from)
            .with_kind(kind)
            .with_value(value)
            .with_input(input.clone());
        let estimated_gas = match self.provider.estimate_gas(request).await {
            Ok(gas) => gas,
            Err(err) => {
                let refusal = self.refusal_or_node_error("eth_estimateGas", err)?;
                // Another instance may have signed this payout meanwhile, and
                // its transaction be what makes this estimate fail (the balance
                // it spent): then that one stands, and nothing is voided.
                if let Some(signed) = wallet
                    .payouts
                    .signed_payout(self.chain.code.as_str(), payout_id)
                    .await?
                {
                    return Ok((signed, false));
                }
                return Err(ChainError::SendFailed(format!(
                    "the node refused the payout: {refusal}"
                )));
            }
        };
        // A token's gas use varies with its storage; a margin keeps a payout
        // from running out of gas when state moved since the estimate.
        let gas_limit = match contract {
            None => estimated_gas,
            Some(_) => estimated_gas.saturating_add(estimated_gas / 5),
        };
        let max_fee_per_gas = self.read_max_fee_per_gas().await?;
        let max_priority_fee_per_gas = self
            .provider
            .get_max_priority_fee_per_gas()
            .await
            .map_err(|err| self.node_error("eth_maxPriorityFeePerGas", err))?
            .min(max_fee_per_gas);
        for _ in 0..NONCE_ATTEMPTS_MAX {
            let nonce = self.free_nonce(wallet, from).await?;
            let mut chain_tx = TxEip1559 {
                chain_id: self.config.chain_id,
                nonce,
                gas_limit,
                max_fee_per_gas,
                max_priority_fee_per_gas,
                to: kind,
                value,
                access_list: Default::default(),
                input: input.clone(),
            };
            let signature = wallet
                .signer
                .sign_transaction_sync(&mut chain_tx)
                .map_err(|err| ChainError::Config(format!("sign a payout: {err}")))?;
            let envelope = TxEnvelope::from(chain_tx.into_signed(signature));
            let payout = SignedPayout {
                chain: self.chain.code.to_string(),
                payout_id: payout_id.to_owned(),
                from_address: from.to_checksum(None),
                nonce,
                txid: envelope.tx_hash().to_string(),
                raw_tx: format!("0x{}", hex::encode(envelope.encoded_2718())),
                created_at_ms: now_unix_ms,
                replacements: 0,
            };
            match wallet.payouts.insert_signed_payout(&payout).await? {
                PayoutInsert::Inserted => return Ok((payout, true)),
                PayoutInsert::Existing(first) => return Ok((first, false)),
                PayoutInsert::NonceTaken => continue,
            }
        }
        Err(self.node_error(
            "sign a payout",
            format!("no free nonce after {NONCE_ATTEMPTS_MAX} attempts"),
        ))
    }

    /// Broadcasts a stored payout. Only a payout this call signed (`fresh`)
    /// and the node refuses outright (it knows no such transaction afterwards) is
    /// forgotten, freeing its nonce, and fails the send: one signed before may
    /// be out already through another instance, and voiding it could void a
    /// payout that is paid, so a refusal of it only waits for its receipt.
    pub(super) async fn broadcast(
        &self,
        wallet: &HotWallet,
        payout: &SignedPayout,
        fresh: bool,
    ) -> Result<(), ChainError> {
        let Some(refusal) = self.broadcast_raw(&payout.txid, &payout.raw_tx).await? else {
            return Ok(());
        };
        if !fresh {
            tracing::warn!(chain = %self.chain.code, payout_id = %payout.payout_id, %refusal,
                "the node refused a payout signed before; it waits for its receipt");
            return Ok(());
        }
        tracing::warn!(chain = %self.chain.code, payout_id = %payout.payout_id, %refusal,
            "the node refused the payout; forgotten, the withdrawal is voided");
        wallet
            .payouts
            .forget_signed_payout(&payout.chain, &payout.payout_id)
            .await?;
        Err(ChainError::SendFailed(format!(
            "the node refused the payout: {refusal}"
        )))
    }

    /// Whether the wallet's nonce count at the confirmed height is past the
    /// payout's: some transaction used that nonce and is confirmed. Asked
    /// only once none of the payout's own transactions has a receipt, so that
    /// transaction is not one of them.
    pub(super) async fn nonce_taken_elsewhere(
        &self,
        payout: &SignedPayout,
        now_unix_ms: i64,
    ) -> Result<bool, ChainError> {
        let Some(confirmed) = self.chain.confirmed_height(self.height(now_unix_ms).await?) else {
            return Ok(false);
        };
        let from: Address = payout.from_address.parse().map_err(|_| {
            ChainError::Config(format!(
                "stored payout {} has no valid sender",
                payout.payout_id
            ))
        })?;
        let used = self
            .provider
            .get_transaction_count(from)
            .number(confirmed)
            .await
            .map_err(|err| self.node_error("eth_getTransactionCount", err))?;
        Ok(used > payout.nonce)
    }

    /// Where transaction `txid` landed, if it did.
    pub(super) async fn receipt_state(
        &self,
        txid: &str,
    ) -> Result<Option<PayoutState>, ChainError> {
        let Some(mined) = self.mined(txid).await? else {
            return Ok(None);
        };
        let gas = match &self.native {
            Some(native) => Some(GasFee {
                coin_id: native.token.coin_id.clone(),
                coin_precision: native.coin_precision,
                amount: native.amount(mined.gas_wei)?,
            }),
            None => None,
        };
        let (txid, block_height) = (txid.to_owned(), mined.block_height);
        Ok(Some(if mined.succeeded {
            PayoutState::Included {
                txid,
                block_height,
                gas,
            }
        } else {
            PayoutState::Reverted {
                txid,
                block_height,
                gas,
            }
        }))
    }

    /// A transaction's receipt; `None` before it is mined.
    pub(crate) async fn mined(&self, txid: &str) -> Result<Option<Mined>, ChainError> {
        let hash: TxHash = txid
            .parse()
            .map_err(|_| ChainError::Config(format!("{txid:?} is not a transaction hash")))?;
        let receipt = self
            .provider
            .get_transaction_receipt(hash)
            .await
            .map_err(|err| self.node_error("eth_getTransactionReceipt", err))?;
        receipt
            .map(|receipt| {
                let block_height = receipt.block_number.ok_or_else(|| {
                    self.node_error("eth_getTransactionReceipt", "a receipt without its block")
                })?;
                Ok(Mined {
                    succeeded: receipt.status(),
                    gas_wei: U256::from(receipt.gas_used) * U256::from(receipt.effective_gas_price),
                    block_height,
                })
            })
            .transpose()
    }

    /// Broadcasts stored bytes; `Some(refusal)` when the node refuses them
    /// and does not know them (a transaction it already has is out).
    pub(crate) async fn broadcast_raw(
        &self,
        txid: &str,
        raw_tx: &str,
    ) -> Result<Option<String>, ChainError> {
        let refusal = match self
            .provider
            .send_raw_transaction(&decode_raw(txid, raw_tx)?)
            .await
        {
            Ok(_) => return Ok(None),
            Err(err) => self.refusal_or_node_error("eth_sendRawTransaction", err)?,
        };
        let lower = refusal.to_ascii_lowercase();
        if ALREADY_SENT_ANSWERS
            .iter()
            .any(|answer| lower.contains(answer))
            || self.knows_txid(txid).await?
        {
            return Ok(None);
        }
        Ok(Some(refusal))
    }

    /// A stored transaction without a receipt that the node does not know
    /// (dropped from its mempool) goes out again, the same bytes.
    pub(crate) async fn broadcast_if_unknown(
        &self,
        txid: &str,
        raw_tx: &str,
    ) -> Result<(), ChainError> {
        if self.knows_txid(txid).await? {
            return Ok(());
        }
        if let Some(refusal) = self.broadcast_raw(txid, raw_tx).await? {
            tracing::warn!(chain = %self.chain.code, %txid, %refusal,
                "a stored transaction unknown to the node; broadcasting it again was refused");
        }
        Ok(())
    }

    pub(crate) async fn knows_txid(&self, txid: &str) -> Result<bool, ChainError> {
        let hash: TxHash = txid
            .parse()
            .map_err(|_| ChainError::Config(format!("{txid:?} is not a transaction hash")))?;
        Ok(self
            .provider
            .get_transaction_by_hash(hash)
            .await
            .map_err(|err| self.node_error("eth_getTransactionByHash", err))?
            .is_some())
    }

    /// Signs a payout stuck in the mempool again: the same nonce, call and
    /// gas limit, fees raised by at least an eighth (nodes ask for a tenth to
    /// take a replacement) and to at least the network's current price.
    /// Stored before the broadcast, and only if no other instance replaced
    /// the same transaction first; the one now waiting is returned.
    pub(super) async fn replace_stuck_payout(
        &self,
        wallet: &HotWallet,
        current: &SignedPayout,
        now_unix_ms: i64,
    ) -> Result<String, ChainError> {
        let stored = decode_raw(&current.txid, &current.raw_tx)?;
        let TxEnvelope::Eip1559(signed) =
            TxEnvelope::decode_2718(&mut stored.as_slice()).map_err(|err| {
                ChainError::Config(format!(
                    "stored payout {} does not decode: {err}",
                    current.payout_id
                ))
            })?
        else {
            return Err(ChainError::Config(format!(
                "stored payout {} is not an EIP-1559 transaction",
                current.payout_id
            )));
        };
        let mut chain_tx = signed.strip_signature();
        let network_max_fee = self.read_max_fee_per_gas().await?;
        let network_tip = self
            .provider
            .get_max_priority_fee_per_gas()
            .await
            .map_err(|err| self.node_error("eth_maxPriorityFeePerGas", err))?;
        chain_tx.max_priority_fee_per_gas =
            raised_fee(chain_tx.max_priority_fee_per_gas).max(network_tip);
        chain_tx.max_fee_per_gas = raised_fee(chain_tx.max_fee_per_gas)
            .max(network_max_fee)
            .max(chain_tx.max_priority_fee_per_gas);
        let signature = wallet
            .signer
            .sign_transaction_sync(&mut chain_tx)
            .map_err(|err| ChainError::Config(format!("sign a replacement: {err}")))?;
        let envelope = TxEnvelope::from(chain_tx.into_signed(signature));
        let replacement = SignedPayout {
            txid: envelope.tx_hash().to_string(),
            raw_tx: format!("0x{}", hex::encode(envelope.encoded_2718())),
            created_at_ms: now_unix_ms,
            replacements: current.replacements.saturating_add(1),
            ..current.clone()
        };
        if !wallet
            .payouts
            .replace_signed_payout(current, &replacement)
            .await?
        {
            return Ok(current.txid.clone());
        }
        tracing::warn!(chain = %self.chain.code, payout_id = %current.payout_id,
            replaced = %current.txid, txid = %replacement.txid, round = replacement.replacements,
            max_fee_per_gas = envelope.max_fee_per_gas(),
            "payout stuck in the mempool; signed again with higher fees");
        // A refusal leaves both stored: "nonce too low" means one of them was
        // mined (the next tick finds its receipt); any other refusal is
        // answered by the next round.
        if let Some(refusal) = self
            .broadcast_raw(&replacement.txid, &replacement.raw_tx)
            .await?
        {
            tracing::warn!(chain = %self.chain.code, payout_id = %current.payout_id, %refusal,
                "the node refused the replacement payout");
        }
        Ok(replacement.txid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_raised_fee_is_enough_for_a_node_to_take_the_replacement() {
        // geth takes a replacement whose fees are at least 10 % higher.
        for fee in [0u128, 1, 7, 9, 10, 1_000_000_000, 123_456_789_012] {
            let raised = raised_fee(fee);
            assert!(raised * 10 >= fee * 11, "{fee} → {raised}");
            assert!(raised > fee);
        }
        assert_eq!(raised_fee(8_000_000_000), 9_000_000_001);
        assert_eq!(raised_fee(u128::MAX), u128::MAX);
    }
}
