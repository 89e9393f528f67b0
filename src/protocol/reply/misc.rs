//! Replies of the `misc` and `xfr` families: URL, SND/SDC OK, FND, IMS, QNG, OUT, GCF, CHL, QRY
//! and the switchboard referral `XFR SB`.

use super::{Out, Reply, end, head, sp, sp_num};
use crate::dialect::Dialect;
use crate::limits::QNG_SECONDS;

/// `URL trid /unused http://messenger.msn.com [2]`: the service opened a browser on these; we
/// have no web pages. The site id from MSNP3 (`Dialect::url_site_id`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Url {
    /// Echoed.
    pub trid: u32,
}

impl Reply for Url {
    fn write(&self, d: &Dialect, out: &mut impl Out) {
        head(out, "URL", self.trid);
        sp(out, "/unused");
        sp(out, super::login::PRODUCT_URL);
        if d.url_site_id {
            sp(out, "2");
        }
        end(out);
    }
}

/// `VRB trid OK`: a command acknowledged without effect (SND, SDC).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Done {
    /// The command's verb.
    pub verb: &'static str,
    /// Echoed.
    pub trid: u32,
}

impl Reply for Done {
    fn write(&self, _: &Dialect, out: &mut impl Out) {
        head(out, self.verb, self.trid);
        sp(out, "OK");
        end(out);
    }
}

/// `FND trid 0 0`: the directory search found nobody.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FndNone {
    /// Echoed.
    pub trid: u32,
}

impl Reply for FndNone {
    fn write(&self, _: &Dialect, out: &mut impl Out) {
        head(out, "FND", self.trid);
        sp(out, "0 0");
        end(out);
    }
}

/// `IMS trid 0 ON|OFF`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ims {
    /// Echoed.
    pub trid: u32,
    /// Whether invitations are now refused.
    pub off: bool,
}

impl Reply for Ims {
    fn write(&self, _: &Dialect, out: &mut impl Out) {
        head(out, "IMS", self.trid);
        sp(out, "0");
        sp(out, if self.off { "OFF" } else { "ON" });
        end(out);
    }
}

/// `QNG [seconds]`: the answer to `PNG`, with the seconds to the next one from MSNP9.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Qng;

impl Reply for Qng {
    fn write(&self, d: &Dialect, out: &mut impl Out) {
        out.put(b"QNG");
        if d.qng_seconds {
            sp_num(out, QNG_SECONDS);
        }
        end(out);
    }
}

/// `OUT`: the answer to the client's own `OUT`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Goodbye;

impl Reply for Goodbye {
    fn write(&self, _: &Dialect, out: &mut impl Out) {
        out.put(b"OUT");
        end(out);
    }
}

/// `GCF trid file len` and the file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Gcf<'a> {
    /// Echoed.
    pub trid: u32,
    /// The file asked for, echoed.
    pub file: &'a str,
    /// Its content.
    pub body: &'a [u8],
}

impl Reply for Gcf<'_> {
    fn write(&self, _: &Dialect, out: &mut impl Out) {
        head(out, "GCF", self.trid);
        sp(out, self.file);
        sp_num(out, self.body.len() as u32);
        end(out);
        out.put(self.body);
    }
}

/// `CHL 0 challenge`: the server's challenge (`QRY` answers it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Chl<'a> {
    /// The challenge string.
    pub challenge: &'a str,
}

impl Reply for Chl<'_> {
    fn write(&self, _: &Dialect, out: &mut impl Out) {
        out.put(b"CHL 0");
        sp(out, self.challenge);
        end(out);
    }
}

/// `QRY trid`: the challenge answer was right.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QryOk {
    /// Echoed.
    pub trid: u32,
}

impl Reply for QryOk {
    fn write(&self, _: &Dialect, out: &mut impl Out) {
        head(out, "QRY", self.trid);
        end(out);
    }
}

/// `XFR trid SB host:port CKI cookie`: where to open a switchboard, and the cookie for it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct XfrSb<'a> {
    /// Echoed.
    pub trid: u32,
    /// The switchboard's `host:port`.
    pub addr: &'a str,
    /// The cookie for `USR`.
    pub cookie: &'a str,
}

impl Reply for XfrSb<'_> {
    fn write(&self, _: &Dialect, out: &mut impl Out) {
        head(out, "XFR", self.trid);
        sp(out, "SB");
        sp(out, self.addr);
        sp(out, "CKI");
        sp(out, self.cookie);
        end(out);
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{versions, wire};
    use super::*;

    #[test]
    fn lines() {
        assert_eq!(
            wire(&Url { trid: 1 }, 2),
            "URL 1 /unused http://messenger.msn.com\r\n"
        );
        assert_eq!(
            wire(&Url { trid: 1 }, 3),
            "URL 1 /unused http://messenger.msn.com 2\r\n"
        );
        assert_eq!(
            wire(
                &Done {
                    verb: "SND",
                    trid: 2
                },
                5
            ),
            "SND 2 OK\r\n"
        );
        assert_eq!(
            wire(
                &Done {
                    verb: "SDC",
                    trid: 2
                },
                9
            ),
            "SDC 2 OK\r\n"
        );
        assert_eq!(wire(&FndNone { trid: 3 }, 4), "FND 3 0 0\r\n");
        assert_eq!(wire(&Ims { trid: 4, off: true }, 8), "IMS 4 0 OFF\r\n");
        assert_eq!(
            wire(
                &Ims {
                    trid: 4,
                    off: false
                },
                8
            ),
            "IMS 4 0 ON\r\n"
        );
        assert_eq!(wire(&Goodbye, 12), "OUT\r\n");
        assert_eq!(
            wire(
                &Chl {
                    challenge: "29409134351025259292"
                },
                9
            ),
            "CHL 0 29409134351025259292\r\n"
        );
        assert_eq!(wire(&QryOk { trid: 5 }, 11), "QRY 5\r\n");
        let x = XfrSb {
            trid: 6,
            addr: "10.0.0.1:1864",
            cookie: "17262740.1050826919.32308",
        };
        assert_eq!(
            wire(&x, 7),
            "XFR 6 SB 10.0.0.1:1864 CKI 17262740.1050826919.32308\r\n"
        );
        let g = Gcf {
            trid: 7,
            file: "Shields.xml",
            body: b"<config/>",
        };
        assert_eq!(wire(&g, 11), "GCF 7 Shields.xml 9\r\n<config/>");
    }

    #[test]
    fn qng_has_seconds_from_msnp9() {
        for v in versions() {
            let want = if v >= 9 {
                format!("QNG {QNG_SECONDS}\r\n")
            } else {
                "QNG\r\n".into()
            };
            assert_eq!(wire(&Qng, v), want, "MSNP{v}");
        }
    }
}
