//! The v2 code table (v2 spec §1.9): the numbers and tip names CCPayment
//! publishes. Every v2 answer that reaches the API is HTTP 200, as the
//! WooCommerce plugin and the Java and Python SDKs read no body from any
//! other; the server chooses the status of refusals below the API.

/// A v2 answer's `code`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum V2Code {
    Success,
    InvalidArgument,
    HeaderInvalidArgument,
    Internal,
    NotFound,
    RateLimit,
    VerifySignFailed,
    ReqExpired,
    QueryDurationTooMax,
    QueryNumMax,
    OrderDuplicate,
    ExpiredAtTooMax,
    UserIdNotFound,
    MerchantDisabled,
    IpNotInWhitelist,
    MerchantNotFound,
    InvalidCoin,
    InvalidChain,
    AbnormalCoinPrice,
    AbnormalCoinStatus,
    BalanceInsufficient,
    AddressNotActive,
    AddressEmptyMemo,
    WithdrawFeeTooLow,
    WithdrawValueLessThanLimit,
    WithdrawAddrFormat,
    CoinPrecisionLimit,
    WithdrawAmountFeeTooLittle,
    SeqDuplicate,
    PaymentAddressNumTooMuch,
    OrderExpired,
    UnUsedAddressDeprecatedNotAllowed,
    UnMatchedMerchantAddressDeprecated,
    UnBindingAddressDeprecated,
    UnSupportedAddressDeprecated,
    UnSupportedChainAddress,
    AddressNotBelongCcp,
    CoinUnavailableForSwap,
    SwapAmountInTooLow,
    AmountOutMinimumTooHigh,
    UnableAbort,
    MerchantSwapLimit,
    DisabledSwap,
}

impl V2Code {
    pub const ALL: [V2Code; 43] = [
        V2Code::Success,
        V2Code::InvalidArgument,
        V2Code::HeaderInvalidArgument,
        V2Code::Internal,
        V2Code::NotFound,
        V2Code::RateLimit,
        V2Code::VerifySignFailed,
        V2Code::ReqExpired,
        V2Code::QueryDurationTooMax,
        V2Code::QueryNumMax,
        V2Code::OrderDuplicate,
        V2Code::ExpiredAtTooMax,
        V2Code::UserIdNotFound,
        V2Code::MerchantDisabled,
        V2Code::IpNotInWhitelist,
        V2Code::MerchantNotFound,
        V2Code::InvalidCoin,
        V2Code::InvalidChain,
        V2Code::AbnormalCoinPrice,
        V2Code::AbnormalCoinStatus,
        V2Code::BalanceInsufficient,
        V2Code::AddressNotActive,
        V2Code::AddressEmptyMemo,
        V2Code::WithdrawFeeTooLow,
        V2Code::WithdrawValueLessThanLimit,
        V2Code::WithdrawAddrFormat,
        V2Code::CoinPrecisionLimit,
        V2Code::WithdrawAmountFeeTooLittle,
        V2Code::SeqDuplicate,
        V2Code::PaymentAddressNumTooMuch,
        V2Code::OrderExpired,
        V2Code::UnUsedAddressDeprecatedNotAllowed,
        V2Code::UnMatchedMerchantAddressDeprecated,
        V2Code::UnBindingAddressDeprecated,
        V2Code::UnSupportedAddressDeprecated,
        V2Code::UnSupportedChainAddress,
        V2Code::AddressNotBelongCcp,
        V2Code::CoinUnavailableForSwap,
        V2Code::SwapAmountInTooLow,
        V2Code::AmountOutMinimumTooHigh,
        V2Code::UnableAbort,
        V2Code::MerchantSwapLimit,
        V2Code::DisabledSwap,
    ];

    /// The number on the wire.
    pub fn number(self) -> u32 {
        match self {
            V2Code::Success => 10000,
            V2Code::InvalidArgument => 11000,
            V2Code::HeaderInvalidArgument => 11001,
            V2Code::Internal => 11002,
            V2Code::NotFound => 11003,
            V2Code::RateLimit => 11004,
            V2Code::VerifySignFailed => 11005,
            V2Code::ReqExpired => 11006,
            V2Code::QueryDurationTooMax => 11008,
            V2Code::QueryNumMax => 11010,
            V2Code::OrderDuplicate => 11011,
            V2Code::ExpiredAtTooMax => 11012,
            V2Code::UserIdNotFound => 11015,
            V2Code::MerchantDisabled => 12000,
            V2Code::IpNotInWhitelist => 12002,
            V2Code::MerchantNotFound => 12001,
            V2Code::InvalidCoin => 13000,
            V2Code::InvalidChain => 13001,
            V2Code::AbnormalCoinPrice => 13002,
            V2Code::AbnormalCoinStatus => 13005,
            V2Code::BalanceInsufficient => 14000,
            V2Code::AddressNotActive => 14002,
            V2Code::AddressEmptyMemo => 14003,
            V2Code::WithdrawFeeTooLow => 14001,
            V2Code::WithdrawValueLessThanLimit => 14005,
            V2Code::WithdrawAddrFormat => 14007,
            V2Code::CoinPrecisionLimit => 14013,
            V2Code::WithdrawAmountFeeTooLittle => 14019,
            // A batch withdrawal's task key repeated (v2 spec §2.6).
            V2Code::SeqDuplicate => 14027,
            V2Code::PaymentAddressNumTooMuch => 15001,
            V2Code::OrderExpired => 15002,
            V2Code::UnUsedAddressDeprecatedNotAllowed => 17000,
            V2Code::UnMatchedMerchantAddressDeprecated => 17001,
            V2Code::UnBindingAddressDeprecated => 17003,
            V2Code::UnSupportedAddressDeprecated => 17004,
            V2Code::UnSupportedChainAddress => 17005,
            V2Code::AddressNotBelongCcp => 17007,
            V2Code::CoinUnavailableForSwap => 16001,
            V2Code::SwapAmountInTooLow => 16002,
            V2Code::AmountOutMinimumTooHigh => 16003,
            // No task of a batch withdrawal could be canceled (§2.6).
            V2Code::UnableAbort => 14028,
            V2Code::MerchantSwapLimit => 16004,
            V2Code::DisabledSwap => 16005,
        }
    }

    /// CCPayment's tip (its enum name), sent as `reason`.
    pub fn tip(self) -> &'static str {
        match self {
            V2Code::Success => "Success",
            V2Code::InvalidArgument => "InvalidArgument",
            V2Code::HeaderInvalidArgument => "HeaderInvalidArgument",
            V2Code::Internal => "Internal",
            V2Code::NotFound => "NotFound",
            V2Code::RateLimit => "RateLimit",
            V2Code::VerifySignFailed => "VerifySignFailed",
            V2Code::ReqExpired => "ReqExpired",
            V2Code::QueryDurationTooMax => "QueryDurationTooMax",
            V2Code::QueryNumMax => "QueryNumMax",
            V2Code::OrderDuplicate => "OrderDuplicate",
            V2Code::ExpiredAtTooMax => "ExpiredAtTooMax",
            V2Code::UserIdNotFound => "UserIdNotFound",
            V2Code::MerchantDisabled => "MerchantDisabled",
            V2Code::IpNotInWhitelist => "IpNotInWhitelist",
            V2Code::MerchantNotFound => "MerchantNotFound",
            V2Code::InvalidCoin => "InvalidCoin",
            V2Code::InvalidChain => "InvalidChain",
            V2Code::AbnormalCoinPrice => "AbnormalCoinPrice",
            V2Code::AbnormalCoinStatus => "AbnormalCoinStatus",
            V2Code::BalanceInsufficient => "BalanceInsufficient",
            V2Code::AddressNotActive => "AddressNotActive",
            V2Code::AddressEmptyMemo => "AddressEmptyMemo",
            V2Code::WithdrawFeeTooLow => "WithdrawFeeTooLow",
            V2Code::WithdrawValueLessThanLimit => "WithdrawValueLessThanLimit",
            V2Code::WithdrawAddrFormat => "WithdrawAddrFormat",
            V2Code::CoinPrecisionLimit => "CoinPrecisionLimit",
            V2Code::WithdrawAmountFeeTooLittle => "WithdrawAmountFeeTooLittle",
            V2Code::SeqDuplicate => "SeqDuplicate",
            V2Code::PaymentAddressNumTooMuch => "PaymentAddressNumTooMuch",
            V2Code::OrderExpired => "OrderExpired",
            V2Code::UnUsedAddressDeprecatedNotAllowed => "UnUsedAddressDeprecatedNotAllowed",
            V2Code::UnMatchedMerchantAddressDeprecated => "UnMatchedMerchantAddressDeprecated",
            V2Code::UnBindingAddressDeprecated => "UnBindingAddressDeprecated",
            V2Code::UnSupportedAddressDeprecated => "UnSupportedAddressDeprecated",
            V2Code::UnSupportedChainAddress => "UnSupportedChainAddress",
            V2Code::AddressNotBelongCcp => "AddressNotBelongCCP",
            V2Code::CoinUnavailableForSwap => "CoinUnavailableForSwap",
            V2Code::SwapAmountInTooLow => "SwapAmountInTooLow",
            V2Code::AmountOutMinimumTooHigh => "AmountOutMinimumTooHigh",
            V2Code::UnableAbort => "UnableAbort",
            V2Code::MerchantSwapLimit => "MerchantSwapLimit",
            V2Code::DisabledSwap => "DisabledSwap",
        }
    }

    /// The message sent when the failure has nothing more specific to say.
    pub fn default_msg(self) -> &'static str {
        match self {
            V2Code::Success => "success",
            V2Code::Internal => "Internal error, please try again later",
            other => other.tip(),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    #[test]
    fn numbers_and_tips_are_unique_and_in_the_published_ranges() {
        let numbers: BTreeSet<_> = V2Code::ALL.iter().map(|c| c.number()).collect();
        let tips: BTreeSet<_> = V2Code::ALL.iter().map(|c| c.tip()).collect();
        assert_eq!(numbers.len(), V2Code::ALL.len());
        assert_eq!(tips.len(), V2Code::ALL.len());
        assert!(numbers.iter().all(|n| (10000..18000).contains(n)));
        assert_eq!(V2Code::VerifySignFailed.number(), 11005);
        assert_eq!(V2Code::MerchantNotFound.number(), 12001);
        assert_eq!(V2Code::OrderDuplicate.number(), 11011);
    }
}
