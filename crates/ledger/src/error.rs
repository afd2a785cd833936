use crate::registry::CoinId;

/// Longest piece of caller-supplied text an error repeats back; request fields can be huge or
/// carry data that should not end up verbatim in logs.
const ECHO_CHARS_MAX: usize = 40;

#[derive(Clone, Debug, thiserror::Error, PartialEq, Eq)]
pub enum LedgerError {
    #[error(
        "precision {precision} is out of range; at most {max} decimal places are supported",
        max = crate::amount::Precision::MAX.get()
    )]
    InvalidPrecision { precision: u8 },
    #[error(
        "amount text is {len} bytes long; at most {max} are accepted",
        max = crate::amount::AMOUNT_TEXT_LEN_MAX
    )]
    AmountTooLong { len: usize },
    #[error("{text:?} is not a plain decimal number (digits, optionally a dot and more digits)")]
    MalformedAmount { text: String },
    #[error("amount has more decimal places than the precision of {precision}")]
    TooManyDecimals { precision: u8 },
    #[error("amount is too large")]
    AmountOverflow,

    #[error("division by zero")]
    DivisionByZero,
    #[error("the swap's fee of {fee} base units takes its whole output of {amount_out}")]
    SwapFeeTakesAll { amount_out: u128, fee: u128 },
    #[error("a swap cannot be priced at a price of zero")]
    SwapPriceZero,
    #[error("a swap's spread or fee rate is above 100 %")]
    SwapRateAboveWhole,
    #[error("chain {code} is listed twice")]
    DuplicateChain { code: String },
    #[error("chain {code} has a block time of 0 ms")]
    ZeroBlockTime { code: String },
    #[error("token id {id} is on chain {chain}, which is not configured")]
    TokenOnUnknownChain { id: String, chain: String },
    #[error("coin id {id} is listed twice")]
    DuplicateCoinId { id: String },
    #[error(
        "coin {symbol} has v2 coinId {numeric_id}, which is 0 or another coin's; set numeric_id to a free number"
    )]
    DuplicateNumericCoinId { numeric_id: u64, symbol: String },
    #[error("token id {id} is listed twice")]
    DuplicateTokenId { id: String },
    #[error("token id {id} is already the id of a different coin")]
    TokenIdIsOtherCoin { id: String },
    #[error("coin symbol {symbol} is used by two coins")]
    DuplicateCoinSymbol { symbol: String },
    #[error("token {id} names coin {coin_id} but is listed under a different coin")]
    TokenCoinMismatch { id: String, coin_id: String },
    #[error("token {id} has precision {token} but its coin only keeps {coin} decimal places")]
    TokenPrecisionAboveCoin { id: String, token: u8, coin: u8 },

    #[error("{key:?} is not a known account key")]
    MalformedAccountKey { key: String },
    #[error("a journal entry needs at least two postings")]
    TooFewPostings,
    #[error("a journal entry may not post a zero amount")]
    ZeroPosting,
    #[error("journal entry does not balance: debits and credits of coin {coin} differ")]
    Unbalanced { coin: CoinId },
    #[error("journal entry both debits and credits account {account_key} in coin {coin}")]
    SameAccountBothSides { account_key: String, coin: CoinId },
    #[error("account {account_key} has insufficient {coin} balance")]
    InsufficientBalance { account_key: String, coin: CoinId },
    #[error("balance has more debits than credits on an account that may not go negative")]
    BalanceRuleViolated,
}

impl LedgerError {
    pub(crate) fn malformed_amount(text: &str) -> Self {
        Self::MalformedAmount { text: echo(text) }
    }

    pub(crate) fn malformed_account_key(key: &str) -> Self {
        Self::MalformedAccountKey { key: echo(key) }
    }
}

fn echo(text: &str) -> String {
    match text.char_indices().nth(ECHO_CHARS_MAX) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn echoed_text_is_truncated() {
        let long = "9".repeat(500);
        let LedgerError::MalformedAmount { text } = LedgerError::malformed_amount(&long) else {
            panic!("wrong variant");
        };
        assert_eq!(text.chars().count(), ECHO_CHARS_MAX + 1);
        assert!(text.ends_with('…'));

        let multibyte = "é".repeat(41);
        let err = LedgerError::malformed_account_key(&multibyte);
        assert_eq!(
            err,
            LedgerError::MalformedAccountKey {
                key: format!("{}…", "é".repeat(40))
            }
        );
        assert_eq!(
            LedgerError::malformed_amount("1,5").to_string(),
            "\"1,5\" is not a plain decimal number (digits, optionally a dot and more digits)"
        );
    }
}
