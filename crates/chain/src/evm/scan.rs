//! Deposits in a range of blocks: native value from the blocks'
//! transactions, ERC-20 `Transfer` logs from `eth_getLogs` in bounded
//! ranges (value moved by contracts is `internal`'s).

use std::collections::BTreeMap;
use std::sync::Arc;

use alloy::consensus::Transaction as _;
use alloy::eips::BlockNumberOrTag;
use alloy::network::TransactionResponse as _;
use alloy::primitives::{Address, B256};
use alloy::providers::Provider;
use alloy::rpc::types::{Filter, Log, Transaction};
use alloy::sol_types::SolEvent;
use ccgate_ledger::ChainTransfer;

use super::{ChainToken, EvmChain, NATIVE_TRANSFER_INDEX, Transfer, block_time_ms, internal};
use crate::adapter::ChainError;

/// Blocks read with their transactions that are kept: a payment's block is
/// read when the payment is seen and again when it is confirmed, a few
/// blocks later.
const BLOCKS_READ_KEPT: usize = 64;

/// What a scan needs of a block read with its transactions: its hash (to
/// tell whether the node still has it), time, the transactions' positions
/// and the native transfers found, each with its position. Kept by
/// [`EvmChain`] so the scan that confirms a block the previous scans saw
/// asks the node only whether it is the same block.
#[derive(Debug)]
pub(super) struct ReadBlock {
    hash: B256,
    time_ms: i64,
    positions: BTreeMap<String, u64>,
    transfers: Vec<(u64, ChainTransfer)>,
}

impl EvmChain {
    /// A transaction's own native value to `recipient`, as a deposit of
    /// block `block_height`: keyed by its txid and [`NATIVE_TRANSFER_INDEX`].
    pub(super) fn top_level_deposit(
        &self,
        native: &ChainToken,
        chain_tx: &Transaction,
        recipient: Address,
        block_height: u64,
        block_time_ms: i64,
    ) -> Result<ChainTransfer, ChainError> {
        Ok(ChainTransfer {
            chain: self.chain.code.to_string(),
            txid: chain_tx.tx_hash().to_string(),
            log_index: NATIVE_TRANSFER_INDEX,
            block_height,
            block_time_ms,
            from_address: chain_tx.from().to_checksum(None),
            to_address: recipient.to_checksum(None),
            memo: String::new(),
            token_id: native.token.id.clone(),
            amount: native.amount(chain_tx.value())?,
        })
    }

    /// Native transfers in blocks `from..=to`: transactions with value to an
    /// address. A value transfer to an account without code — every deposit
    /// address — cannot revert once included, so no receipt is read (the
    /// watcher ignores the others, to addresses not ours). Transfers made by
    /// contracts are `internal_transfers`', from the blocks' facts returned.
    pub(super) async fn native_transfers(
        &self,
        native: &ChainToken,
        from: u64,
        to: u64,
        found: &mut Vec<(u64, u64, ChainTransfer)>,
    ) -> Result<BTreeMap<u64, internal::BlockFacts>, ChainError> {
        let mut blocks = BTreeMap::new();
        for number in from..=to {
            let read = match self.block_read_before(number).await? {
                Some(read) => read,
                None => self.read_block(native, number).await?,
            };
            blocks.insert(
                number,
                internal::BlockFacts {
                    time_ms: read.time_ms,
                    positions: read.positions.clone(),
                },
            );
            found.extend(
                read.transfers
                    .iter()
                    .map(|(position, transfer)| (number, *position, transfer.clone())),
            );
        }
        Ok(blocks)
    }

    /// Block `number` with its transactions, what a scan needs of it kept
    /// (see [`ReadBlock`]).
    async fn read_block(
        &self,
        native: &ChainToken,
        number: u64,
    ) -> Result<Arc<ReadBlock>, ChainError> {
        let block = self
            .provider
            .get_block_by_number(BlockNumberOrTag::Number(number))
            .full()
            .await
            .map_err(|err| self.node_error("eth_getBlockByNumber", err))?
            .ok_or_else(|| self.node_error("eth_getBlockByNumber", format!("no block {number}")))?;
        let time_ms = block_time_ms(block.header.timestamp);
        let mut transfers = Vec::new();
        for (position, chain_tx) in block.transactions.txns().enumerate() {
            let (Some(recipient), value) = (chain_tx.to(), chain_tx.value()) else {
                continue;
            };
            if value.is_zero() {
                continue;
            }
            transfers.push((
                u64::try_from(position).unwrap_or(u64::MAX),
                self.top_level_deposit(native, chain_tx, recipient, number, time_ms)?,
            ));
        }
        let read = Arc::new(ReadBlock {
            hash: block.header.hash,
            time_ms,
            positions: block
                .transactions
                .hashes()
                .enumerate()
                .map(|(position, txid)| {
                    (
                        txid.to_string(),
                        u64::try_from(position).unwrap_or(u64::MAX),
                    )
                })
                .collect(),
            transfers,
        });
        let mut kept = self.blocks_read.lock().unwrap_or_else(|p| p.into_inner());
        kept.insert(number, Arc::clone(&read));
        while kept.len() > BLOCKS_READ_KEPT {
            kept.pop_first();
        }
        Ok(read)
    }

    /// Block `number` as read with its transactions before, if the node's
    /// block at that height is still the same one: asked by its header, a
    /// fraction of the block (1 000 transfers read again took most of a scan
    /// that confirmed them, issue #16 §3). A replaced block is read anew.
    async fn block_read_before(&self, number: u64) -> Result<Option<Arc<ReadBlock>>, ChainError> {
        let kept = self
            .blocks_read
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&number)
            .cloned();
        let Some(kept) = kept else {
            return Ok(None);
        };
        let header = self
            .provider
            .get_block_by_number(BlockNumberOrTag::Number(number))
            .await
            .map_err(|err| self.node_error("eth_getBlockByNumber", err))?;
        Ok(header
            .is_some_and(|block| block.header.hash == kept.hash)
            .then_some(kept))
    }

    /// ERC-20 `Transfer` logs of the configured contracts in `from..=to`, one
    /// bounded `eth_getLogs` range at a time.
    pub(super) async fn token_transfers(
        &self,
        from: u64,
        to: u64,
        found: &mut Vec<(u64, u64, ChainTransfer)>,
    ) -> Result<(), ChainError> {
        if self.erc20.is_empty() {
            return Ok(());
        }
        let contracts: Vec<Address> = self.erc20.keys().copied().collect();
        let step = self.config.log_range_blocks.max(1);
        let mut start = from;
        while start <= to {
            let end = to.min(start.saturating_add(step - 1));
            let filter = Filter::new()
                .address(contracts.clone())
                .event_signature(Transfer::SIGNATURE_HASH)
                .from_block(start)
                .to_block(end);
            let logs = self
                .provider
                .get_logs(&filter)
                .await
                .map_err(|err| self.node_error("eth_getLogs", err))?;
            let mut block_times = BTreeMap::new();
            for log in logs.iter().filter(|log| !log.removed) {
                if let Some(found_transfer) = self.token_transfer(log, &mut block_times).await? {
                    found.push(found_transfer);
                }
            }
            let Some(next) = end.checked_add(1) else {
                break;
            };
            start = next;
        }
        Ok(())
    }

    pub(super) async fn token_transfer(
        &self,
        log: &Log,
        block_times: &mut BTreeMap<u64, i64>,
    ) -> Result<Option<(u64, u64, ChainTransfer)>, ChainError> {
        let Some(token) = self.erc20.get(&log.address()) else {
            return Ok(None);
        };
        // A contract may emit a `Transfer` with another indexing; not a
        // standard transfer, not a payment.
        let Ok(decoded) = log.log_decode::<Transfer>() else {
            return Ok(None);
        };
        let (Some(number), Some(txid), Some(log_index)) =
            (log.block_number, log.transaction_hash, log.log_index)
        else {
            return Err(self.node_error("eth_getLogs", "a mined log without its position"));
        };
        let block_time_ms = match (log.block_timestamp, block_times.get(&number)) {
            (Some(seconds), _) => block_time_ms(seconds),
            (None, Some(known)) => *known,
            (None, None) => {
                let time = self.block_time_ms(number).await?;
                block_times.insert(number, time);
                time
            }
        };
        let event = decoded.inner.data;
        Ok(Some((
            number,
            log.transaction_index.unwrap_or(0),
            ChainTransfer {
                chain: self.chain.code.to_string(),
                txid: txid.to_string(),
                log_index: u32::try_from(log_index)
                    .ok()
                    .filter(|index| *index != NATIVE_TRANSFER_INDEX)
                    .ok_or_else(|| self.node_error("eth_getLogs", "log index out of range"))?,
                block_height: number,
                block_time_ms,
                from_address: event.from.to_checksum(None),
                to_address: event.to.to_checksum(None),
                memo: String::new(),
                token_id: token.token.id.clone(),
                amount: token.amount(event.value)?,
            },
        )))
    }
}
