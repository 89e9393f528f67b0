//! The streaming phase of `relay`/`raw-relay`, and the raw relay server, as plain level-triggered
//! epoll loops on one thread: every socket is registered once, each wake-up costs one read, and
//! each pair's free window goes out in one write. (smol re-arms a one-shot registration and
//! makes an extra EAGAIN read per wait, which doubled the generator's syscalls.)

use crate::net::R;
use std::collections::HashMap;
use std::io::{ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::fd::{AsRawFd, RawFd};
use std::time::Duration;

pub struct Epoll {
    fd: RawFd,
    events: Vec<libc::epoll_event>,
}

impl Epoll {
    pub fn new() -> R<Epoll> {
        // SAFETY: plain syscall.
        let fd = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
        if fd < 0 {
            return Err(std::io::Error::last_os_error().into());
        }
        Ok(Epoll {
            fd,
            events: vec![libc::epoll_event { events: 0, u64: 0 }; 512],
        })
    }

    fn ctl(&self, op: i32, fd: RawFd, events: u32, token: u64) -> R<()> {
        let mut ev = libc::epoll_event { events, u64: token };
        // SAFETY: valid epoll fd and event struct.
        if unsafe { libc::epoll_ctl(self.fd, op, fd, &mut ev) } < 0 {
            return Err(std::io::Error::last_os_error().into());
        }
        Ok(())
    }
    pub fn add(&self, fd: RawFd, events: u32, token: u64) -> R<()> {
        self.ctl(libc::EPOLL_CTL_ADD, fd, events, token)
    }
    pub fn modify(&self, fd: RawFd, events: u32, token: u64) -> R<()> {
        self.ctl(libc::EPOLL_CTL_MOD, fd, events, token)
    }
    pub fn del(&self, fd: RawFd) {
        let _ = self.ctl(libc::EPOLL_CTL_DEL, fd, 0, 0);
    }

    /// Waits up to `timeout_ms` (-1: forever); returns (token, events) pairs.
    pub fn wait(&mut self, timeout_ms: i32) -> R<Vec<(u64, u32)>> {
        // SAFETY: the buffer holds `len` events.
        let n = unsafe {
            libc::epoll_wait(
                self.fd,
                self.events.as_mut_ptr(),
                self.events.len() as i32,
                timeout_ms,
            )
        };
        if n < 0 {
            let e = std::io::Error::last_os_error();
            if e.kind() == ErrorKind::Interrupted {
                return Ok(Vec::new());
            }
            return Err(e.into());
        }
        Ok(self.events[..n as usize]
            .iter()
            .map(|e| (e.u64, e.events))
            .collect())
    }
}

impl Drop for Epoll {
    fn drop(&mut self) {
        // SAFETY: we own the fd.
        unsafe { libc::close(self.fd) };
    }
}

/// A one-shot relative timer readable through epoll (sub-millisecond pacing).
pub struct Timer {
    pub fd: RawFd,
}

impl Timer {
    pub fn new() -> R<Timer> {
        // SAFETY: plain syscall.
        let fd = unsafe {
            libc::timerfd_create(
                libc::CLOCK_MONOTONIC,
                libc::TFD_NONBLOCK | libc::TFD_CLOEXEC,
            )
        };
        if fd < 0 {
            return Err(std::io::Error::last_os_error().into());
        }
        Ok(Timer { fd })
    }
    pub fn arm(&self, after: Duration) {
        let after = after.max(Duration::from_nanos(1));
        let spec = libc::itimerspec {
            it_interval: libc::timespec {
                tv_sec: 0,
                tv_nsec: 0,
            },
            it_value: libc::timespec {
                tv_sec: after.as_secs() as _,
                tv_nsec: after.subsec_nanos() as _,
            },
        };
        // SAFETY: valid fd and spec.
        unsafe { libc::timerfd_settime(self.fd, 0, &spec, std::ptr::null_mut()) };
    }
    pub fn drain(&self) {
        let mut b = [0u8; 8];
        // SAFETY: 8-byte buffer as timerfd requires.
        unsafe { libc::read(self.fd, b.as_mut_ptr().cast(), 8) };
    }
}

impl Drop for Timer {
    fn drop(&mut self) {
        // SAFETY: we own the fd.
        unsafe { libc::close(self.fd) };
    }
}

enum State {
    Hello(Vec<u8>),
    Paired(usize),
    /// Receives every broadcast (`WATCH`).
    Watcher,
    /// Its lines are broadcast to the watchers as `NLN <line> <handle> <handle>` (`FAN handle`).
    Fan {
        handle: Vec<u8>,
        line: Vec<u8>,
    },
}

struct RelayConn {
    s: TcpStream,
    state: State,
    /// Bytes from the peer not yet written to this connection.
    pending: Vec<u8>,
    pos: usize,
}

fn c_peer(conns: &[Option<RelayConn>], i: usize) -> State {
    match conns[i].as_ref().map(|c| &c.state) {
        Some(State::Paired(p)) => State::Paired(*p),
        _ => State::Hello(Vec::new()),
    }
}

/// Interest of connection `i`: readable unless its peer still has bytes from it to write;
/// writable while it has bytes from its peer pending.
fn update(ep: &Epoll, conns: &[Option<RelayConn>], i: usize) -> R<()> {
    let Some(c) = conns[i].as_ref() else {
        return Ok(());
    };
    let mut ev = 0u32;
    let peer_blocked = match c.state {
        State::Paired(p) => conns[p].as_ref().is_some_and(|pc| !pc.pending.is_empty()),
        _ => false,
    };
    if !peer_blocked {
        ev |= libc::EPOLLIN as u32;
    }
    if !c.pending.is_empty() {
        ev |= libc::EPOLLOUT as u32;
    }
    ep.modify(c.s.as_raw_fd(), ev, i as u64)
}

/// The minimal relay: `PAIR id` lines pair connections; then bytes flow both ways as they are.
/// A connection whose peer cannot take more is not read until the peer drains.
pub fn relay_server(listener: TcpListener) -> R<()> {
    listener.set_nonblocking(true)?;
    let mut ep = Epoll::new()?;
    const LISTENER: u64 = u64::MAX;
    ep.add(listener.as_raw_fd(), libc::EPOLLIN as u32, LISTENER)?;
    let mut conns: Vec<Option<RelayConn>> = Vec::new();
    let mut waiting: HashMap<Vec<u8>, usize> = HashMap::new();
    let mut watchers: Vec<usize> = Vec::new();
    let mut out = Vec::with_capacity(256);
    let mut cuts: Vec<usize> = Vec::new();
    let mut buf = vec![0u8; 256 * 1024];
    let rd = libc::EPOLLIN as u32;
    let wr = libc::EPOLLOUT as u32;
    loop {
        for (tok, ev) in ep.wait(-1)? {
            if tok == LISTENER {
                while let Ok((s, _)) = listener.accept() {
                    s.set_nonblocking(true)?;
                    s.set_nodelay(true)?;
                    let i = conns.len();
                    ep.add(s.as_raw_fd(), rd, i as u64)?;
                    conns.push(Some(RelayConn {
                        s,
                        state: State::Hello(Vec::new()),
                        pending: Vec::new(),
                        pos: 0,
                    }));
                }
                continue;
            }
            let i = tok as usize;
            let mut close = false;
            if ev & wr != 0 {
                // Drain what the peer sent us earlier; then read the peer again.
                let c = conns[i].as_mut().unwrap();
                match (&c.s).write(&c.pending[c.pos..]) {
                    Ok(n) => c.pos += n,
                    Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                    Err(_) => close = true,
                }
                if c.pos == c.pending.len() {
                    c.pending.clear();
                    c.pos = 0;
                    update(&ep, &conns, i)?;
                    if let State::Paired(p) = c_peer(&conns, i) {
                        update(&ep, &conns, p)?;
                    }
                }
            }
            if ev & (rd | libc::EPOLLHUP as u32 | libc::EPOLLERR as u32) != 0 && !close {
                let Some(c) = conns[i].as_mut() else { continue };
                match &mut c.state {
                    State::Hello(h) => {
                        let mut b = [0u8; 256];
                        match (&c.s).read(&mut b) {
                            Ok(0) | Err(_) => close = true,
                            Ok(n) => h.extend_from_slice(&b[..n]),
                        }
                        if let Some(nl) = h.iter().position(|&b| b == b'\n') {
                            let id = h[..nl].to_vec();
                            if id.starts_with(b"WATCH") {
                                c.state = State::Watcher;
                                watchers.push(i);
                                let _ = (&c.s).write(b"OK\r\n");
                                continue;
                            }
                            if let Some(handle) = id.strip_prefix(b"FAN ") {
                                let handle = handle.trim_ascii().to_vec();
                                c.state = State::Fan {
                                    handle,
                                    line: Vec::new(),
                                };
                                let _ = (&c.s).write(b"OK\r\n");
                                continue;
                            }
                            if let Some(j) = waiting.remove(&id) {
                                c.state = State::Paired(j);
                                let _ = (&c.s).write(b"OK\r\n");
                                if let Some(o) = conns[j].as_mut() {
                                    o.state = State::Paired(i);
                                    let _ = (&o.s).write(b"OK\r\n");
                                }
                            } else {
                                waiting.insert(id, i);
                            }
                        }
                    }
                    State::Watcher => match (&c.s).read(&mut buf) {
                        Ok(0) => close = true,
                        Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                        Err(_) => close = true,
                        Ok(_) => {}
                    },
                    State::Fan { handle, line } => {
                        match (&c.s).read(&mut buf) {
                            Ok(0) => close = true,
                            Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                            Err(_) => close = true,
                            Ok(n) => line.extend_from_slice(&buf[..n]),
                        }
                        while let Some(nl) = line.iter().position(|&b| b == b'\n') {
                            out.extend_from_slice(b"NLN ");
                            out.extend_from_slice(line[..nl].trim_ascii());
                            for _ in 0..2 {
                                out.push(b' ');
                                out.extend_from_slice(handle);
                            }
                            out.extend_from_slice(b"\r\n");
                            cuts.push(out.len());
                            line.drain(..=nl);
                        }
                    }
                    State::Paired(p) => {
                        let p = *p;
                        match (&c.s).read(&mut buf) {
                            Ok(0) => close = true,
                            Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                            Err(_) => close = true,
                            Ok(n) => match conns[p].as_mut() {
                                None => close = true,
                                Some(pc) => {
                                    let w = match (&pc.s).write(&buf[..n]) {
                                        Ok(w) => w,
                                        Err(e) if e.kind() == ErrorKind::WouldBlock => 0,
                                        Err(_) => n,
                                    };
                                    if w < n {
                                        // Stop reading this side until the peer drains.
                                        pc.pending.extend_from_slice(&buf[w..n]);
                                        update(&ep, &conns, p)?;
                                        update(&ep, &conns, i)?;
                                    }
                                }
                            },
                        }
                    }
                }
            }
            // One `write` per watcher per broadcast line, as a server's fan-out does.
            let mut from = 0;
            for &to in &cuts {
                for &w in &watchers {
                    if let Some(Some(wc)) = conns.get(w) {
                        let _ = (&wc.s).write(&out[from..to]);
                    }
                }
                from = to;
            }
            cuts.clear();
            out.clear();
            if close && let Some(c) = conns[i].take() {
                ep.del(c.s.as_raw_fd());
                if let State::Paired(p) = c.state
                    && let Some(pc) = conns[p].take()
                {
                    ep.del(pc.s.as_raw_fd());
                }
            }
        }
    }
}
