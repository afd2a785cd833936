//! A block read with its transactions is kept, and read again only if the
//! node's block at its height changed (decisions §38): against ganache
//! (crates/ccgate/tests/evm, `npm ci`), a block read twice gives the same
//! transfers, and a block replaced by `evm_snapshot`/`evm_revert` gives the
//! new block's, never the kept one's.

#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use ccgate_chain::{ChainAdapter, EvmChain, EvmNodeConfig};
use ccgate_ledger::Registry;
use serde_json::{Value, json};

const CHAIN_ID: u64 = 1337;
/// 0.01 ETH and twice that, in wei: told apart in the transfers found.
const FIRST_WEI: u128 = 10_000_000_000_000_000;
const REPLACING_WEI: u128 = 20_000_000_000_000_000;

/// Ganache on a free loopback port, killed when dropped.
struct Ganache {
    child: Child,
    url: String,
    http: reqwest::Client,
}

impl Ganache {
    /// Fails, naming the command that installs it, unless node and ganache
    /// are here: a test that cannot run its real part never passes.
    async fn start() -> Ganache {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../ccgate/tests/evm");
        let cli = dir.join("node_modules/ganache/dist/node/cli.js");
        assert!(
            cli.is_file(),
            "this test needs ganache: run `npm ci` in {} (or `cargo xtask test`)",
            dir.display()
        );
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut child = Command::new("node")
            .arg(cli)
            .args(["--server.host", "127.0.0.1", "--server.port"])
            .arg(port.to_string())
            .args(["--chain.chainId", &CHAIN_ID.to_string()])
            .args(["--wallet.totalAccounts", "2", "--logging.quiet", "true"])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("node, to run ganache: `sudo apt-get install nodejs npm`");
        let stdout = child.stdout.take().unwrap();
        std::thread::spawn(move || for _ in BufReader::new(stdout).lines() {});
        let node = Ganache {
            child,
            url: format!("http://127.0.0.1:{port}"),
            http: reqwest::Client::new(),
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        while node.try_rpc("eth_blockNumber", json!([])).await.is_none() {
            assert!(Instant::now() < deadline, "ganache did not start");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        node
    }

    async fn try_rpc(&self, method: &str, params: Value) -> Option<Value> {
        let answer: Value = self
            .http
            .post(&self.url)
            .json(&json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}))
            .send()
            .await
            .ok()?
            .json()
            .await
            .ok()?;
        answer.get("result").cloned()
    }

    async fn rpc(&self, method: &str, params: Value) -> Value {
        self.try_rpc(method, params)
            .await
            .unwrap_or_else(|| panic!("{method} failed"))
    }

    /// Pays `wei` from the first account to the second; ganache mines it at
    /// once. Returns the block's height.
    async fn pay(&self, wei: u128) -> u64 {
        let accounts = self.rpc("eth_accounts", json!([])).await;
        self.rpc(
            "eth_sendTransaction",
            json!([{"from": accounts[0], "to": accounts[1], "value": format!("{wei:#x}")}]),
        )
        .await;
        let height = self.rpc("eth_blockNumber", json!([])).await;
        u64::from_str_radix(height.as_str().unwrap().trim_start_matches("0x"), 16).unwrap()
    }
}

impl Drop for Ganache {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn a_block_read_before_is_reused_only_while_the_node_still_has_it() {
    let node = Ganache::start().await;
    let registry = Registry::builtin();
    let chain = EvmChain::new(
        registry.chain("ETH").unwrap().clone(),
        EvmNodeConfig::with_defaults(node.url.clone(), CHAIN_ID),
        &registry,
        None,
    )
    .unwrap();

    let snapshot = node.rpc("evm_snapshot", json!([])).await;
    let height = node.pay(FIRST_WEI).await;
    let seen = chain.transfers(height, height).await.unwrap();
    assert_eq!(seen.len(), 1, "{seen:?}");
    // Read again (as the scan that confirms it does): the same transfer.
    assert_eq!(chain.transfers(height, height).await.unwrap(), seen);

    // The block is replaced at the same height by one with another payment.
    assert_eq!(node.rpc("evm_revert", json!([snapshot])).await, true);
    assert_eq!(node.pay(REPLACING_WEI).await, height);
    let replaced = chain.transfers(height, height).await.unwrap();
    assert_eq!(replaced.len(), 1, "{replaced:?}");
    assert_ne!(
        replaced[0].txid, seen[0].txid,
        "the replaced block's transfer"
    );
    assert_eq!(
        replaced[0].amount.base_units(),
        seen[0].amount.base_units() * 2,
        "{replaced:?}"
    );
}
