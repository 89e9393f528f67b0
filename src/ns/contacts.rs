//! ADL, RML and FQY (MSNP13+): the client names its contact list in `<ml>` payloads.
//!
//! The lists themselves live where MSNP2-12 keep them (the address book over SOAP shows the same
//! rows, `http::abservice`), so an `ADL`/`RML` changes a list only where the payload's list bits
//! differ from what is stored: each such difference is one `account::Change` through
//! `account::apply`, with the rule checks and the reverse-list notice the other commands get.
//! A bit that is already set (the usual case: WLM adds over SOAP first, then sends `ADL`) is
//! only a presence subscription: the contact's `ILN` once this session is online.
//!
//! Refusals (W adl.md, Escargot's codes in `protocol::ml`): a malformed payload 241, an empty
//! domain 240, an unknown network id 204, a circle (network 9) 933, Yahoo (32; this server has no
//! Yahoo contacts) 204, an unknown account 205, a full list 210. Nothing is changed by a payload
//! that is refused as a whole; a rule refusal stops at that contact (the ones before it were
//! made, each committed, as a client that sent them one by one would have had them).
//!
//! **Answers held until the initial `ADL`.** libpurple (`notification.c`) counts the `ADL`s it
//! waits for in `adl_fqy`: the initial `ADL` and each `FQY` contact add one, and *every*
//! `ADL n OK` takes one off; "signed on" happens when the count reaches exactly 0. An `ADL` it
//! sends during sign-in before its initial one (authorising a contact from the "added you"
//! prompt, `l="2"`) is not counted, so its answer takes the count to -1 and the initial `ADL`'s
//! answer back to -1 rather than 0: the plug-in then calls itself signed on only when its 30 s
//! login timer fires. So the answer to an `ADL` that arrives before the session's initial one
//! (`<ml l="1">`) is held and sent right after the initial `ADL`'s own answer (or with the
//! session's first `CHG`, if that comes first). The change itself is made and committed at
//! once, as always; only the `OK` waits. WLM sends its initial `ADL` before any other, so it
//! never sees a held answer.
//!
//! `FQY` answers `t="1"` (this server's own network, Passport) for every address that has an
//! account here; an address without one is left out, and when none has one the answer is
//! `208` (W fqy.md "target user not found"). No other network is served here.

use super::account::{self, Change, ChangeError};
use super::{Apply, NsSession};
use crate::limits::MAX_HELD_ADL_ACKS;
use crate::model::{Account, UserId, list};
use crate::protocol::command::contacts::{Adl, Fqy, Rml};
use crate::protocol::ml::{self, Lists, Ml, Network};
use crate::protocol::reply::contacts::{Done, Fqy as FqyAnswer, MlVerb};
use crate::server::session::{Disconnect, Handled};

/// The transaction ids of `ADL`s whose `OK` waits for the session's initial `ADL`.
pub(super) type HeldAcks = heapless::Vec<u32, MAX_HELD_ADL_ACKS>;

impl NsSession {
    /// Holds the `OK` of `ADL trid` if the initial `ADL` has not been answered yet; false when
    /// it must be sent now (already listed, or the hold is full).
    fn hold_adl_ack(&mut self, trid: u32) -> bool {
        if self.listed {
            return false;
        }
        self.held_adl_acks
            .get_or_insert_with(Box::default)
            .push(trid)
            .is_ok()
    }

    /// The session is listed (initial `ADL` answered, or online): answers every held `ADL`.
    pub(super) async fn release_held_adl_acks(&mut self) -> Handled {
        self.listed = true;
        if let Some(held) = self.held_adl_acks.take() {
            for &trid in held.iter() {
                self.send(&Done {
                    verb: MlVerb::Adl,
                    trid,
                })
                .await?;
            }
        }
        Ok(())
    }
}

/// The `<ml>` of a command, or the error code to answer.
fn read(payload: &[u8], lists: Lists) -> Result<Ml, u16> {
    let ml = ml::parse(payload, lists).map_err(|e| {
        log::debug!("{e}");
        e.code()
    })?;
    if ml.contacts.iter().any(|c| c.network != Network::Msn) {
        return Err(204);
    }
    Ok(ml)
}

/// The list changes `ADL`/`RML` stand for: the bits among FL, AL and BL that the payload names
/// and the stored lists do (`RML`) or do not (`ADL`) have. The reverse and pending lists are the
/// other side's and the prompt's: a client naming them changes nothing.
fn differing(wanted: u8, stored: u8, adding: bool) -> impl Iterator<Item = u8> {
    [list::FL, list::AL, list::BL]
        .into_iter()
        .filter(move |bit| wanted & bit != 0 && (stored & bit != 0) != adding)
}

/// The id of `handle` among the account's contacts and its stored list bits.
fn stored(account: &Account, handle: &str) -> (Option<UserId>, u8) {
    match account.find_by_handle(handle) {
        Some((id, c)) => (Some(id), c.lists),
        None => (None, 0),
    }
}

/// `ADL trid len` + `<ml>`.
impl<'a> Apply<'a> for Adl<'a> {
    async fn apply(self, s: &mut NsSession, trid: u32) -> Handled {
        let Some(user) = s.user().cloned() else {
            return Ok(());
        };
        let ml = match read(self.data, Lists::Required) {
            Ok(ml) => ml,
            Err(code) => return s.error(code, trid).await,
        };
        let mut watched: Vec<UserId> = Vec::new();
        for c in &ml.contacts {
            let (mut id, have) = stored(&*s.account(&user).await?, &c.handle);
            // AL and BL exclude each other on the stored lists every dialect reads: the one
            // the payload names replaces the other (WLM sends RML first; libpurple not always).
            for bit in differing(c.lists, have, true) {
                let opposite = match bit {
                    list::AL => list::BL,
                    list::BL => list::AL,
                    _ => 0,
                };
                if let Some(target) = id
                    && have & opposite != 0
                {
                    let off = Change::Remove {
                        target,
                        list: opposite,
                    };
                    account::apply(&s.ns, user.id, off).await?;
                }
                let add = Change::Add {
                    handle: c.handle.clone(),
                    list: bit,
                    name: None,
                    group: None,
                    exclusive_al_bl: true,
                };
                match account::apply(&s.ns, user.id, add).await {
                    Ok(outcome) => id = id.or(outcome.contact.map(|(t, _)| t)),
                    Err(ChangeError::Refused(r)) => return s.error(r.code(205), trid).await,
                    Err(e) => return Err(e.into()),
                }
            }
            if c.lists & list::FL != 0
                && let Some(id) = id
            {
                watched.push(id);
            }
        }
        // libpurple's sign-in count (module docs): an ADL before the initial one is answered
        // after it.
        if ml.initial || !s.hold_adl_ack(trid) {
            s.send(&Done {
                verb: MlVerb::Adl,
                trid,
            })
            .await?;
        }
        if ml.initial {
            s.release_held_adl_acks().await?;
        }
        // Presence: before the first CHG the ILNs come with it (`presence.rs`), for every FL
        // contact, which these now are; after it, for the contacts this ADL named.
        if s.announced {
            let d = s.dialect();
            let only: Vec<Option<UserId>> = if ml.initial {
                vec![None]
            } else {
                watched.into_iter().map(Some).collect()
            };
            for one in only {
                let lines =
                    s.ns.directory
                        .initial_presence(user.id, d, trid, one)
                        .await?;
                for l in lines {
                    s.conn.send(&[&l]).await?;
                }
            }
        }
        Ok(())
    }
}

/// `RML trid len` + `<ml>`.
impl<'a> Apply<'a> for Rml<'a> {
    async fn apply(self, s: &mut NsSession, trid: u32) -> Handled {
        let Some(user) = s.user().cloned() else {
            return Ok(());
        };
        let ml = match read(self.data, Lists::Required) {
            Ok(ml) => ml,
            Err(code) => return s.error(code, trid).await,
        };
        for c in &ml.contacts {
            let (id, have) = stored(&*s.account(&user).await?, &c.handle);
            let Some(target) = id else { continue };
            for bit in differing(c.lists, have, false) {
                let off = Change::Remove { target, list: bit };
                account::apply(&s.ns, user.id, off).await?;
            }
        }
        s.send(&Done {
            verb: MlVerb::Rml,
            trid,
        })
        .await
    }
}

/// `FQY trid len` + `<ml>`: network 1 for each address with an account here (module docs).
impl<'a> Apply<'a> for Fqy<'a> {
    async fn apply(self, s: &mut NsSession, trid: u32) -> Handled {
        if s.user().is_none() {
            return Ok(());
        }
        let mut ml = match read(self.data, Lists::Ignored) {
            Ok(ml) => ml,
            Err(code) => return s.error(code, trid).await,
        };
        let handles: Vec<String> = ml.contacts.iter().map(|c| c.handle.clone()).collect();
        let known =
            s.ns.storage
                .run(move |db| {
                    handles
                        .iter()
                        .map(|h| db.lookup(h).map(|found| found.is_some()))
                        .collect::<Result<Vec<bool>, _>>()
                })
                .await?
                .map_err(|e| Disconnect::new(format!("FQY lookup: {e}")))?;
        let mut known = known.into_iter();
        ml.contacts.retain(|_| known.next().unwrap_or(false));
        if ml.contacts.is_empty() {
            return s.error(208, trid).await;
        }
        let payload = ml::write(&ml, Lists::Ignored);
        s.send(&FqyAnswer {
            trid,
            payload: &payload,
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_real_differences_are_changes() {
        let fl_al = list::FL | list::AL;
        assert_eq!(
            differing(fl_al, 0, true).collect::<Vec<_>>(),
            [list::FL, list::AL]
        );
        assert_eq!(
            differing(fl_al, fl_al, true).count(),
            0,
            "already so: presence only"
        );
        assert_eq!(
            differing(fl_al, list::FL, false).collect::<Vec<_>>(),
            [list::FL]
        );
        assert_eq!(differing(list::RL | list::PL, 0, true).count(), 0);
        assert_eq!(
            differing(list::BL, list::AL, true).collect::<Vec<_>>(),
            [list::BL]
        );
    }
}
