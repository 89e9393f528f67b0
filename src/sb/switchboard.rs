//! One switchboard session as an actor: it owns its participants and invitations, and every
//! command of a participant's connection that touches them comes through its bounded mailbox
//! (`SB_MAILBOX`), in the order the connection read them.
//!
//! MSG relay: the sender's connection copies the payload into a pooled buffer; the actor formats
//! the header once and copies header and payload into each recipient's outbox (no allocation per
//! message), then writes the ACK/NAK into the sender's outbox itself, after the delivery and in
//! order with the sender's other replies (CAL's come from here too). A recipient past its
//! high-water mark is recorded on the sender's outbox (`Outbox::hold_sender`): the sender stops
//! reading until it drains. The actor itself never waits on a recipient.
//!
//! CAL: the actor asks the registry for a cookie bound to the target's handle, then awaits the
//! notification role's `Ringer` before it takes its next command, so the `ANS` that the `RNG`
//! leads to always finds the invitation (and the invitee's `Admit`) recorded. A refused ring
//! revokes the cookie. The actor ends when its last participant leaves; its id then stops working.

/// The switchboard's messages, under the names they had before `messages` existed.
pub use super::messages::{Ack, Command, JoinOutcome, SbTx};
use super::messages::{GrantRefused, Request};
use super::port::{Admit, Ring, RingRefused, Ringer};
use crate::dialect::{self, Dialect};
use crate::limits::{COOKIE_TTL, MAX_SB_PARTICIPANTS};
use crate::model::{MachineGuid, UserId};
use crate::protocol::names::normalize_handle;
use crate::protocol::reply::switchboard::{
    AnsOk, Bye, CalRinging, Delivery, Iro, Joi, MSG_HEAD_MAX, MsgHead,
};
use crate::protocol::reply::{Error, Reply};
use crate::server::loglimit;
use crate::server::mailbox::{Receiver, Sender};
use crate::server::mailbox::{Spawner, post};
use crate::server::outbox::Outbox;
use crate::server::pool;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

/// Someone in the session.
pub(crate) struct Participant {
    /// Who they are; the name is kept current by `Rename`, so the relay reads it without lookups.
    admit: Admit,
    outbox: Arc<Outbox>,
    /// Identifies the connection (one user may be in a session once).
    conn: u64,
    /// Consecutive refused CALs, for the 713 rate limit.
    failed_calls: u32,
    /// The endpoint's machine GUID, when it named one (`email;{guid}` in `USR`/`ANS`, MSNP16+):
    /// MSNP16+ readers see this participant as `email;{guid}` in `IRO`/`JOI`.
    endpoint: Option<MachineGuid>,
}

impl Participant {
    /// A participant who has made no refused CALs yet.
    pub(crate) fn new(admit: Admit, outbox: Arc<Outbox>, conn: u64) -> Participant {
        Participant {
            admit,
            outbox,
            conn,
            failed_calls: 0,
            endpoint: None,
        }
    }

    /// The same participant at endpoint `endpoint`.
    pub(crate) fn at(mut self, endpoint: Option<MachineGuid>) -> Participant {
        self.endpoint = endpoint;
        self
    }
}

/// Someone rung into the session who has not answered yet (until their RNG cookie expires).
struct Invitation {
    admit: Admit,
    until: Instant,
}

/// The actor's state: who is in the session and who has been rung. Only the actor's task touches
/// it, so it needs no lock; the registry creates it with its first participant.
pub(crate) struct Switchboard {
    id: u32,
    /// The creator's address: an `XFR SB`/`USR`/`OUT` loop writes an opened and an ended line
    /// per cycle, so both are limited per address (`server::loglimit`).
    opener: SocketAddr,
    participants: Vec<Participant>,
    invited: Vec<Invitation>,
    /// The users the registry believes are here (participants and invitees), so that it tells
    /// this switchboard of their renames and sign-outs and nobody else's.
    announced: Vec<UserId>,
    registry: Sender<Request>,
    spawner: Spawner,
    ringer: Arc<dyn Ringer>,
}

/// Whether an SB payload is a P2P message and, if it names one, its destination handle.
fn p2p_dest(payload: &[u8]) -> Option<&str> {
    let head_end = payload
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or(payload.len());
    let head = std::str::from_utf8(&payload[..head_end]).ok()?;
    if !head.contains("application/x-msnmsgrp2p") {
        return None;
    }
    // MSNP16+ clients may name the endpoint (`bob@x;{guid}`); the participant is the account.
    head.split("\r\n")
        .find_map(|l| l.strip_prefix("P2P-Dest:"))
        .map(|d| d.trim().split(';').next().unwrap_or(""))
}

/// Queues a reply for a participant, written on the stack (no allocation). No switchboard line
/// differs between versions except `IRO`/`JOI`, which `push_in` writes for their reader.
fn reply(outbox: &Outbox, reply: impl Reply) {
    push_in(
        outbox,
        Dialect::get(dialect::OLDEST).expect("served"),
        reply,
    );
}

/// Queues `reply` as a client speaking `d` reads it.
fn push_in(outbox: &Outbox, d: &Dialect, reply: impl Reply) {
    let line = reply.to_line::<MSG_HEAD_MAX>(d);
    let _ = outbox.push(&[line.as_bytes()]);
}

/// `code trid`.
fn error(code: u16, trid: u32) -> Error {
    Error { code, trid }
}

impl Switchboard {
    pub(super) fn new(
        id: u32,
        creator: Participant,
        opener: SocketAddr,
        registry: Sender<Request>,
        spawner: Spawner,
        ringer: Arc<dyn Ringer>,
    ) -> Switchboard {
        Switchboard {
            id,
            opener,
            // The registry indexed the creator when it created this switchboard.
            announced: vec![creator.admit.user],
            participants: vec![creator],
            invited: Vec::new(),
            registry,
            spawner,
            ringer,
        }
    }

    pub(super) async fn run(mut self, rx: Receiver<Command>) {
        if loglimit::allow("switchboard opened", self.opener) {
            log::info!("switchboard {}: opened", self.id);
        }
        while let Some(cmd) = rx.recv().await {
            // Nothing queued behind this command: a relayed message may be written through.
            let last = rx.is_empty();
            if !self.handle(cmd, last).await {
                break;
            }
        }
        // New commands fail from here on. The registry hears first, so that whoever sees a
        // queued command dropped (a waiting `ANS` sees its reply channel close and gets 911)
        // and asks the registry next finds the id gone.
        rx.close();
        post(
            &self.registry,
            Request::Closed { id: self.id },
            Some(&self.spawner),
        );
        while let Some(cmd) = rx.try_recv() {
            if let Command::Relay { payload, .. } = cmd {
                pool::give_payload(payload);
            }
        }
        if loglimit::allow("switchboard ended", self.opener) {
            log::info!("switchboard {}: ended", self.id);
        }
    }

    /// Tells the registry whether `user` is still here (a participant, or an invitee whose ring
    /// has not been answered), when that changed. An invitation past its time still counts: one
    /// post too many on a rename, never one too few.
    fn announce(&mut self, user: UserId) {
        let here = self.participants.iter().any(|p| p.admit.user == user)
            || self.invited.iter().any(|i| i.admit.user == user);
        let known = self.announced.iter().position(|u| *u == user);
        match (here, known) {
            (true, None) => self.announced.push(user),
            (false, Some(i)) => {
                self.announced.swap_remove(i);
            }
            _ => return,
        }
        let notice = Request::Member {
            sb: self.id,
            user,
            present: here,
        };
        post(&self.registry, notice, Some(&self.spawner));
    }

    /// Returns false when the session is over (nobody left).
    /// `last`: no command is queued behind this one (see `relay`).
    async fn handle(&mut self, cmd: Command, last: bool) -> bool {
        match cmd {
            Command::Relay {
                conn,
                trid,
                ack,
                payload,
            } => {
                self.relay(conn, trid, ack, &payload, last);
                pool::give_payload(payload);
            }
            Command::Call { conn, trid, handle } => Box::pin(self.call(conn, trid, &handle)).await,
            Command::Join {
                handle,
                outbox,
                conn,
                endpoint,
                trid,
                reply,
            } => {
                let outcome = self.join(&handle, outbox, (conn, endpoint), trid);
                let _ = reply.try_send(outcome);
            }
            Command::Leave { conn, forced } => return self.leave(conn, forced),
            Command::SignOut { user } => {
                // An invitation they did not answer in this login is void.
                self.invited.retain(|i| i.admit.user != user);
                for p in self.participants.iter().filter(|p| p.admit.user == user) {
                    p.outbox.close();
                }
                self.announce(user);
            }
            Command::Rename { user, name } => {
                let people = self.participants.iter_mut().map(|p| &mut p.admit);
                let invited = self.invited.iter_mut().map(|i| &mut i.admit);
                for a in people.chain(invited).filter(|a| a.user == user) {
                    a.name.clear();
                    a.name.push_str(&name);
                }
            }
        }
        true
    }

    /// Copies `payload` to the other participants. When `last` (no command queued behind this
    /// one), a recipient with nothing queued gets it written straight to its socket from here
    /// (`Outbox::push_through`) instead of a wake-up of its task, which at a home server's few
    /// messages a second is most of a message's cost; in a burst the messages queue, and the
    /// recipient's task writes them in one `write` (bench/analysis.md, "Paced relay").
    fn relay(&mut self, conn: u64, trid: u32, ack: Ack, payload: &[u8], last: bool) {
        let Some(me) = self.participants.iter().find(|p| p.conn == conn) else {
            return;
        };
        if ack == Ack::Data && !payload.windows(4).any(|w| w == b"\r\n\r\n") {
            return reply(&me.outbox, error(282, trid));
        }
        let dest = p2p_dest(payload);
        let head = MsgHead {
            handle: &me.admit.handle,
            name: &me.admit.name,
            len: payload.len() as u32,
        }
        .to_line::<MSG_HEAD_MAX>(me.admit.dialect);
        // A P2P message naming a participant goes to that participant only.
        let routed = dest.is_some_and(|d| {
            self.participants
                .iter()
                .any(|p| p.admit.handle.eq_ignore_ascii_case(d))
        });
        let (mut delivered, mut failed) = (0u32, 0u32);
        for p in self.participants.iter().filter(|p| p.conn != conn) {
            if routed && !dest.is_some_and(|d| p.admit.handle.eq_ignore_ascii_case(d)) {
                continue;
            }
            let frame = [head.as_bytes(), payload];
            let pushed = if last {
                p.outbox.push_through(&frame)
            } else {
                p.outbox.push_relay(&frame)
            };
            match pushed {
                Ok(congested) => {
                    delivered += 1;
                    if congested {
                        me.outbox.hold_sender(&p.outbox);
                    }
                }
                Err(_) => failed += 1,
            }
        }
        let ok = delivered > 0 && failed == 0;
        match (ack, ok) {
            (Ack::Always | Ack::Data | Ack::Success, true) => {
                reply(&me.outbox, Delivery::Ack(trid))
            }
            (Ack::Always | Ack::Negative, false) => reply(&me.outbox, Delivery::Nak(trid)),
            _ => {}
        }
    }

    async fn call(&mut self, conn: u64, trid: u32, raw: &str) {
        let Some(me) = self.participants.iter().position(|p| p.conn == conn) else {
            return;
        };
        let outbox = self.participants[me].outbox.clone();
        let Some(handle) = normalize_handle(raw) else {
            return reply(&outbox, error(208, trid));
        };
        if self.participants[me].failed_calls >= crate::limits::MAX_FAILED_CALLS {
            return reply(&outbox, error(713, trid));
        }
        let now = Instant::now();
        let already = self.participants.iter().any(|p| p.admit.handle == handle)
            || self
                .invited
                .iter()
                .any(|i| i.admit.handle == handle && i.until > now);
        if already {
            return reply(&outbox, error(215, trid));
        }
        if self.participants.len() >= MAX_SB_PARTICIPANTS {
            return reply(&outbox, error(713, trid));
        }
        // The registry never waits on a switchboard, so waiting on it here cannot deadlock.
        let (tx, rx) = smol::channel::bounded(1);
        let invite = Request::Invite {
            caller: self.participants[me].admit.user,
            handle: handle.clone(),
            sb: self.id,
            reply: tx,
        };
        let cookie = match self.registry.send(invite).await {
            Ok(()) => rx.recv().await.unwrap_or(Err(GrantRefused::Gone)),
            Err(_) => Err(GrantRefused::Gone),
        };
        let Ok(cookie) = cookie else {
            // Every cookie slot is taken: the callee cannot be rung now.
            return reply(&outbox, error(217, trid));
        };
        let caller = &self.participants[me].admit;
        let ring = Ring {
            caller: caller.user,
            caller_handle: caller.handle.clone(),
            caller_name: caller.name.clone(),
            target: handle.clone(),
            sb: self.id,
            cookie: cookie.clone(),
        };
        match self.ringer.ring(ring).await {
            Ok(admit) => {
                self.participants[me].failed_calls = 0;
                self.invited.retain(|i| i.admit.handle != handle);
                let invitee = admit.user;
                self.invited.push(Invitation {
                    admit,
                    until: Instant::now() + COOKIE_TTL,
                });
                self.announce(invitee);
                let session = self.id;
                reply(&outbox, CalRinging { trid, session });
            }
            Err(RingRefused) => {
                post(
                    &self.registry,
                    Request::Revoke { cookie },
                    Some(&self.spawner),
                );
                self.participants[me].failed_calls += 1;
                reply(&outbox, error(217, trid));
            }
        }
    }

    fn join(
        &mut self,
        handle: &str,
        outbox: Arc<Outbox>,
        (conn, endpoint): (u64, Option<MachineGuid>),
        trid: u32,
    ) -> JoinOutcome {
        let now = Instant::now();
        let Some(i) = self
            .invited
            .iter()
            .position(|i| i.admit.handle == handle && i.until > now)
        else {
            return JoinOutcome::Refused(911);
        };
        let me = self.invited.swap_remove(i).admit;
        if self.participants.len() >= MAX_SB_PARTICIPANTS
            || self.participants.iter().any(|p| p.admit.user == me.user)
        {
            // The invitation is spent.
            self.announce(me.user);
            return JoinOutcome::Refused(713);
        }
        let n = self.participants.len();
        for (i, p) in self.participants.iter().enumerate() {
            let a = &p.admit;
            let iro = Iro {
                trid,
                index: i as u32 + 1,
                count: n as u32,
                handle: &a.handle,
                endpoint: p.endpoint,
                name: &a.name,
                caps: a.caps,
            };
            push_in(&outbox, me.dialect, iro);
            let joi = Joi {
                handle: &me.handle,
                endpoint,
                name: &me.name,
                caps: me.caps,
            };
            push_in(&p.outbox, a.dialect, joi);
        }
        reply(&outbox, AnsOk { trid });
        log::debug!("switchboard {}: {} joined", self.id, me.handle);
        self.participants
            .push(Participant::new(me, outbox, conn).at(endpoint));
        JoinOutcome::Joined
    }

    /// Returns false when nobody is left.
    fn leave(&mut self, conn: u64, forced: bool) -> bool {
        if let Some(i) = self.participants.iter().position(|p| p.conn == conn) {
            let gone = self.participants.remove(i);
            let bye = Bye {
                handle: &gone.admit.handle,
                forced,
            };
            for p in &self.participants {
                push_in(&p.outbox, p.admit.dialect, bye);
            }
            self.announce(gone.admit.user);
        }
        !self.participants.is_empty()
    }
}
