//! The web page at `/`, its downloads and status codes, and self-registration (`/register`,
//! `msnpd invite`), over real HTTP against the real server.

mod common;
use common::*;

const FORM: (&str, &str) = ("Content-Type", "application/x-www-form-urlencoded");

fn get(s: &TestServer, path: &str) -> (u16, Vec<(String, String)>, String) {
    let (code, hs, body) = http(s.http, "GET", path, &[], b"");
    (code, hs, String::from_utf8(body).expect("UTF-8 body"))
}

/// Percent-encodes a form value.
fn enc(v: &str) -> String {
    v.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' => (b as char).to_string(),
            b' ' => "+".into(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The CSRF token embedded in a form page.
fn token_of(html: &str) -> String {
    let start = html
        .find("name=\"token\" value=\"")
        .expect("form has a token")
        + 20;
    html[start..].split('"').next().unwrap().to_string()
}

/// A fresh form token.
fn token(s: &TestServer) -> String {
    let (code, _, html) = get(s, "/register");
    assert_eq!(code, 200, "{html}");
    token_of(&html)
}

/// Submits the registration form; returns (status, headers, body).
fn post(s: &TestServer, fields: &[(&str, &str)]) -> (u16, Vec<(String, String)>, String) {
    let body: Vec<String> = fields
        .iter()
        .map(|(k, v)| format!("{k}={}", enc(v)))
        .collect();
    let (code, hs, body) = http(
        s.http,
        "POST",
        "/register",
        &[FORM],
        body.join("&").as_bytes(),
    );
    (code, hs, String::from_utf8(body).unwrap())
}

/// Submits with a fresh token.
fn register(s: &TestServer, handle: &str, pw: &str, pw2: &str) -> (u16, String) {
    let t = token(s);
    let (code, _, body) = post(
        s,
        &[
            ("token", &t),
            ("handle", handle),
            ("password", pw),
            ("password2", pw2),
        ],
    );
    (code, body)
}

fn register_invite(s: &TestServer, handle: &str, invite: &str) -> (u16, String) {
    let t = token(s);
    let (code, _, body) = post(
        s,
        &[
            ("token", &t),
            ("handle", handle),
            ("password", "secret99"),
            ("password2", "secret99"),
            ("invite", invite),
        ],
    );
    (code, body)
}

#[test]
fn page_shows_this_servers_addresses_and_steps_per_client() {
    let s = TestServer::start_with(
        &[("alice@example.com", "pw")],
        &["--chl-interval", "0", "--name", "Kim's <LAN> & Co"],
    );
    let (code, hs, html) = get(&s, "/");
    assert_eq!(code, 200);
    assert_eq!(
        header(&hs, "Content-Type"),
        Some("text/html; charset=utf-8")
    );
    assert!(html.starts_with("<!DOCTYPE HTML PUBLIC \"-//W3C//DTD HTML 4.01//EN\""));
    assert!(
        html.contains("<meta http-equiv=\"Content-Type\" content=\"text/html; charset=utf-8\">")
    );
    assert!(
        !html.to_ascii_lowercase().contains("<script"),
        "no JavaScript"
    );
    assert!(
        html.contains("Kim&#39;s &lt;LAN&gt; &amp; Co"),
        "name escaped"
    );
    assert!(html.contains(&format!("127.0.0.1:{}", s.ns.port())));
    assert!(html.contains(&format!("127.0.0.1:{}", s.sb.port())));
    assert!(html.contains(&format!("http://127.0.0.1:{}/rdr/pprdr.asp", s.http.port())));
    for line in [
        "127.0.0.1       messenger.hotmail.com",
        "127.0.0.1       nexus.passport.com",
        "127.0.0.1       login.live.com",
    ] {
        assert!(html.contains(line), "missing hosts line {line}");
    }
    for family in [
        "MSN Messenger 1.0 - 4.7",
        "MSN Messenger 5.0 - 7.0",
        "MSN Messenger 7.5",
        "Windows Messenger",
        "Third-party clients",
        "msnp11-sdk",
    ] {
        assert!(html.contains(family), "no section for {family}");
    }
    // A test server is on an ephemeral port, not 1863: the page says the hosts file cannot help.
    assert!(html.contains(&format!("listens on port {} rather than 1863", s.ns.port())));
    // No HTTPS, CA or DNS yet: none is claimed; registration is closed by default.
    assert!(html.contains("does not offer HTTPS"));
    assert!(!html.contains("CA certificate") && !html.contains("DNS server"));
    assert!(html.contains("Accounts are created by the operator"));
    assert!(!html.contains("href=\"/register\""));
    assert!(html.contains("<b>0 people online.</b>"));
    // Someone online is counted but, without --public-presence, not named.
    let _alice = online(&s, 7, "alice@example.com", "pw");
    let (_, _, html) = get(&s, "/");
    assert!(html.contains("<b>1 person online.</b>"));
    assert!(!html.contains("alice@example.com"));
    // The same page under /index.html, and for HEAD without the body.
    assert_eq!(get(&s, "/index.html").0, 200);
    let (code, hs, body) = http(s.http, "HEAD", "/", &[], b"");
    assert_eq!((code, body.len()), (200, 0));
    assert!(
        header(&hs, "Content-Length")
            .unwrap()
            .parse::<usize>()
            .unwrap()
            > 1000
    );
}

#[test]
fn public_presence_lists_names_but_not_hidden_users() {
    let s = TestServer::start_with(
        &[("alice@example.com", "pw"), ("bob@example.com", "pw")],
        &["--chl-interval", "0", "--public-presence"],
    );
    let _alice = online(&s, 7, "alice@example.com", "pw");
    let (mut bob, _) = login_md5(&s, 7, "bob@example.com", "pw");
    let t = bob.t();
    bob.send(&format!("CHG {t} HDN"));
    bob.until(&format!("CHG {t} HDN"));
    let (_, _, html) = get(&s, "/");
    assert!(
        html.contains("<b>1 person online.</b> alice@example.com."),
        "{html}"
    );
    assert!(!html.contains("bob@example.com"));
}

#[test]
fn hosts_txt_favicon_healthz_and_status_codes() {
    let s = TestServer::start(&[]);
    let (code, hs, text) = get(&s, "/hosts.txt");
    assert_eq!(code, 200);
    assert!(
        header(&hs, "Content-Type")
            .unwrap()
            .starts_with("text/plain")
    );
    assert!(
        text.ends_with("\r\n") && !text.replace("\r\n", "").contains('\n'),
        "CRLF only"
    );
    let entries: Vec<&str> = text.lines().filter(|l| !l.starts_with('#')).collect();
    assert!(entries.len() >= 5);
    for host in [
        "messenger.hotmail.com",
        "nexus.passport.com",
        "login.passport.com",
    ] {
        assert!(
            entries
                .iter()
                .any(|l| l.split_whitespace().take(2).eq(["127.0.0.1", host])),
            "no `127.0.0.1 {host}` in {text}"
        );
    }

    let (code, hs, ico) = http(s.http, "GET", "/favicon.ico", &[], b"");
    assert_eq!(code, 200);
    assert_eq!(header(&hs, "Content-Type"), Some("image/x-icon"));
    assert_eq!(&ico[..6], &[0, 0, 1, 0, 1, 0]);

    let (code, _, body) = get(&s, "/healthz");
    assert_eq!((code, body.as_str()), (200, "ok\n"));

    assert_eq!(get(&s, "/nope").0, 404);
    assert_eq!(get(&s, "/register/x").0, 404);
    for (method, path, allow) in [
        ("POST", "/", "GET, HEAD"),
        ("DELETE", "/hosts.txt", "GET, HEAD"),
        ("PUT", "/healthz", "GET, HEAD"),
        ("POST", "/favicon.ico", "GET, HEAD"),
        ("DELETE", "/register", "GET, HEAD, POST"),
        ("POST", "/rdr/pprdr.asp", "GET"),
        ("GET", "/RST.srf", "POST"),
        ("PUT", "/Config/MsgrConfig.asmx", "GET, POST"),
    ] {
        let (code, hs, _) = http(s.http, method, path, &[], b"");
        assert_eq!(code, 405, "{method} {path}");
        assert_eq!(header(&hs, "Allow"), Some(allow), "{method} {path}");
    }
    // The Passport side still answers.
    assert_eq!(get(&s, "/rdr/pprdr.asp").0, 200);
}

#[test]
fn closed_registration_is_refused() {
    let s = TestServer::start(&[]);
    let (code, _, html) = get(&s, "/register");
    assert_eq!(code, 403);
    assert!(html.contains("registration closed"));
    assert!(!html.contains("name=\"token\""));
    let (code, _, _) = post(
        &s,
        &[
            ("handle", "x@example.com"),
            ("password", "secret99"),
            ("password2", "secret99"),
        ],
    );
    assert_eq!(code, 403);
    assert!(!s.log_text().contains("created by registration"));
}

#[test]
fn open_registration_creates_an_account_that_can_log_in() {
    let s = TestServer::start_with(
        &[("taken@example.com", "pw")],
        &["--chl-interval", "0", "--registration", "open"],
    );
    let (_, _, page) = get(&s, "/");
    assert!(page.contains("href=\"/register\""));
    let (code, hs, form) = get(&s, "/register");
    assert_eq!(code, 200);
    assert_eq!(header(&hs, "X-Frame-Options"), Some("DENY"));
    assert!(form.contains("name=\"handle\"") && form.contains("name=\"password2\""));
    assert!(
        !form.contains("name=\"invite\""),
        "no invite field in open mode"
    );

    let (code, html) = register(&s, "New.User@Example.com", "good pass 1", "good pass 1");
    assert_eq!(code, 200, "{html}");
    assert!(html.contains("<b id=\"created\">new.user@example.com</b>"));
    // The new account signs in, with MD5 (MSNP7) and with Passport (MSNP8).
    let _c = online(&s, 7, "new.user@example.com", "good pass 1");
    let (_ns, ok, _) = login_twn(&s, 8, "new.user@example.com", "good pass 1");
    assert!(ok.contains("new.user@example.com"));
    // And is listed by the CLI.
    let (_, out, _) = msnpd(&["user", "list", "--db", s.db.to_str().unwrap()], None);
    assert!(out.contains("new.user@example.com"));
}

#[test]
fn registration_errors_are_clear_and_keep_the_handle() {
    let s = TestServer::start_with(
        &[("taken@example.com", "pw")],
        &["--chl-interval", "0", "--registration", "open"],
    );
    let long = format!("{}@example.com", "a".repeat(130));
    let cases: &[(&str, &str, &str, u16, &str)] = &[
        (
            "taken@example.com",
            "secret99",
            "secret99",
            409,
            "is already taken",
        ),
        (
            "TAKEN@example.com",
            "secret99",
            "secret99",
            409,
            "is already taken",
        ),
        (
            "someone@example.com",
            "secret99",
            "secret98",
            400,
            "the two passwords differ",
        ),
        ("someone@example.com", "abc12", "abc12", 400, "too weak"),
        ("someone@example.com", "someone", "someone", 400, "too weak"),
        ("someone@example.com", "", "", 400, "the password is empty"),
        (
            "not an address",
            "secret99",
            "secret99",
            400,
            "not a valid e-mail address",
        ),
        (
            "<b>@example.com",
            "secret99",
            "secret99",
            400,
            "not a valid e-mail address",
        ),
        (
            "",
            "secret99",
            "secret99",
            400,
            "the e-mail address is empty",
        ),
        (&long, "secret99", "secret99", 400, "too long"),
    ];
    for (handle, pw, pw2, status, message) in cases {
        let (code, html) = register(&s, handle, pw, pw2);
        assert_eq!(code, *status, "{handle} {pw} {pw2}: {html}");
        assert!(html.contains(message), "{handle}: no `{message}` in {html}");
        // The form comes back with a fresh token and the handle kept (escaped), never the password.
        assert!(!token_of(&html).is_empty());
        if handle.starts_with('<') {
            assert!(html.contains("value=\"&lt;b&gt;@example.com\""));
            assert!(!html.contains("<b>@"));
        }
        if !pw.is_empty() {
            assert!(!html.contains(&format!("value=\"{pw}\"")));
        }
    }
    assert!(!s.log_text().contains("created by registration"));
}

#[test]
fn csrf_token_missing_forged_reused_or_foreign_is_refused() {
    let s = TestServer::start_with(&[], &["--chl-interval", "0", "--registration", "open"]);
    let other = TestServer::start_with(&[], &["--chl-interval", "0", "--registration", "open"]);
    let fields = |t: &str| {
        [
            ("token", t.to_string()),
            ("handle", "csrf@example.com".to_string()),
            ("password", "secret99".to_string()),
            ("password2", "secret99".to_string()),
        ]
    };
    let send = |t: &str| {
        let f = fields(t);
        let f: Vec<(&str, &str)> = f.iter().map(|(k, v)| (*k, v.as_str())).collect();
        post(&s, &f)
    };
    // Missing.
    let (code, _, html) = send("");
    assert_eq!(code, 403);
    assert!(html.contains("security token is missing"));
    // Forged: a changed MAC, an issue time moved to the past (as if expired) or the future, and
    // a token from another server.
    let good = token(&s);
    let parts: Vec<&str> = good.split('.').collect();
    let flipped = format!(
        "{}.{}.{}",
        parts[0],
        parts[1],
        parts[2].replace(
            &parts[2][..1],
            if &parts[2][..1] == "0" { "1" } else { "0" }
        )
    );
    let past = format!("1.{}.{}", parts[1], parts[2]);
    let future = format!("ffffffff.{}.{}", parts[1], parts[2]);
    for forged in [flipped, past, future, "x.y.z".into(), token(&other)] {
        let (code, _, html) = send(&forged);
        assert_eq!(code, 403, "{forged}");
        assert!(
            html.contains("security token is not valid"),
            "{forged}: {html}"
        );
    }
    // A good token works once; submitting the same form again is refused.
    let (code, _, html) = send(&good);
    assert_eq!(code, 200, "{html}");
    let (code, _, html) = send(&good);
    assert_eq!(code, 403);
    assert!(html.contains("already submitted"));
    // Form encoding other than urlencoded carries no token.
    let (code, _, _) = http(
        s.http,
        "POST",
        "/register",
        &[("Content-Type", "text/plain")],
        format!("token={}", token(&s)).as_bytes(),
    );
    assert_eq!(code, 403);
    // The log line is written by the server's thread: wait for it before counting (under load
    // it arrived after the count once).
    s.wait_log("created by registration");
    assert_eq!(s.log_text().matches("created by registration").count(), 1);
}

#[test]
fn registrations_per_address_are_rate_limited() {
    let s = TestServer::start_with(&[], &["--chl-interval", "0", "--registration", "open"]);
    for i in 0..5 {
        let (code, html) = register(&s, &format!("user{i}@example.com"), "secret99", "secret99");
        assert_eq!(code, 200, "{i}: {html}");
    }
    let t = token(&s);
    let (code, hs, html) = post(
        &s,
        &[
            ("token", &t),
            ("handle", "user5@example.com"),
            ("password", "secret99"),
            ("password2", "secret99"),
        ],
    );
    assert_eq!(code, 429);
    assert!(header(&hs, "Retry-After").unwrap().parse::<u64>().unwrap() > 60);
    assert!(html.contains("too many sign-ups from your address"));
    let (_, out, _) = msnpd(&["user", "list", "--db", s.db.to_str().unwrap()], None);
    assert_eq!(out.lines().count(), 5, "{out}");
}

fn invite_create(db: &str, extra: &[&str]) -> String {
    let mut args = vec![
        "invite",
        "create",
        "--db",
        db,
        "--url",
        "http://chat.example.org:8080",
    ];
    args.extend_from_slice(extra);
    let (code, out, err) = msnpd(&args, None);
    assert_eq!(code, 0, "{err}");
    let mut lines = out.lines();
    let code = lines.next().unwrap().to_string();
    assert_eq!(
        lines.next().unwrap(),
        format!("http://chat.example.org:8080/register?invite={code}")
    );
    code
}

#[test]
fn invite_mode_accepts_valid_codes_only() {
    let s = TestServer::start_with(&[], &["--chl-interval", "0", "--registration", "invite"]);
    let db = s.db.to_str().unwrap().to_string();
    let once = invite_create(&db, &[]);
    let twice = invite_create(&db, &["--uses", "2", "--expires", "7"]);
    let revoked = invite_create(&db, &[]);
    let (code, _, _) = msnpd(&["invite", "revoke", &revoked, "--db", &db], None);
    assert_eq!(code, 0);

    let (_, _, page) = get(&s, "/");
    assert!(page.contains("needs an invitation code"));
    // The link prefills the code (escaped).
    let (code, _, form) = get(&s, &format!("/register?invite={once}"));
    assert_eq!(code, 200);
    assert!(form.contains(&format!("name=\"invite\" value=\"{once}\"")));
    let (_, _, form) = get(&s, "/register?invite=%22%3E%3Cx");
    assert!(form.contains("value=\"&quot;&gt;&lt;x\""));

    let (code, html) = register_invite(&s, "a@example.com", "");
    assert_eq!(code, 400);
    assert!(html.contains("an invitation code is needed"));
    let (code, html) = register_invite(&s, "a@example.com", "NOPE-NOPE-NOPE");
    assert_eq!(code, 400);
    assert!(html.contains("does not exist"));
    let (code, html) = register_invite(&s, "a@example.com", &revoked);
    assert_eq!(code, 403);
    assert!(html.contains("has been revoked"));
    // Codes are accepted in any case and with stray blanks.
    let (code, html) = register_invite(&s, "a@example.com", &format!(" {} ", once.to_lowercase()));
    assert_eq!(code, 200, "{html}");
    let (code, html) = register_invite(&s, "b@example.com", &once);
    assert_eq!(code, 403);
    assert!(html.contains("already been used"));
    // A taken handle does not use up a code.
    let (code, _) = register_invite(&s, "a@example.com", &twice);
    assert_eq!(code, 409);
    assert_eq!(register_invite(&s, "b@example.com", &twice).0, 200);
    assert_eq!(register_invite(&s, "c@example.com", &twice).0, 200);
    assert_eq!(register_invite(&s, "d@example.com", &twice).0, 403);
    let _b = online(&s, 7, "b@example.com", "secret99");

    let (_, list, _) = msnpd(&["invite", "list", "--db", &db], None);
    let line = |c: &str| list.lines().find(|l| l.starts_with(c)).unwrap().to_string();
    assert!(
        line(&once).contains("1/1 used") && line(&once).ends_with("used up"),
        "{list}"
    );
    assert!(
        line(&twice).contains("2/2 used") && !line(&twice).contains("never"),
        "{list}"
    );
    assert!(line(&revoked).ends_with("revoked"), "{list}");
}

#[test]
fn invite_cli_creates_lists_and_revokes() {
    let dir = TempDir::new();
    let db = dir.path().join("msnpd.db");
    let db = db.to_str().unwrap();
    // `invite list` and `revoke` do not create a database.
    let (code, _, err) = msnpd(&["invite", "list", "--db", db], None);
    assert_eq!(code, 1);
    assert!(err.contains("does not exist"), "{err}");

    let (code, out, err) = msnpd(&["invite", "create", "--db", db, "--uses", "3"], None);
    assert_eq!(code, 0, "{err}");
    let mut lines = out.lines();
    let c = lines.next().unwrap();
    assert_eq!(c.len(), 14, "{out}");
    assert!(
        lines
            .next()
            .unwrap()
            .ends_with(&format!(":8080/register?invite={c}"))
    );
    assert!(err.contains("uses: 3, expires: never"), "{err}");

    let (code, out, _) = msnpd(&["invite", "list", "--db", db], None);
    assert_eq!(code, 0);
    assert_eq!(out, format!("{c}\t0/3 used\texpires never\tactive\n"));

    let (code, out, _) = msnpd(&["invite", "revoke", &c.to_lowercase(), "--db", db], None);
    assert_eq!((code, out), (0, format!("revoked {c}\n")));
    let (_, out, _) = msnpd(&["invite", "list", "--db", db], None);
    assert!(out.trim_end().ends_with("revoked"));

    let (code, _, err) = msnpd(&["invite", "revoke", "NOPE", "--db", db], None);
    assert_eq!(code, 1);
    assert_eq!(err, "msnpd: no invitation code NOPE\n");
    for (bad, message) in [
        (&["--uses", "0"][..], "msnpd: --uses must be at least 1\n"),
        (
            &["--expires", "0"],
            "msnpd: --expires must be at least 1 day\n",
        ),
    ] {
        let mut args = vec!["invite", "create", "--db", db];
        args.extend_from_slice(bad);
        let (code, _, err) = msnpd(&args, None);
        assert_eq!((code, err.as_str()), (1, message), "{bad:?}");
    }
    let (code, _, err) = msnpd(&["invite", "create", "--uses", "x", "--db", db], None);
    assert_eq!(code, 1);
    assert!(err.contains("'--uses'"), "{err}");
    // A bad --registration value is one clear line.
    let (code, _, err) = msnpd(&["serve", "--registration", "maybe", "--db", db], None);
    assert_eq!(code, 1);
    assert!(err.contains("open, invite or closed"), "{err}");
}

#[test]
fn one_route_table_folds_leading_slashes_and_hides_operator_paths() {
    let s = TestServer::start(&[]);
    // libpurple asks for `//RST.srf` and `//abservice/...`: the same as one slash.
    let (code, hs, _) = get(&s, "//rdr/pprdr.asp");
    assert_eq!(code, 200);
    assert!(header(&hs, "PassportURLs").is_some(), "{hs:?}");
    let (code, hs, _) = http(s.http, "GET", "//RST.srf", &[], b"");
    assert_eq!((code, header(&hs, "Allow")), (405, Some("POST")));
    assert_eq!(get(&s, "//healthz").0, 200);
    assert_eq!(get(&s, "///").0, 200);
    // The operator's and the gateway's paths answer another method as an unknown path.
    assert_eq!(http(s.http, "POST", "/status", &[], b"").0, 404);
    assert_eq!(get(&s, "/gateway/gateway.dll").0, 404);
    assert_eq!(http(s.http, "PUT", "/msnpd-ca.cer", &[], b"").0, 404);
}
