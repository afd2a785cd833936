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
    fn reason_is_the_variant_name() {
        for code in Code::ALL {
            if let Some(reason) = code.reason() {
                assert_eq!(format!("{code:?}"), reason);
            }
        }
    }
}
