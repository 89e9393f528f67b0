//! Operator commands and safety rails (issue 12, items 3-5): `--version`, `status`, `backup`,
//! migration backups, the config file and SIGHUP, the server lock, sign-outs from the `user`
//! commands, and the CLI's refusals. Every test runs the real binary.
mod common;
use common::*;
use std::io::{Read, Write};
use std::path::Path;
use std::process::Stdio;

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Exit code 1 with exactly one line on stderr; returns that line.
fn fails(args: &[&str], stdin: Option<&str>) -> String {
    let (code, out, err) = msnpd(args, stdin);
    assert_eq!(
        code, 1,
        "{args:?} should fail: stdout {out:?} stderr {err:?}"
    );
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(
        lines.len(),
        1,
        "expected one error line for {args:?}, got {err:?}"
    );
    lines[0].to_string()
}

/// The schema version of a database (the number of migrations, which other branches raise).
fn schema_of(db: &std::path::Path) -> i64 {
    rusqlite::Connection::open(db)
        .unwrap()
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap()
}

fn ok(args: &[&str], stdin: Option<&str>) -> String {
    let (code, out, err) = msnpd(args, stdin);
    assert_eq!(code, 0, "{args:?} failed: {err}");
    out
}

/// Whether a new connection to `addr` is served (VER answered) rather than dropped at once.
fn served(addr: std::net::SocketAddr) -> bool {
    let mut c = Client::connect(addr);
    c.send("VER 1 MSNP8 CVR0");
    let mut buf = [0u8; 64];
    matches!(read_retrying(&mut c.stream, &mut buf), Ok(n) if n > 0)
}

const CONNECT_ARGS: [&str; 8] = [
    "--listen",
    "127.0.0.1:0",
    "--sb-listen",
    "127.0.0.1:0",
    "--http-listen",
    "127.0.0.1:0",
    "--threads",
    "2",
];

#[test]
fn version_flag_and_start_line() {
    let v = env!("CARGO_PKG_VERSION");
    assert_eq!(ok(&["--version"], None).trim(), format!("msnpd {v}"));
    let server = TestServer::start(&[]);
    server.wait_log(&format!("msnpd {v} starting"));
}

#[test]
fn status_reports_database_listeners_and_who_is_online() {
    let server = TestServer::start(&[("alice@x.com", "pw"), ("bob@x.com", "pw")]);
    let _alice = online(&server, 7, "alice@x.com", "pw");
    let out = ok(&["status", "--db", s(&server.db)], None);
    let schema = schema_of(&server.db);
    assert!(
        out.contains(&format!(
            "database: {} (schema {schema}, 2 accounts)",
            server.db.display()
        )),
        "{out}"
    );
    assert!(
        out.contains(&format!("server: running (pid {})", server.child.id())),
        "{out}"
    );
    for addr in [server.ns, server.sb, server.http] {
        assert!(out.contains(&format!("on {addr}: answers")), "{out}");
    }
    assert!(out.contains("online: 1\n  alice@x.com\n"), "{out}");
    assert!(!out.contains("bob@x.com"), "{out}");
    // The password checks (Argon2) and their CPU time, which `msnpd-load login` subtracts from
    // the server's CPU per login: none for an MD5 login, one per Passport login.
    assert!(
        out.contains("password checks: 0 (0.0 ms CPU in all)"),
        "{out}"
    );
    assert!(passport_ticket(&server, "bob@x.com", "pw", "lc=1033,id=507").is_some());
    assert!(passport_ticket(&server, "bob@x.com", "wrong", "lc=1033,id=507").is_none());
    let out = ok(&["status", "--db", s(&server.db)], None);
    let checks = out
        .lines()
        .find_map(|l| l.strip_prefix("password checks: 2 ("))
        .unwrap_or_else(|| panic!("two password checks counted: {out}"));
    let ms: f64 = checks.split(' ').next().unwrap().parse().unwrap();
    assert!(ms > 1.0, "an Argon2 check costs milliseconds of CPU: {out}");

    // Without the token from the lock file, /status is just a 404.
    let (code, _, body) = http(server.http, "GET", "/status", &[], b"");
    assert_eq!(code, 404, "{body:?}");

    // No server on a database: status says so and exits 1.
    let dir = TempDir::new();
    let db = dir.path().join("idle.db");
    ok(
        &["user", "add", "c@x.com", "--password", "pw", "--db", s(&db)],
        None,
    );
    let (code, out, err) = msnpd(&["status", "--db", s(&db)], None);
    assert_eq!(code, 1, "{out} {err}");
    assert!(out.contains("server: not running"), "{out}");
    assert!(err.contains("problem"), "{err}");
}

#[test]
fn status_flags_a_loopback_public_host() {
    let server = TestServer::start_with(&[], &["--public-host", "127.0.0.1"]);
    let (code, out, _) = msnpd(&["status", "--db", s(&server.db)], None);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("public-host: 127.0.0.1 is 127.0.0.1 (loopback"),
        "{out}"
    );
}

#[test]
fn backup_copies_a_live_database_and_never_overwrites() {
    let server = TestServer::start(&[("alice@x.com", "pw")]);
    // Written by another process while the server runs: in the WAL, not yet in the main file.
    ok(
        &[
            "user",
            "add",
            "new@x.com",
            "--password",
            "pw",
            "--db",
            s(&server.db),
        ],
        None,
    );
    let copy = server.dir.path().join("copy.db");
    let out = ok(&["backup", s(&copy), "--db", s(&server.db)], None);
    let schema = schema_of(&server.db);
    assert!(
        out.contains(&format!("(schema {schema}, 2 accounts)")),
        "{out}"
    );
    let listed = ok(&["user", "list", "--db", s(&copy)], None);
    assert!(
        listed.contains("new@x.com") && listed.contains("alice@x.com"),
        "{listed}"
    );
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&copy).unwrap().permissions().mode();
    assert_eq!(
        mode & 0o077,
        0,
        "the backup holds password hashes: {mode:o}"
    );
    let e = fails(&["backup", s(&copy), "--db", s(&server.db)], None);
    assert!(e.contains("already exists"), "{e}");
}

#[test]
fn migration_backs_up_first_and_newer_schemas_are_refused() {
    let dir = TempDir::new();
    let db = dir.path().join("m.db");
    ok(
        &["user", "add", "a@x.com", "--password", "pw", "--db", s(&db)],
        None,
    );
    // Make it look like a database from the previous release (schema 1).
    {
        let c = rusqlite::Connection::open(&db).unwrap();
        c.execute_batch(
            "DROP TABLE invites; DROP TABLE server_secrets; DROP TABLE signouts; \
             DROP TABLE scram_keys; ALTER TABLE users DROP COLUMN cred_version; \
             PRAGMA user_version = 1;",
        )
        .unwrap();
    }
    let out = ok(&["user", "list", "--db", s(&db)], None);
    assert!(out.contains("a@x.com"), "{out}");
    let bak = dir.path().join("m.db.schema1.bak");
    let c = rusqlite::Connection::open(&bak).unwrap();
    let v: i64 = c
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap();
    assert_eq!(v, 1, "the backup keeps the old schema");
    let n: i64 = c
        .query_row("SELECT count(*) FROM users", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 1);

    // A database from a newer msnpd: refused, naming the file, and left alone.
    {
        let c = rusqlite::Connection::open(&db).unwrap();
        c.pragma_update(None, "user_version", 99).unwrap();
    }
    for args in [
        vec!["user", "list", "--db", s(&db)],
        vec!["user", "add", "b@x.com", "--password", "pw", "--db", s(&db)],
        vec![
            "serve",
            "--db",
            s(&db),
            "--listen",
            "127.0.0.1:0",
            "--sb-listen",
            "127.0.0.1:0",
            "--http-listen",
            "127.0.0.1:0",
        ],
    ] {
        let (code, _, err) = msnpd(&args, None);
        assert_eq!(code, 1, "{args:?}: {err}");
        let last = err.lines().last().unwrap();
        assert!(
            last.contains(s(&db)) && last.contains("newer msnpd"),
            "{last}"
        );
    }
    let c = rusqlite::Connection::open(&db).unwrap();
    let v: i64 = c
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap();
    assert_eq!(v, 99);
}

#[test]
fn config_file_unknown_keys_fail_and_flags_override_it() {
    let dir = TempDir::new();
    let conf = dir.path().join("msnpd.toml");
    std::fs::write(&conf, "max_per_ip = 1\n").unwrap();
    let e = fails(&["serve", "--config", s(&conf)], None);
    assert!(
        e.contains(s(&conf)) && e.contains("unknown key \"max_per_ip\""),
        "{e}"
    );
    std::fs::write(&conf, "max-per-ip = \"many\"\n").unwrap();
    let e = fails(&["serve", "--config", s(&conf)], None);
    assert!(e.contains("--max-per-ip") && e.contains(s(&conf)), "{e}");
    std::fs::write(&conf, "max-per-ip = \n").unwrap();
    let e = fails(&["serve", "--config", s(&conf)], None);
    assert!(e.contains("line 1"), "{e}");
    let e = fails(
        &["serve", "--config", s(&dir.path().join("none.toml"))],
        None,
    );
    assert!(e.contains("none.toml"), "{e}");

    // The file says one connection per address; the flag says five and wins.
    std::fs::write(&conf, "max-per-ip = 1\nchl-interval = 0\n").unwrap();
    let db = dir.path().join("m.db");
    let mut args = vec!["--config", s(&conf), "--db", s(&db), "--max-per-ip", "5"];
    args.extend_from_slice(&CONNECT_ARGS);
    let server = start_serve_args(TempDir::new(), db.clone(), &args, Some("info"));
    let _held = Client::connect(server.ns);
    assert!(served(server.ns), "--max-per-ip 5 overrides the file's 1");
    drop(server);

    // Without the flag, the file's limit applies; the file's db key is used.
    std::fs::write(&conf, format!("max-per-ip = 1\ndb = {:?}\n", s(&db))).unwrap();
    let mut args = vec!["--config", s(&conf)];
    args.extend_from_slice(&CONNECT_ARGS);
    let server = start_serve_args(TempDir::new(), db.clone(), &args, Some("info"));
    server.wait_log(&format!("database: {}", db.display()));
    let held = Client::connect(server.ns);
    assert!(!served(server.ns), "the file's max-per-ip 1 applies");
    drop(held);
}

#[test]
fn sighup_reloads_limits_and_log_level_and_logs_what_changed() {
    let dir = TempDir::new();
    let conf = dir.path().join("msnpd.toml");
    let db = dir.path().join("m.db");
    std::fs::write(&conf, "max-per-ip = 1\nlog-level = \"info\"\n").unwrap();
    let mut args = vec!["--config", s(&conf), "--db", s(&db)];
    args.extend_from_slice(&CONNECT_ARGS);
    let server = start_serve_args(TempDir::new(), db.clone(), &args, None);
    let held = Client::connect(server.ns);
    assert!(!served(server.ns), "one connection per address");

    std::fs::write(&conf, "max-per-ip = 3\nlog-level = \"debug\"\n").unwrap();
    unsafe_kill(server.child.id(), "HUP");
    let line = server.wait_log("reloaded");
    assert!(line.contains("max-per-ip 1 -> 3"), "{line}");
    assert!(line.contains("log-level INFO -> DEBUG"), "{line}");
    assert!(
        served(server.ns),
        "the new limit applies to new connections"
    );
    // Debug lines now appear (each HTTP request is logged at debug).
    let _ = http(server.http, "GET", "/nothing", &[], b"");
    server.wait_log("/nothing -> 404");

    // A broken file changes nothing and the server keeps running.
    std::fs::write(&conf, "max-per-ip = 1\nbogus = 1\n").unwrap();
    unsafe_kill(server.child.id(), "HUP");
    let line = server.wait_log("failed, settings unchanged");
    assert!(line.contains("bogus"), "{line}");
    assert!(served(server.ns), "still three per address");
    drop(held);
}

#[test]
fn a_second_server_on_the_same_database_is_refused() {
    let server = TestServer::start(&[("alice@x.com", "pw")]);
    let mut args = vec!["serve", "--db", s(&server.db)];
    args.extend_from_slice(&CONNECT_ARGS);
    let (code, _, err) = msnpd(&args, None);
    assert_eq!(code, 1, "{err}");
    let last = err.lines().last().unwrap();
    assert!(last.contains("in use by another msnpd serve"), "{last}");
    assert!(
        last.contains(&format!("pid {}", server.child.id())),
        "{last}"
    );
    assert!(last.contains(s(&server.db)), "{last}");
    // The user commands still work while the server runs.
    ok(
        &[
            "user",
            "add",
            "bob@x.com",
            "--password",
            "pw",
            "--db",
            s(&server.db),
        ],
        None,
    );
    let _bob = online(&server, 7, "bob@x.com", "pw");
}

#[test]
fn a_failed_bind_leaves_no_database_behind() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().to_string();
    let dir = TempDir::new();
    let db = dir.path().join("new.db");
    let (code, _, err) = msnpd(
        &[
            "serve",
            "--db",
            s(&db),
            "--listen",
            &port,
            "--sb-listen",
            "127.0.0.1:0",
            "--http-listen",
            "127.0.0.1:0",
        ],
        None,
    );
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains(&format!(
            "cannot listen for dispatch/notification on {port}"
        )),
        "{err}"
    );
    assert!(!db.exists(), "no database was created");
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "nothing at all was created"
    );
}

#[test]
fn del_and_passwd_sign_live_sessions_out() {
    let server = TestServer::start(&[("alice@x.com", "old"), ("bob@x.com", "pw")]);
    let mut alice = online(&server, 7, "alice@x.com", "old");
    let mut bob = online_any(&server, 11, "bob@x.com", "pw");
    ok(
        &[
            "user",
            "passwd",
            "alice@x.com",
            "--password",
            "new",
            "--db",
            s(&server.db),
        ],
        None,
    );
    let rest = alice.expect_closed();
    assert!(rest.iter().any(|l| l == "OUT OTH"), "{rest:?}");
    server.wait_log("alice@x.com: signed out (password changed)");
    let _alice = online(&server, 7, "alice@x.com", "new");

    ok(&["user", "del", "bob@x.com", "--db", s(&server.db)], None);
    let rest = bob.expect_closed();
    assert!(rest.iter().any(|l| l == "OUT OTH"), "{rest:?}");
    server.wait_log("bob@x.com: signed out (account deleted)");
}

#[test]
fn printing_commands_exit_quietly_on_a_closed_pipe() {
    let server = TestServer::start(&[("a@x.com", "pw"), ("b@x.com", "pw")]);
    for args in [
        vec!["user", "list", "--db", s(&server.db)],
        vec!["status", "--db", s(&server.db)],
        vec!["--version"],
        vec!["--help"],
    ] {
        let mut child = command()
            .args(&args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take()); // the reader is gone before anything is written
        let out = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        assert_ne!(out.status.code(), Some(101), "{args:?}: {err}");
    }
}

#[test]
fn empty_database_names_and_passwords_are_refused() {
    let dir = TempDir::new();
    let db = dir.path().join("m.db");
    for args in [
        vec!["user", "list", "--db", ""],
        vec!["user", "add", "a@x.com", "--password", "pw", "--db", ""],
        vec!["status", "--db", ""],
        vec!["backup", "x.db", "--db", ""],
        vec!["serve", "--db", "", "--listen", "127.0.0.1:0"],
    ] {
        let e = fails(&args, None);
        assert!(e.contains("database file name is empty"), "{args:?}: {e}");
    }
    let e = fails(
        &["user", "add", "a@x.com", "--password", "", "--db", s(&db)],
        None,
    );
    assert!(e.contains("empty password"), "{e}");
    assert!(!db.exists(), "nothing created");
    ok(
        &["user", "add", "a@x.com", "--password", "pw", "--db", s(&db)],
        None,
    );
    let e = fails(
        &[
            "user",
            "passwd",
            "a@x.com",
            "--password",
            "",
            "--db",
            s(&db),
        ],
        None,
    );
    assert!(e.contains("empty password"), "{e}");
    fails(&["user", "passwd", "a@x.com", "--db", s(&db)], Some("\n"));
    let file = dir.path().join("users.txt");
    std::fs::write(&file, "b@x.com\t\n").unwrap();
    let e = fails(&["user", "import", s(&file), "--db", s(&db)], None);
    assert!(
        e.contains("empty password for b@x.com") && e.contains("users.txt:1"),
        "{e}"
    );
}

/// Runs `args` on a pseudo-terminal (util-linux `script`), answering each prompt in `answers`
/// only once it has been shown; returns (exit code, everything the terminal showed).
fn on_terminal(args: &[&str], answers: &[(&str, &str)]) -> (i32, String) {
    let cmdline: Vec<String> = std::iter::once(BIN.to_string())
        .chain(args.iter().map(|a| format!("'{a}'")))
        .collect();
    let mut child = std::process::Command::new("script")
        .args(["-qec", &cmdline.join(" "), "/dev/null"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("script (util-linux) runs");
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut seen = String::new();
    let mut buf = [0u8; 256];
    for (prompt, answer) in answers {
        while seen.matches(prompt).count() < 1 {
            let n = stdout.read(&mut buf).unwrap();
            assert!(n > 0, "no prompt {prompt:?}: {seen:?}");
            seen.push_str(&String::from_utf8_lossy(&buf[..n]));
        }
        // Consume this prompt so the next one is waited for afresh.
        seen = seen.replacen(prompt, "<prompted>", 1);
        stdin.write_all(format!("{answer}\n").as_bytes()).unwrap();
    }
    drop(stdin);
    stdout.read_to_string(&mut seen).unwrap();
    let code = child.wait().unwrap().code().unwrap_or(-1);
    (code, seen)
}

#[test]
fn the_password_prompt_asks_twice_without_echo() {
    let dir = TempDir::new();
    let db = dir.path().join("m.db");
    let (code, shown) = on_terminal(
        &["user", "add", "a@x.com", "--db", s(&db)],
        &[
            ("Password: ", "s3cret word"),
            ("Repeat password: ", "s3cret word"),
        ],
    );
    assert_eq!(code, 0, "{shown}");
    assert!(
        !shown.contains("s3cret"),
        "the password was echoed: {shown:?}"
    );
    let server = TestServer::start_on(TempDir::new(), db.clone(), &["--chl-interval", "0"]);
    let _c = online(&server, 7, "a@x.com", "s3cret word");
    drop(server);

    let (code, shown) = on_terminal(
        &["user", "add", "b@x.com", "--db", s(&db)],
        &[("Password: ", "one"), ("Repeat password: ", "two")],
    );
    assert_eq!(code, 1, "{shown}");
    assert!(shown.contains("passwords differ"), "{shown}");
    assert!(!ok(&["user", "list", "--db", s(&db)], None).contains("b@x.com"));
}

#[test]
fn public_host_is_validated_and_ipv6_is_bracketed() {
    let dir = TempDir::new();
    let db = dir.path().join("m.db");
    let e = fails(
        &[
            "serve",
            "--db",
            s(&db),
            "--public-host",
            "10.0.0.5:9999",
            "--listen",
            "127.0.0.1:0",
        ],
        None,
    );
    assert!(
        e.contains("10.0.0.5:9999") && e.contains("without a port"),
        "{e}"
    );
    assert!(!db.exists());

    let server = TestServer::start_with(&[], &["--public-host", "2001:db8::5"]);
    let line = server.wait_log("clients connect to");
    assert!(
        line.contains(&format!(
            "clients connect to [2001:db8::5]:{}",
            server.ns.port()
        )),
        "{line}"
    );

    // An IPv6 listener: its addresses are printed with brackets.
    let mut args = vec![
        "--db",
        s(&db),
        "--listen",
        "[::1]:0",
        "--sb-listen",
        "[::1]:0",
        "--http-listen",
        "[::1]:0",
    ];
    args.extend_from_slice(&["--chl-interval", "0"]);
    let v6 = start_serve_args(TempDir::new(), db.clone(), &args, Some("info"));
    assert!(v6.ns.is_ipv6());
    let line = v6.wait_log("clients connect to");
    assert!(
        line.contains(&format!("clients connect to [::1]:{}", v6.ns.port())),
        "{line}"
    );
    // The redirect a client gets is a dialable address, too.
    let mut ds = Client::connect(v6.ns);
    ds.send("VER 1 MSNP7 CVR0");
    ds.expect("VER 1 MSNP7");
    ds.send("USR 2 MD5 I a@x.com");
    let xfr = ds.expect("XFR 2 NS ");
    assert!(xfr.contains(&format!("[::1]:{}", v6.ns.port())), "{xfr}");
}

#[test]
fn errors_name_the_database_file() {
    let dir = TempDir::new();
    let db = dir.path().join("no-such-dir").join("m.db");
    let e = fails(
        &["user", "add", "a@x.com", "--password", "pw", "--db", s(&db)],
        None,
    );
    assert!(e.contains(s(&db)), "{e}");
    let e = fails(&["user", "list", "--db", s(&db)], None);
    assert!(e.contains(s(&db)), "{e}");
    let e = fails(
        &["backup", s(&dir.path().join("b.db")), "--db", s(&db)],
        None,
    );
    assert!(e.contains(s(&db)), "{e}");
}

#[test]
fn import_names_conflicts_takes_tabs_and_shows_progress() {
    let dir = TempDir::new();
    let db = dir.path().join("m.db");
    ok(
        &[
            "user",
            "add",
            "taken@x.com",
            "--password",
            "pw",
            "--db",
            s(&db),
        ],
        None,
    );
    let file = dir.path().join("users.txt");
    std::fs::write(&file, "free@x.com pw\ntaken@x.com\tother pw\n").unwrap();
    let e = fails(&["user", "import", s(&file), "--db", s(&db)], None);
    assert!(e.contains("account taken@x.com already exists"), "{e}");
    assert!(e.contains("nothing was imported"), "{e}");

    // Tab-separated lines keep spaces in passwords; progress every 100 accounts off a terminal.
    let mut text = String::from("# a comment\nspace@x.com\tcorrect horse battery\n");
    for i in 0..100 {
        text.push_str(&format!("u{i}@x.com p{i}\n"));
    }
    std::fs::write(&file, text).unwrap();
    let (code, out, err) = msnpd(&["user", "import", s(&file), "--db", s(&db)], None);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("imported 101 accounts"), "{out}");
    assert!(err.contains("hashed 100/101"), "{err}");
    let server = TestServer::start_on(TempDir::new(), db.clone(), &["--chl-interval", "0"]);
    let _c = online(&server, 7, "space@x.com", "correct horse battery");
}

#[test]
fn journald_gets_lines_without_our_timestamp() {
    let dir = TempDir::new();
    let db = dir.path().join("m.db");
    let out = command()
        .args(["user", "add", "a@x.com", "--password", "pw", "--db", s(&db)])
        .env("JOURNAL_STREAM", "8:12345")
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    let line = err
        .lines()
        .find(|l| l.contains("migrated"))
        .expect("a log line");
    assert!(line.starts_with("[INFO "), "{line}");
    let out = command()
        .args([
            "user",
            "add",
            "b@x.com",
            "--password",
            "pw",
            "--db",
            s(&dir.path().join("n.db")),
        ])
        .env_remove("JOURNAL_STREAM")
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    let line = err
        .lines()
        .find(|l| l.contains("migrated"))
        .expect("a log line");
    assert!(
        line.starts_with("[20"),
        "a terminal gets a timestamp: {line}"
    );
}

#[test]
fn make_install_uses_the_built_binary_and_never_builds() {
    let root = env!("CARGO_MANIFEST_DIR");
    let dest = TempDir::new();
    // CARGO=false: any attempt to build fails the install.
    let missing = dest.path().join("none");
    let out = std::process::Command::new("make")
        .args(["-s", "-C", root, "install", "CARGO=false"])
        .arg(format!("DESTDIR={}", dest.path().display()))
        .arg(format!("BIN={}", missing.display()))
        .output()
        .expect("make runs");
    let err =
        String::from_utf8_lossy(&out.stderr).into_owned() + &String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success());
    assert!(err.contains("make release"), "{err}");
    let out = std::process::Command::new("make")
        .args(["-s", "-C", root, "install", "CARGO=false"])
        .arg(format!("DESTDIR={}", dest.path().display()))
        .arg(format!("BIN={BIN}"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(dest.path().join("usr/local/bin/msnpd").exists());
    assert!(
        dest.path()
            .join("etc/systemd/system/msnpd.service")
            .exists()
    );
    assert!(dest.path().join("etc/msnpd/msnpd.toml").exists());
}
