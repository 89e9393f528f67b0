//! Test harness: starts the real `msnpd` binary on ephemeral loopback ports with a temporary
//! database and talks MSNP to it over TCP, byte for byte.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_msnpd");
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// A temporary directory removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new() -> TempDir {
        static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let p =
            std::env::temp_dir().join(format!("msnpd-test-{}-{n}-{}", std::process::id(), nanos()));
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn nanos() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}

/// The binary under test: this build's `msnpd`, or `$MSNPD_BIN` run through `$MSNPD_RUNNER`
/// (e.g. `qemu-aarch64 -L /usr/aarch64-linux-gnu` for the ARM leg).
pub fn command() -> Command {
    let bin = std::env::var("MSNPD_BIN").unwrap_or_else(|_| BIN.to_string());
    match std::env::var("MSNPD_RUNNER") {
        Ok(runner) if !runner.trim().is_empty() => {
            let mut parts = runner.split_whitespace();
            let mut c = Command::new(parts.next().unwrap());
            c.args(parts).arg(bin);
            c
        }
        _ => Command::new(bin),
    }
}

/// Runs `msnpd` with `args`; returns (exit code, stdout, stderr).
pub fn msnpd(args: &[&str], stdin: Option<&str>) -> (i32, String, String) {
    let mut child = command()
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run msnpd");
    {
        let mut si = child.stdin.take().unwrap();
        if let Some(s) = stdin {
            si.write_all(s.as_bytes()).unwrap();
        }
    }
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

pub struct TestServer {
    pub dir: TempDir,
    pub db: PathBuf,
    pub ns: SocketAddr,
    pub sb: SocketAddr,
    pub http: SocketAddr,
    pub child: Child,
    /// Everything the server logged so far.
    pub log: Arc<Mutex<Vec<String>>>,
}

impl TestServer {
    /// Starts a server with these accounts (`(email, password)`) and extra `serve` flags.
    pub fn start_with(users: &[(&str, &str)], extra: &[&str]) -> TestServer {
        let level = std::env::var("MSNPD_TEST_LOG").unwrap_or_else(|_| "debug".into());
        Self::start_with_log(users, extra, &level)
    }

    /// Creates the accounts and starts a server with `extra` flags and log level `level`.
    pub fn start_with_log(users: &[(&str, &str)], extra: &[&str], level: &str) -> TestServer {
        let dir = TempDir::new();
        let db = dir.path().join("msnpd.db");
        if !users.is_empty() {
            let list: String = users.iter().map(|(h, p)| format!("{h} {p}\n")).collect();
            let file = dir.path().join("users.txt");
            std::fs::write(&file, list).unwrap();
            let (code, _, err) = msnpd(
                &[
                    "user",
                    "import",
                    file.to_str().unwrap(),
                    "--db",
                    db.to_str().unwrap(),
                ],
                None,
            );
            assert_eq!(code, 0, "user import failed: {err}");
        }
        Self::start_logged(dir, db, extra, level)
    }

    /// The server's resident memory in KiB (VmRSS).
    pub fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap()
    }

    pub fn start(users: &[(&str, &str)]) -> TestServer {
        Self::start_with(users, &["--chl-interval", "0"])
    }

    /// Starts (or restarts) a server on an existing database.
    pub fn start_on(dir: TempDir, db: PathBuf, extra: &[&str]) -> TestServer {
        Self::start_logged(
            dir,
            db,
            extra,
            &std::env::var("MSNPD_TEST_LOG").unwrap_or_else(|_| "debug".into()),
        )
    }

    /// As `start_on`, with `RUST_LOG` set to `level`.
    pub fn start_logged(dir: TempDir, db: PathBuf, extra: &[&str], level: &str) -> TestServer {
        let db_arg = db.to_str().unwrap().to_string();
        let mut args = vec![
            "serve",
            "--db",
            &db_arg,
            "--listen",
            "127.0.0.1:0",
            "--sb-listen",
            "127.0.0.1:0",
            "--threads",
            "2",
        ];
        // Never the default ports 80 and 443 (tests may run as root): HTTPS only when asked for.
        if !extra.contains(&"--http-listen") {
            args.extend_from_slice(&["--http-listen", "127.0.0.1:0"]);
        }
        if !extra.contains(&"--xmpp-listen") {
            args.extend_from_slice(&["--xmpp-listen", "none"]);
        }
        if !extra.contains(&"--https-listen") {
            args.extend_from_slice(&["--https-listen", "none"]);
        }
        args.extend_from_slice(extra);
        start_serve_args(dir, db, &args[1..], Some(level))
    }

    pub fn log_text(&self) -> String {
        self.log.lock().unwrap().join("\n")
    }

    /// Stops the server with SIGTERM and waits; returns the exit code and how long it took.
    pub fn terminate(&mut self) -> (Option<i32>, Duration) {
        let t = Instant::now();
        unsafe_kill(self.child.id(), "TERM");
        let status = wait_timeout(&mut self.child, Duration::from_secs(5));
        (status, t.elapsed())
    }

    /// Restarts on the same database (after `terminate` or a kill).
    pub fn restart(self) -> TestServer {
        let mut me = self;
        let _ = me.child.kill();
        let _ = me.child.wait();
        let dir = std::mem::replace(&mut me.dir, TempDir(PathBuf::new()));
        let db = me.db.clone();
        std::mem::forget(me);
        TestServer::start_on(dir, db, &["--chl-interval", "0"])
    }

    pub fn connect(&self) -> Client {
        Client::connect(self.ns)
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn unsafe_kill(pid: u32, sig: &str) {
    let _ = Command::new("kill")
        .args([&format!("-{sig}"), &pid.to_string()])
        .status();
}

pub fn wait_timeout(child: &mut Child, d: Duration) -> Option<i32> {
    let end = Instant::now() + d;
    while Instant::now() < end {
        if let Ok(Some(s)) = child.try_wait() {
            return s.code();
        }
        // The polling interval of the wait for the exit, not a guess at its timing.
        std::thread::sleep(Duration::from_millis(10));
    }
    None
}

/// `read`, again after a signal. A socket with a read timeout is one of the cases where Linux
/// returns EINTR even under SA_RESTART (signal(7)), and a signal handler elsewhere in the test
/// process made `expect_closed` fail now and then with "Interrupted system call".
pub fn read_retrying(s: &mut TcpStream, buf: &mut [u8]) -> std::io::Result<usize> {
    loop {
        match s.read(buf) {
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            r => return r,
        }
    }
}

/// A raw MSNP connection.
pub struct Client {
    pub stream: TcpStream,
    buf: Vec<u8>,
    pub trid: u32,
}

impl Client {
    pub fn connect(addr: SocketAddr) -> Client {
        Client::over(TcpStream::connect(addr).expect("connect"))
    }

    /// Connects with `SO_RCVBUF` set *before* the handshake, so the window the kernel offers
    /// matches the small buffer. Shrinking it on a connected socket instead leaves a larger
    /// window already offered: the sender fills it, the kernel drops what does not fit, and the
    /// retransmissions back off exponentially — after a long stall the next byte can take
    /// longer than any read timeout to come (a CI failure of list_notices.rs).
    pub fn connect_with_receive_buffer(addr: SocketAddr, size: libc::c_int) -> Client {
        use std::os::fd::FromRawFd;
        let SocketAddr::V4(v4) = addr else {
            panic!("the test servers listen on IPv4 loopback")
        };
        // SAFETY: plain socket calls on a descriptor this function owns; the option value and
        // the address are correctly sized, and the descriptor is handed to TcpStream only once.
        unsafe {
            let fd = libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0);
            assert!(fd >= 0, "socket");
            let rc = libc::setsockopt(
                fd,
                libc::SOL_SOCKET,
                libc::SO_RCVBUF,
                &size as *const libc::c_int as *const libc::c_void,
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            );
            assert_eq!(rc, 0);
            let sin = libc::sockaddr_in {
                sin_family: libc::AF_INET as libc::sa_family_t,
                sin_port: v4.port().to_be(),
                sin_addr: libc::in_addr {
                    s_addr: u32::from(*v4.ip()).to_be(),
                },
                sin_zero: [0; 8],
            };
            let rc = libc::connect(
                fd,
                &sin as *const libc::sockaddr_in as *const libc::sockaddr,
                std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t,
            );
            assert_eq!(rc, 0, "connect: {}", std::io::Error::last_os_error());
            Client::over(TcpStream::from_raw_fd(fd))
        }
    }

    fn over(stream: TcpStream) -> Client {
        stream.set_read_timeout(Some(TIMEOUT)).unwrap();
        stream.set_nodelay(true).unwrap();
        Client {
            stream,
            buf: Vec::new(),
            trid: 0,
        }
    }

    /// Next transaction id.
    pub fn t(&mut self) -> u32 {
        self.trid += 1;
        self.trid
    }

    pub fn send(&mut self, line: &str) {
        self.stream
            .write_all(format!("{line}\r\n").as_bytes())
            .expect("send");
    }

    pub fn send_raw(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("send");
    }

    pub fn send_payload(&mut self, line: &str, payload: &[u8]) {
        let mut v = format!("{line}\r\n").into_bytes();
        v.extend_from_slice(payload);
        self.stream.write_all(&v).expect("send");
    }

    fn fill(&mut self) -> bool {
        let mut tmp = [0u8; 4096];
        match read_retrying(&mut self.stream, &mut tmp) {
            Ok(0) => false,
            Ok(n) => {
                self.buf.extend_from_slice(&tmp[..n]);
                true
            }
            Err(e) => panic!(
                "read failed (buffered: {:?}): {e}",
                String::from_utf8_lossy(&self.buf)
            ),
        }
    }

    /// The next line, without CRLF. Panics on timeout or close.
    pub fn line(&mut self) -> String {
        loop {
            if let Some(i) = self.buf.windows(2).position(|w| w == b"\r\n") {
                let l = String::from_utf8(self.buf[..i].to_vec()).unwrap();
                self.buf.drain(..i + 2);
                return l;
            }
            assert!(
                self.fill(),
                "connection closed (buffered: {:?})",
                String::from_utf8_lossy(&self.buf)
            );
        }
    }

    /// Exactly `n` payload bytes.
    pub fn payload(&mut self, n: usize) -> Vec<u8> {
        while self.buf.len() < n {
            assert!(self.fill(), "connection closed while reading a payload");
        }
        self.buf.drain(..n).collect()
    }

    /// The next line, which must start with `prefix`.
    pub fn expect(&mut self, prefix: &str) -> String {
        let l = self.line();
        assert!(l.starts_with(prefix), "expected `{prefix}...`, got `{l}`");
        l
    }

    /// Reads lines until one starts with `prefix`; returns it and the skipped lines.
    pub fn until(&mut self, prefix: &str) -> (String, Vec<String>) {
        let mut skipped = Vec::new();
        loop {
            let l = self.line();
            if l.starts_with(prefix) {
                return (l, skipped);
            }
            // Payload commands: skip their payload too.
            if let Some(n) = payload_len(&l) {
                self.payload(n);
            }
            skipped.push(l);
        }
    }

    /// Reads a payload command line and its payload.
    pub fn expect_payload(&mut self, prefix: &str) -> (String, Vec<u8>) {
        let l = self.expect(prefix);
        let n = payload_len(&l).expect("payload length");
        let p = self.payload(n);
        (l, p)
    }

    /// Asserts that the server closes the connection (after any pending lines).
    pub fn expect_closed(&mut self) -> Vec<String> {
        let mut lines = Vec::new();
        self.stream.set_read_timeout(Some(TIMEOUT)).unwrap();
        loop {
            if let Some(i) = self.buf.windows(2).position(|w| w == b"\r\n") {
                lines.push(String::from_utf8_lossy(&self.buf[..i]).into_owned());
                self.buf.drain(..i + 2);
                continue;
            }
            let mut tmp = [0u8; 4096];
            match read_retrying(&mut self.stream, &mut tmp) {
                Ok(0) => return lines,
                Ok(n) => self.buf.extend_from_slice(&tmp[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return lines,
                Err(e) => panic!("expected close, got {e} after {lines:?}"),
            }
        }
    }

    /// Asserts nothing arrives for `d`.
    pub fn expect_silence(&mut self, d: Duration) {
        self.stream.set_read_timeout(Some(d)).unwrap();
        let mut tmp = [0u8; 1024];
        let r = read_retrying(&mut self.stream, &mut tmp);
        self.stream.set_read_timeout(Some(TIMEOUT)).unwrap();
        match r {
            Ok(0) => panic!("connection closed"),
            Ok(n) => panic!("unexpected data: {:?}", String::from_utf8_lossy(&tmp[..n])),
            Err(_) => {}
        }
        assert!(
            self.buf.is_empty(),
            "unexpected buffered data: {:?}",
            String::from_utf8_lossy(&self.buf)
        );
    }
}

/// The payload length of a server line that carries one (MSG, GCF, UBX, QRY...).
pub fn payload_len(line: &str) -> Option<usize> {
    let verb = line.split(' ').next()?;
    if matches!(verb, "MSG" | "GCF" | "UBX" | "NOT" | "IPG") {
        line.rsplit(' ').next()?.parse().ok()
    } else {
        None
    }
}

pub fn md5_hex(s: &str) -> String {
    msnpd::auth::md5_hex(s.as_bytes())
}

/// Logs in with MD5 (MSNP2-7), following the dispatch redirect. Returns the connection after the
/// profile message, and the USR OK line.
pub fn login_md5(
    server: &TestServer,
    version: u8,
    handle: &str,
    password: &str,
) -> (Client, String) {
    login_md5_via(server, version, handle, password, &Client::connect)
}

/// [`login_md5`], with the notification connection opened by `connect_ns`.
pub fn login_md5_via(
    server: &TestServer,
    version: u8,
    handle: &str,
    password: &str,
    connect_ns: &dyn Fn(SocketAddr) -> Client,
) -> (Client, String) {
    // Dispatch.
    let mut ds = server.connect();
    let t = ds.t();
    ds.send(&format!("VER {t} MSNP{version} CVR0"));
    ds.expect(&format!("VER {t} MSNP{version}"));
    let t = ds.t();
    ds.send(&format!("INF {t}"));
    ds.expect(&format!("INF {t} MD5"));
    let t = ds.t();
    ds.send(&format!("USR {t} MD5 I {handle}"));
    let xfr = ds.expect(&format!("XFR {t} NS "));
    let addr: SocketAddr = xfr.split(' ').nth(3).unwrap().parse().unwrap();
    drop(ds);
    // Notification.
    let mut ns = connect_ns(addr);
    let t = ns.t();
    ns.send(&format!("VER {t} MSNP{version} CVR0"));
    ns.expect(&format!("VER {t} MSNP{version}"));
    let t = ns.t();
    ns.send(&format!("INF {t}"));
    ns.expect(&format!("INF {t} MD5"));
    let t = ns.t();
    ns.send(&format!("USR {t} MD5 I {handle}"));
    let s = ns.expect(&format!("USR {t} MD5 S "));
    let challenge = s.rsplit(' ').next().unwrap().to_string();
    let t = ns.t();
    ns.send(&format!(
        "USR {t} MD5 S {}",
        md5_hex(&format!("{challenge}{password}"))
    ));
    let ok = ns.expect(&format!("USR {t} OK {handle}"));
    let (_, profile) = ns.expect_payload("MSG Hotmail Hotmail ");
    assert!(String::from_utf8_lossy(&profile).contains("text/x-msmsgsprofile"));
    (ns, ok)
}

/// Logs in and completes the usual start: SYN (returns its lines) and CHG NLN.
pub fn online(server: &TestServer, version: u8, handle: &str, password: &str) -> Client {
    online_via(server, version, handle, password, &Client::connect)
}

/// [`online`], with the notification connection opened by `connect_ns`.
pub fn online_via(
    server: &TestServer,
    version: u8,
    handle: &str,
    password: &str,
    connect_ns: &dyn Fn(SocketAddr) -> Client,
) -> Client {
    let (mut c, _) = login_md5_via(server, version, handle, password, connect_ns);
    let t = c.t();
    c.send(&format!("SYN {t} 0"));
    c.expect(&format!("SYN {t} "));
    let t = c.t();
    c.send(&format!("CHG {t} NLN"));
    c.until(&format!("CHG {t} NLN"));
    c
}

/// A minimal HTTP/1.1 exchange: returns (status code, headers, body).
pub fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> (u16, Vec<(String, String)>, Vec<u8>) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(TIMEOUT)).unwrap();
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    let mut bytes = req.into_bytes();
    bytes.extend_from_slice(body);
    s.write_all(&bytes).unwrap();
    let mut resp = Vec::new();
    let _ = s.read_to_end(&mut resp);
    let split = resp
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("response head");
    let (status, hs) = response_head(&String::from_utf8_lossy(&resp[..split]));
    (status, hs, resp[split + 4..].to_vec())
}

/// The status code and headers of an HTTP response head (without its blank line).
pub fn response_head(head: &str) -> (u16, Vec<(String, String)>) {
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers = lines
        .filter_map(|l| l.split_once(": "))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    (status, headers)
}

pub fn header<'a>(hs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    hs.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

/// The Passport 1.4 dance: nexus, then login2.srf. Returns the from-PP ticket, or None on 401.
pub fn passport_ticket(
    server: &TestServer,
    handle: &str,
    password: &str,
    challenge: &str,
) -> Option<String> {
    let (status, hs, _) = http(server.http, "GET", "/rdr/pprdr.asp", &[], b"");
    assert_eq!(status, 200);
    let urls = header(&hs, "PassportURLs").expect("PassportURLs header, exact case");
    let login = urls.strip_prefix("DALogin=").expect("DALogin=");
    let path = login
        .strip_prefix(&format!("http://{}", server.http))
        .expect("DALogin points at us over http");
    let auth = format!(
        "Passport1.4 OrgVerb=GET,OrgURL=http%3A%2F%2Fmessenger%2Emsn%2Ecom,sign-in={},pwd={},{challenge}",
        handle.replace('@', "%40"),
        password
    );
    let (status, hs, _) = http(server.http, "GET", path, &[("Authorization", &auth)], b"");
    if status == 401 {
        assert!(
            header(&hs, "WWW-Authenticate")
                .unwrap()
                .contains("da-status=failed")
        );
        return None;
    }
    assert_eq!(status, 200);
    let info = header(&hs, "Authentication-Info").expect("Authentication-Info");
    assert!(info.starts_with("Passport1.4 da-status=success,"), "{info}");
    let t = info
        .split("from-PP='")
        .nth(1)
        .unwrap()
        .trim_end_matches('\'');
    Some(t.to_string())
}

/// Tweener login (MSNP8+) with the dispatch redirect. Returns the NS connection after the
/// profile, the USR OK line and the profile text.
pub fn login_twn(
    server: &TestServer,
    version: u8,
    handle: &str,
    password: &str,
) -> (Client, String, String) {
    let mut ds = server.connect();
    ds.send(&format!("VER 1 MSNP{version} CVR0"));
    ds.expect(&format!("VER 1 MSNP{version}"));
    ds.send(&format!(
        "CVR 2 0x0409 winnt 5.1 i386 MSNMSGR 7.0.0777 MSMSGS {handle}"
    ));
    ds.expect("CVR 2 ");
    ds.send(&format!("USR 3 TWN I {handle}"));
    let xfr = ds.expect("XFR 3 NS ");
    let addr: SocketAddr = xfr.split(' ').nth(3).unwrap().parse().unwrap();
    let mut ns = Client::connect(addr);
    ns.send(&format!("VER 1 MSNP{version} CVR0"));
    ns.expect(&format!("VER 1 MSNP{version}"));
    ns.send(&format!(
        "CVR 2 0x0409 winnt 5.1 i386 MSNMSGR 7.0.0777 MSMSGS {handle}"
    ));
    ns.expect("CVR 2 ");
    ns.send(&format!("USR 3 TWN I {handle}"));
    let s = ns.expect("USR 3 TWN S ");
    let challenge = s.rsplit(' ').next().unwrap().to_string();
    let ticket = passport_ticket(server, handle, password, &challenge).expect("login accepted");
    ns.send(&format!("USR 4 TWN S {ticket}"));
    let ok = ns.expect("USR 4 OK ");
    if version >= 11 {
        ns.expect("SBS 0 null");
    }
    let (_, profile) = ns.expect_payload("MSG Hotmail Hotmail ");
    // MSNP8+: the initial e-mail message follows the profile.
    let (_, mail) = ns.expect_payload("MSG Hotmail Hotmail ");
    assert!(String::from_utf8_lossy(&mail).contains("text/x-msmsgsinitial"));
    ns.trid = 4;
    (ns, ok, String::from_utf8(profile).unwrap())
}

/// Any version: MD5 for 2-7, Tweener for 8+. Then SYN and CHG NLN.
pub fn online_any(server: &TestServer, version: u8, handle: &str, password: &str) -> Client {
    let mut c = if version >= 8 {
        login_twn(server, version, handle, password).0
    } else {
        login_md5(server, version, handle, password).0
    };
    let t = c.t();
    if version >= 10 {
        c.send(&format!("SYN {t} 0 0"));
    } else {
        c.send(&format!("SYN {t} 0"));
    }
    c.expect(&format!("SYN {t} "));
    let t = c.t();
    c.send(&format!("CHG {t} NLN 0"));
    c.until(&format!("CHG {t} NLN"));
    c
}

/// Helpers shared by the notification-server test files.
impl Client {
    /// Sends PNG and returns every line that arrived before its QNG.
    pub fn drain(&mut self) -> Vec<String> {
        self.send("PNG");
        self.until("QNG").1
    }

    /// Sends `VERB trid args` with the next trid; returns the trid and the first reply line.
    pub fn call(&mut self, verb: &str, args: &str) -> (u32, String) {
        let t = self.t();
        self.send(&format!("{verb} {t} {args}"));
        (t, self.line())
    }

    /// Asserts the reply is exactly `VERB trid expected`.
    pub fn ok(&mut self, verb: &str, args: &str, expected: &str) {
        let (t, l) = self.call(verb, args);
        assert_eq!(
            l,
            format!("{verb} {t} {expected}"),
            "reply to `{verb} {t} {args}`"
        );
    }

    /// Asserts the reply is exactly `code trid`.
    pub fn err(&mut self, verb: &str, args: &str, code: u16) {
        let (t, l) = self.call(verb, args);
        assert_eq!(l, format!("{code} {t}"), "reply to `{verb} {t} {args}`");
    }
}

/// Starts `msnpd serve` with exactly `args` (after `serve`), with `RUST_LOG` set to `rust_log`
/// or unset; waits for the three "listening on" lines.
pub fn start_serve_args(
    dir: TempDir,
    db: PathBuf,
    args: &[&str],
    rust_log: Option<&str>,
) -> TestServer {
    let mut cmd = command();
    cmd.arg("serve").args(args);
    // Test servers never take the machine's port 443 (tests run as root here).
    if !args.contains(&"--xmpp-listen") {
        cmd.args(["--xmpp-listen", "none"]);
    }
    if !args.contains(&"--https-listen") {
        cmd.args(["--https-listen", "none"]);
    }
    match rust_log {
        Some(l) => cmd.env("RUST_LOG", l),
        None => cmd.env_remove("RUST_LOG"),
    };
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start msnpd serve");
    let log = Arc::new(Mutex::new(Vec::new()));
    let (tx, rx) = std::sync::mpsc::channel();
    let stderr = child.stderr.take().unwrap();
    let log2 = log.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            if let Some(addr) = line.split("listening on ").nth(1) {
                let _ = tx.send(addr.trim().to_string());
            }
            log2.lock().unwrap().push(line);
        }
    });
    let mut addrs = Vec::new();
    while addrs.len() < 3 {
        match rx.recv_timeout(TIMEOUT) {
            Ok(a) => addrs.push(a.parse::<SocketAddr>().unwrap()),
            Err(_) => {
                let _ = child.kill();
                panic!("server did not start: {:?}", log.lock().unwrap());
            }
        }
    }
    TestServer {
        dir,
        db,
        ns: addrs[0],
        sb: addrs[1],
        http: addrs[2],
        child,
        log,
    }
}

impl TestServer {
    /// Waits until a log line contains `needle`; returns that line.
    pub fn wait_log(&self, needle: &str) -> String {
        let end = Instant::now() + TIMEOUT;
        loop {
            if let Some(l) = self.log.lock().unwrap().iter().find(|l| l.contains(needle)) {
                return l.clone();
            }
            assert!(
                Instant::now() < end,
                "no log line with {needle:?}: {}",
                self.log_text()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl TestServer {
    /// The address of the HTTPS listener (started with `--https-listen 127.0.0.1:0`), from the
    /// server's "https listening on" log line.
    pub fn https_addr(&self) -> SocketAddr {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let found = self.log.lock().unwrap().iter().find_map(|l| {
                l.split("https listening on ")
                    .nth(1)
                    .map(|a| a.trim().parse::<SocketAddr>().unwrap())
            });
            if let Some(a) = found {
                return a;
            }
            assert!(
                Instant::now() < deadline,
                "no https listener: {}",
                self.log_text()
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

/// What an HTTPS exchange saw: the status, headers and body, the protocol version, cipher and
/// the server certificate's signature algorithm and key type.
pub struct HttpsReply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub version: String,
    pub cipher: String,
    pub cert_signature: String,
    /// "RSA" or "EC": which of the server's certificates the handshake used.
    pub cert_key: String,
}

/// One HTTPS request to `addr` as a client that trusts only `ca_pem` and checks that the
/// server's certificate is valid for `host` (also sent as SNI and Host). `tweak` adjusts the
/// client's TLS settings (versions, suites).
pub fn https_request(
    addr: SocketAddr,
    host: &str,
    ca_pem: &[u8],
    raw_head: &str,
    body: &[u8],
    tweak: impl FnOnce(&mut openssl::ssl::SslConnectorBuilder),
) -> Result<HttpsReply, String> {
    use openssl::ssl::{SslConnector, SslMethod};
    use openssl::x509::X509;
    use openssl::x509::store::X509StoreBuilder;
    let mut store = X509StoreBuilder::new().unwrap();
    store.add_cert(X509::from_pem(ca_pem).unwrap()).unwrap();
    let mut b = SslConnector::builder(SslMethod::tls_client()).unwrap();
    b.set_cert_store(store.build());
    tweak(&mut b);
    let tcp = TcpStream::connect(addr).unwrap();
    tcp.set_read_timeout(Some(TIMEOUT)).unwrap();
    let mut s = b
        .build()
        .connect(host, tcp)
        .map_err(|e| format!("handshake for {host}: {e}"))?;
    let head = format!(
        "{raw_head}Host: {host}\r\nConnection: close\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).unwrap();
    s.write_all(body).unwrap();
    let mut resp = Vec::new();
    let _ = s.read_to_end(&mut resp);
    let split = resp
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or("no response head")?;
    let (status, headers) = response_head(&String::from_utf8_lossy(&resp[..split]));
    let ssl = s.ssl();
    Ok(HttpsReply {
        status,
        headers,
        body: resp[split + 4..].to_vec(),
        version: ssl.version_str().to_string(),
        cipher: ssl.current_cipher().map_or("", |c| c.name()).to_string(),
        cert_signature: ssl
            .peer_certificate()
            .map(|c| c.signature_algorithm().object().to_string())
            .unwrap_or_default(),
        cert_key: match ssl.peer_certificate().and_then(|c| c.public_key().ok()) {
            Some(k) if k.id() == openssl::pkey::Id::RSA => "RSA".into(),
            Some(k) if k.id() == openssl::pkey::Id::EC => "EC".into(),
            _ => String::new(),
        },
    })
}

/// A database at `db` with `users` (handle, password), and the configuration of a server run
/// inside the test process on it: loopback ports chosen by the kernel, one worker thread, no
/// HTTPS, no challenges. For tests that start `msnpd::Server` themselves.
pub fn in_process(db: &Path, users: &[(&str, &str)]) -> msnpd::Config {
    let mut d = msnpd::storage::Db::open(db).unwrap();
    d.migrate().unwrap();
    for (h, p) in users {
        d.create_user(h, &msnpd::auth::Credential::new(p)).unwrap();
    }
    drop(d);
    let mut config = msnpd::Config::new(db.to_path_buf());
    config.listen = "127.0.0.1:0".parse().unwrap();
    config.sb_listen = "127.0.0.1:0".parse().unwrap();
    config.http_listen = msnpd::server::listen::parse_list("127.0.0.1:0").unwrap();
    config.https_listen = None;
    config.xmpp_listen = None;
    config.threads = 1;
    config.chl_interval = None;
    config
}

/// Follows the dispatch redirect and stops at `USR 2 TWN S <challenge>` on the notification
/// server, ready for `USR 3 TWN S <ticket>`.
pub fn twn_challenged(server: &TestServer, version: u8, handle: &str) -> Client {
    let mut c = server.connect();
    c.send(&format!("VER 1 MSNP{version} CVR0"));
    c.expect(&format!("VER 1 MSNP{version}"));
    c.send(&format!("USR 2 TWN I {handle}"));
    let xfr = c.expect("XFR 2 NS ");
    let mut c = Client::connect(xfr.split(' ').nth(3).unwrap().parse().unwrap());
    c.send(&format!("VER 1 MSNP{version} CVR0"));
    c.expect(&format!("VER 1 MSNP{version}"));
    c.send(&format!("USR 2 TWN I {handle}"));
    c.expect("USR 2 TWN S ");
    c
}
