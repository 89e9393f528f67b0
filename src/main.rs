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

#[derive(FromArgs)]
#[argh(subcommand)]
enum Command {
    Serve(Serve),
    User(User),
    Invite(Invite),
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
    /// HTTP address for Passport login (default 0.0.0.0:8080)
    #[argh(option, default = "\"0.0.0.0:8080\".parse().unwrap()")]
    http_listen: SocketAddr,
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
        Command::Invite(i) => invite(i.action),
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
    config.http_listen = s.http_listen;
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
    config.timeouts.http_request = secs(s.http_head_timeout);
    config.max_connections = s.max_connections.max(1);
    config.max_per_ip = s.max_per_ip.max(1);
    config.auth_backoff = secs(s.auth_backoff);
    config.name = s.name;
    config.public_presence = s.public_presence;
    config.registration = s.registration;
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

/// The password from `--password` or stdin, held to the rule the registration form applies too
/// (`accounts::password_acceptable`).
fn read_password(given: Option<String>) -> Result<String, Box<dyn std::error::Error>> {
    let pw = match given {
        Some(p) => p,
        None => read_password_line()?,
    };
    msnpd::accounts::password_acceptable(&pw)?;
    Ok(pw)
}

fn read_password_line() -> Result<String, Box<dyn std::error::Error>> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        eprint!("Password: ");
        std::io::stderr().flush()?;
    }
    let mut line = String::new();
    stdin.lock().read_line(&mut line)?;
    Ok(line.trim_end_matches(['\r', '\n']).to_string())
}

fn handle(email: &str) -> Result<String, Box<dyn std::error::Error>> {
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

fn invite(action: InviteAction) -> Result<(), Box<dyn std::error::Error>> {
    use msnpd::accounts::invites;
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
            let mut db = Db::open(&default_db(c.db))?;
            db.migrate()?;
            let code = invites::new_code();
            db.create_invite(&code, c.uses, expires, now)?;
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
            let db = Db::open_existing(&default_db(l.db))?;
            for i in db.list_invites()? {
                println!("{}", invites::describe(&i, now));
            }
        }
        InviteAction::Revoke(r) => {
            let code = msnpd::http::register::normalize_invite(&r.code);
            let mut db = Db::open_existing(&default_db(r.db))?;
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
