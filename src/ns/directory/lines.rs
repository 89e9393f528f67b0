//! Line formatting: the lines the directory sends unprompted (NLN ILN FLN UBX BPR RNG and the
//! reverse-list notices), each in the receiving session's dialect. Presence lines are written
//! into stack buffers: the fan-out formats a line once per dialect shape, never per watcher.

use super::presence::{Member, Presence};
use crate::dialect::{AsyncBpr, Dialect, ListCommands};
use crate::model::{Phones, Status};
use crate::ns::bus::{Notice, Ring};
use crate::protocol::percent::Enc;
use crate::protocol::reply::Reply;
use crate::protocol::reply::contacts::ReverseList;
use crate::protocol::write::LineBuf;
use std::fmt::Write;

pub use crate::limits::PRESENCE_LINE;

/// Which presence fields a dialect carries: 0 = none, 1 = caps, 2 = caps and MSNObject.
pub(super) fn shape(d: &Dialect) -> usize {
    match (d.presence_caps, d.presence_msnobj) {
        (false, _) => 0,
        (true, false) => 1,
        (true, true) => 2,
    }
}

/// Writes `NLN`/`ILN trid` with CRLF for the given fields in `shape`.
pub(super) fn write_presence(
    out: &mut LineBuf<PRESENCE_LINE>,
    verb_trid: (&str, Option<u32>),
    status: Status,
    handle: &str,
    (friendly, presence): (&str, &Presence),
    shape: usize,
) {
    out.clear();
    let (verb, trid) = verb_trid;
    let _ = match trid {
        Some(t) => write!(out, "{verb} {t} "),
        None => write!(out, "{verb} "),
    };
    let _ = write!(out, "{} {handle} {}", status.code(), Enc(friendly));
    if shape >= 1 {
        let _ = write!(out, " {}", presence.caps);
    }
    if shape >= 2
        && let Some(o) = presence.msnobj()
    {
        let _ = write!(out, " {o}");
    }
    let _ = out.write_str("\r\n");
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
            write_presence(
                &mut b,
                ("NLN", None),
                *status,
                handle,
                (name, &p),
                shape(to.dialect),
            );
            let _ = to.outbox.push(&[b.as_bytes()]);
        }
        None => {
            let mut b = LineBuf::<256>::new();
            let _ = write!(b, "FLN {handle}\r\n");
            let _ = to.outbox.push(&[b.as_bytes()]);
        }
    }
}

/// The ILN line (and UBX where the viewer speaks MSNP11+) for one contact, in `shape(viewer)`.
pub fn push_initial(
    out: &mut Vec<Vec<u8>>,
    viewer: &Dialect,
    trid: u32,
    (status, handle, friendly, presence): (Status, &str, &str, &Presence),
) {
    let mut b = LineBuf::<PRESENCE_LINE>::new();
    write_presence(
        &mut b,
        ("ILN", Some(trid)),
        status,
        handle,
        (friendly, presence),
        shape(viewer),
    );
    out.push(b.as_bytes().to_vec());
    if viewer.personal_message
        && let Some(psm) = presence.psm()
    {
        let mut l = format!("UBX {handle} {}\r\n", psm.len()).into_bytes();
        l.extend_from_slice(psm);
        out.push(l);
    }
}

/// The asynchronous BPR lines for a contact's changed phone numbers, in `to`'s dialect.
pub(super) fn write_bpr(
    to: &Member,
    handle: &str,
    phones: &Phones,
    kinds: &[&'static str],
    serial: u32,
) {
    // At most four lines of a bounded handle and value (`MAX_PRP_VALUE`): a stack buffer.
    let mut out = LineBuf::<PRESENCE_LINE>::new();
    for (kind, value) in crate::ns::bpr::fields(phones)
        .iter()
        .filter(|(k, _)| kinds.contains(k))
    {
        let _ = match to.dialect.async_bpr {
            AsyncBpr::None => break,
            AsyncBpr::SerialHandle => write!(out, "BPR {serial} {handle} {kind}"),
            AsyncBpr::Handle => write!(out, "BPR {handle} {kind}"),
        };
        let _ = if value.is_empty() {
            out.write_str("\r\n")
        } else {
            write!(out, " {}\r\n", Enc(value))
        };
    }
    if !out.as_bytes().is_empty() {
        let _ = to.outbox.push(&[out.as_bytes()]);
    }
}

/// Tells `to` that `who` added them to their forward list or removed them, in `to`'s dialect.
/// This is the seam for the newer protocols: a dialect that learns of it differently (WLM's
/// `ADL`, an XMPP roster push) gets its own `ListCommands` arm here, the notice stays the same.
pub(super) fn write_reverse_list(to: &Member, who: &str, added: bool, serial: u32, name: &str) {
    if to.dialect.address_book {
        // MSNP13+: `ADL 0` / `RML 0` with the contact on the reverse list (`l="8"`).
        let notice = ReverseList {
            added,
            handle: who,
            name,
        };
        let _ = to.outbox.push(&[&notice.to_bytes(to.dialect)]);
        return;
    }
    let line = match (to.dialect.list_commands, added) {
        (ListCommands::Add, true) => format!("ADD 0 RL {serial} {who} {}\r\n", Enc(name)),
        (ListCommands::Add, false) => format!("REM 0 RL {serial} {who}\r\n"),
        (ListCommands::Adc, true) => format!("ADC 0 RL N={who} F={}\r\n", Enc(name)),
        (ListCommands::Adc, false) => format!("REM 0 RL N={who}\r\n"),
    };
    let _ = to.outbox.push(&[line.as_bytes()]);
}

/// The `RNG` line inviting a callee into a switchboard at `host`.
pub(super) fn write_rng(ring: &Ring, host: &str) -> String {
    let call = &ring.call;
    format!(
        "RNG {} {host}:{} CKI {} {} {}\r\n",
        call.sb, ring.sb_port, call.cookie, call.caller_handle, call.caller_name
    )
}
