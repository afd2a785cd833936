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
            .map(|held| WriteTurn { held: Some(held) })
            .map_err(|_| StoreError::WriteTurnTimedOut {
                waited_ms: self.patience.as_millis(),
            })
    }
}

/// A writer's turn, held until it is dropped; on PostgreSQL an empty one.
#[derive(Debug)]
pub(crate) struct WriteTurn {
    held: Option<OwnedMutexGuard<()>>,
}

impl WriteTurn {
    pub(crate) const NO_WAIT: WriteTurn = WriteTurn { held: None };
}

/// A writer's connection — a DB transaction, or a pooled connection for
/// statements outside one — with the turn it holds while it lives. It
/// stands for its connection, so statements run on `&mut *held`.
#[derive(Debug)]
pub(crate) struct InTurn<C> {
    // Declared first, dropped first: the connection goes back to its pool
    // before the next writer's turn begins.
    connection: C,
    turn: WriteTurn,
}

/// A DB transaction that writes, holding its turn until it commits or is
/// dropped (and so rolled back).
pub(crate) type WriteTransaction<Db> = InTurn<Transaction<'static, Db>>;

/// A writer connection for statements that write outside a DB transaction.
pub(crate) type WriteConnection<Db> = InTurn<PoolConnection<Db>>;

impl<C> InTurn<C> {
    pub(crate) fn new(connection: C, turn: WriteTurn) -> Self {
        InTurn { connection, turn }
    }
}

impl<Db: Database> WriteTransaction<Db> {
    pub(crate) async fn commit(self) -> Result<(), sqlx::Error> {
        let InTurn { connection, turn } = self;
        let committed = connection.commit().await;
        if turn.held.is_some() {
            drop(turn);
            // The next writer, woken on this thread, goes next: its turn
            // has begun and the lock is free.
            tokio::task::yield_now().await;
        }
        committed
    }

    pub(crate) async fn rollback(self) -> Result<(), sqlx::Error> {
        self.connection.rollback().await
    }
}

impl<C: Deref> Deref for InTurn<C> {
    type Target = C::Target;

    fn deref(&self) -> &C::Target {
        &self.connection
    }
}

impl<C: DerefMut> DerefMut for InTurn<C> {
    fn deref_mut(&mut self) -> &mut C::Target {
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
