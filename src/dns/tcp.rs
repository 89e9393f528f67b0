//! The TCP side (RFC 7766): each message is preceded by its length in two bytes. Connections are
//! capped at `DNS_MAX_TCP_CONNECTIONS`, and one that stays silent (or stops reading our reply) for
//! `DNS_TCP_IDLE_TIMEOUT` is closed. Sources not on the allow list are closed at once, before
//! they can hold a slot. A message that cannot be parsed ends the connection: the stream can no
//! longer be trusted to be in step.

use super::forward::{self, within};
use super::message::{self, Action, Context};
use super::{Service, policy};
use crate::limits::{ACCEPT_ERROR_PAUSE, DNS_MAX_MESSAGE, DNS_TCP_IDLE_TIMEOUT};
use smol::Async;
use smol::io::{AsyncReadExt, AsyncWriteExt};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;

pub async fn serve(
    service: Arc<Service>,
    listener: Async<TcpListener>,
    ex: Arc<smol::Executor<'static>>,
) {
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(s) => s,
            Err(e) => {
                log::warn!("dns: accept failed: {e}");
                smol::Timer::after(ACCEPT_ERROR_PAUSE).await;
                continue;
            }
        };
        if !policy::allowed(&service.allow, peer.ip()) {
            log::debug!("dns: {peer}: not on the allow list; TCP connection closed");
            continue;
        }
        let Some(slot) = service.tcp_connections.take() else {
            log::debug!("dns: {peer}: too many TCP connections; closed");
            continue;
        };
        let service = service.clone();
        ex.spawn(async move {
            connection(&service, stream, peer).await;
            drop(slot);
        })
        .detach();
    }
}

async fn connection(service: &Service, mut stream: Async<TcpStream>, peer: SocketAddr) {
    let local = stream.get_ref().local_addr().ok().map(|a| a.ip());
    let mut buf = vec![0u8; DNS_MAX_MESSAGE];
    loop {
        let mut len = [0u8; 2];
        match within(DNS_TCP_IDLE_TIMEOUT, stream.read_exact(&mut len)).await {
            Some(Ok(())) => {}
            Some(Err(_)) => return,
            None => {
                log::debug!("dns: {peer}: TCP connection idle; closed");
                return;
            }
        }
        let len = u16::from_be_bytes(len) as usize;
        if len == 0 || len > DNS_MAX_MESSAGE {
            log::debug!("dns: {peer}: TCP message of {len} bytes refused; closed");
            return;
        }
        let packet = &mut buf[..len];
        match within(DNS_TCP_IDLE_TIMEOUT, stream.read_exact(packet)).await {
            Some(Ok(())) => {}
            _ => {
                log::debug!("dns: {peer}: TCP message incomplete; closed");
                return;
            }
        }
        let our_ipv4 = || service.our_ipv4(local, 0);
        let cx = Context {
            allowed: true, // checked when the connection was accepted
            forwarding: !service.upstreams.is_empty(),
            our_ipv4: &our_ipv4,
        };
        let reply = match message::decide(packet, &cx) {
            Action::Reply(reply) => reply,
            Action::Drop(why) => {
                log::debug!("dns: {peer}: dropped: {why}; closed");
                return;
            }
            Action::Forward(request) => match service.forwards.take() {
                Some(_slot) => forward::over_tcp(&service.upstreams, packet, &request)
                    .await
                    .unwrap_or_else(|| message::servfail(&request)),
                None => {
                    log::debug!("dns: {peer}: too many queries in flight; SERVFAIL");
                    message::servfail(&request)
                }
            },
        };
        let Ok(reply_len) = u16::try_from(reply.len()) else {
            return;
        };
        let mut framed = Vec::with_capacity(reply.len() + 2);
        framed.extend_from_slice(&reply_len.to_be_bytes());
        framed.extend_from_slice(&reply);
        match within(DNS_TCP_IDLE_TIMEOUT, stream.write_all(&framed)).await {
            Some(Ok(())) => {}
            _ => {
                log::debug!("dns: {peer}: reply not taken; closed");
                return;
            }
        }
    }
}
