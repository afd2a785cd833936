use thiserror::Error;

/// Why a request body or header was refused before any business logic ran.
/// The HTTP edge maps each variant to its v1 code; the messages are written for
/// the merchant's developer and never echo the (possibly huge or secret) input.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum RequestError {
    #[error("the request body must be empty or a JSON object: {0}")]
    InvalidJson(String),
    #[error("the request body is not valid UTF-8")]
    NotUtf8,
    #[error("{field} is required")]
    MissingField { field: &'static str },
    #[error("{field} must be {expected}")]
    FieldType {
        field: &'static str,
        expected: &'static str,
    },
    #[error("{field} must be {min_chars} to {max_chars} characters long")]
    FieldLength {
        field: &'static str,
        min_chars: usize,
        max_chars: usize,
    },
    #[error("{field} has more than {max_len} elements")]
    TooManyItems { field: &'static str, max_len: usize },
    #[error("{field} is longer than {max_chars} characters")]
    FieldTooLong {
        field: &'static str,
        max_chars: usize,
    },
    #[error("{field} must be an http:// or https:// URL with a host")]
    NotAnHttpUrl { field: &'static str },
    #[error("the Timestamp header must be unix seconds")]
    TimestampNotANumber,
    #[error(
        "the Timestamp header is {skew_secs} seconds away from the server's clock; at most {window_secs} are allowed"
    )]
    TimestampOutOfWindow { skew_secs: i64, window_secs: i64 },
}
