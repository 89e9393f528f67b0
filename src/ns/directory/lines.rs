//! Line formatting: the lines the directory sends unprompted (NLN ILN FLN UBX BPR RNG and the
//! reverse-list notices), each in the receiving session's dialect. Presence lines are written
//! into stack buffers: the fan-out formats a line once per dialect shape, never per watcher.

use super::presence::{Member, Presence};
use crate::dialect::{Dialect, ListCommands, PresenceAddress};
use crate::model::{Phones, Status};
use crate::ns::bus::{Notice, Ring};
use crate::protocol::reply::contacts::ReverseList;
use crate::protocol::reply::{self, Reply, Text};
use crate::protocol::write::LineBuf;

pub use crate::limits::PRESENCE_LINE;

/// How many distinct presence-line shapes the dialect table has (`shape`).
pub(super) const SHAPES: usize = 6;

/// Which presence-line shape a dialect gets, as an index for the fan-out's per-shape cache:
/// 0 = no fields (MSNP2-7), 1 = caps (MSNP8), 2 = caps and MSNObject (MSNP9-13), 3 = plus the
/// network id after the handle (MSNP14-15), 4 = and `caps:capsex` (MSNP16-17), 5 = `1:handle`
/// (MSNP18). Dialects with one index write identical lines (`shapes_cover_the_table` checks).
pub(super) fn shape(d: &Dialect) -> usize {
    let fields = match (d.presence_caps, d.presence_msnobj) {
        (false, _) => 0,
        (true, false) => 1,
        (true, true) => 2,
    };
    match (d.presence_address, d.caps_ex) {
        (PresenceAddress::Handle, _) => fields,
        (PresenceAddress::HandleNetwork, false) => 3,
        (PresenceAddress::HandleNetwork, true) => 4,
        (PresenceAddress::Prefixed, _) => 5,
    }
}

/// `UBN handle kind len` in `to`'s form (the payload follows): a message from `handle`'s
/// endpoint.
pub(super) fn write_ubn_head(
    out: &mut LineBuf<256>,
    to: &Dialect,
    handle: &str,
    (kind, body): (u32, &[u8]),
) {
    out.clear();
    reply::presence::Ubn { handle, kind, body }.head(to, out);
}

/// Writes `NLN` (`iln: None`) or `ILN trid` with CRLF in `to`'s shape.
pub(super) fn write_presence(
    out: &mut LineBuf<PRESENCE_LINE>,
    iln: Option<u32>,
    status: Status,
    handle: &str,
    (friendly, presence): (&str, &Presence),
    to: &Dialect,
) {
    out.clear();
    let line = reply::presence::Presence {
        iln,
        status: status.code(),
        handle,
        name: Text::Plain(friendly),
        caps: presence.caps,
        caps_ex: presence.caps_ex,
        msnobj: presence.msnobj(),
    };
    Reply::write(&line, to, out);
}

/// `FLN handle` in `to`'s form.
pub(super) fn write_offline(out: &mut LineBuf<256>, to: &Dialect, handle: &str) {
    out.clear();
    Reply::write(&reply::presence::Fln { handle }, to, out);
}

/// `UBX handle len` in `to`'s form (the payload `body` follows, pushed apart).
pub(super) fn write_ubx_head(out: &mut LineBuf<256>, to: &Dialect, handle: &str, body: &[u8]) {
    out.clear();
    reply::presence::Ubx { handle, body }.head(to, out);
}

/// NLN or FLN for a presence notice, in `to`'s dialect.
pub(super) fn deliver_presence(to: &Member, notice: &Notice) {
    let Notice::Presence {
        handle,
        status,
        name,
        caps,
        msnobj,
    } = notice
    else {
        return;
    };
    match status {
        Some(status) => {
            let mut p = Presence::default();
            p.status = Some(*status);
            p.caps = *caps;
            p.set_msnobj(msnobj.as_deref());
            let mut b = LineBuf::<PRESENCE_LINE>::new();
            write_presence(&mut b, None, *status, handle, (name, &p), to.dialect);
            let _ = to.outbox.push(&[b.as_bytes()]);
        }
        None => {
            let mut b = LineBuf::<256>::new();
            write_offline(&mut b, to.dialect, handle);
            let _ = to.outbox.push(&[b.as_bytes()]);
        }
    }
}

/// The ILN line (and UBX where the viewer speaks MSNP11+) for one contact, in `viewer`'s form.
pub fn push_initial(
    out: &mut Vec<Vec<u8>>,
    viewer: &Dialect,
    trid: u32,
    (status, handle, friendly, presence): (Status, &str, &str, &Presence),
) {
    let mut b = LineBuf::<PRESENCE_LINE>::new();
    write_presence(
        &mut b,
        Some(trid),
        status,
        handle,
        (friendly, presence),
        viewer,
    );
    out.push(b.as_bytes().to_vec());
    if viewer.personal_message
        && let Some(psm) = presence.psm()
    {
        let mut head = LineBuf::<256>::new();
        write_ubx_head(&mut head, viewer, handle, psm);
        let mut l = head.as_bytes().to_vec();
        l.extend_from_slice(psm);
        out.push(l);
    }
}

/// The asynchronous BPR lines for a contact's changed phone numbers (`kinds`, as
/// `bpr::kind_bits`), in `to`'s dialect. Returns whether `to` is backed up (`pace.rs`).
pub(super) fn write_bpr(
    to: &Member,
    handle: &str,
    phones: &Phones,
    kinds: u8,
    serial: u32,
) -> bool {
    // At most four lines of a bounded handle and value (`MAX_PRP_VALUE`): a stack buffer.
    let mut out = LineBuf::<PRESENCE_LINE>::new();
    for (i, (kind, value)) in crate::ns::bpr::fields(phones).iter().enumerate() {
        if kinds & (1 << i) == 0 {
            continue;
        }
        let line = reply::presence::Bpr {
            serial,
            handle,
            kind,
            value: Text::Plain(value),
        };
        Reply::write(&line, to.dialect, &mut out);
    }
    if out.as_bytes().is_empty() {
        return false;
    }
    to.outbox.push_through(&[out.as_bytes()]).unwrap_or(false)
}

/// Tells `to` that `who` added them to their forward list or removed them, in `to`'s dialect.
/// This is the seam for the newer protocols: a dialect that learns of it differently (WLM's
/// `ADL`, an XMPP roster push) gets its own `ListCommands` arm here, the notice stays the same.
/// Returns whether `to` is backed up (`pace.rs`).
pub(super) fn write_reverse_list(
    to: &Member,
    who: &str,
    added: bool,
    serial: u32,
    name: &str,
) -> bool {
    if to.dialect.address_book {
        // MSNP13+: `ADL 0` / `RML 0` with the contact on the reverse list (`l="8"`).
        let notice = ReverseList {
            added,
            handle: who,
            name,
        };
        return to
            .outbox
            .push_through(&[&notice.to_bytes(to.dialect)])
            .unwrap_or(false);
    }
    let notice = reply::lists::RlNotice {
        added,
        serial,
        handle: who,
        name: Text::Plain(name),
    };
    // A handle and a name: a stack buffer, like the presence lines.
    let mut line = LineBuf::<PRESENCE_LINE>::new();
    match to.dialect.list_commands {
        ListCommands::Add | ListCommands::Adc => Reply::write(&notice, to.dialect, &mut line),
    }
    to.outbox.push_through(&[line.as_bytes()]).unwrap_or(false)
}

/// The `RNG` line inviting a callee into a switchboard at `host`, in a stack buffer (a handle,
/// a name and a cookie: shorter than the presence lines the buffer size is chosen for).
pub(super) fn write_rng(out: &mut LineBuf<PRESENCE_LINE>, ring: &Ring, host: &str, to: &Dialect) {
    out.clear();
    let call = &ring.call;
    let line = reply::presence::Rng {
        session: call.sb,
        host,
        port: ring.sb_port,
        cookie: &call.cookie,
        caller_handle: &call.caller_handle,
        caller_name: &call.caller_name,
    };
    Reply::write(&line, to, out);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nln(d: &Dialect) -> String {
        let mut p = Presence::default();
        p.caps = 2789003324;
        p.caps_ex = 48;
        p.set_msnobj(Some("%3Cmsnobj%2F%3E"));
        let mut b = LineBuf::<PRESENCE_LINE>::new();
        write_presence(&mut b, None, Status::Online, "a@b.com", ("A", &p), d);
        String::from_utf8(b.as_bytes().to_vec()).unwrap()
    }

    #[test]
    fn shapes_cover_the_table() {
        let all: Vec<&Dialect> = Dialect::all().collect();
        for a in &all {
            assert!(shape(a) < SHAPES);
            for b in &all {
                if shape(a) == shape(b) {
                    assert_eq!(nln(a), nln(b), "MSNP{} and MSNP{}", a.version, b.version);
                }
            }
        }
    }

    #[test]
    fn presence_lines_per_wlm_version() {
        let v = |n| Dialect::get(n).unwrap();
        assert_eq!(
            nln(v(13)),
            "NLN NLN a@b.com A 2789003324 %3Cmsnobj%2F%3E\r\n"
        );
        assert_eq!(
            nln(v(14)),
            "NLN NLN a@b.com 1 A 2789003324 %3Cmsnobj%2F%3E\r\n"
        );
        assert_eq!(
            nln(v(16)),
            "NLN NLN a@b.com 1 A 2789003324:48 %3Cmsnobj%2F%3E\r\n"
        );
        assert_eq!(
            nln(v(18)),
            "NLN NLN 1:a@b.com A 2789003324:48 %3Cmsnobj%2F%3E\r\n"
        );
        let mut b = LineBuf::<256>::new();
        write_offline(&mut b, v(18), "a@b.com");
        assert_eq!(b.as_bytes(), b"FLN 1:a@b.com\r\n");
        write_offline(&mut b, v(14), "a@b.com");
        assert_eq!(b.as_bytes(), b"FLN a@b.com 1\r\n");
        write_ubx_head(&mut b, v(18), "a@b.com", b"<Data/>");
        assert_eq!(b.as_bytes(), b"UBX 1:a@b.com 7\r\n");
        write_ubx_head(&mut b, v(12), "a@b.com", b"<Data/>");
        assert_eq!(b.as_bytes(), b"UBX a@b.com 7\r\n");
    }
}
