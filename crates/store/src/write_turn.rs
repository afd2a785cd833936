//! Where a write waits its turn (decisions §51). SQLite has one write lock
//! per file, and two connections of one process that want it at once meet
//! in SQLite's busy handler, which sleeps 1, 2, 5 … 100 ms between tries:
//! a writer oversleeps the moment the lock is free and a later one may
//! overtake it. So on SQLite the process's writes take turns here, in
//! arrival order (tokio's mutex is fair), and only one at a time holds a
//! writer connection; PostgreSQL's row locks order its writers, and there
//! a turn is taken at once.

use std::ops::{Deref, DerefMut};
use std::sync::Arc;
use std::time::Duration;

use sqlx::pool::PoolConnection;
use sqlx::{Database, Transaction};
use tokio::sync::{Mutex, OwnedMutexGuard};

use crate::StoreError;

/// The queue of one process's writers to one database file.
#[derive(Debug, Clone)]
pub(crate) struct WriteTurns {
    queue: Arc<Mutex<()>>,
    /// How long a writer waits for its turn before it fails, as SQLite's
    /// busy timeout bounds waiting for another process's writer.
    patience: Duration,
}

impl WriteTurns {
    pub(crate) fn new(patience: Duration) -> WriteTurns {
        WriteTurns {
            queue: Arc::new(Mutex::new(())),
            patience,
        }
    }

    pub(crate) async fn take(&self) -> Result<WriteTurn, StoreError> {
        tokio::time::timeout(self.patience, Arc::clone(&self.queue).lock_owned())
            .await
            .map(|held| WriteTurn { _held: Some(held) })
            .map_err(|_| StoreError::WriteTurnTimedOut {
                waited_ms: self.patience.as_millis(),
            })
    }
}

/// A writer's turn, held until it is dropped; on PostgreSQL an empty one.
#[derive(Debug)]
pub(crate) struct WriteTurn {
    _held: Option<OwnedMutexGuard<()>>,
}

impl WriteTurn {
    pub(crate) const NO_WAIT: WriteTurn = WriteTurn { _held: None };
}

/// A DB transaction that writes, holding its turn until it commits or is
/// dropped (and so rolled back). It stands for its connection, as sqlx's
/// transaction does, so statements run on `&mut *db_tx`.
#[derive(Debug)]
pub(crate) struct WriteTransaction<Db: Database> {
    // Declared first, dropped first: the connection goes back to its pool
    // before the next writer's turn begins.
    db_tx: Transaction<'static, Db>,
    _turn: WriteTurn,
}

impl<Db: Database> WriteTransaction<Db> {
    pub(crate) fn new(db_tx: Transaction<'static, Db>, turn: WriteTurn) -> Self {
        WriteTransaction { db_tx, _turn: turn }
    }

    pub(crate) async fn commit(self) -> Result<(), sqlx::Error> {
        let WriteTransaction { db_tx, _turn: turn } = self;
        let committed = db_tx.commit().await;
        drop(turn);
        // The next writer, woken on this thread, goes next: its turn has
        // begun and the lock is free.
        tokio::task::yield_now().await;
        committed
    }

    pub(crate) async fn rollback(self) -> Result<(), sqlx::Error> {
        self.db_tx.rollback().await
    }
}

impl<Db: Database> Deref for WriteTransaction<Db> {
    type Target = Db::Connection;

    fn deref(&self) -> &Db::Connection {
        &self.db_tx
    }
}

impl<Db: Database> DerefMut for WriteTransaction<Db> {
    fn deref_mut(&mut self) -> &mut Db::Connection {
        &mut self.db_tx
    }
}

/// A writer connection for statements outside a DB transaction, holding
/// its turn while it lives.
#[derive(Debug)]
pub(crate) struct WriteConnection<Db: Database> {
    connection: PoolConnection<Db>,
    _turn: WriteTurn,
}

impl<Db: Database> WriteConnection<Db> {
    pub(crate) fn new(connection: PoolConnection<Db>, turn: WriteTurn) -> Self {
        WriteConnection {
            connection,
            _turn: turn,
        }
    }
}

impl<Db: Database> Deref for WriteConnection<Db> {
    type Target = Db::Connection;

    fn deref(&self) -> &Db::Connection {
        &self.connection
    }
}

impl<Db: Database> DerefMut for WriteConnection<Db> {
    fn deref_mut(&mut self) -> &mut Db::Connection {
        &mut self.connection
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use super::WriteTurns;
    use crate::StoreError;

    /// A writer whose turn does not come within the patience fails with a
    /// busy database, and takes its turn once the writer before it is done.
    #[tokio::test]
    async fn a_turn_that_does_not_come_in_time_is_a_busy_database() {
        let turns = WriteTurns::new(Duration::from_millis(20));
        let held = turns.take().await.expect("the first turn");
        let late = turns.take().await;
        assert!(
            matches!(late, Err(StoreError::WriteTurnTimedOut { waited_ms: 20 })),
            "{late:?}"
        );
        drop(held);
        turns.take().await.expect("the turn once it is free");
    }

    /// Writers get their turns in the order they asked for them.
    #[tokio::test]
    async fn turns_come_in_arrival_order() {
        let turns = WriteTurns::new(Duration::from_secs(5));
        let order = Arc::new(Mutex::new(Vec::new()));
        let first = turns.take().await.expect("the first turn");
        let mut waiting = Vec::new();
        for writer in 0..5 {
            let before = Arc::strong_count(&turns.queue);
            let (queued, order) = (turns.clone(), Arc::clone(&order));
            waiting.push(tokio::spawn(async move {
                let _turn = queued.take().await.expect("a turn");
                order.lock().expect("the order").push(writer);
            }));
            // Each is waiting (its copy of the queue, and the one its wait
            // holds) before the next one asks.
            while Arc::strong_count(&turns.queue) < before + 2 {
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
