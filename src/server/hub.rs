//! The directory of who is online, shared by every connection.
//!
//! Lock order, to stay deadlock-free: at most one `OnlineUser::state` at a time; the `users` map may
//! be locked while holding a user's state; outboxes are leaves. Never lock a user's state while
//! holding the `users` map.

use super::connection::Reached;
use super::outbox::Outbox;
use crate::config::Config;
use crate::dialect::Dialect;
use crate::model::{Account, Status, UserId};
use crate::sb::registry::Switchboards;
use crate::storage::Storage;
use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, AtomicU16, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use std::time::Instant;

/// What others can see of me, besides my lists.
#[derive(Clone, Debug, Default)]
pub struct Presence {
    /// `None` until the first CHG after login.
    pub status: Option<Status>,
    pub caps: u32,
    /// URL-encoded MSNObject exactly as the client sent it.
    pub msnobj: Option<Box<str>>,
    /// Personal message `<Data>` XML (MSNP11+), as sent.
    pub psm: Option<Box<[u8]>>,
    /// `IMS OFF`: not accepting switchboard invitations.
    pub ims_off: bool,
}

impl Presence {
    /// Online and not hidden.
    pub fn visible_status(&self) -> Option<Status> {
        self.status.filter(|s| *s != Status::Hidden)
    }
}

pub struct UserState {
    pub account: Account,
    pub presence: Presence,
}

impl UserState {
    /// The status `viewer` sees for me, if any.
    pub fn seen_by(&self, viewer: UserId) -> Option<Status> {
        self.presence
            .visible_status()
            .filter(|_| self.account.allows(viewer))
    }
}

/// A logged-in notification session.
pub struct OnlineUser {
    pub id: UserId,
    pub handle: String,
    pub dialect: &'static Dialect,
    pub outbox: Arc<Outbox>,
    /// Distinguishes this login from a later one of the same account.
    pub session: u64,
    /// Set when a newer login replaced this one: its end must not announce FLN.
    pub replaced: AtomicBool,
    /// Our address as this client reached it (where to point it for the switchboard).
    pub ns_local: Reached,
    state: Mutex<UserState>,
}

impl OnlineUser {
    pub fn new(
        id: UserId,
        handle: String,
        account: Account,
        dialect: &'static Dialect,
        outbox: Arc<Outbox>,
        session: u64,
        ns_local: Reached,
    ) -> OnlineUser {
        OnlineUser {
            id,
            handle,
            dialect,
            outbox,
            session,
            replaced: AtomicBool::new(false),
            ns_local,
            state: Mutex::new(UserState {
                account,
                presence: Presence::default(),
            }),
        }
    }

    pub fn state(&self) -> MutexGuard<'_, UserState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Online sessions by account id and by handle.
#[derive(Default)]
struct Directory {
    by_id: HashMap<UserId, Arc<OnlineUser>>,
    by_handle: HashSet<ByHandle>,
}

/// A session in the by-handle index, keyed by its own `handle`: no second copy of every online
/// handle, and an 8-byte slot instead of a 32-byte one.
struct ByHandle(Arc<OnlineUser>);

impl std::hash::Hash for ByHandle {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        // Must hash exactly as the `str` it borrows as.
        self.0.handle.as_str().hash(state);
    }
}

impl PartialEq for ByHandle {
    fn eq(&self, other: &Self) -> bool {
        self.0.handle == other.0.handle
    }
}

impl Eq for ByHandle {}

impl std::borrow::Borrow<str> for ByHandle {
    fn borrow(&self) -> &str {
        &self.0.handle
    }
}

pub struct Hub {
    /// The web page and registration form (`http::site`).
    pub web: crate::http::site::Web,
    pub config: Config,
    /// The settings SIGHUP may change (limits, timeouts); read these, not `config`'s copies.
    pub live: super::live::Live,
    /// Proves to `GET /status` that the caller could read the server's lock file.
    pub status_token: String,
    pub storage: Storage,
    pub switchboards: Switchboards,
    pub tickets: super::tickets::Tickets,
    /// Bounds concurrent password hashing (memory and CPU on small boards).
    pub hash_slots: smol::lock::Semaphore,
    users: RwLock<Directory>,
    /// DS redirects not yet followed: (client address, handle) -> when.
    redirects: Mutex<HashMap<(IpAddr, String), Instant>>,
    next_session: AtomicU64,
    sb_port: AtomicU16,
    shutting_down: AtomicBool,
    shutdown: event_listener::Event,
    /// Every open client connection, for shutdown: id -> (outbox, is a notification connection).
    connections: Mutex<HashMap<u64, (Arc<Outbox>, bool)>>,
    /// Open sockets per client address (all listeners), for the connection caps.
    per_ip: Mutex<HashMap<IpAddr, usize>>,
    /// The same for the HTTP listener, with caps of its own (`limits::MAX_HTTP_CONNECTIONS*`).
    per_ip_http: Mutex<HashMap<IpAddr, usize>>,
    pub throttle: super::throttle::Throttle,
    /// Key of the MD5 challenges sent for unknown handles (`auth::decoy_md5_challenge`), loaded
    /// from the database at start so they stay the same across restarts.
    pub challenge_key: std::sync::OnceLock<Vec<u8>>,
    /// Sessions of the HTTP gateway (`gateway.dll`).
    pub gateway: crate::http::gateway::Gateway,
}

/// A socket counted against the connection caps; uncounted when dropped.
pub struct Admission {
    hub: Arc<Hub>,
    ip: IpAddr,
    /// Counted against the HTTP caps rather than the NS/SB ones.
    http: bool,
}

impl Admission {
    /// The client address counted.
    pub fn ip(&self) -> IpAddr {
        self.ip
    }
}

impl Drop for Admission {
    fn drop(&mut self) {
        let mut m = self
            .hub
            .counts(self.http)
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if let Some(n) = m.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                m.remove(&self.ip);
            }
        }
    }
}

/// Removes a connection from the hub's table when the connection task ends, however it ends.
pub struct Tracked {
    hub: Arc<Hub>,
    pub id: u64,
}

impl Drop for Tracked {
    fn drop(&mut self) {
        self.hub
            .connections
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&self.id);
    }
}

impl Hub {
    pub fn new(config: Config, storage: Storage) -> Hub {
        Hub {
            web: crate::http::site::Web::new(&config),
            live: super::live::Live::new(&config),
            status_token: crate::auth::token(32),
            config,
            storage,
            switchboards: Switchboards::new(),
            tickets: Default::default(),
            hash_slots: smol::lock::Semaphore::new(crate::limits::HASH_CONCURRENCY),
            users: RwLock::new(Directory::default()),
            redirects: Mutex::new(HashMap::new()),
            next_session: AtomicU64::new(1),
            sb_port: AtomicU16::new(0),
            shutting_down: AtomicBool::new(false),
            shutdown: event_listener::Event::new(),
            connections: Mutex::new(HashMap::new()),
            per_ip: Mutex::new(HashMap::new()),
            per_ip_http: Mutex::new(HashMap::new()),
            throttle: Default::default(),
            challenge_key: std::sync::OnceLock::new(),
            gateway: Default::default(),
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
        self.admit_to(
            ip,
            false,
            (self.live.max_connections(), self.live.max_per_ip()),
            [
                "server connection limit reached",
                "per-address connection limit reached",
            ],
        )
    }

    /// As `admit`, for an HTTP socket: HTTP connections have their own caps, so slow or idle
    /// HTTP clients never take the room NS and SB logins need.
    pub fn admit_http(self: &Arc<Self>, ip: IpAddr) -> Result<Admission, &'static str> {
        use crate::limits::{MAX_HTTP_CONNECTIONS, MAX_HTTP_CONNECTIONS_PER_IP};
        self.admit_to(
            ip,
            true,
            (MAX_HTTP_CONNECTIONS, MAX_HTTP_CONNECTIONS_PER_IP),
            [
                "server HTTP connection limit reached",
                "per-address HTTP connection limit reached",
            ],
        )
    }

    /// The open sockets per address that an admission of this kind counts in.
    fn counts(&self, http: bool) -> &Mutex<HashMap<IpAddr, usize>> {
        if http {
            &self.per_ip_http
        } else {
            &self.per_ip
        }
    }

    fn admit_to(
        self: &Arc<Self>,
        ip: IpAddr,
        http: bool,
        (max_total, max_per_ip): (usize, usize),
        [total_reached, per_ip_reached]: [&'static str; 2],
    ) -> Result<Admission, &'static str> {
        let mut m = self.counts(http).lock().unwrap_or_else(|e| e.into_inner());
        let total: usize = m.values().sum();
        if total >= max_total {
            return Err(total_reached);
        }
        let n = m.entry(ip).or_insert(0);
        if *n >= max_per_ip {
            return Err(per_ip_reached);
        }
        *n += 1;
        Ok(Admission {
            hub: self.clone(),
            ip,
            http,
        })
    }

    /// Registers an open connection so shutdown can reach it.
    pub fn track(self: &Arc<Self>, outbox: Arc<Outbox>, notification: bool) -> Tracked {
        let id = self.next_session_id();
        self.connections
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id, (outbox, notification));
        Tracked {
            hub: self.clone(),
            id,
        }
    }

    pub fn live_connections(&self) -> usize {
        self.connections
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .len()
    }

    /// Sends `OUT SSD` to every notification connection and closes every connection.
    pub fn close_all_connections(&self) {
        let all: Vec<(Arc<Outbox>, bool)> = self
            .connections
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .cloned()
            .collect();
        for (outbox, notification) in all {
            if notification {
                let _ = outbox.push(&[b"OUT SSD\r\n"]);
            }
            outbox.close();
        }
    }

    /// How many connections and sessions were ever started (a cheap activity counter).
    pub fn sessions_started(&self) -> u64 {
        self.next_session.load(Ordering::Relaxed)
    }

    pub fn next_session_id(&self) -> u64 {
        self.next_session.fetch_add(1, Ordering::Relaxed)
    }

    pub fn set_sb_port(&self, port: u16) {
        self.sb_port.store(port, Ordering::Relaxed);
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

    fn users_read(&self) -> std::sync::RwLockReadGuard<'_, Directory> {
        self.users.read().unwrap_or_else(|e| e.into_inner())
    }

    pub fn get(&self, id: UserId) -> Option<Arc<OnlineUser>> {
        self.users_read().by_id.get(&id).cloned()
    }

    pub fn get_by_handle(&self, handle: &str) -> Option<Arc<OnlineUser>> {
        self.users_read().by_handle.get(handle).map(|u| u.0.clone())
    }

    /// Calls `f` with the online session of `id` without cloning the `Arc` (hot fan-out path).
    pub fn with<R>(&self, id: UserId, f: impl FnOnce(&OnlineUser) -> R) -> Option<R> {
        self.users_read().by_id.get(&id).map(|u| f(u))
    }

    pub fn online_count(&self) -> usize {
        self.users_read().by_id.len()
    }

    /// Makes `user` the account's online session; returns the session it replaces.
    /// Called on the storage thread right after the account was loaded, so no list change can
    /// slip between the load and the registration.
    pub fn register(&self, user: Arc<OnlineUser>) -> Option<Arc<OnlineUser>> {
        let previous = {
            let mut d = self.users.write().unwrap_or_else(|e| e.into_inner());
            d.by_handle.replace(ByHandle(user.clone()));
            d.by_id.insert(user.id, user)
        };
        if let Some(p) = &previous {
            p.replaced.store(true, Ordering::Release);
        }
        previous
    }

    /// Removes the session if it is still the registered one for its account.
    pub fn unregister(&self, user: &OnlineUser) -> bool {
        let mut d = self.users.write().unwrap_or_else(|e| e.into_inner());
        match d.by_id.get(&user.id) {
            Some(u) if u.session == user.session => {
                d.by_id.remove(&user.id);
                d.by_handle.remove(user.handle.as_str());
                true
            }
            _ => false,
        }
    }

    /// Every online session (for shutdown).
    pub fn all_online(&self) -> Vec<Arc<OnlineUser>> {
        self.users_read().by_id.values().cloned().collect()
    }

    /// Applies `f` to the account mirror of `id` if that user is online. Runs on the storage
    /// thread after a commit, so mirrors follow the database in commit order.
    pub fn mirror(&self, id: UserId, f: impl FnOnce(&mut Account)) {
        if let Some(u) = self.get(id) {
            f(&mut u.state().account);
        }
    }

    pub fn remember_redirect(&self, ip: IpAddr, handle: &str) {
        let mut r = self.redirects.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        if r.len() > 10_000 {
            r.retain(|_, at| now.duration_since(*at) < crate::limits::REDIRECT_TTL);
        }
        r.insert((ip, handle.to_owned()), now);
    }

    /// Whether this client was just redirected here by the DS (and forgets it: single use).
    pub fn take_redirect(&self, ip: IpAddr, handle: &str) -> bool {
        let mut r = self.redirects.lock().unwrap_or_else(|e| e.into_inner());
        match r.remove(&(ip, handle.to_owned())) {
            Some(at) => at.elapsed() < crate::limits::REDIRECT_TTL,
            None => false,
        }
    }

    pub fn begin_shutdown(&self) {
        self.shutting_down.store(true, Ordering::Release);
        self.shutdown.notify(usize::MAX);
    }

    pub fn is_shutting_down(&self) -> bool {
        self.shutting_down.load(Ordering::Acquire)
    }

    /// Resolves when shutdown begins.
    pub async fn shutdown_signal(&self) {
        loop {
            if self.is_shutting_down() {
                return;
            }
            let l = self.shutdown.listen();
            if self.is_shutting_down() {
                return;
            }
            l.await;
        }
    }
}
