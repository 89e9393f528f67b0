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

/// `n` in decimal, written into `digits` without the formatting machinery (the relay writes
/// hundreds of thousands of MSG heads a second); returns the digits used. Both writers of lines,
/// `protocol::command` and `protocol::reply`, use it.
pub fn decimal(n: u32, digits: &mut [u8; 10]) -> &[u8] {
    let mut n = n;
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    &digits[i..]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::percent::Enc;
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
            crate::protocol::percent::encode("Jü%")
        );
    }

    #[test]
    fn decimal_digits() {
        for n in [0u32, 7, 10, 99, 1863, u32::MAX] {
            assert_eq!(decimal(n, &mut [0; 10]), n.to_string().as_bytes());
        }
    }
}
