//! Dates as MSNP10+ SYN wants them, derived from the list serial so that a client's cache check
//! (`SYN trid ts ts`) works exactly like the MSNP2-9 serial check.

/// Days since 1970-01-01 to a civil date (Howard Hinnant's algorithm).
pub(crate) fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// `2005-01-01T00:00:00.0000000-00:00` plus `serial` seconds.
pub fn from_serial(serial: u32) -> String {
    const BASE: i64 = 1_104_537_600; // 2005-01-01T00:00:00Z
    let t = BASE + serial as i64;
    let (y, m, d) = civil_from_days(t.div_euclid(86_400));
    let s = t.rem_euclid(86_400);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.0000000-00:00",
        s / 3600,
        (s / 60) % 60,
        s % 60
    )
}

/// `t` (seconds since the Unix epoch) as ISO 8601 in UTC, `2009-06-01T12:00:00Z`: the form of
/// the `wsu:Created`/`wsu:Expires` lifetimes in RST.srf answers.
pub fn iso_utc(t: u64) -> String {
    let t = t as i64;
    let (y, m, d) = civil_from_days(t.div_euclid(86_400));
    let s = t.rem_euclid(86_400);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        s / 3600,
        (s / 60) % 60,
        s % 60
    )
}

/// The serial `from_serial` wrote into `ts`, if `ts` is one of ours: the address book's
/// `lastChange` is written that way, so a client's cached `lastChange` tells which list version
/// it has (anything else, or a date before 2005, is `None`: the client gets a full answer).
pub fn to_serial(ts: &str) -> Option<u32> {
    let b = ts.as_bytes();
    if b.len() < 19
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b'T'
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let s = ts.get(r)?;
        s.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| s.parse().ok())
            .flatten()
    };
    let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hh, mm, ss) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) || hh > 23 || mm > 59 || ss > 59 {
        return None;
    }
    // Days from civil (Howard Hinnant's algorithm), the inverse of `civil_from_days`.
    let y2 = if m <= 2 { y - 1 } else { y };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let t = days * 86_400 + hh * 3600 + mm * 60 + ss - 1_104_537_600;
    u32::try_from(t).ok()
}

/// Wall-clock seconds since the Unix epoch.
pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

#[cfg(test)]
mod iso_tests {
    use super::*;

    #[test]
    fn iso_and_serial_round_trip() {
        assert_eq!(iso_utc(1_104_537_600), "2005-01-01T00:00:00Z");
        assert_eq!(iso_utc(1_244_289_600), "2009-06-06T12:00:00Z");
        for serial in [0, 1, 59, 86_399, 86_400, 31_536_000, 123_456_789, u32::MAX] {
            assert_eq!(to_serial(&from_serial(serial)), Some(serial));
        }
        assert_eq!(to_serial("2004-12-31T23:59:59Z"), None, "before 2005");
        for bad in [
            "",
            "0001-01-01",
            "2009-13-01T00:00:00",
            "2009-01-01 00:00:00",
            "2009-01-01T0a:00:00",
        ] {
            assert_eq!(to_serial(bad), None, "{bad}");
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn serial_timestamps() {
        assert_eq!(super::from_serial(0), "2005-01-01T00:00:00.0000000-00:00");
        assert_eq!(
            super::from_serial(86_400 * 59 + 3661),
            "2005-03-01T01:01:01.0000000-00:00"
        );
    }
}
