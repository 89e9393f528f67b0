//! Presence across versions with WLM (MSNP13-18): CHG with `caps:capsex`, UUX/UBX, NLN/ILN/FLN
//! with network ids (MSNP14+) and `1:` prefixes (MSNP18), each watcher in its own dialect; the
//! commands WLM has that msnpd refuses (circles, Yahoo messages).

mod common;
mod wlm_common;

use common::*;
use wlm_common::*;

const A: &str = "alice@example.com";
const B: &str = "bob@example.com";
const D: &str = "dave@example.com";
const PW: &str = "secret";
const USERS: &[(&str, &str)] = &[(A, PW), (B, PW), (D, PW)];
const GUID: &str = "{F26D1F07-95E2-403C-BC18-D4BFED493428}";

/// `a` and `b` on each other's forward and allow lists, set up through MSNP12 (the lists WLM
/// reads over SOAP are the same rows).
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

#[test]
fn presence_reaches_each_watcher_in_its_own_dialect() {
    let server = TestServer::start(USERS);
    befriend(&server, A, B);
    befriend(&server, A, D);
    // Bob (MSN 7.5, MSNP12) is online first.
    let mut bob = online_any(&server, 12, B, PW);
    // Alice on WLM 2009 (MSNP18), as libpurple sets its status.
    let mut alice = sign_in(&server, 18, A, PW, Some(GUID)).ns;
    alice.send("CHG 12 NLN 2789003324:48 0");
    let (chg, before) = alice.until("CHG 12 ");
    assert_eq!(chg, "CHG 12 NLN 2789003324:48 0");
    assert!(before.is_empty(), "{before:?}");
    // MSNP18 answers ILN in the MSNP14 shape, which libpurple reads (Dialect::iln_address).
    assert_eq!(alice.line(), format!("ILN 12 NLN {B} 1 {B} 0:0"));
    assert_eq!(bob.line(), format!("NLN NLN {A} {A} 2789003324"));
    // Her personal message: bob gets it as he understands it.
    let psm = format!(
        "<Data><PSM>caf\u{e9} time</PSM><CurrentMedia></CurrentMedia><MachineGuid>{GUID}</MachineGuid></Data>"
    );
    alice.send_payload(&format!("UUX 13 {}", psm.len()), psm.as_bytes());
    assert_eq!(alice.line(), "UUX 13 0");
    let (ubx, body) = bob.expect_payload("UBX ");
    assert_eq!(ubx, format!("UBX {A} {}", psm.len()));
    assert_eq!(body, psm.as_bytes());
    // libpurple's separate endpoint UUXes: accepted, nothing private reaches bob. Her own
    // endpoints hear of each (the self UBX, MSNP16+), possibly before the UUX answer.
    let ep = "<EndpointData><Capabilities>2789003324:48</Capabilities></EndpointData>";
    alice.send_payload(&format!("UUX 14 {}", ep.len()), ep.as_bytes());
    let private = "<PrivateEndpointData><EpName>HOME-PC</EpName><Idle>false</Idle><ClientType>1</ClientType><State>NLN</State></PrivateEndpointData>";
    alice.send_payload(&format!("UUX 15 {}", private.len()), private.as_bytes());
    let mut own = Vec::new();
    let mut answered = 0;
    while answered < 2 || own.len() < 2 {
        let l = alice.line();
        if l.starts_with("UBX ") {
            assert!(l.starts_with(&format!("UBX 1:{A} ")), "{l}");
            let n = payload_len(&l).unwrap();
            own.push(String::from_utf8(alice.payload(n)).unwrap());
        } else {
            assert!(l == "UUX 14 0" || l == "UUX 15 0", "{l}");
            answered += 1;
        }
    }
    let last = own.last().unwrap();
    assert!(last.contains("<EpName>HOME-PC</EpName>"), "{last}");
    assert!(last.contains(&format!("<EndpointData id=\"{GUID}\"><Capabilities>2789003324:48</Capabilities></EndpointData><PrivateEndpointData id=\"{GUID}\">")), "{last}");
    assert!(
        last.starts_with("<Data><PSM>caf\u{e9} time</PSM>"),
        "{last}"
    );
    bob.send("PNG");
    assert!(bob.line().starts_with("QNG "), "bob got nothing more");
    // Bob changes status and his PSM: alice gets `1:` forms and `caps:capsex`.
    bob.send("CHG 20 BSY 1073741824");
    bob.expect("CHG 20 BSY 1073741824");
    assert_eq!(alice.line(), format!("NLN BSY 1:{B} {B} 1073741824:0"));
    let bpsm = b"<Data><PSM>busy</PSM><CurrentMedia></CurrentMedia></Data>";
    bob.send_payload(&format!("UUX 21 {}", bpsm.len()), bpsm);
    bob.expect("UUX 21 0");
    let (ubx, body) = alice.expect_payload("UBX ");
    assert_eq!(ubx, format!("UBX 1:{B} {}", bpsm.len()));
    assert_eq!(body, bpsm);
    // Dave on WLM 8.1 (MSNP14): network ids after the handle.
    let mut dave = sign_in(&server, 14, D, PW, None).ns;
    dave.send("CHG 5 NLN 1342210084");
    dave.expect("CHG 5 NLN 1342210084");
    assert_eq!(dave.line(), format!("ILN 5 NLN {A} 1 {A} 2789003324"));
    let (ubx, body) = dave.expect_payload("UBX ");
    assert_eq!(ubx, format!("UBX {A} 1 {}", psm.len()));
    assert_eq!(body, psm.as_bytes());
    assert_eq!(alice.line(), format!("NLN NLN 1:{D} {D} 1342210084:0"));
    // Alice signs out: each watcher's FLN.
    alice.send("OUT");
    alice.expect_closed();
    assert_eq!(bob.line(), format!("FLN {A}"));
    assert_eq!(dave.line(), format!("FLN {A} 1"));
}

#[test]
fn circles_yahoo_and_bad_payloads_are_refused_cleanly() {
    let server = TestServer::start(USERS);
    let mut alice = sign_in(&server, 18, A, PW, Some(GUID)).ns;
    // Circles (MSNP18): refused, the session goes on.
    let put = "Routing: 1.0\r\nTo: 9:00000000-0000-0000-0000-000000000009@live.com\r\n\r\n";
    alice.send_payload(&format!("PUT 5 {}", put.len()), put.as_bytes());
    assert_eq!(alice.line(), "502 5");
    alice.send_payload(&format!("SDG 6 {}", put.len()), put.as_bytes());
    assert_eq!(alice.line(), "502 6");
    // A Yahoo message: no such network here.
    alice.send_payload("UUM 7 32:y@yahoo.com 1 3", b"hey");
    assert_eq!(alice.line(), "502 7");
    alice.send("PNG");
    alice.expect("QNG ");
    // A DOCTYPE in a UUX: hung up, nothing expanded.
    let bad = "<!DOCTYPE d [<!ENTITY x \"y\">]><Data><PSM>&x;</PSM></Data>";
    alice.send_payload(&format!("UUX 8 {}", bad.len()), bad.as_bytes());
    alice.expect_closed();
    // In MSNP13 the circle verbs do not exist: the service hung up.
    let mut old = sign_in(&server, 13, B, PW, None).ns;
    old.send_payload(&format!("PUT 5 {}", put.len()), put.as_bytes());
    old.expect_closed();
}
