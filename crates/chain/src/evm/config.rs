//! How to reach and read one EVM chain: the `[evm.CODE]` section as the
//! adapter takes it, and the defaults of every setting.

use std::collections::BTreeMap;
use std::path::PathBuf;

use ccgate_ledger::{Amount, TokenId};

use super::redacted_rpc_url;

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
/// How long a payout may wait in the mempool before it is signed again with
/// higher fees, when none is configured.
pub const REPLACE_AFTER_MS_DEFAULT: u64 = 180_000;
/// How many times one payout may be signed again, when none is configured:
/// each round raises its fees by an eighth (at least), so five stay under
/// twice the first fees unless the network's own price rose further.
pub const MAX_REPLACEMENTS_DEFAULT: u32 = 5;

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
