//! What the switchboard sends (SB-HTTP.md): USR OK, IRO, JOI, ANS OK, CAL RINGING, the relayed
//! MSG head, ACK/NAK and BYE.

use super::{Out, Reply, end, head, sp, sp_num};
use crate::dialect::Dialect;
use crate::model::MachineGuid;

/// `USR trid OK handle name`: the switchboard is open.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UsrOk<'a> {
    /// Echoed.
    pub trid: u32,
    /// The user's handle.
    pub handle: &'a str,
    /// Their friendly name, encoded.
    pub name: &'a str,
}

impl Reply for UsrOk<'_> {
    /// The notification server's login line in its MSNP2-9 shape, in every dialect.
    fn write(&self, _: &Dialect, out: &mut impl Out) {
        let ok = super::login::UsrOk {
            trid: self.trid,
            handle: self.handle,
            name: self.name,
        };
        ok.write_shaped(crate::dialect::UsrOk::Name, out);
    }
}

/// `IRO trid index count handle name [caps]`: one of the participants already in, to someone
/// joining. Capabilities where the reader's dialect has `sb_caps` (MSNP12).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Iro<'a> {
    /// The joiner's `ANS` trid.
    pub trid: u32,
    /// 1-based position in the roster.
    pub index: u32,
    /// How many are in.
    pub count: u32,
    /// The participant's handle.
    pub handle: &'a str,
    /// The participant's endpoint, shown as `handle;{guid}` to MSNP16+ readers.
    pub endpoint: Option<MachineGuid>,
    /// The participant's friendly name, encoded.
    pub name: &'a str,
    /// The participant's client capabilities.
    pub caps: u32,
}

/// `handle`, or `handle;{guid}` where the reader's dialect names endpoints (MSNP16+, W
/// msnp16.md; libpurple splits at `;`).
fn participant(out: &mut impl Out, d: &Dialect, handle: &str, endpoint: Option<MachineGuid>) {
    sp(out, handle);
    if d.mpop
        && let Some(g) = endpoint
    {
        out.put(b";");
        out.put(g.text().as_bytes());
    }
}

impl Reply for Iro<'_> {
    fn write(&self, d: &Dialect, out: &mut impl Out) {
        head(out, "IRO", self.trid);
        sp_num(out, self.index);
        sp_num(out, self.count);
        participant(out, d, self.handle, self.endpoint);
        sp(out, self.name);
        if d.sb_caps {
            sp_num(out, self.caps);
        }
        end(out);
    }
}

/// `JOI handle name [caps]`: someone joined, to those already in (caps as for `IRO`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Joi<'a> {
    /// The joiner's handle.
    pub handle: &'a str,
    /// The joiner's endpoint, shown as `handle;{guid}` to MSNP16+ readers.
    pub endpoint: Option<MachineGuid>,
    /// The joiner's friendly name, encoded.
    pub name: &'a str,
    /// The joiner's client capabilities.
    pub caps: u32,
}

impl Reply for Joi<'_> {
    fn write(&self, d: &Dialect, out: &mut impl Out) {
        out.put(b"JOI");
        participant(out, d, self.handle, self.endpoint);
        sp(out, self.name);
        if d.sb_caps {
            sp_num(out, self.caps);
        }
        end(out);
    }
}

/// `ANS trid OK`: the roster (`IRO`s) is complete.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AnsOk {
    /// Echoed.
    pub trid: u32,
}

impl Reply for AnsOk {
    fn write(&self, _: &Dialect, out: &mut impl Out) {
        head(out, "ANS", self.trid);
        sp(out, "OK");
        end(out);
    }
}

/// `CAL trid RINGING session`: the invitee is being rung.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CalRinging {
    /// Echoed.
    pub trid: u32,
    /// The switchboard's session id.
    pub session: u32,
}

impl Reply for CalRinging {
    fn write(&self, _: &Dialect, out: &mut impl Out) {
        head(out, "CAL", self.trid);
        sp(out, "RINGING");
        sp_num(out, self.session);
        end(out);
    }
}

/// `MSG handle name len`: the head of a relayed message (the payload follows it unchanged).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MsgHead<'a> {
    /// The sender's handle.
    pub handle: &'a str,
    /// The sender's friendly name, encoded.
    pub name: &'a str,
    /// The payload's length in bytes.
    pub len: u32,
}

impl Reply for MsgHead<'_> {
    fn write(&self, _: &Dialect, out: &mut impl Out) {
        out.put(b"MSG");
        sp(out, self.handle);
        sp(out, self.name);
        sp_num(out, self.len);
        end(out);
    }
}

/// `ACK trid` or `NAK trid`: whether a `MSG` was delivered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Delivery {
    /// `ACK trid`.
    Ack(u32),
    /// `NAK trid`.
    Nak(u32),
}

impl Reply for Delivery {
    fn write(&self, _: &Dialect, out: &mut impl Out) {
        match *self {
            Delivery::Ack(trid) => head(out, "ACK", trid),
            Delivery::Nak(trid) => head(out, "NAK", trid),
        }
        end(out);
    }
}

/// `BYE handle` (left) or `BYE handle 1` (removed by the server).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bye<'a> {
    /// Who left.
    pub handle: &'a str,
    /// Whether the server removed them (idle, kicked, shutdown).
    pub forced: bool,
}

impl Reply for Bye<'_> {
    fn write(&self, _: &Dialect, out: &mut impl Out) {
        out.put(b"BYE");
        sp(out, self.handle);
        if self.forced {
            out.put(b" 1");
        }
        end(out);
    }
}

/// The longest `MSG` head: verb, a handle and an encoded name at their limits, a length.
pub const MSG_HEAD_MAX: usize = 640;

#[cfg(test)]
mod tests {
    use super::super::test_support::{versions, wire};
    use super::*;

    #[test]
    fn lines() {
        for v in versions() {
            let t = |r: &dyn Fn(u8) -> String| r(v);
            let usr = UsrOk {
                trid: 1,
                handle: "a@b.com",
                name: "A%20B",
            };
            assert_eq!(t(&|v| wire(&usr, v)), "USR 1 OK a@b.com A%20B\r\n");
            assert_eq!(wire(&AnsOk { trid: 9 }, v), "ANS 9 OK\r\n");
            assert_eq!(
                wire(
                    &CalRinging {
                        trid: 3,
                        session: 11752013
                    },
                    v
                ),
                "CAL 3 RINGING 11752013\r\n"
            );
            let head = MsgHead {
                handle: "a@b.com",
                name: "A",
                len: 120,
            };
            assert_eq!(wire(&head, v), "MSG a@b.com A 120\r\n");
            assert_eq!(wire(&Delivery::Ack(5), v), "ACK 5\r\n");
            assert_eq!(wire(&Delivery::Nak(5), v), "NAK 5\r\n");
            assert_eq!(
                wire(
                    &Bye {
                        handle: "a@b.com",
                        forced: false
                    },
                    v
                ),
                "BYE a@b.com\r\n"
            );
            assert_eq!(
                wire(
                    &Bye {
                        handle: "a@b.com",
                        forced: true
                    },
                    v
                ),
                "BYE a@b.com 1\r\n"
            );
        }
    }

    #[test]
    fn capabilities_only_where_the_reader_has_them() {
        let iro = Iro {
            trid: 2,
            index: 1,
            count: 2,
            handle: "a@b.com",
            endpoint: MachineGuid::parse("{F26D1F07-95E2-403C-BC18-D4BFED493428}"),
            name: "A",
            caps: 1342177280,
        };
        let joi = Joi {
            handle: "c@d.com",
            endpoint: None,
            name: "C",
            caps: 12,
        };
        for v in versions() {
            let (iro_line, joi_line) = if v >= 16 {
                (
                    "IRO 2 1 2 a@b.com;{F26D1F07-95E2-403C-BC18-D4BFED493428} A 1342177280\r\n",
                    "JOI c@d.com C 12\r\n",
                )
            } else if v >= 12 {
                ("IRO 2 1 2 a@b.com A 1342177280\r\n", "JOI c@d.com C 12\r\n")
            } else {
                ("IRO 2 1 2 a@b.com A\r\n", "JOI c@d.com C\r\n")
            };
            assert_eq!(wire(&iro, v), iro_line, "MSNP{v}");
            assert_eq!(wire(&joi, v), joi_line, "MSNP{v}");
        }
    }

    #[test]
    fn relay_head_fits_its_stack_buffer() {
        let handle = "x".repeat(crate::limits::MAX_HANDLE);
        let name = "%20".repeat(129);
        let head = MsgHead {
            handle: &handle,
            name: &name,
            len: crate::limits::MAX_SB_PAYLOAD as u32,
        };
        let d = Dialect::get(12).unwrap();
        assert_eq!(
            head.to_line::<MSG_HEAD_MAX>(d).as_bytes(),
            &head.to_bytes(d)[..]
        );
    }
}
