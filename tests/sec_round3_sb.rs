//! Issue #21, security round 3, the switchboard findings: ring cookies (item 1) and control bytes
//! in the MSNObject (item 7). Each test failed before its fix.
mod common;
use common::*;
use msnpd::limits::MAX_RING_COOKIES_PER_USER;
use std::net::SocketAddr;

const CALLER: &str = "mallory@example.com";
const CALLEE: &str = "accomplice@example.com";
const OTHER: &str = "carol@example.com";
const PW: &str = "pw";

/// `XFR SB` and `USR`: a switchboard with `handle` in it.
fn open(ns: &mut Client, handle: &str) -> Client {
    let t = ns.t();
    ns.send(&format!("XFR {t} SB"));
    let l = ns.expect(&format!("XFR {t} SB "));
    let p: Vec<&str> = l.split(' ').collect();
    let mut sb = Client::connect(p[3].parse().unwrap());
    let t = sb.t();
    sb.send(&format!("USR {t} {handle} {}", p[5]));
    sb.expect(&format!("USR {t} OK {handle} "));
    sb
}

/// `CAL` from `sb`: the reply line, and the trid it must carry.
fn call(sb: &mut Client, callee: &str) -> (u32, String) {
    let t = sb.t();
    sb.send(&format!("CAL {t} {callee}"));
    (t, sb.line())
}

/// The next `RNG` the callee got: (switchboard address, session id, cookie).
fn rng(callee_ns: &mut Client) -> (SocketAddr, String, String) {
    let (l, _) = callee_ns.until("RNG ");
    let p: Vec<&str> = l.split(' ').collect();
    (p[2].parse().unwrap(), p[1].to_string(), p[4].to_string())
}

/// Finding 1: one account ringing another from many switchboards, the other logging in again to
/// void the invitations, used to fill the server's cookie table (everyone then got `800` on
/// `XFR SB` and `217` on `CAL`). Now the caller's unanswered rings are capped, and the callee's
/// ring cookies die when it signs out (so the caller's slots come back, and the table holds at
/// most the cap per caller); a third user still opens a switchboard and rings someone in.
#[test]
fn ring_cookies_count_against_the_caller_and_die_with_the_callee() {
    let server = TestServer::start_with_log(
        &[(CALLER, PW), (CALLEE, PW), (OTHER, PW)],
        &["--chl-interval", "0"],
        "info",
    );
    let mut caller = online(&server, 7, CALLER, PW);
    let mut callee = online(&server, 7, CALLEE, PW);
    let mut other = online(&server, 7, OTHER, PW);

    // The caller rings the callee from as many switchboards as its cap allows...
    let mut boards = Vec::new();
    let mut first_ring = None;
    for _ in 0..MAX_RING_COOKIES_PER_USER {
        let mut sb = open(&mut caller, CALLER);
        let (t, l) = call(&mut sb, CALLEE);
        assert!(l.starts_with(&format!("CAL {t} RINGING ")), "{l}");
        let ring = rng(&mut callee);
        first_ring.get_or_insert(ring);
        boards.push(sb);
    }
    // ... and no further: the next ring is refused, the switchboard itself still opens.
    let mut extra = open(&mut caller, CALLER);
    let (t, l) = call(&mut extra, CALLEE);
    assert_eq!(l, format!("217 {t}"), "ring cookies are capped per caller");

    // Another user is unaffected: a switchboard, and a ring the callee answers.
    let mut osb = open(&mut other, OTHER);
    let (t, l) = call(&mut osb, CALLEE);
    assert!(l.starts_with(&format!("CAL {t} RINGING ")), "{l}");
    let (addr, sessid, cookie) = rng(&mut callee);
    let mut joined = Client::connect(addr);
    joined.send(&format!("ANS 1 {CALLEE} {cookie} {sessid}"));
    joined.until("ANS 1 OK");
    osb.expect(&format!("JOI {CALLEE} "));
    drop(joined);

    // The callee logs in again: its old session is replaced, its ring cookies are burnt...
    let mut again = online(&server, 7, CALLEE, PW);
    callee.until("OUT OTH");
    let (addr, sessid, cookie) = first_ring.unwrap();
    let mut late = Client::connect(addr);
    late.send(&format!("ANS 1 {CALLEE} {cookie} {sessid}"));
    assert_eq!(
        late.line(),
        "911 1",
        "a ring of the old session does not admit"
    );
    // ... which gives the caller its slots back (the table never holds more than the cap).
    let (t, l) = call(&mut extra, CALLEE);
    assert!(l.starts_with(&format!("CAL {t} RINGING ")), "{l}");
    rng(&mut again);
}

/// Finding 7: an MSNObject whose bytes (raw or escaped) hold a control byte is refused with
/// `201`, as names are, instead of reaching watchers' `NLN`/`ILN` as sent; a clean one is still
/// taken.
#[test]
fn control_bytes_in_the_msnobject_are_refused() {
    let a = "alice@example.com";
    let server = TestServer::start(&[(a, PW)]);
    let mut c = online_any(&server, 9, a, PW);
    for msnobj in [
        "%3Cmsnobj%0D%0AOUT%20OTH%3E".as_bytes(),
        b"%3Cmsnobj%00%2F%3E",
        b"%3Cmsnobj%1B%5B2J%2F%3E",
        b"<msnobj\x1b[2J/>",
        b"<msnobj\x00/>",
    ] {
        let t = c.t();
        let mut line = format!("CHG {t} NLN 0 ").into_bytes();
        line.extend_from_slice(msnobj);
        line.extend_from_slice(b"\r\n");
        c.send_raw(&line);
        assert_eq!(
            c.line(),
            format!("201 {t}"),
            "{:?}",
            String::from_utf8_lossy(msnobj)
        );
    }
    let t = c.t();
    c.send(&format!(
        "CHG {t} AWY 0 %3Cmsnobj%20Creator%3D%22{a}%22%2F%3E"
    ));
    c.until(&format!("CHG {t} AWY 0 %3Cmsnobj"));
}

/// Review of finding 11: an `XFR SB` -> `USR` -> `OUT` loop wrote a "switchboard N: opened" and a
/// "switchboard N: ended" INFO line per cycle; both are now limited per address.
#[test]
fn a_switchboard_loop_does_not_flood_the_log() {
    let server = TestServer::start_with_log(&[(CALLER, PW)], &["--chl-interval", "0"], "info");
    let mut ns = online(&server, 7, CALLER, PW);
    let cycles = 40;
    for _ in 0..cycles {
        let mut sb = open(&mut ns, CALLER);
        sb.send("OUT");
        sb.expect_closed();
    }
    server.wait_log("\"switchboard ended\" lines held back");
    let log = server.log_text();
    let count = |what: &str| {
        log.lines()
            .filter(|l| l.contains("switchboard ") && l.contains(what))
            .count()
    };
    let (opened, ended) = (count(": opened"), count(": ended"));
    assert!(opened > 0 && ended > 0, "the first ones are logged");
    assert!(opened <= 20, "{opened} opened lines for {cycles} cycles");
    assert!(ended <= 20, "{ended} ended lines for {cycles} cycles");
    assert!(log.contains("\"switchboard opened\" lines held back"));
}
