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
//!
//! Who may see the numbers (issue 21 item 2): the viewers the owner allows to see their
//! presence (`may_see_phones`): not on the owner's BL, and on their AL or the owner's BLP is AL.
//! A live BPR goes out only while the viewer can see the owner online (a hidden owner editing
//! a number must not give away being signed in), paced per owner like presence (latest numbers
//! win); a viewer who is not told still gets the numbers at their next SYN.

use crate::model::{Account, Blp, Phones, UserId};

/// Whether `viewer` may see `owner`'s phone numbers (SYN's BPR lines and the live push): the
/// same rule as presence (`Account::allows`). SYN calls this for every FL contact.
pub fn may_see_phones(owner: &Account, viewer: UserId) -> bool {
    phones_visible(owner.blp, owner.lists_of(viewer))
}

/// `may_see_phones` for a viewer on the owner's lists `bits` (the owner's row for the viewer),
/// for a caller that walks the owner's rows or reads them from storage.
pub fn phones_visible(owner_blp: Blp, bits: u8) -> bool {
    crate::model::phones_visible(owner_blp, bits)
}

/// The bit of each BPR field in `fields` order (to merge held-back changes).
pub fn kind_bits(kinds: &[&'static str]) -> u8 {
    FIELD_NAMES
        .iter()
        .enumerate()
        .filter(|(_, k)| kinds.contains(k))
        .fold(0, |m, (i, _)| m | 1 << i)
}

const FIELD_NAMES: [&str; 4] = ["PHH", "PHW", "PHM", "MOB"];

/// The phone fields a contact's BPR carries, in SYN order (MBE is the owner's setting only).
pub fn fields(p: &Phones) -> [(&'static str, &str); 4] {
    [
        (FIELD_NAMES[0], p.home.as_str()),
        (FIELD_NAMES[1], p.work.as_str()),
        (FIELD_NAMES[2], p.mobile.as_str()),
        (FIELD_NAMES[3], if p.mob { "Y" } else { "N" }),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::list;

    #[test]
    fn phones_follow_the_presence_rule() {
        assert!(phones_visible(Blp::Allow, list::RL));
        assert!(!phones_visible(Blp::Allow, list::RL | list::BL));
        assert!(!phones_visible(Blp::Block, list::RL));
        assert!(phones_visible(Blp::Block, list::RL | list::AL));
        assert!(!phones_visible(Blp::Block, list::RL | list::AL | list::BL));
    }

    #[test]
    fn kind_bits_follow_field_order() {
        let bits = kind_bits(&["PHW", "MOB"]);
        assert_eq!(bits, 0b1010);
    }
}
