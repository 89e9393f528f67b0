//! Formatting outgoing lines into fixed-capacity buffers, without touching the heap.

use std::fmt;

/// A fixed-capacity byte buffer that `write!` can format into. Overflow is an error, not growth.
pub struct LineBuf<const N: usize>(pub heapless::Vec<u8, N>);

impl<const N: usize> LineBuf<N> {
    pub fn new() -> Self {
        LineBuf(heapless::Vec::new())
    }
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
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

/// Displays a name in its URL-encoded wire form.
pub struct Enc<'a>(pub &'a str);

impl fmt::Display for Enc<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const HEX: &[u8; 16] = b"0123456789ABCDEF";
        let b = self.0.as_bytes();
        let mut start = 0;
        for (i, &c) in b.iter().enumerate() {
            if c <= b' ' || c == b'%' || c >= 0x7f {
                // Every byte before `i` since `start` is plain ASCII, so the run is valid UTF-8.
                f.write_str(std::str::from_utf8(&b[start..i]).map_err(|_| fmt::Error)?)?;
                let esc = [b'%', HEX[(c >> 4) as usize], HEX[(c & 15) as usize]];
                f.write_str(std::str::from_utf8(&esc).map_err(|_| fmt::Error)?)?;
                start = i + 1;
            }
        }
        f.write_str(std::str::from_utf8(&b[start..]).map_err(|_| fmt::Error)?)
    }
}

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
