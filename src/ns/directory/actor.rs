//! The actor: the task that owns who is online, their mirrors and presence, applies every
//! message in mailbox order and fans presence out to watchers.

use super::handle::{
    Applied, Committed, Directory, EndpointMessage, MirrorUpdate, Msg, OnSignOut, Rung, Setup,
    Viewers,
};
use super::lines::{
    SHAPES, deliver_presence, push_initial, shape, write_bpr, write_offline, write_presence,
    write_reverse_list, write_rng, write_ubn_head, write_ubx_head,
};
use super::presence::{EndpointInfo, Listed, Member, Mpop, Online, Presence};
use crate::limits::PRESENCE_LINE;
use crate::limits::{DIRECTORY_MAILBOX, MAX_ENDPOINTS};
use crate::model::MachineGuid;
use crate::model::{Account, Blp, UserId, list};
use crate::ns::bpr;
use crate::ns::bus::{Bus, Callee, HostId, Notice, Ring, Seen};
use crate::ns::pace::{self, Announcement, Pace};
use crate::protocol::percent::Enc;
use crate::protocol::uux::{self, EndpointData, PersonalData, PrivateEndpointData};
use crate::protocol::write::LineBuf;
use crate::storage::Storage;
use smol::channel::Receiver;
use std::collections::HashMap;
use std::hash::BuildHasher;
use std::sync::Arc;
use std::time::Instant;

/// The actor's state (see the module comment of `directory`).
pub(super) struct Actor {
    /// Boxed entries: a table slot is 16 bytes, not the size of an `Online`, so the table's
    /// spare capacity costs little per idle user.
    pub(super) users: HashMap<UserId, Box<Online>>,
    /// Online users by a keyed 64-bit hash of their handle (`handle_key`): 16-byte slots, and the
    /// handle itself is kept once, in the member. A lookup checks the handle it finds; two
    /// online handles with the same hash (odds about n^2 / 2^65) would hide one of them from
    /// lookups by handle, never mistake one for the other.
    pub(super) by_handle: HashMap<u64, UserId>,
    pub(super) handle_key: std::hash::RandomState,
    /// Users with announcements held back by pacing (few: only those flooding a slow watcher).
    pub(super) paced: Vec<UserId>,
    pub(super) host: HostId,
    pub(super) bus: Arc<dyn Bus>,
    pub(super) storage: Storage,
    /// Its own mailbox, for the reloads it asks the storage thread for.
    pub(super) me: Directory,
    pub(super) public_host: Option<String>,
    pub(super) on_sign_out: OnSignOut,
}

impl Actor {
    pub(super) async fn run(mut self, rx: Receiver<Msg>) {
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
            self.announce_with(id, Announcement::default());
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
            Msg::Register(member, endpoint, account, reply) => {
                let _ = reply.try_send(self.register(member, endpoint, *account));
            }
            Msg::SignOut(id, session) => self.sign_out(id, session),
            Msg::Kick(handle, line, reply) => {
                let mut found = false;
                if let Some(u) = self.find(&handle) {
                    let id = u.member.id;
                    for m in u.members() {
                        let _ = m.outbox.push(&[line]);
                        m.outbox.close();
                    }
                    // Their own sign-outs come later and find nothing: do it now, for all.
                    if let Some(u) = self.users.get_mut(&id) {
                        u.mpop = None;
                    }
                    let session = self.users.get(&id).map_or(0, |u| u.member.session);
                    self.sign_out(id, session);
                    found = true;
                }
                let _ = reply.try_send(found);
            }
            Msg::Committed(change, reply) => {
                let _ = reply.try_send(self.committed(*change));
            }
            Msg::Account(id, reply) => {
                let _ = reply.try_send(self.users.get(&id).map(|u| u.account.clone()));
            }
            Msg::Presence(id, reply) => {
                let _ = reply.try_send(self.users.get(&id).map(|u| u.presence.clone()));
            }
            Msg::SetStatus(id, status, caps, msnobj) => {
                if let Some(u) = self.users.get_mut(&id) {
                    u.presence.status = Some(status);
                    if let Some((c, ex)) = caps {
                        u.presence.caps = c;
                        u.presence.caps_ex = ex;
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
            Msg::SetEndpoint(id, guid, data, private) => self.set_endpoint(id, guid, data, private),
            Msg::TellEndpoints(id) => self.tell_endpoints(id),
            Msg::EndpointMessage(m, reply) => {
                let _ = reply.try_send(self.endpoint_message(&m));
            }
            Msg::SetImsOff(id, off) => {
                if let Some(u) = self.users.get_mut(&id) {
                    u.presence.ims_off = off;
                }
            }
            Msg::InitialPresence(viewer, trid, only, reply) => {
                let _ = reply.try_send(self.initial_presence(viewer, trid, only));
            }
            Msg::Notify(to, notice) => self.notify(to, notice),
            Msg::Ring(ring, reply) => {
                let _ = reply.try_send(self.ring(&ring));
            }
            Msg::List(reply) => {
                let list = self
                    .users
                    .values()
                    .map(|u| {
                        let visible = u.presence.visible_status().is_some();
                        Listed {
                            handle: u.member.handle.to_string(),
                            friendly: u.account.friendly.clone(),
                            visible,
                            public: visible
                                && u.account.blp == Blp::Allow
                                && u.account.contacts.values().all(|c| c.lists & list::BL == 0),
                        }
                    })
                    .collect();
                let _ = reply.try_send(list);
            }
            Msg::Seen(ids, viewer, reply) => {
                let seen = ids
                    .iter()
                    .filter_map(|id| seen_of(self.users.get(id)?, viewer))
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

    fn register(
        &mut self,
        member: Member,
        endpoint: Option<MachineGuid>,
        account: Account,
    ) -> Option<Member> {
        let id = member.id;
        // MSNP16+ with a machine GUID: joins the account's other endpoints when they are all
        // such endpoints (MPOP), replacing only a session of the same GUID.
        let guid = endpoint.filter(|_| member.dialect.mpop);
        if let Some(g) = guid
            && let Some(u) = self.users.get_mut(&id)
            && let Some(m) = u.mpop.as_mut()
        {
            u.account = Arc::new(account);
            let replaced = if m.primary == g {
                Some(std::mem::replace(&mut u.member, member))
            } else if let Some(slot) = m.others.iter_mut().find(|(_, og)| *og == g) {
                Some(std::mem::replace(&mut slot.0, member))
            } else if m.others.len() + 1 >= MAX_ENDPOINTS {
                // Full: the endpoint signed in longest ago (after the first) makes room.
                let (old, og) = m.others.remove(0);
                m.endpoints.retain(|e| e.guid != og);
                m.others.push((member, g));
                Some(old)
            } else {
                m.others.push((member, g));
                None
            };
            if let Some(p) = &replaced {
                let _ = p.outbox.push(&[b"OUT OTH\r\n"]);
                p.outbox.close();
            }
            // The endpoints hear of the new one once its login burst is out (`TellEndpoints`).
            return replaced;
        }
        let key = self.handle_key.hash_one(&*member.handle);
        self.by_handle.insert(key, member.id);
        self.bus.claim(self.host, id, &member.handle);
        let mpop = guid.map(|primary| {
            Box::new(Mpop {
                primary,
                others: Vec::new(),
                endpoints: Vec::new(),
            })
        });
        let previous = self.users.insert(
            id,
            Box::new(Online {
                member,
                account: Arc::new(account),
                presence: Presence::default(),
                shown: false,
                mpop,
                pace: None,
            }),
        );
        let previous = *previous?;
        // The replaced sessions' own sign-outs find a newer session and do nothing, so their
        // switchboard connections are closed here: a kicked session must not go on chatting.
        for p in previous.members() {
            let _ = p.outbox.push(&[b"OUT OTH\r\n"]);
            p.outbox.close();
        }
        (self.on_sign_out)(id, &previous.member.handle);
        Some(previous.member)
    }

    fn sign_out(&mut self, id: UserId, session: u64) {
        let Some(u) = self.users.get_mut(&id) else {
            return;
        };
        // One of several endpoints (MPOP): the account stays online; no FLN, and its other
        // endpoints' switchboards go on. The endpoints left are told (self UBX).
        if let Some(m) = u.mpop.as_mut()
            && !m.others.is_empty()
        {
            let gone = if u.member.session == session {
                let (next, g) = m.others.remove(0);
                u.member = next;
                std::mem::replace(&mut m.primary, g)
            } else if let Some(i) = m.others.iter().position(|(s, _)| s.session == session) {
                m.others.remove(i).1
            } else {
                return;
            };
            m.endpoints.retain(|e| e.guid != gone);
            self.tell_endpoints(id);
            return;
        }
        if u.member.session != session {
            return;
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
        (self.on_sign_out)(id, &u.member.handle);
    }

    /// Announces a change of `id` (`pace::STATUS`, `pace::PSM`); see `announce_with`.
    fn announce(&mut self, id: UserId, what: u8) {
        self.announce_with(
            id,
            Announcement {
                what,
                ..Default::default()
            },
        );
    }

    /// Announces a change of `id` or tells the notices its account change caused (`pace.rs`),
    /// or holds them back when the user changes faster than the pace allows; an empty
    /// announcement sends what was held back. What goes out is always the current state, so
    /// held-back changes merge into one.
    fn announce_with(&mut self, id: UserId, a: Announcement) {
        let now = Instant::now();
        let Some(u) = self.users.get_mut(&id) else {
            return;
        };
        let mut what = a.what;
        let mut phone_kinds = a.phone_kinds;
        let mut reverse = Vec::new();
        if let Some(p) = &mut u.pace {
            if !p.take(now, what) {
                p.hold(&a);
                if !self.paced.contains(&id) {
                    self.paced.push(id);
                }
                return;
            }
            what |= std::mem::take(&mut p.deferred);
            phone_kinds |= std::mem::take(&mut p.phone_kinds);
            reverse = std::mem::take(&mut p.reverse);
        }
        if let Some(t) = a.reverse_to
            && !reverse.contains(&t)
        {
            reverse.push(t);
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
        if what & pace::PHONES != 0 {
            congested |= self.broadcast_phones(u, phone_kinds);
        }
        for to in reverse {
            congested |= self.tell_reverse_list(u, to);
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

    /// BPR (the `kinds` fields) to every watcher allowed to see `u`'s numbers, while `u` is
    /// visible (a hidden user editing a number must not give away being online): the numbers
    /// are `u`'s current ones and the serial each watcher's current one. Watchers not told get
    /// them at their next SYN (their serial moved). Returns whether one is backed up.
    fn broadcast_phones(&self, u: &Online, kinds: u8) -> bool {
        if u.presence.visible_status().is_none() {
            return false;
        }
        let mut congested = false;
        let phones = u.account.phones();
        // `watchers` is the presence rule, which is also the rule for numbers (`bpr.rs`).
        for wid in Self::watchers(u) {
            if let Some(w) = self.users.get(&wid) {
                for m in w.members() {
                    congested |= write_bpr(m, &u.member.handle, phones, kinds, w.account.serial);
                }
            }
        }
        congested
    }

    /// The reverse-list notice from `u` to `to` as things stand now (on `u`'s FL or not, `to`'s
    /// current serial): nothing when `to` is not here or blocks `u`. Returns whether `to` is
    /// backed up.
    fn tell_reverse_list(&self, u: &Online, to: UserId) -> bool {
        let Some(w) = self.users.get(&to) else {
            return false;
        };
        let bits = w.account.lists_of(u.member.id);
        if bits & list::BL != 0 {
            return false;
        }
        let mut congested = false;
        for m in w.members() {
            congested |= write_reverse_list(
                m,
                &u.member.handle,
                bits & list::RL != 0,
                w.account.serial,
                &u.account.friendly,
            );
        }
        congested
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
        let mut lines: [Option<LineBuf<PRESENCE_LINE>>; SHAPES] = Default::default();
        let fields = (u.account.friendly.as_str(), &u.presence);
        for wid in Self::watchers(u) {
            match self.users.get(&wid) {
                Some(w) => {
                    for m in w.members() {
                        let to = m.dialect;
                        let line = lines[shape(to)].get_or_insert_with(|| {
                            let mut b = LineBuf::new();
                            let h = &u.member.handle;
                            write_presence(&mut b, None, status, h, fields, to);
                            b
                        });
                        congested |= m.outbox.push_through(&[line.as_bytes()]).unwrap_or(false);
                    }
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
        // One head per address form (`PresenceAddress`), written on first use.
        let mut heads: [Option<LineBuf<256>>; 3] = Default::default();
        for wid in Self::watchers(u) {
            let Some(w) = self.users.get(&wid) else {
                continue;
            };
            for m in w.members().filter(|m| m.dialect.personal_message) {
                let to = m.dialect;
                let head = heads[to.presence_address as usize].get_or_insert_with(|| {
                    let mut b = LineBuf::new();
                    write_ubx_head(&mut b, to, &u.member.handle, body);
                    b
                });
                congested |= m
                    .outbox
                    .push_through(&[head.as_bytes(), body])
                    .unwrap_or(false);
            }
        }
        congested
    }

    /// FLN to every watcher that could see `u`.
    fn broadcast_offline(&self, u: &Online) {
        let mut lines: [Option<LineBuf<256>>; 3] = Default::default();
        for wid in Self::watchers(u) {
            match self.users.get(&wid) {
                Some(w) => {
                    for m in w.members() {
                        let to = m.dialect;
                        let line = lines[to.presence_address as usize].get_or_insert_with(|| {
                            let mut b = LineBuf::new();
                            write_offline(&mut b, to, &u.member.handle);
                            b
                        });
                        let _ = m.outbox.push_through(&[line.as_bytes()]);
                    }
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
            Some(w) => w.members().for_each(|m| deliver_presence(m, &notice)),
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
            } => w.members().for_each(|m| {
                write_reverse_list(m, &who, added, serial, &name);
            }),
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
                for m in w.members() {
                    write_bpr(m, &handle, &phones, bpr::kind_bits(&kinds), serial);
                }
            }
            Notice::Presence { .. } => w.members().for_each(|m| deliver_presence(m, &notice)),
            Notice::Reload => {
                // Another host committed a change to this account: re-read it. Never waits for
                // the storage thread (which may be waiting for this mailbox).
                let me = self.me.clone();
                let job = self.storage.submit(move |db| {
                    if let Ok((_, account)) = db.load_account(to) {
                        me.reload_blocking(to, account);
                    }
                });
                if job.is_err() {
                    log::warn!("directory: reload of user {to} dropped: storage queue full");
                }
            }
        }
    }

    /// Applies a committed account change: mirrors in commit order, then the notices, then
    /// what the viewers see of the owner, then the owner's own announcement.
    fn committed(&mut self, change: Committed) -> Applied {
        let Committed {
            owner,
            updates,
            notices,
            viewers,
            announce,
            report,
        } = change;
        // What each viewer saw of the owner before the change (at most the owner's reverse list:
        // a privacy change, never the presence fan-out path).
        let before: Vec<(UserId, bool)> = match (&viewers, self.users.get(&owner)) {
            (_, None) | (Viewers::Nobody, _) => Vec::new(),
            (Viewers::These(ids), Some(u)) => {
                ids.iter().map(|v| (*v, u.seen_by(*v).is_some())).collect()
            }
            (Viewers::ReverseList, Some(u)) => u
                .account
                .contacts
                .iter()
                .filter(|(_, c)| c.lists & list::RL != 0)
                .map(|(v, _)| (*v, u.seen_by(*v).is_some()))
                .collect(),
        };
        for (user, serial, update) in updates {
            self.update_mirror(user, serial, update);
        }
        self.tell(owner, notices);
        for (viewer, saw) in before {
            self.refresh_for(owner, viewer, saw);
        }
        if announce {
            self.announce(owner, pace::STATUS);
        }
        // The ILN of an FL add, when the owner is signed in here to see it.
        let (Some(contact), true) = (report, self.users.contains_key(&owner)) else {
            return Applied::default();
        };
        match self.users.get(&contact) {
            Some(c) => Applied {
                seen: seen_of(c, owner),
                elsewhere: false,
            },
            None => Applied {
                seen: None,
                elsewhere: !self.bus.alone(),
            },
        }
    }

    /// The notices of `owner`'s committed change. To users signed in here, reverse-list and
    /// phone notices are paced with `owner`'s presence (`pace.rs`): their mirrors follow at once,
    /// the lines as pacing allows. Phone notices to other hosts go out only when the viewer can
    /// see `owner` online here (otherwise their mirror is re-read, quietly).
    fn tell(&mut self, owner: UserId, notices: Vec<(UserId, Notice)>) {
        let paced = self.users.contains_key(&owner);
        let mut phone_kinds = 0;
        for (to, notice) in notices {
            let here = self.users.contains_key(&to);
            match notice {
                Notice::ReverseList { .. } if paced && here => self.announce_with(
                    owner,
                    Announcement {
                        what: pace::REVERSE,
                        reverse_to: Some(to),
                        ..Default::default()
                    },
                ),
                Notice::Phones {
                    who,
                    phones,
                    kinds,
                    serial,
                    ..
                } if paced && here => {
                    let w = self.users.get_mut(&to).expect("checked above");
                    let a = Arc::make_mut(&mut w.account);
                    a.serial = serial;
                    if let Some(c) = a.contacts.get_mut(&who) {
                        c.phones = *phones;
                    }
                    phone_kinds |= bpr::kind_bits(&kinds);
                }
                Notice::Phones { .. }
                    if !here
                        && self
                            .users
                            .get(&owner)
                            .is_none_or(|u| u.seen_by(to).is_none()) =>
                {
                    self.publish(to, || Notice::Reload);
                }
                // Phone notices about someone not signed in here (no presence to check): the
                // mirror only.
                Notice::Phones {
                    who,
                    phones,
                    serial,
                    ..
                } if here => {
                    let w = self.users.get_mut(&to).expect("checked above");
                    let a = Arc::make_mut(&mut w.account);
                    a.serial = serial;
                    if let Some(c) = a.contacts.get_mut(&who) {
                        c.phones = *phones;
                    }
                }
                notice => self.notify(to, notice),
            }
        }
        if phone_kinds != 0 {
            self.announce_with(
                owner,
                Announcement {
                    what: pace::PHONES,
                    phone_kinds,
                    ..Default::default()
                },
            );
        }
    }

    /// One committed change to `user`'s mirror, if they are signed in here; a user signed in
    /// on another host (if anywhere) re-reads the account there.
    fn update_mirror(&mut self, user: UserId, serial: u32, update: MirrorUpdate) {
        let Some(u) = self.users.get_mut(&user) else {
            self.publish(user, || Notice::Reload);
            return;
        };
        let a = Arc::make_mut(&mut u.account);
        a.serial = serial;
        match update {
            MirrorUpdate::Contact(id, row) if row.lists == 0 => {
                a.contacts.remove(&id);
            }
            MirrorUpdate::Contact(id, row) => {
                a.contacts.insert(id, row);
            }
            MirrorUpdate::Group(num, Some(g)) => {
                a.groups.insert(num, g);
            }
            MirrorUpdate::Group(num, None) => {
                a.groups.remove(&num);
            }
            MirrorUpdate::Friendly(name) => a.friendly = name,
            MirrorUpdate::Blp(blp) => a.blp = blp,
            MirrorUpdate::Gtc(prompt) => a.gtc_prompt = prompt,
            MirrorUpdate::Phones(phones) => a.phones = phones,
            MirrorUpdate::Reload(account) => *a = *account,
        }
    }

    /// Stores one endpoint's `UUX` data (MSNP16+) and tells the account's endpoints.
    fn set_endpoint(
        &mut self,
        id: UserId,
        guid: MachineGuid,
        data: Option<EndpointData>,
        private: Option<PrivateEndpointData>,
    ) {
        let Some(u) = self.users.get_mut(&id) else {
            return;
        };
        let Some(m) = u.mpop.as_mut() else {
            return;
        };
        if m.primary != guid && !m.others.iter().any(|(_, g)| *g == guid) {
            return;
        }
        match m.endpoints.iter_mut().find(|e| e.guid == guid) {
            Some(e) => {
                if let Some(d) = data {
                    e.data = d;
                }
                if private.is_some() {
                    e.private = private;
                }
            }
            // Bounded: an entry only exists for a signed-in endpoint (`MAX_ENDPOINTS`).
            None => m.endpoints.push(EndpointInfo {
                guid,
                data: data.unwrap_or_default(),
                private,
            }),
        }
        self.tell_endpoints(id);
    }

    /// The `UBX` about oneself (MSNP16+): the personal data and every signed-in endpoint with its
    /// private data, to each of the account's MSNP16+ sessions. Rare (an endpoint's `UUX`, an
    /// endpoint joining or leaving), so it may allocate.
    fn tell_endpoints(&self, id: UserId) {
        let Some(u) = self.users.get(&id) else {
            return;
        };
        let personal = u
            .presence
            .psm()
            .and_then(|p| uux::parse(p).ok())
            .map(|x| PersonalData {
                psm: x.psm.unwrap_or_default(),
                current_media: x.current_media.unwrap_or_default(),
                machine_guid: x.machine_guid.unwrap_or_default(),
            })
            .unwrap_or_default();
        // libpurple reads `Capabilities` with strtoul on the element's text and crashes
        // (NULL) on an empty one: an endpoint that has not sent its own gets the account's.
        let current = EndpointData {
            capabilities: format!("{}:{}", u.presence.caps, u.presence.caps_ex),
        };
        let guids: Vec<(MachineGuid, String)> = u
            .sessions()
            .filter_map(|(_, g)| g)
            .map(|g| (g, g.to_string()))
            .collect();
        let infos = u
            .mpop
            .as_ref()
            .map(|m| &m.endpoints[..])
            .unwrap_or_default();
        let endpoints: Vec<uux::Endpoint<'_>> = guids
            .iter()
            .map(|(g, text)| {
                let info = infos.iter().find(|e| e.guid == *g);
                uux::Endpoint {
                    guid: text,
                    data: info
                        .map(|e| &e.data)
                        .filter(|d| !d.capabilities.is_empty())
                        .unwrap_or(&current),
                    private: info.and_then(|e| e.private.as_ref()),
                }
            })
            .collect();
        let body = uux::write_ubx(&personal, &endpoints);
        for s in u.members().filter(|s| s.dialect.mpop) {
            let mut head = LineBuf::<256>::new();
            write_ubx_head(&mut head, s.dialect, &u.member.handle, body.as_bytes());
            let _ = s.outbox.push(&[head.as_bytes(), body.as_bytes()]);
        }
    }

    /// Hands a `UUN` to the target's sessions (or the one endpoint it names) as `UBN`; an MPOP
    /// sign-out request to one of the sender's own endpoints also signs that endpoint out.
    fn endpoint_message(&mut self, m: &EndpointMessage) -> bool {
        let Some(t) = self.find(&m.to) else {
            return false;
        };
        let target = t.member.id;
        let own = target == m.from;
        if !own && !t.account.allows(m.from) {
            return false;
        }
        let Some(from) = self.users.get(&m.from).map(|u| u.member.handle.clone()) else {
            return false;
        };
        let Some(t) = self.users.get(&target) else {
            return false;
        };
        let sign_out = own
            && matches!(m.kind, 4 | 8)
            && (m.data.starts_with(b"goawyplzthxbye") || &*m.data == b"gtfo");
        let mut delivered = false;
        let mut gone: heapless::Vec<u64, MAX_ENDPOINTS> = heapless::Vec::new();
        for (s, g) in t.sessions() {
            // Only clients that know UBN (MSNP13+) get one.
            if m.endpoint.is_some_and(|want| g != Some(want)) || !s.dialect.endpoint_messages {
                continue;
            }
            let mut head = LineBuf::<256>::new();
            write_ubn_head(&mut head, s.dialect, &from, (m.kind, &m.data));
            delivered |= s.outbox.push(&[head.as_bytes(), &m.data]).is_ok();
            if sign_out && m.endpoint.is_some() {
                s.outbox.close();
                let _ = gone.push(s.session);
            }
        }
        for session in gone {
            self.sign_out(target, session);
        }
        delivered
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
        // Every endpoint rings (MPOP); the first to answer joins.
        let mut rung = false;
        for m in t.members() {
            let host = m.ns_local.host(self.public_host.as_deref());
            let mut line = LineBuf::<PRESENCE_LINE>::new();
            write_rng(&mut line, ring, &host, m.dialect);
            rung |= m.outbox.push(&[line.as_bytes()]).is_ok();
        }
        if !rung {
            return Rung::Refused;
        }
        Rung::Answered(callee_of(t))
    }
}

/// What `viewer` sees of `c`, if anything (ILN across hosts, and after an FL add).
fn seen_of(c: &Online, viewer: UserId) -> Option<Seen> {
    Some(Seen {
        status: c.seen_by(viewer)?,
        handle: c.member.handle.to_string(),
        friendly: c.account.friendly.clone(),
        presence: c.presence.clone(),
    })
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
            #[cfg(test)]
            sent: Arc::default(),
        };
        bus.join(host, Arc::new(directory.clone()));
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
}
