//! The `msnpd user ...` commands and `--help`.
mod common;
use common::*;
use std::path::Path;

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// `user list` as (handle, name) rows.
fn list(db: &Path) -> Vec<String> {
    let (code, out, err) = msnpd(&["user", "list", "--db", s(db)], None);
    assert_eq!(code, 0, "list failed: {err}");
    out.lines()
        .map(|l| l.split('\t').next().unwrap().to_string())
        .collect()
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
        "expected a one-line error for {args:?}, got {err:?}"
    );
    lines[0].to_string()
}

/// Tries an MD5 login on a running server; returns whether it succeeded.
fn can_login(server: &TestServer, handle: &str, password: &str) -> bool {
    let mut c = server.connect();
    c.send("VER 1 MSNP7 CVR0");
    c.expect("VER 1 MSNP7");
    c.send(&format!("USR 2 MD5 I {handle}"));
    let l = c.line();
    if !l.starts_with("XFR 2 NS ") {
        return false;
    }
    let mut ns = Client::connect(l.split(' ').nth(3).unwrap().parse().unwrap());
    ns.send("VER 1 MSNP7 CVR0");
    ns.expect("VER 1 MSNP7");
    ns.send(&format!("USR 2 MD5 I {handle}"));
    let l = ns.line();
    let Some(challenge) = l.strip_prefix("USR 2 MD5 S ") else {
        return false;
    };
    ns.send(&format!(
        "USR 3 MD5 S {}",
        md5_hex(&format!("{challenge}{password}"))
    ));
    let l = ns.line();
    l.starts_with(&format!("USR 3 OK {handle}"))
}

#[test]
fn add_list_passwd_del_round_trip() {
    let dir = TempDir::new();
    let db = dir.path().join("m.db");

    let (code, out, err) = msnpd(
        &[
            "user",
            "add",
            "Alice@Example.com",
            "--password",
            "one",
            "--db",
            s(&db),
        ],
        None,
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("alice@example.com"), "{out}");
    assert!(db.exists(), "user add creates the database");
    // Password from stdin.
    let (code, _, err) = msnpd(
        &["user", "add", "bob@example.com", "--db", s(&db)],
        Some("bobpw\n"),
    );
    assert_eq!(code, 0, "{err}");
    // Empty stdin password refused, nothing created.
    fails(
        &["user", "add", "carol@example.com", "--db", s(&db)],
        Some(""),
    );
    fails(
        &["user", "add", "carol@example.com", "--db", s(&db)],
        Some("\n"),
    );

    assert_eq!(list(&db), ["alice@example.com", "bob@example.com"]);
    let (_, out, _) = msnpd(&["user", "list", "--db", s(&db)], None);
    assert_eq!(
        out.lines().next().unwrap(),
        "alice@example.com\talice@example.com"
    );

    // Duplicate (in any case) → exit 1, list unchanged.
    let e = fails(
        &[
            "user",
            "add",
            "ALICE@example.com",
            "--password",
            "x",
            "--db",
            s(&db),
        ],
        None,
    );
    assert!(e.contains("alice@example.com"), "{e}");
    assert_eq!(list(&db).len(), 2);

    // passwd: --password and stdin; missing account → 1.
    let (code, _, err) = msnpd(
        &[
            "user",
            "passwd",
            "alice@example.com",
            "--password",
            "two",
            "--db",
            s(&db),
        ],
        None,
    );
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = msnpd(
        &["user", "passwd", "bob@example.com", "--db", s(&db)],
        Some("bob2\n"),
    );
    assert_eq!(code, 0, "{err}");
    fails(
        &[
            "user",
            "passwd",
            "nobody@example.com",
            "--password",
            "x",
            "--db",
            s(&db),
        ],
        None,
    );

    // The server sees the new passwords.
    let server = TestServer::start_on(dir, db.clone(), &["--chl-interval", "0"]);
    assert!(can_login(&server, "alice@example.com", "two"));
    assert!(!can_login(&server, "alice@example.com", "one"));
    assert!(can_login(&server, "bob@example.com", "bob2"));
    assert!(!can_login(&server, "bob@example.com", "bobpw"));

    // del (while the server runs); missing → 1.
    let (code, _, err) = msnpd(&["user", "del", "bob@example.com", "--db", s(&db)], None);
    assert_eq!(code, 0, "{err}");
    fails(&["user", "del", "bob@example.com", "--db", s(&db)], None);
    assert_eq!(list(&db), ["alice@example.com"]);
    assert!(!can_login(&server, "bob@example.com", "bob2"));
}

#[test]
fn invalid_handles_are_refused_with_one_line() {
    let dir = TempDir::new();
    let db = dir.path().join("m.db");
    let local = "a".repeat(129 - "@example.com".len());
    let max = format!("{local}@example.com");
    assert_eq!(max.len(), 129);
    let too_long = format!("{local}a@example.com");
    for bad in [
        "alice",
        "alice@",
        "@example.com",
        "alice@example",
        "a b@example.com",
        "alice@@example.com",
        &too_long,
    ] {
        let e = fails(
            &["user", "add", bad, "--password", "pw", "--db", s(&db)],
            None,
        );
        assert!(e.contains("invalid"), "{bad}: {e}");
        assert!(!db.exists(), "an invalid add must not create the database");
    }
    // 129 bytes is still fine.
    let (code, _, err) = msnpd(
        &["user", "add", &max, "--password", "pw", "--db", s(&db)],
        None,
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(list(&db), std::slice::from_ref(&max));
    for cmd in [["user", "passwd"], ["user", "del"]] {
        let mut args = cmd.to_vec();
        args.extend_from_slice(&["not-an-email", "--password", "pw", "--db", s(&db)]);
        if cmd[1] == "del" {
            args.retain(|a| *a != "--password" && *a != "pw");
        }
        fails(&args, None);
    }
    assert_eq!(list(&db), [max]);
}

#[test]
fn commands_on_a_missing_database_fail_without_creating_it() {
    let dir = TempDir::new();
    let db = dir.path().join("missing.db");
    fails(&["user", "list", "--db", s(&db)], None);
    fails(&["user", "del", "alice@example.com", "--db", s(&db)], None);
    fails(
        &[
            "user",
            "passwd",
            "alice@example.com",
            "--password",
            "x",
            "--db",
            s(&db),
        ],
        None,
    );
    // Without --password: refused before asking for one.
    fails(
        &["user", "passwd", "alice@example.com", "--db", s(&db)],
        None,
    );
    assert!(!db.exists());
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "no side files either"
    );
}

#[test]
fn import_is_all_or_nothing() {
    let dir = TempDir::new();
    let db = dir.path().join("m.db");
    let file = dir.path().join("users.txt");

    std::fs::write(
        &file,
        "# accounts\n\nalice@example.com apw\n  Bob@Example.com   bpw  \n",
    )
    .unwrap();
    let (code, out, err) = msnpd(&["user", "import", s(&file), "--db", s(&db)], None);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains('2'), "{out}");
    assert_eq!(list(&db), ["alice@example.com", "bob@example.com"]);

    // A bad line anywhere: named by number, nothing imported.
    let cases = [
        (
            "carol@example.com cpw\ndave@example.com dpw\nnot-an-email x\n",
            ":3:",
        ),
        ("carol@example.com cpw\n\n# c\ndave@example.com\n", ":4:"),
        ("carol@example.com cpw extra\n", ":1:"),
        ("carol@example.com cpw\nCAROL@example.com again\n", ":2:"),
    ];
    for (text, line) in cases {
        std::fs::write(&file, text).unwrap();
        let e = fails(&["user", "import", s(&file), "--db", s(&db)], None);
        assert!(e.contains(line), "expected {line} in {e:?}");
        assert_eq!(
            list(&db),
            ["alice@example.com", "bob@example.com"],
            "after {text:?}"
        );
    }
    // An account that already exists: nothing imported.
    std::fs::write(&file, "carol@example.com cpw\nalice@example.com new\n").unwrap();
    fails(&["user", "import", s(&file), "--db", s(&db)], None);
    assert_eq!(list(&db), ["alice@example.com", "bob@example.com"]);
    // Missing file.
    fails(
        &[
            "user",
            "import",
            s(&dir.path().join("nope.txt")),
            "--db",
            s(&db),
        ],
        None,
    );

    // Imported passwords work and alice's was not overwritten by the failed import.
    let server = TestServer::start_on(dir, db, &["--chl-interval", "0"]);
    assert!(can_login(&server, "alice@example.com", "apw"));
    assert!(can_login(&server, "bob@example.com", "bpw"));
    assert!(!can_login(&server, "carol@example.com", "cpw"));
}

#[test]
fn help_lists_subcommands() {
    let (code, out, err) = msnpd(&["--help"], None);
    assert_eq!(code, 0, "{err}");
    let text = format!("{out}{err}");
    for word in ["serve", "user"] {
        assert!(
            text.lines().any(|l| l.trim_start().starts_with(word)),
            "--help lacks {word}: {text}"
        );
    }
    let (code, out, err) = msnpd(&["user", "--help"], None);
    assert_eq!(code, 0, "{err}");
    let text = format!("{out}{err}");
    for word in ["add", "passwd", "del", "list", "import"] {
        assert!(
            text.lines().any(|l| l.trim_start().starts_with(word)),
            "user --help lacks {word}: {text}"
        );
    }
    // Unknown subcommand: nonzero.
    let (code, _, _) = msnpd(&["frobnicate"], None);
    assert_ne!(code, 0);
}

/// Lines of a full SYN (from version 0), ended by a PNG/QNG round trip.
fn syn_lines(server: &TestServer, handle: &str, pw: &str) -> Vec<String> {
    let (mut c, _) = login_md5(server, 7, handle, pw);
    c.send("SYN 50 0");
    c.send("PNG");
    let (_, lines) = c.until("QNG");
    c.send("OUT");
    lines
}

#[test]
fn deleting_an_account_removes_it_from_other_lists() {
    let server = TestServer::start(&[
        ("alice@example.com", "pw"),
        ("bob@example.com", "pw"),
        ("carol@example.com", "pw"),
    ]);
    let mut a = online(&server, 7, "alice@example.com", "pw");
    for (t, list) in [(10, "FL"), (11, "AL")] {
        a.send(&format!("ADD {t} {list} bob@example.com bob@example.com"));
        a.until(&format!("ADD {t} {list} "));
    }
    a.send("ADD 12 FL carol@example.com carol@example.com");
    a.until("ADD 12 FL ");
    let mut b = online(&server, 7, "bob@example.com", "pw");
    b.send("ADD 20 FL alice@example.com alice@example.com");
    b.until("ADD 20 FL ");
    a.send("OUT");
    a.until("OUT");
    b.send("OUT");
    b.until("OUT");

    let before = syn_lines(&server, "alice@example.com", "pw");
    assert!(
        before
            .iter()
            .any(|l| l.starts_with("LST 50 FL") && l.contains("bob@example.com")),
        "{before:?}"
    );
    assert!(
        before
            .iter()
            .any(|l| l.starts_with("LST 50 RL") && l.contains("bob@example.com")),
        "{before:?}"
    );
    let serial_before: u32 = before[0].split(' ').nth(2).unwrap().parse().unwrap();

    let (code, _, err) = msnpd(
        &["user", "del", "bob@example.com", "--db", s(&server.db)],
        None,
    );
    // `user del` exits after its transaction committed: the next login reads the new state.
    assert_eq!(code, 0, "{err}");

    let after = syn_lines(&server, "alice@example.com", "pw");
    assert!(after[0].starts_with("SYN 50 "), "{after:?}");
    assert!(
        !after.iter().any(|l| l.contains("bob@example.com")),
        "bob still listed: {after:?}"
    );
    assert!(
        after
            .iter()
            .any(|l| l.starts_with("LST 50 FL") && l.contains("carol@example.com")),
        "{after:?}"
    );
    let serial_after: u32 = after[0].split(' ').nth(2).unwrap().parse().unwrap();
    assert!(
        serial_after > serial_before,
        "the list version must move on: {serial_before} → {serial_after}"
    );
    // Carol (who never had bob) is fine; bob can no longer log in.
    let carol = syn_lines(&server, "carol@example.com", "pw");
    assert!(
        carol
            .iter()
            .any(|l| l.starts_with("LST 50 RL") && l.contains("alice@example.com")),
        "{carol:?}"
    );
    assert!(!can_login(&server, "bob@example.com", "pw"));
}

/// `msnpd check` lists an account whose handle breaks today's rule (created before it, straight in
/// the database) and exits 1; with only clean handles it exits 0.
#[test]
fn check_lists_handles_that_break_the_rule() {
    let dir = TempDir::new();
    let db = dir.path().join("m.db");
    let (code, _, err) = msnpd(
        &[
            "user",
            "add",
            "alice@example.com",
            "--password",
            "one",
            "--db",
            s(&db),
        ],
        None,
    );
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = msnpd(&["check", "--db", s(&db)], None);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("every account follows"), "{out}");
    {
        let mut d = msnpd::storage::Db::open(&db).unwrap();
        d.create_user(
            "a'onerror=x@example.com",
            &msnpd::auth::Credential::new("pw"),
        )
        .unwrap();
    }
    let (code, out, _) = msnpd(&["check", "--db", s(&db)], None);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("a'onerror=x@example.com"), "{out}");
    assert!(!out.contains("alice@example.com"), "{out}");
}
