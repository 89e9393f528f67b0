//! XMPP users and MSN users on one server (issue 20, docs/xmpp.md "MSN users"): a scripted XMPP
//! client (TLS, PLAIN, bind) and raw MSNP7 clients against a server started in this process on
//! loopback with a temporary database. The XMPP session's MSN side is its bridge, an MSNP12
//! client of the same server.

mod common;
mod xmpp_common;

use common::{Client, TempDir, header, http, in_process, payload_len};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;
use xmpp_common::*;

struct Harness {
    _dir: TempDir,
    server: Option<msnpd::Server>,
    xmpp: SocketAddr,
    ca: PathBuf,
}

impl Harness {
    fn start(users: &[(&str, &str)]) -> Harness {
        Harness::start_with(users, |_| {})
    }

    fn start_with(users: &[(&str, &str)], tune: impl FnOnce(&mut msnpd::Config)) -> Harness {
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
        tune(&mut config);
        let server = msnpd::Server::start(config).unwrap();
        let xmpp = server.bound.xmpp.expect("xmpp listener bound");
        let ca = dir.path().join("ca.pem");
        Harness {
            _dir: dir,
            server: Some(server),
            xmpp,
            ca,
        }
    }

    fn msn_online(&self, handle: &str, password: &str) -> Client {
        let ns = self.server.as_ref().unwrap().bound.ns;
        msn_login(ns, handle, password)
    }

    /// MSNP7 alice puts bob on her FL, then bob signs in on XMPP as `resource` and becomes
    /// available: his MSN side signs in, and alice sees him online (`NLN NLN`).
    fn alice_sees_bob_sign_in(&self, resource: &str) -> (Client, Xc) {
        let mut alice = self.msn_online("alice@example.com", PW);
        alice.send("ADD 7 FL bob@example.com bob");
        msn_until(&mut alice, "ADD 7 FL");
        let mut bob = signed_in(self, "bob@example.com", PW, resource);
        bob.send("<presence/>");
        let (nln, _) = msn_until(&mut alice, "NLN NLN bob@example.com");
        assert!(nln.starts_with("NLN NLN bob@example.com "), "{nln}");
        (alice, bob)
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

fn signed_in(h: &Harness, user: &str, password: &str, resource: &str) -> Xc {
    let (mut c, _) = tls_client(h);
    let r = auth_plain(&mut c, user, password);
    assert!(r.contains("success"), "{r}");
    let jid = bind(&mut c, resource);
    assert_eq!(jid, format!("{user}/{resource}"));
    c
}

const PW: &str = "pw";

/// Reads MSNP lines (skipping payloads of others) until one starts with `prefix`; returns it
/// and its payload, if it has one.
fn msn_until(c: &mut Client, prefix: &str) -> (String, Vec<u8>) {
    loop {
        let l = c.line();
        let payload = payload_len(&l).map(|n| c.payload(n)).unwrap_or_default();
        if l.starts_with(prefix) {
            return (l, payload);
        }
    }
}

/// XMPP bob sends `text` to MSN alice: a switchboard rings her and the text arrives in it.
fn bob_chats_alice(bob: &mut Xc, alice: &mut Client, text: &str) {
    bob.send(&format!(
        "<message to='alice@example.com' type='chat'><body>{text}</body></message>"
    ));
    let mut sb = answer_ring(alice, "alice@example.com");
    let (_, p) = msn_until(&mut sb, "MSG bob@example.com ");
    assert!(
        p.ends_with(text.as_bytes()),
        "{}",
        String::from_utf8_lossy(&p)
    );
}

/// Answers the bridge's call: `RNG` on the NS, then `ANS` on the switchboard it names.
fn answer_ring(ns: &mut Client, me: &str) -> Client {
    let (rng, _) = msn_until(ns, "RNG ");
    let a: Vec<&str> = rng.split(' ').collect();
    let mut sb = Client::connect(a[2].parse().unwrap());
    sb.send(&format!("ANS 1 {me} {} {}", a[4], a[1]));
    msn_until(&mut sb, "ANS 1 OK");
    sb
}

fn mime_text(text: &str) -> Vec<u8> {
    format!(
        "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\nX-MMS-IM-Format: FN=Arial; EF=; CO=0; CS=0; PF=0\r\n\r\n{text}"
    )
    .into_bytes()
}

/// alice on MSNP7 and bob on XMPP, each on the other's forward list: bob adds alice from his
/// roster (alice sees `ADD 0 RL`), then presence, status changes, chat with non-ASCII text,
/// typing, and sign-out in both directions.
#[test]
fn msn_and_xmpp_users_see_and_chat_with_each_other() {
    let h = Harness::start(&[("alice@example.com", PW), ("bob@example.com", PW)]);
    // bob's MSN side signs in: alice, who has him on her FL, sees him online.
    let (mut alice, mut bob) = h.alice_sees_bob_sign_in("phone");

    // bob adds alice from XMPP: the answer comes after the server committed it, alice is told
    // in her dialect, and bob gets the roster push and alice's presence.
    bob.send(
        "<iq type='set' id='r1'><query xmlns='jabber:iq:roster'>\
         <item jid='alice@example.com' name='Alice'/></query></iq>",
    );
    bob.expect("id='r1'");
    let (add, _) = msn_until(&mut alice, "ADD 0 RL ");
    assert!(add.contains("bob@example.com"), "{add}");
    let push = bob.expect("</iq>");
    assert!(push.contains("jid='alice@example.com'"), "{push}");
    bob.expect("<presence from='alice@example.com'");
    bob.expect("</presence>");

    // alice goes away; bob sees <show>away</show>.
    alice.send("CHG 8 AWY");
    let p = bob.expect("</presence>");
    assert!(
        p.contains("from='alice@example.com'") && p.contains("<show>away</show>"),
        "{p}"
    );
    // bob says dnd with a status; alice sees BSY.
    // bob says dnd with a status and a nickname (XEP-0172); alice sees BSY and his new name.
    bob.send(
        "<presence><show>dnd</show><status>au travail</status>\
         <nick xmlns='http://jabber.org/protocol/nick'>Bob \u{dc}ber</nick></presence>",
    );
    let (nln, _) = msn_until(&mut alice, "NLN BSY bob@example.com Bob%20");
    assert!(nln.starts_with("NLN BSY bob@example.com Bob%20"), "{nln}");

    // bob -> alice: a switchboard rings her; typing, then text with non-ASCII characters.
    bob.send(
        "<message to='alice@example.com' type='chat' id='m1'>\
         <composing xmlns='http://jabber.org/protocol/chatstates'/></message>",
    );
    let mut sb = answer_ring(&mut alice, "alice@example.com");
    let (_, typing) = msn_until(&mut sb, "MSG bob@example.com ");
    let typing = String::from_utf8(typing).unwrap();
    assert!(
        typing.contains("text/x-msmsgscontrol") && typing.contains("TypingUser: bob@example.com"),
        "{typing}"
    );
    bob.send(
        "<message to='alice@example.com' type='chat' id='m2'><body>h\u{e9}llo \u{2603} &amp; \
         &lt;3</body></message>",
    );
    let (_, text) = msn_until(&mut sb, "MSG bob@example.com ");
    let text = String::from_utf8(text).unwrap();
    assert!(text.contains("text/plain"), "{text}");
    assert!(text.ends_with("\r\n\r\nh\u{e9}llo \u{2603} & <3"), "{text}");

    // A body longer than one switchboard message: several MSGs, cut between characters.
    let long: String = "\u{e9}\u{2603}".repeat(400);
    bob.send(&format!(
        "<message to='alice@example.com' type='chat'><body>{long}</body></message>"
    ));
    let mut got = String::new();
    let mut parts = 0;
    while got.len() < long.len() {
        let (_, p) = msn_until(&mut sb, "MSG bob@example.com ");
        let p = String::from_utf8(p).expect("each part is UTF-8");
        got.push_str(p.split("\r\n\r\n").nth(1).unwrap());
        parts += 1;
    }
    assert_eq!(got, long);
    assert!(parts >= 2, "{parts}");

    // alice -> bob: typing, then text.
    let typing = b"MIME-Version: 1.0\r\nContent-Type: text/x-msmsgscontrol\r\nTypingUser: alice@example.com\r\n\r\n\r\n";
    sb.send_payload(&format!("MSG 3 U {}", typing.len()), typing);
    let m = bob.expect("</message>");
    assert!(
        m.contains("from='alice@example.com'") && m.contains("<composing"),
        "{m}"
    );
    let body = mime_text("gr\u{fc}\u{df}e \u{1f600}");
    sb.send_payload(&format!("MSG 4 N {}", body.len()), &body);
    let m = bob.expect("</message>");
    assert!(
        m.contains("type='chat'") && m.contains("<body>gr\u{fc}\u{df}e \u{1f600}</body>"),
        "{m}"
    );

    // bob blocks alice (XEP-0191): she is on his BL, sees him offline; unblocking undoes it.
    bob.send(
        "<iq type='set' id='bl1'><block xmlns='urn:xmpp:blocking'>\
         <item jid='alice@example.com'/></block></iq>",
    );
    let r = bob.expect("id='bl1'");
    assert!(r.contains("type='result'"), "{r}");
    msn_until(&mut alice, "FLN bob@example.com");
    bob.send("<iq type='get' id='bl2'><blocklist xmlns='urn:xmpp:blocking'/></iq>");
    bob.expect("id='bl2'");
    let l = bob.expect("</iq>");
    assert!(l.contains("<item jid='alice@example.com'/>"), "{l}");
    // Blocking her again changes nothing and succeeds (the server would refuse a second
    // `ADC BL` as a duplicate, 215; the bridge knows she is listed and sends none).
    bob.send(
        "<iq type='set' id='bl1b'><block xmlns='urn:xmpp:blocking'>\
         <item jid='alice@example.com'/></block></iq>",
    );
    let r = bob.expect("id='bl1b'");
    assert!(r.contains("type='result'"), "{r}");
    bob.send(
        "<iq type='set' id='bl3'><unblock xmlns='urn:xmpp:blocking'>\
         <item jid='alice@example.com'/></unblock></iq>",
    );
    let r = bob.expect("id='bl3'");
    assert!(r.contains("type='result'"), "{r}");
    msn_until(&mut alice, "NLN BSY bob@example.com");

    // bob signs out of presence: alice sees FLN; alice signs out: bob sees unavailable.
    bob.send("<presence type='unavailable'/>");
    msn_until(&mut alice, "FLN bob@example.com");
    bob.send("<presence/>");
    msn_until(&mut alice, "NLN NLN bob@example.com");
    alice.send("OUT");
    let p = bob.expect("type='unavailable'");
    assert!(p.contains("from='alice@example.com'"), "{p}");
}

/// An MSN user adding the XMPP user shows on XMPP as a subscription request and a roster push
/// with subscription 'from'.
/// The next presence line alice gets about anyone.
fn next_nln(c: &mut Client) -> String {
    loop {
        let (l, _) = msn_until(c, "");
        if l.starts_with("NLN ") || l.starts_with("FLN ") {
            return l;
        }
    }
}

/// XMPP clients repeat an unchanged presence (caps, priority); MSN watchers see each change
/// once: the repeat is not passed on, a real change is, and so is a new nickname alone.
#[test]
fn an_unchanged_presence_is_not_repeated_to_msn_watchers() {
    let h = Harness::start(&[("alice@example.com", PW), ("bob@example.com", PW)]);
    let (mut alice, mut bob) = h.alice_sees_bob_sign_in("phone");
    bob.send("<presence><priority>5</priority></presence>");
    bob.send("<presence><show>away</show><status>out</status></presence>");
    let l = next_nln(&mut alice);
    assert!(
        l.starts_with("NLN AWY bob@example.com "),
        "repeat passed on: {l}"
    );
    let nick = "<nick xmlns='http://jabber.org/protocol/nick'>Bobby</nick>";
    bob.send(&format!(
        "<presence><show>away</show><status>out</status>{nick}</presence>"
    ));
    let l = next_nln(&mut alice);
    assert!(l.starts_with("NLN AWY bob@example.com Bobby"), "{l}");
    bob.send(&format!(
        "<presence><show>away</show><status>out</status>{nick}</presence>"
    ));
    bob.send("<presence><show>dnd</show><status>out</status></presence>");
    let l = next_nln(&mut alice);
    assert!(
        l.starts_with("NLN BSY bob@example.com Bobby"),
        "repeat passed on: {l}"
    );
}

#[test]
fn msn_side_add_is_a_subscription_request() {
    let h = Harness::start(&[("alice@example.com", PW), ("bob@example.com", PW)]);
    // bob's MSN side is signed in once alice sees him.
    let (mut alice, mut bob) = h.alice_sees_bob_sign_in("pc");
    // alice takes him off her list and adds him again while he is on XMPP.
    alice.send("REM 8 FL bob@example.com");
    msn_until(&mut alice, "REM 8 FL");
    let push = bob.expect("</iq>");
    assert!(
        push.contains("jid='alice@example.com'") && push.contains("subscription='remove'"),
        "{push}"
    );
    alice.send("ADD 9 FL bob@example.com bob");
    msn_until(&mut alice, "ADD 9 FL");
    let got = bob.expect("type='subscribe'");
    assert!(got.contains("from='alice@example.com'"), "{got}");
    let push = bob.expect("</iq>");
    assert!(
        push.contains("jid='alice@example.com'") && push.contains("subscription='from'"),
        "{push}"
    );
    // bob accepts: alice goes on his AL; then a roster remove of someone not listed is fine.
    bob.send("<presence to='alice@example.com' type='subscribed'/>");
    bob.send(
        "<iq type='set' id='r9'><query xmlns='jabber:iq:roster'>\
         <item jid='nobody@example.com' subscription='remove'/></query></iq>",
    );
    let r = bob.expect("id='r9'");
    assert!(r.contains("type='result'"), "{r}");
}

/// One account on XMPP and MSN: the later MSN sign-in signs the bridge out (`OUT OTH`), and the
/// XMPP stream ends with `<conflict/>`; a later XMPP sign-in signs the MSN client out (docs/xmpp.md).
#[test]
fn msn_sign_in_ends_the_xmpp_session_with_conflict() {
    let h = Harness::start(&[("alice@example.com", PW), ("bob@example.com", PW)]);
    let (mut alice, mut bob) = h.alice_sees_bob_sign_in("phone");
    let mut bob_msn = h.msn_online("bob@example.com", PW);
    let rest = bob.until_closed();
    assert!(rest.contains("<conflict"), "{rest}");
    // alice still sees bob online (his MSN client) and is otherwise unaffected.
    alice.send("PNG");
    msn_until(&mut alice, "QNG");
    // The other way: an XMPP sign-in with presence signs the MSN client out.
    let mut bob = signed_in(&h, "bob@example.com", PW, "laptop");
    bob.send("<presence/>");
    let (out, _) = msn_until(&mut bob_msn, "OUT");
    assert_eq!(out, "OUT OTH");
    bob.send("<iq type='get' id='p1'><ping xmlns='urn:xmpp:ping'/></iq>");
    bob.expect("id='p1'");
    // A second XMPP resource takes the MSN side over without ending the first one's stream.
    let mut bob2 = signed_in(&h, "bob@example.com", PW, "phone2");
    bob2.send("<presence/>");
    bob2.send("<iq type='get' id='p2'><ping xmlns='urn:xmpp:ping'/></iq>");
    bob2.expect("id='p2'");
    std::thread::sleep(Duration::from_millis(500));
    bob.send("<iq type='get' id='p3'><ping xmlns='urn:xmpp:ping'/></iq>");
    let pong = bob.expect("id='p3'");
    assert!(!pong.contains("<conflict"), "{pong}");
    // And MSN users still see bob online, now through the second resource's bridge.
    bob2.send("<presence><show>away</show></presence>");
    msn_until(&mut alice, "NLN AWY bob@example.com");
}

/// Bad input on the bridged paths: a roster item without a JID, a message to an MSN user who is
/// offline (bounced), an empty message, huge and odd text; the server stays up for everyone.
#[test]
fn bad_input_on_the_bridge_is_refused_cleanly() {
    let h = Harness::start(&[("alice@example.com", PW), ("bob@example.com", PW)]);
    let mut bob = signed_in(&h, "bob@example.com", PW, "phone");
    // Before any presence there is no MSN side: roster changes wait.
    bob.send("<iq type='set' id='r0'><query xmlns='jabber:iq:roster'><item jid='alice@example.com'/></query></iq>");
    let r = bob.expect("</iq>");
    assert!(r.contains("type='error'"), "{r}");
    bob.send("<presence/>");
    bob.send("<iq type='set' id='r1'><query xmlns='jabber:iq:roster'><item/></query></iq>");
    let r = bob.expect("</iq>");
    assert!(r.contains("bad-request"), "{r}");
    // alice is offline: the call fails and the message comes back as an error.
    bob.send("<message to='alice@example.com' type='chat'><body>anyone?</body></message>");
    let e = bob.expect("</message>");
    assert!(
        e.contains("type='error'") && e.contains("service-unavailable"),
        "{e}"
    );
    bob.send("<message to='alice@example.com' type='chat'/>");
    // A status far longer than a personal message may be.
    bob.send(&format!(
        "<presence><status>{}</status></presence>",
        "&amp;".repeat(2000)
    ));
    // Whatever happened above, bob's stream and the MSN side still work.
    bob.send("<iq type='get' id='p1'><ping xmlns='urn:xmpp:ping'/></iq>");
    bob.expect("id='p1'");
    let mut alice = h.msn_online("alice@example.com", PW);
    alice.send("ADD 7 FL bob@example.com bob");
    msn_until(&mut alice, "ADD 7 FL");
    alice.send("PNG");
    msn_until(&mut alice, "QNG");
    // bob's MSN side survived all of it: his message reaches alice.
    bob_chats_alice(&mut bob, &mut alice, "still here");
}

/// An MSNP12 login (Tweener through this server's Passport), without SYN or CHG.
fn msn12_login(h: &Harness, handle: &str, password: &str) -> Client {
    let bound = &h.server.as_ref().unwrap().bound;
    let mut addr = bound.ns;
    loop {
        let mut c = Client::connect(addr);
        c.send("VER 1 MSNP12 CVR0");
        c.expect("VER 1 MSNP12");
        c.send(&format!(
            "CVR 2 0x0409 winnt 5.1 i386 MSNMSGR 7.5.0324 MSMSGS {handle}"
        ));
        c.expect("CVR 2 ");
        c.send(&format!("USR 3 TWN I {handle}"));
        let l = c.line();
        if l.starts_with("XFR 3 NS ") {
            addr = l.split(' ').nth(3).unwrap().parse().unwrap();
            continue;
        }
        assert!(l.starts_with("USR 3 TWN S "), "{l}");
        let challenge = l.rsplit(' ').next().unwrap();
        let (status, hs, _) = http(bound.http, "GET", "/rdr/pprdr.asp", &[], b"");
        assert_eq!(status, 200);
        let urls = header(&hs, "PassportURLs").unwrap();
        let login = urls.strip_prefix("DALogin=").unwrap();
        let path = login.split_once("://").unwrap().1;
        let path = &path[path.find('/').unwrap()..];
        let auth = format!(
            "Passport1.4 OrgVerb=GET,OrgURL=http%3A%2F%2Fmessenger%2Emsn%2Ecom,sign-in={},pwd={password},{challenge}",
            handle.replace('@', "%40")
        );
        let (status, hs, _) = http(bound.http, "GET", path, &[("Authorization", &auth)], b"");
        assert_eq!(status, 200);
        let info = header(&hs, "Authentication-Info").unwrap();
        let ticket = info
            .split("from-PP='")
            .nth(1)
            .unwrap()
            .trim_end_matches('\'');
        c.send(&format!("USR 4 TWN S {ticket}"));
        c.expect("USR 4 OK ");
        c.trid = 4;
        return c;
    }
}

/// The GUID in an `LSG name guid` line of `lines` for the group `name` (as on the wire).
fn group_guid(lines: &[String], name: &str) -> String {
    let prefix = format!("LSG {name} ");
    let l = lines
        .iter()
        .find(|l| l.starts_with(&prefix))
        .unwrap_or_else(|| panic!("no group {name} in {lines:?}"));
    l[prefix.len()..].trim().to_string()
}

/// Roster groups are MSN groups (RFC 6121 2.1.2.4, docs/xmpp.md): a roster set with groups
/// creates the missing MSN groups and moves the contact through the server's one owner of
/// account changes (answered once committed, pushed with its groups); an MSNP12 client of the
/// same account sees those groups and memberships; its own group edits (rename, delete, create,
/// join) are in the roster the XMPP side reads next, and the bridge pushes what it changes.
#[test]
fn roster_groups_are_msn_groups_both_ways() {
    let h = Harness::start(&[("alice@example.com", PW), ("bob@example.com", PW)]);
    let mut bob = signed_in(&h, "bob@example.com", PW, "phone");
    bob.send("<presence/>");
    bob.send(
        "<iq type='set' id='g1'><query xmlns='jabber:iq:roster'>\
         <item jid='alice@example.com' name='Alice'><group>Friends</group>\
         <group>Caf\u{e9} &amp; co</group><group>Friends</group></item></query></iq>",
    );
    let r = bob.expect("id='g1'");
    assert!(r.contains("type='result'"), "{r}");
    let push = bob.expect("</iq>");
    assert!(
        push.contains("<item jid='alice@example.com' subscription='to' name='Alice'>")
            && push.contains("<group>Friends</group>")
            && push.contains("<group>Caf\u{e9} &amp; co</group>"),
        "{push}"
    );
    // Moved: out of one group, into a new one.
    bob.send(
        "<iq type='set' id='g2'><query xmlns='jabber:iq:roster'>\
         <item jid='alice@example.com' name='Ally'><group>Work</group><group>Friends</group>\
         </item></query></iq>",
    );
    let r = bob.expect("id='g2'");
    assert!(r.contains("type='result'"), "{r}");
    let push = bob.expect("</iq>");
    assert!(
        push.contains("name='Ally'")
            && push.contains("<group>Friends</group>")
            && push.contains("<group>Work</group>")
            && !push.contains("Caf"),
        "{push}"
    );
    // An empty group name is refused; nothing changes.
    bob.send(
        "<iq type='set' id='g3'><query xmlns='jabber:iq:roster'>\
         <item jid='alice@example.com'><group> </group></item></query></iq>",
    );
    let r = bob.expect("</iq>");
    assert!(r.contains("id='g3'") && r.contains("not-acceptable"), "{r}");
    // So are a group name and a contact name longer than MSN allows; the MSN side stays.
    bob.send(&format!(
        "<iq type='set' id='g3b'><query xmlns='jabber:iq:roster'>\
         <item jid='alice@example.com'><group>{}</group></item></query></iq>",
        "\u{e9}".repeat(40)
    ));
    let r = bob.expect("</iq>");
    assert!(
        r.contains("id='g3b'") && r.contains("not-acceptable"),
        "{r}"
    );
    bob.send(&format!(
        "<iq type='set' id='g3c'><query xmlns='jabber:iq:roster'>\
         <item jid='alice@example.com' name='{}'/></query></iq>",
        "%".repeat(200)
    ));
    let r = bob.expect("</iq>");
    assert!(
        r.contains("id='g3c'") && r.contains("not-acceptable"),
        "{r}"
    );
    // No such account: the NS refuses the FL add, and no group is made for it.
    bob.send(
        "<iq type='set' id='g3d'><query xmlns='jabber:iq:roster'>\
         <item jid='nobody@example.com'><group>Ghosts</group></item></query></iq>",
    );
    let r = bob.expect("</iq>");
    assert!(
        r.contains("id='g3d'") && r.contains("not-acceptable"),
        "{r}"
    );
    // What is stored is what the roster says.
    bob.send("<iq type='get' id='g4'><query xmlns='jabber:iq:roster'/></iq>");
    bob.expect("id='g4'");
    let roster = bob.expect("</iq>");
    assert!(
        roster.contains("name='Ally'")
            && roster.contains("<group>Friends</group>")
            && roster.contains("<group>Work</group>")
            && !roster.contains("Caf"),
        "{roster}"
    );

    // bob on MSNP12 (the XMPP stream ends with <conflict/>): his list has the groups, alice in
    // Friends and Work, under his name for her.
    let mut msn = msn12_login(&h, "bob@example.com", PW);
    let rest = bob.until_closed();
    assert!(rest.contains("<conflict"), "{rest}");
    msn.send("SYN 5 0 0");
    msn.until("SYN 5 ");
    let lines = msn.drain();
    let friends = group_guid(&lines, "Friends");
    let work = group_guid(&lines, "Work");
    group_guid(&lines, "Caf%C3%A9%20&%20co");
    assert!(
        !lines.iter().any(|l| l.starts_with("LSG Ghosts ")),
        "{lines:?}"
    );
    let lst = lines
        .iter()
        .find(|l| l.starts_with("LST N=alice@example.com "))
        .unwrap_or_else(|| panic!("{lines:?}"));
    assert!(lst.contains(" F=Ally "), "{lst}");
    let in_groups: Vec<&str> = lst.rsplit(' ').next().unwrap().split(',').collect();
    assert!(
        in_groups.len() == 2 && in_groups.contains(&&*friends) && in_groups.contains(&&*work),
        "{lst}"
    );
    let contact = lst
        .split(' ')
        .find_map(|a| a.strip_prefix("C="))
        .unwrap()
        .to_string();
    // The MSN side edits: Work renamed, Friends deleted, a new group joined.
    let t = msn.t();
    msn.send(&format!("REG {t} {work} Office"));
    msn.expect(&format!("REG {t} {work} Office"));
    let t = msn.t();
    msn.send(&format!("RMG {t} {friends}"));
    msn.expect(&format!("RMG {t} {friends}"));
    let t = msn.t();
    msn.send(&format!("ADG {t} Old%20pals"));
    let adg = msn.expect(&format!("ADG {t} Old%20pals "));
    let pals = adg.rsplit(' ').next().unwrap().to_string();
    let t = msn.t();
    msn.send(&format!("ADC {t} FL C={contact} {pals}"));
    msn.expect(&format!("ADC {t} FL C={contact} {pals}"));
    msn.send("OUT");

    // Back on XMPP: the roster has the MSN side's groups.
    let mut bob = signed_in(&h, "bob@example.com", PW, "phone");
    bob.send("<iq type='get' id='g5'><query xmlns='jabber:iq:roster'/></iq>");
    bob.expect("id='g5'");
    let roster = bob.expect("</iq>");
    assert!(
        roster.contains("<group>Office</group>")
            && roster.contains("<group>Old pals</group>")
            && !roster.contains("Friends")
            && !roster.contains("Work"),
        "{roster}"
    );
    // And a move from XMPP again: out of both, into one; the push carries exactly that.
    bob.send("<presence/>");
    bob.send(
        "<iq type='set' id='g6'><query xmlns='jabber:iq:roster'>\
         <item jid='alice@example.com'><group>Office</group></item></query></iq>",
    );
    let r = bob.expect("id='g6'");
    assert!(r.contains("type='result'"), "{r}");
    let push = bob.expect("</iq>");
    assert!(
        push.contains("<group>Office</group>") && !push.contains("Old pals"),
        "{push}"
    );
    // Without groups: out of every group, still on the list.
    bob.send(
        "<iq type='set' id='g7'><query xmlns='jabber:iq:roster'>\
         <item jid='alice@example.com'/></query></iq>",
    );
    bob.expect("id='g7'");
    let push = bob.expect("</iq>");
    assert!(
        push.contains("subscription='to'") && !push.contains("<group>"),
        "{push}"
    );
    // The account's other resources get the pushes too (RFC 6121 2.1.6), here one that is
    // bound but has not sent presence (so it does not take the MSN side over).
    let mut laptop = signed_in(&h, "bob@example.com", PW, "laptop");
    bob.send(
        "<iq type='set' id='g8'><query xmlns='jabber:iq:roster'>\
         <item jid='alice@example.com'><group>Home</group></item></query></iq>",
    );
    let r = bob.expect("id='g8'");
    assert!(r.contains("type='result'"), "{r}");
    let push = laptop.expect("<group>Home</group>");
    assert!(
        push.contains("<iq type='set' id='msn-push'>") && push.contains("jid='alice@example.com'"),
        "{push}"
    );
}

/// The bridge's loopback sockets are admitted as its XMPP client's and counted in all only, not
/// against 127.0.0.1's per-address cap (docs/xmpp.md, limits): with a cap of 5, three XMPP users
/// (three sockets from 127.0.0.1) each get an MSN side (one NS socket each, after the dispatch
/// one) while an MSNP7 user is online; plain clients from 127.0.0.1 still meet the cap.
#[test]
fn bridges_do_not_count_against_the_per_address_cap() {
    let users = [
        ("alice@example.com", PW),
        ("bob@example.com", PW),
        ("carol@example.com", PW),
        ("dave@example.com", PW),
    ];
    let h = Harness::start_with(&users, |c| c.max_per_ip = 5);
    let mut alice = h.msn_online("alice@example.com", PW);
    for (n, (u, _)) in users[1..].iter().enumerate() {
        alice.send(&format!("ADD {} FL {u} {u}", 10 + n));
        msn_until(&mut alice, &format!("ADD {} FL", 10 + n));
    }
    let mut xmpp = Vec::new();
    for (u, _) in &users[1..] {
        let mut c = signed_in(&h, u, PW, "phone");
        c.send("<presence/>");
        let (nln, _) = msn_until(&mut alice, &format!("NLN NLN {u}"));
        assert!(nln.starts_with("NLN NLN"), "{nln}");
        xmpp.push(c);
    }
    // Let the dispatch sockets (closed after their redirect) be counted out.
    std::thread::sleep(Duration::from_millis(300));
    // alice and the three XMPP sockets: 4 of 5. One more plain client fits; the next does not.
    let ns = h.server.as_ref().unwrap().bound.ns;
    let mut fifth = Client::connect(ns);
    fifth.send("VER 1 MSNP7 CVR0");
    fifth.expect("VER 1 MSNP7");
    let mut sixth = Client::connect(ns);
    let said = sixth.expect_closed();
    assert!(said.is_empty(), "{said:?}");
    // The XMPP users and alice are unaffected.
    alice.send("PNG");
    msn_until(&mut alice, "QNG");
    for c in &mut xmpp {
        c.send("<iq type='get' id='p'><ping xmlns='urn:xmpp:ping'/></iq>");
        c.expect("id='p'");
    }
}

/// A server listening on one LAN address (not on loopback): the bridge dials that address from
/// it and is still admitted as its XMPP client's (nothing to test on a host with no such
/// address).
#[test]
fn bridges_reach_a_server_listening_on_a_lan_address() {
    let Some(lan) = msnpd::net::lan::local_ipv4().into_iter().next() else {
        eprintln!("no LAN address here: nothing to test");
        return;
    };
    let h = Harness::start_with(&[("alice@example.com", PW), ("bob@example.com", PW)], |c| {
        c.listen = SocketAddr::new(lan.into(), 0);
        c.sb_listen = SocketAddr::new(lan.into(), 0);
        c.max_per_ip = 2;
    });
    let (mut alice, mut bob) = h.alice_sees_bob_sign_in("phone");
    bob_chats_alice(&mut bob, &mut alice, "via the LAN");
}

/// The bridge's MSN login is throttled as its XMPP client, not as 127.0.0.1: with bob's logins
/// from 127.0.0.1 blocked by failed MSN logins there, bob on XMPP from the LAN address still
/// gets his MSN side (its ticket login counts under his address, which has no failures).
#[test]
fn bridge_logins_are_throttled_as_their_client_not_as_loopback() {
    let Some(lan) = msnpd::net::lan::local_ipv4().into_iter().next() else {
        eprintln!("no LAN address here: nothing to test");
        return;
    };
    let h = Harness::start_with(&[("alice@example.com", PW), ("bob@example.com", PW)], |c| {
        c.xmpp_listen = Some(msnpd::server::listen::ListenAddr::required(
            SocketAddr::new(lan.into(), 0),
        ));
    });
    let ns = h.server.as_ref().unwrap().bound.ns;
    // Wrong passwords for bob from 127.0.0.1 until that pair is refused at once.
    let md5_attempt = |password: &str| -> String {
        let mut addr = ns;
        loop {
            let mut c = Client::connect(addr);
            c.send("VER 1 MSNP7 CVR0");
            c.expect("VER 1 MSNP7");
            c.send("INF 2");
            c.expect("INF 2 MD5");
            c.send("USR 3 MD5 I bob@example.com");
            let l = c.line();
            if l.starts_with("XFR") {
                addr = l.split(' ').nth(3).unwrap().parse().unwrap();
                continue;
            }
            if !l.starts_with("USR 3 MD5 S ") {
                return l;
            }
            let challenge = l.rsplit(' ').next().unwrap().to_string();
            let digest = common::md5_hex(&format!("{challenge}{password}"));
            c.send(&format!("USR 4 MD5 S {digest}"));
            return c.line();
        }
    };
    let mut blocked = false;
    for _ in 0..10 {
        if md5_attempt("wrong").starts_with("911 3") {
            blocked = true;
            break;
        }
    }
    assert!(blocked, "bob's logins from 127.0.0.1 were never blocked");
    assert!(md5_attempt(PW).starts_with("911"), "still blocked");

    h.alice_sees_bob_sign_in("phone");
}
