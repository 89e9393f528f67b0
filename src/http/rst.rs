//! The RST.srf multi-token envelope: the `RequestMultipleSecurityTokens` request MSN 7.5, WLM and
//! libpurple send (credentials and one `RequestSecurityToken` per service), and the answer with
//! one `RequestSecurityTokenResponse` per requested service. Pure functions: the handler in
//! `passport.rs` checks the password, issues the tickets and keys (`server::tickets`) and calls
//! `answer` with them.
//!
//! Shapes clients depend on (WLM.md, "quirks"; libpurple `nexus.c`, papyon `SingleSignOn.py`):
//! * libpurple walks the responses with `node->next` and crashes on a whitespace text node, so
//!   the answer has no whitespace between elements.
//! * libpurple files a token by the number in its `BinarySecurityToken` Id (`Compact<n>`, minus
//!   one, as an index into its own list, which starts after `RST0` = `http://Passport.NET/tb`),
//!   so `Compact<n>` answers the request's `RST<n>`; counting positions instead hands it the
//!   wrong ticket per service.
//! * every response echoes the requested address (papyon looks the service up by it and
//!   asserts), and carries `TokenType`, `LifeTime` and a `BinarySecurityToken` (libpurple fails
//!   the login when one lacks it); the `Passport.NET/tb` one carries `EncryptedData` and a
//!   `BinarySecret`, which libpurple base64-decodes unconditionally.

use crate::limits::{HTTP_MAX_BODY, RST_MAX_TOKENS};
use crate::protocol::xml::{self, Bounds, Element, XmlError, escape};
use std::fmt;

/// One `RequestSecurityToken` of the request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenRequest {
    /// The number in its `Id` (`RST3` is 3); its position in the request when the Id has none.
    pub number: u32,
    /// The service's address (`AppliesTo/EndpointReference/Address`), as sent.
    pub address: String,
    /// The policy (`PolicyReference URI`), e.g. `MBI_KEY_OLD`, `MBI`, `?id=507`, if any.
    pub policy: Option<String>,
}

/// Which kind of token a requested address gets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Service {
    /// `http://Passport.NET/tb`: the Passport ticket-granting entry (`EncryptedData` + secret).
    PassportTb,
    /// `messengerclear.live.com`: the MSNP15+ login ticket, with the session key
    /// (`BinarySecret`) the `USR SSO S` answer is checked against.
    MessengerClear,
    /// `messenger.msn.com`: MSN 7.5's (MSNP12) and WLM 8's (MSNP13/14) login ticket for
    /// `USR TWN S`; for MSNP15+ the web/OIM ticket.
    Messenger,
    /// Any other service (contacts.msn.com, storage, spaces, messengersecure ...): a web-service
    /// token (`server::tickets::ServiceTokens`).
    Web,
}

impl Service {
    /// The kind of token `address` gets (host names compared case-insensitively).
    pub fn of(address: &str) -> Service {
        let a = address.trim();
        if a.eq_ignore_ascii_case("http://Passport.NET/tb") {
            Service::PassportTb
        } else if a.eq_ignore_ascii_case("messengerclear.live.com") {
            Service::MessengerClear
        } else if a.eq_ignore_ascii_case("messenger.msn.com") {
            Service::Messenger
        } else {
            Service::Web
        }
    }
}

/// A parsed RST.srf request. `Debug` leaves the password out.
#[derive(Clone, PartialEq, Eq)]
pub struct RstRequest {
    /// `wsse:Username`, as sent.
    pub username: String,
    /// `wsse:Password`, as sent (unescaped).
    pub password: String,
    /// The requested tokens, in request order.
    pub tokens: Vec<TokenRequest>,
}

impl fmt::Debug for RstRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RstRequest")
            .field("username", &self.username)
            .field("tokens", &self.tokens)
            .finish_non_exhaustive()
    }
}

/// Why a request was refused (each is answered with `fault_failed_authentication`, as the
/// service answered anything it could not use).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RstError {
    /// The body is not acceptable XML.
    Xml(XmlError),
    /// No `UsernameToken` with a user name and password.
    NoCredentials,
    /// No `RequestSecurityToken`, or one without an address.
    NoTokens,
    /// More than `RST_MAX_TOKENS`, or two with the same number.
    BadTokens,
}

impl fmt::Display for RstError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RstError::Xml(e) => write!(f, "RST request: {e}"),
            RstError::NoCredentials => f.write_str("RST request without credentials"),
            RstError::NoTokens => f.write_str("RST request without token requests"),
            RstError::BadTokens => f.write_str("RST request with too many or duplicate tokens"),
        }
    }
}

impl std::error::Error for RstError {}

/// Parses an RST.srf request body (MSN 7.5's, WLM's, libpurple's: prefixes vary, see
/// `protocol::xml`).
pub fn parse_request(body: &[u8]) -> Result<RstRequest, RstError> {
    let root = xml::parse(body, &Bounds::with_size(HTTP_MAX_BODY)).map_err(RstError::Xml)?;
    if root.name != "Envelope" {
        return Err(RstError::Xml(XmlError::Malformed("not a SOAP envelope")));
    }
    let user = root
        .path(&["Header", "Security", "UsernameToken"])
        .ok_or(RstError::NoCredentials)?;
    let username = user.child("Username").ok_or(RstError::NoCredentials)?;
    let password = user.child("Password").ok_or(RstError::NoCredentials)?;
    let list = root
        .path(&["Body", "RequestMultipleSecurityTokens"])
        .ok_or(RstError::NoTokens)?;
    let mut tokens: Vec<TokenRequest> = Vec::new();
    for (position, rst) in list.children_named("RequestSecurityToken").enumerate() {
        if tokens.len() == RST_MAX_TOKENS {
            return Err(RstError::BadTokens);
        }
        let address = rst
            .path_text(&["AppliesTo", "EndpointReference", "Address"])
            .filter(|a| !a.is_empty())
            .ok_or(RstError::NoTokens)?;
        let number = rst
            .attr("Id")
            .and_then(|id| id.strip_prefix("RST"))
            .and_then(|n| n.parse::<u32>().ok())
            .unwrap_or(position as u32);
        if tokens.iter().any(|t| t.number == number) {
            return Err(RstError::BadTokens);
        }
        tokens.push(TokenRequest {
            number,
            address: address.to_string(),
            policy: rst
                .child("PolicyReference")
                .and_then(|p| p.attr("URI"))
                .map(str::to_string),
        });
    }
    if tokens.is_empty() {
        return Err(RstError::NoTokens);
    }
    Ok(RstRequest {
        username: username.text().to_string(),
        password: password.text.clone(),
        tokens,
    })
}

/// What the handler issued for one requested token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Issued {
    /// For `Service::PassportTb`: the opaque ticket-granting blob and a secret (both base64).
    PassportTb {
        /// Goes in `EncryptedData/CipherData/CipherValue`.
        cipher: String,
        /// Goes in `RequestedProofToken/BinarySecret`.
        secret: String,
    },
    /// Any other service: the ticket (`t=...&p=...`), and for messengerclear.live.com the
    /// session key in base64 (`auth::sso::SessionKey::to_base64`).
    Ticket {
        /// Goes in `BinarySecurityToken`.
        ticket: String,
        /// Goes in `RequestedProofToken/BinarySecret` when present.
        proof: Option<String>,
    },
}

const ENVELOPE_HEAD: &str = r#"<?xml version="1.0" encoding="utf-8"?><S:Envelope xmlns:S="http://schemas.xmlsoap.org/soap/envelope/"><S:Header><psf:pp xmlns:psf="http://schemas.microsoft.com/Passport/SoapServices/SOAPFault"><psf:serverVersion>1</psf:serverVersion><psf:PUID>0000000000000000</psf:PUID><psf:configVersion>3.0.869.0</psf:configVersion><psf:uiVersion>3.0.869.0</psf:uiVersion><psf:authstate>0x48803</psf:authstate><psf:reqstatus>0x0</psf:reqstatus><psf:serverInfo Path="Live1" RollingUpgradeState="ExclusiveNew" LocVersion="0" ServerTime=""#;
const COLLECTION_HEAD: &str = r#"">msnpd</psf:serverInfo><psf:cookies/><psf:response/></psf:pp></S:Header><S:Body><wst:RequestSecurityTokenResponseCollection xmlns:wst="http://schemas.xmlsoap.org/ws/2004/04/trust" xmlns:wsse="http://schemas.xmlsoap.org/ws/2003/06/secext" xmlns:wsu="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd" xmlns:saml="urn:oasis:names:tc:SAML:1.0:assertion" xmlns:wsp="http://schemas.xmlsoap.org/ws/2002/12/policy" xmlns:psf="http://schemas.microsoft.com/Passport/SoapServices/SOAPFault">"#;
const COLLECTION_TAIL: &str = "</wst:RequestSecurityTokenResponseCollection></S:Body></S:Envelope>";

/// The answer to `request`: one response per requested token, in request order, each numbered
/// as the request numbered it. `issued` is parallel to `request.tokens`; `created`/`expires` are
/// Unix times of the stated lifetime.
pub fn answer(request: &RstRequest, issued: &[Issued], created: u64, expires: u64) -> String {
    use crate::protocol::timestamp::iso_utc;
    let (created, expires) = (iso_utc(created), iso_utc(expires));
    let mut out = String::with_capacity(1024 + 900 * request.tokens.len());
    out.push_str(ENVELOPE_HEAD);
    out.push_str(&created);
    out.push_str(COLLECTION_HEAD);
    for (token, issued) in request.tokens.iter().zip(issued) {
        let n = token.number;
        let address = escape(&token.address);
        let lifetime = format!(
            "<wst:LifeTime><wsu:Created>{created}</wsu:Created><wsu:Expires>{expires}</wsu:Expires></wst:LifeTime>"
        );
        let applies = format!(
            r#"<wsp:AppliesTo xmlns:wsa="http://schemas.xmlsoap.org/ws/2004/03/addressing"><wsa:EndpointReference><wsa:Address>{address}</wsa:Address></wsa:EndpointReference></wsp:AppliesTo>"#
        );
        out.push_str("<wst:RequestSecurityTokenResponse>");
        match issued {
            Issued::PassportTb { cipher, secret } => {
                out.push_str("<wst:TokenType>urn:passport:legacy</wst:TokenType>");
                out.push_str(&applies);
                out.push_str(&lifetime);
                out.push_str(&format!(
                    r##"<wst:RequestedSecurityToken><EncryptedData xmlns="http://www.w3.org/2001/04/xmlenc#" Id="BinaryDAToken{n}" Type="http://www.w3.org/2001/04/xmlenc#Element"><EncryptionMethod Algorithm="http://www.w3.org/2001/04/xmlenc#tripledes-cbc"/><ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:KeyName>http://Passport.NET/STS</ds:KeyName></ds:KeyInfo><CipherData><CipherValue>{cipher}</CipherValue></CipherData></EncryptedData></wst:RequestedSecurityToken><wst:RequestedTokenReference><wsse:KeyIdentifier ValueType="urn:passport"/><wsse:Reference URI="#BinaryDAToken{n}"/></wst:RequestedTokenReference><wst:RequestedProofToken><wst:BinarySecret>{secret}</wst:BinarySecret></wst:RequestedProofToken>"##,
                    cipher = escape(cipher),
                    secret = escape(secret),
                ));
            }
            Issued::Ticket { ticket, proof } => {
                out.push_str("<wst:TokenType>urn:passport:compact</wst:TokenType>");
                out.push_str(&applies);
                out.push_str(&lifetime);
                out.push_str(&format!(
                    r##"<wst:RequestedSecurityToken><wsse:BinarySecurityToken Id="Compact{n}">{ticket}</wsse:BinarySecurityToken></wst:RequestedSecurityToken><wst:RequestedTokenReference><wsse:KeyIdentifier ValueType="urn:passport:compact"/><wsse:Reference URI="#Compact{n}"/></wst:RequestedTokenReference>"##,
                    ticket = escape(ticket),
                ));
                if let Some(proof) = proof {
                    out.push_str(&format!(
                        "<wst:RequestedProofToken><wst:BinarySecret>{}</wst:BinarySecret></wst:RequestedProofToken>",
                        escape(proof)
                    ));
                }
            }
        }
        out.push_str("</wst:RequestSecurityTokenResponse>");
    }
    out.push_str(COLLECTION_TAIL);
    out
}

/// The fault the service answered a wrong password (or an unusable request) with; clients show
/// "wrong password" for it.
pub fn fault_failed_authentication() -> &'static str {
    r#"<?xml version="1.0" encoding="utf-8"?><S:Envelope xmlns:S="http://schemas.xmlsoap.org/soap/envelope/" xmlns:wsse="http://schemas.xmlsoap.org/ws/2003/06/secext" xmlns:psf="http://schemas.microsoft.com/Passport/SoapServices/SOAPFault"><S:Header><psf:pp><psf:serverVersion>1</psf:serverVersion><psf:authstate>0x80048800</psf:authstate><psf:reqstatus>0x80048823</psf:reqstatus></psf:pp></S:Header><S:Fault><faultcode>wsse:FailedAuthentication</faultcode><faultstring>Authentication Failure</faultstring></S:Fault></S:Envelope>"#
}

/// The token of the response for service `address` in a parsed answer (for tests and tools):
/// (`BinarySecurityToken` Id, its text, the `BinarySecret` if any).
pub fn read_answer(doc: &Element) -> Vec<(String, String, Option<String>)> {
    let Some(list) = doc.path(&["Body", "RequestSecurityTokenResponseCollection"]) else {
        return Vec::new();
    };
    list.children_named("RequestSecurityTokenResponse")
        .map(|r| {
            let token = r.path(&["RequestedSecurityToken", "BinarySecurityToken"]);
            let id = token
                .and_then(|t| t.attr("Id"))
                .or_else(|| {
                    r.path(&["RequestedSecurityToken", "EncryptedData"])
                        .and_then(|e| e.attr("Id"))
                })
                .unwrap_or("")
                .to_string();
            let text = token.map_or("", Element::text).to_string();
            let secret = r
                .path_text(&["RequestedProofToken", "BinarySecret"])
                .map(str::to_string);
            (id, text, secret)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// libpurple 2.10.9's request (`nexus.h` templates): an unprefixed envelope, `RST0` for
    /// `Passport.NET/tb`, then its six services numbered from 1, with default namespaces
    /// redeclared on each element.
    fn libpurple_request(password: &str) -> String {
        let domains = [
            ("messengerclear.live.com", "MBI_KEY_OLD"),
            ("messenger.msn.com", "?id=507"),
            ("contacts.msn.com", "MBI"),
            ("messengersecure.live.com", "MBI_SSL"),
            ("storage.live.com", "MBI"),
            ("sup.live.com", "MBI"),
        ];
        let mut rsts = String::new();
        for (i, (d, p)) in domains.iter().enumerate() {
            rsts.push_str(&format!(
                r#"<wst:RequestSecurityToken xmlns="http://schemas.xmlsoap.org/ws/2004/04/trust" Id="RST{}"><wst:RequestType>http://schemas.xmlsoap.org/ws/2004/04/security/trust/Issue</wst:RequestType><wsp:AppliesTo xmlns="http://schemas.xmlsoap.org/ws/2002/12/policy"><wsa:EndpointReference xmlns="http://schemas.xmlsoap.org/ws/2004/03/addressing"><wsa:Address>{d}</wsa:Address></wsa:EndpointReference></wsp:AppliesTo><wsse:PolicyReference xmlns="http://schemas.xmlsoap.org/ws/2003/06/secext" URI="{p}"></wsse:PolicyReference></wst:RequestSecurityToken>"#,
                i + 1
            ));
        }
        format!(
            r#"<?xml version='1.0' encoding='utf-8'?><Envelope xmlns="http://schemas.xmlsoap.org/soap/envelope/" xmlns:wsse="http://schemas.xmlsoap.org/ws/2003/06/secext" xmlns:saml="urn:oasis:names:tc:SAML:1.0:assertion" xmlns:wsp="http://schemas.xmlsoap.org/ws/2002/12/policy" xmlns:wsu="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd" xmlns:wsa="http://schemas.xmlsoap.org/ws/2004/03/addressing" xmlns:wssc="http://schemas.xmlsoap.org/ws/2004/04/sc" xmlns:wst="http://schemas.xmlsoap.org/ws/2004/04/trust"><Header><ps:AuthInfo xmlns:ps="http://schemas.microsoft.com/Passport/SoapServices/PPCRL" Id="PPAuthInfo"><ps:HostingApp>{{7108E71A-9926-4FCB-BCC9-9A9D3F32E423}}</ps:HostingApp><ps:BinaryVersion>4</ps:BinaryVersion><ps:UIVersion>1</ps:UIVersion><ps:Cookies></ps:Cookies><ps:RequestParams>AQAAAAIAAABsYwQAAAAxMDMz</ps:RequestParams></ps:AuthInfo><wsse:Security><wsse:UsernameToken Id="user"><wsse:Username>alice@example.com</wsse:Username><wsse:Password>{password}</wsse:Password></wsse:UsernameToken></wsse:Security></Header><Body><ps:RequestMultipleSecurityTokens xmlns:ps="http://schemas.microsoft.com/Passport/SoapServices/PPCRL" Id="RSTS"><wst:RequestSecurityToken Id="RST0"><wst:RequestType>http://schemas.xmlsoap.org/ws/2004/04/security/trust/Issue</wst:RequestType><wsp:AppliesTo><wsa:EndpointReference><wsa:Address>http://Passport.NET/tb</wsa:Address></wsa:EndpointReference></wsp:AppliesTo></wst:RequestSecurityToken>{rsts}</ps:RequestMultipleSecurityTokens></Body></Envelope>"#
        )
    }

    /// MSN 7.5's (MSNP12) request, prefixed and with whitespace, two tokens.
    const MSN75_REQUEST: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<Envelope xmlns="http://schemas.xmlsoap.org/soap/envelope/" xmlns:wsse="http://schemas.xmlsoap.org/ws/2003/06/secext" xmlns:wsp="http://schemas.xmlsoap.org/ws/2002/12/policy" xmlns:wsa="http://schemas.xmlsoap.org/ws/2004/03/addressing" xmlns:wst="http://schemas.xmlsoap.org/ws/2004/04/trust">
  <Header><wsse:Security><wsse:UsernameToken Id="user"><wsse:Username>bob@example.com</wsse:Username><wsse:Password>p&amp;w</wsse:Password></wsse:UsernameToken></wsse:Security></Header>
  <Body><ps:RequestMultipleSecurityTokens xmlns:ps="http://schemas.microsoft.com/Passport/SoapServices/PPCRL" Id="RSTS">
    <wst:RequestSecurityToken Id="RST0"><wst:RequestType>http://schemas.xmlsoap.org/ws/2004/04/security/trust/Issue</wst:RequestType><wsp:AppliesTo><wsa:EndpointReference><wsa:Address>http://Passport.NET/tb</wsa:Address></wsa:EndpointReference></wsp:AppliesTo></wst:RequestSecurityToken>
    <wst:RequestSecurityToken Id="RST1"><wst:RequestType>http://schemas.xmlsoap.org/ws/2004/04/security/trust/Issue</wst:RequestType><wsp:AppliesTo><wsa:EndpointReference><wsa:Address>messenger.msn.com</wsa:Address></wsa:EndpointReference></wsp:AppliesTo><wsse:PolicyReference URI="?id=507"></wsse:PolicyReference></wst:RequestSecurityToken>
  </ps:RequestMultipleSecurityTokens></Body>
</Envelope>"#;

    fn issue_all(req: &RstRequest) -> Vec<Issued> {
        req.tokens
            .iter()
            .map(|t| match Service::of(&t.address) {
                Service::PassportTb => Issued::PassportTb {
                    cipher: "CIPHER".into(),
                    secret: "U0VDUkVU".into(),
                },
                Service::MessengerClear => Issued::Ticket {
                    ticket: format!("t=login{}&p=x", t.number),
                    proof: Some("S0VZ".into()),
                },
                _ => Issued::Ticket {
                    ticket: format!("t=web{}&p=x", t.number),
                    proof: None,
                },
            })
            .collect()
    }

    #[test]
    fn reads_libpurples_request() {
        let req = parse_request(libpurple_request("a&amp;b&lt;").as_bytes()).unwrap();
        assert_eq!(req.username, "alice@example.com");
        assert_eq!(req.password, "a&b<");
        assert_eq!(req.tokens.len(), 7);
        assert_eq!(req.tokens[0].address, "http://Passport.NET/tb");
        assert_eq!(req.tokens[0].number, 0);
        assert_eq!(req.tokens[1].address, "messengerclear.live.com");
        assert_eq!(req.tokens[1].number, 1);
        assert_eq!(req.tokens[1].policy.as_deref(), Some("MBI_KEY_OLD"));
        assert_eq!(req.tokens[3].address, "contacts.msn.com");
        assert_eq!(Service::of(&req.tokens[0].address), Service::PassportTb);
        assert_eq!(Service::of(&req.tokens[1].address), Service::MessengerClear);
        assert_eq!(Service::of(&req.tokens[2].address), Service::Messenger);
        assert_eq!(Service::of(&req.tokens[3].address), Service::Web);
        assert!(!format!("{req:?}").contains("a&b<"), "no password in logs");
    }

    #[test]
    fn answer_is_numbered_as_requested_and_has_no_whitespace() {
        let req = parse_request(libpurple_request("pw").as_bytes()).unwrap();
        let body = answer(&req, &issue_all(&req), 1_244_289_600, 1_244_376_000);
        assert!(
            !body.contains("> ") && !body.contains(" <") && !body.contains('\n'),
            "no whitespace text nodes between elements"
        );
        assert!(body.contains("<wsu:Created>2009-06-06T12:00:00Z</wsu:Created>"));
        let doc = xml::parse(body.as_bytes(), &Bounds::with_size(64 * 1024)).unwrap();
        let got = read_answer(&doc);
        assert_eq!(got.len(), 7, "one response per requested token");
        assert_eq!(got[0].0, "BinaryDAToken0");
        assert_eq!(got[0].2.as_deref(), Some("U0VDUkVU"), "tb carries a secret");
        // libpurple's index: atol(Id + 7) - 1 must be the domain's index in its request.
        for (i, (id, text, secret)) in got.iter().enumerate().skip(1) {
            assert_eq!(id, &format!("Compact{i}"));
            let index: usize = id[7..].parse::<usize>().unwrap() - 1;
            assert_eq!(index, i - 1);
            let kind = if i == 1 { "login" } else { "web" };
            assert_eq!(
                text,
                &format!("t={kind}{i}&p=x"),
                "the ampersand round-trips"
            );
            assert_eq!(secret.is_some(), i == 1, "only messengerclear has a proof");
        }
        // Each response echoes its address, as papyon requires.
        let list = doc
            .path(&["Body", "RequestSecurityTokenResponseCollection"])
            .unwrap();
        let addresses: Vec<_> = list
            .children
            .iter()
            .map(|r| {
                r.path_text(&["AppliesTo", "EndpointReference", "Address"])
                    .unwrap()
            })
            .collect();
        let requested: Vec<_> = req.tokens.iter().map(|t| t.address.as_str()).collect();
        assert_eq!(addresses, requested);
        assert!(
            list.children
                .iter()
                .all(|r| r.path_text(&["LifeTime", "Expires"]) == Some("2009-06-07T12:00:00Z"))
        );
    }

    #[test]
    fn reads_msn75s_request_and_numbers_by_id_not_position() {
        let req = parse_request(MSN75_REQUEST.as_bytes()).unwrap();
        assert_eq!(req.username, "bob@example.com");
        assert_eq!(req.password, "p&w");
        assert_eq!(req.tokens.len(), 2);
        assert_eq!(Service::of(&req.tokens[1].address), Service::Messenger);

        // A request that numbers from 5 gets Compact5, not Compact1.
        let odd = MSN75_REQUEST.replace("Id=\"RST1\"", "Id=\"RST5\"");
        let req = parse_request(odd.as_bytes()).unwrap();
        let body = answer(&req, &issue_all(&req), 0, 1);
        assert!(body.contains(r#"Id="Compact5""#) && !body.contains("Compact1"));
    }

    #[test]
    fn refuses_unusable_requests() {
        let no_user = MSN75_REQUEST.replace("<wsse:Username>bob@example.com</wsse:Username>", "");
        assert_eq!(
            parse_request(no_user.as_bytes()),
            Err(RstError::NoCredentials)
        );
        let no_tokens = MSN75_REQUEST
            .split("<wst:RequestSecurityToken Id")
            .next()
            .unwrap()
            .to_string()
            + "</ps:RequestMultipleSecurityTokens></Body></Envelope>";
        assert_eq!(parse_request(no_tokens.as_bytes()), Err(RstError::NoTokens));
        let dup = MSN75_REQUEST.replace("Id=\"RST1\"", "Id=\"RST0\"");
        assert_eq!(parse_request(dup.as_bytes()), Err(RstError::BadTokens));
        let extra: String = (10..30)
            .map(|i| format!("<wst:RequestSecurityToken Id=\"RST{i}\"><wsp:AppliesTo><wsa:EndpointReference><wsa:Address>x</wsa:Address></wsa:EndpointReference></wsp:AppliesTo></wst:RequestSecurityToken>"))
            .collect();
        let many = libpurple_request("pw").replace(
            "</ps:RequestMultipleSecurityTokens>",
            &format!("{extra}</ps:RequestMultipleSecurityTokens>"),
        );
        assert_eq!(parse_request(many.as_bytes()), Err(RstError::BadTokens));
        assert!(matches!(
            parse_request(b"<!DOCTYPE x><x/>"),
            Err(RstError::Xml(XmlError::Doctype))
        ));
        assert!(matches!(parse_request(b"<Other/>"), Err(RstError::Xml(_))));
        assert!(parse_request(&vec![b' '; HTTP_MAX_BODY + 1]).is_err());
        let fault = xml::parse(
            fault_failed_authentication().as_bytes(),
            &Bounds::with_size(4096),
        )
        .unwrap();
        assert_eq!(
            fault.path_text(&["Fault", "faultcode"]),
            Some("wsse:FailedAuthentication")
        );
    }

    #[test]
    fn a_client_answers_the_nonce_with_the_key_from_the_answer() {
        use crate::auth::sso::{self, SessionKey};
        let req = parse_request(libpurple_request("pw").as_bytes()).unwrap();
        let key = SessionKey::random();
        let mut issued = issue_all(&req);
        issued[1] = Issued::Ticket {
            ticket: "t=login&p=x".into(),
            proof: Some(key.to_base64()),
        };
        let body = answer(&req, &issued, 0, 1);
        let doc = xml::parse(body.as_bytes(), &Bounds::with_size(64 * 1024)).unwrap();
        // As libpurple: the messengerclear token is the one numbered 1.
        let (_, ticket, secret) = read_answer(&doc)
            .into_iter()
            .find(|(id, _, _)| id == "Compact1")
            .unwrap();
        assert_eq!(ticket, "t=login&p=x");
        let nonce = sso::new_nonce();
        let response = sso::client::client_answer(&secret.unwrap(), &nonce);
        assert_eq!(sso::verify(&key, &nonce, &response), Ok(()));
        assert!(sso::verify(&SessionKey::random(), &nonce, &response).is_err());
    }
}
