//! Login throttling: failed password or ticket checks are counted per (address, account) and per
//! address. Past the limit, further attempts from that address are refused without checking for
//! `auth_backoff`, whatever the password. Counting per address means an attacker elsewhere cannot
//! lock a real user out; the block lifts by itself.
//!
//! A slow password check (`begin`) counts as a failure from the moment it starts until it is
//! known to have succeeded: sixty guesses sent at once are sixty pending failures, so only as
//! many as the limit allows reach the hash. Checks in flight are also capped per account (from
//! all addresses), per address, and in total (`LOGIN_CHECKS_IN_FLIGHT`). A check over one of
//! those caps is not refused: it waits (`Verdict::Wait`, the logins actor queues it) until a
//! check ends, and is then judged again, so thirty users behind one NAT address who sign in at
//! once all get through, a few at a time, while parallel guesses still reach the hash only until
//! their pending failures reach the limit. Only a queue past its bound is refused, as busy.
//!
//! Per-address keys are `address_key`s: an IPv6 client is keyed by its /64, which one host
//! usually owns whole.
//!
//! This is the table only, with no lock and no I/O: the logins actor (`logins.rs`) owns it and
//! is the only one that changes it.

use super::admission::address_key;
use crate::limits::{
    AUTH_TRACKED_PAIRS, LOGIN_CHECKS_IN_FLIGHT, LOGIN_CHECKS_PER_ACCOUNT, LOGIN_CHECKS_PER_ADDRESS,
};
use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// What `begin` decided about a password check.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Let through: counted as pending until `finish`.
    Go,
    /// Too many checks of this account, from this address or in all are in flight: ask again
    /// when one ends. Nothing is counted.
    Wait,
    /// The pair or the address is blocked by failures: refused without checking.
    Blocked,
}

/// The login counters of the whole server, shared by the NS logins and the HTTP (Passport) logins
/// so that guessing over both paths counts once; owned by the logins actor.
#[derive(Default)]
pub struct Throttle {
    counters: HashMap<(IpAddr, String), Counter>,
    /// Password checks in flight per account, from every address.
    in_flight: HashMap<String, u32>,
    /// Password checks in flight in all: let through by `begin` and not yet `finish`ed.
    checks: usize,
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

/// The empty account name keys the per-address counter.
const ANY: &str = "";

impl Throttle {
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

    /// Whether a login for `account` from `ip` may be checked now (for checks that finish
    /// without waiting: the MD5 and ticket logins).
    pub fn allowed(&self, ip: IpAddr, account: &str, limit: u32, backoff: Duration) -> bool {
        let ip = address_key(ip);
        let weight = |key: &str| {
            self.counters
                .get(&(ip, key.to_string()))
                .map_or(0, |c| c.weight(backoff))
        };
        weight(account) < limit && weight(ANY) < limit * 4
    }

    /// Lets a slow password check start, counted as pending until `finish` (`Go`); or says it
    /// must wait for a check in flight to end (`Wait`: too many for this account, from this
    /// address or in all); or refuses it (`Blocked`: the pair or the address is blocked).
    pub fn begin(&mut self, ip: IpAddr, account: &str, limit: u32, backoff: Duration) -> Verdict {
        let ip = address_key(ip);
        let get = |t: &Throttle, key: &str| {
            t.counters
                .get(&(ip, key.to_string()))
                .map_or((0, 0), |c| (c.weight(backoff), c.pending))
        };
        let (pair_weight, _) = get(self, account);
        let (addr_weight, addr_pending) = get(self, ANY);
        let account_in_flight = self.in_flight.get(account).copied().unwrap_or(0);
        if pair_weight >= limit || addr_weight >= limit * 4 {
            return Verdict::Blocked;
        }
        // Parallel guesses need no penalty of their own: each pending check already weighs as
        // a failure, so the ones that wait are refused as soon as those ahead of them fail.
        if addr_pending >= LOGIN_CHECKS_PER_ADDRESS
            || account_in_flight >= LOGIN_CHECKS_PER_ACCOUNT
            || self.checks >= LOGIN_CHECKS_IN_FLIGHT
        {
            return Verdict::Wait;
        }
        self.bound(backoff);
        for key in [account, ANY] {
            self.counter(ip, key).pending += 1;
        }
        *self.in_flight.entry(account.to_string()).or_insert(0) += 1;
        self.checks += 1;
        Verdict::Go
    }

    /// Ends a check `begin` let through: its pending count goes, and it counts as a success
    /// (`Some(true)`), a failure (`Some(false)`) or neither (`None`: it was never checked).
    pub fn finish(&mut self, ip: IpAddr, account: &str, backoff: Duration, ok: Option<bool>) {
        let ip = address_key(ip);
        self.checks = self.checks.saturating_sub(1);
        if let Some(n) = self.in_flight.get_mut(account) {
            *n -= 1;
            if *n == 0 {
                self.in_flight.remove(account);
            }
        }
        for key in [account, ANY] {
            if let Some(c) = self.counters.get_mut(&(ip, key.to_string())) {
                c.pending = c.pending.saturating_sub(1);
            }
        }
        match ok {
            Some(true) => self.succeeded(ip, account),
            Some(false) => self.failed(ip, account, backoff),
            None => {}
        }
    }

    /// Checks let through by `begin` and not finished yet.
    pub fn checks_in_flight(&self) -> usize {
        self.checks
    }

    /// Drops expired counters once the table grows large.
    fn bound(&mut self, backoff: Duration) {
        if self.counters.len() > AUTH_TRACKED_PAIRS {
            self.counters
                .retain(|_, c| c.pending > 0 || c.last.elapsed() < backoff);
        }
    }

    /// Counts a failed check of `account` from `ip`.
    pub fn failed(&mut self, ip: IpAddr, account: &str, backoff: Duration) {
        let ip = address_key(ip);
        self.bound(backoff);
        for key in [account, ANY] {
            let c = self.counter(ip, key);
            // A block that has run out starts the count afresh.
            if c.last.elapsed() >= backoff {
                c.failures = 0;
            }
            c.failures += 1;
            c.last = Instant::now();
        }
    }

    /// A success clears the pair's failures, unless other checks of it are still pending.
    pub fn succeeded(&mut self, ip: IpAddr, account: &str) {
        let pair = (address_key(ip), account.to_string());
        if self.counters.get(&pair).is_some_and(|c| c.pending == 0) {
            self.counters.remove(&pair);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_pairs_then_addresses_and_expires() {
        let mut t = Throttle::default();
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
        use Verdict::*;
        let mut t = Throttle::default();
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        let other: IpAddr = "10.0.0.2".parse().unwrap();
        let b = Duration::from_secs(60);
        // In flight per account: the third concurrent check waits, from any address, and is
        // not counted as anything.
        assert_eq!(t.begin(ip, "a@x.com", 5, b), Go, "first");
        assert_eq!(t.begin(other, "a@x.com", 5, b), Go, "second");
        assert_eq!(t.begin(ip, "a@x.com", 5, b), Wait);
        t.finish(ip, "a@x.com", b, Some(false));
        t.finish(other, "a@x.com", b, Some(true));
        assert_eq!(t.checks_in_flight(), 0);
        // Per address: four in flight, the fifth waits.
        let started: Vec<_> = (0..LOGIN_CHECKS_PER_ADDRESS)
            .map(|i| format!("u{i}@x.com"))
            .filter(|a| t.begin(ip, a, 5, b) == Go)
            .collect();
        assert_eq!(started.len() as u32, LOGIN_CHECKS_PER_ADDRESS);
        assert_eq!(t.begin(ip, "z@x.com", 5, b), Wait, "per-address cap");
        for a in &started {
            t.finish(ip, a, b, Some(false));
        }
        // One failure of the pair so far (`first`); pending checks weigh like failures.
        assert_eq!(t.begin(ip, "a@x.com", 5, b), Go);
        assert_eq!(t.begin(ip, "a@x.com", 5, b), Go);
        t.finish(ip, "a@x.com", b, Some(false));
        t.finish(ip, "a@x.com", b, Some(false));
        assert_eq!(t.begin(ip, "a@x.com", 5, b), Go, "under the limit");
        assert_eq!(
            t.begin(ip, "a@x.com", 4, b),
            Blocked,
            "three failures and one pending reach a limit of four"
        );
        t.finish(ip, "a@x.com", b, Some(false));
        assert_eq!(t.begin(ip, "a@x.com", 5, b), Go, "four failures");
        t.finish(ip, "a@x.com", b, Some(false));
        assert_eq!(t.begin(ip, "a@x.com", 5, b), Blocked, "five failures");
        assert_eq!(t.begin(other, "a@x.com", 5, b), Go, "elsewhere still fine");
    }

    #[test]
    fn checks_in_flight_are_capped_in_all_without_counting_a_failure() {
        let mut t = Throttle::default();
        let b = Duration::from_secs(60);
        let addr = |i: usize| IpAddr::from([10, (i >> 16) as u8, (i >> 8) as u8, i as u8]);
        for i in 0..LOGIN_CHECKS_IN_FLIGHT {
            assert_eq!(t.begin(addr(i), &format!("u{i}@x.com"), 5, b), Verdict::Go);
        }
        let late = addr(LOGIN_CHECKS_IN_FLIGHT);
        assert_eq!(
            t.begin(late, "late@x.com", 5, b),
            Verdict::Wait,
            "total cap"
        );
        assert!(
            t.allowed(late, "late@x.com", 5, b),
            "and no failure counted"
        );
        t.finish(addr(0), "u0@x.com", b, Some(true));
        assert_eq!(t.begin(late, "late@x.com", 5, b), Verdict::Go, "room again");
    }

    /// Issue 21: an IPv6 client is one address per /64, whichever of its addresses it uses.
    #[test]
    fn ipv6_addresses_of_one_64_share_their_counters() {
        let mut t = Throttle::default();
        let b = Duration::from_secs(60);
        let one: IpAddr = "2001:db8:1:2::1".parse().unwrap();
        for i in 0..20u16 {
            let ip = IpAddr::from([0x2001, 0xdb8, 1, 2, 0, 0, 7, i]);
            t.failed(ip, &format!("u{i}@x.com"), b);
        }
        assert!(!t.allowed(one, "new@x.com", 5, b), "the /64 is blocked");
        let next: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert!(t.allowed(next, "new@x.com", 5, b), "the next /64 is not");
    }
}
