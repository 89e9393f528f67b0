//! Replies of the `presence` family: CHG, REA, SBP and UUX answers, and what the server tells
//! watchers unprompted: ILN/NLN, FLN, UBX, the phone-number `BPR` outside SYN, and `RNG`.
//! `PRP` is `sync::Prp` (the SYN dump writes it too).

use super::{Out, Reply, Text, end, head, sp, sp_num, sp_opt, sp_text};
use crate::dialect::{AsyncBpr, Dialect, PresenceAddress};

/// `CHG trid status [caps] [msnobj]`: capabilities where the dialect has them (MSNP8+), the
/// MSNObject when one was set (MSNP9+).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Chg<'a> {
    /// Echoed.
    pub trid: u32,
    /// `NLN`, `BSY`, `HDN`...
    pub status: &'a str,
    /// Client capabilities.
    pub caps: u32,
    /// Extended capabilities (`caps:capsex`, MSNP16+).
    pub caps_ex: u32,
    /// The MSNObject, encoded as sent.
    pub msnobj: Option<&'a str>,
}

impl Reply for Chg<'_> {
    fn write(&self, d: &Dialect, out: &mut impl Out) {
        head(out, "CHG", self.trid);
        sp(out, self.status);
        if d.presence_caps {
            sp_num(out, self.caps);
            if d.caps_ex {
                out.put(b":");
                super::num(out, self.caps_ex);
            }
        }
        if let Some(o) = self.msnobj {
            sp(out, o);
        }
        end(out);
    }
}

/// `REA trid serial handle name` (MSNP2-9).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rea<'a> {
    /// Echoed.
    pub trid: u32,
    /// The new list serial.
    pub serial: u32,
    /// Whose name changed (mine or a contact's).
    pub handle: &'a str,
    /// The new name.
    pub name: Text<'a>,
}

impl Reply for Rea<'_> {
    fn write(&self, _: &Dialect, out: &mut impl Out) {
        head(out, "REA", self.trid);
        sp_num(out, self.serial);
        sp(out, self.handle);
        sp_text(out, self.name);
        end(out);
    }
}

/// `SBP trid contact-guid kind value` (MSNP10+), echoed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sbp<'a> {
    /// Echoed.
    pub trid: u32,
    /// The contact's GUID.
    pub guid: &'a str,
    /// `MFN`, `PHH`...
    pub kind: &'a str,
    /// The value, as sent.
    pub value: Text<'a>,
}

impl Reply for Sbp<'_> {
    fn write(&self, _: &Dialect, out: &mut impl Out) {
        head(out, "SBP", self.trid);
        sp(out, self.guid);
        sp(out, self.kind);
        sp_text(out, self.value);
        end(out);
    }
}

/// `UUX trid 0`: the personal message was taken.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UuxOk {
    /// Echoed.
    pub trid: u32,
}

impl Reply for UuxOk {
    fn write(&self, _: &Dialect, out: &mut impl Out) {
        head(out, "UUX", self.trid);
        sp(out, "0");
        end(out);
    }
}

/// `UUN trid OK`: an endpoint message (MSNP13+) was passed on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UunOk {
    /// Echoed.
    pub trid: u32,
}

impl Reply for UunOk {
    fn write(&self, _: &Dialect, out: &mut impl Out) {
        head(out, "UUN", self.trid);
        sp(out, "OK");
        end(out);
    }
}

/// Appends ` handle` as `d` names a contact on presence lines: `handle`, `handle 1` (MSNP14-17)
/// or `1:handle` (MSNP18). Every account here is a Passport (MSN) account, network 1.
pub(crate) fn sp_address(out: &mut impl Out, d: &Dialect, handle: &str) {
    sp_address_as(out, d.presence_address, handle);
}

/// `handle` in the form `how` (`ILN` has its own in MSNP18: `Dialect::iln_address`).
fn sp_address_as(out: &mut impl Out, how: PresenceAddress, handle: &str) {
    match how {
        PresenceAddress::Handle => sp(out, handle),
        PresenceAddress::HandleNetwork => {
            sp(out, handle);
            sp(out, "1");
        }
        PresenceAddress::Prefixed => {
            sp(out, "1:");
            out.put(handle.as_bytes());
        }
    }
}

/// `ILN trid status handle name [caps [msnobj]]` (answering the first `CHG`) or `NLN status
/// handle name [caps [msnobj]]` (a change): a contact's presence, as the reader's dialect shows
/// it (caps MSNP8+, `caps:capsex` MSNP16+, MSNObject MSNP9+ when set; the handle as
/// `sp_address` writes it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Presence<'a> {
    /// `Some(trid)` for `ILN`, `None` for `NLN`.
    pub iln: Option<u32>,
    /// `NLN`, `BSY`...
    pub status: &'a str,
    /// The contact.
    pub handle: &'a str,
    /// Their friendly name.
    pub name: Text<'a>,
    /// Their client capabilities.
    pub caps: u32,
    /// Their extended capabilities (MSNP16+).
    pub caps_ex: u32,
    /// Their MSNObject, encoded.
    pub msnobj: Option<&'a str>,
}

impl Reply for Presence<'_> {
    fn write(&self, d: &Dialect, out: &mut impl Out) {
        out.put(if self.iln.is_some() { b"ILN" } else { b"NLN" });
        sp_opt(out, self.iln);
        sp(out, self.status);
        let how = if self.iln.is_some() {
            d.iln_address
        } else {
            d.presence_address
        };
        sp_address_as(out, how, self.handle);
        sp_text(out, self.name);
        if d.presence_caps {
            sp_num(out, self.caps);
            if d.caps_ex {
                out.put(b":");
                super::num(out, self.caps_ex);
            }
            if d.presence_msnobj
                && let Some(o) = self.msnobj
            {
                sp(out, o);
            }
        }
        end(out);
    }
}

/// `FLN handle`: a contact went offline (or hid); the handle as `sp_address` writes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fln<'a> {
    /// The contact.
    pub handle: &'a str,
}

impl Reply for Fln<'_> {
    fn write(&self, d: &Dialect, out: &mut impl Out) {
        out.put(b"FLN");
        sp_address(out, d, self.handle);
        end(out);
    }
}

/// `UBX handle len` and the contact's personal-message document (MSNP11+); the handle as
/// `sp_address` writes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ubx<'a> {
    /// The contact.
    pub handle: &'a str,
    /// The `<Data>` document.
    pub body: &'a [u8],
}

impl Ubx<'_> {
    /// Just the line before the body, for callers that push head and body as two parts.
    pub fn head(&self, d: &Dialect, out: &mut impl Out) {
        out.put(b"UBX");
        sp_address(out, d, self.handle);
        sp_num(out, self.body.len() as u32);
        end(out);
    }
}

impl Reply for Ubx<'_> {
    fn write(&self, d: &Dialect, out: &mut impl Out) {
        self.head(d, out);
        out.put(self.body);
    }
}

/// `UBN handle kind len` and the payload: a message from a contact's endpoint (MSNP13+); the
/// handle as `sp_address` writes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ubn<'a> {
    /// The sender.
    pub handle: &'a str,
    /// The message kind, as the `UUN` gave it.
    pub kind: u32,
    /// The payload.
    pub body: &'a [u8],
}

impl Ubn<'_> {
    /// Just the line before the body, for callers that push head and body as two parts.
    pub fn head(&self, d: &Dialect, out: &mut impl Out) {
        out.put(b"UBN");
        sp_address(out, d, self.handle);
        sp_num(out, self.kind);
        sp_num(out, self.body.len() as u32);
        end(out);
    }
}

impl Reply for Ubn<'_> {
    fn write(&self, d: &Dialect, out: &mut impl Out) {
        self.head(d, out);
        out.put(self.body);
    }
}

/// A contact's phone number outside SYN, shaped by `Dialect::async_bpr`: `BPR serial handle
/// kind [value]` (MSNP5-9), `BPR handle kind [value]` (MSNP10+), nothing before MSNP5.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bpr<'a> {
    /// The reader's list serial.
    pub serial: u32,
    /// The contact.
    pub handle: &'a str,
    /// `PHH`, `PHW`, `PHM`, `MOB`.
    pub kind: &'a str,
    /// The value; empty when unset.
    pub value: Text<'a>,
}

impl Reply for Bpr<'_> {
    fn write(&self, d: &Dialect, out: &mut impl Out) {
        match d.async_bpr {
            AsyncBpr::None => return,
            AsyncBpr::SerialHandle => {
                out.put(b"BPR");
                sp_num(out, self.serial);
            }
            AsyncBpr::Handle => out.put(b"BPR"),
        }
        sp(out, self.handle);
        sp(out, self.kind);
        if !self.value.is_empty() {
            sp_text(out, self.value);
        }
        end(out);
    }
}

/// `RNG session host:port CKI cookie caller-handle caller-name`: an invitation to a switchboard.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rng<'a> {
    /// The switchboard's session id.
    pub session: u32,
    /// The switchboard's host.
    pub host: &'a str,
    /// The switchboard's port.
    pub port: u16,
    /// The cookie for `ANS`.
    pub cookie: &'a str,
    /// Who calls.
    pub caller_handle: &'a str,
    /// Their friendly name, encoded.
    pub caller_name: &'a str,
}

impl Reply for Rng<'_> {
    fn write(&self, _: &Dialect, out: &mut impl Out) {
        out.put(b"RNG");
        sp_num(out, self.session);
        sp(out, self.host);
        out.put(b":");
        super::num(out, self.port as u32);
        sp(out, "CKI");
        sp(out, self.cookie);
        sp(out, self.caller_handle);
        sp(out, self.caller_name);
        end(out);
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{versions, wire};
    use super::*;

    #[test]
    fn answers() {
        let c = Chg {
            trid: 1,
            status: "NLN",
            caps: 268435456,
            caps_ex: 48,
            msnobj: None,
        };
        assert_eq!(wire(&c, 7), "CHG 1 NLN\r\n");
        assert_eq!(wire(&c, 18), "CHG 1 NLN 268435456:48\r\n");
        assert_eq!(wire(&c, 8), "CHG 1 NLN 268435456\r\n");
        let c = Chg {
            msnobj: Some("%3Cmsnobj%2F%3E"),
            ..c
        };
        assert_eq!(wire(&c, 9), "CHG 1 NLN 268435456 %3Cmsnobj%2F%3E\r\n");
        let r = Rea {
            trid: 2,
            serial: 30,
            handle: "a@b.com",
            name: Text::Wire("A%20B"),
        };
        assert_eq!(wire(&r, 5), "REA 2 30 a@b.com A%20B\r\n");
        let s = Sbp {
            trid: 3,
            guid: "c-1",
            kind: "MFN",
            value: Text::Wire("X%20Y"),
        };
        assert_eq!(wire(&s, 11), "SBP 3 c-1 MFN X%20Y\r\n");
        assert_eq!(wire(&UuxOk { trid: 4 }, 11), "UUX 4 0\r\n");
        assert_eq!(wire(&UunOk { trid: 9 }, 18), "UUN 9 OK\r\n");
    }

    #[test]
    fn presence_per_dialect() {
        let p = Presence {
            iln: None,
            status: "BSY",
            handle: "a@b.com",
            name: Text::Plain("A B"),
            caps: 12,
            caps_ex: 48,
            msnobj: Some("%3Co%2F%3E"),
        };
        for v in versions() {
            let want = match v {
                2..=7 => "NLN BSY a@b.com A%20B\r\n",
                8 => "NLN BSY a@b.com A%20B 12\r\n",
                9..=13 => "NLN BSY a@b.com A%20B 12 %3Co%2F%3E\r\n",
                14..=15 => "NLN BSY a@b.com 1 A%20B 12 %3Co%2F%3E\r\n",
                16..=17 => "NLN BSY a@b.com 1 A%20B 12:48 %3Co%2F%3E\r\n",
                _ => "NLN BSY 1:a@b.com A%20B 12:48 %3Co%2F%3E\r\n",
            };
            assert_eq!(wire(&p, v), want, "MSNP{v}");
        }
        let iln = Presence {
            iln: Some(9),
            msnobj: None,
            ..p
        };
        assert_eq!(wire(&iln, 12), "ILN 9 BSY a@b.com A%20B 12\r\n");
        assert_eq!(wire(&Fln { handle: "a@b.com" }, 2), "FLN a@b.com\r\n");
        let u = Ubx {
            handle: "a@b.com",
            body: b"<Data/>",
        };
        assert_eq!(wire(&u, 11), "UBX a@b.com 7\r\n<Data/>");
        assert_eq!(wire(&u, 18), "UBX 1:a@b.com 7\r\n<Data/>");
        assert_eq!(wire(&Fln { handle: "a@b.com" }, 14), "FLN a@b.com 1\r\n");
        let n = Ubn {
            handle: "a@b.com",
            kind: 4,
            body: b"gtfo",
        };
        assert_eq!(wire(&n, 13), "UBN a@b.com 4 4\r\ngtfo");
        assert_eq!(wire(&n, 18), "UBN 1:a@b.com 4 4\r\ngtfo");
    }

    #[test]
    fn phone_notice_per_dialect() {
        let b = Bpr {
            serial: 40,
            handle: "a@b.com",
            kind: "PHH",
            value: Text::Plain("1 2"),
        };
        for v in versions() {
            let want = match v {
                2..=4 => "",
                5..=9 => "BPR 40 a@b.com PHH 1%202\r\n",
                _ => "BPR a@b.com PHH 1%202\r\n",
            };
            assert_eq!(wire(&b, v), want, "MSNP{v}");
        }
        let unset = Bpr {
            value: Text::Plain(""),
            ..b
        };
        assert_eq!(wire(&unset, 10), "BPR a@b.com PHH\r\n");
    }

    #[test]
    fn ring() {
        let r = Rng {
            session: 11752013,
            host: "10.0.0.1",
            port: 1864,
            cookie: "c.1",
            caller_handle: "a@b.com",
            caller_name: "A",
        };
        assert_eq!(
            wire(&r, 12),
            "RNG 11752013 10.0.0.1:1864 CKI c.1 a@b.com A\r\n"
        );
    }
}
