//! Replies of the `groups` family: ADG, RMG and REG, numeric (MSNP7-9, with the list serial) or
//! GUID (MSNP10+, in the shape `Dialect::guid_group_reply` chose for the client).

use super::{Out, Reply, Text, end, head, sp, sp_num, sp_text};
use crate::dialect::{Dialect, Groups, GuidGroupReply};

/// `ADG trid serial name id 0` / `ADG trid name guid` / `ADG trid 1 name guid`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Adg<'a> {
    /// Echoed.
    pub trid: u32,
    /// The new list serial (numeric groups).
    pub serial: u32,
    /// The group's name.
    pub name: Text<'a>,
    /// Its number (numeric groups).
    pub id: u8,
    /// Its GUID (GUID groups).
    pub guid: &'a str,
    /// The GUID reply shape for this client.
    pub shape: GuidGroupReply,
}

impl Reply for Adg<'_> {
    fn write(&self, d: &Dialect, out: &mut impl Out) {
        head(out, "ADG", self.trid);
        if d.groups == Groups::Guid {
            if self.shape == GuidGroupReply::LeadingOne {
                sp(out, "1");
            }
            sp_text(out, self.name);
            sp(out, self.guid);
        } else {
            sp_num(out, self.serial);
            sp_text(out, self.name);
            sp_num(out, self.id as u32);
            sp(out, "0");
        }
        end(out);
    }
}

/// `RMG trid serial id` / `RMG trid guid` / `RMG trid 1 guid`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rmg<'a> {
    /// Echoed.
    pub trid: u32,
    /// The new list serial (numeric groups).
    pub serial: u32,
    /// Its number (numeric groups).
    pub id: u8,
    /// Its GUID (GUID groups).
    pub guid: &'a str,
    /// The GUID reply shape for this client.
    pub shape: GuidGroupReply,
}

impl Reply for Rmg<'_> {
    fn write(&self, d: &Dialect, out: &mut impl Out) {
        head(out, "RMG", self.trid);
        if d.groups == Groups::Guid {
            if self.shape == GuidGroupReply::LeadingOne {
                sp(out, "1");
            }
            sp(out, self.guid);
        } else {
            sp_num(out, self.serial);
            sp_num(out, self.id as u32);
        }
        end(out);
    }
}

/// `REG trid serial id name 0` / `REG trid guid name` / `REG trid 1 name guid`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reg<'a> {
    /// Echoed.
    pub trid: u32,
    /// The new list serial (numeric groups).
    pub serial: u32,
    /// Its number (numeric groups).
    pub id: u8,
    /// Its GUID (GUID groups).
    pub guid: &'a str,
    /// The new name.
    pub name: Text<'a>,
    /// The GUID reply shape for this client.
    pub shape: GuidGroupReply,
}

impl Reply for Reg<'_> {
    fn write(&self, d: &Dialect, out: &mut impl Out) {
        head(out, "REG", self.trid);
        match (d.groups, self.shape) {
            (Groups::Guid, GuidGroupReply::Documented) => {
                sp(out, self.guid);
                sp_text(out, self.name);
            }
            (Groups::Guid, GuidGroupReply::LeadingOne) => {
                sp(out, "1");
                sp_text(out, self.name);
                sp(out, self.guid);
            }
            _ => {
                sp_num(out, self.serial);
                sp_num(out, self.id as u32);
                sp_text(out, self.name);
                sp(out, "0");
            }
        }
        end(out);
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::wire;
    use super::*;

    const DOC: GuidGroupReply = GuidGroupReply::Documented;
    const ONE: GuidGroupReply = GuidGroupReply::LeadingOne;

    #[test]
    fn adg() {
        let a = Adg {
            trid: 1,
            serial: 20,
            name: Text::Plain("My Group"),
            id: 3,
            guid: "g-1",
            shape: DOC,
        };
        assert_eq!(wire(&a, 7), "ADG 1 20 My%20Group 3 0\r\n");
        let a = Adg {
            name: Text::Wire("My%20Group"),
            ..a
        };
        assert_eq!(wire(&a, 10), "ADG 1 My%20Group g-1\r\n");
        assert_eq!(
            wire(&Adg { shape: ONE, ..a }, 11),
            "ADG 1 1 My%20Group g-1\r\n"
        );
    }

    #[test]
    fn rmg() {
        let r = Rmg {
            trid: 2,
            serial: 21,
            id: 3,
            guid: "g-1",
            shape: DOC,
        };
        assert_eq!(wire(&r, 9), "RMG 2 21 3\r\n");
        assert_eq!(wire(&r, 12), "RMG 2 g-1\r\n");
        assert_eq!(wire(&Rmg { shape: ONE, ..r }, 11), "RMG 2 1 g-1\r\n");
    }

    #[test]
    fn reg() {
        let r = Reg {
            trid: 3,
            serial: 22,
            id: 3,
            guid: "g-1",
            name: Text::Plain("New"),
            shape: DOC,
        };
        assert_eq!(wire(&r, 8), "REG 3 22 3 New 0\r\n");
        assert_eq!(wire(&r, 10), "REG 3 g-1 New\r\n");
        assert_eq!(wire(&Reg { shape: ONE, ..r }, 11), "REG 3 1 New g-1\r\n");
    }
}
