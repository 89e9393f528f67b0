//! The `msnpd` command line.

use argh::FromArgs;
use msnpd::auth::Credential;
use msnpd::protocol::names::normalize_handle;
use msnpd::storage::{Db, DbError};
use std::io::{BufRead, IsTerminal, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// msnpd: an MSN Messenger server (MSNP2-MSNP12) in one binary. `msnpd --version` prints the
/// version. Logging: `serve --log-level`, or RUST_LOG (which wins); the default is info.
#[derive(FromArgs)]
struct Cli {
    #[argh(subcommand)]
    command: Command,
}

#[derive(FromArgs)]
#[argh(subcommand)]
// Parsed once at start; `serve`'s many options make it the large variant, which costs nothing.
#[allow(clippy::large_enum_variant)]
enum Command {
    Serve(Serve),
    User(User),
    Invite(Invite),
    Status(Status),
    Backup(Backup),
    Tls(Tls),
}

/// Run the server (dispatch, notification, switchboard and HTTP).
#[derive(FromArgs)]
#[argh(subcommand, name = "serve")]
struct Serve {
    /// configuration file (TOML; keys are these options without --; default /etc/msnpd/msnpd.toml
    /// when it exists); options given here override it; SIGHUP re-reads it
    #[argh(option)]
    config: Option<PathBuf>,
    /// error, warn, info, debug or trace (default info; RUST_LOG, when set, wins)
    #[argh(option)]
    log_level: Option<String>,
    /// database file (default: msnpd.db, or $STATE_DIRECTORY/msnpd.db under systemd)
    #[argh(option)]
    db: Option<PathBuf>,
    /// dispatch/notification address (default 0.0.0.0:1863)
    #[argh(option, default = "\"0.0.0.0:1863\".parse().unwrap()")]
    listen: SocketAddr,
    /// switchboard address (default 0.0.0.0:1864)
    #[argh(option, default = "\"0.0.0.0:1864\".parse().unwrap()")]
    sb_listen: SocketAddr,
    /// HTTP addresses for Passport login and the CA download, comma-separated (default
    /// 0.0.0.0:8080, plus 0.0.0.0:80 when it can be bound)
    #[argh(option)]
    http_listen: Option<String>,
    /// HTTPS address for Passport login, or none (default 0.0.0.0:443 when it can be bound)
    #[argh(option)]
    https_listen: Option<String>,
    /// directory of the generated CA and server certificates (default: the database's directory)
    #[argh(option)]
    tls_dir: Option<PathBuf>,
    /// your own certificate chain (PEM, server certificate first) instead of the generated one
    #[argh(option)]
    tls_cert: Option<PathBuf>,
    /// the private key (PEM) of --tls-cert
    #[argh(option)]
    tls_key: Option<PathBuf>,
    /// host name or address written into redirects (default: the address the client connected to)
    #[argh(option)]
    public_host: Option<String>,
    /// seconds between CHL challenges for MSNP6+ clients; 0 disables them (default 600)
    #[argh(option, default = "600")]
    chl_interval: u64,
    /// accept QRY answers from client ids whose key is unknown
    #[argh(switch)]
    allow_unknown_clients: bool,
    /// executor threads (default: number of CPUs)
    #[argh(option)]
    threads: Option<usize>,
    /// seconds a new connection has to log in or join a switchboard (default 60; the first command
    /// must come within half of it, at most 30 s)
    #[argh(option, default = "60")]
    login_timeout: u64,
    /// seconds of silence after which a notification connection is dropped (default 300)
    #[argh(option, default = "300")]
    idle_timeout: u64,
    /// seconds without a command after which a switchboard connection is dropped (default 600)
    #[argh(option, default = "600")]
    sb_idle_timeout: u64,
    /// seconds a client may leave data we sent it unread before it is disconnected; meanwhile
    /// switchboard senders to it are held back (default 30)
    #[argh(option, default = "30")]
    stall_timeout: u64,
    /// seconds without a request after which an HTTP gateway (gateway.dll) session is closed
    /// (default 60)
    #[argh(option, default = "60")]
    gateway_idle_timeout: u64,
    /// open connections at most, all listeners together (default 20000)
    #[argh(option, default = "20000")]
    max_connections: usize,
    /// open connections at most from one client address (default 256)
    #[argh(option, default = "256")]
    max_per_ip: usize,
    /// seconds an address is refused after 5 failed logins for one account (or 20 for any)
    /// (default 60)
    #[argh(option, default = "60")]
    auth_backoff: u64,
    /// server name shown on the web page at / (default: the host name)
    #[argh(option)]
    name: Option<String>,
    /// list who is online by name on the web page (default: only how many)
    #[argh(switch)]
    public_presence: bool,
    /// self-registration on the web page: open, invite or closed (default closed)
    #[argh(option, default = "msnpd::accounts::Registration::Closed")]
    registration: msnpd::accounts::Registration,
    /// seconds an HTTP request (head and body) may take to arrive from its first byte (default 10)
    #[argh(option, default = "10")]
    http_head_timeout: u64,
    /// answer DNS (UDP and TCP) on this address, e.g. 0.0.0.0:53: MSN host names resolve to this
    /// server, others are forwarded (default: off)
    #[argh(option)]
    dns_listen: Option<SocketAddr>,
    /// where --dns-listen forwards other names: IP[:PORT] list, or `none` to refuse them
    /// (default: the nameservers in /etc/resolv.conf)
    #[argh(option, from_str_fn(parse_dns_upstream))]
    dns_upstream: Option<msnpd::dns::Upstream>,
    /// sources --dns-listen answers, as CIDR list (default: loopback, private and link-local)
    #[argh(option, from_str_fn(parse_dns_allow))]
    dns_allow: Option<Vec<ipnet::IpNet>>,
}

fn parse_dns_upstream(s: &str) -> Result<msnpd::dns::Upstream, String> {
    s.parse()
}

fn parse_dns_allow(s: &str) -> Result<Vec<ipnet::IpNet>, String> {
    msnpd::dns::parse_allow(s)
}

/// Check a server: its database, whether each listener answers, who is online. Exits 1 when
/// something is wrong.
#[derive(FromArgs)]
#[argh(subcommand, name = "status")]
struct Status {
    /// configuration file (default /etc/msnpd/msnpd.toml when it exists); only `db` is read
    #[argh(option)]
    config: Option<PathBuf>,
    /// database file
    #[argh(option)]
    db: Option<PathBuf>,
}

/// Copy the database to FILE with SQLite's online backup API (safe while the server runs; a
/// plain `cp` of a live database can miss recent changes).
#[derive(FromArgs)]
#[argh(subcommand, name = "backup")]
struct Backup {
    /// the new file (must not exist)
    #[argh(positional)]
    file: PathBuf,
    /// configuration file (default /etc/msnpd/msnpd.toml when it exists); only `db` is read
    #[argh(option)]
    config: Option<PathBuf>,
    /// database file
    #[argh(option)]
    db: Option<PathBuf>,
}

/// Manage the HTTPS certificate kit (a private CA and the server certificates it signs).
#[derive(FromArgs)]
#[argh(subcommand, name = "tls")]
struct Tls {
    #[argh(subcommand)]
    action: TlsAction,
}

#[derive(FromArgs)]
#[argh(subcommand)]
enum TlsAction {
    Init(TlsInit),
    Show(TlsShow),
}

/// Issue new server certificates (and a CA if there is none). Restart the server to use them.
#[derive(FromArgs)]
#[argh(subcommand, name = "init")]
struct TlsInit {
    /// kit directory (default: the database's directory)
    #[argh(option)]
    tls_dir: Option<PathBuf>,
    /// an extra host name or address for the server certificate (repeatable)
    #[argh(option)]
    name: Vec<String>,
    /// also replace the CA (every client PC must then install the new ca.cer)
    #[argh(switch)]
    new_ca: bool,
}

/// Print the kit's files, names, fingerprints and expiry dates.
#[derive(FromArgs)]
#[argh(subcommand, name = "show")]
struct TlsShow {
    /// kit directory (default: the database's directory)
    #[argh(option)]
    tls_dir: Option<PathBuf>,
}

/// Manage accounts in the database (works while the server runs).
#[derive(FromArgs)]
#[argh(subcommand, name = "user")]
struct User {
    #[argh(subcommand)]
    action: UserAction,
}

#[derive(FromArgs)]
#[argh(subcommand)]
enum UserAction {
    Add(UserAdd),
    Passwd(UserPasswd),
    Del(UserDel),
    List(UserList),
    Import(UserImport),
}

/// Create an account. Without --password, reads it from stdin (on a terminal: asked twice, not
/// echoed).
#[derive(FromArgs)]
#[argh(subcommand, name = "add")]
struct UserAdd {
    /// the account's e-mail address
    #[argh(positional)]
    email: String,
    /// the password (visible in the process list; prefer stdin)
    #[argh(option)]
    password: Option<String>,
    /// database file
    #[argh(option)]
    db: Option<PathBuf>,
}

/// Change an account's password (read from stdin, or --password).
#[derive(FromArgs)]
#[argh(subcommand, name = "passwd")]
struct UserPasswd {
    #[argh(positional)]
    email: String,
    /// the new password
    #[argh(option)]
    password: Option<String>,
    /// database file
    #[argh(option)]
    db: Option<PathBuf>,
}

/// Delete an account and remove it from everyone's lists.
#[derive(FromArgs)]
#[argh(subcommand, name = "del")]
struct UserDel {
    #[argh(positional)]
    email: String,
    /// database file
    #[argh(option)]
    db: Option<PathBuf>,
}

/// List accounts.
#[derive(FromArgs)]
#[argh(subcommand, name = "list")]
struct UserList {
    /// database file
    #[argh(option)]
    db: Option<PathBuf>,
}

/// Create many accounts from a file, all or none. Each line is `email<TAB>password` (the password
/// may contain spaces) or `email password` (no spaces); # starts a comment line.
#[derive(FromArgs)]
#[argh(subcommand, name = "import")]
struct UserImport {
    /// file with one account per line
    #[argh(positional)]
    file: PathBuf,
    /// database file
    #[argh(option)]
    db: Option<PathBuf>,
}

type CliResult<T = ()> = Result<T, Box<dyn std::error::Error>>;

const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The database: `--db`, else the config file's `db`, else `$STATE_DIRECTORY/msnpd.db` under
/// systemd, else `msnpd.db` here.
fn database_path(flag: Option<PathBuf>, config: Option<&Path>) -> CliResult<PathBuf> {
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
fn config_for(flag: Option<PathBuf>) -> CliResult<Option<PathBuf>> {
    match flag {
        Some(p) if p.as_os_str().is_empty() => Err("--config needs a file name".into()),
        Some(p) => Ok(Some(p)),
        None => Ok(msnpd::ops::config_file::locate(&[])?),
    }
}

/// Prefixes a database error with the file it is about.
fn in_db<T, E: std::fmt::Display>(db: &Path, r: Result<T, E>) -> CliResult<T> {
    r.map_err(|e| {
        let e = e.to_string();
        if e.contains(&*db.to_string_lossy()) {
            e.into()
        } else {
            format!("{}: {e}", db.display()).into()
        }
    })
}

fn open_existing(db: &Path) -> CliResult<Db> {
    in_db(db, Db::open_existing(db))
}

fn open_or_create(db: &Path) -> CliResult<Db> {
    let mut d = in_db(db, Db::open(db))?;
    in_db(db, d.migrate())?;
    Ok(d)
}

/// Parses the command line the way `argh::from_env` does; for `serve`, the config file's settings
/// are inserted before the command line's own options, which therefore override them.
fn parse_command_line(args: &[String]) -> Result<(Cli, Option<PathBuf>, Vec<String>), String> {
    let name = Path::new(args.first().map_or("msnpd", String::as_str))
        .file_name()
        .map_or("msnpd".into(), |n| n.to_string_lossy().into_owned());
    let rest: Vec<String> = args.iter().skip(1).cloned().collect();
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

fn parse_level(s: &str) -> Result<log::LevelFilter, String> {
    s.parse()
        .map_err(|_| format!("invalid log level {s:?}: use error, warn, info, debug or trace"))
}

/// Logs go to stderr. Under systemd (JOURNAL_STREAM set) the journal stamps each line, so ours
/// is left out. Unless RUST_LOG is set, the level is `level` and can be changed later (SIGHUP).
fn init_logging(level: log::LevelFilter) -> bool {
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

fn main() -> ExitCode {
    msnpd::tune_allocator();
    let args: Vec<String> = std::env::args().collect();
    let serving = args.get(1).is_some_and(|a| a == "serve");
    if !serving {
        // A printing command whose reader went away (`msnpd user list | head`) ends quietly, as
        // other Unix tools do, instead of panicking on the failed write. The server keeps
        // ignoring SIGPIPE: its sockets report EPIPE as an error instead.
        // SAFETY: setting a signal's disposition to the default before any thread starts.
        unsafe {
            libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        }
    }
    if matches!(args.get(1).map(String::as_str), Some("--version" | "-V")) {
        println!("msnpd {VERSION}");
        return ExitCode::SUCCESS;
    }
    let result = parse_command_line(&args)
        .map_err(Into::into)
        .and_then(|(cli, config, rest)| match cli.command {
            Command::Serve(s) => serve(s, config, rest),
            command => {
                init_logging(log::LevelFilter::Info);
                match command {
                    Command::User(u) => user(u.action),
                    Command::Status(s) => status(s),
                    Command::Backup(b) => backup(b),
                    Command::Invite(i) => invite(i.action),
                    Command::Tls(t) => tls(t.action),
                    Command::Serve(_) => unreachable!("handled above"),
                }
            }
        });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("msnpd: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The server's settings from the parsed options.
fn server_config(s: &Serve) -> CliResult<msnpd::Config> {
    let mut config = msnpd::Config::new(database_path(s.db.clone(), None)?);
    config.listen = s.listen;
    config.sb_listen = s.sb_listen;
    if let Some(list) = &s.http_listen {
        config.http_listen =
            msnpd::server::listen::parse_list(list).map_err(|e| format!("--http-listen: {e}"))?;
    }
    if let Some(addr) = &s.https_listen {
        config.https_listen = msnpd::server::listen::parse_optional(addr)
            .map_err(|e| format!("--https-listen: {e}"))?;
    }
    if s.tls_cert.is_some() != s.tls_key.is_some() {
        return Err("--tls-cert and --tls-key must be given together".into());
    }
    config.tls_dir = s.tls_dir.clone();
    config.tls_cert = s.tls_cert.clone();
    config.tls_key = s.tls_key.clone();
    config.public_host = match &s.public_host {
        Some(h) => Some(msnpd::ops::validate_public_host(h)?),
        None => None,
    };
    config.chl_interval =
        (s.chl_interval > 0).then(|| std::time::Duration::from_secs(s.chl_interval));
    config.allow_unknown_clients = s.allow_unknown_clients;
    if let Some(t) = s.threads {
        config.threads = t.max(1);
    }
    let secs = |n: u64| std::time::Duration::from_secs(n.max(1));
    config.timeouts.login = secs(s.login_timeout);
    config.timeouts.first_command = secs((s.login_timeout / 2).clamp(1, 30));
    config.timeouts.ns_idle = secs(s.idle_timeout);
    config.timeouts.sb_idle = secs(s.sb_idle_timeout);
    config.timeouts.write_stall = secs(s.stall_timeout);
    config.timeouts.http_request = secs(s.http_head_timeout);
    config.timeouts.gateway_idle = secs(s.gateway_idle_timeout);
    config.max_connections = s.max_connections.max(1);
    config.max_per_ip = s.max_per_ip.max(1);
    config.auth_backoff = secs(s.auth_backoff);
    config.name = s.name.clone();
    config.public_presence = s.public_presence;
    config.registration = s.registration;
    config.dns_listen = s.dns_listen;
    if let Some(u) = s.dns_upstream.clone() {
        config.dns_upstream = u;
    }
    if let Some(a) = s.dns_allow.clone() {
        config.dns_allow = a;
    }
    Ok(config)
}

fn log_level(s: &Serve) -> CliResult<log::LevelFilter> {
    Ok(parse_level(s.log_level.as_deref().unwrap_or("info"))?)
}

fn serve(s: Serve, config_file: Option<PathBuf>, command_line: Vec<String>) -> CliResult {
    // `parse_command_line` found the same file (it had to read it before parsing).
    let config_file = s.config.clone().or(config_file);
    let level = log_level(&s)?;
    let config = server_config(&s)?;
    let rust_log = init_logging(level);
    log::info!("msnpd {VERSION} starting");
    if let Some(f) = &config_file {
        log::info!("configuration: {}", f.display());
    }
    let mut signals = signal_hook::iterator::Signals::new([
        signal_hook::consts::SIGTERM,
        signal_hook::consts::SIGINT,
        signal_hook::consts::SIGHUP,
    ])?;
    let server = msnpd::Server::start(config)?;
    for sig in signals.forever() {
        if sig == signal_hook::consts::SIGHUP {
            reload(&server, config_file.as_deref(), &command_line, rust_log);
            continue;
        }
        log::info!("signal {sig} received");
        break;
    }
    server.shutdown();
    log::info!("stopped");
    Ok(())
}

/// SIGHUP: re-reads the config file (the command line still overriding it) and applies what can
/// change while running. A broken file changes nothing.
fn reload(server: &msnpd::Server, file: Option<&Path>, command_line: &[String], rust_log: bool) {
    let Some(file) = file else {
        log::info!("SIGHUP: no configuration file in use; nothing to reload");
        return;
    };
    let parsed = parse_command_line_quiet(file, command_line)
        .and_then(|s| Ok((server_config(&s)?, log_level(&s)?)));
    let (config, level) = match parsed {
        Ok(c) => c,
        Err(e) => {
            log::error!(
                "reload of {} failed, settings unchanged: {e}",
                file.display()
            );
            return;
        }
    };
    let (mut changes, needs_restart) = server.reload(&config);
    if level != log::max_level() {
        if rust_log {
            log::warn!(
                "log-level in {} is ignored: RUST_LOG is set",
                file.display()
            );
        } else {
            changes.push(format!("log-level {} -> {level}", log::max_level()));
            log::set_max_level(level);
        }
    }
    if changes.is_empty() {
        log::info!("reloaded {}: nothing changed", file.display());
    } else {
        log::info!("reloaded {}: {}", file.display(), changes.join(", "));
    }
    if needs_restart {
        log::warn!(
            "{}: some changed settings (addresses, database, public-host, threads, ...) take \
             effect only after a restart",
            file.display()
        );
    }
}

/// The `serve` options from `file` and the original command line, without printing or exiting.
fn parse_command_line_quiet(file: &Path, command_line: &[String]) -> CliResult<Serve> {
    let given = command_line.get(1..).unwrap_or_default();
    let mut args = msnpd::ops::config_file::flags(file, given)?;
    args.extend(given.iter().cloned());
    let strs: Vec<&str> = args.iter().map(String::as_str).collect();
    Serve::from_args(&["msnpd", "serve"], &strs).map_err(|e| e.output.trim_end().into())
}

fn tls(action: TlsAction) -> Result<(), Box<dyn std::error::Error>> {
    let db = database_path(None, config_for(None)?.as_deref())?;
    let dir =
        |d: Option<PathBuf>| d.unwrap_or_else(|| msnpd::tls::tls_dir(&msnpd::Config::new(db)));
    match action {
        TlsAction::Init(i) => {
            let dir = dir(i.tls_dir);
            let created =
                msnpd::tls::kit::init(&dir, &msnpd::tls::kit::default_names(&i.name), i.new_ca)
                    .map_err(|e| e.to_string())?;
            if created {
                println!(
                    "created a new CA: install {} on every client PC",
                    dir.join("ca.cer").display()
                );
            }
            print!(
                "{}",
                msnpd::tls::kit::describe(&dir).map_err(|e| e.to_string())?
            );
        }
        TlsAction::Show(s) => {
            print!(
                "{}",
                msnpd::tls::kit::describe(&dir(s.tls_dir)).map_err(|e| e.to_string())?
            );
        }
    }
    Ok(())
}

/// Reads a password: from `--password`, from the terminal (twice, without echo), or one line of
/// stdin (for scripts). Empty passwords are refused everywhere.
fn read_password(given: Option<String>) -> CliResult<String> {
    let pw = match given {
        Some(p) => p,
        None if std::io::stdin().is_terminal() => {
            let first = msnpd::ops::password::prompt_hidden("Password: ")?;
            if first.is_empty() {
                return Err("empty password refused".into());
            }
            let again = msnpd::ops::password::prompt_hidden("Repeat password: ")?;
            if again != first {
                return Err("the passwords differ; nothing was changed".into());
            }
            first
        }
        None => {
            let mut line = String::new();
            std::io::stdin().lock().read_line(&mut line)?;
            line.trim_end_matches(['\r', '\n']).to_string()
        }
    };
    if pw.is_empty() {
        return Err("empty password refused".into());
    }
    msnpd::accounts::password_acceptable(&pw)?;
    Ok(pw)
}

fn handle(email: &str) -> CliResult<String> {
    use msnpd::accounts::Refused;
    msnpd::accounts::new_handle(email).map_err(|e| match e {
        Refused::HandleTooLong => format!(
            "invalid e-mail address: {email} (longer than {} characters)",
            msnpd::limits::MAX_HANDLE
        )
        .into(),
        _ => format!("invalid e-mail address: {email}").into(),
    })
}

fn user(action: UserAction) -> CliResult {
    let config = config_for(None)?;
    match action {
        UserAction::Add(a) => {
            let h = handle(&a.email)?;
            let db_path = database_path(a.db, config.as_deref())?;
            let pw = read_password(a.password)?;
            // `user add` may create the database: it is how a new installation starts.
            let mut db = open_or_create(&db_path)?;
            match db.create_user(&h, &Credential::new(&pw)) {
                Ok(_) => println!("created {h}"),
                Err(DbError::Exists) => return Err(format!("account {h} already exists").into()),
                Err(e) => return in_db(&db_path, Err(e)),
            }
        }
        UserAction::Passwd(p) => {
            let h = msnpd::accounts::existing_handle(&p.email)?;
            let db_path = database_path(p.db, config.as_deref())?;
            let mut db = open_existing(&db_path)?;
            if db.lookup(&h).ok().flatten().is_none() {
                return Err(format!("no account {h}").into());
            }
            let pw = read_password(p.password)?;
            match db.set_password(&h, &Credential::new(&pw)) {
                Ok(()) => println!("password changed for {h}"),
                Err(DbError::NotFound) => return Err(format!("no account {h}").into()),
                Err(e) => return in_db(&db_path, Err(e)),
            }
        }
        UserAction::Del(d) => {
            let h = msnpd::accounts::existing_handle(&d.email)?;
            let db_path = database_path(d.db, config.as_deref())?;
            let mut db = open_existing(&db_path)?;
            match db.delete_user(&h) {
                Ok(_) => println!("deleted {h}"),
                Err(DbError::NotFound) => return Err(format!("no account {h}").into()),
                Err(e) => return in_db(&db_path, Err(e)),
            }
        }
        UserAction::List(l) => {
            let db_path = database_path(l.db, config.as_deref())?;
            let db = open_existing(&db_path)?;
            let mut out = std::io::BufWriter::new(std::io::stdout().lock());
            for (h, name) in in_db(&db_path, db.list_users())? {
                writeln!(out, "{h}\t{name}")?;
            }
            out.flush()?;
        }
        UserAction::Import(i) => import(i, config.as_deref())?,
    }
    Ok(())
}

/// One account line of an import file: `email<TAB>password` (the password is everything after
/// the first tab, spaces included) or `email password` (two fields without spaces).
fn import_line(line: &str) -> Option<(&str, &str)> {
    if let Some((email, pw)) = line.split_once('\t') {
        return Some((email.trim(), pw));
    }
    let mut parts = line.split_whitespace();
    match (parts.next(), parts.next(), parts.next()) {
        (Some(email), Some(pw), None) => Some((email, pw)),
        _ => None,
    }
}

/// Accounts hashed between two progress lines when stderr is not a terminal.
const IMPORT_PROGRESS_EVERY: usize = 100;

fn import(i: UserImport, config: Option<&Path>) -> CliResult {
    let file = i.file.display();
    let text = std::fs::read_to_string(&i.file).map_err(|e| format!("cannot read {file}: {e}"))?;
    let mut users = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (n, line) in text.lines().enumerate() {
        let n = n + 1;
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() || line.trim_start().starts_with('#') {
            continue;
        }
        let Some((email, pw)) = import_line(line) else {
            return Err(
                format!("{file}:{n}: expected `email<TAB>password` or `email password`").into(),
            );
        };
        let Some(h) = normalize_handle(email).filter(|h| msnpd::accounts::handle_follows_rule(h))
        else {
            return Err(format!("{file}:{n}: invalid e-mail address {email}").into());
        };
        if pw.is_empty() {
            return Err(format!("{file}:{n}: empty password for {h}").into());
        }
        if !seen.insert(h.clone()) {
            return Err(format!("{file}:{n}: {h} appears twice").into());
        }
        users.push((h, pw.to_string()));
    }
    let db_path = database_path(i.db, config)?;
    let mut db = open_or_create(&db_path)?;
    // Checked before the slow hashing; the insert below still refuses a late duplicate.
    let taken = in_db(
        &db_path,
        db.existing_handles(users.iter().map(|(h, _)| h.as_str())),
    )?;
    if let Some(first) = taken.first() {
        let more = match taken.len() {
            1 => String::new(),
            n => format!(" (and {} more)", n - 1),
        };
        return Err(format!("account {first} already exists{more}; nothing was imported").into());
    }
    let creds = hash_all(&users);
    match db.import_users(&creds) {
        Ok(n) => println!("imported {n} accounts"),
        Err(DbError::Exists) => {
            return Err(
                "an account in the file was created meanwhile; nothing was imported".into(),
            );
        }
        Err(e) => return in_db(&db_path, Err(e)),
    }
    Ok(())
}

/// Shows hashing progress on stderr: a line rewritten in place on a terminal, else a line every
/// `IMPORT_PROGRESS_EVERY` accounts (logs, CI).
fn progress(done: usize, total: usize) {
    let mut err = std::io::stderr().lock();
    if err.is_terminal() {
        let _ = write!(err, "\rhashed {done}/{total}");
        if done == total {
            let _ = writeln!(err);
        }
    } else if done.is_multiple_of(IMPORT_PROGRESS_EVERY) && done < total {
        let _ = writeln!(err, "hashed {done}/{total}");
    }
}

fn status(st: Status) -> CliResult {
    let config = config_for(st.config)?;
    let db_path = database_path(st.db, config.as_deref())?;
    let mut problems = Vec::new();
    println!("msnpd {VERSION}");
    if let Some(f) = &config {
        println!("configuration: {}", f.display());
    }
    match Db::open_existing(&db_path) {
        Ok(db) => {
            let version = db.schema_version().unwrap_or(-1);
            let accounts = db.account_count().unwrap_or(-1);
            println!(
                "database: {} (schema {version}, {accounts} accounts)",
                db_path.display()
            );
        }
        Err(e) => {
            if let Err(e) = in_db::<(), _>(&db_path, Err(e)) {
                println!(
                    "database: {}",
                    e.to_string().replace("database error: ", "")
                );
            }
            problems.push("database");
        }
    }
    match msnpd::ops::published(&db_path) {
        None => {
            println!("server: not running on this database");
            problems.push("server");
        }
        Some(p) => {
            println!("server: running (pid {})", p.pid);
            let mut http = None;
            for (what, addr) in &p.listeners {
                let target = msnpd::ops::reachable_form(*addr);
                let answers = std::net::TcpStream::connect_timeout(
                    &target,
                    std::time::Duration::from_secs(3),
                )
                .is_ok();
                println!(
                    "{what} on {addr}: {}",
                    if answers {
                        "answers"
                    } else {
                        "DOES NOT ANSWER"
                    }
                );
                if !answers {
                    problems.push("listener");
                } else if what == "http" {
                    http = Some(target);
                }
            }
            match http.map(|a| msnpd::ops::ask_online(a, &p.token)) {
                Some(Ok(online)) => {
                    println!("online: {}", online.len());
                    for h in online {
                        println!("  {h}");
                    }
                }
                Some(Err(e)) => {
                    println!("online: unknown ({e})");
                    problems.push("status");
                }
                None => println!("online: unknown (HTTP listener unreachable)"),
            }
            match &p.public_host {
                None => println!(
                    "public-host: not set (clients are sent to the address they connected to)"
                ),
                Some(h) => {
                    let (line, ok) = msnpd::ops::check_public_host(h);
                    println!("public-host: {line}");
                    if !ok {
                        problems.push("public-host");
                    }
                }
            }
        }
    }
    std::io::stdout().flush()?;
    match problems.len() {
        0 => Ok(()),
        n => Err(format!("{n} problem(s): {}", problems.join(", ")).into()),
    }
}

fn backup(b: Backup) -> CliResult {
    let config = config_for(b.config)?;
    let db_path = database_path(b.db, config.as_deref())?;
    let db = open_existing(&db_path)?;
    if b.file.exists() {
        return Err(format!("{} already exists; not overwriting it", b.file.display()).into());
    }
    in_db(&db_path, db.backup_to(&b.file))?;
    let copy = in_db(&b.file, Db::open_existing(&b.file))?;
    let check = in_db(&b.file, copy.integrity_check())?;
    if check != "ok" {
        return Err(format!("{}: integrity check failed: {check}", b.file.display()).into());
    }
    println!(
        "backed up {} to {} (schema {}, {} accounts)",
        db_path.display(),
        b.file.display(),
        copy.schema_version().unwrap_or(-1),
        copy.account_count().unwrap_or(-1)
    );
    Ok(())
}

/// Invitation codes for `--registration invite`.
#[derive(FromArgs)]
#[argh(subcommand, name = "invite")]
struct Invite {
    #[argh(subcommand)]
    action: InviteAction,
}

#[derive(FromArgs)]
#[argh(subcommand)]
enum InviteAction {
    Create(InviteCreate),
    List(InviteList),
    Revoke(InviteRevoke),
}

/// Create an invitation code; prints the code and a registration link.
#[derive(FromArgs)]
#[argh(subcommand, name = "create")]
struct InviteCreate {
    /// how many accounts the code may create (default 1)
    #[argh(option, default = "1")]
    uses: u32,
    /// days until the code expires (default: never)
    #[argh(option)]
    expires: Option<u32>,
    /// start of the printed link (default: http://FIRST-LAN-ADDRESS:8080)
    #[argh(option)]
    url: Option<String>,
    /// database file
    #[argh(option)]
    db: Option<PathBuf>,
}

/// List invitation codes with their uses and state.
#[derive(FromArgs)]
#[argh(subcommand, name = "list")]
struct InviteList {
    /// database file
    #[argh(option)]
    db: Option<PathBuf>,
}

/// Revoke an invitation code.
#[derive(FromArgs)]
#[argh(subcommand, name = "revoke")]
struct InviteRevoke {
    #[argh(positional)]
    code: String,
    /// database file
    #[argh(option)]
    db: Option<PathBuf>,
}

fn invite(action: InviteAction) -> CliResult {
    use msnpd::accounts::invites;
    let config = config_for(None)?;
    let now = msnpd::protocol::timestamp::unix_now() as i64;
    match action {
        InviteAction::Create(c) => {
            if c.uses == 0 {
                return Err("--uses must be at least 1".into());
            }
            if c.expires == Some(0) {
                return Err("--expires must be at least 1 day".into());
            }
            let expires = c.expires.map(|d| now + i64::from(d) * 86_400);
            let db_path = database_path(c.db, config.as_deref())?;
            let mut db = open_or_create(&db_path)?;
            let code = invites::new_code();
            in_db(&db_path, db.create_invite(&code, c.uses, expires, now))?;
            let base = c.url.unwrap_or_else(invites::default_base_url);
            println!("{code}");
            println!("{}/register?invite={code}", base.trim_end_matches('/'));
            eprintln!(
                "uses: {}, expires: {}",
                c.uses,
                expires.map_or("never".to_string(), invites::date)
            );
        }
        InviteAction::List(l) => {
            let db_path = database_path(l.db, config.as_deref())?;
            let db = open_existing(&db_path)?;
            for i in in_db(&db_path, db.list_invites())? {
                println!("{}", invites::describe(&i, now));
            }
        }
        InviteAction::Revoke(r) => {
            let code = msnpd::http::register::normalize_invite(&r.code);
            let db_path = database_path(r.db, config.as_deref())?;
            let mut db = open_existing(&db_path)?;
            match db.revoke_invite(&code) {
                Ok(()) => println!("revoked {code}"),
                Err(DbError::NotFound) => return Err(format!("no invitation code {code}").into()),
                Err(e) => return Err(e.into()),
            }
        }
    }
    Ok(())
}

fn hash_all(users: &[(String, String)]) -> Vec<(String, Credential)> {
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .max(1);
    let chunk = users.len().div_ceil(threads).max(1);
    let done = std::sync::atomic::AtomicUsize::new(0);
    let total = users.len();
    std::thread::scope(|s| {
        let handles: Vec<_> = users
            .chunks(chunk)
            .map(|part| {
                let done = &done;
                s.spawn(move || {
                    part.iter()
                        .map(|(h, pw)| {
                            let c = (h.clone(), Credential::new(pw));
                            let n = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
                            progress(n, total);
                            c
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("hashing thread"))
            .collect()
    })
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
