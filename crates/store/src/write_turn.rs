//! Where a write waits its turn (decisions §51, §53). SQLite has one write
//! lock per file, and two connections of one process that want it at once
//! meet in SQLite's busy handler, which sleeps 1, 2, 5 … 100 ms between
//! tries: a writer oversleeps the moment the lock is free and a later one
//! may overtake it. So on SQLite the process's writes take turns here, in
//! arrival order (tokio's mutex is fair), and the turn is the one writer
//! connection itself: every write runs on the same connection, whose page
//! cache stays warm from one write to the next (a connection that sees
//! another one's commit drops its whole cache). PostgreSQL's row locks
//! order its writers: there a write takes a pooled connection at once.

use std::borrow::Cow;
use std::ops::{Deref, DerefMut};
use std::sync::Arc;
use std::time::Duration;

use sqlx::pool::PoolConnection;
use sqlx::{Connection, Database, TransactionManager};
use tokio::sync::{Mutex, OwnedMappedMutexGuard};

use crate::StoreError;

/// One process's writer connection to one database file, and the queue of
/// writes waiting for it.
pub(crate) struct WriteTurns<Db: Database> {
    /// `None` once the store is closed.
    writer: Arc<Mutex<Option<Db::Connection>>>,
    /// How long a writer waits for its turn before it fails, as SQLite's
    /// busy timeout bounds waiting for another process's writer.
    patience: Duration,
}

impl<Db: Database> Clone for WriteTurns<Db> {
    fn clone(&self) -> Self {
        WriteTurns {
            writer: Arc::clone(&self.writer),
            patience: self.patience,
        }
    }
}

impl<Db: Database> std::fmt::Debug for WriteTurns<Db> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WriteTurns")
            .field("patience", &self.patience)
            .finish_non_exhaustive()
    }
}

/// The writer connection, held for one write's turn.
type Turn<Db> =
    OwnedMappedMutexGuard<Option<<Db as Database>::Connection>, <Db as Database>::Connection>;

impl<Db: Database> WriteTurns<Db> {
    pub(crate) fn new(writer: Db::Connection, patience: Duration) -> WriteTurns<Db> {
        WriteTurns {
            writer: Arc::new(Mutex::new(Some(writer))),
            patience,
        }
    }

    /// The writer connection, once the writes before this one are done.
    async fn take(&self) -> Result<Turn<Db>, StoreError> {
        let held = tokio::time::timeout(self.patience, Arc::clone(&self.writer).lock_owned())
            .await
            .map_err(|_| StoreError::WriteTurnTimedOut {
                waited_ms: self.patience.as_millis(),
            })?;
        tokio::sync::OwnedMutexGuard::try_map(held, Option::as_mut)
            .map_err(|_| StoreError::from(sqlx::Error::PoolClosed))
    }

    /// Closes the writer connection after the write in its turn, if any;
    /// the writes still waiting then fail as on a closed pool.
    pub(crate) async fn close(&self) {
        let closing = self.writer.lock().await.take();
        if let Some(writer) = closing
            && let Err(err) = writer.close().await
        {
            tracing::warn!(error = %err, "close the writer connection");
        }
    }
}

/// Where a store's writes run.
pub(crate) enum Writes<'a, Db: Database> {
    /// One connection, in turns (SQLite).
    InTurns(&'a WriteTurns<Db>),
    /// Any connection of the pool, at once (PostgreSQL).
    Pool(&'a sqlx::Pool<Db>),
}

impl<Db: Database> Writes<'_, Db> {
    /// A connection for statements that write outside a DB transaction.
    pub(crate) async fn connection(&self) -> Result<WriteConnection<Db>, StoreError> {
        Ok(match self {
            Writes::InTurns(turns) => WriteConnection::InTurn(turns.take().await?),
            Writes::Pool(pool) => WriteConnection::Pooled(pool.acquire().await?),
        })
    }

    /// A DB transaction that writes, begun by `statement`.
    pub(crate) async fn begin(
        &self,
        statement: &'static str,
    ) -> Result<WriteTransaction<Db>, StoreError> {
        let mut connection = self.connection().await?;
        Db::TransactionManager::begin(&mut connection, Some(Cow::Borrowed(statement))).await?;
        Ok(WriteTransaction {
            connection,
            open: true,
        })
    }
}

/// A writer connection for statements that write outside a DB transaction:
/// the writer in its turn, or a pooled one. It stands for its connection,
/// so statements run on `&mut *connection`.
pub(crate) enum WriteConnection<Db: Database> {
    InTurn(Turn<Db>),
    Pooled(PoolConnection<Db>),
}

impl<Db: Database> std::fmt::Debug for WriteConnection<Db> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            WriteConnection::InTurn(_) => "WriteConnection::InTurn",
            WriteConnection::Pooled(_) => "WriteConnection::Pooled",
        })
    }
}

impl<Db: Database> Deref for WriteConnection<Db> {
    type Target = Db::Connection;

    fn deref(&self) -> &Db::Connection {
        match self {
            WriteConnection::InTurn(turn) => turn,
            WriteConnection::Pooled(pooled) => pooled,
        }
    }
}

impl<Db: Database> DerefMut for WriteConnection<Db> {
    fn deref_mut(&mut self) -> &mut Db::Connection {
        match self {
            WriteConnection::InTurn(turn) => turn,
            WriteConnection::Pooled(pooled) => pooled,
        }
    }
}

/// A DB transaction that writes, holding its connection (and on SQLite its
/// turn) until it commits or is dropped, and so rolled back — as sqlx's
/// `Transaction` does, on a connection it does not own.
#[derive(Debug)]
pub(crate) struct WriteTransaction<Db: Database> {
    connection: WriteConnection<Db>,
    open: bool,
}

impl<Db: Database> WriteTransaction<Db> {
    pub(crate) async fn commit(mut self) -> Result<(), sqlx::Error> {
        Db::TransactionManager::commit(&mut self.connection).await?;
        self.open = false;
        let in_turn = matches!(self.connection, WriteConnection::InTurn(_));
        drop(self);
        if in_turn {
            // The next writer, woken on this thread, goes next: its turn
            // has begun and the lock is free.
            tokio::task::yield_now().await;
        }
        Ok(())
    }

    pub(crate) async fn rollback(mut self) -> Result<(), sqlx::Error> {
        Db::TransactionManager::rollback(&mut self.connection).await?;
        self.open = false;
        Ok(())
    }
}

impl<Db: Database> Drop for WriteTransaction<Db> {
    fn drop(&mut self) {
        if self.open {
            // Queued on the connection: it runs before the next write's
            // first statement (a pooled connection runs it on its way back).
            Db::TransactionManager::start_rollback(&mut self.connection);
        }
    }
}

impl<Db: Database> Deref for WriteTransaction<Db> {
    type Target = Db::Connection;

    fn deref(&self) -> &Db::Connection {
        &self.connection
    }
}

impl<Db: Database> DerefMut for WriteTransaction<Db> {
    fn deref_mut(&mut self) -> &mut Db::Connection {
        &mut self.connection
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use sqlx::{Connection, Sqlite, SqliteConnection};

    use super::WriteTurns;
    use crate::StoreError;

    async fn turns(patience: Duration) -> WriteTurns<Sqlite> {
        let connection = SqliteConnection::connect("sqlite::memory:")
            .await
            .expect("an in-memory database");
        WriteTurns::new(connection, patience)
    }

    /// A writer whose turn does not come within the patience fails with a
    /// busy database, and takes its turn once the writer before it is done.
    #[tokio::test]
    async fn a_turn_that_does_not_come_in_time_is_a_busy_database() {
        let turns = turns(Duration::from_millis(20)).await;
        let held = turns.take().await.expect("the first turn");
        let late = turns.take().await;
        assert!(
            matches!(late, Err(StoreError::WriteTurnTimedOut { waited_ms: 20 })),
            "{late:?}"
        );
        drop(held);
        let turn = turns.take().await.expect("the turn once it is free");
        drop(turn);
    }

    /// Writers get their turns in the order they asked for them.
    #[tokio::test]
    async fn turns_come_in_arrival_order() {
        let turns = turns(Duration::from_secs(5)).await;
        let order = Arc::new(Mutex::new(Vec::new()));
        let first = turns.take().await.expect("the first turn");
        let mut waiting = Vec::new();
        for writer in 0..5 {
            let before = Arc::strong_count(&turns.writer);
            let (queued, order) = (turns.clone(), Arc::clone(&order));
            waiting.push(tokio::spawn(async move {
                let _turn = queued.take().await.expect("a turn");
                order.lock().expect("the order").push(writer);
            }));
            // Each is waiting (its copy of the queue, and the one its wait
            // holds) before the next one asks.
            while Arc::strong_count(&turns.writer) < before + 2 {
                tokio::task::yield_now().await;
            }
        }
        drop(first);
        for writer in waiting {
            writer.await.expect("a writer");
        }
        assert_eq!(*order.lock().expect("the order"), [0, 1, 2, 3, 4]);
    }
}
