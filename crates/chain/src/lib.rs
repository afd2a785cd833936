//! Chain adapters behind one interface: address formats, the simulated devnet
//! (EVM JSON-RPC to come). The only crate that talks to chains.

pub mod adapter;
pub mod address;
pub mod devnet;
pub mod keys;

pub use adapter::{ChainAdapter, ChainError, ChainSet, Sent};
pub use address::{AddressError, validate_address};
pub use devnet::{DevnetChain, DevnetPayment};
