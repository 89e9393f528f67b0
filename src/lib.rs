//! msnpd: a single-binary MSN Messenger server (MSNP2-MSNP12).
//!
//! Layout: `protocol` turns bytes into commands and back (no I/O); `dialect` holds every
//! per-version difference; `ns` and `sb` are the notification and switchboard roles, one file per
//! command family; `server` owns sockets, buffers and the shared directory (`hub`); `storage` is
//! the only module that knows SQL; `limits` names every bound.

pub mod auth;
pub mod config;
pub mod dialect;
pub mod http;
pub mod limits;
pub mod model;
pub mod ns;
pub mod protocol;
pub mod sb;
pub mod server;
pub mod storage;

pub use config::Config;
pub use server::Server;
