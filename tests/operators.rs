//! Issue 21, "Operators": admin commands act on the service's database (through the config
//! file, `--config` on every command) and never create a database or a CA implicitly; list
//! options take TOML arrays; a reload names the key that needs a restart; database paths are
//! checked; `msnpd status` leaves no handshake error in the log; the checkout ignores what the
//! quick start writes.

mod common;
use common::*;
use std::path::Path;

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
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
fn admin_commands_use_the_config_and_never_create_a_database_or_ca_implicitly() {
    let dir = TempDir::new();
    let srv = dir.path().join("srv");
    std::fs::create_dir(&srv).unwrap();
    let db = srv.join("msnpd.db");
    let conf = dir.path().join("msnpd.toml");
    std::fs::write(&conf, format!("db = {:?}\n", s(&db))).unwrap();
    // No database yet: `user add` and `tls init` through the config refuse, creating nothing.
    let (code, _, err) = msnpd(
        &[
            "user",
            "add",
            "a@x.com",
            "--password",
            "pw1",
            "--config",
            s(&conf),
        ],
        None,
    );
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("no database at") && err.contains(s(&db)),
        "{err}"
    );
    assert!(!db.exists());
    let (code, _, err) = msnpd(&["tls", "init", "--config", s(&conf)], None);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("no database at"), "{err}");
    assert!(!srv.join("ca.key").exists(), "no CA was minted");
    // Naming the database with --db creates it; the config then finds it for every command.
    let (code, _, err) = msnpd(
        &[
            "user",
            "add",
            "a@x.com",
            "--password",
            "pw1",
            "--db",
            s(&db),
        ],
        None,
    );
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = msnpd(&["user", "list", "--config", s(&conf)], None);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("a@x.com"), "{out}");
    let (code, out, err) = msnpd(&["invite", "create", "--config", s(&conf)], None);
    assert_eq!(code, 0, "{err}{out}");
    // tls init beside the service's database: a CA the first time, the same CA afterwards.
    let (code, out, err) = msnpd(&["tls", "init", "--config", s(&conf)], None);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("created a new CA"), "{out}");
    assert!(srv.join("ca.key").exists());
    let ca = std::fs::read(srv.join("ca.pem")).unwrap();
    let (code, out, err) = msnpd(
        &[
            "tls",
            "init",
            "--name",
            "chat.example.org",
            "--config",
            s(&conf),
        ],
        None,
    );
    assert_eq!(code, 0, "{err}");
    assert!(!out.contains("created a new CA"), "{out}");
    assert_eq!(
        std::fs::read(srv.join("ca.pem")).unwrap(),
        ca,
        "the CA is kept"
    );
}

#[test]
fn list_options_in_the_config_file_take_arrays() {
    let dir = TempDir::new();
    let db = dir.path().join("m.db");
    let conf = dir.path().join("msnpd.toml");
    std::fs::write(
        &conf,
        format!(
            "db = {:?}\nhttp-listen = [\"127.0.0.1:0\"]\ndns-allow = [\"10.0.0.0/8\", \"192.168.0.0/16\"]\n",
            s(&db)
        ),
    )
    .unwrap();
    let mut args = vec!["--config", s(&conf), "--listen", "127.0.0.1:0"];
    args.extend_from_slice(&["--sb-listen", "127.0.0.1:0", "--threads", "2"]);
    let server = start_serve_args(TempDir::new(), db.clone(), &args, Some("info"));
    assert_eq!(
        http(server.http, "GET", "/healthz", &[], b"").0,
        200,
        "the array's address serves HTTP"
    );
}

#[test]
fn a_reload_names_the_key_that_needs_a_restart() {
    let dir = TempDir::new();
    let conf = dir.path().join("msnpd.toml");
    let db = dir.path().join("m.db");
    std::fs::write(&conf, "name = \"one\"\nmax-per-ip = 4\n").unwrap();
    let mut args = vec!["--config", s(&conf), "--db", s(&db)];
    args.extend_from_slice(&CONNECT_ARGS);
    let server = start_serve_args(TempDir::new(), db.clone(), &args, Some("info"));
    std::fs::write(
        &conf,
        "name = \"two\"\nmax-per-ip = 5\nregistration = \"open\"\n",
    )
    .unwrap();
    unsafe_kill(server.child.id(), "HUP");
    let line = server.wait_log("after a restart");
    assert!(line.contains("name"), "{line}");
    assert!(
        !line.contains("max-per-ip") && !line.contains("registration"),
        "{line}"
    );
}

#[test]
fn database_paths_are_checked() {
    let dir = TempDir::new();
    let (code, _, err) = msnpd(&["user", "list", "--db", s(dir.path())], None);
    assert_eq!(code, 1);
    assert!(
        err.contains("is a directory") && !err.contains("chmod"),
        "{err}"
    );
    let typo = dir.path().join("typo").join("sub").join("msnpd.db");
    let (code, _, err) = msnpd(
        &[
            "user",
            "add",
            "a@x.com",
            "--password",
            "pw1",
            "--db",
            s(&typo),
        ],
        None,
    );
    assert_eq!(code, 1);
    assert!(err.contains("does not exist"), "{err}");
    assert!(
        !dir.path().join("typo").exists(),
        "no directory was created"
    );
}

#[test]
fn status_leaves_no_handshake_error_in_the_log() {
    let dir = TempDir::new();
    let db = dir.path().join("m.db");
    let mut args = vec!["--db", s(&db), "--https-listen", "127.0.0.1:0"];
    args.extend_from_slice(&CONNECT_ARGS);
    let server = start_serve_args(TempDir::new(), db.clone(), &args, Some("info"));
    let (code, out, err) = msnpd(&["status", "--db", s(&db)], None);
    assert!(out.contains("https on"), "{out}{err}");
    assert!(!out.contains("DOES NOT ANSWER"), "{out}");
    let _ = code;
    std::thread::sleep(std::time::Duration::from_millis(300));
    let log = server.log_text();
    assert!(!log.contains("handshake failed"), "{log}");
}

#[test]
fn the_checkout_ignores_what_the_quick_start_writes() {
    let root = env!("CARGO_MANIFEST_DIR");
    for f in [
        "ca.key",
        "server.key",
        "ca.pem",
        "ca.cer",
        "server.pem",
        "server-legacy.pem",
        "server-ec.pem",
        "server-ec.key",
        "msnpd.db.lock",
        "msnpd.db.schema3.bak",
        "msnpd.db",
    ] {
        let ok = std::process::Command::new("git")
            .args(["-C", root, "check-ignore", "-q", f])
            .status()
            .expect("git runs")
            .success();
        assert!(ok, "{f} is not ignored");
    }
}

#[test]
fn sudo_tls_init_hands_the_kit_to_the_service_user() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("skipped: needs root (as `sudo msnpd tls init` is run)");
        return;
    }
    use std::os::unix::fs::MetadataExt;
    let dir = TempDir::new();
    let srv = dir.path().join("srv");
    std::fs::create_dir(&srv).unwrap();
    let db = srv.join("msnpd.db");
    let (code, _, err) = msnpd(
        &[
            "user",
            "add",
            "a@x.com",
            "--password",
            "pw1",
            "--db",
            s(&db),
        ],
        None,
    );
    assert_eq!(code, 0, "{err}");
    // The service's StateDirectory belongs to its (dynamic) user, here `nobody`.
    std::os::unix::fs::chown(&srv, Some(65534), Some(65534)).unwrap();
    std::os::unix::fs::chown(&db, Some(65534), Some(65534)).unwrap();
    let conf = dir.path().join("msnpd.toml");
    std::fs::write(&conf, format!("db = {:?}\n", s(&db))).unwrap();
    let (code, _, err) = msnpd(&["tls", "init", "--config", s(&conf)], None);
    assert_eq!(code, 0, "{err}");
    for f in ["ca.key", "server.key", "server.pem"] {
        let m = std::fs::metadata(srv.join(f)).unwrap();
        assert_eq!((m.uid(), m.gid()), (65534, 65534), "{f}");
    }
}

#[test]
fn a_kit_write_error_names_the_kit_file_not_its_temporary() {
    let dir = TempDir::new();
    // Something in the way of the temporary file (as a read-only folder would be, even for root).
    std::fs::create_dir(dir.path().join("ca.tmp")).unwrap();
    std::fs::write(dir.path().join("ca.tmp").join("x"), b"x").unwrap();
    let (code, _, err) = msnpd(&["tls", "init", "--tls-dir", s(dir.path())], None);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("cannot write") && !err.contains("ca.tmp"),
        "{err}"
    );
}
