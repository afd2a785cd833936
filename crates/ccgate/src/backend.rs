//! Which database a command works on: the data directory's SQLite file, or
//! PostgreSQL when `--database-url` is given (`serve` and the operator
//! commands alike, so an operator manages a PostgreSQL deployment with the
//! same commands as a laptop).

use std::future::Future;
use std::sync::Arc;

use anyhow::Context;
use ccgate_engine::console::{Console, ConsoleConfig, ConsoleStores};
use ccgate_engine::merchants::Merchants;
use ccgate_ledger::Registry;
use ccgate_store::{
    BatchWithdrawalStore, ConsoleStore, CreditHistory, CreditStore, DashboardStore, DevnetStore,
    Listings, MerchantSettingsStore, OrderStore, OutboxStore, PayoutStore, PgStore, ReconcileStore,
    SandboxStore, SecretStore, SnapshotStore, SqliteStore, Store, SwapStore, SweepStore,
    WithdrawalStore,
};

use crate::data_dir::DataDir;
use ccgate_engine::assemble::ServiceBackend;
use ccgate_engine::deposits::WatcherStores;
use ccgate_engine::webhooks::OutboxBell;

/// Everything `serve` needs of a store, for its generic start-up.
pub trait Backend:
    ServiceBackend + SandboxStore + SnapshotStore + SweepStore + ReconcileStore + CreditHistory
{
    /// Waits for the pool's connections to close.
    fn close(&self) -> impl Future<Output = ()> + Send;

    /// Rings `bell` whenever webhooks are queued by another process on the
    /// same database, until the process ends; delivery's poll is the net.
    fn ring_on_outbox_inserts(&self, bell: OutboxBell)
    -> impl Future<Output = ()> + Send + 'static;
}

impl Backend for SqliteStore {
    fn close(&self) -> impl Future<Output = ()> + Send {
        SqliteStore::close(self)
    }

    /// One SQLite file has one serving process: its own commits ring the
    /// bell in process; the CLI's (a resend) are found by the poll.
    fn ring_on_outbox_inserts(
        &self,
        _bell: OutboxBell,
    ) -> impl Future<Output = ()> + Send + 'static {
        std::future::ready(())
    }
}

impl Backend for PgStore {
    fn close(&self) -> impl Future<Output = ()> + Send {
        PgStore::close(self)
    }

    fn ring_on_outbox_inserts(
        &self,
        bell: OutboxBell,
    ) -> impl Future<Output = ()> + Send + 'static {
        let store = self.clone();
        async move {
            loop {
                let ringing = bell.clone();
                match store.follow_outbox_inserts(move || ringing.ring()).await {
                    // The pool closed: the process is stopping.
                    Ok(()) => return,
                    Err(err) => tracing::warn!(error = %err,
                        "listening for other instances' webhooks failed; delivery polls meanwhile"),
                }
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
            }
        }
    }
}

/// `--database-url` / `--database-schema`, shared by every command.
#[derive(Debug, Clone, clap::Args)]
pub struct DatabaseArgs {
    /// PostgreSQL (`postgres://user:password@host/db`) instead of the data
    /// directory's SQLite file; several `serve` instances may share it (give
    /// them the same CCGATE_MASTER_KEY).
    #[arg(
        long,
        global = true,
        env = "CCGATE_DATABASE_URL",
        hide_env_values = true
    )]
    pub database_url: Option<String>,
    /// The PostgreSQL schema to use (created if missing); default: the user's search path.
    #[arg(long, global = true, env = "CCGATE_DATABASE_SCHEMA")]
    pub database_schema: Option<String>,
}

/// An open database of either kind.
#[derive(Debug, Clone)]
pub enum Database {
    Sqlite(SqliteStore),
    Postgres(PgStore),
}

impl Database {
    /// Opens (and migrates) the database `args` name; the master key comes
    /// from the data directory or CCGATE_MASTER_KEY either way.
    pub async fn open(data_dir: &DataDir, args: &DatabaseArgs) -> anyhow::Result<Database> {
        match (&args.database_url, &args.database_schema) {
            (None, Some(_)) => anyhow::bail!("--database-schema needs --database-url"),
            (None, None) => Ok(Database::Sqlite(data_dir.open_store().await?)),
            (Some(url), schema) => {
                let key = data_dir.master_key()?;
                let store = match schema {
                    Some(schema) => PgStore::connect_in_schema(url, schema, key).await,
                    None => PgStore::connect(url, key).await,
                }
                .context("open the PostgreSQL database")?;
                Ok(Database::Postgres(store))
            }
        }
    }

    /// Where the data is, for people; never the URL, which may carry a password.
    pub fn describe(data_dir: &DataDir, args: &DatabaseArgs) -> String {
        match (&args.database_url, &args.database_schema) {
            (None, _) => data_dir.path().display().to_string(),
            (Some(_), None) => "PostgreSQL".to_owned(),
            (Some(_), Some(schema)) => format!("PostgreSQL (schema {schema})"),
        }
    }

    /// The dashboard's service over this database, for `ccgate user`.
    pub fn console(&self, registry: &Registry) -> Console {
        let console: Arc<dyn ConsoleStore> = match self {
            Database::Sqlite(db) => Arc::new(db.clone()),
            Database::Postgres(db) => Arc::new(db.clone()),
        };
        let merchants = Merchants::new(Arc::new(registry.clone()), self.store(), self.outbox());
        let dashboard: Arc<dyn DashboardStore> = match self {
            Database::Sqlite(db) => Arc::new(db.clone()),
            Database::Postgres(db) => Arc::new(db.clone()),
        };
        let stores = ConsoleStores {
            console,
            ledger: self.store(),
            settings: self.merchant_settings(),
            outbox: self.outbox(),
            listings: self.listings(),
            withdrawals: self.withdrawals(),
            incidents: self.sandbox(),
            reconciliations: self.reconciliations(),
            dashboard,
        };
        Console::new(stores, Arc::new(merchants), ConsoleConfig::default())
    }

    pub fn store(&self) -> Arc<dyn Store> {
        match self {
            Database::Sqlite(db) => Arc::new(db.clone()),
            Database::Postgres(db) => Arc::new(db.clone()),
        }
    }

    pub fn secrets(&self) -> Arc<dyn SecretStore> {
        match self {
            Database::Sqlite(db) => Arc::new(db.clone()),
            Database::Postgres(db) => Arc::new(db.clone()),
        }
    }

    pub fn orders(&self) -> Arc<dyn OrderStore> {
        match self {
            Database::Sqlite(db) => Arc::new(db.clone()),
            Database::Postgres(db) => Arc::new(db.clone()),
        }
    }

    pub fn merchant_settings(&self) -> Arc<dyn MerchantSettingsStore> {
        match self {
            Database::Sqlite(db) => Arc::new(db.clone()),
            Database::Postgres(db) => Arc::new(db.clone()),
        }
    }

    pub fn credits(&self) -> Arc<dyn CreditStore> {
        match self {
            Database::Sqlite(db) => Arc::new(db.clone()),
            Database::Postgres(db) => Arc::new(db.clone()),
        }
    }

    pub fn devnet(&self) -> Arc<dyn DevnetStore> {
        match self {
            Database::Sqlite(db) => Arc::new(db.clone()),
            Database::Postgres(db) => Arc::new(db.clone()),
        }
    }

    pub fn outbox(&self) -> Arc<dyn OutboxStore> {
        match self {
            Database::Sqlite(db) => Arc::new(db.clone()),
            Database::Postgres(db) => Arc::new(db.clone()),
        }
    }

    pub fn withdrawals(&self) -> Arc<dyn WithdrawalStore> {
        match self {
            Database::Sqlite(db) => Arc::new(db.clone()),
            Database::Postgres(db) => Arc::new(db.clone()),
        }
    }

    pub fn batch_withdrawals(&self) -> Arc<dyn BatchWithdrawalStore> {
        match self {
            Database::Sqlite(db) => Arc::new(db.clone()),
            Database::Postgres(db) => Arc::new(db.clone()),
        }
    }

    pub fn swaps(&self) -> Arc<dyn SwapStore> {
        match self {
            Database::Sqlite(db) => Arc::new(db.clone()),
            Database::Postgres(db) => Arc::new(db.clone()),
        }
    }

    pub fn sandbox(&self) -> Arc<dyn SandboxStore> {
        match self {
            Database::Sqlite(db) => Arc::new(db.clone()),
            Database::Postgres(db) => Arc::new(db.clone()),
        }
    }

    pub fn sweeps(&self) -> Arc<dyn SweepStore> {
        match self {
            Database::Sqlite(db) => Arc::new(db.clone()),
            Database::Postgres(db) => Arc::new(db.clone()),
        }
    }

    pub fn payouts(&self) -> Arc<dyn PayoutStore> {
        match self {
            Database::Sqlite(db) => Arc::new(db.clone()),
            Database::Postgres(db) => Arc::new(db.clone()),
        }
    }

    /// "Now" in business time: the sandbox's clock if it has moved it, so an
    /// operator command (a devnet payment, say) lands where the server is.
    pub async fn business_now_ms(&self) -> anyhow::Result<i64> {
        let setting = ccgate_engine::sandbox::stored_setting(self.sandbox().as_ref()).await?;
        Ok(setting.now_at(ccgate_engine::clock::real_now_ms()))
    }

    pub fn reconciliations(&self) -> Arc<dyn ReconcileStore> {
        match self {
            Database::Sqlite(db) => Arc::new(db.clone()),
            Database::Postgres(db) => Arc::new(db.clone()),
        }
    }

    pub fn listings(&self) -> Arc<dyn Listings> {
        match self {
            Database::Sqlite(db) => Arc::new(db.clone()),
            Database::Postgres(db) => Arc::new(db.clone()),
        }
    }

    pub fn history(&self) -> Arc<dyn CreditHistory> {
        match self {
            Database::Sqlite(db) => Arc::new(db.clone()),
            Database::Postgres(db) => Arc::new(db.clone()),
        }
    }

    /// The deposit watcher's stores, all on this database.
    pub fn watcher_stores(&self) -> WatcherStores {
        match self {
            Database::Sqlite(db) => WatcherStores::on(Arc::new(db.clone()), &Arc::new(db.clone())),
            Database::Postgres(db) => {
                WatcherStores::on(Arc::new(db.clone()), &Arc::new(db.clone()))
            }
        }
    }

    pub async fn close(&self) {
        match self {
            Database::Sqlite(db) => db.close().await,
            Database::Postgres(db) => db.close().await,
        }
    }
}
