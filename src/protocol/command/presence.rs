//! CHG, REA, PRP, SBP and UUX: my status, names, phone numbers and personal message (NS.md 4).

use super::{ClientCommand, arg, arg_u32, end, head, payload};
use crate::dialect::Dialect;
use crate::model::Status;
use crate::protocol::cursor::{ArgError, Cursor};
use crate::protocol::frame::Command;

/// `CHG trid STATUS {caps MSNP8+} {msnobject MSNP9+}` (NS.md 4.2).
///
/// An unknown status (`FLN` included) or non-numeric caps is `Invalid` (the handler answers
/// `201`). Caps are read in every version, as today (MSNP10-12 clients may leave them out: then
/// `None`, meaning 0); the MSNObject is kept only where the dialect carries one
/// (`Dialect::presence_msnobj`) and dropped before, as today. A fourth argument is refused: no
/// client of MSNP2-18 sends one. MSNP16+ writes the caps as `caps:capsex`.
#[derive(Debug, PartialEq, Eq)]
pub struct Chg<'a> {
    /// The new status.
    pub status: Status,
    /// Client capabilities; `None` when left out.
    pub caps: Option<u32>,
    /// Extended capabilities, the part after `:` in MSNP16+'s `caps:capsex` (`None` when the
    /// dialect has none or the client left it out).
    pub caps_ex: Option<u32>,
    /// The encoded MSNObject, as sent.
    pub msnobj: Option<&'a str>,
}

impl Chg<'static> {
    /// A status change as a client of `dialect` sends it without a display picture: with caps
    /// `0` where the dialect has caps (`CHG trid NLN 0`), without them before (`CHG trid NLN`).
    pub fn new(status: Status, dialect: &Dialect) -> Chg<'static> {
        Chg {
            status,
            caps: dialect.presence_caps.then_some(0),
            caps_ex: dialect.caps_ex.then_some(0),
            msnobj: None,
        }
    }
}

impl<'a> ClientCommand<'a> for Chg<'a> {
    const VERB: &'static str = "CHG";

    fn parse(cmd: &'a Command<'a>, dialect: &Dialect) -> Result<Self, ArgError> {
        let mut c = Cursor::new(Self::VERB, cmd);
        let status = c.next_with(Status::parse)?;
        let (caps, caps_ex) = match c.optional() {
            Some(caps) => {
                let (base, ex) = match caps.split_once(':') {
                    Some((base, ex)) if dialect.caps_ex => (base, Some(ex)),
                    _ => (caps, None),
                };
                let base = base.parse().map_err(|_| c.invalid_last())?;
                let ex = match ex {
                    Some(ex) => Some(ex.parse().map_err(|_| c.invalid_last())?),
                    None => None,
                };
                (Some(base), ex)
            }
            None => (None, None),
        };
        let msnobj = c.optional().filter(|_| dialect.presence_msnobj);
        c.finish()?;
        Ok(Chg {
            status,
            caps,
            caps_ex,
            msnobj,
        })
    }

    fn write(&self, trid: u32, _: &Dialect, out: &mut Vec<u8>) {
        head(out, Self::VERB, trid);
        arg(out, self.status.code());
        match (self.caps, self.caps_ex) {
            (Some(caps), Some(ex)) => arg(out, &format!("{caps}:{ex}")),
            (Some(caps), None) => arg_u32(out, caps),
            _ => {}
        }
        if let Some(o) = self.msnobj {
            arg(out, o);
        }
        end(out);
    }
}

/// `REA trid handle name` (MSNP2-9): renames me (my own handle) or my stored name for a contact.
/// The name is the encoded wire form.
#[derive(Debug, PartialEq, Eq)]
pub struct Rea<'a> {
    /// My handle (my own name) or a contact's (my name for them).
    pub handle: &'a str,
    /// The new name, encoded as sent.
    pub name: &'a str,
}

impl<'a> ClientCommand<'a> for Rea<'a> {
    const VERB: &'static str = "REA";

    fn parse(cmd: &'a Command<'a>, _: &Dialect) -> Result<Self, ArgError> {
        let mut c = Cursor::new(Self::VERB, cmd);
        let rea = Rea {
            handle: c.next()?,
            name: c.next()?,
        };
        c.finish()?;
        Ok(rea)
    }

    fn write(&self, trid: u32, _: &Dialect, out: &mut Vec<u8>) {
        head(out, Self::VERB, trid);
        arg(out, self.handle);
        arg(out, self.name);
        end(out);
    }
}

/// `PRP trid TYPE {value}` (MSNP5-12): one of my properties (PHH PHW PHM MOB MBE, MFN from
/// MSNP10); no value clears it. The type and value are kept as sent: their rules (length,
/// known types, `Y`/`N`) decide between an error code and a disconnect in the handler.
#[derive(Debug, PartialEq, Eq)]
pub struct Prp<'a> {
    /// The property (`PHH`, `MFN`...), as sent.
    pub kind: &'a str,
    /// The new value, encoded as sent; `None` clears it.
    pub value: Option<&'a str>,
}

impl<'a> ClientCommand<'a> for Prp<'a> {
    const VERB: &'static str = "PRP";

    fn parse(cmd: &'a Command<'a>, _: &Dialect) -> Result<Self, ArgError> {
        let mut c = Cursor::new(Self::VERB, cmd);
        let prp = Prp {
            kind: c.next()?,
            value: c.optional(),
        };
        c.finish()?;
        Ok(prp)
    }

    fn write(&self, trid: u32, _: &Dialect, out: &mut Vec<u8>) {
        head(out, Self::VERB, trid);
        arg(out, self.kind);
        if let Some(v) = self.value {
            arg(out, v);
        }
        end(out);
    }
}

/// `SBP trid contact-guid TYPE value` (MSNP10-12): a property of a contact (`MFN` renames it).
#[derive(Debug, PartialEq, Eq)]
pub struct Sbp<'a> {
    /// The contact's GUID.
    pub contact: &'a str,
    /// The property (`MFN`...).
    pub kind: &'a str,
    /// The new value, encoded as sent.
    pub value: &'a str,
}

impl<'a> ClientCommand<'a> for Sbp<'a> {
    const VERB: &'static str = "SBP";

    fn parse(cmd: &'a Command<'a>, _: &Dialect) -> Result<Self, ArgError> {
        let mut c = Cursor::new(Self::VERB, cmd);
        let sbp = Sbp {
            contact: c.next()?,
            kind: c.next()?,
            value: c.next()?,
        };
        c.finish()?;
        Ok(sbp)
    }

    fn write(&self, trid: u32, _: &Dialect, out: &mut Vec<u8>) {
        head(out, Self::VERB, trid);
        arg(out, self.contact);
        arg(out, self.kind);
        arg(out, self.value);
        end(out);
    }
}

/// `UUX trid len` + `<Data>...</Data>` (MSNP11-12): my personal message. The payload is checked
/// by the handler (UTF-8, a `<Data>` document).
#[derive(Debug, PartialEq, Eq)]
pub struct Uux<'a> {
    /// The `<Data>` document, as sent.
    pub data: &'a [u8],
}

impl<'a> ClientCommand<'a> for Uux<'a> {
    const VERB: &'static str = "UUX";

    fn parse(cmd: &'a Command<'a>, _: &Dialect) -> Result<Self, ArgError> {
        let mut c = Cursor::new(Self::VERB, cmd);
        let _length = c.next()?; // checked by the framer, which cut the payload
        c.finish()?;
        Ok(Uux { data: cmd.payload })
    }

    fn write(&self, trid: u32, _: &Dialect, out: &mut Vec<u8>) {
        head(out, Self::VERB, trid);
        payload(out, self.data);
    }
}

/// `UUN trid target type len` + payload (MSNP13+): a message to a contact's endpoints or one of
/// my own (`email;{guid}`), e.g. type 4 `goawyplzthxbye` to sign that endpoint out (W uun.md;
/// libpurple `msn_notification_send_uun`). The server hands it on as `UBN`.
#[derive(Debug, PartialEq, Eq)]
pub struct Uun<'a> {
    /// `email`, `email;{guid}`, or MSNP18's `1:email[;{guid}]`, as sent.
    pub target: &'a str,
    /// The notification type (4 = MPOP sign-out ...).
    pub kind: u32,
    /// The payload, as sent.
    pub data: &'a [u8],
}

impl<'a> ClientCommand<'a> for Uun<'a> {
    const VERB: &'static str = "UUN";

    fn parse(cmd: &'a Command<'a>, _: &Dialect) -> Result<Self, ArgError> {
        let mut c = Cursor::new(Self::VERB, cmd);
        let target = c.next()?;
        let kind = c.next_with(|k| k.parse().ok())?;
        let _length = c.next()?; // checked by the framer, which cut the payload
        c.finish()?;
        Ok(Uun {
            target,
            kind,
            data: cmd.payload,
        })
    }

    fn write(&self, trid: u32, _: &Dialect, out: &mut Vec<u8>) {
        head(out, Self::VERB, trid);
        arg(out, self.target);
        arg_u32(out, self.kind);
        payload(out, self.data);
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{all, parse_line, round_trip, v};
    use super::*;
    use crate::protocol::Role::Notification as NS;

    #[test]
    fn chg_forms_per_dialect() {
        for d in all() {
            let b = round_trip!(Chg, Chg::new(Status::Away, d), d, NS);
            let want = match (d.presence_caps, d.caps_ex) {
                (true, true) => "CHG 7 AWY 0:0\r\n",
                (true, false) => "CHG 7 AWY 0\r\n",
                _ => "CHG 7 AWY\r\n",
            };
            assert_eq!(b, want.as_bytes());
            round_trip!(
                Chg,
                Chg {
                    status: Status::Hidden,
                    caps: Some(268435500),
                    caps_ex: d.caps_ex.then_some(48),
                    msnobj: None
                },
                d,
                NS
            );
            if d.presence_msnobj {
                let o = "%3Cmsnobj%20Creator%3D%22a%40b.com%22%2F%3E";
                round_trip!(
                    Chg,
                    Chg {
                        status: Status::Online,
                        caps: Some(1),
                        caps_ex: None,
                        msnobj: Some(o)
                    },
                    d,
                    NS
                );
            }
        }
        let (cmd, _) = crate::protocol::parse_frame(b"CHG 1 NLN 0 obj\r\n", NS)
            .unwrap()
            .unwrap();
        assert_eq!(Chg::parse(&cmd, v(8)).unwrap().msnobj, None);
        // MSNP16+: `caps:capsex`, as libpurple's MSNP18 plug-in sends it.
        let (cmd, _) = crate::protocol::parse_frame(b"CHG 12 NLN 2789003324:48 0\r\n", NS)
            .unwrap()
            .unwrap();
        let chg = Chg::parse(&cmd, v(18)).unwrap();
        assert_eq!(
            (chg.caps, chg.caps_ex, chg.msnobj),
            (Some(2789003324), Some(48), Some("0"))
        );
        assert!(Chg::parse(&cmd, v(15)).is_err());
        let (cmd, _) = crate::protocol::parse_frame(b"CHG 12 NLN 1:x\r\n", NS)
            .unwrap()
            .unwrap();
        assert!(Chg::parse(&cmd, v(18)).is_err());
        use ArgError::*;
        let p = |l: &[u8]| parse_line!(Chg, l, v(12), NS);
        assert_eq!(
            p(b"CHG 1 FLN\r\n"),
            Err(Invalid {
                verb: "CHG",
                index: 0
            })
        );
        assert_eq!(
            p(b"CHG 1\r\n"),
            Err(Missing {
                verb: "CHG",
                index: 0
            })
        );
        assert_eq!(
            p(b"CHG 1 NLN x\r\n"),
            Err(Invalid {
                verb: "CHG",
                index: 1
            })
        );
        assert_eq!(
            p(b"CHG 1 NLN 0 o x\r\n"),
            Err(Extra {
                verb: "CHG",
                index: 3
            })
        );
    }

    #[test]
    fn names_and_properties() {
        for d in all() {
            round_trip!(
                Rea,
                Rea {
                    handle: "a@b.com",
                    name: "A%20B"
                },
                d,
                NS
            );
            round_trip!(
                Prp,
                Prp {
                    kind: "PHH",
                    value: Some("1%20555")
                },
                d,
                NS
            );
            round_trip!(
                Prp,
                Prp {
                    kind: "MOB",
                    value: None
                },
                d,
                NS
            );
            round_trip!(
                Sbp,
                Sbp {
                    contact: "guid",
                    kind: "MFN",
                    value: "Bob"
                },
                d,
                NS
            );
            let b = round_trip!(
                Uux,
                Uux {
                    data: b"<Data><PSM>hi</PSM></Data>"
                },
                d,
                NS
            );
            assert_eq!(b, b"UUX 7 26\r\n<Data><PSM>hi</PSM></Data>");
            round_trip!(Uux, Uux { data: b"" }, d, NS);
        }
        use ArgError::*;
        let d = v(9);
        assert_eq!(
            parse_line!(Rea, b"REA 1 a@b.com\r\n", d, NS),
            Err(Missing {
                verb: "REA",
                index: 1
            })
        );
        assert_eq!(
            parse_line!(Rea, b"REA 1 a b c\r\n", d, NS),
            Err(Extra {
                verb: "REA",
                index: 2
            })
        );
        assert_eq!(
            parse_line!(Prp, b"PRP 1\r\n", d, NS),
            Err(Missing {
                verb: "PRP",
                index: 0
            })
        );
        assert_eq!(
            parse_line!(Prp, b"PRP 1 PHH 1 2\r\n", d, NS),
            Err(Extra {
                verb: "PRP",
                index: 2
            })
        );
        assert_eq!(
            parse_line!(Sbp, b"SBP 1 g MFN\r\n", d, NS),
            Err(Missing {
                verb: "SBP",
                index: 2
            })
        );
        assert_eq!(
            parse_line!(Uux, b"UUX 1 x 0\r\n", d, NS),
            Err(Extra {
                verb: "UUX",
                index: 1
            })
        );
    }

    #[test]
    fn uun_round_trips_and_refuses() {
        let u = Uun {
            target: "a@b.com;{F26D1F07-95E2-403C-BC18-D4BFED493428}",
            kind: 4,
            data: b"goawyplzthxbye",
        };
        let b = round_trip!(Uun, u, v(18), NS);
        assert_eq!(
            b,
            &b"UUN 7 a@b.com;{F26D1F07-95E2-403C-BC18-D4BFED493428} 4 14\r\ngoawyplzthxbye"[..]
        );
        let (cmd, _) = crate::protocol::parse_frame(b"UUN 1 a@b.com x 2\r\nhi", NS)
            .unwrap()
            .unwrap();
        assert!(Uun::parse(&cmd, v(13)).is_err());
    }
}
