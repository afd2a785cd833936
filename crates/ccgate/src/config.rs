//! The configuration file (`--config FILE` / `CCGATE_CONFIG`): it adds,
//! replaces or disables chains and coins of the built-in registry, overrides
//! static prices and fiat rates, and can switch prices to a live HTTP feed.
//! Every problem stops start-up with the file, the key and what is wrong.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use ccgate_chain::EvmNodeConfig;
use ccgate_chain::evm::{
    LOG_RANGE_BLOCKS_DEFAULT, MAX_REPLACEMENTS_DEFAULT, POLL_INTERVAL_MS_DEFAULT,
    RECONCILE_ACTIVE_SECS_DEFAULT, RECONCILE_ADDRESSES_PER_TICK_DEFAULT,
    RECONCILE_INTERVAL_MS_DEFAULT, REPLACE_AFTER_MS_DEFAULT, RPC_TIMEOUT_MS_DEFAULT,
    TOKEN_TRANSFER_GAS_DEFAULT, TraceChoice,
};
use ccgate_engine::mode::Mode;
use ccgate_engine::swaps::SwapSettings;
use ccgate_ledger::{
    Amount, AssetStatus, Chain, ChainCode, ChainFamily, Coin, CoinId, Decimal, Precision,
    PriceTable, Registry, Token, TokenId, builtin_fiat_rates, derived_numeric_id,
};
use ccgate_pricefeed::HttpPriceFeedConfig;
use serde::Deserialize;

/// Everything the configuration decides, validated.
#[derive(Debug, Clone)]
pub struct Settings {
    pub registry: Registry,
    pub prices: PriceTable,
    /// Units of each currency one US dollar buys (USD = 1).
    pub fiat_rates: BTreeMap<String, Decimal>,
    pub price_feed: Option<HttpPriceFeedConfig>,
    /// Run `serve` as a sandbox (virtual clock, sandbox controls), as
    /// `serve --sandbox` does.
    pub sandbox: bool,
    /// With live money, let webhooks reach loopback and private addresses
    /// (a receiver on the gateway's host or network), as
    /// `serve --allow-private-webhooks` does.
    pub allow_private_webhooks: bool,
    /// The chains followed on a real EVM node, by chain code; the others run
    /// on the devnet (simulated mode, or live with the opt-in) or are disabled.
    pub evm: BTreeMap<String, EvmNodeConfig>,
    /// Live or simulated money (docs/decisions.md §1).
    pub mode: Mode,
    /// Live mode: the chains taken out because no node follows them.
    pub disabled_chains: Vec<ChainCode>,
    /// The operator's spread, fee and quote validity for swaps
    /// (docs/decisions.md §25).
    pub swap: SwapSettings,
}

/// A configuration problem before its file is known: the key and what is wrong.
type Problem = (String, String);

#[derive(Debug, thiserror::Error)]
#[error("config {file}: {key}: {problem}")]
pub struct ConfigError {
    file: String,
    key: String,
    problem: String,
}

const FEED_REFRESH_INTERVAL_MS_DEFAULT: u64 = 60_000;
const FEED_STALENESS_LIMIT_MS_DEFAULT: u64 = 300_000;
const FEED_REQUEST_TIMEOUT_MS_DEFAULT: u64 = 10_000;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    chains: Vec<ChainSection>,
    #[serde(default)]
    coins: Vec<CoinSection>,
    /// Coin symbols or ids to remove.
    #[serde(default)]
    disable_coins: Vec<String>,
    /// Chain codes to remove, with every token on them.
    #[serde(default)]
    disable_chains: Vec<String>,
    /// Static USD prices by coin symbol or id.
    #[serde(default)]
    prices: BTreeMap<String, String>,
    /// Units per USD by currency code.
    #[serde(default)]
    fiat: BTreeMap<String, String>,
    price_feed: Option<FeedSection>,
    #[serde(default)]
    sandbox: bool,
    /// `live` or `simulated`; without it, live exactly when a chain follows
    /// a node.
    mode: Option<String>,
    /// Live mode: keep the chains without a node as devnets, their tokens
    /// belonging to separate devnet coins.
    #[serde(default)]
    allow_devnet_beside_live: bool,
    #[serde(default)]
    allow_private_webhooks: bool,
    /// Nodes of EVM chains, by chain code (`[evm.ETH]`).
    #[serde(default)]
    evm: BTreeMap<String, EvmSection>,
    swap: Option<SwapSection>,
}

/// `[swap]`: each key optional, the default where left out.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SwapSection {
    /// Taken off the price source's rate, kept by the treasury (ppm).
    spread_ppm: Option<u32>,
    /// `feeRate` in parts per million.
    fee_ppm: Option<u32>,
    /// The least fee, in USD worth of the output coin (decimal text).
    fee_min_usd: Option<String>,
    /// How long `estimate`'s quote is honoured.
    quote_validity_secs: Option<u64>,
    /// The USD value each merchant may swap per UTC day (decimal text),
    /// unless `ccgate merchant set-swaps` gave it its own; none: no limit.
    daily_limit_usd: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EvmSection {
    rpc_url: String,
    /// The node's WebSocket endpoint: heads by `newHeads` subscription.
    ws_url: Option<String>,
    chain_id: u64,
    poll_interval_ms: Option<u64>,
    #[serde(default)]
    start_block: u64,
    token_transfer_gas: Option<u64>,
    log_range_blocks: Option<u64>,
    rpc_timeout_ms: Option<u64>,
    /// Seconds a payout may wait in the mempool before it is signed again
    /// with higher fees.
    replace_after_secs: Option<u64>,
    max_replacements: Option<u32>,
    /// PEM CA certificates trusted for an `https://` node besides the
    /// built-in roots.
    rpc_ca_file: Option<PathBuf>,
    /// Per token symbol of this chain (`USDT`, `ETH`): the smallest balance
    /// of a deposit address worth sweeping, a decimal in the coin's units.
    #[serde(default)]
    sweep_min: BTreeMap<String, String>,
    /// `auto`, `call_tracer`, `trace_block` or `off`: how native coin moved
    /// by contracts is seen.
    traces: Option<String>,
    /// Deposit addresses whose balance is compared with the books per
    /// reconciliation; 0 turns reconciliation off.
    reconcile_addresses_per_tick: Option<u32>,
    reconcile_interval_secs: Option<u64>,
    /// Addresses made or credited within this many days are reconciled.
    reconcile_active_days: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ChainSection {
    code: String,
    name: String,
    family: String,
    confirmations: u64,
    block_time_ms: u64,
    #[serde(default)]
    logo: String,
    evm_chain_id: Option<u64>,
    explorer_tx_url: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CoinSection {
    id: String,
    /// The v2 `coinId`; by default the replaced built-in coin's, else one
    /// derived from the symbol (docs/decisions.md §13).
    numeric_id: Option<u64>,
    symbol: String,
    name: String,
    precision: u8,
    #[serde(default = "zero_text")]
    min: String,
    #[serde(default = "normal_status")]
    status: u8,
    logo: Option<String>,
    price: Option<String>,
    #[serde(default)]
    tokens: Vec<TokenSection>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenSection {
    id: String,
    chain: String,
    network: String,
    contract: String,
    precision: u8,
    #[serde(default)]
    memo: bool,
    #[serde(default = "normal_status")]
    status: u8,
    #[serde(default = "zero_text")]
    fee: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FeedSection {
    url: String,
    /// Feed id by coin symbol or id (e.g. `BTC = "bitcoin"`).
    ids: BTreeMap<String, String>,
    refresh_interval_ms: Option<u64>,
    staleness_limit_ms: Option<u64>,
    request_timeout_ms: Option<u64>,
}

/// `[swap]` over the defaults; a rate above 100 % is refused here, so the
/// engine never meets one.
fn swap_settings(section: Option<&SwapSection>) -> Result<SwapSettings, Problem> {
    let mut settings = SwapSettings::default();
    let Some(section) = section else {
        return Ok(settings);
    };
    let problem = |key: &str, text: String| (format!("swap.{key}"), text);
    for (key, value) in [
        ("spread_ppm", section.spread_ppm),
        ("fee_ppm", section.fee_ppm),
    ] {
        if value.is_some_and(|ppm| ppm >= ccgate_ledger::swap::PPM) {
            return Err(problem(key, "must be below 1000000 (100 %)".to_owned()));
        }
    }
    if let Some(ppm) = section.spread_ppm {
        settings.terms.spread_ppm = ppm;
    }
    if let Some(ppm) = section.fee_ppm {
        settings.terms.fee_ppm = ppm;
    }
    if let Some(text) = &section.fee_min_usd {
        settings.terms.fee_min_usd =
            Decimal::parse(text).map_err(|err| problem("fee_min_usd", err.to_string()))?;
    }
    if let Some(secs) = section.quote_validity_secs {
        if secs == 0 {
            return Err(problem(
                "quote_validity_secs",
                "must be at least 1".to_owned(),
            ));
        }
        settings.quote_validity_secs = secs;
    }
    if let Some(text) = &section.daily_limit_usd {
        settings.daily_limit_usd = Some(
            ccgate_engine::swaps::parse_daily_limit_usd(text)
                .map_err(|err| problem("daily_limit_usd", err))?,
        );
    }
    Ok(settings)
}

fn zero_text() -> String {
    "0".to_owned()
}

fn normal_status() -> u8 {
    AssetStatus::Normal.code()
}

impl Settings {
    /// The built-in registry, prices and fiat rates.
    pub fn builtin() -> Result<Settings, ConfigError> {
        Settings::from_file(File::default(), Path::new("(built-in)"))
    }

    /// Reads `path`, or the built-in settings when there is none.
    pub fn load(path: Option<&Path>) -> Result<Settings, ConfigError> {
        let Some(path) = path else {
            return Settings::builtin();
        };
        let text = std::fs::read_to_string(path).map_err(|err| ConfigError {
            file: path.display().to_string(),
            key: "(file)".to_owned(),
            problem: format!("cannot be read: {err}"),
        })?;
        Settings::parse(&text, path)
    }

    pub fn parse(text: &str, path: &Path) -> Result<Settings, ConfigError> {
        let file: File = toml::from_str(text).map_err(|err| ConfigError {
            file: path.display().to_string(),
            key: err
                .span()
                .map(|span| format!("byte {}", span.start))
                .unwrap_or_else(|| "(syntax)".to_owned()),
            problem: err.message().to_owned(),
        })?;
        Settings::from_file(file, path)
    }

    fn from_file(file: File, path: &Path) -> Result<Settings, ConfigError> {
        let fail = |(key, problem): Problem| ConfigError {
            file: path.display().to_string(),
            key,
            problem,
        };
        let (mut chains, mut coins) = Registry::builtin().into_parts();
        let mut prices: BTreeMap<CoinId, Decimal> = coins
            .iter()
            .filter_map(|coin| Some((coin.id.clone(), PriceTable::builtin().price(&coin.id)?)))
            .collect();
        Self::merge_chains(&mut chains, &file.chains).map_err(fail)?;
        Self::merge_coins(&mut coins, &mut prices, &file.coins).map_err(fail)?;
        Self::disable(
            &mut chains,
            &mut coins,
            &file.disable_chains,
            &file.disable_coins,
        )
        .map_err(fail)?;
        let registry = Registry::new(chains, coins)
            .map_err(|err| fail(("coins".to_owned(), err.to_string())))?;
        Self::override_prices(&registry, &mut prices, &file.prices).map_err(fail)?;
        let fiat_rates = Self::fiat_rates(&file.fiat).map_err(fail)?;
        let mut price_feed =
            Self::price_feed(&registry, &prices, file.price_feed.as_ref()).map_err(fail)?;
        let evm = Self::evm_nodes(&registry, &file.evm, path).map_err(fail)?;
        let mode = mode_from(&file, &evm).map_err(fail)?;
        let (registry, disabled_chains) =
            Self::registry_for_mode(mode, registry, &evm, &mut prices, &mut price_feed)
                .map_err(fail)?;
        let swap = swap_settings(file.swap.as_ref()).map_err(fail)?;
        Ok(Settings {
            registry,
            prices: PriceTable::new(prices),
            fiat_rates,
            price_feed,
            sandbox: file.sandbox,
            allow_private_webhooks: file.allow_private_webhooks,
            evm,
            mode,
            disabled_chains,
            swap,
        })
    }

    /// `[[chains]]`: each replaces the built-in chain of its code, or adds one.
    fn merge_chains(chains: &mut Vec<Chain>, sections: &[ChainSection]) -> Result<(), Problem> {
        let fail = |key: String, problem: String| (key, problem);
        let mut seen_chains = BTreeSet::new();
        for (index, section) in sections.iter().enumerate() {
            let key = format!("chains[{index}]");
            let chain = chain_from(section).map_err(|p| fail(key.clone(), p))?;
            if !seen_chains.insert(chain.code.as_str().to_owned()) {
                return Err(fail(
                    format!("{key}.code"),
                    format!("chain {} is listed twice", chain.code),
                ));
            }
            match chains.iter_mut().find(|c| c.code == chain.code) {
                Some(existing) => *existing = chain,
                None => chains.push(chain),
            }
        }
        Ok(())
    }

    /// `[[coins]]`: each replaces the built-in coin of its id, or adds one;
    /// a coin's `price` goes to `prices`.
    fn merge_coins(
        coins: &mut Vec<Coin>,
        prices: &mut BTreeMap<CoinId, Decimal>,
        sections: &[CoinSection],
    ) -> Result<(), Problem> {
        let fail = |key: String, problem: String| (key, problem);
        let mut seen_coins = BTreeSet::new();
        for (index, section) in sections.iter().enumerate() {
            let key = format!("coins[{index}]");
            let (mut coin, price) =
                coin_from(section).map_err(|(k, p)| fail(format!("{key}{k}"), p))?;
            if !seen_coins.insert(coin.id.as_str().to_owned()) {
                return Err(fail(
                    format!("{key}.id"),
                    format!("coin {} is listed twice", coin.id),
                ));
            }
            if let Some(price) = price {
                prices.insert(coin.id.clone(), price);
            }
            match coins.iter_mut().find(|c| c.id == coin.id) {
                Some(existing) => {
                    if section.numeric_id.is_none() {
                        coin.numeric_id = existing.numeric_id;
                    }
                    *existing = coin;
                }
                None => coins.push(coin),
            }
        }
        Ok(())
    }

    /// `disable_chains` and `disable_coins`.
    fn disable(
        chains: &mut Vec<Chain>,
        coins: &mut Vec<Coin>,
        disable_chains: &[String],
        disable_coins: &[String],
    ) -> Result<(), Problem> {
        let fail = |key: String, problem: String| (key, problem);
        for (index, code) in disable_chains.iter().enumerate() {
            let before = chains.len();
            chains.retain(|c| !c.code.as_str().eq_ignore_ascii_case(code));
            if chains.len() == before {
                return Err(fail(
                    format!("disable_chains[{index}]"),
                    format!("no chain {code:?}"),
                ));
            }
            for coin in coins.iter_mut() {
                coin.tokens
                    .retain(|t| !t.chain.as_str().eq_ignore_ascii_case(code));
            }
        }
        // A coin whose every network was disabled cannot be paid or withdrawn.
        coins.retain(|coin| !coin.tokens.is_empty());
        for (index, name) in disable_coins.iter().enumerate() {
            let before = coins.len();
            coins.retain(|c| c.id.as_str() != name && !c.symbol.eq_ignore_ascii_case(name));
            if coins.len() == before {
                return Err(fail(
                    format!("disable_coins[{index}]"),
                    format!("no coin {name:?}"),
                ));
            }
        }
        Ok(())
    }

    /// `[prices]`: a price per coin id or symbol.
    fn override_prices(
        registry: &Registry,
        prices: &mut BTreeMap<CoinId, Decimal>,
        overrides: &BTreeMap<String, String>,
    ) -> Result<(), Problem> {
        let fail = |key: String, problem: String| (key, problem);
        for (name, text) in overrides {
            let coin = registry
                .resolve_coin_or_symbol(name)
                .ok_or_else(|| fail(format!("prices.{name}"), "no such coin".to_owned()))?;
            let price = positive_decimal(text).map_err(|p| fail(format!("prices.{name}"), p))?;
            prices.insert(coin.id.clone(), price);
        }
        prices.retain(|coin, _| registry.coin(coin).is_some());
        Ok(())
    }

    /// The built-in fiat rates, with `[fiat]` over them.
    fn fiat_rates(
        overrides: &BTreeMap<String, String>,
    ) -> Result<BTreeMap<String, Decimal>, Problem> {
        let fail = |key: String, problem: String| (key, problem);
        let mut fiat_rates = builtin_fiat_rates();
        for (code, text) in overrides {
            let upper = code.to_ascii_uppercase();
            if upper.len() != 3 || !upper.bytes().all(|b| b.is_ascii_uppercase()) {
                return Err(fail(
                    format!("fiat.{code}"),
                    "a currency code is three letters".to_owned(),
                ));
            }
            let rate = positive_decimal(text).map_err(|p| fail(format!("fiat.{code}"), p))?;
            fiat_rates.insert(upper, rate);
        }
        Ok(fiat_rates)
    }

    /// `[price_feed]`, checked now; without one every coin needs a price.
    fn price_feed(
        registry: &Registry,
        prices: &BTreeMap<CoinId, Decimal>,
        section: Option<&FeedSection>,
    ) -> Result<Option<HttpPriceFeedConfig>, Problem> {
        let fail = |key: String, problem: String| (key, problem);
        let price_feed = match section {
            None => {
                if let Some(coin) = registry.coins().find(|c| !prices.contains_key(&c.id)) {
                    return Err(fail(
                        format!("coins.{}", coin.symbol),
                        "has no price: give it `price = \"…\"` or set up [price_feed]".to_owned(),
                    ));
                }
                None
            }
            Some(feed) => {
                let mut feed_ids = BTreeMap::new();
                for (name, feed_id) in &feed.ids {
                    let coin = registry.resolve_coin_or_symbol(name).ok_or_else(|| {
                        fail(format!("price_feed.ids.{name}"), "no such coin".to_owned())
                    })?;
                    feed_ids.insert(coin.id.clone(), feed_id.clone());
                }
                if let Some(coin) = registry.coins().find(|c| !feed_ids.contains_key(&c.id)) {
                    return Err(fail(
                        "price_feed.ids".to_owned(),
                        format!("coin {} has no feed id", coin.symbol),
                    ));
                }
                let config = HttpPriceFeedConfig {
                    url: feed.url.clone(),
                    feed_ids,
                    refresh_interval_ms: feed
                        .refresh_interval_ms
                        .unwrap_or(FEED_REFRESH_INTERVAL_MS_DEFAULT),
                    staleness_limit_ms: feed
                        .staleness_limit_ms
                        .unwrap_or(FEED_STALENESS_LIMIT_MS_DEFAULT),
                    request_timeout_ms: feed
                        .request_timeout_ms
                        .unwrap_or(FEED_REQUEST_TIMEOUT_MS_DEFAULT),
                };
                // Validate now so a bad feed stops start-up, not the first request.
                ccgate_pricefeed::HttpPriceFeed::new(config.clone())
                    .map_err(|err| fail("price_feed".to_owned(), err.to_string()))?;
                Some(config)
            }
        };
        Ok(price_feed)
    }

    /// `[evm.CODE]`: the node each chain follows, checked now (URLs, CA
    /// files, thresholds), a relative CA file found beside the config file.
    fn evm_nodes(
        registry: &Registry,
        sections: &BTreeMap<String, EvmSection>,
        path: &Path,
    ) -> Result<BTreeMap<String, EvmNodeConfig>, Problem> {
        let fail = |key: String, problem: String| (key, problem);
        let mut evm = BTreeMap::new();
        for (code, section) in sections {
            let key = format!("evm.{code}");
            let upper = code.to_ascii_uppercase();
            let chain = registry
                .chain(&upper)
                .ok_or_else(|| fail(key.clone(), "no such chain".to_owned()))?;
            if chain.family != ChainFamily::Evm {
                return Err(fail(key, format!("chain {upper} is not of the evm family")));
            }
            ccgate_chain::evm::rpc_url_checked(&section.rpc_url)
                .map_err(|err| fail(format!("{key}.rpc_url"), chain_problem(err)))?;
            if let Some(ws_url) = &section.ws_url {
                ccgate_chain::evm::ws_url_checked(ws_url)
                    .map_err(|err| fail(format!("{key}.ws_url"), chain_problem(err)))?;
            }
            // Relative to the configuration file, which usually sits beside
            // it, not to wherever the service happens to be started from.
            let rpc_ca_file = section
                .rpc_ca_file
                .as_ref()
                .map(|ca_file| path.parent().unwrap_or(Path::new("")).join(ca_file));
            // Read and parse the CA file now: a missing or broken one stops
            // start-up here, with its key, not at the first call to the node.
            if let Some(ca_file) = &rpc_ca_file {
                ccgate_chain::evm::rpc_http_client(RPC_TIMEOUT_MS_DEFAULT, Some(ca_file))
                    .map_err(|err| fail(format!("{key}.rpc_ca_file"), chain_problem(err)))?;
            }
            let positive = |field: &str, value: Option<u64>, default: u64| match value {
                Some(0) => Err(fail(
                    format!("{key}.{field}"),
                    "must be greater than 0".to_owned(),
                )),
                Some(value) => Ok(value),
                None => Ok(default),
            };
            let mut sweep_min = BTreeMap::new();
            for (symbol, minimum) in &section.sweep_min {
                let field = format!("{key}.sweep_min.{symbol}");
                let (token, precision) = registry
                    .coins()
                    .flat_map(|coin| coin.tokens.iter().map(move |token| (token, coin.precision)))
                    .find(|(token, _)| {
                        token.chain == chain.code && token.symbol.eq_ignore_ascii_case(symbol)
                    })
                    .ok_or_else(|| {
                        fail(
                            field.clone(),
                            format!("no token {symbol:?} on chain {upper}"),
                        )
                    })?;
                let minimum = Amount::parse_decimal(minimum, precision)
                    .map_err(|err| fail(field.clone(), err.to_string()))?;
                sweep_min.insert(token.id.clone(), minimum);
            }
            evm.insert(
                upper,
                EvmNodeConfig {
                    rpc_url: section.rpc_url.clone(),
                    ws_url: section.ws_url.clone(),
                    rpc_ca_file,
                    chain_id: section.chain_id,
                    poll_interval_ms: positive(
                        "poll_interval_ms",
                        section.poll_interval_ms,
                        POLL_INTERVAL_MS_DEFAULT,
                    )?,
                    start_block: section.start_block,
                    token_transfer_gas: positive(
                        "token_transfer_gas",
                        section.token_transfer_gas,
                        TOKEN_TRANSFER_GAS_DEFAULT,
                    )?,
                    log_range_blocks: positive(
                        "log_range_blocks",
                        section.log_range_blocks,
                        LOG_RANGE_BLOCKS_DEFAULT,
                    )?,
                    rpc_timeout_ms: positive(
                        "rpc_timeout_ms",
                        section.rpc_timeout_ms,
                        RPC_TIMEOUT_MS_DEFAULT,
                    )?,
                    replace_after_ms: positive(
                        "replace_after_secs",
                        section.replace_after_secs,
                        REPLACE_AFTER_MS_DEFAULT / 1000,
                    )?
                    .saturating_mul(1000),
                    max_replacements: section.max_replacements.unwrap_or(MAX_REPLACEMENTS_DEFAULT),
                    sweep_min,
                    traces: match section.traces.as_deref() {
                        None | Some("auto") => TraceChoice::Auto,
                        Some("call_tracer") => TraceChoice::CallTracer,
                        Some("trace_block") => TraceChoice::TraceBlock,
                        Some("off") => TraceChoice::Off,
                        Some(other) => {
                            return Err(fail(
                                format!("{key}.traces"),
                                format!("{other:?} is not auto, call_tracer, trace_block or off"),
                            ));
                        }
                    },
                    reconcile_addresses_per_tick: section
                        .reconcile_addresses_per_tick
                        .unwrap_or(RECONCILE_ADDRESSES_PER_TICK_DEFAULT),
                    reconcile_interval_ms: positive(
                        "reconcile_interval_secs",
                        section.reconcile_interval_secs,
                        RECONCILE_INTERVAL_MS_DEFAULT / 1000,
                    )?
                    .saturating_mul(1000),
                    reconcile_active_secs: positive(
                        "reconcile_active_days",
                        section.reconcile_active_days,
                        RECONCILE_ACTIVE_SECS_DEFAULT / 86_400,
                    )?
                    .saturating_mul(86_400),
                },
            );
        }
        Ok(evm)
    }

    /// The registry as `mode` runs: live mode drops the chains without a
    /// node (or, beside live ones, moves their tokens to devnet coins).
    fn registry_for_mode(
        mode: Mode,
        registry: Registry,
        evm: &BTreeMap<String, EvmNodeConfig>,
        prices: &mut BTreeMap<CoinId, Decimal>,
        price_feed: &mut Option<HttpPriceFeedConfig>,
    ) -> Result<(Registry, Vec<ChainCode>), Problem> {
        let fail = |key: String, problem: String| (key, problem);
        let mut disabled_chains = Vec::new();
        let registry = match mode {
            Mode::Simulated => registry,
            Mode::Live {
                devnet_beside_live: false,
            } => {
                let (chains, coins) = registry.into_parts();
                let (live, disabled): (Vec<Chain>, Vec<Chain>) = chains
                    .into_iter()
                    .map(|chain| follow_node(chain, evm))
                    .partition(|chain| evm.contains_key(chain.code.as_str()));
                disabled_chains = disabled.into_iter().map(|chain| chain.code).collect();
                let coins = coins
                    .into_iter()
                    .filter_map(|mut coin| {
                        coin.tokens
                            .retain(|token| evm.contains_key(token.chain.as_str()));
                        (!coin.tokens.is_empty()).then_some(coin)
                    })
                    .collect();
                Registry::new(live, coins)
                    .map_err(|err| fail("mode".to_owned(), err.to_string()))?
            }
            Mode::Live {
                devnet_beside_live: true,
            } => {
                let (chains, coins) = registry.into_parts();
                let mut split = Vec::new();
                for mut coin in coins {
                    let (live, devnet): (Vec<Token>, Vec<Token>) = coin
                        .tokens
                        .drain(..)
                        .partition(|token| evm.contains_key(token.chain.as_str()));
                    coin.tokens = live;
                    if !devnet.is_empty() {
                        let devnet_coin = devnet_coin_of(&coin, devnet);
                        if let Some(price) = prices.get(&coin.id).cloned() {
                            prices.insert(devnet_coin.id.clone(), price);
                        }
                        if let Some(feed) = price_feed.as_mut()
                            && let Some(feed_id) = feed.feed_ids.get(&coin.id).cloned()
                        {
                            feed.feed_ids.insert(devnet_coin.id.clone(), feed_id);
                        }
                        split.push(devnet_coin);
                    }
                    if !coin.tokens.is_empty() {
                        split.push(coin);
                    }
                }
                let chains = chains
                    .into_iter()
                    .map(|chain| follow_node(chain, evm))
                    .collect();
                Registry::new(chains, split)
                    .map_err(|err| fail("allow_devnet_beside_live".to_owned(), err.to_string()))?
            }
        };
        prices.retain(|coin, _| registry.coin(coin).is_some());
        if let Some(feed) = price_feed.as_mut() {
            feed.feed_ids
                .retain(|coin, _| registry.coin(coin).is_some());
        }
        Ok((registry, disabled_chains))
    }

    /// The chains followed on a node, for people: `ETH, BSC`.
    pub fn live_chains_text(&self) -> String {
        if self.evm.is_empty() {
            return "no chain yet".to_owned();
        }
        self.evm
            .keys()
            .map(String::as_str)
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The chains that run on the devnet here, by code.
    pub fn devnet_chains(&self) -> impl Iterator<Item = &Chain> {
        self.registry
            .chains()
            .filter(|chain| !self.evm.contains_key(chain.code.as_str()))
    }
}

/// Live or simulated, from the file's `mode`, its nodes and its other
/// choices; errors are (key, problem). A file that asks for simulated money
/// beside real money is refused unless it opts in (docs/decisions.md §1).
fn mode_from(file: &File, evm: &BTreeMap<String, EvmNodeConfig>) -> Result<Mode, (String, String)> {
    let nodes = || evm.keys().cloned().collect::<Vec<_>>().join(", ");
    let live = match file.mode.as_deref().map(str::to_ascii_lowercase).as_deref() {
        None => !evm.is_empty(),
        Some("live") => true,
        Some("simulated") if evm.is_empty() => false,
        Some("simulated") => {
            return Err((
                "mode".to_owned(),
                format!(
                    "\"simulated\", but [evm.{}] follows a real node: a node moves real money; \
                     remove the node or say mode = \"live\"",
                    nodes()
                ),
            ));
        }
        Some(other) => {
            return Err((
                "mode".to_owned(),
                format!("{other:?} is not \"live\" or \"simulated\""),
            ));
        }
    };
    if !live {
        if file.allow_devnet_beside_live {
            return Err((
                "allow_devnet_beside_live".to_owned(),
                "only means something in live mode (a chain on a node, or mode = \"live\")"
                    .to_owned(),
            ));
        }
        return Ok(Mode::Simulated);
    }
    if file.sandbox {
        return Err((
            "sandbox".to_owned(),
            "a sandbox cannot run in live mode: its virtual clock and devnet controls have no \
             place beside real money"
                .to_owned(),
        ));
    }
    let simulated: Vec<String> = file
        .chains
        .iter()
        .map(|section| section.code.trim().to_ascii_uppercase())
        .filter(|code| !evm.contains_key(code))
        .collect();
    if !simulated.is_empty() && !file.allow_devnet_beside_live {
        return Err((
            "chains".to_owned(),
            format!(
                "live mode (mode = \"live\" or a chain on a node), but chain(s) {} have no \
                 [evm.CODE] node and would run simulated beside real money: give them a node, \
                 remove them, or set allow_devnet_beside_live = true",
                simulated.join(", ")
            ),
        ));
    }
    Ok(Mode::Live {
        devnet_beside_live: file.allow_devnet_beside_live,
    })
}

/// The devnet coin that holds `coin`'s devnet tokens when devnets run beside
/// live chains: its own id and symbol, so its balances are never the live
/// coin's (docs/decisions.md §1).
fn devnet_coin_of(coin: &Coin, tokens: Vec<Token>) -> Coin {
    let id = devnet_coin_id(&coin.id);
    let symbol = format!("{}{DEVNET_COIN_SUFFIX}", coin.symbol);
    let tokens = tokens
        .into_iter()
        .map(|token| Token {
            coin_id: id.clone(),
            symbol: symbol.clone(),
            ..token
        })
        .collect();
    Coin {
        id,
        numeric_id: coin.numeric_id + DEVNET_NUMERIC_ID_OFFSET,
        symbol,
        name: format!("{} (devnet)", coin.name),
        tokens,
        ..coin.clone()
    }
}

/// A devnet coin's v2 `coinId` is its live coin's plus this, above every
/// number CCPayment or [`ccgate_ledger::NUMERIC_IDS_DERIVED`] gives out.
pub const DEVNET_NUMERIC_ID_OFFSET: u64 = 10_000_000;

/// What a devnet coin's symbol ends with.
pub const DEVNET_COIN_SUFFIX: &str = "-DEVNET";

/// A UUID-shaped id derived from the live coin's (RFC 9562 version 8: made
/// by us), the same on every start so stored balances keep their coin.
fn devnet_coin_id(live: &CoinId) -> CoinId {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(format!("ccgate devnet coin of {}", live.as_str()));
    let mut bytes = [0_u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    bytes[6] = (bytes[6] & 0x0f) | 0x80;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex = hex::encode(bytes);
    CoinId::new(format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    ))
}

/// The words of a chain configuration error without its generic prefix (the
/// config error already names the file and the key).
fn chain_problem(err: ccgate_chain::ChainError) -> String {
    match err {
        ccgate_chain::ChainError::Config(problem) => problem,
        other => other.to_string(),
    }
}

fn positive_decimal(text: &str) -> Result<Decimal, String> {
    match Decimal::parse(text) {
        Ok(value) if !value.is_zero() => Ok(value),
        Ok(_) => Err("must be greater than 0".to_owned()),
        Err(err) => Err(format!("{text:?} is not a decimal number: {err}")),
    }
}

fn status_from(code: u8) -> Result<AssetStatus, String> {
    match code {
        1 => Ok(AssetStatus::Normal),
        2 => Ok(AssetStatus::Maintenance),
        3 => Ok(AssetStatus::Delisting),
        other => Err(format!(
            "status {other} is not 1 (normal), 2 (maintenance) or 3 (delisting)"
        )),
    }
}

/// A chain followed by a node is the network the node says: its chain id
/// goes into payment URIs, and an explorer named for another network (a
/// built-in mainnet one, while the node is a testnet) is dropped.
fn follow_node(mut chain: Chain, evm: &BTreeMap<String, EvmNodeConfig>) -> Chain {
    if let Some(node) = evm.get(chain.code.as_str())
        && chain.evm_chain_id != Some(node.chain_id)
    {
        chain.evm_chain_id = Some(node.chain_id);
        chain.explorer_tx_url = None;
    }
    chain
}

fn chain_from(section: &ChainSection) -> Result<Chain, String> {
    let family = match section.family.to_ascii_lowercase().as_str() {
        "evm" => ChainFamily::Evm,
        "tron" => ChainFamily::Tron,
        "bitcoin" => ChainFamily::Bitcoin,
        other => return Err(format!("family {other:?} is not evm, tron or bitcoin")),
    };
    if section.block_time_ms == 0 {
        return Err("block_time_ms must be greater than 0".to_owned());
    }
    let code = section.code.trim().to_ascii_uppercase();
    if code.is_empty() {
        return Err("code is empty".to_owned());
    }
    Ok(Chain {
        code: ChainCode::new(code),
        name: section.name.clone(),
        family,
        confirmations_required: section.confirmations,
        block_time_ms: section.block_time_ms,
        logo: section.logo.clone(),
        evm_chain_id: section.evm_chain_id.filter(|_| family == ChainFamily::Evm),
        explorer_tx_url: section
            .explorer_tx_url
            .clone()
            .filter(|url| !url.trim().is_empty()),
    })
}

/// Errors are (key suffix, problem).
fn coin_from(section: &CoinSection) -> Result<(Coin, Option<Decimal>), (String, String)> {
    let precision =
        Precision::new(section.precision).map_err(|e| (".precision".to_owned(), e.to_string()))?;
    let amount = |key: String, text: &str| {
        Amount::parse_decimal(text, precision).map_err(|e| (key, format!("{text:?}: {e}")))
    };
    let coin_id = CoinId::new(section.id.trim());
    let logo = section.logo.clone().unwrap_or_else(|| {
        format!(
            "https://resource.cwallet.com/token/icon/{}.png",
            section.symbol.to_ascii_lowercase()
        )
    });
    if section.tokens.is_empty() {
        return Err((
            ".tokens".to_owned(),
            "a coin needs at least one [[coins.tokens]] network".to_owned(),
        ));
    }
    let mut tokens = Vec::new();
    for (index, token) in section.tokens.iter().enumerate() {
        let key = |field: &str| format!(".tokens[{index}].{field}");
        let token_precision =
            Precision::new(token.precision).map_err(|e| (key("precision"), e.to_string()))?;
        // A fee is paid on the chain: whole units of the token there.
        let network_fee = Amount::parse_decimal(&token.fee, token_precision)
            .and_then(|fee| fee.rescale(token_precision, precision))
            .map_err(|e| (key("fee"), format!("{:?}: {e}", token.fee)))?;
        tokens.push(Token {
            id: TokenId::new(token.id.trim()),
            coin_id: coin_id.clone(),
            symbol: section.symbol.clone(),
            chain: ChainCode::new(token.chain.trim().to_ascii_uppercase()),
            network: token.network.clone(),
            contract: token.contract.clone(),
            precision: token_precision,
            memo_supported: token.memo,
            status: status_from(token.status).map_err(|p| (key("status"), p))?,
            logo: logo.clone(),
            network_fee,
        });
    }
    let price = section
        .price
        .as_deref()
        .map(positive_decimal)
        .transpose()
        .map_err(|p| (".price".to_owned(), p))?;
    Ok((
        Coin {
            id: coin_id,
            numeric_id: section
                .numeric_id
                .unwrap_or_else(|| derived_numeric_id(&section.symbol)),
            symbol: section.symbol.clone(),
            name: section.name.clone(),
            logo,
            precision,
            min: amount(".min".to_owned(), &section.min)?,
            status: status_from(section.status).map_err(|p| (".status".to_owned(), p))?,
            tokens,
        },
        price,
    ))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn parse(text: &str) -> Result<Settings, ConfigError> {
        Settings::parse(text, Path::new("test.toml"))
    }

    #[test]
    fn builtin_settings_are_complete() {
        let settings = Settings::builtin().unwrap();
        assert_eq!(settings.registry.coins().count(), 7);
        assert!(settings.price_feed.is_none());
        assert_eq!(settings.fiat_rates["USD"].to_string(), "1");
    }

    #[test]
    fn the_shipped_example_is_valid() {
        let example = include_str!("../../../ccgate.example.toml");
        let settings = parse(example).unwrap();
        assert!(settings.registry.coin_by_symbol("SOL").is_some());
        assert!(settings.registry.coin_by_symbol("MATIC").is_none());
        let btc = settings.registry.coin_by_symbol("BTC").unwrap();
        assert_eq!(settings.prices.price(&btc.id).unwrap().to_string(), "97000");
        assert!(!settings.allow_private_webhooks);
        assert!(
            parse("allow_private_webhooks = true")
                .unwrap()
                .allow_private_webhooks
        );
    }

    #[test]
    fn swap_terms_default_and_are_checked() {
        let example = parse(include_str!("../../../ccgate.example.toml")).unwrap();
        assert_eq!(example.swap, SwapSettings::default());
        let set = parse(
            "[swap]\nspread_ppm = 0\nfee_ppm = 1000\nfee_min_usd = \"0.25\"\nquote_validity_secs = 5\ndaily_limit_usd = \"2500.5\"",
        )
        .unwrap()
        .swap;
        assert_eq!(
            (
                set.terms.spread_ppm,
                set.terms.fee_ppm,
                set.terms.fee_min_usd.to_string(),
                set.quote_validity_secs,
                set.daily_limit_usd.map(|limit| limit.to_string())
            ),
            (0, 1000, "0.25".to_owned(), 5, Some("2500.5".to_owned()))
        );
        // Only what is set changes.
        assert_eq!(
            parse("[swap]\nfee_ppm = 7").unwrap().swap.terms.spread_ppm,
            2000
        );
        for (bad, key) in [
            ("spread_ppm = 1000000", "swap.spread_ppm"),
            ("fee_ppm = 2000000", "swap.fee_ppm"),
            ("fee_min_usd = \"-1\"", "swap.fee_min_usd"),
            ("quote_validity_secs = 0", "swap.quote_validity_secs"),
            ("daily_limit_usd = \"0.0000001\"", "swap.daily_limit_usd"),
            ("daily_limit_usd = \"lots\"", "swap.daily_limit_usd"),
        ] {
            let error = parse(&format!("[swap]\n{bad}")).unwrap_err().to_string();
            assert!(error.contains(key), "{bad}: {error}");
        }
        assert!(parse("[swap]\nspread = 1").is_err());
    }

    #[test]
    fn payment_links_follow_the_network_a_chain_really_is() {
        let settings = parse(
            "[[chains]]\ncode = \"ARB\"\nname = \"Arbitrum\"\nfamily = \"evm\"\nconfirmations = 20\n\
             block_time_ms = 250\nevm_chain_id = 42161\nexplorer_tx_url = \"https://arbiscan.io/tx/{txid}\"",
        )
        .unwrap();
        let arb = settings.registry.chain("ARB").unwrap();
        assert_eq!(arb.evm_chain_id, Some(42161));
        assert_eq!(
            arb.explorer_tx("0x1").as_deref(),
            Some("https://arbiscan.io/tx/0x1")
        );
        let eth = settings.registry.chain("ETH").unwrap();
        assert_eq!(
            (eth.evm_chain_id, eth.explorer_tx_url.is_some()),
            (Some(1), true)
        );
        // A node on a testnet: its chain id, and no mainnet explorer.
        let sepolia =
            parse("[evm.ETH]\nrpc_url = \"http://127.0.0.1:8545\"\nchain_id = 11155111").unwrap();
        let eth = sepolia.registry.chain("ETH").unwrap();
        assert_eq!(
            (eth.evm_chain_id, eth.explorer_tx_url.as_deref()),
            (Some(11_155_111), None)
        );
        let mainnet =
            parse("[evm.ETH]\nrpc_url = \"http://127.0.0.1:8545\"\nchain_id = 1").unwrap();
        assert!(
            mainnet
                .registry
                .chain("ETH")
                .unwrap()
                .explorer_tx_url
                .is_some()
        );
    }

    #[test]
    fn an_evm_node_is_configured_per_chain_code() {
        let settings = parse(
            "[evm.eth]\nrpc_url = \"http://127.0.0.1:8545\"\nchain_id = 1337\npoll_interval_ms = 250\nstart_block = 7",
        )
        .unwrap();
        let node = &settings.evm["ETH"];
        assert_eq!(node.chain_id, 1337);
        assert_eq!(node.poll_interval_ms, 250);
        assert_eq!(node.start_block, 7);
        assert_eq!(node.token_transfer_gas, TOKEN_TRANSFER_GAS_DEFAULT);
        assert_eq!(node.log_range_blocks, LOG_RANGE_BLOCKS_DEFAULT);
        assert_eq!(node.rpc_timeout_ms, RPC_TIMEOUT_MS_DEFAULT);
        assert_eq!(node.replace_after_ms, REPLACE_AFTER_MS_DEFAULT);
        assert_eq!(node.max_replacements, MAX_REPLACEMENTS_DEFAULT);
        assert!(node.sweep_min.is_empty(), "nothing swept unless configured");
        let never_replaced = parse(
            "[evm.ETH]\nrpc_url = \"http://127.0.0.1:8545\"\nchain_id = 1337\nreplace_after_secs = 30\nmax_replacements = 0",
        )
        .unwrap();
        assert_eq!(never_replaced.evm["ETH"].replace_after_ms, 30_000);
        assert_eq!(never_replaced.evm["ETH"].max_replacements, 0);
        let err = parse(
            "[evm.ETH]\nrpc_url = \"http://127.0.0.1:8545\"\nchain_id = 1337\nreplace_after_secs = 0",
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("replace_after_secs"), "{err}");
        assert!(
            Settings::builtin().unwrap().evm.is_empty(),
            "devnet by default"
        );
    }

    /// A self-signed CA certificate (P-256; its key was thrown away).
    const TEST_CA_PEM: &str = "-----BEGIN CERTIFICATE-----
MIIBiTCCAS+gAwIBAgIUXWPVwrStn7RDrB9ciXf8/w09KnQwCgYIKoZIzj0EAwIw
GTEXMBUGA1UEAwwOY2NnYXRlIHRlc3QgQ0EwIBcNMjYxMTI3MTIzMjM2WhgPMjEy
NjExMDMxMjMyMzZaMBkxFzAVBgNVBAMMDmNjZ2F0ZSB0ZXN0IENBMFkwEwYHKoZI
zj0CAQYIKoZIzj0DAQcDQgAE4ENCKWG/sZBzSx2rsIreNuPy+QQO/80k6Sq+fi83
c0S5UK48Q2nzsgtqAyTWziYpPWXMfu2JUp01A6C+AnsD3qNTMFEwHQYDVR0OBBYE
FAgpp2VavyUK1fqMBOwEjDEikjwfMB8GA1UdIwQYMBaAFAgpp2VavyUK1fqMBOwE
jDEikjwfMA8GA1UdEwEB/wQFMAMBAf8wCgYIKoZIzj0EAwIDSAAwRQIgCfIjzdiY
XuiwjuzOPwxd3n5uh3C09HgiIZ5aQ3iHF1MCIQCefOhB1x1PbhnQ7/Z+sBuw8S5d
2Yl0nN7JcT1oPBix1w==
-----END CERTIFICATE-----
";

    fn https_node_with_ca(ca_file: &Path) -> Result<Settings, ConfigError> {
        parse(&format!(
            "[evm.ETH]\nrpc_url = \"https://node.example:8545/key\"\nchain_id = 1\nrpc_ca_file = {:?}",
            ca_file.to_str().unwrap()
        ))
    }

    #[test]
    fn an_https_node_is_accepted_with_or_without_a_ca_file() {
        let settings =
            parse("[evm.ETH]\nrpc_url = \"https://mainnet.example/v3/key\"\nchain_id = 1").unwrap();
        let node = &settings.evm["ETH"];
        assert_eq!(node.rpc_url, "https://mainnet.example/v3/key");
        assert_eq!(node.rpc_ca_file, None, "the built-in roots by default");

        let dir = tempfile::tempdir().unwrap();
        let ca_file = dir.path().join("ca.pem");
        std::fs::write(&ca_file, TEST_CA_PEM).unwrap();
        let settings = https_node_with_ca(&ca_file).unwrap();
        assert_eq!(
            settings.evm["ETH"].rpc_ca_file.as_deref(),
            Some(ca_file.as_path())
        );
    }

    #[test]
    fn a_relative_ca_file_is_found_beside_the_config_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("certs")).unwrap();
        std::fs::write(dir.path().join("certs/ca.pem"), TEST_CA_PEM).unwrap();
        let settings = Settings::parse(
            "[evm.ETH]\nrpc_url = \"https://node.example\"\nchain_id = 1\nrpc_ca_file = \"certs/ca.pem\"",
            &dir.path().join("ccgate.toml"),
        )
        .unwrap();
        assert_eq!(
            settings.evm["ETH"].rpc_ca_file.as_deref(),
            Some(dir.path().join("certs/ca.pem").as_path())
        );
    }

    #[test]
    fn a_missing_or_broken_ca_file_stops_the_config_with_its_key_and_reason() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.pem");
        let not_pem = dir.path().join("not-pem.pem");
        std::fs::write(&not_pem, "just some text\n").unwrap();
        let a_key = dir.path().join("key.pem");
        std::fs::write(
            &a_key,
            "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIA==\n-----END PRIVATE KEY-----\n",
        )
        .unwrap();
        let garbage = dir.path().join("garbage.pem");
        std::fs::write(
            &garbage,
            "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n",
        )
        .unwrap();
        for (file, reason) in [
            (&missing, "cannot be read"),
            (&not_pem, "holds no PEM certificate"),
            (&a_key, "holds no PEM certificate"),
            (&garbage, "not a usable CA certificate"),
        ] {
            let err = https_node_with_ca(file).unwrap_err().to_string();
            assert!(
                err.starts_with("config test.toml: evm.ETH.rpc_ca_file: rpc_ca_file "),
                "{err}"
            );
            assert!(err.contains(file.to_str().unwrap()), "{err}");
            assert!(err.contains(reason), "{reason}: {err}");
        }
    }

    #[test]
    fn only_http_and_https_nodes_are_accepted() {
        for url in [
            "ws://127.0.0.1:8546",
            "wss://node.example",
            "127.0.0.1:8545",
            "ftp://node",
        ] {
            let err = parse(&format!("[evm.ETH]\nrpc_url = {url:?}\nchain_id = 1"))
                .unwrap_err()
                .to_string();
            assert!(err.contains("evm.ETH.rpc_url"), "{url}: {err}");
            assert!(
                err.contains("http or https") || err.contains("relative URL"),
                "{url}: {err}"
            );
        }
        assert!(parse("[evm.ETH]\nrpc_url = \"http://127.0.0.1:8545\"\nchain_id = 1").is_ok());
    }

    #[test]
    fn sweep_thresholds_are_per_token_symbol_in_the_coins_units() {
        let settings = parse(
            "[evm.ETH]\nrpc_url = \"http://127.0.0.1:8545\"\nchain_id = 1\nsweep_min = { usdt = \"10\", ETH = \"0.01\" }",
        )
        .unwrap();
        let registry = &settings.registry;
        let on_eth = |symbol: &str| {
            registry
                .coins()
                .flat_map(|coin| coin.tokens.iter().map(move |token| (coin, token)))
                .find(|(_, token)| token.chain.as_str() == "ETH" && token.symbol == symbol)
                .unwrap()
        };
        let minimums = &settings.evm["ETH"].sweep_min;
        assert_eq!(minimums.len(), 2);
        for (symbol, decimal) in [("USDT", "10"), ("ETH", "0.01")] {
            let (coin, token) = on_eth(symbol);
            assert_eq!(
                minimums[&token.id],
                Amount::parse_decimal(decimal, coin.precision).unwrap()
            );
        }
    }

    #[test]
    fn disabling_a_chain_drops_its_tokens_and_orphaned_coins() {
        let settings = parse("disable_chains = [\"polygon\"]").unwrap();
        let registry = &settings.registry;
        assert!(registry.chain("POLYGON").is_none());
        assert!(registry.coin_by_symbol("MATIC").is_none());
        let usdt = registry.coin_by_symbol("USDT").unwrap();
        assert!(usdt.tokens.iter().all(|t| t.chain.as_str() != "POLYGON"));
        assert_eq!(usdt.tokens.len(), 3);
    }

    #[test]
    fn problems_name_the_key() {
        for (text, key) in [
            ("disable_coins = [\"DOGE\"]", "disable_coins[0]"),
            ("[fiat]\nEURO = \"1\"", "fiat.EURO"),
            ("[fiat]\nEUR = \"0\"", "fiat.EUR"),
            (
                "[[chains]]\ncode = \"X\"\nname = \"X\"\nfamily = \"cosmos\"\nconfirmations = 1\nblock_time_ms = 1",
                "chains[0]",
            ),
            (
                "[price_feed]\nurl = \"http://127.0.0.1:9/\"\n[price_feed.ids]\nBTC = \"bitcoin\"",
                "price_feed.ids",
            ),
            (
                "[evm.DOGE]\nrpc_url = \"http://127.0.0.1:8545\"\nchain_id = 1",
                "evm.DOGE",
            ),
            (
                "[evm.TRX]\nrpc_url = \"http://127.0.0.1:8545\"\nchain_id = 1",
                "evm.TRX",
            ),
            (
                "[evm.ETH]\nrpc_url = \"ws://127.0.0.1:8546\"\nchain_id = 1",
                "evm.ETH.rpc_url",
            ),
            (
                "[evm.ETH]\nrpc_url = \"https://\"\nchain_id = 1",
                "evm.ETH.rpc_url",
            ),
            (
                "[evm.ETH]\nrpc_url = \"https://node\"\nchain_id = 1\nrpc_ca_file = \"/nonexistent/ca.pem\"",
                "evm.ETH.rpc_ca_file",
            ),
            (
                "[evm.ETH]\nrpc_url = \"http://127.0.0.1:8545\"\nchain_id = 1\npoll_interval_ms = 0",
                "evm.ETH.poll_interval_ms",
            ),
            (
                "[evm.ETH]\nrpc_url = \"http://127.0.0.1:8545\"\nchain_id = 1\nsweep_min = { TRX = \"1\" }",
                "evm.ETH.sweep_min.TRX",
            ),
            (
                "[evm.ETH]\nrpc_url = \"http://127.0.0.1:8545\"\nchain_id = 1\nsweep_min = { USDT = \"ten\" }",
                "evm.ETH.sweep_min.USDT",
            ),
        ] {
            let err = parse(text).unwrap_err().to_string();
            assert!(err.starts_with("config test.toml: "), "{err}");
            assert!(err.contains(key), "{key}: {err}");
        }
    }

    const ETH_NODE: &str = "[evm.ETH]\nrpc_url = \"http://127.0.0.1:8545\"\nchain_id = 1\n";

    #[test]
    fn without_a_node_the_gateway_is_simulated_and_with_one_live() {
        assert_eq!(Settings::builtin().unwrap().mode, Mode::Simulated);
        assert_eq!(parse("mode = \"simulated\"").unwrap().mode, Mode::Simulated);
        let live = parse(ETH_NODE).unwrap();
        assert_eq!(
            live.mode,
            Mode::Live {
                devnet_beside_live: false
            }
        );
        assert!(parse("mode = \"live\"").unwrap().mode.is_live());
    }

    #[test]
    fn live_mode_disables_every_chain_without_a_node() {
        let live = parse(ETH_NODE).unwrap();
        let chains: Vec<&str> = live.registry.chains().map(|c| c.code.as_str()).collect();
        assert_eq!(chains, ["ETH"]);
        assert_eq!(live.devnet_chains().count(), 0);
        assert!(live.disabled_chains.iter().any(|c| c.as_str() == "TRX"));
        // USDT keeps its ERC-20 network only; BTC, with no live network, is gone.
        let usdt = live.registry.coin_by_symbol("USDT").unwrap();
        assert!(usdt.tokens.iter().all(|t| t.chain.as_str() == "ETH"));
        assert!(live.registry.coin_by_symbol("BTC").is_none());
        assert!(live.prices.price(&usdt.id).is_some());
        // `mode = "live"` without a node: nothing at all can be paid.
        assert_eq!(
            parse("mode = \"live\"").unwrap().registry.coins().count(),
            0
        );
    }

    #[test]
    fn a_config_that_mixes_devnet_and_live_chains_is_refused_naming_them() {
        let chain = "[[chains]]\ncode = \"SOL\"\nname = \"Solana\"\nfamily = \"evm\"\nconfirmations = 1\nblock_time_ms = 400\n";
        for (text, key, words) in [
            (format!("{chain}{ETH_NODE}"), "chains", "SOL"),
            (
                format!("sandbox = true\n{ETH_NODE}"),
                "sandbox",
                "live mode",
            ),
            (
                format!("sandbox = true\nallow_devnet_beside_live = true\n{ETH_NODE}"),
                "sandbox",
                "live mode",
            ),
            (
                format!("mode = \"simulated\"\n{ETH_NODE}"),
                "mode",
                "evm.ETH",
            ),
            ("mode = \"real\"".to_owned(), "mode", "\"real\""),
            (
                "allow_devnet_beside_live = true".to_owned(),
                "allow_devnet_beside_live",
                "live mode",
            ),
        ] {
            let err = parse(&text).unwrap_err().to_string();
            assert!(err.contains(&format!(": {key}: ")), "{key}: {err}");
            assert!(err.contains(words), "{words}: {err}");
        }
        let opted_in = parse(&format!(
            "allow_devnet_beside_live = true\n{chain}{ETH_NODE}"
        ))
        .unwrap();
        assert!(opted_in.registry.chain("SOL").is_some());
    }

    #[test]
    fn beside_live_chains_devnet_tokens_belong_to_separate_devnet_coins() {
        let settings = parse(&format!("allow_devnet_beside_live = true\n{ETH_NODE}")).unwrap();
        assert_eq!(
            settings.mode,
            Mode::Live {
                devnet_beside_live: true
            }
        );
        let registry = &settings.registry;
        let usdt = registry.coin_by_symbol("USDT").unwrap();
        let devnet_usdt = registry.coin_by_symbol("USDT-DEVNET").unwrap();
        assert_ne!(usdt.id, devnet_usdt.id);
        assert!(usdt.tokens.iter().all(|t| t.chain.as_str() == "ETH"));
        assert!(!devnet_usdt.tokens.is_empty());
        assert!(devnet_usdt.tokens.iter().all(|t| t.chain.as_str() != "ETH"));
        // The TRC-20 token id now resolves to the devnet coin, never to USDT.
        let (coin, _) = registry
            .token(&TokenId::new("0912e09a-d8e2-41d7-a0bc-a25530892988"))
            .unwrap();
        assert_eq!(coin.id, devnet_usdt.id);
        // Same price, an id stable across starts, and UUID-shaped.
        assert_eq!(
            settings.prices.price(&devnet_usdt.id),
            settings.prices.price(&usdt.id)
        );
        let again = parse(&format!("allow_devnet_beside_live = true\n{ETH_NODE}")).unwrap();
        assert!(again.registry.coin(&devnet_usdt.id).is_some());
        let shape: Vec<usize> = devnet_usdt.id.as_str().split('-').map(str::len).collect();
        assert_eq!(shape, [8, 4, 4, 4, 12]);
        // BTC has no live network: all of it is devnet money.
        assert!(registry.coin_by_symbol("BTC").is_none());
        assert!(registry.coin_by_symbol("BTC-DEVNET").is_some());
    }
}
