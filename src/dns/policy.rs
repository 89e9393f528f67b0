//! Which sources the name service answers, and the parsing of the `--dns-*` option values.
//!
//! A DNS server reachable from the internet that forwards anything is an open resolver, a tool for
//! reflection attacks. By default only loopback, private (RFC 1918, ULA) and link-local sources are
//! served; `--dns-allow` replaces that list.

use ipnet::IpNet;
use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;

/// The default `--dns-allow`: loopback, RFC 1918, IPv4 link-local, ULA (fc00::/7), IPv6
/// link-local.
pub const DEFAULT_ALLOW: &[&str] = &[
    "127.0.0.0/8",
    "10.0.0.0/8",
    "172.16.0.0/12",
    "192.168.0.0/16",
    "169.254.0.0/16",
    "::1/128",
    "fc00::/7",
    "fe80::/10",
];

/// The default allow list, parsed.
pub fn default_allow() -> Vec<IpNet> {
    DEFAULT_ALLOW
        .iter()
        .map(|c| c.parse().expect("valid built-in CIDR"))
        .collect()
}

/// Parses `CIDR[,CIDR]...`; a bare address counts as a single host (/32 or /128).
pub fn parse_allow(s: &str) -> Result<Vec<IpNet>, String> {
    let mut out = Vec::new();
    for part in s.split(',').map(str::trim) {
        if part.is_empty() {
            continue;
        }
        let net = match IpNet::from_str(part) {
            Ok(net) => net,
            Err(_) => match part.parse::<IpAddr>() {
                Ok(ip) => IpNet::from(ip),
                Err(_) => return Err(format!("invalid --dns-allow entry `{part}` (want CIDR)")),
            },
        };
        out.push(net.trunc());
    }
    if out.is_empty() {
        return Err("--dns-allow needs at least one CIDR".into());
    }
    Ok(out)
}

/// An IPv4 client reaching a dual-stack socket appears as ::ffff:a.b.c.d; judge it as IPv4.
pub fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// Whether a query from `source` may be answered.
pub fn allowed(allow: &[IpNet], source: IpAddr) -> bool {
    let source = canonical(source);
    allow.iter().any(|net| net.contains(&source))
}

/// Where names that are not ours go.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Upstream {
    /// The nameservers in /etc/resolv.conf, read at start (without ourselves).
    #[default]
    System,
    /// None: other names are answered REFUSED.
    Refuse,
    /// These servers, tried in order.
    Servers(Vec<SocketAddr>),
}

impl FromStr for Upstream {
    type Err = String;

    /// `none`, `system`, or `ADDR[,ADDR]...` where ADDR is `IP`, `IP:PORT` or `[IPv6]:PORT`.
    fn from_str(s: &str) -> Result<Upstream, String> {
        match s.trim() {
            "none" => return Ok(Upstream::Refuse),
            "system" => return Ok(Upstream::System),
            _ => {}
        }
        let mut servers = Vec::new();
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let addr = match part.parse::<SocketAddr>() {
                Ok(a) => a,
                Err(_) => match part.parse::<IpAddr>() {
                    Ok(ip) => SocketAddr::new(ip, 53),
                    Err(_) => {
                        return Err(format!(
                            "invalid --dns-upstream entry `{part}` (want IP or IP:PORT, or `none`)"
                        ));
                    }
                },
            };
            servers.push(addr);
        }
        if servers.is_empty() {
            return Err("--dns-upstream needs an address, or `none`".into());
        }
        Ok(Upstream::Servers(servers))
    }
}

/// The `nameserver` lines of a resolv.conf (port 53). IPv6 link-local entries with a zone
/// (`fe80::1%eth0`) are skipped: a socket address cannot carry the zone name.
pub fn resolv_conf_servers(text: &str) -> Vec<SocketAddr> {
    text.lines()
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            (words.next() == Some("nameserver")).then(|| words.next())?
        })
        .filter_map(|ip| ip.parse::<IpAddr>().ok())
        .map(|ip| SocketAddr::new(ip, 53))
        .collect()
}

/// Whether forwarding to `upstream` would reach this very service listening on `listen`
/// (`local` are this machine's addresses): a query would then loop until it times out.
pub fn is_self(upstream: SocketAddr, listen: SocketAddr, local: &[IpAddr]) -> bool {
    if upstream.port() != listen.port() {
        return false;
    }
    let (up, ours) = (canonical(upstream.ip()), canonical(listen.ip()));
    up == ours || (ours.is_unspecified() && (up.is_loopback() || local.contains(&up)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn default_policy_answers_loopback_private_and_link_local_only() {
        let allow = default_allow();
        for ok in [
            "127.0.0.1",
            "127.8.9.10",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.254",
            "192.168.1.20",
            "169.254.3.4",
            "::1",
            "fd12:3456::1",
            "fc00::1",
            "fe80::1234",
            "::ffff:192.168.1.20",
            "::ffff:127.0.0.1",
        ] {
            assert!(allowed(&allow, ip(ok)), "{ok} should be answered");
        }
        for refused in [
            "8.8.8.8",
            "172.32.0.1",
            "172.15.255.255",
            "192.169.0.1",
            "100.64.0.1",
            "11.0.0.1",
            "2001:db8::1",
            "2a00:1450::1",
            "::ffff:8.8.8.8",
            "0.0.0.0",
        ] {
            assert!(!allowed(&allow, ip(refused)), "{refused} should be refused");
        }
    }

    #[test]
    fn allow_option_replaces_the_default() {
        let allow = parse_allow("10.0.0.0/8, 2001:db8::/32,203.0.113.7").unwrap();
        assert!(allowed(&allow, ip("10.9.9.9")));
        assert!(allowed(&allow, ip("2001:db8::5")));
        assert!(allowed(&allow, ip("203.0.113.7")));
        assert!(!allowed(&allow, ip("203.0.113.8")));
        assert!(
            !allowed(&allow, ip("127.0.0.1")),
            "loopback is no longer implied"
        );
        // Host bits are cleared rather than rejected.
        let allow = parse_allow("192.168.1.77/24").unwrap();
        assert!(allowed(&allow, ip("192.168.1.1")));
        assert!(parse_allow("").is_err());
        assert!(parse_allow("10.0.0.0/33").is_err());
        assert!(parse_allow("lan").is_err());
    }

    #[test]
    fn upstream_values() {
        assert_eq!("none".parse::<Upstream>().unwrap(), Upstream::Refuse);
        assert_eq!("system".parse::<Upstream>().unwrap(), Upstream::System);
        assert_eq!(
            "192.168.1.1, 9.9.9.9:5353,[2001:db8::1]:53"
                .parse::<Upstream>()
                .unwrap(),
            Upstream::Servers(vec![
                "192.168.1.1:53".parse().unwrap(),
                "9.9.9.9:5353".parse().unwrap(),
                "[2001:db8::1]:53".parse().unwrap(),
            ])
        );
        assert!("".parse::<Upstream>().is_err());
        assert!("dns.example".parse::<Upstream>().is_err());
    }

    #[test]
    fn resolv_conf_is_read_and_ourselves_left_out() {
        let text = "# comment\nsearch lan\nnameserver 192.168.1.1\nnameserver fe80::1%eth0\n\
                    nameserver 127.0.0.53\n  nameserver 1.1.1.1 \noptions edns0\n";
        let servers = resolv_conf_servers(text);
        assert_eq!(
            servers,
            ["192.168.1.1:53", "127.0.0.53:53", "1.1.1.1:53"]
                .map(|s| s.parse::<SocketAddr>().unwrap())
        );
        let local = [ip("192.168.1.10")];
        let any: SocketAddr = "0.0.0.0:53".parse().unwrap();
        assert!(is_self("127.0.0.53:53".parse().unwrap(), any, &local));
        assert!(is_self("192.168.1.10:53".parse().unwrap(), any, &local));
        assert!(!is_self("192.168.1.1:53".parse().unwrap(), any, &local));
        let lan: SocketAddr = "192.168.1.10:53".parse().unwrap();
        assert!(!is_self("127.0.0.53:53".parse().unwrap(), lan, &local));
        assert!(is_self("192.168.1.10:53".parse().unwrap(), lan, &local));
        assert!(!is_self(
            "127.0.0.1:53".parse().unwrap(),
            "127.0.0.1:5353".parse().unwrap(),
            &local
        ));
    }
}
