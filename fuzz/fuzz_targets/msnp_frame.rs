//! Fuzzes the MSNP command framer (`parse_frame`) in both roles, the way the server's read loop
//! drives it, plus the name helpers applied to every argument (`percent::decode_name`,
//! `names::normalize_handle`, `percent::Enc`).

#![no_main]

use libfuzzer_sys::fuzz_target;
use msnpd::limits::{MAX_ARGS, MAX_HANDLE, MAX_LINE};
use msnpd::protocol::names::normalize_handle;
use msnpd::protocol::percent::{Enc, NameError, decode_name as decode, encode, encoded_len};
use msnpd::protocol::{Role, parse_frame};

/// Name helpers on one string: no panics, and the encode/decode pair round-trips.
fn check_names(s: &str) {
    let enc = Enc(s).to_string(); // panics if the Display impl ever returns Err
    assert_eq!(enc, encode(s));
    assert_eq!(enc.len(), encoded_len(s));
    assert!(enc.bytes().all(|b| b > b' ' && b < 0x7f));
    if s.bytes().any(|b| b < b' ' || b == 0x7f) {
        // Names may not carry control bytes, however they are written (issue 11).
        assert_eq!(decode(&enc), Err(NameError::Control));
    } else {
        assert_eq!(decode(&enc).as_deref(), Ok(s));
    }
    if let Ok(d) = decode(s) {
        assert!(d.len() <= s.len());
        let _ = Enc(&d).to_string();
    }
    if let Some(h) = normalize_handle(s) {
        assert!(h.len() <= MAX_HANDLE);
        assert_eq!(h, s.to_ascii_lowercase());
        assert_eq!(normalize_handle(&h).as_deref(), Some(h.as_str()));
    }
}

/// Parses consecutive frames from `data` like `server::session` does, checking every invariant.
fn run(data: &[u8], role: Role) {
    let mut pos = 0;
    while pos < data.len() {
        let buf = &data[pos..];
        match parse_frame(buf, role) {
            Ok(Some((cmd, used))) => {
                // Progress, and never past the end.
                assert!(
                    used >= 1 && used <= buf.len(),
                    "used {used} of {}",
                    buf.len()
                );
                // The payload is the tail of the consumed bytes, inside the buffer.
                let p = cmd.payload;
                assert!(p.len() <= role.max_payload());
                assert!(p.len() < used);
                let start = p.as_ptr() as usize;
                let base = buf.as_ptr() as usize;
                if !p.is_empty() {
                    assert_eq!(start, base + used - p.len());
                }
                assert!(cmd.args.len() <= MAX_ARGS);
                if cmd.verb.is_empty() {
                    assert!(cmd.trid.is_none() && cmd.args.is_empty() && p.is_empty());
                } else {
                    assert_eq!(cmd.verb.len(), 3);
                    assert!(
                        cmd.verb
                            .bytes()
                            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
                    );
                    assert_eq!(cmd.trid.is_none(), matches!(cmd.verb, "PNG" | "OUT"));
                    // The command line itself fits in MAX_LINE.
                    assert!(used - p.len() <= MAX_LINE);
                }
                for a in cmd.args.iter() {
                    assert!(!a.is_empty() && !a.contains(' '));
                    check_names(a);
                }
                pos += used;
            }
            // Needs more bytes: must be a prefix a pooled read buffer can still complete,
            // otherwise a full buffer would stall the connection.
            Ok(None) => {
                assert!(buf.len() < MAX_LINE + role.max_payload());
                break;
            }
            Err(e) => {
                let _ = e.to_string();
                break;
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    for role in [Role::Notification, Role::Switchboard] {
        run(data, role);
        // Bytes arrive in arbitrary pieces: every strict prefix of a complete frame is "need more".
        if let Ok(Some((_, used))) = parse_frame(data, role) {
            for cut in [used - 1, used / 2, used.saturating_sub(3)] {
                assert!(
                    matches!(parse_frame(&data[..cut], role), Ok(None)),
                    "prefix {cut}/{used} of a complete frame is not Ok(None)"
                );
            }
        }
    }
    if let Ok(s) = std::str::from_utf8(data) {
        if s.len() <= 512 {
            check_names(s);
        }
    }
});
