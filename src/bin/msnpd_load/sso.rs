//! Windows Live Messenger single sign-on (MSNP15+) as a client does it: one RST.srf request for
//! the tokens WLM 2009 asks for (libpurple's list, `nexus.c` `ticket_domains`), over HTTPS as
//! the real client sends it (or plain HTTP, which msnpd also serves), then the `MBI_KEY_OLD`
//! answer computed with the crate's client helper (`msnpd::auth::sso::client::answer`), the same
//! code the tests sign in with.
//!
//! The request runs on a blocking thread (`smol::unblock`): OpenSSL's stream is blocking, and a
//! login makes exactly one such request, so a thread hop costs nothing next to the handshake.

use crate::net::{R, resolve};
use openssl::ssl::{SslConnector, SslMethod, SslVerifyMode};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// Where RST.srf is and how to reach it.
pub struct RstEndpoint {
    addr: SocketAddr,
    /// The `Host` header and the name the certificate is checked for.
    host: String,
    path: String,
    /// `Some` for HTTPS.
    tls: Option<SslConnector>,
}

impl RstEndpoint {
    /// From `http://` or `https://host[:port]/path`. With `ca`, the server's certificate must
    /// chain to it and name `name` (e.g. msnpd's kit CA and `login.live.com`); without, it is
    /// not verified (fine on loopback, which is all this tool is meant for).
    pub fn new(url: &str, ca: Option<&PathBuf>, name: &str) -> R<Arc<RstEndpoint>> {
        let (https, rest) = if let Some(r) = url.strip_prefix("https://") {
            (true, r)
        } else if let Some(r) = url.strip_prefix("http://") {
            (false, r)
        } else {
            return Err(format!("--rst must start with http:// or https://: {url}").into());
        };
        let (hostport, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/RST.srf"),
        };
        let hp = if hostport.contains(':') {
            hostport.to_string()
        } else {
            format!("{hostport}:{}", if https { 443 } else { 80 })
        };
        let tls = if https {
            let mut b = SslConnector::builder(SslMethod::tls_client())?;
            match ca {
                Some(ca) => b.set_ca_file(ca)?,
                None => b.set_verify(SslVerifyMode::NONE),
            }
            Some(b.build())
        } else {
            None
        };
        Ok(Arc::new(RstEndpoint {
            addr: resolve(&hp)?,
            host: if ca.is_some() {
                name.to_string()
            } else {
                hostport.to_string()
            },
            path: path.to_string(),
            tls,
        }))
    }

    /// POSTs `body` on a fresh connection (as libpurple does) and returns the answer's body.
    fn post(&self, body: &str, timeout: Duration) -> R<(u16, String)> {
        let s = TcpStream::connect_timeout(&self.addr, timeout)?;
        s.set_nodelay(true)?;
        s.set_read_timeout(Some(timeout))?;
        s.set_write_timeout(Some(timeout))?;
        let head = format!(
            "POST {} HTTP/1.1\r\nHost: {}\r\nContent-Type: text/xml; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            self.path,
            self.host,
            body.len()
        );
        let mut req = head.into_bytes();
        req.extend_from_slice(body.as_bytes());
        let resp = match &self.tls {
            Some(c) => {
                let host = self.host.split(':').next().unwrap_or("");
                let mut cfg = c.configure()?;
                if self.host.parse::<SocketAddr>().is_ok()
                    || host.parse::<std::net::IpAddr>().is_ok()
                {
                    cfg.set_use_server_name_indication(false);
                    cfg.set_verify_hostname(false);
                }
                let mut tls = cfg
                    .connect(host, s)
                    .map_err(|e| format!("TLS to {}: {e}", self.addr))?;
                exchange(&mut tls, &req)?
            }
            None => exchange(&mut &s, &req)?,
        };
        split_answer(&resp)
    }
}

/// Writes `req` and reads until the answer's `Content-Length` is in (or the peer closes).
fn exchange(s: &mut (impl Read + Write), req: &[u8]) -> R<Vec<u8>> {
    s.write_all(req)?;
    let mut resp = Vec::with_capacity(16 * 1024);
    let mut chunk = [0u8; 16 * 1024];
    loop {
        if let Some(end) = resp.windows(4).position(|w| w == b"\r\n\r\n")
            && let Some(len) = content_length(&resp[..end])
            && resp.len() >= end + 4 + len
        {
            return Ok(resp);
        }
        let n = match s.read(&mut chunk) {
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => 0,
            Err(e) => return Err(e.into()),
        };
        if n == 0 {
            return Ok(resp);
        }
        resp.extend_from_slice(&chunk[..n]);
    }
}

fn content_length(head: &[u8]) -> Option<usize> {
    String::from_utf8_lossy(head)
        .to_ascii_lowercase()
        .split("\r\n")
        .find_map(|l| {
            l.strip_prefix("content-length:")
                .map(|v| v.trim().to_string())
        })
        .and_then(|v| v.parse().ok())
}

fn split_answer(resp: &[u8]) -> R<(u16, String)> {
    let end = resp
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or("RST.srf: answer without a head")?;
    let head = String::from_utf8_lossy(&resp[..end]);
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or("RST.srf: bad status line")?;
    let body = match content_length(&resp[..end]) {
        Some(n) if resp.len() >= end + 4 + n => &resp[end + 4..end + 4 + n],
        _ => &resp[end + 4..],
    };
    Ok((status, String::from_utf8_lossy(body).into_owned()))
}

/// The services WLM 2009 and libpurple ask for, in libpurple's order; the ticket for
/// messengerclear.live.com (numbered 1) is the one `USR SSO S` redeems.
const SERVICES: &[(&str, &str)] = &[
    ("http://Passport.NET/tb", ""),
    ("messengerclear.live.com", "MBI_KEY_OLD"),
    ("messenger.msn.com", "?id=507"),
    ("messengersecure.live.com", "MBI_SSL"),
    ("contacts.msn.com", "MBI"),
    ("storage.msn.com", "MBI"),
    ("sup.live.com", "MBI"),
];

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn request(handle: &str, password: &str) -> String {
    let mut tokens = String::new();
    for (i, (address, policy)) in SERVICES.iter().enumerate() {
        let policy = if policy.is_empty() {
            String::new()
        } else {
            format!(
                "<wsse:PolicyReference URI=\"{}\"></wsse:PolicyReference>",
                esc(policy)
            )
        };
        tokens.push_str(&format!(
            "<wst:RequestSecurityToken Id=\"RST{i}\"><wst:RequestType>http://schemas.xmlsoap.org/ws/2004/04/security/trust/Issue</wst:RequestType><wsp:AppliesTo><wsa:EndpointReference><wsa:Address>{address}</wsa:Address></wsa:EndpointReference></wsp:AppliesTo>{policy}</wst:RequestSecurityToken>"
        ));
    }
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Envelope xmlns=\"http://schemas.xmlsoap.org/soap/envelope/\" xmlns:wsse=\"http://schemas.xmlsoap.org/ws/2003/06/secext\" xmlns:saml=\"urn:oasis:names:tc:SAML:1.0:assertion\" xmlns:wsp=\"http://schemas.xmlsoap.org/ws/2002/12/policy\" xmlns:wsu=\"http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd\" xmlns:wsa=\"http://schemas.xmlsoap.org/ws/2004/03/addressing\" xmlns:wssc=\"http://schemas.xmlsoap.org/ws/2004/04/sc\" xmlns:wst=\"http://schemas.xmlsoap.org/ws/2004/04/trust\"><Header><ps:AuthInfo xmlns:ps=\"http://schemas.microsoft.com/Passport/SoapServices/PPCRL\" Id=\"PPAuthInfo\"><ps:HostingApp>{{7108E71A-9926-4FCB-BCC9-9A9D3F32E423}}</ps:HostingApp><ps:BinaryVersion>4</ps:BinaryVersion><ps:UIVersion>1</ps:UIVersion><ps:Cookies></ps:Cookies><ps:RequestParams>AQAAAAIAAABsYwQAAAAxMDMz</ps:RequestParams></ps:AuthInfo><wsse:Security><wsse:UsernameToken Id=\"user\"><wsse:Username>{}</wsse:Username><wsse:Password>{}</wsse:Password></wsse:UsernameToken></wsse:Security></Header><Body><ps:RequestMultipleSecurityTokens xmlns:ps=\"http://schemas.microsoft.com/Passport/SoapServices/PPCRL\" Id=\"RSTS\">{tokens}</ps:RequestMultipleSecurityTokens></Body></Envelope>",
        esc(handle),
        esc(password)
    )
}

/// The messengerclear.live.com ticket (unescaped) and its `BinarySecret` from an RST.srf answer.
fn messenger_token(answer: &str) -> Option<(String, String)> {
    let at = answer.find("<wsa:Address>messengerclear.live.com</wsa:Address>")?;
    let end = at + answer[at..].find("</wst:RequestSecurityTokenResponse>")?;
    let resp = &answer[at..end];
    let ticket = resp
        .split("<wsse:BinarySecurityToken Id=\"Compact1\">")
        .nth(1)?
        .split('<')
        .next()?
        .replace("&amp;", "&");
    let secret = resp.split("<wst:BinarySecret>").nth(1)?.split('<').next()?;
    Some((ticket, secret.to_string()))
}

/// RST.srf for `handle`, then the answer to `nonce`: `(ticket, MBI_KEY_OLD answer)` for
/// `USR t SSO S ticket answer`.
pub async fn sign_in(
    rst: Arc<RstEndpoint>,
    handle: String,
    password: String,
    nonce: String,
    timeout: Duration,
) -> R<(String, String)> {
    let r: Result<(String, String), String> = smol::unblock(move || {
        let (status, answer) = rst
            .post(&request(&handle, &password), timeout)
            .map_err(|e| format!("RST.srf for {handle}: {e}"))?;
        let (ticket, secret) = messenger_token(&answer).ok_or_else(|| {
            format!(
                "RST.srf gave {handle} no messengerclear token (HTTP {status}): wrong password?"
            )
        })?;
        let proof = msnpd::auth::sso::client::answer(&secret, &nonce)
            .map_err(|e| format!("MBI answer for {handle}: {e}"))?;
        Ok((ticket, proof))
    })
    .await;
    Ok(r?)
}
