//! `XFR trid SB`: a cookie for a new switchboard session.

use super::NsSession;
use crate::protocol::Command;
use crate::server::session::{Disconnect, Handled};

pub async fn xfr(s: &mut NsSession, cmd: &Command<'_>) -> Handled {
    let trid = cmd.trid.unwrap_or(0);
    let Some(user) = s.user().cloned() else {
        return Ok(());
    };
    if cmd.args.first().copied() != Some("SB") {
        return Err(Disconnect::new(format!("XFR to {:?}", cmd.args.first())));
    }
    // Hidden, or no status set yet: not allowed while offline.
    let visible =
        s.ns.directory
            .presence(user.id)
            .await?
            .is_some_and(|p| p.visible_status().is_some());
    if !visible {
        return s.error(913, trid).await;
    }
    let Some(me) = s.ns.directory.callee(user.id).await? else {
        return Err(Disconnect::by_server("signed out by a newer login"));
    };
    let admit = super::ring::admit(me);
    let cookie = match s.ns.switchboards().grant(admit).await {
        Ok(c) => c,
        Err(why) => {
            // 800: "changing too rapidly", the service's rate-limit answer to XFR (NS.md).
            log::info!("ns {}: XFR SB refused: {why:?}", s.conn.peer);
            return s.error(800, trid).await;
        }
    };
    let addr = s.ns.sb_address(&s.conn.local);
    s.reply(&format!("XFR {trid} SB {addr} CKI {cookie}")).await
}
