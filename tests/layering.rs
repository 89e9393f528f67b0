//! The shape of the crate, checked on its source: which module may import which, where SQL and
//! I/O may appear, and that the roles keep no state behind locks (issue 13). A change that breaks
//! one of these rules fails here with the file and line.

use std::path::{Path, PathBuf};

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(files(&p));
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
    out
}

/// Lines of the module's files (a directory, or a single file) that contain one of `needles`,
/// comments left out.
fn offending(module: &str, needles: &[&str]) -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let path = root.join(module);
    let list = if path.is_dir() {
        files(&path)
    } else {
        vec![path.with_extension("rs")]
    };
    let mut hits = Vec::new();
    for f in list {
        let text = std::fs::read_to_string(&f).unwrap();
        for (n, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            if needles.iter().any(|x| code.contains(x)) {
                hits.push(format!("{}:{}: {}", f.display(), n + 1, line.trim()));
            }
        }
    }
    hits
}

fn assert_none(module: &str, needles: &[&str], rule: &str) {
    let hits = offending(module, needles);
    assert!(hits.is_empty(), "{rule}:\n{}", hits.join("\n"));
}

#[test]
fn transport_knows_no_role() {
    assert_none(
        "server",
        &[
            "crate::ns",
            "crate::sb",
            "crate::http",
            "crate::node",
            "crate::tls",
            "crate::dns",
            "crate::ops",
        ],
        "server/ is the transport under the roles; it must not import them",
    );
}

#[test]
fn roles_import_downwards_only() {
    assert_none(
        "sb",
        &["crate::ns", "crate::http", "crate::node"],
        "the switchboard role reaches the notification role only through its Ringer port",
    );
    assert_none(
        "ns",
        &["crate::http", "crate::node"],
        "the notification role sits under HTTP and node",
    );
    assert_none("http", &["crate::node"], "HTTP sits under node");
    assert_none(
        "xmpp",
        &["crate::http", "crate::node"],
        "the XMPP role sits under node",
    );
    for m in ["tls", "dns", "ops", "storage", "protocol"] {
        assert_none(
            m,
            &["crate::ns", "crate::sb", "crate::http", "crate::node"],
            &format!("{m} sits under the roles"),
        );
    }
}

#[test]
fn protocol_does_no_io_and_storage_alone_knows_sql() {
    assert_none(
        "protocol",
        &["smol::", "std::net", "TcpStream", "std::fs"],
        "protocol turns bytes into commands and back, without I/O",
    );
    for m in [
        "server", "ns", "sb", "http", "node", "ops", "dns", "tls", "accounts", "config", "auth",
        "main", "xmpp",
    ] {
        assert_none(
            m,
            &["rusqlite", "SELECT ", "INSERT ", "UPDATE ", "DELETE FROM"],
            &format!("{m}: only storage/ knows SQL"),
        );
    }
}

#[test]
fn roles_keep_no_state_behind_locks() {
    for m in ["ns", "sb", "server/hub", "xmpp"] {
        assert_none(
            m,
            &["Mutex", "RwLock"],
            &format!("{m}: role state is owned by an actor, reached through its mailbox"),
        );
    }
}
