//! What an account is, independent of storage and wire format.

use std::collections::BTreeMap;

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
    pub name: String,
    pub guid: String,
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
    pub id: UserId,
    pub handle: String,
    pub friendly: String,
    pub blp: Blp,
    /// `GTC A` (prompt when someone adds me) when true.
    pub gtc_prompt: bool,
    pub serial: u32,
    pub phones: Phones,
    pub groups: BTreeMap<u8, Group>,
    pub contacts: BTreeMap<UserId, Contact>,
}

impl Account {
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
