//! What the switchboard role needs from the notification role, as types the switchboard owns.
//!
//! The switchboard never reads the notification server's directory: whoever lets a user in says
//! who they are (`Admit`), and inviting someone (`CAL`) goes through the `Ringer` port, which
//! the notification role implements and `node` wires at start.

use crate::dialect::Dialect;
use crate::model::UserId;
use std::future::Future;
use std::pin::Pin;

/// A user's identity as a switchboard shows it, filled in by whoever grants them entry (the
/// notification session on `XFR SB`, the `Ringer` on `CAL`).
#[derive(Clone, Debug)]
pub struct Admit {
    /// The account's id: what the switchboard matches on when the user signs out or renames.
    pub user: UserId,
    /// Normalised handle, as written in USR/JOI/IRO lines and matched against cookies.
    pub handle: String,
    /// URL-encoded friendly name, ready to copy into MSG/JOI/IRO lines.
    pub name: String,
    /// Client capabilities (MSNP9+ `CHG`), shown in JOI/IRO to MSNP12 peers.
    pub caps: u32,
    /// The protocol dialect of the user's notification session: their switchboard lines follow it.
    pub dialect: &'static Dialect,
}

/// A switchboard asks for `target` to be rung (`RNG`) into session `sb` with `cookie`, which the
/// registry already issued, bound to `target`'s handle.
#[derive(Clone, Debug)]
pub struct Ring {
    /// The inviting user's id, so the notification role can check the target's lists against it.
    pub caller: UserId,
    /// The inviting user's handle, as the `RNG` line shows it.
    pub caller_handle: String,
    /// The caller's URL-encoded friendly name.
    pub caller_name: String,
    /// Normalised handle of the user to ring.
    pub target: String,
    /// The switchboard's session id, which the target echoes in `ANS`.
    pub sb: u32,
    /// The single-use cookie the registry issued for the target; the `RNG` line carries it.
    pub cookie: String,
}

/// The target cannot be rung: offline, invisible to the caller, blocking them, not accepting
/// IMs, or their connection is going away. All look the same to the caller (`217`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RingRefused;

/// The future a `Ringer` answers with.
pub type RingReply = Pin<Box<dyn Future<Output = Result<Admit, RingRefused>> + Send>>;

/// Rings a user on the notification server. Implemented by the notification role (`ns::ring`);
/// the switchboard actor awaits the answer before it handles its next command, so an `ANS`
/// for this ring always finds the invitation recorded. Must not wait on a switchboard.
pub trait Ringer: Send + Sync {
    /// Sends `RNG` to the target's notification connection and answers with who they are (so
    /// the switchboard can admit them on `ANS`), or refuses.
    fn ring(&self, ring: Ring) -> RingReply;
}
