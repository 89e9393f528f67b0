//! What an account is, independent of storage and wire format.

use std::borrow::Cow;

pub type UserId = i64;

/// List membership bits, as MSNP8+ writes them in LST.
pub mod list {
    pub const FL: u8 = 1;
    pub const AL: u8 = 2;
    pub const BL: u8 = 4;
    pub const RL: u8 = 8;
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
    pub fn code(self) -> &'static str {
        match self {
            Blp::Allow => "AL",
            Blp::Block => "BL",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Online,
    Busy,
    Idle,
    BeRightBack,
    Away,
    OnPhone,
    OutToLunch,
    Hidden,
}

impl Status {
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

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Contact {
    pub handle: String,
    /// The name I stored for this contact (decoded).
    pub name: String,
    pub guid: String,
    pub lists: u8,
    /// Bit n = member of group n (numeric id). Bit 0 is "Other Contacts" for MSNP7-9.
    pub groups: u32,
    /// The contact's own phone numbers as of login (sent as BPR in SYN).
    pub phones: Phones,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Group {
    /// Borrowed when it is the default name every account's group 0 starts with (see
    /// `Group::name_from`): one allocation less per online user.
    pub name: Cow<'static, str>,
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
    pub home: String,
    pub work: String,
    pub mobile: String,
    pub mob: bool,
    pub mbe: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Account {
    // No id or handle: the online record keeps the one copy (`OnlineUser::id`, `::handle`).
    pub friendly: String,
    pub blp: Blp,
    /// `GTC A` (prompt when someone adds me) when true.
    pub gtc_prompt: bool,
    pub serial: u32,
    /// `None` when none is set, as for most accounts (see `phones()` and `Phones::boxed`).
    pub phones: Option<Box<Phones>>,
    pub groups: SortedMap<u8, Group>,
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

    pub fn lists_of(&self, other: UserId) -> u8 {
        self.contacts.get(&other).map_or(0, |c| c.lists)
    }

    /// Whether `viewer` may see my presence and invite me: not blocked, and allowed (explicitly or
    /// by my default).
    pub fn allows(&self, viewer: UserId) -> bool {
        let bits = self.lists_of(viewer);
        bits & list::BL == 0 && (bits & list::AL != 0 || self.blp == Blp::Allow)
    }

    pub fn count(&self, bit: u8) -> usize {
        self.contacts
            .values()
            .filter(|c| c.lists & bit != 0)
            .count()
    }

    pub fn find_by_handle(&self, handle: &str) -> Option<(UserId, &Contact)> {
        self.contacts
            .iter()
            .find(|(_, c)| c.handle == handle)
            .map(|(id, c)| (*id, c))
    }

    pub fn find_by_guid(&self, guid: &str) -> Option<(UserId, &Contact)> {
        self.contacts
            .iter()
            .find(|(_, c)| c.guid.eq_ignore_ascii_case(guid))
            .map(|(id, c)| (*id, c))
    }

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
    pub fn new() -> Self {
        Self::default()
    }

    fn position(&self, key: &K) -> Result<usize, usize> {
        self.entries.binary_search_by(|(k, _)| k.cmp(key))
    }

    pub fn get(&self, key: &K) -> Option<&V> {
        self.position(key).ok().map(|i| &self.entries[i].1)
    }

    pub fn get_mut(&mut self, key: &K) -> Option<&mut V> {
        self.position(key).ok().map(|i| &mut self.entries[i].1)
    }

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

    pub fn remove(&mut self, key: &K) -> Option<V> {
        let i = self.position(key).ok()?;
        let (_, v) = self.entries.remove(i);
        if self.entries.len() <= self.entries.capacity() / 2 {
            self.entries.shrink_to_fit();
        }
        Some(v)
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Entries in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&K, &V)> {
        self.entries.iter().map(|(k, v)| (k, v))
    }

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
