//! One XMPP client connection (RFC 6120): the stream header and features, STARTTLS (required
//! before anything else), SASL, resource binding, then the stanza loop; stream management
//! (XEP-0198, acks without resumption) and stream errors.
//!
//! The connection's task owns everything here. Other sessions reach it only through its queue
//! (`router::Delivery`, bounded by `limits::XMPP_SESSION_QUEUE`), which the task drains between
//! reads. Bad input ends this stream with the matching stream error and never touches another.

use super::Xmpp;
use super::bridge::{self, Bridge, FromMsn, ToMsn};
use super::iq::{self, NS_BIND, NS_DISCO_INFO, NS_DISCO_ITEMS, NS_PING, NS_ROSTER, NS_SM};
use super::router::{Binding, Delivery, Routed};
use super::sasl::{self, Failure, NS_SASL, Scram};
use super::xml::{self, Element, Frame, Framer, NS_CLIENT, NS_STREAMS, XmlError};
use crate::auth::ScramHash;
use crate::limits::{
    MAX_FRIENDLY_ENCODED, MAX_GROUP_NAME_ADG, MAX_GROUPS, TLS_HANDSHAKE_TIMEOUT, XMPP_IDLE_TIMEOUT,
    XMPP_MAX_RESOURCE, XMPP_READ_CHUNK, XMPP_SASL_ATTEMPTS, XMPP_SESSION_QUEUE, XMPP_STANZA_BURST,
    XMPP_STANZAS_PER_SECOND,
};
use crate::model::{UserId, list};
use crate::server::mailbox::{self, Receiver as Mailbox};
use crate::tls::TlsStream;
use smol::Async;
use smol::future::FutureExt;
use smol::io::{AsyncReadExt, AsyncWriteExt};
use std::io;
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// `urn:ietf:params:xml:ns:xmpp-tls`.
const NS_TLS: &str = "urn:ietf:params:xml:ns:xmpp-tls";
/// Stream error conditions.
const NS_STREAM_ERRORS: &str = "urn:ietf:params:xml:ns:xmpp-streams";

/// Why a session ends.
#[derive(Debug)]
enum End {
    /// The client closed the stream or the connection.
    Closed,
    /// A stream error (RFC 6120 4.9.3) with a text for the log and the client.
    Error(&'static str, String),
    /// The socket failed or stalled.
    Io(io::Error),
}

impl From<io::Error> for End {
    fn from(e: io::Error) -> End {
        End::Io(e)
    }
}

impl From<XmlError> for End {
    fn from(e: XmlError) -> End {
        End::Error(e.condition(), format!("{e:?}"))
    }
}

impl From<crate::storage::StorageGone> for End {
    fn from(_: crate::storage::StorageGone) -> End {
        End::Error("internal-server-error", "storage stopped".into())
    }
}

fn stream_error(cond: &'static str, text: &str) -> End {
    End::Error(cond, text.into())
}

/// A storage failure ends the stream with a fixed text: the database's error (table names,
/// paths) is logged here, never sent to the client, who may not have signed in yet.
fn storage_error(e: impl std::fmt::Display) -> End {
    log::error!("xmpp: storage: {e}");
    stream_error("internal-server-error", "storage failure")
}

/// The socket before and after STARTTLS.
enum Io {
    Plain(Async<TcpStream>),
    Tls(Box<TlsStream>),
    Gone,
}

impl Io {
    async fn readable(&self) -> io::Result<()> {
        match self {
            Io::Plain(s) => s.readable().await,
            Io::Tls(s) => s.readable().await,
            Io::Gone => Ok(()),
        }
    }

    async fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Io::Plain(s) => s.read(buf).await,
            Io::Tls(s) => s.read(buf).await,
            Io::Gone => Ok(0),
        }
    }

    async fn write_all(&mut self, b: &[u8]) -> io::Result<()> {
        match self {
            Io::Plain(s) => s.write_all(b).await,
            Io::Tls(s) => s.write_all(b).await,
            Io::Gone => Err(io::ErrorKind::NotConnected.into()),
        }
    }
}

/// Where the stream is in RFC 6120's order of negotiation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// Plain TCP: only STARTTLS is offered.
    Plain,
    /// TLS, not authenticated: SASL.
    Tls,
    /// Authenticated: resource binding.
    Authed,
    /// A resource is bound: stanzas flow.
    Bound,
}

/// A SCRAM exchange waiting for the client's final message.
struct PendingScram {
    scram: Scram,
    handle: String,
    /// `None` for an unknown account or one without keys: the exchange fails at the end.
    id: Option<UserId>,
}

/// Stanza rate limit: a token bucket.
struct Bucket {
    tokens: u32,
    last: Instant,
}

impl Bucket {
    fn take(&mut self) -> bool {
        let now = Instant::now();
        let refill = (now.duration_since(self.last).as_millis() as u64
            * XMPP_STANZAS_PER_SECOND as u64
            / 1000) as u32;
        if refill > 0 {
            self.tokens = (self.tokens + refill).min(XMPP_STANZA_BURST);
            self.last = now;
        }
        if self.tokens == 0 {
            return false;
        }
        self.tokens -= 1;
        true
    }
}

impl Drop for Session {
    /// However the session ends (a closed stream, an error, a panic caught by `isolated`), its
    /// resource leaves the router, which tells the watchers if it was available.
    fn drop(&mut self) {
        if self.phase == Phase::Bound {
            self.role
                .router
                .unbind(&self.handle, &self.resource, self.session_id);
        }
    }
}

struct Session {
    role: Arc<Xmpp>,
    peer: SocketAddr,
    io: Io,
    inbuf: Vec<u8>,
    framer: Framer,
    phase: Phase,
    /// Our stream header went out for the current stream.
    header_sent: bool,
    /// The domain the client addressed (`to` of its first header).
    domain: String,
    /// Set by SASL.
    handle: String,
    user_id: UserId,
    /// Set by bind.
    resource: String,
    full_jid: String,
    session_id: u64,
    queue: Option<Mailbox<Delivery>>,
    /// The MSN side (`bridge.rs`), from the first available presence until unavailable.
    bridge: Option<Bridge>,
    /// What the MSN side sends this session (outlives `bridge` until the bridge task ends).
    from_msn: Option<Mailbox<FromMsn>>,
    /// Sent an available presence (and so probed its contacts).
    available: bool,
    /// XEP-0198: stanzas handled since `<enable/>`, when enabled.
    sm_handled: Option<u32>,
    /// Boxed: held for one round trip of the login, not by the idle session.
    pending_scram: Option<Box<PendingScram>>,
    /// The SASL mechanism of the last attempt, for the log.
    mechanism: &'static str,
    sasl_failures: u32,
    bucket: Bucket,
    last_read: Instant,
    started: Instant,
}

/// Serves one XMPP client connection until it ends; with `direct_tls` (XEP-0368) the TLS
/// handshake comes first and the stream starts in the TLS phase.
pub async fn serve(role: Arc<Xmpp>, stream: Async<TcpStream>, peer: SocketAddr, direct_tls: bool) {
    // Counted with the other connections, so that shutdown waits (briefly) for this stream to
    // say `<system-shutdown/>`; the outbox is only the table's handle, XMPP writes its own socket.
    // One outbox serves as that handle for every XMPP session: nothing is ever queued in it,
    // and an outbox each cost about 200 B per idle session (docs/xmpp.md "Memory").
    static HANDLE: std::sync::OnceLock<Arc<crate::server::outbox::Outbox>> =
        std::sync::OnceLock::new();
    let tracked = role.hub.track(
        HANDLE
            .get_or_init(|| Arc::new(crate::server::outbox::Outbox::new()))
            .clone(),
        false,
    );
    let session_id = tracked.id;
    let mut s = Session {
        role,
        peer,
        io: Io::Plain(stream),
        inbuf: Vec::new(),
        framer: Framer::new(),
        phase: Phase::Plain,
        header_sent: false,
        domain: String::new(),
        handle: String::new(),
        user_id: 0,
        resource: String::new(),
        full_jid: String::new(),
        session_id,
        queue: None,
        bridge: None,
        from_msn: None,
        available: false,
        sm_handled: None,
        pending_scram: None,
        mechanism: "",
        sasl_failures: 0,
        bucket: Bucket {
            tokens: XMPP_STANZA_BURST,
            last: Instant::now(),
        },
        last_read: Instant::now(),
        started: Instant::now(),
    };
    log::debug!("xmpp {peer}: connected");
    let end = match if direct_tls {
        Box::pin(s.start_tls()).await
    } else {
        Ok(())
    } {
        Ok(()) => s.run().await.err().unwrap_or(End::Closed),
        Err(e) => e,
    };
    // Every client can end its stream at will: the lines are rate-limited per peer.
    match &end {
        End::Closed if crate::server::loglimit::allow("xmpp closed", peer) => {
            log::info!("xmpp {peer}: {} closed the stream", s.who())
        }
        End::Io(e) if crate::server::loglimit::allow("xmpp lost", peer) => {
            log::info!("xmpp {peer}: {} connection lost: {e}", s.who())
        }
        End::Error(cond, text) if crate::server::loglimit::allow("xmpp stream error", peer) => {
            log::warn!("xmpp {peer}: {} stream error {cond}: {text}", s.who())
        }
        _ => {}
    }
    Box::pin(s.close(end)).await;
    drop(s);
    drop(tracked);
}

impl Session {
    fn who(&self) -> &str {
        if !self.full_jid.is_empty() {
            &self.full_jid
        } else if !self.handle.is_empty() {
            &self.handle
        } else {
            "client"
        }
    }

    /// Ends the stream the way `end` says and leaves the router.
    async fn close(&mut self, end: End) {
        let mut out = String::new();
        match end {
            End::Io(_) => {}
            End::Closed => out.push_str("</stream:stream>"),
            End::Error(cond, text) => {
                if !self.header_sent {
                    out.push_str(&self.header_xml());
                }
                out.push_str("<stream:error><");
                out.push_str(cond);
                out.push_str(" xmlns='");
                out.push_str(NS_STREAM_ERRORS);
                out.push_str("'/><text xmlns='");
                out.push_str(NS_STREAM_ERRORS);
                out.push_str("'>");
                xml::escape_into(&mut out, &text);
                out.push_str("</text></stream:error></stream:stream>");
            }
        }
        if !out.is_empty() {
            let _ = self.send(&out).await;
        }
        if let Io::Tls(t) = &mut self.io {
            let _ = t
                .close()
                .or(async {
                    smol::Timer::after(Duration::from_secs(1)).await;
                    Ok(())
                })
                .await;
        }
        self.io = Io::Gone;
    }

    /// Writes `data`, giving up when the client leaves it unread for the stall timeout.
    async fn send(&mut self, data: &str) -> Result<(), End> {
        let stall = self.role.hub.live.write_stall();
        let io = &mut self.io;
        io.write_all(data.as_bytes())
            .or(async {
                smol::Timer::after(stall).await;
                Err(io::Error::new(io::ErrorKind::TimedOut, "write stalled"))
            })
            .await?;
        Ok(())
    }

    async fn send_el(&mut self, el: &Element) -> Result<(), End> {
        let x = el.to_xml();
        self.send(&x).await
    }

    fn header_xml(&self) -> String {
        let mut h = String::from(
            "<?xml version='1.0'?><stream:stream xmlns='jabber:client' \
             xmlns:stream='http://etherx.jabber.org/streams' version='1.0' xml:lang='en' id='",
        );
        h.push_str(&crate::auth::token(16));
        h.push('\'');
        if !self.domain.is_empty() {
            h.push_str(" from='");
            xml::escape_into(&mut h, &self.domain);
            h.push('\'');
        }
        h.push('>');
        h
    }

    /// The deadline of the current wait: the login timeout until bound, then the idle timeout.
    fn deadline(&self) -> Instant {
        if self.phase == Phase::Bound {
            self.last_read + XMPP_IDLE_TIMEOUT
        } else {
            self.started + self.role.hub.live.login()
        }
    }

    async fn run(&mut self) -> Result<(), End> {
        loop {
            // Every complete frame in the buffer first.
            loop {
                let frame = self.framer.next(&self.inbuf)?;
                let used = match frame {
                    Frame::Incomplete => break,
                    Frame::Whitespace(n) => n,
                    Frame::Close(_) => return Err(End::Closed),
                    Frame::Header(n) => {
                        let header = xml::parse_header(&self.inbuf[..n])?;
                        self.consume(n);
                        // Boxed, like every handler below: the task of an idle session then
                        // holds only the wait's state (docs/xmpp.md "Memory").
                        Box::pin(self.on_header(header)).await?;
                        continue;
                    }
                    Frame::Stanza(start, end) => {
                        let el = xml::parse_stanza(&self.inbuf[start..end], NS_CLIENT)?;
                        self.consume(end);
                        if !self.bucket.take() {
                            return Err(stream_error(
                                "policy-violation",
                                "too many stanzas per second",
                            ));
                        }
                        Box::pin(self.on_element(el)).await?;
                        continue;
                    }
                };
                self.consume(used);
            }
            self.wait().await?;
        }
    }

    fn consume(&mut self, n: usize) {
        self.inbuf.drain(..n);
        self.framer.consume(n);
        if self.inbuf.is_empty() {
            // An idle session keeps no buffer (docs/xmpp.md, memory).
            self.inbuf = Vec::new();
        }
    }

    /// Waits for client bytes, a delivery from another session, the deadline or shutdown.
    /// While waiting, the session holds no read buffer (nor does OpenSSL: see
    /// `TlsStream::readable`); one is taken only when bytes are there to read.
    async fn wait(&mut self) -> Result<(), End> {
        // What other sessions queued goes out first, so a client that keeps its socket busy
        // still gets its messages (the readable branch below would otherwise always win).
        self.drain_queue().await?;
        enum Woke {
            Readable(io::Result<()>),
            Deliver(Option<Delivery>),
            Msn(Option<FromMsn>),
            Deadline,
            Shutdown,
        }
        let deadline = self.deadline();
        let hub = self.role.hub.clone();
        let woke = {
            let io = &self.io;
            let queue = &self.queue;
            let from_msn = &self.from_msn;
            let readable = async { Woke::Readable(io.readable().await) };
            let deliver = async {
                match queue {
                    Some(q) => Woke::Deliver(q.recv().await),
                    None => std::future::pending().await,
                }
            };
            let msn = async {
                match from_msn {
                    Some(q) => Woke::Msn(q.recv().await),
                    None => std::future::pending().await,
                }
            };
            let timer = async {
                smol::Timer::at(deadline).await;
                Woke::Deadline
            };
            let shutdown = async {
                hub.shutdown_signal().await;
                Woke::Shutdown
            };
            readable.or(deliver).or(msn).or(timer).or(shutdown).await
        };
        match woke {
            Woke::Readable(Ok(())) => self.read().await,
            Woke::Readable(Err(e)) => Err(End::Io(e)),
            Woke::Deliver(Some(d)) => {
                self.send(&d).await?;
                self.drain_queue().await
            }
            Woke::Deliver(None) => Err(stream_error("internal-server-error", "router gone")),
            Woke::Msn(Some(FromMsn::Stanza(d))) => self.send(&d).await,
            Woke::Msn(Some(FromMsn::SignedOutElsewhere)) => {
                if self
                    .role
                    .router
                    .holds_msn(&self.handle, self.session_id)
                    .await
                {
                    return Err(stream_error(
                        "conflict",
                        "the account signed in on MSN elsewhere",
                    ));
                }
                // Another XMPP resource of this account took the MSN side over: this one stays
                // bound (XMPP contacts, carbons) without it.
                log::info!(
                    "xmpp {}: MSN side handed to another resource",
                    self.full_jid
                );
                self.bridge = None;
                Ok(())
            }
            Woke::Msn(None) => {
                self.from_msn = None;
                Ok(())
            }
            Woke::Deadline if self.phase == Phase::Bound => {
                Err(stream_error("connection-timeout", "idle too long"))
            }
            Woke::Deadline => Err(stream_error("connection-timeout", "no login in time")),
            Woke::Shutdown => Err(stream_error("system-shutdown", "the server is stopping")),
        }
    }

    /// Sends what is queued for this session, without waiting for more.
    async fn drain_queue(&mut self) -> Result<(), End> {
        while let Some(d) = self.queue.as_ref().and_then(|q| q.try_recv()) {
            self.send(&d).await?;
        }
        Ok(())
    }

    /// Reads what the client sent (the socket was readable). A TLS record that is only partly
    /// there is waited for here, up to the idle deadline.
    async fn read(&mut self) -> Result<(), End> {
        let len = self.inbuf.len();
        self.inbuf.resize(len + XMPP_READ_CHUNK, 0);
        let deadline = self.deadline();
        let io = &mut self.io;
        let buf = &mut self.inbuf[len..];
        let r = io
            .read(buf)
            .or(async {
                smol::Timer::at(deadline).await;
                Err(io::Error::new(io::ErrorKind::TimedOut, "partial record"))
            })
            .await;
        let n = *r.as_ref().unwrap_or(&0);
        self.inbuf.truncate(len + n);
        match r {
            Ok(0) => Err(End::Closed),
            Ok(_) => {
                self.last_read = Instant::now();
                Ok(())
            }
            Err(e) => Err(End::Io(e)),
        }
    }

    async fn on_header(&mut self, h: xml::Header) -> Result<(), End> {
        // Our header goes first whatever is wrong, so the error can follow it (RFC 6120 4.9.1.3).
        let to = h.element.get("to").unwrap_or("").to_ascii_lowercase();
        let first = self.domain.is_empty();
        if first && !to.is_empty() {
            let d = to.clone();
            let served = self
                .role
                .hub
                .storage
                .run(move |db| db.serves_domain(&d))
                .await?
                .unwrap_or(false);
            if served {
                self.domain = to.clone();
            }
        }
        let header = self.header_xml();
        self.send(&header).await?;
        self.header_sent = true;
        if h.element.name != "stream" || h.element.ns != NS_STREAMS {
            return Err(stream_error("invalid-namespace", "not a stream header"));
        }
        if h.default_ns != NS_CLIENT {
            return Err(stream_error("invalid-namespace", "not jabber:client"));
        }
        if self.domain.is_empty() || to != self.domain {
            return Err(stream_error("host-unknown", "no account uses this domain"));
        }
        match h.element.get("version") {
            Some(v) if v.split('.').next() == Some("1") => {}
            _ => return Err(stream_error("unsupported-version", "version 1.0 only")),
        }
        let mut f = String::from("<stream:features>");
        match self.phase {
            Phase::Plain => f.push_str(
                "<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/></starttls>",
            ),
            Phase::Tls => {
                f.push_str("<mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>");
                for m in sasl::MECHANISMS {
                    f.push_str("<mechanism>");
                    f.push_str(m);
                    f.push_str("</mechanism>");
                }
                f.push_str("</mechanisms>");
            }
            Phase::Authed => f.push_str(
                "<bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/>\
                 <session xmlns='urn:ietf:params:xml:ns:xmpp-session'><optional/></session>\
                 <sm xmlns='urn:xmpp:sm:3'/>",
            ),
            Phase::Bound => return Err(stream_error("policy-violation", "stream already bound")),
        }
        f.push_str("</stream:features>");
        self.send(&f).await
    }

    async fn on_element(&mut self, el: Element) -> Result<(), End> {
        if !self.header_sent {
            return Err(stream_error("not-well-formed", "no stream header"));
        }
        match self.phase {
            Phase::Plain => self.on_plain(el).await,
            Phase::Tls => self.on_unauthenticated(el).await,
            Phase::Authed => self.on_authed(el).await,
            Phase::Bound => self.on_bound(el).await,
        }
    }

    async fn on_plain(&mut self, el: Element) -> Result<(), End> {
        if el.name == "starttls" && el.ns == NS_TLS {
            self.send("<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")
                .await?;
            // Nothing sent before the handshake may be acted on afterwards (RFC 6120 5.4.3.3).
            self.inbuf.clear();
            self.framer.restart();
            return self.start_tls().await;
        }
        if el.ns == NS_SASL {
            return Err(stream_error(
                "policy-violation",
                "STARTTLS is required before authentication",
            ));
        }
        Err(stream_error("not-authorized", "STARTTLS is required"))
    }

    /// The server side of the TLS handshake; then a new stream in the TLS phase.
    async fn start_tls(&mut self) -> Result<(), End> {
        let Io::Plain(tcp) = std::mem::replace(&mut self.io, Io::Gone) else {
            return Err(stream_error("internal-server-error", "no socket"));
        };
        let tls = self
            .role
            .tls
            .accept(tcp)
            .or(async {
                smol::Timer::after(TLS_HANDSHAKE_TIMEOUT).await;
                Err(io::Error::new(io::ErrorKind::TimedOut, "TLS handshake"))
            })
            .await?;
        log::debug!("xmpp {}: TLS {}", self.peer, tls.describe());
        self.io = Io::Tls(Box::new(tls));
        self.phase = Phase::Tls;
        self.header_sent = false;
        Ok(())
    }

    async fn on_unauthenticated(&mut self, el: Element) -> Result<(), End> {
        if el.ns != NS_SASL {
            return Err(stream_error("not-authorized", "authenticate first"));
        }
        let outcome = match el.name.as_str() {
            "auth" => {
                self.pending_scram = None;
                match sasl::decode(&el.text) {
                    Ok(data) => self.auth(el.get("mechanism").unwrap_or(""), data).await?,
                    Err(f) => Err(f),
                }
            }
            "response" => match (self.pending_scram.take(), sasl::decode(&el.text)) {
                (Some(p), Ok(data)) => self.scram_final(*p, &data).await,
                (Some(p), Err(f)) => {
                    self.scram_failed(&p.handle).await;
                    Err(f)
                }
                (None, _) => Err(Failure::MalformedRequest),
            },
            "abort" => {
                self.pending_scram = None;
                Err(Failure::Aborted)
            }
            _ => {
                return Err(stream_error(
                    "unsupported-stanza-type",
                    "not a SASL element",
                ));
            }
        };
        match outcome {
            Ok(None) => Ok(()),
            Ok(Some(success)) => {
                let mut s = String::from("<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>");
                if !success.is_empty() {
                    s.push_str(&sasl::encode(success.as_bytes()));
                }
                s.push_str("</success>");
                self.send(&s).await?;
                log::info!(
                    "xmpp {}: {} authenticated ({})",
                    self.peer,
                    self.handle,
                    self.mechanism
                );
                self.phase = Phase::Authed;
                self.framer.restart();
                self.header_sent = false;
                Ok(())
            }
            Err(f) => {
                let s = format!(
                    "<failure xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><{}/></failure>",
                    f.condition()
                );
                self.send(&s).await?;
                if f != Failure::Aborted {
                    if crate::server::loglimit::allow("xmpp SASL failed", self.peer) {
                        log::info!("xmpp {}: SASL failed: {}", self.peer, f.condition());
                    }
                    self.sasl_failures += 1;
                    if self.sasl_failures >= XMPP_SASL_ATTEMPTS {
                        return Err(stream_error("not-authorized", "too many failed attempts"));
                    }
                }
                Ok(())
            }
        }
    }

    /// `<auth/>`: PLAIN completes here; SCRAM sends its challenge (`Ok(None)`). `Ok(Some(x))`:
    /// success with additional data `x` (empty for PLAIN).
    async fn auth(
        &mut self,
        mechanism: &str,
        data: Vec<u8>,
    ) -> Result<Result<Option<String>, Failure>, End> {
        self.mechanism = sasl::MECHANISMS
            .into_iter()
            .find(|m| *m == mechanism)
            .unwrap_or("?");
        if mechanism == "PLAIN" {
            return Ok(self.plain(&data).await?.map(|()| Some(String::new())));
        }
        let Some(hash) = ScramHash::from_mechanism(mechanism) else {
            return Ok(Err(Failure::InvalidMechanism));
        };
        let (gs2, bare, user, authzid, cnonce) = match sasl::parse_client_first(&data) {
            Ok(x) => x,
            Err(f) => return Ok(Err(f)),
        };
        let Some(handle) = sasl::account_of(&user, &self.domain) else {
            return Ok(Err(Failure::NotAuthorized));
        };
        if authzid.is_some_and(|z| sasl::account_of(&z, &self.domain).as_ref() != Some(&handle)) {
            return Ok(Err(Failure::InvalidAuthzid));
        }
        let hub = &self.role.hub;
        if !hub
            .logins
            .allowed(
                self.peer.ip(),
                &handle,
                hub.config.auth_failures,
                hub.live.auth_backoff(),
            )
            .await
        {
            return Ok(Err(Failure::TemporaryAuthFailure));
        }
        let h = handle.clone();
        let row = hub
            .storage
            .run(move |db| db.scram_key(&h, hash))
            .await?
            .map_err(storage_error)?;
        let secret = hub.challenge_key.get().cloned().unwrap_or_default();
        let (id, key) = match row {
            Some((id, Some(key))) => (Some(id), key),
            Some((_, None)) => {
                if crate::server::loglimit::allow("xmpp no SCRAM keys", self.peer) {
                    log::info!(
                        "xmpp {}: {handle} has no {} keys yet (they are made at its next PLAIN \
                         login or password change)",
                        self.peer,
                        hash.mechanism()
                    );
                }
                (None, sasl::decoy_key(&secret, &handle, hash))
            }
            None => (None, sasl::decoy_key(&secret, &handle, hash)),
        };
        let (scram, first) = Scram::start(gs2, bare, &cnonce, key);
        self.pending_scram = Some(Box::new(PendingScram { scram, handle, id }));
        let c = format!(
            "<challenge xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>{}</challenge>",
            sasl::encode(first.as_bytes())
        );
        self.send(&c).await?;
        Ok(Ok(None))
    }

    async fn scram_failed(&self, handle: &str) {
        let hub = &self.role.hub;
        hub.logins
            .failed(self.peer.ip(), handle, hub.live.auth_backoff())
            .await;
    }

    async fn scram_final(
        &mut self,
        p: PendingScram,
        data: &[u8],
    ) -> Result<Option<String>, Failure> {
        match (p.scram.finish(data), p.id) {
            (Ok(server_final), Some(id)) => {
                self.role
                    .hub
                    .logins
                    .succeeded(self.peer.ip(), &p.handle)
                    .await;
                self.handle = p.handle;
                self.user_id = id;
                Ok(Some(server_final))
            }
            (r, _) => {
                self.scram_failed(&p.handle).await;
                Err(r.err().unwrap_or(Failure::NotAuthorized))
            }
        }
    }

    /// PLAIN: the Argon2 check of the MSN side, throttled the same way; derives the SCRAM keys of
    /// an account that has none yet.
    async fn plain(&mut self, data: &[u8]) -> Result<Result<(), Failure>, End> {
        let (authzid, authcid, password) = match sasl::parse_plain(data) {
            Ok(x) => x,
            Err(f) => return Ok(Err(f)),
        };
        let Some(handle) = sasl::account_of(&authcid, &self.domain) else {
            return Ok(Err(Failure::NotAuthorized));
        };
        if !authzid.is_empty() && sasl::account_of(&authzid, &self.domain) != Some(handle.clone()) {
            return Ok(Err(Failure::InvalidAuthzid));
        }
        let role = self.role.clone();
        let hub = &role.hub;
        let ip = self.peer.ip();
        let attempt = match hub
            .logins
            .begin(
                ip,
                &handle,
                hub.config.auth_failures,
                hub.live.auth_backoff(),
            )
            .await
        {
            Ok(attempt) => attempt,
            // Blocked by failures, or the server cannot check now: XMPP has the exact answer
            // for both ("try later"), which a client never shows as a wrong password.
            Err(why) => {
                if crate::server::loglimit::allow("xmpp login refused", self.peer) {
                    log::warn!("xmpp {ip}: login for {handle} refused: {why:?}");
                }
                return Ok(Err(Failure::TemporaryAuthFailure));
            }
        };
        let h = handle.clone();
        let found = hub
            .storage
            .run(move |db| -> Result<_, crate::storage::DbError> {
                Ok(match db.credentials(&h)? {
                    Some(c) => {
                        let has_keys = db.has_scram_keys(c.id)?;
                        Some((c, has_keys))
                    }
                    None => None,
                })
            })
            .await?
            .map_err(storage_error)?;
        let _slot = hub.hash_slots.acquire().await;
        let id = found.as_ref().map(|(c, _)| c.id);
        let version = found.as_ref().map_or(0, |(c, _)| c.version);
        let (ok, keys) = smol::unblock(move || match found {
            Some((c, has_keys)) => {
                let ok = crate::auth::verify_password(&password, &c.phc);
                let keys = (ok && !has_keys).then(|| crate::auth::scram_keys(&password));
                (ok, keys)
            }
            None => {
                // The same time for unknown accounts, so timing does not tell which exist.
                crate::auth::verify_password(&password, crate::auth::dummy_phc());
                (false, None)
            }
        })
        .await;
        let (true, Some(id)) = (ok, id) else {
            attempt.failed();
            return Ok(Err(Failure::NotAuthorized));
        };
        attempt.succeeded();
        if let Some(keys) = keys {
            match hub
                .storage
                .run(move |db| db.set_scram_keys(id, version, &keys))
                .await?
            {
                Ok(true) => log::info!("xmpp: derived the SCRAM keys of {handle}"),
                Ok(false) => log::info!("xmpp: {handle}'s password changed during the check"),
                Err(e) => log::error!("xmpp: storing the SCRAM keys of {handle}: {e}"),
            }
        }
        self.handle = handle;
        self.user_id = id;
        Ok(Ok(()))
    }

    async fn on_authed(&mut self, el: Element) -> Result<(), End> {
        let is_bind = el.name == "iq"
            && el.ns == NS_CLIENT
            && el.get("type") == Some("set")
            && el.find("bind", NS_BIND).is_some();
        if !is_bind {
            if el.name == "enable" && el.ns == NS_SM {
                // XEP-0198 3: only after binding.
                return self
                    .send("<failed xmlns='urn:xmpp:sm:3'><unexpected-request xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></failed>")
                    .await;
            }
            if el.name == "iq" && el.ns == NS_CLIENT {
                let e = iq::error(&el, "", "", "auth", "not-authorized");
                return self.send_el(&e).await;
            }
            return Err(stream_error("not-authorized", "bind a resource first"));
        }
        let asked = el
            .find("bind", NS_BIND)
            .and_then(|b| b.find("resource", NS_BIND))
            .map(|r| r.text.trim().to_string())
            .unwrap_or_default();
        if asked.len() > XMPP_MAX_RESOURCE || asked.chars().any(|c| c.is_control() || c == '/') {
            let e = iq::error(&el, "", "", "modify", "bad-request");
            return self.send_el(&e).await;
        }
        // Who may see my presence, whose presence I want, whom I block: from my lists.
        let id = self.user_id;
        let (_, account) = self
            .role
            .hub
            .storage
            .run(move |db| db.load_account(id))
            .await?
            .map_err(storage_error)?;
        let mut watchers = Vec::new();
        let mut blocked = Vec::new();
        let mut allowed = Vec::new();
        for c in account.contacts.values() {
            if c.lists & list::RL != 0 && account.allows_lists(c.lists) {
                watchers.push(c.handle.as_str().into());
            }
            if c.lists & list::BL != 0 {
                blocked.push(c.handle.as_str().into());
            }
            if c.lists & list::AL != 0 {
                allowed.push(c.handle.as_str().into());
            }
        }
        let (tx, rx) = mailbox::lazy(XMPP_SESSION_QUEUE);
        let binding = Binding {
            bare: self.handle.as_str().into(),
            resource: asked,
            session: self.session_id,
            queue: tx,
            watchers,
            blocked,
            allowed,
            allows_strangers: account.blp == crate::model::Blp::Allow,
        };
        let Some(resource) = self.role.router.bind(binding).await else {
            let e = iq::error(&el, "", "", "wait", "resource-constraint");
            return self.send_el(&e).await;
        };
        self.resource = resource;
        self.full_jid = format!("{}/{}", self.handle, self.resource);
        self.queue = Some(rx);
        self.phase = Phase::Bound;
        log::info!("xmpp {}: bound {}", self.peer, self.full_jid);
        let reply = iq::result(&el, "", "").child(
            Element::new("bind", NS_BIND)
                .child(Element::new("jid", NS_BIND).with_text(&self.full_jid)),
        );
        self.send_el(&reply).await
    }

    async fn on_bound(&mut self, mut el: Element) -> Result<(), End> {
        if el.ns == NS_SM {
            return self.on_sm(&el).await;
        }
        if el.ns != NS_CLIENT {
            return Err(stream_error("unsupported-stanza-type", "unknown namespace"));
        }
        if !matches!(el.name.as_str(), "message" | "presence" | "iq") {
            return Err(stream_error("unsupported-stanza-type", "not a stanza"));
        }
        if let Some(h) = &mut self.sm_handled {
            *h = h.wrapping_add(1);
        }
        // The server stamps the sender (RFC 6120 8.1.2.1).
        if let Some(from) = el.get("from")
            && from != self.full_jid
            && from != self.handle
        {
            return Err(stream_error("invalid-from", "not your JID"));
        }
        el.set_attr("from", &self.full_jid);
        match el.name.as_str() {
            "message" => self.on_message(el).await,
            "presence" => self.on_presence(el).await,
            _ => self.on_iq(el).await,
        }
    }

    async fn on_sm(&mut self, el: &Element) -> Result<(), End> {
        match el.name.as_str() {
            "enable" => {
                self.sm_handled = Some(0);
                // Acks only: resumption would keep a session's state after its socket is gone.
                self.send("<enabled xmlns='urn:xmpp:sm:3'/>").await
            }
            "r" => match self.sm_handled {
                Some(h) => {
                    let a = format!("<a xmlns='urn:xmpp:sm:3' h='{h}'/>");
                    self.send(&a).await
                }
                None => Err(stream_error("unsupported-stanza-type", "stream management is off")),
            },
            "a" => Ok(()),
            "resume" => {
                self.send(
                    "<failed xmlns='urn:xmpp:sm:3'><item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></failed>",
                )
                .await
            }
            _ => Err(stream_error("unsupported-stanza-type", "unknown XEP-0198 element")),
        }
    }

    /// The recipient's bare JID (lower case) and resource; `None` for the server itself.
    fn target(&self, el: &Element) -> Option<(String, Option<String>)> {
        let to = el.get("to")?;
        let (bare, resource) = match to.split_once('/') {
            Some((b, r)) => (b, Some(r.to_string())),
            None => (to, None),
        };
        if !bare.contains('@') {
            return None;
        }
        Some((bare.to_ascii_lowercase(), resource))
    }

    async fn bounce(&mut self, el: &Element, routed: Routed) -> Result<(), End> {
        if el.get("type") == Some("error") || routed == Routed::Delivered {
            return Ok(());
        }
        let cond = match routed {
            Routed::Full => "resource-constraint",
            _ => "service-unavailable",
        };
        let kind = if routed == Routed::Full {
            "wait"
        } else {
            "cancel"
        };
        let mut e = iq::error(el, el.get("to").unwrap_or(""), &self.full_jid, kind, cond);
        // A bounced message carries its content back (RFC 6120 8.3.1) for the client to show.
        if el.name == "message" {
            e.children.splice(0..0, el.children.iter().cloned());
        }
        self.send_el(&e).await
    }

    async fn on_message(&mut self, mut el: Element) -> Result<(), End> {
        let Some((bare, resource)) = self.target(&el) else {
            // Messages to the server itself: nothing handles them.
            return self.bounce(&el, Routed::Unavailable).await;
        };
        // Next phase (docs/xmpp.md): a recipient online on MSN gets it through a switchboard.
        let private = el.find("private", iq::NS_CARBONS).is_some();
        if private {
            // XEP-0280 6: not copied, and the marker is not passed on.
            el.children
                .retain(|c| !(c.name == "private" && c.ns == iq::NS_CARBONS));
        }
        let carbons =
            (el.get("type") == Some("chat") && !private).then_some(self.resource.as_str());
        let d: Delivery = el.to_xml().into();
        let mut routed = self
            .role
            .router
            .route(&self.handle, &bare, resource.as_deref(), d, carbons)
            .await;
        // Not an XMPP user online: an MSN user, through the bridge's switchboard.
        if routed == Routed::Unavailable
            && let Some(b) = &self.bridge
            && matches!(el.get("type"), None | Some("chat") | Some("normal"))
        {
            let body = el.find("body", NS_CLIENT).map(|b| b.text.as_str().into());
            let typing = el.find("composing", bridge::NS_CHATSTATES).is_some();
            if body.is_none() && !typing {
                return Ok(());
            }
            let chat = ToMsn::Chat {
                to: bare.as_str().into(),
                body,
                typing,
            };
            routed = if b.try_send(chat) {
                Routed::Delivered
            } else {
                Routed::Full
            };
        }
        self.bounce(&el, routed).await
    }

    /// Starts the MSN side at the first available presence, or tells it the new show/status.
    async fn msn_presence(&mut self, el: &Element) {
        let status = bridge::status_of(el.find("show", NS_CLIENT).map(|s| s.text.trim()));
        let psm = el.find("status", NS_CLIENT).map(|s| s.text.as_str().into());
        let nick = el
            .find("nick", bridge::NS_NICK)
            .map(|n| n.text.as_str().into());
        if self.bridge.as_ref().is_some_and(Bridge::is_gone) {
            // Its sign-in failed or its connection was lost: the next presence tries again.
            self.bridge = None;
        }
        if let Some(b) = &self.bridge {
            if !b.try_send(ToMsn::Presence { status, psm, nick }) {
                log::debug!("xmpp {}: MSN bridge busy, presence dropped", self.full_jid);
            }
            return;
        }
        let Some(addrs) = self.role.msn else { return };
        self.role
            .router
            .claim_msn(&self.handle, self.session_id)
            .await;
        let (tx, rx) = mailbox::lazy(XMPP_SESSION_QUEUE);
        self.bridge = Some(bridge::start(
            &self.role.ex,
            self.role.hub.clone(),
            addrs,
            self.peer.ip(),
            self.role.router.clone(),
            &self.handle,
            &self.full_jid,
            status,
            psm,
            nick,
            tx,
        ));
        self.from_msn = Some(rx);
    }

    /// A subscription request or answer to `bare` (RFC 6121 3), as a list change on MSN.
    fn msn_subscription(&mut self, kind: &str, bare: &str) {
        let Some(b) = &self.bridge else { return };
        let handle: Box<str> = bare.into();
        let m = match kind {
            "subscribe" => ToMsn::Add {
                handle,
                list: list::FL,
                reply: None,
            },
            "subscribed" => ToMsn::Add {
                handle,
                list: list::AL,
                reply: None,
            },
            "unsubscribe" => ToMsn::Remove {
                handle,
                list: list::FL,
                reply: None,
            },
            "unsubscribed" => ToMsn::Remove {
                handle,
                list: list::AL,
                reply: None,
            },
            _ => return,
        };
        if !b.try_send(m) {
            log::debug!("xmpp {}: MSN bridge busy, {kind} dropped", self.full_jid);
        }
    }

    async fn on_presence(&mut self, mut el: Element) -> Result<(), End> {
        let kind = el.get("type").unwrap_or("available").to_string();
        if let Some((bare, resource)) = self.target(&el) {
            match kind.as_str() {
                "available" | "unavailable" => {
                    // Directed presence goes straight there; failures are silent (RFC 6121 4.6).
                    let d: Delivery = el.to_xml().into();
                    let _ = self
                        .role
                        .router
                        .route(&self.handle, &bare, resource.as_deref(), d, None)
                        .await;
                }
                other => self.msn_subscription(other, &bare),
            }
            return Ok(());
        }
        match kind.as_str() {
            "available" => {
                el.remove_attr("to");
                let probe = if self.available {
                    Vec::new()
                } else {
                    self.forward_list().await?
                };
                self.available = true;
                self.msn_presence(&el).await;
                let d: Delivery = el.to_xml().into();
                self.role
                    .router
                    .presence(&self.handle, &self.resource, Some(d), probe)
                    .await;
            }
            "unavailable" => {
                self.available = false;
                // Dropping the bridge signs the MSN side out (its contacts go unavailable).
                self.bridge = None;
                self.role
                    .router
                    .presence(&self.handle, &self.resource, None, Vec::new())
                    .await;
            }
            _ => {}
        }
        Ok(())
    }

    /// My forward list's handles: whose presence I want.
    async fn forward_list(&self) -> Result<Vec<Box<str>>, End> {
        let id = self.user_id;
        let (_, account) = self
            .role
            .hub
            .storage
            .run(move |db| db.load_account(id))
            .await?
            .map_err(storage_error)?;
        Ok(account
            .contacts
            .values()
            .filter(|c| c.lists & list::FL != 0)
            .map(|c| c.handle.as_str().into())
            .collect())
    }

    /// This account's lists and groups as stored (the roster and the block list are read from
    /// them).
    async fn my_account(&self) -> Result<crate::model::Account, End> {
        let id = self.user_id;
        let (_, account) = self
            .role
            .hub
            .storage
            .run(move |db| db.load_account(id))
            .await?
            .map_err(storage_error)?;
        Ok(account)
    }

    async fn on_iq(&mut self, el: Element) -> Result<(), End> {
        let kind = el.get("type").unwrap_or("").to_string();
        let target = self.target(&el);
        if let Some((bare, resource)) = &target
            && (bare != &self.handle || resource.is_some())
        {
            // To another entity's full JID: routed; to another account's bare JID: answered for
            // it by the server, which knows nothing to say.
            if resource.is_some() {
                let d: Delivery = el.to_xml().into();
                let routed = self
                    .role
                    .router
                    .route(&self.handle, bare, resource.as_deref(), d, None)
                    .await;
                if matches!(kind.as_str(), "get" | "set") {
                    return self.bounce(&el, routed).await;
                }
                return Ok(());
            }
            if matches!(kind.as_str(), "get" | "set") {
                let e = iq::error(
                    &el,
                    el.get("to").unwrap_or(""),
                    &self.full_jid,
                    "cancel",
                    "service-unavailable",
                );
                return self.send_el(&e).await;
            }
            return Ok(());
        }
        // To the server or to my own bare JID.
        let to_account = target.is_some();
        // The answer comes from whom the request went to (RFC 6120 8.1.2.1).
        let from = el.get("to").unwrap_or("").to_string();
        if !matches!(kind.as_str(), "get" | "set") {
            return Ok(());
        }
        let [payload] = el.children.as_slice() else {
            let e = iq::error(&el, &from, &self.full_jid, "modify", "bad-request");
            return self.send_el(&e).await;
        };
        let reply = match (kind.as_str(), payload.name.as_str(), payload.ns.as_str()) {
            ("get", "ping", NS_PING) => iq::result(&el, &from, &self.full_jid),
            ("get", "query", NS_DISCO_INFO) => {
                iq::disco_info(&el, &from, &self.full_jid, to_account)
            }
            ("get", "query", NS_DISCO_ITEMS) => iq::disco_items(&el, &from, &self.full_jid),
            ("set", "session", iq::NS_SESSION) => iq::result(&el, &from, &self.full_jid),
            ("set", "enable" | "disable", iq::NS_CARBONS) => {
                let on = payload.name == "enable";
                self.role
                    .router
                    .carbons(&self.handle, &self.resource, on)
                    .await;
                iq::result(&el, &from, &self.full_jid)
            }
            ("get", "query", NS_ROSTER) => {
                let account = self.my_account().await?;
                iq::roster(&el, &self.full_jid, &account)
            }
            // Roster changes go to the MSN side, whose server owns account changes; the answer
            // waits for its acknowledgement (committed).
            ("set", "query", NS_ROSTER) => {
                let item = payload.find("item", NS_ROSTER);
                let jid = item.and_then(|i| i.get("jid")).unwrap_or("");
                let Some(b) = &self.bridge else {
                    let e = iq::error(&el, &from, &self.full_jid, "wait", "service-unavailable");
                    return self.send_el(&e).await;
                };
                if !jid.contains('@') || jid.len() > crate::limits::MAX_LINE / 4 {
                    let e = iq::error(&el, &from, &self.full_jid, "modify", "bad-request");
                    return self.send_el(&e).await;
                }
                let reply = bridge::Reply {
                    ok: iq::result(&el, &from, &self.full_jid).to_xml().into(),
                    err: iq::error(&el, &from, &self.full_jid, "cancel", "not-acceptable")
                        .to_xml()
                        .into(),
                };
                let handle: Box<str> = jid.to_ascii_lowercase().into();
                let m = if item.and_then(|i| i.get("subscription")) == Some("remove") {
                    ToMsn::Remove {
                        handle,
                        list: list::FL,
                        reply: Some(reply),
                    }
                } else {
                    // RFC 6121 2.1.2.4: each group once; an empty one is `not-acceptable`
                    // (2.3.3), as is more groups than an MSN account may have, or a name
                    // longer than MSN allows (which the NS would answer by closing the
                    // bridge's connection, not with an error).
                    let encoded = |n: &str| crate::protocol::percent::encode(n).len();
                    let mut groups: Vec<Box<str>> = Vec::new();
                    for g in item.iter().flat_map(|i| i.children.iter()) {
                        if g.name != "group" || g.ns != NS_ROSTER {
                            continue;
                        }
                        let name = g.text.trim();
                        if name.is_empty()
                            || encoded(name) > MAX_GROUP_NAME_ADG
                            || groups.len() >= usize::from(MAX_GROUPS)
                        {
                            let e =
                                iq::error(&el, &from, &self.full_jid, "modify", "not-acceptable");
                            return self.send_el(&e).await;
                        }
                        if !groups.iter().any(|h| &**h == name) {
                            groups.push(name.into());
                        }
                    }
                    let name: Option<Box<str>> = item
                        .and_then(|i| i.get("name"))
                        .map(str::trim)
                        .filter(|n| !n.is_empty())
                        .map(Into::into);
                    if name
                        .as_deref()
                        .is_some_and(|n| encoded(n) > MAX_FRIENDLY_ENCODED)
                    {
                        let e = iq::error(&el, &from, &self.full_jid, "modify", "not-acceptable");
                        return self.send_el(&e).await;
                    }
                    ToMsn::Edit(Box::new(bridge::RosterEdit::new(
                        handle, name, groups, reply,
                    )))
                };
                if b.try_send(m) {
                    return Ok(());
                }
                iq::error(&el, &from, &self.full_jid, "wait", "resource-constraint")
            }
            ("get", "blocklist", iq::NS_BLOCKING) => {
                let account = self.my_account().await?;
                iq::blocklist(&el, &self.full_jid, &account)
            }
            // XEP-0191 block/unblock: BL (and off AL) through the MSN side, answered once the
            // server acknowledged the last change.
            ("set", "block" | "unblock", iq::NS_BLOCKING) => {
                let block = payload.name == "block";
                let jids: Vec<Box<str>> = payload
                    .children
                    .iter()
                    .filter(|i| i.name == "item")
                    .filter_map(|i| i.get("jid"))
                    .map(|j| j.to_ascii_lowercase().into())
                    .collect();
                let Some(b) = &self.bridge else {
                    let e = iq::error(&el, &from, &self.full_jid, "wait", "service-unavailable");
                    return self.send_el(&e).await;
                };
                if jids.is_empty()
                    || jids.len() > crate::limits::BRIDGE_COMMANDS / 2
                    || jids.iter().any(|j| !j.contains('@'))
                {
                    // An empty unblock means "unblock everyone": not offered.
                    let e = iq::error(&el, &from, &self.full_jid, "modify", "bad-request");
                    return self.send_el(&e).await;
                }
                let last = jids.len() - 1;
                let mut queued = true;
                for (n, handle) in jids.into_iter().enumerate() {
                    let reply = (n == last).then(|| bridge::Reply {
                        ok: iq::result(&el, &from, &self.full_jid).to_xml().into(),
                        err: iq::error(&el, &from, &self.full_jid, "cancel", "not-acceptable")
                            .to_xml()
                            .into(),
                    });
                    if block {
                        queued &= b.try_send(ToMsn::Remove {
                            handle: handle.clone(),
                            list: list::AL,
                            reply: None,
                        });
                        queued &= b.try_send(ToMsn::Add {
                            handle,
                            list: list::BL,
                            reply,
                        });
                    } else {
                        queued &= b.try_send(ToMsn::Remove {
                            handle,
                            list: list::BL,
                            reply,
                        });
                    }
                }
                if queued {
                    return Ok(());
                }
                iq::error(&el, &from, &self.full_jid, "wait", "resource-constraint")
            }
            ("get", "vCard", iq::NS_VCARD) => {
                let h = self.handle.clone();
                let friendly = self
                    .role
                    .hub
                    .storage
                    .run(move |db| db.lookup(&h))
                    .await?
                    .ok()
                    .flatten()
                    .map(|(_, f)| f)
                    .unwrap_or_default();
                iq::vcard(&el, &from, &self.full_jid, &friendly)
            }
            ("set", "bind", NS_BIND) => {
                iq::error(&el, &from, &self.full_jid, "cancel", "not-allowed")
            }
            _ => iq::error(&el, &from, &self.full_jid, "cancel", "service-unavailable"),
        };
        self.send_el(&reply).await
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn session_future_stays_small() {
        // An idle session is its task (this state plus the wait's futures) and OpenSSL's
        // connection; guard the part written here: 424 B when measured (648 B before the SCRAM
        // exchange's state was boxed; it is held for one round trip of the login only).
        let size = std::mem::size_of::<super::Session>();
        assert!(size <= 448, "xmpp session state is {size} bytes");
    }
}
