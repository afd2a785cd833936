//! Chain adapters behind one interface: address formats, the simulated devnet
//! and EVM chains behind a JSON-RPC node. The only crate that talks to chains.

pub mod adapter;
pub mod address;
mod chain_set;
pub mod devnet;
pub mod evm;
pub mod keys;

pub use adapter::{ChainAdapter, ChainError, DevnetStateError, GasFee, PayoutState, Sent};
pub use address::{AddressError, validate_address};
pub use chain_set::ChainSet;
pub use devnet::{DevnetChain, DevnetPayment, DevnetState};
pub use evm::{
    DepositSigner, EvmChain, EvmNodeConfig, HotWallet, PayoutDraft, Replacement, SignedTx,
    SweepDraft,
};
