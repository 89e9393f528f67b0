//! HTTPS in the server (issue 9): Passport logins over msnpd's own TLS port with a client that
//! trusts only the generated CA, the legacy handshakes of Windows 98-XP, the certificate kit and
//! the CA download.
mod common;
use common::*;
use openssl::ssl::SslVersion;
use std::path::Path;

const USERS: &[(&str, &str)] = &[("alice@example.com", "secret")];

fn https_server() -> TestServer {
    TestServer::start_with(
        USERS,
        &["--chl-interval", "0", "--https-listen", "127.0.0.1:0"],
    )
}

fn ca_pem(server: &TestServer) -> Vec<u8> {
    std::fs::read(server.dir.path().join("ca.pem")).unwrap()
}

fn modern(_: &mut openssl::ssl::SslConnectorBuilder) {}

/// A client as old Windows builds it: SSL 3.0 or TLS 1.0, RSA key exchange, 3DES, SHA-1.
fn xp_like(version: SslVersion) -> impl FnOnce(&mut openssl::ssl::SslConnectorBuilder) {
    move |b| {
        b.clear_options(openssl::ssl::SslOptions::NO_SSLV3);
        b.set_security_level(0);
        b.set_min_proto_version(Some(version)).unwrap();
        b.set_max_proto_version(Some(version)).unwrap();
        b.set_cipher_list("DES-CBC3-SHA").unwrap();
    }
}

/// Follows the dispatch redirect to `USR n TWN S <challenge>`; returns the NS connection and the
/// challenge.
fn twn_challenge(server: &TestServer, version: u8) -> (Client, String) {
    let mut ds = server.connect();
    ds.send(&format!("VER 1 MSNP{version} CVR0"));
    ds.expect(&format!("VER 1 MSNP{version}"));
    ds.send("USR 2 TWN I alice@example.com");
    let xfr = ds.expect("XFR 2 NS ");
    let mut ns = Client::connect(xfr.split(' ').nth(3).unwrap().parse().unwrap());
    ns.send(&format!("VER 1 MSNP{version} CVR0"));
    ns.expect(&format!("VER 1 MSNP{version}"));
    ns.send("USR 2 TWN I alice@example.com");
    let s = ns.expect("USR 2 TWN S ");
    let challenge = s.split(' ').skip(4).collect::<Vec<_>>().join(" ");
    (ns, challenge)
}

/// MSN 5-7 (MSNP8): nexus over HTTPS answers a scheme-less DALogin, login2.srf over HTTPS issues
/// the ticket, the NS accepts it. Done once as a modern client and once as Windows XP would.
#[test]
fn msnp8_tweener_login_over_https() {
    let server = https_server();
    let https = server.https_addr();
    let ca = ca_pem(&server);
    let legacy = |b: &mut openssl::ssl::SslConnectorBuilder| xp_like(SslVersion::TLS1)(b);
    let tweaks: [&dyn Fn(&mut openssl::ssl::SslConnectorBuilder); 2] = [&modern, &legacy];
    for (i, tweak) in tweaks.into_iter().enumerate() {
        let nexus = https_request(
            https,
            "nexus.passport.com",
            &ca,
            "GET /rdr/pprdr.asp HTTP/1.1\r\n",
            b"",
            tweak,
        )
        .unwrap();
        assert_eq!(nexus.status, 200);
        assert_eq!(
            header(&nexus.headers, "PassportURLs"),
            Some("DALogin=nexus.passport.com/login2.srf"),
            "over HTTPS the login URL has no scheme"
        );
        let (mut ns, challenge) = twn_challenge(&server, 8);
        let auth = format!(
            "Authorization: Passport1.4 OrgVerb=GET,OrgURL=http%3A%2F%2Fmessenger%2Emsn%2Ecom,sign-in=alice%40example.com,pwd=secret,{challenge}\r\n"
        );
        let login = https_request(
            https,
            "login.passport.com",
            &ca,
            &format!("GET /login2.srf HTTP/1.1\r\n{auth}"),
            b"",
            tweak,
        )
        .unwrap();
        assert_eq!(login.status, 200, "round {i}");
        if i == 0 {
            assert_eq!(login.version, "TLSv1.3");
            // The ECDSA certificate: a handshake signature at a fraction of RSA's CPU cost.
            assert_eq!(login.cert_key, "EC");
            assert!(
                login.cert_signature.contains("sha256"),
                "{}",
                login.cert_signature
            );
        } else {
            assert_eq!(
                (login.version.as_str(), login.cipher.as_str()),
                ("TLSv1", "DES-CBC3-SHA")
            );
            assert!(
                login.cert_signature.contains("sha1"),
                "{}",
                login.cert_signature
            );
        }
        let info = header(&login.headers, "Authentication-Info").unwrap();
        let ticket = info
            .split("from-PP='")
            .nth(1)
            .unwrap()
            .trim_end_matches('\'');
        ns.send(&format!("USR 3 TWN S {ticket}"));
        ns.expect("USR 3 OK alice@example.com alice@example.com 1 0");
    }
}

/// MSN 7.5 (MSNP12): the RST SOAP login over HTTPS at loginnet.passport.com.
#[test]
fn msnp12_rst_login_over_https() {
    let server = https_server();
    let body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Envelope><Header><wsse:Security><wsse:UsernameToken Id=\"user\"><wsse:Username>alice@example.com</wsse:Username><wsse:Password>secret</wsse:Password></wsse:UsernameToken></wsse:Security></Header><Body/></Envelope>";
    let reply = https_request(
        server.https_addr(),
        "loginnet.passport.com",
        &ca_pem(&server),
        "POST /RST.srf HTTP/1.1\r\nContent-Type: text/xml\r\n",
        body.as_bytes(),
        modern,
    )
    .unwrap();
    assert_eq!(reply.status, 200);
    let text = String::from_utf8(reply.body).unwrap();
    let token = text
        .split("<wsse:BinarySecurityToken Id=\"Compact1\">")
        .nth(1)
        .unwrap()
        .split('<')
        .next()
        .unwrap()
        .replace("&amp;", "&");
    let (mut ns, _) = twn_challenge(&server, 12);
    ns.send(&format!("USR 3 TWN S {token}"));
    ns.expect("USR 3 OK alice@example.com 1 0");
}

/// The server certificate verifies for every Passport/Messenger name; a foreign name fails;
/// SSL 3.0 (IE 6 defaults) works; a modern client gets TLS 1.3 and never the legacy settings.
#[test]
fn chain_verifies_for_every_service_name() {
    let server = https_server();
    let https = server.https_addr();
    let ca = ca_pem(&server);
    for name in msnpd::tls::kit::SERVICE_NAMES
        .iter()
        .chain(&["localhost", "127.0.0.1"])
    {
        let r = https_request(
            https,
            name,
            &ca,
            "GET /rdr/pprdr.asp HTTP/1.1\r\n",
            b"",
            modern,
        )
        .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(r.status, 200);
    }
    let wrong = https_request(
        https,
        "www.example.com",
        &ca,
        "GET / HTTP/1.1\r\n",
        b"",
        modern,
    );
    assert!(wrong.is_err(), "certificate accepted for a foreign name");
    // A CA the client does not know: refused.
    let other = openssl::x509::X509::from_pem(
        &std::fs::read(server.dir.path().join("server.pem")).unwrap(),
    )
    .unwrap();
    assert!(
        https_request(
            https,
            "nexus.passport.com",
            &other.to_pem().unwrap(),
            "GET / HTTP/1.1\r\n",
            b"",
            modern
        )
        .is_err()
    );
    let ssl3 = https_request(
        https,
        "nexus.passport.com",
        &ca,
        "GET /rdr/pprdr.asp HTTP/1.1\r\n",
        b"",
        xp_like(SslVersion::SSL3),
    )
    .unwrap();
    assert_eq!(
        (ssl3.version.as_str(), ssl3.cipher.as_str()),
        ("SSLv3", "DES-CBC3-SHA")
    );
    assert_eq!(ssl3.cert_key, "RSA");
    // TLS 1.2 only: ECDHE with AES-GCM and the SHA-256 certificate, though 3DES is offered too.
    let tls12 = https_request(
        https,
        "login.live.com",
        &ca,
        "GET /rdr/pprdr.asp HTTP/1.1\r\n",
        b"",
        |b| {
            b.set_max_proto_version(Some(SslVersion::TLS1_2)).unwrap();
            b.set_cipher_list("DES-CBC3-SHA:ECDHE-RSA-AES128-GCM-SHA256:@SECLEVEL=0")
                .unwrap();
        },
    )
    .unwrap();
    assert_eq!(
        (tls12.version.as_str(), tls12.cipher.as_str()),
        ("TLSv1.2", "ECDHE-RSA-AES128-GCM-SHA256")
    );
    assert!(tls12.cert_signature.contains("sha256"));
    // A TLS 1.2 client without ECDSA suites gets the RSA certificate; one with them, ECDSA.
    assert_eq!(tls12.cert_key, "RSA");
    let tls12_ec = https_request(
        https,
        "login.live.com",
        &ca,
        "GET /rdr/pprdr.asp HTTP/1.1\r\n",
        b"",
        |b| b.set_max_proto_version(Some(SslVersion::TLS1_2)).unwrap(),
    )
    .unwrap();
    assert_eq!(
        (tls12_ec.cipher.as_str(), tls12_ec.cert_key.as_str()),
        ("ECDHE-ECDSA-AES128-GCM-SHA256", "EC")
    );
    // A TLS 1.0 client that also has AES gets AES, not 3DES.
    let tls10 = https_request(
        https,
        "nexus.passport.com",
        &ca,
        "GET /rdr/pprdr.asp HTTP/1.1\r\n",
        b"",
        |b| {
            b.set_security_level(0);
            b.set_max_proto_version(Some(SslVersion::TLS1)).unwrap();
            b.set_cipher_list("DES-CBC3-SHA:AES128-SHA").unwrap();
        },
    )
    .unwrap();
    assert_eq!(tls10.cipher, "AES128-SHA");
    // A handshake that never finishes does not disturb the others.
    let mut stalled = std::net::TcpStream::connect(https).unwrap();
    use std::io::Write;
    stalled.write_all(b"\x16\x03\x01").unwrap();
    https_request(
        https,
        "nexus.passport.com",
        &ca,
        "GET /rdr/pprdr.asp HTTP/1.1\r\n",
        b"",
        modern,
    )
    .unwrap();
}

fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// First start creates the kit with private keys 0600; the next start reuses it unchanged; the
/// plain HTTP side serves the CA.
#[test]
fn kit_is_created_once_and_reused_and_served() {
    let server = https_server();
    let dir = server.dir.path().to_path_buf();
    for f in [
        "ca.pem",
        "ca.cer",
        "ca.key",
        "server.pem",
        "server-legacy.pem",
        "server.key",
        "server-ec.pem",
        "server-ec.key",
    ] {
        assert!(dir.join(f).exists(), "{f} missing");
    }
    assert_eq!(mode(&dir.join("ca.key")), 0o600);
    assert_eq!(mode(&dir.join("server.key")), 0o600);
    assert_eq!(mode(&dir.join("server-ec.key")), 0o600);
    assert!(server.log_text().contains("created a private CA"));
    let read = |f: &str| std::fs::read(dir.join(f)).unwrap();
    let before = (read("ca.pem"), read("server.pem"), read("server.key"));
    let (status, hs, der) = http(server.http, "GET", "/msnpd-ca.cer", &[], b"");
    assert_eq!(status, 200);
    assert_eq!(
        header(&hs, "Content-Type"),
        Some("application/x-x509-ca-cert")
    );
    assert_eq!(der, read("ca.cer"));
    let ca = openssl::x509::X509::from_der(&der).unwrap();
    assert_eq!(ca.to_pem().unwrap(), before.0);
    let (status, _, pem) = http(server.http, "GET", "/msnpd-ca.pem", &[], b"");
    assert_eq!((status, pem), (200, before.0.clone()));

    let dir_handle = std::mem::replace(&mut { server }.dir, TempDir(std::path::PathBuf::new()));
    let db = dir.join("msnpd.db");
    let again = TestServer::start_on(dir_handle, db, &["--https-listen", "127.0.0.1:0"]);
    again.https_addr();
    assert!(
        again.log_text().contains("https: certificates from"),
        "{}",
        again.log_text()
    );
    assert_eq!(
        (read("ca.pem"), read("server.pem"), read("server.key")),
        before
    );
    // Restarts the server on the same kit after `prepare` changed it; returns the new server and
    // the key type a modern client's handshake got.
    let restart = |server: TestServer, prepare: &dyn Fn()| {
        let dir_handle = std::mem::replace(&mut { server }.dir, TempDir(std::path::PathBuf::new()));
        prepare();
        let next = TestServer::start_on(
            dir_handle,
            dir.join("msnpd.db"),
            &["--https-listen", "127.0.0.1:0"],
        );
        let r = https_request(
            next.https_addr(),
            "login.live.com",
            &before.0,
            "GET /rdr/pprdr.asp HTTP/1.1\r\n",
            b"",
            modern,
        )
        .unwrap();
        assert_eq!(r.status, 200);
        (next, r.cert_key)
    };
    let remove_ec = || {
        std::fs::remove_file(dir.join("server-ec.pem")).unwrap();
        std::fs::remove_file(dir.join("server-ec.key")).unwrap();
    };
    // A kit from before the ECDSA certificate gets one from its CA at the next start; the RSA
    // certificates the clients have seen stay.
    let (upgraded, key) = restart(again, &remove_ec);
    assert!(
        upgraded
            .log_text()
            .contains("https: issued new server certificates"),
        "{}",
        upgraded.log_text()
    );
    assert_eq!(
        (read("ca.pem"), read("server.pem"), read("server.key")),
        before
    );
    assert_eq!(mode(&dir.join("server-ec.key")), 0o600);
    assert_eq!(key, "EC");
    // When the ECDSA certificate cannot be written (here its temporary file's name is taken by a
    // directory), the server still starts and serves HTTPS with RSA.
    let (rsa_only, key) = restart(upgraded, &|| {
        remove_ec();
        std::fs::create_dir(dir.join("server-ec.tmp")).unwrap();
    });
    assert!(
        rsa_only
            .log_text()
            .contains("https: no ECDSA certificate, RSA only"),
        "{}",
        rsa_only.log_text()
    );
    assert_eq!(key, "RSA");
    std::fs::remove_dir(dir.join("server-ec.tmp")).unwrap();

    // `tls show` describes it; `tls init` re-issues server certificates under the same CA.
    let d = dir.to_str().unwrap();
    let (code, out, err) = msnpd(&["tls", "show", "--tls-dir", d], None);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("SHA-256 fingerprint: ") && out.contains("login.live.com"),
        "{out}"
    );
    assert!(out.contains("expires: "), "{out}");
    // (The kit has no ECDSA certificate at this point, which `show` accepts.)
    assert!(!out.contains("ECDSA"), "{out}");
    let (code, out, err) = msnpd(&["tls", "init", "--tls-dir", d, "--name", "chat.lan"], None);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("chat.lan"), "{out}");
    assert!(
        out.contains("server certificate (ECDSA, TLS 1.2+)"),
        "{out}"
    );
    assert_eq!(mode(&dir.join("server-ec.key")), 0o600);
    assert_eq!(read("ca.pem"), before.0);
    assert_ne!(read("server.pem"), before.1);
    assert_eq!(mode(&dir.join("server.key")), 0o600);
}

/// Without HTTPS there is no kit to download; bad values stop the server with a clear message.
#[test]
fn ca_download_needs_https_and_bad_values_are_errors() {
    let server = TestServer::start(USERS);
    let (status, _, _) = http(server.http, "GET", "/msnpd-ca.cer", &[], b"");
    assert_eq!(status, 404);
    assert!(
        !server.dir.path().join("ca.key").exists(),
        "kit created with HTTPS off"
    );
    let db = server.dir.path().join("x.db");
    let db = db.to_str().unwrap();
    for (args, msg) in [
        (vec!["--https-listen", "bogus"], "--https-listen"),
        (vec!["--http-listen", "127.0.0.1:0,nope"], "--http-listen"),
        (vec!["--tls-cert", "/nonexistent"], "together"),
        (
            vec![
                "--https-listen",
                "127.0.0.1:0",
                "--tls-cert",
                "/nonexistent.pem",
                "--tls-key",
                "/nonexistent.key",
            ],
            "/nonexistent.pem",
        ),
    ] {
        let mut all = vec![
            "serve",
            "--db",
            db,
            "--listen",
            "127.0.0.1:0",
            "--sb-listen",
            "127.0.0.1:0",
        ];
        if !args.contains(&"--http-listen") {
            all.extend(["--http-listen", "127.0.0.1:0"]);
        }
        all.extend(args);
        let (code, _, err) = msnpd(&all, None);
        assert_ne!(code, 0);
        assert!(err.contains(msg), "{err}");
    }
}

/// `--http-listen` takes a list; every address gets a listener.
#[test]
fn http_listen_takes_a_list() {
    let server = TestServer::start_with(USERS, &["--http-listen", "127.0.0.1:0,127.0.0.1:0"]);
    // Both lines come before the https one (here: none) and the "clients connect" hint.
    let deadline = std::time::Instant::now() + TIMEOUT;
    let addrs: Vec<std::net::SocketAddr> = loop {
        let log = server.log_text();
        let addrs: Vec<std::net::SocketAddr> = log
            .lines()
            .filter_map(|l| l.split("http listening on ").nth(1))
            .map(|a| a.trim().parse().unwrap())
            .collect();
        if addrs.len() == 2 {
            break addrs;
        }
        assert!(std::time::Instant::now() < deadline, "{log}");
        std::thread::sleep(std::time::Duration::from_millis(5));
    };
    for a in addrs {
        let (status, _, _) = http(a, "GET", "/rdr/pprdr.asp", &[], b"");
        assert_eq!(status, 200);
    }
}

/// gnutls-cli is an independent TLS implementation; Debian's openssl s_client has no 3DES.
/// Missing: a failure under CI, a loud skip elsewhere.
fn have_gnutls_cli() -> bool {
    let ok = std::process::Command::new("gnutls-cli")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            std::env::var_os("CI").is_none(),
            "gnutls-cli missing (apt-get install gnutls-bin)"
        );
        eprintln!("\n*** SKIPPED: gnutls-cli not installed (apt-get install gnutls-bin) ***\n");
    }
    ok
}

fn gnutls_get(https: std::net::SocketAddr, ca: &Path, priority: &str, host: &str) -> String {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let mut child = Command::new("gnutls-cli")
        .args(["--priority", priority, "--x509cafile"])
        .arg(ca)
        .args([
            "--verify-hostname",
            host,
            "-p",
            &https.port().to_string(),
            "127.0.0.1",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let req = format!("GET /rdr/pprdr.asp HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(req.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// What Windows XP sends (TLS 1.0, RSA, 3DES-CBC, SHA-1, and it accepts SHA-1 certificates)
/// completes and reaches the nexus; TLS 1.2 gets ECDHE and the SHA-256 certificate.
#[test]
fn gnutls_tls10_3des_and_tls12() {
    if !have_gnutls_cli() {
        return;
    }
    let server = https_server();
    let https = server.https_addr();
    let ca = server.dir.path().join("ca.pem");
    let xp = gnutls_get(
        https,
        &ca,
        "NONE:+VERS-TLS1.0:+RSA:+3DES-CBC:+SHA1:+COMP-NULL:+SIGN-ALL:+CTYPE-X509:%VERIFY_ALLOW_SIGN_WITH_SHA1",
        "nexus.passport.com",
    );
    assert!(
        xp.contains("(TLS1.0-X.509)-(RSA)-(3DES-CBC)-(SHA1)"),
        "{xp}"
    );
    assert!(xp.contains("The certificate is trusted"), "{xp}");
    assert!(
        xp.contains("PassportURLs: DALogin=nexus.passport.com/login2.srf"),
        "{xp}"
    );
    // The server ends the TLS session properly (close_notify), not with a bare TCP close.
    assert!(!xp.contains("terminated the connection abnormally"), "{xp}");
    let modern = gnutls_get(
        https,
        &ca,
        "NORMAL:-VERS-ALL:+VERS-TLS1.2",
        "login.live.com",
    );
    assert!(modern.contains("(TLS1.2-X.509)-(ECDHE-"), "{modern}");
    assert!(modern.contains("signed using RSA-SHA256"), "{modern}");
    assert!(modern.contains("The certificate is trusted"), "{modern}");
    assert!(
        modern.contains("PassportURLs: DALogin=login.live.com/login2.srf"),
        "{modern}"
    );
}

/// The page at `/` tells users what the running server offers: with HTTPS on and the generated
/// kit, the CA link and install steps; the HTTPS port in the address table.
#[test]
fn the_page_links_the_ca_when_https_is_on() {
    let server = https_server();
    let https = server.https_addr();
    let (status, _, body) = http(server.http, "GET", "/", &[], b"");
    assert_eq!(status, 200);
    let page = String::from_utf8(body).unwrap();
    assert!(page.contains("<a href=\"/msnpd-ca.cer\">"), "{page}");
    assert!(page.contains("Install Certificate"), "{page}");
    assert!(page.contains(&format!(":{}", https.port())), "{page}");
    assert!(!page.contains("does not offer HTTPS itself"), "{page}");

    // Without HTTPS the page says so and links no CA.
    let plain = TestServer::start_with(USERS, &["--chl-interval", "0"]);
    let (_, _, body) = http(plain.http, "GET", "/", &[], b"");
    let page = String::from_utf8(body).unwrap();
    assert!(page.contains("does not offer HTTPS itself"), "{page}");
    assert!(!page.contains("msnpd-ca.cer"), "{page}");
}

/// One GET over a fresh connection, offering `session` for resumption; returns whether the
/// server resumed it.
fn get_resuming(
    https: std::net::SocketAddr,
    connector: &openssl::ssl::SslConnector,
    session: Option<&openssl::ssl::SslSession>,
) -> bool {
    use std::io::{Read, Write};
    let tcp = std::net::TcpStream::connect(https).unwrap();
    tcp.set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    let mut ssl = connector
        .configure()
        .unwrap()
        .into_ssl("login.live.com")
        .unwrap();
    if let Some(s) = session {
        // SAFETY: the session comes from a connection made with the same connector.
        unsafe { ssl.set_session(s).unwrap() };
    }
    let mut s = openssl::ssl::SslStream::new(ssl, tcp).unwrap();
    s.connect().unwrap();
    s.write_all(
        b"GET /rdr/pprdr.asp HTTP/1.1\r\nHost: login.live.com\r\nConnection: close\r\n\r\n",
    )
    .unwrap();
    // Read to the end: TLS 1.3 tickets arrive after the handshake.
    let mut answer = Vec::new();
    let _ = s.read_to_end(&mut answer);
    assert!(answer.starts_with(b"HTTP/1.1 200"), "{answer:?}");
    // A client that closes without close_notify makes its own session unresumable (OpenSSL's
    // client side drops it), so close as a well-behaved client does.
    let _ = s.shutdown();
    s.ssl().session_reused()
}

/// A client making several HTTPS requests (WLM: RST.srf, then the address book and storage
/// services) resumes its TLS session instead of paying a full handshake each time: TLS 1.3
/// tickets, TLS 1.2, and the legacy TLS 1.0 path of Windows XP.
#[test]
fn tls_sessions_resume() {
    use std::sync::{Arc, Mutex};
    let server = https_server();
    let https = server.https_addr();
    let ca = ca_pem(&server);
    for version in [SslVersion::TLS1_3, SslVersion::TLS1_2, SslVersion::TLS1] {
        let mut b =
            openssl::ssl::SslConnector::builder(openssl::ssl::SslMethod::tls_client()).unwrap();
        let mut store = openssl::x509::store::X509StoreBuilder::new().unwrap();
        store
            .add_cert(openssl::x509::X509::from_pem(&ca).unwrap())
            .unwrap();
        b.set_cert_store(store.build());
        if version == SslVersion::TLS1 {
            xp_like(version)(&mut b);
        } else {
            b.set_max_proto_version(Some(version)).unwrap();
        }
        // The session to offer next: the newest one the server gave (a TLS 1.3 ticket arrives
        // after the handshake), kept as a client's session cache keeps it.
        let latest: Arc<Mutex<Option<openssl::ssl::SslSession>>> = Arc::default();
        b.set_session_cache_mode(openssl::ssl::SslSessionCacheMode::CLIENT);
        let keep = latest.clone();
        b.set_new_session_callback(move |_, s| *keep.lock().unwrap() = Some(s));
        let connector = b.build();
        assert!(!get_resuming(https, &connector, None), "{version:?}: first");
        for round in 2..=3 {
            let session = latest.lock().unwrap().clone().expect("a session to resume");
            assert_eq!(session.protocol_version(), version);
            assert!(
                get_resuming(https, &connector, Some(&session)),
                "{version:?}: connection {round} not resumed"
            );
        }
    }
}
