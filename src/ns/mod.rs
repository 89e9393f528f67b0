//! The dispatch and notification roles (they share a listener, see `login.rs`).
//!
//! One file per command family a client sends:
//! `login` VER INF CVR CVQ USR · `sync` SYN LST LSG · `lists` ADD ADC REM BLP GTC ·
//! `groups` ADG RMG REG · `presence` CHG REA PRP SBP UUX · `misc` URL SND SDC FND IMS PNG CHL QRY
//! GCF OUT · `xfr` XFR SB. Each command is declared once, as a row of the command table
//! (`dialect::commands::ns_commands!`: verb, type, frame, phase, versions); the session's
//! `dispatch` checks the row and `apply_command` (written from the rows) parses the command in the
//! session's dialect, answers a refused shape (`Apply::refused`) or applies it (`Apply::apply`,
//! in the family's file), which writes the reply as `protocol::reply` types.
//!
//! Every account change (lists, groups, names, privacy, phones) goes through `account::apply`,
//! which runs the storage job and hands the directory one typed message.
//!
//! The role's state is owned by actors: `directory` (who is online, presence, account mirrors;
//! it sends what the server says unprompted: ILN NLN FLN UBX, RNG, ADD/ADC/REM 0 RL, BPR) and
//! `dispatch` (the DS redirects). `bus` is the seam to other notification hosts.

pub mod account;
mod bpr;
pub mod bus;
mod contacts;
pub mod directory;
pub mod dispatch;
mod groups;
mod lists;
mod login;
mod misc;
mod pace;
pub mod presence;
pub mod ring;
mod sync;
mod xfr;

use crate::dialect::commands::{self, LoggedIn};
use crate::dialect::{Availability, Dialect, Quirk};
use crate::protocol::command::login::{Cvq, Ver};
use crate::protocol::command::{self, ClientCommand};
use crate::protocol::reply::{self, Reply};
use crate::protocol::{ArgError, Command, Role};
use crate::server::connection::Connection;
use crate::server::hub::Hub;
use crate::server::session::{Disconnect, Handled, Session, drive};
use crate::storage::Credentials;
use directory::Directory;
use dispatch::Dispatch;
use smol::Async;
use std::future::Future;
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::Instant;

/// Where a connection is in its life.
enum Phase {
    /// Waiting for VER.
    Version,
    /// Only `CVR0` was in common: waiting for `CVQ` (W cvr0.md).
    UpgradeQuery,
    /// Version agreed; waiting for USR I.
    Hello,
    /// Challenge sent; waiting for USR S. Boxed: a logged-in session no longer needs the room.
    Challenged(Box<Challenged>),
    LoggedIn(Me),
}

/// Who a logged-in session is, kept in the session itself (no allocation per idle user). The
/// rest of what is known of them (account mirror, presence) is the directory actor's.
#[derive(Clone)]
pub struct Me {
    /// The account.
    pub id: crate::model::UserId,
    /// The account's handle: the same allocation the directory keeps.
    pub handle: Arc<str>,
    /// This login, as the directory knows it (a later login of the same account replaces it).
    pub session: u64,
    /// The endpoint's machine GUID (MSNP16+ `USR SSO S ... {guid}`), for MPOP.
    pub endpoint: Option<crate::model::MachineGuid>,
}

/// The notification role (with dispatch): the shared services and the role's actors. Sessions
/// reach the hub's services through it (`Deref`).
pub struct Ns {
    /// The services every role shares.
    pub hub: Arc<Hub>,
    /// Who is online, their presence and account mirrors.
    pub directory: Directory,
    /// The redirects dispatch handed out.
    pub dispatch: Dispatch,
    /// The switchboard role, where XFR SB sends users.
    pub sb: Arc<crate::sb::Sb>,
}

impl Ns {
    /// Starts the role's actors for a server that is the only notification host.
    pub fn start(hub: &Arc<Hub>, executor: &Arc<smol::Executor<'static>>) -> Arc<Ns> {
        Ns::start_host(hub, executor, 0, Arc::new(bus::Alone))
    }

    /// The switchboard role's handle (`ns.sb.switchboards`).
    fn switchboards(&self) -> &crate::sb::registry::Switchboards {
        &self.sb.switchboards
    }

    /// Starts the role's actors as notification host `host`, reaching the others through `bus`.
    pub fn start_host(
        hub: &Arc<Hub>,
        executor: &Arc<smol::Executor<'static>>,
        host: bus::HostId,
        bus: Arc<dyn bus::Bus>,
    ) -> Arc<Ns> {
        let sb = crate::sb::Sb::new(hub);
        let for_sign_out = sb.clone();
        let directory = Directory::start(
            executor,
            directory::Setup {
                storage: hub.storage.clone(),
                host,
                bus,
                public_host: hub.config.public_host.clone(),
                on_sign_out: Box::new(move |id, handle| {
                    for_sign_out.switchboards.sign_out(id, handle)
                }),
            },
        );
        sb.start(
            executor,
            ring::DirectoryRinger::new(directory.clone(), hub.sb_port()),
        );
        Arc::new(Ns {
            hub: hub.clone(),
            directory,
            dispatch: Dispatch::start(executor),
            sb,
        })
    }

    /// Signs out the sessions of accounts the `user` commands deleted or re-passworded. Called
    /// from housekeeping; costs one `PRAGMA data_version` on the storage thread when nothing
    /// changed.
    ///
    /// The reason is `OUT OTH`: MSNP2-12 have no code for "signed out by the operator"; OTH is
    /// the only one every client version knows that ends this session without saying the whole
    /// server is going down (SSD), and clients do not reconnect by themselves after it.
    pub async fn sign_out_requested(&self) {
        let Ok(Ok(rows)) = self.storage.run(|db| db.take_signouts()).await else {
            return;
        };
        for (handle, reason) in rows {
            if let Ok(true) = self.directory.kick(handle.clone(), b"OUT OTH\r\n").await {
                log::info!("{handle}: signed out ({reason})");
            }
        }
    }
}

impl std::ops::Deref for Ns {
    type Target = Hub;

    fn deref(&self) -> &Hub {
        &self.hub
    }
}

/// A login between `USR I` and `USR S`. `credentials` is `None` for unknown accounts (we still
/// send a challenge, so a handle's existence is not revealed before the password check).
struct Challenged {
    handle: String,
    credentials: Option<Credentials>,
    challenge: String,
}

/// One notification connection: where it is in its login, and who it is once logged in. The
/// state `drive` runs; kept small because every idle user has one (`session_futures_stay_small`).
pub struct NsSession {
    ns: Arc<Ns>,
    conn: Connection,
    dialect: Option<&'static Dialect>,
    /// The client library, as far as its `CVR` tells (see `dialect::Quirk`).
    quirk: Quirk,
    phase: Phase,
    /// When the connection opened until it is logged in (the login deadlines count from there),
    /// then when the client last sent a command (the idle deadline). One field serves both so
    /// every idle session's task is 16 bytes smaller.
    since: Instant,
    got_command: bool,
    synced: bool,
    /// The first CHG after login triggers ILN.
    announced: bool,
    /// MSNP13+: the initial `ADL` (`<ml l="1">`) has been answered, or the session went online.
    listed: bool,
    /// `ADL` answers held back until then (`ns::contacts`); boxed, as it is almost always empty.
    held_adl_acks: Option<Box<contacts::HeldAcks>>,
    /// Next challenge to send, and the outstanding one with its deadline.
    next_challenge: Option<Instant>,
    /// Boxed: outstanding only for the seconds a client takes to answer.
    pending_challenge: Option<Box<(String, Instant)>>,
}

/// The connection's task. The session is built before the `async` block and used in place: an
/// async fn would keep its arguments and the session assembled from them side by side in every
/// idle session's state.
pub fn serve(
    ns: Arc<Ns>,
    stream: Async<TcpStream>,
    peer: SocketAddr,
) -> impl Future<Output = ()> + Send {
    // The accept loop's `peer` is the socket's, except for an XMPP bridge's socket, which it
    // gives as the XMPP client's (`server::bridged`): logins are throttled under that address.
    let conn = Connection::new(stream).map(|mut c| {
        c.peer = peer;
        c
    });
    serve_connection(ns, conn, peer)
}

/// The session on a connection already set up: a TCP socket's, or the HTTP gateway's pipe.
pub fn serve_connection(
    ns: Arc<Ns>,
    conn: std::io::Result<Connection>,
    peer: SocketAddr,
) -> impl Future<Output = ()> + Send {
    let mut session = match conn {
        Ok(conn) => {
            let tracked = ns.hub.track(conn.outbox.clone(), true);
            let s = NsSession {
                ns,
                conn,
                dialect: None,
                quirk: Quirk::None,
                phase: Phase::Version,
                since: Instant::now(),
                got_command: false,
                synced: false,
                announced: false,
                listed: false,
                held_adl_acks: None,
                next_challenge: None,
                pending_challenge: None,
            };
            Some((s, tracked))
        }
        Err(e) => {
            log::debug!("ns {peer}: dropped before setup: {e}");
            None
        }
    };
    async move {
        let Some((s, _)) = &mut session else {
            return;
        };
        log::debug!("ns {}: connected", s.conn.peer);
        let why = drive(s).await;
        // Taken with `let` so no temporary copy of the session lives across the await below.
        let Some((s, tracked)) = session.take() else {
            return;
        };
        Box::pin(s.end(why)).await;
        drop(tracked);
    }
}

impl NsSession {
    fn dialect(&self) -> &'static Dialect {
        self.dialect
            .expect("dialect is set before any handler that needs it runs")
    }

    fn user(&self) -> Option<&Me> {
        match &self.phase {
            Phase::LoggedIn(u) => Some(u),
            _ => None,
        }
    }

    /// A snapshot of the logged-in user's account mirror (the directory actor owns it).
    async fn account(&self, user: &Me) -> Result<Arc<crate::model::Account>, Disconnect> {
        self.ns
            .directory
            .account(user.id)
            .await?
            .ok_or_else(|| Disconnect::by_server("signed out by a newer login"))
    }

    /// Who this connection is, for log lines.
    fn who(&self) -> String {
        match &self.phase {
            Phase::LoggedIn(u) => format!("ns {} ({})", self.conn.peer, u.handle),
            _ => format!("ns {}", self.conn.peer),
        }
    }

    /// Sends a typed reply in the session's dialect (the newest before `VER`, which no reply
    /// before it depends on). Notification replies were built on the heap before they were
    /// typed and still are: they are not on a hot path, and a stack buffer would live in every
    /// handler's future.
    async fn send(&mut self, reply: &impl Reply) -> Handled {
        let bytes = reply.to_bytes(self.parse_dialect());
        self.conn.send(&[&bytes]).await?;
        Ok(())
    }

    async fn error(&mut self, code: u16, trid: u32) -> Handled {
        log::debug!("{}: error {code} for trid {trid}", self.who());
        self.send(&reply::Error { code, trid }).await
    }

    /// A command the real service answered by hanging up.
    fn close(&self, why: &str, cmd: &Command<'_>) -> Handled {
        Err(Disconnect::new(format!("{why}: {}", cmd.verb)))
    }

    async fn end(mut self, why: Disconnect) {
        // A client that leaves before `USR I` is done with dispatch (it follows the `XFR NS`
        // it was given): one such line per login would only be noise at INFO.
        let level = if matches!(self.phase, Phase::Hello) {
            log::Level::Debug
        } else {
            log::Level::Info
        };
        log::log!(level, "{}: disconnected: {}", self.who(), why.0);
        if let Phase::LoggedIn(user) = std::mem::replace(&mut self.phase, Phase::Version) {
            let _ = self.ns.directory.sign_out(user.id, user.session).await;
        }
        self.conn.finish().await;
    }
}

/// If a handler panics, the session still signs out, so nobody stays "online" forever.
impl Drop for NsSession {
    fn drop(&mut self) {
        if let Phase::LoggedIn(user) = std::mem::replace(&mut self.phase, Phase::Version) {
            self.ns.directory.sign_out_now(user.id, user.session);
        }
    }
}

impl Session for NsSession {
    const ROLE: Role = Role::Notification;

    fn conn(&mut self) -> &mut Connection {
        &mut self.conn
    }

    fn stall_timeout(&self) -> std::time::Duration {
        self.ns.live.write_stall()
    }

    fn deadline(&self) -> Instant {
        let mut d = match self.phase {
            Phase::LoggedIn(_) => self.since + self.ns.live.ns_idle(),
            _ if !self.got_command => self.since + self.ns.live.first_command(),
            _ => self.since + self.ns.live.login(),
        };
        if let Some(t) = self.next_challenge {
            d = d.min(t);
        }
        if let Some(pending) = &self.pending_challenge {
            d = d.min(pending.1);
        }
        d
    }

    async fn on_deadline(&mut self) -> Handled {
        let now = Instant::now();
        match self.phase {
            Phase::LoggedIn(_) => {
                if now >= self.since + self.ns.live.ns_idle() {
                    return Err(Disconnect::new("idle timeout"));
                }
            }
            _ if !self.got_command => {
                return Err(Disconnect::new("no command within the time limit"));
            }
            _ => {
                if now >= self.since + self.ns.live.login() {
                    return Err(Disconnect::new("login not completed within the time limit"));
                }
            }
        }
        if self
            .pending_challenge
            .as_ref()
            .is_some_and(|pending| now >= pending.1)
        {
            return Err(Disconnect::new("challenge (CHL) not answered in time"));
        }
        if self.next_challenge.is_some_and(|t| now >= t) {
            self.send_challenge().await?;
        }
        Ok(())
    }

    fn handle(&mut self, cmd: Command<'_>) -> impl Future<Output = Handled> {
        // Handlers' futures are large (many awaits on storage); boxing them, with the command,
        // keeps the state of an idle session, which waits outside any handler, to a few hundred
        // bytes. Notification commands allocate for their replies anyway; the switchboard's MSG
        // path is not boxed.
        Box::pin(self.dispatch(cmd))
    }
}

/// A typed client command (`protocol::command`) as the notification role applies it: the answer
/// to arguments of the wrong shape, and the command's effect and reply. "Where is ADC handled?"
/// is answered by `impl Apply for Adc` in the family's file (`lists.rs`).
pub(crate) trait Apply<'a>: ClientCommand<'a> {
    /// What the client gets for arguments `parse` refused. A hang-up, as the real service did for
    /// most verbs; the verbs it answered with an error code (or answered anyway) say so
    /// (docs/protocol-commands.md has the table).
    async fn refused(s: &mut NsSession, trid: u32, e: ArgError) -> Handled {
        let _ = (s, trid);
        Err(Disconnect::new(e.to_string()))
    }

    /// Does what the command asks and writes the reply.
    async fn apply(self, s: &mut NsSession, trid: u32) -> Handled;
}

/// Parses `$cmd` as `$ty` for the session's dialect and applies it, or answers the refusal.
/// A macro, not a generic method: the compiler cannot prove a generic method's future `Send`
/// for every lifetime of the borrowed command (rust-lang/rust#100013).
macro_rules! run {
    ($s:expr, $ty:ty, $cmd:expr) => {{
        let trid = $cmd.trid.unwrap_or(0);
        match <$ty>::parse($cmd, $s.parse_dialect()) {
            Ok(c) => c.apply($s, trid).await,
            Err(e) => {
                log::debug!("{}: refused: {e}", $s.who());
                <$ty>::refused($s, trid, e).await
            }
        }
    }};
}

impl NsSession {
    /// The dialect commands are parsed in. Only VER and CVQ arrive before a version is agreed,
    /// and neither reads it.
    fn parse_dialect(&self) -> &'static Dialect {
        match self.dialect {
            Some(d) => d,
            None => Dialect::get(crate::dialect::NEWEST).expect("the newest dialect exists"),
        }
    }

    async fn dispatch(&mut self, cmd: Command<'_>) -> Handled {
        let cmd = &cmd;
        self.got_command = true;
        if self.user().is_some() {
            self.since = Instant::now();
        }
        let trid = cmd.trid.unwrap_or(0);
        // USR carries hashes and tickets: never log its credentials.
        let shown = if cmd.verb == "USR" {
            &cmd.args[..cmd.args.len().min(2)]
        } else {
            &cmd.args[..]
        };
        log::trace!("{}: <- {} {:?}", self.who(), cmd.verb, shown);

        let Some(dialect) = self.dialect else {
            return match (cmd.verb, &self.phase) {
                ("CVQ", Phase::UpgradeQuery) => run!(self, Cvq, cmd),
                ("VER", Phase::Version) => run!(self, Ver, cmd),
                // Clients probe with CVR0-era commands only after VER.
                _ => self.close("command before VER", cmd),
            };
        };
        match dialect.ns_command(cmd.verb) {
            Availability::Removed => {
                log::warn!(
                    "{}: {} does not exist in MSNP{}",
                    self.who(),
                    cmd.verb,
                    dialect.version
                );
                return self.close("unknown or out-of-version command", cmd);
            }
            Availability::Disabled => return self.error(502, trid).await,
            Availability::Refused(code) => return self.error(code, trid).await,
            Availability::Yes => {}
        }
        // The table has a row for every verb the dialect said yes to.
        let Some(spec) = commands::ns_spec(cmd.verb) else {
            return self.close("unknown command", cmd);
        };
        if self.user().is_none() {
            // Before login only the login sequence, pings and OUT are meaningful.
            if spec.phase != commands::Phase::Open {
                log::info!("{}: {} before login", self.who(), cmd.verb);
                return self.error(302, trid).await;
            }
        } else {
            match spec.logged_in {
                LoggedIn::Apply => {}
                LoggedIn::Close(why) => return self.close(why, cmd),
                LoggedIn::Error(code) => return self.error(code, trid).await,
            }
        }
        self.apply_command(cmd).await
    }
}

/// Writes `NsSession::apply_command` from the command table: one arm per row with a type,
/// parsing the command in the session's dialect and applying it (`run!`).
macro_rules! apply_arms {
    (=> $($verb:literal [$($ty:ty)?] $frame:ident $phase:ident $logged:expr, $exists:expr;)*) => {
        impl NsSession {
            /// Parses `cmd` as the table's type for its verb and applies it.
            async fn apply_command(&mut self, cmd: &Command<'_>) -> Handled {
                match cmd.verb {
                    $($($verb => run!(self, $ty, cmd),)?)*
                    other => {
                        // The dialect table said yes but nothing handles it: a bug, not the
                        // client's fault.
                        log::error!("{}: no handler for {other}", self.who());
                        self.error(502, cmd.trid.unwrap_or(0)).await
                    }
                }
            }
        }
    };
}

commands::ns_commands!(apply_arms);

/// Size of the session state, for the memory regression test.
#[doc(hidden)]
pub fn session_size() -> usize {
    std::mem::size_of::<NsSession>()
}
