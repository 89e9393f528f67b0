//! Fixed-capacity buffers shared by all connections.
//!
//! An idle connection holds no buffer. It borrows a read buffer while a command is incomplete or
//! being handled, and an outbound chunk while it has bytes queued; both go back here afterwards.
//! The pools keep at most `POOL_KEEP` spare read and payload buffers and `POOL_KEEP_CHUNKS`
//! spare chunks so a burst does not pin memory forever, and `release_spares` trims them towards
//! `POOL_IDLE_KEEP` once the server is quiet again.

use crate::limits::{
    MAX_SB_PAYLOAD, OUTBOX_CHUNK, POOL_KEEP, POOL_KEEP_CHUNKS, READ_BUF, SB_READ_BUF,
};
use crate::protocol::Role;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

/// One outbound chunk: frames are appended whole, never split across chunks.
pub type Chunk = Box<heapless::Vec<u8, OUTBOX_CHUNK>>;

static CHUNKS: Mutex<Vec<Chunk>> = Mutex::new(Vec::new());
/// The fewest spare chunks the pool held since the last `release_spares`: that many sat unused
/// all along, so only they are freed. A steady load (a presence fan-out to 200 watchers every
/// few milliseconds takes 200 chunks at once) keeps its working set instead of paying the
/// allocator and page faults for it on every round.
static CHUNKS_LOW: AtomicUsize = AtomicUsize::new(usize::MAX);
/// Spare read buffers of one size, and the fewest it held since the last `release_spares`.
struct ReadPool {
    free: Mutex<Vec<Box<[u8]>>>,
    low: AtomicUsize,
    size: usize,
}

impl ReadPool {
    const fn new(size: usize) -> ReadPool {
        ReadPool {
            free: Mutex::new(Vec::new()),
            low: AtomicUsize::new(usize::MAX),
            size,
        }
    }

    fn of(role: Role) -> &'static ReadPool {
        match role {
            Role::Notification => &NS_READ_BUFS,
            Role::Switchboard => &SB_READ_BUFS,
        }
    }
}

/// Read buffers by role: a notification session may hold one through a slow command (a login
/// waiting for its password check holds one, so a burst of logins holds a thousand); a
/// switchboard's are larger so one read takes a sender's burst of messages (`limits.rs`).
static NS_READ_BUFS: ReadPool = ReadPool::new(READ_BUF);
static SB_READ_BUFS: ReadPool = ReadPool::new(SB_READ_BUF);
static PAYLOADS: Mutex<Vec<Payload>> = Mutex::new(Vec::new());
/// The same for switchboard payload buffers.
static PAYLOADS_LOW: AtomicUsize = AtomicUsize::new(usize::MAX);

/// A switchboard MSG payload on its way from the sender's connection to the switchboard actor.
pub type Payload = Box<heapless::Vec<u8, MAX_SB_PAYLOAD>>;

/// An empty payload buffer: a spare one when there is one, so the relay does not allocate.
pub fn payload() -> Payload {
    let spare = {
        let mut free = PAYLOADS.lock().unwrap_or_else(|e| e.into_inner());
        let spare = free.pop();
        PAYLOADS_LOW.fetch_min(free.len(), Ordering::Relaxed);
        spare
    };
    spare.unwrap_or_else(|| Box::new(heapless::Vec::new()))
}

/// Returns a payload buffer after its relay, cleared, so the next MSG reuses it.
pub fn give_payload(mut p: Payload) {
    p.clear();
    let mut free = PAYLOADS.lock().unwrap_or_else(|e| e.into_inner());
    if free.len() < POOL_KEEP {
        free.push(p);
    }
}

/// An empty outbound chunk, a spare one when there is one: an outbox takes one when it has
/// something to queue and gives it back once written, so an idle connection holds none.
pub fn chunk() -> Chunk {
    let spare = {
        let mut free = CHUNKS.lock().unwrap_or_else(|e| e.into_inner());
        let spare = free.pop();
        CHUNKS_LOW.fetch_min(free.len(), Ordering::Relaxed);
        spare
    };
    spare.unwrap_or_else(|| Box::new(heapless::Vec::new()))
}

/// Returns a written (or discarded) chunk, cleared, keeping at most `POOL_KEEP_CHUNKS` spares.
pub fn give_chunk(mut c: Chunk) {
    c.clear();
    let mut free = CHUNKS.lock().unwrap_or_else(|e| e.into_inner());
    if free.len() < POOL_KEEP_CHUNKS {
        free.push(c);
    }
}

/// Frees pooled spares beyond `keep` of each kind (the server has gone quiet: what a burst left
/// in the pools is not needed now); of the outbound chunks, only those that stayed unused since
/// the last call. Returns the bytes handed back to the allocator.
pub fn release_spares(keep: usize) -> usize {
    let mut freed = 0;
    {
        let mut free = CHUNKS.lock().unwrap_or_else(|e| e.into_inner());
        let unused = CHUNKS_LOW
            .swap(free.len(), Ordering::Relaxed)
            .min(free.len());
        let target = keep.max(free.len() - unused);
        while free.len() > target {
            free.pop();
            freed += OUTBOX_CHUNK;
        }
        CHUNKS_LOW.store(free.len(), Ordering::Relaxed);
    }
    {
        let mut free = PAYLOADS.lock().unwrap_or_else(|e| e.into_inner());
        let unused = PAYLOADS_LOW
            .swap(free.len(), Ordering::Relaxed)
            .min(free.len());
        let target = keep.max(free.len() - unused);
        while free.len() > target {
            free.pop();
            freed += MAX_SB_PAYLOAD;
        }
        PAYLOADS_LOW.store(free.len(), Ordering::Relaxed);
    }
    for pool in [&NS_READ_BUFS, &SB_READ_BUFS] {
        let mut free = pool.free.lock().unwrap_or_else(|e| e.into_inner());
        let unused = pool.low.swap(free.len(), Ordering::Relaxed).min(free.len());
        let target = keep.max(free.len() - unused);
        while free.len() > target {
            free.pop();
            freed += pool.size;
        }
        pool.low.store(free.len(), Ordering::Relaxed);
    }
    freed
}

/// A read buffer with a fill level.
pub struct ReadBuf {
    /// The bytes (`READ_BUF` or `SB_READ_BUF` of them); boxed so that moving the buffer in and
    /// out of the pool moves a pointer.
    pub data: Box<[u8]>,
    /// How many bytes at the front of `data` hold unparsed input.
    pub len: usize,
}

impl ReadBuf {
    /// An empty buffer, a spare one when there is one: a connection borrows it only while a
    /// command is incomplete or being handled.
    pub fn take(role: Role) -> ReadBuf {
        let pool = ReadPool::of(role);
        let spare = {
            let mut free = pool.free.lock().unwrap_or_else(|e| e.into_inner());
            let spare = free.pop();
            pool.low.fetch_min(free.len(), Ordering::Relaxed);
            spare
        };
        let data = spare.unwrap_or_else(|| vec![0u8; pool.size].into_boxed_slice());
        ReadBuf { data, len: 0 }
    }

    /// Returns the buffer to its pool; whatever it still held is forgotten (its fill level is
    /// not kept, `take` starts at zero).
    pub fn give(self) {
        let pool = if self.data.len() == SB_READ_BUF {
            &SB_READ_BUFS
        } else {
            &NS_READ_BUFS
        };
        let mut free = pool.free.lock().unwrap_or_else(|e| e.into_inner());
        if free.len() < POOL_KEEP {
            free.push(self.data);
        }
    }

    /// Whether the buffer has no room left: a read then waits until a command is consumed.
    pub fn is_full(&self) -> bool {
        self.len == self.data.len()
    }

    /// The unparsed bytes, what the frame parser reads.
    pub fn filled(&self) -> &[u8] {
        &self.data[..self.len]
    }

    /// Drops the first `n` bytes, keeping the unparsed rest at the front.
    pub fn consume(&mut self, n: usize) {
        self.data.copy_within(n..self.len, 0);
        self.len -= n;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Other tests use the pools at the same time, so this checks sizes, never spare counts.
    #[test]
    fn each_role_borrows_its_own_size_and_returns_it_to_its_pool() {
        let ns = ReadBuf::take(Role::Notification);
        let sb = ReadBuf::take(Role::Switchboard);
        assert_eq!((ns.data.len(), sb.data.len()), (READ_BUF, SB_READ_BUF));
        assert!(!ns.is_full());
        // A switchboard buffer given back must not be lent to a notification session, whose
        // pool would then grow by the larger size, nor the other way round.
        sb.give();
        let ns2 = ReadBuf::take(Role::Notification);
        assert_eq!(ns2.data.len(), READ_BUF);
        ns.give();
        let sb2 = ReadBuf::take(Role::Switchboard);
        assert_eq!((sb2.data.len(), sb2.len), (SB_READ_BUF, 0));
        ns2.give();
        sb2.give();
    }
}
