//! Asynchronous `BPR`: a contact's phone numbers changed (their `PRP`) while I am online.
//!
//! In SYN every FL contact's numbers arrive as BPR (NS.md 3.3). When the contact changes one later,
//! the service told the people who have them on their FL at once (W msnp5.md; W bpr.md
//! "Receive new PHH from user": `BPR 256 anotheruser@hotmail.com PHH 1%20(444)%20222%203333`).
//! Shapes per version are in `dialect::AsyncBpr`. The list version in that line is the watcher's
//! new one: what SYN would dump for them changed, so their serial is bumped in the same
//! transaction as the phone change (NS.md 3.4: bump on every change a SYN would show), and a
//! client that caches its list stays in step. `account.rs` makes the change and builds the
//! notices; the directory writes the lines (`directory/lines.rs`).

use crate::model::Phones;

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
