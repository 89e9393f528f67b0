//! SIGTERM: every notification client is told `OUT SSD`, the server exits 0 promptly, and the
//! data survives a restart.
mod common;
use common::*;
use std::time::Duration;

const A: &str = "alice@example.com";
const B: &str = "bob@example.com";
const C: &str = "carol@example.com";

/// Reads until the server closes; returns the lines after the last payload-carrying one.
fn closed_lines(c: &mut Client) -> Vec<String> {
    c.expect_closed()
}

#[test]
fn sigterm_sends_out_ssd_to_every_client_and_exits_zero() {
    let mut server = TestServer::start(&[(A, "pw"), (B, "pw"), (C, "pw")]);
    let mut a = online(&server, 7, A, "pw");
    let mut b = online(&server, 2, B, "pw");
    // Logged in, hidden.
    let (mut c, _) = login_md5(&server, 5, C, "pw");
    c.send("CHG 9 HDN");
    c.until("CHG 9 HDN");
    // Half-way through a login, and an idle TCP connection on each listener.
    let mut half = server.connect();
    half.send("VER 1 MSNP7 CVR0");
    half.expect("VER 1 MSNP7");
    let mut idle_ns = server.connect();
    let mut idle_sb = Client::connect(server.sb);
    // A switchboard session between alice and bob.
    a.send("XFR 20 SB");
    let xfr = a.expect("XFR 20 SB ");
    let p: Vec<&str> = xfr.split(' ').collect();
    let mut asb = Client::connect(p[3].parse().unwrap());
    asb.send(&format!("USR 1 {A} {}", p[5]));
    asb.expect("USR 1 OK ");
    asb.send(&format!("CAL 2 {B}"));
    asb.expect("CAL 2 RINGING ");
    let (rng, _) = b.until("RNG ");
    let r: Vec<&str> = rng.split(' ').collect();
    let mut bsb = Client::connect(r[2].parse().unwrap());
    bsb.send(&format!("ANS 1 {B} {} {}", r[4], r[1]));
    bsb.until("ANS 1 OK");
    asb.expect("JOI ");

    let (code, took) = server.terminate();
    assert_eq!(code, Some(0), "exit status; log:\n{}", server.log_text());
    assert!(took < Duration::from_secs(2), "took {took:?}");

    for (who, conn) in [(A, &mut a), (B, &mut b), (C, &mut c)] {
        let lines = closed_lines(conn);
        assert_eq!(
            lines.last().map(String::as_str),
            Some("OUT SSD"),
            "{who} got {lines:?}"
        );
        assert_eq!(
            lines.iter().filter(|l| *l == "OUT SSD").count(),
            1,
            "{who} got {lines:?}"
        );
    }
    // Everyone else is disconnected too.
    half.expect_closed();
    idle_ns.expect_closed();
    let sb_lines = idle_sb.expect_closed();
    assert!(
        !sb_lines.iter().any(|l| l.starts_with("OUT SSD")),
        "SB connections get no OUT SSD: {sb_lines:?}"
    );
    asb.expect_closed();
    bsb.expect_closed();
}

#[test]
fn sigterm_with_no_clients_exits_zero_quickly() {
    let mut server = TestServer::start(&[]);
    let (code, took) = server.terminate();
    assert_eq!(code, Some(0));
    assert!(took < Duration::from_secs(2), "took {took:?}");
    // The ports are released.
    assert!(
        std::net::TcpStream::connect(server.ns).is_err(),
        "NS still accepting"
    );
}

#[test]
fn sigint_also_shuts_down_cleanly() {
    let mut server = TestServer::start(&[(A, "pw")]);
    let mut a = online(&server, 7, A, "pw");
    unsafe_kill(server.child.id(), "INT");
    assert_eq!(
        wait_timeout(&mut server.child, Duration::from_secs(2)),
        Some(0)
    );
    assert_eq!(
        a.expect_closed().last().map(String::as_str),
        Some("OUT SSD")
    );
}

/// A full SYN from version 0 (lines up to a PNG/QNG round trip).
fn syn(c: &mut Client) -> Vec<String> {
    c.send("SYN 50 0");
    c.send("PNG");
    c.until("QNG").1
}

#[test]
fn data_survives_a_restart() {
    let server = TestServer::start(&[(A, "pw"), (B, "pw")]);
    let mut a = online(&server, 7, A, "pw");
    a.send(&format!("REA 10 {A} Alice%20Smith"));
    a.expect("REA 10 ");
    a.send(&format!("ADD 11 FL {B} Bobby"));
    a.until("ADD 11 FL ");
    // Allowing after adding must keep the FL name.
    a.send(&format!("ADD 12 AL {B} {B}"));
    a.until("ADD 12 AL ");
    a.send("ADG 13 Friends 0");
    a.until("ADG 13 ");
    a.send("BLP 14 BL");
    a.until("BLP 14 ");
    a.send("GTC 15 N");
    a.until("GTC 15 ");
    let mut b = online(&server, 7, B, "pw");
    b.send(&format!("ADD 20 FL {A} {A}"));
    b.until("ADD 20 FL ");
    // An account added from the command line while the server runs.
    let (code, _, err) = msnpd(
        &[
            "user",
            "add",
            C,
            "--password",
            "cpw",
            "--db",
            server.db.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(code, 0, "{err}");
    a.send("OUT");
    a.until("OUT");
    let (mut a, _) = login_md5(&server, 7, A, "pw");
    let before = syn(&mut a);
    assert!(
        before
            .iter()
            .any(|l| l.starts_with("LST 50 FL") && l.contains(" Bobby ")),
        "{before:?}"
    );
    assert!(
        before
            .iter()
            .any(|l| l.starts_with("LSG 50") && l.contains("Friends")),
        "{before:?}"
    );
    assert!(
        before
            .iter()
            .any(|l| l == &format!("BLP 50 {} BL", l.split(' ').nth(2).unwrap())),
        "{before:?}"
    );

    let mut server = server;
    let (code, _) = server.terminate();
    assert_eq!(code, Some(0));
    let server = server.restart();

    let (mut a, ok) = login_md5(&server, 7, A, "pw");
    assert_eq!(ok, format!("USR 4 OK {A} Alice%20Smith 1"));
    let after = syn(&mut a);
    assert_eq!(after, before, "SYN differs after restart");
    // Bob's lists and the CLI-added account are there too.
    let (mut b, _) = login_md5(&server, 7, B, "pw");
    let bl = syn(&mut b);
    assert!(
        bl.iter()
            .any(|l| l.starts_with("LST 50 FL") && l.contains(A)),
        "{bl:?}"
    );
    assert!(
        bl.iter()
            .any(|l| l.starts_with("LST 50 RL") && l.contains(A)),
        "{bl:?}"
    );
    login_md5(&server, 7, C, "cpw");
}
