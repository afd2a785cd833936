//! Hosted checkout: `concise/url/get`, the page without JavaScript over plain
//! HTTP, and the whole payment in Debian's Chromium driven by Playwright.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::support::{Gateway, Merchant, eventually};

const USDT_ERC20: &str = "2728e271-9f5d-4c05-8aa7-4a87b1afcc95";

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
    assert!(
        bill_info(&gateway, &merchant).is_empty(),
        "no order before the payer chooses"
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
    assert_eq!(
        orders[0]["order_detail"]["product_name"],
        "Coffee <b>beans</b>"
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
fn browser_ready() -> PathBuf {
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

#[test]
fn a_payer_pays_the_hosted_checkout_in_a_real_browser() {
    let browser_dir = browser_ready();
    let gateway = Gateway::start(&[]);
    let merchant = gateway.demo.clone().unwrap();
    let created = checkout_url(
        &gateway,
        &merchant,
        r#"{"product_price":"12.5","merchant_order_id":"browser-1","product_name":"Tea","return_url":"https://shop.example/thanks"}"#,
    );
    let url = created["data"]["payment_url"].as_str().unwrap();
    let screenshots = Path::new(env!("CARGO_TARGET_TMPDIR")).join("checkout-screenshots");
    std::fs::create_dir_all(&screenshots).unwrap();
    let output = Command::new("node")
        .arg(browser_dir.join("checkout.mjs"))
        .arg(url)
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
    for shot in [
        "checkout-choose.png",
        "checkout-pending.png",
        "checkout-paid.png",
    ] {
        let size = std::fs::metadata(screenshots.join(shot)).unwrap().len();
        assert!(size > 1_000, "{shot} is {size} bytes");
    }
    eprintln!("screenshots kept in {}", screenshots.display());
    let status = bill_info_of(&gateway, &merchant, "browser-1");
    assert_eq!(status, "Successful");
}

fn bill_info_of(gateway: &Gateway, merchant: &Merchant, id: &str) -> String {
    let body = format!(r#"{{"merchant_order_ids":["{id}"]}}"#);
    let response = gateway.post_signed(merchant, "/ccpayment/v1/bill/info", body.as_bytes(), None);
    response.json()["data"][0]["order_detail"]["status"]
        .as_str()
        .unwrap()
        .to_owned()
}
