//! WAL checkpoints on a thread of their own (decisions §50).
//!
//! SQLite's automatic checkpoint runs inside the commit that pushes the WAL
//! past its threshold: that writer copies a thousand pages into the
//! database file and syncs it before its commit returns, while every other
//! writer waits for the lock it holds. Under a steady write load one commit
//! in ten paid 7–16 ms for it (`bench webhooks`). The store's connections
//! turn the automatic checkpoint off, and this thread checkpoints instead,
//! alongside the writers: a passive checkpoint copies what no reader still
//! needs and waits for no one.

use std::path::Path;
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::sync::{Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::StoreError;

/// How often the WAL is copied into the database file: often enough that
/// the WAL stays a few megabytes under any load this machine makes.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(100);

/// The checkpointing thread; it ends when the store closes or the last
/// handle to it is dropped. Nothing is ever sent on the channel: dropping
/// its sender is the stop.
#[derive(Debug)]
pub(super) struct Checkpointer {
    running: Mutex<Option<(Sender<()>, JoinHandle<()>)>>,
}

impl Checkpointer {
    /// Opens its own connection to `path` and starts checkpointing on it.
    pub(super) fn start(path: &Path, busy_timeout: Duration) -> Result<Checkpointer, StoreError> {
        let connection = rusqlite::Connection::open_with_flags(
            path,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        connection.busy_timeout(busy_timeout)?;
        let (stop, stopped) = mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("sqlite-checkpoint".to_owned())
            .spawn(move || {
                // A stop, or every sender gone, ends the loop; what is left
                // in the WAL the last connection to close copies in.
                while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(CHECKPOINT_EVERY) {
                    if let Err(err) = checkpoint(&connection) {
                        tracing::warn!(error = %err, "SQLite WAL checkpoint");
                    }
                }
            })
            .map_err(StoreError::CheckpointThread)?;
        Ok(Checkpointer {
            running: Mutex::new(Some((stop, thread))),
        })
    }

    /// Stops the thread and waits for it (at most one checkpoint), so that
    /// its connection is closed when this returns.
    pub(super) fn stop(&self) {
        let running = self
            .running
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some((stop, thread)) = running {
            drop(stop);
            if thread.join().is_err() {
                tracing::error!("the SQLite checkpoint thread panicked");
            }
        }
    }
}

/// A passive checkpoint: copies the WAL's frames no reader still needs into
/// the database file, without waiting for readers or writers.
fn checkpoint(connection: &rusqlite::Connection) -> rusqlite::Result<()> {
    connection.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))
}
