//! Replies of the `contacts` family (MSNP13+): `ADL`/`RML trid OK`, the `FQY` answer, and the
//! notice a WLM user gets when someone adds them or removes them (`ADL 0` / `RML 0` with
//! `l="8"`, the reverse list: the MSNP13+ form of `ADD/ADC/REM 0 RL`).

use super::{Out, Reply, end, head, sp, sp_num};
use crate::dialect::Dialect;
use crate::model::list;
use crate::protocol::ml::{self, Lists, Ml, MlContact, Network};
use crate::protocol::percent::Enc;

/// Which of the two list commands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MlVerb {
    /// `ADL`.
    Adl,
    /// `RML`.
    Rml,
}

impl MlVerb {
    fn name(self) -> &'static str {
        match self {
            MlVerb::Adl => "ADL",
            MlVerb::Rml => "RML",
        }
    }
}

/// `ADL trid OK` / `RML trid OK`: the lists were changed (or already were so).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Done {
    /// Which command.
    pub verb: MlVerb,
    /// Echoed.
    pub trid: u32,
}

impl Reply for Done {
    fn write(&self, _: &Dialect, out: &mut impl Out) {
        head(out, self.verb.name(), self.trid);
        sp(out, "OK");
        end(out);
    }
}

/// `FQY trid len` + `<ml>`: the network of each address asked about (all ours are network 1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fqy<'a> {
    /// Echoed.
    pub trid: u32,
    /// The `<ml>` answer (`protocol::ml::write` without list bits).
    pub payload: &'a str,
}

impl Reply for Fqy<'_> {
    fn write(&self, _: &Dialect, out: &mut impl Out) {
        head(out, "FQY", self.trid);
        sp_num(out, self.payload.len() as u32);
        end(out);
        out.put(self.payload.as_bytes());
    }
}

/// `ADL 0 len` (added) or `RML 0 len` (removed) with one reverse-list contact: `handle` put me
/// on (or took me off) their forward list. The friendly name goes URL-encoded in `f`, as
/// libpurple decodes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReverseList<'a> {
    /// Added (true) or removed.
    pub added: bool,
    /// Who.
    pub handle: &'a str,
    /// Their friendly name (additions only).
    pub name: &'a str,
}

impl Reply for ReverseList<'_> {
    fn write(&self, _: &Dialect, out: &mut impl Out) {
        let doc = ml::write(
            &Ml {
                initial: false,
                contacts: vec![MlContact {
                    handle: self.handle.to_string(),
                    lists: list::RL,
                    network: Network::Msn,
                    friendly: self.added.then(|| Enc(self.name).to_string()),
                }],
            },
            Lists::Required,
        );
        let verb = if self.added { MlVerb::Adl } else { MlVerb::Rml };
        head(out, verb.name(), 0);
        sp_num(out, doc.len() as u32);
        end(out);
        out.put(doc.as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_as_wlm_reads_them() {
        let d = Dialect::get(12).unwrap();
        let ok = Done {
            verb: MlVerb::Adl,
            trid: 7,
        };
        assert_eq!(ok.to_bytes(d), b"ADL 7 OK\r\n");
        let ok = Done {
            verb: MlVerb::Rml,
            trid: 8,
        };
        assert_eq!(ok.to_bytes(d), b"RML 8 OK\r\n");
        let added = ReverseList {
            added: true,
            handle: "alice@example.com",
            name: "Alice & co",
        };
        let doc =
            r#"<ml><d n="example.com"><c n="alice" l="8" t="1" f="Alice%20&amp;%20co"/></d></ml>"#;
        assert_eq!(
            String::from_utf8(added.to_bytes(d)).unwrap(),
            format!("ADL 0 {}\r\n{doc}", doc.len())
        );
        let removed = ReverseList {
            added: false,
            handle: "alice@example.com",
            name: "",
        };
        let doc = r#"<ml><d n="example.com"><c n="alice" l="8" t="1"/></d></ml>"#;
        assert_eq!(
            String::from_utf8(removed.to_bytes(d)).unwrap(),
            format!("RML 0 {}\r\n{doc}", doc.len())
        );
        let fqy = Fqy {
            trid: 9,
            payload: "<ml/>",
        };
        assert_eq!(fqy.to_bytes(d), b"FQY 9 5\r\n<ml/>");
    }
}
