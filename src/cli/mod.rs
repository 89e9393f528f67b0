//! The `msnpd` command line: the options of each subcommand and what it does, one file per
//! subcommand; `main.rs` parses and dispatches. Shared here: where the database and the config
//! file are, opening the database, parsing the command line, logging.

pub(crate) mod backup;
pub(crate) mod check;
pub(crate) mod invite;
pub(crate) mod serve;
pub(crate) mod status;
pub(crate) mod tls;
pub(crate) mod user;

use argh::FromArgs;
use msnpd::storage::Db;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// `--config FILE` given to a command other than `serve` (taken off the command line before
/// parsing, so every subcommand accepts it in any position).
static CONFIG_FLAG: OnceLock<PathBuf> = OnceLock::new();

use backup::Backup;
use check::Check;
use invite::Invite;
use serve::Serve;
use status::Status;
use tls::Tls;
use user::User;

/// msnpd: an MSN Messenger server (MSNP2-MSNP18, and XMPP) in one binary. `msnpd --version` prints the
/// version. Logging: `serve --log-level`, or RUST_LOG (which wins); the default is info. Every
/// command takes `--config FILE` (default /etc/msnpd/msnpd.toml when it exists): the admin
/// commands act on the database it names.
#[derive(FromArgs)]
pub(crate) struct Cli {
    #[argh(subcommand)]
    pub(crate) command: Command,
}

#[derive(FromArgs)]
#[argh(subcommand)]
// Parsed once at start; `serve`'s many options make it the large variant, which costs nothing.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Command {
    Serve(Serve),
    User(User),
    Invite(Invite),
    Status(Status),
    Backup(Backup),
    Tls(Tls),
    Check(Check),
}

pub(crate) type CliResult<T = ()> = Result<T, Box<dyn std::error::Error>>;

pub(crate) const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The database: `--db`, else the config file's `db`, else `$STATE_DIRECTORY/msnpd.db` under
/// systemd, else `msnpd.db` here. A directory is refused (it is not a database file), and so is
/// a file in a directory that does not exist (a typo must not create directories).
pub(crate) fn database_path(flag: Option<PathBuf>, config: Option<&Path>) -> CliResult<PathBuf> {
    let db = database_path_unchecked(flag, config)?;
    if db.is_dir() {
        return Err(format!(
            "{} is a directory; give the database file, e.g. {}",
            db.display(),
            db.join("msnpd.db").display()
        )
        .into());
    }
    let parent = db.parent().filter(|p| !p.as_os_str().is_empty());
    if let Some(dir) = parent
        && !dir.is_dir()
    {
        return Err(format!(
            "{}: directory {} does not exist (a typo in --db or the config file's db?); msnpd \
             creates no directories",
            db.display(),
            dir.display()
        )
        .into());
    }
    Ok(db)
}

fn database_path_unchecked(flag: Option<PathBuf>, config: Option<&Path>) -> CliResult<PathBuf> {
    let from_file = match (&flag, config) {
        (None, Some(file)) => {
            let args = msnpd::ops::config_file::flags(file, &[])?;
            args.iter()
                .position(|a| a == "--db")
                .and_then(|i| args.get(i + 1))
                .map(PathBuf::from)
        }
        _ => None,
    };
    let db = flag.or(from_file);
    if db.as_ref().is_some_and(|p| p.as_os_str().is_empty()) {
        return Err("the database file name is empty (--db \"\"); give a path".into());
    }
    Ok(
        db.unwrap_or_else(|| match std::env::var_os("STATE_DIRECTORY") {
            // systemd may pass several directories separated by ':'; use the first.
            Some(dir) => {
                let dir = dir
                    .to_string_lossy()
                    .split(':')
                    .next()
                    .unwrap_or(".")
                    .to_string();
                Path::new(&dir).join("msnpd.db")
            }
            None => PathBuf::from("msnpd.db"),
        }),
    )
}

/// The config file for commands other than `serve`: `--config`, else the default when present.
pub(crate) fn config_for(flag: Option<PathBuf>) -> CliResult<Option<PathBuf>> {
    match flag.or_else(|| CONFIG_FLAG.get().cloned()) {
        Some(p) if p.as_os_str().is_empty() => Err("--config needs a file name".into()),
        Some(p) => Ok(Some(p)),
        None => Ok(msnpd::ops::config_file::locate(&[])?),
    }
}

/// Run as root on files in a directory another user owns (the service's StateDirectory, used
/// through `sudo msnpd ...`), hands the files written there to that user: a key or database
/// left owned by root would be unreadable to the service. Does nothing otherwise.
pub(crate) fn give_to_directory_owner(files: &[PathBuf]) {
    use std::os::unix::fs::MetadataExt;
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return;
    }
    for f in files {
        let Some(dir) = f.parent().filter(|d| !d.as_os_str().is_empty()) else {
            continue;
        };
        let (Ok(d), Ok(m)) = (std::fs::metadata(dir), std::fs::metadata(f)) else {
            continue;
        };
        if d.uid() != 0
            && (m.uid(), m.gid()) != (d.uid(), d.gid())
            && let Err(e) = std::os::unix::fs::chown(f, Some(d.uid()), Some(d.gid()))
        {
            log::warn!("cannot hand {} to the directory's owner: {e}", f.display());
        }
    }
}

/// Prefixes a database error with the file it is about.
pub(crate) fn in_db<T, E: std::fmt::Display>(db: &Path, r: Result<T, E>) -> CliResult<T> {
    r.map_err(|e| {
        let e = e.to_string();
        if e.contains(&*db.to_string_lossy()) {
            e.into()
        } else {
            format!("{}: {e}", db.display()).into()
        }
    })
}

pub(crate) fn open_existing(db: &Path) -> CliResult<Db> {
    in_db(db, Db::open_existing(db))
}

/// Opens the database, creating it only when the operator named it on the command line (`--db`):
/// a database found through the config file or the defaults must already exist, so that an
/// admin command run in the wrong place or with the wrong config says so instead of starting an
/// empty database beside the service's.
pub(crate) fn open_or_create_named(db: &Path, named: bool) -> CliResult<Db> {
    let existed = db.exists();
    if !named && !existed {
        return Err(format!(
            "no database at {} (msnpd serve creates it; to start a new one there, give --db {})",
            db.display(),
            db.display()
        )
        .into());
    }
    let d = open_or_create(db)?;
    if !existed {
        give_to_directory_owner(&[db.to_path_buf()]);
    }
    Ok(d)
}

fn open_or_create(db: &Path) -> CliResult<Db> {
    let mut d = in_db(db, Db::open(db))?;
    in_db(db, d.migrate())?;
    Ok(d)
}

/// Parses the command line the way `argh::from_env` does; for `serve`, the config file's settings
/// are inserted before the command line's own options, which therefore override them.
pub(crate) fn parse_command_line(
    args: &[String],
) -> Result<(Cli, Option<PathBuf>, Vec<String>), String> {
    let name = Path::new(args.first().map_or("msnpd", String::as_str))
        .file_name()
        .map_or("msnpd".into(), |n| n.to_string_lossy().into_owned());
    let mut rest: Vec<String> = args.iter().skip(1).cloned().collect();
    if rest.first().is_some_and(|c| c != "serve")
        && let Some(i) = rest.iter().position(|a| a == "--config")
    {
        match rest.get(i + 1) {
            Some(p) if !p.is_empty() && !p.starts_with("--") => {
                let _ = CONFIG_FLAG.set(PathBuf::from(p));
                rest.drain(i..i + 2);
            }
            _ => return Err("--config needs a file name".into()),
        }
    }
    let mut full = rest.clone();
    let mut config = None;
    if rest.first().is_some_and(|c| c == "serve") && !rest.iter().any(|a| a == "--help") {
        let given = &rest[1..];
        config = msnpd::ops::config_file::locate(given)?;
        if let Some(file) = &config {
            let mut merged = vec!["serve".to_string()];
            merged.extend(msnpd::ops::config_file::flags(file, given)?);
            merged.extend(given.iter().cloned());
            full = merged;
        }
    }
    let strs: Vec<&str> = full.iter().map(String::as_str).collect();
    match Cli::from_args(&[&name], &strs) {
        Ok(cli) => Ok((cli, config, rest)),
        Err(early) => {
            if early.status.is_ok() {
                println!("{}", early.output);
                std::process::exit(0);
            }
            let from = match &config {
                Some(f) => format!(" (with the settings of {})", f.display()),
                None => String::new(),
            };
            Err(format!(
                "{}{from}; run {name} --help for more information",
                early.output.trim_end()
            ))
        }
    }
}

pub(crate) fn parse_level(s: &str) -> Result<log::LevelFilter, String> {
    s.parse()
        .map_err(|_| format!("invalid log level {s:?}: use error, warn, info, debug or trace"))
}

/// Logs go to stderr. Under systemd (JOURNAL_STREAM set) the journal stamps each line, so ours
/// is left out. Unless RUST_LOG is set, the level is `level` and can be changed later (SIGHUP).
pub(crate) fn init_logging(level: log::LevelFilter) -> bool {
    let mut b = env_logger::Builder::new();
    let rust_log = std::env::var("RUST_LOG")
        .ok()
        .filter(|s| !s.trim().is_empty());
    match &rust_log {
        Some(filters) => b.parse_filters(filters),
        None => b.filter_level(log::LevelFilter::Trace),
    };
    if std::env::var_os("JOURNAL_STREAM").is_some() {
        b.format_timestamp(None);
    }
    b.init();
    if rust_log.is_none() {
        log::set_max_level(level);
    }
    rust_log.is_some()
}

#[cfg(test)]
mod tests {
    use super::*;
    use msnpd::ops::config_file::SERVE_KEYS;

    /// Every `serve` option has a config-file key and every key is an option: adding a flag
    /// without its line in `SERVE_KEYS` fails here.
    #[test]
    fn every_serve_option_has_a_config_key() {
        let help = match Cli::from_args(&["msnpd"], &["serve", "--help"]) {
            Err(early) => early.output,
            Ok(_) => panic!("--help parses to a command"),
        };
        let flags: Vec<&str> = help
            .lines()
            .filter_map(|l| l.trim_start().strip_prefix("--"))
            .filter_map(|l| l.split([' ', ',']).next())
            .filter(|f| !matches!(*f, "help" | "config"))
            .collect();
        assert!(flags.len() >= 10, "{help}");
        for f in &flags {
            assert!(
                SERVE_KEYS.iter().any(|(k, _)| k == f),
                "serve --{f} has no line in SERVE_KEYS (src/ops/config_file.rs)"
            );
        }
        for (k, _) in SERVE_KEYS {
            assert!(flags.contains(k), "config key {k} is not a serve option");
        }
    }
}
