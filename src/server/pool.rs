//! Fixed-capacity buffers shared by all connections.
//!
//! An idle connection holds no buffer. It borrows a read buffer while a command is incomplete or
//! being handled, and an outbound chunk while it has bytes queued; both go back here afterwards.
//! The pools keep at most `POOL_KEEP` spare buffers so a burst does not pin memory forever, and
//! only `POOL_IDLE_KEEP` once the server is quiet again.

use crate::limits::{MAX_SB_PAYLOAD, OUTBOX_CHUNK, POOL_KEEP, READ_BUF};
use std::sync::Mutex;

/// One outbound chunk: frames are appended whole, never split across chunks.
pub type Chunk = Box<heapless::Vec<u8, OUTBOX_CHUNK>>;

static CHUNKS: Mutex<Vec<Chunk>> = Mutex::new(Vec::new());
static READ_BUFS: Mutex<Vec<Box<[u8; READ_BUF]>>> = Mutex::new(Vec::new());
static PAYLOADS: Mutex<Vec<Payload>> = Mutex::new(Vec::new());

/// A switchboard MSG payload on its way from the sender's connection to the switchboard actor.
pub type Payload = Box<heapless::Vec<u8, MAX_SB_PAYLOAD>>;

/// An empty payload buffer: a spare one when there is one, so the relay does not allocate.
pub fn payload() -> Payload {
    let spare = PAYLOADS.lock().unwrap_or_else(|e| e.into_inner()).pop();
    spare.unwrap_or_else(|| Box::new(heapless::Vec::new()))
}

pub fn give_payload(mut p: Payload) {
    p.clear();
    let mut free = PAYLOADS.lock().unwrap_or_else(|e| e.into_inner());
    if free.len() < POOL_KEEP {
        free.push(p);
    }
}

pub fn chunk() -> Chunk {
    let spare = CHUNKS.lock().unwrap_or_else(|e| e.into_inner()).pop();
    spare.unwrap_or_else(|| Box::new(heapless::Vec::new()))
}

pub fn give_chunk(mut c: Chunk) {
    c.clear();
    let mut free = CHUNKS.lock().unwrap_or_else(|e| e.into_inner());
    if free.len() < POOL_KEEP {
        free.push(c);
    }
}

/// Frees pooled spares beyond `keep` of each kind (the server has gone quiet: what a burst left
/// in the pools is not needed now). Returns the bytes handed back to the allocator.
pub fn release_spares(keep: usize) -> usize {
    let mut freed = 0;
    {
        let mut free = CHUNKS.lock().unwrap_or_else(|e| e.into_inner());
        while free.len() > keep {
            free.pop();
            freed += OUTBOX_CHUNK;
        }
    }
    {
        let mut free = PAYLOADS.lock().unwrap_or_else(|e| e.into_inner());
        while free.len() > keep {
            free.pop();
            freed += MAX_SB_PAYLOAD;
        }
    }
    let mut free = READ_BUFS.lock().unwrap_or_else(|e| e.into_inner());
    while free.len() > keep {
        free.pop();
        freed += READ_BUF;
    }
    freed
}

/// A read buffer with a fill level.
pub struct ReadBuf {
    pub data: Box<[u8; READ_BUF]>,
    pub len: usize,
}

impl ReadBuf {
    pub fn take() -> ReadBuf {
        let spare = READ_BUFS.lock().unwrap_or_else(|e| e.into_inner()).pop();
        let data = spare.unwrap_or_else(|| {
            vec![0u8; READ_BUF]
                .into_boxed_slice()
                .try_into()
                .expect("exact length")
        });
        ReadBuf { data, len: 0 }
    }

    pub fn give(self) {
        let mut free = READ_BUFS.lock().unwrap_or_else(|e| e.into_inner());
        if free.len() < POOL_KEEP {
            free.push(self.data);
        }
    }

    pub fn filled(&self) -> &[u8] {
        &self.data[..self.len]
    }

    /// Drops the first `n` bytes, keeping the unparsed rest at the front.
    pub fn consume(&mut self, n: usize) {
        self.data.copy_within(n..self.len, 0);
        self.len -= n;
    }
}
