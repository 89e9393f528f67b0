//! The dispatch role's actor: the redirects it handed out and not yet seen followed.
//!
//! Dispatch and notification share one listener: the first `USR ... I` of a (client address,
//! handle) is answered with `XFR trid NS host:port` and remembered here for `REDIRECT_TTL`; the
//! client's next `USR ... I` finds it, consumes it, and is served as the notification server.
//!
//! The table has a fixed bound (`MAX_REDIRECTS`, oldest forgotten first) and a mailbox of
//! `DISPATCH_MAILBOX`. Remembering never waits: with a full mailbox the redirect is simply not
//! remembered, and the client, which retries, is redirected once more.

use crate::limits::{DISPATCH_MAILBOX, MAX_REDIRECTS, MAX_REDIRECTS_PER_ADDRESS, REDIRECT_TTL};
use crate::server::admission::address_key;
use smol::channel::{Receiver, Sender};
use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::time::Instant;

type Key = (IpAddr, Box<str>);

enum Msg {
    Remember(Key),
    Take(Key, Sender<bool>),
}

/// The handle notification sessions use to reach the dispatch actor.
#[derive(Clone)]
pub struct Dispatch {
    tx: Sender<Msg>,
}

impl Dispatch {
    /// Starts the actor on `executor`.
    pub fn start(executor: &smol::Executor<'static>) -> Dispatch {
        let (tx, rx) = smol::channel::bounded(DISPATCH_MAILBOX);
        executor.spawn(run(rx)).detach();
        Dispatch { tx }
    }

    /// Notes that `handle` at `ip` was just redirected here.
    pub fn remember(&self, ip: IpAddr, handle: &str) {
        if self
            .tx
            .try_send(Msg::Remember((ip, handle.into())))
            .is_err()
        {
            log::debug!("dispatch: mailbox full; redirect of {handle} not remembered");
        }
    }

    /// Whether `handle` at `ip` was redirected here within `REDIRECT_TTL` (and forgets it:
    /// single use).
    pub async fn take(&self, ip: IpAddr, handle: &str) -> bool {
        let (tx, rx) = smol::channel::bounded(1);
        if self
            .tx
            .send(Msg::Take((ip, handle.into()), tx))
            .await
            .is_err()
        {
            return false;
        }
        rx.recv().await.unwrap_or(false)
    }
}

async fn run(rx: Receiver<Msg>) {
    let mut table = Redirects::default();
    while let Ok(msg) = rx.recv().await {
        match msg {
            Msg::Remember(key) => table.remember(key, Instant::now()),
            Msg::Take(key, reply) => {
                let _ = reply.try_send(table.take(&key, Instant::now()));
            }
        }
    }
}

/// The redirects, with their times in arrival order so the oldest go first: no scan of the
/// table, however full.
#[derive(Default)]
struct Redirects {
    at: HashMap<Key, Instant>,
    order: VecDeque<(Instant, Key)>,
    /// Redirects in `at` per client address (an IPv6 /64): one address sending `USR I` for
    /// made-up handles cannot push everyone else's redirects out (issue 21).
    per_address: HashMap<IpAddr, usize>,
}

impl Redirects {
    fn remember(&mut self, key: Key, now: Instant) {
        self.prune(now, MAX_REDIRECTS - 1);
        if self.at.contains_key(&key) {
            // Already pending: kept as it was, so repeating one handle adds no entries.
            return;
        }
        let count = self.per_address.entry(address_key(key.0)).or_insert(0);
        if *count >= MAX_REDIRECTS_PER_ADDRESS {
            return;
        }
        *count += 1;
        self.at.insert(key.clone(), now);
        self.order.push_back((now, key));
    }

    fn forget(&mut self, key: &Key) -> Option<Instant> {
        let t = self.at.remove(key)?;
        let a = address_key(key.0);
        if let Some(n) = self.per_address.get_mut(&a) {
            *n -= 1;
            if *n == 0 {
                self.per_address.remove(&a);
            }
        }
        Some(t)
    }

    fn take(&mut self, key: &Key, now: Instant) -> bool {
        let followed = self
            .forget(key)
            .is_some_and(|t| now.duration_since(t) < REDIRECT_TTL);
        self.prune(now, MAX_REDIRECTS);
        followed
    }

    /// Drops from the front of `order` what is expired, past `keep` entries, or already taken
    /// (no longer in `at` with that time), then gives back spare room. Taken redirects used to
    /// stay in `order` until the next `remember` after their TTL: after a burst of 10,000
    /// logins, 10,000 handles and a 16,384-slot queue (about 0.1 KiB per idle session) stayed
    /// allocated. Clients follow their redirects in about the order they got them, so the front
    /// is mostly taken ones and `order` stays near the number of redirects really pending.
    fn prune(&mut self, now: Instant, keep: usize) {
        while let Some((t, old)) = self.order.front() {
            let pending = self.at.get(old) == Some(t);
            if pending && now.duration_since(*t) < REDIRECT_TTL && self.order.len() <= keep {
                break;
            }
            let (_, old) = self.order.pop_front().expect("front exists");
            if pending {
                self.forget(&old);
            }
        }
        // Shrunk only well below capacity, so a steady login rate does not reallocate.
        if self.order.capacity() > 64 && self.order.len() < self.order.capacity() / 4 {
            self.order.shrink_to(self.order.len() * 2);
        }
        if self.at.capacity() > 64 && self.at.len() < self.at.capacity() / 4 {
            self.at.shrink_to(self.at.len() * 2);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(n: usize) -> Key {
        let ip = IpAddr::from([10, (n >> 16) as u8, (n >> 8) as u8, n as u8]);
        (ip, format!("u{n}@x.com").into())
    }

    /// Issue 21: made-up handles from one address fill only that address's share.
    #[test]
    fn one_address_cannot_push_out_the_others() {
        let mut r = Redirects::default();
        let now = Instant::now();
        let victim: Key = ("192.168.1.5".parse().unwrap(), "bob@x.com".into());
        r.remember(victim.clone(), now);
        for n in 0..MAX_REDIRECTS + 10 {
            r.remember(
                ("10.9.9.9".parse().unwrap(), format!("x{n}@x.com").into()),
                now,
            );
        }
        assert!(r.at.len() <= MAX_REDIRECTS_PER_ADDRESS + 1);
        assert!(r.take(&victim, now), "the victim's redirect survived");
        assert!(r.per_address.len() == 1);
    }

    #[test]
    fn single_use_and_bounded() {
        let mut r = Redirects::default();
        let now = Instant::now();
        r.remember(key(0), now);
        assert!(r.take(&key(0), now));
        assert!(!r.take(&key(0), now), "single use");
        for n in 0..MAX_REDIRECTS + 10 {
            r.remember(key(n), now);
        }
        assert!(r.at.len() <= MAX_REDIRECTS);
        assert!(r.order.len() <= MAX_REDIRECTS);
        assert!(!r.take(&key(0), now), "oldest forgotten first");
        assert!(r.take(&key(MAX_REDIRECTS + 9), now));
    }

    /// A login burst followed as it was handed out leaves nothing queued (idle memory).
    #[test]
    fn followed_redirects_are_not_kept() {
        let mut r = Redirects::default();
        let now = Instant::now();
        for n in 0..10_000 {
            r.remember(key(n), now);
            if n >= 50 {
                assert!(r.take(&key(n - 50), now));
            }
        }
        for n in 9_950..10_000 {
            assert!(r.take(&key(n), now));
        }
        assert_eq!(r.order.len(), 0);
        assert_eq!(r.at.len(), 0);
        assert!(r.order.capacity() <= 256, "room given back");
    }

    #[test]
    fn expired_redirects_are_refused() {
        let mut r = Redirects::default();
        let then = Instant::now();
        r.remember(key(1), then);
        assert!(!r.take(&key(1), then + REDIRECT_TTL));
    }
}
