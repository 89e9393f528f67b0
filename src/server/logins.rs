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
//! A password check let through (`begin`) is an `Attempt`; its end (`succeeded`, `failed`, or
//! dropped half way, which counts as a failure) cannot wait, since it may happen in a `Drop`. Ends
//! go through a second channel with room for `LOGIN_CHECKS_IN_FLIGHT` messages, and the throttle
//! never lets more checks than that be in flight, so that channel cannot be full: no end is ever
//! lost, and no pending check is left counted forever. Ends are read before requests, so a check's
//! end is applied before anything its task sends afterwards.

use super::mailbox::{self, Receiver, Sender, Spawner, TrySendError};
use super::throttle::Throttle;
use super::tickets::{self, ServiceTokens, Tickets};
use crate::auth::sso::SessionKey;
use crate::limits::{LOGIN_CHECKS_IN_FLIGHT, LOGINS_MAILBOX, TICKET_TTL};
use smol::future::FutureExt;
use std::future::Future;
use std::net::IpAddr;
use std::panic::AssertUnwindSafe;
use std::time::Duration;

/// A one-slot reply channel (one per request that needs an answer; none on the relay path).
type Reply<T> = smol::channel::Sender<T>;

/// Who wants to log in, and the throttle's settings for it.
struct Check {
    ip: IpAddr,
    account: Box<str>,
    limit: u32,
    backoff: Duration,
}

enum Msg {
    Allowed(Check, Reply<bool>),
    Begin(Check, Reply<Option<Attempt>>),
    Failed(IpAddr, Box<str>, Duration),
    Succeeded(IpAddr, Box<str>),
    Issue {
        ticket: Box<str>,
        handle: Box<str>,
        ttl: Duration,
    },
    Redeem {
        ticket: Box<str>,
        handle: Box<str>,
        reply: Reply<bool>,
    },
    IssueWithKey {
        ticket: Box<str>,
        handle: Box<str>,
        ttl: Duration,
        key: SessionKey,
    },
    RedeemWithKey {
        ticket: Box<str>,
        handle: Box<str>,
        reply: Reply<Option<SessionKey>>,
    },
    IssueService {
        handle: Box<str>,
        ttl: Duration,
        reply: Reply<String>,
    },
    ServiceOwner {
        token: Box<str>,
        reply: Reply<Option<Box<str>>>,
    },
    ExpireTickets,
}

/// The end of a password check `begin` let through.
struct Ended {
    ip: IpAddr,
    account: Box<str>,
    backoff: Duration,
    ok: bool,
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
        self.finish(true);
    }

    /// The password was wrong: the pending check becomes a counted failure.
    pub fn failed(mut self) {
        self.finish(false);
    }

    fn finish(&mut self, ok: bool) {
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
            self.finish(false);
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

    /// Lets a slow password check start, counted as pending, or refuses it (`None`): the
    /// address is blocked, or too many checks for this account, from this address or in all
    /// are in flight.
    pub async fn begin(
        &self,
        ip: IpAddr,
        account: &str,
        limit: u32,
        backoff: Duration,
    ) -> Option<Attempt> {
        let (reply, answer) = smol::channel::bounded(1);
        let check = Check {
            ip,
            account: account.into(),
            limit,
            backoff,
        };
        self.tx.send(Msg::Begin(check, reply)).await.ok()?;
        answer.recv().await.ok().flatten()
    }

    /// Counts a failed login of `account` from `ip` (MD5 and ticket logins).
    pub async fn failed(&self, ip: IpAddr, account: &str, backoff: Duration) {
        let _ = self.tx.send(Msg::Failed(ip, account.into(), backoff)).await;
    }

    /// A successful login clears the failures of `account` from `ip`.
    pub async fn succeeded(&self, ip: IpAddr, account: &str) {
        let _ = self.tx.send(Msg::Succeeded(ip, account.into())).await;
    }

    /// A new ticket for `handle`; the value to put in `from-PP='...'`.
    pub async fn issue(&self, handle: &str) -> String {
        self.issue_for(handle, TICKET_TTL).await
    }

    /// As `issue`, valid for `ttl`.
    pub async fn issue_for(&self, handle: &str, ttl: Duration) -> String {
        let (ticket, whole) = tickets::new_ticket();
        let msg = Msg::Issue {
            ticket: ticket.into(),
            handle: handle.into(),
            ttl,
        };
        let _ = self.tx.send(msg).await;
        whole
    }

    /// Consumes the ticket in `param` (`t=...&p=...`, or the bare `t` value) if it was issued to
    /// `handle` and has not expired. A ticket presented for the wrong account is burnt too.
    pub async fn redeem(&self, param: &str, handle: &str) -> bool {
        let (reply, answer) = smol::channel::bounded(1);
        let msg = Msg::Redeem {
            ticket: tickets::ticket_id(param).into(),
            handle: handle.into(),
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
    pub async fn issue_with_key(&self, handle: &str) -> (String, SessionKey) {
        let (ticket, whole) = tickets::new_ticket();
        let key = SessionKey::random();
        let msg = Msg::IssueWithKey {
            ticket: ticket.into(),
            handle: handle.into(),
            ttl: TICKET_TTL,
            key: key.clone(),
        };
        let _ = self.tx.send(msg).await;
        (whole, key)
    }

    /// Consumes an SSO ticket issued to `handle`: its session key, or `None` (unknown, expired,
    /// another account's, or issued without a key). Burnt either way, like `redeem`.
    pub async fn redeem_with_key(&self, param: &str, handle: &str) -> Option<SessionKey> {
        let (reply, answer) = smol::channel::bounded(1);
        let msg = Msg::RedeemWithKey {
            ticket: tickets::ticket_id(param).into(),
            handle: handle.into(),
            reply,
        };
        self.tx.send(msg).await.ok()?;
        answer.recv().await.ok().flatten()
    }

    /// A web-service token for `handle` (address book, storage ...), valid for `ttl`; not
    /// consumed by use (`tickets::ServiceTokens`).
    pub async fn issue_service(&self, handle: &str, ttl: Duration) -> String {
        let (reply, answer) = smol::channel::bounded(1);
        let msg = Msg::IssueService {
            handle: handle.into(),
            ttl,
            reply,
        };
        if self.tx.send(msg).await.is_err() {
            return String::new();
        }
        answer.recv().await.unwrap_or_default()
    }

    /// The account a web-service token (as the client sends it) belongs to, while valid.
    pub async fn service_owner(&self, token: &str) -> Option<Box<str>> {
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

async fn run(rx: Receiver<Msg>, ended_tx: Sender<Ended>, ended_rx: Receiver<Ended>) {
    let mut throttle = Throttle::default();
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
                throttle.finish(e.ip, &e.account, e.backoff, e.ok);
                continue;
            }
            Next::Msg(m) => m,
            Next::Closed => return,
        };
        match msg {
            Msg::Allowed(c, reply) => {
                let _ = reply.try_send(throttle.allowed(c.ip, &c.account, c.limit, c.backoff));
            }
            Msg::Begin(c, reply) => {
                let attempt = throttle
                    .begin(c.ip, &c.account, c.limit, c.backoff)
                    .then(|| Attempt {
                        ended: ended_tx.clone(),
                        ip: c.ip,
                        account: c.account,
                        backoff: c.backoff,
                        finished: false,
                    });
                // If the asker has gone, the attempt comes back here and is dropped, which
                // ends it as a failure: nothing stays pending.
                let _ = reply.try_send(attempt);
            }
            Msg::Failed(ip, account, backoff) => throttle.failed(ip, &account, backoff),
            Msg::Succeeded(ip, account) => throttle.succeeded(ip, &account),
            Msg::Issue {
                ticket,
                handle,
                ttl,
            } => tickets.insert(&ticket, &handle, ttl),
            Msg::Redeem {
                ticket,
                handle,
                reply,
            } => {
                let _ = reply.try_send(tickets.redeem(&ticket, &handle));
            }
            Msg::IssueWithKey {
                ticket,
                handle,
                ttl,
                key,
            } => tickets.insert_with_key(&ticket, &handle, ttl, key),
            Msg::RedeemWithKey {
                ticket,
                handle,
                reply,
            } => {
                let _ = reply.try_send(tickets.redeem_with_key(&ticket, &handle));
            }
            Msg::IssueService { handle, ttl, reply } => {
                let _ = reply.try_send(services.issue(&handle, ttl));
            }
            Msg::ServiceOwner { token, reply } => {
                let _ = reply.try_send(services.owner(&token).map(Into::into));
            }
            Msg::ExpireTickets => {
                tickets.expire();
                services.expire();
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
            let t = logins.issue("a@x.com").await;
            assert!(!logins.redeem(&t, "b@x.com").await);
            assert!(
                !logins.redeem(&t, "a@x.com").await,
                "burnt by the wrong account"
            );
            let t = logins.issue("a@x.com").await;
            assert!(logins.redeem(&format!("{t},ru=http://x"), "a@x.com").await);
            assert!(!logins.redeem(&t, "a@x.com").await, "single use");
            let t = logins.issue_for("a@x.com", Duration::ZERO).await;
            assert!(!logins.redeem(&t, "a@x.com").await, "expired");

            for _ in 0..5 {
                assert!(logins.allowed(ip(1), "a@x.com", 5, BACKOFF).await);
                logins.failed(ip(1), "a@x.com", BACKOFF).await;
            }
            assert!(!logins.allowed(ip(1), "a@x.com", 5, BACKOFF).await);
            assert!(logins.begin(ip(1), "a@x.com", 5, BACKOFF).await.is_none());
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
            assert!(started.iter().all(Option::is_some));

            let mut issued = Vec::new();
            for n in 0..LOGINS_MAILBOX {
                let handle = format!("u{n}@x.com");
                let issue = poll_once(logins.issue(&handle)).await;
                issued.push(issue.expect("room in the mailbox"));
            }
            let mut waiting = Box::pin(logins.allowed(ip(9), "b@x.com", 5, BACKOFF));
            assert!(poll_once(&mut waiting).await.is_none(), "the login waits");
            logins.expire_tickets(); // does not wait: skipped
            drop(started); // both checks end as failures though the mailbox is full

            ex.spawn(actor).detach();
            assert!(waiting.await, "answered once there is room");
            assert!(logins.redeem(&issued[0], "u0@x.com").await);
            let last = LOGINS_MAILBOX - 1;
            assert!(
                logins
                    .redeem(&issued[last], &format!("u{last}@x.com"))
                    .await
            );
            let third = logins.begin(ip(3), "a@x.com", 5, BACKOFF).await;
            assert!(
                third.is_some(),
                "the dropped checks are no longer in flight"
            );
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
            assert!(other.is_some(), "per-account slots were given back");
            drop(other);
            assert!(
                !logins.allowed(ip(1), "a@x.com", 2, BACKOFF).await,
                "and both abandoned checks counted as failures"
            );
        }));
    }
}
