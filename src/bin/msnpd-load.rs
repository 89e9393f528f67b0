//! msnpd-load: a load generator that speaks MSNP to any MSN server (not only msnpd).
//!
//! Every scenario prints progress on stderr and ends with one line on stdout:
//! `RESULT scenario=NAME key=value ...`. Accounts are `{prefix}{n}@{domain}` with one password,
//! numbered from `--first` (create them beforehand, e.g. with `msnpd user import`).
//!
//! All clients run on one thread: logins and setup as tasks of a smol `LocalExecutor`, the relay
//! streaming phase as a level-triggered epoll loop where each pair's free window goes out in one
//! write and each wake-up costs one read. No locks, no cross-thread wake-ups.

#[path = "msnpd_load/abook.rs"]
mod abook;
#[path = "msnpd_load/engine.rs"]
mod engine;
#[path = "msnpd_load/msnp.rs"]
mod msnp;
#[path = "msnpd_load/net.rs"]
mod net;
#[path = "msnpd_load/relay.rs"]
mod relay;
#[path = "msnpd_load/scenarios.rs"]
mod scenarios;
#[path = "msnpd_load/sso.rs"]
mod sso;
#[path = "msnpd_load/stats.rs"]
mod stats;

use argh::FromArgs;
use msnp::Target;
use net::R;
use relay::RelayArgs;
use std::cell::RefCell;
use std::io::BufRead;
use std::net::{SocketAddr, TcpListener};
use std::process::{Command, ExitCode, Stdio};
use std::rc::Rc;
use std::time::Duration;

/// msnpd-load: MSNP load generator. Common options go before the scenario name, e.g.
/// `msnpd-load --server 127.0.0.1:1863 relay --pairs 20 --window 8 --duration 5`.
/// Each scenario ends with one `RESULT key=value ...` line on stdout.
#[derive(FromArgs)]
struct Cli {
    /// dispatch server address (default 127.0.0.1:1863)
    #[argh(option, default = "String::from(\"127.0.0.1:1863\")")]
    server: String,
    /// account names are PREFIX<n>@DOMAIN (default user)
    #[argh(option, default = "String::from(\"user\")")]
    prefix: String,
    /// account domain (default example.com)
    #[argh(option, default = "String::from(\"example.com\")")]
    domain: String,
    /// password of every account (default password)
    #[argh(option, default = "String::from(\"password\")")]
    password: String,
    /// protocol version: MD5 login up to 7, Tweener 8-14, WLM single sign-on 15-18 (login
    /// scenario only from 13) (default 7)
    #[argh(option, default = "7")]
    version: u8,
    /// nexus URL for Tweener logins (default http://SERVER-HOST:8080/rdr/pprdr.asp)
    #[argh(option)]
    nexus: Option<String>,
    /// RST.srf URL for MSNP15+ single sign-on, http:// or https://
    /// (e.g. https://127.0.0.1:443/RST.srf)
    #[argh(option)]
    rst: Option<String>,
    /// CA certificate (PEM) the RST.srf server's certificate must chain to, for the name
    /// login.live.com (msnpd's kit: ca.pem); without it HTTPS is not verified (loopback use)
    #[argh(option)]
    ca: Option<std::path::PathBuf>,
    /// seconds to wait for any one answer (default 30)
    #[argh(option, default = "30.0")]
    timeout: f64,
    #[argh(subcommand)]
    scenario: Scenario,
}

#[derive(FromArgs)]
#[argh(subcommand)]
enum Scenario {
    Login(LoginCmd),
    Idle(IdleCmd),
    Relay(RelayCmd),
    Fanout(FanoutCmd),
    RawRelay(RawRelayCmd),
    RawFanout(RawFanoutCmd),
    RelayServer(RelayServerCmd),
    Abfindall(AbfindallCmd),
}

/// Full logins (DS, XFR NS, NS, auth, SYN, CHG NLN, OUT) at a concurrency: logins/s, latency.
/// Password logins (MSNP8+) with --server-pid of an msnpd also report the server's CPU per login
/// (server_cpu_ms_per_login), the part inside its password hash (server_hash_cpu_ms_per_login,
/// from its /status, found through its lock file) and the rest (server_cpu_beyond_hash_ms).
#[derive(FromArgs)]
#[argh(subcommand, name = "login")]
struct LoginCmd {
    /// logins running at once (default 20)
    #[argh(option, default = "20")]
    concurrency: usize,
    /// total logins
    #[argh(option)]
    count: Option<u64>,
    /// or run for this many seconds
    #[argh(option)]
    duration: Option<f64>,
    /// first account number (default 1)
    #[argh(option, default = "1")]
    first: usize,
    /// accounts to cycle through, at least the concurrency (default: the concurrency)
    #[argh(option, default = "0")]
    accounts: usize,
    /// server process id, to report its memory (VmRSS/VmHWM) and CPU per login
    #[argh(option)]
    server_pid: Option<u32>,
}

/// N sessions logged in and kept alive (PNG, CHL answered): server RSS per session.
#[derive(FromArgs)]
#[argh(subcommand, name = "idle")]
struct IdleCmd {
    /// sessions (default 1000)
    #[argh(option, default = "1000")]
    sessions: usize,
    /// logins running at once while connecting (default 50)
    #[argh(option, default = "50")]
    concurrency: usize,
    /// first account number (default 1)
    #[argh(option, default = "1")]
    first: usize,
    /// seconds to hold all sessions before measuring, at least one ping interval (default 5)
    #[argh(option, default = "5.0")]
    hold: f64,
    /// seconds between PNGs per session, as a client sends them (default 30)
    #[argh(option, default = "30.0")]
    ping: f64,
    /// server process id (needed for the memory figures)
    #[argh(option)]
    server_pid: Option<u32>,
}

/// P switchboard pairs streaming MSG A to B with a window: messages/s, latency.
#[derive(FromArgs)]
#[argh(subcommand, name = "relay")]
struct RelayCmd {
    /// pairs (default 20)
    #[argh(option, default = "20")]
    pairs: usize,
    /// messages in flight per pair (default 8)
    #[argh(option, default = "8")]
    window: u64,
    /// MSG payload bytes, at least 94 (default 100)
    #[argh(option, default = "100")]
    size: usize,
    /// ack type: N, A or U (default N)
    #[argh(option, default = "String::from(\"N\")")]
    ack: String,
    /// messages per pair
    #[argh(option)]
    count: Option<u64>,
    /// or stream for this many seconds
    #[argh(option)]
    duration: Option<f64>,
    /// pace to this many messages/s in total (default: as fast as the window allows)
    #[argh(option)]
    rate: Option<f64>,
    /// first account number (default 1): pair i uses first+2i and first+2i+1
    #[argh(option, default = "1")]
    first: usize,
    /// server process id, to report its CPU use
    #[argh(option)]
    server_pid: Option<u32>,
    /// sleep in epoll_wait instead of spinning while streaming (spinning is the default: a
    /// sleeping CPU wakes slowly, most of all in a VM)
    #[argh(switch)]
    no_spin: bool,
}

/// One user changing status with K watchers: time until all K see NLN, lost updates.
#[derive(FromArgs)]
#[argh(subcommand, name = "fanout")]
struct FanoutCmd {
    /// watchers (default 200)
    #[argh(option, default = "200")]
    watchers: usize,
    /// status changes (default 200)
    #[argh(option, default = "200")]
    rounds: usize,
    /// the watched account; watchers are the next K (default 1)
    #[argh(option, default = "1")]
    first: usize,
    /// watcher logins running at once (default 50)
    #[argh(option, default = "50")]
    concurrency: usize,
    /// pause between status changes in ms (default 0)
    #[argh(option, default = "0")]
    interval_ms: u64,
    /// server process id, to report its CPU time per delivered NLN
    #[argh(option)]
    server_pid: Option<u32>,
    /// sleep in epoll_wait instead of spinning while a round is out
    #[argh(switch)]
    no_spin: bool,
}

/// The relay byte pattern through the built-in minimal TCP relay: the physical limit.
#[derive(FromArgs)]
#[argh(subcommand, name = "raw-relay")]
struct RawRelayCmd {
    /// pairs (default 20)
    #[argh(option, default = "20")]
    pairs: usize,
    /// messages in flight per pair (default 8)
    #[argh(option, default = "8")]
    window: u64,
    /// payload bytes (default 100)
    #[argh(option, default = "100")]
    size: usize,
    /// messages per pair
    #[argh(option)]
    count: Option<u64>,
    /// or stream for this many seconds
    #[argh(option)]
    duration: Option<f64>,
    /// pace to this many messages/s in total
    #[argh(option)]
    rate: Option<f64>,
    /// use a relay already running there (`msnpd-load relay-server`) instead of starting one
    #[argh(option)]
    relay: Option<SocketAddr>,
    /// CPU to pin the started relay process to (like the server's taskset)
    #[argh(option)]
    relay_cpu: Option<usize>,
    /// sleep in epoll_wait instead of spinning while streaming
    #[argh(switch)]
    no_spin: bool,
}

/// The fanout byte pattern through the minimal relay's broadcast: the physical floor.
#[derive(FromArgs)]
#[argh(subcommand, name = "raw-fanout")]
struct RawFanoutCmd {
    /// watchers (default 200)
    #[argh(option, default = "200")]
    watchers: usize,
    /// status changes (default 200)
    #[argh(option, default = "200")]
    rounds: usize,
    /// pause between status changes in ms (default 0)
    #[argh(option, default = "0")]
    interval_ms: u64,
    /// use a relay already running there (`msnpd-load relay-server`) instead of starting one
    #[argh(option)]
    relay: Option<SocketAddr>,
    /// CPU to pin the started relay process to (like the server's taskset)
    #[argh(option)]
    relay_cpu: Option<usize>,
    /// sleep in epoll_wait instead of spinning while a round is out
    #[argh(switch)]
    no_spin: bool,
}

/// Run only the minimal TCP relay (used by raw-relay and raw-fanout); prints `listening on ADDR`.
#[derive(FromArgs)]
#[argh(subcommand, name = "relay-server")]
struct RelayServerCmd {
    /// address (default 127.0.0.1:0)
    #[argh(option, default = "\"127.0.0.1:0\".parse().unwrap()")]
    listen: SocketAddr,
    /// pin to this CPU
    #[argh(option)]
    cpu: Option<usize>,
}

/// WLM address book: ABFindAll of one account with N contacts, repeated over one HTTP
/// connection: latency and the server's CPU per answer.
#[derive(FromArgs)]
#[argh(subcommand, name = "abfindall")]
struct AbfindallCmd {
    /// the server's HTTP listener (e.g. 127.0.0.1:8080)
    #[argh(option)]
    http: String,
    /// contacts the account has; missing ones are added first (default 300)
    #[argh(option, default = "300")]
    contacts: usize,
    /// timed requests (default 200)
    #[argh(option, default = "200")]
    count: usize,
    /// the account number; its contacts are the next ones (default 1)
    #[argh(option, default = "1")]
    first: usize,
    /// server process id, for its CPU time per request
    #[argh(option)]
    server_pid: Option<u32>,
}

fn pin(cpu: usize) -> R<()> {
    // SAFETY: a zeroed cpu_set_t is valid; CPU_SET writes within it.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        if libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) != 0 {
            return Err(format!(
                "cannot pin to CPU {cpu}: {}",
                std::io::Error::last_os_error()
            )
            .into());
        }
    }
    Ok(())
}

/// Raises the soft open-file limit to the hard one.
fn raise_nofile() {
    // SAFETY: plain getrlimit/setrlimit on a local struct.
    unsafe {
        let mut l: libc::rlimit = std::mem::zeroed();
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut l) == 0 && l.rlim_cur < l.rlim_max {
            l.rlim_cur = l.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &l);
        }
    }
}

fn ack_byte(s: &str) -> R<u8> {
    match s {
        "N" | "A" | "U" => Ok(s.as_bytes()[0]),
        _ => Err(format!("--ack must be N, A or U, not {s}").into()),
    }
}

/// Starts `msnpd-load relay-server` as a child; returns it and its address.
/// Runs `scenario` against the relay at `relay`, or against one started for it (pinned to `cpu`)
/// and stopped after; the scenario gets the started relay's process id for its CPU figures.
fn with_relay(
    relay: Option<SocketAddr>,
    cpu: Option<usize>,
    scenario: impl FnOnce(SocketAddr, Option<u32>) -> R<()>,
) -> R<()> {
    let Some(addr) = relay else {
        let (mut child, addr) = spawn_relay(cpu)?;
        let r = scenario(addr, Some(child.id()));
        let _ = child.kill();
        let _ = child.wait();
        return r;
    };
    scenario(addr, None)
}

fn spawn_relay(cpu: Option<usize>) -> R<(std::process::Child, SocketAddr)> {
    let mut cmd = Command::new(std::env::current_exe()?);
    cmd.arg("relay-server");
    if let Some(c) = cpu {
        cmd.args(["--cpu", &c.to_string()]);
    }
    let mut child = cmd
        .env("MSNPD_LOAD_CHILD", "1")
        .stdout(Stdio::piped())
        .stdin(Stdio::null())
        .spawn()?;
    let out = child.stdout.take().ok_or("relay stdout")?;
    let mut line = String::new();
    std::io::BufReader::new(out).read_line(&mut line)?;
    let addr = line
        .trim()
        .strip_prefix("listening on ")
        .ok_or_else(|| format!("relay-server said `{}`", line.trim()))?
        .parse()?;
    Ok((child, addr))
}

fn main() -> ExitCode {
    let cli: Cli = argh::from_env();
    raise_nofile();
    net::set_io_timeout(Duration::from_secs_f64(cli.timeout));
    let ex: scenarios::Ex = Box::leak(Box::new(smol::LocalExecutor::new()));
    let r = match run(cli, ex) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("msnpd-load: {e}");
            ExitCode::FAILURE
        }
    };
    // Open sessions and detached tasks die with the process.
    use std::io::Write;
    let _ = std::io::stdout().flush();
    std::process::exit(if r == ExitCode::SUCCESS { 0 } else { 1 });
}

fn run(cli: Cli, ex: scenarios::Ex) -> R<()> {
    let server = net::resolve(&cli.server)?;
    let nexus = cli
        .nexus
        .clone()
        .unwrap_or_else(|| format!("http://{}:8080/rdr/pprdr.asp", server.ip()));
    let target = Rc::new(Target {
        server,
        prefix: cli.prefix.clone(),
        domain: cli.domain.clone(),
        password: cli.password.clone(),
        version: cli.version,
        nexus,
        dalogin: RefCell::new(None),
        rst: cli
            .rst
            .as_deref()
            .map(|u| sso::RstEndpoint::new(u, cli.ca.as_ref(), "login.live.com"))
            .transpose()?,
    });
    // MSNP13+ keep their lists in the SOAP address book, which only `login` (an empty list)
    // and `abfindall` do without; the other scenarios build lists with ADD/ADC.
    let wlm_ok = matches!(cli.scenario, Scenario::Login(_) | Scenario::Abfindall(_));
    match msnpd::dialect::Dialect::get(cli.version) {
        None => return Err("--version must be 2-18".into()),
        Some(d) if d.address_book && !wlm_ok => {
            return Err("--version 13-18 is for the login scenario only".into());
        }
        Some(_) => {}
    }
    let block =
        |f: std::pin::Pin<Box<dyn std::future::Future<Output = R<()>>>>| smol::block_on(ex.run(f));
    match cli.scenario {
        Scenario::Login(c) => block(Box::pin(scenarios::login_scenario(
            ex,
            target,
            scenarios::LoginArgs {
                concurrency: c.concurrency,
                count: c.count,
                duration: c.duration,
                first: c.first,
                accounts: c.accounts,
                server_pid: c.server_pid,
            },
        ))),
        Scenario::Idle(c) => block(Box::pin(scenarios::idle_scenario(
            ex,
            target,
            scenarios::IdleArgs {
                sessions: c.sessions,
                concurrency: c.concurrency,
                first: c.first,
                hold: c.hold,
                ping: c.ping,
                server_pid: c.server_pid,
            },
        ))),
        Scenario::Fanout(c) => block(Box::pin(scenarios::fanout_scenario(
            ex,
            target,
            scenarios::FanoutArgs {
                watchers: c.watchers,
                rounds: c.rounds,
                first: c.first,
                concurrency: c.concurrency,
                interval_ms: c.interval_ms,
                server_pid: c.server_pid,
                raw: false,
                spin: !c.no_spin,
            },
        ))),
        Scenario::Relay(c) => {
            let a = RelayArgs {
                pairs: c.pairs,
                window: c.window.max(1),
                size: c.size,
                ack: ack_byte(&c.ack)?,
                count: c.count,
                duration: c.duration,
                rate: c.rate,
                first: c.first,
                concurrency: 20,
                server_pid: c.server_pid,
                spin: !c.no_spin,
            };
            block(Box::pin(relay::relay_scenario(ex, target, a)))
        }
        Scenario::RawRelay(c) => with_relay(c.relay, c.relay_cpu, |addr, pid| {
            let a = RelayArgs {
                pairs: c.pairs,
                window: c.window.max(1),
                size: c.size,
                ack: b'N',
                count: c.count,
                duration: c.duration,
                rate: c.rate,
                first: 1,
                concurrency: 1,
                server_pid: pid,
                spin: !c.no_spin,
            };
            block(Box::pin(relay::raw_relay_scenario(addr, a)))
        }),
        Scenario::RawFanout(c) => with_relay(c.relay, c.relay_cpu, |addr, pid| {
            let a = scenarios::FanoutArgs {
                watchers: c.watchers,
                rounds: c.rounds,
                first: 1,
                concurrency: 1,
                interval_ms: c.interval_ms,
                server_pid: pid,
                raw: true,
                spin: !c.no_spin,
            };
            block(Box::pin(scenarios::raw_fanout_scenario(addr, a)))
        }),
        Scenario::Abfindall(c) => abook::abfindall_scenario(
            &target,
            abook::AbookArgs {
                http: net::resolve(&c.http)?,
                contacts: c.contacts,
                count: c.count.max(1),
                first: c.first,
                server_pid: c.server_pid,
            },
        ),
        Scenario::RelayServer(c) => {
            if std::env::var_os("MSNPD_LOAD_CHILD").is_some() {
                // Started by raw-relay: go when it goes, even if it is killed.
                // SAFETY: prctl with plain integer arguments.
                unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) };
            }
            if let Some(cpu) = c.cpu {
                pin(cpu)?;
            }
            let l = TcpListener::bind(c.listen)?;
            println!("listening on {}", l.local_addr()?);
            use std::io::Write;
            std::io::stdout().flush()?;
            engine::relay_server(l)
        }
    }
}
