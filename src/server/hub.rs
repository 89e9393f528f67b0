//! The services every role shares: configuration, storage, connection admission and tracking,
//! login throttling, Tweener tickets, shutdown. No role's state lives here: who is online is the
//! notification role's directory actor (`ns::directory`), switchboards are the switchboard
//! role's registry and switchboard actors (`sb`), and nothing here imports a role. Login
//! throttling and tickets are the logins actor's (`logins.rs`); admission is lock-free
//! (`admission.rs`).

pub use super::admission::Admission;
use super::admission::{Admissions, Kind, Refused};
use super::connection::Reached;
use super::logins::Logins;
use super::outbox::Outbox;
use crate::config::Config;
use crate::storage::Storage;
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU16, AtomicU64, Ordering};

/// The services every role shares, built once per process and passed to every role in an `Arc`.
pub struct Hub {
    /// The settings the server started with (the reloadable ones are read from `live`).
    pub config: Config,
    /// The settings SIGHUP may change (limits, timeouts); read these, not `config`'s copies.
    pub live: super::live::Live,
    /// Proves to `GET /status` that the caller could read the server's lock file.
    pub status_token: String,
    /// The storage actor (the SQLite thread).
    pub storage: Storage,
    /// The logins actor: login throttling and Tweener tickets (`node` starts it).
    pub logins: Logins,
    /// Bounds concurrent password hashing (memory and CPU on small boards).
    pub hash_slots: smol::lock::Semaphore,
    next_session: AtomicU64,
    sb_port: AtomicU16,
    shutting_down: AtomicBool,
    shutdown: event_listener::Event,
    /// Every open client connection, for shutdown: id -> (outbox, is a notification connection).
    connections: super::connections::OpenConnections,
    /// Open sockets in all and per client address, for the connection caps; HTTP sockets have
    /// caps of their own (`limits::MAX_HTTP_CONNECTIONS*`).
    admissions: Arc<Admissions>,
    /// This process's own loopback sockets to its MSN listeners (the XMPP bridge) and the
    /// client each serves: admitted and throttled as that client (`bridged.rs`).
    pub bridged: Arc<super::bridged::Bridged>,
    /// Key of the MD5 challenges sent for unknown handles (`auth::decoy_md5_challenge`), loaded
    /// from the database at start so they stay the same across restarts.
    pub challenge_key: std::sync::OnceLock<Vec<u8>>,
}

/// Removes a connection from the hub's table when the connection task ends, however it ends.
pub struct Tracked {
    hub: Arc<Hub>,
    /// The connection's number (also its session number in logs).
    pub id: u64,
}

impl Drop for Tracked {
    fn drop(&mut self) {
        self.hub.connections.remove(self.id);
    }
}

impl Hub {
    /// The shared services over `config` and `storage`; the logins actor starts with `node`.
    pub fn new(config: Config, storage: Storage) -> Hub {
        Hub {
            live: super::live::Live::new(&config),
            status_token: crate::auth::token(32),
            config,
            storage,
            logins: Logins::default(),
            hash_slots: smol::lock::Semaphore::new(crate::limits::HASH_CONCURRENCY),
            next_session: AtomicU64::new(1),
            sb_port: AtomicU16::new(0),
            shutting_down: AtomicBool::new(false),
            shutdown: event_listener::Event::new(),
            connections: Default::default(),
            admissions: Default::default(),
            bridged: Default::default(),
            challenge_key: std::sync::OnceLock::new(),
        }
    }

    /// The MD5 challenge for a handle without an account.
    pub fn decoy_challenge(&self, handle: &str) -> String {
        let key = self.challenge_key.get_or_init(|| {
            // Only a hub built without `Server::start` (unit tests) gets here.
            let mut k = vec![0u8; 32];
            crate::auth::fill_random(&mut k);
            k
        });
        crate::auth::decoy_md5_challenge(key, handle)
    }

    /// Counts a new socket from `ip`, or refuses it when a cap is reached.
    pub fn admit(self: &Arc<Self>, ip: IpAddr) -> Result<Admission, &'static str> {
        let caps = (self.live.max_connections(), self.live.max_per_ip());
        match self.admissions.admit(ip, Kind::Messenger, caps.0, caps.1) {
            Ok(a) => Ok(a),
            Err(Refused::Total) => Err("server connection limit reached"),
            Err(Refused::PerAddress) => Err("per-address connection limit reached"),
        }
    }

    /// As `admit`, for an HTTP socket: HTTP connections have their own caps, so slow or idle
    /// HTTP clients never take the room NS and SB logins need.
    pub fn admit_http(self: &Arc<Self>, ip: IpAddr) -> Result<Admission, &'static str> {
        use crate::limits::{MAX_HTTP_CONNECTIONS, MAX_HTTP_CONNECTIONS_PER_IP};
        let caps = (MAX_HTTP_CONNECTIONS, MAX_HTTP_CONNECTIONS_PER_IP);
        match self.admissions.admit(ip, Kind::Http, caps.0, caps.1) {
            Ok(a) => Ok(a),
            Err(Refused::Total) => Err("server HTTP connection limit reached"),
            Err(Refused::PerAddress) => Err("per-address HTTP connection limit reached"),
        }
    }

    /// Registers an open connection so shutdown can reach it.
    pub fn track(self: &Arc<Self>, outbox: Arc<Outbox>, notification: bool) -> Tracked {
        let id = self.next_session_id();
        self.connections.insert(id, outbox, notification);
        Tracked {
            hub: self.clone(),
            id,
        }
    }

    /// How many client connections are open (shutdown waits for this to reach 0).
    pub fn live_connections(&self) -> usize {
        self.connections.len()
    }

    /// Sends `OUT SSD` to every notification connection and closes every connection.
    pub fn close_all_connections(&self) {
        self.connections.close_all();
    }

    /// How many connections and sessions were ever started (a cheap activity counter).
    pub fn sessions_started(&self) -> u64 {
        self.next_session.load(Ordering::Relaxed)
    }

    /// A number no other connection or login of this process has.
    pub fn next_session_id(&self) -> u64 {
        self.next_session.fetch_add(1, Ordering::Relaxed)
    }

    /// Records the switchboard listener's port once it is bound (port 0 picks one).
    pub fn set_sb_port(&self, port: u16) {
        self.sb_port.store(port, Ordering::Relaxed);
    }

    /// The switchboard listener's port.
    pub fn sb_port(&self) -> u16 {
        self.sb_port.load(Ordering::Relaxed)
    }

    /// `host:port` of the switchboard as a client that reached us at `local` should dial it.
    pub fn sb_address(&self, local: &Reached) -> String {
        let port = self.sb_port.load(Ordering::Relaxed);
        format!("{}:{port}", local.host(self.config.public_host.as_deref()))
    }

    /// `host:port` of the notification server for a client connected at `local`.
    pub fn ns_address(&self, local: &Reached) -> String {
        match (local, &self.config.public_host) {
            (Reached::Direct(local), Some(h)) => format!("{h}:{}", local.port()),
            (Reached::Direct(local), None) => local.to_string(),
            // A gateway client passes this back as `IP=` when it opens its next gateway session;
            // the gateway serves the notification role whatever it says.
            (Reached::Gateway(h), _) => format!("{h}:1863"),
        }
    }

    /// Marks the server as going down and wakes whoever waits in `shutdown_signal`.
    pub fn begin_shutdown(&self) {
        self.shutting_down.store(true, Ordering::Release);
        self.shutdown.notify(usize::MAX);
    }

    /// Whether shutdown has begun (listeners stop admitting).
    pub fn is_shutting_down(&self) -> bool {
        self.shutting_down.load(Ordering::Acquire)
    }

    /// The next connection on `listener` this server admits, for every role's accept loop:
    /// backs off after an accept error (out of file descriptors: no spinning), drops connections
    /// during shutdown, and refuses those past the admission caps (the HTTP ones with `http`),
    /// with a log line rate-limited per peer (`role` names the listener in it).
    pub async fn accept_admitted(
        self: &Arc<Self>,
        listener: &smol::Async<std::net::TcpListener>,
        http: bool,
        role: &'static str,
    ) -> (
        smol::Async<std::net::TcpStream>,
        std::net::SocketAddr,
        Admission,
    ) {
        loop {
            let (stream, peer) = match listener.accept().await {
                Ok(s) => s,
                Err(e) => {
                    log::warn!("{role}: accept failed: {e}");
                    smol::Timer::after(std::time::Duration::from_millis(100)).await;
                    continue;
                }
            };
            if self.is_shutting_down() {
                continue;
            }
            // A bridge socket (`bridged.rs`) is its client: counted in all only, and seen by
            // the role (logs, login throttles) with the client's address.
            let client = (!http).then(|| self.bridged.client_of(peer)).flatten();
            let (peer, admitted) = match client {
                Some(ip) => (std::net::SocketAddr::new(ip, peer.port()), {
                    let max = self.live.max_connections();
                    self.admissions
                        .admit_in_all_only(ip, Kind::Messenger, max)
                        .map_err(|_| "server connection limit reached")
                }),
                None if http => (peer, self.admit_http(peer.ip())),
                None => (peer, self.admit(peer.ip())),
            };
            match admitted {
                Ok(a) => return (stream, peer, a),
                Err(why) => {
                    if super::loglimit::allow("connection refused", peer) {
                        log::warn!("{role} {peer}: refused: {why}");
                    }
                }
            }
        }
    }

    /// Resolves when shutdown begins.
    pub async fn shutdown_signal(&self) {
        loop {
            if self.is_shutting_down() {
                return;
            }
            // Pinned in this future rather than allocated: an idle XMPP session waits here
            // between any two reads.
            event_listener::listener!(self.shutdown => l);
            if self.is_shutting_down() {
                return;
            }
            l.await;
        }
    }
}
