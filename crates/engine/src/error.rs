use ccgate_chain::ChainError;
use ccgate_chain::keys::KeyError;
use ccgate_ledger::LedgerError;
use ccgate_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Chain(#[from] ChainError),
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    #[error("no token {0:?} (a token id from `ccgate coins list`)")]
    TokenNotFound(String),
    #[error("chain {0} is not supported")]
    UnknownChain(String),
    #[error("the merchant already has {max} permanent addresses, its quota")]
    AddressQuota { max: u64 },
    #[error("set up webhook delivery: {0}")]
    Delivery(String),
    #[error("record webhook attempts: {0}")]
    Recording(String),
    #[error("the coin or network {0} is suspended")]
    CoinSuspended(String),
    #[error("the denominated currency {0:?} is not supported")]
    CurrencyNotSupported(String),
    #[error("{0}")]
    AmountInvalid(String),
    /// An amount with more decimal places than its coin or network carries.
    #[error("{0}")]
    TooManyDecimals(String),
    /// A withdrawal below its coin's minimum.
    #[error("{0}")]
    BelowMinimumWithdrawal(String),
    /// A withdrawal (or refund) whose amount the network fee would eat.
    #[error("{0}")]
    NotAboveNetworkFee(String),
    /// A `networkFeeInquiryID` that is unknown, another merchant's, for
    /// another network, or expired.
    #[error("{0}")]
    FeeQuoteInvalid(String),
    #[error("no Cwallet user has the id {0:?}")]
    CwalletUserNotFound(String),
    #[error("no withdrawal has the order id {0:?}")]
    WithdrawalNotFound(String),
    #[error("withdrawal {0} is not waiting for approval")]
    NotWaitingForApproval(String),
    #[error("coin {0} has several networks; pass the token_id of one of them")]
    NetworkAmbiguous(String),
    #[error("the available {0} balance does not cover this withdrawal and its fee")]
    InsufficientBalance(String),
    #[error("a memo is required for withdrawals on {0}")]
    MemoRequired(String),
    #[error("no order has the merchant_order_id {0:?}")]
    OrderNotFound(String),
    #[error("this checkout has expired")]
    CheckoutExpired,
    /// v2's `addressUnbinding` refused (decisions §16).
    #[error(transparent)]
    Unbinding(#[from] crate::addresses::UnbindRefusal),
    #[error("this checkout is paid in {0} only")]
    CheckoutTakesOneCoin(String),
    #[error("{field} must be at most {max_secs} seconds from now")]
    ValidityOutOfRange { field: &'static str, max_secs: u64 },
    #[error("expiredAt {0} is not in the future")]
    ExpiryNotAhead(i64),
    #[error("merchant_order_id {0:?} was already used with different parameters")]
    DuplicateMerchantOrderId(String),
    #[error("merchant_order_id {id:?} is already used by one of this merchant's {by}")]
    MerchantOrderIdTaken { id: String, by: &'static str },
    #[error(transparent)]
    Price(#[from] ccgate_pricefeed::PriceError),
    /// A rescan that cannot be made (the transaction is not mined, not
    /// confirmed yet, the chain has no node…).
    #[error("{0}")]
    Rescan(String),
    #[error("sandbox: {0}")]
    Sandbox(String),
    #[error("serialise a webhook: {0}")]
    Serialise(#[from] serde_json::Error),
}
