//! Exact amounts. Money is an integer count of base units; text is converted without any
//! floating-point step so that what a merchant sends is exactly what is booked.

use std::fmt;
use std::iter;
use std::str::FromStr;

use crate::LedgerError;

/// Longest amount text accepted. Far above the 39 digits of `u128::MAX` plus a dot and 30
/// fraction digits, yet small enough that hostile megabyte strings are refused before any work.
pub const AMOUNT_TEXT_LEN_MAX: usize = 80;

/// Number of decimal places of a coin or token.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct Precision(u8);

impl Precision {
    /// 10^30 still leaves room for about 3.4e8 whole units inside a `u128`; beyond that a coin
    /// could not even hold a useful balance.
    pub const MAX: Precision = Precision(30);

    pub fn new(places: u8) -> Result<Precision, LedgerError> {
        if places > Self::MAX.0 {
            return Err(LedgerError::InvalidPrecision { precision: places });
        }
        Ok(Precision(places))
    }

    pub fn get(self) -> u8 {
        self.0
    }
}

/// A non-negative quantity of a coin in integer base units (satoshi, wei, ...). It carries no
/// precision itself: the coin it belongs to decides how it is written.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Default)]
pub struct Amount(u128);

impl Amount {
    pub const ZERO: Amount = Amount(0);

    pub const fn from_base_units(units: u128) -> Amount {
        Amount(units)
    }

    pub const fn base_units(self) -> u128 {
        self.0
    }

    pub fn checked_add(self, other: Amount) -> Option<Amount> {
        self.0.checked_add(other.0).map(Amount)
    }

    /// The same value in the base units of a finer (or equal) precision.
    pub fn rescale(self, from: Precision, to: Precision) -> Result<Amount, LedgerError> {
        let places = to
            .get()
            .checked_sub(from.get())
            .ok_or(LedgerError::TooManyDecimals {
                precision: to.get(),
            })?;
        10u128
            .checked_pow(u32::from(places))
            .and_then(|factor| self.0.checked_mul(factor))
            .map(Amount)
            .ok_or(LedgerError::AmountOverflow)
    }

    pub fn checked_sub(self, other: Amount) -> Option<Amount> {
        self.0.checked_sub(other.0).map(Amount)
    }

    pub const fn is_zero(self) -> bool {
        self.0 == 0
    }

    /// Zeros beyond the precision are accepted because clients pad ("1.500"); any other extra
    /// digit is refused rather than rounded, since rounding would silently change the amount.
    pub fn parse_decimal(s: &str, precision: Precision) -> Result<Amount, LedgerError> {
        DecimalText::split(s)?.to_units(precision).map(Amount)
    }

    pub fn to_decimal_string(self, precision: Precision) -> String {
        format_units(self.0, precision)
    }
}

/// An operator's manual adjustment, the one place a sign is typed in.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct SignedAmount {
    pub negative: bool,
    pub magnitude: Amount,
}

impl SignedAmount {
    pub fn parse_decimal(s: &str, precision: Precision) -> Result<SignedAmount, LedgerError> {
        let (negative, unsigned) = if let Some(rest) = s.strip_prefix('-') {
            (true, rest)
        } else if let Some(rest) = s.strip_prefix('+') {
            (false, rest)
        } else {
            (false, s)
        };
        let magnitude = Amount::parse_decimal(unsigned, precision).map_err(|err| match err {
            // Echo what the operator typed, sign included, not the part left after stripping it.
            LedgerError::MalformedAmount { .. } => LedgerError::malformed_amount(s),
            other => other,
        })?;
        Ok(SignedAmount {
            negative,
            magnitude,
        })
    }
}

/// How a quotient with more digits than the precision is cut.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Rounding {
    /// To the nearest, halves away from zero: for quotes shown to people.
    HalfUp,
    /// Away from zero: for amounts a payer owes, who must never pay less.
    Up,
    /// Towards zero: for amounts the gateway pays out, never a unit more.
    Down,
}

/// An exact non-negative decimal for prices and rates, whose scale is not tied to any coin.
/// Always normalised (no trailing fraction zeros) so that derived equality is numeric equality.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct Decimal {
    mantissa: u128,
    scale: u8,
}

impl Decimal {
    pub const ZERO: Decimal = Decimal {
        mantissa: 0,
        scale: 0,
    };

    pub fn parse(s: &str) -> Result<Decimal, LedgerError> {
        let text = DecimalText::split(s)?;
        let scale = u8::try_from(text.fraction.len())
            .ok()
            .and_then(|places| Precision::new(places).ok())
            .ok_or(LedgerError::TooManyDecimals {
                precision: Precision::MAX.get(),
            })?;
        let mantissa = text.to_units(scale)?;
        Ok(Decimal {
            mantissa,
            scale: scale.get(),
        })
    }

    pub fn mantissa(self) -> u128 {
        self.mantissa
    }

    pub fn is_zero(self) -> bool {
        self.mantissa == 0
    }

    /// The exact product; an error if it overflows or needs more than
    /// [`Precision::MAX`] decimal places.
    pub fn checked_mul(self, other: Decimal) -> Result<Decimal, LedgerError> {
        let mut mantissa = self
            .mantissa
            .checked_mul(other.mantissa)
            .ok_or(LedgerError::AmountOverflow)?;
        let mut scale = self.scale.saturating_add(other.scale);
        while scale > 0 && mantissa % 10 == 0 {
            mantissa /= 10;
            scale -= 1;
        }
        if scale > Precision::MAX.get() {
            return Err(LedgerError::TooManyDecimals {
                precision: Precision::MAX.get(),
            });
        }
        Ok(Decimal { mantissa, scale })
    }

    /// The value as an amount at `precision`, if it has no more decimal places.
    pub fn to_amount(self, precision: Precision) -> Result<Amount, LedgerError> {
        if self.scale > precision.get() {
            return Err(LedgerError::TooManyDecimals {
                precision: precision.get(),
            });
        }
        10u128
            .checked_pow(u32::from(precision.get() - self.scale))
            .and_then(|factor| self.mantissa.checked_mul(factor))
            .map(Amount)
            .ok_or(LedgerError::AmountOverflow)
    }

    /// `self / divisor` as an amount of base units at `precision`, rounded as
    /// asked. Exact long division in integers: the intermediate `self × 10^k`
    /// is never formed, so it cannot overflow before the result does.
    pub fn checked_div(
        self,
        divisor: Decimal,
        precision: Precision,
        rounding: Rounding,
    ) -> Result<Amount, LedgerError> {
        if divisor.mantissa == 0 {
            return Err(LedgerError::DivisionByZero);
        }
        // (m1 / 10^s1) / (m2 / 10^s2) × 10^p = m1 × 10^(s2 + p) / (m2 × 10^s1)
        let denominator = 10u128
            .checked_pow(u32::from(self.scale))
            .and_then(|scale| divisor.mantissa.checked_mul(scale))
            .ok_or(LedgerError::AmountOverflow)?;
        let mut quotient = self.mantissa / denominator;
        let mut remainder = self.mantissa % denominator;
        for _ in 0..(u32::from(divisor.scale) + u32::from(precision.get())) {
            let widened = remainder
                .checked_mul(10)
                .ok_or(LedgerError::AmountOverflow)?;
            quotient = quotient
                .checked_mul(10)
                .and_then(|q| q.checked_add(widened / denominator))
                .ok_or(LedgerError::AmountOverflow)?;
            remainder = widened % denominator;
        }
        let round_up = match rounding {
            Rounding::Up => remainder > 0,
            Rounding::Down => false,
            // remainder ≥ denominator / 2, without forming 2 × remainder.
            Rounding::HalfUp => remainder >= denominator - remainder,
        };
        if round_up {
            quotient = quotient.checked_add(1).ok_or(LedgerError::AmountOverflow)?;
        }
        Ok(Amount(quotient))
    }

    pub fn scale(self) -> u8 {
        self.scale
    }
}

impl fmt::Display for Decimal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format_units(self.mantissa, Precision(self.scale)))
    }
}

impl FromStr for Decimal {
    type Err = LedgerError;

    fn from_str(s: &str) -> Result<Decimal, LedgerError> {
        Decimal::parse(s)
    }
}

/// Text that matches `[0-9]+(\.[0-9]+)?`, cut at the dot. Trailing fraction zeros are already
/// dropped because they never change the value.
struct DecimalText<'a> {
    whole: &'a str,
    fraction: &'a str,
}

impl<'a> DecimalText<'a> {
    fn split(s: &'a str) -> Result<DecimalText<'a>, LedgerError> {
        if s.len() > AMOUNT_TEXT_LEN_MAX {
            return Err(LedgerError::AmountTooLong { len: s.len() });
        }
        let (whole, fraction) = match s.split_once('.') {
            Some((whole, fraction)) => (whole, Some(fraction)),
            None => (s, None),
        };
        // ASCII-only on purpose: `char::is_numeric` would let Arabic-Indic or full-width digits in.
        let digits = |part: &str| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit());
        if !digits(whole) || fraction.is_some_and(|f| !digits(f)) {
            return Err(LedgerError::malformed_amount(s));
        }
        Ok(DecimalText {
            whole,
            fraction: fraction.unwrap_or_default().trim_end_matches('0'),
        })
    }

    fn to_units(&self, precision: Precision) -> Result<u128, LedgerError> {
        let padding = usize::from(precision.get())
            .checked_sub(self.fraction.len())
            .ok_or(LedgerError::TooManyDecimals {
                precision: precision.get(),
            })?;
        self.whole
            .bytes()
            .chain(self.fraction.bytes())
            .chain(iter::repeat_n(b'0', padding))
            .try_fold(0u128, |acc, digit| {
                acc.checked_mul(10)?.checked_add(u128::from(digit - b'0'))
            })
            .ok_or(LedgerError::AmountOverflow)
    }
}

fn format_units(units: u128, precision: Precision) -> String {
    let divisor = 10u128.pow(u32::from(precision.get()));
    let whole = units / divisor;
    let fraction = units % divisor;
    if fraction == 0 {
        return whole.to_string();
    }
    let padded = format!("{fraction:0width$}", width = usize::from(precision.get()));
    format!("{whole}.{}", padded.trim_end_matches('0'))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use proptest::prelude::*;

    fn p(places: u8) -> Precision {
        Precision::new(places).unwrap()
    }

    fn check(input: &str, places: u8, expected: Result<u128, LedgerError>) {
        let got = Amount::parse_decimal(input, p(places)).map(Amount::base_units);
        assert_eq!(got, expected, "parse {input:?} at precision {places}");
    }

    fn malformed(text: &str) -> Result<u128, LedgerError> {
        Err(LedgerError::malformed_amount(text))
    }

    #[test]
    fn precision_bounds() {
        assert_eq!(Precision::new(0).unwrap().get(), 0);
        assert_eq!(Precision::new(30).unwrap(), Precision::MAX);
        assert_eq!(
            Precision::new(31),
            Err(LedgerError::InvalidPrecision { precision: 31 })
        );
    }

    #[test]
    fn parse_accepts_plain_decimals() {
        check("0", 0, Ok(0));
        check("0", 18, Ok(0));
        check("127.9514", 4, Ok(1_279_514));
        check("127.9514", 6, Ok(127_951_400));
        check("1.500", 2, Ok(150));
        check("1.000", 0, Ok(1));
        check("0.000000", 2, Ok(0));
        check("007", 0, Ok(7));
        check("00.10", 1, Ok(1));
        check("0.000000000000000005", 18, Ok(5));
        check("0.00008", 8, Ok(8_000));
        check(&u128::MAX.to_string(), 0, Ok(u128::MAX));
        check(
            "340282366.920938463463374607431768211455",
            30,
            Ok(u128::MAX),
        );
        check(&format!("{}1", "0".repeat(79)), 0, Ok(1));
    }

    #[test]
    fn parse_rejects_everything_else() {
        for bad in [
            "", ".", ".5", "1.", "-1", "+1", "1e5", "1E5", " 1", "1 ", "1 000", "1.2.3", "1,5",
            "0x10", "١", "１", "NaN", "inf", "1_000", "1..2", "\u{0}",
        ] {
            check(bad, 6, malformed(bad));
        }
    }

    #[test]
    fn parse_refuses_digits_beyond_precision() {
        check(
            "1.234",
            2,
            Err(LedgerError::TooManyDecimals { precision: 2 }),
        );
        check("0.1", 0, Err(LedgerError::TooManyDecimals { precision: 0 }));
        check(
            "0.0000001",
            6,
            Err(LedgerError::TooManyDecimals { precision: 6 }),
        );
    }

    #[test]
    fn parse_refuses_overflow_and_long_text() {
        check(
            "340282366920938463463374607431768211456",
            0,
            Err(LedgerError::AmountOverflow),
        );
        check("340282367", 30, Err(LedgerError::AmountOverflow));
        let long = "1".repeat(AMOUNT_TEXT_LEN_MAX + 1);
        check(&long, 0, Err(LedgerError::AmountTooLong { len: 81 }));
        let huge = "1".repeat(10_000_000);
        check(
            &huge,
            0,
            Err(LedgerError::AmountTooLong { len: 10_000_000 }),
        );
    }

    #[test]
    fn printing_is_exact_and_trimmed() {
        for (units, places, text) in [
            (0, 0, "0"),
            (0, 18, "0"),
            (1_279_514, 4, "127.9514"),
            (1_000, 3, "1"),
            (1_500, 3, "1.5"),
            (5, 18, "0.000000000000000005"),
            (8_000, 8, "0.00008"),
            (u128::MAX, 0, "340282366920938463463374607431768211455"),
            (u128::MAX, 30, "340282366.920938463463374607431768211455"),
        ] {
            assert_eq!(
                Amount::from_base_units(units).to_decimal_string(p(places)),
                text
            );
        }
    }

    #[test]
    fn amount_arithmetic_is_checked() {
        let one = Amount::from_base_units(1);
        let max = Amount::from_base_units(u128::MAX);
        assert_eq!(one.checked_add(one), Some(Amount::from_base_units(2)));
        assert_eq!(max.checked_add(one), None);
        assert_eq!(Amount::ZERO.checked_sub(one), None);
        assert_eq!(one.checked_sub(one), Some(Amount::ZERO));
        assert!(Amount::default().is_zero());
        assert!(!one.is_zero());
    }

    #[test]
    fn signed_amounts() {
        let parse = |s: &str| SignedAmount::parse_decimal(s, p(2));
        let signed = |negative, units| SignedAmount {
            negative,
            magnitude: Amount::from_base_units(units),
        };
        assert_eq!(parse("-1.5"), Ok(signed(true, 150)));
        assert_eq!(parse("+1.5"), Ok(signed(false, 150)));
        assert_eq!(parse("1.5"), Ok(signed(false, 150)));
        assert_eq!(parse("-0"), Ok(signed(true, 0)));
        for bad in ["-", "+", "--1", "+-1", "-+1", "- 1", "-.5", "1-"] {
            assert_eq!(parse(bad), Err(LedgerError::malformed_amount(bad)));
        }
        assert_eq!(
            parse("-1.001"),
            Err(LedgerError::TooManyDecimals { precision: 2 })
        );
    }

    #[test]
    fn decimals_are_normalised() {
        for (text, mantissa, scale, shown) in [
            ("0", 0, 0, "0"),
            ("0.000", 0, 0, "0"),
            ("1", 1, 0, "1"),
            ("1.0", 1, 0, "1"),
            ("16944.3", 169_443, 1, "16944.3"),
            ("16944.30", 169_443, 1, "16944.3"),
            ("0.3582", 3_582, 4, "0.3582"),
            (
                "0.0590168965374787",
                590_168_965_374_787,
                16,
                "0.0590168965374787",
            ),
            ("100", 100, 0, "100"),
        ] {
            let d: Decimal = text.parse().unwrap();
            assert_eq!((d.mantissa(), d.scale()), (mantissa, scale), "{text}");
            assert_eq!(d.to_string(), shown);
        }
        assert_eq!(Decimal::parse("0.00"), Ok(Decimal::ZERO));
        assert_eq!(Decimal::parse("1.50"), Decimal::parse("1.5"));
        assert_ne!(Decimal::parse("1.5"), Decimal::parse("15"));
    }

    #[test]
    fn decimal_limits() {
        let thirty = format!("0.{}1", "0".repeat(29));
        assert_eq!(Decimal::parse(&thirty).unwrap().scale(), 30);
        let thirty_one = format!("0.{}1", "0".repeat(30));
        assert_eq!(
            Decimal::parse(&thirty_one),
            Err(LedgerError::TooManyDecimals { precision: 30 })
        );
        let trailing_zeros = format!("2.5{}", "0".repeat(60));
        assert_eq!(Decimal::parse(&trailing_zeros).unwrap().to_string(), "2.5");
        assert_eq!(
            Decimal::parse("-1"),
            Err(LedgerError::malformed_amount("-1"))
        );
        assert_eq!(
            Decimal::parse(&"9".repeat(40)),
            Err(LedgerError::AmountOverflow)
        );
    }

    proptest! {
        #[test]
        fn amount_text_round_trips(units in any::<u128>(), places in 0..=Precision::MAX.get()) {
            let precision = p(places);
            let amount = Amount::from_base_units(units);
            let text = amount.to_decimal_string(precision);
            prop_assert!(text.len() <= AMOUNT_TEXT_LEN_MAX);
            prop_assert_eq!(Amount::parse_decimal(&text, precision), Ok(amount));
        }

        #[test]
        fn decimal_text_round_trips(units in any::<u128>(), places in 0..=Precision::MAX.get()) {
            let text = Amount::from_base_units(units).to_decimal_string(p(places));
            let decimal = Decimal::parse(&text).unwrap();
            prop_assert_eq!(decimal.to_string(), text);
            prop_assert_eq!(Decimal::parse(&decimal.to_string()), Ok(decimal));
            prop_assert!(decimal.scale() == 0 || !decimal.mantissa().is_multiple_of(10));
        }

        #[test]
        fn parse_never_panics(text in "[-+0-9.eE ]{0,90}", places in 0..=Precision::MAX.get()) {
            let _ = Amount::parse_decimal(&text, p(places));
            let _ = Decimal::parse(&text);
        }
    }

    fn quotient(a: &str, b: &str, places: u8, rounding: Rounding) -> String {
        let value = Decimal::parse(a)
            .unwrap()
            .checked_div(Decimal::parse(b).unwrap(), p(places), rounding)
            .unwrap();
        value.to_decimal_string(p(places))
    }

    #[test]
    fn division_rounds_as_asked() {
        // The doc's token/rate example: 1000 USD at 16944.3 USD per BTC.
        assert_eq!(
            quotient("1000", "16944.3", 8, Rounding::HalfUp),
            "0.0590169"
        );
        assert_eq!(
            quotient("1000", "16944.3", 16, Rounding::HalfUp),
            "0.0590168965374787"
        );
        assert_eq!(quotient("1", "3", 6, Rounding::HalfUp), "0.333333");
        assert_eq!(quotient("2", "3", 6, Rounding::HalfUp), "0.666667");
        assert_eq!(quotient("1", "3", 6, Rounding::Up), "0.333334");
        assert_eq!(quotient("0.5", "1", 0, Rounding::HalfUp), "1");
        assert_eq!(quotient("0.49", "1", 0, Rounding::HalfUp), "0");
        assert_eq!(quotient("6", "3", 18, Rounding::Up), "2");
        assert_eq!(
            quotient("0.000001", "96250.5", 8, Rounding::Up),
            "0.00000001"
        );
        assert_eq!(quotient("0", "7", 8, Rounding::Up), "0");
        let one = Decimal::parse("1").unwrap();
        assert_eq!(
            one.checked_div(Decimal::ZERO, p(6), Rounding::Up),
            Err(LedgerError::DivisionByZero)
        );
        let huge = Decimal::parse(&u128::MAX.to_string()).unwrap();
        assert_eq!(
            huge.checked_div(one, p(6), Rounding::Up),
            Err(LedgerError::AmountOverflow)
        );
    }

    #[test]
    fn products_and_conversions_are_exact() {
        let d = |t: &str| Decimal::parse(t).unwrap();
        assert_eq!(
            d("0.92").checked_mul(d("96250.5")).unwrap().to_string(),
            "88550.46"
        );
        assert_eq!(d("2.5").checked_mul(d("4")).unwrap().to_string(), "10");
        assert_eq!(d("0").checked_mul(d("4")).unwrap(), Decimal::ZERO);
        let tiny = d("0.000000000000001");
        assert_eq!(
            tiny.checked_mul(d("0.0000000000000001")),
            Err(LedgerError::TooManyDecimals { precision: 30 })
        );
        assert_eq!(d("12.5").to_amount(p(6)).unwrap().base_units(), 12_500_000);
        assert!(d("0.0000001").to_amount(p(6)).is_err());
        let usdt = Amount::from_base_units(1_500_000);
        assert_eq!(
            usdt.rescale(p(6), p(18)).unwrap().base_units(),
            1_500_000_000_000_000_000
        );
        assert!(usdt.rescale(p(18), p(6)).is_err());
    }
}
