//! What to do with one DNS message: I/O-free, so that UDP and TCP share it and unit tests can
//! drive it. Messages are read and written with hickory-proto only; the one thing done on raw
//! bytes is swapping the 16-bit ID, which RFC 1035 (4.1.1) puts in the first two bytes of every
//! message, so that a forwarded reply is relayed exactly as the upstream sent it.
//!
//! Only the header, the question and the type of the first additional record are decoded, never
//! whole records: nothing here needs them, and hickory's decoder for every record type (CAA
//! brings a URL parser with Unicode tables) would otherwise be most of the DNS code in the binary.

use super::names;
use crate::limits::{DNS_ANSWER_TTL, DNS_EDNS_PAYLOAD, DNS_UDP_PLAIN};
use hickory_proto::op::{Edns, Header, Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::rdata::A;
use hickory_proto::rr::{DNSClass, Name, RData, Record, RecordType};
use hickory_proto::serialize::binary::{BinDecodable, BinDecoder};
use std::net::Ipv4Addr;

/// The outcome of one query.
#[derive(Debug)]
pub enum Action {
    /// Send this reply.
    Reply(Vec<u8>),
    /// Ask an upstream resolver; the parsed query is kept to check its reply and to answer
    /// SERVFAIL if none comes.
    Forward(Box<Request>),
    /// Send nothing (the reason goes to the debug log).
    Drop(&'static str),
}

/// What the transport knows about a query.
pub struct Context<'a> {
    /// The source address is on the allow list.
    pub allowed: bool,
    /// Other names can be forwarded (else they are REFUSED).
    pub forwarding: bool,
    /// Our address for the client, computed only when one of our names is asked for.
    pub our_ipv4: &'a (dyn Fn() -> Option<Ipv4Addr> + Sync),
}

/// The parts of a query we use.
#[derive(Debug)]
pub struct Request {
    /// Id, flags and counts: the reply copies the id and the recursion-desired flag.
    pub header: Header,
    /// The questions; only the first is answered (as every resolver does).
    pub queries: Vec<Query>,
    /// The query carries an EDNS OPT record, so the reply must carry one too (RFC 6891).
    pub edns: bool,
    /// The UDP payload size the client's OPT record announces (0 without EDNS).
    pub edns_payload: u16,
}

impl Request {
    /// Reads the header, the questions and, when there are no answer or authority records
    /// (as in every ordinary query), the owner and type of the first additional record.
    pub fn read(packet: &[u8]) -> Option<Request> {
        let mut d = BinDecoder::new(packet);
        let header = Header::read(&mut d).ok()?;
        let queries = Message::read_queries(&mut d, header.counts.queries as usize).ok()?;
        let c = header.counts;
        let edns = c.answers == 0
            && c.authorities == 0
            && c.additionals > 0
            && Name::read(&mut d).is_ok_and(|n| n.is_root())
            && RecordType::read(&mut d).is_ok_and(|t| t == RecordType::OPT);
        // An OPT record's class field is the requester's UDP payload size (RFC 6891 6.1.2).
        let edns_payload = if edns {
            d.read_u16().map_or(0, |r| r.unverified())
        } else {
            0
        };
        Some(Request {
            header,
            queries,
            edns,
            edns_payload,
        })
    }

    /// The transaction id the reply must carry.
    pub fn id(&self) -> u16 {
        self.header.metadata.id
    }

    /// The largest reply this client may get over UDP: 512 bytes (RFC 1035), or with EDNS the
    /// size it announced, at most `DNS_EDNS_PAYLOAD`.
    pub fn udp_limit(&self) -> usize {
        let edns = if self.edns { self.edns_payload } else { 0 };
        (edns.min(DNS_EDNS_PAYLOAD) as usize).max(DNS_UDP_PLAIN)
    }

    /// The question's name, for log lines.
    pub fn name(&self) -> Option<String> {
        self.queries.first().map(|q| q.name().to_ascii())
    }
}

/// Decides what to do with `packet`, a DNS message received from a client.
pub fn decide(packet: &[u8], cx: &Context) -> Action {
    let Some(request) = Request::read(packet) else {
        return Action::Drop("malformed message");
    };
    if request.header.metadata.message_type != MessageType::Query {
        // Replies are never answered: two servers must not bounce messages between them.
        return Action::Drop("a response, not a query");
    }
    if !cx.allowed {
        return Action::Reply(reply(&request, ResponseCode::Refused, cx, Vec::new()));
    }
    if request.header.metadata.op_code != OpCode::Query {
        return Action::Reply(reply(&request, ResponseCode::NotImp, cx, Vec::new()));
    }
    if request.queries.len() != 1 {
        return Action::Reply(reply(&request, ResponseCode::FormErr, cx, Vec::new()));
    }
    let query = &request.queries[0];
    if query.query_type() == RecordType::ANY {
        // ANY is the amplifier's favourite (one short question, every record of a name back);
        // no client of ours needs it (RFC 8482 lets servers decline it).
        return Action::Reply(reply(&request, ResponseCode::Refused, cx, Vec::new()));
    }
    if names::is_ours(&query.name().to_ascii()) {
        if query.query_type() != RecordType::A || query.query_class() != DNSClass::IN {
            // AAAA and every other type: the name exists, but has no such record (NODATA).
            // MSN clients of this era use IPv4 only, and an AAAA pointing elsewhere (or at an
            // IPv6 address we do not serve on) would only invite a detour.
            return Action::Reply(reply(&request, ResponseCode::NoError, cx, Vec::new()));
        }
        let Some(ip) = (cx.our_ipv4)() else {
            return Action::Reply(reply(&request, ResponseCode::ServFail, cx, Vec::new()));
        };
        let record = Record::from_rdata(query.name().clone(), DNS_ANSWER_TTL, RData::A(A(ip)));
        return Action::Reply(reply(&request, ResponseCode::NoError, cx, vec![record]));
    }
    if !cx.forwarding {
        return Action::Reply(reply(&request, ResponseCode::Refused, cx, Vec::new()));
    }
    Action::Forward(Box::new(request))
}

/// An upstream's `reply` to `request` as it may go back over UDP: unchanged when it fits the
/// client's limit (`Request::udp_limit`), else only the header and the question with TC set,
/// which tells the client to ask again over TCP (RFC 1035 4.2.1, RFC 7766). So a relayed
/// answer is never larger than 512 bytes, or than the EDNS size the client announced (at most
/// `DNS_EDNS_PAYLOAD`).
pub fn fit_udp(request: &Request, reply: Vec<u8>) -> Vec<u8> {
    if reply.len() <= request.udp_limit() {
        return reply;
    }
    let code =
        Request::read(&reply).map_or(ResponseCode::ServFail, |r| r.header.metadata.response_code);
    let mut r = Message::response(request.header.metadata.id, request.header.metadata.op_code);
    r.metadata.response_code = code;
    r.metadata.truncation = true;
    r.metadata.recursion_desired = request.header.metadata.recursion_desired;
    r.metadata.checking_disabled = request.header.metadata.checking_disabled;
    r.metadata.recursion_available = true;
    r.add_queries(request.queries.iter().cloned());
    if request.edns {
        let mut edns = Edns::new();
        edns.set_max_payload(DNS_EDNS_PAYLOAD);
        r.set_edns(edns);
    }
    r.to_vec()
        .unwrap_or_else(|_| header_only(request.header.metadata.id, ResponseCode::ServFail))
}

/// SERVFAIL for a forwarded query that got no usable reply.
pub fn servfail(request: &Request) -> Vec<u8> {
    let cx = Context {
        allowed: true,
        forwarding: true,
        our_ipv4: &|| None,
    };
    reply(request, ResponseCode::ServFail, &cx, Vec::new())
}

fn reply(request: &Request, code: ResponseCode, cx: &Context, answers: Vec<Record>) -> Vec<u8> {
    let mut r = Message::response(request.header.metadata.id, request.header.metadata.op_code);
    r.metadata.response_code = code;
    r.metadata.recursion_desired = request.header.metadata.recursion_desired;
    r.metadata.checking_disabled = request.header.metadata.checking_disabled;
    r.metadata.recursion_available = cx.forwarding;
    r.metadata.authoritative = code == ResponseCode::NoError;
    r.add_queries(request.queries.iter().cloned());
    r.add_answers(answers);
    if request.edns {
        // RFC 6891: a query with OPT gets an OPT back.
        let mut edns = Edns::new();
        edns.set_max_payload(DNS_EDNS_PAYLOAD);
        r.set_edns(edns);
    }
    // Encoding a message we built from parsed parts cannot fail short of a bug; SERVFAIL then.
    r.to_vec()
        .unwrap_or_else(|_| header_only(request.header.metadata.id, ResponseCode::ServFail))
}

fn header_only(id: u16, code: ResponseCode) -> Vec<u8> {
    let mut r = Message::response(id, OpCode::Query);
    r.metadata.response_code = code;
    r.to_vec().unwrap_or_default()
}

/// Sets the ID of an encoded message (see the module comment).
pub fn set_id(message: &mut [u8], id: u16) {
    if let Some(head) = message.get_mut(..2) {
        head.copy_from_slice(&id.to_be_bytes());
    }
}

/// Whether `reply` is the upstream's answer to `request` sent with ID `id`: a response with that
/// ID and the same question (an error reply may carry no question).
pub fn is_reply_to(reply: &[u8], id: u16, request: &Request) -> bool {
    let Some(m) = Request::read(reply) else {
        return false;
    };
    let meta = m.header.metadata;
    meta.id == id
        && meta.message_type == MessageType::Response
        && (m.queries == request.queries
            || (m.queries.is_empty() && meta.response_code != ResponseCode::NoError))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(name: &str, t: RecordType) -> Vec<u8> {
        let mut m = Message::query();
        m.metadata.id = 0x1234;
        m.metadata.recursion_desired = true;
        m.add_query(Query::query(Name::from_ascii(name).unwrap(), t));
        m.to_vec().unwrap()
    }

    fn cx(allowed: bool, forwarding: bool) -> Context<'static> {
        Context {
            allowed,
            forwarding,
            our_ipv4: &|| Some(Ipv4Addr::new(192, 168, 1, 10)),
        }
    }

    fn parse(a: Action) -> Message {
        match a {
            Action::Reply(b) => Message::from_vec(&b).unwrap(),
            other => panic!("expected a reply, got {other:?}"),
        }
    }

    #[test]
    fn our_names_get_our_address() {
        let r = parse(decide(
            &query("Messenger.Hotmail.COM.", RecordType::A),
            &cx(true, true),
        ));
        assert_eq!(r.metadata.id, 0x1234);
        assert_eq!(r.metadata.response_code, ResponseCode::NoError);
        assert!(r.metadata.authoritative && r.metadata.recursion_desired);
        assert_eq!(r.answers.len(), 1);
        assert_eq!(
            r.answers[0].data,
            RData::A(A(Ipv4Addr::new(192, 168, 1, 10)))
        );
        assert_eq!(r.answers[0].name.to_ascii(), "Messenger.Hotmail.COM.");
        let r = parse(decide(
            &query("nexus.passport.com.", RecordType::AAAA),
            &cx(true, true),
        ));
        assert_eq!(r.metadata.response_code, ResponseCode::NoError);
        assert!(r.answers.is_empty());
    }

    #[test]
    fn an_edns_query_gets_an_edns_reply() {
        let mut m = Message::query();
        m.add_query(Query::query(
            Name::from_ascii("messenger.hotmail.com.").unwrap(),
            RecordType::A,
        ));
        let plain = parse(decide(&m.to_vec().unwrap(), &cx(true, true)));
        assert!(plain.edns.is_none());
        let mut edns = Edns::new();
        edns.set_max_payload(4096);
        m.set_edns(edns);
        let r = parse(decide(&m.to_vec().unwrap(), &cx(true, true)));
        assert_eq!(
            r.edns.as_ref().map(|e| e.max_payload()),
            Some(DNS_EDNS_PAYLOAD)
        );
        assert_eq!(r.answers.len(), 1);
    }

    #[test]
    fn other_names_are_forwarded_or_refused_and_strangers_refused() {
        let q = query("example.org.", RecordType::A);
        assert!(matches!(decide(&q, &cx(true, true)), Action::Forward(_)));
        let r = parse(decide(&q, &cx(true, false)));
        assert_eq!(r.metadata.response_code, ResponseCode::Refused);
        let q = query("messenger.hotmail.com.", RecordType::A);
        let r = parse(decide(&q, &cx(false, true)));
        assert_eq!(r.metadata.response_code, ResponseCode::Refused);
        assert!(r.answers.is_empty());
    }

    #[test]
    fn garbage_and_responses_are_dropped() {
        assert!(matches!(decide(b"", &cx(true, true)), Action::Drop(_)));
        assert!(matches!(
            decide(&[0xff; 40], &cx(true, true)),
            Action::Drop(_)
        ));
        let mut q = query("example.org.", RecordType::A);
        q[2] |= 0x80; // QR: a response
        assert!(matches!(decide(&q, &cx(true, true)), Action::Drop(_)));
    }

    #[test]
    fn reply_matching_and_id_swap() {
        let q = query("example.org.", RecordType::A);
        let Action::Forward(request) = decide(&q, &cx(true, true)) else {
            panic!()
        };
        let mut answer = Message::response(0x4321, OpCode::Query);
        answer.add_queries(request.queries.iter().cloned());
        let mut bytes = answer.to_vec().unwrap();
        assert!(is_reply_to(&bytes, 0x4321, &request));
        assert!(!is_reply_to(&bytes, 0x4322, &request));
        set_id(&mut bytes, 0x1234);
        assert_eq!(Message::from_vec(&bytes).unwrap().metadata.id, 0x1234);
        let other = query("example.net.", RecordType::A);
        let Action::Forward(other) = decide(&other, &cx(true, true)) else {
            panic!()
        };
        assert!(!is_reply_to(&bytes, 0x1234, &other));
        let sf = Message::from_vec(&servfail(&request)).unwrap();
        assert_eq!(sf.metadata.response_code, ResponseCode::ServFail);
        assert_eq!(sf.metadata.id, 0x1234);
    }
}
