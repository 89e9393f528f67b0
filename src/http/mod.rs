//! The HTTP side: what MSN 5.0-7.5 need (the Passport nexus, Passport 1.4 login `login2.srf`, the
//! RST SOAP login of MSN 7.5 `RST.srf`, MsgrConfig, and the `gateway.dll` HTTP gateway), the page
//! at `/` with the registration form (`site`, `register`), the CA download and the operator's
//! loopback `/status`. Small and bounded: requests are parsed with `httparse`, heads, bodies and
//! requests per connection have fixed caps (`limits::HTTP_*`), idle keep-alive connections time
//! out, and anything else gets 404. `router::ROUTES` lists every path.

pub mod abservice;
pub mod gateway;
mod host;
pub mod https;
pub mod page;
pub mod passport;
pub mod register;
pub mod router;
pub mod rst;
pub mod site;
pub mod soap;
mod status;
mod unserved;

use crate::ns::Ns;
use crate::server::hub::Hub;
use smol::Async;
use smol::io::{AsyncReadExt, AsyncWriteExt};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::Instant;

use crate::limits::{
    HTTP_KEEPALIVE_IDLE, HTTP_MAX_BODY, HTTP_MAX_HEAD, HTTP_MAX_HEADERS, HTTP_MAX_REQUESTS,
    HTTP_READ_CHUNK,
};

/// The HTTP role: the web page and registration form, Passport, and the gateway, on top of the
/// notification role (the gateway serves its sessions; the page counts who is online). Reaches
/// the shared services through `Deref`.
pub struct Http {
    /// The notification role: who is online (page, `/status`) and the sessions gateway clients
    /// open.
    pub ns: Arc<Ns>,
    /// The web page and registration form (`site`).
    pub web: site::Web,
    /// Sessions of the HTTP gateway (`gateway.dll`).
    pub gateway: gateway::Gateway,
}

impl Http {
    /// The HTTP role over `ns`.
    pub fn new(ns: Arc<Ns>) -> Http {
        Http {
            web: site::Web::new(&ns.config),
            gateway: Default::default(),
            ns,
        }
    }
}

impl std::ops::Deref for Http {
    type Target = Hub;

    fn deref(&self) -> &Hub {
        &self.ns.hub
    }
}

/// A parsed request; borrowed strings are copied out because the buffer is reused.
pub struct Request {
    /// `GET`, `POST`, `HEAD` ...; handlers refuse the ones they do not serve.
    pub method: String,
    /// The path without the query string, as sent (not percent-decoded).
    pub path: String,
    /// What followed `?` (empty if nothing), undecoded: each handler decodes what it reads.
    pub query: String,
    /// Every header in order; names keep their case, lookups ignore it (`header`).
    pub headers: Vec<(String, String)>,
    /// The body, at most `HTTP_MAX_BODY` bytes (`Content-Length` only; chunked bodies are refused).
    pub body: Vec<u8>,
    /// The client's address: rate limits and log lines.
    pub peer: SocketAddr,
    /// Our address as the client reached it.
    pub local: SocketAddr,
    /// Arrived over msnpd's own HTTPS listener.
    pub tls: bool,
}

impl Request {
    /// The first header called `name`, compared case-insensitively as HTTP says.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A response built by a handler and written by the connection loop, which adds
/// `Content-Length` and, on the last request of a connection, `Connection: close`.
pub struct Response {
    /// Status code and reason, e.g. `"200 OK"`.
    pub status: &'static str,
    /// Header names are written exactly as given: old clients match some case-sensitively.
    pub headers: Vec<(&'static str, String)>,
    /// The body (its length becomes `Content-Length`).
    pub body: Vec<u8>,
    /// Answer to HEAD: the headers (and Content-Length) of the body, without it.
    head_only: bool,
}

impl Response {
    /// An empty response with `status`; the builder methods below add to it.
    pub fn new(status: &'static str) -> Response {
        Response {
            status,
            headers: Vec::new(),
            body: Vec::new(),
            head_only: false,
        }
    }
    /// For a `HEAD` request: headers and `Content-Length` of the body, but no body.
    pub fn head_only(mut self, head_only: bool) -> Response {
        self.head_only = head_only;
        self
    }
    /// Adds a header, written with exactly this case.
    pub fn header(mut self, name: &'static str, value: impl Into<String>) -> Response {
        self.headers.push((name, value.into()));
        self
    }
    /// Sets the body and its `Content-Type`.
    pub fn body(mut self, content_type: &str, body: impl Into<Vec<u8>>) -> Response {
        self.headers
            .push(("Content-Type", content_type.to_string()));
        self.body = body.into();
        self
    }
    /// Whether the handler asked for the connection to end after this response (its own
    /// `Connection: close` header).
    fn closes(&self) -> bool {
        self.headers
            .iter()
            .any(|(k, v)| k.eq_ignore_ascii_case("connection") && v.eq_ignore_ascii_case("close"))
    }
    fn to_bytes(&self, close: bool) -> Vec<u8> {
        let mut out = format!("HTTP/1.1 {}\r\n", self.status);
        for (k, v) in &self.headers {
            out.push_str(&format!("{k}: {v}\r\n"));
        }
        out.push_str(&format!("Content-Length: {}\r\n", self.body.len()));
        if close && !self.closes() {
            out.push_str("Connection: close\r\n");
        }
        out.push_str("\r\n");
        let mut bytes = out.into_bytes();
        if !self.head_only {
            bytes.extend_from_slice(&self.body);
        }
        bytes
    }
}

/// Outcome of parsing the front of a connection's read buffer.
pub enum Parsed {
    /// One whole request and the number of bytes it used (head plus body).
    Complete(Request, usize),
    /// More bytes are needed.
    Partial,
    /// The request is refused (answered with 400 and the connection closed).
    Bad(&'static str),
}

/// Parses one request from the front of `buf`, as `serve` does (the peer is left unspecified).
/// Public for the fuzz targets in `fuzz/` and for tests.
pub fn parse_request(buf: &[u8]) -> Parsed {
    let unspecified = SocketAddr::from(([0, 0, 0, 0], 0));
    parse(buf, unspecified, unspecified)
}

fn parse(buf: &[u8], peer: SocketAddr, local: SocketAddr) -> Parsed {
    let mut headers = [httparse::EMPTY_HEADER; HTTP_MAX_HEADERS];
    let mut req = httparse::Request::new(&mut headers);
    let head_len = match req.parse(buf) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => {
            return if buf.len() >= HTTP_MAX_HEAD {
                Parsed::Bad("request head too large")
            } else {
                Parsed::Partial
            };
        }
        Err(_) => return Parsed::Bad("malformed request"),
    };
    if head_len > HTTP_MAX_HEAD {
        return Parsed::Bad("request head too large");
    }
    let mut content_length = 0usize;
    let mut seen_length = false;
    let mut hs = Vec::with_capacity(req.headers.len());
    for h in req.headers.iter() {
        let v = String::from_utf8_lossy(h.value).into_owned();
        if h.name.eq_ignore_ascii_case("content-length") {
            // Digits only, and only once: anything else invites request smuggling behind a proxy.
            let t = v.trim();
            if seen_length || t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()) {
                return Parsed::Bad("bad content-length");
            }
            seen_length = true;
            match t.parse::<usize>() {
                Ok(n) if n <= HTTP_MAX_BODY => content_length = n,
                Ok(_) => return Parsed::Bad("request body too large"),
                Err(_) => return Parsed::Bad("bad content-length"),
            }
        }
        if h.name.eq_ignore_ascii_case("transfer-encoding") {
            return Parsed::Bad("chunked requests are not supported");
        }
        hs.push((h.name.to_string(), v));
    }
    if buf.len() < head_len + content_length {
        return Parsed::Partial;
    }
    let target = req.path.unwrap_or("/");
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    Parsed::Complete(
        Request {
            method: req.method.unwrap_or("").to_string(),
            path: path.to_string(),
            query: query.to_string(),
            headers: hs,
            body: buf[head_len..head_len + content_length].to_vec(),
            peer,
            local,
            tls: false,
        },
        head_len + content_length,
    )
}

/// The kit's CA certificate, for client PCs to install (IE offers "Install Certificate" for
/// this content type).
fn ca_download(hub: &Arc<Http>, der: bool) -> Response {
    match crate::tls::ca_download(&hub.config, der) {
        Some(bytes) if der => Response::new("200 OK").body("application/x-x509-ca-cert", bytes),
        Some(bytes) => Response::new("200 OK").body("application/x-pem-file", bytes),
        None => Response::new("404 Not Found").body(
            "text/plain",
            "no msnpd CA here: HTTPS is off or uses --tls-cert\n",
        ),
    }
}

/// Serves one plain-TCP HTTP connection accepted by the HTTP listener.
pub async fn serve(hub: Arc<Http>, stream: Async<TcpStream>, peer: SocketAddr) {
    let _ = stream.get_ref().set_nodelay(true);
    let local = stream
        .get_ref()
        .local_addr()
        .unwrap_or(SocketAddr::from(([0, 0, 0, 0], 0)));
    serve_stream(hub, stream, peer, local, false).await
}

/// Serves HTTP requests on `stream` (plain TCP, or TLS when `tls`); `local` is our address as
/// the client reached it.
pub async fn serve_stream<S>(
    hub: Arc<Http>,
    mut stream: S,
    peer: SocketAddr,
    local: SocketAddr,
    tls: bool,
) where
    S: smol::io::AsyncRead + smol::io::AsyncWrite + Unpin,
{
    let mut buf: Vec<u8> = Vec::new();
    let mut chunk = [0u8; HTTP_READ_CHUNK];
    for served in 0..HTTP_MAX_REQUESTS {
        // Until a request's first byte the idle timer runs; from then on the whole request must
        // arrive by one deadline that no trickle of bytes can push back.
        let mut deadline =
            (!buf.is_empty()).then(|| Instant::now() + hub.config.timeouts.http_request);
        // Read until one full request is buffered, or give up.
        let req = loop {
            match parse(&buf, peer, local) {
                Parsed::Complete(r, used) => {
                    buf.drain(..used);
                    break Some(r);
                }
                Parsed::Bad(why) => {
                    log::info!("http {peer}: {why}");
                    let r = Response::new("400 Bad Request").body("text/plain", format!("{why}\n"));
                    let _ = stream.write_all(&r.to_bytes(true)).await;
                    break None;
                }
                Parsed::Partial => {}
            }
            let until = deadline.unwrap_or_else(|| Instant::now() + HTTP_KEEPALIVE_IDLE);
            let read = smol::future::or(async { Some(stream.read(&mut chunk).await) }, async {
                smol::Timer::at(until).await;
                None
            })
            .await;
            match read {
                Some(Ok(n)) if n > 0 => {
                    deadline
                        .get_or_insert_with(|| Instant::now() + hub.config.timeouts.http_request);
                    buf.extend_from_slice(&chunk[..n]);
                }
                None if deadline.is_some() => {
                    log::info!("http {peer}: request incomplete at its deadline; closed");
                    break None;
                }
                _ => break None,
            }
        };
        let Some(mut req) = req else { return };
        req.tls = tls;
        let resp = router::route(&hub, &req).await;
        log::debug!(
            "http {peer}: {} {} -> {}",
            req.method,
            req.path,
            resp.status
        );
        let close = served + 1 == HTTP_MAX_REQUESTS
            || resp.closes()
            || req
                .header("connection")
                .is_some_and(|c| c.eq_ignore_ascii_case("close"));
        if stream.write_all(&resp.to_bytes(close)).await.is_err() {
            return;
        }
        if close {
            // TLS: close_notify, so that clients do not report a truncated response.
            let _ = stream.close().await;
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parser_bounds() {
        let peer: SocketAddr = "127.0.0.1:1".parse().unwrap();
        let parse = |b: &[u8], p| super::parse(b, p, p);
        assert!(matches!(
            parse(b"GET / HTTP/1.1\r\nHost: x\r\n", peer),
            Parsed::Partial
        ));
        assert!(matches!(parse(b"GARBAGE\r\n\r\n", peer), Parsed::Bad(_)));
        let big = format!(
            "POST / HTTP/1.1\r\nContent-Length: {}\r\n\r\n",
            HTTP_MAX_BODY + 1
        );
        assert!(matches!(parse(big.as_bytes(), peer), Parsed::Bad(_)));
        match parse(
            b"GET /rdr/pprdr.asp?x=1 HTTP/1.1\r\nHost: h\r\n\r\nGET",
            peer,
        ) {
            Parsed::Complete(r, used) => {
                assert_eq!(
                    (r.path.as_str(), r.query.as_str(), r.header("HOST")),
                    ("/rdr/pprdr.asp", "x=1", Some("h"))
                );
                assert_eq!(used, 44);
            }
            _ => panic!("complete request not parsed"),
        }
        let long = vec![b'a'; HTTP_MAX_HEAD + 10];
        assert!(matches!(parse(&long, peer), Parsed::Bad(_)));
    }

    /// Oversize, chunked and malformed heads are refused; bodies up to the cap are accepted.
    #[test]
    fn parser_limits_table() {
        let filler = "a".repeat(HTTP_MAX_HEAD);
        let many: String = (0..=HTTP_MAX_HEADERS)
            .map(|i| format!("X-{i}: v\r\n"))
            .collect();
        let body = vec![b'x'; HTTP_MAX_BODY];
        let mut full = format!("POST /RST.srf HTTP/1.1\r\nContent-Length: {HTTP_MAX_BODY}\r\n\r\n")
            .into_bytes();
        full.extend_from_slice(&body);
        let big_header = format!("GET / HTTP/1.1\r\nX: {filler}\r\n\r\n");
        let big_partial = format!("GET / HTTP/1.1\r\nX: {filler}");
        let too_many = format!("GET / HTTP/1.1\r\n{many}\r\n");
        let bad: &[&[u8]] = &[
            big_header.as_bytes(),
            big_partial.as_bytes(),
            too_many.as_bytes(),
            b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
            b"POST / HTTP/1.1\r\nContent-Length: abc\r\n\r\n",
            b"POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
            b"POST / HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n",
            b"GET / HTTP/1.1\r\nBad Header\r\n\r\n",
            b"\x00\x01\x02\r\n\r\n",
            b"POST / HTTP/1.1\r\nContent-Length: +5\r\n\r\nhello",
            b"POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 0\r\n\r\nhello",
        ];
        for b in bad {
            assert!(
                matches!(parse_request(b), Parsed::Bad(_)),
                "not refused: {:?}",
                String::from_utf8_lossy(&b[..b.len().min(60)])
            );
        }
        match parse_request(&full) {
            Parsed::Complete(r, used) => {
                assert_eq!((r.body.len(), used), (HTTP_MAX_BODY, full.len()))
            }
            _ => panic!("body of exactly HTTP_MAX_BODY refused"),
        }
        assert!(matches!(
            parse_request(&full[..full.len() - 1]),
            Parsed::Partial
        ));
    }

    /// Random, mutated and truncated input never panics, never consumes more than it was given,
    /// and "need more" only happens while the buffer is below the head and body caps. Every strict
    /// prefix of a complete request is "need more" (bytes may arrive in any split).
    #[test]
    fn fuzzish_requests_are_bounded() {
        let seeds: &[&[u8]] = &[
            b"GET /rdr/pprdr.asp HTTP/1.1\r\nHost: nexus.passport.com\r\n\r\n",
            b"GET /login2.srf HTTP/1.1\r\nAuthorization: Passport1.4 OrgVerb=GET,OrgURL=x,sign-in=a%40b.com,pwd=p%2Cw,ct=1\r\nHost: h\r\nConnection: Keep-Alive\r\n\r\n",
            b"POST /RST.srf HTTP/1.1\r\nContent-Type: text/xml\r\nContent-Length: 70\r\n\r\n<wsse:Username>a@b.com</wsse:Username><wsse:Password>x</wsse:Password>",
            b"GET /rdr/pprdr.asp HTTP/1.1\r\nHost: x\r\n\r\nPOST /Config/MsgrConfig.asmx HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc",
        ];
        for seed in seeds {
            let Parsed::Complete(_, used) = parse_request(seed) else {
                panic!("seed not complete: {:?}", String::from_utf8_lossy(seed));
            };
            for cut in 0..used {
                assert!(
                    matches!(parse_request(&seed[..cut]), Parsed::Partial),
                    "prefix {cut}"
                );
            }
        }
        let mut x: u64 = 0x9E3779B97F4A7C15;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let check = |buf: &[u8]| {
            let mut pos = 0;
            // Keep-alive: parse consecutive requests like `serve`.
            for _ in 0..HTTP_MAX_REQUESTS {
                match parse_request(&buf[pos..]) {
                    Parsed::Complete(r, used) => {
                        assert!(used >= 1 && pos + used <= buf.len());
                        assert!(
                            r.body.len() <= HTTP_MAX_BODY && used - r.body.len() <= HTTP_MAX_HEAD
                        );
                        if let Some(a) = r.header("authorization") {
                            let _ = passport::parse_authorization(a);
                        }
                        pos += used;
                    }
                    Parsed::Partial => {
                        assert!(buf.len() - pos < HTTP_MAX_HEAD + HTTP_MAX_BODY);
                        break;
                    }
                    Parsed::Bad(_) => break,
                }
            }
        };
        for round in 0..20_000 {
            let mut buf = if round % 8 == 7 {
                // Plain random bytes.
                (0..next() % 256).map(|_| next() as u8).collect()
            } else {
                seeds[round % seeds.len()].to_vec()
            };
            for _ in 0..(next() % 4) {
                if buf.is_empty() {
                    break;
                }
                let i = (next() as usize) % buf.len();
                buf[i] = next() as u8;
            }
            let cut = (next() as usize) % (buf.len() + 1);
            check(&buf[..cut]);
        }
        // Oversize heads: refused however they end.
        let mut head = b"GET / HTTP/1.1\r\n".to_vec();
        while head.len() < HTTP_MAX_HEAD + 100 {
            head.extend_from_slice(b"X-Pad: 0123456789\r\n");
        }
        assert!(matches!(parse_request(&head), Parsed::Bad(_)));
        head.extend_from_slice(b"\r\n");
        assert!(matches!(parse_request(&head), Parsed::Bad(_)));
    }
}
