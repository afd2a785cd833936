//! The OpenAPI 3.1 description of the v1 API as ccgate serves it: every
//! endpoint with its headers, request and response schemas, the webhooks and
//! the code table with what to do about each code, examples of every request,
//! answer and webhook body, and the signature worked through. Served at
//! `GET /openapi.json` and rendered at `GET /docs`; tests hold it and the
//! server to each other (every route documented, real answers valid, every
//! example request answered as its example says).

pub(crate) mod examples;
pub(crate) mod v2;

use ccgate_api::Code;
use ccgate_api::sign::TIMESTAMP_WINDOW_SECS;
use serde_json::{Map, Value, json};

/// `(field, JSON type)`: every field is required in what ccgate answers.
fn object(fields: &[(&str, Value)]) -> Value {
    let properties: Map<String, Value> = fields
        .iter()
        .map(|(name, schema)| ((*name).to_owned(), schema.clone()))
        .collect();
    let required: Vec<&str> = fields.iter().map(|(name, _)| *name).collect();
    json!({"type": "object", "required": required, "properties": properties})
}

fn string() -> Value {
    json!({"type": "string"})
}

/// Amounts, prices and rates travel as decimal strings (spec §1.5).
fn decimal() -> Value {
    json!({"type": "string", "pattern": "^[0-9]+(\\.[0-9]+)?$"})
}

/// A decimal, or `""` where it is not known yet: a hosted checkout's order
/// before the payer picks a network (decisions §8).
fn decimal_or_empty() -> Value {
    json!({"type": "string", "pattern": "^([0-9]+(\\.[0-9]+)?)?$"})
}

fn integer() -> Value {
    json!({"type": "integer"})
}

fn boolean() -> Value {
    json!({"type": "boolean"})
}

fn list_of(item: Value) -> Value {
    json!({"type": "array", "items": item})
}

fn reference(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}

fn schemas() -> Map<String, Value> {
    let network = object(&[
        ("token_id", string()),
        ("crypto", string()),
        ("logo", string()),
        ("name", string()),
        ("is_support_memo", boolean()),
        ("network", string()),
        ("chain", string()),
        ("contract", string()),
        ("chain_logo", string()),
        ("status", integer()),
        ("precision", integer()),
        ("network_fee_crypto", string()),
        ("network_coin_id", string()),
    ]);
    let withdraw_detail = object(&[
        ("order_id", string()),
        ("merchant_order_id", string()),
        ("coin_id", string()),
        ("token_id", string()),
        ("chain", string()),
        ("contract", string()),
        ("crypto", string()),
        ("value", decimal()),
        ("network_fee", decimal()),
        ("net_receivable", decimal()),
        ("merchant_pays_fee", boolean()),
        ("to_address", string()),
        ("memo", string()),
        ("txid", string()),
        ("status", string()),
        ("created", integer()),
    ]);
    let order_detail = object(&[
        ("order_id", string()),
        ("product_price", decimal()),
        ("denominated_currency", string()),
        ("product_name", string()),
        ("merchant_order_id", string()),
        ("chain", string()),
        ("contract", string()),
        ("crypto", string()),
        ("order_amount", decimal_or_empty()),
        (
            "status",
            json!({"type": "string", "enum": ["Pending", "Processing", "Successful", "Expired", "Failed"]}),
        ),
        ("token_rate", decimal_or_empty()),
        ("created", integer()),
        ("paid_amount", decimal()),
        ("underpaid", boolean()),
        ("overpaid", boolean()),
    ]);
    let trade = object(&[
        ("amount", decimal()),
        ("chain", string()),
        ("contract", string()),
        ("crypto", string()),
        ("service_fee", decimal()),
        ("network_fee", decimal()),
        ("txid", string()),
        ("pay_time", integer()),
        ("token_rate", decimal()),
        ("status", string()),
    ]);
    let refund = object(&[
        ("refund_amount", decimal()),
        ("network_fee", decimal()),
        ("actual_received_amount", decimal()),
        ("chain", string()),
        ("contract", string()),
        ("crypto", string()),
        ("txid", string()),
        ("address", string()),
        ("pay_time", integer()),
        ("status", string()),
    ]);
    let mut map = Map::new();
    let mut add = |name: &str, schema: Value| {
        map.insert(name.to_owned(), schema);
    };
    add(
        "Error",
        object(&[
            (
                "code",
                json!({"type": "integer", "enum": Code::ALL.iter().filter(|c| **c != Code::Success).map(|c| c.number()).collect::<Vec<_>>()}),
            ),
            ("msg", string()),
            ("reason", string()),
        ]),
    );
    add(
        "Assets",
        object(&[(
            "list",
            list_of(object(&[
                ("coin_id", string()),
                ("crypto", string()),
                ("name", string()),
                ("value", decimal()),
                ("price", decimal()),
                ("logo", string()),
            ])),
        )]),
    );
    add("Network", network.clone());
    add(
        "CoinList",
        object(&[(
            "list",
            list_of(object(&[
                ("symbol", string()),
                ("crypto", string()),
                ("name", string()),
                ("logo", string()),
                ("min", decimal()),
                ("price", decimal()),
                ("precision", integer()),
                ("coin_id", string()),
                ("status", integer()),
                ("tokens", list_of(reference("Network"))),
            ])),
        )]),
    );
    add(
        "SupportedTokens",
        object(&[(
            "list",
            list_of(object(&[
                ("crypto", string()),
                ("name", string()),
                ("logo", string()),
                ("min", decimal()),
                ("price", decimal()),
                ("token_id", string()),
            ])),
        )]),
    );
    add(
        "NetworkList",
        object(&[("list", list_of(reference("Network")))]),
    );
    add(
        "TokenRate",
        object(&[("price", decimal()), ("value", decimal())]),
    );
    add(
        "NetworkFee",
        object(&[
            ("token_id", string()),
            ("crypto", string()),
            ("fee", decimal()),
        ]),
    );
    add(
        "ChainHeights",
        list_of(object(&[
            ("chain", string()),
            ("current_chain_height", integer()),
            ("tx_confirm_block_num", integer()),
            ("block_rate", json!({"type": "number"})),
        ])),
    );
    add(
        "CwalletUser",
        object(&[("c_id", string()), ("nickname", string())]),
    );
    add(
        "PermanentAddress",
        object(&[("address", string()), ("memo", string())]),
    );
    add(
        "BillCreated",
        object(&[
            ("order_id", string()),
            ("amount", decimal()),
            ("logo", string()),
            ("network", string()),
            ("pay_address", string()),
            ("crypto", string()),
            ("token_id", string()),
            ("memo", string()),
            ("order_valid_period", integer()),
        ]),
    );
    add("PaymentUrl", object(&[("payment_url", string())]));
    add(
        "BillInfo",
        list_of(json!({"oneOf": [
            object(&[("order_detail", order_detail), ("trade_list", list_of(trade)), ("refund_list", list_of(refund))]),
            object(&[("withdraw_detail", withdraw_detail)]),
        ]})),
    );
    add(
        "Withdrawn",
        object(&[
            ("order_id", string()),
            ("record_id", string()),
            ("network_fee", decimal()),
            ("net_receivable", decimal()),
            ("network_fee_crypto", string()),
            ("network_coin_id", string()),
        ]),
    );
    add("Resent", object(&[("resend_count", integer())]));
    map
}

/// A request field: name, schema, required.
type RequestField = (&'static str, Value, bool);
/// An endpoint: path after `/ccpayment/v1/`, summary, request fields, response schema.
type Endpoint = (&'static str, &'static str, Vec<RequestField>, &'static str);

fn endpoints() -> Vec<Endpoint> {
    vec![
        (
            "assets",
            "Balances per coin (all held, or one)",
            vec![("coin_id", string(), false), ("token_id", string(), false)],
            "Assets",
        ),
        ("coin/all", "Coins with their networks", vec![], "CoinList"),
        (
            "support/token",
            "Supported tokens (deprecated, still served)",
            vec![],
            "SupportedTokens",
        ),
        (
            "token/chain",
            "Networks of a token's coin (deprecated, still served)",
            vec![("token_id", string(), true)],
            "NetworkList",
        ),
        (
            "token/rate",
            "A USD amount in token units",
            vec![("amount", decimal(), true), ("token_id", string(), true)],
            "TokenRate",
        ),
        (
            "network/fee",
            "Withdrawal network fee",
            vec![
                ("token_id", string(), true),
                ("address", string(), false),
                ("memo", string(), false),
            ],
            "NetworkFee",
        ),
        (
            "get/network/height/info",
            "Chain heights and required confirmations",
            vec![],
            "ChainHeights",
        ),
        (
            "check/user",
            "Whether a Cwallet id exists",
            vec![("c_id", string(), true)],
            "CwalletUser",
        ),
        (
            "payment/address/get",
            "Permanent deposit address of a user on a chain",
            vec![
                ("user_id", string(), true),
                ("chain", string(), true),
                ("notify_url", string(), false),
            ],
            "PermanentAddress",
        ),
        (
            "bill/create",
            "Native checkout order",
            vec![
                ("token_id", string(), true),
                ("product_price", decimal(), true),
                ("merchant_order_id", string(), true),
                ("denominated_currency", string(), false),
                ("order_valid_period", integer(), false),
                ("notify_url", string(), false),
                ("custom_value", string(), false),
                ("remark", string(), false),
            ],
            "BillCreated",
        ),
        (
            "concise/url/get",
            "Hosted checkout URL",
            vec![
                ("product_price", decimal(), true),
                ("merchant_order_id", string(), true),
                ("product_name", string(), true),
                ("order_valid_period", integer(), false),
                ("return_url", string(), false),
                ("notify_url", string(), false),
                ("custom_value", string(), false),
            ],
            "PaymentUrl",
        ),
        (
            "bill/info",
            "Deposit orders or withdrawals by merchant_order_id (one kind per call, at most 100)",
            vec![("merchant_order_ids", list_of(string()), true)],
            "BillInfo",
        ),
        (
            "withdraw",
            "Withdrawal to a chain address or a Cwallet id",
            vec![
                ("token_id", string(), true),
                ("address", string(), true),
                ("value", decimal(), true),
                ("merchant_order_id", string(), true),
                ("memo", string(), false),
                ("merchant_pays_fee", boolean(), false),
            ],
            "Withdrawn",
        ),
        (
            "webhook/resend",
            "Queue a window of webhooks for another attempt",
            vec![
                ("start_timestamp", integer(), true),
                ("end_timestamp", integer(), false),
                ("webhook_result", string(), false),
                ("transaction_type", string(), false),
            ],
            "Resent",
        ),
    ]
}

/// The v1 endpoints the document describes (paths after `/ccpayment/v1/`).
pub fn documented_endpoints() -> Vec<&'static str> {
    endpoints()
        .into_iter()
        .map(|(endpoint, ..)| endpoint)
        .collect()
}

fn header(name: &str, description: &str) -> Value {
    json!({"name": name, "in": "header", "required": true, "schema": {"type": "string"}, "description": description})
}

/// The schema of a JSON value shaped like `example`: every field required
/// but those named `optional`. Webhook bodies are described this way, from
/// an example serialised by their real type, so the two cannot part.
fn schema_of(example: &Value, optional: &[&str]) -> Value {
    match example {
        Value::Object(fields) => {
            let properties: Map<String, Value> = fields
                .iter()
                .map(|(name, value)| (name.clone(), schema_of(value, optional)))
                .collect();
            let required: Vec<&String> = fields
                .keys()
                .filter(|name| !optional.contains(&name.as_str()))
                .collect();
            json!({"type": "object", "required": required, "properties": properties})
        }
        Value::Array(items) => list_of(
            items
                .first()
                .map_or_else(|| json!({}), |item| schema_of(item, optional)),
        ),
        Value::String(_) => string(),
        Value::Bool(_) => boolean(),
        Value::Number(_) => integer(),
        Value::Null => json!({}),
    }
}

fn signed_headers() -> Value {
    json!([
        header("Appid", "The merchant's Appid."),
        header(
            "Timestamp",
            "Unix seconds; within 120 s of the server's clock."
        ),
        header(
            "Sign",
            "hex(SHA-256(Appid + AppSecret + Timestamp + raw body)), either case."
        ),
    ])
}

/// How to sign, with worked examples computed by `ccgate_api::sign`.
fn signature() -> Value {
    json!({
        "formula": "Sign = lower-case hex of SHA-256 over the UTF-8 bytes of Appid + AppSecret + Timestamp + body",
        "rules": [
            "Plain concatenation, no separators; Timestamp is the exact header text (unix seconds).",
            "The body is the raw bytes as sent on the wire: sign after serialising and send exactly those bytes. Re-formatting (a tool's pretty-printing, another JSON library, a trailing newline) changes the Sign.",
            "An empty body is allowed on every endpoint and means {}; its Sign is over Appid + AppSecret + Timestamp alone.",
            format!("The Timestamp must be within {TIMESTAMP_WINDOW_SECS} s of the server's clock, either way."),
            "The server accepts the Sign in either case and compares in constant time.",
            "Every answer to an authenticated request carries Appid, Timestamp (the server's) and Sign headers, signed the same way over the exact answer bytes; verify them before trusting the answer. Answers to refused requests (bad headers, Sign or Timestamp) are not signed.",
            "Webhooks are signed the same way with the same AppSecret, in the Appid, Timestamp and Sign headers: verify over the raw request body before parsing it, then answer HTTP 200 with a body containing success.",
        ],
        "examples": examples::signature_examples(),
    })
}

pub fn document(public_url: &str) -> Value {
    let mut paths = Map::new();
    for (endpoint, summary, fields, response) in endpoints() {
        let properties: Map<String, Value> = fields
            .iter()
            .map(|(n, s, _)| ((*n).to_owned(), s.clone()))
            .collect();
        let required: Vec<&str> = fields
            .iter()
            .filter(|(_, _, r)| *r)
            .map(|(n, ..)| *n)
            .collect();
        let mut request = json!({"schema": {
            "type": "object", "properties": properties, "required": required,
        }});
        let mut answer = json!({"schema": {"oneOf": [
            {"type": "object", "required": ["code", "msg", "data"], "properties": {
                "code": {"const": 10000}, "msg": {"const": "success"}, "data": reference(response),
            }},
            reference("Error"),
        ]}});
        if let Some(examples) = examples::of_endpoint(endpoint, public_url) {
            let (success, error) = (examples.success, examples.error);
            request["examples"] = json!({
                "success": {"summary": success.summary, "value": success.request},
                "error": {"summary": error.summary, "value": error.request},
            });
            answer["examples"] = json!({
                "success": {"summary": success.summary, "value": success.answer},
                "error": {"summary": error.summary, "value": error.answer},
            });
        }
        paths.insert(
            format!("/ccpayment/v1/{endpoint}"),
            json!({"post": {
                "summary": summary,
                "parameters": signed_headers(),
                "requestBody": {"required": false, "content": {"application/json": request}},
                "responses": {"200": {
                    "description": "The v1 envelope, signed in the Appid, Timestamp and Sign headers. `code` 10000 carries `data`; any other code is an error without it.",
                    "headers": {
                        "Appid": {"schema": {"type": "string"}},
                        "Timestamp": {"schema": {"type": "string"}},
                        "Sign": {"schema": {"type": "string"}},
                    },
                    "content": {"application/json": answer},
                }},
            }}),
        );
    }
    let codes: Vec<Value> = Code::ALL
        .iter()
        .map(|c| json!({"code": c.number(), "reason": c.reason(), "http_status": c.http_status(), "msg": c.default_msg(), "remedy": c.remedy()}))
        .collect();
    let webhooks: Map<String, Value> = examples::webhooks()
        .into_iter()
        .map(|webhook| {
            let item = json!({"post": {
                "summary": webhook.order_type,
                "description": format!("{} Signed like answers: Appid, Timestamp and Sign over the raw body. Acknowledge with HTTP 200 and a body containing `success`; anything else is retried. Tell the kinds apart by `order_type`; only `pay_status` `success` means the money moved.", webhook.when),
                "parameters": signed_headers(),
                "requestBody": {"required": true, "content": {"application/json": {
                    "schema": schema_of(&webhook.body, webhook.optional),
                    "example": webhook.body,
                }}},
                "responses": {"200": {"description": "Acknowledged: the body contains `success`."}},
            }});
            (webhook.key.to_owned(), item)
        })
        .collect();
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "ccgate — CCPayment merchant API, v1 and v2",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Wire-compatible with CCPayment's v1 API, and with its v2 API as far as the paths under /ccpayment/v2/ go (tag v2; their codes in x-v2-error-codes, their signature in x-v2-signature). Every endpoint is POST; the body may be empty or any JSON object; the signature is over the exact body bytes.",
        },
        "servers": [{"url": public_url}],
        "paths": paths.into_iter().chain(v2::paths()).collect::<Map<String, Value>>(),
        "webhooks": webhooks.into_iter().chain(v2::webhooks()).collect::<Map<String, Value>>(),
        "components": {"schemas": schemas()},
        "x-error-codes": codes,
        "x-signature": signature(),
        "x-v2-error-codes": v2::codes(),
        "x-v2-signature": v2::signature(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_is_documented_and_nothing_else() {
        let served: Vec<&str> = crate::v1_routes()
            .into_iter()
            .map(|(endpoint, _)| endpoint)
            .collect();
        assert_eq!(documented_endpoints(), served);
        let doc = document("http://127.0.0.1:8080");
        let v1_paths = doc["paths"].as_object().map(|paths| {
            paths
                .keys()
                .filter(|p| p.starts_with("/ccpayment/v1/"))
                .count()
        });
        assert_eq!(v1_paths, Some(served.len()));
        // Every $ref points at a schema that exists.
        let text = doc.to_string();
        for name in text.split("#/components/schemas/").skip(1) {
            let name: String = name.chars().take_while(|c| c.is_alphanumeric()).collect();
            assert!(doc["components"]["schemas"].get(&name).is_some(), "{name}");
        }
    }

    #[test]
    fn every_code_is_listed_with_its_remedy() {
        let doc = document("http://x");
        let codes = doc["x-error-codes"].as_array().cloned().unwrap_or_default();
        assert_eq!(codes.len(), Code::ALL.len());
        for (listed, code) in codes.iter().zip(Code::ALL) {
            assert_eq!(listed["code"], code.number());
            assert_eq!(listed["remedy"], code.remedy());
        }
    }

    #[test]
    fn every_endpoint_has_a_success_and_an_error_example() {
        let doc = document("http://x");
        for endpoint in documented_endpoints() {
            let post = &doc["paths"][format!("/ccpayment/v1/{endpoint}")]["post"];
            let requests = &post["requestBody"]["content"]["application/json"]["examples"];
            let answers = &post["responses"]["200"]["content"]["application/json"]["examples"];
            assert!(requests["success"]["value"].is_object(), "{endpoint}");
            assert!(!requests["error"]["value"].is_null(), "{endpoint}");
            assert_eq!(answers["success"]["value"]["code"], 10000, "{endpoint}");
            let error = &answers["error"]["value"];
            let code = Code::ALL
                .into_iter()
                .find(|c| error["code"] == c.number())
                .unwrap_or(Code::Success);
            assert_ne!(code, Code::Success, "{endpoint}: {error}");
            assert_eq!(error["reason"], code.reason().unwrap_or_default());
        }
    }

    #[test]
    fn every_webhook_kind_has_an_example_of_its_type() {
        let doc = document("http://x");
        let webhooks: Map<String, Value> = doc["webhooks"]
            .as_object()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .filter(|(key, _)| !key.starts_with("v2"))
            .collect();
        let kinds: Vec<&str> = webhooks
            .values()
            .map(|w| w["post"]["summary"].as_str().unwrap_or_default())
            .collect();
        assert_eq!(
            kinds,
            [
                "API Deposit",
                "Direct Deposit",
                "Invoice",
                "Refund",
                "API Withdrawal"
            ],
            "by key: apiDeposit, directDeposit, invoice, refund, withdrawal"
        );
        for webhook in webhooks.values() {
            let content = &webhook["post"]["requestBody"]["content"]["application/json"];
            assert_eq!(content["example"]["order_type"], webhook["post"]["summary"]);
            assert_eq!(content["example"]["pay_status"], "success");
            let required = content["schema"]["required"].as_array().map(Vec::len);
            assert!(required > Some(10), "{webhook}");
        }
    }

    /// The worked examples are the spec's test vectors: computed here by
    /// `ccgate_api::sign`, they must come out as every other implementation has them.
    #[test]
    fn signature_examples_match_the_spec_vectors() {
        let vectors: Value =
            serde_json::from_str(include_str!("../../api/tests/data/vectors.json"))
                .unwrap_or_default();
        let examples = examples::signature_examples();
        assert_eq!(examples.len(), 3);
        for example in examples {
            let vector = vectors["vectors"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|v| {
                    v["body"] == example["body"]
                        && v["app_id"] == example["app_id"]
                        && v["app_secret"] == example["app_secret"]
                        && v["timestamp"] == example["timestamp"]
                });
            assert_eq!(
                vector.map(|v| &v["sign"]),
                Some(&example["sign"]),
                "{example}"
            );
        }
    }
}
