//! The notification role's actor: who is online, what each of them has set (status, personal
//! message, invitations on/off) and the mirror of each online user's account.
//!
//! One task owns all of it; connection tasks, the storage thread and the switchboard role reach it
//! only through its bounded mailbox (`Directory`), so nothing here is behind a lock and every
//! change is applied in the order it was sent. Presence fan-out runs inside the actor: a status
//! change is one message, after which the actor formats each dialect's line once into a stack
//! buffer and copies it into every watcher's outbox (no allocation per watcher).
//!
//! Mailbox full (`limits::DIRECTORY_MAILBOX` messages queued): a connection task's `send` waits
//! for room, which stops it reading its client (backpressure on whoever floods); the storage
//! thread's `send_blocking` waits the same way, which is safe because the actor never waits for
//! storage or for any other actor. Two senders never wait and drop instead, with a log line: a
//! panicking session's last sign-out (`sign_out_now`, which cannot wait) and a notice from
//! another host (`deliver`: the bus must not stall on one host).
//!
//! Users signed in on other hosts are reached through the `Bus` (see `bus.rs` and
//! docs/scale-out.md): a notice for a user who is not here is handed to it.

use super::bus::{Bus, HostId};
use super::pace::{self, Pace};
use crate::dialect::{AsyncBpr, Dialect, ListCommands};
use crate::limits::DIRECTORY_MAILBOX;
use crate::model::{Account, Phones, Status, UserId, list};
use crate::protocol::percent::Enc;
use crate::protocol::write::LineBuf;
use crate::server::connection::Reached;
use crate::server::outbox::Outbox;
use crate::storage::Storage;
use smol::channel::{Receiver, Sender};
use std::collections::HashMap;
use std::fmt::Write;
use std::hash::BuildHasher;
use std::sync::Arc;
use std::time::Instant;

pub use crate::limits::PRESENCE_LINE;

/// What others can see of me, besides my lists.
#[derive(Clone, Debug, Default)]
pub struct Presence {
    /// `None` until the first CHG after login.
    pub status: Option<Status>,
    /// Client capability flags from CHG (MSNP8+).
    pub caps: u32,
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
struct Online {
    member: Member,
    /// Shared with snapshots handed to the user's own session; changed with `Arc::make_mut`, so
    /// a snapshot in use is never changed under its reader.
    account: Arc<Account>,
    presence: Presence,
    /// Whether watchers were last told this user is visible (NLN) rather than offline.
    shown: bool,
    /// Pacing, only once an announcement found a watcher backed up (`pace.rs`): most users
    /// never get there, so most pay 8 bytes for it.
    pace: Option<Box<Pace>>,
}

impl Online {
    /// The status `viewer` sees of me, if any.
    fn seen_by(&self, viewer: UserId) -> Option<Status> {
        self.presence
            .visible_status()
            .filter(|_| self.account.allows(viewer))
    }
}

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

type Reply<T> = Sender<T>;
type Mirror = Box<dyn FnOnce(&mut Account) + Send>;

enum Msg {
    Register(Member, Box<Account>, Reply<Option<Member>>),
    SignOut(UserId, u64),
    Kick(String, &'static [u8], Reply<bool>),
    Mirror(UserId, Mirror),
    Account(UserId, Reply<Option<Arc<Account>>>),
    Presence(UserId, Reply<Option<Presence>>),
    SetStatus(UserId, Status, Option<u32>, Option<Option<Box<str>>>),
    SetPsm(UserId, Option<Box<[u8]>>),
    SetImsOff(UserId, bool),
    Announce(UserId, u8),
    InitialPresence(
        UserId,
        u32,
        Option<UserId>,
        Reply<(Vec<Vec<u8>>, Vec<UserId>)>,
    ),
    Sees(UserId, UserId, Reply<bool>),
    Refresh(UserId, UserId, bool),
    Notify(UserId, Notice),
    Ring(Ring, Reply<Rung>),
    List(Reply<Vec<Listed>>),
    Lookup(String, Reply<Option<UserId>>),
    Seen(Vec<UserId>, UserId, Reply<Vec<Seen>>),
    Callee(UserId, Reply<Option<Callee>>),
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
    tx: Sender<Msg>,
    host: HostId,
    bus: Arc<dyn Bus>,
}

/// What ringing found on this host.
enum Rung {
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
    /// Starts the actor on `executor`. `bus` reaches users on other hosts (`bus::Alone` when
    /// this is the only one); `on_sign_out` runs when a session is replaced, kicked or ends, to
    /// close the user's switchboard connections.
    pub fn start(executor: &smol::Executor<'static>, setup: Setup) -> Directory {
        let Setup {
            storage,
            host,
            bus,
            public_host,
            on_sign_out,
        } = setup;
        let (tx, rx) = smol::channel::bounded(DIRECTORY_MAILBOX);
        let directory = Directory {
            tx,
            host,
            bus: bus.clone(),
        };
        bus.join(host, directory.clone());
        let actor = Actor {
            users: HashMap::new(),
            by_handle: HashMap::new(),
            handle_key: std::hash::RandomState::new(),
            paced: Vec::new(),
            host,
            bus,
            storage,
            me: directory.clone(),
            public_host,
            on_sign_out,
        };
        executor.spawn(actor.run(rx)).detach();
        directory
    }

    async fn send(&self, m: Msg) -> Result<(), DirectoryGone> {
        self.tx.send(m).await.map_err(|_| DirectoryGone)
    }

    async fn ask<T>(&self, make: impl FnOnce(Reply<T>) -> Msg) -> Result<T, DirectoryGone> {
        let (tx, rx) = smol::channel::bounded(1);
        self.send(make(tx)).await?;
        rx.recv().await.map_err(|_| DirectoryGone)
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
        let (tx, rx) = smol::channel::bounded(1);
        self.tx
            .send_blocking(Msg::Register(member, Box::new(account), tx))
            .map_err(|_| DirectoryGone)?;
        Ok(rx)
    }

    /// Applies `f` to the mirror of `id` if that user is online. Called on the storage thread
    /// after a commit, so mirrors follow the database in commit order.
    pub fn mirror_blocking(&self, id: UserId, f: impl FnOnce(&mut Account) + Send + 'static) {
        let _ = self.tx.send_blocking(Msg::Mirror(id, Box::new(f)));
    }

    /// As `mirror_blocking`, from a task.
    pub async fn mirror(
        &self,
        id: UserId,
        f: impl FnOnce(&mut Account) + Send + 'static,
    ) -> Result<(), DirectoryGone> {
        self.send(Msg::Mirror(id, Box::new(f))).await
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
        self.send(Msg::SetStatus(id, status, caps, msnobj)).await
    }

    /// UUX: a new personal message, announced as pacing allows.
    pub async fn set_psm(&self, id: UserId, psm: Option<Box<[u8]>>) -> Result<(), DirectoryGone> {
        self.send(Msg::SetPsm(id, psm)).await
    }

    /// IMS ON/OFF.
    pub async fn set_ims_off(&self, id: UserId, off: bool) -> Result<(), DirectoryGone> {
        self.send(Msg::SetImsOff(id, off)).await
    }

    /// Announces a change already in the mirror (an own-name change: `pace::STATUS`).
    pub async fn announce(&self, id: UserId, what: u8) -> Result<(), DirectoryGone> {
        self.send(Msg::Announce(id, what)).await
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
                    shape(dialect),
                );
            }
        }
        Ok(lines)
    }

    /// Whether `viewer` currently sees `user` online.
    pub async fn sees(&self, user: UserId, viewer: UserId) -> Result<bool, DirectoryGone> {
        self.ask(|r| Msg::Sees(user, viewer, r)).await
    }

    /// Re-evaluates what `viewer` sees of `user` after a privacy change and tells them (NLN or
    /// FLN) if it changed from `saw_before`.
    pub async fn refresh_for(
        &self,
        user: UserId,
        viewer: UserId,
        saw_before: bool,
    ) -> Result<(), DirectoryGone> {
        self.send(Msg::Refresh(user, viewer, saw_before)).await
    }

    /// Tells `to` something, wherever they are signed in (nothing if nowhere).
    pub async fn notify(&self, to: UserId, notice: Notice) -> Result<(), DirectoryGone> {
        self.send(Msg::Notify(to, notice)).await
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

    /// A ring from another host: answered only by this host's users.
    pub async fn ring_here(&self, ring: Ring) -> Option<Callee> {
        match self.ask(|r| Msg::Ring(ring, r)).await {
            Ok(Rung::Answered(c)) => Some(c),
            _ => None,
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

    /// A notice from another host for a user signed in here (the bus's delivery side). Never
    /// waits: when the mailbox is full the notice is dropped and the bus told so.
    pub fn deliver(&self, to: UserId, notice: Notice) -> bool {
        self.tx.try_send(Msg::Notify(to, notice)).is_ok()
    }

    /// Another host's ILN query: what `viewer` sees of those of `ids` who are signed in here.
    pub async fn seen(&self, ids: Vec<UserId>, viewer: UserId) -> Result<Vec<Seen>, DirectoryGone> {
        self.ask(|r| Msg::Seen(ids, viewer, r)).await
    }
}

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

struct Actor {
    /// Boxed entries: a table slot is 16 bytes, not the size of an `Online`, so the table's
    /// spare capacity costs little per idle user.
    users: HashMap<UserId, Box<Online>>,
    /// Online users by a keyed 64-bit hash of their handle (`handle_key`): 16-byte slots, and the
    /// handle itself is kept once, in the member. A lookup checks the handle it finds; two
    /// online handles with the same hash (odds about n^2 / 2^65) would hide one of them from
    /// lookups by handle, never mistake one for the other.
    by_handle: HashMap<u64, UserId>,
    handle_key: std::hash::RandomState,
    /// Users with announcements held back by pacing (few: only those flooding a slow watcher).
    paced: Vec<UserId>,
    host: HostId,
    bus: Arc<dyn Bus>,
    storage: Storage,
    /// Its own mailbox, for the reloads it asks the storage thread for.
    me: Directory,
    public_host: Option<String>,
    on_sign_out: Box<dyn Fn(UserId) + Send + Sync>,
}

/// Which presence fields a dialect carries: 0 = none, 1 = caps, 2 = caps and MSNObject.
fn shape(d: &Dialect) -> usize {
    match (d.presence_caps, d.presence_msnobj) {
        (false, _) => 0,
        (true, false) => 1,
        (true, true) => 2,
    }
}

/// Writes `NLN`/`ILN trid` with CRLF for the given fields in `shape`.
fn write_presence(
    out: &mut LineBuf<PRESENCE_LINE>,
    verb_trid: (&str, Option<u32>),
    status: Status,
    handle: &str,
    (friendly, presence): (&str, &Presence),
    shape: usize,
) {
    out.clear();
    let (verb, trid) = verb_trid;
    let _ = match trid {
        Some(t) => write!(out, "{verb} {t} "),
        None => write!(out, "{verb} "),
    };
    let _ = write!(out, "{} {handle} {}", status.code(), Enc(friendly));
    if shape >= 1 {
        let _ = write!(out, " {}", presence.caps);
    }
    if shape >= 2
        && let Some(o) = presence.msnobj()
    {
        let _ = write!(out, " {o}");
    }
    let _ = out.write_str("\r\n");
}

impl Actor {
    async fn run(mut self, rx: Receiver<Msg>) {
        loop {
            let due = self.next_due();
            let msg = match due {
                None => rx.recv().await.ok(),
                Some(at) => {
                    let timer = async {
                        smol::Timer::at(at).await;
                        None
                    };
                    match smol::future::or(async { Some(rx.recv().await.ok()) }, timer).await {
                        Some(m) => m,
                        None => {
                            self.release_paced();
                            continue;
                        }
                    }
                }
            };
            let Some(msg) = msg else { return };
            self.handle(msg).await;
            // Drain what queued meanwhile before looking at timers again.
            while let Ok(msg) = rx.try_recv() {
                self.handle(msg).await;
            }
        }
    }

    fn next_due(&self) -> Option<Instant> {
        self.paced
            .iter()
            .filter_map(|id| self.users.get(id)?.pace.as_ref()?.due())
            .min()
    }

    fn release_paced(&mut self) {
        let now = Instant::now();
        let due: Vec<UserId> = self
            .paced
            .iter()
            .copied()
            .filter(|id| {
                self.users
                    .get(id)
                    .and_then(|u| u.pace.as_ref()?.due())
                    .is_some_and(|t| t <= now)
            })
            .collect();
        for id in due {
            self.announce(id, 0);
        }
        let users = &self.users;
        self.paced.retain(|id| {
            users
                .get(id)
                .is_some_and(|u| u.pace.as_ref().and_then(|p| p.due()).is_some())
        });
    }

    async fn handle(&mut self, msg: Msg) {
        match msg {
            Msg::Register(member, account, reply) => {
                let _ = reply.try_send(self.register(member, *account));
            }
            Msg::SignOut(id, session) => self.sign_out(id, session),
            Msg::Kick(handle, line, reply) => {
                let mut found = false;
                if let Some(u) = self.find(&handle) {
                    let id = u.member.id;
                    let _ = u.member.outbox.push(&[line]);
                    u.member.outbox.close();
                    let session = u.member.session;
                    // Its own sign-out comes later and finds nothing: do it now.
                    self.sign_out(id, session);
                    found = true;
                }
                let _ = reply.try_send(found);
            }
            Msg::Mirror(id, f) => match self.users.get_mut(&id) {
                Some(u) => f(Arc::make_mut(&mut u.account)),
                // Signed in on another host (if anywhere): it re-reads the account.
                None => self.publish(id, || Notice::Reload),
            },
            Msg::Account(id, reply) => {
                let _ = reply.try_send(self.users.get(&id).map(|u| u.account.clone()));
            }
            Msg::Presence(id, reply) => {
                let _ = reply.try_send(self.users.get(&id).map(|u| u.presence.clone()));
            }
            Msg::SetStatus(id, status, caps, msnobj) => {
                if let Some(u) = self.users.get_mut(&id) {
                    u.presence.status = Some(status);
                    if let Some(c) = caps {
                        u.presence.caps = c;
                    }
                    if let Some(o) = msnobj {
                        u.presence.set_msnobj(o.as_deref());
                    }
                    self.announce(id, pace::STATUS);
                }
            }
            Msg::SetPsm(id, psm) => {
                if let Some(u) = self.users.get_mut(&id) {
                    u.presence.set_psm(psm.as_deref());
                    self.announce(id, pace::PSM);
                }
            }
            Msg::SetImsOff(id, off) => {
                if let Some(u) = self.users.get_mut(&id) {
                    u.presence.ims_off = off;
                }
            }
            Msg::Announce(id, what) => self.announce(id, what),
            Msg::InitialPresence(viewer, trid, only, reply) => {
                let _ = reply.try_send(self.initial_presence(viewer, trid, only));
            }
            Msg::Sees(user, viewer, reply) => {
                let sees = self
                    .users
                    .get(&user)
                    .is_some_and(|u| u.seen_by(viewer).is_some());
                let _ = reply.try_send(sees);
            }
            Msg::Refresh(user, viewer, saw) => self.refresh_for(user, viewer, saw),
            Msg::Notify(to, notice) => self.notify(to, notice),
            Msg::Ring(ring, reply) => {
                let _ = reply.try_send(self.ring(&ring));
            }
            Msg::List(reply) => {
                let list = self
                    .users
                    .values()
                    .map(|u| Listed {
                        handle: u.member.handle.to_string(),
                        friendly: u.account.friendly.clone(),
                        visible: u.presence.visible_status().is_some(),
                    })
                    .collect();
                let _ = reply.try_send(list);
            }
            Msg::Seen(ids, viewer, reply) => {
                let seen = ids
                    .iter()
                    .filter_map(|id| {
                        let c = self.users.get(id)?;
                        Some(Seen {
                            status: c.seen_by(viewer)?,
                            handle: c.member.handle.to_string(),
                            friendly: c.account.friendly.clone(),
                            presence: c.presence.clone(),
                        })
                    })
                    .collect();
                let _ = reply.try_send(seen);
            }
            Msg::Callee(id, reply) => {
                let _ = reply.try_send(self.users.get(&id).map(|u| callee_of(u)));
            }
            Msg::Lookup(handle, reply) => {
                let _ = reply.try_send(self.find(&handle).map(|u| u.member.id));
            }
        }
    }

    fn register(&mut self, member: Member, account: Account) -> Option<Member> {
        let id = member.id;
        let key = self.handle_key.hash_one(&*member.handle);
        self.by_handle.insert(key, member.id);
        self.bus.claim(self.host, id, &member.handle);
        let previous = self.users.insert(
            id,
            Box::new(Online {
                member,
                account: Arc::new(account),
                presence: Presence::default(),
                shown: false,
                pace: None,
            }),
        );
        let previous = previous.map(|p| p.member)?;
        // The replaced session's own sign-out finds a newer session and does nothing, so its
        // switchboard connections are closed here: a kicked session must not go on chatting.
        let _ = previous.outbox.push(&[b"OUT OTH\r\n"]);
        previous.outbox.close();
        (self.on_sign_out)(id);
        Some(previous)
    }

    fn sign_out(&mut self, id: UserId, session: u64) {
        match self.users.get(&id) {
            Some(u) if u.member.session == session => {}
            _ => return,
        }
        let u = self.users.remove(&id).expect("checked above");
        let key = self.handle_key.hash_one(&*u.member.handle);
        if self.by_handle.get(&key) == Some(&id) {
            self.by_handle.remove(&key);
        }
        self.bus.release(self.host, id, &u.member.handle);
        if u.shown || u.presence.visible_status().is_some() {
            self.broadcast_offline(&u);
        }
        (self.on_sign_out)(id);
    }

    /// Announces a change of `id` (`pace::STATUS`, `pace::PSM`), or holds it back when the user
    /// changes faster than the pace allows; `0` sends what was held back. What goes out is always
    /// the current state, so held-back changes merge into one.
    fn announce(&mut self, id: UserId, what: u8) {
        let now = Instant::now();
        let Some(u) = self.users.get_mut(&id) else {
            return;
        };
        let mut what = what;
        if let Some(p) = &mut u.pace {
            if !p.take(now, what) {
                if !self.paced.contains(&id) {
                    self.paced.push(id);
                }
                return;
            }
            what |= std::mem::take(&mut p.deferred);
        }
        let Some(u) = self.users.get(&id) else { return };
        let mut congested = false;
        let visible = u.presence.visible_status().is_some();
        let mut shown = u.shown;
        if what & pace::STATUS != 0 {
            if visible {
                congested |= self.broadcast(u);
            } else if shown {
                // Going hidden looks like signing out to whoever could see us.
                self.broadcast_offline(u);
            }
            shown = visible;
        }
        if what & pace::PSM != 0 {
            congested |= self.broadcast_psm(u);
        }
        let u = self.users.get_mut(&id).expect("present above");
        u.shown = shown;
        if congested && u.pace.is_none() {
            let mut p = Box::<Pace>::default();
            // Starts the refill clock; this announcement went out before pacing began.
            p.take(now, 0);
            u.pace = Some(p);
        }
        if let Some(p) = &mut u.pace {
            p.congested = congested;
            if p.at_rest(now) {
                u.pace = None;
            }
        }
    }

    /// The watchers of `u` allowed to see it: on its reverse list and not blocked.
    fn watchers(u: &Online) -> impl Iterator<Item = UserId> + '_ {
        u.account
            .contacts
            .iter()
            .filter(|(_, c)| c.lists & list::RL != 0 && u.account.allows_lists(c.lists))
            .map(|(wid, _)| *wid)
    }

    /// NLN to every watcher allowed to see `u`. Returns whether one is backed up (`pace.rs`).
    fn broadcast(&self, u: &Online) -> bool {
        let Some(status) = u.presence.visible_status() else {
            return false;
        };
        let mut congested = false;
        let mut lines: [Option<LineBuf<PRESENCE_LINE>>; 3] = [None, None, None];
        let fields = (u.account.friendly.as_str(), &u.presence);
        for wid in Self::watchers(u) {
            match self.users.get(&wid) {
                Some(w) => {
                    let sh = shape(w.member.dialect);
                    let line = lines[sh].get_or_insert_with(|| {
                        let mut b = LineBuf::new();
                        write_presence(&mut b, ("NLN", None), status, &u.member.handle, fields, sh);
                        b
                    });
                    congested |= w
                        .member
                        .outbox
                        .push_through(&[line.as_bytes()])
                        .unwrap_or(false);
                }
                None => self.publish(wid, || presence_notice(u)),
            }
        }
        congested
    }

    /// UBX to every watcher allowed to see `u` who speaks MSNP11+.
    fn broadcast_psm(&self, u: &Online) -> bool {
        if u.presence.visible_status().is_none() {
            return false;
        }
        let mut congested = false;
        let body: &[u8] = u.presence.psm().unwrap_or_default();
        let mut head = LineBuf::<256>::new();
        let _ = write!(head, "UBX {} {}\r\n", u.member.handle, body.len());
        for wid in Self::watchers(u) {
            if let Some(w) = self.users.get(&wid)
                && w.member.dialect.personal_message
            {
                congested |= w
                    .member
                    .outbox
                    .push_through(&[head.as_bytes(), body])
                    .unwrap_or(false);
            }
        }
        congested
    }

    /// FLN to every watcher that could see `u`.
    fn broadcast_offline(&self, u: &Online) {
        let mut line = LineBuf::<256>::new();
        let _ = write!(line, "FLN {}\r\n", u.member.handle);
        for wid in Self::watchers(u) {
            match self.users.get(&wid) {
                Some(w) => {
                    let _ = w.member.outbox.push_through(&[line.as_bytes()]);
                }
                None => self.publish(wid, || Notice::Presence {
                    handle: u.member.handle.to_string(),
                    status: None,
                    name: String::new(),
                    caps: 0,
                    msnobj: None,
                }),
            }
        }
    }

    fn refresh_for(&self, user: UserId, viewer: UserId, saw_before: bool) {
        let Some(u) = self.users.get(&user) else {
            return;
        };
        let sees = u.seen_by(viewer).is_some();
        let watches = u.account.lists_of(viewer) & list::RL != 0;
        if sees == saw_before || !watches {
            return;
        }
        let notice = if sees {
            presence_notice(u)
        } else {
            Notice::Presence {
                handle: u.member.handle.to_string(),
                status: None,
                name: String::new(),
                caps: 0,
                msnobj: None,
            }
        };
        match self.users.get(&viewer) {
            Some(w) => deliver_presence(&w.member, &notice),
            None => self.publish(viewer, || notice),
        }
    }

    /// The ILN lines for contacts signed in here, and the contacts who are not (to ask the bus).
    fn initial_presence(
        &self,
        viewer: UserId,
        trid: u32,
        only: Option<UserId>,
    ) -> (Vec<Vec<u8>>, Vec<UserId>) {
        let Some(v) = self.users.get(&viewer) else {
            return Default::default();
        };
        let dialect = v.member.dialect;
        let fl: Vec<UserId> = v
            .account
            .contacts
            .iter()
            .filter(|(id, c)| c.lists & list::FL != 0 && only.is_none_or(|o| o == **id))
            .map(|(id, _)| *id)
            .collect();
        let sh = shape(dialect);
        let mut out = Vec::new();
        let mut elsewhere = Vec::new();
        for cid in fl {
            let Some(c) = self.users.get(&cid) else {
                elsewhere.push(cid);
                continue;
            };
            let Some(status) = c.seen_by(viewer) else {
                continue;
            };
            push_initial(
                &mut out,
                dialect,
                trid,
                (status, &c.member.handle, &c.account.friendly, &c.presence),
                sh,
            );
        }
        if self.bus.alone() {
            elsewhere.clear();
        }
        (out, elsewhere)
    }

    /// Hands `notice` to the bus for a user not signed in here (built only when other hosts
    /// exist: a single host pays nothing for offline watchers).
    fn publish(&self, to: UserId, notice: impl FnOnce() -> Notice) {
        if !self.bus.alone() {
            self.bus.publish(self.host, to, notice());
        }
    }

    fn notify(&mut self, to: UserId, notice: Notice) {
        let Some(w) = self.users.get_mut(&to) else {
            self.publish(to, || notice);
            return;
        };
        match notice {
            Notice::ReverseList {
                who,
                added,
                serial,
                name,
            } => {
                let line = match (w.member.dialect.list_commands, added) {
                    (ListCommands::Add, true) => {
                        format!("ADD 0 RL {serial} {who} {}\r\n", Enc(&name))
                    }
                    (ListCommands::Add, false) => format!("REM 0 RL {serial} {who}\r\n"),
                    (ListCommands::Adc, true) => format!("ADC 0 RL N={who} F={}\r\n", Enc(&name)),
                    (ListCommands::Adc, false) => format!("REM 0 RL N={who}\r\n"),
                };
                let _ = w.member.outbox.push(&[line.as_bytes()]);
            }
            Notice::Phones {
                who,
                handle,
                phones,
                kinds,
                serial,
            } => {
                let a = Arc::make_mut(&mut w.account);
                a.serial = serial;
                if let Some(c) = a.contacts.get_mut(&who) {
                    c.phones = (*phones).clone();
                }
                write_bpr(&w.member, &handle, &phones, &kinds, serial);
            }
            Notice::Presence { .. } => deliver_presence(&w.member, &notice),
            Notice::Reload => {
                // Another host committed a change to this account: re-read it. Never waits for
                // the storage thread (which may be waiting for this mailbox).
                let me = self.me.clone();
                let job = self.storage.submit(move |db| {
                    if let Ok((_, account)) = db.load_account(to) {
                        me.mirror_blocking(to, move |a| *a = account);
                    }
                });
                if job.is_err() {
                    log::warn!("directory: reload of user {to} dropped: storage queue full");
                }
            }
        }
    }

    /// The online user with `handle`, if signed in here.
    fn find(&self, handle: &str) -> Option<&Online> {
        let id = self.by_handle.get(&self.handle_key.hash_one(handle))?;
        self.users
            .get(id)
            .map(|u| &**u)
            .filter(|u| *u.member.handle == *handle)
    }

    fn ring(&self, ring: &Ring) -> Rung {
        let call = &ring.call;
        let Some(t) = self.find(&call.target) else {
            return Rung::NotHere;
        };
        if t.seen_by(call.caller).is_none() || t.presence.ims_off {
            return Rung::Refused;
        }
        let host = t.member.ns_local.host(self.public_host.as_deref());
        let line = format!(
            "RNG {} {host}:{} CKI {} {} {}\r\n",
            call.sb, ring.sb_port, call.cookie, call.caller_handle, call.caller_name
        );
        if t.member.outbox.push(&[line.as_bytes()]).is_err() {
            return Rung::Refused;
        }
        Rung::Answered(callee_of(t))
    }
}

/// `u` as a switchboard participant.
fn callee_of(u: &Online) -> Callee {
    Callee {
        user: u.member.id,
        handle: u.member.handle.to_string(),
        name: Enc(&u.account.friendly).to_string(),
        caps: u.presence.caps,
        dialect: u.member.dialect,
    }
}

/// The presence notice for `u` as its watchers elsewhere see it.
fn presence_notice(u: &Online) -> Notice {
    Notice::Presence {
        handle: u.member.handle.to_string(),
        status: u.presence.visible_status(),
        name: u.account.friendly.clone(),
        caps: u.presence.caps,
        msnobj: u.presence.msnobj().map(Box::from),
    }
}

/// NLN or FLN for a presence notice, in `to`'s dialect.
fn deliver_presence(to: &Member, notice: &Notice) {
    let Notice::Presence {
        handle,
        status,
        name,
        caps,
        msnobj,
    } = notice
    else {
        return;
    };
    match status {
        Some(status) => {
            let mut p = Presence {
                status: Some(*status),
                caps: *caps,
                ..Presence::default()
            };
            p.set_msnobj(msnobj.as_deref());
            let mut b = LineBuf::<PRESENCE_LINE>::new();
            write_presence(
                &mut b,
                ("NLN", None),
                *status,
                handle,
                (name, &p),
                shape(to.dialect),
            );
            let _ = to.outbox.push(&[b.as_bytes()]);
        }
        None => {
            let mut b = LineBuf::<256>::new();
            let _ = write!(b, "FLN {handle}\r\n");
            let _ = to.outbox.push(&[b.as_bytes()]);
        }
    }
}

/// The ILN line (and UBX where the viewer speaks MSNP11+) for one contact.
fn push_initial(
    out: &mut Vec<Vec<u8>>,
    viewer: &Dialect,
    trid: u32,
    (status, handle, friendly, presence): (Status, &str, &str, &Presence),
    sh: usize,
) {
    let mut b = LineBuf::<PRESENCE_LINE>::new();
    write_presence(
        &mut b,
        ("ILN", Some(trid)),
        status,
        handle,
        (friendly, presence),
        sh,
    );
    out.push(b.as_bytes().to_vec());
    if viewer.personal_message
        && let Some(psm) = presence.psm()
    {
        let mut l = format!("UBX {handle} {}\r\n", psm.len()).into_bytes();
        l.extend_from_slice(psm);
        out.push(l);
    }
}

/// The asynchronous BPR lines for a contact's changed phone numbers, in `to`'s dialect.
fn write_bpr(to: &Member, handle: &str, phones: &Phones, kinds: &[&'static str], serial: u32) {
    // At most four lines of a bounded handle and value (`MAX_PRP_VALUE`): a stack buffer.
    let mut out = LineBuf::<PRESENCE_LINE>::new();
    for (kind, value) in super::bpr::fields(phones)
        .iter()
        .filter(|(k, _)| kinds.contains(k))
    {
        let _ = match to.dialect.async_bpr {
            AsyncBpr::None => break,
            AsyncBpr::SerialHandle => write!(out, "BPR {serial} {handle} {kind}"),
            AsyncBpr::Handle => write!(out, "BPR {handle} {kind}"),
        };
        let _ = if value.is_empty() {
            out.write_str("\r\n")
        } else {
            write!(out, " {}\r\n", Enc(value))
        };
    }
    if !out.as_bytes().is_empty() {
        let _ = to.outbox.push(&[out.as_bytes()]);
    }
}
