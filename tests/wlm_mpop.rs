//! MPOP (MSNP16+): one account signed in at several endpoints at once, keyed by machine GUID;
//! the self `UBX` listing the endpoints; notices and switchboard invitations reaching every
//! endpoint; `UUN ... goawyplzthxbye` signing one endpoint out; an older dialect, or the same
//! GUID again, replacing sessions with `OUT OTH` as before.

mod common;
mod wlm_common;

use common::*;
use wlm_common::*;

const A: &str = "alice@example.com";
const B: &str = "bob@example.com";
const PW: &str = "secret";
const USERS: &[(&str, &str)] = &[(A, PW), (B, PW)];
const G1: &str = "{11111111-2222-3333-4444-555555555555}";
const G2: &str = "{66666666-7777-8888-9999-AAAAAAAAAAAA}";

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

/// Reads lines until `want`, reading `UBX` payloads; returns the self-`UBX` bodies seen.
fn until_with_ubx(c: &mut Client, want: &str) -> Vec<String> {
    let mut bodies = Vec::new();
    loop {
        let l = c.line();
        if l.starts_with(want) {
            return bodies;
        }
        if l.starts_with("UBX ") {
            let n = payload_len(&l).unwrap();
            bodies.push(String::from_utf8(c.payload(n)).unwrap());
        }
    }
}

#[test]
fn two_endpoints_online_at_once_and_one_signs_the_other_out() {
    let server = TestServer::start(USERS);
    befriend(&server, A, B);
    let mut bob = online_any(&server, 12, B, PW);
    let mut e1 = sign_in(&server, 18, A, PW, Some(G1)).ns;
    e1.send("CHG 5 NLN 2789003324:48 0");
    e1.until("CHG 5 ");
    bob.expect(&format!("NLN NLN {A} {A} 2789003324"));
    // The second endpoint: the first stays; both hear of the two endpoints.
    let mut e2 = sign_in(&server, 18, A, PW, Some(G2)).ns;
    // (`sign_in` read its self UBX, which named it.)
    e2.send("CHG 5 NLN 2789003324:48 0");
    until_with_ubx(&mut e2, "CHG 5 ");
    e1.send("PNG");
    let own = until_with_ubx(&mut e1, "QNG ");
    assert!(
        own.iter().any(|b| b.contains(G1) && b.contains(G2)),
        "{own:?}"
    );
    // A notice reaches both endpoints.
    bob.send("CHG 9 BSY 0");
    bob.until("CHG 9 BSY 0");
    for e in [&mut e1, &mut e2] {
        let (nln, _) = e.until("NLN ");
        assert_eq!(nln, format!("NLN BSY 1:{B} {B} 0:0"));
    }
    // A switchboard invitation rings both; the second answers.
    bob.send("XFR 10 SB");
    let (xfr, _) = bob.until("XFR 10 SB ");
    let f: Vec<&str> = xfr.split(' ').collect();
    let mut sb = Client::connect(f[3].parse().unwrap());
    sb.send(&format!("USR 1 {B} {}", f[5]));
    sb.expect("USR 1 OK ");
    sb.send(&format!("CAL 2 {A}"));
    sb.expect("CAL 2 RINGING ");
    let (rng1, _) = e1.until("RNG ");
    let (rng2, _) = e2.until("RNG ");
    assert_eq!(rng1, rng2);
    let r: Vec<&str> = rng2.split(' ').collect();
    let mut sa = Client::connect(r[2].parse().unwrap());
    sa.send(&format!("ANS 1 {A};{G2} {} {}", r[4], r[1]));
    let (_, iros) = sa.until("ANS 1 OK");
    assert_eq!(iros, vec![format!("IRO 1 1 1 {B} {B} 0")]);
    assert_eq!(sb.line(), format!("JOI {A} {A} 2789003324"));
    // The second endpoint signs the first out.
    let bye = "goawyplzthxbye";
    e2.send_payload(&format!("UUN 20 {A};{G1} 4 {}", bye.len()), bye.as_bytes());
    let (ubn, _) = e1.until("UBN ");
    assert_eq!(ubn, format!("UBN 1:{A} 4 {}", bye.len()));
    assert_eq!(e1.payload(bye.len()), bye.as_bytes());
    e1.expect_closed();
    let own = until_with_ubx(&mut e2, "UUN 20 OK");
    let own = own.last().cloned().unwrap_or_default();
    assert!(own.contains(G2) && !own.contains(G1), "{own}");
    // Alice is still online for bob (no FLN), and her conversation goes on.
    bob.send("PNG");
    bob.expect("QNG ");
    let hi = b"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\nstill here";
    sa.send_payload(&format!("MSG 2 N {}", hi.len()), hi);
    let (_, got) = sb.expect_payload(&format!("MSG {A} "));
    assert_eq!(got, hi);
    // UUN to an endpoint that is gone, or a contact who is offline: 217; another network: 204.
    e2.send_payload(&format!("UUN 21 {A};{G1} 4 {}", bye.len()), bye.as_bytes());
    assert_eq!(e2.line(), "217 21");
    e2.send_payload("UUN 22 nobody@example.com 2 2", b"hi");
    assert_eq!(e2.line(), "217 22");
    e2.send_payload("UUN 23 32:y@yahoo.com 2 2", b"hi");
    assert_eq!(e2.line(), "204 23");
    // A contact whose client has no UBN (MSNP12) is not sent one: 217.
    e2.send_payload(&format!("UUN 24 {B} 2 2"), b"hi");
    assert_eq!(e2.line(), "217 24");
    // An older dialect signing in (no MPOP) replaces every endpoint, as before.
    let mut old = sign_in(&server, 15, A, PW, None).ns;
    e2.until("OUT OTH");
    e2.expect_closed();
    old.send("PNG");
    old.expect("QNG ");
}

#[test]
fn the_same_machine_guid_again_replaces_only_that_endpoint() {
    let server = TestServer::start(USERS);
    let mut e1 = sign_in(&server, 18, A, PW, Some(G1)).ns;
    let mut e2 = sign_in(&server, 16, A, PW, Some(G2)).ns;
    let mut again = sign_in(&server, 18, A, PW, Some(G1)).ns;
    e1.until("OUT OTH");
    e1.expect_closed();
    for e in [&mut e2, &mut again] {
        e.send("PNG");
        until_with_ubx(e, "QNG ");
    }
}
