//! Notification server presence and miscellaneous commands for MSNP2-7 (NS.md sections 4 and 6).

mod common;
use common::*;
use std::time::Duration;

const A: &str = "alice@example.com";
const B: &str = "bob@example.com";
const C: &str = "carol@example.com";
const D: &str = "dave@example.com";

const QUIET: Duration = Duration::from_millis(150);

fn users() -> Vec<(&'static str, &'static str)> {
    vec![(A, "pw"), (B, "pw"), (C, "pw"), (D, "pw")]
}

fn server() -> TestServer {
    TestServer::start(&users())
}

fn login(s: &TestServer, v: u8, h: &str) -> Client {
    login_md5(s, v, h, "pw").0
}

fn synced(s: &TestServer, v: u8, h: &str) -> Client {
    let mut c = login(s, v, h);
    let t = c.t();
    c.send(&format!("SYN {t} 0"));
    c.drain();
    c
}

/// Logged in, synchronised, `CHG status`; returns the client and the ILN lines.
fn on_with(s: &TestServer, v: u8, h: &str, status: &str) -> (Client, u32, Vec<String>) {
    let mut c = synced(s, v, h);
    let t = c.t();
    c.send(&format!("CHG {t} {status}"));
    c.expect(&format!("CHG {t} {status}"));
    let iln = c.drain();
    (c, t, iln)
}

fn on(s: &TestServer, v: u8, h: &str) -> Client {
    on_with(s, v, h, "NLN").0
}

/// `who` adds each of `contacts` to FL (all offline or the caller drains), then signs out.
fn add_all(s: &TestServer, who: &str, contacts: &[&str]) {
    let mut c = synced(s, 7, who);
    for h in contacts {
        let (t, l) = c.call("ADD", &format!("FL {h} {h}"));
        assert!(l.starts_with(&format!("ADD {t} FL ")), "{l}");
    }
    c.send("OUT");
    c.expect("OUT");
    c.expect_closed();
}

fn v(lines: &[&str]) -> Vec<String> {
    lines.iter().map(|s| s.to_string()).collect()
}

#[test]
fn chg_every_status_reaches_watchers() {
    let s = server();
    add_all(&s, B, &[A]);
    let mut b = on(&s, 7, B);
    let mut a = on(&s, 7, A);
    assert_eq!(b.line(), "NLN NLN alice@example.com alice@example.com");
    for st in ["BSY", "IDL", "BRB", "AWY", "PHN", "LUN", "NLN"] {
        a.ok("CHG", st, st);
        assert_eq!(
            b.line(),
            format!("NLN {st} alice@example.com alice@example.com")
        );
    }
    a.err("CHG", "FLN", 201);
    a.err("CHG", "XYZ", 201);
    assert_eq!(b.drain(), Vec::<String>::new());
    // A later CHG brings no ILN, even with an online FL contact.
    add_rel(&mut a, B);
    a.ok("CHG", "BSY", "BSY");
    assert_eq!(a.drain(), Vec::<String>::new());
}

/// `ADD FL h` on a live client; drains the ILN that may follow.
fn add_rel(c: &mut Client, h: &str) -> Vec<String> {
    let (t, l) = c.call("ADD", &format!("FL {h} {h}"));
    assert!(l.starts_with(&format!("ADD {t} FL ")), "{l}");
    c.drain()
}

#[test]
fn iln_follows_first_chg_with_its_trid() {
    let s = server();
    add_all(&s, A, &[B, C, D]);
    let (mut b, _, _) = on_with(&s, 7, B, "BSY");
    let (mut c, _, _) = on_with(&s, 2, C, "AWY");
    // dave is offline. alice's first CHG (with an unusual trid) lists bob and carol, in that order.
    let mut a = synced(&s, 5, A);
    a.send("CHG 4000000000 NLN");
    assert_eq!(a.line(), "CHG 4000000000 NLN");
    assert_eq!(
        a.drain(),
        v(&[
            "ILN 4000000000 BSY bob@example.com bob@example.com",
            "ILN 4000000000 AWY carol@example.com carol@example.com",
        ])
    );
    // Second CHG: no ILN.
    a.ok("CHG", "IDL", "IDL");
    assert_eq!(a.drain(), Vec::<String>::new());
    // bob and carol do not have alice on FL: they hear nothing.
    b.expect_silence(QUIET);
    c.expect_silence(QUIET);
}

#[test]
fn iln_sent_even_when_signing_in_hidden() {
    let s = server();
    add_all(&s, A, &[B]);
    let _b = on(&s, 7, B);
    let (_a, t, iln) = on_with(&s, 7, A, "HDN");
    assert_eq!(
        iln,
        vec![format!("ILN {t} NLN bob@example.com bob@example.com")]
    );
}

#[test]
fn nln_fln_only_to_allowed_fl_watchers() {
    let s = server();
    add_all(&s, A, &[B]);
    add_all(&s, D, &[B]);
    let mut a = on(&s, 7, A);
    let mut c = on(&s, 7, C);
    let mut d = on(&s, 3, D);
    // carol has bob nowhere; dave has bob on FL but bob blocks dave.
    let mut b = synced(&s, 7, B);
    b.ok(
        "ADD",
        "BL dave@example.com dave@example.com",
        "BL 3 dave@example.com dave@example.com",
    );
    b.ok("CHG", "NLN", "NLN");
    assert_eq!(b.drain(), Vec::<String>::new());
    assert_eq!(a.line(), "NLN NLN bob@example.com bob@example.com");
    b.ok("CHG", "BRB", "BRB");
    assert_eq!(a.line(), "NLN BRB bob@example.com bob@example.com");
    b.send("OUT");
    b.expect("OUT");
    b.expect_closed();
    assert_eq!(a.line(), "FLN bob@example.com");
    assert_eq!(c.drain(), Vec::<String>::new());
    assert_eq!(d.drain(), Vec::<String>::new());
}

#[test]
fn msnp2_watcher_sees_msnp7_user_without_extra_fields() {
    let s = server();
    add_all(&s, A, &[B]);
    let (mut a, t, iln) = on_with(&s, 2, A, "NLN");
    assert!(iln.is_empty());
    let _ = t;
    let mut b = on(&s, 7, B);
    assert_eq!(a.line(), "NLN NLN bob@example.com bob@example.com");
    b.ok(
        "REA",
        "bob@example.com Bob%20the%20Builder",
        "2 bob@example.com Bob%20the%20Builder",
    );
    assert_eq!(a.line(), "NLN NLN bob@example.com Bob%20the%20Builder");
    b.ok("CHG", "PHN", "PHN");
    assert_eq!(a.line(), "NLN PHN bob@example.com Bob%20the%20Builder");
}

#[test]
fn hidden_is_indistinguishable_from_offline() {
    let s = server();
    add_all(&s, A, &[B]);
    let mut a = on(&s, 7, A);
    let mut b = on(&s, 7, B);
    assert_eq!(a.line(), "NLN NLN bob@example.com bob@example.com");
    b.ok("CHG", "HDN", "HDN");
    assert_eq!(a.line(), "FLN bob@example.com");
    // Status changes while hidden and name changes are invisible.
    b.ok("CHG", "HDN", "HDN");
    b.ok("REA", "bob@example.com Secret", "2 bob@example.com Secret");
    b.err("XFR", "SB", 913);
    assert_eq!(a.drain(), Vec::<String>::new());
    // A new alice session gets no ILN for hidden bob.
    let (mut a, _, iln) = on_with(&s, 5, A, "NLN");
    assert_eq!(iln, Vec::<String>::new());
    // Coming back: NLN with the new name; then XFR SB works.
    b.ok("CHG", "NLN", "NLN");
    assert_eq!(a.line(), "NLN NLN bob@example.com Secret");
    let (t, l) = b.call("XFR", "SB");
    assert!(
        l.starts_with(&format!("XFR {t} SB ")) && l.contains(" CKI "),
        "{l}"
    );
    // Hidden then signing out: no second FLN.
    b.ok("CHG", "HDN", "HDN");
    assert_eq!(a.line(), "FLN bob@example.com");
    b.send("OUT");
    b.expect("OUT");
    b.expect_closed();
    assert_eq!(a.drain(), Vec::<String>::new());
}

#[test]
fn xfr_sb_before_first_chg_is_913() {
    let s = server();
    let mut a = synced(&s, 7, A);
    a.err("XFR", "SB", 913);
}

#[test]
fn block_list_and_blp_privacy() {
    let s = server();
    add_all(&s, B, &[A]);
    add_all(&s, C, &[A]);
    let mut b = on(&s, 7, B);
    let mut c = on(&s, 2, C);
    let mut a = on(&s, 7, A);
    assert_eq!(b.line(), "NLN NLN alice@example.com alice@example.com");
    assert_eq!(c.line(), "NLN NLN alice@example.com alice@example.com");
    // Blocking bob: he sees alice go offline; carol sees nothing.
    a.ok(
        "ADD",
        "BL bob@example.com bob@example.com",
        "BL 3 bob@example.com bob@example.com",
    );
    assert_eq!(b.line(), "FLN alice@example.com");
    a.ok("CHG", "BSY", "BSY");
    assert_eq!(c.line(), "NLN BSY alice@example.com alice@example.com");
    assert_eq!(b.drain(), Vec::<String>::new());
    // Unblocking: NLN with the current status.
    a.ok("REM", "BL bob@example.com", "BL 4 bob@example.com");
    assert_eq!(b.line(), "NLN BSY alice@example.com alice@example.com");
    assert_eq!(c.drain(), Vec::<String>::new());
    // BLP BL: only AL members (carol) still see alice.
    a.ok(
        "ADD",
        "AL carol@example.com carol@example.com",
        "AL 5 carol@example.com carol@example.com",
    );
    a.ok("BLP", "BL", "6 BL");
    assert_eq!(b.line(), "FLN alice@example.com");
    assert_eq!(c.drain(), Vec::<String>::new());
    // A fresh bob session gets no ILN for alice; carol's does.
    let (mut b, _, iln) = on_with(&s, 7, B, "NLN");
    assert!(iln.is_empty(), "{iln:?}");
    let (mut c, t, iln) = on_with(&s, 2, C, "NLN");
    assert_eq!(
        iln,
        vec![format!("ILN {t} BSY alice@example.com alice@example.com")]
    );
    // Back to BLP AL: bob sees alice again.
    a.ok("BLP", "AL", "7 AL");
    assert_eq!(b.line(), "NLN BSY alice@example.com alice@example.com");
    assert_eq!(c.drain(), Vec::<String>::new());
}

#[test]
fn second_login_kicks_the_first_with_out_oth_and_no_fln() {
    let s = server();
    add_all(&s, B, &[A]);
    let mut b = on(&s, 7, B);
    let mut a1 = on(&s, 7, A);
    assert_eq!(b.line(), "NLN NLN alice@example.com alice@example.com");
    let mut a2 = login(&s, 5, A);
    assert_eq!(a1.expect_closed(), v(&["OUT OTH"]));
    assert_eq!(b.drain(), Vec::<String>::new());
    let t = a2.t();
    a2.send(&format!("SYN {t} 0"));
    a2.drain();
    a2.ok("CHG", "AWY", "AWY");
    assert_eq!(b.line(), "NLN AWY alice@example.com alice@example.com");
}

#[test]
fn png_gets_bare_qng_in_msnp2_to_7() {
    let s = server();
    for ver in 2u8..=7 {
        let mut c = login(&s, ver, A);
        c.send("PNG");
        assert_eq!(c.line(), "QNG", "MSNP{ver}");
    }
    // Also before login.
    let mut c = s.connect();
    c.send("VER 1 MSNP7 CVR0");
    c.expect("VER 1 MSNP7");
    c.send("PNG");
    assert_eq!(c.line(), "QNG");
}

/// Waits for `CHL 0 <digits>` and returns the challenge.
fn challenge(c: &mut Client) -> String {
    let l = c.line();
    let ch = l
        .strip_prefix("CHL 0 ")
        .unwrap_or_else(|| panic!("expected CHL, got {l}"));
    assert!(
        !ch.is_empty() && ch.bytes().all(|b| b.is_ascii_digit()),
        "{l}"
    );
    ch.to_string()
}

#[test]
fn chl_qry_correct_wrong_and_not_before_msnp6() {
    let s = TestServer::start_with(&users(), &["--chl-interval", "1"]);
    let mut five = login(&s, 5, C);
    let mut six = login(&s, 6, A);
    let mut seven = login(&s, 7, B);
    let ch = challenge(&mut six);
    let t = six.t();
    six.send_payload(
        &format!("QRY {t} msmsgs@msnmsgr.com 32"),
        md5_hex(&format!("{ch}Q1P7W2E4J9R8U3S5")).as_bytes(),
    );
    assert_eq!(six.line(), format!("QRY {t}"));
    // Still connected and working.
    six.send("PNG");
    let l = six.until("QNG").0;
    assert_eq!(l, "QNG");

    let ch = challenge(&mut seven);
    let t = seven.t();
    let wrong = md5_hex(&format!("{ch}WRONGKEY"));
    seven.send_payload(&format!("QRY {t} msmsgs@msnmsgr.com 32"), wrong.as_bytes());
    let got = seven.expect_closed();
    assert_eq!(
        got.last().map(String::as_str),
        Some(&*format!("540 {t}")),
        "{got:?}"
    );

    // MSNP5 has no challenges: nothing arrived in the same time.
    five.expect_silence(Duration::from_millis(300));
}

#[test]
fn qry_in_msnp5_disconnects() {
    let s = server();
    let mut c = on(&s, 5, C);
    let t = c.t();
    c.send_payload(&format!("QRY {t} msmsgs@msnmsgr.com 32"), &[b'0'; 32]);
    assert_eq!(c.expect_closed(), Vec::<String>::new());
}

#[test]
fn unknown_and_out_of_version_commands_close_only_that_connection() {
    let s = server();
    add_all(&s, B, &[A]);
    let mut b = on(&s, 7, B);
    for (ver, bad) in [
        (7u8, "XYZ 5"),
        (5, "ADG 5 Friends 0"),
        (7, "ADC 5 FL N=bob@example.com"),
        (2, "IMS 5 OFF"),
        (7, "UUX 5 0"),
    ] {
        let mut a = on(&s, ver, A);
        assert_eq!(
            b.line(),
            "NLN NLN alice@example.com alice@example.com",
            "{bad}"
        );
        a.send(bad);
        assert_eq!(a.expect_closed(), Vec::<String>::new(), "MSNP{ver} {bad}");
        // bob is unaffected: he sees alice leave and still gets answers.
        assert_eq!(b.line(), "FLN alice@example.com", "{bad}");
        b.ok("CHG", "NLN", "NLN");
        assert_eq!(b.drain(), Vec::<String>::new());
    }
}

#[test]
fn commands_before_login_get_302() {
    let s = server();
    let mut c = s.connect();
    c.send("VER 1 MSNP7 CVR0");
    c.expect("VER 1 MSNP7");
    c.send("INF 2");
    c.expect("INF 2 MD5");
    c.send("CHG 3 NLN");
    assert_eq!(c.line(), "302 3");
    c.send("SYN 4 0");
    assert_eq!(c.line(), "302 4");
    c.send("ADD 5 FL bob@example.com bob@example.com");
    assert_eq!(c.line(), "302 5");
    // Before VER any command closes.
    let mut c = s.connect();
    c.send("CHG 1 NLN");
    assert_eq!(c.expect_closed(), Vec::<String>::new());
}

#[test]
fn url_snd_fnd_ims_replies() {
    let s = server();
    let mut a2 = on(&s, 2, A);
    let (t, l) = a2.call("URL", "INBOX");
    let f: Vec<&str> = l.split(' ').collect();
    assert_eq!(f.len(), 4, "MSNP2 URL has no site id: {l}");
    assert_eq!((f[0], f[1]), ("URL", &*t.to_string()));
    a2.ok("SND", "friend@example.net", "OK");
    // 502 only exists from MSNP7 (W fnd.md): an empty directory answers instead.
    a2.ok("FND", "fname=a lname=b city=* state=* country=US", "0 0");
    drop(a2);

    let mut a = on(&s, 7, A);
    let (t, l) = a.call("URL", "COMPOSE bob@example.com");
    let f: Vec<&str> = l.split(' ').collect();
    assert_eq!(f.len(), 5, "MSNP3+ URL has a site id: {l}");
    assert_eq!((f[0], f[1]), ("URL", &*t.to_string()));
    assert!(f[4].parse::<u32>().is_ok(), "{l}");
    a.ok("SND", "friend@example.net 0x0409 MSMSGS MSMSGS", "OK");
    a.err("FND", "fname=a lname=b city=* state=* country=US", 502);
    a.ok("IMS", "OFF", "0 OFF");
    a.ok("IMS", "ON", "0 ON");
    // Still fine afterwards.
    a.ok("CHG", "BSY", "BSY");
}

/// Presence notices may be written straight to a watcher's socket (`Outbox::push_through`). A
/// watcher that drops its connection while its contact keeps changing status must not have those
/// notices land on a newcomer that got the same descriptor number. (Whether the race is hit
/// depends on scheduling; `server::connection::tests::a_dropped_connection_is_never_written_through`
/// checks the mechanism directly.)
#[test]
fn presence_for_a_gone_watcher_never_reaches_a_newcomer() {
    let s = server();
    add_all(&s, B, &[A]);
    let mut a = on(&s, 7, A);
    let mut newcomers = Vec::new();
    let statuses = ["BSY", "AWY", "BRB", "NLN"];
    for round in 0..6 {
        let mut b = on(&s, 7, B);
        a.ok("CHG", "PHN", "PHN");
        assert_eq!(b.line(), "NLN PHN alice@example.com alice@example.com");
        drop(b);
        // Descriptors are reused lowest first: open sockets while the server is taking B's down
        // and A's notices are still addressed to it.
        for (i, st) in statuses.iter().enumerate() {
            newcomers.push(s.connect());
            if i % 2 == round % 2 {
                a.ok("CHG", st, st);
            }
        }
    }
    for (i, c) in newcomers.iter_mut().enumerate() {
        c.send("VER 1 MSNP7 CVR0");
        assert_eq!(
            c.line(),
            "VER 1 MSNP7",
            "newcomer {i} got someone else's line first"
        );
    }
}
