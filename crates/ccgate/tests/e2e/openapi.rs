//! The OpenAPI document and the server held to each other: real answers of
//! every endpoint validate against the document's schemas.

use serde_json::Value;

use crate::support::{Gateway, HttpStub, USDT_ERC20};

/// A validator for the subset of JSON Schema the document uses.
pub(crate) fn validate(doc: &Value, schema: &Value, value: &Value, at: &str) -> Result<(), String> {
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
        .filter_map(|k| k.strip_prefix("/ccpayment/v1/"))
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

/// Whether `answer` has `example`'s shape: the same keys in every object,
/// each array element shaped like the example's first, the same JSON kinds.
fn same_shape(example: &Value, answer: &Value, at: &str) -> Result<(), String> {
    same_shape_with_maps(example, answer, at, &[])
}

/// [`same_shape`], where the fields named in `maps` are maps keyed by data
/// (chain symbols, coin ids): each of their values shaped like the example's
/// first, whatever the keys.
pub(crate) fn same_shape_with_maps(
    example: &Value,
    answer: &Value,
    at: &str,
    maps: &[&str],
) -> Result<(), String> {
    match (example, answer) {
        (Value::Object(expected), Value::Object(got)) => {
            let expected_keys: Vec<&String> = expected.keys().collect();
            let got_keys: Vec<&String> = got.keys().collect();
            if expected_keys != got_keys {
                return Err(format!(
                    "{at}: the example has {expected_keys:?}, the answer {got_keys:?}"
                ));
            }
            for (key, value) in expected {
                let here = format!("{at}.{key}");
                match (value, &got[key]) {
                    (Value::Object(map), Value::Object(got_map))
                        if maps.contains(&key.as_str()) =>
                    {
                        let first = map
                            .values()
                            .next()
                            .ok_or(format!("{here}: an empty example map"))?;
                        for (name, item) in got_map {
                            same_shape_with_maps(first, item, &format!("{here}.{name}"), maps)?;
                        }
                    }
                    (value, got) => same_shape_with_maps(value, got, &here, maps)?,
                }
            }
            Ok(())
        }
        (Value::Array(expected), Value::Array(got)) => {
            if let Some(first) = expected.first() {
                for (i, item) in got.iter().enumerate() {
                    same_shape_with_maps(first, item, &format!("{at}[{i}]"), maps)?;
                }
            }
            Ok(())
        }
        (Value::String(_), Value::String(_))
        | (Value::Number(_), Value::Number(_))
        | (Value::Bool(_), Value::Bool(_))
        | (Value::Null, Value::Null) => Ok(()),
        _ => Err(format!(
            "{at}: the example has {example}, the answer {answer}"
        )),
    }
}

#[test]
fn every_example_request_is_answered_as_its_example_says() {
    let gateway = Gateway::start(&[]);
    let merchant = gateway.demo.clone().unwrap();
    gateway.adjust(&merchant, "USDT", "50", &[]);
    let c_id: Value =
        serde_json::from_str(&gateway.cli_ok(&["cwallet", "create", "--nickname", "n", "--json"]))
            .unwrap();
    let doc: Value =
        serde_json::from_str(gateway.raw_request("GET", "/openapi.json", &[], b"").text()).unwrap();
    // The validator itself refuses a wrong shape.
    assert!(
        same_shape(
            &serde_json::json!({"a": 1}),
            &serde_json::json!({"b": 1}),
            ""
        )
        .is_err()
    );
    assert!(
        same_shape(
            &serde_json::json!([{"a": "x"}]),
            &serde_json::json!([{"a": 1}]),
            ""
        )
        .is_err()
    );

    // In the document's (alphabetical) order, which makes bill/create's order
    // before bill/info reads it back and spends the balance before withdraw
    // asks for too much.
    let paths: Vec<(&String, &Value)> = doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(path, _)| path.starts_with("/ccpayment/v1/"))
        .collect();
    assert_eq!(paths.len(), 14);
    for (path, item) in paths {
        let post = &item["post"];
        let requests = &post["requestBody"]["content"]["application/json"]["examples"];
        let answers = &post["responses"]["200"]["content"]["application/json"]["examples"];
        let schema = &post["responses"]["200"]["content"]["application/json"]["schema"];

        let mut request = requests["success"]["value"].clone();
        if path.ends_with("/check/user") {
            // Cwallet ids are random: ask about the one made above.
            request["c_id"] = c_id["c_id"].clone();
        }
        let expected = &answers["success"]["value"];
        validate(&doc, schema, expected, path).unwrap();
        let answer = gateway
            .post_signed(&merchant, path, request.to_string().as_bytes(), None)
            .json();
        assert_eq!(answer["code"], 10000, "{path}: {answer}");
        same_shape(expected, &answer, path).unwrap();

        // An error answer holds nothing that varies: it is the example exactly.
        let request = &requests["error"]["value"];
        let expected = &answers["error"]["value"];
        validate(&doc, schema, expected, path).unwrap();
        let answer = gateway
            .post_signed(&merchant, path, request.to_string().as_bytes(), None)
            .json();
        assert_eq!(&answer, expected, "{path}: {request}");
    }
}

/// Undoes the page's escaping of element text.
fn unescape(html: &str) -> String {
    html.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

/// The text of the element with this id.
pub(crate) fn element_text(page: &str, id: &str) -> String {
    let start = page
        .find(&format!("id=\"{id}\">"))
        .unwrap_or_else(|| panic!("no #{id}"));
    let rest = &page[start..];
    let rest = &rest[rest.find('>').unwrap() + 1..];
    unescape(&rest[..rest.find("</").unwrap()])
}

#[test]
fn docs_page_has_a_worked_signature_that_verifies() {
    let gateway = Gateway::start(&[]);
    let page = gateway.raw_request("GET", "/docs", &[], b"");
    assert_eq!(page.status, 200);
    assert_eq!(page.header("x-content-type-options"), Some("nosniff"));
    assert!(
        page.header("content-security-policy")
            .unwrap()
            .contains("default-src 'none'")
    );
    let html = page.text();
    for index in 0..3 {
        let part = |name: &str| element_text(html, &format!("sign-{index}-{name}"));
        let body = part("body");
        let body = if body == "(empty: zero bytes)" {
            String::new()
        } else {
            body
        };
        let sign = part("sign");
        assert_eq!(sign.len(), 64);
        assert!(
            ccgate_api::sign::verify(
                &part("app-id"),
                &part("app-secret"),
                &part("timestamp"),
                body.as_bytes(),
                &sign
            ),
            "example {index}: {sign}"
        );
        // The page's shell line hashes exactly those bytes.
        let signed = format!(
            "{}{}{}{body}",
            part("app-id"),
            part("app-secret"),
            part("timestamp")
        );
        assert!(unescape(html).contains(&format!("printf '%s' '{signed}' | sha256sum\n{sign}  -")));
    }
    assert!(element_text(html, "sign-0-body").contains("coin_id"));
    // Every endpoint in the table of contents and with its examples, every
    // webhook kind, every code with what to do about it.
    let text = unescape(html);
    for endpoint in documented_endpoints(&gateway) {
        assert!(
            html.contains(&format!(
                "href=\"#ccpayment-v1-{}\"",
                endpoint.replace('/', "-")
            )),
            "{endpoint}"
        );
        assert!(
            text.contains(&format!("POST /ccpayment/v1/{endpoint}")),
            "{endpoint}"
        );
    }
    for kind in ["API Deposit", "Direct Deposit", "API Withdrawal", "Refund"] {
        assert!(
            text.contains(&format!("\"order_type\":\"{kind}\"")),
            "{kind}"
        );
    }
    assert_eq!(text.matches("<tr id=\"code-").count(), 23);
    assert!(text.contains("Sync the clock (NTP)"));
    assert!(!html.contains("<script"));
}

/// The v1 endpoints `/openapi.json` lists, as the server describes itself.
fn documented_endpoints(gateway: &Gateway) -> Vec<String> {
    let doc: Value =
        serde_json::from_str(gateway.raw_request("GET", "/openapi.json", &[], b"").text()).unwrap();
    doc["paths"]
        .as_object()
        .unwrap()
        .keys()
        .filter_map(|path| path.strip_prefix("/ccpayment/v1/"))
        .map(str::to_owned)
        .collect()
}

#[test]
fn home_page_says_what_this_is_and_links_the_description() {
    let gateway = Gateway::start(&[]);
    let home = gateway.raw_request("GET", "/", &[], b"");
    assert_eq!(home.status, 200);
    assert!(
        home.header("content-type")
            .unwrap()
            .starts_with("text/html")
    );
    assert_eq!(home.header("x-content-type-options"), Some("nosniff"));
    let html = home.text();
    assert!(html.contains("CCPayment v1-compatible"));
    assert!(html.contains("id=\"mode\">simulated<"));
    for link in ["/docs", "/openapi.json", "/healthz"] {
        assert!(html.contains(&format!("href=\"{link}\"")), "{link}");
    }
    assert!(!html.contains("sandbox"));
    // Only `GET /` is a page: anything else stays a v1 envelope.
    for (method, path) in [("GET", "/index.html"), ("GET", "/nope"), ("POST", "/")] {
        let answer = gateway.raw_request(method, path, &[], b"{}");
        assert_eq!(answer.json()["code"], 220009, "{method} {path}");
    }
    assert_eq!(
        gateway.raw_request("GET", "/index.html", &[], b"").status,
        404
    );
    assert_eq!(gateway.raw_request("POST", "/", &[], b"{}").status, 405);

    let sandbox = Gateway::start(&["--sandbox"]);
    let html = sandbox.raw_request("GET", "/", &[], b"").text().to_owned();
    assert!(html.contains("id=\"mode\">simulated<"));
    assert!(html.contains("<strong>sandbox</strong>"));
}

/// Whether every key of `value` is one `schema` (with its nested objects)
/// names: a field the engine sends but the document lacks is drift too.
pub(crate) fn only_documented_keys(schema: &Value, value: &Value, at: &str) -> Result<(), String> {
    let (Some(properties), Some(object)) = (schema["properties"].as_object(), value.as_object())
    else {
        return Ok(());
    };
    for (key, inner) in object {
        let field = properties
            .get(key)
            .ok_or(format!("{at}: {key} is not documented"))?;
        only_documented_keys(field, inner, &format!("{at}.{key}"))?;
    }
    Ok(())
}

#[test]
fn every_webhook_sent_is_shaped_as_documented() {
    let receiver = HttpStub::start(200, "success");
    let gateway = Gateway::start(&["--sandbox"]);
    let merchant = gateway.demo.clone().unwrap();
    gateway.set_webhook(&merchant, &receiver.url);
    let doc: Value =
        serde_json::from_str(gateway.raw_request("GET", "/openapi.json", &[], b"").text()).unwrap();
    let documented = doc["webhooks"].as_object().unwrap();
    let mut kinds_seen = Vec::new();
    for event in [
        "order.paid",
        "deposit.direct",
        "withdrawal.succeeded",
        "refund.succeeded",
    ] {
        let report: Value = serde_json::from_str(&gateway.cli_ok(&[
            "trigger",
            event,
            "--app-id",
            &merchant.app_id,
            "--json",
        ]))
        .unwrap();
        for webhook in report["webhooks"].as_array().unwrap() {
            let payload = &webhook["payload"];
            let kind = payload["order_type"].as_str().unwrap();
            let post = &documented
                .values()
                .find(|w| w["post"]["summary"] == kind)
                .unwrap_or_else(|| panic!("{kind} is not documented"))["post"];
            let schema = &post["requestBody"]["content"]["application/json"]["schema"];
            validate(&doc, schema, payload, kind).unwrap();
            only_documented_keys(schema, payload, kind).unwrap();
            kinds_seen.push(kind.to_owned());
        }
    }
    kinds_seen.sort_unstable();
    kinds_seen.dedup();
    assert_eq!(
        kinds_seen,
        ["API Deposit", "API Withdrawal", "Direct Deposit", "Refund"]
    );
    // The validator refuses a body missing a documented field.
    let schema = &documented["directDeposit"]["post"]["requestBody"]["content"]["application/json"]
        ["schema"];
    assert!(
        validate(
            &doc,
            schema,
            &serde_json::json!({"order_type": "Direct Deposit"}),
            ""
        )
        .is_err()
    );
    assert!(only_documented_keys(schema, &serde_json::json!({"surprise": 1}), "").is_err());
    assert!(!receiver.received().is_empty());
}
