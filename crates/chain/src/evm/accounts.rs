//! What the node says of one account at one height, and of one mined
//! transaction: what balance reconciliation and rescans compare the books
//! with. A JSON-RPC refusal to answer for a height (state a full node pruned)
//! is an answer, `None`; only a node that cannot be reached is an error.

use alloy::consensus::{Transaction as _, TxEnvelope};
use alloy::eips::BlockNumberOrTag;
use alloy::eips::eip2718::Decodable2718;
use alloy::primitives::Address;
use alloy::providers::Provider;
use ccgate_ledger::Amount;

use super::EvmChain;
use super::payouts::decode_raw;
use crate::adapter::ChainError;

/// A mined transaction, as balance reconciliation counts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MinedTx {
    pub succeeded: bool,
    pub block_height: u64,
    /// What its sender paid for gas, in the native coin's base units.
    pub gas: Amount,
}

impl EvmChain {
    fn account(&self, address: &str) -> Result<Address, ChainError> {
        address
            .parse()
            .map_err(|_| ChainError::Config(format!("{address:?} is not an EVM address")))
    }

    /// The native balance of `address` at `height`, in the coin's base units;
    /// `None` when the node no longer has that height's state.
    pub async fn native_balance_at(
        &self,
        address: &str,
        height: u64,
    ) -> Result<Option<Amount>, ChainError> {
        let native = self.native_token_entry()?;
        match self
            .provider
            .get_balance(self.account(address)?)
            .number(height)
            .await
        {
            Ok(wei) => Ok(Some(native.amount(wei)?)),
            Err(err) => {
                let refusal = self.refusal_or_node_error("eth_getBalance", err)?;
                tracing::debug!(chain = %self.chain.code, height, %refusal,
                    "the node has no balance at this height");
                Ok(None)
            }
        }
    }

    /// How many transactions `address` had sent by the end of block
    /// `height`; `None` when the node no longer has that height's state.
    pub async fn nonce_at(&self, address: &str, height: u64) -> Result<Option<u64>, ChainError> {
        match self
            .provider
            .get_transaction_count(self.account(address)?)
            .number(height)
            .await
        {
            Ok(nonce) => Ok(Some(nonce)),
            Err(err) => {
                let refusal = self.refusal_or_node_error("eth_getTransactionCount", err)?;
                tracing::debug!(chain = %self.chain.code, height, %refusal,
                    "the node has no nonce at this height");
                Ok(None)
            }
        }
    }

    /// Where transaction `txid` was mined and what its gas cost; `None`
    /// before it is mined.
    pub async fn mined_tx(&self, txid: &str) -> Result<Option<MinedTx>, ChainError> {
        let Some(mined) = self.mined(txid).await? else {
            return Ok(None);
        };
        Ok(Some(MinedTx {
            succeeded: mined.succeeded,
            block_height: mined.block_height,
            gas: self.native_token_entry()?.amount(mined.gas_wei)?,
        }))
    }

    /// The native value a stored signed transaction moves, in the coin's
    /// base units.
    pub fn signed_value(&self, txid: &str, raw_tx: &str) -> Result<Amount, ChainError> {
        let raw = decode_raw(txid, raw_tx)?;
        let envelope = TxEnvelope::decode_2718(&mut raw.as_slice()).map_err(|err| {
            ChainError::Config(format!("stored transaction {txid} does not decode: {err}"))
        })?;
        self.native_token_entry()?.amount(envelope.value())
    }

    /// When block `height` was made, in milliseconds since the epoch.
    pub async fn block_time_ms(&self, height: u64) -> Result<i64, ChainError> {
        let block = self
            .provider
            .get_block_by_number(BlockNumberOrTag::Number(height))
            .await
            .map_err(|err| self.node_error("eth_getBlockByNumber", err))?
            .ok_or_else(|| self.node_error("eth_getBlockByNumber", format!("no block {height}")))?;
        Ok(super::block_time_ms(block.header.timestamp))
    }
}
