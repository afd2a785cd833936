//! Two gateways on one PostgreSQL database: a deposit is credited and
//! notified once, a withdrawal resolved once, whichever instance does the work.

use std::net::TcpStream;
use std::process::Command;

use serde_json::Value;

use crate::support::{Gateway, HttpStub, USDT_ERC20, eventually};

/// The test database, or `None` (with a message) where there is none; on CI
/// there must be one.
pub(crate) fn database_url() -> Option<String> {
    let url = ccgate_store::test_database_url();
    if TcpStream::connect("127.0.0.1:5432").is_ok()
        || std::env::var_os("CCGATE_TEST_DATABASE_URL").is_some()
    {
        return Some(url);
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "CI must run the PostgreSQL test: nothing listens on 127.0.0.1:5432"
    );
    eprintln!("skipping the PostgreSQL test: nothing listens on 127.0.0.1:5432");
    None
}

/// Waits (up to 20 s) until `read` answers `expected`.
fn wait_for<T>(what: &str, expected: &'static str, read: impl Fn() -> T)
where
    T: PartialEq<&'static str> + std::fmt::Display,
{
    eventually(20, what, || {
        let seen = read();
        if seen == expected {
            Ok(())
        } else {
            Err(seen.to_string())
        }
    });
}

/// A fresh schema for one test, dropped when the test ends, passed or failed.
impl Schema {
    pub(crate) fn new() -> Schema {
        Schema(format!("t_e2e_{:016x}", rand::random::<u64>()))
    }
}

/// Drops the test's schema when the test ends, passed or failed.
pub(crate) struct Schema(pub(crate) String);

impl Drop for Schema {
    fn drop(&mut self) {
        let _ = Command::new("psql")
            .args([
                "-h",
                "127.0.0.1",
                "-U",
                "postgres",
                "-d",
                "test",
                "-q",
                "-c",
            ])
            .arg(format!("DROP SCHEMA IF EXISTS {} CASCADE", self.0))
            .output();
    }
}

#[test]
fn two_instances_on_one_postgres_credit_and_pay_out_once() {
    let Some(url) = database_url() else { return };
    let schema = Schema::new();
    let args = [
        "--database-url",
        url.as_str(),
        "--database-schema",
        schema.0.as_str(),
    ];
    let first = Gateway::start(&args);
    let second = first.another(&args);
    let merchant = first
        .demo
        .clone()
        .expect("the first instance creates the demo merchant");
    assert!(second.demo.is_none(), "the second instance finds it");

    let receiver = HttpStub::start(200, "success");
    let body = format!(
        r#"{{"user_id":"user-pg","chain":"ETH","notify_url":"{}"}}"#,
        receiver.url
    );
    let address = first
        .post_signed(
            &merchant,
            "/ccpayment/v1/payment/address/get",
            body.as_bytes(),
            None,
        )
        .json();
    let address = address["data"]["address"].as_str().unwrap().to_owned();
    let again = second
        .post_signed(
            &merchant,
            "/ccpayment/v1/payment/address/get",
            body.as_bytes(),
            None,
        )
        .json();
    assert_eq!(
        again["data"]["address"],
        address.as_str(),
        "both instances answer the same address"
    );

    let paid = first.admin_post(
        "/admin/devnet/pay",
        &format!(r#"{{"to":"{address}","token_id":"{USDT_ERC20}","amount":"50"}}"#),
    );
    assert_eq!(paid.status, 200, "{}", paid.text());
    second.admin_post("/admin/devnet/mine", r#"{"chain":"ETH","blocks":12}"#);
    let hooks = receiver.wait_for_requests(1);
    // One credit, one webhook, though both instances watch: the outbox holds
    // one row, and it is delivered, so nothing else is coming.
    let webhooks: Value =
        serde_json::from_str(&first.cli_ok(&[&args[..], &["webhooks", "list", "--json"]].concat()))
            .unwrap();
    assert_eq!(webhooks.as_array().unwrap().len(), 1, "{webhooks}");
    eventually(20, "the webhook was never marked delivered", || {
        let listed: Value = serde_json::from_str(
            &first.cli_ok(&[&args[..], &["webhooks", "list", "--json"]].concat()),
        )
        .unwrap();
        if listed[0]["status"] == "delivered" {
            Ok(())
        } else {
            Err(listed.to_string())
        }
    });
    assert_eq!(receiver.received().len(), 1, "one webhook sent");
    let hook: Value = serde_json::from_slice(&hooks[0].body).unwrap();
    assert_eq!(hook["credit_amount"], "49.985");

    let balance = |gateway: &Gateway| {
        gateway
            .post_signed(&merchant, "/ccpayment/v1/assets", b"{}", None)
            .json()["data"]["list"][0]["value"]
            .clone()
    };
    wait_for("the second instance never saw the credit", "49.985", || {
        balance(&second)
    });

    // A withdrawal accepted by one instance is sent and resolved once by either.
    let withdraw = format!(
        r#"{{"token_id":"{USDT_ERC20}","address":"0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed","value":"10","merchant_order_id":"pg-w1"}}"#
    );
    assert_eq!(
        second
            .post_signed(
                &merchant,
                "/ccpayment/v1/withdraw",
                withdraw.as_bytes(),
                None
            )
            .json()["code"],
        10000
    );
    let status = |gateway: &Gateway| {
        let info = gateway
            .post_signed(
                &merchant,
                "/ccpayment/v1/bill/info",
                br#"{"merchant_order_ids":["pg-w1"]}"#,
                None,
            )
            .json();
        info["data"][0]["withdraw_detail"]["status"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    };
    wait_for("never sent", "Processing", || status(&first));
    first.admin_post("/admin/devnet/mine", r#"{"chain":"ETH","blocks":12}"#);
    wait_for("never confirmed", "Successful", || status(&second));
    wait_for("the debit never showed", "39.985", || balance(&first));
}

/// Refunds of one order sent to two instances at once stay within what the
/// order received, though the merchant's balance would cover them all.
#[test]
fn racing_refunds_on_two_instances_stay_within_the_order() {
    let Some(url) = database_url() else { return };
    let schema = Schema::new();
    let args = [
        "--database-url",
        url.as_str(),
        "--database-schema",
        schema.0.as_str(),
    ];
    let first = Gateway::start(&args);
    let second = first.another(&args);
    let merchant = first.demo.clone().unwrap();

    let order = first.post_signed(
        &merchant,
        "/ccpayment/v1/bill/create",
        format!(r#"{{"token_id":"{USDT_ERC20}","product_price":"10","merchant_order_id":"race-pg","denominated_currency":"token"}}"#).as_bytes(),
        None,
    );
    let order_address = order.json()["data"]["pay_address"]
        .as_str()
        .unwrap()
        .to_owned();
    let funds = first.post_signed(
        &merchant,
        "/ccpayment/v1/payment/address/get",
        br#"{"user_id":"funds","chain":"ETH"}"#,
        None,
    );
    let funds_address = funds.json()["data"]["address"].as_str().unwrap().to_owned();
    for (to, amount) in [(order_address, "10"), (funds_address, "100")] {
        let paid = first.admin_post(
            "/admin/devnet/pay",
            &format!(r#"{{"to":"{to}","token_id":"{USDT_ERC20}","amount":"{amount}"}}"#),
        );
        assert_eq!(paid.status, 200, "{}", paid.text());
    }
    first.admin_post("/admin/devnet/mine", r#"{"chain":"ETH","blocks":12}"#);
    let balance = |gateway: &Gateway| {
        gateway
            .post_signed(&merchant, "/ccpayment/v1/assets", b"{}", None)
            .json()["data"]["list"][0]["value"]
            .clone()
    };
    wait_for("never credited", "109.967", || balance(&second));

    let body = format!(
        r#"{{"app_id":"{}","merchant_order_id":"race-pg","address":"0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed","amount":"6"}}"#,
        merchant.app_id
    );
    let accepted = std::thread::scope(|scope| {
        let racers: Vec<_> = (0..8)
            .map(|i| {
                let gateway = if i % 2 == 0 { &first } else { &second };
                let body = body.as_str();
                scope.spawn(move || gateway.admin_post("/admin/orders/refund", body))
            })
            .collect();
        racers
            .into_iter()
            .map(|racer| racer.join().unwrap())
            .inspect(|answer| {
                if answer.status != 200 {
                    assert!(
                        answer.text().contains("may not exceed"),
                        "{}",
                        answer.text()
                    );
                }
            })
            .filter(|answer| answer.status == 200)
            .count()
    });
    assert_eq!(accepted, 1);
    wait_for("the refund never reserved", "103.967", || balance(&first));

    // The operator commands work on the same database.
    let on_pg = |command: &[&str]| {
        let mut full = args.to_vec();
        full.extend_from_slice(command);
        first.cli_ok(&full)
    };
    assert!(on_pg(&["ledger", "verify"]).contains("all equal"));
    let balances: Value = serde_json::from_str(&on_pg(&[
        "ledger",
        "balances",
        "--app-id",
        &merchant.app_id,
        "--json",
    ]))
    .unwrap();
    assert_eq!(balances[0]["reserved"], "6", "{balances}");
    let merchants: Value = serde_json::from_str(&on_pg(&["merchant", "list", "--json"])).unwrap();
    assert_eq!(merchants[0]["app_id"], merchant.app_id.as_str());
    assert!(on_pg(&["migrate"]).contains(&format!("schema {}", schema.0)));
    let refused = first.cli(&[&args[..], &["backup", "--to", "/tmp/never.db"]].concat());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("pg_dump"),
        "{refused:?}"
    );
}

/// 1,000 concurrent withdrawals, each with its own merchant_order_id, split
/// across two instances on one database, over a balance that covers exactly
/// 100 of them: 100 are accepted, the rest refused for the balance, and the
/// money that leaves is exactly the balance.
#[test]
fn a_thousand_withdrawals_through_two_instances_never_overdraw() {
    const USDT_TRC20: &str = "0912e09a-d8e2-41d7-a0bc-a25530892988";
    const PAYEE_TRON: &str = "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t";
    /// Client threads, half on each instance: enough to keep both busy,
    /// few enough for two cores.
    const CLIENTS: usize = 20;
    const WITHDRAWALS: usize = 1_000;
    let Some(url) = database_url() else { return };
    let schema = Schema::new();
    let args = [
        "--database-url",
        url.as_str(),
        "--database-schema",
        schema.0.as_str(),
        "--no-rate-limit",
    ];
    let first = Gateway::start(&args);
    let second = first.another(&args);
    let merchant = first.demo.clone().unwrap();
    let on_pg = |command: &[&str]| first.cli_ok(&[&args[..4], command].concat());
    on_pg(&[
        "ledger",
        "adjust",
        "--app-id",
        &merchant.app_id,
        "--coin",
        "USDT",
        "--amount",
        "200",
        "--reason",
        "float",
    ]);
    let usdt = || {
        let balances: Value = serde_json::from_str(&on_pg(&[
            "ledger",
            "balances",
            "--app-id",
            &merchant.app_id,
            "--json",
        ]))
        .unwrap();
        (
            balances[0]["value"].as_str().unwrap().to_owned(),
            balances[0]["reserved"].as_str().unwrap().to_owned(),
        )
    };

    let answers: Vec<(String, u64)> = std::thread::scope(|scope| {
        let clients: Vec<_> = (0..CLIENTS)
            .map(|client| {
                let gateway = if client % 2 == 0 { &first } else { &second };
                let merchant = &merchant;
                scope.spawn(move || {
                    (0..WITHDRAWALS / CLIENTS)
                        .map(|i| {
                            let id = format!("race-{client}-{i}");
                            let body = format!(
                                r#"{{"token_id":"{USDT_TRC20}","address":"{PAYEE_TRON}","value":"2","merchant_order_id":"{id}"}}"#
                            );
                            let answer = gateway
                                .post_signed(merchant, "/ccpayment/v1/withdraw", body.as_bytes(), None)
                                .json();
                            (id, answer["code"].as_u64().unwrap())
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        clients
            .into_iter()
            .flat_map(|client| client.join().unwrap())
            .collect()
    });
    assert_eq!(answers.len(), WITHDRAWALS);
    let accepted: Vec<&str> = answers
        .iter()
        .filter(|(_, code)| *code == 10000)
        .map(|(id, _)| id.as_str())
        .collect();
    let refused: Vec<&str> = answers
        .iter()
        .filter(|(_, code)| *code == 223001)
        .map(|(id, _)| id.as_str())
        .collect();
    assert_eq!(
        (accepted.len(), refused.len()),
        (100, 900),
        "every answer is one of the two"
    );
    assert_eq!(usdt(), ("0".to_owned(), "200".to_owned()));
    // A refused withdrawal left no record; each accepted one has its own.
    let info = |gateway: &Gateway, ids: &[&str]| {
        ids.chunks(100)
            .flat_map(|chunk| {
                let body = serde_json::json!({ "merchant_order_ids": chunk }).to_string();
                let answer = gateway
                    .post_signed(&merchant, "/ccpayment/v1/bill/info", body.as_bytes(), None)
                    .json();
                answer["data"].as_array().unwrap().clone()
            })
            .collect::<Vec<Value>>()
    };
    assert!(info(&second, &refused).is_empty());

    // Sent and posted, each once, by whichever instance gets to it.
    eventually(60, "the accepted withdrawals never all succeeded", || {
        let details = info(&first, &accepted);
        let open = details
            .iter()
            .filter(|d| d["withdraw_detail"]["status"] != "Successful")
            .count();
        if details.len() == accepted.len() && open == 0 {
            return Ok(());
        }
        second.admin_post("/admin/devnet/mine", r#"{"chain":"TRX","blocks":20}"#);
        Err(format!("{} listed, {open} not successful", details.len()))
    });
    assert_eq!(usdt(), ("0".to_owned(), "0".to_owned()));
    assert!(on_pg(&["ledger", "verify"]).contains("all equal"));
}

/// The v2 wallet system over two instances on one database (decisions §24):
/// 1,000 concurrent `userTransfer`s of 1 USDT out of a user holding 100,
/// split across both: exactly 100 succeed, the rest are refused for the
/// balance, and either instance's records and balances say so.
#[test]
fn a_thousand_user_transfers_through_two_instances_move_exactly_a_hundred() {
    /// Client threads, half on each instance.
    const CLIENTS: usize = 20;
    const TRANSFERS: usize = 1_000;
    let Some(url) = database_url() else { return };
    let schema = Schema::new();
    let args = [
        "--database-url",
        url.as_str(),
        "--database-schema",
        schema.0.as_str(),
        "--no-rate-limit",
    ];
    let first = Gateway::start(&args);
    let second = first.another(&args);
    let merchant = first.demo.clone().unwrap();
    first.cli_ok(
        &[
            &args[..4],
            &[
                "ledger",
                "adjust",
                "--app-id",
                &merchant.app_id,
                "--coin",
                "USDT",
                "--amount",
                "100",
                "--reason",
                "float",
            ],
        ]
        .concat(),
    );
    let call = |gateway: &Gateway, endpoint: &str, body: &str| -> Value {
        gateway.post_v2(&merchant, endpoint, body.as_bytes()).json()
    };
    let funded = call(
        &first,
        "userTransfer",
        &format!(
            r#"{{"orderId":"fund-1","fromUserId":"{}","toUserId":"alice-01","coinId":1280,"amount":"100"}}"#,
            merchant.app_id
        ),
    );
    assert_eq!(funded["code"], 10000, "{funded}");

    let codes: Vec<u64> = std::thread::scope(|scope| {
        let clients: Vec<_> = (0..CLIENTS)
            .map(|client| {
                let gateway = if client % 2 == 0 { &first } else { &second };
                let call = &call;
                scope.spawn(move || {
                    (0..TRANSFERS / CLIENTS)
                        .map(|i| {
                            let body = format!(
                                r#"{{"orderId":"race-{client}-{i}","fromUserId":"alice-01","toUserId":"user-{:04}","coinId":1280,"amount":"1"}}"#,
                                (client * 31 + i) % 97
                            );
                            call(gateway, "userTransfer", &body)["code"].as_u64().unwrap()
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        clients
            .into_iter()
            .flat_map(|client| client.join().unwrap())
            .collect()
    });
    let succeeded = codes.iter().filter(|code| **code == 10000).count();
    let refused = codes.iter().filter(|code| **code == 14000).count();
    assert_eq!(
        (succeeded, refused),
        (100, 900),
        "every answer is one of the two"
    );
    for gateway in [&first, &second] {
        let alice = call(
            gateway,
            "getUserCoinAsset",
            r#"{"userId":"alice-01","coinId":1280}"#,
        );
        assert_eq!(alice["data"]["asset"]["available"], "0", "{alice}");
        let moved = call(
            gateway,
            "getUserTransferRecordList",
            r#"{"fromUserId":"alice-01","limit":100}"#,
        );
        assert_eq!(
            moved["data"]["records"].as_array().unwrap().len(),
            100,
            "{moved}"
        );
        assert_eq!(moved["data"]["nextId"], "", "{moved}");
    }
    let verified = first.cli_ok(&[&args[..4], &["ledger", "verify"]].concat());
    assert!(verified.contains("all equal"), "{verified}");
}
