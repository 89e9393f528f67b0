//! The `msnpd` command line.

use argh::FromArgs;
use msnpd::auth::Credential;
use msnpd::protocol::names::normalize_handle;
use msnpd::storage::{Db, DbError};
use std::io::{BufRead, IsTerminal, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// msnpd: an MSN Messenger server (MSNP2-MSNP12) in one binary.
/// Logging is controlled with RUST_LOG (error, warn, info, debug, trace); the default is info.
#[derive(FromArgs)]
struct Cli {
    #[argh(subcommand)]
    command: Command,
}

// Parsed once at start; boxing the large variant would not save anything.
#[allow(clippy::large_enum_variant)]
#[derive(FromArgs)]
#[argh(subcommand)]
enum Command {
    Serve(Serve),
    User(User),
    Tls(Tls),
}

/// Run the server (dispatch, notification, switchboard and HTTP).
#[derive(FromArgs)]
#[argh(subcommand, name = "serve")]
struct Serve {
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

/// Create an account. Without --password, reads it from stdin (prompting on a terminal).
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

/// Create many accounts from a file of `email password` lines, all or none.
#[derive(FromArgs)]
#[argh(subcommand, name = "import")]
struct UserImport {
    /// file with one `email password` pair per line (# starts a comment)
    #[argh(positional)]
    file: PathBuf,
    /// database file
    #[argh(option)]
    db: Option<PathBuf>,
}

fn default_db(db: Option<PathBuf>) -> PathBuf {
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
    })
}

fn main() -> ExitCode {
    msnpd::tune_allocator();
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).init();
    let cli: Cli = argh::from_env();
    let result = match cli.command {
        Command::Serve(s) => serve(s),
        Command::User(u) => user(u.action),
        Command::Tls(t) => tls(t.action),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("msnpd: {e}");
            ExitCode::FAILURE
        }
    }
}

fn serve(s: Serve) -> Result<(), Box<dyn std::error::Error>> {
    let mut config = msnpd::Config::new(default_db(s.db));
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
    config.tls_dir = s.tls_dir;
    config.tls_cert = s.tls_cert;
    config.tls_key = s.tls_key;
    config.public_host = s.public_host;
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
    config.max_connections = s.max_connections.max(1);
    config.max_per_ip = s.max_per_ip.max(1);
    config.auth_backoff = secs(s.auth_backoff);
    let signals = signal_hook::iterator::Signals::new([
        signal_hook::consts::SIGTERM,
        signal_hook::consts::SIGINT,
    ])?;
    let server = msnpd::Server::start(config)?;
    let mut signals = signals;
    if let Some(sig) = signals.forever().next() {
        log::info!("signal {sig} received");
    }
    server.shutdown();
    log::info!("stopped");
    Ok(())
}

fn tls(action: TlsAction) -> Result<(), Box<dyn std::error::Error>> {
    let dir = |d: Option<PathBuf>| {
        d.unwrap_or_else(|| msnpd::tls::tls_dir(&msnpd::Config::new(default_db(None))))
    };
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

fn read_password(given: Option<String>) -> Result<String, Box<dyn std::error::Error>> {
    if let Some(p) = given {
        return Ok(p);
    }
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        eprint!("Password: ");
        std::io::stderr().flush()?;
    }
    let mut line = String::new();
    stdin.lock().read_line(&mut line)?;
    let pw = line.trim_end_matches(['\r', '\n']).to_string();
    if pw.is_empty() {
        return Err("empty password".into());
    }
    Ok(pw)
}

fn handle(email: &str) -> Result<String, Box<dyn std::error::Error>> {
    normalize_handle(email).ok_or_else(|| format!("invalid e-mail address: {email}").into())
}

fn user(action: UserAction) -> Result<(), Box<dyn std::error::Error>> {
    match action {
        UserAction::Add(a) => {
            let h = handle(&a.email)?;
            let pw = read_password(a.password)?;
            // `user add` may create the database: it is how a new installation starts.
            let mut db = Db::open(&default_db(a.db))?;
            db.migrate()?;
            match db.create_user(&h, &Credential::new(&pw)) {
                Ok(_) => println!("created {h}"),
                Err(DbError::Exists) => return Err(format!("account {h} already exists").into()),
                Err(e) => return Err(e.into()),
            }
        }
        UserAction::Passwd(p) => {
            let h = handle(&p.email)?;
            let mut db = Db::open_existing(&default_db(p.db))?;
            let pw = read_password(p.password)?;
            match db.set_password(&h, &Credential::new(&pw)) {
                Ok(()) => println!("password changed for {h}"),
                Err(DbError::NotFound) => return Err(format!("no account {h}").into()),
                Err(e) => return Err(e.into()),
            }
        }
        UserAction::Del(d) => {
            let h = handle(&d.email)?;
            let mut db = Db::open_existing(&default_db(d.db))?;
            match db.delete_user(&h) {
                Ok(_) => println!("deleted {h}"),
                Err(DbError::NotFound) => return Err(format!("no account {h}").into()),
                Err(e) => return Err(e.into()),
            }
        }
        UserAction::List(l) => {
            let db = Db::open_existing(&default_db(l.db))?;
            for (h, name) in db.list_users()? {
                println!("{h}\t{name}");
            }
        }
        UserAction::Import(i) => {
            let text = std::fs::read_to_string(&i.file)
                .map_err(|e| format!("cannot read {}: {e}", i.file.display()))?;
            let mut users = Vec::new();
            let mut seen = std::collections::HashSet::new();
            for (n, line) in text.lines().enumerate() {
                let line = line.trim();
                if line.is_empty() || line.starts_with('#') {
                    continue;
                }
                let mut parts = line.split_whitespace();
                let (Some(email), Some(pw), None) = (parts.next(), parts.next(), parts.next())
                else {
                    return Err(format!(
                        "{}:{}: expected `email password`",
                        i.file.display(),
                        n + 1
                    )
                    .into());
                };
                let Some(h) = normalize_handle(email) else {
                    return Err(format!(
                        "{}:{}: invalid e-mail address {email}",
                        i.file.display(),
                        n + 1
                    )
                    .into());
                };
                if !seen.insert(h.clone()) {
                    return Err(format!("{}:{}: {h} appears twice", i.file.display(), n + 1).into());
                }
                users.push((h, pw.to_string()));
            }
            // Hashing is the slow part: spread it over the CPUs.
            let creds = hash_all(&users);
            let mut db = Db::open(&default_db(i.db))?;
            db.migrate()?;
            match db.import_users(&creds) {
                Ok(n) => println!("imported {n} accounts"),
                Err(DbError::Exists) => {
                    return Err(
                        "an account in the file already exists; nothing was imported".into(),
                    );
                }
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
    std::thread::scope(|s| {
        let handles: Vec<_> = users
            .chunks(chunk)
            .map(|part| {
                s.spawn(move || {
                    part.iter()
                        .map(|(h, pw)| (h.clone(), Credential::new(pw)))
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
