//! The hot wallet's transactions as the chain sees them: a payout drafted
//! (gas estimated, fees read) and signed at the nonce the caller chose, a
//! stuck one signed again with higher fees, stored bytes broadcast, receipts
//! read. What is stored, when, and which nonce is free is the engine's
//! (`engine::payouts`): this file keeps nothing.

use alloy::consensus::{SignableTransaction, Transaction as _, TxEip1559, TxEnvelope};
use alloy::eips::eip2718::{Decodable2718, Encodable2718};
use alloy::network::{TransactionBuilder, TxSignerSync};
use alloy::primitives::{Address, Bytes, TxHash, TxKind, U256};
use alloy::providers::Provider;
use alloy::rpc::types::TransactionRequest;
use alloy::signers::local::PrivateKeySigner;
use alloy::sol_types::SolCall;
use ccgate_ledger::{Amount, Token};
use secrecy::{ExposeSecret, SecretBox};

use super::{EvmChain, transferCall};
use crate::adapter::{ChainAdapter, ChainError, GasFee, PayoutState};

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

/// What signs payouts.
#[derive(Debug, Clone)]
pub struct HotWallet {
    pub(super) signer: PrivateKeySigner,
}

impl HotWallet {
    pub fn new(key: &SecretBox<[u8; 32]>) -> Result<HotWallet, ChainError> {
        let signer = PrivateKeySigner::from_slice(key.expose_secret()).map_err(|_| {
            ChainError::Config("the hot wallet key is not a valid secp256k1 key".to_owned())
        })?;
        Ok(HotWallet { signer })
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

/// A transaction signed and ready to go out: what the caller stores before
/// it broadcasts it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedTx {
    /// The sender, checksummed.
    pub from_address: String,
    pub nonce: u64,
    pub txid: String,
    /// The EIP-2718 bytes, `0x`-hex.
    pub raw_tx: String,
}

/// A payout from the hot wallet before its nonce: the call, its gas limit
/// and fees, as read from the node once.
#[derive(Debug, Clone)]
pub struct PayoutDraft {
    kind: TxKind,
    value: U256,
    input: Bytes,
    gas_limit: u64,
    max_fee_per_gas: u128,
    max_priority_fee_per_gas: u128,
}

impl EvmChain {
    /// The hot wallet, if this process holds it.
    pub fn hot_wallet(&self) -> Result<&HotWallet, ChainError> {
        self.hot_wallet
            .as_ref()
            .ok_or_else(|| ChainError::Config("this process holds no hot wallet".to_owned()))
    }

    /// The hot wallet's address, if this process holds it.
    pub fn hot_wallet_address(&self) -> Option<String> {
        self.hot_wallet.as_ref().map(HotWallet::address)
    }

    /// How many transactions `address` has sent, the node's mempool included.
    pub async fn pending_nonce(&self, address: &str) -> Result<u64, ChainError> {
        let from: Address = address
            .parse()
            .map_err(|_| ChainError::Config(format!("{address:?} is not an EVM address")))?;
        self.provider
            .get_transaction_count(from)
            .pending()
            .await
            .map_err(|err| self.node_error("eth_getTransactionCount", err))
    }

    /// A payout of `amount` of `token` to `to` from the hot wallet, as an
    /// EIP-1559 transaction still without its nonce. Gas is estimated by the
    /// node, which also refuses a payout that would fail (a token balance
    /// too low…): that refusal is `SendFailed`.
    pub async fn draft_payout(
        &self,
        to: &str,
        token: &Token,
        amount: Amount,
    ) -> Result<PayoutDraft, ChainError> {
        let wallet = self.hot_wallet()?;
        let to: Address = to
            .parse()
            .map_err(|_| ChainError::SendFailed(format!("{to:?} is not an EVM address")))?;
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
        Ok(PayoutDraft {
            kind,
            value,
            input,
            gas_limit,
            max_fee_per_gas,
            max_priority_fee_per_gas,
        })
    }

    /// Signs a drafted payout at `nonce`; nothing is sent.
    pub fn sign_payout(&self, draft: &PayoutDraft, nonce: u64) -> Result<SignedTx, ChainError> {
        let wallet = self.hot_wallet()?;
        let mut chain_tx = TxEip1559 {
            chain_id: self.config.chain_id,
            nonce,
            gas_limit: draft.gas_limit,
            max_fee_per_gas: draft.max_fee_per_gas,
            max_priority_fee_per_gas: draft.max_priority_fee_per_gas,
            to: draft.kind,
            value: draft.value,
            access_list: Default::default(),
            input: draft.input.clone(),
        };
        let signature = wallet
            .signer
            .sign_transaction_sync(&mut chain_tx)
            .map_err(|err| ChainError::Config(format!("sign a payout: {err}")))?;
        let envelope = TxEnvelope::from(chain_tx.into_signed(signature));
        Ok(SignedTx {
            from_address: wallet.address(),
            nonce,
            txid: envelope.tx_hash().to_string(),
            raw_tx: format!("0x{}", hex::encode(envelope.encoded_2718())),
        })
    }

    /// Whether `from_address`'s nonce count at the confirmed height is past
    /// `nonce`: some transaction used that nonce and is confirmed.
    pub async fn nonce_confirmed_used(
        &self,
        from_address: &str,
        nonce: u64,
        now_unix_ms: i64,
    ) -> Result<bool, ChainError> {
        let Some(confirmed) = self.chain.confirmed_height(self.height(now_unix_ms).await?) else {
            return Ok(false);
        };
        let from: Address = from_address
            .parse()
            .map_err(|_| ChainError::Config(format!("{from_address:?} is not an EVM address")))?;
        let used = self
            .provider
            .get_transaction_count(from)
            .number(confirmed)
            .await
            .map_err(|err| self.node_error("eth_getTransactionCount", err))?;
        Ok(used > nonce)
    }

    /// Where transaction `txid` landed, if it did.
    pub async fn receipt_state(&self, txid: &str) -> Result<Option<PayoutState>, ChainError> {
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

    /// Whether transaction `txid` has a receipt.
    pub async fn is_mined(&self, txid: &str) -> Result<bool, ChainError> {
        Ok(self.mined(txid).await?.is_some())
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
    pub async fn broadcast_raw(
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
    pub async fn broadcast_if_unknown(&self, txid: &str, raw_tx: &str) -> Result<(), ChainError> {
        if self.knows_txid(txid).await? {
            return Ok(());
        }
        if let Some(refusal) = self.broadcast_raw(txid, raw_tx).await? {
            tracing::warn!(chain = %self.chain.code, %txid, %refusal,
                "a stored transaction unknown to the node; broadcasting it again was refused");
        }
        Ok(())
    }

    pub async fn knows_txid(&self, txid: &str) -> Result<bool, ChainError> {
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
    /// Nothing is sent: the caller stores it first.
    pub async fn sign_replacement(
        &self,
        txid: &str,
        raw_tx: &str,
    ) -> Result<Replacement, ChainError> {
        let wallet = self.hot_wallet()?;
        let stored = decode_raw(txid, raw_tx)?;
        let TxEnvelope::Eip1559(signed) =
            TxEnvelope::decode_2718(&mut stored.as_slice()).map_err(|err| {
                ChainError::Config(format!("stored transaction {txid} does not decode: {err}"))
            })?
        else {
            return Err(ChainError::Config(format!(
                "stored transaction {txid} is not an EIP-1559 transaction"
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
        Ok(Replacement {
            signed: SignedTx {
                from_address: wallet.address(),
                nonce: envelope.nonce(),
                txid: envelope.tx_hash().to_string(),
                raw_tx: format!("0x{}", hex::encode(envelope.encoded_2718())),
            },
            max_fee_per_gas: envelope.max_fee_per_gas(),
        })
    }
}

/// A stuck payout signed again with higher fees.
#[derive(Debug, Clone)]
pub struct Replacement {
    pub signed: SignedTx,
    /// Its max fee per gas in wei, for the operator's log.
    pub max_fee_per_gas: u128,
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
