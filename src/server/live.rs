//! Settings that `SIGHUP` may change while the server runs. Everything else in `Config` is fixed
//! for the life of the process; these are read through atomics so a reload needs no lock and no
//! restart, and connections already open pick up new timeouts at their next deadline.

use crate::config::Config;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

/// The reloadable settings, read by connections at each deadline and by admission at each accept.
pub struct Live {
    max_connections: AtomicUsize,
    max_per_ip: AtomicUsize,
    auth_backoff_ms: AtomicU64,
    first_command_ms: AtomicU64,
    login_ms: AtomicU64,
    ns_idle_ms: AtomicU64,
    sb_idle_ms: AtomicU64,
    write_stall_ms: AtomicU64,
}

fn ms(d: Duration) -> u64 {
    d.as_millis().min(u64::MAX as u128) as u64
}

fn get(a: &AtomicU64) -> Duration {
    Duration::from_millis(a.load(Ordering::Relaxed))
}

impl Live {
    /// The settings of `c` as the server starts.
    pub fn new(c: &Config) -> Live {
        let live = Live {
            max_connections: AtomicUsize::new(0),
            max_per_ip: AtomicUsize::new(0),
            auth_backoff_ms: AtomicU64::new(0),
            first_command_ms: AtomicU64::new(0),
            login_ms: AtomicU64::new(0),
            ns_idle_ms: AtomicU64::new(0),
            sb_idle_ms: AtomicU64::new(0),
            write_stall_ms: AtomicU64::new(0),
        };
        live.apply(c);
        live
    }

    /// Takes the reloadable settings of `c`.
    pub fn apply(&self, c: &Config) {
        self.max_connections
            .store(c.max_connections, Ordering::Relaxed);
        self.max_per_ip.store(c.max_per_ip, Ordering::Relaxed);
        self.auth_backoff_ms
            .store(ms(c.auth_backoff), Ordering::Relaxed);
        let t = &c.timeouts;
        self.first_command_ms
            .store(ms(t.first_command), Ordering::Relaxed);
        self.login_ms.store(ms(t.login), Ordering::Relaxed);
        self.ns_idle_ms.store(ms(t.ns_idle), Ordering::Relaxed);
        self.sb_idle_ms.store(ms(t.sb_idle), Ordering::Relaxed);
        self.write_stall_ms
            .store(ms(t.write_stall), Ordering::Relaxed);
    }

    /// Open connections at most, all listeners together.
    pub fn max_connections(&self) -> usize {
        self.max_connections.load(Ordering::Relaxed)
    }
    /// Open connections at most from one address.
    pub fn max_per_ip(&self) -> usize {
        self.max_per_ip.load(Ordering::Relaxed)
    }
    /// How long a blocked login pair or address stays refused.
    pub fn auth_backoff(&self) -> Duration {
        get(&self.auth_backoff_ms)
    }
    /// Deadline for a new connection's first command.
    pub fn first_command(&self) -> Duration {
        get(&self.first_command_ms)
    }
    /// Deadline for logging in (NS) or joining (SB).
    pub fn login(&self) -> Duration {
        get(&self.login_ms)
    }
    /// Silence after which a notification connection is dropped.
    pub fn ns_idle(&self) -> Duration {
        get(&self.ns_idle_ms)
    }
    /// Silence after which a switchboard connection is removed.
    pub fn sb_idle(&self) -> Duration {
        get(&self.sb_idle_ms)
    }
    /// How long a client may leave our data unread.
    pub fn write_stall(&self) -> Duration {
        get(&self.write_stall_ms)
    }
}
