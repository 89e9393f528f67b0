//! Every resource limit of the server, in one place.
//!
//! Memory per connection is known in advance: a connection owns no buffer while it is idle, borrows one
//! read buffer from a pool while a command is in flight, and its outbound queue holds at most
//! `OUTBOX_CHUNKS` chunks of `OUTBOX_CHUNK` bytes. A client that exceeds a limit is disconnected.

use std::time::Duration;

/// Longest command line (without payload) accepted from a client, CRLF included.
pub const MAX_LINE: usize = 2048;
/// Most space-separated arguments one command may carry (the longest real one, SDC, has 9).
pub const MAX_ARGS: usize = 12;
/// Largest payload of a client command on the notification server (UUX, QRY, SDC, PAG, PGD).
pub const MAX_NS_PAYLOAD: usize = 2048;
/// Largest MSG payload on the switchboard: the official limit; longer ones close the connection.
pub const MAX_SB_PAYLOAD: usize = 1664;
/// Size of a pooled read buffer: one full line plus the largest payload, with room to batch reads.
pub const READ_BUF: usize = 8192;
/// Size of one outbound chunk. A frame never spans two chunks, so a frame must fit in one.
pub const OUTBOX_CHUNK: usize = 16 * 1024;
/// Chunks one connection may have queued: 256 KiB. Past that the client is too slow and is cut.
pub const OUTBOX_CHUNKS: usize = 16;
/// Read buffers and outbound chunks kept for reuse; more are freed when returned.
pub const POOL_KEEP: usize = 64;
/// ... and kept once no connection has opened for a housekeeping tick (up to 24 KiB each).
pub const POOL_IDLE_KEEP: usize = 8;

/// Friendly names: the limit is on the URL-encoded form (each %XX counts three bytes).
pub const MAX_FRIENDLY_ENCODED: usize = 387;
/// Handles (e-mail addresses).
pub const MAX_HANDLE: usize = 129;
/// Group names on ADG (encoded), and on REG.
pub const MAX_GROUP_NAME_ADG: usize = 61;
pub const MAX_GROUP_NAME_REG: usize = 127;
/// Groups per user, numeric ids 0..MAX_GROUPS.
pub const MAX_GROUPS: u8 = 30;
/// Entries on FL, AL or BL (RL is unlimited).
pub const MAX_LIST_ENTRIES: usize = 600;
/// Phone numbers and other PRP values (encoded).
pub const MAX_PRP_VALUE: usize = 95;
/// Participants in one switchboard session.
pub const MAX_SB_PARTICIPANTS: usize = 20;

/// A client must send its first command within this time.
pub const FIRST_COMMAND_TIMEOUT: Duration = Duration::from_secs(30);
/// ... and be logged in (NS) or joined (SB) within this time.
pub const LOGIN_TIMEOUT: Duration = Duration::from_secs(60);
/// A socket that accepts no data for this long while we have data queued is dropped.
pub const WRITE_STALL_TIMEOUT: Duration = Duration::from_secs(30);
/// Notification connections silent for longer are dropped (clients ping every 50-60 s).
pub const NS_IDLE_TIMEOUT: Duration = Duration::from_secs(300);
/// Switchboard connections that send nothing for this long are removed (others get `BYE handle 1`).
pub const SB_IDLE_TIMEOUT: Duration = Duration::from_secs(600);
/// Seconds announced in `QNG n` (MSNP9+).
pub const QNG_SECONDS: u32 = 60;
/// Lifetime of a switchboard cookie from XFR SB or RNG.
pub const COOKIE_TTL: Duration = Duration::from_secs(120);
/// How long a DS redirect is remembered so that the client's second connection is served as NS.
pub const REDIRECT_TTL: Duration = Duration::from_secs(60);
/// How long a client has to answer `CHL` with `QRY`.
pub const CHALLENGE_TIMEOUT: Duration = Duration::from_secs(50);
/// Default interval between challenges (MSNP6+); `--chl-interval` overrides it.
pub const CHALLENGE_INTERVAL: Duration = Duration::from_secs(600);
/// Password hashes (Argon2, several MiB each) computed at the same time; more logins wait.
pub const HASH_CONCURRENCY: usize = 2;
/// Open client connections, all listeners together, and from one client address. A LAN party has
/// one address per PC; many users behind one NAT share one, hence the generous default.
pub const MAX_CONNECTIONS: usize = 20_000;
pub const MAX_CONNECTIONS_PER_IP: usize = 256;
/// Failed logins for one account from one address before that pair is refused for
/// `AUTH_BACKOFF`; four times as many from one address for any accounts block the address.
/// The block is per address, so an attacker cannot lock a real user out from elsewhere.
pub const AUTH_FAILURES: u32 = 5;
pub const AUTH_BACKOFF: Duration = Duration::from_secs(60);
/// Pending requests to the storage thread; senders wait when it is full.
pub const STORAGE_QUEUE: usize = 1024;

/// A TLS client must finish its handshake within this time.
pub const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// TLS sessions remembered for resumption (about 1 KiB each); old Windows resumes often.
pub const TLS_SESSION_CACHE: usize = 256;
