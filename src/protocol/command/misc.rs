//! URL, SND, SDC, FND, IMS, PNG, QRY, GCF and OUT (NS.md 4.8-4.10, 6). `OUT` also ends a
//! switchboard session.

use super::{ClientCommand, arg, end, head, payload};
use crate::dialect::Dialect;
use crate::protocol::cursor::{ArgError, Cursor};
use crate::protocol::frame::Command;

/// `URL trid SERVICE {param} {more}`: a web page the client wants to open (INBOX, COMPOSE with
/// a recipient, PROFILE with an lcid...). W url.md documents at most one parameter; a second is
/// read and ignored (`more`), as the server always has, because not every client's URL requests
/// are on record and the answer does not depend on them.
#[derive(Debug, PartialEq, Eq)]
pub struct Url<'a> {
    /// The page wanted (`INBOX`, `COMPOSE`, `PERSON`...).
    pub service: &'a str,
    /// Its parameter (a recipient, an lcid).
    pub param: Option<&'a str>,
    /// A second parameter, accepted and ignored.
    pub more: Option<&'a str>,
}

impl<'a> ClientCommand<'a> for Url<'a> {
    const VERB: &'static str = "URL";

    fn parse(cmd: &'a Command<'a>, _: &Dialect) -> Result<Self, ArgError> {
        let mut c = Cursor::new(Self::VERB, cmd);
        let url = Url {
            service: c.next()?,
            param: c.optional(),
            more: c.optional(),
        };
        c.finish()?;
        Ok(url)
    }

    fn write(&self, trid: u32, _: &Dialect, out: &mut Vec<u8>) {
        head(out, Self::VERB, trid);
        arg(out, self.service);
        for p in [self.param, self.more].into_iter().flatten() {
            arg(out, p);
        }
        end(out);
    }
}

/// `SND trid e-mail {lcid library MSNP3+} {codebase MSNP4+}`: invite someone by e-mail. Nothing
/// is sent, so the fields after the address are kept as they came, whatever their number.
#[derive(Debug, PartialEq, Eq)]
pub struct Snd<'a> {
    /// The address to invite.
    pub email: &'a str,
    /// lcid, library and codebase, as sent.
    pub rest: &'a [&'a str],
}

impl<'a> ClientCommand<'a> for Snd<'a> {
    const VERB: &'static str = "SND";

    fn parse(cmd: &'a Command<'a>, _: &Dialect) -> Result<Self, ArgError> {
        let mut c = Cursor::new(Self::VERB, cmd);
        Ok(Snd {
            email: c.next()?,
            rest: c.rest(),
        })
    }

    fn write(&self, trid: u32, _: &Dialect, out: &mut Vec<u8>) {
        head(out, Self::VERB, trid);
        arg(out, self.email);
        for a in self.rest {
            arg(out, a);
        }
        end(out);
    }
}

/// `SDC trid e-mail lcid MSMSGS MSMSGS X X sender-name len` + body (MSNP5+): an invitation
/// e-mail. Nothing is sent; the fields are kept as they came (without the length).
#[derive(Debug, PartialEq, Eq)]
pub struct Sdc<'a> {
    /// Address, lcid, libraries, sender name... as sent, without the length.
    pub fields: &'a [&'a str],
    /// The e-mail body.
    pub body: &'a [u8],
}

impl<'a> ClientCommand<'a> for Sdc<'a> {
    const VERB: &'static str = "SDC";

    fn parse(cmd: &'a Command<'a>, _: &Dialect) -> Result<Self, ArgError> {
        let mut c = Cursor::new(Self::VERB, cmd);
        let all = c.rest();
        // The framer made sure the last argument is the payload length.
        let fields = &all[..all.len().saturating_sub(1)];
        Ok(Sdc {
            fields,
            body: cmd.payload,
        })
    }

    fn write(&self, trid: u32, _: &Dialect, out: &mut Vec<u8>) {
        head(out, Self::VERB, trid);
        for a in self.fields {
            arg(out, a);
        }
        payload(out, self.body);
    }
}

/// `FND trid fname=... lname=... city=... state=... country=...` (MSNP2-6): a directory search.
/// The handler reads the fields it needs with `field`; the search finds nobody anyway.
#[derive(Debug, PartialEq, Eq)]
pub struct Fnd<'a> {
    /// `key=value` search fields, as sent.
    pub fields: &'a [&'a str],
}

impl<'a> Fnd<'a> {
    /// The value of `key=value`, if given.
    pub fn field(&self, key: &str) -> Option<&'a str> {
        self.fields
            .iter()
            .find_map(|a| a.strip_prefix(key)?.strip_prefix('='))
    }
}

impl<'a> ClientCommand<'a> for Fnd<'a> {
    const VERB: &'static str = "FND";

    fn parse(cmd: &'a Command<'a>, _: &Dialect) -> Result<Self, ArgError> {
        Ok(Fnd {
            fields: Cursor::new(Self::VERB, cmd).rest(),
        })
    }

    fn write(&self, trid: u32, _: &Dialect, out: &mut Vec<u8>) {
        head(out, Self::VERB, trid);
        for a in self.fields {
            arg(out, a);
        }
        end(out);
    }
}

/// `IMS trid ON|OFF` (MSNP3+): whether I accept invitations. Another value is `Invalid`
/// (the handler answers `201`).
#[derive(Debug, PartialEq, Eq)]
pub struct Ims {
    /// `OFF`: invitations to me fail (`217` to the caller).
    pub off: bool,
}

impl<'a> ClientCommand<'a> for Ims {
    const VERB: &'static str = "IMS";

    fn parse(cmd: &'a Command<'a>, _: &Dialect) -> Result<Self, ArgError> {
        let mut c = Cursor::new(Self::VERB, cmd);
        let off = c.next_with(|v| match v {
            "ON" => Some(false),
            "OFF" => Some(true),
            _ => None,
        })?;
        c.finish()?;
        Ok(Ims { off })
    }

    fn write(&self, trid: u32, _: &Dialect, out: &mut Vec<u8>) {
        head(out, Self::VERB, trid);
        arg(out, if self.off { "OFF" } else { "ON" });
        end(out);
    }
}

/// `PNG` (no trid): keep-alive.
#[derive(Debug, PartialEq, Eq)]
pub struct Png;

impl<'a> ClientCommand<'a> for Png {
    const VERB: &'static str = "PNG";

    fn parse(cmd: &'a Command<'a>, _: &Dialect) -> Result<Self, ArgError> {
        Cursor::new(Self::VERB, cmd).finish()?;
        Ok(Png)
    }

    fn write(&self, _: u32, _: &Dialect, out: &mut Vec<u8>) {
        out.extend_from_slice(b"PNG");
        end(out);
    }
}

/// `OUT` (no trid): signing out (notification) or leaving the conversation (switchboard).
#[derive(Debug, PartialEq, Eq)]
pub struct Out;

impl<'a> ClientCommand<'a> for Out {
    const VERB: &'static str = "OUT";

    fn parse(cmd: &'a Command<'a>, _: &Dialect) -> Result<Self, ArgError> {
        Cursor::new(Self::VERB, cmd).finish()?;
        Ok(Out)
    }

    fn write(&self, _: u32, _: &Dialect, out: &mut Vec<u8>) {
        out.extend_from_slice(b"OUT");
        end(out);
    }
}

/// `QRY trid product-id 32` + 32 hex digits (MSNP6-12): the answer to the last `CHL`.
/// The product id is required: without it the framer took the length for it (`QRY trid 32`).
#[derive(Debug, PartialEq, Eq)]
pub struct Qry<'a> {
    /// The client's product id, which selects the challenge key.
    pub product: &'a str,
    /// The 32 hex digits.
    pub answer: &'a [u8],
}

impl<'a> ClientCommand<'a> for Qry<'a> {
    const VERB: &'static str = "QRY";

    fn parse(cmd: &'a Command<'a>, _: &Dialect) -> Result<Self, ArgError> {
        let mut c = Cursor::new(Self::VERB, cmd);
        let product = c.next()?;
        let _length = c.next()?;
        c.finish()?;
        Ok(Qry {
            product,
            answer: cmd.payload,
        })
    }

    fn write(&self, trid: u32, _: &Dialect, out: &mut Vec<u8>) {
        head(out, Self::VERB, trid);
        arg(out, self.product);
        payload(out, self.answer);
    }
}

/// `GCF trid file` (MSNP11-12; the official client asks for `Shields.xml`). A missing file name
/// means `Shields.xml`, as today.
#[derive(Debug, PartialEq, Eq)]
pub struct Gcf<'a> {
    /// The file asked for.
    pub file: &'a str,
}

/// The only configuration file clients ask for.
pub const SHIELDS: &str = "Shields.xml";

impl<'a> ClientCommand<'a> for Gcf<'a> {
    const VERB: &'static str = "GCF";

    fn parse(cmd: &'a Command<'a>, _: &Dialect) -> Result<Self, ArgError> {
        let mut c = Cursor::new(Self::VERB, cmd);
        let file = c.optional().unwrap_or(SHIELDS);
        c.finish()?;
        Ok(Gcf { file })
    }

    fn write(&self, trid: u32, _: &Dialect, out: &mut Vec<u8>) {
        head(out, Self::VERB, trid);
        arg(out, self.file);
        end(out);
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{all, parse_line, round_trip, v};
    use super::*;
    use crate::protocol::Role::Notification as NS;
    use crate::protocol::Role::Switchboard as SB;

    #[test]
    fn round_trips_in_every_dialect() {
        for d in all() {
            round_trip!(
                Url,
                Url {
                    service: "INBOX",
                    param: None,
                    more: None
                },
                d,
                NS
            );
            round_trip!(
                Url,
                Url {
                    service: "COMPOSE",
                    param: Some("a@b.com"),
                    more: None
                },
                d,
                NS
            );
            round_trip!(
                Snd,
                Snd {
                    email: "a@b.com",
                    rest: &["0x0409", "MSMSGS", "MSMSGS"]
                },
                d,
                NS
            );
            round_trip!(
                Snd,
                Snd {
                    email: "a@b.com",
                    rest: &[]
                },
                d,
                NS
            );
            let fields = ["a@b.com", "0x0409", "MSMSGS", "MSMSGS", "X", "X", "Alice"];
            round_trip!(
                Sdc,
                Sdc {
                    fields: &fields,
                    body: b"hello"
                },
                d,
                NS
            );
            round_trip!(
                Fnd,
                Fnd {
                    fields: &["fname=a", "lname=b", "city=*"]
                },
                d,
                NS
            );
            round_trip!(Ims, Ims { off: true }, d, NS);
            round_trip!(Ims, Ims { off: false }, d, NS);
            assert_eq!(round_trip!(Png, Png, d, NS), b"PNG\r\n");
            assert_eq!(round_trip!(Out, Out, d, NS), b"OUT\r\n");
            assert_eq!(round_trip!(Out, Out, d, SB), b"OUT\r\n");
            let answer = b"3b6666b60157322b6fc6e41a115968f5";
            let b = round_trip!(
                Qry,
                Qry {
                    product: "msmsgs@msnmsgr.com",
                    answer
                },
                d,
                NS
            );
            assert!(b.starts_with(b"QRY 7 msmsgs@msnmsgr.com 32\r\n3b66"));
            round_trip!(Gcf, Gcf { file: SHIELDS }, d, NS);
        }
        let f = Fnd {
            fields: &["fname=a", "lname=", "x"],
        };
        assert_eq!(
            (f.field("fname"), f.field("lname"), f.field("city")),
            (Some("a"), Some(""), None)
        );
    }

    #[test]
    fn refusals() {
        use ArgError::*;
        let d = v(11);
        assert_eq!(
            parse_line!(Url, b"URL 1\r\n", d, NS),
            Err(Missing {
                verb: "URL",
                index: 0
            })
        );
        assert_eq!(parse_line!(Url, b"URL 1 A b c\r\n", d, NS), Ok(()));
        assert_eq!(
            parse_line!(Url, b"URL 1 A b c d\r\n", d, NS),
            Err(Extra {
                verb: "URL",
                index: 3
            })
        );
        assert_eq!(
            parse_line!(Snd, b"SND 1\r\n", d, NS),
            Err(Missing {
                verb: "SND",
                index: 0
            })
        );
        assert_eq!(
            parse_line!(Ims, b"IMS 1 MAYBE\r\n", d, NS),
            Err(Invalid {
                verb: "IMS",
                index: 0
            })
        );
        assert_eq!(
            parse_line!(Png, b"PNG x\r\n", d, NS),
            Err(Extra {
                verb: "PNG",
                index: 0
            })
        );
        assert_eq!(
            parse_line!(Out, b"OUT x\r\n", d, SB),
            Err(Extra {
                verb: "OUT",
                index: 0
            })
        );
        assert_eq!(
            parse_line!(Qry, b"QRY 1 32\r\n0123456789abcdef0123456789abcdef", d, NS),
            Err(Missing {
                verb: "QRY",
                index: 1
            })
        );
        let (cmd, _) = crate::protocol::parse_frame(b"GCF 1\r\n", NS)
            .unwrap()
            .unwrap();
        assert_eq!(Gcf::parse(&cmd, d), Ok(Gcf { file: SHIELDS }));
        assert_eq!(
            parse_line!(Gcf, b"GCF 1 a b\r\n", d, NS),
            Err(Extra {
                verb: "GCF",
                index: 1
            })
        );
    }
}
