//! Replies of the `sync` family: the lines of the `SYN` dump and of the MSNP2-8 client `LST`
//! and `LSG` requests (NS.md 3.3). `GTC`/`BLP` are `lists::Setting`, `PRP` is here as the dump
//! and `presence` share it.

use super::{Out, Reply, Text, end, head, sp, sp_num, sp_opt, sp_text};
use crate::dialect::Dialect;

/// The list version on `SYN`: a serial (MSNP2-9) or the two timestamps (MSNP10+).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ListVersion<'a> {
    /// `serial`.
    Serial(u32),
    /// `stamp stamp`.
    Stamps(&'a str),
}

/// `SYN trid version [contacts groups]`: counts from MSNP8 when a dump follows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Syn<'a> {
    /// Echoed.
    pub trid: u32,
    /// The list version.
    pub version: ListVersion<'a>,
    /// How many `LST` and `LSG` lines follow (MSNP8+ dumps only).
    pub counts: Option<(u32, u32)>,
}

impl Reply for Syn<'_> {
    fn write(&self, _: &Dialect, out: &mut impl Out) {
        head(out, "SYN", self.trid);
        match self.version {
            ListVersion::Serial(n) => sp_num(out, n),
            ListVersion::Stamps(ts) => {
                sp(out, ts);
                sp(out, ts);
            }
        }
        if let Some((contacts, groups)) = self.counts {
            sp_num(out, contacts);
            sp_num(out, groups);
        }
        end(out);
    }
}

/// `PRP [trid] [serial] kind [value]`: an own property (phone numbers, MSNP10+ `MFN`). The value
/// is left out when empty (an unset phone number).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Prp<'a> {
    /// The command's trid; in `SYN` from MSNP8 none.
    pub trid: Option<u32>,
    /// The list serial where the line carries one.
    pub serial: Option<u32>,
    /// `PHH`, `PHW`, `PHM`, `MOB`, `MBE`, `MFN`...
    pub kind: &'a str,
    /// The value.
    pub value: Text<'a>,
}

impl Reply for Prp<'_> {
    fn write(&self, _: &Dialect, out: &mut impl Out) {
        out.put(b"PRP");
        sp_opt(out, self.trid);
        sp_opt(out, self.serial);
        sp(out, self.kind);
        if !self.value.is_empty() {
            sp_text(out, self.value);
        }
        end(out);
    }
}

/// `BPR` inside `SYN`: a contact's phone number after its `LST`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SynBpr<'a> {
    /// `BPR serial handle kind [value]` (MSNP5-7).
    Classic {
        /// The list serial.
        serial: u32,
        /// The contact.
        handle: &'a str,
        /// `PHH`, `PHW`, `PHM`, `MOB`.
        kind: &'a str,
        /// The value, left out when empty.
        value: Text<'a>,
    },
    /// `BPR kind value` (MSNP8+: the contact is the `LST` before it).
    Short {
        /// `PHH`, `PHW`, `PHM`, `MOB`.
        kind: &'a str,
        /// The value.
        value: Text<'a>,
    },
}

impl Reply for SynBpr<'_> {
    fn write(&self, _: &Dialect, out: &mut impl Out) {
        out.put(b"BPR");
        match *self {
            SynBpr::Classic {
                serial,
                handle,
                kind,
                value,
            } => {
                sp_num(out, serial);
                sp(out, handle);
                sp(out, kind);
                if !value.is_empty() {
                    sp_text(out, value);
                }
            }
            SynBpr::Short { kind, value } => {
                sp(out, kind);
                sp_text(out, value);
            }
        }
        end(out);
    }
}

/// An `LSG` line (a group).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lsg<'a> {
    /// `LSG trid serial index total id name 0` (MSNP7 SYN, MSNP7-8 client `LSG`).
    Indexed {
        /// Echoed.
        trid: u32,
        /// The list serial.
        serial: u32,
        /// 1-based.
        index: u32,
        /// How many groups.
        total: u32,
        /// The group number.
        id: u8,
        /// The group's name.
        name: Text<'a>,
    },
    /// `LSG id name 0` (MSNP8-9 SYN).
    Numbered {
        /// The group number.
        id: u8,
        /// The group's name.
        name: Text<'a>,
    },
    /// `LSG name guid` (MSNP10+ SYN).
    Guid {
        /// The group's name.
        name: Text<'a>,
        /// The group's GUID.
        guid: &'a str,
    },
}

impl Reply for Lsg<'_> {
    fn write(&self, _: &Dialect, out: &mut impl Out) {
        out.put(b"LSG");
        match *self {
            Lsg::Indexed {
                trid,
                serial,
                index,
                total,
                id,
                name,
            } => {
                for n in [trid, serial, index, total, id as u32] {
                    sp_num(out, n);
                }
                sp_text(out, name);
                sp(out, "0");
            }
            Lsg::Numbered { id, name } => {
                sp_num(out, id as u32);
                sp_text(out, name);
                sp(out, "0");
            }
            Lsg::Guid { name, guid } => {
                sp_text(out, name);
                sp(out, guid);
            }
        }
        end(out);
    }
}

/// An `LST` line (a contact, or an empty list).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lst<'a> {
    /// `LST trid LIST serial 0 0`: the list is empty (MSNP2-7 SYN, client `LST`).
    Empty {
        /// Echoed.
        trid: u32,
        /// `FL`, `AL`, `BL`, `RL`.
        list: &'a str,
        /// The list serial.
        serial: u32,
    },
    /// `LST trid LIST serial index total handle name [groups]` (MSNP2-7 SYN, client `LST`).
    Indexed {
        /// Echoed.
        trid: u32,
        /// `FL`, `AL`, `BL`, `RL`.
        list: &'a str,
        /// The list serial.
        serial: u32,
        /// 1-based.
        index: u32,
        /// How many on the list.
        total: u32,
        /// The contact.
        handle: &'a str,
        /// Their name.
        name: Text<'a>,
        /// Their group numbers, comma-separated (FL with groups only).
        groups: Option<&'a str>,
    },
    /// `LST handle name lists [groups]` (MSNP8-9 SYN).
    Bitmask {
        /// The contact.
        handle: &'a str,
        /// Their name.
        name: Text<'a>,
        /// The lists they are on, as a bitmask.
        lists: u8,
        /// Their group numbers (when on FL).
        groups: Option<&'a str>,
    },
    /// `LST N=handle F=name [C=guid] lists [network] [groups]` (MSNP10+ SYN).
    Guid {
        /// The contact.
        handle: &'a str,
        /// Their name.
        name: Text<'a>,
        /// Their contact GUID (when on FL).
        guid: Option<&'a str>,
        /// The lists they are on, as a bitmask.
        lists: u8,
        /// The network id `1` (MSNP12's dump, `SynFormat::GuidNetwork`).
        network: bool,
        /// Their group GUIDs, comma-separated, if in any.
        groups: Option<&'a str>,
    },
}

impl Reply for Lst<'_> {
    fn write(&self, _: &Dialect, out: &mut impl Out) {
        out.put(b"LST");
        match *self {
            Lst::Empty { trid, list, serial } => {
                sp_num(out, trid);
                sp(out, list);
                sp_num(out, serial);
                sp(out, "0 0");
            }
            Lst::Indexed {
                trid,
                list,
                serial,
                index,
                total,
                handle,
                name,
                groups,
            } => {
                sp_num(out, trid);
                sp(out, list);
                for n in [serial, index, total] {
                    sp_num(out, n);
                }
                sp(out, handle);
                sp_text(out, name);
                if let Some(g) = groups {
                    sp(out, g);
                }
            }
            Lst::Bitmask {
                handle,
                name,
                lists,
                groups,
            } => {
                sp(out, handle);
                sp_text(out, name);
                sp_num(out, lists as u32);
                if let Some(g) = groups {
                    sp(out, g);
                }
            }
            Lst::Guid {
                handle,
                name,
                guid,
                lists,
                network,
                groups,
            } => {
                out.put(b" N=");
                out.put(handle.as_bytes());
                out.put(b" F=");
                super::text(out, name);
                if let Some(guid) = guid {
                    out.put(b" C=");
                    out.put(guid.as_bytes());
                }
                sp_num(out, lists as u32);
                if network {
                    sp(out, "1");
                }
                if let Some(g) = groups {
                    sp(out, g);
                }
            }
        }
        end(out);
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::wire;
    use super::*;

    #[test]
    fn syn_heads() {
        let syn = |version, counts| {
            wire(
                &Syn {
                    trid: 1,
                    version,
                    counts,
                },
                12,
            )
        };
        assert_eq!(syn(ListVersion::Serial(4), None), "SYN 1 4\r\n");
        assert_eq!(syn(ListVersion::Serial(4), Some((3, 1))), "SYN 1 4 3 1\r\n");
        let ts = "2005-04-23T18:57:44.8130000-07:00";
        assert_eq!(
            syn(ListVersion::Stamps(ts), Some((0, 0))),
            format!("SYN 1 {ts} {ts} 0 0\r\n")
        );
    }

    #[test]
    fn prp_and_bpr() {
        let p = |trid, serial, value| {
            wire(
                &Prp {
                    trid,
                    serial,
                    kind: "PHH",
                    value,
                },
                8,
            )
        };
        assert_eq!(p(Some(2), Some(9), Text::Plain("")), "PRP 2 9 PHH\r\n");
        assert_eq!(
            p(Some(2), Some(9), Text::Plain("1 2")),
            "PRP 2 9 PHH 1%202\r\n"
        );
        assert_eq!(p(None, None, Text::Wire("1%202")), "PRP PHH 1%202\r\n");
        let b = SynBpr::Classic {
            serial: 9,
            handle: "a@b.com",
            kind: "MOB",
            value: Text::Plain("Y"),
        };
        assert_eq!(wire(&b, 5), "BPR 9 a@b.com MOB Y\r\n");
        let b = SynBpr::Classic {
            serial: 9,
            handle: "a@b.com",
            kind: "PHH",
            value: Text::Plain(""),
        };
        assert_eq!(wire(&b, 5), "BPR 9 a@b.com PHH\r\n");
        let b = SynBpr::Short {
            kind: "PHM",
            value: Text::Plain("5 5"),
        };
        assert_eq!(wire(&b, 9), "BPR PHM 5%205\r\n");
    }

    #[test]
    fn groups() {
        let name = Text::Plain("Co workers");
        let l = Lsg::Indexed {
            trid: 3,
            serial: 8,
            index: 1,
            total: 2,
            id: 0,
            name,
        };
        assert_eq!(wire(&l, 7), "LSG 3 8 1 2 0 Co%20workers 0\r\n");
        assert_eq!(
            wire(&Lsg::Numbered { id: 1, name }, 8),
            "LSG 1 Co%20workers 0\r\n"
        );
        let g = Lsg::Guid {
            name,
            guid: "d6deee0b-1234",
        };
        assert_eq!(wire(&g, 11), "LSG Co%20workers d6deee0b-1234\r\n");
    }

    #[test]
    fn contacts() {
        let name = Text::Plain("A B");
        assert_eq!(
            wire(
                &Lst::Empty {
                    trid: 4,
                    list: "AL",
                    serial: 7
                },
                2
            ),
            "LST 4 AL 7 0 0\r\n"
        );
        let l = Lst::Indexed {
            trid: 4,
            list: "FL",
            serial: 7,
            index: 1,
            total: 1,
            handle: "a@b.com",
            name,
            groups: Some("0,2"),
        };
        assert_eq!(wire(&l, 7), "LST 4 FL 7 1 1 a@b.com A%20B 0,2\r\n");
        let l = Lst::Bitmask {
            handle: "a@b.com",
            name,
            lists: 13,
            groups: None,
        };
        assert_eq!(wire(&l, 8), "LST a@b.com A%20B 13\r\n");
        let l = Lst::Guid {
            handle: "a@b.com",
            name,
            guid: Some("c-1"),
            lists: 3,
            network: false,
            groups: Some("g-1,g-2"),
        };
        assert_eq!(wire(&l, 11), "LST N=a@b.com F=A%20B C=c-1 3 g-1,g-2\r\n");
        let l = Lst::Guid {
            handle: "a@b.com",
            name,
            guid: Some("c-1"),
            lists: 3,
            network: true,
            groups: Some("g-1,g-2"),
        };
        assert_eq!(wire(&l, 12), "LST N=a@b.com F=A%20B C=c-1 3 1 g-1,g-2\r\n");
        let l = Lst::Guid {
            handle: "a@b.com",
            name,
            guid: None,
            lists: 8,
            network: true,
            groups: None,
        };
        assert_eq!(wire(&l, 12), "LST N=a@b.com F=A%20B 8 1\r\n");
    }
}
