//! The switchboard registry: an actor that owns the cookies admitting users to switchboards and
//! the table of live switchboards (id -> the switchboard actor's mailbox).
//!
//! A cookie is random, single use, bound to the handle it was issued to, and expires after
//! `COOKIE_TTL`. `XFR SB` cookies carry the user's `Admit` and create a new switchboard; `RNG`
//! cookies join one named switchboard, whose actor holds the invitee's `Admit` from the ring.
//!
//! Unused cookies are capped per user (`XFR SB`) and in total, and expire through a queue in
//! deadline order: every grant pops what has run out from its front, so no request scans the table.
//!
//! Everything reaches the registry through its bounded mailbox (`SB_REGISTRY_MAILBOX`). It never
//! waits on a switchboard actor (it posts to them, see `server::mailbox::post`), so a switchboard
//! may wait on it without risk of a cycle. `count` and `cookie_count` read counters it publishes
//! after every request.

use super::messages::{Command, Reply, Request, SbTx};
/// The registry's answers, under the names they had before `messages` existed.
pub use super::messages::{GrantRefused, Opened};
use super::port::{Admit, Ringer};
use super::switchboard;
use crate::limits::{
    COOKIE_TTL, MAX_COOKIES, MAX_COOKIES_PER_USER, SB_MAILBOX, SB_REGISTRY_MAILBOX,
};
use crate::model::{MachineGuid, UserId};
use crate::server::mailbox::{self, Spawner, post};
use crate::server::mailbox::{Receiver, Sender};
use crate::server::outbox::Outbox;
/// A one-slot reply channel (requests that need an answer are rare: not on the relay path).
use smol::future::FutureExt;
use std::collections::{HashMap, VecDeque};
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

/// What a cookie lets its holder do.
#[derive(Clone, Debug)]
pub enum Entry {
    /// Create a switchboard (`XFR SB`), as this user.
    Create(Admit),
    /// Join switchboard `id` (`RNG`); the switchboard holds the invitee's identity.
    Join(u32),
}

/// One unused cookie's record: to whom it was issued, what it admits to, and when it runs out.
#[derive(Clone, Debug)]
pub(crate) struct Grant {
    /// The handle the cookie is bound to; redeeming it under another handle fails.
    pub handle: String,
    /// What redeeming the cookie does (create a switchboard, or join one).
    pub entry: Entry,
    expires: Instant,
}

impl Grant {
    /// `XFR SB` cookies count against their user's cap; `RNG` cookies are caused by the caller,
    /// so they must not use up the invitee's.
    fn counted(&self) -> Option<UserId> {
        match &self.entry {
            Entry::Create(a) => Some(a.user),
            Entry::Join(_) => None,
        }
    }
}

/// The registry's cookie table. Owned by the registry actor; plain data so it can be tested
/// without one.
#[derive(Default)]
pub(super) struct Cookies {
    cookies: HashMap<String, Grant>,
    /// (deadline, cookie), earliest first. Entries of cookies already redeemed stay until they
    /// reach the front (or a compaction), and are skipped then.
    deadlines: VecDeque<(Instant, String)>,
    /// Unused `XFR SB` cookies per user.
    outstanding: HashMap<UserId, u32>,
}

impl Cookies {
    fn forget(&mut self, cookie: &str) -> Option<Grant> {
        let g = self.cookies.remove(cookie)?;
        if let Some(user) = g.counted()
            && let Some(n) = self.outstanding.get_mut(&user)
        {
            *n -= 1;
            if *n == 0 {
                self.outstanding.remove(&user);
            }
        }
        Some(g)
    }

    /// Drops the cookies whose deadline has passed: amortised O(1) per cookie issued.
    pub(super) fn expire(&mut self, now: Instant) {
        while let Some((at, _)) = self.deadlines.front() {
            if *at > now {
                break;
            }
            let (at, cookie) = self.deadlines.pop_front().expect("front exists");
            if self.cookies.get(&cookie).is_some_and(|g| g.expires == at) {
                self.forget(&cookie);
            }
        }
        // Redeemed cookies leave entries behind; drop them once they outnumber the live ones
        // (linear, but only after as many grants, so still O(1) amortised).
        if self.deadlines.len() > 2 * self.cookies.len() + 1024 {
            let cookies = &self.cookies;
            self.deadlines.retain(|(_, c)| cookies.contains_key(c));
        }
    }

    pub(super) fn grant(
        &mut self,
        handle: &str,
        entry: Entry,
        ttl: Duration,
    ) -> Result<String, GrantRefused> {
        let now = Instant::now();
        let expires = now + ttl;
        self.expire(now);
        if self.cookies.len() >= MAX_COOKIES {
            return Err(GrantRefused::Full);
        }
        let grant = Grant {
            handle: handle.to_owned(),
            entry,
            expires,
        };
        if let Some(user) = grant.counted() {
            let n = self.outstanding.entry(user).or_insert(0);
            if *n >= MAX_COOKIES_PER_USER {
                return Err(GrantRefused::UserCap);
            }
            *n += 1;
        }
        let cookie = format!(
            "{}.{}",
            crate::auth::token(20),
            crate::auth::random_u64() % 1_000_000
        );
        self.cookies.insert(cookie.clone(), grant);
        // Every cookie lives COOKIE_TTL, so it goes at the back; a shorter one (tests) is put
        // in its place to keep the queue in deadline order.
        if self.deadlines.back().is_none_or(|(at, _)| *at <= expires) {
            self.deadlines.push_back((expires, cookie.clone()));
        } else {
            let i = self.deadlines.partition_point(|(at, _)| *at <= expires);
            self.deadlines.insert(i, (expires, cookie.clone()));
        }
        Ok(cookie)
    }

    /// Consumes a cookie. It must be unexpired and presented by the user it was issued to; a
    /// cookie presented by anyone else is burnt all the same.
    pub(super) fn redeem(&mut self, cookie: &str, handle: &str) -> Option<Grant> {
        let g = self.forget(cookie)?;
        (g.handle == handle && Instant::now() < g.expires).then_some(g)
    }

    /// Burns the user's `XFR SB` cookies. (Their `RNG` cookies die with the invitations that
    /// the switchboards void on sign-out.)
    pub(super) fn sign_out(&mut self, user: UserId) {
        self.cookies.retain(|_, g| g.counted() != Some(user));
        // Those were all of the user's counted cookies: their cap starts afresh.
        self.outstanding.remove(&user);
    }

    /// A switchboard opened with one of the user's cookies shows their current name.
    fn rename(&mut self, user: UserId, encoded: &str) {
        for g in self.cookies.values_mut() {
            if let Entry::Create(a) = &mut g.entry
                && a.user == user
            {
                a.name.clear();
                a.name.push_str(encoded);
            }
        }
    }

    pub(super) fn len(&self) -> usize {
        self.cookies.len()
    }
}

/// Figures the registry publishes for status pages and tests.
#[derive(Default)]
struct Counters {
    switchboards: AtomicUsize,
    cookies: AtomicUsize,
}

/// The handle to the registry actor (`Sb::switchboards`).
pub struct Switchboards {
    /// The registry's mailbox; its receiver is claimed by the actor at `start`.
    tx: Sender<Request>,
    counters: Arc<Counters>,
    spawner: OnceLock<Spawner>,
}

impl Default for Switchboards {
    fn default() -> Self {
        Self::new()
    }
}

impl Switchboards {
    /// A handle whose mailbox exists before the actor runs, so that the roles can be wired to
    /// each other first; `start` claims the mailbox and spawns the actor.
    pub fn new() -> Switchboards {
        Switchboards {
            tx: mailbox::unclaimed(SB_REGISTRY_MAILBOX),
            counters: Arc::default(),
            spawner: OnceLock::new(),
        }
    }

    /// Starts the registry actor on `spawner` with the notification role's `ringer`. Once only.
    pub fn start(&self, spawner: &Spawner, ringer: Arc<dyn Ringer>) {
        let Some(rx) = self.tx.claim() else {
            return;
        };
        let _ = self.spawner.set(spawner.clone());
        let registry = Registry {
            cookies: Cookies::default(),
            sessions: HashMap::new(),
            tx: self.tx.clone(),
            spawner: spawner.clone(),
            ringer,
            counters: self.counters.clone(),
        };
        spawner
            .spawn(async move {
                if AssertUnwindSafe(registry.run(rx))
                    .catch_unwind()
                    .await
                    .is_err()
                {
                    log::error!("switchboard registry panicked: no new switchboards until restart");
                }
            })
            .detach();
    }

    async fn ask<T>(&self, make: impl FnOnce(Reply<T>) -> Request) -> Option<T> {
        let (reply, answer) = smol::channel::bounded(1);
        self.tx.send(make(reply)).await.ok()?;
        answer.recv().await.ok()
    }

    fn notify(&self, req: Request) {
        if !post(&self.tx, req, self.spawner.get()) {
            log::warn!("switchboard registry unavailable: notice dropped");
        }
    }

    /// A cookie for `admit` to create a switchboard (`XFR SB`).
    pub async fn grant(&self, admit: Admit) -> Result<String, GrantRefused> {
        self.grant_for(admit, COOKIE_TTL).await
    }

    /// As `grant`, valid for `ttl`.
    pub async fn grant_for(&self, admit: Admit, ttl: Duration) -> Result<String, GrantRefused> {
        self.ask(|reply| Request::Grant { admit, ttl, reply })
            .await
            .unwrap_or(Err(GrantRefused::Gone))
    }

    /// `USR handle cookie`: creates a switchboard with the cookie's holder in it.
    pub async fn open(
        &self,
        cookie: &str,
        handle: &str,
        outbox: Arc<Outbox>,
        conn: u64,
    ) -> Option<Opened> {
        self.open_at(cookie, handle, outbox, (conn, None)).await
    }

    /// As `open`, for an MSNP16+ endpoint that named its machine GUID (`USR trid email;{guid}`).
    pub async fn open_at(
        &self,
        cookie: &str,
        handle: &str,
        outbox: Arc<Outbox>,
        (conn, endpoint): (u64, Option<MachineGuid>),
    ) -> Option<Opened> {
        self.ask(|reply| Request::Open {
            cookie: cookie.to_owned(),
            handle: handle.to_owned(),
            outbox,
            conn,
            endpoint,
            reply,
        })
        .await
        .flatten()
    }

    /// `ANS handle cookie sessid`: the mailbox of the switchboard the cookie invites to.
    pub async fn answer(&self, cookie: &str, handle: &str, sb: u32) -> Option<SbTx> {
        self.ask(|reply| Request::Answer {
            cookie: cookie.to_owned(),
            handle: handle.to_owned(),
            sb,
            reply,
        })
        .await
        .flatten()
    }

    /// Live switchboards, as of the registry's last request.
    pub fn count(&self) -> usize {
        self.counters.switchboards.load(Ordering::Relaxed)
    }

    /// Unused cookies, all users together, as of the registry's last request.
    pub fn cookie_count(&self) -> usize {
        self.counters.cookies.load(Ordering::Relaxed)
    }

    /// Drops expired cookies (housekeeping). Does not wait.
    pub fn expire(&self) {
        self.notify(Request::Expire);
    }

    /// A user changed their friendly name: later MSG lines from them carry the new one. Names
    /// change rarely, and each change is a committed write that its REA/PRP reply waits for, so
    /// one client cannot run this faster than the database syncs; telling every switchboard, as
    /// `sign_out` does, keeps the relay free of lookups. Does not wait.
    pub fn rename(&self, user: UserId, encoded: &str) {
        self.notify(Request::Rename {
            user,
            name: encoded.to_owned(),
        });
    }

    /// The user's notification session ended: closes their switchboard connections, burns their
    /// cookies (a session replaced by a newer login, `OUT OTH`, must not enter a switchboard with
    /// a cookie it was given before) and voids their invitations. Does not wait.
    pub fn sign_out(&self, user: UserId) {
        self.notify(Request::SignOut { user });
    }
}

struct Registry {
    cookies: Cookies,
    sessions: HashMap<u32, SbTx>,
    /// Its own mailbox, for the switchboards it starts.
    tx: Sender<Request>,
    spawner: Spawner,
    ringer: Arc<dyn Ringer>,
    counters: Arc<Counters>,
}

impl Registry {
    async fn run(mut self, rx: Receiver<Request>) {
        while let Some(req) = rx.recv().await {
            // Published before too: whoever gets an answer sees at least what came before their
            // request (a switchboard's `Closed`, say).
            self.publish();
            self.handle(req);
            self.publish();
        }
    }

    fn publish(&self) {
        self.counters
            .switchboards
            .store(self.sessions.len(), Ordering::Relaxed);
        self.counters
            .cookies
            .store(self.cookies.len(), Ordering::Relaxed);
    }

    /// Tells every switchboard something; never waits on one (see the module doc).
    fn broadcast(&self, make: impl Fn() -> Command) {
        for tx in self.sessions.values() {
            post(tx, make(), Some(&self.spawner));
        }
    }

    fn handle(&mut self, req: Request) {
        // Replies go into one-slot channels made for them: they never block.
        match req {
            Request::Grant { admit, ttl, reply } => {
                let handle = admit.handle.clone();
                let _ = reply.try_send(self.cookies.grant(&handle, Entry::Create(admit), ttl));
            }
            Request::Open {
                cookie,
                handle,
                outbox,
                conn,
                endpoint,
                reply,
            } => {
                let opened = match self.cookies.redeem(&cookie, &handle) {
                    Some(Grant {
                        entry: Entry::Create(admit),
                        ..
                    }) => Some(self.create(admit, outbox, (conn, endpoint))),
                    _ => None,
                };
                let _ = reply.try_send(opened);
            }
            Request::Answer {
                cookie,
                handle,
                sb,
                reply,
            } => {
                let tx = match self.cookies.redeem(&cookie, &handle) {
                    Some(Grant {
                        entry: Entry::Join(id),
                        ..
                    }) if id == sb => self.sessions.get(&id).cloned(),
                    _ => None,
                };
                let _ = reply.try_send(tx);
            }
            Request::Invite { handle, sb, reply } => {
                let _ = reply.try_send(self.cookies.grant(&handle, Entry::Join(sb), COOKIE_TTL));
            }
            Request::Revoke { cookie } => {
                self.cookies.forget(&cookie);
            }
            Request::Closed { id } => {
                self.sessions.remove(&id);
            }
            Request::SignOut { user } => {
                self.cookies.sign_out(user);
                self.broadcast(|| Command::SignOut { user });
            }
            Request::Rename { user, name } => {
                self.cookies.rename(user, &name);
                self.broadcast(|| Command::Rename {
                    user,
                    name: name.clone(),
                });
            }
            Request::Expire => self.cookies.expire(Instant::now()),
        }
    }

    /// Starts a switchboard actor with its creator in it.
    fn create(
        &mut self,
        admit: Admit,
        outbox: Arc<Outbox>,
        (conn, endpoint): (u64, Option<MachineGuid>),
    ) -> Opened {
        let id = loop {
            let id = (crate::auth::random_u64() % 99_999_999 + 1) as u32;
            if !self.sessions.contains_key(&id) {
                break id;
            }
        };
        let (tx, rx) = mailbox::bounded(SB_MAILBOX);
        self.sessions.insert(id, tx.clone());
        let actor = switchboard::Switchboard::new(
            id,
            switchboard::Participant::new(admit.clone(), outbox, conn).at(endpoint),
            self.tx.clone(),
            self.spawner.clone(),
            self.ringer.clone(),
        );
        let registry = self.tx.clone();
        let spawner = self.spawner.clone();
        // A bug in one switchboard must not take the worker thread (and every session on it)
        // down: the session ends, its participants are disconnected, its id is forgotten.
        let guarded = async move {
            if AssertUnwindSafe(actor.run(rx))
                .catch_unwind()
                .await
                .is_err()
            {
                log::error!("switchboard {id}: actor panicked; session dropped");
                post(&registry, Request::Closed { id }, Some(&spawner));
            }
        };
        self.spawner.spawn(guarded).detach();
        Opened { id, tx, admit }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn admit(user: UserId, handle: &str) -> Admit {
        Admit {
            user,
            handle: handle.into(),
            name: handle.into(),
            caps: 0,
            dialect: crate::dialect::Dialect::get(7).expect("MSNP7"),
        }
    }

    fn create(
        c: &mut Cookies,
        user: UserId,
        handle: &str,
        ttl: Duration,
    ) -> Result<String, GrantRefused> {
        c.grant(handle, Entry::Create(admit(user, handle)), ttl)
    }

    #[test]
    fn cookies_are_single_use_and_bound() {
        let mut s = Cookies::default();
        let c = create(&mut s, 1, "a@x.com", COOKIE_TTL).unwrap();
        assert!(s.redeem(&c, "b@x.com").is_none());
        assert!(s.redeem(&c, "a@x.com").is_none());
        let c = s.grant("a@x.com", Entry::Join(7), COOKIE_TTL).unwrap();
        assert!(matches!(
            s.redeem(&c, "a@x.com").unwrap().entry,
            Entry::Join(7)
        ));
        assert!(s.redeem(&c, "a@x.com").is_none());
    }

    #[test]
    fn expired_cookies_are_refused() {
        let mut s = Cookies::default();
        let c = create(&mut s, 1, "a@x.com", Duration::from_millis(30)).unwrap();
        std::thread::sleep(Duration::from_millis(40));
        assert!(s.redeem(&c, "a@x.com").is_none());
    }

    #[test]
    fn sign_out_frees_the_cookies_it_burns() {
        let mut s = Cookies::default();
        for _ in 0..MAX_COOKIES_PER_USER {
            create(&mut s, 1, "a@x.com", COOKIE_TTL).unwrap();
        }
        assert_eq!(
            create(&mut s, 1, "a@x.com", COOKIE_TTL),
            Err(GrantRefused::UserCap)
        );
        s.sign_out(1);
        assert_eq!(s.len(), 0);
        assert!(
            create(&mut s, 1, "a@x.com", COOKIE_TTL).is_ok(),
            "cap counts afresh"
        );
    }

    #[test]
    fn per_user_cap_frees_on_use_and_expiry() {
        let mut s = Cookies::default();
        let short = Duration::from_millis(30);
        let mut cookies: Vec<String> = (0..MAX_COOKIES_PER_USER)
            .map(|i| {
                let ttl = if i == 0 { short } else { COOKIE_TTL };
                create(&mut s, 1, "a@x.com", ttl).unwrap()
            })
            .collect();
        assert_eq!(
            create(&mut s, 1, "a@x.com", COOKIE_TTL),
            Err(GrantRefused::UserCap)
        );
        assert!(
            create(&mut s, 2, "b@x.com", COOKIE_TTL).is_ok(),
            "other users unaffected"
        );
        assert!(
            s.grant("a@x.com", Entry::Join(5), COOKIE_TTL).is_ok(),
            "RNG cookies are not counted"
        );
        // The short-lived one expires (queued ahead of the others despite being issued first
        // among equals), which frees a slot.
        std::thread::sleep(Duration::from_millis(40));
        let fresh = create(&mut s, 1, "a@x.com", COOKIE_TTL).expect("expired cookie freed a slot");
        assert_eq!(
            create(&mut s, 1, "a@x.com", COOKIE_TTL),
            Err(GrantRefused::UserCap)
        );
        // Using one frees a slot too.
        assert!(s.redeem(&cookies.pop().unwrap(), "a@x.com").is_some());
        assert!(create(&mut s, 1, "a@x.com", COOKIE_TTL).is_ok());
        assert!(s.redeem(&fresh, "a@x.com").is_some());
        assert_eq!(s.len(), MAX_COOKIES_PER_USER as usize + 1);
    }
}
