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

/// Wall-clock seconds since the Unix epoch.
pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
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
