//! The scripted XMPP client and the MSNP7 login shared by `tests/xmpp.rs` and
//! `tests/xmpp_msn.rs`.
#![allow(dead_code)]

use crate::common::{Client, md5_hex};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use openssl::ssl::{SslConnector, SslMethod, SslStream};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::time::{Duration, Instant};

pub const TIMEOUT: Duration = Duration::from_secs(10);
pub const HEADER: &str = "<?xml version='1.0'?><stream:stream to='example.com' xmlns='jabber:client' \
                      xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>";

pub fn msn_login(ns: SocketAddr, handle: &str, password: &str) -> Client {
    let mut addr = ns;
    loop {
        let mut c = Client::connect(addr);
        c.send("VER 1 MSNP7 CVR0");
        c.expect("VER 1 MSNP7");
        c.send("INF 2");
        c.expect("INF 2 MD5");
        c.send(&format!("USR 3 MD5 I {handle}"));
        let l = c.line();
        if l.starts_with("XFR") {
            addr = l.split(' ').nth(3).unwrap().parse().unwrap();
            continue;
        }
        assert!(l.starts_with("USR 3 MD5 S "), "{l}");
        let challenge = l.rsplit(' ').next().unwrap().to_string();
        c.send(&format!(
            "USR 4 MD5 S {}",
            md5_hex(&format!("{challenge}{password}"))
        ));
        c.expect(&format!("USR 4 OK {handle}"));
        c.expect_payload("MSG Hotmail Hotmail ");
        c.send("SYN 5 0");
        c.expect("SYN 5 ");
        c.send("CHG 6 NLN");
        c.until("CHG 6 NLN");
        return c;
    }
}

pub enum Sock {
    Plain(TcpStream),
    Tls(Box<SslStream<TcpStream>>),
    None,
}

/// A scripted XMPP client: writes exact XML, reads until an expected string arrives.
pub struct Xc {
    pub sock: Sock,
    pub buf: String,
}

impl Xc {
    pub fn connect(addr: SocketAddr) -> Xc {
        let s = TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        Xc {
            sock: Sock::Plain(s),
            buf: String::new(),
        }
    }

    pub fn send(&mut self, x: &str) {
        let r = match &mut self.sock {
            Sock::Plain(s) => s.write_all(x.as_bytes()),
            Sock::Tls(s) => s.write_all(x.as_bytes()),
            Sock::None => panic!("no socket"),
        };
        r.unwrap();
    }

    /// Reads once; `false` at end of stream.
    pub fn read_some(&mut self) -> bool {
        let mut b = [0u8; 8192];
        let r = match &mut self.sock {
            Sock::Plain(s) => s.read(&mut b),
            Sock::Tls(s) => s.read(&mut b),
            Sock::None => Ok(0),
        };
        match r {
            Ok(0) => false,
            Ok(n) => {
                self.buf.push_str(&String::from_utf8_lossy(&b[..n]));
                true
            }
            Err(e)
                if e.kind() == std::io::ErrorKind::WouldBlock
                    || e.kind() == std::io::ErrorKind::TimedOut
                    || e.kind() == std::io::ErrorKind::Interrupted =>
            {
                true
            }
            // A TLS stream the server closed without close_notify, or reset.
            Err(_) => false,
        }
    }

    /// Reads until `needle` arrived; returns everything up to and including it.
    pub fn expect(&mut self, needle: &str) -> String {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            if let Some(i) = self.buf.find(needle) {
                let end = i + needle.len();
                let out = self.buf[..end].to_string();
                self.buf.drain(..end);
                return out;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {needle:?}; have {:?}",
                self.buf
            );
            if !self.read_some() {
                if self.buf.contains(needle) {
                    continue;
                }
                panic!("stream ended waiting for {needle:?}; have {:?}", self.buf);
            }
        }
    }

    /// Reads until the server closes; returns what came.
    pub fn until_closed(&mut self) -> String {
        let deadline = Instant::now() + TIMEOUT;
        while self.read_some() {
            assert!(Instant::now() < deadline, "not closed: {:?}", self.buf);
        }
        std::mem::take(&mut self.buf)
    }

    /// Nothing but `needle`-free data arrives for `d`.
    pub fn expect_no(&mut self, needle: &str, d: Duration) {
        let until = Instant::now() + d;
        while Instant::now() < until {
            self.read_some();
        }
        assert!(
            !self.buf.contains(needle),
            "unexpected {needle:?} in {:?}",
            self.buf
        );
    }

    pub fn starttls(&mut self, ca: &Path) {
        self.send("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>");
        self.expect("<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>");
        self.handshake(ca);
    }

    pub fn handshake(&mut self, ca: &Path) {
        let Sock::Plain(tcp) = std::mem::replace(&mut self.sock, Sock::None) else {
            panic!("already TLS");
        };
        tcp.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut b = SslConnector::builder(SslMethod::tls()).unwrap();
        b.set_ca_file(ca).unwrap();
        let tls = b.build().connect("localhost", tcp).unwrap();
        tls.get_ref()
            .set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        self.sock = Sock::Tls(Box::new(tls));
        self.buf.clear();
    }
}

/// Connects to `xmpp`, negotiates STARTTLS trusting `ca`; returns the client and the features
/// offered after TLS.
pub fn tls_client_at(xmpp: SocketAddr, ca: &Path) -> (Xc, String) {
    let mut c = Xc::connect(xmpp);
    c.send(HEADER);
    c.expect("</stream:features>");
    c.starttls(ca);
    c.send(HEADER);
    let features = c.expect("</stream:features>");
    (c, features)
}

pub fn auth_plain(c: &mut Xc, user: &str, password: &str) -> String {
    let msg = B64.encode(format!("\0{user}\0{password}"));
    c.send(&format!(
        "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>{msg}</auth>"
    ));
    let deadline = Instant::now() + TIMEOUT;
    loop {
        for end in [
            "</success>",
            "</failure>",
            "<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>",
        ] {
            if c.buf.contains(end) {
                return c.expect(end);
            }
        }
        assert!(Instant::now() < deadline, "no SASL outcome: {:?}", c.buf);
        assert!(c.read_some(), "closed during SASL: {:?}", c.buf);
    }
}

pub fn bind(c: &mut Xc, resource: &str) -> String {
    c.send(HEADER);
    let f = c.expect("</stream:features>");
    assert!(
        f.contains("<bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/>"),
        "{f}"
    );
    c.send(&format!(
        "<iq type='set' id='b1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'>\
         <resource>{resource}</resource></bind></iq>"
    ));
    c.expect("<jid>");
    let jid = c.expect("</jid>");
    c.expect("</iq>");
    jid.trim_end_matches("</jid>").to_string()
}
