//! ADD (MSNP2-9), ADC (MSNP10-12), REM, BLP and GTC.
//!
//! Rules are checked here against the session's account mirror; the change itself runs as one
//! storage job that reads the rows it changes, commits, and then updates the mirrors of everyone
//! online it touched. Only then is the reply written.

use super::Me;
use super::NsSession;
use super::directory::{Directory, Notice};
use crate::dialect::{Groups, SameMode};
use crate::limits::{MAX_FRIENDLY_ENCODED, MAX_GROUPS, MAX_LIST_ENTRIES};
use crate::model::{Blp, Contact, Phones, UserId, list};
use crate::protocol::Command;
use crate::protocol::names::{self, normalize_handle};
use crate::protocol::write::Enc;
use crate::server::hub::Hub;
use crate::server::session::{Disconnect, Handled};
use crate::storage::DbError;
use std::sync::Arc;

/// A change to one of my contact rows.
#[derive(Default, Clone)]
pub struct Edit {
    pub set: u8,
    pub clear: u8,
    pub name: Option<String>,
    pub add_groups: u32,
    pub remove_groups: u32,
}

pub struct Edited {
    pub serial: u32,
    /// The other side's RL changed: (added, their serial, my name as they store it).
    pub reverse: Option<(bool, u32, String)>,
}

/// Applies `e` to `owner`'s row for `target` and the reverse list on the other side, in one
/// transaction, then updates the mirrors of whoever is online.
pub async fn apply(
    (hub, directory): (&Hub, &Directory),
    owner: UserId,
    target: UserId,
    e: Edit,
) -> Result<Edited, Disconnect> {
    let h = directory.clone();
    let result = hub
        .storage
        .run(move |db| -> Result<Edited, DbError> {
            let (row, serial, reverse) = db.write(|w| {
                let before = w.contact(owner, target)?;
                let mut row = match before {
                    Some(r) => r,
                    None => {
                        let (handle, _) = w.user_names(target)?;
                        Contact {
                            name: handle.clone(),
                            handle,
                            guid: crate::auth::guid(),
                            lists: 0,
                            groups: 0,
                            phones: Phones::default(),
                        }
                    }
                };
                let was = row.lists;
                row.lists = (row.lists | e.set) & !e.clear;
                if e.set & (list::AL | list::BL) != 0 {
                    // Allowing or blocking someone answers the "added you" prompt.
                    row.lists &= !list::PL;
                }
                if let Some(n) = &e.name {
                    row.name = n.clone();
                }
                row.groups = (row.groups | e.add_groups) & !e.remove_groups;
                if row.lists & list::FL == 0 {
                    row.groups = 0;
                }
                w.put_contact(owner, target, &row)?;
                let serial = w.bump_serial(owner)?;
                let fl_added = was & list::FL == 0 && row.lists & list::FL != 0;
                let fl_removed = was & list::FL != 0 && row.lists & list::FL == 0;
                let reverse = if fl_added || fl_removed {
                    let (my_handle, my_name) = w.user_names(owner)?;
                    let mut other = w.contact(target, owner)?.unwrap_or(Contact {
                        handle: my_handle,
                        name: my_name.clone(),
                        guid: crate::auth::guid(),
                        lists: 0,
                        groups: 0,
                        phones: Phones::default(),
                    });
                    if fl_added {
                        other.lists |= list::RL;
                        if other.lists & (list::AL | list::BL) == 0 {
                            other.lists |= list::PL;
                        }
                    } else {
                        other.lists &= !(list::RL | list::PL);
                    }
                    w.put_contact(target, owner, &other)?;
                    let their_serial = w.bump_serial(target)?;
                    Some((fl_added, their_serial, other, my_name))
                } else {
                    None
                };
                Ok((row, serial, reverse))
            })?;
            h.mirror_blocking(owner, move |a| {
                a.serial = serial;
                if row.lists == 0 {
                    a.contacts.remove(&target);
                } else {
                    a.contacts.insert(target, row);
                }
            });
            let reverse = reverse.map(|(added, their_serial, other, my_name)| {
                h.mirror_blocking(target, move |a| {
                    a.serial = their_serial;
                    if other.lists == 0 {
                        a.contacts.remove(&owner);
                    } else {
                        a.contacts.insert(owner, other);
                    }
                });
                (added, their_serial, my_name)
            });
            Ok(Edited { serial, reverse })
        })
        .await?;
    result.map_err(|e| Disconnect::new(format!("list change failed: {e}")))
}

/// Tells the other side that I added or removed them (`ADD/ADC 0 RL`, `REM 0 RL`).
async fn notify_reverse(
    directory: &Directory,
    me: &Me,
    target: UserId,
    edited: &Edited,
) -> Result<(), Disconnect> {
    let Some((added, their_serial, my_name)) = &edited.reverse else {
        return Ok(());
    };
    let notice = Notice::ReverseList {
        who: me.handle.clone(),
        added: *added,
        serial: *their_serial,
        name: my_name.clone(),
    };
    directory.notify(target, notice).await?;
    Ok(())
}

/// Runs an edit and everything that follows from it: mirrors, RL notices, presence changes.
pub async fn change(
    s: &mut NsSession,
    user: &Arc<Me>,
    target: UserId,
    e: Edit,
) -> Result<Edited, Disconnect> {
    let directory = &s.ns.directory;
    let saw = directory.sees(user.id, target).await?;
    let edited = apply((&s.ns.hub, directory), user.id, target, e).await?;
    notify_reverse(directory, user, target, &edited).await?;
    directory.refresh_for(user.id, target, saw).await?;
    Ok(edited)
}

/// What checking an add found.
enum Check {
    Ok(UserId),
    Error(u16),
}

/// Validates adding `handle` to `bit` (with `group` for FL).
async fn check_add(
    s: &mut NsSession,
    user: &Me,
    handle: &str,
    bit: u8,
    group: Option<u8>,
    unknown_code: u16,
) -> Result<Check, Disconnect> {
    let Some(handle) = normalize_handle(handle) else {
        return Ok(Check::Error(201));
    };
    let target = {
        let h = handle.clone();
        s.ns.storage.run(move |db| db.lookup(&h)).await?
    }
    .map_err(|e| Disconnect::new(format!("lookup: {e}")))?;
    let Some((tid, _)) = target else {
        return Ok(Check::Error(unknown_code));
    };
    let a = s.account(user).await?;
    let bits = a.lists_of(tid);
    if let Some(g) = group
        && !a.groups.contains_key(&g)
    {
        return Ok(Check::Error(224));
    }
    if bits & bit != 0 {
        let in_group = group.is_some_and(|g| {
            a.contacts
                .get(&tid)
                .is_some_and(|c| c.groups & (1 << g) != 0)
        });
        if bit != list::FL || group.is_none() || in_group {
            return Ok(Check::Error(215));
        }
    }
    let opposite = match bit {
        list::AL => list::BL,
        list::BL => list::AL,
        _ => 0,
    };
    if bits & opposite != 0 && s.dialect().al_bl_exclusive {
        return Ok(Check::Error(219));
    }
    if bits & bit == 0 && a.count(bit) >= MAX_LIST_ENTRIES {
        return Ok(Check::Error(210));
    }
    Ok(Check::Ok(tid))
}

/// A list name a client may edit; RL and anything unknown closes the connection.
fn editable_list(name: Option<&&str>) -> Result<u8, Disconnect> {
    match name.and_then(|n| list::parse(n)) {
        Some(b) if b == list::FL || b == list::AL || b == list::BL => Ok(b),
        _ => Err(Disconnect::new(format!("list edit on {:?}", name))),
    }
}

fn decode_name(raw: &str) -> Result<Option<String>, Disconnect> {
    if raw.len() > MAX_FRIENDLY_ENCODED {
        return Err(Disconnect::new(
            "contact name longer than 387 encoded bytes",
        ));
    }
    Ok(names::decode(raw).ok())
}

fn parse_group_id(raw: &str) -> Result<u8, Disconnect> {
    raw.parse::<u8>()
        .ok()
        .filter(|g| *g < MAX_GROUPS)
        .ok_or_else(|| Disconnect::new(format!("group id out of range: {raw}")))
}

/// `ADD trid FL|AL|BL handle name [group]` (MSNP2-9).
pub async fn add(s: &mut NsSession, cmd: &Command<'_>) -> Handled {
    let trid = cmd.trid.unwrap_or(0);
    let Some(user) = s.user().cloned() else {
        return Ok(());
    };
    let d = s.dialect();
    let bit = editable_list(cmd.args.first())?;
    let (Some(&handle), Some(&raw_name)) = (cmd.args.get(1), cmd.args.get(2)) else {
        return Err(Disconnect::new("ADD with missing arguments"));
    };
    let Some(name) = decode_name(raw_name)? else {
        return s.error(201, trid).await;
    };
    let numeric_groups = d.groups == Groups::Numeric && bit == list::FL;
    let group = match cmd.args.get(3) {
        Some(g) if numeric_groups => Some(parse_group_id(g)?),
        _ if numeric_groups => Some(0),
        _ => None,
    };
    let tid = match check_add(s, &user, handle, bit, group, 205).await? {
        Check::Ok(t) => t,
        Check::Error(code) => return s.error(code, trid).await,
    };
    let handle = handle.to_ascii_lowercase();
    // One stored name per contact: an AL/BL add (clients send the handle) must not replace the
    // custom name of an FL contact.
    let on_fl = s.account(&user).await?.lists_of(tid) & list::FL != 0;
    let edit = Edit {
        set: bit,
        name: Some(name.clone()).filter(|_| bit == list::FL || !on_fl),
        add_groups: group.map_or(0, |g| 1 << g),
        ..Default::default()
    };
    let edited = change(s, &user, tid, edit).await?;
    let g = group.map_or(String::new(), |g| format!(" {g}"));
    s.reply(&format!(
        "ADD {trid} {} {} {handle} {}{g}",
        list::name(bit),
        edited.serial,
        Enc(&name)
    ))
    .await?;
    if bit == list::FL {
        let lines =
            s.ns.directory
                .initial_presence(user.id, d, trid, Some(tid))
                .await?;
        for l in lines {
            s.conn.send(&[&l]).await?;
        }
    }
    Ok(())
}

/// `ADC trid FL N=handle F=name [group]`, `ADC trid FL C=guid group`, `ADC trid AL|BL|RL N=handle`.
pub async fn adc(s: &mut NsSession, cmd: &Command<'_>) -> Handled {
    let trid = cmd.trid.unwrap_or(0);
    let Some(user) = s.user().cloned() else {
        return Ok(());
    };
    let Some(&list_name) = cmd.args.first() else {
        return Err(Disconnect::new("ADC without a list"));
    };
    let bit = match list::parse(list_name) {
        Some(b) if b != list::PL => b,
        _ => return Err(Disconnect::new(format!("ADC on list {list_name}"))),
    };
    let mut n = None;
    let mut f = None;
    let mut c = None;
    let mut group_guid = None;
    for a in cmd.args.iter().skip(1) {
        if let Some(v) = a.strip_prefix("N=") {
            n = Some(v);
        } else if let Some(v) = a.strip_prefix("F=") {
            f = Some(v);
        } else if let Some(v) = a.strip_prefix("C=") {
            c = Some(v);
        } else {
            group_guid = Some(*a);
        }
    }
    let group = match group_guid {
        None => None,
        Some(g) => {
            let found = s.account(&user).await?.group_by_guid(g);
            match found {
                Some(num) if num != 0 => Some(num),
                _ => return s.error(224, trid).await,
            }
        }
    };
    match (bit, n, c) {
        // Put an existing FL contact into a group.
        (list::FL, None, Some(guid)) => {
            let Some(num) = group else {
                return s.error(201, trid).await;
            };
            let found = s
                .account(&user)
                .await?
                .find_by_guid(guid)
                .filter(|(_, c)| c.lists & list::FL != 0)
                .map(|(id, c)| (id, c.groups));
            let Some((tid, groups)) = found else {
                return s.error(216, trid).await;
            };
            if groups & (1 << num) != 0 {
                return s.error(215, trid).await;
            }
            change(
                s,
                &user,
                tid,
                Edit {
                    add_groups: 1 << num,
                    ..Default::default()
                },
            )
            .await?;
            s.reply(&format!(
                "ADC {trid} FL C={guid} {}",
                group_guid.unwrap_or("")
            ))
            .await
        }
        (_, Some(handle), None) => {
            if handle.starts_with("tel:") {
                return s.error(201, trid).await;
            }
            let name = match f {
                Some(raw) => match decode_name(raw)? {
                    Some(n) => Some(n),
                    None => return s.error(201, trid).await,
                },
                None => None,
            };
            if bit == list::RL {
                // Acknowledging the "added you" prompt: drop the pending mark.
                let found = s
                    .account(&user)
                    .await?
                    .find_by_handle(&handle.to_ascii_lowercase())
                    .map(|(id, c)| (id, c.lists));
                return match found {
                    Some((tid, l)) if l & list::RL != 0 => {
                        change(
                            s,
                            &user,
                            tid,
                            Edit {
                                clear: list::PL,
                                ..Default::default()
                            },
                        )
                        .await?;
                        s.reply(&format!("ADC {trid} RL N={handle}")).await
                    }
                    _ => s.error(216, trid).await,
                };
            }
            let tid = match check_add(
                s,
                &user,
                handle,
                bit,
                group.filter(|_| bit == list::FL),
                208,
            )
            .await?
            {
                Check::Ok(t) => t,
                Check::Error(code) => return s.error(code, trid).await,
            };
            let edit = Edit {
                set: bit,
                name: name.clone().filter(|_| bit == list::FL),
                add_groups: group.filter(|_| bit == list::FL).map_or(0, |g| 1 << g),
                ..Default::default()
            };
            change(s, &user, tid, edit).await?;
            if bit == list::FL {
                let guid = s
                    .account(&user)
                    .await?
                    .contacts
                    .get(&tid)
                    .map(|c| c.guid.clone())
                    .unwrap_or_default();
                let fpart = f.map_or(String::new(), |f| format!(" F={f}"));
                let gpart = group_guid.map_or(String::new(), |g| format!(" {g}"));
                s.reply(&format!("ADC {trid} FL N={handle}{fpart} C={guid}{gpart}"))
                    .await?;
                let lines =
                    s.ns.directory
                        .initial_presence(user.id, s.dialect(), trid, Some(tid))
                        .await?;
                for l in lines {
                    s.conn.send(&[&l]).await?;
                }
                Ok(())
            } else {
                s.reply(&format!("ADC {trid} {list_name} N={handle}")).await
            }
        }
        _ => s.error(201, trid).await,
    }
}

/// `REM trid LIST handle|guid [group]`.
pub async fn rem(s: &mut NsSession, cmd: &Command<'_>) -> Handled {
    let trid = cmd.trid.unwrap_or(0);
    let Some(user) = s.user().cloned() else {
        return Ok(());
    };
    let d = s.dialect();
    let Some(&list_name) = cmd.args.first() else {
        return Err(Disconnect::new("REM without a list"));
    };
    let bit = match list::parse(list_name) {
        Some(list::RL) | None => return Err(Disconnect::new(format!("REM on list {list_name}"))),
        Some(list::PL) if !d.pending_list => return Err(Disconnect::new("REM on PL")),
        Some(b) => b,
    };
    let Some(&who) = cmd.args.get(1) else {
        return Err(Disconnect::new("REM without a contact"));
    };
    let group_arg = cmd.args.get(2).copied();
    let guid_mode = d.groups == Groups::Guid;
    // Find the contact: by GUID for FL in MSNP10+, by handle otherwise.
    let found = {
        let a = s.account(&user).await?;
        let hit = if bit == list::FL && guid_mode {
            a.find_by_guid(who)
                .or_else(|| a.find_by_handle(&who.to_ascii_lowercase()))
        } else {
            a.find_by_handle(&who.to_ascii_lowercase())
        };
        hit.filter(|(_, c)| c.lists & bit != 0)
            .map(|(id, c)| (id, c.groups))
    };
    let Some((tid, groups)) = found else {
        return s.error(216, trid).await;
    };
    // A group argument removes only that group membership.
    let group = match (bit, group_arg) {
        (list::FL, Some(g)) if d.groups == Groups::Numeric => {
            let num = parse_group_id(g)?;
            let exists = s.account(&user).await?.groups.contains_key(&num);
            if !exists {
                return s.error(224, trid).await;
            }
            Some(num)
        }
        (list::FL, Some(g)) if guid_mode => {
            let found = s.account(&user).await?.group_by_guid(g);
            match found {
                Some(num) => Some(num),
                None => return s.error(224, trid).await,
            }
        }
        _ => None,
    };
    let edit = match group {
        Some(num) => {
            // MSNP7-9: a contact in no group is shown in group 0.
            let effective = if groups == 0 && d.groups == Groups::Numeric {
                1
            } else {
                groups
            };
            if effective & (1 << num) == 0 {
                return s.error(225, trid).await;
            }
            Edit {
                remove_groups: 1 << num,
                ..Default::default()
            }
        }
        None => Edit {
            clear: bit,
            ..Default::default()
        },
    };
    let edited = change(s, &user, tid, edit).await?;
    let g = group_arg
        .filter(|_| group.is_some())
        .map_or(String::new(), |g| format!(" {g}"));
    if d.list_serials {
        s.reply(&format!(
            "REM {trid} {list_name} {} {}{g}",
            edited.serial,
            who.to_ascii_lowercase()
        ))
        .await
    } else {
        s.reply(&format!("REM {trid} {list_name} {who}{g}")).await
    }
}

/// A `BLP`/`GTC` naming the mode already set: `218` or a success echo, per the dialect table
/// (`dialect::SameMode` has the evidence). The echo changes nothing, so it carries the current
/// list serial and no transaction runs.
async fn same_mode(s: &mut NsSession, trid: u32, verb: &str, value: &str, serial: u32) -> Handled {
    match s.dialect().same_mode {
        SameMode::Refuse => s.error(218, trid).await,
        SameMode::Echo if s.dialect().list_serials => {
            s.reply(&format!("{verb} {trid} {serial} {value}")).await
        }
        SameMode::Echo => s.reply(&format!("{verb} {trid} {value}")).await,
    }
}

/// `BLP trid AL|BL`: who sees me by default. Re-evaluates every watcher.
pub async fn blp(s: &mut NsSession, cmd: &Command<'_>) -> Handled {
    let trid = cmd.trid.unwrap_or(0);
    let Some(user) = s.user().cloned() else {
        return Ok(());
    };
    let blp = match cmd.args.first().copied() {
        Some("AL") => Blp::Allow,
        Some("BL") => Blp::Block,
        other => return Err(Disconnect::new(format!("BLP with value {other:?}"))),
    };
    let account = s.account(&user).await?;
    let (unchanged, current) = (account.blp == blp, account.serial);
    if unchanged {
        return same_mode(s, trid, "BLP", blp.code(), current).await;
    }
    let visible =
        s.ns.directory
            .presence(user.id)
            .await?
            .is_some_and(|p| p.visible_status().is_some());
    let watchers: Vec<(UserId, bool)> = account
        .contacts
        .iter()
        .filter(|(_, c)| c.lists & list::RL != 0)
        .map(|(id, _)| (*id, visible && account.allows(*id)))
        .collect();
    drop(account);
    let directory = s.ns.directory.clone();
    let id = user.id;
    let serial =
        s.ns.storage
            .run(move |db| {
                let serial = db.write(|w| {
                    w.set_blp(id, blp)?;
                    w.bump_serial(id)
                })?;
                directory.mirror_blocking(id, move |a| {
                    a.blp = blp;
                    a.serial = serial;
                });
                Ok::<_, DbError>(serial)
            })
            .await?
            .map_err(|e| Disconnect::new(format!("saving BLP: {e}")))?;
    for (w, saw) in watchers {
        s.ns.directory.refresh_for(user.id, w, saw).await?;
    }
    let code = blp.code();
    if s.dialect().list_serials {
        s.reply(&format!("BLP {trid} {serial} {code}")).await
    } else {
        s.reply(&format!("BLP {trid} {code}")).await
    }
}

/// `GTC trid A|N`: whether the client prompts when someone adds me.
pub async fn gtc(s: &mut NsSession, cmd: &Command<'_>) -> Handled {
    let trid = cmd.trid.unwrap_or(0);
    let Some(user) = s.user().cloned() else {
        return Ok(());
    };
    let prompt = match cmd.args.first().copied() {
        Some("A") => true,
        Some("N") => false,
        other => return Err(Disconnect::new(format!("GTC with value {other:?}"))),
    };
    let (unchanged, current) = {
        let a = s.account(&user).await?;
        (a.gtc_prompt == prompt, a.serial)
    };
    if unchanged {
        let v = if prompt { "A" } else { "N" };
        return same_mode(s, trid, "GTC", v, current).await;
    }
    let directory = s.ns.directory.clone();
    let id = user.id;
    let serial =
        s.ns.storage
            .run(move |db| {
                let serial = db.write(|w| {
                    w.set_gtc(id, prompt)?;
                    w.bump_serial(id)
                })?;
                directory.mirror_blocking(id, move |a| {
                    a.gtc_prompt = prompt;
                    a.serial = serial;
                });
                Ok::<_, DbError>(serial)
            })
            .await?
            .map_err(|e| Disconnect::new(format!("saving GTC: {e}")))?;
    let v = if prompt { "A" } else { "N" };
    if s.dialect().list_serials {
        s.reply(&format!("GTC {trid} {serial} {v}")).await
    } else {
        s.reply(&format!("GTC {trid} {v}")).await
    }
}
