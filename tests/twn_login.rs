//! MSNP8-12: Tweener login over the built-in HTTP side and the modern list syntax.
mod common;
use common::*;

const USERS: &[(&str, &str)] = &[
    ("alice@example.com", "secret"),
    ("bob@example.com", "hunter2"),
];

#[test]
fn tweener_login_for_msnp8_to_12_with_client_address() {
    let server = TestServer::start(USERS);
    for v in 8u8..=12 {
        let (ns, ok, profile) = login_twn(&server, v, "alice@example.com", "secret");
        match v {
            8 | 9 => assert_eq!(ok, "USR 4 OK alice@example.com alice@example.com 1 0"),
            _ => assert_eq!(ok, "USR 4 OK alice@example.com 1 0"),
        }
        let local = ns.stream.local_addr().unwrap();
        assert!(
            profile.contains(&format!("ClientIP: {}\r\n", local.ip())),
            "{profile}"
        );
        let swapped = local.port().rotate_left(8);
        assert!(
            profile.contains(&format!("ClientPort: {swapped}\r\n")),
            "{profile}"
        );
        assert_eq!(profile.contains("ABCHMigrated: 1"), v >= 10);
    }
}

#[test]
fn wrong_password_at_http_and_bad_ticket_at_usr() {
    let server = TestServer::start(USERS);
    assert!(passport_ticket(&server, "alice@example.com", "wrong", "ct=1").is_none());
    assert!(passport_ticket(&server, "nobody@example.com", "x", "ct=1").is_none());
    // A ticket issued to bob cannot log alice in, and is burnt.
    let bobs = passport_ticket(&server, "bob@example.com", "hunter2", "ct=1").unwrap();
    let mut ns = twn_challenged(&server, 11, "alice@example.com");
    ns.send(&format!("USR 3 TWN S {bobs}"));
    assert_eq!(ns.expect_closed(), vec!["911 3"]);
}

#[test]
fn tickets_are_single_use() {
    let server = TestServer::start(USERS);
    let (mut ns, _, _) = login_twn(&server, 12, "alice@example.com", "secret");
    ns.send("OUT");
    ns.expect_closed();
    let t = passport_ticket(&server, "alice@example.com", "secret", "ct=1").unwrap();
    for expect_ok in [true, false] {
        let mut c = twn_challenged(&server, 12, "alice@example.com");
        c.send(&format!("USR 3 TWN S {t}"));
        if expect_ok {
            c.expect("USR 3 OK alice@example.com 1 0");
            c.send("OUT");
            c.expect_closed();
        } else {
            assert_eq!(c.expect_closed(), vec!["911 3"]);
        }
    }
}

#[test]
fn rst_soap_login_for_msn75() {
    let server = TestServer::start(USERS);
    let body = |pw: &str| {
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Envelope><Header><wsse:Security><wsse:UsernameToken Id=\"user\"><wsse:Username>alice@example.com</wsse:Username><wsse:Password>{pw}</wsse:Password></wsse:UsernameToken></wsse:Security></Header><Body/></Envelope>"
        )
    };
    let (status, _, resp) = http(
        server.http,
        "POST",
        "/RST.srf",
        &[("Content-Type", "text/xml")],
        body("secret").as_bytes(),
    );
    assert_eq!(status, 200);
    let resp = String::from_utf8(resp).unwrap();
    let token = resp
        .split("<wsse:BinarySecurityToken Id=\"Compact1\">")
        .nth(1)
        .unwrap()
        .split('<')
        .next()
        .unwrap();
    let ticket = token.replace("&amp;", "&");
    assert!(ticket.starts_with("t="));
    let (_, _, fault) = http(
        server.http,
        "POST",
        "/RST.srf",
        &[],
        body("nope").as_bytes(),
    );
    assert!(
        String::from_utf8(fault)
            .unwrap()
            .contains("wsse:FailedAuthentication")
    );
    // The RST ticket works on the NS.
    let mut c = twn_challenged(&server, 12, "alice@example.com");
    c.send(&format!("USR 3 TWN S {ticket}"));
    c.expect("USR 3 OK alice@example.com 1 0");
}

#[test]
fn http_side_is_bounded() {
    let server = TestServer::start(USERS);
    let (status, _, _) = http(server.http, "GET", "/nope", &[], b"");
    assert_eq!(status, 404);
    let (status, _, body) = http(
        server.http,
        "GET",
        "/Config/MsgrConfig.asmx?op=GetClientConfig",
        &[],
        b"",
    );
    assert_eq!(status, 200);
    assert!(String::from_utf8(body).unwrap().starts_with("<MsgrConfig>"));
    let (status, _, body) = http(
        server.http,
        "POST",
        "/Config/MsgrConfig.asmx",
        &[],
        b"<soap/>",
    );
    assert_eq!(status, 200);
    assert!(
        String::from_utf8(body)
            .unwrap()
            .contains("GetClientConfigResult")
    );
    let huge = "x".repeat(20_000);
    let (status, _, _) = http(server.http, "POST", "/RST.srf", &[], huge.as_bytes());
    assert_eq!(status, 400);
    // Behind a TLS proxy the nexus writes host/path without a scheme, as the official one did.
    let (_, hs, _) = http(
        server.http,
        "GET",
        "/rdr/pprdr.asp",
        &[("X-Forwarded-Proto", "https")],
        b"",
    );
    assert_eq!(
        header(&hs, "PassportURLs"),
        Some(format!("DALogin={}/login2.srf", server.http).as_str())
    );
}
