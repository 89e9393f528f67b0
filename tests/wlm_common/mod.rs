//! Client side of Windows Live Messenger sign-in for the `wlm_*` tests: the RST.srf request
//! libpurple's MSNP18 plug-in sends, reading its answer, the `MBI_KEY_OLD` answer as a client
//! computes it (papyon `SingleSignOn.py`, libpurple `nexus.c` `msn_rps_encrypt`), and whole
//! sign-ins for MSNP13-18.
#![allow(dead_code)]

use crate::common::*;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use msnpd::auth::sso::{ENCRYPTION_LABEL, HASH_LABEL, derive_key, hmac_sha1};
use openssl::symm::{Cipher, Crypter, Mode};
use std::net::SocketAddr;

/// The services libpurple 2.10.9 asks RST.srf for, in its order (`nexus.c` `ticket_domains`).
pub const LIBPURPLE_SERVICES: &[(&str, Option<&str>)] = &[
    ("http://Passport.NET/tb", None),
    ("messengerclear.live.com", Some("MBI_KEY_OLD")),
    ("messenger.msn.com", Some("?id=507")),
    ("messengersecure.live.com", Some("MBI_SSL")),
    ("contacts.msn.com", Some("MBI")),
    ("storage.msn.com", Some("MBI")),
    ("sup.live.com", Some("MBI")),
];

/// The RST.srf envelope, shaped as libpurple writes it (default SOAP namespace, prefixed WS-*).
pub fn rst_request(handle: &str, password: &str, services: &[(&str, Option<&str>)]) -> String {
    let mut tokens = String::new();
    for (i, (address, policy)) in services.iter().enumerate() {
        tokens.push_str(&format!(
            "<wst:RequestSecurityToken Id=\"RST{i}\"><wst:RequestType>http://schemas.xmlsoap.org/ws/2004/04/security/trust/Issue</wst:RequestType><wsp:AppliesTo><wsa:EndpointReference><wsa:Address>{address}</wsa:Address></wsa:EndpointReference></wsp:AppliesTo>{}</wst:RequestSecurityToken>",
            policy.map_or(String::new(), |p| format!("<wsse:PolicyReference URI=\"{p}\"></wsse:PolicyReference>"))
        ));
    }
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Envelope xmlns=\"http://schemas.xmlsoap.org/soap/envelope/\" xmlns:wsse=\"http://schemas.xmlsoap.org/ws/2003/06/secext\" xmlns:saml=\"urn:oasis:names:tc:SAML:1.0:assertion\" xmlns:wsp=\"http://schemas.xmlsoap.org/ws/2002/12/policy\" xmlns:wsu=\"http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd\" xmlns:wsa=\"http://schemas.xmlsoap.org/ws/2004/03/addressing\" xmlns:wssc=\"http://schemas.xmlsoap.org/ws/2004/04/sc\" xmlns:wst=\"http://schemas.xmlsoap.org/ws/2004/04/trust\"><Header><ps:AuthInfo xmlns:ps=\"http://schemas.microsoft.com/Passport/SoapServices/PPCRL\" Id=\"PPAuthInfo\"><ps:HostingApp>{{7108E71A-9926-4FCB-BCC9-9A9D3F32E423}}</ps:HostingApp><ps:BinaryVersion>4</ps:BinaryVersion><ps:UIVersion>1</ps:UIVersion><ps:Cookies></ps:Cookies><ps:RequestParams>AQAAAAIAAABsYwQAAAAxMDMz</ps:RequestParams></ps:AuthInfo><wsse:Security><wsse:UsernameToken Id=\"user\"><wsse:Username>{handle}</wsse:Username><wsse:Password>{password}</wsse:Password></wsse:UsernameToken></wsse:Security></Header><Body><ps:RequestMultipleSecurityTokens xmlns:ps=\"http://schemas.microsoft.com/Passport/SoapServices/PPCRL\" Id=\"RSTS\">{tokens}</ps:RequestMultipleSecurityTokens></Body></Envelope>"
    )
}

/// One token of an RST.srf answer: the `BinarySecurityToken` (ticket, unescaped) and the
/// `BinarySecret`, for the response whose address is `address`. The Compact number must be `n`.
pub fn token_for(answer: &str, address: &str, n: usize) -> (String, Option<String>) {
    let at = answer
        .find(&format!("<wsa:Address>{address}</wsa:Address>"))
        .unwrap_or_else(|| panic!("no response for {address}: {answer}"));
    let start = answer[..at]
        .rfind("<wst:RequestSecurityTokenResponse>")
        .unwrap();
    let end = at
        + answer[at..]
            .find("</wst:RequestSecurityTokenResponse>")
            .unwrap();
    let resp = &answer[start..end];
    let open = format!("<wsse:BinarySecurityToken Id=\"Compact{n}\">");
    let ticket = resp
        .split(&open)
        .nth(1)
        .unwrap_or_else(|| panic!("no Compact{n} for {address}: {resp}"))
        .split('<')
        .next()
        .unwrap()
        .replace("&amp;", "&");
    let secret = resp
        .split("<wst:BinarySecret>")
        .nth(1)
        .map(|s| s.split('<').next().unwrap().to_string());
    (ticket, secret)
}

/// POSTs `body` to `//RST.srf` (libpurple's double slash) on the HTTP port; the answer text.
pub fn post_rst(server: &TestServer, body: &str) -> String {
    let (status, _, resp) = http(
        server.http,
        "POST",
        "//RST.srf",
        &[("Content-Type", "text/xml")],
        body.as_bytes(),
    );
    assert_eq!(status, 200);
    String::from_utf8(resp).unwrap()
}

/// The client's answer to `nonce` with the session key `secret_b64`: header, IV, HMAC-SHA1 and
/// 3DES-CBC of the nonce padded with eight 0x08 bytes, in base64.
pub fn mbi_answer(secret_b64: &str, nonce: &str) -> String {
    let secret = B64.decode(secret_b64).unwrap();
    let hash_key = derive_key(&secret, HASH_LABEL).unwrap();
    let crypt_key = derive_key(&secret, ENCRYPTION_LABEL).unwrap();
    let hash = hmac_sha1(&hash_key, &[nonce.as_bytes()]).unwrap();
    let iv = [7u8, 1, 2, 3, 4, 5, 6, 9];
    let mut padded = nonce.as_bytes().to_vec();
    padded.extend_from_slice(&[8u8; 8]);
    let mut c = Crypter::new(Cipher::des_ede3_cbc(), Mode::Encrypt, &crypt_key, Some(&iv)).unwrap();
    c.pad(false);
    let mut cipher = vec![0u8; padded.len() + 8];
    let mut n = c.update(&padded, &mut cipher).unwrap();
    n += c.finalize(&mut cipher[n..]).unwrap();
    cipher.truncate(n);
    let mut blob = Vec::new();
    for v in [28u32, 1, 0x6603, 0x8004, 8, 20, cipher.len() as u32] {
        blob.extend_from_slice(&v.to_le_bytes());
    }
    blob.extend_from_slice(&iv);
    blob.extend_from_slice(&hash);
    blob.extend_from_slice(&cipher);
    B64.encode(blob)
}

/// A WLM client's `CVR` arguments for `version` (the build libpurple or WLM sends).
pub fn cvr_for(version: u8, handle: &str) -> String {
    let build = match version {
        13 => "8.0.0812",
        14 => "8.1.0178",
        15 => "8.5.1302",
        _ => "14.0.8117.0416",
    };
    format!("0x0409 winnt 5.1 i386 MSNMSGR {build} msmsgs {handle}")
}

/// VER and CVR on `c`, then `USR 3 <scheme> I handle`.
fn hello(c: &mut Client, version: u8, handle: &str) {
    c.send(&format!("VER 1 MSNP{version} CVR0"));
    c.expect(&format!("VER 1 MSNP{version}"));
    c.send(&format!("CVR 2 {}", cvr_for(version, handle)));
    c.expect("CVR 2 ");
    let scheme = if version >= 15 { "SSO" } else { "TWN" };
    c.send(&format!("USR 3 {scheme} I {handle}"));
}

/// Through dispatch to the notification server, stopped after `USR 3 ... I` there: for SSO the
/// `GCF 0` policies were read and the nonce is returned; for TWN the policy string.
pub fn challenged(server: &TestServer, version: u8, handle: &str) -> (Client, String) {
    let mut ds = server.connect();
    hello(&mut ds, version, handle);
    let xfr = ds.expect("XFR 3 NS ");
    let addr: SocketAddr = xfr.split(' ').nth(3).unwrap().parse().unwrap();
    let mut ns = Client::connect(addr);
    hello(&mut ns, version, handle);
    if version >= 15 {
        let (gcf, policies) = ns.expect_payload("GCF 0 ");
        assert!(gcf.starts_with("GCF 0 "));
        assert!(String::from_utf8(policies).unwrap().contains("<Policies>"));
        let usr = ns.expect("USR 3 SSO S MBI_KEY_OLD ");
        (ns, usr.rsplit(' ').next().unwrap().to_string())
    } else {
        let usr = ns.expect("USR 3 TWN S ");
        (ns, usr["USR 3 TWN S ".len()..].to_string())
    }
}

/// What a sign-in left: the connection (trid at 4), the profile text.
pub struct SignedIn {
    pub ns: Client,
    pub profile: String,
}

/// The `USR 4` line a client sends after RST.srf (MSNP16+ with `guid`).
pub fn usr_s(
    server: &TestServer,
    version: u8,
    handle: &str,
    password: &str,
    challenge: &str,
    guid: Option<&str>,
) -> String {
    let answer = post_rst(server, &rst_request(handle, password, LIBPURPLE_SERVICES));
    if version >= 15 {
        let (ticket, secret) = token_for(&answer, "messengerclear.live.com", 1);
        let proof = mbi_answer(
            &secret.expect("a BinarySecret for messengerclear"),
            challenge,
        );
        match guid {
            Some(g) => format!("USR 4 SSO S {ticket} {proof} {g}"),
            None => format!("USR 4 SSO S {ticket} {proof}"),
        }
    } else {
        let (ticket, _) = token_for(&answer, "messenger.msn.com", 2);
        format!("USR 4 TWN S {ticket}")
    }
}

/// A whole WLM sign-in of `version` (13-14 TWN, 15+ SSO), up to and including the e-mail notice.
pub fn sign_in(
    server: &TestServer,
    version: u8,
    handle: &str,
    password: &str,
    guid: Option<&str>,
) -> SignedIn {
    let (mut ns, challenge) = challenged(server, version, handle);
    let usr = usr_s(server, version, handle, password, &challenge, guid);
    ns.send(&usr);
    ns.expect(&format!("USR 4 OK {handle} 1 0"));
    ns.expect("SBS 0 null");
    let (_, profile) = ns.expect_payload("MSG Hotmail Hotmail ");
    let (_, mail) = ns.expect_payload("MSG Hotmail Hotmail ");
    assert!(String::from_utf8_lossy(&mail).contains("text/x-msmsgsinitialmdatanotification"));
    // MSNP16+ endpoints: the self UBX listing the account's endpoints ends the burst.
    if let (true, Some(g)) = (version >= 16, guid) {
        let (ubx, own) = ns.expect_payload("UBX ");
        let own = String::from_utf8(own).unwrap();
        assert!(
            own.contains(&format!("<EndpointData id=\"{g}\">")),
            "{ubx} {own}"
        );
        // libpurple 2.10.9 crashes on an empty Capabilities (strtoul of NULL).
        assert!(!own.contains("<Capabilities></Capabilities>"), "{own}");
    }
    ns.trid = 4;
    SignedIn {
        ns,
        profile: String::from_utf8(profile).unwrap(),
    }
}
