//! The payloads of `UUX` (client to server: personal message, current media, machine GUID, and
//! from MSNP16 the endpoint data) and of `UBX` (server to watchers: the same, as one `<Data>`).
//!
//! ```text
//! <Data><PSM>hi</PSM><CurrentMedia></CurrentMedia><MachineGuid>{F26D1F07-...}</MachineGuid></Data>
//! <EndpointData><Capabilities>2789003324:48</Capabilities></EndpointData>
//! <PrivateEndpointData><EpName>PC</EpName><Idle>false</Idle><ClientType>1</ClientType><State>NLN</State></PrivateEndpointData>
//! ```
//!
//! A `UUX` carries one of the three roots (libpurple sends them as separate `UUX` commands; WLM
//! 2009 may send `EndpointData` and `PrivateEndpointData` inside one `<Data>`, also read). The
//! `UBX` about a contact lists each of its endpoints' `EndpointData` with the endpoint's GUID;
//! the `UBX` about oneself (MPOP, MSNP16+) also carries each endpoint's `PrivateEndpointData`.
//! Strings are cut to `MAX_PSM_CHARS` characters. No I/O here.

use super::xml::{self, Bounds, Element, XmlError, escape_into};
use crate::limits::{MAX_PSM_CHARS, MAX_UUX_PAYLOAD};

/// What a user shows beside their name (the `<Data>` part).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PersonalData {
    /// Personal message (`PSM`).
    pub psm: String,
    /// Now playing (`CurrentMedia`), in the client's `\0`-separated format, passed through.
    pub current_media: String,
    /// The sending machine's GUID (`MachineGuid`, with braces), MSNP13+.
    pub machine_guid: String,
}

/// One endpoint's public data (`EndpointData`): what every watcher sees.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EndpointData {
    /// `caps:capsex` as the client wrote it (`Capabilities`).
    pub capabilities: String,
}

/// One endpoint's private data (`PrivateEndpointData`): only the account's own endpoints see it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PrivateEndpointData {
    /// The endpoint's name (`EpName`), e.g. the computer's.
    pub name: String,
    /// `Idle`.
    pub idle: bool,
    /// `ClientType` (1 for a PC client).
    pub client_type: u32,
    /// `State`: the endpoint's status code (`NLN`, `BSY` ...).
    pub state: String,
}

/// A parsed `UUX` payload: any of the three parts it may carry.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Uux {
    /// The `<Data>` fields, when the payload is a `<Data>` (each `None` when absent: a `UUX`
    /// that leaves the PSM out does not clear it).
    pub psm: Option<String>,
    /// `CurrentMedia`, when present.
    pub current_media: Option<String>,
    /// `MachineGuid`, when present.
    pub machine_guid: Option<String>,
    /// `EndpointData`, when present.
    pub endpoint: Option<EndpointData>,
    /// `PrivateEndpointData`, when present.
    pub private_endpoint: Option<PrivateEndpointData>,
}

/// Why a payload was refused (the client gets `241`, or is disconnected, as the handler decides).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UuxError {
    /// Not acceptable XML.
    Xml(XmlError),
    /// A root other than `Data`, `EndpointData` or `PrivateEndpointData`, or a bad field.
    Invalid,
}

impl std::fmt::Display for UuxError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            UuxError::Xml(e) => write!(f, "UUX payload: {e}"),
            UuxError::Invalid => f.write_str("UUX payload: invalid"),
        }
    }
}

impl std::error::Error for UuxError {}

fn cut(s: &str) -> String {
    s.chars().take(MAX_PSM_CHARS).collect()
}

fn field(el: &Element, name: &str) -> Option<String> {
    // Kept as sent (not trimmed): a PSM may start with a space.
    el.child(name).map(|c| cut(&c.text))
}

fn endpoint_of(el: &Element) -> EndpointData {
    EndpointData {
        capabilities: el
            .child("Capabilities")
            .map_or(String::new(), |c| cut(c.text())),
    }
}

fn private_of(el: &Element) -> Result<PrivateEndpointData, UuxError> {
    let client_type = match el.child("ClientType").map(Element::text) {
        None | Some("") => 1,
        Some(t) => t.parse().map_err(|_| UuxError::Invalid)?,
    };
    Ok(PrivateEndpointData {
        name: el.child("EpName").map_or(String::new(), |c| cut(c.text())),
        idle: el
            .child("Idle")
            .is_some_and(|c| c.text().eq_ignore_ascii_case("true")),
        client_type,
        state: el.child("State").map_or(String::new(), |c| cut(c.text())),
    })
}

/// Parses a `UUX` payload. An empty payload (length 0, which clients send to clear) is `Ok`
/// with nothing set.
pub fn parse(payload: &[u8]) -> Result<Uux, UuxError> {
    if payload.iter().all(u8::is_ascii_whitespace) {
        return Ok(Uux::default());
    }
    let root = xml::parse(payload, &Bounds::with_size(MAX_UUX_PAYLOAD)).map_err(UuxError::Xml)?;
    let mut uux = Uux::default();
    match root.name.as_str() {
        "Data" => {
            uux.psm = field(&root, "PSM");
            uux.current_media = field(&root, "CurrentMedia");
            uux.machine_guid = root.child("MachineGuid").map(|c| cut(c.text()));
            if let Some(e) = root.child("EndpointData") {
                uux.endpoint = Some(endpoint_of(e));
            }
            if let Some(p) = root.child("PrivateEndpointData") {
                uux.private_endpoint = Some(private_of(p)?);
            }
        }
        "EndpointData" => uux.endpoint = Some(endpoint_of(&root)),
        "PrivateEndpointData" => uux.private_endpoint = Some(private_of(&root)?),
        _ => return Err(UuxError::Invalid),
    }
    Ok(uux)
}

/// One endpoint of an account, as a `UBX` lists it (MSNP16+).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint<'a> {
    /// The endpoint's machine GUID, with braces.
    pub guid: &'a str,
    /// Its public data.
    pub data: &'a EndpointData,
    /// Its private data: written only in the `UBX` to the account's own endpoints.
    pub private: Option<&'a PrivateEndpointData>,
}

fn element(out: &mut String, name: &str, text: &str) {
    out.push('<');
    out.push_str(name);
    out.push('>');
    escape_into(out, text);
    out.push_str("</");
    out.push_str(name);
    out.push('>');
}

/// The `UBX` payload about a user: their personal data and, from MSNP16, their endpoints
/// (private data included only where given, i.e. for the user's own endpoints).
pub fn write_ubx(data: &PersonalData, endpoints: &[Endpoint<'_>]) -> String {
    let mut out = String::with_capacity(128 + data.psm.len() + data.current_media.len());
    out.push_str("<Data>");
    element(&mut out, "PSM", &data.psm);
    element(&mut out, "CurrentMedia", &data.current_media);
    element(&mut out, "MachineGuid", &data.machine_guid);
    for e in endpoints {
        out.push_str("<EndpointData id=\"");
        escape_into(&mut out, e.guid);
        out.push_str("\">");
        element(&mut out, "Capabilities", &e.data.capabilities);
        out.push_str("</EndpointData>");
        if let Some(p) = e.private {
            out.push_str("<PrivateEndpointData id=\"");
            escape_into(&mut out, e.guid);
            out.push_str("\">");
            element(&mut out, "EpName", &p.name);
            element(&mut out, "Idle", if p.idle { "true" } else { "false" });
            element(&mut out, "ClientType", &p.client_type.to_string());
            element(&mut out, "State", &p.state);
            out.push_str("</PrivateEndpointData>");
        }
    }
    out.push_str("</Data>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_three_forms() {
        let data = parse(br#"<Data><PSM> hi &amp; bye</PSM><CurrentMedia>\0Music\01\0{0} - {1}\0Song\0Artist\0\0</CurrentMedia><MachineGuid>{F26D1F07-95E2-403C-BC18-D4BFED493428}</MachineGuid><DDP></DDP><SignatureSound></SignatureSound></Data>"#).unwrap();
        assert_eq!(data.psm.as_deref(), Some(" hi & bye"));
        assert!(data.current_media.unwrap().contains("Song"));
        assert_eq!(
            data.machine_guid.as_deref(),
            Some("{F26D1F07-95E2-403C-BC18-D4BFED493428}")
        );
        assert_eq!(data.endpoint, None);

        let ep = parse(b"<EndpointData><Capabilities>2789003324:48</Capabilities></EndpointData>")
            .unwrap();
        assert_eq!(ep.endpoint.unwrap().capabilities, "2789003324:48");
        assert_eq!(ep.psm, None, "an endpoint UUX leaves the PSM alone");

        let private = parse(b"<PrivateEndpointData><EpName>Lab PC</EpName><Idle>true</Idle><ClientType>1</ClientType><State>BSY</State></PrivateEndpointData>").unwrap();
        assert_eq!(
            private.private_endpoint,
            Some(PrivateEndpointData {
                name: "Lab PC".into(),
                idle: true,
                client_type: 1,
                state: "BSY".into()
            })
        );
        assert_eq!(parse(b"").unwrap(), Uux::default());
        let only_psm = parse(b"<Data><PSM></PSM></Data>").unwrap();
        assert_eq!(only_psm.psm.as_deref(), Some(""));
        assert_eq!(only_psm.current_media, None);
    }

    #[test]
    fn refuses_and_cuts() {
        assert_eq!(parse(b"<Other/>"), Err(UuxError::Invalid));
        assert!(matches!(parse(b"<Data><PSM>"), Err(UuxError::Xml(_))));
        assert_eq!(
            parse(b"<PrivateEndpointData><ClientType>x</ClientType></PrivateEndpointData>"),
            Err(UuxError::Invalid)
        );
        let long = format!("<Data><PSM>{}</PSM></Data>", "é".repeat(500));
        assert_eq!(
            parse(long.as_bytes()).unwrap().psm.unwrap().chars().count(),
            MAX_PSM_CHARS
        );
        let huge = format!("<Data><PSM>{}</PSM></Data>", "x".repeat(MAX_UUX_PAYLOAD));
        assert_eq!(
            parse(huge.as_bytes()),
            Err(UuxError::Xml(XmlError::TooLarge))
        );
        assert!(matches!(
            parse(b"<!DOCTYPE Data [<!ENTITY a 'b'>]><Data/>"),
            Err(UuxError::Xml(XmlError::Doctype))
        ));
    }

    #[test]
    fn ubx_round_trips_and_shows_private_data_only_when_given() {
        let data = PersonalData {
            psm: "at the <party> & more".into(),
            current_media: String::new(),
            machine_guid: "{A}".into(),
        };
        let caps = EndpointData {
            capabilities: "2789003324:48".into(),
        };
        let private = PrivateEndpointData {
            name: "PC".into(),
            idle: false,
            client_type: 1,
            state: "NLN".into(),
        };
        let public = write_ubx(
            &data,
            &[Endpoint {
                guid: "{A}",
                data: &caps,
                private: None,
            }],
        );
        assert!(!public.contains("PrivateEndpointData"));
        let own = write_ubx(
            &data,
            &[Endpoint {
                guid: "{A}",
                data: &caps,
                private: Some(&private),
            }],
        );
        let back = parse(own.as_bytes()).unwrap();
        assert_eq!(back.psm.as_deref(), Some("at the <party> & more"));
        assert_eq!(back.machine_guid.as_deref(), Some("{A}"));
        assert_eq!(back.endpoint, Some(caps));
        assert_eq!(back.private_endpoint, Some(private));
        let root = xml::parse(own.as_bytes(), &Bounds::with_size(4096)).unwrap();
        assert_eq!(root.child("EndpointData").unwrap().attr("id"), Some("{A}"));
        assert_eq!(
            write_ubx(&PersonalData::default(), &[]),
            "<Data><PSM></PSM><CurrentMedia></CurrentMedia><MachineGuid></MachineGuid></Data>"
        );
    }
}
