//! The switchboard role: USR/ANS to enter, CAL to invite, MSG relay with ACK/NAK, OUT/BYE.
//!
//! There is no VER on a switchboard: who the user is and which dialect they speak come with the
//! grant (`port::Admit`), from the notification role that issued the cookie. Lines to each
//! participant use that participant's dialect.
//!
//! Role state lives in actors: the registry (`registry`: cookies and the table of live
//! switchboards) and one actor per switchboard (`switchboard`: participants and invitations).
//! A connection task owns its socket and outbox and talks to them only through their bounded
//! mailboxes; once joined, every command goes to its switchboard, which writes the replies, so
//! they keep the order the commands came in.

pub mod port;
pub mod registry;
pub mod switchboard;

pub use port::{Admit, Ring, RingRefused, RingReply, Ringer};

use crate::protocol::{Command, Role};
use crate::server::connection::Connection;
use crate::server::hub::Hub;
use crate::server::outbox::Outbox;
use crate::server::pool;
use crate::server::session::{Disconnect, Handled, Session, drive};
use smol::Async;
use std::future::Future;
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::Instant;
use switchboard::{Ack, JoinOutcome, SbTx};

/// The switchboard role: the shared services and the registry actor's handle. Sessions reach
/// the hub's services through it (`Deref`).
pub struct Sb {
    /// The transport's shared services (limits, timeouts, the connection table, shutdown).
    pub hub: Arc<Hub>,
    /// The registry actor: cookies and the table of live switchboards.
    pub switchboards: registry::Switchboards,
}

impl Sb {
    /// The role with its registry's mailbox open; `start` runs the registry once the
    /// notification role that rings users for it exists.
    pub fn new(hub: &Arc<Hub>) -> Arc<Sb> {
        Arc::new(Sb {
            hub: hub.clone(),
            switchboards: registry::Switchboards::new(),
        })
    }

    /// Starts the registry actor with the notification role's `ringer`.
    pub fn start(&self, executor: &Arc<smol::Executor<'static>>, ringer: Arc<dyn Ringer>) {
        self.switchboards.start(executor, ringer);
    }
}

impl std::ops::Deref for Sb {
    type Target = Hub;

    fn deref(&self) -> &Hub {
        &self.hub
    }
}

/// One switchboard connection: the session state `drive` runs.
pub(crate) struct SbSession {
    sb: Arc<Sb>,
    conn: Connection,
    id: u64,
    started: Instant,
    got_command: bool,
    last_activity: Instant,
    /// Set once USR or ANS succeeded.
    joined: Option<Joined>,
}

struct Joined {
    /// The switchboard actor's mailbox.
    sb: SbTx,
    handle: String,
}

/// The session task for one accepted switchboard TCP connection; `node`'s listener spawns it.
pub(crate) fn serve(
    sb: Arc<Sb>,
    stream: Async<TcpStream>,
    peer: SocketAddr,
) -> impl Future<Output = ()> + Send {
    serve_connection(sb, Connection::new(stream), peer)
}

/// The session on a connection already set up: a TCP socket's, or the HTTP gateway's pipe.
/// Built before the `async` block and used in place, as in `ns::serve_connection`, so the idle
/// session's state holds one copy of it.
pub(crate) fn serve_connection(
    sb: Arc<Sb>,
    conn: std::io::Result<Connection>,
    peer: SocketAddr,
) -> impl Future<Output = ()> + Send {
    let mut session = match conn {
        Ok(conn) => {
            let tracked = sb.hub.track(conn.outbox.clone(), false);
            let now = Instant::now();
            let s = SbSession {
                sb,
                conn,
                id: tracked.id,
                started: now,
                got_command: false,
                last_activity: now,
                joined: None,
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

    /// Hands a command to the switchboard; waits for room while its mailbox is full (this
    /// connection then reads nothing more: the client is pushed back by TCP).
    async fn pass_on(&mut self, cmd: switchboard::Command) -> Handled {
        let joined = self.joined.as_ref().expect("checked by handle()");
        joined
            .sb
            .send(cmd)
            .await
            .map_err(|_| Disconnect::by_server("switchboard ended"))
    }

    async fn usr(&mut self, cmd: &Command<'_>) -> Handled {
        let trid = cmd.trid.unwrap_or(0);
        let (Some(&handle), Some(&cookie)) = (cmd.args.first(), cmd.args.get(1)) else {
            return Err(Disconnect::new("USR with missing arguments"));
        };
        let handle = handle.to_ascii_lowercase();
        let outbox = self.conn.outbox.clone();
        let opened = self.sb.switchboards.open(cookie, &handle, outbox, self.id);
        let Some(opened) = opened.await else {
            self.error(911, trid).await?;
            return Err(Disconnect::new(format!(
                "bad switchboard cookie for {handle}"
            )));
        };
        let me = opened.admit;
        self.joined = Some(Joined {
            sb: opened.tx,
            handle: me.handle.clone(),
        });
        log::debug!("{}: opened switchboard {}", self.who(), opened.id);
        self.reply(&format!("USR {trid} OK {} {}", me.handle, me.name))
            .await
    }

    async fn ans(&mut self, cmd: &Command<'_>) -> Handled {
        let trid = cmd.trid.unwrap_or(0);
        let (Some(&handle), Some(&cookie), Some(&sessid)) =
            (cmd.args.first(), cmd.args.get(1), cmd.args.get(2))
        else {
            return Err(Disconnect::new("ANS with missing arguments"));
        };
        let handle = handle.to_ascii_lowercase();
        // Ids start at 1: a malformed one matches nothing, and the cookie is burnt all the same.
        let id = sessid.parse::<u32>().unwrap_or(0);
        let sb = self.sb.switchboards.answer(cookie, &handle, id).await;
        let outcome = match &sb {
            Some(sb) => {
                let (reply, answer) = smol::channel::bounded(1);
                let join = switchboard::Command::Join {
                    handle: handle.clone(),
                    outbox: self.conn.outbox.clone(),
                    conn: self.id,
                    trid,
                    reply,
                };
                match sb.send(join).await {
                    Ok(()) => answer.recv().await.unwrap_or(JoinOutcome::Refused(911)),
                    Err(_) => JoinOutcome::Refused(911),
                }
            }
            None => JoinOutcome::Refused(911),
        };
        match (outcome, sb) {
            (JoinOutcome::Joined, Some(sb)) => {
                self.joined = Some(Joined { sb, handle });
                Ok(())
            }
            (JoinOutcome::Refused(713), _) => {
                self.error(713, trid).await?;
                Err(Disconnect::new("switchboard full or already joined"))
            }
            _ => {
                self.error(911, trid).await?;
                Err(Disconnect::new(format!(
                    "bad switchboard answer from {handle}"
                )))
            }
        }
    }

    async fn cal(&mut self, cmd: &Command<'_>) -> Handled {
        let trid = cmd.trid.unwrap_or(0);
        let Some(&raw) = cmd.args.first() else {
            return Err(Disconnect::new("CAL without a handle"));
        };
        let call = switchboard::Command::Call {
            conn: self.id,
            trid,
            handle: raw.to_owned(),
        };
        self.pass_on(call).await
    }

    async fn msg(&mut self, cmd: &Command<'_>) -> Handled {
        let trid = cmd.trid.unwrap_or(0);
        let Some(ack) = cmd.args.first().and_then(|a| Ack::parse(a)) else {
            return Err(Disconnect::new(format!(
                "MSG with ack type {:?}",
                cmd.args.first()
            )));
        };
        let mut payload = pool::payload();
        // The parser refuses payloads longer than MAX_SB_PAYLOAD, the buffer's capacity.
        if payload.extend_from_slice(cmd.payload).is_err() {
            pool::give_payload(payload);
            return Err(Disconnect::new("MSG payload too long"));
        }
        let relay = switchboard::Command::Relay {
            conn: self.id,
            trid,
            ack,
            payload,
        };
        self.pass_on(relay).await
    }

    async fn end(mut self, why: Disconnect) {
        log::debug!("{}: disconnected: {}", self.who(), why.0);
        if let Some(j) = self.joined.take() {
            // Removed by the server (idle, kicked, shutdown) rather than leaving by choice.
            let leave = switchboard::Command::Leave {
                conn: self.id,
                forced: why.1,
            };
            let _ = j.sb.send(leave).await;
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
        self.sb.live.write_stall()
    }

    fn take_hold(&mut self) -> Option<Arc<Outbox>> {
        self.joined.as_ref()?;
        self.conn.outbox.take_hold()
    }

    fn deadline(&self) -> Instant {
        match self.joined {
            Some(_) => self.last_activity + self.sb.live.sb_idle(),
            None if !self.got_command => self.started + self.sb.live.first_command(),
            None => self.started + self.sb.live.login(),
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
