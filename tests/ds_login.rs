mod common;
use common::*;

#[test]
fn md5_login_with_dispatch_redirect_for_msnp2_5_7() {
    let server = TestServer::start(&[("alice@example.com", "secret")]);
    for v in [2u8, 5, 7] {
        let (mut c, ok) = login_md5(&server, v, "alice@example.com", "secret");
        match v {
            2..=5 => assert_eq!(ok, "USR 4 OK alice@example.com alice@example.com"),
            _ => assert_eq!(ok, "USR 4 OK alice@example.com alice@example.com 1"),
        }
        c.send("OUT");
        c.expect("OUT");
        c.expect_closed();
    }
}

#[test]
fn wrong_password_gets_911_and_close() {
    let server = TestServer::start(&[("alice@example.com", "secret")]);
    let mut ds = server.connect();
    ds.send("VER 1 MSNP7 CVR0");
    ds.expect("VER 1 MSNP7");
    ds.send("USR 2 MD5 I alice@example.com");
    let xfr = ds.expect("XFR 2 NS ");
    // MSNP7 redirect carries `0 current-server`.
    let parts: Vec<&str> = xfr.split(' ').collect();
    assert_eq!(parts.len(), 6, "{xfr}");
    assert_eq!(parts[4], "0");
    let mut ns = Client::connect(parts[3].parse().unwrap());
    ns.send("VER 1 MSNP7 CVR0");
    ns.expect("VER 1 MSNP7");
    ns.send("USR 2 MD5 I alice@example.com");
    ns.expect("USR 2 MD5 S ");
    ns.send("USR 3 MD5 S 00000000000000000000000000000000");
    assert_eq!(ns.expect_closed(), vec!["911 3"]);
}

#[test]
fn no_common_version_gets_ver_0_and_close() {
    let server = TestServer::start(&[]);
    let mut c = server.connect();
    // Without CVR0 on offer (with it, the client is answered `VER 1 CVR0`: tests/fidelity.rs).
    c.send("VER 1 MSNP1 MSNP99");
    assert_eq!(c.expect_closed(), vec!["VER 1 0"]);
}
