//! `XFR trid SB`: asking the notification server for a switchboard (NS.md 5).

use super::{ClientCommand, arg, end, head};
use crate::dialect::Dialect;
use crate::protocol::cursor::{ArgError, Cursor};
use crate::protocol::frame::Command;

/// `XFR trid SB`, identical in MSNP2-12. Any other target is `Invalid` (a disconnect: clients
/// only ever ask for a switchboard).
#[derive(Debug, PartialEq, Eq)]
pub struct Xfr;

impl<'a> ClientCommand<'a> for Xfr {
    const VERB: &'static str = "XFR";

    fn parse(cmd: &'a Command<'a>, _: &Dialect) -> Result<Self, ArgError> {
        let mut c = Cursor::new(Self::VERB, cmd);
        c.next_with(|t| (t == "SB").then_some(()))?;
        c.finish()?;
        Ok(Xfr)
    }

    fn write(&self, trid: u32, _: &Dialect, out: &mut Vec<u8>) {
        head(out, Self::VERB, trid);
        arg(out, "SB");
        end(out);
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{all, parse_line, round_trip, v};
    use super::*;
    use crate::protocol::Role::Notification as NS;

    #[test]
    fn xfr_sb() {
        for d in all() {
            assert_eq!(round_trip!(Xfr, Xfr, d, NS), b"XFR 7 SB\r\n");
        }
        use ArgError::*;
        assert_eq!(
            parse_line!(Xfr, b"XFR 1 NS\r\n", v(8), NS),
            Err(Invalid {
                verb: "XFR",
                index: 0
            })
        );
        assert_eq!(
            parse_line!(Xfr, b"XFR 1\r\n", v(8), NS),
            Err(Missing {
                verb: "XFR",
                index: 0
            })
        );
        assert_eq!(
            parse_line!(Xfr, b"XFR 1 SB x\r\n", v(8), NS),
            Err(Extra {
                verb: "XFR",
                index: 1
            })
        );
    }
}
