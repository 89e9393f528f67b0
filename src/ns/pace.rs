//! Pacing of a session's presence announcements (CHG, UUX, own-name changes via REA/PRP MFN)
//! and of the notices its account changes cause: phone numbers (`BPR`) and reverse-list
//! notices (`ADD/ADC/REM 0 RL` to the contacts it adds to or removes from its FL).
//!
//! Presence is state, not a stream: a watcher only needs the latest status, name and personal
//! message of each contact. While every watcher keeps up, announcements go out at once (the
//! fan-out benchmark's back-to-back status changes are not slowed). Once the last announcement
//! found a watcher backed up (its outbox past the high-water mark, so the kernel's buffers are
//! full too), the session is paced: `PRESENCE_BURST` announcements, then one per
//! `PRESENCE_INTERVAL`; changes made faster are still stored and acknowledged, but their
//! announcement is held back and merged, and the latest state goes out when the next token is
//! due (the session's deadline wakes it). A contact flooding CHG therefore cannot push a slow
//! reader over its outbox limit. The fan-out itself is unchanged (no allocation per watcher).
//!
//! Phone and reverse-list notices are state too (issue 21 item 3: a user pipelining
//! `ADD FL you`/`REM FL you` or alternating `PRP PHH` cut the target off with "outbound queue
//! full"): held back, they merge into "which fields changed" and "which contacts to tell", and
//! what goes out is the state when the token is due (the contact's current numbers, whether the
//! target is on the user's FL now), so the last word is always the latest state.

use crate::limits::{PACED_REVERSE_NOTICES, PRESENCE_BURST, PRESENCE_INTERVAL};
use crate::model::UserId;
use std::time::Instant;

/// Announcement kinds, merged while held back: the status (NLN/FLN).
pub const STATUS: u8 = 1;
/// The personal message (UBX).
pub const PSM: u8 = 2;
/// Phone numbers (BPR to the viewers allowed to see them).
pub const PHONES: u8 = 4;
/// Reverse-list notices (to the contacts in `Announcement::reverse_to` / `Pace::reverse`).
pub const REVERSE: u8 = 8;

/// One announcement to make or hold back.
#[derive(Clone, Copy, Debug, Default)]
pub struct Announcement {
    /// `STATUS | PSM | PHONES | REVERSE`.
    pub what: u8,
    /// With `PHONES`: which fields changed (`bpr::kind_bits`).
    pub phone_kinds: u8,
    /// With `REVERSE`: the contact to tell.
    pub reverse_to: Option<UserId>,
}

/// A token bucket and the announcement state it paces: a few bytes and an instant per session.
pub struct Pace {
    tokens: u8,
    /// Announcements held back (`STATUS | PSM | PHONES | REVERSE`).
    pub deferred: u8,
    /// Phone fields changed while held back (`bpr::kind_bits`).
    pub phone_kinds: u8,
    /// Contacts owed a reverse-list notice (at most `PACED_REVERSE_NOTICES`, no repeats).
    pub reverse: Vec<UserId>,
    /// Whether the last announcement found a watcher backed up: pacing applies.
    pub congested: bool,
    refilled: Option<Instant>,
}

impl Default for Pace {
    fn default() -> Self {
        Pace {
            tokens: PRESENCE_BURST,
            deferred: 0,
            phone_kinds: 0,
            reverse: Vec::new(),
            congested: false,
            refilled: None,
        }
    }
}

impl Pace {
    fn refill(&mut self, now: Instant) {
        let at = *self.refilled.get_or_insert(now);
        let gained = now.saturating_duration_since(at).as_millis() / PRESENCE_INTERVAL.as_millis();
        if gained == 0 {
            return;
        }
        if gained >= PRESENCE_BURST as u128 {
            self.tokens = PRESENCE_BURST;
            self.refilled = Some(now);
        } else {
            self.tokens = (self.tokens + gained as u8).min(PRESENCE_BURST);
            self.refilled = Some(at + PRESENCE_INTERVAL * gained as u32);
        }
    }

    /// Whether an announcement may go out now; if not, `what` is held back.
    pub fn take(&mut self, now: Instant, what: u8) -> bool {
        self.refill(now);
        if !self.congested && self.deferred == 0 {
            return true;
        }
        if self.tokens > 0 {
            self.tokens -= 1;
            true
        } else {
            self.deferred |= what;
            false
        }
    }

    /// Holds back the parts of `a` that `take` refused (its kind is already in `deferred`).
    pub fn hold(&mut self, a: &Announcement) {
        self.phone_kinds |= a.phone_kinds;
        if let Some(t) = a.reverse_to
            && !self.reverse.contains(&t)
            && self.reverse.len() < PACED_REVERSE_NOTICES
        {
            self.reverse.push(t);
        }
    }

    /// Whether pacing has nothing left to do: not congested, nothing held back, and the bucket
    /// full again (the user has been quiet for a while).
    pub fn at_rest(&mut self, now: Instant) -> bool {
        self.refill(now);
        !self.congested && self.deferred == 0 && self.tokens == PRESENCE_BURST
    }

    /// When held-back announcements may go out, if there are any.
    pub fn due(&self) -> Option<Instant> {
        if self.deferred == 0 {
            return None;
        }
        Some(
            self.refilled
                .map_or_else(Instant::now, |at| at + PRESENCE_INTERVAL),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burst_then_one_per_interval() {
        let mut p = Pace::default();
        let t0 = Instant::now();
        for _ in 0..1000 {
            assert!(p.take(t0, STATUS), "no pacing while nobody is backed up");
        }
        p.congested = true;
        for _ in 0..PRESENCE_BURST {
            assert!(p.take(t0, STATUS));
        }
        assert!(!p.take(t0, STATUS));
        assert!(!p.take(t0, PSM));
        assert_eq!(p.deferred, STATUS | PSM);
        assert_eq!(p.due(), Some(t0 + PRESENCE_INTERVAL));
        assert!(p.take(t0 + PRESENCE_INTERVAL, STATUS));
        assert!(!p.take(t0 + PRESENCE_INTERVAL, STATUS));
        let later = t0 + PRESENCE_INTERVAL * 100;
        for _ in 0..PRESENCE_BURST {
            assert!(p.take(later, STATUS));
        }
        assert!(!p.take(later, STATUS));
    }

    #[test]
    fn held_notices_merge() {
        let mut p = Pace::default();
        let t0 = Instant::now();
        p.congested = true;
        for _ in 0..PRESENCE_BURST {
            assert!(p.take(t0, REVERSE));
        }
        for i in 0..10 {
            let a = Announcement {
                what: REVERSE | PHONES,
                phone_kinds: 1 << (i % 2),
                reverse_to: Some(7 + i % 3),
            };
            assert!(!p.take(t0, a.what));
            p.hold(&a);
        }
        assert_eq!(p.deferred, REVERSE | PHONES);
        assert_eq!(p.phone_kinds, 0b11);
        assert_eq!(p.reverse, [7, 8, 9]);
    }
}
