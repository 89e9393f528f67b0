//! How the notification hosts of one community reach each other's users: the one seam where
//! msnpd would meet a message bus (docs/scale-out.md).
//!
//! A user is signed in on one host at a time; that host *claims* the user (on a real bus: it
//! subscribes to the user's subject). What one host's directory has for a user it does not hold,
//! it hands to the bus: fire-and-forget notices (presence lines, reverse-list changes, "re-read
//! your account"), and two request/reply exchanges (ringing a callee for a switchboard, and the
//! ILN query a login makes for contacts signed in elsewhere). Everything that crosses is data
//! (`Notice`, `Ring`, `Callee`, `Seen`): nothing refers to memory of the sending host.
//!
//! `Alone` is the bus of a server that is the only host: it has no one to reach, and tells the
//! directory so (`alone`), which then builds no notices for users who are simply offline.

use super::directory::{Callee, Directory, Notice, Ring, Seen};
use crate::model::UserId;
use std::future::Future;
use std::pin::Pin;

/// Identifies one notification host.
pub type HostId = u16;

/// A reply that arrives later.
pub type Later<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The narrow interface a directory uses to reach users on other hosts.
pub trait Bus: Send + Sync {
    /// True when there are no other hosts: the directory skips building notices.
    fn alone(&self) -> bool;
    /// `host`'s directory receives what is addressed to the users it claims.
    fn join(&self, host: HostId, directory: Directory);
    /// `host` now holds `user`'s session (the subject of `user` routes there).
    fn claim(&self, host: HostId, user: UserId, handle: &str);
    /// `host` no longer holds `user`'s session.
    fn release(&self, host: HostId, user: UserId, handle: &str);
    /// Delivers `notice` to whichever other host holds `to`; dropped when none does.
    fn publish(&self, from: HostId, to: UserId, notice: Notice);
    /// Rings `ring.target` on the host that holds them.
    fn ring(&self, from: HostId, ring: Ring) -> Later<'_, Option<Callee>>;
    /// What `viewer` sees of those of `ids` held by other hosts.
    fn seen(&self, from: HostId, ids: Vec<UserId>, viewer: UserId) -> Later<'_, Vec<Seen>>;
}

/// The bus of a single host.
pub struct Alone;

impl Bus for Alone {
    fn alone(&self) -> bool {
        true
    }
    fn join(&self, _: HostId, _: Directory) {}
    fn claim(&self, _: HostId, _: UserId, _: &str) {}
    fn release(&self, _: HostId, _: UserId, _: &str) {}
    fn publish(&self, _: HostId, _: UserId, _: Notice) {}
    fn ring(&self, _: HostId, _: Ring) -> Later<'_, Option<Callee>> {
        Box::pin(async { None })
    }
    fn seen(&self, _: HostId, _: Vec<UserId>, _: UserId) -> Later<'_, Vec<Seen>> {
        Box::pin(async { Vec::new() })
    }
}
