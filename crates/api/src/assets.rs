//! `POST /ccpayment/v1/assets` — the Asset Balance Interface (spec §2.10).

use serde::{Deserialize, Serialize};

use crate::RequestError;
use crate::request::Fields;

/// Which balances the merchant asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssetsRequest {
    /// A coin id, or (legacy SDKs) a token id that resolves to its coin; `None`
    /// asks for every coin the merchant holds.
    pub coin_id: Option<String>,
}

impl AssetsRequest {
    /// `token_id` is the pre-2023-12 name still sent by the Java SDK and PyPI
    /// `ccpayment` 1.0.4.
    pub fn from_fields(fields: &Fields) -> Result<AssetsRequest, RequestError> {
        let coin_id = fields.optional_str(&["coin_id", "token_id"])?;
        Ok(AssetsRequest {
            coin_id: coin_id.map(str::to_owned),
        })
    }
}

/// `data` of a successful answer. Field order is part of the wire contract.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AssetsData {
    pub list: Vec<AssetBalance>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AssetBalance {
    pub coin_id: String,
    pub crypto: String,
    pub name: String,
    /// Balance at the coin's precision, trailing zeros trimmed.
    pub value: String,
    /// USD price.
    pub price: String,
    pub logo: String,
}
