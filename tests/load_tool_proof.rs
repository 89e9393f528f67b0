//! `msnpd-load`'s counters against a relay that really misbehaves: a fake raw relay (the
//! `PAIR id` / `OK` protocol of `msnpd-load relay-server`) that drops, swaps, corrupts or delays
//! the `MSG` frames it forwards. The tool must report exactly what the relay did. Then, against
//! the real server: the idle scenario really pings, and relay/fan-out results carry the server's
//! CPU time per delivered message.
mod common;
use common::TestServer;
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::Command;
use std::time::{Duration, Instant};

const LOAD: &str = env!("CARGO_BIN_EXE_msnpd-load");

/// What the fake relay does to the i-th MSG frame (0-based) from A to B.
#[derive(Clone, Copy)]
enum Mischief {
    /// Drop every `drop_every`-th frame (i % k == k - 1) and swap frames 10m and 10m+1.
    DropAndSwap { drop_every: usize },
    /// Flip one filler byte of frame `which`.
    Corrupt { which: usize },
    /// Hold frame 0 for this long before forwarding it.
    Stall(Duration),
}

/// One MSG frame: command line and payload, as read from A.
fn read_frame(r: &mut BufReader<TcpStream>) -> Option<Vec<u8>> {
    let mut line = Vec::new();
    if r.read_until(b'\n', &mut line).ok()? == 0 {
        return None;
    }
    let text = String::from_utf8_lossy(&line);
    let len: usize = text.trim_end().rsplit(' ').next()?.parse().ok()?;
    let mut payload = vec![0u8; len];
    r.read_exact(&mut payload).ok()?;
    line.extend_from_slice(&payload);
    Some(line)
}

/// Serves one pair (A connects first, then B, as the tool does) and forwards A's frames to B
/// with the given mischief, until A hangs up.
fn fake_relay(m: Mischief) -> (std::net::SocketAddr, std::thread::JoinHandle<usize>) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    let h = std::thread::spawn(move || {
        let (a, _) = l.accept().unwrap();
        let (mut b, _) = l.accept().unwrap();
        let mut ar = BufReader::new(a.try_clone().unwrap());
        let mut br = BufReader::new(b.try_clone().unwrap());
        for r in [&mut ar, &mut br] {
            let mut pair = String::new();
            r.read_line(&mut pair).unwrap();
            assert!(pair.starts_with("PAIR "), "{pair:?}");
        }
        (&a).write_all(b"OK\r\n").unwrap();
        b.write_all(b"OK\r\n").unwrap();
        let mut held: Option<Vec<u8>> = None;
        let mut i = 0usize;
        while let Some(mut f) = read_frame(&mut ar) {
            match m {
                Mischief::DropAndSwap { drop_every } => {
                    let dropped = i % drop_every == drop_every - 1;
                    if dropped {
                        // Never forwarded.
                    } else if i.is_multiple_of(10) {
                        held = Some(f);
                    } else {
                        b.write_all(&f).unwrap();
                        if let Some(h) = held.take() {
                            b.write_all(&h).unwrap();
                        }
                    }
                }
                Mischief::Corrupt { which } => {
                    if i == which {
                        let last = f.len() - 1;
                        f[last] ^= 0x20;
                    }
                    b.write_all(&f).unwrap();
                }
                Mischief::Stall(d) => {
                    if i == 0 {
                        std::thread::sleep(d);
                    }
                    b.write_all(&f).unwrap();
                }
            }
            i += 1;
        }
        i
    });
    (addr, h)
}

/// Runs `msnpd-load raw-relay` against `relay`; returns its exit success and RESULT values.
fn raw_relay(relay: std::net::SocketAddr, args: &[&str]) -> (bool, HashMap<String, String>) {
    let relay = relay.to_string();
    let out = Command::new(LOAD)
        .args([
            "--timeout",
            "2",
            "raw-relay",
            "--relay",
            &relay,
            "--pairs",
            "1",
        ])
        .args(args)
        .output()
        .expect("run msnpd-load");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout
        .lines()
        .find_map(|l| l.strip_prefix("RESULT "))
        .unwrap_or_else(|| {
            panic!(
                "no RESULT line: {stdout}\n{}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
    let kv = line
        .split(' ')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    (out.status.success(), kv)
}

/// Runs `msnpd-load --server NS ARGS` (which must succeed); returns the RESULT values.
fn load(server: &TestServer, args: &[&str]) -> HashMap<String, String> {
    let ns = server.ns.to_string();
    let out = Command::new(LOAD)
        .args(["--timeout", "10", "--server", &ns])
        .args(args)
        .output()
        .expect("run msnpd-load");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{args:?}: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line = stdout
        .lines()
        .find_map(|l| l.strip_prefix("RESULT "))
        .expect("a RESULT line");
    line.split(' ')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn users(n: usize) -> Vec<(String, String)> {
    (1..=n)
        .map(|i| (format!("user{i}@example.com"), "password".to_string()))
        .collect()
}

fn start(n: usize) -> TestServer {
    let u = users(n);
    let u: Vec<(&str, &str)> = u.iter().map(|(h, p)| (h.as_str(), p.as_str())).collect();
    TestServer::start_with(&u, &["--chl-interval", "0"])
}

fn num(r: &HashMap<String, String>, k: &str) -> f64 {
    r.get(k)
        .unwrap_or_else(|| panic!("no {k} in {r:?}"))
        .parse()
        .unwrap_or_else(|_| panic!("{k} not a number in {r:?}"))
}

#[test]
fn loss_and_order_counters_match_what_the_relay_did() {
    // 100 messages, all in flight at once (a dropped message never frees its window slot).
    let (addr, relay) = fake_relay(Mischief::DropAndSwap { drop_every: 5 });
    let (ok, r) = raw_relay(addr, &["--count", "100", "--window", "100"]);
    assert_eq!(relay.join().unwrap(), 100, "the relay saw every message");
    assert!(ok, "loss and reordering are reported, not errors: {r:?}");
    assert_eq!(num(&r, "sent"), 100.0, "{r:?}");
    // Frames 4, 9, ..., 99 dropped.
    assert_eq!(num(&r, "msgs"), 80.0, "{r:?}");
    assert_eq!(num(&r, "lost"), 20.0, "{r:?}");
    // Frames 0/1, 10/11, ..., 90/91 swapped: each swap is one late arrival; the gaps left by
    // the drops are not order errors.
    assert_eq!(num(&r, "order_errors"), 10.0, "{r:?}");
    assert_eq!(num(&r, "corrupt"), 0.0, "{r:?}");
    assert_eq!(num(&r, "bad_frames"), 0.0, "{r:?}");
}

#[test]
fn a_corrupted_filler_byte_is_an_error() {
    let (addr, relay) = fake_relay(Mischief::Corrupt { which: 7 });
    let (ok, r) = raw_relay(addr, &["--count", "20", "--window", "4", "--size", "200"]);
    assert_eq!(relay.join().unwrap(), 20);
    assert!(!ok, "a corrupted payload fails the run: {r:?}");
    assert_eq!(num(&r, "msgs"), 20.0, "{r:?}");
    assert_eq!(num(&r, "corrupt"), 1.0, "{r:?}");
    assert_eq!(num(&r, "lost"), 0.0, "{r:?}");
    assert_eq!(num(&r, "order_errors"), 0.0, "{r:?}");
}

#[test]
fn paced_latency_counts_from_the_scheduled_send_time() {
    // 20 messages at 100/s with one in flight: due every 10 ms, the last at 190 ms. The relay
    // holds the first for 600 ms (time is the subject here), so every later message leaves
    // late, at least 410 ms after its scheduled time. Measured from the actual write, they
    // would take a loopback round trip (well under 50 ms) and the stall would be hidden.
    let stall = Duration::from_millis(600);
    let (addr, relay) = fake_relay(Mischief::Stall(stall));
    let t = Instant::now();
    let (ok, r) = raw_relay(
        addr,
        &[
            "--count",
            "20",
            "--window",
            "1",
            "--rate",
            "100",
            "--no-spin",
        ],
    );
    assert!(t.elapsed() >= stall);
    assert_eq!(relay.join().unwrap(), 20);
    assert!(ok, "{r:?}");
    assert_eq!(num(&r, "msgs"), 20.0, "{r:?}");
    assert!(num(&r, "p50_us") >= 400_000.0, "{r:?}");
    assert!(num(&r, "max_us") >= 590_000.0, "{r:?}");
}

#[test]
fn idle_sessions_really_ping_even_when_the_hold_is_shorter_than_the_interval() {
    let s = start(4);
    let pid = s.child.id().to_string();
    // A hold shorter than the ping interval used to end before any PNG was sent.
    let r = load(
        &s,
        &[
            "idle",
            "--sessions",
            "4",
            "--hold",
            "0.1",
            "--ping",
            "1",
            "--server-pid",
            &pid,
        ],
    );
    assert_eq!(num(&r, "alive"), 4.0, "{r:?}");
    assert!(
        num(&r, "hold_secs") >= 1.0,
        "the hold covers one interval: {r:?}"
    );
    assert!(num(&r, "pings") >= 4.0, "every session pinged: {r:?}");
    assert_eq!(
        num(&r, "pongs"),
        num(&r, "pings"),
        "every PNG answered: {r:?}"
    );
    assert_eq!(num(&r, "unanswered"), 0.0, "{r:?}");
}

#[test]
fn relay_and_fanout_report_server_cpu_per_delivered_message() {
    let s = start(8);
    let pid = s.child.id().to_string();
    let r = load(
        &s,
        &[
            "relay",
            "--pairs",
            "2",
            "--window",
            "8",
            "--duration",
            "1",
            "--server-pid",
            &pid,
        ],
    );
    assert!(num(&r, "msgs") > 0.0 && num(&r, "lost") == 0.0, "{r:?}");
    // Exactly the server's CPU seconds over the window divided by delivered messages.
    let per = num(&r, "server_cpu_us_per_msg");
    let total_us = num(&r, "server_cpu_pct") / 100.0 * num(&r, "secs") * 1e6;
    assert!(
        per > 0.0,
        "a second of relaying costs the server CPU time: {r:?}"
    );
    assert!(
        (per * num(&r, "msgs") - total_us).abs() <= total_us * 0.5 + 20_000.0,
        "{r:?}"
    );
    let r = load(
        &s,
        &[
            "fanout",
            "--watchers",
            "3",
            "--rounds",
            "20",
            "--first",
            "5",
            "--server-pid",
            &pid,
        ],
    );
    assert_eq!(num(&r, "delivered"), 60.0, "{r:?}");
    assert!(num(&r, "server_cpu_us_per_nln") >= 0.0, "{r:?}");
}
