//! `Sign = hex(SHA256(Appid + AppSecret + Timestamp + Body))` over the exact bytes
//! on the wire, for requests, responses and webhooks alike (spec §1.3).

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::RequestError;

/// How far a request's Timestamp may be from the server's clock, either way.
pub const TIMESTAMP_WINDOW_SECS: i64 = 120;

fn digest(app_id: &str, app_secret: &str, timestamp: &str, body: &[u8]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(app_id.as_bytes());
    hasher.update(app_secret.as_bytes());
    hasher.update(timestamp.as_bytes());
    hasher.update(body);
    hasher.finalize().into()
}

/// The lower-case hex signature of one message.
pub fn sign(app_id: &str, app_secret: &str, timestamp: &str, body: &[u8]) -> String {
    lower_hex(&digest(app_id, app_secret, timestamp, body))
}

/// `digest` in lower-case hex, written at once (`hex::encode` pushes a
/// character at a time: a measurable share of signing an answer).
pub(crate) fn lower_hex(digest: &[u8; 32]) -> String {
    let mut text = [0u8; 64];
    // Infallible: the buffer is twice the digest's length, and hex is ASCII.
    let _ = hex::encode_to_slice(digest, &mut text);
    String::from_utf8_lossy(&text).into_owned()
}

/// Whether `provided` (hex, either case) is the signature of the message. The
/// digests are compared in constant time so a forger learns nothing from timing.
pub fn verify(
    app_id: &str,
    app_secret: &str,
    timestamp: &str,
    body: &[u8],
    provided: &str,
) -> bool {
    digest_matches(&digest(app_id, app_secret, timestamp, body), provided)
}

/// Whether `provided` (hex, either case, surrounding blanks ignored) is
/// `digest`. Compared in constant time so a forger learns nothing from
/// timing; both dialects' signatures are checked here.
pub(crate) fn digest_matches(digest: &[u8; 32], provided: &str) -> bool {
    let mut claimed = [0u8; 32];
    if hex::decode_to_slice(provided.trim(), &mut claimed).is_err() {
        return false;
    }
    digest.ct_eq(&claimed).into()
}

/// Parses a Timestamp header (unix seconds, digits only) and checks it is within
/// [`TIMESTAMP_WINDOW_SECS`] of `now_unix_secs` in either direction.
pub fn check_timestamp(header: &str, now_unix_secs: i64) -> Result<i64, RequestError> {
    let header = header.trim();
    // Eighteen digits already reach the year 3e10; a longer header cannot be valid.
    if header.is_empty() || header.len() > 18 || !header.bytes().all(|b| b.is_ascii_digit()) {
        return Err(RequestError::TimestampNotANumber);
    }
    let timestamp: i64 = header
        .parse()
        .map_err(|_| RequestError::TimestampNotANumber)?;
    let skew_secs = timestamp.saturating_sub(now_unix_secs);
    if skew_secs.abs() > TIMESTAMP_WINDOW_SECS {
        return Err(RequestError::TimestampOutOfWindow {
            skew_secs,
            window_secs: TIMESTAMP_WINDOW_SECS,
        });
    }
    Ok(timestamp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verify_accepts_either_case_and_rejects_tampering() {
        let good = sign("app", "secret", "1700000000", b"{}");
        assert!(verify("app", "secret", "1700000000", b"{}", &good));
        assert!(verify(
            "app",
            "secret",
            "1700000000",
            b"{}",
            &good.to_uppercase()
        ));
        assert!(!verify("app", "secret", "1700000000", b"{ }", &good));
        assert!(!verify("app", "secret", "1700000001", b"{}", &good));
        assert!(!verify("app", "other", "1700000000", b"{}", &good));
        assert!(!verify("app", "secret", "1700000000", b"{}", &good[..63]));
        assert!(!verify("app", "secret", "1700000000", b"{}", "zz"));
        assert!(!verify("app", "secret", "1700000000", b"{}", ""));
    }

    #[test]
    fn timestamp_window_is_inclusive_both_ways() {
        let now = 1_700_000_000;
        assert_eq!(check_timestamp("1700000120", now), Ok(1_700_000_120));
        assert_eq!(check_timestamp("1699999880", now), Ok(1_699_999_880));
        assert!(matches!(
            check_timestamp("1700000121", now),
            Err(RequestError::TimestampOutOfWindow { skew_secs: 121, .. })
        ));
        assert!(matches!(
            check_timestamp("1699999879", now),
            Err(RequestError::TimestampOutOfWindow {
                skew_secs: -121,
                ..
            })
        ));
        for bad in [
            "",
            "abc",
            "-5",
            "+1700000000",
            "1.7e9",
            "99999999999999999999999",
        ] {
            assert_eq!(
                check_timestamp(bad, now),
                Err(RequestError::TimestampNotANumber),
                "{bad}"
            );
        }
    }
}
