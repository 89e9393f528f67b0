//! HTTPS: the TLS handshake (`tls`), then the same HTTP service as the plain listeners.

use super::Http;
use crate::tls::Acceptor;
use smol::Async;
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;

/// One HTTPS connection: the handshake (bounded in time), then the same HTTP service as port 80.
pub async fn serve(
    hub: Arc<Http>,
    acceptor: Arc<Acceptor>,
    stream: Async<TcpStream>,
    peer: SocketAddr,
) {
    let _ = stream.get_ref().set_nodelay(true);
    let local = stream
        .get_ref()
        .local_addr()
        .unwrap_or(SocketAddr::from(([0, 0, 0, 0], 0)));
    let handshake = smol::future::or(async { Some(acceptor.accept(stream).await) }, async {
        smol::Timer::after(crate::limits::TLS_HANDSHAKE_TIMEOUT).await;
        None
    })
    .await;
    let tls = match handshake {
        Some(Ok(tls)) => tls,
        Some(Err(e)) => {
            log::info!("https {peer}: handshake failed: {e}");
            return;
        }
        None => {
            log::info!("https {peer}: handshake timed out");
            return;
        }
    };
    log::debug!("https {peer}: {}", tls.describe());
    crate::http::serve_stream(hub, tls, peer, local, true).await;
}
