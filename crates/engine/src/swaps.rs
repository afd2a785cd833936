//! Swaps between coins against the operator's treasury (docs/decisions.md
//! §25): the coins that can be swapped, quotes at the price source's rate
//! less the operator's spread and fee, kept for a stated time and honoured,
//! and the swap itself, its record and its journal entry in one DB
//! transaction. The payer is a [`SwapParty`]: the merchant itself, or one of
//! its users (§25.1), who pays the merchant's markup on top.

use std::collections::BTreeSet;
use std::sync::Arc;

use ccgate_ledger::swap::{
    SwapFigures, SwapLegs, SwapSide, SwapTerms, USD_PLACES, extra_fee, parse_ppm_rate,
    ppm_rate_text, price_swap, swap_entry, swap_rate_text, usd_value,
};
use ccgate_ledger::{
    Account, Amount, AssetStatus, Coin, CoinId, Decimal, LedgerError, MerchantId, Registry,
};
use ccgate_pricefeed::PriceSource;
use ccgate_store::{
    DailyUsage, EntryMeta, Store, StoreError, Swap, SwapPricing, SwapQuery, SwapQuote, SwapStore,
    WalletStore,
};

use crate::amounts::positive_amount;
use crate::{EngineError, RecordIds, Rejection};

/// The journal's word for a swap's entry.
const SWAP_KIND: &str = "swap";
/// A daily swap limit's day: UTC, by the business clock.
const SECS_PER_DAY: i64 = 86_400;
/// How long a quote is honoured by default.
pub const QUOTE_VALIDITY_SECS_DEFAULT: u64 = 30;

/// The operator's swap settings (`[swap]` in the configuration).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SwapSettings {
    pub terms: SwapTerms,
    pub quote_validity_secs: u64,
    /// The USD value a merchant (with its users) may swap per UTC day,
    /// unless the operator set its own (docs/decisions.md §29); `None`: no
    /// limit.
    pub daily_limit_usd: Option<Decimal>,
}

impl Default for SwapSettings {
    fn default() -> SwapSettings {
        SwapSettings {
            terms: SwapTerms {
                spread_ppm: 2_000,
                fee_ppm: 5_000,
                // The spec's minimum fee: 0.1 USDT worth of the output coin.
                fee_min_usd: Decimal::parse("0.1").unwrap_or(Decimal::ZERO),
            },
            quote_validity_secs: QUOTE_VALIDITY_SECS_DEFAULT,
            daily_limit_usd: None,
        }
    }
}

/// Who pays the input coin and receives the output coin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SwapParty {
    /// The merchant's own available balance (`swap`).
    Merchant(MerchantId),
    /// One of the merchant's users (`userSwap`): `(app_id, user_id)`.
    User(MerchantId, String),
}

impl SwapParty {
    fn app_id(&self) -> &MerchantId {
        match self {
            SwapParty::Merchant(app_id) | SwapParty::User(app_id, _) => app_id,
        }
    }

    /// The user the record names; `None` for the merchant's own swaps.
    fn user_id(&self) -> Option<String> {
        match self {
            SwapParty::Merchant(_) => None,
            SwapParty::User(_, user_id) => Some(user_id.clone()),
        }
    }

    fn account(&self) -> Account {
        match self {
            SwapParty::Merchant(app_id) => Account::MerchantAvailable(app_id.clone()),
            SwapParty::User(app_id, user_id) => Account::User(app_id.clone(), user_id.clone()),
        }
    }
}

/// What a swap or a quote is asked for.
#[derive(Debug, Clone, Copy)]
pub struct SwapAsk<'a> {
    pub coin_in: &'a Coin,
    pub coin_out: &'a Coin,
    /// Decimal text in the input coin.
    pub amount_in: &'a str,
    /// The merchant's markup on a user's swap (`extraFeeRate`, decimal
    /// text); `None` is none.
    pub extra_fee_rate: Option<&'a str>,
}

/// A swap's or a quote's figures as the answers show them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Described<'r> {
    pub coin_in: &'r Coin,
    pub coin_out: &'r Coin,
    /// `amountOut / amountIn` in whole coins.
    pub swap_rate: String,
    /// `feeRate`, e.g. `"0.005"`.
    pub fee_rate: String,
    /// `extraFeeRate`, e.g. `"0.01"`; `"0"` without a markup.
    pub extra_fee_rate: String,
    pub net_out: Amount,
}

#[derive(Debug)]
pub struct Swaps {
    registry: Arc<Registry>,
    prices: Arc<dyn PriceSource>,
    /// The ledger store behind the read cache, told when balances change.
    store: Arc<dyn Store>,
    swaps: Arc<dyn SwapStore>,
    /// Which users exist: only they swap.
    wallet: Arc<dyn WalletStore>,
    settings: SwapSettings,
    /// Chains followed on a node: a coin with a token on one is live money,
    /// which simulated money may never be swapped into.
    live_chains: BTreeSet<String>,
    ids: RecordIds,
}

impl Swaps {
    pub fn new(
        registry: Arc<Registry>,
        prices: Arc<dyn PriceSource>,
        store: Arc<dyn Store>,
        swaps: Arc<dyn SwapStore>,
        wallet: Arc<dyn WalletStore>,
        settings: SwapSettings,
        live_chains: BTreeSet<String>,
    ) -> Swaps {
        Swaps {
            registry,
            prices,
            store,
            swaps,
            wallet,
            settings,
            live_chains,
            ids: RecordIds::default(),
        }
    }

    /// `getSwapCoinList`: every coin not under maintenance that the price
    /// source prices now, in registry order.
    pub fn coins(&self, now_unix_ms: i64) -> Vec<&Coin> {
        self.registry
            .coins()
            .filter(|coin| coin.status != AssetStatus::Maintenance)
            .filter(|coin| self.prices.coin_price(&coin.id, now_unix_ms).is_ok())
            .collect()
    }

    /// `estimate`: the figures of `ask` at the current price, kept as the
    /// merchant's quote for the stated time.
    pub async fn estimate(
        &self,
        app_id: &MerchantId,
        ask: &SwapAsk<'_>,
        now_unix_ms: i64,
    ) -> Result<SwapPricing, EngineError> {
        let amount_in = self.amount_in(ask)?;
        extra_fee_ppm(ask)?;
        if self.swaps.swap_policy(app_id).await?.disabled {
            return Err(Rejection::SwapsDisabled.into());
        }
        let pricing = self.price_now(ask, amount_in, now_unix_ms)?;
        let validity_ms = i64::try_from(self.settings.quote_validity_secs.saturating_mul(1000))
            .unwrap_or(i64::MAX);
        let quote = SwapQuote {
            app_id: app_id.clone(),
            terms: pricing.clone(),
            expires_at_ms: now_unix_ms.saturating_add(validity_ms),
        };
        self.swaps.save_swap_quote(&quote, now_unix_ms).await?;
        // The kept quote holds the gateway's figures; a markup goes on top.
        with_markup(pricing, extra_fee_ppm(ask)?, ask)
    }

    /// `swap`: pays `ask` out of `party`'s balance at its live quote, or at
    /// the current price without one; refused if that gives less than
    /// `amount_out_minimum`. The same swap again for a repeated identical
    /// `merchant_order_id`.
    pub async fn swap(
        &self,
        party: &SwapParty,
        merchant_order_id: &str,
        ask: &SwapAsk<'_>,
        amount_out_minimum: Option<&str>,
        now_unix_ms: i64,
    ) -> Result<Swap, EngineError> {
        let app_id = party.app_id();
        if let SwapParty::User(_, user_id) = party
            && !self.wallet.wallet_user_exists(app_id, user_id).await?
        {
            return Err(Rejection::UserNotFound(user_id.clone()).into());
        }
        let amount_in = self.amount_in(ask)?;
        // The markup is the merchant's on its users; its own swaps have none.
        let extra_ppm = match party {
            SwapParty::Merchant(_) => 0,
            SwapParty::User(..) => extra_fee_ppm(ask)?,
        };
        let minimum = amount_out_minimum
            .map(|text| {
                Amount::parse_decimal(text.trim(), ask.coin_out.precision).map_err(|_| {
                    Rejection::AmountInvalid(format!(
                        "amountOutMinimum must be a decimal number of at most {} decimal places",
                        ask.coin_out.precision.get()
                    ))
                })
            })
            .transpose()?
            .filter(|minimum| !minimum.is_zero());
        if let Some(existing) = self
            .swaps
            .swap_by_merchant_order_id(app_id, merchant_order_id)
            .await?
        {
            return same_or_duplicate(
                existing,
                party,
                ask,
                amount_in,
                extra_ppm,
                merchant_order_id,
            );
        }
        let policy = self.swaps.swap_policy(app_id).await?;
        if policy.disabled {
            return Err(Rejection::SwapsDisabled.into());
        }
        let pricing = match self
            .swaps
            .live_swap_quote(
                app_id,
                &ask.coin_in.id,
                &ask.coin_out.id,
                amount_in,
                now_unix_ms,
            )
            .await?
        {
            // Checked again: the coins may have stopped since the quote.
            Some(quote) => {
                self.check_pair(ask)?;
                quote.terms
            }
            None => self.price_now(ask, amount_in, now_unix_ms)?,
        };
        let pricing = with_markup(pricing, extra_ppm, ask)?;
        let net_out = pricing.net_out()?;
        if let Some(minimum) = minimum
            && net_out < minimum
        {
            return Err(Rejection::SwapBelowMinimum(format!(
                "the swap gives {} {}, less than amountOutMinimum {}: the price moved beyond the quote",
                net_out.to_decimal_string(ask.coin_out.precision),
                ask.coin_out.symbol,
                minimum.to_decimal_string(ask.coin_out.precision),
            ))
            .into());
        }
        let now_secs = now_unix_ms.div_euclid(1000);
        let limit = match &policy.daily_limit_usd {
            Some(text) => Some(Decimal::parse(text).map_err(|_| {
                StoreError::Corrupt(format!("the daily swap limit {text:?} is not a number"))
            })?),
            None => self.settings.daily_limit_usd,
        };
        let usage = match limit {
            Some(limit) => Some(self.daily_usage(ask.coin_in, &pricing, limit, now_secs)?),
            None => None,
        };
        let swap = Swap {
            record_id: self.ids.next(now_unix_ms),
            app_id: app_id.clone(),
            user_id: party.user_id(),
            merchant_order_id: merchant_order_id.to_owned(),
            terms: pricing,
            amount_out_minimum: minimum,
            created_at: now_secs,
        };
        let entry = swap_entry(&party.account(), app_id, &legs(&swap.terms))?;
        let meta = EntryMeta {
            kind: SWAP_KIND,
            reason: format!("swap {}", swap.record_id),
            created_at: now_secs,
        };
        let treasury_key = Account::OperatorTreasury.key();
        let stored = match self
            .swaps
            .accept_swap(&swap, &entry, &meta, usage.as_ref())
            .await
        {
            Err(StoreError::SwapDailyLimit) => {
                return Err(self.over_limit(app_id, ask.coin_in, usage).await);
            }
            other => other,
        };
        let stored = stored.map_err(|err| match err {
            StoreError::Ledger(LedgerError::InsufficientBalance { account_key, .. })
                if account_key == treasury_key =>
            {
                EngineError::from(Rejection::TreasuryShort(ask.coin_out.symbol.clone()))
            }
            StoreError::Ledger(LedgerError::InsufficientBalance { .. }) => {
                EngineError::from(Rejection::SwapBalanceShort(ask.coin_in.symbol.clone()))
            }
            other => other.into(),
        })?;
        self.store.balances_changed(app_id);
        same_or_duplicate(stored, party, ask, amount_in, extra_ppm, merchant_order_id)
    }

    /// The swap's share of its merchant's day: its input's USD value at
    /// the price it is made at; refused at once when that alone passes the
    /// limit.
    fn daily_usage(
        &self,
        coin_in: &Coin,
        pricing: &SwapPricing,
        limit: Decimal,
        now_secs: i64,
    ) -> Result<DailyUsage, EngineError> {
        let price_usd = Decimal::parse(&pricing.price_in)?;
        let usd_micros = usd_value(
            pricing.amount_in,
            SwapSide {
                precision: coin_in.precision,
                price_usd,
            },
        )?;
        let places = ccgate_ledger::Precision::new(USD_PLACES)?;
        // Limits are set with at most USD_PLACES places (config, CLI).
        let limit_micros = limit.to_amount(places)?;
        let usage = DailyUsage {
            day: now_secs.div_euclid(SECS_PER_DAY),
            usd_micros,
            limit_micros,
        };
        if usd_micros > limit_micros {
            return Err(limit_refusal(coin_in, usage, Amount::ZERO));
        }
        Ok(usage)
    }

    /// The refusal of a swap the day's count had no room for, with what
    /// is left of the day.
    async fn over_limit(
        &self,
        app_id: &MerchantId,
        coin_in: &Coin,
        usage: Option<DailyUsage>,
    ) -> EngineError {
        let Some(usage) = usage else {
            return StoreError::Corrupt("a daily swap limit without one".into()).into();
        };
        match self.swaps.swap_usage(app_id, usage.day).await {
            Ok(used) => limit_refusal(coin_in, usage, used),
            Err(err) => err.into(),
        }
    }

    /// The merchant's swap with this record id.
    pub async fn by_record_id(
        &self,
        app_id: &MerchantId,
        record_id: &str,
    ) -> Result<Option<Swap>, EngineError> {
        Ok(self.swaps.swap_by_record_id(app_id, record_id).await?)
    }

    /// The merchant's swap with this `orderId`.
    pub async fn by_merchant_order_id(
        &self,
        app_id: &MerchantId,
        merchant_order_id: &str,
    ) -> Result<Option<Swap>, EngineError> {
        Ok(self
            .swaps
            .swap_by_merchant_order_id(app_id, merchant_order_id)
            .await?)
    }

    /// The merchant's swaps `query` picks, newest first.
    pub async fn list(
        &self,
        app_id: &MerchantId,
        query: &SwapQuery,
    ) -> Result<Vec<Swap>, EngineError> {
        Ok(self.swaps.merchant_swaps(app_id, query).await?)
    }

    /// The coins, rate and fee rate of a swap's or quote's figures.
    pub fn describe<'r>(&'r self, pricing: &SwapPricing) -> Result<Described<'r>, EngineError> {
        let coin = |id: &CoinId| {
            self.registry.coin(id).ok_or_else(|| {
                EngineError::Store(StoreError::Corrupt(format!(
                    "a swap names coin {id}, which is not configured"
                )))
            })
        };
        let coin_in = coin(&pricing.coin_in)?;
        let coin_out = coin(&pricing.coin_out)?;
        let figures = SwapFigures {
            amount_in: pricing.amount_in,
            amount_out: pricing.amount_out,
            fee: pricing.fee,
            net_out: pricing.net_out()?,
        };
        Ok(Described {
            coin_in,
            coin_out,
            swap_rate: swap_rate_text(&figures, coin_in.precision, coin_out.precision)?,
            fee_rate: SwapTerms {
                fee_ppm: pricing.fee_ppm,
                ..self.settings.terms
            }
            .fee_rate_text(),
            extra_fee_rate: ppm_rate_text(pricing.extra_fee_ppm),
            net_out: figures.net_out,
        })
    }

    fn amount_in(&self, ask: &SwapAsk<'_>) -> Result<Amount, EngineError> {
        let coin = ask.coin_in;
        positive_amount(
            "amountIn",
            ask.amount_in,
            coin.precision,
            coin.precision,
            &coin.symbol,
        )
    }

    /// Refuses a pair that cannot be swapped: one coin twice, a coin under
    /// maintenance, or simulated money into live money (or back).
    fn check_pair(&self, ask: &SwapAsk<'_>) -> Result<(), EngineError> {
        let (from, to) = (ask.coin_in, ask.coin_out);
        let unavailable = |why: String| EngineError::from(Rejection::SwapCoinUnavailable(why));
        if from.id == to.id {
            return Err(unavailable(format!(
                "{} cannot be swapped into itself",
                from.symbol
            )));
        }
        for coin in [from, to] {
            if coin.status == AssetStatus::Maintenance {
                return Err(unavailable(format!("{} is under maintenance", coin.symbol)));
            }
        }
        let live = |coin: &Coin| {
            coin.tokens
                .iter()
                .any(|token| self.live_chains.contains(token.chain.as_str()))
        };
        if live(from) != live(to) {
            return Err(unavailable(format!(
                "{} and {} are not both live or both simulated",
                from.symbol, to.symbol
            )));
        }
        Ok(())
    }

    fn price_now(
        &self,
        ask: &SwapAsk<'_>,
        amount_in: Amount,
        now_unix_ms: i64,
    ) -> Result<SwapPricing, EngineError> {
        self.check_pair(ask)?;
        let price_in = self.prices.coin_price(&ask.coin_in.id, now_unix_ms)?;
        let price_out = self.prices.coin_price(&ask.coin_out.id, now_unix_ms)?;
        let terms = &self.settings.terms;
        let figures = price_swap(
            amount_in,
            SwapSide {
                precision: ask.coin_in.precision,
                price_usd: price_in,
            },
            SwapSide {
                precision: ask.coin_out.precision,
                price_usd: price_out,
            },
            terms,
        )
        .map_err(|err| match err {
            LedgerError::SwapFeeTakesAll { .. } => {
                EngineError::from(Rejection::SwapAmountTooLow(format!(
                    "amountIn is too small: the fee would take the whole {} output",
                    ask.coin_out.symbol
                )))
            }
            LedgerError::AmountOverflow => {
                Rejection::AmountInvalid("amountIn is too large".to_owned()).into()
            }
            LedgerError::SwapPriceZero => Rejection::SwapCoinUnavailable(format!(
                "{} or {} has no price",
                ask.coin_in.symbol, ask.coin_out.symbol
            ))
            .into(),
            other => EngineError::Ledger(other),
        })?;
        Ok(SwapPricing {
            coin_in: ask.coin_in.id.clone(),
            coin_out: ask.coin_out.id.clone(),
            amount_in: figures.amount_in,
            amount_out: figures.amount_out,
            fee: figures.fee,
            price_in: price_in.to_string(),
            price_out: price_out.to_string(),
            fee_ppm: terms.fee_ppm,
            extra_fee: Amount::ZERO,
            extra_fee_ppm: 0,
        })
    }
}

/// A daily swap limit as the operator writes it (`[swap] daily_limit_usd`,
/// `ccgate merchant set-swaps --daily-limit-usd`): USD, a decimal number
/// with at most 6 places.
pub fn parse_daily_limit_usd(text: &str) -> Result<Decimal, String> {
    let places = ccgate_ledger::Precision::new(USD_PLACES).map_err(|err| err.to_string())?;
    Decimal::parse(text.trim())
        .ok()
        .filter(|limit| limit.to_amount(places).is_ok())
        .ok_or_else(|| {
            format!("{text:?} is not an amount of USD with at most {USD_PLACES} decimal places")
        })
}

/// `16004`, saying how much of the day is used and what the limit is.
fn limit_refusal(coin_in: &Coin, usage: DailyUsage, used: Amount) -> EngineError {
    let places = ccgate_ledger::Precision::new(USD_PLACES).unwrap_or(ccgate_ledger::Precision::MAX);
    Rejection::SwapDailyLimit(format!(
        "this swap of {} is worth {} USD; the merchant's swaps today already count {} USD of its daily limit of {} USD",
        coin_in.symbol,
        usage.usd_micros.to_decimal_string(places),
        used.to_decimal_string(places),
        usage.limit_micros.to_decimal_string(places),
    ))
    .into()
}

/// `extraFeeRate` in parts per million: at most 6 places, below 1.
fn extra_fee_ppm(ask: &SwapAsk<'_>) -> Result<u32, EngineError> {
    let Some(text) = ask.extra_fee_rate else {
        return Ok(0);
    };
    parse_ppm_rate(text.trim())
        .ok()
        .filter(|ppm| *ppm < ccgate_ledger::swap::PPM)
        .ok_or_else(|| {
            Rejection::AmountInvalid(
                "extraFeeRate must be a decimal rate of at most 6 places, at least 0 and below 1"
                    .to_owned(),
            )
            .into()
        })
}

/// `pricing` with the merchant's markup of `extra_ppm` taken out of the
/// payer's output; refused when the fees would leave the payer nothing.
fn with_markup(
    pricing: SwapPricing,
    extra_ppm: u32,
    ask: &SwapAsk<'_>,
) -> Result<SwapPricing, EngineError> {
    let extra = extra_fee(pricing.amount_out, extra_ppm)?;
    let marked = SwapPricing {
        extra_fee: extra,
        extra_fee_ppm: extra_ppm,
        ..pricing
    };
    match marked.net_out() {
        Ok(net) if !net.is_zero() => Ok(marked),
        _ => Err(Rejection::SwapAmountTooLow(format!(
            "amountIn is too small: the fee and extraFee would take the whole {} output",
            ask.coin_out.symbol
        ))
        .into()),
    }
}

/// The amounts a swap's figures post.
fn legs(pricing: &SwapPricing) -> SwapLegs<'_> {
    SwapLegs {
        coin_in: &pricing.coin_in,
        coin_out: &pricing.coin_out,
        amount_in: pricing.amount_in,
        amount_out: pricing.amount_out,
        fee: pricing.fee,
        extra_fee: pricing.extra_fee,
    }
}

/// The stored swap if it is what was asked again, else a reused order id.
fn same_or_duplicate(
    swap: Swap,
    party: &SwapParty,
    ask: &SwapAsk<'_>,
    amount_in: Amount,
    extra_ppm: u32,
    merchant_order_id: &str,
) -> Result<Swap, EngineError> {
    let same = swap.user_id == party.user_id()
        && swap.terms.extra_fee_ppm == extra_ppm
        && swap.terms.coin_in == ask.coin_in.id
        && swap.terms.coin_out == ask.coin_out.id
        && swap.terms.amount_in == amount_in;
    if same {
        Ok(swap)
    } else {
        Err(
            Rejection::DuplicateMerchantOrderId(merchant_order_id.chars().take(64).collect())
                .into(),
        )
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::collections::BTreeMap;

    use ccgate_ledger::{Books, JournalEntry};
    use proptest::prelude::*;

    use super::*;

    fn coin(n: u8) -> CoinId {
        CoinId::new(format!("c{n}"))
    }

    /// Prices a test moves while the swaps run.
    #[derive(Debug, Default)]
    struct MovingPrices(std::sync::Mutex<BTreeMap<CoinId, Decimal>>);

    impl MovingPrices {
        fn set(&self, coin: &Coin, price: &str) {
            self.0
                .lock()
                .unwrap()
                .insert(coin.id.clone(), Decimal::parse(price).unwrap());
        }
    }

    impl PriceSource for MovingPrices {
        fn coin_price(
            &self,
            coin: &CoinId,
            _now_unix_ms: i64,
        ) -> Result<Decimal, ccgate_pricefeed::PriceError> {
            self.0
                .lock()
                .unwrap()
                .get(coin)
                .copied()
                .ok_or_else(|| ccgate_pricefeed::PriceError::Unknown { coin: coin.clone() })
        }
    }

    /// Over a real SQLite file: a quote is honoured at its figures while
    /// the price moves against the treasury; once expired, the swap is priced
    /// now, and refused when that is below the caller's minimum — the price
    /// moved beyond the quote — or done at the better price when it moved
    /// the other way.
    #[tokio::test]
    async fn quotes_are_honoured_until_they_expire_then_the_minimum_guards() {
        use ccgate_store::{MasterKey, SqliteStore, generate_app_id, generate_app_secret};

        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("ccgate.db"), MasterKey::generate())
            .await
            .unwrap();
        let registry = Arc::new(Registry::builtin());
        let usdt = registry.coin_by_numeric_id(1280).unwrap().clone();
        let matic = registry.coin_by_numeric_id(1329).unwrap().clone();
        let prices = Arc::new(MovingPrices::default());
        prices.set(&usdt, "1");
        prices.set(&matic, "0.5");
        // No spread and no fee: the output is the input at the two prices.
        let settings = SwapSettings {
            terms: SwapTerms {
                spread_ppm: 0,
                fee_ppm: 0,
                fee_min_usd: Decimal::ZERO,
            },
            quote_validity_secs: 30,
            daily_limit_usd: None,
        };
        let swaps = Swaps::new(
            Arc::clone(&registry),
            prices.clone(),
            Arc::new(store.clone()),
            Arc::new(store.clone()),
            Arc::new(store.clone()),
            settings,
            BTreeSet::new(),
        );
        let app_id = MerchantId::new(generate_app_id(1_700_000_000));
        store
            .create_merchant(&app_id, &generate_app_secret(), "shop", 1_700_000_000, None)
            .await
            .unwrap();
        let fund = |account: Account, coin: &Coin, amount: &str| {
            JournalEntry::transfer(
                Account::OperatorAdjustments,
                account,
                coin.id.clone(),
                Amount::parse_decimal(amount, coin.precision).unwrap(),
            )
            .unwrap()
        };
        let meta = EntryMeta {
            kind: "adjustment",
            reason: "test".to_owned(),
            created_at: 0,
        };
        store
            .post_entry(
                &fund(Account::MerchantAvailable(app_id.clone()), &usdt, "100"),
                &meta,
            )
            .await
            .unwrap();
        store
            .post_entry(&fund(Account::OperatorTreasury, &matic, "1000"), &meta)
            .await
            .unwrap();
        let party = SwapParty::Merchant(app_id.clone());
        let ask = SwapAsk {
            coin_in: &usdt,
            coin_out: &matic,
            amount_in: "10",
            extra_fee_rate: None,
        };
        let whole = |amount: Amount| amount.to_decimal_string(matic.precision);
        let t0 = 1_700_000_000_000;

        let quote = swaps.estimate(&app_id, &ask, t0).await.unwrap();
        assert_eq!(whole(quote.amount_out), "20");
        // MATIC doubles: now 10 USDT buys 10, but the quote is honoured.
        prices.set(&matic, "1");
        let honoured = swaps
            .swap(&party, "q-1", &ask, Some("20"), t0 + 29_000)
            .await
            .unwrap();
        assert_eq!(whole(honoured.terms.net_out().unwrap()), "20");
        assert_eq!(honoured.terms.price_out, "0.5");

        // Quoted at 1, MATIC doubles again, the quote expires: the swap at
        // today's price gives 5, below the quote's 10 — refused, nothing moves.
        let t1 = t0 + 60_000;
        let quote = swaps.estimate(&app_id, &ask, t1).await.unwrap();
        assert_eq!(whole(quote.amount_out), "10");
        prices.set(&matic, "2");
        let refused = swaps
            .swap(&party, "q-2", &ask, Some("10"), t1 + 30_000)
            .await;
        assert!(
            matches!(
                refused,
                Err(EngineError::Rejected(Rejection::SwapBelowMinimum(_)))
            ),
            "{refused:?}"
        );
        assert!(
            swaps
                .by_merchant_order_id(&app_id, "q-2")
                .await
                .unwrap()
                .is_none()
        );
        // Without a minimum the caller takes today's price.
        let taken = swaps
            .swap(&party, "q-3", &ask, None, t1 + 31_000)
            .await
            .unwrap();
        assert_eq!(whole(taken.terms.net_out().unwrap()), "5");

        // Quoted at 2, MATIC halves, the quote expires: the better price.
        let t2 = t1 + 120_000;
        swaps.estimate(&app_id, &ask, t2).await.unwrap();
        prices.set(&matic, "1");
        let better = swaps
            .swap(&party, "q-4", &ask, Some("5"), t2 + 30_000)
            .await
            .unwrap();
        assert_eq!(whole(better.terms.net_out().unwrap()), "10");

        let balances = store.merchant_balances(&app_id).await.unwrap();
        let held = |coin: &Coin| {
            balances
                .iter()
                .find(|b| b.coin == coin.id)
                .map(|b| whole_of(coin, b.balance.available().unwrap()))
        };
        assert_eq!(held(&usdt).as_deref(), Some("70"));
        assert_eq!(held(&matic).as_deref(), Some("35"));
        let audit = ccgate_store::verify_ledger(&store).await.unwrap();
        assert!(audit.mismatches.is_empty(), "{:?}", audit.mismatches);
    }

    fn whole_of(coin: &Coin, amount: Amount) -> String {
        amount.to_decimal_string(coin.precision)
    }

    /// Any sequence of swaps between three coins, from funded merchants
    /// against a funded treasury, applied to in-memory books as the store
    /// applies them: the journal balances, no account that may not go
    /// negative does, and a swap the books refuse changes nothing.
    #[test]
    fn swaps_keep_the_journal_balanced_and_no_account_negative() {
        let terms = SwapSettings::default().terms;
        let prices = ["1", "0.5", "3512.87654321"];
        let places = [6u8, 18, 8];
        let strategy =
            proptest::collection::vec((0u8..2, 0u8..3, 0u8..3, 1u128..10u128.pow(20)), 1..40);
        proptest!(|(swaps in strategy)| {
            let mut books = Books::default();
            let merchants = [MerchantId::new("m0"), MerchantId::new("m1")];
            for n in 0..3u8 {
                let fund = |account: Account, amount: u128| {
                    JournalEntry::transfer(
                        Account::OperatorAdjustments,
                        account,
                        coin(n),
                        Amount::from_base_units(amount),
                    )
                    .unwrap()
                };
                books.post(fund(Account::OperatorTreasury, 10u128.pow(22))).unwrap();
                for merchant in &merchants {
                    books.post(fund(Account::MerchantAvailable(merchant.clone()), 10u128.pow(21))).unwrap();
                }
            }
            for (who, from, to, amount) in swaps {
                if from == to {
                    continue;
                }
                let side = |n: u8| SwapSide {
                    precision: ccgate_ledger::Precision::new(places[usize::from(n)]).unwrap(),
                    price_usd: Decimal::parse(prices[usize::from(n)]).unwrap(),
                };
                let Ok(figures) = price_swap(Amount::from_base_units(amount), side(from), side(to), &terms) else {
                    continue;
                };
                let pricing = SwapPricing {
                    coin_in: coin(from),
                    coin_out: coin(to),
                    amount_in: figures.amount_in,
                    amount_out: figures.amount_out,
                    fee: figures.fee,
                    price_in: String::new(),
                    price_out: String::new(),
                    fee_ppm: terms.fee_ppm,
                    extra_fee: Amount::ZERO,
                    extra_fee_ppm: 0,
                };
                let merchant = &merchants[usize::from(who)];
                let payer = Account::MerchantAvailable(merchant.clone());
                let entry = swap_entry(&payer, merchant, &legs(&pricing)).unwrap();
                let before = books.clone();
                if books.post(entry).is_err() {
                    prop_assert_eq!(&books, &before);
                }
            }
            let mut totals: BTreeMap<CoinId, (u128, u128)> = BTreeMap::new();
            for ((account, coin), balance) in books.balances() {
                let total = totals.entry(coin.clone()).or_default();
                total.0 += balance.debits_posted.base_units();
                total.1 += balance.credits_posted.base_units();
                prop_assert!(balance.check(account.balance_rule()).is_ok(), "{}", account.key());
            }
            for (coin, (debits, credits)) in totals {
                prop_assert_eq!(debits, credits, "{}", coin);
            }
            prop_assert_eq!(Books::replay(books.journal()).unwrap(), books);
        });
    }
}
