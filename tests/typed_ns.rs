//! Argument counts at the notification server, per command family, now that every handler
//! parses its typed command (`protocol::command`) first: one argument too many or too few gets
//! the answer docs/protocol-commands.md defines for the verb (an error code, an answer anyway,
//! or a hang-up), byte for byte, and the shapes real clients send keep working.

mod common;
use common::*;

const A: &str = "alice@example.com";
const B: &str = "bob@example.com";
const PW: &str = "pw";

fn server() -> TestServer {
    TestServer::start(&[(A, PW), (B, PW)])
}

/// Logged in with `version`, synchronised, online, nothing pending.
fn on(s: &TestServer, version: u8) -> Client {
    let mut c = online_any(s, version, A, PW);
    c.drain();
    c
}

/// Sends `line` (with `{t}` replaced by the next trid) and asserts the server hangs up without
/// a word.
fn hangs_up(c: &mut Client, line: &str) {
    let t = c.t();
    let line = line.replace("{t}", &t.to_string());
    c.send(&line);
    assert_eq!(c.expect_closed(), Vec::<String>::new(), "after `{line}`");
}

/// Sends `line` (with `{t}` replaced by the next trid) and asserts the next reply is exactly
/// `want` (with `{t}` replaced too); returns the trid.
fn answers(c: &mut Client, line: &str, want: &str) -> u32 {
    let t = c.t();
    let ts = t.to_string();
    let line = line.replace("{t}", &ts);
    c.send(&line);
    assert_eq!(c.line(), want.replace("{t}", &ts), "reply to `{line}`");
    t
}

/// A fresh connection that has agreed on `version` (no login).
fn hello(s: &TestServer, version: u8) -> Client {
    let mut c = s.connect();
    answers(
        &mut c,
        &format!("VER {{t}} MSNP{version} CVR0"),
        &format!("VER {{t}} MSNP{version}"),
    );
    c
}

const CVR_TAIL: &str = "http://messenger.msn.com http://messenger.msn.com";

#[test]
fn login_family() {
    let s = server();
    // VER with nothing offered: `VER trid 0`, then the hang-up (as before).
    let mut c = s.connect();
    c.send("VER 1");
    assert_eq!(c.expect_closed(), vec!["VER 1 0".to_string()]);
    // INF takes no argument.
    let mut c = hello(&s, 7);
    answers(&mut c, "INF {t}", "INF {t} MD5");
    hangs_up(&mut c, "INF {t} MD5");
    // CVR short of its six fields: answered with 1.0.0000, as always.
    let mut c = hello(&s, 7);
    answers(
        &mut c,
        "CVR {t} 0x0409 win 4.10 i386",
        &format!("CVR {{t}} 1.0.0000 1.0.0000 1.0.0000 {CVR_TAIL}"),
    );
    // The full MSNP8+ form is answered with the client's version; a ninth field is refused.
    let mut c = hello(&s, 9);
    answers(
        &mut c,
        "CVR {t} 0x0409 winnt 5.1 i386 MSNMSGR 6.2.0205 MSMSGS alice@example.com",
        &format!("CVR {{t}} 6.2.0205 6.2.0205 6.2.0205 {CVR_TAIL}"),
    );
    hangs_up(
        &mut c,
        "CVR {t} 0x0409 winnt 5.1 i386 MSNMSGR 6.2.0205 MSMSGS alice@example.com x",
    );
    // USR: one argument too few or too many is a hang-up, before any redirect or challenge.
    let mut c = hello(&s, 7);
    hangs_up(&mut c, "USR {t} MD5 I");
    let mut c = hello(&s, 7);
    hangs_up(&mut c, "USR {t} MD5 I alice@example.com x");
    let mut c = hello(&s, 7);
    let t = c.t();
    c.send(&format!("USR {t} MD5 I {A}"));
    let ns = s.ns.to_string();
    assert_eq!(c.line(), format!("XFR {t} NS {ns} 0 {ns}"));
    // CVQ after `VER trid CVR0` is answered and the connection closed whatever its arguments.
    let mut c = s.connect();
    answers(&mut c, "VER {t} CVR0", "VER {t} CVR0");
    c.send("CVQ 2 0x0409");
    assert_eq!(
        c.expect_closed(),
        vec![format!("CVQ 2 7.5.0324 7.5.0324 1.0.0863 {CVR_TAIL}")]
    );
}

#[test]
fn sync_family() {
    let s = server();
    let mut c = on(&s, 7);
    hangs_up(&mut c, "LST {t}");
    let mut c = on(&s, 7);
    hangs_up(&mut c, "LST {t} FL x");
    let mut c = on(&s, 7);
    hangs_up(&mut c, "LSG {t} x");
    // SYN: an unreadable stamp is a full dump; an extra argument a hang-up.
    let mut c = login_md5(&s, 7, A, PW).0;
    answers(&mut c, "SYN {t} x", "SYN {t} 0");
    let mut c = login_md5(&s, 7, A, PW).0;
    hangs_up(&mut c, "SYN {t} 0 0");
    let mut c = login_twn(&s, 11, A, PW).0;
    hangs_up(&mut c, "SYN {t} 0 0 0");
}

#[test]
fn lists_family() {
    let s = server();
    let mut c = on(&s, 7);
    // ADD FL with the group id MSNP7 reads; AL with a stray fourth argument (dropped, as always).
    answers(
        &mut c,
        &format!("ADD {{t}} FL {B} Bob 0"),
        &format!("ADD {{t}} FL 1 {B} Bob 0"),
    );
    answers(
        &mut c,
        &format!("ADD {{t}} AL {B} {B} 0"),
        &format!("ADD {{t}} AL 2 {B} {B}"),
    );
    hangs_up(&mut c, &format!("ADD {{t}} BL {B} {B} 0 x"));
    let mut c = on(&s, 7);
    hangs_up(&mut c, &format!("ADD {{t}} FL {B}"));
    let mut c = on(&s, 7);
    hangs_up(&mut c, &format!("REM {{t}} AL {B} 0 x"));
    let mut c = on(&s, 7);
    hangs_up(&mut c, "REM {t} AL");
    let mut c = on(&s, 7);
    hangs_up(&mut c, "BLP {t}");
    let mut c = on(&s, 7);
    hangs_up(&mut c, "BLP {t} AL x");
    let mut c = on(&s, 7);
    hangs_up(&mut c, "GTC {t} A x");
    let mut c = on(&s, 7);
    hangs_up(&mut c, "GTC {t}");
    // ADC (MSNP10+): without a list, a hang-up; a form with no handle or contact is 201.
    let mut c = on(&s, 11);
    answers(&mut c, "ADC {t} FL F=Bob", "201 {t}");
    hangs_up(&mut c, "ADC {t}");
}

#[test]
fn groups_family() {
    let s = server();
    let mut c = on(&s, 7);
    // The trailing `0` of MSNP7-9's ADG and REG is accepted; anything after it is not.
    answers(&mut c, "ADG {t} Work 0", "ADG {t} 1 Work 1 0");
    answers(&mut c, "REG {t} 1 Play 0", "REG {t} 2 1 Play 0");
    hangs_up(&mut c, "ADG {t} Home 0 x");
    let mut c = on(&s, 7);
    hangs_up(&mut c, "REG {t} 1");
    let mut c = on(&s, 7);
    hangs_up(&mut c, "RMG {t}");
    let mut c = on(&s, 7);
    hangs_up(&mut c, "RMG {t} 1 x");
    let mut c = on(&s, 11);
    hangs_up(&mut c, "ADG {t}");
}

#[test]
fn presence_family() {
    let s = server();
    let mut c = on(&s, 7);
    // CHG: 201 for a missing status and for an argument too many; MSNP7 reads caps.
    answers(&mut c, "CHG {t}", "201 {t}");
    answers(&mut c, "CHG {t} AWY 0 obj x", "201 {t}");
    answers(&mut c, "CHG {t} BSY 0", "CHG {t} BSY");
    answers(&mut c, "IMS {t}", "201 {t}");
    answers(&mut c, "IMS {t} OFF x", "201 {t}");
    answers(&mut c, "IMS {t} OFF", "IMS {t} 0 OFF");
    hangs_up(&mut c, &format!("REA {{t}} {A}"));
    let mut c = on(&s, 7);
    hangs_up(&mut c, &format!("REA {{t}} {A} Alice x"));
    let mut c = on(&s, 7);
    hangs_up(&mut c, "PRP {t} PHH 123 x");
    let mut c = on(&s, 7);
    hangs_up(&mut c, "PRP {t}");
    let mut c = on(&s, 11);
    // MSNP11: caps and an MSNObject are read; a fourth argument is 201.
    answers(&mut c, "CHG {t} NLN 0 obj", "CHG {t} NLN 0 obj");
    answers(&mut c, "CHG {t} NLN 0 obj x", "201 {t}");
    hangs_up(&mut c, "SBP {t} guid MFN");
}

#[test]
fn misc_family() {
    let s = server();
    let mut c = on(&s, 7);
    // URL: one or two parameters are answered (the second ignored, as always); three are not.
    answers(
        &mut c,
        "URL {t} INBOX",
        "URL {t} /unused http://messenger.msn.com 2",
    );
    answers(
        &mut c,
        "URL {t} PROFILE 0x0409 x",
        "URL {t} /unused http://messenger.msn.com 2",
    );
    // SND without an address is acknowledged, as it always was.
    answers(&mut c, "SND {t}", "SND {t} OK");
    hangs_up(&mut c, "URL {t} COMPOSE a b c");
    let mut c = on(&s, 7);
    hangs_up(&mut c, "URL {t}");
    let mut c = on(&s, 7);
    c.send("PNG x");
    assert_eq!(c.expect_closed(), Vec::<String>::new());
    let mut c = on(&s, 11);
    c.send("GCF 9 Shields.xml x");
    assert_eq!(c.expect_closed(), Vec::<String>::new());
    // QRY without its product id: 540 and the hang-up.
    let mut c = on(&s, 11);
    c.send_payload("QRY 9 32", &[b'0'; 32]);
    assert_eq!(c.expect_closed(), vec!["540 9".to_string()]);
}

#[test]
fn xfr_family() {
    let s = server();
    let mut c = on(&s, 7);
    hangs_up(&mut c, "XFR {t}");
    let mut c = on(&s, 7);
    hangs_up(&mut c, "XFR {t} SB x");
    let mut c = on(&s, 7);
    let t = c.t();
    c.send(&format!("XFR {t} SB"));
    let l = c.line();
    assert!(l.starts_with(&format!("XFR {t} SB ")), "{l}");
    assert!(l.contains(" CKI "), "{l}");
}
