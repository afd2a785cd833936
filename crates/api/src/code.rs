/// Every code ccgate answers with (decisions §2). Known CCPayment codes keep their
/// meaning; the others are ccgate's and stable: clients branch on them, so a code
/// is never reused for another meaning.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Code {
    Success,
    HeaderMissing,
    AppIdNotFound,
    SignatureInvalid,
    TimestampExpired,
    InvalidJson,
    ParamInvalid,
    BodyTooLarge,
    RateLimited,
    NotFound,
    CoinNotFound,
    CoinSuspended,
    ChainNotSupported,
    CurrencyNotSupported,
    DuplicateMerchantOrderId,
    OrderNotFound,
    AmountInvalid,
    AddressLimitReached,
    InsufficientBalance,
    AddressInvalid,
    MemoRequired,
    ServiceError,
    ToUserNotFound,
}

impl Code {
    pub const ALL: [Code; 23] = [
        Code::Success,
        Code::HeaderMissing,
        Code::AppIdNotFound,
        Code::SignatureInvalid,
        Code::TimestampExpired,
        Code::InvalidJson,
        Code::ParamInvalid,
        Code::BodyTooLarge,
        Code::RateLimited,
        Code::NotFound,
        Code::CoinNotFound,
        Code::CoinSuspended,
        Code::ChainNotSupported,
        Code::CurrencyNotSupported,
        Code::DuplicateMerchantOrderId,
        Code::OrderNotFound,
        Code::AmountInvalid,
        Code::AddressLimitReached,
        Code::InsufficientBalance,
        Code::AddressInvalid,
        Code::MemoRequired,
        Code::ServiceError,
        Code::ToUserNotFound,
    ];

    /// The number on the wire (`code`).
    pub fn number(self) -> u32 {
        match self {
            Code::Success => 10000,
            Code::HeaderMissing => 220001,
            Code::AppIdNotFound => 220002,
            Code::SignatureInvalid => 220003,
            Code::TimestampExpired => 220004,
            Code::InvalidJson => 220005,
            Code::ParamInvalid => 220006,
            Code::BodyTooLarge => 220007,
            Code::RateLimited => 220008,
            Code::NotFound => 220009,
            Code::CoinNotFound => 221001,
            Code::CoinSuspended => 221002,
            Code::ChainNotSupported => 221003,
            Code::CurrencyNotSupported => 221004,
            Code::DuplicateMerchantOrderId => 222001,
            Code::OrderNotFound => 222002,
            Code::AmountInvalid => 222003,
            Code::AddressLimitReached => 222004,
            Code::InsufficientBalance => 223001,
            Code::AddressInvalid => 223002,
            Code::MemoRequired => 223003,
            Code::ServiceError => 224066,
            Code::ToUserNotFound => 224083,
        }
    }

    /// The machine-readable `reason` (absent on success).
    pub fn reason(self) -> Option<&'static str> {
        Some(match self {
            Code::Success => return None,
            Code::HeaderMissing => "HeaderMissing",
            Code::AppIdNotFound => "AppIdNotFound",
            Code::SignatureInvalid => "SignatureInvalid",
            Code::TimestampExpired => "TimestampExpired",
            Code::InvalidJson => "InvalidJson",
            Code::ParamInvalid => "ParamInvalid",
            Code::BodyTooLarge => "BodyTooLarge",
            Code::RateLimited => "RateLimited",
            Code::NotFound => "NotFound",
            Code::CoinNotFound => "CoinNotFound",
            Code::CoinSuspended => "CoinSuspended",
            Code::ChainNotSupported => "ChainNotSupported",
            Code::CurrencyNotSupported => "CurrencyNotSupported",
            Code::DuplicateMerchantOrderId => "DuplicateMerchantOrderId",
            Code::OrderNotFound => "OrderNotFound",
            Code::AmountInvalid => "AmountInvalid",
            Code::AddressLimitReached => "AddressLimitReached",
            Code::InsufficientBalance => "InsufficientBalance",
            Code::AddressInvalid => "AddressInvalid",
            Code::MemoRequired => "MemoRequired",
            Code::ServiceError => "ServiceError",
            Code::ToUserNotFound => "ToUserNotFound",
        })
    }

    /// The HTTP status the code travels with. Business and validation errors are
    /// HTTP 200 because every official SDK treats any other status as a transport
    /// failure and would hide the envelope; only refusals below the API differ.
    pub fn http_status(self) -> u16 {
        match self {
            Code::BodyTooLarge => 413,
            Code::RateLimited => 429,
            Code::NotFound => 404,
            _ => 200,
        }
    }

    /// The message CCPayment itself sends, where one is known, else ccgate's.
    pub fn default_msg(self) -> &'static str {
        match self {
            Code::Success => "success",
            Code::HeaderMissing => "the Appid, Timestamp and Sign headers are required",
            Code::AppIdNotFound => "no active merchant has this Appid",
            Code::SignatureInvalid => "the Sign header does not match the request",
            Code::TimestampExpired => {
                "the Timestamp header must be unix seconds within 120 seconds of the server's clock"
            }
            Code::InvalidJson => "the request body must be empty or a JSON object",
            Code::ParamInvalid => "a request field is missing or invalid",
            Code::BodyTooLarge => "the request body is too large",
            Code::RateLimited => "too many requests, slow down",
            Code::NotFound => "no such endpoint",
            Code::CoinNotFound => "the coin or token was not found",
            Code::CoinSuspended => "the coin or token is suspended",
            Code::ChainNotSupported => "the chain is not supported",
            Code::CurrencyNotSupported => "the denominated currency is not supported",
            Code::DuplicateMerchantOrderId => {
                "merchant_order_id was already used with different parameters"
            }
            Code::OrderNotFound => "the order was not found",
            Code::AmountInvalid => "the amount is not valid",
            Code::AddressLimitReached => "the permanent address quota is reached",
            Code::InsufficientBalance => "insufficient balance",
            Code::AddressInvalid => "the address is not valid",
            Code::MemoRequired => "a memo is required on this chain",
            Code::ServiceError => "service err, please try again",
            Code::ToUserNotFound => "users do not exist",
        }
    }

    /// What an integrator should do about this code: one sentence, shown in
    /// the documentation's code table.
    pub fn remedy(self) -> &'static str {
        match self {
            Code::Success => "Nothing: the request was done; read `data`.",
            Code::HeaderMissing => {
                "Send the Appid, Timestamp and Sign headers, spelled exactly so, on every request."
            }
            Code::AppIdNotFound => {
                "Check the Appid against the one the operator gave you; a disabled merchant is refused too."
            }
            Code::SignatureInvalid => {
                "Sign the exact bytes you send (Appid + AppSecret + Timestamp + body, no re-formatting) with the current AppSecret, and send the Timestamp you signed."
            }
            Code::TimestampExpired => {
                "Sync the clock (NTP) and send the current unix time in seconds; the Timestamp must be within 120 s of the server's."
            }
            Code::InvalidJson => "Send an empty body or one JSON object, encoded as UTF-8.",
            Code::ParamInvalid => {
                "Fix the field the message names (missing, wrong type or too long) and send again."
            }
            Code::BodyTooLarge => {
                "Send a smaller body: no endpoint needs more than a few kilobytes (bill/info takes at most 100 ids)."
            }
            Code::RateLimited => {
                "Slow down and retry after a pause; webhook/resend is limited per merchant to 1 call a minute and 25 a day by default."
            }
            Code::NotFound => {
                "Use POST and one of the documented paths under /ccpayment/v1/, spelled exactly."
            }
            Code::CoinNotFound => {
                "Use a coin_id or token_id from coin/all; ids are the UUIDs it lists, not symbols."
            }
            Code::CoinSuspended => {
                "Choose another coin or network; coin/all shows which are available (status 1)."
            }
            Code::ChainNotSupported => {
                "Use a chain code listed in coin/all (the `chain` of a token, such as ETH or TRX)."
            }
            Code::CurrencyNotSupported => {
                "Price the order in a supported currency (USD by default), or in the token itself by omitting denominated_currency."
            }
            Code::DuplicateMerchantOrderId => {
                "Use a new merchant_order_id for a new order, or repeat the first request exactly to get the same order back."
            }
            Code::OrderNotFound => {
                "Check the merchant_order_id or order id: it must be one this merchant created."
            }
            Code::AmountInvalid => {
                "Send the amount as a positive decimal string within the coin's precision and size limits, as the message says."
            }
            Code::AddressLimitReached => {
                "Reuse the permanent addresses you already have (one per user_id and chain) or ask the operator to raise the quota."
            }
            Code::InsufficientBalance => {
                "Check assets and network/fee: the available balance must cover the amount and its network fee."
            }
            Code::AddressInvalid => {
                "Send a valid address of the token's chain (for EVM chains EIP-55 checksummed or all lower case), or an existing Cwallet id."
            }
            Code::MemoRequired => {
                "Send the memo (destination tag) that the receiving address needs."
            }
            Code::ServiceError => {
                "Retry later with the same merchant_order_id (safe: it is idempotent); if it persists, give the operator the time of the call."
            }
            Code::ToUserNotFound => {
                "Check the Cwallet id with check/user before withdrawing to it."
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn numbers_and_reasons_are_unique() {
        let numbers: HashSet<u32> = Code::ALL.iter().map(|c| c.number()).collect();
        let reasons: HashSet<&str> = Code::ALL.iter().filter_map(|c| c.reason()).collect();
        assert_eq!(numbers.len(), Code::ALL.len());
        assert_eq!(reasons.len(), Code::ALL.len() - 1);
    }

    #[test]
    fn every_code_has_a_remedy_of_one_sentence() {
        for code in Code::ALL {
            let remedy = code.remedy();
            assert!(remedy.len() > 20, "{code:?}: {remedy:?}");
            assert!(remedy.ends_with('.'), "{code:?}: {remedy:?}");
            assert_eq!(
                remedy.matches(". ").count(),
                0,
                "{code:?}: one sentence: {remedy:?}"
            );
        }
        assert!(Code::TimestampExpired.remedy().contains("120 s"));
    }

    #[test]
    fn reason_is_the_variant_name() {
        for code in Code::ALL {
            if let Some(reason) = code.reason() {
                assert_eq!(format!("{code:?}"), reason);
            }
        }
    }
}
