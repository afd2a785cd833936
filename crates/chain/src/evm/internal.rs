//! Native coin moved by contracts (internal transfers) as deposits: in the
//! block scan where the node traces whole blocks, for one address in one
//! block (balance reconciliation), and for one transaction (a rescan).

use std::collections::BTreeMap;

use alloy::consensus::Transaction as _;
use alloy::primitives::{Address, TxHash};
use alloy::providers::Provider;
use ccgate_ledger::ChainTransfer;

use super::traces::{InternalTransfer, TraceApi};
use super::{ChainToken, EvmChain, TraceChoice, block_time_ms};
use crate::adapter::ChainError;

/// Transactions of one block traced one by one (a node with struct logs
/// only) to name the transaction behind a surplus; a fuller block leaves it
/// unnamed rather than cost thousands of calls.
const TRANSACTIONS_TRACED_ONE_BY_ONE_MAX: usize = 256;

/// What the block scan knows of a block: when it was made and where each
/// transaction sits in it (internal transfers sort with their transaction).
pub(super) struct BlockFacts {
    pub(super) time_ms: i64,
    pub(super) positions: BTreeMap<String, u64>,
}

impl EvmChain {
    /// What the node offers to trace, asked once (and named by the
    /// configuration when it says which).
    pub async fn node_trace_api(&self) -> Result<TraceApi, ChainError> {
        if let Some(api) = self.trace_api.get() {
            return Ok(*api);
        }
        let api = match self.config.traces {
            TraceChoice::CallTracer => TraceApi::CallTracer,
            TraceChoice::TraceBlock => TraceApi::TraceBlock,
            TraceChoice::Auto | TraceChoice::Off => self.detect_trace_api().await?,
        };
        // Two ticks asking at once find the same answer; either one stays.
        let _ = self.trace_api.set(api);
        Ok(api)
    }

    /// The API the block scan traces every block with, if any: only one that
    /// traces a whole block in one call, and not when configured `off`.
    pub async fn block_trace_api(&self) -> Result<Option<TraceApi>, ChainError> {
        if self.config.traces == TraceChoice::Off || self.native.is_none() {
            return Ok(None);
        }
        Ok(match self.node_trace_api().await? {
            api @ (TraceApi::CallTracer | TraceApi::TraceBlock) => Some(api),
            TraceApi::StructLogs | TraceApi::None => None,
        })
    }

    fn internal_deposit(
        &self,
        native: &ChainToken,
        internal: &InternalTransfer,
        block_height: u64,
        block_time_ms: i64,
    ) -> Result<ChainTransfer, ChainError> {
        Ok(ChainTransfer {
            chain: self.chain.code.to_string(),
            txid: internal.txid.clone(),
            log_index: internal.index,
            block_height,
            block_time_ms,
            from_address: internal.from.to_checksum(None),
            to_address: internal.to.to_checksum(None),
            memo: String::new(),
            token_id: native.token.id.clone(),
            amount: native.amount(internal.value)?,
        })
    }

    /// The internal transfers of the scanned blocks, with their transaction's
    /// position for ordering.
    pub(super) async fn internal_transfers(
        &self,
        api: TraceApi,
        native: &ChainToken,
        blocks: &BTreeMap<u64, BlockFacts>,
        found: &mut Vec<(u64, u64, ChainTransfer)>,
    ) -> Result<(), ChainError> {
        for (number, facts) in blocks {
            let traced = match self.block_internal_transfers(api, *number).await {
                Ok(traced) => traced,
                // One block the node will not trace must not stop every
                // deposit behind it: balance reconciliation is the net.
                Err(err @ ChainError::Untraceable { .. }) => {
                    tracing::error!(chain = %self.chain.code, block = number, error = %err,
                        "a block could not be traced; its internal transfers are left to balance reconciliation");
                    continue;
                }
                Err(err) => return Err(err),
            };
            for internal in traced {
                if internal.value.is_zero() {
                    continue;
                }
                let position = facts
                    .positions
                    .get(&internal.txid)
                    .copied()
                    .unwrap_or(u64::MAX);
                found.push((
                    *number,
                    position,
                    self.internal_deposit(native, &internal, *number, facts.time_ms)?,
                ));
            }
        }
        Ok(())
    }

    /// The internal transfers to `address` in block `height`, as deposits;
    /// `None` when the node cannot say (no traces, or too many transactions
    /// to trace one by one).
    pub async fn internal_transfers_to(
        &self,
        address: &str,
        height: u64,
    ) -> Result<Option<Vec<ChainTransfer>>, ChainError> {
        let Some(native) = &self.native else {
            return Ok(None);
        };
        let to: Address = address
            .parse()
            .map_err(|_| ChainError::Config(format!("{address:?} is not an EVM address")))?;
        let api = self.node_trace_api().await?;
        if api == TraceApi::None {
            return Ok(None);
        }
        // The block's header: its time for the deposits, its transactions
        // for a node that traces them one by one.
        let block = self
            .provider
            .get_block_by_number(height.into())
            .await
            .map_err(|err| self.node_error("eth_getBlockByNumber", err))?
            .ok_or_else(|| self.node_error("eth_getBlockByNumber", format!("no block {height}")))?;
        let time_ms = block_time_ms(block.header.timestamp);
        let internal = match api {
            TraceApi::CallTracer | TraceApi::TraceBlock => {
                match self.block_internal_transfers(api, height).await {
                    Ok(traced) => traced,
                    Err(ChainError::Untraceable { .. }) => return Ok(None),
                    Err(err) => return Err(err),
                }
            }
            TraceApi::StructLogs => {
                let hashes: Vec<TxHash> = block.transactions.hashes().collect();
                if hashes.len() > TRANSACTIONS_TRACED_ONE_BY_ONE_MAX {
                    return Ok(None);
                }
                let mut all = Vec::new();
                for hash in hashes {
                    match self
                        .transaction_internal_transfers(api, &hash.to_string())
                        .await
                    {
                        Ok(traced) => all.extend(traced),
                        Err(ChainError::Untraceable { .. }) => return Ok(None),
                        Err(err) => return Err(err),
                    }
                }
                all
            }
            TraceApi::None => return Ok(None),
        };
        internal
            .iter()
            .filter(|internal| internal.to == to && !internal.value.is_zero())
            .map(|internal| self.internal_deposit(native, internal, height, time_ms))
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
    }

    /// Every transfer one mined transaction made that the gateway could
    /// credit: its own native value, its ERC-20 `Transfer` logs, and the
    /// value contracts moved inside it where the node traces (`true` then).
    pub async fn transaction_transfers(
        &self,
        txid: &str,
    ) -> Result<(Vec<ChainTransfer>, bool), ChainError> {
        let hash: TxHash = txid
            .parse()
            .map_err(|_| ChainError::Config(format!("{txid:?} is not a transaction hash")))?;
        let chain_tx = self
            .provider
            .get_transaction_by_hash(hash)
            .await
            .map_err(|err| self.node_error("eth_getTransactionByHash", err))?
            .ok_or_else(|| self.node_error("eth_getTransactionByHash", "no such transaction"))?;
        let receipt = self
            .provider
            .get_transaction_receipt(hash)
            .await
            .map_err(|err| self.node_error("eth_getTransactionReceipt", err))?
            .ok_or_else(|| self.node_error("eth_getTransactionReceipt", "not mined"))?;
        let number = receipt
            .block_number
            .ok_or_else(|| self.node_error("eth_getTransactionReceipt", "no block"))?;
        let time_ms = self.block_time_ms(number).await?;
        let mut found = Vec::new();
        if let (Some(native), Some(recipient), true) =
            (&self.native, chain_tx.to(), receipt.status())
            && !chain_tx.value().is_zero()
        {
            found.push(self.top_level_deposit(native, &chain_tx, recipient, number, time_ms)?);
        }
        let mut block_times = BTreeMap::from([(number, time_ms)]);
        for log in receipt.inner.logs().iter().filter(|log| !log.removed) {
            if let Some((_, _, transfer)) = self.token_transfer(log, &mut block_times).await? {
                found.push(transfer);
            }
        }
        let api = self.node_trace_api().await?;
        let traced = api != TraceApi::None;
        if let (Some(native), true) = (&self.native, traced) {
            for internal in self.transaction_internal_transfers(api, txid).await? {
                if !internal.value.is_zero() {
                    found.push(self.internal_deposit(native, &internal, number, time_ms)?);
                }
            }
        }
        Ok((found, traced))
    }
}
