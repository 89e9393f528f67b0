//! The HTTP gateway (`/gateway/gateway.dll`): MSNP over HTTP polling, mixed with TCP users.
mod common;
use common::*;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

const A: &str = "alice@example.com";
const B: &str = "bob@example.com";
const C: &str = "carol@example.com";
const PW: &str = "pw";
/// The host our gateway client says it talks to (the `Host` header): what XFR, RNG and GW-IP
/// must name, although the socket goes to 127.0.0.1.
const GW_HOST: &str = "gateway.example.test";

fn users() -> Vec<(&'static str, &'static str)> {
    vec![(A, PW), (B, PW), (C, PW)]
}

fn wait_log(server: &TestServer, needle: &str) {
    let end = Instant::now() + TIMEOUT;
    while !server.log_text().contains(needle) {
        assert!(Instant::now() < end, "no log line with {needle:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// One HTTP answer of the gateway.
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Answer {
    fn messenger(&self) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == "X-MSN-Messenger")
            .map(|(_, v)| v.as_str())
    }

    /// The `name=value` fields of `X-MSN-Messenger`.
    fn field(&self, name: &str) -> Option<String> {
        self.messenger()?.split(';').find_map(|f| {
            let (k, v) = f.trim().split_once('=')?;
            (k == name).then(|| v.to_string())
        })
    }
}

/// HTTP/1.1 keep-alive connection to the gateway, reopened when the server closes it.
struct Http {
    addr: SocketAddr,
    conn: Option<TcpStream>,
}

impl Http {
    fn new(addr: SocketAddr) -> Http {
        Http { addr, conn: None }
    }

    fn post(&mut self, query: &str, body: &[u8]) -> Answer {
        let mut req = format!(
            "POST /gateway/gateway.dll?{query} HTTP/1.1\r\nHost: {GW_HOST}\r\n\
             Accept: */*\r\nUser-Agent: MSMSGS\r\nContent-Type: application/x-msn-messenger\r\n\
             Proxy-Connection: Keep-Alive\r\nPragma: no-cache\r\nContent-Length: {}\r\n\r\n",
            body.len()
        )
        .into_bytes();
        req.extend_from_slice(body);
        for attempt in 0..2 {
            let conn = self.conn.get_or_insert_with(|| {
                let s = TcpStream::connect(self.addr).unwrap();
                s.set_read_timeout(Some(TIMEOUT)).unwrap();
                s.set_nodelay(true).unwrap();
                s
            });
            if conn.write_all(&req).is_ok()
                && let Some(a) = read_answer(conn)
            {
                let close = a
                    .headers
                    .iter()
                    .any(|(k, v)| k.eq_ignore_ascii_case("connection") && v == "close");
                if close {
                    self.conn = None;
                }
                return a;
            }
            // The server closed an idle keep-alive connection before reading this request.
            assert_eq!(attempt, 0, "gateway connection failed twice");
            self.conn = None;
        }
        unreachable!()
    }
}

fn read_answer(conn: &mut TcpStream) -> Option<Answer> {
    let mut buf = Vec::new();
    let mut tmp = [0u8; 16384];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        match conn.read(&mut tmp) {
            Ok(0) if buf.is_empty() => return None,
            Ok(0) => panic!("closed inside a response head"),
            Ok(n) => buf.extend_from_slice(&tmp[..n]),
            Err(e) if buf.is_empty() && e.kind() == std::io::ErrorKind::ConnectionReset => {
                return None;
            }
            Err(e) => panic!("reading a gateway answer: {e}"),
        }
    };
    let head = String::from_utf8(buf[..head_end].to_vec()).unwrap();
    let (status, headers) = response_head(&head);
    let len: usize = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .map(|(_, v)| v.parse().unwrap())
        .expect("Content-Length");
    let mut body = buf[head_end + 4..].to_vec();
    while body.len() < len {
        let n = conn.read(&mut tmp).unwrap();
        assert!(n > 0, "closed inside a response body");
        body.extend_from_slice(&tmp[..n]);
    }
    assert_eq!(body.len(), len, "no bytes after the body");
    Some(Answer {
        status,
        headers,
        body,
    })
}

/// A client of one gateway session, with the line reading of `common::Client`.
struct Gw {
    http: Http,
    id: String,
    buf: Vec<u8>,
    closed: bool,
    trid: u32,
    /// Requests made, polls included.
    requests: usize,
}

impl Gw {
    /// `Action=open&Server=..&IP=..` with the first command(s).
    fn open(server: &TestServer, role: &str, ip: &str, body: &[u8]) -> Gw {
        let mut http = Http::new(server.http);
        let a = http.post(&format!("Action=open&Server={role}&IP={ip}"), body);
        assert_eq!(a.status, 200, "open refused");
        let id = a.field("SessionID").expect("SessionID in X-MSN-Messenger");
        assert_eq!(a.field("GW-IP").as_deref(), Some(GW_HOST), "GW-IP");
        let ct = a.headers.iter().find(|(k, _)| k == "Content-Type");
        assert_eq!(
            ct.map(|(_, v)| v.as_str()),
            Some("application/x-msn-messenger")
        );
        let mut gw = Gw {
            http,
            id,
            buf: Vec::new(),
            closed: false,
            trid: 0,
            requests: 1,
        };
        gw.take(a);
        gw
    }

    fn take(&mut self, a: Answer) {
        assert_eq!(a.status, 200, "gateway answered {}", a.status);
        let id = a.field("SessionID").expect("SessionID");
        // We keep one id per session, but clients follow the latest one; so do we.
        self.id = id;
        if a.field("Session").as_deref() == Some("close") {
            self.closed = true;
        }
        self.buf.extend_from_slice(&a.body);
        self.requests += 1;
    }

    fn t(&mut self) -> u32 {
        self.trid += 1;
        self.trid
    }

    fn post(&mut self, body: &[u8]) {
        let a = self.http.post(&format!("SessionID={}", self.id), body);
        self.take(a);
    }

    fn poll(&mut self) {
        let a = self
            .http
            .post(&format!("Action=poll&SessionID={}", self.id), b"");
        self.take(a);
    }

    fn send(&mut self, line: &str) {
        self.post(format!("{line}\r\n").as_bytes());
    }

    fn send_payload(&mut self, line: &str, payload: &[u8]) {
        let mut v = format!("{line}\r\n").into_bytes();
        v.extend_from_slice(payload);
        self.post(&v);
    }

    /// Polls until `ready` finds what it wants in the buffer (every 10 ms: a fast client).
    fn poll_until<T>(&mut self, mut ready: impl FnMut(&mut Vec<u8>) -> Option<T>) -> T {
        let end = Instant::now() + TIMEOUT;
        loop {
            if let Some(v) = ready(&mut self.buf) {
                return v;
            }
            assert!(
                !self.closed,
                "gateway session closed (buffered: {:?})",
                String::from_utf8_lossy(&self.buf)
            );
            assert!(Instant::now() < end, "nothing from the gateway in time");
            self.poll();
            if !self.buf.windows(2).any(|w| w == b"\r\n") {
                std::thread::sleep(Duration::from_millis(10));
            }
        }
    }

    fn line(&mut self) -> String {
        self.poll_until(|buf| {
            let i = buf.windows(2).position(|w| w == b"\r\n")?;
            let l = String::from_utf8(buf[..i].to_vec()).unwrap();
            buf.drain(..i + 2);
            Some(l)
        })
    }

    fn payload(&mut self, n: usize) -> Vec<u8> {
        self.poll_until(|buf| (buf.len() >= n).then(|| buf.drain(..n).collect()))
    }

    fn expect(&mut self, prefix: &str) -> String {
        let l = self.line();
        assert!(l.starts_with(prefix), "expected `{prefix}...`, got `{l}`");
        l
    }

    fn until(&mut self, prefix: &str) -> (String, Vec<String>) {
        let mut skipped = Vec::new();
        loop {
            let l = self.line();
            if l.starts_with(prefix) {
                return (l, skipped);
            }
            if let Some(n) = payload_len(&l) {
                self.payload(n);
            }
            skipped.push(l);
        }
    }

    fn expect_payload(&mut self, prefix: &str) -> (String, Vec<u8>) {
        let l = self.expect(prefix);
        let n = payload_len(&l).expect("payload length");
        (l, self.payload(n))
    }
}

/// MSNP8+ Tweener login over the gateway, dispatch redirect included. Returns the NS session
/// and the profile text.
fn gw_login_twn(server: &TestServer, version: u8, handle: &str) -> (Gw, String) {
    let cvr = format!("CVR 2 0x0409 winnt 5.1 i386 MSNMSGR 7.0.0777 MSMSGS {handle}\r\n");
    let first = format!("VER 1 MSNP{version} CVR0\r\n{cvr}");
    let mut ds = Gw::open(server, "NS", "messenger.hotmail.com", first.as_bytes());
    ds.expect(&format!("VER 1 MSNP{version}"));
    ds.expect("CVR 2 ");
    ds.send(&format!("USR 3 TWN I {handle}"));
    let xfr = ds.expect("XFR 3 NS ");
    let ns_host = xfr.split(' ').nth(3).unwrap().to_string();
    assert!(
        ns_host.starts_with(&format!("{GW_HOST}:")),
        "the redirect names the gateway host: {xfr}"
    );
    let mut ns = Gw::open(server, "NS", &ns_host, first.as_bytes());
    ns.expect(&format!("VER 1 MSNP{version}"));
    ns.expect("CVR 2 ");
    ns.send(&format!("USR 3 TWN I {handle}"));
    let s = ns.expect("USR 3 TWN S ");
    let challenge = s.rsplit(' ').next().unwrap().to_string();
    let ticket = passport_ticket(server, handle, PW, &challenge).expect("login accepted");
    ns.send(&format!("USR 4 TWN S {ticket}"));
    ns.expect(&format!("USR 4 OK {handle}"));
    if version >= 11 {
        ns.expect("SBS 0 null");
    }
    let (_, profile) = ns.expect_payload("MSG Hotmail Hotmail ");
    // MSNP8+: the initial e-mail message follows the profile.
    let (_, mail) = ns.expect_payload("MSG Hotmail Hotmail ");
    assert!(String::from_utf8_lossy(&mail).contains("text/x-msmsgsinitial"));
    ns.trid = 4;
    (ns, String::from_utf8(profile).unwrap())
}

/// MSNP2-7 MD5 login over the gateway (straight to the NS: the redirect was shown above).
fn gw_login_md5(server: &TestServer, version: u8, handle: &str) -> Gw {
    let first = format!("VER 1 MSNP{version} CVR0\r\nINF 2\r\nUSR 3 MD5 I {handle}\r\n");
    let mut ds = Gw::open(server, "NS", "messenger.hotmail.com", first.as_bytes());
    ds.expect(&format!("VER 1 MSNP{version}"));
    ds.expect("INF 2 MD5");
    ds.expect("XFR 3 NS ");
    // Closing the dispatch session at once (a client may also just let it expire).
    ds.send("OUT");
    while !ds.closed {
        ds.poll();
    }
    let mut ns = Gw::open(server, "NS", "whatever", first.as_bytes());
    ns.expect(&format!("VER 1 MSNP{version}"));
    ns.expect("INF 2 MD5");
    let s = ns.expect("USR 3 MD5 S ");
    let challenge = s.rsplit(' ').next().unwrap();
    ns.send(&format!(
        "USR 4 MD5 S {}",
        md5_hex(&format!("{challenge}{PW}"))
    ));
    ns.expect(&format!("USR 4 OK {handle}"));
    ns.expect_payload("MSG Hotmail Hotmail ");
    ns.trid = 4;
    ns
}

/// SYN and CHG NLN over the gateway; returns the SYN lines.
fn gw_online(ns: &mut Gw, version: u8) -> Vec<String> {
    let t = ns.t();
    if version >= 10 {
        ns.send(&format!("SYN {t} 0 0"));
    } else {
        ns.send(&format!("SYN {t} 0"));
    }
    let syn = ns.expect(&format!("SYN {t} "));
    let t = ns.t();
    let chg = if version >= 8 { "NLN 0" } else { "NLN" };
    ns.send(&format!("CHG {t} {chg}"));
    let (_, before) = ns.until(&format!("CHG {t} NLN"));
    let mut lines = vec![syn];
    lines.extend(before);
    lines
}

/// Bob on TCP (MSNP8) with `who` on his FL, online.
fn tcp_watcher(server: &TestServer, who: &str) -> Client {
    let mut b = online_any(server, 8, B, PW);
    let (t, l) = b.call("ADD", &format!("FL {who} {who}"));
    assert!(l.starts_with(&format!("ADD {t} FL ")), "{l}");
    b
}

fn login_and_presence(version: u8) {
    let server = TestServer::start(&users());
    let mut bob = tcp_watcher(&server, A);
    let (mut alice, profile) = gw_login_twn(&server, version, A);
    assert!(
        profile.contains("ClientIP: 127.0.0.1\r\nClientPort: 0\r\n"),
        "{profile}"
    );
    let syn = gw_online(&mut alice, version);
    assert!(syn[0].starts_with("SYN "), "{syn:?}");
    let (nln, _) = bob.until("NLN ");
    assert!(nln.starts_with(&format!("NLN NLN {A} ")), "{nln}");
    // Alice adds Bob and sees him online; a rename reaches Bob.
    let t = alice.t();
    if version >= 10 {
        alice.send(&format!("ADC {t} FL N={B} F={B}"));
        alice.expect(&format!("ADC {t} FL N={B}"));
    } else {
        alice.send(&format!("ADD {t} FL {B} {B}"));
        alice.expect(&format!("ADD {t} FL "));
    }
    let (iln, _) = alice.until("ILN ");
    assert!(iln.contains(B), "{iln}");
    // Signing out over the gateway: OUT closes the session, Bob sees FLN.
    alice.send("OUT");
    let end = Instant::now() + TIMEOUT;
    while !alice.closed {
        assert!(Instant::now() < end, "gateway session not closed after OUT");
        alice.poll();
    }
    assert_eq!(bob.until("FLN ").0, format!("FLN {A}"));
}

#[test]
fn msnp8_login_syn_and_presence_over_the_gateway() {
    login_and_presence(8);
}

#[test]
fn msnp12_login_syn_and_presence_over_the_gateway() {
    login_and_presence(12);
}

#[test]
fn msnp7_md5_login_over_the_gateway() {
    let server = TestServer::start(&users());
    let mut bob = tcp_watcher(&server, A);
    let mut alice = gw_login_md5(&server, 7, A);
    gw_online(&mut alice, 7);
    let nln = bob.until("NLN ").0;
    assert!(nln.starts_with(&format!("NLN NLN {A} ")), "{nln}");
}

fn text(body: &str) -> Vec<u8> {
    format!("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\n{body}")
        .into_bytes()
}

/// Alice on the gateway, Bob on TCP, both MSNP8 and online.
fn gw_and_tcp(server: &TestServer) -> (Gw, Client) {
    let bob = tcp_watcher(server, A);
    let (mut alice, _) = gw_login_twn(server, 8, A);
    gw_online(&mut alice, 8);
    (alice, bob)
}

/// Alice (gateway) opens a switchboard over the gateway and calls Bob (TCP).
fn gw_calls_tcp(server: &TestServer, alice: &mut Gw, bob: &mut Client) -> (Gw, Client) {
    let t = alice.t();
    alice.send(&format!("XFR {t} SB"));
    let xfr = alice.expect(&format!("XFR {t} SB "));
    let p: Vec<&str> = xfr.split(' ').collect();
    assert_eq!(
        p[3],
        format!("{GW_HOST}:{}", server.sb.port()),
        "XFR SB over the gateway names the gateway host"
    );
    let mut asb = Gw::open(
        server,
        "SB",
        p[3],
        format!("USR 1 {A} {}\r\n", p[5]).as_bytes(),
    );
    asb.expect(&format!("USR 1 OK {A} "));
    asb.trid = 1;
    let t = asb.t();
    asb.send(&format!("CAL {t} {B}"));
    asb.expect(&format!("CAL {t} RINGING "));
    let (rng, _) = bob.until("RNG ");
    let r: Vec<&str> = rng.split(' ').collect();
    // Bob is on TCP: his RNG names the address he reached.
    assert_eq!(r[2], server.sb.to_string(), "{rng}");
    let mut bsb = Client::connect(server.sb);
    bsb.send(&format!("ANS 1 {B} {} {}", r[4], r[1]));
    bsb.until("ANS 1 OK");
    asb.expect(&format!("JOI {B} "));
    (asb, bsb)
}

#[test]
fn gateway_user_chats_with_tcp_user_both_directions() {
    let server = TestServer::start(&users());
    let (mut alice, mut bob) = gw_and_tcp(&server);

    // 1. The gateway user starts the conversation.
    let (mut asb, mut bsb) = gw_calls_tcp(&server, &mut alice, &mut bob);
    let hello = text("hello from the gateway");
    let t = asb.t();
    asb.send_payload(&format!("MSG {t} A {}", hello.len()), &hello);
    let (l, p) = bsb.expect_payload(&format!("MSG {A} "));
    assert!(l.ends_with(&format!(" {}", hello.len())), "{l}");
    assert_eq!(p, hello);
    asb.expect(&format!("ACK {t}"));
    let back = text("hello from TCP");
    bsb.send_payload(&format!("MSG 2 N {}", back.len()), &back);
    let (_, p) = asb.expect_payload(&format!("MSG {B} "));
    assert_eq!(p, back);
    // A P2P frame addressed to Alice is relayed to her through the gateway too.
    let p2p = format!(
        "MIME-Version: 1.0\r\nContent-Type: application/x-msnmsgrp2p\r\nP2P-Dest: {A}\r\n\r\n\
         0123456789abcdef0123456789abcdef0123456789abcdef\0\0\0\0"
    )
    .into_bytes();
    bsb.send_payload(&format!("MSG 3 D {}", p2p.len()), &p2p);
    let (_, p) = asb.expect_payload(&format!("MSG {B} "));
    assert_eq!(p, p2p);
    asb.send("OUT");
    assert_eq!(bsb.until("BYE ").0, format!("BYE {A}"));

    // 2. The TCP user starts it: the RNG reaches Alice over the gateway and names its host.
    let t = bob.t();
    bob.send(&format!("XFR {t} SB"));
    let xfr = bob.expect(&format!("XFR {t} SB "));
    let cookie = xfr.rsplit(' ').next().unwrap();
    let mut bsb = Client::connect(server.sb);
    bsb.send(&format!("USR 1 {B} {cookie}"));
    bsb.expect(&format!("USR 1 OK {B} "));
    bsb.send(&format!("CAL 2 {A}"));
    bsb.expect("CAL 2 RINGING ");
    let (rng, _) = alice.until("RNG ");
    let r: Vec<&str> = rng.split(' ').collect();
    assert_eq!(
        r[2],
        format!("{GW_HOST}:{}", server.sb.port()),
        "RNG over the gateway names the gateway host"
    );
    let mut asb = Gw::open(
        &server,
        "SB",
        r[2],
        format!("ANS 1 {A} {} {}\r\n", r[4], r[1]).as_bytes(),
    );
    let (_, iro) = asb.until("ANS 1 OK");
    assert_eq!(iro.len(), 1, "{iro:?}");
    assert!(iro[0].starts_with(&format!("IRO 1 1 1 {B} ")), "{iro:?}");
    bsb.expect(&format!("JOI {A} "));
    let m = text("ring ring");
    bsb.send_payload(&format!("MSG 3 N {}", m.len()), &m);
    let (_, p) = asb.expect_payload(&format!("MSG {B} "));
    assert_eq!(p, m);
    let r = text("answered");
    asb.send_payload(&format!("MSG 2 N {}", r.len()), &r);
    assert_eq!(bsb.expect_payload(&format!("MSG {A} ")).1, r);
}

#[test]
fn idle_gateway_session_expires_and_its_id_is_refused() {
    let server = TestServer::start_with(
        &users(),
        &["--chl-interval", "0", "--gateway-idle-timeout", "2"],
    );
    let (alice, mut bob) = gw_and_tcp(&server);
    assert!(bob.until("NLN ").0.contains(A));
    let stopped = Instant::now();
    // Alice stops polling: her session is closed like a vanished TCP client, and Bob sees it.
    assert_eq!(bob.until("FLN ").0, format!("FLN {A}"));
    assert!(stopped.elapsed() >= Duration::from_millis(1500));
    wait_log(&server, "expired after 2s without a request");
    let mut http = Http::new(server.http);
    let a = http.post(&format!("Action=poll&SessionID={}", alice.id), b"");
    assert_eq!(a.status, 400);
    assert!(a.body.is_empty() && a.messenger().is_none());
    // Bob is unaffected.
    bob.send("PNG");
    bob.expect("QNG");
}

#[test]
fn bad_session_ids_and_requests_get_a_bare_400() {
    let server = TestServer::start(&users());
    let (mut alice, _bob) = gw_and_tcp(&server);
    let mut http = Http::new(server.http);
    let wrong = format!("{}x", alice.id);
    for query in [
        format!("Action=poll&SessionID={wrong}"),
        format!("SessionID={wrong}"),
        "Action=poll&SessionID=".to_string(),
        "Action=poll".to_string(),
        "Action=open&Server=XX&IP=h".to_string(),
        "Action=open&Server=NS".to_string(),
    ] {
        let a = http.post(&query, b"PNG\r\n");
        assert_eq!(a.status, 400, "{query}");
        assert!(a.body.is_empty(), "{query}: no data, nobody's");
        assert!(a.messenger().is_none(), "{query}");
    }
    // The real session is untouched by all that.
    alice.send("PNG");
    alice.expect("QNG");
    // Only POST is served there.
    let (status, _, _) = http_get(&server, "/gateway/gateway.dll?Action=poll");
    assert_eq!(status, 404);
}

/// A TCP connection to `to` from source address 127.0.0.2 (another client, as the server sees it).
fn connect_from_127_0_0_2(to: SocketAddr) -> TcpStream {
    use std::os::fd::FromRawFd;
    let SocketAddr::V4(to) = to else {
        panic!("IPv4 expected")
    };
    let sockaddr = |ip: [u8; 4], port: u16| libc::sockaddr_in {
        sin_family: libc::AF_INET as libc::sa_family_t,
        sin_port: port.to_be(),
        sin_addr: libc::in_addr {
            s_addr: u32::from_ne_bytes(ip),
        },
        sin_zero: [0; 8],
    };
    let from = sockaddr([127, 0, 0, 2], 0);
    let dest = sockaddr(to.ip().octets(), to.port());
    let len = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
    // SAFETY: a new socket, bound and connected with correctly sized IPv4 addresses, then owned
    // by the TcpStream.
    unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_STREAM, 0);
        assert!(fd >= 0);
        assert_eq!(
            libc::bind(fd, (&from as *const libc::sockaddr_in).cast(), len),
            0
        );
        assert_eq!(
            libc::connect(fd, (&dest as *const libc::sockaddr_in).cast(), len),
            0
        );
        TcpStream::from_raw_fd(fd)
    }
}

#[test]
fn a_session_id_is_refused_from_another_address() {
    let server = TestServer::start(&users());
    let (mut alice, _bob) = gw_and_tcp(&server);
    let mut other = connect_from_127_0_0_2(server.http);
    other.set_read_timeout(Some(TIMEOUT)).unwrap();
    for query in [
        format!("Action=poll&SessionID={}", alice.id),
        format!("SessionID={}", alice.id),
    ] {
        let req = format!(
            "POST /gateway/gateway.dll?{query} HTTP/1.1\r\nHost: {GW_HOST}\r\nContent-Length: 5\r\n\r\nPNG\r\n"
        );
        other.write_all(req.as_bytes()).unwrap();
        let a = read_answer(&mut other).expect("an answer");
        assert_eq!(a.status, 400, "{query}");
        assert!(a.body.is_empty() && a.messenger().is_none(), "{query}");
    }
    wait_log(&server, "SessionID of another address refused");
    // The owner's session is intact, and the stranger's PNG never reached it: the first reply
    // Alice gets is the one to her own command.
    let t = alice.t();
    alice.send(&format!("CHG {t} BSY 0"));
    assert_eq!(alice.line(), format!("CHG {t} BSY 0"));
}

fn http_get(server: &TestServer, path: &str) -> (u16, Vec<(String, String)>, Vec<u8>) {
    http(server.http, "GET", path, &[], b"")
}

#[test]
fn gateway_client_that_stops_polling_is_cut_and_others_carry_on() {
    let server = TestServer::start_with(&users(), &["--chl-interval", "0", "--stall-timeout", "2"]);
    let (mut alice, mut bob) = gw_and_tcp(&server);
    let (asb, mut bsb) = gw_calls_tcp(&server, &mut alice, &mut bob);
    // Alice never polls her switchboard again; Bob sends about 1.4 MB.
    let payload = vec![b'x'; 1400];
    let mut frame = format!("MSG 9 N {}\r\n", payload.len()).into_bytes();
    frame.extend_from_slice(&payload);
    let batch: Vec<u8> = frame.repeat(100);
    let started = Instant::now();
    let mut writer = bsb.stream.try_clone().unwrap();
    let sender = std::thread::spawn(move || {
        for _ in 0..10 {
            if writer.write_all(&batch).is_err() {
                break;
            }
        }
    });
    let (bye, _) = bsb.until(&format!("BYE {A}"));
    assert_eq!(bye, format!("BYE {A} 1"), "a server-side removal");
    assert!(started.elapsed() >= Duration::from_millis(1500));
    wait_log(&server, "client stopped reading");
    sender.join().unwrap();
    // What the gateway still holds for Alice is bounded by the outbox and pipe caps, and the
    // session ends with Session=close.
    let mut asb = asb;
    let mut held = 0;
    let end = Instant::now() + TIMEOUT;
    while !asb.closed {
        assert!(Instant::now() < end, "no Session=close");
        let before = asb.buf.len();
        asb.poll();
        held += asb.buf.len() - before;
    }
    assert!(
        held < 320 * 1024,
        "{held} bytes were still queued for alice"
    );
    let a = asb
        .http
        .post(&format!("Action=poll&SessionID={}", asb.id), b"");
    assert_eq!(a.status, 400, "a closed session is forgotten");
    // Bob and Alice's notification session carry on.
    bob.send("PNG");
    bob.expect("QNG");
    alice.send("PNG");
    alice.expect("QNG");
}

/// Figures for the README (not a pass/fail test; the machine's load shows in them):
/// `cargo test --release --test gateway gateway_figures -- --ignored --nocapture`.
#[test]
#[ignore]
fn gateway_figures() {
    let n_idle: usize = std::env::var("GW_IDLE_SESSIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(120);
    let idle_users: Vec<(String, String)> = (0..n_idle)
        .map(|i| (format!("idle{i}@example.com"), PW.to_string()))
        .collect();
    let tcp_users: Vec<(String, String)> = (0..n_idle)
        .map(|i| (format!("tcp{i}@example.com"), PW.to_string()))
        .collect();
    let mut all: Vec<(&str, &str)> = users();
    all.extend(idle_users.iter().map(|(h, p)| (h.as_str(), p.as_str())));
    all.extend(tcp_users.iter().map(|(h, p)| (h.as_str(), p.as_str())));
    // Alice's NS session is not polled while she chats: keep it from expiring meanwhile.
    let server = TestServer::start_with_log(
        &all,
        &[
            "--chl-interval",
            "0",
            "--gateway-idle-timeout",
            "900",
            "--max-per-ip",
            "4000",
        ],
        "info",
    );
    let (mut alice, mut bob) = gw_and_tcp(&server);
    let (mut asb, mut bsb) = gw_calls_tcp(&server, &mut alice, &mut bob);
    let m = text("a typical short chat line, about this long");
    let frame = |t: u32, ack: &str| {
        let mut f = format!("MSG {t} {ack} {}\r\n", m.len()).into_bytes();
        f.extend_from_slice(&m);
        f
    };

    // Gateway -> TCP, one message per request, as a client sends what the user types.
    for ack in ["A", "N"] {
        let n = 1000;
        let started = Instant::now();
        for _ in 0..n {
            let t = asb.t();
            asb.post(&frame(t, ack));
            bsb.expect_payload(&format!("MSG {A} "));
        }
        if ack == "A" {
            for _ in 0..n {
                asb.until("ACK ");
            }
        }
        let rate = n as f64 / started.elapsed().as_secs_f64();
        eprintln!("gateway -> TCP, MSG {ack}, one per request: {rate:.0} msg/s");
    }

    // TCP -> gateway: Bob sends as fast as he can, Alice polls back to back or every 2 s.
    for interval in [Duration::ZERO, Duration::from_secs(2)] {
        let n = if interval.is_zero() { 200_000 } else { 3_000 };
        let mut writer = bsb.stream.try_clone().unwrap();
        let batch: Vec<u8> = frame(9, "U").repeat(n);
        let sender = std::thread::spawn(move || writer.write_all(&batch).unwrap());
        let started = Instant::now();
        let mut got = 0;
        let mut polls = 0;
        while got < n {
            let poll_started = Instant::now();
            asb.poll();
            polls += 1;
            while let Some(i) = asb.buf.windows(2).position(|w| w == b"\r\n") {
                let l = String::from_utf8(asb.buf[..i].to_vec()).unwrap();
                let len = payload_len(&l).unwrap();
                if asb.buf.len() < i + 2 + len {
                    break;
                }
                asb.buf.drain(..i + 2 + len);
                got += 1;
            }
            if let Some(rest) = interval.checked_sub(poll_started.elapsed()) {
                std::thread::sleep(rest);
            }
        }
        sender.join().unwrap();
        let secs = started.elapsed().as_secs_f64();
        eprintln!(
            "TCP -> gateway, poll interval {interval:?}: {:.0} msg/s ({n} messages, {polls} polls, {secs:.1} s)",
            n as f64 / secs
        );
    }

    // Memory, for comparison first the same number of idle TCP users, logged in the same way.
    let before = server.rss_kib();
    let mut tcp = Vec::new();
    for (h, p) in &tcp_users {
        tcp.push(online(&server, 7, h, p));
    }
    std::thread::sleep(Duration::from_secs(5));
    let after = server.rss_kib();
    eprintln!(
        "RSS {before} KiB -> {after} KiB with {n_idle} idle logged-in TCP users: {:.1} KiB each",
        (after.saturating_sub(before)) as f64 / n_idle as f64
    );
    // Then RSS with n_idle idle, logged-in gateway users (MSNP7 MD5 to keep Argon2 out).
    let before = server.rss_kib();
    let mut idle = Vec::new();
    for (h, _) in &idle_users {
        let mut ns = gw_login_md5(&server, 7, h);
        gw_online(&mut ns, 7);
        idle.push(ns);
    }
    // Let the housekeeping tick hand back what the login burst used.
    std::thread::sleep(Duration::from_secs(5));
    let after = server.rss_kib();
    eprintln!(
        "RSS {before} KiB -> {after} KiB with {n_idle} idle logged-in gateway users, each with its \
         keep-alive HTTP connection open: {:.1} KiB each",
        (after.saturating_sub(before)) as f64 / n_idle as f64
    );
    // Between two polls a client need not keep its HTTP connection.
    for ns in &mut idle {
        ns.http.conn = None;
    }
    std::thread::sleep(Duration::from_secs(5));
    let closed = server.rss_kib();
    eprintln!(
        "RSS {before} KiB -> {closed} KiB with the same sessions and no HTTP connection: \
         {:.1} KiB each",
        (closed.saturating_sub(before)) as f64 / n_idle as f64
    );
    // Still alive: every session answers.
    for ns in &mut idle {
        ns.send("PNG");
        ns.expect("QNG");
    }
}
