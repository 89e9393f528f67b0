//! VER, INF, CVR, CVQ and USR (notification side): the login sequence (NS.md 2).

use super::{ClientCommand, arg, end, head};
use crate::dialect::{Auth, Dialect};
use crate::limits::MAX_ARGS;
use crate::protocol::cursor::{ArgError, Cursor};
use crate::protocol::frame::Command;

/// `MSNPn` for every version served, as a client offers it in `VER`.
const PROTOCOL_NAMES: [&str; 17] = [
    "MSNP2", "MSNP3", "MSNP4", "MSNP5", "MSNP6", "MSNP7", "MSNP8", "MSNP9", "MSNP10", "MSNP11",
    "MSNP12", "MSNP13", "MSNP14", "MSNP15", "MSNP16", "MSNP17", "MSNP18",
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
    /// `S response`: the MD5 digest, the Passport ticket, or (SSO) the ticket and its proof.
    Subsequent,
    /// `SHA A signed-ticket` (MSNP15+, after login): the client hands over the signed ticket it
    /// got for circles; libpurple sends it after every sign-in and expects `USR trid OK`.
    SignedTicket,
}

/// `USR trid MD5|TWN|SSO I handle`, `USR trid MD5|TWN S response`,
/// `USR trid SSO S ticket mbi-answer [{machine-guid}]` (NS.md 2.5, 2.6; WLM.md) and, logged in,
/// `USR trid SHA A signed-ticket`.
///
/// The scheme must be the dialect's (`MD5` MSNP2-7, `TWN` MSNP8-14, `SSO` MSNP15+): another is
/// `Invalid` at 0, which the service answered by hanging up. MSNP2's `CTP` scheme is not served.
#[derive(Debug, PartialEq, Eq)]
pub struct Usr<'a> {
    /// Which step of the login this is.
    pub stage: Stage,
    /// The handle (`I`), the response or ticket (`S`), the signed ticket (`SHA A`).
    pub value: &'a str,
    /// `SSO S`: the base64 `MBI_KEY_OLD` answer (`auth::sso::verify`).
    pub proof: Option<&'a str>,
    /// `SSO S` from MSNP16: the endpoint's machine GUID (`{F26D1F07-...}`).
    pub machine_guid: Option<&'a str>,
}

impl<'a> Usr<'a> {
    /// `I handle` or `S response` with no SSO fields.
    pub fn plain(stage: Stage, value: &'a str) -> Usr<'a> {
        Usr {
            stage,
            value,
            proof: None,
            machine_guid: None,
        }
    }
}

/// The scheme's name in `USR` (`MD5`, `TWN`, `SSO`).
pub fn scheme_name(auth: Auth) -> &'static str {
    match auth {
        Auth::Md5 => "MD5",
        Auth::Twn => "TWN",
        Auth::Sso => "SSO",
    }
}

impl<'a> ClientCommand<'a> for Usr<'a> {
    const VERB: &'static str = "USR";

    fn parse(cmd: &'a Command<'a>, dialect: &Dialect) -> Result<Self, ArgError> {
        let mut c = Cursor::new(Self::VERB, cmd);
        let sso = dialect.auth == Auth::Sso;
        let sha = c.next_with(|s| {
            if s == scheme_name(dialect.auth) {
                Some(false)
            } else {
                (sso && s == "SHA").then_some(true)
            }
        })?;
        let stage = c.next_with(|s| match (s, sha) {
            ("I", false) => Some(Stage::Initial),
            ("S", false) => Some(Stage::Subsequent),
            ("A", true) => Some(Stage::SignedTicket),
            _ => None,
        })?;
        let value = c.next()?;
        let (proof, machine_guid) = if sso && stage == Stage::Subsequent {
            (Some(c.next()?), c.optional())
        } else {
            (None, None)
        };
        c.finish()?;
        Ok(Usr {
            stage,
            value,
            proof,
            machine_guid,
        })
    }

    fn write(&self, trid: u32, dialect: &Dialect, out: &mut Vec<u8>) {
        head(out, Self::VERB, trid);
        match self.stage {
            Stage::SignedTicket => {
                arg(out, "SHA");
                arg(out, "A");
            }
            Stage::Initial => {
                arg(out, scheme_name(dialect.auth));
                arg(out, "I");
            }
            Stage::Subsequent => {
                arg(out, scheme_name(dialect.auth));
                arg(out, "S");
            }
        }
        arg(out, self.value);
        for a in [self.proof, self.machine_guid].into_iter().flatten() {
            arg(out, a);
        }
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
                let mut usr = Usr::plain(stage, "alice@example.com");
                if stage == Stage::Subsequent && d.auth == Auth::Sso {
                    usr.proof = Some("AAAA");
                }
                round_trip!(Usr, usr, d, NS);
            }
        }
        let b = round_trip!(Usr, Usr::plain(Stage::Initial, "a@b.com"), v(7), NS);
        assert_eq!(b, b"USR 7 MD5 I a@b.com\r\n");
        let b = round_trip!(Usr, Usr::plain(Stage::Subsequent, "t=1&p=2"), v(8), NS);
        assert_eq!(b, b"USR 7 TWN S t=1&p=2\r\n");
        let b = round_trip!(
            Usr,
            Usr {
                stage: Stage::Subsequent,
                value: "t=1&p=2",
                proof: Some("HAAA"),
                machine_guid: Some("{F26D1F07-95E2-403C-BC18-D4BFED493428}"),
            },
            v(18),
            NS
        );
        assert_eq!(
            b,
            b"USR 7 SSO S t=1&p=2 HAAA {F26D1F07-95E2-403C-BC18-D4BFED493428}\r\n"
        );
        let b = round_trip!(Usr, Usr::plain(Stage::SignedTicket, "PHNhbWw+"), v(18), NS);
        assert_eq!(b, b"USR 7 SHA A PHNhbWw+\r\n");
        let b = round_trip!(Usr, Usr::plain(Stage::Initial, "a@b.com"), v(15), NS);
        assert_eq!(b, b"USR 7 SSO I a@b.com\r\n");
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
            p(b"USR 1 TWN I a@b.com\r\n", v(15)),
            Err(Invalid {
                verb: "USR",
                index: 0
            })
        );
        assert_eq!(
            p(b"USR 1 SHA A x\r\n", v(14)),
            Err(Invalid {
                verb: "USR",
                index: 0
            })
        );
        assert_eq!(
            p(b"USR 1 SSO S t=1\r\n", v(15)),
            Err(Missing {
                verb: "USR",
                index: 3
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
