//! The typed client commands (`msnpd::protocol::command`) against the real server: in every
//! dialect, each command as `write` produces it is accepted and answered (not refused, not a
//! disconnect), so the bytes the load tool and the tests send are the ones the server parses.

mod common;
use common::*;
use msnpd::dialect::{Dialect, Groups, ListCommands};
use msnpd::model::{Blp as Mode, Status, list};
use msnpd::protocol::command::ClientCommand;
use msnpd::protocol::command::groups::{Adg, GroupRef, Reg, Rmg};
use msnpd::protocol::command::lists::{Adc, Add, Blp, Gtc, Rem};
use msnpd::protocol::command::misc::{Fnd, Gcf, Ims, Out, Png, SHIELDS, Snd, Url};
use msnpd::protocol::command::presence::{Chg, Prp, Rea, Uux};
use msnpd::protocol::command::switchboard::{Ack, Ans, Cal, Msg, SbUsr};
use msnpd::protocol::command::sync::{Lsg, Lst};
use msnpd::protocol::command::xfr::Xfr;
use std::net::SocketAddr;

const A: &str = "alice@example.com";
const B: &str = "bob@example.com";
const PW: &str = "secret-pw";

/// Sends `cmd` with the next trid.
fn send<'a>(c: &mut Client, cmd: &impl ClientCommand<'a>, d: &Dialect) -> u32 {
    let t = c.t();
    c.send_raw(&cmd.to_bytes(t, d));
    t
}

/// Skips asynchronous lines until the reply to `t`, which must be `verb t ...` (not an error
/// code); reads its payload if it has one.
fn answer(c: &mut Client, verb: &str, t: u32) -> String {
    let trid = t.to_string();
    loop {
        let l = c.line();
        let n = payload_len(&l);
        if l.split(' ').nth(1) == Some(trid.as_str()) {
            assert!(
                l.starts_with(&format!("{verb} {t}")),
                "reply to {verb}: `{l}`"
            );
            if let Some(n) = n.filter(|_| verb == "GCF") {
                c.payload(n);
            }
            return l;
        }
        if let Some(n) = n {
            c.payload(n);
        }
    }
}

/// Sends `cmd` and checks the answer.
fn ok<'a, C: ClientCommand<'a>>(c: &mut Client, cmd: &C, d: &Dialect) -> String {
    let t = send(c, cmd, d);
    answer(c, C::VERB, t)
}

#[test]
fn every_notification_command_is_answered_in_every_dialect() {
    let server = TestServer::start(&[(A, PW), (B, PW)]);
    // MSNP2-12 (WLM's 13-18 are driven in tests/wlm_*.rs: no SYN, SSO sign-in).
    for d in Dialect::all().filter(|d| d.version <= 12) {
        let v = d.version;
        let mut c = online_any(&server, v, A, PW);
        ok(&mut c, &Chg::new(Status::Busy, d), d);
        ok(
            &mut c,
            &Url {
                service: "INBOX",
                param: None,
                more: None,
            },
            d,
        );
        ok(
            &mut c,
            &Snd {
                email: B,
                rest: &[],
            },
            d,
        );
        if d.ns_command("IMS") == msnpd::dialect::Availability::Yes {
            assert!(ok(&mut c, &Ims { off: true }, d).ends_with(" OFF"));
            ok(&mut c, &Ims { off: false }, d);
        }
        ok(&mut c, &Blp(Mode::Block), d);
        ok(&mut c, &Blp(Mode::Allow), d);
        ok(&mut c, &Gtc { prompt: false }, d);
        ok(&mut c, &Gtc { prompt: true }, d);
        match d.list_commands {
            ListCommands::Add => {
                let add = Add {
                    list: list::FL,
                    handle: B,
                    name: "Bob%20B",
                    group: None,
                };
                ok(&mut c, &add, d);
            }
            ListCommands::Adc => {
                let adc = Adc {
                    list: list::FL,
                    handle: Some(B),
                    name: Some("Bob"),
                    ..Adc::default()
                };
                ok(&mut c, &adc, d);
            }
        }
        if d.client_lst {
            ok(&mut c, &Lst { list: list::FL }, d);
        }
        ok(
            &mut c,
            &Rem {
                list: list::FL,
                contact: B,
                group: None,
            },
            d,
        );
        if d.groups != Groups::None {
            let l = ok(
                &mut c,
                &Adg {
                    name: "Typed%20Group",
                },
                d,
            );
            let f: Vec<&str> = l.split(' ').collect();
            let g = match d.groups {
                Groups::Guid => GroupRef::Guid(f[3]),
                _ => GroupRef::Id(f[4].parse().unwrap()),
            };
            if d.client_lst {
                ok(&mut c, &Lsg, d);
            }
            ok(
                &mut c,
                &Reg {
                    group: g,
                    name: "Renamed",
                },
                d,
            );
            ok(&mut c, &Rmg { group: g }, d);
        }
        if d.phones {
            ok(
                &mut c,
                &Prp {
                    kind: "PHH",
                    value: Some("555%201234"),
                },
                d,
            );
            ok(
                &mut c,
                &Prp {
                    kind: "PHH",
                    value: None,
                },
                d,
            );
        }
        if d.rea {
            ok(
                &mut c,
                &Rea {
                    handle: A,
                    name: "Alice%20Typed",
                },
                d,
            );
        }
        if d.personal_message {
            ok(
                &mut c,
                &Uux {
                    data: b"<Data><PSM>typed</PSM></Data>",
                },
                d,
            );
            ok(&mut c, &Gcf { file: SHIELDS }, d);
        }
        if d.ns_command("FND") == msnpd::dialect::Availability::Yes {
            let l = ok(
                &mut c,
                &Fnd {
                    fields: &["fname=a", "lname=b"],
                },
                d,
            );
            assert!(l.ends_with(" 0 0"), "{l}");
        }
        ok(&mut c, &Xfr, d);
        c.send_raw(&Png.to_bytes(0, d));
        c.until("QNG");
        c.send_raw(&Out.to_bytes(0, d));
        c.expect_closed();
    }
}

#[test]
fn switchboard_commands_carry_a_conversation_in_every_dialect() {
    let server = TestServer::start(&[(A, PW), (B, PW)]);
    // MSNP2-12 (WLM's 13-18 are driven in tests/wlm_*.rs: no SYN, SSO sign-in).
    for d in Dialect::all().filter(|d| d.version <= 12) {
        let mut alice = online_any(&server, d.version, A, PW);
        let mut bob = online_any(&server, d.version, B, PW);
        let xfr = ok(&mut alice, &Xfr, d);
        let f: Vec<&str> = xfr.split(' ').collect();
        let addr: SocketAddr = f[3].parse().unwrap();
        let mut sa = Client::connect(addr);
        ok(
            &mut sa,
            &SbUsr {
                handle: A,
                cookie: f[5],
            },
            d,
        );
        ok(&mut sa, &Cal { handle: B }, d);
        let (rng, _) = bob.until("RNG ");
        let r: Vec<&str> = rng.split(' ').collect();
        let mut sb = Client::connect(r[2].parse().unwrap());
        let ans = Ans {
            handle: B,
            cookie: r[4],
            session: r[1].parse().unwrap(),
        };
        let t = send(&mut sb, &ans, d);
        sb.until(&format!("ANS {t} OK"));
        sa.until(&format!("JOI {B}"));
        let body = b"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\nhi";
        let t = send(
            &mut sa,
            &Msg {
                ack: Ack::Always,
                payload: body,
            },
            d,
        );
        let (head, got) = sb.expect_payload(&format!("MSG {A} "));
        assert_eq!(got, body, "{head}");
        sa.expect(&format!("ACK {t}"));
        sb.send_raw(&Out.to_bytes(0, d));
        sa.until(&format!("BYE {B}"));
    }
}
