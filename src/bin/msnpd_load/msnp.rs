//! MSNP login flows: MD5 (MSNP2-7), Tweener (MSNP8-12, nexus + login2.srf) and WLM single
//! sign-on (MSNP15-18, RST.srf + the `MBI_KEY_OLD` answer, `sso.rs`), all following the dispatch
//! server's `XFR NS` redirect; then SYN (MSNP2-12) or the initial ADL (MSNP13+) and CHG.
//!
//! Every command is written by the server's own typed commands (`msnpd::protocol::command`) for
//! the account's `Dialect`, so the load tool sends what the server's parsers accept and what the
//! dialect table says a client of that version sends.

use crate::net::{ChlKeys, Conn, R, Url, http_get, parse_url};
use msnpd::dialect::{Auth, Dialect, ListCommands};
use msnpd::model::{Status, list};
use msnpd::protocol::command::ClientCommand;
use msnpd::protocol::command::contacts::Adl;
use msnpd::protocol::command::lists::{Adc, Add};
use msnpd::protocol::command::login::{
    ClientVersion, Cvr, Inf, Stage, Usr, Ver, protocol_name, scheme_name,
};
use msnpd::protocol::command::misc::Out;
use msnpd::protocol::command::presence::Chg;
use msnpd::protocol::command::switchboard::{Ans, Cal, SbUsr};
use msnpd::protocol::command::sync::Syn;
use msnpd::protocol::command::xfr::Xfr;
use std::cell::RefCell;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Where and who: the dispatch server, account naming, protocol version.
#[derive(Clone)]
pub struct Target {
    pub server: SocketAddr,
    pub prefix: String,
    pub domain: String,
    pub password: String,
    pub version: u8,
    /// Nexus URL for Tweener logins.
    pub nexus: String,
    /// login2.srf URL, learnt from the nexus once.
    pub dalogin: RefCell<Option<String>>,
    /// RST.srf, for MSNP15+ single sign-on (`--rst`).
    pub rst: Option<Arc<crate::sso::RstEndpoint>>,
}

impl Target {
    /// The dialect of `version` (checked when the target is built).
    pub fn dialect(&self) -> &'static Dialect {
        Dialect::get(self.version).expect("--version is checked at start-up")
    }

    /// The handle of account number `n` (1-based): `{prefix}{n}@{domain}`.
    pub fn handle(&self, n: usize) -> String {
        format!("{}{}@{}", self.prefix, n, self.domain)
    }
}

/// A logged-in notification connection.
pub struct Session {
    pub ns: Conn,
    pub handle: String,
    pub dialect: &'static Dialect,
}

/// Timings of one login, for the report.
#[derive(Default, Clone, Copy)]
pub struct LoginTimes {
    /// From the first connect to `USR OK` (or the end of SYN/CHG when `online` ran).
    pub total: Duration,
    /// Time spent in the login2.srf request (Tweener only).
    pub passport: Duration,
}

fn addr_arg(line: &str, i: usize) -> R<SocketAddr> {
    let a = line
        .split(' ')
        .nth(i)
        .ok_or_else(|| format!("no address in `{line}`"))?;
    Ok(a.parse().map_err(|_| format!("bad address in `{line}`"))?)
}

/// VER (+ INF or CVR) + USR I on one connection; returns the USR/XFR answer.
async fn hello(c: &mut Conn, t: &Target, handle: &str) -> R<crate::net::Frame> {
    let d = t.dialect();
    let tr = c.t();
    c.send(&Ver::offering(d).to_bytes(tr, d)).await?;
    let f = c.expect(&format!("VER {tr} ")).await?;
    let name = protocol_name(d);
    if !f.line.contains(name) {
        return Err(format!("server refused {name}: `{}`", f.line).into());
    }
    if d.inf {
        let tr = c.t();
        c.send(&Inf.to_bytes(tr, d)).await?;
        c.until(&format!("INF {tr} "), tr).await?;
    } else {
        // What MSN Messenger 7.0 and the WLM builds send.
        let cvr = Cvr(ClientVersion {
            lcid: "0x0409",
            os: "winnt",
            os_version: "5.1",
            arch: "i386",
            library: "MSNMSGR",
            client_version: client_build(d.version),
            codebase: Some("MSMSGS"),
            handle: Some(handle),
        });
        let tr = c.t();
        c.send(&cvr.to_bytes(tr, d)).await?;
        c.until(&format!("CVR {tr} "), tr).await?;
    }
    let tr = c.t();
    let usr = Usr::plain(Stage::Initial, handle);
    c.send(&usr.to_bytes(tr, d)).await?;
    let mut f = c.next().await?;
    // MSNP15+: the policies (`GCF 0 len`) come before the nonce.
    while f.starts("GCF 0 ") {
        f = c.next().await?;
    }
    if f.starts(&format!("XFR {tr} NS ")) || f.starts(&format!("USR {tr} ")) {
        Ok(f)
    } else {
        Err(format!("login of {handle}: unexpected `{}`", f.line).into())
    }
}

/// The build a client of `version` names in `CVR`: MSN 7.0, then WLM 8.0, 8.1, 8.5 and 2009.
fn client_build(version: u8) -> &'static str {
    match version {
        ..=12 => "7.0.0777",
        13 => "8.0.0812",
        14 => "8.1.0178",
        15 => "8.5.1302",
        _ => "14.0.8117.0416",
    }
}

/// The machine GUID an MSNP16+ endpoint of account `n` signs in with (one per account, so a
/// repeated login replaces that endpoint as a restarted client would).
fn machine_guid(n: usize) -> String {
    format!("{{F26D1F07-95E2-403C-BC18-{n:012X}}}")
}

/// The Passport 1.4 ticket for a Tweener challenge.
async fn passport(t: &Target, handle: &str, challenge: &str) -> R<String> {
    let server_host = t.server.ip().to_string();
    let dalogin = t.dalogin.borrow().clone();
    let dalogin = match dalogin {
        Some(d) => d,
        None => {
            let nexus = parse_url(&t.nexus, &server_host)?;
            let r = http_get(&nexus, &[]).await?;
            let urls = r
                .header("PassportURLs")
                .ok_or("nexus: no PassportURLs header")?;
            let d = urls
                .split(',')
                .find_map(|p| p.trim().strip_prefix("DALogin="))
                .ok_or("nexus: no DALogin")?
                .to_string();
            // No scheme: the real service meant HTTPS on the nexus's host; we use plain HTTP
            // on the nexus's address.
            let d = if d.starts_with("http://") || d.starts_with("https://") {
                d
            } else {
                let path = d.find('/').map_or("/login2.srf", |i| &d[i..]).to_string();
                format!("http://{}{path}", nexus.host)
            };
            *t.dalogin.borrow_mut() = Some(d.clone());
            d
        }
    };
    let url: Url = parse_url(&dalogin, &server_host)?;
    let auth = format!(
        "Passport1.4 OrgVerb=GET,OrgURL=http%3A%2F%2Fmessenger%2Emsn%2Ecom,sign-in={},pwd={},{challenge}",
        handle.replace('@', "%40"),
        t.password
    );
    let r = http_get(&url, &[("Authorization", &auth)]).await?;
    if r.status != 200 {
        return Err(format!("login2.srf: HTTP {} for {handle}", r.status).into());
    }
    let info = r
        .header("Authentication-Info")
        .ok_or("login2.srf: no Authentication-Info")?;
    let ticket = info
        .split("from-PP='")
        .nth(1)
        .ok_or("login2.srf: no from-PP ticket")?
        .split('\'')
        .next()
        .unwrap_or("");
    Ok(ticket.to_string())
}

/// Full login of account `n`, up to the profile message.
pub async fn login(t: &Target, n: usize) -> R<(Session, LoginTimes)> {
    let started = Instant::now();
    let mut times = LoginTimes::default();
    let handle = t.handle(n);
    let mut addr = t.server;
    // Dispatch, then at most a few redirects.
    let mut hops = 0;
    let (mut c, usr) = loop {
        let mut c = Conn::connect(addr).await?;
        let f = hello(&mut c, t, &handle).await?;
        if f.arg(2) == "NS" {
            addr = addr_arg(&f.line, 3)?;
            hops += 1;
            if hops > 3 {
                return Err("too many XFR NS redirects".into());
            }
            continue;
        }
        break (c, f);
    };
    let d = t.dialect();
    // `USR trid MD5|TWN S challenge`
    if usr.arg(2) != scheme_name(d.auth) || usr.arg(3) != "S" {
        return Err(format!("login of {handle}: unexpected `{}`", usr.line).into());
    }
    let challenge = usr.line.rsplit(' ').next().unwrap_or("").to_string();
    let tr = c.t();
    let (mut proof, mut guid) = (None, None);
    let response = match d.auth {
        Auth::Twn => {
            let p0 = Instant::now();
            let ticket = passport(t, &handle, &challenge).await?;
            times.passport = p0.elapsed();
            ticket
        }
        Auth::Md5 => msnpd::auth::md5_hex(format!("{challenge}{}", t.password).as_bytes()),
        Auth::Sso => {
            // `USR t SSO S MBI_KEY_OLD <nonce>`
            if usr.arg(4) != "MBI_KEY_OLD" {
                return Err(format!("login of {handle}: unexpected `{}`", usr.line).into());
            }
            let rst = t
                .rst
                .clone()
                .ok_or("MSNP15+ needs --rst (the RST.srf URL)")?;
            let p0 = Instant::now();
            let (ticket, answer) = crate::sso::sign_in(
                rst,
                handle.clone(),
                t.password.clone(),
                challenge,
                crate::net::io_timeout(),
            )
            .await?;
            times.passport = p0.elapsed();
            proof = Some(answer);
            guid = d.mpop.then(|| machine_guid(n));
            ticket
        }
    };
    let usr = Usr {
        stage: Stage::Subsequent,
        value: &response,
        proof: proof.as_deref(),
        machine_guid: guid.as_deref(),
    };
    c.send(&usr.to_bytes(tr, d)).await?;
    c.until(&format!("USR {tr} OK "), tr).await?;
    c.chl = Some(ChlKeys::for_dialect(d));
    times.total = started.elapsed();
    Ok((
        Session {
            ns: c,
            handle,
            dialect: d,
        },
        times,
    ))
}

impl Session {
    /// SYN (the whole dump is skipped; MSNP2-12) or the initial `ADL` of an empty list (MSNP13+,
    /// whose lists come from the address book), then `CHG status`.
    pub async fn online(&mut self, status: Status) -> R<()> {
        let c = &mut self.ns;
        let d = self.dialect;
        let tr = c.t();
        if d.address_book {
            let adl = Adl {
                data: br#"<ml l="1"></ml>"#,
            };
            c.send(&adl.to_bytes(tr, d)).await?;
            c.until(&format!("ADL {tr} OK"), tr).await?;
        } else {
            c.send(&Syn::fresh(d).to_bytes(tr, d)).await?;
            c.until(&format!("SYN {tr} "), tr).await?;
        }
        self.chg(status).await
    }

    /// `CHG status` and its answer.
    pub async fn chg(&mut self, status: Status) -> R<()> {
        let tr = self.send_chg(status).await?;
        self.ns.until(&format!("CHG {tr} "), tr).await?;
        Ok(())
    }

    /// Sends `CHG status` without waiting; returns the trid.
    pub async fn send_chg(&mut self, status: Status) -> R<u32> {
        let c = &mut self.ns;
        let tr = c.t();
        let d = self.dialect;
        c.send(&Chg::new(status, d).to_bytes(tr, d)).await?;
        Ok(tr)
    }

    /// Puts `handle` on the forward list (ADD for MSNP2-9, ADC for MSNP10+). Already there is fine.
    pub async fn add_fl(&mut self, handle: &str) -> R<()> {
        let c = &mut self.ns;
        let tr = c.t();
        let d = self.dialect;
        // The official clients store the handle as the new contact's name.
        let (verb, bytes) = match d.list_commands {
            ListCommands::Adc => {
                let adc = Adc {
                    list: list::FL,
                    handle: Some(handle),
                    name: Some(handle),
                    ..Adc::default()
                };
                ("ADC", adc.to_bytes(tr, d))
            }
            ListCommands::Add => {
                let add = Add {
                    list: list::FL,
                    handle,
                    name: handle,
                    group: None,
                };
                ("ADD", add.to_bytes(tr, d))
            }
        };
        c.send(&bytes).await?;
        loop {
            let f = c.next().await?;
            if f.starts(&format!("{verb} {tr} ")) || f.starts(&format!("215 {tr}")) {
                return Ok(());
            }
            if f.arg(1) == tr.to_string()
                && f.line.len() >= 3
                && f.line.as_bytes()[0].is_ascii_digit()
            {
                return Err(format!("{verb} FL {handle}: `{}`", f.line).into());
            }
        }
    }

    /// `OUT`; the server closes the connection.
    pub async fn out(mut self) -> R<()> {
        self.ns.send(&Out.to_bytes(0, self.dialect)).await
    }

    /// Opens a switchboard (XFR SB + USR) and invites `callee` (CAL); returns the SB connection
    /// once RINGING, plus the session id.
    pub async fn open_sb(&mut self, callee: &str) -> R<(Conn, String)> {
        let d = self.dialect;
        let tr = self.ns.t();
        self.ns.send(&Xfr.to_bytes(tr, d)).await?;
        let f = self.ns.until(&format!("XFR {tr} SB "), tr).await?;
        let addr = addr_arg(&f.line, 3)?;
        let cookie = f.arg(5).to_string();
        let mut sb = Conn::connect(addr).await?;
        let tr = sb.t();
        let usr = SbUsr {
            handle: &self.handle,
            cookie: &cookie,
        };
        sb.send(&usr.to_bytes(tr, d)).await?;
        sb.until(&format!("USR {tr} OK "), tr).await?;
        let tr = sb.t();
        sb.send(&Cal { handle: callee }.to_bytes(tr, d)).await?;
        let f = sb.until(&format!("CAL {tr} RINGING "), tr).await?;
        let sessid = f.line.rsplit(' ').next().unwrap_or("").to_string();
        Ok((sb, sessid))
    }

    /// Waits for `RNG` and answers it (ANS); returns the SB connection after `ANS OK`.
    pub async fn answer(&mut self) -> R<Conn> {
        let f = self.ns.until("RNG ", u32::MAX).await?;
        let session: u32 = f
            .arg(1)
            .parse()
            .map_err(|_| format!("bad session id in `{}`", f.line))?;
        let addr = addr_arg(&f.line, 2)?;
        let cookie = f.arg(4).to_string();
        let mut sb = Conn::connect(addr).await?;
        let tr = sb.t();
        let ans = Ans {
            handle: &self.handle,
            cookie: &cookie,
            session,
        };
        sb.send(&ans.to_bytes(tr, self.dialect)).await?;
        sb.until(&format!("ANS {tr} OK"), tr).await?;
        Ok(sb)
    }
}

/// Time of one local Argon2 check with the server's parameters (msnpd's own hash cost): the
/// median of 21, as an 8 MiB memory-hard hash varies by a few milliseconds from run to run. The
/// allocator is set up as in the server, where each hash maps (and faults in) fresh memory; with
/// the server's pid, the hash runs on the server's CPUs (the CPUs of a VM are not all equal).
pub fn local_hash_cost(server_pid: Option<u32>) -> Duration {
    msnpd::tune_allocator();
    let _pinned = server_pid.and_then(PinnedTo::cpus_of);
    let c = msnpd::auth::Credential::new("password");
    let mut v: Vec<Duration> = (0..21)
        .map(|_| {
            let t = Instant::now();
            std::hint::black_box(msnpd::auth::verify_password("password", &c.phc));
            t.elapsed()
        })
        .collect();
    v.sort();
    v[v.len() / 2]
}

/// Runs the current thread on another process's CPUs until dropped.
struct PinnedTo(libc::cpu_set_t);

impl PinnedTo {
    fn cpus_of(pid: u32) -> Option<PinnedTo> {
        let size = std::mem::size_of::<libc::cpu_set_t>();
        // SAFETY: cpu_set_t is plain data; both calls get a valid pointer and its size.
        unsafe {
            let mut own: libc::cpu_set_t = std::mem::zeroed();
            let mut theirs: libc::cpu_set_t = std::mem::zeroed();
            if libc::sched_getaffinity(0, size, &mut own) != 0
                || libc::sched_getaffinity(pid as libc::pid_t, size, &mut theirs) != 0
                || libc::sched_setaffinity(0, size, &theirs) != 0
            {
                return None;
            }
            Some(PinnedTo(own))
        }
    }
}

impl Drop for PinnedTo {
    fn drop(&mut self) {
        // SAFETY: restores the mask read in `cpus_of`.
        unsafe {
            libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &self.0);
        }
    }
}
