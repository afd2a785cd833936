//! Live and simulated money never mix (issue #14 §1, docs/decisions.md §1).
//! The attack: a coin with a network on a chain followed on a node (ganache)
//! and another on a devnet chain; devnet money minted on the devnet chain,
//! then withdrawn as real tokens on the live one.

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::{EvmNode, TOKEN, balance, config_file, ganache_installed, post};
use crate::support::{Gateway, Merchant, eventually};

/// TUSDT's second network: on the built-in TRX chain, which no node follows.
const TRX_TOKEN: &str = "6d1c8b1e-0000-4000-8000-00000000e0d1";

/// The ganache configuration with TUSDT also on TRX, and `top` (top-level
/// keys) before it.
fn mixed_config(dir: &Path, ganache: &EvmNode, contract: &str, top: &str) -> PathBuf {
    let path = config_file(dir, ganache, contract, 500);
    let text = std::fs::read_to_string(&path).unwrap();
    // TUSDT is the last [[coins]] before [evm.GANACHE]: the token lands in it.
    let trx_network = format!(
        r#"
  [[coins.tokens]]
  id = "{TRX_TOKEN}"
  chain = "TRX"
  network = "TRC20"
  contract = "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t"
  precision = 6
  fee = "1"

[evm.GANACHE]"#
    );
    let text = format!(
        "{top}\n{}",
        text.replacen("\n[evm.GANACHE]", &trx_network, 1)
    );
    std::fs::write(&path, text).unwrap();
    path
}

fn devnet_pay(gateway: &Gateway, config: &str, to: &str, amount: &str) -> std::process::Output {
    gateway.cli(&[
        "devnet",
        "pay",
        "--to",
        to,
        "--token-id",
        TRX_TOKEN,
        "--amount",
        amount,
        "--config",
        config,
    ])
}

/// 1000 TUSDT paid on the TRX devnet to a permanent address of `merchant`
/// and mined to its confirmations; waits until the merchant's `symbol`
/// balance shows it.
fn pay_trx_and_confirm(gateway: &Gateway, config: &str, merchant: &Merchant, symbol: &str) {
    let address = post(
        gateway,
        merchant,
        "/ccpayment/v1/payment/address/get",
        r#"{"user_id":"user-1","chain":"TRX"}"#,
    );
    assert_eq!(address["code"], 10000, "{address}");
    let address = address["data"]["address"].as_str().unwrap().to_owned();
    let paid = devnet_pay(gateway, config, &address, "1000");
    assert!(
        paid.status.success(),
        "{}",
        String::from_utf8_lossy(&paid.stderr)
    );
    eventually(30, "the devnet payment credited", || {
        gateway.cli_ok(&[
            "devnet", "mine", "--chain", "TRX", "--blocks", "30", "--config", config,
        ]);
        match balance(gateway, config, merchant, symbol).0.as_str() {
            "0" => Err("not yet".to_owned()),
            _ => Ok(()),
        }
    });
}

fn withdraw_answer(gateway: &Gateway, merchant: &Merchant, token_id: &str, to: &str) -> Value {
    post(
        gateway,
        merchant,
        "/ccpayment/v1/withdraw",
        &format!(
            r#"{{"token_id":"{token_id}","address":"{to}","value":"10","merchant_order_id":"steal-{token_id}","merchant_pays_fee":true}}"#
        ),
    )
}

#[test]
fn live_mode_has_no_devnet_so_the_attack_finds_nothing_to_mint() {
    let cli = ganache_installed();
    let ganache = EvmNode::ganache(&cli);
    let contract = ganache.deploy_token();
    let dir = tempfile::tempdir().unwrap();
    let config = mixed_config(dir.path(), &ganache, &contract, "");
    let config = config.to_str().unwrap();
    let gateway = Gateway::start(&["--config", config]);

    // It says what it is; a live gateway makes no demo merchant.
    assert!(gateway.demo.is_none());
    let health = gateway.raw_request("GET", "/healthz", &[], b"").json();
    assert_eq!(health["mode"], "live", "{health}");
    assert_eq!(health["live_chains"], serde_json::json!(["GANACHE"]));

    // No devnet anywhere: not in the CLI, not on the admin API.
    let refused = devnet_pay(
        &gateway,
        config,
        "TXYZopYRdj2D9XRtbG411XZZ3kM5VkAeBf",
        "1000",
    );
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("live"), "{stderr}");
    let mine = gateway.cli(&["devnet", "mine", "--chain", "TRX", "--config", config]);
    assert!(!mine.status.success());
    let paid = gateway.admin_post(
        "/admin/devnet/pay",
        &format!(r#"{{"to":"TXYZopYRdj2D9XRtbG411XZZ3kM5VkAeBf","token_id":"{TRX_TOKEN}","amount":"1000"}}"#),
    );
    assert_eq!(paid.status, 404, "{}", paid.text());

    // The devnet chain is offered nowhere a merchant or payer looks.
    let merchant = gateway.create_merchant("shop");
    let coins = post(&gateway, &merchant, "/ccpayment/v1/coin/all", "{}");
    assert_eq!(coins["code"], 10000, "{coins}");
    let listed = coins.to_string();
    assert!(
        !listed.contains(TRX_TOKEN) && !listed.contains("\"TRX\""),
        "{listed}"
    );
    let address = post(
        &gateway,
        &merchant,
        "/ccpayment/v1/payment/address/get",
        r#"{"user_id":"user-1","chain":"TRX"}"#,
    );
    assert_ne!(address["code"], 10000, "{address}");
    let order = post(
        &gateway,
        &merchant,
        "/ccpayment/v1/bill/create",
        &format!(
            r#"{{"token_id":"{TRX_TOKEN}","amount":"5","merchant_order_id":"o-1","fiat_currency":"token"}}"#
        ),
    );
    assert_eq!(order["code"], 221001, "{order}");
    let payee = ganache.accounts[2].clone();
    let answer = withdraw_answer(&gateway, &merchant, TRX_TOKEN, &payee);
    assert_eq!(answer["code"], 221001, "{answer}");
}

#[test]
fn beside_live_chains_devnet_money_is_a_separate_coin_that_never_leaves_on_a_live_chain() {
    let cli = ganache_installed();
    let ganache = EvmNode::ganache(&cli);
    let contract = ganache.deploy_token();
    let dir = tempfile::tempdir().unwrap();
    let config = mixed_config(
        dir.path(),
        &ganache,
        &contract,
        "allow_devnet_beside_live = true",
    );
    let config = config.to_str().unwrap();
    let gateway = Gateway::start(&["--config", config]);
    let merchant = gateway.create_merchant("shop");
    let health = gateway.raw_request("GET", "/healthz", &[], b"").json();
    assert_eq!(health["mode"], "live", "{health}");

    // The attack's first half works, on purpose: the devnet pays, and its
    // credit lands in the devnet coin, never in TUSDT.
    pay_trx_and_confirm(&gateway, config, &merchant, "TUSDT-DEVNET");
    assert_eq!(balance(&gateway, config, &merchant, "TUSDT").0, "0");

    // The second half: withdrawing TUSDT on the live chain finds no balance.
    let payee = ganache.accounts[2].clone();
    let answer = withdraw_answer(&gateway, &merchant, TOKEN, &payee);
    assert_eq!(answer["code"], 223001, "{answer}");
    assert_eq!(balance(&gateway, config, &merchant, "TUSDT-DEVNET").1, "0");

    // The operator is told, at every `doctor`.
    let doctor = gateway.cli(&["doctor", "--config", config]);
    let report = String::from_utf8_lossy(&doctor.stdout);
    assert!(!doctor.status.success(), "{report}");
    assert!(
        report.contains("PROBLEM mode: live on GANACHE, with allow_devnet_beside_live"),
        "{report}"
    );
}

#[test]
fn a_database_with_simulated_credits_is_not_served_live() {
    let cli = ganache_installed();
    let ganache = EvmNode::ganache(&cli);
    let contract = ganache.deploy_token();
    let dir = tempfile::tempdir().unwrap();
    let live = mixed_config(dir.path(), &ganache, &contract, "");
    let live = live.to_str().unwrap().to_owned();
    // The same coins without the node: every chain a devnet.
    let text = std::fs::read_to_string(&live).unwrap();
    let simulated = dir.path().join("simulated.toml");
    let cut = text.find("[evm.GANACHE]").unwrap();
    std::fs::write(&simulated, &text[..cut]).unwrap();
    let simulated = simulated.to_str().unwrap();

    let mut gateway = Gateway::start(&["--config", simulated]);
    let merchant = gateway.demo.clone().unwrap();
    pay_trx_and_confirm(&gateway, simulated, &merchant, "TUSDT");
    gateway.terminate();

    let refused = serve_until_it_exits(&gateway, &live);
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("refusing to serve live") && stderr.contains("TUSDT on TRX"),
        "{stderr}"
    );
    let doctor = gateway.cli(&["doctor", "--config", &live]);
    let report = String::from_utf8_lossy(&doctor.stdout);
    assert!(
        report.contains("PROBLEM simulated credits: 1 devnet deposit"),
        "{report}"
    );
}

/// `serve` on the gateway's data directory, expected to refuse to start: it
/// is killed (and the test fails) if it is still running after 30 s.
fn serve_until_it_exits(gateway: &Gateway, config: &str) -> std::process::Output {
    let mut child =
        gateway.cli_spawn_with_stderr(&["serve", "--listen", "127.0.0.1:0", "--config", config]);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while child.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            child.kill().unwrap();
            panic!("serve started on a database it should refuse");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    child.wait_with_output().unwrap()
}
