//! Issue #21, security round 3: each test here reproduces one finding of the second outside
//! review and failed before its fix.
mod common;
use common::*;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};

const A: &str = "alice@example.com";

/// One HTTP request with exactly the `Host` given; returns the status and the headers.
fn with_host(
    addr: SocketAddr,
    method: &str,
    path: &str,
    host: &str,
    body: &[u8],
) -> (u16, Vec<(String, String)>) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(TIMEOUT)).unwrap();
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    req.extend_from_slice(body);
    s.write_all(&req).unwrap();
    let mut resp = Vec::new();
    let _ = s.read_to_end(&mut resp);
    let split = resp
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("response head");
    response_head(&String::from_utf8_lossy(&resp[..split]))
}

fn passwd(server: &TestServer, handle: &str, password: &str) {
    let db = server.db.to_str().unwrap();
    let (code, _, err) = msnpd(
        &["user", "passwd", handle, "--password", password, "--db", db],
        None,
    );
    assert_eq!(code, 0, "{err}");
}

/// Finding 4: a Tweener ticket fetched before `user passwd` no longer signs in afterwards.
#[test]
fn a_ticket_from_before_a_password_change_is_refused() {
    let server = TestServer::start(&[(A, "old-password")]);
    let ticket = passport_ticket(&server, A, "old-password", "ct=1").expect("login accepted");
    passwd(&server, A, "new-password");
    let mut ns = twn_challenged(&server, 12, A);
    ns.send(&format!("USR 3 TWN S {ticket}"));
    assert_eq!(ns.expect_closed(), vec!["911 3"]);
    // A ticket fetched with the new password works.
    let ticket = passport_ticket(&server, A, "new-password", "ct=1").expect("new password");
    let mut ns = twn_challenged(&server, 12, A);
    ns.send(&format!("USR 3 TWN S {ticket}"));
    ns.expect("USR 3 OK ");
}

/// Finding 4: an MD5 login that got its challenge before `user passwd` cannot finish with the
/// old password afterwards.
#[test]
fn an_md5_challenge_from_before_a_password_change_is_refused() {
    let server = TestServer::start(&[(A, "old-password")]);
    let mut ds = server.connect();
    ds.send("VER 1 MSNP7 CVR0");
    ds.expect("VER 1 MSNP7");
    ds.send(&format!("USR 2 MD5 I {A}"));
    let xfr = ds.expect("XFR 2 NS ");
    let mut ns = Client::connect(xfr.split(' ').nth(3).unwrap().parse().unwrap());
    ns.send("VER 1 MSNP7 CVR0");
    ns.expect("VER 1 MSNP7");
    ns.send(&format!("USR 2 MD5 I {A}"));
    let s = ns.expect("USR 2 MD5 S ");
    let salt = s.rsplit(' ').next().unwrap().to_string();
    passwd(&server, A, "new-password");
    ns.send(&format!(
        "USR 3 MD5 S {}",
        md5_hex(&format!("{salt}old-password"))
    ));
    assert_eq!(ns.expect_closed(), vec!["911 3"]);
    // The new password signs in.
    login_md5(&server, 7, A, "new-password");
}

/// Logins behind one NAT: 30 correct Tweener logins from one address at once all get in (they
/// queue for the password checks instead of being refused as wrong), and the address is not
/// blocked afterwards.
#[test]
fn thirty_correct_tweener_logins_from_one_address_all_get_in() {
    let users: Vec<(String, String)> = (0..30)
        .map(|i| (format!("nat{i}@example.com"), format!("pw-{i}")))
        .collect();
    let refs: Vec<(&str, &str)> = users
        .iter()
        .map(|(h, p)| (h.as_str(), p.as_str()))
        .collect();
    let server = TestServer::start(&refs);
    let oks: Vec<String> = std::thread::scope(|scope| {
        let logins: Vec<_> = users
            .iter()
            .enumerate()
            .map(|(i, (h, p))| {
                let server = &server;
                scope.spawn(move || login_twn(server, 8 + (i % 5) as u8, h, p).1)
            })
            .collect();
        logins
            .into_iter()
            .map(|l| l.join().expect("login"))
            .collect()
    });
    for (ok, (h, _)) in oks.iter().zip(&users) {
        assert!(
            ok.starts_with("USR 4 OK ") && ok.contains(h.as_str()),
            "{ok}"
        );
    }
    assert!(!server.log_text().contains("refused: too many failures"));
    // Nothing was counted against the address: one more login works at once.
    assert!(passport_ticket(&server, "nat0@example.com", "pw-0", "ct=1").is_some());
}

/// Finding 8: a bracketed `Host` cannot smuggle another host into the nexus's `DALogin` (where the
/// client sends its password), and the gateway refuses a `Host` with bytes after the bracket
/// instead of echoing them into `GW-IP`.
#[test]
fn bracketed_hosts_do_not_reach_dalogin_or_gw_ip() {
    let server = TestServer::start(&[(A, "pw")]);
    for evil in [
        "[127.0.0.1]@evil.example:8080",
        "[::1]@evil.example:8080",
        "[::1]:8080/evil",
    ] {
        let (status, hs) = with_host(server.http, "GET", "/rdr/pprdr.asp", evil, b"");
        assert_eq!(status, 200);
        let urls = header(&hs, "PassportURLs").unwrap();
        assert_eq!(
            urls,
            format!("DALogin=http://{}/login2.srf", server.http),
            "Host {evil:?}"
        );
    }
    let (status, hs) = with_host(
        server.http,
        "POST",
        "/gateway/gateway.dll?Action=open&Server=NS&IP=127.0.0.1",
        "[::1];SessionID=x",
        b"VER 1 MSNP8 CVR0\r\n",
    );
    assert_eq!(status, 400, "{hs:?}");
    assert!(header(&hs, "X-MSN-Messenger").is_none());
}

/// Finding 6: sessions that never sign in are capped per address well below the per-address
/// session cap (128 used to be let in from one address, 16 addresses refused everyone).
#[test]
fn gateway_sessions_not_signed_in_are_capped_per_address() {
    let server = TestServer::start(&[(A, "pw")]);
    let mut opened = 0;
    for _ in 0..200 {
        let (status, _) = with_host(
            server.http,
            "POST",
            "/gateway/gateway.dll?Action=open&Server=NS&IP=127.0.0.1",
            "gateway.example.test",
            b"VER 1 MSNP8 CVR0\r\n",
        );
        if status != 200 {
            assert_eq!(status, 503);
            break;
        }
        opened += 1;
    }
    assert!(
        opened <= 16,
        "{opened} unauthenticated gateway sessions from one address"
    );
    assert!(
        opened >= 8,
        "a NAT's users can still open several: {opened}"
    );
    server.wait_log("per-address limit of gateway sessions not signed in reached");
}

/// Finding 10: forwarded UDP answers are capped (TC set past 512 bytes, or the client's EDNS
/// size) and ANY is refused without asking the upstream.
#[test]
fn relayed_dns_answers_are_capped_and_any_is_refused() {
    use hickory_proto::op::{Edns, Message, OpCode, Query, ResponseCode};
    use hickory_proto::rr::rdata::A;
    use hickory_proto::rr::{Name, RData, Record, RecordType};
    use std::net::{Ipv4Addr, UdpSocket};
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    // An upstream answering every query with 100 A records (about 1.6 KB).
    let upstream = UdpSocket::bind("127.0.0.1:0").unwrap();
    let upstream_addr = upstream.local_addr().unwrap();
    let asked = Arc::new(AtomicUsize::new(0));
    let counter = asked.clone();
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok((n, from)) = upstream.recv_from(&mut buf) {
            counter.fetch_add(1, Ordering::SeqCst);
            let q = Message::from_vec(&buf[..n]).unwrap();
            let mut r = Message::response(q.metadata.id, OpCode::Query);
            r.metadata.recursion_available = true;
            r.add_queries(q.queries.iter().cloned());
            let name = q.queries[0].name().clone();
            for i in 0..100u8 {
                let ip = Ipv4Addr::new(198, 51, 100, i);
                r.add_answer(Record::from_rdata(name.clone(), 300, RData::A(A(ip))));
            }
            let _ = upstream.send_to(&r.to_vec().unwrap(), from);
        }
    });
    let server = TestServer::start_with(
        &[],
        &[
            "--dns-listen",
            "127.0.0.1:0",
            "--dns-upstream",
            &upstream_addr.to_string(),
        ],
    );
    let line = server.wait_log("dns listening on ");
    let dns: SocketAddr = line
        .split("dns listening on ")
        .nth(1)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let client = UdpSocket::bind("127.0.0.1:0").unwrap();
    client.set_read_timeout(Some(TIMEOUT)).unwrap();
    let ask = |t: RecordType, edns: Option<u16>| {
        let mut m = Message::query();
        m.metadata.recursion_desired = true;
        m.add_query(Query::query(
            Name::from_ascii("big.example.org.").unwrap(),
            t,
        ));
        if let Some(size) = edns {
            let mut e = Edns::new();
            e.set_max_payload(size);
            m.set_edns(e);
        }
        let query = m.to_vec().unwrap();
        client.send_to(&query, dns).unwrap();
        let mut buf = [0u8; 8192];
        loop {
            let (n, _) = client.recv_from(&mut buf).unwrap();
            let r = Message::from_vec(&buf[..n]).unwrap();
            if r.metadata.id == m.metadata.id {
                return (query.len(), n, r);
            }
        }
    };
    let (_, n, r) = ask(RecordType::A, None);
    assert!(n <= 512, "a {n}-byte answer without EDNS");
    assert!(r.metadata.truncation, "TC tells the client to use TCP");
    assert_eq!(r.queries.len(), 1);
    let (_, n, r) = ask(RecordType::A, Some(4096));
    assert!(n <= 1232, "a {n}-byte answer for EDNS 4096");
    assert!(r.metadata.truncation);
    let before = asked.load(Ordering::SeqCst);
    let (q, n, r) = ask(RecordType::ANY, None);
    assert_eq!(r.metadata.response_code, ResponseCode::Refused);
    assert!(n <= q + 16, "ANY: {n} bytes for a {q}-byte query");
    assert_eq!(
        asked.load(Ordering::SeqCst),
        before,
        "ANY never reaches the upstream"
    );
}

fn count_lines(server: &TestServer, needle: &str) -> usize {
    server
        .log
        .lock()
        .unwrap()
        .iter()
        .filter(|l| l.contains(needle))
        .count()
}

/// Finding 11: a client looping on `XFR SB` (refused with 800 once its cookies are used up)
/// and a stream of gateway requests without a session each write a bounded number of log lines.
#[test]
fn repeated_refusals_do_not_flood_the_log() {
    let server = TestServer::start(&[(A, "pw")]);
    let mut c = online(&server, 7, A, "pw");
    for _ in 0..300 {
        let t = c.t();
        c.send(&format!("XFR {t} SB"));
    }
    // Every one is answered: a cookie or, once they are used up, 800.
    let mut answered = 0;
    while answered < 300 {
        let line = c.line();
        if line.starts_with("XFR ") || line.starts_with("800 ") {
            answered += 1;
        }
    }
    let refused = count_lines(&server, "XFR SB refused");
    assert!(refused > 0, "the first refusals are logged");
    assert!(refused <= 20, "{refused} lines for one looping client");
    server.wait_log("\"XFR SB refused\" lines held back");

    for _ in 0..100 {
        let (status, _) = with_host(
            server.http,
            "POST",
            "/gateway/gateway.dll?Action=poll",
            "gateway.example.test",
            b"",
        );
        assert_eq!(status, 400);
    }
    let lines = count_lines(&server, ": request without SessionID");
    assert!(
        (1..=20).contains(&lines),
        "{lines} lines for 100 bad gateway requests"
    );
}

/// Finding 12: new handles follow the rule (no path or quote characters) in `user add` and
/// `user import`; an account made before the rule still signs in, can have its password changed,
/// and is listed by `ops::check`.
#[test]
fn handles_with_path_or_quote_characters_are_refused_for_new_accounts_only() {
    let dir = TempDir::new();
    let db = dir.path().join("msnpd.db");
    let old = "a'b@example.com";
    {
        let mut d = msnpd::storage::Db::open(&db).unwrap();
        d.migrate().unwrap();
        d.create_user(old, &msnpd::auth::Credential::new("pw"))
            .unwrap();
    }
    let db_arg = db.to_str().unwrap();
    for bad in [
        "../../../.purple/x@example.com",
        "a'onerror=alert(1)@example.com",
        "a\"b@example.com",
    ] {
        let (code, _, err) = msnpd(
            &["user", "add", bad, "--password", "pw", "--db", db_arg],
            None,
        );
        assert_ne!(code, 0, "{bad} was accepted");
        assert!(err.contains("invalid e-mail address"), "{err}");
    }
    let file = dir.path().join("import.txt");
    std::fs::write(&file, "ok@example.com\tpw\nx/y@example.com\tpw\n").unwrap();
    let (code, _, err) = msnpd(
        &["user", "import", file.to_str().unwrap(), "--db", db_arg],
        None,
    );
    assert_ne!(code, 0, "an import with a bad handle was accepted");
    assert!(err.contains("x/y@example.com"), "{err}");
    let (code, _, err) = msnpd(
        &["user", "passwd", old, "--password", "new", "--db", db_arg],
        None,
    );
    assert_eq!(code, 0, "{err}");
    {
        let d = msnpd::storage::Db::open(&db).unwrap();
        let bad = msnpd::ops::check::handles_breaking_rule(&d).unwrap();
        assert_eq!(bad, [old]);
    }
    let server = TestServer::start_on(dir, db, &["--chl-interval", "0"]);
    login_md5(&server, 7, old, "new");
}

/// "Also": the unit's open-file limit covers what the default connection caps may hold open
/// (it was 16,384, below the 20,000 connections alone).
#[test]
fn the_units_open_file_limit_covers_the_default_caps() {
    let unit = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/systemd/msnpd.service"
    ))
    .unwrap();
    let limit: usize = unit
        .lines()
        .find_map(|l| l.strip_prefix("LimitNOFILE="))
        .expect("LimitNOFILE in the unit")
        .trim()
        .parse()
        .unwrap();
    let needed = msnpd::server::listen::files_needed(msnpd::limits::MAX_CONNECTIONS);
    assert!(needed > msnpd::limits::MAX_CONNECTIONS);
    assert!(limit >= needed, "LimitNOFILE={limit} < {needed}");
}
