//! Replies as the real service gave them, found wrong with real clients (issue 10): same-mode
//! BLP/GTC, MSNP10+ group replies (and the msnp11-sdk quirk), a replaced login's switchboards,
//! CVR0/CVQ, the initial e-mail message, FND/PAG/PGD per version, asynchronous BPR and switchboard
//! names that follow a rename.
mod common;
use common::*;
use std::net::SocketAddr;
use std::time::Duration;

const A: &str = "alice@example.com";
const B: &str = "bob@example.com";
const C: &str = "carol@example.com";
const PW: &str = "pw";
const QUIET: Duration = Duration::from_millis(300);

fn users() -> TestServer {
    TestServer::start(&[(A, PW), (B, PW), (C, PW)])
}

/// The CVR an official MSN Messenger 7.0 sends, and the one `msnp11-sdk` 0.13 sends.
const OFFICIAL_CVR: &str = "0x0409 winnt 5.1 i386 MSNMSGR 7.0.0777 MSMSGS";
const SDK_CVR: &str = "0x0409 winnt 10 i386 msnp11-sdk 0.13.0 msmsgs";

/// Tweener login with a chosen CVR. Returns the NS connection after the messages that follow
/// USR OK: (client, profile payload, initial mail payload).
fn login_with_cvr(
    server: &TestServer,
    version: u8,
    handle: &str,
    cvr: &str,
) -> (Client, String, String) {
    let mut ds = server.connect();
    ds.send(&format!("VER 1 MSNP{version} CVR0"));
    ds.expect(&format!("VER 1 MSNP{version}"));
    ds.send(&format!("CVR 2 {cvr} {handle}"));
    ds.expect("CVR 2 ");
    ds.send(&format!("USR 3 TWN I {handle}"));
    let xfr = ds.expect("XFR 3 NS ");
    let addr: SocketAddr = xfr.split(' ').nth(3).unwrap().parse().unwrap();
    let mut ns = Client::connect(addr);
    ns.send(&format!("VER 1 MSNP{version} CVR0"));
    ns.expect(&format!("VER 1 MSNP{version}"));
    ns.send(&format!("CVR 2 {cvr} {handle}"));
    ns.expect("CVR 2 ");
    ns.send(&format!("USR 3 TWN I {handle}"));
    let s = ns.expect("USR 3 TWN S ");
    let challenge = s.rsplit(' ').next().unwrap().to_string();
    let ticket = passport_ticket(server, handle, PW, &challenge).expect("login accepted");
    ns.send(&format!("USR 4 TWN S {ticket}"));
    ns.expect("USR 4 OK ");
    if version >= 11 {
        ns.expect("SBS 0 null");
    }
    let (_, profile) = ns.expect_payload("MSG Hotmail Hotmail ");
    let (_, mail) = ns.expect_payload("MSG Hotmail Hotmail ");
    ns.trid = 4;
    (
        ns,
        String::from_utf8(profile).unwrap(),
        String::from_utf8(mail).unwrap(),
    )
}

/// SYN for any version; returns the SYN line.
fn syn(c: &mut Client, version: u8) -> String {
    let t = c.t();
    if version >= 10 {
        c.send(&format!("SYN {t} 0 0"));
    } else {
        c.send(&format!("SYN {t} 0"));
    }
    let l = c.expect(&format!("SYN {t} "));
    c.drain();
    l
}

/// Alive: a PNG is still answered.
fn alive(c: &mut Client) {
    c.send("PNG");
    c.until("QNG");
}

#[test]
fn same_mode_blp_and_gtc_are_echoed_from_msnp8() {
    let server = users();
    for v in [8u8, 9, 10, 11, 12] {
        let (mut a, _, _) = login_with_cvr(&server, v, A, OFFICIAL_CVR);
        syn(&mut a, v);
        // What the libpurple MSNP12 plug-in sends after every sign-in: the mode already set.
        let (t, l) = a.call("BLP", "AL");
        if v <= 9 {
            let p: Vec<&str> = l.split(' ').collect();
            assert_eq!((p[0], p[1], p[3]), ("BLP", &*t.to_string(), "AL"), "{l}");
            // Nothing changed: the serial is the current one, and stays so.
            let serial: u32 = p[2].parse().unwrap();
            a.ok("BLP", "AL", &format!("{serial} AL"));
            a.ok("GTC", "A", &format!("{serial} A"));
            a.ok("BLP", "BL", &format!("{} BL", serial + 1));
            a.ok("BLP", "BL", &format!("{} BL", serial + 1));
        } else {
            assert_eq!(l, format!("BLP {t} AL"), "MSNP{v}");
            a.ok("GTC", "A", "A");
            a.ok("BLP", "BL", "BL");
            a.ok("BLP", "BL", "BL");
        }
        alive(&mut a);
        a.send("OUT");
        a.expect_closed();
    }
}

#[test]
fn same_mode_blp_and_gtc_get_218_in_msnp2_to_7() {
    let server = users();
    for v in [2u8, 5, 7] {
        let mut a = online(&server, v, A, PW);
        a.err("BLP", "AL", 218);
        a.err("GTC", "A", 218);
        alive(&mut a);
        a.send("OUT");
        a.expect_closed();
    }
}

#[test]
fn msnp10_to_12_group_replies_have_the_documented_shape() {
    let server = users();
    for v in [10u8, 11, 12] {
        let (mut a, _, _) = login_with_cvr(&server, v, A, OFFICIAL_CVR);
        syn(&mut a, v);
        let name = format!("Group{v}");
        let (t, l) = a.call("ADG", &name);
        let p: Vec<&str> = l.split(' ').collect();
        assert_eq!(p.len(), 4, "`ADG trid name guid`: {l}");
        assert_eq!((p[0], p[1], p[2]), ("ADG", &*t.to_string(), &*name), "{l}");
        let guid = p[3].to_string();
        assert_eq!(guid.len(), 36, "{l}");
        a.ok(
            "REG",
            &format!("{guid} Renamed{v}"),
            &format!("{guid} Renamed{v}"),
        );
        a.ok("RMG", &guid, &guid);
        a.send("OUT");
        a.expect_closed();
    }
}

#[test]
fn msnp11_sdk_keeps_its_leading_one_group_replies() {
    let server = users();
    let (mut a, _, _) = login_with_cvr(&server, 11, A, SDK_CVR);
    syn(&mut a, 11);
    let (t, l) = a.call("ADG", "Friends");
    let p: Vec<&str> = l.split(' ').collect();
    assert_eq!(p.len(), 5, "{l}");
    assert_eq!(
        (p[0], p[1], p[2], p[3]),
        ("ADG", &*t.to_string(), "1", "Friends")
    );
    let guid = p[4].to_string();
    a.ok(
        "REG",
        &format!("{guid} Buddies"),
        &format!("1 Buddies {guid}"),
    );
    a.ok("RMG", &guid, &format!("1 {guid}"));
    // At the same time, an official client gets the documented form.
    let (mut b, _, _) = login_with_cvr(&server, 11, B, OFFICIAL_CVR);
    syn(&mut b, 11);
    let (_, l) = b.call("ADG", "Friends");
    assert_eq!(l.split(' ').count(), 4, "{l}");
}

#[test]
fn msnp7_to_9_group_replies_carry_serial_and_id() {
    let server = users();
    let (mut a, _, _) = login_with_cvr(&server, 9, A, OFFICIAL_CVR);
    syn(&mut a, 9);
    let (t, l) = a.call("ADG", "Friends 0");
    let p: Vec<&str> = l.split(' ').collect();
    // `ADG trid serial name id 0` (W adg.md "With list versions").
    assert_eq!(p.len(), 6, "{l}");
    assert_eq!(
        (p[0], p[1], p[3], p[5]),
        ("ADG", &*t.to_string(), "Friends", "0")
    );
    let (serial, id): (u32, u32) = (p[2].parse().unwrap(), p[4].parse().unwrap());
    a.ok(
        "REG",
        &format!("{id} Mates 0"),
        &format!("{} {id} Mates 0", serial + 1),
    );
    a.ok("RMG", &id.to_string(), &format!("{} {id}", serial + 2));
}

/// Alice and Bob (MSNP7) in one switchboard session: (alice ns, alice sb, bob ns, bob sb).
fn chat_pair(server: &TestServer, av: u8) -> (Client, Client, Client, Client) {
    let mut ans = online_any(server, av, A, PW);
    let mut bns = online(server, 7, B, PW);
    let (mut asb, _) = open_sb(&mut ans, A);
    let t = asb.t();
    asb.send(&format!("CAL {t} {B}"));
    let l = asb.expect(&format!("CAL {t} RINGING "));
    let sessid = l.rsplit(' ').next().unwrap().to_string();
    let (rng, _) = bns.until("RNG ");
    let p: Vec<&str> = rng.split(' ').collect();
    let mut bsb = Client::connect(p[2].parse().unwrap());
    let t = bsb.t();
    bsb.send(&format!("ANS {t} {B} {} {sessid}", p[4]));
    bsb.until(&format!("ANS {t} OK"));
    asb.expect(&format!("JOI {B} "));
    (ans, asb, bns, bsb)
}

/// XFR SB + USR on a new switchboard.
fn open_sb(ns: &mut Client, handle: &str) -> (Client, String) {
    let (addr, cookie) = xfr_sb(ns);
    let mut sb = Client::connect(addr);
    let t = sb.t();
    sb.send(&format!("USR {t} {handle} {cookie}"));
    let ok = sb.expect(&format!("USR {t} OK {handle} "));
    (sb, ok)
}

fn xfr_sb(ns: &mut Client) -> (SocketAddr, String) {
    let t = ns.t();
    ns.send(&format!("XFR {t} SB"));
    let (l, _) = ns.until(&format!("XFR {t} SB "));
    let p: Vec<&str> = l.split(' ').collect();
    (p[3].parse().unwrap(), p[5].to_string())
}

fn text(body: &str) -> Vec<u8> {
    format!("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\n{body}")
        .into_bytes()
}

#[test]
fn a_replaced_login_loses_its_switchboards() {
    let server = users();
    for v in [7u8, 12] {
        let (mut ans, mut asb, _bns, mut bsb) = chat_pair(&server, v);
        // A cookie the old session holds but has not used yet.
        let (addr, spare) = xfr_sb(&mut ans);
        // Alice signs in again elsewhere.
        let _again = online_any(&server, v, A, PW);
        let (out, _) = ans.until("OUT OTH");
        assert_eq!(out, "OUT OTH");
        ans.expect_closed();
        // The kicked session's switchboard connection is closed; Bob sees her leave.
        asb.expect_closed();
        let bye = bsb.expect(&format!("BYE {A}"));
        assert!(
            bye == format!("BYE {A}") || bye == format!("BYE {A} 1"),
            "{bye}"
        );
        // Bob is alone now: his message reaches nobody.
        let m = text("anyone?");
        let t = bsb.t();
        bsb.send_payload(&format!("MSG {t} A {}", m.len()), &m);
        assert_eq!(bsb.line(), format!("NAK {t}"));
        // The cookie issued to the kicked session no longer opens a switchboard.
        let mut late = Client::connect(addr);
        late.send(&format!("USR 1 {A} {spare}"));
        assert_eq!(late.expect_closed(), vec!["911 1".to_string()]);
        drop(bsb);
    }
}

#[test]
fn cvr0_only_gets_the_cvq_upgrade_answer() {
    let server = users();
    let mut c = server.connect();
    // MSN Messenger beta speaking only MSNP1: the service agreed on CVR0 (W cvr0.md).
    c.send("VER 1 MSNP1 CVR0");
    assert_eq!(c.line(), "VER 1 CVR0");
    c.send("CVQ 2 0x0409 win 4.10 i386 MSMSGS 0.9.0001 MSMSGS");
    let lines = c.expect_closed();
    assert_eq!(
        lines,
        vec![
            "CVQ 2 7.5.0324 7.5.0324 1.0.0863 http://messenger.msn.com http://messenger.msn.com"
                .to_string()
        ]
    );
    // Anything but CVQ after `VER CVR0` is a protocol error.
    let mut c = server.connect();
    c.send("VER 1 MSNP99 CVR0");
    assert_eq!(c.line(), "VER 1 CVR0");
    c.send("USR 2 MD5 I alice@example.com");
    assert!(c.expect_closed().is_empty());
}

#[test]
fn initial_mail_message_follows_the_profile_from_msnp8() {
    let server = users();
    for v in [8u8, 9, 10] {
        let (_c, profile, mail) = login_with_cvr(&server, v, A, OFFICIAL_CVR);
        assert!(profile.contains("text/x-msmsgsprofile"));
        assert_eq!(
            mail,
            "MIME-Version: 1.0\r\nContent-Type: text/x-msmsgsinitialemailnotification; charset=UTF-8\r\n\r\n\
             Inbox-Unread: 0\r\nFolders-Unread: 0\r\nInbox-URL: /cgi-bin/HoTMaiL\r\n\
             Folders-URL: /cgi-bin/folders\r\nPost-URL: http://www.hotmail.com\r\n\r\n",
            "MSNP{v}"
        );
    }
    for v in [11u8, 12] {
        let (_c, _, mail) = login_with_cvr(&server, v, A, OFFICIAL_CVR);
        assert!(
            mail.contains("Content-Type: text/x-msmsgsinitialmdatanotification"),
            "{mail}"
        );
        assert!(
            mail.contains("<E><I>0</I><IU>0</IU><O>0</O><OU>0</OU></E>"),
            "{mail}"
        );
    }
    // MSNP2-7: the profile is followed directly by what the client asks for.
    let (mut c, _) = login_md5(&server, 7, A, PW);
    let t = c.t();
    c.send(&format!("SYN {t} 0"));
    c.expect(&format!("SYN {t} "));
}

#[test]
fn fnd_answers_per_version() {
    let server = users();
    let query = "fname=Bill lname=Gates city=* state=* country=US";
    for v in [2u8, 5, 6] {
        let mut a = online(&server, v, A, PW);
        // No member directory: nobody is found (W fnd.md "Valid, no users").
        a.ok("FND", query, "0 0");
        a.err("FND", "fname=* lname=* city=* state=* country=*", 201);
        alive(&mut a);
        a.send("OUT");
        a.expect_closed();
    }
    let mut a = online(&server, 7, A, PW);
    a.err("FND", query, 502);
    let mut a = online_any(&server, 9, A, PW);
    a.err("FND", query, 502);
    alive(&mut a);
}

#[test]
fn pag_and_pgd_answers_per_version() {
    let server = users();
    let page = b"<TEXT xml:space=\"preserve\">This is an example message.</TEXT>";
    let mut a = online(&server, 5, A, PW);
    let t = a.t();
    a.send_payload(&format!("PAG {t} {B} {}", page.len()), page);
    assert_eq!(a.line(), format!("800 {t}"));
    alive(&mut a);
    let mut a = online_any(&server, 9, A, PW);
    let t = a.t();
    a.send_payload(&format!("PAG {t} {B} {}", page.len()), page);
    assert_eq!(a.line(), format!("715 {t}"));
    let t = a.t();
    a.send_payload(&format!("PGD {t} {B} 1 {}", page.len()), page);
    assert_eq!(a.line(), format!("800 {t}"));
    alive(&mut a);
}

#[test]
fn phone_changes_reach_watchers_as_bpr() {
    let server = users();
    let mut a = online(&server, 7, A, PW);
    // Bob (MSNP7) and Carol (MSNP12) have Alice on their forward lists.
    let mut b = online(&server, 7, B, PW);
    let t = b.t();
    b.send(&format!("ADD {t} FL {A} Alice 0"));
    let (l, _) = b.until(&format!("ADD {t} FL "));
    let bob_serial: u32 = l.split(' ').nth(3).unwrap().parse().unwrap();
    let mut c = online_any(&server, 12, C, PW);
    let t = c.t();
    c.send(&format!("ADC {t} FL N={A} F=Alice"));
    c.until(&format!("ADC {t} FL N={A}"));
    // Alice sets her home phone.
    let t = a.t();
    a.send(&format!("PRP {t} PHH 555%201234"));
    a.until(&format!("PRP {t} "));
    let (bpr, _) = b.until("BPR ");
    assert_eq!(bpr, format!("BPR {} {A} PHH 555%201234", bob_serial + 1));
    let (bpr, _) = c.until("BPR ");
    assert_eq!(bpr, format!("BPR {A} PHH 555%201234"));
    // Clearing it: the value is left out.
    let t = a.t();
    a.send(&format!("PRP {t} PHH"));
    a.until(&format!("PRP {t} "));
    let (bpr, _) = b.until("BPR ");
    assert_eq!(bpr, format!("BPR {} {A} PHH", bob_serial + 2));
    let (bpr, _) = c.until("BPR ");
    assert_eq!(bpr, format!("BPR {A} PHH"));
    // Bob's list version moved with it: a cached list at that version needs no dump.
    b.send("OUT");
    b.expect_closed();
    let (mut b, _) = login_md5(&server, 7, B, PW);
    let t = b.t();
    b.send(&format!("SYN {t} {}", bob_serial + 2));
    assert_eq!(b.line(), format!("SYN {t} {}", bob_serial + 2));
    alive(&mut b);
    // A setting that BPR does not carry (MBE alone) is not announced.
    let t = a.t();
    a.send(&format!("PRP {t} MBE N"));
    a.until(&format!("PRP {t} "));
    c.expect_silence(QUIET);
    // Someone Alice blocks hears nothing of her numbers; the others still do.
    let t = a.t();
    a.send(&format!("ADD {t} BL {B} {B}"));
    a.until(&format!("ADD {t} BL "));
    let t = a.t();
    a.send(&format!("PRP {t} PHW 12"));
    a.until(&format!("PRP {t} "));
    let (bpr, _) = c.until("BPR ");
    assert_eq!(bpr, format!("BPR {A} PHW 12"));
    let seen = b.drain();
    assert!(!seen.iter().any(|l| l.starts_with("BPR ")), "{seen:?}");
}

#[test]
fn switchboard_messages_carry_the_senders_current_name() {
    let server = users();
    for v in [7u8, 12] {
        let (mut ans, mut asb, _bns, mut bsb) = chat_pair(&server, v);
        let m = text("before");
        let t = asb.t();
        asb.send_payload(&format!("MSG {t} U {}", m.len()), &m);
        let (l, _) = bsb.expect_payload("MSG ");
        assert!(l.starts_with(&format!("MSG {A} ")), "{l}");
        assert!(!l.contains(&format!("Renamed{v}")), "{l}");
        // Alice renames herself on the NS mid-conversation.
        let t = ans.t();
        if v >= 10 {
            ans.send(&format!("PRP {t} MFN Alice%20Renamed{v}"));
        } else {
            ans.send(&format!("REA {t} {A} Alice%20Renamed{v}"));
        }
        ans.until(&format!("{} {t} ", if v >= 10 { "PRP" } else { "REA" }));
        let m = text("after");
        let t = asb.t();
        asb.send_payload(&format!("MSG {t} U {}", m.len()), &m);
        let (l, p) = bsb.expect_payload("MSG ");
        assert_eq!(l, format!("MSG {A} Alice%20Renamed{v} {}", m.len()));
        assert_eq!(p, m);
        ans.send("OUT");
        ans.expect_closed();
        asb.expect_closed();
        bsb.until(&format!("BYE {A}"));
    }
}
