//! The dashboard's TOTP second factor (RFC 6238: HMAC-SHA1, 6 digits,
//! 30-second steps; decisions §31). A user sets one up from its own
//! settings (the secret shown once, as text and as an `otpauth://` URI),
//! puts it in force with a code, and removes it with a code. Each accepted
//! code takes its step: the same code, or one of an earlier step, is
//! refused afterwards (replay). Time is the real clock, as sessions'.

use hmac::{Hmac, Mac};
use rand::Rng;
use secrecy::{ExposeSecret, SecretString};
use sha1::Sha1;
use subtle::ConstantTimeEq;

use super::{Actor, Console, ConsoleRefusal, Viewer, Visit, audit_row, refused};
use crate::EngineError;

/// Seconds per TOTP step (RFC 6238's default, what every app uses).
pub const TOTP_STEP_SECS: i64 = 30;
/// Steps either side of now whose codes are accepted: a phone's clock a
/// little off, or a code typed as it turned.
const TOTP_DRIFT_STEPS: i64 = 1;
/// Bytes of a secret: RFC 4226 recommends 160 bits.
const SECRET_BYTES: usize = 20;
const DIGITS_MODULUS: u32 = 1_000_000;
const ISSUER: &str = "ccgate";

/// Where a user's second factor stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecondFactor {
    Off,
    /// Set up, not yet confirmed with a code: not in force.
    SetUp,
    On,
}

/// A secret just set up, shown to the user this once.
#[derive(Debug)]
pub struct Enrolment {
    /// Base32, for typing into an authenticator app.
    pub secret: SecretString,
    /// `otpauth://totp/…`, for its QR code.
    pub uri: SecretString,
}

/// RFC 4648 base32 without padding, as authenticator apps take secrets.
fn base32(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = String::with_capacity(bytes.len().div_ceil(5) * 8);
    let (mut buffer, mut bits) = (0u32, 0u32);
    for &byte in bytes {
        buffer = (buffer << 8) | u32::from(byte);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(ALPHABET[((buffer >> bits) & 31) as usize]));
        }
    }
    if bits > 0 {
        out.push(char::from(ALPHABET[((buffer << (5 - bits)) & 31) as usize]));
    }
    out
}

/// The bytes of a base32 secret (case and spaces ignored); `None` if it is
/// not base32.
fn from_base32(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let (mut buffer, mut bits) = (0u32, 0u32);
    for c in text.chars().filter(|c| !c.is_whitespace() && *c != '=') {
        let value = match c.to_ascii_uppercase() {
            upper @ 'A'..='Z' => u32::from(upper) - u32::from('A'),
            digit @ '2'..='7' => u32::from(digit) - u32::from('2') + 26,
            _ => return None,
        };
        buffer = ((buffer << 5) | value) & 0xffff;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push(((buffer >> bits) & 0xff) as u8);
        }
    }
    Some(out)
}

/// The 6-digit code of `step` (RFC 4226's HOTP of the step counter).
fn code_at(key: &[u8], step: i64) -> Result<u32, EngineError> {
    let mut mac = Hmac::<Sha1>::new_from_slice(key)
        .map_err(|err| EngineError::Password(format!("TOTP key: {err}")))?;
    mac.update(&step.to_be_bytes());
    let hash = mac.finalize().into_bytes();
    let offset = usize::from(hash[hash.len() - 1] & 0x0f);
    let word = u32::from_be_bytes([
        hash[offset] & 0x7f,
        hash[offset + 1],
        hash[offset + 2],
        hash[offset + 3],
    ]);
    Ok(word % DIGITS_MODULUS)
}

/// The step of `now_ms` whose code `code` is, within the drift allowed;
/// `None` when no step's code matches. Every candidate is compared, in
/// constant time.
fn step_of(secret: &SecretString, code: &str, now_ms: i64) -> Result<Option<i64>, EngineError> {
    let code = code.trim();
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(None);
    }
    let key = from_base32(secret.expose_secret())
        .ok_or_else(|| EngineError::Password("a stored TOTP secret is not base32".to_owned()))?;
    let now_step = now_ms.div_euclid(1000).div_euclid(TOTP_STEP_SECS);
    let mut found = None;
    for step in now_step - TOTP_DRIFT_STEPS..=now_step + TOTP_DRIFT_STEPS {
        let expected = format!("{:06}", code_at(&key, step)?);
        if bool::from(expected.as_bytes().ct_eq(code.as_bytes())) {
            found = Some(step);
        }
    }
    Ok(found)
}

/// `text` percent-encoded but for RFC 3986's unreserved characters.
fn percent_encoded(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn wrong_code() -> EngineError {
    refused(ConsoleRefusal::SecondFactor(
        "the code is wrong, or was used already: wait for the next one".to_owned(),
    ))
}

impl Console {
    /// Where the viewer's own second factor stands.
    pub async fn second_factor(&self, viewer: &Viewer) -> Result<SecondFactor, EngineError> {
        Ok(match self.dashboard.console_totp(viewer.user_id).await? {
            None => SecondFactor::Off,
            Some(totp) if totp.enabled_at_ms.is_none() => SecondFactor::SetUp,
            Some(_) => SecondFactor::On,
        })
    }

    /// Sets up a new secret for the viewer (replacing one not confirmed),
    /// returned this once; refused while one is in force.
    pub async fn set_up_second_factor(
        &self,
        viewer: &Viewer,
        visit: Visit<'_>,
    ) -> Result<Enrolment, EngineError> {
        let bytes: [u8; SECRET_BYTES] = rand::rng().random();
        let secret = base32(&bytes);
        let uri = format!(
            "otpauth://totp/{ISSUER}:{}?secret={secret}&issuer={ISSUER}&algorithm=SHA1&digits=6&period={TOTP_STEP_SECS}",
            percent_encoded(&viewer.email)
        );
        let secret = SecretString::from(secret);
        let audit = audit_row(
            Actor::User(viewer),
            viewer.role.merchant(),
            "second factor set up",
            String::new(),
            visit,
        );
        if !self
            .dashboard
            .set_up_console_totp(viewer.user_id, &secret, visit.now_ms, &audit)
            .await?
        {
            return Err(refused(ConsoleRefusal::Invalid(
                "a second factor is in force already: remove it first".to_owned(),
            )));
        }
        Ok(Enrolment {
            secret,
            uri: SecretString::from(uri),
        })
    }

    /// Puts the viewer's set-up secret in force with one of its codes.
    pub async fn confirm_second_factor(
        &self,
        viewer: &Viewer,
        code: &str,
        visit: Visit<'_>,
    ) -> Result<(), EngineError> {
        let Some(totp) = self.dashboard.console_totp(viewer.user_id).await? else {
            return Err(refused(ConsoleRefusal::Invalid(
                "set up a second factor first".to_owned(),
            )));
        };
        if totp.enabled_at_ms.is_some() {
            return Err(refused(ConsoleRefusal::Invalid(
                "the second factor is in force already".to_owned(),
            )));
        }
        let step = step_of(&totp.secret, code, visit.now_ms)?.ok_or_else(wrong_code)?;
        let audit = audit_row(
            Actor::User(viewer),
            viewer.role.merchant(),
            "second factor enabled",
            String::new(),
            visit,
        );
        if !self
            .dashboard
            .take_console_totp_step(viewer.user_id, step, Some((visit.now_ms, &audit)))
            .await?
        {
            return Err(wrong_code());
        }
        Ok(())
    }

    /// Removes the viewer's second factor, given one of its codes (or, for
    /// one set up and never confirmed, without).
    pub async fn remove_second_factor(
        &self,
        viewer: &Viewer,
        code: &str,
        visit: Visit<'_>,
    ) -> Result<(), EngineError> {
        if self.second_factor(viewer).await? == SecondFactor::On {
            self.check_second_factor(viewer, code, visit.now_ms).await?;
        }
        let audit = audit_row(
            Actor::User(viewer),
            viewer.role.merchant(),
            "second factor removed",
            String::new(),
            visit,
        );
        Ok(self
            .dashboard
            .remove_console_totp(viewer.user_id, &audit)
            .await?)
    }

    /// Removes the second factor of the user `email` (the operator at the
    /// server's shell, for a lost authenticator); refused for an unknown
    /// e-mail.
    pub async fn reset_second_factor(
        &self,
        email: &str,
        visit: Visit<'_>,
    ) -> Result<(), EngineError> {
        let email = email.trim().to_lowercase();
        let Some(user) = self.store.console_user_by_email(&email).await? else {
            return Err(refused(ConsoleRefusal::Invalid(format!(
                "no dashboard user has the e-mail {email}"
            ))));
        };
        let audit = audit_row(
            Actor::Cli,
            user.role.merchant(),
            "second factor removed",
            format!("of {email}"),
            visit,
        );
        Ok(self.dashboard.remove_console_totp(user.id, &audit).await?)
    }

    /// Passes if `code` is a current code of the viewer's second factor in
    /// force, not used before; takes its step. Refused without one in force
    /// (decisions §31: money leaves the console only with a second factor).
    pub(crate) async fn check_second_factor(
        &self,
        viewer: &Viewer,
        code: &str,
        now_ms: i64,
    ) -> Result<(), EngineError> {
        let totp = match self.dashboard.console_totp(viewer.user_id).await? {
            Some(totp) if totp.enabled_at_ms.is_some() => totp,
            _ => {
                return Err(refused(ConsoleRefusal::SecondFactor(
                    "this needs a second factor: set one up on your settings page first".to_owned(),
                )));
            }
        };
        let step = step_of(&totp.secret, code, now_ms)?.ok_or_else(wrong_code)?;
        if self
            .dashboard
            .take_console_totp_step(viewer.user_id, step, None)
            .await?
        {
            Ok(())
        } else {
            Err(wrong_code())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 appendix B's SHA-1 secret, "12345678901234567890".
    const RFC_SECRET: &[u8] = b"12345678901234567890";

    #[test]
    fn codes_match_rfc_6238_test_vectors() {
        // Appendix B gives 8 digits; 6 are its last six.
        for (unix_secs, eight_digits) in [
            (59_i64, 94_287_082_u32),
            (1_111_111_109, 7_081_804),
            (1_111_111_111, 14_050_471),
            (1_234_567_890, 89_005_924),
            (2_000_000_000, 69_279_037),
            (20_000_000_000, 65_353_130),
        ] {
            let code = code_at(RFC_SECRET, unix_secs / TOTP_STEP_SECS).ok();
            assert_eq!(code, Some(eight_digits % DIGITS_MODULUS), "at {unix_secs}");
        }
    }

    #[test]
    fn base32_round_trips_and_matches_rfc_4648() {
        assert_eq!(base32(b"foobar"), "MZXW6YTBOI");
        assert_eq!(base32(b"f"), "MY");
        assert_eq!(from_base32("mzxw 6ytb oi").as_deref(), Some(&b"foobar"[..]));
        assert_eq!(from_base32("MZXW1"), None);
        let bytes: [u8; SECRET_BYTES] = rand::rng().random();
        assert_eq!(base32(&bytes).len(), 32);
        assert_eq!(from_base32(&base32(&bytes)).as_deref(), Some(&bytes[..]));
    }

    #[test]
    fn a_code_is_accepted_one_step_either_side_and_no_further() {
        let secret = SecretString::from(base32(RFC_SECRET));
        let now_ms = 1_111_111_111_000;
        let now_step = 1_111_111_111 / TOTP_STEP_SECS;
        for (offset, accepted) in [(-2, false), (-1, true), (0, true), (1, true), (2, false)] {
            let step = now_step + offset;
            let code = code_at(RFC_SECRET, step).map(|code| format!("{code:06}"));
            let found = code.and_then(|code| step_of(&secret, &code, now_ms));
            assert_eq!(
                found.ok().flatten(),
                accepted.then_some(step),
                "offset {offset}"
            );
        }
        for malformed in ["", "12345", "1234567", "12345a", "١٢٣٤٥٦"] {
            assert!(matches!(step_of(&secret, malformed, now_ms), Ok(None)));
        }
    }
}
