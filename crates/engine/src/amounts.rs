//! Amounts and prices as clients type them. Every way such a text can be
//! wrong — not a number, zero, too many decimal places, too large to hold —
//! is the client's mistake (222003, naming the field), never a server error:
//! retrying cannot fix it.

use ccgate_ledger::{Amount, Decimal, LedgerError, Precision};

use crate::{EngineError, Rejection};

/// The largest price in a fiat currency an order may have: a trillion units.
/// Far above any checkout, and low enough that the amount due in any coin
/// with a price fits the ledger's u128 base units.
pub const FIAT_PRICE_MAX: u128 = 1_000_000_000_000;

/// A positive amount typed at `typed_at` decimal places (the network's, or
/// the coin's for an internal transfer), held at the coin's `kept_at`.
pub fn positive_amount(
    field: &str,
    text: &str,
    typed_at: Precision,
    kept_at: Precision,
    symbol: &str,
) -> Result<Amount, EngineError> {
    let invalid =
        |why: String| EngineError::from(Rejection::AmountInvalid(format!("{field} {why}")));
    let too_large = || invalid("is too large".to_owned());
    let amount = match Amount::parse_decimal(text.trim(), typed_at) {
        Ok(amount) if !amount.is_zero() => amount,
        Err(LedgerError::AmountOverflow) => return Err(too_large()),
        Err(LedgerError::TooManyDecimals { .. }) => {
            return Err(Rejection::TooManyDecimals(format!(
                "{field} has more than the {} decimal places of {symbol}",
                typed_at.get()
            ))
            .into());
        }
        Ok(_) | Err(_) => return Err(invalid("must be a positive decimal number".to_owned())),
    };
    amount.rescale(typed_at, kept_at).map_err(|_| too_large())
}

/// A positive price or amount of any precision (a fiat price, `token/rate`'s
/// USD amount, a price in the token before its precision is known).
pub fn positive_decimal(field: &str, text: &str) -> Result<Decimal, EngineError> {
    let invalid = |why: &str| EngineError::from(Rejection::AmountInvalid(format!("{field} {why}")));
    match Decimal::parse(text.trim()) {
        Ok(value) if !value.is_zero() => Ok(value),
        Err(LedgerError::AmountOverflow) => Err(invalid("is too large")),
        Err(LedgerError::TooManyDecimals { precision }) => Err(Rejection::AmountInvalid(format!(
            "{field} has more than {precision} decimal places"
        ))
        .into()),
        Ok(_) | Err(_) => Err(invalid("must be a positive decimal number")),
    }
}

/// A price in a fiat currency: positive, at most `places_max` decimal
/// places, at most [`FIAT_PRICE_MAX`].
pub fn fiat_price(field: &str, text: &str, places_max: u8) -> Result<Decimal, EngineError> {
    let price = positive_decimal(field, text)?;
    if price.scale() > places_max {
        return Err(Rejection::AmountInvalid(format!(
            "{field} in a fiat currency has at most {places_max} decimal places"
        ))
        .into());
    }
    let whole = price
        .mantissa()
        .checked_div(10u128.pow(u32::from(price.scale())))
        .unwrap_or(0);
    if whole >= FIAT_PRICE_MAX {
        return Err(Rejection::AmountInvalid(format!(
            "{field} is too large: a fiat price is below {FIAT_PRICE_MAX}"
        ))
        .into());
    }
    Ok(price)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn message(result: Result<impl std::fmt::Debug, EngineError>) -> String {
        result.unwrap_err().to_string()
    }

    #[test]
    fn every_bad_amount_is_the_clients_and_says_why() {
        let six = Precision::new(6).unwrap();
        let eighteen = Precision::new(18).unwrap();
        let amount = |text| positive_amount("value", text, six, eighteen, "USDT");
        assert_eq!(
            amount("1.5").unwrap(),
            Amount::from_base_units(1_500_000_000_000_000_000)
        );
        // Fits at 6 places, not once held at the coin's 18: still the client's.
        assert_eq!(
            message(amount("1000000000000000000000000000")),
            "value is too large"
        );
        let forty_five_nines = "9".repeat(45);
        assert_eq!(message(amount(&forty_five_nines)), "value is too large");
        assert_eq!(
            message(amount("1.0000001")),
            "value has more than the 6 decimal places of USDT"
        );
        for bad in ["0", "-1", "abc", "", "1e5"] {
            assert_eq!(
                message(amount(bad)),
                "value must be a positive decimal number",
                "{bad:?}"
            );
        }
    }

    #[test]
    fn fiat_prices_are_bounded_and_a_huge_one_is_too_large() {
        assert_eq!(
            fiat_price("product_price", "25.50", 2).unwrap().to_string(),
            "25.5"
        );
        assert!(message(fiat_price("product_price", &"9".repeat(41), 2)).contains("too large"));
        assert!(message(fiat_price("product_price", "1000000000000", 2)).contains("too large"));
        assert!(fiat_price("product_price", "999999999999.99", 2).is_ok());
        assert!(message(fiat_price("product_price", "1.001", 2)).contains("2 decimal places"));
    }
}
