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
        "main",
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
    for m in ["ns", "sb", "server/hub"] {
        assert_none(
            m,
            &["Mutex", "RwLock"],
            &format!("{m}: role state is owned by an actor, reached through its mailbox"),
        );
    }
}

/// Files of `module` (a directory) other than `except`, with the lines that contain a needle.
fn offending_except(module: &str, except: &[&str], needles: &[&str]) -> Vec<String> {
    offending(module, needles)
        .into_iter()
        .filter(|hit| {
            !except
                .iter()
                .any(|e| hit.contains(&format!("/src/{module}/{e}")))
        })
        .collect()
}

#[test]
fn account_changes_have_one_owner() {
    // Issue 18: "write, bump the serial, update the mirror, notify" was written out by hand in
    // nine places; `ns/account.rs` is now the only one, so it cannot come back.
    let writes = [
        ".write(",
        ".bump_serial(",
        ".put_contact(",
        ".put_group(",
        ".delete_group(",
        ".set_friendly(",
        ".set_blp(",
        ".set_gtc(",
        ".set_phones(",
    ];
    let hits = offending_except("ns", &["account.rs"], &writes);
    assert!(
        hits.is_empty(),
        "only ns/account.rs writes accounts (Change + account::apply):\n{}",
        hits.join("\n")
    );
    let hits = offending_except("ns", &["account.rs", "directory/"], &[".commit_blocking("]);
    assert!(
        hits.is_empty(),
        "committed changes reach the directory only from ns/account.rs:\n{}",
        hits.join("\n")
    );
    assert_none(
        "ns/directory",
        &["Box<dyn FnOnce", "mirror_blocking"],
        "the directory's messages are typed data, not closures",
    );
}

#[test]
fn the_bus_does_not_name_the_directory() {
    // Issue 18 item 5: ns/bus <-> ns/directory <-> ns/bpr was a circle. The bus reaches a host
    // through its `Host` trait and reads only the presence model; bpr.rs is pure data.
    assert_none(
        "ns/bus",
        &[
            "Directory",
            "directory::{",
            "directory::handle",
            "directory::actor",
        ],
        "ns/bus.rs names the Host trait, never the concrete Directory",
    );
    assert_none(
        "ns/bpr",
        &["directory"],
        "ns/bpr.rs is data about phone fields; the directory uses it, not the reverse",
    );
    assert_none(
        "ns/directory/presence",
        &["bus::", "account::"],
        "the presence model (which the bus reads) imports neither the bus nor the owner",
    );
}
