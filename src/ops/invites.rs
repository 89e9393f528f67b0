//! Invitation codes as the operator sees them (`msnpd invite`).

use crate::storage::Invite;

/// Letters and digits that cannot be mistaken for one another when read aloud or typed.
const CODE_ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";

/// A new code like `K7MQ-X9PD-2TWA`: 12 symbols of 32, 60 bits.
pub fn new_code() -> String {
    let mut raw = [0u8; 12];
    crate::auth::fill_random(&mut raw);
    let mut s = String::with_capacity(14);
    for (i, b) in raw.iter().enumerate() {
        if i > 0 && i % 4 == 0 {
            s.push('-');
        }
        // 32 divides 256: no bias.
        s.push(CODE_ALPHABET[(*b as usize) % CODE_ALPHABET.len()] as char);
    }
    s
}

/// `http://ADDRESS:8080` with this machine's first LAN address (the default HTTP port).
pub fn default_base_url() -> String {
    // The first of the default HTTP listeners is the one that is always bound (8080).
    let http = crate::config::Config::new(Default::default()).http_listen[0].addr;
    let hosts = crate::net::lan::client_hosts(http, None);
    let host = hosts.first().map_or("127.0.0.1", String::as_str);
    format!("http://{host}:{}", http.port())
}

/// `YYYY-MM-DD HH:MM UTC` of a unix time.
pub fn date(t: i64) -> String {
    let (y, m, d) = crate::protocol::timestamp::civil_from_days(t.div_euclid(86_400));
    let secs = t.rem_euclid(86_400);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02} UTC",
        secs / 3600,
        secs % 3600 / 60
    )
}

/// One line of `msnpd invite list`: code, uses, expiry, state (tab-separated).
pub fn describe(i: &Invite, now: i64) -> String {
    let state = match i.refused(now) {
        None => "active",
        Some(crate::storage::InviteRefused::Revoked) => "revoked",
        Some(crate::storage::InviteRefused::Expired) => "expired",
        Some(_) => "used up",
    };
    format!(
        "{}\t{}/{} used\texpires {}\t{state}",
        i.code,
        i.uses,
        i.max_uses,
        i.expires.map_or("never".to_string(), date)
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn dates_and_codes() {
        assert_eq!(super::date(0), "1970-01-01 00:00 UTC");
        assert_eq!(super::date(951_782_400 + 3_660), "2000-02-29 01:01 UTC");
        let c = super::new_code();
        assert_eq!(c.len(), 14);
        assert!(
            c.bytes()
                .all(|b| b == b'-' || super::CODE_ALPHABET.contains(&b))
        );
    }
}
