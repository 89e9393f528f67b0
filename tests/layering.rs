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
        "main", "cli", "xmpp",
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
        let hits: Vec<String> = offending(m, &["Mutex", "RwLock"]);
        assert!(
            hits.is_empty(),
            "{m}: role state is owned by an actor, reached through its mailbox:\n{}",
            hits.join("\n")
        );
    }
}

/// The layers from the bottom (docs/actors.md, "Layers"): a file may import its own layer and the
/// ones below, never one above. `lib` (the crate root, `crate::Config`) is the top.
const LAYERS: &[&[&str]] = &[
    &[
        "limits", "model", "dialect", "protocol", "auth", "net", "accounts",
    ],
    &["dns"],
    &["config"],
    &["storage"],
    &["server"],
    &["tls", "ops"],
    &["sb"],
    &["ns"],
    &["http"],
    &["xmpp"],
    &["node"],
    &["lib"],
];

/// Circles between files that other work removes; each entry names the files of one circle. The
/// list is to be empty once that work is merged.
const ALLOWED_CYCLES: &[&[&str]] = &[];

/// The library's files by path under `src/` (`http/site.rs`); the binaries (`main.rs`, `cli/`,
/// `bin/`) are crates of their own above the library.
fn library_files() -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut out: Vec<String> = files(&root)
        .iter()
        .map(|p| {
            p.strip_prefix(&root)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/")
        })
        .filter(|p| p != "main.rs" && !p.starts_with("cli/") && !p.starts_with("bin/"))
        .collect();
    out.sort();
    out
}

/// The module path of a file: `http/site.rs` -> [http, site], `http/mod.rs` -> [http], `lib.rs`
/// -> [].
fn module_of(file: &str) -> Vec<String> {
    let mut parts: Vec<String> = file
        .trim_end_matches(".rs")
        .split('/')
        .map(str::to_string)
        .collect();
    if parts.last().is_some_and(|l| l == "mod" || l == "lib") {
        parts.pop();
    }
    parts
}

/// The file that defines the longest prefix of `path` (a module path from the crate root).
fn file_of(path: &[String], known: &[String]) -> String {
    for n in (1..=path.len()).rev() {
        let p = path[..n].join("/");
        for f in [format!("{p}.rs"), format!("{p}/mod.rs")] {
            if known.contains(&f) {
                return f;
            }
        }
    }
    "lib.rs".to_string()
}

/// The source a file imports with: comments and `#[cfg(test)]` modules left out (a test module
/// may reach anything; `super::*` there names the file itself).
fn code_of(text: &str) -> String {
    let code: String = text
        .lines()
        .map(|l| l.split("//").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n");
    let mut out = String::with_capacity(code.len());
    let mut rest = code.as_str();
    while let Some(i) = rest.find("#[cfg(test)]") {
        out.push_str(&rest[..i]);
        let after = rest[i + "#[cfg(test)]".len()..].trim_start();
        let Some(open) = after.strip_prefix("mod ").and_then(|m| m.find('{')) else {
            rest = after;
            continue;
        };
        // Skip to the brace that closes the module.
        let body = &after["mod ".len() + open..];
        let mut depth = 0usize;
        let mut end = body.len();
        for (j, c) in body.char_indices() {
            match c {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        end = j + 1;
                        break;
                    }
                }
                _ => {}
            }
        }
        rest = &body[end..];
    }
    out.push_str(rest);
    out
}

/// The paths a file names that start with `crate::` or `super::`, as module paths from the crate
/// root; `crate::{a, b::c}` gives both.
fn imported_paths(file: &str, code: &str) -> Vec<Vec<String>> {
    let ident = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let mut out = Vec::new();
    let bytes = code.as_bytes();
    let mut i = 0;
    while i < code.len() {
        let rest = &code[i..];
        let start_ok = i == 0 || !ident(bytes[i - 1] as char) && bytes[i - 1] != b':';
        let base = if !start_ok {
            None
        } else if rest.starts_with("crate::") {
            Some((Vec::new(), "crate::".len()))
        } else if rest.starts_with("super::") {
            let mut m = module_of(file);
            let mut len = 0;
            while code[i + len..].starts_with("super::") {
                m.pop();
                len += "super::".len();
            }
            Some((m, len))
        } else {
            None
        };
        let Some((base, skip)) = base else {
            i += rest.chars().next().map_or(1, char::len_utf8);
            continue;
        };
        i += skip;
        // One path, or a `{...}` group of them (one level deep is all the code uses).
        let tail = &code[i..];
        let items: Vec<&str> = if let Some(group) = tail.strip_prefix('{') {
            let end = group.find('}').unwrap_or(group.len());
            group[..end].split(',').collect()
        } else {
            vec![tail]
        };
        for item in items {
            let item = item.trim();
            let mut path = base.clone();
            for raw in item.split("::") {
                let seg: String = raw.chars().take_while(|c| ident(*c)).collect();
                if seg.is_empty() || seg == "self" {
                    break;
                }
                let whole = seg.len() == raw.len();
                path.push(seg);
                if !whole {
                    break;
                }
            }
            out.push(path);
        }
    }
    out
}

/// file -> the files it imports (itself left out).
fn import_graph() -> std::collections::BTreeMap<String, std::collections::BTreeSet<String>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let known = library_files();
    let mut graph = std::collections::BTreeMap::new();
    for f in &known {
        let code = code_of(&std::fs::read_to_string(root.join(f)).unwrap());
        let mut to = std::collections::BTreeSet::new();
        for path in imported_paths(f, &code) {
            let target = file_of(&path, &known);
            if target != *f {
                to.insert(target);
            }
        }
        graph.insert(f.clone(), to);
    }
    graph
}

fn layer_of(file: &str) -> usize {
    let top = module_of(file)
        .first()
        .cloned()
        .unwrap_or_else(|| "lib".into());
    LAYERS
        .iter()
        .position(|l| l.contains(&top.as_str()))
        .unwrap_or_else(|| {
            panic!("{file}: module `{top}` has no layer in LAYERS (tests/layering.rs)")
        })
}

#[test]
fn no_import_runs_up_a_layer() {
    let mut up = Vec::new();
    for (from, to) in import_graph() {
        for t in to {
            if layer_of(&t) > layer_of(&from) {
                up.push(format!("src/{from} imports src/{t}"));
            }
        }
    }
    assert!(
        up.is_empty(),
        "imports that run up a layer (docs/actors.md, Layers):\n{}",
        up.join("\n")
    );
}

#[test]
fn no_circle_between_files() {
    let graph = import_graph();
    // Tarjan's strongly connected components: every component of more than one file is a circle.
    struct Walk<'a> {
        graph: &'a std::collections::BTreeMap<String, std::collections::BTreeSet<String>>,
        index: std::collections::HashMap<&'a str, usize>,
        low: std::collections::HashMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on_stack: std::collections::HashSet<&'a str>,
        circles: Vec<Vec<String>>,
    }
    impl<'a> Walk<'a> {
        fn visit(&mut self, v: &'a str) {
            let n = self.index.len();
            self.index.insert(v, n);
            self.low.insert(v, n);
            self.stack.push(v);
            self.on_stack.insert(v);
            for w in self.graph.get(v).into_iter().flatten() {
                let w = w.as_str();
                if !self.index.contains_key(w) {
                    self.visit(w);
                    let lw = self.low[w];
                    let lv = self.low.get_mut(v).unwrap();
                    *lv = (*lv).min(lw);
                } else if self.on_stack.contains(w) {
                    let iw = self.index[w];
                    let lv = self.low.get_mut(v).unwrap();
                    *lv = (*lv).min(iw);
                }
            }
            if self.low[v] == self.index[v] {
                let mut comp = Vec::new();
                while let Some(w) = self.stack.pop() {
                    self.on_stack.remove(w);
                    comp.push(w.to_string());
                    if w == v {
                        break;
                    }
                }
                if comp.len() > 1 {
                    comp.sort();
                    self.circles.push(comp);
                }
            }
        }
    }
    let mut walk = Walk {
        graph: &graph,
        index: Default::default(),
        low: Default::default(),
        stack: Vec::new(),
        on_stack: Default::default(),
        circles: Vec::new(),
    };
    for f in graph.keys() {
        if !walk.index.contains_key(f.as_str()) {
            walk.visit(f);
        }
    }
    let bad: Vec<String> = walk
        .circles
        .iter()
        .filter(|c| {
            !ALLOWED_CYCLES
                .iter()
                .any(|allowed| c.iter().all(|f| allowed.contains(&f.as_str())))
        })
        .map(|c| c.join(" <-> "))
        .collect();
    assert!(
        bad.is_empty(),
        "files that import each other (directly or round a circle):\n{}",
        bad.join("\n")
    );
}

#[test]
fn the_import_scanner_sees_what_it_must() {
    // The checks above are only as good as the scanner: it must see grouped and relative paths.
    let p = imported_paths(
        "http/site.rs",
        "use super::register;\nuse crate::{config::Config, limits};\nlet x = crate::net::lan::hostname();",
    );
    let p: Vec<String> = p.iter().map(|p| p.join("::")).collect();
    assert!(p.contains(&"http::register".to_string()), "{p:?}");
    assert!(p.contains(&"config::Config".to_string()), "{p:?}");
    assert!(p.contains(&"limits".to_string()), "{p:?}");
    assert!(p.contains(&"net::lan::hostname".to_string()), "{p:?}");
    let known = library_files();
    assert_eq!(
        file_of(&["net".into(), "lan".into(), "x".into()], &known),
        "net/lan.rs"
    );
    assert_eq!(file_of(&["Config".into()], &known), "lib.rs");
    assert_eq!(module_of("http/mod.rs"), ["http"]);
    // Code after a test module is still read; the test module is not.
    let code = code_of(
        "use crate::a;\n#[cfg(test)]\nmod tests {\n    fn f() { crate::b::x(); }\n}\npub mod m {\n    use crate::c;\n}\n",
    );
    let p: Vec<String> = imported_paths("x.rs", &code)
        .iter()
        .map(|p| p.join("::"))
        .collect();
    assert_eq!(p, ["a", "c"]);
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

/// Files whose protocol lines are all typed replies (`protocol::reply`, issue 18 item 4).
const TYPED_REPLY_FILES: &[&str] = &[
    "ns/mod.rs",
    "ns/login.rs",
    "ns/misc.rs",
    "ns/sync.rs",
    "ns/xfr.rs",
    "ns/lists.rs",
    "ns/groups.rs",
    "ns/presence.rs",
    "ns/directory/lines.rs",
    "ns/directory/actor.rs",
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
