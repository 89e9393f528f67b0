//! The bounded outbound queue of one connection.
//!
//! Anyone may push whole frames (a command line and its payload) into a connection's outbox; the
//! connection's own task writes them to the socket. One exception, for presence notices and
//! a switchboard message with nothing behind it (`push_through`): while nothing is queued and the owner is not in the middle of a write, the
//! pusher writes the frame to the socket itself, under the outbox's lock, so a status change seen
//! by 200 watchers costs 200 sends but not also 200 task wake-ups. Order is kept (it only happens
//! when nothing is ahead), and whatever the socket does not take is queued for the owner. The queue is a chain of at most
//! `OUTBOX_CHUNKS` pooled chunks of `OUTBOX_CHUNK` bytes (plus the one being written), taken from
//! the pool only while there is something to send: an idle connection holds none, a client that
//! stops reading pins at most that much. The chain gives a healthy reader room to absorb a burst
//! while its task waits for a CPU. When a push from another session does not fit, the outbox is
//! marked overflowed and its owner disconnects the slow client; the pusher is never blocked.
//!
//! A switchboard sender that fills a recipient past the high-water mark stops reading its own
//! socket until the recipient drains to the low-water mark (`poll_room`): a flood then moves
//! at the pace of the slowest reader that is still reading, so a fast sender cannot push a slow
//! but healthy reader over the edge. A reader that stops altogether is cut by its own task after
//! the write-stall timeout, which releases the sender.
//!
//! The push into a recipient's outbox may be made by someone other than the sender (the
//! switchboard actor relays on the sender's behalf), so the congested outbox is recorded on the
//! sender's own outbox (`hold_sender`) and its connection picks it up after its next command
//! (`take_hold`). The same happens when the sender's own outbox is past the high-water mark with
//! replies (ACKs) it does not read: it stops reading until it has written them.

use super::pool::{self, Chunk};
use crate::limits::OUTBOX_CHUNKS;
use event_listener::Event;
use std::future::Future;
use std::os::fd::RawFd;
use std::sync::Mutex;
use std::task::{Context, Poll, Waker};

/// Why a frame was not queued. Neither case blocks the pusher: the caller decides (a session
/// flushes its own replies and retries; a relay gives up on that recipient).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PushError {
    /// The frame does not fit in what is left of the queue.
    Full,
    /// The connection is closing or closed.
    Closed,
}

/// Where an outbox is in its life, read by its connection's task to know when to end the session
/// that another task has cut off.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutboxState {
    /// Accepting frames.
    Open,
    /// Someone else's frame did not fit: the reader is too slow. Close now.
    Overflowed,
    /// Asked to close (replaced by a newer login, server shutdown): flush, then close.
    Closing,
}

/// One connection's queue of outgoing frames, shared (`Arc`) between the connection's task, which
/// alone writes the socket, and every task that sends to that client; see the module doc.
pub struct Outbox {
    inner: Mutex<Inner>,
    /// Senders held back by this outbox wait here; notified at the low-water mark and on close.
    room: Event,
}

struct Inner {
    /// Oldest first; frames are appended to the last chunk.
    pending: heapless::Deque<Chunk, OUTBOX_CHUNKS>,
    waker: Option<Waker>,
    state: OutboxState,
    /// A recipient this connection's last message filled past its high-water mark.
    hold: Option<std::sync::Arc<Outbox>>,
    /// The connection's socket while it is open (`attach`/`detach`), for writing through;
    /// `NO_SINK` otherwise. A bare descriptor rather than an `Option`: it fits in what was
    /// padding, and an idle session's memory is counted in bytes.
    sink: RawFd,
    /// The owner holds a chunk it took and has not finished writing.
    owner_writing: bool,
}

impl Default for Outbox {
    fn default() -> Self {
        Self::new()
    }
}

impl Outbox {
    /// An open, empty outbox holding no chunk (chunks come from the pool on the first push).
    pub fn new() -> Outbox {
        Outbox {
            inner: Mutex::new(Inner {
                pending: heapless::Deque::new(),
                waker: None,
                state: OutboxState::Open,
                hold: None,
                sink: NO_SINK,
                owner_writing: false,
            }),
            room: Event::new(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queues one frame made of `parts` from another session. Never waits.
    pub fn push(&self, parts: &[&[u8]]) -> Result<(), PushError> {
        self.push_inner(parts, true, false).map(|_| ())
    }

    /// Queues a relayed frame from another session; `Ok(true)` means the queue is past its
    /// high-water mark and the sender should hold back (see `poll_room`).
    pub fn push_relay(&self, parts: &[&[u8]]) -> Result<bool, PushError> {
        self.push_inner(parts, true, false)
    }

    /// As `push_relay`, but when nothing is queued or being written the frame goes straight to
    /// the socket (`attach`) instead of waking the owner's task to write it. For presence
    /// notices: one line per watcher, where the wake-up of 200 tasks costs more than the send.
    /// The switchboard relay uses it only for the last message of a burst (nothing behind it
    /// in the switchboard's mailbox): under load its throughput comes from the owner writing
    /// many queued messages in one `write`.
    pub fn push_through(&self, parts: &[&[u8]]) -> Result<bool, PushError> {
        self.push_inner(parts, true, true)
    }

    /// Queues one frame from the owning connection; `Full` leaves the state alone so the owner can
    /// flush and retry.
    pub fn push_own(&self, parts: &[&[u8]]) -> Result<(), PushError> {
        self.push_inner(parts, false, false).map(|_| ())
    }

    /// Returns whether the queue is now at or past the high-water mark.
    fn push_inner(
        &self,
        parts: &[&[u8]],
        overflow_closes: bool,
        through: bool,
    ) -> Result<bool, PushError> {
        let total: usize = parts.iter().map(|p| p.len()).sum();
        let mut inner = self.lock();
        if inner.state != OutboxState::Open {
            return Err(PushError::Closed);
        }
        let mut parts = parts;
        let mut rest = [&[][..]; MAX_PARTS];
        if through
            && parts.len() <= MAX_PARTS
            && total <= crate::limits::OUTBOX_CHUNK
            && inner.pending.is_empty()
            && !inner.owner_writing
            && inner.sink != NO_SINK
        {
            let fd = inner.sink;
            // Nothing queued and nothing being written: the frame can go straight to the
            // socket from here, in order, without waking the owner's task to do it. The lock keeps the owner out meanwhile, and `detach` takes it before the
            // socket closes, so `fd` is the connection's own.
            let sent = write_through(fd, parts);
            if sent == total {
                return Ok(false);
            }
            // The socket took part of it (or none): the owner writes the rest when it can.
            let n = skip(parts, sent, &mut rest);
            parts = &rest[..n];
        }
        let total: usize = parts.iter().map(|p| p.len()).sum();
        let fits = |c: &Chunk| c.capacity() - c.len() >= total;
        if !inner.pending.back().is_some_and(fits) {
            if inner.pending.is_full() || total > crate::limits::OUTBOX_CHUNK {
                if overflow_closes {
                    inner.state = OutboxState::Overflowed;
                    if let Some(w) = inner.waker.take() {
                        w.wake();
                    }
                    drop(inner);
                    self.room.notify(usize::MAX);
                }
                return Err(PushError::Full);
            }
            let _ = inner.pending.push_back(pool::chunk());
        }
        let was_empty =
            inner.pending.len() == 1 && inner.pending.back().is_some_and(|c| c.is_empty());
        let chunk = inner.pending.back_mut().expect("ensured above");
        for p in parts {
            // Capacity was checked above for the whole frame.
            let _ = chunk.extend_from_slice(p);
        }
        if was_empty && let Some(w) = inner.waker.take() {
            w.wake();
        }
        Ok(inner.pending.len() >= crate::limits::OUTBOX_HIGH_WATER)
    }

    /// Takes the oldest queued chunk, for the owner to write. Until it takes again and finds
    /// nothing, frames from others are queued behind that chunk instead of written through.
    pub fn take(&self) -> Option<Chunk> {
        let mut inner = self.lock();
        let taken = match inner.pending.pop_front() {
            Some(c) if c.is_empty() => {
                pool::give_chunk(c);
                None
            }
            other => other,
        };
        inner.owner_writing = taken.is_some();
        if inner.pending.len() == crate::limits::OUTBOX_LOW_WATER {
            drop(inner);
            // Cheap when nobody listens: one atomic load.
            self.room.notify(usize::MAX);
        }
        taken
    }

    /// Whether a held-back sender may go on: the queue drained to the low-water mark, or the
    /// connection is closing (its data no longer matters to the sender).
    pub fn has_room(&self) -> bool {
        let inner = self.lock();
        inner.state != OutboxState::Open || inner.pending.len() <= crate::limits::OUTBOX_LOW_WATER
    }

    /// Ready when `has_room`. `listener` is the caller's slot for the registration between
    /// polls (empty at first): checking again after registering closes the race with a drain.
    /// The owner's task drains the queue or cuts the client off after the write-stall timeout,
    /// so this becomes ready.
    pub fn poll_room(
        &self,
        listener: &mut Option<event_listener::EventListener>,
        cx: &mut Context<'_>,
    ) -> Poll<()> {
        loop {
            if self.has_room() {
                *listener = None;
                return Poll::Ready(());
            }
            match listener.as_mut() {
                None => *listener = Some(self.room.listen()),
                Some(l) => match std::pin::Pin::new(l).poll(cx) {
                    Poll::Ready(()) => *listener = None,
                    Poll::Pending => return Poll::Pending,
                },
            }
        }
    }

    /// Open, closing or overflowed: the owner's task ends its session on anything but `Open`.
    pub fn state(&self) -> OutboxState {
        self.lock().state
    }

    /// Records that a frame relayed for this outbox's connection filled `recipient` past its
    /// high-water mark (a refcount increment: no allocation). The first one counts until taken.
    pub fn hold_sender(&self, recipient: &std::sync::Arc<Outbox>) {
        let mut inner = self.lock();
        if inner.hold.is_none() && inner.state == OutboxState::Open {
            inner.hold = Some(recipient.clone());
        }
    }

    /// The outbox this connection must wait on before it reads again: a recipient recorded by
    /// `hold_sender`, or its own when replies queued for it are past the high-water mark.
    pub fn take_hold(self: &std::sync::Arc<Self>) -> Option<std::sync::Arc<Outbox>> {
        let mut inner = self.lock();
        if let Some(o) = inner.hold.take() {
            return Some(o);
        }
        (inner.pending.len() >= crate::limits::OUTBOX_HIGH_WATER).then(|| self.clone())
    }

    /// Asks the owner to flush what is queued and close. Later pushes fail.
    pub fn close(&self) {
        let mut inner = self.lock();
        if inner.state == OutboxState::Open {
            inner.state = OutboxState::Closing;
        }
        if let Some(w) = inner.waker.take() {
            w.wake();
        }
        drop(inner);
        self.room.notify(usize::MAX);
    }

    /// Ready when there is something to write or the state is no longer `Open`.
    pub fn poll_ready(&self, cx: &mut Context<'_>) -> Poll<()> {
        let mut inner = self.lock();
        let has_data = inner.pending.front().is_some_and(|c| !c.is_empty());
        if has_data || inner.state != OutboxState::Open {
            return Poll::Ready(());
        }
        match &inner.waker {
            Some(w) if w.will_wake(cx.waker()) => {}
            _ => inner.waker = Some(cx.waker().clone()),
        }
        Poll::Pending
    }

    /// Ready when the state is no longer `Open` (overflowed or asked to close): the owner must
    /// notice even while it waits for its socket to accept data.
    pub fn poll_not_open(&self, cx: &mut Context<'_>) -> Poll<()> {
        let mut inner = self.lock();
        if inner.state != OutboxState::Open {
            return Poll::Ready(());
        }
        match &inner.waker {
            Some(w) if w.will_wake(cx.waker()) => {}
            _ => inner.waker = Some(cx.waker().clone()),
        }
        Poll::Pending
    }

    /// Whether frames may be written through to a socket now, for tests.
    #[cfg(test)]
    pub(crate) fn is_attached(&self) -> bool {
        self.lock().sink != NO_SINK
    }

    /// Bytes queued (not written through), for tests.
    #[cfg(test)]
    fn take_queued_len(&self) -> usize {
        self.lock().pending.iter().map(|c| c.len()).sum()
    }

    /// Lets frames from others be written straight to `fd`, the owner's socket, while nothing is
    /// queued or being written. The owner must `detach` before it closes the socket.
    pub fn attach(&self, fd: RawFd) {
        self.lock().sink = fd;
    }

    /// Ends writing through: once this returns nobody writes to the socket but its owner, and
    /// the owner may close it.
    pub fn detach(&self) {
        self.lock().sink = NO_SINK;
    }

    /// Frees the pending chunk (the connection is gone).
    pub fn discard(&self) {
        let mut inner = self.lock();
        inner.state = OutboxState::Closing;
        inner.waker = None;
        // Two held senders could otherwise keep each other's outbox alive.
        inner.hold = None;
        while let Some(c) = inner.pending.pop_front() {
            pool::give_chunk(c);
        }
        drop(inner);
        self.room.notify(usize::MAX);
    }
}

/// `Inner::sink` when there is no socket to write through to.
const NO_SINK: RawFd = -1;

/// The most parts one frame is pushed in (a command line, its payload, and room to spare).
const MAX_PARTS: usize = 4;

/// One non-blocking `sendmsg` of `parts` (at most `MAX_PARTS`) to `fd`; how many bytes the
/// socket took (0 when it would block or failed: the caller queues what is left, and the owner's
/// own write meets any error and ends the session).
fn write_through(fd: RawFd, parts: &[&[u8]]) -> usize {
    const FLAGS: libc::c_int = libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL;
    if let [one] = parts {
        // The common case (a presence line); `send` spares the kernel the message header.
        loop {
            // SAFETY: `one` is a live slice; `fd` is the owner's open socket (the caller holds
            // the lock that `detach` takes).
            let n = unsafe { libc::send(fd, one.as_ptr().cast(), one.len(), FLAGS) };
            if n >= 0 {
                return n as usize;
            }
            if std::io::Error::last_os_error().kind() != std::io::ErrorKind::Interrupted {
                return 0;
            }
        }
    }
    let mut iov = [libc::iovec {
        iov_base: std::ptr::null_mut(),
        iov_len: 0,
    }; MAX_PARTS];
    for (v, p) in iov.iter_mut().zip(parts) {
        v.iov_base = p.as_ptr() as *mut libc::c_void;
        v.iov_len = p.len();
    }
    // SAFETY: a zeroed msghdr is a valid "no address, no control data" header.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = iov.as_mut_ptr();
    msg.msg_iovlen = parts.len() as _;
    loop {
        // SAFETY: `msg` points at `parts.len()` iovecs over live slices; sendmsg only reads them.
        // `fd` is the owner's open socket: the caller holds the lock that `detach` takes.
        let n = unsafe { libc::sendmsg(fd, &msg, FLAGS) };
        if n >= 0 {
            return n as usize;
        }
        if std::io::Error::last_os_error().kind() != std::io::ErrorKind::Interrupted {
            return 0;
        }
    }
}

/// `parts` (at most `MAX_PARTS`) without their first `n` bytes, into `out`; returns how many of
/// `out` are used.
fn skip<'a>(parts: &[&'a [u8]], mut n: usize, out: &mut [&'a [u8]; MAX_PARTS]) -> usize {
    let mut used = 0;
    for p in parts {
        if n >= p.len() {
            n -= p.len();
            continue;
        }
        out[used] = &p[n..];
        n = 0;
        used += 1;
    }
    used
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::limits::{OUTBOX_CHUNK, OUTBOX_CHUNKS};

    #[test]
    fn overflow_from_others_marks_the_outbox() {
        let o = Outbox::new();
        let big = vec![b'x'; OUTBOX_CHUNK - 10];
        for _ in 0..OUTBOX_CHUNKS {
            o.push(&[&big]).unwrap();
        }
        assert_eq!(o.push_own(&[b"0123456789ab"]), Err(PushError::Full));
        assert_eq!(o.state(), OutboxState::Open);
        assert_eq!(o.push(&[b"0123456789ab"]), Err(PushError::Full));
        assert_eq!(o.state(), OutboxState::Overflowed);
        assert_eq!(o.take().unwrap().len(), OUTBOX_CHUNK - 10);
    }

    async fn room(o: &Outbox) {
        let mut listener = None;
        std::future::poll_fn(|cx| o.poll_room(&mut listener, cx)).await
    }

    #[test]
    fn relaying_senders_are_held_between_high_and_low_water() {
        let o = std::sync::Arc::new(Outbox::new());
        let big = vec![b'x'; OUTBOX_CHUNK - 10];
        for i in 1..=crate::limits::OUTBOX_HIGH_WATER {
            assert_eq!(
                o.push_relay(&[&big]),
                Ok(i == crate::limits::OUTBOX_HIGH_WATER)
            );
        }
        assert!(!o.has_room());
        let waiter = {
            let o = o.clone();
            std::thread::spawn(move || smol::block_on(room(&o)))
        };
        while o.take().is_some_and(|_| !o.has_room()) {}
        assert!(o.has_room());
        waiter.join().unwrap();
        // A closed connection releases its senders too.
        for _ in 0..crate::limits::OUTBOX_HIGH_WATER {
            let _ = o.push_relay(&[&big]);
        }
        assert!(!o.has_room());
        o.close();
        assert!(o.has_room());
        smol::block_on(room(&o));
    }

    #[test]
    fn frames_stay_whole() {
        let o = Outbox::new();
        o.push(&[b"MSG a b 2\r\n", b"hi"]).unwrap();
        o.push_own(&[b"ACK 1\r\n"]).unwrap();
        assert_eq!(&o.take().unwrap()[..], b"MSG a b 2\r\nhiACK 1\r\n");
        assert!(o.take().is_none());
        o.close();
        assert_eq!(o.push(&[b"x"]), Err(PushError::Closed));
    }

    /// A connected loopback pair: (our end, as the connection's socket; the client's end).
    fn pair() -> (std::net::TcpStream, std::net::TcpStream) {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let ours = std::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
        let (theirs, _) = l.accept().unwrap();
        ours.set_nonblocking(true).unwrap();
        (ours, theirs)
    }

    fn read_exactly(s: &mut std::net::TcpStream, n: usize) -> Vec<u8> {
        use std::io::Read;
        let mut v = vec![0; n];
        s.read_exact(&mut v).unwrap();
        v
    }

    #[test]
    fn an_idle_connection_gets_frames_written_through() {
        use std::os::fd::AsRawFd;
        let (ours, mut theirs) = pair();
        let o = Outbox::new();
        o.attach(ours.as_raw_fd());
        o.push_through(&[b"NLN BSY a@b.c a\r\n"]).unwrap();
        o.push_through(&[b"UBX a@b.c 2\r\n", b"hi"]).unwrap();
        assert!(o.take().is_none(), "nothing was queued");
        let want = b"NLN BSY a@b.c a\r\nUBX a@b.c 2\r\nhi";
        assert_eq!(read_exactly(&mut theirs, want.len()), want);
        // While the owner holds a chunk it has not finished, others queue behind it.
        o.push_own(&[b"ACK 1\r\n"]).unwrap();
        let mine = o.take().unwrap();
        o.push_through(&[b"FLN a@b.c\r\n"]).unwrap();
        use std::io::Write;
        (&ours).write_all(&mine).unwrap();
        let queued = o.take().unwrap();
        assert_eq!(&queued[..], b"FLN a@b.c\r\n");
        (&ours).write_all(&queued).unwrap();
        assert!(o.take().is_none());
        // Through again once the owner found nothing more; never after detach.
        o.push_through(&[b"X\r\n"]).unwrap();
        let want = b"ACK 1\r\nFLN a@b.c\r\nX\r\n";
        assert_eq!(read_exactly(&mut theirs, want.len()), want);
        // Relayed messages queue for the owner to write many in one go.
        o.push_relay(&[b"MSG a a 2\r\n", b"hi"]).unwrap();
        assert_eq!(&o.take().unwrap()[..], b"MSG a a 2\r\nhi");
        assert!(o.take().is_none());
        o.detach();
        o.push_through(&[b"Y\r\n"]).unwrap();
        assert_eq!(&o.take().unwrap()[..], b"Y\r\n");
    }

    #[test]
    fn a_full_socket_leaves_the_rest_queued_in_order() {
        use std::io::{Read, Write};
        use std::os::fd::AsRawFd;
        let (ours, mut theirs) = pair();
        let o = Outbox::new();
        o.attach(ours.as_raw_fd());
        // Numbered frames until the socket stops taking them and part of one is queued.
        let mut sent = Vec::new();
        let mut i = 0u32;
        while o.take_queued_len() == 0 {
            let head = format!("MSG a a 1000 {i}\r\n");
            let body = [b'0' + (i % 10) as u8; 1000];
            o.push_through(&[head.as_bytes(), &body]).unwrap();
            sent.extend_from_slice(head.as_bytes());
            sent.extend_from_slice(&body);
            i += 1;
        }
        // A few more go behind the queued rest, never ahead of it.
        for j in 0..3 {
            let f = format!("NLN {j}\r\n");
            o.push_through(&[f.as_bytes()]).unwrap();
            sent.extend_from_slice(f.as_bytes());
        }
        // The owner drains; the client must see every byte once, in push order.
        let reader = std::thread::spawn(move || {
            let mut got = vec![0; sent.len()];
            theirs.read_exact(&mut got).unwrap();
            assert!(got == sent, "bytes out of order or lost");
        });
        ours.set_nonblocking(false).unwrap();
        while let Some(c) = o.take() {
            (&ours).write_all(&c).unwrap();
        }
        reader.join().unwrap();
    }
}
