//! Money core of ccgate: exact amounts, the coin registry, and the double-entry journal with
//! its balance invariants. Pure and deterministic; storage and IO live in other crates.

// Money is exact: clippy.toml disallows the float types, and this keeps that an error even
// without `-D warnings`.
#![deny(clippy::disallowed_types, clippy::float_arithmetic)]

/// A string newtype for ids that are stored exactly as given and never interpreted.
macro_rules! string_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
        pub struct $name(String);

        impl $name {
            pub fn new(id: impl Into<String>) -> $name {
                $name(id.into())
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

pub mod amount;
mod error;
pub mod journal;
pub mod onchain;
pub mod registry;
pub mod swap;

pub use amount::{Amount, Decimal, Precision, Rounding, SignedAmount};
pub use error::LedgerError;
pub use journal::{
    Account, AccountBalance, BalanceRule, Books, Direction, JournalEntry, MerchantId, Posting,
};
pub use onchain::{BlockLink, ChainTransfer, DevnetChainState};
pub use registry::{
    AssetStatus, Chain, ChainCode, ChainFamily, Coin, CoinId, FIAT_IDS_DERIVED_FROM,
    NUMERIC_IDS_DERIVED, PriceTable, Registry, Token, TokenId, builtin_fiat_rates,
    derived_numeric_id, fiat_numeric_id,
};
