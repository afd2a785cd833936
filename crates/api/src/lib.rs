//! The CCPayment v1 wire contract: the numeric code table, the response envelope,
//! request parsing rules, the request and response types of each endpoint, and the
//! SHA-256 signature scheme. Pure: no IO, no clock (callers pass "now").
//!
//! Everything here is what a client can observe on the wire, so every byte is
//! pinned by golden tests (`tests/golden.rs`) against `shared/spec`.

pub mod admin;
pub mod assets;
mod code;
pub mod deposits;
mod envelope;
mod error;
pub mod orders;
pub mod request;
pub mod resources;
pub mod sign;
pub mod v2;
pub mod webhooks;
pub mod withdrawals;

pub use code::Code;
pub use envelope::{error_body, success_body};
pub use error::RequestError;
