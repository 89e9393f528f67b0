//! Which host the nexus may name in `DALogin`. A client follows that URL with its password, so it
//! must never be whatever the request's `Host` header says: the configured public host when there
//! is one, else the `Host` only if it names this server, else the address the client reached.

use std::net::{IpAddr, SocketAddr};

/// Host names of the official service that clients reach msnpd under (hosts file or DNS) besides
/// the ones the web page tells users to map (`site::MSN_HOSTS`).
const SERVICE_HOSTS: &[&str] = &["login.passport.net", "messenger.msn.com", "localhost"];

/// The host part of a `Host` header value (`name`, `name:port`, `[v6]:port`).
fn host_part(value: &str) -> &str {
    let v = value.trim();
    if let Some(rest) = v.strip_prefix('[') {
        return rest.split(']').next().unwrap_or("");
    }
    match v.rsplit_once(':') {
        Some((h, port)) if !h.contains(':') && port.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => v,
    }
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
    match header {
        Some(v) if is_ours(host_part(v), local) => v.trim().to_string(),
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
        assert_eq!(host_part("[::1]:80"), "::1");
        if let Some(me) = crate::server::lan::hostname() {
            assert_eq!(h(Some(&me)), me);
        }
    }
}
