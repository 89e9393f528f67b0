//! CHG, REA, PRP, SBP, UUX: what a user sets about themselves. The directory actor
//! (`directory.rs`) stores it and tells the watchers (NLN, FLN, UBX).

use super::NsSession;
use crate::limits::{MAX_FRIENDLY_ENCODED, MAX_PRP_VALUE};
use crate::model::{Status, UserId, list};
use crate::protocol::Command;
use crate::protocol::names::{self, encoded_len};
use crate::protocol::write::Enc;
use crate::server::session::{Disconnect, Handled};
use std::sync::Arc;

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
    s.ns.directory
        .set_status(
            user.id,
            status,
            d.presence_caps.then_some(caps),
            d.presence_msnobj.then(|| msnobj.as_deref().map(Box::from)),
        )
        .await?;
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
        let lines =
            s.ns.directory
                .initial_presence(user.id, d, trid, None)
                .await?;
        for l in lines {
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
    user: &Arc<super::Me>,
    name: String,
) -> Result<u32, Disconnect> {
    let directory = s.ns.directory.clone();
    let id = user.id;
    let encoded = Enc(&name).to_string();
    let serial =
        s.ns.storage
            .run(move |db| {
                let serial = db.write(|w| {
                    w.set_friendly(id, &name)?;
                    w.bump_serial(id)
                })?;
                directory.mirror_blocking(id, move |a| {
                    a.friendly = name;
                    a.serial = serial;
                });
                Ok::<_, crate::storage::DbError>(serial)
            })
            .await?
            .map_err(|e| Disconnect::new(format!("saving friendly name: {e}")))?;
    s.ns.directory.announce(id, super::pace::STATUS).await?;
    s.ns.switchboards().rename(id, &encoded);
    Ok(serial)
}

/// Renames my stored name for one contact.
async fn set_contact_name(
    s: &mut NsSession,
    user: &Arc<super::Me>,
    contact: UserId,
    name: String,
) -> Result<u32, Disconnect> {
    let directory = s.ns.directory.clone();
    let id = user.id;
    s.ns.storage
        .run(move |db| {
            let (serial, row) = db.write(|w| {
                let mut row = w
                    .contact(id, contact)?
                    .ok_or(crate::storage::DbError::NotFound)?;
                row.name = name;
                w.put_contact(id, contact, &row)?;
                Ok((w.bump_serial(id)?, row))
            })?;
            directory.mirror_blocking(id, move |a| {
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
        let found = s
            .account(&user)
            .await?
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
    let found = s.account(&user).await?.find_by_guid(guid).map(|(id, _)| id);
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
    let account = s.account(&user).await?;
    let mut phones = account.phones().clone();
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
        let kinds = super::bpr::changed(account.phones(), &phones);
        let watchers = if kinds.is_empty() {
            Vec::new()
        } else {
            account
                .contacts
                .iter()
                .filter(|(_, c)| c.lists & list::RL != 0 && c.lists & list::BL == 0)
                .map(|(id, _)| *id)
                .collect()
        };
        (kinds, watchers)
    };
    drop(account);
    let directory = s.ns.directory.clone();
    let id = user.id;
    let saved = phones.clone();
    let (serial, bumped) =
        s.ns.storage
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
                directory.mirror_blocking(id, move |a| {
                    a.phones = phones.boxed();
                    a.serial = serial;
                });
                Ok::<_, crate::storage::DbError>((serial, bumped))
            })
            .await?
            .map_err(|e| Disconnect::new(format!("saving phone numbers: {e}")))?;
    super::bpr::announce(&s.ns.directory, id, &user.handle, &saved, &kinds, &bumped).await?;
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
    let psm = (!body.is_empty()).then(|| Box::from(body));
    s.ns.directory.set_psm(user.id, psm).await?;
    s.reply(&format!("UUX {trid} 0")).await
}
