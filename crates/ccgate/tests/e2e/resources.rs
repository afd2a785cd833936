//! The resource endpoints through the real binary: coins, rates, fees,
//! heights, Cwallet ids, and the configuration file.

use serde_json::Value;

use crate::support::{Gateway, HttpStub, Merchant, assert_golden, eventually};

fn call(gateway: &Gateway, merchant: &Merchant, path: &str, body: &str) -> Value {
    let response = gateway.post_signed(merchant, path, body.as_bytes(), Some("application/json"));
    assert_eq!(response.status, 200, "{path}: {}", response.text());
    response.assert_signed_by(merchant);
    response.json()
}

#[test]
fn coin_lists_match_their_golden_bytes() {
    let gateway = Gateway::start(&[]);
    let merchant = gateway.demo.clone().unwrap();
    for (path, body, golden) in [
        ("/ccpayment/v1/coin/all", "", "coin_all.json"),
        ("/ccpayment/v1/coin/all", "{}", "coin_all.json"),
        ("/ccpayment/v1/support/token", "", "support_token.json"),
        (
            "/ccpayment/v1/token/chain",
            r#"{"token_id":"0912e09a-d8e2-41d7-a0bc-a25530892988"}"#,
            "token_chain_usdt.json",
        ),
        // A coin id is accepted too (decisions §4).
        (
            "/ccpayment/v1/token/chain",
            r#"{"token_id":"8e5741cf-6e51-4892-9d04-3d40e1dd0128"}"#,
            "token_chain_usdt.json",
        ),
    ] {
        let response = gateway.post_signed(&merchant, path, body.as_bytes(), None);
        response.assert_signed_by(&merchant);
        assert_golden(golden, &response.body);
    }
}

#[test]
fn token_rate_converts_exactly() {
    let gateway = Gateway::start(&[]);
    let merchant = gateway.demo.clone().unwrap();
    let path = "/ccpayment/v1/token/rate";
    let btc = gateway.post_signed(
        &merchant,
        path,
        br#"{"amount":"1000","token_id":"f36ad1cf-222a-4933-9ad0-86df8069f916"}"#,
        None,
    );
    assert_eq!(
        btc.text(),
        r#"{"code":10000,"msg":"success","data":{"price":"96250.5","value":"0.01038956"}}"#
    );
    let usdt = call(
        &gateway,
        &merchant,
        path,
        r#"{"amount": "12.5", "token_id": "0912e09a-d8e2-41d7-a0bc-a25530892988"}"#,
    );
    assert_eq!(usdt["data"]["value"], "12.5");
    for (body, code) in [
        (
            r#"{"amount":"0","token_id":"f36ad1cf-222a-4933-9ad0-86df8069f916"}"#,
            222003,
        ),
        (
            r#"{"amount":"-5","token_id":"f36ad1cf-222a-4933-9ad0-86df8069f916"}"#,
            222003,
        ),
        (
            r#"{"amount":"1e3","token_id":"f36ad1cf-222a-4933-9ad0-86df8069f916"}"#,
            222003,
        ),
        (
            r#"{"amount":"abc","token_id":"f36ad1cf-222a-4933-9ad0-86df8069f916"}"#,
            222003,
        ),
        (
            r#"{"token_id":"f36ad1cf-222a-4933-9ad0-86df8069f916"}"#,
            220006,
        ),
        (r#"{"amount":"1"}"#, 220006),
        (
            r#"{"amount":5,"token_id":"f36ad1cf-222a-4933-9ad0-86df8069f916"}"#,
            220006,
        ),
        (
            r#"{"amount":"1","token_id":"00000000-0000-0000-0000-000000000000"}"#,
            221001,
        ),
    ] {
        let json = call(&gateway, &merchant, path, body);
        assert_eq!(json["code"], code, "{body}: {json}");
    }
    let missing = call(&gateway, &merchant, path, r#"{"token_id":"x"}"#);
    assert!(
        missing["msg"].as_str().unwrap().contains("amount"),
        "{missing}"
    );
}

#[test]
fn network_fee_is_zero_for_cwallet_ids_and_what_withdraw_charges_elsewhere() {
    let gateway = Gateway::start(&[]);
    let merchant = gateway.demo.clone().unwrap();
    let path = "/ccpayment/v1/network/fee";
    // The documentation's own example, byte for byte.
    let fee = gateway.post_signed(
        &merchant,
        path,
        br#"{"token_id":"f137d42c-f3a6-4f23-9402-76f0395d0cfe","address":""}"#,
        None,
    );
    assert_eq!(
        fee.text(),
        r#"{"code":10000,"msg":"success","data":{"token_id":"f137d42c-f3a6-4f23-9402-76f0395d0cfe","crypto":"USDT","fee":"0.0344"}}"#
    );
    let c_id: Value = serde_json::from_str(&gateway.cli_ok(&[
        "cwallet",
        "create",
        "--nickname",
        "alvin",
        "--json",
    ]))
    .unwrap();
    let c_id = c_id["c_id"].as_str().unwrap();
    let internal = call(
        &gateway,
        &merchant,
        path,
        &format!(
            r#"{{"token_id":"f137d42c-f3a6-4f23-9402-76f0395d0cfe","address":"{c_id}","memo":""}}"#
        ),
    );
    assert_eq!(internal["data"]["fee"], "0");

    // Issue #15 §2: to one of this gateway's own deposit addresses the quote
    // is what `withdraw` then charges — the network fee, since it is sent on
    // the chain like any other withdrawal.
    let own = call(
        &gateway,
        &merchant,
        "/ccpayment/v1/payment/address/get",
        r#"{"user_id":"user-7","chain":"POLYGON"}"#,
    );
    let own = own["data"]["address"].as_str().unwrap().to_owned();
    let quoted = call(
        &gateway,
        &merchant,
        path,
        &format!(r#"{{"token_id":"f137d42c-f3a6-4f23-9402-76f0395d0cfe","address":"{own}"}}"#),
    );
    assert_eq!(quoted["data"]["fee"], "0.0344", "{quoted}");
    gateway.adjust(&merchant, "USDT", "10", &[]);
    let withdrawn = call(
        &gateway,
        &merchant,
        "/ccpayment/v1/withdraw",
        &format!(
            r#"{{"token_id":"f137d42c-f3a6-4f23-9402-76f0395d0cfe","address":"{own}","value":"5","merchant_order_id":"to-self"}}"#
        ),
    );
    assert_eq!(withdrawn["code"], 10000, "{withdrawn}");
    let record = call(
        &gateway,
        &merchant,
        "/ccpayment/v1/bill/info",
        r#"{"merchant_order_ids":["to-self"]}"#,
    );
    let detail = &record["data"][0]["withdraw_detail"];
    assert_eq!(detail["network_fee"], quoted["data"]["fee"], "{record}");
    // A single-network coin may be named by its coin id; a multi-network one may not.
    let btc = call(
        &gateway,
        &merchant,
        path,
        r#"{"token_id":"f36ad1cf-222a-4933-9ad0-86df8069f916"}"#,
    );
    assert_eq!(btc["data"]["fee"], "0.0001");
    let usdt = call(
        &gateway,
        &merchant,
        path,
        r#"{"token_id":"8e5741cf-6e51-4892-9d04-3d40e1dd0128"}"#,
    );
    assert_eq!(usdt["code"], 221001);
    assert!(usdt["msg"].as_str().unwrap().contains("several networks"));
    assert_eq!(call(&gateway, &merchant, path, "{}")["code"], 220006);
}

#[test]
fn check_user_finds_cwallet_ids() {
    let gateway = Gateway::start(&[]);
    let merchant = gateway.demo.clone().unwrap();
    let created: Value = serde_json::from_str(&gateway.cli_ok(&[
        "cwallet",
        "create",
        "--nickname",
        "alvin",
        "--json",
    ]))
    .unwrap();
    let c_id = created["c_id"].as_str().unwrap();
    let found = gateway.post_signed(
        &merchant,
        "/ccpayment/v1/check/user",
        format!(r#"{{"c_id":"{c_id}"}}"#).as_bytes(),
        None,
    );
    assert_eq!(
        found.text(),
        format!(
            r#"{{"code":10000,"msg":"success","data":{{"c_id":"{c_id}","nickname":"alvin"}}}}"#
        )
    );
    let response = gateway.post_signed(
        &merchant,
        "/ccpayment/v1/check/user",
        br#"{"c_id":"1"}"#,
        None,
    );
    assert_eq!(
        response.text(),
        r#"{"code":224083,"msg":"users do not exist","reason":"ToUserNotFound"}"#
    );
}

#[test]
fn heights_move_with_mining_and_survive_a_restart() {
    let mut gateway = Gateway::start(&[]);
    let merchant = gateway.demo.clone().unwrap();
    let path = "/ccpayment/v1/get/network/height/info";
    let heights = |gateway: &Gateway| {
        let json = call(gateway, &merchant, path, "");
        json["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                (
                    c["chain"].as_str().unwrap().to_owned(),
                    c["current_chain_height"].as_u64().unwrap(),
                )
            })
            .collect::<Vec<_>>()
    };
    let response = gateway.post_signed(&merchant, path, b"", None);
    let text = response.text();
    assert!(
        text.starts_with(
            r#"{"code":10000,"msg":"success","data":[{"chain":"BTC","current_chain_height":"#
        ),
        "{text}"
    );
    assert!(
        text.contains(r#""tx_confirm_block_num":12,"block_rate":12}"#),
        "block_rate is a whole number: {text}"
    );
    let before = heights(&gateway);
    assert!(
        gateway
            .cli_ok(&["devnet", "mine", "--chain", "eth", "--blocks", "100"])
            .starts_with("ETH height ")
    );
    let after = heights(&gateway);
    let eth = |h: &[(String, u64)]| h.iter().find(|(c, _)| c == "ETH").unwrap().1;
    assert!(eth(&after) >= eth(&before) + 100);
    let unknown = gateway.cli(&["devnet", "mine", "--chain", "SOL"]);
    assert!(!unknown.status.success());

    assert!(gateway.terminate().success());
    let restarted = gateway.restart(&[]);
    assert!(
        eth(&heights(&restarted)) >= eth(&after),
        "heights survive a restart"
    );
}

#[test]
fn config_file_changes_the_registry_and_bad_config_stops_start_up() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("ccgate.toml");
    std::fs::write(
        &config,
        r#"
disable_coins = ["MATIC"]

[prices]
BTC = "100000.25"

[fiat]
CHF = "0.88"

[[chains]]
code = "SOL"
name = "Solana"
family = "evm"
confirmations = 32
block_time_ms = 400

[[coins]]
id = "31c27e3c-0e6d-4e16-9b5c-857601daa1e8"
symbol = "SOL"
name = "Solana"
precision = 9
price = "150.5"
  [[coins.tokens]]
  id = "e5c33690-1395-4c69-a664-2529d75a660e"
  chain = "SOL"
  network = "SOL"
  contract = "SOL"
  precision = 9
  fee = "0.000005"
"#,
    )
    .unwrap();
    let config_arg = config.to_str().unwrap();
    let gateway = Gateway::start(&["--config", config_arg]);
    let merchant = gateway.demo.clone().unwrap();
    let coins = call(&gateway, &merchant, "/ccpayment/v1/coin/all", "");
    let symbols: Vec<&str> = coins["data"]["list"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["symbol"].as_str().unwrap())
        .collect();
    assert_eq!(symbols, ["BTC", "ETH", "USDT", "USDC", "TRX", "BNB", "SOL"]);
    assert_eq!(coins["data"]["list"][0]["price"], "100000.25");
    let heights = call(
        &gateway,
        &merchant,
        "/ccpayment/v1/get/network/height/info",
        "{}",
    );
    let sol = heights["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["chain"] == "SOL")
        .unwrap()
        .clone();
    assert_eq!(sol["block_rate"].to_string(), "0.4");
    let listed: Value =
        serde_json::from_str(&gateway.cli_ok(&["coins", "list", "--json", "--config", config_arg]))
            .unwrap();
    assert_eq!(listed["fiat"]["CHF"], "0.88");

    for (bad, expected) in [
        (
            "[[coins]]\nid = \"x\"\nsymbol = \"X\"\nname = \"X\"\nprecision = 6\nprice = \"1\"\n[[coins.tokens]]\nid = \"y\"\nchain = \"NOPE\"\nnetwork = \"N\"\ncontract = \"c\"\nprecision = 6\n",
            "NOPE",
        ),
        (
            "[[coins]]\nid = \"x\"\nsymbol = \"X\"\nname = \"X\"\nprecision = 31\n",
            "coins[0].precision",
        ),
        ("[prices]\nBTC = \"cheap\"\n", "prices.BTC"),
        (
            "[[chains]]\ncode = \"ETH\"\nname = \"E\"\nfamily = \"evm\"\nconfirmations = 1\nblock_time_ms = 1\n[[chains]]\ncode = \"eth\"\nname = \"E\"\nfamily = \"evm\"\nconfirmations = 1\nblock_time_ms = 1\n",
            "listed twice",
        ),
        (
            "[[coins]]\nid = \"8e5741cf-6e51-4892-9d04-3d40e1dd0128\"\nsymbol = \"USDT\"\nname = \"T\"\nprecision = 6\n[[coins.tokens]]\nid = \"t1\"\nchain = \"ETH\"\nnetwork = \"ERC20\"\ncontract = \"c\"\nprecision = 6\n[[coins]]\nid = \"8e5741cf-6e51-4892-9d04-3d40e1dd0128\"\nsymbol = \"USDT\"\nname = \"T\"\nprecision = 6\n[[coins.tokens]]\nid = \"t2\"\nchain = \"ETH\"\nnetwork = \"ERC20\"\ncontract = \"c\"\nprecision = 6\n",
            "listed twice",
        ),
        ("unknown_key = 1\n", "unknown field"),
    ] {
        std::fs::write(&config, bad).unwrap();
        let output = gateway.cli(&["coins", "list", "--config", config_arg]);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{bad}");
        assert!(
            stderr.contains("ccgate.toml") && stderr.contains(expected),
            "{expected}: {stderr}"
        );
    }
}

const FEED_BODY: &str = r#"{"bitcoin":{"usd":50000.5},"ethereum":{"usd":3000},"tether":{"usd":1.0},"usd-coin":{"usd":0.9999},"tron":{"usd":2.5e-1},"binancecoin":{"usd":600},"matic-network":{"usd":0.5}}"#;

/// Prices from a live feed; when they grow older than the staleness limit,
/// priced endpoints answer 224066 instead of using them. The deadlines only
/// bound a hung test; the feed refreshes every 100 ms and goes stale after 1 s.
#[test]
fn live_prices_are_used_and_stale_ones_refused() {
    let feed = HttpStub::start(200, FEED_BODY);
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("feed.toml");
    std::fs::write(
        &config,
        format!(
            r#"
[price_feed]
url = "{}"
refresh_interval_ms = 100
staleness_limit_ms = 1000
[price_feed.ids]
BTC = "bitcoin"
ETH = "ethereum"
USDT = "tether"
USDC = "usd-coin"
TRX = "tron"
BNB = "binancecoin"
MATIC = "matic-network"
"#,
            feed.url
        ),
    )
    .unwrap();
    let gateway = Gateway::start(&["--config", config.to_str().unwrap()]);
    let merchant = gateway.demo.clone().unwrap();
    let rate = r#"{"amount":"100001","token_id":"f36ad1cf-222a-4933-9ad0-86df8069f916"}"#;
    let answer = wait_for(&gateway, &merchant, rate, |json| json["code"] == 10000);
    assert_eq!(answer["data"]["price"], "50000.5");
    assert_eq!(answer["data"]["value"], "2");
    let coins = call(&gateway, &merchant, "/ccpayment/v1/coin/all", "");
    assert_eq!(
        coins["data"]["list"][4]["price"], "0.25",
        "exponent form read exactly"
    );

    feed.answer(500, "down");
    let stale = wait_for(&gateway, &merchant, rate, |json| json["code"] != 10000);
    assert_eq!(stale["code"], 224066);
    assert_eq!(
        call(&gateway, &merchant, "/ccpayment/v1/coin/all", "")["code"],
        224066
    );

    feed.answer(200, FEED_BODY);
    wait_for(&gateway, &merchant, rate, |json| json["code"] == 10000);
}

fn wait_for(
    gateway: &Gateway,
    merchant: &Merchant,
    body: &str,
    done: impl Fn(&Value) -> bool,
) -> Value {
    eventually(20, "never reached", || {
        let json = call(gateway, merchant, "/ccpayment/v1/token/rate", body);
        if done(&json) {
            Ok(json)
        } else {
            Err(json.to_string())
        }
    })
}
