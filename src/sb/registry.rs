//! Switchboard sessions and the cookies that admit users to them.
//!
//! A cookie is random, single use, bound to the user it was issued to, and expires after
//! `COOKIE_TTL`. `XFR SB` cookies create a new session; `RNG` cookies join one named session.
//!
//! Unused cookies are capped per user (`XFR SB`) and in total, and expire through a queue in
//! deadline order: every grant pops what has run out from its front, so no operation under the
//! shared lock scans the table.

use crate::dialect::Dialect;
use crate::limits::{COOKIE_TTL, MAX_COOKIES, MAX_COOKIES_PER_USER};
use crate::model::UserId;
use crate::server::outbox::Outbox;
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

#[derive(Clone, Debug)]
pub struct Grant {
    pub user: UserId,
    pub handle: String,
    /// `None`: create a session (XFR SB). `Some(id)`: join session `id` (RNG).
    pub join: Option<u32>,
    expires: Instant,
}

impl Grant {
    /// `XFR SB` cookies count against their user's cap; `RNG` cookies are caused by the caller,
    /// so they must not use up the invitee's.
    fn counted(&self) -> bool {
        self.join.is_none()
    }
}

/// Why a cookie was not issued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GrantRefused {
    /// The user holds `MAX_COOKIES_PER_USER` unused `XFR SB` cookies.
    UserCap,
    /// `MAX_COOKIES` unused cookies exist.
    Full,
}

/// Someone in a switchboard session.
pub struct Participant {
    pub user: UserId,
    pub handle: String,
    /// URL-encoded current friendly name, ready to copy into MSG/JOI/IRO lines: set at join,
    /// replaced by `Switchboards::rename` when the user changes it, so the relay reads it
    /// without looking anything up.
    pub name: String,
    pub caps: u32,
    pub dialect: &'static Dialect,
    pub outbox: Arc<Outbox>,
    /// Identifies the connection (one user may be in a session once).
    pub conn: u64,
}

#[derive(Default)]
pub struct SbState {
    pub participants: Vec<Participant>,
    /// Users invited (RNG sent) who have not answered yet, until their RNG cookie expires.
    pub invited: Vec<(UserId, Instant)>,
}

pub struct Switchboard {
    pub id: u32,
    state: Mutex<SbState>,
}

impl SbState {
    /// Whether `user` has an unexpired invitation they have not answered.
    pub fn is_invited(&self, user: UserId) -> bool {
        let now = Instant::now();
        self.invited
            .iter()
            .any(|(u, until)| *u == user && *until > now)
    }

    /// Records an invitation, valid as long as the RNG cookie.
    pub fn invite(&mut self, user: UserId) {
        self.invited.retain(|(u, _)| *u != user);
        self.invited.push((user, Instant::now() + COOKIE_TTL));
    }
}

impl Switchboard {
    pub fn state(&self) -> MutexGuard<'_, SbState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[derive(Default)]
struct Inner {
    sessions: HashMap<u32, Arc<Switchboard>>,
    cookies: HashMap<String, Grant>,
    /// (deadline, cookie), earliest first. Entries of cookies already redeemed stay until they
    /// reach the front (or a compaction), and are skipped then.
    deadlines: VecDeque<(Instant, String)>,
    /// Unused `XFR SB` cookies per user.
    outstanding: HashMap<UserId, u32>,
}

impl Inner {
    fn forget(&mut self, cookie: &str) -> Option<Grant> {
        let g = self.cookies.remove(cookie)?;
        if g.counted()
            && let Some(n) = self.outstanding.get_mut(&g.user)
        {
            *n -= 1;
            if *n == 0 {
                self.outstanding.remove(&g.user);
            }
        }
        Some(g)
    }

    /// Drops the cookies whose deadline has passed: amortised O(1) per cookie issued.
    fn expire(&mut self, now: Instant) {
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
}

#[derive(Default)]
pub struct Switchboards {
    inner: Mutex<Inner>,
}

impl Switchboards {
    pub fn new() -> Switchboards {
        Switchboards::default()
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn grant(
        &self,
        user: UserId,
        handle: &str,
        join: Option<u32>,
    ) -> Result<String, GrantRefused> {
        self.grant_for(user, handle, join, COOKIE_TTL)
    }

    /// As `grant`, valid for `ttl`.
    pub fn grant_for(
        &self,
        user: UserId,
        handle: &str,
        join: Option<u32>,
        ttl: std::time::Duration,
    ) -> Result<String, GrantRefused> {
        let cookie = format!(
            "{}.{}",
            crate::auth::token(20),
            crate::auth::random_u64() % 1_000_000
        );
        let now = Instant::now();
        let expires = now + ttl;
        let mut inner = self.lock();
        inner.expire(now);
        if inner.cookies.len() >= MAX_COOKIES {
            return Err(GrantRefused::Full);
        }
        let grant = Grant {
            user,
            handle: handle.to_owned(),
            join,
            expires,
        };
        if grant.counted() {
            let n = inner.outstanding.entry(user).or_insert(0);
            if *n >= MAX_COOKIES_PER_USER {
                return Err(GrantRefused::UserCap);
            }
            *n += 1;
        }
        inner.cookies.insert(cookie.clone(), grant);
        // Every cookie lives COOKIE_TTL, so it goes at the back; a shorter one (tests) is put
        // in its place to keep the queue in deadline order.
        if inner.deadlines.back().is_none_or(|(at, _)| *at <= expires) {
            inner.deadlines.push_back((expires, cookie.clone()));
        } else {
            let i = inner.deadlines.partition_point(|(at, _)| *at <= expires);
            inner.deadlines.insert(i, (expires, cookie.clone()));
        }
        Ok(cookie)
    }

    /// Consumes a cookie. It must be unexpired and presented by the user it was issued to; a
    /// cookie presented by anyone else is burnt all the same.
    pub fn redeem(&self, cookie: &str, handle: &str) -> Option<Grant> {
        let g = self.lock().forget(cookie)?;
        (g.handle == handle && Instant::now() < g.expires).then_some(g)
    }

    pub fn create(&self) -> Arc<Switchboard> {
        let mut inner = self.lock();
        loop {
            let id = (crate::auth::random_u64() % 99_999_999 + 1) as u32;
            if let std::collections::hash_map::Entry::Vacant(e) = inner.sessions.entry(id) {
                let sb = Arc::new(Switchboard {
                    id,
                    state: Mutex::new(SbState::default()),
                });
                e.insert(sb.clone());
                return sb;
            }
        }
    }

    pub fn get(&self, id: u32) -> Option<Arc<Switchboard>> {
        self.lock().sessions.get(&id).cloned()
    }

    /// Forgets a session once its last participant left.
    pub fn remove_if_empty(&self, sb: &Switchboard) {
        let mut inner = self.lock();
        if sb.state().participants.is_empty() {
            inner.sessions.remove(&sb.id);
        }
    }

    pub fn count(&self) -> usize {
        self.lock().sessions.len()
    }

    pub fn expire(&self) {
        self.lock().expire(Instant::now());
    }

    /// Unused cookies, all users together.
    pub fn cookie_count(&self) -> usize {
        self.lock().cookies.len()
    }

    /// A user changed their friendly name: later MSG lines from them carry the new one. Names
    /// change rarely, and each change is a committed write that its REA/PRP reply waits for, so
    /// one client cannot run this faster than the database syncs; walking every session here, as
    /// `sign_out` does, keeps the relay free of lookups. (Pacing only delays the announcement.)
    pub fn rename(&self, user: UserId, encoded: &str) {
        let sessions: Vec<Arc<Switchboard>> = self.lock().sessions.values().cloned().collect();
        for sb in sessions {
            let mut st = sb.state();
            for p in st.participants.iter_mut().filter(|p| p.user == user) {
                p.name.clear();
                p.name.push_str(encoded);
            }
        }
    }

    /// Closes a user's switchboard connections when their notification session ends.
    /// Also burns the cookies issued to them: a session replaced by a newer login (`OUT OTH`)
    /// must not enter a switchboard with a cookie it was given before.
    pub fn sign_out(&self, user: UserId) {
        let sessions: Vec<Arc<Switchboard>> = {
            let mut inner = self.lock();
            inner.cookies.retain(|_, g| g.user != user);
            // Those were all of the user's counted cookies: their cap starts afresh.
            inner.outstanding.remove(&user);
            inner.sessions.values().cloned().collect()
        };
        for sb in sessions {
            let mut st = sb.state();
            // An invitation they did not answer in this login is void.
            st.invited.retain(|(u, _)| *u != user);
            for p in st.participants.iter().filter(|p| p.user == user) {
                p.outbox.close();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_single_use_and_bound() {
        let s = Switchboards::new();
        let c = s.grant(1, "a@x.com", None).unwrap();
        assert!(s.redeem(&c, "b@x.com").is_none());
        assert!(s.redeem(&c, "a@x.com").is_none());
        let c = s.grant(1, "a@x.com", Some(7)).unwrap();
        assert_eq!(s.redeem(&c, "a@x.com").unwrap().join, Some(7));
        assert!(s.redeem(&c, "a@x.com").is_none());
    }

    #[test]
    fn expired_cookies_are_refused() {
        let s = Switchboards::new();
        let c = s
            .grant_for(1, "a@x.com", None, std::time::Duration::from_millis(30))
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(40));
        assert!(s.redeem(&c, "a@x.com").is_none());
    }

    #[test]
    fn sign_out_frees_the_cookies_it_burns() {
        let s = Switchboards::new();
        for _ in 0..MAX_COOKIES_PER_USER {
            s.grant(1, "a@x.com", None).unwrap();
        }
        assert_eq!(s.grant(1, "a@x.com", None), Err(GrantRefused::UserCap));
        s.sign_out(1);
        assert_eq!(s.cookie_count(), 0);
        assert!(s.grant(1, "a@x.com", None).is_ok(), "cap counts afresh");
    }

    #[test]
    fn per_user_cap_frees_on_use_and_expiry() {
        use std::time::Duration;
        let s = Switchboards::new();
        let short = Duration::from_millis(30);
        let mut cookies: Vec<String> = (0..MAX_COOKIES_PER_USER)
            .map(|i| {
                let ttl = if i == 0 { short } else { COOKIE_TTL };
                s.grant_for(1, "a@x.com", None, ttl).unwrap()
            })
            .collect();
        assert_eq!(s.grant(1, "a@x.com", None), Err(GrantRefused::UserCap));
        assert!(
            s.grant(2, "b@x.com", None).is_ok(),
            "other users unaffected"
        );
        assert!(
            s.grant(1, "a@x.com", Some(5)).is_ok(),
            "RNG cookies are not counted"
        );
        // The short-lived one expires (queued ahead of the others despite being issued first
        // among equals), which frees a slot.
        std::thread::sleep(Duration::from_millis(40));
        let fresh = s
            .grant(1, "a@x.com", None)
            .expect("expired cookie freed a slot");
        assert_eq!(s.grant(1, "a@x.com", None), Err(GrantRefused::UserCap));
        // Using one frees a slot too.
        assert!(s.redeem(&cookies.pop().unwrap(), "a@x.com").is_some());
        assert!(s.grant(1, "a@x.com", None).is_ok());
        assert!(s.redeem(&fresh, "a@x.com").is_some());
        assert_eq!(s.cookie_count(), MAX_COOKIES_PER_USER as usize + 1);
    }
}
