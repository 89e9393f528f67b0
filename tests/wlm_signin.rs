//! Windows Live Messenger (MSNP13-18): version negotiation, CVR for the WLM builds, MSNP13/14
//! `USR TWN` through the RST.srf envelope, MSNP15+ `USR SSO` with the `MBI_KEY_OLD` answer, and
//! the post-login burst, against the real server, byte for byte.

mod common;
mod wlm_common;

use common::*;
use wlm_common::*;

const A: &str = "alice@example.com";
const B: &str = "bob@example.com";
const PW: &str = "secret";
const USERS: &[(&str, &str)] = &[(A, PW), (B, PW)];
const GUID: &str = "{F26D1F07-95E2-403C-BC18-D4BFED493428}";

#[test]
fn ver_negotiates_up_to_msnp18_and_cvr_answers_every_wlm_build() {
    let server = TestServer::start(USERS);
    for (offer, agreed) in [
        ("MSNP18 MSNP17 MSNP16 MSNP15 CVR0", 18),
        ("MSNP21 MSNP18 CVR0", 18),
        ("MSNP15 MSNP14 MSNP13 CVR0", 15),
        ("MSNP14 MSNP13 MSNP12 CVR0", 14),
        ("MSNP13 CVR0", 13),
    ] {
        let mut c = server.connect();
        c.send(&format!("VER 1 {offer}"));
        assert_eq!(c.line(), format!("VER 1 MSNP{agreed}"));
    }
    // The real service recommended the client's own build or newer; we never force an upgrade:
    // every WLM build is told its own version is current.
    for (v, build) in [
        (13, "8.0.0812"),
        (14, "8.1.0178"),
        (15, "8.5.1302"),
        (18, "14.0.8117.0416"),
    ] {
        let mut c = server.connect();
        c.send(&format!("VER 1 MSNP{v} CVR0"));
        c.expect(&format!("VER 1 MSNP{v}"));
        c.send(&format!("CVR 2 {}", cvr_for(v, A)));
        assert_eq!(
            c.line(),
            format!(
                "CVR 2 {build} {build} {build} http://messenger.msn.com http://messenger.msn.com"
            )
        );
    }
}

#[test]
fn msnp18_sso_sign_in_with_the_libpurple_sequence() {
    let server = TestServer::start(USERS);
    let s = sign_in(&server, 18, A, PW, Some(GUID));
    assert!(
        s.profile
            .contains("Content-Type: text/x-msmsgsprofile; charset=UTF-8\r\n")
    );
    assert!(
        s.profile
            .contains("ABCHMigrated: 1\r\nMPOPEnabled: 1\r\n\r\n"),
        "{}",
        s.profile
    );
    assert!(s.profile.contains("MSPAuth: "));
    let mut ns = s.ns;
    // libpurple's signed ticket for circles, after the burst.
    ns.send("USR 5 SHA A PHNhbWw+");
    assert_eq!(ns.line(), format!("USR 5 OK {A} 0 0"));
    // Lists come from SOAP: SYN is gone (the service hung up on unknown commands).
    ns.send("SYN 6 0 0");
    ns.expect_closed();
}

#[test]
fn msnp15_sso_sign_in_without_machine_guid() {
    let server = TestServer::start(USERS);
    let s = sign_in(&server, 15, A, PW, None);
    assert!(!s.profile.contains("MPOPEnabled"));
    assert!(s.profile.ends_with("ABCHMigrated: 1\r\n\r\n"));
    let mut ns = s.ns;
    ns.send("PNG");
    ns.expect("QNG ");
}

#[test]
fn msnp13_and_14_sign_in_with_twn_through_the_rst_envelope() {
    let server = TestServer::start(USERS);
    for v in [13, 14] {
        let mut s = sign_in(&server, v, A, PW, None);
        assert!(s.profile.ends_with("ABCHMigrated: 1\r\n\r\n"));
        s.ns.send("OUT");
        s.ns.expect_closed();
    }
}

#[test]
fn a_wrong_mbi_answer_is_911_and_burns_the_ticket() {
    let server = TestServer::start(USERS);
    let (mut ns, nonce) = challenged(&server, 18, A);
    let answer = post_rst(&server, &rst_request(A, PW, LIBPURPLE_SERVICES));
    let (ticket, secret) = token_for(&answer, "messengerclear.live.com", 1);
    let secret = secret.unwrap();
    // The right key, the wrong nonce.
    let wrong = mbi_answer(&secret, &"x".repeat(64));
    ns.send(&format!("USR 4 SSO S {ticket} {wrong} {GUID}"));
    assert_eq!(ns.expect_closed(), vec!["911 4"]);
    // The ticket is single use: the right answer to a new nonce no longer gets in with it.
    let (mut ns, nonce2) = challenged(&server, 18, A);
    assert_ne!(nonce, nonce2);
    let right = mbi_answer(&secret, &nonce2);
    ns.send(&format!("USR 4 SSO S {ticket} {right} {GUID}"));
    assert_eq!(ns.expect_closed(), vec!["911 4"]);
    // Garbage instead of an answer.
    let (mut ns, _) = challenged(&server, 18, A);
    let answer = post_rst(&server, &rst_request(A, PW, LIBPURPLE_SERVICES));
    let (ticket, _) = token_for(&answer, "messengerclear.live.com", 1);
    ns.send(&format!("USR 4 SSO S {ticket} !!notbase64!!"));
    assert_eq!(ns.expect_closed(), vec!["911 4"]);
    // Another account's ticket and key.
    let (mut ns, nonce) = challenged(&server, 18, B);
    let answer = post_rst(&server, &rst_request(A, PW, LIBPURPLE_SERVICES));
    let (ticket, secret) = token_for(&answer, "messengerclear.live.com", 1);
    let proof = mbi_answer(&secret.unwrap(), &nonce);
    ns.send(&format!("USR 4 SSO S {ticket} {proof}"));
    assert_eq!(ns.expect_closed(), vec!["911 4"]);
    // The messenger.msn.com ticket (MSNP13/14's) has no key: not an SSO ticket.
    let (mut ns, nonce) = challenged(&server, 18, A);
    let answer = post_rst(&server, &rst_request(A, PW, LIBPURPLE_SERVICES));
    let (ticket, _) = token_for(&answer, "messenger.msn.com", 2);
    let (_, secret) = token_for(&answer, "messengerclear.live.com", 1);
    let proof = mbi_answer(&secret.unwrap(), &nonce);
    ns.send(&format!("USR 4 SSO S {ticket} {proof}"));
    assert_eq!(ns.expect_closed(), vec!["911 4"]);
    // A TWN line on an SSO dialect is not this version's scheme: hang-up.
    let (mut ns, _) = challenged(&server, 18, A);
    ns.send("USR 4 TWN S t=1&p=2");
    ns.expect_closed();
}

#[test]
fn rst_answers_every_requested_token_numbered_as_requested() {
    let server = TestServer::start(USERS);
    let answer = post_rst(&server, &rst_request(A, PW, LIBPURPLE_SERVICES));
    // libpurple crashes on whitespace between elements.
    assert!(!answer.contains(">\n") && !answer.contains("> <"));
    for (n, (address, _)) in LIBPURPLE_SERVICES.iter().enumerate().skip(1) {
        let (ticket, secret) = token_for(&answer, address, n);
        assert!(ticket.starts_with("t="), "{address}: {ticket}");
        assert_eq!(
            secret.is_some(),
            *address == "messengerclear.live.com",
            "{address}"
        );
    }
    assert!(answer.contains("<wsa:Address>http://Passport.NET/tb</wsa:Address>"));
    // A wrong password: the Passport fault, no token.
    let fault = post_rst(&server, &rst_request(A, "wrong", LIBPURPLE_SERVICES));
    assert!(fault.contains("wsse:FailedAuthentication"));
    assert!(!fault.contains("BinarySecurityToken"));
    // Malformed XML, a DOCTYPE: the same fault, nothing issued.
    for bad in [
        "<Envelope><Header>".to_string(),
        format!(
            "<!DOCTYPE x [<!ENTITY a \"b\">]>{}",
            rst_request(A, PW, LIBPURPLE_SERVICES)
        ),
    ] {
        let fault = post_rst(&server, &bad);
        assert!(fault.contains("wsse:FailedAuthentication"), "{fault}");
    }
}

#[test]
fn failed_sso_answers_count_towards_the_login_throttle() {
    let server = TestServer::start(USERS);
    // Forged tickets: each failure counts (a good RST.srf password check would clear them).
    for _ in 0..msnpd::limits::AUTH_FAILURES {
        let (mut ns, nonce) = challenged(&server, 18, A);
        let forged = mbi_answer("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", &nonce);
        ns.send(&format!("USR 4 SSO S t=forged&p=x {forged}"));
        assert_eq!(ns.expect_closed(), vec!["911 4"]);
    }
    // Blocked now, before any nonce.
    let mut ds = server.connect();
    ds.send("VER 1 MSNP18 CVR0");
    ds.expect("VER 1 MSNP18");
    ds.send(&format!("USR 2 SSO I {A}"));
    let xfr = ds.expect("XFR 2 NS ");
    let mut ns = Client::connect(xfr.split(' ').nth(3).unwrap().parse().unwrap());
    ns.send("VER 1 MSNP18 CVR0");
    ns.expect("VER 1 MSNP18");
    ns.send(&format!("USR 2 SSO I {A}"));
    assert_eq!(ns.expect_closed(), vec!["911 2"]);
}
