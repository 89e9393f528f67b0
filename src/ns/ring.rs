//! The notification side of the switchboard's ports: who a user is on a switchboard (`admit`),
//! and ringing a user into one (`HubRinger`, the `sb::Ringer` the server wires at start).
//!
//! This reads today's hub directory; it moves to the notification directory actor with it.

use crate::protocol::write::Enc;
use crate::sb::{Admit, Ring, RingRefused, RingReply, Ringer};
use crate::server::hub::{Hub, OnlineUser};
use std::sync::{Arc, Weak};

/// The switchboard identity of an online user, as of now.
pub fn admit(user: &OnlineUser) -> Admit {
    let st = user.state();
    Admit {
        user: user.id,
        handle: user.handle.clone(),
        name: Enc(&st.account.friendly).to_string(),
        caps: st.presence.caps,
        dialect: user.dialect,
    }
}

/// Rings users through the hub's directory. Holds the hub weakly: the registry actor that owns
/// this must not keep the hub (and its storage handle) alive after shutdown.
pub struct HubRinger(Weak<Hub>);

impl HubRinger {
    pub fn new(hub: &Arc<Hub>) -> Arc<HubRinger> {
        Arc::new(HubRinger(Arc::downgrade(hub)))
    }

    fn ring_now(&self, ring: &Ring) -> Result<Admit, RingRefused> {
        let hub = self.0.upgrade().ok_or(RingRefused)?;
        let target = hub.get_by_handle(&ring.target).ok_or(RingRefused)?;
        // Offline, hidden, blocking the caller, or not accepting IMs all look the same.
        {
            let st = target.state();
            if st.seen_by(ring.caller).is_none() || st.presence.ims_off {
                return Err(RingRefused);
            }
        }
        let addr = hub.sb_address(&target.ns_local);
        let rng = format!(
            "RNG {} {addr} CKI {} {} {}\r\n",
            ring.sb, ring.cookie, ring.caller_handle, ring.caller_name
        );
        target
            .outbox
            .push(&[rng.as_bytes()])
            .map_err(|_| RingRefused)?;
        Ok(admit(&target))
    }
}

impl Ringer for HubRinger {
    fn ring(&self, ring: Ring) -> RingReply {
        let answer = self.ring_now(&ring);
        Box::pin(async move { answer })
    }
}
