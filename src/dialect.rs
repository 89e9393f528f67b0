//! Everything that differs between protocol versions, as one table keyed by MSNP version.
//!
//! Handlers never compare version numbers; they ask the connection's `Dialect` what to do. Adding a
//! version means adding a row here.

/// How a client proves its identity.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Auth {
    /// `USR MD5`: MD5(challenge + password) in-band (MSNP2-7).
    Md5,
    /// `USR TWN`: a Passport ticket obtained over HTTP (MSNP8-12).
    Twn,
}

/// Shape of `XFR trid NS ...` (DS redirect).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum XfrNs {
    Bare,
    Zero,
    ZeroCurrent,
}

/// Shape of `USR trid OK ...`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UsrOk {
    Name,
    NameVerified,
    NameVerifiedRestricted,
    VerifiedRestricted,
}

/// Which fields the initial profile message carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Profile {
    Basic,
    Passport,
    ClientAddress,
    Abch,
}

/// Layout of the SYN dump (see NS.md 3.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum SynFormat {
    /// MSNP2-4: GTC, BLP, four LST lists with trid, serial, index and total.
    Lists,
    /// MSNP5-6: plus own PRPs and per-contact BPRs.
    ListsPhones,
    /// MSNP7: plus LSG groups and group ids on FL entries.
    ListsGroups,
    /// MSNP8-9: counts on SYN, one LST per contact with a list bitmask.
    Bitmask,
    /// MSNP10-11: timestamps, N=/F=/C= and GUIDs.
    Guid,
    /// MSNP12: as Guid plus a network id on LST.
    GuidNetwork,
}

/// How groups are identified on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Groups {
    None,
    Numeric,
    Guid,
}

/// Challenge algorithm for `CHL`/`QRY`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Challenge {
    None,
    Md5,
    Msnp11,
}

/// How a contact is added and removed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ListCommands {
    /// `ADD`/`REM` with handles and list serials (MSNP2-9).
    Add,
    /// `ADC`/`REM` with N=/C= forms and no serials (MSNP10-12).
    Adc,
}

/// What a client may send, per verb, in a given version.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Availability {
    /// Handled.
    Yes,
    /// Known but answered with `502` (command disabled), as the real service did for FND.
    Disabled,
    /// Unknown, wrong direction or not in this version: the real service disconnected.
    Removed,
}

#[derive(Debug, PartialEq, Eq)]
pub struct Dialect {
    pub version: u8,
    pub auth: Auth,
    /// `INF` exists (MSNP2-7).
    pub inf: bool,
    pub xfr_ns: XfrNs,
    pub usr_ok: UsrOk,
    pub profile: Profile,
    pub syn: SynFormat,
    /// Replies carry the list serial (MSNP2-9); MSNP10+ uses timestamps in SYN only.
    pub list_serials: bool,
    pub groups: Groups,
    pub challenge: Challenge,
    /// Client capabilities in CHG/ILN/NLN (MSNP8+).
    pub presence_caps: bool,
    /// MSNObject in CHG/ILN/NLN (MSNP9+).
    pub presence_msnobj: bool,
    /// `QNG n` rather than bare `QNG` (MSNP9+).
    pub qng_seconds: bool,
    /// Personal message: UUX/UBX (MSNP11+).
    pub personal_message: bool,
    /// `SBS 0 null` after USR OK (MSNP11+).
    pub sbs: bool,
    /// Capabilities on IRO/JOI (MSNP12).
    pub sb_caps: bool,
    pub list_commands: ListCommands,
    /// Own friendly name changes through `REA` (MSNP2-9) rather than `PRP MFN` (MSNP10+).
    pub rea: bool,
    /// Phone numbers: PRP and BPR (MSNP5+).
    pub phones: bool,
    /// Client `LST`/`LSG` requests outside SYN (MSNP2-8).
    pub client_lst: bool,
    /// URL replies carry a site id (MSNP3+).
    pub url_site_id: bool,
    /// Pending list PL and `ADC RL` acknowledgements (MSNP10+).
    pub pending_list: bool,
    /// AL and BL exclude each other (`219`). MSNP10+ clients block with `ADC BL` before `REM AL`,
    /// so there a handle may briefly be on both (BL wins).
    pub al_bl_exclusive: bool,
}

const fn row(version: u8) -> Dialect {
    Dialect {
        version,
        auth: if version >= 8 { Auth::Twn } else { Auth::Md5 },
        inf: version <= 7,
        xfr_ns: match version {
            2 => XfrNs::Bare,
            3..=6 => XfrNs::Zero,
            _ => XfrNs::ZeroCurrent,
        },
        usr_ok: match version {
            2..=5 => UsrOk::Name,
            6..=7 => UsrOk::NameVerified,
            8..=9 => UsrOk::NameVerifiedRestricted,
            _ => UsrOk::VerifiedRestricted,
        },
        profile: match version {
            2 => Profile::Basic,
            3..=7 => Profile::Passport,
            8..=9 => Profile::ClientAddress,
            _ => Profile::Abch,
        },
        syn: match version {
            2..=4 => SynFormat::Lists,
            5..=6 => SynFormat::ListsPhones,
            7 => SynFormat::ListsGroups,
            8..=9 => SynFormat::Bitmask,
            10..=11 => SynFormat::Guid,
            _ => SynFormat::GuidNetwork,
        },
        list_serials: version <= 9,
        groups: match version {
            2..=6 => Groups::None,
            7..=9 => Groups::Numeric,
            _ => Groups::Guid,
        },
        challenge: match version {
            2..=5 => Challenge::None,
            6..=10 => Challenge::Md5,
            _ => Challenge::Msnp11,
        },
        presence_caps: version >= 8,
        presence_msnobj: version >= 9,
        qng_seconds: version >= 9,
        personal_message: version >= 11,
        sbs: version >= 11,
        sb_caps: version >= 12,
        list_commands: if version >= 10 {
            ListCommands::Adc
        } else {
            ListCommands::Add
        },
        rea: version <= 9,
        phones: version >= 5,
        client_lst: version <= 8,
        url_site_id: version >= 3,
        pending_list: version >= 10,
        al_bl_exclusive: version <= 9,
    }
}

/// Oldest and newest versions served.
pub const OLDEST: u8 = 2;
pub const NEWEST: u8 = 12;

static DIALECTS: [Dialect; (NEWEST - OLDEST + 1) as usize] = [
    row(2),
    row(3),
    row(4),
    row(5),
    row(6),
    row(7),
    row(8),
    row(9),
    row(10),
    row(11),
    row(12),
];

impl Dialect {
    /// The dialect of `MSNPn`, if served.
    pub fn get(version: u8) -> Option<&'static Dialect> {
        DIALECTS.get(version.checked_sub(OLDEST)? as usize)
    }

    /// Picks the highest version offered in a `VER` request (`MSNP7 MSNP6 CVR0`).
    pub fn negotiate<'a>(offered: impl Iterator<Item = &'a str>) -> Option<&'static Dialect> {
        offered
            .filter_map(|v| v.strip_prefix("MSNP")?.parse::<u8>().ok())
            .filter_map(Dialect::get)
            .max_by_key(|d| d.version)
    }

    /// Whether a client may send `verb` to the notification server in this version.
    pub fn ns_command(&self, verb: &str) -> Availability {
        use Availability::*;
        let v = self.version;
        let yes = |cond: bool| if cond { Yes } else { Removed };
        match verb {
            "VER" | "CVR" | "USR" | "XFR" | "SYN" | "GTC" | "BLP" | "REM" | "CHG" | "URL"
            | "OUT" | "PNG" | "SND" => Yes,
            "INF" => yes(self.inf),
            "ADD" => yes(self.list_commands == ListCommands::Add),
            "ADC" | "SBP" => yes(self.list_commands == ListCommands::Adc),
            "REA" => yes(self.rea),
            "LST" | "LSG" => yes(self.client_lst),
            "ADG" | "RMG" | "REG" => yes(self.groups != Groups::None),
            "PRP" => yes(self.phones),
            "SDC" => yes(v >= 5),
            "IMS" => yes(v >= 3),
            "QRY" => yes(self.challenge != Challenge::None),
            "UUX" | "GCF" => yes(self.personal_message),
            "FND" => {
                if v <= 7 {
                    Disabled
                } else {
                    Removed
                }
            }
            "PAG" => {
                if (5..=8).contains(&v) {
                    Disabled
                } else {
                    Removed
                }
            }
            "PGD" => {
                if v >= 9 {
                    Disabled
                } else {
                    Removed
                }
            }
            _ => Removed,
        }
    }

    /// Versions listed highest first, as a client would offer them (for tests and the load tool).
    pub fn all() -> impl Iterator<Item = &'static Dialect> {
        DIALECTS.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negotiation_picks_highest_common() {
        let d = Dialect::negotiate("MSNP7 MSNP6 MSNP5 CVR0".split(' ')).unwrap();
        assert_eq!(d.version, 7);
        let d = Dialect::negotiate("MSNP15 MSNP12 MSNP11 CVR0".split(' ')).unwrap();
        assert_eq!(d.version, 12);
        assert!(Dialect::negotiate("MSNP1 CVR0".split(' ')).is_none());
        assert!(Dialect::negotiate("MSNP99 garbage".split(' ')).is_none());
    }

    #[test]
    fn table_rows_match_versions() {
        for (i, d) in Dialect::all().enumerate() {
            assert_eq!(d.version as usize, i + OLDEST as usize);
        }
        assert_eq!(
            Dialect::get(7).unwrap().ns_command("ADG"),
            Availability::Yes
        );
        assert_eq!(
            Dialect::get(6).unwrap().ns_command("ADG"),
            Availability::Removed
        );
        assert_eq!(
            Dialect::get(10).unwrap().ns_command("ADD"),
            Availability::Removed
        );
        assert_eq!(
            Dialect::get(5).unwrap().ns_command("FND"),
            Availability::Disabled
        );
        assert_eq!(
            Dialect::get(9).unwrap().ns_command("FND"),
            Availability::Removed
        );
    }
}
