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
    #[error("chain {0} is not supported")]
    UnknownChain(String),
    #[error("the merchant already has {max} permanent addresses, its quota")]
    AddressQuota { max: u64 },
    #[error("set up webhook delivery: {0}")]
    Delivery(String),
    #[error("serialise a webhook: {0}")]
    Serialise(#[from] serde_json::Error),
}
