//! One client socket: borrowed read buffer, outbound queue, deadlines.
//!
//! The connection's task is the only writer of its socket. It sleeps until the socket is readable,
//! its outbox has data (or the socket becomes writable again), or its deadline passes.

use super::outbox::{Outbox, OutboxState, PushError};
use super::pool::{self, Chunk, ReadBuf};
use crate::limits::WRITE_STALL_TIMEOUT;
use crate::protocol::Role;
use smol::{Async, Timer};
use std::future::Future;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::fd::AsRawFd;
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;
use std::time::Instant;

/// Why the task woke up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wake {
    /// The socket has bytes (or EOF) to read.
    Readable,
    /// Outbox has data or changed state, or a blocked write may continue.
    Output,
    /// The session's earliest timer passed (idle, login or stall timeout): the session decides.
    Deadline,
}

/// Result of a non-blocking read.
pub enum ReadResult {
    /// Some bytes arrived (or nothing yet; the buffer may still be empty).
    Data,
    /// The peer closed the connection.
    Eof,
}

/// How a client reached us. This is the one place where a session through the HTTP gateway
/// differs from a direct one: which host we name in redirects (`XFR`, `RNG`). The other
/// difference, `ClientPort: 0` in the profile, follows from the peer port being 0 (see
/// `Connection::via_gateway`). An enum rather than an extra field: with `SocketAddr`'s spare
/// discriminant values it takes no more room than the address alone, so no session grows.
#[derive(Clone, Debug)]
pub enum Reached {
    /// Directly over TCP, at this local address.
    Direct(SocketAddr),
    /// Through `gateway.dll`, at this host (the request's `Host`, validated, without port).
    Gateway(Arc<str>),
}

impl Reached {
    /// The host to name when sending this client to another of our listeners.
    pub fn host(&self, public_host: Option<&str>) -> String {
        match self {
            // The gateway host first: a gateway client can only reach us through it.
            Reached::Gateway(h) => h.to_string(),
            Reached::Direct(local) => match public_host {
                Some(h) => h.to_string(),
                // IPv6 literals are bracketed so that `host:port` stays parseable.
                None => match local.ip() {
                    std::net::IpAddr::V6(v6) => format!("[{v6}]"),
                    ip => ip.to_string(),
                },
            },
        }
    }
}

/// A client's socket with its read buffer, write progress and timer: what a session task owns.
/// Other tasks queue into its outbox; they write the socket only through the outbox's
/// write-through for presence notices (`Outbox::push_through`), never once it is detached.
pub struct Connection {
    stream: Async<TcpStream>,
    /// The client's address: logs, admission and throttling key on it (port 0 via the gateway).
    pub peer: SocketAddr,
    /// Which of our addresses the client used, for the host named in redirects.
    pub local: Reached,
    /// The queue other tasks (actors, relays) write into for this client; shared, hence `Arc`.
    pub outbox: Arc<Outbox>,
    /// The chunk currently being written and how much of it went out.
    writing: Option<(Chunk, usize)>,
    /// The read buffer, present only while a command is incomplete.
    read: Option<ReadBuf>,
    timer: Timer,
    timer_at: Option<Instant>,
    /// When the socket started refusing our data, if it is refusing now.
    stalled_since: Option<Instant>,
}

impl Drop for Connection {
    fn drop(&mut self) {
        // Before the socket closes (fields drop after this): its descriptor number could be
        // reused by another client's socket, which a write-through must never reach.
        self.outbox.detach();
    }
}

impl Connection {
    /// Wraps an accepted socket, with Nagle off (replies are small lines and latency counts) and
    /// no read buffer until there is something to read.
    pub fn new(stream: Async<TcpStream>) -> io::Result<Connection> {
        let peer = stream.get_ref().peer_addr()?;
        let local = stream.get_ref().local_addr()?;
        // Latency matters more than segment count: every reply is a small line.
        stream.get_ref().set_nodelay(true)?;
        let outbox = Arc::new(Outbox::new());
        outbox.attach(stream.as_raw_fd());
        Ok(Connection {
            stream,
            peer,
            local: Reached::Direct(local),
            outbox,
            writing: None,
            read: None,
            timer: Timer::never(),
            timer_at: None,
            stalled_since: None,
        })
    }

    /// Marks a connection whose other end is the HTTP gateway (`http::gateway`): the peer is the
    /// real client's address (throttling and admission count it) with port 0, which is what the
    /// profile's `ClientPort` shows for a gateway client, and redirects name the gateway host.
    pub fn via_gateway(mut self, client: std::net::IpAddr, host: Arc<str>) -> Connection {
        self.peer = SocketAddr::new(client, 0);
        self.local = Reached::Gateway(host);
        self
    }

    /// Waits for the next reason to act. `deadline` is the earliest timer of the session.
    /// While `hold` is set, the socket is not read: the wait ends when `hold` has room instead.
    pub async fn wait(&mut self, deadline: Instant, hold: Option<&Outbox>) -> Wake {
        // Deadlines mostly move later (every command pushes the idle deadline). Re-arming the
        // reactor's timer on every command would cost a timer-queue operation per message, so
        // only an earlier deadline re-arms; a timer that fires early is simply re-armed.
        if self.timer_at.is_none_or(|t| deadline < t) {
            self.timer.set_at(deadline);
            self.timer_at = Some(deadline);
        }
        // One hand-written poll over the sources instead of nested futures: this wait is where
        // every idle session sleeps, so its state is part of every idle session's memory. The
        // socket's readiness is kept by async-io in the socket's own registration.
        let stream = &self.stream;
        let outbox = &self.outbox;
        let timer = &mut self.timer;
        let blocked = self.writing.is_some();
        let mut room: Option<event_listener::EventListener> = None;
        let wake = std::future::poll_fn(|cx| {
            let output = if blocked {
                // Waiting for the peer to take data, but a slow peer may be cut off meanwhile.
                stream.poll_writable(cx).is_ready() || outbox.poll_not_open(cx).is_ready()
            } else {
                outbox.poll_ready(cx).is_ready()
            };
            if output {
                return Poll::Ready(Wake::Output);
            }
            match hold {
                None => {
                    if stream.poll_readable(cx).is_ready() {
                        return Poll::Ready(Wake::Readable);
                    }
                }
                Some(o) => {
                    if o.poll_room(&mut room, cx).is_ready() {
                        return Poll::Ready(Wake::Output);
                    }
                }
            }
            if Pin::new(&mut *timer).poll(cx).is_ready() {
                return Poll::Ready(Wake::Deadline);
            }
            Poll::Pending
        })
        .await;
        if wake == Wake::Deadline {
            self.timer_at = None;
        }
        wake
    }

    /// Borrows the read buffer (from the pool if the connection holds none).
    pub fn take_read_buf(&mut self, role: Role) -> ReadBuf {
        self.read.take().unwrap_or_else(|| ReadBuf::take(role))
    }

    /// Hands the read buffer back; an empty one goes to the pool so idle sessions hold none.
    pub fn put_read_buf(&mut self, buf: ReadBuf) {
        if buf.len == 0 {
            buf.give();
        } else {
            self.read = Some(buf);
        }
    }

    /// Reads what is available without blocking.
    pub fn read_into(&mut self, buf: &mut ReadBuf) -> io::Result<ReadResult> {
        if buf.is_full() {
            return Ok(ReadResult::Data);
        }
        match self.stream.get_ref().read(&mut buf.data[buf.len..]) {
            Ok(0) => Ok(ReadResult::Eof),
            Ok(n) => {
                buf.len += n;
                Ok(ReadResult::Data)
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(ReadResult::Data),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => Ok(ReadResult::Data),
            Err(e) => Err(e),
        }
    }

    /// Writes queued output until the socket would block. `Ok(true)` when everything went out.
    pub fn write_some(&mut self) -> io::Result<bool> {
        loop {
            if self.writing.is_none() {
                match self.outbox.take() {
                    Some(c) => self.writing = Some((c, 0)),
                    None => {
                        self.stalled_since = None;
                        return Ok(true);
                    }
                }
            }
            let (chunk, pos) = self.writing.as_mut().expect("set above");
            match self.stream.get_ref().write(&chunk[*pos..]) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => {
                    *pos += n;
                    self.stalled_since = None;
                    if *pos == chunk.len() {
                        let (c, _) = self.writing.take().expect("set above");
                        pool::give_chunk(c);
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    self.stalled_since.get_or_insert_with(Instant::now);
                    return Ok(false);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// Since when the peer has not accepted our data, if it is not accepting it now.
    pub fn stalled_since(&self) -> Option<Instant> {
        self.stalled_since
    }

    /// Writes everything queued, waiting for the socket as needed (bounded by
    /// `WRITE_STALL_TIMEOUT`).
    pub async fn flush(&mut self) -> io::Result<()> {
        loop {
            if self.write_some()? {
                return Ok(());
            }
            let stall = smol::future::or(
                async {
                    let _ = self.stream.writable().await;
                    false
                },
                async {
                    Timer::after(WRITE_STALL_TIMEOUT).await;
                    true
                },
            );
            if stall.await {
                return Err(io::ErrorKind::TimedOut.into());
            }
        }
    }

    /// Queues a reply of our own, flushing first if the queue is full.
    pub async fn send(&mut self, parts: &[&[u8]]) -> io::Result<()> {
        match self.outbox.push_own(parts) {
            Ok(()) => Ok(()),
            Err(PushError::Full) => {
                self.flush().await?;
                self.outbox
                    .push_own(parts)
                    .map_err(|_| io::ErrorKind::OutOfMemory.into())
            }
            Err(PushError::Closed) => Err(io::ErrorKind::BrokenPipe.into()),
        }
    }

    /// Convenience for a single formatted line.
    pub async fn send_line(&mut self, line: &str) -> io::Result<()> {
        self.send(&[line.as_bytes()]).await
    }

    /// Whether the outbox is open, closed by a kick, or overflowed: the drive loop checks it to
    /// end a session that another task has cut off.
    pub fn outbox_state(&self) -> OutboxState {
        self.outbox.state()
    }

    /// Writes what can still go out (a closing line) and releases all buffers.
    pub async fn finish(&mut self) {
        let _ = smol::future::or(
            async {
                let _ = self.flush().await;
            },
            async {
                Timer::after(std::time::Duration::from_millis(500)).await;
            },
        )
        .await;
        self.outbox.detach();
        self.outbox.discard();
        if let Some((c, _)) = self.writing.take() {
            pool::give_chunk(c);
        }
        if let Some(b) = self.read.take() {
            b.give();
        }
        let _ = self.stream.get_ref().shutdown(std::net::Shutdown::Both);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dropped_connection_is_never_written_through() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let client = TcpStream::connect(l.local_addr().unwrap()).unwrap();
        let (accepted, _) = l.accept().unwrap();
        let conn = Connection::new(Async::new(accepted).unwrap()).unwrap();
        let outbox = conn.outbox.clone();
        // Attached: a notice goes straight out, nothing is queued.
        outbox.push_through(&[b"NLN BSY a@b.c a\r\n"]).unwrap();
        assert!(outbox.take().is_none());
        let mut got = [0u8; 17];
        (&client).read_exact(&mut got).unwrap();
        assert_eq!(&got, b"NLN BSY a@b.c a\r\n");
        // Gone: detached before its socket closed (its descriptor number may be anyone's next),
        // so later notices are only queued.
        assert!(outbox.is_attached());
        drop(conn);
        assert!(!outbox.is_attached());
        outbox.push_through(&[b"FLN a@b.c\r\n"]).unwrap();
        assert_eq!(&outbox.take().unwrap()[..], b"FLN a@b.c\r\n");
    }
}
