//! Loopback connections this process opens to its own MSN listeners on a remote client's behalf
//! (the XMPP bridge, docs/xmpp.md "MSN users"), and whose client they serve.
//!
//! Without this, every bridge socket comes from 127.0.0.1 (or the listener's own address) and is
//! counted against that one address's cap (`--max-per-ip`, 256 by default: about 250 available
//! XMPP users per node) and login throttle. A bridge socket is bound to a port of the address it
//! dials (loopback, or the listener's own address when it listens on one) *before* it connects,
//! and that address and port are registered here with the XMPP client's address; the accept loop
//! (`Hub::accept_admitted`) looks each peer up while any bridge socket is registered, admits a
//! registered one against the cap on all connections only (the client's own XMPP socket already
//! counts against its address), and hands the role the client's address in place of its own, so
//! the login throttles see the client, whose SASL attempt they already counted once. Nobody else
//! can come from a registered address and port: it is one of this host's, bound by the bridge's
//! socket until the registration drops with it.
//!
//! Transport bookkeeping like `connections.rs`, not a role's state: written twice per bridge
//! socket (connect, close), read once per accepted socket while bridges exist (a server without
//! XMPP users only reads an atomic counter). One short lock guards it.

use smol::Async;
use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

/// Registered bridge sockets: their local (loopback) address -> the client they serve.
#[derive(Default)]
pub struct Bridged {
    table: Mutex<HashMap<SocketAddr, IpAddr>>,
    /// How many are registered: accepts skip the lock while there are none.
    registered: AtomicUsize,
}

/// A registered bridge socket; unregistered when dropped (with the socket).
pub struct Registration {
    table: Arc<Bridged>,
    local: SocketAddr,
}

impl Drop for Registration {
    fn drop(&mut self) {
        if self.table.lock().remove(&self.local).is_some() {
            self.table.registered.fetch_sub(1, Ordering::AcqRel);
        }
    }
}

impl Bridged {
    fn lock(&self) -> MutexGuard<'_, HashMap<SocketAddr, IpAddr>> {
        // Each critical section is one map operation: a poisoned lock still holds a valid map.
        self.table.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The client a peer is a bridge socket of, if it is one.
    pub fn client_of(&self, peer: SocketAddr) -> Option<IpAddr> {
        if self.registered.load(Ordering::Acquire) == 0 {
            return None;
        }
        self.lock().get(&peer).copied()
    }

    /// How many bridge sockets are registered (tests and status).
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether no bridge socket is registered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Connects to `dst` (one of this node's listeners, on loopback or on the address it
    /// listens on) as a bridge socket serving `client`: bound to a port of `dst`'s address
    /// first (so only a local address can be used), registered, then connected.
    pub async fn connect(
        self: &Arc<Self>,
        dst: SocketAddr,
        client: IpAddr,
    ) -> io::Result<(Async<TcpStream>, Registration)> {
        let stream = bound_socket(dst)?;
        let local = stream.local_addr()?;
        if self.lock().insert(local, client).is_none() {
            self.registered.fetch_add(1, Ordering::AcqRel);
        }
        let registration = Registration {
            table: self.clone(),
            local,
        };
        let (addr, len) = sockaddr(dst);
        // SAFETY: `addr` is a valid sockaddr of `len` bytes for the socket's family.
        let rc = unsafe { libc::connect(stream.as_raw_fd(), (&raw const addr).cast(), len) };
        if rc != 0 {
            let e = io::Error::last_os_error();
            if e.raw_os_error() != Some(libc::EINPROGRESS) {
                return Err(e);
            }
        }
        let stream = Async::new(stream)?;
        stream.writable().await?;
        if let Some(e) = stream.get_ref().take_error()? {
            return Err(e);
        }
        stream.get_ref().peer_addr()?;
        Ok((stream, registration))
    }
}

/// A non-blocking TCP socket of `dst`'s family, bound to `dst`'s address (one of this host's)
/// on a port the kernel picks.
fn bound_socket(dst: SocketAddr) -> io::Result<TcpStream> {
    let family = if dst.is_ipv4() {
        libc::AF_INET
    } else {
        libc::AF_INET6
    };
    // SAFETY: plain system call; the descriptor is owned at once.
    let fd = unsafe {
        libc::socket(
            family,
            libc::SOCK_STREAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
            0,
        )
    };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` is a new descriptor nobody else owns.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    let (addr, len) = sockaddr(SocketAddr::new(dst.ip(), 0));
    // SAFETY: `addr` is a valid sockaddr of `len` bytes for the socket's family.
    if unsafe { libc::bind(fd.as_raw_fd(), (&raw const addr).cast(), len) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(TcpStream::from(fd))
}

/// `a` as a C socket address and its length.
fn sockaddr(a: SocketAddr) -> (libc::sockaddr_storage, libc::socklen_t) {
    // SAFETY: all-zero is a valid sockaddr_storage.
    let mut s: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let len = match a {
        SocketAddr::V4(v4) => {
            // SAFETY: sockaddr_storage is large enough and aligned for sockaddr_in.
            let sin = unsafe { &mut *(&raw mut s).cast::<libc::sockaddr_in>() };
            sin.sin_family = libc::AF_INET as libc::sa_family_t;
            sin.sin_port = v4.port().to_be();
            sin.sin_addr = libc::in_addr {
                s_addr: u32::from_ne_bytes(v4.ip().octets()),
            };
            std::mem::size_of::<libc::sockaddr_in>()
        }
        SocketAddr::V6(v6) => {
            // SAFETY: sockaddr_storage is large enough and aligned for sockaddr_in6.
            let sin6 = unsafe { &mut *(&raw mut s).cast::<libc::sockaddr_in6>() };
            sin6.sin6_family = libc::AF_INET6 as libc::sa_family_t;
            sin6.sin6_port = v6.port().to_be();
            sin6.sin6_addr = libc::in6_addr {
                s6_addr: v6.ip().octets(),
            };
            sin6.sin6_scope_id = v6.scope_id();
            std::mem::size_of::<libc::sockaddr_in6>()
        }
    };
    (s, len as libc::socklen_t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_registered_socket_is_known_by_its_local_address_until_dropped() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let dst = listener.local_addr().unwrap();
        let table = Arc::new(Bridged::default());
        let client: IpAddr = "192.0.2.7".parse().unwrap();
        let (stream, reg) = smol::block_on(table.connect(dst, client)).unwrap();
        let (_, peer) = listener.accept().unwrap();
        assert_eq!(peer, stream.get_ref().local_addr().unwrap());
        assert_eq!(table.client_of(peer), Some(client));
        assert_eq!(table.client_of(dst), None);
        drop(reg);
        assert_eq!(table.client_of(peer), None);
        assert!(table.is_empty());
        // Only this host's addresses: the socket is bound to the destination's address first.
        let far: SocketAddr = "192.0.2.1:1863".parse().unwrap();
        assert!(smol::block_on(table.connect(far, client)).is_err());
    }
}
