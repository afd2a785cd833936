//! An EVM chain behind a JSON-RPC node (Ethereum, BSC, Polygon, a local
//! ganache…), through alloy. This file holds the adapter and what the
//! watcher asks of it; the rest is one concern a file: `config` (the
//! `[evm.CODE]` section), `scan` (deposits in a block range), `internal` and
//! `traces` (value moved by contracts), `heads` (following new blocks),
//! `payouts` (the hot wallet's transactions), `sweeps` (deposit addresses'
//! into it), `accounts` (one account or receipt, for reconciliation) and
//! `rpc` (the transport). Nothing here is kept: `engine::payouts` and
//! `engine::sweeps` store what is signed before it is broadcast, and tell
//! the sweeps' gas top-ups (which `transfers` returns like any native
//! transfer) from deposits.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, OnceLock};

use alloy::eips::BlockNumberOrTag;
use alloy::primitives::{Address, U256};
use alloy::providers::{Provider, RootProvider};
use alloy::rpc::client::RpcClient;
use alloy::sol;
use alloy::transports::TransportError;
use ccgate_ledger::{Amount, BlockLink, Chain, ChainTransfer, Precision, Registry, Token, TokenId};

use crate::adapter::{ChainAdapter, ChainError, GasFee};
use rpc::RpcHttp;

sol! {
    /// The ERC-20 event every token transfer emits.
    event Transfer(address indexed from, address indexed to, uint256 value);
    /// The ERC-20 call a payout makes.
    function transfer(address to, uint256 value) external returns (bool);
    /// What a deposit address holds of a token, before sweeping it.
    function balanceOf(address owner) external view returns (uint256);
}

mod accounts;
mod config;
mod heads;
mod internal;
mod payouts;
mod rpc;
mod scan;
mod sweeps;
mod traces;

pub use accounts::MinedTx;
pub use config::{
    EvmNodeConfig, LOG_RANGE_BLOCKS_DEFAULT, MAX_REPLACEMENTS_DEFAULT, NATIVE_TRANSFER_GAS,
    POLL_INTERVAL_MS_DEFAULT, RECONCILE_ACTIVE_SECS_DEFAULT, RECONCILE_ADDRESSES_PER_TICK_DEFAULT,
    RECONCILE_INTERVAL_MS_DEFAULT, REPLACE_AFTER_MS_DEFAULT, RPC_TIMEOUT_MS_DEFAULT,
    TOKEN_TRANSFER_GAS_DEFAULT, TraceChoice,
};
pub use heads::{NewHeads, ws_url_checked};
pub use payouts::{HotWallet, PayoutDraft, Replacement, SignedTx};
pub use rpc::{RPC_ANSWER_BYTES_MAX, redacted_rpc_url, rpc_http_client, rpc_url_checked};
pub use sweeps::{DepositSigner, SweepDraft};
pub use traces::{INTERNAL_CALL_INDEX_BASE, INTERNAL_SELFDESTRUCT_INDEX_BASE, TraceApi};

/// How long a gas price read from the node is used for estimates.
const GAS_PRICE_MAX_AGE_MS: i64 = 5_000;

/// The log index a native (value) transfer is keyed by: a transaction carries at
/// most one, and no log of a real block reaches this index, so it never meets
/// an ERC-20 transfer's key in the same transaction.
pub const NATIVE_TRANSFER_INDEX: u32 = u32::MAX;

/// The log index of a surplus that balance reconciliation credited without
/// finding its transaction (its txid starts with [`UNKNOWN_TXID_PREFIX`]).
pub const BALANCE_SURPLUS_INDEX: u32 = u32::MAX - 1;
/// How the txid of such a surplus starts: `unknown:<from>-<to>:<address>`,
/// the blocks it appeared in.
pub const UNKNOWN_TXID_PREFIX: &str = "unknown:";

/// A token of this chain as the adapter reads it: its registry entry and the
/// places between the chain's units and the coin's base units.
#[derive(Debug, Clone)]
struct ChainToken {
    token: Token,
    coin_precision: Precision,
}

impl ChainToken {
    /// Chain units (the token's decimals) → the coin's base units.
    fn amount(&self, units: U256) -> Result<Amount, ChainError> {
        let units = u128::try_from(units).map_err(|_| ChainError::AmountOverflow)?;
        Amount::from_base_units(units)
            .rescale(self.token.precision, self.coin_precision)
            .map_err(|_| ChainError::AmountOverflow)
    }

    /// The coin's base units → chain units; refused unless exact (a payout
    /// never rounds).
    fn chain_units(&self, amount: Amount) -> Result<U256, ChainError> {
        let places = self
            .coin_precision
            .get()
            .checked_sub(self.token.precision.get())
            .ok_or(ChainError::AmountOverflow)?;
        let factor = 10u128
            .checked_pow(u32::from(places))
            .ok_or(ChainError::AmountOverflow)?;
        let units = amount.base_units();
        if !units.is_multiple_of(factor) {
            return Err(ChainError::SendFailed(format!(
                "{units} base units are not a whole number of {}'s chain units",
                self.token.id
            )));
        }
        Ok(U256::from(units / factor))
    }
}

/// What the node last said, kept so the watcher's frequent ticks do not all
/// reach the node.
#[derive(Debug, Clone, Copy, Default)]
struct NodeView {
    /// (height, when it was read).
    head: Option<(u64, i64)>,
    /// (max fee per gas in wei, when it was read).
    max_fee_per_gas: Option<(u128, i64)>,
}

#[derive(Debug)]
pub struct EvmChain {
    chain: Chain,
    config: EvmNodeConfig,
    provider: RootProvider,
    native: Option<ChainToken>,
    erc20: BTreeMap<Address, ChainToken>,
    view: Mutex<NodeView>,
    /// What the node offers to trace, once asked.
    trace_api: OnceLock<TraceApi>,
    /// The latest blocks read with their transactions, by height.
    blocks_read: Mutex<BTreeMap<u64, Arc<scan::ReadBlock>>>,
    /// `None` in processes that never pay out (the CLI).
    hot_wallet: Option<HotWallet>,
}

impl EvmChain {
    /// The adapter of `chain`, with its tokens from the registry: the one
    /// whose contract is not an address (e.g. `ETH`) is the native coin, the
    /// others are ERC-20 contracts. Does not reach the node yet.
    pub fn new(
        chain: Chain,
        config: EvmNodeConfig,
        registry: &Registry,
        hot_wallet: Option<HotWallet>,
    ) -> Result<EvmChain, ChainError> {
        let transport = RpcHttp::new(
            &config.rpc_url,
            config.rpc_timeout_ms,
            config.rpc_ca_file.as_deref(),
        )?;
        let mut native = None;
        let mut erc20 = BTreeMap::new();
        for coin in registry.coins() {
            for token in coin.tokens.iter().filter(|t| t.chain == chain.code) {
                let entry = ChainToken {
                    token: token.clone(),
                    coin_precision: coin.precision,
                };
                match token.contract.parse::<Address>() {
                    Ok(contract) => {
                        erc20.insert(contract, entry);
                    }
                    Err(_) if native.is_none() => native = Some(entry),
                    Err(_) => {
                        return Err(ChainError::Config(format!(
                            "chain {}: tokens {} and {} both look native (a contract that is not an address)",
                            chain.code,
                            native
                                .as_ref()
                                .map_or("", |n: &ChainToken| n.token.id.as_str()),
                            token.id
                        )));
                    }
                }
            }
        }
        Ok(EvmChain {
            chain,
            provider: RootProvider::new(RpcClient::new(transport, false)),
            config,
            native,
            erc20,
            view: Mutex::new(NodeView::default()),
            trace_api: OnceLock::new(),
            blocks_read: Mutex::new(BTreeMap::new()),
            hot_wallet,
        })
    }

    pub fn config(&self) -> &EvmNodeConfig {
        &self.config
    }

    /// The token gas is paid in, if the chain has one configured.
    pub fn native_token_id(&self) -> Option<&TokenId> {
        self.native_token().map(|token| &token.id)
    }

    /// The chain's native coin (gas), if one is configured.
    pub fn native_token(&self) -> Option<&Token> {
        self.native.as_ref().map(|native| &native.token)
    }

    /// A refusal by the node (a JSON-RPC error answer) is the chain's word on
    /// this transaction; anything else (no connection, a timeout) is the node's
    /// trouble, retried later.
    fn refusal_or_node_error(&self, what: &str, err: TransportError) -> Result<String, ChainError> {
        match err.as_error_resp() {
            Some(payload) => Ok(payload.message.to_string()),
            None => Err(self.node_error(what, err)),
        }
    }

    fn token_of(&self, token: &Token) -> Result<(&ChainToken, Option<Address>), ChainError> {
        self.token_of_id(&token.id)
    }

    fn token_of_id(
        &self,
        token_id: &TokenId,
    ) -> Result<(&ChainToken, Option<Address>), ChainError> {
        if let Some(native) = self.native.as_ref().filter(|n| &n.token.id == token_id) {
            return Ok((native, None));
        }
        self.erc20
            .iter()
            .find(|(_, entry)| &entry.token.id == token_id)
            .map(|(contract, entry)| (entry, Some(*contract)))
            .ok_or_else(|| {
                ChainError::Config(format!(
                    "token {token_id} is not on chain {}",
                    self.chain.code
                ))
            })
    }

    fn node_error(&self, what: &str, err: impl std::fmt::Display) -> ChainError {
        ChainError::Node {
            chain: self.chain.code.to_string(),
            detail: format!("{what}: {err}"),
        }
    }

    fn view(&self) -> NodeView {
        // A poisoned lock only means another tick panicked mid-update of
        // plain numbers; they are still a valid (older) view.
        *self
            .view
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }

    fn update_view(&self, update: impl FnOnce(&mut NodeView)) {
        update(
            &mut self
                .view
                .lock()
                .unwrap_or_else(|poison| poison.into_inner()),
        );
    }

    /// Keeps a head just read (by the watcher's own poll, or the head
    /// follower) and refreshes the gas price alongside when it is stale.
    pub(crate) async fn observe_head(
        &self,
        height: u64,
        now_unix_ms: i64,
    ) -> Result<(), ChainError> {
        let gas_stale = self
            .view()
            .max_fee_per_gas
            .is_none_or(|(_, read_at)| now_unix_ms.saturating_sub(read_at) >= GAS_PRICE_MAX_AGE_MS);
        // The head first: a failing gas read must not hide a new block.
        self.update_view(|view| view.head = Some((height, now_unix_ms)));
        if gas_stale {
            let fee = self.read_max_fee_per_gas().await?;
            self.update_view(|view| view.max_fee_per_gas = Some((fee, now_unix_ms)));
        }
        Ok(())
    }

    /// The node's chain id, to check it is the configured one.
    pub async fn node_chain_id(&self) -> Result<u64, ChainError> {
        self.provider
            .get_chain_id()
            .await
            .map_err(|err| self.node_error("eth_chainId", err))
    }

    /// EIP-1559 max fee per gas: twice the latest base fee (room for six
    /// full blocks of growth) plus the node's suggested tip.
    async fn read_max_fee_per_gas(&self) -> Result<u128, ChainError> {
        let latest = self
            .provider
            .get_block_by_number(BlockNumberOrTag::Latest)
            .await
            .map_err(|err| self.node_error("eth_getBlockByNumber(latest)", err))?
            .ok_or_else(|| self.node_error("eth_getBlockByNumber(latest)", "no block"))?;
        let base_fee = u128::from(latest.header.base_fee_per_gas.unwrap_or(0));
        let tip = self
            .provider
            .get_max_priority_fee_per_gas()
            .await
            .map_err(|err| self.node_error("eth_maxPriorityFeePerGas", err))?;
        base_fee
            .checked_mul(2)
            .and_then(|fee| fee.checked_add(tip))
            .ok_or(ChainError::AmountOverflow)
    }
}

fn block_time_ms(timestamp_secs: u64) -> i64 {
    i64::try_from(timestamp_secs)
        .unwrap_or(i64::MAX)
        .saturating_mul(1000)
}

#[async_trait::async_trait]
impl ChainAdapter for EvmChain {
    fn chain(&self) -> &Chain {
        &self.chain
    }

    fn first_block(&self) -> u64 {
        self.config.start_block
    }

    fn reorgs_possible(&self) -> bool {
        true
    }

    async fn block_link(&self, height: u64) -> Result<Option<BlockLink>, ChainError> {
        let block = self
            .provider
            .get_block_by_number(BlockNumberOrTag::Number(height))
            .await
            .map_err(|err| self.node_error("eth_getBlockByNumber", err))?;
        Ok(block.map(|block| BlockLink {
            height,
            hash: block.header.hash.to_string(),
            parent_hash: block.header.parent_hash.to_string(),
        }))
    }

    /// The node's head, asked for at most once per poll interval; the gas
    /// price for estimates is refreshed alongside, less often.
    async fn height(&self, now_unix_ms: i64) -> Result<u64, ChainError> {
        let poll_ms = i64::try_from(self.config.poll_interval_ms).unwrap_or(i64::MAX);
        let view = self.view();
        if let Some((height, read_at)) = view.head
            && now_unix_ms.saturating_sub(read_at) < poll_ms
            && now_unix_ms >= read_at
        {
            return Ok(height);
        }
        let height = self
            .provider
            .get_block_number()
            .await
            .map_err(|err| self.node_error("eth_blockNumber", err))?;
        self.observe_head(height, now_unix_ms).await?;
        Ok(height)
    }

    async fn transfers(
        &self,
        from_height: u64,
        to_height: u64,
    ) -> Result<Vec<ChainTransfer>, ChainError> {
        let mut found = Vec::new();
        if let Some(native) = &self.native {
            let blocks = self
                .native_transfers(native, from_height, to_height, &mut found)
                .await?;
            if let Some(api) = self.block_trace_api().await? {
                self.internal_transfers(api, native, &blocks, &mut found)
                    .await?;
            }
        }
        self.token_transfers(from_height, to_height, &mut found)
            .await?;
        // Block order, then the order inside the block (native transfers
        // before their transaction's logs).
        found.sort_by_key(|(block, position, transfer)| {
            (*block, *position, transfer.log_index.wrapping_add(1))
        });
        Ok(found.into_iter().map(|(_, _, transfer)| transfer).collect())
    }

    /// An ERC-20 payout's gas (`token_transfer_gas` at the node's current
    /// max fee), in the native coin; `None` for the native coin itself, or
    /// before the node was first asked, or without a native coin configured.
    fn gas_fee(&self, token: &Token) -> Option<GasFee> {
        let native = self.native.as_ref()?;
        if native.token.id == token.id {
            return None;
        }
        let (max_fee_per_gas, _) = self.view().max_fee_per_gas?;
        let wei = U256::from(max_fee_per_gas) * U256::from(self.config.token_transfer_gas);
        Some(GasFee {
            coin_id: native.token.coin_id.clone(),
            coin_precision: native.coin_precision,
            amount: native.amount(wei).ok()?,
        })
    }

    /// Native: the gas of a transfer at the node's current max fee. ERC-20
    /// (see `gas_fee`), and until the node was first asked: the configured fee.
    fn fee_estimate(&self, token: &Token) -> Amount {
        let Some((max_fee_per_gas, _)) = self.view().max_fee_per_gas else {
            return token.network_fee;
        };
        match &self.native {
            Some(native) if native.token.id == token.id => {
                let wei = U256::from(max_fee_per_gas) * U256::from(NATIVE_TRANSFER_GAS);
                native.amount(wei).unwrap_or(token.network_fee)
            }
            _ => token.network_fee,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use ccgate_ledger::{AssetStatus, ChainCode, CoinId, TokenId};

    use super::*;

    fn token(token_places: u8, coin_places: u8) -> ChainToken {
        ChainToken {
            token: Token {
                id: TokenId::new("t"),
                coin_id: CoinId::new("c"),
                symbol: "USDT".into(),
                chain: ChainCode::new("ETH".to_owned()),
                network: "ERC20".into(),
                contract: "0xdAC17F958D2ee523a2206206994597C13D831ec7".into(),
                precision: Precision::new(token_places).unwrap(),
                memo_supported: false,
                status: AssetStatus::Normal,
                logo: String::new(),
                network_fee: Amount::ZERO,
            },
            coin_precision: Precision::new(coin_places).unwrap(),
        }
    }

    #[test]
    fn chain_units_become_the_coins_base_units_exactly_or_not_at_all() {
        let usdt = token(6, 8);
        assert_eq!(
            usdt.amount(U256::from(1_500_000u64)).unwrap(),
            Amount::from_base_units(150_000_000)
        );
        assert!(matches!(
            usdt.amount(U256::from(u128::MAX) + U256::from(1u8)),
            Err(ChainError::AmountOverflow)
        ));
        assert!(matches!(
            token(6, 6).amount(U256::MAX),
            Err(ChainError::AmountOverflow)
        ));
        // Scaling up past u128 is an error too, never a wrapped number.
        assert!(matches!(
            usdt.amount(U256::from(u128::MAX)),
            Err(ChainError::AmountOverflow)
        ));
    }

    #[test]
    fn payouts_are_whole_chain_units() {
        let usdt = token(6, 8);
        assert_eq!(
            usdt.chain_units(Amount::from_base_units(150_000_000))
                .unwrap(),
            U256::from(1_500_000u64)
        );
        assert!(matches!(
            usdt.chain_units(Amount::from_base_units(150_000_001)),
            Err(ChainError::SendFailed(_))
        ));
        assert_eq!(
            token(18, 18)
                .chain_units(Amount::from_base_units(u128::MAX))
                .unwrap(),
            U256::from(u128::MAX)
        );
    }
}
