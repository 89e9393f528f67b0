//! Passport tickets issued by the HTTP login and redeemed by `USR TWN S` / `USR SSO S`: random,
//! single use, bound to one account and to the account's credential version (a password change
//! voids every ticket issued before it), short-lived.
//!
//! This is the table only, with no lock and no I/O: the logins actor (`logins.rs`) owns it.

use crate::auth::sso::SessionKey;
use crate::limits::{MAX_SERVICE_TOKENS, TICKET_SWEEP_AT, TICKET_TTL};
use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

/// Tickets issued and not yet redeemed, with their owner and expiry; owned by the logins actor
/// because the HTTP role issues them and the notification role redeems them.
#[derive(Default)]
pub struct Tickets {
    /// Ticket (the `t` value) -> what it was issued for.
    map: HashMap<Box<str>, Issued>,
}

/// One unredeemed ticket.
struct Issued {
    owner: Box<str>,
    /// The account's credential version when the password was checked.
    version: u64,
    expires: Instant,
    /// The MSNP15+ session key (`BinarySecret`) the RST.srf answer gave with this ticket: the
    /// client's `USR SSO S` answer is checked against it (`auth::sso::verify`).
    key: Option<SessionKey>,
}

/// A fresh ticket's `t` value and the whole value to put in `from-PP='...'`.
pub fn new_ticket() -> (String, String) {
    let t = crate::auth::token(40);
    let whole = format!("t={t}&p={}", crate::auth::token(16));
    (t, whole)
}

/// The `t` value of a ticket as a client presents it (`t=...&p=...`, or the bare `t` value,
/// possibly followed by `,ru=...`).
pub fn ticket_id(param: &str) -> &str {
    let t = param.strip_prefix("t=").unwrap_or(param);
    t.split(['&', ',']).next().unwrap_or("")
}

impl Tickets {
    /// Remembers ticket `t` for `handle` at credential version `version` until `ttl` from now.
    pub fn insert(&mut self, t: &str, handle: &str, version: u64, ttl: Duration) {
        if self.map.len() > TICKET_SWEEP_AT {
            self.expire();
        }
        self.map.insert(
            t.into(),
            Issued {
                owner: handle.into(),
                version,
                expires: Instant::now() + ttl,
                key: None,
            },
        );
    }

    /// Remembers ticket `t` for `handle` with the session key issued beside it (MSNP15+ SSO).
    pub fn insert_with_key(
        &mut self,
        t: &str,
        handle: &str,
        version: u64,
        ttl: Duration,
        key: SessionKey,
    ) {
        self.insert(t, handle, version, ttl);
        if let Some(issued) = self.map.get_mut(t) {
            issued.key = Some(key);
        }
    }

    /// A new ticket for `handle` at `version`, valid for `TICKET_TTL`; the value to put in
    /// `from-PP='...'`.
    pub fn issue(&mut self, handle: &str, version: u64) -> String {
        let (t, whole) = new_ticket();
        self.insert(&t, handle, version, TICKET_TTL);
        whole
    }

    /// Consumes ticket `t` (see `ticket_id`) if it was issued to `handle` under the account's
    /// current credential version `version` and has not expired. A ticket presented for the
    /// wrong account, or after a password change, is burnt too.
    pub fn redeem(&mut self, t: &str, handle: &str, version: u64) -> bool {
        self.take(t, handle, version).is_some()
    }

    /// As `redeem`, for `USR SSO S`: the session key issued with the ticket, if the ticket was
    /// valid for `handle` at `version` and came with one. Burnt either way.
    pub fn redeem_with_key(&mut self, t: &str, handle: &str, version: u64) -> Option<SessionKey> {
        self.take(t, handle, version)?.key
    }

    fn take(&mut self, t: &str, handle: &str, version: u64) -> Option<Issued> {
        self.map
            .remove(t)
            .filter(|i| &*i.owner == handle && i.version == version && Instant::now() < i.expires)
    }

    /// Forgets expired tickets.
    pub fn expire(&mut self) {
        let now = Instant::now();
        self.map.retain(|_, i| i.expires > now);
    }

    /// Tickets remembered.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.map.len()
    }
}

/// Tokens for the MSNP13+ web services (the address book and sharing service on
/// contacts.msn.com, storage, OIM): the RST.srf answer hands one out per requested service and
/// the client sends it with every SOAP call (`ABAuthHeader/TicketToken`) for the token's stated
/// lifetime, so unlike login tickets they are not consumed. Bounded: all live the same time, so
/// issue order is expiry order, and past `MAX_SERVICE_TOKENS` the oldest is forgotten (its client
/// signs in again, as after any expiry).
#[derive(Default)]
pub struct ServiceTokens {
    /// Token (the `t` value) -> (account, its credential version at issue, expiry).
    map: HashMap<Box<str>, (Box<str>, u64, Instant)>,
    /// Tokens in the order issued.
    order: VecDeque<Box<str>>,
}

impl ServiceTokens {
    /// A new token for `handle`, whose password was checked at credential version `version`,
    /// valid for `ttl`; the whole value (`t=...&p=...`) to put in the answer's
    /// `BinarySecurityToken`.
    pub fn issue(&mut self, handle: &str, version: u64, ttl: Duration) -> String {
        self.expire();
        while self.order.len() >= MAX_SERVICE_TOKENS {
            if let Some(oldest) = self.order.pop_front() {
                self.map.remove(&oldest);
            }
        }
        let (t, whole) = new_ticket();
        let t: Box<str> = t.into();
        self.map
            .insert(t.clone(), (handle.into(), version, Instant::now() + ttl));
        self.order.push_back(t);
        whole
    }

    /// The account a token (as the client sends it, see `ticket_id`) was issued to and the
    /// credential version it was issued under, while valid. The caller compares the version
    /// with the account's current one: a password change voids the token.
    pub fn owner(&self, param: &str) -> Option<(&str, u64)> {
        self.map
            .get(ticket_id(param))
            .filter(|(_, _, exp)| Instant::now() < *exp)
            .map(|(h, v, _)| (&**h, *v))
    }

    /// Forgets expired tokens (from the front: issue order is expiry order).
    pub fn expire(&mut self) {
        let now = Instant::now();
        while let Some(t) = self.order.front() {
            match self.map.get(t) {
                Some((_, _, exp)) if *exp > now => break,
                _ => {
                    if let Some(t) = self.order.pop_front() {
                        self.map.remove(&t);
                    }
                }
            }
        }
    }

    /// Tokens remembered.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether none is remembered.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_use_and_bound() {
        let mut t = Tickets::default();
        let a = t.issue("a@x.com", 0);
        assert!(!t.redeem(ticket_id(&a), "b@x.com", 0));
        assert!(
            !t.redeem(ticket_id(&a), "a@x.com", 0),
            "burnt by the wrong account"
        );
        let a = t.issue("a@x.com", 0);
        assert!(t.redeem(ticket_id(&format!("{a},ru=http://x")), "a@x.com", 0));
        assert!(!t.redeem(ticket_id(&a), "a@x.com", 0), "single use");
        let a = t.issue("a@x.com", 3);
        assert!(
            !t.redeem(ticket_id(&a), "a@x.com", 4),
            "issued before a password change"
        );
        assert!(!t.redeem(ticket_id(&a), "a@x.com", 3), "and burnt");
        assert_eq!(t.len(), 0);
    }

    #[test]
    fn expired_tickets_are_refused_and_swept() {
        let mut t = Tickets::default();
        let (id, _) = new_ticket();
        t.insert(&id, "a@x.com", 0, Duration::ZERO);
        let (live, _) = new_ticket();
        t.insert(&live, "b@x.com", 0, TICKET_TTL);
        t.expire();
        assert_eq!(t.len(), 1, "only the expired one is swept");
        t.insert(&id, "a@x.com", 0, Duration::ZERO);
        assert!(!t.redeem(&id, "a@x.com", 0));
        assert!(t.redeem(&live, "b@x.com", 0));
    }

    #[test]
    fn sso_tickets_carry_their_session_key() {
        let mut t = Tickets::default();
        let (id, _) = new_ticket();
        let key = SessionKey::random();
        t.insert_with_key(&id, "a@x.com", 0, TICKET_TTL, key.clone());
        assert_eq!(t.redeem_with_key(&id, "a@x.com", 0), Some(key.clone()));
        assert_eq!(t.redeem_with_key(&id, "a@x.com", 0), None, "single use");
        t.insert_with_key(&id, "a@x.com", 0, TICKET_TTL, key.clone());
        assert_eq!(
            t.redeem_with_key(&id, "b@x.com", 0),
            None,
            "bound to its account"
        );
        assert_eq!(
            t.redeem_with_key(&id, "a@x.com", 0),
            None,
            "burnt by the wrong one"
        );
        let (plain, _) = new_ticket();
        t.insert(&plain, "a@x.com", 0, TICKET_TTL);
        assert_eq!(
            t.redeem_with_key(&plain, "a@x.com", 0),
            None,
            "no key issued"
        );
        t.insert_with_key(&id, "a@x.com", 0, Duration::ZERO, key.clone());
        assert_eq!(t.redeem_with_key(&id, "a@x.com", 0), None, "expired");
        t.insert_with_key(&id, "a@x.com", 1, TICKET_TTL, key);
        assert_eq!(
            t.redeem_with_key(&id, "a@x.com", 2),
            None,
            "issued before a password change"
        );
        assert_eq!(t.redeem_with_key(&id, "a@x.com", 0), None, "expired");
    }

    #[test]
    fn service_tokens_are_reusable_bounded_and_expire() {
        let mut s = ServiceTokens::default();
        let a = s.issue("a@x.com", 4, TICKET_TTL);
        assert_eq!(s.owner(&a), Some(("a@x.com", 4)));
        assert_eq!(s.owner(&a), Some(("a@x.com", 4)), "not consumed");
        assert_eq!(s.owner(ticket_id(&a)), Some(("a@x.com", 4)));
        assert_eq!(s.owner("t=nothing"), None);
        let gone = s.issue("b@x.com", 0, Duration::ZERO);
        assert_eq!(s.owner(&gone), None);
        for i in 0..MAX_SERVICE_TOKENS {
            s.issue(&format!("u{i}@x.com"), 0, TICKET_TTL);
        }
        assert_eq!(s.len(), MAX_SERVICE_TOKENS);
        assert_eq!(s.owner(&a), None, "the oldest made room");
    }
}
