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

/// Files whose protocol lines are all typed replies (`protocol::reply`, issue 18 item 4). The
/// notification files of the lists, groups, presence and directory families join this list
/// once they are switched over to the reply types written for them.
const TYPED_REPLY_FILES: &[&str] = &[
    "ns/mod.rs",
    "ns/login.rs",
    "ns/misc.rs",
    "ns/sync.rs",
    "ns/xfr.rs",
    "ns/dispatch.rs",
    "sb/mod.rs",
    "sb/join.rs",
    "sb/chat.rs",
    "sb/switchboard.rs",
    "sb/registry.rs",
    "sb/messages.rs",
    "sb/port.rs",
];

/// Whether a string literal's text (after its opening quote) starts like a protocol line: a
/// three-character verb or error code followed by a space, a placeholder or the line end, or a
/// placeholder naming an error code, trid or verb.
fn starts_like_a_line(lit: &str) -> bool {
    let b = lit.as_bytes();
    let verb = b.len() >= 4
        && b[..3]
            .iter()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
        && matches!(b[3], b' ' | b'{' | b'\\' | b'"');
    let placeholder = ["{code}", "{trid}", "{verb}", "{code} ", "{verb} "]
        .iter()
        .any(|p| lit.starts_with(p));
    verb || placeholder
}

/// The places in `text` where a formatting macro (or a `reply` call) starts its literal like a
/// protocol line. Reasons given to `Disconnect::new` are log text, whatever they start with.
fn formatted_lines(text: &str) -> Vec<(usize, String)> {
    let code: String = text
        .lines()
        .map(|l| l.split("//").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n");
    let mut hits = Vec::new();
    for mac in ["format!(", "format_args!(", "write!(", "writeln!("] {
        let mut from = 0;
        while let Some(i) = code[from..].find(mac) {
            let at = from + i;
            from = at + mac.len();
            let line_start = code[..at].rfind('\n').map_or(0, |n| n + 1);
            if code[line_start..at].contains("Disconnect::new(") {
                continue;
            }
            // The literal: the first quote after the macro (write! names its buffer first).
            let rest = &code[from..];
            let Some(q) = rest.find('"') else { continue };
            if rest[..q].contains(';') {
                continue;
            }
            let lit = &rest[q + 1..];
            if starts_like_a_line(lit) {
                let line = code[..at].matches('\n').count() + 1;
                let end = lit.find('"').unwrap_or(lit.len()).min(40);
                hits.push((line, lit[..end].to_string()));
            }
        }
    }
    hits
}

#[test]
fn converted_files_write_protocol_lines_with_reply_types() {
    // The detector finds what it is meant to find.
    assert_eq!(
        formatted_lines("s.reply(&format!(\"USR {trid} OK\"))").len(),
        1
    );
    assert_eq!(formatted_lines("format!(\n  \"{code} {trid}\")").len(), 1);
    assert_eq!(formatted_lines("write!(out, \"BPR {h}\")").len(), 1);
    assert!(formatted_lines("Disconnect::new(format!(\"USR {s:?} out of order\"))").is_empty());
    assert!(formatted_lines("format!(\"ns {} ({})\", a, b)").is_empty());
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut hits = Vec::new();
    for f in TYPED_REPLY_FILES {
        let text = std::fs::read_to_string(root.join(f)).unwrap();
        for (line, lit) in formatted_lines(&text) {
            hits.push(format!("src/{f}:{line}: \"{lit}"));
        }
    }
    assert!(
        hits.is_empty(),
        "protocol lines are written by protocol::reply types, not formatted by hand:\n{}",
        hits.join("\n")
    );
}

/// `sb/registry.rs` creates switchboard actors and a switchboard asks the registry for cookies:
/// the messages both exchange live in `sb/messages.rs`, so neither file imports the other back
/// (issue 18 item 5).
#[test]
fn switchboard_does_not_import_its_registry() {
    assert_none(
        "sb/switchboard",
        &["super::registry", "sb::registry", "registry::"],
        "sb/switchboard.rs reaches the registry through sb/messages.rs only",
    );
}

/// Every command is declared once, in `dialect/commands.rs`: the frame parser and the role
/// dispatchers derive their verb lists from it instead of naming verbs themselves.
#[test]
fn verbs_are_declared_in_the_command_table_only() {
    for (module, needles) in [
        (
            "protocol/frame",
            &["\"QRY\"", "\"UUX\"", "\"PNG\"", "\"MSG\""][..],
        ),
        ("ns/mod", &["\"SYN\" =>", "\"ADC\" =>", "\"CHG\" =>"][..]),
        ("sb/mod", &["\"CAL\"", "\"ANS\"", "\"MSG\""][..]),
    ] {
        let hits: Vec<String> = offending(module, needles)
            .into_iter()
            .filter(|h| !is_in_tests(module, h))
            .collect();
        assert!(
            hits.is_empty(),
            "{module}: verbs belong in dialect/commands.rs:\n{}",
            hits.join("\n")
        );
    }
}

/// Whether `hit` (`path:line: text`) lies in the file's `#[cfg(test)]` module.
fn is_in_tests(module: &str, hit: &str) -> bool {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let text = std::fs::read_to_string(root.join(module).with_extension("rs")).unwrap();
    let tests_from = text
        .lines()
        .position(|l| l.trim() == "#[cfg(test)]")
        .map_or(usize::MAX, |n| n + 1);
    let line: usize = hit
        .split(':')
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    line > tests_from
}
