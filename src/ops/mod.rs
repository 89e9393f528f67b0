//! What the person running msnpd needs beyond serving clients: the lock that keeps a second
//! `serve` off a database, the runtime file `msnpd status` reads, the loopback `/status` endpoint,
//! carrying out sign-outs requested by the `user` commands, and SIGHUP reloads.
//!
//! `msnpd status` is another process, so it asks the running server: the server writes
//! `<db>.lock` (owner-only) with its pid, the addresses it really bound and a random token; it
//! holds a POSIX write lock on that file for its whole life. `status` connects to each address,
//! and asks `GET /status` on the HTTP listener with the token for who is online. The endpoint
//! answers only peers on this machine that present the token, so only someone who can read the lock
//! file (the operator) sees it, even behind a reverse proxy on the same host.

pub mod check;
pub mod config_file;
pub mod invites;
pub mod password;
pub mod residency;

use crate::config::Config;
use crate::server::hub::Hub;
use std::fs::File;
use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// The lock file beside a database.
pub fn lock_path(db: &Path) -> PathBuf {
    let mut s = db.as_os_str().to_owned();
    s.push(".lock");
    PathBuf::from(s)
}

/// Held by a running server: while it exists, no second `serve` opens the same database.
pub struct ServerLock {
    file: File,
    path: PathBuf,
}

fn fcntl_lock(file: &File, cmd: libc::c_int) -> std::io::Result<libc::flock> {
    use std::os::fd::AsRawFd;
    // SAFETY: a zeroed flock is a valid value; fcntl only reads and writes that struct.
    let mut fl: libc::flock = unsafe { std::mem::zeroed() };
    fl.l_type = libc::F_WRLCK as _;
    fl.l_whence = libc::SEEK_SET as _;
    // SAFETY: as above; the descriptor is open for the duration of the call.
    if unsafe { libc::fcntl(file.as_raw_fd(), cmd, &mut fl) } == -1 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(fl)
}

/// The pid of the process holding `db`'s lock, if a server is running on it.
pub fn lock_holder(db: &Path) -> Option<i32> {
    let file = File::open(lock_path(db)).ok()?;
    let fl = fcntl_lock(&file, libc::F_GETLK).ok()?;
    (fl.l_type != libc::F_UNLCK as _).then_some(fl.l_pid)
}

impl ServerLock {
    /// Takes the lock on `db`, or says which process holds it.
    pub fn acquire(db: &Path) -> Result<ServerLock, String> {
        let path = lock_path(db);
        let mut open = std::fs::OpenOptions::new();
        open.read(true).write(true).create(true).truncate(false);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut open, 0o600);
        let file = open
            .open(&path)
            .map_err(|e| format!("cannot open lock file {}: {e}", path.display()))?;
        if let Err(e) = fcntl_lock(&file, libc::F_SETLK) {
            let who = lock_holder(db).map_or(String::new(), |pid| format!(" (pid {pid})"));
            return Err(match e.raw_os_error() {
                Some(libc::EAGAIN) | Some(libc::EACCES) => format!(
                    "database {} is in use by another msnpd serve{who}; lock file {}",
                    db.display(),
                    path.display()
                ),
                _ => format!("cannot lock {}: {e}", path.display()),
            });
        }
        Ok(ServerLock { file, path })
    }

    /// Records what `msnpd status` needs: our pid, the token for `/status`, the public host and
    /// each listener as `listener <what> <address>`.
    pub fn publish(
        &mut self,
        token: &str,
        public_host: Option<&str>,
        listeners: &[(&str, SocketAddr)],
    ) -> std::io::Result<()> {
        let mut text = format!("pid {}\ntoken {token}\n", std::process::id());
        if let Some(h) = public_host {
            text.push_str(&format!("public-host {h}\n"));
        }
        for (what, addr) in listeners {
            text.push_str(&format!("listener {what} {addr}\n"));
        }
        self.file.set_len(0)?;
        std::io::Seek::rewind(&mut self.file)?;
        self.file.write_all(text.as_bytes())?;
        self.file.sync_data()
    }

    /// The lock file, for log lines.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// What a running server published in its lock file.
#[derive(Debug, Default)]
pub struct Published {
    /// The server's process id (also what the lock itself reports).
    pub pid: i32,
    /// The secret `GET /status` wants in `STATUS_TOKEN_HEADER`.
    pub token: String,
    /// `--public-host`, if set: what clients are sent to.
    pub public_host: Option<String>,
    /// (what, address) of every listener the server really bound, ports included.
    pub listeners: Vec<(String, SocketAddr)>,
}

/// Reads the lock file of the server running on `db`; `None` when no server holds it.
pub fn published(db: &Path) -> Option<Published> {
    let pid = lock_holder(db)?;
    let text = std::fs::read_to_string(lock_path(db)).ok()?;
    let mut p = Published {
        pid,
        ..Default::default()
    };
    for line in text.lines() {
        match line.split_once(' ') {
            Some(("token", t)) => p.token = t.to_string(),
            Some(("public-host", h)) => p.public_host = Some(h.to_string()),
            Some(("listener", rest)) => {
                if let Some((what, addr)) = rest.rsplit_once(' ')
                    && let Ok(addr) = addr.parse()
                {
                    p.listeners.push((what.to_string(), addr));
                }
            }
            _ => {}
        }
    }
    Some(p)
}

/// The header `msnpd status` sends its token in.
pub const STATUS_TOKEN_HEADER: &str = "X-Msnpd-Status-Token";

/// Applies the reloadable settings of `new` and describes each change, e.g.
/// `max-per-ip 256 -> 1`. Settings that need a restart are named in a separate list.
/// `registration` is the mode in force (the web page's); the caller applies the new one.
pub fn reload(
    hub: &Hub,
    registration: crate::accounts::Registration,
    new: &Config,
) -> (Vec<String>, bool) {
    let live = &hub.live;
    let mut changes = Vec::new();
    let mut note = |name: &str, old: String, new: String| {
        if old != new {
            changes.push(format!("{name} {old} -> {new}"));
        }
    };
    let secs = |d: std::time::Duration| format!("{}s", d.as_secs());
    note(
        "max-connections",
        live.max_connections().to_string(),
        new.max_connections.to_string(),
    );
    note(
        "max-per-ip",
        live.max_per_ip().to_string(),
        new.max_per_ip.to_string(),
    );
    note(
        "auth-backoff",
        secs(live.auth_backoff()),
        secs(new.auth_backoff),
    );
    note(
        "login-timeout",
        secs(live.login()),
        secs(new.timeouts.login),
    );
    note(
        "idle-timeout",
        secs(live.ns_idle()),
        secs(new.timeouts.ns_idle),
    );
    note(
        "sb-idle-timeout",
        secs(live.sb_idle()),
        secs(new.timeouts.sb_idle),
    );
    note(
        "stall-timeout",
        secs(live.write_stall()),
        secs(new.timeouts.write_stall),
    );
    note(
        "registration",
        registration.as_str().to_string(),
        new.registration.as_str().to_string(),
    );
    live.apply(new);
    // Anything else that differs needs a restart: compare with the reloadable parts equalised.
    let mut rest = new.clone();
    rest.max_connections = hub.config.max_connections;
    rest.max_per_ip = hub.config.max_per_ip;
    rest.auth_backoff = hub.config.auth_backoff;
    // Only these timeouts are live; the HTTP request and gateway idle ones need a restart.
    rest.timeouts = crate::config::Timeouts {
        http_request: new.timeouts.http_request,
        gateway_idle: new.timeouts.gateway_idle,
        ..hub.config.timeouts
    };
    rest.registration = hub.config.registration;
    let needs_restart = format!("{rest:?}") != format!("{:?}", hub.config);
    (changes, needs_restart)
}

/// Checks `--public-host`: a host name or an IP address, without a port (clients are given the
/// port of the listener they need). An IPv6 address comes back in brackets, ready to have
/// `:port` appended.
pub fn validate_public_host(host: &str) -> Result<String, String> {
    let bad = |why: &str| Err(format!("invalid --public-host {host:?}: {why}"));
    let bare = host.strip_prefix('[').and_then(|h| h.strip_suffix(']'));
    if let Ok(v6) = bare.unwrap_or(host).parse::<std::net::Ipv6Addr>() {
        return Ok(format!("[{v6}]"));
    }
    if host.contains(':') {
        return bad("give a host name or address without a port; clients get each listener's port");
    }
    if host.is_empty() || host.len() > crate::limits::MAX_HOST_NAME {
        return bad("expected a host name or IP address");
    }
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    };
    if !host.trim_end_matches('.').split('.').all(label_ok) {
        return bad("expected a host name or IP address");
    }
    Ok(host.to_string())
}

/// Where to connect to reach a listener bound to `addr` from this machine (a wildcard bind is
/// reached on loopback).
pub fn reachable_form(addr: SocketAddr) -> SocketAddr {
    use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
    match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => {
            SocketAddr::new(Ipv4Addr::LOCALHOST.into(), addr.port())
        }
        IpAddr::V6(ip) if ip.is_unspecified() => {
            SocketAddr::new(Ipv6Addr::LOCALHOST.into(), addr.port())
        }
        _ => addr,
    }
}

/// What a running server's `/status` endpoint answers.
#[derive(Debug, Default)]
pub struct ServerStatus {
    /// The handles online.
    pub online: Vec<String>,
    /// Password checks (Argon2) since the server started.
    pub password_hashes: u64,
    /// The thread CPU time those checks took.
    pub password_hash_cpu: std::time::Duration,
}

/// Asks a running server's `/status` endpoint who is online (and what the password checks cost).
pub fn ask_status(http: SocketAddr, token: &str) -> Result<ServerStatus, String> {
    use std::io::Read;
    let timeout = crate::limits::STATUS_QUERY_TIMEOUT;
    let mut s = std::net::TcpStream::connect_timeout(&http, timeout).map_err(|e| e.to_string())?;
    s.set_read_timeout(Some(timeout))
        .map_err(|e| e.to_string())?;
    write!(
        s,
        "GET /status HTTP/1.1\r\nHost: {http}\r\n{STATUS_TOKEN_HEADER}: {token}\r\nConnection: close\r\n\r\n"
    )
    .map_err(|e| e.to_string())?;
    let mut reply = String::new();
    s.read_to_string(&mut reply).map_err(|e| e.to_string())?;
    let (head, body) = reply.split_once("\r\n\r\n").ok_or("malformed reply")?;
    if !head.starts_with("HTTP/1.1 200") {
        return Err(head.lines().next().unwrap_or("").to_string());
    }
    let mut lines = body.lines();
    let count: usize = lines
        .next()
        .and_then(|l| l.strip_prefix("online "))
        .and_then(|n| n.parse().ok())
        .ok_or("malformed reply")?;
    let online: Vec<String> = lines.by_ref().take(count).map(str::to_string).collect();
    if online.len() != count {
        return Err("malformed reply".into());
    }
    let mut status = ServerStatus {
        online,
        ..Default::default()
    };
    for line in lines {
        match line.split_once(' ') {
            Some(("password-hashes", n)) => {
                status.password_hashes = n.parse().map_err(|_| "malformed reply")?
            }
            Some(("password-hash-cpu-us", us)) => {
                status.password_hash_cpu =
                    std::time::Duration::from_micros(us.parse().map_err(|_| "malformed reply")?)
            }
            _ => {}
        }
    }
    Ok(status)
}

/// Whether `--public-host` can work: it must resolve, and to an address other machines can reach.
/// Returns a line for `msnpd status` and whether it looks right.
pub fn check_public_host(host: &str) -> (String, bool) {
    use std::net::ToSocketAddrs;
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    match (bare, 0).to_socket_addrs() {
        Err(e) => (format!("{host} does not resolve here ({e})"), false),
        Ok(addrs) => {
            let ips: Vec<String> = addrs.map(|a| a.ip().to_string()).collect();
            let all_local = ips.iter().all(|ip| {
                ip.parse::<std::net::IpAddr>()
                    .is_ok_and(|ip| ip.is_loopback() || ip.is_unspecified())
            });
            if ips.is_empty() {
                (format!("{host} resolves to no address"), false)
            } else if all_local {
                (
                    format!(
                        "{host} is {} (loopback: other machines cannot reach it)",
                        ips.join(", ")
                    ),
                    false,
                )
            } else {
                (format!("{host} is {}", ips.join(", ")), true)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_host_forms() {
        assert_eq!(
            validate_public_host("chat.example.org").unwrap(),
            "chat.example.org"
        );
        assert_eq!(validate_public_host("10.0.0.5").unwrap(), "10.0.0.5");
        assert_eq!(
            validate_public_host("2001:db8::1").unwrap(),
            "[2001:db8::1]"
        );
        assert_eq!(
            validate_public_host("[2001:db8::1]").unwrap(),
            "[2001:db8::1]"
        );
        assert!(validate_public_host("10.0.0.5:9999").is_err());
        assert!(validate_public_host("chat.example.org:1863").is_err());
        assert!(validate_public_host("").is_err());
        assert!(validate_public_host("a b").is_err());
        assert!(validate_public_host("http://x").is_err());
    }
}
