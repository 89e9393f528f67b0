//! The host names msnpd answers for: every name an MSN Messenger 1.0-7.5, Windows Messenger
//! 4.x-5.x or Windows Live Messenger 8.0-2009 client needs to reach to sign in and chat. docs/dns.md lists them with their sources
//! and the names we deliberately leave to the upstream resolver.

/// Names answered with this server's address. Lower case, without the trailing dot.
pub const OURS: &[&str] = &[
    // Dispatch server (TCP 1863), baked into every MSN and Windows Messenger version.
    "messenger.hotmail.com",
    // HTTP gateway (port 80) that MSN 5.0+ falls back to when TCP 1863 is blocked; the real one is
    // gone, so pointing it at us keeps the fallback on the LAN.
    "gateway.messenger.hotmail.com",
    // Passport 1.4 nexus (HTTPS /rdr/pprdr.asp): MSN 5.0-7.0, Windows Messenger 4.7-5.x.
    "nexus.passport.com",
    // The login2.srf host the official nexus named in DALogin; clients that kept the old
    // PassportURLs go there without asking the nexus.
    "login.passport.com",
    // RST.srf host of MSN 7.5 (MSNP12); also the md5auth.srf host of Hotmail links (URL command).
    "loginnet.passport.com",
    // Alternative RST.srf host that some MSN 7.5 builds and third-party clients use.
    "login.passport.net",
    // RST.srf / login2.srf host of late 7.5 builds and of Escargot-era nexus replies.
    "login.live.com",
    // MsgrConfig (plain HTTP, port 80), fetched at every sign-in by MSN 6.0+.
    "config.messenger.msn.com",
    // Windows Live Messenger 8.0-2009 (MSNP13-18) over HTTPS: the address book and sharing
    // service (`/abservice/*.asmx`; WLM 8.x uses contacts.msn.com / omega, WLM 2009 the byrdr
    // redirector, libpurple local-bay).
    "contacts.msn.com",
    "omega.contacts.msn.com",
    "byrdr.omega.contacts.msn.com",
    "local-bay.contacts.msn.com",
    // The roaming profile (`/storageservice/SchematizedStore.asmx`), WLM 8.5+.
    "storage.msn.com",
    "storage.live.com",
    "tkrdr.storage.msn.com",
    // Offline messages: sending (OIM) and retrieving (RSI).
    "ows.messenger.msn.com",
    "rsi.hotmail.com",
    // The SSO host WLM 8.5+ may ask tokens of besides login.live.com.
    "messengersecure.live.com",
];

/// Whether `name` (as it appears in a question, any case, with or without the trailing dot) is
/// one of ours. Only exact names: subdomains of these are not ours.
pub fn is_ours(name: &str) -> bool {
    let name = name.strip_suffix('.').unwrap_or(name);
    OURS.iter().any(|ours| ours.eq_ignore_ascii_case(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_case_insensitively_with_or_without_the_root_dot() {
        assert!(is_ours("messenger.hotmail.com"));
        assert!(is_ours("messenger.hotmail.com."));
        assert!(is_ours("Messenger.HOTMAIL.com."));
        assert!(is_ours("NEXUS.passport.com"));
        assert!(is_ours("config.messenger.msn.com"));
    }

    #[test]
    fn other_names_and_near_misses_are_not_ours() {
        assert!(!is_ours("hotmail.com"));
        assert!(!is_ours("www.hotmail.com"));
        assert!(!is_ours("x.messenger.hotmail.com"));
        assert!(!is_ours("messenger.hotmail.com.evil.example"));
        assert!(!is_ours("messenger.hotmail.co"));
        assert!(!is_ours("messenger.hotmail.com.."));
        assert!(!is_ours(""));
        assert!(!is_ours("."));
    }

    #[test]
    fn the_table_is_lower_case_and_has_no_root_dot() {
        for name in OURS {
            assert_eq!(*name, name.to_ascii_lowercase());
            assert!(!name.ends_with('.'));
        }
    }
}
