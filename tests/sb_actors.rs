//! The switchboard role as actors (issue #13): what a full mailbox does, replies written by the
//! switchboard in command order and after delivery, a refused ring revoking its cookie, and a
//! switchboard ending with its last participant. End to end over TCP where the behaviour is
//! visible to clients; against the registry with a stand-in `Ringer` where it is not.
mod common;
use common::*;
use msnpd::sb::registry::Switchboards;
use msnpd::sb::switchboard::{Ack, Command, JoinOutcome};
use msnpd::sb::{Admit, Ring, RingRefused, RingReply, Ringer};
use msnpd::server::outbox::Outbox;
use std::net::SocketAddr;
use std::sync::Arc;

const A: &str = "alice@example.com";
const B: &str = "bob@example.com";
const PW: &str = "pw";

fn open(ns: &mut Client, handle: &str) -> Client {
    let t = ns.t();
    ns.send(&format!("XFR {t} SB"));
    let l = ns.expect(&format!("XFR {t} SB "));
    let p: Vec<&str> = l.split(' ').collect();
    let mut sb = Client::connect(p[3].parse().unwrap());
    let t = sb.t();
    sb.send(&format!("USR {t} {handle} {}", p[5]));
    sb.expect(&format!("USR {t} OK {handle} "));
    sb
}

/// CAL from `sb`; returns (sessid, sb address, cookie) of the RNG the callee received.
fn ring(sb: &mut Client, callee_ns: &mut Client, callee: &str) -> (String, SocketAddr, String) {
    let t = sb.t();
    sb.send(&format!("CAL {t} {callee}"));
    let l = sb.expect(&format!("CAL {t} RINGING "));
    let sessid = l.rsplit(' ').next().unwrap().to_string();
    let (rng, _) = callee_ns.until("RNG ");
    let p: Vec<&str> = rng.split(' ').collect();
    (sessid, p[2].parse().unwrap(), p[4].to_string())
}

fn pair(server: &TestServer) -> (Client, Client, Client, Client) {
    let mut ans = online(server, 7, A, PW);
    let mut bns = online(server, 7, B, PW);
    let mut asb = open(&mut ans, A);
    let (sessid, addr, cookie) = ring(&mut asb, &mut bns, B);
    let mut bsb = Client::connect(addr);
    bsb.send(&format!("ANS 1 {B} {cookie} {sessid}"));
    bsb.until("ANS 1 OK");
    asb.expect(&format!("JOI {B} "));
    (ans, asb, bns, bsb)
}

/// Far more messages than the switchboard's mailbox holds, in one write: the sender's
/// connection waits for room instead of dropping anything, so every message arrives, in order,
/// and every ACK comes back, in order.
#[test]
fn a_burst_past_the_mailbox_is_relayed_whole_and_in_order() {
    let server = TestServer::start(&[(A, PW), (B, PW)]);
    let (_ans, mut asb, _bns, mut bsb) = pair(&server);
    let n = msnpd::limits::SB_MAILBOX * 10;
    let mut burst = Vec::new();
    for i in 0..n {
        let body = format!("message {i:05}");
        burst.extend_from_slice(format!("MSG {} A {}\r\n{body}", 100 + i, body.len()).as_bytes());
    }
    asb.send_raw(&burst);
    for i in 0..n {
        let (l, p) = bsb.expect_payload("MSG ");
        assert_eq!(l, format!("MSG {A} {A} 13"));
        assert_eq!(p, format!("message {i:05}").as_bytes());
    }
    for i in 0..n {
        assert_eq!(asb.line(), format!("ACK {}", 100 + i));
    }
}

/// Once joined, every command goes through the switchboard, which writes the replies: they come
/// back in the order of the commands, whichever of them waits on the notification side (CAL).
#[test]
fn replies_keep_the_order_of_the_commands() {
    let server = TestServer::start(&[(A, PW), (B, PW), ("carol@example.com", PW)]);
    let (_ans, mut asb, _bns, mut bsb) = pair(&server);
    let mut cmds = Vec::new();
    cmds.extend_from_slice(b"MSG 10 A 2\r\nhi");
    cmds.extend_from_slice(b"CAL 11 carol@example.com\r\n"); // offline: 217
    cmds.extend_from_slice(b"MSG 12 N 2\r\nho"); // delivered: no reply
    cmds.extend_from_slice(b"CAL 13 bob@example.com\r\n"); // already here: 215
    cmds.extend_from_slice(b"MSG 14 S 2\r\nhu");
    asb.send_raw(&cmds);
    assert_eq!(asb.line(), "ACK 10");
    assert_eq!(asb.line(), "217 11");
    assert_eq!(asb.line(), "215 13");
    assert_eq!(asb.line(), "ACK 14");
    for body in ["hi", "ho", "hu"] {
        let (_, p) = bsb.expect_payload("MSG ");
        assert_eq!(p, body.as_bytes());
    }
}

/// ACK means delivered: with nobody left to deliver to, the same message is NAKed.
#[test]
fn a_message_nobody_received_is_naked() {
    let server = TestServer::start(&[(A, PW), (B, PW)]);
    let (_ans, mut asb, _bns, mut bsb) = pair(&server);
    asb.send_payload("MSG 5 A 2", b"hi");
    asb.expect("ACK 5");
    bsb.expect_payload("MSG ");
    bsb.send("OUT");
    bsb.expect_closed();
    asb.expect(&format!("BYE {B}"));
    asb.send_payload("MSG 6 A 2", b"hi");
    asb.expect("NAK 6");
}

/// The last participant leaving ends the switchboard: an invitation to it, with a cookie that
/// is otherwise valid, gets 911.
#[test]
fn a_switchboard_ends_with_its_last_participant_and_its_id_stops_working() {
    let server = TestServer::start(&[(A, PW), (B, PW)]);
    let mut ans = online(&server, 7, A, PW);
    let mut bns = online(&server, 7, B, PW);
    let mut asb = open(&mut ans, A);
    let (sessid, addr, cookie) = ring(&mut asb, &mut bns, B);
    asb.send("OUT");
    asb.expect_closed();
    let mut bsb = Client::connect(addr);
    bsb.send(&format!("ANS 1 {B} {cookie} {sessid}"));
    bsb.expect("911 1");
    bsb.expect_closed();
}

/// A `Ringer` standing in for the notification role: admits or refuses, and reports each ring.
struct Bell {
    accept: bool,
    rings: smol::channel::Sender<Ring>,
}

impl Ringer for Bell {
    fn ring(&self, ring: Ring) -> RingReply {
        let answer = if self.accept {
            Ok(admit(2, &ring.target))
        } else {
            Err(RingRefused)
        };
        let _ = self.rings.try_send(ring);
        Box::pin(async move { answer })
    }
}

fn admit(user: u64, handle: &str) -> Admit {
    Admit {
        user: user as _,
        handle: handle.into(),
        name: handle.into(),
        caps: 0,
        dialect: msnpd::dialect::Dialect::get(7).unwrap(),
    }
}

/// Waits for the next chunk queued in `o`, as text.
async fn next_out(o: &Outbox) -> String {
    std::future::poll_fn(|cx| o.poll_ready(cx)).await;
    String::from_utf8(o.take().unwrap().to_vec()).unwrap()
}

/// A registry on its own executor with `ringer`; `run` drives `f` on it.
fn with_registry<T>(ringer: Arc<dyn Ringer>, f: impl AsyncFnOnce(Arc<Switchboards>) -> T) -> T {
    let ex = Arc::new(smol::Executor::new());
    let registry = Arc::new(Switchboards::new());
    registry.start(&ex, ringer);
    smol::block_on(ex.run(f(registry)))
}

/// A refused ring answers 217 and revokes the cookie registered for it; an accepted one's
/// cookie admits its holder once.
#[test]
fn a_refused_ring_revokes_its_cookie() {
    for accept in [false, true] {
        let (rings, rung) = smol::channel::unbounded();
        let bell = Arc::new(Bell { accept, rings });
        with_registry(bell, async |reg| {
            let cookie = reg.grant(admit(1, A)).await.unwrap();
            let mine = Arc::new(Outbox::new());
            let opened = reg.open(&cookie, A, mine.clone(), 1).await.unwrap();
            let call = Command::Call {
                conn: 1,
                trid: 7,
                handle: B.into(),
            };
            assert!(opened.tx.send(call).await.is_ok());
            let ring = rung.recv().await.unwrap();
            assert_eq!((ring.target.as_str(), ring.sb), (B, opened.id));
            assert_eq!(ring.caller_handle, A);
            let reply = next_out(&mine).await;
            let answered = reg.answer(&ring.cookie, B, opened.id).await;
            if accept {
                assert_eq!(reply, format!("CAL 7 RINGING {}\r\n", opened.id));
                assert!(answered.is_some(), "the cookie admits its holder");
                assert!(
                    reg.answer(&ring.cookie, B, opened.id).await.is_none(),
                    "once"
                );
            } else {
                assert_eq!(reply, "217 7\r\n");
                assert!(answered.is_none(), "revoked");
            }
            assert_eq!(reg.cookie_count(), 0);
        });
    }
}

/// While the switchboard is busy (here: waiting for a ring to be answered), its mailbox fills;
/// then a sender waits for room (its connection stops reading) and nothing is dropped.
#[test]
fn a_full_mailbox_makes_the_sender_wait_and_loses_nothing() {
    struct SlowBell(smol::channel::Receiver<()>);
    impl Ringer for SlowBell {
        fn ring(&self, ring: Ring) -> RingReply {
            let go = self.0.clone();
            Box::pin(async move {
                let _ = go.recv().await;
                Ok(admit(2, &ring.target))
            })
        }
    }
    let (release, go) = smol::channel::unbounded();
    with_registry(Arc::new(SlowBell(go)), async |reg| {
        let cookie = reg.grant(admit(1, A)).await.unwrap();
        let alice = Arc::new(Outbox::new());
        let opened = reg.open(&cookie, A, alice.clone(), 1).await.unwrap();
        let sb = opened.tx;
        let call = Command::Call {
            conn: 1,
            trid: 1,
            handle: B.into(),
        };
        assert!(sb.send(call).await.is_ok());
        // The actor is busy with the CAL (it waits on the ring); its mailbox fills up.
        let relay = |trid| {
            let mut payload = msnpd::server::pool::payload();
            payload.extend_from_slice(b"hi").unwrap();
            Command::Relay {
                conn: 1,
                trid,
                ack: Ack::Always,
                payload,
            }
        };
        let mut queued = 0;
        while sb.try_send(relay(100 + queued)).is_ok() {
            queued += 1;
            assert!(queued <= msnpd::limits::SB_MAILBOX as u32 + 1, "bounded");
        }
        assert!(queued >= msnpd::limits::SB_MAILBOX as u32 - 1, "{queued}");
        // A sender now waits: its send does not complete while the actor is busy.
        let waiting = sb.send(relay(100 + queued));
        let mut waiting = std::pin::pin!(waiting);
        assert!(futures_lite_poll_once(waiting.as_mut()).await.is_none());
        release.send(()).await.unwrap();
        assert!(waiting.await.is_ok());
        // Everything went through, in order: the ring's answer, then one NAK per message (no
        // one else is in the session yet).
        let mut out = String::new();
        let want_lines = 2 + queued as usize;
        while out.lines().count() < want_lines {
            out.push_str(&next_out(&alice).await);
        }
        let lines: Vec<&str> = out.lines().collect();
        assert!(lines[0].starts_with("CAL 1 RINGING "), "{out}");
        for (i, l) in lines[1..].iter().enumerate() {
            assert_eq!(*l, format!("NAK {}", 100 + i));
        }
        let (reply, answer) = smol::channel::bounded(1);
        let bob = Arc::new(Outbox::new());
        let join = Command::Join {
            endpoint: None,
            handle: B.into(),
            outbox: bob.clone(),
            conn: 2,
            trid: 9,
            reply,
        };
        assert!(sb.send(join).await.is_ok());
        assert_eq!(answer.recv().await.unwrap(), JoinOutcome::Joined);
    });
}

/// Polls `f` once: `Some` if it completed.
async fn futures_lite_poll_once<F: std::future::Future>(
    mut f: std::pin::Pin<&mut F>,
) -> Option<F::Output> {
    std::future::poll_fn(|cx| {
        std::task::Poll::Ready(match f.as_mut().poll(cx) {
            std::task::Poll::Ready(v) => Some(v),
            std::task::Poll::Pending => None,
        })
    })
    .await
}

/// The registry's figures follow the actors: a switchboard counts while it runs, and once its
/// last participant has left it takes no more commands and is gone from the count.
#[test]
fn the_registry_forgets_a_switchboard_when_it_ends() {
    let (rings, _rung) = smol::channel::unbounded();
    with_registry(
        Arc::new(Bell {
            accept: true,
            rings,
        }),
        async |reg| {
            let cookie = reg.grant(admit(1, A)).await.unwrap();
            assert_eq!(reg.cookie_count(), 1);
            let opened = reg
                .open(&cookie, A, Arc::new(Outbox::new()), 1)
                .await
                .unwrap();
            // Any later request is answered after the registry's figures are published.
            let spare = reg.grant(admit(3, "carol@example.com")).await.unwrap();
            assert_eq!((reg.count(), reg.cookie_count()), (1, 1));
            let leave = Command::Leave {
                conn: 1,
                forced: false,
            };
            assert!(opened.tx.send(leave).await.is_ok());
            // The actor ends: a command sent now is refused, or dropped unanswered.
            let (reply, answer) = smol::channel::bounded(1);
            let join = Command::Join {
                endpoint: None,
                handle: B.into(),
                outbox: Arc::new(Outbox::new()),
                conn: 2,
                trid: 1,
                reply,
            };
            if opened.tx.send(join).await.is_ok() {
                assert!(answer.recv().await.is_err(), "dropped unanswered");
            }
            assert!(
                opened
                    .tx
                    .send(Command::Leave {
                        conn: 2,
                        forced: false
                    })
                    .await
                    .is_err()
            );
            // It told the registry before it dropped the join, so the next request sees it gone.
            assert!(
                reg.open(&spare, "carol@example.com", Arc::new(Outbox::new()), 3)
                    .await
                    .is_some()
            );
            reg.grant(admit(4, "dave@example.com")).await.unwrap();
            assert_eq!(reg.count(), 1, "only carol's new one");
        },
    );
}
