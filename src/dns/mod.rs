//! LAN name service (`--dns-listen`, off by default): answers A queries for the host names MSN
//! clients contact (`names::OURS`) with this server's address, and forwards every other query to
//! the upstream resolvers, so that a LAN-party PC needs one setting: its DNS server.
//!
//! Not an open resolver: only sources on the allow list (loopback, private and link-local by
//! default) are served; others get REFUSED over UDP and a closed connection over TCP. Forwards in
//! flight and TCP connections are capped and timed (`limits::DNS_*`). docs/dns.md is the user's
//! guide.

mod forward;
pub(crate) mod message;
pub mod names;
pub(crate) mod policy;
mod tcp;
mod udp;

pub use policy::{Upstream, default_allow, parse_allow};

use ipnet::IpNet;
use policy::canonical;
use smol::Async;
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// What the name service was told (`--dns-listen`, `--dns-upstream`, `--dns-allow`,
/// `--public-host`): its own settings type, so that `config` builds it and the service does not
/// import the server's whole `Config` (`Config::dns`).
#[derive(Clone, Debug)]
pub struct Settings {
    /// UDP and TCP address; `None` leaves the service off.
    pub listen: Option<SocketAddr>,
    /// Where names that are not ours go.
    pub upstream: Upstream,
    /// Sources the service answers.
    pub allow: Vec<IpNet>,
    /// `--public-host`, given out instead of the interface address when it is an IPv4 address.
    pub public_host: Option<String>,
}

/// State shared by the UDP and TCP tasks.
struct Service {
    allow: Vec<IpNet>,
    /// Empty: names that are not ours are REFUSED.
    upstreams: Vec<SocketAddr>,
    /// `--public-host` when it is an IPv4 address.
    public_ipv4: Option<Ipv4Addr>,
    forwards: Slots,
    tcp_connections: Slots,
}

impl Service {
    /// The address to give a client whose query reached local address `local` (on interface
    /// `ifindex`, 0 if unknown).
    fn our_ipv4(&self, local: Option<IpAddr>, ifindex: u32) -> Option<Ipv4Addr> {
        if let Some(ip) = self.public_ipv4 {
            return Some(ip);
        }
        match local.map(canonical) {
            Some(IpAddr::V4(v4)) if !v4.is_unspecified() => Some(v4),
            // An IPv6 query: the IPv4 address of the interface it came in on.
            other => interface_ipv4(ifindex, other)
                .or_else(|| crate::net::lan::local_ipv4().first().copied()),
        }
    }
}

/// A counter with a cap; a taken slot is given back when dropped.
struct Slots {
    used: Arc<AtomicUsize>,
    cap: usize,
}

struct Slot(Arc<AtomicUsize>);

impl Slots {
    fn new(cap: usize) -> Slots {
        Slots {
            used: Arc::new(AtomicUsize::new(0)),
            cap,
        }
    }

    fn take(&self) -> Option<Slot> {
        self.used
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < self.cap).then_some(n + 1)
            })
            .ok()
            .map(|_| Slot(self.used.clone()))
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Starts serving on the sockets `bind_listeners` bound; returns their address.
pub fn start(
    listeners: Listeners,
    settings: &Settings,
    ex: &Arc<smol::Executor<'static>>,
) -> SocketAddr {
    let Listeners {
        udp,
        tcp,
        bound,
        upstreams,
    } = listeners;
    if upstreams.is_empty() {
        log::info!("dns: other names are refused (no upstream)");
    } else {
        let list: Vec<String> = upstreams.iter().map(|u| u.to_string()).collect();
        log::info!("dns: other names are forwarded to {}", list.join(", "));
    }
    let service = Arc::new(Service {
        allow: settings.allow.clone(),
        upstreams,
        public_ipv4: settings
            .public_host
            .as_deref()
            .and_then(|h| h.parse::<Ipv4Addr>().ok()),
        forwards: Slots::new(crate::limits::DNS_MAX_FORWARDS),
        tcp_connections: Slots::new(crate::limits::DNS_MAX_TCP_CONNECTIONS),
    });
    ex.spawn(udp::serve(service.clone(), Arc::new(udp), ex.clone()))
        .detach();
    ex.spawn(tcp::serve(service, tcp, ex.clone())).detach();
    bound
}

/// The name service's sockets and checked upstreams. The server binds them together with its
/// other listeners, before it opens the database, so that a bad `--dns-listen` or
/// `--dns-upstream` stops the start without leaving a new database behind.
pub struct Listeners {
    udp: Async<UdpSocket>,
    tcp: Async<TcpListener>,
    bound: SocketAddr,
    upstreams: Vec<SocketAddr>,
}

/// Binds `--dns-listen` (UDP and TCP) and checks the upstreams; `None` when the service is off.
pub fn bind_listeners(
    settings: &Settings,
) -> Result<Option<Listeners>, Box<dyn std::error::Error>> {
    let Some(listen) = settings.listen else {
        return Ok(None);
    };
    let (udp, tcp) = bind(listen)?;
    let bound = udp.get_ref().local_addr()?;
    let upstreams = upstreams(&settings.upstream, bound)?;
    Ok(Some(Listeners {
        udp,
        tcp,
        bound,
        upstreams,
    }))
}

fn bind(listen: SocketAddr) -> io::Result<(Async<UdpSocket>, Async<TcpListener>)> {
    let err = |e: io::Error| {
        let hint = if e.kind() == io::ErrorKind::PermissionDenied {
            " (port 53 needs CAP_NET_BIND_SERVICE: see docs/dns.md)"
        } else {
            ""
        };
        io::Error::new(
            e.kind(),
            format!("cannot listen for dns on {listen}: {e}{hint}"),
        )
    };
    // With port 0 the TCP socket must take the port the UDP socket got, which another program
    // may hold on TCP: try a few.
    let mut attempt = 0;
    loop {
        let udp = Async::<UdpSocket>::bind(listen).map_err(err)?;
        let bound = udp.get_ref().local_addr()?;
        udp::enable_pktinfo(udp.get_ref(), bound.is_ipv6()).map_err(err)?;
        match Async::<TcpListener>::bind(bound) {
            Ok(tcp) => return Ok((udp, tcp)),
            Err(e) if listen.port() == 0 && attempt < 8 => {
                log::debug!("dns: tcp port {} taken ({e}); trying another", bound.port());
                attempt += 1;
            }
            Err(e) => return Err(err(e)),
        }
    }
}

/// The upstream list for `setting`, without this very service (`bound`).
fn upstreams(setting: &Upstream, bound: SocketAddr) -> Result<Vec<SocketAddr>, String> {
    let local: Vec<IpAddr> = crate::net::lan::local_ipv4()
        .into_iter()
        .map(IpAddr::V4)
        .collect();
    match setting {
        Upstream::Refuse => Ok(Vec::new()),
        Upstream::Servers(list) => {
            if let Some(me) = list.iter().find(|u| policy::is_self(**u, bound, &local)) {
                return Err(format!(
                    "--dns-upstream {me} is this server's own dns address; queries would loop"
                ));
            }
            Ok(list.clone())
        }
        Upstream::System => {
            let text = std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
            let (me, others): (Vec<_>, Vec<_>) = policy::resolv_conf_servers(&text)
                .into_iter()
                .partition(|u| policy::is_self(*u, bound, &local));
            for m in me {
                log::warn!("dns: /etc/resolv.conf names {m}, which is this server; not used");
            }
            if others.is_empty() {
                log::warn!(
                    "dns: no usable nameserver in /etc/resolv.conf; set --dns-upstream \
                     (or `none`)"
                );
            }
            Ok(others)
        }
    }
}

/// The first IPv4 address of the interface with index `ifindex`, or else of the interface that
/// holds `local`.
fn interface_ipv4(ifindex: u32, local: Option<IpAddr>) -> Option<Ipv4Addr> {
    let entries = crate::net::lan::interface_addresses();
    let by_index = |name: &str| {
        std::ffi::CString::new(name)
            // SAFETY: if_nametoindex reads a NUL-terminated string.
            .map(|c| unsafe { libc::if_nametoindex(c.as_ptr()) })
            .unwrap_or(0)
    };
    let interface = entries
        .iter()
        .find(|(name, ip)| {
            (ifindex != 0 && by_index(name) == ifindex) || (ifindex == 0 && Some(*ip) == local)
        })?
        .0
        .clone();
    entries.iter().find_map(|(name, ip)| match ip {
        IpAddr::V4(v4) if *name == interface => Some(*v4),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_capped_and_given_back() {
        let slots = Slots::new(2);
        let a = slots.take().unwrap();
        let _b = slots.take().unwrap();
        assert!(slots.take().is_none());
        drop(a);
        assert!(slots.take().is_some());
    }

    #[test]
    fn loopback_interface_has_127_0_0_1() {
        let lo = std::ffi::CString::new("lo").unwrap();
        // SAFETY: a NUL-terminated name.
        let index = unsafe { libc::if_nametoindex(lo.as_ptr()) };
        if index != 0 {
            assert_eq!(interface_ipv4(index, None), Some(Ipv4Addr::LOCALHOST));
        }
        assert_eq!(
            interface_ipv4(0, Some(IpAddr::V4(Ipv4Addr::LOCALHOST))),
            Some(Ipv4Addr::LOCALHOST)
        );
    }

    #[test]
    fn public_host_ip_wins_over_the_interface_address() {
        let mut s = Service {
            allow: default_allow(),
            upstreams: Vec::new(),
            public_ipv4: Some(Ipv4Addr::new(192, 168, 7, 1)),
            forwards: Slots::new(1),
            tcp_connections: Slots::new(1),
        };
        let local = Some("10.0.0.5".parse().unwrap());
        assert_eq!(s.our_ipv4(local, 0), Some(Ipv4Addr::new(192, 168, 7, 1)));
        s.public_ipv4 = None;
        assert_eq!(s.our_ipv4(local, 0), Some(Ipv4Addr::new(10, 0, 0, 5)));
        let mapped = Some("::ffff:10.0.0.6".parse().unwrap());
        assert_eq!(s.our_ipv4(mapped, 0), Some(Ipv4Addr::new(10, 0, 0, 6)));
    }
}
