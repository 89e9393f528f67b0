//! Issue 21 item 9 and the page's host list: the public page (`--public-presence`) names and
//! counts only users everyone may see online (not hidden, `BLP AL`, nobody blocked), so neither
//! the list nor the count gives away the sign-in of someone who hides from some or all; and the
//! hosts lines include the HTTP gateway's name the README's fallback needs.

mod common;
use common::*;

const A: &str = "alice@example.com";
const B: &str = "bob@example.com";
const C: &str = "carol@example.com";

fn page(s: &TestServer) -> String {
    let (code, _, body) = http(s.http, "GET", "/", &[], b"");
    assert_eq!(code, 200);
    String::from_utf8(body).unwrap()
}

#[test]
fn users_who_block_are_neither_listed_nor_counted() {
    let s = TestServer::start_with(
        &[(A, "pw"), (B, "pw"), (C, "pw")],
        &["--chl-interval", "0", "--public-presence"],
    );
    let _alice = online(&s, 7, A, "pw");
    // Bob blocks everyone by default; carol blocks one person (alice).
    let mut bob = online(&s, 7, B, "pw");
    bob.ok("BLP", "BL", "1 BL");
    let mut carol = online(&s, 7, C, "pw");
    carol.ok("ADD", &format!("BL {A} {A}"), &format!("BL 1 {A} {A}"));
    let html = page(&s);
    assert!(
        html.contains(&format!("<b>1 person online.</b> {A}.")),
        "{html}"
    );
    assert!(!html.contains(B) && !html.contains(C), "{html}");
    // Bob signing out does not change the count either.
    bob.send("OUT");
    bob.expect_closed();
    assert!(page(&s).contains("<b>1 person online.</b>"));
}

#[test]
fn hosts_lines_name_the_http_gateway() {
    let s = TestServer::start(&[]);
    let (_, _, text) = http(s.http, "GET", "/hosts.txt", &[], b"");
    let text = String::from_utf8(text).unwrap();
    assert!(
        text.lines()
            .any(|l| l.split_whitespace().nth(1) == Some("gateway.messenger.hotmail.com")),
        "{text}"
    );
    assert!(page(&s).contains("gateway.messenger.hotmail.com"));
}
