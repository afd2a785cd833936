//! v2 orders and hosted checkouts through the real binary: an order made
//! with `createAppOrderDepositAddress`, paid on the devnet, notified in v2
//! form at its `notifyUrl` and read back with `getAppOrderInfo`; a v1 order
//! read through v2 ("one object, two dialects"); and the WooCommerce
//! plugin's flow (v2 spec §6), its order states computed the way it does.

use ccgate_ledger::{Amount, Precision, fiat_numeric_id};
use serde_json::Value;

use crate::support::{
    Gateway, HttpResponse, HttpStub, Merchant, ReceivedRequest, USDT_ERC20, assert_golden,
    eventually, now,
};

const USDT: u64 = 1280;
const USDC_ERC20: &str = "a297ce61-ee6a-4d18-b6c3-91475f765b27";
const PUBLIC_URL: &str = "https://pay.example.com/";

fn eur() -> u64 {
    fiat_numeric_id("EUR").unwrap()
}

fn answer(response: &HttpResponse) -> Value {
    assert_eq!(response.status, 200, "{}", response.text());
    let answer = response.json();
    assert!(answer["data"].is_object(), "{answer}");
    answer
}

fn call(gateway: &Gateway, merchant: &Merchant, endpoint: &str, body: &str) -> Value {
    answer(&gateway.post_v2(merchant, endpoint, body.as_bytes()))
}

fn ok(gateway: &Gateway, merchant: &Merchant, endpoint: &str, body: &str) -> Value {
    let answer = call(gateway, merchant, endpoint, body);
    assert_eq!(answer["code"], 10000, "{endpoint}: {answer}");
    answer["data"].clone()
}

fn order_info(gateway: &Gateway, merchant: &Merchant, order_id: &str) -> HttpResponse {
    let body = format!(r#"{{"orderId":"{order_id}"}}"#);
    gateway.post_v2(merchant, "getAppOrderInfo", body.as_bytes())
}

/// The bytes of an answer with what varies between runs replaced: each
/// `(text, placeholder)` pair, and the timestamps by fixed numbers.
fn redacted(body: &[u8], texts: &[(&str, &str)]) -> Vec<u8> {
    let mut text = String::from_utf8(body.to_vec()).unwrap();
    for (value, placeholder) in texts {
        assert!(text.contains(value), "{value} not in {text}");
        text = text.replace(value, placeholder);
    }
    let data: Value = serde_json::from_str(&text).unwrap();
    let mut times = vec![
        ("createAt", data["data"]["createAt"].clone(), 1_700_000_000),
        (
            "expiredAt",
            data["data"]["expiredAt"].clone(),
            1_700_003_600,
        ),
    ];
    for payment in data["data"]["paidList"].as_array().into_iter().flatten() {
        times.push(("arrivedAt", payment["arrivedAt"].clone(), 1_700_000_060));
    }
    for (field, at, fixed) in times {
        let Some(at) = at.as_i64() else { continue };
        text = text.replace(
            &format!("\"{field}\":{at}"),
            &format!("\"{field}\":{fixed}"),
        );
    }
    text.into_bytes()
}

fn pay(gateway: &Gateway, to: &str, amount: &str) {
    pay_in(gateway, USDT_ERC20, to, amount);
}

fn pay_in(gateway: &Gateway, token_id: &str, to: &str, amount: &str) {
    gateway.cli_ok(&[
        "devnet",
        "pay",
        "--to",
        to,
        "--token-id",
        token_id,
        "--amount",
        amount,
    ]);
    gateway.cli_ok(&["devnet", "mine", "--chain", "ETH", "--blocks", "12"]);
}

/// The webhook's body, after checking it is v2's, signed with v2's HMAC
/// over the exact bytes, and sent to the URL given, query string and all.
fn verified_v2_webhook(hook: &ReceivedRequest, merchant: &Merchant, target: &str) -> Value {
    assert_eq!(hook.target, target);
    assert_eq!(hook.header("appid"), Some(merchant.app_id.as_str()));
    assert_eq!(hook.header("content-type"), Some("application/json"));
    assert!(
        ccgate_api::v2::sign::verify(
            &merchant.app_id,
            &merchant.app_secret,
            hook.header("timestamp").unwrap(),
            &hook.body,
            hook.header("sign").unwrap(),
        ),
        "v2 HMAC signature"
    );
    serde_json::from_slice(&hook.body).unwrap()
}

/// The path and query of a stub URL plus `query`.
fn target_of(url: &str, query: &str) -> String {
    let path = url.splitn(4, '/').nth(3).unwrap();
    format!("/{path}{query}")
}

#[test]
fn a_v2_order_is_paid_notified_in_v2_and_read_back() {
    let receiver = HttpStub::start(200, "Success");
    let gateway = Gateway::start(&["--public-url", PUBLIC_URL]);
    let merchant = gateway.demo.clone().unwrap();
    let query = "?wc-api=shop&n=1";
    let expired_at = now() + 3_600;
    // 9.20 EUR at 0.92 EUR per USD and 1 USD per USDT: 10 USDT.
    let body = format!(
        r#"{{"orderId":"v2-order-1","coinId":{USDT},"chain":"ETH","price":"9.20","fiatId":{},"expiredAt":{expired_at},"buyerEmail":"buyer@shop.example","product":"Tea","notifyUrl":"{}{query}","returnUrl":null}}"#,
        eur(),
        receiver.url
    );
    let created = gateway.post_v2(&merchant, "createAppOrderDepositAddress", body.as_bytes());
    let data = answer(&created)["data"].clone();
    let address = data["address"].as_str().unwrap().to_owned();
    assert_golden(
        "v2_create_app_order_deposit_address.json",
        &redacted(&created.body, &[(&address, "0xADDRESS")]),
    );
    assert_eq!(data["amount"], "10");
    assert_eq!(data["confirmsNeeded"], 12);

    // The same request again is the same order; other parameters are 11011.
    let again = gateway.post_v2(&merchant, "createAppOrderDepositAddress", body.as_bytes());
    assert_eq!(again.body, created.body);
    let other = call(
        &gateway,
        &merchant,
        "createAppOrderDepositAddress",
        &body.replace("9.20", "9.30"),
    );
    assert_eq!(other["code"], 11011, "{other}");
    // Priced in the coin itself; expiries too far or past; unknown ids.
    // Priced in the coin, with a hosted page that shows the payment at once.
    let with_page = format!(
        r#"{{"orderId":"v2-order-2","coinId":"{USDT}","chain":"ETH","price":"2.5","generateCheckoutURL":true,"returnUrl":"https://shop.example/done?o=2&x=y"}}"#
    );
    let in_coin = ok(
        &gateway,
        &merchant,
        "createAppOrderDepositAddress",
        &with_page,
    );
    assert_eq!(in_coin["amount"], "2.5");
    let page_url = in_coin["checkoutUrl"].as_str().unwrap().to_owned();
    assert!(
        page_url.starts_with("https://pay.example.com/pay/"),
        "{in_coin}"
    );
    let again = ok(
        &gateway,
        &merchant,
        "createAppOrderDepositAddress",
        &with_page,
    );
    assert_eq!(again, in_coin, "the same order and page");
    let key = page_url.rsplit('/').next().unwrap();
    let page = gateway.raw_request("GET", &format!("/pay/{key}"), &[], b"");
    assert_eq!(page.status, 200);
    assert!(
        page.text().contains(r#"id="amount">2.5 USDT<"#)
            && page.text().contains(in_coin["address"].as_str().unwrap()),
        "{}",
        page.text()
    );
    let info = ok(
        &gateway,
        &merchant,
        "getAppOrderInfo",
        r#"{"orderId":"v2-order-2"}"#,
    );
    assert_eq!(
        (
            info["checkoutUrl"].as_str(),
            info["fiatId"].as_u64(),
            info["amountToPay"].as_str()
        ),
        (Some(page_url.as_str()), Some(0), Some("2.5"))
    );
    // One order still, for v1 too.
    let v1 = gateway.post_signed(
        &merchant,
        "/ccpayment/v1/bill/info",
        br#"{"merchant_order_ids":["v2-order-2"]}"#,
        None,
    );
    assert_eq!(
        v1.json()["data"].as_array().unwrap().len(),
        1,
        "{}",
        v1.text()
    );
    for (body, code) in [
        (
            format!(
                r#"{{"orderId":"v2-far","coinId":{USDT},"chain":"ETH","price":"1","expiredAt":{}}}"#,
                now() + 11 * 86_400
            ),
            11012,
        ),
        (
            format!(
                r#"{{"orderId":"v2-past","coinId":{USDT},"chain":"ETH","price":"1","expiredAt":{}}}"#,
                now() - 10
            ),
            11000,
        ),
        (
            r#"{"orderId":"v2-coin","coinId":99,"chain":"ETH","price":"1"}"#.to_owned(),
            13000,
        ),
        (
            format!(r#"{{"orderId":"v2-chain","coinId":{USDT},"chain":"XYZ","price":"1"}}"#),
            13001,
        ),
        (
            format!(
                r#"{{"orderId":"v2-fiat","coinId":{USDT},"chain":"ETH","price":"1","fiatId":7}}"#
            ),
            11000,
        ),
        (
            format!(
                r#"{{"orderId":"v2-cents","coinId":{USDT},"chain":"ETH","price":"1.001","fiatId":1033}}"#
            ),
            11000,
        ),
    ] {
        let refused = call(&gateway, &merchant, "createAppOrderDepositAddress", &body);
        assert_eq!(refused["code"], code, "{body}: {refused}");
    }

    let pending = order_info(&gateway, &merchant, "v2-order-1");
    assert_golden(
        "v2_app_order_info_pending.json",
        &redacted(&pending.body, &[(&address, "0xADDRESS")]),
    );
    assert_eq!(answer(&pending)["data"]["expiredAt"], expired_at);

    pay(&gateway, &address, "10");
    let hooks = receiver.wait_for_requests(1);
    let hook = verified_v2_webhook(&hooks[0], &merchant, &target_of(&receiver.url, query));
    let record_id = hook["msg"]["recordId"].as_str().unwrap().to_owned();
    assert_eq!(
        String::from_utf8(hooks[0].body.clone()).unwrap(),
        format!(
            r#"{{"type":"ApiDeposit","msg":{{"recordId":"{record_id}","orderId":"v2-order-1","coinId":1280,"coinSymbol":"USDT","status":"Success","isFlaggedAsRisky":false}}}}"#
        )
    );

    let paid = order_info(&gateway, &merchant, "v2-order-1");
    let info = answer(&paid)["data"].clone();
    let txid = info["paidList"][0]["txid"].as_str().unwrap().to_owned();
    let from = info["paidList"][0]["fromAddress"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_golden(
        "v2_app_order_info_paid.json",
        &redacted(
            &paid.body,
            &[
                (&address, "0xADDRESS"),
                (&record_id, "RECORD_ID"),
                (&txid, "0xTXID"),
                (&from, "0xPAYER"),
            ],
        ),
    );
    assert_eq!(info["paidList"][0]["status"], "Success");
    assert_eq!(info["paidList"][0]["amount"], "10");
    // USDC sent to the USDT order's address: notified, credited, but not
    // one of the order's payments (its amount is in another unit).
    pay_in(&gateway, USDC_ERC20, &address, "5");
    let hooks = receiver.wait_for_requests(2);
    let usdc = verified_v2_webhook(&hooks[1], &merchant, &target_of(&receiver.url, query));
    assert_eq!(
        (
            usdc["msg"]["coinId"].as_u64(),
            usdc["msg"]["orderId"].as_str()
        ),
        (Some(1282), Some("v2-order-1"))
    );
    let after = ok(
        &gateway,
        &merchant,
        "getAppOrderInfo",
        r#"{"orderId":"v2-order-1"}"#,
    );
    assert_eq!(after["paidList"], info["paidList"], "{after}");
    // The payment is a deposit record of the order too.
    let records = ok(
        &gateway,
        &merchant,
        "getAppDepositRecordList",
        r#"{"orderId":"v2-order-1","coinId":1280}"#,
    );
    assert_eq!(records["records"].as_array().unwrap().len(), 1, "{records}");
    let record = &records["records"][0];
    assert_eq!(
        (
            record["recordId"].as_str(),
            record["orderId"].as_str(),
            record["referenceId"].as_str(),
            record["txId"].as_str()
        ),
        (
            Some(record_id.as_str()),
            Some("v2-order-1"),
            Some(""),
            Some(txid.as_str())
        )
    );
    // The same order through v1: one object, two dialects.
    let v1 = gateway.post_signed(
        &merchant,
        "/ccpayment/v1/bill/info",
        br#"{"merchant_order_ids":["v2-order-1"]}"#,
        None,
    );
    let detail = &v1.json()["data"][0]["order_detail"];
    assert_eq!(
        (detail["status"].as_str(), detail["paid_amount"].as_str()),
        (Some("Successful"), Some("10"))
    );

    let unknown = answer(&order_info(&gateway, &merchant, "no-such-order"));
    assert_eq!(unknown["code"], 11003, "{unknown}");

    // The order with a page, paid: the page sends the payer back to
    // returnUrl exactly as given (escaped in the attribute only).
    pay(&gateway, in_coin["address"].as_str().unwrap(), "2.5");
    eventually(20, "the page never showed the way back", || {
        let page = gateway.raw_request("GET", &format!("/pay/{key}"), &[], b"");
        if page
            .text()
            .contains(r#"href="https://shop.example/done?o=2&amp;x=y""#)
        {
            Ok(())
        } else {
            Err(page.text().to_owned())
        }
    });
}

#[test]
fn a_v1_order_reads_through_v2_and_keeps_its_v1_webhooks() {
    let receiver = HttpStub::start(200, "success");
    let gateway = Gateway::start(&[]);
    let merchant = gateway.demo.clone().unwrap();
    let body = format!(
        r#"{{"token_id":"{USDT_ERC20}","product_price":"10","merchant_order_id":"v1-order","notify_url":"{}"}}"#,
        receiver.url
    );
    let created = gateway.post_signed(
        &merchant,
        "/ccpayment/v1/bill/create",
        body.as_bytes(),
        None,
    );
    let data = created.json()["data"].clone();
    let address = data["pay_address"].as_str().unwrap().to_owned();

    let info = ok(
        &gateway,
        &merchant,
        "getAppOrderInfo",
        r#"{"orderId":"v1-order"}"#,
    );
    for (field, value) in [
        ("amountToPay", Value::from("10")),
        ("coinId", Value::from(USDT)),
        ("coinSymbol", Value::from("USDT")),
        ("chain", Value::from("ETH")),
        ("toAddress", Value::from(address.as_str())),
        ("rate", Value::from("1")),
        ("fiatId", Value::from(1033)),
        ("fiatSymbol", Value::from("USD")),
        ("checkoutUrl", Value::from("")),
        ("buyerEmail", Value::from("")),
        ("paidList", serde_json::json!([])),
    ] {
        assert_eq!(info[field], value, "{field} in {info}");
    }

    pay(&gateway, &address, "10");
    let hooks = receiver.wait_for_requests(1);
    let hook: Value = serde_json::from_slice(&hooks[0].body).unwrap();
    assert_eq!(
        (hook["order_type"].as_str(), hook["pay_status"].as_str()),
        (Some("API Deposit"), Some("success")),
        "a v1 order is notified in v1"
    );
    assert!(ccgate_api::sign::verify(
        &merchant.app_id,
        &merchant.app_secret,
        hooks[0].header("timestamp").unwrap(),
        &hooks[0].body,
        hooks[0].header("sign").unwrap()
    ));
    let paid = eventually(20, "the payment never showed", || {
        let info = ok(
            &gateway,
            &merchant,
            "getAppOrderInfo",
            r#"{"orderId":"v1-order"}"#,
        );
        if info["paidList"]
            .as_array()
            .is_some_and(|list| !list.is_empty())
        {
            Ok(info)
        } else {
            Err(info.to_string())
        }
    });
    assert_eq!(paid["paidList"][0]["recordId"], hook["record_id"]);
    assert_eq!(paid["paidList"][0]["txid"], hook["txid"]);
    assert_eq!(paid["paidList"][0]["status"], "Success");
}

/// What the WooCommerce plugin makes of `getAppOrderInfo` (v2 spec §6.4):
/// the sum of `Success` payments at bcmath's 18 places against
/// `amountToPay`, and `expiredAt` against the clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PluginState {
    Paid,
    Overpaid,
    Underpaid,
    Pending,
    Expired,
    ExpiredUnderpaid,
}

fn plugin_state(info: &Value, now_secs: i64) -> PluginState {
    let scale = Precision::new(18).unwrap();
    let read = |text: &Value| Amount::parse_decimal(text.as_str().unwrap(), scale).unwrap();
    let paid = info["paidList"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|payment| payment["status"] == "Success")
        .fold(Amount::ZERO, |sum, payment| {
            sum.checked_add(read(&payment["amount"])).unwrap()
        });
    let due = read(&info["amountToPay"]);
    let expired = now_secs >= info["expiredAt"].as_i64().unwrap();
    if paid == due {
        PluginState::Paid
    } else if paid > due {
        PluginState::Overpaid
    } else if !expired && !paid.is_zero() {
        PluginState::Underpaid
    } else if expired && paid.is_zero() {
        PluginState::Expired
    } else if expired {
        PluginState::ExpiredUnderpaid
    } else {
        PluginState::Pending
    }
}

/// `createCheckoutUrl` as the plugin sends it: HTTP/1.0, `wp_json_encode`
/// with `\/` escapes, a long product, an empty e-mail; its `checkoutUrl`.
fn plugin_checkout(
    gateway: &Gateway,
    merchant: &Merchant,
    order_id: &str,
    notify_url: &str,
    expired_at: i64,
) -> String {
    let escaped = |url: &str| url.replace('/', "\\/");
    let product = "Blue mug, Green teapot, ".repeat(8);
    let body = format!(
        r#"{{"orderId":"{order_id}","product":"{product}Order #123","price":"9.20","fiatSymbol":"EUR","expiredAt":{expired_at},"buyerEmail":"","notifyUrl":"{}","returnUrl":"{}","plugin":"woocommerce","version":"1.0.0"}}"#,
        escaped(notify_url),
        escaped(&return_url(order_id)),
    );
    let created = gateway.post_v2_as(merchant, "HTTP/1.0", "createCheckoutUrl", body.as_bytes());
    let answer = answer(&created);
    assert_eq!(answer["code"], 10000, "{answer}");
    answer["data"]["checkoutUrl"].as_str().unwrap().to_owned()
}

/// The key of a checkout's page, after checking the page is served under
/// `public_url`.
fn key_of(checkout_url: &str, public_url: &str) -> String {
    let prefix = format!("{}/pay/", public_url.trim_end_matches('/'));
    checkout_url
        .strip_prefix(&prefix)
        .unwrap_or_else(|| panic!("{checkout_url} is not under {prefix}"))
        .to_owned()
}

fn return_url(order_id: &str) -> String {
    format!("https://shop.example/checkout/order-received/123/?key={order_id}&order-received=123")
}

fn choose_usdt_on_eth(gateway: &Gateway, key: &str) {
    let chosen = gateway.raw_request(
        "POST",
        &format!("/pay/{key}/select"),
        &[("Content-Type", "application/x-www-form-urlencoded")],
        format!("token_id={USDT_ERC20}").as_bytes(),
    );
    assert_eq!(chosen.status, 303, "{}", chosen.text());
}

/// What the plugin's webhook handler does: check the body and signature,
/// re-query the order by `msg.orderId` and compute its state.
fn plugin_receives(
    gateway: &Gateway,
    merchant: &Merchant,
    hook: &ReceivedRequest,
    target: &str,
    order_id: &str,
) -> PluginState {
    let body = verified_v2_webhook(hook, merchant, target);
    assert_eq!(body["type"], "ApiDeposit");
    assert_eq!(
        body["msg"]["orderId"], order_id,
        "the plugin's orderId verbatim"
    );
    let info = answer(
        &gateway.post_v2_as(
            merchant,
            "HTTP/1.0",
            "getAppOrderInfo",
            format!(
                r#"{{"orderId":"{}"}}"#,
                body["msg"]["orderId"].as_str().unwrap()
            )
            .as_bytes(),
        ),
    );
    assert_eq!(info["code"], 10000, "{info}");
    plugin_state(&info["data"], now())
}

#[test]
fn the_woocommerce_plugin_flow_paid_underpaid_overpaid_and_expired() {
    let shop = HttpStub::start(200, "Success");
    let gateway = Gateway::start(&["--public-url", PUBLIC_URL]);
    let merchant = gateway.demo.clone().unwrap();
    let query = "?wc-api=wc_gateway_ccpayment";
    let notify_url = format!("{}{query}", shop.url);
    let target = target_of(&shop.url, query);

    let mut hooks_seen = 0;
    for (suffix, paid, expected) in [
        ("101", "10", PluginState::Paid),
        ("102", "4", PluginState::Underpaid),
        ("103", "12", PluginState::Overpaid),
    ] {
        let order_id = format!("wc_order_AbCdEfGhIjKlMxY7q-{suffix}");
        let key = key_of(
            &plugin_checkout(&gateway, &merchant, &order_id, &notify_url, now() + 3_600),
            PUBLIC_URL,
        );
        // From creation, before the payer picks a coin: the fiat price is
        // due, never "0", and the plugin sees a pending order.
        let before = gateway.post_v2(
            &merchant,
            "getAppOrderInfo",
            format!(r#"{{"orderId":"{order_id}"}}"#).as_bytes(),
        );
        let info = answer(&before)["data"].clone();
        assert_eq!(plugin_state(&info, now()), PluginState::Pending);
        if suffix == "101" {
            assert_golden(
                "v2_app_order_info_checkout_unchosen.json",
                &redacted(&before.body, &[(&key, "KEY")]),
            );
            // v1 reads the same checkout, in its currency.
            let v1 = gateway.post_signed(
                &merchant,
                "/ccpayment/v1/bill/info",
                format!(r#"{{"merchant_order_ids":["{order_id}"]}}"#).as_bytes(),
                None,
            );
            let detail = &v1.json()["data"][0]["order_detail"];
            assert_eq!(
                (
                    detail["product_price"].as_str(),
                    detail["denominated_currency"].as_str(),
                    detail["status"].as_str()
                ),
                (Some("9.2"), Some("EUR"), Some("Pending")),
                "{detail}"
            );
        }

        choose_usdt_on_eth(&gateway, &key);
        let chosen = ok(
            &gateway,
            &merchant,
            "getAppOrderInfo",
            &format!(r#"{{"orderId":"{order_id}"}}"#),
        );
        assert_eq!(
            (
                chosen["amountToPay"].as_str(),
                chosen["coinId"].as_u64(),
                chosen["fiatSymbol"].as_str(),
                chosen["rate"].as_str()
            ),
            (Some("10"), Some(USDT), Some("EUR"), Some("0.92"))
        );
        assert_eq!(plugin_state(&chosen, now()), PluginState::Pending);

        pay(&gateway, chosen["toAddress"].as_str().unwrap(), paid);
        hooks_seen += 1;
        let hooks = shop.wait_for_requests(hooks_seen);
        let state = plugin_receives(
            &gateway,
            &merchant,
            &hooks[hooks_seen - 1],
            &target,
            &order_id,
        );
        assert_eq!(state, expected, "{order_id} paid {paid}");

        // The paid page sends the payer back to returnUrl exactly as given.
        let page = gateway.raw_request("GET", &format!("/pay/{key}"), &[], b"");
        let back = format!(r#"href="{}""#, return_url(&order_id).replace('&', "&amp;"));
        assert_eq!(
            page.text().contains(&back),
            expected != PluginState::Underpaid,
            "{}",
            page.text()
        );
    }

    // Expired with nothing paid: the plugin cancels it.
    let order_id = "wc_order_ZyXwVuTsRqPoNmA1b-104";
    let expired_at = now() + 2;
    let url = plugin_checkout(&gateway, &merchant, order_id, &notify_url, expired_at);
    let info = eventually(20, "the checkout never expired", || {
        let info = ok(
            &gateway,
            &merchant,
            "getAppOrderInfo",
            &format!(r#"{{"orderId":"{order_id}"}}"#),
        );
        if now() >= expired_at {
            Ok(info)
        } else {
            Err(info.to_string())
        }
    });
    assert_eq!(info["expiredAt"], expired_at);
    assert_eq!(plugin_state(&info, now()), PluginState::Expired);
    // The same request again, its expiredAt now past, is the same checkout.
    assert_eq!(
        plugin_checkout(&gateway, &merchant, order_id, &notify_url, expired_at),
        url
    );
    assert_eq!(
        shop.received().len(),
        hooks_seen,
        "nothing paid, nothing sent"
    );
}

#[test]
fn checkout_requests_the_plugin_never_sends_wrong_are_refused_in_v2() {
    let gateway = Gateway::start(&[]);
    let merchant = gateway.demo.clone().unwrap();
    for (body, code) in [
        (r#"{"orderId":"c-1","price":"5","priceCoinId":99}"#, 13000),
        (
            r#"{"orderId":"c-7","price":"1.0000000000000000001","priceCoinId":1280}"#,
            11000,
        ),
        (r#"{"orderId":"c-2","price":"5","fiatSymbol":"XYZ"}"#, 11000),
        (
            r#"{"orderId":"c-3","price":"5.001","fiatSymbol":"USD"}"#,
            11000,
        ),
        (r#"{"orderId":"c-4","price":"5"}"#, 11000),
        (
            r#"{"orderId":"c-5","price":"5","priceFiatId":"1033","expiredAt":1}"#,
            11000,
        ),
    ] {
        let refused = call(&gateway, &merchant, "createCheckoutUrl", body);
        assert_eq!(refused["code"], code, "{body}: {refused}");
    }
    let made = ok(
        &gateway,
        &merchant,
        "createCheckoutUrl",
        r#"{"orderId":"c-6","price":"5","priceFiatId":1033}"#,
    );
    assert!(made["checkoutUrl"].as_str().unwrap().contains("/pay/"));
    // One order id namespace across the dialects and kinds.
    let taken = call(
        &gateway,
        &merchant,
        "createAppOrderDepositAddress",
        r#"{"orderId":"c-6","coinId":1280,"chain":"ETH","price":"5"}"#,
    );
    assert_eq!(taken["code"], 11011, "{taken}");
}

#[test]
fn a_v2_permanent_address_is_notified_in_v2_and_its_deposits_page_as_records() {
    let receiver = HttpStub::start(200, "success");
    let gateway = Gateway::start(&[]);
    let merchant = gateway.demo.clone().unwrap();
    let query = "?hook=direct";
    let body = format!(
        r#"{{"referenceId":"user-77","chain":"ETH","notifyUrl":"{}{query}"}}"#,
        receiver.url
    );
    let made = gateway.post_v2(&merchant, "getOrCreateAppDepositAddress", body.as_bytes());
    let address = answer(&made)["data"]["address"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_golden(
        "v2_get_or_create_app_deposit_address.json",
        &redacted(&made.body, &[(&address, "0xADDRESS")]),
    );
    let again = ok(&gateway, &merchant, "getOrCreateAppDepositAddress", &body);
    assert_eq!(again["address"], address.as_str(), "the same address");
    // v1 names the same user's address: one object, two dialects.
    let v1 = gateway.post_signed(
        &merchant,
        "/ccpayment/v1/payment/address/get",
        br#"{"user_id":"user-77","chain":"ETH"}"#,
        None,
    );
    assert_eq!(v1.json()["data"]["address"], address.as_str());
    let short = call(
        &gateway,
        &merchant,
        "getOrCreateAppDepositAddress",
        r#"{"referenceId":"ab","chain":"ETH"}"#,
    );
    assert_eq!(short["code"], 11000, "{short}");
    let chain = call(
        &gateway,
        &merchant,
        "getOrCreateAppDepositAddress",
        r#"{"referenceId":"user-77","chain":"NOPE"}"#,
    );
    assert_eq!(chain["code"], 13001, "{chain}");

    for amount in ["1", "2", "3"] {
        pay(&gateway, &address, amount);
    }
    let hooks = receiver.wait_for_requests(3);
    let target = target_of(&receiver.url, query);
    // Deliveries run side by side: the three arrive in any order.
    let mut notified = Vec::new();
    for hook in &hooks {
        let body = verified_v2_webhook(hook, &merchant, &target);
        let record_id = body["msg"]["recordId"].as_str().unwrap().to_owned();
        assert_eq!(
            String::from_utf8(hook.body.clone()).unwrap(),
            format!(
                r#"{{"type":"DirectDeposit","msg":{{"recordId":"{record_id}","referenceId":"user-77","coinId":1280,"coinSymbol":"USDT","status":"Success","isFlaggedAsRisky":false}}}}"#
            )
        );
        notified.push(record_id);
    }
    // The first payment's record: the oldest, last of the list.
    let all = ok(&gateway, &merchant, "getAppDepositRecordList", "[]");
    let record_id = all["records"][2]["recordId"].as_str().unwrap().to_owned();
    notified.sort();
    let mut listed: Vec<String> = all["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|record| record["recordId"].as_str().unwrap().to_owned())
        .collect();
    listed.sort();
    assert_eq!(notified, listed, "each deposit notified once");

    let one = gateway.post_v2(
        &merchant,
        "getAppDepositRecord",
        format!(r#"{{"recordId":"{record_id}"}}"#).as_bytes(),
    );
    let record = answer(&one)["data"]["record"].clone();
    let txid = record["txId"].as_str().unwrap().to_owned();
    let from = record["fromAddress"].as_str().unwrap().to_owned();
    let mut redactions = vec![
        (record_id.as_str(), "RECORD_ID"),
        (txid.as_str(), "0xTXID"),
        (from.as_str(), "0xPAYER"),
        (address.as_str(), "0xADDRESS"),
    ];
    let arrived = format!("\"arrivedAt\":{}", record["arrivedAt"]);
    redactions.push((arrived.as_str(), "\"arrivedAt\":1700000060"));
    assert_golden(
        "v2_app_deposit_record.json",
        &redacted(&one.body, &redactions),
    );
    assert_eq!(record["amount"], "1");

    // Newest first, two to a page, then the rest with an empty nextId.
    let page = ok(
        &gateway,
        &merchant,
        "getAppDepositRecordList",
        r#"{"referenceId":"user-77","limit":2}"#,
    );
    let amounts = |page: &Value| -> Vec<String> {
        page["records"]
            .as_array()
            .unwrap()
            .iter()
            .map(|record| record["amount"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(amounts(&page), ["3", "2"]);
    let next_id = page["nextId"].as_str().unwrap();
    assert!(!next_id.is_empty(), "{page}");
    let rest = ok(
        &gateway,
        &merchant,
        "getAppDepositRecordList",
        &format!(r#"{{"referenceId":"user-77","limit":2,"nextId":"{next_id}"}}"#),
    );
    assert_eq!(amounts(&rest), ["1"]);
    assert_eq!(rest["nextId"], "");
    assert_eq!(rest["records"][0]["recordId"], record_id.as_str());
    assert_eq!(amounts(&all), ["3", "2", "1"]);
    let elsewhere = ok(
        &gateway,
        &merchant,
        "getAppDepositRecordList",
        r#"{"referenceId":"someone-else","coinId":1280,"chain":"ETH"}"#,
    );
    assert_eq!(elsewhere["records"], serde_json::json!([]));

    let unknown = call(
        &gateway,
        &merchant,
        "getAppDepositRecord",
        r#"{"recordId":"20240101000000000000000000000000"}"#,
    );
    assert_eq!(unknown["code"], 11003, "{unknown}");
    // A devnet chain is scanned block by block: nothing to rescan there
    // (chains followed by a node: e2e/evm/internal.rs).
    let rescan = call(
        &gateway,
        &merchant,
        "rescanLostTransaction",
        &format!(r#"{{"chain":"ETH","toAddress":"{address}","txId":"0x01"}}"#),
    );
    assert_eq!(rescan["code"], 10000, "{rescan}");
    assert!(
        rescan["data"]["description"]
            .as_str()
            .unwrap()
            .contains("nothing to rescan"),
        "{rescan}"
    );
    // Another merchant reads none of it.
    let stranger = gateway.create_merchant("stranger");
    let theirs = call(
        &gateway,
        &stranger,
        "getAppDepositRecord",
        &format!(r#"{{"recordId":"{record_id}"}}"#),
    );
    assert_eq!(theirs["code"], 11003, "{theirs}");
}

#[test]
fn the_client_crate_reads_orders_checkouts_and_records_as_typed_answers() {
    use ccgate_api::v2::deposits::{DepositAddress, DepositRecordList};
    use ccgate_api::v2::orders::{CheckoutUrl, OrderDepositAddress, OrderInfo};
    use ccgate_client::{ClientError, V2Client};
    use serde_json::json;

    let gateway = Gateway::start(&[]);
    let merchant = gateway.demo.clone().unwrap();
    let base = format!("http://{}", gateway.address());
    let client = V2Client::new(base.as_str(), &merchant.app_id, &merchant.app_secret).unwrap();
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async {
            let order: OrderDepositAddress = client
                .call(
                    "createAppOrderDepositAddress",
                    &json!({"orderId": "sdk-1", "coinId": USDT, "chain": "ETH", "price": "3", "fiatId": 1033}),
                    true,
                )
                .await
                .unwrap();
            assert_eq!(order.amount, "3");
            let info: OrderInfo = client
                .call("getAppOrderInfo", &json!({"orderId": "sdk-1"}), true)
                .await
                .unwrap();
            assert_eq!(
                (info.to_address, info.amount_to_pay, info.fiat_symbol),
                (order.address, "3".to_owned(), "USD".to_owned())
            );
            let checkout: CheckoutUrl = client
                .call(
                    "createCheckoutUrl",
                    &json!({"orderId": "sdk-2", "price": "4.50", "fiatSymbol": "usd"}),
                    true,
                )
                .await
                .unwrap();
            let unchosen: OrderInfo = client
                .call("getAppOrderInfo", &json!({"orderId": "sdk-2"}), true)
                .await
                .unwrap();
            assert_eq!(unchosen.checkout_url, checkout.checkout_url);
            assert_eq!((unchosen.amount_to_pay.as_str(), unchosen.coin_id), ("4.5", 0));
            let address: DepositAddress = client
                .call(
                    "getOrCreateAppDepositAddress",
                    &json!({"referenceId": "sdk-user", "chain": "ETH"}),
                    true,
                )
                .await
                .unwrap();
            assert!(address.address.starts_with("0x"));
            let none: DepositRecordList = client
                .call("getAppDepositRecordList", &json!({}), true)
                .await
                .unwrap();
            assert_eq!(none, DepositRecordList::default());
            match client
                .call::<_, OrderInfo>("getAppOrderInfo", &json!({"orderId": "nope"}), true)
                .await
            {
                Err(ClientError::Api { code: 11003, reason, .. }) => {
                    assert_eq!(reason.as_deref(), Some("NotFound"));
                }
                other => panic!("{other:?}"),
            }
        });
}

/// Two v2 orders paid in the sandbox: while their payments confirm,
/// `getAppOrderInfo` lists them `Processing` and the webhooks say so; one is
/// then confirmed (`Success` under the same record), the other taken away by
/// a reorganisation (`Failed`, and gone from the order). In v2 form at the
/// merchant's webhook URL: the orders have no `notifyUrl`.
#[test]
fn payments_are_processing_then_success_or_failed_in_v2() {
    use crate::sandbox::clock;
    use crate::support::pay as pay_json;

    let receiver = HttpStub::start(200, "Success");
    let gateway = Gateway::start(&["--sandbox"]);
    let merchant = gateway.demo.clone().unwrap();
    gateway.cli_ok(&[
        "merchant",
        "set-webhook",
        "--app-id",
        &merchant.app_id,
        "--url",
        &receiver.url,
        "--notify-pending",
    ]);
    clock(&gateway, &["freeze"]);
    let mut txids = Vec::new();
    for order_id in ["reorg-v2", "confirm-v2"] {
        let order = ok(
            &gateway,
            &merchant,
            "createAppOrderDepositAddress",
            &format!(r#"{{"orderId":"{order_id}","coinId":{USDT},"chain":"ETH","price":"10"}}"#),
        );
        let paid = pay_json(&gateway, order["address"].as_str().unwrap(), "10");
        txids.push(paid["txid"].as_str().unwrap().to_owned());
    }
    let info = |order_id: &str| {
        ok(
            &gateway,
            &merchant,
            "getAppOrderInfo",
            &format!(r#"{{"orderId":"{order_id}"}}"#),
        )
    };
    let target = target_of(&receiver.url, "");
    // The webhooks of one order, as (recordId, status), in arrival order.
    let notices = |order_id: &str| -> Vec<(String, String)> {
        receiver
            .received()
            .iter()
            .map(|hook| verified_v2_webhook(hook, &merchant, &target))
            .filter(|hook| hook["msg"]["orderId"] == order_id)
            .map(|hook| {
                let text = |key: &str| hook["msg"][key].as_str().unwrap().to_owned();
                (text("recordId"), text("status"))
            })
            .collect()
    };

    clock(&gateway, &["advance", "30s"]);
    receiver.wait_for_requests(2);
    let mut seen = Vec::new();
    for (order_id, txid) in ["reorg-v2", "confirm-v2"].into_iter().zip(&txids) {
        let notified = notices(order_id);
        assert_eq!(notified.len(), 1, "{notified:?}");
        assert_eq!(notified[0].1, "Processing");
        let confirming = info(order_id);
        let listed = &confirming["paidList"];
        assert_eq!(listed.as_array().unwrap().len(), 1, "{confirming}");
        assert_eq!(
            (
                listed[0]["recordId"].as_str(),
                listed[0]["status"].as_str(),
                listed[0]["amount"].as_str(),
                listed[0]["txid"].as_str()
            ),
            (
                Some(notified[0].0.as_str()),
                Some("Processing"),
                Some("10"),
                Some(txid.as_str())
            )
        );
        // The plugin counts only `Success`: still pending.
        assert_eq!(plugin_state(&confirming, now()), PluginState::Pending);
        seen.push(notified[0].0.clone());
    }

    gateway.cli_ok(&[
        "devnet", "reorg", "--chain", "ETH", "--depth", "3", "--drop", &txids[0], "--json",
    ]);
    clock(&gateway, &["advance", "5m"]);
    receiver.wait_for_requests(4);
    assert_eq!(
        notices("reorg-v2"),
        [
            (seen[0].clone(), "Processing".to_owned()),
            (seen[0].clone(), "Failed".to_owned())
        ]
    );
    assert_eq!(info("reorg-v2")["paidList"], serde_json::json!([]));
    assert_eq!(
        notices("confirm-v2"),
        [
            (seen[1].clone(), "Processing".to_owned()),
            (seen[1].clone(), "Success".to_owned())
        ]
    );
    let confirmed = info("confirm-v2");
    assert_eq!(confirmed["paidList"][0]["recordId"], seen[1].as_str());
    assert_eq!(confirmed["paidList"][0]["status"], "Success");
    assert_eq!(confirmed["paidList"].as_array().unwrap().len(), 1);
    assert_eq!(plugin_state(&confirmed, now()), PluginState::Paid);
}

/// The plugin's shopper in Chromium: opens the checkoutUrl, picks USDT on
/// Ethereum, pays, and is offered the way back to returnUrl exactly as the
/// plugin sent it; the shop hears of it and finds the order paid.
#[test]
fn the_plugins_shopper_pays_in_a_real_browser() {
    let browser_dir = crate::checkout::browser_ready();
    let shop = HttpStub::start(200, "Success");
    let gateway = Gateway::start(&["--sandbox"]);
    let merchant = gateway.demo.clone().unwrap();
    let query = "?wc-api=wc_gateway_ccpayment";
    let order_id = "wc_order_BrOwSeRsHoPpErX1y-201";
    let checkout_url = plugin_checkout(
        &gateway,
        &merchant,
        order_id,
        &format!("{}{query}", shop.url),
        now() + 3_600,
    );
    // Served where the browser can open it: the gateway's own address.
    key_of(&checkout_url, &format!("http://{}", gateway.address()));
    let output = std::process::Command::new("node")
        .arg(browser_dir.join("v2_checkout.mjs"))
        .arg(&checkout_url)
        .arg(return_url(order_id))
        .arg(format!("http://{}", gateway.admin.unwrap()))
        .env("CCGATE_ADMIN_TOKEN", gateway.admin_token())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "browser run failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let paid: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(paid["amount"], "10 USDT");
    let hooks = shop.wait_for_requests(1);
    let state = plugin_receives(
        &gateway,
        &merchant,
        &hooks[0],
        &target_of(&shop.url, query),
        order_id,
    );
    assert_eq!(state, PluginState::Paid);
}

/// A checkout priced in a coin (`priceCoinId`, or the PHP demo's `coinId`):
/// due in that coin from creation, and payable in that coin only.
#[test]
fn a_checkout_priced_in_a_coin_takes_that_coin_only() {
    let gateway = Gateway::start(&["--public-url", PUBLIC_URL]);
    let merchant = gateway.demo.clone().unwrap();
    let made = ok(
        &gateway,
        &merchant,
        "createCheckoutUrl",
        r#"{"orderId":"coin-1","price":"2.5","coinId":1280,"product":"Tea"}"#,
    );
    let key = key_of(made["checkoutUrl"].as_str().unwrap(), PUBLIC_URL);
    let before = ok(
        &gateway,
        &merchant,
        "getAppOrderInfo",
        r#"{"orderId":"coin-1"}"#,
    );
    assert_eq!(
        (
            before["amountToPay"].as_str(),
            before["coinId"].as_u64(),
            before["coinSymbol"].as_str(),
            before["fiatId"].as_u64(),
            before["fiatSymbol"].as_str()
        ),
        (Some("2.5"), Some(USDT), Some("USDT"), Some(0), Some(""))
    );
    let page = gateway.raw_request("GET", &format!("/pay/{key}"), &[], b"");
    let html = page.text();
    assert!(html.contains(r#"<p class="price">2.5 USDT</p>"#), "{html}");
    assert!(html.contains(&format!(r#"value="{USDT_ERC20}""#)), "{html}");
    assert!(
        !html.contains(&format!(r#"value="{USDC_ERC20}""#)),
        "another coin is offered: {html}"
    );
    let other = gateway.raw_request(
        "POST",
        &format!("/pay/{key}/select"),
        &[("Content-Type", "application/x-www-form-urlencoded")],
        format!("token_id={USDC_ERC20}").as_bytes(),
    );
    assert_eq!(other.status, 400);
    assert!(
        other.text().contains("paid in USDT only"),
        "{}",
        other.text()
    );

    choose_usdt_on_eth(&gateway, &key);
    let chosen = ok(
        &gateway,
        &merchant,
        "getAppOrderInfo",
        r#"{"orderId":"coin-1"}"#,
    );
    assert_eq!(
        (
            chosen["amountToPay"].as_str(),
            chosen["coinId"].as_u64(),
            chosen["chain"].as_str(),
            chosen["fiatId"].as_u64(),
            chosen["rate"].as_str()
        ),
        (Some("2.5"), Some(USDT), Some("ETH"), Some(0), Some("1"))
    );
}

/// `createInvoiceUrl` makes the hosted checkout; `getInvoiceOrderInfo`
/// answers it in its own currency from creation, each payment valued in it.
#[test]
fn an_invoice_is_valued_in_its_currency_payment_by_payment() {
    let receiver = HttpStub::start(200, "Success");
    let gateway = Gateway::start(&["--public-url", PUBLIC_URL]);
    let merchant = gateway.demo.clone().unwrap();
    let made = ok(
        &gateway,
        &merchant,
        "createInvoiceUrl",
        &format!(
            r#"{{"orderId":"inv-1","price":"9.20","priceFiatId":"{}","product":"Tea","buyerEmail":"buyer@shop.example","notifyUrl":"{}"}}"#,
            eur(),
            receiver.url
        ),
    );
    let url = made["invoiceUrl"].as_str().unwrap().to_owned();
    let key = key_of(&url, PUBLIC_URL);
    let before = gateway.post_v2(&merchant, "getInvoiceOrderInfo", br#"{"orderId":"inv-1"}"#);
    assert_golden(
        "v2_invoice_order_info_unchosen.json",
        &redacted(&before.body, &[(&key, "KEY")]),
    );

    choose_usdt_on_eth(&gateway, &key);
    let address = ok(
        &gateway,
        &merchant,
        "getAppOrderInfo",
        r#"{"orderId":"inv-1"}"#,
    )["toAddress"]
        .as_str()
        .unwrap()
        .to_owned();
    pay(&gateway, &address, "4");
    pay(&gateway, &address, "6");
    let hooks = receiver.wait_for_requests(2);
    let target = target_of(&receiver.url, "");
    for hook in &hooks {
        let body = verified_v2_webhook(hook, &merchant, &target);
        assert_eq!(
            (body["type"].as_str(), body["msg"]["orderId"].as_str()),
            (Some("ApiDeposit"), Some("inv-1"))
        );
    }
    let paid = eventually(20, "both payments never showed", || {
        let info = ok(
            &gateway,
            &merchant,
            "getInvoiceOrderInfo",
            r#"{"orderId":"inv-1"}"#,
        );
        if info["totalPaidValue"] == "9.2" {
            Ok(info)
        } else {
            Err(info.to_string())
        }
    });
    let values: Vec<(&str, &str, &str)> = paid["paidList"]
        .as_array()
        .unwrap()
        .iter()
        .map(|payment| {
            (
                payment["paidAmount"].as_str().unwrap(),
                payment["paidValue"].as_str().unwrap(),
                payment["rate"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(values, [("4", "3.68", "0.92"), ("6", "5.52", "0.92")]);
    let raw = gateway.post_v2(&merchant, "getInvoiceOrderInfo", br#"{"orderId":"inv-1"}"#);
    let mut varying: Vec<(String, String)> = vec![
        (key.clone(), "KEY".into()),
        (address.clone(), "0xADDRESS".into()),
    ];
    for (n, payment) in paid["paidList"].as_array().unwrap().iter().enumerate() {
        for (field, placeholder) in [
            ("recordId", "RECORD_ID"),
            ("txid", "0xTXID"),
            ("fromAddress", "0xPAYER"),
        ] {
            let value = payment[field].as_str().unwrap().to_owned();
            if !varying.iter().any(|(known, _)| *known == value) {
                varying.push((value, format!("{placeholder}_{n}")));
            }
        }
    }
    let varying: Vec<(&str, &str)> = varying
        .iter()
        .map(|(v, p)| (v.as_str(), p.as_str()))
        .collect();
    assert_golden(
        "v2_invoice_order_info_paid.json",
        &redacted(&raw.body, &varying),
    );
    let first = &paid["paidList"][0];
    assert_eq!(
        (
            first["coinId"].as_u64(),
            first["chain"].as_str(),
            first["toAddress"].as_str(),
            first["status"].as_str()
        ),
        (
            Some(USDT),
            Some("ETH"),
            Some(address.as_str()),
            Some("Success")
        )
    );

    // Priced in a coin: valued one for one.
    let in_coin = ok(
        &gateway,
        &merchant,
        "createInvoiceUrl",
        r#"{"orderId":"inv-2","price":"3","priceCoinId":1280}"#,
    );
    let key = key_of(in_coin["invoiceUrl"].as_str().unwrap(), PUBLIC_URL);
    choose_usdt_on_eth(&gateway, &key);
    let address = ok(
        &gateway,
        &merchant,
        "getAppOrderInfo",
        r#"{"orderId":"inv-2"}"#,
    )["toAddress"]
        .as_str()
        .unwrap()
        .to_owned();
    pay(&gateway, &address, "3");
    let paid = eventually(20, "the payment never showed", || {
        let info = ok(
            &gateway,
            &merchant,
            "getInvoiceOrderInfo",
            r#"{"orderId":"inv-2"}"#,
        );
        if info["totalPaidValue"] == "3" {
            Ok(info)
        } else {
            Err(info.to_string())
        }
    });
    assert_eq!(
        (
            paid["priceCoinId"].as_u64(),
            paid["priceFiatId"].as_u64(),
            paid["priceSymbol"].as_str(),
            paid["paidList"][0]["paidValue"].as_str(),
            paid["paidList"][0]["rate"].as_str()
        ),
        (Some(USDT), Some(0), Some("USDT"), Some("3"), Some("1"))
    );

    for (body, code) in [
        (
            r#"{"orderId":"inv-3","price":"3","priceCoinId":1280,"priceFiatId":1033}"#,
            11000,
        ),
        (r#"{"orderId":"inv-4","price":"3"}"#, 11000),
    ] {
        let refused = call(&gateway, &merchant, "createInvoiceUrl", body);
        assert_eq!(refused["code"], code, "{body}: {refused}");
    }
    let unknown = call(
        &gateway,
        &merchant,
        "getInvoiceOrderInfo",
        r#"{"orderId":"inv-none"}"#,
    );
    assert_eq!(unknown["code"], 11003, "{unknown}");
}
