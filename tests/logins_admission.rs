//! Issue #13, the hub without locks: the logins actor (throttle and Tweener tickets) and the
//! lock-free connection admission, seen from outside through the real server.
mod common;
use common::*;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

/// `limits::MAX_HTTP_CONNECTIONS_PER_IP`.
const HTTP_PER_ADDRESS: usize = 32;

/// Sends a keep-alive request on a new HTTP socket and reads the response head: Some(socket)
/// if it was answered (the socket stays admitted), None if the server closed it unanswered.
fn held_http(server: &TestServer) -> Option<TcpStream> {
    let mut s = TcpStream::connect(server.http).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let req = format!(
        "GET /rdr/pprdr.asp HTTP/1.1\r\nHost: {}\r\n\r\n",
        server.http
    );
    if s.write_all(req.as_bytes()).is_err() {
        return None;
    }
    let mut got = Vec::new();
    let mut buf = [0u8; 1024];
    while !got.windows(4).any(|w| w == b"\r\n\r\n") {
        match s.read(&mut buf) {
            Ok(0) | Err(_) => return None,
            Ok(n) => got.extend_from_slice(&buf[..n]),
        }
    }
    assert!(got.starts_with(b"HTTP/1.1 200"), "{got:?}");
    Some(s)
}

#[test]
fn http_sockets_have_their_own_per_address_cap_and_give_it_back() {
    let server = TestServer::start(&[("alice@example.com", "secret")]);
    let mut held: Vec<TcpStream> = (0..HTTP_PER_ADDRESS)
        .map(|i| held_http(&server).unwrap_or_else(|| panic!("socket {i} refused")))
        .collect();
    assert!(held_http(&server).is_none(), "one past the cap is closed");
    server.wait_log("per-address HTTP connection limit reached");
    // The HTTP cap is apart from the MSNP one: a notification login still gets in.
    let mut c = server.connect();
    c.send("VER 1 MSNP7 CVR0");
    c.expect("VER 1 MSNP7");
    // Hang one up and wait for the server's close: its admission is given back.
    let mut gone = held.pop().unwrap();
    gone.shutdown(std::net::Shutdown::Write).unwrap();
    let mut rest = Vec::new();
    let _ = gone.read_to_end(&mut rest);
    let end = Instant::now() + Duration::from_secs(10);
    while held_http(&server).is_none() {
        assert!(Instant::now() < end, "a freed HTTP slot was never admitted");
    }
}

/// Several Tweener logins at once, each ticket issued over HTTP and redeemed on the notification
/// server through the logins actor: every ticket is there when its `USR TWN S` comes. (Four:
/// `limits::LOGIN_CHECKS_PER_ADDRESS` password checks may run at once from one address.)
#[test]
fn concurrent_tweener_logins_all_redeem_their_tickets() {
    let users: Vec<(String, String)> = (0..4)
        .map(|i| (format!("user{i}@example.com"), format!("pw-{i}")))
        .collect();
    let refs: Vec<(&str, &str)> = users
        .iter()
        .map(|(h, p)| (h.as_str(), p.as_str()))
        .collect();
    let server = TestServer::start(&refs);
    std::thread::scope(|scope| {
        let logins: Vec<_> = users
            .iter()
            .enumerate()
            .map(|(i, (h, p))| {
                let server = &server;
                scope.spawn(move || login_twn(server, 8 + (i % 5) as u8, h, p).1)
            })
            .collect();
        for (login, (h, _)) in logins.into_iter().zip(&users) {
            let ok = login.join().expect("login thread");
            assert!(
                ok.starts_with("USR 4 OK ") && ok.contains(h.as_str()),
                "{ok}"
            );
        }
    });
    // And a ticket is single use across the actor: a second redemption fails.
    let t = passport_ticket(&server, "user0@example.com", "pw-0", "ct=1").unwrap();
    for expected in [true, false] {
        let mut ns = twn_challenged(&server, 11, "user0@example.com");
        ns.send(&format!("USR 3 TWN S {t}"));
        if expected {
            ns.expect("USR 3 OK ");
        } else {
            assert_eq!(ns.expect_closed(), vec!["911 3"]);
        }
    }
}

/// Parallel wrong passwords over HTTP are counted by the actor like sequential ones: the pair is
/// blocked afterwards even for the right password, and other addresses' view is separate (the
/// throttle is per address, so only the refusal is checked here).
#[test]
fn parallel_wrong_passwords_block_the_right_one_afterwards() {
    let server = TestServer::start(&[("alice@example.com", "secret")]);
    std::thread::scope(|scope| {
        let guesses: Vec<_> = (0..12)
            .map(|i| {
                let server = &server;
                scope.spawn(move || {
                    passport_ticket(server, "alice@example.com", &format!("guess{i}"), "ct=1")
                })
            })
            .collect();
        for g in guesses {
            assert!(g.join().unwrap().is_none(), "a wrong password got a ticket");
        }
    });
    assert!(
        passport_ticket(&server, "alice@example.com", "secret", "ct=1").is_none(),
        "blocked after the guesses"
    );
    server.wait_log("refused: too many failures");
}
