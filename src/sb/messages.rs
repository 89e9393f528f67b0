//! The messages the switchboard role's actors exchange: the registry's (`Request`) and a
//! switchboard's (`Command`), with their answers. In a file of their own so that the registry
//! (which creates switchboards) and a switchboard (which asks the registry for cookies) both
//! import them and neither imports the other's file back (issue 18, item 5).

use super::port::Admit;
use crate::model::{MachineGuid, UserId};
use crate::server::mailbox::Sender;
use crate::server::outbox::Outbox;
use crate::server::pool::Payload;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

/// Where an actor sends the answer to a request.
pub(super) type Reply<T> = smol::channel::Sender<T>;

/// Why a cookie was not issued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GrantRefused {
    /// The user holds `MAX_COOKIES_PER_USER` unused `XFR SB` cookies.
    UserCap,
    /// The caller's `CAL`s caused `MAX_RING_COOKIES_PER_USER` unanswered `RNG` cookies.
    RingCap,
    /// `MAX_COOKIES` unused cookies exist.
    Full,
    /// The registry is gone (the server is shutting down).
    Gone,
}

/// A switchboard just created by `USR`: its id, its mailbox, and who the creator is.
pub struct Opened {
    /// The new switchboard's session id, for the log.
    pub id: u32,
    /// The new switchboard actor's mailbox, where the session sends every later command.
    pub tx: SbTx,
    /// The creator's identity from the cookie, for the `USR ... OK` reply.
    pub admit: Admit,
}

/// The registry's mailbox messages.
pub(super) enum Request {
    Grant {
        admit: Admit,
        ttl: Duration,
        reply: Reply<Result<String, GrantRefused>>,
    },
    /// `USR`: redeem an `XFR SB` cookie and create a switchboard with its holder in it.
    Open {
        cookie: String,
        handle: String,
        outbox: Arc<Outbox>,
        conn: u64,
        /// The opener's machine GUID, when its `USR` named one (`email;{guid}`, MSNP16+).
        endpoint: Option<MachineGuid>,
        /// The opener's address, for the limit on the switchboard's log lines.
        peer: SocketAddr,
        reply: Reply<Option<Opened>>,
    },
    /// `ANS`: redeem an `RNG` cookie for switchboard `sb`; answers with its mailbox.
    Answer {
        cookie: String,
        handle: String,
        sb: u32,
        reply: Reply<Option<SbTx>>,
    },
    /// A switchboard's `CAL` by `caller`: a cookie for `handle` to join `sb`, counted against
    /// the caller.
    Invite {
        caller: UserId,
        handle: String,
        sb: u32,
        reply: Reply<Result<String, GrantRefused>>,
    },
    /// The ring that cookie was for was refused.
    Revoke {
        cookie: String,
    },
    /// Switchboard `id` has ended (its last participant left).
    Closed {
        id: u32,
    },
    /// `user` is now in switchboard `sb` (joined, or rung and not yet answered), or no longer
    /// (`present: false`): the registry's index of who is where, so that a rename or sign-out
    /// reaches only that user's switchboards.
    Member {
        sb: u32,
        user: UserId,
        present: bool,
    },
    /// `user`'s notification session ended; `handle` names the cookies to burn.
    SignOut {
        user: UserId,
        handle: String,
    },
    Rename {
        user: UserId,
        name: String,
    },
    Expire,
}

/// A switchboard actor's mailbox.
pub type SbTx = Sender<Command>;

/// The acknowledgement a `MSG` asks for: the protocol's own type.
pub use crate::protocol::command::switchboard::Ack;

/// How an `ANS` went.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JoinOutcome {
    /// In; `IRO`s and `ANS OK` are queued.
    Joined,
    /// Not in: send this error code and disconnect.
    Refused(u16),
}

/// A switchboard actor's mailbox messages. `conn` names the participant's connection.
pub enum Command {
    /// `MSG trid ack len` with its payload.
    Relay {
        /// The sender's connection.
        conn: u64,
        /// Echoed in the `ACK`/`NAK`.
        trid: u32,
        /// Which acknowledgement the sender asked for.
        ack: Ack,
        /// The message body in a pooled buffer; the actor gives it back after the fan-out.
        payload: Payload,
    },
    /// `CAL trid handle` (as sent).
    Call {
        /// The caller's connection, which gets the `CAL` reply or error.
        conn: u64,
        /// Echoed in the reply.
        trid: u32,
        /// The handle to invite, unnormalised: the actor checks it (`208` if malformed).
        handle: String,
    },
    /// `ANS trid handle cookie sessid`, its cookie already redeemed with the registry.
    Join {
        /// The invitee's normalised handle, matched against the recorded invitation.
        handle: String,
        /// The invitee's outbox, where the actor writes `IRO`s, `ANS OK` and later relays.
        outbox: Arc<Outbox>,
        /// The invitee's connection, naming them in later commands.
        conn: u64,
        /// The invitee's machine GUID, when its `ANS` named one (`email;{guid}`, MSNP16+).
        endpoint: Option<MachineGuid>,
        /// Echoed in `IRO` and `ANS OK`.
        trid: u32,
        /// Where the outcome goes, so the session knows whether to stay.
        reply: Reply<JoinOutcome>,
    },
    /// The connection ended; `forced` when the server removed it (`BYE handle 1`).
    Leave {
        /// The connection that ended.
        conn: u64,
        /// Whether the server ended it, which changes the `BYE` the others see.
        forced: bool,
    },
    /// The user's notification session ended: their connections here close and their
    /// invitations are voided, so a replaced login cannot linger in a switchboard.
    SignOut {
        /// Whose session ended.
        user: UserId,
    },
    /// The user changed their friendly name: later lines from them carry the new one.
    Rename {
        /// Who renamed.
        user: UserId,
        /// The new name, URL-encoded as it goes on the wire.
        name: String,
    },
}
