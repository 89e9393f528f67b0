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
//!
//! Commands are rows of `dialect::commands::sb_commands!`, applied by `impl SbApply` in the
//! family files (`join` USR ANS OUT · `chat` CAL MSG); `messages` holds what the actors exchange.

mod chat;
mod join;
pub mod messages;
pub mod port;
pub mod registry;
pub mod switchboard;

pub use port::{Admit, Ring, RingRefused, RingReply, Ringer};

use crate::dialect::{self, Dialect};
use crate::protocol::command::{self, ClientCommand};
use crate::protocol::cursor::ArgError;
use crate::protocol::reply::switchboard::MSG_HEAD_MAX;
use crate::protocol::reply::{self, Reply};
use crate::protocol::{Command, Role};
use crate::server::connection::Connection;
use crate::server::hub::Hub;
use crate::server::outbox::Outbox;
use crate::server::session::{Disconnect, Handled, Session, drive};
use messages::SbTx;
use smol::Async;
use std::future::Future;
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::Instant;

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

    /// Sends a reply in the dialect every switchboard line has (none differs before joining).
    async fn send(&mut self, reply: &impl Reply) -> Handled {
        let line =
            reply.to_line::<{ MSG_HEAD_MAX }>(Dialect::get(dialect::OLDEST).expect("served"));
        self.conn.send(&[line.as_bytes()]).await?;
        Ok(())
    }

    async fn error(&mut self, code: u16, trid: u32) -> Handled {
        self.send(&reply::Error { code, trid }).await
    }

    /// Hands a command to the switchboard; waits for room while its mailbox is full (this
    /// connection then reads nothing more: the client is pushed back by TCP).
    async fn pass_on(&mut self, cmd: messages::Command) -> Handled {
        let joined = self.joined.as_ref().expect("checked by handle()");
        joined
            .sb
            .send(cmd)
            .await
            .map_err(|_| Disconnect::by_server("switchboard ended"))
    }

    async fn end(mut self, why: Disconnect) {
        log::debug!("{}: disconnected: {}", self.who(), why.0);
        if let Some(j) = self.joined.take() {
            // Removed by the server (idle, kicked, shutdown) rather than leaving by choice.
            let leave = messages::Command::Leave {
                conn: self.id,
                forced: why.1,
            };
            let _ = j.sb.send(leave).await;
        }
        self.conn.finish().await;
    }
}

/// Writes `Session::handle` for `SbSession` from the command table
/// (`dialect::commands::sb_commands!`): one arm per row, taken when the session's joined state is
/// the row type's `JOINED`, parsing the command as the row's type and applying it.
macro_rules! handle_from_table {
    (=> $($verb:literal [$ty:ty] $frame:ident $phase:ident $logged:expr, $exists:expr;)*) => {
        async fn handle(&mut self, cmd: Command<'_>) -> Handled {
            self.got_command = true;
            self.last_activity = Instant::now();
            let cmd = &cmd;
            let trid = cmd.trid.unwrap_or(0);
            // There is no VER on a switchboard, and every command has one form in MSNP2-12: the
            // typed commands parse the same in any dialect.
            let d = dialect::Dialect::get(dialect::OLDEST).expect("the oldest dialect exists");
            match cmd.verb {
                $($verb if <$ty as SbApply<'_>>::JOINED
                    .is_none_or(|j| j == self.joined.is_some()) =>
                {
                    match <$ty>::parse(cmd, d) {
                        Ok(c) => c.apply(self, trid).await,
                        Err(e) => <$ty>::refused(self, trid, e, cmd).await,
                    }
                })*
                verb => {
                    let joined = self.joined.is_some();
                    log::warn!("{}: unexpected {verb} (joined: {joined})", self.who());
                    Err(Disconnect::new(format!("unexpected command {verb}")))
                }
            }
        }
    };
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

    // `handle`, written from the command table (see `handle_from_table`): inline rather than a
    // call to a method, so the idle session's future holds no second frame.
    dialect::commands::sb_commands!(handle_from_table);
}

/// A typed switchboard command (`protocol::command`) as the role applies it, as `ns::Apply` is
/// for the notification role: `impl SbApply` in the family's file (`join` USR ANS OUT, `chat`
/// CAL MSG) says when it may be sent, what refused arguments get and what it does.
pub(crate) trait SbApply<'a>: ClientCommand<'a> {
    /// `Some(false)`: only before joining (USR, ANS); `Some(true)`: only after (CAL, MSG);
    /// `None`: either (OUT). Anything else is unexpected and closes the connection.
    const JOINED: Option<bool>;

    /// What the client gets for arguments `parse` refused: a hang-up, as the service did (only
    /// a malformed `ANS` session id is answered, `911`, as a failed cookie check).
    async fn refused(s: &mut SbSession, trid: u32, e: ArgError, cmd: &Command<'_>) -> Handled {
        let _ = (s, trid, cmd);
        Err(Disconnect::new(format!("bad command: {e}")))
    }

    /// Does what the command asks (a joined session hands it to its switchboard actor).
    async fn apply(self, s: &mut SbSession, trid: u32) -> Handled;
}
