//! Listener addresses that may be skipped: the default ports 80 and 443 need privilege that a
//! plain `msnpd serve` may not have, and that must not stop the server.

pub use crate::net::listen::{ListenAddr, parse_list, parse_optional};
use std::io::ErrorKind;

/// Whether a failed bind is skipped (with this warning) or stops the server (`None`). For HTTPS a
/// missing privilege is always only a warning: the rest of the server works without it.
pub(crate) fn skip_warning(
    what: &str,
    addr: ListenAddr,
    kind: ErrorKind,
    privilege_is_optional: bool,
) -> Option<String> {
    let port = addr.addr.port();
    match kind {
        ErrorKind::PermissionDenied if addr.optional || privilege_is_optional => Some(format!(
            "{what} is off on {}: port {port} needs privilege. To enable it run msnpd from its \
             systemd unit (it grants CAP_NET_BIND_SERVICE), or `sudo setcap \
             cap_net_bind_service=+ep $(command -v msnpd)`, or pick a port above 1023 \
             (e.g. --{}-listen 0.0.0.0:{}) and forward {port} to it",
            addr.addr,
            what.to_ascii_lowercase(),
            if port == 443 { 8443 } else { 8081 },
        )),
        ErrorKind::AddrInUse if addr.optional => Some(format!(
            "{what} is off on {}: another program (a web server or reverse proxy?) uses port \
             {port}; stop it, or set the listen addresses explicitly",
            addr.addr
        )),
        _ => None,
    }
}

/// File descriptors the server may need with `max_connections` (`--max-connections`): one per
/// NS/SB/HTTPS connection and gateway session (all counted against that cap), the gateway's own
/// end of each session's pipe, every HTTP socket, the name service's forwards and TCP
/// connections, and `FILES_BESIDES_CONNECTIONS` for listeners, the database and the log.
pub fn files_needed(max_connections: usize) -> usize {
    use crate::limits::{
        DNS_MAX_FORWARDS, DNS_MAX_TCP_CONNECTIONS, FILES_BESIDES_CONNECTIONS, MAX_GATEWAY_SESSIONS,
        MAX_HTTP_CONNECTIONS,
    };
    max_connections
        + MAX_GATEWAY_SESSIONS
        + MAX_HTTP_CONNECTIONS
        + DNS_MAX_FORWARDS
        + DNS_MAX_TCP_CONNECTIONS
        + FILES_BESIDES_CONNECTIONS
}

/// Raises the soft open-file limit towards `needed` (as far as the hard limit allows) and warns
/// when it stays below: past it `accept` fails with EMFILE, which refuses everyone, long before
/// the connection caps that are meant to refuse only the excess.
pub fn raise_open_files(needed: usize) {
    let want = libc::rlim_t::try_from(needed).unwrap_or(libc::rlim_t::MAX);
    let mut l = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit read and write the struct we pass, nothing else.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut l) != 0 {
            return;
        }
        if l.rlim_cur < want && l.rlim_max > l.rlim_cur {
            let mut raised = l;
            raised.rlim_cur = want.min(l.rlim_max);
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                l = raised;
            }
        }
    }
    if l.rlim_cur < want {
        log::warn!(
            "the open-file limit is {}, below the {needed} descriptors the connection caps may \
             need: raise it (LimitNOFILE in the systemd unit, ulimit -n) or lower \
             --max-connections",
            l.rlim_cur
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parsing() {
        let l = parse_list("0.0.0.0:8080, 127.0.0.1:80").unwrap();
        assert_eq!(l.len(), 2);
        assert!(l.iter().all(|a| !a.optional));
        assert_eq!(l[1].addr, "127.0.0.1:80".parse().unwrap());
        assert!(parse_list("0.0.0.0").is_err());
        assert!(parse_list(" , ").is_err());
        assert!(parse_list("0.0.0.0:8080,bogus").is_err());
        assert_eq!(parse_optional("none").unwrap(), None);
        assert_eq!(parse_optional("NONE").unwrap(), None);
        assert_eq!(
            parse_optional("[::1]:8443").unwrap(),
            Some(ListenAddr::required("[::1]:8443".parse().unwrap()))
        );
        assert!(parse_optional("443").is_err());
    }

    #[test]
    fn bind_errors_are_classified() {
        let default443 = ListenAddr::optional("0.0.0.0:443".parse().unwrap());
        let given443 = ListenAddr::required("0.0.0.0:443".parse().unwrap());
        let given80 = ListenAddr::required("0.0.0.0:80".parse().unwrap());
        let default80 = ListenAddr::optional("0.0.0.0:80".parse().unwrap());
        // No privilege: HTTPS always carries on, with the fixes spelled out.
        for a in [default443, given443] {
            let w = skip_warning("HTTPS", a, ErrorKind::PermissionDenied, true).unwrap();
            assert!(w.contains("setcap cap_net_bind_service=+ep"), "{w}");
            assert!(
                w.contains("systemd unit") && w.contains("--https-listen"),
                "{w}"
            );
        }
        // HTTP: only the default port 80 is skipped; a given address must bind.
        assert!(skip_warning("HTTP", default80, ErrorKind::PermissionDenied, false).is_some());
        assert!(skip_warning("HTTP", given80, ErrorKind::PermissionDenied, false).is_none());
        // Port taken: a default is skipped, a given address is an error.
        assert!(skip_warning("HTTPS", default443, ErrorKind::AddrInUse, true).is_some());
        assert!(skip_warning("HTTPS", given443, ErrorKind::AddrInUse, true).is_none());
        assert!(skip_warning("HTTP", given80, ErrorKind::AddrInUse, false).is_none());
        // Anything else (no such address on this machine...) stops the server.
        for a in [default443, given443, default80] {
            assert!(skip_warning("HTTPS", a, ErrorKind::AddrNotAvailable, true).is_none());
        }
    }
}
