//! Addresses to listen on, as the operator gives them: a plain value type under `config` and
//! `server`, so that the settings can name it without importing the transport.

use std::net::SocketAddr;

/// An address to listen on. `optional` ones (the defaults 0.0.0.0:80 and 0.0.0.0:443) are skipped
/// with a warning when they cannot be bound for lack of privilege or because the port is taken;
/// addresses given on the command line must bind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ListenAddr {
    /// Where to listen.
    pub addr: SocketAddr,
    /// Skip (with a warning) instead of failing the start when it cannot be bound.
    pub optional: bool,
}

impl ListenAddr {
    /// An address the operator gave: failing to bind it stops the start.
    pub fn required(addr: SocketAddr) -> ListenAddr {
        ListenAddr {
            addr,
            optional: false,
        }
    }
    /// A default that may be skipped (ports 80 and 443 without privilege, or taken).
    pub fn optional(addr: SocketAddr) -> ListenAddr {
        ListenAddr {
            addr,
            optional: true,
        }
    }
}

/// `--http-listen`: a comma-separated list of addresses, each bound exactly.
pub fn parse_list(value: &str) -> Result<Vec<ListenAddr>, String> {
    let list: Result<Vec<_>, String> = value
        .split(',')
        .map(|a| a.trim())
        .filter(|a| !a.is_empty())
        .map(|a| {
            a.parse()
                .map(ListenAddr::required)
                .map_err(|_| format!("not an address:port: {a}"))
        })
        .collect();
    match list {
        Ok(l) if l.is_empty() => Err("no address given".into()),
        other => other,
    }
}

/// `--https-listen`: one address, or `none`.
pub fn parse_optional(value: &str) -> Result<Option<ListenAddr>, String> {
    let v = value.trim();
    if v.eq_ignore_ascii_case("none") {
        return Ok(None);
    }
    v.parse()
        .map(|a| Some(ListenAddr::required(a)))
        .map_err(|_| format!("not an address:port (or none): {v}"))
}
