//! Login throttling: failed password or ticket checks are counted per (address, account) and per
//! address. Past the limit, further attempts from that address are refused without checking for
//! `auth_backoff`, whatever the password. Counting per address means an attacker elsewhere cannot
//! lock a real user out; the block lifts by itself.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

#[derive(Default)]
pub struct Throttle {
    failures: Mutex<HashMap<(IpAddr, String), (u32, Instant)>>,
}

/// The empty account name keys the per-address counter.
const ANY: &str = "";

impl Throttle {
    /// Whether a login for `account` from `ip` may be checked now.
    pub fn allowed(&self, ip: IpAddr, account: &str, limit: u32, backoff: Duration) -> bool {
        let m = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        let blocked = |key: &str, lim: u32| {
            m.get(&(ip, key.to_string()))
                .is_some_and(|(n, last)| *n >= lim && last.elapsed() < backoff)
        };
        !blocked(account, limit) && !blocked(ANY, limit * 4)
    }

    pub fn failed(&self, ip: IpAddr, account: &str, backoff: Duration) {
        let mut m = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        if m.len() > 100_000 {
            m.retain(|_, (_, last)| last.elapsed() < backoff);
        }
        for key in [account, ANY] {
            let e = m
                .entry((ip, key.to_string()))
                .or_insert((0, Instant::now()));
            // A block that has run out starts the count afresh.
            if e.1.elapsed() >= backoff {
                e.0 = 0;
            }
            e.0 += 1;
            e.1 = Instant::now();
        }
    }

    pub fn succeeded(&self, ip: IpAddr, account: &str) {
        self.failures
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&(ip, account.to_string()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_pairs_then_addresses_and_expires() {
        let t = Throttle::default();
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        let other: IpAddr = "10.0.0.2".parse().unwrap();
        let b = Duration::from_millis(200);
        for _ in 0..5 {
            assert!(t.allowed(ip, "a@x.com", 5, b));
            t.failed(ip, "a@x.com", b);
        }
        assert!(!t.allowed(ip, "a@x.com", 5, b));
        assert!(
            t.allowed(other, "a@x.com", 5, b),
            "other addresses are not locked out"
        );
        assert!(t.allowed(ip, "b@x.com", 5, b));
        for i in 0..15 {
            t.failed(ip, &format!("u{i}@x.com"), b);
        }
        assert!(
            !t.allowed(ip, "b@x.com", 5, b),
            "the address itself is blocked after 20"
        );
        std::thread::sleep(b);
        assert!(t.allowed(ip, "a@x.com", 5, b));
    }
}
