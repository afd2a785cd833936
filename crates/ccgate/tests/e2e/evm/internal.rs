//! Native coin paid by a contract (an internal transaction) is credited
//! (issue #21): from block traces on a node that has them (anvil), by balance
//! reconciliation on one that has not (ganache), and by `ccgate evm rescan`
//! when both were off. tests/evm/Forwarder.sol moves the value.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};

use super::{
    CHAIN_ID, CONFIRMATIONS, EvmNode, MNEMONIC, NATIVE_TOKEN, PRIVATE_RECEIVERS, books_balance,
    config_file, deep_reorg_reported, doctor, free_port, ganache_installed, hex_u64, hook_with,
    hooks_with, notify_pending, order, reconciled_up_to, status, wait_status, webhooks,
};
use crate::support::{Gateway, HttpStub, Merchant, eventually};

/// `forward(address)`, `split(address,address)`: the Forwarder's selectors.
const FORWARD: &str = "101e8952";
const SPLIT: &str = "0f2c9329";
const ONE_TENTH: u128 = 100_000_000_000_000_000;

/// anvil's binary as `npm ci` installs it (tests/evm/package.json), for this
/// platform; missing, the test fails naming the command that installs it.
fn anvil_installed() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/evm/node_modules/@foundry-rs");
    let binary = std::fs::read_dir(&dir).ok().and_then(|entries| {
        entries
            .filter_map(Result::ok)
            .filter(|entry| entry.file_name().to_string_lossy().starts_with("anvil-"))
            .map(|entry| entry.path().join("bin/anvil"))
            .find(|path| path.is_file())
    });
    binary.unwrap_or_else(|| {
        panic!(
            "the internal-transfer tests need anvil in {} (npm packages): run `cargo xtask test`, \
             which installs them, or `npm ci` in crates/ccgate/tests/evm",
            dir.display()
        )
    })
}

impl EvmNode {
    /// anvil, which traces whole blocks (`debug_traceBlockByNumber` with
    /// `callTracer`, `trace_block`): the same mnemonic and chain id as ganache.
    fn anvil(binary: &Path) -> EvmNode {
        let port = free_port();
        let mut command = Command::new(binary);
        command
            .args(["--host", "127.0.0.1", "--port"])
            .arg(port.to_string())
            .args(["--mnemonic", MNEMONIC, "--accounts", "3"])
            .args(["--chain-id", &CHAIN_ID.to_string()])
            .arg("--silent");
        EvmNode::start(command, port)
    }

    fn deploy_forwarder(&self) -> String {
        let bytecode = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/evm/Forwarder.bin"),
        )
        .unwrap();
        let receipt = self.send(json!({
            "from": self.accounts[0],
            "data": format!("0x{}", bytecode.trim()),
            "gas": "0x300000",
        }));
        assert_eq!(receipt["status"], "0x1", "{receipt}");
        receipt["contractAddress"].as_str().unwrap().to_owned()
    }

    /// A call of the Forwarder paying `wei` on to `recipients`.
    fn forward_call(&self, forwarder: &str, recipients: &[&str], wei: u128) -> Value {
        let selector = if recipients.len() == 1 {
            FORWARD
        } else {
            SPLIT
        };
        let arguments: String = recipients
            .iter()
            .map(|to| format!("{:0>64}", to.trim_start_matches("0x").to_lowercase()))
            .collect();
        json!({
            "from": self.accounts[1],
            "to": forwarder,
            "value": format!("{wei:#x}"),
            "data": format!("0x{selector}{arguments}"),
            "gas": "0x100000",
        })
    }

    /// Pays `wei` to `recipients` (split evenly) through the Forwarder;
    /// the receipt.
    fn pay_through(&self, forwarder: &str, recipients: &[&str], wei: u128) -> Value {
        let receipt = self.send(self.forward_call(forwarder, recipients, wei));
        assert_eq!(receipt["status"], "0x1", "{receipt}");
        receipt
    }

    /// Sends without waiting for a block (the node's mining is paused).
    fn submit(&self, tx: Value) -> String {
        self.rpc("eth_sendTransaction", json!([tx]))
            .as_str()
            .unwrap()
            .to_owned()
    }
}

impl EvmNode {
    /// Pays `wei` to `to` by a `SELFDESTRUCT`: a contract creation whose code
    /// (`PUSH20 to; SELFDESTRUCT`) destroys the new contract at once, its
    /// value going to `to` — no call, no log, no transaction to `to`.
    fn pay_by_self_destruct(&self, to: &str, wei: u128) -> Value {
        let receipt = self.send(json!({
            "from": self.accounts[1],
            "value": format!("{wei:#x}"),
            "data": format!("0x73{}ff", to.trim_start_matches("0x").to_lowercase()),
            "gas": "0x100000",
        }));
        assert_eq!(receipt["status"], "0x1", "{receipt}");
        receipt
    }
}

fn txid(receipt: &Value) -> String {
    receipt["transactionHash"].as_str().unwrap().to_owned()
}

fn wait_successful(gateway: &Gateway, merchant: &Merchant, id: &str) {
    wait_status(gateway, merchant, id, "Successful", 30);
}

/// Order `id` was credited once, by `paid` (a transaction id), `amount`
/// in all.
fn credited_once(receiver: &HttpStub, id: &str, paid: &str, amount: &str) {
    let credited = success_hooks(receiver, id, 1);
    assert_eq!(credited.len(), 1, "{credited:?}");
    assert_eq!(credited[0]["txid"], paid);
    assert_eq!(credited[0]["paid_amount"], amount);
}

/// The `success` webhooks of order `id`, once `count` have arrived.
fn success_hooks(receiver: &HttpStub, id: &str, count: usize) -> Vec<Value> {
    eventually(15, &format!("{count} webhook(s) of {id}"), || {
        let hooks = hooks_with(receiver, id, "success");
        (hooks.len() >= count)
            .then(|| hooks.clone())
            .ok_or(format!("{hooks:?}"))
    })
}

/// The node's configuration (TestToken deployed) with `extra` lines
/// (`key = value`) in its `[evm.GANACHE]` section, the file's last: each
/// replaces the section's own line of that key, or is added.
fn config_with(dir: &Path, node: &EvmNode, extra: &str) -> PathBuf {
    let token = node.deploy_token();
    let config = config_file(dir, node, &token, 500);
    let mut text = std::fs::read_to_string(&config).unwrap();
    for line in extra.lines().filter(|line| !line.trim().is_empty()) {
        let key = line.split('=').next().unwrap().trim();
        let own = text
            .lines()
            .find(|own| own.split('=').next().is_some_and(|k| k.trim() == key))
            .map(str::to_owned);
        match own {
            Some(own) => text = text.replace(&own, line),
            None => text = format!("{text}{line}\n"),
        }
    }
    std::fs::write(&config, text).unwrap();
    config
}

/// A gateway following `node` (its config with `extra`), the Forwarder
/// deployed, one merchant and a webhook receiver. Fields drop in order:
/// the gateway stops before its node does.
struct Shop {
    gateway: Gateway,
    merchant: Merchant,
    receiver: HttpStub,
    config: String,
    forwarder: String,
    node: EvmNode,
    _dir: tempfile::TempDir,
}

impl Shop {
    fn open(node: EvmNode, extra: &str) -> Shop {
        let forwarder = node.deploy_forwarder();
        let dir = tempfile::tempdir().unwrap();
        let config = config_with(dir.path(), &node, extra)
            .to_str()
            .unwrap()
            .to_owned();
        let gateway = Gateway::start(&["--config", &config, PRIVATE_RECEIVERS]);
        let merchant = gateway.create_merchant("shop");
        Shop {
            gateway,
            merchant,
            receiver: HttpStub::start(200, "success"),
            config,
            forwarder,
            node,
            _dir: dir,
        }
    }

    /// An order of `amount` in the node's native coin, notified to the
    /// receiver; its pay address.
    fn native_order(&self, id: &str, amount: &str) -> String {
        order(
            &self.gateway,
            &self.merchant,
            NATIVE_TOKEN,
            id,
            amount,
            &self.receiver.url,
        )
    }
}

#[test]
fn evm_internal_payments_are_credited_from_block_traces_with_reorgs_handled() {
    let shop = Shop::open(
        EvmNode::anvil(&anvil_installed()), // Reconciliation off: every credit here comes from the block traces.
        "reconcile_addresses_per_tick = 0",
    );
    let Shop {
        gateway,
        merchant,
        receiver,
        config,
        forwarder,
        node: anvil,
        ..
    } = &shop;
    let config = config.as_str();
    notify_pending(gateway, merchant, &receiver.url);
    let report = doctor(gateway, config);
    assert!(
        report.contains("CallTracer traces of every block"),
        "{report}"
    );

    // Paid by a contract: seen, then credited at the confirmations, once.
    let address = shop.native_order("internal", "0.2");
    let paid = anvil.pay_through(forwarder, &[&address], 2 * ONE_TENTH);
    wait_status(gateway, merchant, "internal", "Processing", 15);
    anvil.mine(CONFIRMATIONS - 1);
    wait_successful(gateway, merchant, "internal");
    credited_once(receiver, "internal", &txid(&paid), "0.2");

    // A direct payment and an internal one to one address in one block,
    // and a split paying two orders in one transaction: each credited once.
    let both = shop.native_order("both", "0.3");
    let left = shop.native_order("left", "0.1");
    let right = shop.native_order("right", "0.1");
    anvil.rpc("evm_setAutomine", json!([false]));
    let direct = anvil.submit(json!({
        "from": anvil.accounts[2],
        "to": both,
        "value": format!("{:#x}", ONE_TENTH),
    }));
    let inner = anvil.submit(anvil.forward_call(forwarder, &[&both], 2 * ONE_TENTH));
    let split = anvil.submit(anvil.forward_call(forwarder, &[&left, &right], 2 * ONE_TENTH));
    anvil.mine(1);
    anvil.rpc("evm_setAutomine", json!([true]));
    let block =
        |txid: &str| anvil.rpc("eth_getTransactionReceipt", json!([txid]))["blockNumber"].clone();
    assert_eq!(block(&direct), block(&inner), "one block");
    anvil.mine(CONFIRMATIONS - 1);
    for id in ["both", "left", "right"] {
        wait_successful(gateway, merchant, id);
    }
    let both_hooks = success_hooks(receiver, "both", 2);
    let mut txids: Vec<&str> = both_hooks
        .iter()
        .map(|h| h["txid"].as_str().unwrap())
        .collect();
    txids.sort_unstable();
    let mut expected = vec![direct.as_str(), inner.as_str()];
    expected.sort_unstable();
    assert_eq!(txids, expected, "{both_hooks:?}");
    for id in ["left", "right"] {
        let hooks = success_hooks(receiver, id, 1);
        assert_eq!(hooks.len(), 1, "{hooks:?}");
        assert_eq!(hooks[0]["txid"], split.as_str());
    }

    // A SELFDESTRUCT pays too: the trace names it.
    let destroyed = shop.native_order("destroyed", "0.1");
    let destroyer = anvil.pay_by_self_destruct(&destroyed, ONE_TENTH);
    anvil.mine(CONFIRMATIONS - 1);
    wait_successful(gateway, merchant, "destroyed");
    let hooks = success_hooks(receiver, "destroyed", 1);
    assert_eq!(hooks.len(), 1, "{hooks:?}");
    assert_eq!(hooks[0]["txid"], txid(&destroyer));

    // Replaced before its confirmations: never credited.
    let vanished = shop.native_order("vanished", "0.1");
    let snapshot = anvil.rpc("evm_snapshot", json!([]));
    anvil.pay_through(forwarder, &[&vanished], ONE_TENTH);
    wait_status(gateway, merchant, "vanished", "Processing", 15);
    assert_eq!(anvil.rpc("evm_revert", json!([snapshot])), true);
    anvil.mine(2);
    wait_status(gateway, merchant, "vanished", "Pending", 15);
    hook_with(receiver, "vanished", "failed");

    // Replaced after it was credited: the credit stands, the operator is told.
    let deep = shop.native_order("deep", "0.1");
    let snapshot = anvil.rpc("evm_snapshot", json!([]));
    anvil.pay_through(forwarder, &[&deep], ONE_TENTH);
    anvil.mine(CONFIRMATIONS - 1);
    wait_successful(gateway, merchant, "deep");
    assert_eq!(anvil.rpc("evm_revert", json!([snapshot])), true);
    anvil.mine(CONFIRMATIONS + 2);
    deep_reorg_reported(gateway, config);
    assert_eq!(status(gateway, merchant, "vanished"), "Pending");
    assert!(hooks_with(receiver, "vanished", "success").is_empty());
    books_balance(gateway, config);
}

#[test]
fn evm_internal_payments_without_traces_are_found_by_balance_reconciliation() {
    let shop = Shop::open(
        EvmNode::ganache(&ganache_installed()),
        "reconcile_interval_secs = 1",
    );
    let Shop {
        gateway,
        merchant,
        receiver,
        config,
        forwarder,
        node: ganache,
        ..
    } = &shop;
    let config = config.as_str();
    let report = doctor(gateway, config);
    assert!(
        report.contains("found by balance reconciliation"),
        "{report}"
    );
    assert!(report.contains("heads: polled every 250 ms"), "{report}");

    // ganache traces single transactions only: the surplus is found, its
    // block bisected, and the block's transactions traced to name it.
    let address = shop.native_order("internal", "0.2");
    let paid = ganache.pay_through(forwarder, &[&address], 2 * ONE_TENTH);
    ganache.mine(CONFIRMATIONS - 1);
    wait_successful(gateway, merchant, "internal");
    credited_once(receiver, "internal", &txid(&paid), "0.2");

    // A direct payment and an internal one in one block: the scan credits
    // the first, reconciliation only the second.
    let both = shop.native_order("both", "0.3");
    ganache.rpc("miner_stop", json!([]));
    let direct = ganache.submit(json!({
        "from": ganache.accounts[2],
        "to": both,
        "value": format!("{:#x}", ONE_TENTH),
    }));
    let inner = ganache.submit(ganache.forward_call(forwarder, &[&both], 2 * ONE_TENTH));
    ganache.rpc("evm_mine", json!([]));
    ganache.rpc("miner_start", json!([]));
    let block = |txid: &str| {
        eventually(15, "the receipt", || {
            match ganache.rpc("eth_getTransactionReceipt", json!([txid])) {
                Value::Null => Err("not mined".to_owned()),
                receipt => Ok(receipt["blockNumber"].clone()),
            }
        })
    };
    assert_eq!(block(&direct), block(&inner), "one block");
    ganache.mine(CONFIRMATIONS - 1);
    wait_successful(gateway, merchant, "both");
    // Reconciliation keeps running: still two credits, one per transfer.
    ganache.mine(2);
    reconciled_up_to(gateway, config, ganache.height() - (CONFIRMATIONS - 1));
    let both_hooks = success_hooks(receiver, "both", 2);
    let mut txids: Vec<&str> = both_hooks
        .iter()
        .map(|h| h["txid"].as_str().unwrap())
        .collect();
    txids.sort_unstable();
    let mut expected = vec![direct.as_str(), inner.as_str()];
    expected.sort_unstable();
    assert_eq!(txids, expected, "{both_hooks:?}");
    assert_eq!(hooks_with(receiver, "internal", "success").len(), 1);

    // A SELFDESTRUCT's value is not in struct logs: the surplus is credited
    // at the block bisection finds, its transaction unknown.
    let destroyed = shop.native_order("destroyed", "0.1");
    let destroyer = ganache.pay_by_self_destruct(&destroyed, ONE_TENTH);
    ganache.mine(CONFIRMATIONS - 1);
    wait_successful(gateway, merchant, "destroyed");
    let hooks = success_hooks(receiver, "destroyed", 1);
    let block = hex_u64(&destroyer["blockNumber"]);
    assert_eq!(
        hooks[0]["txid"],
        format!("unknown:{block}-{block}:{destroyed}"),
        "{hooks:?}"
    );
    assert_eq!(hooks[0]["paid_amount"], "0.1");
    ganache.mine(1);
    reconciled_up_to(gateway, config, ganache.height() - (CONFIRMATIONS - 1));
    assert_eq!(hooks_with(receiver, "destroyed", "success").len(), 1);
    books_balance(gateway, config);
}

#[test]
fn evm_rescan_credits_a_missed_internal_payment_once() {
    let shop = Shop::open(
        EvmNode::ganache(&ganache_installed()), // Nothing follows internal transfers: the payment is missed.
        "reconcile_addresses_per_tick = 0",
    );
    let Shop {
        gateway,
        merchant,
        receiver,
        config,
        forwarder,
        node: ganache,
        ..
    } = &shop;
    let config = config.as_str();
    let report = doctor(gateway, config);
    assert!(
        report.contains("native coin paid by contracts is never credited"),
        "{report}"
    );
    let address = shop.native_order("missed", "0.1");
    let paid = txid(&ganache.pay_through(forwarder, &[&address], ONE_TENTH));

    // Not confirmed yet: refused, with why.
    let early = gateway.cli(&[
        "evm", "rescan", "--chain", "ganache", "--txid", &paid, "--config", config,
    ]);
    assert!(!early.status.success());
    let said = String::from_utf8_lossy(&early.stderr);
    assert!(said.contains("confirmations"), "{said}");
    // The merchant's own door to it, v2's rescanLostTransaction, says the same.
    let lost = |to_address: &str| rescan_lost(gateway, merchant, &to_address.to_lowercase(), &paid);
    let early = lost(&address);
    assert_eq!(early["code"], 11000, "{early}");
    assert!(
        early["msg"].as_str().unwrap().contains("confirmations"),
        "{early}"
    );
    let foreign = lost("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed");
    assert_eq!(foreign["code"], 17007, "{foreign}");

    ganache.mine(CONFIRMATIONS + 1);
    // The watcher has scanned past it and credited nothing.
    let later = shop.native_order("later", "0.1");
    ganache.pay_native(&later, ONE_TENTH);
    ganache.mine(CONFIRMATIONS - 1);
    wait_successful(gateway, merchant, "later");
    assert_eq!(status(gateway, merchant, "missed"), "Pending");

    let rescan = |json: bool| -> Value {
        let mut args = vec![
            "evm", "rescan", "--chain", "ganache", "--txid", &paid, "--config", config,
        ];
        if json {
            args.push("--json");
        }
        serde_json::from_str(&gateway.cli_ok(&args)).unwrap()
    };
    let first = rescan(true);
    assert_eq!(first["credited"], 1, "{first}");
    assert_eq!(first["traced"], true, "{first}");
    let transfers = first["transfers"].as_array().unwrap();
    let ours: Vec<&Value> = transfers
        .iter()
        .filter(|t| {
            t["to_address"]
                .as_str()
                .unwrap()
                .eq_ignore_ascii_case(&address)
        })
        .collect();
    assert_eq!(ours.len(), 1, "{first}");
    assert_eq!(ours[0]["outcome"], "credited", "{first}");
    wait_successful(gateway, merchant, "missed");
    let hook = eventually(15, "the rescan's credit notified", || {
        hooks_with(receiver, "missed", "success")
            .pop()
            .ok_or(format!("{:?}", webhooks(receiver)))
    });
    assert_eq!(hook["txid"], paid.as_str());

    // Again: nothing more.
    let second = rescan(true);
    assert_eq!(second["credited"], 0, "{second}");
    assert!(
        second["transfers"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["outcome"] == "already_credited"),
        "{second}"
    );
    let text = gateway.cli_ok(&[
        "evm", "rescan", "--chain", "GANACHE", "--txid", &paid, "--config", config,
    ]);
    assert!(text.contains("credited before"), "{text}");
    let again = lost(&address);
    assert_eq!(again["code"], 10000, "{again}");
    assert!(
        again["data"]["description"]
            .as_str()
            .unwrap()
            .contains("credited before"),
        "{again}"
    );
    // And through the running server's admin API.
    let answer = gateway
        .admin_post(
            "/admin/evm/rescan",
            &json!({"chain": "GANACHE", "txid": paid}).to_string(),
        )
        .json();
    assert_eq!(answer["credited"], 0, "{answer}");
    let refused = gateway.admin_post(
        "/admin/evm/rescan",
        &json!({"chain": "NOPE", "txid": paid}).to_string(),
    );
    assert_eq!(refused.status, 400);
    // A credit and its webhook commit together: the outbox holds exactly
    // the two payments' webhooks (`later` and the rescan's), nothing more.
    let outbox: Value =
        serde_json::from_str(&gateway.cli_ok(&["webhooks", "list", "--json", "--config", config]))
            .unwrap();
    let deposits: Vec<&Value> = outbox
        .as_array()
        .unwrap()
        .iter()
        .filter(|row| row["order_type"] == "API Deposit")
        .collect();
    assert_eq!(deposits.len(), 2, "{outbox}");
    assert_eq!(hooks_with(receiver, "missed", "success").len(), 1);

    // The merchant asks itself, through v2's rescanLostTransaction: another
    // missed payment is credited; asked again, it was already; another
    // merchant's question about this address finds nothing of its own.
    let address = shop.native_order("missed-2", "0.1");
    let paid = txid(&ganache.pay_through(forwarder, &[&address], ONE_TENTH));
    ganache.mine(CONFIRMATIONS + 1);
    let ask = |who: &Merchant, to: &str| rescan_lost(gateway, who, to, &paid);
    // Until the gateway has seen the confirmations, the answer says so.
    let first = eventually(20, "the rescan never saw the confirmations", || {
        let answer = ask(merchant, &address.to_ascii_lowercase());
        match answer["code"].as_u64() {
            Some(11000)
                if answer["msg"]
                    .as_str()
                    .is_some_and(|msg| msg.contains("confirmations")) =>
            {
                Err(answer.to_string())
            }
            _ => Ok(answer),
        }
    });
    assert_eq!(first["code"], 10000, "{first}");
    assert!(
        first["data"]["description"]
            .as_str()
            .unwrap()
            .contains("1 payment(s) to this address credited now"),
        "{first}"
    );
    wait_successful(gateway, merchant, "missed-2");
    let again = ask(merchant, &address);
    assert!(
        again["data"]["description"]
            .as_str()
            .unwrap()
            .contains("credited before"),
        "{again}"
    );
    // Another merchant's question about this address is refused before any
    // node call: the address is not its own.
    let stranger = gateway.create_merchant("stranger");
    assert_eq!(ask(&stranger, &address)["code"], 17007);
    books_balance(gateway, config);
}

/// v2's `rescanLostTransaction` of `txid` to `to_address` on the ganache
/// chain, asked by `merchant`: its answer.
fn rescan_lost(gateway: &Gateway, merchant: &Merchant, to_address: &str, txid: &str) -> Value {
    let body = json!({"chain": "ganache", "toAddress": to_address, "txId": txid}).to_string();
    gateway
        .post_v2(merchant, "rescanLostTransaction", body.as_bytes())
        .json()
}

/// A node that refuses the traces it was configured to give (ganache has no
/// `callTracer`): every other deposit is still credited, and the internal
/// one by reconciliation, its transaction unknown.
#[test]
fn evm_a_node_refusing_block_traces_stalls_no_deposit() {
    let shop = Shop::open(
        EvmNode::ganache(&ganache_installed()),
        "traces = \"call_tracer\"\nreconcile_interval_secs = 1",
    );
    let Shop {
        gateway,
        merchant,
        receiver,
        config,
        forwarder,
        node: ganache,
        ..
    } = &shop;
    let config = config.as_str();
    let direct = shop.native_order("direct", "0.1");
    let inner = shop.native_order("inner", "0.1");
    ganache.pay_native(&direct, ONE_TENTH);
    let paid = ganache.pay_through(forwarder, &[&inner], ONE_TENTH);
    ganache.mine(CONFIRMATIONS - 1);
    wait_successful(gateway, merchant, "direct");
    wait_successful(gateway, merchant, "inner");
    let hooks = success_hooks(receiver, "inner", 1);
    let block = hex_u64(&paid["blockNumber"]);
    assert_eq!(
        hooks[0]["txid"],
        format!("unknown:{block}-{block}:{inner}"),
        "{hooks:?}"
    );
    assert_eq!(success_hooks(receiver, "direct", 1).len(), 1);
    let report = doctor(gateway, config);
    assert!(
        report.contains("traces = CallTracer is configured, but the node offers StructLogs"),
        "{report}"
    );
}

/// With `ws_url`, heads arrive by the node's `newHeads` subscription: with
/// the head polled only every ten minutes, deposits are still credited as
/// their blocks come.
#[test]
fn evm_new_heads_arrive_by_subscription() {
    let ganache = EvmNode::ganache(&ganache_installed());
    let ws_url = format!("ws_url = \"ws://{}\"", ganache.address);
    let shop = Shop::open(ganache, &format!("poll_interval_ms = 600000\n{ws_url}"));
    let Shop {
        gateway,
        merchant,
        receiver,
        config,
        node: ganache,
        ..
    } = &shop;
    let config = config.as_str();
    let report = doctor(gateway, config);
    assert!(
        report.contains("heads: by the node's newHeads subscription"),
        "{report}"
    );
    for round in 0..3 {
        let id = format!("by-subscription-{round}");
        let address = shop.native_order(&id, "0.1");
        ganache.pay_native(&address, ONE_TENTH);
        ganache.mine(CONFIRMATIONS - 1);
        wait_successful(gateway, merchant, &id);
        assert_eq!(success_hooks(receiver, &id, 1).len(), 1);
    }
}
