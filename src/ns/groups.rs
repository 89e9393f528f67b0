//! ADG, RMG, REG: numeric ids for MSNP7-9, GUIDs for MSNP10-12.
//!
//! Replies (W adg.md, rmg.md, reg.md; NS.md 3.7): MSNP7-9 `ADG trid serial name id 0`,
//! `RMG trid serial id`, `REG trid serial id name 0`; MSNP10-12 ("With group GUIDs")
//! `ADG trid name guid`, `RMG trid guid`, `REG trid guid name`. The official clients, MSNPSharp
//! and libpurple-era clients read those positions; an extra field shifts the name into the GUID's
//! place and the client reports "Invalid group". Only `msnp11-sdk`, recognised from its CVR (see
//! `dialect::Quirk`), gets the `1`-prefixed shape of the server it was written against.

use super::account::{self, Change};
use super::{Apply, NsSession};
use crate::dialect::{Dialect, Groups};
use crate::limits::{MAX_GROUP_NAME_ADG, MAX_GROUP_NAME_REG, MAX_GROUPS};
use crate::model::Group;
use crate::protocol::command::groups::{Adg, GroupRef, Reg, Rmg};
use crate::protocol::percent;
use crate::protocol::reply::{Text, groups as reply};
use crate::server::session::{Disconnect, Handled};

/// The name a group reply carries: as the client sent it where GUIDs name groups, as stored
/// (and encoded on the way out) with numeric ids.
fn reply_name<'a>(d: &Dialect, raw: &'a str, stored: &'a str) -> Text<'a> {
    match d.groups {
        Groups::Guid => Text::Wire(raw),
        _ => Text::Plain(stored),
    }
}

fn group_name(raw: &str, limit: usize) -> Result<Option<String>, Disconnect> {
    if raw.len() > limit * 3 {
        return Err(Disconnect::new("group name grossly over the limit"));
    }
    if raw.len() > limit {
        return Ok(None);
    }
    Ok(percent::decode_name(raw)
        .ok()
        .filter(|n| !n.trim().is_empty()))
}

/// `ADG trid name {0}`: a new group.
impl<'a> Apply<'a> for Adg<'a> {
    async fn apply(self, s: &mut NsSession, trid: u32) -> Handled {
        let Some(user) = s.user().cloned() else {
            return Ok(());
        };
        let d = s.dialect();
        let raw = self.name;
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
        let change = Change::PutGroup {
            num,
            group: group.clone(),
        };
        let serial = account::apply(&s.ns, user.id, change).await?.serial;
        s.send(&reply::Adg {
            trid,
            serial,
            name: reply_name(d, raw, &group.name),
            id: num,
            guid: &group.guid,
            shape: d.guid_group_reply(s.quirk),
        })
        .await
    }
}

/// Resolves a group reference to an existing group's number (`None`: no such group).
async fn resolve(
    s: &NsSession,
    user: &super::Me,
    group: GroupRef<'_>,
) -> Result<Option<u8>, Disconnect> {
    let account = s.account(user).await?;
    Ok(match group {
        GroupRef::Guid(guid) => account.group_by_guid(guid).filter(|n| *n != 0),
        GroupRef::Id(n) => account.groups.contains_key(&n).then_some(n),
    })
}

/// `RMG trid group`: removes a group. Contacts only in it leave the FL with it in MSNP7-9
/// (W rmg.md); others just lose the membership.
impl<'a> Apply<'a> for Rmg<'a> {
    async fn apply(self, s: &mut NsSession, trid: u32) -> Handled {
        let Some(user) = s.user().cloned() else {
            return Ok(());
        };
        let Some(num) = resolve(s, &user, self.group).await? else {
            return s.error(224, trid).await;
        };
        if num == 0 {
            return s.error(230, trid).await;
        }
        // Its members leave it (in MSNP7-9 those in no other group leave the FL) in the same
        // transaction that deletes it.
        let change = Change::RemoveGroup {
            num,
            drop_sole_members: s.dialect().groups == Groups::Numeric,
        };
        let serial = account::apply(&s.ns, user.id, change).await?.serial;
        // The reference was read as the dialect names groups, so the reply's shape (which
        // follows the dialect) names it the same way.
        let guid = match self.group {
            GroupRef::Guid(guid) => guid,
            GroupRef::Id(_) => "",
        };
        s.send(&reply::Rmg {
            trid,
            serial,
            id: num,
            guid,
            shape: s.dialect().guid_group_reply(s.quirk),
        })
        .await
    }
}

/// `REG trid group name {0}`: renames a group.
impl<'a> Apply<'a> for Reg<'a> {
    async fn apply(self, s: &mut NsSession, trid: u32) -> Handled {
        let Some(user) = s.user().cloned() else {
            return Ok(());
        };
        let raw = self.name;
        let Some(num) = resolve(s, &user, self.group).await? else {
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
        let change = Change::PutGroup {
            num,
            group: group.clone(),
        };
        let serial = account::apply(&s.ns, user.id, change).await?.serial;
        let d = s.dialect();
        s.send(&reply::Reg {
            trid,
            serial,
            id: num,
            guid: &group.guid,
            name: reply_name(d, raw, &group.name),
            shape: d.guid_group_reply(s.quirk),
        })
        .await
    }
}
