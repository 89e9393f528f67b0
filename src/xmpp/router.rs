//! The XMPP router actor: owns which XMPP resources are bound (full JID -> the session's queue),
//! the last available presence of each, and who may see it. Sessions reach it through its
//! bounded mailbox (`limits::XMPP_ROUTER_MAILBOX`; a full one makes the sender wait, so it stops
//! reading its client). The actor never waits: it hands stanzas to sessions' queues with
//! `try_send` (a full queue drops presence and bounces a message), and answers on one-slot
//! channels only it writes to. So, as with the other actors (docs/actors.md), no cycle of waits
//! can form: sessions -> router -> nobody.
//!
//! This is the seam for the MSN side (next phase, docs/xmpp.md): an MSN participant becomes one
//! more kind of endpoint here, reached through the notification directory instead of a queue.

use crate::limits::{XMPP_MAX_RESOURCES, XMPP_ROUTER_MAILBOX};
use smol::channel::{Receiver, Sender, TrySendError};
use std::collections::HashMap;
use std::sync::Arc;

/// What a session's queue carries: stanzas already written as XML, shared between recipients.
pub type Delivery = Arc<str>;

/// A session's queue (`limits::XMPP_SESSION_QUEUE` deliveries): a `server::mailbox` whose storage
/// is taken at the first delivery, since most sessions sit idle (docs/xmpp.md "Memory").
pub type Queue = crate::server::mailbox::Sender<Delivery>;

/// The handle sessions use to reach the router.
#[derive(Clone)]
pub struct Router {
    tx: Sender<Msg>,
    /// Where an unbind that finds the mailbox full waits for room (a task, not a thread, so a
    /// burst of disconnects costs no OS threads).
    spawner: crate::server::mailbox::Spawner,
}

/// What a bound resource tells the router about its account.
pub struct Binding {
    /// The account's handle, which is its bare JID (lower case).
    pub bare: Box<str>,
    /// The resource the client asked for (empty: the router makes one).
    pub resource: String,
    /// Unique per session, so a late unbind of a replaced session cannot remove its successor.
    pub session: u64,
    /// The session's queue.
    pub queue: Queue,
    /// Bare JIDs that may see this account's presence: contacts with it on their forward list
    /// (its RL) whom its privacy settings allow.
    pub watchers: Vec<Box<str>>,
    /// Bare JIDs it blocks (its BL): their messages are refused.
    pub blocked: Vec<Box<str>>,
    /// Bare JIDs on its allow list (AL), and whether it allows everyone else not blocked (its
    /// BLP): with both, messages are refused by the rule of `model::Account::allows_lists`.
    /// Like `watchers` and `blocked`, a copy of the lists taken at bind time: a list change
    /// applies from the session's next bind.
    pub allowed: Vec<Box<str>>,
    /// BLP is "allow all but BL" (not "block all but AL").
    pub allows_strangers: bool,
}

/// Why `route` did not deliver.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Routed {
    /// Handed to at least one session's queue.
    Delivered,
    /// Nobody there (or the recipient blocks the sender): `<service-unavailable/>`.
    Unavailable,
    /// The recipient's queue is full: `<resource-constraint/>`.
    Full,
}

enum Msg {
    Bind(Binding, Sender<Option<String>>),
    Unbind {
        bare: Box<str>,
        resource: String,
        session: u64,
    },
    Presence {
        bare: Box<str>,
        resource: String,
        /// `None`: unavailable (the stanza to send is made here).
        stanza: Option<Delivery>,
        /// Bare JIDs whose current presence the sender wants (its forward list), on its first
        /// available presence only.
        probe: Vec<Box<str>>,
    },
    Route {
        from_bare: Box<str>,
        /// Bare JID of the recipient, and its resource if the stanza named one.
        to_bare: Box<str>,
        to_resource: Option<String>,
        stanza: Delivery,
        /// A chat message: copies go to the carbons-enabled resources (XEP-0280).
        carbons: Option<Box<str>>,
        reply: Sender<Routed>,
    },
    Carbons {
        bare: Box<str>,
        resource: String,
        on: bool,
    },
    /// Session `session` starts `bare`'s MSN side (docs/xmpp.md, one account on MSN and XMPP).
    ClaimMsn {
        bare: Box<str>,
        session: u64,
    },
    /// Whether session `session` still holds `bare`'s MSN side.
    HoldsMsn {
        bare: Box<str>,
        session: u64,
        reply: Sender<bool>,
    },
    /// A stanza for every resource of `bare` but `except` (roster pushes, RFC 6121 2.1.6).
    ToOthers {
        bare: Box<str>,
        except: Box<str>,
        stanza: Delivery,
    },
    Count(Sender<usize>),
}

struct Resource {
    session: u64,
    queue: Queue,
    /// The last available presence it sent, already stamped with its full JID.
    presence: Option<Delivery>,
    /// Wants copies of its account's chat messages to and from other resources (XEP-0280).
    carbons: bool,
}

/// An account's bound resources (at most `XMPP_MAX_RESOURCES`, nearly always one): a vector
/// sized to what is bound, where a hash map took about 370 B for its first entry.
#[derive(Default)]
struct Resources(Vec<(String, Resource)>);

impl Resources {
    fn len(&self) -> usize {
        self.0.len()
    }
    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    fn contains_key(&self, name: &str) -> bool {
        self.get(name).is_some()
    }
    fn get(&self, name: &str) -> Option<&Resource> {
        self.0.iter().find(|(n, _)| n == name).map(|(_, r)| r)
    }
    fn get_mut(&mut self, name: &str) -> Option<&mut Resource> {
        self.0.iter_mut().find(|(n, _)| n == name).map(|(_, r)| r)
    }
    /// Adds `name` (not bound yet: the caller checked).
    fn insert(&mut self, name: String, r: Resource) {
        self.0.reserve_exact(1);
        self.0.push((name, r));
    }
    fn remove(&mut self, name: &str) -> Option<Resource> {
        let i = self.0.iter().position(|(n, _)| n == name)?;
        let r = self.0.swap_remove(i).1;
        self.0.shrink_to_fit();
        Some(r)
    }
    fn values(&self) -> impl Iterator<Item = &Resource> {
        self.0.iter().map(|(_, r)| r)
    }
    fn iter(&self) -> impl Iterator<Item = (&String, &Resource)> {
        self.0.iter().map(|(n, r)| (n, r))
    }
}

impl<'a> IntoIterator for &'a Resources {
    type Item = (&'a String, &'a Resource);
    type IntoIter = std::iter::Map<
        std::slice::Iter<'a, (String, Resource)>,
        fn(&'a (String, Resource)) -> (&'a String, &'a Resource),
    >;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter().map(|(n, r)| (n, r))
    }
}

struct Account {
    resources: Resources,
    /// The session whose bridge holds the account's MSN side: the latest to start one. Given
    /// up when that session unbinds.
    msn_side: Option<u64>,
    watchers: Vec<Box<str>>,
    blocked: Vec<Box<str>>,
    allowed: Vec<Box<str>>,
    allows_strangers: bool,
}

impl Account {
    /// Whether a message from `from` may reach this account (`me`): the MSN rule (not on my BL,
    /// and on my AL or allowed by my BLP); my own resources always reach each other.
    fn admits(&self, me: &str, from: &str) -> bool {
        from == me
            || (!self.blocked.iter().any(|b| &**b == from)
                && (self.allows_strangers || self.allowed.iter().any(|a| &**a == from)))
    }
}

impl Router {
    /// Starts the actor on `ex`.
    pub fn start(ex: &crate::server::mailbox::Spawner) -> Router {
        let (tx, rx) = smol::channel::bounded(XMPP_ROUTER_MAILBOX);
        ex.spawn(run(rx)).detach();
        Router {
            tx,
            spawner: ex.clone(),
        }
    }

    /// Binds a resource; the resource actually bound (the one asked for, or a new one when it is
    /// empty or taken), or `None` when the account has too many.
    pub async fn bind(&self, b: Binding) -> Option<String> {
        let (reply, answer) = smol::channel::bounded(1);
        self.tx.send(Msg::Bind(b, reply)).await.ok()?;
        answer.recv().await.ok().flatten()
    }

    /// The session ended: forgets the resource and tells watchers it is gone if it was
    /// available. Never waits (it may run in a `Drop`): a full mailbox hands it to a task.
    pub fn unbind(&self, bare: &str, resource: &str, session: u64) {
        let msg = Msg::Unbind {
            bare: bare.into(),
            resource: resource.into(),
            session,
        };
        if let Err(TrySendError::Full(msg)) = self.tx.try_send(msg) {
            let tx = self.tx.clone();
            self.spawner
                .spawn(async move {
                    let _ = tx.send(msg).await;
                })
                .detach();
        }
    }

    /// Broadcast presence (`None`: unavailable) to the account's watchers and other resources;
    /// with `probe`, also fetch the current presence of those contacts for this resource.
    pub async fn presence(
        &self,
        bare: &str,
        resource: &str,
        stanza: Option<Delivery>,
        probe: Vec<Box<str>>,
    ) {
        let _ = self
            .tx
            .send(Msg::Presence {
                bare: bare.into(),
                resource: resource.into(),
                stanza,
                probe,
            })
            .await;
    }

    /// Delivers a message or IQ to `to_bare` (one resource if named and bound, else every one).
    /// `carbons_from`: the sender's resource, for a chat message whose copies go to the
    /// carbons-enabled resources of both accounts.
    pub async fn route(
        &self,
        from_bare: &str,
        to_bare: &str,
        to_resource: Option<&str>,
        stanza: Delivery,
        carbons_from: Option<&str>,
    ) -> Routed {
        let (reply, answer) = smol::channel::bounded(1);
        let msg = Msg::Route {
            from_bare: from_bare.into(),
            to_bare: to_bare.into(),
            to_resource: to_resource.map(Into::into),
            stanza,
            carbons: carbons_from.map(Into::into),
            reply,
        };
        if self.tx.send(msg).await.is_err() {
            return Routed::Unavailable;
        }
        answer.recv().await.unwrap_or(Routed::Unavailable)
    }

    /// Turns XEP-0280 carbons on or off for a resource.
    pub async fn carbons(&self, bare: &str, resource: &str, on: bool) {
        let msg = Msg::Carbons {
            bare: bare.into(),
            resource: resource.into(),
            on,
        };
        let _ = self.tx.send(msg).await;
    }

    /// Bound session `session` starts `bare`'s MSN side: it holds it from now on, until another
    /// session claims it or it unbinds. When a bridge is signed out with `OUT OTH`, its session
    /// ends with `<conflict/>` only if it still holds the MSN side (an MSN client signed in); if
    /// another resource of the account took it over, the session stays without it.
    pub async fn claim_msn(&self, bare: &str, session: u64) {
        let msg = Msg::ClaimMsn {
            bare: bare.into(),
            session,
        };
        let _ = self.tx.send(msg).await;
    }

    /// Whether session `session` holds `bare`'s MSN side (`claim_msn`).
    pub async fn holds_msn(&self, bare: &str, session: u64) -> bool {
        let (reply, answer) = smol::channel::bounded(1);
        let msg = Msg::HoldsMsn {
            bare: bare.into(),
            session,
            reply,
        };
        if self.tx.send(msg).await.is_err() {
            return false;
        }
        answer.recv().await.unwrap_or(false)
    }

    /// Hands `stanza` to every bound resource of `bare` except `except` (a full queue drops
    /// it): the roster pushes of one resource's change for the account's other resources.
    pub async fn to_other_resources(&self, bare: &str, except: &str, stanza: Delivery) {
        let msg = Msg::ToOthers {
            bare: bare.into(),
            except: except.into(),
            stanza,
        };
        let _ = self.tx.send(msg).await;
    }

    /// How many resources are bound (tests and status).
    pub async fn resources(&self) -> usize {
        let (reply, answer) = smol::channel::bounded(1);
        if self.tx.send(Msg::Count(reply)).await.is_err() {
            return 0;
        }
        answer.recv().await.unwrap_or(0)
    }
}

/// A XEP-0280 copy of `stanza` (`direction` "sent" or "received") for `bare/resource`.
fn carbon(direction: &str, bare: &str, resource: &str, stanza: &str) -> Delivery {
    let mut s = String::with_capacity(stanza.len() + 200);
    s.push_str("<message from='");
    super::xml::escape_into(&mut s, bare);
    s.push_str("' to='");
    super::xml::escape_into(&mut s, bare);
    s.push('/');
    super::xml::escape_into(&mut s, resource);
    s.push_str("' type='chat'><");
    s.push_str(direction);
    s.push_str(" xmlns='urn:xmpp:carbons:2'><forwarded xmlns='urn:xmpp:forward:0'>");
    // The forwarded stanza was written in the stream's default namespace; here it must say so.
    match stanza.strip_prefix("<message") {
        Some(rest) => {
            s.push_str("<message xmlns='jabber:client'");
            s.push_str(rest);
        }
        None => s.push_str(stanza),
    }
    s.push_str("</forwarded></");
    s.push_str(direction);
    s.push_str("></message>");
    s.into()
}

/// Copies to the carbons-enabled resources of `acct` other than `except` (best effort).
fn carbon_copies(acct: &Account, bare: &str, except: &[&str], direction: &str, stanza: &str) {
    for (r, res) in &acct.resources {
        if res.carbons && !except.contains(&r.as_str()) {
            let _ = res.queue.try_send(carbon(direction, bare, r, stanza));
        }
    }
}

fn unavailable(bare: &str, resource: &str) -> Delivery {
    let mut s = String::from("<presence from='");
    super::xml::escape_into(&mut s, bare);
    s.push('/');
    super::xml::escape_into(&mut s, resource);
    s.push_str("' type='unavailable'/>");
    s.into()
}

/// Hands `d` to every resource of `acct` (but `except`); presence that does not fit is dropped.
fn to_all(acct: &Account, d: &Delivery, except: Option<&str>) -> bool {
    let mut any = false;
    for (r, res) in &acct.resources {
        if Some(r.as_str()) == except {
            continue;
        }
        match res.queue.try_send(d.clone()) {
            Ok(()) => any = true,
            Err(_) => log::debug!("xmpp router: queue of a resource full; presence dropped"),
        }
    }
    any
}

async fn run(rx: Receiver<Msg>) {
    let mut accounts: HashMap<Box<str>, Account> = HashMap::new();
    while let Ok(msg) = rx.recv().await {
        match msg {
            Msg::Bind(b, reply) => {
                let acct = accounts.entry(b.bare.clone()).or_insert_with(|| Account {
                    resources: Resources::default(),
                    msn_side: None,
                    watchers: Vec::new(),
                    blocked: Vec::new(),
                    allowed: Vec::new(),
                    allows_strangers: true,
                });
                acct.watchers = b.watchers;
                acct.blocked = b.blocked;
                acct.allowed = b.allowed;
                acct.allows_strangers = b.allows_strangers;
                if acct.resources.len() >= XMPP_MAX_RESOURCES {
                    let _ = reply.try_send(None);
                    continue;
                }
                let mut resource = b.resource;
                if resource.is_empty() || acct.resources.contains_key(&resource) {
                    // RFC 6120 7.7.2.2: the server may give a new resource instead of refusing.
                    let base = if resource.is_empty() {
                        "msnpd".to_string()
                    } else {
                        resource
                    };
                    resource = format!("{base}-{}", crate::auth::token(6));
                }
                acct.resources.insert(
                    resource.clone(),
                    Resource {
                        session: b.session,
                        queue: b.queue,
                        presence: None,
                        carbons: false,
                    },
                );
                let _ = reply.try_send(Some(resource));
            }
            Msg::Unbind {
                bare,
                resource,
                session,
            } => {
                let Some(acct) = accounts.get_mut(&bare) else {
                    continue;
                };
                let was = match acct.resources.get(&resource) {
                    Some(r) if r.session == session => acct.resources.remove(&resource),
                    _ => None,
                };
                if acct.msn_side == Some(session) {
                    acct.msn_side = None;
                }
                if was.is_some_and(|r| r.presence.is_some()) {
                    let gone = unavailable(&bare, &resource);
                    broadcast(&accounts, &bare, &resource, &gone);
                }
                if accounts.get(&bare).is_some_and(|a| a.resources.is_empty()) {
                    accounts.remove(&bare);
                }
            }
            Msg::Presence {
                bare,
                resource,
                stanza,
                probe,
            } => {
                let Some(res) = accounts
                    .get_mut(&bare)
                    .and_then(|a| a.resources.get_mut(&resource))
                else {
                    continue;
                };
                let d = match stanza {
                    Some(d) => {
                        res.presence = Some(d.clone());
                        d
                    }
                    None => {
                        if res.presence.take().is_none() {
                            continue;
                        }
                        unavailable(&bare, &resource)
                    }
                };
                let queue = res.queue.clone();
                broadcast(&accounts, &bare, &resource, &d);
                // Their current presence, for those who let this account see it.
                for contact in probe {
                    let Some(acct) = accounts.get(&contact) else {
                        continue;
                    };
                    if !acct.watchers.contains(&bare) {
                        continue;
                    }
                    for r in acct.resources.values() {
                        if let Some(p) = &r.presence {
                            let _ = queue.try_send(p.clone());
                        }
                    }
                }
            }
            Msg::Carbons { bare, resource, on } => {
                if let Some(r) = accounts
                    .get_mut(&bare)
                    .and_then(|a| a.resources.get_mut(&resource))
                {
                    r.carbons = on;
                }
            }
            Msg::Route {
                from_bare,
                to_bare,
                to_resource,
                stanza,
                carbons,
                reply,
            } => {
                let copy = carbons.as_ref().map(|_| stanza.clone());
                let answer = match accounts.get(&to_bare) {
                    // A refused sender gets exactly the answer of an offline account, so it
                    // cannot tell whether the recipient is online.
                    Some(acct) if acct.admits(&to_bare, &from_bare) => {
                        let one = to_resource.as_deref().and_then(|r| acct.resources.get(r));
                        match one {
                            Some(res) => match res.queue.try_send(stanza) {
                                Ok(()) => Routed::Delivered,
                                Err(_) => Routed::Full,
                            },
                            None if to_resource.is_some() && stanza.starts_with("<iq") => {
                                // An IQ to a resource that is gone has no one to answer it.
                                Routed::Unavailable
                            }
                            None => {
                                let mut out = Routed::Unavailable;
                                for res in acct.resources.values() {
                                    match res.queue.try_send(stanza.clone()) {
                                        Ok(()) => out = Routed::Delivered,
                                        Err(_) if out != Routed::Delivered => out = Routed::Full,
                                        Err(_) => {}
                                    }
                                }
                                out
                            }
                        }
                    }
                    _ => Routed::Unavailable,
                };
                if let (Some(sender), Some(copy), Routed::Delivered) = (carbons, copy, answer) {
                    // The recipient's other resources, when one resource got it ...
                    if let (Some(r), Some(acct)) = (&to_resource, accounts.get(&to_bare))
                        && acct.resources.contains_key(r)
                    {
                        carbon_copies(acct, &to_bare, &[r.as_str()], "received", &copy);
                    }
                    // ... and the sender's other resources.
                    if let Some(acct) = accounts.get(&from_bare) {
                        let except = [&*sender, to_resource.as_deref().unwrap_or("")];
                        let skip: &[&str] = if from_bare == to_bare {
                            &except
                        } else {
                            &except[..1]
                        };
                        carbon_copies(acct, &from_bare, skip, "sent", &copy);
                    }
                }
                let _ = reply.try_send(answer);
            }
            Msg::ClaimMsn { bare, session } => {
                if let Some(a) = accounts.get_mut(&bare) {
                    a.msn_side = Some(session);
                }
            }
            Msg::HoldsMsn {
                bare,
                session,
                reply,
            } => {
                let holds = accounts
                    .get(&bare)
                    .is_some_and(|a| a.msn_side == Some(session));
                let _ = reply.try_send(holds);
            }
            Msg::ToOthers {
                bare,
                except,
                stanza,
            } => {
                if let Some(a) = accounts.get(&bare) {
                    for (_, r) in a.resources.iter().filter(|(name, _)| **name != *except) {
                        let _ = r.queue.try_send(stanza.clone());
                    }
                }
            }
            Msg::Count(reply) => {
                let _ = reply.try_send(accounts.values().map(|a| a.resources.len()).sum());
            }
        }
    }
}

/// Presence of `bare/resource` to its watchers' resources and its own other resources.
fn broadcast(accounts: &HashMap<Box<str>, Account>, bare: &str, resource: &str, d: &Delivery) {
    let Some(me) = accounts.get(bare) else {
        return;
    };
    to_all(me, d, Some(resource));
    for w in &me.watchers {
        if let Some(acct) = accounts.get(w) {
            to_all(acct, d, None);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn threads() -> usize {
        let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("Threads:"))
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or(0)
    }

    /// A burst of disconnects with the router's mailbox full waits in executor tasks, not in one
    /// OS thread each; the unbinds still arrive once the router runs.
    #[test]
    fn unbinds_past_a_full_mailbox_start_no_threads() {
        let ex: crate::server::mailbox::Spawner = Arc::new(smol::Executor::new());
        let router = Router::start(&ex);
        // The executor does not run yet: the actor never drains its mailbox.
        for i in 0..XMPP_ROUTER_MAILBOX as u64 {
            router.unbind("a@x.com", "r", i);
        }
        let before = threads();
        for i in 0..200 {
            router.unbind("a@x.com", "r", i);
        }
        let after = threads();
        assert!(after < before + 100, "{before} -> {after} threads");
        // Let the actor and the waiting tasks run: every unbind gets through.
        for _ in 0..100_000 {
            if !ex.try_tick() && router.tx.is_empty() {
                break;
            }
        }
        assert!(router.tx.is_empty());
    }
}
