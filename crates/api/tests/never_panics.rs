//! Nothing a client sends may crash the server: the request parsing and the
//! signature checks are total over arbitrary input.
#![allow(clippy::unwrap_used)]

use ccgate_api::assets::AssetsRequest;
use ccgate_api::request::Fields;
use ccgate_api::sign;
use proptest::prelude::*;

proptest! {
    #[test]
    fn any_body_parses_or_is_refused(body in proptest::collection::vec(any::<u8>(), 0..512)) {
        if let Ok(fields) = Fields::parse(&body) {
            let _ = AssetsRequest::from_fields(&fields);
        }
    }

    #[test]
    fn any_json_object_is_handled(text in r#"\{("[a-z_]{1,8}":(null|""|0|1|-1|"[^"\\]{0,8}"|\[\]|\{\}|true),?){0,4}\}"#) {
        if let Ok(fields) = Fields::parse(text.as_bytes()) {
            let _ = AssetsRequest::from_fields(&fields);
        }
    }

    #[test]
    fn any_headers_verify_or_not(timestamp in ".{0,24}", provided in ".{0,80}", body in proptest::collection::vec(any::<u8>(), 0..64)) {
        let _ = sign::check_timestamp(&timestamp, 1_700_000_000);
        prop_assert!(!sign::verify("app", "secret", &timestamp, &body, &provided) || provided.trim().len() == 64);
    }
}
