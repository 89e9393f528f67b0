//! ADD (MSNP2-9), ADC (MSNP10-12), REM, BLP and GTC.
//!
//! Rules are checked here against the session's account mirror; the change itself runs as one
//! storage job that reads the rows it changes, commits, and then updates the mirrors of everyone
//! online it touched. Only then is the reply written.

use super::directory::{Directory, Notice};
use super::{Apply, Me, NsSession};
use crate::dialect::{Groups, SameMode};
use crate::limits::{MAX_FRIENDLY_ENCODED, MAX_GROUPS, MAX_LIST_ENTRIES};
use crate::model::{Blp, Contact, Phones, UserId, list};
use crate::protocol::command::lists::{Adc, Add, Blp as SetBlp, Gtc, Rem};
use crate::protocol::names::normalize_handle;
use crate::protocol::percent::{self, Enc};
use crate::server::hub::Hub;
use crate::server::session::{Disconnect, Handled};
use crate::storage::DbError;

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
        who: me.handle.to_string(),
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
    user: &Me,
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

fn decode_name(raw: &str) -> Result<Option<String>, Disconnect> {
    if raw.len() > MAX_FRIENDLY_ENCODED {
        return Err(Disconnect::new(
            "contact name longer than 387 encoded bytes",
        ));
    }
    Ok(percent::decode_name(raw).ok())
}

fn parse_group_id(raw: &str) -> Result<u8, Disconnect> {
    raw.parse::<u8>()
        .ok()
        .filter(|g| *g < MAX_GROUPS)
        .ok_or_else(|| Disconnect::new(format!("group id out of range: {raw}")))
}

/// Sends the new contact's presence after an FL add (ILN, or nothing if they are offline).
async fn send_presence_of(s: &mut NsSession, user: &Me, trid: u32, contact: UserId) -> Handled {
    let lines =
        s.ns.directory
            .initial_presence(user.id, s.dialect(), trid, Some(contact))
            .await?;
    for l in lines {
        s.conn.send(&[&l]).await?;
    }
    Ok(())
}

/// `ADD trid FL|AL|BL handle name [group]` (MSNP2-9).
impl<'a> Apply<'a> for Add<'a> {
    async fn apply(self, s: &mut NsSession, trid: u32) -> Handled {
        let Some(user) = s.user().cloned() else {
            return Ok(());
        };
        let Add {
            list: bit,
            handle,
            name: raw_name,
            group,
        } = self;
        let Some(name) = decode_name(raw_name)? else {
            return s.error(201, trid).await;
        };
        let tid = match check_add(s, &user, handle, bit, group, 205).await? {
            Check::Ok(t) => t,
            Check::Error(code) => return s.error(code, trid).await,
        };
        let handle = handle.to_ascii_lowercase();
        // One stored name per contact: an AL/BL add (clients send the handle) must not replace
        // the custom name of an FL contact.
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
            send_presence_of(s, &user, trid, tid).await?;
        }
        Ok(())
    }
}

/// `ADC trid FL N=handle F=name [group]`, `ADC trid FL C=guid group`, `ADC trid AL|BL|RL N=handle`
/// (MSNP10-12). The group is checked first (`224`), then the form decides.
impl<'a> Apply<'a> for Adc<'a> {
    async fn apply(self, s: &mut NsSession, trid: u32) -> Handled {
        let Some(user) = s.user().cloned() else {
            return Ok(());
        };
        let group = match self.group {
            None => None,
            Some(g) => match s.account(&user).await?.group_by_guid(g) {
                Some(num) if num != 0 => Some(num),
                _ => return s.error(224, trid).await,
            },
        };
        match (self.list, self.handle, self.contact) {
            (list::FL, None, Some(guid)) => match group {
                Some(num) => adc_into_group(s, &user, trid, guid, num, &self).await,
                None => s.error(201, trid).await,
            },
            (_, Some(handle), None) => adc_handle(s, &user, trid, handle, group, &self).await,
            _ => s.error(201, trid).await,
        }
    }
}

/// `ADC trid FL C=guid group`: puts a contact already on my FL into one more group.
async fn adc_into_group(
    s: &mut NsSession,
    user: &Me,
    trid: u32,
    guid: &str,
    num: u8,
    adc: &Adc<'_>,
) -> Handled {
    let found = s
        .account(user)
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
    let edit = Edit {
        add_groups: 1 << num,
        ..Default::default()
    };
    change(s, user, tid, edit).await?;
    s.reply(&format!(
        "ADC {trid} FL C={guid} {}",
        adc.group.unwrap_or("")
    ))
    .await
}

/// `ADC trid RL N=handle`: the client acknowledged the "added you" prompt; the pending mark goes.
async fn adc_acknowledge(s: &mut NsSession, user: &Me, trid: u32, handle: &str) -> Handled {
    let found = s
        .account(user)
        .await?
        .find_by_handle(&handle.to_ascii_lowercase())
        .map(|(id, c)| (id, c.lists));
    match found {
        Some((tid, l)) if l & list::RL != 0 => {
            let edit = Edit {
                clear: list::PL,
                ..Default::default()
            };
            change(s, user, tid, edit).await?;
            s.reply(&format!("ADC {trid} RL N={handle}")).await
        }
        _ => s.error(216, trid).await,
    }
}

/// The `N=handle` forms: the RL acknowledgement, or a new entry on FL, AL or BL.
async fn adc_handle(
    s: &mut NsSession,
    user: &Me,
    trid: u32,
    handle: &str,
    group: Option<u8>,
    adc: &Adc<'_>,
) -> Handled {
    if handle.starts_with("tel:") {
        return s.error(201, trid).await;
    }
    let name = match adc.name {
        Some(raw) => match decode_name(raw)? {
            Some(n) => Some(n),
            None => return s.error(201, trid).await,
        },
        None => None,
    };
    if adc.list == list::RL {
        adc_acknowledge(s, user, trid, handle).await
    } else {
        adc_add(s, user, trid, handle, name, group, adc).await
    }
}

/// `ADC trid FL N=handle F=name [group]` and `ADC trid AL|BL N=handle`: a new list entry.
async fn adc_add(
    s: &mut NsSession,
    user: &Me,
    trid: u32,
    handle: &str,
    name: Option<String>,
    group: Option<u8>,
    adc: &Adc<'_>,
) -> Handled {
    let bit = adc.list;
    let group = group.filter(|_| bit == list::FL);
    let tid = match check_add(s, user, handle, bit, group, 208).await? {
        Check::Ok(t) => t,
        Check::Error(code) => return s.error(code, trid).await,
    };
    let edit = Edit {
        set: bit,
        name: name.filter(|_| bit == list::FL),
        add_groups: group.map_or(0, |g| 1 << g),
        ..Default::default()
    };
    change(s, user, tid, edit).await?;
    if bit != list::FL {
        return s
            .reply(&format!("ADC {trid} {} N={handle}", list::name(bit)))
            .await;
    }
    let guid = s
        .account(user)
        .await?
        .contacts
        .get(&tid)
        .map(|c| c.guid.clone())
        .unwrap_or_default();
    let fpart = adc.name.map_or(String::new(), |f| format!(" F={f}"));
    let gpart = adc.group.map_or(String::new(), |g| format!(" {g}"));
    s.reply(&format!("ADC {trid} FL N={handle}{fpart} C={guid}{gpart}"))
        .await?;
    send_presence_of(s, user, trid, tid).await
}

/// `REM trid LIST handle|guid [group]`.
impl<'a> Apply<'a> for Rem<'a> {
    async fn apply(self, s: &mut NsSession, trid: u32) -> Handled {
        let Some(user) = s.user().cloned() else {
            return Ok(());
        };
        let d = s.dialect();
        let (bit, who) = (self.list, self.contact);
        // Find the contact: by GUID for FL in MSNP10+, by handle otherwise.
        let found = {
            let a = s.account(&user).await?;
            let hit = if bit == list::FL && d.groups == Groups::Guid {
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
        let grouped = bit == list::FL && d.groups != Groups::None;
        let group = match self.group.filter(|_| grouped) {
            Some(g) => match rem_group(s, &user, g).await? {
                Some(num) => Some(num),
                None => return s.error(224, trid).await,
            },
            None => None,
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
        let g = self
            .group
            .filter(|_| group.is_some())
            .map_or(String::new(), |g| format!(" {g}"));
        let name = list::name(bit);
        if d.list_serials {
            s.reply(&format!(
                "REM {trid} {name} {} {}{g}",
                edited.serial,
                who.to_ascii_lowercase()
            ))
            .await
        } else {
            s.reply(&format!("REM {trid} {name} {who}{g}")).await
        }
    }
}

/// The group a `REM trid FL contact group` names, if it exists: a number in MSNP7-9 (out of
/// range: a hang-up), a GUID in MSNP10-12. Asked only in dialects with groups.
async fn rem_group(s: &mut NsSession, user: &Me, raw: &str) -> Result<Option<u8>, Disconnect> {
    match s.dialect().groups {
        Groups::Numeric => {
            let num = parse_group_id(raw)?;
            let exists = s.account(user).await?.groups.contains_key(&num);
            Ok(exists.then_some(num))
        }
        _ => Ok(s.account(user).await?.group_by_guid(raw)),
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
impl Apply<'_> for SetBlp {
    async fn apply(self, s: &mut NsSession, trid: u32) -> Handled {
        set_blp(s, trid, self.0).await
    }
}

async fn set_blp(s: &mut NsSession, trid: u32, blp: Blp) -> Handled {
    let Some(user) = s.user().cloned() else {
        return Ok(());
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
impl Apply<'_> for Gtc {
    async fn apply(self, s: &mut NsSession, trid: u32) -> Handled {
        set_gtc(s, trid, self.prompt).await
    }
}

async fn set_gtc(s: &mut NsSession, trid: u32, prompt: bool) -> Handled {
    let Some(user) = s.user().cloned() else {
        return Ok(());
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
