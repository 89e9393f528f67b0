//! Handles and URL-encoded names.
//!
//! Names (friendly names, stored contact names, group names, phone numbers) travel percent-encoded.
//! We decode on input, keep UTF-8, and encode on output with one fixed rule so that a name a client
//! echoes back compares equal whatever version it speaks.

use crate::limits::MAX_HANDLE;

/// Why a name was refused.
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

/// A byte no name may contain once decoded.
fn is_control(b: u8) -> bool {
    b < b' ' || b == 0x7f
}

/// Decodes `%XX` escapes. Clients never use `+` for space, so `+` stays `+`. Every name a client
/// sends passes through here, so this is where control bytes are refused.
pub fn decode(s: &str) -> Result<String, NameError> {
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
            let hi = b.get(i + 1).and_then(|c| (*c as char).to_digit(16));
            let lo = b.get(i + 2).and_then(|c| (*c as char).to_digit(16));
            match (hi, lo) {
                (Some(h), Some(l)) => out.push((h * 16 + l) as u8),
                _ => return Err(NameError::BadEscape),
            }
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

fn must_escape(b: u8) -> bool {
    b <= b' ' || b == b'%' || b >= 0x7f
}

/// Appends the encoded form of `s` to `out`.
pub fn encode_into(s: &str, out: &mut String) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for &b in s.as_bytes() {
        if must_escape(b) {
            out.push('%');
            out.push(HEX[(b >> 4) as usize] as char);
            out.push(HEX[(b & 15) as usize] as char);
        } else {
            out.push(b as char);
        }
    }
}

pub fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    encode_into(s, &mut out);
    out
}

/// Length of the encoded form, without building it.
pub fn encoded_len(s: &str) -> usize {
    s.bytes().map(|b| if must_escape(b) { 3 } else { 1 }).sum()
}

/// Normalises a handle (lower case) and checks it looks like an e-mail address:
/// `local@domain.tld`, at most 129 bytes, no spaces or control characters.
pub fn normalize_handle(h: &str) -> Option<String> {
    if h.is_empty() || h.len() > MAX_HANDLE {
        return None;
    }
    let (local, domain) = h.split_once('@')?;
    let ok_char = |c: char| c.is_ascii_alphanumeric() || "._-+".contains(c);
    if local.is_empty()
        || !local
            .chars()
            .all(|c| ok_char(c) || "!#$&'*/=?^`{|}~".contains(c))
    {
        return None;
    }
    let labels: Vec<&str> = domain.split('.').collect();
    if labels.len() < 2
        || labels
            .iter()
            .any(|l| l.is_empty() || !l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
    {
        return None;
    }
    Some(h.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        for s in ["Alice", "Alice Smith", "100% sure", "Jürgen ☕", "a+b", ""] {
            assert_eq!(decode(&encode(s)).unwrap(), s);
        }
        assert_eq!(encode("Alice Smith"), "Alice%20Smith");
        assert_eq!(encode("100%"), "100%25");
        assert_eq!(encoded_len("a b%"), 1 + 3 + 1 + 3);
        assert_eq!(decode("J%C3%BCrgen").unwrap(), "Jürgen");
        assert_eq!(decode("a%2").unwrap_err(), NameError::BadEscape);
        assert_eq!(decode("a%zz").unwrap_err(), NameError::BadEscape);
        assert_eq!(decode("%FF%FE").unwrap_err(), NameError::NotUtf8);
        for bad in [
            "a%00b",
            "a\u{0}b",
            "x%0D%0AMSG",
            "tab%09",
            "del%7F",
            "\u{1b}[31m",
            "%1f",
        ] {
            assert_eq!(decode(bad).unwrap_err(), NameError::Control, "{bad:?}");
        }
    }

    #[test]
    fn handles() {
        assert_eq!(
            normalize_handle("Alice@Example.com").as_deref(),
            Some("alice@example.com")
        );
        for bad in [
            "alice",
            "a@b",
            "@x.com",
            "a@.com",
            "a@x..com",
            "a b@x.com",
            "a@x.c om",
            "",
        ] {
            assert!(normalize_handle(bad).is_none(), "{bad}");
        }
        let long = format!("{}@example.com", "a".repeat(120));
        assert!(normalize_handle(&long).is_none());
    }
}
