//! ADG, RMG, REG: numeric ids for MSNP7-9, GUIDs for MSNP10-12.
//!
//! Replies (W adg.md, rmg.md, reg.md; NS.md 3.7): MSNP7-9 `ADG trid serial name id 0`,
//! `RMG trid serial id`, `REG trid serial id name 0`; MSNP10-12 ("With group GUIDs")
//! `ADG trid name guid`, `RMG trid guid`, `REG trid guid name`. The official clients, MSNPSharp
//! and libpurple-era clients read those positions; an extra field shifts the name into the GUID's
//! place and the client reports "Invalid group". Only `msnp11-sdk`, recognised from its CVR (see
//! `dialect::Quirk`), gets the `1`-prefixed shape of the server it was written against.

use super::NsSession;
use super::lists::{Edit, change};
use crate::dialect::{Groups, GuidGroupReply};
use crate::limits::{MAX_GROUP_NAME_ADG, MAX_GROUP_NAME_REG, MAX_GROUPS};
use crate::model::{Group, UserId};
use crate::protocol::Command;
use crate::protocol::names;
use crate::protocol::write::Enc;
use crate::server::session::{Disconnect, Handled};
use crate::storage::DbError;

fn group_name(raw: &str, limit: usize) -> Result<Option<String>, Disconnect> {
    if raw.len() > limit * 3 {
        return Err(Disconnect::new("group name grossly over the limit"));
    }
    if raw.len() > limit {
        return Ok(None);
    }
    Ok(names::decode(raw).ok().filter(|n| !n.trim().is_empty()))
}

pub async fn adg(s: &mut NsSession, cmd: &Command<'_>) -> Handled {
    let trid = cmd.trid.unwrap_or(0);
    let Some(user) = s.user().cloned() else {
        return Ok(());
    };
    let d = s.dialect();
    let Some(&raw) = cmd.args.first() else {
        return Err(Disconnect::new("ADG without a name"));
    };
    let Some(name) = group_name(raw, MAX_GROUP_NAME_ADG)? else {
        return s.error(229, trid).await;
    };
    let (duplicate, num) = {
        let a = s.account(&user).await?;
        (
            a.groups.values().any(|g| g.name == name),
            (1..MAX_GROUPS).find(|n| !a.groups.contains_key(n)),
        )
    };
    if duplicate {
        return s.error(228, trid).await;
    }
    let Some(num) = num else {
        return s.error(223, trid).await;
    };
    let group = Group {
        name: name.into(),
        guid: crate::auth::guid(),
    };
    let serial = save_group(s, user.id, num, Some(group.clone())).await?;
    match d.groups {
        Groups::Guid => {
            let line = match d.guid_group_reply(s.quirk) {
                GuidGroupReply::Documented => format!("ADG {trid} {raw} {}", group.guid),
                GuidGroupReply::LeadingOne => format!("ADG {trid} 1 {raw} {}", group.guid),
            };
            s.reply(&line).await
        }
        _ => {
            s.reply(&format!("ADG {trid} {serial} {} {num} 0", Enc(&group.name)))
                .await
        }
    }
}

/// Resolves a group reference of the dialect: numeric id or GUID.
async fn resolve(s: &NsSession, user: &super::Me, raw: &str) -> Result<Option<u8>, Disconnect> {
    let account = s.account(user).await?;
    match s.dialect().groups {
        Groups::Guid => Ok(account.group_by_guid(raw).filter(|n| *n != 0)),
        _ => {
            let n = raw
                .parse::<u8>()
                .ok()
                .filter(|n| *n < MAX_GROUPS)
                .ok_or_else(|| Disconnect::new(format!("group id out of range: {raw}")))?;
            Ok(account.groups.contains_key(&n).then_some(n))
        }
    }
}

pub async fn rmg(s: &mut NsSession, cmd: &Command<'_>) -> Handled {
    let trid = cmd.trid.unwrap_or(0);
    let Some(user) = s.user().cloned() else {
        return Ok(());
    };
    let Some(&raw) = cmd.args.first() else {
        return Err(Disconnect::new("RMG without a group"));
    };
    let Some(num) = resolve(s, &user, raw).await? else {
        return s.error(224, trid).await;
    };
    if num == 0 {
        return s.error(230, trid).await;
    }
    // Contacts only in this group leave the FL with it (W rmg.md); others just lose the membership.
    let members: Vec<(UserId, bool)> = s
        .account(&user)
        .await?
        .contacts
        .iter()
        .filter(|(_, c)| c.groups & (1 << num) != 0)
        .map(|(id, c)| {
            (
                *id,
                c.groups & !(1 << num) == 0 && s.dialect().groups == Groups::Numeric,
            )
        })
        .collect();
    for (cid, only_here) in members {
        let edit = if only_here {
            Edit {
                clear: crate::model::list::FL,
                ..Default::default()
            }
        } else {
            Edit {
                remove_groups: 1 << num,
                ..Default::default()
            }
        };
        change(s, &user, cid, edit).await?;
    }
    let serial = save_group(s, user.id, num, None).await?;
    match s.dialect().groups {
        Groups::Guid => {
            let line = match s.dialect().guid_group_reply(s.quirk) {
                GuidGroupReply::Documented => format!("RMG {trid} {raw}"),
                GuidGroupReply::LeadingOne => format!("RMG {trid} 1 {raw}"),
            };
            s.reply(&line).await
        }
        _ => s.reply(&format!("RMG {trid} {serial} {num}")).await,
    }
}

pub async fn reg(s: &mut NsSession, cmd: &Command<'_>) -> Handled {
    let trid = cmd.trid.unwrap_or(0);
    let Some(user) = s.user().cloned() else {
        return Ok(());
    };
    let (Some(&gref), Some(&raw)) = (cmd.args.first(), cmd.args.get(1)) else {
        return Err(Disconnect::new("REG with missing arguments"));
    };
    let Some(num) = resolve(s, &user, gref).await? else {
        return s.error(224, trid).await;
    };
    let Some(name) = group_name(raw, MAX_GROUP_NAME_REG)? else {
        return s.error(229, trid).await;
    };
    let (duplicate, mut group) = {
        let account = s.account(&user).await?;
        let dup = account
            .groups
            .iter()
            .any(|(n, g)| *n != num && g.name == name);
        (
            dup,
            account.groups.get(&num).cloned().expect("resolved above"),
        )
    };
    if duplicate {
        return s.error(228, trid).await;
    }
    group.name = name.into();
    let serial = save_group(s, user.id, num, Some(group.clone())).await?;
    match s.dialect().groups {
        Groups::Guid => {
            let line = match s.dialect().guid_group_reply(s.quirk) {
                GuidGroupReply::Documented => format!("REG {trid} {} {raw}", group.guid),
                GuidGroupReply::LeadingOne => format!("REG {trid} 1 {raw} {}", group.guid),
            };
            s.reply(&line).await
        }
        _ => {
            s.reply(&format!("REG {trid} {serial} {num} {} 0", Enc(&group.name)))
                .await
        }
    }
}

/// Creates, renames (`Some`) or deletes (`None`) a group; returns the new serial.
async fn save_group(
    s: &NsSession,
    id: UserId,
    num: u8,
    group: Option<Group>,
) -> Result<u32, Disconnect> {
    let directory = s.ns.directory.clone();
    s.ns.storage
        .run(move |db| {
            let serial = db.write(|w| {
                match &group {
                    Some(g) => w.put_group(id, num, g)?,
                    None => w.delete_group(id, num)?,
                }
                w.bump_serial(id)
            })?;
            directory.mirror_blocking(id, move |a| {
                a.serial = serial;
                match group {
                    Some(g) => {
                        a.groups.insert(num, g);
                    }
                    None => {
                        a.groups.remove(&num);
                    }
                }
            });
            Ok::<_, DbError>(serial)
        })
        .await?
        .map_err(|e| Disconnect::new(format!("saving group: {e}")))
}
