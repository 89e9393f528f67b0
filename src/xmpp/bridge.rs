//! The MSN side of an XMPP session (issue 20, docs/xmpp.md "MSN users"): an MSNP12 client of
//! this very server, signed in over loopback with a single-use Passport ticket minted in-process
//! once the session's SASL succeeded and its first available presence arrived.
//!
//! Why a client and not a new kind of directory member: the notification and switchboard roles
//! stay exactly as they are (other work owns them), every list change goes through the one owner
//! of account changes, and MSN users are told about it in their own dialect. The cost is one
//! loopback NS connection per XMPP session while it is available, and one SB connection per
//! conversation (docs/xmpp.md, memory).
//!
//! Shape: `Bridge` (held by the session) -> a bounded command channel -> the bridge task, which
//! owns the NS connection, and one task per switchboard conversation. Both write stanzas to the
//! session through `FromMsn`, waiting for room (backpressure reaches the NS outbox as for any slow
//! client); the session never waits on the bridge (`try_send`, a full channel bounces), so no
//! cycle of waits can form.
//!
//! Writing MSNP uses the typed client commands (`protocol::command`). Reading uses `Lines` below:
//! `protocol::parse_frame` reads what clients send (a trid after every verb), while server lines
//! such as `NLN AWY bob@x.com Bob 0` or `MSG bob@x.com Bob 120` have none.

use super::router::{Delivery, Router};
use super::xml::{Element, NS_CLIENT};
use crate::dialect::Dialect;
use crate::limits::{BRIDGE_COMMANDS, BRIDGE_MAX_PSM, BRIDGE_PING_EVERY, MAX_LINE, MAX_SB_PAYLOAD};
use crate::model::{Status, list};
use crate::protocol::command::ClientCommand;
use crate::protocol::command::groups::Adg;
use crate::protocol::command::lists::{Adc, Rem};
use crate::protocol::command::login::{ClientVersion, Cvr, Stage, Usr, Ver};
use crate::protocol::command::misc::{Out, Png, Qry};
use crate::protocol::command::presence::{Chg, Prp, Sbp, Uux};
use crate::protocol::command::switchboard::{Ack, Ans, Cal, Msg, SbUsr};
use crate::protocol::command::sync::Syn;
use crate::protocol::command::xfr::Xfr;
use crate::protocol::percent;
use crate::server::bridged::Registration;
use crate::server::hub::Hub;
use crate::server::mailbox;
use smol::Async;
use smol::channel::{Receiver, Sender};
use smol::future::FutureExt;
use smol::io::{AsyncReadExt, AsyncWriteExt};
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::sync::Arc;

/// The XEP-0085 namespace.
pub const NS_CHATSTATES: &str = "http://jabber.org/protocol/chatstates";
/// The XEP-0172 namespace.
pub const NS_NICK: &str = "http://jabber.org/protocol/nick";

/// Where the bridge finds this node's MSN roles, on loopback.
#[derive(Clone, Copy, Debug)]
pub struct MsnAddrs {
    /// The dispatch/notification listener.
    pub ns: SocketAddr,
    /// The switchboard listener.
    pub sb: SocketAddr,
}

impl MsnAddrs {
    /// The addresses to dial for listeners bound to `ns` and `sb` (a wildcard becomes loopback).
    pub fn loopback(ns: SocketAddr, sb: SocketAddr) -> MsnAddrs {
        let fix = |mut a: SocketAddr| {
            if a.ip().is_unspecified() {
                a.set_ip(if a.is_ipv4() {
                    std::net::Ipv4Addr::LOCALHOST.into()
                } else {
                    std::net::Ipv6Addr::LOCALHOST.into()
                });
            }
            a
        };
        MsnAddrs {
            ns: fix(ns),
            sb: fix(sb),
        }
    }
}

/// What the bridge hands the session.
pub enum FromMsn {
    /// A stanza to write to the client as it is.
    Stanza(Delivery),
    /// The account signed in on MSN elsewhere (`OUT OTH`): the stream ends with `<conflict/>`.
    SignedOutElsewhere,
}

/// What the session asks of the MSN side.
pub enum ToMsn {
    /// My show/status changed.
    Presence {
        /// The MSN status.
        status: Status,
        /// The personal message (`<status/>`), if any.
        psm: Option<Box<str>>,
        /// A nickname (XEP-0172 `<nick/>` in the presence): my friendly name.
        nick: Option<Box<str>>,
    },
    /// A chat message or chat state to an MSN user (XEP-0085 `composing` is `typing`).
    Chat {
        /// The recipient's handle.
        to: Box<str>,
        /// The body, if any.
        body: Option<Box<str>>,
        /// A `<composing/>` state.
        typing: bool,
    },
    /// Roster set, `subscribe`: put `handle` on my FL (and AL); `reply` goes to the client once
    /// the server acknowledged (committed) it.
    Add {
        /// The contact.
        handle: Box<str>,
        /// A list bit (`FL`, `AL`, `BL`).
        list: u8,
        /// The IQ answers to the client, sent once the server answered (None: nothing to answer).
        reply: Option<Reply>,
    },
    /// Roster set (RFC 6121 2.3): `handle` on my FL, named `name`, in exactly the groups named
    /// (MSN groups, created when missing); answered once every change was acknowledged.
    Edit(Box<RosterEdit>),
    /// Roster remove, `unsubscribed`, unblock: take `handle` off `list`.
    Remove {
        /// The contact.
        handle: Box<str>,
        /// A list bit.
        list: u8,
        /// As for `Add`.
        reply: Option<Reply>,
    },
}

/// The client's answers to a roster request: one of them goes out once the NS answered.
pub struct Reply {
    /// The IQ result (the change is committed).
    pub ok: Box<str>,
    /// The IQ error (the server refused it).
    pub err: Box<str>,
}

/// A roster set as the MSN side carries it out: one MSNP command at a time, each chosen by
/// comparing what is wanted with what the server last acknowledged (`NsSide::step_edit`).
pub struct RosterEdit {
    /// The contact.
    pub handle: Box<str>,
    /// The item's `name`, if it has one: my name for the contact.
    pub name: Option<Box<str>>,
    /// The item's `<group/>`s, trimmed and without duplicates: the MSN groups it is to be in.
    pub groups: Vec<Box<str>>,
    /// The IQ answers.
    pub reply: Reply,
    /// Commands sent so far (a bound: each step makes progress, this stops a server that
    /// answers without doing what was asked).
    steps: u8,
}

impl RosterEdit {
    /// A roster set of `handle`.
    pub fn new(
        handle: Box<str>,
        name: Option<Box<str>>,
        groups: Vec<Box<str>>,
        reply: Reply,
    ) -> RosterEdit {
        RosterEdit {
            handle,
            name,
            groups,
            reply,
            steps: 0,
        }
    }
}

/// The session's handle on its bridge; dropping it signs the MSN side out.
pub struct Bridge {
    tx: mailbox::Sender<ToMsn>,
}

impl Bridge {
    /// Queues a request without waiting; `false` when the bridge is gone or busy (the caller
    /// bounces).
    pub fn try_send(&self, m: ToMsn) -> bool {
        self.tx.try_send(m).is_ok()
    }

    /// The bridge task has ended (sign-in refused, connection lost).
    pub fn is_gone(&self) -> bool {
        self.tx.is_closed()
    }
}

/// Starts the bridge of `handle` (bound as `full_jid`, connected from `client`), signing in
/// with `status`.
#[allow(clippy::too_many_arguments)]
pub fn start(
    ex: &Arc<smol::Executor<'static>>,
    hub: Arc<Hub>,
    addrs: MsnAddrs,
    client: IpAddr,
    router: Router,
    handle: &str,
    full_jid: &str,
    status: Status,
    psm: Option<Box<str>>,
    nick: Option<Box<str>>,
    out: mailbox::Sender<FromMsn>,
) -> Bridge {
    // Storage taken when used: an idle session sends its bridge nothing (docs/xmpp.md "Memory").
    let (tx, rx) = mailbox::lazy(BRIDGE_COMMANDS);
    // Boxed: the task's future then holds a pointer to it, not a second copy (an async fn keeps
    // its arguments besides what they are moved into).
    let ns = Box::new(NsSide {
        ex: ex.clone(),
        hub,
        addrs,
        client,
        router,
        handle: handle.into(),
        jid: full_jid.into(),
        out,
        contacts: HashMap::new(),
        groups: Vec::new(),
        sbs: HashMap::new(),
        pending: HashMap::new(),
        trid: 10,
        presence_sent: 0,
        nick_sent: 0,
    });
    // Handed to the task, not queued: the queue then takes no storage until the session asks
    // for something else.
    let first = ToMsn::Presence { status, psm, nick };
    ex.spawn(ns.run(first, rx)).detach();
    Bridge { tx }
}

fn dialect() -> &'static Dialect {
    Dialect::get(12).expect("MSNP12 is served")
}

type Res<T> = Result<T, String>;

/// A buffered reader of server lines with their payloads.
struct Lines {
    stream: Async<TcpStream>,
    /// The socket is known to the accept loop as `client`'s (`server::bridged`) while it lives.
    _registered: Registration,
    buf: Vec<u8>,
    /// Bytes of `buf` already handed out (dropped at the next read).
    used: usize,
}

/// Server verbs followed by a payload whose length is their last argument.
fn has_payload(verb: &str) -> bool {
    matches!(verb, "MSG" | "UBX" | "NOT" | "GCF" | "IPG" | "UUX" | "SDG")
}

impl Lines {
    /// A bridge socket to `dst` serving `client` (`server::bridged`).
    async fn connect(hub: &Hub, dst: SocketAddr, client: IpAddr) -> Res<Lines> {
        let (stream, registration) = hub
            .bridged
            .connect(dst, client)
            .await
            .map_err(|e| format!("{dst}: {e}"))?;
        Ok(Lines::new(stream, registration))
    }

    fn new(stream: Async<TcpStream>, registered: Registration) -> Lines {
        // Lines go out one by one with nothing coming back for most (MSG N): without this,
        // Nagle holds each behind the peer's delayed ACK (40 ms).
        let _ = stream.get_ref().set_nodelay(true);
        Lines {
            stream,
            _registered: registered,
            buf: Vec::new(),
            used: 0,
        }
    }

    async fn send(&mut self, bytes: &[u8]) -> Res<()> {
        self.stream
            .write_all(bytes)
            .await
            .map_err(|e| e.to_string())
    }

    /// The next line (without its end) and its payload. A line or payload past the limits ends
    /// the connection.
    async fn next(&mut self) -> Res<(String, Vec<u8>)> {
        self.buf.drain(..self.used);
        self.used = 0;
        if self.buf.is_empty() {
            // An idle bridge keeps no buffer (docs/xmpp.md, memory).
            self.buf = Vec::new();
        }
        loop {
            if let Some(nl) = self.buf.iter().position(|&b| b == b'\n') {
                let line = String::from_utf8_lossy(&self.buf[..nl])
                    .trim_end()
                    .to_string();
                let verb = line.split(' ').next().unwrap_or("");
                let len = if has_payload(verb) && line.split(' ').count() > 2 {
                    line.rsplit(' ')
                        .next()
                        .and_then(|n| n.parse::<usize>().ok())
                        .unwrap_or(0)
                } else {
                    0
                };
                if len > MAX_SB_PAYLOAD {
                    return Err(format!("payload of {len} bytes"));
                }
                if self.buf.len() >= nl + 1 + len {
                    let payload = self.buf[nl + 1..nl + 1 + len].to_vec();
                    self.used = nl + 1 + len;
                    return Ok((line, payload));
                }
            } else if self.buf.len() > MAX_LINE {
                return Err("line too long".into());
            }
            // Wait for bytes before taking a buffer, so an idle bridge holds none.
            self.stream.readable().await.map_err(|e| e.to_string())?;
            let len = self.buf.len();
            self.buf.resize(len + 2048, 0);
            let r = self.stream.read(&mut self.buf[len..]).await;
            let n = *r.as_ref().unwrap_or(&0);
            self.buf.truncate(len + n);
            match r {
                Ok(0) => return Err("closed by the server".into()),
                Ok(_) => {}
                Err(e) => return Err(e.to_string()),
            }
        }
    }

    /// Reads lines until one starts with `prefix`; an error code (a three-digit verb) or the
    /// end of the connection is an error.
    async fn expect(&mut self, prefix: &str) -> Res<String> {
        loop {
            let (line, _) = self.next().await?;
            if line.starts_with(prefix) {
                return Ok(line);
            }
            if line.as_bytes().first().is_some_and(u8::is_ascii_digit) || line.starts_with("OUT") {
                return Err(format!("{line:?} while waiting for {prefix}"));
            }
        }
    }
}

/// What the bridge knows of a contact: lists, GUID, and last presence.
#[derive(Default)]
struct Contact {
    lists: u8,
    guid: String,
    /// `Some` while online: the status code.
    status: Option<&'static str>,
    name: String,
    psm: String,
    /// Signed in through an XMPP bridge (`BRIDGE_CAPS`): its presence comes from the router.
    via_xmpp: bool,
    /// The GUIDs of my groups they are in (FL contacts).
    groups: Vec<Box<str>>,
}

/// A list change waiting for the server's answer.
struct Pending {
    reply: Option<Reply>,
    handle: Box<str>,
}

struct NsSide {
    ex: Arc<smol::Executor<'static>>,
    hub: Arc<Hub>,
    addrs: MsnAddrs,
    /// The XMPP client's address, under which its bridge sockets are admitted and throttled.
    client: IpAddr,
    /// Roster pushes also go to the account's other resources through the router.
    router: Router,
    handle: Box<str>,
    jid: Box<str>,
    out: mailbox::Sender<FromMsn>,
    contacts: HashMap<Box<str>, Contact>,
    /// My MSN groups: GUID and name (decoded), as the server last told.
    groups: Vec<(Box<str>, String)>,
    /// One switchboard task per peer, while it lasts.
    sbs: HashMap<Box<str>, Sender<SbCmd>>,
    /// XFR SB requests (by trid): the peer and the queue of its new switchboard; list changes.
    pending: HashMap<u32, PendingOp>,
    trid: u32,
    /// Digests of the last status with PSM, and of the last nickname, passed on (0: none yet).
    /// Clients repeat an unchanged presence (caps, priority, a reconnect of the stream); the
    /// bridge is the account's only MSN endpoint, so nothing else moved the MSN side meanwhile
    /// and a repeat would only make every MSN watcher see the same `NLN` again.
    presence_sent: u64,
    nick_sent: u64,
}

enum PendingOp {
    Switchboard(Box<str>, Receiver<SbCmd>),
    List(Pending),
    Edit(Box<RosterEdit>),
}

/// At most this many MSNP commands for one roster set: the FL add, a rename, and one per group
/// created, joined or left.
const EDIT_MAX_STEPS: usize = 3 + 3 * crate::limits::MAX_GROUPS as usize;

/// A message for a switchboard conversation.
enum SbCmd {
    Text(Box<str>),
    Typing,
}

/// The capabilities a bridge announces in `CHG`: 0x200, the "Web Messenger" client bit
/// (msnp-wiki, client capabilities), which MSN clients read as "no file transfer or webcam",
/// true of a bridge; other bridges read it to leave an XMPP user's presence to the router.
pub const BRIDGE_CAPS: u32 = 0x200;

/// The client id whose key answers `CHL` (MSN Messenger 7.0's, MSNP11 algorithm).
const CHALLENGE_PRODUCT: &str = "PROD0090YUAUV{2B";

/// The CVR a bridge sends: it names itself, so logs tell it from real clients.
fn cvr(handle: &str) -> Cvr<'_> {
    Cvr(ClientVersion {
        lcid: "0x0409",
        os: "msnpd",
        os_version: "1",
        arch: "xmpp",
        library: "MSNMSGR",
        client_version: "7.0.0813",
        codebase: Some("MSMSGS"),
        handle: Some(handle),
    })
}

impl NsSide {
    fn next_trid(&mut self) -> u32 {
        self.trid = self.trid.wrapping_add(1).max(10);
        self.trid
    }

    async fn emit(&self, el: Element) -> Res<()> {
        self.out
            .send(FromMsn::Stanza(el.to_xml().into()))
            .await
            .map_err(|_| "session gone".to_string())
    }

    async fn emit_raw(&self, xml: &str) -> Res<()> {
        self.out
            .send(FromMsn::Stanza(xml.into()))
            .await
            .map_err(|_| "session gone".to_string())
    }

    /// Dispatch, then the notification server with a fresh ticket (NS.md 2.6, Tweener).
    async fn sign_in(&mut self) -> Res<Lines> {
        let d = dialect();
        let h = self.handle.to_string();
        let version = self
            .hub
            .storage
            .run(move |db| db.credentials(&h))
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| e.to_string())?
            .ok_or("no such account")?
            .version;
        let mut redirected = false;
        loop {
            let mut ns = Lines::connect(&self.hub, self.addrs.ns, self.client).await?;
            ns.send(&Ver::offering(d).to_bytes(1, d)).await?;
            ns.expect("VER 1 MSNP12").await?;
            ns.send(&cvr(&self.handle).to_bytes(2, d)).await?;
            ns.expect("CVR 2 ").await?;
            let usr = Usr {
                stage: Stage::Initial,
                value: &self.handle,
                proof: None,
                machine_guid: None,
            };
            ns.send(&usr.to_bytes(3, d)).await?;
            let (line, _) = ns.next().await?;
            if line.starts_with("XFR 3 NS ") && !redirected {
                // The dispatch step remembers us; the same listener is the NS the second time.
                redirected = true;
                continue;
            }
            if !line.starts_with("USR 3 TWN S ") {
                return Err(format!("unexpected {line:?}"));
            }
            let ticket = self.hub.logins.issue(&self.handle, version).await;
            let usr = Usr {
                stage: Stage::Subsequent,
                value: &ticket,
                proof: None,
                machine_guid: None,
            };
            ns.send(&usr.to_bytes(4, d)).await?;
            ns.expect("USR 4 OK ").await?;
            ns.send(&Syn::fresh(d).to_bytes(5, d)).await?;
            return Ok(ns);
        }
    }

    /// The bridge task: `serve`, then a log line saying why it ended.
    async fn run(mut self: Box<Self>, first: ToMsn, rx: mailbox::Receiver<ToMsn>) {
        if let Err(e) = self.serve(first, &rx).await {
            log::info!("xmpp bridge {}: ended: {e}", self.handle);
        }
    }

    /// Signs in, carries out `first` (the session's presence), then serves the connection and
    /// the session's requests until either ends.
    async fn serve(&mut self, first: ToMsn, rx: &mailbox::Receiver<ToMsn>) -> Res<()> {
        // The sign-in and the handlers are boxed: the task of an idle bridge then holds only
        // this loop's wait (docs/xmpp.md "Memory").
        let mut ns = Box::pin(self.sign_in()).await?;
        log::info!("xmpp bridge {}: signed in on MSN", self.handle);
        enum Woke {
            Line(Res<(String, Vec<u8>)>),
            Cmd(Option<ToMsn>),
            Ping,
        }
        // `first` is not kept in the loop's state: the boxed handler owns it until it is done.
        let result = match Box::pin(self.on_cmd(&mut ns, first)).await {
            Err(e) => Err(e),
            Ok(()) => loop {
                let woke = {
                    let line = async { Woke::Line(ns.next().await) };
                    let cmd = async { Woke::Cmd(rx.recv().await) };
                    let ping = async {
                        smol::Timer::after(BRIDGE_PING_EVERY).await;
                        Woke::Ping
                    };
                    line.or(cmd).or(ping).await
                };
                let r = match woke {
                    Woke::Line(Ok((line, payload))) => {
                        Box::pin(self.on_line(&mut ns, &line, &payload)).await
                    }
                    Woke::Line(Err(e)) => Err(e),
                    Woke::Cmd(Some(c)) => Box::pin(self.on_cmd(&mut ns, c)).await,
                    Woke::Cmd(None) => {
                        let _ = ns.send(&Out.to_bytes(0, dialect())).await;
                        break Ok(());
                    }
                    Woke::Ping => ns.send(&Png.to_bytes(0, dialect())).await,
                };
                if let Err(e) = r {
                    break Err(e);
                }
            },
        };
        // MSN contacts go offline for the XMPP client when the MSN side ends.
        for (h, c) in &self.contacts {
            if c.status.is_some() {
                let p = Element::new("presence", NS_CLIENT)
                    .attr("from", h)
                    .attr("to", &self.jid)
                    .attr("type", "unavailable");
                let _ = self.out.try_send(FromMsn::Stanza(p.to_xml().into()));
            }
        }
        result
    }

    async fn on_cmd(&mut self, ns: &mut Lines, c: ToMsn) -> Res<()> {
        let d = dialect();
        match c {
            ToMsn::Presence { status, psm, nick } => {
                let nick = nick.as_deref().map(str::trim).filter(|n| !n.is_empty());
                if let Some(n) = nick
                    && digest(&n) != self.nick_sent
                {
                    self.nick_sent = digest(&n);
                    // `PRP MFN` (MSNP10+): the friendly name, encoded, within the name limit.
                    let encoded = percent::encode(n);
                    if encoded.len() <= crate::limits::MAX_FRIENDLY_ENCODED {
                        let t = self.next_trid();
                        let prp = Prp {
                            kind: "MFN",
                            value: Some(&encoded),
                        };
                        ns.send(&prp.to_bytes(t, d)).await?;
                    }
                }
                let psm = psm.as_deref().unwrap_or("");
                let state = digest(&(std::mem::discriminant(&status), psm));
                if state == self.presence_sent {
                    log::debug!(
                        "xmpp bridge {}: presence unchanged, not repeated",
                        self.handle
                    );
                    return Ok(());
                }
                self.presence_sent = state;
                let t = self.next_trid();
                let chg = Chg {
                    status,
                    caps: Some(BRIDGE_CAPS),
                    caps_ex: None,
                    msnobj: None,
                };
                ns.send(&chg.to_bytes(t, d)).await?;
                let mut data = String::from("<Data><PSM>");
                // Escaped, the longest PSM kept still fits a UUX payload (`MAX_NS_PAYLOAD`),
                // which a longer one would cost the bridge its connection.
                super::xml::escape_into(&mut data, prefix_within(psm, BRIDGE_MAX_PSM));
                data.push_str("</PSM><CurrentMedia></CurrentMedia></Data>");
                let t = self.next_trid();
                ns.send(
                    &Uux {
                        data: data.as_bytes(),
                    }
                    .to_bytes(t, d),
                )
                .await
            }
            ToMsn::Chat { to, body, typing } => {
                let cmd = match body {
                    Some(b) => SbCmd::Text(b),
                    None if typing => SbCmd::Typing,
                    None => return Ok(()),
                };
                if let Some(sb) = self.sbs.get(&to) {
                    match sb.try_send(cmd) {
                        Ok(()) => return Ok(()),
                        Err(smol::channel::TrySendError::Full(_)) => {
                            return self.bounce(&to, "resource-constraint").await;
                        }
                        Err(smol::channel::TrySendError::Closed(c)) => {
                            self.sbs.remove(&to);
                            return self.open_switchboard(ns, to, c).await;
                        }
                    }
                }
                self.open_switchboard(ns, to, cmd).await
            }
            ToMsn::Add {
                handle,
                list: l,
                reply,
            } => {
                if self.contacts.get(&handle).is_some_and(|c| c.lists & l != 0) {
                    // Already on that list (a client repeating `subscribe`): nothing to change,
                    // and the server would only refuse it as a duplicate (215).
                    if let Some(r) = reply {
                        self.emit_raw(&r.ok).await?;
                    }
                    return Ok(());
                }
                let t = self.next_trid();
                let adc = Adc {
                    list: l,
                    handle: Some(&handle),
                    name: (l == list::FL).then_some(&*handle),
                    ..Adc::default()
                };
                ns.send(&adc.to_bytes(t, d)).await?;
                self.pending
                    .insert(t, PendingOp::List(Pending { reply, handle }));
                Ok(())
            }
            ToMsn::Edit(e) => self.step_edit(ns, e).await,
            ToMsn::Remove {
                handle,
                list: l,
                reply,
            } => {
                // MSNP12 names FL contacts by GUID.
                let contact = match self.contacts.get(&handle) {
                    Some(c) if l == list::FL && !c.guid.is_empty() => c.guid.clone(),
                    Some(c) if c.lists & l != 0 => handle.to_string(),
                    _ => {
                        // Not on that list: nothing to change.
                        if let Some(r) = reply {
                            self.emit_raw(&r.ok).await?;
                        }
                        return Ok(());
                    }
                };
                let t = self.next_trid();
                ns.send(
                    &Rem {
                        list: l,
                        contact: &contact,
                        group: None,
                    }
                    .to_bytes(t, d),
                )
                .await?;
                self.pending
                    .insert(t, PendingOp::List(Pending { reply, handle }));
                Ok(())
            }
        }
    }

    async fn bounce(&self, peer: &str, condition: &str) -> Res<()> {
        let e = Element::new("message", NS_CLIENT)
            .attr("from", peer)
            .attr("to", &self.jid)
            .attr("type", "error")
            .child(
                Element::new("error", NS_CLIENT)
                    .attr("type", "cancel")
                    .child(Element::new(condition, super::iq::NS_STANZAS)),
            );
        self.emit(e).await
    }

    async fn open_switchboard(&mut self, ns: &mut Lines, to: Box<str>, first: SbCmd) -> Res<()> {
        let (tx, rx) = smol::channel::bounded(BRIDGE_COMMANDS);
        let _ = tx.try_send(first);
        let t = self.next_trid();
        ns.send(&Xfr.to_bytes(t, dialect())).await?;
        self.sbs.insert(to.clone(), tx);
        self.pending.insert(t, PendingOp::Switchboard(to, rx));
        Ok(())
    }

    fn spawn_sb(&self, peer: Box<str>, rx: Receiver<SbCmd>, join: Join) {
        let sb = SbSide {
            hub: self.hub.clone(),
            client: self.client,
            addr: self.addrs.sb,
            me: self.handle.clone(),
            jid: self.jid.clone(),
            peer,
            out: self.out.clone(),
        };
        self.ex
            .spawn(async move {
                let peer = sb.peer.clone();
                if let Err(e) = sb.run(rx, join).await {
                    log::debug!("xmpp bridge switchboard with {peer}: {e}");
                }
            })
            .detach();
    }

    /// The contact whose handle or contact GUID is `id`.
    fn handle_of(&self, id: &str) -> Option<String> {
        self.contacts
            .iter()
            .find(|(h, c)| &***h == id || c.guid == id)
            .map(|(h, _)| h.to_string())
    }

    /// The GUID of my group named `name`, if there is one.
    fn group_named(&self, name: &str) -> Option<&str> {
        self.groups
            .iter()
            .find(|(_, n)| n == name)
            .map(|(g, _)| &**g)
    }

    /// Sends the next MSNP command a roster set needs, or, when the server's last answers left
    /// nothing to change, the IQ result and the roster push. Each step is chosen afresh from
    /// what was acknowledged, so the order is: on the FL (`ADC FL N= F=`), every group exists
    /// (`ADG`), in each wanted group (`ADC FL C= group`), out of the others (`REM FL C= group`),
    /// my name for them (`SBP MFN`). Every one is a change through the NS, committed before it
    /// is acknowledged (docs/xmpp.md, roster groups).
    /// What the bridge was waiting on for an acknowledged list change: the next step of a
    /// roster edit (true: that step now answers for the line), or the IQ result of a list
    /// change the XMPP client asked for.
    async fn settle(&mut self, ns: &mut Lines, pending: Option<PendingOp>) -> Res<bool> {
        match pending {
            Some(PendingOp::Edit(e)) => {
                self.step_edit(ns, e).await?;
                return Ok(true);
            }
            Some(PendingOp::List(p)) => {
                if let Some(r) = p.reply {
                    self.emit_raw(&r.ok).await?;
                }
            }
            _ => {}
        }
        Ok(false)
    }

    async fn step_edit(&mut self, ns: &mut Lines, mut e: Box<RosterEdit>) -> Res<()> {
        let d = dialect();
        e.steps = e.steps.saturating_add(1);
        if usize::from(e.steps) > EDIT_MAX_STEPS {
            log::info!(
                "xmpp bridge {}: roster set of {} did not settle",
                self.handle,
                e.handle
            );
            return self.emit_raw(&e.reply.err).await;
        }
        let t = self.next_trid();
        let on_fl = self
            .contacts
            .get(&*e.handle)
            .filter(|c| c.lists & list::FL != 0 && !c.guid.is_empty());
        let bytes = match on_fl {
            None => {
                let name = percent::encode(e.name.as_deref().unwrap_or(&e.handle));
                Adc {
                    list: list::FL,
                    handle: Some(&e.handle),
                    name: Some(&name),
                    ..Adc::default()
                }
                .to_bytes(t, d)
            }
            Some(c) => {
                let wanted: Vec<Option<&str>> =
                    e.groups.iter().map(|n| self.group_named(n)).collect();
                if let Some(missing) = e.groups.iter().zip(&wanted).find(|(_, g)| g.is_none()) {
                    Adg {
                        name: &percent::encode(missing.0),
                    }
                    .to_bytes(t, d)
                } else if let Some(join) = wanted
                    .iter()
                    .flatten()
                    .find(|g| !c.groups.iter().any(|h| &**h == **g))
                {
                    Adc {
                        list: list::FL,
                        contact: Some(&c.guid),
                        group: Some(join),
                        ..Adc::default()
                    }
                    .to_bytes(t, d)
                } else if let Some(leave) = c
                    .groups
                    .iter()
                    .find(|h| !wanted.iter().flatten().any(|g| *g == &***h))
                {
                    Rem {
                        list: list::FL,
                        contact: &c.guid,
                        group: Some(leave),
                    }
                    .to_bytes(t, d)
                } else if let Some(name) = e.name.as_deref().filter(|n| **n != *c.name) {
                    Sbp {
                        contact: &c.guid,
                        kind: "MFN",
                        value: &percent::encode(name),
                    }
                    .to_bytes(t, d)
                } else {
                    self.emit_raw(&e.reply.ok).await?;
                    return self.roster_push(&e.handle).await;
                }
            }
        };
        ns.send(&bytes).await?;
        self.pending.insert(t, PendingOp::Edit(e));
        Ok(())
    }

    /// Pushes the roster item of every contact in group `guid` (renamed or deleted).
    async fn push_members(&self, guid: &str) -> Res<()> {
        let members: Vec<Box<str>> = self
            .contacts
            .iter()
            .filter(|(_, c)| c.groups.iter().any(|g| &**g == guid))
            .map(|(h, _)| h.clone())
            .collect();
        for h in members {
            self.roster_push(&h).await?;
        }
        Ok(())
    }

    /// Sends the roster push and presence an XMPP client expects for `handle`'s lists.
    async fn roster_push(&self, handle: &str) -> Res<()> {
        let lists = self.contacts.get(handle).map_or(0, |c| c.lists);
        let sub = super::iq::subscription(lists).unwrap_or("remove");
        let mut item = Element::new("item", super::iq::NS_ROSTER)
            .attr("jid", handle)
            .attr("subscription", sub);
        if let Some(c) = self.contacts.get(handle)
            && lists & list::FL != 0
        {
            if !c.name.is_empty() && c.name != handle {
                item.set_attr("name", &c.name);
            }
            // RFC 6121 2.1.2.4: the item's groups, by name.
            for g in &c.groups {
                if let Some((_, name)) = self.groups.iter().find(|(id, _)| id == g) {
                    item.children
                        .push(Element::new("group", super::iq::NS_ROSTER).with_text(name));
                }
            }
        }
        let query = Element::new("query", super::iq::NS_ROSTER).child(item);
        let push = |to: Option<&str>| {
            let mut iq = Element::new("iq", NS_CLIENT)
                .attr("type", "set")
                .attr("id", "msn-push");
            if let Some(to) = to {
                iq.set_attr("to", to);
            }
            iq.child(query.clone())
        };
        // RFC 6121 2.1.6: every resource of the account hears of the change; the others'
        // copy carries no `to` (one stanza for all of them).
        let resource = self.jid.split_once('/').map_or("", |(_, r)| r);
        let others = push(None).to_xml().into();
        self.router
            .to_other_resources(&self.handle, resource, others)
            .await;
        self.emit(push(Some(&self.jid))).await
    }

    /// The XMPP presence of an MSN contact (RFC 6121; docs/xmpp.md mapping).
    async fn presence_of(&self, handle: &str) -> Res<()> {
        let Some(c) = self.contacts.get(handle) else {
            return Ok(());
        };
        let mut p = Element::new("presence", NS_CLIENT)
            .attr("from", handle)
            .attr("to", &self.jid);
        match c.status {
            None => p.set_attr("type", "unavailable"),
            Some(code) => {
                if let Some(show) = show_of(code) {
                    p = p.child(Element::new("show", NS_CLIENT).with_text(show));
                }
                if !c.psm.is_empty() {
                    p = p.child(Element::new("status", NS_CLIENT).with_text(&c.psm));
                }
                if !c.name.is_empty() {
                    p = p.child(Element::new("nick", NS_NICK).with_text(&c.name));
                }
            }
        }
        self.emit(p).await
    }

    async fn on_line(&mut self, ns: &mut Lines, line: &str, payload: &[u8]) -> Res<()> {
        let args: Vec<&str> = line.split(' ').collect();
        match args.as_slice() {
            // ILN trid status handle name [clientid [msnobj]]; NLN status handle name ...
            ["ILN", _, status, handle, name, rest @ ..]
            | ["NLN", status, handle, name, rest @ ..] => {
                let Some(s) = Status::parse(status) else {
                    return Ok(());
                };
                let caps = rest
                    .first()
                    .and_then(|c| c.parse::<u32>().ok())
                    .unwrap_or(0);
                let c = self.contacts.entry((*handle).into()).or_default();
                if caps & BRIDGE_CAPS != 0 {
                    // Another XMPP user's bridge: the router already gives their presence with
                    // their resource; a second, bare one would show a phantom resource.
                    c.via_xmpp = true;
                    return Ok(());
                }
                c.via_xmpp = false;
                c.status = Some(s.code());
                c.name = percent::decode_name(name).unwrap_or_default();
                self.presence_of(handle).await
            }
            ["FLN", handle, ..] => {
                if let Some(c) = self.contacts.get_mut(*handle) {
                    if c.via_xmpp {
                        return Ok(());
                    }
                    c.status = None;
                }
                self.presence_of(handle).await
            }
            ["UBX", handle, ..] => {
                let psm = psm_of(payload);
                let c = self.contacts.entry((*handle).into()).or_default();
                if c.psm == psm || c.via_xmpp {
                    return Ok(());
                }
                c.psm = psm;
                if c.status.is_some() {
                    return self.presence_of(handle).await;
                }
                Ok(())
            }
            // LST N=handle F=name C=guid lists network [groups] (MSNP12's SYN; NS.md 3.3).
            ["LST", rest @ ..] => {
                let mut handle = None;
                let mut c = Contact::default();
                let mut numbers = 0;
                for a in rest {
                    if let Some(v) = a.strip_prefix("N=") {
                        handle = Some(v);
                    } else if let Some(v) = a.strip_prefix("F=") {
                        c.name = percent::decode_name(v).unwrap_or_default();
                    } else if let Some(v) = a.strip_prefix("C=") {
                        c.guid = v.into();
                    } else if numbers < 2
                        && let Ok(n) = a.parse::<u8>()
                    {
                        // The list bits, then the network; what follows are groups.
                        if numbers == 0 {
                            c.lists = n;
                        }
                        numbers += 1;
                    } else {
                        c.groups = a
                            .split(',')
                            .filter(|g| !g.is_empty())
                            .map(Into::into)
                            .collect();
                    }
                }
                if let Some(h) = handle {
                    self.contacts.insert(h.into(), c);
                }
                Ok(())
            }
            // LSG name guid (MSNP10-12's SYN).
            ["LSG", name, guid] => {
                let name = percent::decode_name(name).unwrap_or_default();
                self.groups.push(((*guid).into(), name));
                Ok(())
            }
            // ADC trid LIST N=handle [F=name] [C=guid] [group]: ours acknowledged (trid), or
            // another user's add of me (`ADC 0 RL`); `ADC trid FL C=guid group` puts a contact
            // in a group.
            ["ADC", trid, l, rest @ ..] => {
                let Some(bit) = list::parse(l) else {
                    return Ok(());
                };
                let mut handle = None;
                let mut guid = None;
                let mut name = None;
                let mut group = None;
                for a in rest {
                    if let Some(v) = a.strip_prefix("N=") {
                        handle = Some(v.to_string());
                    } else if let Some(v) = a.strip_prefix("C=") {
                        guid = Some(v.to_string());
                    } else if let Some(v) = a.strip_prefix("F=") {
                        name = percent::decode_name(v).ok();
                    } else {
                        group = Some(*a);
                    }
                }
                let pending = trid
                    .parse::<u32>()
                    .ok()
                    .and_then(|t| self.pending.remove(&t));
                let handle = match (handle, &pending, &guid) {
                    (Some(h), _, _) => h,
                    (None, Some(PendingOp::List(p)), _) => p.handle.to_string(),
                    (None, Some(PendingOp::Edit(e)), _) => e.handle.to_string(),
                    (None, None, Some(g)) => match self.handle_of(g) {
                        Some(h) => h,
                        None => return Ok(()),
                    },
                    _ => return Ok(()),
                };
                let c = self.contacts.entry(handle.as_str().into()).or_default();
                c.lists |= bit;
                if let Some(g) = guid {
                    c.guid = g;
                }
                if bit == list::FL {
                    if let Some(n) = name {
                        c.name = n;
                    }
                    if let Some(g) = group
                        && !c.groups.iter().any(|h| &**h == g)
                    {
                        c.groups.push(g.into());
                    }
                }
                if self.settle(ns, pending).await? {
                    return Ok(());
                }
                if bit == list::RL && *trid == "0" {
                    let p = Element::new("presence", NS_CLIENT)
                        .attr("from", &handle)
                        .attr("to", &self.jid)
                        .attr("type", "subscribe");
                    self.emit(p).await?;
                }
                if bit & (list::FL | list::RL) != 0 {
                    self.roster_push(&handle).await?;
                }
                Ok(())
            }
            // REM trid LIST contact [group]: off a list, or (FL with a group) out of a group.
            ["REM", trid, l, contact, rest @ ..] => {
                let Some(bit) = list::parse(l) else {
                    return Ok(());
                };
                let contact = contact.strip_prefix("N=").unwrap_or(contact);
                let pending = trid
                    .parse::<u32>()
                    .ok()
                    .and_then(|t| self.pending.remove(&t));
                let handle = match &pending {
                    Some(PendingOp::List(p)) => p.handle.to_string(),
                    Some(PendingOp::Edit(e)) => e.handle.to_string(),
                    _ => self
                        .handle_of(contact)
                        .unwrap_or_else(|| contact.to_string()),
                };
                if let Some(c) = self.contacts.get_mut(handle.as_str()) {
                    match rest.first() {
                        Some(g) if bit == list::FL => c.groups.retain(|h| &**h != *g),
                        _ => {
                            c.lists &= !bit;
                            if bit == list::FL {
                                c.groups.clear();
                            }
                        }
                    }
                }
                if self.settle(ns, pending).await? {
                    return Ok(());
                }
                if bit & (list::FL | list::RL) != 0 {
                    self.roster_push(&handle).await?;
                }
                Ok(())
            }
            // ADG trid name guid (MSNP10-12): a group was created. An empty group is no roster
            // item, so nothing is pushed.
            ["ADG", trid, name, guid] => {
                let name = percent::decode_name(name).unwrap_or_default();
                self.groups.push(((*guid).into(), name));
                match trid
                    .parse::<u32>()
                    .ok()
                    .and_then(|t| self.pending.remove(&t))
                {
                    Some(PendingOp::Edit(e)) => self.step_edit(ns, e).await,
                    _ => Ok(()),
                }
            }
            // REG trid guid name: renamed; its members' items carry the new name.
            ["REG", _, guid, name, ..] => {
                let name = percent::decode_name(name).unwrap_or_default();
                if let Some(g) = self.groups.iter_mut().find(|(id, _)| &**id == *guid) {
                    g.1 = name;
                }
                self.push_members(guid).await
            }
            // RMG trid guid: deleted; its members leave it.
            ["RMG", _, guid, ..] => {
                self.groups.retain(|(id, _)| &**id != *guid);
                let members: Vec<Box<str>> = self
                    .contacts
                    .iter_mut()
                    .filter(|(_, c)| c.groups.iter().any(|g| &**g == *guid))
                    .map(|(h, c)| {
                        c.groups.retain(|g| &**g != *guid);
                        h.clone()
                    })
                    .collect();
                for h in members {
                    self.roster_push(&h).await?;
                }
                Ok(())
            }
            // SBP trid guid MFN name: my name for a contact.
            ["SBP", trid, guid, "MFN", value] => {
                let Some(handle) = self.handle_of(guid) else {
                    return Ok(());
                };
                if let Some(c) = self.contacts.get_mut(handle.as_str()) {
                    c.name = percent::decode_name(value).unwrap_or_default();
                }
                match trid
                    .parse::<u32>()
                    .ok()
                    .and_then(|t| self.pending.remove(&t))
                {
                    Some(PendingOp::Edit(e)) => self.step_edit(ns, e).await,
                    _ => self.roster_push(&handle).await,
                }
            }
            ["XFR", trid, "SB", _addr, "CKI", cookie, ..] => {
                let Some(PendingOp::Switchboard(peer, rx)) = trid
                    .parse::<u32>()
                    .ok()
                    .and_then(|t| self.pending.remove(&t))
                else {
                    return Ok(());
                };
                self.spawn_sb(peer, rx, Join::Call((*cookie).into()));
                Ok(())
            }
            // RNG session addr CKI cookie caller name
            ["RNG", session, _addr, "CKI", cookie, caller, ..] => {
                let Ok(session) = session.parse::<u32>() else {
                    return Ok(());
                };
                let (tx, rx) = smol::channel::bounded(BRIDGE_COMMANDS);
                self.sbs.insert((*caller).into(), tx);
                self.spawn_sb(
                    (*caller).into(),
                    rx,
                    Join::Answer((*cookie).into(), session),
                );
                Ok(())
            }
            // The MSNP11 challenge, answered as MSN Messenger 7.0 would (NS.md 4.10).
            ["CHL", _, challenge] => {
                let Some(answer) = crate::auth::expected_qry(challenge, CHALLENGE_PRODUCT, true)
                else {
                    return Ok(());
                };
                let t = self.next_trid();
                let qry = Qry {
                    product: CHALLENGE_PRODUCT,
                    answer: answer.as_bytes(),
                };
                ns.send(&qry.to_bytes(t, dialect())).await
            }
            ["OUT", "OTH", ..] => {
                let _ = self.out.send(FromMsn::SignedOutElsewhere).await;
                Err("signed in elsewhere (OUT OTH)".into())
            }
            ["OUT", ..] => Err(format!("signed out: {line}")),
            [code, trid, ..] if code.as_bytes().first().is_some_and(u8::is_ascii_digit) => {
                // An error answer: a list change refused, or no switchboard.
                let op = trid
                    .parse::<u32>()
                    .ok()
                    .and_then(|t| self.pending.remove(&t));
                match op {
                    Some(PendingOp::List(p)) => {
                        log::info!(
                            "xmpp bridge {}: list change for {} refused ({code})",
                            self.handle,
                            p.handle
                        );
                        match p.reply {
                            Some(r) => self.emit_raw(&r.err).await,
                            None => Ok(()),
                        }
                    }
                    Some(PendingOp::Edit(e)) => {
                        log::info!(
                            "xmpp bridge {}: roster set of {} refused ({code})",
                            self.handle,
                            e.handle
                        );
                        self.emit_raw(&e.reply.err).await
                    }
                    Some(PendingOp::Switchboard(peer, _)) => {
                        self.sbs.remove(&peer);
                        self.bounce(&peer, "service-unavailable").await
                    }
                    None => Ok(()),
                }
            }
            _ => {
                let _ = ns;
                Ok(())
            }
        }
    }
}

/// How a switchboard task joins its conversation.
enum Join {
    /// `XFR SB` answered: `USR` with the cookie, then `CAL` the peer.
    Call(Box<str>),
    /// `RNG`: `ANS` with cookie and session id.
    Answer(Box<str>, u32),
}

struct SbSide {
    hub: Arc<Hub>,
    client: IpAddr,
    addr: SocketAddr,
    me: Box<str>,
    jid: Box<str>,
    peer: Box<str>,
    out: mailbox::Sender<FromMsn>,
}

/// The MIME head of a chat line (UTF-8, as MSN Messenger sends it).
const TEXT_HEAD: &[u8] = b"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\nX-MMS-IM-Format: FN=Segoe%20UI; EF=; CO=0; CS=1; PF=0\r\n\r\n";

/// Writes the `MSG` of `part` (one chat line, within `MAX_SB_PAYLOAD`) into `wire`, with its
/// MIME message built in `body`: both buffers are the conversation's, reused for every message,
/// so relaying a message allocates nothing once they have grown to the longest one.
fn write_text(part: &str, trid: u32, body: &mut Vec<u8>, wire: &mut Vec<u8>) {
    body.clear();
    body.extend_from_slice(TEXT_HEAD);
    body.extend_from_slice(part.as_bytes());
    wire.clear();
    let msg = Msg {
        ack: Ack::Negative,
        payload: body,
    };
    msg.write(trid, dialect(), wire);
}

/// The typing notification of `me`.
fn typing_message(me: &str) -> Vec<u8> {
    let mut m = b"MIME-Version: 1.0\r\nContent-Type: text/x-msmsgscontrol\r\nTypingUser: ".to_vec();
    m.extend_from_slice(me.as_bytes());
    m.extend_from_slice(b"\r\n\r\n\r\n");
    m
}

impl SbSide {
    async fn run(self, rx: Receiver<SbCmd>, join: Join) -> Res<()> {
        let d = dialect();
        let mut sb = Lines::connect(&self.hub, self.addr, self.client).await?;
        match join {
            Join::Call(cookie) => {
                let usr = SbUsr {
                    handle: &self.me,
                    cookie: &cookie,
                };
                sb.send(&usr.to_bytes(1, d)).await?;
                sb.expect("USR 1 OK").await?;
                sb.send(&Cal { handle: &self.peer }.to_bytes(2, d)).await?;
                if let Err(e) = sb.expect("JOI ").await {
                    let _ = self.bounce().await;
                    return Err(e);
                }
            }
            Join::Answer(cookie, session) => {
                let ans = Ans {
                    handle: &self.me,
                    cookie: &cookie,
                    session,
                };
                sb.send(&ans.to_bytes(1, d)).await?;
                sb.expect("ANS 1 OK").await?;
            }
        }
        enum Woke {
            Line(Res<(String, Vec<u8>)>),
            Cmd(Option<SbCmd>),
        }
        let mut trid = 10u32;
        // The conversation's buffers for outgoing messages (`write_text`): empty until the
        // first message, so an idle conversation holds none.
        let (mut body, mut wire) = (Vec::new(), Vec::new());
        loop {
            let woke = {
                let line = async { Woke::Line(sb.next().await) };
                let cmd = async { Woke::Cmd(rx.recv().await.ok()) };
                line.or(cmd).await
            };
            match woke {
                Woke::Line(Ok((line, payload))) => {
                    let mut args = line.split(' ');
                    match (args.next(), args.next()) {
                        (Some("MSG"), Some(from)) => self.on_msg(from, &payload).await?,
                        (Some("BYE"), _) => return Ok(()),
                        _ => {}
                    }
                }
                Woke::Line(Err(e)) => return Err(e),
                Woke::Cmd(Some(SbCmd::Typing)) => {
                    trid = trid.wrapping_add(1).max(10);
                    let body = typing_message(&self.me);
                    let msg = Msg {
                        ack: Ack::Unacknowledged,
                        payload: &body,
                    };
                    sb.send(&msg.to_bytes(trid, d)).await?;
                }
                Woke::Cmd(Some(SbCmd::Text(text))) => {
                    // A switchboard MSG carries at most `MAX_SB_PAYLOAD` bytes (a longer one
                    // closes the connection): a long XMPP body goes as several messages, cut
                    // between characters.
                    let room = MAX_SB_PAYLOAD - TEXT_HEAD.len();
                    let mut rest: &str = &text;
                    while !rest.is_empty() {
                        let part = prefix_within(rest, room);
                        rest = &rest[part.len()..];
                        trid = trid.wrapping_add(1).max(10);
                        write_text(part, trid, &mut body, &mut wire);
                        sb.send(&wire).await?;
                    }
                }
                Woke::Cmd(None) => {
                    let _ = sb.send(&Out.to_bytes(0, d)).await;
                    return Ok(());
                }
            }
        }
    }

    async fn bounce(&self) -> Res<()> {
        let e = Element::new("message", NS_CLIENT)
            .attr("from", &self.peer)
            .attr("to", &self.jid)
            .attr("type", "error")
            .child(
                Element::new("error", NS_CLIENT)
                    .attr("type", "cancel")
                    .child(Element::new("service-unavailable", super::iq::NS_STANZAS)),
            );
        self.out
            .send(FromMsn::Stanza(e.to_xml().into()))
            .await
            .map_err(|_| "session gone".to_string())
    }

    /// An MSN message from `from`: text becomes a chat message, `TypingUser` a `<composing/>`.
    async fn on_msg(&self, from: &str, payload: &[u8]) -> Res<()> {
        let (head, body) = split_mime(payload);
        let ctype = header(head, "Content-Type").unwrap_or("");
        let mut m = Element::new("message", NS_CLIENT)
            .attr("from", from)
            .attr("to", &self.jid)
            .attr("type", "chat");
        if ctype.starts_with("text/plain") {
            let text = String::from_utf8_lossy(body);
            m = m
                .child(Element::new("body", NS_CLIENT).with_text(&text))
                .child(Element::new("active", NS_CHATSTATES));
        } else if ctype.starts_with("text/x-msmsgscontrol") && header(head, "TypingUser").is_some()
        {
            m = m.child(Element::new("composing", NS_CHATSTATES));
        } else {
            return Ok(());
        }
        self.out
            .send(FromMsn::Stanza(m.to_xml().into()))
            .await
            .map_err(|_| "session gone".to_string())
    }
}

/// The longest prefix of `s` of at most `max` bytes that ends between characters.
fn prefix_within(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// Splits a MIME message into its header block and body.
fn split_mime(p: &[u8]) -> (&str, &[u8]) {
    let at = p.windows(4).position(|w| w == b"\r\n\r\n");
    match at {
        Some(i) => (std::str::from_utf8(&p[..i]).unwrap_or(""), &p[i + 4..]),
        None => (std::str::from_utf8(p).unwrap_or(""), &[]),
    }
}

/// A header's value in a MIME header block.
fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.split("\r\n").find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.trim().eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

/// The personal message in a `UBX` payload (`<Data><PSM>...</PSM>...</Data>`), unescaped.
fn psm_of(payload: &[u8]) -> String {
    let s = String::from_utf8_lossy(payload);
    let Some(start) = s.find("<PSM>") else {
        return String::new();
    };
    let rest = &s[start + 5..];
    let Some(end) = rest.find("</PSM>") else {
        return String::new();
    };
    quick_xml::escape::unescape(&rest[..end])
        .map(|c| c.into_owned())
        .unwrap_or_default()
}

/// XMPP `<show/>` for an MSN status (None: plain available).
pub fn show_of(code: &str) -> Option<&'static str> {
    match code {
        "AWY" | "BRB" | "LUN" | "IDL" => Some("away"),
        "BSY" | "PHN" => Some("dnd"),
        _ => None,
    }
}

/// A digest of what the bridge last told the MSN side; never 0, which stands for "nothing yet".
fn digest(v: &impl std::hash::Hash) -> u64 {
    use std::hash::Hasher;
    let mut h = std::collections::hash_map::DefaultHasher::new();
    v.hash(&mut h);
    h.finish() | 1
}

/// The MSN status for an XMPP `<show/>` (xa is away; anything unknown is online).
pub fn status_of(show: Option<&str>) -> Status {
    match show {
        Some("away") | Some("xa") => Status::Away,
        Some("dnd") => Status::Busy,
        Some("invisible") => Status::Hidden,
        _ => Status::Online,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_mapping_both_ways() {
        for code in ["AWY", "BRB", "LUN", "IDL"] {
            assert_eq!(show_of(code), Some("away"));
        }
        assert_eq!(show_of("BSY"), Some("dnd"));
        assert_eq!(show_of("PHN"), Some("dnd"));
        assert_eq!(show_of("NLN"), None);
        assert_eq!(status_of(Some("xa")), Status::Away);
        assert_eq!(status_of(Some("dnd")), Status::Busy);
        assert_eq!(status_of(None), Status::Online);
    }

    #[test]
    fn chat_lines_reuse_the_conversation_buffers() {
        let (mut body, mut wire) = (Vec::new(), Vec::new());
        write_text("h\u{e9}llo", 12, &mut body, &mut wire);
        let len = TEXT_HEAD.len() + "h\u{e9}llo".len();
        let mut want = format!("MSG 12 N {len}\r\n").into_bytes();
        want.extend_from_slice(TEXT_HEAD);
        want.extend_from_slice("h\u{e9}llo".as_bytes());
        assert_eq!(wire, want);
        // The next message of no greater length is written in place: no allocation.
        let (b, w) = (body.as_ptr(), wire.as_ptr());
        write_text("world", 13, &mut body, &mut wire);
        assert_eq!((body.as_ptr(), wire.as_ptr()), (b, w));
        assert!(wire.starts_with(b"MSG 13 N ") && wire.ends_with(b"world"));
    }

    #[test]
    fn psm_and_mime_reading() {
        assert_eq!(
            psm_of(b"<Data><PSM>caf&amp;\xc3\xa9</PSM><CurrentMedia></CurrentMedia></Data>"),
            "caf&é"
        );
        assert_eq!(psm_of(b"<Data><PSM>"), "");
        let (h, b) = split_mime(b"Content-Type: text/plain\r\n\r\nhi");
        assert_eq!(header(h, "content-type"), Some("text/plain"));
        assert_eq!(b, b"hi");
        assert_eq!(split_mime(b"garbage").1, b"");
        assert_eq!(prefix_within("h\u{e9}llo", 2), "h");
        assert_eq!(prefix_within("h\u{e9}llo", 3), "h\u{e9}");
        assert_eq!(prefix_within("hi", 9), "hi");
    }
}
