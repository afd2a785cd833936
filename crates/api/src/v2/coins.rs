//! Coins, prices, fiat currencies, chains, fees, balances and Cwallet users
//! (v2 spec §2.0–2.2, §2.7): the shapes of `getCoinList`, `getCoin`,
//! `getCoinUSDTPrice`, `getFiatList`, `getChainList`, `all/chain`,
//! `getMainCoinList`, `getWithdrawFee`, `checkWithdrawalAddressValidity`,
//! `getAppCoinAssetList`, `getAppCoinAsset` and `getCwalletUserId`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::RequestError;
use crate::request::Fields;

/// Coin ids one `getCoinUSDTPrice` may ask for.
pub const PRICE_IDS_MAX: usize = 100;
/// Chains one `getChainList` or `all/chain` filter may name.
pub const CHAIN_FILTER_MAX: usize = 100;

/// A coin with its networks, keyed by chain symbol.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct CoinEntity {
    pub coin_id: u64,
    pub symbol: String,
    pub coin_full_name: String,
    pub logo_url: String,
    /// `Normal`, `Maintain`, `Pre-delisting` or `Delisted`.
    pub status: String,
    pub networks: BTreeMap<String, NetworkEntity>,
    /// In USD(T).
    pub price: String,
}

/// One network of a coin.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct NetworkEntity {
    pub chain: String,
    pub chain_full_name: String,
    pub contract: String,
    pub precision: u8,
    pub can_deposit: bool,
    pub can_withdraw: bool,
    pub minimum_deposit_amount: String,
    pub minimum_withdraw_amount: String,
    /// `"0"`: no maximum.
    pub maximum_withdraw_amount: String,
    pub is_support_memo: bool,
    /// The network's label (`ERC20`, `TRC20`, `BEP20`…).
    pub protocol: String,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct CoinList {
    pub coins: Vec<CoinEntity>,
}

/// `getCoin`: `{coin:{…}}`, as CCPayment's reply and its proto say.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct OneCoin {
    pub coin: CoinEntity,
}

/// `{"coinId": N}`, the request of `getCoin` and `getAppCoinAsset`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CoinRequest {
    pub coin_id: u64,
}

impl CoinRequest {
    pub fn from_fields(fields: &Fields) -> Result<CoinRequest, RequestError> {
        Ok(CoinRequest {
            coin_id: fields.required_u64("coinId")?,
        })
    }
}

/// `getCoinUSDTPrice`'s request: the coins to price.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PricesRequest {
    pub coin_ids: Vec<u64>,
}

impl PricesRequest {
    pub fn from_fields(fields: &Fields) -> Result<PricesRequest, RequestError> {
        let coin_ids = fields.number_list("coinIds", PRICE_IDS_MAX)?;
        if coin_ids.is_empty() {
            return Err(RequestError::MissingField { field: "coinIds" });
        }
        Ok(PricesRequest { coin_ids })
    }
}

/// `{"prices":{"1280":"1"}}`: coin id (as a string key) → USDT price.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct Prices {
    pub prices: BTreeMap<String, String>,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Fiat {
    pub fiat_id: u64,
    pub symbol: String,
    pub logo_url: String,
    pub mark: String,
    /// Units of this currency per USD.
    pub usd_rate: String,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct FiatList {
    pub fiats: Vec<Fiat>,
}

/// The optional `chains` filter of `getChainList` and `all/chain`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainsRequest {
    /// Empty: every chain.
    pub chains: Vec<String>,
}

impl ChainsRequest {
    pub fn from_fields(fields: &Fields) -> Result<ChainsRequest, RequestError> {
        Ok(ChainsRequest {
            chains: fields.optional_string_list("chains", CHAIN_FILTER_MAX)?,
        })
    }

    pub fn wants(&self, chain: &str) -> bool {
        self.chains.is_empty() || self.chains.iter().any(|c| c.eq_ignore_ascii_case(chain))
    }
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ChainEntity {
    pub chain: String,
    pub chain_full_name: String,
    pub explorer: String,
    pub logo_url: String,
    /// `Normal` or `Maintenance`.
    pub status: String,
    pub confirmations: u64,
    /// The explorer's transaction URL with `%s` for the txid.
    pub base_url: String,
    #[serde(rename = "isEVM")]
    pub is_evm: bool,
    pub support_memo: bool,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct ChainList {
    pub chains: Vec<ChainEntity>,
}

/// `all/chain`'s item: `confirmNum` where `getChainList` says `confirmations`.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct AllChainEntity {
    pub chain: String,
    pub chain_full_name: String,
    pub explorer: String,
    pub logo_url: String,
    pub status: String,
    pub confirm_num: u64,
    #[serde(rename = "isEVM")]
    pub is_evm: bool,
}

impl From<ChainEntity> for AllChainEntity {
    /// The same chain, `confirmations` named `confirmNum`, without the
    /// transaction URL and memo flag.
    fn from(chain: ChainEntity) -> AllChainEntity {
        AllChainEntity {
            chain: chain.chain,
            chain_full_name: chain.chain_full_name,
            explorer: chain.explorer,
            logo_url: chain.logo_url,
            status: chain.status,
            confirm_num: chain.confirmations,
            is_evm: chain.is_evm,
        }
    }
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct AllChainList {
    pub chains: Vec<AllChainEntity>,
}

/// One coin on one chain of `getMainCoinList`: the proto's fields and the
/// SDK's `chains`, so both decoders find what they read (v2 spec §2.14).
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct MainCoin {
    pub coin_id: u64,
    pub symbol: String,
    pub logo_url: String,
    pub status: String,
    pub chain: String,
    pub network: String,
    pub chains: Vec<String>,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct MainCoinList {
    pub coin_chain_list: Vec<MainCoin>,
}

/// A coin and chain: `getWithdrawFee`'s request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CoinOnChainRequest {
    pub coin_id: u64,
    pub chain: String,
}

impl CoinOnChainRequest {
    pub fn from_fields(fields: &Fields) -> Result<CoinOnChainRequest, RequestError> {
        Ok(CoinOnChainRequest {
            coin_id: fields.required_u64("coinId")?,
            chain: fields.required_str(&["chain"])?.to_owned(),
        })
    }
}

/// A network fee: its coin may differ from the withdrawn one.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct WithdrawFee {
    pub coin_id: u64,
    pub coin_symbol: String,
    pub amount: String,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct FeeQuote {
    pub fee: WithdrawFee,
    /// Pass it to a withdrawal to be charged this fee.
    #[serde(rename = "networkFeeInquiryID")]
    pub network_fee_inquiry_id: String,
}

/// `checkWithdrawalAddressValidity`'s request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddressRequest {
    pub chain: String,
    pub address: String,
}

impl AddressRequest {
    pub fn from_fields(fields: &Fields) -> Result<AddressRequest, RequestError> {
        Ok(AddressRequest {
            chain: fields.required_str(&["chain"])?.to_owned(),
            address: fields.required_str(&["address"])?.to_owned(),
        })
    }
}

#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct AddressValidity {
    pub addr_is_valid: bool,
}

/// A balance of one coin, aggregated over its networks.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct AssetEntity {
    pub coin_id: u64,
    pub coin_symbol: String,
    pub available: String,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct AssetList {
    pub assets: Vec<AssetEntity>,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct OneAsset {
    pub asset: AssetEntity,
}

/// `getCwalletUserId`'s request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CwalletUserRequest {
    pub cwallet_user_id: String,
}

impl CwalletUserRequest {
    pub fn from_fields(fields: &Fields) -> Result<CwalletUserRequest, RequestError> {
        Ok(CwalletUserRequest {
            cwallet_user_id: fields.required_str(&["cwalletUserId"])?.to_owned(),
        })
    }
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct CwalletUser {
    pub cwallet_user_id: String,
    pub cwallet_user_name: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::v2::fields;

    #[test]
    fn coin_ids_come_as_numbers_or_digit_strings() {
        for body in [
            r#"{"coinId":1280}"#,
            r#"{"coinId":"1280"}"#,
            r#"{"coinId": 1280}"#,
        ] {
            let request = CoinRequest::from_fields(&fields(body.as_bytes()).unwrap_or_default());
            assert_eq!(request, Ok(CoinRequest { coin_id: 1280 }), "{body}");
        }
        let missing = CoinRequest::from_fields(&fields(b"[]").unwrap_or_default());
        assert_eq!(missing, Err(RequestError::MissingField { field: "coinId" }));
        let negative = CoinRequest::from_fields(&fields(br#"{"coinId":-1}"#).unwrap_or_default());
        assert!(negative.is_err());
    }

    #[test]
    fn price_requests_take_mixed_ids_and_refuse_an_empty_list() {
        let body = br#"{"coinIds":[1280,"1329"]}"#;
        let request = PricesRequest::from_fields(&fields(body).unwrap_or_default());
        assert_eq!(request.map(|r| r.coin_ids), Ok(vec![1280, 1329]));
        let empty = PricesRequest::from_fields(&fields(br#"{"coinIds":[]}"#).unwrap_or_default());
        assert_eq!(empty, Err(RequestError::MissingField { field: "coinIds" }));
    }

    #[test]
    fn the_chain_filter_is_case_blind_and_empty_means_all() {
        let all = ChainsRequest::from_fields(&Fields::default()).unwrap_or(ChainsRequest {
            chains: vec!["x".into()],
        });
        assert!(all.wants("ETH"));
        let some = ChainsRequest {
            chains: vec!["bsc".into()],
        };
        assert!(some.wants("BSC"));
        assert!(!some.wants("ETH"));
    }
}
