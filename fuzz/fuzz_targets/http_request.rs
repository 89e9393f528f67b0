//! Fuzzes the HTTP request parser (`http::parse_request`) as `http::serve` drives it on a
//! keep-alive connection, and the Passport 1.4 `Authorization` header parser.

#![no_main]

use libfuzzer_sys::fuzz_target;
use msnpd::http::passport::parse_authorization;
use msnpd::http::{Parsed, parse_request};
use msnpd::limits::{HTTP_MAX_BODY as MAX_BODY, HTTP_MAX_HEAD as MAX_HEAD};

fuzz_target!(|data: &[u8]| {
    let mut pos = 0;
    // At most 32 requests per connection, as in `serve`.
    for _ in 0..32 {
        let buf = &data[pos..];
        match parse_request(buf) {
            Parsed::Complete(req, used) => {
                assert!(
                    used >= 1 && used <= buf.len(),
                    "used {used} of {}",
                    buf.len()
                );
                assert!(req.body.len() <= MAX_BODY);
                assert!(used - req.body.len() <= MAX_HEAD);
                assert_eq!(req.body.as_slice(), &buf[used - req.body.len()..used]);
                // Reading the same request in pieces gives the same answer: the exact bytes are
                // complete, and a strict prefix is only ever "need more".
                match parse_request(&buf[..used]) {
                    Parsed::Complete(r2, u2) => {
                        assert_eq!(u2, used);
                        assert_eq!(
                            (r2.method, r2.path, r2.query),
                            (req.method.clone(), req.path.clone(), req.query.clone())
                        );
                    }
                    _ => panic!("request not complete on its own bytes"),
                }
                for cut in [used - 1, used / 2] {
                    if cut > 0 {
                        assert!(
                            matches!(parse_request(&buf[..cut]), Parsed::Partial),
                            "prefix of {cut}/{used} bytes is not Partial"
                        );
                    }
                }
                if let Some(a) = req.header("authorization") {
                    let _ = parse_authorization(a);
                }
                pos += used;
            }
            // Need more: the buffer `serve` keeps growing stays bounded.
            Parsed::Partial => {
                assert!(buf.len() < MAX_HEAD + MAX_BODY);
                break;
            }
            Parsed::Bad(why) => {
                assert!(!why.is_empty());
                break;
            }
        }
    }
    // The Authorization parser on raw text too.
    if data.len() <= 4096 {
        let s = String::from_utf8_lossy(data);
        let _ = parse_authorization(&s);
        let with_scheme = format!("Passport1.4 {s}");
        let _ = parse_authorization(&with_scheme);
    }
});
