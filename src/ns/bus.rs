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
//! The bus reaches a host through the `Host` trait (what one host answers), never the concrete
//! directory: the data that crosses is declared here, and the directory depends on this file,
//! not the other way round.
//!
//! `Alone` is the bus of a server that is the only host: it has no one to reach, and tells the
//! directory so (`alone`), which then builds no notices for users who are simply offline.

use super::directory::presence::Presence;
use crate::model::{Phones, Status, UserId};
use std::future::Future;
use std::pin::Pin;

/// Identifies one notification host.
pub type HostId = u16;

/// A reply that arrives later.
pub type Later<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Something to tell one user, formatted by whichever host that user is signed in on.
#[derive(Clone, Debug)]
pub enum Notice {
    /// `who` put me on their forward list (`added`) or took me off it; `serial` is my new list
    /// serial, `name` their friendly name.
    ReverseList {
        /// Their handle.
        who: String,
        /// Added (`ADD/ADC 0 RL`) rather than removed (`REM 0 RL`).
        added: bool,
        /// My list serial after the change, as the line carries it.
        serial: u32,
        /// Their friendly name, decoded.
        name: String,
    },
    /// `who`'s phone numbers changed (`kinds` of them); my copy of them and my serial follow.
    Phones {
        /// Their account, the key of their row in my mirror.
        who: UserId,
        /// Their handle, as the BPR lines name them.
        handle: String,
        /// All their numbers now (my mirror's copy is replaced).
        phones: Box<Phones>,
        /// Which fields changed (`PHH`, `PHW`, `PHM`, `MOB`): only those are sent.
        kinds: Vec<&'static str>,
        /// My list serial after the change (their change bumped it).
        serial: u32,
    },
    /// `who` (the full presence line's fields) is online for me, or went offline (`status` None).
    Presence {
        /// Their handle.
        handle: String,
        /// What I see: `Some` for NLN, `None` for FLN.
        status: Option<Status>,
        /// Their friendly name, decoded.
        name: String,
        /// Their client capabilities (shown to MSNP8+ watchers).
        caps: u32,
        /// Their MSNObject as they sent it (shown to MSNP9+ watchers).
        msnobj: Option<Box<str>>,
    },
    /// My account changed on another host's storage: reload the mirror.
    Reload,
}

/// A switchboard invitation the directory delivers (the notification half of `CAL`): what the
/// switchboard asked for, and the switchboard's port (its host is the one the callee reached us
/// at).
#[derive(Clone, Debug)]
pub struct Ring {
    /// The switchboard's request: caller, callee, session and the cookie already issued.
    pub call: crate::sb::Ring,
    /// The switchboard listener's port, named in the `RNG` line.
    pub sb_port: u16,
}

/// Who answered a ring, or who enters a switchboard: the switchboard's own `Admit` (the
/// notification role fills it in, the switchboard never looks users up).
pub use crate::sb::Admit as Callee;

/// What a viewer sees of one contact, for ILN across hosts.
#[derive(Clone, Debug)]
pub struct Seen {
    /// The status the viewer sees (never hidden: hidden contacts are left out).
    pub status: Status,
    /// The contact's handle.
    pub handle: String,
    /// The contact's friendly name, decoded.
    pub friendly: String,
    /// The rest of what the ILN/UBX lines carry (capabilities, MSNObject, personal message).
    pub presence: Presence,
}

/// What one host answers for the users it holds (its directory implements it).
pub trait Host: Send + Sync {
    /// A notice for a user signed in on this host. Never waits: `false` when it was dropped.
    fn deliver(&self, to: UserId, notice: Notice) -> bool;
    /// A ring from another host: answered only by this host's users.
    fn ring_here(&self, ring: Ring) -> Later<'_, Option<Callee>>;
    /// What `viewer` sees of those of `ids` who are signed in on this host.
    fn seen_here(&self, ids: Vec<UserId>, viewer: UserId) -> Later<'_, Vec<Seen>>;
}

/// The narrow interface a directory uses to reach users on other hosts.
pub trait Bus: Send + Sync {
    /// True when there are no other hosts: the directory skips building notices.
    fn alone(&self) -> bool;
    /// `host` (its directory) receives what is addressed to the users it claims.
    fn join(&self, host: HostId, inbox: std::sync::Arc<dyn Host>);
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
    fn join(&self, _: HostId, _: std::sync::Arc<dyn Host>) {}
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
