//! Wire shapes pinned byte for byte: the signature vectors of `shared/spec`, the
//! documented `assets` answer, and every error envelope. To accept an intended
//! change of an envelope, run with `UPDATE_GOLDEN=1` and review the diff.
#![allow(clippy::unwrap_used)]

use ccgate_api::assets::{AssetBalance, AssetsData};
use ccgate_api::{Code, error_body, sign, success_body};
use serde_json::Value;

const VECTORS: &str = include_str!("data/vectors.json");

#[test]
fn every_signature_vector_passes() {
    let doc: Value = serde_json::from_str(VECTORS).unwrap();
    let vectors = doc["vectors"].as_array().unwrap();
    assert!(vectors.len() >= 7);
    for v in vectors {
        let field = |k: &str| v[k].as_str().unwrap();
        let (app_id, secret, ts, body) = (
            field("app_id"),
            field("app_secret"),
            field("timestamp"),
            field("body"),
        );
        assert_eq!(
            sign::sign(app_id, secret, ts, body.as_bytes()),
            field("sign"),
            "{}",
            field("note")
        );
        assert!(sign::verify(
            app_id,
            secret,
            ts,
            body.as_bytes(),
            field("sign")
        ));
        assert!(sign::verify(
            app_id,
            secret,
            ts,
            body.as_bytes(),
            &field("sign").to_uppercase()
        ));
        assert!(!sign::verify(
            app_id,
            secret,
            ts,
            format!("{body} ").as_bytes(),
            field("sign")
        ));
    }
}

/// The exact body of the seed page's example, as the response vector signs it.
#[test]
fn assets_answer_matches_the_documented_bytes() {
    let data = AssetsData {
        list: vec![AssetBalance {
            coin_id: "8e5741cf-6e51-4892-9d04-3d40e1dd0128".into(),
            crypto: "USDT".into(),
            name: "Tether USD".into(),
            value: "127.9514".into(),
            price: "1".into(),
            logo: "https://resource.cwallet.com/token/icon/usdt.png".into(),
        }],
    };
    let body = success_body(&data).unwrap();
    let doc: Value = serde_json::from_str(VECTORS).unwrap();
    let response_vector = doc["vectors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["body"].as_str().unwrap().starts_with("{\"code\":10000"))
        .unwrap();
    assert_eq!(
        std::str::from_utf8(&body).unwrap(),
        response_vector["body"].as_str().unwrap()
    );
    let empty = success_body(&AssetsData { list: vec![] }).unwrap();
    assert_eq!(
        empty,
        br#"{"code":10000,"msg":"success","data":{"list":[]}}"#
    );
}

#[test]
fn error_envelopes_match_golden_file() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/error_envelopes.txt"
    );
    let mut actual = String::new();
    for code in Code::ALL {
        if code == Code::Success {
            continue;
        }
        actual.push_str(&format!(
            "{} {}\n",
            code.http_status(),
            String::from_utf8(error_body(code, code.default_msg())).unwrap()
        ));
    }
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(path, &actual).unwrap();
    }
    let expected = std::fs::read_to_string(path).unwrap();
    assert_eq!(
        actual, expected,
        "error envelopes changed; rerun with UPDATE_GOLDEN=1 if intended"
    );
}

#[test]
fn known_ccpayment_errors_keep_their_documented_bytes() {
    assert_eq!(
        error_body(Code::ToUserNotFound, Code::ToUserNotFound.default_msg()),
        br#"{"code":224083,"msg":"users do not exist","reason":"ToUserNotFound"}"#
    );
    assert_eq!(
        error_body(Code::ServiceError, "service err, please try again"),
        br#"{"code":224066,"msg":"service err, please try again","reason":"ServiceError"}"#
    );
}

#[test]
fn messages_are_escaped_compactly() {
    let body = error_body(Code::ParamInvalid, "coin_id \"x\" / café");
    assert_eq!(
        body,
        "{\"code\":220006,\"msg\":\"coin_id \\\"x\\\" / café\",\"reason\":\"ParamInvalid\"}"
            .as_bytes()
    );
}
