//! Self-registration (`--registration open|invite`): the form at `/register` and its submission.
//!
//! CSRF: the form carries a stateless token, `issued.nonce.mac`, where the MAC (keyed BLAKE2s
//! with a random secret made at start) covers the issue time, the nonce and the client's address.
//! A token is valid for `REGISTER_TOKEN_TTL` from the address it was issued to, and only once: the
//! nonces of submitted tokens are remembered (bounded) until they expire. No cookies are needed,
//! and a restart invalidates outstanding forms, which merely asks the user to submit again.
//!
//! Rate limit: per client address (an IPv6 client by its /64, which one subscriber usually
//! holds whole), `REGISTRATIONS_PER_WINDOW` accounts and `REGISTER_ATTEMPTS_PER_WINDOW`
//! submissions per `REGISTER_WINDOW`, in a bounded table. It is checked *before* the token is
//! spent (issue 21 item 5: spending first let one address fill the spent-token table in 0.3 s
//! and refuse everyone "busy" for an hour), so one address spends at most its allowance. When
//! the spent-token table is full anyway (many addresses), the oldest entries make room: a token
//! is bound to its address and the rate limit still applies, so forgetting an old one only lets
//! its own address submit it once more, never refuses anyone else.
//!
//! Accounts are validated like `msnpd user add` (`accounts`), the password hashed off the
//! executor under the same concurrency bound as logins, and created by the storage thread in one
//! transaction with the use of the invitation code.

use super::page::{esc, html, page_foot, page_head};
use super::{Request, Response};
use crate::accounts::{self, Registration};
use crate::auth::{self, Credential};
use crate::http::Http;
use crate::limits::{
    MAX_FORM_HANDLE, MAX_INVITE_CODE, REGISTER_ATTEMPTS_PER_WINDOW, REGISTER_FULL_RETRY_SECS,
    REGISTER_SPENT_TOKENS, REGISTER_TOKEN_TTL, REGISTER_TRACKED_ADDRESSES, REGISTER_WINDOW,
    REGISTRATIONS_PER_WINDOW,
};
use crate::protocol::percent;
use crate::protocol::timestamp::unix_now;
use crate::storage::{InviteRefused, Registered};
use std::collections::HashMap;
use std::fmt::Write as _;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// Why a form's token was refused. `Display` is shown to the user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenRefused {
    /// The form was submitted without its hidden token field.
    Missing,
    /// The MAC does not match: another server's form, one from before a restart, or a forgery.
    Forged,
    /// Issued longer than `REGISTER_TOKEN_TTL` ago.
    Expired,
    /// Already submitted once: a double click or a replay.
    Reused,
}

impl std::fmt::Display for TokenRefused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            TokenRefused::Missing => {
                "the form's security token is missing; please fill in the form below again"
            }
            TokenRefused::Forged => {
                "the form's security token is not valid (was the form opened on another address, or before a restart of the server?); please fill in the form below again"
            }
            TokenRefused::Expired => {
                "the form has expired (forms are valid for one hour); please fill in the form below again"
            }
            TokenRefused::Reused => {
                "this form was already submitted; please fill in the form below again"
            }
        })
    }
}

/// Per-address submission counts in the current window.
struct Window {
    start: Instant,
    attempts: u32,
    created: u32,
}

/// The registration side's state: the token secret, spent nonces and the rate limit table.
pub struct Forms {
    secret: [u8; 32],
    /// Nonce -> issue time (unix seconds) of tokens already submitted.
    spent: Mutex<HashMap<u64, u64>>,
    windows: Mutex<HashMap<IpAddr, Window>>,
}

impl Default for Forms {
    fn default() -> Self {
        Self::new()
    }
}

impl Forms {
    /// A fresh token secret (tokens do not survive a restart) and empty tables.
    pub fn new() -> Forms {
        let mut secret = [0u8; 32];
        auth::fill_random(&mut secret);
        Forms {
            secret,
            spent: Mutex::new(HashMap::new()),
            windows: Mutex::new(HashMap::new()),
        }
    }

    fn mac(&self, issued: u64, nonce: u64, ip: IpAddr) -> String {
        let mac = auth::keyed_mac(
            &self.secret,
            &[
                b"msnpd register\0",
                &issued.to_be_bytes(),
                &nonce.to_be_bytes(),
                ip.to_string().as_bytes(),
            ],
        );
        auth::hex(&mac[..16])
    }

    /// A fresh token for a form shown to `ip` at `now` (unix seconds).
    pub fn issue(&self, ip: IpAddr, now: u64) -> String {
        let nonce = auth::random_u64();
        format!("{now:x}.{nonce:016x}.{}", self.mac(now, nonce, ip))
    }

    /// Checks a submitted token and marks it used.
    pub fn redeem(&self, token: &str, ip: IpAddr, now: u64) -> Result<(), TokenRefused> {
        if token.is_empty() {
            return Err(TokenRefused::Missing);
        }
        let mut parts = token.split('.');
        let (Some(issued), Some(nonce), Some(mac), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(TokenRefused::Forged);
        };
        let (Ok(issued), Ok(nonce)) = (
            u64::from_str_radix(issued, 16),
            u64::from_str_radix(nonce, 16),
        ) else {
            return Err(TokenRefused::Forged);
        };
        if !auth::digest_eq(&self.mac(issued, nonce, ip), mac) {
            return Err(TokenRefused::Forged);
        }
        let ttl = REGISTER_TOKEN_TTL.as_secs();
        if issued.saturating_add(ttl) <= now {
            return Err(TokenRefused::Expired);
        }
        let mut spent = self.spent.lock().unwrap_or_else(|e| e.into_inner());
        if spent.contains_key(&nonce) {
            return Err(TokenRefused::Reused);
        }
        if spent.len() >= REGISTER_SPENT_TOKENS {
            spent.retain(|_, issued| issued.saturating_add(ttl) > now);
        }
        if spent.len() >= REGISTER_SPENT_TOKENS {
            // Still full of live tokens: forget the oldest eighth (one scan per
            // `REGISTER_SPENT_TOKENS / 8` submissions, all of them rate-limited).
            let mut ages: Vec<u64> = spent.values().copied().collect();
            let cut = REGISTER_SPENT_TOKENS / 8;
            let (_, oldest, _) = ages.select_nth_unstable(cut);
            let oldest = *oldest;
            let mut left = cut;
            spent.retain(|_, issued| {
                let forget = *issued < oldest || (*issued == oldest && left > 0);
                if forget {
                    left = left.saturating_sub(1);
                }
                !forget
            });
            log::warn!(
                "registration: {REGISTER_SPENT_TOKENS} forms submitted within an hour; forgot the oldest"
            );
        }
        spent.insert(nonce, issued);
        Ok(())
    }

    /// Counts a submission from `ip`; `Err(seconds to wait)` when over the limit.
    fn attempt(&self, ip: IpAddr, now: Instant) -> Result<(), u64> {
        let ip = crate::server::admission::address_key(ip);
        let mut w = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        if !w.contains_key(&ip) && w.len() >= REGISTER_TRACKED_ADDRESSES {
            w.retain(|_, win| now.duration_since(win.start) < REGISTER_WINDOW);
            if w.len() >= REGISTER_TRACKED_ADDRESSES {
                return Err(REGISTER_FULL_RETRY_SECS);
            }
        }
        let win = w.entry(ip).or_insert(Window {
            start: now,
            attempts: 0,
            created: 0,
        });
        if now.duration_since(win.start) >= REGISTER_WINDOW {
            *win = Window {
                start: now,
                attempts: 0,
                created: 0,
            };
        }
        if win.attempts >= REGISTER_ATTEMPTS_PER_WINDOW || win.created >= REGISTRATIONS_PER_WINDOW {
            let left = REGISTER_WINDOW.saturating_sub(now.duration_since(win.start));
            return Err(left.as_secs().max(1));
        }
        win.attempts += 1;
        Ok(())
    }

    fn created(&self, ip: IpAddr) {
        let mut w = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(win) = w.get_mut(&crate::server::admission::address_key(ip)) {
            win.created += 1;
        }
    }
}

/// Decodes `application/x-www-form-urlencoded` (`+` is a space; bad escapes are kept as typed).
pub fn form_fields(body: &[u8]) -> Vec<(String, String)> {
    let decode = |s: &[u8]| percent::decode_lenient(s, true);
    body.split(|&b| b == b'&')
        .filter(|p| !p.is_empty())
        .map(|p| match p.iter().position(|&b| b == b'=') {
            Some(eq) => (decode(&p[..eq]), decode(&p[eq + 1..])),
            None => (decode(p), String::new()),
        })
        .collect()
}

/// The first value of `name`, or "".
fn field<'a>(fields: &'a [(String, String)], name: &str) -> &'a str {
    fields
        .iter()
        .find(|(k, _)| k == name)
        .map_or("", |(_, v)| v.as_str())
}

/// What the form shows besides its fields.
struct View<'a> {
    mode: Registration,
    handle: &'a str,
    invite: &'a str,
    error: Option<String>,
}

fn render_form(hub: &Http, ip: IpAddr, v: &View<'_>) -> Vec<u8> {
    let mut o = String::with_capacity(4096);
    let name = hub.web.name();
    page_head(&format!("Create an account - {name}"), &mut o);
    let _ = writeln!(
        o,
        "<h1>{} <span>create an MSN Messenger account</span></h1>",
        esc(name)
    );
    if let Some(e) = &v.error {
        let _ = writeln!(o, "<p class=\"error\"><b>Not created:</b> {}.</p>", esc(e));
    }
    let _ = writeln!(
        o,
        "<p>Your sign-in name is an e-mail address of your choice (it does not have to receive \
mail on this server). Passwords need at least {} characters.</p>",
        crate::limits::MIN_WEB_PASSWORD
    );
    let token = hub.web.forms.issue(ip, unix_now());
    let _ = write!(
        o,
        "<form method=\"post\" action=\"/register\" accept-charset=\"utf-8\">\n\
<div><input type=\"hidden\" name=\"token\" value=\"{}\"></div>\n<table summary=\"form\">\n\
<tr><td><label for=\"handle\">E-mail address</label></td>\
<td><input class=\"text\" type=\"text\" id=\"handle\" name=\"handle\" value=\"{}\" maxlength=\"{}\"></td></tr>\n\
<tr><td><label for=\"password\">Password</label></td>\
<td><input class=\"text\" type=\"password\" id=\"password\" name=\"password\" maxlength=\"{max_pw}\"></td></tr>\n\
<tr><td><label for=\"password2\">Password again</label></td>\
<td><input class=\"text\" type=\"password\" id=\"password2\" name=\"password2\" maxlength=\"{max_pw}\"></td></tr>\n",
        esc(&token),
        esc(v.handle),
        crate::limits::MAX_HANDLE,
        max_pw = crate::limits::MAX_PASSWORD
    );
    if v.mode == Registration::Invite {
        let _ = writeln!(
            o,
            "<tr><td><label for=\"invite\">Invitation code</label></td>\
<td><input class=\"text\" type=\"text\" id=\"invite\" name=\"invite\" value=\"{}\" maxlength=\"{MAX_INVITE_CODE}\"></td></tr>",
            esc(v.invite)
        );
    }
    o.push_str(
        "<tr><td></td><td><input type=\"submit\" id=\"submit\" value=\"Create account\"></td></tr>\n\
</table>\n</form>\n<p><a href=\"/\">Back to the server page</a> (how to set up Messenger).</p>\n",
    );
    page_foot(&mut o);
    o.into_bytes()
}

fn closed(hub: &Http) -> Response {
    let mut o = String::new();
    page_head(&format!("Registration closed - {}", hub.web.name()), &mut o);
    let _ = write!(
        o,
        "<h1>{} <span>registration closed</span></h1>\n<p>This server does not take sign-ups \
on the web. Ask its operator for an account.</p>\n<p><a href=\"/\">Back to the server page</a></p>\n",
        esc(hub.web.name())
    );
    page_foot(&mut o);
    html("403 Forbidden", o.into_bytes())
}

/// `/register`: the form (`GET`, `HEAD`) or its submission (`POST`).
pub async fn route(hub: &Arc<Http>, req: &Request) -> Response {
    let resp = if req.method == "POST" {
        submit(hub, req).await
    } else {
        form(hub, req).await
    };
    resp.head_only(req.method == "HEAD")
}

/// `GET /register[?invite=CODE]`.
pub async fn form(hub: &Arc<Http>, req: &Request) -> Response {
    let mode = hub.web.registration();
    if mode == Registration::Closed {
        return closed(hub);
    }
    let query = form_fields(req.query.as_bytes());
    let invite: String = field(&query, "invite")
        .chars()
        .take(MAX_INVITE_CODE)
        .collect();
    let view = View {
        mode,
        handle: "",
        invite: &invite,
        error: None,
    };
    html("200 OK", render_form(hub, req.peer.ip(), &view))
}

/// Normalises an invitation code as typed: case and surrounding blanks do not matter.
pub fn normalize_invite(code: &str) -> String {
    code.trim().to_ascii_uppercase()
}

/// `POST /register`.
pub async fn submit(hub: &Arc<Http>, req: &Request) -> Response {
    let mode = hub.web.registration();
    if mode == Registration::Closed {
        return closed(hub);
    }
    let ip = req.peer.ip();
    let ctype = req.header("content-type").unwrap_or("");
    let fields = if ctype
        .to_ascii_lowercase()
        .starts_with("application/x-www-form-urlencoded")
    {
        form_fields(&req.body)
    } else {
        Vec::new()
    };
    let handle_in: String = field(&fields, "handle")
        .chars()
        .take(MAX_FORM_HANDLE)
        .collect();
    let invite_in: String = field(&fields, "invite")
        .chars()
        .take(MAX_INVITE_CODE)
        .collect();
    let fail = |status: &'static str, error: String| {
        let view = View {
            mode,
            handle: &handle_in,
            invite: &invite_in,
            error: Some(error),
        };
        html(status, render_form(hub, ip, &view))
    };
    // The rate limit first: a refused submission spends no token (see the module comment).
    if let Err(wait) = hub.web.forms.attempt(ip, Instant::now()) {
        if crate::server::loglimit::allow("registration rate limit", req.peer) {
            log::warn!("http {}: registration refused: rate limit", req.peer);
        }
        return fail(
            "429 Too Many Requests",
            format!(
                "too many sign-ups from your address; try again in {} minutes",
                wait.div_ceil(60)
            ),
        )
        .header("Retry-After", wait.to_string());
    }
    if let Err(why) = hub
        .web
        .forms
        .redeem(field(&fields, "token"), ip, unix_now())
    {
        log::info!("http {}: registration refused: token {why:?}", req.peer);
        return fail("403 Forbidden", why.to_string());
    }
    let handle = match accounts::new_handle(&handle_in) {
        Ok(h) => h,
        Err(e) => return fail("400 Bad Request", e.to_string()),
    };
    let password = field(&fields, "password");
    if password != field(&fields, "password2") {
        return fail(
            "400 Bad Request",
            "the two passwords differ; type the same password twice".into(),
        );
    }
    if let Err(e) = accounts::password_strong_enough(&handle, password) {
        return fail("400 Bad Request", e.to_string());
    }
    let invite = match mode {
        Registration::Invite => {
            let code = normalize_invite(&invite_in);
            if code.is_empty() {
                return fail(
                    "400 Bad Request",
                    "an invitation code is needed to sign up here".into(),
                );
            }
            Some(code)
        }
        _ => None,
    };
    // Refuse a taken name before spending a password hash on it (the insert checks again).
    let h = handle.clone();
    match hub.storage.run(move |db| db.lookup(&h)).await {
        Ok(Ok(None)) => {}
        Ok(Ok(Some(_))) => return fail("409 Conflict", taken(&handle)),
        _ => return storage_down(),
    }
    let cred = {
        let _slot = hub.hash_slots.acquire().await;
        let pw = password.to_string();
        smol::unblock(move || Credential::new(&pw)).await
    };
    let h = handle.clone();
    let now = unix_now() as i64;
    let outcome = hub
        .storage
        .run(move |db| db.register_user(&h, &cred, invite.as_deref(), now))
        .await;
    match outcome {
        Ok(Ok(Registered::Created(_))) => {
            hub.web.forms.created(ip);
            log::info!(
                "http {}: account {handle} created by registration ({})",
                req.peer,
                mode.as_str()
            );
            created(hub, &handle)
        }
        Ok(Ok(Registered::Taken)) => fail("409 Conflict", taken(&handle)),
        Ok(Ok(Registered::Invite(why))) => {
            log::info!("http {}: registration refused: invite {why:?}", req.peer);
            let status = match why {
                InviteRefused::Unknown => "400 Bad Request",
                _ => "403 Forbidden",
            };
            fail(status, why.to_string())
        }
        Ok(Err(e)) => {
            log::error!("registration of {handle}: {e}");
            storage_down()
        }
        Err(_) => storage_down(),
    }
}

fn taken(handle: &str) -> String {
    format!("the name {handle} is already taken; choose another e-mail address")
}

fn storage_down() -> Response {
    Response::new("503 Service Unavailable").body("text/plain", "storage not available\n")
}

fn created(hub: &Http, handle: &str) -> Response {
    let mut o = String::new();
    page_head(&format!("Account created - {}", hub.web.name()), &mut o);
    let _ = write!(
        o,
        "<h1>{} <span>account created</span></h1>\n<p class=\"ok\">Your account \
<b id=\"created\">{}</b> is ready. Sign in to Messenger with this e-mail address and your password.</p>\n\
<p><a href=\"/\">Back to the server page</a>: how to point your Messenger at this server.</p>\n",
        esc(hub.web.name()),
        esc(handle)
    );
    page_foot(&mut o);
    html("200 OK", o.into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_bound_single_use_and_expire() {
        let f = Forms::new();
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        let other: IpAddr = "10.0.0.2".parse().unwrap();
        let t = f.issue(ip, 1000);
        assert_eq!(f.redeem(&t, other, 1001), Err(TokenRefused::Forged));
        assert_eq!(f.redeem("", ip, 1001), Err(TokenRefused::Missing));
        assert_eq!(f.redeem("1.2", ip, 1001), Err(TokenRefused::Forged));
        let ttl = REGISTER_TOKEN_TTL.as_secs();
        assert_eq!(f.redeem(&t, ip, 1000 + ttl), Err(TokenRefused::Expired));
        // Moving the issue time forward breaks the MAC.
        let (_, rest) = t.split_once('.').unwrap();
        let moved = format!("{:x}.{rest}", 1000 + ttl);
        assert_eq!(f.redeem(&moved, ip, 1000 + ttl), Err(TokenRefused::Forged));
        assert_eq!(f.redeem(&t, ip, 1001), Ok(()));
        assert_eq!(f.redeem(&t, ip, 1002), Err(TokenRefused::Reused));
        // Another server's token (another secret) is refused.
        assert_eq!(
            Forms::new().redeem(&f.issue(ip, 1000), ip, 1001),
            Err(TokenRefused::Forged)
        );
    }

    #[test]
    fn a_full_spent_table_forgets_its_oldest_instead_of_refusing() {
        let f = Forms::new();
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        for _ in 0..REGISTER_SPENT_TOKENS {
            f.redeem(&f.issue(ip, 1000), ip, 1001).unwrap();
        }
        assert_eq!(f.redeem(&f.issue(ip, 1001), ip, 1002), Ok(()));
        let len = f.spent.lock().unwrap().len();
        assert!(len <= REGISTER_SPENT_TOKENS, "{len}");
        // Once the old tokens have expired, their slots are freed.
        let later = 1001 + REGISTER_TOKEN_TTL.as_secs() + 1;
        for _ in 0..REGISTER_SPENT_TOKENS {
            f.redeem(&f.issue(ip, later), ip, later).unwrap();
        }
        assert_eq!(f.redeem(&f.issue(ip, later), ip, later + 1), Ok(()));
    }

    #[test]
    fn ipv6_clients_are_limited_by_their_64() {
        let f = Forms::new();
        let t0 = Instant::now();
        for i in 0..REGISTER_ATTEMPTS_PER_WINDOW {
            let ip: IpAddr = format!("2001:db8::{:x}", i + 1).parse().unwrap();
            f.attempt(ip, t0).unwrap();
        }
        assert!(f.attempt("2001:db8::ffff:1".parse().unwrap(), t0).is_err());
        assert!(f.attempt("2001:db8:0:1::1".parse().unwrap(), t0).is_ok());
        assert_eq!(
            crate::server::admission::address_key("::ffff:10.0.0.1".parse().unwrap()),
            "10.0.0.1".parse::<IpAddr>().unwrap()
        );
    }

    #[test]
    fn rate_limit_counts_attempts_and_accounts() {
        let f = Forms::new();
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        let t0 = Instant::now();
        for _ in 0..REGISTRATIONS_PER_WINDOW {
            f.attempt(ip, t0).unwrap();
            f.created(ip);
        }
        assert!(f.attempt(ip, t0).is_err());
        assert!(f.attempt("10.0.0.9".parse().unwrap(), t0).is_ok());
        assert!(f.attempt(ip, t0 + REGISTER_WINDOW).is_ok());
    }

    #[test]
    fn form_decoding() {
        let f = form_fields(b"handle=a%40b.com&password=p+w%2B&x&bad=%zz%4");
        assert_eq!(field(&f, "handle"), "a@b.com");
        assert_eq!(field(&f, "password"), "p w+");
        assert_eq!(field(&f, "x"), "");
        assert_eq!(field(&f, "bad"), "%zz%4");
        assert_eq!(field(&f, "missing"), "");
    }
}
