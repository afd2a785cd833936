//! Exact conversion of JSON number text to `Decimal`. Feeds write small prices in exponent form
//! (`1.234e-05`); going through f64 would turn them into a neighbouring binary fraction.

use ccgate_ledger::{Decimal, Precision};

use crate::PriceError;

/// Exponents with more digits are refused before any work: `1e99999` would otherwise ask for a
/// hundred thousand zeros, and no price a `Decimal` holds needs more than two digits here anyway.
const EXPONENT_DIGITS_MAX: usize = 4;

/// Digits of `u128::MAX`, the most a `Decimal` mantissa can have.
const MANTISSA_DIGITS_MAX: usize = 39;

/// Longest piece of feed text an error repeats; the rest of the answer stays out of logs.
const ECHO_CHARS_MAX: usize = 40;

/// The exact value of a non-negative JSON number (`int[.frac][(e|E)[+|-]digits]`). Leading zeros,
/// which JSON forbids, are tolerated since they do not change the value. A negative number, or
/// one with more than 30 decimal places or too large for a `Decimal`, is an error: rounding would
/// silently change the price.
pub fn decimal_from_json_number(text: &str) -> Result<Decimal, PriceError> {
    let error = |why: &str| PriceError::Parse(format!("{} {why}", echo(text)));
    let not_a_number = || error("is not a JSON number");
    if text.starts_with('-') {
        return Err(error("is negative"));
    }

    let (significand, exponent) = match text.split_once(['e', 'E']) {
        Some((significand, exponent)) => (significand, Some(exponent)),
        None => (text, None),
    };
    let (whole, fraction) = match significand.split_once('.') {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (significand, None),
    };
    if !is_digits(whole) || fraction.is_some_and(|f| !is_digits(f)) {
        return Err(not_a_number());
    }
    let fraction = fraction.unwrap_or_default();
    let exponent = match exponent {
        Some(exponent) => parse_exponent(exponent)
            .ok_or_else(not_a_number)?
            .ok_or_else(|| error("has an exponent out of range"))?,
        None => 0,
    };

    // value = digits × 10^shift, with the zeros that carry no information removed.
    let digits = format!("{whole}{fraction}");
    let significant = digits.trim_start_matches('0');
    let trimmed = significant.trim_end_matches('0');
    if trimmed.is_empty() {
        return Ok(Decimal::ZERO);
    }
    let dropped = i64::try_from(significant.len() - trimmed.len()).map_err(|_| not_a_number())?;
    let fraction_len = i64::try_from(fraction.len()).map_err(|_| not_a_number())?;
    let shift = exponent - fraction_len + dropped;

    let too_large = || error("is too large for an exact price");
    let plain = if shift >= 0 {
        let zeros = usize::try_from(shift).map_err(|_| too_large())?;
        if trimmed.len().saturating_add(zeros) > MANTISSA_DIGITS_MAX {
            return Err(too_large());
        }
        format!("{trimmed}{}", "0".repeat(zeros))
    } else {
        let places = usize::try_from(shift.unsigned_abs()).unwrap_or(usize::MAX);
        let places_max = usize::from(Precision::MAX.get());
        if places > places_max {
            return Err(error(&format!("has more than {places_max} decimal places")));
        }
        if trimmed.len() > MANTISSA_DIGITS_MAX {
            return Err(too_large());
        }
        match trimmed.len().checked_sub(places) {
            Some(whole_len) if whole_len > 0 => {
                format!("{}.{}", &trimmed[..whole_len], &trimmed[whole_len..])
            }
            _ => format!("0.{}{trimmed}", "0".repeat(places - trimmed.len())),
        }
    };
    Decimal::parse(&plain).map_err(|err| error(&format!("cannot be held exactly: {err}")))
}

/// `None` when the text is not an exponent at all, `Some(None)` when it is one but too large.
fn parse_exponent(text: &str) -> Option<Option<i64>> {
    let (negative, digits) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    if !is_digits(digits) {
        return None;
    }
    let digits = digits.trim_start_matches('0');
    if digits.len() > EXPONENT_DIGITS_MAX {
        return Some(None);
    }
    let magnitude = digits
        .bytes()
        .fold(0i64, |acc, digit| acc * 10 + i64::from(digit - b'0'));
    Some(Some(if negative { -magnitude } else { magnitude }))
}

/// ASCII-only on purpose: `char::is_numeric` would let other scripts' digits in.
fn is_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

fn echo(text: &str) -> String {
    let mut chars = text.chars();
    let head: String = chars.by_ref().take(ECHO_CHARS_MAX).collect();
    if chars.next().is_some() {
        format!("{head:?}…")
    } else {
        format!("{head:?}")
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    /// `expected` is the canonical decimal, or `None` when the text must be refused.
    fn check(text: &str, expected: Option<&str>) {
        let got = decimal_from_json_number(text);
        assert_eq!(
            got.as_ref().ok().map(Decimal::to_string).as_deref(),
            expected,
            "{text:?} gave {got:?}"
        );
    }

    #[test]
    fn plain_numbers() {
        check("0", Some("0"));
        check("1", Some("1"));
        check("1.0", Some("1"));
        check("96250.5", Some("96250.5"));
        check("1.0001", Some("1.0001"));
        check("0.00001234", Some("0.00001234"));
        check("100", Some("100"));
        check("0.000", Some("0"));
        check("01", Some("1"));
        check("00.50", Some("0.5"));
    }

    #[test]
    fn exponent_forms() {
        check("1e3", Some("1000"));
        check("1E+3", Some("1000"));
        check("1e+03", Some("1000"));
        check("1.234e-05", Some("0.00001234"));
        check("1.5e-3", Some("0.0015"));
        check("2.5E2", Some("250"));
        check("1.25e1", Some("12.5"));
        check("12.5e-1", Some("1.25"));
        check("123e-3", Some("0.123"));
        check("123e-2", Some("1.23"));
        check("0.000e0", Some("0"));
        check("0e9999", Some("0"));
        check("1e0", Some("1"));
        check("1e-0", Some("1"));
        check("1000e-3", Some("1"));
        check("0.01e2", Some("1"));
        check("1e0000000000000000000003", Some("1000"));
    }

    #[test]
    fn limits_of_decimal() {
        check("1e-30", Some("0.000000000000000000000000000001"));
        check("1e-31", None);
        check("1.5e-30", None);
        check("0.0000000000000000000000000000001", None);
        check("1e38", Some("100000000000000000000000000000000000000"));
        check("1e39", None);
        check(
            "340282366920938463463374607431768211455",
            Some("340282366920938463463374607431768211455"),
        );
        check("340282366920938463463374607431768211456", None);
        check(
            "3.4028236692093846346337460743176821145e38",
            Some("340282366920938463463374607431768211450"),
        );
        check("3.40282366920938463463374607431768211456e38", None);
        check("1e400", None);
        check("1e-400", None);
        check("1e9999", None);
        check("1e99999", None);
        check("1e-99999", None);
        check("1e99999999999999999999999999999", None);
        check(&format!("1{}", "0".repeat(1000)), None);
        check(&format!("0.{}1", "0".repeat(1000)), None);
        check(&format!("0.{}", "1".repeat(40)), None);
    }

    #[test]
    fn refuses_what_is_not_a_non_negative_number() {
        for text in [
            "-1", "-0", "-1e3", "", ".", "1.", ".5", "1.e3", "+1", "1e", "1e+", "1e-", "e5", "E5",
            "1e5e5", "1.2.3", "NaN", "Infinity", "null", "true", "\"1\"", " 1", "1 ", "1_000",
            "0x10", "1,5", "١", "１",
        ] {
            check(text, None);
        }
    }

    #[test]
    fn errors_name_the_problem_and_echo_little() {
        let message = |text: &str| decimal_from_json_number(text).unwrap_err().to_string();
        assert_eq!(
            message("-1"),
            "could not read the price feed's answer: \"-1\" is negative"
        );
        assert!(message("1e-31").ends_with("has more than 30 decimal places"));
        assert!(message("1e99999").ends_with("has an exponent out of range"));
        assert!(message("1e39").ends_with("is too large for an exact price"));
        let long = message(&"x".repeat(1000));
        assert!(long.contains(&format!("{}\"…", "x".repeat(ECHO_CHARS_MAX))));
        assert!(!long.contains(&"x".repeat(ECHO_CHARS_MAX + 1)));
    }
}
