//! A live price source polling a CoinGecko-style "simple price" endpoint:
//! `{"bitcoin":{"usd":96250.5},"shiba-inu":{"usd":1.234e-05}}`.

use std::collections::BTreeMap;
use std::error::Error as _;
use std::fmt;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ccgate_ledger::{CoinId, Decimal};
use reqwest::Url;
use serde_json::value::RawValue;

use crate::number::decimal_from_json_number;
use crate::{PriceError, PriceSource};

/// Largest feed answer read. A simple-price answer for every coin we list is a few kilobytes;
/// the bound keeps a misbehaving feed from filling memory.
pub const FEED_BODY_BYTES_MAX: usize = 1024 * 1024;

/// The quote currency looked up under each feed id.
const QUOTE_CURRENCY: &str = "usd";

/// Raw values keep each number's text as sent, so it is converted exactly instead of via f64.
type FeedAnswer = BTreeMap<String, BTreeMap<String, Box<RawValue>>>;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpPriceFeedConfig {
    pub url: String,
    /// The feed's id for each coin priced (`bitcoin`, `tether`, ...).
    pub feed_ids: BTreeMap<CoinId, String>,
    pub refresh_interval_ms: u64,
    /// A price older than this is refused rather than used.
    pub staleness_limit_ms: u64,
    pub request_timeout_ms: u64,
}

#[derive(Clone, Copy, Debug)]
struct Fetched {
    price: Decimal,
    at_unix_ms: i64,
}

pub struct HttpPriceFeed {
    config: HttpPriceFeedConfig,
    url: Url,
    /// The url without query, fragment or credentials: feeds take API keys in the query string,
    /// and logs must not collect them.
    log_url: String,
    client: reqwest::Client,
    /// Read on every API request, written once per refresh.
    fetched: RwLock<BTreeMap<CoinId, Fetched>>,
}

impl HttpPriceFeed {
    pub fn new(config: HttpPriceFeedConfig) -> Result<HttpPriceFeed, PriceError> {
        let invalid = |why: String| Err(PriceError::Config(why));
        let url = match Url::parse(&config.url) {
            Ok(url) if matches!(url.scheme(), "http" | "https") => url,
            _ => return invalid("the url must be an http:// or https:// URL".to_owned()),
        };
        if config.feed_ids.is_empty() {
            return invalid("no coin is mapped to a feed id".to_owned());
        }
        // Zero would make the refresher spin and every request time out at once.
        if config.refresh_interval_ms == 0 || config.request_timeout_ms == 0 {
            return invalid(
                "the refresh interval and request timeout must be above 0 ms".to_owned(),
            );
        }
        // Otherwise prices would expire between two refreshes that both succeed.
        if config.staleness_limit_ms < config.refresh_interval_ms {
            return invalid(format!(
                "the staleness limit ({} ms) is shorter than the refresh interval ({} ms)",
                config.staleness_limit_ms, config.refresh_interval_ms
            ));
        }
        // A redirect would carry the query (and its API key) wherever the
        // answer says; a feed has no reason to give one.
        let client = reqwest::Client::builder()
            .timeout(Duration::from_millis(config.request_timeout_ms))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|err| PriceError::Config(format!("cannot build the HTTP client: {err}")))?;

        let mut log_url = url.clone();
        log_url.set_query(None);
        log_url.set_fragment(None);
        // Only fails for URLs that cannot carry credentials, which then have none to hide.
        let _ = log_url.set_username("");
        let _ = log_url.set_password(None);

        Ok(HttpPriceFeed {
            log_url: log_url.to_string(),
            url,
            client,
            config,
            fetched: RwLock::new(BTreeMap::new()),
        })
    }

    /// Fetches once and stores every configured coin the answer prices, stamped `now_unix_ms`.
    /// Returns how many coins were updated. A coin missing from the answer keeps its previous
    /// price and time, so it goes stale on its own; any error leaves every price untouched.
    pub async fn refresh(&self, now_unix_ms: i64) -> Result<usize, PriceError> {
        let body = self.fetch().await?;
        let prices = self.parse(&body)?;
        let mut fetched = self.fetched.write().unwrap_or_else(PoisonError::into_inner);
        let updated = prices.len();
        for (coin, price) in prices {
            let at_unix_ms = now_unix_ms;
            fetched.insert(coin, Fetched { price, at_unix_ms });
        }
        Ok(updated)
    }

    /// Refreshes now and then every refresh interval, until the handle is aborted or the
    /// runtime shuts down. Must be called inside a tokio runtime.
    pub fn spawn_refresher(self: Arc<Self>, clock: fn() -> i64) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            let interval = Duration::from_millis(self.config.refresh_interval_ms);
            loop {
                if let Err(error) = self.refresh(clock()).await {
                    tracing::warn!(url = %self.log_url, %error, "price feed refresh failed");
                }
                tokio::time::sleep(interval).await;
            }
        })
    }

    async fn fetch(&self) -> Result<Vec<u8>, PriceError> {
        let mut response = self
            .client
            .get(self.url.clone())
            .send()
            .await
            .map_err(fetch_error)?;
        let status = response.status();
        if !status.is_success() {
            return Err(PriceError::Fetch(format!(
                "the feed answered HTTP {status}"
            )));
        }
        // Read in chunks so an oversized answer is dropped at the bound, not after buffering.
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(fetch_error)? {
            if body.len() + chunk.len() > FEED_BODY_BYTES_MAX {
                return Err(PriceError::Fetch(format!(
                    "the feed's answer is larger than {FEED_BODY_BYTES_MAX} bytes"
                )));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }

    fn parse(&self, body: &[u8]) -> Result<BTreeMap<CoinId, Decimal>, PriceError> {
        let answer: FeedAnswer = serde_json::from_slice(body).map_err(|err| {
            PriceError::Parse(format!("expected {{\"<id>\":{{\"usd\":<number>}}}}: {err}"))
        })?;
        let mut prices = BTreeMap::new();
        for (coin, feed_id) in &self.config.feed_ids {
            let Some(raw) = answer.get(feed_id).and_then(|q| q.get(QUOTE_CURRENCY)) else {
                continue;
            };
            let price = decimal_from_json_number(raw.get()).map_err(|err| match err {
                PriceError::Parse(why) => PriceError::Parse(format!("{feed_id} price {why}")),
                other => other,
            })?;
            // A feed quoting a listed coin at 0 is broken; using it would value balances at 0.
            if price == Decimal::ZERO {
                return Err(PriceError::Parse(format!("{feed_id} price is 0")));
            }
            prices.insert(coin.clone(), price);
        }
        Ok(prices)
    }
}

impl fmt::Debug for HttpPriceFeed {
    // By hand so that an API key in the url's query never reaches a log through `{:?}`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpPriceFeed")
            .field("url", &self.log_url)
            .field("feed_ids", &self.config.feed_ids)
            .field("refresh_interval_ms", &self.config.refresh_interval_ms)
            .field("staleness_limit_ms", &self.config.staleness_limit_ms)
            .finish_non_exhaustive()
    }
}

impl PriceSource for HttpPriceFeed {
    fn coin_price(&self, coin: &CoinId, now_unix_ms: i64) -> Result<Decimal, PriceError> {
        if !self.config.feed_ids.contains_key(coin) {
            return Err(PriceError::Unknown { coin: coin.clone() });
        }
        let fetched = self.fetched.read().unwrap_or_else(PoisonError::into_inner);
        let Some(last) = fetched.get(coin) else {
            return Err(PriceError::Unavailable { coin: coin.clone() });
        };
        let limit_ms = self.config.staleness_limit_ms;
        match u64::try_from(now_unix_ms.saturating_sub(last.at_unix_ms)) {
            Ok(age_ms) if age_ms > limit_ms => Err(PriceError::Stale {
                coin: coin.clone(),
                age_ms,
                limit_ms,
            }),
            // A negative age means the clock stepped back; the next refresh restamps the price,
            // so it is trusted for at most one more interval.
            _ => Ok(last.price),
        }
    }
}

/// Unix time in milliseconds from the system clock, for `spawn_refresher` and `coin_price`.
pub fn system_clock_ms() -> i64 {
    match SystemTime::now().duration_since(UNIX_EPOCH) {
        Ok(since) => i64::try_from(since.as_millis()).unwrap_or(i64::MAX),
        // Only a broken clock reads before 1970; counting on below zero keeps ages right.
        Err(before) => i64::try_from(before.duration().as_millis()).map_or(i64::MIN, |ms| -ms),
    }
}

/// reqwest's own message hides the cause ("error sending request"); the chain names it
/// (connection refused, timed out). The url is dropped because it may carry an API key.
fn fetch_error(err: reqwest::Error) -> PriceError {
    let err = err.without_url();
    let mut message = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    PriceError::Fetch(message)
}
