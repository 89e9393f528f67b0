//! The page people open in a browser: `/` (what this server is, who is online, how to point each
//! client at it), `/hosts.txt`, `/favicon.ico` and `/healthz`, plus the registration form
//! (`register`).
//!
//! Server-rendered HTML 4.01 with a little CSS and no script, so that Internet Explorer 6 on the
//! very PCs that run MSN Messenger shows it as well as a modern browser. Everything interpolated
//! is HTML-escaped.

pub use super::page::esc;
use super::page::{Html, html};
use super::register;
use super::{Request, Response};
use crate::accounts::Registration;
use crate::http::Http;
use crate::server::Bound;
use std::fmt::Write as _;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, OnceLock, RwLock};

/// Host names the official clients use, in the order they need them.
pub(super) const MSN_HOSTS: &[(&str, &str)] = &[
    (
        "messenger.hotmail.com",
        "all versions: dispatch server (TCP 1863)",
    ),
    ("nexus.passport.com", "MSN 5.0-7.5: Passport nexus (HTTPS)"),
    ("login.passport.com", "MSN 5.0-7.5: Passport login (HTTPS)"),
    (
        "loginnet.passport.com",
        "MSN 5.0-7.5: Passport login (HTTPS)",
    ),
    ("login.live.com", "MSN 7.5: RST login (HTTPS)"),
    (
        "gateway.messenger.hotmail.com",
        "MSN 5.0-7.5: HTTP gateway when 1863 is blocked",
    ),
    (
        "config.messenger.msn.com",
        "MSN 6.0+: MsgrConfig (optional)",
    ),
    ("contacts.msn.com", "WLM 8-2009: address book (HTTPS)"),
    ("omega.contacts.msn.com", "WLM 8-2009: address book (HTTPS)"),
    (
        "byrdr.omega.contacts.msn.com",
        "WLM 2009: address book (HTTPS)",
    ),
    (
        "local-bay.contacts.msn.com",
        "Pidgin/libpurple: address book (HTTPS)",
    ),
    ("storage.msn.com", "WLM 8.5-2009: roaming profile (HTTPS)"),
    ("storage.live.com", "WLM 2009: roaming profile (HTTPS)"),
    ("tkrdr.storage.msn.com", "WLM 2009: roaming profile (HTTPS)"),
    (
        "ows.messenger.msn.com",
        "WLM 8-2009: offline messages (HTTPS)",
    ),
    ("rsi.hotmail.com", "WLM 8-2009: offline messages (HTTPS)"),
    ("messengersecure.live.com", "WLM 8.5-2009: sign-in (HTTPS)"),
];

/// What the server adds once its other listeners are bound (HTTPS with its own CA, the LAN name
/// service); each part is shown only when set.
#[derive(Clone, Debug, Default)]
pub struct Extras {
    /// Port of the HTTPS listener that serves Passport for MSN 5.0-7.5.
    pub https_port: Option<u16>,
    /// Link to the CA certificate clients must trust (e.g. `/msnpd-ca.cer`).
    pub ca_url: Option<String>,
    /// Address of the DNS server that answers Microsoft's names with this server.
    pub dns: Option<String>,
}

/// Everything the page shows, gathered per request.
#[derive(Clone, Debug)]
pub struct PageInfo {
    /// The server's name (`--name`, else the host name).
    pub name: String,
    /// Addresses clients use, the most likely first (the one this browser reached, if listed).
    pub hosts: Vec<String>,
    /// An IPv4 address for hosts-file lines (hosts files take no names).
    pub hosts_ip: String,
    /// Port of the dispatch/notification listener (1863 unless moved).
    pub ns_port: u16,
    /// Port of the switchboard listener.
    pub sb_port: u16,
    /// Port of the HTTP listener this page is served from.
    pub http_port: u16,
    /// See `Extras::https_port`.
    pub https_port: Option<u16>,
    /// See `Extras::ca_url`.
    pub ca_url: Option<String>,
    /// See `Extras::dns`.
    pub dns: Option<String>,
    /// Users signed in right now whom everyone may see online (`Listed::public`; always shown,
    /// names only with `--public-presence`).
    pub online: usize,
    /// Friendly names of who is online (with `--public-presence` only).
    pub names: Option<Vec<String>>,
    /// Whether and how the page offers the registration form.
    pub registration: Registration,
    /// The server sends `CHL` challenges (which msnp11-sdk apps do not answer).
    pub challenges: bool,
}

/// The web side's state, one per server (held by the hub).
pub struct Web {
    name: String,
    public_presence: bool,
    registration: AtomicU8,
    bound: OnceLock<Bound>,
    extras: RwLock<Extras>,
    pub(super) forms: register::Forms,
}

impl Web {
    /// The page's name and registration mode from `config`; listener ports come later
    /// (`set_bound`), once the listeners are bound.
    pub fn new(config: &crate::config::Config) -> Web {
        let name = config
            .name
            .clone()
            .filter(|n| !n.trim().is_empty())
            .or_else(crate::net::lan::hostname)
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| "msnpd".to_string());
        let web = Web {
            name,
            public_presence: config.public_presence,
            registration: AtomicU8::new(0),
            bound: OnceLock::new(),
            extras: RwLock::new(Extras::default()),
            forms: register::Forms::new(),
        };
        web.set_registration(config.registration);
        web
    }

    /// Called once the listeners are bound.
    pub fn set_bound(&self, bound: Bound) {
        let _ = self.bound.set(bound);
    }

    /// Adds what the page shows about HTTPS and DNS (the server calls this at start, once
    /// those listeners are bound).
    pub fn set_extras(&self, extras: Extras) {
        *self.extras.write().unwrap_or_else(|e| e.into_inner()) = extras;
    }

    /// The registration mode; may change while running (a configuration reload).
    pub fn registration(&self) -> Registration {
        match self.registration.load(Ordering::Relaxed) {
            1 => Registration::Open,
            2 => Registration::Invite,
            _ => Registration::Closed,
        }
    }

    /// Changes the registration mode (at start and on a configuration reload).
    pub fn set_registration(&self, mode: Registration) {
        let n = match mode {
            Registration::Closed => 0,
            Registration::Open => 1,
            Registration::Invite => 2,
        };
        self.registration.store(n, Ordering::Relaxed);
    }

    /// The server's name as the page and the log show it.
    pub fn name(&self) -> &str {
        &self.name
    }
}

/// Gathers the page's data; `local` is our address as this browser reached it.
pub async fn page_info(hub: &Arc<Http>, local: Option<SocketAddr>) -> PageInfo {
    let web = &hub.web;
    let bound = web.bound.get().copied();
    let ns = bound.map_or(hub.config.listen, |b| b.ns);
    let mut hosts = crate::net::lan::client_hosts(ns, hub.config.public_host.as_deref());
    // With no --public-host, the address this browser used is the best guess for its clients.
    if let Some(ip) = local.map(|l| l.ip().to_string())
        && hub.config.public_host.is_none()
        && let Some(i) = hosts.iter().position(|h| *h == ip)
    {
        hosts[..=i].rotate_right(1);
    }
    let primary = hosts.first().cloned().unwrap_or_else(|| "127.0.0.1".into());
    let hosts_ip = match primary.parse::<IpAddr>() {
        Ok(_) => primary.clone(),
        Err(_) => resolve_v4(&primary)
            .await
            .or_else(|| local.map(|l| l.ip().to_string()))
            .unwrap_or_else(|| "SERVER-IP".into()),
    };
    let (online, names) = online(hub, web.public_presence).await;
    let extras = web.extras.read().unwrap_or_else(|e| e.into_inner()).clone();
    PageInfo {
        name: web.name.clone(),
        hosts,
        hosts_ip,
        ns_port: ns.port(),
        sb_port: bound.map_or(hub.config.sb_listen.port(), |b| b.sb.port()),
        http_port: bound.map_or_else(
            || {
                hub.config
                    .http_listen
                    .first()
                    .map_or(8080, |l| l.addr.port())
            },
            |b| b.http.port(),
        ),
        https_port: extras.https_port,
        ca_url: extras.ca_url,
        dns: extras.dns,
        online,
        names,
        registration: web.registration(),
        challenges: hub.config.chl_interval.is_some(),
    }
}

/// The first IPv4 address of a host name (a `--public-host` given as a name), off the executor.
async fn resolve_v4(host: &str) -> Option<String> {
    let host = host.to_string();
    smol::unblock(move || {
        use std::net::ToSocketAddrs;
        (host.as_str(), 0)
            .to_socket_addrs()
            .ok()?
            .find(|a| a.is_ipv4())
            .map(|a| a.ip().to_string())
    })
    .await
}

/// How many are online that everyone may see online (`Listed::public`: hidden users, users
/// with `BLP BL` and users who block anyone are neither counted nor named, so the page never
/// shows a sign-in the protocol would hide from someone), and their names if public.
async fn online(hub: &Http, public: bool) -> (usize, Option<Vec<String>>) {
    let mut count = 0;
    let mut names = Vec::new();
    for u in hub.ns.directory.list().await.unwrap_or_default() {
        if !u.public {
            continue;
        }
        count += 1;
        if public && names.len() < crate::limits::PAGE_MAX_NAMES {
            names.push(u.friendly);
        }
    }
    names.sort_by_key(|n| n.to_lowercase());
    (count, public.then_some(names))
}

/// `GET /` and `/index.html`: the page.
pub async fn page(hub: &Arc<Http>, req: &Request) -> Response {
    html(
        "200 OK",
        render_page(&page_info(hub, Some(req.local)).await).into_bytes(),
    )
    .head_only(req.method == "HEAD")
}

/// `GET /hosts.txt`: the hosts-file lines as a download.
pub async fn hosts(hub: &Arc<Http>, req: &Request) -> Response {
    hosts_txt(&page_info(hub, Some(req.local)).await).head_only(req.method == "HEAD")
}

/// `GET /favicon.ico`.
pub fn favicon_ico(req: &Request) -> Response {
    Response::new("200 OK")
        .header("Cache-Control", "max-age=86400")
        .body("image/x-icon", favicon().to_vec())
        .head_only(req.method == "HEAD")
}

/// `GET /healthz`: whether the storage thread answers.
pub async fn healthz(hub: &Arc<Http>, req: &Request) -> Response {
    storage_health(hub).await.head_only(req.method == "HEAD")
}

async fn storage_health(hub: &Arc<Http>) -> Response {
    match hub.storage.run(|db| db.ping()).await {
        Ok(Ok(())) => Response::new("200 OK")
            .header("Cache-Control", "no-store")
            .body("text/plain", "ok\n"),
        _ => Response::new("503 Service Unavailable")
            .header("Cache-Control", "no-store")
            .body("text/plain", "storage not answering\n"),
    }
}

/// The hosts-file lines, CRLF-terminated for Notepad on Windows 98.
pub fn hosts_lines(ip: &str) -> String {
    let mut s = String::new();
    for (host, why) in MSN_HOSTS {
        let _ = write!(s, "{ip:<15} {host:<26} # {why}\r\n");
    }
    s
}

fn hosts_txt(info: &PageInfo) -> Response {
    let mut s = format!(
        "# MSN Messenger server {name}: hosts file lines for this server.\r\n\
         # Append them to C:\\WINDOWS\\HOSTS (Windows 95/98/ME) or\r\n\
         # C:\\WINDOWS\\system32\\drivers\\etc\\hosts (Windows 2000/XP and later),\r\n\
         # then run `ipconfig /flushdns` (2000/XP) or restart (95/98/ME).\r\n",
        name = info.name.replace(['\r', '\n'], " ")
    );
    if info.ns_port != 1863 {
        let _ = write!(
            s,
            "# NOTE: this server listens on port {} and not 1863, so official clients\r\n\
             # cannot reach it through these lines; ask the operator.\r\n",
            info.ns_port
        );
    }
    s.push_str(&hosts_lines(&info.hosts_ip));
    Response::new("200 OK")
        .header("Cache-Control", "no-store")
        .header("Content-Disposition", "attachment; filename=\"hosts.txt\"")
        .body("text/plain; charset=us-ascii", s)
}

/// The page at `/`, section by section.
pub fn render_page(p: &PageInfo) -> String {
    let mut o = Html::page(&format!("{} - MSN Messenger server", p.name), 16 * 1024);
    // The first address clients should use, ready for `host:port` and URLs.
    let host = bracketed(p.hosts.first().map_or("127.0.0.1", |h| h.as_str()));
    o.raw("<h1>")
        .text(&p.name)
        .raw(" <span>MSN Messenger server</span></h1>\n");
    who_is_online(&mut o, p);
    addresses(&mut o, p, &host);
    get_an_account(&mut o, p.registration);
    step1_names(&mut o, p);
    step2_clients(&mut o, p, &host);
    o.finish()
}

fn who_is_online(o: &mut Html, p: &PageInfo) {
    let people = if p.online == 1 { " person" } else { " people" };
    o.raw("<p><b>")
        .num(p.online)
        .raw(people)
        .raw(" online.</b>");
    if let Some(names) = &p.names
        && !names.is_empty()
    {
        o.raw(" ");
        for (i, n) in names.iter().enumerate() {
            if i > 0 {
                o.raw(", ");
            }
            o.text(n);
        }
        if names.len() < p.online {
            o.raw(" and ").num(p.online - names.len()).raw(" more");
        }
        o.raw(".");
    }
    o.raw("</p>\n");
}

fn addresses(o: &mut Html, p: &PageInfo, host: &str) {
    o.raw("<h2>Server addresses</h2>\n<table class=\"info\" summary=\"addresses\">\n");
    o.raw("<tr><th>Messenger server (dispatch/notification)</th><td>");
    join_addrs(o, &p.hosts, p.ns_port);
    o.raw("</td></tr>\n<tr><th>Conversations (switchboard)</th><td>");
    join_addrs(o, &p.hosts, p.sb_port);
    o.raw("</td></tr>\n");
    o.raw("<tr><th>Passport login (HTTP)</th><td><span class=\"addr\">http://")
        .text(host)
        .raw(":")
        .num(p.http_port)
        .raw("/rdr/pprdr.asp</span></td></tr>\n");
    if let Some(port) = p.https_port {
        o.raw("<tr><th>Passport login (HTTPS)</th><td><span class=\"addr\">")
            .text(host)
            .raw(":")
            .num(port)
            .raw("</span></td></tr>\n");
    }
    if let Some(ca) = &p.ca_url {
        o.raw("<tr><th>CA certificate</th><td><a href=\"")
            .text(ca)
            .raw("\">")
            .text(ca)
            .raw("</a></td></tr>\n");
    }
    if let Some(dns) = &p.dns {
        o.raw("<tr><th>DNS server</th><td><span class=\"addr\">")
            .text(dns)
            .raw("</span></td></tr>\n");
    }
    o.raw("</table>\n");
}

fn get_an_account(o: &mut Html, registration: Registration) {
    o.raw("<h2>Get an account</h2>\n");
    o.raw(match registration {
        Registration::Open => {
            "<p>Anyone may sign up here: <a href=\"/register\"><b>create an account</b></a>. \
Your sign-in name is an e-mail address of your choice; it does not have to receive mail.</p>\n"
        }
        Registration::Invite => {
            "<p>Sign-up needs an invitation code from the operator: \
<a href=\"/register\"><b>create an account with an invitation</b></a>.</p>\n"
        }
        Registration::Closed => {
            "<p>Accounts are created by the operator of this server; ask them for one.</p>\n"
        }
    });
}

fn step1_names(o: &mut Html, p: &PageInfo) {
    o.raw("<h2>Step 1: point Messenger at this server</h2>\n");
    if let Some(dns) = &p.dns {
        o.raw("<p><b>Easiest:</b> set this PC's DNS server to <span class=\"addr\">")
            .text(dns)
            .raw(
                "</span> \
(Windows 98: Control Panel, Network, TCP/IP, Properties, DNS Configuration; \
Windows XP: Control Panel, Network Connections, your connection, Properties, \
Internet Protocol (TCP/IP), Properties, &quot;Use the following DNS server addresses&quot;). \
Then restart Messenger.</p>\n<p><b>Or</b> use the hosts file:</p>\n",
            );
    }
    o.raw(
        "<p>Add these lines to the <b>hosts file</b> (or <a href=\"/hosts.txt\">download them as hosts.txt</a>):</p>\n\
<pre>",
    )
    .text(&hosts_lines(&p.hosts_ip).replace("\r\n", "\n"))
    .raw(
        "</pre>\n\
<p>The hosts file is <tt>C:\\WINDOWS\\HOSTS</tt> on Windows 95/98/ME (no extension; create it with \
Notepad if it is missing) and <tt>C:\\WINDOWS\\system32\\drivers\\etc\\hosts</tt> on Windows 2000/XP \
and later (edit it as Administrator). Afterwards run <tt>ipconfig /flushdns</tt> (2000/XP) or restart \
the PC (95/98/ME).</p>\n",
    );
    if p.ns_port != 1863 {
        o.raw("<p class=\"note\">This server listens on port ")
            .num(p.ns_port)
            .raw(
                " rather than 1863. Official clients \
always connect to port 1863, so the hosts file alone will not work for them; third-party clients \
below can be given the port.</p>\n",
            );
    }
}

fn step2_clients(o: &mut Html, p: &PageInfo, host: &str) {
    o.raw("<h2>Step 2: set up your Messenger</h2>\n");
    o.raw(
        "<h3>MSN Messenger 1.0 - 4.7, Windows Messenger 4.0 - 4.6</h3>\n\
<p>Only <tt>",
    )
    .text(&p.hosts_ip)
    .raw(
        " messenger.hotmail.com</tt> is needed. Sign in with your e-mail address and password.</p>\n\
<p class=\"expect\">What to expect: sign-in takes a second; contacts, status and conversations work \
over TCP ports ",
    )
    .num(p.ns_port)
    .raw(" and ")
    .num(p.sb_port)
    .raw(". If sign-in fails at once, check the hosts file.</p>\n");

    o.raw(
        "<h3>MSN Messenger 5.0 - 7.0, Windows Messenger 4.7 - 5.1</h3>\n\
<p>Use all the lines above (messenger.hotmail.com, the three passport.com names and the \
gateway, which these versions fall back to when port 1863 is blocked).</p>\n",
    );
    match (&p.https_port, &p.ca_url) {
        (Some(_), Some(ca)) => {
            o.raw(
                "<p>These versions sign in through Passport over <b>HTTPS</b>, so the PC must trust this \
server's certificate authority once: open <a href=\"",
            )
            .text(ca)
            .raw("\">")
            .text(ca)
            .raw(
                "</a> in Internet Explorer, choose \
<i>Open</i>, <i>Install Certificate</i>, and place it in <i>Trusted Root Certification Authorities</i>. \
Check that the PC's date is right.</p>\n",
            );
        }
        (Some(_), None) => {
            o.raw(
                "<p>These versions sign in through Passport over <b>HTTPS</b>; this \
server offers it, with a certificate the PC must trust (ask the operator).</p>\n",
            );
        }
        _ => {
            o.raw(
                "<p class=\"note\">These versions sign in through Passport over <b>HTTPS</b> (port 443). \
This server does not offer HTTPS itself: the operator must run a TLS front end on port 443, or \
these clients stay at &quot;Signing in...&quot;.</p>\n",
            );
        }
    }
    o.raw(
        "<p class=\"expect\">What to expect: &quot;Signing in...&quot; for a few seconds, then your contact list. \
Messenger may complain that it cannot reach MSN Today or the Hotmail inbox: that is normal.</p>\n\
<h3>MSN Messenger 7.5</h3>\n\
<p>As 5.0 - 7.0, including the <tt>login.live.com</tt> line (7.5 signs in with a SOAP request there).</p>\n\
<p class=\"expect\">What to expect: as above; display pictures and personal messages work between 7.x users.</p>\n\
<h3>Windows Live Messenger 8.0 - 2009, Pidgin 2.10.9</h3>\n\
<p>As 7.5, with <b>all</b> the hosts lines (WLM also reaches <tt>contacts.msn.com</tt>, \
<tt>storage.msn.com</tt> and others over HTTPS) and the certificate installed. Windows Live \
Messenger 8.1 and later sign in through the Windows Live ID sign-in assistant, which only talks \
to Microsoft unless a patched <tt>msidcrl40.dll</tt> replaces it (the revival projects publish \
one; it is not part of this server).</p>\n\
<p class=\"expect\">What to expect: contacts and groups are the same ones older versions see; \
offline messages and the roaming profile are not kept.</p>\n",
    );

    o.raw(
        "<h3>Third-party clients (Pidgin with msn-pecan, aMSN, Miranda IM, ...)</h3>\n\
<p>In the account settings set the server to <span class=\"addr\">",
    )
    .text(host)
    .raw("</span> and the port to <span class=\"addr\">")
    .num(p.ns_port)
    .raw(
        "</span>; clients that ask for a Passport or nexus URL take \
<span class=\"addr\">http://",
    )
    .text(host)
    .raw(":")
    .num(p.http_port)
    .raw(
        "/rdr/pprdr.asp</span>. Clients that insist on HTTPS for \
Passport also need the hosts lines (and the certificate, when offered).</p>\n\
<p class=\"expect\">What to expect: this server speaks MSNP2 to MSNP18 \
(MSN Messenger 1.0 to Windows Live Messenger 2009; the Windows Live section below says what WLM needs).</p>\n\
<h3>Apps built on msnp11-sdk</h3>\n\
<p>Server <span class=\"addr\">",
    )
    .text(host)
    .raw("</span>, port <span class=\"addr\">")
    .num(p.ns_port)
    .raw("</span>, nexus URL <span class=\"addr\">http://")
    .text(host)
    .raw(":")
    .num(p.http_port)
    .raw("/rdr/pprdr.asp</span> (plain HTTP works).</p>\n");
    if p.challenges {
        o.raw(
            "<p class=\"note\">This server sends challenges (CHL) that msnp11-sdk apps do not answer: \
they are signed out after about a minute unless the operator starts the server with \
<tt>--chl-interval 0</tt>.</p>\n",
        );
    }
}

/// An IPv6 address in brackets, as it must be written before `:port` and in URLs.
fn bracketed(host: &str) -> String {
    if host.parse::<std::net::Ipv6Addr>().is_ok() {
        format!("[{host}]")
    } else {
        host.to_string()
    }
}

fn join_addrs(o: &mut Html, hosts: &[String], port: u16) {
    for (i, h) in hosts.iter().enumerate() {
        if i > 0 {
            o.raw("<br>");
        }
        o.raw("<span class=\"addr\">")
            .text(&bracketed(h))
            .raw(":")
            .num(port)
            .raw("</span>");
    }
}

/// A 16x16 32-bit icon: a two-figure "buddy" in MSN's green and blue, drawn once.
pub fn favicon() -> &'static [u8] {
    static ICON: OnceLock<Vec<u8>> = OnceLock::new();
    ICON.get_or_init(|| {
        const N: i32 = 16;
        // (centre x, centre y, radius^2, colour) for heads and bodies; the later one wins.
        let shapes: [(i32, i32, i32, [u8; 3]); 4] = [
            (11, 15, 30, [0x2e, 0x6c, 0xc8]), // blue body
            (11, 5, 7, [0x2e, 0x6c, 0xc8]),   // blue head
            (5, 16, 30, [0x3c, 0xa8, 0x2c]),  // green body
            (5, 6, 7, [0x3c, 0xa8, 0x2c]),    // green head
        ];
        let mut out = Vec::with_capacity(1150);
        // ICONDIR and one ICONDIRENTRY.
        out.extend_from_slice(&[0, 0, 1, 0, 1, 0]);
        let image_len: u32 = 40 + (N * N * 4) as u32 + (N * 4) as u32;
        out.extend_from_slice(&[16, 16, 0, 0, 1, 0, 32, 0]);
        out.extend_from_slice(&image_len.to_le_bytes());
        out.extend_from_slice(&22u32.to_le_bytes());
        // BITMAPINFOHEADER: height counts the XOR and AND bitmaps together.
        for v in [40u32, 16, 32] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out.extend_from_slice(&1u16.to_le_bytes());
        out.extend_from_slice(&32u16.to_le_bytes());
        for _ in 0..6 {
            out.extend_from_slice(&0u32.to_le_bytes());
        }
        // Pixels, bottom row first, BGRA.
        let mut mask = Vec::with_capacity((N * 4) as usize);
        for row in (0..N).rev() {
            let mut bits: u16 = 0;
            for x in 0..N {
                let px = shapes.iter().rev().find(|(cx, cy, r2, _)| {
                    let (dx, dy) = (x - cx, row - cy);
                    // Bodies are cut off at the bottom edge; heads are round.
                    dx * dx + dy * dy <= *r2
                });
                match px {
                    Some((_, _, _, [r, g, b])) => out.extend_from_slice(&[*b, *g, *r, 0xff]),
                    None => {
                        out.extend_from_slice(&[0, 0, 0, 0]);
                        bits |= 0x8000 >> x;
                    }
                }
            }
            mask.extend_from_slice(&bits.to_be_bytes());
            mask.extend_from_slice(&[0, 0]); // rows are padded to 32 bits
        }
        out.extend_from_slice(&mask);
        out
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info() -> PageInfo {
        PageInfo {
            name: "<Bob's> \"LAN\" & co".into(),
            hosts: vec!["192.168.1.20".into(), "10.0.0.2".into()],
            hosts_ip: "192.168.1.20".into(),
            ns_port: 1863,
            sb_port: 1864,
            http_port: 8080,
            https_port: None,
            ca_url: None,
            dns: None,
            online: 2,
            names: Some(vec!["<script>alert(1)</script>".into()]),
            registration: Registration::Open,
            challenges: true,
        }
    }

    #[test]
    fn page_escapes_and_shows_optional_parts_only_when_set() {
        let mut p = info();
        let html = render_page(&p);
        assert!(html.contains("&lt;Bob&#39;s&gt; &quot;LAN&quot; &amp; co"));
        assert!(!html.contains("<script>"));
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt; and 1 more"));
        assert!(html.contains("192.168.1.20 "));
        assert!(!html.contains("CA certificate") && !html.contains("DNS server"));
        assert!(html.contains("does not offer HTTPS"));
        p.https_port = Some(443);
        p.ca_url = Some("http://192.168.1.20:8080/msnpd-ca.cer".into());
        p.dns = Some("192.168.1.20".into());
        let html = render_page(&p);
        assert!(html.contains("<a href=\"http://192.168.1.20:8080/msnpd-ca.cer\">"));
        assert!(html.contains("set this PC's DNS server to <span class=\"addr\">192.168.1.20"));
        assert!(!html.contains("does not offer HTTPS"));
        p.hosts = vec!["fd00::1".into()];
        let html = render_page(&p);
        assert!(html.contains("[fd00::1]:1863") && html.contains("http://[fd00::1]:8080/"));
    }

    #[test]
    fn favicon_is_a_well_formed_ico() {
        let ico = favicon();
        assert_eq!(&ico[..6], &[0, 0, 1, 0, 1, 0]);
        let len = u32::from_le_bytes(ico[14..18].try_into().unwrap()) as usize;
        let off = u32::from_le_bytes(ico[18..22].try_into().unwrap()) as usize;
        assert_eq!(off + len, ico.len());
        assert_eq!(ico.len(), 22 + 40 + 1024 + 64);
    }
}
