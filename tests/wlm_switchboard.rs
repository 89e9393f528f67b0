//! One conversation with MSN 1.0 (MSNP2), MSN 7.5 (MSNP12) and WLM 2009 (MSNP18) participants:
//! each sees `IRO`/`JOI` in its own form (`email;{guid}` and capabilities only where its dialect
//! has them), messages with non-ASCII text and typing notices go every way, and a P2P frame
//! addressed to one MSNP18 endpoint reaches only that participant, byte for byte.

mod common;
mod wlm_common;

use common::*;
use std::net::SocketAddr;
use wlm_common::*;

const A: &str = "alice@example.com";
const B: &str = "bob@example.com";
const C: &str = "carol@example.com";
const D: &str = "dave@example.com";
const PW: &str = "secret";
const USERS: &[(&str, &str)] = &[(A, PW), (B, PW), (C, PW), (D, PW)];
const GA: &str = "{F26D1F07-95E2-403C-BC18-D4BFED493428}";
const GD: &str = "{0A1B2C3D-4E5F-6A7B-8C9D-0E1F2A3B4C5D}";

fn befriend(server: &TestServer, a: &str, b: &str) {
    for (me, other) in [(a, b), (b, a)] {
        let mut c = online_any(server, 12, me, PW);
        for list in ["FL", "AL"] {
            let t = c.t();
            c.send(&format!("ADC {t} {list} N={other} F={other}"));
            c.until(&format!("ADC {t} {list} N={other}"));
        }
        c.send("OUT");
        c.expect_closed();
    }
}

/// Rings `who` from `caller`'s switchboard and answers on `callee_ns` as `answer_as`; returns
/// the callee's switchboard connection after `ANS 1 OK`, and the lines before it (the IROs).
fn ring(
    sb: &mut Client,
    trid: u32,
    who: &str,
    callee_ns: &mut Client,
    answer_as: &str,
) -> (Client, Vec<String>) {
    sb.send(&format!("CAL {trid} {who}"));
    sb.expect(&format!("CAL {trid} RINGING "));
    let (rng, _) = callee_ns.until("RNG ");
    let r: Vec<&str> = rng.split(' ').collect();
    let mut c = Client::connect(r[2].parse().unwrap());
    c.send(&format!("ANS 1 {answer_as} {} {}", r[4], r[1]));
    let (_, iros) = c.until("ANS 1 OK");
    (c, iros)
}

fn text(body: &str) -> Vec<u8> {
    format!("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\nX-MMS-IM-Format: FN=Segoe%20UI; EF=; CO=0; CS=1; PF=0\r\n\r\n{body}").into_bytes()
}

fn typing(who: &str) -> Vec<u8> {
    format!(
        "MIME-Version: 1.0\r\nContent-Type: text/x-msmsgscontrol\r\nTypingUser: {who}\r\n\r\n\r\n"
    )
    .into_bytes()
}

#[test]
fn msnp2_msnp12_and_msnp18_in_one_conversation() {
    let server = TestServer::start(USERS);
    for (x, y) in [(A, B), (A, C), (A, D), (B, C), (B, D), (C, D)] {
        befriend(&server, x, y);
    }
    let mut bob = online_any(&server, 12, B, PW);
    let mut carol = online_any(&server, 2, C, PW);
    let mut dave = sign_in(&server, 18, D, PW, Some(GD)).ns;
    dave.send("CHG 5 NLN 2789003324:48 0");
    dave.until("CHG 5 ");
    let mut alice = sign_in(&server, 18, A, PW, Some(GA)).ns;
    alice.send("CHG 5 NLN 2789003324:48 0");
    alice.until("CHG 5 ");
    alice.send("XFR 6 SB");
    let (xfr, _) = alice.until("XFR 6 SB ");
    let f: Vec<&str> = xfr.split(' ').collect();
    let addr: SocketAddr = f[3].parse().unwrap();
    // WLM 2009 names its endpoint on the switchboard.
    let mut sa = Client::connect(addr);
    sa.send(&format!("USR 1 {A};{GA} {}", f[5]));
    assert_eq!(sa.line(), format!("USR 1 OK {A} {A}"));
    // Bob (MSNP12) joins: plain handle with caps; alice sees him as MSNP18 does (no endpoint).
    let (mut sb, iros) = ring(&mut sa, 2, B, &mut bob, B);
    assert_eq!(iros, vec![format!("IRO 1 1 1 {A} {A} 2789003324")]);
    assert_eq!(sa.line(), format!("JOI {B} {B} 0"));
    // Carol (MSNP2): no caps anywhere in her lines.
    let (mut sc, iros) = ring(&mut sa, 3, C, &mut carol, C);
    assert_eq!(
        iros,
        vec![format!("IRO 1 1 2 {A} {A}"), format!("IRO 1 2 2 {B} {B}")]
    );
    assert_eq!(sa.line(), format!("JOI {C} {C} 0"));
    assert_eq!(sb.line(), format!("JOI {C} {C} 0"));
    // Dave (MSNP18) joins as an endpoint: he sees alice's endpoint, she sees his.
    let (mut sd, iros) = ring(&mut sa, 4, D, &mut dave, &format!("{D};{GD}"));
    assert_eq!(
        iros,
        vec![
            format!("IRO 1 1 3 {A};{GA} {A} 2789003324"),
            format!("IRO 1 2 3 {B} {B} 0"),
            format!("IRO 1 3 3 {C} {C} 0"),
        ]
    );
    assert_eq!(sa.line(), format!("JOI {D};{GD} {D} 2789003324"));
    assert_eq!(sb.line(), format!("JOI {D} {D} 2789003324"));
    assert_eq!(sc.line(), format!("JOI {D} {D}"));
    // Alice writes (non-ASCII): everyone gets it byte for byte.
    let hello = text("h\u{e9}llo, \u{65e5}\u{672c}");
    sa.send_payload(&format!("MSG 5 A {}", hello.len()), &hello);
    for c in [&mut sb, &mut sc, &mut sd] {
        let (head, got) = c.expect_payload(&format!("MSG {A} {A} "));
        assert_eq!(head, format!("MSG {A} {A} {}", hello.len()));
        assert_eq!(got, hello);
    }
    sa.expect("ACK 5");
    // Bob types, then carol answers: both reach WLM.
    let t = typing(B);
    sb.send_payload(&format!("MSG 6 U {}", t.len()), &t);
    for c in [&mut sa, &mut sc, &mut sd] {
        let (_, got) = c.expect_payload(&format!("MSG {B} {B} "));
        assert_eq!(got, t);
    }
    let reply = text("hi from 1999");
    sc.send_payload(&format!("MSG 7 N {}", reply.len()), &reply);
    for c in [&mut sa, &mut sb, &mut sd] {
        let (_, got) = c.expect_payload(&format!("MSG {C} {C} "));
        assert_eq!(got, reply);
    }
    // A P2P frame for dave's endpoint: only dave gets it, unchanged (binary header included).
    let mut p2p = format!(
        "MIME-Version: 1.0\r\nContent-Type: application/x-msnmsgrp2p\r\nP2P-Dest: {D};{GD}\r\nP2P-Src: {A};{GA}\r\n\r\n"
    )
    .into_bytes();
    p2p.extend((0u8..48).map(|i| i.wrapping_mul(37)));
    p2p.extend_from_slice(&[0, 0, 0, 0]);
    sa.send_payload(&format!("MSG 8 D {}", p2p.len()), &p2p);
    let (_, got) = sd.expect_payload(&format!("MSG {A} {A} "));
    assert_eq!(got, p2p);
    sa.expect("ACK 8");
    // Dave types back; bob's next line is dave's typing, not the P2P frame.
    let t = typing(D);
    sd.send_payload(&format!("MSG 9 U {}", t.len()), &t);
    for c in [&mut sa, &mut sb, &mut sc] {
        let (_, got) = c.expect_payload(&format!("MSG {D} {D} "));
        assert_eq!(got, t);
    }
    // Carol leaves: everyone sees the BYE.
    sc.send("OUT");
    for c in [&mut sa, &mut sb, &mut sd] {
        assert_eq!(c.line(), format!("BYE {C}"));
    }
}
