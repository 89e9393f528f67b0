//! A bounded XML reader for what WLM clients send (`ADL`/`RML`/`FQY`/`UUX` payloads, RST.srf and
//! SOAP address-book requests), built on `quick-xml`, and the escaping our XML writers use.
//!
//! Input is untrusted, so the reader is deliberately small: no DTD (a `DOCTYPE` is refused, so no
//! entity can be declared, let alone expanded), no external references (nothing is ever fetched
//! or opened), only the five predefined entities and character references, and hard bounds on the
//! document's size, nesting depth, element count and attributes per element. Every failure is an
//! `XmlError`; nothing panics, whatever the bytes (the fuzz target `wlm_payloads` checks that).
//!
//! Names are matched by their local part (`wst:Address` and `Address` are the same element):
//! clients disagree on prefixes (WLM writes `s:Envelope`, libpurple an unprefixed `Envelope` with
//! a default namespace), and none of them mixes two vocabularies that share a local name where we
//! read. Namespace URIs are not checked.

use crate::limits::{XML_MAX_ATTRIBUTES, XML_MAX_DEPTH, XML_MAX_ELEMENTS};
use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event};
use std::borrow::Cow;
use std::fmt;

/// The bounds a document must stay within; each caller states its own size limit.
#[derive(Clone, Copy, Debug)]
pub struct Bounds {
    /// Largest document, in bytes.
    pub max_bytes: usize,
    /// Deepest nesting of elements (the root is depth 1).
    pub max_depth: usize,
    /// Most elements in the whole document.
    pub max_elements: usize,
}

impl Bounds {
    /// The project's depth and element limits with a size limit of `max_bytes`.
    pub const fn with_size(max_bytes: usize) -> Bounds {
        Bounds {
            max_bytes,
            max_depth: XML_MAX_DEPTH,
            max_elements: XML_MAX_ELEMENTS,
        }
    }
}

/// Why a document was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum XmlError {
    /// Longer than `Bounds::max_bytes`.
    TooLarge,
    /// Nested deeper than `Bounds::max_depth`.
    TooDeep,
    /// More elements than `Bounds::max_elements`.
    TooManyElements,
    /// An element with more than `XML_MAX_ATTRIBUTES` attributes.
    TooManyAttributes,
    /// Not UTF-8 (the only encoding clients use).
    NotUtf8,
    /// A `DOCTYPE`: DTDs (and so entity declarations) are never accepted.
    Doctype,
    /// An entity reference other than the five predefined ones or a character reference.
    UnknownEntity,
    /// No root element.
    Empty,
    /// Not well-formed (the reason is for the log).
    Malformed(&'static str),
}

impl fmt::Display for XmlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            XmlError::TooLarge => f.write_str("document too large"),
            XmlError::TooDeep => f.write_str("elements nested too deep"),
            XmlError::TooManyElements => f.write_str("too many elements"),
            XmlError::TooManyAttributes => f.write_str("too many attributes"),
            XmlError::NotUtf8 => f.write_str("not UTF-8"),
            XmlError::Doctype => f.write_str("DOCTYPE refused"),
            XmlError::UnknownEntity => f.write_str("unknown entity"),
            XmlError::Empty => f.write_str("no root element"),
            XmlError::Malformed(why) => write!(f, "malformed XML: {why}"),
        }
    }
}

impl std::error::Error for XmlError {}

/// One element: its local name, attributes (local names; namespace declarations left out), child
/// elements in order, and its character data (all text directly inside it, concatenated, with
/// entities resolved; text between child elements is kept too, so callers trim).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Element {
    /// Local name (`Address` for `wsa:Address`).
    pub name: String,
    /// Attributes in document order, by local name, values unescaped.
    pub attrs: Vec<(String, String)>,
    /// Child elements in document order.
    pub children: Vec<Element>,
    /// Character data directly inside this element.
    pub text: String,
}

impl Element {
    /// The value of attribute `name` (local name, case-sensitive).
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The text inside, without surrounding whitespace.
    pub fn text(&self) -> &str {
        self.text.trim()
    }

    /// The first child named `name`.
    pub fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }

    /// Every child named `name`.
    pub fn children_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Element> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }

    /// The element reached by following `path` (child names) from here.
    pub fn path(&self, path: &[&str]) -> Option<&Element> {
        path.iter().try_fold(self, |e, name| e.child(name))
    }

    /// The text of the element at `path`, trimmed.
    pub fn path_text(&self, path: &[&str]) -> Option<&str> {
        self.path(path).map(Element::text)
    }

    /// The first element named `name` at any depth below this one (depth-first, document order).
    /// The walk is bounded by the document's own bounds.
    pub fn find(&self, name: &str) -> Option<&Element> {
        for c in &self.children {
            if c.name == name {
                return Some(c);
            }
            if let Some(found) = c.find(name) {
                return Some(found);
            }
        }
        None
    }
}

fn local(name: &[u8]) -> Result<String, XmlError> {
    let local = match name.iter().rposition(|&b| b == b':') {
        Some(i) => &name[i + 1..],
        None => name,
    };
    if local.is_empty() {
        return Err(XmlError::Malformed("empty name"));
    }
    String::from_utf8(local.to_vec()).map_err(|_| XmlError::NotUtf8)
}

fn element_of(start: &BytesStart<'_>) -> Result<Element, XmlError> {
    let mut attrs = Vec::new();
    for a in start.attributes() {
        let a = a.map_err(|_| XmlError::Malformed("bad attribute"))?;
        let key = a.key.as_ref();
        // Namespace declarations say nothing we read (see the module doc).
        if key == b"xmlns" || key.starts_with(b"xmlns:") {
            continue;
        }
        if attrs.len() == XML_MAX_ATTRIBUTES {
            return Err(XmlError::TooManyAttributes);
        }
        let value = a.unescape_value().map_err(|e| match e {
            quick_xml::Error::Escape(quick_xml::escape::EscapeError::UnrecognizedEntity(..)) => {
                XmlError::UnknownEntity
            }
            _ => XmlError::Malformed("bad attribute value"),
        })?;
        attrs.push((local(key)?, value.into_owned()));
    }
    Ok(Element {
        name: local(start.name().as_ref())?,
        attrs,
        children: Vec::new(),
        text: String::new(),
    })
}

/// Parses `input` into its root element, within `bounds`.
pub fn parse(input: &[u8], bounds: &Bounds) -> Result<Element, XmlError> {
    if input.len() > bounds.max_bytes {
        return Err(XmlError::TooLarge);
    }
    let text = std::str::from_utf8(input).map_err(|_| XmlError::NotUtf8)?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut reader = Reader::from_str(text);
    let config = reader.config_mut();
    config.check_end_names = true;
    config.expand_empty_elements = false;
    config.allow_unmatched_ends = false;

    let mut open: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    let mut elements = 0usize;

    // Puts a finished element under its parent, or makes it the root.
    fn close(
        el: Element,
        open: &mut [Element],
        root: &mut Option<Element>,
    ) -> Result<(), XmlError> {
        match open.last_mut() {
            Some(parent) => parent.children.push(el),
            None if root.is_none() => *root = Some(el),
            None => return Err(XmlError::Malformed("content after the root element")),
        }
        Ok(())
    }
    // Character data goes to the open element; outside the root only whitespace may appear.
    fn push_text(open: &mut [Element], s: &str) -> Result<(), XmlError> {
        match open.last_mut() {
            Some(el) => el.text.push_str(s),
            None if s.trim().is_empty() => {}
            None => return Err(XmlError::Malformed("text outside the root element")),
        }
        Ok(())
    }

    loop {
        let event = reader
            .read_event()
            .map_err(|_| XmlError::Malformed("syntax"))?;
        match event {
            Event::Start(ref start) | Event::Empty(ref start) => {
                if root.is_some() && open.is_empty() {
                    return Err(XmlError::Malformed("content after the root element"));
                }
                if open.len() >= bounds.max_depth {
                    return Err(XmlError::TooDeep);
                }
                elements += 1;
                if elements > bounds.max_elements {
                    return Err(XmlError::TooManyElements);
                }
                let el = element_of(start)?;
                if matches!(event, Event::Start(_)) {
                    open.push(el);
                } else {
                    close(el, &mut open, &mut root)?;
                }
            }
            Event::End(_) => {
                // quick-xml has checked that the name matches the open element.
                let el = open
                    .pop()
                    .ok_or(XmlError::Malformed("end tag without start"))?;
                close(el, &mut open, &mut root)?;
            }
            Event::Text(t) => {
                let s = t.decode().map_err(|_| XmlError::NotUtf8)?;
                push_text(&mut open, &s)?;
            }
            Event::CData(c) => {
                let s = c.decode().map_err(|_| XmlError::NotUtf8)?;
                if open.is_empty() {
                    return Err(XmlError::Malformed("CDATA outside the root element"));
                }
                push_text(&mut open, &s)?;
            }
            Event::GeneralRef(r) => {
                let resolved: Cow<'_, str> = match r.resolve_char_ref() {
                    Ok(Some(c)) => c.to_string().into(),
                    Ok(None) => {
                        let name = r.decode().map_err(|_| XmlError::NotUtf8)?;
                        quick_xml::escape::resolve_predefined_entity(&name)
                            .ok_or(XmlError::UnknownEntity)?
                            .into()
                    }
                    Err(_) => return Err(XmlError::Malformed("bad character reference")),
                };
                if open.is_empty() {
                    return Err(XmlError::Malformed("reference outside the root element"));
                }
                push_text(&mut open, &resolved)?;
            }
            Event::DocType(_) => return Err(XmlError::Doctype),
            // The declaration, comments and processing instructions carry nothing we read.
            Event::Decl(_) | Event::Comment(_) | Event::PI(_) => {}
            Event::Eof => break,
        }
    }
    if !open.is_empty() {
        return Err(XmlError::Malformed("unclosed element"));
    }
    root.ok_or(XmlError::Empty)
}

/// Appends `s` to `out` escaped for XML text and attribute values (both quote kinds), leaving out
/// the control characters XML 1.0 cannot carry (a stored name could hold one).
pub fn escape_into(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{fffe}' || c == '\u{ffff}' => {}
            c => out.push(c),
        }
    }
}

/// `s` escaped as `escape_into` does; borrowed when nothing needed escaping.
pub fn escape(s: &str) -> Cow<'_, str> {
    let clean = s.chars().all(|c| {
        !matches!(c, '&' | '<' | '>' | '"' | '\'' | '\u{fffe}' | '\u{ffff}')
            && ((c as u32) >= 0x20 || matches!(c, '\t' | '\n' | '\r'))
    });
    if clean {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 16);
    escape_into(&mut out, s);
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const B: Bounds = Bounds::with_size(16 * 1024);

    #[test]
    fn reads_elements_attributes_and_text_by_local_name() {
        let doc = br#"<?xml version="1.0" encoding="utf-8"?>
<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>
  <wst:RequestSecurityToken Id="RST1"><wsa:Address>messengerclear.live.com</wsa:Address></wst:RequestSecurityToken>
  <x a="1 &amp; 2" b='&#x41;&lt;'>a &amp; b &#66;<![CDATA[<raw>]]></x>
</s:Body></s:Envelope>"#;
        let root = parse(doc, &B).unwrap();
        assert_eq!(root.name, "Envelope");
        let body = root.child("Body").unwrap();
        let rst = body.child("RequestSecurityToken").unwrap();
        assert_eq!(rst.attr("Id"), Some("RST1"));
        assert_eq!(rst.path_text(&["Address"]), Some("messengerclear.live.com"));
        let x = root.find("x").unwrap();
        assert_eq!(x.attr("a"), Some("1 & 2"));
        assert_eq!(x.attr("b"), Some("A<"));
        assert_eq!(x.text(), "a & b B<raw>");
        assert_eq!(root.attrs, [], "namespace declarations are left out");
        assert!(root.find("nothing").is_none());
    }

    #[test]
    fn refuses_dtds_unknown_entities_and_external_references() {
        let billion = br#"<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;">]><lolz>&lol2;</lolz>"#;
        assert_eq!(parse(billion, &B), Err(XmlError::Doctype));
        let external =
            br#"<!DOCTYPE foo [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><foo>&xxe;</foo>"#;
        assert_eq!(parse(external, &B), Err(XmlError::Doctype));
        assert_eq!(parse(b"<a>&xxe;</a>", &B), Err(XmlError::UnknownEntity));
        assert_eq!(parse(b"<a b='&xxe;'/>", &B), Err(XmlError::UnknownEntity));
        assert!(parse(b"<a>&#0;</a>", &B).is_err());
    }

    #[test]
    fn enforces_its_bounds() {
        let small = Bounds {
            max_bytes: 64,
            max_depth: 3,
            max_elements: 4,
        };
        assert_eq!(
            parse(&[b'a'; 65], &small),
            Err(XmlError::TooLarge),
            "size is checked before anything is read"
        );
        assert!(parse(b"<a><b><c/></b></a>", &small).is_ok());
        assert_eq!(
            parse(b"<a><b><c><d/></c></b></a>", &small),
            Err(XmlError::TooDeep)
        );
        assert_eq!(
            parse(b"<a><b/><b/><b/><b/></a>", &small),
            Err(XmlError::TooManyElements)
        );
        let deep = "<a>".repeat(100_000);
        assert_eq!(
            parse(deep.as_bytes(), &Bounds::with_size(1 << 20)),
            Err(XmlError::TooDeep)
        );
        let attrs: String = (0..=XML_MAX_ATTRIBUTES)
            .map(|i| format!(" a{i}='x'"))
            .collect();
        assert_eq!(
            parse(format!("<a{attrs}/>").as_bytes(), &B),
            Err(XmlError::TooManyAttributes)
        );
    }

    #[test]
    fn refuses_what_is_not_one_well_formed_element() {
        for bad in [
            &b""[..],
            b"   ",
            b"<a>",
            b"<a></b>",
            b"</a>",
            b"<a/><b/>",
            b"text<a/>",
            b"<a/>text",
            b"<a x='1' x='2'/>",
            b"<a x=1/>",
            b"<a>\xff</a>",
            b"<a><</a>",
        ] {
            assert!(
                parse(bad, &B).is_err(),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
        assert_eq!(parse(b"", &B), Err(XmlError::Empty));
        assert!(parse(b"\xef\xbb\xbf<a/>", &B).is_ok(), "a BOM is allowed");
        assert!(parse(b"<!-- c --><a/><!-- d -->\r\n", &B).is_ok());
    }

    #[test]
    fn never_panics_on_cut_or_mangled_input() {
        let doc = br#"<ml l="1"><d n="example.com"><c n="alice" l="3" t="1"/></d></ml>"#;
        for cut in 0..doc.len() {
            let _ = parse(&doc[..cut], &B);
            let mut m = doc.to_vec();
            m[cut] = b"<>&'\"/=\0"[cut % 8];
            let _ = parse(&m, &B);
        }
    }

    #[test]
    fn escaping_round_trips() {
        let nasty = "a&b<c>d\"e'f\u{1}g\tü";
        let mut doc = String::from("<a v=\"");
        escape_into(&mut doc, nasty);
        doc.push_str("\">");
        doc.push_str(&escape(nasty));
        doc.push_str("</a>");
        let el = parse(doc.as_bytes(), &B).unwrap();
        assert_eq!(el.attr("v"), Some("a&b<c>d\"e'fg\tü"));
        assert_eq!(el.text, "a&b<c>d\"e'fg\tü");
        assert!(matches!(escape("plain"), Cow::Borrowed(_)));
    }
}
