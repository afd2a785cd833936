//! Where USD prices come from: a static table, or a live HTTP feed whose prices expire after a
//! staleness limit. `assets`, `coin/all` and `token/rate` all ask the same source, so they report
//! the same price, and a price too old to trust is an error (224066), never a silent fallback.

// Prices are exact: clippy.toml disallows the float types, and this keeps that an error even
// without `-D warnings`.
#![deny(clippy::disallowed_types, clippy::float_arithmetic)]

mod http;
mod number;

use ccgate_ledger::{CoinId, Decimal, PriceTable};

pub use http::{FEED_BODY_BYTES_MAX, HttpPriceFeed, HttpPriceFeedConfig, system_clock_ms};
pub use number::decimal_from_json_number;

/// A source of USD prices.
pub trait PriceSource: Send + Sync + std::fmt::Debug + 'static {
    /// The USD price of one whole `coin` as of `now_unix_ms`. The time is passed in rather than
    /// read so that callers use one clock for a whole request and tests need not sleep.
    fn coin_price(&self, coin: &CoinId, now_unix_ms: i64) -> Result<Decimal, PriceError>;
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PriceError {
    #[error("no price source is configured for coin {coin}")]
    Unknown { coin: CoinId },
    #[error("the price feed has not delivered a price for coin {coin} yet")]
    Unavailable { coin: CoinId },
    #[error("the price of coin {coin} is {age_ms} ms old, past the {limit_ms} ms staleness limit")]
    Stale {
        coin: CoinId,
        age_ms: u64,
        limit_ms: u64,
    },
    #[error("could not fetch prices: {0}")]
    Fetch(String),
    #[error("could not read the price feed's answer: {0}")]
    Parse(String),
    #[error("invalid price feed configuration: {0}")]
    Config(String),
}

/// Fixed prices from configuration; they never go stale.
#[derive(Clone, Debug)]
pub struct StaticPrices {
    table: PriceTable,
}

impl StaticPrices {
    pub fn new(table: PriceTable) -> StaticPrices {
        StaticPrices { table }
    }
}

impl PriceSource for StaticPrices {
    fn coin_price(&self, coin: &CoinId, _now_unix_ms: i64) -> Result<Decimal, PriceError> {
        self.table
            .price(coin)
            .ok_or_else(|| PriceError::Unknown { coin: coin.clone() })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::collections::BTreeMap;

    use super::*;

    #[test]
    fn static_prices_answer_from_the_table_at_any_time() {
        let btc = CoinId::new("btc");
        let table = PriceTable::new(BTreeMap::from([(
            btc.clone(),
            Decimal::parse("96250.5").unwrap(),
        )]));
        let source: Box<dyn PriceSource> = Box::new(StaticPrices::new(table));

        for now in [i64::MIN, 0, 1_000_000, i64::MAX] {
            assert_eq!(source.coin_price(&btc, now).unwrap().to_string(), "96250.5");
        }
        let doge = CoinId::new("doge");
        assert_eq!(
            source.coin_price(&doge, 0),
            Err(PriceError::Unknown { coin: doge })
        );
    }

    #[test]
    fn builtin_table_prices_every_builtin_coin() {
        let source = StaticPrices::new(PriceTable::builtin());
        for coin in ccgate_ledger::Registry::builtin().coins() {
            assert!(source.coin_price(&coin.id, 0).is_ok(), "{}", coin.symbol);
        }
    }

    #[test]
    fn errors_read_well() {
        let stale = PriceError::Stale {
            coin: CoinId::new("btc"),
            age_ms: 60_001,
            limit_ms: 60_000,
        };
        assert_eq!(
            stale.to_string(),
            "the price of coin btc is 60001 ms old, past the 60000 ms staleness limit"
        );
    }
}
