//! URL, SND, SDC, FND, IMS, PNG/QNG, CHL/QRY, GCF and OUT.

use super::NsSession;
use crate::auth;
use crate::dialect::Challenge;
use crate::limits::{CHALLENGE_TIMEOUT, QNG_SECONDS};
use crate::protocol::Command;
use crate::server::session::{Disconnect, Handled};
use std::time::Instant;

/// The service opened a browser on these; we have no web pages, so point at something harmless.
pub async fn url(s: &mut NsSession, cmd: &Command<'_>) -> Handled {
    let trid = cmd.trid.unwrap_or(0);
    if cmd.args.is_empty() {
        return Err(Disconnect::new("URL without a service"));
    }
    if s.dialect().url_site_id {
        s.reply(&format!("URL {trid} /unused http://messenger.msn.com 2"))
            .await
    } else {
        s.reply(&format!("URL {trid} /unused http://messenger.msn.com"))
            .await
    }
}

/// Invite-by-e-mail: acknowledged, nothing is sent.
pub async fn snd(s: &mut NsSession, cmd: &Command<'_>) -> Handled {
    s.reply(&format!("SND {} OK", cmd.trid.unwrap_or(0))).await
}

/// `FND trid fname=… lname=… city=… state=… country=…` (MSNP2-6; 7+ get 502 from the dialect
/// table). We keep no member directory, so every search finds nobody: `FND trid 0 0`, the
/// service's own "no users" answer (W fnd.md, N Commands/FND). First and last name may not be
/// the `*` wildcard (`201`, same sources).
pub async fn fnd(s: &mut NsSession, cmd: &Command<'_>) -> Handled {
    let trid = cmd.trid.unwrap_or(0);
    let field = |key: &str| {
        cmd.args
            .iter()
            .find_map(|a| a.strip_prefix(key)?.strip_prefix('='))
    };
    let named = |v: Option<&str>| v.is_some_and(|v| !v.is_empty() && v != "*");
    if !named(field("fname")) || !named(field("lname")) {
        return s.error(201, trid).await;
    }
    s.reply(&format!("FND {trid} 0 0")).await
}

pub async fn sdc(s: &mut NsSession, cmd: &Command<'_>) -> Handled {
    s.reply(&format!("SDC {} OK", cmd.trid.unwrap_or(0))).await
}

/// `IMS trid ON|OFF`: while OFF, invitations to this user fail with 217.
pub async fn ims(s: &mut NsSession, cmd: &Command<'_>) -> Handled {
    let trid = cmd.trid.unwrap_or(0);
    let off = match cmd.args.first().copied() {
        Some("ON") => false,
        Some("OFF") => true,
        _ => return s.error(201, trid).await,
    };
    if let Some(u) = s.user() {
        s.ns.directory.set_ims_off(u.id, off).await?;
    }
    s.reply(&format!("IMS {trid} 0 {}", if off { "OFF" } else { "ON" }))
        .await
}

pub async fn png(s: &mut NsSession) -> Handled {
    if s.dialect.is_some_and(|d| d.qng_seconds) {
        s.reply(&format!("QNG {QNG_SECONDS}")).await
    } else {
        s.reply("QNG").await
    }
}

pub async fn out(s: &mut NsSession) -> Handled {
    let _ = s.reply("OUT").await;
    Err(Disconnect::new("client signed out (OUT)"))
}

/// MSNP11+ `GCF trid Shields.xml`: the (empty) shield configuration.
pub async fn gcf(s: &mut NsSession, cmd: &Command<'_>) -> Handled {
    const SHIELDS: &str = "<?xml version=\"1.0\" encoding=\"utf-8\" ?><config><shield><cli maj=\"7\" min=\"0\" minbld=\"0\" maxbld=\"9999\" deny=\" \" /></shield><block></block></config>";
    let trid = cmd.trid.unwrap_or(0);
    let file = cmd.args.first().copied().unwrap_or("Shields.xml");
    s.reply_payload(
        &format!("GCF {trid} {file} {}", SHIELDS.len()),
        SHIELDS.as_bytes(),
    )
    .await
}

impl NsSession {
    pub(super) async fn send_challenge(&mut self) -> Handled {
        let c = auth::chl_challenge();
        self.reply(&format!("CHL 0 {c}")).await?;
        self.pending_challenge = Some(Box::new((c, Instant::now() + CHALLENGE_TIMEOUT)));
        self.next_challenge = self.ns.config.chl_interval.map(|i| Instant::now() + i);
        Ok(())
    }
}

/// `QRY trid product-id 32` + 32 hex digits answering the last CHL.
pub async fn qry(s: &mut NsSession, cmd: &Command<'_>) -> Handled {
    let trid = cmd.trid.unwrap_or(0);
    let Some(pending) = s.pending_challenge.take() else {
        s.error(540, trid).await?;
        return Err(Disconnect::new("QRY without an outstanding challenge"));
    };
    let (challenge, _) = *pending;
    let product = cmd.args.first().copied().unwrap_or("");
    let answer = std::str::from_utf8(cmd.payload).unwrap_or("");
    let msnp11 = s.dialect().challenge == Challenge::Msnp11;
    let ok = match auth::expected_qry(&challenge, product, msnp11) {
        Some(expected) => auth::digest_eq(answer, &expected),
        None => s.ns.config.allow_unknown_clients && answer.len() == 32,
    };
    if ok {
        s.reply(&format!("QRY {trid}")).await
    } else {
        s.error(540, trid).await?;
        Err(Disconnect::new(format!(
            "wrong challenge answer for client id {product}"
        )))
    }
}
