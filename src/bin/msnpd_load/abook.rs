//! The address-book scenario (WLM, issue 19): one account with N contacts asks `ABFindAll` again
//! and again over one keep-alive HTTP connection; reports the latency of each answer and the
//! server's CPU per answer (the "server time" of the figure: ABFindAll of 300 contacts <= 10 ms).
//!
//! Setup speaks the service as a client does: RST.srf for a contacts.msn.com token, then
//! `ABContactAdd` for each missing contact (accounts `{prefix}{first+1}..` must exist). Plain
//! blocking sockets: the requests are sequential, and the generator's cost is not what is
//! measured (the server's CPU is read from /proc).

use crate::msnp::Target;
use crate::net::R;
use crate::stats::{Report, Samples, cpu_secs};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

/// What the scenario is told.
pub struct AbookArgs {
    /// The HTTP listener.
    pub http: SocketAddr,
    /// Contacts the account has.
    pub contacts: usize,
    /// Timed requests.
    pub count: usize,
    /// The account number; its contacts are the next `contacts` accounts.
    pub first: usize,
    /// Server process, for its CPU time.
    pub server_pid: Option<u32>,
}

/// One keep-alive HTTP connection.
struct Http {
    addr: SocketAddr,
    s: TcpStream,
    buf: Vec<u8>,
}

impl Http {
    fn connect(addr: SocketAddr) -> R<Http> {
        Ok(Http {
            addr,
            s: Self::open(addr)?,
            buf: Vec::with_capacity(1 << 20),
        })
    }

    fn open(addr: SocketAddr) -> R<TcpStream> {
        let s = TcpStream::connect(addr)?;
        s.set_nodelay(true)?;
        s.set_read_timeout(Some(Duration::from_secs(30)))?;
        Ok(s)
    }

    /// POSTs `body` to `path`; the status and the body of the answer.
    fn post(&mut self, path: &str, body: &str) -> R<(u16, String)> {
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: contacts.msn.com\r\nContent-Type: text/xml; charset=utf-8\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        self.s.write_all(head.as_bytes())?;
        self.s.write_all(body.as_bytes())?;
        self.buf.clear();
        let mut chunk = [0u8; 65536];
        loop {
            if let Some(end) = self.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&self.buf[..end]).to_ascii_lowercase();
                let len = head
                    .split("\r\n")
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .and_then(|v| v.trim().parse::<usize>().ok())
                    .ok_or("HTTP answer without Content-Length")?;
                if self.buf.len() >= end + 4 + len {
                    let status = head
                        .split(' ')
                        .nth(1)
                        .and_then(|s| s.parse().ok())
                        .ok_or("bad status line")?;
                    let body = String::from_utf8_lossy(&self.buf[end + 4..end + 4 + len]);
                    let body = body.into_owned();
                    // The server ends a keep-alive connection after so many requests.
                    if head.contains("\r\nconnection: close") {
                        self.s = Self::open(self.addr)?;
                    }
                    return Ok((status, body));
                }
            }
            let n = self.s.read(&mut chunk)?;
            if n == 0 {
                return Err("connection closed by the server".into());
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;")
}

fn soap(token: &str, body: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Header><ABApplicationHeader xmlns="http://www.msn.com/webservices/AddressBook"><ApplicationId>CFE80F9D-180F-4399-82AB-413F33A1FA11</ApplicationId><IsMigration>false</IsMigration><PartnerScenario>Initial</PartnerScenario></ABApplicationHeader><ABAuthHeader xmlns="http://www.msn.com/webservices/AddressBook"><ManagedGroupRequest>false</ManagedGroupRequest><TicketToken>{}</TicketToken></ABAuthHeader></soap:Header><soap:Body>{body}</soap:Body></soap:Envelope>"#,
        esc(token)
    )
}

const FIND_ALL: &str = r#"<ABFindAll xmlns="http://www.msn.com/webservices/AddressBook"><abId>00000000-0000-0000-0000-000000000000</abId><abView>Full</abView><deltasOnly>false</deltasOnly><lastChange>0001-01-01T00:00:00.0000000-08:00</lastChange></ABFindAll>"#;

/// A contacts.msn.com token for `handle` from RST.srf.
fn token(c: &mut Http, handle: &str, password: &str) -> R<String> {
    let body = format!(
        r#"<?xml version="1.0" encoding="utf-8"?><Envelope xmlns="http://schemas.xmlsoap.org/soap/envelope/" xmlns:wsse="http://schemas.xmlsoap.org/ws/2003/06/secext" xmlns:wsp="http://schemas.xmlsoap.org/ws/2002/12/policy" xmlns:wsa="http://schemas.xmlsoap.org/ws/2004/03/addressing" xmlns:wst="http://schemas.xmlsoap.org/ws/2004/04/trust"><Header><wsse:Security><wsse:UsernameToken Id="user"><wsse:Username>{}</wsse:Username><wsse:Password>{}</wsse:Password></wsse:UsernameToken></wsse:Security></Header><Body><ps:RequestMultipleSecurityTokens xmlns:ps="http://schemas.microsoft.com/Passport/SoapServices/PPCRL" Id="RSTS"><wst:RequestSecurityToken Id="RST0"><wst:RequestType>http://schemas.xmlsoap.org/ws/2004/04/security/trust/Issue</wst:RequestType><wsp:AppliesTo><wsa:EndpointReference><wsa:Address>contacts.msn.com</wsa:Address></wsa:EndpointReference></wsp:AppliesTo><wsse:PolicyReference URI="MBI"></wsse:PolicyReference></wst:RequestSecurityToken></ps:RequestMultipleSecurityTokens></Body></Envelope>"#,
        esc(handle),
        esc(password)
    );
    let (status, answer) = c.post("/RST.srf", &body)?;
    let token = answer
        .split("<wsse:BinarySecurityToken")
        .nth(1)
        .and_then(|t| t.split('>').nth(1))
        .and_then(|t| t.split('<').next())
        .filter(|t| !t.is_empty())
        .ok_or_else(|| format!("RST.srf gave no token (HTTP {status}): wrong password?"))?;
    Ok(token.replace("&amp;", "&"))
}

/// Runs the scenario and prints its RESULT line.
pub fn abfindall_scenario(target: &Target, a: AbookArgs) -> R<()> {
    let handle = |n: usize| format!("{}{n}@{}", target.prefix, target.domain);
    let mut c = Http::connect(a.http)?;
    let t = token(&mut c, &handle(a.first), &target.password)?;
    let (status, answer) = c.post("/abservice/abservice.asmx", &soap(&t, FIND_ALL))?;
    if status != 200 {
        return Err(format!("ABFindAll: HTTP {status}: {answer}").into());
    }
    let have = answer.matches("<contactType>Regular</contactType>").count();
    if have < a.contacts {
        eprintln!("adding {} contacts...", a.contacts - have);
        for n in a.first + 1..=a.first + a.contacts {
            let add = format!(
                r#"<ABContactAdd xmlns="http://www.msn.com/webservices/AddressBook"><abId>00000000-0000-0000-0000-000000000000</abId><contacts><Contact><contactInfo><passportName>{}</passportName><isMessengerUser>true</isMessengerUser></contactInfo></Contact></contacts></ABContactAdd>"#,
                handle(n)
            );
            let (status, answer) = c.post("/abservice/abservice.asmx", &soap(&t, &add))?;
            if status != 200 && !answer.contains("ContactAlreadyExists") {
                return Err(format!("ABContactAdd {}: HTTP {status}: {answer}", handle(n)).into());
            }
        }
    }
    for _ in 0..10 {
        c.post("/abservice/abservice.asmx", &soap(&t, FIND_ALL))?;
    }
    let mut lat = Samples::default();
    let mut bytes = 0;
    let mut contacts = 0;
    let request = soap(&t, FIND_ALL);
    let cpu0 = a.server_pid.and_then(|p| cpu_secs(Some(p)));
    let start = Instant::now();
    for _ in 0..a.count {
        let t0 = Instant::now();
        let (status, answer) = c.post("/abservice/abservice.asmx", &request)?;
        lat.push_d(t0.elapsed());
        if status != 200 {
            return Err(format!("ABFindAll: HTTP {status}").into());
        }
        bytes = answer.len();
        contacts = answer.matches("<contactType>Regular</contactType>").count();
    }
    let wall = start.elapsed().as_secs_f64();
    let cpu1 = a.server_pid.and_then(|p| cpu_secs(Some(p)));
    let mut r = Report::new("abfindall");
    r.kv("contacts", contacts)
        .kv("requests", a.count)
        .kv("answer_bytes", bytes)
        .kv("p50_ms", lat.ms(50.0))
        .kv("p99_ms", lat.ms(99.0))
        .kv("per_s", format!("{:.0}", a.count as f64 / wall));
    if let (Some(c0), Some(c1)) = (cpu0, cpu1) {
        r.kv(
            "server_cpu_ms_per_request",
            format!("{:.3}", (c1 - c0) * 1e3 / a.count as f64),
        );
    }
    r.print();
    Ok(())
}
