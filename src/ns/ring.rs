//! The notification side of the switchboard's port: ringing a user into a switchboard
//! (`DirectoryRinger`, the `sb::Ringer` wired at start).

use super::bus;
use super::directory::Directory;
use crate::sb::{Ring, RingRefused, RingReply, Ringer};
use std::sync::Arc;

/// Rings users through the directory actor (and, through it, the bus to other hosts).
pub struct DirectoryRinger {
    directory: Directory,
    /// The switchboard listener's port, named in RNG lines.
    sb_port: u16,
}

impl DirectoryRinger {
    /// A ringer for `directory`, naming switchboard port `sb_port` in its RNG lines.
    pub fn new(directory: Directory, sb_port: u16) -> Arc<DirectoryRinger> {
        Arc::new(DirectoryRinger { directory, sb_port })
    }
}

impl Ringer for DirectoryRinger {
    fn ring(&self, ring: Ring) -> RingReply {
        let directory = self.directory.clone();
        let ring = bus::Ring {
            call: ring,
            sb_port: self.sb_port,
        };
        Box::pin(async move {
            match directory.ring(ring).await {
                Ok(Some(callee)) => Ok(callee),
                _ => Err(RingRefused),
            }
        })
    }
}
