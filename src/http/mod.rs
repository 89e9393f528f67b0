//! The HTTP side (Passport/Tweener login for MSNP8+). Until it is built, every request gets 404.

use crate::server::hub::Hub;
use smol::Async;
use smol::io::AsyncWriteExt;
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;

pub async fn serve(_hub: Arc<Hub>, mut stream: Async<TcpStream>, peer: SocketAddr) {
    log::debug!("http {peer}: no endpoints yet");
    let _ = stream
        .write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        .await;
}
