//! The XMPP front door (issue 20), played by a scripted client over TCP and TLS (the openssl
//! crate, trusting the server's generated CA) against a server started in this process on
//! loopback with a temporary database; the MSN side is driven over MSNP7 on the same server.

mod common;
mod xmpp_common;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use common::{Client, TempDir, in_process};
use openssl::hash::MessageDigest;
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::time::{Duration, Instant};
use xmpp_common::*;

struct Harness {
    _dir: TempDir,
    server: Option<msnpd::Server>,
    xmpp: SocketAddr,
    xmpp_tls: SocketAddr,
    ca: PathBuf,
}

impl Harness {
    fn start(users: &[(&str, &str)]) -> Harness {
        let dir = TempDir::new();
        let db = dir.path().join("msnpd.db");
        let mut config = in_process(&db, users);
        config.xmpp_listen = Some(msnpd::server::listen::ListenAddr::required(
            "127.0.0.1:0".parse().unwrap(),
        ));
        config.xmpp_tls_listen = Some(msnpd::server::listen::ListenAddr::required(
            "127.0.0.1:0".parse().unwrap(),
        ));
        config.threads = 2;
        // Every XMPP session's MSN side (xmpp/bridge.rs) is one more loopback connection.
        config.max_per_ip = 4096;
        let server = msnpd::Server::start(config).unwrap();
        let xmpp = server.bound.xmpp.expect("xmpp listener bound");
        let xmpp_tls = server
            .bound
            .xmpp_tls
            .expect("xmpp direct TLS listener bound");
        let ca = dir.path().join("ca.pem");
        Harness {
            _dir: dir,
            server: Some(server),
            xmpp,
            xmpp_tls,
            ca,
        }
    }

    fn msn_online(&self, handle: &str, password: &str) -> Client {
        let ns = self.server.as_ref().unwrap().bound.ns;
        msn_login(ns, handle, password)
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        if let Some(s) = self.server.take() {
            s.shutdown();
        }
    }
}

/// MSNP7 login (following the dispatch redirect if there is one), then SYN and CHG NLN.
fn tls_client(h: &Harness) -> (Xc, String) {
    tls_client_at(h.xmpp, &h.ca)
}

fn hmac(md: MessageDigest, key: &[u8], data: &[u8]) -> Vec<u8> {
    let k = openssl::pkey::PKey::hmac(key).unwrap();
    let mut s = openssl::sign::Signer::new(md, &k).unwrap();
    s.update(data).unwrap();
    s.sign_to_vec().unwrap()
}

/// A SCRAM exchange from the client side; returns the server's final answer (success or
/// failure) and whether its signature checked out.
fn auth_scram(c: &mut Xc, mech: &str, user: &str, password: &str) -> (String, bool) {
    let md = if mech == "SCRAM-SHA-1" {
        MessageDigest::sha1()
    } else {
        MessageDigest::sha256()
    };
    let cnonce = "fyko+d2lbbFgONRv9qkxdawL";
    let first_bare = format!("n={user},r={cnonce}");
    c.send(&format!(
        "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='{mech}'>{}</auth>",
        B64.encode(format!("n,,{first_bare}"))
    ));
    let deadline = Instant::now() + TIMEOUT;
    while !c.buf.contains("</challenge>") && !c.buf.contains("</failure>") {
        assert!(Instant::now() < deadline, "no SCRAM challenge: {:?}", c.buf);
        assert!(c.read_some(), "closed during SCRAM: {:?}", c.buf);
    }
    if !c.buf.contains("</challenge>") {
        return (c.expect("</failure>"), false);
    }
    c.expect("<challenge xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>");
    let ch = c.expect("</challenge>");
    let server_first =
        String::from_utf8(B64.decode(ch.trim_end_matches("</challenge>")).unwrap()).unwrap();
    let mut nonce = "";
    let mut salt = Vec::new();
    let mut iters = 0usize;
    for a in server_first.split(',') {
        match a.split_at(2) {
            ("r=", v) => nonce = v,
            ("s=", v) => salt = B64.decode(v).unwrap(),
            ("i=", v) => iters = v.parse().unwrap(),
            _ => {}
        }
    }
    assert!(nonce.starts_with(cnonce), "{server_first}");
    let mut salted = vec![0u8; md.size()];
    openssl::pkcs5::pbkdf2_hmac(password.as_bytes(), &salt, iters, md, &mut salted).unwrap();
    let client_key = hmac(md, &salted, b"Client Key");
    let stored = openssl::hash::hash(md, &client_key).unwrap();
    let without_proof = format!("c=biws,r={nonce}");
    let auth_message = format!("{first_bare},{server_first},{without_proof}");
    let sig = hmac(md, &stored, auth_message.as_bytes());
    let proof: Vec<u8> = client_key.iter().zip(&sig).map(|(a, b)| a ^ b).collect();
    c.send(&format!(
        "<response xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>{}</response>",
        B64.encode(format!("{without_proof},p={}", B64.encode(&proof)))
    ));
    let deadline = Instant::now() + TIMEOUT;
    while !c.buf.contains("</success>") && !c.buf.contains("</failure>") {
        assert!(Instant::now() < deadline, "no SCRAM outcome: {:?}", c.buf);
        assert!(c.read_some(), "closed during SCRAM: {:?}", c.buf);
    }
    if c.buf.contains("</failure>") {
        return (c.expect("</failure>"), false);
    }
    c.expect("<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>");
    let s = c.expect("</success>");
    let v = String::from_utf8(B64.decode(s.trim_end_matches("</success>")).unwrap()).unwrap();
    let server_key = hmac(md, &salted, b"Server Key");
    let want = format!(
        "v={}",
        B64.encode(hmac(md, &server_key, auth_message.as_bytes()))
    );
    (s, v == want)
}

/// After a successful SASL: restart, bind `resource`; returns the full JID.
fn signed_in(h: &Harness, user: &str, password: &str, resource: &str) -> Xc {
    let (mut c, _) = tls_client(h);
    let r = auth_plain(&mut c, user, password);
    assert!(r.contains("success"), "{r}");
    let jid = bind(&mut c, resource);
    assert_eq!(jid, format!("{user}/{resource}"));
    c
}

#[test]
fn starttls_is_required_before_sasl() {
    let h = Harness::start(&[("alice@example.com", "pw-alice")]);
    let mut c = Xc::connect(h.xmpp);
    c.send(HEADER);
    let f = c.expect("</stream:features>");
    assert!(f.contains("<stream:stream"), "{f}");
    assert!(
        f.contains("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/></starttls>"),
        "{f}"
    );
    assert!(
        !f.contains("mechanism"),
        "no SASL mechanism before TLS: {f}"
    );
    let plain = B64.encode("\0alice@example.com\0pw-alice");
    c.send(&format!(
        "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>{plain}</auth>"
    ));
    let rest = c.until_closed();
    assert!(rest.contains("<policy-violation"), "{rest}");
    assert!(rest.contains("</stream:stream>"), "{rest}");
    assert!(!rest.contains("success"), "{rest}");

    // An unknown domain is refused at the header.
    let mut c = Xc::connect(h.xmpp);
    c.send(&HEADER.replace("example.com", "nobody.example"));
    let rest = c.until_closed();
    assert!(rest.contains("<host-unknown"), "{rest}");

    // After TLS the mechanisms are offered.
    let (c, features) = tls_client(&h);
    // The server's TLS 1.3 choice among a client's default suites: ChaCha20-Poly1305, whose
    // state is the smallest a long-lived connection keeps (docs/xmpp.md, "Memory").
    let Sock::Tls(tls) = &c.sock else {
        panic!("not TLS")
    };
    assert_eq!(
        tls.ssl().current_cipher().map(|c| c.name()),
        Some("TLS_CHACHA20_POLY1305_SHA256")
    );
    for m in ["SCRAM-SHA-256", "SCRAM-SHA-1", "PLAIN"] {
        assert!(
            features.contains(&format!("<mechanism>{m}</mechanism>")),
            "{features}"
        );
    }
    assert!(!features.contains("starttls"), "{features}");

    // Direct TLS (XEP-0368): the handshake first, then the same stream from SASL on.
    let mut c = Xc::connect(h.xmpp_tls);
    c.handshake(&h.ca);
    c.send(HEADER);
    let f = c.expect("</stream:features>");
    assert!(
        f.contains("<mechanism>PLAIN</mechanism>") && !f.contains("starttls"),
        "{f}"
    );
    assert!(auth_plain(&mut c, "alice", "pw-alice").contains("success"));
    assert_eq!(bind(&mut c, "tls"), "alice@example.com/tls");
}

#[test]
fn sasl_plain_and_scram() {
    let h = Harness::start(&[("alice@example.com", "pw-alice")]);
    // PLAIN, wrong then right (a bare local part means the stream's domain).
    let (mut c, _) = tls_client(&h);
    let r = auth_plain(&mut c, "alice", "wrong");
    assert!(
        r.contains("<failure xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><not-authorized/>"),
        "{r}"
    );
    let r = auth_plain(&mut c, "alice", "pw-alice");
    assert!(r.contains("success"), "{r}");
    assert_eq!(bind(&mut c, "laptop"), "alice@example.com/laptop");

    // SCRAM-SHA-1 and -256: the server proves it knows the keys too.
    for mech in ["SCRAM-SHA-1", "SCRAM-SHA-256"] {
        let (mut c, _) = tls_client(&h);
        let (r, server_ok) = auth_scram(&mut c, mech, "alice", "pw-alice");
        assert!(r.contains("success") && server_ok, "{mech}: {r}");
        assert_eq!(bind(&mut c, mech), format!("alice@example.com/{mech}"));
        let (mut c, _) = tls_client(&h);
        let (r, _) = auth_scram(&mut c, mech, "alice", "nope");
        assert!(r.contains("<not-authorized/>"), "{mech}: {r}");
        // An unknown account fails the same way, after a full exchange.
        let (mut c, _) = tls_client(&h);
        let (r, _) = auth_scram(&mut c, mech, "nobody", "nope");
        assert!(r.contains("<not-authorized/>"), "{mech}: {r}");
    }
    // Three failures end the stream.
    let (mut c, _) = tls_client(&h);
    for _ in 0..2 {
        assert!(auth_plain(&mut c, "alice", "bad").contains("not-authorized"));
    }
    let msg = B64.encode("\0alice\0bad");
    c.send(&format!(
        "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>{msg}</auth>"
    ));
    let rest = c.until_closed();
    assert!(rest.contains("<stream:error><not-authorized"), "{rest}");
    // The MSN side's login throttle counts them (a success clears the pair's count): after
    // `AUTH_FAILURES` in a row it refuses, even the right password, for PLAIN and SCRAM alike.
    let mut refused = 0;
    for _ in 0..msnpd::limits::AUTH_FAILURES + 1 {
        let (mut c, _) = tls_client(&h);
        let r = auth_plain(&mut c, "alice", "bad");
        if r.contains("<temporary-auth-failure/>") {
            refused += 1;
        } else {
            assert!(r.contains("<not-authorized/>"), "{r}");
        }
    }
    assert!(refused >= 1, "the throttle never refused");
    let (mut c, _) = tls_client(&h);
    let r = auth_plain(&mut c, "alice", "pw-alice");
    assert!(r.contains("<temporary-auth-failure/>"), "{r}");
    let (mut c, _) = tls_client(&h);
    let (r, _) = auth_scram(&mut c, "SCRAM-SHA-1", "alice", "pw-alice");
    assert!(r.contains("<temporary-auth-failure/>"), "{r}");
}

#[test]
fn bind_ping_disco_roster_presence_and_chat() {
    let h = Harness::start(&[
        ("alice@example.com", "pw-alice"),
        ("bob@example.com", "pw-bob"),
        ("carol@example.com", "pw-carol"),
        ("dave@example.com", "pw-dave"),
    ]);
    // The MSN side makes the lists: alice puts bob in her group "Friends" (FL), bob and carol
    // put alice on their forward lists.
    let mut alice_msn = h.msn_online("alice@example.com", "pw-alice");
    let (_, l) = alice_msn.call("ADG", "Friends 0");
    assert!(l.starts_with("ADG"), "{l}");
    let group: String = l.split(' ').nth(4).unwrap().to_string();
    let (_, l) = alice_msn.call(
        "ADD",
        &format!("FL bob@example.com bob@example.com {group}"),
    );
    assert!(l.starts_with("ADD"), "{l}");
    let (_, l) = alice_msn.call("ADD", "AL bob@example.com bob@example.com");
    assert!(l.starts_with("ADD"), "{l}");
    let (_, l) = alice_msn.call("ADD", "BL dave@example.com dave@example.com");
    assert!(l.starts_with("ADD"), "{l}");
    drop(alice_msn);
    for (who, pw) in [
        ("bob@example.com", "pw-bob"),
        ("carol@example.com", "pw-carol"),
    ] {
        let mut m = h.msn_online(who, pw);
        let (_, l) = m.call("ADD", "FL alice@example.com alice@example.com");
        assert!(l.starts_with("ADD"), "{l}");
        let (_, l) = m.call("ADD", "AL alice@example.com alice@example.com");
        assert!(l.starts_with("ADD"), "{l}");
    }

    let mut alice = signed_in(&h, "alice@example.com", "pw-alice", "phone");
    // Ping and disco of the server.
    alice.send("<iq type='get' id='p1' to='example.com'><ping xmlns='urn:xmpp:ping'/></iq>");
    let r = alice.expect("/>");
    assert!(r.contains("type='result'") && r.contains("id='p1'"), "{r}");
    alice.send(
        "<iq type='get' id='d1' to='example.com'>\
         <query xmlns='http://jabber.org/protocol/disco#info'/></iq>",
    );
    let r = alice.expect("</iq>");
    assert!(r.contains("<identity category='server' type='im'"), "{r}");
    assert!(r.contains("<feature var='urn:xmpp:ping'/>"), "{r}");
    // Unknown payload: service-unavailable.
    alice.send("<iq type='get' id='u1'><query xmlns='urn:example:nothing'/></iq>");
    let r = alice.expect("</iq>");
    assert!(
        r.contains("id='u1'") && r.contains("<service-unavailable"),
        "{r}"
    );

    // The roster is the MSN lists.
    alice.send("<iq type='get' id='r1'><query xmlns='jabber:iq:roster'/></iq>");
    let r = alice.expect("</iq>");
    assert!(
        r.contains("<item jid='bob@example.com' subscription='both'><group>Friends</group></item>"),
        "{r}"
    );
    assert!(
        r.contains("<item jid='carol@example.com' subscription='from'/>"),
        "{r}"
    );
    assert!(
        !r.contains("dave@example.com"),
        "blocked only: not in the roster: {r}"
    );
    // XEP-0191: the block list is the BL.
    alice.send("<iq type='get' id='bl'><blocklist xmlns='urn:xmpp:blocking'/></iq>");
    let r = alice.expect("</iq>");
    assert!(
        r.contains(
            "<blocklist xmlns='urn:xmpp:blocking'><item jid='dave@example.com'/></blocklist>"
        ),
        "{r}"
    );

    // Presence and chat between two XMPP users.
    let mut bob = signed_in(&h, "bob@example.com", "pw-bob", "desk");
    alice.send("<presence><show>away</show><status>lunch</status></presence>");
    let p = bob.expect("</presence>");
    assert!(
        p.contains("from='alice@example.com/phone'") && p.contains("lunch"),
        "{p}"
    );
    bob.send("<presence/>");
    // alice sees bob's (broadcast), bob his own probe answer was alice's presence already.
    let p = alice.expect("from='bob@example.com/desk'");
    assert!(p.contains("<presence"), "{p}");
    alice.send(
        "<message to='bob@example.com' type='chat' id='m1'><body>hi bob &amp; co</body>\
         <active xmlns='http://jabber.org/protocol/chatstates'/></message>",
    );
    let m = bob.expect("</message>");
    assert!(m.contains("from='alice@example.com/phone'"), "{m}");
    assert!(m.contains("<body>hi bob &amp; co</body>"), "{m}");
    assert!(
        m.contains("xmlns='http://jabber.org/protocol/chatstates'"),
        "{m}"
    );
    bob.send("<message to='alice@example.com/phone' type='chat'><body>hello</body></message>");
    let m = alice.expect("</message>");
    assert!(
        m.contains("from='bob@example.com/desk'") && m.contains("hello"),
        "{m}"
    );
    // Nobody there: the message comes back as an error.
    alice.send("<message to='carol@example.com' type='chat' id='m2'><body>?</body></message>");
    let m = alice.expect("</message>");
    assert!(
        m.contains("type='error'") && m.contains("<service-unavailable"),
        "{m}"
    );
    // Bob leaves: alice is told.
    bob.send("</stream:stream>");
    let p = alice.expect("type='unavailable'/>");
    assert!(p.contains("from='bob@example.com/desk'"), "{p}");

    // Stream management acks.
    alice.send("<enable xmlns='urn:xmpp:sm:3'/>");
    alice.expect("<enabled xmlns='urn:xmpp:sm:3'/>");
    alice.send(
        "<iq type='get' id='p2'><ping xmlns='urn:xmpp:ping'/></iq><r xmlns='urn:xmpp:sm:3'/>",
    );
    alice.expect("<a xmlns='urn:xmpp:sm:3' h='1'/>");
}

/// Privacy (issue 20 review): a bound account with BLP "block all but AL" refuses a stranger
/// exactly as an offline account would answer, so the stranger cannot tell it is online; its AL
/// contacts still reach it.
#[test]
fn blp_refuses_strangers_like_an_offline_account() {
    let h = Harness::start(&[
        ("alice@example.com", "pw-alice"),
        ("bob@example.com", "pw-bob"),
        ("carol@example.com", "pw-carol"),
        ("erin@example.com", "pw-erin"),
    ]);
    let mut alice_msn = h.msn_online("alice@example.com", "pw-alice");
    let (_, l) = alice_msn.call("ADD", "AL bob@example.com bob@example.com");
    assert!(l.starts_with("ADD"), "{l}");
    let (_, l) = alice_msn.call("BLP", "BL");
    assert!(l.starts_with("BLP"), "{l}");
    drop(alice_msn);

    let mut alice = signed_in(&h, "alice@example.com", "pw-alice", "phone");
    alice.send("<presence/>");
    let mut erin = signed_in(&h, "erin@example.com", "pw-erin", "x");
    let mut bob = signed_in(&h, "bob@example.com", "pw-bob", "desk");
    // carol is offline: the reference answer.
    erin.send("<message to='carol@example.com' type='chat' id='m1'><body>?</body></message>");
    let offline = erin.expect("</message>");
    assert!(offline.contains("<service-unavailable"), "{offline}");
    erin.send("<message to='alice@example.com' type='chat' id='m1'><body>?</body></message>");
    let refused = erin.expect("</message>");
    assert_eq!(refused.replace("alice@", "carol@"), offline);
    erin.send("<message to='alice@example.com/phone' type='chat' id='m2'><body>?</body></message>");
    let refused = erin.expect("</message>");
    assert!(refused.contains("<service-unavailable"), "{refused}");
    alice.expect_no("erin@example.com", Duration::from_millis(300));
    // An AL contact gets through.
    bob.send("<message to='alice@example.com' type='chat'><body>hi</body></message>");
    let m = alice.expect("</message>");
    assert!(m.contains("from='bob@example.com/desk'"), "{m}");
}

#[test]
fn shutdown_says_system_shutdown() {
    let mut h = Harness::start(&[("alice@example.com", "pw-alice")]);
    let mut alice = signed_in(&h, "alice@example.com", "pw-alice", "phone");
    let server = h.server.take().unwrap();
    assert_eq!(
        server.hub.live_connections(),
        1,
        "the XMPP session is counted"
    );
    let stopping = std::thread::spawn(move || server.shutdown());
    let rest = alice.until_closed();
    assert!(rest.contains("<system-shutdown"), "{rest}");
    stopping.join().unwrap();
}

#[test]
fn carbons_copy_chats_to_other_resources() {
    let h = Harness::start(&[
        ("alice@example.com", "pw-alice"),
        ("bob@example.com", "pw-bob"),
    ]);
    let mut phone = signed_in(&h, "alice@example.com", "pw-alice", "phone");
    let mut laptop = signed_in(&h, "alice@example.com", "pw-alice", "laptop");
    let mut bob = signed_in(&h, "bob@example.com", "pw-bob", "desk");
    phone.send(
        "<iq type='get' id='d' to='example.com'>\
         <query xmlns='http://jabber.org/protocol/disco#info'/></iq>",
    );
    assert!(
        phone
            .expect("</iq>")
            .contains("<feature var='urn:xmpp:carbons:2'/>")
    );
    for c in [&mut phone, &mut laptop] {
        c.send("<iq type='set' id='c1'><enable xmlns='urn:xmpp:carbons:2'/></iq>");
        let r = c.expect("/>");
        assert!(r.contains("type='result'") && r.contains("id='c1'"), "{r}");
    }
    // To one resource: the other gets a received copy.
    bob.send("<message to='alice@example.com/phone' type='chat'><body>one</body></message>");
    let m = phone.expect("</message>");
    assert!(
        m.contains("<body>one</body>") && !m.contains("carbons"),
        "{m}"
    );
    let m = laptop.expect("</received></message>");
    assert!(
        m.contains("<received xmlns='urn:xmpp:carbons:2'><forwarded xmlns='urn:xmpp:forward:0'>")
            && m.contains("<message xmlns='jabber:client'")
            && m.contains("from='bob@example.com/desk'")
            && m.contains("<body>one</body>"),
        "{m}"
    );
    // Sent from one resource: the other gets a sent copy, the sender none.
    phone.send("<message to='bob@example.com' type='chat'><body>two</body></message>");
    assert!(bob.expect("</message>").contains("<body>two</body>"));
    let m = laptop.expect("</message>");
    assert!(
        m.contains("<sent xmlns='urn:xmpp:carbons:2'>") && m.contains("two"),
        "{m}"
    );
    // Private messages are not copied.
    phone.send(
        "<message to='bob@example.com' type='chat'><body>three</body>\
         <private xmlns='urn:xmpp:carbons:2'/></message>",
    );
    let m = bob.expect("</message>");
    assert!(m.contains("three") && !m.contains("private"), "{m}");
    phone.expect_no("<sent", Duration::from_millis(300));
    laptop.expect_no("three", Duration::from_millis(300));
}

#[test]
fn bad_input_ends_only_that_stream() {
    let h = Harness::start(&[
        ("alice@example.com", "pw-alice"),
        ("bob@example.com", "pw-bob"),
    ]);
    let mut bob = signed_in(&h, "bob@example.com", "pw-bob", "desk");

    // DOCTYPE (entity declarations) before anything: restricted-xml.
    let mut c = Xc::connect(h.xmpp);
    c.send(
        "<?xml version='1.0'?><!DOCTYPE lol [<!ENTITY lol 'lol'>]><stream:stream \
         to='example.com' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' \
         version='1.0'>",
    );
    let r = c.until_closed();
    assert!(r.contains("<restricted-xml"), "{r}");

    let cases: [(&str, String); 6] = [
        (
            // A control character would break the recipient's stream: never relayed.
            "not-well-formed",
            "<message to='bob@example.com' type='chat'><body>a&#1;b</body></message>".into(),
        ),
        ("not-well-formed", "<message><body>x</message>".into()),
        (
            "policy-violation",
            format!(
                "<message to='bob@example.com'><body>{}</body></message>",
                "x".repeat(20_000)
            ),
        ),
        ("restricted-xml", "<!DOCTYPE x>".into()),
        (
            "unsupported-stanza-type",
            "<foo xmlns='urn:example:unknown'/>".into(),
        ),
        ("not-well-formed", "<message>&lol;</message>".into()),
    ];
    for (cond, bad) in cases {
        let mut alice = signed_in(&h, "alice@example.com", "pw-alice", "phone");
        alice.send(&bad);
        let r = alice.until_closed();
        assert!(
            r.contains(&format!(
                "<stream:error><{cond} xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>"
            )),
            "{cond}: {r}"
        );
        assert!(r.contains("</stream:stream>"), "{r}");
        // Bob is unaffected and got nothing of it.
        bob.send("<iq type='get' id='alive'><ping xmlns='urn:xmpp:ping'/></iq>");
        let p = bob.expect("id='alive'");
        assert!(p.contains("type='result'"), "{p}");
        assert!(!p.contains("xxxxxxxx"), "{p}");
    }
    bob.expect_no("<message", Duration::from_millis(300));
}

/// Resident memory of this process (the server runs in it), in KiB.
fn rss_kib() -> u64 {
    // Free pages go back first, so that only what the sessions hold is counted.
    // SAFETY: malloc_trim only returns unused heap pages to the kernel.
    unsafe {
        libc::malloc_trim(0);
    }
    std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

/// Python client opening `n` bound, available XMPP sessions with SCRAM-SHA-1 and keeping them
/// open until its stdin closes: a separate process, so the test process's RSS is the server's.
const IDLE_CLIENTS: &str = r#"
import base64, hashlib, hmac, os, socket, ssl, sys
host, port, ca, first, n = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
H = ("<?xml version='1.0'?><stream:stream to='example.com' xmlns='jabber:client' "
     "xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>").encode()
ctx = ssl.create_default_context(cafile=ca)
def until(s, end):
    b = b""
    while end not in b:
        d = s.recv(65536)
        if not d: raise SystemExit("closed: %r" % b)
        b += d
    return b
keep = []
for i in range(first, first + n):
    t = socket.create_connection((host, port))
    t.sendall(H); until(t, b"</stream:features>")
    t.sendall(b"<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"); until(t, b"<proceed")
    s = ctx.wrap_socket(t, server_hostname="localhost")
    s.sendall(H); until(s, b"</stream:features>")
    cn = base64.b64encode(os.urandom(12)).decode()
    bare = "n=idle%d,r=%s" % (i, cn)
    s.sendall(("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='SCRAM-SHA-1'>%s</auth>"
               % base64.b64encode(("n,," + bare).encode()).decode()).encode())
    ch = until(s, b"</challenge>").split(b">")[1].split(b"<")[0]
    first = base64.b64decode(ch).decode()
    a = dict(x.split("=", 1) for x in first.split(","))
    salted = hashlib.pbkdf2_hmac("sha1", b"pw-idle", base64.b64decode(a["s"]), int(a["i"]))
    ck = hmac.new(salted, b"Client Key", "sha1").digest()
    wp = "c=biws,r=" + a["r"]
    sig = hmac.new(hashlib.sha1(ck).digest(), (bare + "," + first + "," + wp).encode(), "sha1").digest()
    proof = base64.b64encode(bytes(x ^ y for x, y in zip(ck, sig))).decode()
    s.sendall(("<response xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>%s</response>"
               % base64.b64encode((wp + ",p=" + proof).encode()).decode()).encode())
    until(s, b"</success>")
    s.sendall(H); until(s, b"</stream:features>")
    s.sendall(b"<iq type='set' id='b'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></iq>")
    until(s, b"</iq>")
    s.sendall(b"<presence/>")
    keep.append(s)
print("ready", flush=True)
sys.stdin.read()
"#;

/// Idle XMPP sessions: heap and RSS growth of the server per bound, available, idle session
/// (issue 20 asks for <= 4 KiB; OpenSSL's per-connection state is more than half of it). Prints the
/// figures: `cargo test --test xmpp idle -- --nocapture`.
#[test]
fn idle_session_memory() {
    use std::io::BufRead;
    if std::process::Command::new("python3")
        .arg("-c")
        .arg("import ssl")
        .status()
        .map_or(true, |s| !s.success())
    {
        eprintln!("python3 with ssl not available; skipped");
        return;
    }
    let h = Harness::start(&[]);
    {
        let hub = h.server.as_ref().unwrap().hub.clone();
        let ex = std::sync::Arc::new(smol::Executor::new());
        let tls = std::sync::Arc::new(msnpd::tls::prepare_for_xmpp(&hub.config, &[]).unwrap());
        let role = std::sync::Arc::new(msnpd::xmpp::Xmpp {
            hub,
            tls,
            router: msnpd::xmpp::router::Router::start(&ex),
            msn: None,
            ex: ex.clone(),
        });
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let peer = l.local_addr().unwrap();
        let s = smol::Async::new(TcpStream::connect(peer).unwrap()).unwrap();
        let fut = msnpd::xmpp::session::serve(role, s, peer, false);
        eprintln!("xmpp session future: {} bytes", std::mem::size_of_val(&fut));
    }
    const N: usize = 200;
    const WARM: usize = 20;
    // One password hash for all the accounts (the same salt is fine for a test).
    let c = msnpd::auth::Credential::new("pw-idle");
    let users: Vec<(String, msnpd::auth::Credential)> = (0..N + WARM)
        .map(|i| {
            let cred = msnpd::auth::Credential {
                md5_salt: c.md5_salt.clone(),
                md5_hash: c.md5_hash.clone(),
                phc: c.phc.clone(),
                scram: c.scram.clone(),
            };
            (format!("idle{i}@example.com"), cred)
        })
        .collect();
    let storage = h.server.as_ref().unwrap().hub.storage.clone();
    smol::block_on(storage.run(move |db| db.import_users(&users)))
        .unwrap()
        .unwrap();
    let run = |first: usize, n: usize| {
        let mut child = std::process::Command::new("python3")
            .args([
                "-c",
                IDLE_CLIENTS,
                "127.0.0.1",
                &h.xmpp.port().to_string(),
                h.ca.to_str().unwrap(),
                &first.to_string(),
                &n.to_string(),
            ])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert_eq!(line.trim(), "ready");
        child
    };
    // Warm up (TLS, pools, the router's tables), then measure a fresh batch.
    let warm = run(N, WARM);
    std::thread::sleep(Duration::from_secs(3));
    let before = rss_kib();
    // SAFETY: mallinfo2 only reads the allocator's statistics.
    let heap_before = unsafe { libc::mallinfo2() }.uordblks;
    let batch = run(0, N);
    std::thread::sleep(Duration::from_secs(3));
    let after = rss_kib();
    let heap_after = unsafe { libc::mallinfo2() }.uordblks;
    eprintln!(
        "xmpp idle sessions: heap in use {:.2} KiB per session",
        (heap_after.saturating_sub(heap_before)) as f64 / 1024.0 / N as f64
    );
    let per = (after.saturating_sub(before)) as f64 / N as f64;
    eprintln!("xmpp idle sessions: RSS {before} -> {after} KiB for {N}: {per:.2} KiB per session");
    // Measured 18.1 KiB of heap and 18.5 KiB of RSS (debug build, 2026-12-07, OpenSSL 3.6 with
    // one record pipeline, TLS 1.3 with ChaCha20-Poly1305, the MSN bridge signed in): about 10.7
    // of it is OpenSSL's per-connection state (its record buffers are already released while
    // idle), the rest the session, its bridge and the NS session serving that (docs/xmpp.md,
    // "Memory"). The bound leaves room for allocator and run-to-run noise and catches a
    // per-session buffer or channel creeping back (26 KiB before they were taken out). The
    // issue's 4 KiB target needs a lighter TLS stack and an in-process bridge.
    assert!(per <= 23.0, "{per:.2} KiB per idle XMPP session");
    drop(batch);
    drop(warm);
}
