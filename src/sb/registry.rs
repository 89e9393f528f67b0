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
    COOKIE_TTL, MAX_COOKIES, MAX_COOKIES_PER_USER, MAX_RING_COOKIES_PER_USER, SB_MAILBOX,
    SB_REGISTRY_MAILBOX,
};
use crate::model::{MachineGuid, UserId};
use crate::server::mailbox::{self, Spawner, post};
use crate::server::mailbox::{Receiver, Sender};
use crate::server::outbox::Outbox;
/// A one-slot reply channel (requests that need an answer are rare: not on the relay path).
use smol::future::FutureExt;
use std::collections::{HashMap, HashSet, VecDeque};
use std::net::SocketAddr;
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
    /// Whose cap it counts against: the `XFR SB` user, or the `CAL`'s caller (ringing costs the
    /// callee nothing, so it must not use up the callee's share, nor escape everyone's).
    issuer: UserId,
    expires: Instant,
}

/// The unused cookies one user caused, counted per kind against the caps.
#[derive(Default)]
struct Issued {
    /// `XFR SB` cookies (`MAX_COOKIES_PER_USER`).
    creates: u32,
    /// `RNG` cookies this user's `CAL`s caused (`MAX_RING_COOKIES_PER_USER`).
    rings: u32,
    /// Those cookies, so that a rename visits only them.
    cookies: HashSet<String>,
}

/// The registry's cookie table. Owned by the registry actor; plain data so it can be tested
/// without one. Indexed by issuer and by holder, so that no request (a rename, a sign-out)
/// walks other users' cookies.
#[derive(Default)]
pub(super) struct Cookies {
    cookies: HashMap<String, Grant>,
    /// (deadline, cookie), earliest first. Entries of cookies already redeemed stay until they
    /// reach the front (or a compaction), and are skipped then.
    deadlines: VecDeque<(Instant, String)>,
    /// Unused cookies per user who caused them.
    issued: HashMap<UserId, Issued>,
    /// Unused cookies per handle they are bound to (the `XFR SB` user's own, a callee's rings).
    held: HashMap<String, HashSet<String>>,
}

impl Cookies {
    fn forget(&mut self, cookie: &str) -> Option<Grant> {
        let g = self.cookies.remove(cookie)?;
        if let Some(i) = self.issued.get_mut(&g.issuer) {
            i.cookies.remove(cookie);
            match g.entry {
                Entry::Create(_) => i.creates -= 1,
                Entry::Join(_) => i.rings -= 1,
            }
            if i.cookies.is_empty() {
                self.issued.remove(&g.issuer);
            }
        }
        if let Some(held) = self.held.get_mut(&g.handle) {
            held.remove(cookie);
            if held.is_empty() {
                self.held.remove(&g.handle);
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

    /// A cookie bound to `handle`, counted against `issuer`: `XFR SB` cookies against
    /// `MAX_COOKIES_PER_USER`, `RNG` cookies against `MAX_RING_COOKIES_PER_USER`.
    pub(super) fn grant(
        &mut self,
        issuer: UserId,
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
        let issued = self.issued.entry(issuer).or_default();
        let (count, cap, refused) = match entry {
            Entry::Create(_) => (
                &mut issued.creates,
                MAX_COOKIES_PER_USER,
                GrantRefused::UserCap,
            ),
            Entry::Join(_) => (
                &mut issued.rings,
                MAX_RING_COOKIES_PER_USER,
                GrantRefused::RingCap,
            ),
        };
        if *count >= cap {
            if issued.cookies.is_empty() {
                self.issued.remove(&issuer);
            }
            return Err(refused);
        }
        *count += 1;
        let cookie = format!(
            "{}.{}",
            crate::auth::token(20),
            crate::auth::random_u64() % 1_000_000
        );
        issued.cookies.insert(cookie.clone());
        self.held
            .entry(handle.to_owned())
            .or_default()
            .insert(cookie.clone());
        let grant = Grant {
            handle: handle.to_owned(),
            entry,
            issuer,
            expires,
        };
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

    /// Burns every cookie bound to the user's `handle`: their `XFR SB` cookies (which frees
    /// their cap) and the `RNG` cookies that ring them (which frees their callers' caps; the
    /// invitations are void anyway, the switchboards drop them on the same sign-out). Left alone:
    /// the rings this user caused, which still admit their callees to the conversations, and
    /// count against this user until answered or expired (logging in again does not reset
    /// them). O(the user's cookies).
    pub(super) fn sign_out(&mut self, handle: &str) {
        for cookie in self.held.remove(handle).unwrap_or_default() {
            self.forget(&cookie);
        }
    }

    /// A switchboard opened with one of the user's cookies shows their current name. Visits
    /// only the cookies the user caused (at most both caps); returns how many, for the tests.
    fn rename(&mut self, user: UserId, encoded: &str) -> usize {
        let Some(issued) = self.issued.get(&user) else {
            return 0;
        };
        for cookie in &issued.cookies {
            if let Some(Grant {
                entry: Entry::Create(a),
                ..
            }) = self.cookies.get_mut(cookie)
            {
                a.name.clear();
                a.name.push_str(encoded);
            }
        }
        issued.cookies.len()
    }

    pub(super) fn len(&self) -> usize {
        self.cookies.len()
    }
}

/// The live switchboards, and which users are in each (participants and invitees not yet
/// answered), indexed both ways so that telling one user's switchboards something (a rename, a
/// sign-out) costs O(their switchboards), not O(every switchboard on the server).
#[derive(Default)]
pub(super) struct Live {
    sessions: HashMap<u32, SbTx>,
    /// Switchboard ids per user in them.
    by_user: HashMap<UserId, HashSet<u32>>,
    /// Users per switchboard, to unindex them when it closes (at most the participant cap
    /// plus its open invitations).
    members: HashMap<u32, Vec<UserId>>,
}

impl Live {
    fn open(&mut self, id: u32, tx: SbTx, creator: UserId) {
        self.sessions.insert(id, tx);
        self.member(id, creator, true);
    }

    fn close(&mut self, id: u32) {
        self.sessions.remove(&id);
        for user in self.members.remove(&id).unwrap_or_default() {
            self.unindex(user, id);
        }
    }

    fn unindex(&mut self, user: UserId, id: u32) {
        if let Some(ids) = self.by_user.get_mut(&user) {
            ids.remove(&id);
            if ids.is_empty() {
                self.by_user.remove(&user);
            }
        }
    }

    /// Records that `user` entered or left switchboard `id`. A notice that arrives after the
    /// switchboard closed (posts may overtake each other) is ignored.
    fn member(&mut self, id: u32, user: UserId, present: bool) {
        if !self.sessions.contains_key(&id) {
            return;
        }
        let members = self.members.entry(id).or_default();
        let known = members.iter().position(|u| *u == user);
        match (present, known) {
            (true, None) => {
                members.push(user);
                self.by_user.entry(user).or_default().insert(id);
            }
            (false, Some(i)) => {
                members.swap_remove(i);
                self.unindex(user, id);
            }
            _ => {}
        }
    }

    /// Posts `make()` to each switchboard `user` is in; never waits on one (see the module
    /// doc). Returns how many posts were made, for the tests.
    fn tell(&self, user: UserId, spawner: Option<&Spawner>, make: impl Fn() -> Command) -> usize {
        let Some(ids) = self.by_user.get(&user) else {
            return 0;
        };
        let mut posts = 0;
        for tx in ids.iter().filter_map(|id| self.sessions.get(id)) {
            post(tx, make(), spawner);
            posts += 1;
        }
        posts
    }

    fn get(&self, id: u32) -> Option<&SbTx> {
        self.sessions.get(&id)
    }

    fn len(&self) -> usize {
        self.sessions.len()
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
            live: Live::default(),
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

    /// `USR handle cookie`: creates a switchboard with the cookie's holder in it. The opener's
    /// address is unknown here (tests): its log lines share the limit of address 0.0.0.0.
    pub async fn open(
        &self,
        cookie: &str,
        handle: &str,
        outbox: Arc<Outbox>,
        conn: u64,
    ) -> Option<Opened> {
        let nowhere = SocketAddr::from(([0, 0, 0, 0], 0));
        self.open_at(cookie, handle, outbox, (conn, None), nowhere)
            .await
    }

    /// As `open`, for an MSNP16+ endpoint that named its machine GUID (`USR trid email;{guid}`),
    /// from `peer` (whose address limits the switchboard's opened/ended log lines).
    pub async fn open_at(
        &self,
        cookie: &str,
        handle: &str,
        outbox: Arc<Outbox>,
        (conn, endpoint): (u64, Option<MachineGuid>),
        peer: SocketAddr,
    ) -> Option<Opened> {
        self.ask(|reply| Request::Open {
            cookie: cookie.to_owned(),
            handle: handle.to_owned(),
            outbox,
            conn,
            endpoint,
            peer,
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

    /// A user changed their friendly name: later MSG lines from them carry the new one. Only the
    /// switchboards the user is in (or rung into) hear of it, found through the registry's
    /// index, which keeps the relay free of lookups and a `REA` loop from posting to every
    /// switchboard on the server. Does not wait.
    pub fn rename(&self, user: UserId, encoded: &str) {
        self.notify(Request::Rename {
            user,
            name: encoded.to_owned(),
        });
    }

    /// The user's notification session ended: closes their switchboard connections, burns the
    /// cookies bound to their `handle` (a session replaced by a newer login, `OUT OTH`, must not
    /// enter a switchboard with a cookie it was given before, and rings it did not answer must not
    /// hold slots of the cookie table) and voids their invitations. Does not wait.
    pub fn sign_out(&self, user: UserId, handle: &str) {
        self.notify(Request::SignOut {
            user,
            handle: handle.to_owned(),
        });
    }
}

struct Registry {
    cookies: Cookies,
    live: Live,
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
            .store(self.live.len(), Ordering::Relaxed);
        self.counters
            .cookies
            .store(self.cookies.len(), Ordering::Relaxed);
    }

    fn handle(&mut self, req: Request) {
        // Replies go into one-slot channels made for them: they never block.
        match req {
            Request::Grant { admit, ttl, reply } => {
                let (user, handle) = (admit.user, admit.handle.clone());
                let granted = self.cookies.grant(user, &handle, Entry::Create(admit), ttl);
                let _ = reply.try_send(granted);
            }
            Request::Open {
                cookie,
                handle,
                outbox,
                conn,
                endpoint,
                peer,
                reply,
            } => {
                let opened = match self.cookies.redeem(&cookie, &handle) {
                    Some(Grant {
                        entry: Entry::Create(admit),
                        ..
                    }) => Some(self.create(admit, outbox, (conn, endpoint), peer)),
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
                    }) if id == sb => self.live.get(id).cloned(),
                    _ => None,
                };
                let _ = reply.try_send(tx);
            }
            Request::Invite {
                caller,
                handle,
                sb,
                reply,
            } => {
                let granted = self
                    .cookies
                    .grant(caller, &handle, Entry::Join(sb), COOKIE_TTL);
                let _ = reply.try_send(granted);
            }
            Request::Revoke { cookie } => {
                self.cookies.forget(&cookie);
            }
            Request::Closed { id } => self.live.close(id),
            Request::Member { sb, user, present } => self.live.member(sb, user, present),
            Request::SignOut { user, handle } => {
                self.cookies.sign_out(&handle);
                self.live
                    .tell(user, Some(&self.spawner), || Command::SignOut { user });
            }
            Request::Rename { user, name } => {
                let _visited = self.cookies.rename(user, &name);
                self.live
                    .tell(user, Some(&self.spawner), || Command::Rename {
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
        peer: SocketAddr,
    ) -> Opened {
        let id = loop {
            let id = (crate::auth::random_u64() % 99_999_999 + 1) as u32;
            if self.live.get(id).is_none() {
                break id;
            }
        };
        let (tx, rx) = mailbox::bounded(SB_MAILBOX);
        self.live.open(id, tx.clone(), admit.user);
        let actor = switchboard::Switchboard::new(
            id,
            switchboard::Participant::new(admit.clone(), outbox, conn).at(endpoint),
            peer,
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
        c.grant(user, handle, Entry::Create(admit(user, handle)), ttl)
    }

    /// `caller` rings `callee` into switchboard `sb`.
    fn ring(
        c: &mut Cookies,
        caller: UserId,
        callee: &str,
        sb: u32,
    ) -> Result<String, GrantRefused> {
        c.grant(caller, callee, Entry::Join(sb), COOKIE_TTL)
    }

    #[test]
    fn cookies_are_single_use_and_bound() {
        let mut s = Cookies::default();
        let c = create(&mut s, 1, "a@x.com", COOKIE_TTL).unwrap();
        assert!(s.redeem(&c, "b@x.com").is_none());
        assert!(s.redeem(&c, "a@x.com").is_none());
        let c = ring(&mut s, 2, "a@x.com", 7).unwrap();
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
        s.sign_out("a@x.com");
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
            ring(&mut s, 1, "b@x.com", 5).is_ok(),
            "RNG cookies have a cap of their own"
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

    /// Issue 21 item 1, at full size: one account rings another from many switchboards, the
    /// other signs out and in again (which voids the invitations, so the rings can be repeated),
    /// until the table would hold `MAX_COOKIES`. The caller's rings are capped, the callee's die
    /// with its session, so the table stays small and a third user is served.
    #[test]
    fn two_accounts_cannot_fill_the_table() {
        let mut s = Cookies::default();
        let (caller, callee) = (1, "b@x.com");
        let mut refused = 0;
        for round in 0..MAX_COOKIES as u32 / 250 {
            for sb in 0..250 {
                if ring(&mut s, caller, callee, round * 250 + sb).is_err() {
                    refused += 1;
                }
            }
            s.sign_out(callee);
        }
        assert!(refused > 0, "the caller hit its cap");
        assert_eq!(s.len(), 0, "nothing outlives the callee's sessions");
        for sb in 0..2 * MAX_RING_COOKIES_PER_USER {
            let _ = ring(&mut s, caller, callee, sb);
        }
        assert_eq!(s.len(), MAX_RING_COOKIES_PER_USER as usize);
        assert_eq!(
            ring(&mut s, caller, "c@x.com", 1),
            Err(GrantRefused::RingCap)
        );
        assert!(create(&mut s, 3, "c@x.com", COOKIE_TTL).is_ok());
        assert!(
            ring(&mut s, 3, callee, 9).is_ok(),
            "a third user still rings"
        );
        // The caller's own sign-out leaves its rings (they still admit their callees).
        s.sign_out("a@x.com");
        assert_eq!(
            ring(&mut s, caller, "c@x.com", 1),
            Err(GrantRefused::RingCap)
        );
    }

    /// The "Also" line of issue 21: a rename visits the renamer's cookies only, however many
    /// others hold (it used to walk the whole table).
    #[test]
    fn a_rename_visits_only_the_renamers_cookies() {
        let mut s = Cookies::default();
        for user in 10..3_010 {
            let handle = format!("u{user}@x.com");
            create(&mut s, user, &handle, COOKIE_TTL).unwrap();
            ring(&mut s, user, "a@x.com", user as u32).unwrap();
        }
        let mine = [
            create(&mut s, 1, "a@x.com", COOKIE_TTL).unwrap(),
            create(&mut s, 1, "a@x.com", COOKIE_TTL).unwrap(),
        ];
        ring(&mut s, 1, "z@x.com", 5).unwrap();
        assert_eq!(s.len(), 6_003);
        assert_eq!(
            s.rename(1, "New%20name"),
            3,
            "its two XFR cookies and one ring"
        );
        assert_eq!(s.rename(2, "Nobody"), 0);
        for c in mine {
            match s.redeem(&c, "a@x.com").map(|g| g.entry) {
                Some(Entry::Create(a)) => assert_eq!(a.name, "New%20name"),
                other => panic!("{other:?}"),
            }
        }
        assert!(s.issued.get(&1).is_some_and(|i| i.cookies.len() == 1));
    }

    /// Review of issue 21's fix: a rename or sign-out posts to the user's switchboards only.
    /// With 1,000 live switchboards, one of them the renamer's, a rename costs one post; after
    /// the renamer leaves it, none; a closed switchboard forgets its members.
    #[test]
    fn a_rename_posts_only_to_the_renamers_switchboards() {
        let mut live = Live::default();
        let mut inboxes = Vec::new();
        for id in 1..=1_000u32 {
            let (tx, rx) = mailbox::bounded(4);
            live.open(id, tx, 100 + id as UserId);
            inboxes.push(rx);
        }
        let renamer: UserId = 7;
        live.member(500, renamer, true);
        let rename = || Command::Rename {
            user: renamer,
            name: "New%20name".into(),
        };
        assert_eq!(live.tell(renamer, None, rename), 1);
        let got: Vec<usize> = (0..inboxes.len())
            .filter(|&i| inboxes[i].try_recv().is_some())
            .collect();
        assert_eq!(got, [499], "only switchboard 500 heard");
        assert_eq!(
            live.tell(renamer, None, || Command::SignOut { user: renamer }),
            1
        );
        assert!(inboxes[499].try_recv().is_some());
        live.member(500, renamer, false);
        assert_eq!(live.tell(renamer, None, rename), 0);
        // A creator is indexed from the start and forgotten when its switchboard closes; a
        // notice arriving after the close does not bring it back.
        assert_eq!(live.tell(101, None, || Command::SignOut { user: 101 }), 1);
        live.close(1);
        live.member(1, 101, true);
        assert_eq!(live.tell(101, None, || Command::SignOut { user: 101 }), 0);
        assert!(!live.by_user.contains_key(&101) && !live.members.contains_key(&1));
        assert_eq!(live.len(), 999);
    }
}
