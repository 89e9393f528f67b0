//! The addresses a client on the network should use, printed at start so that a LAN party host
//! knows what to type into the clients' hosts files.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

/// Non-loopback IPv4 addresses of this machine's interfaces.
pub fn local_ipv4() -> Vec<Ipv4Addr> {
    let mut out = Vec::new();
    for (_, ip) in interface_addresses() {
        if let IpAddr::V4(ip) = ip
            && !ip.is_loopback()
            && !out.contains(&ip)
        {
            out.push(ip);
        }
    }
    out
}

/// Every IPv4 and IPv6 address of this machine's interfaces, with the interface's name, in the
/// order the system lists them (empty when it cannot). The one walk of `getifaddrs`.
pub fn interface_addresses() -> Vec<(String, IpAddr)> {
    let mut entries = Vec::new();
    // SAFETY: getifaddrs fills a linked list we only read and then free with freeifaddrs; names
    // are NUL-terminated C strings owned by that list, copied before it is freed.
    unsafe {
        let mut head: *mut libc::ifaddrs = std::ptr::null_mut();
        if libc::getifaddrs(&mut head) != 0 {
            return entries;
        }
        let mut cur = head;
        while !cur.is_null() {
            let ifa = &*cur;
            if !ifa.ifa_addr.is_null() && !ifa.ifa_name.is_null() {
                let ip = match (*ifa.ifa_addr).sa_family as i32 {
                    libc::AF_INET => {
                        let sin = &*(ifa.ifa_addr as *const libc::sockaddr_in);
                        Some(IpAddr::V4(Ipv4Addr::from(u32::from_be(
                            sin.sin_addr.s_addr,
                        ))))
                    }
                    libc::AF_INET6 => {
                        let sin6 = &*(ifa.ifa_addr as *const libc::sockaddr_in6);
                        Some(IpAddr::V6(sin6.sin6_addr.s6_addr.into()))
                    }
                    _ => None,
                };
                if let Some(ip) = ip {
                    let name = std::ffi::CStr::from_ptr(ifa.ifa_name)
                        .to_string_lossy()
                        .into_owned();
                    entries.push((name, ip));
                }
            }
            cur = ifa.ifa_next;
        }
        libc::freeifaddrs(head);
    }
    entries
}

/// This machine's host name, if it has a readable one.
pub fn hostname() -> Option<String> {
    let mut buf = [0u8; 256];
    // SAFETY: gethostname writes at most `len` bytes into the buffer we own.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if rc != 0 {
        return None;
    }
    let len = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    String::from_utf8(buf[..len].to_vec()).ok()
}

/// The hosts clients should be pointed at for a listener bound to `bound`.
pub fn client_hosts(bound: SocketAddr, public_host: Option<&str>) -> Vec<String> {
    if let Some(h) = public_host {
        return vec![h.to_string()];
    }
    match bound.ip() {
        ip if ip.is_unspecified() => {
            let ips = local_ipv4();
            if ips.is_empty() {
                vec!["127.0.0.1".into()]
            } else {
                ips.iter().map(|i| i.to_string()).collect()
            }
        }
        // An IPv6 address is printed in brackets: it is followed by `:port`.
        IpAddr::V6(v6) => vec![format!("[{v6}]")],
        ip => vec![ip.to_string()],
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn specific_binds_are_reported_as_is() {
        let h = super::client_hosts("10.1.2.3:1863".parse().unwrap(), None);
        assert_eq!(h, ["10.1.2.3"]);
        let h = super::client_hosts("0.0.0.0:1863".parse().unwrap(), Some("chat.example.org"));
        assert_eq!(h, ["chat.example.org"]);
        assert!(super::local_ipv4().iter().all(|ip| !ip.is_loopback()));
    }
}
