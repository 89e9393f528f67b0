//! The logins actor: owns the login throttle (`throttle.rs`) and the Tweener tickets
//! (`tickets.rs`). The notification role asks it whether a login may be checked and tells it how
//! the check went, and redeems tickets; the HTTP role lets password checks start through it and
//! issues tickets. Nothing of it is behind a lock: one task owns both tables and applies every
//! request in the order it arrived, so a ticket issued before the HTTP reply went out is always
//! there for the `USR TWN S` that follows.
//!
//! Mailbox full (`limits::LOGINS_MAILBOX`): a request waits for room, so the login that sent it
//! waits (its session stops reading its client) and nothing is refused or lost. The actor never
//! waits for anyone (its replies go to one-slot channels it alone writes to), so it always drains.
//! The only message that does not wait is the periodic ticket sweep, which is skipped when the
//! mailbox is full and done at the next tick.
//!
//! A password check over one of the throttle's in-flight caps waits in the actor's queue (bounded
//! in all and per address, `limits::LOGIN_WAITING*`) and is judged again whenever a check ends:
//! a burst of correct logins from one NAT address gets through a few at a time instead of being
//! refused. A check is refused as `Refusal::Blocked` (answered like a wrong password) only when
//! failures block it, and as `Refusal::Busy` (answered "server busy") when the queue is full or
//! it waited `LOGIN_WAIT_LIMIT`.
//!
//! A password check let through (`begin`) is an `Attempt`; its end (`succeeded`, `failed`, or
//! dropped half way, which counts as a failure) cannot wait, since it may happen in a `Drop`. Ends
//! go through a second channel with room for `LOGIN_CHECKS_IN_FLIGHT` messages, and the throttle
//! never lets more checks than that be in flight, so that channel cannot be full: no end is ever
//! lost, and no pending check is left counted forever. Ends are read before requests, so a check's
//! end is applied before anything its task sends afterwards.

use super::admission::address_key;
use super::mailbox::{self, Receiver, Sender, Spawner, TrySendError};
use super::throttle::{Throttle, Verdict};
use super::tickets::{self, ServiceTokens, Tickets};
use crate::auth::sso::SessionKey;
use crate::limits::{
    LOGIN_CHECKS_IN_FLIGHT, LOGIN_WAIT_LIMIT, LOGIN_WAITING, LOGIN_WAITING_PER_ADDRESS,
    LOGINS_MAILBOX, TICKET_TTL,
};
use smol::future::FutureExt;
use std::collections::VecDeque;
use std::future::Future;
use std::net::IpAddr;
use std::panic::AssertUnwindSafe;
use std::time::{Duration, Instant};

/// A one-slot reply channel (one per request that needs an answer; none on the relay path).
type Reply<T> = smol::channel::Sender<T>;

/// Who wants to log in, and the throttle's settings for it.
struct Check {
    ip: IpAddr,
    account: Box<str>,
    limit: u32,
    backoff: Duration,
}

/// Why `begin` let no password check start.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// Failures block the pair or the address: answered as a wrong password would be.
    Blocked,
    /// Too many checks are waiting, this one waited too long, or the actor is gone: answered
    /// "server busy, try later", never as a wrong password.
    Busy,
}

/// What `begin` answers.
type Begun = Result<Attempt, Refusal>;

enum Msg {
    Allowed(Check, Reply<bool>),
    Begin(Check, Reply<Begun>),
    Failed(IpAddr, Box<str>, Duration),
    Succeeded(IpAddr, Box<str>),
    Issue {
        ticket: Box<str>,
        handle: Box<str>,
        version: u64,
        ttl: Duration,
    },
    Redeem {
        ticket: Box<str>,
        handle: Box<str>,
        version: u64,
        reply: Reply<bool>,
    },
    IssueWithKey {
        ticket: Box<str>,
        handle: Box<str>,
        version: u64,
        ttl: Duration,
        key: SessionKey,
    },
    RedeemWithKey {
        ticket: Box<str>,
        handle: Box<str>,
        version: u64,
        reply: Reply<Option<SessionKey>>,
    },
    IssueService {
        handle: Box<str>,
        version: u64,
        ttl: Duration,
        reply: Reply<String>,
    },
    ServiceOwner {
        token: Box<str>,
        reply: Reply<Option<(Box<str>, u64)>>,
    },
    ExpireTickets,
}

/// The end of a password check `begin` let through.
struct Ended {
    ip: IpAddr,
    account: Box<str>,
    backoff: Duration,
    /// Right, wrong, or not checked at all (`None`: the server failed, counted neither way).
    ok: Option<bool>,
}

/// The handle the roles use to reach the logins actor. Requests queue in its mailbox from the
/// start; the actor takes them once `start` has run.
pub struct Logins {
    tx: Sender<Msg>,
}

/// A password check that has been let through; it counts as a failure until `succeeded`, and
/// as one if it is dropped unfinished (its connection went away: the hash ran to the end
/// regardless).
#[must_use]
pub struct Attempt {
    ended: Sender<Ended>,
    ip: IpAddr,
    account: Box<str>,
    backoff: Duration,
    finished: bool,
}

impl Attempt {
    /// The password was right: the pending failure is withdrawn, and the pair's failures are
    /// cleared unless other checks of it are still pending.
    pub fn succeeded(mut self) {
        self.finish(Some(true));
    }

    /// The password was wrong: the pending check becomes a counted failure.
    pub fn failed(mut self) {
        self.finish(Some(false));
    }

    /// The password could not be checked (the server failed, not the client): the pending
    /// check goes without counting either way.
    pub fn abandoned(mut self) {
        self.finish(None);
    }

    fn finish(&mut self, ok: Option<bool>) {
        self.finished = true;
        let ended = Ended {
            ip: self.ip,
            account: std::mem::take(&mut self.account),
            backoff: self.backoff,
            ok,
        };
        if let Err(TrySendError::Full(_)) = self.ended.try_send(ended) {
            // Cannot happen: the channel has room for every check in flight (module doc).
            log::error!("logins: the channel of ended checks is full; a check stays pending");
        }
    }
}

impl Drop for Attempt {
    fn drop(&mut self) {
        if !self.finished {
            self.finish(Some(false));
        }
    }
}

impl Default for Logins {
    fn default() -> Logins {
        Logins {
            tx: mailbox::unclaimed(LOGINS_MAILBOX),
        }
    }
}

impl Logins {
    /// Starts the actor on `spawner`. Once only.
    pub fn start(&self, spawner: &Spawner) {
        let Some(actor) = self.actor() else {
            return;
        };
        spawner
            .spawn(async move {
                if AssertUnwindSafe(actor).catch_unwind().await.is_err() {
                    log::error!("logins actor panicked: logins are refused until restart");
                }
            })
            .detach();
    }

    /// The actor, for the caller to run (`start` spawns it); `None` once taken.
    fn actor(&self) -> Option<impl Future<Output = ()> + Send + 'static> {
        let rx = self.tx.claim()?;
        let (ended_tx, ended_rx) = mailbox::bounded(LOGIN_CHECKS_IN_FLIGHT);
        Some(run(rx, ended_tx, ended_rx))
    }

    /// Whether a login for `account` from `ip` may be checked now (for checks that finish
    /// without waiting: the MD5 and ticket logins). No answer (the actor is gone) is a no.
    pub async fn allowed(&self, ip: IpAddr, account: &str, limit: u32, backoff: Duration) -> bool {
        let (reply, answer) = smol::channel::bounded(1);
        let check = Check {
            ip,
            account: account.into(),
            limit,
            backoff,
        };
        if self.tx.send(Msg::Allowed(check, reply)).await.is_err() {
            return false;
        }
        answer.recv().await.unwrap_or(false)
    }

    /// Lets a slow password check start, counted as pending, once the in-flight caps allow
    /// (it waits for that), or refuses it: `Blocked` by failures, or `Busy`.
    pub async fn begin(
        &self,
        ip: IpAddr,
        account: &str,
        limit: u32,
        backoff: Duration,
    ) -> Result<Attempt, Refusal> {
        let (reply, answer) = smol::channel::bounded(1);
        let check = Check {
            ip,
            account: account.into(),
            limit,
            backoff,
        };
        if self.tx.send(Msg::Begin(check, reply)).await.is_err() {
            return Err(Refusal::Busy);
        }
        answer.recv().await.unwrap_or(Err(Refusal::Busy))
    }

    /// Counts a failed login of `account` from `ip` (MD5 and ticket logins).
    pub async fn failed(&self, ip: IpAddr, account: &str, backoff: Duration) {
        let _ = self.tx.send(Msg::Failed(ip, account.into(), backoff)).await;
    }

    /// A successful login clears the failures of `account` from `ip`.
    pub async fn succeeded(&self, ip: IpAddr, account: &str) {
        let _ = self.tx.send(Msg::Succeeded(ip, account.into())).await;
    }

    /// A new ticket for `handle`, whose password was checked at credential version `version`
    /// (`storage::Credentials::version`); the value to put in `from-PP='...'`.
    pub async fn issue(&self, handle: &str, version: u64) -> String {
        self.issue_for(handle, version, TICKET_TTL).await
    }

    /// As `issue`, valid for `ttl`.
    pub async fn issue_for(&self, handle: &str, version: u64, ttl: Duration) -> String {
        let (ticket, whole) = tickets::new_ticket();
        let msg = Msg::Issue {
            ticket: ticket.into(),
            handle: handle.into(),
            version,
            ttl,
        };
        let _ = self.tx.send(msg).await;
        whole
    }

    /// Consumes the ticket in `param` (`t=...&p=...`, or the bare `t` value) if it was issued to
    /// `handle` under its current credential version `version` and has not expired. A ticket
    /// presented for the wrong account or after a password change is burnt too.
    pub async fn redeem(&self, param: &str, handle: &str, version: u64) -> bool {
        let (reply, answer) = smol::channel::bounded(1);
        let msg = Msg::Redeem {
            ticket: tickets::ticket_id(param).into(),
            handle: handle.into(),
            version,
            reply,
        };
        if self.tx.send(msg).await.is_err() {
            return false;
        }
        answer.recv().await.unwrap_or(false)
    }

    /// A new MSNP15+ login ticket for `handle` (valid for `TICKET_TTL`) with its session key:
    /// the RST.srf answer gives both to the client (`BinarySecurityToken` and `BinarySecret` for
    /// messengerclear.live.com), and `USR SSO S` redeems the ticket and checks the client's
    /// `MBI_KEY_OLD` answer against the key.
    pub async fn issue_with_key(&self, handle: &str, version: u64) -> (String, SessionKey) {
        let (ticket, whole) = tickets::new_ticket();
        let key = SessionKey::random();
        let msg = Msg::IssueWithKey {
            ticket: ticket.into(),
            handle: handle.into(),
            version,
            ttl: TICKET_TTL,
            key: key.clone(),
        };
        let _ = self.tx.send(msg).await;
        (whole, key)
    }

    /// Consumes an SSO ticket issued to `handle`: its session key, or `None` (unknown, expired,
    /// another account's, or issued without a key). Burnt either way, like `redeem`.
    pub async fn redeem_with_key(
        &self,
        param: &str,
        handle: &str,
        version: u64,
    ) -> Option<SessionKey> {
        let (reply, answer) = smol::channel::bounded(1);
        let msg = Msg::RedeemWithKey {
            ticket: tickets::ticket_id(param).into(),
            handle: handle.into(),
            version,
            reply,
        };
        self.tx.send(msg).await.ok()?;
        answer.recv().await.ok().flatten()
    }

    /// A web-service token for `handle` (address book, storage ...), whose password was
    /// checked at credential version `version`, valid for `ttl`; not consumed by use
    /// (`tickets::ServiceTokens`).
    pub async fn issue_service(&self, handle: &str, version: u64, ttl: Duration) -> String {
        let (reply, answer) = smol::channel::bounded(1);
        let msg = Msg::IssueService {
            handle: handle.into(),
            version,
            ttl,
            reply,
        };
        if self.tx.send(msg).await.is_err() {
            return String::new();
        }
        answer.recv().await.unwrap_or_default()
    }

    /// The account a web-service token (as the client sends it) belongs to and the credential
    /// version it was issued under, while valid.
    pub async fn service_owner(&self, token: &str) -> Option<(Box<str>, u64)> {
        let (reply, answer) = smol::channel::bounded(1);
        let msg = Msg::ServiceOwner {
            token: token.into(),
            reply,
        };
        self.tx.send(msg).await.ok()?;
        answer.recv().await.ok().flatten()
    }

    /// Forgets expired tickets; skipped if the mailbox is full (the next tick does it).
    pub fn expire_tickets(&self) {
        if self.tx.try_send(Msg::ExpireTickets).is_err() {
            log::debug!("logins: mailbox full; ticket sweep left for the next tick");
        }
    }
}

enum Next {
    Ended(Ended),
    Msg(Msg),
    Closed,
}

/// A password check waiting for room under the in-flight caps.
struct Waiter {
    check: Check,
    reply: Reply<Begun>,
    since: Instant,
}

/// The checks waiting, oldest first, and the throttle they wait on.
struct Gate {
    throttle: Throttle,
    waiting: VecDeque<Waiter>,
    ended: Sender<Ended>,
}

impl Gate {
    fn attempt(&self, c: Check) -> Attempt {
        Attempt {
            ended: self.ended.clone(),
            ip: c.ip,
            account: c.account,
            backoff: c.backoff,
            finished: false,
        }
    }

    /// Judges `c`: an attempt, a refusal, or `None` when it has to keep waiting.
    fn judge(&mut self, c: Check) -> Result<Begun, Check> {
        match self.throttle.begin(c.ip, &c.account, c.limit, c.backoff) {
            Verdict::Go => Ok(Ok(self.attempt(c))),
            Verdict::Blocked => Ok(Err(Refusal::Blocked)),
            Verdict::Wait => Err(c),
        }
    }

    /// A new check: answered at once, or queued while there is room.
    fn begin(&mut self, c: Check, reply: Reply<Begun>) {
        let c = match self.judge(c) {
            Ok(begun) => {
                // If the asker has gone, the attempt comes back here and is dropped, which
                // ends it as a failure: nothing stays pending.
                let _ = reply.try_send(begun);
                return;
            }
            Err(c) => c,
        };
        let key = address_key(c.ip);
        let from_here = self
            .waiting
            .iter()
            .filter(|w| address_key(w.check.ip) == key)
            .count();
        if self.waiting.len() >= LOGIN_WAITING || from_here >= LOGIN_WAITING_PER_ADDRESS {
            let _ = reply.try_send(Err(Refusal::Busy));
            return;
        }
        self.waiting.push_back(Waiter {
            check: c,
            reply,
            since: Instant::now(),
        });
    }

    /// Judges the waiting checks again, oldest first (after a check ended, and on each sweep):
    /// those the caps now let through start, blocked ones are refused, and those that waited
    /// `LOGIN_WAIT_LIMIT` are refused as busy.
    fn wake(&mut self) {
        let mut still = VecDeque::with_capacity(self.waiting.len());
        while let Some(w) = self.waiting.pop_front() {
            if w.reply.is_closed() {
                continue;
            }
            if w.since.elapsed() >= LOGIN_WAIT_LIMIT {
                let _ = w.reply.try_send(Err(Refusal::Busy));
                continue;
            }
            match self.judge(w.check) {
                Ok(begun) => {
                    let _ = w.reply.try_send(begun);
                }
                Err(check) => still.push_back(Waiter { check, ..w }),
            }
        }
        self.waiting = still;
    }
}

async fn run(rx: Receiver<Msg>, ended_tx: Sender<Ended>, ended_rx: Receiver<Ended>) {
    let mut gate = Gate {
        throttle: Throttle::default(),
        waiting: VecDeque::new(),
        ended: ended_tx,
    };
    let mut tickets = Tickets::default();
    let mut services = ServiceTokens::default();
    loop {
        // Ends first (`or` polls its first future first).
        let next = smol::future::or(
            async {
                match ended_rx.recv().await {
                    Some(e) => Next::Ended(e),
                    None => Next::Closed,
                }
            },
            async {
                match rx.recv().await {
                    Some(m) => Next::Msg(m),
                    None => Next::Closed,
                }
            },
        )
        .await;
        let msg = match next {
            Next::Ended(e) => {
                gate.throttle.finish(e.ip, &e.account, e.backoff, e.ok);
                if !gate.waiting.is_empty() {
                    gate.wake();
                }
                continue;
            }
            Next::Msg(m) => m,
            Next::Closed => return,
        };
        match msg {
            Msg::Allowed(c, reply) => {
                let allowed = gate.throttle.allowed(c.ip, &c.account, c.limit, c.backoff);
                let _ = reply.try_send(allowed);
            }
            Msg::Begin(c, reply) => gate.begin(c, reply),
            Msg::Failed(ip, account, backoff) => gate.throttle.failed(ip, &account, backoff),
            Msg::Succeeded(ip, account) => gate.throttle.succeeded(ip, &account),
            Msg::Issue {
                ticket,
                handle,
                version,
                ttl,
            } => tickets.insert(&ticket, &handle, version, ttl),
            Msg::Redeem {
                ticket,
                handle,
                version,
                reply,
            } => {
                let _ = reply.try_send(tickets.redeem(&ticket, &handle, version));
            }
            Msg::IssueWithKey {
                ticket,
                handle,
                version,
                ttl,
                key,
            } => tickets.insert_with_key(&ticket, &handle, version, ttl, key),
            Msg::RedeemWithKey {
                ticket,
                handle,
                version,
                reply,
            } => {
                let _ = reply.try_send(tickets.redeem_with_key(&ticket, &handle, version));
            }
            Msg::IssueService {
                handle,
                version,
                ttl,
                reply,
            } => {
                let _ = reply.try_send(services.issue(&handle, version, ttl));
            }
            Msg::ServiceOwner { token, reply } => {
                let _ = reply.try_send(services.owner(&token).map(|(h, v)| (h.into(), v)));
            }
            Msg::ExpireTickets => {
                tickets.expire();
                services.expire();
                gate.wake();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::limits::LOGIN_CHECKS_PER_ACCOUNT;
    use smol::future::poll_once;
    use std::sync::Arc;

    const BACKOFF: Duration = Duration::from_secs(60);

    fn ip(n: u8) -> IpAddr {
        IpAddr::from([10, 0, 0, n])
    }

    #[test]
    fn tickets_and_throttle_through_the_mailbox() {
        let ex: Spawner = Arc::new(smol::Executor::new());
        let logins = Logins::default();
        logins.start(&ex);
        smol::block_on(ex.run(async {
            let t = logins.issue("a@x.com", 0).await;
            assert!(!logins.redeem(&t, "b@x.com", 0).await);
            assert!(
                !logins.redeem(&t, "a@x.com", 0).await,
                "burnt by the wrong account"
            );
            let t = logins.issue("a@x.com", 0).await;
            assert!(
                logins
                    .redeem(&format!("{t},ru=http://x"), "a@x.com", 0)
                    .await
            );
            assert!(!logins.redeem(&t, "a@x.com", 0).await, "single use");
            let t = logins.issue_for("a@x.com", 0, Duration::ZERO).await;
            assert!(!logins.redeem(&t, "a@x.com", 0).await, "expired");
            let t = logins.issue("a@x.com", 1).await;
            assert!(!logins.redeem(&t, "a@x.com", 2).await, "password changed");

            for _ in 0..5 {
                assert!(logins.allowed(ip(1), "a@x.com", 5, BACKOFF).await);
                logins.failed(ip(1), "a@x.com", BACKOFF).await;
            }
            assert!(!logins.allowed(ip(1), "a@x.com", 5, BACKOFF).await);
            assert_eq!(
                logins.begin(ip(1), "a@x.com", 5, BACKOFF).await.err(),
                Some(Refusal::Blocked)
            );
            assert!(logins.allowed(ip(2), "a@x.com", 5, BACKOFF).await);
            let a = logins.begin(ip(2), "a@x.com", 1, BACKOFF).await.unwrap();
            assert!(
                !logins.allowed(ip(2), "a@x.com", 1, BACKOFF).await,
                "a pending check counts as a failure"
            );
            a.succeeded();
            assert!(
                logins.allowed(ip(2), "a@x.com", 1, BACKOFF).await,
                "the end is applied before the next request"
            );
        }));
    }

    /// With the actor stopped and its mailbox full, a login waits (is neither refused nor
    /// answered) and gets its answer once the actor runs; nothing queued is lost. Checks that end
    /// meanwhile, even by being dropped, are not held up by the full mailbox.
    #[test]
    fn a_full_mailbox_makes_logins_wait_and_loses_nothing() {
        let logins = Logins::default();
        let actor = logins.actor().unwrap();
        let ex = smol::LocalExecutor::new();
        smol::block_on(ex.run(async {
            // Two checks of a@x.com in flight (the per-account cap), started while the actor
            // ran; the actor is started for them and stopped again by not being polled.
            let mut actor = Box::pin(actor);
            let mut starting = Box::pin(async {
                let mut started = Vec::new();
                for n in 0..LOGIN_CHECKS_PER_ACCOUNT as u8 {
                    started.push(logins.begin(ip(n + 1), "a@x.com", 5, BACKOFF).await);
                }
                started
            });
            let started = loop {
                if let Some(s) = poll_once(&mut starting).await {
                    break s;
                }
                assert!(poll_once(&mut actor).await.is_none());
            };
            assert!(started.iter().all(Result::is_ok));

            let mut issued = Vec::new();
            for n in 0..LOGINS_MAILBOX {
                let handle = format!("u{n}@x.com");
                let issue = poll_once(logins.issue(&handle, 0)).await;
                issued.push(issue.expect("room in the mailbox"));
            }
            let mut waiting = Box::pin(logins.allowed(ip(9), "b@x.com", 5, BACKOFF));
            assert!(poll_once(&mut waiting).await.is_none(), "the login waits");
            logins.expire_tickets(); // does not wait: skipped
            drop(started); // both checks end as failures though the mailbox is full

            ex.spawn(actor).detach();
            assert!(waiting.await, "answered once there is room");
            assert!(logins.redeem(&issued[0], "u0@x.com", 0).await);
            let last = LOGINS_MAILBOX - 1;
            assert!(
                logins
                    .redeem(&issued[last], &format!("u{last}@x.com"), 0)
                    .await
            );
            let third = logins.begin(ip(3), "a@x.com", 5, BACKOFF).await;
            assert!(third.is_ok(), "the dropped checks are no longer in flight");
        }));
    }

    /// A `begin` whose asker went away before the answer came leaves no check pending.
    #[test]
    fn an_abandoned_begin_is_ended_as_a_failure() {
        let logins = Logins::default();
        let actor = logins.actor().unwrap();
        let ex = smol::LocalExecutor::new();
        smol::block_on(ex.run(async {
            for _ in 0..LOGIN_CHECKS_PER_ACCOUNT {
                let mut begin = Box::pin(logins.begin(ip(1), "a@x.com", 2, BACKOFF));
                assert!(poll_once(&mut begin).await.is_none(), "sent, not answered");
            }
            ex.spawn(actor).detach();
            let other = logins.begin(ip(2), "a@x.com", 2, BACKOFF).await;
            assert!(other.is_ok(), "per-account slots were given back");
            drop(other);
            assert!(
                !logins.allowed(ip(1), "a@x.com", 2, BACKOFF).await,
                "and both abandoned checks counted as failures"
            );
        }));
    }

    /// Issue 21: thirty correct logins from one address at once all start, a few at a time
    /// (never more than the per-address cap in flight), and none is refused or counted as a
    /// failure; past the queue's bound a check is refused as busy, not as wrong.
    #[test]
    fn a_burst_from_one_address_waits_its_turn() {
        use crate::limits::LOGIN_CHECKS_PER_ADDRESS;
        let ex: Spawner = Arc::new(smol::Executor::new());
        let logins = Arc::new(Logins::default());
        logins.start(&ex);
        let in_flight = Arc::new(std::sync::atomic::AtomicU32::new(0));
        let peak = Arc::new(std::sync::atomic::AtomicU32::new(0));
        smol::block_on(ex.run(async {
            let tasks: Vec<_> = (0..30)
                .map(|i| {
                    let (logins, in_flight, peak) =
                        (logins.clone(), in_flight.clone(), peak.clone());
                    ex.spawn(async move {
                        use std::sync::atomic::Ordering::SeqCst;
                        let account = format!("u{i}@x.com");
                        let a = logins.begin(ip(1), &account, 5, BACKOFF).await?;
                        let now = in_flight.fetch_add(1, SeqCst) + 1;
                        peak.fetch_max(now, SeqCst);
                        smol::Timer::after(Duration::from_millis(2)).await;
                        in_flight.fetch_sub(1, SeqCst);
                        a.succeeded();
                        Ok::<_, Refusal>(())
                    })
                })
                .collect();
            for t in tasks {
                assert_eq!(t.await, Ok(()));
            }
            let peak = peak.load(std::sync::atomic::Ordering::SeqCst);
            assert!(peak <= LOGIN_CHECKS_PER_ADDRESS, "{peak} in flight at once");
            assert!(logins.allowed(ip(1), "u0@x.com", 1, BACKOFF).await);

            // Hold the per-address slots and fill the address's queue: one more is busy.
            let mut held = Vec::new();
            for n in 0..LOGIN_CHECKS_PER_ADDRESS {
                held.push(
                    logins
                        .begin(ip(2), &format!("h{n}@x.com"), 5, BACKOFF)
                        .await,
                );
            }
            let waiting: Vec<_> = (0..LOGIN_WAITING_PER_ADDRESS)
                .map(|n| {
                    let logins = logins.clone();
                    ex.spawn(async move {
                        logins
                            .begin(ip(2), &format!("w{n}@x.com"), 5, BACKOFF)
                            .await
                    })
                })
                .collect();
            // Let the queued ones reach the actor (they run while this task sleeps): the next
            // one finds the address's queue full.
            smol::Timer::after(Duration::from_millis(100)).await;
            assert_eq!(
                logins.begin(ip(2), "late@x.com", 5, BACKOFF).await.err(),
                Some(Refusal::Busy),
                "a full queue answers busy"
            );
            for h in held {
                h.unwrap().succeeded();
            }
            for w in waiting {
                w.await
                    .expect("queued checks start once slots free")
                    .succeeded();
            }
        }));
    }
}
