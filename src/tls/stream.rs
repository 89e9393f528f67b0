//! OpenSSL over smol: a TLS stream that implements futures-io's `AsyncRead`/`AsyncWrite`.
//!
//! The socket stays non-blocking (smol's `Async` made it so). OpenSSL reads and writes it
//! directly; when it would block, OpenSSL reports `WANT_READ`/`WANT_WRITE` and we wait for the
//! reactor to say the socket is ready, then retry the same call (the pattern of tokio-openssl).

use openssl::ssl::{ErrorCode, Ssl, SslContextRef, SslStream};
use smol::Async;
use smol::io::{AsyncRead, AsyncWrite};
use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

/// The TCP socket as OpenSSL sees it: plain non-blocking reads and writes.
pub struct Socket(Async<TcpStream>);

impl Read for Socket {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        (&mut self.0.get_ref()).read(buf)
    }
}

impl Write for Socket {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        (&mut self.0.get_ref()).write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A server-side TLS connection.
pub struct TlsStream {
    ssl: SslStream<Socket>,
}

/// Runs `op` until it completes, waiting on the socket whenever OpenSSL needs it.
fn drive<T>(
    ssl: &mut SslStream<Socket>,
    cx: &mut Context<'_>,
    mut op: impl FnMut(&mut SslStream<Socket>) -> Result<T, openssl::ssl::Error>,
) -> Poll<io::Result<T>> {
    loop {
        match op(ssl) {
            Ok(v) => return Poll::Ready(Ok(v)),
            Err(e) => match e.code() {
                ErrorCode::WANT_READ => ready!(ssl.get_ref().0.poll_readable(cx))?,
                ErrorCode::WANT_WRITE => ready!(ssl.get_ref().0.poll_writable(cx))?,
                _ => {
                    return Poll::Ready(Err(e
                        .into_io_error()
                        .unwrap_or_else(|e| io::Error::new(io::ErrorKind::InvalidData, e))));
                }
            },
        }
    }
}

impl TlsStream {
    /// Runs the server side of the handshake on `socket`.
    pub async fn accept(ctx: &SslContextRef, socket: Async<TcpStream>) -> io::Result<TlsStream> {
        let ssl = Ssl::new(ctx).map_err(io::Error::other)?;
        let mut ssl = SslStream::new(ssl, Socket(socket)).map_err(io::Error::other)?;
        std::future::poll_fn(|cx| drive(&mut ssl, cx, |s| s.accept())).await?;
        Ok(TlsStream { ssl })
    }

    /// Resolves when a read would make progress: decrypted bytes are pending, or the socket is
    /// readable. A long-lived idle connection waits here rather than in a read, because OpenSSL
    /// holds a record-sized read buffer (about 17 KiB) for as long as a read is in progress, and
    /// gives it back (`RELEASE_BUFFERS`) only once a record has been read.
    pub async fn readable(&self) -> io::Result<()> {
        if self.ssl.ssl().pending() > 0 {
            return Ok(());
        }
        self.ssl.get_ref().0.readable().await
    }

    /// The negotiated protocol version and cipher suite, for the log.
    pub fn describe(&self) -> String {
        let s = self.ssl.ssl();
        format!(
            "{} {}",
            s.version_str(),
            s.current_cipher().map_or("-", |c| c.name())
        )
    }
}

impl AsyncRead for TlsStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        drive(&mut this.ssl, cx, |s| match s.ssl_read(buf) {
            // close_notify from the peer is an ordinary end of stream.
            Err(e) if e.code() == ErrorCode::ZERO_RETURN => Ok(0),
            r => r,
        })
    }
}

impl AsyncWrite for TlsStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        drive(&mut this.ssl, cx, |s| s.ssl_write(buf))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        // OpenSSL hands every record to the socket before ssl_write returns.
        Poll::Ready(Ok(()))
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        // Best effort close_notify; the peer may already be gone.
        match drive(&mut this.ssl, cx, |s| s.shutdown()) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(_) => Poll::Ready(Ok(())),
        }
    }
}
