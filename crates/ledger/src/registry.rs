//! The coins the gateway knows, their networks (tokens), and their USD prices.

use std::collections::BTreeMap;

use crate::LedgerError;
use crate::amount::{Amount, Decimal, Precision};

string_id!(
    /// A coin (`coin_id`), the unit balances are kept in across all of its networks.
    CoinId
);
string_id!(
    /// One network of a coin (`token_id`).
    TokenId
);
string_id!(
    /// CCPayment's chain code (`ETH`, `TRX`, `BSC`, ...).
    ChainCode
);

/// Status codes as CCPayment sends them in `coin/all`.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
#[repr(u8)]
pub enum AssetStatus {
    Normal = 1,
    Maintenance = 2,
    Delisting = 3,
}

impl AssetStatus {
    pub fn code(self) -> u8 {
        self as u8
    }
}

/// How a chain's addresses and transactions look; adapters and address
/// validation are chosen by family, not by chain code.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub enum ChainFamily {
    /// Ethereum and its kin (BSC, Polygon…): `0x` + 40 hex, EIP-55 checksum.
    Evm,
    /// Tron: base58check `T…`.
    Tron,
    /// Bitcoin: bech32/bech32m `bc1…` or base58check `1…`/`3…`.
    Bitcoin,
}

impl ChainFamily {
    pub fn as_str(self) -> &'static str {
        match self {
            ChainFamily::Evm => "evm",
            ChainFamily::Tron => "tron",
            ChainFamily::Bitcoin => "bitcoin",
        }
    }
}

#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Token {
    pub id: TokenId,
    pub coin_id: CoinId,
    pub symbol: String,
    pub chain: ChainCode,
    pub network: String,
    pub contract: String,
    pub precision: Precision,
    pub memo_supported: bool,
    pub status: AssetStatus,
    pub logo: String,
    /// What a withdrawal on this network costs, in the coin's base units.
    pub network_fee: Amount,
}

/// A blockchain the gateway takes deposits on and pays out from.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Chain {
    pub code: ChainCode,
    pub name: String,
    pub family: ChainFamily,
    /// Blocks on top of a payment's block before it is credited.
    pub confirmations_required: u64,
    pub block_time_ms: u64,
    pub logo: String,
    /// EIP-155 chain id of an EVM chain, for payment URIs (EIP-681).
    pub evm_chain_id: Option<u64>,
    /// A transaction's page on a block explorer, `{txid}` standing for its id.
    pub explorer_tx_url: Option<String>,
}

impl Chain {
    /// The explorer page of a transaction, if the chain names an explorer.
    pub fn explorer_tx(&self, txid: &str) -> Option<String> {
        self.explorer_tx_url
            .as_deref()
            .map(|template| template.replace("{txid}", txid))
    }

    /// Whether a token's `contract` is a contract address on this chain, not
    /// the marker a native coin carries instead ("1" for ETH, "BTC").
    pub fn is_contract(&self, contract: &str) -> bool {
        match self.family {
            ChainFamily::Evm => {
                contract.len() == 42
                    && contract.starts_with("0x")
                    && contract[2..].bytes().all(|b| b.is_ascii_hexdigit())
            }
            ChainFamily::Tron => contract.len() == 34 && contract.starts_with('T'),
            ChainFamily::Bitcoin => false,
        }
    }

    /// The highest block with the required confirmations while the chain is at
    /// `height` (a block `b` has `height - b + 1`); `None` while no block has.
    pub fn confirmed_height(&self, height: u64) -> Option<u64> {
        height.checked_sub(self.confirmations_required.max(1) - 1)
    }
}

#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Coin {
    pub id: CoinId,
    /// The v2 dialect's `coinId`: CCPayment's number where it is known, one
    /// from [`NUMERIC_IDS_DERIVED`] otherwise (docs/decisions.md §13).
    pub numeric_id: u64,
    pub symbol: String,
    pub name: String,
    pub logo: String,
    /// Balances are kept and printed at this precision; it is the largest of the tokens'
    /// precisions so that a deposit on any network is representable exactly.
    pub precision: Precision,
    pub min: Amount,
    pub status: AssetStatus,
    pub tokens: Vec<Token>,
}

/// A validated set of chains and coins. Lookups are indexed; iteration keeps the order given.
#[derive(Clone, Debug)]
pub struct Registry {
    chains: Vec<Chain>,
    coins: Vec<Coin>,
    by_coin_id: BTreeMap<String, usize>,
    by_numeric_id: BTreeMap<u64, usize>,
    /// (coin index, token index within that coin)
    by_token_id: BTreeMap<String, (usize, usize)>,
    /// Upper-cased, because operators and merchants type `usdt` as often as `USDT`.
    by_symbol: BTreeMap<String, usize>,
}

impl Registry {
    pub fn new(chains: Vec<Chain>, coins: Vec<Coin>) -> Result<Registry, LedgerError> {
        let mut chain_codes = std::collections::BTreeSet::new();
        for chain in &chains {
            if !chain_codes.insert(chain.code.as_str()) {
                return Err(LedgerError::DuplicateChain {
                    code: chain.code.0.clone(),
                });
            }
            if chain.block_time_ms == 0 {
                return Err(LedgerError::ZeroBlockTime {
                    code: chain.code.0.clone(),
                });
            }
        }
        let mut by_coin_id = BTreeMap::new();
        let mut by_numeric_id = BTreeMap::new();
        let mut by_symbol = BTreeMap::new();
        for (index, coin) in coins.iter().enumerate() {
            if by_coin_id.insert(coin.id.0.clone(), index).is_some() {
                return Err(LedgerError::DuplicateCoinId {
                    id: coin.id.0.clone(),
                });
            }
            // The symbol first: two coins of one symbol also derive one
            // number, and the symbol is what the operator wrote twice.
            if by_symbol
                .insert(coin.symbol.to_ascii_uppercase(), index)
                .is_some()
            {
                return Err(LedgerError::DuplicateCoinSymbol {
                    symbol: coin.symbol.clone(),
                });
            }
            if coin.numeric_id == 0 || by_numeric_id.insert(coin.numeric_id, index).is_some() {
                return Err(LedgerError::DuplicateNumericCoinId {
                    numeric_id: coin.numeric_id,
                    symbol: coin.symbol.clone(),
                });
            }
        }

        let mut by_token_id = BTreeMap::new();
        for (coin_index, coin) in coins.iter().enumerate() {
            for (token_index, token) in coin.tokens.iter().enumerate() {
                let id = || token.id.0.clone();
                if token.coin_id != coin.id {
                    return Err(LedgerError::TokenCoinMismatch {
                        id: id(),
                        coin_id: token.coin_id.0.clone(),
                    });
                }
                if !chain_codes.contains(token.chain.as_str()) {
                    return Err(LedgerError::TokenOnUnknownChain {
                        id: id(),
                        chain: token.chain.0.clone(),
                    });
                }
                if token.precision > coin.precision {
                    return Err(LedgerError::TokenPrecisionAboveCoin {
                        id: id(),
                        token: token.precision.get(),
                        coin: coin.precision.get(),
                    });
                }
                // A token may share its own coin's id (CCPayment does this for single-network
                // coins), but sharing another coin's id would make `resolve_coin` ambiguous.
                if by_coin_id
                    .get(token.id.as_str())
                    .is_some_and(|owner| *owner != coin_index)
                {
                    return Err(LedgerError::TokenIdIsOtherCoin { id: id() });
                }
                if by_token_id
                    .insert(id(), (coin_index, token_index))
                    .is_some()
                {
                    return Err(LedgerError::DuplicateTokenId { id: id() });
                }
            }
        }

        Ok(Registry {
            chains,
            coins,
            by_coin_id,
            by_numeric_id,
            by_token_id,
            by_symbol,
        })
    }

    /// The registry a fresh install starts with.
    pub fn builtin() -> Registry {
        match builtin_coins().and_then(|coins| Registry::new(builtin_chains(), coins)) {
            Ok(registry) => registry,
            // Constant data, validated by `builtin_registry_validates`.
            Err(err) => unreachable!("built-in registry is invalid: {err}"),
        }
    }

    pub fn coins(&self) -> impl Iterator<Item = &Coin> {
        self.coins.iter()
    }

    pub fn chains(&self) -> impl Iterator<Item = &Chain> {
        self.chains.iter()
    }

    /// Chain codes are matched case-insensitively (`eth` is `ETH`).
    pub fn chain(&self, code: &str) -> Option<&Chain> {
        self.chains
            .iter()
            .find(|chain| chain.code.as_str().eq_ignore_ascii_case(code))
    }

    /// Takes the registry apart, for a configuration to edit and rebuild.
    pub fn into_parts(self) -> (Vec<Chain>, Vec<Coin>) {
        (self.chains, self.coins)
    }

    pub fn coin(&self, id: &CoinId) -> Option<&Coin> {
        self.coin_by_id(id.as_str())
    }

    pub fn token(&self, id: &TokenId) -> Option<(&Coin, &Token)> {
        self.token_by_id(id.as_str())
    }

    /// Balances are per coin, so wherever a coin is expected a token id names its coin too.
    pub fn resolve_coin(&self, id: &str) -> Option<&Coin> {
        self.coin_by_id(id)
            .or_else(|| self.token_by_id(id).map(|(coin, _)| coin))
    }

    /// A coin by its v2 `coinId`.
    pub fn coin_by_numeric_id(&self, numeric_id: u64) -> Option<&Coin> {
        self.coins.get(*self.by_numeric_id.get(&numeric_id)?)
    }

    pub fn coin_by_symbol(&self, symbol: &str) -> Option<&Coin> {
        let index = *self.by_symbol.get(&symbol.to_ascii_uppercase())?;
        self.coins.get(index)
    }

    pub fn resolve_coin_or_symbol(&self, s: &str) -> Option<&Coin> {
        self.resolve_coin(s).or_else(|| self.coin_by_symbol(s))
    }

    fn coin_by_id(&self, id: &str) -> Option<&Coin> {
        self.coins.get(*self.by_coin_id.get(id)?)
    }

    fn token_by_id(&self, id: &str) -> Option<(&Coin, &Token)> {
        let &(coin_index, token_index) = self.by_token_id.get(id)?;
        let coin = self.coins.get(coin_index)?;
        Some((coin, coin.tokens.get(token_index)?))
    }
}

/// Where the v2 `coinId`s that CCPayment has not published are drawn from:
/// `8_000_000 + (FNV-1a of the upper-case symbol mod 1_000_000)`, so a coin
/// keeps its number across restarts and installations (docs/decisions.md §13).
pub const NUMERIC_IDS_DERIVED: std::ops::Range<u64> = 8_000_000..9_000_000;

/// The v2 `coinId` of a coin CCPayment has published no number for.
pub fn derived_numeric_id(symbol: &str) -> u64 {
    const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const FNV_PRIME: u64 = 0x0100_0000_01b3;
    let hash = symbol
        .to_ascii_uppercase()
        .bytes()
        .fold(FNV_OFFSET, |hash, byte| {
            (hash ^ u64::from(byte)).wrapping_mul(FNV_PRIME)
        });
    let span = NUMERIC_IDS_DERIVED.end - NUMERIC_IDS_DERIVED.start;
    NUMERIC_IDS_DERIVED.start + hash % span
}

/// The v2 `fiatId` of a currency: CCPayment's number where it is published
/// (USD 1033, DKK 1022), else `9_000_000` plus the three letters read as a
/// base-26 number (`AAA` = 0), so every ISO code has one stable id.
pub fn fiat_numeric_id(code: &str) -> Option<u64> {
    let upper = code.to_ascii_uppercase();
    match upper.as_str() {
        "USD" => return Some(1033),
        "DKK" => return Some(1022),
        _ => {}
    }
    if upper.len() != 3 || !upper.bytes().all(|b| b.is_ascii_uppercase()) {
        return None;
    }
    let letters = upper
        .bytes()
        .fold(0, |number, letter| number * 26 + u64::from(letter - b'A'));
    Some(FIAT_IDS_DERIVED_FROM + letters)
}

/// The first `fiatId` derived from a currency's letters.
pub const FIAT_IDS_DERIVED_FROM: u64 = 9_000_000;

/// Exact USD price of each coin.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct PriceTable {
    prices: BTreeMap<CoinId, Decimal>,
}

impl PriceTable {
    pub fn new(prices: BTreeMap<CoinId, Decimal>) -> PriceTable {
        PriceTable { prices }
    }

    /// Static prices for the built-in coins, used until a price source is configured.
    pub fn builtin() -> PriceTable {
        let prices = BUILTIN_PRICES
            .iter()
            .map(|&(coin, price)| Ok((CoinId::new(coin), Decimal::parse(price)?)))
            .collect::<Result<_, LedgerError>>();
        match prices {
            Ok(prices) => PriceTable::new(prices),
            // Constant data, validated by `every_builtin_coin_has_a_price`.
            Err(err) => unreachable!("built-in price table is invalid: {err}"),
        }
    }

    pub fn price(&self, coin: &CoinId) -> Option<Decimal> {
        self.prices.get(coin).copied()
    }
}

/// Fiat rates until configured otherwise: units per USD, by currency code.
pub fn builtin_fiat_rates() -> BTreeMap<String, Decimal> {
    let rates = BUILTIN_FIAT_RATES
        .iter()
        .map(|&(code, rate)| Ok((code.to_owned(), Decimal::parse(rate)?)))
        .collect::<Result<_, LedgerError>>();
    match rates {
        Ok(rates) => rates,
        // Constant data, validated by `builtin_fiat_rates_parse`.
        Err(err) => unreachable!("built-in fiat rates are invalid: {err}"),
    }
}

const BUILTIN_FIAT_RATES: [(&str, &str); 12] = [
    ("USD", "1"),
    ("EUR", "0.92"),
    ("GBP", "0.79"),
    ("JPY", "151.2"),
    ("CNY", "7.24"),
    ("HKD", "7.81"),
    ("SGD", "1.34"),
    ("AUD", "1.52"),
    ("CAD", "1.37"),
    ("INR", "83.4"),
    ("KRW", "1380"),
    ("BRL", "5.6"),
];

// CCPayment's published ids where known (ccpayment-v1.md §5.6); the rest were generated once
// and must never change, since merchants store them.
const BTC_COIN: &str = "f36ad1cf-222a-4933-9ad0-86df8069f916";
const ETH_COIN: &str = "4ee317d0-15f1-4dfb-810c-4986a9a704ab";
const USDT_COIN: &str = "8e5741cf-6e51-4892-9d04-3d40e1dd0128";
const USDC_COIN: &str = "ce387d66-1c3b-4333-8bb7-7d6ad98ae9bb";
const TRX_COIN: &str = "aa27d020-2b34-491f-b084-d632545868e4";
const BNB_COIN: &str = "2ca99467-e239-40a3-8bb2-a51cd7990e38";
const MATIC_COIN: &str = "c60f174e-97e5-418c-86df-707d30ad3d8a";

const BUILTIN_PRICES: [(&str, &str); 7] = [
    (BTC_COIN, "96250.5"),
    (ETH_COIN, "3412.75"),
    (USDT_COIN, "1"),
    (USDC_COIN, "1"),
    (TRX_COIN, "0.25"),
    (BNB_COIN, "612.4"),
    (MATIC_COIN, "0.52"),
];

/// (code, name, family, confirmations, block time in ms, native symbol,
/// EVM chain id, explorer transaction URL)
type ChainRow = (
    &'static str,
    &'static str,
    ChainFamily,
    u64,
    u64,
    &'static str,
    Option<u64>,
    &'static str,
);

fn builtin_chain(
    (
        code,
        name,
        family,
        confirmations_required,
        block_time_ms,
        native_symbol,
        evm_chain_id,
        explorer,
    ): ChainRow,
) -> Chain {
    Chain {
        code: ChainCode::new(code),
        name: name.to_owned(),
        family,
        confirmations_required,
        block_time_ms,
        // CCPayment uses the chain's native coin icon as the chain logo.
        logo: icon(native_symbol),
        evm_chain_id,
        explorer_tx_url: Some(explorer.to_owned()),
    }
}

fn builtin_chains() -> Vec<Chain> {
    [
        (
            "BTC",
            "Bitcoin",
            ChainFamily::Bitcoin,
            2,
            600_000,
            "btc",
            None,
            "https://mempool.space/tx/{txid}",
        ),
        (
            "ETH",
            "Ethereum",
            ChainFamily::Evm,
            12,
            12_000,
            "eth",
            Some(1),
            "https://etherscan.io/tx/{txid}",
        ),
        (
            "TRX",
            "Tron",
            ChainFamily::Tron,
            20,
            3_000,
            "trx",
            None,
            "https://tronscan.org/#/transaction/{txid}",
        ),
        (
            "BSC",
            "BNB Smart Chain",
            ChainFamily::Evm,
            15,
            3_000,
            "bnb",
            Some(56),
            "https://bscscan.com/tx/{txid}",
        ),
        (
            "POLYGON",
            "Polygon",
            ChainFamily::Evm,
            64,
            2_000,
            "matic",
            Some(137),
            "https://polygonscan.com/tx/{txid}",
        ),
    ]
    .into_iter()
    .map(builtin_chain)
    .collect()
}

const BITCOIN: &str = "BTC";
const ETHEREUM: &str = "ETH";
const TRON: &str = "TRX";
const BSC: &str = "BSC";
const POLYGON: &str = "POLYGON";

/// (token id, chain code, network label, contract, precision, network fee)
type TokenRow = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    u8,
    &'static str,
);

fn icon(symbol: &str) -> String {
    format!(
        "https://resource.cwallet.com/token/icon/{}.png",
        symbol.to_ascii_lowercase()
    )
}

fn builtin_coin(
    (id, numeric_id): (&str, u64),
    symbol: &str,
    name: &str,
    precision: u8,
    min: &str,
    tokens: Vec<TokenRow>,
) -> Result<Coin, LedgerError> {
    let precision = Precision::new(precision)?;
    let tokens = tokens
        .into_iter()
        .map(
            |(token_id, chain, network, contract, token_precision, fee)| {
                let token_precision = Precision::new(token_precision)?;
                Ok(Token {
                    id: TokenId::new(token_id),
                    coin_id: CoinId::new(id),
                    symbol: symbol.to_owned(),
                    chain: ChainCode::new(chain),
                    network: network.to_owned(),
                    contract: contract.to_owned(),
                    precision: token_precision,
                    memo_supported: false,
                    status: AssetStatus::Normal,
                    logo: icon(symbol),
                    // Whole chain units of the token, held at the coin's precision.
                    network_fee: Amount::parse_decimal(fee, token_precision)?
                        .rescale(token_precision, precision)?,
                })
            },
        )
        .collect::<Result<_, LedgerError>>()?;
    Ok(Coin {
        id: CoinId::new(id),
        numeric_id,
        symbol: symbol.to_owned(),
        name: name.to_owned(),
        logo: icon(symbol),
        precision,
        min: Amount::parse_decimal(min, precision)?,
        status: AssetStatus::Normal,
        tokens,
    })
}

fn builtin_coins() -> Result<Vec<Coin>, LedgerError> {
    // Native coins carry a chain marker instead of a contract address, as CCPayment's examples
    // do ("1" for ETH).
    Ok(vec![
        // The BTC token reuses the coin id: CCPayment's own examples pass it as a token_id.
        builtin_coin(
            (BTC_COIN, derived_numeric_id("BTC")),
            "BTC",
            "Bitcoin",
            8,
            "0.00008",
            vec![(BTC_COIN, BITCOIN, "BTC", "BTC", 8, "0.0001")],
        )?,
        builtin_coin(
            (ETH_COIN, derived_numeric_id("ETH")),
            "ETH",
            "Ethereum",
            18,
            "0.0005",
            vec![(
                "e8f64d3d-df5b-411d-897f-c6d8d30206b7",
                ETHEREUM,
                "ERC20",
                "1",
                18,
                "0.0012",
            )],
        )?,
        builtin_coin(
            (USDT_COIN, 1280),
            "USDT",
            "Tether USD",
            18,
            "1",
            vec![
                (
                    "2728e271-9f5d-4c05-8aa7-4a87b1afcc95",
                    ETHEREUM,
                    "ERC20",
                    "0xdAC17F958D2ee523a2206206994597C13D831ec7",
                    6,
                    "3.5",
                ),
                (
                    "0912e09a-d8e2-41d7-a0bc-a25530892988",
                    TRON,
                    "TRC20",
                    "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t",
                    6,
                    "1",
                ),
                (
                    "5ff9da14-2e1c-40e6-8171-37436ec3c531",
                    BSC,
                    "BEP20",
                    "0x55d398326f99059ff775485246999027b3197955",
                    18,
                    "0.3",
                ),
                (
                    "f137d42c-f3a6-4f23-9402-76f0395d0cfe",
                    POLYGON,
                    "POLYGON",
                    "0xc2132D05D31c914a87C6611C10748AEb04B58e8F",
                    6,
                    "0.0344",
                ),
            ],
        )?,
        builtin_coin(
            (USDC_COIN, 1282),
            "USDC",
            "USD Coin",
            6,
            "1",
            vec![
                (
                    "c6b7c878-8a01-4f7f-8d2e-99a72787b1ac",
                    POLYGON,
                    "POLYGON",
                    "0x3c499c542cEF5E3811e1192ce70d8cC03d5c3359",
                    6,
                    "0.05",
                ),
                (
                    "a297ce61-ee6a-4d18-b6c3-91475f765b27",
                    ETHEREUM,
                    "ERC20",
                    "0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48",
                    6,
                    "3.5",
                ),
            ],
        )?,
        builtin_coin(
            (TRX_COIN, 1482),
            "TRX",
            "Tron",
            6,
            "1",
            vec![(
                "60dad7f7-6477-4a3f-9915-1cd1f5b68151",
                TRON,
                "TRC20",
                "TRX",
                6,
                "1.1",
            )],
        )?,
        builtin_coin(
            (BNB_COIN, derived_numeric_id("BNB")),
            "BNB",
            "BNB",
            18,
            "0.002",
            vec![(
                "038073e6-a784-4e3e-b6a7-36456a39055f",
                BSC,
                "BEP20",
                "56",
                18,
                "0.0005",
            )],
        )?,
        builtin_coin(
            (MATIC_COIN, 1329),
            "MATIC",
            "Polygon",
            18,
            "1",
            vec![(
                "85db36af-3282-4501-9357-67da32691ab7",
                POLYGON,
                "POLYGON",
                "137",
                18,
                "0.01",
            )],
        )?,
    ])
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn coin(id: &str, symbol: &str, precision: u8, tokens: &[(&str, u8)]) -> Coin {
        Coin {
            id: CoinId::new(id),
            numeric_id: derived_numeric_id(symbol),
            symbol: symbol.to_owned(),
            name: symbol.to_owned(),
            logo: String::new(),
            precision: Precision::new(precision).unwrap(),
            min: Amount::ZERO,
            status: AssetStatus::Normal,
            tokens: tokens
                .iter()
                .map(|&(token_id, token_precision)| Token {
                    id: TokenId::new(token_id),
                    coin_id: CoinId::new(id),
                    symbol: symbol.to_owned(),
                    chain: ChainCode::new("ETH"),
                    network: "ERC20".to_owned(),
                    contract: String::new(),
                    precision: Precision::new(token_precision).unwrap(),
                    memo_supported: false,
                    status: AssetStatus::Normal,
                    logo: String::new(),
                    network_fee: Amount::ZERO,
                })
                .collect(),
        }
    }

    fn check(coins: Vec<Coin>, expected: LedgerError) {
        assert_eq!(
            Registry::new(builtin_chains(), coins).map(|_| ()),
            Err(expected)
        );
    }

    #[test]
    fn native_coins_carry_no_contract_address() {
        let registry = Registry::builtin();
        let native: Vec<_> = registry
            .coins()
            .flat_map(|coin| coin.tokens.iter())
            .filter(|token| {
                registry
                    .chain(token.chain.as_str())
                    .is_some_and(|chain| !chain.is_contract(&token.contract))
            })
            .map(|token| format!("{} on {}", token.symbol, token.chain.as_str()))
            .collect();
        assert_eq!(native.len(), 5, "{native:?}");
        for expected in ["ETH on ETH", "BTC on BTC", "TRX on TRX"] {
            assert!(native.iter().any(|n| n == expected), "{native:?}");
        }
        let eth = registry.chain("ETH").unwrap();
        assert_eq!(eth.evm_chain_id, Some(1));
        assert_eq!(
            eth.explorer_tx("0xab").as_deref(),
            Some("https://etherscan.io/tx/0xab")
        );
    }

    #[test]
    fn coins_carry_ccpayments_v2_numbers_where_published_and_stable_derived_ones_elsewhere() {
        let registry = Registry::builtin();
        for (symbol, number) in [
            ("USDT", 1280),
            ("USDC", 1282),
            ("TRX", 1482),
            ("MATIC", 1329),
        ] {
            let coin = registry.coin_by_numeric_id(number).unwrap();
            assert_eq!(coin.symbol, symbol);
        }
        for symbol in ["BTC", "ETH", "BNB"] {
            let number = registry.coin_by_symbol(symbol).unwrap().numeric_id;
            assert!(NUMERIC_IDS_DERIVED.contains(&number), "{symbol} {number}");
            assert_eq!(number, derived_numeric_id(&symbol.to_ascii_lowercase()));
        }
        let mut twin = coin("b", "TWIN", 6, &[("b-eth", 6)]);
        twin.numeric_id = 1280;
        let mut coins = builtin_coins().unwrap();
        coins.push(twin);
        check(
            coins,
            LedgerError::DuplicateNumericCoinId {
                numeric_id: 1280,
                symbol: "TWIN".into(),
            },
        );
    }

    #[test]
    fn fiat_ids_are_ccpayments_where_published_and_spelled_out_elsewhere() {
        assert_eq!(fiat_numeric_id("USD"), Some(1033));
        assert_eq!(fiat_numeric_id("dkk"), Some(1022));
        assert_eq!(fiat_numeric_id("AAA"), Some(FIAT_IDS_DERIVED_FROM));
        assert_eq!(fiat_numeric_id("AAB"), Some(FIAT_IDS_DERIVED_FROM + 1));
        assert_eq!(
            fiat_numeric_id("ZZZ"),
            Some(FIAT_IDS_DERIVED_FROM + 26 * 26 * 26 - 1)
        );
        assert_eq!(fiat_numeric_id("EUR"), fiat_numeric_id("eur"));
        assert_eq!(fiat_numeric_id("EURO"), None);
        assert_eq!(fiat_numeric_id("E1R"), None);
    }

    #[test]
    fn builtin_registry_validates() {
        let registry = Registry::new(builtin_chains(), builtin_coins().unwrap()).unwrap();
        let symbols: Vec<_> = registry.coins().map(|c| c.symbol.as_str()).collect();
        assert_eq!(
            symbols,
            ["BTC", "ETH", "USDT", "USDC", "TRX", "BNB", "MATIC"]
        );
        assert_eq!(Registry::builtin().coins().count(), 7);
        for coin in registry.coins() {
            assert_eq!(coin.logo, icon(&coin.symbol));
            // The coin keeps exactly the finest precision of its networks, not more.
            let finest = coin.tokens.iter().map(|t| t.precision).max();
            assert_eq!(finest, Some(coin.precision), "{}", coin.symbol);
        }
    }

    #[test]
    fn a_block_is_confirmed_once_it_has_the_chains_confirmations() {
        let mut chain = builtin_chains()[0].clone();
        chain.confirmations_required = 12;
        assert_eq!(chain.confirmed_height(10), None);
        assert_eq!(chain.confirmed_height(11), Some(0));
        assert_eq!(chain.confirmed_height(111), Some(100));
        // Zero confirmations count as one: a payment is at least in a block.
        chain.confirmations_required = 0;
        assert_eq!(chain.confirmed_height(5), Some(5));
    }

    #[test]
    fn chains_are_checked() {
        let mut chains = builtin_chains();
        chains.push(chains[0].clone());
        assert_eq!(
            Registry::new(chains, vec![]).map(|_| ()),
            Err(LedgerError::DuplicateChain { code: "BTC".into() })
        );
        let mut chains = builtin_chains();
        chains[1].block_time_ms = 0;
        assert_eq!(
            Registry::new(chains, vec![]).map(|_| ()),
            Err(LedgerError::ZeroBlockTime { code: "ETH".into() })
        );
        let mut orphan = coin("c", "C", 6, &[("t", 6)]);
        orphan.tokens[0].chain = ChainCode::new("SOL");
        check(
            vec![orphan],
            LedgerError::TokenOnUnknownChain {
                id: "t".into(),
                chain: "SOL".into(),
            },
        );
    }

    #[test]
    fn builtin_lookups() {
        let registry = Registry::builtin();
        let usdt = registry.coin(&CoinId::new(USDT_COIN)).unwrap();
        assert_eq!(usdt.name, "Tether USD");
        assert_eq!(
            usdt.logo,
            "https://resource.cwallet.com/token/icon/usdt.png"
        );
        assert_eq!(usdt.min.to_decimal_string(usdt.precision), "1");

        let trc20 = TokenId::new("0912e09a-d8e2-41d7-a0bc-a25530892988");
        let (coin, token) = registry.token(&trc20).unwrap();
        assert_eq!(coin.symbol, "USDT");
        assert_eq!(token.chain.as_str(), "TRX");
        assert_eq!(token.network, "TRC20");
        assert_eq!(token.precision.get(), 6);
        assert_eq!(
            registry.chain("trx").unwrap().logo,
            "https://resource.cwallet.com/token/icon/trx.png"
        );
        assert_eq!(token.network_fee.to_decimal_string(coin.precision), "1");

        let btc = registry.resolve_coin(BTC_COIN).unwrap();
        assert_eq!(btc.min.to_decimal_string(btc.precision), "0.00008");
        assert_eq!(
            registry.token(&TokenId::new(BTC_COIN)).unwrap().0.symbol,
            "BTC"
        );

        let by_token = registry
            .resolve_coin("f137d42c-f3a6-4f23-9402-76f0395d0cfe")
            .unwrap();
        assert_eq!(by_token.symbol, "USDT");
        assert!(registry.resolve_coin("USDT").is_none());
        assert!(registry.coin(&CoinId::new("nope")).is_none());
        assert!(registry.token(&TokenId::new(USDT_COIN)).is_none());

        for s in [
            "usdt",
            "USDT",
            "Usdt",
            USDT_COIN,
            "2728e271-9f5d-4c05-8aa7-4a87b1afcc95",
        ] {
            assert_eq!(registry.resolve_coin_or_symbol(s).unwrap().symbol, "USDT");
        }
        assert_eq!(
            registry.coin_by_symbol("matic").unwrap().id.as_str(),
            MATIC_COIN
        );
        assert!(registry.resolve_coin_or_symbol("DOGE").is_none());
    }

    #[test]
    fn builtin_fiat_rates_parse() {
        let rates = builtin_fiat_rates();
        assert_eq!(rates.len(), BUILTIN_FIAT_RATES.len());
        assert_eq!(rates["USD"].to_string(), "1");
        assert_eq!(rates["EUR"].to_string(), "0.92");
    }

    #[test]
    fn every_builtin_coin_has_a_price() {
        let prices = PriceTable::builtin();
        for coin in Registry::builtin().coins() {
            assert!(prices.price(&coin.id).is_some(), "{}", coin.symbol);
        }
        assert_eq!(BUILTIN_PRICES.len(), Registry::builtin().coins().count());
        let btc = prices.price(&CoinId::new(BTC_COIN)).unwrap();
        assert_eq!(btc.to_string(), "96250.5");
        assert_eq!(prices.price(&CoinId::new("nope")), None);
    }

    #[test]
    fn rejects_duplicate_coin_id() {
        check(
            vec![coin("a", "AAA", 6, &[]), coin("a", "BBB", 6, &[])],
            LedgerError::DuplicateCoinId { id: "a".into() },
        );
    }

    #[test]
    fn rejects_duplicate_symbol_ignoring_case() {
        check(
            vec![coin("a", "usdt", 6, &[]), coin("b", "USDT", 6, &[])],
            LedgerError::DuplicateCoinSymbol {
                symbol: "USDT".into(),
            },
        );
    }

    #[test]
    fn rejects_duplicate_token_id() {
        check(
            vec![
                coin("a", "A", 6, &[("t", 6)]),
                coin("b", "B", 6, &[("t", 6)]),
            ],
            LedgerError::DuplicateTokenId { id: "t".into() },
        );
        check(
            vec![coin("a", "A", 6, &[("t", 6), ("t", 6)])],
            LedgerError::DuplicateTokenId { id: "t".into() },
        );
    }

    #[test]
    fn token_id_may_be_own_coin_id_but_not_another() {
        assert!(Registry::new(builtin_chains(), vec![coin("a", "A", 6, &[("a", 6)])]).is_ok());
        check(
            vec![coin("a", "A", 6, &[]), coin("b", "B", 6, &[("a", 6)])],
            LedgerError::TokenIdIsOtherCoin { id: "a".into() },
        );
        check(
            vec![coin("a", "A", 6, &[("b", 6)]), coin("b", "B", 6, &[])],
            LedgerError::TokenIdIsOtherCoin { id: "b".into() },
        );
    }

    #[test]
    fn rejects_token_of_another_coin() {
        let mut a = coin("a", "A", 6, &[("t", 6)]);
        a.tokens[0].coin_id = CoinId::new("b");
        check(
            vec![a, coin("b", "B", 6, &[])],
            LedgerError::TokenCoinMismatch {
                id: "t".into(),
                coin_id: "b".into(),
            },
        );
    }

    #[test]
    fn rejects_token_finer_than_coin() {
        check(
            vec![coin("a", "A", 6, &[("t", 6), ("u", 18)])],
            LedgerError::TokenPrecisionAboveCoin {
                id: "u".into(),
                token: 18,
                coin: 6,
            },
        );
    }

    #[test]
    fn status_codes_match_ccpayment() {
        assert_eq!(AssetStatus::Normal.code(), 1);
        assert_eq!(AssetStatus::Maintenance.code(), 2);
        assert_eq!(AssetStatus::Delisting.code(), 3);
    }
}
