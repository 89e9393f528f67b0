//! The table of open client connections, for shutdown: it is how `OUT SSD` reaches every
//! notification client (logged in or half-way through a login) and how every socket is closed.
//!
//! Transport bookkeeping, not a role's state: no command reads it, it is written twice per
//! connection (open, close), counted by the housekeeping tick and at shutdown, and walked once, at
//! shutdown. One short lock guards it.

use super::outbox::Outbox;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

/// Open connections by id: their outbox, and whether it is a notification connection.
#[derive(Default)]
pub(crate) struct OpenConnections {
    table: Mutex<HashMap<u64, (Arc<Outbox>, bool)>>,
}

impl OpenConnections {
    fn table(&self) -> MutexGuard<'_, HashMap<u64, (Arc<Outbox>, bool)>> {
        self.table.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Notes connection `id`.
    pub fn insert(&self, id: u64, outbox: Arc<Outbox>, notification: bool) {
        self.table().insert(id, (outbox, notification));
    }

    /// Forgets connection `id`.
    pub fn remove(&self, id: u64) {
        self.table().remove(&id);
    }

    /// How many are open.
    pub fn len(&self) -> usize {
        self.table().len()
    }

    /// Sends `OUT SSD` to every notification connection and closes every connection.
    pub fn close_all(&self) {
        let all: Vec<(Arc<Outbox>, bool)> = self.table().values().cloned().collect();
        for (outbox, notification) in all {
            if notification {
                let _ = outbox.push(&[b"OUT SSD\r\n"]);
            }
            outbox.close();
        }
    }
}
