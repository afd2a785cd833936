//! The EVM adapter against a real node: ganache (tests/evm/package.json) on a
//! free loopback port, with an ERC-20 of our own deployed (tests/evm/TestToken.sol),
//! and `ccgate serve` following it. Orders paid in the token and in the native
//! coin, credited at the confirmations and notified; a restart between blocks;
//! payouts, reorgs, sweeps; the node behind https (tests/evm/tls_proxy.js)
//! with and without its CA. Hardhat (same package.json) where ganache
//! falls short: the replacement of a payout stuck in the mempool.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::{Gateway, HttpStub, Merchant, eventually};

#[path = "evm/internal.rs"]
mod internal;
#[path = "evm/live_mode.rs"]
mod live_mode;

/// A node makes the money live, where webhooks to loopback (the tests'
/// `HttpStub` receivers) need the operator's opt-in.
const PRIVATE_RECEIVERS: &str = "--allow-private-webhooks";

/// The accounts ganache funds, from the Hardhat development mnemonic.
const MNEMONIC: &str = "test test test test test test test test test test test junk";
const CHAIN_ID: u64 = 1337;
const NATIVE_TOKEN: &str = "6d1c8b1e-0000-4000-8000-00000000e001";
const TOKEN: &str = "6d1c8b1e-0000-4000-8000-00000000e002";
/// Required confirmations of the test chain.
const CONFIRMATIONS: u64 = 3;
/// The deployer's token supply, in base units (6 decimals).
const TOKEN_SUPPLY: u128 = 1_000_000_000_000;

/// Where `npm ci` puts ganache. Missing, the test fails naming the command
/// that installs it: a test that cannot run its real part never passes.
fn ganache_installed() -> PathBuf {
    node_cli_installed("node_modules/ganache/dist/node/cli.js")
}

/// Where `npm ci` puts hardhat's command line, as `ganache_installed`.
fn hardhat_installed() -> PathBuf {
    node_cli_installed("node_modules/hardhat/internal/cli/cli.js")
}

fn node_cli_installed(path: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/evm");
    let cli = dir.join(path);
    let node = Command::new("node")
        .arg("--version")
        .output()
        .is_ok_and(|out| out.status.success());
    assert!(
        node,
        "the EVM tests need node: `sudo apt-get install nodejs npm`, then `cargo xtask test`"
    );
    assert!(
        cli.is_file(),
        "the EVM tests need {} (npm packages): run `cargo xtask test`, which installs them, \
         or `npm ci` in {}",
        cli.display(),
        dir.display()
    );
    cli
}

/// An EVM node for one test (ganache, or hardhat), killed when dropped.
struct EvmNode {
    child: Child,
    address: SocketAddr,
    /// The funded, unlocked accounts.
    accounts: Vec<String>,
}

impl EvmNode {
    fn ganache(cli: &Path) -> EvmNode {
        let port = free_port();
        let mut command = Command::new("node");
        command
            .arg(cli)
            .args(["--server.host", "127.0.0.1", "--server.port"])
            .arg(port.to_string())
            .args(["--wallet.mnemonic", MNEMONIC, "--wallet.totalAccounts", "3"])
            .args(["--chain.chainId", &CHAIN_ID.to_string()])
            .args(["--logging.quiet", "true"]);
        EvmNode::start(command, port)
    }

    /// Hardhat's network (tests/evm/hardhat.config.js: the same mnemonic and
    /// chain id), mining each transaction at once like ganache until a test
    /// turns that off.
    fn hardhat(cli: &Path) -> EvmNode {
        let port = free_port();
        let mut command = Command::new("node");
        command
            .arg(cli)
            .args(["node", "--hostname", "127.0.0.1", "--port"])
            .arg(port.to_string())
            .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/evm"))
            .env("HARDHAT_DISABLE_TELEMETRY_PROMPT", "true");
        EvmNode::start(command, port)
    }

    fn start(mut command: Command, port: u16) -> EvmNode {
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        // Keep its output drained so it never blocks on a full pipe.
        let stdout = child.stdout.take().unwrap();
        std::thread::spawn(move || for _ in BufReader::new(stdout).lines() {});
        let address: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut node = EvmNode {
            child,
            address,
            accounts: Vec::new(),
        };
        let accounts = loop {
            if let Ok(answer) = try_rpc(address, "eth_accounts", json!([])) {
                break answer;
            }
            assert!(Instant::now() < deadline, "the EVM node did not start");
            std::thread::sleep(Duration::from_millis(100));
        };
        node.accounts = serde_json::from_value(accounts).unwrap();
        node
    }

    fn url(&self) -> String {
        format!("http://{}", self.address)
    }

    fn rpc(&self, method: &str, params: Value) -> Value {
        try_rpc(self.address, method, params).unwrap_or_else(|err| panic!("{method}: {err}"))
    }

    fn height(&self) -> u64 {
        hex_u64(&self.rpc("eth_blockNumber", json!([])))
    }

    fn mine(&self, blocks: u64) {
        for _ in 0..blocks {
            self.rpc("evm_mine", json!([]));
        }
    }

    /// Sends from an unlocked account and waits for the receipt (ganache
    /// mines each transaction in a block of its own).
    fn send(&self, tx: Value) -> Value {
        let hash = self.rpc("eth_sendTransaction", json!([tx]));
        eventually(30, "the receipt", || {
            match self.rpc("eth_getTransactionReceipt", json!([hash])) {
                Value::Null => Err("none yet".to_owned()),
                receipt => Ok(receipt),
            }
        })
    }

    /// Deploys TestToken with the whole supply to the first account.
    fn deploy_token(&self) -> String {
        let bytecode = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/evm/TestToken.bin"),
        )
        .unwrap();
        let data = format!("0x{}{}", bytecode.trim(), word(TOKEN_SUPPLY));
        let receipt = self.send(json!({"from": self.accounts[0], "data": data, "gas": "0x200000"}));
        assert_eq!(receipt["status"], "0x1", "{receipt}");
        receipt["contractAddress"].as_str().unwrap().to_owned()
    }

    fn pay_native(&self, to: &str, wei: u128) -> Value {
        self.send(json!({"from": self.accounts[1], "to": to, "value": format!("{wei:#x}")}))
    }

    fn pay_token(&self, contract: &str, to: &str, units: u128) -> Value {
        let data = format!(
            "0xa9059cbb{:0>64}{}",
            to.trim_start_matches("0x").to_lowercase(),
            word(units)
        );
        let receipt = self.send(
            json!({"from": self.accounts[0], "to": contract, "data": data, "gas": "0x30000"}),
        );
        assert_eq!(receipt["status"], "0x1", "{receipt}");
        receipt
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Drop for EvmNode {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A decimal amount in base units of `places` decimals (exactly, no float).
fn units(decimal: &str, places: usize) -> u128 {
    let (whole, fraction) = decimal.split_once('.').unwrap_or((decimal, ""));
    let fraction = format!("{fraction:0<places$}");
    whole.parse::<u128>().unwrap() * 10u128.pow(places as u32) + fraction.parse::<u128>().unwrap()
}

/// `network/fee` once it comes from the node's gas price (until the node was
/// first asked, the configured fee stands in: 0.001 GETH, 1 TUSDT).
fn live_fee(gateway: &Gateway, merchant: &Merchant, token_id: &str) -> String {
    eventually(10, "a fee from the node's gas price", || {
        let fee = post(
            gateway,
            merchant,
            "/ccpayment/v1/network/fee",
            &format!(r#"{{"token_id":"{token_id}"}}"#),
        );
        match fee["data"]["fee"].as_str() {
            Some("0.001") | Some("1") | None => Err(fee.to_string()),
            Some(live) => Ok(live.to_owned()),
        }
    })
}

/// A 32-byte ABI word.
fn word(value: u128) -> String {
    format!("{value:064x}")
}

fn hex_u64(value: &Value) -> u64 {
    u64::from_str_radix(value.as_str().unwrap().trim_start_matches("0x"), 16).unwrap()
}

/// One JSON-RPC call over a fresh HTTP/1.1 connection.
fn try_rpc(address: SocketAddr, method: &str, params: Value) -> Result<Value, String> {
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).to_string();
    let mut stream = TcpStream::connect(address).map_err(|e| e.to_string())?;
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .map_err(|e| e.to_string())?;
    let request = format!(
        "POST / HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream
        .write_all(request.as_bytes())
        .map_err(|e| e.to_string())?;
    let mut raw = String::new();
    stream.read_to_string(&mut raw).map_err(|e| e.to_string())?;
    let (head, payload) = raw.split_once("\r\n\r\n").ok_or("no HTTP body")?;
    // hardhat answers in chunks; ganache in one piece.
    let payload = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(payload)?
    } else {
        payload.to_owned()
    };
    let answer: Value = serde_json::from_str(&payload).map_err(|e| format!("{e}: {payload}"))?;
    match answer.get("error") {
        Some(error) => Err(error.to_string()),
        None => Ok(answer["result"].clone()),
    }
}

/// An HTTP/1.1 chunked body, joined.
fn dechunk(mut chunked: &str) -> Result<String, String> {
    let mut body = String::new();
    loop {
        let (size, rest) = chunked
            .split_once("\r\n")
            .ok_or("a chunk without its size")?;
        let size = usize::from_str_radix(size.trim(), 16).map_err(|e| e.to_string())?;
        if size == 0 {
            return Ok(body);
        }
        body.push_str(rest.get(..size).ok_or("a chunk cut short")?);
        chunked = rest.get(size + 2..).ok_or("a chunk cut short")?;
    }
}

/// A configuration with one EVM chain, GANACHE, on the node: its native coin
/// and the deployed token.
fn config_file(dir: &Path, ganache: &EvmNode, contract: &str, log_range_blocks: u64) -> PathBuf {
    let text = format!(
        r#"
[[chains]]
code = "GANACHE"
name = "Ganache"
family = "evm"
confirmations = {CONFIRMATIONS}
block_time_ms = 1000

[[coins]]
id = "6d1c8b1e-0000-4000-8000-00000000c001"
symbol = "GETH"
name = "Ganache Ether"
precision = 18
price = "2000"
  [[coins.tokens]]
  id = "{NATIVE_TOKEN}"
  chain = "GANACHE"
  network = "GANACHE"
  contract = "GETH"
  precision = 18
  fee = "0.001"

[[coins]]
id = "6d1c8b1e-0000-4000-8000-00000000c002"
symbol = "TUSDT"
name = "Test Tether"
precision = 6
price = "1"
  [[coins.tokens]]
  id = "{TOKEN}"
  chain = "GANACHE"
  network = "ERC20"
  contract = "{contract}"
  precision = 6
  fee = "1"

[evm.GANACHE]
rpc_url = "{url}"
chain_id = {CHAIN_ID}
poll_interval_ms = 250
log_range_blocks = {log_range_blocks}
"#,
        url = ganache.url(),
    );
    let path = dir.join("ccgate-evm.toml");
    std::fs::write(&path, text).unwrap();
    path
}

fn post(gateway: &Gateway, merchant: &Merchant, path: &str, body: &str) -> Value {
    let response = gateway.post_signed(merchant, path, body.as_bytes(), Some("application/json"));
    response.assert_signed_by(merchant);
    response.json()
}

/// An order for `amount` of `token_id`; its pay address.
fn order(
    gateway: &Gateway,
    merchant: &Merchant,
    token_id: &str,
    id: &str,
    amount: &str,
    notify: &str,
) -> String {
    let created = post(
        gateway,
        merchant,
        "/ccpayment/v1/bill/create",
        &format!(
            r#"{{"token_id":"{token_id}","amount":"{amount}","merchant_order_id":"{id}","fiat_currency":"token","notify_url":"{notify}"}}"#
        ),
    );
    assert_eq!(created["code"], 10000, "{created}");
    created["data"]["pay_address"].as_str().unwrap().to_owned()
}

fn order_status(gateway: &Gateway, merchant: &Merchant, id: &str) -> Value {
    let info = post(
        gateway,
        merchant,
        "/ccpayment/v1/bill/info",
        &format!(r#"{{"merchant_order_ids":["{id}"]}}"#),
    );
    info["data"][0].clone()
}

fn webhooks(receiver: &HttpStub) -> Vec<Value> {
    receiver
        .received()
        .iter()
        .map(|request| serde_json::from_slice(&request.body).unwrap())
        .collect()
}

/// The webhooks of order `id` telling `pay_status`.
fn hooks_with(receiver: &HttpStub, id: &str, pay_status: &str) -> Vec<Value> {
    webhooks(receiver)
        .into_iter()
        .filter(|hook| {
            hook["extend"]["merchant_order_id"] == id && hook["pay_status"] == pay_status
        })
        .collect()
}

/// The latest webhook of order `id` telling `pay_status`, once one arrived.
fn hook_with(receiver: &HttpStub, id: &str, pay_status: &str) -> Value {
    eventually(15, &format!("order {id} notified {pay_status}"), || {
        hooks_with(receiver, id, pay_status)
            .pop()
            .ok_or(format!("{:?}", webhooks(receiver)))
    })
}

/// The merchant's webhooks go to `url`, told of payments in a block before
/// their confirmations too.
fn notify_pending(gateway: &Gateway, merchant: &Merchant, url: &str) {
    gateway.cli_ok(&[
        "merchant",
        "set-webhook",
        "--app-id",
        &merchant.app_id,
        "--url",
        url,
        "--notify-pending",
    ]);
}

fn status(gateway: &Gateway, merchant: &Merchant, id: &str) -> String {
    order_status(gateway, merchant, id)["order_detail"]["status"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// Waits up to `seconds` for order `id` to be `want`.
fn wait_status(gateway: &Gateway, merchant: &Merchant, id: &str, want: &str, seconds: u64) {
    eventually(seconds, &format!("order {id} {want}"), || {
        let now = status(gateway, merchant, id);
        (now == want).then_some(()).ok_or(now)
    });
}

/// The test chain's height as the gateway reports it (v1's network
/// heights).
fn reported_height(gateway: &Gateway, merchant: &Merchant) -> u64 {
    let height = post(
        gateway,
        merchant,
        "/ccpayment/v1/get/network/height/info",
        "{}",
    );
    height["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|chain| chain["chain"] == "GANACHE")
        .unwrap_or_else(|| panic!("{height}"))["current_chain_height"]
        .as_u64()
        .unwrap()
}

fn doctor(gateway: &Gateway, config: &str) -> String {
    let out = gateway.cli(&["doctor", "--config", config]);
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `doctor`'s report, once it names a reorganisation that replaced a
/// credited payment.
fn deep_reorg_reported(gateway: &Gateway, config: &str) -> String {
    let report = eventually(15, "the deep reorganisation reported", || {
        let report = doctor(gateway, config);
        report
            .contains("PROBLEM reorgs")
            .then(|| report.clone())
            .ok_or(report)
    });
    assert!(
        report.contains("was replaced by a reorganisation"),
        "{report}"
    );
    report
}

/// `bench evm` against a real ganache at a small scale: deposits credited
/// and notified, their latencies printed as figures.
#[test]
fn evm_bench_measures_webhook_latency_on_a_real_node() {
    let ganache = EvmNode::ganache(&ganache_installed());
    let url = ganache.url();
    let stdout = crate::cli::bench_output(&[
        "evm",
        "--rpc-url",
        &url,
        "--chain-id",
        &CHAIN_ID.to_string(),
        "--payments",
        "3",
        "--block-transfers",
        "20",
    ]);
    assert!(
        stdout.contains("one deposit per block: webhook after the confirming block p50"),
        "{stdout}"
    );
    assert!(stdout.contains("20 deposits in one block"), "{stdout}");
    assert!(stdout.contains("all 20 credited and notified"), "{stdout}");
}

#[test]
fn evm_orders_paid_in_the_token_and_the_native_coin_are_credited_at_the_confirmations() {
    let cli = ganache_installed();
    let ganache = EvmNode::ganache(&cli);
    let contract = ganache.deploy_token();
    let config_dir = tempfile::tempdir().unwrap();
    let config = config_file(config_dir.path(), &ganache, &contract, 500);
    let config = config.to_str().unwrap();
    let gateway = Gateway::start(&["--config", config, PRIVATE_RECEIVERS]);
    let merchant = gateway.create_merchant("shop");
    let receiver = HttpStub::start(200, "success");

    // The height and the fee come from the node.
    assert_eq!(reported_height(&gateway, &merchant), ganache.height());
    let fee = live_fee(&gateway, &merchant, NATIVE_TOKEN);
    // ganache: base fee ≤ 1 gwei, tip 1 gwei → at most 3 gwei × 21 000.
    let fee_wei = units(&fee, 18);
    assert!(fee_wei > 0 && fee_wei <= 63_000_000_000_000, "{fee}");
    // The token's: its transfer gas (65 000) in GETH, at 2000 USD per GETH
    // and 1 USD per TUSDT: at most 0.39 TUSDT, rounded up.
    let token_fee = live_fee(&gateway, &merchant, TOKEN);
    let token_fee_units = units(&token_fee, 6);
    assert!(
        token_fee_units > 0 && token_fee_units <= 390_000,
        "{token_fee}"
    );

    let token_address = order(
        &gateway,
        &merchant,
        TOKEN,
        "evm-token-1",
        "12.5",
        &receiver.url,
    );
    let native_address = order(
        &gateway,
        &merchant,
        NATIVE_TOKEN,
        "evm-native-1",
        "0.25",
        &receiver.url,
    );
    let token_receipt = ganache.pay_token(&contract, &token_address, 12_500_000);
    let native_receipt = ganache.pay_native(&native_address, 250_000_000_000_000_000);

    // Seen in a block, not yet confirmed: Processing, no webhook yet.
    wait_status(&gateway, &merchant, "evm-token-1", "Processing", 15);
    assert!(receiver.received().is_empty());

    ganache.mine(CONFIRMATIONS - 1);
    receiver.wait_for_requests(2);
    let hooks = webhooks(&receiver);
    for (receipt, amount, crypto) in [
        (&token_receipt, "12.5", "TUSDT"),
        (&native_receipt, "0.25", "GETH"),
    ] {
        let txid = receipt["transactionHash"].as_str().unwrap();
        let hook = hooks
            .iter()
            .find(|hook| hook["txid"] == txid)
            .unwrap_or_else(|| panic!("no webhook for {txid}: {hooks:?}"));
        assert_eq!(hook["order_type"], "API Deposit", "{hook}");
        assert_eq!(hook["pay_status"], "success", "{hook}");
        assert_eq!(hook["paid_amount"], amount, "{hook}");
        assert_eq!(hook["crypto"], crypto, "{hook}");
        assert_eq!(hook["chain"], "GANACHE", "{hook}");
    }
    for id in ["evm-token-1", "evm-native-1"] {
        let order = order_status(&gateway, &merchant, id);
        assert_eq!(order["order_detail"]["status"], "Successful", "{order}");
    }
    books_balance(&gateway, config);
}

/// A payment made while ccgate is down, in blocks scanned in ranges of two,
/// is credited once after a restart, and nothing credited before is again.
#[test]
fn evm_deposits_resume_from_the_cursor_after_a_restart() {
    let cli = ganache_installed();
    let ganache = EvmNode::ganache(&cli);
    let contract = ganache.deploy_token();
    let config_dir = tempfile::tempdir().unwrap();
    let config = config_file(config_dir.path(), &ganache, &contract, 2);
    let config = config.to_str().unwrap();
    let mut gateway = Gateway::start(&["--config", config, PRIVATE_RECEIVERS]);
    let merchant = gateway.create_merchant("shop");
    let receiver = HttpStub::start(200, "success");
    let first = order(&gateway, &merchant, TOKEN, "before", "1", &receiver.url);
    let second = order(&gateway, &merchant, TOKEN, "during", "2", &receiver.url);
    let third = order(
        &gateway,
        &merchant,
        NATIVE_TOKEN,
        "after",
        "0.5",
        &receiver.url,
    );

    ganache.pay_token(&contract, &first, 1_000_000);
    ganache.mine(CONFIRMATIONS - 1);
    receiver.wait_for_requests(1);

    gateway.kill_hard();
    ganache.pay_token(&contract, &second, 2_000_000);
    ganache.mine(3);
    ganache.pay_native(&third, 500_000_000_000_000_000);
    ganache.mine(CONFIRMATIONS - 1);
    let gateway = gateway.restart(&["--config", config, PRIVATE_RECEIVERS]);

    receiver.wait_for_requests(3);
    for id in ["before", "during", "after"] {
        eventually(15, "every order paid", || {
            let order = order_status(&gateway, &merchant, id);
            (order["order_detail"]["status"] == "Successful")
                .then_some(())
                .ok_or(order.to_string())
        });
    }
    // Nothing twice: one webhook per payment, one payment per order.
    ganache.mine(2);
    let hooks = webhooks(&receiver);
    let mut txids: Vec<&str> = hooks.iter().filter_map(|h| h["txid"].as_str()).collect();
    txids.sort_unstable();
    txids.dedup();
    assert_eq!(txids.len(), 3, "{hooks:?}");
    for id in ["before", "during", "after"] {
        let order = order_status(&gateway, &merchant, id);
        assert_eq!(order["trade_list"].as_array().unwrap().len(), 1, "{order}");
    }
}

fn balance_of(ganache: &EvmNode, contract: &str, owner: &str) -> u128 {
    let data = format!(
        "0x70a08231{:0>64}",
        owner.trim_start_matches("0x").to_lowercase()
    );
    let answer = ganache.rpc(
        "eth_call",
        json!([{"to": contract, "data": data}, "latest"]),
    );
    u128::from_str_radix(answer.as_str().unwrap().trim_start_matches("0x"), 16).unwrap()
}

fn native_balance(ganache: &EvmNode, owner: &str) -> u128 {
    let answer = ganache.rpc("eth_getBalance", json!([owner, "latest"]));
    u128::from_str_radix(answer.as_str().unwrap().trim_start_matches("0x"), 16).unwrap()
}

fn withdraw(
    gateway: &Gateway,
    merchant: &Merchant,
    token_id: &str,
    to: &str,
    value: &str,
    id: &str,
    merchant_pays_fee: bool,
) {
    let answer = post(
        gateway,
        merchant,
        "/ccpayment/v1/withdraw",
        &format!(
            r#"{{"token_id":"{token_id}","address":"{to}","value":"{value}","merchant_order_id":"{id}","merchant_pays_fee":{merchant_pays_fee}}}"#
        ),
    );
    assert_eq!(answer["code"], 10000, "{answer}");
}

/// (available, reserved) of a coin, from the operator's view.
fn balance(gateway: &Gateway, config: &str, merchant: &Merchant, symbol: &str) -> (String, String) {
    let balances: Value = serde_json::from_str(&gateway.cli_ok(&[
        "ledger",
        "balances",
        "--app-id",
        &merchant.app_id,
        "--json",
        "--config",
        config,
    ]))
    .unwrap();
    let row = balances
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["crypto"] == symbol)
        .cloned()
        .unwrap_or_default();
    (
        row["value"].as_str().unwrap_or("0").to_owned(),
        row["reserved"].as_str().unwrap_or("0").to_owned(),
    )
}

/// Payouts from the hot wallet (derived from the deposit seed, funded here
/// from ganache's accounts): a token and a native withdrawal sent, mined and
/// posted at the confirmations; one the hot wallet cannot cover voided.
#[test]
fn evm_withdrawals_are_paid_from_the_hot_wallet_posted_or_voided() {
    let cli = ganache_installed();
    let ganache = EvmNode::ganache(&cli);
    let contract = ganache.deploy_token();
    let config_dir = tempfile::tempdir().unwrap();
    let config = config_file(config_dir.path(), &ganache, &contract, 500);
    let config = config.to_str().unwrap();
    let gateway = Gateway::start(&["--config", config, PRIVATE_RECEIVERS]);
    let merchant = gateway.create_merchant("shop");
    let receiver = HttpStub::start(200, "success");
    gateway.set_webhook(&merchant, &receiver.url);

    let hot: Value =
        serde_json::from_str(&gateway.cli_ok(&["evm", "hot-wallet", "--json", "--config", config]))
            .unwrap();
    let hot = hot["address"].as_str().unwrap().to_owned();
    // `doctor` says what the hot wallet holds, and that an empty one cannot pay.
    let doctor = gateway.cli(&["doctor", "--config", config]);
    let report = String::from_utf8_lossy(&doctor.stdout);
    assert!(!doctor.status.success(), "{report}");
    assert!(
        report.contains(&format!(
            "PROBLEM chain GANACHE hot wallet: {hot} holds none of the native coin"
        )),
        "{report}"
    );
    ganache.pay_native(&hot, 5_000_000_000_000_000_000);
    ganache.pay_token(&contract, &hot, 100_000_000);
    let report = gateway.cli_ok(&["doctor", "--config", config]);
    assert!(
        report.contains(&format!(
            "ok      chain GANACHE hot wallet: {hot} holds 5 GETH, 100 TUSDT"
        )),
        "{report}"
    );
    // The dashboard's chain status shows what doctor does (decisions §30).
    let password =
        crate::dashboard::create_user(&gateway, &["--operator", "--email", "ops@example.com"]);
    let (mut ops, _) =
        crate::dashboard::logged_in(&gateway, "ops@example.com", &password, "/dashboard/chains");
    let chains = ops.get("/dashboard/chains");
    let text = chains.text();
    assert!(text.contains("<td>GANACHE</td><td>node</td>"), "{text}");
    for shown in [hot.as_str(), "5 GETH", "100 TUSDT"] {
        assert!(text.contains(shown), "{shown}: {text}");
    }
    for (coin, amount) in [("TUSDT", "1000"), ("GETH", "2")] {
        gateway.adjust(&merchant, coin, amount, &["--config", config]);
    }
    let payee = ganache.accounts[2].clone();
    live_fee(&gateway, &merchant, TOKEN);
    let payee_native_before = native_balance(&ganache, &payee);
    let hot_native_before = native_balance(&ganache, &hot);
    let hot_nonce = |tag: &str| hex_u64(&ganache.rpc("eth_getTransactionCount", json!([hot, tag])));
    let hot_nonce_before = hot_nonce("latest");

    withdraw(&gateway, &merchant, TOKEN, &payee, "10", "w-token", false);
    withdraw(
        &gateway,
        &merchant,
        NATIVE_TOKEN,
        &payee,
        "0.5",
        "w-native",
        true,
    );
    // The hot wallet holds 100 TUSDT: the node refuses the transfer of ~500.
    withdraw(
        &gateway,
        &merchant,
        TOKEN,
        &payee,
        "500",
        "w-too-much",
        false,
    );

    // ganache mines each transaction at once; the confirmations are mined
    // here, once both payouts are in. ganache 7.9 prices a transaction that
    // arrives while it mines a block by that block's base fee in its receipt,
    // but charges the base fee of the block it lands in: mining now could
    // make the receipt (which the books follow) disagree with the chain.
    eventually(60, "both payouts mined", || match hot_nonce("latest") {
        mined if mined >= hot_nonce_before + 2 => Ok(()),
        mined => Err(format!("nonce {mined}, pending {}", hot_nonce("pending"))),
    });
    let hooks = eventually(60, "all three withdrawals resolved", || {
        ganache.mine(1);
        let hooks: Vec<Value> = webhooks(&receiver)
            .into_iter()
            .filter(|hook| hook["order_type"] == "API Withdrawal")
            .collect();
        if hooks.len() >= 3 {
            Ok(hooks)
        } else {
            Err(format!("{hooks:?}"))
        }
    });
    let hook = |id: &str| {
        hooks
            .iter()
            .find(|hook| hook["merchant_order_id"] == id)
            .unwrap_or_else(|| panic!("no webhook for {id}: {hooks:?}"))
            .clone()
    };
    let (token_hook, native_hook, failed_hook) =
        (hook("w-token"), hook("w-native"), hook("w-too-much"));
    assert_eq!(token_hook["pay_status"], "success", "{token_hook}");
    // The fee is the token transfer's gas in TUSDT, at the prices.
    let token_net = units(token_hook["net_receivable"].as_str().unwrap(), 6);
    let token_fee = units(token_hook["network_fee"].as_str().unwrap(), 6);
    assert_eq!(token_net + token_fee, 10_000_000, "{token_hook}");
    assert!(token_fee > 0 && token_fee <= 390_000, "{token_hook}");
    assert_eq!(native_hook["pay_status"], "success", "{native_hook}");
    assert_eq!(native_hook["net_receivable"], "0.5", "{native_hook}");
    assert_eq!(failed_hook["pay_status"], "failed", "{failed_hook}");

    // What the chain shows: paid once each, from the hot wallet.
    assert_eq!(balance_of(&ganache, &contract, &payee), token_net);
    assert_eq!(
        native_balance(&ganache, &payee) - payee_native_before,
        500_000_000_000_000_000
    );
    for hook in [&token_hook, &native_hook] {
        let chain_tx = ganache.rpc("eth_getTransactionByHash", json!([hook["txid"]]));
        assert_eq!(
            chain_tx["from"].as_str().unwrap().to_lowercase(),
            hot.to_lowercase()
        );
        assert_eq!(chain_tx["type"], "0x2", "EIP-1559: {chain_tx}");
    }
    // The voided one came back; the posted ones left.
    assert_eq!(
        balance(&gateway, config, &merchant, "TUSDT"),
        ("990".to_owned(), "0".to_owned())
    );
    let (geth, geth_reserved) = balance(&gateway, config, &merchant, "GETH");
    assert_eq!(geth_reserved, "0");
    let fee = native_hook["network_fee"].as_str().unwrap();
    assert_eq!(
        units(&geth, 18),
        1_500_000_000_000_000_000 - units(fee, 18),
        "{geth} {fee}"
    );
    // The books follow the chain: custody paid out exactly what left the hot
    // wallet (the payouts and their gas), the fees are the operator's, and
    // the gas is its network cost.
    let books = operator_accounts(&gateway, config);
    let gas = gas_paid(&ganache, token_hook["txid"].as_str().unwrap())
        + gas_paid(&ganache, native_hook["txid"].as_str().unwrap());
    assert_eq!(
        units(
            &books.amount("operator:network_costs", "GETH", "debits"),
            18
        ),
        gas
    );
    assert_eq!(
        units(&books.amount("custody:GANACHE", "GETH", "credits"), 18),
        hot_native_before - native_balance(&ganache, &hot)
    );
    assert_eq!(
        units(&books.amount("custody:GANACHE", "TUSDT", "credits"), 6),
        token_net
    );
    assert_eq!(
        units(&books.amount("operator:fees", "TUSDT", "credits"), 6),
        token_fee
    );
    assert_eq!(books.amount("operator:fees", "GETH", "credits"), fee);
    books_balance(&gateway, config);
}

/// Two instances on one PostgreSQL database pay out concurrent withdrawals
/// from one hot wallet: every payout gets its own nonce (no two signed with
/// one, no gap left), each is mined and posted once, the payee is paid the
/// sum exactly.
#[test]
fn evm_concurrent_payouts_through_two_instances_take_distinct_nonces() {
    const WITHDRAWALS: usize = 16;
    // Hardhat: the payouts reach the node out of nonce order, and ganache 7
    // holds a raw transaction's answer until a nonce gap below it is filled
    // (seen timing out here); hardhat queues it and answers at once, as
    // geth does.
    let cli = hardhat_installed();
    let Some(url) = crate::postgres::database_url() else {
        return;
    };
    let schema = crate::postgres::Schema::new();
    let ganache = EvmNode::hardhat(&cli);
    let contract = ganache.deploy_token();
    let config_dir = tempfile::tempdir().unwrap();
    let config = config_file(config_dir.path(), &ganache, &contract, 500);
    let config = config.to_str().unwrap();
    let args = [
        "--config",
        config,
        "--database-url",
        url.as_str(),
        "--database-schema",
        schema.0.as_str(),
    ];
    let serve_args = [args.as_slice(), &[PRIVATE_RECEIVERS]].concat();
    let first = Gateway::start(&serve_args);
    let second = first.another(&serve_args);
    let merchant = first.create_merchant_on("shop", &args[2..]);
    let receiver = HttpStub::start(200, "success");
    let cli_args = |command: &[&'static str]| {
        let mut all: Vec<&str> = command.to_vec();
        all.extend_from_slice(&args);
        all.into_iter().map(str::to_owned).collect::<Vec<String>>()
    };
    let run = |command: Vec<String>| {
        first.cli_ok(&command.iter().map(String::as_str).collect::<Vec<_>>())
    };
    let mut set_webhook = cli_args(&["merchant", "set-webhook"]);
    set_webhook.extend(["--app-id", &merchant.app_id, "--url", &receiver.url].map(str::to_owned));
    run(set_webhook);
    let hot: Value =
        serde_json::from_str(&run(cli_args(&["evm", "hot-wallet", "--json"]))).unwrap();
    let hot = hot["address"].as_str().unwrap().to_owned();
    ganache.pay_native(&hot, 5_000_000_000_000_000_000);
    first.adjust(&merchant, "GETH", "2", &args);
    let payee = ganache.accounts[2].clone();
    let payee_before = native_balance(&ganache, &payee);
    let hot_nonce_before = hex_u64(&ganache.rpc("eth_getTransactionCount", json!([hot, "latest"])));

    std::thread::scope(|scope| {
        for n in 0..WITHDRAWALS {
            let (gateway, merchant, payee) =
                (if n % 2 == 0 { &first } else { &second }, &merchant, &payee);
            scope.spawn(move || {
                withdraw(
                    gateway,
                    merchant,
                    NATIVE_TOKEN,
                    payee,
                    "0.01",
                    &format!("w-{n}"),
                    true,
                );
            });
        }
    });
    let hooks = eventually(90, "every withdrawal posted", || {
        ganache.mine(1);
        let hooks: Vec<Value> = webhooks(&receiver)
            .into_iter()
            .filter(|hook| hook["order_type"] == "API Withdrawal")
            .collect();
        if hooks.len() >= WITHDRAWALS {
            Ok(hooks)
        } else {
            Err(format!("{} of {WITHDRAWALS}", hooks.len()))
        }
    });
    assert_eq!(hooks.len(), WITHDRAWALS, "each notified once");
    let mut nonces = std::collections::BTreeSet::new();
    for hook in &hooks {
        assert_eq!(hook["pay_status"], "success", "{hook}");
        let chain_tx = ganache.rpc("eth_getTransactionByHash", json!([hook["txid"]]));
        assert!(
            nonces.insert(hex_u64(&chain_tx["nonce"])),
            "two payouts with one nonce: {chain_tx}"
        );
    }
    let expected: std::collections::BTreeSet<u64> =
        (hot_nonce_before..hot_nonce_before + WITHDRAWALS as u64).collect();
    assert_eq!(nonces, expected, "the nonces follow on, no gap");
    assert_eq!(
        native_balance(&ganache, &payee) - payee_before,
        WITHDRAWALS as u128 * 10_000_000_000_000_000
    );
    assert!(run(cli_args(&["ledger", "verify"])).contains("all equal"));
}

/// `ccgate ledger accounts --json`: the operator's side of the books.
struct Books(Vec<Value>);

impl Books {
    /// `debits` or `credits` of an account in a coin; "0" when it has none.
    fn amount(&self, account: &str, crypto: &str, side: &str) -> String {
        self.0
            .iter()
            .find(|row| row["account"] == account && row["crypto"] == crypto)
            .map_or_else(
                || "0".to_owned(),
                |row| row[side].as_str().unwrap().to_owned(),
            )
    }
}

fn operator_accounts(gateway: &Gateway, config: &str) -> Books {
    Books(
        serde_json::from_str(
            &gateway.cli_ok(&["ledger", "accounts", "--json", "--config", config]),
        )
        .unwrap(),
    )
}

/// Reorganisations made with `evm_snapshot`/`evm_revert`: a payment seen in
/// a block that is replaced before its confirmations is dropped (its order
/// back to Pending, never credited); one replaced after it was credited keeps
/// its credit and is reported by `doctor`.
#[test]
fn evm_reorgs_drop_unconfirmed_payments_and_report_credited_ones() {
    let cli = ganache_installed();
    let ganache = EvmNode::ganache(&cli);
    let contract = ganache.deploy_token();
    let config_dir = tempfile::tempdir().unwrap();
    let config = config_file(config_dir.path(), &ganache, &contract, 500);
    let config = config.to_str().unwrap();
    let gateway = Gateway::start(&["--config", config, PRIVATE_RECEIVERS]);
    let merchant = gateway.create_merchant("shop");
    let receiver = HttpStub::start(200, "success");
    notify_pending(&gateway, &merchant, &receiver.url);

    // Shallow: replaced before its confirmations.
    let vanished = order(&gateway, &merchant, TOKEN, "vanished", "5", &receiver.url);
    let snapshot = ganache.rpc("evm_snapshot", json!([]));
    ganache.pay_token(&contract, &vanished, 5_000_000);
    wait_status(&gateway, &merchant, "vanished", "Processing", 15);
    assert_eq!(ganache.rpc("evm_revert", json!([snapshot])), true);
    ganache.mine(2);
    wait_status(&gateway, &merchant, "vanished", "Pending", 15);
    // Told `processing`, then `failed`, under the same record.
    let failed = hook_with(&receiver, "vanished", "failed");
    let processing = hooks_with(&receiver, "vanished", "processing");
    assert_eq!(processing.len(), 1, "{processing:?}");
    assert_eq!(failed["record_id"], processing[0]["record_id"]);
    // A later payment is credited; by then the replaced heights were scanned.
    let later = order(
        &gateway,
        &merchant,
        NATIVE_TOKEN,
        "later",
        "0.1",
        &receiver.url,
    );
    ganache.pay_native(&later, 100_000_000_000_000_000);
    ganache.mine(CONFIRMATIONS - 1);
    hook_with(&receiver, "later", "success");
    assert_eq!(status(&gateway, &merchant, "later"), "Successful");
    assert_eq!(status(&gateway, &merchant, "vanished"), "Pending");
    assert!(
        hooks_with(&receiver, "vanished", "success").is_empty(),
        "never credited"
    );

    // Deep: replaced after it was credited.
    let credited = order(&gateway, &merchant, TOKEN, "credited", "7", &receiver.url);
    let snapshot = ganache.rpc("evm_snapshot", json!([]));
    ganache.pay_token(&contract, &credited, 7_000_000);
    ganache.mine(CONFIRMATIONS - 1);
    hook_with(&receiver, "credited", "success");
    assert_eq!(ganache.rpc("evm_revert", json!([snapshot])), true);
    ganache.mine(CONFIRMATIONS + 2);
    deep_reorg_reported(&gateway, config);
    // Never silently reversed: the credit stands.
    assert_eq!(status(&gateway, &merchant, "credited"), "Successful");
    books_balance(&gateway, config);
}

/// `ccgate ledger verify`: the journal replays to the stored balances.
fn books_balance(gateway: &Gateway, config: &str) {
    let verified = gateway.cli_ok(&["ledger", "verify", "--config", config]);
    assert!(verified.contains("all equal"), "{verified}");
}

/// The `ledger verify` line's count of journal entries.
fn journal_entries(gateway: &Gateway, config: &str) -> u64 {
    let verified = gateway.cli_ok(&["ledger", "verify", "--config", config]);
    assert!(verified.contains("all equal"), "{verified}");
    verified
        .split_whitespace()
        .next()
        .and_then(|count| count.parse().ok())
        .unwrap_or_else(|| panic!("{verified}"))
}

/// The gas a mined transaction paid, in wei.
fn gas_paid(ganache: &EvmNode, txid: &str) -> u128 {
    let receipt = ganache.rpc("eth_getTransactionReceipt", json!([txid]));
    let quantity = |field: &str| {
        u128::from_str_radix(
            receipt[field].as_str().unwrap().trim_start_matches("0x"),
            16,
        )
        .unwrap()
    };
    quantity("gasUsed") * quantity("effectiveGasPrice")
}

/// Sweeping: a native deposit and a token deposit above their `sweep_min`
/// moved to the hot wallet (the token after a gas top-up from it), the gas
/// of both posted to the journal as network costs; a token deposit below its
/// threshold left where it is and shown waiting by `ccgate evm sweeps`.
#[test]
fn evm_deposits_above_the_threshold_are_swept_into_the_hot_wallet() {
    // Hardhat: the sweeps are broadcast while this test mines, and ganache
    // 7.9's receipt of a transaction that arrives mid-mining can name the
    // previous block's base fee while the chain charged the next one's: the
    // books (which follow receipts) then leave wei at the swept address, and
    // reconciliation credits it as a deposit (seen: 606 707 939 793 wei).
    let cli = hardhat_installed();
    let ganache = EvmNode::hardhat(&cli);
    let contract = ganache.deploy_token();
    let config_dir = tempfile::tempdir().unwrap();
    let config = config_file(config_dir.path(), &ganache, &contract, 500);
    // [evm.GANACHE] is the file's last section: this line lands in it.
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(&config)
        .unwrap();
    writeln!(file, "sweep_min = {{ TUSDT = \"5\", GETH = \"0.1\" }}").unwrap();
    // Reconciliation compares the swept addresses' balances with the books
    // every second: a sweep, its gas and its top-up are neither deposit nor loss.
    writeln!(file, "reconcile_interval_secs = 1").unwrap();
    let config = config.to_str().unwrap();
    let gateway = Gateway::start(&["--config", config, PRIVATE_RECEIVERS]);
    let merchant = gateway.create_merchant("shop");
    let receiver = HttpStub::start(200, "success");

    let hot: Value =
        serde_json::from_str(&gateway.cli_ok(&["evm", "hot-wallet", "--json", "--config", config]))
            .unwrap();
    let hot = hot["address"].as_str().unwrap().to_owned();
    // Gas for the token sweep's top-up.
    ganache.pay_native(&hot, 1_000_000_000_000_000_000);
    let hot_native_before = native_balance(&ganache, &hot);

    let token_address = order(
        &gateway,
        &merchant,
        TOKEN,
        "sweep-token",
        "20",
        &receiver.url,
    );
    let native_address = order(
        &gateway,
        &merchant,
        NATIVE_TOKEN,
        "sweep-native",
        "1",
        &receiver.url,
    );
    let small_address = order(
        &gateway,
        &merchant,
        TOKEN,
        "sweep-small",
        "2",
        &receiver.url,
    );
    ganache.pay_token(&contract, &token_address, 20_000_000);
    ganache.pay_native(&native_address, 1_000_000_000_000_000_000);
    ganache.pay_token(&contract, &small_address, 2_000_000);
    ganache.mine(CONFIRMATIONS);
    receiver.wait_for_requests(3);
    let entries_credited = journal_entries(&gateway, config);

    let sweeps_of = || -> Value {
        let listed: Value =
            serde_json::from_str(&gateway.cli_ok(&["evm", "sweeps", "--json", "--config", config]))
                .unwrap();
        listed["chains"][0].clone()
    };
    // Settled at the confirmations, mined here.
    let done = eventually(60, "both sweeps settled", || {
        ganache.mine(1);
        let chain = sweeps_of();
        let sweeps = chain["sweeps"].as_array().unwrap().clone();
        let settled = sweeps
            .iter()
            .filter(|sweep| sweep["state"] == "done")
            .count();
        if settled == 2 {
            Ok(chain)
        } else {
            Err(chain.to_string())
        }
    });
    let sweeps = done["sweeps"].as_array().unwrap();
    let sweep_from = |address: &str| {
        sweeps
            .iter()
            .find(|sweep| sweep["from_address"] == address)
            .unwrap_or_else(|| panic!("no sweep from {address}: {done}"))
            .clone()
    };

    // The token: all of it at the hot wallet, after a top-up of gas.
    let token_sweep = sweep_from(&token_address);
    assert_eq!(token_sweep["amount"], "20", "{token_sweep}");
    assert!(token_sweep["top_up_payout_id"].is_string(), "{token_sweep}");
    assert_eq!(balance_of(&ganache, &contract, &token_address), 0);
    assert_eq!(balance_of(&ganache, &contract, &hot), 20_000_000);
    let token_sweep_gas = gas_paid(&ganache, token_sweep["txid"].as_str().unwrap());
    // Its cost is its own gas and its top-up's.
    assert!(
        units(token_sweep["gas_cost"].as_str().unwrap(), 18) > token_sweep_gas,
        "{token_sweep}"
    );

    // The native coin: the balance less the gas, at the hot wallet.
    let native_sweep = sweep_from(&native_address);
    let native_swept = units(native_sweep["amount"].as_str().unwrap(), 18);
    let native_gas = units(native_sweep["gas_cost"].as_str().unwrap(), 18);
    assert_eq!(
        native_gas,
        gas_paid(&ganache, native_sweep["txid"].as_str().unwrap())
    );
    assert_eq!(
        native_balance(&ganache, &native_address),
        1_000_000_000_000_000_000 - native_swept - native_gas
    );
    assert!(native_swept > 999_000_000_000_000_000, "{native_sweep}");
    // The hot wallet gained the swept coin, less the top-up it paid.
    let hot_native_after = native_balance(&ganache, &hot);
    assert!(
        hot_native_after > hot_native_before && hot_native_after < hot_native_before + native_swept,
        "{hot_native_before} → {hot_native_after}"
    );

    // Below its threshold: left at its address, shown waiting.
    assert_eq!(balance_of(&ganache, &contract, &small_address), 2_000_000);
    let small = done["balances"]
        .as_array()
        .unwrap()
        .iter()
        .find(|balance| balance["address"] == small_address && balance["symbol"] == "TUSDT")
        .unwrap_or_else(|| panic!("{done}"))
        .clone();
    assert_eq!(small["balance"], "2", "{small}");
    assert_eq!(small["sweep_min"], "5", "{small}");
    assert_eq!(small["above_threshold"], false, "{small}");
    let text = gateway.cli_ok(&["evm", "sweeps", "--config", config]);
    assert!(text.contains(&small_address), "{text}");

    // The top-up paid a deposit address but is no deposit: once a later
    // payment (in a later block) is credited, the watcher has scanned past it
    // and only that payment was added — with one gas entry per sweep.
    ganache.pay_native(&small_address, 10_000_000_000_000_000);
    ganache.mine(CONFIRMATIONS);
    receiver.wait_for_requests(4);
    assert_eq!(journal_entries(&gateway, config), entries_credited + 2 + 1);
    assert_eq!(webhooks(&receiver).len(), 4);
    // Reconciliation compares every address with the books, past the sweeps,
    // their gas and the top-up: none is a deposit, none a loss.
    ganache.mine(2);
    reconciled_up_to(&gateway, config, ganache.height() - (CONFIRMATIONS - 1));
    assert_eq!(journal_entries(&gateway, config), entries_credited + 2 + 1);
    assert_eq!(webhooks(&receiver).len(), 4);
}

/// Waits until balance reconciliation has found every active deposit
/// address in agreement with the books up to `height` (`ccgate doctor`
/// says so); a surplus or a shortfall keeps an address behind, and fails
/// the wait with the report.
fn reconciled_up_to(gateway: &Gateway, config: &str, height: u64) -> String {
    const AGREE: &str = "no deposit address holds less than the books (";
    const UP_TO: &str = "each up to block ";
    eventually(
        30,
        &format!("every address reconciled up to block {height}"),
        || {
            let doctor = gateway.cli(&["doctor", "--config", config]);
            let report = String::from_utf8_lossy(&doctor.stdout).into_owned();
            let lowest = report
                .split_once(AGREE)
                .and_then(|(_, rest)| rest.split_once(UP_TO))
                .and_then(|(_, rest)| rest.split(' ').next())
                .and_then(|number| number.parse::<u64>().ok());
            match lowest {
                Some(lowest) if lowest >= height => Ok(report),
                _ => Err(report),
            }
        },
    )
}

/// A hardhat node mining only when told, a gateway following it with a
/// funded hot wallet and a merchant holding 2 GETH, and one payout of
/// 0.5 GETH sent and waiting in the mempool.
struct PendingPayout {
    hardhat: EvmNode,
    gateway: Gateway,
    merchant: Merchant,
    receiver: HttpStub,
    config: String,
    hot: String,
    payee: String,
    payee_before: u128,
    _config_dir: tempfile::TempDir,
}

impl PendingPayout {
    /// `evm_settings`: lines added to the chain's `[evm.GANACHE]` section.
    fn start(cli: &Path, evm_settings: &str) -> PendingPayout {
        let hardhat = EvmNode::hardhat(cli);
        let contract = hardhat.deploy_token();
        let config_dir = tempfile::tempdir().unwrap();
        let config = config_file(config_dir.path(), &hardhat, &contract, 500);
        let mut text = std::fs::read_to_string(&config).unwrap();
        text.push_str(evm_settings);
        std::fs::write(&config, text).unwrap();
        let config = config.to_str().unwrap().to_owned();
        let gateway = Gateway::start(&["--config", &config, PRIVATE_RECEIVERS]);
        let merchant = gateway.create_merchant("shop");
        let receiver = HttpStub::start(200, "success");
        gateway.set_webhook(&merchant, &receiver.url);
        let hot: Value = serde_json::from_str(&gateway.cli_ok(&[
            "evm",
            "hot-wallet",
            "--json",
            "--config",
            &config,
        ]))
        .unwrap();
        let hot = hot["address"].as_str().unwrap().to_owned();
        hardhat.pay_native(&hot, 5_000_000_000_000_000_000);
        gateway.adjust(&merchant, "GETH", "2", &["--config", &config]);
        let payee = hardhat.accounts[2].clone();
        let payee_before = native_balance(&hardhat, &payee);
        // From here on blocks come only when the test mines them.
        hardhat.rpc("evm_setAutomine", json!([false]));
        PendingPayout {
            hardhat,
            gateway,
            merchant,
            receiver,
            config,
            hot,
            payee,
            payee_before,
            _config_dir: config_dir,
        }
    }

    /// Withdraws 0.5 GETH as `id`; the transaction sent, still pending.
    fn first_txid(&self, id: &str) -> String {
        withdraw(
            &self.gateway,
            &self.merchant,
            NATIVE_TOKEN,
            &self.payee,
            "0.5",
            id,
            true,
        );
        eventually(30, "the payout broadcast", || {
            let status = order_status(&self.gateway, &self.merchant, id)["withdraw_detail"].clone();
            match status["txid"].as_str() {
                Some(txid) if !txid.is_empty() => Ok(txid.to_owned()),
                _ => Err(status.to_string()),
            }
        })
    }
}

/// A payout stuck in the mempool (the base fee jumped past its max fee) is
/// signed again with the same nonce and fees that follow the market; the
/// replacement is mined, the first never is, the payee is paid once, and the
/// withdrawal, its record and its webhook name the transaction that landed.
/// On hardhat: ganache 7 does not honour a same-nonce replacement.
#[test]
fn evm_a_payout_stuck_in_the_mempool_is_replaced_and_paid_once() {
    let cli = hardhat_installed();
    let payout = PendingPayout::start(&cli, "replace_after_secs = 2\nmax_replacements = 3\n");
    let PendingPayout {
        hardhat,
        gateway,
        merchant,
        receiver,
        config,
        hot,
        payee,
        payee_before,
        ..
    } = &payout;
    let config = config.as_str();
    let first = payout.first_txid("w-stuck");
    let first_tx = hardhat.rpc("eth_getTransactionByHash", json!([first]));
    assert_eq!(first_tx["blockNumber"], Value::Null, "pending: {first_tx}");
    let first_max_fee = u128::from_str_radix(
        first_tx["maxFeePerGas"]
            .as_str()
            .unwrap()
            .trim_start_matches("0x"),
        16,
    )
    .unwrap();
    // The base fee jumps far above what the payout offers: a block is mined
    // without it, and it stays stuck.
    let spiked_base_fee = first_max_fee * 10;
    hardhat.rpc(
        "hardhat_setNextBlockBaseFeePerGas",
        json!([format!("{spiked_base_fee:#x}")]),
    );
    hardhat.mine(1);
    assert_eq!(
        hardhat.rpc("eth_getTransactionReceipt", json!([first])),
        Value::Null,
        "the first payout must not fit a block at the spiked base fee"
    );

    let replacement = eventually(30, "the payout replaced", || {
        match order_status(gateway, merchant, "w-stuck")["withdraw_detail"]["txid"].as_str() {
            Some(txid) if txid != first => Ok(txid.to_owned()),
            other => Err(format!("{other:?}")),
        }
    });
    let replacement_tx = hardhat.rpc("eth_getTransactionByHash", json!([replacement]));
    assert_eq!(
        replacement_tx["nonce"], first_tx["nonce"],
        "{replacement_tx}"
    );
    assert_eq!(
        replacement_tx["value"], first_tx["value"],
        "{replacement_tx}"
    );
    assert_eq!(replacement_tx["to"], first_tx["to"], "{replacement_tx}");
    let replacement_max_fee = u128::from_str_radix(
        replacement_tx["maxFeePerGas"]
            .as_str()
            .unwrap()
            .trim_start_matches("0x"),
        16,
    )
    .unwrap();
    assert!(
        replacement_max_fee >= spiked_base_fee,
        "the replacement follows the market: {replacement_max_fee} < {spiked_base_fee}"
    );

    let hook = eventually(60, "the withdrawal posted", || {
        hardhat.mine(1);
        webhooks(receiver)
            .into_iter()
            .find(|hook| hook["merchant_order_id"] == "w-stuck")
            .ok_or_else(|| "no webhook yet".to_owned())
    });
    assert_eq!(hook["pay_status"], "success", "{hook}");
    // The webhook and the record name the transaction that landed, which
    // may be a later round than the one seen above if the test was slow.
    let landed = hook["txid"].as_str().unwrap().to_owned();
    assert_ne!(landed, first, "{hook}");
    assert_eq!(
        order_status(gateway, merchant, "w-stuck")["withdraw_detail"]["txid"],
        landed
    );
    let receipt = hardhat.rpc("eth_getTransactionReceipt", json!([landed]));
    assert_eq!(receipt["status"], "0x1", "{receipt}");
    assert_eq!(
        hardhat.rpc("eth_getTransactionReceipt", json!([first])),
        Value::Null,
        "the first transaction is never mined"
    );
    // Paid exactly once.
    assert_eq!(
        native_balance(hardhat, payee) - payee_before,
        500_000_000_000_000_000
    );
    assert_eq!(
        hardhat.rpc("eth_getTransactionCount", json!([hot, "latest"])),
        json!("0x1"),
        "one payout transaction mined from the hot wallet"
    );
    let (geth, reserved) = balance(gateway, config, merchant, "GETH");
    assert_eq!(reserved, "0");
    let fee = hook["network_fee"].as_str().unwrap();
    assert_eq!(
        units(&geth, 18),
        1_500_000_000_000_000_000 - units(fee, 18),
        "{geth} {fee}"
    );
    // The operator's view: the payout, its newest transaction and the ones
    // it replaced.
    let listed: Value =
        serde_json::from_str(&gateway.cli_ok(&["evm", "payouts", "--json", "--config", config]))
            .unwrap();
    let payouts = listed[0]["payouts"].as_array().unwrap();
    assert_eq!(payouts.len(), 1, "{listed}");
    assert_eq!(payouts[0]["payout_id"], hook["order_id"], "{listed}");
    assert_eq!(payouts[0]["txid"], landed.as_str(), "{listed}");
    let replaced = payouts[0]["replaced_txids"].as_array().unwrap();
    assert_eq!(replaced[0], first.as_str(), "{listed}");
    assert_eq!(
        payouts[0]["replacements"].as_u64(),
        Some(replaced.len() as u64),
        "{listed}"
    );
    // The higher gas of the replacement is the operator's network cost; the
    // merchant paid the fee quoted when the withdrawal was accepted.
    let books = operator_accounts(gateway, config);
    assert_eq!(
        units(
            &books.amount("operator:network_costs", "GETH", "debits"),
            18
        ),
        gas_paid(hardhat, &landed)
    );
    assert_eq!(books.amount("operator:fees", "GETH", "credits"), fee);
    books_balance(gateway, config);
}

/// The hot wallet used outside the gateway: another transaction takes a
/// pending payout's nonce and is confirmed. The payout can never be mined,
/// so the withdrawal is voided (the merchant's balance back, nothing paid,
/// no gas posted) instead of waiting in Processing forever.
#[test]
fn evm_a_payout_whose_nonce_another_transaction_took_is_voided() {
    let cli = hardhat_installed();
    let payout = PendingPayout::start(&cli, "");
    let PendingPayout {
        hardhat,
        gateway,
        merchant,
        receiver,
        config,
        hot,
        payee,
        payee_before,
        ..
    } = &payout;
    let first = payout.first_txid("w-taken");
    let first_tx = hardhat.rpc("eth_getTransactionByHash", json!([first]));
    let doubled = |field: &str| {
        let fee = u128::from_str_radix(
            first_tx[field].as_str().unwrap().trim_start_matches("0x"),
            16,
        )
        .unwrap();
        format!("{:#x}", fee * 2)
    };
    // The same nonce, sent from the hot wallet by someone else (hardhat
    // impersonates it): it replaces the payout in the mempool and is mined.
    hardhat.rpc("hardhat_impersonateAccount", json!([hot]));
    let foreign = hardhat.rpc(
        "eth_sendTransaction",
        json!([{
            "from": hot,
            "to": hardhat.accounts[0],
            "value": "0x1",
            "nonce": first_tx["nonce"],
            "maxFeePerGas": doubled("maxFeePerGas"),
            "maxPriorityFeePerGas": doubled("maxPriorityFeePerGas"),
        }]),
    );
    let hook = eventually(60, "the withdrawal voided", || {
        hardhat.mine(1);
        webhooks(receiver)
            .into_iter()
            .find(|hook| hook["merchant_order_id"] == "w-taken")
            .ok_or_else(|| "no webhook yet".to_owned())
    });
    assert_eq!(hook["pay_status"], "failed", "{hook}");
    assert_eq!(
        hardhat.rpc("eth_getTransactionReceipt", json!([foreign]))["status"],
        "0x1"
    );
    assert_eq!(
        hardhat.rpc("eth_getTransactionReceipt", json!([first])),
        Value::Null
    );
    assert_eq!(
        native_balance(hardhat, payee),
        *payee_before,
        "nothing paid"
    );
    assert_eq!(
        balance(gateway, config, merchant, "GETH"),
        ("2".to_owned(), "0".to_owned())
    );
    let books = operator_accounts(gateway, config);
    assert_eq!(
        books.amount("operator:network_costs", "GETH", "debits"),
        "0"
    );
    assert_eq!(books.amount("custody:GANACHE", "GETH", "credits"), "0");
    books_balance(gateway, config);
}

/// Fails, naming the command that installs it, unless the openssl CLI (which
/// makes the test's certificates) is here.
fn require_openssl() {
    let here = Command::new("openssl")
        .arg("version")
        .output()
        .is_ok_and(|out| out.status.success());
    assert!(
        here,
        "the https node test needs the openssl CLI: `sudo apt-get install openssl`"
    );
}

/// A CA (ca.pem) and a node certificate it signed for 127.0.0.1 (server.pem,
/// key server.key), in `dir`.
fn make_certificates(dir: &Path) {
    let openssl = |args: String| {
        let out = Command::new("openssl")
            .current_dir(dir)
            .args(args.split_whitespace())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "openssl {args}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let p256 = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
    openssl(format!(
        "req -x509 {p256} -keyout ca.key -out ca.pem -days 2 -subj /CN=ccgate-test-CA \
         -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign"
    ));
    openssl(format!(
        "req -new {p256} -keyout server.key -out server.csr -subj /CN=ccgate-test-node"
    ));
    std::fs::write(
        dir.join("server.ext"),
        "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n\
         extendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1\n",
    )
    .unwrap();
    openssl(
        "x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem \
         -days 2 -extfile server.ext"
            .to_owned(),
    );
}

/// tests/evm/tls_proxy.js: https on a free loopback port, forwarded to
/// ganache; ended when dropped (and by itself when the tests end, as its
/// stdin closes).
struct TlsProxy {
    child: Child,
    _stdin: std::process::ChildStdin,
    url: String,
}

impl TlsProxy {
    fn start(certificates: &Path, backend: &str) -> TlsProxy {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/evm/tls_proxy.js");
        let mut child = Command::new("node")
            .arg(script)
            .arg(certificates.join("server.key"))
            .arg(certificates.join("server.pem"))
            .arg(backend)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take().unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line
            .trim()
            .strip_prefix("listening ")
            .unwrap_or_else(|| panic!("the TLS proxy did not start: {line:?}"));
        TlsProxy {
            child,
            _stdin: stdin,
            url: format!("https://127.0.0.1:{port}"),
        }
    }
}

impl Drop for TlsProxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `ccgate serve` follows a node over https:// with the node's CA in
/// `rpc_ca_file`: the height, the live fee and a deposit come through TLS,
/// and `ccgate doctor` agrees on the chain id. Without the CA file doctor
/// reports the refused certificate.
#[test]
fn evm_node_over_https_is_followed_with_its_ca_file_and_refused_without() {
    let cli = ganache_installed();
    require_openssl();
    let ganache = EvmNode::ganache(&cli);
    let contract = ganache.deploy_token();
    let config_dir = tempfile::tempdir().unwrap();
    make_certificates(config_dir.path());
    let proxy = TlsProxy::start(config_dir.path(), &ganache.url());

    let plain = config_file(config_dir.path(), &ganache, &contract, 500);
    let text = std::fs::read_to_string(&plain).unwrap().replace(
        &format!("rpc_url = \"{}\"", ganache.url()),
        &format!("rpc_url = \"{}\"", proxy.url),
    );
    assert!(text.contains(&proxy.url), "{text}");
    // [evm.GANACHE] is the file's last section: these lines land in it.
    // Relative: found beside the configuration file.
    let trusting = config_dir.path().join("https-ca.toml");
    std::fs::write(&trusting, format!("{text}rpc_ca_file = \"ca.pem\"\n")).unwrap();
    let untrusting = config_dir.path().join("https-no-ca.toml");
    std::fs::write(&untrusting, &text).unwrap();
    let trusting = trusting.to_str().unwrap();
    let untrusting = untrusting.to_str().unwrap();

    let gateway = Gateway::start(&["--config", trusting, PRIVATE_RECEIVERS]);
    let merchant = gateway.create_merchant("shop");
    assert_eq!(reported_height(&gateway, &merchant), ganache.height());
    live_fee(&gateway, &merchant, NATIVE_TOKEN);

    let receiver = HttpStub::start(200, "success");
    let address = order(
        &gateway,
        &merchant,
        NATIVE_TOKEN,
        "evm-https-1",
        "0.25",
        &receiver.url,
    );
    ganache.pay_native(&address, 250_000_000_000_000_000);
    wait_status(&gateway, &merchant, "evm-https-1", "Processing", 15);

    let doctor = gateway.cli(&["doctor", "--config", trusting]);
    let report = String::from_utf8_lossy(&doctor.stdout);
    assert!(
        report.contains(&format!(
            "ok      chain GANACHE id: node is chain {CHAIN_ID}"
        )),
        "{report}"
    );

    let doctor = gateway.cli(&["doctor", "--config", untrusting]);
    let report = String::from_utf8_lossy(&doctor.stdout);
    assert!(!doctor.status.success(), "{report}");
    let line = report
        .lines()
        .find(|line| line.starts_with("PROBLEM chain GANACHE id:"))
        .unwrap_or_else(|| panic!("{report}"));
    assert!(
        line.contains("invalid peer certificate: UnknownIssuer"),
        "{line}"
    );
}
