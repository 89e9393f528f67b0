//! Passport tickets issued by the HTTP login and redeemed by `USR TWN S`: random, single use,
//! bound to one account, short-lived.

use crate::limits::{TICKET_SWEEP_AT, TICKET_TTL};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Tickets issued and not yet redeemed, with their owner and expiry; held by the `Hub` because
/// the HTTP role issues them and the notification role redeems them.
#[derive(Default)]
pub struct Tickets {
    map: Mutex<HashMap<String, (String, Instant)>>,
}

impl Tickets {
    /// A new ticket for `handle`; the value to put in `from-PP='...'`.
    pub fn issue(&self, handle: &str) -> String {
        self.issue_for(handle, TICKET_TTL)
    }

    /// As `issue`, valid for `ttl`.
    pub fn issue_for(&self, handle: &str, ttl: Duration) -> String {
        let t = crate::auth::token(40);
        let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() > TICKET_SWEEP_AT {
            let now = Instant::now();
            map.retain(|_, (_, exp)| *exp > now);
        }
        map.insert(t.clone(), (handle.to_owned(), Instant::now() + ttl));
        format!("t={t}&p={}", crate::auth::token(16))
    }

    /// Consumes the ticket in `param` (`t=...&p=...`, or the bare `t` value) if it was issued to
    /// `handle` and has not expired. A ticket presented for the wrong account is burnt too.
    pub fn redeem(&self, param: &str, handle: &str) -> Option<()> {
        let t = param.strip_prefix("t=").unwrap_or(param);
        let t = t.split(['&', ',']).next().unwrap_or("");
        let (owner, expires) = self
            .map
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(t)?;
        (owner == handle && Instant::now() < expires).then_some(())
    }

    /// Drops every expired ticket (the housekeeping tick calls it).
    pub fn expire(&self) {
        let now = Instant::now();
        self.map
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|_, (_, exp)| *exp > now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_use_and_bound() {
        let t = Tickets::default();
        let a = t.issue("a@x.com");
        assert!(t.redeem(&a, "b@x.com").is_none());
        assert!(
            t.redeem(&a, "a@x.com").is_none(),
            "burnt by the wrong account"
        );
        let a = t.issue("a@x.com");
        assert!(t.redeem(&format!("{a},ru=http://x"), "a@x.com").is_some());
        assert!(t.redeem(&a, "a@x.com").is_none(), "single use");
    }

    #[test]
    fn expired_tickets_are_refused() {
        let t = Tickets::default();
        let a = t.issue_for("a@x.com", Duration::from_millis(30));
        std::thread::sleep(Duration::from_millis(40));
        assert!(t.redeem(&a, "a@x.com").is_none());
    }
}
