//! The LAN name service (`--dns-listen`): the real server on loopback, asked over UDP and TCP with
//! messages built and read by hickory-proto; a fake upstream resolver run by the test.

mod common;

use common::{TIMEOUT, TestServer};
use hickory_proto::op::{Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::rdata::A;
use hickory_proto::rr::{Name, RData, Record, RecordType};
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// The address a fake upstream gives every name.
const UPSTREAM_ANSWER: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 9);

fn start(extra: &[&str]) -> (TestServer, SocketAddr) {
    let mut args = vec!["--chl-interval", "0", "--dns-listen", "127.0.0.1:0"];
    args.extend_from_slice(extra);
    let server = TestServer::start_with(&[], &args);
    let line = wait_for_log(&server, "dns listening on ");
    let addr = line
        .split("dns listening on ")
        .nth(1)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    (server, addr)
}

/// Waits until the server logs a line containing `needle`; returns that line.
fn wait_for_log(server: &TestServer, needle: &str) -> String {
    let deadline = Instant::now() + TIMEOUT;
    loop {
        if let Some(l) = server
            .log
            .lock()
            .unwrap()
            .iter()
            .find(|l| l.contains(needle))
        {
            return l.clone();
        }
        assert!(
            Instant::now() < deadline,
            "no `{needle}` in the log: {}",
            server.log_text()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn query(name: &str, t: RecordType) -> (u16, Vec<u8>) {
    let mut m = Message::query();
    m.metadata.recursion_desired = true;
    m.add_query(Query::query(Name::from_ascii(name).unwrap(), t));
    (m.metadata.id, m.to_vec().unwrap())
}

fn udp_client() -> UdpSocket {
    let s = UdpSocket::bind("127.0.0.1:0").unwrap();
    s.set_read_timeout(Some(TIMEOUT)).unwrap();
    s
}

/// Sends a query over UDP and returns the reply with the same ID.
fn ask_udp(server: SocketAddr, name: &str, t: RecordType) -> Message {
    let socket = udp_client();
    let (id, bytes) = query(name, t);
    socket.send_to(&bytes, server).unwrap();
    recv_reply(&socket, id)
}

fn recv_reply(socket: &UdpSocket, id: u16) -> Message {
    let mut buf = [0u8; 4096];
    loop {
        let (n, _) = socket.recv_from(&mut buf).expect("a DNS reply");
        let m = Message::from_vec(&buf[..n]).expect("a well-formed reply");
        if m.metadata.id == id {
            assert_eq!(m.metadata.message_type, MessageType::Response);
            return m;
        }
    }
}

fn tcp_send(stream: &mut TcpStream, bytes: &[u8]) {
    let mut framed = (bytes.len() as u16).to_be_bytes().to_vec();
    framed.extend_from_slice(bytes);
    stream.write_all(&framed).unwrap();
}

fn tcp_recv(stream: &mut TcpStream) -> Message {
    let mut len = [0u8; 2];
    stream.read_exact(&mut len).expect("a framed reply");
    let mut body = vec![0u8; u16::from_be_bytes(len) as usize];
    stream.read_exact(&mut body).unwrap();
    Message::from_vec(&body).expect("a well-formed reply")
}

fn tcp_connect(server: SocketAddr) -> TcpStream {
    let s = TcpStream::connect(server).unwrap();
    s.set_read_timeout(Some(TIMEOUT)).unwrap();
    s
}

fn a_records(m: &Message) -> Vec<Ipv4Addr> {
    m.answers
        .iter()
        .filter_map(|r| match r.data {
            RData::A(A(ip)) => Some(ip),
            _ => None,
        })
        .collect()
}

/// A resolver on UDP and TCP (same port) answering every A query with `UPSTREAM_ANSWER`, or,
/// as a black hole, reading queries and never answering. Counts the queries it got.
struct FakeUpstream {
    addr: SocketAddr,
    queries: Arc<AtomicUsize>,
}

impl FakeUpstream {
    fn start(answer: bool) -> FakeUpstream {
        // The kernel picks a free UDP port; the same TCP port may be taken by someone else's
        // connection (another test's), so try again with a fresh pair until both are ours.
        let (udp, tcp, addr) = (0..100)
            .find_map(|_| {
                let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
                let addr = udp.local_addr().unwrap();
                TcpListener::bind(addr).ok().map(|tcp| (udp, tcp, addr))
            })
            .expect("a port free on both UDP and TCP");
        let queries = Arc::new(AtomicUsize::new(0));
        let q = queries.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok((n, from)) = udp.recv_from(&mut buf) {
                q.fetch_add(1, Ordering::SeqCst);
                if answer {
                    let _ = udp.send_to(&Self::reply(&buf[..n]), from);
                }
            }
        });
        let q = queries.clone();
        std::thread::spawn(move || {
            for mut s in tcp.incoming().flatten() {
                q.fetch_add(1, Ordering::SeqCst);
                let mut len = [0u8; 2];
                if s.read_exact(&mut len).is_err() {
                    continue;
                }
                let mut body = vec![0u8; u16::from_be_bytes(len) as usize];
                if s.read_exact(&mut body).is_err() || !answer {
                    continue;
                }
                tcp_send(&mut s, &Self::reply(&body));
            }
        });
        FakeUpstream { addr, queries }
    }

    fn reply(query: &[u8]) -> Vec<u8> {
        let q = Message::from_vec(query).unwrap();
        let mut r = Message::response(q.metadata.id, OpCode::Query);
        r.metadata.recursion_available = true;
        r.add_queries(q.queries.iter().cloned());
        let name = q.queries[0].name().clone();
        r.add_answer(Record::from_rdata(name, 300, RData::A(A(UPSTREAM_ANSWER))));
        r.to_vec().unwrap()
    }
}

#[test]
fn msn_names_are_answered_with_the_servers_address_over_udp_and_tcp() {
    let (_server, dns) = start(&["--dns-upstream", "none"]);
    for name in msnpd::dns::names::OURS {
        let r = ask_udp(dns, &format!("{name}."), RecordType::A);
        assert_eq!(r.metadata.response_code, ResponseCode::NoError, "{name}");
        assert!(r.metadata.authoritative, "{name}");
        // The query came in on 127.0.0.1, so that is our address for this client.
        assert_eq!(a_records(&r), [Ipv4Addr::LOCALHOST], "{name}");
        assert_eq!(r.answers[0].ttl, 60);
    }
    // Case and the root dot do not matter; the answer keeps the case asked.
    let r = ask_udp(dns, "Messenger.HOTMAIL.com", RecordType::A);
    assert_eq!(a_records(&r), [Ipv4Addr::LOCALHOST]);
    assert_eq!(r.answers[0].name.to_ascii(), "Messenger.HOTMAIL.com.");
    // AAAA: the name exists but has no IPv6 address.
    let r = ask_udp(dns, "nexus.passport.com.", RecordType::AAAA);
    assert_eq!(r.metadata.response_code, ResponseCode::NoError);
    assert!(r.answers.is_empty());

    // TCP: two queries on one connection.
    let mut s = tcp_connect(dns);
    let (id, bytes) = query("nexus.passport.com.", RecordType::A);
    tcp_send(&mut s, &bytes);
    let r = tcp_recv(&mut s);
    assert_eq!(r.metadata.id, id);
    assert_eq!(a_records(&r), [Ipv4Addr::LOCALHOST]);
    let (id, bytes) = query("CONFIG.messenger.msn.com.", RecordType::A);
    tcp_send(&mut s, &bytes);
    let r = tcp_recv(&mut s);
    assert_eq!(r.metadata.id, id);
    assert_eq!(a_records(&r), [Ipv4Addr::LOCALHOST]);
}

#[test]
fn public_host_address_is_the_answer() {
    let (_server, dns) = start(&["--dns-upstream", "none", "--public-host", "192.168.50.1"]);
    let r = ask_udp(dns, "messenger.hotmail.com.", RecordType::A);
    assert_eq!(a_records(&r), [Ipv4Addr::new(192, 168, 50, 1)]);
}

#[test]
fn other_names_are_forwarded_and_the_answer_relayed() {
    let upstream = FakeUpstream::start(true);
    let (server, dns) = start(&["--dns-upstream", &upstream.addr.to_string()]);
    wait_for_log(&server, &format!("forwarded to {}", upstream.addr));
    let r = ask_udp(dns, "www.example.org.", RecordType::A);
    assert_eq!(r.metadata.response_code, ResponseCode::NoError);
    assert_eq!(a_records(&r), [UPSTREAM_ANSWER]);
    assert_eq!(r.queries[0].name().to_ascii(), "www.example.org.");
    assert!(r.metadata.recursion_available);
    // Our names never reach the upstream.
    let before = upstream.queries.load(Ordering::SeqCst);
    assert_eq!(before, 1);
    let r = ask_udp(dns, "messenger.hotmail.com.", RecordType::A);
    assert_eq!(a_records(&r), [Ipv4Addr::LOCALHOST]);
    assert_eq!(upstream.queries.load(Ordering::SeqCst), before);

    // Over TCP, forwarded over TCP.
    let mut s = tcp_connect(dns);
    let (id, bytes) = query("mail.example.org.", RecordType::A);
    tcp_send(&mut s, &bytes);
    let r = tcp_recv(&mut s);
    assert_eq!(r.metadata.id, id);
    assert_eq!(a_records(&r), [UPSTREAM_ANSWER]);
}

#[test]
fn other_names_are_refused_with_upstream_none() {
    let (_server, dns) = start(&["--dns-upstream", "none"]);
    let r = ask_udp(dns, "www.example.org.", RecordType::A);
    assert_eq!(r.metadata.response_code, ResponseCode::Refused);
    assert!(r.answers.is_empty());
    assert!(!r.metadata.recursion_available);
}

#[test]
fn sources_outside_the_allow_list_are_refused() {
    let upstream = FakeUpstream::start(true);
    // Only 10.0.0.0/8 is allowed, so the test's 127.0.0.1 plays a public address.
    let (server, dns) = start(&[
        "--dns-upstream",
        &upstream.addr.to_string(),
        "--dns-allow",
        "10.0.0.0/8",
    ]);
    for name in ["messenger.hotmail.com.", "www.example.org."] {
        let r = ask_udp(dns, name, RecordType::A);
        assert_eq!(r.metadata.response_code, ResponseCode::Refused, "{name}");
        assert!(r.answers.is_empty(), "{name}");
    }
    assert_eq!(
        upstream.queries.load(Ordering::SeqCst),
        0,
        "nothing forwarded"
    );
    // TCP: closed without an answer.
    let mut s = tcp_connect(dns);
    let (_, bytes) = query("messenger.hotmail.com.", RecordType::A);
    let _ = s
        .write_all(&[0, bytes.len() as u8])
        .and_then(|_| s.write_all(&bytes));
    let mut buf = [0u8; 64];
    match s.read(&mut buf) {
        Ok(0) => {}
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {}
        other => panic!("expected the connection closed, got {other:?}"),
    }
    wait_for_log(&server, "not on the allow list");
}

#[test]
fn garbage_and_oversized_messages_are_dropped_and_service_goes_on() {
    let (server, dns) = start(&["--dns-upstream", "none"]);
    let socket = udp_client();
    socket.send_to(b"\x12\x34 this is not DNS", dns).unwrap();
    wait_for_log(&server, "dropped: malformed message");
    socket.send_to(&[0u8; 5000], dns).unwrap();
    wait_for_log(&server, "larger than 4096 bytes dropped");
    // A response sent to us is not answered (no loops between servers).
    let (_, mut reply) = query("messenger.hotmail.com.", RecordType::A);
    reply[2] |= 0x80;
    socket.send_to(&reply, dns).unwrap();
    wait_for_log(&server, "a response, not a query");
    // TCP: a length over the limit, and garbage, each close only their own connection.
    let mut big = tcp_connect(dns);
    big.write_all(&[0xff, 0xff]).unwrap();
    let mut junk = tcp_connect(dns);
    tcp_send(&mut junk, b"\x00\x01 garbage garbage garbage");
    for s in [&mut big, &mut junk] {
        let mut buf = [0u8; 16];
        assert!(matches!(s.read(&mut buf), Ok(0) | Err(_)), "closed");
    }
    wait_for_log(&server, "TCP message of 65535 bytes refused");
    // Still answering, over both transports.
    let (id, bytes) = query("messenger.hotmail.com.", RecordType::A);
    socket.send_to(&bytes, dns).unwrap();
    assert_eq!(a_records(&recv_reply(&socket, id)), [Ipv4Addr::LOCALHOST]);
    let mut s = tcp_connect(dns);
    tcp_send(&mut s, &bytes);
    assert_eq!(a_records(&tcp_recv(&mut s)), [Ipv4Addr::LOCALHOST]);
}

#[test]
fn a_black_hole_upstream_does_not_delay_our_names() {
    let upstream = FakeUpstream::start(false);
    let (server, dns) = start(&["--dns-upstream", &upstream.addr.to_string()]);
    // More forwards than the server lets wait at once (128): the rest get SERVFAIL at once.
    let socket = udp_client();
    let mut ids = Vec::new();
    for i in 0..150 {
        let (id, bytes) = query(&format!("host{i}.example.org."), RecordType::A);
        socket.send_to(&bytes, dns).unwrap();
        ids.push(id);
    }
    wait_for_log(&server, "too many queries in flight; SERVFAIL");
    // The upstream swallowed them; our own names are still answered while they wait.
    let t = Instant::now();
    let r = ask_udp(dns, "messenger.hotmail.com.", RecordType::A);
    assert_eq!(a_records(&r), [Ipv4Addr::LOCALHOST]);
    let mut s = tcp_connect(dns);
    let (_, bytes) = query("login.live.com.", RecordType::A);
    tcp_send(&mut s, &bytes);
    assert_eq!(a_records(&tcp_recv(&mut s)), [Ipv4Addr::LOCALHOST]);
    assert!(
        t.elapsed() < Duration::from_secs(2),
        "our names waited {:?} behind the forwards",
        t.elapsed()
    );
    // The forwards reach the fake upstream's thread on their own time: wait for them (bounded).
    let end = Instant::now() + Duration::from_secs(5);
    while upstream.queries.load(Ordering::SeqCst) < 100 && Instant::now() < end {
        std::thread::sleep(Duration::from_millis(10));
    }
    let forwarded = upstream.queries.load(Ordering::SeqCst);
    assert!(
        forwarded >= 100,
        "only {forwarded} forwards reached the upstream"
    );
    // Each forward ends in SERVFAIL when the upstream's time is up.
    let mut buf = [0u8; 4096];
    let mut servfails = 0;
    while servfails < ids.len() {
        let (n, _) = socket
            .recv_from(&mut buf)
            .expect("a SERVFAIL for every query");
        let m = Message::from_vec(&buf[..n]).unwrap();
        assert!(ids.contains(&m.metadata.id));
        assert_eq!(m.metadata.response_code, ResponseCode::ServFail);
        servfails += 1;
    }
}

#[test]
fn bad_dns_options_are_start_up_errors() {
    let dir = common::TempDir::new();
    let db = dir.path().join("msnpd.db");
    let serve = |extra: &[&str]| {
        let mut args = vec![
            "serve",
            "--db",
            db.to_str().unwrap(),
            "--listen",
            "127.0.0.1:0",
            "--sb-listen",
            "127.0.0.1:0",
            "--http-listen",
            "127.0.0.1:0",
            "--https-listen",
            "none",
        ];
        args.extend_from_slice(extra);
        let out = common::msnpd(&args, None);
        // The name service is bound and checked before the database is opened.
        assert!(!db.exists(), "a failed start left a database behind");
        out
    };
    let (code, _, err) = serve(&[
        "--dns-listen",
        "127.0.0.1:0",
        "--dns-upstream",
        "dns.example",
    ]);
    assert_ne!(code, 0);
    assert!(
        err.contains("invalid --dns-upstream entry `dns.example`"),
        "{err}"
    );
    let (code, _, err) = serve(&["--dns-listen", "127.0.0.1:0", "--dns-allow", "10.0.0.0/40"]);
    assert_ne!(code, 0);
    assert!(err.contains("invalid --dns-allow entry"), "{err}");
    // Forwarding to ourselves would loop. The check needs the bound address, so the port must
    // be free on UDP and TCP when the server binds it. Ports are tried below the ephemeral
    // range, where the thousands of loopback connections the suite opens beside this test take
    // their local ports (a port free on UDP was once in use on TCP five times running); one
    // taken meanwhile is skipped and another tried.
    let mut err = String::new();
    let base = 20_000 + (std::process::id() % 10_000) as u16;
    for i in 0..50u16 {
        let port = base + i * 37 % 10_000;
        let free = UdpSocket::bind(("127.0.0.1", port)).is_ok()
            && std::net::TcpListener::bind(("127.0.0.1", port)).is_ok();
        if !free {
            continue;
        }
        let me = format!("127.0.0.1:{port}");
        let (code, _, e) = serve(&["--dns-listen", &me, "--dns-upstream", &me]);
        assert_ne!(code, 0);
        err = e;
        if !err.contains("Address already in use") {
            break;
        }
    }
    assert!(err.contains("is this server's own dns address"), "{err}");
    // A port already in use.
    let taken = UdpSocket::bind("127.0.0.1:0").unwrap();
    let taken = taken.local_addr().unwrap().to_string();
    let (code, _, err) = serve(&["--dns-listen", &taken]);
    assert_ne!(code, 0, "{err}");
}

#[test]
fn a_query_over_ipv6_gets_the_ipv4_address_of_its_interface() {
    if UdpSocket::bind("[::1]:0").is_err() {
        eprintln!("no IPv6 loopback here; skipped");
        return;
    }
    // Dual-stack: IPv4 clients arrive as ::ffff:a.b.c.d and are judged and answered as IPv4.
    let mut args = vec!["--chl-interval", "0", "--dns-listen", "[::]:0"];
    args.extend_from_slice(&["--dns-upstream", "none"]);
    let server = TestServer::start_with(&[], &args);
    let line = wait_for_log(&server, "dns listening on ");
    let bound: SocketAddr = line
        .split("dns listening on ")
        .nth(1)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let v6 = SocketAddr::new("::1".parse().unwrap(), bound.port());
    let v4 = SocketAddr::new(Ipv4Addr::LOCALHOST.into(), bound.port());
    // ::1 is on the loopback interface, whose IPv4 address is 127.0.0.1.
    let socket = UdpSocket::bind("[::1]:0").unwrap();
    socket.set_read_timeout(Some(TIMEOUT)).unwrap();
    let (id, bytes) = query("messenger.hotmail.com.", RecordType::A);
    socket.send_to(&bytes, v6).unwrap();
    assert_eq!(a_records(&recv_reply(&socket, id)), [Ipv4Addr::LOCALHOST]);
    let r = ask_udp(v4, "login.passport.com.", RecordType::A);
    assert_eq!(a_records(&r), [Ipv4Addr::LOCALHOST]);
    let mut s = tcp_connect(v6);
    tcp_send(&mut s, &bytes);
    assert_eq!(a_records(&tcp_recv(&mut s)), [Ipv4Addr::LOCALHOST]);
}
