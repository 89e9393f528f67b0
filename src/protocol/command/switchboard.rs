//! The switchboard's client commands: USR, ANS, CAL and MSG (SB-HTTP.md); OUT is `misc::Out`.
//! Identical in MSNP2-12.

use super::{ClientCommand, arg, arg_u32, end, head, payload};
use crate::dialect::Dialect;
use crate::protocol::cursor::{ArgError, Cursor};
use crate::protocol::frame::Command;

/// `USR trid handle cookie`: opening a switchboard with the cookie from `XFR SB`.
#[derive(Debug, PartialEq, Eq)]
pub struct SbUsr<'a> {
    /// Who I am.
    pub handle: &'a str,
    /// The cookie from `XFR SB`.
    pub cookie: &'a str,
}

impl<'a> ClientCommand<'a> for SbUsr<'a> {
    const VERB: &'static str = "USR";

    fn parse(cmd: &'a Command<'a>, _: &Dialect) -> Result<Self, ArgError> {
        let mut c = Cursor::new(Self::VERB, cmd);
        let usr = SbUsr {
            handle: c.next()?,
            cookie: c.next()?,
        };
        c.finish()?;
        Ok(usr)
    }

    fn write(&self, trid: u32, _: &Dialect, out: &mut Vec<u8>) {
        head(out, Self::VERB, trid);
        arg(out, self.handle);
        arg(out, self.cookie);
        end(out);
    }
}

/// `ANS trid handle cookie session-id`: joining the switchboard an `RNG` invited me to. A
/// non-numeric session id is `Invalid` (today it fails the cookie check: `911` and a hang-up,
/// which is what the handler maps this error to).
#[derive(Debug, PartialEq, Eq)]
pub struct Ans<'a> {
    /// Who I am.
    pub handle: &'a str,
    /// The cookie from `RNG`.
    pub cookie: &'a str,
    /// The switchboard's session id from `RNG`.
    pub session: u32,
}

impl<'a> ClientCommand<'a> for Ans<'a> {
    const VERB: &'static str = "ANS";

    fn parse(cmd: &'a Command<'a>, _: &Dialect) -> Result<Self, ArgError> {
        let mut c = Cursor::new(Self::VERB, cmd);
        let ans = Ans {
            handle: c.next()?,
            cookie: c.next()?,
            session: c.next_parsed()?,
        };
        c.finish()?;
        Ok(ans)
    }

    fn write(&self, trid: u32, _: &Dialect, out: &mut Vec<u8>) {
        head(out, Self::VERB, trid);
        arg(out, self.handle);
        arg(out, self.cookie);
        arg_u32(out, self.session);
        end(out);
    }
}

/// `CAL trid handle`: inviting someone. The handle is checked by the handler (`208`).
#[derive(Debug, PartialEq, Eq)]
pub struct Cal<'a> {
    /// Who to invite, as sent.
    pub handle: &'a str,
}

impl<'a> ClientCommand<'a> for Cal<'a> {
    const VERB: &'static str = "CAL";

    fn parse(cmd: &'a Command<'a>, _: &Dialect) -> Result<Self, ArgError> {
        let mut c = Cursor::new(Self::VERB, cmd);
        let handle = c.next()?;
        c.finish()?;
        Ok(Cal { handle })
    }

    fn write(&self, trid: u32, _: &Dialect, out: &mut Vec<u8>) {
        head(out, Self::VERB, trid);
        arg(out, self.handle);
        end(out);
    }
}

/// The acknowledgement a `MSG` asks for.
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
pub enum Ack {
    /// `U`: none.
    Unacknowledged,
    /// `N`: `NAK` on failure only.
    Negative,
    /// `A`: `ACK` or `NAK`.
    Always,
    /// `D`: data (P2P); `ACK` on success, error `282` for a malformed payload.
    Data,
    /// `S`: `ACK` on success only (the official clients' value in some builds).
    Success,
}

impl Ack {
    /// The letter on the wire.
    pub fn code(self) -> u8 {
        match self {
            Ack::Unacknowledged => b'U',
            Ack::Negative => b'N',
            Ack::Always => b'A',
            Ack::Data => b'D',
            Ack::Success => b'S',
        }
    }

    /// The acknowledgement named by a letter.
    pub fn parse(s: &str) -> Option<Ack> {
        Some(match s {
            "U" => Ack::Unacknowledged,
            "N" => Ack::Negative,
            "A" => Ack::Always,
            "D" => Ack::Data,
            "S" => Ack::Success,
            _ => return None,
        })
    }
}

/// `MSG trid U|N|A|D|S len` + payload: a message to the others in the switchboard. Another ack
/// letter is `Invalid` (a disconnect).
#[derive(Debug, PartialEq, Eq)]
pub struct Msg<'a> {
    /// The acknowledgement asked for.
    pub ack: Ack,
    /// The message (MIME headers and body), as sent.
    pub payload: &'a [u8],
}

impl<'a> Msg<'a> {
    /// Appends only the head line, `MSG trid ack len\r\n`, for a payload of `len` bytes the
    /// caller appends itself (the load tool writes payloads in place).
    pub fn write_head(trid: u32, ack: Ack, len: u32, out: &mut Vec<u8>) {
        head(out, "MSG", trid);
        out.push(b' ');
        out.push(ack.code());
        arg_u32(out, len);
        end(out);
    }
}

impl<'a> ClientCommand<'a> for Msg<'a> {
    const VERB: &'static str = "MSG";

    fn parse(cmd: &'a Command<'a>, _: &Dialect) -> Result<Self, ArgError> {
        let mut c = Cursor::new(Self::VERB, cmd);
        let ack = c.next_with(Ack::parse)?;
        let _length = c.next()?; // checked by the framer, which cut the payload
        c.finish()?;
        Ok(Msg {
            ack,
            payload: cmd.payload,
        })
    }

    fn write(&self, trid: u32, _: &Dialect, out: &mut Vec<u8>) {
        head(out, Self::VERB, trid);
        out.push(b' ');
        out.push(self.ack.code());
        payload(out, self.payload);
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{all, parse_line, round_trip, v};
    use super::*;
    use crate::protocol::Role::Switchboard as SB;

    #[test]
    fn round_trips_in_every_dialect() {
        for d in all() {
            let b = round_trip!(
                SbUsr,
                SbUsr {
                    handle: "a@b.com",
                    cookie: "1.2.3"
                },
                d,
                SB
            );
            assert_eq!(b, b"USR 7 a@b.com 1.2.3\r\n");
            round_trip!(
                Ans,
                Ans {
                    handle: "a@b.com",
                    cookie: "1.2.3",
                    session: 11752013
                },
                d,
                SB
            );
            round_trip!(Cal, Cal { handle: "b@b.com" }, d, SB);
            for ack in [
                Ack::Unacknowledged,
                Ack::Negative,
                Ack::Always,
                Ack::Data,
                Ack::Success,
            ] {
                let body = b"MIME-Version: 1.0\r\n\r\nhi";
                let b = round_trip!(Msg, Msg { ack, payload: body }, d, SB);
                let mut h = Vec::new();
                Msg::write_head(7, ack, body.len() as u32, &mut h);
                assert!(b.starts_with(&h));
                assert_eq!(b.len(), h.len() + body.len());
            }
        }
    }

    #[test]
    fn refusals() {
        use ArgError::*;
        let d = v(12);
        assert_eq!(
            parse_line!(SbUsr, b"USR 1 a@b.com\r\n", d, SB),
            Err(Missing {
                verb: "USR",
                index: 1
            })
        );
        assert_eq!(
            parse_line!(SbUsr, b"USR 1 a c x\r\n", d, SB),
            Err(Extra {
                verb: "USR",
                index: 2
            })
        );
        assert_eq!(
            parse_line!(Ans, b"ANS 1 a c x\r\n", d, SB),
            Err(Invalid {
                verb: "ANS",
                index: 2
            })
        );
        assert_eq!(
            parse_line!(Ans, b"ANS 1 a c\r\n", d, SB),
            Err(Missing {
                verb: "ANS",
                index: 2
            })
        );
        assert_eq!(
            parse_line!(Cal, b"CAL 1\r\n", d, SB),
            Err(Missing {
                verb: "CAL",
                index: 0
            })
        );
        assert_eq!(
            parse_line!(Msg, b"MSG 1 X 2\r\nhi", d, SB),
            Err(Invalid {
                verb: "MSG",
                index: 0
            })
        );
        assert_eq!(
            parse_line!(Msg, b"MSG 1 2\r\nhi", d, SB),
            Err(Invalid {
                verb: "MSG",
                index: 0
            })
        );
        assert_eq!(
            parse_line!(Msg, b"MSG 1 A x 2\r\nhi", d, SB),
            Err(Extra {
                verb: "MSG",
                index: 2
            })
        );
    }
}
