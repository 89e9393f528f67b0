//! The only place that knows SQL.
//!
//! One SQLite file in WAL mode, owned by one dedicated thread. Executor threads never touch SQLite:
//! they send a closure to the storage thread (`Storage::run`) and await its result. Because every
//! change goes through this one thread, a change is committed before its reply is written, and the
//! in-memory mirror of online accounts (updated inside the same closure, after the commit) sees
//! changes in exactly the order the database does.

mod db;
mod invites;
mod migrations;
mod ops;
mod private;
mod scram;

pub use db::{Credentials, Db, DbError, Writer};
pub use invites::{Invite, InviteRefused, Registered};

use std::path::Path;
use std::thread::JoinHandle;

type Job = Box<dyn FnOnce(&mut Db) + Send>;

/// A handle to the storage thread. Cheap to clone.
#[derive(Clone)]
pub struct Storage {
    tx: smol::channel::Sender<Job>,
}

/// The storage thread has stopped (server shutting down, or a fatal database error).
#[derive(Debug, Clone, Copy)]
pub struct StorageGone;

impl std::fmt::Display for StorageGone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("storage thread has stopped")
    }
}

impl Storage {
    /// Opens (creating and migrating if needed) the database and starts its thread.
    pub fn start(path: &Path) -> Result<(Storage, JoinHandle<()>), DbError> {
        let mut db = Db::open(path)?;
        db.migrate()?;
        db.clear_signouts()?;
        let (tx, rx) = smol::channel::bounded::<Job>(crate::limits::STORAGE_QUEUE);
        let handle = std::thread::Builder::new()
            .name("storage".into())
            .spawn(move || {
                while let Ok(job) = rx.recv_blocking() {
                    // A bug in one job must not take the database away from everyone else; the
                    // transaction it held rolls back when it unwinds.
                    if std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job(&mut db)))
                        .is_err()
                    {
                        log::error!("storage job panicked; its transaction was rolled back");
                    }
                }
                if let Err(e) = db.close() {
                    log::error!("closing the database: {e}");
                } else {
                    log::info!("database closed");
                }
            })
            .map_err(|e| DbError::Sql(e.to_string()))?;
        Ok((Storage { tx }, handle))
    }

    /// Runs `f` on the storage thread and returns its result.
    pub async fn run<T, F>(&self, f: F) -> Result<T, StorageGone>
    where
        T: Send + 'static,
        F: FnOnce(&mut Db) -> T + Send + 'static,
    {
        let (reply_tx, reply_rx) = smol::channel::bounded(1);
        let job: Job = Box::new(move |db| {
            let _ = reply_tx.try_send(f(db));
        });
        self.tx.send(job).await.map_err(|_| StorageGone)?;
        reply_rx.recv().await.map_err(|_| StorageGone)
    }

    /// Queues `f` for the storage thread without waiting for it or its result; refused when the
    /// queue is full (for an actor, which must never wait for storage).
    pub fn submit<F>(&self, f: F) -> Result<(), StorageGone>
    where
        F: FnOnce(&mut Db) + Send + 'static,
    {
        self.tx.try_send(Box::new(f)).map_err(|_| StorageGone)
    }

    /// Closes the queue for every clone of this handle: later `run` calls get `StorageGone`, and
    /// the thread finishes the jobs already queued, closes the database and exits.
    pub fn close(&self) {
        self.tx.close();
    }
}
