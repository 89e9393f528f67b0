//! A real browser on the web page: Debian's headless `chromium` driven through `chromedriver`
//! (the W3C WebDriver HTTP protocol, spoken here over a plain TcpStream). Opens `/`, checks the
//! instructions name this server's address, registers an account through the form (seeing the
//! errors for a taken handle and for mismatched passwords first), then signs that account in over
//! MSNP. Screenshots go to target/screenshots/.
//!
//! Needs `apt-get install chromium chromium-driver`. Without them the test fails when `CI` is set
//! and is skipped (loudly) otherwise.

mod common;
use common::*;
use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// The browser itself (`/usr/bin/chromium` is a shell wrapper that chromedriver cannot drive).
const CHROMIUM: &str = "/usr/lib/chromium/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
/// WebDriver's key for an element reference.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// A chromedriver process and one browser session in it; both end on drop.
struct Browser {
    driver: Child,
    port: u16,
    session: String,
    _profile: TempDir,
}

impl Browser {
    fn start() -> Browser {
        // The port is picked by binding port 0 and freeing it, so another process may take it
        // before chromedriver binds; chromedriver then exits at once, and we try another port.
        let (driver, port) = (0..3)
            .find_map(|_| Browser::start_driver())
            .expect("chromedriver did not start (3 ports tried)");
        let profile = TempDir::new();
        let mut b = Browser {
            driver,
            port,
            session: String::new(),
            _profile: TempDir(PathBuf::new()),
        };
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": CHROMIUM,
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                    "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
                    "--no-proxy-server", "--window-size=1000,1500",
                    format!("--user-data-dir={}", profile.path().display()),
                ]
            }
        }}});
        let v = b.call("POST", "/session", Some(caps));
        b.session = v["sessionId"].as_str().expect("session id").to_string();
        b._profile = profile;
        b
    }

    /// Starts chromedriver on a free port; `None` if it did not report "started successfully".
    fn start_driver() -> Option<(Child, u16)> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut driver = Command::new(CHROMEDRIVER)
            .args([format!("--port={port}"), "--allowed-ips=127.0.0.1".into()])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        // Wait for its "started successfully" line, not for a time.
        let out = driver.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines() {
                let Ok(line) = line else { break };
                if line.contains("started successfully") {
                    let _ = tx.send(());
                }
            }
        });
        if rx.recv_timeout(Duration::from_secs(15)).is_err() {
            let _ = driver.kill();
            let _ = driver.wait();
            return None;
        }
        Some((driver, port))
    }

    /// One WebDriver command; returns its `value`, panicking on a WebDriver error.
    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        write!(
            s,
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            self.port,
            body.len()
        )
        .unwrap();
        // chromedriver keeps the connection open: read exactly Content-Length bytes.
        let mut r = BufReader::new(s);
        let mut length = 0;
        loop {
            let mut line = String::new();
            r.read_line(&mut line).unwrap();
            if line == "\r\n" || line.is_empty() {
                break;
            }
            if let Some((k, v)) = line.split_once(':')
                && k.eq_ignore_ascii_case("content-length")
            {
                length = v.trim().parse().unwrap();
            }
        }
        let mut resp = vec![0u8; length];
        r.read_exact(&mut resp).unwrap();
        let v: Value = serde_json::from_slice(&resp).expect("JSON reply");
        let value = v["value"].clone();
        if let Some(e) = value.get("error") {
            panic!("WebDriver {method} {path}: {e} {}", value["message"]);
        }
        value
    }

    /// Runs `script` in the page; `None` when WebDriver reports an error (e.g. the page is
    /// being replaced by a navigation).
    fn script(&self, script: &str) -> Option<Value> {
        let path = self.s("/execute/sync");
        let body = json!({ "script": script, "args": [] });
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            self.call("POST", &path, Some(body))
        }))
        .ok()
    }

    fn s(&self, rest: &str) -> String {
        format!("/session/{}{rest}", self.session)
    }

    fn open(&self, url: &str) {
        self.call("POST", &self.s("/url"), Some(json!({ "url": url })));
    }

    fn find(&self, css: &str) -> String {
        let v = self.call(
            "POST",
            &self.s("/element"),
            Some(json!({"using": "css selector", "value": css})),
        );
        v[ELEMENT]
            .as_str()
            .unwrap_or_else(|| panic!("no element {css}: {v}"))
            .to_string()
    }

    fn text(&self, css: &str) -> String {
        let e = self.find(css);
        self.call("GET", &self.s(&format!("/element/{e}/text")), None)
            .as_str()
            .unwrap()
            .to_string()
    }

    fn click(&self, css: &str) {
        let e = self.find(css);
        self.call(
            "POST",
            &self.s(&format!("/element/{e}/click")),
            Some(json!({})),
        );
    }

    fn type_into(&self, css: &str, text: &str) {
        let e = self.find(css);
        self.call(
            "POST",
            &self.s(&format!("/element/{e}/clear")),
            Some(json!({})),
        );
        self.call(
            "POST",
            &self.s(&format!("/element/{e}/value")),
            Some(json!({ "text": text })),
        );
    }

    fn url(&self) -> String {
        self.call("GET", &self.s("/url"), None)
            .as_str()
            .unwrap()
            .to_string()
    }

    /// Saves a PNG of the viewport under target/screenshots/ and returns its path.
    fn screenshot(&self, name: &str) -> PathBuf {
        use base64::Engine;
        let b64 = self.call("GET", &self.s("/screenshot"), None);
        let png = base64::engine::general_purpose::STANDARD
            .decode(b64.as_str().unwrap())
            .unwrap();
        assert!(png.starts_with(b"\x89PNG"), "screenshot is a PNG");
        let dir = screenshot_dir();
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, png).unwrap();
        path
    }

    /// Fills and submits the registration form; returns the text of the page that follows.
    fn register(&self, handle: &str, pw: &str, pw2: &str) -> String {
        self.type_into("#handle", handle);
        self.type_into("#password", pw);
        self.type_into("#password2", pw2);
        // The click starts a form submission; wait until the answer page has replaced this
        // one (the marker set on this document is gone) instead of reading a stale page.
        self.script("window.msnpdOldPage = true; return null;");
        self.click("#submit");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let ready = self.script(
                "return (window.msnpdOldPage !== true && document.readyState === 'complete') \
                 ? document.body.innerText : null;",
            );
            if let Some(Value::String(text)) = ready {
                return text;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the form's answer page did not load"
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                self.call("DELETE", &self.s(""), None)
            }));
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

fn screenshot_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"));
    target.join("screenshots")
}

/// True when the browser is installed; otherwise fails under CI and skips loudly elsewhere.
fn browser_available() -> bool {
    if Path::new(CHROMIUM).exists() && Path::new(CHROMEDRIVER).exists() {
        return true;
    }
    let msg = format!(
        "{CHROMIUM} or {CHROMEDRIVER} missing: apt-get install -y chromium chromium-driver"
    );
    if std::env::var_os("CI").is_some() {
        panic!("{msg} (required when CI is set)");
    }
    eprintln!("\n*** SKIPPED browser test: {msg} ***\n");
    false
}

#[test]
fn register_through_the_form_and_sign_in() {
    if !browser_available() {
        return;
    }
    let server = TestServer::start_with(
        &[("taken@example.com", "pw")],
        &[
            "--chl-interval",
            "0",
            "--registration",
            "open",
            "--name",
            "LAN Party",
        ],
    );
    let base = format!("http://127.0.0.1:{}", server.http.port());
    let b = Browser::start();

    b.open(&format!("{base}/"));
    let page = b.text("body");
    assert!(page.contains("LAN Party"), "{page}");
    assert!(
        page.contains(&format!("127.0.0.1:{}", server.ns.port())),
        "{page}"
    );
    let hosts = b.text("pre");
    assert!(
        hosts.lines().any(|l| l
            .split_whitespace()
            .take(2)
            .eq(["127.0.0.1", "messenger.hotmail.com"])),
        "{hosts}"
    );
    assert!(page.contains(&format!(
        "http://127.0.0.1:{}/rdr/pprdr.asp",
        server.http.port()
    )));
    b.screenshot("page");

    b.click("a[href=\"/register\"]");
    assert_eq!(b.url(), format!("{base}/register"));
    b.screenshot("form");

    let text = b.register("taken@example.com", "secret99", "secret99");
    assert!(
        text.contains("taken@example.com is already taken"),
        "{text}"
    );
    b.screenshot("form-taken");

    let text = b.register("guest@example.com", "secret99", "secret98");
    assert!(text.contains("the two passwords differ"), "{text}");
    b.screenshot("form-mismatch");

    let text = b.register("Guest@Example.com", "party time", "party time");
    assert!(
        text.contains("Your account guest@example.com is ready"),
        "{text}"
    );
    b.screenshot("created");

    // The account made in the browser signs in over MSNP (MD5 and Passport).
    let _c = online(&server, 7, "guest@example.com", "party time");
    let (_ns, ok, _) = login_twn(&server, 8, "guest@example.com", "party time");
    assert!(ok.contains("guest@example.com"), "{ok}");
}
