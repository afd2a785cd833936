//! The overview's figures (decisions §32): balances with their USD value,
//! what was received today and this month, and per day over the last 30 or
//! 90 days per coin. Amounts are exact (`Amount`); a USD value is the
//! amount times the price source's price now, rounded half up to cents —
//! ccgate keeps no price at receipt — and absent when the coin has no price.

use ccgate_ledger::{Amount, Coin, Decimal, LedgerError, Precision, Registry, Rounding};
use ccgate_pricefeed::PriceSource;

use super::{Console, ConsoleRefusal, Overview, refused};
use crate::EngineError;
use crate::records::Records;

/// The chart's spans the overview offers, in days; the first is the default.
pub const CHART_DAYS: [u32; 2] = [30, 90];
const DAY_SECS: i64 = 86_400;
/// USD values are in cents.
pub const USD_PLACES: u8 = 2;

/// An amount of a coin and what it is worth in USD now, if priced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Valued<'r> {
    pub coin: &'r Coin,
    pub amount: Amount,
    /// In cents (`USD_PLACES`); `None` when the price source has no price.
    pub usd: Option<Amount>,
}

/// Amounts of several coins and their USD total (of those priced).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Holdings<'r> {
    pub coins: Vec<Valued<'r>>,
    /// In cents: the sum of the priced coins' values.
    pub usd: Amount,
    /// Whether a coin without a price is left out of `usd`.
    pub unpriced: bool,
}

/// One coin's receipts per day of the chart, oldest day first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DailySeries<'r> {
    pub coin: &'r Coin,
    pub amounts: Vec<Amount>,
    /// Each day's USD value in cents; `None` when the coin has no price.
    pub usd: Option<Vec<Amount>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Figures<'r> {
    pub balances: Holdings<'r>,
    pub today: Holdings<'r>,
    pub month: Holdings<'r>,
    /// The chart's span, one of [`CHART_DAYS`].
    pub days: u32,
    /// Its first day, in days since 1970-01-01 (UTC); the last is today.
    pub first_day: i64,
    /// Each coin received in the span, in registry order.
    pub series: Vec<DailySeries<'r>>,
}

impl Console {
    /// The figures of the merchant `overview` shows (which the viewer may
    /// see: the overview checked), as of `business_now_ms`.
    pub async fn figures<'r>(
        &self,
        overview: &Overview<'r>,
        records: &Records,
        prices: &dyn PriceSource,
        registry: &'r Registry,
        days: u32,
        business_now_ms: i64,
    ) -> Result<Figures<'r>, EngineError> {
        if !CHART_DAYS.contains(&days) {
            return Err(refused(ConsoleRefusal::Invalid(
                "the chart spans 30 or 90 days".to_owned(),
            )));
        }
        let price = |coin: &Coin| prices.coin_price(&coin.id, business_now_ms).ok();
        let today = business_now_ms.div_euclid(1000).div_euclid(DAY_SECS);
        let first_day = today - i64::from(days) + 1;
        let month_start = first_of_month(today);
        let since = first_day.min(month_start);
        let receipts = records
            .received_by_day(
                &overview.merchant.app_id,
                since * DAY_SECS,
                (today + 1) * DAY_SECS,
            )
            .await?;
        let sum_since = |from_day: i64| {
            let mut sums: Vec<(&'r Coin, Amount)> = Vec::new();
            for coin in registry.coins() {
                let total = receipts
                    .iter()
                    .filter(|r| r.day >= from_day && r.coin_id == coin.id)
                    .try_fold(Amount::ZERO, |sum, r| sum.checked_add(r.amount))
                    .ok_or(LedgerError::AmountOverflow)?;
                if !total.is_zero() {
                    sums.push((coin, total));
                }
            }
            Ok::<_, EngineError>(holdings(sums, &price))
        };
        let mut series = Vec::new();
        for coin in registry.coins() {
            let mut amounts = vec![Amount::ZERO; days as usize];
            let mut any = false;
            for receipt in receipts
                .iter()
                .filter(|r| r.coin_id == coin.id && r.day >= first_day)
            {
                let slot = usize::try_from(receipt.day - first_day).unwrap_or(usize::MAX);
                if let Some(day) = amounts.get_mut(slot) {
                    *day = day
                        .checked_add(receipt.amount)
                        .ok_or(LedgerError::AmountOverflow)?;
                    any = true;
                }
            }
            if any {
                let usd = price(coin).and_then(|price| {
                    amounts
                        .iter()
                        .map(|amount| usd_value(coin, *amount, price))
                        .collect::<Option<Vec<_>>>()
                });
                series.push(DailySeries { coin, amounts, usd });
            }
        }
        Ok(Figures {
            balances: holdings(overview.balances.clone(), &price),
            today: sum_since(today)?,
            month: sum_since(month_start)?,
            days,
            first_day,
            series,
        })
    }
}

fn holdings<'r>(
    amounts: Vec<(&'r Coin, Amount)>,
    price: &impl Fn(&Coin) -> Option<Decimal>,
) -> Holdings<'r> {
    let mut total = Holdings::default();
    for (coin, amount) in amounts {
        let usd = price(coin).and_then(|price| usd_value(coin, amount, price));
        match usd.and_then(|usd| total.usd.checked_add(usd)) {
            Some(sum) => total.usd = sum,
            None => total.unpriced = true,
        }
        total.coins.push(Valued { coin, amount, usd });
    }
    total
}

/// `amount` of `coin` at `price` USD a coin, in cents, half up; `None` if
/// it does not fit.
pub fn usd_value(coin: &Coin, amount: Amount, price: Decimal) -> Option<Amount> {
    let coins = Decimal::parse(&amount.to_decimal_string(coin.precision)).ok()?;
    let one = Decimal::parse("1").ok()?;
    coins
        .checked_mul(price)
        .ok()?
        .checked_div(one, Precision::new(USD_PLACES).ok()?, Rounding::HalfUp)
        .ok()
}

/// The first day of the UTC month of `day` (days since 1970-01-01).
fn first_of_month(day: i64) -> i64 {
    time::OffsetDateTime::from_unix_timestamp(day * DAY_SECS)
        .ok()
        .and_then(|at| at.date().replace_day(1).ok())
        .map_or(day, |first| {
            first
                .midnight()
                .assume_utc()
                .unix_timestamp()
                .div_euclid(DAY_SECS)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usd_values_are_exact_and_rounded_half_up_to_cents() {
        let registry = Registry::builtin();
        let eth = registry.coins().find(|coin| coin.symbol == "ETH");
        let eth = eth.expect("ETH is built in");
        let price = |text: &str| Decimal::parse(text).expect("a decimal");
        // 1.5 ETH (18 places) at 3000.25: 4500.375 → 4500.38.
        let one_and_a_half = Amount::from_base_units(1_500_000_000_000_000_000);
        assert_eq!(
            usd_value(eth, one_and_a_half, price("3000.25")),
            Some(Amount::from_base_units(450_038))
        );
        // One wei is worth nothing in cents; past u128 is no value, not a wrong one.
        assert_eq!(
            usd_value(eth, Amount::from_base_units(1), price("3000")),
            Some(Amount::ZERO)
        );
        assert_eq!(
            usd_value(eth, Amount::from_base_units(u128::MAX), price("3000")),
            None
        );
    }

    #[test]
    fn the_first_of_the_month_is_found_from_any_day() {
        // 2026-12-06 is day 20_793; 2026-12-01 is 20_788.
        assert_eq!(first_of_month(20_793), 20_788);
        assert_eq!(first_of_month(20_788), 20_788);
        // 2024-03-01 after a leap February: day 19_783.
        assert_eq!(first_of_month(19_783 + 30), 19_783);
    }
}
