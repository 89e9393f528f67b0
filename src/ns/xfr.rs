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
    if user.state().presence.visible_status().is_none() {
        return s.error(913, trid).await;
    }
    let admit = super::ring::admit(&user);
    let cookie = match s.hub.switchboards.grant(admit).await {
        Ok(c) => c,
        Err(why) => {
            // 800: "changing too rapidly", the service's rate-limit answer to XFR (NS.md).
            log::info!("ns {}: XFR SB refused: {why:?}", s.conn.peer);
            return s.error(800, trid).await;
        }
    };
    let addr = s.hub.sb_address(&s.conn.local);
    s.reply(&format!("XFR {trid} SB {addr} CKI {cookie}")).await
}
