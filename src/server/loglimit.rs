//! Rate limit for log lines a client can cause at will (a refused `XFR SB`, a gateway `400`): a
//! runaway or hostile client must not fill the disk or drown the journal. Each call site (a
//! `&'static str` naming the line) is limited per connection (its peer's address and port) and
//! per client address (`admission::address_key`, an IPv6 /64): `LOG_LINES_PER_CONNECTION` and
//! `LOG_LINES_PER_ADDRESS` lines per `LOG_LIMIT_WINDOW`. The first line held back in a window
//! says so; the rest go unwritten until the window ends.
//!
//! Fixed memory, no lock: counters live in `LOG_LIMIT_BUCKETS` atomic cells picked by a keyed
//! hash (a random key per process), as the connection caps do. Keys sharing a cell share its
//! budget, which can only make the limit tighter; it only ever drops log lines, never requests.

use super::admission::address_key;
use crate::limits::{
    LOG_LIMIT_BUCKETS, LOG_LIMIT_WINDOW, LOG_LINES_PER_ADDRESS, LOG_LINES_PER_CONNECTION,
};
use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::net::SocketAddr;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

/// The counters: each cell packs (window number << 32 | lines counted in it).
struct Table {
    key: RandomState,
    start: Instant,
    cells: Box<[AtomicU64]>,
}

fn table() -> &'static Table {
    static TABLE: OnceLock<Table> = OnceLock::new();
    TABLE.get_or_init(|| Table {
        key: RandomState::new(),
        start: Instant::now(),
        cells: (0..LOG_LIMIT_BUCKETS).map(|_| AtomicU64::new(0)).collect(),
    })
}

impl Table {
    fn window(&self) -> u64 {
        self.start.elapsed().as_secs() / LOG_LIMIT_WINDOW.as_secs().max(1)
    }

    /// Counts one line in the cell of `key`; the count in this window, this line included.
    fn count(&self, key: impl std::hash::Hash, window: u64) -> u32 {
        let cell = &self.cells[(self.key.hash_one(key) % LOG_LIMIT_BUCKETS as u64) as usize];
        let mut seen = cell.load(Ordering::Relaxed);
        loop {
            let next = if seen >> 32 == window & 0xffff_ffff {
                seen.saturating_add(1)
            } else {
                (window << 32) | 1
            };
            match cell.compare_exchange_weak(seen, next, Ordering::Relaxed, Ordering::Relaxed) {
                Ok(_) => return next as u32,
                Err(now) => seen = now,
            }
        }
    }
}

/// Whether the line `site` caused by `peer` may be written now. The first line held back in a
/// window is replaced by a note saying that more are being held back.
pub fn allow(site: &'static str, peer: SocketAddr) -> bool {
    let t = table();
    let window = t.window();
    let per_connection = t.count((site, peer), window);
    let per_address = t.count((site, address_key(peer.ip())), window);
    if per_connection <= LOG_LINES_PER_CONNECTION && per_address <= LOG_LINES_PER_ADDRESS {
        return true;
    }
    let first_held = if per_connection <= LOG_LINES_PER_CONNECTION {
        per_address == LOG_LINES_PER_ADDRESS + 1
    } else {
        per_connection == LOG_LINES_PER_CONNECTION + 1
    };
    if first_held {
        log::warn!(
            "{peer}: more \"{site}\" lines held back for up to {} s",
            LOG_LIMIT_WINDOW.as_secs()
        );
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_limited_per_connection_and_per_address() {
        let site = "loglimit unit test";
        let conn: SocketAddr = "10.9.8.7:1000".parse().unwrap();
        let allowed = (0..100).filter(|_| allow(site, conn)).count() as u32;
        // Usually exactly the budget; less only if the window turned or cells were shared.
        assert!(allowed <= LOG_LINES_PER_CONNECTION * 2, "{allowed}");
        assert!(allowed >= 1);
        // Other connections of the address share the address's budget.
        let total = (0..100u16)
            .filter(|i| allow(site, SocketAddr::new(conn.ip(), 2000 + i)))
            .count() as u32;
        assert!(total + allowed <= LOG_LINES_PER_ADDRESS * 2, "{total}");
        // Another address is not affected.
        assert!(allow(site, "10.9.8.6:1000".parse().unwrap()));
    }
}
