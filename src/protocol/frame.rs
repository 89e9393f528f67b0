//! Splits the client's byte stream into commands, borrowing from the read buffer.
//!
//! A command is `VRB trid arg arg...\r\n`, optionally followed by a payload whose byte count is the
//! last argument. Parsing allocates nothing: arguments are slices of the buffer.

use crate::dialect::commands::{Frame, frame_of};
use crate::limits::{MAX_ARGS, MAX_LINE, MAX_ML_PAYLOAD, MAX_NS_PAYLOAD, MAX_SB_PAYLOAD};

/// Which server role is reading: decides which verbs carry a payload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// Dispatch and notification (they share a listener and a grammar).
    Notification,
    /// Switchboard: only `MSG` carries a payload, and payloads are capped lower.
    Switchboard,
}

/// One client command as read off the wire, borrowing every string from the read buffer so that
/// parsing a line allocates nothing; the typed commands in `protocol::command` parse its `args`.
#[derive(Debug)]
pub struct Command<'a> {
    /// Three ASCII upper-case letters (digits are accepted too, for error replies we never expect).
    pub verb: &'a str,
    /// Transaction id; `None` for verbs that carry none (PNG, OUT).
    pub trid: Option<u32>,
    /// Arguments after the trid (the payload length stays in here for payload verbs).
    pub args: heapless::Vec<&'a str, MAX_ARGS>,
    /// The bytes after the line for payload verbs (`MSG`, `QRY`, `UUX` ...); empty otherwise.
    pub payload: &'a [u8],
}

/// Why a frame could not be parsed. Every case ends the connection (the stream cannot be
/// resynchronised), so the variants exist for the log line, not for recovery.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParseError {
    /// No line end within `MAX_LINE` bytes.
    LineTooLong,
    /// Not valid UTF-8.
    NotUtf8,
    /// The verb is not three letters.
    BadVerb,
    /// More than `MAX_ARGS` arguments.
    TooManyArgs,
    /// Missing or non-numeric transaction id.
    BadTrid,
    /// A payload verb whose length is missing or not a number.
    BadLength,
    /// A payload longer than the role allows.
    PayloadTooLarge,
}

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ParseError::LineTooLong => "line too long",
            ParseError::NotUtf8 => "invalid UTF-8",
            ParseError::BadVerb => "malformed command verb",
            ParseError::TooManyArgs => "too many arguments",
            ParseError::BadTrid => "missing or non-numeric transaction id",
            ParseError::BadLength => "missing or non-numeric payload length",
            ParseError::PayloadTooLarge => "payload larger than allowed",
        })
    }
}

impl Role {
    /// How this role reads `verb`'s frame: the command table's "frame" column.
    fn frame(self, verb: &str) -> Frame {
        frame_of(self == Role::Switchboard, verb)
    }

    /// The largest payload this role accepts; bigger ones are refused before they are buffered.
    pub fn max_payload(self) -> usize {
        match self {
            Role::Notification => MAX_NS_PAYLOAD,
            Role::Switchboard => MAX_SB_PAYLOAD,
        }
    }
}

/// Takes one complete command from the front of `buf`.
///
/// `Ok(None)` means more bytes are needed; `Ok(Some((cmd, used)))` consumed `used` bytes. Empty lines
/// are consumed and returned as a command with an empty verb, which the caller treats as a no-op.
pub fn parse_frame(buf: &[u8], role: Role) -> Result<Option<(Command<'_>, usize)>, ParseError> {
    let window = &buf[..buf.len().min(MAX_LINE)];
    let Some(nl) = window.iter().position(|&b| b == b'\n') else {
        return if buf.len() >= MAX_LINE {
            Err(ParseError::LineTooLong)
        } else {
            Ok(None)
        };
    };
    let mut line = &buf[..nl];
    while let [rest @ .., last] = line {
        if last.is_ascii_whitespace() {
            line = rest;
        } else {
            break;
        }
    }
    let line = std::str::from_utf8(line).map_err(|_| ParseError::NotUtf8)?;
    let mut words = line.split(' ').filter(|w| !w.is_empty());
    let verb = match words.next() {
        Some(v) => v,
        // Blank line: consume it and let the caller look again.
        None => {
            return Ok(Some((
                Command {
                    verb: "",
                    trid: None,
                    args: heapless::Vec::new(),
                    payload: &[],
                },
                nl + 1,
            )));
        }
    };
    if verb.len() != 3
        || !verb
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
    {
        return Err(ParseError::BadVerb);
    }
    let frame = role.frame(verb);
    let trid = if frame != Frame::NoTrid {
        let t = words.next().ok_or(ParseError::BadTrid)?;
        Some(parse_u32(t).ok_or(ParseError::BadTrid)?)
    } else {
        None
    };
    let mut args = heapless::Vec::new();
    for w in words {
        args.push(w).map_err(|_| ParseError::TooManyArgs)?;
    }
    let mut used = nl + 1;
    let mut payload: &[u8] = &[];
    if matches!(frame, Frame::Payload | Frame::MlPayload) {
        let len = args
            .last()
            .and_then(|l| parse_u32(l))
            .ok_or(ParseError::BadLength)? as usize;
        let max = match frame {
            Frame::MlPayload => MAX_ML_PAYLOAD,
            _ => role.max_payload(),
        };
        if len > max {
            return Err(ParseError::PayloadTooLarge);
        }
        if buf.len() < used + len {
            return Ok(None);
        }
        payload = &buf[used..used + len];
        used += len;
    }
    Ok(Some((
        Command {
            verb,
            trid,
            args,
            payload,
        },
        used,
    )))
}

/// Strict decimal u32: digits only, no sign, no overflow.
pub fn parse_u32(s: &str) -> Option<u32> {
    if s.is_empty() || s.len() > 10 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(buf: &[u8], role: Role) -> (String, Option<u32>, Vec<String>, Vec<u8>, usize) {
        let (c, used) = parse_frame(buf, role).unwrap().unwrap();
        (
            c.verb.to_string(),
            c.trid,
            c.args.iter().map(|s| s.to_string()).collect(),
            c.payload.to_vec(),
            used,
        )
    }

    #[test]
    fn plain_command() {
        let (v, t, a, p, used) = one(b"VER 1 MSNP7 MSNP6 CVR0\r\nINF 2\r\n", Role::Notification);
        assert_eq!((v.as_str(), t), ("VER", Some(1)));
        assert_eq!(a, ["MSNP7", "MSNP6", "CVR0"]);
        assert!(p.is_empty());
        assert_eq!(used, 24);
    }

    #[test]
    fn payload_and_partial() {
        let msg = b"MSG 5 A 5\r\nhello";
        assert!(
            parse_frame(&msg[..13], Role::Switchboard)
                .unwrap()
                .is_none()
        );
        let (_, t, a, p, used) = one(msg, Role::Switchboard);
        assert_eq!(t, Some(5));
        assert_eq!(a, ["A", "5"]);
        assert_eq!(p, b"hello");
        assert_eq!(used, msg.len());
        // MSG on the NS is not a payload verb (clients never send it there).
        let (_, _, _, p, _) = one(b"MSG 5 A 5\r\nhello", Role::Notification);
        assert!(p.is_empty());
    }

    #[test]
    fn no_trid_verbs_and_bare_newline() {
        let (v, t, a, _, used) = one(b"PNG\n", Role::Notification);
        assert_eq!((v.as_str(), t, a.len(), used), ("PNG", None, 0, 4));
    }

    #[test]
    fn errors() {
        let e = |b: &[u8], r| parse_frame(b, r).unwrap_err();
        assert_eq!(
            e(b"VER x MSNP7\r\n", Role::Notification),
            ParseError::BadTrid
        );
        assert_eq!(e(b"VER\r\n", Role::Notification), ParseError::BadTrid);
        assert_eq!(e(b"VER -1\r\n", Role::Notification), ParseError::BadTrid);
        assert_eq!(
            e(b"VER 99999999999\r\n", Role::Notification),
            ParseError::BadTrid
        );
        assert_eq!(e(b"verb 1\r\n", Role::Notification), ParseError::BadVerb);
        assert_eq!(
            e(b"MSG 1 A x\r\n", Role::Switchboard),
            ParseError::BadLength
        );
        assert_eq!(
            e(b"MSG 1 A 1665\r\n", Role::Switchboard),
            ParseError::PayloadTooLarge
        );
        assert_eq!(
            e(b"USR 1 \xff\xfe\r\n", Role::Notification),
            ParseError::NotUtf8
        );
        assert_eq!(
            e(&[b'A'; MAX_LINE], Role::Notification),
            ParseError::LineTooLong
        );
        let many = b"CHG 1 a b c d e f g h i j k l m n\r\n";
        assert_eq!(e(many, Role::Notification), ParseError::TooManyArgs);
    }

    /// Random and truncated input never panics and never consumes more than it was given.
    #[test]
    fn fuzzish_inputs_are_bounded() {
        let seeds: &[&[u8]] = &[
            b"VER 1 MSNP7 CVR0\r\n",
            b"MSG 5 A 10\r\n0123456789",
            b"UUX 3 20\r\n<Data><PSM>x</PSM></Data>",
            b"QRY 9 msmsgs@msnmsgr.com 32\r\n0123456789abcdef0123456789abcdef",
        ];
        let mut x: u64 = 0x9E3779B97F4A7C15;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for round in 0..20_000 {
            let seed = seeds[round % seeds.len()];
            let mut buf = seed.to_vec();
            for _ in 0..(next() % 4) {
                let i = (next() as usize) % buf.len();
                buf[i] = next() as u8;
            }
            let cut = (next() as usize) % (buf.len() + 1);
            for role in [Role::Notification, Role::Switchboard] {
                if let Ok(Some((_, used))) = parse_frame(&buf[..cut], role) {
                    assert!(used <= cut);
                }
            }
        }
    }
}
