//! Entering and leaving a switchboard: `USR` (open one with an `XFR SB` cookie), `ANS` (join the
//! one an `RNG` invited to) and `OUT`.

use super::messages::{Command as SbCommand, JoinOutcome};
use super::{Joined, SbApply, SbSession};
use crate::model::MachineGuid;
use crate::protocol::Command;
use crate::protocol::command::ClientCommand;
use crate::protocol::command::misc::Out;
use crate::protocol::command::switchboard::{Ans, SbUsr};
use crate::protocol::cursor::{ArgError, Cursor};
use crate::protocol::reply::switchboard::UsrOk;
use crate::server::session::{Disconnect, Handled};

impl<'a> SbApply<'a> for SbUsr<'a> {
    const JOINED: Option<bool> = Some(false);

    async fn apply(self, s: &mut SbSession, trid: u32) -> Handled {
        // Rare commands are boxed so the idle session's future stays small (see ns::handle).
        Box::pin(usr(s, trid, self)).await
    }
}

/// `email` or MSNP16+'s `email;{guid}` (the endpoint joining): the normalised handle and the
/// machine GUID. A `;` part that is not a GUID is ignored (the account still joins).
fn endpoint_of(sent: &str) -> (String, Option<MachineGuid>) {
    let (handle, guid) = match sent.split_once(';') {
        Some((h, g)) => (h, MachineGuid::parse(g)),
        None => (sent, None),
    };
    (handle.to_ascii_lowercase(), guid)
}

async fn usr(s: &mut SbSession, trid: u32, usr: SbUsr<'_>) -> Handled {
    let ((handle, endpoint), cookie) = (endpoint_of(usr.handle), usr.cookie);
    let outbox = s.conn.outbox.clone();
    let opened =
        s.sb.switchboards
            .open_at(cookie, &handle, outbox, (s.id, endpoint), s.conn.peer);
    let Some(opened) = opened.await else {
        s.error(911, trid).await?;
        return Err(Disconnect::new(format!(
            "bad switchboard cookie for {handle}"
        )));
    };
    let me = opened.admit;
    s.joined = Some(Joined {
        sb: opened.tx,
        handle: me.handle.clone(),
    });
    log::debug!("{}: opened switchboard {}", s.who(), opened.id);
    let ok = UsrOk {
        trid,
        handle: &me.handle,
        name: &me.name,
    };
    s.send(&ok).await
}

impl<'a> SbApply<'a> for Ans<'a> {
    const JOINED: Option<bool> = Some(false);

    /// A malformed session id fails as a wrong one does: the cookie is redeemed (burnt) with
    /// id 0, which matches nothing (ids start at 1), and the answer is `911`.
    async fn refused(s: &mut SbSession, trid: u32, e: ArgError, cmd: &Command<'_>) -> Handled {
        if let ArgError::Invalid { index: 2, .. } = e {
            let mut c = Cursor::new(Ans::VERB, cmd);
            if let (Ok(handle), Ok(cookie)) = (c.next(), c.next()) {
                return Box::pin(ans(s, trid, (handle, cookie, 0))).await;
            }
        }
        Err(Disconnect::new(format!("bad command: {e}")))
    }

    async fn apply(self, s: &mut SbSession, trid: u32) -> Handled {
        Box::pin(ans(s, trid, (self.handle, self.cookie, self.session))).await
    }
}

async fn ans(s: &mut SbSession, trid: u32, (handle, cookie, id): (&str, &str, u32)) -> Handled {
    let (handle, endpoint) = endpoint_of(handle);
    let sb = s.sb.switchboards.answer(cookie, &handle, id).await;
    let outcome = match &sb {
        Some(sb) => {
            let (reply, answer) = smol::channel::bounded(1);
            let join = SbCommand::Join {
                handle: handle.clone(),
                outbox: s.conn.outbox.clone(),
                conn: s.id,
                endpoint,
                trid,
                reply,
            };
            match sb.send(join).await {
                Ok(()) => answer.recv().await.unwrap_or(JoinOutcome::Refused(911)),
                Err(_) => JoinOutcome::Refused(911),
            }
        }
        None => JoinOutcome::Refused(911),
    };
    match (outcome, sb) {
        (JoinOutcome::Joined, Some(sb)) => {
            s.joined = Some(Joined { sb, handle });
            Ok(())
        }
        (JoinOutcome::Refused(713), _) => {
            s.error(713, trid).await?;
            Err(Disconnect::new("switchboard full or already joined"))
        }
        _ => {
            s.error(911, trid).await?;
            Err(Disconnect::new(format!(
                "bad switchboard answer from {handle}"
            )))
        }
    }
}

impl SbApply<'_> for Out {
    const JOINED: Option<bool> = None;

    async fn apply(self, _: &mut SbSession, _: u32) -> Handled {
        Err(Disconnect::new("left (OUT)"))
    }
}
