//! SYN, and the MSNP2-8 client LST and LSG requests (NS.md 3.3, 3.4).

use super::{ClientCommand, arg, arg_u32, end, head};
use crate::dialect::Dialect;
use crate::model::list;
use crate::protocol::cursor::{ArgError, Cursor};
use crate::protocol::frame::Command;

/// What the client has cached: `SYN trid serial` (MSNP2-9, `Dialect::list_serials`) or
/// `SYN trid list-timestamp settings-timestamp` (MSNP10-12).
///
/// A missing or unreadable cache stamp is not an error: the client gets the whole list, as it
/// does today (`None`). Extra arguments are refused: every client sends exactly its stamps
/// (`SYN trid 0`, msnp11-sdk `SYN trid 0 0`).
#[derive(Debug, PartialEq, Eq)]
pub enum Syn<'a> {
    /// MSNP2-9: the cached list serial; `None` when missing or not a number.
    Serial(Option<u32>),
    /// MSNP10-12: the cached list and settings timestamps; `None` unless both are there.
    Timestamps(Option<(&'a str, &'a str)>),
}

impl<'a> ClientCommand<'a> for Syn<'a> {
    const VERB: &'static str = "SYN";

    fn parse(cmd: &'a Command<'a>, dialect: &Dialect) -> Result<Self, ArgError> {
        let mut c = Cursor::new(Self::VERB, cmd);
        let syn = if dialect.list_serials {
            Syn::Serial(c.optional().and_then(|s| s.parse().ok()))
        } else {
            match (c.optional(), c.optional()) {
                (Some(list), Some(settings)) => Syn::Timestamps(Some((list, settings))),
                _ => Syn::Timestamps(None),
            }
        };
        c.finish()?;
        Ok(syn)
    }

    fn write(&self, trid: u32, _: &Dialect, out: &mut Vec<u8>) {
        head(out, Self::VERB, trid);
        match self {
            Syn::Serial(s) => arg_u32(out, s.unwrap_or(0)),
            Syn::Timestamps(t) => {
                let (l, s) = t.unwrap_or(("0", "0"));
                arg(out, l);
                arg(out, s);
            }
        }
        end(out);
    }
}

impl Syn<'static> {
    /// A first sign-in: nothing cached (`SYN trid 0` / `SYN trid 0 0`).
    pub fn fresh(dialect: &Dialect) -> Syn<'static> {
        if dialect.list_serials {
            Syn::Serial(Some(0))
        } else {
            Syn::Timestamps(Some(("0", "0")))
        }
    }
}

/// `LST trid FL|AL|BL|RL` (MSNP2-8): one list. PL or an unknown name is `Invalid`.
#[derive(Debug, PartialEq, Eq)]
pub struct Lst {
    /// One `model::list` bit.
    pub list: u8,
}

impl<'a> ClientCommand<'a> for Lst {
    const VERB: &'static str = "LST";

    fn parse(cmd: &'a Command<'a>, _: &Dialect) -> Result<Self, ArgError> {
        let mut c = Cursor::new(Self::VERB, cmd);
        let list = c.next_with(|l| list::parse(l).filter(|b| *b != list::PL))?;
        c.finish()?;
        Ok(Lst { list })
    }

    fn write(&self, trid: u32, _: &Dialect, out: &mut Vec<u8>) {
        head(out, Self::VERB, trid);
        arg(out, list::name(self.list));
        end(out);
    }
}

/// `LSG trid` (MSNP7-8): the groups.
#[derive(Debug, PartialEq, Eq)]
pub struct Lsg;

impl<'a> ClientCommand<'a> for Lsg {
    const VERB: &'static str = "LSG";

    fn parse(cmd: &'a Command<'a>, _: &Dialect) -> Result<Self, ArgError> {
        Cursor::new(Self::VERB, cmd).finish()?;
        Ok(Lsg)
    }

    fn write(&self, trid: u32, _: &Dialect, out: &mut Vec<u8>) {
        head(out, Self::VERB, trid);
        end(out);
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{all, parse_line, round_trip, v};
    use super::*;
    use crate::protocol::Role::Notification as NS;

    #[test]
    fn round_trips_in_every_dialect() {
        for d in all() {
            let b = round_trip!(Syn, Syn::fresh(d), d, NS);
            let want = if d.list_serials {
                "SYN 7 0\r\n"
            } else {
                "SYN 7 0 0\r\n"
            };
            assert_eq!(b, want.as_bytes());
            if d.list_serials {
                round_trip!(Syn, Syn::Serial(Some(4_000_000_000)), d, NS);
            } else {
                let ts = "2005-04-23T18:57:44.8130000-07:00";
                round_trip!(Syn, Syn::Timestamps(Some((ts, ts))), d, NS);
            }
            for l in [list::FL, list::AL, list::BL, list::RL] {
                round_trip!(Lst, Lst { list: l }, d, NS);
            }
            round_trip!(Lsg, Lsg, d, NS);
        }
    }

    #[test]
    fn lenient_cache_stamps_strict_shape() {
        use ArgError::*;
        let (cmd, _) = crate::protocol::parse_frame(b"SYN 1 x\r\n", NS)
            .unwrap()
            .unwrap();
        assert_eq!(Syn::parse(&cmd, v(7)), Ok(Syn::Serial(None)));
        let (cmd, _) = crate::protocol::parse_frame(b"SYN 1\r\n", NS)
            .unwrap()
            .unwrap();
        assert_eq!(Syn::parse(&cmd, v(12)), Ok(Syn::Timestamps(None)));
        assert_eq!(
            parse_line!(Syn, b"SYN 1 0 0\r\n", v(9), NS),
            Err(Extra {
                verb: "SYN",
                index: 1
            })
        );
        assert_eq!(
            parse_line!(Syn, b"SYN 1 0 0 0\r\n", v(10), NS),
            Err(Extra {
                verb: "SYN",
                index: 2
            })
        );
        assert_eq!(
            parse_line!(Lst, b"LST 1 PL\r\n", v(7), NS),
            Err(Invalid {
                verb: "LST",
                index: 0
            })
        );
        assert_eq!(
            parse_line!(Lst, b"LST 1\r\n", v(7), NS),
            Err(Missing {
                verb: "LST",
                index: 0
            })
        );
        assert_eq!(
            parse_line!(Lst, b"LST 1 FL x\r\n", v(7), NS),
            Err(Extra {
                verb: "LST",
                index: 1
            })
        );
        assert_eq!(
            parse_line!(Lsg, b"LSG 1 x\r\n", v(7), NS),
            Err(Extra {
                verb: "LSG",
                index: 0
            })
        );
    }
}
