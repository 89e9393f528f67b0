//! Which host the nexus may name in `DALogin`. A client follows that URL with its password, so it
//! must never be whatever the request's `Host` header says: the configured public host when there
//! is one, else the `Host` only if it names this server, else the address the client reached.

use std::net::{IpAddr, SocketAddr};

/// Host names of the official service that clients reach msnpd under (hosts file or DNS) besides
/// the ones the web page tells users to map (`site::MSN_HOSTS`).
const SERVICE_HOSTS: &[&str] = &["login.passport.net", "messenger.msn.com", "localhost"];

/// A `Host` header value taken apart: only a DNS name or an address, and an optional port, get
/// through, so that what is built from it (`DALogin`, `GW-IP`, XFR/RNG) holds nothing else: no
/// `user@` part, no path, no `;param`, no bytes past a bracket.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HostPort<'a> {
    /// The name or address, without brackets.
    pub host: &'a str,
    /// Whether `host` is an IPv6 address (written in brackets).
    pub v6: bool,
    /// The port, when one was given.
    pub port: Option<u16>,
}

impl HostPort<'_> {
    /// The host as it goes into a URL: an IPv6 address in brackets.
    pub fn name(&self) -> String {
        if self.v6 {
            format!("[{}]", self.host)
        } else {
            self.host.to_string()
        }
    }
}

impl std::fmt::Display for HostPort<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.name())?;
        match self.port {
            Some(p) => write!(f, ":{p}"),
            None => Ok(()),
        }
    }
}

/// A port as written after the colon: 1-65535, digits only.
fn port(p: &str) -> Option<u16> {
    if p.is_empty() || p.len() > 5 || !p.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    p.parse::<u16>().ok().filter(|&n| n > 0)
}

/// Parses a `Host` header value (`name`, `name:port`, `a.b.c.d:port`, `[v6]`, `[v6]:port`);
/// `None` for anything else, including trailing bytes after the port or the bracket.
pub fn parse_host(value: &str) -> Option<HostPort<'_>> {
    let v = value.trim();
    if v.is_empty() || v.len() > crate::limits::GATEWAY_MAX_HOST {
        return None;
    }
    if let Some(rest) = v.strip_prefix('[') {
        let (addr, after) = rest.split_once(']')?;
        addr.parse::<std::net::Ipv6Addr>().ok()?;
        let port = match after {
            "" => None,
            _ => Some(port(after.strip_prefix(':')?)?),
        };
        return Some(HostPort {
            host: addr,
            v6: true,
            port,
        });
    }
    let (name, port) = match v.split_once(':') {
        Some((n, p)) => (n, Some(port(p)?)),
        None => (v, None),
    };
    let name_ok = !name.is_empty()
        && name.len() <= crate::limits::MAX_HOST_NAME
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-');
    name_ok.then_some(HostPort {
        host: name,
        v6: false,
        port,
    })
}

/// Whether `host` (no port) names this server: a service host name, the machine's name, the
/// address the client connected to, or another address of ours.
fn is_ours(host: &str, local: SocketAddr) -> bool {
    if host.is_empty()
        || !host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b".-:".contains(&b))
    {
        return false;
    }
    if SERVICE_HOSTS
        .iter()
        .chain(super::site::MSN_HOSTS.iter().map(|(h, _)| h))
        .any(|h| h.eq_ignore_ascii_case(host))
    {
        return true;
    }
    if let Ok(ip) = host.parse::<IpAddr>() {
        return ip == local.ip()
            || ip.is_loopback() && local.ip().is_loopback()
            || matches!(ip, IpAddr::V4(v4) if crate::server::lan::local_ipv4().contains(&v4));
    }
    crate::server::lan::hostname().is_some_and(|me| {
        me.eq_ignore_ascii_case(host)
            || me
                .split('.')
                .next()
                .is_some_and(|short| short.eq_ignore_ascii_case(host))
    })
}

/// The `host[:port]` to put in the login URL. `local` is where the client reached us.
pub fn login_host(
    public_host: Option<&str>,
    header: Option<&str>,
    local: SocketAddr,
    tls: bool,
) -> String {
    if let Some(h) = public_host {
        // Behind a TLS proxy the client dials the default port; else our own listener's port.
        return if tls || local.port() == 80 {
            h.to_string()
        } else {
            format!("{h}:{}", local.port())
        };
    }
    // Rebuilt from the parsed host and port only, never echoed.
    match header.and_then(parse_host) {
        Some(hp) if is_ours(hp.host, local) => hp.to_string(),
        _ => local.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_our_own_names_pass() {
        let local: SocketAddr = "127.0.0.1:8080".parse().unwrap();
        let h = |v: Option<&str>| login_host(None, v, local, false);
        assert_eq!(h(Some("evil.example.net")), "127.0.0.1:8080");
        assert_eq!(h(Some("evil.example.net:8080")), "127.0.0.1:8080");
        assert_eq!(h(Some("nexus.passport.com")), "nexus.passport.com");
        assert_eq!(
            h(Some("NEXUS.passport.com:8080")),
            "NEXUS.passport.com:8080"
        );
        assert_eq!(h(Some("127.0.0.1:8080")), "127.0.0.1:8080");
        assert_eq!(h(Some("10.9.9.9:8080")), "127.0.0.1:8080");
        assert_eq!(h(Some("a b")), "127.0.0.1:8080");
        assert_eq!(h(None), "127.0.0.1:8080");
        assert_eq!(
            login_host(Some("msn.example.org"), Some("evil"), local, false),
            "msn.example.org:8080"
        );
        assert_eq!(
            login_host(Some("msn.example.org"), None, local, true),
            "msn.example.org"
        );
        assert_eq!(
            parse_host("[::1]:80"),
            Some(HostPort {
                host: "::1",
                v6: true,
                port: Some(80)
            })
        );
        // Issue 21, finding 8: a bracketed address followed by anything else.
        assert_eq!(h(Some("[127.0.0.1]@evil.example:8080")), "127.0.0.1:8080");
        assert_eq!(h(Some("[::1]@evil.example:8080")), "127.0.0.1:8080");
        assert_eq!(h(Some("[::1]:8080/x")), "127.0.0.1:8080");
        assert_eq!(h(Some("localhost:8080@evil")), "127.0.0.1:8080");
        let v6local: SocketAddr = "[::1]:8080".parse().unwrap();
        assert_eq!(
            login_host(None, Some("[::1]:8080"), v6local, false),
            "[::1]:8080"
        );
        if let Some(me) = crate::server::lan::hostname() {
            assert_eq!(h(Some(&me)), me);
        }
    }
}
