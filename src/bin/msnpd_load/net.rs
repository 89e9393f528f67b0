//! Async MSNP connections and a minimal HTTP/1.1 client, on smol.

use msnpd::dialect::{Challenge, Dialect};
use msnpd::protocol::command::ClientCommand;
use msnpd::protocol::command::misc::Qry;
use smol::Async;
use smol::io::{AsyncReadExt, AsyncWriteExt};
use std::cell::Cell;
use std::future::Future;
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::rc::Rc;
use std::time::{Duration, Instant};

pub type Error = Box<dyn std::error::Error>;
pub type R<T> = Result<T, Error>;

thread_local! {
    static IO_TIMEOUT: Cell<Duration> = const { Cell::new(Duration::from_secs(30)) };
}

/// Timeout applied to every wait for a reply.
pub fn set_io_timeout(d: Duration) {
    IO_TIMEOUT.with(|t| t.set(d));
}

pub fn io_timeout() -> Duration {
    IO_TIMEOUT.with(|t| t.get())
}

/// `fut`, or an error after `d`.
pub async fn timeout<T>(d: Duration, what: &str, fut: impl Future<Output = R<T>>) -> R<T> {
    let what = what.to_string();
    smol::future::or(fut, async move {
        smol::Timer::after(d).await;
        Err(format!("timed out after {d:?} waiting for {what}").into())
    })
    .await
}

pub fn resolve(addr: &str) -> R<SocketAddr> {
    addr.to_socket_addrs()?
        .next()
        .ok_or_else(|| format!("cannot resolve {addr}").into())
}

pub async fn connect(addr: SocketAddr) -> R<Async<TcpStream>> {
    let s = timeout(io_timeout(), "connect", async {
        Ok(Async::<TcpStream>::connect(addr)
            .await
            .map_err(|e| format!("connect {addr}: {e}"))?)
    })
    .await?;
    s.get_ref().set_nodelay(true)?;
    Ok(s)
}

/// How to answer `CHL` challenges: (product id, MSNP11 algorithm).
#[derive(Clone, Copy)]
pub struct ChlKeys {
    pub product: &'static str,
    pub msnp11: bool,
}

impl ChlKeys {
    pub fn for_dialect(dialect: &Dialect) -> ChlKeys {
        if dialect.challenge == Challenge::Msnp11 {
            ChlKeys {
                product: "PROD0090YUAUV{2B",
                msnp11: true,
            }
        } else {
            ChlKeys {
                product: "msmsgs@msnmsgr.com",
                msnp11: false,
            }
        }
    }
}

/// One server line and, for commands that carry one, its payload.
pub struct Frame {
    pub line: String,
    #[allow(dead_code)]
    pub payload: Option<Vec<u8>>,
}

impl Frame {
    pub fn starts(&self, prefix: &str) -> bool {
        self.line.starts_with(prefix)
    }
    pub fn arg(&self, i: usize) -> &str {
        self.line.split(' ').nth(i).unwrap_or("")
    }
}

/// The length of the payload that follows `line`, if its command carries one.
fn payload_len(line: &str) -> R<Option<usize>> {
    if !payload_verb(line) {
        return Ok(None);
    }
    let n = line
        .rsplit(' ')
        .next()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("bad payload length in `{line}`"))?;
    Ok(Some(n))
}

/// Server commands followed by a payload whose length is the last argument.
fn payload_verb(line: &str) -> bool {
    matches!(
        line.split(' ').next(),
        Some("MSG" | "GCF" | "UBX" | "NOT" | "IPG" | "UBN" | "UBM" | "SDG")
    )
}

/// A buffered MSNP connection. Answers `CHL` by itself while reading.
pub struct Conn {
    pub stream: Rc<Async<TcpStream>>,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    pub trid: u32,
    pub chl: Option<ChlKeys>,
    /// Challenges answered so far.
    pub chl_answered: u32,
}

impl Conn {
    pub async fn connect(addr: SocketAddr) -> R<Conn> {
        Ok(Conn::new(connect(addr).await?))
    }

    pub fn new(s: Async<TcpStream>) -> Conn {
        Conn {
            stream: Rc::new(s),
            buf: vec![0; 2048],
            start: 0,
            end: 0,
            trid: 0,
            chl: None,
            chl_answered: 0,
        }
    }

    /// Bytes read but not consumed yet.
    pub fn take_buffered(&mut self) -> Vec<u8> {
        let v = self.buf[self.start..self.end].to_vec();
        self.start = self.end;
        v
    }

    pub fn t(&mut self) -> u32 {
        self.trid += 1;
        self.trid
    }

    pub async fn send(&mut self, bytes: &[u8]) -> R<()> {
        (&*self.stream).write_all(bytes).await?;
        Ok(())
    }

    pub async fn send_line(&mut self, line: &str) -> R<()> {
        let mut v = Vec::with_capacity(line.len() + 2);
        v.extend_from_slice(line.as_bytes());
        v.extend_from_slice(b"\r\n");
        self.send(&v).await
    }

    /// Reads more bytes; false on EOF.
    async fn fill(&mut self) -> R<bool> {
        self.make_room();
        let n = (&*self.stream).read(&mut self.buf[self.end..]).await?;
        self.end += n;
        Ok(n > 0)
    }

    /// Reads what the socket holds now, without waiting (for the epoll loop of `fanout`);
    /// false on EOF.
    pub fn read_ready(&mut self) -> R<bool> {
        use std::io::Read;
        self.make_room();
        match self.stream.get_ref().read(&mut self.buf[self.end..]) {
            Ok(0) => Ok(false),
            Ok(n) => {
                self.end += n;
                Ok(true)
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => Ok(true),
            Err(e) => Err(e.into()),
        }
    }

    /// The next whole frame already read, if any (`CHL` answered and skipped), without waiting.
    pub fn try_frame(&mut self) -> R<Option<Frame>> {
        loop {
            let Some(i) = self.buf[self.start..self.end]
                .windows(2)
                .position(|w| w == b"\r\n")
            else {
                return Ok(None);
            };
            let line = String::from_utf8_lossy(&self.buf[self.start..self.start + i]).into_owned();
            let mut next = self.start + i + 2;
            let payload = if let Some(n) = payload_len(&line)? {
                if self.end - next < n {
                    return Ok(None);
                }
                next += n;
                Some(self.buf[next - n..next].to_vec())
            } else {
                None
            };
            self.start = next;
            if let Some(qry) = self.answer_chl(&line)? {
                use std::io::Write;
                self.stream.get_ref().write_all(&qry)?;
                continue;
            }
            return Ok(Some(Frame { line, payload }));
        }
    }

    /// The `QRY` that answers `line` if it is a challenge.
    fn answer_chl(&mut self, line: &str) -> R<Option<Vec<u8>>> {
        let (Some(keys), Some(ch)) = (self.chl, line.strip_prefix("CHL 0 ")) else {
            return Ok(None);
        };
        let ans = msnpd::auth::expected_qry(ch.trim(), keys.product, keys.msnp11)
            .ok_or("no key for this product id")?;
        let t = self.t();
        let qry = Qry {
            product: keys.product,
            answer: ans.as_bytes(),
        };
        // The dialect only shapes commands whose form changed; QRY's never did.
        let any = Dialect::get(msnpd::dialect::NEWEST).expect("served");
        self.chl_answered += 1;
        Ok(Some(qry.to_bytes(t, any)))
    }

    fn make_room(&mut self) {
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        } else if self.end == self.buf.len() {
            if self.start > 0 {
                self.buf.copy_within(self.start..self.end, 0);
                self.end -= self.start;
                self.start = 0;
            } else {
                let n = self.buf.len() * 2;
                self.buf.resize(n, 0);
            }
        }
    }

    async fn raw_line(&mut self) -> R<String> {
        loop {
            if let Some(i) = self.buf[self.start..self.end]
                .windows(2)
                .position(|w| w == b"\r\n")
            {
                let l = String::from_utf8_lossy(&self.buf[self.start..self.start + i]).into_owned();
                self.start += i + 2;
                return Ok(l);
            }
            if !self.fill().await? {
                return Err("connection closed by server".into());
            }
        }
    }

    async fn raw_payload(&mut self, n: usize) -> R<Vec<u8>> {
        while self.end - self.start < n {
            if !self.fill().await? {
                return Err("connection closed by server during a payload".into());
            }
        }
        let p = self.buf[self.start..self.start + n].to_vec();
        self.start += n;
        Ok(p)
    }

    /// The next frame, without a timeout; `CHL` is answered and skipped.
    pub async fn next_no_timeout(&mut self) -> R<Frame> {
        loop {
            let line = self.raw_line().await?;
            let payload = if let Some(n) = payload_len(&line)? {
                Some(self.raw_payload(n).await?)
            } else {
                None
            };
            if let Some(qry) = self.answer_chl(&line)? {
                self.send(&qry).await?;
                continue;
            }
            return Ok(Frame { line, payload });
        }
    }

    /// The next frame (`CHL` answered and skipped), within the I/O timeout.
    pub async fn next(&mut self) -> R<Frame> {
        let d = io_timeout();
        timeout(d, "a server line", self.next_no_timeout()).await
    }

    /// The next frame, which must start with `prefix`.
    pub async fn expect(&mut self, prefix: &str) -> R<Frame> {
        let f = self.next().await?;
        if f.starts(prefix) {
            Ok(f)
        } else {
            Err(format!("expected `{prefix}...`, got `{}`", f.line).into())
        }
    }

    /// Skips frames until one starts with `prefix`. A line starting with a three-digit error
    /// code and our trid (`code trid`) is an error.
    pub async fn until(&mut self, prefix: &str, trid: u32) -> R<Frame> {
        let d = io_timeout();
        let what = format!("`{prefix}`");
        timeout(d, &what, async {
            loop {
                let f = self.next_no_timeout().await?;
                if f.starts(prefix) {
                    return Ok(f);
                }
                let mut p = f.line.split(' ');
                if let (Some(code), Some(t)) = (p.next(), p.next())
                    && code.len() == 3
                    && code.bytes().all(|b| b.is_ascii_digit())
                    && t == trid.to_string()
                {
                    return Err(format!("server error `{}` waiting for `{prefix}`", f.line).into());
                }
            }
        })
        .await
    }
}

/// A parsed `http://host:port/path` URL.
pub struct Url {
    pub addr: SocketAddr,
    pub host: String,
    pub path: String,
}

pub fn parse_url(url: &str, default_host: &str) -> R<Url> {
    // No scheme means HTTPS on the real service; we only speak plain HTTP, to the same place.
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))
        .unwrap_or(url);
    let (hostport, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let hostport = if hostport.is_empty() {
        default_host
    } else {
        hostport
    };
    let hp = if hostport.contains(':') {
        hostport.to_string()
    } else {
        format!("{hostport}:80")
    };
    Ok(Url {
        addr: resolve(&hp)?,
        host: hostport.to_string(),
        path: path.to_string(),
    })
}

pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
}

impl HttpResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// GET with `Connection: close`; reads the whole answer.
pub async fn http_get(url: &Url, headers: &[(&str, &str)]) -> R<HttpResponse> {
    let mut req = format!(
        "GET {} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n",
        url.path, url.host
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    timeout(io_timeout(), "an HTTP answer", async {
        let s = connect(url.addr).await?;
        (&s).write_all(req.as_bytes()).await?;
        let mut resp = Vec::new();
        let mut tmp = [0u8; 4096];
        loop {
            let n = match (&s).read(&mut tmp).await {
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => 0,
                Err(e) => return Err(e.into()),
            };
            if n == 0 {
                break;
            }
            resp.extend_from_slice(&tmp[..n]);
            if let Some(end) = resp.windows(4).position(|w| w == b"\r\n\r\n") {
                // Enough once the head and Content-Length bytes are in.
                let head = String::from_utf8_lossy(&resp[..end]).to_ascii_lowercase();
                if let Some(cl) = head
                    .split("\r\n")
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .and_then(|v| v.trim().parse::<usize>().ok())
                    && resp.len() >= end + 4 + cl
                {
                    break;
                }
            }
        }
        let end = resp
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .ok_or("HTTP answer without a head")?;
        let head = String::from_utf8_lossy(&resp[..end]).into_owned();
        let mut lines = head.split("\r\n");
        let status = lines
            .next()
            .and_then(|l| l.split(' ').nth(1))
            .and_then(|s| s.parse().ok())
            .ok_or("bad HTTP status line")?;
        let headers = lines
            .filter_map(|l| {
                l.split_once(':')
                    .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
            })
            .collect();
        Ok(HttpResponse { status, headers })
    })
    .await
}

/// Nanoseconds since the process started (monotonic), for timestamps inside payloads.
pub fn now_ns() -> u64 {
    static BASE: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    BASE.get_or_init(Instant::now).elapsed().as_nanos() as u64
}
