//! `XFR trid SB`: a cookie for a new switchboard session.

use super::{Apply, NsSession};
use crate::protocol::command::xfr::Xfr;
use crate::protocol::reply::misc::XfrSb;
use crate::server::session::{Disconnect, Handled};

impl Apply<'_> for Xfr {
    async fn apply(self, s: &mut NsSession, trid: u32) -> Handled {
        let Some(user) = s.user().cloned() else {
            return Ok(());
        };
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
        let admit = me;
        let cookie = match s.ns.switchboards().grant(admit).await {
            Ok(c) => c,
            Err(why) => {
                // 800: "changing too rapidly", the service's rate-limit answer to XFR (NS.md).
                if crate::server::loglimit::allow("XFR SB refused", s.conn.peer) {
                    log::info!("ns {}: XFR SB refused: {why:?}", s.conn.peer);
                }
                return s.error(800, trid).await;
            }
        };
        let addr = s.ns.sb_address(&s.conn.local);
        let xfr = XfrSb {
            trid,
            addr: &addr,
            cookie: &cookie,
        };
        s.send(&xfr).await
    }
}
