//! One type per client-to-server command, parsed from a `Command` and written back as the client
//! sends it.
//!
//! The files mirror the handler families in `ns/` and `sb/`: `login` VER INF CVR CVQ USR ·
//! `sync` SYN LST LSG · `lists` ADD ADC REM BLP GTC · `groups` ADG RMG REG · `presence` CHG REA
//! PRP SBP UUX · `contacts` ADL RML FQY (MSNP13+) · `misc` URL SND SDC FND IMS PNG QRY GCF OUT · `xfr` XFR · `switchboard` USR ANS
//! CAL MSG OUT. Each type reads its arguments with a `Cursor` and refuses what the handler of
//! the same verb refuses by shape (a missing argument, one too many, a value outside its set),
//! leaving rules that need an account (is the contact on that list?) to the handler. Names stay
//! in their encoded wire form (`percent::decode_name` is the handler's step: a bad name costs an
//! error code, a long one the connection). Where a version changes a command's shape, `parse`
//! and `write` read the `Dialect`, never a version number.
//!
//! `write` produces the exact bytes a client sends (the load tool and the tests use it), so
//! every type round-trips: `parse(frame(write(x))) == x`.

pub mod contacts;
pub mod groups;
pub mod lists;
pub mod login;
pub mod misc;
pub mod presence;
pub mod switchboard;
pub mod sync;
pub mod xfr;

use super::cursor::ArgError;
use super::frame::Command;
use crate::dialect::Dialect;

/// A command a client sends, with its parser and its writer.
pub trait ClientCommand<'a>: Sized {
    /// The verb on the wire.
    const VERB: &'static str;

    /// Reads the arguments (and payload) of `cmd` as `dialect` shapes them.
    fn parse(cmd: &'a Command<'a>, dialect: &Dialect) -> Result<Self, ArgError>;

    /// Appends the command as a client would send it, with `trid` (ignored by PNG and OUT, which
    /// carry none), line end and payload included.
    fn write(&self, trid: u32, dialect: &Dialect, out: &mut Vec<u8>);

    /// The command as bytes, for callers that send one at a time.
    fn to_bytes(&self, trid: u32, dialect: &Dialect) -> Vec<u8> {
        let mut out = Vec::with_capacity(64);
        self.write(trid, dialect, &mut out);
        out
    }
}

/// Appends `n` in decimal, without the formatting machinery (the load tool's relay writes
/// hundreds of thousands of MSG heads a second with it).
pub fn put_u32(out: &mut Vec<u8>, n: u32) {
    out.extend_from_slice(super::write::decimal(n, &mut [0; 10]));
}

/// Appends `VRB trid`.
fn head(out: &mut Vec<u8>, verb: &str, trid: u32) {
    out.extend_from_slice(verb.as_bytes());
    out.push(b' ');
    put_u32(out, trid);
}

/// Appends ` arg`.
fn arg(out: &mut Vec<u8>, a: &str) {
    out.push(b' ');
    out.extend_from_slice(a.as_bytes());
}

/// Appends ` n`.
fn arg_u32(out: &mut Vec<u8>, n: u32) {
    out.push(b' ');
    put_u32(out, n);
}

/// Appends the line end.
fn end(out: &mut Vec<u8>) {
    out.extend_from_slice(b"\r\n");
}

/// Appends ` len\r\n` and the payload.
fn payload(out: &mut Vec<u8>, body: &[u8]) {
    arg_u32(out, body.len() as u32);
    end(out);
    out.extend_from_slice(body);
}

#[cfg(test)]
mod test_support {
    /// Writes `$value` for `$dialect`, frames the bytes as `$role` reads them, parses them back
    /// as `$ty` and checks the result equals `$value` and the frame used every byte.
    macro_rules! round_trip {
        ($ty:ty, $value:expr, $dialect:expr, $role:expr) => {{
            use $crate::protocol::command::ClientCommand as _;
            let d: &$crate::dialect::Dialect = $dialect;
            let bytes;
            // The parsed command borrows `bytes` and, compared with it, so does `value`: both
            // live in this block, which ends before `bytes` is returned.
            {
                let value: $ty = $value;
                bytes = value.to_bytes(7, d);
                let (cmd, used) = $crate::protocol::parse_frame(&bytes, $role)
                    .expect("frames")
                    .expect("complete");
                assert_eq!(used, bytes.len(), "{}", String::from_utf8_lossy(&bytes));
                assert_eq!(cmd.verb, <$ty>::VERB);
                let back = <$ty>::parse(&cmd, d).expect("parses back");
                assert_eq!(back, value, "{}", String::from_utf8_lossy(&bytes));
            }
            bytes
        }};
    }

    /// Frames `$line` and parses it as `$ty` in `$dialect`.
    macro_rules! parse_line {
        ($ty:ty, $line:expr, $dialect:expr, $role:expr) => {{
            use $crate::protocol::command::ClientCommand as _;
            let bytes: &[u8] = $line;
            let (cmd, _) = $crate::protocol::parse_frame(bytes, $role)
                .expect("frames")
                .expect("complete");
            <$ty>::parse(&cmd, $dialect).map(|_| ())
        }};
    }

    pub(crate) use parse_line;
    pub(crate) use round_trip;

    /// Every dialect served.
    pub fn all() -> impl Iterator<Item = &'static crate::dialect::Dialect> {
        crate::dialect::Dialect::all()
    }

    pub fn v(n: u8) -> &'static crate::dialect::Dialect {
        crate::dialect::Dialect::get(n).unwrap()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn decimal_writer() {
        for n in [0u32, 7, 10, 99, 1863, u32::MAX] {
            let mut v = Vec::new();
            super::put_u32(&mut v, n);
            assert_eq!(v, n.to_string().as_bytes());
        }
    }
}
