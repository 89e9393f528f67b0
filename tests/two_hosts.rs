//! Two notification hosts in one process, joined only by the in-memory bus and sharing the
//! accounts store (docs/scale-out.md): users signed in on different hosts see each other's
//! presence, hear of list changes, and chat through a switchboard.

mod common;
use common::*;
use msnpd::node::{Join, Server, bus::MemoryBus};
use std::net::SocketAddr;
use std::sync::Arc;

/// MSNP7 login straight to a notification host (the dispatch step included), then SYN and CHG.
fn sign_in(ns: SocketAddr, handle: &str, password: &str) -> Client {
    let mut trid = 1;
    let mut handshake = |c: &mut Client| {
        c.send(&format!("VER {trid} MSNP7 CVR0"));
        c.expect(&format!("VER {trid} MSNP7"));
        c.send(&format!("INF {}", trid + 1));
        c.expect(&format!("INF {} MD5", trid + 1));
        c.send(&format!("USR {} MD5 I {handle}", trid + 2));
        let line = c.line();
        trid += 3;
        line
    };
    let mut ds = Client::connect(ns);
    let xfr = handshake(&mut ds);
    assert!(xfr.contains(" NS "), "dispatch redirect: {xfr}");
    let mut c = Client::connect(ns);
    let challenge = handshake(&mut c);
    let salt = challenge.rsplit(' ').next().unwrap().to_string();
    c.send(&format!(
        "USR 10 MD5 S {}",
        md5_hex(&format!("{salt}{password}"))
    ));
    c.expect(&format!("USR 10 OK {handle}"));
    c.expect_payload("MSG Hotmail Hotmail ");
    c.send("SYN 11 0");
    c.until("SYN 11 ");
    c.send("CHG 12 NLN");
    c.until("CHG 12 NLN");
    c
}

/// Waits until `c`'s reverse list, as its host's mirror has it, names `who`. A change committed
/// by a user on another host reaches this host's mirror by a re-read of the account (the
/// bus's `Reload` notice), after the notice that announced it: between hosts the mirrors are
/// eventually consistent, and this is the event to wait for.
fn wait_rl(c: &mut Client, who: &str) {
    for t in 100..200 {
        c.send(&format!("LST {t} RL"));
        let mut found = false;
        loop {
            let line = c.line();
            if !line.starts_with(&format!("LST {t} RL")) {
                continue;
            }
            let f: Vec<&str> = line.split(' ').collect();
            found |= f.get(6) == Some(&who);
            // `LST t RL serial i n handle name`, or `LST t RL serial 0 0` for an empty list.
            if f.get(4) == f.get(5) {
                break;
            }
        }
        if found {
            return;
        }
    }
    panic!("{who} never reached the reverse list");
}

#[test]
fn users_on_two_hosts_see_each_other_and_chat() {
    let dir = TempDir::new();
    let db = dir.path().join("t.db");
    let config = in_process(&db, &[("alice@x.com", "a"), ("bob@x.com", "b")]);
    let bus = Arc::new(MemoryBus::default());
    let host_a = Server::start_joined(
        config.clone(),
        Join {
            host: 1,
            bus: bus.clone(),
            storage: None,
        },
    )
    .unwrap();
    let host_b = Server::start_joined(
        config,
        Join {
            host: 2,
            bus: bus.clone(),
            storage: Some(host_a.hub.storage.clone()),
        },
    )
    .unwrap();
    assert_ne!(host_a.bound.ns, host_b.bound.ns);

    let mut alice = sign_in(host_a.bound.ns, "alice@x.com", "a");
    let mut bob = sign_in(host_b.bound.ns, "bob@x.com", "b");

    // A list change on host A reaches bob on host B (ADD 0 RL), and alice's new contact's
    // presence comes from host B (ILN across the bus).
    alice.send("ADD 20 FL bob@x.com bob@x.com");
    alice.expect("ADD 20 FL ");
    alice.expect("ILN 20 NLN bob@x.com bob@x.com");
    bob.until("ADD 0 RL ");
    bob.send("ADD 21 FL alice@x.com alice@x.com");
    bob.expect("ADD 21 FL ");
    bob.expect("ILN 21 NLN alice@x.com alice@x.com");
    alice.until("ADD 0 RL ");
    wait_rl(&mut alice, "bob@x.com");
    wait_rl(&mut bob, "alice@x.com");

    // Status changes cross in both directions.
    bob.send("CHG 22 AWY");
    bob.until("CHG 22 AWY");
    alice.until("NLN AWY bob@x.com bob@x.com");
    alice.send("CHG 23 BSY");
    alice.until("CHG 23 BSY");
    bob.until("NLN BSY alice@x.com alice@x.com");

    // Chat: alice opens a switchboard on host A and calls bob, who is rung through host B.
    alice.send("XFR 24 SB");
    let xfr = alice.until("XFR 24 SB ").0;
    let x: Vec<&str> = xfr.split(' ').collect();
    let mut sa = Client::connect(x[3].parse().unwrap());
    sa.send(&format!("USR 1 alice@x.com {}", x[5]));
    sa.expect("USR 1 OK alice@x.com");
    sa.send("CAL 2 bob@x.com");
    let ringing = sa.expect("CAL 2 RINGING ");
    let sessid = ringing.rsplit(' ').next().unwrap().to_string();
    let rng = bob.until("RNG ").0;
    let r: Vec<&str> = rng.split(' ').collect();
    assert_eq!(r[1], sessid);
    assert_eq!(r[5], "alice@x.com");
    let mut sb = Client::connect(r[2].parse().unwrap());
    sb.send(&format!("ANS 1 bob@x.com {} {sessid}", r[4]));
    sb.until("ANS 1 OK");
    sa.until("JOI bob@x.com");
    let text: &[u8] = b"MIME-Version: 1.0\r\n\r\nhello from host A";
    sa.send_payload(&format!("MSG 3 A {}", text.len()), text);
    let (head, body) = sb.expect_payload("MSG alice@x.com alice@x.com ");
    assert!(head.starts_with("MSG alice@x.com"));
    assert!(body.ends_with(b"hello from host A"));
    sa.expect("ACK 3");

    // Signing out on host B is seen on host A.
    drop(sb);
    sa.until("BYE bob@x.com");
    bob.send("OUT");
    alice.until("FLN bob@x.com");
    drop(host_b);
    host_a.shutdown();
}
