//! Asynchronous `BPR`: a contact's phone numbers changed (their `PRP`) while I am online.
//!
//! In SYN every FL contact's numbers arrive as BPR (NS.md 3.3). When the contact changes one later,
//! the service told the people who have them on their FL at once (W msnp5.md; W bpr.md
//! "Receive new PHH from user": `BPR 256 anotheruser@hotmail.com PHH 1%20(444)%20222%203333`).
//! Shapes per version are in `dialect::AsyncBpr`. The list version in that line is the watcher's
//! new one: what SYN would dump for them changed, so their serial is bumped in the same
//! transaction as the phone change (NS.md 3.4: bump on every change a SYN would show), and a
//! client that caches its list stays in step.

use super::presence::PRESENCE_LINE;
use crate::dialect::AsyncBpr;
use crate::model::{Phones, UserId};
use crate::protocol::write::{Enc, LineBuf};
use crate::server::hub::Hub;
use std::fmt::Write as _;

/// The phone fields a contact's BPR carries, in SYN order (MBE is the owner's setting only).
pub fn fields(p: &Phones) -> [(&'static str, &str); 4] {
    [
        ("PHH", p.home.as_str()),
        ("PHW", p.work.as_str()),
        ("PHM", p.mobile.as_str()),
        ("MOB", if p.mob { "Y" } else { "N" }),
    ]
}

/// The BPR fields that differ between `old` and `new`.
pub fn changed(old: &Phones, new: &Phones) -> Vec<&'static str> {
    fields(old)
        .iter()
        .zip(fields(new).iter())
        .filter(|(a, b)| a.1 != b.1)
        .map(|(_, b)| b.0)
        .collect()
}

/// Updates each online watcher's copy of my numbers and pushes them the changed fields.
/// `watchers` holds each watcher's new list serial, from the committed transaction.
pub fn announce(
    hub: &Hub,
    me: UserId,
    handle: &str,
    phones: &Phones,
    kinds: &[&'static str],
    watchers: &[(UserId, u32)],
) {
    for &(wid, serial) in watchers {
        let Some(w) = hub.get(wid) else { continue };
        {
            let mut st = w.state();
            st.account.serial = serial;
            if let Some(c) = st.account.contacts.get_mut(&me) {
                c.phones = phones.clone();
            }
        }
        // At most four lines of a bounded handle and value (`MAX_PRP_VALUE`): a stack buffer.
        let mut out = LineBuf::<PRESENCE_LINE>::new();
        for (kind, value) in fields(phones).iter().filter(|(k, _)| kinds.contains(k)) {
            let _ = match w.dialect.async_bpr {
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
            let _ = w.outbox.push(&[out.as_bytes()]);
        }
    }
}
