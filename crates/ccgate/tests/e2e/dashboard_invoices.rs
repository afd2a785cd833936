//! Dashboard invoices and the overview's figures over real HTTP against the
//! real binary (decisions §32): a merchant user makes an invoice, its payer
//! pays it on the devnet through its link, the merchant is notified with
//! v1's `Invoice` webhook (v2's `ApiDeposit` for a merchant on v2), which
//! `webhook/resend` finds by that kind, and the overview counts the payment;
//! then the same in Chromium.

use serde_json::Value;

use crate::dashboard::{Visitor, create_user, csrf_of, merchant_made, shown, user_made};
use crate::support::{Gateway, HttpStub, Merchant, USDT_ERC20, eventually, pay_confirmed};

/// Who each paid invoice names as its payer (decisions §36).
const PAYER_EMAIL: &str = "payer@buyer.example";

/// A merchant made by the operator on the dashboard, its secret, and a
/// logged-in user of it with the session's CSRF token.
fn merchant_with_user<'g>(
    gateway: &'g Gateway,
    ops: &mut Visitor<'g>,
    ops_csrf: &str,
    name: &str,
) -> (Merchant, Visitor<'g>, String) {
    let merchant = merchant_made(ops, ops_csrf, name);
    let email = format!("owner@{}.example", merchant.app_id);
    let password = user_made(ops, ops_csrf, &merchant.app_id, &email);
    let mut owner = Visitor::new(gateway);
    assert_eq!(owner.log_in(&email, &password).status, 303);
    let csrf = csrf_of(&owner.get(&format!("/dashboard/m/{}", merchant.app_id)));
    (merchant, owner, csrf)
}

/// Makes invoice `reference` of 10 USD, chooses USDT on Ethereum on its
/// hosted page as a payer would, pays it on the devnet and mines it in;
/// returns the invoice's page path.
fn make_and_pay(
    gateway: &Gateway,
    owner: &mut Visitor,
    csrf: &str,
    app_id: &str,
    reference: &str,
) -> String {
    let path = format!("/dashboard/m/{app_id}/invoices");
    let made = owner.post(
        &path,
        &[
            ("csrf", csrf),
            ("amount", "10"),
            ("currency", "usd"),
            ("product", "Guitar lesson <1>"),
            ("valid_hours", "24"),
            ("reference", reference),
            ("payer_email", PAYER_EMAIL),
        ],
    );
    let page_path = format!("{path}/{reference}");
    assert_eq!(
        made.header("location"),
        Some(page_path.as_str()),
        "{}",
        made.text()
    );
    let invoice = owner.get(&page_path);
    assert_eq!(shown(&invoice, "State"), "Pending");
    assert_eq!(shown(&invoice, "Price"), "10 USD");
    assert_eq!(shown(&invoice, "Product"), "Guitar lesson &lt;1&gt;");
    assert_eq!(shown(&invoice, "Payer e-mail"), PAYER_EMAIL);
    assert!(invoice.text().contains("<svg"), "no QR code");
    let html = invoice.text();
    let link_at =
        html.find(r#"id="invoice-link" href=""#).unwrap() + r#"id="invoice-link" href=""#.len();
    let link = &html[link_at..link_at + html[link_at..].find('"').unwrap()];
    let key = link.rsplit('/').next().unwrap().to_owned();
    assert!(link.ends_with(&format!("/pay/{key}")), "{link}");
    // The payer's address stays off the page anyone with the link sees.
    let hosted = Visitor::new(gateway).get(&format!("/pay/{key}"));
    assert_eq!(hosted.status, 200);
    assert!(!hosted.text().contains(PAYER_EMAIL), "{}", hosted.text());
    // The payer's choice, as the hosted page's form posts it.
    let chosen =
        Visitor::new(gateway).post(&format!("/pay/{key}/select"), &[("token_id", USDT_ERC20)]);
    assert_eq!(chosen.status, 303, "{}", chosen.text());
    let invoice = owner.get(&page_path);
    assert_eq!(shown(&invoice, "Amount due"), "10 USDT");
    let address = shown(&invoice, "Address");
    pay_confirmed(gateway, &address, "10");
    page_path
}

#[test]
fn an_invoice_paid_through_its_link_is_notified_as_invoice_and_counted_on_the_overview() {
    let receiver = HttpStub::start(200, "success");
    let receiver_v2 = HttpStub::start(200, "success");
    let gateway = Gateway::start(&[]);
    let password = create_user(&gateway, &["--operator", "--email", "ops@example.com"]);
    let mut ops = Visitor::new(&gateway);
    assert_eq!(ops.log_in("ops@example.com", &password).status, 303);
    let ops_csrf = csrf_of(&ops.get("/dashboard"));
    let (shop, mut owner, csrf) = merchant_with_user(&gateway, &mut ops, &ops_csrf, "Lessons");
    let app_id = shop.app_id.clone();
    gateway.cli_ok(&[
        "merchant",
        "set-webhook",
        "--app-id",
        &app_id,
        "--url",
        &receiver.url,
    ]);

    // A form without the session's token makes nothing.
    let forged = owner.post(
        &format!("/dashboard/m/{app_id}/invoices"),
        &[
            ("amount", "10"),
            ("currency", "USD"),
            ("product", "x"),
            ("valid_hours", "24"),
            ("reference", "forged"),
        ],
    );
    assert_eq!(forged.status, 403);
    assert_eq!(
        owner
            .get(&format!("/dashboard/m/{app_id}/invoices/forged"))
            .status,
        404
    );
    // A reference is 3 to 64 characters; a currency must exist.
    for (field_name, value) in [
        ("reference", "ab"),
        ("currency", "XYZ"),
        ("payer_email", "not an e-mail"),
    ] {
        let mut fields = vec![
            ("csrf", csrf.as_str()),
            ("amount", "10"),
            ("currency", "USD"),
            ("product", "x"),
            ("valid_hours", "24"),
        ];
        fields.retain(|(name, _)| *name != field_name);
        fields.push((field_name, value));
        let refused = owner.post(&format!("/dashboard/m/{app_id}/invoices"), &fields);
        assert_eq!(
            refused.status,
            400,
            "{field_name}={value}: {}",
            refused.text()
        );
    }

    let before = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let page_path = make_and_pay(&gateway, &mut owner, &csrf, &app_id, "lesson-42");
    let delivered = receiver.wait_for_requests(1);
    let body: Value = serde_json::from_slice(&delivered[0].body).unwrap();
    assert_eq!(body["order_type"], "Invoice", "{body}");
    assert_eq!(body["pay_status"], "success");
    assert_eq!(body["extend"]["invoice_id"], "lesson-42");
    assert_eq!(body["extend"]["merchant_order_id"], "lesson-42");
    assert_eq!(body["extend"]["user_email"], PAYER_EMAIL);
    assert_eq!(body["product_price"], "10");
    assert_eq!(body["denominated_currency"], "USD");
    assert_eq!(body["paid_amount"], "10");
    // 0.03 % kept: 10 − 0.003.
    assert_eq!(
        (body["service_fee"].as_str(), body["credit_amount"].as_str()),
        (Some("0.003"), Some("9.997"))
    );
    assert_eq!(body["crypto"], "USDT");
    assert!(body["order_id"].as_str().unwrap().len() == 33, "{body}");
    // Shaped as /openapi.json documents it, with nothing it does not name.
    let doc: Value =
        serde_json::from_str(gateway.raw_request("GET", "/openapi.json", &[], b"").text()).unwrap();
    let schema =
        &doc["webhooks"]["invoice"]["post"]["requestBody"]["content"]["application/json"]["schema"];
    crate::openapi::validate(&doc, schema, &body, "Invoice").unwrap();
    crate::openapi::only_documented_keys(schema, &body, "Invoice").unwrap();

    // Paid on its page, listed paid, and the delivery log shows the kind.
    let paid = eventually(10, "the invoice paid", || {
        let page = owner.get(&page_path);
        match shown(&page, "State").as_str() {
            "Successful" => Ok(page),
            other => Err(other.to_owned()),
        }
    });
    assert_eq!(shown(&paid, "Paid"), "10 USDT");
    assert!(
        !paid.text().contains("QR code of the payment link"),
        "a paid invoice still offers its QR code"
    );
    let listed = owner.get(&format!("/dashboard/m/{app_id}/invoices"));
    assert!(
        listed.text().contains("<td>Successful</td>"),
        "{}",
        listed.text()
    );
    let developers = owner.get(&format!("/dashboard/m/{app_id}/developers"));
    assert!(
        developers.text().contains("<td>Invoice</td>"),
        "{}",
        developers.text()
    );

    // v1's webhook/resend finds it by its kind (once a minute per merchant:
    // the other kind is asked of the second merchant below).
    let resend = |merchant: &Merchant, kind: &str| {
        let body = format!(
            r#"{{"start_timestamp":{},"end_timestamp":{},"webhook_result":"All Result","transaction_type":"{kind}"}}"#,
            before - 60,
            before + 3000
        );
        let answer = gateway.post_signed(
            merchant,
            "/ccpayment/v1/webhook/resend",
            body.as_bytes(),
            None,
        );
        assert_eq!(answer.json()["code"], 10000, "{}", answer.text());
        answer.json()["data"]["resend_count"].as_u64().unwrap()
    };
    assert_eq!(resend(&shop, "Invoice"), 1);

    // The overview: the payment received today and this month, worth 10 USD
    // (USDT at 1 in the static table), and drawn on the chart.
    let overview = owner.get(&format!("/dashboard/m/{app_id}"));
    let html = overview.text();
    for table in ["received-today", "received-month", "balances"] {
        let at = html
            .find(&format!(r#"id="{table}""#))
            .unwrap_or_else(|| panic!("no {table} in {html}"));
        let section = &html[at..at + html[at..].find("</table>").unwrap()];
        let expected = if table == "balances" {
            "<td>9.997</td><td>10.00</td>"
        } else {
            "<td>10</td><td>10.00</td>"
        };
        assert!(
            section.contains(&format!("<td>USDT</td>{expected}")),
            "{table}: {section}"
        );
    }
    assert!(
        html.contains(r#"role="img" aria-label="Received per day in USD"#),
        "{html}"
    );
    assert!(
        html.contains("<polyline") || html.contains("<path"),
        "no line drawn: {html}"
    );
    // Counted by state over every order (decisions §36).
    assert!(html.contains("Successful</a>: 1</li>"), "{html}");
    assert!(html.contains("Pending</a>: 0</li>"), "{html}");
    let ninety = owner.get(&format!("/dashboard/m/{app_id}?days=90"));
    assert!(
        ninety
            .text()
            .contains(r#"<span aria-current="true">90 days</span>"#)
    );
    assert_eq!(
        owner.get(&format!("/dashboard/m/{app_id}?days=7")).status,
        400
    );

    // Made by the user, as the audit log says.
    let audit = ops.get("/dashboard/audit");
    assert!(
        audit.text().contains("invoice created: lesson-42: 10 USD"),
        "{}",
        audit.text()
    );
    // The row commits with the invoice (decisions §40): exactly one, and a
    // second invoice of that reference on other terms, refused, adds none.
    let again = owner.post(
        &format!("/dashboard/m/{app_id}/invoices"),
        &[
            ("csrf", csrf.as_str()),
            ("amount", "11"),
            ("currency", "USD"),
            ("product", "other"),
            ("valid_hours", "24"),
            ("reference", "lesson-42"),
        ],
    );
    assert!(
        (400..500).contains(&again.status),
        "{} {}",
        again.status,
        again.text()
    );
    let audit = ops.get("/dashboard/audit");
    assert_eq!(
        audit.text().matches("invoice created: lesson-42").count(),
        1,
        "{}",
        audit.text()
    );

    // An invoice priced in a coin takes that coin's decimals.
    let in_coin = owner.post(
        &format!("/dashboard/m/{app_id}/invoices"),
        &[
            ("csrf", csrf.as_str()),
            ("amount", "2.5"),
            ("currency", "USDT"),
            ("product", "Tuning"),
            ("valid_hours", "1"),
            ("reference", "tuning-1"),
        ],
    );
    assert_eq!(in_coin.status, 303, "{}", in_coin.text());
    let in_coin = owner.get(&format!("/dashboard/m/{app_id}/invoices/tuning-1"));
    assert_eq!(shown(&in_coin, "Price"), "2.5 USDT");
    assert_eq!(shown(&in_coin, "State"), "Pending");

    // Keyset pages of 50 (decisions §36): 51 invoices are two pages, every
    // one shown once.
    for i in 0..49 {
        let made = owner.post(
            &format!("/dashboard/m/{app_id}/invoices"),
            &[
                ("csrf", csrf.as_str()),
                ("amount", "1"),
                ("currency", "USD"),
                ("product", "Page filler"),
                ("valid_hours", "1"),
                ("reference", &format!("filler-{i:02}")),
            ],
        );
        assert_eq!(made.status, 303, "{}", made.text());
    }
    let references = |html: &str| -> Vec<String> {
        let marker = format!("/dashboard/m/{app_id}/invoices/");
        html.match_indices(&marker)
            .map(|(at, _)| {
                let rest = &html[at + marker.len()..];
                rest[..rest.find('"').unwrap()].to_owned()
            })
            .collect()
    };
    let first = owner.get(&format!("/dashboard/m/{app_id}/invoices"));
    let first_html = first.text();
    let mut seen = references(first_html);
    assert_eq!(seen.len(), 50, "{first_html}");
    let older_at = first_html
        .find(r#"id="older-invoices" href=""#)
        .unwrap_or_else(|| panic!("no older page: {first_html}"))
        + r#"id="older-invoices" href=""#.len();
    let older = first_html[older_at..older_at + first_html[older_at..].find('"').unwrap()]
        .replace("&amp;", "&");
    let second = owner.get(&older);
    assert_eq!(second.status, 200, "{older}");
    assert!(!second.text().contains("older-invoices"));
    seen.extend(references(second.text()));
    seen.sort();
    let mut expected: Vec<String> = (0..49).map(|i| format!("filler-{i:02}")).collect();
    expected.extend(["lesson-42".to_owned(), "tuning-1".to_owned()]);
    expected.sort();
    assert_eq!(seen, expected);

    // A merchant on v2: its invoice's payment is v2's ApiDeposit.
    let (shop_v2, mut owner_v2, csrf_v2) =
        merchant_with_user(&gateway, &mut ops, &ops_csrf, "Lessons v2");
    gateway.cli_ok(&[
        "merchant",
        "set-webhook",
        "--app-id",
        &shop_v2.app_id,
        "--url",
        &receiver_v2.url,
        "--dialect",
        "v2",
    ]);
    make_and_pay(
        &gateway,
        &mut owner_v2,
        &csrf_v2,
        &shop_v2.app_id,
        "lesson-v2",
    );
    let delivered = receiver_v2.wait_for_requests(1);
    let body: Value = serde_json::from_slice(&delivered[0].body).unwrap();
    assert_eq!(body["type"], "ApiDeposit", "{body}");
    assert_eq!(body["msg"]["orderId"], "lesson-v2");
    assert_eq!(body["msg"]["status"], "Success");
    assert_eq!(body["msg"]["coinSymbol"], "USDT");
    // Its outbox row is of kind Invoice all the same: not an API Deposit.
    assert_eq!(resend(&shop_v2, "API Deposit"), 0);
    let developers = owner_v2.get(&format!("/dashboard/m/{}/developers", shop_v2.app_id));
    assert!(
        developers.text().contains("<td>Invoice</td>"),
        "{}",
        developers.text()
    );
    // One merchant's user sees nothing of the other's invoices.
    assert_eq!(owner_v2.get(&page_path).status, 404);
}

/// Where the browser test keeps its screenshots.
fn screenshots_dir() -> std::path::PathBuf {
    std::env::var_os("CCGATE_SCREENSHOTS_DIR").map_or_else(
        || std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("dashboard-screenshots"),
        std::path::PathBuf::from,
    )
}

#[test]
fn a_merchant_user_makes_an_invoice_and_sees_it_paid_in_a_real_browser() {
    let browser_dir = crate::checkout::browser_ready();
    let receiver = HttpStub::start(200, "success");
    let gateway = Gateway::start(&[]);
    let password = create_user(&gateway, &["--operator", "--email", "ops@example.com"]);
    let mut ops = Visitor::new(&gateway);
    assert_eq!(ops.log_in("ops@example.com", &password).status, 303);
    let ops_csrf = csrf_of(&ops.get("/dashboard"));
    let app_id = merchant_made(&mut ops, &ops_csrf, "Browser Lessons").app_id;
    let email = "teacher@lessons.example";
    let owner_password = user_made(&mut ops, &ops_csrf, &app_id, email);
    gateway.cli_ok(&[
        "merchant",
        "set-webhook",
        "--app-id",
        &app_id,
        "--url",
        &receiver.url,
    ]);

    let screenshots = screenshots_dir();
    std::fs::create_dir_all(&screenshots).unwrap();
    let pages = [
        "invoices",
        "invoice",
        "invoice-paid",
        "invoice-webhook",
        "overview-figures",
        "overview-90-days",
    ];
    let shots: Vec<std::path::PathBuf> = pages
        .iter()
        .flat_map(|page| {
            ["desktop", "phone"]
                .map(|size| screenshots.join(format!("dashboard-{page}-{size}.png")))
        })
        .collect();
    for shot in &shots {
        // A stale picture from an earlier run must not pass for this one's.
        let _ = std::fs::remove_file(shot);
    }
    let output = std::process::Command::new("node")
        .arg(browser_dir.join("dashboard_invoices.mjs"))
        .arg(format!("http://{}", gateway.address()))
        .arg(format!("http://{}", gateway.admin.unwrap()))
        .arg(email)
        .arg(&owner_password)
        .arg(&app_id)
        .arg(&screenshots)
        .env("CCGATE_ADMIN_TOKEN", gateway.admin_token())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "browser run failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let result: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(result["state"], "Successful", "{result}");
    for shot in &shots {
        let size = std::fs::metadata(shot).unwrap().len();
        assert!(size > 1_000, "{} is {size} bytes", shot.display());
    }
    eprintln!("screenshots kept in {}", screenshots.display());
    // The receiver got the Invoice webhook the browser saw in the log.
    let delivered = receiver.wait_for_requests(1);
    let body: Value = serde_json::from_slice(&delivered[0].body).unwrap();
    assert_eq!(
        (
            body["order_type"].as_str(),
            body["extend"]["invoice_id"].as_str()
        ),
        (Some("Invoice"), Some("lesson-browser"))
    );
}
