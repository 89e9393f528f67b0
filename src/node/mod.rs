//! One msnpd process: binds every listener, starts the roles (dispatch/notification,
//! switchboard, HTTP, DNS) with their actors, and shuts them down. The only module that knows
//! all of them; nothing below imports it.

use crate::config::Config;
use crate::http::Http;
use crate::ns::Ns;
use crate::ns::bus::{Bus, HostId};

pub mod bus;
mod worker;
use crate::server::hub::Hub;
use crate::server::{Bound, isolated, lan, listen, pool};
use crate::storage::Storage;
use smol::Async;
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::time::Duration;

/// How a server takes part in a community of several notification hosts.
pub struct Join {
    /// This host's number on the bus.
    pub host: HostId,
    /// The bus to the other hosts.
    pub bus: Arc<dyn Bus>,
    /// The accounts store shared with the other hosts; `None` opens `--db` (the first host).
    pub storage: Option<Storage>,
}

impl Join {
    /// The only host: nothing to join.
    pub fn alone() -> Join {
        Join {
            host: 0,
            bus: Arc::new(crate::ns::bus::Alone),
            storage: None,
        }
    }
}

/// A running server: its hub, bound addresses and the threads to join on shutdown.
pub struct Server {
    /// The shared services; tests and the CLI read its live figures and storage through it.
    pub hub: Arc<Hub>,
    /// The notification role (its directory actor and dispatch).
    pub ns: Arc<Ns>,
    /// The HTTP role (web page, Passport, gateway).
    pub http: Arc<Http>,
    /// The addresses actually bound (a port of 0 in the configuration gets a real one here).
    pub bound: Bound,
    executor: Arc<smol::Executor<'static>>,
    threads: Vec<std::thread::JoinHandle<()>>,
    storage_thread: Option<std::thread::JoinHandle<()>>,
    stop: smol::channel::Sender<()>,
    /// Keeps other `serve`s off the database until this server is gone.
    _lock: Option<crate::ops::ServerLock>,
}

fn bind(addr: SocketAddr, what: &str) -> std::io::Result<Async<TcpListener>> {
    let l = Async::<TcpListener>::bind(addr).map_err(|e| {
        std::io::Error::new(e.kind(), format!("cannot listen for {what} on {addr}: {e}"))
    })?;
    #[cfg(unix)]
    {
        use std::os::fd::AsRawFd;
        // SAFETY: calling listen() again on a listening socket only changes its backlog.
        unsafe {
            libc::listen(l.get_ref().as_raw_fd(), crate::limits::LISTEN_BACKLOG);
        }
    }
    Ok(l)
}

/// Binds `addr`, or logs why an optional listener is skipped (see `listen::skip_warning`).
fn bind_or_skip(
    addr: listen::ListenAddr,
    what: &str,
    privilege_is_optional: bool,
) -> std::io::Result<Option<Async<TcpListener>>> {
    match bind(addr.addr, what) {
        Ok(l) => Ok(Some(l)),
        Err(e) => match listen::skip_warning(what, addr, e.kind(), privilege_is_optional) {
            Some(warning) => {
                log::warn!("{warning}");
                Ok(None)
            }
            None => Err(e),
        },
    }
}

impl Server {
    /// Opens the database, binds every listener and starts serving on background threads.
    pub fn start(config: Config) -> Result<Server, Box<dyn std::error::Error>> {
        Server::start_joined(config, Join::alone())
    }

    /// As `start`, as one notification host of several joined by a bus (docs/scale-out.md).
    pub fn start_joined(config: Config, join: Join) -> Result<Server, Box<dyn std::error::Error>> {
        // Bind first: a port in use must not leave a new, empty database behind. Then the lock,
        // so a second server on the same database stops before opening it.
        let ns_listener = bind(config.listen, "dispatch/notification")?;
        let sb_listener = bind(config.sb_listen, "switchboard")?;
        let mut http_listeners = Vec::new();
        for addr in &config.http_listen {
            http_listeners.extend(bind_or_skip(*addr, "HTTP", false)?);
        }
        let Some(first_http) = http_listeners.first() else {
            return Err("no HTTP listener could be bound".into());
        };
        let https = match config.https_listen {
            Some(addr) => bind_or_skip(addr, "HTTPS", true)?,
            None => None,
        };
        let xmpp = match config.xmpp_listen {
            Some(addr) => bind_or_skip(addr, "XMPP", false)?,
            None => None,
        };
        let xmpp_tls = match config.xmpp_tls_listen {
            Some(addr) => bind_or_skip(addr, "XMPP-TLS", false)?,
            None => None,
        };
        // The certificate kit is made (on first start) only when HTTPS will be served.
        let acceptor = match &https {
            Some(_) => Some(Arc::new(crate::tls::prepare(&config)?)),
            None => None,
        };
        let bound = Bound {
            ns: ns_listener.get_ref().local_addr()?,
            sb: sb_listener.get_ref().local_addr()?,
            http: first_http.get_ref().local_addr()?,
            https: https
                .as_ref()
                .map(|l| l.get_ref().local_addr())
                .transpose()?,
            xmpp: xmpp
                .as_ref()
                .map(|l| l.get_ref().local_addr())
                .transpose()?,
            xmpp_tls: xmpp_tls
                .as_ref()
                .map(|l| l.get_ref().local_addr())
                .transpose()?,
        };
        let dns = crate::dns::bind_listeners(&config.dns())?;
        crate::server::listen::raise_open_files(crate::server::listen::files_needed(
            config.max_connections,
        ));
        // A host joining others shares their accounts store; only the first opens the database.
        let (mut lock, storage, storage_thread) = match join.storage.clone() {
            Some(shared) => (None, shared, None),
            None => {
                let lock = crate::ops::ServerLock::acquire(&config.db)?;
                let (storage, thread) = Storage::start(&config.db)
                    .map_err(|e| format!("database {}: {e}", config.db.display()))?;
                log::info!("database: {}", config.db.display());
                (Some(lock), storage, Some(thread))
            }
        };
        let challenge_key = smol::block_on(storage.run(|db| db.server_secret("md5-challenge")))
            .map_err(|e| e.to_string())??;
        // Read before the requests left from the last run are taken: a request committed after
        // this changes the files, and housekeeping's first tick asks for it.
        let db_stamp = DbStamp::read(&config.db);
        if storage_thread.is_some() {
            // Sign-out requests left from before this start were for sessions that ended with the
            // last run; housekeeping then asks again only when the database files change.
            smol::block_on(storage.run(|db| db.take_signouts())).map_err(|e| e.to_string())??;
        }
        let threads_wanted = config.threads.max(1);
        let hub = Arc::new(Hub::new(config, storage));
        let _ = hub.challenge_key.set(challenge_key);
        if let Some(lock) = &mut lock {
            lock.publish(
                &hub.status_token,
                hub.config.public_host.as_deref(),
                &[
                    ("dispatch/notification", bound.ns),
                    ("switchboard", bound.sb),
                    ("http", bound.http),
                ]
                .into_iter()
                .chain(bound.https.map(|a| ("https", a)))
                .collect::<Vec<_>>(),
            )
            .map_err(|e| format!("cannot write {}: {e}", lock.path().display()))?;
        }
        hub.set_sb_port(bound.sb.port());
        let executor = Arc::new(smol::Executor::new());
        hub.logins.start(&executor);
        let ns = Ns::start_host(&hub, &executor, join.host, join.bus);
        let http = Arc::new(Http::new(ns.clone()));
        http.web.set_bound(bound);
        log::info!("dispatch/notification listening on {}", bound.ns);
        log::info!("switchboard listening on {}", bound.sb);
        for l in &http_listeners {
            log::info!("http listening on {}", l.get_ref().local_addr()?);
        }
        if let Some(addr) = bound.https {
            log::info!("https listening on {addr}");
        }
        for host in lan::client_hosts(bound.ns, hub.config.public_host.as_deref()) {
            log::info!(
                "clients connect to {host}:{} (MSN 1.0 to WLM 2009 via the hosts file or the LAN DNS); \
                 MSN 5.0+ and msnp11-sdk apps log in via http://{host}:{}/rdr/pprdr.asp",
                bound.ns.port(),
                bound.http.port()
            );
        }

        if let Some(host) = lan::client_hosts(bound.ns, hub.config.public_host.as_deref()).first() {
            log::info!(
                "web page for users: http://{host}:{}/ (registration {})",
                bound.http.port(),
                http.web.registration().as_str()
            );
        }

        let (stop, stop_rx) = smol::channel::bounded::<()>(1);
        let dns = dns.map(|l| crate::dns::start(l, &hub.config.dns(), &executor));
        if let Some(dns) = dns {
            log::info!("dns listening on {dns}");
        }
        // What the page at `/` adds to its instructions. A DNS server is only of use to Windows
        // on port 53; on a wildcard address, the PCs use the server's LAN address.
        http.web.set_extras(crate::http::site::Extras {
            https_port: bound.https.map(|a| a.port()),
            ca_url: (bound.https.is_some() && hub.config.tls_cert.is_none())
                .then(|| "/msnpd-ca.cer".to_string()),
            dns: dns.filter(|a| a.port() == 53).and_then(|a| {
                if a.ip().is_unspecified() {
                    lan::client_hosts(bound.ns, None).into_iter().next()
                } else {
                    Some(a.ip().to_string())
                }
            }),
        });
        let accept = |listener, kind| {
            executor
                .spawn(accept_loop(http.clone(), listener, executor.clone(), kind))
                .detach();
        };
        accept(ns_listener, Kind::Notification);
        accept(sb_listener, Kind::Switchboard);
        for l in http_listeners {
            accept(l, Kind::Http);
        }
        if let (Some(l), Some(acceptor)) = (https, acceptor) {
            accept(l, Kind::Https(acceptor));
        }
        if xmpp.is_some() || xmpp_tls.is_some() {
            // XMPP sessions reach MSN users as clients of this node's own NS (xmpp/bridge.rs).
            let msn = crate::xmpp::bridge::MsnAddrs::loopback(bound.ns, bound.sb);
            crate::xmpp::start(&hub, &executor, xmpp, xmpp_tls, Some(msn))?;
        }
        executor.spawn(housekeeping(ns.clone(), db_stamp)).detach();
        crate::http::gateway::start(&http, &executor);
        let threads = (0..threads_wanted)
            .map(|i| {
                let ex = executor.clone();
                let rx = stop_rx.clone();
                std::thread::Builder::new()
                    .name(format!("worker-{i}"))
                    .spawn(move || worker::run(&ex, rx))
                    .expect("spawn worker thread")
            })
            .collect();
        Ok(Server {
            hub,
            ns,
            http,
            bound,
            executor,
            threads,
            storage_thread,
            stop,
            _lock: lock,
        })
    }

    /// Applies the reloadable settings of `new` (SIGHUP) and describes each change; the flag
    /// says whether other settings differ that only a restart applies.
    pub fn reload(&self, new: &Config) -> (Vec<String>, bool) {
        let answer = crate::ops::reload(&self.hub, self.http.web.registration(), new);
        self.http.web.set_registration(new.registration);
        answer
    }

    /// Tells every client the server is going down (`OUT SSD`), closes connections, stops the
    /// executor and closes the database. Returns within about two seconds.
    pub fn shutdown(mut self) {
        log::info!(
            "shutting down: {} connections open",
            self.hub.live_connections()
        );
        self.hub.begin_shutdown();
        self.hub.close_all_connections();
        let deadline = std::time::Instant::now() + Duration::from_millis(1500);
        while self.hub.live_connections() > 0 && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        self.stop.close();
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
        let _ = &self.executor;
        self.hub.storage.close();
        // The storage thread exits once the last handle is gone; the hub holds one.
        let hub = self.hub;
        drop(hub);
        if let Some(t) = self.storage_thread.take() {
            let _ = t.join();
        }
    }
}

#[derive(Clone)]
enum Kind {
    Notification,
    Switchboard,
    Http,
    Https(Arc<crate::tls::Acceptor>),
}

async fn accept_loop(
    roles: Arc<Http>,
    listener: Async<TcpListener>,
    ex: Arc<smol::Executor<'static>>,
    kind: Kind,
) {
    let role = match kind {
        Kind::Notification => "ns",
        Kind::Switchboard => "sb",
        Kind::Http => "http",
        Kind::Https(_) => "https",
    };
    loop {
        let http = matches!(kind, Kind::Http);
        let (stream, peer, admission) = roles.ns.hub.accept_admitted(&listener, http, role).await;
        match kind {
            Kind::Notification => ex
                .spawn(isolated(
                    crate::ns::serve(roles.ns.clone(), stream, peer),
                    admission,
                ))
                .detach(),
            Kind::Switchboard => ex
                .spawn(isolated(
                    crate::sb::serve(roles.ns.sb.clone(), stream, peer),
                    admission,
                ))
                .detach(),
            Kind::Http => ex
                .spawn(isolated(
                    crate::http::serve(roles.clone(), stream, peer),
                    admission,
                ))
                .detach(),
            Kind::Https(ref acceptor) => ex
                .spawn(isolated(
                    crate::http::https::serve(roles.clone(), acceptor.clone(), stream, peer),
                    admission,
                ))
                .detach(),
        }
    }
}

/// Every two seconds: signs out the users an operator asked to remove (`Ns::sign_out_requested`,
/// when the database files changed since `db_seen`);
/// every thirty, expires switchboard cookies and login tickets; and after a burst has gone, hands
/// spare buffers and free heap pages back to the system.
async fn housekeeping(ns: Arc<Ns>, mut db_seen: Option<DbStamp>) {
    let hub = &ns.hub;
    let mut tick = 0u32;
    let mut last_connections = 0;
    let mut last_seen_sessions = 0;
    loop {
        smol::Timer::after(Duration::from_secs(2)).await;
        tick += 1;
        // Only when the database files changed: asking SQLite every tick woke the storage thread
        // and kept SQLite's code (about 0.8 MiB) mapped in an idle server. Read before the
        // question, so a commit made while it is asked is seen at the next tick.
        let stamp = DbStamp::read(&hub.config.db);
        if stamp.is_none() || stamp != db_seen {
            ns.sign_out_requested().await;
            db_seen = stamp;
        }
        if tick.is_multiple_of(15) {
            ns.sb.switchboards.expire();
            hub.logins.expire_tickets();
        }
        // After a burst of connections has gone, hand the freed heap pages back to the system:
        // glibc only returns the top of the heap on its own, so a Pi's RSS would stay at its peak.
        // A burst may come and go between two ticks, so look at connections opened too.
        let now = hub.live_connections();
        let opened = hub.sessions_started();
        let quiet = opened == last_seen_sessions;
        let mut trim = now < last_connections || (!quiet && now <= last_connections);
        // Spare buffers that sat unused since the last tick go back to a few; those a steady
        // load keeps using stay (see `pool::release_spares`).
        if pool::release_spares(crate::limits::POOL_IDLE_KEEP) > 0 {
            trim = true;
        }
        if trim {
            release_free_memory();
        }
        last_connections = now;
        last_seen_sessions = opened;
    }
}

/// What a commit by another process (the operator's `msnpd user ...` commands) changes: the
/// modification time and length of the database and of its write-ahead log. `None` when the
/// database file cannot be read (then it is asked every time).
#[derive(PartialEq)]
struct DbStamp([Option<(std::time::SystemTime, u64)>; 2]);

impl DbStamp {
    fn read(db: &std::path::Path) -> Option<DbStamp> {
        let stamp = |p: &std::path::Path| {
            let m = std::fs::metadata(p).ok()?;
            Some((m.modified().ok()?, m.len()))
        };
        let main = stamp(db)?;
        let mut wal = db.as_os_str().to_owned();
        wal.push("-wal");
        Some(DbStamp([Some(main), stamp(std::path::Path::new(&wal))]))
    }
}

fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only returns unused pages to the kernel.
    unsafe {
        libc::malloc_trim(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An idle session costs its task's future plus a few small allocations; keep the future small
    /// (the memory target is 2 KiB per idle logged-in session).
    #[test]
    fn session_futures_stay_small() {
        let dir = std::env::temp_dir().join(format!("msnpd-fut-{}", crate::auth::token(8)));
        std::fs::create_dir_all(&dir).unwrap();
        let (storage, _thread) = Storage::start(&dir.join("t.db")).unwrap();
        let hub = Arc::new(Hub::new(Config::new(dir.join("t.db")), storage));
        let executor = Arc::new(smol::Executor::new());
        let ns_role = Ns::start(&hub, &executor);
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let peer = listener.local_addr().unwrap();
        let stream = || Async::new(std::net::TcpStream::connect(peer).unwrap()).unwrap();
        let ns = std::mem::size_of_val(&crate::ns::serve(ns_role.clone(), stream(), peer));
        let sb = std::mem::size_of_val(&crate::sb::serve(ns_role.sb.clone(), stream(), peer));
        let admission = hub.admit(peer.ip()).unwrap();
        let task = std::mem::size_of_val(&isolated(
            crate::ns::serve(ns_role.clone(), stream(), peer),
            admission,
        ));
        eprintln!(
            "future sizes: ns {ns} B (task {task} B), sb {sb} B; ns session state {} B",
            crate::ns::session_size()
        );
        // Measured 568 B (NS) and 1,600 B (SB) in release with handler futures and commands boxed
        // and the socket wait written as one poll (debug builds are a little larger); this
        // guards against a handler's large future, or a copy of the session, creeping back into
        // every idle session. The panic guard around it must not hold a second copy.
        assert!(ns <= 640, "notification session future is {ns} bytes");
        assert!(task <= ns + 64, "notification task future is {task} bytes");
        assert!(sb <= 2048, "switchboard session future is {sb} bytes");
        hub.storage.close();
        let _ = std::fs::remove_dir_all(dir);
    }
}
