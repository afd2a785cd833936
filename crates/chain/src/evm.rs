//! An EVM chain behind a JSON-RPC node (Ethereum, BSC, Polygon, a local
//! ganache…), through alloy: the head and the gas price from the node, native
//! transfers from blocks' transactions and ERC-20 `Transfer` logs from
//! `eth_getLogs` in bounded block ranges; payouts from the hot wallet, and
//! sweeps of deposit addresses into it (`sweeps`).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

use alloy::consensus::{SignableTransaction, Transaction as _, TxEip1559, TxEnvelope};
use alloy::eips::BlockNumberOrTag;
use alloy::eips::eip2718::{Decodable2718, Encodable2718};
use alloy::network::{TransactionBuilder, TransactionResponse as _, TxSignerSync};
use alloy::primitives::{Address, Bytes, TxHash, TxKind, U256};
use alloy::providers::{Provider, RootProvider};
use alloy::rpc::client::RpcClient;
use alloy::rpc::types::{Filter, Log, TransactionRequest};
use alloy::signers::local::PrivateKeySigner;
use alloy::sol;
use alloy::sol_types::{SolCall, SolEvent};
use alloy::transports::TransportError;
use ccgate_ledger::{Amount, Chain, Precision, Registry, Token, TokenId};
use ccgate_store::{BlockLink, ChainTransfer, PayoutInsert, PayoutStore, SignedPayout};
use secrecy::{ExposeSecret, SecretBox};

use crate::adapter::{ChainAdapter, ChainError, GasFee, PayoutState, Sent};
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
mod heads;
mod internal;
mod rpc;
mod sweeps;
mod traces;

pub use accounts::MinedTx;
pub use heads::ws_url_checked;
pub use rpc::{RPC_ANSWER_BYTES_MAX, redacted_rpc_url, rpc_http_client, rpc_url_checked};
pub use sweeps::{SweepTick, Sweeper, WaitingBalance};
pub use traces::{INTERNAL_CALL_INDEX_BASE, INTERNAL_SELFDESTRUCT_INDEX_BASE, TraceApi};

/// How long one JSON-RPC call may take when none is configured.
pub const RPC_TIMEOUT_MS_DEFAULT: u64 = 10_000;

/// Gas of a plain native transfer to an account without code.
pub const NATIVE_TRANSFER_GAS: u64 = 21_000;
/// An ERC-20 `transfer` to an account that held none of the token before
/// (the costlier case: a fresh storage slot), with a margin.
pub const TOKEN_TRANSFER_GAS_DEFAULT: u64 = 65_000;
/// How often the head is asked for when none is configured.
pub const POLL_INTERVAL_MS_DEFAULT: u64 = 1_000;
/// Blocks per `eth_getLogs` call: public nodes refuse wide ranges.
pub const LOG_RANGE_BLOCKS_DEFAULT: u64 = 500;
/// How long a gas price read from the node is used for estimates.
const GAS_PRICE_MAX_AGE_MS: i64 = 5_000;
/// How long a payout may wait in the mempool before it is signed again with
/// higher fees, when none is configured.
pub const REPLACE_AFTER_MS_DEFAULT: u64 = 180_000;
/// How many times one payout may be signed again, when none is configured:
/// each round raises its fees by an eighth (at least), so five stay under
/// twice the first fees unless the network's own price rose further.
pub const MAX_REPLACEMENTS_DEFAULT: u32 = 5;
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

/// Addresses compared with the node per reconciliation tick, when none is
/// configured.
pub const RECONCILE_ADDRESSES_PER_TICK_DEFAULT: u32 = 100;
/// How often reconciliation runs, when not configured.
pub const RECONCILE_INTERVAL_MS_DEFAULT: u64 = 30_000;
/// How long after it was made, or last credited, an address is reconciled,
/// when not configured.
pub const RECONCILE_ACTIVE_SECS_DEFAULT: u64 = 7 * 24 * 3600;

/// How the watcher sees native coin that contracts move (internal
/// transfers): `traces = "auto" | "call_tracer" | "trace_block" | "off"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TraceChoice {
    /// Whatever the node offers, asked at start.
    #[default]
    Auto,
    /// `debug_traceBlockByNumber` with `callTracer`.
    CallTracer,
    /// `trace_block`.
    TraceBlock,
    /// No block traces: balance reconciliation is the only net.
    Off,
}

/// How to reach and read one EVM chain (the `[evm.CODE]` section).
#[derive(Clone, PartialEq, Eq)]
pub struct EvmNodeConfig {
    /// The node's JSON-RPC endpoint (`http://…` or `https://…`).
    pub rpc_url: String,
    /// Its WebSocket endpoint (`ws://…` or `wss://…`), if it has one: new
    /// heads then arrive by subscription, not by polling.
    pub ws_url: Option<String>,
    /// PEM certificates trusted for an `https://` node besides the webpki
    /// roots: a private node's own CA.
    pub rpc_ca_file: Option<PathBuf>,
    /// EIP-155 chain id; payouts are signed for it and the node must agree.
    pub chain_id: u64,
    /// The head is asked for at most this often.
    pub poll_interval_ms: u64,
    /// The first block to scan when the chain has no cursor yet (a new
    /// deployment need not read the chain's whole history).
    pub start_block: u64,
    /// Gas limit of an ERC-20 payout and of its fee estimate.
    pub token_transfer_gas: u64,
    /// Blocks per `eth_getLogs` call.
    pub log_range_blocks: u64,
    /// How long one JSON-RPC call may take: a node that stops answering fails
    /// the tick (retried at the next) instead of holding the watcher, or the
    /// sandbox's gate, forever.
    pub rpc_timeout_ms: u64,
    /// A payout still without a receipt this long after it was signed is
    /// signed again: same nonce, fees raised (business time).
    pub replace_after_ms: u64,
    /// How many times one payout may be signed again; 0 never replaces (for
    /// nodes that do not honour a same-nonce replacement, e.g. ganache 7).
    pub max_replacements: u32,
    /// Per token: the smallest balance of a deposit address worth sweeping
    /// into the hot wallet, in the coin's base units; tokens absent are not
    /// swept.
    pub sweep_min: BTreeMap<TokenId, Amount>,
    /// How internal transfers are seen.
    pub traces: TraceChoice,
    /// Addresses compared with the node per reconciliation tick; 0 turns
    /// reconciliation off.
    pub reconcile_addresses_per_tick: u32,
    /// How often reconciliation runs (business time).
    pub reconcile_interval_ms: u64,
    /// Addresses made, or credited, this recently are the ones reconciled.
    pub reconcile_active_secs: u64,
}

impl EvmNodeConfig {
    /// A node at `rpc_url` for chain id `chain_id`, every other setting at
    /// its default.
    pub fn with_defaults(rpc_url: String, chain_id: u64) -> EvmNodeConfig {
        EvmNodeConfig {
            rpc_url,
            ws_url: None,
            rpc_ca_file: None,
            chain_id,
            poll_interval_ms: POLL_INTERVAL_MS_DEFAULT,
            start_block: 0,
            token_transfer_gas: TOKEN_TRANSFER_GAS_DEFAULT,
            log_range_blocks: LOG_RANGE_BLOCKS_DEFAULT,
            rpc_timeout_ms: RPC_TIMEOUT_MS_DEFAULT,
            replace_after_ms: REPLACE_AFTER_MS_DEFAULT,
            max_replacements: MAX_REPLACEMENTS_DEFAULT,
            sweep_min: BTreeMap::new(),
            traces: TraceChoice::Auto,
            reconcile_addresses_per_tick: RECONCILE_ADDRESSES_PER_TICK_DEFAULT,
            reconcile_interval_ms: RECONCILE_INTERVAL_MS_DEFAULT,
            reconcile_active_secs: RECONCILE_ACTIVE_SECS_DEFAULT,
        }
    }
}

impl std::fmt::Debug for EvmNodeConfig {
    // By hand: `rpc_url` may carry the provider's API key.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let EvmNodeConfig {
            rpc_url,
            ws_url,
            rpc_ca_file,
            chain_id,
            poll_interval_ms,
            start_block,
            token_transfer_gas,
            log_range_blocks,
            rpc_timeout_ms,
            replace_after_ms,
            max_replacements,
            sweep_min,
            traces,
            reconcile_addresses_per_tick,
            reconcile_interval_ms,
            reconcile_active_secs,
        } = self;
        f.debug_struct("EvmNodeConfig")
            .field("rpc_url", &redacted_rpc_url(rpc_url))
            .field("ws_url", &ws_url.as_deref().map(redacted_rpc_url))
            .field("rpc_ca_file", rpc_ca_file)
            .field("chain_id", chain_id)
            .field("poll_interval_ms", poll_interval_ms)
            .field("start_block", start_block)
            .field("token_transfer_gas", token_transfer_gas)
            .field("log_range_blocks", log_range_blocks)
            .field("rpc_timeout_ms", rpc_timeout_ms)
            .field("replace_after_ms", replace_after_ms)
            .field("max_replacements", max_replacements)
            .field("sweep_min", sweep_min)
            .field("traces", traces)
            .field("reconcile_addresses_per_tick", reconcile_addresses_per_tick)
            .field("reconcile_interval_ms", reconcile_interval_ms)
            .field("reconcile_active_secs", reconcile_active_secs)
            .finish()
    }
}

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

/// What signs payouts, and where signed ones are kept.
#[derive(Debug, Clone)]
pub struct HotWallet {
    signer: PrivateKeySigner,
    payouts: Arc<dyn PayoutStore>,
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
            hot_wallet,
        })
    }

    pub fn config(&self) -> &EvmNodeConfig {
        &self.config
    }

    /// The token gas is paid in, if the chain has one configured.
    pub fn native_token_id(&self) -> Option<&TokenId> {
        self.native.as_ref().map(|native| &native.token.id)
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

    /// The lowest nonce from the node's pending count up that no stored
    /// payout of the wallet holds: a payout forgotten after a refusal leaves
    /// no gap that later ones would wait behind.
    async fn free_nonce(&self, wallet: &HotWallet, from: Address) -> Result<u64, ChainError> {
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
    async fn sign_payout(
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
    async fn broadcast(
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
    async fn nonce_taken_elsewhere(
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
    async fn receipt_state(&self, txid: &str) -> Result<Option<PayoutState>, ChainError> {
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
    async fn replace_stuck_payout(
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

    /// Native transfers in blocks `from..=to`: transactions with value to an
    /// address. A value transfer to an account without code — every deposit
    /// address — cannot revert once included, so no receipt is read (the
    /// watcher ignores the others, to addresses not ours). Transfers made by
    /// contracts are `internal_transfers`', from the blocks' facts returned.
    async fn native_transfers(
        &self,
        native: &ChainToken,
        from: u64,
        to: u64,
        found: &mut Vec<(u64, u64, ChainTransfer)>,
    ) -> Result<BTreeMap<u64, internal::BlockFacts>, ChainError> {
        let mut blocks = BTreeMap::new();
        for number in from..=to {
            let block = self
                .provider
                .get_block_by_number(BlockNumberOrTag::Number(number))
                .full()
                .await
                .map_err(|err| self.node_error("eth_getBlockByNumber", err))?
                .ok_or_else(|| {
                    self.node_error("eth_getBlockByNumber", format!("no block {number}"))
                })?;
            let block_time_ms = block_time_ms(block.header.timestamp);
            blocks.insert(
                number,
                internal::BlockFacts {
                    time_ms: block_time_ms,
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
                },
            );
            for (position, chain_tx) in block.transactions.txns().enumerate() {
                let (Some(recipient), value) = (chain_tx.to(), chain_tx.value()) else {
                    continue;
                };
                if value.is_zero()
                    || self
                        .is_sweep_top_up(chain_tx.from(), chain_tx.tx_hash())
                        .await?
                {
                    continue;
                }
                found.push((
                    number,
                    u64::try_from(position).unwrap_or(u64::MAX),
                    ChainTransfer {
                        chain: self.chain.code.to_string(),
                        txid: chain_tx.tx_hash().to_string(),
                        log_index: NATIVE_TRANSFER_INDEX,
                        block_height: number,
                        block_time_ms,
                        from_address: chain_tx.from().to_checksum(None),
                        to_address: recipient.to_checksum(None),
                        memo: String::new(),
                        token_id: native.token.id.clone(),
                        amount: native.amount(value)?,
                    },
                ));
            }
        }
        Ok(blocks)
    }

    /// Whether a transaction is a sweep's gas top-up (the hot wallet paying a
    /// deposit address): value moving within custody, never a deposit. A
    /// process without the hot wallet never scans for deposits.
    async fn is_sweep_top_up(&self, from: Address, txid: TxHash) -> Result<bool, ChainError> {
        let Some(wallet) = self
            .hot_wallet
            .as_ref()
            .filter(|wallet| wallet.signer.address() == from)
        else {
            return Ok(false);
        };
        Ok(wallet
            .payouts
            .payout_by_txid(self.chain.code.as_str(), &txid.to_string())
            .await?
            .is_some_and(|payout| {
                payout
                    .payout_id
                    .starts_with(ccgate_store::TOP_UP_PAYOUT_PREFIX)
            }))
    }

    /// ERC-20 `Transfer` logs of the configured contracts in `from..=to`, one
    /// bounded `eth_getLogs` range at a time.
    async fn token_transfers(
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

    async fn token_transfer(
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
                let header = self
                    .provider
                    .get_block_by_number(BlockNumberOrTag::Number(number))
                    .await
                    .map_err(|err| self.node_error("eth_getBlockByNumber", err))?
                    .ok_or_else(|| {
                        self.node_error("eth_getBlockByNumber", format!("no block {number}"))
                    })?;
                let time = block_time_ms(header.header.timestamp);
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

/// A stored signed transaction's bytes.
fn decode_raw(txid: &str, raw_tx: &str) -> Result<Vec<u8>, ChainError> {
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
fn raised_fee(fee: u128) -> u128 {
    fee.saturating_add(fee / 8).saturating_add(1)
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

    /// Signs once per payout id (the stored transaction is the single source
    /// of truth: a re-send, by this or another instance, broadcasts the same
    /// bytes), then broadcasts. Where it lands, `payout_state` tells.
    async fn send(
        &self,
        payout_id: &str,
        to: &str,
        token: &Token,
        amount: Amount,
        now_unix_ms: i64,
    ) -> Result<Sent, ChainError> {
        let wallet = self
            .hot_wallet
            .as_ref()
            .ok_or_else(|| ChainError::Config("this process holds no hot wallet".to_owned()))?;
        let payout = match wallet
            .payouts
            .signed_payout(self.chain.code.as_str(), payout_id)
            .await?
        {
            // Signed before (by another instance, or before a crash): sent
            // again only if the node does not know it.
            Some(signed) if self.knows_txid(&signed.txid).await? => {
                return Ok(Sent {
                    txid: signed.txid,
                    block_height: None,
                });
            }
            Some(signed) => (signed, false),
            None => {
                let to: Address = to
                    .parse()
                    .map_err(|_| ChainError::SendFailed(format!("{to:?} is not an EVM address")))?;
                self.sign_payout(wallet, payout_id, to, token, amount, now_unix_ms)
                    .await?
            }
        };
        let (payout, fresh) = payout;
        self.broadcast(wallet, &payout, fresh).await?;
        Ok(Sent {
            txid: payout.txid,
            block_height: None,
        })
    }

    /// A receipt of any of the payout's transactions decides (they share
    /// one nonce: at most one is ever mined). Without one, a transaction the
    /// node does not know is broadcast again (the same stored bytes), and one
    /// waiting past `replace_after_ms` is replaced with higher fees.
    async fn payout_state(
        &self,
        payout_id: &str,
        txid: &str,
        now_unix_ms: i64,
    ) -> Result<PayoutState, ChainError> {
        let stored = match &self.hot_wallet {
            Some(wallet) => wallet
                .payouts
                .signed_payout(self.chain.code.as_str(), payout_id)
                .await?
                .map(|payout| (wallet, payout)),
            None => None,
        };
        let Some((wallet, current)) = stored else {
            return Ok(self
                .receipt_state(txid)
                .await?
                .unwrap_or_else(|| PayoutState::Pending {
                    txid: txid.to_owned(),
                }));
        };
        let replaced = wallet
            .payouts
            .replaced_payout_txids(self.chain.code.as_str(), payout_id)
            .await?;
        // Newest first: the one most likely mined.
        for candidate in std::iter::once(&current.txid).chain(replaced.iter().rev()) {
            if let Some(state) = self.receipt_state(candidate).await? {
                return Ok(state);
            }
        }
        if self.nonce_taken_elsewhere(&current, now_unix_ms).await? {
            tracing::warn!(chain = %self.chain.code, payout_id, nonce = current.nonce,
                "another transaction of the hot wallet took the payout's nonce and has the confirmations; the payout can never be mined");
            return Ok(PayoutState::Superseded { txid: current.txid });
        }
        self.broadcast_if_unknown(&current.txid, &current.raw_tx)
            .await?;
        let waited_ms = now_unix_ms.saturating_sub(current.created_at_ms);
        let txid = if current.replacements < self.config.max_replacements
            && u64::try_from(waited_ms).is_ok_and(|waited| waited >= self.config.replace_after_ms)
        {
            self.replace_stuck_payout(wallet, &current, now_unix_ms)
                .await?
        } else {
            current.txid
        };
        Ok(PayoutState::Pending { txid })
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
