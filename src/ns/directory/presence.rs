//! The presence model: what the directory keeps for each online user (the session, the account
//! mirror, what they have set, pacing) and what others may see of it.

use crate::dialect::Dialect;
use crate::model::{Account, MachineGuid, Status, UserId};
use crate::ns::pace::Pace;
use crate::protocol::uux::{EndpointData, PrivateEndpointData};
use crate::server::connection::Reached;
use crate::server::outbox::Outbox;
use std::sync::Arc;

/// What others can see of me, besides my lists.
#[derive(Clone, Debug, Default)]
pub struct Presence {
    /// `None` until the first CHG after login.
    pub status: Option<Status>,
    /// Client capability flags from CHG (MSNP8+).
    pub caps: u32,
    /// Extended capability flags (`caps:capsex`, MSNP16+; 0 from older clients).
    pub caps_ex: u32,
    /// `IMS OFF`: not accepting switchboard invitations.
    pub ims_off: bool,
    /// The MSNObject (URL-encoded, as sent) followed by the personal message (`<Data>` XML,
    /// as sent), in one allocation: every online user has a `Presence`, so two boxes would cost
    /// every one of them 16 bytes more. `split` is where the MSNObject ends; each part is absent
    /// when its flag says so.
    extras: Option<Box<[u8]>>,
    split: u16,
    has_msnobj: bool,
    has_psm: bool,
}

impl Presence {
    /// Online and not hidden.
    pub fn visible_status(&self) -> Option<Status> {
        self.status.filter(|s| *s != Status::Hidden)
    }

    /// The MSNObject, URL-encoded as the client sent it (MSNP9+ CHG).
    pub fn msnobj(&self) -> Option<&str> {
        let e = self.extras.as_deref()?;
        self.has_msnobj
            .then(|| std::str::from_utf8(&e[..self.split as usize]).ok())
            .flatten()
    }

    /// The personal message document as sent (MSNP11+ UUX).
    pub fn psm(&self) -> Option<&[u8]> {
        let e = self.extras.as_deref()?;
        self.has_psm.then(|| &e[self.split as usize..])
    }

    /// Replaces the MSNObject.
    pub fn set_msnobj(&mut self, msnobj: Option<&str>) {
        let psm = self.psm().map(<[u8]>::to_vec);
        self.pack(msnobj.map(str::as_bytes), psm.as_deref());
    }

    /// Replaces the personal message.
    pub fn set_psm(&mut self, psm: Option<&[u8]>) {
        let msnobj = self.msnobj().map(str::to_owned);
        self.pack(msnobj.as_deref().map(str::as_bytes), psm);
    }

    fn pack(&mut self, msnobj: Option<&[u8]>, psm: Option<&[u8]>) {
        // Both are bounded by a command line or payload (`MAX_LINE`, `MAX_NS_PAYLOAD`).
        let first = msnobj.unwrap_or_default();
        self.split = first.len().min(u16::MAX as usize) as u16;
        self.has_msnobj = msnobj.is_some();
        self.has_psm = psm.is_some();
        self.extras = (msnobj.is_some() || psm.is_some()).then(|| {
            let mut v = Vec::with_capacity(first.len() + psm.map_or(0, <[u8]>::len));
            v.extend_from_slice(&first[..self.split as usize]);
            v.extend_from_slice(psm.unwrap_or_default());
            v.into_boxed_slice()
        });
    }
}

/// A notification session as the directory knows it: how to reach it and who it is.
pub struct Member {
    /// The account.
    pub id: UserId,
    /// The account's handle (lower case), shared with the session and the by-handle index: one
    /// copy per online user.
    pub handle: Arc<str>,
    /// The protocol version this session speaks: lines to it are formatted for it.
    pub dialect: &'static Dialect,
    /// The session's outbound queue.
    pub outbox: Arc<Outbox>,
    /// Distinguishes this login from a later one of the same account.
    pub session: u64,
    /// Our address as this client reached it (where to point it for the switchboard).
    pub ns_local: Reached,
}

/// An online user: the session, its account mirror and presence, owned by the actor.
pub(super) struct Online {
    pub(super) member: Member,
    /// Shared with snapshots handed to the user's own session; changed with `Arc::make_mut`, so
    /// a snapshot in use is never changed under its reader.
    pub(super) account: Arc<Account>,
    pub(super) presence: Presence,
    /// Whether watchers were last told this user is visible (NLN) rather than offline.
    pub(super) shown: bool,
    /// MSNP16+ only: the account's other endpoints signed in at once and every endpoint's
    /// `UUX` endpoint data. Boxed and absent for everyone else (8 bytes per online user).
    pub(super) mpop: Option<Box<Mpop>>,
    /// Pacing, only once an announcement found a watcher backed up (`pace.rs`): most users
    /// never get there, so most pay 8 bytes for it.
    pub(super) pace: Option<Box<Pace>>,
}

impl Online {
    /// The status `viewer` sees of me, if any.
    pub(super) fn seen_by(&self, viewer: UserId) -> Option<Status> {
        self.presence
            .visible_status()
            .filter(|_| self.account.allows(viewer))
    }
}

/// What an account signed in with a machine GUID in an MSNP16+ dialect has: the GUID of its
/// first session, the sessions of its other endpoints (several places at once) and their data.
pub(super) struct Mpop {
    /// The machine GUID of `Online::member`.
    pub(super) primary: MachineGuid,
    /// The other endpoints' sessions and GUIDs (at most `MAX_ENDPOINTS` - 1).
    pub(super) others: Vec<(Member, MachineGuid)>,
    /// Each endpoint's data from `UUX` (`EndpointData`, `PrivateEndpointData`), by machine GUID.
    pub(super) endpoints: Vec<EndpointInfo>,
}

/// One endpoint's data as its `UUX` set it.
pub(super) struct EndpointInfo {
    pub(super) guid: MachineGuid,
    pub(super) data: EndpointData,
    pub(super) private: Option<PrivateEndpointData>,
}

impl Online {
    /// Every session of this account with its endpoint GUID: the first, then the other
    /// MSNP16+ endpoints. No allocation (presence fan-out walks it per watcher).
    pub(super) fn sessions(&self) -> impl Iterator<Item = (&Member, Option<MachineGuid>)> {
        std::iter::once((&self.member, self.mpop.as_ref().map(|m| m.primary))).chain(
            self.mpop
                .iter()
                .flat_map(|m| m.others.iter().map(|(s, g)| (s, Some(*g)))),
        )
    }

    /// Every session's outbound member (for lines every endpoint gets).
    pub(super) fn members(&self) -> impl Iterator<Item = &Member> {
        self.sessions().map(|(m, _)| m)
    }
}

/// A one-line summary of an online user, for the web page and `msnpd status`.
#[derive(Clone, Debug)]
pub struct Listed {
    /// Their handle.
    pub handle: String,
    /// Their friendly name, decoded.
    pub friendly: String,
    /// Online and not hidden (the page counts only those).
    pub visible: bool,
}
