//! The operator's CLI against the real binary: order and withdrawal lists
//! (filters, JSON, CSV), `webhooks ping`, `merchant enable`, unique merchant
//! names, the merchant table and the help texts.

use serde_json::Value;

use crate::support::{Gateway, HttpStub, Merchant, USDT_ERC20, eventually, pay_confirmed};

const USDT_TRC20: &str = "0912e09a-d8e2-41d7-a0bc-a25530892988";
const USDT_CWALLET: &str = "8e5741cf-6e51-4892-9d04-3d40e1dd0128";
const PAYEE_TRON: &str = "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t";

fn post(gateway: &Gateway, merchant: &Merchant, path: &str, body: &str) -> Value {
    let response = gateway.post_signed(merchant, path, body.as_bytes(), None);
    response.json()
}

/// A native order of 10 USDT on ETH; its pay address.
fn create_order(gateway: &Gateway, merchant: &Merchant, id: &str) -> String {
    let created = post(
        gateway,
        merchant,
        "/ccpayment/v1/bill/create",
        &format!(
            r#"{{"token_id":"{USDT_ERC20}","product_price":"10","merchant_order_id":"{id}","denominated_currency":"token"}}"#
        ),
    );
    assert_eq!(created["code"], 10000, "{created}");
    created["data"]["pay_address"].as_str().unwrap().to_owned()
}

/// The listed rows' values of `column`.
fn column(listed: &str, column: &str) -> Vec<String> {
    let rows: Value = serde_json::from_str(listed).unwrap();
    rows.as_array()
        .unwrap()
        .iter()
        .map(|row| row[column].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn order_list_filters_by_merchant_status_and_time_and_exports_csv() {
    let gateway = Gateway::start(&[]);
    let shop = gateway.demo.clone().unwrap();
    let other = gateway.create_merchant("other");
    let paid_address = create_order(&gateway, &shop, "o-paid");
    create_order(&gateway, &shop, "o-open");
    create_order(&gateway, &other, "o-other");
    pay_confirmed(&gateway, &paid_address, "10");
    eventually(20, "o-paid is never Successful", || {
        let info = post(
            &gateway,
            &shop,
            "/ccpayment/v1/bill/info",
            r#"{"merchant_order_ids":["o-paid"]}"#,
        );
        let status = &info["data"][0]["order_detail"]["status"];
        if status == "Successful" {
            Ok(())
        } else {
            Err(info.to_string())
        }
    });

    let list = |args: &[&str]| {
        let mut all = vec!["order", "list", "--json"];
        all.extend_from_slice(args);
        column(&gateway.cli_ok(&all), "merchant_order_id")
    };
    assert_eq!(list(&[]), ["o-other", "o-open", "o-paid"]);
    assert_eq!(list(&["--app-id", &shop.app_id]), ["o-open", "o-paid"]);
    assert_eq!(
        list(&["--app-id", &shop.app_id, "--status", "successful"]),
        ["o-paid"]
    );
    assert_eq!(list(&["--status", "pending"]), ["o-other", "o-open"]);
    assert_eq!(list(&["--limit", "1"]), ["o-other"]);
    // A status filters the loaded page: the newest order is pending, so a
    // page of one holds no successful order.
    assert!(list(&["--limit", "1", "--status", "successful"]).is_empty());
    assert_eq!(list(&["--since", "2000-01-01"]).len(), 3);
    assert!(list(&["--since", "2999-01-01T00:00:00Z"]).is_empty());
    assert!(list(&["--until", "946684800"]).is_empty());
    let refused = gateway.cli(&["order", "list", "--since", "yesterday"]);
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("--since \"yesterday\""),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );

    let csv = gateway.cli_ok(&["order", "list", "--csv", "--app-id", &shop.app_id]);
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "order_id,created,appid,merchant_order_id,kind,status,amount,paid,coin,chain,expires"
    );
    assert_eq!(lines.len(), 3, "{csv}");
    let paid: Vec<&str> = lines[2].split(',').collect();
    assert_eq!(
        (
            paid[2], paid[3], paid[5], paid[6], paid[7], paid[8], paid[9]
        ),
        (
            shop.app_id.as_str(),
            "o-paid",
            "Successful",
            "10",
            "10",
            "USDT",
            "ETH"
        ),
        "{csv}"
    );

    let table = gateway.cli_ok(&["order", "list"]);
    assert!(table.starts_with("ORDER_ID "), "{table}");
    assert_eq!(table.lines().count(), 4, "{table}");
}

#[test]
fn withdrawal_list_filters_by_status_and_exports_csv() {
    let gateway = Gateway::start(&[]);
    let shop = gateway.demo.clone().unwrap();
    gateway.adjust(&shop, "USDT", "10", &[]);
    let c_id: Value = serde_json::from_str(&gateway.cli_ok(&[
        "cwallet",
        "create",
        "--nickname",
        "payee",
        "--json",
    ]))
    .unwrap();
    let c_id = c_id["c_id"].as_str().unwrap();
    for body in [
        format!(
            r#"{{"token_id":"{USDT_CWALLET}","address":"{c_id}","value":"2","merchant_order_id":"w-cwallet"}}"#
        ),
        format!(
            r#"{{"token_id":"{USDT_TRC20}","address":"{PAYEE_TRON}","value":"3","merchant_order_id":"w-chain","merchant_pays_fee":true}}"#
        ),
    ] {
        let accepted = post(&gateway, &shop, "/ccpayment/v1/withdraw", &body);
        assert_eq!(accepted["code"], 10000, "{accepted}");
    }

    let list = |args: &[&str]| {
        let mut all = vec!["withdrawal", "list", "--json"];
        all.extend_from_slice(args);
        column(&gateway.cli_ok(&all), "merchant_order_id")
    };
    let mut both = list(&["--app-id", &shop.app_id]);
    both.sort();
    assert_eq!(both, ["w-chain", "w-cwallet"]);
    assert_eq!(list(&["--status", "successful"]), ["w-cwallet"]);
    assert!(list(&["--status", "failed"]).is_empty());
    assert!(list(&["--app-id", &"1".repeat(33)]).is_empty());
    assert!(list(&["--since", "2999-01-01"]).is_empty());

    let csv = gateway.cli_ok(&["withdrawal", "list", "--csv", "--status", "successful"]);
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines,
        [
            "record_id,created,appid,merchant_order_id,kind,status,amount,fee,coin,chain,to,txid",
            lines[1]
        ]
    );
    let row: Vec<&str> = lines[1].split(',').collect();
    assert_eq!(
        (row[3], row[4], row[5], row[6], row[8]),
        ("w-cwallet", "withdrawal", "successful", "2", "USDT"),
        "{csv}"
    );
    assert_eq!(row[10], format!("cwallet:{c_id}"));
}

#[test]
fn webhooks_ping_reaches_the_receiver_signed() {
    let gateway = Gateway::start(&[]);
    let shop = gateway.demo.clone().unwrap();

    let unset = gateway.cli(&["webhooks", "ping", "--app-id", &shop.app_id]);
    assert!(!unset.status.success());
    assert!(
        String::from_utf8_lossy(&unset.stderr).contains("has no webhook URL"),
        "{}",
        String::from_utf8_lossy(&unset.stderr)
    );

    let receiver = HttpStub::start(200, "success");
    gateway.set_webhook(&shop, &receiver.url);
    let outcome: Value = serde_json::from_str(&gateway.cli_ok(&[
        "webhooks",
        "ping",
        "--app-id",
        &shop.app_id,
        "--json",
    ]))
    .unwrap();
    assert_eq!(outcome["acknowledged"], true, "{outcome}");
    assert_eq!(outcome["http_status"], 200);
    assert_eq!(outcome["response_head"], "success");
    assert!(outcome["latency_ms"].is_u64());

    let received = receiver.wait_for_requests(1);
    let ping = &received[0];
    let timestamp = ping.header("timestamp").unwrap();
    assert_eq!(ping.header("appid"), Some(shop.app_id.as_str()));
    assert_eq!(
        ping.header("sign").unwrap(),
        ccgate_api::sign::sign(&shop.app_id, &shop.app_secret, timestamp, &ping.body)
    );
    let body: Value = serde_json::from_slice(&ping.body).unwrap();
    assert_eq!(body["type"], "ping");
    assert_eq!(body["msg"]["app_id"], shop.app_id.as_str());
    assert_eq!(
        outcome["payload"],
        String::from_utf8_lossy(&ping.body).as_ref()
    );
    // A test delivery is not a webhook of the outbox.
    assert_eq!(gateway.cli_ok(&["webhooks", "list", "--json"]).trim(), "[]");

    // A receiver that does not acknowledge: the answer is shown, the exit is 1.
    receiver.answer(500, "boom");
    let refused = gateway.cli(&["webhooks", "ping", "--app-id", &shop.app_id]);
    assert_eq!(refused.status.code(), Some(1));
    let printed = String::from_utf8_lossy(&refused.stdout);
    assert!(printed.contains("HTTP 500"), "{printed}");
    assert!(printed.contains("\"boom\""), "{printed}");
}

#[test]
fn a_disabled_merchant_is_enabled_again() {
    let gateway = Gateway::start(&[]);
    let shop = gateway.create_merchant("shop");
    let assets_code = || post(&gateway, &shop, "/ccpayment/v1/assets", "{}")["code"].clone();
    assert_eq!(assets_code(), 10000);
    gateway.cli_ok(&["merchant", "disable", "--app-id", &shop.app_id]);
    // The server sees another process's change within its cache TTL.
    eventually(10, "the disabled merchant is still served", || {
        let code = assets_code();
        if code == 220002 {
            Ok(())
        } else {
            Err(code.to_string())
        }
    });
    let enabled = gateway.cli_ok(&["merchant", "enable", "--app-id", &shop.app_id]);
    assert!(enabled.contains("is enabled"), "{enabled}");
    eventually(10, "the enabled merchant is still refused", || {
        let code = assets_code();
        if code == 10000 {
            Ok(())
        } else {
            Err(code.to_string())
        }
    });
    let unknown = gateway.cli(&["merchant", "enable", "--app-id", &"1".repeat(33)]);
    assert!(!unknown.status.success());
}

#[test]
fn merchant_names_are_required_unique_and_listed_in_columns() {
    let gateway = Gateway::start(&[]);
    gateway.create_merchant("a shop with a long name");
    let again = gateway.cli(&["merchant", "create", "--name", "a shop with a long name"]);
    assert!(!again.status.success());
    let error = String::from_utf8_lossy(&again.stderr);
    assert!(
        error.contains("a merchant named \"a shop with a long name\" already exists"),
        "{error}"
    );
    let blank = gateway.cli(&["merchant", "create", "--name", "  "]);
    assert!(!blank.status.success());
    assert!(
        String::from_utf8_lossy(&blank.stderr).contains("--name must not be empty"),
        "{}",
        String::from_utf8_lossy(&blank.stderr)
    );

    // The demo merchant and the new one: every column starts where its
    // header does.
    let listed = gateway.cli_ok(&["merchant", "list"]);
    let lines: Vec<&str> = listed.lines().collect();
    assert_eq!(lines.len(), 3, "{listed}");
    let header = lines[0];
    for title in ["STATUS", "CREATED", "NAME"] {
        let at = header.find(title).unwrap();
        for row in &lines[1..] {
            assert_ne!(row.as_bytes()[at], b' ', "{listed}");
            assert_eq!(row.as_bytes()[at - 1], b' ', "{listed}");
        }
    }
    assert!(listed.contains("a shop with a long name"));
}

#[test]
fn every_flag_has_help_and_rotate_secret_tells_the_cache_ttl() {
    let gateway = Gateway::start(&[]);
    let rotate = gateway.cli_ok(&["merchant", "rotate-secret", "--help"]);
    assert!(rotate.contains("--cache-ttl-ms"), "{rotate}");
    assert!(rotate.contains("1 s by default"), "{rotate}");
    for command in [
        &["call"][..],
        &["merchant", "create"],
        &["merchant", "enable"],
        &["order", "list"],
        &["order", "refund"],
        &["withdrawal", "list"],
        &["webhooks", "ping"],
        &["webhooks", "list"],
    ] {
        let mut args = command.to_vec();
        args.push("--help");
        let help = gateway.cli_ok(&args);
        // clap prints a flag's help after it on its line, or on the next
        // line when it is long; a flag without help stands alone.
        let lines: Vec<&str> = help.lines().collect();
        for (i, line) in lines.iter().enumerate() {
            let flag = line.trim_start();
            if flag.starts_with("--") && flag.split_whitespace().count() <= 2 {
                let next = lines.get(i + 1).map_or("", |next| next.trim_start());
                assert!(
                    !next.is_empty() && !next.starts_with('-'),
                    "{command:?}: {line:?} has no help"
                );
            }
        }
    }
}

/// `bench all --quick` runs every bench end to end at a small scale (each
/// makes its own scratch database, stub node and receiver, and fails the run
/// if its own invariants do not hold), so none breaks unseen between
/// measurements; then its summary has one parseable line per figure. The
/// benches that also measure PostgreSQL do so on the test database (always
/// on CI).
#[test]
fn bench_all_quick_runs_every_bench_and_sums_up_one_line_per_figure() {
    let database = crate::postgres::database_url();
    let mut args = vec!["all", "--quick"];
    if let Some(url) = &database {
        args.extend(["--postgres", url.as_str()]);
    }
    let stdout = bench_output(&args);

    // sweeps: three balances per address (ETH, USDT and USDC on the built-in
    // ETH chain): the old tick read them all, a tick now at most 200
    // addresses, an idle tick none.
    let sweeps = stdout
        .lines()
        .find(|line| line.starts_with("sweeps: 1000 addresses"))
        .unwrap_or_else(|| panic!("no sweeps line: {stdout}"));
    assert!(sweeps.contains("idle tick 0 calls in"), "{sweeps}");
    assert!(sweeps.contains("old tick read 3000 node calls"), "{sweeps}");
    assert!(sweeps.contains("at most 400 calls per tick"), "{sweeps}");
    assert!(
        stdout.contains("the next tick read that address only, 2 node calls"),
        "{stdout}"
    );

    // writes: each endpoint's SQL statements counted from sqlx's own log
    // (none would mean the counting layer is not installed), and listed.
    for endpoint in [
        "bill/create",
        "payment/address/get",
        "withdraw",
        "journal posting",
    ] {
        let count: f64 = stdout
            .lines()
            .find_map(|line| {
                line.strip_prefix("statements per request  ")?
                    .strip_prefix(endpoint)
            })
            .unwrap_or_else(|| panic!("no statement count for {endpoint}: {stdout}"))
            .trim()
            .parse()
            .unwrap();
        assert!(count > 0.0, "{endpoint}: {count}");
    }
    assert!(stdout.contains("INSERT INTO orders"), "{stdout}");
    // … on each database.
    assert_eq!(
        stdout
            .lines()
            .filter(|line| line.starts_with("statements per request  withdraw"))
            .count(),
        1 + usize::from(database.is_some()),
        "{stdout}"
    );

    // webhooks: every one delivered, recorded and counted once, on each
    // database.
    let delivered_once = "delivered 500 of 500: outbox 500 delivered, 0 pending, 0 failed; \
                          receiver counted 500 (500 attempts recorded)";
    assert_eq!(
        stdout.matches(delivered_once).count(),
        1 + usize::from(database.is_some()),
        "{stdout}"
    );
    // withdrawals: the race invariants held.
    assert!(
        stdout.contains(
            "exactly 50 accepted: true; balance at zero: true; journal replays to the balances: true"
        ),
        "{stdout}"
    );
    assert!(
        stdout.contains("SQLite group commit ÷ one commit per deposit"),
        "{stdout}"
    );

    // The summary: one `name: value unit (ratio X.XX)` line per figure.
    let summary: Vec<&str> = stdout
        .split_once("summary (quick: not figures to compare):\n")
        .unwrap_or_else(|| panic!("no summary: {stdout}"))
        .1
        .lines()
        .filter(|line| !line.is_empty())
        .collect();
    for name in [
        "assets requests",
        "assets CPU a request",
        "assets (uncached) requests",
        "assets (uncached) CPU a request",
        "deposits credited",
        "withdrawals accepted",
        "ledger SQLite group commit",
        "withdraw requests",
        "webhook deliveries",
        "webhook deliveries CPU a webhook",
        "metrics reads after 5000 deposits",
        "scale sqlite assets p50",
        "scale sqlite bill/info p99",
        "scale sqlite payment/address/get p50",
        "scale sqlite /metrics scrape",
    ]
    .into_iter()
    .chain(database.iter().flat_map(|_| {
        [
            "ledger PostgreSQL group commit",
            "scale postgres assets p50",
            "scale postgres /metrics scrape",
            "assets requests on PostgreSQL",
            "assets CPU a request on PostgreSQL",
            "assets (uncached) requests on PostgreSQL",
            "webhook deliveries on PostgreSQL",
            "webhook deliveries on PostgreSQL CPU a webhook",
            "withdraw requests on PostgreSQL",
        ]
    })) {
        let line = summary
            .iter()
            .find(|line| line.starts_with(&format!("{name}: ")))
            .unwrap_or_else(|| panic!("no {name} figure: {summary:?}"));
        let ratio: f64 = line
            .rsplit_once("(ratio ")
            .and_then(|(_, ratio)| ratio.strip_suffix(')'))
            .unwrap_or_else(|| panic!("no ratio: {line}"))
            .parse()
            .unwrap();
        assert!(ratio > 0.0, "{line}");
    }
    assert!(
        summary.contains(&"sweeps idle tick, 1000 addresses: 0 node calls"),
        "{summary:?}"
    );
    assert!(stdout.contains("evm: not measured"), "{stdout}");
}

/// What `ccgate bench ARGS` printed, once it succeeded (a bench needs no
/// running gateway: it makes its own scratch database).
pub(crate) fn bench_output(args: &[&str]) -> String {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_ccgate"))
        .arg("bench")
        .args(args)
        .env("CCGATE_LOG", "error")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}
