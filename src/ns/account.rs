//! The one owner of account changes: every change to a contact list, a group, a name, a privacy
//! setting or a phone number goes through `apply`.
//!
//! A caller says *what* changes (`Change`); `apply` runs one storage job that reads the rows it
//! changes, writes them, bumps the list serials and commits, and then (still on the storage
//! thread, so mirrors follow the database in commit order) hands the directory one typed
//! `Committed` message: the mirror updates, the notices for the other side (`ADD/ADC/REM 0 RL`,
//! `BPR`) and whose view of the owner to re-evaluate (NLN/FLN). The caller waits for the
//! directory's answer, so when `apply` returns the change is committed *and* in every mirror:
//! two round trips to actors, whatever the change. For an FL add the directory also reports
//! what the owner now sees of the new contact, so `ADD`/`ADC FL` and its `ILN` wait on those
//! two round trips only (a contact signed in on another host costs one bus query more).
//!
//! `apply` needs no session: the notification handlers (`lists.rs`, `groups.rs`,
//! `presence.rs`) call it, and so will the SOAP address book and the XMPP roster.
//!
//! Rules: an add (`Change::Add`) is checked inside the storage job, on the committed rows,
//! before anything is written: the account exists, then `check_add` (the group exists, not
//! already there, AL/BL exclusive where the caller's protocol says so, the list not full). A
//! refusal is `ChangeError::Refused`, which the notification handlers turn into 205/208, 224,
//! 215, 219, 210; an outside caller gets the same checks for free. The checks that are about the
//! command's shape stay with each front end (a malformed handle or name: 201; `REM` of someone
//! not on the list: 216; a group name too long or taken: 229, 228; BLP/GTC to the mode already
//! set: 218 or an echo), because they read the command, not the account. A change `apply` cannot
//! make (a contact row gone) is a `ChangeError`, never a half-made change.

use super::Ns;
use super::directory::{Applied, Committed, Directory, DirectoryGone, MirrorUpdate, Viewers};
use crate::limits::MAX_LIST_ENTRIES;
use crate::model::{Account, Blp, Contact, Group, Phones, UserId, list};
use crate::ns::bus::{Notice, Seen};
use crate::protocol::percent::Enc;
use crate::server::session::Disconnect;
use crate::storage::{Db, DbError, Storage, StorageGone};

/// One change to an account, as the caller means it.
#[derive(Clone, Debug)]
pub enum Change {
    /// Puts the account `handle` on `list` (FL, AL or BL), with my name for them and, on the
    /// FL, a group. Checked first (`check_add`, on the committed rows): an unknown account or a
    /// broken rule is `ChangeError::Refused` and nothing is written. The name is stored for a
    /// new row or an FL add (`None`: keep the stored one, or their handle for a new row): an
    /// AL/BL add must not replace the custom name of an FL contact.
    Add {
        /// The contact's handle, normalized (`protocol::names::normalize_handle`).
        handle: String,
        /// One of `list::FL`, `list::AL`, `list::BL`.
        list: u8,
        /// My name for them, decoded.
        name: Option<String>,
        /// A group to put them in (FL only).
        group: Option<u8>,
        /// The caller's protocol refuses a contact on both AL and BL (`219`).
        exclusive_al_bl: bool,
    },
    /// Takes `target` off `list` (off the FL: out of every group too).
    Remove {
        /// The contact.
        target: UserId,
        /// The list bit.
        list: u8,
    },
    /// Puts a contact already on my FL into one more group.
    JoinGroup {
        /// The contact.
        target: UserId,
        /// The group number.
        group: u8,
    },
    /// Takes a contact out of one group (they stay on my FL).
    LeaveGroup {
        /// The contact.
        target: UserId,
        /// The group number.
        group: u8,
    },
    /// I answered the "added you" prompt for someone on my RL: the pending mark goes.
    Acknowledge {
        /// Who added me.
        target: UserId,
    },
    /// My stored name for a contact already on one of my lists (`REA`, `SBP MFN`).
    RenameContact {
        /// The contact.
        target: UserId,
        /// The new name, decoded.
        name: String,
    },
    /// Creates group `num` or renames it (`ADG`, `REG`).
    PutGroup {
        /// The group number.
        num: u8,
        /// Its name and GUID.
        group: Group,
    },
    /// Deletes group `num` (`RMG`); its members leave it first, one list change each. With
    /// `drop_sole_members` (MSNP7-9) a member in no other group leaves the FL with it.
    RemoveGroup {
        /// The group number.
        num: u8,
        /// Members only in this group leave the FL.
        drop_sole_members: bool,
    },
    /// My own friendly name (`REA` of my handle, `PRP MFN`), announced to my watchers.
    Rename(String),
    /// Who sees me by default (`BLP`); every watcher's view is re-evaluated.
    Blp(Blp),
    /// Whether my client prompts when someone adds me (`GTC`).
    Gtc(bool),
    /// All my phone numbers and mobile settings (`PRP`); whoever has me on their FL and is not
    /// blocked hears of the fields that changed (`BPR`) and gets a new serial.
    Phones(Phones),
}

/// What a change did, for the caller's reply.
#[derive(Debug)]
pub struct Outcome {
    /// The owner's list serial after the change.
    pub serial: u32,
    /// The contact a list change was about and the owner's row for them, as committed (its
    /// GUID goes in `ADC`'s reply).
    pub contact: Option<(UserId, Contact)>,
    /// The other side's reverse list changed: `Some(true)` they were told I added them,
    /// `Some(false)` that I removed them.
    pub reverse: Option<bool>,
    /// After an FL add: what I see of the new contact if they are signed in on this host and
    /// visible to me (their ILN).
    pub seen: Option<Seen>,
    /// After an FL add: the contact is not signed in here but other hosts exist, so the caller
    /// asks the bus for their presence (`Directory::initial_presence`).
    pub elsewhere: bool,
}

/// Why a change was not made.
#[derive(Debug)]
pub enum ChangeError {
    /// A rule refused it before anything was written (`Change::Add`).
    Refused(Refused),
    /// The storage thread or the directory is gone (shutting down).
    Gone,
    /// The transaction failed and was rolled back (`DbError::NotFound`: a row the change needs,
    /// such as the contact `RenameContact` names, does not exist).
    Storage(DbError),
}

impl std::fmt::Display for ChangeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ChangeError::Refused(r) => write!(f, "account change refused: {r:?}"),
            ChangeError::Gone => f.write_str("account change: shutting down"),
            ChangeError::Storage(e) => write!(f, "account change failed: {e}"),
        }
    }
}

impl std::error::Error for ChangeError {}

impl From<DbError> for ChangeError {
    fn from(e: DbError) -> Self {
        ChangeError::Storage(e)
    }
}

impl From<Refused> for ChangeError {
    fn from(r: Refused) -> Self {
        ChangeError::Refused(r)
    }
}

impl From<StorageGone> for ChangeError {
    fn from(_: StorageGone) -> Self {
        ChangeError::Gone
    }
}

impl From<DirectoryGone> for ChangeError {
    fn from(_: DirectoryGone) -> Self {
        ChangeError::Gone
    }
}

impl From<ChangeError> for Disconnect {
    fn from(e: ChangeError) -> Self {
        match e {
            ChangeError::Gone => Disconnect::by_server("account change: shutting down"),
            e => Disconnect::new(e.to_string()),
        }
    }
}

/// Applies `change` to `owner`'s account: commits it, updates every mirror, sends the notices
/// and, for an own-name change, renames the owner in their switchboard invitations. Returns once
/// all of that is done (two round trips: the storage job, then the directory).
pub async fn apply(ns: &Ns, owner: UserId, change: Change) -> Result<Outcome, ChangeError> {
    let renamed = match &change {
        Change::Rename(name) => Some(Enc(name).to_string()),
        _ => None,
    };
    let outcome = apply_to(&ns.storage, &ns.directory, owner, change).await?;
    if let Some(encoded) = renamed {
        ns.switchboards().rename(owner, &encoded);
    }
    Ok(outcome)
}

/// `apply` without the switchboard side: the storage job and the directory's answer.
pub async fn apply_to(
    storage: &Storage,
    directory: &Directory,
    owner: UserId,
    change: Change,
) -> Result<Outcome, ChangeError> {
    let d = directory.clone();
    let (mut outcome, applied) = storage
        .run(move |db| -> Result<_, ChangeError> {
            let (committed, outcome) = commit(db, owner, change)?;
            let applied = d.commit_blocking(committed)?;
            Ok((outcome, applied))
        })
        .await??;
    let Applied { seen, elsewhere } = applied.recv().await.map_err(|_| ChangeError::Gone)?;
    outcome.seen = seen;
    outcome.elsewhere = elsewhere;
    Ok(outcome)
}

/// Why an add was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refused {
    /// No account has that handle (`205` for ADD, `208` for ADC).
    UnknownAccount,
    /// The group does not exist (`224`).
    NoSuchGroup,
    /// Already on that list (and, on the FL, already in that group) (`215`).
    AlreadyThere,
    /// On the opposite one of AL and BL where the protocol forbids both (`219`).
    OppositeList,
    /// The list holds `MAX_LIST_ENTRIES` already (`210`).
    ListFull,
}

impl Refused {
    /// The notification protocol's error code; `unknown` is the command's code for an unknown
    /// account.
    pub fn code(self, unknown: u16) -> u16 {
        match self {
            Refused::UnknownAccount => unknown,
            Refused::NoSuchGroup => 224,
            Refused::AlreadyThere => 215,
            Refused::OppositeList => 219,
            Refused::ListFull => 210,
        }
    }
}

/// The rules an add must pass against the owner's account `a`: the group exists (224), the
/// contact is not already there (215; on the FL, unless it goes into a new group), AL and BL
/// exclude each other where the protocol says so (219), and the list is not full (210).
/// `apply` runs it on the committed rows for every `Change::Add`.
pub fn check_add(
    a: &Account,
    target: UserId,
    bit: u8,
    group: Option<u8>,
    al_bl_exclusive: bool,
) -> Result<(), Refused> {
    let bits = a.lists_of(target);
    if let Some(g) = group
        && !a.groups.contains_key(&g)
    {
        return Err(Refused::NoSuchGroup);
    }
    if bits & bit != 0 {
        let in_group = group.is_some_and(|g| {
            a.contacts
                .get(&target)
                .is_some_and(|c| c.groups & (1 << g) != 0)
        });
        if bit != list::FL || group.is_none() || in_group {
            return Err(Refused::AlreadyThere);
        }
    }
    let opposite = match bit {
        list::AL => list::BL,
        list::BL => list::AL,
        _ => 0,
    };
    if bits & opposite != 0 && al_bl_exclusive {
        return Err(Refused::OppositeList);
    }
    if bits & bit == 0 && a.count(bit) >= MAX_LIST_ENTRIES {
        return Err(Refused::ListFull);
    }
    Ok(())
}

/// A change to one of my contact rows.
#[derive(Default)]
struct Edit {
    set: u8,
    clear: u8,
    name: Option<String>,
    add_groups: u32,
    remove_groups: u32,
}

/// The list change a `Change` on one contact is, if it is one.
fn edit_of(change: &Change) -> Option<(UserId, Edit)> {
    Some(match change {
        Change::Remove { target, list } => (
            *target,
            Edit {
                clear: *list,
                ..Default::default()
            },
        ),
        Change::JoinGroup { target, group } => (
            *target,
            Edit {
                add_groups: 1 << group,
                ..Default::default()
            },
        ),
        Change::LeaveGroup { target, group } => (
            *target,
            Edit {
                remove_groups: 1 << group,
                ..Default::default()
            },
        ),
        Change::Acknowledge { target } => (
            *target,
            Edit {
                clear: list::PL,
                ..Default::default()
            },
        ),
        _ => return None,
    })
}

/// A `Committed` message for `owner` with nothing in it yet.
fn committed(owner: UserId) -> Committed {
    Committed {
        owner,
        updates: Vec::new(),
        notices: Vec::new(),
        viewers: Viewers::Nobody,
        announce: false,
        report: None,
    }
}

/// The list change an add is, once the account was found and the rules passed on `owner`'s
/// committed rows.
fn checked_add(db: &mut Db, owner: UserId, change: &Change) -> Result<(UserId, Edit), ChangeError> {
    let Change::Add {
        handle,
        list,
        name,
        group,
        exclusive_al_bl,
    } = change
    else {
        unreachable!("called for adds only");
    };
    let (target, _) = db.lookup(handle)?.ok_or(Refused::UnknownAccount)?;
    let (_, account) = db.load_account(owner)?;
    check_add(&account, target, *list, *group, *exclusive_al_bl)?;
    let on_fl = account.lists_of(target) & list::FL != 0;
    let edit = Edit {
        set: *list,
        name: name.clone().filter(|_| *list == list::FL || !on_fl),
        add_groups: group.map_or(0, |g| 1 << g),
        ..Default::default()
    };
    Ok((target, edit))
}

/// The storage side: makes the change in one transaction and describes what follows from it.
fn commit(db: &mut Db, owner: UserId, change: Change) -> Result<(Committed, Outcome), ChangeError> {
    let mut c = committed(owner);
    let mut outcome = Outcome {
        serial: 0,
        contact: None,
        reverse: None,
        seen: None,
        elsewhere: false,
    };
    let edit = match &change {
        Change::Add { .. } => Some(checked_add(db, owner, &change)?),
        other => edit_of(other),
    };
    if let Some((target, edit)) = edit {
        let fl_add = matches!(change, Change::Add { list: list::FL, .. });
        let (serial, row, reverse) = db.write(|w| edit_contact(w, owner, target, edit, &mut c))?;
        c.viewers = Viewers::These(vec![target]);
        c.report = fl_add.then_some(target);
        outcome.serial = serial;
        outcome.contact = Some((target, row));
        outcome.reverse = reverse;
        return Ok((c, outcome));
    }
    // Changes that read the whole account first (few and rare: RMG, PRP).
    let before = match &change {
        Change::RemoveGroup { .. } | Change::Phones(_) => Some(db.load_account(owner)?.1),
        _ => None,
    };
    outcome.serial = db.write(|w| match change {
        Change::RenameContact { target, name } => {
            let mut row = w.contact(owner, target)?.ok_or(DbError::NotFound)?;
            row.name = name;
            w.put_contact(owner, target, &row)?;
            let serial = w.bump_serial(owner)?;
            c.updates
                .push((owner, serial, MirrorUpdate::Contact(target, row)));
            Ok(serial)
        }
        Change::PutGroup { num, group } => {
            w.put_group(owner, num, &group)?;
            let serial = w.bump_serial(owner)?;
            c.updates
                .push((owner, serial, MirrorUpdate::Group(num, Some(group))));
            Ok(serial)
        }
        Change::RemoveGroup {
            num,
            drop_sole_members,
        } => {
            let account = before.as_ref().expect("read above");
            let mut members = Vec::new();
            for (cid, row) in account.contacts.iter() {
                if row.groups & (1 << num) == 0 {
                    continue;
                }
                let edit = if row.groups & !(1 << num) == 0 && drop_sole_members {
                    Edit {
                        clear: list::FL,
                        ..Default::default()
                    }
                } else {
                    Edit {
                        remove_groups: 1 << num,
                        ..Default::default()
                    }
                };
                edit_contact(w, owner, *cid, edit, &mut c)?;
                members.push(*cid);
            }
            w.delete_group(owner, num)?;
            let serial = w.bump_serial(owner)?;
            c.updates
                .push((owner, serial, MirrorUpdate::Group(num, None)));
            c.viewers = Viewers::These(members);
            Ok(serial)
        }
        Change::Rename(name) => {
            w.set_friendly(owner, &name)?;
            let serial = w.bump_serial(owner)?;
            c.updates
                .push((owner, serial, MirrorUpdate::Friendly(name)));
            c.announce = true;
            Ok(serial)
        }
        Change::Blp(blp) => {
            w.set_blp(owner, blp)?;
            let serial = w.bump_serial(owner)?;
            c.updates.push((owner, serial, MirrorUpdate::Blp(blp)));
            c.viewers = Viewers::ReverseList;
            Ok(serial)
        }
        Change::Gtc(prompt) => {
            w.set_gtc(owner, prompt)?;
            let serial = w.bump_serial(owner)?;
            c.updates.push((owner, serial, MirrorUpdate::Gtc(prompt)));
            Ok(serial)
        }
        Change::Phones(phones) => {
            let account = before.as_ref().expect("read above");
            w.set_phones(owner, &phones)?;
            let serial = w.bump_serial(owner)?;
            // Who has me on their FL sees my numbers (SYN BPR); they hear of a change at once,
            // unless I block them, and their serial follows (bpr.rs).
            let kinds = super::bpr::changed(account.phones(), &phones);
            if !kinds.is_empty() {
                let (handle, _) = w.user_names(owner)?;
                for (wid, row) in account.contacts.iter() {
                    if row.lists & list::RL == 0 || row.lists & list::BL != 0 {
                        continue;
                    }
                    let their_serial = w.bump_serial(*wid)?;
                    let notice = Notice::Phones {
                        who: owner,
                        handle: handle.clone(),
                        phones: Box::new(phones.clone()),
                        kinds: kinds.clone(),
                        serial: their_serial,
                    };
                    c.notices.push((*wid, notice));
                }
            }
            c.updates
                .push((owner, serial, MirrorUpdate::Phones(phones.boxed())));
            Ok(serial)
        }
        Change::Add { .. }
        | Change::Remove { .. }
        | Change::JoinGroup { .. }
        | Change::LeaveGroup { .. }
        | Change::Acknowledge { .. } => unreachable!("list changes are handled above"),
    })?;
    Ok((c, outcome))
}

/// Applies `e` to `owner`'s row for `target` and the reverse list on the other side (inside the
/// caller's transaction), and records the mirror updates and the reverse-list notice in `c`.
/// Returns the owner's new serial, their row, and whether the other side was told of an add or
/// a removal.
fn edit_contact(
    w: &mut crate::storage::Writer<'_>,
    owner: UserId,
    target: UserId,
    e: Edit,
    c: &mut Committed,
) -> Result<(u32, Contact, Option<bool>), DbError> {
    let mut row = match w.contact(owner, target)? {
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
    if let Some(n) = e.name {
        row.name = n;
    }
    row.groups = (row.groups | e.add_groups) & !e.remove_groups;
    if row.lists & list::FL == 0 {
        row.groups = 0;
    }
    w.put_contact(owner, target, &row)?;
    let serial = w.bump_serial(owner)?;
    c.updates
        .push((owner, serial, MirrorUpdate::Contact(target, row.clone())));
    let fl_added = was & list::FL == 0 && row.lists & list::FL != 0;
    let fl_removed = was & list::FL != 0 && row.lists & list::FL == 0;
    if !(fl_added || fl_removed) {
        return Ok((serial, row, None));
    }
    let (my_handle, my_name) = w.user_names(owner)?;
    let mut other = w.contact(target, owner)?.unwrap_or(Contact {
        handle: my_handle.clone(),
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
    c.updates
        .push((target, their_serial, MirrorUpdate::Contact(owner, other)));
    c.notices.push((
        target,
        Notice::ReverseList {
            who: my_handle,
            added: fl_added,
            serial: their_serial,
            name: my_name,
        },
    ));
    Ok((serial, row, Some(fl_added)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::Credential;
    use crate::dialect::Dialect;
    use crate::model::Status;
    use crate::ns::bus::Alone;
    use crate::ns::directory::{Member, Setup};
    use crate::server::connection::Reached;
    use crate::server::outbox::Outbox;
    use std::sync::Arc;
    use std::sync::atomic::Ordering;

    /// A storage thread on a fresh database with accounts `a@x.com` and `b@x.com`, a directory
    /// on `ex`, and both users signed in (MSNP12) and online.
    struct World {
        storage: Storage,
        directory: Directory,
        a: UserId,
        b: UserId,
        outbox_b: Arc<Outbox>,
        dir: std::path::PathBuf,
    }

    async fn world(ex: &'static smol::Executor<'static>) -> World {
        let dir = std::env::temp_dir().join(format!("msnpd-acct-{}", crate::auth::token(12)));
        std::fs::create_dir_all(&dir).unwrap();
        let (storage, _thread) = Storage::start(&dir.join("t.db")).unwrap();
        let directory = Directory::start(
            ex,
            Setup {
                storage: storage.clone(),
                host: 0,
                bus: Arc::new(Alone),
                public_host: None,
                on_sign_out: Box::new(|_| {}),
            },
        );
        let mut ids = Vec::new();
        let mut outboxes = Vec::new();
        for (n, handle) in ["a@x.com", "b@x.com"].into_iter().enumerate() {
            // A cheap credential: these accounts never log in (Argon2 would cost seconds here).
            let cred = Credential {
                md5_salt: "s".into(),
                md5_hash: "h".into(),
                phc: "p".into(),
                scram: Vec::new(),
            };
            let h = handle.to_owned();
            let id = storage
                .run(move |db| db.create_user(&h, &cred))
                .await
                .unwrap()
                .unwrap();
            let (_, account) = storage
                .run(move |db| db.load_account(id))
                .await
                .unwrap()
                .unwrap();
            let outbox = Arc::new(Outbox::new());
            let member = Member {
                id,
                handle: Arc::from(handle),
                dialect: Dialect::get(12).unwrap(),
                outbox: outbox.clone(),
                session: n as u64 + 1,
                ns_local: Reached::Direct("127.0.0.1:1863".parse().unwrap()),
            };
            let replaced = directory.register_blocking(member, account).unwrap();
            assert!(replaced.recv().await.unwrap().is_none());
            directory
                .set_status(id, Status::Online, Some(0), None)
                .await
                .unwrap();
            ids.push(id);
            outboxes.push(outbox);
        }
        World {
            storage,
            directory,
            a: ids[0],
            b: ids[1],
            outbox_b: outboxes.pop().unwrap(),
            dir,
        }
    }

    /// Everything queued in `outbox`, as text.
    fn drain(outbox: &Outbox) -> String {
        let mut out = Vec::new();
        while let Some(c) = outbox.take() {
            out.extend_from_slice(&c);
        }
        String::from_utf8(out).unwrap()
    }

    fn run<T>(test: impl AsyncFnOnce(&'static smol::Executor<'static>) -> T) -> T {
        let ex: &'static smol::Executor<'static> = Box::leak(Box::new(smol::Executor::new()));
        smol::block_on(ex.run(test(ex)))
    }

    fn add_fl(handle: &str) -> Change {
        Change::Add {
            handle: handle.into(),
            list: list::FL,
            name: Some("Bee".into()),
            group: None,
            exclusive_al_bl: true,
        }
    }

    #[test]
    fn an_fl_add_is_committed_mirrored_and_told_in_one_directory_message() {
        run(async |ex| {
            let w = world(ex).await;
            drain(&w.outbox_b);
            let before = w.directory.sent.load(Ordering::Relaxed);
            let out = apply_to(&w.storage, &w.directory, w.a, add_fl("b@x.com"))
                .await
                .unwrap();
            // One storage job (this call's) and one directory message: the whole ADD/ADC FL.
            assert_eq!(w.directory.sent.load(Ordering::Relaxed) - before, 1);
            assert_eq!(out.serial, 1);
            assert_eq!(out.reverse, Some(true));
            let (cid, row) = out.contact.clone().unwrap();
            assert_eq!((cid, row.lists, row.name.as_str()), (w.b, list::FL, "Bee"));
            // What A now sees of B, for the ILN, came back with the change.
            let seen = out.seen.expect("b is online and allows a");
            assert_eq!(
                (seen.handle.as_str(), seen.status),
                ("b@x.com", Status::Online)
            );
            assert!(!out.elsewhere);
            // Both mirrors hold the committed rows and serials.
            let a = w.directory.account(w.a).await.unwrap().unwrap();
            assert_eq!((a.serial, a.contacts.get(&w.b)), (1, Some(&row)));
            let b = w.directory.account(w.b).await.unwrap().unwrap();
            assert_eq!(b.serial, 1);
            assert_eq!(b.lists_of(w.a), list::RL | list::PL);
            // B was told in its dialect (MSNP12: ADC 0 RL).
            assert_eq!(drain(&w.outbox_b), "ADC 0 RL N=a@x.com F=a@x.com\r\n");
            w.storage.close();
            std::fs::remove_dir_all(&w.dir).unwrap();
        });
    }

    #[test]
    fn a_refused_add_writes_nothing() {
        run(async |ex| {
            let w = world(ex).await;
            apply_to(&w.storage, &w.directory, w.a, add_fl("b@x.com"))
                .await
                .unwrap();
            let again = apply_to(&w.storage, &w.directory, w.a, add_fl("b@x.com")).await;
            assert!(matches!(
                again,
                Err(ChangeError::Refused(Refused::AlreadyThere))
            ));
            let nobody = apply_to(&w.storage, &w.directory, w.a, add_fl("c@x.com")).await;
            assert!(matches!(
                nobody,
                Err(ChangeError::Refused(Refused::UnknownAccount))
            ));
            let block = Change::Add {
                handle: "b@x.com".into(),
                list: list::BL,
                name: None,
                group: Some(7),
                exclusive_al_bl: true,
            };
            let no_group = apply_to(&w.storage, &w.directory, w.a, block).await;
            assert!(matches!(
                no_group,
                Err(ChangeError::Refused(Refused::NoSuchGroup))
            ));
            let a = w.directory.account(w.a).await.unwrap().unwrap();
            assert_eq!(a.serial, 1, "refusals bump nothing");
            w.storage.close();
            std::fs::remove_dir_all(&w.dir).unwrap();
        });
    }

    #[test]
    fn blocking_a_watcher_updates_the_mirror_and_their_view() {
        run(async |ex| {
            let w = world(ex).await;
            // B watches A (B has A on its FL, so A has B on its RL).
            apply_to(&w.storage, &w.directory, w.b, add_fl("a@x.com"))
                .await
                .unwrap();
            drain(&w.outbox_b);
            let out = apply_to(&w.storage, &w.directory, w.a, Change::Blp(Blp::Block))
                .await
                .unwrap();
            assert_eq!(out.serial, 2);
            let a = w.directory.account(w.a).await.unwrap().unwrap();
            assert_eq!((a.blp, a.serial), (Blp::Block, 2));
            // B could see A and no longer may: FLN, from the same directory message.
            assert_eq!(drain(&w.outbox_b), "FLN a@x.com\r\n");
            w.storage.close();
            std::fs::remove_dir_all(&w.dir).unwrap();
        });
    }
}
