//! Runtime settings of `msnpd serve`.

pub use crate::net::listen::ListenAddr;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// Everything `msnpd serve` was told, gathered from the flags and the config file by `main`, so that
/// the library never reads the command line and tests can start a server from a value.
#[derive(Clone, Debug)]
pub struct Config {
    /// The SQLite database (created and migrated on start).
    pub db: PathBuf,
    /// Dispatch and notification listener.
    pub listen: SocketAddr,
    /// Switchboard listener, the address `XFR SB` and `RNG` send clients to.
    pub sb_listen: SocketAddr,
    /// HTTP listeners (Passport, MsgrConfig, the CA download). Default: 0.0.0.0:8080, and
    /// 0.0.0.0:80 when it can be bound.
    pub http_listen: Vec<ListenAddr>,
    /// HTTPS listener; `None` disables it. Default: 0.0.0.0:443 when it can be bound.
    pub https_listen: Option<ListenAddr>,
    /// Directory of the generated certificate kit; `None`: the database's directory.
    pub tls_dir: Option<PathBuf>,
    /// The operator's own certificate chain (PEM, server certificate first) and key, used instead
    /// of the kit. Both or neither.
    pub tls_cert: Option<PathBuf>,
    /// The private key of `tls_cert`.
    pub tls_key: Option<PathBuf>,
    /// Host written into XFR/RNG replies; by default the local address of the client's connection.
    pub public_host: Option<String>,
    /// Interval between `CHL` challenges (MSNP6+); `None` disables them.
    pub chl_interval: Option<Duration>,
    /// Accept `QRY` from client ids whose key we do not know.
    pub allow_unknown_clients: bool,
    /// Executor threads.
    pub threads: usize,
    /// Deadlines for slow or silent clients.
    pub timeouts: Timeouts,
    /// Open client connections at most (all listeners together), and per client address.
    pub max_connections: usize,
    /// Open client connections from one address (`--max-per-ip`).
    pub max_per_ip: usize,
    /// Failed logins from one address for one account (and 4x that from one address for any
    /// account) before further attempts are refused for `auth_backoff`.
    pub auth_failures: u32,
    /// How long a blocked (address, account) pair or address stays refused (`--auth-backoff`).
    pub auth_backoff: Duration,
    /// Shown on the page at `/` (default: the host name).
    pub name: Option<String>,
    /// The page at `/` lists who is online by name, not just how many.
    pub public_presence: bool,
    /// Self-registration through `/register`.
    pub registration: crate::accounts::Registration,
    /// LAN name service address (UDP and TCP); `None` (the default) leaves it off.
    pub dns_listen: Option<SocketAddr>,
    /// Where the name service sends names that are not ours (default: /etc/resolv.conf).
    pub dns_upstream: crate::dns::Upstream,
    /// Sources the name service answers (default: loopback, private and link-local).
    pub dns_allow: Vec<ipnet::IpNet>,
    /// XMPP client listener (STARTTLS on 5222, docs/xmpp.md); `None` disables it.
    pub xmpp_listen: Option<ListenAddr>,
    /// XMPP over direct TLS (XEP-0368, usually 5223); off by default.
    pub xmpp_tls_listen: Option<ListenAddr>,
}

impl Config {
    /// The name service's part of the settings.
    pub fn dns(&self) -> crate::dns::Settings {
        crate::dns::Settings {
            listen: self.dns_listen,
            upstream: self.dns_upstream.clone(),
            allow: self.dns_allow.clone(),
            public_host: self.public_host.clone(),
        }
    }
}

/// Deadlines for slow or silent clients.
#[derive(Clone, Copy, Debug)]
pub struct Timeouts {
    /// A new connection must send its first command within this time.
    pub first_command: Duration,
    /// ... and be logged in (NS) or joined (SB) within this time.
    pub login: Duration,
    /// A notification connection silent for this long is dropped.
    pub ns_idle: Duration,
    /// A switchboard connection silent for this long is removed from its conversation.
    pub sb_idle: Duration,
    /// A client that leaves our data unread this long is cut off.
    pub write_stall: Duration,
    /// An HTTP request must arrive whole this long after its first byte (`--http-head-timeout`).
    pub http_request: Duration,
    /// An HTTP gateway session without a request for this long is closed.
    pub gateway_idle: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        use crate::limits::*;
        Timeouts {
            first_command: FIRST_COMMAND_TIMEOUT,
            login: LOGIN_TIMEOUT,
            ns_idle: NS_IDLE_TIMEOUT,
            sb_idle: SB_IDLE_TIMEOUT,
            write_stall: WRITE_STALL_TIMEOUT,
            http_request: HTTP_REQUEST_TIMEOUT,
            gateway_idle: GATEWAY_IDLE_TIMEOUT,
        }
    }
}

impl Config {
    /// The defaults of `msnpd serve` (the standard MSN ports, limits from `limits.rs`) for the
    /// database at `db`; `main` and the tests change fields from there.
    pub fn new(db: PathBuf) -> Config {
        Config {
            db,
            listen: "0.0.0.0:1863".parse().expect("valid address"),
            sb_listen: "0.0.0.0:1864".parse().expect("valid address"),
            http_listen: vec![
                ListenAddr::required("0.0.0.0:8080".parse().expect("valid address")),
                ListenAddr::optional("0.0.0.0:80".parse().expect("valid address")),
            ],
            https_listen: Some(ListenAddr::optional(
                "0.0.0.0:443".parse().expect("valid address"),
            )),
            tls_dir: None,
            tls_cert: None,
            tls_key: None,
            public_host: None,
            chl_interval: Some(crate::limits::CHALLENGE_INTERVAL),
            allow_unknown_clients: false,
            threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
            timeouts: Timeouts::default(),
            max_connections: crate::limits::MAX_CONNECTIONS,
            max_per_ip: crate::limits::MAX_CONNECTIONS_PER_IP,
            auth_failures: crate::limits::AUTH_FAILURES,
            auth_backoff: crate::limits::AUTH_BACKOFF,
            name: None,
            public_presence: false,
            registration: crate::accounts::Registration::Closed,
            dns_listen: None,
            dns_upstream: crate::dns::Upstream::System,
            dns_allow: crate::dns::default_allow(),
            xmpp_listen: Some(ListenAddr::optional(
                "0.0.0.0:5222".parse().expect("valid address"),
            )),
            xmpp_tls_listen: None,
        }
    }
}
