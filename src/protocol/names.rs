//! Handles, and the names of the percent-encoding helpers the handlers use.
//!
//! Names (friendly names, stored contact names, group names, phone numbers) travel percent-encoded.
//! We decode on input, keep UTF-8, and encode on output with one fixed rule (`percent.rs`) so that
//! a name a client echoes back compares equal whatever version it speaks.

use crate::limits::MAX_HANDLE;

// The percent-encoding of names lives in `percent.rs`; these names are kept for the handlers in
// `ns/` and `sb/` and the fuzz targets that use them.
pub use super::percent::{NameError, decode_name as decode, encode, encode_into, encoded_len};

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
