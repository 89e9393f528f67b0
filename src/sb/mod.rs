//! The switchboard role: USR/ANS to enter, CAL to invite, MSG relay with ACK/NAK, OUT/BYE.
//!
//! There is no VER on a switchboard: the user and dialect come from the cookie's owner, who must
//! be signed in on the notification server. Lines to each participant use that participant's
//! dialect. MSG relay formats the header once and copies header and payload into each recipient's
//! outbox: no allocation per message.

pub mod registry;

use crate::limits::MAX_SB_PARTICIPANTS;
use crate::protocol::names::normalize_handle;
use crate::protocol::write::LineBuf;
use crate::protocol::{Command, Role};
use crate::server::connection::Connection;
use crate::server::hub::Hub;
use crate::server::outbox::Outbox;
use crate::server::session::{Disconnect, Handled, Session, drive};
use registry::{Participant, Switchboard};
use smol::Async;
use std::fmt::Write;
use std::future::Future;
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::Instant;

pub struct SbSession {
    hub: Arc<Hub>,
    conn: Connection,
    id: u64,
    started: Instant,
    got_command: bool,
    last_activity: Instant,
    /// Set once USR or ANS succeeded.
    joined: Option<Joined>,
    /// Consecutive failed CALs, for the 713 rate limit.
    failed_calls: u32,
    /// A recipient the last MSG filled past its high-water mark (see `Session::take_hold`).
    hold: Option<Arc<Outbox>>,
}

struct Joined {
    sb: Arc<Switchboard>,
    user: crate::model::UserId,
    handle: String,
}

pub fn serve(
    hub: Arc<Hub>,
    stream: Async<TcpStream>,
    peer: SocketAddr,
) -> impl Future<Output = ()> + Send {
    serve_connection(hub, Connection::new(stream), peer)
}

/// The session on a connection already set up: a TCP socket's, or the HTTP gateway's pipe.
/// Built before the `async` block and used in place, as in `ns::serve_connection`, so the idle
/// session's state holds one copy of it.
pub fn serve_connection(
    hub: Arc<Hub>,
    conn: std::io::Result<Connection>,
    peer: SocketAddr,
) -> impl Future<Output = ()> + Send {
    let mut session = match conn {
        Ok(conn) => {
            let tracked = hub.track(conn.outbox.clone(), false);
            let now = Instant::now();
            let s = SbSession {
                hub,
                conn,
                id: tracked.id,
                started: now,
                got_command: false,
                last_activity: now,
                joined: None,
                failed_calls: 0,
                hold: None,
            };
            Some((s, tracked))
        }
        Err(e) => {
            log::debug!("sb {peer}: dropped before setup: {e}");
            None
        }
    };
    async move {
        let Some((s, _)) = &mut session else {
            return;
        };
        let why = drive(s).await;
        let Some((s, tracked)) = session.take() else {
            return;
        };
        Box::pin(s.end(why)).await;
        drop(tracked);
    }
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
    head.split("\r\n")
        .find_map(|l| l.strip_prefix("P2P-Dest:"))
        .map(str::trim)
}

impl SbSession {
    fn who(&self) -> String {
        match &self.joined {
            Some(j) => format!("sb {} ({})", self.conn.peer, j.handle),
            None => format!("sb {}", self.conn.peer),
        }
    }

    async fn reply(&mut self, line: &str) -> Handled {
        self.conn.send(&[line.as_bytes(), b"\r\n"]).await?;
        Ok(())
    }

    async fn error(&mut self, code: u16, trid: u32) -> Handled {
        self.reply(&format!("{code} {trid}")).await
    }

    fn directory(&self) -> &crate::ns::directory::Directory {
        self.hub.interim_directory.get().expect("set at start")
    }

    /// Admits the cookie's owner: returns the participant record for them.
    async fn participant(&self, user: crate::model::UserId) -> Option<Participant> {
        let c = self.directory().callee(user).await.ok()??;
        Some(Participant {
            user,
            handle: c.handle,
            name: c.name,
            caps: c.caps,
            dialect: c.dialect,
            outbox: self.conn.outbox.clone(),
            conn: self.id,
        })
    }

    async fn usr(&mut self, cmd: &Command<'_>) -> Handled {
        let trid = cmd.trid.unwrap_or(0);
        let (Some(&handle), Some(&cookie)) = (cmd.args.first(), cmd.args.get(1)) else {
            return Err(Disconnect::new("USR with missing arguments"));
        };
        let handle = handle.to_ascii_lowercase();
        let grant = self
            .hub
            .switchboards
            .redeem(cookie, &handle)
            .filter(|g| g.join.is_none());
        let me = match grant {
            Some(g) => self.participant(g.user).await,
            None => None,
        };
        let Some(me) = me else {
            self.error(911, trid).await?;
            return Err(Disconnect::new(format!(
                "bad switchboard cookie for {handle}"
            )));
        };
        let sb = self.hub.switchboards.create();
        let line = format!("USR {trid} OK {} {}", me.handle, me.name);
        self.joined = Some(Joined {
            sb: sb.clone(),
            user: me.user,
            handle: me.handle.clone(),
        });
        sb.state().participants.push(me);
        log::debug!("{}: opened switchboard {}", self.who(), sb.id);
        self.reply(&line).await
    }

    async fn ans(&mut self, cmd: &Command<'_>) -> Handled {
        let trid = cmd.trid.unwrap_or(0);
        let (Some(&handle), Some(&cookie), Some(&sessid)) =
            (cmd.args.first(), cmd.args.get(1), cmd.args.get(2))
        else {
            return Err(Disconnect::new("ANS with missing arguments"));
        };
        let handle = handle.to_ascii_lowercase();
        let sessid: Option<u32> = sessid.parse().ok();
        let grant = self
            .hub
            .switchboards
            .redeem(cookie, &handle)
            .filter(|g| g.join.is_some() && g.join == sessid);
        let sb = grant
            .as_ref()
            .and_then(|g| self.hub.switchboards.get(g.join?));
        let me = match &grant {
            Some(g) => self.participant(g.user).await,
            None => None,
        };
        let (Some(sb), Some(me)) = (sb, me) else {
            self.error(911, trid).await?;
            return Err(Disconnect::new(format!(
                "bad switchboard answer from {handle}"
            )));
        };
        let my_dialect = me.dialect;
        let mut iro = Vec::new();
        let refused = {
            let mut st = sb.state();
            st.invited.retain(|(u, _)| *u != me.user);
            st.participants.len() >= MAX_SB_PARTICIPANTS
                || st.participants.iter().any(|p| p.user == me.user)
        };
        if refused {
            self.error(713, trid).await?;
            return Err(Disconnect::new("switchboard full or already joined"));
        }
        {
            let mut st = sb.state();
            let n = st.participants.len();
            for (i, p) in st.participants.iter().enumerate() {
                let caps = if my_dialect.sb_caps {
                    format!(" {}", p.caps)
                } else {
                    String::new()
                };
                iro.push(format!(
                    "IRO {trid} {} {n} {} {}{caps}",
                    i + 1,
                    p.handle,
                    p.name
                ));
                let joi = if p.dialect.sb_caps {
                    format!("JOI {} {} {}\r\n", me.handle, me.name, me.caps)
                } else {
                    format!("JOI {} {}\r\n", me.handle, me.name)
                };
                let _ = p.outbox.push(&[joi.as_bytes()]);
            }
            self.joined = Some(Joined {
                sb: sb.clone(),
                user: me.user,
                handle: me.handle.clone(),
            });
            st.participants.push(me);
        }
        for l in iro {
            self.reply(&l).await?;
        }
        self.reply(&format!("ANS {trid} OK")).await
    }

    async fn cal(&mut self, cmd: &Command<'_>) -> Handled {
        let trid = cmd.trid.unwrap_or(0);
        let Some(&raw) = cmd.args.first() else {
            return Err(Disconnect::new("CAL without a handle"));
        };
        let joined = self.joined.as_ref().expect("checked by handle()");
        let (sb, me_id, me_handle) = (joined.sb.clone(), joined.user, joined.handle.clone());
        let Some(handle) = normalize_handle(raw) else {
            return self.error(208, trid).await;
        };
        if self.failed_calls >= 5 {
            return self.error(713, trid).await;
        }
        let target = self.directory().lookup(handle.clone()).await.ok().flatten();
        let (already, full) = {
            let st = sb.state();
            let already = handle == me_handle
                || st.participants.iter().any(|p| p.handle == handle)
                || target.is_some_and(|t| st.is_invited(t));
            (already, st.participants.len() >= MAX_SB_PARTICIPANTS)
        };
        if already {
            return self.error(215, trid).await;
        }
        if full {
            return self.error(713, trid).await;
        }
        let Ok(Some(me)) = self.directory().callee(me_id).await else {
            return self.error(217, trid).await;
        };
        let Ok(cookie) = self
            .hub
            .switchboards
            .grant(target.unwrap_or(0), &handle, Some(sb.id))
        else {
            // Every cookie slot is taken: the callee cannot be rung now.
            return self.error(217, trid).await;
        };
        let ring = crate::ns::directory::Ring {
            caller: me_id,
            caller_handle: me.handle,
            caller_name: me.name,
            target: handle.clone(),
            sb_id: sb.id,
            cookie: cookie.clone(),
            sb_port: self.hub.sb_port(),
        };
        // Offline, hidden, blocking me, or not accepting IMs all look the same to the caller.
        let Ok(Some(callee)) = self.directory().ring(ring).await else {
            self.hub.switchboards.redeem(&cookie, &handle);
            self.failed_calls += 1;
            return self.error(217, trid).await;
        };
        self.failed_calls = 0;
        sb.state().invite(callee.user);
        self.reply(&format!("CAL {trid} RINGING {}", sb.id)).await
    }

    async fn msg(&mut self, cmd: &Command<'_>) -> Handled {
        let trid = cmd.trid.unwrap_or(0);
        let ack = match cmd.args.first().copied() {
            Some(a @ ("U" | "N" | "A" | "D" | "S")) => a,
            other => return Err(Disconnect::new(format!("MSG with ack type {other:?}"))),
        };
        let payload = cmd.payload;
        if ack == "D" && !payload.windows(4).any(|w| w == b"\r\n\r\n") {
            return self.error(282, trid).await;
        }
        let joined = self.joined.as_ref().expect("checked by handle()");
        let dest = p2p_dest(payload);
        let (mut delivered, mut failed) = (0u32, 0u32);
        {
            let st = joined.sb.state();
            let me = st.participants.iter().find(|p| p.conn == self.id);
            let (handle, name) = me.map_or((joined.handle.as_str(), ""), |p| {
                (p.handle.as_str(), p.name.as_str())
            });
            let mut head = LineBuf::<640>::new();
            let _ = write!(head, "MSG {handle} {name} {}\r\n", payload.len());
            // A P2P message naming a participant goes to that participant only.
            let routed = dest.is_some_and(|d| {
                st.participants
                    .iter()
                    .any(|p| p.handle.eq_ignore_ascii_case(d))
            });
            for p in st.participants.iter().filter(|p| p.conn != self.id) {
                if routed && !dest.is_some_and(|d| p.handle.eq_ignore_ascii_case(d)) {
                    continue;
                }
                match p.outbox.push_relay(&[head.as_bytes(), payload]) {
                    Ok(congested) => {
                        delivered += 1;
                        if congested && self.hold.is_none() {
                            self.hold = Some(p.outbox.clone());
                        }
                    }
                    Err(_) => failed += 1,
                }
            }
        }
        let ok = delivered > 0 && failed == 0;
        let mut reply = LineBuf::<32>::new();
        let _ = match (ack, ok) {
            ("A" | "D" | "S", true) => write!(reply, "ACK {trid}\r\n"),
            ("A" | "N", false) => write!(reply, "NAK {trid}\r\n"),
            _ => Ok(()),
        };
        if !reply.as_bytes().is_empty() {
            self.conn.send(&[reply.as_bytes()]).await?;
        }
        Ok(())
    }

    async fn end(mut self, why: Disconnect) {
        log::debug!("{}: disconnected: {}", self.who(), why.0);
        if let Some(j) = self.joined.take() {
            // Removed by the server (idle, kicked, shutdown) rather than leaving by choice.
            let forced = why.1;
            let bye = if forced {
                format!("BYE {} 1\r\n", j.handle)
            } else {
                format!("BYE {}\r\n", j.handle)
            };
            {
                let mut st = j.sb.state();
                st.participants.retain(|p| p.conn != self.id);
                for p in &st.participants {
                    let _ = p.outbox.push(&[bye.as_bytes()]);
                }
            }
            self.hub.switchboards.remove_if_empty(&j.sb);
        }
        self.conn.finish().await;
    }
}

impl Session for SbSession {
    const ROLE: Role = Role::Switchboard;

    fn conn(&mut self) -> &mut Connection {
        &mut self.conn
    }

    fn stall_timeout(&self) -> std::time::Duration {
        self.hub.live.write_stall()
    }

    fn take_hold(&mut self) -> Option<Arc<Outbox>> {
        self.hold.take()
    }

    fn deadline(&self) -> Instant {
        match self.joined {
            Some(_) => self.last_activity + self.hub.live.sb_idle(),
            None if !self.got_command => self.started + self.hub.live.first_command(),
            None => self.started + self.hub.live.login(),
        }
    }

    async fn on_deadline(&mut self) -> Handled {
        Err(Disconnect::by_server(match self.joined {
            Some(_) => "idle timeout",
            None => "did not join a session in time",
        }))
    }

    async fn handle(&mut self, cmd: Command<'_>) -> Handled {
        self.got_command = true;
        self.last_activity = Instant::now();
        match (cmd.verb, self.joined.is_some()) {
            // Rare commands are boxed so the idle session's future stays small (see ns::handle).
            ("USR", false) => Box::pin(self.usr(&cmd)).await,
            ("ANS", false) => Box::pin(self.ans(&cmd)).await,
            ("CAL", true) => Box::pin(self.cal(&cmd)).await,
            ("MSG", true) => self.msg(&cmd).await,
            ("OUT", _) => Err(Disconnect::new("left (OUT)")),
            (verb, joined) => {
                log::warn!("{}: unexpected {verb} (joined: {joined})", self.who());
                Err(Disconnect::new(format!("unexpected command {verb}")))
            }
        }
    }
}
