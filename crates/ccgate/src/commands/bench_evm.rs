//! `ccgate bench evm`: on a ganache node, how long after the block that
//! confirms a native deposit its webhook arrives, with the deposit watcher
//! reading the node's head every `--poll-interval-ms`. Payments go one at a
//! time, so each latency is measured alone. For the block of many deposits
//! it also counts what the gateway asked of the node (its JSON-RPC goes
//! through a counting relay on loopback) and of the database (sqlx's
//! statement log).

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use anyhow::{Context, bail};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use ccgate_chain::evm::redacted_rpc_url;
use serde_json::{Value, json};

use super::bench_deposits::{merchant_with_webhook_receiver, wait_for_webhooks};
use super::bench_kit::Figure;
use super::bench_writes::STATEMENTS;
use super::{background, unix_now};
use crate::config::Settings;

#[derive(Debug, clap::Args)]
pub struct EvmBenchArgs {
    /// A ganache node (its unlocked accounts pay, `evm_mine` makes the
    /// confirming blocks), e.g. `npx ganache@7 --server.port 8545`.
    #[arg(long)]
    pub rpc_url: String,
    #[arg(long, default_value_t = 1337)]
    pub chain_id: u64,
    /// Deposits measured, one after the other.
    #[arg(long, default_value_t = 50)]
    pub payments: u32,
    #[arg(long, default_value_t = 250)]
    pub poll_interval_ms: u64,
    /// The node's WebSocket endpoint (ganache serves one on its HTTP port:
    /// `ws://127.0.0.1:8545`): heads by `newHeads` subscription instead of
    /// by polling.
    #[arg(long)]
    pub ws_url: Option<String>,
    /// Then this many deposits in one block (to as many addresses): how long
    /// until all are credited and notified. 0 skips it.
    #[arg(long, default_value_t = 1_000)]
    pub block_transfers: u32,
}

/// Confirmations of the benchmark chain: the payment's block and one more.
const CONFIRMATIONS: u64 = 2;
const NATIVE_TOKEN: &str = "6d1c8b1e-0000-4000-8000-00000000b001";
/// 0.01 of the native coin, in wei.
const PAYMENT_WEI: &str = "0x2386f26fc10000";

pub async fn evm(args: &EvmBenchArgs) -> anyhow::Result<Vec<Figure>> {
    if args.payments == 0 || args.poll_interval_ms == 0 {
        bail!("--payments and --poll-interval-ms must be at least 1");
    }
    let node = Node {
        client: reqwest::Client::new(),
        url: args.rpc_url.clone(),
    };
    let accounts: Vec<String> = serde_json::from_value(node.call("eth_accounts", json!([])).await?)
        .context("eth_accounts")?;
    let payer = accounts
        .first()
        .context("the node has no unlocked account")?;
    let relay = Arc::new(Relay {
        client: reqwest::Client::builder()
            .no_proxy()
            .build()
            .context("build the relay's HTTP client")?,
        upstream: args.rpc_url.clone(),
        calls: Mutex::default(),
    });
    let relay_address = super::bench_kit::spawn_server(
        axum::Router::new()
            .route("/", axum::routing::post(relay_call))
            .with_state(Arc::clone(&relay)),
    )
    .await?;
    let settings = Settings::parse(
        &config_text(args, &format!("http://{relay_address}/")),
        Path::new("(bench evm)"),
    )?;
    let chain = settings
        .registry
        .chain("BENCH")
        .context("the benchmark chain")?
        .clone();

    let (_scratch, sqlite) = super::bench_kit::scratch_sqlite().await?;
    let store = super::bench_kit::cached(&sqlite, 1_000);
    let (state, parts) = super::serve::bench_state(
        store.clone(),
        &settings,
        u64::from(args.payments) + u64::from(args.block_transfers) + 1,
    )
    .await?;
    let (merchant, arrivals) = merchant_with_webhook_receiver(&sqlite).await?;

    println!(
        "ccgate bench evm: {} native deposits on {} (chain id {}), {CONFIRMATIONS} confirmations, \
         {}; webhook latency after the confirming block",
        args.payments,
        redacted_rpc_url(&args.rpc_url),
        args.chain_id,
        match &args.ws_url {
            Some(ws) => format!("heads by newHeads subscription on {}", redacted_rpc_url(ws)),
            None => format!("head read every {} ms", args.poll_interval_ms),
        }
    );
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let loops = background::spawn_as_serve(&state, &parts, &sqlite, &stopped)?;
    let mut latencies_ms = Vec::with_capacity(args.payments as usize);
    for user in 0..args.payments {
        let address = state
            .addresses
            .permanent_address(
                &merchant,
                &format!("user-{user}"),
                &chain,
                None,
                ccgate_store::WebhookDialect::V1,
                unix_now(),
            )
            .await?
            .address;
        let txid = node
            .call(
                "eth_sendTransaction",
                json!([{"from": payer, "to": address, "value": PAYMENT_WEI}]),
            )
            .await?
            .as_str()
            .context("eth_sendTransaction answered no hash")?
            .to_owned();
        // ganache mines the payment at once; the blocks on top confirm it.
        for _ in 1..CONFIRMATIONS {
            node.call("evm_mine", json!([])).await?;
        }
        let confirmed_at = Instant::now();
        wait_for_webhooks(&arrivals, std::slice::from_ref(&txid)).await?;
        let arrived_at = arrivals
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&txid)
            .copied()
            .context("the webhook's arrival")?;
        latencies_ms.push(arrived_at.duration_since(confirmed_at).as_secs_f64() * 1000.0);
    }
    let (p50, p99) = print_latencies("one deposit per block", &mut latencies_ms);
    let mut figures = vec![
        Figure::new("evm deposit webhook p50 after confirmation", p50, "ms"),
        Figure::new("evm deposit webhook p99 after confirmation", p99, "ms"),
    ];

    if args.block_transfers > 0 {
        let mut addresses = Vec::with_capacity(args.block_transfers as usize);
        for user in 0..args.block_transfers {
            let address = state
                .addresses
                .permanent_address(
                    &merchant,
                    &format!("block-{user}"),
                    &chain,
                    None,
                    ccgate_store::WebhookDialect::V1,
                    unix_now(),
                )
                .await?
                .address;
            addresses.push(address);
        }
        // Held in the mempool while they are sent, then mined in one block.
        node.call("miner_stop", json!([])).await?;
        let mut txids = Vec::with_capacity(addresses.len());
        for address in &addresses {
            let txid = node
                .call(
                    "eth_sendTransaction",
                    json!([{"from": payer, "to": address, "value": PAYMENT_WEI}]),
                )
                .await?;
            txids.push(txid.as_str().context("no hash")?.to_owned());
        }
        // Counted from the block's mining to the last webhook: what the
        // watcher (and delivery) ask of the node and the database for it.
        let calls_before = relay.calls();
        STATEMENTS.listen(true);
        STATEMENTS.record(true);
        node.call("evm_mine", json!([])).await?;
        let paid_in = node.call("eth_blockNumber", json!([])).await?;
        let block = node
            .call("eth_getBlockByNumber", json!([paid_in, false]))
            .await?;
        let in_block = block["transactions"].as_array().map_or(0, Vec::len);
        if in_block != txids.len() {
            bail!(
                "only {in_block} of {} transfers fit one block: start ganache with a higher \
                 --miner.blockGasLimit",
                txids.len()
            );
        }
        // Restarting the miner may mine a block itself; the confirming block
        // is whichever brings the payment to its confirmations.
        node.call("miner_start", json!([])).await?;
        let paid_in = hex_number(&paid_in)?;
        while hex_number(&node.call("eth_blockNumber", json!([])).await?)?
            < paid_in + CONFIRMATIONS - 1
        {
            node.call("evm_mine", json!([])).await?;
        }
        let confirmed_at = Instant::now();
        wait_for_webhooks(&arrivals, &txids).await?;
        let all_in = confirmed_at.elapsed();
        let statements = STATEMENTS.record(false);
        STATEMENTS.listen(false);
        print_counts(
            &format!("node calls for the block of {}", txids.len()),
            &relay.calls_since(&calls_before),
        );
        let mut by_statement: BTreeMap<String, u64> = BTreeMap::new();
        for statement in statements {
            *by_statement.entry(statement).or_default() += 1;
        }
        print_counts(
            &format!(
                "SQL statements for the block of {} (watcher and delivery; BEGIN/COMMIT not counted)",
                txids.len()
            ),
            &by_statement,
        );
        let mut block_latencies_ms: Vec<f64> = {
            let arrivals = arrivals.lock().unwrap_or_else(|p| p.into_inner());
            txids
                .iter()
                .filter_map(|txid| arrivals.get(txid))
                .map(|at| at.duration_since(confirmed_at).as_secs_f64() * 1000.0)
                .collect()
        };
        let (block_p50, _) = print_latencies(
            &format!("{} deposits in one block", txids.len()),
            &mut block_latencies_ms,
        );
        figures.push(Figure::new(
            format!("evm {}-deposit block webhook p50", txids.len()),
            block_p50,
            "ms",
        ));
        figures.push(Figure::new(
            format!("evm {}-deposit block all notified", txids.len()),
            all_in.as_secs_f64() * 1000.0,
            "ms",
        ));
        println!(
            "  all {} credited and notified {:.0} ms after the confirming block ({:.0} deposits/s)",
            txids.len(),
            all_in.as_secs_f64() * 1000.0,
            txids.len() as f64 / all_in.as_secs_f64()
        );
    }
    let _ = stop.send(true);
    for task in loops {
        let _ = task.await;
    }
    store.backend().close().await;
    Ok(figures)
}

fn hex_number(value: &Value) -> anyhow::Result<u64> {
    let text = value.as_str().context("a hex number")?;
    Ok(u64::from_str_radix(text.trim_start_matches("0x"), 16)?)
}

/// Prints the latencies' spread; returns their p50 and p99.
fn print_latencies(what: &str, latencies_ms: &mut [f64]) -> (f64, f64) {
    latencies_ms.sort_by(f64::total_cmp);
    let percentile =
        |pct: usize| latencies_ms[(latencies_ms.len() * pct / 100).min(latencies_ms.len() - 1)];
    println!(
        "{what}: webhook after the confirming block p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms ({} deposits)",
        percentile(50),
        percentile(99),
        latencies_ms.last().copied().unwrap_or(0.0),
        latencies_ms.len()
    );
    (percentile(50), percentile(99))
}

/// Prints `counts` (what, how many) under `title`, with their total.
fn print_counts(title: &str, counts: &BTreeMap<String, u64>) {
    println!("{title}: {} in all", counts.values().sum::<u64>());
    for (what, count) in counts {
        println!("  {count:>6}  {what}");
    }
}

/// Forwards the gateway's JSON-RPC to the node, counting each call by
/// method (a batch counts each of its calls; blocks by number and kind).
struct Relay {
    client: reqwest::Client,
    upstream: String,
    calls: Mutex<BTreeMap<String, u64>>,
}

impl Relay {
    fn calls(&self) -> BTreeMap<String, u64> {
        self.calls
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The calls made since `before` was taken.
    fn calls_since(&self, before: &BTreeMap<String, u64>) -> BTreeMap<String, u64> {
        self.calls()
            .into_iter()
            .map(|(method, count)| {
                let since = count - before.get(&method).copied().unwrap_or(0);
                (method, since)
            })
            .filter(|(_, since)| *since > 0)
            .collect()
    }
}

async fn relay_call(State(relay): State<Arc<Relay>>, body: Bytes) -> axum::response::Response {
    if let Ok(request) = serde_json::from_slice::<Value>(&body) {
        let calls = match &request {
            Value::Array(batch) => batch.iter().collect(),
            single => vec![single],
        };
        let mut counted = relay.calls.lock().unwrap_or_else(PoisonError::into_inner);
        for call in calls {
            let method = call["method"].as_str().unwrap_or("(no method)");
            // Blocks by number are told apart: how often each is fetched,
            // and whether with its transactions.
            let label = match (method, &call["params"]) {
                ("eth_getBlockByNumber", params) => format!(
                    "eth_getBlockByNumber {} {}",
                    params[0].as_str().unwrap_or("?"),
                    if params[1].as_bool() == Some(true) {
                        "with transactions"
                    } else {
                        "header"
                    }
                ),
                (method, _) => method.to_owned(),
            };
            *counted.entry(label).or_default() += 1;
        }
    }
    let answer = relay
        .client
        .post(&relay.upstream)
        .header("Content-Type", "application/json")
        .body(body)
        .send()
        .await;
    match answer {
        Ok(answer) => {
            let status =
                StatusCode::from_u16(answer.status().as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
            match answer.bytes().await {
                Ok(bytes) => (
                    status,
                    [(axum::http::header::CONTENT_TYPE, "application/json")],
                    bytes,
                )
                    .into_response(),
                Err(_) => StatusCode::BAD_GATEWAY.into_response(),
            }
        }
        Err(_) => StatusCode::BAD_GATEWAY.into_response(),
    }
}

/// One EVM chain on the node (reached at `rpc_url`), with its native coin.
fn config_text(args: &EvmBenchArgs, rpc_url: &str) -> String {
    format!(
        r#"
[[chains]]
code = "BENCH"
name = "Benchmark chain"
family = "evm"
confirmations = {CONFIRMATIONS}
block_time_ms = 1000

[[coins]]
id = "6d1c8b1e-0000-4000-8000-00000000b000"
symbol = "BETH"
name = "Benchmark Ether"
precision = 18
price = "2000"
  [[coins.tokens]]
  id = "{NATIVE_TOKEN}"
  chain = "BENCH"
  network = "BENCH"
  contract = "BETH"
  precision = 18
  fee = "0.001"

[evm.BENCH]
rpc_url = "{url}"
chain_id = {chain_id}
poll_interval_ms = {poll}
{ws}"#,
        url = rpc_url,
        chain_id = args.chain_id,
        poll = args.poll_interval_ms,
        ws = args
            .ws_url
            .as_ref()
            .map_or_else(String::new, |ws| format!("ws_url = \"{ws}\"\n")),
    )
}

/// The node, driven as a test node (unlocked accounts, `evm_mine`).
struct Node {
    client: reqwest::Client,
    url: String,
}

impl Node {
    async fn call(&self, method: &str, params: Value) -> anyhow::Result<Value> {
        let answer: Value = self
            .client
            .post(&self.url)
            .json(&json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}))
            .send()
            .await
            .map_err(reqwest::Error::without_url)
            .with_context(|| format!("{method} to {}", redacted_rpc_url(&self.url)))?
            .json()
            .await
            .with_context(|| format!("{method}: the answer"))?;
        if let Some(error) = answer.get("error") {
            bail!("{method}: {error}");
        }
        Ok(answer["result"].clone())
    }
}
