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
/// Size of a notification session's pooled read buffer: one full line plus the largest payload
/// (an `ADL` of `MAX_ML_PAYLOAD`, MSNP13+). Idle sessions hold none (`pool.rs`); a session holds
/// one while a command is incomplete or being handled, so a burst of 1,000 logins waiting for
/// their password checks holds 1,000 of them: this one stays at what a command needs.
pub const READ_BUF: usize = MAX_LINE + MAX_ML_PAYLOAD;
/// Size of a switchboard session's pooled read buffer: larger, so that one read takes a whole
/// burst of full-size messages. At 10 KiB a busy sender's 8 queued 1,664-byte MSGs took two
/// reads, each re-arming the reactor; 16 KiB cut the server's CPU per relayed 1,664-byte message
/// by a quarter at full load (bench/analysis.md, "Fourth round"). A switchboard command is
/// handled without waiting on storage or a password check, so few are held at once.
pub const SB_READ_BUF: usize = 16 * 1024;
const _: () = assert!(SB_READ_BUF >= MAX_LINE + MAX_SB_PAYLOAD);
/// Size of one outbound chunk. A frame never spans two chunks, so a frame must fit in one.
pub const OUTBOX_CHUNK: usize = 16 * 1024;
/// Chunks one connection may have queued: 256 KiB. Past that the client is too slow and is cut.
pub const OUTBOX_CHUNKS: usize = 16;
/// Read buffers kept for reuse; more are freed when returned.
pub const POOL_KEEP: usize = 64;
/// Outbound chunks kept for reuse while they are being used (4 MiB at most): a presence change of
/// a user with 200 watchers queues one chunk per watcher at once. Spares that stay unused for a
/// housekeeping tick are freed down to `POOL_IDLE_KEEP` (`pool::release_spares`).
pub const POOL_KEEP_CHUNKS: usize = 256;
/// Spares of each kind always kept when the housekeeping tick frees those that stayed unused
/// since the last tick: 8 read buffers and 8 chunks, 192 KiB.
pub const POOL_IDLE_KEEP: usize = 8;

/// Friendly names: the limit is on the URL-encoded form (each %XX counts three bytes).
pub const MAX_FRIENDLY_ENCODED: usize = 387;
/// Handles (e-mail addresses).
pub const MAX_HANDLE: usize = 129;
/// Longest domain label of a new handle (RFC 1035 2.3.4).
pub const MAX_DOMAIN_LABEL: usize = 63;
/// Group names on ADG (encoded), and on REG.
pub const MAX_GROUP_NAME_ADG: usize = 61;
/// ... and on REG, where the official server allowed more (NS.md, groups).
pub const MAX_GROUP_NAME_REG: usize = 127;
/// Groups per user, numeric ids 0..MAX_GROUPS.
pub const MAX_GROUPS: u8 = 30;
/// Entries on FL, AL or BL (RL is unlimited).
pub const MAX_LIST_ENTRIES: usize = 600;
/// Phone numbers and other PRP values (encoded).
pub const MAX_PRP_VALUE: usize = 95;
/// Participants in one switchboard session.
pub const MAX_SB_PARTICIPANTS: usize = 20;
/// Commands waiting in one switchboard actor's mailbox (MSG, CAL, joins, leaves). 32 MSGs are
/// about half of what one 8 KiB read of small messages holds, so a burst is handed over in a few
/// wake-ups, and in-flight payload buffers stay within the pool's spares (`POOL_KEEP`): at most
/// 32 x `MAX_SB_PAYLOAD` (53 KiB) per switchboard. When it is full, a sender's connection waits for
/// room, which means it stops reading its socket until the actor has caught up (TCP pushes back).
pub const SB_MAILBOX: usize = 32;
/// Requests waiting in the switchboard registry's mailbox (cookies, USR/ANS look-ups, sign-outs).
/// All are rare next to MSG and each takes microseconds; 256 (about 25 KiB, allocated once)
/// absorbs a burst of sign-outs. Connection tasks wait for room when it is full; the notification
/// role's fire-and-forget notices (`sign_out`, `rename`) are then handed to a small task that waits
/// for room, so the NS never blocks and nothing is lost.
pub const SB_REGISTRY_MAILBOX: usize = 256;

/// Pause after a failed `accept` (out of file descriptors and similar) before the next, so that
/// a listener does not spin a core while the condition lasts.
pub const ACCEPT_ERROR_PAUSE: Duration = Duration::from_millis(100);

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
/// Presence announcements (CHG, UUX, own name) a session may make at once, then one per interval;
/// faster changes are merged and the latest state goes out when the next one is due.
pub const PRESENCE_BURST: u8 = 8;
/// ... and the interval between announcements once the burst is spent.
pub const PRESENCE_INTERVAL: Duration = Duration::from_millis(500);
/// Contacts a paced user may have reverse-list notices held back for (issue 21 item 3): what
/// one user can touch with ADD/REM FL is bounded by the FL size; past this the notice is
/// dropped and the contact's next SYN (their serial moved) shows the change.
pub const PACED_REVERSE_NOTICES: usize = MAX_LIST_ENTRIES;
/// Lifetime of a switchboard cookie from XFR SB or RNG.
pub const COOKIE_TTL: Duration = Duration::from_secs(120);
/// Unused `XFR SB` cookies one user may hold (a real client asks for one per conversation it
/// opens), and unused cookies of all kinds together; past either, `XFR SB` gets `800`.
pub const MAX_COOKIES_PER_USER: u32 = 32;
/// ... and unused cookies of all users together, so that many accounts cannot fill memory either.
pub const MAX_COOKIES: usize = 100_000;
/// Unused `RNG` cookies one caller may have caused (issue 21 item 1). Ringing costs the callee
/// nothing, so ring cookies count against whoever sent the `CAL`: otherwise two accounts (one
/// calling from many switchboards, the other logging in again to void the invitations) fill
/// `MAX_COOKIES` in seconds and every `XFR SB` and `CAL` on the server fails. A client rings at
/// most `MAX_SB_PARTICIPANTS - 1` people into one conversation and each ring lives `COOKIE_TTL`
/// unless answered, so 64 covers three full group chats started within two minutes.
pub const MAX_RING_COOKIES_PER_USER: u32 = 64;
/// DS redirects remembered per client address (an IPv6 /64): a client follows its redirect
/// within a second, so even a large NAT has few pending at once; past it the address's new
/// redirects are not remembered (its clients are redirected once more) instead of pushing other
/// addresses' out of `MAX_REDIRECTS`.
pub const MAX_REDIRECTS_PER_ADDRESS: usize = 256;
/// How long a DS redirect is remembered so that the client's second connection is served as NS.
pub const REDIRECT_TTL: Duration = Duration::from_secs(60);
/// How long a client has to answer `CHL` with `QRY`.
pub const CHALLENGE_TIMEOUT: Duration = Duration::from_secs(50);
/// Default interval between challenges (MSNP6+); `--chl-interval` overrides it.
pub const CHALLENGE_INTERVAL: Duration = Duration::from_secs(600);
/// Password hashes (Argon2, `ARGON2_MEMORY_KIB` each) computed at the same time; more logins wait.
pub const HASH_CONCURRENCY: usize = 2;
/// Argon2id memory per hash: 8 MiB, enough to make GPU cracking of a stolen database costly;
/// with `HASH_CONCURRENCY` at most 16 MiB of the server's memory is hashing at any time.
pub const ARGON2_MEMORY_KIB: u32 = 8 * 1024;
/// Argon2id passes over that memory: 3, which with 8 MiB costs about 13 ms per check on the
/// benchmark machine's core (BENCHMARKS.md, `local_hash_ms`).
pub const ARGON2_PASSES: u32 = 3;
/// Argon2id lanes: 1, since a hash runs on one thread and parallel logins already use the cores.
pub const ARGON2_LANES: u32 = 1;
/// Open client connections, all listeners together, and from one client address. A LAN party has
/// one address per PC; many users behind one NAT share one, hence the generous default.
pub const MAX_CONNECTIONS: usize = 20_000;
/// ... and from one client address (`--max-per-ip`).
pub const MAX_CONNECTIONS_PER_IP: usize = 256;
/// HTTP connections (Passport logins, nexus, MsgrConfig), counted apart from the NS/SB ones so that
/// a flood of HTTP sockets cannot use up the admission that MSNP logins need.
pub const MAX_HTTP_CONNECTIONS: usize = 1024;
/// ... and from one client address: a client opens two or three at once.
pub const MAX_HTTP_CONNECTIONS_PER_IP: usize = 32;
/// Per-address connection counters (`server::admission`), for each of the two kinds (NS/SB and
/// HTTP): 16 KiB each, whatever the number of addresses. Addresses share a counter when their
/// keyed hashes meet (about one in five of 1,000 addresses shares with another; the module doc
/// has the figures).
pub const ADMISSION_BUCKETS: usize = 4096;
/// An HTTP request, head and body, must arrive whole this long after its first byte: one byte
/// every few seconds no longer holds a socket (the idle timer restarts on every byte). Dividing
/// the largest request (24 KiB) by it gives the minimum average rate, 2.4 KB/s.
pub const HTTP_REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Bytes read from an HTTP connection per read call; the request is gathered in a buffer capped
/// by `HTTP_MAX_HEAD + HTTP_MAX_BODY`. Most requests (nexus, `login2.srf`) fit in one read.
pub const HTTP_READ_CHUNK: usize = 2048;
/// The lifetime the `RST.srf` answer states for the tokens it carries. Stated only: the client
/// sends the ticket inside with `USR TWN S` at once, and the server redeems it within
/// `TICKET_TTL`. One day is what such answers carried.
pub const RST_STATED_LIFETIME: Duration = Duration::from_secs(86_400);
/// How long a Passport ticket from `login2.srf`/`RST.srf` can be redeemed with `USR TWN S`: the
/// client does so within a second, so five minutes only covers a very slow machine.
pub const TICKET_TTL: Duration = Duration::from_secs(300);
/// Unredeemed tickets above which issuing one first sweeps out the expired ones (the
/// housekeeping tick sweeps too); bounded by `TICKET_TTL` times the login rate.
pub const TICKET_SWEEP_AT: usize = 10_000;
/// Largest HTTP request head (request line and headers). A Passport 1.4 `Authorization` header
/// with a long handle and password is well under 1 KiB; 8 KiB is what common servers allow.
pub const HTTP_MAX_HEAD: usize = 8 * 1024;
/// Largest HTTP request body: an RST SOAP request (MSN 7.5) is about 3 KiB, the registration
/// form far less; anything larger is not a client of ours.
pub const HTTP_MAX_BODY: usize = 16 * 1024;
/// Most headers in one HTTP request (httparse parses into a fixed array of this size); real
/// clients send about ten.
pub const HTTP_MAX_HEADERS: usize = 32;
/// A keep-alive HTTP connection with no complete request for this long is closed: a client
/// fetches nexus, login and config within a second or two, so an idle socket is just held.
pub const HTTP_KEEPALIVE_IDLE: Duration = Duration::from_secs(15);
/// Requests served on one HTTP connection before it is closed, so that one connection cannot
/// keep a handler busy forever; a login needs three or four.
pub const HTTP_MAX_REQUESTS: usize = 32;
/// Failed logins for one account from one address before that pair is refused for
/// `AUTH_BACKOFF`; four times as many from one address for any accounts block the address.
/// The block is per address, so an attacker cannot lock a real user out from elsewhere.
pub const AUTH_FAILURES: u32 = 5;
/// How long a blocked pair or address stays refused (`--auth-backoff`).
pub const AUTH_BACKOFF: Duration = Duration::from_secs(60);
/// Password checks (HTTP logins) in flight at once for one account, from all addresses, and from
/// one address for any accounts; more are refused at once, without hashing.
pub const LOGIN_CHECKS_PER_ACCOUNT: u32 = 2;
/// ... and from one address for any accounts.
pub const LOGIN_CHECKS_PER_ADDRESS: u32 = 4;
/// (address, account) login counters kept before the expired ones are swept out.
pub const AUTH_TRACKED_PAIRS: usize = 100_000;
/// Password checks in flight at once from all addresses; more are refused at once like a check
/// crowded out by other addresses' (no failure counted). The same as `MAX_HTTP_CONNECTIONS`, so
/// over plain HTTP the socket cap binds first; only HTTPS logins (counted with the NS/SB
/// sockets) can reach it. Only `HASH_CONCURRENCY` hash at a time, so 1,024 waiting are seven
/// seconds of hashing on the benchmark machine (13 ms each) and far more on a small board. It
/// also bounds the logins actor's channel for ended checks, which is why that channel can never
/// be full (see `server::logins`).
pub const LOGIN_CHECKS_IN_FLIGHT: usize = 1024;
/// Messages queued for the logins actor (throttle counters and Tweener tickets). Each is one or
/// two hash-map operations (about a microsecond), so a full mailbox is a millisecond of work;
/// an MSNP login sends three or four and an HTTP login two, so 1,024 covers a burst of a few
/// hundred logins arriving at once. Full: the login that sends waits for room (it stops reading
/// its client; nothing is refused or lost), as the actor never waits for anyone. Only the
/// periodic ticket sweep is skipped instead, and done at the next tick.
pub const LOGINS_MAILBOX: usize = 1024;
/// Pending requests to the storage thread; senders wait when it is full.
pub const STORAGE_QUEUE: usize = 1024;
/// Messages queued for the notification directory actor. Each is handled in microseconds
/// (a presence fan-out to 200 watchers is the longest, ~1 ms), so 1,024 is a second's worth of
/// a login burst; a full mailbox makes the sending session wait, which stops it reading its
/// client, and makes the storage thread wait (the actor never waits for storage, so this cannot
/// deadlock).
pub const DIRECTORY_MAILBOX: usize = 1024;
/// Messages queued for the dispatch (redirect) actor. Full: the redirect is answered without
/// being remembered, so the client's second `USR I` is redirected again (it retries; nothing is
/// lost) instead of any session waiting on dispatch.
pub const DISPATCH_MAILBOX: usize = 256;
/// DS redirects remembered and not yet followed; the oldest is forgotten first when more arrive
/// (a client that loses its redirect is redirected once more).
pub const MAX_REDIRECTS: usize = 20_000;
/// How long a write waits for SQLite's lock when another process (`msnpd user add` while the
/// server runs) holds it; both sides' transactions are short, so 5 s only passes if one hangs.
pub const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// Prepared statements kept compiled (`prepare_cached`): the hot paths (login, list changes) use
/// about a dozen, so 64 never evicts one.
pub const SQLITE_STATEMENT_CACHE: usize = 64;
/// SQLite page cache, in KiB. The default grows to 2 MiB, most of it copies of pages the kernel
/// caches anyway; logins read a few pages each, and a miss costs one pread of a page the OS
/// already holds. 256 KiB keeps the B-tree interiors hot.
pub const SQLITE_CACHE_KIB: i64 = 256;

/// Passwords, in bytes (the form, `msnpd user`; old clients cut theirs at 16 characters).
pub const MAX_PASSWORD: usize = 128;
/// Shortest password the registration form accepts.
pub const MIN_WEB_PASSWORD: usize = 6;
/// Accounts one client address may create through the registration form per `REGISTER_WINDOW`,
/// and form submissions it may make (failed ones included) in the same window.
pub const REGISTRATIONS_PER_WINDOW: u32 = 5;
/// ... and form submissions (failed ones included) per address in the same window.
pub const REGISTER_ATTEMPTS_PER_WINDOW: u32 = 30;
/// The window of the two counts above.
pub const REGISTER_WINDOW: Duration = Duration::from_secs(3600);
/// Client addresses the registration rate limit remembers; when full, new addresses are refused
/// until old windows end.
pub const REGISTER_TRACKED_ADDRESSES: usize = 4096;
/// The wait, in seconds, the form names to an address refused because that table is full: old
/// windows end continually, so a minute is usually enough.
pub const REGISTER_FULL_RETRY_SECS: u64 = 60;
/// How long a registration form (its CSRF token) stays valid, and how many used tokens are
/// remembered so that none is accepted twice.
pub const REGISTER_TOKEN_TTL: Duration = Duration::from_secs(3600);
/// ... and how many submitted tokens are remembered (past that, forms get "busy").
pub const REGISTER_SPENT_TOKENS: usize = 8192;
/// Characters of the form's invitation code and e-mail fields that are read (and shown again
/// when the form is refused); longer input is cut, and a cut address is still refused as too long.
pub const MAX_INVITE_CODE: usize = 64;
/// ... and of the e-mail field (longer than `MAX_HANDLE`, so that a too-long address is
/// reported as such).
pub const MAX_FORM_HANDLE: usize = 200;
/// Online users listed by name on the page at `/` (with `--public-presence`).
pub const PAGE_MAX_NAMES: usize = 200;
/// HTTP gateway (`gateway.dll`) sessions at most, in total and from one client address. Each is
/// one notification or switchboard connection and also counts against the connection caps above.
pub const MAX_GATEWAY_SESSIONS: usize = 2048;
/// ... and from one client address (an IPv6 /64).
pub const MAX_GATEWAY_SESSIONS_PER_IP: usize = 128;
/// Gateway sessions that have not signed in yet (no `USR ... OK`, `IRO` or `ANS ... OK` came
/// back), in total and from one address: capped apart, so that a few addresses opening sessions
/// and never logging in cannot take the room signed-in users need (16 addresses x 128 used to
/// refuse everyone). Such a session lives at most the login timeout. 16 per address lets a NAT
/// of users sign in at once; 512 in all takes 32 addresses (/64s) to fill.
pub const MAX_GATEWAY_UNAUTHENTICATED: usize = 512;
/// ... and from one client address (an IPv6 /64).
pub const MAX_GATEWAY_UNAUTHENTICATED_PER_IP: usize = 16;
/// A gateway session without any request for this long is closed (Escargot uses 60 s; clients
/// poll about every 2 s). `--gateway-idle-timeout` overrides it.
pub const GATEWAY_IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a gateway request that carried commands waits for the first reply bytes before it is
/// answered with whatever is there (possibly nothing; the next poll brings the rest).
pub const GATEWAY_REPLY_WAIT: Duration = Duration::from_millis(100);
/// Most bytes returned in one gateway response; the rest waits for the next poll.
pub const GATEWAY_MAX_RESPONSE: usize = 4 * OUTBOX_CHUNK;
/// Kernel buffer of each end of a gateway session's pipe. Kept small so that what a gateway
/// client has not fetched stays in the session's bounded outbox (where the usual caps and the
/// stall timeout apply) instead of in socket buffers the kernel would grow to megabytes.
pub const GATEWAY_PIPE_BUFFER: usize = 8 * 1024;
/// LAN name service (`--dns-listen`): forwards to the upstream resolvers in flight at once; a
/// query past the cap is answered SERVFAIL at once (the client retries).
pub const DNS_MAX_FORWARDS: usize = 128;
/// A forward gets this long over all upstreams, and each upstream this long before the next.
pub const DNS_FORWARD_TIMEOUT: Duration = Duration::from_secs(4);
/// ... and each upstream this long before the next is tried.
pub const DNS_UPSTREAM_TIMEOUT: Duration = Duration::from_secs(2);
/// Open DNS-over-TCP connections, and how long one may sit idle (or leave a reply unread).
pub const DNS_MAX_TCP_CONNECTIONS: usize = 32;
/// ... and how long one may sit idle (or leave a reply unread).
pub const DNS_TCP_IDLE_TIMEOUT: Duration = Duration::from_secs(10);
/// Largest DNS message accepted from a client (UDP or TCP) or from an upstream over UDP; larger
/// ones are dropped. Queries are far smaller; 4096 is the common EDNS buffer size.
pub const DNS_MAX_MESSAGE: usize = 4096;
/// Largest UDP reply to a client without EDNS (RFC 1035 4.2.1); a larger forwarded answer goes
/// back truncated (TC set, header and question only), so the service cannot amplify.
pub const DNS_UDP_PLAIN: usize = 512;
/// EDNS payload size announced in our replies: the DNS flag day 2020 value, small enough to
/// avoid IP fragmentation on any path.
pub const DNS_EDNS_PAYLOAD: u16 = 1232;
/// Pause after a failed UDP receive before the next one, so that a persistent error (no
/// buffers) does not spin a core; short, because UDP clients retry anyway.
pub const DNS_RECV_ERROR_PAUSE: Duration = Duration::from_millis(10);
/// Largest reply relayed from an upstream over TCP.
pub const DNS_MAX_TCP_REPLY: usize = 16 * 1024;
/// TTL of our A records: short, so that a PC that leaves the party soon asks its own DNS again.
pub const DNS_ANSWER_TTL: u32 = 60;
/// A TLS client must finish its handshake within this time.
pub const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// TLS sessions remembered for resumption (about 1 KiB each); old Windows resumes often.
pub const TLS_SESSION_CACHE: usize = 256;

/// How long `msnpd status` waits for the running server's `/status` answer (connect and read
/// each): the server is on this machine, so more than a few seconds means it is stuck.
pub const STATUS_QUERY_TIMEOUT: Duration = Duration::from_secs(3);
/// Longest host name `--public-host` accepts: 253 characters, the DNS limit (RFC 1035).
pub const MAX_HOST_NAME: usize = 253;
/// glibc: allocations from this size up get their own mmap and go back to the system when freed
/// (see `tune_allocator`); 128 KiB leaves read buffers and outbound chunks in the heap.
pub const MALLOC_MMAP_THRESHOLD: usize = 128 * 1024;
/// glibc: free memory at the top of the heap above this is returned to the system.
pub const MALLOC_TRIM_THRESHOLD: usize = 256 * 1024;

// Bounds that lived beside the code using them (issue 13: every limit here).

/// Pending connections the kernel queues per listener. The standard library uses 128, which makes
/// a burst of logins (a LAN party starting, a restart with everyone reconnecting) wait for SYN
/// retransmits, about a second each.
pub const LISTEN_BACKLOG: i32 = 1024;
/// Characters of a gateway session id; 24 of 62 letters and digits are 142 random bits.
pub const GATEWAY_SESSION_ID_LEN: usize = 24;
/// Longest `Host` the gateway accepts (a DNS name is at most 253, plus a port).
pub const GATEWAY_MAX_HOST: usize = 260;
/// How long writing a gateway request body into a session may wait for the session to read it.
pub const GATEWAY_BODY_WRITE_WAIT: Duration = Duration::from_secs(5);
/// Queued outbound chunks at which a relaying sender is held back (half the outbox), and at which
/// it may go on (a quarter): the gap keeps a sender from flapping at the edge.
pub const OUTBOX_HIGH_WATER: usize = OUTBOX_CHUNKS / 2;
/// See `OUTBOX_HIGH_WATER`.
pub const OUTBOX_LOW_WATER: usize = OUTBOX_CHUNKS / 4;
/// Consecutive refused CALs after which a participant's CALs get `713` without being tried: a
/// client cannot use a switchboard to probe who is online one handle at a time.
pub const MAX_FAILED_CALLS: u32 = 5;
/// Longest presence line the directory formats on the stack: handle, encoded name and an
/// MSNObject of up to a full command line.
pub const PRESENCE_LINE: usize = 4096;
/// Password checks waiting for room under the in-flight caps (`LOGIN_CHECKS_PER_*`), in all and
/// from one address (an IPv6 /64). A NAT full of users signing in at once queues instead of
/// being refused; 64 per address covers a school room, and the HTTP socket cap (32 per address)
/// binds first over plain HTTP. Past either bound a login is answered "busy", never "wrong
/// password".
pub const LOGIN_WAITING: usize = 1024;
/// ... and from one address.
pub const LOGIN_WAITING_PER_ADDRESS: usize = 64;
/// Longest a password check waits in that queue before it is answered "busy": clients give up
/// on login2.srf after about 30 s, and with `HASH_CONCURRENCY` 2 a full address queue is hashed
/// in well under this on a Pi.
pub const LOGIN_WAIT_LIMIT: Duration = Duration::from_secs(20);
/// Log lines a client can cause at will (a refused `XFR SB`, a gateway `400`), per call site:
/// at most this many per connection in each `LOG_LIMIT_WINDOW` ...
pub const LOG_LINES_PER_CONNECTION: u32 = 5;
/// ... and per client address (an IPv6 /64), whatever its number of connections. A runaway
/// `XFR SB` loop wrote 429,329 lines in 4 s; now at most 20 per address every 10 s.
pub const LOG_LINES_PER_ADDRESS: u32 = 20;
/// The window of those budgets.
pub const LOG_LIMIT_WINDOW: Duration = Duration::from_secs(10);
/// Counter cells of the log limiter (8 bytes each: 32 KiB in all, whatever the number of
/// clients).
pub const LOG_LIMIT_BUCKETS: usize = 4096;
/// Descriptors the server holds besides connections: listeners, the database and its WAL files,
/// the lock file, the epoll instance and the log, with room to spare (`files_needed`).
pub const FILES_BESIDES_CONNECTIONS: usize = 64;

// XMPP (src/xmpp, docs/xmpp.md).

/// Largest XMPP stanza accepted, in bytes of XML: RFC 6120 13.12 says a server must accept at
/// least 10,000; a chat message with an XHTML body fits in a few, and a bigger one ends the stream
/// with `<policy-violation/>` (a whole one is buffered before it is parsed).
pub const XMPP_MAX_STANZA: usize = 16 * 1024;
/// Longest stream header (`<stream:stream ...>`) and any single tag outside a stanza.
pub const XMPP_MAX_HEADER: usize = 1024;
/// Deepest element nesting, the stream element counted as 1: XHTML-IM bodies nest a few levels;
/// anything deeper is an attack on the parser (`<policy-violation/>`).
pub const XMPP_MAX_DEPTH: usize = 16;
/// Stanzas one XMPP session may send in a burst ...
pub const XMPP_STANZA_BURST: u32 = 60;
/// ... refilled at this many per second; a client past it gets `<policy-violation/>` (the MSN
/// side's equivalent is TCP backpressure, which a stanza router cannot apply per sender).
pub const XMPP_STANZAS_PER_SECOND: u32 = 20;
/// Bytes read from the TLS stream at once. The buffer exists only while bytes of an unfinished
/// stanza are held: an idle session keeps none.
pub const XMPP_READ_CHUNK: usize = 1024;
/// Stanzas queued for one XMPP session by other sessions; past it, presence is dropped and a
/// message is bounced with `<resource-constraint/>` (the sender never waits for a slow reader).
pub const XMPP_SESSION_QUEUE: usize = 16;
/// The XMPP router actor's mailbox; sessions wait for room (they stop reading their client).
pub const XMPP_ROUTER_MAILBOX: usize = 1024;
/// Failed SASL attempts on one stream before it is closed (the login throttle counts them too).
pub const XMPP_SASL_ATTEMPTS: u32 = 3;
/// Resources (connected XMPP clients) of one account at once.
pub const XMPP_MAX_RESOURCES: usize = 8;
/// Longest resource part accepted from a client (RFC 7622 allows 1023 bytes).
pub const XMPP_MAX_RESOURCE: usize = 128;
/// PBKDF2 iterations of the stored SCRAM keys (RFC 7677 asks for at least 4096). Clients repeat
/// them at every login, so phones set the ceiling; the Argon2 hash stays the primary credential.
pub const SCRAM_ITERATIONS: u32 = 4096;
/// An XMPP session without any data from its client for this long is closed with
/// `<connection-timeout/>`; clients send whitespace or XEP-0198/0199 pings every few minutes.
pub const XMPP_IDLE_TIMEOUT: Duration = Duration::from_secs(600);

// Windows Live Messenger (MSNP13-18): XML payloads and SOAP (issue 19).

/// Deepest element nesting an XML document may have. The deepest real one, a SOAP address-book
/// answer read back in tests, nests about 12 levels (Envelope/Body/.../Annotation/Name); 32 leaves
/// room without letting a document of nested tags cost a deep stack or a long walk.
pub const XML_MAX_DEPTH: usize = 32;
/// Elements one XML document may contain. An `ADL` of 150 contacts (the most a client puts in
/// one) has about 160; an RST request about 60; a SOAP request of ours far fewer. 4,096 also
/// bounds what a `HTTP_MAX_BODY` body of empty tags could make us allocate.
pub const XML_MAX_ELEMENTS: usize = 4096;
/// Attributes on one element: the ones clients send have at most five.
pub const XML_MAX_ATTRIBUTES: usize = 16;
/// Largest `ADL`/`RML`/`FQY` payload: clients put at most 150 contacts in one `ADL`, "a payload
/// of roughly 7500 bytes" (NINA wiki, MSNP13 changes); 8 KiB admits that and nothing much larger.
pub const MAX_ML_PAYLOAD: usize = 8 * 1024;
/// Contacts one `ADL`/`RML`/`FQY` payload may name (the clients' own batch size, see above).
pub const MAX_ML_CONTACTS: usize = 150;
/// `ADL` answers a session holds back until its initial `ADL` (`ns::contacts`): libpurple sends
/// one such `ADL` per contact it authorises during sign-in, a handful at a LAN party; past this
/// many the rest are answered at once (the client then waits on its login timer, nothing worse).
pub const MAX_HELD_ADL_ACKS: usize = 8;
/// Largest `UUX` payload (personal message, current media, machine GUID, endpoint data): the
/// longest real one, WLM 2009's with `PrivateEndpointData`, is well under 1 KiB; the personal
/// message itself is cut by the clients at 129 characters.
pub const MAX_UUX_PAYLOAD: usize = 2048;
/// Longest personal message (`PSM`) or current-media string kept from a `UUX`, in characters:
/// clients cut the PSM at 129 characters; media strings carry a few more fields.
pub const MAX_PSM_CHARS: usize = 256;
/// Length of the nonce in `USR t SSO S MBI_KEY_OLD <nonce>`: libpurple encrypts the nonce plus
/// eight padding bytes into a 72-byte field, so the nonce must be 64 characters (48 random bytes
/// in base64, as the official service sent).
pub const SSO_NONCE_LEN: usize = 64;
/// `RequestSecurityToken`s one RST.srf request may carry: WLM 2009 asks for about ten services,
/// libpurple for seven (counting `Passport.NET/tb`).
pub const RST_MAX_TOKENS: usize = 16;
/// Web-service tokens (address book, sharing, storage) remembered at once, all accounts
/// together: each login gets one per requested service (libpurple asks for five) and they live
/// `RST_STATED_LIFETIME`; 20,000 (about 2 MB) covers a few thousand logins a day, and past it the
/// oldest is forgotten (that client signs in again).
pub const MAX_SERVICE_TOKENS: usize = 20_000;

/// Endpoints of one account online at once (MSNP16+ MPOP). WLM 2009 users had a PC, a laptop
/// and a phone or web client; eight is generous and bounds every per-account endpoint walk (the
/// fan-out, the self `UBX`). Past it, the endpoint signed in longest ago (after the first) is
/// signed out (`OUT OTH`).
pub const MAX_ENDPOINTS: usize = 8;

/// Requests queued from an XMPP session to its MSN bridge, and messages queued for one bridged
/// switchboard conversation; past it the session bounces the stanza (`<resource-constraint/>`)
/// instead of waiting (docs/xmpp.md, "MSN users").
pub const BRIDGE_COMMANDS: usize = 16;
/// How often an XMPP session's MSN bridge sends `PNG`, well inside `NS_IDLE_TIMEOUT`.
pub const BRIDGE_PING_EVERY: Duration = Duration::from_secs(60);
/// Bytes of an XMPP `<status/>` kept as the MSN personal message: escaped (at most 6 bytes per
/// byte) it still fits a `UUX` payload (`MAX_NS_PAYLOAD`); MSN Messenger itself allows 129
/// characters.
pub const BRIDGE_MAX_PSM: usize = 256;
