//! Passport endpoints: nexus, Passport 1.4 login, RST SOAP login, MsgrConfig (their paths are in
//! `router::ROUTES`).

use super::{Request, Response};
use crate::auth;
use crate::http::Http;
use crate::http::rst::{self, Issued, RstRequest, Service, TokenRequest};
use crate::protocol::names::normalize_handle;
use crate::protocol::percent;
use crate::server::logins::Refusal;
use std::sync::Arc;

/// Where this server's login endpoint is (see `host.rs` for which host may be named).
fn login_url(hub: &Http, req: &Request) -> String {
    let tls = req.tls
        || req
            .header("x-forwarded-proto")
            .is_some_and(|p| p.eq_ignore_ascii_case("https"));
    let host = super::host::login_host(
        hub.config.public_host.as_deref(),
        req.header("host"),
        req.local,
        tls,
    );
    if tls {
        // As the official service wrote it; clients add https:// themselves.
        format!("{host}/login2.srf")
    } else {
        format!("http://{host}/login2.srf")
    }
}

/// `GET /rdr/pprdr.asp`. Only `DALogin=` is sent: msnp11-sdk treats the whole value as the URL.
pub fn nexus(hub: &Http, req: &Request) -> Response {
    Response::new("200 OK")
        .header("PassportURLs", format!("DALogin={}", login_url(hub, req)))
        .body("text/html", "")
}

/// Keys that may follow `sign-in`/`pwd` in the Authorization header; a comma followed by anything
/// else belongs to the value (the SDK sends passwords unescaped).
const KNOWN_KEYS: &[&str] = &[
    "OrgVerb",
    "OrgURL",
    "sign-in",
    "pwd",
    "elapsed-time",
    "ct",
    "rver",
    "wp",
    "lc",
    "id",
    "tw",
    "fs",
    "ru",
    "kpp",
    "kv",
    "ver",
    "tpf",
    "cbid",
];

/// Extracts `sign-in` and `pwd` from `Passport1.4 OrgVerb=GET,...,sign-in=...,pwd=...,...`.
pub fn parse_authorization(value: &str) -> Option<(String, String)> {
    let rest = value.trim().strip_prefix("Passport1.4")?.trim_start();
    let mut fields: Vec<(String, String)> = Vec::new();
    for part in rest.split(',') {
        let key = part.split_once('=').map(|(k, _)| k.trim());
        match key {
            Some(k) if KNOWN_KEYS.contains(&k) => {
                let (k, v) = part.split_once('=').expect("has =");
                fields.push((k.trim().to_string(), v.to_string()));
            }
            _ => match fields.last_mut() {
                Some((_, v)) => {
                    v.push(',');
                    v.push_str(part);
                }
                None => return None,
            },
        }
    }
    let get = |k: &str| {
        fields
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| percent::decode_lenient(v.as_bytes(), false))
    };
    Some((get("sign-in")?, get("pwd")?))
}

/// How a password check went.
pub enum Checked {
    /// The password is right: the normalised handle and the credential version it was checked
    /// under (the ticket is bound to it).
    Ok(String, u64),
    /// Wrong password, unknown account, or blocked by failures: the client is told "wrong".
    Wrong,
    /// The server could not check it now (too many logins waiting, or an internal error): the
    /// client is told "busy, try later", never "wrong password".
    Busy,
}

/// Checks a password with the slow hash, off the executor and at most `HASH_CONCURRENCY` at once.
/// A check over the in-flight caps waits its turn (`server::logins`).
pub async fn check_password(
    hub: &Arc<Http>,
    ip: std::net::IpAddr,
    handle: &str,
    password: &str,
) -> Checked {
    let Some(handle) = normalize_handle(handle) else {
        return Checked::Wrong;
    };
    let cfg = &hub.config;
    // Counted as a failure from here until the hash says otherwise, so parallel guesses cannot
    // all slip past the check.
    let attempt = match hub
        .logins
        .begin(ip, &handle, cfg.auth_failures, hub.live.auth_backoff())
        .await
    {
        Ok(a) => a,
        Err(Refusal::Blocked) => {
            log::warn!("http {ip}: login for {handle} refused: too many failures");
            return Checked::Wrong;
        }
        Err(Refusal::Busy) => {
            log::warn!("http {ip}: login for {handle} answered busy: too many logins waiting");
            return Checked::Busy;
        }
    };
    let h = handle.clone();
    let creds = match hub.storage.run(move |db| db.credentials(&h)).await {
        Ok(Ok(c)) => c,
        _ => {
            // Not the client's doing: no failure counted.
            attempt.abandoned();
            return Checked::Busy;
        }
    };
    let _slot = hub.hash_slots.acquire().await;
    let password = password.to_string();
    let ok = match creds {
        Some(c) => {
            smol::unblock(move || auth::verify_password(&password, &c.phc).then_some(c.version))
                .await
        }
        None => {
            // Spend the same time for unknown accounts so timing does not reveal which exist.
            smol::unblock(move || auth::verify_password(&password, auth::dummy_phc())).await;
            None
        }
    };
    log::debug!("http {ip}: password checked for {handle}");
    match ok {
        Some(version) => {
            attempt.succeeded();
            Checked::Ok(handle, version)
        }
        None => {
            attempt.failed();
            Checked::Wrong
        }
    }
}

/// The answer to a login the server could not check now: 503 with `Retry-After`. A Passport
/// client treats it as a server error ("service temporarily unavailable") and keeps the saved
/// password, where a 401 `da-status=failed` would make it ask for the password again.
fn busy(what: &str) -> Response {
    Response::new("503 Service Unavailable")
        .header("Retry-After", "5")
        .body(
            "text/plain",
            format!("{what}: the server is busy, try again shortly\n"),
        )
}

/// `GET /login2.srf` with `Authorization: Passport1.4 ...`.
pub async fn login(hub: &Arc<Http>, req: &Request) -> Response {
    let creds = req.header("authorization").and_then(parse_authorization);
    let checked = match &creds {
        Some((user, pw)) => check_password(hub, req.peer.ip(), user, pw).await,
        None => Checked::Wrong,
    };
    match checked {
        Checked::Ok(h, version) => {
            log::info!("http {}: passport login for {h}", req.peer);
            let ticket = hub.logins.issue(&h, version).await;
            // from-PP must come last: msnp11-sdk keeps everything after it.
            Response::new("200 OK")
                .header(
                    "Authentication-Info",
                    format!("Passport1.4 da-status=success,from-PP='{ticket}'"),
                )
                .body("text/html", "")
        }
        Checked::Busy => busy("login2.srf"),
        Checked::Wrong => {
            log::info!(
                "http {}: passport login failed for {}",
                req.peer,
                creds
                    .as_ref()
                    .map_or("(no credentials)", |(u, _)| u.as_str())
            );
            Response::new("401 Unauthorized")
                .header(
                    "WWW-Authenticate",
                    "Passport1.4 da-status=failed,srealm=Passport.NET,ts=-1,prompt",
                )
                .body("text/html", "")
        }
    }
}

fn xml_text<'a>(doc: &'a str, tag: &str) -> Option<&'a str> {
    let plain = format!("<{tag}>");
    let attrs = format!("<{tag} ");
    let start = doc.find(&plain).or_else(|| doc.find(&attrs))?;
    let open_end = doc[start..].find('>')? + start + 1;
    let close = doc[open_end..].find(&format!("</{tag}>"))? + open_end;
    Some(&doc[open_end..close])
}

fn xml_unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

/// The request of a client that sends credentials but no token list (tools that post only the
/// `UsernameToken`, which the former handler answered): the two tokens
/// MSN 7.5 asks for, Passport.NET/tb and messenger.msn.com, numbered as it numbers them.
fn legacy_request(body: &[u8]) -> Option<RstRequest> {
    let doc = String::from_utf8_lossy(body);
    let token = |number: u32, address: &str| TokenRequest {
        number,
        address: address.to_string(),
        policy: None,
    };
    Some(RstRequest {
        username: xml_unescape(xml_text(&doc, "wsse:Username")?),
        password: xml_unescape(xml_text(&doc, "wsse:Password")?),
        tokens: vec![
            token(0, "http://Passport.NET/tb"),
            token(1, "messenger.msn.com"),
        ],
    })
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Random bytes in base64, for the opaque Passport.NET/tb blob and its secret (no client reads
/// them: they would only matter to Microsoft's own services).
fn random_b64(n: usize) -> String {
    use base64::Engine;
    let mut raw = vec![0u8; n];
    auth::fill_random(&mut raw);
    base64::engine::general_purpose::STANDARD.encode(raw)
}

/// `POST /RST.srf`: the SOAP login of MSN 7.5 and WLM (MSNP12-18). One password check, then one
/// token per requested service, numbered as the request numbers them (`http::rst`):
/// messenger.msn.com gets a single-use login ticket (`USR TWN S`, MSNP12-14),
/// messengerclear.live.com a single-use ticket with a session key bound to it (`USR SSO S`,
/// MSNP15+), every other service a web-service token (`logins::issue_service`).
pub async fn rst(hub: &Arc<Http>, req: &Request) -> Response {
    let request = match rst::parse_request(&req.body) {
        Ok(r) => Some(r),
        // With credentials and without a token list: MSN 7.5's two tokens, as the former
        // handler answered (it read only the two credential elements, expanding nothing). A
        // body that asks for tokens must be acceptable XML.
        Err(rst::RstError::NoTokens) => legacy_request(&req.body),
        Err(_) if !contains(&req.body, b"RequestSecurityToken") => legacy_request(&req.body),
        Err(e) => {
            log::info!("http {}: unusable RST request: {e}", req.peer);
            None
        }
    };
    let checked = match &request {
        Some(r) => check_password(hub, req.peer.ip(), &r.username, &r.password).await,
        None => Checked::Wrong,
    };
    let (request, handle, version) = match (request, checked) {
        (Some(r), Checked::Ok(h, v)) => (r, h, v),
        (_, Checked::Busy) => return busy("RST.srf"),
        (r, _) => {
            let user = r.as_ref().map_or("(none)", |r| r.username.as_str());
            log::info!("http {}: RST login failed for {user}", req.peer);
            return Response::new("200 OK").body(
                "text/xml; charset=utf-8",
                rst::fault_failed_authentication(),
            );
        }
    };
    log::info!(
        "http {}: RST login for {handle} ({} tokens)",
        req.peer,
        request.tokens.len()
    );
    let lifetime = crate::limits::RST_STATED_LIFETIME;
    let mut issued = Vec::with_capacity(request.tokens.len());
    for token in &request.tokens {
        issued.push(match Service::of(&token.address) {
            Service::PassportTb => Issued::PassportTb {
                cipher: random_b64(48),
                secret: random_b64(24),
            },
            Service::MessengerClear => {
                let (ticket, key) = hub.logins.issue_with_key(&handle, version).await;
                Issued::Ticket {
                    ticket,
                    proof: Some(key.to_base64()),
                }
            }
            Service::Messenger => Issued::Ticket {
                ticket: hub.logins.issue(&handle, version).await,
                proof: None,
            },
            Service::Web => Issued::Ticket {
                ticket: hub.logins.issue_service(&handle, version, lifetime).await,
                proof: None,
            },
        });
    }
    let now = crate::protocol::timestamp::unix_now();
    let body = rst::answer(&request, &issued, now, now + lifetime.as_secs());
    Response::new("200 OK").body("text/xml; charset=utf-8", body)
}

const MSGR_CONFIG: &str = "<MsgrConfig><Simple><Config><ExpiresInDays>0</ExpiresInDays></Config></Simple><TabConfig><msntabdata><tab><type>page</type><contenturl>http://localhost/</contenturl><hiturl>http://localhost/</hiturl><image>http://localhost/tab.png</image><name>msnpd</name><tooltip>msnpd</tooltip><siteid>0</siteid><notificationid>0</notificationid></tab></msntabdata></TabConfig><LocalizedConfig Market=\"en-US\"><MsnTodayConfig><MsnTodaySiteID>0</MsnTodaySiteID><MsnTodayURL>http://localhost/</MsnTodayURL></MsnTodayConfig></LocalizedConfig></MsgrConfig>";

/// `Config/MsgrConfig.asmx`: a minimal valid configuration so MSN 6-7.5 stop retrying.
pub fn msgr_config(req: &Request) -> Response {
    if req.method == "GET" {
        return Response::new("200 OK").body("text/xml; charset=utf-8", MSGR_CONFIG);
    }
    let body = format!(
        r#"<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema"><soap:Body><GetClientConfigResponse xmlns="http://www.msn.com/webservices/Messenger/Client"><GetClientConfigResult><![CDATA[{MSGR_CONFIG}]]></GetClientConfigResult></GetClientConfigResponse></soap:Body></soap:Envelope>"#
    );
    Response::new("200 OK").body("text/xml; charset=utf-8", body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authorization_header_forms() {
        let official = "Passport1.4 OrgVerb=GET,OrgURL=http%3A%2F%2Fmessenger%2Emsn%2Ecom,sign-in=alice%40example.com,pwd=p%40ss%2Cword,ct=1,rver=1,wp=FS_40SEC_0_COMPACT,lc=1,id=1";
        assert_eq!(
            parse_authorization(official),
            Some(("alice@example.com".into(), "p@ss,word".into()))
        );
        // msnp11-sdk sends both unescaped; a comma in the password stays in the password.
        let sdk = "Passport1.4 OrgVerb=GET,OrgURL=x,sign-in=bob@example.com,pwd=a,b=c,ct=1,rver=1";
        assert_eq!(
            parse_authorization(sdk),
            Some(("bob@example.com".into(), "a,b=c".into()))
        );
        assert_eq!(parse_authorization("Basic abc"), None);
        assert_eq!(parse_authorization("Passport1.4 sign-in=a@b.com"), None);
    }

    #[test]
    fn soap_fields() {
        let doc = "<wsse:UsernameToken Id=\"user\"><wsse:Username>a@b.com</wsse:Username><wsse:Password>x&amp;y</wsse:Password></wsse:UsernameToken>";
        assert_eq!(xml_text(doc, "wsse:Username"), Some("a@b.com"));
        assert_eq!(xml_unescape(xml_text(doc, "wsse:Password").unwrap()), "x&y");
    }
}
