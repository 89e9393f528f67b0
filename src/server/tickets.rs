//! Passport tickets issued by the HTTP login and redeemed by `USR TWN S`: random, single use,
//! bound to one account and to the account's credential version (a password change voids every
//! ticket issued before it), short-lived.
//!
//! This is the table only, with no lock and no I/O: the logins actor (`logins.rs`) owns it.

use crate::limits::{TICKET_SWEEP_AT, TICKET_TTL};
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// Tickets issued and not yet redeemed, with their owner and expiry; owned by the logins actor
/// because the HTTP role issues them and the notification role redeems them.
#[derive(Default)]
pub struct Tickets {
    /// Ticket (the `t` value) -> its owner.
    map: HashMap<Box<str>, Issued>,
}

/// Whom a ticket was issued to, under which credential version, and until when.
struct Issued {
    handle: Box<str>,
    version: u64,
    expires: Instant,
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
        let issued = Issued {
            handle: handle.into(),
            version,
            expires: Instant::now() + ttl,
        };
        self.map.insert(t.into(), issued);
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
        self.map.remove(t).is_some_and(|i| {
            &*i.handle == handle && i.version == version && Instant::now() < i.expires
        })
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
}
