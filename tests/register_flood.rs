//! Issue 21 item 5: one address cannot close self-registration for everyone. The rate limit is
//! checked before a form's token is spent, so one address spends at most its allowance of
//! tokens, and the table of spent tokens never fills up to refuse others ("busy").

mod common;
use common::*;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::fd::FromRawFd;

const FORM: &str = "application/x-www-form-urlencoded";

/// A TCP connection to `to` from the loopback address `from` (any of 127/8 reaches the server).
fn connect_from(from: [u8; 4], to: SocketAddr) -> TcpStream {
    let SocketAddr::V4(to) = to else {
        panic!("the test server listens on IPv4 loopback")
    };
    let sin = |ip: [u8; 4], port: u16| libc::sockaddr_in {
        sin_family: libc::AF_INET as libc::sa_family_t,
        sin_port: port.to_be(),
        sin_addr: libc::in_addr {
            s_addr: u32::from_ne_bytes(ip),
        },
        sin_zero: [0; 8],
    };
    let len = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
    // SAFETY: plain socket calls with correctly sized addresses; the descriptor is owned by
    // the returned stream.
    unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_STREAM, 0);
        assert!(fd >= 0);
        let local = sin(from, 0);
        let rc = libc::bind(fd, &local as *const _ as *const libc::sockaddr, len);
        assert_eq!(rc, 0, "bind {from:?}");
        let remote = sin(to.ip().octets(), to.port());
        let rc = libc::connect(fd, &remote as *const _ as *const libc::sockaddr, len);
        assert_eq!(rc, 0, "connect");
        TcpStream::from_raw_fd(fd)
    }
}

/// One HTTP/1.1 request from `from`; returns the status and body.
fn request(s: &TestServer, from: [u8; 4], method: &str, path: &str, body: &str) -> (u16, String) {
    let mut c = connect_from(from, s.http);
    c.set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: {FORM}\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    c.write_all(req.as_bytes()).unwrap();
    let mut resp = Vec::new();
    let _ = c.read_to_end(&mut resp);
    let text = String::from_utf8_lossy(&resp).into_owned();
    let code = text
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (code, text)
}

fn token_from(s: &TestServer, from: [u8; 4]) -> String {
    let (code, html) = request(s, from, "GET", "/register", "");
    assert_eq!(code, 200, "{html}");
    let start = html.find("name=\"token\" value=\"").expect("a token") + 20;
    html[start..].split('"').next().unwrap().to_string()
}

#[test]
fn one_address_cannot_fill_the_spent_token_table() {
    let s = TestServer::start_with(&[], &["--registration", "open"]);
    let attacker = [127, 0, 0, 1];
    // More submissions than the spent-token table holds (8,192), each with a fresh token and
    // passwords that differ (no account is made).
    let mut limited = 0;
    for _ in 0..8300 {
        let t = token_from(&s, attacker);
        let (code, _) = request(
            &s,
            attacker,
            "POST",
            "/register",
            &format!("token={t}&handle=x%40example.com&password=aaaaaaaa&password2=b"),
        );
        assert!(code == 400 || code == 429 || code == 403, "{code}");
        if code == 429 {
            limited += 1;
        }
    }
    assert!(
        limited > 8000,
        "the rate limit held the attacker back: {limited}"
    );
    // Someone else can still sign up.
    let other = [127, 0, 0, 2];
    let t = token_from(&s, other);
    let (code, body) = request(
        &s,
        other,
        "POST",
        "/register",
        &format!("token={t}&handle=newcomer%40example.com&password=secret99&password2=secret99"),
    );
    assert_eq!(code, 200, "{body}");
    assert!(body.contains("newcomer@example.com"), "{body}");
}
