//! End-to-end: the real `ccgate` binary on a free loopback port with a fresh
//! data directory, driven by its CLI and by hand-signed HTTP requests written
//! byte for byte, as the different SDKs write them.
#![allow(clippy::unwrap_used)]

mod support;

#[path = "e2e/admin.rs"]
mod admin;
#[path = "e2e/checkout.rs"]
mod checkout;
#[path = "e2e/cli.rs"]
mod cli;
#[path = "e2e/client.rs"]
mod client;
#[path = "e2e/dashboard.rs"]
mod dashboard;
#[path = "e2e/dashboard_admin.rs"]
mod dashboard_admin;
#[path = "e2e/dashboard_invoices.rs"]
mod dashboard_invoices;
#[path = "e2e/dashboard_money.rs"]
mod dashboard_money;
#[path = "e2e/dashboard_views.rs"]
mod dashboard_views;
#[path = "e2e/delivery.rs"]
mod delivery;
#[path = "e2e/deposits.rs"]
mod deposits;
#[path = "e2e/evm.rs"]
mod evm;
#[path = "e2e/hostile.rs"]
mod hostile;
#[path = "e2e/limits.rs"]
mod limits;
#[path = "e2e/listen.rs"]
mod listen;
#[path = "e2e/openapi.rs"]
mod openapi;
#[path = "e2e/orders.rs"]
mod orders;
#[path = "e2e/outbound.rs"]
mod outbound;
#[path = "e2e/postgres.rs"]
mod postgres;
#[path = "e2e/reliability.rs"]
mod reliability;
#[path = "e2e/resources.rs"]
mod resources;
#[path = "e2e/sandbox.rs"]
mod sandbox;
#[path = "e2e/sandbox_faults.rs"]
mod sandbox_faults;
#[path = "e2e/snapshots.rs"]
mod snapshots;
#[path = "e2e/v2.rs"]
mod v2;
#[path = "e2e/v2_addresses.rs"]
mod v2_addresses;
#[path = "e2e/v2_batch_withdrawals.rs"]
mod v2_batch_withdrawals;
#[path = "e2e/v2_client.rs"]
mod v2_client;
#[path = "e2e/v2_orders.rs"]
mod v2_orders;
#[path = "e2e/v2_swaps.rs"]
mod v2_swaps;
#[path = "e2e/v2_wallet.rs"]
mod v2_wallet;
#[path = "e2e/v2_wallet_scenario.rs"]
mod v2_wallet_scenario;
#[path = "e2e/v2_withdrawals.rs"]
mod v2_withdrawals;
#[path = "e2e/withdrawals.rs"]
mod withdrawals;

use serde_json::Value;
use support::{Gateway, Merchant, eventually, now};

const USDT: &str = "8e5741cf-6e51-4892-9d04-3d40e1dd0128";
const USDT_TRC20_TOKEN: &str = "0912e09a-d8e2-41d7-a0bc-a25530892988";
const BTC: &str = "f36ad1cf-222a-4933-9ad0-86df8069f916";
const ETH_TOKEN: &str = "e8f64d3d-df5b-411d-897f-c6d8d30206b7";

/// The seed page's example answer, byte for byte.
const SEED_ANSWER: &str = r#"{"code":10000,"msg":"success","data":{"list":[{"coin_id":"8e5741cf-6e51-4892-9d04-3d40e1dd0128","crypto":"USDT","name":"Tether USD","value":"127.9514","price":"1","logo":"https://resource.cwallet.com/token/icon/usdt.png"}]}}"#;

fn funded_merchant(gateway: &Gateway) -> Merchant {
    let merchant = gateway.create_merchant("shop");
    gateway.cli_ok(&[
        "ledger",
        "adjust",
        "--app-id",
        &merchant.app_id,
        "--coin",
        "USDT",
        "--amount",
        "127.9514",
        "--reason",
        "opening balance",
    ]);
    gateway.cli_ok(&[
        "ledger",
        "adjust",
        "--app-id",
        &merchant.app_id,
        "--coin",
        BTC,
        "--amount",
        "0.50000000",
        "--reason",
        "opening balance",
    ]);
    merchant
}

#[test]
fn assets_answers_every_client_style_and_signs_the_answer() {
    let gateway = Gateway::start(&[]);
    let merchant = funded_merchant(&gateway);

    let styles: [(&str, &str, Option<&str>); 4] = [
        (
            "compact (Go, Java, PHP, Node)",
            r#"{"coin_id":"8e5741cf-6e51-4892-9d04-3d40e1dd0128"}"#,
            Some("application/json"),
        ),
        (
            "Python json.dumps",
            r#"{"coin_id": "8e5741cf-6e51-4892-9d04-3d40e1dd0128"}"#,
            Some("application/json;charset=uf8"),
        ),
        (
            "pretty-printed (docs)",
            "{\n\t\"coin_id\": \"8e5741cf-6e51-4892-9d04-3d40e1dd0128\"\n}",
            Some("application/json; charset=utf-8"),
        ),
        (
            "legacy token_id of a USDT network",
            r#"{"token_id":"0912e09a-d8e2-41d7-a0bc-a25530892988"}"#,
            None,
        ),
    ];
    for (style, body, content_type) in styles {
        let response = gateway.post_signed(
            &merchant,
            "/ccpayment/v1/assets",
            body.as_bytes(),
            content_type,
        );
        assert_eq!(response.status, 200, "{style}");
        assert_eq!(response.text(), SEED_ANSWER, "{style}");
        response.assert_signed_by(&merchant);
    }
    assert!(USDT_TRC20_TOKEN.len() == 36 && USDT.len() == 36);

    // Every coin held: empty body (Node, PHP), `{}`, and the "not provided" forms.
    for body in ["", "{}", r#"{"coin_id":null}"#, r#"{"coin_id":""}"#] {
        let response =
            gateway.post_signed(&merchant, "/ccpayment/v1/assets", body.as_bytes(), None);
        let json = response.json();
        assert_eq!(json["code"], 10000, "body {body:?}");
        let list = json["data"]["list"].as_array().unwrap();
        let pairs: Vec<(&str, &str)> = list
            .iter()
            .map(|c| (c["crypto"].as_str().unwrap(), c["value"].as_str().unwrap()))
            .collect();
        assert_eq!(
            pairs,
            [("BTC", "0.5"), ("USDT", "127.9514")],
            "body {body:?}"
        );
        assert_eq!(list[0]["price"], "96250.5");
        response.assert_signed_by(&merchant);
    }

    // A coin the merchant never held answers zero (here through its token id).
    let response = gateway.post_signed(
        &merchant,
        "/ccpayment/v1/assets",
        format!(r#"{{"coin_id":"{ETH_TOKEN}"}}"#).as_bytes(),
        None,
    );
    let json = response.json();
    assert_eq!(json["data"]["list"][0]["crypto"], "ETH");
    assert_eq!(json["data"]["list"][0]["value"], "0");
}

#[test]
fn header_names_are_case_insensitive_and_sign_hex_may_be_upper_case() {
    let gateway = Gateway::start(&[]);
    let merchant = funded_merchant(&gateway);
    let body = br#"{"coin_id":"8e5741cf-6e51-4892-9d04-3d40e1dd0128"}"#;
    let timestamp = now().to_string();
    let sign = ccgate_api::sign::sign(&merchant.app_id, &merchant.app_secret, &timestamp, body)
        .to_uppercase();
    let response = gateway.raw_post(
        "/ccpayment/v1/assets",
        &[
            ("APPID", merchant.app_id.as_str()),
            ("timestamp", timestamp.as_str()),
            ("SiGn", sign.as_str()),
        ],
        body,
    );
    assert_eq!(response.text(), SEED_ANSWER);
}

#[test]
fn first_start_prints_a_working_demo_merchant() {
    let gateway = Gateway::start(&[]);
    let demo = gateway.demo.clone().unwrap();
    assert_eq!(demo.app_id.len(), 33);
    assert_eq!(demo.app_secret.len(), 32);
    let response = gateway.post_signed(&demo, "/ccpayment/v1/assets", b"{}", None);
    assert_eq!(
        response.text(),
        r#"{"code":10000,"msg":"success","data":{"list":[]}}"#
    );
    response.assert_signed_by(&demo);
    let listed: Value =
        serde_json::from_str(&gateway.cli_ok(&["merchant", "list", "--json"])).unwrap();
    assert_eq!(listed[0]["name"], "demo");
    assert!(
        !listed.to_string().contains(&demo.app_secret),
        "list never shows secrets"
    );
}

/// (case, headers, body, expected HTTP status, expected code)
type BadInput<'a> = (&'a str, Vec<(&'a str, String)>, Vec<u8>, u16, u64);

#[test]
fn bad_input_gets_its_code_writes_nothing_and_the_server_goes_on() {
    let gateway = Gateway::start(&[]);
    let merchant = funded_merchant(&gateway);
    let path = "/ccpayment/v1/assets";
    let ts = now().to_string();
    let good_body = br#"{"coin_id":"8e5741cf-6e51-4892-9d04-3d40e1dd0128"}"#;
    let sign = |ts: &str, body: &[u8]| {
        ccgate_api::sign::sign(&merchant.app_id, &merchant.app_secret, ts, body)
    };
    let good_sign = sign(&ts, good_body);
    let app = merchant.app_id.as_str();

    let stale = (now() - 121).to_string();
    let future = (now() + 300).to_string();
    let array = b"[1,2]".to_vec();
    let not_json = b"coin_id=abc".to_vec();
    let not_utf8 = vec![b'{', b'"', 0xff, 0xfe, b'"', b'}'];
    let wrong_type = br#"{"coin_id":5}"#.to_vec();
    let unknown_coin = br#"{"coin_id":"00000000-0000-0000-0000-000000000000"}"#.to_vec();
    let cases: Vec<BadInput> = vec![
        ("no headers", vec![], good_body.to_vec(), 200, 220001),
        (
            "no Appid",
            vec![("Timestamp", ts.clone()), ("Sign", good_sign.clone())],
            good_body.to_vec(),
            200,
            220001,
        ),
        (
            "empty Sign",
            vec![
                ("Appid", app.into()),
                ("Timestamp", ts.clone()),
                ("Sign", String::new()),
            ],
            good_body.to_vec(),
            200,
            220001,
        ),
        (
            "unknown Appid",
            vec![
                ("Appid", "202302010636261620672405236006912".into()),
                ("Timestamp", ts.clone()),
                ("Sign", good_sign.clone()),
            ],
            good_body.to_vec(),
            200,
            220002,
        ),
        (
            "wrong Sign",
            vec![
                ("Appid", app.into()),
                ("Timestamp", ts.clone()),
                ("Sign", sign(&ts, b"{}")),
            ],
            good_body.to_vec(),
            200,
            220003,
        ),
        (
            "Sign not hex",
            vec![
                ("Appid", app.into()),
                ("Timestamp", ts.clone()),
                ("Sign", "zz".into()),
            ],
            good_body.to_vec(),
            200,
            220003,
        ),
        (
            "stale Timestamp",
            vec![
                ("Appid", app.into()),
                ("Timestamp", stale.clone()),
                ("Sign", sign(&stale, good_body)),
            ],
            good_body.to_vec(),
            200,
            220004,
        ),
        (
            "future Timestamp",
            vec![
                ("Appid", app.into()),
                ("Timestamp", future.clone()),
                ("Sign", sign(&future, good_body)),
            ],
            good_body.to_vec(),
            200,
            220004,
        ),
        (
            "Timestamp in ms",
            vec![
                ("Appid", app.into()),
                ("Timestamp", format!("{ts}000")),
                ("Sign", sign(&format!("{ts}000"), good_body)),
            ],
            good_body.to_vec(),
            200,
            220004,
        ),
        (
            "Timestamp not a number",
            vec![
                ("Appid", app.into()),
                ("Timestamp", "soon".into()),
                ("Sign", sign("soon", good_body)),
            ],
            good_body.to_vec(),
            200,
            220004,
        ),
        (
            "JSON array",
            vec![
                ("Appid", app.into()),
                ("Timestamp", ts.clone()),
                ("Sign", sign(&ts, &array)),
            ],
            array.clone(),
            200,
            220005,
        ),
        (
            "not JSON",
            vec![
                ("Appid", app.into()),
                ("Timestamp", ts.clone()),
                ("Sign", sign(&ts, &not_json)),
            ],
            not_json.clone(),
            200,
            220005,
        ),
        (
            "invalid UTF-8",
            vec![
                ("Appid", app.into()),
                ("Timestamp", ts.clone()),
                ("Sign", sign(&ts, &not_utf8)),
            ],
            not_utf8.clone(),
            200,
            220005,
        ),
        (
            "wrong field type",
            vec![
                ("Appid", app.into()),
                ("Timestamp", ts.clone()),
                ("Sign", sign(&ts, &wrong_type)),
            ],
            wrong_type.clone(),
            200,
            220006,
        ),
        (
            "unknown coin",
            vec![
                ("Appid", app.into()),
                ("Timestamp", ts.clone()),
                ("Sign", sign(&ts, &unknown_coin)),
            ],
            unknown_coin.clone(),
            200,
            221001,
        ),
    ];
    for (case, headers, body, status, code) in &cases {
        let headers: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let response = gateway.raw_post(path, &headers, body);
        assert_eq!(response.status, *status, "{case}: {}", response.text());
        let json = response.json();
        assert_eq!(json["code"], *code, "{case}: {}", response.text());
        assert!(json.get("data").is_none(), "{case}: errors carry no data");
        assert!(!json["msg"].as_str().unwrap().is_empty());
        assert!(json["reason"].is_string());
        assert!(
            !response.text().contains(&merchant.app_secret),
            "{case}: secret leaked"
        );
        if (220001..=220004).contains(code) {
            // A refused authentication is not signed: no signature oracle.
            for header in ["sign", "timestamp", "appid"] {
                assert!(response.header(header).is_none(), "{case}: {header}");
            }
        } else {
            response.assert_signed_by(&merchant);
        }
    }
    let wrong_type = gateway.raw_post(
        path,
        &[
            ("Appid", app),
            ("Timestamp", &ts),
            ("Sign", &sign(&ts, br#"{"coin_id":5}"#)),
        ],
        br#"{"coin_id":5}"#,
    );
    assert!(
        wrong_type.json()["msg"]
            .as_str()
            .unwrap()
            .contains("coin_id"),
        "the message names the field"
    );

    // 10 MB: refused before it is read into memory, with the envelope.
    let huge = vec![b' '; 10 * 1024 * 1024];
    let response = gateway.raw_post(
        path,
        &[
            ("Appid", app),
            ("Timestamp", &ts),
            ("Sign", &sign(&ts, &huge)),
        ],
        &huge,
    );
    assert_eq!(response.status, 413);
    assert_eq!(response.json()["code"], 220007);

    // The same without Content-Length (chunked), counted while it is read.
    let chunk = vec![b' '; 32 * 1024];
    let mut chunked = Vec::new();
    for _ in 0..4 {
        chunked.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        chunked.extend_from_slice(&chunk);
        chunked.extend_from_slice(b"\r\n");
    }
    chunked.extend_from_slice(b"0\r\n\r\n");
    let response = gateway.raw_request_chunked(
        path,
        &[("Appid", app), ("Timestamp", &ts), ("Sign", &good_sign)],
        &chunked,
    );
    assert_eq!(
        (response.status, response.json()["code"].as_u64()),
        (413, Some(220007))
    );

    // Below the API: unknown path and wrong method also answer the envelope.
    let response = gateway.raw_request("POST", "/ccpayment/v1/nothing", &[], b"{}");
    assert_eq!(
        (response.status, response.json()["code"].as_u64()),
        (404, Some(220009))
    );
    let response = gateway.raw_request("GET", path, &[], b"");
    assert_eq!(
        (response.status, response.json()["code"].as_u64()),
        (405, Some(220009))
    );

    // A disabled merchant is refused like an unknown one.
    let other = gateway.create_merchant("other");
    gateway.cli_ok(&["merchant", "disable", "--app-id", &other.app_id]);
    let response = gateway.post_signed(&other, path, b"{}", None);
    assert_eq!(response.json()["code"], 220002);

    // Nothing was written, and the server still serves.
    let balances: Value =
        serde_json::from_str(&gateway.cli_ok(&["ledger", "balances", "--app-id", app, "--json"]))
            .unwrap();
    assert_eq!(balances.as_array().unwrap().len(), 2);
    assert!(
        gateway
            .cli_ok(&["ledger", "verify"])
            .contains("2 journal entries")
    );
    assert_eq!(
        gateway.raw_request("GET", "/healthz", &[], b"").json(),
        serde_json::json!({"status": "ok", "mode": "simulated"})
    );
    assert_eq!(
        gateway.post_signed(&merchant, path, good_body, None).text(),
        SEED_ANSWER
    );
}

#[test]
fn rate_limit_answers_429_with_the_envelope() {
    let gateway = Gateway::start(&["--rate-limit-per-sec", "5"]);
    let statuses: Vec<u16> = (0..30)
        .map(|_| gateway.raw_request("GET", "/healthz", &[], b"").status)
        .collect();
    assert!(statuses.contains(&200));
    assert!(statuses.contains(&429), "{statuses:?}");
    let limited = loop {
        let response = gateway.raw_request("POST", "/ccpayment/v1/assets", &[], b"{}");
        if response.status == 429 {
            break response;
        }
    };
    assert_eq!(limited.json()["code"], 220008);
}

/// The server caches credentials for `--cache-ttl-ms` (1 s by default); a
/// secret rotated by the CLI, another process, takes over within that time.
/// The deadline only bounds a hung test.
#[test]
fn rotated_secret_takes_over_within_the_cache_ttl() {
    let gateway = Gateway::start(&[]);
    let merchant = gateway.create_merchant("shop");
    let path = "/ccpayment/v1/assets";
    assert_eq!(
        gateway.post_signed(&merchant, path, b"{}", None).json()["code"],
        10000
    );
    let rotated = gateway.rotate_secret(&merchant);
    assert_ne!(rotated.app_secret, merchant.app_secret);
    eventually(10, "the old secret kept working", || {
        let answer = gateway.post_signed(&merchant, path, b"{}", None).json();
        if answer["code"] == 220003 {
            Ok(())
        } else {
            Err(answer.to_string())
        }
    });
    let response = gateway.post_signed(&rotated, path, b"{}", None);
    assert_eq!(response.json()["code"], 10000);
    response.assert_signed_by(&rotated);
}

#[test]
fn without_cache_a_rotated_secret_takes_over_at_once() {
    let gateway = Gateway::start(&["--cache-ttl-ms", "0"]);
    let merchant = gateway.create_merchant("shop");
    let path = "/ccpayment/v1/assets";
    assert_eq!(
        gateway.post_signed(&merchant, path, b"{}", None).json()["code"],
        10000
    );
    let rotated = gateway.rotate_secret(&merchant);
    assert_eq!(
        gateway.post_signed(&merchant, path, b"{}", None).json()["code"],
        220003
    );
    assert_eq!(
        gateway.post_signed(&rotated, path, b"{}", None).json()["code"],
        10000
    );
}

#[test]
fn ledger_adjust_refuses_overdrafts_and_bad_amounts() {
    let gateway = Gateway::start(&[]);
    let merchant = funded_merchant(&gateway);
    let adjust = |amount: &str| {
        gateway.cli(&[
            "ledger",
            "adjust",
            "--app-id",
            &merchant.app_id,
            "--coin",
            "USDT",
            "--amount",
            amount,
            "--reason",
            "test",
        ])
    };
    let overdraft = adjust("-127.9515");
    assert!(!overdraft.status.success());
    assert!(String::from_utf8_lossy(&overdraft.stderr).contains("insufficient"));
    for bad in ["0", "abc", "1e5", "1.0000000000000000001"] {
        assert!(!adjust(bad).status.success(), "{bad}");
    }
    assert!(adjust("-27.9514").status.success());
    let balances: Value = serde_json::from_str(&gateway.cli_ok(&[
        "ledger",
        "balances",
        "--app-id",
        &merchant.app_id,
        "--json",
    ]))
    .unwrap();
    let usdt = balances
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["crypto"] == "USDT")
        .unwrap();
    assert_eq!(usdt["value"], "100");
    assert!(gateway.cli_ok(&["ledger", "verify"]).contains("all equal"));
    let unknown = gateway.cli(&[
        "ledger", "adjust", "--app-id", "nobody", "--coin", "USDT", "--amount", "1", "--reason",
        "x",
    ]);
    assert!(!unknown.status.success());
}

#[cfg(unix)]
#[test]
fn data_files_are_private_and_sigterm_stops_cleanly() {
    use std::os::unix::fs::PermissionsExt;
    let mode =
        |path: &std::path::Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
    let mut gateway = Gateway::start(&[]);
    let data = gateway.data_dir().to_owned();
    for file in ["master.key", "ccgate.db", "ccgate.db-wal"] {
        assert_eq!(mode(&data.join(file)), 0o600, "{file}");
    }
    assert_eq!(mode(&data), 0o700);
    assert!(
        gateway
            .cli_ok(&["doctor"])
            .contains("ok      file permissions")
    );

    // A data directory left readable by others is reported, not ignored.
    std::fs::set_permissions(
        data.join("ccgate.db"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    let doctor = gateway.cli(&["doctor"]);
    let report = String::from_utf8_lossy(&doctor.stdout);
    assert!(!doctor.status.success(), "{report}");
    assert!(
        report.contains("PROBLEM file permissions:") && report.contains("ccgate.db is mode 644"),
        "{report}"
    );
    assert!(gateway.terminate().success());
    let mut restarted = gateway.restart_capturing_log(&[]);
    let (status, log) = restarted.terminate_and_read_log();
    assert!(status.success());
    assert!(
        log.contains("WARNING: ") && log.contains("ccgate.db is mode 644"),
        "{log}"
    );
}

/// `backup` while `serve` runs gives a consistent copy that opens as a data
/// directory with the same key; `doctor` says what is wrong.
#[test]
fn backup_while_serving_and_doctor() {
    let gateway = Gateway::start(&[]);
    let merchant = funded_merchant(&gateway);
    let doctor = gateway.cli(&["doctor"]);
    assert!(
        doctor.status.success(),
        "{}",
        String::from_utf8_lossy(&doctor.stdout)
    );
    assert!(String::from_utf8_lossy(&doctor.stdout).contains("2 entries replay"));

    let restored = tempfile::tempdir().unwrap();
    let copy = restored.path().join("ccgate.db");
    gateway.cli_ok(&["backup", "--to", copy.to_str().unwrap()]);
    assert!(
        !gateway
            .cli(&["backup", "--to", copy.to_str().unwrap()])
            .status
            .success(),
        "never overwrites"
    );
    std::fs::copy(
        gateway.data_dir().join("master.key"),
        restored.path().join("master.key"),
    )
    .unwrap();
    let balances = std::process::Command::new(env!("CARGO_BIN_EXE_ccgate"))
        .args([
            "ledger",
            "balances",
            "--app-id",
            &merchant.app_id,
            "--json",
            "--data-dir",
        ])
        .arg(restored.path())
        .output()
        .unwrap();
    let balances: Value = serde_json::from_slice(&balances.stdout).unwrap();
    assert_eq!(balances.as_array().unwrap().len(), 2, "{balances}");

    let wrong_key = std::process::Command::new(env!("CARGO_BIN_EXE_ccgate"))
        .args(["doctor", "--data-dir"])
        .arg(gateway.data_dir())
        .env("CCGATE_MASTER_KEY", "00".repeat(32))
        .output()
        .unwrap();
    assert!(!wrong_key.status.success());
    assert!(String::from_utf8_lossy(&wrong_key.stdout).contains("PROBLEM merchants"));
}
