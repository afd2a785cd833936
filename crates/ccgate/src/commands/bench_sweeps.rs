//! `ccgate bench sweeps`: how many node calls the EVM sweeper makes per tick
//! with many credited deposit addresses, against what its old tick read (every
//! credited address's balances, every tick), measured in the same run against
//! a counting stub of the node.

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use axum::routing::post;
use ccgate_chain::address::to_checksum_address;
use ccgate_chain::keys::evm_hot_wallet_key;
use ccgate_chain::{EvmChain, EvmNodeConfig, HotWallet};
use ccgate_engine::addresses::load_deposit_seed;
use ccgate_engine::payouts::Payouts;
use ccgate_engine::sweeps::{SweepTick, Sweeper, waiting_balances};
use ccgate_ledger::{Amount, Chain, MerchantId, TokenId};
use ccgate_store::{
    AddressStore, CreditStore, DepositAddress, SqliteStore, Store, generate_app_id,
    generate_app_secret,
};
use serde_json::{Value, json};

use super::bench_kit::Figure;
use super::bench_ledger::deposit_credit;
use super::{unix_now, unix_now_ms};
use crate::config::Settings;

#[derive(Debug, clap::Args)]
pub struct SweepBenchArgs {
    /// Permanent ETH deposit addresses, each credited one deposit.
    #[arg(long, default_value_t = 100_000)]
    pub addresses: u32,
}

const CHAIN: &str = "ETH";
/// The built-in ETH chain's EIP-155 id, which the stub answers `eth_chainId` with.
const ETH_CHAIN_ID: u64 = 1;
/// The built-in ETH chain's native coin and one of its ERC-20 tokens.
const ETH_NATIVE: &str = "e8f64d3d-df5b-411d-897f-c6d8d30206b7";
const USDT_ERC20: &str = "2728e271-9f5d-4c05-8aa7-4a87b1afcc95";
/// Deposits per `credit_deposits` call: a block's worth, as the watcher
/// credits them (one DB transaction each).
const CREDITS_PER_BATCH: usize = 2_000;
/// What each deposit pays: above every threshold the bench sets.
const SWEPT_UNITS: u128 = 1_000_000_000_000_000_000;
/// Idle ticks timed; their median is reported (one alone is mostly noise).
const IDLE_TICKS: usize = 10;
/// A first pass longer than this means the sweeper never runs out of due
/// addresses: the bench stops rather than tick forever.
const FIRST_PASS_TICKS_MAX: usize = 1_000_000;

pub async fn sweeps(args: &SweepBenchArgs) -> anyhow::Result<Vec<Figure>> {
    if args.addresses == 0 {
        bail!("--addresses must be at least 1");
    }
    let count = args.addresses as usize;
    let (_scratch, sqlite) = super::bench_kit::scratch_sqlite().await?;
    let settings = Settings::builtin()?;
    let chain = settings
        .registry
        .chain(CHAIN)
        .context("the built-in ETH chain")?
        .clone();
    println!(
        "ccgate bench sweeps: {count} credited deposit addresses on {CHAIN}, balances read from a \
         counting stub of the node"
    );

    let merchant = MerchantId::new(generate_app_id(unix_now()));
    sqlite
        .create_merchant(&merchant, &generate_app_secret(), "bench", unix_now(), None)
        .await?;
    let addresses = seed(&sqlite, &merchant, &chain, count).await?;

    let node = NodeStub::default();
    let node_url = format!(
        "http://{}/",
        super::bench_kit::spawn_server(node.router()).await?
    );
    let (evm, sweeper) = real_sweeper(&sqlite, &settings, &chain, node_url).await?;

    // Baseline, same run and database: the old tick's read, every credited
    // address's balances (what `ccgate evm sweeps` still reads).
    node.take();
    let started = Instant::now();
    let waiting = waiting_balances(&evm, &sqlite).await?;
    let old_time = started.elapsed();
    let old = node.take();
    if waiting.len() % count != 0 || waiting.is_empty() {
        bail!(
            "the old read found {} balances at {count} addresses",
            waiting.len()
        );
    }
    let tokens = waiting.len() / count;
    drop(waiting);
    println!(
        "old tick (every credited address): {} node calls ({}) in {:.0} ms",
        old.total,
        old.by_method(),
        ms(old_time)
    );

    // The first pass: every address was credited since it was last looked
    // at (never), so all are due, a bounded page per tick.
    let mut ticks = 0usize;
    let mut most_addresses = 0usize;
    let mut most_calls = 0u64;
    let mut tick_times = Vec::new();
    let mut owners_read = HashSet::with_capacity(count);
    let pass_started = Instant::now();
    loop {
        let (done, calls, elapsed) = timed_tick(&sweeper, &node).await?;
        if done.looked_at == 0 {
            break;
        }
        ticks += 1;
        if ticks > FIRST_PASS_TICKS_MAX {
            bail!("the sweeper still found due addresses after {FIRST_PASS_TICKS_MAX} ticks");
        }
        most_addresses = most_addresses.max(done.looked_at);
        most_calls = most_calls.max(calls.total);
        tick_times.push(elapsed);
        owners_read.extend(calls.owners);
        if ticks.is_multiple_of(100) {
            println!(
                "  first pass: {ticks} ticks, {} addresses read",
                owners_read.len()
            );
        }
    }
    let pass_time = pass_started.elapsed();
    if owners_read.len() != count {
        bail!(
            "the first pass read {} distinct addresses of {count}",
            owners_read.len()
        );
    }
    tick_times.sort();
    let tick_p50 = tick_times[tick_times.len() / 2];
    println!(
        "first pass: {ticks} ticks in {:.1} s read each of the {count} addresses once; at most \
         {most_addresses} addresses and {most_calls} node calls per tick, p50 tick {:.1} ms",
        pass_time.as_secs_f64(),
        ms(tick_p50)
    );

    // Idle: nothing credited since the last look.
    let mut idle_times = Vec::with_capacity(IDLE_TICKS);
    let mut idle_calls = 0u64;
    for _ in 0..IDLE_TICKS {
        let (done, calls, elapsed) = timed_tick(&sweeper, &node).await?;
        if done.looked_at != 0 {
            bail!("an idle tick looked at {} addresses", done.looked_at);
        }
        idle_calls += calls.total;
        idle_times.push(elapsed);
    }
    idle_times.sort();
    let idle_time = idle_times[IDLE_TICKS / 2];
    if idle_calls != 0 {
        bail!("{IDLE_TICKS} idle ticks made {idle_calls} node calls");
    }

    // One more deposit to one address: the next tick reads that one only.
    let target = &addresses[count / 2];
    let credit = deposit_credit(&merchant, target, 1, count, SWEPT_UNITS, 0)?;
    sqlite.credit_deposits(CHAIN, None, &[credit]).await?;
    let (done, calls, one_time) = timed_tick(&sweeper, &node).await?;
    let asked: HashSet<String> = calls.owners.iter().cloned().collect();
    if done.looked_at != 1 || asked.len() != 1 || !asked.contains(&target.to_ascii_lowercase()) {
        bail!(
            "after one deposit to {target} the tick looked at {} addresses ({asked:?})",
            done.looked_at
        );
    }
    println!(
        "one more deposit to {target}: the next tick read that address only, {} node calls ({}) \
         in {:.2} ms",
        calls.total,
        calls.by_method(),
        ms(one_time)
    );

    println!(
        "sweeps: {count} addresses ({tokens} balances each); old tick read {} node calls in \
         {:.0} ms; first pass {ticks} ticks, at most {most_calls} calls per tick; idle tick \
         {idle_calls} calls in {:.3} ms (median of {IDLE_TICKS}; ratio old/idle: {} calls vs 0, \
         {:.0}× the time)",
        old.total,
        ms(old_time),
        ms(idle_time),
        old.total,
        old_time.as_secs_f64() / idle_time.as_secs_f64().max(1e-9)
    );
    sqlite.close().await;
    Ok(vec![
        Figure::new(
            format!("sweeps old tick, {count} addresses"),
            old.total as f64,
            "node calls",
        ),
        Figure::new(
            format!("sweeps idle tick, {count} addresses"),
            idle_calls as f64,
            "node calls",
        ),
        Figure::new(
            "sweeps most node calls per first-pass tick",
            most_calls as f64,
            "node calls",
        ),
    ])
}

/// `count` permanent addresses, each credited one deposit, written straight
/// through the store (the address book would derive a key per address, which
/// only slows the seeding down: no sweep is ever signed here, every balance
/// being zero). Returns them in index order.
async fn seed(
    sqlite: &SqliteStore,
    merchant: &MerchantId,
    chain: &Chain,
    count: usize,
) -> anyhow::Result<Vec<String>> {
    let started = Instant::now();
    let mut addresses = Vec::with_capacity(count);
    let report_every = (count / 10).max(CREDITS_PER_BATCH);
    let mut next_report = report_every;
    while addresses.len() < count {
        let first = addresses.len();
        let batch_end = (first + CREDITS_PER_BATCH).min(count);
        let mut credits = Vec::with_capacity(batch_end - first);
        for index in first..batch_end {
            let address = bench_address(index);
            let owned = DepositAddress {
                wallet_user: false,
                chain: chain.code.to_string(),
                address: address.clone(),
                app_id: merchant.clone(),
                user_id: Some(format!("user-{index}")),
                order_id: None,
                notify_url: None,
                derivation_index: u32::try_from(index).context("derivation index")?,
                dialect: ccgate_store::WebhookDialect::V1,
            };
            sqlite.insert_permanent_address(&owned, unix_now()).await?;
            credits.push(deposit_credit(
                merchant,
                &address,
                1,
                index,
                SWEPT_UNITS,
                0,
            )?);
            addresses.push(address);
        }
        sqlite.credit_deposits(CHAIN, None, &credits).await?;
        if addresses.len() >= next_report || addresses.len() == count {
            println!(
                "  seeding: {} of {count} addresses made and credited ({:.0} s)",
                addresses.len(),
                started.elapsed().as_secs_f64()
            );
            next_report += report_every;
        }
    }
    Ok(addresses)
}

/// A distinct, valid EIP-55 address per index: a fixed prefix (no real
/// account's) and the index in the last eight bytes.
fn bench_address(index: usize) -> String {
    let mut bytes = [0xccu8; 20];
    bytes[12..].copy_from_slice(&(index as u64).to_be_bytes());
    to_checksum_address(&bytes)
}

/// The production `EvmChain` for ETH pointed at the stub, with the hot
/// wallet made from the deposit seed as `serve` makes it, and its `Sweeper`.
async fn real_sweeper(
    sqlite: &SqliteStore,
    settings: &Settings,
    chain: &Chain,
    node_url: String,
) -> anyhow::Result<(Arc<EvmChain>, Sweeper)> {
    let mut config = EvmNodeConfig::with_defaults(node_url, ETH_CHAIN_ID);
    // Thresholds for the native coin and one token, as an operator sets
    // them; the sweeper reads every token of the chain either way.
    let (eth, _) = settings
        .registry
        .token(&TokenId::new(ETH_NATIVE))
        .context("the built-in ETH token")?;
    config.sweep_min.insert(TokenId::new(ETH_NATIVE), eth.min);
    config.sweep_min.insert(
        TokenId::new(USDT_ERC20),
        Amount::from_base_units(1_000_000_000_000_000_000),
    );
    let seed = Arc::new(load_deposit_seed(sqlite).await?);
    let wallet = HotWallet::new(&evm_hot_wallet_key(&seed)?)?;
    let evm = Arc::new(EvmChain::new(
        chain.clone(),
        config,
        &settings.registry,
        Some(wallet),
    )?);
    let sweeper = Sweeper::new(
        Arc::clone(&evm),
        seed,
        Arc::new(sqlite.clone()),
        Payouts::new(Arc::new(sqlite.clone())),
    );
    Ok((evm, sweeper))
}

/// One sweeper tick, with the node calls it made and its wall time.
async fn timed_tick(
    sweeper: &Sweeper,
    node: &NodeStub,
) -> anyhow::Result<(SweepTick, Calls, Duration)> {
    node.take();
    let started = Instant::now();
    let done = sweeper.tick(unix_now_ms()).await?;
    let elapsed = started.elapsed();
    Ok((done, node.take(), elapsed))
}

fn ms(elapsed: Duration) -> f64 {
    elapsed.as_secs_f64() * 1000.0
}

/// Node calls since the last `take`.
#[derive(Debug, Default)]
struct Calls {
    total: u64,
    methods: BTreeMap<String, u64>,
    /// Whose balance `eth_getBalance` was asked for, lower-case.
    owners: Vec<String>,
}

impl Calls {
    fn by_method(&self) -> String {
        if self.methods.is_empty() {
            return "none".to_owned();
        }
        self.methods
            .iter()
            .map(|(method, calls)| format!("{method} {calls}"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Stands in for the node: a JSON-RPC server on loopback that answers what
/// the sweeper asks with an empty chain (every balance zero) and counts the
/// calls per method. The production client (`EvmChain`, its HTTP transport)
/// talks to it as to a real node.
#[derive(Debug, Clone, Default)]
struct NodeStub {
    calls: Arc<Mutex<Calls>>,
}

impl NodeStub {
    fn router(&self) -> axum::Router {
        let stub = self.clone();
        axum::Router::new().route(
            "/",
            post(move |body: String| {
                let stub = stub.clone();
                async move { axum::Json(stub.answer(&body)) }
            }),
        )
    }

    /// The calls since the last take, and a fresh count.
    fn take(&self) -> Calls {
        std::mem::take(&mut *self.calls.lock().unwrap_or_else(|p| p.into_inner()))
    }

    fn answer(&self, body: &str) -> Value {
        match serde_json::from_str::<Value>(body) {
            // A batch is answered call by call, as a node does.
            Ok(Value::Array(batch)) => {
                Value::Array(batch.iter().map(|call| self.answer_one(call)).collect())
            }
            Ok(call) => self.answer_one(&call),
            Err(_) => json!({"jsonrpc": "2.0", "id": null,
                "error": {"code": -32700, "message": "parse error"}}),
        }
    }

    fn answer_one(&self, call: &Value) -> Value {
        let method = call["method"].as_str().unwrap_or_default();
        {
            let mut calls = self.calls.lock().unwrap_or_else(|p| p.into_inner());
            calls.total += 1;
            *calls.methods.entry(method.to_owned()).or_default() += 1;
            if method == "eth_getBalance"
                && let Some(owner) = call["params"][0].as_str()
            {
                calls.owners.push(owner.to_ascii_lowercase());
            }
        }
        let result = match method {
            "eth_getBalance" => json!("0x0"),
            // An ABI-encoded zero: `balanceOf` of an address that holds none.
            "eth_call" => json!(format!("0x{}", "0".repeat(64))),
            "eth_chainId" => json!(format!("{ETH_CHAIN_ID:#x}")),
            "net_version" => json!(ETH_CHAIN_ID.to_string()),
            "eth_blockNumber" => json!("0x1"),
            "eth_getTransactionCount" => json!("0x0"),
            "eth_gasPrice" | "eth_maxPriorityFeePerGas" => json!("0x3b9aca00"),
            "eth_estimateGas" => json!("0x5208"),
            // Nothing was ever sent through this node.
            "eth_getTransactionReceipt" | "eth_getTransactionByHash" | "eth_getBlockByNumber" => {
                Value::Null
            }
            _ => {
                return json!({"jsonrpc": "2.0", "id": call["id"],
                    "error": {"code": -32601, "message": "method not found"}});
            }
        };
        json!({"jsonrpc": "2.0", "id": call["id"], "result": result})
    }
}
