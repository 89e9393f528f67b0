//! ADD (MSNP2-9), ADC (MSNP10-12), REM, BLP and GTC (NS.md 3.5-3.8).

use super::{ClientCommand, arg, end, head};
use crate::dialect::{Dialect, Groups};
use crate::limits::MAX_GROUPS;
use crate::model::{Blp as BlpMode, list};
use crate::protocol::cursor::{ArgError, Cursor};
use crate::protocol::frame::Command;

/// A numeric group id (MSNP7-9): below `MAX_GROUPS`, else `Invalid` (the service hung up).
fn group_id(s: &str) -> Option<u8> {
    s.parse::<u8>().ok().filter(|g| *g < MAX_GROUPS)
}

/// `ADD trid FL|AL|BL handle name {group MSNP7-9, FL only}` (MSNP2-9).
///
/// The handle is taken as sent (the handler checks it: `201`); the name is the encoded wire form.
/// Where no group is read (MSNP2-6, or AL/BL) a fourth argument is still accepted and dropped,
/// as today: clients that always append a group id may send one with AL/BL. In MSNP7-9 an FL
/// add without a group means group 0 (`group: Some(0)`), and an out-of-range id is `Invalid`.
#[derive(Debug, PartialEq, Eq)]
pub struct Add<'a> {
    /// `list::FL`, `AL` or `BL`; RL, PL or an unknown name is `Invalid`.
    pub list: u8,
    /// The contact, as sent (the handler normalises and checks it).
    pub handle: &'a str,
    /// The name to store, encoded as sent.
    pub name: &'a str,
    /// The group, for FL adds in dialects with numeric groups.
    pub group: Option<u8>,
}

/// A list a client may edit with ADD: FL, AL or BL.
fn editable(s: &str) -> Option<u8> {
    list::parse(s).filter(|b| matches!(*b, list::FL | list::AL | list::BL))
}

impl<'a> ClientCommand<'a> for Add<'a> {
    const VERB: &'static str = "ADD";

    fn parse(cmd: &'a Command<'a>, dialect: &Dialect) -> Result<Self, ArgError> {
        let mut c = Cursor::new(Self::VERB, cmd);
        let list = c.next_with(editable)?;
        let handle = c.next()?;
        let name = c.next()?;
        let group = if dialect.groups == Groups::Numeric && list == list::FL {
            match c.optional() {
                Some(g) => Some(group_id(g).ok_or_else(|| c.invalid_last())?),
                None => Some(0),
            }
        } else {
            let _ignored = c.optional();
            None
        };
        c.finish()?;
        Ok(Add {
            list,
            handle,
            name,
            group,
        })
    }

    fn write(&self, trid: u32, _: &Dialect, out: &mut Vec<u8>) {
        head(out, Self::VERB, trid);
        arg(out, list::name(self.list));
        arg(out, self.handle);
        arg(out, self.name);
        if let Some(g) = self.group {
            super::arg_u32(out, g.into());
        }
        end(out);
    }
}

/// `ADC trid LIST field...` (MSNP10-12): `FL N=handle F=name [group-guid]`,
/// `FL C=contact-guid group-guid`, `AL|BL|RL N=handle`.
///
/// As today, the fields may come in any order and a repeated one replaces the earlier; an
/// argument with no `N=`/`F=`/`C=` prefix is the group GUID. Which combinations make sense is
/// the handler's question (it answers `201`). PL or an unknown list is `Invalid`.
#[derive(Debug, PartialEq, Eq, Default)]
pub struct Adc<'a> {
    /// A `model::list` bit other than PL.
    pub list: u8,
    /// `N=`: the contact's handle.
    pub handle: Option<&'a str>,
    /// `F=`: the name to store (encoded).
    pub name: Option<&'a str>,
    /// `C=`: the contact's GUID.
    pub contact: Option<&'a str>,
    /// The group's GUID.
    pub group: Option<&'a str>,
}

impl<'a> ClientCommand<'a> for Adc<'a> {
    const VERB: &'static str = "ADC";

    fn parse(cmd: &'a Command<'a>, _: &Dialect) -> Result<Self, ArgError> {
        let mut c = Cursor::new(Self::VERB, cmd);
        let mut adc = Adc {
            list: c.next_with(|l| list::parse(l).filter(|b| *b != list::PL))?,
            ..Adc::default()
        };
        for a in c.rest() {
            if let Some(v) = a.strip_prefix("N=") {
                adc.handle = Some(v);
            } else if let Some(v) = a.strip_prefix("F=") {
                adc.name = Some(v);
            } else if let Some(v) = a.strip_prefix("C=") {
                adc.contact = Some(v);
            } else {
                adc.group = Some(a);
            }
        }
        Ok(adc)
    }

    fn write(&self, trid: u32, _: &Dialect, out: &mut Vec<u8>) {
        head(out, Self::VERB, trid);
        arg(out, list::name(self.list));
        for (prefix, v) in [("N=", self.handle), ("F=", self.name), ("C=", self.contact)] {
            if let Some(v) = v {
                out.push(b' ');
                out.extend_from_slice(prefix.as_bytes());
                out.extend_from_slice(v.as_bytes());
            }
        }
        if let Some(g) = self.group {
            arg(out, g);
        }
        end(out);
    }
}

/// `REM trid LIST contact [group]` (NS.md 3.7): `contact` is a handle, or in MSNP10-12 an FL
/// contact's GUID; `group` a numeric id (MSNP7-9) or GUID (MSNP10-12), kept as sent because the
/// handler looks the contact up before the group (`216` comes before a bad group id).
///
/// RL, an unknown list, and PL before MSNP10 (`Dialect::pending_list`) are `Invalid`.
#[derive(Debug, PartialEq, Eq)]
pub struct Rem<'a> {
    /// A `model::list` bit.
    pub list: u8,
    /// A handle, or an FL contact's GUID (MSNP10-12).
    pub contact: &'a str,
    /// The group to leave, as sent (numeric id or GUID).
    pub group: Option<&'a str>,
}

impl<'a> ClientCommand<'a> for Rem<'a> {
    const VERB: &'static str = "REM";

    fn parse(cmd: &'a Command<'a>, dialect: &Dialect) -> Result<Self, ArgError> {
        let mut c = Cursor::new(Self::VERB, cmd);
        let list = c.next_with(|l| match list::parse(l)? {
            list::RL => None,
            list::PL if !dialect.pending_list => None,
            b => Some(b),
        })?;
        let contact = c.next()?;
        let group = c.optional();
        c.finish()?;
        Ok(Rem {
            list,
            contact,
            group,
        })
    }

    fn write(&self, trid: u32, _: &Dialect, out: &mut Vec<u8>) {
        head(out, Self::VERB, trid);
        arg(out, list::name(self.list));
        arg(out, self.contact);
        if let Some(g) = self.group {
            arg(out, g);
        }
        end(out);
    }
}

/// `BLP trid AL|BL`: who may see me by default. Another value is `Invalid` (a disconnect).
#[derive(Debug, PartialEq, Eq)]
pub struct Blp(pub BlpMode);

impl<'a> ClientCommand<'a> for Blp {
    const VERB: &'static str = "BLP";

    fn parse(cmd: &'a Command<'a>, _: &Dialect) -> Result<Self, ArgError> {
        let mut c = Cursor::new(Self::VERB, cmd);
        let mode = c.next_with(|v| match v {
            "AL" => Some(BlpMode::Allow),
            "BL" => Some(BlpMode::Block),
            _ => None,
        })?;
        c.finish()?;
        Ok(Blp(mode))
    }

    fn write(&self, trid: u32, _: &Dialect, out: &mut Vec<u8>) {
        head(out, Self::VERB, trid);
        arg(out, self.0.code());
        end(out);
    }
}

/// `GTC trid A|N`: whether the client asks me when someone adds me. Another value is `Invalid`.
#[derive(Debug, PartialEq, Eq)]
pub struct Gtc {
    /// `A`: ask; `N`: do not.
    pub prompt: bool,
}

impl<'a> ClientCommand<'a> for Gtc {
    const VERB: &'static str = "GTC";

    fn parse(cmd: &'a Command<'a>, _: &Dialect) -> Result<Self, ArgError> {
        let mut c = Cursor::new(Self::VERB, cmd);
        let prompt = c.next_with(|v| match v {
            "A" => Some(true),
            "N" => Some(false),
            _ => None,
        })?;
        c.finish()?;
        Ok(Gtc { prompt })
    }

    fn write(&self, trid: u32, _: &Dialect, out: &mut Vec<u8>) {
        head(out, Self::VERB, trid);
        arg(out, if self.prompt { "A" } else { "N" });
        end(out);
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{all, parse_line, round_trip, v};
    use super::*;
    use crate::protocol::Role::Notification as NS;

    #[test]
    fn add_forms_per_dialect() {
        for d in all() {
            for l in [list::FL, list::AL, list::BL] {
                let group = (d.groups == Groups::Numeric && l == list::FL).then_some(3);
                let add = Add {
                    list: l,
                    handle: "bob@example.com",
                    name: "Bob%20B",
                    group,
                };
                round_trip!(Add, add, d, NS);
            }
        }
        let b = round_trip!(
            Add,
            Add {
                list: list::FL,
                handle: "a@b.com",
                name: "a@b.com",
                group: None
            },
            v(5),
            NS
        );
        assert_eq!(b, b"ADD 7 FL a@b.com a@b.com\r\n");
        // MSNP7-9: no group on FL means group 0; AL/BL drop a group id.
        let (cmd, _) = crate::protocol::parse_frame(b"ADD 1 FL a@b.com a\r\n", NS)
            .unwrap()
            .unwrap();
        assert_eq!(Add::parse(&cmd, v(7)).unwrap().group, Some(0));
        let (cmd, _) = crate::protocol::parse_frame(b"ADD 1 AL a@b.com a 0\r\n", NS)
            .unwrap()
            .unwrap();
        assert_eq!(Add::parse(&cmd, v(7)).unwrap().group, None);
    }

    #[test]
    fn add_refusals() {
        use ArgError::*;
        let p = |l: &[u8], d| parse_line!(Add, l, d, NS);
        assert_eq!(
            p(b"ADD 1 RL a@b.com a\r\n", v(5)),
            Err(Invalid {
                verb: "ADD",
                index: 0
            })
        );
        assert_eq!(
            p(b"ADD 1 PL a@b.com a\r\n", v(5)),
            Err(Invalid {
                verb: "ADD",
                index: 0
            })
        );
        assert_eq!(
            p(b"ADD 1 FL a@b.com\r\n", v(5)),
            Err(Missing {
                verb: "ADD",
                index: 2
            })
        );
        assert_eq!(
            p(b"ADD 1 FL a@b.com a 30\r\n", v(7)),
            Err(Invalid {
                verb: "ADD",
                index: 3
            })
        );
        assert_eq!(
            p(b"ADD 1 FL a@b.com a x\r\n", v(9)),
            Err(Invalid {
                verb: "ADD",
                index: 3
            })
        );
        assert_eq!(
            p(b"ADD 1 FL a@b.com a 0 1\r\n", v(7)),
            Err(Extra {
                verb: "ADD",
                index: 4
            })
        );
        assert_eq!(
            p(b"ADD 1 FL a@b.com a 0 1\r\n", v(4)),
            Err(Extra {
                verb: "ADD",
                index: 4
            })
        );
    }

    #[test]
    fn adc_forms() {
        let d = v(11);
        let b = round_trip!(
            Adc,
            Adc {
                list: list::FL,
                handle: Some("a@b.com"),
                name: Some("A%20B"),
                ..Adc::default()
            },
            d,
            NS
        );
        assert_eq!(b, b"ADC 7 FL N=a@b.com F=A%20B\r\n");
        round_trip!(
            Adc,
            Adc {
                list: list::FL,
                contact: Some("c-guid"),
                group: Some("g-guid"),
                ..Adc::default()
            },
            d,
            NS
        );
        for l in [list::AL, list::BL, list::RL] {
            round_trip!(
                Adc,
                Adc {
                    list: l,
                    handle: Some("a@b.com"),
                    ..Adc::default()
                },
                d,
                NS
            );
        }
        // Any order; the last of a repeated field wins (as the handler did).
        let (cmd, _) = crate::protocol::parse_frame(b"ADC 1 FL g F=x N=a N=b\r\n", NS)
            .unwrap()
            .unwrap();
        let adc = Adc::parse(&cmd, d).unwrap();
        assert_eq!(
            (adc.handle, adc.name, adc.group),
            (Some("b"), Some("x"), Some("g"))
        );
        use ArgError::*;
        assert_eq!(
            parse_line!(Adc, b"ADC 1 PL N=a\r\n", d, NS),
            Err(Invalid {
                verb: "ADC",
                index: 0
            })
        );
        assert_eq!(
            parse_line!(Adc, b"ADC 1\r\n", d, NS),
            Err(Missing {
                verb: "ADC",
                index: 0
            })
        );
    }

    #[test]
    fn rem_blp_gtc() {
        for d in all() {
            for l in [list::FL, list::AL, list::BL] {
                round_trip!(
                    Rem,
                    Rem {
                        list: l,
                        contact: "a@b.com",
                        group: None
                    },
                    d,
                    NS
                );
            }
            round_trip!(
                Rem,
                Rem {
                    list: list::FL,
                    contact: "guid",
                    group: Some("2")
                },
                d,
                NS
            );
            round_trip!(Blp, Blp(BlpMode::Allow), d, NS);
            round_trip!(Blp, Blp(BlpMode::Block), d, NS);
            round_trip!(Gtc, Gtc { prompt: true }, d, NS);
            round_trip!(Gtc, Gtc { prompt: false }, d, NS);
        }
        round_trip!(
            Rem,
            Rem {
                list: list::PL,
                contact: "a@b.com",
                group: None
            },
            v(10),
            NS
        );
        use ArgError::*;
        let p = |l: &[u8], d| parse_line!(Rem, l, d, NS);
        assert_eq!(
            p(b"REM 1 PL a@b.com\r\n", v(9)),
            Err(Invalid {
                verb: "REM",
                index: 0
            })
        );
        assert_eq!(
            p(b"REM 1 RL a@b.com\r\n", v(12)),
            Err(Invalid {
                verb: "REM",
                index: 0
            })
        );
        assert_eq!(
            p(b"REM 1 FL\r\n", v(12)),
            Err(Missing {
                verb: "REM",
                index: 1
            })
        );
        assert_eq!(
            p(b"REM 1 FL a g x\r\n", v(12)),
            Err(Extra {
                verb: "REM",
                index: 3
            })
        );
        assert_eq!(
            parse_line!(Blp, b"BLP 1 XL\r\n", v(8), NS),
            Err(Invalid {
                verb: "BLP",
                index: 0
            })
        );
        assert_eq!(
            parse_line!(Blp, b"BLP 1 AL x\r\n", v(8), NS),
            Err(Extra {
                verb: "BLP",
                index: 1
            })
        );
        assert_eq!(
            parse_line!(Gtc, b"GTC 1\r\n", v(8), NS),
            Err(Missing {
                verb: "GTC",
                index: 0
            })
        );
        assert_eq!(
            parse_line!(Gtc, b"GTC 1 Y\r\n", v(8), NS),
            Err(Invalid {
                verb: "GTC",
                index: 0
            })
        );
    }
}
