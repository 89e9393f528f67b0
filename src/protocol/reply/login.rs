//! Replies of the login sequence (NS.md 2): VER, INF, CVR, CVQ, the dispatch redirect
//! `XFR NS`, USR challenge and OK, SBS and the `MSG Hotmail Hotmail` messages after login.

use super::{Out, Reply, end, head, sp, sp_num};
use crate::dialect::{Auth, Dialect, UsrOk as UsrOkShape, XfrNs as XfrNsShape};

/// The answer to `VER`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VerAnswer {
    /// `VER trid MSNPn`: the version agreed.
    Version(u8),
    /// `VER trid CVR0`: only the version query is in common (W cvr0.md).
    Cvr0,
    /// `VER trid 0`: nothing in common.
    None,
}

/// `VER trid ...`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ver {
    /// Echoed.
    pub trid: u32,
    /// What was agreed.
    pub answer: VerAnswer,
}

impl Reply for Ver {
    fn write(&self, _: &Dialect, out: &mut impl Out) {
        head(out, "VER", self.trid);
        match self.answer {
            VerAnswer::Version(v) => {
                out.put(b" MSNP");
                super::num(out, v as u32);
            }
            VerAnswer::Cvr0 => sp(out, "CVR0"),
            VerAnswer::None => sp(out, "0"),
        }
        end(out);
    }
}

/// `INF trid MD5`: the only security package (MSNP2-7).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InfMd5 {
    /// Echoed.
    pub trid: u32,
}

impl Reply for InfMd5 {
    fn write(&self, _: &Dialect, out: &mut impl Out) {
        head(out, "INF", self.trid);
        sp(out, "MD5");
        end(out);
    }
}

/// Where the service pointed clients for downloads and information; we host neither.
pub const PRODUCT_URL: &str = "http://messenger.msn.com";

/// `CVR trid recommended recommended minimum download-url info-url`, all three the client's own
/// version (we never force an upgrade).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cvr<'a> {
    /// Echoed.
    pub trid: u32,
    /// The client's version, as it reported it.
    pub version: &'a str,
}

impl Reply for Cvr<'_> {
    fn write(&self, _: &Dialect, out: &mut impl Out) {
        head(out, "CVR", self.trid);
        for _ in 0..3 {
            sp(out, self.version);
        }
        sp(out, PRODUCT_URL);
        sp(out, PRODUCT_URL);
        end(out);
    }
}

/// `CVQ trid recommended recommended minimum download-url info-url` (W cvr0.md).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cvq<'a> {
    /// Echoed.
    pub trid: u32,
    /// The version to upgrade to.
    pub recommended: &'a str,
    /// The oldest version allowed.
    pub minimum: &'a str,
}

impl Reply for Cvq<'_> {
    fn write(&self, _: &Dialect, out: &mut impl Out) {
        head(out, "CVQ", self.trid);
        sp(out, self.recommended);
        sp(out, self.recommended);
        sp(out, self.minimum);
        sp(out, PRODUCT_URL);
        sp(out, PRODUCT_URL);
        end(out);
    }
}

/// `XFR trid NS host:port ...`: the dispatch redirect, shaped by `Dialect::xfr_ns`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct XfrNs<'a> {
    /// Echoed.
    pub trid: u32,
    /// The notification server's `host:port`.
    pub ns: &'a str,
}

impl Reply for XfrNs<'_> {
    fn write(&self, d: &Dialect, out: &mut impl Out) {
        head(out, "XFR", self.trid);
        sp(out, "NS");
        sp(out, self.ns);
        match d.xfr_ns {
            XfrNsShape::Bare => {}
            XfrNsShape::Zero => sp(out, "0"),
            XfrNsShape::ZeroCurrent => {
                sp(out, "0");
                sp(out, self.ns);
            }
        }
        end(out);
    }
}

/// `USR trid MD5|TWN S challenge`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UsrChallenge<'a> {
    /// Echoed.
    pub trid: u32,
    /// The scheme the client logs in with.
    pub scheme: Auth,
    /// The MD5 salt, or the Passport policy string.
    pub challenge: &'a str,
}

impl Reply for UsrChallenge<'_> {
    fn write(&self, _: &Dialect, out: &mut impl Out) {
        head(out, "USR", self.trid);
        sp(
            out,
            crate::protocol::command::login::scheme_name(self.scheme),
        );
        sp(out, "S");
        sp(out, self.challenge);
        end(out);
    }
}

/// `USR trid OK handle ...`: logged in, shaped by `Dialect::usr_ok`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UsrOk<'a> {
    /// Echoed.
    pub trid: u32,
    /// The account's handle.
    pub handle: &'a str,
    /// The friendly name, encoded (left out from MSNP10: it comes with the profile).
    pub name: &'a str,
}

impl Reply for UsrOk<'_> {
    fn write(&self, d: &Dialect, out: &mut impl Out) {
        self.write_shaped(d.usr_ok, out);
    }
}

impl UsrOk<'_> {
    /// The line in `shape`, whatever the reader's dialect: the switchboard's `USR ... OK` is
    /// always the `Name` shape (`reply::switchboard::UsrOk`).
    pub fn write_shaped(&self, shape: UsrOkShape, out: &mut impl Out) {
        head(out, "USR", self.trid);
        sp(out, "OK");
        sp(out, self.handle);
        match shape {
            UsrOkShape::Name => sp(out, self.name),
            UsrOkShape::NameVerified => {
                sp(out, self.name);
                sp(out, "1");
            }
            UsrOkShape::NameVerifiedRestricted => {
                sp(out, self.name);
                sp(out, "1 0");
            }
            UsrOkShape::VerifiedRestricted => sp(out, "1 0"),
        }
        end(out);
    }
}

/// `USR trid OK handle 0 0`: the answer to MSNP15+'s `USR trid SHA A signed-ticket` after login
/// (Escargot and the community servers answer it so; libpurple only needs a non-error).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UsrSignedTicketOk<'a> {
    /// Echoed.
    pub trid: u32,
    /// The account's handle.
    pub handle: &'a str,
}

impl Reply for UsrSignedTicketOk<'_> {
    fn write(&self, _: &Dialect, out: &mut impl Out) {
        head(out, "USR", self.trid);
        sp(out, "OK");
        sp(out, self.handle);
        sp(out, "0 0");
        end(out);
    }
}

/// `USR trid SSO S MBI_KEY_OLD nonce` (MSNP15+): the policy and the nonce the client answers
/// with the session key of its RST.srf answer (`auth::sso`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UsrSsoNonce<'a> {
    /// Echoed.
    pub trid: u32,
    /// The nonce (`auth::sso::new_nonce`).
    pub nonce: &'a str,
}

impl Reply for UsrSsoNonce<'_> {
    fn write(&self, _: &Dialect, out: &mut impl Out) {
        head(out, "USR", self.trid);
        sp(out, "SSO S MBI_KEY_OLD");
        sp(out, self.nonce);
        end(out);
    }
}

/// `GCF 0 len` + the policies document, pushed before the MSNP15+ nonce.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GcfPolicies<'a> {
    /// The document.
    pub body: &'a str,
}

impl Reply for GcfPolicies<'_> {
    fn write(&self, _: &Dialect, out: &mut impl Out) {
        out.put(b"GCF 0");
        sp_num(out, self.body.len() as u32);
        end(out);
        out.put(self.body.as_bytes());
    }
}

/// `SBS 0 null` after `USR OK` (MSNP11+; its meaning is not documented, clients expect it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sbs;

impl Reply for Sbs {
    fn write(&self, _: &Dialect, out: &mut impl Out) {
        out.put(b"SBS 0 null");
        end(out);
    }
}

/// `MSG Hotmail Hotmail len` and the payload: the profile and e-mail notices.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HotmailMsg<'a> {
    /// The MIME message.
    pub payload: &'a [u8],
}

impl Reply for HotmailMsg<'_> {
    fn write(&self, _: &Dialect, out: &mut impl Out) {
        out.put(b"MSG Hotmail Hotmail");
        sp_num(out, self.payload.len() as u32);
        end(out);
        out.put(self.payload);
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{versions, wire};
    use super::*;

    #[test]
    fn version_answers() {
        let ver = |answer| wire(&Ver { trid: 1, answer }, 12);
        assert_eq!(ver(VerAnswer::Version(8)), "VER 1 MSNP8\r\n");
        assert_eq!(ver(VerAnswer::Cvr0), "VER 1 CVR0\r\n");
        assert_eq!(ver(VerAnswer::None), "VER 1 0\r\n");
        assert_eq!(wire(&InfMd5 { trid: 2 }, 7), "INF 2 MD5\r\n");
        assert_eq!(
            wire(
                &Cvr {
                    trid: 3,
                    version: "6.0.0602"
                },
                8
            ),
            "CVR 3 6.0.0602 6.0.0602 6.0.0602 http://messenger.msn.com http://messenger.msn.com\r\n"
        );
        assert_eq!(
            wire(
                &Cvq {
                    trid: 4,
                    recommended: "7.5.0324",
                    minimum: "1.0.0863"
                },
                12
            ),
            "CVQ 4 7.5.0324 7.5.0324 1.0.0863 http://messenger.msn.com http://messenger.msn.com\r\n"
        );
    }

    #[test]
    fn redirect_per_dialect() {
        let x = XfrNs {
            trid: 5,
            ns: "10.0.0.1:1863",
        };
        for v in versions() {
            let want = match v {
                2 => "XFR 5 NS 10.0.0.1:1863\r\n",
                3..=6 => "XFR 5 NS 10.0.0.1:1863 0\r\n",
                _ => "XFR 5 NS 10.0.0.1:1863 0 10.0.0.1:1863\r\n",
            };
            assert_eq!(wire(&x, v), want, "MSNP{v}");
        }
    }

    #[test]
    fn usr_per_dialect() {
        let c = UsrChallenge {
            trid: 6,
            scheme: Auth::Md5,
            challenge: "1013928519.693957190",
        };
        assert_eq!(wire(&c, 7), "USR 6 MD5 S 1013928519.693957190\r\n");
        let c = UsrChallenge {
            trid: 6,
            scheme: Auth::Twn,
            challenge: "ct=1,lc=1",
        };
        assert_eq!(wire(&c, 8), "USR 6 TWN S ct=1,lc=1\r\n");
        let ok = UsrOk {
            trid: 7,
            handle: "a@b.com",
            name: "A%20B",
        };
        for v in versions() {
            let want = match v {
                2..=5 => "USR 7 OK a@b.com A%20B\r\n",
                6..=7 => "USR 7 OK a@b.com A%20B 1\r\n",
                8..=9 => "USR 7 OK a@b.com A%20B 1 0\r\n",
                _ => "USR 7 OK a@b.com 1 0\r\n",
            };
            assert_eq!(wire(&ok, v), want, "MSNP{v}");
        }
        assert_eq!(wire(&Sbs, 11), "SBS 0 null\r\n");
    }

    #[test]
    fn hotmail_message_carries_its_length() {
        let m = HotmailMsg {
            payload: b"MIME-Version: 1.0\r\n\r\n",
        };
        assert_eq!(
            wire(&m, 9),
            "MSG Hotmail Hotmail 21\r\nMIME-Version: 1.0\r\n\r\n"
        );
    }

    #[test]
    fn sso_lines() {
        let n = UsrSsoNonce {
            trid: 3,
            nonce: "abc",
        };
        assert_eq!(wire(&n, 15), "USR 3 SSO S MBI_KEY_OLD abc\r\n");
        let g = GcfPolicies { body: "<P/>" };
        assert_eq!(wire(&g, 18), "GCF 0 4\r\n<P/>");
        let ok = UsrSignedTicketOk {
            trid: 5,
            handle: "a@b.com",
        };
        assert_eq!(wire(&ok, 18), "USR 5 OK a@b.com 0 0\r\n");
        let c = UsrChallenge {
            trid: 2,
            scheme: Auth::Sso,
            challenge: "x",
        };
        assert_eq!(wire(&c, 15), "USR 2 SSO S x\r\n");
    }
}
