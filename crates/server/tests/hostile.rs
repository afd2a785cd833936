//! Hostile input against the v1 request path, in process: the real router over
//! a real SQLite store, driven request by request with `oneshot`. Whatever
//! arrives — arbitrary bytes, arbitrary JSON, a wrong type in any documented
//! field, mangled signature headers, odd methods and paths — the answer must be
//! a v1 envelope with a code from the table, never the internal-error code
//! (which is also what a caught handler panic answers), never a secret, and the
//! router must still serve a correct request afterwards.
//!
//! The properties run `CASES_DEFAULT` cases each, so CI stays fast;
//! `PROPTEST_CASES=100000` makes a long run.
#![allow(clippy::unwrap_used)]

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::sync::{Arc, Once};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, Request, StatusCode, header};
use ccgate_api::v2::V2Code;
use ccgate_api::{Code, sign};
use ccgate_engine::assemble::{Parts, build_services};
use ccgate_ledger::{Decimal, MerchantId, PriceTable, Registry};
use ccgate_pricefeed::StaticPrices;
use ccgate_server::{AppState, BODY_LIMIT_BYTES_DEFAULT, ServerConfig, Services, SystemClock};
use ccgate_store::{
    CachingStore, MasterKey, SqliteStore, Store, generate_app_id, generate_app_secret,
};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use secrecy::ExposeSecret;
use serde_json::{Map, Value, json};
use tower::ServiceExt;

/// Cases per property unless `PROPTEST_CASES` says otherwise.
const CASES_DEFAULT: u32 = 300;
/// Messages are written for people and echo at most a short cut of the input.
const MSG_CHARS_MAX: usize = 400;
/// The legacy names the v1 parsers accept besides the documented ones.
const LEGACY_ALIASES: [&str; 4] = ["coin_id", "amount", "valid_timestamp", "fiat_currency"];

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
        .try_into()
        .unwrap()
}

fn runner() -> TestRunner {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|text| text.parse().ok())
        .unwrap_or(CASES_DEFAULT);
    TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    })
}

thread_local! {
    /// The last panic on this thread. The runtime is single-threaded, so a
    /// handler panic happens here, and `CatchPanicLayer` would otherwise turn
    /// it into an ordinary-looking envelope.
    static LAST_PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
}

fn record_panics() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            LAST_PANIC.with(|last| *last.borrow_mut() = Some(info.to_string()));
            previous(info);
        }));
    });
}

/// The router, its store and one active merchant.
struct Gateway {
    router: ccgate_server::App,
    /// The admin listener's routes, for `/metrics`.
    admin: axum::Router,
    runtime: tokio::runtime::Runtime,
    app_id: String,
    app_secret: String,
    master_key_hex: String,
    registry: Registry,
    _data_dir: tempfile::TempDir,
}

const ADMIN_TOKEN: &str = "hostile-admin-token";
const ADMIN_LISTENER: &str = "127.0.0.1:9";

/// What came back.
struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
}

impl Gateway {
    fn start() -> Gateway {
        record_panics();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let data_dir = tempfile::tempdir().unwrap();
        let master_key = MasterKey::generate();
        let master_key_hex = master_key.to_hex().expose_secret().to_owned();
        let registry = Registry::builtin();
        let (state, app_id, app_secret) = runtime.block_on(async {
            let store = SqliteStore::open(&data_dir.path().join("ccgate.db"), master_key)
                .await
                .unwrap();
            let app_id = generate_app_id(unix_now());
            let app_secret = generate_app_secret();
            store
                .create_merchant(
                    &MerchantId::new(&app_id),
                    &app_secret,
                    "shop",
                    unix_now(),
                    None,
                )
                .await
                .unwrap();
            let state = app_state(store, registry.clone()).await;
            (state, app_id, app_secret.expose_secret().to_owned())
        });
        let admin = ccgate_server::admin_router(
            state.clone(),
            ccgate_server::AdminAccess::new(
                ADMIN_TOKEN.to_owned().into(),
                ADMIN_LISTENER.parse().unwrap(),
                &[],
            ),
        );
        Gateway {
            router: ccgate_server::router(state),
            admin,
            runtime,
            app_id,
            app_secret,
            master_key_hex,
            registry,
            _data_dir: data_dir,
        }
    }

    fn send(&self, request: Request<Body>) -> Answer {
        LAST_PANIC.with(|last| last.borrow_mut().take());
        let answer = self.runtime.block_on(async {
            let response = self.router.clone().oneshot(request).await.unwrap();
            let (parts, body) = response.into_parts();
            let body = axum::body::to_bytes(body, usize::MAX).await.unwrap();
            Answer {
                status: parts.status,
                headers: parts.headers,
                body,
            }
        });
        if let Some(panic) = LAST_PANIC.with(|last| last.borrow_mut().take()) {
            panic!("the server panicked: {panic}");
        }
        answer
    }

    /// `/metrics` as the admin listener answers it.
    fn metrics(&self) -> String {
        let request = Request::get("/metrics")
            .header(header::HOST, ADMIN_LISTENER)
            .header(header::AUTHORIZATION, format!("Bearer {ADMIN_TOKEN}"))
            .body(Body::empty())
            .unwrap();
        self.runtime.block_on(async {
            let response = self.admin.clone().oneshot(request).await.unwrap();
            assert_eq!(response.status(), StatusCode::OK);
            let body = axum::body::to_bytes(response.into_body(), usize::MAX)
                .await
                .unwrap();
            String::from_utf8(body.to_vec()).unwrap()
        })
    }

    fn signature(&self, timestamp: &str, body: &[u8]) -> String {
        sign::sign(&self.app_id, &self.app_secret, timestamp, body)
    }

    /// A POST with correct Appid, Timestamp and Sign over `body`.
    fn signed(&self, endpoint: &str, body: &[u8]) -> Request<Body> {
        let timestamp = unix_now().to_string();
        Request::post(format!("/ccpayment/v1/{endpoint}"))
            .header("Appid", &self.app_id)
            .header("Timestamp", &timestamp)
            .header("Sign", self.signature(&timestamp, body))
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_vec()))
            .unwrap()
    }

    /// Checks that `answer` is a well-formed v1 envelope that leaks nothing,
    /// and returns its code.
    fn envelope(&self, answer: &Answer) -> Code {
        let text = String::from_utf8_lossy(&answer.body);
        for secret in [&self.app_secret, &self.master_key_hex] {
            assert!(!text.contains(secret.as_str()), "a secret leaked: {text}");
        }
        let content_type = answer.headers.get(header::CONTENT_TYPE);
        assert!(
            content_type.is_some_and(|v| v.as_bytes().starts_with(b"application/json")),
            "content type {content_type:?}: {text}"
        );
        let json: Value = serde_json::from_slice(&answer.body)
            .unwrap_or_else(|err| panic!("not JSON ({err}): {text}"));
        let number = json["code"].as_u64().unwrap_or_else(|| panic!("{text}"));
        let code = Code::ALL
            .into_iter()
            .find(|c| u64::from(c.number()) == number)
            .unwrap_or_else(|| panic!("code {number} is not in the table: {text}"));
        assert_ne!(code, Code::ServiceError, "an internal error: {text}");
        let msg = json["msg"].as_str().unwrap_or_else(|| panic!("{text}"));
        assert!(
            !msg.trim().is_empty()
                && msg.chars().count() <= MSG_CHARS_MAX
                && !msg.chars().any(char::is_control),
            "msg is not a short sentence: {text}"
        );
        if code == Code::Success {
            assert!(json.get("data").is_some(), "{text}");
        } else {
            assert!(json.get("data").is_none(), "errors carry no data: {text}");
            assert_eq!(json["reason"].as_str(), code.reason(), "{text}");
        }
        let expected_status = StatusCode::from_u16(code.http_status()).unwrap();
        let method_not_allowed =
            code == Code::NotFound && answer.status == StatusCode::METHOD_NOT_ALLOWED;
        assert!(
            answer.status == expected_status || method_not_allowed,
            "HTTP {} with {text}",
            answer.status
        );
        code
    }

    /// Once the request is authenticated every answer is signed with the merchant's secret.
    fn assert_signed(&self, answer: &Answer) {
        let header = |name: &str| {
            answer
                .headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_else(|| panic!("no {name} header"))
        };
        assert_eq!(header("appid"), self.app_id);
        assert!(
            sign::verify(
                &self.app_id,
                &self.app_secret,
                header("timestamp"),
                &answer.body,
                header("sign"),
            ),
            "the answer's signature does not verify"
        );
    }

    /// After whatever came before, a correct request still gets its answer.
    fn assert_still_serves(&self) {
        let answer = self.send(self.signed("assets", b"{}"));
        assert_eq!(self.envelope(&answer), Code::Success);
        self.assert_signed(&answer);
    }

    /// Ids and words the parsers look for, so that generated bodies also get
    /// past the first checks into the handlers.
    fn meaningful_strings(&self) -> Vec<String> {
        let mut strings: Vec<String> = ["", " ", "0", "1", "-1", "0.1", "1e3", "USD", "EUR"]
            .into_iter()
            .chain(["All Result", "Failed", "All Type", "API Deposit", "Refund"])
            .chain(["9558861", "1000000000000000000000000000000000000000.5"])
            .map(str::to_owned)
            .collect();
        for coin in self.registry.coins() {
            strings.push(coin.id.as_str().to_owned());
            strings.push(coin.symbol.clone());
            for token in &coin.tokens {
                strings.push(token.id.as_str().to_owned());
                strings.push(token.contract.clone());
            }
        }
        strings.extend(self.registry.chains().map(|c| c.code.as_str().to_owned()));
        strings
    }
}

/// `serve`'s state (through the same builder), with the real clock and no
/// cache, so every request reads the store.
async fn app_state(store: SqliteStore, registry: Registry) -> AppState {
    let store = Arc::new(CachingStore::new(store, Duration::ZERO));
    let parts = Parts {
        registry,
        prices: Arc::new(StaticPrices::new(PriceTable::builtin())),
        fiat_rates: BTreeMap::from([("USD".to_owned(), Decimal::parse("1").unwrap())]),
        evm: BTreeMap::new(),
        address_quota: 1_000,
        swap: ccgate_engine::swaps::SwapSettings::default(),
    };
    let config = ServerConfig {
        // `oneshot` requests carry no source address, so nothing to limit.
        rate_limit_per_sec: None,
        ..ServerConfig::default()
    };
    let engine = build_services(store, parts).await.unwrap().services;
    AppState::new(Services::new(engine, Arc::new(SystemClock), config))
}

/// Every documented v1 endpoint with its request fields and their JSON types,
/// read from the OpenAPI document, so a new endpoint or field is covered here
/// without editing this file.
fn documented_requests() -> Vec<(String, Vec<(String, Value)>)> {
    let document = ccgate_server::openapi::document("http://127.0.0.1");
    ccgate_server::openapi::documented_endpoints()
        .into_iter()
        .map(|endpoint| {
            let schema = &document["paths"][format!("/ccpayment/v1/{endpoint}")]["post"]
                ["requestBody"]["content"]["application/json"]["schema"];
            let fields = schema["properties"]
                .as_object()
                .unwrap()
                .iter()
                .map(|(name, field)| (name.clone(), field.clone()))
                .collect();
            (endpoint.to_owned(), fields)
        })
        .collect()
}

fn json_value(strings: Vec<String>) -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        any::<String>().prop_map(Value::String),
        proptest::sample::select(strings).prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            proptest::collection::btree_map(any::<String>(), inner, 0..6)
                .prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    })
}

/// Bodies that are almost never JSON, and bodies made of JSON's own
/// punctuation, which are.
fn arbitrary_body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..2048),
        "[{}\\[\\]\":,0-9a-z\\\\ .eE+-]{0,256}".prop_map(String::into_bytes),
    ]
}

/// Every API answer is counted under its endpoint and the code it carries,
/// in either dialect; a wrong method is refused before any endpoint and not
/// counted as one of its calls.
#[test]
fn api_answers_are_counted_by_endpoint_and_code_in_both_dialects() {
    let gateway = Gateway::start();
    let ok = gateway.send(gateway.signed("assets", b"{}"));
    assert_eq!(gateway.envelope(&ok), Code::Success);
    let mut forged = gateway.signed("assets", b"{}");
    forged
        .headers_mut()
        .insert("Sign", HeaderValue::from_static("00"));
    let refused = gateway.envelope(&gateway.send(forged));
    let v2_ok = gateway.send(gateway.signed_v2("getAppCoinAssetList", b"{}"));
    assert_eq!(gateway.v2_envelope(&v2_ok), V2Code::Success);
    let v2_bad = gateway.send(gateway.signed_v2("getAppCoinAssetList", b"[1]"));
    let v2_refused = gateway.v2_envelope(&v2_bad);
    let wrong_method = gateway.send(
        Request::get("/ccpayment/v1/assets")
            .body(Body::empty())
            .unwrap(),
    );
    assert_eq!(wrong_method.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(wrong_method.headers.get(header::ALLOW).unwrap(), "POST");

    let metrics = gateway.metrics();
    let v2 = "/ccpayment/v2/getAppCoinAssetList";
    for line in [
        "ccgate_v1_requests_total{endpoint=\"/ccpayment/v1/assets\",code=\"10000\"} 1".to_owned(),
        format!(
            "ccgate_v1_requests_total{{endpoint=\"/ccpayment/v1/assets\",code=\"{}\"}} 1",
            refused.number()
        ),
        "ccgate_v1_request_seconds_count{endpoint=\"/ccpayment/v1/assets\"} 2".to_owned(),
        format!("ccgate_v1_requests_total{{endpoint=\"{v2}\",code=\"10000\"}} 1"),
        format!(
            "ccgate_v1_requests_total{{endpoint=\"{v2}\",code=\"{}\"}} 1",
            v2_refused.number()
        ),
    ] {
        assert!(metrics.contains(&line), "{line} missing from\n{metrics}");
    }
}

#[test]
fn arbitrary_bytes_get_an_envelope_from_every_endpoint() {
    let gateway = Gateway::start();
    let endpoints = ccgate_server::openapi::documented_endpoints();
    runner()
        .run(
            &(proptest::sample::select(endpoints), arbitrary_body()),
            |(endpoint, body)| {
                let answer = gateway.send(gateway.signed(endpoint, &body));
                let code = gateway.envelope(&answer);
                gateway.assert_signed(&answer);
                let is_object = std::str::from_utf8(&body).is_ok_and(|text| {
                    text.trim().is_empty()
                        || matches!(serde_json::from_str(text), Ok(Value::Object(_)))
                });
                if !is_object {
                    prop_assert_eq!(code, Code::InvalidJson);
                }
                Ok(())
            },
        )
        .unwrap();
    gateway.assert_still_serves();
}

#[test]
fn arbitrary_json_objects_get_an_envelope_from_every_endpoint() {
    let gateway = Gateway::start();
    let requests = documented_requests();
    let strings = gateway.meaningful_strings();
    let request = proptest::sample::select(requests).prop_flat_map(move |(endpoint, fields)| {
        let names: Vec<String> = fields
            .into_iter()
            .map(|(name, _)| name)
            .chain(LEGACY_ALIASES.map(str::to_owned))
            .collect();
        let key = prop_oneof![
            3 => proptest::sample::select(names),
            1 => any::<String>(),
        ];
        let fields = proptest::collection::btree_map(key, json_value(strings.clone()), 0..10);
        (Just(endpoint), fields)
    });
    runner()
        .run(&request, |(endpoint, fields)| {
            let body = serde_json::to_vec(&Value::Object(fields.into_iter().collect())).unwrap();
            let answer = gateway.send(gateway.signed(&endpoint, &body));
            let code = gateway.envelope(&answer);
            gateway.assert_signed(&answer);
            prop_assert_ne!(code, Code::InvalidJson, "a JSON object is valid JSON");
            Ok(())
        })
        .unwrap();
    gateway.assert_still_serves();
}

/// The names v2 requests carry, for objects whose keys are worth guessing.
const V2_FIELDS: [&str; 24] = [
    "coinId",
    "coinIds",
    "chain",
    "chains",
    "address",
    "memo",
    "amount",
    "orderId",
    "price",
    "fiatId",
    "fiatSymbol",
    "expiredAt",
    "notifyUrl",
    "returnUrl",
    "referenceId",
    "recordId",
    "recordIds",
    "nextId",
    "startTimestamp",
    "endTimestamp",
    "cwalletUserId",
    "cwalletUser",
    "merchantPayNetworkFee",
    "networkFeeInquiryID",
];

impl Gateway {
    /// A v2 POST with correct Appid, Timestamp and HMAC Sign over `body`.
    fn signed_v2(&self, endpoint: &str, body: &[u8]) -> Request<Body> {
        let timestamp = unix_now().to_string();
        let sign = ccgate_api::v2::sign::sign(&self.app_id, &self.app_secret, &timestamp, body);
        Request::post(format!("/ccpayment/v2/{endpoint}"))
            .header("Appid", &self.app_id)
            .header("Timestamp", &timestamp)
            .header("Sign", sign)
            .body(Body::from(body.to_vec()))
            .unwrap()
    }

    /// Checks that `answer` is a well-formed v2 envelope that leaks nothing
    /// (HTTP 200, a code of the table other than Internal, a short sentence,
    /// `data` an object), and returns the code.
    fn v2_envelope(&self, answer: &Answer) -> V2Code {
        let text = String::from_utf8_lossy(&answer.body);
        for secret in [&self.app_secret, &self.master_key_hex] {
            assert!(!text.contains(secret.as_str()), "a secret leaked: {text}");
        }
        assert_eq!(answer.status, StatusCode::OK, "{text}");
        let json: Value = serde_json::from_slice(&answer.body)
            .unwrap_or_else(|err| panic!("not JSON ({err}): {text}"));
        let number = json["code"].as_u64().unwrap_or_else(|| panic!("{text}"));
        let code = V2Code::ALL
            .into_iter()
            .find(|c| u64::from(c.number()) == number)
            .unwrap_or_else(|| panic!("code {number} is not in the v2 table: {text}"));
        assert_ne!(code, V2Code::Internal, "an internal error: {text}");
        let msg = json["msg"].as_str().unwrap_or_else(|| panic!("{text}"));
        assert!(
            !msg.trim().is_empty() && msg.chars().count() <= MSG_CHARS_MAX,
            "msg is not a short sentence: {text}"
        );
        assert!(json["data"].is_object(), "data is not an object: {text}");
        assert!(
            answer.headers.get("sign").is_none(),
            "v2 answers are unsigned"
        );
        code
    }
}

#[test]
fn arbitrary_bytes_and_objects_get_a_v2_envelope_from_every_v2_endpoint() {
    let gateway = Gateway::start();
    let endpoints: Vec<&str> = ccgate_server::v2::routes()
        .into_iter()
        .map(|(endpoint, _)| endpoint)
        .collect();
    let strings = gateway.meaningful_strings();
    let key = prop_oneof![
        3 => proptest::sample::select(V2_FIELDS.map(str::to_owned).to_vec()),
        1 => any::<String>(),
    ];
    let object =
        proptest::collection::btree_map(key, json_value(strings), 0..10).prop_map(|fields| {
            serde_json::to_vec(&Value::Object(fields.into_iter().collect())).unwrap()
        });
    let body = prop_oneof![arbitrary_body(), object];
    runner()
        .run(
            &(proptest::sample::select(endpoints), body),
            |(endpoint, body)| {
                let answer = gateway.send(gateway.signed_v2(endpoint, &body));
                let code = gateway.v2_envelope(&answer);
                let is_object = std::str::from_utf8(&body).is_ok_and(|text| {
                    text.trim().is_empty()
                        || matches!(serde_json::from_str(text), Ok(Value::Object(_)))
                        || matches!(serde_json::from_str(text), Ok(Value::Array(a)) if a.is_empty())
                });
                if !is_object {
                    prop_assert_eq!(code, V2Code::InvalidArgument);
                }
                Ok(())
            },
        )
        .unwrap();
    gateway.assert_still_serves();
}

/// Names that are aliases of each other: the parsers take the first one
/// provided, so a spoiled alias only counts once its partner is absent, and
/// the message names the current name.
const ALIASES: [[&str; 2]; 5] = [
    ["coin_id", "token_id"],
    ["product_price", "amount"],
    ["value", "amount"],
    ["order_valid_period", "valid_timestamp"],
    ["denominated_currency", "fiat_currency"],
];

fn alias_partners(field: &str) -> Vec<&'static str> {
    ALIASES
        .into_iter()
        .filter(|pair| pair.contains(&field))
        .flatten()
        .filter(|name| *name != field)
        .collect()
}

/// A value every documented field accepts, so that a body of them all fails
/// only on the one field a test spoils.
fn acceptable_value(field: &str, schema: &Value) -> Value {
    match (field, schema["type"].as_str()) {
        ("token_id", _) => json!("0912e09a-d8e2-41d7-a0bc-a25530892988"),
        ("coin_id", _) => json!("8e5741cf-6e51-4892-9d04-3d40e1dd0128"),
        ("chain", _) => json!("TRX"),
        ("denominated_currency", _) => json!("USD"),
        ("webhook_result", _) => json!("All Result"),
        ("transaction_type", _) => json!("All Type"),
        ("notify_url" | "return_url", _) => json!("https://shop.example/hook"),
        ("start_timestamp", _) => json!(unix_now() - 600),
        ("end_timestamp", _) => json!(unix_now() - 60),
        (_, Some("integer")) => json!(600),
        (_, Some("boolean")) => json!(false),
        (_, Some("array")) => json!(["order-1"]),
        // Decimal strings carry a pattern; plain strings need only be short.
        (_, _) if schema.get("pattern").is_some() => json!("1.5"),
        (_, _) => json!("user-1"),
    }
}

/// Values of the wrong JSON type for a field documented as `kind`.
fn wrong_values(kind: &str) -> Vec<Value> {
    let mut wrong = vec![
        json!(1.5),
        json!([]),
        json!(["x"]),
        json!({}),
        json!({"a": 1}),
    ];
    match kind {
        "string" => wrong.extend([json!(true), json!(false)]),
        "integer" => wrong.extend([
            json!(true),
            json!(-1),
            json!("abc"),
            json!("-5"),
            json!("1.5"),
            // Past u64, so only representable as a float.
            json!(1e20),
        ]),
        "boolean" => wrong.extend([json!("yes"), json!("true"), json!(1)]),
        "array" => {
            return vec![
                json!("order-1"),
                json!(7),
                json!(true),
                json!({}),
                json!([1]),
                json!([null]),
                json!([["a"]]),
                json!([{}]),
                // One more id than bill/info takes.
                Value::Array(vec![json!("order-1"); 101]),
            ];
        }
        other => panic!("no wrong values for {other}"),
    }
    wrong
}

#[test]
fn a_wrong_type_in_any_documented_field_is_param_invalid_and_named() {
    let gateway = Gateway::start();
    let mut checked = 0;
    for (endpoint, fields) in documented_requests() {
        let valid: Map<String, Value> = fields
            .iter()
            .map(|(name, schema)| (name.clone(), acceptable_value(name, schema)))
            .collect();
        for (field, schema) in &fields {
            let kind = schema["type"].as_str().unwrap();
            for wrong in wrong_values(kind) {
                let mut body = valid.clone();
                for partner in alias_partners(field) {
                    body.remove(partner);
                }
                body.insert(field.clone(), wrong.clone());
                let body = serde_json::to_vec(&body).unwrap();
                let answer = gateway.send(gateway.signed(&endpoint, &body));
                let code = gateway.envelope(&answer);
                gateway.assert_signed(&answer);
                let text = String::from_utf8_lossy(&answer.body);
                assert_eq!(
                    code,
                    Code::ParamInvalid,
                    "{endpoint} with {field} = {wrong}: {text}"
                );
                let named = std::iter::once(field.as_str())
                    .chain(alias_partners(field))
                    .any(|name| text.contains(name));
                assert!(
                    named,
                    "{endpoint} with {field} = {wrong}: the message should name the field: {text}"
                );
                checked += 1;
            }
        }
    }
    assert!(checked > 200, "only {checked} cases");
    gateway.assert_still_serves();
}

/// How one of the three signature headers is sent.
#[derive(Debug, Clone)]
enum HeaderForm {
    Absent,
    Empty,
    Correct,
    /// A value that can never be the right one.
    Wrong(Vec<u8>),
    /// The header twice; only the first counts.
    CorrectThenWrong(Vec<u8>),
    WrongThenCorrect(Vec<u8>),
}

impl HeaderForm {
    /// The first value, which is the one the server reads.
    fn first_is(&self) -> Option<bool> {
        match self {
            HeaderForm::Absent | HeaderForm::Empty => None,
            HeaderForm::Correct | HeaderForm::CorrectThenWrong(_) => Some(true),
            HeaderForm::Wrong(_) | HeaderForm::WrongThenCorrect(_) => Some(false),
        }
    }

    fn values(&self, correct: &str) -> Vec<HeaderValue> {
        let value = |bytes: &[u8]| HeaderValue::from_bytes(bytes).unwrap();
        match self {
            HeaderForm::Absent => vec![],
            HeaderForm::Empty => vec![value(b"")],
            HeaderForm::Correct => vec![value(correct.as_bytes())],
            HeaderForm::Wrong(wrong) => vec![value(wrong)],
            HeaderForm::CorrectThenWrong(wrong) => vec![value(correct.as_bytes()), value(wrong)],
            HeaderForm::WrongThenCorrect(wrong) => vec![value(wrong), value(correct.as_bytes())],
        }
    }
}

/// Bytes a header value may hold (no control characters but tab), starting
/// with `prefix` so that they can never be the correct value.
fn wrong_header_bytes(prefix: &'static str) -> BoxedStrategy<Vec<u8>> {
    let byte = prop_oneof![Just(b'\t'), 0x20u8..0x7f, 0x80u8..=0xff];
    prop_oneof![
        proptest::collection::vec(byte, 0..64),
        proptest::collection::vec(0x20u8..0x7f, 8 * 1024..8 * 1024 + 1),
    ]
    .prop_map(move |tail| [prefix.as_bytes(), &tail].concat())
    .boxed()
}

fn header_form(wrong: BoxedStrategy<Vec<u8>>) -> impl Strategy<Value = HeaderForm> {
    prop_oneof![
        1 => Just(HeaderForm::Absent),
        1 => Just(HeaderForm::Empty),
        4 => Just(HeaderForm::Correct),
        2 => wrong.clone().prop_map(HeaderForm::Wrong),
        1 => wrong.clone().prop_map(HeaderForm::CorrectThenWrong),
        1 => wrong.prop_map(HeaderForm::WrongThenCorrect),
    ]
}

/// Timestamps that can never pass: not digits, too old, too far ahead, in
/// milliseconds, or absurdly long.
fn wrong_timestamp() -> BoxedStrategy<Vec<u8>> {
    let now = unix_now();
    prop_oneof![
        wrong_header_bytes("x"),
        (121i64..1_000_000).prop_map(move |age| (now - age).to_string().into_bytes()),
        (121i64..1_000_000).prop_map(move |ahead| (now + ahead).to_string().into_bytes()),
        Just((now * 1000).to_string().into_bytes()),
        Just(format!("-{now}").into_bytes()),
        Just("9".repeat(40).into_bytes()),
    ]
    .boxed()
}

#[test]
fn signature_headers_in_any_form_get_the_code_they_deserve() {
    let gateway = Gateway::start();
    let forms = (
        header_form(wrong_header_bytes("2")),
        header_form(wrong_timestamp()),
        header_form(wrong_header_bytes("g")),
    );
    runner()
        .run(&forms, |(app_id, timestamp, signature)| {
            let body = b"{}";
            let now = unix_now().to_string();
            let correct_sign = gateway.signature(&now, body);
            let mut request = Request::post("/ccpayment/v1/assets")
                .body(Body::from(&body[..]))
                .unwrap();
            let headers = request.headers_mut();
            for (name, form, correct) in [
                ("appid", &app_id, gateway.app_id.as_str()),
                ("timestamp", &timestamp, now.as_str()),
                ("sign", &signature, correct_sign.as_str()),
            ] {
                for value in form.values(correct) {
                    headers.append(HeaderName::from_static(name), value);
                }
            }
            let answer = gateway.send(request);
            let code = gateway.envelope(&answer);
            let expected = match (
                app_id.first_is(),
                timestamp.first_is(),
                signature.first_is(),
            ) {
                (None, _, _) | (_, None, _) | (_, _, None) => Code::HeaderMissing,
                (Some(false), _, _) => Code::AppIdNotFound,
                (Some(true), Some(false), _) => Code::TimestampExpired,
                (Some(true), Some(true), Some(false)) => Code::SignatureInvalid,
                (Some(true), Some(true), Some(true)) => Code::Success,
            };
            prop_assert_eq!(code, expected);
            // Only an authenticated request's answer is signed.
            if expected == Code::Success {
                gateway.assert_signed(&answer);
            } else {
                prop_assert!(answer.headers.get("sign").is_none(), "{:?}", code);
            }
            Ok(())
        })
        .unwrap();
    gateway.assert_still_serves();
}

#[test]
fn huge_deep_and_odd_bodies_get_their_code() {
    let gateway = Gateway::start();
    let limit = BODY_LIMIT_BYTES_DEFAULT;
    let deep = |depth: usize| format!("{{\"a\":{}{}}}", "[".repeat(depth), "]".repeat(depth));
    let wide = format!(
        "{{{}}}",
        (0..4000)
            .map(|i| format!("\"k{i}\":{i}"))
            .collect::<Vec<_>>()
            .join(",")
    );
    let long_string = |field: &str| format!("{{\"{field}\":\"{}\"}}", "é".repeat(limit / 2 - 20));
    let padded_to_limit = format!("{{}}{}", " ".repeat(limit - 2));
    let cases: Vec<(&str, &str, Vec<u8>, Code)> = vec![
        (
            "nested past the parser's depth",
            "assets",
            deep(30_000).into(),
            Code::InvalidJson,
        ),
        (
            "nested just within it",
            "assets",
            deep(120).into(),
            Code::Success,
        ),
        ("4000 keys", "assets", wide.into(), Code::Success),
        (
            "a 64 KiB coin id",
            "assets",
            long_string("coin_id").into(),
            Code::CoinNotFound,
        ),
        (
            "a 64 KiB user id",
            "payment/address/get",
            long_string("user_id").into(),
            Code::ParamInvalid,
        ),
        (
            "a 64 KiB order id",
            "bill/info",
            long_string("merchant_order_ids").into(),
            Code::ParamInvalid,
        ),
        (
            "a 10 000-digit number",
            "token/rate",
            format!("{{\"amount\":{}}}", "9".repeat(10_000)).into(),
            Code::InvalidJson,
        ),
        (
            "a 10 000-digit decimal",
            "token/rate",
            format!(
                "{{\"amount\":\"{}\",\"token_id\":\"0912e09a-d8e2-41d7-a0bc-a25530892988\"}}",
                "9".repeat(10_000)
            )
            .into(),
            Code::AmountInvalid,
        ),
        (
            "exactly the limit",
            "assets",
            padded_to_limit.clone().into(),
            Code::Success,
        ),
        (
            "one byte over",
            "assets",
            format!("{padded_to_limit} ").into(),
            Code::BodyTooLarge,
        ),
        (
            "a byte order mark",
            "assets",
            b"\xef\xbb\xbf{}".to_vec(),
            Code::InvalidJson,
        ),
        (
            "a lone surrogate",
            "assets",
            br#"{"coin_id":"\ud800"}"#.to_vec(),
            Code::InvalidJson,
        ),
        (
            "a NUL escape",
            "assets",
            br#"{"coin_id":"\u0000"}"#.to_vec(),
            Code::CoinNotFound,
        ),
        ("a raw NUL", "assets", b"{}\0".to_vec(), Code::InvalidJson),
        (
            "overlong UTF-8",
            "assets",
            b"{\"coin_id\":\"\xc0\xaf\"}".to_vec(),
            Code::InvalidJson,
        ),
        (
            "a surrogate in UTF-8",
            "assets",
            b"{\"coin_id\":\"\xed\xa0\x80\"}".to_vec(),
            Code::InvalidJson,
        ),
        (
            "duplicate keys",
            "check/user",
            br#"{"c_id":"1","c_id":["x"]}"#.to_vec(),
            Code::ParamInvalid,
        ),
        (
            "trailing garbage",
            "assets",
            b"{} {}".to_vec(),
            Code::InvalidJson,
        ),
        (
            "a top-level string",
            "assets",
            br#""{}""#.to_vec(),
            Code::InvalidJson,
        ),
        (
            "NaN",
            "token/rate",
            br#"{"amount":NaN}"#.to_vec(),
            Code::InvalidJson,
        ),
    ];
    for (case, endpoint, body, expected) in cases {
        let answer = gateway.send(gateway.signed(endpoint, &body));
        assert_eq!(
            gateway.envelope(&answer),
            expected,
            "{case}: {}",
            String::from_utf8_lossy(&answer.body)
        );
        // An oversized body is refused before the merchant is looked up.
        if expected != Code::BodyTooLarge {
            gateway.assert_signed(&answer);
        }
    }

    // A Content-Length that lies or is not a number: the body is counted as
    // it is read instead.
    let over = vec![b' '; limit + 1];
    for declared in ["1", "abc", "-1", "99999999999999999999999999"] {
        let mut request = gateway.signed("assets", &over);
        request
            .headers_mut()
            .insert(header::CONTENT_LENGTH, HeaderValue::from_static(declared));
        let answer = gateway.send(request);
        assert_eq!(
            gateway.envelope(&answer),
            Code::BodyTooLarge,
            "Content-Length {declared}"
        );
    }
    gateway.assert_still_serves();
}

#[test]
fn odd_methods_and_paths_get_the_not_found_envelope() {
    let gateway = Gateway::start();
    let methods = [
        "GET", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "CONNECT", "PROPFIND", "X-CUSTOM",
    ];
    let mut paths: Vec<String> = ccgate_server::openapi::documented_endpoints()
        .into_iter()
        .map(|endpoint| format!("/ccpayment/v1/{endpoint}"))
        .collect();
    paths.push("/healthz".to_owned());
    for path in &paths {
        for method in methods {
            let request = Request::builder()
                .method(Method::from_bytes(method.as_bytes()).unwrap())
                .uri(path.as_str())
                .body(Body::empty())
                .unwrap();
            let answer = gateway.send(request);
            if method == "GET" && path == "/healthz" {
                assert_eq!(answer.status, StatusCode::OK);
                continue;
            }
            assert_eq!(gateway.envelope(&answer), Code::NotFound, "{method} {path}");
            assert_eq!(
                answer.status,
                StatusCode::METHOD_NOT_ALLOWED,
                "{method} {path}"
            );
        }
    }
    let unknown = [
        "/".to_owned(),
        "/ccpayment/v1".to_owned(),
        "/ccpayment/v1/".to_owned(),
        "/ccpayment/v1/assets/".to_owned(),
        "/ccpayment/v1//assets".to_owned(),
        "/ccpayment/v1/ASSETS".to_owned(),
        "/ccpayment/v3/assets".to_owned(),
        "/ccpayment/v1/assets/../coin/all".to_owned(),
        "/ccpayment/v1/%00".to_owned(),
        "/ccpayment/v1/%ff%fe".to_owned(),
        format!("/{}", "a/".repeat(5_000)),
        format!("/ccpayment/v1/{}", "%41".repeat(10_000)),
    ];
    for path in unknown {
        let request = Request::post(path.as_str()).body(Body::from("{}")).unwrap();
        let answer = gateway.send(request);
        assert_eq!(
            gateway.envelope(&answer),
            Code::NotFound,
            "POST {}",
            &path[..path.len().min(60)]
        );
    }
    // Under v2's prefix, v2's envelope: 11000 with HTTP 404 (v2 spec §1.1).
    let request = Request::post("/ccpayment/v2/assets")
        .body(Body::from("{}"))
        .unwrap();
    let answer = gateway.send(request);
    assert_eq!(answer.status, StatusCode::NOT_FOUND);
    let v2: Value = serde_json::from_slice(&answer.body).unwrap();
    assert_eq!(
        (v2["code"].as_u64(), v2["data"].is_object()),
        (Some(11000), true)
    );
    runner()
        .run(&"/ccpayment/v1/[a-zA-Z0-9/%._~-]{0,80}", |path| {
            let request = Request::post(path.as_str()).body(Body::from("{}")).unwrap();
            let answer = gateway.send(request);
            let code = gateway.envelope(&answer);
            let known = paths.contains(&path);
            prop_assert_eq!(
                code,
                if known {
                    Code::HeaderMissing
                } else {
                    Code::NotFound
                }
            );
            Ok(())
        })
        .unwrap();
    gateway.assert_still_serves();
}
