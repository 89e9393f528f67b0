//! Notification server contact lists for MSNP2-7: SYN dumps, ADD/REM, RL maintenance, groups,
//! BLP/GTC, REA and persistence (NS.md sections 3 and 4.6).

mod common;
use common::*;
use std::time::Duration;

const A: &str = "alice@example.com";
const B: &str = "bob@example.com";
const C: &str = "carol@example.com";
const D: &str = "dave@example.com";
const E: &str = "eve@example.com";

fn server() -> TestServer {
    TestServer::start(&[(A, "pw"), (B, "pw"), (C, "pw"), (D, "pw"), (E, "pw")])
}

fn login(s: &TestServer, v: u8, h: &str) -> Client {
    login_md5(s, v, h, "pw").0
}

/// `SYN trid ser`; returns the whole reply (every line up to the PNG marker).
fn syn(c: &mut Client, ser: u32) -> (u32, Vec<String>) {
    let t = c.t();
    c.send(&format!("SYN {t} {ser}"));
    (t, c.drain())
}

/// Logged in, synchronised and online (NLN), with everything pending read.
fn on(s: &TestServer, v: u8, h: &str) -> Client {
    let mut c = login(s, v, h);
    syn(&mut c, 0);
    let t = c.t();
    c.send(&format!("CHG {t} NLN"));
    c.expect(&format!("CHG {t} NLN"));
    c.drain();
    c
}

fn bye(mut c: Client) {
    c.send("OUT");
    c.expect("OUT");
    c.expect_closed();
}

fn lines(t: u32, v: &[&str]) -> Vec<String> {
    v.iter().map(|l| l.replace("{t}", &t.to_string())).collect()
}

/// Expected MSNP2-7 dump for alice's lists as built by `build_alice`, serial 7.
fn expected_dump(v: u8, t: u32) -> Vec<String> {
    let mut out = vec!["SYN {t} 7", "GTC {t} 7 A", "BLP {t} 7 AL"];
    if v >= 5 {
        out.extend([
            "PRP {t} 7 PHH",
            "PRP {t} 7 PHW 12%203",
            "PRP {t} 7 PHM",
            "PRP {t} 7 MOB N",
            "PRP {t} 7 MBE N",
        ]);
    }
    if v >= 7 {
        out.extend([
            "LSG {t} 7 1 2 0 Other%20Contacts 0",
            "LSG {t} 7 2 2 1 Friends 0",
        ]);
        out.push("LST {t} FL 7 1 2 bob@example.com Bobby 1");
    } else {
        out.push("LST {t} FL 7 1 2 bob@example.com Bobby");
    }
    if v >= 5 {
        out.extend([
            "BPR 7 bob@example.com PHH 555%201234",
            "BPR 7 bob@example.com PHW",
            "BPR 7 bob@example.com PHM",
            "BPR 7 bob@example.com MOB N",
        ]);
    }
    if v >= 7 {
        out.push("LST {t} FL 7 2 2 carol@example.com carol@example.com 0");
    } else {
        out.push("LST {t} FL 7 2 2 carol@example.com carol@example.com");
    }
    if v >= 5 {
        out.extend([
            "BPR 7 carol@example.com PHH",
            "BPR 7 carol@example.com PHW",
            "BPR 7 carol@example.com PHM",
            "BPR 7 carol@example.com MOB N",
        ]);
    }
    out.extend([
        "LST {t} AL 7 1 1 carol@example.com carol@example.com",
        "LST {t} BL 7 1 1 dave@example.com dave@example.com",
        "LST {t} RL 7 1 1 bob@example.com Bobby",
    ]);
    lines(t, &out)
}

/// bob adds alice and sets a phone number; alice builds FL/AL/BL, a group and a phone number.
/// Leaves alice's serial at 7. Checks every reply on the way.
fn build_alice(s: &TestServer) {
    let mut b = on(s, 5, B);
    b.ok(
        "ADD",
        "FL alice@example.com alice@example.com",
        "FL 1 alice@example.com alice@example.com",
    );
    b.ok("PRP", "PHH 555%201234", "2 PHH 555%201234");
    bye(b);

    let mut a = login(s, 7, A);
    let (t, dump) = syn(&mut a, 0);
    assert_eq!(
        dump,
        lines(
            t,
            &[
                "SYN {t} 1",
                "GTC {t} 1 A",
                "BLP {t} 1 AL",
                "PRP {t} 1 PHH",
                "PRP {t} 1 PHW",
                "PRP {t} 1 PHM",
                "PRP {t} 1 MOB N",
                "PRP {t} 1 MBE N",
                "LSG {t} 1 1 1 0 Other%20Contacts 0",
                "LST {t} FL 1 0 0",
                "LST {t} AL 1 0 0",
                "LST {t} BL 1 0 0",
                "LST {t} RL 1 1 1 bob@example.com bob@example.com",
            ]
        )
    );
    a.ok("ADG", "Friends 0", "2 Friends 1 0");
    a.ok(
        "ADD",
        "FL bob@example.com Bobby 1",
        "FL 3 bob@example.com Bobby 1",
    );
    a.ok(
        "ADD",
        "FL carol@example.com carol@example.com",
        "FL 4 carol@example.com carol@example.com 0",
    );
    a.ok(
        "ADD",
        "AL carol@example.com carol@example.com",
        "AL 5 carol@example.com carol@example.com",
    );
    a.ok(
        "ADD",
        "BL dave@example.com dave@example.com",
        "BL 6 dave@example.com dave@example.com",
    );
    a.ok("PRP", "PHW 12%203", "7 PHW 12%203");
    bye(a);
}

#[test]
fn syn_dump_per_generation_msnp2_to_7() {
    let s = server();
    build_alice(&s);
    for v in [2u8, 3, 4, 5, 6, 7] {
        let mut a = login(&s, v, A);
        let (t, dump) = syn(&mut a, 0);
        assert_eq!(dump, expected_dump(v, t), "MSNP{v} dump");
        bye(a);
    }
}

#[test]
fn syn_with_current_serial_is_one_line_and_stale_serial_dumps() {
    let s = server();
    build_alice(&s);
    for v in [2u8, 5, 7] {
        let mut a = login(&s, v, A);
        let (t, dump) = syn(&mut a, 7);
        assert_eq!(dump, vec![format!("SYN {t} 7")], "MSNP{v}");
        bye(a);
        let mut a = login(&s, v, A);
        let (t, dump) = syn(&mut a, 6);
        assert_eq!(dump, expected_dump(v, t), "MSNP{v} stale serial");
        bye(a);
    }
    // A fresh account has serial 0: `SYN t 0` is already current.
    let mut e = login(&s, 7, E);
    let (t, dump) = syn(&mut e, 0);
    assert_eq!(dump, vec![format!("SYN {t} 0")]);
}

#[test]
fn second_syn_in_a_session_is_refused() {
    let s = server();
    let mut a = login(&s, 7, A);
    syn(&mut a, 0);
    a.err("SYN", "0", 715);
}

#[test]
fn serial_increases_on_every_change() {
    let s = server();
    let mut a = on(&s, 7, A);
    a.ok(
        "ADD",
        "FL bob@example.com bob@example.com",
        "FL 1 bob@example.com bob@example.com 0",
    );
    a.ok(
        "ADD",
        "AL bob@example.com bob@example.com",
        "AL 2 bob@example.com bob@example.com",
    );
    a.ok("GTC", "N", "3 N");
    a.ok("BLP", "BL", "4 BL");
    a.ok(
        "REA",
        "alice@example.com Alice",
        "5 alice@example.com Alice",
    );
    a.ok("PRP", "PHM 1", "6 PHM 1");
    a.ok("ADG", "G 0", "7 G 1 0");
    a.ok("REG", "1 H 0", "8 1 H 0");
    a.ok("RMG", "1", "9 1");
    a.ok("REM", "AL bob@example.com", "AL 10 bob@example.com");
    a.ok("REM", "FL bob@example.com", "FL 11 bob@example.com");
    bye(a);
    let mut a = login(&s, 7, A);
    let (t, dump) = syn(&mut a, 11);
    assert_eq!(dump, vec![format!("SYN {t} 11")]);
}

#[test]
fn add_and_rem_replies_and_reverse_list_notices() {
    let s = server();
    let mut a = on(&s, 7, A);
    let mut b = on(&s, 2, B);
    let mut c = on(&s, 5, C);

    // alice adds bob (online, visible): ADD reply, then ILN with the ADD's trid.
    let (t, l) = a.call("ADD", "FL bob@example.com Bob%20B");
    assert_eq!(l, format!("ADD {t} FL 1 bob@example.com Bob%20B 0"));
    assert_eq!(
        a.drain(),
        vec![format!("ILN {t} NLN bob@example.com bob@example.com")]
    );
    // bob is told he is on alice's RL, with his own serial.
    assert_eq!(b.line(), "ADD 0 RL 1 alice@example.com alice@example.com");

    // alice adds carol to AL and BL-less lists: no RL notice for carol.
    a.ok(
        "ADD",
        "AL carol@example.com carol@example.com",
        "AL 2 carol@example.com carol@example.com",
    );
    c.expect_silence(Duration::from_millis(150));

    // Presence of bob now reaches alice.
    b.ok("CHG", "BSY", "BSY");
    assert_eq!(a.line(), "NLN BSY bob@example.com bob@example.com");

    // Removing bob: REM reply, bob gets REM 0 RL, and alice stops getting bob's presence.
    a.ok("REM", "FL bob@example.com", "FL 3 bob@example.com");
    assert_eq!(b.line(), "REM 0 RL 2 alice@example.com");
    b.ok("CHG", "AWY", "AWY");
    assert_eq!(a.drain(), Vec::<String>::new());

    // AL removal in MSNP2 form and an MSNP2 client's own ADD/REM replies (no group field).
    a.ok("REM", "AL carol@example.com", "AL 4 carol@example.com");
    let (t, l) = b.call("ADD", "FL carol@example.com C");
    assert_eq!(l, format!("ADD {t} FL 3 carol@example.com C"));
    assert_eq!(
        b.drain(),
        vec![format!("ILN {t} NLN carol@example.com carol@example.com")]
    );
    assert_eq!(c.line(), "ADD 0 RL 1 bob@example.com bob@example.com");
    b.ok(
        "ADD",
        "BL dave@example.com dave@example.com",
        "BL 4 dave@example.com dave@example.com",
    );
    b.ok("REM", "BL dave@example.com", "BL 5 dave@example.com");
    b.ok("REM", "FL carol@example.com", "FL 6 carol@example.com");
    assert_eq!(c.line(), "REM 0 RL 2 bob@example.com");
}

#[test]
fn offline_contact_finds_reverse_list_entry_on_next_syn() {
    let s = server();
    let mut a = on(&s, 7, A);
    a.ok(
        "ADD",
        "FL bob@example.com Bob",
        "FL 1 bob@example.com Bob 0",
    );
    // bob is offline: no ILN.
    assert_eq!(a.drain(), Vec::<String>::new());
    let mut b = login(&s, 2, B);
    let (t, dump) = syn(&mut b, 0);
    assert_eq!(
        dump,
        lines(
            t,
            &[
                "SYN {t} 1",
                "GTC {t} 1 A",
                "BLP {t} 1 AL",
                "LST {t} FL 1 0 0",
                "LST {t} AL 1 0 0",
                "LST {t} BL 1 0 0",
                "LST {t} RL 1 1 1 alice@example.com alice@example.com",
            ]
        )
    );
}

#[test]
fn list_errors_msnp7() {
    let s = server();
    let mut a = on(&s, 7, A);
    a.err("ADD", "FL notanaddress notanaddress", 201);
    a.err("ADD", "FL a@b a@b", 201);
    a.err("ADD", "FL nobody@example.com nobody@example.com", 205);
    // 201/205 take priority over a bad group.
    a.err("ADD", "FL nobody@example.com nobody@example.com 5", 205);
    a.err("ADD", "FL bad bad 5", 201);
    a.err("ADD", "FL bob@example.com bob@example.com 5", 224);
    a.ok(
        "ADD",
        "FL bob@example.com bob@example.com",
        "FL 1 bob@example.com bob@example.com 0",
    );
    a.err("ADD", "FL bob@example.com bob@example.com", 215);
    a.err("ADD", "FL bob@example.com bob@example.com 0", 215);
    a.ok(
        "ADD",
        "AL carol@example.com carol@example.com",
        "AL 2 carol@example.com carol@example.com",
    );
    a.err("ADD", "AL carol@example.com carol@example.com", 215);
    a.err("ADD", "BL carol@example.com carol@example.com", 219);
    a.ok(
        "ADD",
        "BL dave@example.com dave@example.com",
        "BL 3 dave@example.com dave@example.com",
    );
    a.err("ADD", "AL dave@example.com dave@example.com", 219);
    a.err("REM", "FL eve@example.com", 216);
    a.err("REM", "AL dave@example.com", 216);
    a.err("REM", "BL carol@example.com", 216);
    a.err("REM", "FL bob@example.com 7", 224);
    a.err("REA", "eve@example.com Eve", 216);
    // None of the errors changed anything: the serial is still 3.
    bye(a);
    let mut a = login(&s, 7, A);
    let (t, dump) = syn(&mut a, 3);
    assert_eq!(dump, vec![format!("SYN {t} 3")]);
}

#[test]
fn list_errors_msnp2() {
    let s = server();
    let mut a = on(&s, 2, A);
    a.err("ADD", "FL nobody nobody", 201);
    a.err("ADD", "FL nobody@example.com nobody@example.com", 205);
    a.ok(
        "ADD",
        "FL bob@example.com bob@example.com",
        "FL 1 bob@example.com bob@example.com",
    );
    a.err("ADD", "FL bob@example.com bob@example.com", 215);
    a.ok(
        "ADD",
        "BL bob@example.com bob@example.com",
        "BL 2 bob@example.com bob@example.com",
    );
    a.err("ADD", "AL bob@example.com bob@example.com", 219);
    a.err("REM", "AL bob@example.com", 216);
}

#[test]
fn add_or_rem_on_reverse_list_disconnects() {
    let s = server();
    let mut a = on(&s, 7, A);
    let mut b = on(&s, 2, B);
    let (t, l) = b.call("ADD", "FL alice@example.com alice@example.com");
    assert_eq!(
        l,
        format!("ADD {t} FL 1 alice@example.com alice@example.com")
    );
    assert_eq!(
        b.drain(),
        vec![format!("ILN {t} NLN alice@example.com alice@example.com")]
    );
    assert_eq!(a.line(), "ADD 0 RL 1 bob@example.com bob@example.com");
    let t = a.t();
    a.send(&format!("ADD {t} RL bob@example.com bob@example.com"));
    assert_eq!(a.expect_closed(), Vec::<String>::new());
    let mut a = on(&s, 2, A);
    let t = a.t();
    a.send(&format!("REM {t} RL bob@example.com"));
    assert_eq!(a.expect_closed(), Vec::<String>::new());
    // bob is unaffected and saw alice go offline, online and offline again.
    // The notices travel through the directory while a PNG goes straight to
    // bob's session, so read them one by one instead of draining up to QNG.
    let seen: Vec<String> = (0..3).map(|_| b.line()).collect();
    assert_eq!(
        seen,
        vec![
            "FLN alice@example.com",
            "NLN NLN alice@example.com alice@example.com",
            "FLN alice@example.com"
        ]
    );
    assert_eq!(b.drain(), Vec::<String>::new());
}

#[test]
fn groups_adg_rmg_reg_msnp7() {
    let s = server();
    let mut a = on(&s, 7, A);
    let mut b = on(&s, 2, B);
    a.ok("ADG", "Friends 0", "1 Friends 1 0");
    a.ok("ADG", "Work%20Mates 0", "2 Work%20Mates 2 0");
    a.err("ADG", "Friends 0", 228);
    a.err("ADG", "Other%20Contacts 0", 228);
    a.ok("REG", "1 Buddies 0", "3 1 Buddies 0");
    a.err("REG", "2 Buddies 0", 228);
    a.err("REG", "9 Nope 0", 224);
    a.err("RMG", "9", 224);
    a.err("RMG", "0", 230);
    // Group 0 can be renamed.
    a.ok("REG", "0 Others 0", "4 0 Others 0");

    // bob only in group 2; carol in groups 1 and 2 (a second ADD adds a membership).
    let (t, l) = a.call("ADD", "FL bob@example.com bob@example.com 2");
    assert_eq!(l, format!("ADD {t} FL 5 bob@example.com bob@example.com 2"));
    assert_eq!(
        a.drain(),
        vec![format!("ILN {t} NLN bob@example.com bob@example.com")]
    );
    assert_eq!(b.line(), "ADD 0 RL 1 alice@example.com alice@example.com");
    a.ok(
        "ADD",
        "FL carol@example.com carol@example.com 1",
        "FL 6 carol@example.com carol@example.com 1",
    );
    a.ok(
        "ADD",
        "FL carol@example.com carol@example.com 2",
        "FL 7 carol@example.com carol@example.com 2",
    );
    a.err("ADD", "FL carol@example.com carol@example.com 2", 215);
    // Removing one membership keeps carol on FL.
    a.ok("REM", "FL carol@example.com 1", "FL 8 carol@example.com 1");
    a.ok(
        "ADD",
        "FL carol@example.com carol@example.com 1",
        "FL 9 carol@example.com carol@example.com 1",
    );

    // Deleting group 2: bob (only there) leaves the FL and gets REM 0 RL; carol stays in group 1.
    let (t, l) = a.call("RMG", "2");
    let parts: Vec<&str> = l.split(' ').collect();
    assert_eq!(parts.len(), 4, "{l}");
    assert_eq!(
        (parts[0], parts[1], parts[3]),
        ("RMG", &*t.to_string(), "2")
    );
    let ser: u32 = parts[2].parse().unwrap();
    assert!(ser > 9, "{l}");
    assert_eq!(b.line(), "REM 0 RL 2 alice@example.com");
    bye(a);

    let mut a = login(&s, 7, A);
    let (t, dump) = syn(&mut a, 0);
    let want = lines(
        t,
        &[
            &format!("SYN {{t}} {ser}"),
            &format!("GTC {{t}} {ser} A"),
            &format!("BLP {{t}} {ser} AL"),
            &format!("PRP {{t}} {ser} PHH"),
            &format!("PRP {{t}} {ser} PHW"),
            &format!("PRP {{t}} {ser} PHM"),
            &format!("PRP {{t}} {ser} MOB N"),
            &format!("PRP {{t}} {ser} MBE N"),
            &format!("LSG {{t}} {ser} 1 2 0 Others 0"),
            &format!("LSG {{t}} {ser} 2 2 1 Buddies 0"),
            &format!("LST {{t}} FL {ser} 1 1 carol@example.com carol@example.com 1"),
            &format!("BPR {ser} carol@example.com PHH"),
            &format!("BPR {ser} carol@example.com PHW"),
            &format!("BPR {ser} carol@example.com PHM"),
            &format!("BPR {ser} carol@example.com MOB N"),
            &format!("LST {{t}} AL {ser} 0 0"),
            &format!("LST {{t}} BL {ser} 0 0"),
            &format!("LST {{t}} RL {ser} 0 0"),
        ],
    );
    assert_eq!(dump, want);
}

#[test]
fn group_commands_do_not_exist_before_msnp7() {
    let s = server();
    let mut a = on(&s, 6, A);
    let t = a.t();
    a.send(&format!("ADG {t} Friends 0"));
    assert_eq!(a.expect_closed(), Vec::<String>::new());
}

#[test]
fn blp_and_gtc_set_and_218_for_same_value() {
    let s = server();
    let mut a = on(&s, 2, A);
    a.err("BLP", "AL", 218);
    a.err("GTC", "A", 218);
    a.ok("BLP", "BL", "1 BL");
    a.err("BLP", "BL", 218);
    a.ok("GTC", "N", "2 N");
    a.err("GTC", "N", 218);
    bye(a);
    let mut a = login(&s, 5, A);
    let (t, dump) = syn(&mut a, 0);
    assert_eq!(
        &dump[..3],
        &lines(t, &["SYN {t} 2", "GTC {t} 2 N", "BLP {t} 2 BL"])[..]
    );
    a.ok("BLP", "AL", "3 AL");
    a.ok("GTC", "A", "4 A");
    // An invalid value is a disconnect.
    let t = a.t();
    a.send(&format!("GTC {t} X"));
    assert_eq!(a.expect_closed(), Vec::<String>::new());
}

#[test]
fn rea_own_name_is_persisted_and_announced() {
    let s = server();
    let mut b = on(&s, 2, B);
    b.ok(
        "ADD",
        "FL alice@example.com alice@example.com",
        "FL 1 alice@example.com alice@example.com",
    );
    let mut a = on(&s, 7, A);
    // alice went online: bob, who has her on FL, is told.
    assert_eq!(b.line(), "NLN NLN alice@example.com alice@example.com");
    a.ok(
        "REA",
        "alice@example.com Alice%20A",
        "2 alice@example.com Alice%20A",
    );
    assert_eq!(b.line(), "NLN NLN alice@example.com Alice%20A");
    // Contact rename (bob on alice's RL only: the stored name changes).
    b.ok("REA", "alice@example.com Ally", "2 alice@example.com Ally");
    a.expect_silence(Duration::from_millis(100));
    bye(a);
    assert_eq!(b.line(), "FLN alice@example.com");
    // Persisted: USR OK carries the new name; bob's stored name is in his SYN.
    let (mut a, okl) = login_md5(&s, 7, A, "pw");
    assert!(okl.ends_with(" OK alice@example.com Alice%20A 1"), "{okl}");
    let (t, dump) = syn(&mut a, 0);
    assert_eq!(
        dump.last().unwrap(),
        &format!("LST {t} RL 2 1 1 bob@example.com bob@example.com")
    );
    bye(b);
    let mut b = login(&s, 2, B);
    let (t, dump) = syn(&mut b, 0);
    assert_eq!(dump[3], format!("LST {t} FL 2 1 1 alice@example.com Ally"));
    b.err("REA", "carol@example.com Carol", 216);
}

#[test]
fn lists_identical_after_restart() {
    let s = server();
    build_alice(&s);
    let mut a = login(&s, 7, A);
    a.ok("ADG", "Later 0", "8 Later 2 0");
    a.ok("GTC", "N", "9 N");
    a.ok("BLP", "BL", "10 BL");
    bye(a);
    let mut a = login(&s, 7, A);
    let (t1, before) = syn(&mut a, 0);
    bye(a);
    let s = s.restart();
    let mut a = login(&s, 7, A);
    let (t2, after) = syn(&mut a, 0);
    assert_eq!(t1, t2);
    assert_eq!(before, after);
    assert_eq!(after.len(), 24, "{after:#?}");
    bye(a);
    let mut a = login(&s, 7, A);
    let (t, dump) = syn(&mut a, 10);
    assert_eq!(dump, vec![format!("SYN {t} 10")]);
}

#[test]
fn rmg_keeps_contacts_that_are_also_in_group_0() {
    let s = server();
    let mut a = on(&s, 7, A);
    a.ok("ADG", "Temp 0", "1 Temp 1 0");
    a.ok(
        "ADD",
        "FL bob@example.com bob@example.com",
        "FL 2 bob@example.com bob@example.com 0",
    );
    a.ok(
        "ADD",
        "FL bob@example.com bob@example.com 1",
        "FL 3 bob@example.com bob@example.com 1",
    );
    let (t, l) = a.call("RMG", "1");
    assert!(
        l.starts_with(&format!("RMG {t} ")) && l.ends_with(" 1"),
        "{l}"
    );
    bye(a);
    let mut a = login(&s, 7, A);
    let (t, dump) = syn(&mut a, 0);
    let fl: Vec<&String> = dump
        .iter()
        .filter(|l| l.starts_with(&format!("LST {t} FL ")))
        .collect();
    assert_eq!(fl.len(), 1, "{dump:#?}");
    assert!(
        fl[0].ends_with(" 1 1 bob@example.com bob@example.com 0"),
        "{dump:#?}"
    );
}

#[test]
fn allowing_a_contact_keeps_its_fl_custom_name() {
    let s = server();
    let mut a = on(&s, 2, A);
    a.ok(
        "ADD",
        "FL bob@example.com Bobby",
        "FL 1 bob@example.com Bobby",
    );
    // Clients send the handle as the name for AL/BL.
    a.ok(
        "ADD",
        "AL bob@example.com bob@example.com",
        "AL 2 bob@example.com bob@example.com",
    );
    bye(a);
    let mut a = login(&s, 2, A);
    let (t, dump) = syn(&mut a, 0);
    assert_eq!(
        dump[3],
        format!("LST {t} FL 2 1 1 bob@example.com Bobby"),
        "{dump:#?}"
    );
}

#[test]
fn overlong_names_disconnect() {
    let s = server();
    let long = "x".repeat(388);
    let mut a = on(&s, 7, A);
    let t = a.t();
    a.send(&format!("ADD {t} FL bob@example.com {long}"));
    assert_eq!(a.expect_closed(), Vec::<String>::new());
    let mut a = on(&s, 7, A);
    let t = a.t();
    a.send(&format!("REA {t} alice@example.com {long}"));
    assert_eq!(a.expect_closed(), Vec::<String>::new());
    // Exactly 387 encoded bytes is fine.
    let mut a = on(&s, 7, A);
    let ok_name = "%20".repeat(129);
    a.ok(
        "REA",
        &format!("alice@example.com {ok_name}"),
        &format!("1 alice@example.com {ok_name}"),
    );
}
