//! Native coin moved by contracts (internal transactions), read from a node's
//! tracers. Three tracers answer in three shapes; whichever one a node offers,
//! the same transaction must give the same transfers under the same keys, so
//! that a deposit is credited once whichever node (or tracer) saw it.
//!
//! What the nodes the tests run offer (probed by `detect_trace_api`):
//! anvil 1.7.1 serves `debug_traceBlockByNumber` with `callTracer` and
//! `trace_block`; ganache 7.9.2 and hardhat 2.29.1 only the default struct
//! logger of `debug_traceTransaction`.

use std::collections::BTreeMap;

use alloy::primitives::{Address, B256, U256};
use alloy::providers::Provider;
use serde_json::{Value, json};

use super::EvmChain;
use crate::adapter::ChainError;

/// First index of an internal `CALL` transfer. Log indexes of real blocks stay
/// far below, and `u32::MAX` is the top-level transfer's
/// (`NATIVE_TRANSFER_INDEX`), so the key (chain, txid, index) never collides.
pub const INTERNAL_CALL_INDEX_BASE: u32 = 0x8000_0000;
/// First index of a `SELFDESTRUCT` transfer: its own range, so a tracer that
/// cannot see self-destructs (struct logs) still numbers the calls the same.
pub const INTERNAL_SELFDESTRUCT_INDEX_BASE: u32 = 0xC000_0000;
/// Ordinals per kind: each range is 2^30 wide, less the last index, which
/// is the top-level transfer's.
pub const INTERNAL_ORDINAL_LIMIT: u32 = (1 << 30) - 1;

/// What a node offers to see value moved by contracts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TraceApi {
    /// `debug_traceBlockByNumber` / `debug_traceTransaction` with
    /// `{"tracer": "callTracer"}` (geth, anvil, reth, erigon).
    CallTracer,
    /// `trace_block` / `trace_transaction` (Parity style: erigon, reth, nethermind, anvil).
    TraceBlock,
    /// Only `debug_traceTransaction` with the default struct logger (ganache,
    /// hardhat): one call per transaction, and self-destructs are not seen.
    StructLogs,
    None,
}

/// The two kinds of frame that move value to an address of the caller's choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InternalKind {
    Call,
    SelfDestruct,
}

/// Native coin moved inside a transaction by a contract, and taking effect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InternalTransfer {
    /// 0x-hex, lower-case.
    pub txid: String,
    /// Unique within the transaction and the same whichever tracer produced
    /// it: see [`internal_transfer_index`].
    pub index: u32,
    pub from: Address,
    pub to: Address,
    pub value: U256,
}

/// A trace the parsers could not read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct TraceError(String);

fn bad(what: impl Into<String>) -> TraceError {
    TraceError(what.into())
}

/// The key index of the `ordinal`-th (from 0, in the order the frames were
/// started, among the effective frames of that kind in the transaction)
/// internal transfer of `kind`.
pub fn internal_transfer_index(kind: InternalKind, ordinal: u32) -> Result<u32, TraceError> {
    if ordinal >= INTERNAL_ORDINAL_LIMIT {
        return Err(bad(format!(
            "more than {INTERNAL_ORDINAL_LIMIT} internal transfers in one transaction"
        )));
    }
    Ok(match kind {
        InternalKind::Call => INTERNAL_CALL_INDEX_BASE + ordinal,
        InternalKind::SelfDestruct => INTERNAL_SELFDESTRUCT_INDEX_BASE + ordinal,
    })
}

/// Numbers one transaction's effective transfers, fed in pre-order.
struct Numbering {
    txid: String,
    calls: u32,
    selfdestructs: u32,
    out: Vec<InternalTransfer>,
}

impl Numbering {
    fn new(txid: &str) -> Numbering {
        Numbering {
            txid: txid.to_ascii_lowercase(),
            calls: 0,
            selfdestructs: 0,
            out: Vec::new(),
        }
    }

    fn push(
        &mut self,
        kind: InternalKind,
        from: Address,
        to: Address,
        value: U256,
    ) -> Result<(), TraceError> {
        let ordinal = match kind {
            InternalKind::Call => &mut self.calls,
            InternalKind::SelfDestruct => &mut self.selfdestructs,
        };
        let index = internal_transfer_index(kind, *ordinal)?;
        *ordinal += 1;
        self.out.push(InternalTransfer {
            txid: self.txid.clone(),
            index,
            from,
            to,
            value,
        });
        Ok(())
    }
}

/// A quantity as the nodes write it: `0x3e8` (geth, anvil) or 64 hex digits
/// without `0x` (ganache and hardhat struct-log stacks).
fn quantity(text: &str) -> Result<U256, TraceError> {
    let digits = text.strip_prefix("0x").unwrap_or(text);
    if digits.is_empty() {
        return Ok(U256::ZERO);
    }
    U256::from_str_radix(digits, 16).map_err(|err| bad(format!("quantity {text:?}: {err}")))
}

fn quantity_field(object: &Value, field: &str) -> Result<U256, TraceError> {
    match object.get(field) {
        None | Some(Value::Null) => Ok(U256::ZERO),
        Some(Value::String(text)) => quantity(text),
        Some(other) => Err(bad(format!("{field} is not a hex string: {other}"))),
    }
}

fn address_field(object: &Value, field: &str) -> Result<Address, TraceError> {
    object
        .get(field)
        .and_then(Value::as_str)
        .ok_or_else(|| bad(format!("no {field} address")))?
        .parse()
        .map_err(|err| bad(format!("{field}: {err}")))
}

/// A stack word holding an address: its low 20 bytes.
fn word_address(word: U256) -> Address {
    Address::from_word(B256::from(word))
}

/// callTracer and Parity traces mark a failed frame with a non-empty `error`.
fn has_error(object: &Value) -> bool {
    match object.get("error") {
        None | Some(Value::Null) => false,
        Some(Value::String(text)) => !text.is_empty(),
        Some(_) => true,
    }
}

/// One transaction's `callTracer` result: `{type, from, to, value, error?, calls: [...]}`.
pub fn from_call_tracer(txid: &str, trace: &Value) -> Result<Vec<InternalTransfer>, TraceError> {
    let mut numbering = Numbering::new(txid);
    // Explicit stack instead of recursion: calls nest up to 1024 deep.
    // (frame, whether every ancestor took effect, whether it is the transaction)
    let mut pending = vec![(trace, true, true)];
    while let Some((frame, ancestors_ok, top)) = pending.pop() {
        if !frame.is_object() {
            return Err(bad(format!("a callTracer frame is not an object: {frame}")));
        }
        let effective = ancestors_ok && !has_error(frame);
        if !effective {
            // Nothing under a failed frame takes effect either.
            continue;
        }
        let kind = match frame.get("type").and_then(Value::as_str) {
            Some(kind) if kind.eq_ignore_ascii_case("CALL") => Some(InternalKind::Call),
            Some(kind) if kind.eq_ignore_ascii_case("SELFDESTRUCT") => {
                Some(InternalKind::SelfDestruct)
            }
            Some(_) => None,
            None => return Err(bad("a callTracer frame without type")),
        };
        if let Some(kind) = kind.filter(|_| !top) {
            let value = quantity_field(frame, "value")?;
            if !value.is_zero() {
                numbering.push(
                    kind,
                    address_field(frame, "from")?,
                    address_field(frame, "to")?,
                    value,
                )?;
            }
        }
        match frame.get("calls") {
            None | Some(Value::Null) => {}
            Some(Value::Array(calls)) => {
                // Reversed, so the first call is taken next: pre-order.
                pending.extend(calls.iter().rev().map(|call| (call, true, false)));
            }
            Some(other) => return Err(bad(format!("calls is not an array: {other}"))),
        }
    }
    Ok(numbering.out)
}

/// A whole block's `debug_traceBlockByNumber` answer with `callTracer`:
/// `[{txHash, result}]`. Older geth answers `[{result}]` without `txHash`; the
/// block's transaction hashes (`txids`, in block order) pair with them then.
pub fn from_call_tracer_block(
    traces: &Value,
    txids: Option<&[String]>,
) -> Result<Vec<InternalTransfer>, TraceError> {
    let entries = traces
        .as_array()
        .ok_or_else(|| bad("debug_traceBlockByNumber answered no array"))?;
    if let Some(txids) = txids.filter(|txids| txids.len() != entries.len()) {
        return Err(bad(format!(
            "{} traces for {} transactions",
            entries.len(),
            txids.len()
        )));
    }
    let mut out = Vec::new();
    for (position, entry) in entries.iter().enumerate() {
        let txid = match (entry.get("txHash").and_then(Value::as_str), txids) {
            (Some(txid), _) => txid,
            (None, Some(txids)) => txids[position].as_str(),
            (None, None) => return Err(bad("a trace without txHash")),
        };
        if let Some(error) = entry.get("error") {
            // A transaction the node could not trace is unknown, not empty.
            return Err(bad(format!("tracing {txid} failed: {error}")));
        }
        let result = entry
            .get("result")
            .ok_or_else(|| bad(format!("no trace result for {txid}")))?;
        out.extend(from_call_tracer(txid, result)?);
    }
    Ok(out)
}

/// Parity-style traces (`trace_block` of a block, or `trace_transaction`),
/// in the order their transactions first appear.
pub fn from_parity_traces(traces: &Value) -> Result<Vec<InternalTransfer>, TraceError> {
    let traces = traces
        .as_array()
        .ok_or_else(|| bad("Parity traces are not an array"))?;
    let mut order: Vec<&str> = Vec::new();
    let mut by_tx: BTreeMap<&str, Vec<(Vec<u64>, &Value)>> = BTreeMap::new();
    for trace in traces {
        // Block and uncle rewards belong to no transaction.
        let Some(txid) = trace.get("transactionHash").and_then(Value::as_str) else {
            continue;
        };
        let address = trace
            .get("traceAddress")
            .and_then(Value::as_array)
            .ok_or_else(|| bad(format!("a trace of {txid} without traceAddress")))?
            .iter()
            .map(|step| {
                step.as_u64()
                    .ok_or_else(|| bad("traceAddress is not numbers"))
            })
            .collect::<Result<Vec<u64>, TraceError>>()?;
        by_tx
            .entry(txid)
            .or_insert_with(|| {
                order.push(txid);
                Vec::new()
            })
            .push((address, trace));
    }
    let mut out = Vec::new();
    for txid in order {
        let Some(mut frames) = by_tx.remove(txid) else {
            continue;
        };
        // Lexicographic order of traceAddress is pre-order (a prefix sorts
        // first); nodes list them so already, stable sort keeps that.
        frames.sort_by(|a, b| a.0.cmp(&b.0));
        let failed: Vec<&[u64]> = frames
            .iter()
            .filter(|(_, trace)| has_error(trace))
            .map(|(address, _)| address.as_slice())
            .collect();
        let mut numbering = Numbering::new(txid);
        for (address, trace) in &frames {
            if address.is_empty() || failed.iter().any(|f| address.starts_with(f)) {
                continue;
            }
            let action = trace
                .get("action")
                .ok_or_else(|| bad(format!("a trace of {txid} without action")))?;
            match trace.get("type").and_then(Value::as_str) {
                Some("call") if action.get("callType").and_then(Value::as_str) == Some("call") => {
                    let value = quantity_field(action, "value")?;
                    if !value.is_zero() {
                        numbering.push(
                            InternalKind::Call,
                            address_field(action, "from")?,
                            address_field(action, "to")?,
                            value,
                        )?;
                    }
                }
                Some("suicide" | "selfdestruct") => {
                    let value = quantity_field(action, "balance")?;
                    if !value.is_zero() {
                        numbering.push(
                            InternalKind::SelfDestruct,
                            address_field(action, "address")?,
                            address_field(action, "refundAddress")?,
                            value,
                        )?;
                    }
                }
                _ => {}
            }
        }
        out.extend(numbering.out);
    }
    Ok(out)
}

/// A transfer seen in struct logs, waiting for its frame and every ancestor
/// to return successfully. `from` is unknown inside a constructor until the
/// CREATE returns the new contract's address.
struct Pending {
    from: Option<Address>,
    to: Address,
    value: U256,
}

/// A call started by a frame, waiting for the success flag.
struct Outstanding {
    transfer: Option<Pending>,
    /// The address the callee's code runs as (`None`: a contract being created).
    callee: Option<Address>,
    creates: bool,
}

struct Frame {
    address: Option<Address>,
    /// Effective if this frame and its ancestors succeed, in pre-order.
    transfers: Vec<Pending>,
    outstanding: Option<Outstanding>,
}

impl Frame {
    fn new(address: Option<Address>) -> Frame {
        Frame {
            address,
            transfers: Vec::new(),
            outstanding: None,
        }
    }

    /// The outstanding call returned: `flag` is the word its caller found on
    /// top of the stack (0 on failure; for CREATE, the new address).
    fn resolve(&mut self, flag: U256, child: Option<Frame>) {
        let Some(call) = self.outstanding.take() else {
            return;
        };
        if flag.is_zero() {
            return;
        }
        self.transfers.extend(call.transfer);
        if let Some(child) = child {
            let created = call.creates.then(|| word_address(flag));
            self.transfers
                .extend(child.transfers.into_iter().map(|mut transfer| {
                    transfer.from = transfer.from.or(created);
                    transfer
                }));
        }
    }
}

fn stack_word(log: &Value, from_top: usize) -> Result<U256, TraceError> {
    let stack = log
        .get("stack")
        .and_then(Value::as_array)
        .ok_or_else(|| bad("a struct log without stack (disableStack?)"))?;
    let word = stack
        .len()
        .checked_sub(from_top + 1)
        .and_then(|at| stack.get(at))
        .ok_or_else(|| {
            bad(format!(
                "a struct log's stack is shorter than {}",
                from_top + 1
            ))
        })?;
    quantity(
        word.as_str()
            .ok_or_else(|| bad("a stack word is not a string"))?,
    )
}

/// A default-tracer `debug_traceTransaction` result: `{failed, gas,
/// returnValue, structLogs: [{op, depth, stack}]}`. `contract` is the address
/// the transaction's code runs as: its `to`, or the contract it creates.
///
/// Struct logs do not show the balance a SELFDESTRUCT moves, so self-destructs
/// are not reported here (their ordinal space is separate, so the calls keep
/// the indexes other tracers give them). When a frame ends with no log of its
/// caller after it (code running off its end into an implicit STOP), the
/// success flag of the call it made last is never seen: its transfers are left
/// out, a missed credit rather than one that never took effect.
pub fn from_struct_logs(
    txid: &str,
    contract: Address,
    trace: &Value,
) -> Result<Vec<InternalTransfer>, TraceError> {
    let logs = trace
        .get("structLogs")
        .and_then(Value::as_array)
        .ok_or_else(|| bad("no structLogs"))?;
    if transaction_failed(trace, logs) {
        return Ok(Vec::new());
    }
    // Nodes differ on the top depth (1 for ganache, hardhat, geth, anvil; 0
    // in older tracers): depths are taken relative to the first log.
    let base = match logs.first() {
        Some(first) => log_depth(first)?,
        None => return Ok(Vec::new()),
    };
    let mut frames = vec![Frame::new(Some(contract))];
    let mut unseen_flags = 0usize;
    for log in logs {
        let depth = log_depth(log)?
            .checked_sub(base)
            .ok_or_else(|| bad("a struct log above the transaction's depth"))?;
        let depth = usize::try_from(depth).map_err(|_| bad("depth overflow"))?;
        while frames.len() > depth + 1 {
            let child = frames.pop();
            let at_depth = frames.len() == depth + 1;
            let Some(parent) = frames.last_mut() else {
                break;
            };
            if at_depth {
                parent.resolve(stack_word(log, 0)?, child);
            } else if parent.outstanding.take().is_some() {
                unseen_flags += 1;
            }
        }
        if depth == frames.len() {
            let callee = frames
                .last()
                .and_then(|frame| frame.outstanding.as_ref())
                .ok_or_else(|| bad("a struct log one frame deeper without a call"))?
                .callee;
            frames.push(Frame::new(callee));
        } else if depth > frames.len() {
            return Err(bad("a struct log two frames deeper than the last"));
        } else if let Some(frame) = frames.last_mut().filter(|f| f.outstanding.is_some()) {
            // The call entered no code (an account without code, a
            // precompile, or it failed before starting).
            frame.resolve(stack_word(log, 0)?, None);
        }
        let op = log
            .get("op")
            .and_then(Value::as_str)
            .ok_or_else(|| bad("a struct log without op"))?;
        let Some(frame) = frames.last_mut() else {
            return Err(bad("no frame"));
        };
        frame.outstanding = match op {
            "CALL" => {
                let to = word_address(stack_word(log, 1)?);
                let value = stack_word(log, 2)?;
                Some(Outstanding {
                    transfer: (!value.is_zero()).then_some(Pending {
                        from: frame.address,
                        to,
                        value,
                    }),
                    callee: Some(to),
                    creates: false,
                })
            }
            "STATICCALL" => Some(Outstanding {
                transfer: None,
                callee: Some(word_address(stack_word(log, 1)?)),
                creates: false,
            }),
            // The callee's code runs as the caller, and CALLCODE's value
            // stays with it.
            "DELEGATECALL" | "CALLCODE" => Some(Outstanding {
                transfer: None,
                callee: frame.address,
                creates: false,
            }),
            "CREATE" | "CREATE2" => Some(Outstanding {
                transfer: None,
                callee: None,
                creates: true,
            }),
            _ => None,
        };
    }
    if frames.len() > 1 || frames.iter().any(|frame| frame.outstanding.is_some()) {
        unseen_flags += 1;
    }
    if unseen_flags > 0 {
        tracing::warn!(
            txid,
            unseen_flags,
            "struct logs end frames without their caller's success flag; their transfers are left out"
        );
    }
    let mut numbering = Numbering::new(txid);
    let top = frames.into_iter().next().map(|f| f.transfers);
    for transfer in top.into_iter().flatten() {
        let from = transfer
            .from
            .ok_or_else(|| bad("a transfer from a contract whose address is unknown"))?;
        numbering.push(InternalKind::Call, from, transfer.to, transfer.value)?;
    }
    Ok(numbering.out)
}

fn log_depth(log: &Value) -> Result<u64, TraceError> {
    log.get("depth")
        .and_then(Value::as_u64)
        .ok_or_else(|| bad("a struct log without depth"))
}

/// `failed` when the node says (geth, hardhat, anvil); ganache 7 leaves it
/// out, so then the top frame's last step says: a REVERT, an INVALID or an
/// error (out of gas) ends a failed transaction.
fn transaction_failed(trace: &Value, logs: &[Value]) -> bool {
    if let Some(failed) = trace.get("failed").and_then(Value::as_bool) {
        return failed;
    }
    let Some(last) = logs.last() else {
        return false;
    };
    let top = logs.first().and_then(|first| first.get("depth")) == last.get("depth");
    let op = last.get("op").and_then(Value::as_str).unwrap_or_default();
    top && (matches!(op, "REVERT" | "INVALID") || has_error(last))
}

/// A method the node does not have, as opposed to one that refused these
/// arguments. geth and anvil answer -32601, hardhat -32004 "Method … is not
/// supported", ganache -32700 (for every error) "The method … does not
/// exist/is not available".
fn method_missing(code: i64, message: &str) -> bool {
    let message = message.to_ascii_lowercase();
    code == -32601
        || (message.contains("method")
            && [
                "not found",
                "does not exist",
                "not supported",
                "not available",
                "unsupported",
            ]
            .iter()
            .any(|missing| message.contains(missing)))
}

/// Does a `debug_traceBlockByNumber` answer look like callTracer frames (a node
/// may ignore the tracer and answer struct logs)?
fn looks_like_call_tracer_block(answer: &Value) -> bool {
    answer.as_array().is_some_and(|entries| {
        entries.iter().all(|entry| {
            entry
                .get("result")
                .and_then(|result| result.get("type"))
                .is_some_and(Value::is_string)
        })
    })
}

/// The struct logger's options: the stack is all the parser reads.
fn struct_log_options() -> Value {
    json!({
        "disableMemory": true,
        "enableMemory": false,
        "disableStorage": true,
        "disableStack": false,
        "enableReturnData": false,
    })
}

const ZERO_TXID: &str = "0x0000000000000000000000000000000000000000000000000000000000000000";

impl EvmChain {
    /// `Ok(Err((code, message)))` is the node's JSON-RPC error answer; `Err`
    /// is a node that could not be asked (down, timeout, nonsense).
    async fn trace_request(
        &self,
        method: &'static str,
        params: Value,
    ) -> Result<Result<Value, (i64, String)>, ChainError> {
        match self
            .provider
            .raw_request::<_, Value>(method.into(), params)
            .await
        {
            Ok(answer) => Ok(Ok(answer)),
            Err(err) => match err.as_error_resp() {
                Some(payload) => Ok(Err((payload.code, payload.message.to_string()))),
                None => Err(self.node_error(method, err)),
            },
        }
    }

    /// A trace the node refused, or gave in a shape the parsers cannot read:
    /// the block scan skips it (reconciliation is the net), a rescan says so.
    fn untraceable(&self, what: &str, detail: impl std::fmt::Display) -> ChainError {
        ChainError::Untraceable {
            chain: self.chain.code.to_string(),
            detail: format!("{what}: {detail}"),
        }
    }

    async fn trace_call(&self, method: &'static str, params: Value) -> Result<Value, ChainError> {
        self.trace_request(method, params)
            .await?
            .map_err(|(code, message)| self.untraceable(method, format!("{message} ({code})")))
    }

    /// What this node offers to see internal transfers, best first.
    pub async fn detect_trace_api(&self) -> Result<TraceApi, ChainError> {
        // onlyTopCall keeps the probe's answer small on a busy chain; the
        // shape still tells a callTracer from a node ignoring the tracer.
        let call_tracer = self
            .trace_request(
                "debug_traceBlockByNumber",
                json!(["latest", {"tracer": "callTracer", "tracerConfig": {"onlyTopCall": true}}]),
            )
            .await?;
        if call_tracer.is_ok_and(|answer| looks_like_call_tracer_block(&answer)) {
            return Ok(TraceApi::CallTracer);
        }
        let trace_block = self.trace_request("trace_block", json!(["latest"])).await?;
        if trace_block.is_ok_and(|answer| answer.is_array()) {
            return Ok(TraceApi::TraceBlock);
        }
        // No such transaction: a node with the method says so ("unknown
        // transaction", or anvil an empty trace), one without says the method
        // is missing.
        let struct_logs = self
            .trace_request(
                "debug_traceTransaction",
                json!([ZERO_TXID, struct_log_options()]),
            )
            .await?;
        Ok(match struct_logs {
            Ok(_) => TraceApi::StructLogs,
            Err((code, message)) if !method_missing(code, &message) => TraceApi::StructLogs,
            Err(_) => TraceApi::None,
        })
    }

    /// The internal transfers of block `number`, in one call.
    pub async fn block_internal_transfers(
        &self,
        api: TraceApi,
        number: u64,
    ) -> Result<Vec<InternalTransfer>, ChainError> {
        let block = format!("0x{number:x}");
        match api {
            TraceApi::CallTracer => {
                const METHOD: &str = "debug_traceBlockByNumber";
                let answer = self
                    .trace_call(METHOD, json!([block, {"tracer": "callTracer"}]))
                    .await?;
                let without_hashes = answer
                    .as_array()
                    .is_some_and(|entries| entries.iter().any(|e| e.get("txHash").is_none()));
                let txids = if without_hashes {
                    Some(self.block_txids(&block).await?)
                } else {
                    None
                };
                from_call_tracer_block(&answer, txids.as_deref())
                    .map_err(|err| self.untraceable(METHOD, err))
            }
            TraceApi::TraceBlock => {
                const METHOD: &str = "trace_block";
                let answer = self.trace_call(METHOD, json!([block])).await?;
                from_parity_traces(&answer).map_err(|err| self.untraceable(METHOD, err))
            }
            TraceApi::StructLogs | TraceApi::None => Err(self.node_error(
                "block_internal_transfers",
                format!("{api:?} cannot trace a block at once: trace each transaction"),
            )),
        }
    }

    async fn block_txids(&self, block: &str) -> Result<Vec<String>, ChainError> {
        const METHOD: &str = "eth_getBlockByNumber";
        let answer = self.trace_call(METHOD, json!([block, false])).await?;
        answer
            .get("transactions")
            .and_then(Value::as_array)
            .ok_or_else(|| self.node_error(METHOD, format!("no block {block}")))?
            .iter()
            .map(|txid| {
                txid.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| self.node_error(METHOD, "a transaction hash is not a string"))
            })
            .collect()
    }

    /// The internal transfers of one transaction.
    pub async fn transaction_internal_transfers(
        &self,
        api: TraceApi,
        txid: &str,
    ) -> Result<Vec<InternalTransfer>, ChainError> {
        match api {
            TraceApi::CallTracer => {
                const METHOD: &str = "debug_traceTransaction";
                let answer = self
                    .trace_call(METHOD, json!([txid, {"tracer": "callTracer"}]))
                    .await?;
                from_call_tracer(txid, &answer).map_err(|err| self.untraceable(METHOD, err))
            }
            TraceApi::TraceBlock => {
                const METHOD: &str = "trace_transaction";
                let answer = self.trace_call(METHOD, json!([txid])).await?;
                from_parity_traces(&answer).map_err(|err| self.untraceable(METHOD, err))
            }
            TraceApi::StructLogs => {
                // Struct logs name neither the transaction's contract nor, on
                // ganache, whether it failed: the receipt does.
                const RECEIPT: &str = "eth_getTransactionReceipt";
                let receipt = self.trace_call(RECEIPT, json!([txid])).await?;
                if receipt.is_null() {
                    return Err(self.node_error(RECEIPT, format!("no receipt for {txid}")));
                }
                if receipt.get("status").and_then(Value::as_str) == Some("0x0") {
                    return Ok(Vec::new());
                }
                let contract = match receipt.get("contractAddress") {
                    Some(Value::String(_)) => address_field(&receipt, "contractAddress"),
                    _ => address_field(&receipt, "to"),
                }
                .map_err(|err| self.node_error(RECEIPT, err))?;
                const METHOD: &str = "debug_traceTransaction";
                let answer = self
                    .trace_call(METHOD, json!([txid, struct_log_options()]))
                    .await?;
                from_struct_logs(txid, contract, &answer)
                    .map_err(|err| self.untraceable(METHOD, err))
            }
            TraceApi::None => Err(self.node_error(
                "transaction_internal_transfers",
                "the node offers no tracer",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn fixture(name: &str) -> Value {
        let path = format!(
            "{}/tests/data/traces/{name}.json",
            env!("CARGO_MANIFEST_DIR")
        );
        let text = std::fs::read_to_string(&path).unwrap_or_else(|err| panic!("{path}: {err}"));
        serde_json::from_str(&text).unwrap()
    }

    /// The transaction hash and the Forwarder's address of a scenario.
    fn scenario(node: &str, name: &str) -> (String, Address) {
        let meta = fixture(node);
        let txid = meta[name]["txid"].as_str().unwrap().to_owned();
        (txid, meta["forwarder"].as_str().unwrap().parse().unwrap())
    }

    fn keys(transfers: &[InternalTransfer]) -> Vec<(u32, Address, U256)> {
        transfers.iter().map(|t| (t.index, t.to, t.value)).collect()
    }

    const A: Address = Address::repeat_byte(0x11);
    const B: Address = Address::repeat_byte(0x22);

    /// Every way the fixtures trace scenario `name`, each with its node's txid.
    fn all_tracers(name: &str) -> Vec<(String, Vec<InternalTransfer>)> {
        let mut all = Vec::new();
        let (txid, forwarder) = scenario("anvil", name);
        all.push((
            "anvil callTracer".to_owned(),
            from_call_tracer(&txid, &fixture(&format!("anvil.{name}.call_tracer"))).unwrap(),
        ));
        all.push((
            "anvil debug_traceBlockByNumber".to_owned(),
            from_call_tracer_block(&fixture(&format!("anvil.{name}.block_call_tracer")), None)
                .unwrap(),
        ));
        all.push((
            "anvil trace_transaction".to_owned(),
            from_parity_traces(&fixture(&format!("anvil.{name}.trace_transaction"))).unwrap(),
        ));
        all.push((
            "anvil trace_block".to_owned(),
            from_parity_traces(&fixture(&format!("anvil.{name}.trace_block"))).unwrap(),
        ));
        all.push((
            "anvil struct logs".to_owned(),
            from_struct_logs(&txid, forwarder, &fixture(&format!("anvil.{name}.struct"))).unwrap(),
        ));
        for node in ["ganache", "hardhat"] {
            if fixture(node).get(name).is_none() {
                continue;
            }
            let (txid, forwarder) = scenario(node, name);
            all.push((
                format!("{node} struct logs"),
                from_struct_logs(&txid, forwarder, &fixture(&format!("{node}.{name}.struct")))
                    .unwrap(),
            ));
        }
        all
    }

    fn assert_all_tracers(name: &str, expected: &[(u32, Address, U256)]) {
        for (tracer, transfers) in all_tracers(name) {
            assert_eq!(keys(&transfers), expected, "{name} by {tracer}");
        }
    }

    #[test]
    fn split_is_two_transfers_with_the_same_keys_in_every_tracer() {
        assert_all_tracers(
            "split",
            &[
                (0x8000_0000, A, U256::from(500)),
                (0x8000_0001, B, U256::from(501)),
            ],
        );
        let (txid, forwarder) = scenario("anvil", "split");
        let transfers = from_call_tracer(&txid, &fixture("anvil.split.call_tracer")).unwrap();
        assert!(
            transfers
                .iter()
                .all(|t| t.txid == txid && t.from == forwarder)
        );
        let struct_logs =
            from_struct_logs(&txid, forwarder, &fixture("anvil.split.struct")).unwrap();
        assert_eq!(struct_logs, transfers, "the same transaction, every field");
    }

    #[test]
    fn a_reverted_transaction_moves_nothing() {
        assert_all_tracers("forward_then_revert", &[]);
    }

    #[test]
    fn a_transfer_in_a_reverted_subframe_is_void() {
        assert_all_tracers("try_forward", &[(0x8000_0000, A, U256::from(1000))]);
    }

    #[test]
    fn the_top_level_transfer_is_not_internal() {
        assert_all_tracers("plain", &[]);
    }

    #[test]
    fn ganache_says_nothing_of_failure_but_the_last_step_does() {
        let trace = fixture("ganache.forward_then_revert.struct");
        assert!(trace.get("failed").is_none());
        let (txid, forwarder) = scenario("ganache", "forward_then_revert");
        assert_eq!(from_struct_logs(&txid, forwarder, &trace).unwrap(), []);
    }

    #[test]
    fn a_block_trace_without_tx_hashes_pairs_by_position() {
        let mut block = fixture("anvil.split.block_call_tracer");
        let (txid, _) = scenario("anvil", "split");
        for entry in block.as_array_mut().unwrap() {
            entry.as_object_mut().unwrap().remove("txHash");
        }
        assert!(from_call_tracer_block(&block, None).is_err());
        let transfers = from_call_tracer_block(&block, Some(std::slice::from_ref(&txid))).unwrap();
        assert_eq!(transfers.len(), 2);
        assert!(transfers.iter().all(|t| t.txid == txid));
        assert!(from_call_tracer_block(&block, Some(&[])).is_err());
    }

    #[test]
    fn kinds_that_move_no_value_to_a_chosen_address_do_not_count() {
        let frame = json!({
            "type": "CALL", "from": format!("{A}"), "to": format!("{B}"), "value": "0x1",
            "calls": [
                {"type": "DELEGATECALL", "from": format!("{B}"), "to": format!("{A}"), "value": "0x5"},
                {"type": "CALLCODE", "from": format!("{B}"), "to": format!("{A}"), "value": "0x5"},
                {"type": "STATICCALL", "from": format!("{B}"), "to": format!("{A}")},
                {"type": "CREATE", "from": format!("{B}"), "to": format!("{A}"), "value": "0x5"},
                {"type": "CREATE2", "from": format!("{B}"), "to": format!("{A}"), "value": "0x5",
                 "calls": [{"type": "CALL", "from": format!("{A}"), "to": format!("{B}"), "value": "0x7"}]},
                {"type": "CALL", "from": format!("{B}"), "to": format!("{A}"), "value": "0x0"},
                {"type": "SELFDESTRUCT", "from": format!("{B}"), "to": format!("{A}"), "value": "0x9"},
                {"type": "CALL", "from": format!("{B}"), "to": format!("{A}"), "value": "0x3"},
            ]
        });
        let transfers = from_call_tracer("0xAB", &frame).unwrap();
        assert_eq!(
            keys(&transfers),
            [
                (0x8000_0000, B, U256::from(7)),
                (0xC000_0000, A, U256::from(9)),
                (0x8000_0001, A, U256::from(3)),
            ]
        );
        assert_eq!(transfers[0].txid, "0xab");
    }

    #[test]
    fn parity_self_destructs_rewards_and_failed_prefixes() {
        let call = |address: Value, value: &str, error: Option<&str>| {
            let mut trace = json!({
                "type": "call", "transactionHash": "0x01", "traceAddress": address,
                "action": {"callType": "call", "from": format!("{A}"), "to": format!("{B}"), "value": value},
            });
            if let Some(error) = error {
                trace["error"] = json!(error);
            }
            trace
        };
        let traces = json!([
            call(json!([]), "0x1", None),
            call(json!([0]), "0x2", Some("Reverted")),
            call(json!([0, 0]), "0x3", None),
            call(json!([1]), "0x4", None),
            {"type": "suicide", "transactionHash": "0x01", "traceAddress": [2],
             "action": {"address": format!("{B}"), "refundAddress": format!("{A}"), "balance": "0x5"}},
            {"type": "reward", "traceAddress": [], "action": {"author": format!("{A}"), "value": "0x9"}},
        ]);
        assert_eq!(
            keys(&from_parity_traces(&traces).unwrap()),
            [
                (0x8000_0000, B, U256::from(4)),
                (0xC000_0000, A, U256::from(5))
            ]
        );
        let reverted = json!([
            call(json!([]), "0x1", Some("Reverted")),
            call(json!([0]), "0x2", None)
        ]);
        assert_eq!(from_parity_traces(&reverted).unwrap(), []);
    }

    #[test]
    fn indexes_stay_in_their_ranges() {
        assert_eq!(
            internal_transfer_index(InternalKind::Call, 0),
            Ok(0x8000_0000)
        );
        assert_eq!(
            internal_transfer_index(InternalKind::SelfDestruct, (1 << 30) - 2),
            Ok(0xFFFF_FFFE)
        );
        assert!(internal_transfer_index(InternalKind::SelfDestruct, (1 << 30) - 1).is_err());
        assert!(internal_transfer_index(InternalKind::Call, (1 << 30) - 1).is_err());
    }

    #[test]
    fn missing_methods_are_told_from_unknown_transactions() {
        for node in ["anvil", "ganache", "hardhat"] {
            for (probe, answer) in fixture(node)["probes"].as_object().unwrap() {
                let Some(error) = answer.get("error") else {
                    continue;
                };
                let missing = method_missing(
                    error["code"].as_i64().unwrap(),
                    error["message"].as_str().unwrap(),
                );
                let expect_missing = !probe.starts_with("debug_traceTransaction");
                assert_eq!(missing, expect_missing, "{node} {probe}: {error}");
            }
        }
    }
}
