//! The OpenAPI document and the server held to each other: real answers of
//! every endpoint validate against the document's schemas.

use serde_json::Value;

use crate::support::Gateway;

const USDT_ERC20: &str = "2728e271-9f5d-4c05-8aa7-4a87b1afcc95";

/// A validator for the subset of JSON Schema the document uses.
fn validate(doc: &Value, schema: &Value, value: &Value, at: &str) -> Result<(), String> {
    if let Some(target) = schema.get("$ref").and_then(Value::as_str) {
        let name = target.trim_start_matches("#/components/schemas/");
        let resolved = doc["components"]["schemas"]
            .get(name)
            .ok_or(format!("{at}: no schema {name}"))?;
        return validate(doc, resolved, value, at);
    }
    if let Some(options) = schema.get("oneOf").and_then(Value::as_array) {
        let passing = options
            .iter()
            .filter(|o| validate(doc, o, value, at).is_ok())
            .count();
        return if passing >= 1 {
            Ok(())
        } else {
            Err(format!("{at}: matches no oneOf option: {value}"))
        };
    }
    if let Some(expected) = schema.get("const") {
        return if expected == value {
            Ok(())
        } else {
            Err(format!("{at}: {value} is not {expected}"))
        };
    }
    if let Some(allowed) = schema.get("enum").and_then(Value::as_array)
        && !allowed.contains(value)
    {
        return Err(format!("{at}: {value} not in {allowed:?}"));
    }
    match schema.get("type").and_then(Value::as_str) {
        Some("object") => {
            let object = value.as_object().ok_or(format!("{at}: not an object"))?;
            for name in schema["required"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
            {
                if !object.contains_key(name) {
                    return Err(format!("{at}: missing {name}"));
                }
            }
            for (name, field) in schema["properties"].as_object().into_iter().flatten() {
                if let Some(inner) = object.get(name) {
                    validate(doc, field, inner, &format!("{at}.{name}"))?;
                }
            }
            Ok(())
        }
        Some("array") => {
            for (i, item) in value
                .as_array()
                .ok_or(format!("{at}: not an array"))?
                .iter()
                .enumerate()
            {
                validate(doc, &schema["items"], item, &format!("{at}[{i}]"))?;
            }
            Ok(())
        }
        Some("string") => {
            let text = value.as_str().ok_or(format!("{at}: not a string"))?;
            // The document's two patterns: a decimal, or a decimal or nothing.
            let pattern = schema.get("pattern").and_then(Value::as_str);
            if text.is_empty() && pattern.is_some_and(|p| p.ends_with(")?$")) {
                return Ok(());
            }
            if pattern.is_some() {
                let (whole, fraction) = text.split_once('.').unwrap_or((text, "0"));
                let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
                if !(digits(whole) && digits(fraction)) {
                    return Err(format!("{at}: {text:?} is not a decimal"));
                }
            }
            Ok(())
        }
        Some("integer") if value.is_i64() || value.is_u64() => Ok(()),
        Some("number") if value.is_number() => Ok(()),
        Some("boolean") if value.is_boolean() => Ok(()),
        Some(kind) => Err(format!("{at}: {value} is not {kind}")),
        None => Ok(()),
    }
}

#[test]
fn every_endpoint_answers_as_the_document_says() {
    let gateway = Gateway::start(&[]);
    let merchant = gateway.demo.clone().unwrap();
    gateway.cli_ok(&[
        "ledger",
        "adjust",
        "--app-id",
        &merchant.app_id,
        "--coin",
        "USDT",
        "--amount",
        "50",
        "--reason",
        "float",
    ]);
    let c_id: Value =
        serde_json::from_str(&gateway.cli_ok(&["cwallet", "create", "--nickname", "n", "--json"]))
            .unwrap();
    let c_id = c_id["c_id"].as_str().unwrap().to_owned();
    let doc: Value =
        serde_json::from_str(gateway.raw_request("GET", "/openapi.json", &[], b"").text()).unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    let docs = gateway.raw_request("GET", "/docs", &[], b"");
    assert!(docs.text().contains("POST /ccpayment/v1/bill/create"));

    let bodies: Vec<(&str, String)> = vec![
        ("assets", "{}".into()),
        ("coin/all", String::new()),
        ("support/token", String::new()),
        ("token/chain", format!(r#"{{"token_id":"{USDT_ERC20}"}}"#)),
        (
            "token/rate",
            format!(r#"{{"amount":"10","token_id":"{USDT_ERC20}"}}"#),
        ),
        ("network/fee", format!(r#"{{"token_id":"{USDT_ERC20}"}}"#)),
        ("get/network/height/info", "{}".into()),
        ("check/user", format!(r#"{{"c_id":"{c_id}"}}"#)),
        (
            "payment/address/get",
            r#"{"user_id":"user-1","chain":"ETH"}"#.into(),
        ),
        (
            "bill/create",
            format!(
                r#"{{"token_id":"{USDT_ERC20}","product_price":"5","merchant_order_id":"o-1"}}"#
            ),
        ),
        (
            "concise/url/get",
            r#"{"product_price":"5","merchant_order_id":"h-1","product_name":"Tea"}"#.into(),
        ),
        // A native order and a hosted one whose payer has not chosen yet.
        (
            "bill/info",
            r#"{"merchant_order_ids":["o-1","h-1"]}"#.into(),
        ),
        (
            "withdraw",
            format!(
                r#"{{"token_id":"{USDT_ERC20}","address":"0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed","value":"10","merchant_order_id":"w-1"}}"#
            ),
        ),
        ("webhook/resend", r#"{"start_timestamp":1700000000}"#.into()),
    ];
    let documented: Vec<&str> = doc["paths"]
        .as_object()
        .unwrap()
        .keys()
        .map(|k| k.trim_start_matches("/ccpayment/v1/"))
        .collect();
    let mut exercised: Vec<&str> = bodies.iter().map(|(e, _)| *e).collect();
    exercised.sort_unstable();
    let mut sorted = documented.clone();
    sorted.sort_unstable();
    assert_eq!(
        exercised, sorted,
        "every documented endpoint is exercised here"
    );

    for (endpoint, body) in &bodies {
        let path = format!("/ccpayment/v1/{endpoint}");
        let answer = gateway
            .post_signed(&merchant, &path, body.as_bytes(), None)
            .json();
        assert_eq!(answer["code"], 10000, "{endpoint}: {answer}");
        let schema = &doc["paths"][&path]["post"]["responses"]["200"]["content"]["application/json"]
            ["schema"];
        validate(&doc, schema, &answer, endpoint).unwrap();
        let success = &schema["oneOf"][0];
        validate(&doc, success, &answer, endpoint).unwrap();
    }
    // Withdrawal details validate too.
    let answer = gateway
        .post_signed(
            &merchant,
            "/ccpayment/v1/bill/info",
            br#"{"merchant_order_ids":["w-1"]}"#,
            None,
        )
        .json();
    validate(
        &doc,
        &doc["components"]["schemas"]["BillInfo"],
        &answer["data"],
        "bill/info (withdrawal)",
    )
    .unwrap();
    // The validator does refuse what does not fit.
    let wrong = serde_json::json!({"list": [{"coin_id": 1, "value": "1e5"}]});
    assert!(
        validate(
            &doc,
            &doc["components"]["schemas"]["Assets"],
            &wrong,
            "wrong"
        )
        .is_err()
    );
    // And every error envelope.
    let error = gateway
        .post_signed(&merchant, "/ccpayment/v1/token/rate", b"{}", None)
        .json();
    validate(
        &doc,
        &doc["components"]["schemas"]["Error"],
        &error,
        "error",
    )
    .unwrap();
}
