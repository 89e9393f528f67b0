//! `msnpd serve`: its options, the server's settings from them, and the SIGHUP reload.

use super::{CliResult, VERSION, database_path, init_logging, parse_level};
use argh::FromArgs;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// Run the server (dispatch, notification, switchboard and HTTP).
#[derive(FromArgs)]
#[argh(subcommand, name = "serve")]
pub(crate) struct Serve {
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
    /// XMPP client address (STARTTLS), or none (default 0.0.0.0:5222 when it can be bound)
    #[argh(option)]
    xmpp_listen: Option<String>,
    /// XMPP direct-TLS address (XEP-0368), or none (the default)
    #[argh(option)]
    xmpp_tls_listen: Option<String>,
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

pub(crate) fn parse_dns_upstream(s: &str) -> Result<msnpd::dns::Upstream, String> {
    s.parse()
}

pub(crate) fn parse_dns_allow(s: &str) -> Result<Vec<ipnet::IpNet>, String> {
    msnpd::dns::parse_allow(s)
}

/// The server's settings from the parsed options.
pub(crate) fn server_config(s: &Serve) -> CliResult<msnpd::Config> {
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
    if let Some(addr) = &s.xmpp_listen {
        config.xmpp_listen = msnpd::server::listen::parse_optional(addr)
            .map_err(|e| format!("--xmpp-listen: {e}"))?;
    }
    if let Some(addr) = &s.xmpp_tls_listen {
        config.xmpp_tls_listen = msnpd::server::listen::parse_optional(addr)
            .map_err(|e| format!("--xmpp-tls-listen: {e}"))?;
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

pub(crate) fn log_level(s: &Serve) -> CliResult<log::LevelFilter> {
    Ok(parse_level(s.log_level.as_deref().unwrap_or("info"))?)
}

pub(crate) fn serve(
    s: Serve,
    config_file: Option<PathBuf>,
    command_line: Vec<String>,
) -> CliResult {
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
    let given = command_line.get(1..).unwrap_or_default();
    // What the server starts with; restart-only keys stay as they were until a restart. Read
    // before the listeners open: once they do, the file may already be edited for a reload.
    let in_effect = config_file
        .as_deref()
        .and_then(|f| msnpd::ops::config_file::flags(f, given).ok())
        .unwrap_or_default();
    let server = msnpd::Server::start(config)?;
    // Start-up code (OpenSSL and the certificate kit, SQLite's open, parsing) is not needed
    // again soon: its pages leave the RSS and stay in the page cache (docs/pi.md). First the
    // workers run the first polls of the tasks just spawned (listeners, actors, the XMPP
    // router): released before those, their code came back at once, and the idle RSS then
    // depended on which thread won (0.9 MiB apart between runs).
    std::thread::sleep(std::time::Duration::from_millis(200));
    log::info!(
        "start-up done: {} KiB of code and read-only data unmapped (mapped again on use)",
        msnpd::ops::residency::release_startup_pages()
    );
    for sig in signals.forever() {
        if sig == signal_hook::consts::SIGHUP {
            reload(
                &server,
                config_file.as_deref(),
                &command_line,
                rust_log,
                &in_effect,
            );
            continue;
        }
        log::info!("signal {sig} received");
        break;
    }
    server.shutdown();
    log::info!("stopped");
    Ok(())
}

/// The keys `reload` applies without a restart (as `ops::reload` and the log level do).
pub(crate) const RELOADABLE_KEYS: &[&str] = &[
    "max-connections",
    "max-per-ip",
    "auth-backoff",
    "login-timeout",
    "idle-timeout",
    "sb-idle-timeout",
    "stall-timeout",
    "registration",
    "log-level",
];

/// The keys whose flags differ between two `config_file::flags` lists and that need a restart.
pub(crate) fn restart_keys(before: &[String], after: &[String]) -> Vec<String> {
    fn by_key(flags: &[String]) -> std::collections::BTreeMap<&str, Vec<&str>> {
        let mut m = std::collections::BTreeMap::<&str, Vec<&str>>::new();
        let mut key = "";
        for f in flags {
            match f.strip_prefix("--") {
                Some(k) => {
                    key = k;
                    m.entry(k).or_default();
                }
                None => m.entry(key).or_default().push(f),
            }
        }
        m
    }
    let (b, a) = (by_key(before), by_key(after));
    let mut keys: Vec<String> = b
        .keys()
        .chain(a.keys())
        .filter(|k| !RELOADABLE_KEYS.contains(k) && b.get(*k) != a.get(*k))
        .map(|k| k.to_string())
        .collect();
    keys.dedup();
    keys.sort();
    keys.dedup();
    keys
}

/// SIGHUP: re-reads the config file (the command line still overriding it) and applies what can
/// change while running. A broken file changes nothing. `in_effect` is the file's flags the
/// server runs with: a changed key that needs a restart is named in the warning.
pub(crate) fn reload(
    server: &msnpd::Server,
    file: Option<&Path>,
    command_line: &[String],
    rust_log: bool,
    in_effect: &[String],
) {
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
    let given = command_line.get(1..).unwrap_or_default();
    let now = msnpd::ops::config_file::flags(file, given).unwrap_or_default();
    let keys = restart_keys(in_effect, &now);
    if !keys.is_empty() {
        log::warn!(
            "{}: changed {} {} take effect only after a restart (systemctl restart msnpd)",
            file.display(),
            if keys.len() == 1 { "key" } else { "keys" },
            keys.join(", ")
        );
    } else if needs_restart {
        log::warn!(
            "{}: some changed settings take effect only after a restart",
            file.display()
        );
    }
}

/// The `serve` options from `file` and the original command line, without printing or exiting.
pub(crate) fn parse_command_line_quiet(file: &Path, command_line: &[String]) -> CliResult<Serve> {
    let given = command_line.get(1..).unwrap_or_default();
    let mut args = msnpd::ops::config_file::flags(file, given)?;
    args.extend(given.iter().cloned());
    let strs: Vec<&str> = args.iter().map(String::as_str).collect();
    Serve::from_args(&["msnpd", "serve"], &strs).map_err(|e| e.output.trim_end().into())
}
