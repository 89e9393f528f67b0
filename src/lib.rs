//! msnpd: a single-binary MSN Messenger server (MSNP2-MSNP12).
//!
//! Layout: `protocol` turns bytes into commands and back (no I/O); `dialect` holds every
//! per-version difference; `storage` is the only module that knows SQL; `server` is transport
//! (connections, outboxes, buffer pools, admission, throttles) plus the `Hub` of shared services;
//! `ns` (dispatch and notification, with the directory actor that owns who is online), `sb` and
//! `http` are the roles, one file per command family; `node` binds the listeners and starts the
//! roles; `xmpp` is the XMPP front door for modern clients; `limits` names every bound.

// Every public item says why it exists; `cargo clippy -- -D warnings` (CI) makes this binding.
#![warn(missing_docs)]

pub mod accounts;
pub mod auth;
pub mod config;
pub mod dialect;
pub mod dns;
pub mod http;
pub mod limits;
pub mod model;
pub mod net;
pub mod node;
pub mod ns;
pub mod ops;
pub mod protocol;
pub mod sb;
pub mod server;
pub mod storage;
pub mod tls;
pub mod xmpp;

pub use config::Config;
pub use node::Server;

/// glibc's allocator keeps per-thread arenas and raises its mmap threshold after large frees, so
/// freed Argon2 buffers (8 MiB each) and login bursts would stay in the RSS. One arena and a fixed
/// mmap threshold let large buffers go back to the system and keep fragmentation low.
pub fn tune_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only adjusts allocator parameters; the server calls it before any
    // thread starts; it is also safe later (glibc takes its arena lock).
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 1);
        libc::mallopt(
            libc::M_MMAP_THRESHOLD,
            limits::MALLOC_MMAP_THRESHOLD as libc::c_int,
        );
        libc::mallopt(
            libc::M_TRIM_THRESHOLD,
            limits::MALLOC_TRIM_THRESHOLD as libc::c_int,
        );
    }
}
