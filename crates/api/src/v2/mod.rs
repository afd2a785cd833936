//! The CCPayment v2 dialect (`../shared/spec/ccpayment-v2.md`): its code
//! table, HMAC signature, envelope, request leniencies and the request and
//! response types of each endpoint. Same rules as v1's modules: no IO, no
//! clock, every byte pinned by golden tests.
//!
//! v2 differs from v1 on the wire in ways that matter to parsing: camelCase
//! names, numeric `coinId`/`fiatId` (numbers or digit strings), an `[]` body
//! meaning "no parameters" (PHP's `json_encode([])`), and `data` always an
//! object — also on errors, so a client reading `data.x` never meets `null`.

pub mod addresses;
pub mod batch_withdrawals;
pub mod code;
pub mod coins;
pub mod deposits;
pub mod fees;
pub mod orders;
pub mod rescan;
pub mod sign;
pub mod swaps;
pub mod user_withdrawals;
pub mod wallet;
pub mod webhooks;
pub mod withdrawals;

use serde::Serialize;

use crate::RequestError;
use crate::request::Fields;
pub use code::V2Code;

/// Where the v2 endpoints live: `POST /ccpayment/v2/<name>`.
pub const PATH_PREFIX: &str = "/ccpayment/v2/";

#[derive(Serialize)]
struct Failure<'a> {
    code: u32,
    msg: &'a str,
    reason: &'static str,
    data: Empty,
}

/// `{}`: what `data` is when there is nothing to say.
#[derive(Serialize, Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Empty {}

/// `{"code":N,"msg":"…","reason":"Tip","data":{}}`. `reason` is CCPayment's
/// tip name; the WooCommerce plugin shows it after `msg` to the shopper.
pub fn error_body(code: V2Code, msg: &str) -> Vec<u8> {
    let failure = Failure {
        code: code.number(),
        msg,
        reason: code.tip(),
        data: Empty {},
    };
    // Integers and strings always serialise; the fallback keeps this total.
    serde_json::to_vec(&failure).unwrap_or_else(|_| {
        format!(
            "{{\"code\":{},\"msg\":\"{}\",\"reason\":\"Internal\",\"data\":{{}}}}",
            V2Code::Internal.number(),
            V2Code::Internal.default_msg()
        )
        .into_bytes()
    })
}

/// The fields of a v2 body: v1's leniencies plus `[]` for "no parameters".
pub fn fields(body: &[u8]) -> Result<Fields, RequestError> {
    match Fields::parse(body) {
        Err(RequestError::InvalidJson(_))
            if serde_json::from_slice::<Vec<serde_json::Value>>(body)
                .is_ok_and(|items| items.is_empty()) =>
        {
            Ok(Fields::default())
        }
        parsed => parsed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_no_parameter_body_a_client_sends_is_no_fields() {
        for body in ["", "{}", "[]", " [ ] ", "{ }"] {
            let parsed = fields(body.as_bytes()).unwrap_or_else(|e| panic!("{body:?}: {e}"));
            assert!(parsed.get("coinId").is_none());
        }
        assert!(fields(b"[1]").is_err());
        assert!(fields(b"\"x\"").is_err());
    }

    #[test]
    fn errors_carry_an_object_for_data() {
        assert_eq!(
            String::from_utf8(error_body(
                V2Code::VerifySignFailed,
                "the Sign header does not match"
            ))
            .unwrap_or_default(),
            r#"{"code":11005,"msg":"the Sign header does not match","reason":"VerifySignFailed","data":{}}"#
        );
    }
}
