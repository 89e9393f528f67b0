//! Runtime settings of `msnpd serve`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Clone, Debug)]
pub struct Config {
    pub db: PathBuf,
    /// Dispatch and notification listener.
    pub listen: SocketAddr,
    pub sb_listen: SocketAddr,
    pub http_listen: SocketAddr,
    /// Host written into XFR/RNG replies; by default the local address of the client's connection.
    pub public_host: Option<String>,
    /// Interval between `CHL` challenges (MSNP6+); `None` disables them.
    pub chl_interval: Option<Duration>,
    /// Accept `QRY` from client ids whose key we do not know.
    pub allow_unknown_clients: bool,
    /// Executor threads.
    pub threads: usize,
}

impl Config {
    pub fn new(db: PathBuf) -> Config {
        Config {
            db,
            listen: "0.0.0.0:1863".parse().expect("valid address"),
            sb_listen: "0.0.0.0:1864".parse().expect("valid address"),
            http_listen: "0.0.0.0:8080".parse().expect("valid address"),
            public_host: None,
            chl_interval: Some(crate::limits::CHALLENGE_INTERVAL),
            allow_unknown_clients: false,
            threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
        }
    }
}
