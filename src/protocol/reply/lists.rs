//! Replies of the `lists` family: ADD, ADC, REM, BLP and GTC answers, and the RL notices the
//! server sends when someone adds or removes the user (`ADD/ADC/REM 0 RL`).

use super::{Out, Reply, Text, end, head, sp, sp_num, sp_opt, sp_text};
use crate::dialect::{Dialect, ListCommands};

/// `ADD trid LIST serial handle name [group]` (MSNP2-9).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Add<'a> {
    /// Echoed.
    pub trid: u32,
    /// `FL`, `AL`, `BL`, `RL`.
    pub list: &'a str,
    /// The new list serial.
    pub serial: u32,
    /// The contact.
    pub handle: &'a str,
    /// Their name.
    pub name: Text<'a>,
    /// The group added to (FL with groups).
    pub group: Option<u8>,
}

impl Reply for Add<'_> {
    fn write(&self, _: &Dialect, out: &mut impl Out) {
        head(out, "ADD", self.trid);
        sp(out, self.list);
        sp_num(out, self.serial);
        sp(out, self.handle);
        sp_text(out, self.name);
        if let Some(g) = self.group {
            sp_num(out, g as u32);
        }
        end(out);
    }
}

/// `ADC trid LIST [N=handle] [F=name] [C=guid] [group]` (MSNP10+): each part present is
/// written in that order (`ADC trid FL C=guid group` adds a known contact to a group).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Adc<'a> {
    /// Echoed.
    pub trid: u32,
    /// `FL`, `AL`, `BL`, `RL`.
    pub list: &'a str,
    /// `N=`.
    pub handle: Option<&'a str>,
    /// `F=`.
    pub name: Option<Text<'a>>,
    /// `C=`.
    pub guid: Option<&'a str>,
    /// The group GUID, as sent.
    pub group: Option<&'a str>,
}

impl Reply for Adc<'_> {
    fn write(&self, _: &Dialect, out: &mut impl Out) {
        head(out, "ADC", self.trid);
        sp(out, self.list);
        if let Some(h) = self.handle {
            out.put(b" N=");
            out.put(h.as_bytes());
        }
        if let Some(n) = self.name {
            out.put(b" F=");
            super::text(out, n);
        }
        if let Some(c) = self.guid {
            out.put(b" C=");
            out.put(c.as_bytes());
        }
        if let Some(g) = self.group {
            sp(out, g);
        }
        end(out);
    }
}

/// `REM trid LIST [serial] who [group]`: `who` is the handle (MSNP2-9, with the serial) or
/// the contact as the client named it (MSNP10+: GUID on FL, handle elsewhere).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rem<'a> {
    /// Echoed.
    pub trid: u32,
    /// `FL`, `AL`, `BL`, `RL`, `PL`.
    pub list: &'a str,
    /// The new list serial, where replies carry one (`Dialect::list_serials`).
    pub serial: Option<u32>,
    /// The contact.
    pub who: &'a str,
    /// The group removed from, as sent.
    pub group: Option<&'a str>,
}

impl Reply for Rem<'_> {
    fn write(&self, _: &Dialect, out: &mut impl Out) {
        head(out, "REM", self.trid);
        sp(out, self.list);
        sp_opt(out, self.serial);
        sp(out, self.who);
        if let Some(g) = self.group {
            sp(out, g);
        }
        end(out);
    }
}

/// `BLP`/`GTC` lines: `VRB [trid] [serial] value`, in answers (the trid, the serial where the
/// dialect has serials) and in `SYN` (MSNP2-7 both, MSNP8+ neither).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Setting<'a> {
    /// `BLP` or `GTC`.
    pub verb: &'static str,
    /// Echoed, where the line carries it.
    pub trid: Option<u32>,
    /// The list serial, where the line carries it.
    pub serial: Option<u32>,
    /// `AL`/`BL`, `A`/`N`.
    pub value: &'a str,
}

impl Reply for Setting<'_> {
    fn write(&self, _: &Dialect, out: &mut impl Out) {
        out.put(self.verb.as_bytes());
        sp_opt(out, self.trid);
        sp_opt(out, self.serial);
        sp(out, self.value);
        end(out);
    }
}

/// Someone added the user to, or removed them from, their FL: the notice the user gets on RL,
/// shaped by `Dialect::list_commands` (`ADD 0 RL serial handle name`, `REM 0 RL serial handle`,
/// `ADC 0 RL N=handle F=name`, `REM 0 RL N=handle`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RlNotice<'a> {
    /// Added (true) or removed.
    pub added: bool,
    /// The user's new list serial (MSNP2-9).
    pub serial: u32,
    /// Who.
    pub handle: &'a str,
    /// Their friendly name (additions only).
    pub name: Text<'a>,
}

impl Reply for RlNotice<'_> {
    fn write(&self, d: &Dialect, out: &mut impl Out) {
        let verb = match (d.list_commands, self.added) {
            (_, false) => "REM",
            (ListCommands::Add, true) => "ADD",
            (ListCommands::Adc, true) => "ADC",
        };
        head(out, verb, 0);
        sp(out, "RL");
        match d.list_commands {
            ListCommands::Add => {
                sp_num(out, self.serial);
                sp(out, self.handle);
                if self.added {
                    sp_text(out, self.name);
                }
            }
            ListCommands::Adc => {
                out.put(b" N=");
                out.put(self.handle.as_bytes());
                if self.added {
                    out.put(b" F=");
                    super::text(out, self.name);
                }
            }
        }
        end(out);
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{versions, wire};
    use super::*;

    #[test]
    fn add_and_adc() {
        let name = Text::Plain("A B");
        let a = Add {
            trid: 1,
            list: "FL",
            serial: 12,
            handle: "a@b.com",
            name,
            group: Some(2),
        };
        assert_eq!(wire(&a, 7), "ADD 1 FL 12 a@b.com A%20B 2\r\n");
        let a = Add {
            group: None,
            list: "AL",
            ..a
        };
        assert_eq!(wire(&a, 3), "ADD 1 AL 12 a@b.com A%20B\r\n");
        let c = Adc {
            trid: 2,
            list: "FL",
            handle: Some("a@b.com"),
            name: Some(Text::Wire("A%20B")),
            guid: Some("c-1"),
            group: Some("g-1"),
        };
        assert_eq!(wire(&c, 10), "ADC 2 FL N=a@b.com F=A%20B C=c-1 g-1\r\n");
        let c = Adc {
            trid: 2,
            list: "AL",
            handle: Some("a@b.com"),
            name: None,
            guid: None,
            group: None,
        };
        assert_eq!(wire(&c, 11), "ADC 2 AL N=a@b.com\r\n");
        let c = Adc {
            trid: 2,
            list: "FL",
            handle: None,
            name: None,
            guid: Some("c-1"),
            group: Some("g-1"),
        };
        assert_eq!(wire(&c, 12), "ADC 2 FL C=c-1 g-1\r\n");
    }

    #[test]
    fn rem_and_settings() {
        let r = Rem {
            trid: 3,
            list: "FL",
            serial: Some(13),
            who: "a@b.com",
            group: Some("1"),
        };
        assert_eq!(wire(&r, 7), "REM 3 FL 13 a@b.com 1\r\n");
        let r = Rem {
            serial: None,
            who: "c-1",
            group: None,
            ..r
        };
        assert_eq!(wire(&r, 10), "REM 3 FL c-1\r\n");
        let s = Setting {
            verb: "BLP",
            trid: Some(4),
            serial: Some(14),
            value: "BL",
        };
        assert_eq!(wire(&s, 2), "BLP 4 14 BL\r\n");
        let s = Setting {
            verb: "GTC",
            trid: None,
            serial: None,
            value: "A",
        };
        assert_eq!(wire(&s, 9), "GTC A\r\n");
    }

    #[test]
    fn rl_notices_per_dialect() {
        for v in versions() {
            let n = |added| {
                wire(
                    &RlNotice {
                        added,
                        serial: 5,
                        handle: "a@b.com",
                        name: Text::Plain("A B"),
                    },
                    v,
                )
            };
            if v <= 9 {
                assert_eq!(n(true), "ADD 0 RL 5 a@b.com A%20B\r\n");
                assert_eq!(n(false), "REM 0 RL 5 a@b.com\r\n");
            } else {
                assert_eq!(n(true), "ADC 0 RL N=a@b.com F=A%20B\r\n");
                assert_eq!(n(false), "REM 0 RL N=a@b.com\r\n");
            }
        }
    }
}
