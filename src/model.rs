//! What an account is, independent of storage and wire format.

use std::borrow::Cow;

/// An account's row id in the database: stable for the account's life, cheaper to key maps by
/// than the handle, and never sent to clients.
pub type UserId = i64;

/// An endpoint's machine GUID (MSNP16+ MPOP: `USR SSO S ... {guid}`, `email;{guid}` on the
/// switchboard), kept as 16 bytes and written back in the service's form: braces, upper case.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct MachineGuid(pub [u8; 16]);

impl MachineGuid {
    /// Length of the written form, `{8-4-4-4-12}`.
    pub const TEXT_LEN: usize = 38;

    /// Reads `{F26D1F07-95E2-403C-BC18-D4BFED493428}` (braces optional, any case).
    pub fn parse(s: &str) -> Option<MachineGuid> {
        let s = s
            .strip_prefix('{')
            .map_or(s, |r| r.strip_suffix('}').unwrap_or(r));
        let b = s.as_bytes();
        if b.len() != 36 {
            return None;
        }
        let mut out = [0u8; 16];
        let mut n = 0;
        let mut i = 0;
        while i < b.len() {
            if matches!(i, 8 | 13 | 18 | 23) {
                if b[i] != b'-' {
                    return None;
                }
                i += 1;
                continue;
            }
            let hi = (b[i] as char).to_digit(16)?;
            let lo = (*b.get(i + 1)? as char).to_digit(16)?;
            out[n] = (hi * 16 + lo) as u8;
            n += 1;
            i += 2;
        }
        (n == 16).then_some(MachineGuid(out))
    }

    /// The written form into a fixed buffer (no allocation on the fan-out path).
    pub fn text(&self) -> heapless::String<{ MachineGuid::TEXT_LEN }> {
        const HEX: &[u8; 16] = b"0123456789ABCDEF";
        let mut out = heapless::String::new();
        let _ = out.push('{');
        for (i, byte) in self.0.iter().enumerate() {
            if matches!(i, 4 | 6 | 8 | 10) {
                let _ = out.push('-');
            }
            let _ = out.push(HEX[(byte >> 4) as usize] as char);
            let _ = out.push(HEX[(byte & 15) as usize] as char);
        }
        let _ = out.push('}');
        out
    }
}

impl std::fmt::Display for MachineGuid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text())
    }
}

/// List membership bits, as MSNP8+ writes them in LST.
pub mod list {
    /// Forward list: the people I watch.
    pub const FL: u8 = 1;
    /// Allow list: who may see me and invite me.
    pub const AL: u8 = 2;
    /// Block list: who may not.
    pub const BL: u8 = 4;
    /// Reverse list: who has me on their FL (kept by the server, read-only for the client).
    pub const RL: u8 = 8;
    /// Pending list (MSNP10+): reverse-list entries the user has not acknowledged yet.
    pub const PL: u8 = 16;

    /// Parses a list name from a command.
    pub fn parse(s: &str) -> Option<u8> {
        Some(match s {
            "FL" => FL,
            "AL" => AL,
            "BL" => BL,
            "RL" => RL,
            "PL" => PL,
            _ => return None,
        })
    }

    /// The list's name for a single bit, as commands write it (anything else reads as `PL`).
    pub fn name(bit: u8) -> &'static str {
        match bit {
            FL => "FL",
            AL => "AL",
            BL => "BL",
            RL => "RL",
            _ => "PL",
        }
    }
}

/// Who may see me when they are on neither AL nor BL.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Blp {
    /// Everyone not blocked (`BLP AL`, the default).
    Allow,
    /// Only those on my AL (`BLP BL`).
    Block,
}

impl Blp {
    /// The word `BLP` and `SYN` write for it.
    pub fn code(self) -> &'static str {
        match self {
            Blp::Allow => "AL",
            Blp::Block => "BL",
        }
    }
}

/// A user's status as `CHG` sets it and `NLN`/`ILN` show it; every version has the same eight.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// `NLN`.
    Online,
    /// `BSY`.
    Busy,
    /// `IDL`, set by the client after inactivity.
    Idle,
    /// `BRB`.
    BeRightBack,
    /// `AWY`.
    Away,
    /// `PHN`.
    OnPhone,
    /// `LUN`.
    OutToLunch,
    /// `HDN`: signed in but shown offline to everyone (watchers get `FLN`).
    Hidden,
}

impl Status {
    /// The status of a three-letter code, `None` for an unknown one.
    pub fn parse(s: &str) -> Option<Status> {
        Some(match s {
            "NLN" => Status::Online,
            "BSY" => Status::Busy,
            "IDL" => Status::Idle,
            "BRB" => Status::BeRightBack,
            "AWY" => Status::Away,
            "PHN" => Status::OnPhone,
            "LUN" => Status::OutToLunch,
            "HDN" => Status::Hidden,
            _ => return None,
        })
    }

    /// The three-letter code written on the wire.
    pub fn code(self) -> &'static str {
        match self {
            Status::Online => "NLN",
            Status::Busy => "BSY",
            Status::Idle => "IDL",
            Status::BeRightBack => "BRB",
            Status::Away => "AWY",
            Status::OnPhone => "PHN",
            Status::OutToLunch => "LUN",
            Status::Hidden => "HDN",
        }
    }
}

/// Someone on one or more of my lists, with what I stored about them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Contact {
    /// Their handle (lower case).
    pub handle: String,
    /// The name I stored for this contact (decoded).
    pub name: String,
    /// The contact's id in MSNP10+ commands (`ADC`, `REM FL guid`), made when first added.
    pub guid: String,
    /// Which of my lists they are on (`list` bits).
    pub lists: u8,
    /// Bit n = member of group n (numeric id). Bit 0 is "Other Contacts" for MSNP7-9.
    pub groups: u32,
    /// The contact's own phone numbers as of login (sent as BPR in SYN).
    pub phones: Phones,
}

/// One of my contact groups.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Group {
    /// Borrowed when it is the default name every account's group 0 starts with (see
    /// `Group::name_from`): one allocation less per online user.
    pub name: Cow<'static, str>,
    /// The group's id in MSNP10+ commands; MSNP7-9 use its number (the map key).
    pub guid: String,
}

/// The name of group 0, which every account has from its creation.
pub const OTHER_CONTACTS: &str = "Other Contacts";

impl Group {
    /// A stored group name, sharing the default one instead of copying it.
    pub fn name_from(stored: String) -> Cow<'static, str> {
        if stored == OTHER_CONTACTS {
            Cow::Borrowed(OTHER_CONTACTS)
        } else {
            Cow::Owned(stored)
        }
    }
}

/// Phone numbers and mobile settings (PRP): PHH, PHW, PHM as text, MOB and MBE as flags.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Phones {
    /// `PHH`, URL-encoded as the client sent it.
    pub home: String,
    /// `PHW`.
    pub work: String,
    /// `PHM`.
    pub mobile: String,
    /// `MOB Y`: others may page my mobile device.
    pub mob: bool,
    /// `MBE Y`: mobile device enabled.
    pub mbe: bool,
}

/// Everything stored about an account that a session uses, loaded at login and kept in memory
/// (the mirror) while the user is online, so that commands are checked without a query.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Account {
    // No id or handle: the directory's session record keeps the one copy (`Member::id`,
    // `Member::handle` in ns/directory/presence.rs).
    /// My friendly name, decoded.
    pub friendly: String,
    /// Who sees me when they are on neither AL nor BL.
    pub blp: Blp,
    /// `GTC A` (prompt when someone adds me) when true.
    pub gtc_prompt: bool,
    /// List version: raised by every list change, so that a client's cached lists are re-sent
    /// only when they changed (`SYN`).
    pub serial: u32,
    /// `None` when none is set, as for most accounts (see `phones()` and `Phones::boxed`).
    pub phones: Option<Box<Phones>>,
    /// My groups by number (0 is "Other Contacts").
    pub groups: SortedMap<u8, Group>,
    /// Everyone on any of my lists.
    pub contacts: SortedMap<UserId, Contact>,
}

impl Phones {
    /// Boxed only when something is set: every online account carries its own numbers, and an
    /// empty set is three empty strings and two flags (80 bytes) kept for nothing.
    pub fn boxed(self) -> Option<Box<Phones>> {
        (self != Phones::default()).then(|| Box::new(self))
    }
}

static NO_PHONES: Phones = Phones {
    home: String::new(),
    work: String::new(),
    mobile: String::new(),
    mob: false,
    mbe: false,
};

impl Account {
    /// My own phone numbers and mobile settings (empty when none is set).
    pub fn phones(&self) -> &Phones {
        self.phones.as_deref().unwrap_or(&NO_PHONES)
    }

    /// Which of my lists `other` is on (0: none).
    pub fn lists_of(&self, other: UserId) -> u8 {
        self.contacts.get(&other).map_or(0, |c| c.lists)
    }

    /// Whether `viewer` may see my presence and invite me: not blocked, and allowed (explicitly or
    /// by my default).
    pub fn allows(&self, viewer: UserId) -> bool {
        self.allows_lists(self.lists_of(viewer))
    }

    /// `allows` for a viewer on the lists `bits`, for callers already holding its entry (the
    /// presence fan-out walks the entries and need not look each one up again).
    pub fn allows_lists(&self, bits: u8) -> bool {
        bits & list::BL == 0 && (bits & list::AL != 0 || self.blp == Blp::Allow)
    }

    /// How many contacts are on the list `bit` (the `MAX_LIST_ENTRIES` check).
    pub fn count(&self, bit: u8) -> usize {
        self.contacts
            .values()
            .filter(|c| c.lists & bit != 0)
            .count()
    }

    /// The contact with this handle (a linear scan; lists are short and this is per command).
    pub fn find_by_handle(&self, handle: &str) -> Option<(UserId, &Contact)> {
        self.contacts
            .iter()
            .find(|(_, c)| c.handle == handle)
            .map(|(id, c)| (*id, c))
    }

    /// The contact with this MSNP10+ guid, compared case-insensitively.
    pub fn find_by_guid(&self, guid: &str) -> Option<(UserId, &Contact)> {
        self.contacts
            .iter()
            .find(|(_, c)| c.guid.eq_ignore_ascii_case(guid))
            .map(|(id, c)| (*id, c))
    }

    /// The number of the group with this MSNP10+ guid.
    pub fn group_by_guid(&self, guid: &str) -> Option<u8> {
        self.groups
            .iter()
            .find(|(_, g)| g.guid.eq_ignore_ascii_case(guid))
            .map(|(n, _)| *n)
    }
}

/// A map kept as a vector sorted by key: the part of `BTreeMap`'s interface accounts use.
///
/// Every online user keeps its groups and contacts in memory. Most have a handful, and a B-tree
/// leaf reserves room for eleven entries (over half a kilobyte for one default group); a vector
/// built from the database's rows holds exactly what is there. Lookups are binary searches;
/// inserts and removals shift the tail, which for lists capped at a few hundred entries (and
/// done once per list change) costs less than the pointer chasing of a tree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SortedMap<K, V> {
    entries: Vec<(K, V)>,
}

impl<K, V> Default for SortedMap<K, V> {
    fn default() -> Self {
        SortedMap {
            entries: Vec::new(),
        }
    }
}

impl<K: Ord, V> SortedMap<K, V> {
    /// An empty map (no allocation).
    pub fn new() -> Self {
        Self::default()
    }

    fn position(&self, key: &K) -> Result<usize, usize> {
        self.entries.binary_search_by(|(k, _)| k.cmp(key))
    }

    /// The value at `key`.
    pub fn get(&self, key: &K) -> Option<&V> {
        self.position(key).ok().map(|i| &self.entries[i].1)
    }

    /// The value at `key`, to change in place.
    pub fn get_mut(&mut self, key: &K) -> Option<&mut V> {
        self.position(key).ok().map(|i| &mut self.entries[i].1)
    }

    /// Whether `key` is present.
    pub fn contains_key(&self, key: &K) -> bool {
        self.position(key).is_ok()
    }

    /// Inserts or replaces; returns the value replaced.
    pub fn insert(&mut self, key: K, value: V) -> Option<V> {
        match self.position(&key) {
            Ok(i) => Some(std::mem::replace(&mut self.entries[i].1, value)),
            Err(i) => {
                // Grow by one rather than doubling: changes are rare and memory per user counts.
                self.entries.reserve_exact(1);
                self.entries.insert(i, (key, value));
                None
            }
        }
    }

    /// Removes and returns the value at `key`; gives memory back once half the capacity is unused.
    pub fn remove(&mut self, key: &K) -> Option<V> {
        let i = self.position(key).ok()?;
        let (_, v) = self.entries.remove(i);
        if self.entries.len() <= self.entries.capacity() / 2 {
            self.entries.shrink_to_fit();
        }
        Some(v)
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are no entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Entries in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&K, &V)> {
        self.entries.iter().map(|(k, v)| (k, v))
    }

    /// Values in key order.
    pub fn values(&self) -> impl Iterator<Item = &V> {
        self.entries.iter().map(|(_, v)| v)
    }
}

/// Collects entries in any order; a later duplicate key replaces an earlier one.
impl<K: Ord, V> FromIterator<(K, V)> for SortedMap<K, V> {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        let mut entries: Vec<(K, V)> = iter.into_iter().collect();
        // Stable sort keeps duplicates in arrival order; keep the last of each.
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        entries.reverse();
        entries.dedup_by(|later, earlier| later.0 == earlier.0);
        entries.reverse();
        entries.shrink_to_fit();
        SortedMap { entries }
    }
}

impl<'a, K: Ord, V> IntoIterator for &'a SortedMap<K, V> {
    type Item = (&'a K, &'a V);
    type IntoIter = std::iter::Map<std::slice::Iter<'a, (K, V)>, fn(&'a (K, V)) -> (&'a K, &'a V)>;

    fn into_iter(self) -> Self::IntoIter {
        self.entries.iter().map(|(k, v)| (k, v))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn machine_guids_read_and_write_the_service_form() {
        let g = super::MachineGuid::parse("{f26d1f07-95e2-403c-bc18-d4bfed493428}").unwrap();
        assert_eq!(g.to_string(), "{F26D1F07-95E2-403C-BC18-D4BFED493428}");
        assert_eq!(
            super::MachineGuid::parse("F26D1F07-95E2-403C-BC18-D4BFED493428"),
            Some(g)
        );
        for bad in [
            "",
            "{}",
            "{F26D1F07-95E2-403C-BC18-D4BFED49342}",
            "{F26D1F07x95E2-403C-BC18-D4BFED493428}",
            "{G26D1F07-95E2-403C-BC18-D4BFED493428}",
            "{F26D1F07-95E2-403C-BC18-D4BFED4934é}",
        ] {
            assert_eq!(super::MachineGuid::parse(bad), None, "{bad}");
        }
    }

    use super::SortedMap;

    #[test]
    fn sorted_map_behaves_like_a_map() {
        let mut m: SortedMap<i64, &str> = [(5, "e"), (1, "a"), (3, "c"), (1, "A")]
            .into_iter()
            .collect();
        assert_eq!(m.len(), 3);
        assert_eq!(m.get(&1), Some(&"A"), "the later duplicate wins");
        assert_eq!(m.insert(2, "b"), None);
        assert_eq!(m.insert(5, "E"), Some("e"));
        assert_eq!(m.iter().map(|(k, _)| *k).collect::<Vec<_>>(), [1, 2, 3, 5]);
        assert_eq!(m.remove(&3), Some("c"));
        assert_eq!(m.remove(&3), None);
        assert!(!m.contains_key(&3) && m.contains_key(&2));
        assert_eq!(m.values().copied().collect::<Vec<_>>(), ["A", "b", "E"]);
        assert_eq!((&m).into_iter().count(), 3);
    }
}
