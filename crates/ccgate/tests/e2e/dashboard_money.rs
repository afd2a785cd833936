//! The dashboard's merchant money pages over real HTTP against the real
//! binary (decisions §31): the TOTP second factor (set up, confirmed,
//! replays refused, removed), withdrawals quoted then confirmed with a
//! code (to a chain address and to a Cwallet id, a repeated post being the
//! same withdrawal), the order search, an order's payments, refund and
//! webhooks, a user's addresses and the journal as CSV.

use hmac::{Hmac, Mac};
use sha1::Sha1;

use crate::dashboard::{Visitor, create_user, csv_rows, logged_in};
use crate::support::{Gateway, HttpResponse, Merchant, USDT_ERC20, eventually, pay_confirmed};

const PAYEE: &str = "0x1111111111111111111111111111111111111111";
const PAYER: &str = "0x2222222222222222222222222222222222222222";

/// An RFC 6238 code of a base32 secret, written here independently of the
/// server's: HMAC-SHA1 of the step, dynamically truncated, 6 digits.
fn totp(secret: &str, step: i64) -> String {
    let mut key = Vec::new();
    let (mut buffer, mut bits) = (0u64, 0);
    for c in secret.chars() {
        let value = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567".find(c).unwrap() as u64;
        buffer = (buffer << 5) | value;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            key.push((buffer >> bits) as u8);
        }
    }
    let mut mac = Hmac::<Sha1>::new_from_slice(&key).unwrap();
    mac.update(&step.to_be_bytes());
    let hash = mac.finalize().into_bytes();
    let offset = usize::from(hash[19] & 0x0f);
    let word = u32::from_be_bytes([
        hash[offset] & 0x7f,
        hash[offset + 1],
        hash[offset + 2],
        hash[offset + 3],
    ]);
    format!("{:06}", word % 1_000_000)
}

/// Codes of an authenticator app, each of a step later than the one
/// before: the server takes each step once, and accepts one step either
/// side of now, so a code is always at hand within a step's wait.
struct Authenticator {
    secret: String,
    last_step: i64,
}

impl Authenticator {
    fn now_step() -> i64 {
        i64::try_from(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_secs(),
        )
        .unwrap()
            / 30
    }

    fn next_code(&mut self) -> String {
        loop {
            let now = Authenticator::now_step();
            // Never the step behind now: a code of it sent as a step ends
            // reaches the server two steps behind, and is refused.
            let step = (self.last_step + 1).max(now);
            // The upper edge: one step ahead of now.
            if step <= now + 1 {
                self.last_step = step;
                return totp(&self.secret, step);
            }
            std::thread::sleep(std::time::Duration::from_millis(500));
        }
    }

    /// A code of no step the server accepts now.
    fn stale_code(&self) -> String {
        totp(&self.secret, Authenticator::now_step() - 5)
    }
}

/// The text of the element with `id` on a page.
fn by_id(page: &HttpResponse, id: &str) -> String {
    let html = page.text();
    let marker = format!("id=\"{id}\">");
    let at = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no #{id} in {html}"))
        + marker.len();
    html[at..at + html[at..].find('<').unwrap()].to_owned()
}

/// The value of the hidden field `name` of a page's form.
fn hidden(page: &HttpResponse, name: &str) -> String {
    let html = page.text();
    let marker = format!("name=\"{name}\" value=\"");
    let at = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no {name} in {html}"))
        + marker.len();
    html[at..at + html[at..].find('"').unwrap()].to_owned()
}

/// A user of `shop`, logged in, with its CSRF token.
fn merchant_user<'g>(gateway: &'g Gateway, shop: &Merchant, email: &str) -> (Visitor<'g>, String) {
    let password = create_user(gateway, &["--merchant", &shop.app_id, "--email", email]);
    logged_in(gateway, email, &password, "/dashboard/settings")
}

/// Sets up and confirms the visitor's second factor; its authenticator.
fn enrol(visitor: &mut Visitor, csrf: &str) -> Authenticator {
    let set_up = visitor.post("/dashboard/settings/totp", &[("csrf", csrf)]);
    assert_eq!(set_up.status, 200, "{}", set_up.text());
    let mut app = Authenticator {
        secret: by_id(&set_up, "totp-secret"),
        last_step: 0,
    };
    let code = app.next_code();
    let confirmed = visitor.post(
        "/dashboard/settings/totp/confirm",
        &[("csrf", csrf), ("code", &code)],
    );
    assert_eq!(confirmed.status, 303, "{}", confirmed.text());
    app
}

#[test]
fn a_second_factor_is_shown_once_confirmed_refuses_replays_and_is_removed() {
    let gateway = Gateway::start(&[]);
    let shop = gateway.demo.clone().unwrap();
    let (mut owner, csrf) = merchant_user(&gateway, &shop, "owner@shop.example");
    assert!(
        by_id(&owner.get("/dashboard/settings"), "second-factor").starts_with("Off."),
        "none yet"
    );
    // Confirming or removing needs one set up; CSRF as every form.
    assert_eq!(
        owner
            .post("/dashboard/settings/totp", &[("csrf", "forged")])
            .status,
        403
    );
    let set_up = owner.post("/dashboard/settings/totp", &[("csrf", &csrf)]);
    assert_eq!(set_up.status, 200);
    let secret = by_id(&set_up, "totp-secret");
    assert_eq!(secret.len(), 32, "160 bits in base32");
    let uri = by_id(&set_up, "totp-uri");
    assert_eq!(
        uri,
        format!(
            "otpauth://totp/ccgate:owner%40shop.example?secret={secret}&amp;issuer=ccgate&amp;algorithm=SHA1&amp;digits=6&amp;period=30"
        )
    );
    assert!(set_up.text().contains("<svg"), "its QR code");
    // Never shown again.
    let settings = owner.get("/dashboard/settings");
    assert!(!settings.text().contains(&secret));
    assert!(by_id(&settings, "second-factor").starts_with("Set up, not confirmed"));

    let mut app = Authenticator {
        secret,
        last_step: 0,
    };
    for wrong in [app.stale_code(), "12345".to_owned(), "abcdef".to_owned()] {
        let refused = owner.post(
            "/dashboard/settings/totp/confirm",
            &[("csrf", &csrf), ("code", &wrong)],
        );
        assert_eq!(refused.status, 403, "{wrong}");
    }
    let code = app.next_code();
    let confirmed = owner.post(
        "/dashboard/settings/totp/confirm",
        &[("csrf", &csrf), ("code", &code)],
    );
    assert_eq!(confirmed.status, 303, "{}", confirmed.text());
    assert!(by_id(&owner.get("/dashboard/settings"), "second-factor").starts_with("On:"));
    // In force: a new one is not set up over it, and its used code does
    // not remove it.
    assert_eq!(
        owner
            .post("/dashboard/settings/totp", &[("csrf", &csrf)])
            .status,
        400
    );
    let replayed = owner.post(
        "/dashboard/settings/totp/remove",
        &[("csrf", &csrf), ("code", &code)],
    );
    assert_eq!(replayed.status, 403, "a code is taken once");
    assert!(by_id(&owner.get("/dashboard/settings"), "second-factor").starts_with("On:"));
    let removed = owner.post(
        "/dashboard/settings/totp/remove",
        &[("csrf", &csrf), ("code", &app.next_code())],
    );
    assert_eq!(removed.status, 303, "{}", removed.text());
    assert!(by_id(&owner.get("/dashboard/settings"), "second-factor").starts_with("Off."));

    // A lost phone: the operator removes it from the command line.
    enrol(&mut owner, &csrf);
    assert!(by_id(&owner.get("/dashboard/settings"), "second-factor").starts_with("On:"));
    let reset = gateway.cli_ok(&[
        "user",
        "remove-second-factor",
        "--email",
        "Owner@Shop.example",
    ]);
    assert!(reset.contains("owner@shop.example"), "{reset}");
    assert!(by_id(&owner.get("/dashboard/settings"), "second-factor").starts_with("Off."));
    assert!(
        !gateway
            .cli(&[
                "user",
                "remove-second-factor",
                "--email",
                "nobody@example.com"
            ])
            .status
            .success()
    );

    let password = create_user(&gateway, &["--operator", "--email", "ops@example.com"]);
    let mut ops = Visitor::new(&gateway);
    assert_eq!(ops.log_in("ops@example.com", &password).status, 303);
    let audit = ops.get("/dashboard/audit").text().to_owned();
    for action in [
        "second factor set up",
        "second factor enabled",
        "second factor removed",
    ] {
        assert!(audit.contains(action), "{action} missing: {audit}");
    }
    assert!(
        !audit.contains(&app.secret),
        "the audit log keeps no secret"
    );
}

/// The form's fields for a withdrawal of `amount` USDT.
fn withdrawal_form<'a>(
    csrf: &'a str,
    order_id: &'a str,
    to: &'a str,
    destination: &'a str,
    amount: &'a str,
) -> Vec<(&'a str, &'a str)> {
    vec![
        ("csrf", csrf),
        ("merchant_order_id", order_id),
        ("token_id", USDT_ERC20),
        ("to", to),
        ("destination", destination),
        ("amount", amount),
        ("memo", ""),
    ]
}

#[test]
fn withdrawals_are_quoted_then_made_with_a_code_once() {
    let gateway = Gateway::start(&[]);
    let shop = gateway.demo.clone().unwrap();
    gateway.adjust(&shop, "USDT", "20", &[]);
    let (mut owner, csrf) = merchant_user(&gateway, &shop, "owner@shop.example");
    let m = format!("/dashboard/m/{}", shop.app_id);

    let form = owner.get(&format!("{m}/withdrawals/new"));
    assert_eq!(form.status, 200);
    assert!(form.text().contains("set one up in your settings"));
    let order_id = hidden(&form, "merchant_order_id");
    assert!(order_id.starts_with("console-"), "{order_id}");
    let not_eth = withdrawal_form(&csrf, &order_id, "chain", "TXYZnotanaddress", "5");
    let refused = owner.post(&format!("{m}/withdrawals/quote"), &not_eth);
    assert_eq!(refused.status, 400, "{}", refused.text());
    let fields = withdrawal_form(&csrf, &order_id, "chain", PAYEE, "5");
    // Without a second factor in force, nothing leaves.
    let quote = owner.post(&format!("{m}/withdrawals/quote"), &fields);
    assert_eq!(quote.status, 200, "{}", quote.text());
    let fee = by_id(&quote, "quoted-fee");
    let receives = by_id(&quote, "quoted-receives");
    assert!(fee.ends_with(" USDT") && fee != "0 USDT", "{fee}");
    assert!(receives.ends_with(" USDT"), "{receives}");
    let fee_quote_id = hidden(&quote, "fee_quote_id");
    assert!(!fee_quote_id.is_empty());
    let mut confirm = fields.clone();
    confirm.push(("fee_quote_id", &fee_quote_id));
    let mut without = confirm.clone();
    without.push(("code", "123456"));
    let refused = owner.post(&format!("{m}/withdrawals"), &without);
    assert_eq!(refused.status, 403, "{}", refused.text());
    assert!(refused.text().contains("second factor"));

    let mut app = enrol(&mut owner, &csrf);
    let mut stale = confirm.clone();
    let old = app.stale_code();
    stale.push(("code", &old));
    assert_eq!(owner.post(&format!("{m}/withdrawals"), &stale).status, 403);
    let code = app.next_code();
    let mut with_code = confirm.clone();
    with_code.push(("code", &code));
    let made = owner.post(&format!("{m}/withdrawals"), &with_code);
    assert_eq!(made.status, 303, "{}", made.text());
    let detail_path = made.header("location").unwrap().to_owned();
    assert!(detail_path.starts_with(&format!("{m}/withdrawals/")));
    // The same form again (its code used now) is the same withdrawal.
    let again = owner.post(&format!("{m}/withdrawals"), &with_code);
    assert_eq!(again.status, 303, "{}", again.text());
    assert_eq!(again.header("location"), Some(detail_path.as_str()));
    let detail = owner.get(&detail_path);
    assert_eq!(detail.status, 200);
    assert_eq!(by_id(&detail, "withdrawal-amount"), "5 USDT");
    let status = by_id(&detail, "withdrawal-status");
    assert!(
        ["pending", "processing", "successful"].contains(&status.as_str()),
        "{status}"
    );
    assert!(
        detail.text().contains(&fee),
        "the fee charged is the fee shown"
    );
    // The worker sends it; the page shows its txid.
    gateway.cli_ok(&["devnet", "mine", "--chain", "ETH", "--blocks", "13"]);
    let sent = eventually(20, "the withdrawal confirmed", || {
        let page = owner.get(&detail_path);
        if by_id(&page, "withdrawal-status") == "successful" {
            Ok(page)
        } else {
            gateway.cli_ok(&["devnet", "mine", "--chain", "ETH", "--blocks", "1"]);
            Err(page.text().to_owned())
        }
    });
    assert!(by_id(&sent, "withdrawal-txid").starts_with("0x"));

    // To a Cwallet id: no fee, instant.
    let payee: serde_json::Value = serde_json::from_str(&gateway.cli_ok(&[
        "cwallet",
        "create",
        "--nickname",
        "payee",
        "--json",
    ]))
    .unwrap();
    let c_id = payee["c_id"].as_str().unwrap().to_owned();
    let order_id = hidden(
        &owner.get(&format!("{m}/withdrawals/new")),
        "merchant_order_id",
    );
    let fields = withdrawal_form(&csrf, &order_id, "cwallet", &c_id, "1.5");
    let unknown = withdrawal_form(&csrf, &order_id, "cwallet", "99999999", "1.5");
    let refused = owner.post(&format!("{m}/withdrawals/quote"), &unknown);
    assert_eq!(refused.status, 400);
    assert!(
        refused.text().contains("no Cwallet id"),
        "{}",
        refused.text()
    );
    let quote = owner.post(&format!("{m}/withdrawals/quote"), &fields);
    assert_eq!(by_id(&quote, "quoted-fee"), "0 USDT");
    assert_eq!(by_id(&quote, "quoted-receives"), "1.5 USDT");
    let reused = code.clone();
    let mut with_used = fields.clone();
    with_used.push(("code", &reused));
    assert_eq!(
        owner.post(&format!("{m}/withdrawals"), &with_used).status,
        403,
        "a used code"
    );
    let code = app.next_code();
    let mut with_code = fields.clone();
    with_code.push(("code", &code));
    let made = owner.post(&format!("{m}/withdrawals"), &with_code);
    assert_eq!(made.status, 303, "{}", made.text());
    let detail = owner.get(made.header("location").unwrap());
    assert_eq!(by_id(&detail, "withdrawal-status"), "successful");
    assert_eq!(by_id(&detail, "withdrawal-txid"), "internal transfer");

    // Both listed, newest first; an order id not the form's is refused.
    let listed = owner.get(&format!("{m}/withdrawals")).text().to_owned();
    assert!(
        listed.find(&c_id).unwrap() < listed.find(PAYEE).unwrap(),
        "{listed}"
    );
    let forged = withdrawal_form(&csrf, "w-1", "cwallet", &c_id, "1");
    assert_eq!(owner.post(&format!("{m}/withdrawals"), &forged).status, 400);

    let password = create_user(&gateway, &["--operator", "--email", "ops@example.com"]);
    let mut ops = Visitor::new(&gateway);
    assert_eq!(ops.log_in("ops@example.com", &password).status, 303);
    // One row each, committed with its withdrawal (decisions §40): the
    // repeated and refused posts above wrote none.
    let audit = ops.get("/dashboard/audit").text().to_owned();
    assert_eq!(audit.matches("withdrawal requested").count(), 2, "{audit}");
}

#[test]
fn orders_are_searched_refunded_and_show_their_payments_and_webhooks() {
    let gateway = Gateway::start(&[]);
    let shop = gateway.demo.clone().unwrap();
    gateway.cli_ok(&[
        "merchant",
        "set-webhook",
        "--app-id",
        &shop.app_id,
        "--url",
        "http://127.0.0.1:9/unreachable",
    ]);
    let (mut owner, csrf) = merchant_user(&gateway, &shop, "owner@shop.example");
    let m = format!("/dashboard/m/{}", shop.app_id);
    let mut pay_to = String::new();
    for id in ["paid-1", "open-2", "open-3"] {
        let body = format!(
            r#"{{"token_id":"{USDT_ERC20}","product_price":"5","denominated_currency":"token","merchant_order_id":"{id}"}}"#
        );
        let made = gateway.post_signed(&shop, "/ccpayment/v1/bill/create", body.as_bytes(), None);
        assert_eq!(made.json()["code"], 10000, "{}", made.text());
        if id == "paid-1" {
            pay_to = made.json()["data"]["pay_address"]
                .as_str()
                .unwrap()
                .to_owned();
        }
    }
    let paid: serde_json::Value = serde_json::from_str(&gateway.cli_ok(&[
        "devnet",
        "pay",
        "--to",
        &pay_to,
        "--from",
        PAYER,
        "--token-id",
        USDT_ERC20,
        "--amount",
        "6",
        "--json",
    ]))
    .unwrap();
    let txid = paid["txid"].as_str().unwrap().to_owned();
    gateway.cli_ok(&["devnet", "mine", "--chain", "ETH", "--blocks", "12"]);
    let order_path = format!("{m}/orders/paid-1");
    let order = eventually(20, "the payment credited", || {
        let page = owner.get(&order_path);
        if by_id(&page, "order-state") == "Successful" {
            Ok(page)
        } else {
            Err(page.text().to_owned())
        }
    });
    let text = order.text();
    assert!(text.contains(&txid) && text.contains(PAYER), "{text}");
    assert!(text.contains("overpaid"), "6 paid of 5");
    let marker = "class=\"confirmations\">";
    let at = text.find(marker).unwrap() + marker.len();
    let confirmations: u64 = text[at..at + text[at..].find('<').unwrap()]
        .parse()
        .unwrap();
    assert!(confirmations >= 12, "its confirmations: {text}");
    assert!(text.contains("/webhooks/"), "the webhook it caused: {text}");

    // The search: each filter, and no other merchant's orders.
    let mut found = |query: &str| -> Vec<String> {
        let page = owner.get(&format!("{m}/orders?{query}"));
        assert_eq!(page.status, 200, "{query}: {}", page.text());
        ["paid-1", "open-2", "open-3"]
            .into_iter()
            .filter(|id| page.text().contains(&format!(">{id}</a>")))
            .map(str::to_owned)
            .collect()
    };
    assert_eq!(found(""), ["paid-1", "open-2", "open-3"]);
    assert_eq!(found(&format!("txid={txid}")), ["paid-1"]);
    assert_eq!(found(&format!("payer={PAYER}")), ["paid-1"]);
    assert_eq!(found("merchant_order_id=open-2"), ["open-2"]);
    assert_eq!(found("state=Pending"), ["open-2", "open-3"]);
    assert_eq!(found("chain=TRX"), Vec::<String>::new());
    let today = time::OffsetDateTime::now_utc().date();
    assert_eq!(found(&format!("from={today}&to={today}")).len(), 3);
    assert_eq!(
        found(&format!("to={}", today.previous_day().unwrap())),
        Vec::<String>::new()
    );
    assert_eq!(owner.get(&format!("{m}/orders?coin=nope")).status, 400);

    // A refund, with a code; the order lists it.
    let mut app = enrol(&mut owner, &csrf);
    let refund = format!("{order_path}/refund");
    let no_code = owner.post(
        &refund,
        &[("csrf", &csrf), ("address", PAYER), ("amount", "5")],
    );
    assert_eq!(no_code.status, 403);
    let code = app.next_code();
    let refunded = owner.post(
        &refund,
        &[
            ("csrf", &csrf),
            ("address", PAYER),
            ("amount", "5"),
            ("code", &code),
        ],
    );
    assert_eq!(refunded.status, 303, "{}", refunded.text());
    // The same post again: its code is used, so no second refund.
    let twice = owner.post(
        &refund,
        &[
            ("csrf", &csrf),
            ("address", PAYER),
            ("amount", "5"),
            ("code", &code),
        ],
    );
    assert_eq!(twice.status, 403);
    let too_much = owner.post(
        &refund,
        &[
            ("csrf", &csrf),
            ("address", PAYER),
            ("amount", "100"),
            ("code", &app.next_code()),
        ],
    );
    assert_eq!(too_much.status, 400, "{}", too_much.text());
    // One row, committed with the refund (decisions §40): the repeat and
    // the refund past what the order received wrote none.
    let password = create_user(&gateway, &["--operator", "--email", "ops@example.com"]);
    let mut ops = Visitor::new(&gateway);
    assert_eq!(ops.log_in("ops@example.com", &password).status, 303);
    let audit = ops.get("/dashboard/audit").text().to_owned();
    assert_eq!(audit.matches("refund requested").count(), 1, "{audit}");
    let order = owner.get(&order_path);
    assert_eq!(
        order.text().matches("/withdrawals/").count(),
        1,
        "{}",
        order.text()
    );
    // Its deposit's webhook failed to reach the receiver: the attempt shows.
    eventually(20, "the webhook's first attempt", || {
        let page = owner.get(&order_path);
        if page.text().contains("<div>#1 ") {
            Ok(())
        } else {
            Err(page.text().to_owned())
        }
    });

    // A user's permanent address and its deposit.
    let answer = gateway.post_signed(
        &shop,
        "/ccpayment/v1/payment/address/get",
        br#"{"user_id":"user-7","chain":"ETH"}"#,
        None,
    );
    let address = answer.json()["data"]["address"]
        .as_str()
        .unwrap()
        .to_owned();
    pay_confirmed(&gateway, &address, "2.5");
    let addresses = eventually(20, "the user's deposit", || {
        let page = owner.get(&format!("{m}/addresses?user_id=user-7"));
        if page.text().contains("2.5 USDT") {
            Ok(page)
        } else {
            Err(page.text().to_owned())
        }
    });
    assert!(addresses.text().contains(&address));
    assert!(
        owner
            .get(&format!("{m}/addresses?user_id=user-8"))
            .text()
            .contains("No permanent address")
    );

    // The journal: the order's credit, the refund's reservation, the
    // user's deposit; each line the merchant's.
    let rows = csv_rows(&owner.get(&format!("{m}/export?kind=journal&from={today}&to={today}")));
    let available = format!("merchant:{}:available", shop.app_id);
    let reserved = format!("merchant:{}:reserved", shop.app_id);
    assert!(
        rows.iter()
            .all(|row| row["account"] == available || row["account"] == reserved),
        "{rows:?}"
    );
    assert!(
        rows.iter()
            .any(|row| row["account"] == reserved && row["credit"] == "5" && row["coin"] == "USDT"),
        "the refund reserved: {rows:?}"
    );
    assert!(rows.len() >= 4, "{rows:?}");
}

#[test]
fn a_merchant_user_enrols_withdraws_and_refunds_in_a_real_browser() {
    let browser_dir = crate::checkout::browser_ready();
    let gateway = Gateway::start(&[]);
    let shop = gateway.demo.clone().unwrap();
    gateway.adjust(&shop, "USDT", "20", &[]);
    // A paid order to refund, and a user's permanent address.
    let body = format!(
        r#"{{"token_id":"{USDT_ERC20}","product_price":"6","denominated_currency":"token","merchant_order_id":"paid-1"}}"#
    );
    let made = gateway.post_signed(&shop, "/ccpayment/v1/bill/create", body.as_bytes(), None);
    let pay_to = made.json()["data"]["pay_address"]
        .as_str()
        .unwrap_or_else(|| panic!("{}", made.text()))
        .to_owned();
    pay_confirmed(&gateway, &pay_to, "6");
    let answer = gateway.post_signed(
        &shop,
        "/ccpayment/v1/payment/address/get",
        br#"{"user_id":"user-1","chain":"ETH"}"#,
        None,
    );
    assert_eq!(answer.json()["code"], 10000, "{}", answer.text());
    let password = create_user(
        &gateway,
        &["--merchant", &shop.app_id, "--email", "owner@shop.example"],
    );
    let mut owner = Visitor::new(&gateway);
    assert_eq!(owner.log_in("owner@shop.example", &password).status, 303);
    eventually(20, "the order paid", || {
        let page = owner.get(&format!("/dashboard/m/{}/orders/paid-1", shop.app_id));
        if by_id(&page, "order-state") == "Successful" {
            Ok(())
        } else {
            Err(page.text().to_owned())
        }
    });

    let screenshots = crate::dashboard::screenshots_dir();
    std::fs::create_dir_all(&screenshots).unwrap();
    let shots: Vec<std::path::PathBuf> = [
        "settings",
        "settings-totp",
        "withdrawals-empty",
        "withdrawal-new",
        "withdrawal-quote",
        "withdrawal",
        "withdrawals",
        "orders-search",
        "order",
        "order-refunded",
        "addresses",
    ]
    .iter()
    .flat_map(|page| {
        ["desktop", "phone"].map(|size| screenshots.join(format!("dashboard-{page}-{size}.png")))
    })
    .collect();
    for shot in &shots {
        // A stale picture from an earlier run must not pass for this one's.
        let _ = std::fs::remove_file(shot);
    }
    let output = std::process::Command::new("node")
        .arg(browser_dir.join("dashboard_money.mjs"))
        .arg(format!("http://{}", gateway.address()))
        .arg("owner@shop.example")
        .arg(&password)
        .arg(&shop.app_id)
        .arg(USDT_ERC20)
        .arg(PAYEE)
        .arg("paid-1")
        .arg("user-1")
        .arg(&screenshots)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "browser run failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let result: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    for shot in &shots {
        let size = std::fs::metadata(shot).unwrap().len();
        assert!(size > 1_000, "{} is {size} bytes", shot.display());
    }
    eprintln!("screenshots kept in {}", screenshots.display());

    // What the browser did is what the gateway holds: the withdrawal and
    // the refund, as the operator's CLI lists them, with the fee quoted.
    let record_id = result["withdrawal"].as_str().unwrap();
    let listed: serde_json::Value =
        serde_json::from_str(&gateway.cli_ok(&["withdrawal", "list", "--json"])).unwrap();
    let listed = listed.as_array().unwrap();
    assert_eq!(listed.len(), 2, "a withdrawal and a refund: {listed:?}");
    assert!(
        listed.iter().any(|row| row.to_string().contains(record_id)),
        "{listed:?}"
    );
    let mut relogged = Visitor::new(&gateway);
    assert_eq!(relogged.log_in("owner@shop.example", &password).status, 303);
    let order = relogged.get(&format!("/dashboard/m/{}/orders/paid-1", shop.app_id));
    assert_eq!(order.text().matches("/withdrawals/").count(), 1);
    let fee = result["fee"].as_str().unwrap();
    let detail = relogged.get(&format!(
        "/dashboard/m/{}/withdrawals/{record_id}",
        shop.app_id
    ));
    assert!(detail.text().contains(fee), "{}", detail.text());
}

/// Orders made within one second are paged by key: following "Older
/// orders" shows each order exactly once (the earlier paging skipped the
/// rest of the second a page ended in).
#[test]
fn order_pages_show_every_order_once_when_many_share_a_second() {
    let gateway = Gateway::start(&[]);
    let shop = gateway.demo.clone().unwrap();
    const MADE: usize = 57;
    for n in 0..MADE {
        let body = format!(
            r#"{{"token_id":"{USDT_ERC20}","product_price":"1","denominated_currency":"token","merchant_order_id":"o-{n}"}}"#
        );
        let made = gateway.post_signed(&shop, "/ccpayment/v1/bill/create", body.as_bytes(), None);
        assert_eq!(made.json()["code"], 10000, "{}", made.text());
    }
    let (mut owner, _) = merchant_user(&gateway, &shop, "owner@shop.example");
    let mut next = Some(format!("/dashboard/m/{}/orders?state=Pending", shop.app_id));
    let mut seen = Vec::new();
    let mut pages = 0;
    while let Some(path) = next.take() {
        let page = owner.get(&path);
        assert_eq!(page.status, 200, "{path}: {}", page.text());
        pages += 1;
        let html = page.text();
        let mut rest = html;
        while let Some(at) = rest.find("/orders/o-") {
            let id = &rest[at + "/orders/".len()..];
            seen.push(id[..id.find('"').unwrap()].to_owned());
            rest = &id[1..];
        }
        let marker = "id=\"older-orders\" href=\"";
        if let Some(at) = html.find(marker) {
            let link = &html[at + marker.len()..];
            next = Some(link[..link.find('"').unwrap()].replace("&amp;", "&"));
        }
    }
    assert_eq!(pages, 2, "50 and {}", MADE - 50);
    let mut unique = seen.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(seen.len(), MADE, "{seen:?}");
    assert_eq!(unique.len(), MADE, "each once: {seen:?}");
}

/// A payment whose block came after the order expired is credited and
/// shown, marked late; the order stays Expired (decisions §8, §31).
#[test]
fn a_late_payment_is_shown_as_late() {
    let gateway = Gateway::start(&["--sandbox"]);
    let shop = gateway.demo.clone().unwrap();
    let body = format!(
        r#"{{"token_id":"{USDT_ERC20}","product_price":"5","denominated_currency":"token","merchant_order_id":"late-1","order_valid_period":600}}"#
    );
    let made = gateway.post_signed(&shop, "/ccpayment/v1/bill/create", body.as_bytes(), None);
    let pay_to = made.json()["data"]["pay_address"]
        .as_str()
        .unwrap_or_else(|| panic!("{}", made.text()))
        .to_owned();
    crate::sandbox::clock(&gateway, &["advance", "11m"]);
    gateway.cli_ok(&[
        "devnet",
        "pay",
        "--to",
        &pay_to,
        "--token-id",
        USDT_ERC20,
        "--amount",
        "5",
    ]);
    crate::sandbox::clock(&gateway, &["advance", "5m"]);
    let (mut owner, _) = merchant_user(&gateway, &shop, "owner@shop.example");
    let page = eventually(20, "the late payment credited", || {
        let page = owner.get(&format!("/dashboard/m/{}/orders/late-1", shop.app_id));
        if page.text().contains("(late)") {
            Ok(page)
        } else {
            crate::sandbox::clock(&gateway, &["advance", "1m"]);
            Err(page.text().to_owned())
        }
    });
    assert_eq!(by_id(&page, "order-state"), "Expired");
    assert_eq!(by_id(&page, "order-paid"), "5 USDT");
    assert!(page.text().contains("paid late (after it expired)"));
}
