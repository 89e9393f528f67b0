//! Fuzzes the MSNP13+ (WLM) input parsers: the bounded XML reader (`protocol::xml`) and what is
//! built on it, the `ADL`/`RML`/`FQY` payload (`protocol::ml`), the `UUX` payload
//! (`protocol::uux`), the RST.srf request (`http::rst`), the address-book and sharing requests
//! (`http::soap`), and the MBI_KEY_OLD answer blob (`auth::sso`). The first byte picks the parser;
//! every parser also sees the whole input.

#![no_main]

use libfuzzer_sys::fuzz_target;
use msnpd::auth::sso;
use msnpd::http::{rst, soap};
use msnpd::limits::{
    MAX_ML_CONTACTS, MAX_ML_PAYLOAD, MAX_UUX_PAYLOAD, XML_MAX_DEPTH, XML_MAX_ELEMENTS,
};
use msnpd::protocol::xml::{self, Bounds, Element};
use msnpd::protocol::{ml, uux};

fn depth_and_count(e: &Element) -> (usize, usize) {
    e.children.iter().fold((1, 1), |(d, n), c| {
        let (cd, cn) = depth_and_count(c);
        (d.max(cd + 1), n + cn)
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&which, payload)) = data.split_first() else {
        return;
    };
    match which % 6 {
        0 => {
            if let Ok(root) = xml::parse(payload, &Bounds::with_size(16 * 1024)) {
                let (depth, count) = depth_and_count(&root);
                assert!(depth <= XML_MAX_DEPTH && count <= XML_MAX_ELEMENTS);
                assert!(payload.len() <= 16 * 1024);
            }
        }
        1 => {
            for lists in [ml::Lists::Required, ml::Lists::Ignored] {
                if let Ok(parsed) = ml::parse(payload, lists) {
                    assert!(payload.len() <= MAX_ML_PAYLOAD);
                    assert!(parsed.contacts.len() <= MAX_ML_CONTACTS);
                    // What we write we read back the same (grouping may reorder by domain;
                    // escaping may make it longer than the limit, and control characters in
                    // a friendly name are dropped).
                    let written = ml::write(&parsed, lists);
                    if written.len() <= MAX_ML_PAYLOAD {
                        let again =
                            ml::parse(written.as_bytes(), lists).expect("our own ml payload parses");
                        assert_eq!(again.initial, parsed.initial);
                        assert_eq!(again.contacts.len(), parsed.contacts.len());
                        for c in &parsed.contacts {
                            assert!(again.contacts.iter().any(|a| a.handle == c.handle
                                && a.lists == c.lists
                                && a.network == c.network));
                        }
                    }
                } else if let Err(e) = ml::parse(payload, lists) {
                    assert!(matches!(e.code(), 204 | 240 | 241 | 933));
                }
            }
        }
        2 => {
            if let Ok(u) = uux::parse(payload) {
                let data = uux::PersonalData {
                    psm: u.psm.unwrap_or_default(),
                    current_media: u.current_media.unwrap_or_default(),
                    machine_guid: u.machine_guid.unwrap_or_default(),
                };
                let written = uux::write_ubx(&data, &[]);
                if written.len() <= MAX_UUX_PAYLOAD {
                    let back = uux::parse(written.as_bytes()).expect("our own UBX payload parses");
                    assert!(back.psm.is_some());
                }
            }
        }
        3 => {
            if let Ok(req) = rst::parse_request(payload) {
                assert!(!req.tokens.is_empty());
                let issued: Vec<rst::Issued> = req
                    .tokens
                    .iter()
                    .map(|_| rst::Issued::Ticket {
                        ticket: "t=a&p=b".into(),
                        proof: None,
                    })
                    .collect();
                let answer = rst::answer(&req, &issued, 0, 1);
                let bounds = Bounds {
                    max_bytes: 1 << 20,
                    max_depth: 32,
                    max_elements: 100_000,
                };
                let doc = xml::parse(answer.as_bytes(), &bounds).expect("our answer parses");
                assert_eq!(rst::read_answer(&doc).len(), req.tokens.len());
            }
        }
        4 => {
            let _ = soap::parse_request(payload);
        }
        _ => {
            if let Ok(s) = std::str::from_utf8(payload) {
                let _ = sso::parse_answer(s);
                let key = sso::SessionKey([7; sso::SESSION_KEY_LEN]);
                // A random blob that verifies would be an HMAC forgery.
                assert!(sso::verify(&key, "nonce", s).is_err());
            }
        }
    }
});
