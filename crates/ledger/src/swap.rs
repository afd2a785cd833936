//! The figures of a swap (docs/decisions.md §25): what an input of one coin
//! buys of another at two USD prices, less the operator's spread and fee.
//! Exact integer arithmetic, rounded in the gateway's favour: the output
//! down, the fee up. Products of amounts, prices and powers of ten outgrow a
//! `u128` long before the result does, so they are formed in 512 bits.

use ruint::aliases::U512;

use crate::LedgerError;
use crate::amount::{Amount, Decimal, Precision, Rounding};
use crate::journal::{Account, Direction, JournalEntry, MerchantId, Posting};
use crate::registry::CoinId;

/// Parts per million: the unit of the spread and the fee rate.
pub const PPM: u32 = 1_000_000;

/// Places `swapRate` is shown with (CCPayment's examples show 16–18).
pub const RATE_PLACES: u8 = 18;

/// The operator's terms for every swap.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SwapTerms {
    /// Taken off the rate and kept by the treasury.
    pub spread_ppm: u32,
    /// `feeRate`: the share of the output paid to the operator's fees.
    pub fee_ppm: u32,
    /// The least fee, in USD worth of the output coin.
    pub fee_min_usd: Decimal,
}

/// One side of a swap: its coin's precision and USD price.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SwapSide {
    pub precision: Precision,
    pub price_usd: Decimal,
}

/// What a swap of `amount_in` gives, all in base units.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SwapFigures {
    pub amount_in: Amount,
    /// `amountOut`: the input's worth in the output coin at the spread rate,
    /// rounded down. The treasury pays this much out.
    pub amount_out: Amount,
    /// The operator's fee out of `amount_out`, rounded up.
    pub fee: Amount,
    /// `netAmountOut = amountOut − fee`: what the payer receives.
    pub net_out: Amount,
}

impl SwapTerms {
    /// `feeRate` as text, e.g. `"0.005"`.
    pub fn fee_rate_text(&self) -> String {
        ppm_rate_text(self.fee_ppm)
    }
}

/// A rate in parts per million as text, e.g. `10_000` → `"0.01"`.
pub fn ppm_rate_text(ppm: u32) -> String {
    Amount::from_base_units(u128::from(ppm)).to_decimal_string(ppm_places())
}

/// A rate's text (at most 6 decimal places) in parts per million.
pub fn parse_ppm_rate(text: &str) -> Result<u32, LedgerError> {
    let ppm = Amount::parse_decimal(text, ppm_places())?.base_units();
    u32::try_from(ppm).map_err(|_| LedgerError::AmountOverflow)
}

/// A merchant's markup on a user's swap (docs/decisions.md §25.1):
/// `extraFeeRate × amountOut`, rounded up so that the user never receives
/// more than the exact figures give.
pub fn extra_fee(amount_out: Amount, extra_fee_ppm: u32) -> Result<Amount, LedgerError> {
    if extra_fee_ppm >= PPM {
        return Err(LedgerError::SwapRateAboveWhole);
    }
    Ok(Amount::from_base_units(divide(
        U512::from(amount_out.base_units()) * U512::from(extra_fee_ppm),
        U512::from(PPM),
        Rounding::Up,
    )?))
}

fn ppm_places() -> Precision {
    Precision::new(6).unwrap_or(Precision::MAX)
}

fn rate_places() -> Precision {
    Precision::new(RATE_PLACES).unwrap_or(Precision::MAX)
}

/// `10^places` in 512 bits.
fn ten_to(places: u8) -> U512 {
    U512::from(10u8).pow(U512::from(places))
}

/// `numerator / denominator` as a `u128`, rounded as asked; an overflow if
/// it does not fit.
fn divide(numerator: U512, denominator: U512, rounding: Rounding) -> Result<u128, LedgerError> {
    if denominator.is_zero() {
        return Err(LedgerError::DivisionByZero);
    }
    let (quotient, remainder) = numerator.div_rem(denominator);
    let round_up = match rounding {
        Rounding::Down => false,
        Rounding::Up => !remainder.is_zero(),
        Rounding::HalfUp => remainder >= denominator - remainder,
    };
    let quotient = if round_up {
        quotient + U512::from(1u8)
    } else {
        quotient
    };
    u128::try_from(quotient).map_err(|_| LedgerError::AmountOverflow)
}

/// Places of the USD figures a daily swap limit counts in (micro-USD).
pub const USD_PLACES: u8 = 6;

/// What `amount` of a coin (`side`: its precision and USD price) is worth in
/// USD, in base units of [`USD_PLACES`] places, rounded **up**: a daily
/// limit counts a swap at no less than it is worth (docs/decisions.md §29).
pub fn usd_value(amount: Amount, side: SwapSide) -> Result<Amount, LedgerError> {
    let numerator = U512::from(amount.base_units())
        * U512::from(side.price_usd.mantissa())
        * ten_to(USD_PLACES);
    let denominator = ten_to(side.price_usd.scale()) * ten_to(side.precision.get());
    divide(numerator, denominator, Rounding::Up).map(Amount::from_base_units)
}

/// Prices a swap of `amount_in` of `from` into `to` under `terms`:
/// `amountOut = amountIn × priceIn × (1 − spread) / priceOut` rounded down,
/// `fee = max(feeRate × amountOut, fee_min_usd / priceOut)` rounded up.
pub fn price_swap(
    amount_in: Amount,
    from: SwapSide,
    to: SwapSide,
    terms: &SwapTerms,
) -> Result<SwapFigures, LedgerError> {
    if terms.spread_ppm > PPM || terms.fee_ppm > PPM {
        return Err(LedgerError::SwapRateAboveWhole);
    }
    if from.price_usd.is_zero() || to.price_usd.is_zero() {
        return Err(LedgerError::SwapPriceZero);
    }
    let keep = U512::from(PPM - terms.spread_ppm);
    let ppm = U512::from(PPM);
    // in_units / 10^p_in × m_in / 10^s_in × keep / ppm / (m_out / 10^s_out) × 10^p_out
    let numerator = U512::from(amount_in.base_units())
        * U512::from(from.price_usd.mantissa())
        * keep
        * ten_to(to.price_usd.scale())
        * ten_to(to.precision.get());
    let denominator = U512::from(to.price_usd.mantissa())
        * ten_to(from.price_usd.scale())
        * ten_to(from.precision.get())
        * ppm;
    let amount_out = Amount::from_base_units(divide(numerator, denominator, Rounding::Down)?);
    let by_rate = divide(
        U512::from(amount_out.base_units()) * U512::from(terms.fee_ppm),
        ppm,
        Rounding::Up,
    )?;
    // fee_min_usd / price_out in base units of the output coin.
    let minimum = divide(
        U512::from(terms.fee_min_usd.mantissa())
            * ten_to(to.price_usd.scale())
            * ten_to(to.precision.get()),
        U512::from(to.price_usd.mantissa()) * ten_to(terms.fee_min_usd.scale()),
        Rounding::Up,
    )?;
    let fee = Amount::from_base_units(by_rate.max(minimum));
    let net_out = amount_out
        .checked_sub(fee)
        .filter(|net| !net.is_zero())
        .ok_or(LedgerError::SwapFeeTakesAll {
            amount_out: amount_out.base_units(),
            fee: fee.base_units(),
        })?;
    Ok(SwapFigures {
        amount_in,
        amount_out,
        fee,
        net_out,
    })
}

/// `swapRate = amountOut / amountIn` in whole coins, rounded down to
/// [`RATE_PLACES`], as decimal text.
pub fn swap_rate_text(
    figures: &SwapFigures,
    from: Precision,
    to: Precision,
) -> Result<String, LedgerError> {
    let rate = divide(
        U512::from(figures.amount_out.base_units()) * ten_to(from.get()) * ten_to(RATE_PLACES),
        U512::from(figures.amount_in.base_units()) * ten_to(to.get()),
        Rounding::Down,
    )?;
    Ok(Amount::from_base_units(rate).to_decimal_string(rate_places()))
}

/// Everything a swap's journal entry moves, in base units: the payer's
/// `amount_in` of `coin_in`; out of the treasury `amount_out` of
/// `coin_out`, of which `fee` is the operator's and `extra_fee` the
/// merchant's markup on its user's swap (docs/decisions.md §25.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SwapLegs<'a> {
    pub coin_in: &'a CoinId,
    pub coin_out: &'a CoinId,
    pub amount_in: Amount,
    pub amount_out: Amount,
    pub fee: Amount,
    pub extra_fee: Amount,
}

impl SwapLegs<'_> {
    /// `netAmountOut = amountOut − fee − extraFee`: what the payer receives.
    pub fn net_out(&self) -> Result<Amount, LedgerError> {
        self.amount_out
            .checked_sub(self.fee)
            .and_then(|rest| rest.checked_sub(self.extra_fee))
            .filter(|net| !net.is_zero())
            .ok_or(LedgerError::SwapFeeTakesAll {
                amount_out: self.amount_out.base_units(),
                fee: self
                    .fee
                    .base_units()
                    .saturating_add(self.extra_fee.base_units()),
            })
    }
}

/// A swap's one journal entry (docs/decisions.md §25): the payer's input
/// into the treasury, and out of the treasury the payer's net output, the
/// operator's fee and `merchant`'s markup. The engine posts it; the
/// wallet system's property test posts the same.
pub fn swap_entry(
    payer: &Account,
    merchant: &MerchantId,
    legs: &SwapLegs<'_>,
) -> Result<JournalEntry, LedgerError> {
    let net_out = legs.net_out()?;
    let posting = |account: Account, coin: &CoinId, direction, amount| Posting {
        account,
        coin: coin.clone(),
        direction,
        amount,
    };
    let mut postings = vec![
        posting(
            payer.clone(),
            legs.coin_in,
            Direction::Debit,
            legs.amount_in,
        ),
        posting(
            Account::OperatorTreasury,
            legs.coin_in,
            Direction::Credit,
            legs.amount_in,
        ),
        posting(
            Account::OperatorTreasury,
            legs.coin_out,
            Direction::Debit,
            legs.amount_out,
        ),
        posting(payer.clone(), legs.coin_out, Direction::Credit, net_out),
    ];
    // A fee of zero (a rate and minimum of zero) posts nothing.
    if !legs.fee.is_zero() {
        postings.push(posting(
            Account::OperatorFees,
            legs.coin_out,
            Direction::Credit,
            legs.fee,
        ));
    }
    if !legs.extra_fee.is_zero() {
        postings.push(posting(
            Account::MerchantAvailable(merchant.clone()),
            legs.coin_out,
            Direction::Credit,
            legs.extra_fee,
        ));
    }
    JournalEntry::new(postings)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use proptest::prelude::*;

    fn side(places: u8, price: &str) -> SwapSide {
        SwapSide {
            precision: Precision::new(places).unwrap(),
            price_usd: Decimal::parse(price).unwrap(),
        }
    }

    fn terms(spread_ppm: u32, fee_ppm: u32, fee_min_usd: &str) -> SwapTerms {
        SwapTerms {
            spread_ppm,
            fee_ppm,
            fee_min_usd: Decimal::parse(fee_min_usd).unwrap(),
        }
    }

    fn units(n: u128) -> Amount {
        Amount::from_base_units(n)
    }

    #[test]
    fn a_usd_value_is_rounded_up_to_the_micro_dollar() {
        // 1.5 of an 18-place coin at 2000.123 USD: 3000.1845 USD exactly.
        let eth = side(18, "2000.123");
        assert_eq!(
            usd_value(units(15 * 10u128.pow(17)), eth).unwrap(),
            units(3_000_184_500)
        );
        // One base unit of it is worth far less than a micro-dollar: one.
        assert_eq!(usd_value(units(1), eth).unwrap(), units(1));
        assert_eq!(usd_value(Amount::ZERO, eth).unwrap(), Amount::ZERO);
    }

    #[test]
    fn a_plain_swap_comes_out_exactly() {
        // 100 USDT into a coin worth 0.5 USD, no spread, fee 0.5 %.
        let usdt = side(6, "1");
        let matic = side(18, "0.5");
        let figures = price_swap(units(100_000_000), usdt, matic, &terms(0, 5000, "0.1")).unwrap();
        assert_eq!(figures.amount_out, units(200 * 10u128.pow(18)));
        assert_eq!(figures.fee, units(10u128.pow(18)));
        assert_eq!(figures.net_out, units(199 * 10u128.pow(18)));
        assert_eq!(
            swap_rate_text(&figures, usdt.precision, matic.precision).unwrap(),
            "2"
        );
        assert_eq!(terms(0, 5000, "0.1").fee_rate_text(), "0.005");
    }

    #[test]
    fn the_merchants_markup_rounds_up_and_stays_below_the_whole() {
        assert_eq!(parse_ppm_rate("0.01").unwrap(), 10_000);
        assert_eq!(ppm_rate_text(10_000), "0.01");
        assert!(parse_ppm_rate("0.0000001").is_err());
        // 1 % of 3 units is 0.03 units: charged as 1.
        assert_eq!(extra_fee(units(3), 10_000).unwrap(), units(1));
        assert_eq!(extra_fee(units(300), 10_000).unwrap(), units(3));
        assert_eq!(extra_fee(units(300), 0).unwrap(), Amount::ZERO);
        assert!(extra_fee(units(300), PPM).is_err());
    }

    #[test]
    fn the_output_rounds_down_and_the_fee_up() {
        // 1 unit (0.000001 USDT) at a price of 3 USD per output coin of 6
        // places: exactly 0.333… units out, so 0; 10 units → 3.33… → 3.
        let usdt = side(6, "1");
        let three = side(6, "3");
        let no_fee = terms(0, 0, "0");
        assert_eq!(
            price_swap(units(10), usdt, three, &no_fee)
                .unwrap()
                .amount_out,
            units(3)
        );
        // A 1 ppm fee on 3_333_333 units is 3.33 units: charged as 4.
        let figures = price_swap(units(10_000_000), usdt, three, &terms(0, 1, "0")).unwrap();
        assert_eq!(figures.amount_out, units(3_333_333));
        assert_eq!(figures.fee, units(4));
        assert_eq!(figures.net_out, units(3_333_329));
        // The spread comes off before rounding: 1 % of 3.333333… is
        // 3.3, so 3_300_000 units exactly, and not 3_300_000 − 1.
        let spread = price_swap(units(10_000_000), usdt, three, &terms(10_000, 0, "0")).unwrap();
        assert_eq!(spread.amount_out, units(3_300_000));
        let rate = swap_rate_text(&spread, usdt.precision, three.precision).unwrap();
        assert_eq!(rate, "0.33");
        let thirds = price_swap(units(1_000_000), usdt, three, &no_fee).unwrap();
        assert_eq!(
            swap_rate_text(&thirds, usdt.precision, three.precision).unwrap(),
            "0.333333"
        );
    }

    #[test]
    fn the_minimum_fee_is_a_tenth_of_a_dollar_of_the_output_rounded_up() {
        // Output worth 3 USD a coin, 6 places: 0.1 USD is 0.0333… → 33_334 units.
        let figures = price_swap(
            units(5_000_000),
            side(6, "1"),
            side(6, "3"),
            &terms(0, 1, "0.1"),
        )
        .unwrap();
        assert_eq!(figures.fee, units(33_334));
        // An output the minimum eats is refused, not paid as nothing.
        assert_eq!(
            price_swap(
                units(100_000),
                side(6, "1"),
                side(6, "3"),
                &terms(0, 1, "0.1")
            ),
            Err(LedgerError::SwapFeeTakesAll {
                amount_out: 33_333,
                fee: 33_334
            })
        );
    }

    #[test]
    fn prices_with_many_places_do_not_overflow() {
        // 1,000,000 ETH (18 places) at a feed price with 8 places, into a
        // coin of 18 places priced with 12: the products pass 10^60.
        let eth = side(18, "3512.87654321");
        let small = side(18, "0.000012345678");
        let figures =
            price_swap(units(10u128.pow(24)), eth, small, &terms(2000, 5000, "0.1")).unwrap();
        assert!(figures.net_out < figures.amount_out);
        assert_eq!(
            price_swap(units(1), side(6, "1"), side(6, "0"), &terms(0, 0, "0")),
            Err(LedgerError::SwapPriceZero)
        );
        assert_eq!(
            price_swap(
                units(1),
                side(6, "1"),
                side(6, "1"),
                &terms(PPM + 1, 0, "0")
            ),
            Err(LedgerError::SwapRateAboveWhole)
        );
    }

    proptest! {
        /// Whatever the amounts and prices: the payer never receives more
        /// than the exact value at the spread rate, the fee is never less
        /// than the exact rate, and out = net + fee.
        #[test]
        fn every_rounding_favours_the_gateway(
            amount_in in 1u128..10u128.pow(24),
            price_in in 1u128..10u128.pow(12),
            price_out in 1u128..10u128.pow(12),
            scale_in in 0u8..10,
            scale_out in 0u8..10,
            p_in in 0u8..19,
            p_out in 0u8..19,
            spread_ppm in 0u32..50_000,
            fee_ppm in 0u32..50_000,
        ) {
            let price = |m: u128, s: u8| {
                Decimal::parse(&Amount::from_base_units(m).to_decimal_string(Precision::new(s).unwrap())).unwrap()
            };
            let from = SwapSide { precision: Precision::new(p_in).unwrap(), price_usd: price(price_in, scale_in) };
            let to = SwapSide { precision: Precision::new(p_out).unwrap(), price_usd: price(price_out, scale_out) };
            let terms = terms(spread_ppm, fee_ppm, "0");
            match price_swap(units(amount_in), from, to, &terms) {
                Ok(f) => {
                    // out × 10^p_in × m_out × 10^s_in × ppm ≤ in × m_in × keep × 10^s_out × 10^p_out:
                    // never more out than the exact value.
                    let lhs = U512::from(f.amount_out.base_units()) * ten_to(from.precision.get())
                        * U512::from(to.price_usd.mantissa()) * ten_to(from.price_usd.scale()) * U512::from(PPM);
                    let rhs = U512::from(amount_in) * U512::from(from.price_usd.mantissa())
                        * U512::from(PPM - spread_ppm) * ten_to(to.price_usd.scale()) * ten_to(to.precision.get());
                    prop_assert!(lhs <= rhs);
                    // One more unit out would be more than the exact value.
                    let more = (U512::from(f.amount_out.base_units()) + U512::from(1u8)) * ten_to(from.precision.get())
                        * U512::from(to.price_usd.mantissa()) * ten_to(from.price_usd.scale()) * U512::from(PPM);
                    prop_assert!(more > rhs);
                    prop_assert!(U512::from(f.fee.base_units()) * U512::from(PPM)
                        >= U512::from(f.amount_out.base_units()) * U512::from(fee_ppm));
                    prop_assert_eq!(f.net_out.checked_add(f.fee), Some(f.amount_out));
                }
                Err(LedgerError::SwapFeeTakesAll { amount_out, fee }) => prop_assert!(fee >= amount_out),
                Err(LedgerError::AmountOverflow) => {}
                Err(other) => prop_assert!(false, "{other}"),
            }
        }
    }
}
