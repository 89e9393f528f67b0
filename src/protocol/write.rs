//! Formatting outgoing lines into fixed-capacity buffers, without touching the heap.

use std::fmt;

/// A fixed-capacity byte buffer that `write!` can format into. Overflow is an error, not growth.
pub struct LineBuf<const N: usize>(pub heapless::Vec<u8, N>);

impl<const N: usize> LineBuf<N> {
    /// An empty buffer (no allocation: the storage is inline).
    pub fn new() -> Self {
        LineBuf(heapless::Vec::new())
    }
    /// The bytes formatted so far, ready to push to an outbox.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
    /// Empties the buffer so that one buffer serves many lines (fan-out loops reuse it).
    pub fn clear(&mut self) {
        self.0.clear()
    }
}

impl<const N: usize> Default for LineBuf<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> fmt::Write for LineBuf<N> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.0
            .extend_from_slice(s.as_bytes())
            .map_err(|_| fmt::Error)
    }
}

/// Displays a name in its encoded wire form (kept under this name for the handlers).
pub use super::percent::Enc;

#[cfg(test)]
mod tests {
    use super::*;
    use std::fmt::Write;

    #[test]
    fn formats_without_growth() {
        let mut b = LineBuf::<32>::new();
        write!(b, "NLN NLN a@b.com {}\r\n", Enc("A B")).unwrap();
        assert_eq!(b.as_bytes(), b"NLN NLN a@b.com A%20B\r\n");
        let mut small = LineBuf::<4>::new();
        assert!(write!(small, "too long").is_err());
        assert_eq!(
            Enc("Jü%").to_string(),
            crate::protocol::names::encode("Jü%")
        );
    }
}
