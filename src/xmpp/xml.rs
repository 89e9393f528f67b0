//! XML for XMPP: cutting the stream into its header and top-level elements (stanzas), parsing one
//! complete stanza into a small tree, and writing XML back. No I/O.
//!
//! The framer is a byte scanner that only finds where a top-level element ends (tags, quoted
//! attribute values, CDATA), enforcing the size and depth limits before anything is parsed; the
//! stanza it hands out is then parsed in full by `quick-xml`, which checks well-formedness (end
//! tags match, attributes are well-formed, references are the five predefined entities or
//! character references). RFC 6120 11.1 forbids comments, processing instructions and DTDs in
//! XMPP; the framer refuses them, so no entity can ever be declared, let alone expanded.

use crate::limits::{XMPP_MAX_DEPTH, XMPP_MAX_HEADER, XMPP_MAX_STANZA};
use quick_xml::events::Event;

/// `http://etherx.jabber.org/streams`.
pub const NS_STREAMS: &str = "http://etherx.jabber.org/streams";
/// The default namespace of a client stream.
pub const NS_CLIENT: &str = "jabber:client";

/// Why the stream must end (RFC 6120 4.9.3), as the framer or parser saw it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum XmlError {
    /// Not XML, or not well-formed.
    NotWellFormed,
    /// A comment, processing instruction or DTD (`<!DOCTYPE`): RFC 6120 11.1.
    RestrictedXml,
    /// Bigger or deeper than the limits (`limits::XMPP_MAX_*`).
    PolicyViolation,
}

impl XmlError {
    /// The stream error condition element's name.
    pub fn condition(self) -> &'static str {
        match self {
            XmlError::NotWellFormed => "not-well-formed",
            XmlError::RestrictedXml => "restricted-xml",
            XmlError::PolicyViolation => "policy-violation",
        }
    }
}

/// What the framer found next in the bytes it was given.
#[derive(Debug, PartialEq, Eq)]
pub enum Frame {
    /// The stream header's bytes `[0, len)`: `<stream:stream ...>`, an optional XML declaration
    /// before it skipped.
    Header(usize),
    /// A complete top-level element in `[start, end)`.
    Stanza(usize, usize),
    /// `</stream:stream>` ends the stream; consume `len` bytes.
    Close(usize),
    /// Only whitespace (a keepalive) in `[0, len)`: consume it.
    Whitespace(usize),
    /// More bytes are needed.
    Incomplete,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Scan {
    Text,
    Tag(Option<u8>),
    Cdata,
}

/// Finds stanza boundaries in the input. State survives between calls so that a stanza arriving
/// in many reads is scanned once; `consume` must be told what the caller took.
#[derive(Debug)]
pub struct Framer {
    /// 0 before the stream header, 1 between stanzas, more inside one.
    depth: usize,
    /// Where the scan resumes, relative to the unconsumed input.
    pos: usize,
    scan: Scan,
    /// Start of the tag being scanned.
    tag_start: usize,
    /// Start of the stanza being scanned (depth >= 2).
    stanza_start: usize,
    /// Name (offset, length) of each open element inside the stanza, so a mismatched end tag is
    /// refused at once instead of waiting for an end that never comes. Offsets are within the
    /// stanza, which is not consumed before it is complete.
    open: [(u16, u16); XMPP_MAX_DEPTH],
}

impl Default for Framer {
    fn default() -> Self {
        Framer::new()
    }
}

impl Framer {
    /// Before the stream header.
    pub fn new() -> Framer {
        Framer {
            depth: 0,
            pos: 0,
            scan: Scan::Text,
            tag_start: 0,
            stanza_start: 0,
            open: [(0, 0); XMPP_MAX_DEPTH],
        }
    }

    /// Forgets everything: a stream restart (after STARTTLS and SASL) expects a new header.
    pub fn restart(&mut self) {
        *self = Framer::new();
    }

    /// The caller consumed `n` bytes from the front of the input (what the last `Frame` named).
    pub fn consume(&mut self, n: usize) {
        self.pos = self.pos.saturating_sub(n);
        self.tag_start = self.tag_start.saturating_sub(n);
        self.stanza_start = self.stanza_start.saturating_sub(n);
    }

    /// Scans `input` (everything received and not consumed) for the next frame.
    pub fn next(&mut self, input: &[u8]) -> Result<Frame, XmlError> {
        while self.pos < input.len() {
            let b = input[self.pos];
            match self.scan {
                Scan::Text => {
                    if b == b'<' {
                        self.scan = Scan::Tag(None);
                        self.tag_start = self.pos;
                    } else if self.depth <= 1 && !b.is_ascii_whitespace() {
                        // Text directly in the stream (or before it) is not allowed.
                        return Err(XmlError::NotWellFormed);
                    } else if self.depth <= 1 {
                        // Whitespace between stanzas is a keepalive: hand it back at once so
                        // the buffer empties.
                        self.pos += 1;
                        if self.pos == input.len() || input[self.pos] == b'<' {
                            let n = self.pos;
                            return Ok(Frame::Whitespace(n));
                        }
                        continue;
                    }
                }
                Scan::Cdata => {
                    if b == b'>' && self.pos >= 2 && &input[self.pos - 2..self.pos] == b"]]" {
                        self.scan = Scan::Text;
                    }
                }
                Scan::Tag(quote) => {
                    let len = self.pos - self.tag_start;
                    if len == 1 && (b == b'?' || b == b'!') {
                        // `<?xml ...?>` before the header is the only one allowed; `<![CDATA[`
                        // inside a stanza is ordinary XML; anything else (comment, DOCTYPE,
                        // processing instruction) is refused.
                        if b == b'?' && self.depth == 0 {
                            // scanned as a tag; checked when it ends
                        } else if b == b'!' && self.depth >= 2 {
                            // may be CDATA, checked at the next byte
                        } else {
                            return Err(XmlError::RestrictedXml);
                        }
                    } else if len == 2 && input[self.tag_start + 1] == b'!' {
                        if b != b'[' {
                            return Err(XmlError::RestrictedXml);
                        }
                    } else if len == 8 && input[self.tag_start + 1] == b'!' {
                        if &input[self.tag_start..=self.pos] != b"<![CDATA[" {
                            return Err(XmlError::RestrictedXml);
                        }
                        self.scan = Scan::Cdata;
                    } else if let Some(q) = quote {
                        if b == q {
                            self.scan = Scan::Tag(None);
                        }
                    } else if b == b'"' || b == b'\'' {
                        self.scan = Scan::Tag(Some(b));
                    } else if b == b'<' {
                        return Err(XmlError::NotWellFormed);
                    } else if b == b'>' {
                        self.pos += 1;
                        self.scan = Scan::Text;
                        if let Some(frame) = self.tag_ended(input)? {
                            return Ok(frame);
                        }
                        continue;
                    }
                    if self.depth < 2 && self.pos - self.tag_start >= XMPP_MAX_HEADER {
                        return Err(XmlError::PolicyViolation);
                    }
                }
            }
            self.pos += 1;
            if self.depth >= 2 && self.pos - self.stanza_start > XMPP_MAX_STANZA {
                return Err(XmlError::PolicyViolation);
            }
        }
        Ok(Frame::Incomplete)
    }

    /// A tag ended at `self.pos - 1`: track depth and say whether a frame is complete.
    fn tag_ended(&mut self, input: &[u8]) -> Result<Option<Frame>, XmlError> {
        let tag = &input[self.tag_start..self.pos];
        if tag.starts_with(b"<?") {
            // The XML declaration before the header; skipped with it.
            if !tag.starts_with(b"<?xml ") || !tag.ends_with(b"?>") {
                return Err(XmlError::RestrictedXml);
            }
            return Ok(None);
        }
        if tag.starts_with(b"</") {
            if self.depth >= 2 {
                let (at, len) = self.open[self.depth - 2];
                let start = self.stanza_start + at as usize;
                let opened = &input[start..start + len as usize];
                if tag_name(&tag[2..]) != opened {
                    return Err(XmlError::NotWellFormed);
                }
            }
            match self.depth {
                0 => return Err(XmlError::NotWellFormed),
                1 => {
                    self.depth = 0;
                    return Ok(Some(Frame::Close(self.pos)));
                }
                2 => {
                    self.depth = 1;
                    return Ok(Some(Frame::Stanza(self.stanza_start, self.pos)));
                }
                _ => self.depth -= 1,
            }
            return Ok(None);
        }
        let empty = tag.ends_with(b"/>");
        match (self.depth, empty) {
            (0, true) => Err(XmlError::NotWellFormed),
            (0, false) => {
                self.depth = 1;
                Ok(Some(Frame::Header(self.pos)))
            }
            (1, true) => Ok(Some(Frame::Stanza(self.tag_start, self.pos))),
            (1, false) => {
                self.depth = 2;
                self.stanza_start = self.tag_start;
                self.remember_name(tag);
                Ok(None)
            }
            (_, true) => Ok(None),
            (d, false) => {
                if d + 1 > XMPP_MAX_DEPTH {
                    return Err(XmlError::PolicyViolation);
                }
                self.depth = d + 1;
                self.remember_name(tag);
                Ok(None)
            }
        }
    }

    /// Records the name of the start tag `tag` (at `self.tag_start`) for depth `self.depth`.
    fn remember_name(&mut self, tag: &[u8]) {
        let name = tag_name(&tag[1..]);
        // Both fit: a stanza is at most XMPP_MAX_STANZA (16 KiB) long.
        let at = (self.tag_start + 1 - self.stanza_start) as u16;
        self.open[self.depth - 2] = (at, name.len() as u16);
    }
}

/// The element name at the start of `rest` (after `<` or `</`).
fn tag_name(rest: &[u8]) -> &[u8] {
    let end = rest
        .iter()
        .position(|b| b.is_ascii_whitespace() || *b == b'/' || *b == b'>')
        .unwrap_or(rest.len());
    &rest[..end]
}

/// One parsed element: its local name, resolved namespace, attributes (namespace declarations
/// left out), children and text.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Element {
    /// Local name (`message`, `query`).
    pub name: String,
    /// Resolved namespace URI.
    pub ns: String,
    /// Attributes other than `xmlns` and `xmlns:*`, names as written (`xml:lang` keeps its
    /// prefix), values unescaped.
    pub attrs: Vec<(String, String)>,
    /// Child elements in order.
    pub children: Vec<Element>,
    /// The element's own character data, concatenated (mixed content keeps no positions).
    pub text: String,
}

impl Element {
    /// A new element without attributes or content.
    pub fn new(name: &str, ns: &str) -> Element {
        Element {
            name: name.into(),
            ns: ns.into(),
            ..Default::default()
        }
    }

    /// Adds an attribute (builder style).
    pub fn attr(mut self, name: &str, value: &str) -> Element {
        self.set_attr(name, value);
        self
    }

    /// Adds a child (builder style).
    pub fn child(mut self, c: Element) -> Element {
        self.children.push(c);
        self
    }

    /// Sets the text (builder style).
    pub fn with_text(mut self, t: &str) -> Element {
        self.text = t.into();
        self
    }

    /// The value of attribute `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Sets (or replaces) an attribute.
    pub fn set_attr(&mut self, name: &str, value: &str) {
        match self.attrs.iter_mut().find(|(n, _)| n == name) {
            Some((_, v)) => *v = value.into(),
            None => self.attrs.push((name.into(), value.into())),
        }
    }

    /// Removes an attribute.
    pub fn remove_attr(&mut self, name: &str) {
        self.attrs.retain(|(n, _)| n != name);
    }

    /// The first child named `name` in namespace `ns`.
    pub fn find(&self, name: &str, ns: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name && c.ns == ns)
    }

    /// Writes the element as XML, declaring its namespace when it differs from `parent_ns`.
    pub fn write(&self, out: &mut String, parent_ns: &str) {
        out.push('<');
        out.push_str(&self.name);
        if self.ns != parent_ns {
            out.push_str(" xmlns='");
            escape_into(out, &self.ns);
            out.push('\'');
        }
        for (n, v) in &self.attrs {
            out.push(' ');
            out.push_str(n);
            out.push_str("='");
            escape_into(out, v);
            out.push('\'');
        }
        if self.children.is_empty() && self.text.is_empty() {
            out.push_str("/>");
            return;
        }
        out.push('>');
        escape_into(out, &self.text);
        for c in &self.children {
            c.write(out, &self.ns);
        }
        out.push_str("</");
        out.push_str(&self.name);
        out.push('>');
    }

    /// The element as XML in a stream whose default namespace is `jabber:client`.
    pub fn to_xml(&self) -> String {
        let mut s = String::with_capacity(256);
        self.write(&mut s, NS_CLIENT);
        s
    }
}

/// Appends `s` with `& < > ' "` escaped.
pub fn escape_into(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\'' => out.push_str("&apos;"),
            '"' => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
}

/// `s` escaped for XML text or an attribute value.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    escape_into(&mut out, s);
    out
}

/// Whether `c` may appear in an XML 1.0 document (the `Char` production). A NUL or another
/// control character relayed to a client would end that client's stream, so none gets in.
fn xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

fn checked(s: &str) -> Result<&str, XmlError> {
    if s.chars().all(xml_char) {
        Ok(s)
    } else {
        Err(XmlError::NotWellFormed)
    }
}

/// Namespace prefixes in scope: (prefix, uri), innermost last.
type Scope = Vec<(String, String)>;

fn lookup<'a>(scope: &'a Scope, prefix: &str) -> Option<&'a str> {
    scope
        .iter()
        .rev()
        .find(|(p, _)| p == prefix)
        .map(|(_, u)| u.as_str())
}

/// Reads a start tag: its name, namespace declarations (pushed onto `scope`) and attributes.
fn open(
    start: &quick_xml::events::BytesStart<'_>,
    scope: &mut Scope,
) -> Result<(String, Element), XmlError> {
    let qname =
        checked(std::str::from_utf8(start.name().as_ref()).map_err(|_| XmlError::NotWellFormed)?)?
            .to_string();
    let mut el = Element::default();
    for a in start.attributes().with_checks(true) {
        let a = a.map_err(|_| XmlError::NotWellFormed)?;
        let key = std::str::from_utf8(a.key.as_ref()).map_err(|_| XmlError::NotWellFormed)?;
        let value = a.unescape_value().map_err(|_| XmlError::NotWellFormed)?;
        let value = checked(&value)?.to_string();
        if key == "xmlns" {
            scope.push((String::new(), value));
        } else if let Some(p) = key.strip_prefix("xmlns:") {
            scope.push((p.to_string(), value));
        } else {
            el.attrs.push((key.to_string(), value));
        }
    }
    let (prefix, local) = match qname.split_once(':') {
        Some((p, l)) => (p, l),
        None => ("", qname.as_str()),
    };
    el.name = local.to_string();
    el.ns = lookup(scope, prefix)
        .ok_or(XmlError::NotWellFormed)?
        .to_string();
    Ok((qname, el))
}

/// The stream header's attributes and namespace of `<stream:stream ...>`.
#[derive(Debug, Default)]
pub struct Header {
    /// The header element itself (no children); `ns` is the stream element's namespace.
    pub element: Element,
    /// The default namespace it declared (`jabber:client` for a client).
    pub default_ns: String,
}

/// Parses the stream header (the bytes of `Frame::Header`).
pub fn parse_header(bytes: &[u8]) -> Result<Header, XmlError> {
    let text = std::str::from_utf8(bytes).map_err(|_| XmlError::NotWellFormed)?;
    let mut reader = quick_xml::Reader::from_str(text);
    loop {
        match reader.read_event() {
            Ok(Event::Decl(_)) | Ok(Event::Text(_)) => continue,
            Ok(Event::Start(s)) => {
                let mut scope: Scope = vec![("xml".into(), "xml".into())];
                let base = scope.len();
                let (_, element) = open(&s, &mut scope)?;
                let default_ns = scope[base..]
                    .iter()
                    .rev()
                    .find(|(p, _)| p.is_empty())
                    .map(|(_, u)| u.clone())
                    .unwrap_or_default();
                return Ok(Header {
                    element,
                    default_ns,
                });
            }
            Ok(Event::DocType(_)) | Ok(Event::Comment(_)) | Ok(Event::PI(_)) => {
                return Err(XmlError::RestrictedXml);
            }
            _ => return Err(XmlError::NotWellFormed),
        }
    }
}

/// Parses one complete stanza (the bytes of `Frame::Stanza`) in a stream whose default namespace
/// is `default_ns` and whose `stream` prefix is bound to the streams namespace.
pub fn parse_stanza(bytes: &[u8], default_ns: &str) -> Result<Element, XmlError> {
    let text = std::str::from_utf8(bytes).map_err(|_| XmlError::NotWellFormed)?;
    let mut reader = quick_xml::Reader::from_str(text);
    reader.config_mut().check_end_names = true;
    let mut scope: Scope = vec![
        ("xml".into(), "xml".into()),
        ("stream".into(), NS_STREAMS.into()),
        (String::new(), default_ns.into()),
    ];
    // Open elements with the scope length before each, innermost last.
    let mut stack: Vec<(Element, usize)> = Vec::new();
    loop {
        let ev = reader.read_event().map_err(|_| XmlError::NotWellFormed)?;
        match ev {
            Event::Start(s) => {
                let before = scope.len();
                let (_, el) = open(&s, &mut scope)?;
                stack.push((el, before));
            }
            Event::Empty(s) => {
                let before = scope.len();
                let (_, el) = open(&s, &mut scope)?;
                scope.truncate(before);
                match stack.last_mut() {
                    Some((parent, _)) => parent.children.push(el),
                    None => return Ok(el),
                }
            }
            Event::End(_) => {
                let (el, before) = stack.pop().ok_or(XmlError::NotWellFormed)?;
                scope.truncate(before);
                match stack.last_mut() {
                    Some((parent, _)) => parent.children.push(el),
                    None => return Ok(el),
                }
            }
            Event::Text(t) => {
                let (el, _) = stack.last_mut().ok_or(XmlError::NotWellFormed)?;
                let s = t.decode().map_err(|_| XmlError::NotWellFormed)?;
                el.text.push_str(checked(&s)?);
            }
            Event::CData(t) => {
                let (el, _) = stack.last_mut().ok_or(XmlError::NotWellFormed)?;
                let s = t.decode().map_err(|_| XmlError::NotWellFormed)?;
                el.text.push_str(checked(&s)?);
            }
            Event::GeneralRef(r) => {
                let (el, _) = stack.last_mut().ok_or(XmlError::NotWellFormed)?;
                if let Some(c) = r.resolve_char_ref().map_err(|_| XmlError::NotWellFormed)? {
                    if !xml_char(c) {
                        return Err(XmlError::NotWellFormed);
                    }
                    el.text.push(c);
                } else {
                    // Only the five predefined entities exist: there is no DTD to declare more.
                    let name = r.decode().map_err(|_| XmlError::NotWellFormed)?;
                    el.text.push(match name.as_ref() {
                        "amp" => '&',
                        "lt" => '<',
                        "gt" => '>',
                        "apos" => '\'',
                        "quot" => '"',
                        _ => return Err(XmlError::NotWellFormed),
                    });
                }
            }
            Event::Comment(_) | Event::PI(_) | Event::DocType(_) | Event::Decl(_) => {
                return Err(XmlError::RestrictedXml);
            }
            Event::Eof => return Err(XmlError::NotWellFormed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(input: &[u8]) -> Result<Vec<Frame>, XmlError> {
        let mut f = Framer::new();
        let mut buf = input.to_vec();
        let mut out = Vec::new();
        loop {
            match f.next(&buf)? {
                Frame::Incomplete => return Ok(out),
                fr => {
                    let n = match fr {
                        Frame::Header(n) | Frame::Close(n) | Frame::Whitespace(n) => n,
                        Frame::Stanza(_, e) => e,
                        Frame::Incomplete => unreachable!(),
                    };
                    buf.drain(..n);
                    f.consume(n);
                    out.push(fr);
                }
            }
        }
    }

    #[test]
    fn frames_a_stream() {
        let s = b"<?xml version='1.0'?><stream:stream to='x' xmlns='jabber:client' \
                  xmlns:stream='http://etherx.jabber.org/streams' version='1.0'> \
                  <message a='>'><body>hi &amp; <![CDATA[<b>]]></body></message><r/>\
                  </stream:stream>";
        let f = frames(s).unwrap();
        assert!(matches!(f[0], Frame::Header(_)));
        assert!(matches!(f[1], Frame::Whitespace(1)));
        assert!(matches!(f[2], Frame::Stanza(0, _)));
        assert!(matches!(f[3], Frame::Stanza(0, 4)));
        assert!(matches!(f[4], Frame::Close(16)));
    }

    #[test]
    fn resumes_across_reads() {
        let mut f = Framer::new();
        let all = b"<stream:stream xmlns='jabber:client'><iq id='1'><ping/></iq>";
        let mut got = Vec::new();
        let mut buf = Vec::new();
        for b in all {
            buf.push(*b);
            match f.next(&buf).unwrap() {
                Frame::Incomplete => {}
                Frame::Header(n) => {
                    buf.drain(..n);
                    f.consume(n);
                    got.push("h");
                }
                Frame::Stanza(s, e) => {
                    assert_eq!(&buf[s..e], b"<iq id='1'><ping/></iq>");
                    got.push("s");
                }
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(got, ["h", "s"]);
    }

    #[test]
    fn refuses_restricted_and_oversized() {
        let head = "<stream:stream xmlns='jabber:client'>";
        for (body, want) in [
            ("<!DOCTYPE x [<!ENTITY a 'b'>]>", XmlError::RestrictedXml),
            ("<!-- c -->", XmlError::RestrictedXml),
            ("<message><!-- c --></message>", XmlError::RestrictedXml),
            ("<?pi x?>", XmlError::RestrictedXml),
            ("hello", XmlError::NotWellFormed),
            ("<a<b>", XmlError::NotWellFormed),
            ("<message><body>x</message>", XmlError::NotWellFormed),
        ] {
            let r = frames(format!("{head}{body}").as_bytes());
            assert_eq!(r, Err(want), "{body}");
        }
        let deep = "<a>".repeat(XMPP_MAX_DEPTH);
        assert_eq!(
            frames(format!("{head}{deep}").as_bytes()),
            Err(XmlError::PolicyViolation)
        );
        let big = format!("{head}<message><body>{}", "x".repeat(XMPP_MAX_STANZA));
        assert_eq!(frames(big.as_bytes()), Err(XmlError::PolicyViolation));
    }

    /// Random token soup through the framer and the parser, fed in random pieces as reads
    /// would: never a panic, never a frame outside the input, every frame's bytes bounded.
    #[test]
    fn random_input_never_panics() {
        const TOKENS: &[&str] = &[
            "<",
            ">",
            "/>",
            "</",
            "<a",
            "<b x='1'",
            "</a>",
            "</b>",
            "'",
            "\"",
            "=",
            " ",
            "&amp;",
            "&x;",
            "&#65;",
            "&#xZZ;",
            "<![CDATA[",
            "]]>",
            "<!--",
            "<?xml version='1.0'?>",
            "<!DOCTYPE",
            "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>",
            "</stream:stream>",
            "<message>",
            "</message>",
            "<body>",
            "</body>",
            "hi",
            "\u{e9}",
            "<p:q xmlns:p='u'>",
            "</p:q>",
            "xmlns='v'",
            "\u{0}",
            "\n",
        ];
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut rand = move |n: usize| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % n as u64) as usize
        };
        for _ in 0..3000 {
            let mut input = Vec::new();
            for _ in 0..rand(60) {
                input.extend_from_slice(TOKENS[rand(TOKENS.len())].as_bytes());
            }
            let mut f = Framer::new();
            let mut buf: Vec<u8> = Vec::new();
            let mut fed = 0;
            'feed: while fed < input.len() {
                let n = 1 + rand(16).min(input.len() - fed - 1);
                buf.extend_from_slice(&input[fed..fed + n]);
                fed += n;
                loop {
                    let used = match f.next(&buf) {
                        Err(_) => break 'feed,
                        Ok(Frame::Incomplete) => break,
                        Ok(Frame::Header(n)) => {
                            let _ = parse_header(&buf[..n]);
                            n
                        }
                        Ok(Frame::Stanza(s, e)) => {
                            assert!(s <= e && e <= buf.len());
                            assert!(e - s <= XMPP_MAX_STANZA + 1);
                            if let Ok(el) = parse_stanza(&buf[s..e], NS_CLIENT) {
                                let _ = parse_stanza(el.to_xml().as_bytes(), NS_CLIENT).unwrap();
                            }
                            e
                        }
                        Ok(Frame::Close(n)) | Ok(Frame::Whitespace(n)) => n,
                    };
                    assert!(used <= buf.len());
                    buf.drain(..used);
                    f.consume(used);
                }
            }
        }
    }

    #[test]
    fn parses_namespaces_and_entities() {
        let el = parse_stanza(
            b"<message to='b@x' xmlns:c='http://jabber.org/protocol/chatstates'>\
              <body>1 &lt; 2 &#x263A;</body><c:active/><x xmlns='urn:y'><z/></x></message>",
            NS_CLIENT,
        )
        .unwrap();
        assert_eq!((el.name.as_str(), el.ns.as_str()), ("message", NS_CLIENT));
        assert_eq!(el.get("to"), Some("b@x"));
        assert_eq!(el.find("body", NS_CLIENT).unwrap().text, "1 < 2 \u{263A}");
        assert!(
            el.find("active", "http://jabber.org/protocol/chatstates")
                .is_some()
        );
        let x = el.find("x", "urn:y").unwrap();
        assert_eq!(x.children[0].ns, "urn:y");
        assert_eq!(
            el.to_xml(),
            "<message to='b@x'><body>1 &lt; 2 \u{263A}</body>\
             <active xmlns='http://jabber.org/protocol/chatstates'/>\
             <x xmlns='urn:y'><z/></x></message>"
        );
        for bad in [
            &b"<a><b></a>"[..],
            b"<a>&custom;</a>",
            b"<a x='1' x='2'/>",
            b"<p:a/>",
            b"<a>\x01</a>",
            b"<a>&#0;</a>",
            b"<a x='&#1;'/>",
            b"<a>\xff</a>",
        ] {
            assert_eq!(
                parse_stanza(bad, NS_CLIENT),
                Err(XmlError::NotWellFormed),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }
}
