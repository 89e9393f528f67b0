//! Login throttling: failed password or ticket checks are counted per (address, account) and per
//! address. Past the limit, further attempts from that address are refused without checking for
//! `auth_backoff`, whatever the password. Counting per address means an attacker elsewhere cannot
//! lock a real user out; the block lifts by itself.
//!
//! A slow password check (`begin`) counts as a failure from the moment it starts until it is
//! known to have succeeded: sixty guesses sent at once are sixty pending failures, so only as
//! many as the limit allows reach the hash. Checks in flight are also capped per account (from
//! all addresses) and per address, so a burst cannot queue up hashing work either.

use crate::limits::{AUTH_TRACKED_PAIRS, LOGIN_CHECKS_PER_ACCOUNT, LOGIN_CHECKS_PER_ADDRESS};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// The login counters of the whole server, shared by the NS logins and the HTTP (Passport) logins
/// so that guessing over both paths counts once.
#[derive(Default)]
pub struct Throttle {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    counters: HashMap<(IpAddr, String), Counter>,
    /// Password checks in flight per account, from every address.
    in_flight: HashMap<String, u32>,
}

struct Counter {
    failures: u32,
    /// Checks started and not finished; each counts as a failure until it succeeds.
    pending: u32,
    last: Instant,
}

impl Counter {
    /// Failures and pending checks that still count against the limit.
    fn weight(&self, backoff: Duration) -> u32 {
        let failures = if self.last.elapsed() < backoff {
            self.failures
        } else {
            0
        };
        failures + self.pending
    }
}

impl Inner {
    /// The counter of `(ip, key)`, created empty.
    fn counter(&mut self, ip: IpAddr, key: &str) -> &mut Counter {
        self.counters
            .entry((ip, key.to_string()))
            .or_insert(Counter {
                failures: 0,
                pending: 0,
                last: Instant::now(),
            })
    }

    /// A success clears the pair's failures, unless other checks of it are still pending.
    fn succeeded(&mut self, ip: IpAddr, account: &str) {
        let pair = (ip, account.to_string());
        if self.counters.get(&pair).is_some_and(|c| c.pending == 0) {
            self.counters.remove(&pair);
        }
    }
}

/// The empty account name keys the per-address counter.
const ANY: &str = "";

/// A password check that has been let through; it counts as a failure until `succeeded`.
#[must_use]
pub struct Attempt<'a> {
    throttle: &'a Throttle,
    ip: IpAddr,
    account: String,
    backoff: Duration,
    finished: bool,
}

impl Attempt<'_> {
    /// The password was right: the pending failure is withdrawn, and the pair's failures are
    /// cleared unless other checks of it are still pending.
    pub fn succeeded(mut self) {
        self.finish(true);
    }

    /// The password was wrong: the pending check becomes a counted failure.
    pub fn failed(mut self) {
        self.finish(false);
    }

    fn finish(&mut self, ok: bool) {
        self.finished = true;
        let mut inner = self.throttle.lock();
        if let Some(n) = inner.in_flight.get_mut(&self.account) {
            *n -= 1;
            if *n == 0 {
                inner.in_flight.remove(&self.account);
            }
        }
        for key in [self.account.as_str(), ANY] {
            if let Some(c) = inner.counters.get_mut(&(self.ip, key.to_string())) {
                c.pending = c.pending.saturating_sub(1);
            }
        }
        if ok {
            inner.succeeded(self.ip, &self.account);
        } else {
            Throttle::count_failure(&mut inner, self.ip, &self.account, self.backoff);
        }
    }
}

impl Drop for Attempt<'_> {
    /// A check abandoned half way (its connection went away) counts as the failure it most
    /// likely was: the hash ran to the end regardless.
    fn drop(&mut self) {
        if !self.finished {
            self.finish(false);
        }
    }
}

impl Throttle {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether a login for `account` from `ip` may be checked now (for checks that finish
    /// without waiting: the MD5 and ticket logins).
    pub fn allowed(&self, ip: IpAddr, account: &str, limit: u32, backoff: Duration) -> bool {
        let inner = self.lock();
        let weight = |key: &str| {
            inner
                .counters
                .get(&(ip, key.to_string()))
                .map_or(0, |c| c.weight(backoff))
        };
        weight(account) < limit && weight(ANY) < limit * 4
    }

    /// Lets a slow password check start, counted as pending, or refuses it: the address is
    /// blocked, or too many checks for this account or from this address are in flight.
    pub fn begin(
        &self,
        ip: IpAddr,
        account: &str,
        limit: u32,
        backoff: Duration,
    ) -> Option<Attempt<'_>> {
        let mut inner = self.lock();
        let get = |inner: &Inner, key: &str| {
            inner
                .counters
                .get(&(ip, key.to_string()))
                .map_or((0, 0), |c| (c.weight(backoff), c.pending))
        };
        let (pair_weight, _) = get(&inner, account);
        let (addr_weight, addr_pending) = get(&inner, ANY);
        let account_in_flight = inner.in_flight.get(account).copied().unwrap_or(0);
        if pair_weight >= limit || addr_weight >= limit * 4 {
            return None;
        }
        if addr_pending >= LOGIN_CHECKS_PER_ADDRESS || account_in_flight >= LOGIN_CHECKS_PER_ACCOUNT
        {
            // Crowding out one's own checks is guessing in parallel and counts as a failure;
            // being crowded out by other addresses' checks of this account does not.
            if addr_pending > 0 {
                Self::count_failure(&mut inner, ip, account, backoff);
            }
            return None;
        }
        Self::bound(&mut inner, backoff);
        for key in [account, ANY] {
            inner.counter(ip, key).pending += 1;
        }
        *inner.in_flight.entry(account.to_string()).or_insert(0) += 1;
        Some(Attempt {
            throttle: self,
            ip,
            account: account.to_string(),
            backoff,
            finished: false,
        })
    }

    /// Drops expired counters once the table grows large.
    fn bound(inner: &mut Inner, backoff: Duration) {
        if inner.counters.len() > AUTH_TRACKED_PAIRS {
            inner
                .counters
                .retain(|_, c| c.pending > 0 || c.last.elapsed() < backoff);
        }
    }

    fn count_failure(inner: &mut Inner, ip: IpAddr, account: &str, backoff: Duration) {
        Self::bound(inner, backoff);
        for key in [account, ANY] {
            let c = inner.counter(ip, key);
            // A block that has run out starts the count afresh.
            if c.last.elapsed() >= backoff {
                c.failures = 0;
            }
            c.failures += 1;
            c.last = Instant::now();
        }
    }

    /// Counts a failed check that did not go through `begin` (an MD5 or ticket login).
    pub fn failed(&self, ip: IpAddr, account: &str, backoff: Duration) {
        Self::count_failure(&mut self.lock(), ip, account, backoff);
    }

    /// Clears the pair's failures after a successful check that did not go through `begin`.
    pub fn succeeded(&self, ip: IpAddr, account: &str) {
        self.lock().succeeded(ip, account);
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

    #[test]
    fn pending_checks_count_before_they_finish() {
        let t = Throttle::default();
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        let other: IpAddr = "10.0.0.2".parse().unwrap();
        let b = Duration::from_secs(60);
        // In flight per account: the third concurrent check is refused, from any address (and
        // counted as a failure for an address that already has one running).
        let first = t.begin(ip, "a@x.com", 5, b).expect("first");
        let second = t.begin(other, "a@x.com", 5, b).expect("second");
        assert!(t.begin(ip, "a@x.com", 5, b).is_none());
        first.failed();
        second.succeeded();
        // Pending checks count against the limit: five started, none finished, sixth refused.
        let started: Vec<_> = (0..LOGIN_CHECKS_PER_ADDRESS)
            .filter_map(|i| t.begin(ip, &format!("u{i}@x.com"), 5, b))
            .collect();
        assert_eq!(started.len() as u32, LOGIN_CHECKS_PER_ADDRESS);
        assert!(t.begin(ip, "z@x.com", 5, b).is_none(), "per-address cap");
        drop(started); // abandoned checks count as failures
        // Two failures so far: the refused third check and `first`.
        for _ in 0..3 {
            t.begin(ip, "a@x.com", 5, b)
                .expect("under the limit")
                .failed();
        }
        assert!(t.begin(ip, "a@x.com", 5, b).is_none(), "five failures");
        assert!(
            t.begin(other, "a@x.com", 5, b).is_some(),
            "elsewhere still fine"
        );
    }
}
