//! URL, SND, SDC, FND, IMS, PNG/QNG, CHL/QRY, GCF and OUT.

use super::{Apply, NsSession};
use crate::auth;
use crate::dialect::Challenge;
use crate::limits::CHALLENGE_TIMEOUT;
use crate::protocol::ArgError;
use crate::protocol::command::ClientCommand;
use crate::protocol::command::misc::{Fnd, Gcf, Ims, Out, Png, Qry, Sdc, Snd, Url};
use crate::protocol::reply::misc::{self as reply, Done};
use crate::server::session::{Disconnect, Handled};
use std::time::Instant;

/// The service opened a browser on these; we have no web pages, so point at something harmless.
impl<'a> Apply<'a> for Url<'a> {
    async fn apply(self, s: &mut NsSession, trid: u32) -> Handled {
        s.send(&reply::Url { trid }).await
    }
}

/// Invite-by-e-mail: acknowledged, nothing is sent.
impl<'a> Apply<'a> for Snd<'a> {
    /// Even without an address: the service acknowledged every SND.
    async fn refused(s: &mut NsSession, trid: u32, _: ArgError) -> Handled {
        s.send(&Done {
            verb: Snd::VERB,
            trid,
        })
        .await
    }

    async fn apply(self, s: &mut NsSession, trid: u32) -> Handled {
        s.send(&Done {
            verb: Snd::VERB,
            trid,
        })
        .await
    }
}

/// `FND trid fname=… lname=… city=… state=… country=…` (MSNP2-6; 7+ get 502 from the dialect
/// table). We keep no member directory, so every search finds nobody: `FND trid 0 0`, the
/// service's own "no users" answer (W fnd.md, N Commands/FND). First and last name may not be
/// the `*` wildcard (`201`, same sources).
impl<'a> Apply<'a> for Fnd<'a> {
    async fn apply(self, s: &mut NsSession, trid: u32) -> Handled {
        let named = |v: Option<&str>| v.is_some_and(|v| !v.is_empty() && v != "*");
        if !named(self.field("fname")) || !named(self.field("lname")) {
            return s.error(201, trid).await;
        }
        s.send(&reply::FndNone { trid }).await
    }
}

impl<'a> Apply<'a> for Sdc<'a> {
    async fn apply(self, s: &mut NsSession, trid: u32) -> Handled {
        s.send(&Done {
            verb: Sdc::VERB,
            trid,
        })
        .await
    }
}

/// `IMS trid ON|OFF`: while OFF, invitations to this user fail with 217.
impl Apply<'_> for Ims {
    async fn refused(s: &mut NsSession, trid: u32, _: ArgError) -> Handled {
        s.error(201, trid).await
    }

    async fn apply(self, s: &mut NsSession, trid: u32) -> Handled {
        if let Some(u) = s.user() {
            s.ns.directory.set_ims_off(u.id, self.off).await?;
        }
        s.send(&reply::Ims {
            trid,
            off: self.off,
        })
        .await
    }
}

impl Apply<'_> for Png {
    async fn apply(self, s: &mut NsSession, _: u32) -> Handled {
        s.send(&reply::Qng).await
    }
}

impl Apply<'_> for Out {
    async fn apply(self, s: &mut NsSession, _: u32) -> Handled {
        let _ = s.send(&reply::Goodbye).await;
        Err(Disconnect::new("client signed out (OUT)"))
    }
}

/// MSNP11+ `GCF trid Shields.xml`: the (empty) shield configuration.
impl<'a> Apply<'a> for Gcf<'a> {
    async fn apply(self, s: &mut NsSession, trid: u32) -> Handled {
        const SHIELDS: &str = "<?xml version=\"1.0\" encoding=\"utf-8\" ?><config><shield><cli maj=\"7\" min=\"0\" minbld=\"0\" maxbld=\"9999\" deny=\" \" /></shield><block></block></config>";
        let gcf = reply::Gcf {
            trid,
            file: self.file,
            body: SHIELDS.as_bytes(),
        };
        s.send(&gcf).await
    }
}

impl NsSession {
    pub(super) async fn send_challenge(&mut self) -> Handled {
        let c = auth::chl_challenge();
        self.send(&reply::Chl { challenge: &c }).await?;
        self.pending_challenge = Some(Box::new((c, Instant::now() + CHALLENGE_TIMEOUT)));
        self.next_challenge = self.ns.config.chl_interval.map(|i| Instant::now() + i);
        Ok(())
    }
}

/// `540` and a hang-up: a wrong, malformed or unasked-for challenge answer.
async fn refuse_qry(s: &mut NsSession, trid: u32, why: String) -> Handled {
    s.error(540, trid).await?;
    Err(Disconnect::new(why))
}

/// `QRY trid product-id 32` + 32 hex digits answering the last CHL.
impl<'a> Apply<'a> for Qry<'a> {
    async fn refused(s: &mut NsSession, trid: u32, e: ArgError) -> Handled {
        refuse_qry(s, trid, format!("malformed challenge answer: {e}")).await
    }

    async fn apply(self, s: &mut NsSession, trid: u32) -> Handled {
        let Some(pending) = s.pending_challenge.take() else {
            return refuse_qry(s, trid, "QRY without an outstanding challenge".into()).await;
        };
        let (challenge, _) = *pending;
        let product = self.product;
        let answer = std::str::from_utf8(self.answer).unwrap_or("");
        let msnp11 = s.dialect().challenge == Challenge::Msnp11;
        let ok = match auth::expected_qry(&challenge, product, msnp11) {
            Some(expected) => auth::digest_eq(answer, &expected),
            None => s.ns.config.allow_unknown_clients && answer.len() == 32,
        };
        if ok {
            s.send(&reply::QryOk { trid }).await
        } else {
            refuse_qry(
                s,
                trid,
                format!("wrong challenge answer for client id {product}"),
            )
            .await
        }
    }
}
