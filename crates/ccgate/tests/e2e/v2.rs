//! The v2 dialect through the real binary: transport (HMAC over the raw
//! bytes, every body a client sends, HTTP/1.0, the envelope of every
//! refusal), the coin and chain answers against their golden bytes, and
//! balances that are one object whichever dialect reads them.

use ccgate_client::{ClientError, V2Client};
use serde_json::{Value, json};

use crate::openapi::{element_text, only_documented_keys, same_shape_with_maps, validate};
use crate::support::{Gateway, HttpStub, Merchant, assert_golden, now};

/// Fields whose value is a map keyed by data (chain symbols, coin ids).
const MAP_FIELDS: [&str; 2] = ["networks", "prices"];
/// A valid EIP-55 address.
const PAYEE: &str = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed";

/// Whether `answer` has `example`'s shape, v2's map fields read as maps.
fn v2_shape(example: &Value, answer: &Value, at: &str) -> Result<(), String> {
    same_shape_with_maps(example, answer, at, &MAP_FIELDS)
}

#[test]
fn every_v2_example_request_is_answered_as_its_example_says() {
    // Two requests per route and their setup, sent as fast as the machine
    // goes: more than the per-address limit allows in a second.
    let gateway = Gateway::start(&["--no-rate-limit"]);
    let merchant = gateway.demo.clone().unwrap();
    gateway.adjust(&merchant, "USDT", "100", &[]);
    let cwallet: Value =
        serde_json::from_str(&gateway.cli_ok(&["cwallet", "create", "--nickname", "n", "--json"]))
            .unwrap();
    let own_address = gateway
        .post_signed(
            &merchant,
            "/ccpayment/v1/payment/address/get",
            br#"{"user_id":"u-1","chain":"ETH"}"#,
            None,
        )
        .json()["data"]["address"]
        .clone();
    // A deposit to a permanent address, for the deposit record examples.
    let reference = ok(
        &gateway,
        &merchant,
        "getOrCreateAppDepositAddress",
        r#"{"referenceId":"user-77","chain":"ETH"}"#,
    );
    let reference_address = reference["address"].as_str().unwrap();
    gateway.cli_ok(&[
        "devnet",
        "pay",
        "--to",
        reference_address,
        "--token-id",
        "2728e271-9f5d-4c05-8aa7-4a87b1afcc95",
        "--amount",
        "1",
    ]);
    // The wallet system's examples: alice is funded by the merchant (its App
    // ID), receives a deposit, and makes the transfer and batch the examples
    // name (repeating them answers the same records).
    ok(
        &gateway,
        &merchant,
        "userTransfer",
        &format!(
            r#"{{"orderId":"fund-alice","fromUserId":"{}","toUserId":"user-alice","coinId":1280,"amount":"10"}}"#,
            merchant.app_id
        ),
    );
    ok(
        &gateway,
        &merchant,
        "userTransfer",
        r#"{"orderId":"t-3001","fromUserId":"user-alice","toUserId":"user-bob01","coinId":1280,"amount":"1","remark":"rent"}"#,
    );
    let batch_id = ok(
        &gateway,
        &merchant,
        "userBatchTransfer",
        r#"{"orderId":"b-3001","userId":"user-alice","coinId":1280,"toUsers":[{"userId":"user-bob01","amount":"0.5"},{"userId":"user-carol","amount":"0.5"}]}"#,
    )["recordId"]
        .clone();
    let user_address = ok(
        &gateway,
        &merchant,
        "getOrCreateUserDepositAddress",
        r#"{"userId":"user-alice","chain":"ETH"}"#,
    )["address"]
        .as_str()
        .unwrap()
        .to_owned();
    gateway.cli_ok(&[
        "devnet",
        "pay",
        "--to",
        &user_address,
        "--token-id",
        "2728e271-9f5d-4c05-8aa7-4a87b1afcc95",
        "--amount",
        "1",
    ]);
    gateway.cli_ok(&["devnet", "mine", "--chain", "ETH", "--blocks", "12"]);
    let user_deposit_id = crate::support::eventually(20, "the user's deposit credited", || {
        let list = ok(
            &gateway,
            &merchant,
            "getUserDepositRecordList",
            r#"{"userId":"user-alice"}"#,
        );
        list["records"][0]["recordId"]
            .as_str()
            .map(str::to_owned)
            .ok_or(list.to_string())
    });
    let deposit_record_id = crate::support::eventually(20, "the deposit credited", || {
        let list = ok(&gateway, &merchant, "getAppDepositRecordList", "{}");
        list["records"][0]["recordId"]
            .as_str()
            .map(str::to_owned)
            .ok_or(list.to_string())
    });
    let deposit_record_id = Value::String(deposit_record_id);
    // A batch not confirmed, for the abort and append examples (abort runs
    // first: the document lists paths in alphabetical order).
    ok(
        &gateway,
        &merchant,
        "applyBatchWithdraw",
        &format!(
            r#"{{"batchOrderId":"b-3003","coinId":1280,"chain":"ETH","mode":"Single","orders":[{{"seq":1,"address":"{PAYEE}","amount":"5"}}]}}"#
        ),
    );
    // The treasury funded and one swap made, for the swap record examples.
    gateway.cli_ok(&[
        "ledger",
        "adjust",
        "--treasury",
        "--coin",
        "MATIC",
        "--amount",
        "100",
        "--reason",
        "swaps",
    ]);
    ok(
        &gateway,
        &merchant,
        "swap",
        r#"{"orderId":"s-1001","coinIdIn":1280,"amountIn":"10","coinIdOut":1329}"#,
    );
    // Enough more for alice's withdrawal examples, made in the route
    // table's order (the record examples read them).
    ok(
        &gateway,
        &merchant,
        "userTransfer",
        &format!(
            r#"{{"orderId":"fund-alice-2","fromUserId":"{}","toUserId":"user-alice","coinId":1280,"amount":"20"}}"#,
            merchant.app_id
        ),
    );
    // And one of alice's, for the user swap record examples (the example
    // repeats it: the same swap).
    ok(
        &gateway,
        &merchant,
        "userSwap",
        r#"{"orderId":"us-1001","userId":"user-alice","coinIdIn":1280,"amountIn":"1","coinIdOut":1329,"extraFeeRate":"0.01"}"#,
    );
    let doc: Value =
        serde_json::from_str(gateway.raw_request("GET", "/openapi.json", &[], b"").text()).unwrap();
    assert!(v2_shape(&json!({"a": 1}), &json!({"b": 1}), "").is_err());
    assert!(
        v2_shape(
            &json!({"networks": {"X": {"a": 1}}}),
            &json!({"networks": {"Y": {"a": "1"}}}),
            ""
        )
        .is_err()
    );
    let paths: Vec<(&String, &Value)> = doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(path, _)| path.starts_with("/ccpayment/v2/"))
        .collect();
    let served = ccgate_server::v2::routes().len();
    assert_eq!(paths.len(), served, "every v2 route is documented");
    for (path, item) in paths {
        let endpoint = path.trim_start_matches("/ccpayment/v2/");
        let post = &item["post"];
        let requests = &post["requestBody"]["content"]["application/json"]["examples"];
        let answers = &post["responses"]["200"]["content"]["application/json"]["examples"];
        let schema = &post["responses"]["200"]["content"]["application/json"]["schema"];
        let mut request = requests["success"]["value"].clone();
        // Cwallet ids are random: name the one made above.
        if endpoint == "getCwalletUserId" {
            request["cwalletUserId"] = cwallet["c_id"].clone();
        }
        if endpoint == "applyAppWithdrawToCwallet" || endpoint == "applyUserWithdrawToCwallet" {
            request["cwalletUser"] = cwallet["c_id"].clone();
        }
        if endpoint == "rescanLostTransaction" {
            // Addresses are derived per installation: name one of this merchant's.
            request["toAddress"] = own_address.clone();
        }
        if endpoint == "addressUnbinding" {
            // The address paid above: only a paid address can be unbound.
            request["address"] = Value::String(reference_address.to_owned());
        }
        if endpoint == "getTradeBlockHeight" || endpoint == "getPaymentBlockHeight" {
            request["record_id"] = deposit_record_id.clone();
        }
        if endpoint == "getUserDepositRecord" {
            request["recordId"] = Value::String(user_deposit_id.clone());
        }
        if endpoint == "getUserBatchTransferRecordDetail" {
            request["recordId"] = batch_id.clone();
        }
        if endpoint == "getAppDepositRecord" {
            // Record ids are made per deposit: ask about the one paid above.
            request["recordId"] = deposit_record_id.clone();
        }
        let expected = &answers["success"]["value"];
        validate(&doc, schema, expected, path).unwrap();
        let answer = gateway
            .post_v2(&merchant, endpoint, request.to_string().as_bytes())
            .json();
        assert_eq!(answer["code"], 10000, "{path}: {answer}");
        validate(&doc, schema, &answer, path).unwrap();
        v2_shape(expected, &answer, path).unwrap();

        // An error answer holds nothing that varies: it is the example exactly.
        let request = &requests["error"]["value"];
        let expected = &answers["error"]["value"];
        validate(&doc, schema, expected, path).unwrap();
        let answer = gateway
            .post_v2(&merchant, endpoint, request.to_string().as_bytes())
            .json();
        assert_eq!(&answer, expected, "{path}: {request}");
    }
}

#[test]
fn the_docs_page_shows_v2_with_a_worked_signature_that_verifies() {
    let gateway = Gateway::start(&[]);
    let page = gateway.raw_request("GET", "/docs", &[], b"");
    assert_eq!(page.status, 200);
    let html = page.text();
    for (endpoint, _) in ccgate_server::v2::routes() {
        assert!(
            html.contains(&format!("POST /ccpayment/v2/{endpoint}")),
            "{endpoint}"
        );
    }
    for index in 0..2 {
        let text = |what: &str| element_text(html, &format!("v2-sign-{index}-{what}"));
        let message = text("message");
        let (app_id, timestamp) = (text("app-id"), text("timestamp"));
        let body = message
            .strip_prefix(&format!("{app_id}{timestamp}"))
            .unwrap_or_else(|| panic!("the message starts with Appid + Timestamp: {message}"));
        assert!(ccgate_api::v2::sign::verify(
            &app_id,
            &text("app-secret"),
            &timestamp,
            body.as_bytes(),
            &text("sign"),
        ));
    }
    assert!(html.contains("id=\"v2-code-11005\""));
}

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

/// Request headers, body, and the code the answer must carry.
type RefusalCase<'a> = (Vec<(&'a str, &'a str)>, &'a [u8], u64);

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
    let cases: Vec<RefusalCase> = vec![
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
fn webhook_resend_shares_v1s_outbox_and_limits() {
    let gateway = Gateway::start(&[]);
    let merchant = gateway.demo.clone().unwrap();
    let start = now() - 600;
    let body = json!({"startTimestamp": start, "webhookResult": "AllResult",
                      "transactionType": "ApiDeposit", "recordIds": ["r1"]})
    .to_string();
    let data = ok(&gateway, &merchant, "webhook/resend", &body);
    assert_eq!(data, json!({"resendCount": 0}));
    // One call a minute, as v1's: the second is refused with HTTP 200.
    let again = gateway.post_v2(&merchant, "webhook/resend", body.as_bytes());
    assert_eq!(again.status, 200);
    assert_eq!(refused(&again).0, 11004);
    let v1 = gateway.post_signed(
        &merchant,
        "/ccpayment/v1/webhook/resend",
        format!(r#"{{"start_timestamp":{start}}}"#).as_bytes(),
        None,
    );
    assert_eq!(
        v1.json()["code"],
        220008,
        "the limit is the merchant's, across dialects"
    );
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

    // `ccgate call --dialect v2`, the integrator's probe.
    let call = |secret: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_ccgate"))
            .args([
                "call",
                "--dialect",
                "v2",
                "getCoinList",
                "",
                "--app-id",
                &merchant.app_id,
                "--secret",
                secret,
                "--base-url",
                &base,
            ])
            .output()
            .unwrap()
    };
    let ok = call(&merchant.app_secret);
    let printed = String::from_utf8_lossy(&ok.stdout);
    assert!(ok.status.success(), "{printed}");
    assert!(
        printed.contains("HTTP 200") && printed.contains("\"coinId\":1280"),
        "{printed}"
    );
    let refused = call(&"0".repeat(32));
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stdout).contains("11005"));
}

#[test]
fn a_v2_merchant_is_pinged_with_activate_webhook_url_signed_by_hmac() {
    let gateway = Gateway::start(&[]);
    let shop = gateway.demo.clone().unwrap();
    let receiver = HttpStub::start(200, "{\"msg\":\"Success\"}");
    let said = gateway.cli_ok(&[
        "merchant",
        "set-webhook",
        "--app-id",
        &shop.app_id,
        "--url",
        &format!("{}?wc-api=wc_gateway_ccpayment", receiver.url),
        "--dialect",
        "v2",
    ]);
    assert!(said.contains("in v2"), "{said}");
    let outcome: Value = serde_json::from_str(&gateway.cli_ok(&[
        "webhooks",
        "ping",
        "--app-id",
        &shop.app_id,
        "--json",
    ]))
    .unwrap();
    assert_eq!(outcome["acknowledged"], true, "{outcome}");
    let received = receiver.wait_for_requests(1);
    let ping = &received[0];
    assert_eq!(ping.body, br#"{"type":"ActivateWebhookURL","msg":{}}"#);
    assert!(
        ping.target.ends_with("?wc-api=wc_gateway_ccpayment"),
        "{}",
        ping.target
    );
    let timestamp = ping.header("timestamp").unwrap();
    assert!(ccgate_api::v2::sign::verify(
        &shop.app_id,
        &shop.app_secret,
        timestamp,
        &ping.body,
        ping.header("sign").unwrap(),
    ));
}

/// The webhooks v2 triggers send validate against the documented v2 bodies,
/// with no undocumented field.
#[test]
fn every_v2_webhook_sent_is_shaped_as_documented() {
    let receiver = HttpStub::start(200, "Success");
    let gateway = Gateway::start(&["--sandbox"]);
    let merchant = gateway.demo.clone().unwrap();
    gateway.set_webhook(&merchant, &receiver.url);
    let doc: Value =
        serde_json::from_str(gateway.raw_request("GET", "/openapi.json", &[], b"").text()).unwrap();
    let documented = doc["webhooks"].as_object().unwrap();
    let mut kinds_seen = Vec::new();
    for event in [
        "order.paid",
        "deposit.direct",
        "withdrawal.succeeded",
        "user.withdrawal.succeeded",
    ] {
        let report: Value = serde_json::from_str(&gateway.cli_ok(&[
            "trigger",
            event,
            "--app-id",
            &merchant.app_id,
            "--dialect",
            "v2",
            "--json",
        ]))
        .unwrap();
        for webhook in report["webhooks"].as_array().unwrap() {
            let payload = &webhook["payload"];
            let kind = payload["type"]
                .as_str()
                .unwrap_or_else(|| panic!("{payload}"));
            let post = &documented
                .get(&format!("v2{kind}"))
                .unwrap_or_else(|| panic!("{kind} is not documented"))["post"];
            let schema = &post["requestBody"]["content"]["application/json"]["schema"];
            validate(&doc, schema, payload, kind).unwrap();
            only_documented_keys(schema, payload, kind).unwrap();
            kinds_seen.push(kind.to_owned());
        }
    }
    kinds_seen.sort_unstable();
    kinds_seen.dedup();
    assert_eq!(
        kinds_seen,
        [
            "ApiDeposit",
            "ApiWithdrawal",
            "DirectDeposit",
            "UserDeposit",
            "UserWithdrawal"
        ]
    );
}
