//! ADG, RMG and REG (MSNP7-12; NS.md 3.9): numeric ids in MSNP7-9, GUIDs in MSNP10-12.

use super::{ClientCommand, arg, arg_u32, end, head};
use crate::dialect::{Dialect, Groups};
use crate::limits::MAX_GROUPS;
use crate::protocol::cursor::{ArgError, Cursor};
use crate::protocol::frame::Command;

/// A group as the dialect names it.
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
pub enum GroupRef<'a> {
    /// MSNP7-9: `0`..`MAX_GROUPS - 1`; a larger or non-numeric id is `Invalid` (the service hung up).
    Id(u8),
    /// MSNP10-12: the group's GUID, as sent.
    Guid(&'a str),
}

impl<'a> GroupRef<'a> {
    fn read(c: &mut Cursor<'a>, dialect: &Dialect) -> Result<Self, ArgError> {
        if dialect.groups == Groups::Guid {
            c.next().map(GroupRef::Guid)
        } else {
            c.next_with(|g| {
                g.parse::<u8>()
                    .ok()
                    .filter(|g| *g < MAX_GROUPS)
                    .map(GroupRef::Id)
            })
        }
    }

    fn write(&self, out: &mut Vec<u8>) {
        match self {
            GroupRef::Id(n) => arg_u32(out, (*n).into()),
            GroupRef::Guid(g) => arg(out, g),
        }
    }
}

/// The `0` MSNP7-9 clients put after a group name (W adg.md, reg.md). Accepted in every dialect
/// (the handlers ignore what follows the name, and an MSNP10+ client ported from an older one may
/// still send it); anything else there is `Extra`.
fn trailing_zero(c: &mut Cursor<'_>) -> Result<(), ArgError> {
    if c.peek() == Some("0") {
        let _zero = c.optional();
    }
    c.finish()
}

/// `ADG trid name 0` (MSNP7-9) / `ADG trid name` (MSNP10-12). The name is the encoded wire form.
#[derive(Debug, PartialEq, Eq)]
pub struct Adg<'a> {
    /// The new name, encoded as sent.
    pub name: &'a str,
}

impl<'a> ClientCommand<'a> for Adg<'a> {
    const VERB: &'static str = "ADG";

    fn parse(cmd: &'a Command<'a>, _: &Dialect) -> Result<Self, ArgError> {
        let mut c = Cursor::new(Self::VERB, cmd);
        let name = c.next()?;
        trailing_zero(&mut c)?;
        Ok(Adg { name })
    }

    fn write(&self, trid: u32, dialect: &Dialect, out: &mut Vec<u8>) {
        head(out, Self::VERB, trid);
        arg(out, self.name);
        if dialect.groups == Groups::Numeric {
            arg(out, "0");
        }
        end(out);
    }
}

/// `RMG trid group`.
#[derive(Debug, PartialEq, Eq)]
pub struct Rmg<'a> {
    /// The group to delete.
    pub group: GroupRef<'a>,
}

impl<'a> ClientCommand<'a> for Rmg<'a> {
    const VERB: &'static str = "RMG";

    fn parse(cmd: &'a Command<'a>, dialect: &Dialect) -> Result<Self, ArgError> {
        let mut c = Cursor::new(Self::VERB, cmd);
        let group = GroupRef::read(&mut c, dialect)?;
        c.finish()?;
        Ok(Rmg { group })
    }

    fn write(&self, trid: u32, _: &Dialect, out: &mut Vec<u8>) {
        head(out, Self::VERB, trid);
        self.group.write(out);
        end(out);
    }
}

/// `REG trid id name 0` (MSNP7-9) / `REG trid guid name` (MSNP10-12).
#[derive(Debug, PartialEq, Eq)]
pub struct Reg<'a> {
    /// The group to rename.
    pub group: GroupRef<'a>,
    /// The new name, encoded as sent.
    pub name: &'a str,
}

impl<'a> ClientCommand<'a> for Reg<'a> {
    const VERB: &'static str = "REG";

    fn parse(cmd: &'a Command<'a>, dialect: &Dialect) -> Result<Self, ArgError> {
        let mut c = Cursor::new(Self::VERB, cmd);
        let group = GroupRef::read(&mut c, dialect)?;
        let name = c.next()?;
        trailing_zero(&mut c)?;
        Ok(Reg { group, name })
    }

    fn write(&self, trid: u32, dialect: &Dialect, out: &mut Vec<u8>) {
        head(out, Self::VERB, trid);
        self.group.write(out);
        arg(out, self.name);
        if dialect.groups == Groups::Numeric {
            arg(out, "0");
        }
        end(out);
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{all, parse_line, round_trip, v};
    use super::*;
    use crate::protocol::Role::Notification as NS;

    #[test]
    fn round_trips_where_groups_exist() {
        for d in all().filter(|d| d.groups != Groups::None) {
            let g = match d.groups {
                Groups::Guid => GroupRef::Guid("0b7c9f7e-5d7b-4f3a-9b0e-6e2f1c3a4d5e"),
                _ => GroupRef::Id(29),
            };
            let b = round_trip!(
                Adg,
                Adg {
                    name: "New%20Group"
                },
                d,
                NS
            );
            let want = if d.groups == Groups::Numeric {
                "ADG 7 New%20Group 0\r\n"
            } else {
                "ADG 7 New%20Group\r\n"
            };
            assert_eq!(b, want.as_bytes());
            round_trip!(Rmg, Rmg { group: g }, d, NS);
            round_trip!(
                Reg,
                Reg {
                    group: g,
                    name: "Renamed"
                },
                d,
                NS
            );
        }
    }

    #[test]
    fn refusals() {
        use ArgError::*;
        assert_eq!(
            parse_line!(Adg, b"ADG 1\r\n", v(7), NS),
            Err(Missing {
                verb: "ADG",
                index: 0
            })
        );
        assert_eq!(parse_line!(Adg, b"ADG 1 a 0\r\n", v(11), NS), Ok(()));
        assert_eq!(
            parse_line!(Adg, b"ADG 1 a 1\r\n", v(7), NS),
            Err(Extra {
                verb: "ADG",
                index: 1
            })
        );
        assert_eq!(
            parse_line!(Adg, b"ADG 1 a 0 0\r\n", v(7), NS),
            Err(Extra {
                verb: "ADG",
                index: 2
            })
        );
        assert_eq!(
            parse_line!(Rmg, b"RMG 1 30\r\n", v(7), NS),
            Err(Invalid {
                verb: "RMG",
                index: 0
            })
        );
        assert_eq!(
            parse_line!(Rmg, b"RMG 1 x\r\n", v(9), NS),
            Err(Invalid {
                verb: "RMG",
                index: 0
            })
        );
        assert_eq!(parse_line!(Rmg, b"RMG 1 x\r\n", v(10), NS), Ok(()));
        assert_eq!(
            parse_line!(Rmg, b"RMG 1 1 2\r\n", v(7), NS),
            Err(Extra {
                verb: "RMG",
                index: 1
            })
        );
        assert_eq!(
            parse_line!(Reg, b"REG 1 1\r\n", v(7), NS),
            Err(Missing {
                verb: "REG",
                index: 1
            })
        );
        assert_eq!(parse_line!(Reg, b"REG 1 g n\r\n", v(12), NS), Ok(()));
    }
}
