//! v2's `Sign = lower-hex(HMAC-SHA256(key = AppSecret, Appid + Timestamp +
//! body))` over the exact bytes on the wire, for requests and webhooks alike
//! (v2 spec §1.3.1). The body is simply absent from the message when empty.

use hmac::{Hmac, Mac};

use crate::RequestError;

type HmacSha256 = Hmac<sha2::Sha256>;

fn digest(app_id: &str, app_secret: &str, timestamp: &str, body: &[u8]) -> [u8; 32] {
    let mut mac = match HmacSha256::new_from_slice(app_secret.as_bytes()) {
        Ok(mac) => mac,
        // HMAC hashes a long key and pads a short one: no length is refused.
        Err(_) => unreachable!("HMAC-SHA256 accepts keys of every length"),
    };
    mac.update(app_id.as_bytes());
    mac.update(timestamp.as_bytes());
    mac.update(body);
    mac.finalize().into_bytes().into()
}

/// The lower-case hex signature of one message.
pub fn sign(app_id: &str, app_secret: &str, timestamp: &str, body: &[u8]) -> String {
    crate::sign::lower_hex(&digest(app_id, app_secret, timestamp, body))
}

/// Whether `provided` (hex, either case) signs the message; compared in
/// constant time.
pub fn verify(
    app_id: &str,
    app_secret: &str,
    timestamp: &str,
    body: &[u8],
    provided: &str,
) -> bool {
    crate::sign::digest_matches(&digest(app_id, app_secret, timestamp, body), provided)
}

/// Unix seconds within the window, as v1; a 13-digit value is read as
/// milliseconds for the window only (some v2 clients followed docs that said
/// milliseconds; the signature still covers the header as sent).
pub fn check_timestamp(header: &str, now_unix_secs: i64) -> Result<i64, RequestError> {
    let header = header.trim();
    if header.len() == 13 && header.bytes().all(|b| b.is_ascii_digit()) {
        let millis: i64 = header
            .parse()
            .map_err(|_| RequestError::TimestampNotANumber)?;
        return crate::sign::check_timestamp(&millis.div_euclid(1000).to_string(), now_unix_secs);
    }
    crate::sign::check_timestamp(header, now_unix_secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// HMAC-SHA256 test case 2 of RFC 4231: key "Jefe", data "what do ya want
    /// for nothing?", split here as Appid + Timestamp + body.
    #[test]
    fn matches_rfc_4231() {
        assert_eq!(
            sign("what do ya", " want ", b"for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    fn sign(app_id: &str, timestamp: &str, body: &[u8]) -> String {
        super::sign(app_id, "Jefe", timestamp, body)
    }

    #[test]
    fn an_empty_body_signs_appid_and_timestamp_only_and_tampering_fails() {
        let empty = sign("app", "1700000000", b"");
        assert_eq!(empty, sign("app1700000000", "", b""));
        assert!(verify("app", "Jefe", "1700000000", b"", &empty));
        assert!(verify(
            "app",
            "Jefe",
            "1700000000",
            b"",
            &empty.to_uppercase()
        ));
        assert!(!verify("app", "Jefe", "1700000000", b"{}", &empty));
        assert!(!verify("app", "Jefe", "1700000001", b"", &empty));
        assert!(!verify("app", "jefe", "1700000000", b"", &empty));
        assert!(!verify("app", "Jefe", "1700000000", b"", "zz"));
    }

    #[test]
    fn milliseconds_are_read_as_seconds_for_the_window() {
        assert_eq!(
            check_timestamp("1700000000123", 1_700_000_010),
            Ok(1_700_000_000)
        );
        assert!(check_timestamp("1700000000123", 1_700_000_500).is_err());
        assert_eq!(
            check_timestamp("1700000000", 1_700_000_000),
            Ok(1_700_000_000)
        );
        assert_eq!(
            check_timestamp("17e8", 1_700_000_000),
            Err(RequestError::TimestampNotANumber)
        );
    }
}
