//! Orders through the real binary: one `merchant_order_id` namespace across
//! orders, hosted checkouts and withdrawals (the CLI credits the merchant).
//! Orders' payment, webhooks and expiry are tested in process
//! (`tests/engine/orders.rs`).

use serde_json::Value;

use crate::support::{Gateway, Merchant, USDT_ERC20};

fn post(gateway: &Gateway, merchant: &Merchant, path: &str, body: &str) -> Value {
    let response = gateway.post_signed(merchant, path, body.as_bytes(), Some("application/json"));
    response.assert_signed_by(merchant);
    response.json()
}

fn create(gateway: &Gateway, merchant: &Merchant, body: &str) -> Value {
    post(gateway, merchant, "/ccpayment/v1/bill/create", body)
}

fn info(gateway: &Gateway, merchant: &Merchant, ids: &[&str]) -> Value {
    let ids: Vec<String> = ids.iter().map(|id| format!("\"{id}\"")).collect();
    post(
        gateway,
        merchant,
        "/ccpayment/v1/bill/info",
        &format!(r#"{{"merchant_order_ids":[{}]}}"#, ids.join(",")),
    )
}

/// Issue #15 §4: one namespace of `merchant_order_id` per merchant, across
/// deposit orders, hosted checkouts and withdrawals — `bill/info` looks an
/// id up alone, so a second use of another kind is refused (222001) and the
/// first stays findable. Each kind's own repeat stays idempotent.
#[test]
fn a_merchant_order_id_names_one_thing_across_orders_checkouts_and_withdrawals() {
    let gateway = Gateway::start(&[]);
    let merchant = gateway.demo.clone().unwrap();
    let other = gateway.create_merchant("other shop");
    gateway.adjust(&merchant, "USDT", "100", &[]);
    let order = format!(
        r#"{{"token_id":"{USDT_ERC20}","product_price":"10","merchant_order_id":"shared-1"}}"#
    );
    let checkout = |id: &str| {
        format!(r#"{{"product_price":"10","merchant_order_id":"{id}","product_name":"Tea"}}"#)
    };
    let withdrawal = |id: &str| {
        format!(
            r#"{{"token_id":"{USDT_ERC20}","address":"0xC85107D6E6DE7F8A1dD423d77d139a42cB573829","value":"5","merchant_order_id":"{id}"}}"#
        )
    };
    assert_eq!(create(&gateway, &merchant, &order)["code"], 10000);
    assert_eq!(
        create(&gateway, &merchant, &order)["code"],
        10000,
        "idempotent"
    );
    for (path, body) in [
        ("/ccpayment/v1/withdraw", withdrawal("shared-1")),
        ("/ccpayment/v1/concise/url/get", checkout("shared-1")),
    ] {
        let refused = post(&gateway, &merchant, path, &body);
        assert_eq!(refused["code"], 222001, "{path}: {refused}");
        assert!(
            refused["msg"]
                .as_str()
                .unwrap()
                .contains("orders (bill/create)"),
            "{refused}"
        );
    }
    let found = info(&gateway, &merchant, &["shared-1"]);
    assert_eq!(found["code"], 10000, "{found}");
    assert_eq!(
        found["data"][0]["order_detail"]["merchant_order_id"],
        "shared-1"
    );

    assert_eq!(
        post(
            &gateway,
            &merchant,
            "/ccpayment/v1/withdraw",
            &withdrawal("shared-2")
        )["code"],
        10000
    );
    let refused = create(&gateway, &merchant, &order.replace("shared-1", "shared-2"));
    assert_eq!(refused["code"], 222001, "{refused}");
    assert!(
        refused["msg"].as_str().unwrap().contains("withdrawals"),
        "{refused}"
    );
    let refused = post(
        &gateway,
        &merchant,
        "/ccpayment/v1/concise/url/get",
        &checkout("shared-2"),
    );
    assert_eq!(refused["code"], 222001, "{refused}");

    assert_eq!(
        post(
            &gateway,
            &merchant,
            "/ccpayment/v1/concise/url/get",
            &checkout("shared-3")
        )["code"],
        10000
    );
    let refused = create(&gateway, &merchant, &order.replace("shared-1", "shared-3"));
    assert!(
        refused["msg"]
            .as_str()
            .unwrap()
            .contains("hosted checkouts"),
        "{refused}"
    );
    // The namespace is the merchant's own: another merchant may use the id.
    assert_eq!(create(&gateway, &other, &order)["code"], 10000);
}
