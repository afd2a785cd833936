//! Hosted checkout: `concise/url/get`, the page without JavaScript over plain
//! HTTP, and the whole payment in Debian's Chromium driven by Playwright.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::support::{Gateway, Merchant, USDT_ERC20, eventually, pay};

fn checkout_url(gateway: &Gateway, merchant: &Merchant, body: &str) -> Value {
    let response = gateway.post_signed(
        merchant,
        "/ccpayment/v1/concise/url/get",
        body.as_bytes(),
        None,
    );
    response.assert_signed_by(merchant);
    response.json()
}

#[test]
fn checkout_urls_and_the_page_without_javascript() {
    let gateway = Gateway::start(&["--public-url", "https://pay.example.com/"]);
    let merchant = gateway.demo.clone().unwrap();
    let body = r#"{"product_price":"25","merchant_order_id":"h-1","product_name":"Coffee <b>beans</b>","return_url":"https://shop.example/thanks","order_valid_period":null,"notify_url":null,"custom_value":null}"#;
    let created = checkout_url(&gateway, &merchant, body);
    let url = created["data"]["payment_url"].as_str().unwrap().to_owned();
    assert!(url.starts_with("https://pay.example.com/pay/"), "{url}");
    assert_eq!(
        checkout_url(&gateway, &merchant, body)["data"]["payment_url"],
        url.as_str(),
        "idempotent"
    );
    assert_eq!(
        checkout_url(&gateway, &merchant, &body.replace("\"25\"", "\"26\""))["code"],
        222001
    );
    for (bad, code) in [
        (
            r#"{"product_price":"25.001","merchant_order_id":"h-2","product_name":"x"}"#,
            222003,
        ),
        (
            r#"{"product_price":"25","merchant_order_id":"h-3"}"#,
            220006,
        ),
        (
            r#"{"product_price":"25","merchant_order_id":"h-4","product_name":"x","order_valid_period":9999999}"#,
            220006,
        ),
    ] {
        assert_eq!(
            checkout_url(&gateway, &merchant, bad)["code"],
            code,
            "{bad}"
        );
    }

    let key = url.rsplit('/').next().unwrap().to_owned();
    let page = gateway.raw_request("GET", &format!("/pay/{key}"), &[], b"");
    assert_eq!(page.status, 200);
    assert!(
        page.header("content-type")
            .unwrap()
            .starts_with("text/html")
    );
    let html = page.text();
    assert!(
        html.contains("Coffee &lt;b&gt;beans&lt;/b&gt;") && !html.contains("<b>beans"),
        "merchant text is escaped"
    );
    assert!(html.contains(&format!(r#"value="{USDT_ERC20}""#)));
    // Decisions §8: the order exists from creation, without a coin yet.
    let before = bill_info(&gateway, &merchant);
    assert_eq!(before.len(), 1, "{before:?}");
    let detail = &before[0]["order_detail"];
    let order_id = detail["order_id"].as_str().unwrap().to_owned();
    let created = detail["created"].as_i64().unwrap();
    assert_eq!(order_id.len(), 33, "{detail}");
    assert!(created > 1_600_000_000, "{detail}");
    for (field, value) in [
        ("status", "Pending"),
        ("product_price", "25"),
        ("denominated_currency", "USD"),
        ("product_name", "Coffee <b>beans</b>"),
        ("merchant_order_id", "h-1"),
        ("chain", ""),
        ("contract", ""),
        ("crypto", ""),
        ("order_amount", ""),
        ("token_rate", ""),
        ("paid_amount", "0"),
    ] {
        assert_eq!(detail[field], value, "{field} in {detail}");
    }
    assert_eq!(before[0]["trade_list"], serde_json::json!([]));
    assert_eq!(
        bill_info(&gateway, &merchant)[0]["order_detail"]["order_id"],
        order_id.as_str(),
        "the id stays"
    );
    // The same request again is the same checkout and the same order.
    assert_eq!(
        checkout_url(&gateway, &merchant, body)["data"]["payment_url"],
        url.as_str()
    );

    // Without JavaScript: the form posts the choice, the redirect shows the payment.
    let form = format!("token_id={USDT_ERC20}");
    let chosen = gateway.raw_request(
        "POST",
        &format!("/pay/{key}/select"),
        &[("Content-Type", "application/x-www-form-urlencoded")],
        form.as_bytes(),
    );
    assert_eq!(chosen.status, 303);
    assert_eq!(
        chosen.header("location"),
        Some(format!("/pay/{key}").as_str())
    );
    let html = gateway
        .raw_request("GET", &format!("/pay/{key}"), &[], b"")
        .text()
        .to_owned();
    assert!(html.contains(r#"id="amount">25 USDT<"#), "{html}");
    assert!(html.contains("<svg") && html.contains("Refresh the status"));
    let status: Value = serde_json::from_str(
        gateway
            .raw_request("GET", &format!("/pay/{key}/status"), &[], b"")
            .text(),
    )
    .unwrap();
    assert_eq!(
        (status["status"].as_str(), status["order_amount"].as_str()),
        (Some("Pending"), Some("25"))
    );
    let orders = bill_info(&gateway, &merchant);
    assert_eq!(orders.len(), 1, "one order, chosen: {orders:?}");
    let detail = &orders[0]["order_detail"];
    assert_eq!(detail["product_name"], "Coffee <b>beans</b>");
    assert_eq!(
        detail["order_id"],
        order_id.as_str(),
        "same id after the choice"
    );
    assert_eq!(detail["created"], created, "created when the checkout was");
    assert_eq!(
        (
            detail["chain"].as_str(),
            detail["crypto"].as_str(),
            detail["order_amount"].as_str(),
            detail["status"].as_str()
        ),
        (Some("ETH"), Some("USDT"), Some("25"), Some("Pending"))
    );

    assert_eq!(
        gateway.raw_request("GET", "/pay/0000", &[], b"").status,
        404
    );
    assert_eq!(
        gateway
            .raw_request("GET", &format!("/pay/{}", "9".repeat(5000)), &[], b"")
            .status,
        404
    );
}

fn page(gateway: &Gateway, key: &str) -> String {
    let page = gateway.raw_request("GET", &format!("/pay/{key}"), &[], b"");
    assert_eq!(page.status, 200, "{}", page.text());
    page.text().to_owned()
}

fn choose(gateway: &Gateway, key: &str, token_id: &str) {
    let form = format!("token_id={token_id}");
    let chosen = gateway.raw_request(
        "POST",
        &format!("/pay/{key}/select"),
        &[("Content-Type", "application/x-www-form-urlencoded")],
        form.as_bytes(),
    );
    assert_eq!(chosen.status, 303, "{}", chosen.text());
}

fn checkout_key(gateway: &Gateway, merchant: &Merchant, body: &str) -> String {
    let url = checkout_url(gateway, merchant, body)["data"]["payment_url"]
        .as_str()
        .unwrap()
        .to_owned();
    url.rsplit('/').next().unwrap().to_owned()
}

fn order_detail(gateway: &Gateway, merchant: &Merchant, id: &str) -> Value {
    let body = format!(r#"{{"merchant_order_ids":["{id}"]}}"#);
    let response = gateway.post_signed(merchant, "/ccpayment/v1/bill/info", body.as_bytes(), None);
    let data = response.json()["data"].clone();
    assert_eq!(data.as_array().map(Vec::len), Some(1), "{data}");
    data[0]["order_detail"].clone()
}

/// What a page asking for money shows; none of it may stay once the order
/// is paid or expired.
const ASKING_FOR_MONEY: [&str; 5] = [
    "Send exactly",
    "id=\"address\"",
    "id=\"copy\"",
    "<svg",
    "id=\"countdown\"",
];

fn assert_asks_for_nothing(html: &str) {
    for text in ASKING_FOR_MONEY {
        assert!(!html.contains(text), "{text} still shown: {html}");
    }
}

/// Issue #15 §5, §7, §8: the order from creation on, and each state of the
/// page as a payer without JavaScript sees it, on the sandbox's clock.
#[test]
fn hosted_orders_exist_from_creation_and_the_page_follows_each_state() {
    let gateway = Gateway::start(&["--sandbox"]);
    let merchant = gateway.demo.clone().unwrap();
    crate::sandbox::clock(&gateway, &["freeze"]);
    let key = checkout_key(
        &gateway,
        &merchant,
        r#"{"product_price":"15","merchant_order_id":"st-1","product_name":"Tea","return_url":"https://shop.example/thanks","order_valid_period":3600}"#,
    );
    let before = order_detail(&gateway, &merchant, "st-1");
    assert_eq!(
        (before["status"].as_str(), before["crypto"].as_str()),
        (Some("Pending"), Some(""))
    );

    // Choose: the merchant's name, each network with its price, native coins
    // without a token standard.
    let html = page(&gateway, &key);
    assert!(html.contains("Payment to demo"), "{html}");
    assert!(
        html.contains(&format!(
            r#"value="{USDT_ERC20}" data-symbol="USDT" data-chain="ETH"><span><strong>USDT</strong> <span class="muted">on Ethereum (ERC20)</span></span><span class="quote">15 USDT</span>"#
        )),
        "{html}"
    );
    assert!(
        html.contains(r#"<strong>ETH</strong> <span class="muted">on Ethereum</span></span>"#),
        "ETH is not an ERC20 token: {html}"
    );
    assert!(
        html.contains(r#"<strong>TRX</strong> <span class="muted">on Tron</span></span>"#),
        "{html}"
    );

    // Ten minutes later the payer picks USDT on Ethereum: the same order.
    crate::sandbox::clock(&gateway, &["advance", "10m"]);
    choose(&gateway, &key, USDT_ERC20);
    let chosen = order_detail(&gateway, &merchant, "st-1");
    assert_eq!(chosen["order_id"], before["order_id"]);
    assert_eq!(
        chosen["created"], before["created"],
        "created with the checkout"
    );
    assert_eq!(
        (chosen["crypto"].as_str(), chosen["order_amount"].as_str()),
        (Some("USDT"), Some("15"))
    );

    // Waiting: the amount, a warning, a payment URI in the QR, the countdown
    // apart from the expiry line.
    let html = page(&gateway, &key);
    let address = html
        .split("id=\"address\">")
        .nth(1)
        .and_then(|rest| rest.split('<').next())
        .unwrap()
        .to_owned();
    assert!(html.contains(r#"id="amount">15 USDT<"#), "{html}");
    assert!(
        html.contains("Send only USDT on Ethereum (ERC20) to this address."),
        "{html}"
    );
    assert!(
        html.contains(&format!(
            r#"data-uri="ethereum:0xdAC17F958D2ee523a2206206994597C13D831ec7@1/transfer?address={address}&amp;uint256=15000000""#
        )),
        "{html}"
    );
    assert!(html.contains(
        r#"<p class="countdown" id="countdown"></p><p class="muted" id="expiry">Expires at"#
    ));
    assert!(!html.contains("id=\"return\""), "no way back before paying");

    // Underpaid: what is still due, on the same address.
    pay(&gateway, &address, "5");
    crate::sandbox::clock(&gateway, &["advance", "5m"]);
    let html = page(&gateway, &key);
    assert!(
        html.contains("Received 5 of 15 USDT. Send the remaining amount to the same address."),
        "{html}"
    );
    assert!(html.contains(r#"id="amount">10 USDT<"#), "{html}");
    assert!(html.contains(&format!(r#"id="address">{address}<"#)));
    assert!(html.contains("uint256=10000000"), "{html}");

    // Confirming: progress in confirmations, nothing more to send.
    pay(&gateway, &address, "10");
    crate::sandbox::clock(&gateway, &["advance", "24s"]);
    let html = page(&gateway, &key);
    assert!(html.contains(r#"data-status="Processing""#), "{html}");
    let confirmations = html
        .split("id=\"confirmations-seen\">")
        .nth(1)
        .and_then(|rest| rest.split('<').next())
        .unwrap()
        .parse::<u64>()
        .unwrap();
    assert!((1..12).contains(&confirmations), "{html}");
    assert!(html.contains("</span> of 12 confirmations"), "{html}");
    assert!(!html.contains("Send exactly"), "{html}");
    let status: Value = serde_json::from_str(
        gateway
            .raw_request("GET", &format!("/pay/{key}/status"), &[], b"")
            .text(),
    )
    .unwrap();
    assert_eq!(status["confirmations"], confirmations);
    assert_eq!(status["confirmations_required"], 12);

    // Paid: a receipt and the way back, no address any more.
    crate::sandbox::clock(&gateway, &["advance", "5m"]);
    let html = page(&gateway, &key);
    assert!(html.contains(r#"data-status="Successful">Paid<"#), "{html}");
    assert!(html.contains(r#"id="paid">15 USDT<"#), "{html}");
    assert!(html.contains("<dt>Transaction</dt>") && html.contains("class=\"txid\""));
    assert!(html.contains(&format!(
        "<dt>Order</dt><dd>{}</dd>",
        before["order_id"].as_str().unwrap()
    )));
    assert!(html.contains(r#"id="return" href="https://shop.example/thanks">Back to the shop<"#));
    assert!(
        !html.contains("etherscan"),
        "a devnet txid is on no explorer"
    );
    assert_asks_for_nothing(&html);
    assert_eq!(
        order_detail(&gateway, &merchant, "st-1")["status"],
        "Successful"
    );

    // Expired, network chosen: no address, what to do if already paid.
    let late = checkout_key(
        &gateway,
        &merchant,
        r#"{"product_price":"15","merchant_order_id":"st-2","product_name":"Tea","order_valid_period":600}"#,
    );
    choose(&gateway, &late, USDT_ERC20);
    crate::sandbox::clock(&gateway, &["advance", "11m"]);
    let html = page(&gateway, &late);
    let late_id = order_detail(&gateway, &merchant, "st-2")["order_id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(html.contains(r#"data-status="Expired">Expired<"#), "{html}");
    assert!(
        html.contains(&format!(
            r#"If you already sent a payment, contact demo and give them the order id <code id="order-id">{late_id}</code>."#
        )),
        "{html}"
    );
    assert_asks_for_nothing(&html);

    // Expired before any choice: the order too, with its id.
    let never = checkout_key(
        &gateway,
        &merchant,
        r#"{"product_price":"15","merchant_order_id":"st-3","product_name":"Tea","order_valid_period":60}"#,
    );
    crate::sandbox::clock(&gateway, &["advance", "2m"]);
    let detail = order_detail(&gateway, &merchant, "st-3");
    assert_eq!(detail["status"], "Expired");
    let html = page(&gateway, &never);
    assert!(
        html.contains(&format!(
            r#"<code id="order-id">{}</code>"#,
            detail["order_id"].as_str().unwrap()
        )),
        "{html}"
    );
    assert!(!html.contains("token_id"), "no network to pick: {html}");
}

/// Issue #14 §6: the page's security headers, keys nobody can guess, and a
/// disabled merchant's links that stop taking orders.
#[test]
fn checkout_pages_are_hardened_and_die_with_their_merchant() {
    let gateway = Gateway::start(&[]);
    let merchant = gateway.create_merchant("shop");
    let key = |id: &str| {
        let body =
            format!(r#"{{"product_price":"25","merchant_order_id":"{id}","product_name":"Tea"}}"#);
        let url = checkout_url(&gateway, &merchant, &body)["data"]["payment_url"]
            .as_str()
            .unwrap()
            .to_owned();
        url.rsplit('/').next().unwrap().to_owned()
    };
    let (first, second) = (key("k-1"), key("k-2"));
    for key in [&first, &second] {
        assert_eq!(key.len(), 32, "{key}");
        assert!(key.bytes().all(|b| b.is_ascii_hexdigit()), "{key}");
    }
    // 128 random bits: no shared prefix the way timestamp keys had.
    assert_ne!(first[..8], second[..8]);

    for path in [
        format!("/pay/{first}"),
        "/assets/checkout.js".to_owned(),
        "/assets/checkout.css".to_owned(),
    ] {
        let page = gateway.raw_request("GET", &path, &[], b"");
        assert_eq!(page.status, 200, "{path}");
        let csp = page.header("content-security-policy").unwrap_or_default();
        assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        assert!(!csp.contains("unsafe-inline"), "{path}: {csp}");
        assert_eq!(page.header("x-content-type-options"), Some("nosniff"));
        assert_eq!(page.header("referrer-policy"), Some("no-referrer"));
    }
    let page = gateway.raw_request("GET", &format!("/pay/{first}"), &[], b"");
    assert_eq!(page.header("cache-control"), Some("no-store"));
    assert!(!page.text().contains("<script>") && !page.text().contains("<style>"));

    gateway.cli_ok(&["merchant", "disable", "--app-id", &merchant.app_id]);
    eventually(10, "the disabled merchant's page gone", || {
        match gateway
            .raw_request("GET", &format!("/pay/{first}"), &[], b"")
            .status
        {
            404 => Ok(()),
            other => Err(format!("HTTP {other}")),
        }
    });
    let form = format!("token_id={USDT_ERC20}");
    let chosen = gateway.raw_request(
        "POST",
        &format!("/pay/{second}/select"),
        &[("Content-Type", "application/x-www-form-urlencoded")],
        form.as_bytes(),
    );
    assert_eq!(chosen.status, 404, "{}", chosen.text());
    let status = gateway.raw_request("GET", &format!("/pay/{second}/status"), &[], b"");
    assert_eq!(status.status, 404);
}

fn bill_info(gateway: &Gateway, merchant: &Merchant) -> Vec<Value> {
    let response = gateway.post_signed(
        merchant,
        "/ccpayment/v1/bill/info",
        br#"{"merchant_order_ids":["h-1"]}"#,
        None,
    );
    response.json()["data"].as_array().unwrap().clone()
}

/// The browser suite needs `npm ci` in `tests/browser` and Debian's Chromium;
/// without either it fails naming the command that installs it (`cargo xtask
/// test` installs the first and checks the second).
pub(crate) fn browser_ready() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser");
    assert!(
        dir.join("node_modules/playwright-core").is_dir(),
        "the browser test needs playwright (npm packages): run `cargo xtask test`, which \
         installs them, or `npm ci` in {}",
        dir.display()
    );
    assert!(
        Path::new("/usr/bin/chromium").exists(),
        "the browser test needs Debian's Chromium: `sudo apt-get install chromium`"
    );
    dir
}

/// Where the browser test keeps its screenshots: `CCGATE_SCREENSHOTS_DIR`,
/// or `checkout-screenshots` in the test's target directory.
fn screenshots_dir() -> PathBuf {
    std::env::var_os("CCGATE_SCREENSHOTS_DIR").map_or_else(
        || Path::new(env!("CARGO_TARGET_TMPDIR")).join("checkout-screenshots"),
        PathBuf::from,
    )
}

#[test]
fn a_payer_pays_the_hosted_checkout_in_a_real_browser() {
    let browser_dir = browser_ready();
    let gateway = Gateway::start(&["--sandbox"]);
    let merchant = gateway.demo.clone().unwrap();
    let url = |body: &str| {
        checkout_url(&gateway, &merchant, body)["data"]["payment_url"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let paying = url(
        r#"{"product_price":"12.5","merchant_order_id":"browser-1","product_name":"Tea","return_url":"https://shop.example/thanks","order_valid_period":7200}"#,
    );
    let expiring = url(
        r#"{"product_price":"12.5","merchant_order_id":"browser-2","product_name":"Tea","order_valid_period":3600}"#,
    );
    let screenshots = screenshots_dir();
    std::fs::create_dir_all(&screenshots).unwrap();
    let states = [
        "choose",
        "waiting",
        "underpaid",
        "confirming",
        "paid",
        "expired",
    ];
    let shots: Vec<PathBuf> = states
        .iter()
        .flat_map(|state| {
            ["desktop", "phone"]
                .map(|size| screenshots.join(format!("checkout-{state}-{size}.png")))
        })
        .collect();
    for shot in &shots {
        // A stale picture from an earlier run must not pass for this one's.
        let _ = std::fs::remove_file(shot);
    }
    let output = Command::new("node")
        .arg(browser_dir.join("checkout.mjs"))
        .arg(&paying)
        .arg(&expiring)
        .arg(format!("http://{}", gateway.admin.unwrap()))
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
    assert_eq!(
        (result["amount"].as_str(), result["symbol"].as_str()),
        (Some("12.5"), Some("USDT"))
    );
    for shot in &shots {
        let size = std::fs::metadata(shot).unwrap().len();
        assert!(size > 1_000, "{} is {size} bytes", shot.display());
    }
    eprintln!("screenshots kept in {}", screenshots.display());
    assert_eq!(bill_info_of(&gateway, &merchant, "browser-1"), "Successful");
    assert_eq!(bill_info_of(&gateway, &merchant, "browser-2"), "Expired");
}

fn bill_info_of(gateway: &Gateway, merchant: &Merchant, id: &str) -> String {
    let body = format!(r#"{{"merchant_order_ids":["{id}"]}}"#);
    let response = gateway.post_signed(merchant, "/ccpayment/v1/bill/info", body.as_bytes(), None);
    response.json()["data"][0]["order_detail"]["status"]
        .as_str()
        .unwrap()
        .to_owned()
}
