//! An in-memory bus joining notification hosts that run in one process: what a message bus
//! (NATS in docs/scale-out.md) does between machines, with the same three exchanges (notices to a
//! user's subject, ring and ILN requests with replies) and nothing more. It exists to prove the
//! seam: the hosts share no state but this routing table and the accounts store.

use crate::model::UserId;
use crate::ns::bus::{Bus, Callee, Host, HostId, Later, Notice, Ring, Seen};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Routes user-addressed messages to the host that claimed the user. The table is the broker's
/// subscription list; it is not any role's state.
#[derive(Default)]
pub struct MemoryBus {
    routes: Mutex<Routes>,
}

#[derive(Default)]
struct Routes {
    hosts: HashMap<HostId, Arc<dyn Host>>,
    by_id: HashMap<UserId, HostId>,
    by_handle: HashMap<String, HostId>,
}

impl MemoryBus {
    fn routes(&self) -> std::sync::MutexGuard<'_, Routes> {
        self.routes.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The directory of the host other than `from` that holds `user`.
    fn holder(&self, from: HostId, user: UserId) -> Option<Arc<dyn Host>> {
        let r = self.routes();
        let host = *r.by_id.get(&user)?;
        (host != from).then(|| r.hosts.get(&host).cloned())?
    }
}

impl Bus for MemoryBus {
    fn alone(&self) -> bool {
        false
    }

    fn join(&self, host: HostId, inbox: Arc<dyn Host>) {
        self.routes().hosts.insert(host, inbox);
    }

    fn claim(&self, host: HostId, user: UserId, handle: &str) {
        let mut r = self.routes();
        r.by_id.insert(user, host);
        r.by_handle.insert(handle.to_owned(), host);
    }

    fn release(&self, host: HostId, user: UserId, handle: &str) {
        let mut r = self.routes();
        if r.by_id.get(&user) == Some(&host) {
            r.by_id.remove(&user);
        }
        if r.by_handle.get(handle) == Some(&host) {
            r.by_handle.remove(handle);
        }
    }

    fn publish(&self, from: HostId, to: UserId, notice: Notice) {
        if let Some(d) = self.holder(from, to)
            && !d.deliver(to, notice)
        {
            log::warn!("bus: notice for user {to} dropped: their host's mailbox is full");
        }
    }

    fn ring(&self, from: HostId, ring: Ring) -> Later<'_, Option<Callee>> {
        let holder = {
            let r = self.routes();
            r.by_handle
                .get(&ring.call.target)
                .filter(|h| **h != from)
                .and_then(|h| r.hosts.get(h).cloned())
        };
        Box::pin(async move { holder?.ring_here(ring).await })
    }

    fn seen(&self, from: HostId, ids: Vec<UserId>, viewer: UserId) -> Later<'_, Vec<Seen>> {
        let mut per_host: HashMap<HostId, (Arc<dyn Host>, Vec<UserId>)> = HashMap::new();
        {
            let r = self.routes();
            for id in ids {
                if let Some(&h) = r.by_id.get(&id)
                    && h != from
                    && let Some(d) = r.hosts.get(&h)
                {
                    per_host
                        .entry(h)
                        .or_insert_with(|| (d.clone(), Vec::new()))
                        .1
                        .push(id);
                }
            }
        }
        Box::pin(async move {
            let mut out = Vec::new();
            for (_, (d, ids)) in per_host {
                out.extend(d.seen_here(ids, viewer).await);
            }
            out
        })
    }
}
