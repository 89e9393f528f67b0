//! The UDP side: one task reads every datagram, answers our names at once and hands other names
//! to a forwarding task each, bounded by `DNS_MAX_FORWARDS`. Nothing here waits on a client: a
//! reply that does not fit into the socket's send buffer is dropped (the client retries), so one
//! client cannot stall the others.
//!
//! The answer for our names is the address the query was sent to, so that a server with several
//! interfaces gives each LAN its own address. A socket bound to 0.0.0.0 learns that address from
//! the IP_PKTINFO / IPV6_PKTINFO control message of `recvmsg`, and replies with the same address
//! as its source (a reply from another address would be discarded by the client). A route lookup
//! through a connected socket was the alternative; it costs two system calls per query and names
//! the primary address of the outgoing interface, not the one the client asked.

use super::message::{self, Action, Context};
use super::{Service, forward, policy};
use crate::limits::{DNS_MAX_MESSAGE, DNS_RECV_ERROR_PAUSE};
use smol::Async;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
use std::os::fd::{AsRawFd, RawFd};
use std::sync::Arc;

/// One received datagram.
struct Datagram {
    len: usize,
    peer: SocketAddr,
    /// The local address it was sent to, when the kernel told us.
    local: Option<IpAddr>,
    ifindex: u32,
    /// Larger than the buffer: the kernel cut it.
    truncated: bool,
}

/// Asks the kernel to report each datagram's destination address.
pub fn enable_pktinfo(socket: &UdpSocket, ipv6: bool) -> io::Result<()> {
    let on: libc::c_int = 1;
    let (level, name) = if ipv6 {
        (libc::IPPROTO_IPV6, libc::IPV6_RECVPKTINFO)
    } else {
        (libc::IPPROTO_IP, libc::IP_PKTINFO)
    };
    // SAFETY: setsockopt reads `size_of::<c_int>()` bytes from a valid c_int.
    let rc = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            level,
            name,
            (&on as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

pub async fn serve(
    service: Arc<Service>,
    socket: Arc<Async<UdpSocket>>,
    ex: Arc<smol::Executor<'static>>,
) {
    let mut buf = vec![0u8; DNS_MAX_MESSAGE];
    loop {
        let got = match socket.read_with(|s| recv(s.as_raw_fd(), &mut buf)).await {
            Ok(d) => d,
            Err(e) => {
                log::debug!("dns: udp receive failed: {e}");
                smol::Timer::after(DNS_RECV_ERROR_PAUSE).await;
                continue;
            }
        };
        let peer = got.peer;
        if got.truncated {
            log::debug!("dns: {peer}: datagram larger than {DNS_MAX_MESSAGE} bytes dropped");
            continue;
        }
        let our_ipv4 = || service.our_ipv4(got.local, got.ifindex);
        let cx = Context {
            allowed: policy::allowed(&service.allow, peer.ip()),
            forwarding: !service.upstreams.is_empty(),
            our_ipv4: &our_ipv4,
        };
        match message::decide(&buf[..got.len], &cx) {
            Action::Reply(reply) => send(socket.get_ref(), &reply, peer, got.local),
            Action::Drop(why) => log::debug!("dns: {peer}: dropped: {why}"),
            Action::Forward(request) => {
                let Some(slot) = service.forwards.take() else {
                    log::debug!("dns: {peer}: too many queries in flight; SERVFAIL");
                    send(
                        socket.get_ref(),
                        &message::servfail(&request),
                        peer,
                        got.local,
                    );
                    continue;
                };
                let query = buf[..got.len].to_vec();
                let (service, socket, local) = (service.clone(), socket.clone(), got.local);
                ex.spawn(async move {
                    let reply = match forward::over_udp(&service.upstreams, &query, &request).await
                    {
                        Some(reply) => message::fit_udp(&request, reply),
                        None => message::servfail(&request),
                    };
                    drop(slot);
                    send(socket.get_ref(), &reply, peer, local);
                })
                .detach();
            }
        }
    }
}

/// Sends without waiting; a full send buffer loses the reply like the network could.
fn send(socket: &UdpSocket, bytes: &[u8], peer: SocketAddr, local: Option<IpAddr>) {
    if let Err(e) = send_from(socket.as_raw_fd(), bytes, peer, local) {
        log::debug!("dns: {peer}: reply not sent: {e}");
    }
}

/// A buffer for control messages, aligned for `cmsghdr`.
#[repr(C, align(8))]
struct Control([u8; 128]);

fn recv(fd: RawFd, buf: &mut [u8]) -> io::Result<Datagram> {
    // SAFETY: every pointer handed to recvmsg points into a live local or `buf` with the lengths
    // given; the control messages are read within `msg_controllen` via the CMSG_* macros, and
    // their payloads with read_unaligned.
    unsafe {
        let mut peer: libc::sockaddr_storage = std::mem::zeroed();
        let mut iov = libc::iovec {
            iov_base: buf.as_mut_ptr().cast(),
            iov_len: buf.len(),
        };
        let mut control = Control([0; 128]);
        let mut msg: libc::msghdr = std::mem::zeroed();
        msg.msg_name = (&mut peer as *mut libc::sockaddr_storage).cast();
        msg.msg_namelen = std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control.0.as_mut_ptr().cast();
        msg.msg_controllen = control.0.len() as _;
        let n = libc::recvmsg(fd, &mut msg, libc::MSG_DONTWAIT);
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        let mut local = None;
        let mut ifindex = 0;
        let mut cmsg = libc::CMSG_FIRSTHDR(&msg);
        while !cmsg.is_null() {
            let c = &*cmsg;
            if c.cmsg_level == libc::IPPROTO_IP && c.cmsg_type == libc::IP_PKTINFO {
                let info: libc::in_pktinfo =
                    std::ptr::read_unaligned(libc::CMSG_DATA(cmsg) as *const libc::in_pktinfo);
                local = Some(IpAddr::V4(Ipv4Addr::from(u32::from_be(
                    info.ipi_spec_dst.s_addr,
                ))));
                ifindex = info.ipi_ifindex as u32;
            } else if c.cmsg_level == libc::IPPROTO_IPV6 && c.cmsg_type == libc::IPV6_PKTINFO {
                let info: libc::in6_pktinfo =
                    std::ptr::read_unaligned(libc::CMSG_DATA(cmsg) as *const libc::in6_pktinfo);
                local = Some(IpAddr::V6(Ipv6Addr::from(info.ipi6_addr.s6_addr)));
                ifindex = info.ipi6_ifindex;
            }
            cmsg = libc::CMSG_NXTHDR(&msg, cmsg);
        }
        let peer =
            from_sockaddr(&peer).ok_or_else(|| io::Error::other("unknown address family"))?;
        Ok(Datagram {
            len: n as usize,
            peer,
            local,
            ifindex,
            truncated: msg.msg_flags & libc::MSG_TRUNC != 0,
        })
    }
}

fn from_sockaddr(sa: &libc::sockaddr_storage) -> Option<SocketAddr> {
    // SAFETY: the family field says which sockaddr type the storage holds.
    unsafe {
        match sa.ss_family as libc::c_int {
            libc::AF_INET => {
                let sin = &*(sa as *const libc::sockaddr_storage as *const libc::sockaddr_in);
                Some(SocketAddr::new(
                    IpAddr::V4(Ipv4Addr::from(u32::from_be(sin.sin_addr.s_addr))),
                    u16::from_be(sin.sin_port),
                ))
            }
            libc::AF_INET6 => {
                let sin6 = &*(sa as *const libc::sockaddr_storage as *const libc::sockaddr_in6);
                Some(SocketAddr::V6(std::net::SocketAddrV6::new(
                    Ipv6Addr::from(sin6.sin6_addr.s6_addr),
                    u16::from_be(sin6.sin6_port),
                    sin6.sin6_flowinfo,
                    sin6.sin6_scope_id,
                )))
            }
            _ => None,
        }
    }
}

/// `sendmsg` to `peer` with `local` as the source address where the families agree (a socket
/// bound to one address, or a v4-mapped peer on a dual-stack socket, leaves it to the kernel).
fn send_from(fd: RawFd, bytes: &[u8], peer: SocketAddr, local: Option<IpAddr>) -> io::Result<()> {
    // SAFETY: as in `recv`: all pointers refer to live locals or `bytes` with their true lengths,
    // and the one control message is written inside `control` via the CMSG_* macros.
    unsafe {
        let mut iov = libc::iovec {
            iov_base: bytes.as_ptr() as *mut libc::c_void,
            iov_len: bytes.len(),
        };
        let mut msg: libc::msghdr = std::mem::zeroed();
        let mut control = Control([0; 128]);
        let mut sin: libc::sockaddr_in = std::mem::zeroed();
        let mut sin6: libc::sockaddr_in6 = std::mem::zeroed();
        match peer {
            SocketAddr::V4(p) => {
                sin.sin_family = libc::AF_INET as libc::sa_family_t;
                sin.sin_port = p.port().to_be();
                sin.sin_addr.s_addr = u32::from(*p.ip()).to_be();
                msg.msg_name = (&mut sin as *mut libc::sockaddr_in).cast();
                msg.msg_namelen = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
            }
            SocketAddr::V6(p) => {
                sin6.sin6_family = libc::AF_INET6 as libc::sa_family_t;
                sin6.sin6_port = p.port().to_be();
                sin6.sin6_addr.s6_addr = p.ip().octets();
                sin6.sin6_flowinfo = p.flowinfo();
                sin6.sin6_scope_id = p.scope_id();
                msg.msg_name = (&mut sin6 as *mut libc::sockaddr_in6).cast();
                msg.msg_namelen = std::mem::size_of::<libc::sockaddr_in6>() as libc::socklen_t;
            }
        }
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        match (peer, local) {
            (SocketAddr::V4(_), Some(IpAddr::V4(src))) if !src.is_unspecified() => {
                msg.msg_control = control.0.as_mut_ptr().cast();
                msg.msg_controllen =
                    libc::CMSG_SPACE(std::mem::size_of::<libc::in_pktinfo>() as u32) as _;
                let cmsg = libc::CMSG_FIRSTHDR(&msg);
                (*cmsg).cmsg_level = libc::IPPROTO_IP;
                (*cmsg).cmsg_type = libc::IP_PKTINFO;
                (*cmsg).cmsg_len =
                    libc::CMSG_LEN(std::mem::size_of::<libc::in_pktinfo>() as u32) as _;
                let mut info: libc::in_pktinfo = std::mem::zeroed();
                info.ipi_spec_dst.s_addr = u32::from(src).to_be();
                std::ptr::write_unaligned(libc::CMSG_DATA(cmsg) as *mut libc::in_pktinfo, info);
            }
            (SocketAddr::V6(p), Some(IpAddr::V6(src)))
                if !src.is_unspecified()
                    && src.to_ipv4_mapped().is_none()
                    && p.ip().to_ipv4_mapped().is_none() =>
            {
                msg.msg_control = control.0.as_mut_ptr().cast();
                msg.msg_controllen =
                    libc::CMSG_SPACE(std::mem::size_of::<libc::in6_pktinfo>() as u32) as _;
                let cmsg = libc::CMSG_FIRSTHDR(&msg);
                (*cmsg).cmsg_level = libc::IPPROTO_IPV6;
                (*cmsg).cmsg_type = libc::IPV6_PKTINFO;
                (*cmsg).cmsg_len =
                    libc::CMSG_LEN(std::mem::size_of::<libc::in6_pktinfo>() as u32) as _;
                let mut info: libc::in6_pktinfo = std::mem::zeroed();
                info.ipi6_addr.s6_addr = src.octets();
                std::ptr::write_unaligned(libc::CMSG_DATA(cmsg) as *mut libc::in6_pktinfo, info);
            }
            _ => {}
        }
        if libc::sendmsg(fd, &msg, libc::MSG_DONTWAIT) < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }
}
