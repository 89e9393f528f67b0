//! The notification role's actor: who is online, what each of them has set (status, personal
//! message, invitations on/off) and the mirror of each online user's account.
//!
//! One task owns all of it; connection tasks, the storage thread and the switchboard role reach it
//! only through its bounded mailbox (`Directory`), so nothing here is behind a lock and every
//! change is applied in the order it was sent. Presence fan-out runs inside the actor: a status
//! change is one message, after which the actor formats each dialect's line once into a stack
//! buffer and copies it into every watcher's outbox (no allocation per watcher).
//!
//! Mailbox full (`limits::DIRECTORY_MAILBOX` messages queued): a connection task's `send` waits
//! for room, which stops it reading its client (backpressure on whoever floods); the storage
//! thread's `send_blocking` waits the same way, which is safe because the actor never waits for
//! storage or for any other actor. Two senders never wait and drop instead, with a log line: a
//! panicking session's last sign-out (`sign_out_now`, which cannot wait) and a notice from
//! another host (`deliver`: the bus must not stall on one host).
//!
//! Users signed in on other hosts are reached through the `Bus` (see `bus.rs` and
//! docs/scale-out.md): a notice for a user who is not here is handed to it.
//!
//! One job per file: `presence` (what the actor keeps per online user), `handle` (the request
//! API: `Directory` and its typed messages), `actor` (the task that owns the state and fans
//! out), `lines` (formatting NLN ILN FLN UBX BPR RNG and the reverse-list lines per dialect).
//! Account changes reach it as one typed `Committed` message from `ns/account.rs`. What crosses
//! to other hosts (`Notice`, `Ring`, `Seen`, `Callee`) is declared in `bus.rs`, which reads only
//! the presence model from here: no file imports back.

mod actor;
mod handle;
mod lines;
pub mod presence;

pub use crate::limits::PRESENCE_LINE;
pub use handle::{
    Applied, Committed, Directory, DirectoryGone, EndpointMessage, MirrorUpdate, Setup, Viewers,
};
pub use lines::push_initial;
pub use presence::{Listed, Member, Presence};
