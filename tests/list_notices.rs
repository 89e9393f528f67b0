//! Issue 21 items 2 and 3: reverse-list and BPR notices are paced like presence (latest state
//! wins), someone the target blocked sends no reverse-list notices at all, and phone numbers go
//! only to viewers the owner allows and only while the owner is visibly online.

mod common;
use common::*;
use std::io::Read;
use std::time::{Duration, Instant};

const A: &str = "alice@example.com";
const B: &str = "bob@example.com";
const C: &str = "carol@example.com";
const PW: &str = "pw";
const QUIET: Duration = Duration::from_millis(300);

fn server() -> TestServer {
    TestServer::start(&[(A, PW), (B, PW), (C, PW)])
}

/// For the flood tests, whose target reads nothing while the flood lasts: on a loaded 2-CPU
/// machine that can exceed the 30 s write-stall timeout, which would cut the target for a
/// reason other than the one under test (an unbounded outbox).
fn flood_server() -> TestServer {
    TestServer::start_with(&[(A, PW), (B, PW), (C, PW)], &["--stall-timeout", "600"])
}

/// Signs in with a small receive buffer, set before the handshake, so what the client leaves
/// unread backs up into the server as it would for a stalled client on a real network
/// (loopback autotuning would grow it to MBs).
fn online_with_small_receive_buffer(s: &TestServer, handle: &str) -> Client {
    online_via(s, 7, handle, PW, &|addr| {
        Client::connect_with_receive_buffer(addr, 4096)
    })
}

/// Sets `c`'s `SO_RCVBUF` (a large one again lets it read the backlog quickly: a 4 KiB window
/// on loopback moves tens of KB a second).
fn set_receive_buffer(c: &Client, size: libc::c_int) {
    use std::os::fd::AsRawFd;
    // SAFETY: a valid socket descriptor and a correctly sized option value.
    let rc = unsafe {
        libc::setsockopt(
            c.stream.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_RCVBUF,
            &size as *const libc::c_int as *const libc::c_void,
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    assert_eq!(rc, 0);
}

/// `attacker` (MSNP7, with the longest friendly name so each notice is ~430 bytes) pipelines
/// `pairs` x `ADD FL target` / `REM FL target` and reads every reply; returns when all came.
fn flood_fl_add_remove(attacker: &mut Client, me: &str, target: &str, pairs: usize) {
    let name = "%20".repeat(129); // MAX_FRIENDLY_ENCODED bytes on the wire
    let t = attacker.t();
    attacker.send(&format!("REA {t} {me} {name}"));
    attacker.until(&format!("REA {t} "));
    let mut reader = attacker.stream.try_clone().unwrap();
    let first = attacker.trid + 1;
    let last = first + 2 * pairs as u32 - 1;
    let replies = std::thread::spawn(move || {
        let mut seen = Vec::new();
        let mut buf = [0u8; 65536];
        let needle = format!("REM {last} FL ");
        let mut tail = String::new();
        reader
            .set_read_timeout(Some(Duration::from_secs(120)))
            .unwrap();
        loop {
            let n = reader.read(&mut buf).unwrap_or(0);
            if n == 0 {
                return false;
            }
            seen.extend_from_slice(&buf[..n]);
            tail.push_str(&String::from_utf8_lossy(&buf[..n]));
            if tail.contains(&needle) {
                return true;
            }
            if tail.len() > 4096 {
                tail.drain(..tail.len() - 1024);
            }
        }
    });
    let mut batch = String::new();
    for i in 0..pairs as u32 {
        let t = first + 2 * i;
        batch.push_str(&format!(
            "ADD {t} FL {target} {target}\r\nREM {} FL {target}\r\n",
            t + 1
        ));
        if batch.len() > 60_000 {
            attacker.send_raw(batch.as_bytes());
            batch.clear();
        }
    }
    attacker.send_raw(batch.as_bytes());
    attacker.trid = last;
    assert!(replies.join().unwrap(), "the attacker got every reply");
}

/// Enough pairs that the unpaced notices (~470 bytes a pair) overflow the target's kernel
/// buffers and its 256 KiB outbox several times over.
const PAIRS: usize = 12_000;

/// The two flood tests run one at a time: each keeps a server's storage thread committing for
/// tens of seconds, and side by side on a 2-core machine (with the rest of the suite) a plain
/// login reply of the other test could wait past the client's read timeout.
static FLOOD: std::sync::Mutex<()> = std::sync::Mutex::new(());

#[test]
fn a_blocked_user_flooding_fl_add_remove_sends_the_target_nothing() {
    let _one_at_a_time = FLOOD.lock().unwrap_or_else(|e| e.into_inner());
    let s = flood_server();
    let mut a = online_with_small_receive_buffer(&s, A);
    a.ok("ADD", &format!("BL {B} {B}"), &format!("BL 1 {B} {B}"));
    let mut b = online(&s, 7, B, PW);
    let started = Instant::now();
    flood_fl_add_remove(&mut b, B, A, PAIRS);
    eprintln!("{PAIRS} pairs in {:?}", started.elapsed());
    // Alice, who read nothing meanwhile, is still connected and heard nothing from bob.
    let lines = a.drain();
    assert!(
        !lines.iter().any(|l| l.contains(B)),
        "notices from a blocked user: {} lines, first {:?}",
        lines.len(),
        lines.first()
    );
    assert!(
        !s.log_text().contains("outbound queue full"),
        "{}",
        s.log_text()
    );
}

#[test]
fn a_stranger_flooding_fl_add_remove_is_paced_and_the_latest_state_wins() {
    let _one_at_a_time = FLOOD.lock().unwrap_or_else(|e| e.into_inner());
    let s = flood_server();
    let mut a = online_with_small_receive_buffer(&s, A);
    let mut c = online(&s, 7, C, PW);
    // Carol floods as bob does above, but alice has not blocked her.
    flood_fl_add_remove(&mut c, C, A, PAIRS);
    assert!(
        !s.log_text().contains("outbound queue full"),
        "the target was cut:\n{}",
        s.log_text()
    );
    // Alice reads what arrived; what was held back follows within the pacing interval, and
    // the last word about carol is her final state: removed.
    let mut last = None;
    set_receive_buffer(&a, 1 << 22);
    // Quiet means nothing about carol for three pacing intervals (500 ms each), every line
    // read on the way counted: under load a timer can fire late.
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut heard = Instant::now();
    while heard.elapsed() < Duration::from_millis(1500) {
        let lines = a.drain();
        if let Some(l) = lines.iter().rev().find(|l| l.contains(C)) {
            last = Some(l.clone());
            heard = Instant::now();
        }
        std::thread::sleep(Duration::from_millis(200));
        assert!(Instant::now() < deadline, "notices never stopped");
    }
    let last = last.expect("alice heard of carol");
    assert!(last.starts_with("REM 0 RL "), "{last}");
}

#[test]
fn phone_numbers_go_only_to_allowed_viewers_while_the_owner_is_visible() {
    let s = server();
    let mut a = online(&s, 7, A, PW);
    // Carol is on alice's allow list; alice then blocks everyone else by default.
    a.ok("ADD", &format!("AL {C} {C}"), &format!("AL 1 {C} {C}"));
    a.ok("BLP", "BL", "2 BL");
    // Bob, a stranger, and carol both put alice on their forward lists.
    let mut b = online(&s, 7, B, PW);
    let (t, l) = b.call("ADD", &format!("FL {A} {A} 0"));
    assert!(l.starts_with(&format!("ADD {t} FL ")), "{l}");
    let mut c = online(&s, 7, C, PW);
    let (t, l) = c.call("ADD", &format!("FL {A} {A} 0"));
    assert!(l.starts_with(&format!("ADD {t} FL ")), "{l}");
    a.drain();
    // A number change reaches carol (allowed), not bob (BLP BL).
    let (t, l) = a.call("PRP", "PHH 555%201234");
    assert!(l.starts_with(&format!("PRP {t} ")), "{l}");
    let (bpr, _) = c.until("BPR ");
    assert!(bpr.ends_with(&format!("{A} PHH 555%201234")), "{bpr}");
    let seen = b.drain();
    assert!(!seen.iter().any(|l| l.starts_with("BPR ")), "{seen:?}");
    // Hidden, alice edits a number: carol must not learn alice is online.
    a.ok("CHG", "HDN", "HDN");
    assert_eq!(c.line(), format!("FLN {A}"));
    let (t, l) = a.call("PRP", "PHW 42");
    assert!(l.starts_with(&format!("PRP {t} ")), "{l}");
    std::thread::sleep(QUIET);
    let seen = c.drain();
    assert!(!seen.iter().any(|l| l.starts_with("BPR ")), "{seen:?}");
    // The number is stored: carol's next SYN carries it.
    assert!(b.drain().is_empty());
}

/// Item 2, the SYN part: a stranger's SYN carries no `BPR` of someone who blocks them (BLP BL, not
/// on her AL), while an allowed viewer's SYN does.
#[test]
fn syn_gives_phone_numbers_only_to_allowed_viewers() {
    let s = server();
    let mut a = online(&s, 7, A, PW);
    a.ok("ADD", &format!("AL {C} {C}"), &format!("AL 1 {C} {C}"));
    a.ok("BLP", "BL", "2 BL");
    let (t, l) = a.call("PRP", "PHH 555%201234");
    assert!(l.starts_with(&format!("PRP {t} ")), "{l}");
    for who in [B, C] {
        let mut v = online(&s, 7, who, PW);
        let (t, l) = v.call("ADD", &format!("FL {A} {A} 0"));
        assert!(l.starts_with(&format!("ADD {t} FL ")), "{l}");
        drop(v);
        // A fresh login loads the lists from storage, as every SYN after a sign-in does.
        let (mut v, _) = login_md5(&s, 7, who, PW);
        let (_, first) = v.call("SYN", "0");
        std::thread::sleep(QUIET);
        let mut dump = v.drain();
        dump.insert(0, first);
        let bprs: Vec<&String> = dump
            .iter()
            .filter(|l| l.starts_with("BPR ") && l.contains("555%201234"))
            .collect();
        if who == C {
            assert_eq!(bprs.len(), 1, "carol is allowed: {dump:?}");
        } else {
            assert!(bprs.is_empty(), "bob is a stranger under BLP BL: {dump:?}");
            assert!(dump.iter().any(|l| l.starts_with("LST ")), "{dump:?}");
        }
    }
}
