//! The `<ml>` payload of MSNP13+ `ADL`, `RML` and `FQY` (client to server, and `ADL`/`RML` the
//! server sends when someone adds or removes the user): contacts grouped by domain, each with its
//! list bits (`l`, as in `model::list`) and network id (`t`).
//!
//! ```text
//! <ml l="1"><d n="example.com"><c n="alice" l="3" t="1"/></d></ml>
//! ```
//!
//! `l` on `<ml>` marks the initial `ADL` after login. MSNP18 clients may put the list bits on
//! `<s l=".." n="IM"/>` children of `<c>` instead; both are read. Network ids: 1 is a Passport
//! (MSN) account, 32 Yahoo (MSNP14+, which this server has none of); circles (9) and anything
//! else are refused with the codes the official server used (Escargot's table: 204 invalid
//! network, 240 empty domain, 241 invalid payload, 933 circle membership). No I/O here.

use super::names::normalize_handle;
use super::xml::{self, Bounds, Element, XmlError, escape_into};
use crate::limits::{MAX_ML_CONTACTS, MAX_ML_PAYLOAD};
use std::fmt;

/// The network a contact is on (`t`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Network {
    /// `1`: a Passport/Windows Live account, i.e. ours.
    Msn,
    /// `32`: Yahoo! interop (MSNP14+). Parsed so that the handler can refuse it by name.
    Yahoo,
}

impl Network {
    /// The id written in `t` and in MSNP14+ presence lines.
    pub fn id(self) -> u32 {
        match self {
            Network::Msn => 1,
            Network::Yahoo => 32,
        }
    }

    /// The network of id `t`, or why it is refused.
    pub fn from_id(t: u32) -> Result<Network, MlError> {
        match t {
            1 => Ok(Network::Msn),
            32 => Ok(Network::Yahoo),
            9 | 10 => Err(MlError::Circle),
            _ => Err(MlError::UnknownNetwork),
        }
    }
}

/// One contact of an `<ml>` payload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MlContact {
    /// `name@domain`, lower case.
    pub handle: String,
    /// List bits (`model::list`); 0 when the payload gives none (`FQY`).
    pub lists: u8,
    /// The contact's network.
    pub network: Network,
    /// The friendly name (`f`), which the server's own `ADL` to an added user carries.
    pub friendly: Option<String>,
}

/// A parsed `<ml>` payload.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Ml {
    /// `<ml l="1">`: the initial list after login.
    pub initial: bool,
    /// Contacts in payload order.
    pub contacts: Vec<MlContact>,
}

/// Why a payload was refused; `code` is the error the client gets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MlError {
    /// Not acceptable XML (too large, DTD, malformed ...).
    Xml(XmlError),
    /// A `<d>` with no contacts (240).
    EmptyDomain,
    /// Anything else malformed: no `<ml>` root, a missing or invalid name, a domain given
    /// twice, bad list bits, too many contacts (241).
    InvalidPayload,
    /// A network id that is not 1 or 32 (204).
    UnknownNetwork,
    /// A circle (network 9/10): this server has none (933).
    Circle,
}

impl MlError {
    /// The MSNP error code for this refusal.
    pub fn code(self) -> u16 {
        match self {
            MlError::Xml(_) | MlError::InvalidPayload => 241,
            MlError::EmptyDomain => 240,
            MlError::UnknownNetwork => 204,
            MlError::Circle => 933,
        }
    }
}

impl fmt::Display for MlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MlError::Xml(e) => write!(f, "ml payload: {e}"),
            MlError::EmptyDomain => f.write_str("ml payload: empty domain"),
            MlError::InvalidPayload => f.write_str("ml payload: invalid"),
            MlError::UnknownNetwork => f.write_str("ml payload: unknown network id"),
            MlError::Circle => f.write_str("ml payload: circles are not served"),
        }
    }
}

impl std::error::Error for MlError {}

/// Whether the payload must give list bits for every contact (`ADL`, `RML`) or may not (`FQY`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lists {
    /// Every contact needs `l` (or `<s l=..>`), within FL|AL|BL|RL|PL.
    Required,
    /// `l` is ignored (`FQY`).
    Ignored,
}

fn number(el: &Element, attr: &str) -> Result<Option<u32>, MlError> {
    match el.attr(attr) {
        None => Ok(None),
        Some(v) => v
            .trim()
            .parse::<u32>()
            .map(Some)
            .map_err(|_| MlError::InvalidPayload),
    }
}

/// Parses an `<ml>` payload.
pub fn parse(payload: &[u8], lists: Lists) -> Result<Ml, MlError> {
    let root = xml::parse(payload, &Bounds::with_size(MAX_ML_PAYLOAD)).map_err(MlError::Xml)?;
    if root.name != "ml" {
        return Err(MlError::InvalidPayload);
    }
    let initial = number(&root, "l")? == Some(1);
    let mut contacts: Vec<MlContact> = Vec::new();
    let mut domains: Vec<&str> = Vec::new();
    for d in &root.children {
        if d.name != "d" {
            return Err(MlError::InvalidPayload);
        }
        let domain = d.attr("n").ok_or(MlError::InvalidPayload)?;
        if domains.iter().any(|seen| seen.eq_ignore_ascii_case(domain)) {
            return Err(MlError::InvalidPayload);
        }
        domains.push(domain);
        if d.children.is_empty() {
            return Err(MlError::EmptyDomain);
        }
        for c in &d.children {
            if c.name != "c" {
                return Err(MlError::InvalidPayload);
            }
            if contacts.len() == MAX_ML_CONTACTS {
                return Err(MlError::InvalidPayload);
            }
            let local = c.attr("n").ok_or(MlError::InvalidPayload)?;
            // Network first: a circle's "name" is a GUID, which is not a handle.
            let network = Network::from_id(number(c, "t")?.unwrap_or(1))?;
            let handle =
                normalize_handle(&format!("{local}@{domain}")).ok_or(MlError::InvalidPayload)?;
            let mut bits = number(c, "l")?.unwrap_or(0);
            for s in c.children_named("s") {
                bits |= number(s, "l")?.unwrap_or(0);
            }
            let bits = match lists {
                Lists::Ignored => 0,
                Lists::Required if (1..=31).contains(&bits) => bits as u8,
                Lists::Required => return Err(MlError::InvalidPayload),
            };
            contacts.push(MlContact {
                handle,
                lists: bits,
                network,
                friendly: c.attr("f").map(str::to_string),
            });
        }
    }
    Ok(Ml { initial, contacts })
}

/// Writes an `<ml>` payload: contacts grouped by domain in order of first appearance, no
/// whitespace. `lists` writes each contact's `l` (the server's `ADL`/`RML`; not in `FQY`
/// answers).
pub fn write(ml: &Ml, lists: Lists) -> String {
    let mut out = String::with_capacity(32 + ml.contacts.len() * 48);
    out.push_str(if ml.initial { "<ml l=\"1\">" } else { "<ml>" });
    let mut done = vec![false; ml.contacts.len()];
    for i in 0..ml.contacts.len() {
        if done[i] {
            continue;
        }
        let domain = domain_of(&ml.contacts[i].handle);
        out.push_str("<d n=\"");
        escape_into(&mut out, domain);
        out.push_str("\">");
        for (c, done) in ml.contacts.iter().zip(done.iter_mut()).skip(i) {
            if *done || domain_of(&c.handle) != domain {
                continue;
            }
            *done = true;
            out.push_str("<c n=\"");
            escape_into(&mut out, local_of(&c.handle));
            out.push('"');
            if lists == Lists::Required {
                out.push_str(&format!(" l=\"{}\"", c.lists));
            }
            out.push_str(&format!(" t=\"{}\"", c.network.id()));
            if let Some(f) = &c.friendly {
                out.push_str(" f=\"");
                escape_into(&mut out, f);
                out.push('"');
            }
            out.push_str("/>");
        }
        out.push_str("</d>");
    }
    out.push_str("</ml>");
    out
}

fn domain_of(handle: &str) -> &str {
    handle.rsplit_once('@').map_or("", |(_, d)| d)
}

fn local_of(handle: &str) -> &str {
    handle.rsplit_once('@').map_or(handle, |(l, _)| l)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::list::{AL, BL, FL, RL};

    fn contact(handle: &str, lists: u8) -> MlContact {
        MlContact {
            handle: handle.into(),
            lists,
            network: Network::Msn,
            friendly: None,
        }
    }

    #[test]
    fn reads_the_forms_clients_send() {
        // WLM 8.x initial ADL.
        let ml = parse(
            br#"<ml l="1"><d n="example.com"><c n="Alice" l="3" t="1"/><c n="bob" l="5" t="1"/></d><d n="x.org"><c n="carol" l="1" t="1"/></d></ml>"#,
            Lists::Required,
        )
        .unwrap();
        assert!(ml.initial);
        assert_eq!(
            ml.contacts,
            [
                contact("alice@example.com", FL | AL),
                contact("bob@example.com", FL | BL),
                contact("carol@x.org", FL)
            ]
        );
        // libpurple's empty initial ADL, with single quotes.
        let empty = parse(b"<ml l='1'/>", Lists::Required).unwrap();
        assert!(empty.initial && empty.contacts.is_empty());
        // MSNP18: list bits on service children; Yahoo parsed for the handler to refuse.
        let ml = parse(
            br#"<ml><d n="example.com"><c n="dave" t="32"><s l="3" n="IM"/><s l="4" n="PE"/></c></d></ml>"#,
            Lists::Required,
        )
        .unwrap();
        assert!(!ml.initial);
        assert_eq!(ml.contacts[0].lists, FL | AL | BL);
        assert_eq!(ml.contacts[0].network, Network::Yahoo);
        // FQY has no list bits.
        let fqy = parse(
            br#"<ml><d n="example.com"><c n="erin"/></d></ml>"#,
            Lists::Ignored,
        )
        .unwrap();
        assert_eq!(fqy.contacts, [contact("erin@example.com", 0)]);
    }

    #[test]
    fn refuses_with_the_official_codes() {
        let cases: &[(&[u8], u16)] = &[
            (br#"<ml><d n="example.com"/></ml>"#, 240),
            (
                br#"<ml><d n="example.com"><c n="a" l="1" t="9"/></d></ml>"#,
                933,
            ),
            (
                br#"<ml><d n="example.com"><c n="a" l="1" t="10"/></d></ml>"#,
                933,
            ),
            (
                br#"<ml><d n="example.com"><c n="a" l="1" t="2"/></d></ml>"#,
                204,
            ),
            (
                br#"<ml><d n="example.com"><c n="a" l="1" t="x"/></d></ml>"#,
                241,
            ),
            (
                br#"<ml><d n="example.com"><c n="a" l="0" t="1"/></d></ml>"#,
                241,
            ),
            (
                br#"<ml><d n="example.com"><c n="a" l="64" t="1"/></d></ml>"#,
                241,
            ),
            (br#"<ml><d n="example.com"><c n="a" t="1"/></d></ml>"#, 241),
            (br#"<ml><d n="example.com"><c l="1" t="1"/></d></ml>"#, 241),
            (br#"<ml><d><c n="a" l="1" t="1"/></d></ml>"#, 241),
            (br#"<ml><d n="nodot"><c n="a" l="1" t="1"/></d></ml>"#, 241),
            (
                br#"<ml><d n="example.com"><c n="a b" l="1" t="1"/></d></ml>"#,
                241,
            ),
            (
                br#"<ml><d n="a.com"><c n="a" l="1"/></d><d n="A.com"><c n="b" l="1"/></d></ml>"#,
                241,
            ),
            (br#"<ml><x/></ml>"#, 241),
            (br#"<ml><d n="example.com"><x/></d></ml>"#, 241),
            (br#"<other/>"#, 241),
            (br#"<ml>"#, 241),
            (br#"<!DOCTYPE ml><ml/>"#, 241),
        ];
        for (payload, code) in cases {
            let got = parse(payload, Lists::Required)
                .map(|_| ())
                .map_err(MlError::code);
            assert_eq!(got, Err(*code), "{}", String::from_utf8_lossy(payload));
        }
    }

    #[test]
    fn refuses_oversized_payloads() {
        let contacts: String = (0..=MAX_ML_CONTACTS)
            .map(|i| format!("<c n=\"u{i}\" l=\"1\" t=\"1\"/>"))
            .collect();
        let many = format!("<ml><d n=\"e.com\">{contacts}</d></ml>");
        assert!(
            many.len() <= MAX_ML_PAYLOAD,
            "the count, not the size, refuses it"
        );
        assert_eq!(
            parse(many.as_bytes(), Lists::Required),
            Err(MlError::InvalidPayload)
        );
        let big = format!("<ml>{}</ml>", " ".repeat(MAX_ML_PAYLOAD));
        assert_eq!(
            parse(big.as_bytes(), Lists::Required),
            Err(MlError::Xml(XmlError::TooLarge))
        );
    }

    #[test]
    fn writes_what_it_reads() {
        let ml = Ml {
            initial: false,
            contacts: vec![
                contact("alice@example.com", RL),
                contact("carol@x.org", FL | AL),
                MlContact {
                    friendly: Some("Bob \"<3\" & co".into()),
                    ..contact("bob@example.com", RL)
                },
            ],
        };
        let text = write(&ml, Lists::Required);
        assert_eq!(
            text,
            r#"<ml><d n="example.com"><c n="alice" l="8" t="1"/><c n="bob" l="8" t="1" f="Bob &quot;&lt;3&quot; &amp; co"/></d><d n="x.org"><c n="carol" l="3" t="1"/></d></ml>"#
        );
        let back = parse(text.as_bytes(), Lists::Required).unwrap();
        let mut expected = ml.contacts.clone();
        expected.swap(1, 2);
        assert_eq!(back.contacts, expected);
        let fqy = write(&back, Lists::Ignored);
        assert!(!fqy.contains(" l="));
        assert_eq!(
            parse(fqy.as_bytes(), Lists::Ignored)
                .unwrap()
                .contacts
                .len(),
            3
        );
        let initial = Ml {
            initial: true,
            contacts: vec![],
        };
        assert_eq!(write(&initial, Lists::Required), r#"<ml l="1"></ml>"#);
        assert!(
            parse(write(&initial, Lists::Required).as_bytes(), Lists::Required)
                .unwrap()
                .initial
        );
    }
}
