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

const E: &str = "erin@example.com";

/// Reads `c` until a line starting with each of `prefixes` has arrived (in any order, other lines
/// and their payloads skipped); returns the matched lines in the order of `prefixes`.
fn sees_all(c: &mut Client, prefixes: &[String]) -> Vec<String> {
    let mut found: Vec<Option<String>> = vec![None; prefixes.len()];
    while found.iter().any(Option::is_none) {
        let l = c.line();
        if let Some(i) = prefixes
            .iter()
            .enumerate()
            .position(|(i, p)| found[i].is_none() && l.starts_with(p.as_str()))
        {
            found[i] = Some(l);
        } else if let Some(n) = payload_len(&l) {
            c.payload(n);
        }
    }
    found.into_iter().map(Option::unwrap).collect()
}

/// The initial `<ml l="1">` naming `handles` (all @example.com) on `lists`.
fn ml(handles: &[&str], lists: u8) -> String {
    let mut s = String::from("<ml l=\"1\"><d n=\"example.com\">");
    for h in handles {
        let local = h.split('@').next().unwrap();
        s.push_str(&format!("<c n=\"{local}\" l=\"{lists}\" t=\"1\"/>"));
    }
    s.push_str("</d></ml>");
    s
}

/// Issue 19's "done means": a WLM 2009 user (MSNP18), a WLM 8.5 user (MSNP15), an MSN 7.5 user
/// (MSNP12) and an MSN 4.7 user (MSNP7) are each other's contacts, each added the others with
/// its own client's command (ADL, ADC, ADD), see each other's status in their own dialect, and
/// chat in one switchboard conversation where every message and typing notice reaches the
/// other three.
#[test]
fn wlm_2009_wlm_8_5_msn_7_5_and_msn_4_7_are_contacts_and_chat_together() {
    let users = &[(A, PW), (B, PW), (C, PW), (E, PW)];
    let server = TestServer::start(users);
    let (wlm09, wlm85, msn75, msn47) = (A, B, C, E);
    // Lists: each adds the other three to its forward and allow lists its own way.
    let mut e = online_any(&server, 7, msn47, PW);
    for h in [wlm09, wlm85, msn75] {
        for list in ["FL", "AL"] {
            let t = e.t();
            e.send(&format!("ADD {t} {list} {h} {h}"));
            e.until(&format!("ADD {t} {list} "));
        }
    }
    e.send("OUT");
    e.expect_closed();
    let mut c = online_any(&server, 12, msn75, PW);
    for h in [wlm09, wlm85, msn47] {
        for list in ["FL", "AL"] {
            let t = c.t();
            c.send(&format!("ADC {t} {list} N={h} F={h}"));
            c.until(&format!("ADC {t} {list} N={h}"));
        }
    }
    c.send("OUT");
    c.expect_closed();
    for (version, me, others, guid) in [
        (15, wlm85, [wlm09, msn75, msn47], None),
        (18, wlm09, [wlm85, msn75, msn47], Some(GA)),
    ] {
        let mut w = sign_in(&server, version, me, PW, guid).ns;
        let adl = ml(&others, 3); // FL + AL
        w.send_payload(&format!("ADL 5 {}", adl.len()), adl.as_bytes());
        w.until("ADL 5 OK");
        w.send("OUT");
        w.expect_closed();
    }
    // What MSN 4.7 sees in SYN: the other three on FL, AL and RL (they added it back).
    let mut e = login_md5(&server, 7, msn47, PW).0;
    e.send("SYN 5 0");
    e.until("SYN 5 ");
    let mut wanted: Vec<(&str, &str)> = [wlm09, wlm85, msn75]
        .into_iter()
        .flat_map(|h| ["FL", "AL", "RL"].map(|l| (l, h)))
        .collect();
    while !wanted.is_empty() {
        let l = e.until("LST 5 ").0;
        wanted.retain(|(list, h)| {
            !(l.starts_with(&format!("LST 5 {list} ")) && l.contains(&format!(" {h} ")))
        });
    }
    // Presence, signing in oldest first: each newcomer gets the others' ILN, the others its NLN.
    e.send("CHG 6 NLN");
    e.expect("CHG 6 NLN");
    let mut c = online_any(&server, 12, msn75, PW);
    let iln = c.until("ILN ").0;
    assert!(iln.contains(&format!(" NLN {msn47} {msn47}")), "{iln}");
    sees_all(&mut e, &[format!("NLN NLN {msn75} {msn75}")]);
    let mut b = sign_in(&server, 15, wlm85, PW, None).ns;
    b.send("CHG 5 NLN 1342210084");
    b.until("CHG 5 NLN 1342210084");
    sees_all(
        &mut b,
        &[
            format!("ILN 5 NLN {msn47} 1 {msn47}"),
            format!("ILN 5 NLN {msn75} 1 {msn75}"),
        ],
    );
    sees_all(&mut e, &[format!("NLN NLN {wlm85} {wlm85}")]);
    sees_all(&mut c, &[format!("NLN NLN {wlm85} {wlm85} 1342210084")]);
    let mut a = sign_in(&server, 18, wlm09, PW, Some(GA)).ns;
    a.send("CHG 5 NLN 2789003324:48 0");
    a.until("CHG 5 NLN 2789003324:48");
    // MSNP18's ILN in the MSNP14 shape libpurple reads (Dialect::iln_address).
    sees_all(
        &mut a,
        &[
            format!("ILN 5 NLN {msn47} 1 {msn47}"),
            format!("ILN 5 NLN {msn75} 1 {msn75}"),
            format!("ILN 5 NLN {wlm85} 1 {wlm85} 1342210084"),
        ],
    );
    sees_all(&mut e, &[format!("NLN NLN {wlm09} {wlm09}")]);
    sees_all(&mut c, &[format!("NLN NLN {wlm09} {wlm09} 2789003324")]);
    sees_all(&mut b, &[format!("NLN NLN {wlm09} 1 {wlm09} 2789003324")]);
    // MSN 4.7 goes busy: each sees it in its own form.
    e.send("CHG 7 BSY");
    e.expect("CHG 7 BSY");
    sees_all(&mut c, &[format!("NLN BSY {msn47} {msn47}")]);
    sees_all(&mut b, &[format!("NLN BSY {msn47} 1 {msn47}")]);
    sees_all(&mut a, &[format!("NLN BSY 1:{msn47} {msn47}")]);
    // One conversation: WLM 2009 opens it and invites the other three.
    a.send("XFR 6 SB");
    let (xfr, _) = a.until("XFR 6 SB ");
    let f: Vec<&str> = xfr.split(' ').collect();
    let mut sa = Client::connect(f[3].parse().unwrap());
    sa.send(&format!("USR 1 {wlm09};{GA} {}", f[5]));
    sa.expect(&format!("USR 1 OK {wlm09} "));
    // Each joiner is announced to those already there before the next is invited.
    let (mut sb, _) = ring(&mut sa, 2, wlm85, &mut b, wlm85);
    sees_all(&mut sa, &[format!("JOI {wlm85} {wlm85} ")]);
    let (mut sc, _) = ring(&mut sa, 3, msn75, &mut c, msn75);
    for p in [&mut sa, &mut sb] {
        sees_all(p, &[format!("JOI {msn75} {msn75} ")]);
    }
    let (se, iros) = ring(&mut sa, 4, msn47, &mut e, msn47);
    assert_eq!(
        iros,
        vec![
            format!("IRO 1 1 3 {wlm09} {wlm09}"),
            format!("IRO 1 2 3 {wlm85} {wlm85}"),
            format!("IRO 1 3 3 {msn75} {msn75}"),
        ],
        "MSN 4.7 is told of the three in its own form"
    );
    for p in [&mut sa, &mut sb, &mut sc] {
        sees_all(p, &[format!("JOI {msn47} {msn47}")]);
    }
    // Each writes (non-ASCII) and types; the other three get every message byte for byte.
    let mut sbs = [(wlm09, sa), (wlm85, sb), (msn75, sc), (msn47, se)];
    for i in 0..sbs.len() {
        let who = sbs[i].0;
        for (n, body) in [
            typing(who),
            text(&format!("h\u{e9}llo from {who} \u{2713}")),
        ]
        .into_iter()
        .enumerate()
        {
            let t = 10 + n;
            sbs[i]
                .1
                .send_payload(&format!("MSG {t} U {}", body.len()), &body);
            for (j, (_, other)) in sbs.iter_mut().enumerate() {
                if j == i {
                    continue;
                }
                let (head, got) = other.expect_payload(&format!("MSG {who} {who} "));
                assert_eq!(head, format!("MSG {who} {who} {}", body.len()));
                assert_eq!(got, body, "{who}'s message to participant {j}");
            }
        }
    }
    // MSN 4.7 leaves: the other three see it go; the conversation goes on without it.
    sbs[3].1.send("OUT");
    for (_, other) in sbs.iter_mut().take(3) {
        assert_eq!(other.line(), format!("BYE {msn47}"));
    }
    let last = text("still here");
    sbs[2]
        .1
        .send_payload(&format!("MSG 20 U {}", last.len()), &last);
    for (_, other) in sbs.iter_mut().take(2) {
        assert_eq!(other.expect_payload(&format!("MSG {msn75} ")).1, last);
    }
}
