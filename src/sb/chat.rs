//! Talking in a joined switchboard: `CAL` (invite someone) and `MSG` (relay). Both go to the
//! switchboard actor, which writes the replies in command order (`switchboard.rs`).

use super::messages::Command as SbCommand;
use super::{SbApply, SbSession};
use crate::protocol::command::switchboard::{Cal, Msg};
use crate::server::pool;
use crate::server::session::{Disconnect, Handled};

impl<'a> SbApply<'a> for Cal<'a> {
    const JOINED: Option<bool> = Some(true);

    async fn apply(self, s: &mut SbSession, trid: u32) -> Handled {
        let call = SbCommand::Call {
            conn: s.id,
            trid,
            handle: self.handle.to_owned(),
        };
        // Boxed, as the rare commands are (see ns::handle).
        Box::pin(s.pass_on(call)).await
    }
}

impl<'a> SbApply<'a> for Msg<'a> {
    const JOINED: Option<bool> = Some(true);

    /// The relay path: no allocation (the payload goes into a pooled buffer) and no box.
    async fn apply(self, s: &mut SbSession, trid: u32) -> Handled {
        let mut payload = pool::payload();
        // The parser refuses payloads longer than MAX_SB_PAYLOAD, the buffer's capacity.
        if payload.extend_from_slice(self.payload).is_err() {
            pool::give_payload(payload);
            return Err(Disconnect::new("MSG payload too long"));
        }
        let relay = SbCommand::Relay {
            conn: s.id,
            trid,
            ack: self.ack,
            payload,
        };
        s.pass_on(relay).await
    }
}
