//! VER, INF, CVR and USR: version negotiation, the dispatch redirect and authentication.
//!
//! Dispatch and notification share one listener. The first `USR ... I` from a client is answered
//! with `XFR trid NS host:port` pointing back at this listener, and the redirect is remembered for
//! (client address, handle); when the client comes back and sends `USR ... I` again, the remembered
//! redirect is consumed and the connection is served as the notification server.

use super::{Apply, Challenged, NsSession, Phase, directory};
use crate::auth;
use crate::auth::sso;
use crate::dialect::{Auth, Challenge, Dialect, InitialMail, Profile, Quirk};
use crate::model::MachineGuid;
use crate::protocol::ArgError;
use crate::protocol::command::login::{Cvq, Cvr, Inf, Stage, Usr, Ver};
use crate::protocol::names::normalize_handle;
use crate::protocol::percent;
use crate::protocol::reply::login::{self as reply, HotmailMsg, UsrChallenge, VerAnswer};
use crate::protocol::timestamp::unix_now;
use crate::server::session::{Disconnect, Handled};
use crate::storage::DbError;
use std::sync::Arc;
use std::time::Instant;

impl<'a> Apply<'a> for Ver<'a> {
    async fn apply(self, s: &mut NsSession, trid: u32) -> Handled {
        let offered = &self.offered;
        match Dialect::negotiate(offered.iter().copied()) {
            Some(d) => {
                s.dialect = Some(d);
                s.phase = Phase::Hello;
                let answer = VerAnswer::Version(d.version);
                s.send(&reply::Ver { trid, answer }).await
            }
            // W cvr0.md: when only the `CVR0` sub-protocol is in common the service agreed on
            // it; the client then asks `CVQ` for the versions to upgrade to, and is disconnected.
            None if offered.contains(&"CVR0") => {
                s.phase = Phase::UpgradeQuery;
                let answer = VerAnswer::Cvr0;
                s.send(&reply::Ver { trid, answer }).await
            }
            None => {
                let answer = VerAnswer::None;
                s.send(&reply::Ver { trid, answer }).await?;
                Err(Disconnect::new(format!(
                    "no common protocol version in {offered:?}"
                )))
            }
        }
    }
}

impl Apply<'_> for Inf {
    async fn apply(self, s: &mut NsSession, trid: u32) -> Handled {
        s.send(&reply::InfMd5 { trid }).await
    }
}

/// We never force an upgrade: recommend and require the client's own version.
async fn answer_cvr(s: &mut NsSession, trid: u32, ver: &str) -> Handled {
    s.send(&reply::Cvr { trid, version: ver }).await
}

impl<'a> Apply<'a> for Cvr<'a> {
    /// A `CVR` short of the six fixed fields is answered as it always was, with `1.0.0000`
    /// (and no library recognised); one with fields after the handle is refused.
    async fn refused(s: &mut NsSession, trid: u32, e: ArgError) -> Handled {
        match e {
            ArgError::Missing { .. } => {
                s.quirk = Quirk::None;
                answer_cvr(s, trid, "1.0.0000").await
            }
            _ => Err(Disconnect::new(e.to_string())),
        }
    }

    async fn apply(self, s: &mut NsSession, trid: u32) -> Handled {
        s.quirk = self.0.quirk();
        answer_cvr(s, trid, self.0.client_version).await
    }
}

/// `CVQ trid lcid os osver arch library client-ver {codebase} {handle}` after `VER trid CVR0`:
/// the client speaks no protocol version we serve. As in W cvr0.md the answer names the versions
/// to upgrade to (`CVQ trid recommended recommended minimum download-url info-url`) and the server
/// hangs up. We recommend the newest client we serve (7.5, MSNP12) and require the oldest (1.0):
/// a pre-release client is told to upgrade, a newer one is left alone. We host no installer, so
/// both URLs point at the product page, as our CVR answers do.
async fn answer_cvq(s: &mut NsSession, trid: u32, client: Option<&str>) -> Handled {
    let cvq = reply::Cvq {
        trid,
        recommended: NEWEST_CLIENT,
        minimum: OLDEST_CLIENT,
    };
    s.send(&cvq).await?;
    Err(Disconnect::new(format!(
        "client offered only CVR0 (version query from {client:?})"
    )))
}

impl<'a> Apply<'a> for Cvq<'a> {
    /// The answer and the hang-up are the same whatever the arguments.
    async fn refused(s: &mut NsSession, trid: u32, _: ArgError) -> Handled {
        answer_cvq(s, trid, None).await
    }

    async fn apply(self, s: &mut NsSession, trid: u32) -> Handled {
        answer_cvq(s, trid, Some(self.0.client_version)).await
    }
}

/// MSN Messenger 7.5 (MSNP12) and 1.0 (MSNP2) builds, for CVQ.
const NEWEST_CLIENT: &str = "7.5.0324";
const OLDEST_CLIENT: &str = "1.0.0863";

/// `USR` before login; after it `207`, except MSNP15+'s `USR trid SHA A signed-ticket`, which
/// is acknowledged (`USR trid OK handle 0 0`, as the service and Escargot answer it: libpurple
/// sends it after every sign-in). The scheme is the dialect's (`Usr::parse` refuses another, a
/// hang-up as the service did).
impl<'a> Apply<'a> for Usr<'a> {
    async fn refused(s: &mut NsSession, trid: u32, e: ArgError) -> Handled {
        if s.user().is_some() {
            return s.error(207, trid).await;
        }
        Err(Disconnect::new(e.to_string()))
    }

    async fn apply(self, s: &mut NsSession, trid: u32) -> Handled {
        let scheme = s.dialect().auth;
        match (self.stage, &s.phase) {
            (Stage::SignedTicket, Phase::LoggedIn(me)) => {
                let handle = me.handle.clone();
                s.send(&reply::UsrSignedTicketOk {
                    trid,
                    handle: &handle,
                })
                .await
            }
            (_, Phase::LoggedIn(_)) => s.error(207, trid).await,
            (Stage::Initial, Phase::Hello) => initial(s, trid, scheme, self.value).await,
            (Stage::Subsequent, Phase::Challenged(_)) => {
                let Phase::Challenged(pending) = std::mem::replace(&mut s.phase, Phase::Hello)
                else {
                    unreachable!("matched above")
                };
                subsequent(s, trid, scheme, *pending, &self).await
            }
            (stage, _) => Err(Disconnect::new(format!("USR {stage:?} out of sequence"))),
        }
    }
}

/// `USR S`: checks the response to the challenge of `pending` and completes the login.
async fn subsequent(
    s: &mut NsSession,
    trid: u32,
    scheme: Auth,
    pending: Challenged,
    usr: &Usr<'_>,
) -> Handled {
    let value = usr.value;
    let Challenged {
        handle,
        credentials,
        challenge,
    } = pending;
    let ip = s.conn.peer.ip();
    refuse_if_blocked(s, trid, &handle).await?;
    let ok = match (scheme, &credentials) {
        (Auth::Md5, Some(c)) => {
            // The challenge we sent was the account's salt (see auth.rs).
            debug_assert_eq!(challenge, c.md5_salt);
            auth::digest_eq(value, &c.md5_hash)
        }
        (Auth::Twn, _) => s.ns.logins.redeem(value, &handle).await,
        // The ticket is burnt whatever the answer: a wrong answer costs the client a new
        // RST.srf round (and a password check, which the throttle counts).
        (Auth::Sso, _) => match (s.ns.logins.redeem_with_key(value, &handle).await, usr.proof) {
            (Some(key), Some(proof)) => match sso::verify(&key, &challenge, proof) {
                Ok(()) => true,
                Err(e) => {
                    log::info!("ns {}: SSO answer for {handle} refused: {e:?}", s.conn.peer);
                    false
                }
            },
            _ => false,
        },
        _ => false,
    };
    // MSNP16+: the endpoint this login is (MPOP). A client that sends none is one endpoint.
    let endpoint = if s.dialect().mpop {
        usr.machine_guid.and_then(MachineGuid::parse)
    } else {
        None
    };
    let id = match (ok, scheme, credentials) {
        (true, Auth::Md5, Some(c)) => Some(c.id),
        (true, Auth::Twn | Auth::Sso, _) => match s
            .ns
            .storage
            .run({
                let h = handle.clone();
                move |db| db.lookup(&h)
            })
            .await?
        {
            Ok(Some((id, _))) => Some(id),
            _ => None,
        },
        _ => None,
    };
    match id {
        Some(id) => {
            s.ns.logins.succeeded(ip, &handle).await;
            complete(s, trid, id, endpoint).await
        }
        None => {
            s.ns.logins
                .failed(ip, &handle, s.ns.live.auth_backoff())
                .await;
            s.error(911, trid).await?;
            Err(Disconnect::new(format!(
                "authentication failed for {handle}"
            )))
        }
    }
}

/// `911` and a hang-up when logins for `handle` from this address are blocked
/// (`server::throttle`); checked at `USR I` and again at `USR S`.
async fn refuse_if_blocked(s: &mut NsSession, trid: u32, handle: &str) -> Handled {
    let cfg = &s.ns.config;
    let allowed = s.ns.logins.allowed(
        s.conn.peer.ip(),
        handle,
        cfg.auth_failures,
        s.ns.live.auth_backoff(),
    );
    if allowed.await {
        return Ok(());
    }
    s.error(911, trid).await?;
    Err(Disconnect::new(format!(
        "login for {handle} refused: too many failures"
    )))
}

async fn initial(s: &mut NsSession, trid: u32, scheme: Auth, handle: &str) -> Handled {
    let Some(handle) = normalize_handle(handle) else {
        s.error(911, trid).await?;
        return Err(Disconnect::new("USR I with an invalid handle"));
    };
    let ip = s.conn.peer.ip();
    if !s.ns.dispatch.take(ip, &handle).await {
        // This is the dispatch step.
        s.ns.dispatch.remember(ip, &handle);
        let ns = s.ns.ns_address(&s.conn.local);
        log::debug!("ns {}: redirecting {handle} to {ns}", s.conn.peer);
        return s.send(&reply::XfrNs { trid, ns: &ns }).await;
    }
    // A blocked (address, account) is refused here already: no challenge, no account lookup.
    refuse_if_blocked(s, trid, &handle).await?;
    let credentials = {
        let h = handle.clone();
        s.ns.storage.run(move |db| db.credentials(&h)).await?
    }
    .map_err(|e| Disconnect::new(format!("credentials lookup: {e}")))?;
    let challenge = match scheme {
        Auth::Md5 => {
            let c = credentials
                .as_ref()
                .map_or_else(|| s.ns.decoy_challenge(&handle), |c| c.md5_salt.clone());
            let scheme = Auth::Md5;
            s.send(&UsrChallenge {
                trid,
                scheme,
                challenge: &c,
            })
            .await?;
            c
        }
        Auth::Twn => {
            let c = "ct=1,rver=1,wp=FS_40SEC_0_COMPACT,lc=1,id=1".to_string();
            let scheme = Auth::Twn;
            s.send(&UsrChallenge {
                trid,
                scheme,
                challenge: &c,
            })
            .await?;
            c
        }
        // WLM.md / libpurple: the policies first (`GCF 0 len`), then the nonce the client
        // answers with the session key RST.srf gives it.
        Auth::Sso => {
            s.send(&reply::GcfPolicies { body: POLICIES }).await?;
            let nonce = sso::new_nonce();
            s.send(&reply::UsrSsoNonce {
                trid,
                nonce: &nonce,
            })
            .await?;
            nonce
        }
    };
    s.phase = Phase::Challenged(Box::new(Challenged {
        handle,
        credentials,
        challenge,
    }));
    Ok(())
}

/// The policies pushed with `GCF 0` before the MSNP15+ nonce. WLM 8.5/2009 and libpurple read
/// only the shields section (libpurple logs the payload and moves on); this is the smallest
/// document of the service's shape: no client version is denied, no block list.
const POLICIES: &str = "<?xml version= \"1.0\" encoding=\"utf-8\" ?><Policies><Policy type=\"SHIELDS\"><config><shield><cli maj=\"7\" min=\"0\" minbld=\"0\" maxbld=\"9999\" deny=\" \" /></shield><block></block></config></Policy><Policy type=\"ABCH\"><policy><set id=\"push\">on</set><set id=\"delaysup\">off</set></policy></Policy></Policies>";

/// Loads the account, takes over from an older session, and sends USR OK and the profile.
async fn complete(
    s: &mut NsSession,
    trid: u32,
    id: crate::model::UserId,
    endpoint: Option<MachineGuid>,
) -> Handled {
    let dialect = s.dialect();
    let outbox = s.conn.outbox.clone();
    let session = s.ns.next_session_id();
    let directory = s.ns.directory.clone();
    let local = s.conn.local.clone();
    // Loading and registering happen in one storage job, so every list change committed after
    // the load reaches the directory after the registration.
    let loaded =
        s.ns.storage
            .run(move |db| -> Result<_, DbError> {
                let (handle, account) = db.load_account(id)?;
                let handle: Arc<str> = handle.into();
                let friendly = account.friendly.clone();
                let member = directory::Member {
                    id,
                    handle: handle.clone(),
                    dialect,
                    outbox,
                    session,
                    ns_local: local,
                };
                let registered = directory
                    .register_endpoint_blocking(member, endpoint, account)
                    .map_err(|_| DbError::Sql("the directory is gone (shutting down)".into()))?;
                Ok((handle, friendly, registered))
            })
            .await?;
    let (handle, friendly, registered) =
        loaded.map_err(|e| Disconnect::new(format!("loading account: {e}")))?;
    // The directory closed a session this login replaced (OUT OTH), and its switchboards.
    if let Ok(Some(previous)) = registered.recv().await {
        log::info!(
            "{}: signed in again elsewhere; closed the old session",
            previous.handle
        );
    }
    let user = super::Me {
        id,
        handle: handle.clone(),
        session,
        endpoint,
    };
    log::info!(
        "ns {}: {handle} logged in with MSNP{}",
        s.conn.peer,
        dialect.version
    );
    s.phase = Phase::LoggedIn(user);
    // From now on `since` is the last activity: this command.
    s.since = Instant::now();
    let name = percent::encode(&friendly);
    let ok = reply::UsrOk {
        trid,
        handle: &handle,
        name: &name,
    };
    s.send(&ok).await?;
    if dialect.sbs {
        s.send(&reply::Sbs).await?;
    }
    let profile = profile(dialect, id, s.conn.peer);
    let payload = profile.as_bytes();
    s.send(&HotmailMsg { payload }).await?;
    if let Some(mail) = initial_mail(dialect.initial_mail) {
        let payload = mail.as_bytes();
        s.send(&HotmailMsg { payload }).await?;
    }
    // MSNP16+: the endpoint list (self UBX) follows the burst, to this and the other endpoints.
    if endpoint.is_some() {
        s.ns.directory.tell_endpoints(id).await?;
    }
    if dialect.challenge != Challenge::None {
        s.next_challenge = s.ns.config.chl_interval.map(|i| Instant::now() + i);
    }
    Ok(())
}

/// The initial e-mail message after the profile, with empty counts: we keep no mailbox.
///
/// MSNP8-10 fields and order as in NS.md 2.9 (after W/H; the real service's whole payload was 221
/// bytes); MSNP11-12 the `Mail-Data` document of W msnp11.md with inbox and other-folder counts 0
/// and the quota fields of that example.
pub fn initial_mail(kind: InitialMail) -> Option<&'static str> {
    match kind {
        InitialMail::None => None,
        InitialMail::Email => Some(
            "MIME-Version: 1.0\r\nContent-Type: text/x-msmsgsinitialemailnotification; charset=UTF-8\r\n\r\n\
             Inbox-Unread: 0\r\nFolders-Unread: 0\r\nInbox-URL: /cgi-bin/HoTMaiL\r\n\
             Folders-URL: /cgi-bin/folders\r\nPost-URL: http://www.hotmail.com\r\n\r\n",
        ),
        InitialMail::Mdata => Some(
            "MIME-Version: 1.0\r\nContent-Type: text/x-msmsgsinitialmdatanotification; charset=UTF-8\r\n\r\n\
             Mail-Data: <MD><E><I>0</I><IU>0</IU><O>0</O><OU>0</OU></E><Q><QTM>409600</QTM><QNM>204800</QNM></Q></MD>\r\n\r\n",
        ),
    }
}

/// The `text/x-msmsgsprofile` message sent right after login.
pub fn profile(dialect: &Dialect, id: crate::model::UserId, peer: std::net::SocketAddr) -> String {
    let mut p = format!(
        "MIME-Version: 1.0\r\nContent-Type: text/x-msmsgsprofile; charset=UTF-8\r\nLoginTime: {}\r\n",
        unix_now()
    );
    if dialect.profile >= Profile::Passport {
        p.push_str(&format!(
            "EmailEnabled: 0\r\nMemberIdHigh: {}\r\nMemberIdLow: {}\r\nlang_preference: 1033\r\n\
             preferredEmail: \r\ncountry: \r\nPostalCode: \r\nGender: \r\nKid: 0\r\nAge: \r\n\
             BDayPre: \r\nBirthday: \r\nWallet: \r\nFlags: 1027\r\nsid: 507\r\nkv: 11\r\n\
             MSPAuth: {}\r\n",
            (id >> 32) as u32,
            id as u32 as i32,
            auth::token(24)
        ));
    }
    if dialect.profile >= Profile::ClientAddress {
        let port = peer.port();
        // Clients expect the port byte-swapped (NS.md 2.9).
        let swapped = port.rotate_left(8);
        let ip = match peer.ip() {
            std::net::IpAddr::V6(v6) => v6
                .to_ipv4_mapped()
                .map_or(v6.to_string(), |v4| v4.to_string()),
            ip => ip.to_string(),
        };
        p.push_str(&format!("ClientIP: {ip}\r\nClientPort: {swapped}\r\n"));
    }
    if dialect.profile >= Profile::Abch {
        p.push_str("ABCHMigrated: 1\r\n");
    }
    if dialect.profile >= Profile::Mpop {
        p.push_str("MPOPEnabled: 1\r\n");
    }
    p.push_str("\r\n");
    p
}

#[cfg(test)]
mod tests {
    #[test]
    fn msnp2_profile_is_three_fields() {
        let d = crate::dialect::Dialect::get(2).unwrap();
        let p = super::profile(d, 1, "127.0.0.1:1863".parse().unwrap());
        assert_eq!(p.lines().count(), 4);
        let d = crate::dialect::Dialect::get(8).unwrap();
        let p = super::profile(d, 1, "192.168.1.111:1863".parse().unwrap());
        assert!(p.contains("ClientIP: 192.168.1.111\r\nClientPort: 18183\r\n"));
        assert!(p.ends_with("\r\n\r\n"));
    }

    #[test]
    fn initial_email_message_is_the_documented_221_bytes() {
        use crate::dialect::InitialMail;
        let m = super::initial_mail(InitialMail::Email).unwrap();
        assert_eq!(m.len(), 221);
        assert!(super::initial_mail(InitialMail::None).is_none());
        assert!(
            super::initial_mail(InitialMail::Mdata)
                .unwrap()
                .contains("<IU>0</IU>")
        );
    }
}
