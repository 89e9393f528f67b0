//! CHG, ILN, NLN/FLN fan-out, REA, PRP, SBP, UUX/UBX.
//!
//! Fan-out formats each dialect's line once into a stack buffer and copies the bytes into every
//! watcher's outbox: no heap allocation per watcher, and the work is linear in their number.

use super::{NsSession, pace};
use crate::dialect::Dialect;
use crate::limits::{MAX_FRIENDLY_ENCODED, MAX_PRP_VALUE};
use crate::model::{Status, UserId, list};
use crate::protocol::Command;
use crate::protocol::names::{self, encoded_len};
use crate::protocol::write::{Enc, LineBuf};
use crate::server::hub::{Hub, OnlineUser, UserState};
use crate::server::session::{Disconnect, Handled};
use std::fmt::Write;
use std::sync::Arc;

/// Longest presence line: handle, encoded name and an MSNObject of up to a full command line.
pub(super) const PRESENCE_LINE: usize = 4096;

/// Which presence fields a dialect carries: 0 = none, 1 = caps, 2 = caps and MSNObject.
fn shape(d: &Dialect) -> usize {
    match (d.presence_caps, d.presence_msnobj) {
        (false, _) => 0,
        (true, false) => 1,
        (true, true) => 2,
    }
}

/// Writes `NLN`/`ILN trid` (without CRLF handling by the caller: included) for `st` in `shape`.
fn write_presence(
    out: &mut LineBuf<PRESENCE_LINE>,
    verb_trid: (&str, Option<u32>),
    status: Status,
    handle: &str,
    st: &UserState,
    shape: usize,
) {
    out.clear();
    let (verb, trid) = verb_trid;
    let _ = match trid {
        Some(t) => write!(out, "{verb} {t} "),
        None => write!(out, "{verb} "),
    };
    let _ = write!(
        out,
        "{} {handle} {}",
        status.code(),
        Enc(&st.account.friendly)
    );
    if shape >= 1 {
        let _ = write!(out, " {}", st.presence.caps);
    }
    if shape >= 2
        && let Some(o) = &st.presence.msnobj
    {
        let _ = write!(out, " {o}");
    }
    let _ = out.write_str("\r\n");
}

/// Sends `user`'s current presence to every watcher allowed to see it: NLN if visible. Returns
/// whether some watcher is backed up (its outbox past the high-water mark): see `pace.rs`.
pub fn broadcast(hub: &Hub, user: &OnlineUser) -> bool {
    let st = user.state();
    let Some(status) = st.presence.visible_status() else {
        return false;
    };
    let mut congested = false;
    let mut lines: [Option<LineBuf<PRESENCE_LINE>>; 3] = [None, None, None];
    for (&wid, c) in &st.account.contacts {
        if c.lists & list::RL == 0 || !st.account.allows(wid) {
            continue;
        }
        hub.with(wid, |w| {
            let sh = shape(w.dialect);
            let line = lines[sh].get_or_insert_with(|| {
                let mut b = LineBuf::new();
                write_presence(&mut b, ("NLN", None), status, &user.handle, &st, sh);
                b
            });
            congested |= w.outbox.push_relay(&[line.as_bytes()]).unwrap_or(false);
        });
    }
    congested
}

/// Sends `user`'s personal message to every watcher allowed to see it who speaks MSNP11+.
fn broadcast_psm(hub: &Hub, user: &OnlineUser) -> bool {
    let st = user.state();
    if st.presence.visible_status().is_none() {
        return false;
    }
    let mut congested = false;
    let body: &[u8] = st.presence.psm.as_deref().unwrap_or_default();
    let mut head = LineBuf::<256>::new();
    let _ = write!(head, "UBX {} {}\r\n", user.handle, body.len());
    for (&wid, c) in &st.account.contacts {
        if c.lists & list::RL != 0 && st.account.allows(wid) {
            hub.with(wid, |w| {
                if w.dialect.personal_message {
                    congested |= w
                        .outbox
                        .push_relay(&[head.as_bytes(), body])
                        .unwrap_or(false);
                }
            });
        }
    }
    congested
}

/// Announces a change of this session's user (`pace::STATUS`, `pace::PSM`), or holds it back
/// when the user changes faster than the pace allows; `0` sends what was held back. What goes
/// out is always the current state, so held-back changes merge into one.
pub(super) fn announce(s: &mut NsSession, what: u8) {
    let Some(user) = s.user().cloned() else {
        return;
    };
    let now = std::time::Instant::now();
    if !s.pace.take(now, what) {
        return;
    }
    let what = what | std::mem::take(&mut s.pace.deferred);
    let mut congested = false;
    if what & pace::STATUS != 0 {
        let visible = user.state().presence.visible_status().is_some();
        if visible {
            congested |= broadcast(&s.hub, &user);
        } else if s.pace.shown {
            // Going hidden looks like signing out to whoever could see us.
            broadcast_offline(&s.hub, &user, &user.state());
        }
        s.pace.shown = visible;
    }
    if what & pace::PSM != 0 {
        congested |= broadcast_psm(&s.hub, &user);
    }
    s.pace.congested = congested;
}

/// Tells every watcher that could see `user` that it went offline.
fn broadcast_offline(hub: &Hub, user: &OnlineUser, st: &UserState) {
    let mut line = LineBuf::<256>::new();
    let _ = write!(line, "FLN {}\r\n", user.handle);
    for (&wid, c) in &st.account.contacts {
        if c.lists & list::RL != 0 && st.account.allows(wid) {
            hub.with(wid, |w| {
                let _ = w.outbox.push(&[line.as_bytes()]);
            });
        }
    }
}

/// Re-evaluates what `viewer` sees of `user` after a privacy change and tells them if it changed.
pub fn refresh_for(hub: &Hub, user: &OnlineUser, viewer: UserId, saw_before: bool) {
    let st = user.state();
    let sees = st.seen_by(viewer).is_some();
    let watches = st.account.lists_of(viewer) & list::RL != 0;
    if sees == saw_before || !watches {
        return;
    }
    hub.with(viewer, |w| {
        if sees {
            let mut b = LineBuf::<PRESENCE_LINE>::new();
            let status = st.presence.visible_status().expect("sees implies visible");
            write_presence(
                &mut b,
                ("NLN", None),
                status,
                &user.handle,
                &st,
                shape(w.dialect),
            );
            let _ = w.outbox.push(&[b.as_bytes()]);
        } else {
            let mut b = LineBuf::<256>::new();
            let _ = write!(b, "FLN {}\r\n", user.handle);
            let _ = w.outbox.push(&[b.as_bytes()]);
        }
    });
}

/// Whether `viewer` currently sees `user` online.
pub fn sees(user: &OnlineUser, viewer: UserId) -> bool {
    user.state().seen_by(viewer).is_some()
}

/// The end of a notification session: FLN to watchers unless a newer login took over.
pub fn sign_out(hub: &Hub, user: &Arc<OnlineUser>) {
    if !hub.unregister(user) {
        return;
    }
    let st = user.state();
    if st.presence.visible_status().is_some() {
        broadcast_offline(hub, user, &st);
    }
    drop(st);
    hub.switchboards.sign_out(user.id);
}

/// The ILN (and MSNP11+ UBX) lines for `viewer`'s online contacts, with `trid`.
pub fn initial_presence(
    hub: &Hub,
    viewer: &OnlineUser,
    trid: u32,
    only: Option<UserId>,
) -> Vec<Vec<u8>> {
    let fl: Vec<UserId> = {
        let st = viewer.state();
        st.account
            .contacts
            .iter()
            .filter(|(id, c)| c.lists & list::FL != 0 && only.is_none_or(|o| o == **id))
            .map(|(id, _)| *id)
            .collect()
    };
    let sh = shape(viewer.dialect);
    let mut out = Vec::new();
    for cid in fl {
        let Some(c) = hub.get(cid) else { continue };
        let st = c.state();
        let Some(status) = st.seen_by(viewer.id) else {
            continue;
        };
        let mut b = LineBuf::<PRESENCE_LINE>::new();
        write_presence(&mut b, ("ILN", Some(trid)), status, &c.handle, &st, sh);
        out.push(b.as_bytes().to_vec());
        if viewer.dialect.personal_message
            && let Some(psm) = &st.presence.psm
        {
            let mut l = format!("UBX {} {}\r\n", c.handle, psm.len()).into_bytes();
            l.extend_from_slice(psm);
            out.push(l);
        }
    }
    out
}

pub async fn chg(s: &mut NsSession, cmd: &Command<'_>) -> Handled {
    let trid = cmd.trid.unwrap_or(0);
    let Some(user) = s.user().cloned() else {
        return Ok(());
    };
    let d = s.dialect();
    let Some(status) = cmd.args.first().and_then(|a| Status::parse(a)) else {
        // Includes `CHG trid FLN`: clients cannot set themselves offline that way.
        return s.error(201, trid).await;
    };
    let caps = match cmd.args.get(1) {
        None => 0,
        Some(c) => match c.parse::<u32>() {
            Ok(c) => c,
            Err(_) => return s.error(201, trid).await,
        },
    };
    let msnobj = cmd
        .args
        .get(2)
        .filter(|_| d.presence_msnobj)
        .map(|o| o.to_string());
    {
        let mut st = user.state();
        st.presence.status = Some(status);
        if d.presence_caps {
            st.presence.caps = caps;
        }
        if d.presence_msnobj {
            st.presence.msnobj = msnobj.as_deref().map(Box::from);
        }
    }
    announce(s, pace::STATUS);
    let mut line = format!("CHG {trid} {}", status.code());
    if d.presence_caps {
        line.push_str(&format!(" {caps}"));
    }
    if let Some(o) = &msnobj {
        line.push(' ');
        line.push_str(o);
    }
    s.reply(&line).await?;
    if !s.announced {
        s.announced = true;
        for l in initial_presence(&s.hub, &user, trid, None) {
            s.conn.send(&[&l]).await?;
        }
    }
    Ok(())
}

/// Decodes a friendly name and applies the length rule (over the limit: the service disconnected).
fn friendly(raw: &str) -> Result<Option<String>, Disconnect> {
    if raw.len() > MAX_FRIENDLY_ENCODED
        || encoded_len(&names::decode(raw).unwrap_or_default()) > MAX_FRIENDLY_ENCODED
    {
        return Err(Disconnect::new(
            "friendly name longer than 387 encoded bytes",
        ));
    }
    Ok(names::decode(raw).ok().filter(|n| !n.is_empty()))
}

/// Stores a new own friendly name and announces it.
async fn set_own_name(
    s: &mut NsSession,
    user: &Arc<OnlineUser>,
    name: String,
) -> Result<u32, Disconnect> {
    let hub = s.hub.clone();
    let id = user.id;
    let encoded = Enc(&name).to_string();
    let serial = s
        .hub
        .storage
        .run(move |db| {
            let serial = db.write(|w| {
                w.set_friendly(id, &name)?;
                w.bump_serial(id)
            })?;
            hub.mirror(id, |a| {
                a.friendly = name;
                a.serial = serial;
            });
            Ok::<_, crate::storage::DbError>(serial)
        })
        .await?
        .map_err(|e| Disconnect::new(format!("saving friendly name: {e}")))?;
    announce(s, pace::STATUS);
    s.hub.switchboards.rename(id, &encoded);
    Ok(serial)
}

/// Renames my stored name for one contact.
async fn set_contact_name(
    s: &mut NsSession,
    user: &Arc<OnlineUser>,
    contact: UserId,
    name: String,
) -> Result<u32, Disconnect> {
    let hub = s.hub.clone();
    let id = user.id;
    s.hub
        .storage
        .run(move |db| {
            let (serial, row) = db.write(|w| {
                let mut row = w
                    .contact(id, contact)?
                    .ok_or(crate::storage::DbError::NotFound)?;
                row.name = name;
                w.put_contact(id, contact, &row)?;
                Ok((w.bump_serial(id)?, row))
            })?;
            hub.mirror(id, |a| {
                a.contacts.insert(contact, row);
                a.serial = serial;
            });
            Ok::<_, crate::storage::DbError>(serial)
        })
        .await?
        .map_err(|e| Disconnect::new(format!("renaming contact: {e}")))
}

pub async fn rea(s: &mut NsSession, cmd: &Command<'_>) -> Handled {
    let trid = cmd.trid.unwrap_or(0);
    let Some(user) = s.user().cloned() else {
        return Ok(());
    };
    let (Some(&handle), Some(&raw)) = (cmd.args.first(), cmd.args.get(1)) else {
        return Err(Disconnect::new("REA with missing arguments"));
    };
    let Some(name) = friendly(raw)? else {
        return s.error(209, trid).await;
    };
    let handle = handle.to_ascii_lowercase();
    let serial = if handle == user.handle {
        set_own_name(s, &user, name).await?
    } else {
        let found = user
            .state()
            .account
            .find_by_handle(&handle)
            .map(|(id, _)| id);
        match found {
            Some(cid) => set_contact_name(s, &user, cid, name).await?,
            None => return s.error(216, trid).await,
        }
    };
    s.reply(&format!("REA {trid} {serial} {handle} {raw}"))
        .await
}

pub async fn sbp(s: &mut NsSession, cmd: &Command<'_>) -> Handled {
    let trid = cmd.trid.unwrap_or(0);
    let Some(user) = s.user().cloned() else {
        return Ok(());
    };
    let (Some(&guid), Some(&kind), Some(&raw)) =
        (cmd.args.first(), cmd.args.get(1), cmd.args.get(2))
    else {
        return Err(Disconnect::new("SBP with missing arguments"));
    };
    if kind != "MFN" {
        // Phone numbers of contacts are not stored server-side; acknowledge as the service did.
        return s.reply(&format!("SBP {trid} {guid} {kind} {raw}")).await;
    }
    let Some(name) = friendly(raw)? else {
        return s.error(209, trid).await;
    };
    let found = user.state().account.find_by_guid(guid).map(|(id, _)| id);
    match found {
        Some(cid) => {
            set_contact_name(s, &user, cid, name).await?;
            s.reply(&format!("SBP {trid} {guid} MFN {raw}")).await
        }
        None => s.error(216, trid).await,
    }
}

pub async fn prp(s: &mut NsSession, cmd: &Command<'_>) -> Handled {
    let trid = cmd.trid.unwrap_or(0);
    let Some(user) = s.user().cloned() else {
        return Ok(());
    };
    let d = s.dialect();
    let Some(&kind) = cmd.args.first() else {
        return Err(Disconnect::new("PRP without a type"));
    };
    let raw = cmd.args.get(1).copied().unwrap_or("");
    if kind.len() > 3 {
        return Err(Disconnect::new("PRP with an overlong type"));
    }
    if raw.len() > MAX_PRP_VALUE && kind != "MFN" {
        return Err(Disconnect::new("PRP value longer than allowed"));
    }
    let echo = if raw.is_empty() {
        String::new()
    } else {
        format!(" {raw}")
    };
    if kind == "MFN" {
        if d.rea {
            return s.error(715, trid).await;
        }
        let Some(name) = friendly(raw)? else {
            return s.error(209, trid).await;
        };
        set_own_name(s, &user, name).await?;
        return s.reply(&format!("PRP {trid} MFN {raw}")).await;
    }
    let mut phones = user.state().account.phones().clone();
    let Ok(value) = names::decode(raw) else {
        return s.error(201, trid).await;
    };
    match kind {
        "PHH" => phones.home = value,
        "PHW" => phones.work = value,
        "PHM" => phones.mobile = value,
        "MOB" | "MBE" => {
            let flag = match raw {
                "Y" => true,
                "N" | "" => false,
                _ => return s.error(201, trid).await,
            };
            if kind == "MOB" {
                phones.mob = flag
            } else {
                phones.mbe = flag
            }
        }
        _ => return s.error(715, trid).await,
    }
    if !phones.mbe {
        phones.mob = false;
    }
    // Who has me on their FL sees my numbers (SYN BPR); they hear of a change at once, unless
    // I block them.
    let (kinds, watchers): (Vec<&'static str>, Vec<UserId>) = {
        let st = user.state();
        let kinds = super::bpr::changed(st.account.phones(), &phones);
        let watchers = if kinds.is_empty() {
            Vec::new()
        } else {
            st.account
                .contacts
                .iter()
                .filter(|(_, c)| c.lists & list::RL != 0 && c.lists & list::BL == 0)
                .map(|(id, _)| *id)
                .collect()
        };
        (kinds, watchers)
    };
    let hub = s.hub.clone();
    let id = user.id;
    let saved = phones.clone();
    let (serial, bumped) = s
        .hub
        .storage
        .run(move |db| {
            let (serial, bumped) = db.write(|w| {
                w.set_phones(id, &phones)?;
                let serial = w.bump_serial(id)?;
                let mut bumped = Vec::with_capacity(watchers.len());
                for wid in watchers {
                    bumped.push((wid, w.bump_serial(wid)?));
                }
                Ok((serial, bumped))
            })?;
            hub.mirror(id, |a| {
                a.phones = phones.boxed();
                a.serial = serial;
            });
            Ok::<_, crate::storage::DbError>((serial, bumped))
        })
        .await?
        .map_err(|e| Disconnect::new(format!("saving phone numbers: {e}")))?;
    super::bpr::announce(&s.hub, id, &user.handle, &saved, &kinds, &bumped);
    if d.list_serials {
        s.reply(&format!("PRP {trid} {serial} {kind}{echo}")).await
    } else {
        s.reply(&format!("PRP {trid} {kind}{echo}")).await
    }
}

/// MSNP11 personal message: stored in memory, relayed as UBX to watchers who speak MSNP11+.
pub async fn uux(s: &mut NsSession, cmd: &Command<'_>) -> Handled {
    let trid = cmd.trid.unwrap_or(0);
    let Some(user) = s.user().cloned() else {
        return Ok(());
    };
    let body = cmd.payload;
    let text =
        std::str::from_utf8(body).map_err(|_| Disconnect::new("UUX payload is not UTF-8"))?;
    let t = text.trim();
    if !(t.is_empty() || (t.starts_with("<Data>") && t.ends_with("</Data>"))) {
        return Err(Disconnect::new("UUX payload is not a <Data> document"));
    }
    {
        let mut st = user.state();
        st.presence.psm = if body.is_empty() {
            None
        } else {
            Some(Box::from(body))
        };
    }
    announce(s, pace::PSM);
    s.reply(&format!("UUX {trid} 0")).await
}
