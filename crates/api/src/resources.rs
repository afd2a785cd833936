//! The resource endpoints (spec §2.6–§2.13): coins and their networks, rates,
//! network fees, block heights and Cwallet ids. Field order is wire contract.

use serde::{Deserialize, Serialize};

use crate::RequestError;
use crate::request::Fields;

/// `coin/all` → `data`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct CoinList {
    pub list: Vec<CoinEntry>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct CoinEntry {
    pub symbol: String,
    pub crypto: String,
    pub name: String,
    pub logo: String,
    pub min: String,
    pub price: String,
    pub precision: u8,
    pub coin_id: String,
    pub status: u8,
    pub tokens: Vec<NetworkEntry>,
}

/// One network of a coin, in `coin/all` `tokens[]` and `token/chain` `list[]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct NetworkEntry {
    pub token_id: String,
    pub crypto: String,
    pub logo: String,
    /// The chain's full name.
    pub name: String,
    pub is_support_memo: bool,
    pub network: String,
    pub chain: String,
    pub contract: String,
    pub chain_logo: String,
    pub status: u8,
    pub precision: u8,
    pub network_fee_crypto: String,
    pub network_coin_id: String,
}

/// `token/chain` → `data`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct NetworkList {
    pub list: Vec<NetworkEntry>,
}

/// `support/token` → `data` (deprecated endpoint, still called by every SDK).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SupportedTokens {
    pub list: Vec<SupportedToken>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SupportedToken {
    pub crypto: String,
    pub name: String,
    pub logo: String,
    pub min: String,
    pub price: String,
    pub token_id: String,
}

/// `token/chain` request: a token id, or (decisions §4) a coin id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenChainRequest {
    pub token_id: String,
}

impl TokenChainRequest {
    pub fn from_fields(fields: &Fields) -> Result<TokenChainRequest, RequestError> {
        Ok(TokenChainRequest {
            token_id: fields.required_str(&["token_id", "coin_id"])?.to_owned(),
        })
    }
}

/// `token/rate` request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRateRequest {
    /// A USD amount, still as the decimal text the client sent.
    pub amount: String,
    pub token_id: String,
}

impl TokenRateRequest {
    pub fn from_fields(fields: &Fields) -> Result<TokenRateRequest, RequestError> {
        Ok(TokenRateRequest {
            amount: fields.required_str(&["amount"])?.to_owned(),
            token_id: fields.required_str(&["token_id", "coin_id"])?.to_owned(),
        })
    }
}

/// `token/rate` → `data`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct TokenRate {
    pub price: String,
    pub value: String,
}

/// `network/fee` request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkFeeRequest {
    pub token_id: String,
    /// When given and internal (a Cwallet id or an address of this gateway),
    /// the fee is 0.
    pub address: Option<String>,
}

impl NetworkFeeRequest {
    pub fn from_fields(fields: &Fields) -> Result<NetworkFeeRequest, RequestError> {
        // The fee does not depend on the memo, but a memo of the wrong type is
        // refused here as it is on `withdraw`.
        fields.optional_text_or_number(&["memo"])?;
        Ok(NetworkFeeRequest {
            token_id: fields.required_str(&["token_id", "coin_id"])?.to_owned(),
            address: fields.optional_str(&["address"])?.map(str::to_owned),
        })
    }
}

/// `network/fee` → `data`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct NetworkFee {
    pub token_id: String,
    pub crypto: String,
    pub fee: String,
}

/// One element of `get/network/height/info` → `data` (an array).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ChainHeight {
    pub chain: String,
    pub current_chain_height: u64,
    pub tx_confirm_block_num: u64,
    pub block_rate: BlockRate,
}

/// Seconds per block, printed as a JSON number the way JavaScript prints it
/// (`12`, `0.4`, never `12.0`), so the Node SDK's re-serialisation matches.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BlockRate {
    pub block_time_ms: u64,
}

impl Serialize for BlockRate {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let whole = self.block_time_ms / 1000;
        let millis = self.block_time_ms % 1000;
        if millis == 0 {
            return serializer.serialize_u64(whole);
        }
        let fraction = format!("{millis:03}");
        let text = format!("{whole}.{}", fraction.trim_end_matches('0'));
        let number = serde_json::value::RawValue::from_string(text)
            .map_err(|e| serde::ser::Error::custom(e.to_string()))?;
        number.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for BlockRate {
    /// From the number's text, exactly: `12`, `0.4`, `2.25` (milliseconds
    /// beyond the third decimal are dropped).
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let number = serde_json::Number::deserialize(deserializer)?;
        let text = number.to_string();
        let (whole, fraction) = text.split_once('.').unwrap_or((&text, ""));
        let whole: u64 = whole.parse().map_err(serde::de::Error::custom)?;
        let millis: u64 = format!("{:0<3}", &fraction[..fraction.len().min(3)])
            .parse()
            .map_err(serde::de::Error::custom)?;
        Ok(BlockRate {
            block_time_ms: whole.saturating_mul(1000).saturating_add(millis),
        })
    }
}

/// `check/user` request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckUserRequest {
    pub c_id: String,
}

impl CheckUserRequest {
    pub fn from_fields(fields: &Fields) -> Result<CheckUserRequest, RequestError> {
        Ok(CheckUserRequest {
            c_id: fields.required_str(&["c_id"])?.to_owned(),
        })
    }
}

/// `check/user` → `data`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct CwalletUser {
    pub c_id: String,
    pub nickname: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rate(ms: u64) -> String {
        serde_json::to_string(&BlockRate { block_time_ms: ms }).unwrap_or_default()
    }

    #[test]
    fn block_rate_reads_back() {
        for ms in [0, 400, 2_250, 12_000, 600_001] {
            let back: BlockRate = serde_json::from_str(&rate(ms)).unwrap_or_default();
            assert_eq!(back.block_time_ms, ms);
        }
    }

    #[test]
    fn block_rate_prints_like_javascript() {
        assert_eq!(rate(12_000), "12");
        assert_eq!(rate(0), "0");
        assert_eq!(rate(400), "0.4");
        assert_eq!(rate(2_250), "2.25");
        assert_eq!(rate(600_001), "600.001");
    }

    #[test]
    fn required_fields_are_named() {
        let fields = Fields::parse(br#"{"token_id":"t"}"#).unwrap_or_default();
        assert_eq!(
            TokenRateRequest::from_fields(&fields),
            Err(RequestError::MissingField { field: "amount" })
        );
        let fields = Fields::parse(br#"{"coin_id":"c","amount":"1"}"#).unwrap_or_default();
        assert_eq!(
            TokenRateRequest::from_fields(&fields).map(|r| r.token_id),
            Ok("c".to_owned())
        );
        let fields = Fields::parse(br#"{"c_id":""}"#).unwrap_or_default();
        assert_eq!(
            CheckUserRequest::from_fields(&fields),
            Err(RequestError::MissingField { field: "c_id" })
        );
    }
}
