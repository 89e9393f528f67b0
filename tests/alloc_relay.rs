//! Relaying a switchboard MSG allocates nothing per message: a counting global allocator watches
//! the whole process while an in-process server relays thousands of messages.
mod common;
use common::*;
use std::alloc::{GlobalAlloc, Layout, System};
use std::io::{Read, Write};
use std::sync::atomic::{AtomicU64, Ordering};

struct Counting;

static ALLOCS: AtomicU64 = AtomicU64::new(0);
thread_local!(static IN: std::cell::Cell<bool> = const { std::cell::Cell::new(false) });
static TRACE: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
static SAMPLES: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        // Allocations made while recording a sample are the recorder's, not the server's.
        if !IN.with(|i| i.get()) {
            ALLOCS.fetch_add(1, Ordering::Relaxed);
        }
        if TRACE.load(Ordering::Relaxed) && !IN.with(|i| i.replace(true)) {
            let bt = std::backtrace::Backtrace::force_capture().to_string();
            SAMPLES
                .lock()
                .unwrap()
                .push(format!("size {}:\n{bt}", l.size()));
            IN.with(|i| i.set(false));
        }
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, n: usize) -> *mut u8 {
        if !IN.with(|i| i.get()) {
            ALLOCS.fetch_add(1, Ordering::Relaxed);
        }
        unsafe { System.realloc(p, l, n) }
    }
}

#[global_allocator]
static A: Counting = Counting;

fn md5_login(ns: std::net::SocketAddr, handle: &str, pw: &str) -> Client {
    let mut c = Client::connect(ns);
    c.send("VER 1 MSNP7 CVR0");
    c.expect("VER 1 MSNP7");
    c.send(&format!("USR 2 MD5 I {handle}"));
    c.expect("XFR 2 NS ");
    let mut c = Client::connect(ns);
    c.send("VER 1 MSNP7 CVR0");
    c.expect("VER 1 MSNP7");
    c.send(&format!("USR 2 MD5 I {handle}"));
    let s = c.expect("USR 2 MD5 S ");
    let ch = s.rsplit(' ').next().unwrap().to_string();
    c.send(&format!("USR 3 MD5 S {}", md5_hex(&format!("{ch}{pw}"))));
    c.expect("USR 3 OK");
    c.expect_payload("MSG Hotmail");
    c.send("CHG 4 NLN");
    c.until("CHG 4 NLN");
    c
}

/// Reads exactly `n` bytes into a fixed buffer (no allocation), returning the last chunk seen.
fn drain(s: &mut std::net::TcpStream, mut n: usize, buf: &mut [u8]) {
    while n > 0 {
        let cap = n.min(buf.len());
        let k = s.read(&mut buf[..cap]).expect("read");
        assert!(k > 0, "closed");
        n -= k;
    }
}

#[test]
fn msg_relay_allocates_nothing_per_message() {
    let dir = TempDir::new();
    let config = in_process(
        &dir.path().join("t.db"),
        &[("alice@example.com", "a"), ("bob@example.com", "b")],
    );
    let server = msnpd::Server::start(config).unwrap();
    let ns = server.bound.ns;

    let mut a = md5_login(ns, "alice@example.com", "a");
    let mut b = md5_login(ns, "bob@example.com", "b");
    a.send("XFR 5 SB");
    let x = a.expect("XFR 5 SB ");
    let p: Vec<String> = x.split(' ').map(String::from).collect();
    let mut sa = Client::connect(p[3].parse().unwrap());
    sa.send(&format!("USR 1 alice@example.com {}", p[5]));
    sa.expect("USR 1 OK");
    sa.send("CAL 2 bob@example.com");
    let ring = sa.expect("CAL 2 RINGING ");
    let sessid = ring.rsplit(' ').next().unwrap().to_string();
    let (rng, _) = b.until("RNG ");
    let r: Vec<&str> = rng.split(' ').collect();
    let mut sb = Client::connect(r[2].parse().unwrap());
    sb.send(&format!("ANS 1 bob@example.com {} {sessid}", r[4]));
    sb.until("ANS 1 OK");
    sa.until("JOI ");

    // One batch: 500 messages with ack A (each answered by ACK 7\r\n) and a 100-byte payload.
    let payload = [b'x'; 100];
    let mut frame = b"MSG 7 A 100\r\n".to_vec();
    frame.extend_from_slice(&payload);
    let batch: Vec<u8> = frame
        .iter()
        .copied()
        .cycle()
        .take(frame.len() * 500)
        .collect();
    let relayed = b"MSG alice@example.com alice@example.com 100\r\n".len() + 100;
    let acks = b"ACK 7\r\n".len();
    let mut buf = vec![0u8; 1 << 16];
    let round = |sa: &mut Client, sb: &mut Client, buf: &mut [u8]| {
        sa.stream.write_all(&batch).unwrap();
        drain(&mut sb.stream, 500 * relayed, buf);
        drain(&mut sa.stream, 500 * acks, buf);
    };
    // Warm-up: pools, executor queues and socket state settle.
    for _ in 0..4 {
        round(&mut sa, &mut sb, &mut buf);
    }
    TRACE.store(true, Ordering::Relaxed);
    let before = ALLOCS.load(Ordering::Relaxed);
    for _ in 0..10 {
        round(&mut sa, &mut sb, &mut buf);
    }
    let used = ALLOCS.load(Ordering::Relaxed) - before;
    TRACE.store(false, Ordering::Relaxed);
    let samples = std::mem::take(&mut *SAMPLES.lock().unwrap());
    // The async-io reactor allocates a little on each epoll cycle (ready timers and wakers);
    // that is per wake-up, shared by many messages. Nothing in msnpd's own code may allocate.
    // An allocation is msnpd's when, walking up from the allocator, an msnpd frame comes before
    // any frame of the runtime crates (whose own bookkeeping is per wake-up, not per message).
    const RUNTIME: &[&str] = &[
        "async_io",
        "async_executor",
        "async_task",
        "concurrent_queue",
        "polling",
        "smol",
        "event_listener",
    ];
    let ours: Vec<&String> = samples
        .iter()
        .filter(|bt| {
            for f in bt.lines().map(str::trim).filter(|l| !l.starts_with("at ")) {
                let f = f
                    .split_once(": ")
                    .map_or(f, |(_, f)| f)
                    .trim_start_matches('<');
                if f.starts_with("msnpd::") {
                    return true;
                }
                if RUNTIME.iter().any(|r| f.starts_with(r)) {
                    return false;
                }
            }
            false
        })
        .collect();
    eprintln!(
        "allocations during 5000 relayed messages: {used} (in msnpd code: {})",
        ours.len()
    );
    assert!(
        ours.is_empty(),
        "msnpd code allocated while relaying:\n{}",
        ours[0]
    );
    assert!(used < 500, "{used} allocations for 5000 relayed messages");
    drop((sa, sb, a, b));
    server.shutdown();
}
