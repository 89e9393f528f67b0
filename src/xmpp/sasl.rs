//! SASL for XMPP (RFC 6120 6): PLAIN (RFC 4616) against the stored Argon2 hash, and
//! SCRAM-SHA-1 / SCRAM-SHA-256 (RFC 5802, 7677) against the stored SCRAM keys, without channel
//! binding (no `-PLUS`: the client's `n`/`y` flag is accepted, `p=` refused). The login throttle
//! of the MSN side (`server::logins`) counts every attempt.
//!
//! The message parsing and proof checks are pure functions here; `Xmpp::sasl_*` in `session.rs`
//! does the storage and throttle round trips.

use crate::auth::{ScramHash, ScramKey, bytes_eq};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;

/// The SASL namespace.
pub const NS_SASL: &str = "urn:ietf:params:xml:ns:xmpp-sasl";

/// Mechanisms offered (after TLS only), strongest first.
pub const MECHANISMS: [&str; 3] = ["SCRAM-SHA-256", "SCRAM-SHA-1", "PLAIN"];

/// A SASL failure condition (RFC 6120 6.5).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Failure {
    /// Wrong credentials (or an unknown account: the same answer).
    NotAuthorized,
    /// The client's message does not parse.
    MalformedRequest,
    /// A mechanism not offered.
    InvalidMechanism,
    /// An authorization identity other than the account.
    InvalidAuthzid,
    /// Blocked by the login throttle.
    TemporaryAuthFailure,
    /// The client gave up (`<abort/>`).
    Aborted,
    /// SCRAM for an account whose keys were not derived yet; PLAIN once makes them.
    CredentialsExpired,
}

impl Failure {
    /// The condition element's name.
    pub fn condition(self) -> &'static str {
        match self {
            Failure::NotAuthorized => "not-authorized",
            Failure::MalformedRequest => "malformed-request",
            Failure::InvalidMechanism => "invalid-mechanism",
            Failure::InvalidAuthzid => "invalid-authzid",
            Failure::TemporaryAuthFailure => "temporary-auth-failure",
            Failure::Aborted => "aborted",
            Failure::CredentialsExpired => "credentials-expired",
        }
    }
}

/// Base64 of an `<auth/>` or `<response/>` text; `=` alone is the empty message (RFC 6120 6.4.2).
pub fn decode(text: &str) -> Result<Vec<u8>, Failure> {
    let t = text.trim();
    if t == "=" || t.is_empty() {
        return Ok(Vec::new());
    }
    B64.decode(t).map_err(|_| Failure::MalformedRequest)
}

/// Base64 for a challenge or success.
pub fn encode(data: &[u8]) -> String {
    B64.encode(data)
}

/// The account a client names: a bare `user` means `user@domain` of the stream.
pub fn account_of(name: &str, domain: &str) -> Option<String> {
    let full = if name.contains('@') {
        name.to_string()
    } else {
        format!("{name}@{domain}")
    };
    crate::protocol::names::normalize_handle(&full.to_ascii_lowercase())
}

/// PLAIN's `authzid NUL authcid NUL password`: (authzid, authcid, password).
pub fn parse_plain(msg: &[u8]) -> Result<(String, String, String), Failure> {
    let text = std::str::from_utf8(msg).map_err(|_| Failure::MalformedRequest)?;
    let mut parts = text.split('\0');
    let (Some(z), Some(c), Some(p), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(Failure::MalformedRequest);
    };
    if c.is_empty() || p.is_empty() || p.len() > crate::limits::MAX_PASSWORD {
        return Err(Failure::MalformedRequest);
    }
    Ok((z.into(), c.into(), p.into()))
}

/// A SCRAM exchange after the client's first message.
#[derive(Debug)]
pub struct Scram {
    /// The GS2 header (`n,,` or `y,,` with an optional `a=`), which `c=` must repeat.
    gs2_header: String,
    client_first_bare: String,
    server_first: String,
    nonce: String,
    key: ScramKey,
}

/// `saslname` with `=2C` and `=3D` decoded (RFC 5802 5.1).
fn sasl_name(s: &str) -> Result<String, Failure> {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('=') {
        out.push_str(&rest[..i]);
        match rest.get(i..i + 3) {
            Some("=2C") => out.push(','),
            Some("=3D") => out.push('='),
            _ => return Err(Failure::MalformedRequest),
        }
        rest = &rest[i + 3..];
    }
    out.push_str(rest);
    Ok(out)
}

/// The client-first message: (GS2 header, client-first-bare, user name, authzid, client nonce).
#[allow(clippy::type_complexity)]
pub fn parse_client_first(
    msg: &[u8],
) -> Result<(String, String, String, Option<String>, String), Failure> {
    let text = std::str::from_utf8(msg).map_err(|_| Failure::MalformedRequest)?;
    let mut it = text.splitn(3, ',');
    let (Some(flag), Some(authz), Some(bare)) = (it.next(), it.next(), it.next()) else {
        return Err(Failure::MalformedRequest);
    };
    match flag {
        "n" | "y" => {}
        // Channel binding was not offered (no -PLUS mechanism).
        _ => return Err(Failure::MalformedRequest),
    }
    let authzid = match authz {
        "" => None,
        a => Some(sasl_name(
            a.strip_prefix("a=").ok_or(Failure::MalformedRequest)?,
        )?),
    };
    let mut user = None;
    let mut nonce = None;
    for (i, attr) in bare.split(',').enumerate() {
        match (i, attr.split_at_checked(2)) {
            (0, Some(("n=", v))) => user = Some(sasl_name(v)?),
            (1, Some(("r=", v))) if !v.is_empty() && v.bytes().all(|b| b.is_ascii_graphic()) => {
                nonce = Some(v.to_string())
            }
            // Mandatory extensions (`m=`) are unknown to us; others may follow the nonce.
            (i, _) if i >= 2 && !attr.starts_with("m=") => {}
            _ => return Err(Failure::MalformedRequest),
        }
    }
    let (Some(user), Some(nonce)) = (user, nonce) else {
        return Err(Failure::MalformedRequest);
    };
    let gs2_header = format!("{flag},{authz},");
    Ok((gs2_header, bare.to_string(), user, authzid, nonce))
}

impl Scram {
    /// Starts the exchange with `key` (the account's, or a decoy for an unknown account that
    /// fails the same way) and returns it with the server-first message.
    pub fn start(
        gs2_header: String,
        client_first_bare: String,
        client_nonce: &str,
        key: ScramKey,
    ) -> (Scram, String) {
        let nonce = format!("{client_nonce}{}", crate::auth::token(24));
        let server_first = format!("r={nonce},s={},i={}", encode(&key.salt), key.iterations);
        let s = Scram {
            gs2_header,
            client_first_bare,
            server_first: server_first.clone(),
            nonce,
            key,
        };
        (s, server_first)
    }

    /// Checks the client-final message; on success, the server-final message (`v=...`).
    pub fn finish(&self, msg: &[u8]) -> Result<String, Failure> {
        let text = std::str::from_utf8(msg).map_err(|_| Failure::MalformedRequest)?;
        let (without_proof, proof) = text.rsplit_once(",p=").ok_or(Failure::MalformedRequest)?;
        let mut attrs = without_proof.split(',');
        let cbind = attrs
            .next()
            .and_then(|a| a.strip_prefix("c="))
            .ok_or(Failure::MalformedRequest)?;
        let nonce = attrs
            .next()
            .and_then(|a| a.strip_prefix("r="))
            .ok_or(Failure::MalformedRequest)?;
        if decode(cbind)? != self.gs2_header.as_bytes() || nonce != self.nonce {
            return Err(Failure::NotAuthorized);
        }
        let proof = decode(proof)?;
        let auth_message = format!(
            "{},{},{without_proof}",
            self.client_first_bare, self.server_first
        );
        let h = self.key.hash;
        let signature = h.hmac(&self.key.stored_key, auth_message.as_bytes());
        if proof.len() != signature.len() {
            return Err(Failure::NotAuthorized);
        }
        let client_key: Vec<u8> = proof.iter().zip(&signature).map(|(a, b)| a ^ b).collect();
        if !bytes_eq(&h.hash(&client_key), &self.key.stored_key) {
            return Err(Failure::NotAuthorized);
        }
        let server_signature = h.hmac(&self.key.server_key, auth_message.as_bytes());
        Ok(format!("v={}", encode(&server_signature)))
    }
}

/// Keys for an account that does not exist (or has none yet): the salt is a MAC of the handle
/// under a server secret, so it is the same at every try, as a real account's is; the stored key
/// is random, so no proof matches.
pub fn decoy_key(server_secret: &[u8], handle: &str, hash: ScramHash) -> ScramKey {
    let mac = crate::auth::keyed_mac(
        &server_secret[..server_secret.len().min(32)],
        &[
            b"scram-salt:",
            handle.as_bytes(),
            hash.mechanism().as_bytes(),
        ],
    );
    let mut stored = vec![0u8; 32];
    crate::auth::fill_random(&mut stored);
    ScramKey {
        hash,
        salt: mac[..16].to_vec(),
        iterations: crate::limits::SCRAM_ITERATIONS,
        stored_key: stored.clone(),
        server_key: stored,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The exchange of RFC 7677 section 3 (user "user", password "pencil").
    #[test]
    fn scram_sha256_rfc7677() {
        let salt = B64.decode("W22ZaJ0SNY7soEsUEjb6gQ==").unwrap();
        let key = ScramKey::derive(ScramHash::Sha256, "pencil", &salt, 4096);
        let (gs2, bare, user, authz, cnonce) =
            parse_client_first(b"n,,n=user,r=rOprNGfwEbeRWgbNEkqO").unwrap();
        assert_eq!((user.as_str(), authz), ("user", None));
        let (mut s, _) = Scram::start(gs2, bare, &cnonce, key);
        // Replay the RFC's server nonce.
        s.nonce = "rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0".into();
        s.server_first = format!("r={},s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096", s.nonce);
        let fin = s
            .finish(
                b"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,\
                  p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
            )
            .unwrap();
        assert_eq!(fin, "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=");
        let wrong = s.finish(
            b"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,\
              p=AAAAZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
        );
        assert_eq!(wrong, Err(Failure::NotAuthorized));
    }

    /// RFC 5802 section 5's SCRAM-SHA-1 example.
    #[test]
    fn scram_sha1_rfc5802() {
        let salt = B64.decode("QSXCR+Q6sek8bf92").unwrap();
        let key = ScramKey::derive(ScramHash::Sha1, "pencil", &salt, 4096);
        let (gs2, bare, _, _, cnonce) =
            parse_client_first(b"n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL").unwrap();
        let (mut s, _) = Scram::start(gs2, bare, &cnonce, key);
        s.nonce = "fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j".into();
        s.server_first = format!("r={},s=QSXCR+Q6sek8bf92,i=4096", s.nonce);
        let fin = s
            .finish(
                b"c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,\
                  p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=",
            )
            .unwrap();
        assert_eq!(fin, "v=rmF9pqV8S7suAoZWja4dJRkFsKQ=");
    }

    #[test]
    fn parses_plain_and_names() {
        assert_eq!(
            parse_plain(b"\0alice\0pw").unwrap(),
            ("".into(), "alice".into(), "pw".into())
        );
        assert!(parse_plain(b"alice\0pw").is_err());
        assert!(parse_plain(b"\0alice\0").is_err());
        assert_eq!(
            account_of("Alice", "example.com").as_deref(),
            Some("alice@example.com")
        );
        assert_eq!(
            account_of("bob@x.org", "example.com").as_deref(),
            Some("bob@x.org")
        );
        assert!(parse_client_first(b"p=tls-unique,,n=a,r=x").is_err());
        assert!(parse_client_first(b"n,,m=x,n=a,r=x").is_err());
        assert_eq!(parse_client_first(b"n,,n=a=2Cb,r=x").unwrap().2, "a,b");
    }
}
