//! The one place where every failure becomes a v1 code, a message and an HTTP
//! status. Nothing else in the server chooses a code.

use std::any::Any;

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use ccgate_api::v2::V2Code;
use ccgate_api::{Code, RequestError, error_body};
use ccgate_engine::addresses::UnbindRefusal;
use ccgate_engine::console::ConsoleRefusal;
use ccgate_engine::{EngineError, Rejection};
use ccgate_pricefeed::PriceError;

/// Echoed client input is cut to this many characters, so an answer never
/// grows with what was sent.
const ECHO_CHARS_MAX: usize = 64;

#[derive(Debug, thiserror::Error)]
pub enum Failure {
    #[error("the {0} header is required")]
    HeaderMissing(&'static str),
    #[error("no merchant has this Appid")]
    AppIdUnknown,
    #[error("the merchant with this Appid is disabled")]
    AppIdDisabled,
    #[error("the Sign header does not match the request")]
    SignatureInvalid,
    #[error("the request body is over the {limit_bytes}-byte limit")]
    BodyTooLarge { limit_bytes: usize },
    #[error("too many requests from this address; the limit is {per_sec} per second")]
    RateLimited { per_sec: u32 },
    #[error("no endpoint at {0}")]
    RouteNotFound(String),
    #[error("{0} is not allowed here; every API endpoint is POST")]
    MethodNotAllowed(String),
    #[error(transparent)]
    Request(#[from] RequestError),
    #[error("coin {0:?} is not a coin or token id this gateway knows")]
    CoinNotFound(String),
    #[error("merchant_order_ids mixes deposit orders and withdrawals; ask for one kind at a time")]
    MixedOrderKinds,
    #[error("{field} must be a positive decimal number of at most {max_places} decimal places")]
    AmountInvalid { field: &'static str, max_places: u8 },
    #[error("users do not exist")]
    UserNotFound,
    #[error("{0:?} is not one of this merchant's deposit addresses on that chain")]
    AddressNotOurs(String),
    #[error("no withdrawal of this merchant has the id {0:?}")]
    WithdrawalNotFound(String),
    #[error("no order has the orderId {0:?}")]
    OrderIdUnknown(String),
    #[error("no swap of this merchant has the id {0:?}")]
    SwapNotFound(String),
    #[error("endAt may be at most {max_days} days after startAt")]
    QueryRangeTooLong { max_days: u64 },
    #[error("no deposit has the recordId {0:?}")]
    RecordIdUnknown(String),
    #[error("no deposit or withdrawal of this merchant has the record id {0:?}")]
    RecordUnknown(String),
    #[error("no transfer of this merchant has the id {0:?}")]
    TransferNotFound(String),
    #[error("record {record_id:?} has no block height: {why}")]
    NoBlockHeight {
        record_id: String,
        why: &'static str,
    },
    #[error("fiat id {0} is not a currency of getFiatList")]
    FiatIdUnknown(u64),
    #[error("chain {0:?} is not supported")]
    ChainNotSupported(String),
    #[error("{coin} is not on chain {chain:?}")]
    CoinNotOnChain { coin: String, chain: String },
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error("{0}")]
    Internal(String),
}

impl Failure {
    pub fn coin_not_found(id: &str) -> Failure {
        Failure::CoinNotFound(truncate(id))
    }

    pub fn chain_not_supported(code: &str) -> Failure {
        Failure::ChainNotSupported(truncate(code))
    }

    pub fn address_not_ours(address: &str) -> Failure {
        Failure::AddressNotOurs(truncate(address))
    }

    pub fn coin_not_on_chain(coin: &str, chain: &str) -> Failure {
        Failure::CoinNotOnChain {
            coin: coin.to_owned(),
            chain: truncate(chain),
        }
    }

    pub fn withdrawal_not_found(id: &str) -> Failure {
        Failure::WithdrawalNotFound(truncate(id))
    }

    pub fn swap_not_found(id: &str) -> Failure {
        Failure::SwapNotFound(truncate(id))
    }

    pub fn order_id_unknown(id: &str) -> Failure {
        Failure::OrderIdUnknown(truncate(id))
    }

    pub fn transfer_not_found(id: &str) -> Failure {
        Failure::TransferNotFound(truncate(id))
    }

    pub fn record_id_unknown(id: &str) -> Failure {
        Failure::RecordIdUnknown(truncate(id))
    }

    pub fn record_unknown(id: &str) -> Failure {
        Failure::RecordUnknown(truncate(id))
    }

    pub fn no_block_height(record_id: &str, why: &'static str) -> Failure {
        Failure::NoBlockHeight {
            record_id: truncate(record_id),
            why,
        }
    }

    pub fn code(&self) -> Code {
        match self {
            Failure::HeaderMissing(_) => Code::HeaderMissing,
            Failure::AppIdUnknown | Failure::AppIdDisabled => Code::AppIdNotFound,
            Failure::SignatureInvalid => Code::SignatureInvalid,
            Failure::BodyTooLarge { .. } => Code::BodyTooLarge,
            Failure::RateLimited { .. } => Code::RateLimited,
            Failure::RouteNotFound(_) | Failure::MethodNotAllowed(_) => Code::NotFound,
            Failure::Request(err) => match err {
                RequestError::InvalidJson(_) | RequestError::NotUtf8 => Code::InvalidJson,
                RequestError::FieldType { .. }
                | RequestError::FieldTooLong { .. }
                | RequestError::FieldLength { .. }
                | RequestError::TooManyItems { .. }
                | RequestError::MissingField { .. }
                | RequestError::NotAnHttpUrl { .. } => Code::ParamInvalid,
                RequestError::TimestampNotANumber | RequestError::TimestampOutOfWindow { .. } => {
                    Code::TimestampExpired
                }
            },
            Failure::CoinNotFound(_) => Code::CoinNotFound,
            Failure::AmountInvalid { .. } => Code::AmountInvalid,
            Failure::MixedOrderKinds
            | Failure::NoBlockHeight { .. }
            | Failure::QueryRangeTooLong { .. } => Code::ParamInvalid,
            Failure::UserNotFound => Code::ToUserNotFound,
            Failure::AddressNotOurs(_) => Code::AddressInvalid,
            Failure::WithdrawalNotFound(_) => Code::OrderNotFound,
            Failure::OrderIdUnknown(_)
            | Failure::SwapNotFound(_)
            | Failure::RecordIdUnknown(_)
            | Failure::RecordUnknown(_)
            | Failure::TransferNotFound(_) => Code::OrderNotFound,
            Failure::FiatIdUnknown(_) => Code::CurrencyNotSupported,
            Failure::ChainNotSupported(_) | Failure::CoinNotOnChain { .. } => {
                Code::ChainNotSupported
            }
            Failure::Engine(EngineError::Rejected(rejection)) => rejection_code(rejection),
            // The parts below failed: retrying later may help. A price too
            // old to use, or none at all, is one of them.
            Failure::Engine(
                EngineError::Store(_)
                | EngineError::Chain(_)
                | EngineError::Key(_)
                | EngineError::Ledger(_)
                | EngineError::Delivery(_)
                | EngineError::Price(_)
                | EngineError::Sandbox(_)
                | EngineError::Serialise(_)
                | EngineError::Password(_),
            )
            | Failure::Internal(_) => Code::ServiceError,
        }
    }

    /// The v2 code (v2 spec §1.9): v1's meaning carried over, where v2
    /// draws a finer line than v1 the failure itself decides.
    pub fn v2_code(&self) -> V2Code {
        match self {
            Failure::AppIdDisabled => V2Code::MerchantDisabled,
            Failure::Request(RequestError::TimestampNotANumber) => V2Code::HeaderInvalidArgument,
            Failure::Engine(EngineError::Price(_)) => V2Code::AbnormalCoinPrice,
            Failure::AddressNotOurs(_) => V2Code::AddressNotBelongCcp,
            Failure::Request(RequestError::TooManyItems { .. }) => V2Code::QueryNumMax,
            Failure::QueryRangeTooLong { .. } => V2Code::QueryDurationTooMax,
            Failure::Engine(EngineError::Rejected(rejection)) => match rejection {
                Rejection::ValidityOutOfRange { .. } => V2Code::ExpiredAtTooMax,
                Rejection::CheckoutExpired => V2Code::OrderExpired,
                Rejection::TooManyDecimals(_) => V2Code::CoinPrecisionLimit,
                Rejection::BelowMinimumWithdrawal(_) => V2Code::WithdrawValueLessThanLimit,
                Rejection::NotAboveNetworkFee(_) => V2Code::WithdrawAmountFeeTooLittle,
                Rejection::FeeQuoteInvalid(_) => V2Code::WithdrawFeeTooLow,
                Rejection::BatchKeyDuplicate(_) => V2Code::SeqDuplicate,
                Rejection::TooManyTasks { .. } => V2Code::QueryNumMax,
                // The spec has no liquidity code: the treasury short of a
                // coin makes that coin unavailable for swaps (decisions §25).
                Rejection::SwapCoinUnavailable(_) | Rejection::TreasuryShort(_) => {
                    V2Code::CoinUnavailableForSwap
                }
                Rejection::SwapAmountTooLow(_) => V2Code::SwapAmountInTooLow,
                Rejection::SwapBelowMinimum(_) => V2Code::AmountOutMinimumTooHigh,
                Rejection::SwapDailyLimit(_) => V2Code::MerchantSwapLimit,
                Rejection::SwapsDisabled => V2Code::DisabledSwap,
                Rejection::UnableToAbort(_) => V2Code::UnableAbort,
                Rejection::UserNotFound(_) => V2Code::UserIdNotFound,
                Rejection::ClientAddressRefused(_) => V2Code::IpNotInWhitelist,
                Rejection::Unbinding(refusal) => match refusal {
                    UnbindRefusal::NotTheMerchants(_) => V2Code::UnMatchedMerchantAddressDeprecated,
                    UnbindRefusal::OtherChain { .. } => V2Code::UnSupportedChainAddress,
                    UnbindRefusal::OrderAddress(_) => V2Code::UnSupportedAddressDeprecated,
                    UnbindRefusal::AlreadyUnbound(_) => V2Code::UnBindingAddressDeprecated,
                    UnbindRefusal::NeverPaid(_) => V2Code::UnUsedAddressDeprecatedNotAllowed,
                },
                other => v2_code_of(rejection_code(other)),
            },
            other => v2_code_of(other.code()),
        }
    }

    fn http_status(&self) -> StatusCode {
        match self {
            Failure::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            other => StatusCode::from_u16(other.code().http_status())
                .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        }
    }

    /// What the client reads. Internal failures say only the documented
    /// sentence; their detail goes to the log, once, with the request id.
    fn message(&self) -> String {
        match self.code() {
            Code::ServiceError => Code::ServiceError.default_msg().to_owned(),
            _ => self.to_string(),
        }
    }
}

/// A rejection's v2 code where an answer lists codes rather than failing
/// (`checkWithdrawAddress`).
pub fn rejection_v2_code(rejection: Rejection) -> V2Code {
    Failure::Engine(EngineError::Rejected(rejection)).v2_code()
}

/// Each engine rejection's v1 code; every one named, so a new rejection
/// does not compile until it has its code, instead of answering a server
/// error by default.
fn rejection_code(rejection: &Rejection) -> Code {
    match rejection {
        Rejection::TokenNotFound(_)
        | Rejection::NetworkAmbiguous(_)
        | Rejection::CheckoutTakesOneCoin(_) => Code::CoinNotFound,
        Rejection::UnknownChain(_) | Rejection::ChainNotConfigured(_) => Code::ChainNotSupported,
        Rejection::AddressInvalid(_) => Code::AddressInvalid,
        Rejection::AddressQuota { .. } => Code::AddressLimitReached,
        Rejection::CoinSuspended(_) => Code::CoinSuspended,
        // Only v2 swaps; v1's nearest words for its refusals.
        Rejection::SwapCoinUnavailable(_) | Rejection::TreasuryShort(_) => Code::CoinSuspended,
        Rejection::SwapAmountTooLow(_) | Rejection::SwapBelowMinimum(_) => Code::AmountInvalid,
        Rejection::SwapDailyLimit(_) => Code::AmountInvalid,
        Rejection::SwapsDisabled => Code::CoinSuspended,
        Rejection::CurrencyNotSupported(_) => Code::CurrencyNotSupported,
        Rejection::AmountInvalid(_)
        | Rejection::TooManyDecimals(_)
        | Rejection::BelowMinimumWithdrawal(_)
        | Rejection::NotAboveNetworkFee(_) => Code::AmountInvalid,
        // Only v2 passes a fee quote; to v1 it would be a bad parameter.
        Rejection::FeeQuoteInvalid(_) => Code::ParamInvalid,
        Rejection::CwalletUserNotFound(_) => Code::ToUserNotFound,
        Rejection::InsufficientBalance(_)
        | Rejection::SwapBalanceShort(_)
        | Rejection::BalanceShort(_) => Code::InsufficientBalance,
        Rejection::MemoRequired(_) => Code::MemoRequired,
        Rejection::CheckoutExpired | Rejection::OrderNotFound(_) => Code::OrderNotFound,
        // The operator's approval commands; no merchant endpoint asks.
        Rejection::WithdrawalNotFound(_) => Code::OrderNotFound,
        Rejection::NotWaitingForApproval(_) => Code::ParamInvalid,
        Rejection::ValidityOutOfRange { .. } | Rejection::ExpiryNotAhead(_) => Code::ParamInvalid,
        Rejection::DuplicateMerchantOrderId(_) | Rejection::MerchantOrderIdTaken { .. } => {
            Code::DuplicateMerchantOrderId
        }
        Rejection::BatchKeyDuplicate(_) | Rejection::TooManyTasks { .. } => Code::ParamInvalid,
        Rejection::BatchOrderIdTaken(_) => Code::DuplicateMerchantOrderId,
        Rejection::BatchWithdrawalNotFound(_) | Rejection::BatchTaskNotFound(_) => {
            Code::OrderNotFound
        }
        // Only v2 batches; v1's nearest words (v2: 11000 and 14028).
        Rejection::BatchConfirmed(_) | Rejection::UnableToAbort(_) => Code::ParamInvalid,
        Rejection::ResendLimited { .. } => Code::RateLimited,
        // The sandbox mines at most so many blocks at once.
        Rejection::TooManyBlocks { .. } => Code::ParamInvalid,
        // Not mined, not confirmed yet: the message says which; a
        // merchant asking (`rescanLostTransaction`) can fix or wait.
        Rejection::Rescan(_) => Code::ParamInvalid,
        // Only v2 has wallet users; v1's nearest words.
        Rejection::UserNotFound(_) => Code::ToUserNotFound,
        Rejection::UserIdIsAppId | Rejection::TransferToSelf => Code::ParamInvalid,
        // Only v2 unbinds; v1's nearest words for its refusals.
        Rejection::Unbinding(UnbindRefusal::NotTheMerchants(_)) => Code::AddressInvalid,
        Rejection::Unbinding(
            UnbindRefusal::OtherChain { .. }
            | UnbindRefusal::OrderAddress(_)
            | UnbindRefusal::AlreadyUnbound(_)
            | UnbindRefusal::NeverPaid(_),
        ) => Code::ParamInvalid,
        // v1 has no code of its own for it: the one it gives a disabled
        // merchant, with a message that says why (decisions §23).
        Rejection::ClientAddressRefused(_) => Code::AppIdNotFound,
        // Only the dashboard meets these; to the API they would be a bad parameter.
        Rejection::Console(_) => Code::ParamInvalid,
    }
}

/// The HTTP status of a dashboard page that failed (decisions §23): a
/// refusal the user can act on, or a part below failing (500, its detail
/// logged, never shown).
pub(crate) fn console_status(error: &EngineError) -> StatusCode {
    match error {
        EngineError::Rejected(Rejection::Console(refusal)) => match refusal {
            ConsoleRefusal::NotFound => StatusCode::NOT_FOUND,
            // Without the second factor, or with a wrong or used code.
            ConsoleRefusal::OperatorsOnly | ConsoleRefusal::SecondFactor(_) => {
                StatusCode::FORBIDDEN
            }
            ConsoleRefusal::Invalid(_) | ConsoleRefusal::UserExists(_) => StatusCode::BAD_REQUEST,
        },
        // The engine's API refusals a dashboard action can meet (a webhook
        // URL it refuses, a merchant name taken) are the user's to mend.
        EngineError::Rejected(_) => StatusCode::BAD_REQUEST,
        EngineError::Store(_)
        | EngineError::Chain(_)
        | EngineError::Key(_)
        | EngineError::Ledger(_)
        | EngineError::Delivery(_)
        | EngineError::Price(_)
        | EngineError::Sandbox(_)
        | EngineError::Serialise(_)
        | EngineError::Password(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// A price the handler read itself fails as the engine's would.
impl From<PriceError> for Failure {
    fn from(error: PriceError) -> Failure {
        Failure::Engine(error.into())
    }
}

impl From<Rejection> for Failure {
    fn from(rejection: Rejection) -> Failure {
        Failure::Engine(rejection.into())
    }
}

/// What each v1 code means in v2; every code named, so a new one does not
/// compile until it has its v2 counterpart.
fn v2_code_of(code: Code) -> V2Code {
    match code {
        Code::Success => V2Code::Success,
        Code::HeaderMissing => V2Code::HeaderInvalidArgument,
        Code::AppIdNotFound => V2Code::MerchantNotFound,
        Code::SignatureInvalid => V2Code::VerifySignFailed,
        Code::TimestampExpired => V2Code::ReqExpired,
        // An unknown path is 11000 with HTTP 404 (v2 spec §1.1).
        Code::InvalidJson
        | Code::ParamInvalid
        | Code::BodyTooLarge
        | Code::NotFound
        | Code::CurrencyNotSupported
        | Code::AmountInvalid => V2Code::InvalidArgument,
        Code::RateLimited => V2Code::RateLimit,
        Code::CoinNotFound => V2Code::InvalidCoin,
        Code::CoinSuspended => V2Code::AbnormalCoinStatus,
        Code::ChainNotSupported => V2Code::InvalidChain,
        Code::DuplicateMerchantOrderId => V2Code::OrderDuplicate,
        Code::OrderNotFound | Code::ToUserNotFound => V2Code::NotFound,
        Code::AddressLimitReached => V2Code::PaymentAddressNumTooMuch,
        Code::InsufficientBalance => V2Code::BalanceInsufficient,
        Code::AddressInvalid => V2Code::WithdrawAddrFormat,
        Code::MemoRequired => V2Code::AddressEmptyMemo,
        Code::ServiceError => V2Code::Internal,
    }
}

fn truncate(text: &str) -> String {
    text.chars().take(ECHO_CHARS_MAX).collect()
}

/// A JSON response with the given status and body; `endpoint::v1` signs it.
pub(crate) fn json_response(status: StatusCode, body: Vec<u8>) -> Response {
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    response
}

/// What went wrong behind a service error, which the answer hides: kept
/// beside it so that the request layer logs it once, with the request id
/// (`crate::log_answer`).
#[derive(Debug, Clone)]
pub(crate) struct FailureDetail(pub String);

impl Failure {
    /// The answer in the v2 dialect: HTTP 200 for everything that reached
    /// the API (v2 spec §1.6), the envelope with `data: {}`, unsigned.
    pub(crate) fn into_v2_response(self) -> Response {
        let code = self.v2_code();
        let detail = (code == V2Code::Internal).then(|| FailureDetail(self.to_string()));
        let status = match &self {
            Failure::RouteNotFound(_) => StatusCode::NOT_FOUND,
            Failure::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            Failure::BodyTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            _ => StatusCode::OK,
        };
        let message = match code {
            V2Code::Internal => code.default_msg().to_owned(),
            _ => self.to_string(),
        };
        let mut response = json_response(status, ccgate_api::v2::error_body(code, &message));
        if let Some(detail) = detail {
            response.extensions_mut().insert(detail);
        }
        response
    }

    /// The answer in the dialect of the path asked for, for refusals made
    /// before a dialect's pipeline runs (rate limit, unknown path, method).
    pub(crate) fn into_response_for(self, path: &str) -> Response {
        if path.starts_with(ccgate_api::v2::PATH_PREFIX) {
            self.into_v2_response()
        } else {
            self.into_response()
        }
    }
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        let mut response =
            json_response(self.http_status(), error_body(self.code(), &self.message()));
        if self.code() == Code::ServiceError {
            response
                .extensions_mut()
                .insert(FailureDetail(self.to_string()));
        }
        response
    }
}

/// A handler panic still answers the envelope; the process keeps serving.
pub(crate) fn panic_response(panic: Box<dyn Any + Send + 'static>) -> Response {
    let detail = panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_default();
    // Logged with its request id as every service error is (`request_frame`).
    Failure::Internal(format!("handler panicked: {detail}")).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_errors_hide_their_detail() {
        let failure = Failure::Internal("db password is hunter2".into());
        assert_eq!(failure.code(), Code::ServiceError);
        assert_eq!(failure.message(), "service err, please try again");
    }

    #[test]
    fn an_overdraft_is_insufficient_balance_and_a_part_failing_a_service_error() {
        let refused = ccgate_ledger::LedgerError::InsufficientBalance {
            account_key: "merchant:x:available".into(),
            coin: ccgate_ledger::CoinId::new("usdt"),
        };
        let overdraft = Failure::Engine(EngineError::from(refused));
        assert_eq!(overdraft.code(), Code::InsufficientBalance);
        assert_eq!(overdraft.v2_code(), V2Code::BalanceInsufficient);
        let infrastructure = Failure::Engine(EngineError::Delivery("x".into()));
        assert_eq!(infrastructure.code(), Code::ServiceError);
        assert_eq!(infrastructure.message(), "service err, please try again");
    }

    /// The withdrawal refusals v2 tells apart keep v1's one code each.
    #[test]
    fn withdrawal_refusals_draw_v2_lines_and_keep_their_v1_code() {
        let engine = |rejection: Rejection| Failure::from(rejection);
        let cases = [
            (
                engine(Rejection::TooManyDecimals("x".into())),
                Code::AmountInvalid,
                V2Code::CoinPrecisionLimit,
            ),
            (
                engine(Rejection::BelowMinimumWithdrawal("x".into())),
                Code::AmountInvalid,
                V2Code::WithdrawValueLessThanLimit,
            ),
            (
                engine(Rejection::NotAboveNetworkFee("x".into())),
                Code::AmountInvalid,
                V2Code::WithdrawAmountFeeTooLittle,
            ),
            (
                engine(Rejection::FeeQuoteInvalid("x".into())),
                Code::ParamInvalid,
                V2Code::WithdrawFeeTooLow,
            ),
            (
                engine(Rejection::CwalletUserNotFound("x".into())),
                Code::ToUserNotFound,
                V2Code::NotFound,
            ),
            (
                engine(Rejection::WithdrawalNotFound("x".into())),
                Code::OrderNotFound,
                V2Code::NotFound,
            ),
            (
                engine(Rejection::NotWaitingForApproval("x".into())),
                Code::ParamInvalid,
                V2Code::InvalidArgument,
            ),
            (
                Failure::coin_not_on_chain("USDT", "BTC"),
                Code::ChainNotSupported,
                V2Code::InvalidChain,
            ),
            (
                Failure::withdrawal_not_found("x"),
                Code::OrderNotFound,
                V2Code::NotFound,
            ),
            (
                Failure::Request(RequestError::TooManyItems {
                    field: "orderIds",
                    max_len: 20,
                }),
                Code::ParamInvalid,
                V2Code::QueryNumMax,
            ),
            (
                engine(Rejection::InsufficientBalance("USDT".into())),
                Code::InsufficientBalance,
                V2Code::BalanceInsufficient,
            ),
            (
                engine(Rejection::SwapBalanceShort("USDT".into())),
                Code::InsufficientBalance,
                V2Code::BalanceInsufficient,
            ),
            (
                Failure::Engine(EngineError::from(ccgate_chain::ChainError::InvalidAddress(
                    ccgate_chain::AddressError::Empty,
                ))),
                Code::AddressInvalid,
                V2Code::WithdrawAddrFormat,
            ),
        ];
        for (failure, v1, v2) in cases {
            assert_eq!((failure.code(), failure.v2_code()), (v1, v2), "{failure:?}");
        }
    }

    #[test]
    fn echo_is_bounded() {
        let failure = Failure::coin_not_found(&"x".repeat(10_000));
        assert!(failure.message().len() < 200);
        assert_eq!(failure.code(), Code::CoinNotFound);
    }

    #[test]
    fn statuses() {
        assert_eq!(Failure::MethodNotAllowed("GET".into()).http_status(), 405);
        assert_eq!(Failure::RouteNotFound("/x".into()).http_status(), 404);
        assert_eq!(Failure::BodyTooLarge { limit_bytes: 1 }.http_status(), 413);
        assert_eq!(Failure::RateLimited { per_sec: 1 }.http_status(), 429);
        assert_eq!(Failure::SignatureInvalid.http_status(), 200);
    }
}

/// A failure answered in the v2 envelope. Handlers return it so that `?`
/// works on every crate's error, as `Failure` does for v1.
#[derive(Debug)]
pub struct V2Failure(pub Failure);

impl IntoResponse for V2Failure {
    fn into_response(self) -> Response {
        self.0.into_v2_response()
    }
}

macro_rules! v2_failure_from {
    ($($error:ty),*) => {
        $(impl From<$error> for V2Failure {
            fn from(error: $error) -> V2Failure {
                V2Failure(Failure::from(error))
            }
        })*
    };
}

v2_failure_from!(Failure, RequestError, EngineError, Rejection, PriceError);

/// What a v2 handler answers.
pub type V2Result = Result<Response, V2Failure>;
