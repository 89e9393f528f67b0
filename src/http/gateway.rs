//! The HTTP polling gateway, `POST /gateway/gateway.dll`, that MSN 5.0-7.5 fall back to when TCP
//! 1863 is blocked (SB-HTTP.md §6).
//!
//! Each gateway session is one MSNP connection, notification or switchboard, whose bytes travel in
//! HTTP bodies: `?Action=open&Server=NS|SB&IP=host` starts one (the body holds the first
//! commands), `?SessionID=id` sends more commands, `?Action=poll&SessionID=id` (empty body) asks
//! for what the server has queued. Every answer carries
//! `X-MSN-Messenger: SessionID=id; GW-IP=host` (plus `; Session=close` once the session ended)
//! and the queued server-to-client bytes.
//!
//! The session itself is the ordinary `ns` or `sb` session, so gateway users are full users: the
//! gateway makes a loopback TCP socket pair per session (a private one, not through our listeners),
//! runs the session on one end and keeps the other. A request's body is written into the gateway's
//! end; its answer is what can be read from it. The session's connection is marked with the
//! client's real address (admission caps, login throttling) and the gateway host
//! (`Connection::via_gateway`), so `ClientPort` is 0 and `XFR`/`RNG` name the gateway host.
//! Bounds: the pipe's kernel buffers are small, so unfetched output stays in the session's
//! bounded outbox and a client that stops polling is cut off like a TCP client that stops
//! reading; a session without requests for `--gateway-idle-timeout` is closed; sessions are
//! capped in total and per address. Session ids are random and only accepted from the address
//! that opened the session; anything else gets a bare `400`, as Escargot answered.

use super::{Request, Response};
use crate::http::Http;
use crate::limits::{
    GATEWAY_MAX_RESPONSE, GATEWAY_PIPE_BUFFER, GATEWAY_REPLY_WAIT, MAX_GATEWAY_SESSIONS,
    MAX_GATEWAY_SESSIONS_PER_IP, MAX_GATEWAY_UNAUTHENTICATED, MAX_GATEWAY_UNAUTHENTICATED_PER_IP,
};
use crate::server::admission::address_key;
use crate::server::connection::Connection;
use smol::io::AsyncWriteExt;
use smol::{Async, Executor, Timer};
use std::collections::HashMap;
use std::io::{self, Read};
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::{Duration, Instant};

const CONTENT_TYPE: &str = "application/x-msn-messenger";

/// The gateway's sessions, one table per HTTP role.
#[derive(Default)]
pub struct Gateway {
    /// Where sessions run; weak so the hub (held by every task) does not keep the executor alive.
    executor: OnceLock<Weak<Executor<'static>>>,
    sessions: Mutex<HashMap<String, Arc<GatewaySession>>>,
}

struct GatewaySession {
    /// The address that opened the session: the only one whose requests are accepted.
    owner: IpAddr,
    /// `GW-IP` in every answer: the host (and port, if any) the client used.
    host: String,
    role: Role,
    /// The gateway's end of the pipe. Held for the length of one request: requests of one
    /// session are served one at a time, a concurrent one is refused.
    pipe: smol::lock::Mutex<Async<TcpStream>>,
    last_request: Mutex<Instant>,
    /// The session has signed in (its output showed `USR ... OK`, `IRO` or `ANS ... OK`): it
    /// no longer counts against the caps on unauthenticated sessions.
    authenticated: AtomicBool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Role {
    Notification,
    Switchboard,
}

impl Role {
    fn name(self) -> &'static str {
        match self {
            Role::Notification => "ns",
            Role::Switchboard => "sb",
        }
    }
}

impl GatewaySession {
    fn touch(&self) {
        *self.last_request.lock().unwrap_or_else(|e| e.into_inner()) = Instant::now();
    }

    fn idle_since(&self) -> Instant {
        *self.last_request.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Gateway {
    fn sessions(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<GatewaySession>>> {
        self.sessions.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Open gateway sessions.
    pub fn len(&self) -> usize {
        self.sessions().len()
    }

    /// Whether no gateway session is open (the companion clippy asks for next to `len`).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether another session from `ip` fits under the caps; sessions past the idle timeout
    /// are closed first, so they never count (the sweep may not have run yet).
    fn room_for(&self, ip: IpAddr, idle: Duration) -> Result<(), &'static str> {
        room(&mut self.sessions(), ip, idle, Instant::now())
    }
}

/// Closes the sessions of `sessions` that have seen no request for `idle` (and have none in
/// flight). Dropping the gateway's end of the pipe ends the session as a closed socket would.
fn expire(sessions: &mut HashMap<String, Arc<GatewaySession>>, idle: Duration, now: Instant) {
    sessions.retain(|_, s| {
        // A session whose request is in flight is in use whatever its timestamp says.
        let expired = now.duration_since(s.idle_since()) >= idle && s.pipe.try_lock().is_some();
        if expired {
            log::info!(
                "gateway {} {}: expired after {}s without a request",
                s.role.name(),
                s.owner,
                idle.as_secs_f32()
            );
        }
        !expired
    });
}

/// Whether a new session from `ip` fits: live sessions in all and per address (an IPv6 /64),
/// and apart from those, sessions not signed in yet, in all and per address.
fn room(
    sessions: &mut HashMap<String, Arc<GatewaySession>>,
    ip: IpAddr,
    idle: Duration,
    now: Instant,
) -> Result<(), &'static str> {
    expire(sessions, idle, now);
    let key = address_key(ip);
    let (mut per_ip, mut unauthenticated, mut unauthenticated_per_ip) = (0, 0, 0);
    for s in sessions.values() {
        let here = address_key(s.owner) == key;
        let signed_in = s.authenticated.load(Ordering::Relaxed);
        per_ip += here as usize;
        unauthenticated += !signed_in as usize;
        unauthenticated_per_ip += (here && !signed_in) as usize;
    }
    if sessions.len() >= MAX_GATEWAY_SESSIONS {
        return Err("gateway session limit reached");
    }
    if per_ip >= MAX_GATEWAY_SESSIONS_PER_IP {
        return Err("per-address gateway session limit reached");
    }
    if unauthenticated >= MAX_GATEWAY_UNAUTHENTICATED {
        return Err("limit of gateway sessions not signed in reached");
    }
    if unauthenticated_per_ip >= MAX_GATEWAY_UNAUTHENTICATED_PER_IP {
        return Err("per-address limit of gateway sessions not signed in reached");
    }
    Ok(())
}

/// Whether a session's output shows it signed in: `USR trid OK ...` (notification, switchboard
/// caller), `IRO ...` or `ANS trid OK` (switchboard callee). Only looked at until it has: before
/// that the server writes nothing a client chose.
fn shows_login(out: &[u8]) -> bool {
    out.split(|&b| b == b'\n').any(|line| {
        let mut words = line.split(|&b| b == b' ');
        match (words.next(), words.next(), words.next()) {
            (Some(b"IRO"), _, _) => true,
            (Some(b"USR" | b"ANS"), Some(_), Some(ok)) => ok.trim_ascii_end() == b"OK",
            _ => false,
        }
    })
}

/// Lets the gateway start sessions on the server's executor and starts the expiry sweep.
pub fn start(hub: &Arc<Http>, executor: &Arc<Executor<'static>>) {
    let _ = hub.gateway.executor.set(Arc::downgrade(executor));
    executor.spawn(sweep(Arc::downgrade(hub))).detach();
}

/// Closes sessions that have seen no request for the idle timeout. Dropping the gateway's end of
/// the pipe ends the session as a closed socket would (sign-out, `BYE` to the others).
async fn sweep(hub: Weak<Http>) {
    loop {
        let idle = match hub.upgrade() {
            Some(h) => h.config.timeouts.gateway_idle,
            None => return,
        };
        Timer::after((idle / 4).clamp(Duration::from_millis(250), Duration::from_secs(5))).await;
        let Some(hub) = hub.upgrade() else { return };
        expire(&mut hub.gateway.sessions(), idle, Instant::now());
    }
}

/// The query fields the gateway reads; names are matched without regard to case.
#[derive(Default)]
struct Query<'a> {
    action: Option<&'a str>,
    server: Option<&'a str>,
    ip: Option<&'a str>,
    session_id: Option<&'a str>,
}

impl<'a> Query<'a> {
    fn parse(query: &'a str) -> Query<'a> {
        let mut q = Query::default();
        for pair in query.split('&') {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let slot = if k.eq_ignore_ascii_case("Action") {
                &mut q.action
            } else if k.eq_ignore_ascii_case("Server") {
                &mut q.server
            } else if k.eq_ignore_ascii_case("IP") {
                &mut q.ip
            } else if k.eq_ignore_ascii_case("SessionID") {
                &mut q.session_id
            } else {
                continue;
            };
            *slot = Some(v);
        }
        q
    }
}

/// The request's `Host`, if it is a plain host name or address with an optional port: it is
/// echoed in headers and redirects, so nothing else may pass. Returns it as given (for `GW-IP`)
/// and without the port (the host named in `XFR` and `RNG`).
fn gateway_host(req: &Request) -> Option<(String, Arc<str>)> {
    // Rebuilt from the parsed host and port (`host::parse_host`): `[::1];SessionID=x` and the
    // like are refused, not echoed.
    let hp = super::host::parse_host(req.header("host")?)?;
    Some((hp.to_string(), Arc::from(hp.name())))
}

fn bare(status: &'static str) -> Response {
    Response::new(status)
}

/// Whether a line about a refused gateway request from `req` may be logged (`loglimit`): any
/// client can cause these at will.
fn loggable(req: &Request, site: &'static str) -> bool {
    crate::server::loglimit::allow(site, req.peer)
}

/// `POST /gateway/gateway.dll`.
pub async fn handle(hub: &Arc<Http>, req: &Request) -> Response {
    let q = Query::parse(&req.query);
    let ip = req.peer.ip();
    let (id, session) = if q.action.is_some_and(|a| a.eq_ignore_ascii_case("open")) {
        match open(hub, req, &q).await {
            Ok(s) => s,
            Err(r) => return r,
        }
    } else {
        let Some(id) = q.session_id else {
            if loggable(req, "gateway request without SessionID") {
                log::info!("gateway {ip}: request without SessionID");
            }
            return bare("400 Bad Request");
        };
        let found = hub.gateway.sessions().get(id).cloned();
        match found {
            Some(s) if s.owner == ip => (id.to_string(), s),
            Some(_) => {
                if loggable(req, "gateway SessionID of another address") {
                    log::warn!("gateway {ip}: SessionID of another address refused");
                }
                return bare("400 Bad Request");
            }
            None => {
                if loggable(req, "gateway unknown SessionID") {
                    log::info!("gateway {ip}: unknown or expired SessionID");
                }
                return bare("400 Bad Request");
            }
        }
    };
    let Some(mut pipe) = session.pipe.try_lock() else {
        if loggable(req, "gateway second request in flight") {
            log::info!("gateway {ip}: second request while one is in flight");
        }
        return bare("400 Bad Request");
    };
    session.touch();
    let (out, closed) = exchange(&mut pipe, &req.body).await;
    drop(pipe);
    session.touch();
    if !session.authenticated.load(Ordering::Relaxed) && shows_login(&out) {
        session.authenticated.store(true, Ordering::Relaxed);
    }
    let mut messenger = format!("SessionID={id}; GW-IP={}", session.host);
    if closed {
        // The session ended (OUT, an error, a timeout): this is its last answer.
        messenger.push_str("; Session=close");
        hub.gateway.sessions().remove(&id);
        log::debug!("gateway {} {ip}: session closed", session.role.name());
    }
    Response::new("200 OK")
        .header("X-MSN-Messenger", messenger)
        .body(CONTENT_TYPE, out)
}

/// `Action=open`: makes the pipe, starts the session on it and registers it.
async fn open(
    hub: &Arc<Http>,
    req: &Request,
    q: &Query<'_>,
) -> Result<(String, Arc<GatewaySession>), Response> {
    let ip = req.peer.ip();
    let role = match q.server {
        Some(s) if s.eq_ignore_ascii_case("NS") => Role::Notification,
        Some(s) if s.eq_ignore_ascii_case("SB") => Role::Switchboard,
        other => {
            if loggable(req, "gateway open for an unknown server") {
                log::info!("gateway {ip}: open for server {other:?}");
            }
            return Err(bare("400 Bad Request"));
        }
    };
    // `IP` is the server the client meant to reach; there is one server here, so it only
    // has to be present (clients always send it).
    if q.ip.is_none_or(str::is_empty) {
        if loggable(req, "gateway open without IP") {
            log::info!("gateway {ip}: open without IP");
        }
        return Err(bare("400 Bad Request"));
    }
    let Some((host, redirect_host)) = gateway_host(req) else {
        if loggable(req, "gateway invalid Host") {
            log::info!("gateway {ip}: missing or invalid Host");
        }
        return Err(bare("400 Bad Request"));
    };
    let refuse = |why: &str| {
        if loggable(req, "gateway open refused") {
            log::warn!("gateway {ip}: refused: {why}");
        }
        bare("503 Service Unavailable")
    };
    if hub.is_shutting_down() {
        return Err(refuse("shutting down"));
    }
    let idle = hub.config.timeouts.gateway_idle;
    hub.gateway.room_for(ip, idle).map_err(refuse)?;
    let admission = hub.ns.hub.admit(ip).map_err(refuse)?;
    let Some(executor) = hub.gateway.executor.get().and_then(Weak::upgrade) else {
        return Err(refuse("no executor"));
    };
    let (ours, theirs) = match pipe().await {
        Ok(p) => p,
        Err(e) => return Err(refuse(&format!("cannot make a pipe: {e}"))),
    };
    let id = crate::auth::token(crate::limits::GATEWAY_SESSION_ID_LEN);
    let session = Arc::new(GatewaySession {
        owner: ip,
        host,
        role,
        pipe: smol::lock::Mutex::new(ours),
        last_request: Mutex::new(Instant::now()),
        authenticated: AtomicBool::new(false),
    });
    {
        // Checked again under the same lock as the insert: another open may have won meanwhile.
        let mut sessions = hub.gateway.sessions();
        if let Err(why) = room(&mut sessions, ip, idle, Instant::now()) {
            drop(sessions);
            return Err(refuse(why));
        }
        sessions.insert(id.clone(), session.clone());
    }
    let peer = SocketAddr::new(ip, 0);
    let conn = Connection::new(theirs).map(|c| c.via_gateway(ip, redirect_host));
    let hub = hub.clone();
    // The id is a bearer credential: not logged.
    log::debug!("gateway {} {ip}: opened", role.name());
    match role {
        Role::Notification => executor
            .spawn(crate::server::isolated(
                crate::ns::serve_connection(hub.ns.clone(), conn, peer),
                admission,
            ))
            .detach(),
        Role::Switchboard => executor
            .spawn(crate::server::isolated(
                crate::sb::serve_connection(hub.ns.sb.clone(), conn, peer),
                admission,
            ))
            .detach(),
    }
    Ok((id, session))
}

/// Writes a request body into the session and collects what it has written back. `true` once the
/// session has closed its end.
async fn exchange(pipe: &mut Async<TcpStream>, body: &[u8]) -> (Vec<u8>, bool) {
    if !body.is_empty() {
        let wrote = smol::future::or(async { Some(pipe.write_all(body).await) }, async {
            Timer::after(crate::limits::GATEWAY_BODY_WRITE_WAIT).await;
            None
        })
        .await;
        if !matches!(wrote, Some(Ok(()))) {
            // The session is not reading (held back by a full recipient for that long) or gone.
            return (Vec::new(), true);
        }
        // Commands usually have a reply within a few milliseconds: wait a little for it, so a
        // client need not poll again for every reply. Messages without one are not held up.
        if expects_reply(body) {
            smol::future::or(
                async {
                    let _ = pipe.readable().await;
                },
                async {
                    Timer::after(GATEWAY_REPLY_WAIT).await;
                },
            )
            .await;
        }
    }
    let mut out = Vec::new();
    let mut chunk = [0u8; 4096];
    while out.len() < GATEWAY_MAX_RESPONSE {
        let room = chunk.len().min(GATEWAY_MAX_RESPONSE - out.len());
        match pipe.get_ref().read(&mut chunk[..room]) {
            Ok(0) => return (out, true),
            Ok(n) => out.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return (out, true),
        }
    }
    (out, false)
}

/// Whether a request body holds a command the server answers. Switchboard `MSG`s with
/// acknowledgement `U` or `N` (typing notifications, most chat text) go unanswered when all is
/// well; `D` (P2P data) is acknowledged, but its `ACK` is not waited for here: it travels with the
/// next poll. A body of nothing but these is answered at once, which keeps a client
/// that sends one message per request from waiting `GATEWAY_REPLY_WAIT` each time. Anything
/// unreadable counts as answered (the wait is only an optimisation).
fn expects_reply(body: &[u8]) -> bool {
    let mut rest = body;
    while !rest.is_empty() {
        let Some(end) = rest.windows(2).position(|w| w == b"\r\n") else {
            return true;
        };
        let line = &rest[..end];
        rest = &rest[end + 2..];
        let mut args = line.split(|&b| b == b' ');
        let (Some(b"MSG"), Some(_trid), Some([b'U' | b'N' | b'D']), Some(len), None) = (
            args.next(),
            args.next(),
            args.next(),
            args.next(),
            args.next(),
        ) else {
            return true;
        };
        let Some(len) = std::str::from_utf8(len)
            .ok()
            .and_then(|l| l.parse::<usize>().ok())
        else {
            return true;
        };
        rest = rest.get(len..).unwrap_or_default();
    }
    false
}

/// A connected pair of loopback sockets: (the gateway's end, the session's end). Made through a
/// listener of its own on an ephemeral port, and only our own connection is accepted from it.
async fn pipe() -> io::Result<(Async<TcpStream>, Async<TcpStream>)> {
    let listener = Async::<TcpListener>::bind(SocketAddr::from(([127, 0, 0, 1], 0)))?;
    small_buffers(listener.get_ref());
    let ours = Async::<TcpStream>::connect(listener.get_ref().local_addr()?).await?;
    small_buffers(ours.get_ref());
    let want = ours.get_ref().local_addr()?;
    let accepted = smol::future::or(
        async {
            loop {
                let (s, from) = listener.accept().await?;
                // Another local process may have raced for the port: not ours, not accepted.
                if from == want {
                    return Ok(s);
                }
            }
        },
        async {
            Timer::after(Duration::from_secs(2)).await;
            Err(io::Error::from(io::ErrorKind::TimedOut))
        },
    )
    .await?;
    small_buffers(accepted.get_ref());
    Ok((ours, accepted))
}

/// Shrinks a socket's kernel buffers to `GATEWAY_PIPE_BUFFER` (see there why).
fn small_buffers<S: std::os::fd::AsRawFd>(socket: &S) {
    #[cfg(unix)]
    {
        let size = GATEWAY_PIPE_BUFFER as libc::c_int;
        for opt in [libc::SO_SNDBUF, libc::SO_RCVBUF] {
            // SAFETY: setsockopt reads `size` (an int of the length given) on a socket we own.
            unsafe {
                libc::setsockopt(
                    socket.as_raw_fd(),
                    libc::SOL_SOCKET,
                    opt,
                    (&size as *const libc::c_int).cast(),
                    std::mem::size_of::<libc::c_int>() as libc::socklen_t,
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(host: Option<&str>) -> Request {
        Request {
            method: "POST".into(),
            path: "/gateway/gateway.dll".into(),
            query: String::new(),
            headers: host
                .map(|h| vec![("Host".to_string(), h.to_string())])
                .unwrap_or_default(),
            body: Vec::new(),
            peer: "127.0.0.1:1".parse().unwrap(),
            local: "127.0.0.1:80".parse().unwrap(),
            tls: false,
        }
    }

    #[test]
    fn hosts_are_validated() {
        let ok = |h: &str| gateway_host(&req(Some(h))).map(|(a, b)| (a, b.to_string()));
        assert_eq!(
            ok("gateway.example:8080"),
            Some(("gateway.example:8080".into(), "gateway.example".into()))
        );
        assert_eq!(ok("10.0.0.1"), Some(("10.0.0.1".into(), "10.0.0.1".into())));
        assert_eq!(ok("[::1]:80"), Some(("[::1]:80".into(), "[::1]".into())));
        for bad in [
            "",
            "a b",
            "evil\r\nX: y",
            "host:0",
            "host:99999",
            "host:",
            "[nope]:80",
            "a/b",
            "[::1];SessionID=x",
            "[::1]:80;SessionID=x",
            "[127.0.0.1]@evil.example:8080",
            "[::1]x",
            "host:+80",
            &"a".repeat(300),
        ] {
            assert_eq!(ok(bad), None, "{bad:?}");
        }
        assert!(gateway_host(&req(None)).is_none());
    }

    fn session(owner: &str, idle_for: Duration, signed_in: bool) -> Arc<GatewaySession> {
        let (ours, _theirs) = smol::block_on(pipe()).unwrap();
        Arc::new(GatewaySession {
            owner: owner.parse().unwrap(),
            host: "h".into(),
            role: Role::Notification,
            pipe: smol::lock::Mutex::new(ours),
            last_request: Mutex::new(Instant::now() - idle_for),
            authenticated: AtomicBool::new(signed_in),
        })
    }

    /// Issue 21, finding 6: timed-out sessions do not count, sessions not signed in are capped
    /// apart, and an IPv6 /64 is one address.
    #[test]
    fn only_live_sessions_count_and_unauthenticated_ones_are_capped_apart() {
        let idle = Duration::from_secs(60);
        let mut map = HashMap::new();
        let fresh = Duration::ZERO;
        for i in 0..MAX_GATEWAY_UNAUTHENTICATED_PER_IP {
            map.insert(format!("u{i}"), session("2001:db8::1", fresh, false));
        }
        let now = Instant::now();
        assert!(room(&mut map, "2001:db8::2".parse().unwrap(), idle, now).is_err());
        assert!(room(&mut map, "2001:db8:0:1::2".parse().unwrap(), idle, now).is_ok());
        // Signed-in sessions of the same address leave room for one more login.
        map.get("u0")
            .unwrap()
            .authenticated
            .store(true, Ordering::Relaxed);
        assert!(room(&mut map, "2001:db8::2".parse().unwrap(), idle, now).is_ok());
        // Timed-out ones are gone before counting.
        for i in 0..MAX_GATEWAY_SESSIONS_PER_IP {
            map.insert(format!("old{i}"), session("10.0.0.1", idle * 2, true));
        }
        assert!(room(&mut map, "10.0.0.1".parse().unwrap(), idle, now).is_ok());
        assert_eq!(map.len(), MAX_GATEWAY_UNAUTHENTICATED_PER_IP);
        assert!(shows_login(b"USR 5 OK a@b.c 1 0\r\n"));
        assert!(shows_login(b"IRO 1 1 1 a@b.c A\r\n"));
        assert!(shows_login(b"VER 1 MSNP8\r\nANS 2 OK\r\n"));
        assert!(!shows_login(b"USR 3 TWN S ct=1\r\n"));
    }

    #[test]
    fn replies_are_awaited_unless_only_quiet_messages() {
        assert!(!expects_reply(b"MSG 5 U 3\r\nabcMSG 6 N 2\r\nxy"));
        assert!(!expects_reply(b"MSG 7 D 4\r\n\r\n\r\n"));
        assert!(expects_reply(b"MSG 5 A 3\r\nabc"));
        assert!(expects_reply(b"MSG 5 U 3\r\nabcPNG\r\n"));
        assert!(expects_reply(b"PNG\r\n"));
        assert!(expects_reply(b"MSG 5 N x\r\nabc"));
        assert!(expects_reply(b"MSG 5 N 3"));
    }

    #[test]
    fn query_fields() {
        let q = Query::parse("action=open&Server=SB&IP=10.0.0.1:1864&x=1");
        assert_eq!(
            (q.action, q.server, q.ip, q.session_id),
            (Some("open"), Some("SB"), Some("10.0.0.1:1864"), None)
        );
        let q = Query::parse("Action=poll&SessionID=abc");
        assert_eq!((q.action, q.session_id), (Some("poll"), Some("abc")));
    }
}
