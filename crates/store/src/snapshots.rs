//! Sandbox snapshots: the whole state saved to a file and put back later, so
//! a test suite can start each test from a fixture. SQLite only for now:
//! PostgreSQL refuses with a clear error (use `pg_dump`/`pg_restore`).

use std::path::Path;

use async_trait::async_trait;
use sqlx::Connection;

use crate::StoreError;
use crate::postgres::PgStore;
use crate::sqlite::SqliteStore;

/// What is never copied back: the migrations' bookkeeping (a snapshot must
/// match it instead) and the sealed deposit seed (fixed for a data directory;
/// the running server holds it in memory, so it must match too).
const KEPT_TABLES: [&str; 2] = ["_sqlx_migrations", "sealed_secrets"];

#[async_trait]
pub trait SnapshotStore: Send + Sync + std::fmt::Debug + 'static {
    /// A consistent copy of the whole state, at one moment, in a new file at
    /// `to` (which must not exist).
    async fn save_snapshot(&self, to: &Path) -> Result<(), StoreError>;

    /// Replaces the whole state with the snapshot's at `from`, in one DB
    /// transaction; refused (nothing changed) if the snapshot was taken at
    /// another schema version or of another data directory.
    async fn restore_snapshot(&self, from: &Path) -> Result<(), StoreError>;
}

#[async_trait]
impl SnapshotStore for SqliteStore {
    async fn save_snapshot(&self, to: &Path) -> Result<(), StoreError> {
        self.backup_to(to).await
    }

    async fn restore_snapshot(&self, from: &Path) -> Result<(), StoreError> {
        let source = from
            .to_str()
            .ok_or_else(|| {
                StoreError::Snapshot(format!("the path {} is not UTF-8", from.display()))
            })?
            .to_owned();
        // On a task of its own: a caller that goes away (a client hanging
        // up on the admin API) must not leave the writer connection, which
        // serves every later write (decisions §53), with the snapshot
        // attached and foreign keys off.
        let store = self.clone();
        tokio::spawn(async move { store.restore_attached(&source).await })
            .await
            .map_err(|err| StoreError::Snapshot(format!("the restore stopped: {err}")))?
    }
}

impl SqliteStore {
    async fn restore_attached(&self, source: &str) -> Result<(), StoreError> {
        // ATTACH and the foreign-key switch cannot change inside a DB
        // transaction, and both belong to one connection: all of it happens
        // on this one. Parents and children are replaced together, so
        // references are checked once, over the result, before the commit.
        let mut conn = crate::backend::SqlStore::write_connection(self).await?;
        sqlx::query("ATTACH DATABASE ? AS snap")
            .bind(source)
            .execute(&mut *conn)
            .await?;
        let copied = match sqlx::query("PRAGMA foreign_keys = OFF")
            .execute(&mut *conn)
            .await
        {
            Ok(_) => copy_attached_snapshot(&mut conn).await,
            Err(e) => Err(e.into()),
        };
        // Put back whatever happened: the connection serves the next write.
        let enforced = sqlx::query("PRAGMA foreign_keys = ON")
            .execute(&mut *conn)
            .await;
        let detached = sqlx::query("DETACH DATABASE snap")
            .execute(&mut *conn)
            .await;
        copied?;
        enforced?;
        detached?;
        Ok(())
    }
}

/// The snapshot attached as `snap` becomes the live state, in one DB
/// transaction, after checking that it fits this database.
async fn copy_attached_snapshot(conn: &mut sqlx::SqliteConnection) -> Result<(), StoreError> {
    // IMMEDIATE: the write lock at once, so no other process writes between
    // the deletes and the inserts.
    let mut db_tx = conn.begin_with("BEGIN IMMEDIATE").await?;
    let versions = "SELECT group_concat(version, ',') FROM (SELECT version FROM {db}._sqlx_migrations \
                    WHERE success ORDER BY version)";
    let live: Option<String> = sqlx::query_scalar(&versions.replace("{db}", "main"))
        .fetch_one(&mut *db_tx)
        .await?;
    let saved: Option<String> = sqlx::query_scalar(&versions.replace("{db}", "snap"))
        .fetch_one(&mut *db_tx)
        .await
        .map_err(|e| StoreError::Snapshot(format!("not a ccgate database: {e}")))?;
    if live != saved {
        return Err(StoreError::Snapshot(format!(
            "it was saved at schema version {}, this database is at {}; save it again",
            last_version(saved.as_deref()),
            last_version(live.as_deref())
        )));
    }
    let foreign_secrets: i64 = sqlx::query_scalar(
        "SELECT (SELECT COUNT(*) FROM snap.sealed_secrets s WHERE NOT EXISTS
                    (SELECT 1 FROM main.sealed_secrets m
                     WHERE m.name = s.name AND m.ciphertext = s.ciphertext))
              + (SELECT COUNT(*) FROM main.sealed_secrets m WHERE NOT EXISTS
                    (SELECT 1 FROM snap.sealed_secrets s
                     WHERE s.name = m.name AND s.ciphertext = m.ciphertext))",
    )
    .fetch_one(&mut *db_tx)
    .await?;
    if foreign_secrets != 0 {
        return Err(StoreError::Snapshot(
            "it was saved in another data directory (its deposit seed differs)".to_owned(),
        ));
    }
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM main.sqlite_master
         WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
    )
    .fetch_all(&mut *db_tx)
    .await?;
    for table in tables
        .iter()
        .map(String::as_str)
        .filter(|table| !KEPT_TABLES.contains(table))
        .chain(["sqlite_sequence"])
    {
        let quoted = format!("\"{}\"", table.replace('"', "\"\""));
        sqlx::query(&format!("DELETE FROM main.{quoted}"))
            .execute(&mut *db_tx)
            .await?;
        sqlx::query(&format!(
            "INSERT INTO main.{quoted} SELECT * FROM snap.{quoted}"
        ))
        .execute(&mut *db_tx)
        .await?;
    }
    // The metric triggers counted the rows deleted and restored on top of
    // the figures the snapshot brought: count them again, once.
    for recount in [
        "DELETE FROM main.metric_counts",
        "INSERT INTO main.metric_counts (name, value)
         SELECT 'webhooks.' || status, COUNT(*) FROM main.webhook_outbox GROUP BY status",
        "INSERT INTO main.metric_counts (name, value)
         SELECT CASE WHEN outcome = 'delivered' THEN 'attempts.delivered'
                     ELSE 'attempts.failed' END, COUNT(*)
         FROM main.webhook_attempts GROUP BY outcome = 'delivered'",
        "INSERT INTO main.metric_counts (name, value)
         SELECT 'journal.entries', COUNT(*) FROM main.journal_entries",
    ] {
        sqlx::query(recount).execute(&mut *db_tx).await?;
    }
    // The deposits' trigger counted each restored deposit once more.
    sqlx::query(
        "UPDATE main.deposit_addresses SET credits = (
             SELECT COUNT(*) FROM main.deposits AS credited
             WHERE credited.chain = deposit_addresses.chain
               AND credited.address = deposit_addresses.address)",
    )
    .execute(&mut *db_tx)
    .await?;
    let dangling: Vec<(String,)> = sqlx::query_as("SELECT \"table\" FROM pragma_foreign_key_check")
        .fetch_all(&mut *db_tx)
        .await?;
    if let Some((table,)) = dangling.first() {
        // Dropped without a commit: the live state stays as it was.
        return Err(StoreError::Snapshot(format!(
            "its table {table} refers to rows it does not hold"
        )));
    }
    db_tx.commit().await?;
    Ok(())
}

fn last_version(versions: Option<&str>) -> &str {
    versions
        .and_then(|list| list.rsplit(',').next())
        .unwrap_or("none")
}

#[async_trait]
impl SnapshotStore for PgStore {
    async fn save_snapshot(&self, _to: &Path) -> Result<(), StoreError> {
        Err(StoreError::SnapshotsUnsupported)
    }

    async fn restore_snapshot(&self, _from: &Path) -> Result<(), StoreError> {
        Err(StoreError::SnapshotsUnsupported)
    }
}
