//! Switchboard sessions end to end: XFR SB, USR, CAL/RNG/ANS, MSG relay and acks, leaving,
//! errors, size limit and P2P routing.
mod common;
use common::*;
use std::net::SocketAddr;
use std::time::Duration;

const A: &str = "alice@example.com";
const B: &str = "bob@example.com";
const C: &str = "carol@example.com";
const PW: &str = "pw";
const QUIET: Duration = Duration::from_millis(300);

fn three_users() -> TestServer {
    TestServer::start(&[(A, PW), (B, PW), (C, PW)])
}

/// A chat text message as MSN Messenger sends it.
fn text(body: &str) -> Vec<u8> {
    format!(
        "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\n\
         X-MMS-IM-Format: FN=Arial; EF=; CO=0; CS=0; PF=22\r\n\r\n{body}"
    )
    .into_bytes()
}

fn typing(who: &str) -> Vec<u8> {
    format!(
        "MIME-Version: 1.0\r\nContent-Type: text/x-msmsgscontrol\r\nTypingUser: {who}\r\n\r\n\r\n"
    )
    .into_bytes()
}

/// Sets my friendly name on the NS (switchboards follow it: later MSG lines carry the new name).
fn rename(ns: &mut Client, handle: &str, encoded: &str) {
    let t = ns.t();
    ns.send(&format!("REA {t} {handle} {encoded}"));
    let l = ns.expect(&format!("REA {t} "));
    assert!(l.ends_with(&format!(" {handle} {encoded}")), "{l}");
}

/// `XFR SB` on the NS: the switchboard address and cookie.
fn xfr(ns: &mut Client) -> (SocketAddr, String) {
    let t = ns.t();
    ns.send(&format!("XFR {t} SB"));
    let l = ns.expect(&format!("XFR {t} SB "));
    let p: Vec<&str> = l.split(' ').collect();
    assert_eq!(p.len(), 6, "{l}");
    assert_eq!(p[4], "CKI", "{l}");
    assert!(!p[5].is_empty());
    (p[3].parse().unwrap(), p[5].to_string())
}

/// XFR SB + USR: a new session owned by `handle`. Returns the SB connection and the USR OK line.
fn open(ns: &mut Client, handle: &str) -> (Client, String) {
    let (addr, cookie) = xfr(ns);
    let mut sb = Client::connect(addr);
    let t = sb.t();
    sb.send(&format!("USR {t} {handle} {cookie}"));
    let ok = sb.expect(&format!("USR {t} OK {handle} "));
    (sb, ok)
}

struct Ring {
    sessid: String,
    addr: SocketAddr,
    cookie: String,
    line: String,
}

/// `CAL` from `sb`; returns the RNG the callee's NS received.
fn call(sb: &mut Client, callee_ns: &mut Client, callee: &str) -> Ring {
    let t = sb.t();
    sb.send(&format!("CAL {t} {callee}"));
    let l = sb.expect(&format!("CAL {t} RINGING "));
    let sessid = l.rsplit(' ').next().unwrap().to_string();
    assert!(
        sessid.parse::<u32>().is_ok(),
        "session id should be decimal: {l}"
    );
    let (rng, _) = callee_ns.until("RNG ");
    let p: Vec<&str> = rng.split(' ').collect();
    assert_eq!(p.len(), 7, "{rng}");
    assert_eq!(p[1], sessid, "{rng}");
    assert_eq!(p[3], "CKI", "{rng}");
    Ring {
        sessid,
        addr: p[2].parse().unwrap(),
        cookie: p[4].to_string(),
        line: rng.clone(),
    }
}

/// Answers a ring: returns the SB connection and the IRO lines.
fn answer(ring: &Ring, handle: &str) -> (Client, Vec<String>) {
    let mut sb = Client::connect(ring.addr);
    let t = sb.t();
    sb.send(&format!("ANS {t} {handle} {} {}", ring.cookie, ring.sessid));
    let mut iro = Vec::new();
    loop {
        let l = sb.line();
        if l == format!("ANS {t} OK") {
            return (sb, iro);
        }
        assert!(
            l.starts_with(&format!("IRO {t} ")),
            "expected IRO or ANS OK, got `{l}`"
        );
        iro.push(l);
    }
}

/// Alice and Bob (MSNP7) in one session. Returns (alice ns, alice sb, bob ns, bob sb).
fn pair(server: &TestServer) -> (Client, Client, Client, Client) {
    let mut ans = online(server, 7, A, PW);
    let mut bns = online(server, 7, B, PW);
    let (mut asb, _) = open(&mut ans, A);
    let ring = call(&mut asb, &mut bns, B);
    let (bsb, _) = answer(&ring, B);
    asb.expect(&format!("JOI {B} "));
    (ans, asb, bns, bsb)
}

/// Sends `MSG trid ack len` + payload; returns the trid.
fn send_msg(c: &mut Client, ack: &str, payload: &[u8]) -> u32 {
    let t = c.t();
    c.send_payload(&format!("MSG {t} {ack} {}", payload.len()), payload);
    t
}

/// Expects the relayed copy of `payload` from `sender`/`name`, byte for byte.
fn expect_relay(c: &mut Client, sender: &str, name: &str, payload: &[u8]) {
    let (l, p) = c.expect_payload("MSG ");
    assert_eq!(l, format!("MSG {sender} {name} {}", payload.len()));
    assert_eq!(p, payload, "payload changed in relay");
}

#[test]
fn xfr_usr_cal_rng_ans_join_and_relay() {
    let server = TestServer::start(&[(A, PW), (B, PW)]);
    let mut ans = online(&server, 7, A, PW);
    let mut bns = online(&server, 7, B, PW);
    rename(&mut ans, A, "Alice%20A");
    rename(&mut bns, B, "Bobby%25");

    let (addr, cookie) = xfr(&mut ans);
    assert_eq!(
        addr, server.sb,
        "XFR should point at the switchboard listener"
    );
    let mut asb = Client::connect(addr);
    asb.send(&format!("USR 1 {A} {cookie}"));
    assert_eq!(asb.line(), format!("USR 1 OK {A} Alice%20A"));

    asb.send(&format!("CAL 2 {B}"));
    let l = asb.expect("CAL 2 RINGING ");
    let sessid = l.rsplit(' ').next().unwrap().to_string();
    let rng = bns.expect("RNG ");
    let p: Vec<&str> = rng.split(' ').collect();
    assert_eq!(p.len(), 7, "{rng}");
    assert_eq!(p[1], sessid);
    assert_eq!(p[2], server.sb.to_string());
    assert_eq!(p[3], "CKI");
    assert_ne!(p[4], cookie, "RNG must carry a fresh cookie");
    assert_eq!(&p[5..], [A, "Alice%20A"]);

    let mut bsb = Client::connect(p[2].parse().unwrap());
    bsb.send(&format!("ANS 7 {B} {} {sessid}", p[4]));
    assert_eq!(bsb.line(), format!("IRO 7 1 1 {A} Alice%20A"));
    assert_eq!(bsb.line(), "ANS 7 OK");
    assert_eq!(asb.line(), format!("JOI {B} Bobby%25"));

    // Relay both ways, byte for byte.
    let m = text("Hello Bob \u{2615}");
    send_msg(&mut asb, "N", &m);
    expect_relay(&mut bsb, A, "Alice%20A", &m);
    let m2 = text("hi alice\r\n\r\nsecond paragraph");
    send_msg(&mut bsb, "N", &m2);
    expect_relay(&mut asb, B, "Bobby%25", &m2);
    // Binary payload, no trailing CRLF, containing CRLFs and NULs.
    let bin: Vec<u8> = b"MIME-Version: 1.0\r\nContent-Type: application/octet-stream\r\n\r\n"
        .iter()
        .copied()
        .chain((0u8..=255).chain([b'\r', b'\n', 0, b'M', b'S', b'G']))
        .collect();
    send_msg(&mut asb, "U", &bin);
    expect_relay(&mut bsb, A, "Alice%20A", &bin);
    // Never echoed to the sender.
    asb.expect_silence(QUIET);
    bsb.expect_silence(QUIET);
}

#[test]
fn ack_types_u_n_a_d_s() {
    let server = TestServer::start(&[(A, PW), (B, PW)]);
    let (_ans, mut asb, _bns, mut bsb) = pair(&server);

    // U: relayed, no reply. N: relayed, nothing on success. Proven by the next reply's trid.
    let u = typing(A);
    let tu = send_msg(&mut asb, "U", &u);
    let tn = send_msg(&mut asb, "N", &text("n"));
    let ta = send_msg(&mut asb, "A", &text("a"));
    assert_eq!(
        asb.line(),
        format!("ACK {ta}"),
        "U ({tu}) and N ({tn}) must not be answered"
    );
    expect_relay(&mut bsb, A, A, &u);
    expect_relay(&mut bsb, A, A, &text("n"));
    expect_relay(&mut bsb, A, A, &text("a"));

    // D (MSNP9+ data) with a header/body separator: ACK.
    let d = b"MIME-Version: 1.0\r\nContent-Type: application/x-msnmsgrp2p\r\nP2P-Dest: bob@example.com\r\n\r\n\
              \x00\x01\x02binary\x00\x00\x00\x00"
        .to_vec();
    let td = send_msg(&mut asb, "D", &d);
    assert_eq!(asb.line(), format!("ACK {td}"));
    expect_relay(&mut bsb, A, A, &d);
    // D without a header/body separator: 282, not relayed.
    let tbad = send_msg(&mut asb, "D", b"garbage");
    assert_eq!(asb.line(), format!("282 {tbad}"));
    // S: ACK on success.
    let ts = send_msg(&mut asb, "S", &text("s"));
    assert_eq!(asb.line(), format!("ACK {ts}"));
    expect_relay(&mut bsb, A, A, &text("s"));
    bsb.expect_silence(QUIET);

    // Bob leaves: Alice alone. A → NAK, N → NAK, U → nothing.
    bsb.send("OUT");
    bsb.expect_closed();
    assert_eq!(asb.line(), format!("BYE {B}"));
    let tu = send_msg(&mut asb, "U", &text("u"));
    let ta = send_msg(&mut asb, "A", &text("alone"));
    assert_eq!(
        asb.line(),
        format!("NAK {ta}"),
        "U ({tu}) alone must not be answered"
    );
    let tn = send_msg(&mut asb, "N", &text("alone"));
    assert_eq!(asb.line(), format!("NAK {tn}"));
}

#[test]
fn lowercase_or_unknown_ack_type_closes() {
    let server = TestServer::start(&[(A, PW), (B, PW)]);
    let (_ans, mut asb, _bns, mut bsb) = pair(&server);
    send_msg(&mut asb, "a", &text("x"));
    assert_eq!(asb.expect_closed(), Vec::<String>::new());
    assert_eq!(bsb.line(), format!("BYE {A}"));
}

#[test]
fn three_party_session() {
    let server = three_users();
    let mut ans = online(&server, 7, A, PW);
    let mut bns = online(&server, 7, B, PW);
    let mut cns = online(&server, 7, C, PW);
    rename(&mut cns, C, "Carol");
    let (mut asb, _) = open(&mut ans, A);
    let ring = call(&mut asb, &mut bns, B);
    let (mut bsb, iro) = answer(&ring, B);
    assert_eq!(iro, vec![format!("IRO 1 1 1 {A} {A}")]);
    asb.expect(&format!("JOI {B} {B}"));

    // Bob invites Carol into the same session.
    let ring_c = call(&mut bsb, &mut cns, C);
    assert_eq!(ring_c.sessid, ring.sessid, "same session");
    assert!(
        ring_c.line.ends_with(&format!(" {B} {B}")),
        "{}",
        ring_c.line
    );
    let (mut csb, iro) = answer(&ring_c, C);
    assert_eq!(
        iro,
        vec![format!("IRO 1 1 2 {A} {A}"), format!("IRO 1 2 2 {B} {B}")]
    );
    assert_eq!(asb.line(), format!("JOI {C} Carol"));
    assert_eq!(bsb.line(), format!("JOI {C} Carol"));

    // Everyone's messages reach both others.
    let m = text("hello all");
    let t = send_msg(&mut asb, "A", &m);
    assert_eq!(asb.line(), format!("ACK {t}"));
    expect_relay(&mut bsb, A, A, &m);
    expect_relay(&mut csb, A, A, &m);
    let m = text("carol here");
    send_msg(&mut csb, "N", &m);
    expect_relay(&mut asb, C, "Carol", &m);
    expect_relay(&mut bsb, C, "Carol", &m);

    // Carol leaves: both others get BYE; the other two keep chatting.
    csb.send("OUT");
    csb.expect_closed();
    assert_eq!(asb.line(), format!("BYE {C}"));
    assert_eq!(bsb.line(), format!("BYE {C}"));
    let m = text("just us");
    let t = send_msg(&mut bsb, "A", &m);
    assert_eq!(bsb.line(), format!("ACK {t}"));
    expect_relay(&mut asb, B, B, &m);

    // Carol can be re-invited after leaving.
    let ring_c2 = call(&mut asb, &mut cns, C);
    let (_csb2, iro) = answer(&ring_c2, C);
    assert_eq!(iro.len(), 2);
}

#[test]
fn out_and_disconnect_send_bye_to_the_others() {
    let server = three_users();
    let mut ans = online(&server, 7, A, PW);
    let mut bns = online(&server, 7, B, PW);
    let mut cns = online(&server, 7, C, PW);
    let (mut asb, _) = open(&mut ans, A);
    let (mut bsb, _) = answer(&call(&mut asb, &mut bns, B), B);
    asb.expect("JOI ");
    let (csb, _) = answer(&call(&mut asb, &mut cns, C), C);
    asb.expect("JOI ");
    bsb.expect("JOI ");

    // TCP drop without OUT: plain BYE.
    drop(csb);
    assert_eq!(asb.line(), format!("BYE {C}"));
    assert_eq!(bsb.line(), format!("BYE {C}"));
    // OUT: the server closes the leaver's socket, the other gets BYE.
    asb.send("OUT");
    asb.expect_closed();
    assert_eq!(bsb.line(), format!("BYE {A}"));
    bsb.expect_silence(QUIET);
}

#[test]
fn ns_sign_out_closes_the_users_switchboards() {
    let server = TestServer::start(&[(A, PW), (B, PW)]);
    let (_ans, mut asb, mut bns, mut bsb) = pair(&server);
    bns.send("OUT");
    bns.expect_closed();
    bsb.expect_closed();
    let bye = asb.expect(&format!("BYE {B}"));
    assert!(
        bye == format!("BYE {B}") || bye == format!("BYE {B} 1"),
        "{bye}"
    );
}

#[test]
fn msnp2_and_msnp7_chat_both_ways() {
    let server = TestServer::start(&[(A, PW), (B, PW)]);
    for (va, vb) in [(2u8, 7u8), (7, 2)] {
        let mut ans = online(&server, va, A, PW);
        let mut bns = online(&server, vb, B, PW);
        let (mut asb, ok) = open(&mut ans, A);
        assert_eq!(ok, format!("USR 1 OK {A} {A}"));
        let ring = call(&mut asb, &mut bns, B);
        assert!(
            ring.line
                .ends_with(&format!(" CKI {} {A} {A}", ring.cookie)),
            "{}",
            ring.line
        );
        let (mut bsb, iro) = answer(&ring, B);
        assert_eq!(iro, vec![format!("IRO 1 1 1 {A} {A}")]);
        assert_eq!(asb.line(), format!("JOI {B} {B}"));
        let m = text(&format!("from MSNP{va}"));
        let t = send_msg(&mut asb, "A", &m);
        assert_eq!(asb.line(), format!("ACK {t}"));
        expect_relay(&mut bsb, A, A, &m);
        let m = text(&format!("from MSNP{vb}"));
        let t = send_msg(&mut bsb, "A", &m);
        assert_eq!(bsb.line(), format!("ACK {t}"));
        expect_relay(&mut asb, B, B, &m);
        for c in [&mut asb, &mut bsb, &mut ans, &mut bns] {
            c.send("OUT");
        }
        bns.until("OUT");
        ans.until("OUT");
    }
}

/// Sends `CAL` and returns the reply's verb or error code, checking the trid.
fn cal(sb: &mut Client, who: &str) -> String {
    let t = sb.t();
    sb.send(&format!("CAL {t} {who}"));
    let l = sb.line();
    let p: Vec<&str> = l.split(' ').collect();
    assert_eq!(p.get(1).copied(), Some(t.to_string().as_str()), "{l}");
    p[0].to_string()
}

#[test]
fn cal_errors() {
    let server = TestServer::start(&[
        (A, PW),
        (B, PW),
        (C, PW),
        ("dave@example.com", PW),
        ("erin@example.com", PW),
    ]);
    let mut ans = online(&server, 7, A, PW);
    let (mut asb, _) = open(&mut ans, A);

    // Offline (existing account) and nonexistent.
    assert_eq!(cal(&mut asb, B), "217");
    assert_eq!(cal(&mut asb, "nobody@example.com"), "217");
    // Hidden.
    let mut cns = login_md5(&server, 7, C, PW).0;
    let t = cns.t();
    cns.send(&format!("CHG {t} HDN"));
    cns.until(&format!("CHG {t} HDN"));
    assert_eq!(cal(&mut asb, C), "217");
    // Logged in but never sent CHG: still offline to others.
    let _erin = login_md5(&server, 7, "erin@example.com", PW).0;
    assert_eq!(cal(&mut asb, "erin@example.com"), "217");
    // Blocking the caller.
    let mut dns = online(&server, 7, "dave@example.com", PW);
    let t = dns.t();
    dns.send(&format!("ADD {t} BL {A} {A}"));
    dns.until(&format!("ADD {t} BL "));
    assert_eq!(cal(&mut asb, "dave@example.com"), "217");
    // Five 217s in a row: rate limited with 713 now, even for a valid callee.
    let mut bns = online(&server, 7, B, PW);
    assert_eq!(cal(&mut asb, B), "713");
    drop(asb);
    // A fresh session: the counter starts over.
    let (mut asb, _) = open(&mut ans, A);
    // Yourself (any case).
    assert_eq!(cal(&mut asb, A), "215");
    assert_eq!(cal(&mut asb, "Alice@Example.COM"), "215");
    // Invalid handles.
    assert_eq!(cal(&mut asb, "hello"), "208");
    assert_eq!(cal(&mut asb, "@@a"), "208");
    assert_eq!(
        cal(&mut asb, &format!("{}@example.com", "x".repeat(130))),
        "208"
    );
    // Invited (pending): 215; present: 215.
    let ring = call(&mut asb, &mut bns, B);
    assert_eq!(cal(&mut asb, B), "215");
    let (_bsb, _) = answer(&ring, B);
    asb.expect(&format!("JOI {B}"));
    assert_eq!(cal(&mut asb, B), "215");
    // The session still works after errors.
    let mut cns2 = online(&server, 7, C, PW);
    let ring = call(&mut asb, &mut cns2, C);
    let (_csb, iro) = answer(&ring, C);
    assert_eq!(iro.len(), 2);
    drop(cns);
}

#[test]
fn switchboard_cookie_is_single_use() {
    let server = TestServer::start(&[(A, PW), (B, PW)]);
    let mut ans = online(&server, 7, A, PW);
    let (addr, cookie) = xfr(&mut ans);
    let mut sb1 = Client::connect(addr);
    sb1.send(&format!("USR 1 {A} {cookie}"));
    sb1.expect(&format!("USR 1 OK {A} "));
    let mut sb2 = Client::connect(addr);
    sb2.send(&format!("USR 1 {A} {cookie}"));
    assert_eq!(sb2.expect_closed(), vec!["911 1"]);
    // The first session is unaffected.
    let mut bns = online(&server, 7, B, PW);
    call(&mut sb1, &mut bns, B);
}

#[test]
fn switchboard_cookie_is_bound_to_its_user() {
    let server = TestServer::start(&[(A, PW), (B, PW)]);
    let mut ans = online(&server, 7, A, PW);
    let _bns = online(&server, 7, B, PW);
    let (addr, cookie) = xfr(&mut ans);
    let mut sb = Client::connect(addr);
    sb.send(&format!("USR 4 {B} {cookie}"));
    assert_eq!(sb.expect_closed(), vec!["911 4"]);
    // Presenting it to the wrong user burnt it.
    let mut sb = Client::connect(addr);
    sb.send(&format!("USR 5 {A} {cookie}"));
    assert_eq!(sb.expect_closed(), vec!["911 5"]);
    // Made-up cookie.
    let mut sb = Client::connect(addr);
    sb.send(&format!("USR 6 {A} 12345.67890"));
    assert_eq!(sb.expect_closed(), vec!["911 6"]);
}

#[test]
fn ans_with_wrong_session_or_cookie_kind_is_refused() {
    let server = TestServer::start(&[(A, PW), (B, PW)]);
    let mut ans = online(&server, 7, A, PW);
    let mut bns = online(&server, 7, B, PW);
    let (mut asb, _) = open(&mut ans, A);

    // Wrong session id.
    let ring = call(&mut asb, &mut bns, B);
    let wrong: u32 = ring.sessid.parse::<u32>().unwrap() % 99_999_999 + 1;
    let mut bsb = Client::connect(ring.addr);
    bsb.send(&format!("ANS 1 {B} {} {wrong}", ring.cookie));
    assert_eq!(bsb.expect_closed(), vec!["911 1"]);
    asb.expect_silence(QUIET);
    // That RNG cookie is spent now.
    let mut bsb = Client::connect(ring.addr);
    bsb.send(&format!("ANS 2 {B} {} {}", ring.cookie, ring.sessid));
    assert_eq!(bsb.expect_closed(), vec!["911 2"]);

    // An RNG cookie cannot open a new session with USR.
    let (mut asb2, _) = open(&mut ans, A);
    let ring = call(&mut asb2, &mut bns, B);
    let mut bsb = Client::connect(ring.addr);
    bsb.send(&format!("USR 3 {B} {}", ring.cookie));
    assert_eq!(bsb.expect_closed(), vec!["911 3"]);

    // An XFR cookie cannot join a session with ANS.
    let (mut asb3, _) = open(&mut ans, A);
    let ring = call(&mut asb3, &mut bns, B);
    let (addr, cookie) = xfr(&mut bns);
    let mut bsb = Client::connect(addr);
    bsb.send(&format!("ANS 4 {B} {cookie} {}", ring.sessid));
    assert_eq!(bsb.expect_closed(), vec!["911 4"]);
    asb3.expect_silence(QUIET);
}

#[test]
fn commands_before_joining_close_the_connection() {
    let server = TestServer::start(&[(A, PW), (B, PW)]);
    for line in [
        "MSG 1 N 5",
        "CAL 1 bob@example.com",
        "VER 1 MSNP7 CVR0",
        "XYZ 1",
    ] {
        let mut sb = Client::connect(server.sb);
        if line.starts_with("MSG") {
            sb.send_payload(line, b"hello");
        } else {
            sb.send(line);
        }
        assert_eq!(sb.expect_closed(), Vec::<String>::new(), "after {line}");
    }
    // USR after an error-free connect still works, i.e. the server is fine.
    let mut ans = online(&server, 7, A, PW);
    open(&mut ans, A);
}

#[test]
fn xfr_sb_requires_a_visible_status() {
    let server = TestServer::start(&[(A, PW)]);
    let (mut ns, _) = login_md5(&server, 7, A, PW);
    ns.send("XFR 9 SB");
    ns.expect("913 9");
    ns.send("CHG 10 HDN");
    ns.until("CHG 10 HDN");
    ns.send("XFR 11 SB");
    ns.expect("913 11");
    ns.send("CHG 12 NLN");
    ns.until("CHG 12 NLN");
    ns.send("XFR 13 SB");
    ns.expect("XFR 13 SB ");
}

#[test]
fn oversized_payload_closes_only_that_connection() {
    let server = three_users();
    let mut ans = online(&server, 7, A, PW);
    let mut bns = online(&server, 7, B, PW);
    let mut cns = online(&server, 7, C, PW);
    let (mut asb, _) = open(&mut ans, A);
    let (mut bsb, _) = answer(&call(&mut asb, &mut bns, B), B);
    asb.expect("JOI ");
    let (mut csb, _) = answer(&call(&mut asb, &mut cns, C), C);
    asb.expect("JOI ");
    bsb.expect("JOI ");

    // Exactly 1664 bytes is fine.
    let mut max = text("");
    max.resize(1664, b'x');
    let t = send_msg(&mut bsb, "A", &max);
    assert_eq!(bsb.line(), format!("ACK {t}"));
    expect_relay(&mut asb, B, B, &max);
    expect_relay(&mut csb, B, B, &max);

    // 1665: Bob is dropped, nothing relayed.
    let mut big = max.clone();
    big.push(b'y');
    send_msg(&mut bsb, "A", &big);
    assert!(!bsb.expect_closed().iter().any(|l| l.starts_with("ACK")));
    assert_eq!(asb.line(), format!("BYE {B}"));
    assert_eq!(csb.line(), format!("BYE {B}"));

    // The others keep working.
    let m = text("still here");
    let t = send_msg(&mut asb, "A", &m);
    assert_eq!(asb.line(), format!("ACK {t}"));
    expect_relay(&mut csb, A, A, &m);
    // And Bob's NS session is untouched.
    bns.send("PNG");
    bns.expect("QNG");
}

#[test]
fn p2p_message_goes_only_to_its_destination() {
    let server = three_users();
    let mut ans = online(&server, 7, A, PW);
    let mut bns = online(&server, 7, B, PW);
    let mut cns = online(&server, 7, C, PW);
    let (mut asb, _) = open(&mut ans, A);
    let (mut bsb, _) = answer(&call(&mut asb, &mut bns, B), B);
    asb.expect("JOI ");
    let (mut csb, _) = answer(&call(&mut asb, &mut cns, C), C);
    asb.expect("JOI ");
    bsb.expect("JOI ");

    let mut p2p = format!(
        "MIME-Version: 1.0\r\nContent-Type: application/x-msnmsgrp2p\r\nP2P-Dest: {C}\r\n\r\n"
    )
    .into_bytes();
    p2p.extend_from_slice(&[0u8; 48]);
    p2p.extend_from_slice(&[0, 0, 0, 1]);
    let t = send_msg(&mut asb, "D", &p2p);
    assert_eq!(asb.line(), format!("ACK {t}"));
    expect_relay(&mut csb, A, A, &p2p);
    // Bob must not see it: the next thing he gets is the following broadcast.
    let m = text("broadcast");
    send_msg(&mut asb, "N", &m);
    expect_relay(&mut bsb, A, A, &m);
    expect_relay(&mut csb, A, A, &m);

    // P2P-Dest naming someone outside the session: broadcast like any message.
    let mut other = "MIME-Version: 1.0\r\nContent-Type: application/x-msnmsgrp2p\r\nP2P-Dest: zed@example.com\r\n\r\n".to_string()
    .into_bytes();
    other.extend_from_slice(&[1u8; 52]);
    let t = send_msg(&mut asb, "D", &other);
    assert_eq!(asb.line(), format!("ACK {t}"));
    expect_relay(&mut bsb, A, A, &other);
    expect_relay(&mut csb, A, A, &other);

    // A P2P-Dest header in a non-P2P message does not route.
    let plain = format!("MIME-Version: 1.0\r\nContent-Type: text/plain\r\nP2P-Dest: {C}\r\n\r\nhi")
        .into_bytes();
    send_msg(&mut asb, "N", &plain);
    expect_relay(&mut bsb, A, A, &plain);
    expect_relay(&mut csb, A, A, &plain);
    bsb.expect_silence(QUIET);
    csb.expect_silence(QUIET);
}

#[test]
fn unanswered_invite_does_not_block_a_new_call_after_the_callee_signs_in_again() {
    let server = TestServer::start(&[(A, PW), (B, PW)]);
    let mut ans = online(&server, 7, A, PW);
    let (mut asb, _) = open(&mut ans, A);
    let mut bns = online(&server, 7, B, PW);
    let first = call(&mut asb, &mut bns, B);
    // Pending: a second CAL is refused.
    assert_eq!(cal(&mut asb, B), "215");
    // Bob's client never answers and signs out; later he is back.
    bns.send("OUT");
    bns.expect_closed();
    let mut bns = online(&server, 7, B, PW);
    let second = call(&mut asb, &mut bns, B);
    assert_eq!(second.sessid, first.sessid);
    // The old RNG cookie is dead once superseded; the new one works.
    let (_bsb, iro) = answer(&second, B);
    assert_eq!(iro, vec![format!("IRO 1 1 1 {A} {A}")]);
    asb.expect(&format!("JOI {B} "));
}

/// Renames reach the switchboards the user is in, found through the registry's index: a
/// callee renamed between ring and answer joins under the new name (the switchboard announced
/// the invitee to the registry), and the creator's rename shows on its next message.
#[test]
fn renames_reach_invitees_and_participants() {
    let server = three_users();
    let mut ans = online(&server, 7, A, PW);
    let mut bns = online(&server, 7, B, PW);
    let mut cns = online(&server, 7, C, PW);
    // Someone else's switchboard, which must not disturb anything.
    let (_csb, _) = open(&mut cns, C);
    let (mut asb, _) = open(&mut ans, A);
    let ring = call(&mut asb, &mut bns, B);
    rename(&mut bns, B, "Bob%20New");
    let (mut bsb, _) = answer(&ring, B);
    asb.expect(&format!("JOI {B} Bob%20New"));
    rename(&mut ans, A, "Alice%20New");
    let m = text("renamed");
    send_msg(&mut asb, "N", &m);
    expect_relay(&mut bsb, A, "Alice%20New", &m);
    asb.expect_silence(QUIET);
}
