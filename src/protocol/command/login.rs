//! VER, INF, CVR, CVQ and USR (notification side): the login sequence (NS.md 2).

use super::{ClientCommand, arg, end, head};
use crate::dialect::{Auth, Dialect};
use crate::limits::MAX_ARGS;
use crate::protocol::cursor::{ArgError, Cursor};
use crate::protocol::frame::Command;

/// `MSNPn` for every version served, as a client offers it in `VER`.
const PROTOCOL_NAMES: [&str; 11] = [
    "MSNP2", "MSNP3", "MSNP4", "MSNP5", "MSNP6", "MSNP7", "MSNP8", "MSNP9", "MSNP10", "MSNP11",
    "MSNP12",
];

/// The name a client gives `dialect`'s version in `VER` (`MSNP7`).
pub fn protocol_name(dialect: &Dialect) -> &'static str {
    PROTOCOL_NAMES[(dialect.version - crate::dialect::OLDEST) as usize]
}

/// `VER trid MSNPa MSNPb ... [CVR0]`: the versions a client speaks, highest first.
///
/// Any list is accepted, even an empty one: what no version matches is answered `VER trid 0`
/// (and the connection closed) by the handler, as the service did.
#[derive(Debug, PartialEq, Eq)]
pub struct Ver<'a> {
    /// The versions offered, in the client's order (`MSNP7`, `CVR0`...).
    pub offered: heapless::Vec<&'a str, MAX_ARGS>,
}

impl Ver<'static> {
    /// What a client of `dialect` offers: its version and `CVR0` (as every official client does).
    pub fn offering(dialect: &Dialect) -> Ver<'static> {
        let mut offered = heapless::Vec::new();
        let _ = offered.push(protocol_name(dialect));
        let _ = offered.push("CVR0");
        Ver { offered }
    }
}

impl<'a> ClientCommand<'a> for Ver<'a> {
    const VERB: &'static str = "VER";

    fn parse(cmd: &'a Command<'a>, _: &Dialect) -> Result<Self, ArgError> {
        let mut offered = heapless::Vec::new();
        for v in Cursor::new(Self::VERB, cmd).rest() {
            // `Command::args` holds at most `MAX_ARGS`, so this always fits.
            let _ = offered.push(*v);
        }
        Ok(Ver { offered })
    }

    fn write(&self, trid: u32, _: &Dialect, out: &mut Vec<u8>) {
        head(out, Self::VERB, trid);
        for v in &self.offered {
            arg(out, v);
        }
        end(out);
    }
}

/// `INF trid` (MSNP2-7): which authentication schemes the server offers. No client sends
/// arguments (W inf.md, NS.md 2.3), so any is refused.
#[derive(Debug, PartialEq, Eq)]
pub struct Inf;

impl<'a> ClientCommand<'a> for Inf {
    const VERB: &'static str = "INF";

    fn parse(cmd: &'a Command<'a>, _: &Dialect) -> Result<Self, ArgError> {
        Cursor::new(Self::VERB, cmd).finish()?;
        Ok(Inf)
    }

    fn write(&self, trid: u32, _: &Dialect, out: &mut Vec<u8>) {
        head(out, Self::VERB, trid);
        end(out);
    }
}

/// What a client says about itself in `CVR` and `CVQ`:
/// `lcid os os-ver arch library client-ver {codebase MSNP4+} {handle MSNP8+}` (NS.md 2.4).
///
/// The six fixed fields are required: every client from MSN 1.0 to 7.5 and msnp11-sdk sends
/// them. (Today's CVR handler answers even a bare `CVR trid`, with `1.0.0000`; mapping the
/// `Missing` error to that answer keeps it so.) Arguments after the handle are refused: no known
/// client sends any.
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
pub struct ClientVersion<'a> {
    /// Locale id (`0x0409`).
    pub lcid: &'a str,
    /// Operating system (`winnt`, `win`, `mac`).
    pub os: &'a str,
    /// Operating system version (`5.1`).
    pub os_version: &'a str,
    /// Processor (`i386`).
    pub arch: &'a str,
    /// Client library (`MSNMSGR`, `MSMSGS`).
    pub library: &'a str,
    /// Client version (`7.0.0777`): what CVR recommends back.
    pub client_version: &'a str,
    /// Client codebase (`MSMSGS`, MSNP4+).
    pub codebase: Option<&'a str>,
    /// The handle logging in (MSNP8+).
    pub handle: Option<&'a str>,
}

impl<'a> ClientVersion<'a> {
    fn read(c: &mut Cursor<'a>) -> Result<Self, ArgError> {
        let v = ClientVersion {
            lcid: c.next()?,
            os: c.next()?,
            os_version: c.next()?,
            arch: c.next()?,
            library: c.next()?,
            client_version: c.next()?,
            codebase: c.optional(),
            handle: c.optional(),
        };
        c.finish()?;
        Ok(v)
    }

    fn write_args(&self, out: &mut Vec<u8>) {
        for a in [
            self.lcid,
            self.os,
            self.os_version,
            self.arch,
            self.library,
            self.client_version,
        ] {
            arg(out, a);
        }
        for a in [self.codebase, self.handle].into_iter().flatten() {
            arg(out, a);
        }
    }

    /// The client library, as `dialect::Quirk::from_cvr` recognises it.
    pub fn quirk(&self) -> crate::dialect::Quirk {
        let mut args: heapless::Vec<&str, 8> = heapless::Vec::new();
        for a in [
            self.lcid,
            self.os,
            self.os_version,
            self.arch,
            self.library,
            self.client_version,
        ] {
            let _ = args.push(a);
        }
        for a in [self.codebase, self.handle].into_iter().flatten() {
            let _ = args.push(a);
        }
        crate::dialect::Quirk::from_cvr(&args)
    }
}

/// `CVR trid` + `ClientVersion`: the client's version, answered with the versions to use.
#[derive(Debug, PartialEq, Eq)]
pub struct Cvr<'a>(pub ClientVersion<'a>);

impl<'a> ClientCommand<'a> for Cvr<'a> {
    const VERB: &'static str = "CVR";

    fn parse(cmd: &'a Command<'a>, _: &Dialect) -> Result<Self, ArgError> {
        ClientVersion::read(&mut Cursor::new(Self::VERB, cmd)).map(Cvr)
    }

    fn write(&self, trid: u32, _: &Dialect, out: &mut Vec<u8>) {
        head(out, Self::VERB, trid);
        self.0.write_args(out);
        end(out);
    }
}

/// `CVQ trid` + `ClientVersion`, after `VER trid CVR0` (W cvr0.md). The handler answers and
/// hangs up whatever the arguments, so it may ignore an `ArgError` here.
#[derive(Debug, PartialEq, Eq)]
pub struct Cvq<'a>(pub ClientVersion<'a>);

impl<'a> ClientCommand<'a> for Cvq<'a> {
    const VERB: &'static str = "CVQ";

    fn parse(cmd: &'a Command<'a>, _: &Dialect) -> Result<Self, ArgError> {
        ClientVersion::read(&mut Cursor::new(Self::VERB, cmd)).map(Cvq)
    }

    fn write(&self, trid: u32, _: &Dialect, out: &mut Vec<u8>) {
        head(out, Self::VERB, trid);
        self.0.write_args(out);
        end(out);
    }
}

/// The stage of a `USR` login.
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
pub enum Stage {
    /// `I handle`: who is logging in.
    Initial,
    /// `S response`: the MD5 digest or the Passport ticket.
    Subsequent,
}

/// `USR trid MD5|TWN I handle` and `USR trid MD5|TWN S response` (NS.md 2.5, 2.6).
///
/// The scheme must be the dialect's (`MD5` MSNP2-7, `TWN` MSNP8-12): another is `Invalid` at 0,
/// which the service answered by hanging up. MSNP2's `CTP` scheme is not served.
#[derive(Debug, PartialEq, Eq)]
pub struct Usr<'a> {
    /// Which step of the login this is.
    pub stage: Stage,
    /// The handle (`I`) or the response (`S`).
    pub value: &'a str,
}

/// The scheme's name in `USR` (`MD5`, `TWN`).
pub fn scheme_name(auth: Auth) -> &'static str {
    match auth {
        Auth::Md5 => "MD5",
        Auth::Twn => "TWN",
    }
}

impl<'a> ClientCommand<'a> for Usr<'a> {
    const VERB: &'static str = "USR";

    fn parse(cmd: &'a Command<'a>, dialect: &Dialect) -> Result<Self, ArgError> {
        let mut c = Cursor::new(Self::VERB, cmd);
        c.next_with(|s| (s == scheme_name(dialect.auth)).then_some(()))?;
        let stage = c.next_with(|s| match s {
            "I" => Some(Stage::Initial),
            "S" => Some(Stage::Subsequent),
            _ => None,
        })?;
        let value = c.next()?;
        c.finish()?;
        Ok(Usr { stage, value })
    }

    fn write(&self, trid: u32, dialect: &Dialect, out: &mut Vec<u8>) {
        head(out, Self::VERB, trid);
        arg(out, scheme_name(dialect.auth));
        arg(
            out,
            match self.stage {
                Stage::Initial => "I",
                Stage::Subsequent => "S",
            },
        );
        arg(out, self.value);
        end(out);
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{all, parse_line, round_trip, v};
    use super::*;
    use crate::protocol::Role::Notification as NS;

    fn cv(codebase: Option<&'static str>, handle: Option<&'static str>) -> ClientVersion<'static> {
        ClientVersion {
            lcid: "0x0409",
            os: "winnt",
            os_version: "5.1",
            arch: "i386",
            library: "MSNMSGR",
            client_version: "7.0.0777",
            codebase,
            handle,
        }
    }

    #[test]
    fn round_trips_in_every_dialect() {
        for d in all() {
            let b = round_trip!(Ver, Ver::offering(d), d, NS);
            assert_eq!(b, format!("VER 7 MSNP{} CVR0\r\n", d.version).as_bytes());
            round_trip!(Inf, Inf, d, NS);
            for (cb, h) in [
                (None, None),
                (Some("MSMSGS"), None),
                (Some("MSMSGS"), Some("a@b.com")),
            ] {
                round_trip!(Cvr, Cvr(cv(cb, h)), d, NS);
                round_trip!(Cvq, Cvq(cv(cb, h)), d, NS);
            }
            for stage in [Stage::Initial, Stage::Subsequent] {
                round_trip!(
                    Usr,
                    Usr {
                        stage,
                        value: "alice@example.com"
                    },
                    d,
                    NS
                );
            }
        }
        let b = round_trip!(
            Usr,
            Usr {
                stage: Stage::Initial,
                value: "a@b.com"
            },
            v(7),
            NS
        );
        assert_eq!(b, b"USR 7 MD5 I a@b.com\r\n");
        let b = round_trip!(
            Usr,
            Usr {
                stage: Stage::Subsequent,
                value: "t=1&p=2"
            },
            v(8),
            NS
        );
        assert_eq!(b, b"USR 7 TWN S t=1&p=2\r\n");
    }

    #[test]
    fn refusals() {
        use ArgError::*;
        let p = |l: &[u8], d| parse_line!(Usr, l, d, NS);
        assert_eq!(
            p(b"USR 1 TWN I a@b.com\r\n", v(7)),
            Err(Invalid {
                verb: "USR",
                index: 0
            })
        );
        assert_eq!(
            p(b"USR 1 MD5 I a@b.com\r\n", v(8)),
            Err(Invalid {
                verb: "USR",
                index: 0
            })
        );
        assert_eq!(
            p(b"USR 1 MD5 X a@b.com\r\n", v(7)),
            Err(Invalid {
                verb: "USR",
                index: 1
            })
        );
        assert_eq!(
            p(b"USR 1 MD5 I\r\n", v(7)),
            Err(Missing {
                verb: "USR",
                index: 2
            })
        );
        assert_eq!(
            p(b"USR 1 MD5 I a b\r\n", v(7)),
            Err(Extra {
                verb: "USR",
                index: 3
            })
        );
        assert_eq!(
            parse_line!(Inf, b"INF 1 x\r\n", v(2), NS),
            Err(Extra {
                verb: "INF",
                index: 0
            })
        );
        assert_eq!(
            parse_line!(Cvr, b"CVR 2 0x0409 win 4.10 i386\r\n", v(7), NS),
            Err(Missing {
                verb: "CVR",
                index: 4
            })
        );
        assert_eq!(
            parse_line!(
                Cvr,
                b"CVR 2 0x0409 winnt 5.1 i386 MSNMSGR 7.0.0777 MSMSGS a@b.com x\r\n",
                v(9),
                NS
            ),
            Err(Extra {
                verb: "CVR",
                index: 8
            })
        );
        assert_eq!(parse_line!(Ver, b"VER 1\r\n", v(7), NS), Ok(()));
    }

    #[test]
    fn cvr_recognises_msnp11_sdk() {
        let line = b"CVR 2 0x0409 winnt 10 i386 msnp11-sdk 0.13.0 msmsgs a@b.com\r\n";
        let (cmd, _) = crate::protocol::parse_frame(line, NS).unwrap().unwrap();
        let cvr = Cvr::parse(&cmd, v(11)).unwrap();
        assert_eq!(cvr.0.quirk(), crate::dialect::Quirk::Msnp11Sdk);
        assert_eq!(
            cv(Some("MSMSGS"), None).quirk(),
            crate::dialect::Quirk::None
        );
    }
}
