//! One type per line the server sends, written for the `Dialect` of the client that reads it.
//!
//! The files mirror the command families (`login`, `misc`, `sync`, `lists`, `groups`,
//! `presence`, `switchboard`; `Error` is every family's). A reply borrows what it names (handles
//! and names stay in their encoded wire form, as in `protocol::command`) and writes itself into
//! any `Out`: the outbox-bound `Vec`, or a `LineBuf` on the stack where a line has a known bound,
//! so that the relay and fan-out paths write without allocating.
//!
//! Where a version changes a reply's shape, `write` reads the `Dialect`, never a version number.
//! Every type has a test that writes it and compares the bytes with the documented line.

pub mod contacts;
pub mod groups;
pub mod lists;
pub mod login;
pub mod misc;
pub mod presence;
pub mod switchboard;
pub mod sync;

use super::write::LineBuf;
use crate::dialect::Dialect;

/// Where a reply writes its bytes.
pub trait Out {
    /// Appends `bytes`. A fixed buffer that is full drops them (its size is chosen for the
    /// longest line it serves, as `LineBuf` users always did).
    fn put(&mut self, bytes: &[u8]);
}

impl Out for Vec<u8> {
    fn put(&mut self, bytes: &[u8]) {
        self.extend_from_slice(bytes);
    }
}

impl<const N: usize> Out for LineBuf<N> {
    fn put(&mut self, bytes: &[u8]) {
        let _ = self.0.extend_from_slice(bytes);
    }
}

/// A line (or lines, with payload) the server sends.
pub trait Reply {
    /// Appends the reply, line end and payload included, as a client speaking `d` reads it.
    fn write(&self, d: &Dialect, out: &mut impl Out);

    /// The reply as bytes, for callers that send one at a time.
    fn to_bytes(&self, d: &Dialect) -> Vec<u8> {
        let mut out = Vec::with_capacity(64);
        self.write(d, &mut out);
        out
    }

    /// The reply in a stack buffer of `N` bytes (no allocation), for short lines.
    fn to_line<const N: usize>(&self, d: &Dialect) -> LineBuf<N> {
        let mut out = LineBuf::new();
        self.write(d, &mut out);
        out
    }
}

/// `code trid`: an error answer to a command.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Error {
    /// The protocol's error code (NS.md 7).
    pub code: u16,
    /// The command's trid.
    pub trid: u32,
}

impl Reply for Error {
    fn write(&self, _: &Dialect, out: &mut impl Out) {
        num(out, self.code as u32);
        sp_num(out, self.trid);
        end(out);
    }
}

/// A name, group name or phone value on its way out: either already in its URL-encoded wire
/// form, or plain text that the writer encodes as it goes (no allocation).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Text<'a> {
    /// Already encoded (as received, or stored encoded).
    Wire(&'a str),
    /// Plain text, encoded when written (`percent::Enc`).
    Plain(&'a str),
}

impl Text<'_> {
    /// Whether there is nothing to write.
    pub fn is_empty(&self) -> bool {
        match self {
            Text::Wire(s) | Text::Plain(s) => s.is_empty(),
        }
    }
}

/// `fmt::Write` over an `Out`, for `percent::Enc`.
struct Fmt<'o, O: Out>(&'o mut O);

impl<O: Out> std::fmt::Write for Fmt<'_, O> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.0.put(s.as_bytes());
        Ok(())
    }
}

/// Appends ` text`, encoding plain text.
pub(crate) fn sp_text(out: &mut impl Out, t: Text<'_>) {
    out.put(b" ");
    text(out, t);
}

/// Appends `text`, encoding plain text.
pub(crate) fn text(out: &mut impl Out, t: Text<'_>) {
    match t {
        Text::Wire(s) => out.put(s.as_bytes()),
        Text::Plain(s) => {
            use std::fmt::Write;
            let _ = write!(Fmt(out), "{}", super::percent::Enc(s));
        }
    }
}

/// Appends ` trid` where a line has one (`None` for the server's own notices and `SYN` lines
/// that carry none).
pub(crate) fn sp_opt(out: &mut impl Out, n: Option<u32>) {
    if let Some(n) = n {
        sp_num(out, n);
    }
}

/// Appends `n` in decimal without the formatting machinery.
pub(crate) fn num(out: &mut impl Out, n: u32) {
    out.put(super::write::decimal(n, &mut [0; 10]));
}

/// Appends `VRB trid`.
pub(crate) fn head(out: &mut impl Out, verb: &str, trid: u32) {
    out.put(verb.as_bytes());
    sp_num(out, trid);
}

/// Appends ` s`.
pub(crate) fn sp(out: &mut impl Out, s: &str) {
    out.put(b" ");
    out.put(s.as_bytes());
}

/// Appends ` n`.
pub(crate) fn sp_num(out: &mut impl Out, n: u32) {
    out.put(b" ");
    num(out, n);
}

/// Appends the line end.
pub(crate) fn end(out: &mut impl Out) {
    out.put(b"\r\n");
}

#[cfg(test)]
pub(crate) mod test_support {
    use super::Reply;
    use crate::dialect::Dialect;

    /// The bytes `r` writes for `MSNPv`, as text, checked to be the same through a `LineBuf`
    /// large enough for them (the stack path writes what the heap path does).
    pub fn wire(r: &impl Reply, v: u8) -> String {
        let d = Dialect::get(v).unwrap();
        let bytes = r.to_bytes(d);
        let line = r.to_line::<2048>(d);
        assert_eq!(line.as_bytes(), &bytes[..]);
        String::from_utf8(bytes).unwrap()
    }

    /// Every version served.
    pub fn versions() -> impl Iterator<Item = u8> {
        Dialect::all().map(|d| d.version)
    }
}

#[cfg(test)]
mod tests {
    use super::test_support::{versions, wire};
    use super::*;

    #[test]
    fn error_line() {
        for v in versions() {
            assert_eq!(wire(&Error { code: 911, trid: 7 }, v), "911 7\r\n");
        }
        assert_eq!(wire(&Error { code: 201, trid: 0 }, 2), "201 0\r\n");
    }

    #[test]
    fn text_is_encoded_only_when_plain() {
        let mut v = Vec::new();
        text(&mut v, Text::Plain("A B%"));
        sp_text(&mut v, Text::Wire("A%20B"));
        assert_eq!(v, b"A%20B%25 A%20B");
        assert!(Text::Plain("").is_empty());
    }

    #[test]
    fn decimal_writer() {
        for n in [0u32, 7, 10, 99, 1863, u32::MAX] {
            let mut v = Vec::new();
            num(&mut v, n);
            assert_eq!(v, n.to_string().as_bytes());
        }
    }

    #[test]
    fn a_full_line_buffer_drops_rather_than_grows() {
        let d = Dialect::get(12).unwrap();
        let small = Error {
            code: 911,
            trid: 123456,
        }
        .to_line::<4>(d);
        assert!(small.as_bytes().len() <= 4);
    }
}
