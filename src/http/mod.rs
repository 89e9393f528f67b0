//! The HTTP side MSN 5.0-7.5 need: the Passport nexus, Passport 1.4 login (`login2.srf`), the RST
//! SOAP login of MSN 7.5 (`RST.srf`) and MsgrConfig. Small and bounded: requests are parsed with
//! `httparse`, headers and bodies have fixed caps, idle keep-alive connections time out, and
//! anything else gets 404.

mod passport;

use crate::server::hub::Hub;
use smol::Async;
use smol::io::{AsyncReadExt, AsyncWriteExt};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::Duration;

/// Largest request head (request line and headers).
pub const MAX_HEAD: usize = 8 * 1024;
/// Largest request body (an RST SOAP request is about 3 KiB).
pub const MAX_BODY: usize = 16 * 1024;
/// Most headers in one request.
const MAX_HEADERS: usize = 32;
/// A keep-alive connection with no complete request for this long is closed.
const IDLE: Duration = Duration::from_secs(15);
/// Requests served on one connection before it is closed.
const MAX_REQUESTS: usize = 32;

/// A parsed request; borrowed strings are copied out because the buffer is reused.
pub struct Request {
    pub method: String,
    pub path: String,
    pub query: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub peer: SocketAddr,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

pub struct Response {
    pub status: &'static str,
    /// Header names are written exactly as given: old clients match some case-sensitively.
    pub headers: Vec<(&'static str, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn new(status: &'static str) -> Response {
        Response {
            status,
            headers: Vec::new(),
            body: Vec::new(),
        }
    }
    pub fn header(mut self, name: &'static str, value: impl Into<String>) -> Response {
        self.headers.push((name, value.into()));
        self
    }
    pub fn body(mut self, content_type: &str, body: impl Into<Vec<u8>>) -> Response {
        self.headers
            .push(("Content-Type", content_type.to_string()));
        self.body = body.into();
        self
    }
    fn to_bytes(&self, close: bool) -> Vec<u8> {
        let mut out = format!("HTTP/1.1 {}\r\n", self.status);
        for (k, v) in &self.headers {
            out.push_str(&format!("{k}: {v}\r\n"));
        }
        out.push_str(&format!("Content-Length: {}\r\n", self.body.len()));
        if close {
            out.push_str("Connection: close\r\n");
        }
        out.push_str("\r\n");
        let mut bytes = out.into_bytes();
        bytes.extend_from_slice(&self.body);
        bytes
    }
}

enum Parsed {
    Complete(Request, usize),
    Partial,
    Bad(&'static str),
}

fn parse(buf: &[u8], peer: SocketAddr) -> Parsed {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut headers);
    let head_len = match req.parse(buf) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => {
            return if buf.len() >= MAX_HEAD {
                Parsed::Bad("request head too large")
            } else {
                Parsed::Partial
            };
        }
        Err(_) => return Parsed::Bad("malformed request"),
    };
    if head_len > MAX_HEAD {
        return Parsed::Bad("request head too large");
    }
    let mut content_length = 0usize;
    let mut hs = Vec::with_capacity(req.headers.len());
    for h in req.headers.iter() {
        let v = String::from_utf8_lossy(h.value).into_owned();
        if h.name.eq_ignore_ascii_case("content-length") {
            match v.trim().parse::<usize>() {
                Ok(n) if n <= MAX_BODY => content_length = n,
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
        },
        head_len + content_length,
    )
}

async fn route(hub: &Arc<Hub>, req: &Request) -> Response {
    let path = req.path.to_ascii_lowercase();
    match (req.method.as_str(), path.as_str()) {
        ("GET", "/rdr/pprdr.asp") => passport::nexus(req),
        ("GET", "/login2.srf" | "/login.srf" | "/ppsecure/login2.srf") => {
            passport::login(hub, req).await
        }
        ("POST", "/rst.srf" | "/ppsecure/rst.srf") => passport::rst(hub, req).await,
        ("GET" | "POST", "/config/msgrconfig.asmx") => passport::msgr_config(req),
        _ => Response::new("404 Not Found").body("text/plain", "not found\n"),
    }
}

pub async fn serve(hub: Arc<Hub>, mut stream: Async<TcpStream>, peer: SocketAddr) {
    let _ = stream.get_ref().set_nodelay(true);
    let mut buf: Vec<u8> = Vec::new();
    let mut chunk = [0u8; 2048];
    for served in 0..MAX_REQUESTS {
        // Read until one full request is buffered, or give up.
        let req = loop {
            match parse(&buf, peer) {
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
            let read = smol::future::or(async { Some(stream.read(&mut chunk).await) }, async {
                smol::Timer::after(IDLE).await;
                None
            })
            .await;
            match read {
                Some(Ok(n)) if n > 0 => buf.extend_from_slice(&chunk[..n]),
                _ => break None,
            }
        };
        let Some(req) = req else { return };
        let resp = route(&hub, &req).await;
        log::debug!(
            "http {peer}: {} {} -> {}",
            req.method,
            req.path,
            resp.status
        );
        let close = served + 1 == MAX_REQUESTS
            || req
                .header("connection")
                .is_some_and(|c| c.eq_ignore_ascii_case("close"));
        if stream.write_all(&resp.to_bytes(close)).await.is_err() || close {
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
        assert!(matches!(
            parse(b"GET / HTTP/1.1\r\nHost: x\r\n", peer),
            Parsed::Partial
        ));
        assert!(matches!(parse(b"GARBAGE\r\n\r\n", peer), Parsed::Bad(_)));
        let big = format!(
            "POST / HTTP/1.1\r\nContent-Length: {}\r\n\r\n",
            MAX_BODY + 1
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
        let long = vec![b'a'; MAX_HEAD + 10];
        assert!(matches!(parse(&long, peer), Parsed::Bad(_)));
    }
}
