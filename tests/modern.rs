//! MSNP8-12 lists, presence and chat, and cross-version behaviour.
mod common;
use common::*;
use std::time::Duration;

const USERS: &[(&str, &str)] = &[
    ("alice@example.com", "pw-a"),
    ("bob@example.com", "pw-b"),
    ("carol@example.com", "pw-c"),
];

fn syn_lines(c: &mut Client, version: u8) -> Vec<String> {
    let t = c.t();
    if version >= 10 {
        c.send(&format!("SYN {t} 0 0"));
    } else {
        c.send(&format!("SYN {t} 0"));
    }
    let head = c.expect(&format!("SYN {t} "));
    let parts: Vec<&str> = head.split(' ').collect();
    let (contacts, groups): (usize, usize) = (
        parts[parts.len() - 2].parse().unwrap(),
        parts[parts.len() - 1].parse().unwrap(),
    );
    let mut lines = vec![head.clone()];
    let mut lst = 0;
    let mut lsg = 0;
    // GTC, BLP, (PRP), LSG..., LST... (BPR): read until the counts are satisfied.
    let fixed = if version >= 10 { 4 } else { 3 };
    while lst < contacts || lsg < groups || lines.len() < fixed {
        let l = c.line();
        if l.starts_with("LST ") {
            lst += 1;
        }
        if l.starts_with("LSG ") {
            lsg += 1;
        }
        lines.push(l);
    }
    lines
}

#[test]
fn adc_with_guids_and_groups_msnp11() {
    let server = TestServer::start(USERS);
    let (mut a, _, _) = login_twn(&server, 11, "alice@example.com", "pw-a");
    let _ = syn_lines(&mut a, 11);
    // Add bob to FL: reply carries his contact GUID.
    let t = a.t();
    a.send(&format!("ADC {t} FL N=bob@example.com F=Bobby"));
    let r = a.expect(&format!("ADC {t} FL N=bob@example.com F=Bobby C="));
    let guid = r.rsplit("C=").next().unwrap().to_string();
    assert_eq!(guid.len(), 36);
    let t = a.t();
    a.send(&format!("ADC {t} FL N=bob@example.com F=Bobby"));
    a.expect(&format!("215 {t}"));
    let t = a.t();
    a.send(&format!("ADC {t} FL N=nobody@example.com F=x"));
    a.expect(&format!("208 {t}"));
    // Groups with GUIDs.
    let t = a.t();
    a.send(&format!("ADG {t} Work%20Mates"));
    // The documented MSNP10+ shape (W adg.md): `ADG trid name guid`.
    let r = a.expect(&format!("ADG {t} Work%20Mates "));
    let g = r.rsplit(' ').next().unwrap().to_string();
    let t = a.t();
    a.send(&format!("ADC {t} FL C={guid} {g}"));
    a.expect(&format!("ADC {t} FL C={guid} {g}"));
    let t = a.t();
    a.send(&format!(
        "ADC {t} FL C={guid} 00000000-0000-0000-0000-000000000000"
    ));
    a.expect(&format!("224 {t}"));
    let t = a.t();
    a.send(&format!("REG {t} {g} Best%20Friends"));
    a.expect(&format!("REG {t} {g} Best%20Friends"));
    // SYN on a new login shows it all.
    a.send("OUT");
    a.expect_closed();
    let (mut a, _, _) = login_twn(&server, 11, "alice@example.com", "pw-a");
    let lines = syn_lines(&mut a, 11);
    assert!(
        lines.contains(&format!("LSG Best%20Friends {g}")),
        "{lines:?}"
    );
    assert!(
        lines.contains(&format!("LST N=bob@example.com F=Bobby C={guid} 1 {g}")),
        "{lines:?}"
    );
    assert!(
        lines.contains(&"PRP MFN alice@example.com".to_string()),
        "{lines:?}"
    );
    // Remove from the group, then from FL by GUID.
    let t = a.t();
    a.send(&format!("REM {t} FL {guid} {g}"));
    a.expect(&format!("REM {t} FL {guid} {g}"));
    let t = a.t();
    a.send(&format!("REM {t} FL {guid}"));
    a.expect(&format!("REM {t} FL {guid}"));
    let t = a.t();
    a.send(&format!("REM {t} FL {guid}"));
    a.expect(&format!("216 {t}"));
    let t = a.t();
    a.send(&format!("RMG {t} {g}"));
    a.expect(&format!("RMG {t} {g}"));
}

#[test]
fn rl_notice_and_pending_list_msnp12() {
    let server = TestServer::start(USERS);
    let mut b = online_any(&server, 12, "bob@example.com", "pw-b");
    let mut a = online_any(&server, 12, "alice@example.com", "pw-a");
    let t = a.t();
    a.send(&format!("ADC {t} FL N=bob@example.com F=bob@example.com"));
    a.expect(&format!("ADC {t} FL N=bob@example.com"));
    // Bob is told (with F=, which msnp11-sdk needs) and alice gets bob's presence.
    b.expect("ADC 0 RL N=alice@example.com F=alice@example.com");
    a.expect(&format!("ILN {t} NLN bob@example.com bob@example.com 0"));
    // Bob's next SYN has alice on RL+PL (8+16) with the MSNP12 network id.
    b.send("OUT");
    b.expect_closed();
    let (mut b, _, _) = login_twn(&server, 12, "bob@example.com", "pw-b");
    let lines = syn_lines(&mut b, 12);
    assert!(
        lines.contains(&"LST N=alice@example.com F=alice@example.com 24 1".to_string()),
        "{lines:?}"
    );
    // Acknowledging by allowing her clears PL.
    let t = b.t();
    b.send(&format!("ADC {t} AL N=alice@example.com"));
    b.expect(&format!("ADC {t} AL N=alice@example.com"));
    b.send("OUT");
    b.expect_closed();
    let (mut b, _, _) = login_twn(&server, 12, "bob@example.com", "pw-b");
    let lines = syn_lines(&mut b, 12);
    assert!(
        lines.contains(&"LST N=alice@example.com F=alice@example.com 10 1".to_string()),
        "{lines:?}"
    );
    // Removing bob from alice's FL tells bob.
    let (mut a2, _, _) = login_twn(&server, 12, "alice@example.com", "pw-a");
    a.expect_closed(); // OUT OTH to the old session
    let lines = syn_lines(&mut a2, 12);
    let guid = lines
        .iter()
        .find(|l| l.starts_with("LST N=bob@"))
        .unwrap()
        .split("C=")
        .nth(1)
        .unwrap()
        .split(' ')
        .next()
        .unwrap()
        .to_string();
    let t = a2.t();
    a2.send(&format!("REM {t} FL {guid}"));
    a2.expect(&format!("REM {t} FL {guid}"));
    b.expect("REM 0 RL N=alice@example.com");
}

#[test]
fn msnp8_and_9_syn_and_presence_shapes() {
    let server = TestServer::start(USERS);
    let mut a = online_any(&server, 9, "alice@example.com", "pw-a");
    let t = a.t();
    a.send(&format!("ADD {t} FL bob@example.com Bob 0"));
    a.expect(&format!("ADD {t} FL 1 bob@example.com Bob 0"));
    let t = a.t();
    a.send(&format!("ADD {t} AL bob@example.com Bob"));
    a.expect(&format!("ADD {t} AL 2 bob@example.com Bob"));
    // Bob (MSNP8) comes online with caps: alice (MSNP9) sees caps and the MSNObject field.
    let mut b = online_any(&server, 8, "bob@example.com", "pw-b");
    let (l, _) = a.until("NLN ");
    assert_eq!(l, "NLN NLN bob@example.com bob@example.com 0");
    let t = b.t();
    b.send(&format!("CHG {t} AWY 268435500"));
    b.expect(&format!("CHG {t} AWY 268435500"));
    assert_eq!(
        a.line(),
        "NLN AWY bob@example.com bob@example.com 268435500"
    );
    // MSNP9 MSNObject is relayed verbatim to MSNP9 watchers.
    let obj = "%3Cmsnobj%20Creator%3D%22a%22%2F%3E";
    let t = a.t();
    a.send(&format!("CHG {t} NLN 268435500 {obj}"));
    a.expect(&format!("CHG {t} NLN 268435500 {obj}"));
    // MSNP8-9 SYN: counts, bitmask, group ids.
    a.send("OUT");
    a.expect_closed();
    let (mut a, _, _) = login_twn(&server, 9, "alice@example.com", "pw-a");
    let lines = syn_lines(&mut a, 9);
    assert_eq!(lines[0], "SYN 5 2 1 1");
    assert_eq!(
        &lines[1..4],
        &["GTC A", "BLP AL", "LSG 0 Other%20Contacts 0"]
    );
    assert_eq!(lines[4], "LST bob@example.com Bob 3 0");
    // Same serial: nothing else.
    let t = a.t();
    a.send(&format!("SYN {t} 2"));
    a.expect(&format!("715 {t}"));
    let _ = b;
}

#[test]
fn personal_message_uux_ubx() {
    let server = TestServer::start(USERS);
    let mut a = online_any(&server, 11, "alice@example.com", "pw-a");
    let t = a.t();
    a.send(&format!("ADC {t} FL N=bob@example.com F=bob"));
    a.expect(&format!("ADC {t} FL"));
    let mut b = online_any(&server, 11, "bob@example.com", "pw-b");
    let psm = b"<Data><PSM>Hello world</PSM><CurrentMedia></CurrentMedia></Data>";
    let t = b.t();
    b.send_payload(&format!("UUX {t} {}", psm.len()), psm);
    b.expect(&format!("UUX {t} 0"));
    let (l, p) = a.until("UBX ");
    assert_eq!(l, format!("UBX bob@example.com {}", psm.len()));
    let _ = p;
    let got = a.payload(psm.len());
    assert_eq!(got, psm);
    // A newly signed-in watcher gets ILN followed by the UBX.
    a.send("OUT");
    a.expect_closed();
    let (mut a, _, _) = login_twn(&server, 11, "alice@example.com", "pw-a");
    let _ = syn_lines(&mut a, 11);
    a.send("CHG 9 NLN 0");
    a.expect("CHG 9 NLN 0");
    a.expect("ILN 9 NLN bob@example.com bob@example.com 0");
    let (_, body) = a.expect_payload("UBX bob@example.com ");
    assert_eq!(body, psm);
    // Not a <Data> document: disconnect.
    b.send_payload("UUX 20 5", b"hello");
    b.expect_closed();
}

#[test]
fn msnp11_challenge_right_and_wrong() {
    let server = TestServer::start_with(USERS, &["--chl-interval", "1"]);
    for (right, product) in [
        (true, "PROD0090YUAUV{2B"),
        (false, "PROD0090YUAUV{2B"),
        (false, "PRODUNKNOWN00000"),
    ] {
        let (mut a, _, _) = login_twn(&server, 11, "alice@example.com", "pw-a");
        let (chl, _) = a.until("CHL 0 ");
        let challenge = chl.rsplit(' ').next().unwrap();
        let answer = if right {
            msnpd::auth::msnp11_response(challenge, product, "YMM8C_H7KCQ2S_KL")
        } else {
            "0123456789abcdef0123456789abcdef".to_string()
        };
        a.send_payload(&format!("QRY 50 {product} 32"), answer.as_bytes());
        if right {
            a.until("QRY 50");
            a.send("OUT");
        } else {
            let rest = a.expect_closed();
            assert!(rest.contains(&"540 50".to_string()), "{rest:?}");
        }
    }
}

#[test]
fn unanswered_challenge_disconnects() {
    let server = TestServer::start_with(USERS, &["--chl-interval", "1"]);
    let (mut a, _, _) = login_twn(&server, 10, "alice@example.com", "pw-a");
    a.until("CHL 0 ");
    // The answer deadline is 50 s by default; the server must not cut us before that.
    a.expect_silence(Duration::from_millis(300));
}

#[test]
fn msnp2_and_msnp12_see_each_other_and_chat() {
    let server = TestServer::start(USERS);
    let mut old = online_any(&server, 2, "alice@example.com", "pw-a");
    let mut new = online_any(&server, 12, "bob@example.com", "pw-b");
    let t = old.t();
    old.send(&format!("ADD {t} FL bob@example.com bob@example.com"));
    old.expect(&format!("ADD {t} FL "));
    // MSNP2 presence has no caps.
    old.expect(&format!("ILN {t} NLN bob@example.com bob@example.com"));
    let (rl, _) = new.until("ADC 0 RL ");
    assert_eq!(rl, "ADC 0 RL N=alice@example.com F=alice@example.com");
    let t = new.t();
    new.send(&format!(
        "ADC {t} FL N=alice@example.com F=alice@example.com"
    ));
    new.expect(&format!("ADC {t} FL "));
    new.expect(&format!(
        "ILN {t} NLN alice@example.com alice@example.com 0"
    ));
    // Status change shows in each dialect.
    let t = new.t();
    new.send(&format!("CHG {t} BSY 1342554172"));
    new.expect(&format!("CHG {t} BSY 1342554172"));
    let (rl, _) = old.until("ADD 0 RL ");
    assert_eq!(rl, "ADD 0 RL 2 bob@example.com bob@example.com");
    assert_eq!(old.line(), "NLN BSY bob@example.com bob@example.com");
    // Chat: the MSNP12 user starts a switchboard and invites the MSNP2 user.
    let t = new.t();
    new.send(&format!("XFR {t} SB"));
    let x = new.expect(&format!("XFR {t} SB "));
    let parts: Vec<&str> = x.split(' ').collect();
    let mut sb_new = Client::connect(parts[3].parse().unwrap());
    sb_new.send(&format!("USR 1 bob@example.com {}", parts[5]));
    sb_new.expect("USR 1 OK bob@example.com bob@example.com");
    sb_new.send("CAL 2 alice@example.com");
    let ring = sb_new.expect("CAL 2 RINGING ");
    let sessid = ring.rsplit(' ').next().unwrap().to_string();
    let rng = old.expect(&format!("RNG {sessid} "));
    let r: Vec<&str> = rng.split(' ').collect();
    assert_eq!(&r[5..], &["bob@example.com", "bob@example.com"]);
    let mut sb_old = Client::connect(r[2].parse().unwrap());
    sb_old.send(&format!("ANS 1 alice@example.com {} {sessid}", r[4]));
    // MSNP2 gets no caps on IRO; MSNP12 gets caps on JOI.
    sb_old.expect("IRO 1 1 1 bob@example.com bob@example.com");
    sb_old.expect("ANS 1 OK");
    sb_new.expect("JOI alice@example.com alice@example.com 0");
    let text = b"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\nhi from 2005";
    sb_new.send_payload(&format!("MSG 3 A {}", text.len()), text);
    sb_new.expect("ACK 3");
    let (l, p) = sb_old.expect_payload("MSG bob@example.com bob@example.com ");
    assert_eq!(
        l,
        format!("MSG bob@example.com bob@example.com {}", text.len())
    );
    assert_eq!(p, text);
    let text = b"MIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\nhi from 1999";
    sb_old.send_payload(&format!("MSG 2 N {}", text.len()), text);
    let (_, p) = sb_new.expect_payload("MSG alice@example.com alice@example.com ");
    assert_eq!(p, text);
}

#[test]
fn same_account_across_msnp7_and_msnp12() {
    let server = TestServer::start(USERS);
    let mut a7 = online(&server, 7, "alice@example.com", "pw-a");
    let t = a7.t();
    a7.send(&format!("ADG {t} Family 0"));
    let adg = a7.expect(&format!("ADG {t} "));
    let gid = adg.split(' ').nth(4).unwrap().to_string();
    let t = a7.t();
    a7.send(&format!("ADD {t} FL bob@example.com Bobby {gid}"));
    a7.expect(&format!("ADD {t} FL "));
    let t = a7.t();
    a7.send(&format!("REA {t} alice@example.com Alice%20A"));
    a7.expect(&format!("REA {t} "));
    a7.send("OUT");
    a7.expect_closed();
    let (mut a12, _, _) = login_twn(&server, 12, "alice@example.com", "pw-a");
    let lines = syn_lines(&mut a12, 12);
    assert!(
        lines.contains(&"PRP MFN Alice%20A".to_string()),
        "{lines:?}"
    );
    let lsg = lines
        .iter()
        .find(|l| l.starts_with("LSG Family "))
        .expect("group")
        .clone();
    let gguid = lsg.rsplit(' ').next().unwrap();
    let lst = lines
        .iter()
        .find(|l| l.starts_with("LST N=bob@example.com"))
        .expect("contact");
    assert!(lst.starts_with("LST N=bob@example.com F=Bobby C="), "{lst}");
    assert!(lst.ends_with(&format!(" 1 1 {gguid}")), "{lst}");
    // A rename in MSNP12 shows in MSNP7.
    let t = a12.t();
    a12.send(&format!("PRP {t} MFN Alice%20Twelve"));
    a12.expect(&format!("PRP {t} MFN Alice%20Twelve"));
    a12.send("OUT");
    a12.expect_closed();
    let (_, ok) = login_md5(&server, 7, "alice@example.com", "pw-a");
    assert_eq!(ok, "USR 4 OK alice@example.com Alice%20Twelve 1");
}
