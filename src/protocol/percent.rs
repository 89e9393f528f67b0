//! Percent-encoding, the one implementation the server uses: MSNP names on the wire and the
//! query and form fields of the HTTP side.
//!
//! Two decoders because the two inputs need different answers to a bad escape: an MSNP name is
//! refused (the client gets an error code, and no name may hide a control byte), while an HTTP
//! field is read as typed (the msnp11-sdk does not encode its Passport header at all). One encoder,
//! with one fixed rule, so that a name a client echoes back compares equal whatever version it
//! speaks: every byte up to and including space, `%`, DEL and every non-ASCII byte become `%XX`
//! (upper-case hex); everything else is written as is.

use std::fmt;

/// Why an MSNP name was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameError {
    /// A `%` not followed by two hex digits.
    BadEscape,
    /// The decoded bytes are not UTF-8.
    NotUtf8,
    /// The decoded name holds a control byte (NUL, CR, LF, ESC, DEL...), raw or escaped. Old C
    /// clients cut names at a NUL and a CR LF would split a line, so no name may carry one.
    Control,
}

const HEX: &[u8; 16] = b"0123456789ABCDEF";

/// A byte no name may contain once decoded.
fn is_control(b: u8) -> bool {
    b < b' ' || b == 0x7f
}

/// Whether the encoder writes `b` as `%XX`.
fn must_escape(b: u8) -> bool {
    b <= b' ' || b == b'%' || b >= 0x7f
}

/// The value of one hex digit.
fn hex_digit(c: u8) -> Option<u8> {
    (c as char).to_digit(16).map(|d| d as u8)
}

/// The byte a `%XX` at the front of `s` stands for (`s` starts after the `%`).
fn escape_at(s: &[u8]) -> Option<u8> {
    Some(hex_digit(*s.first()?)? * 16 + hex_digit(*s.get(1)?)?)
}

/// Decodes an MSNP name: `%XX` escapes; `+` stays `+` (clients never use it for space). Every
/// name a client sends passes through here, so this is where control bytes are refused.
pub fn decode_name(s: &str) -> Result<String, NameError> {
    if !s.contains('%') {
        if s.bytes().any(is_control) {
            return Err(NameError::Control);
        }
        return Ok(s.to_owned());
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            out.push(escape_at(&b[i + 1..]).ok_or(NameError::BadEscape)?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    if out.iter().any(|&b| is_control(b)) {
        return Err(NameError::Control);
    }
    String::from_utf8(out).map_err(|_| NameError::NotUtf8)
}

/// Whether an encoded value other clients are shown as sent (the MSNObject of `CHG`) holds a
/// control byte, raw or escaped, or a malformed escape (which a client's decoder may read as
/// anything): the rule `decode_name` applies to names.
pub fn hides_control(s: &str) -> bool {
    matches!(
        decode_name(s),
        Err(NameError::Control | NameError::BadEscape)
    )
}

/// Decodes an HTTP query or form field, keeping a malformed escape as it was typed and replacing
/// invalid UTF-8; `plus_is_space` for form bodies (`application/x-www-form-urlencoded`).
pub fn decode_lenient(s: &[u8], plus_is_space: bool) -> String {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        match s[i] {
            b'+' if plus_is_space => out.push(b' '),
            b'%' => match escape_at(&s[i + 1..]) {
                Some(b) => {
                    out.push(b);
                    i += 2;
                }
                None => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Displays a name in its encoded wire form, without building it on the heap (the presence
/// fan-out formats names into stack buffers).
#[derive(Clone, Copy)]
pub struct Enc<'a>(pub &'a str);

impl fmt::Display for Enc<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = self.0.as_bytes();
        let mut start = 0;
        for (i, &c) in b.iter().enumerate() {
            if must_escape(c) {
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

/// Appends the encoded form of `s` to `out`.
pub fn encode_into(s: &str, out: &mut String) {
    use fmt::Write;
    // Writing into a String cannot fail.
    let _ = write!(out, "{}", Enc(s));
}

/// The encoded form of `s`.
pub fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    encode_into(s, &mut out);
    out
}

/// Length of the encoded form, without building it.
pub fn encoded_len(s: &str) -> usize {
    s.bytes().map(|b| if must_escape(b) { 3 } else { 1 }).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn msnobjects_hiding_control_bytes_are_caught() {
        let clean = "%3Cmsnobj%20Creator%3D%22a%40b.com%22%20Friendly%3D%22AAA%3D%22%2F%3E";
        assert!(!hides_control(clean));
        for bad in [
            "%3Cmsnobj%0D%0A%3E",
            "x%00",
            "%1B[2J",
            "a\x1bb",
            "x\u{7f}",
            "%3",
            "%G0",
        ] {
            assert!(hides_control(bad), "{bad:?}");
        }
    }

    #[test]
    fn names_round_trip_with_the_fixed_rule() {
        for s in ["Alice", "Alice Smith", "100% sure", "Jürgen ☕", "a+b", ""] {
            assert_eq!(decode_name(&encode(s)).unwrap(), s);
            assert_eq!(Enc(s).to_string(), encode(s));
            assert_eq!(encoded_len(s), encode(s).len());
        }
        assert_eq!(encode("Alice Smith"), "Alice%20Smith");
        assert_eq!(encode("100%"), "100%25");
        assert_eq!(encode("Jü~!"), "J%C3%BC~!");
        assert_eq!(encode("a\u{7f}b"), "a%7Fb");
        assert_eq!(encoded_len("a b%"), 1 + 3 + 1 + 3);
        assert_eq!(decode_name("J%c3%bCrgen").unwrap(), "Jürgen");
        assert_eq!(decode_name("a%2").unwrap_err(), NameError::BadEscape);
        assert_eq!(decode_name("a%").unwrap_err(), NameError::BadEscape);
        assert_eq!(decode_name("a%zz").unwrap_err(), NameError::BadEscape);
        assert_eq!(decode_name("%FF%FE").unwrap_err(), NameError::NotUtf8);
        assert_eq!(decode_name("a%0Ab").unwrap_err(), NameError::Control);
        assert_eq!(decode_name("a\tb").unwrap_err(), NameError::Control);
    }

    #[test]
    fn http_fields_keep_bad_escapes() {
        assert_eq!(decode_lenient(b"a%40b.com", false), "a@b.com");
        assert_eq!(decode_lenient(b"a+b%2", true), "a b%2");
        assert_eq!(decode_lenient(b"a+b", false), "a+b");
        assert_eq!(decode_lenient(b"%zz%4", false), "%zz%4");
        assert_eq!(decode_lenient(b"100%", false), "100%");
        assert_eq!(decode_lenient(b"%41", false), "A");
        assert_eq!(decode_lenient(b"%FF", false), "\u{fffd}");
    }
}
