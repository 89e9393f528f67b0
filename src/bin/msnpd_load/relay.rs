//! `relay` (switchboard MSG streaming) and `raw-relay` (the same bytes through a minimal TCP
//! relay, `engine::relay_server`). Setup (logins, XFR/CAL/RNG/ANS) runs on smol; the streaming
//! itself is a plain epoll loop (`run`).
//!
//! Each pair streams one way, A to B. The sender keeps `window` messages in flight (not yet seen
//! by B for ack N/U; not yet ACKed for ack A) and writes every free slot in one syscall. Payloads
//! carry the send time and a sequence number; the receiver computes the latency, checks order and
//! checks every other byte against the template (a relay that corrupts a byte is caught).
//!
//! Counters, per pair and summed: `lost` = sent - received; `order_errors` = messages that arrived
//! after a message with a higher sequence number (a swapped pair counts once; a gap left by a lost
//! message does not count); `corrupt` = payloads whose fixed bytes differ from what was sent.
//! When paced (`--rate`), the latency is measured from each message's scheduled send time, not
//! from when the generator got round to writing it, so a stalled server cannot hide its backlog
//! (no coordinated omission).

use crate::engine::{Epoll, Timer};
use crate::msnp::Target;
use crate::net::{Conn, R, io_timeout, now_ns};
use crate::scenarios::{Ex, concurrent, online};
use crate::stats::{Report, Samples, ThreadCpu, cpu_secs};
use msnpd::protocol::command::switchboard::{Ack, Msg};
use smol::Async;
use std::cell::RefCell;
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::fd::AsRawFd;
use std::rc::Rc;
use std::time::{Duration, Instant};

const MIME: &[u8] = b"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\n";
/// Offsets in the payload: 16 hex digits of send time (ns), 16 of sequence number.
const TS_AT: usize = MIME.len();
const SEQ_AT: usize = TS_AT + 16;
pub const MIN_SIZE: usize = SEQ_AT + 16;

#[derive(Clone)]
pub struct RelayArgs {
    pub pairs: usize,
    pub window: u64,
    pub size: usize,
    pub ack: u8,
    pub count: Option<u64>,
    pub duration: Option<f64>,
    /// Total paced rate (messages/s over all pairs); none = as fast as the window allows.
    pub rate: Option<f64>,
    pub first: usize,
    pub concurrency: usize,
    /// Process whose CPU use to report (the server, or the raw relay).
    pub server_pid: Option<u32>,
    /// Poll without sleeping while streaming.
    pub spin: bool,
}

fn put_hex(dst: &mut [u8], mut v: u64) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for b in dst.iter_mut().rev() {
        *b = HEX[(v & 15) as usize];
        v >>= 4;
    }
}

fn get_hex(src: &[u8]) -> Option<u64> {
    let mut v = 0u64;
    for &b in src {
        let d = match b {
            b'0'..=b'9' => b - b'0',
            b'a'..=b'f' => b - b'a' + 10,
            _ => return None,
        };
        v = (v << 4) | d as u64;
    }
    Some(v)
}

fn template(size: usize) -> Vec<u8> {
    let mut p = MIME.to_vec();
    p.resize(size, b'x');
    p
}

/// One pair's state in the streaming loop.
struct Pair {
    a: Rc<Async<TcpStream>>,
    b: Rc<Async<TcpStream>>,
    sent: u64,
    recv: u64,
    acked: u64,
    naks: u64,
    trid: u32,
    /// Bytes for A not written yet (a partial write), from `out_pos`.
    out: Vec<u8>,
    out_pos: usize,
    /// B's read buffer.
    rbuf: Vec<u8>,
    rs: usize,
    re: usize,
    /// One past the highest sequence number received.
    next_seq: u64,
    /// A's read buffer (ACK/NAK lines).
    abuf: Vec<u8>,
    akeep: usize,
}

#[derive(Default)]
struct Totals {
    lat: Samples,
    recv: u64,
    last_recv: Option<Instant>,
    order_errors: u64,
    bad_frames: u64,
    corrupt: u64,
}

/// The payload's fixed bytes (MIME header and filler) are those of `template`.
fn intact(payload: &[u8], tpl: &[u8]) -> bool {
    payload.len() == tpl.len()
        && payload[..TS_AT] == tpl[..TS_AT]
        && payload[MIN_SIZE..] == tpl[MIN_SIZE..]
}

impl Pair {
    fn done(&self, ack: u8) -> u64 {
        if ack == b'A' {
            self.acked + self.naks
        } else {
            self.recv
        }
    }

    /// Reads what B has and counts every complete MSG. Returns false on EOF or error.
    fn read_b(&mut self, tot: &mut Totals, tpl: &[u8]) -> bool {
        if self.rs == self.re {
            self.rs = 0;
            self.re = 0;
        } else if self.re == self.rbuf.len() {
            if self.rs > 0 {
                self.rbuf.copy_within(self.rs..self.re, 0);
                self.re -= self.rs;
                self.rs = 0;
            } else {
                let l = self.rbuf.len() * 2;
                self.rbuf.resize(l, 0);
            }
        }
        match self.b.get_ref().read(&mut self.rbuf[self.re..]) {
            Ok(0) => return false,
            Ok(n) => self.re += n,
            Err(e) if e.kind() == ErrorKind::WouldBlock => return true,
            Err(_) => return false,
        }
        let now = now_ns();
        let mut n = 0u64;
        let (buf, end) = (&self.rbuf, self.re);
        let mut start = self.rs;
        while let Some(nl) = buf[start..end].iter().position(|&b| b == b'\n') {
            let line = &buf[start..start + nl];
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            if !line.starts_with(b"MSG ") {
                // JOI, BYE, ...: not ours to count.
                start += nl + 1;
                continue;
            }
            let len = line
                .rsplit(|&b| b == b' ')
                .next()
                .and_then(|s| std::str::from_utf8(s).ok())
                .and_then(|s| s.parse::<usize>().ok());
            let Some(len) = len else {
                tot.bad_frames += 1;
                start += nl + 1;
                continue;
            };
            let p = start + nl + 1;
            if p + len > end {
                break;
            }
            let payload = &buf[p..p + len];
            if !intact(payload, tpl) {
                tot.corrupt += 1;
            }
            match (
                payload.get(TS_AT..TS_AT + 16).and_then(get_hex),
                payload.get(SEQ_AT..SEQ_AT + 16).and_then(get_hex),
            ) {
                (Some(ts), Some(seq)) => {
                    tot.lat.push(now.saturating_sub(ts));
                    if seq < self.next_seq {
                        tot.order_errors += 1;
                    } else {
                        self.next_seq = seq + 1;
                    }
                    n += 1;
                }
                _ => tot.bad_frames += 1,
            }
            start = p + len;
        }
        self.rs = start;
        if n > 0 {
            self.recv += n;
            tot.recv += n;
            tot.last_recv = Some(Instant::now());
        }
        true
    }

    /// Reads ACK/NAK lines on A. Returns false on EOF or error.
    fn read_a(&mut self) -> bool {
        let n = match self.a.get_ref().read(&mut self.abuf[self.akeep..]) {
            Ok(0) => return false,
            Ok(n) => n,
            Err(e) if e.kind() == ErrorKind::WouldBlock => return true,
            Err(_) => return false,
        };
        let end = self.akeep + n;
        let mut s = 0;
        while let Some(nl) = self.abuf[s..end].iter().position(|&b| b == b'\n') {
            let line = &self.abuf[s..s + nl];
            if line.starts_with(b"ACK ") {
                self.acked += 1;
            } else if line.starts_with(b"NAK ") {
                self.naks += 1;
            }
            s += nl + 1;
        }
        self.abuf.copy_within(s..end, 0);
        self.akeep = end - s;
        true
    }

    /// Writes pending bytes to A; true when nothing is left.
    fn flush(&mut self) -> R<bool> {
        while self.out_pos < self.out.len() {
            match self.a.get_ref().write(&self.out[self.out_pos..]) {
                Ok(n) => self.out_pos += n,
                Err(e) if e.kind() == ErrorKind::WouldBlock => return Ok(false),
                Err(e) => return Err(e.into()),
            }
        }
        self.out.clear();
        self.out_pos = 0;
        Ok(true)
    }
}

/// The connections of one pair: A's (sending) and B's (receiving), with B's unread bytes.
struct Wired {
    a: Rc<Async<TcpStream>>,
    b: Rc<Async<TcpStream>>,
    b_buffered: Vec<u8>,
}

/// Streams on every pair until the count or duration is reached and everything sent has
/// arrived (and been ACKed with ack A), then prints the RESULT line.
fn run(wired: Vec<Wired>, a: RelayArgs, scenario: &str, extra: &[(&str, String)]) -> R<()> {
    let mut ep = Epoll::new()?;
    let timer = Timer::new()?;
    const TIMER: u64 = u64::MAX;
    let rd = libc::EPOLLIN as u32;
    let wr = libc::EPOLLOUT as u32;
    ep.add(timer.fd, rd, TIMER)?;
    let mut pairs: Vec<Pair> = Vec::new();
    for (i, w) in wired.into_iter().enumerate() {
        let mut rbuf = w.b_buffered;
        let re = rbuf.len();
        rbuf.resize(re.max(128 * 1024), 0);
        ep.add(w.a.as_raw_fd(), rd, 2 * i as u64)?;
        ep.add(w.b.as_raw_fd(), rd, 2 * i as u64 + 1)?;
        pairs.push(Pair {
            a: w.a,
            b: w.b,
            sent: 0,
            recv: 0,
            acked: 0,
            naks: 0,
            trid: 1000,
            out: Vec::with_capacity(a.window as usize * (a.size + 32)),
            out_pos: 0,
            rbuf,
            rs: 0,
            re,
            next_seq: 0,
            abuf: vec![0; 16 * 1024],
            akeep: 0,
        });
    }
    let tpl = template(a.size);
    let ack = std::str::from_utf8(&[a.ack])
        .ok()
        .and_then(Ack::parse)
        .ok_or("--ack must be N, A or U")?;
    let count = a.count.unwrap_or(u64::MAX);
    let per_pair_rate = a.rate.map(|r| r / a.pairs.max(1) as f64);
    let mut tot = Totals::default();
    let cpu0 = (cpu_secs(None), a.server_pid.and_then(|p| cpu_secs(Some(p))));
    let threads0 = a.server_pid.and_then(ThreadCpu::read);
    let start = Instant::now();
    let start_ns = now_ns();
    let deadline = a.duration.map(|d| start + Duration::from_secs_f64(d));
    let mut stopped_at: Option<Instant> = None;
    let mut timer_armed = false;
    let mut errors: Vec<String> = Vec::new();
    let mut idle = Duration::ZERO;
    loop {
        // Send phase: every pair with free window (and due, when paced) writes it in one go.
        let now = Instant::now();
        let stop = deadline.is_some_and(|d| now >= d);
        let mut next_due: Option<Instant> = None;
        for (i, p) in pairs.iter_mut().enumerate() {
            if p.out_pos < p.out.len() {
                continue;
            }
            if stop || p.sent >= count {
                continue;
            }
            let inflight = p.sent - p.done(a.ack);
            if inflight >= a.window {
                continue;
            }
            let mut n = (a.window - inflight).min(count - p.sent);
            if let Some(r) = per_pair_rate {
                let due = ((now - start).as_secs_f64() * r) as u64 + 1;
                if due <= p.sent {
                    let at = start + Duration::from_secs_f64(p.sent as f64 / r);
                    next_due = Some(next_due.map_or(at, |d: Instant| d.min(at)));
                    continue;
                }
                n = n.min(due - p.sent);
            }
            let ts = now_ns();
            for k in 0..n {
                // Paced: the time this message was due, so that waiting to send counts.
                let ts = match per_pair_rate {
                    Some(r) => start_ns + ((p.sent + k) as f64 * 1e9 / r) as u64,
                    None => ts,
                };
                p.trid = p.trid.wrapping_add(1);
                Msg::write_head(p.trid, ack, a.size as u32, &mut p.out);
                let o = p.out.len();
                p.out.extend_from_slice(&tpl);
                put_hex(&mut p.out[o + TS_AT..o + TS_AT + 16], ts);
                put_hex(&mut p.out[o + SEQ_AT..o + SEQ_AT + 16], p.sent + k);
            }
            p.sent += n;
            match p.flush() {
                Ok(true) => {}
                Ok(false) => ep.modify(p.a.as_raw_fd(), rd | wr, 2 * i as u64)?,
                Err(e) => {
                    errors.push(format!("pair {i}: write: {e}"));
                    p.out.clear();
                    p.out_pos = 0;
                }
            }
        }
        // Finished?
        let sending_over = stop || pairs.iter().all(|p| p.sent >= count);
        if sending_over {
            let t = *stopped_at.get_or_insert_with(Instant::now);
            let drained = pairs.iter().all(|p| {
                p.out_pos >= p.out.len()
                    && p.recv >= p.sent
                    && (a.ack != b'A' || p.acked + p.naks >= p.sent)
            });
            if drained {
                break;
            }
            if t.elapsed() > io_timeout().min(Duration::from_secs(10)) {
                eprintln!("{scenario}: drain timed out");
                break;
            }
        }
        if let Some(d) = next_due
            && !timer_armed
        {
            timer.arm(d.saturating_duration_since(Instant::now()));
            timer_armed = true;
        }
        // Spinning (timeout 0) keeps this CPU awake: a sleeping vCPU takes tens of microseconds
        // to wake, which would bound a windowed stream by wake-ups rather than by the server.
        // Time spent in empty polls is idle time, subtracted from gen_busy_pct.
        let spin = a.spin && next_due.is_none();
        let w0 = Instant::now();
        let events = ep.wait(if spin { 0 } else { 100 })?;
        if events.is_empty() {
            idle += w0.elapsed();
        }
        for (tok, ev) in events {
            if tok == TIMER {
                timer.drain();
                timer_armed = false;
                continue;
            }
            let i = (tok / 2) as usize;
            let p = &mut pairs[i];
            if tok % 2 == 1 {
                if !p.read_b(&mut tot, &tpl) {
                    ep.del(p.b.as_raw_fd());
                    errors.push(format!("pair {i}: receiver's connection closed"));
                }
                continue;
            }
            if ev & wr != 0 {
                match p.flush() {
                    Ok(true) => ep.modify(p.a.as_raw_fd(), rd, tok)?,
                    Ok(false) => {}
                    Err(e) => {
                        errors.push(format!("pair {i}: write: {e}"));
                        p.out.clear();
                        p.out_pos = 0;
                        ep.modify(p.a.as_raw_fd(), rd, tok)?;
                    }
                }
            }
            if ev & (rd | libc::EPOLLHUP as u32 | libc::EPOLLERR as u32) != 0 && !p.read_a() {
                ep.del(p.a.as_raw_fd());
                errors.push(format!("pair {i}: sender's connection closed"));
            }
        }
        if errors.len() >= pairs.len() {
            break;
        }
    }
    for p in &pairs {
        ep.del(p.a.as_raw_fd());
        ep.del(p.b.as_raw_fd());
    }
    let wall = start.elapsed().as_secs_f64();
    let cpu1 = (cpu_secs(None), a.server_pid.and_then(|p| cpu_secs(Some(p))));
    let threads1 = a.server_pid.and_then(ThreadCpu::read);
    let sent: u64 = pairs.iter().map(|p| p.sent).sum();
    let recv = tot.recv;
    let secs = tot
        .last_recv
        .map_or(start.elapsed(), |t| t.duration_since(start))
        .as_secs_f64();
    let lat = &mut tot.lat;
    let mut r = Report::new(scenario);
    r.kv("pairs", a.pairs)
        .kv("window", a.window)
        .kv("size", a.size)
        .kv("ack", a.ack as char);
    for (k, v) in extra {
        r.kv(k, v);
    }
    if let Some(rate) = a.rate {
        r.kv("target_rate", format!("{rate:.0}"));
    }
    r.kv("sent", sent)
        .kv("msgs", recv)
        .kv("lost", sent.saturating_sub(recv))
        .kv("acks", pairs.iter().map(|p| p.acked).sum::<u64>())
        .kv("naks", pairs.iter().map(|p| p.naks).sum::<u64>())
        .kv("order_errors", tot.order_errors)
        .kv("bad_frames", tot.bad_frames)
        .kv("corrupt", tot.corrupt)
        .kv("secs", format!("{secs:.3}"))
        .kv("msgs_per_s", format!("{:.0}", recv as f64 / secs.max(1e-9)))
        .kv(
            "mbytes_per_s",
            format!("{:.1}", recv as f64 * a.size as f64 / secs.max(1e-9) / 1e6),
        )
        .kv("p50_us", lat.us(50.0))
        .kv("p99_us", lat.us(99.0))
        .kv("max_us", lat.us(100.0));
    if let (Some(x), Some(y)) = (cpu0.0, cpu1.0) {
        r.kv("gen_cpu_pct", format!("{:.0}", 100.0 * (y - x) / wall));
        if a.spin {
            let busy = (y - x) - idle.as_secs_f64();
            r.kv(
                "gen_busy_pct",
                format!("{:.0}", 100.0 * busy.max(0.0) / wall),
            );
        }
    }
    // The server's CPU over the run: per thread to the nanosecond where the kernel says,
    // otherwise from the process's 10 ms ticks.
    let server_cpu = match (&threads0, &threads1, cpu0.1, cpu1.1) {
        (Some(t0), Some(t1), _, _) => Some(t0.secs_until(t1)),
        (_, _, Some(x), Some(y)) => Some(y - x),
        _ => None,
    };
    if let Some(used) = server_cpu {
        r.kv("server_cpu_pct", format!("{:.0}", 100.0 * used / wall));
        // The server's (or raw relay's) CPU time per delivered message over the same window:
        // comparable between the two even when the generator limits the rate.
        r.kv(
            "server_cpu_us_per_msg",
            format!("{:.3}", used * 1e6 / recv.max(1) as f64),
        );
    }
    r.kv("errors", errors.len());
    r.print();
    if let Some(e) = errors.first() {
        return Err(format!("{} errors, first: {e}", errors.len()).into());
    }
    if tot.corrupt > 0 {
        return Err(format!("{} payloads arrived corrupted", tot.corrupt).into());
    }
    Ok(())
}

fn check(a: &RelayArgs) -> R<()> {
    if a.size < MIN_SIZE {
        return Err(
            format!("--size must be at least {MIN_SIZE} (header, timestamp, sequence)").into(),
        );
    }
    if a.count.is_none() && a.duration.is_none() {
        return Err("give --count or --duration".into());
    }
    Ok(())
}

/// Switchboard relay: pair i is accounts first+2i (A, inviting) and first+2i+1 (B).
pub async fn relay_scenario(ex: Ex, t: Rc<Target>, a: RelayArgs) -> R<()> {
    check(&a)?;
    let wired = Rc::new(RefCell::new(Vec::new()));
    let errors = {
        let (t, wired) = (t.clone(), wired.clone());
        let first = a.first;
        concurrent(ex, a.pairs, a.concurrency, move |i| {
            let (t, wired) = (t.clone(), wired.clone());
            async move {
                let mut sa = online(&t, first + 2 * i).await?;
                let mut sb = online(&t, first + 2 * i + 1).await?;
                let (mut asb, _) = sa.open_sb(&sb.handle).await?;
                let mut bsb = sb.answer().await?;
                asb.until(&format!("JOI {}", sb.handle), u32::MAX).await?;
                let b_buffered = bsb.take_buffered();
                wired.borrow_mut().push(Wired {
                    a: asb.stream.clone(),
                    b: bsb.stream.clone(),
                    b_buffered,
                });
                // Keep the notification connections open (and answering CHL) while we stream.
                for mut s in [sa, sb] {
                    ex.spawn(async move { while s.ns.next_no_timeout().await.is_ok() {} })
                        .detach();
                }
                Ok(())
            }
        })
        .await
    };
    if let Some(e) = errors.first() {
        return Err(format!("relay setup: {} pairs failed, first: {e}", errors.len()).into());
    }
    let wired = wired.take();
    run(wired, a, "relay", &[])
}

/// The same clients through the built-in byte relay at `relay`.
pub async fn raw_relay_scenario(relay: SocketAddr, a: RelayArgs) -> R<()> {
    check(&a)?;
    if a.ack == b'A' {
        return Err("raw-relay has no server to ACK: use --ack N".into());
    }
    let mut wired = Vec::new();
    for i in 0..a.pairs {
        let mut ca = Conn::connect(relay).await?;
        let mut cb = Conn::connect(relay).await?;
        ca.send_line(&format!("PAIR {i}")).await?;
        cb.send_line(&format!("PAIR {i}")).await?;
        ca.expect("OK").await?;
        cb.expect("OK").await?;
        wired.push(Wired {
            a: ca.stream.clone(),
            b: cb.stream.clone(),
            b_buffered: cb.take_buffered(),
        });
    }
    run(wired, a, "raw-relay", &[("relay", relay.to_string())])
}
