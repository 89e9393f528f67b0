//! Forwarding names that are not ours to the upstream resolvers, one at a time in their order,
//! within `DNS_FORWARD_TIMEOUT` in all and `DNS_UPSTREAM_TIMEOUT` each. Every forward uses a new
//! socket on a random port and a random ID, and only a reply from that upstream with that ID and
//! the same question is relayed, so a forged datagram has to guess 32 bits.

use super::message::{self, Request};
use crate::limits::{
    DNS_FORWARD_TIMEOUT, DNS_MAX_MESSAGE, DNS_MAX_TCP_REPLY, DNS_UPSTREAM_TIMEOUT,
};
use smol::Async;
use smol::io::{AsyncReadExt, AsyncWriteExt};
use std::future::Future;
use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream, UdpSocket};
use std::time::{Duration, Instant};

/// Runs `f` for at most `d`.
pub async fn within<T>(d: Duration, f: impl Future<Output = T>) -> Option<T> {
    smol::future::or(async { Some(f.await) }, async {
        smol::Timer::after(d).await;
        None
    })
    .await
}

fn random_id() -> u16 {
    let mut b = [0u8; 2];
    getrandom::fill(&mut b).expect("the operating system's random source failed");
    u16::from_be_bytes(b)
}

/// Over UDP (for UDP clients): the reply with the client's ID, or None.
pub async fn over_udp(
    upstreams: &[SocketAddr],
    query: &[u8],
    request: &Request,
) -> Option<Vec<u8>> {
    forward(upstreams, query, request, false).await
}

/// Over TCP (for TCP clients, who may expect replies too large for a datagram).
pub async fn over_tcp(
    upstreams: &[SocketAddr],
    query: &[u8],
    request: &Request,
) -> Option<Vec<u8>> {
    forward(upstreams, query, request, true).await
}

async fn forward(
    upstreams: &[SocketAddr],
    query: &[u8],
    request: &Request,
    tcp: bool,
) -> Option<Vec<u8>> {
    let deadline = Instant::now() + DNS_FORWARD_TIMEOUT;
    let name = request.name();
    for &upstream in upstreams {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        let id = random_id();
        let mut q = query.to_vec();
        message::set_id(&mut q, id);
        let ask = async {
            if tcp {
                ask_tcp(upstream, &q, id, request).await
            } else {
                ask_udp(upstream, &q, id, request).await
            }
        };
        match within(left.min(DNS_UPSTREAM_TIMEOUT), ask).await {
            Some(Ok(mut reply)) => {
                message::set_id(&mut reply, request.id());
                return Some(reply);
            }
            Some(Err(e)) => log::debug!("dns: upstream {upstream} for {name:?}: {e}"),
            None => log::debug!("dns: upstream {upstream} for {name:?}: no reply in time"),
        }
    }
    log::debug!("dns: no upstream answered {name:?}");
    None
}

async fn ask_udp(
    upstream: SocketAddr,
    q: &[u8],
    id: u16,
    request: &Request,
) -> io::Result<Vec<u8>> {
    let any: SocketAddr = if upstream.is_ipv4() {
        (Ipv4Addr::UNSPECIFIED, 0).into()
    } else {
        (Ipv6Addr::UNSPECIFIED, 0).into()
    };
    let socket = Async::<UdpSocket>::bind(any)?;
    // Connected: the kernel discards datagrams from anyone but the upstream.
    socket.get_ref().connect(upstream)?;
    socket.send(q).await?;
    let mut buf = vec![0u8; DNS_MAX_MESSAGE];
    loop {
        let n = socket.recv(&mut buf).await?;
        if n < buf.len() && message::is_reply_to(&buf[..n], id, request) {
            buf.truncate(n);
            return Ok(buf);
        }
        log::debug!("dns: upstream {upstream}: unrelated or oversized datagram ignored");
    }
}

async fn ask_tcp(
    upstream: SocketAddr,
    q: &[u8],
    id: u16,
    request: &Request,
) -> io::Result<Vec<u8>> {
    let mut stream = Async::<TcpStream>::connect(upstream).await?;
    let mut framed = Vec::with_capacity(q.len() + 2);
    framed.extend_from_slice(&(q.len() as u16).to_be_bytes());
    framed.extend_from_slice(q);
    stream.write_all(&framed).await?;
    let mut len = [0u8; 2];
    stream.read_exact(&mut len).await?;
    let len = u16::from_be_bytes(len) as usize;
    if len > DNS_MAX_TCP_REPLY {
        return Err(io::Error::other(format!(
            "reply of {len} bytes is too large"
        )));
    }
    let mut reply = vec![0u8; len];
    stream.read_exact(&mut reply).await?;
    if message::is_reply_to(&reply, id, request) {
        Ok(reply)
    } else {
        Err(io::Error::other("reply does not match the query"))
    }
}
