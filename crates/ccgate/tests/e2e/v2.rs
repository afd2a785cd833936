//! The v2 dialect through the real binary: transport (HMAC over the raw
//! bytes, every body a client sends, HTTP/1.0, the envelope of every
//! refusal), the coin and chain answers against their golden bytes, and
//! balances that are one object whichever dialect reads them.

use ccgate_client::{ClientError, V2Client};
use serde_json::{Value, json};

use crate::support::{Gateway, Merchant, assert_golden, now};

fn ok(gateway: &Gateway, merchant: &Merchant, endpoint: &str, body: &str) -> Value {
    let response = gateway.post_v2(merchant, endpoint, body.as_bytes());
    assert_eq!(response.status, 200, "{endpoint}: {}", response.text());
    let answer = response.json();
    assert_eq!(answer["code"], 10000, "{endpoint}: {answer}");
    assert_eq!(answer["msg"], "success");
    assert!(answer["data"].is_object(), "{endpoint}: {answer}");
    answer["data"].clone()
}

fn refused(response: &crate::support::HttpResponse) -> (u64, String) {
    let answer = response.json();
    assert!(answer["data"].is_object(), "{answer}");
    assert!(answer["reason"].is_string(), "{answer}");
    (
        answer["code"].as_u64().unwrap(),
        answer["msg"].as_str().unwrap().to_owned(),
    )
}

#[test]
fn every_body_a_v2_client_sends_is_verified_over_its_bytes() {
    let gateway = Gateway::start(&[]);
    let merchant = gateway.demo.clone().unwrap();
    // No parameters: Node's empty body, the JS/Python/Ruby/Java `{}`, PHP's `[]`.
    for body in ["", "{}", "[]"] {
        let data = ok(&gateway, &merchant, "getFiatList", body);
        assert!(!data["fiats"].as_array().unwrap().is_empty());
    }
    // Python's spaced JSON, a digit string for a number, PHP's escapes.
    for body in [
        r#"{"coinId": 1280}"#,
        r#"{"coinId":"1280"}"#,
        r#"{"coinId":1280,"note":"a\/b \u00e9"}"#,
    ] {
        let data = ok(&gateway, &merchant, "getCoin", body);
        assert_eq!(data["coin"]["symbol"], "USDT", "{body}");
    }
    // WordPress sends HTTP/1.0.
    let old = gateway.post_v2_as(&merchant, "HTTP/1.0", "getCoin", br#"{"coinId":1280}"#);
    assert_eq!(old.status, 200, "{}", old.text());
    assert_eq!(old.json()["data"]["coin"]["coinId"], 1280);
    // v2 answers are not signed.
    assert!(old.header("sign").is_none());
}

/// Request headers, as name and value.
type Headers<'a> = Vec<(&'a str, &'a str)>;

#[test]
fn every_refusal_answers_the_v2_envelope() {
    let gateway = Gateway::start(&[]);
    let merchant = gateway.demo.clone().unwrap();
    let path = "/ccpayment/v2/getCoin";
    let body = br#"{"coinId":1280}"#;
    let timestamp = now().to_string();
    let good = ccgate_api::v2::sign::sign(&merchant.app_id, &merchant.app_secret, &timestamp, body);
    let v1_sign = ccgate_api::sign::sign(&merchant.app_id, &merchant.app_secret, &timestamp, body);
    let stale = (now() - 600).to_string();
    let stale_sign =
        ccgate_api::v2::sign::sign(&merchant.app_id, &merchant.app_secret, &stale, body);
    let millis = format!("{timestamp}123");
    let millis_sign =
        ccgate_api::v2::sign::sign(&merchant.app_id, &merchant.app_secret, &millis, body);
    let cases: Vec<(Headers, &[u8], u64)> = vec![
        (
            vec![
                ("Appid", &merchant.app_id),
                ("Timestamp", &timestamp),
                ("Sign", &good),
            ],
            body,
            10000,
        ),
        // A 13-digit (millisecond) timestamp, as one client sends (v2 spec §1.4).
        (
            vec![
                ("Appid", &merchant.app_id),
                ("Timestamp", &millis),
                ("Sign", &millis_sign),
            ],
            body,
            10000,
        ),
        // A v1 signature is not a v2 one.
        (
            vec![
                ("Appid", &merchant.app_id),
                ("Timestamp", &timestamp),
                ("Sign", &v1_sign),
            ],
            body,
            11005,
        ),
        (
            vec![
                ("Appid", &merchant.app_id),
                ("Timestamp", &timestamp),
                ("Sign", &good),
            ],
            b"{\"coinId\":1281}",
            11005,
        ),
        (
            vec![
                ("Appid", &merchant.app_id),
                ("Timestamp", &stale),
                ("Sign", &stale_sign),
            ],
            body,
            11006,
        ),
        (
            vec![("Appid", &merchant.app_id), ("Sign", &good)],
            body,
            11001,
        ),
        (
            vec![
                ("Appid", &merchant.app_id),
                ("Timestamp", "soon"),
                ("Sign", &good),
            ],
            body,
            11001,
        ),
        (
            vec![
                ("Appid", "nobody"),
                ("Timestamp", &timestamp),
                ("Sign", &good),
            ],
            body,
            12001,
        ),
    ];
    for (headers, body, code) in cases {
        let response = gateway.raw_post(path, &headers, body);
        assert_eq!(response.status, 200, "{headers:?}: {}", response.text());
        assert_eq!(
            response.json()["code"],
            code,
            "{headers:?}: {}",
            response.text()
        );
        assert!(
            response.header("sign").is_none(),
            "refusals are never signed"
        );
    }
    // Validation: a missing field, an unknown coin, a body that is no object.
    for (body, code, says) in [
        ("{}", 11000, "coinId"),
        (r#"{"coinId":"x"}"#, 11000, "coinId"),
        (r#"{"coinId":424242}"#, 13000, "424242"),
        ("[1]", 11000, "JSON object"),
    ] {
        let response = gateway.post_v2(&merchant, "getCoin", body.as_bytes());
        assert_eq!(response.status, 200);
        let (got, msg) = refused(&response);
        assert_eq!(got, code, "{body}: {msg}");
        assert!(msg.contains(says), "{body}: {msg}");
    }
    // Below the API: an unknown path and a wrong method still carry v2's envelope.
    let unknown = gateway.post_v2(&merchant, "getEverything", b"{}");
    assert_eq!(unknown.status, 404);
    assert_eq!(refused(&unknown).0, 11000);
    let get = gateway.raw_request("GET", path, &[], b"");
    assert_eq!(get.status, 405);
    assert_eq!(refused(&get).0, 11000);
    // And v1 keeps its own.
    let v1_unknown = gateway.raw_request("GET", "/ccpayment/v1/nothing", &[], b"");
    assert_eq!(v1_unknown.json()["code"], 220009);
}

#[test]
fn coin_and_chain_answers_match_their_golden_bytes() {
    let gateway = Gateway::start(&[]);
    let merchant = gateway.demo.clone().unwrap();
    for (endpoint, body, golden) in [
        ("getCoinList", "", "v2_coin_list.json"),
        ("getCoin", r#"{"coinId":1280}"#, "v2_coin_usdt.json"),
        ("getChainList", "{}", "v2_chain_list.json"),
        (
            "getChainList",
            r#"{"chains":["bsc"]}"#,
            "v2_chain_list_bsc.json",
        ),
        ("all/chain", "{}", "v2_all_chain.json"),
        ("getFiatList", "[]", "v2_fiat_list.json"),
        (
            "getMainCoinList",
            r#"{"appId":"x"}"#,
            "v2_main_coin_list.json",
        ),
        (
            "getCoinUSDTPrice",
            r#"{"coinIds":[1280,"1329",7]}"#,
            "v2_prices.json",
        ),
    ] {
        let response = gateway.post_v2(&merchant, endpoint, body.as_bytes());
        assert_eq!(response.status, 200, "{endpoint}");
        assert_golden(golden, &response.body);
    }
}

#[test]
fn balances_addresses_and_cwallet_ids_are_the_same_objects_in_both_dialects() {
    let gateway = Gateway::start(&[]);
    let merchant = gateway.demo.clone().unwrap();
    gateway.adjust(&merchant, "USDT", "125.5", &[]);
    gateway.adjust(&merchant, "TRX", "7", &[]);
    let list = ok(&gateway, &merchant, "getAppCoinAssetList", "");
    assert_eq!(
        list["assets"],
        json!([
            {"coinId":1280,"coinSymbol":"USDT","available":"125.5"},
            {"coinId":1482,"coinSymbol":"TRX","available":"7"}
        ])
    );
    let v1 = gateway
        .post_signed(&merchant, "/ccpayment/v1/assets", b"", None)
        .json();
    let v1_values: Vec<_> = v1["data"]["list"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a["crypto"].clone(), a["value"].clone()))
        .collect();
    let v2_values: Vec<_> = list["assets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a["coinSymbol"].clone(), a["available"].clone()))
        .collect();
    assert_eq!(v1_values, v2_values);
    let usdc = ok(&gateway, &merchant, "getAppCoinAsset", r#"{"coinId":1282}"#);
    assert_eq!(
        usdc["asset"],
        json!({"coinId":1282,"coinSymbol":"USDC","available":"0"})
    );

    for (chain, address, valid) in [
        ("ETH", "0x52908400098527886E0F7030069857D2E4169EE7", true),
        ("ETH", "0x52908400098527886e0f7030069857d2e4169ee", false),
        ("TRX", "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t", true),
        ("TRX", "0x52908400098527886E0F7030069857D2E4169EE7", false),
    ] {
        let body = json!({"chain": chain, "address": address}).to_string();
        let data = ok(&gateway, &merchant, "checkWithdrawalAddressValidity", &body);
        assert_eq!(data["addrIsValid"], valid, "{chain} {address}");
    }
    let unknown_chain = gateway.post_v2(
        &merchant,
        "checkWithdrawalAddressValidity",
        br#"{"chain":"ERC20","address":"0x0"}"#,
    );
    assert_eq!(refused(&unknown_chain).0, 13001);

    let cwallet: Value = serde_json::from_str(&gateway.cli_ok(&[
        "cwallet",
        "create",
        "--nickname",
        "j***@proton.me",
        "--json",
    ]))
    .unwrap();
    let c_id = cwallet["c_id"].as_str().unwrap();
    let body = json!({ "cwalletUserId": c_id }).to_string();
    let user = ok(&gateway, &merchant, "getCwalletUserId", &body);
    assert_eq!(
        user,
        json!({"cwalletUserId": c_id, "cwalletUserName": "j***@proton.me"})
    );
    let nobody = gateway.post_v2(&merchant, "getCwalletUserId", br#"{"cwalletUserId":"1"}"#);
    assert_eq!(refused(&nobody).0, 11003);
}

#[test]
fn the_client_crate_speaks_v2() {
    let gateway = Gateway::start(&[]);
    let merchant = gateway.demo.clone().unwrap();
    let base = format!("http://{}", gateway.address());
    let client = V2Client::new(base.as_str(), &merchant.app_id, &merchant.app_secret).unwrap();
    let wrong = V2Client::new(base.as_str(), &merchant.app_id, "0".repeat(32)).unwrap();
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async {
            let coin: Value = client
                .call("getCoin", &json!({"coinId": 1329}), true)
                .await
                .unwrap();
            assert_eq!(coin["coin"]["symbol"], "MATIC");
            match wrong
                .call::<_, Value>("getCoin", &json!({"coinId": 1329}), true)
                .await
            {
                Err(ClientError::Api {
                    code: 11005,
                    reason,
                    ..
                }) => {
                    assert_eq!(reason.as_deref(), Some("VerifySignFailed"));
                }
                other => panic!("{other:?}"),
            }
        });
}
