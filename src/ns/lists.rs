//! ADD (MSNP2-9), ADC (MSNP10-12), REM, BLP and GTC.
//!
//! Rules are checked here against the session's account mirror (`account::check_add` holds the
//! ones every front end shares); the change itself is `account::apply`, which returns once it is
//! committed and in every mirror. Only then is the reply written.

use super::account::{self, Change, ChangeError, Outcome};
use super::directory::push_initial;
use super::{Apply, Me, NsSession};
use crate::dialect::{Groups, SameMode};
use crate::limits::{MAX_FRIENDLY_ENCODED, MAX_GROUPS};
use crate::model::{Blp, list};
use crate::protocol::command::lists::{Adc, Add, Blp as SetBlp, Gtc, Rem};
use crate::protocol::names::normalize_handle;
use crate::protocol::percent;
use crate::protocol::reply::Text;
use crate::protocol::reply::lists::{self as reply, Setting};
use crate::server::session::{Disconnect, Handled};

/// Adds `handle` to `bit` (with `group` for FL) through `account::apply`, which checks the
/// rules on the committed rows: `Err` is the error code to answer (`unknown_code` for an unknown
/// account, 201 for a malformed handle). Two round trips: the storage job, the directory.
async fn add(
    s: &mut NsSession,
    user: &Me,
    (handle, bit, group): (&str, u8, Option<u8>),
    name: Option<String>,
    unknown_code: u16,
) -> Result<Result<Outcome, u16>, Disconnect> {
    let Some(handle) = normalize_handle(handle) else {
        return Ok(Err(201));
    };
    let change = Change::Add {
        handle,
        list: bit,
        name,
        group,
        exclusive_al_bl: s.dialect().al_bl_exclusive,
    };
    match account::apply(&s.ns, user.id, change).await {
        Ok(outcome) => Ok(Ok(outcome)),
        Err(ChangeError::Refused(r)) => Ok(Err(r.code(unknown_code))),
        Err(e) => Err(e.into()),
    }
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

/// Sends the new contact's presence after an FL add (ILN, or nothing if they are offline): the
/// directory reported it with the change; only a contact on another host costs a bus query.
async fn send_presence_of(s: &mut NsSession, user: &Me, trid: u32, outcome: &Outcome) -> Handled {
    let d = s.dialect();
    let lines = match &outcome.seen {
        Some(c) => {
            let mut lines = Vec::with_capacity(2);
            push_initial(
                &mut lines,
                d,
                trid,
                (c.status, &c.handle, &c.friendly, &c.presence),
            );
            lines
        }
        None => match (&outcome.contact, outcome.elsewhere) {
            (Some((contact, _)), true) => {
                s.ns.directory
                    .initial_presence(user.id, d, trid, Some(*contact))
                    .await?
            }
            _ => return Ok(()),
        },
    };
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
        let added = (handle, bit, group);
        let edited = match add(s, &user, added, Some(name.clone()), 205).await? {
            Ok(outcome) => outcome,
            Err(code) => return s.error(code, trid).await,
        };
        let handle = handle.to_ascii_lowercase();
        s.send(&reply::Add {
            trid,
            list: list::name(bit),
            serial: edited.serial,
            handle: &handle,
            name: Text::Plain(&name),
            group,
        })
        .await?;
        if bit == list::FL {
            send_presence_of(s, &user, trid, &edited).await?;
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
    let change = Change::JoinGroup {
        target: tid,
        group: num,
    };
    account::apply(&s.ns, user.id, change).await?;
    // A missing group (not reachable: the caller resolved one) kept its trailing space.
    s.send(&reply::Adc {
        trid,
        list: "FL",
        handle: None,
        name: None,
        guid: Some(guid),
        group: Some(adc.group.unwrap_or("")),
    })
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
            let change = Change::Acknowledge { target: tid };
            account::apply(&s.ns, user.id, change).await?;
            s.send(&reply::Adc {
                trid,
                list: "RL",
                handle: Some(handle),
                name: None,
                guid: None,
                group: None,
            })
            .await
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
    let name = name.filter(|_| bit == list::FL);
    let added = match add(s, user, (handle, bit, group), name, 208).await? {
        Ok(outcome) => outcome,
        Err(code) => return s.error(code, trid).await,
    };
    let mut line = reply::Adc {
        trid,
        list: list::name(bit),
        handle: Some(handle),
        name: None,
        guid: None,
        group: None,
    };
    if bit != list::FL {
        return s.send(&line).await;
    }
    line.name = adc.name.map(Text::Wire);
    line.guid = Some(added.contact.as_ref().map_or("", |(_, c)| c.guid.as_str()));
    line.group = adc.group;
    s.send(&line).await?;
    send_presence_of(s, user, trid, &added).await
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
        let change = match group {
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
                Change::LeaveGroup {
                    target: tid,
                    group: num,
                }
            }
            None => Change::Remove {
                target: tid,
                list: bit,
            },
        };
        let edited = account::apply(&s.ns, user.id, change).await?;
        let lowered;
        let (serial, who) = if d.list_serials {
            lowered = who.to_ascii_lowercase();
            (Some(edited.serial), lowered.as_str())
        } else {
            (None, who)
        };
        s.send(&reply::Rem {
            trid,
            list: list::name(bit),
            serial,
            who,
            group: self.group.filter(|_| group.is_some()),
        })
        .await
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
async fn same_mode(
    s: &mut NsSession,
    trid: u32,
    verb: &'static str,
    value: &str,
    serial: u32,
) -> Handled {
    match s.dialect().same_mode {
        SameMode::Refuse => s.error(218, trid).await,
        SameMode::Echo => setting(s, trid, verb, value, serial).await,
    }
}

/// `BLP`/`GTC trid [serial] value`: the list serial where the dialect's replies carry one.
async fn setting(
    s: &mut NsSession,
    trid: u32,
    verb: &'static str,
    value: &str,
    serial: u32,
) -> Handled {
    let serial = s.dialect().list_serials.then_some(serial);
    s.send(&Setting {
        verb,
        trid: Some(trid),
        serial,
        value,
    })
    .await
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
    let (unchanged, current) = {
        let a = s.account(&user).await?;
        (a.blp == blp, a.serial)
    };
    if unchanged {
        return same_mode(s, trid, "BLP", blp.code(), current).await;
    }
    // Every watcher's view is re-evaluated by the directory as it applies the change.
    let serial = account::apply(&s.ns, user.id, Change::Blp(blp))
        .await?
        .serial;
    setting(s, trid, "BLP", blp.code(), serial).await
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
    let serial = account::apply(&s.ns, user.id, Change::Gtc(prompt))
        .await?
        .serial;
    let v = if prompt { "A" } else { "N" };
    setting(s, trid, "GTC", v, serial).await
}
