//! The request API: `Directory`, the handle every session, the storage thread and the other
//! roles use to reach the actor, and the typed messages it sends.

use super::lines::push_initial;
use super::presence::{Listed, Member, Presence};
use crate::dialect::Dialect;
use crate::model::MachineGuid;
use crate::model::{Account, Blp, Contact, Group, Phones, Status, UserId};
use crate::ns::bus::{Bus, Callee, Host, HostId, Later, Notice, Ring, Seen};
use crate::protocol::uux::{EndpointData, PrivateEndpointData};
use crate::storage::Storage;
use smol::channel::{Receiver, Sender};
use std::sync::Arc;

pub(super) type Reply<T> = Sender<T>;

/// One committed change to a user's account mirror, as data: the actor applies it, so what the
/// mirror becomes is decided by the committed rows, not by code the sender hands over.
#[derive(Debug)]
pub enum MirrorUpdate {
    /// My row for `UserId` is now this one (a row on no list is dropped from the mirror).
    Contact(UserId, Contact),
    /// Group `num` is now `Some` group, or deleted (`None`).
    Group(u8, Option<Group>),
    /// My friendly name.
    Friendly(String),
    /// Who sees me by default.
    Blp(Blp),
    /// Whether my client prompts when someone adds me.
    Gtc(bool),
    /// My phone numbers (`None`: none set, see `Phones::boxed`).
    Phones(Option<Box<Phones>>),
    /// The whole account, re-read after another host changed it.
    Reload(Box<Account>),
}

/// Whose view of the changed account's owner the actor re-evaluates after applying a change
/// (NLN or FLN to a viewer whose view changed).
#[derive(Debug)]
pub enum Viewers {
    /// No one: the change cannot alter what others see.
    Nobody,
    /// These contacts (the targets of list changes).
    These(Vec<UserId>),
    /// Everyone on the owner's reverse list (a privacy mode change).
    ReverseList,
}

/// A committed account change, sent by the storage job right after the commit as one message:
/// the mirror updates in commit order, the notices to the other side, and what presence to
/// re-evaluate. The actor answers with `Applied` once all of it is done.
#[derive(Debug)]
pub struct Committed {
    /// Whose account changed (the viewers are re-evaluated for their presence).
    pub owner: UserId,
    /// Mirror updates, each with that user's new list serial, applied in this order.
    pub updates: Vec<(UserId, u32, MirrorUpdate)>,
    /// Told after the updates, in this order (reverse-list and phone notices).
    pub notices: Vec<(UserId, Notice)>,
    /// Whose view of the owner to re-evaluate.
    pub viewers: Viewers,
    /// The owner's own presence fields changed (a new friendly name): announce it.
    pub announce: bool,
    /// A contact whose presence the owner now sees (an FL add): reported back in `Applied`.
    pub report: Option<UserId>,
}

/// What the actor says once it applied a `Committed` change.
#[derive(Debug, Default)]
pub struct Applied {
    /// What the owner sees of `Committed::report`, when that contact is signed in here and
    /// visible to them.
    pub seen: Option<Seen>,
    /// `Committed::report` is not signed in here but other hosts exist: ask the bus.
    pub elsewhere: bool,
}

pub(super) enum Msg {
    Register(
        Member,
        Option<MachineGuid>,
        Box<Account>,
        Reply<Option<Member>>,
    ),
    SignOut(UserId, u64),
    Kick(String, &'static [u8], Reply<bool>),
    Committed(Box<Committed>, Reply<Applied>),
    Account(UserId, Reply<Option<Arc<Account>>>),
    Presence(UserId, Reply<Option<Presence>>),
    SetStatus(UserId, Status, Option<(u32, u32)>, Option<Option<Box<str>>>),
    SetPsm(UserId, Option<Box<[u8]>>),
    SetEndpoint(
        UserId,
        MachineGuid,
        Option<EndpointData>,
        Option<PrivateEndpointData>,
    ),
    SetImsOff(UserId, bool),
    EndpointMessage(Box<EndpointMessage>, Reply<bool>),
    TellEndpoints(UserId),
    InitialPresence(
        UserId,
        u32,
        Option<UserId>,
        Reply<(Vec<Vec<u8>>, Vec<UserId>)>,
    ),
    Notify(UserId, Notice),
    Ring(Ring, Reply<Rung>),
    List(Reply<Vec<Listed>>),
    Lookup(String, Reply<Option<UserId>>),
    Seen(Vec<UserId>, UserId, Reply<Vec<Seen>>),
    Callee(UserId, Reply<Option<Callee>>),
}

/// A `UUN` (MSNP13+) on its way to the target's sessions.
#[derive(Debug)]
pub struct EndpointMessage {
    /// The sender.
    pub from: UserId,
    /// The target's normalised handle (the sender's own for MPOP).
    pub to: String,
    /// Only this endpoint of the target, when named (`email;{guid}`).
    pub endpoint: Option<MachineGuid>,
    /// The notification type (`UUN`'s third field).
    pub kind: u32,
    /// The payload, as sent (bounded by `MAX_NS_PAYLOAD`).
    pub data: Box<[u8]>,
}

/// What the directory actor is started with.
pub struct Setup {
    /// Where accounts are re-read when another host changed one.
    pub storage: Storage,
    /// This notification host's number on the bus.
    pub host: HostId,
    /// The bus to the other hosts (`bus::Alone` for a single host).
    pub bus: Arc<dyn Bus>,
    /// The name clients are given for this server (`--public-host`), for RNG addresses.
    pub public_host: Option<String>,
    /// Runs when a session is replaced, kicked or ends: closes the user's switchboard
    /// connections and burns their cookies.
    pub on_sign_out: Box<dyn Fn(UserId) + Send + Sync>,
}

/// The handle every session, the storage thread and the other roles use to reach the actor.
#[derive(Clone)]
pub struct Directory {
    pub(super) tx: Sender<Msg>,
    pub(super) host: HostId,
    pub(super) bus: Arc<dyn Bus>,
    /// Messages sent through this handle and its clones (unit tests count round trips).
    #[cfg(test)]
    pub(crate) sent: Arc<std::sync::atomic::AtomicUsize>,
}

/// What ringing found on this host.
pub(super) enum Rung {
    Answered(Callee),
    Refused,
    NotHere,
}

/// The actor is gone: only during shutdown.
#[derive(Debug)]
pub struct DirectoryGone;

impl From<DirectoryGone> for crate::server::session::Disconnect {
    fn from(_: DirectoryGone) -> Self {
        crate::server::session::Disconnect::by_server("directory unavailable (shutting down)")
    }
}

impl Directory {
    async fn send(&self, m: Msg) -> Result<(), DirectoryGone> {
        self.count();
        self.tx.send(m).await.map_err(|_| DirectoryGone)
    }

    async fn ask<T>(&self, make: impl FnOnce(Reply<T>) -> Msg) -> Result<T, DirectoryGone> {
        let (tx, rx) = smol::channel::bounded(1);
        self.send(make(tx)).await?;
        rx.recv().await.map_err(|_| DirectoryGone)
    }

    /// Counts a message in unit tests; nothing otherwise.
    fn count(&self) {
        #[cfg(test)]
        self.sent.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }

    /// Makes `member` the account's online session, with `account` as its mirror. Sent from the
    /// storage thread right after the account was loaded, so every later committed change to it
    /// reaches the mirror after this. The answer (the session it replaced) arrives on the
    /// returned receiver.
    pub fn register_blocking(
        &self,
        member: Member,
        account: Account,
    ) -> Result<Receiver<Option<Member>>, DirectoryGone> {
        self.register_endpoint_blocking(member, None, account)
    }

    /// As `register_blocking`, for a session that named its machine GUID (MSNP16+): when every
    /// session of the account is such an endpoint, the new one joins them (MPOP) rather than
    /// replacing them; only a session of the same GUID is replaced (`OUT OTH`).
    pub fn register_endpoint_blocking(
        &self,
        member: Member,
        endpoint: Option<MachineGuid>,
        account: Account,
    ) -> Result<Receiver<Option<Member>>, DirectoryGone> {
        let (tx, rx) = smol::channel::bounded(1);
        self.tx
            .send_blocking(Msg::Register(member, endpoint, Box::new(account), tx))
            .map_err(|_| DirectoryGone)?;
        Ok(rx)
    }

    /// Applies a committed account change (`ns/account.rs`): mirrors, notices, presence. Called
    /// on the storage thread right after the commit, so mirrors follow the database in commit
    /// order; the answer arrives on the returned receiver once the actor applied all of it.
    pub fn commit_blocking(&self, change: Committed) -> Result<Receiver<Applied>, DirectoryGone> {
        self.count();
        let (tx, rx) = smol::channel::bounded(1);
        self.tx
            .send_blocking(Msg::Committed(Box::new(change), tx))
            .map_err(|_| DirectoryGone)?;
        Ok(rx)
    }

    /// Replaces the mirror of `id` with `account` re-read from storage (after another host
    /// changed it). Called on the storage thread.
    pub(super) fn reload_blocking(&self, id: UserId, account: Account) {
        let change = Committed {
            owner: id,
            updates: vec![(id, account.serial, MirrorUpdate::Reload(Box::new(account)))],
            notices: Vec::new(),
            viewers: Viewers::Nobody,
            announce: false,
            report: None,
        };
        // Nobody waits for the answer: the receiver is dropped.
        let _ = self.commit_blocking(change);
    }

    /// The end of session `session` of `id`: FLN to watchers unless a newer login took over.
    pub async fn sign_out(&self, id: UserId, session: u64) -> Result<(), DirectoryGone> {
        self.send(Msg::SignOut(id, session)).await
    }

    /// `sign_out` from a place that cannot wait (a session dropped by a panic).
    pub fn sign_out_now(&self, id: UserId, session: u64) {
        if let Err(e) = self.tx.try_send(Msg::SignOut(id, session)) {
            log::error!("directory: sign-out of user {id} lost: {e}");
        }
    }

    /// Ends the session of `handle`, if online here, sending `line` first (`OUT OTH`); says
    /// whether it was.
    pub async fn kick(&self, handle: String, line: &'static [u8]) -> Result<bool, DirectoryGone> {
        self.ask(|r| Msg::Kick(handle, line, r)).await
    }

    /// A snapshot of `id`'s account mirror.
    pub async fn account(&self, id: UserId) -> Result<Option<Arc<Account>>, DirectoryGone> {
        self.ask(|r| Msg::Account(id, r)).await
    }

    /// What `id` has set, if online.
    pub async fn presence(&self, id: UserId) -> Result<Option<Presence>, DirectoryGone> {
        self.ask(|r| Msg::Presence(id, r)).await
    }

    /// CHG: a new status (and capabilities and MSNObject where the dialect carries them),
    /// announced to watchers as pacing allows.
    pub async fn set_status(
        &self,
        id: UserId,
        status: Status,
        caps: Option<u32>,
        msnobj: Option<Option<Box<str>>>,
    ) -> Result<(), DirectoryGone> {
        self.set_status_ex(id, status, caps.map(|c| (c, 0)), msnobj)
            .await
    }

    /// As `set_status`, with MSNP16+'s extended capabilities (`caps:capsex`).
    pub async fn set_status_ex(
        &self,
        id: UserId,
        status: Status,
        caps: Option<(u32, u32)>,
        msnobj: Option<Option<Box<str>>>,
    ) -> Result<(), DirectoryGone> {
        self.send(Msg::SetStatus(id, status, caps, msnobj)).await
    }

    /// UUX: a new personal message, announced as pacing allows.
    pub async fn set_psm(&self, id: UserId, psm: Option<Box<[u8]>>) -> Result<(), DirectoryGone> {
        self.send(Msg::SetPsm(id, psm)).await
    }

    /// MSNP16+ `UUX` endpoint data of one endpoint (public, private, or both); the account's
    /// own endpoints are told (the self `UBX`).
    pub async fn set_endpoint_data(
        &self,
        id: UserId,
        endpoint: MachineGuid,
        data: Option<EndpointData>,
        private: Option<PrivateEndpointData>,
    ) -> Result<(), DirectoryGone> {
        self.send(Msg::SetEndpoint(id, endpoint, data, private))
            .await
    }

    /// `UUN`: hands a message to the target's sessions as `UBN`; whether anyone got it.
    pub async fn endpoint_message(&self, message: EndpointMessage) -> Result<bool, DirectoryGone> {
        self.ask(|r| Msg::EndpointMessage(Box::new(message), r))
            .await
    }

    /// The self `UBX` (MSNP16+) to every endpoint of `id`: sent after an endpoint's login burst.
    pub async fn tell_endpoints(&self, id: UserId) -> Result<(), DirectoryGone> {
        self.send(Msg::TellEndpoints(id)).await
    }

    /// IMS ON/OFF.
    pub async fn set_ims_off(&self, id: UserId, off: bool) -> Result<(), DirectoryGone> {
        self.send(Msg::SetImsOff(id, off)).await
    }

    /// The ILN (and MSNP11+ UBX) lines for `viewer`'s online contacts (or just `only`), with
    /// `trid`.
    pub async fn initial_presence(
        &self,
        viewer: UserId,
        dialect: &'static Dialect,
        trid: u32,
        only: Option<UserId>,
    ) -> Result<Vec<Vec<u8>>, DirectoryGone> {
        let (mut lines, elsewhere) = self
            .ask(|r| Msg::InitialPresence(viewer, trid, only, r))
            .await?;
        if !elsewhere.is_empty() {
            for c in self.bus.seen(self.host, elsewhere, viewer).await {
                push_initial(
                    &mut lines,
                    dialect,
                    trid,
                    (c.status, &c.handle, &c.friendly, &c.presence),
                );
            }
        }
        Ok(lines)
    }

    /// Rings `ring.target` for a switchboard: `None` when offline, invisible to the caller,
    /// refusing invitations or too slow to take the RNG (all look the same to the caller, 217).
    pub async fn ring(&self, ring: Ring) -> Result<Option<Callee>, DirectoryGone> {
        match self.ask(|r| Msg::Ring(ring.clone(), r)).await? {
            Rung::Answered(c) => Ok(Some(c)),
            Rung::Refused => Ok(None),
            Rung::NotHere => Ok(self.bus.ring(self.host, ring).await),
        }
    }

    /// `id` as a switchboard participant (handle, current name, capabilities, dialect), if
    /// signed in here.
    pub async fn callee(&self, id: UserId) -> Result<Option<Callee>, DirectoryGone> {
        self.ask(|r| Msg::Callee(id, r)).await
    }

    /// Everyone online on this host.
    pub async fn list(&self) -> Result<Vec<Listed>, DirectoryGone> {
        self.ask(Msg::List).await
    }

    /// The account id of `handle` if it is online on this host.
    pub async fn lookup(&self, handle: String) -> Result<Option<UserId>, DirectoryGone> {
        self.ask(|r| Msg::Lookup(handle, r)).await
    }
}

/// The bus reaches this host's users through their directory.
impl Host for Directory {
    /// A notice from another host for a user signed in here (the bus's delivery side). Never
    /// waits: when the mailbox is full the notice is dropped and the bus told so.
    fn deliver(&self, to: UserId, notice: Notice) -> bool {
        self.tx.try_send(Msg::Notify(to, notice)).is_ok()
    }

    fn ring_here(&self, ring: Ring) -> Later<'_, Option<Callee>> {
        Box::pin(async move {
            match self.ask(|r| Msg::Ring(ring, r)).await {
                Ok(Rung::Answered(c)) => Some(c),
                _ => None,
            }
        })
    }

    fn seen_here(&self, ids: Vec<UserId>, viewer: UserId) -> Later<'_, Vec<Seen>> {
        Box::pin(async move {
            self.ask(|r| Msg::Seen(ids, viewer, r))
                .await
                .unwrap_or_default()
        })
    }
}
