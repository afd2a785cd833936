//! What `serve` needs of a storage backend: every store interface, cheap
//! clones sharing one pool, and a way to close it. SQLite (one file) and
//! PostgreSQL (one database, several instances) both provide it.

use std::future::Future;

use ccgate_store::{DepositStore, OutboxStore, PgStore, SqliteStore, Store, WithdrawalStore};

pub trait Backend: Store + DepositStore + OutboxStore + WithdrawalStore + Clone {
    /// Waits for the pool's connections to close.
    fn close(&self) -> impl Future<Output = ()> + Send;
}

impl Backend for SqliteStore {
    fn close(&self) -> impl Future<Output = ()> + Send {
        SqliteStore::close(self)
    }
}

impl Backend for PgStore {
    fn close(&self) -> impl Future<Output = ()> + Send {
        PgStore::close(self)
    }
}
