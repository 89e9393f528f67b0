//! Everything that differs between protocol versions, as one table keyed by MSNP version.
//!
//! Handlers never compare version numbers; they ask the connection's `Dialect` what to do. Adding a
//! version means adding a row here. Which commands exist where is the command table's
//! (`commands`, which also answers `Dialect::ns_command`), whose rows name the fields below.

pub mod commands;

/// How a client proves its identity.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Auth {
    /// `USR MD5`: MD5(challenge + password) in-band (MSNP2-7).
    Md5,
    /// `USR TWN`: a Passport ticket obtained over HTTP (MSNP8-14; MSNP13-14 get it from the
    /// RST.srf envelope, as MSN 7.5 does).
    Twn,
    /// `USR SSO`: a ticket and a session key from the RST.srf multi-token envelope, and the
    /// `MBI_KEY_OLD` answer to a nonce proving the key (MSNP15+, WLM.md; `auth::sso`).
    Sso,
}

/// Shape of `XFR trid NS ...` (DS redirect).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum XfrNs {
    /// `XFR trid NS host:port` (MSNP2).
    Bare,
    /// `XFR trid NS host:port 0` (MSNP3-6).
    Zero,
    /// `XFR trid NS host:port 0 host:port`, the current server repeated (MSNP7+).
    ZeroCurrent,
}

/// Shape of `USR trid OK ...`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UsrOk {
    /// `USR trid OK handle name` (MSNP2-5).
    Name,
    /// `... name 1`: plus the verified flag (MSNP6-7).
    NameVerified,
    /// `... name 1 0`: plus the restricted flag (MSNP8-9).
    NameVerifiedRestricted,
    /// `USR trid OK handle 1 0`: no name, it comes with the profile (MSNP10+).
    VerifiedRestricted,
}

/// Which fields the initial profile message carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Profile {
    /// Login time only (MSNP2).
    Basic,
    /// Plus the Passport member fields and `MSPAuth` (MSNP3-7).
    Passport,
    /// Plus `ClientIP`/`ClientPort` (MSNP8-9).
    ClientAddress,
    /// Plus `ABCHMigrated: 1` (MSNP10-15: lists without serials).
    Abch,
    /// Plus `MPOPEnabled: 1` (MSNP16+: the account may be signed in at several places; the
    /// profile WLM 2009 got from the service, as community servers replay it).
    Mpop,
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
    /// No groups (MSNP2-6).
    None,
    /// Numbers 0..`MAX_GROUPS` (MSNP7-9).
    Numeric,
    /// GUIDs (MSNP10+).
    Guid,
}

/// Challenge algorithm for `CHL`/`QRY`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Challenge {
    /// No `CHL` (MSNP2-5).
    None,
    /// MD5(challenge + product key) (MSNP6-10).
    Md5,
    /// The MSNP11 algorithm (`auth::msnp11_response`) (MSNP11+; WLM's product ids use it too).
    Msnp11,
}

/// How a watcher names a contact on presence lines (`NLN`, `ILN`, `FLN`, `UBX`).
///
/// W msnp14.md: MSNP14 added the network id after the handle (`NLN NLN alice@x 1 name ...`,
/// `FLN alice@x 1`, `UBX alice@x 1 len`) for Yahoo interop; W msnp18.md: MSNP18 moved it in
/// front (`NLN NLN 1:alice@x name ...`, `FLN 1:alice@x`, `UBX 1:alice@x len`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum PresenceAddress {
    /// `handle` (MSNP2-13).
    Handle,
    /// `handle network` (MSNP14-17).
    HandleNetwork,
    /// `network:handle` (MSNP18).
    Prefixed,
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
    /// Known, and always answered with this error code (the service's answer when the feature
    /// behind the command cannot succeed, e.g. a page with no pager gateway).
    Refused(u16),
    /// Unknown, wrong direction or not in this version: the real service disconnected.
    Removed,
}

/// The answer to a `BLP` or `GTC` that names the mode already in force.
///
/// W blp.md and gtc.md ("Already in that mode") show `218`, in examples that carry a list version,
/// i.e. MSNP2-9. But clients written against the live service of 2008-2012 (a libpurple MSNP12
/// plug-in sends `BLP trid AL` after every sign-in, whatever the mode) treat every unexpected NS
/// error as fatal, so the service of that era cannot have answered 218 there. We keep 218 where
/// the clients are the ones the wiki's transcripts come from (MSNP2-7, MSN 1.0-4.x, which only
/// send BLP/GTC when the user changes the setting) and echo the setting as a success, without a
/// change and without a new list version, from MSNP8 on. GTC follows the same rule: the same
/// clients resend it, and a success for a no-op is harmless to every client.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SameMode {
    /// `218 trid`.
    Refuse,
    /// `BLP trid {serial} AL`, as for a change, with the current serial.
    Echo,
}

/// The initial e-mail message sent after the profile (NS.md 2.9).
///
/// W msnp11.md: MSNP11 replaced `text/x-msmsgsinitialemailnotification` by the XML
/// `text/x-msmsgsinitialmdatanotification`. MSNP2 had `application/x-msmsgsemailnotification` and
/// MSNP3-7 the same initialemailnotification type as MSNP8-10 (NS.md 2.9). H and N ("Notification -
/// Messages") say the service sent it after the profile only to Hotmail accounts with unread mail;
/// which accounts got one with zero counts is not documented. Clients of the MSNP8+ era written
/// against the live service expect it after the profile (issue 10), and zero counts are what a
/// client shows for an empty inbox, so MSNP8-12 get it; MSNP2-7 clients never needed it and keep
/// the exact login sequence they were tested with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InitialMail {
    /// Not sent (MSNP2-7).
    None,
    /// `text/x-msmsgsinitialemailnotification` with Inbox-Unread/Folders-Unread 0 (MSNP8-10).
    Email,
    /// `text/x-msmsgsinitialmdatanotification` with an empty `Mail-Data` (MSNP11-12).
    Mdata,
}

/// Shape of the `BPR` a watcher gets when a contact changes a phone number (outside SYN).
///
/// W bpr.md: `BPR {list-version} {user-handle} property value`, the handle dropped only inside
/// SYN from MSNP8, the list version dropped from MSNP10 (`ABCHMigrated: 1`). Example:
/// `BPR 256 anotheruser@hotmail.com PHH 1%20(444)%20222%203333`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AsyncBpr {
    /// No phone numbers in this version (MSNP2-4).
    None,
    /// `BPR serial handle TYPE value` (MSNP5-9).
    SerialHandle,
    /// `BPR handle TYPE value` (MSNP10-12).
    Handle,
}

/// Client libraries that read a reply shape of their own, recognised from what they send.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Quirk {
    /// An official client, or one that reads the documented shapes.
    #[default]
    None,
    /// `msnp11-sdk` (crates.io), written against one community server: it accepts `ADG`, `RMG`
    /// and `REG` replies only with an extra `1` after the trid (`ADG trid 1 name guid`,
    /// `RMG trid 1 guid`, `REG trid 1 name guid`). Recognised by its fixed `CVR` fields
    /// `winnt 10 i386 ... msmsgs`: no official client reports OS version `10` with `i386`, and
    /// they all send the codebase in capitals (`MSMSGS`).
    Msnp11Sdk,
}

impl Quirk {
    /// Recognises a client library from the arguments of its `CVR` (after the trid).
    pub fn from_cvr(args: &[&str]) -> Quirk {
        match args {
            [_, "winnt", "10", "i386", _, _, "msmsgs", ..] => Quirk::Msnp11Sdk,
            _ => Quirk::None,
        }
    }
}

/// Shape of the MSNP10-12 (GUID) `ADG`/`RMG`/`REG` replies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GuidGroupReply {
    /// W adg.md/rmg.md/reg.md "With group GUIDs": `ADG trid name guid`, `RMG trid guid`,
    /// `REG trid guid name` (MSNPSharp and the official clients read these).
    Documented,
    /// `ADG trid 1 name guid`, `RMG trid 1 guid`, `REG trid 1 name guid` (see `Quirk::Msnp11Sdk`).
    LeadingOne,
}

/// One protocol version's answers to every question a handler may ask, so that handlers hold no
/// version comparisons: a session keeps a `&'static Dialect` from `VER` on.
#[derive(Debug, PartialEq, Eq)]
pub struct Dialect {
    /// The MSNP version number (2-18).
    pub version: u8,
    /// How a client logs in.
    pub auth: Auth,
    /// `INF` exists (MSNP2-7).
    pub inf: bool,
    /// Shape of the dispatch redirect.
    pub xfr_ns: XfrNs,
    /// Shape of the login confirmation.
    pub usr_ok: UsrOk,
    /// Fields of the profile message after login.
    pub profile: Profile,
    /// Layout of the `SYN` dump.
    pub syn: SynFormat,
    /// Replies carry the list serial (MSNP2-9); MSNP10+ uses timestamps in SYN only.
    pub list_serials: bool,
    /// How groups are named on the wire.
    pub groups: Groups,
    /// Which `CHL`/`QRY` algorithm, if any.
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
    /// `ADD` or `ADC` for list changes.
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
    /// Answer to a `BLP`/`GTC` that names the mode already set.
    pub same_mode: SameMode,
    /// The e-mail notice after the profile.
    pub initial_mail: InitialMail,
    /// Shape of a `BPR` outside `SYN`.
    pub async_bpr: AsyncBpr,
    /// `SDC` (send an invitation e-mail) exists (MSNP5+).
    pub sdc: bool,
    /// `IMS` (block switchboard invitations) exists (MSNP3+).
    pub ims: bool,
    /// What `FND` (member directory search) gets.
    ///
    /// W fnd.md: the directory search answered `FND trid 0 0` when nothing matched, and from
    /// April 2003 `502` in every version; 502 only exists from MSNP7 on (W fnd.md, "Known
    /// changes"), so older clients get the empty result instead (we keep no member directory).
    /// NS.md 0.1 lists FND as dead (502) in MSNP8 too.
    pub fnd: Availability,
    /// What `PAG` (page a mobile device) gets.
    ///
    /// W pag.md: no positive answer exists; a page that could not be sent got `800` (MSNP5-8),
    /// and from MSNP9 PAG itself got `715` (replaced by PGD). We have no pager gateway, so every
    /// page fails.
    pub pag: Availability,
    /// What `PGD` (page data, MSNP9+) gets. W pgd.md: a failed PGD got `800`.
    pub pgd: Availability,
    /// The contact lists live in the address book (SOAP on the HTTPS port) and are sent to the
    /// server with `ADL`/`RML` (MSNP13+): `SYN`, `ADC`/`ADD`, `REM`, `ADG`/`RMG`/`REG`, `SBP` and
    /// `GTC` are gone (W msnp13.md, WLM.md "Versions and clients").
    pub address_book: bool,
    /// How contacts are named on presence lines (network ids MSNP14+, prefixes MSNP18).
    pub presence_address: PresenceAddress,
    /// How `ILN` (the answer to the first `CHG`) names them. libpurple's MSNP18 plug-in (the
    /// WLM-era client we can run, WLM.md) strips the `1:` prefix from `NLN`/`FLN`/`UBX` but looks
    /// an `ILN` contact up by its third field as written, and reads the network id from the
    /// fourth: given `ILN t NLN 1:alice@x ...` it finds nobody and shows everyone offline. So
    /// MSNP18 answers `ILN` in the MSNP14 shape (`alice@x 1`), which the client reads; the wiki's
    /// `1:` form stays on every other presence line. docs/wlm.md records both.
    pub iln_address: PresenceAddress,
    /// Several endpoints of one account online at once, keyed by machine GUID; `USR SSO S`
    /// carries the GUID, the switchboard names participants `email;{guid}` (MSNP16+, WLM.md).
    pub mpop: bool,
    /// Capabilities are `caps:capsex` in `CHG`/`NLN`/`ILN` (MSNP16+, W msnp16.md).
    pub caps_ex: bool,
    /// `UUN`/`UBN`: messages to and from a contact's endpoints (MSNP13+, W uun.md).
    pub endpoint_messages: bool,
    /// What `UUM` (a message to a Yahoo contact, MSNP14+) gets: we federate with no other
    /// network, so it always fails (W uum.md lists no error; 502 is the service's "disabled").
    pub uum: Availability,
    /// What the circle commands `PUT`/`SDG` (MSNP18) get: circles (network 9) are not served, so
    /// they are disabled, as Escargot refuses circles.
    pub circles: Availability,
}

const fn row(version: u8) -> Dialect {
    Dialect {
        version,
        auth: match version {
            2..=7 => Auth::Md5,
            8..=14 => Auth::Twn,
            _ => Auth::Sso,
        },
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
            10..=15 => Profile::Abch,
            _ => Profile::Mpop,
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
        same_mode: if version >= 8 {
            SameMode::Echo
        } else {
            SameMode::Refuse
        },
        initial_mail: match version {
            2..=7 => InitialMail::None,
            8..=10 => InitialMail::Email,
            _ => InitialMail::Mdata,
        },
        async_bpr: match version {
            2..=4 => AsyncBpr::None,
            5..=9 => AsyncBpr::SerialHandle,
            _ => AsyncBpr::Handle,
        },
        sdc: version >= 5,
        ims: version >= 3,
        fnd: if version <= 6 {
            Availability::Yes
        } else {
            Availability::Disabled
        },
        pag: match version {
            5..=8 => Availability::Refused(800),
            9.. => Availability::Refused(715),
            _ => Availability::Removed,
        },
        pgd: if version >= 9 {
            Availability::Refused(800)
        } else {
            Availability::Removed
        },
        address_book: version >= 13,
        presence_address: match version {
            2..=13 => PresenceAddress::Handle,
            14..=17 => PresenceAddress::HandleNetwork,
            _ => PresenceAddress::Prefixed,
        },
        iln_address: match version {
            2..=13 => PresenceAddress::Handle,
            _ => PresenceAddress::HandleNetwork,
        },
        mpop: version >= 16,
        caps_ex: version >= 16,
        endpoint_messages: version >= 13,
        uum: if version >= 14 {
            Availability::Disabled
        } else {
            Availability::Removed
        },
        circles: if version >= 18 {
            Availability::Disabled
        } else {
            Availability::Removed
        },
    }
}

/// Oldest version served (MSN Messenger 1.0).
pub const OLDEST: u8 = 2;
/// Newest version served (Windows Live Messenger 2009).
pub const NEWEST: u8 = 18;

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
    row(13),
    row(14),
    row(15),
    row(16),
    row(17),
    row(18),
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

    /// Shape of the GUID group replies for a client with `quirk`.
    pub fn guid_group_reply(&self, quirk: Quirk) -> GuidGroupReply {
        match quirk {
            Quirk::Msnp11Sdk => GuidGroupReply::LeadingOne,
            Quirk::None => GuidGroupReply::Documented,
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
        assert_eq!(d.version, 15);
        let d = Dialect::negotiate("MSNP21 MSNP18 MSNP15 CVR0".split(' ')).unwrap();
        assert_eq!(d.version, 18);
        assert!(Dialect::negotiate("MSNP1 CVR0".split(' ')).is_none());
        assert!(Dialect::negotiate("MSNP99 garbage".split(' ')).is_none());
    }

    #[test]
    fn msnp11_sdk_is_recognised_from_cvr() {
        let sdk = "0x0409 winnt 10 i386 msnp11-sdk 0.13.0 msmsgs a@b.com";
        let sdk: Vec<&str> = sdk.split(' ').collect();
        assert_eq!(Quirk::from_cvr(&sdk), Quirk::Msnp11Sdk);
        let official = "0x0409 winnt 5.1 i386 MSNMSGR 7.0.0777 MSMSGS a@b.com";
        let official: Vec<&str> = official.split(' ').collect();
        assert_eq!(Quirk::from_cvr(&official), Quirk::None);
        let d = Dialect::get(11).unwrap();
        assert_eq!(
            d.guid_group_reply(Quirk::Msnp11Sdk),
            GuidGroupReply::LeadingOne
        );
        assert_eq!(d.guid_group_reply(Quirk::None), GuidGroupReply::Documented);
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
            Dialect::get(7).unwrap().ns_command("FND"),
            Availability::Disabled
        );
        assert_eq!(
            Dialect::get(9).unwrap().ns_command("FND"),
            Availability::Disabled
        );
        assert_eq!(
            Dialect::get(3).unwrap().ns_command("FND"),
            Availability::Yes
        );
        assert_eq!(
            Dialect::get(9).unwrap().ns_command("PAG"),
            Availability::Refused(715)
        );
    }
}
