use ccgate_chain::keys::KeyError;
use ccgate_chain::{AddressError, ChainError};
use ccgate_ledger::LedgerError;
use ccgate_store::StoreError;

use crate::addresses::UnbindRefusal;

/// Why the engine did not do what it was asked: it refused (a [`Rejection`],
/// which the caller can act on), or a part below it failed (the database, a
/// chain's node, a key, the price source), which retrying later may mend.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Rejected(#[from] Rejection),
    #[error(transparent)]
    Store(StoreError),
    #[error(transparent)]
    Chain(ChainError),
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error(transparent)]
    Ledger(LedgerError),
    #[error("set up webhook delivery: {0}")]
    Delivery(String),
    /// No price, or one too old to use.
    #[error(transparent)]
    Price(#[from] ccgate_pricefeed::PriceError),
    /// The sandbox's controls, which only the operator reaches.
    #[error("sandbox: {0}")]
    Sandbox(String),
    #[error("serialise a webhook: {0}")]
    Serialise(#[from] serde_json::Error),
    /// Hashing or checking a dashboard password failed (not a wrong password).
    #[error("password hashing: {0}")]
    Password(String),
}

/// What the engine refuses to do, and why; each has its own code in each
/// API dialect (`server/src/failure.rs`, which names every one).
#[derive(Debug, thiserror::Error)]
pub enum Rejection {
    #[error("{0:?} is not a token id this gateway knows")]
    TokenNotFound(String),
    #[error("coin {0:?} has several networks; pass the token_id of one of them")]
    NetworkAmbiguous(String),
    #[error("chain {0} is not supported")]
    UnknownChain(String),
    /// A chain the registry has and the chain set does not.
    #[error("chain {0} is not configured")]
    ChainNotConfigured(String),
    #[error("{0}")]
    AddressInvalid(AddressError),
    #[error("at most {max} blocks can be mined at once")]
    TooManyBlocks { max: u64 },
    #[error("the merchant already has {max} permanent addresses, its quota")]
    AddressQuota { max: u64 },
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
    #[error("the available {0} balance does not cover this withdrawal and its fee")]
    InsufficientBalance(String),
    /// The payer of a swap holds less of the coin it pays with than the swap.
    #[error("the available {0} balance does not cover this swap")]
    SwapBalanceShort(String),
    /// The ledger refused an entry that would overdraw an account.
    #[error(transparent)]
    BalanceShort(LedgerError),
    #[error("a memo is required for withdrawals on {0}")]
    MemoRequired(String),
    #[error("no order has the merchant_order_id {0:?}")]
    OrderNotFound(String),
    #[error("this checkout has expired")]
    CheckoutExpired,
    /// v2's `addressUnbinding` refused (decisions §16).
    #[error(transparent)]
    Unbinding(#[from] UnbindRefusal),
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
    /// A batch withdrawal naming one task key twice (v2 `14027`).
    #[error("{0} appears twice in the batch; each task's seq and orderId must be unique")]
    BatchKeyDuplicate(String),
    #[error("batchOrderId {0:?} was already used with different parameters")]
    BatchOrderIdTaken(String),
    #[error("no batch withdrawal has the batchOrderId {0:?}")]
    BatchWithdrawalNotFound(String),
    #[error("a batch withdrawal holds at most {max} tasks")]
    TooManyTasks { max: usize },
    /// `appendBatchWithdraw` after the batch was confirmed.
    #[error("batch {0:?} is confirmed: tasks can only be appended before confirmBatchWithdraw")]
    BatchConfirmed(String),
    #[error("the batch has no task with {0}")]
    BatchTaskNotFound(String),
    /// `abortBatchWithdraw` found nothing it could cancel (v2 `14028`).
    #[error("no task of batch {0:?} could be canceled: each was sent, is being sent, or is final")]
    UnableToAbort(String),
    #[error("webhook/resend allows {per_minute} call(s) a minute and {per_day} a day")]
    ResendLimited { per_minute: u32, per_day: u32 },
    /// A swap between coins that cannot be swapped now (decisions §25).
    #[error("{0}")]
    SwapCoinUnavailable(String),
    /// The operator's treasury holds too little of the coin a swap buys.
    #[error("the treasury cannot cover this swap into {0} now")]
    TreasuryShort(String),
    /// An input so small that the swap's fee would take its whole output.
    #[error("{0}")]
    SwapAmountTooLow(String),
    /// The swap would give less than the caller's `amountOutMinimum`.
    #[error("{0}")]
    SwapBelowMinimum(String),
    /// The merchant's swaps today would pass its daily limit (v2 `16004`,
    /// decisions §29).
    #[error("{0}")]
    SwapDailyLimit(String),
    /// The operator switched this merchant's swaps off (v2 `16005`).
    #[error("swaps are disabled for this merchant")]
    SwapsDisabled,
    /// A wallet user the merchant never made (v2's 11015, decisions §24).
    #[error("no user of this merchant has the userId {0:?}")]
    UserNotFound(String),
    /// The merchant's App ID names its own account, which has no user address.
    #[error("the App ID is the merchant's own account, not a user")]
    UserIdIsAppId,
    #[error("a transfer needs two different accounts")]
    TransferToSelf,
    /// A rescan that cannot be made (the transaction is not mined, not
    /// confirmed yet, the chain has no node…).
    #[error("{0}")]
    Rescan(String),
    /// An API call from an address the merchant's allowlist does not list
    /// (decisions §23).
    #[error(
        "API calls for this Appid are not accepted from {0}: it is not on the merchant's API allowlist (dashboard, developers page)"
    )]
    ClientAddressRefused(std::net::IpAddr),
    /// The dashboard's refusals (decisions §23); no API endpoint meets them.
    #[error(transparent)]
    Console(#[from] crate::console::ConsoleRefusal),
}

/// Echoed input is cut to this many characters, so a message never grows
/// with what was sent.
const ECHO_CHARS_MAX: usize = 64;

impl Rejection {
    pub fn token_not_found(named: &str) -> Rejection {
        Rejection::TokenNotFound(named.chars().take(ECHO_CHARS_MAX).collect())
    }
}

/// An overdraft the ledger refuses is the caller's to mend; anything else
/// the store says is the store failing.
impl From<LedgerError> for EngineError {
    fn from(error: LedgerError) -> EngineError {
        match error {
            LedgerError::InsufficientBalance { .. } => Rejection::BalanceShort(error).into(),
            other => EngineError::Ledger(other),
        }
    }
}

impl From<StoreError> for EngineError {
    fn from(error: StoreError) -> EngineError {
        match error {
            StoreError::Ledger(refused @ LedgerError::InsufficientBalance { .. }) => {
                Rejection::BalanceShort(refused).into()
            }
            other => EngineError::Store(other),
        }
    }
}

/// A chain that is not configured, an address it cannot take, or more
/// blocks than it mines at once are the caller's to mend; the rest is the
/// chain (or its node, or the store behind it) failing.
impl From<ChainError> for EngineError {
    fn from(error: ChainError) -> EngineError {
        match error {
            ChainError::UnknownChain(chain) => Rejection::ChainNotConfigured(chain).into(),
            ChainError::InvalidAddress(invalid) => Rejection::AddressInvalid(invalid).into(),
            ChainError::TooManyBlocks { max } => Rejection::TooManyBlocks { max }.into(),
            other => EngineError::Chain(other),
        }
    }
}

impl From<UnbindRefusal> for EngineError {
    fn from(refusal: UnbindRefusal) -> EngineError {
        Rejection::Unbinding(refusal).into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn overdraft() -> LedgerError {
        LedgerError::InsufficientBalance {
            account_key: "merchant:x:available".into(),
            coin: ccgate_ledger::CoinId::new("usdt"),
        }
    }

    #[test]
    fn an_overdraft_is_a_rejection_whichever_layer_reports_it() {
        for error in [
            EngineError::from(overdraft()),
            EngineError::from(StoreError::Ledger(overdraft())),
        ] {
            assert!(
                matches!(error, EngineError::Rejected(Rejection::BalanceShort(_))),
                "{error:?}"
            );
        }
    }

    #[test]
    fn what_a_chain_refuses_of_the_caller_is_a_rejection_and_its_failures_are_not() {
        let rejected = [
            ChainError::UnknownChain("XYZ".into()),
            ChainError::InvalidAddress(AddressError::Empty),
            ChainError::TooManyBlocks { max: 1 },
        ];
        for error in rejected {
            let text = error.to_string();
            let converted = EngineError::from(error);
            assert!(
                matches!(converted, EngineError::Rejected(_)),
                "{converted:?}"
            );
            assert_eq!(converted.to_string(), text, "the sentence is kept");
        }
        let failed = [
            ChainError::SendFailed("x".into()),
            ChainError::Devnet("the devnet database is closed".into()),
        ];
        for error in failed {
            let converted = EngineError::from(error);
            assert!(matches!(converted, EngineError::Chain(_)), "{converted:?}");
        }
        let store_failed = EngineError::from(StoreError::Corrupt("x".into()));
        assert!(matches!(store_failed, EngineError::Store(_)));
    }
}
