//! The address book (`/abservice/abservice.asmx`) and sharing service
//! (`/abservice/SharingService.asmx`) of WLM 8.0-2009 and libpurple, served from the same SQLite
//! lists as `SYN`/`ADD`/`ADC`/`REM`/`ADG` ("one truth"): every change is an `ns::account::Change`
//! given to `ns::account::apply`, with the rule checks, mirrors and reverse-list notices (in
//! each online receiver's own dialect) that the notification commands get; every answer is built
//! from the account as committed (`http::soap` builds the XML).
//!
//! A request is authenticated by its `ABAuthHeader/TicketToken`: a web-service token RST.srf
//! issued (`server::tickets::ServiceTokens`, reusable for its lifetime). Unknown or expired:
//! `q0:BadContextToken`, on which libpurple renews its tokens. Malformed XML, an unknown method
//! or a method sent to the other service's path: `BadArgument`. Nothing here can change another
//! account than the token's, except through the rules `apply` already checks (the other side's
//! reverse list).

use super::soap::abservice::{self as answers, Owner};
use super::soap::{
    self, Action, ContactChange, ContactRef, Fault, MemberRef, Method, SoapRequest, sharing,
};
use super::{Http, Request, Response};
use crate::limits::{MAX_FRIENDLY_ENCODED, MAX_GROUP_NAME_ADG, MAX_GROUPS};
use crate::model::{Account, Group, UserId, list};
use crate::ns::account::{self, Change, ChangeError, Refused};
use crate::protocol::percent::Enc;
use std::sync::Arc;

/// Which of the two services a path is.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Service {
    /// `/abservice/abservice.asmx`: contacts (FL) and groups.
    AddressBook,
    /// `/abservice/SharingService.asmx`: the allow, block, reverse and pending lists.
    Sharing,
}

/// `POST /abservice/abservice.asmx`.
pub async fn address_book(h: &Arc<Http>, r: &Request) -> Response {
    serve(h, r, Service::AddressBook).await
}

/// `POST /abservice/SharingService.asmx`.
pub async fn sharing_service(h: &Arc<Http>, r: &Request) -> Response {
    serve(h, r, Service::Sharing).await
}

/// A SOAP answer. Each one ends its connection (`Connection: close`): libpurple keeps its SOAP
/// connection for minutes and reuses it after we closed it for idleness (`HTTP_KEEPALIVE_IDLE`),
/// then waits forever for an answer (seen with Pidgin 2.10.9: the ABGroupAdd of a contact added
/// 30 s after sign-in never arrived). On `Connection: close` it opens a new connection for the
/// next call (`soap.c` `close_when_done`), as any HTTP client does.
fn xml(status: &'static str, body: String) -> Response {
    Response::new(status)
        .header("Connection", "close")
        .body("text/xml; charset=utf-8", body)
}

fn fault(f: Fault) -> Response {
    xml(f.status(), soap::fault(f))
}

/// The host the client reached us by (without a port), echoed as `PreferredHostName` so its
/// later calls come back here; `contacts.msn.com` when it sent none we can use.
fn preferred_host(r: &Request) -> String {
    let host = r
        .header("host")
        .map(|h| h.rsplit_once(':').map_or(h, |(name, _)| name))
        .unwrap_or("");
    let usable = !host.is_empty()
        && host.len() <= 253
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-');
    if usable {
        host.to_ascii_lowercase()
    } else {
        "contacts.msn.com".to_string()
    }
}

async fn serve(h: &Arc<Http>, r: &Request, service: Service) -> Response {
    let req = match soap::parse_request(&r.body) {
        Ok(req) => req,
        Err(f) => {
            log::info!("http {}: {service:?} request refused: {f}", r.peer);
            return fault(f);
        }
    };
    if req.method.is_sharing() != (service == Service::Sharing) {
        log::info!(
            "http {}: {} sent to the {service:?} path",
            r.peer,
            req.method.name()
        );
        return fault(Fault::BadArgument);
    }
    let Some((handle, version)) = h.logins.service_owner(&req.ticket).await else {
        log::info!(
            "http {}: {} with an unknown or expired ticket",
            r.peer,
            req.method.name()
        );
        return fault(Fault::BadContextToken);
    };
    let handle: String = handle.into();
    let Ok(Ok(Some(account))) = h
        .storage
        .run({
            let handle = handle.clone();
            move |db| db.credentials(&handle)
        })
        .await
    else {
        // The account was deleted since its token was issued.
        return fault(Fault::BadContextToken);
    };
    if account.version != version {
        log::info!(
            "http {}: {} with a token from before {handle}'s password change",
            r.peer,
            req.method.name()
        );
        return fault(Fault::BadContextToken);
    }
    let id = account.id;
    let host = preferred_host(r);
    log::debug!(
        "http {}: {} ({}) for {handle}",
        r.peer,
        req.method.name(),
        req.scenario
    );
    match answer(h, id, &handle, &host, req).await {
        Ok(body) => xml("200 OK", body),
        Err(f) => {
            log::info!("http {}: {handle}: fault {f}", r.peer);
            fault(f)
        }
    }
}

/// The account as committed: what the answers show and what the resolutions read.
async fn load(h: &Http, id: UserId) -> Result<Account, Fault> {
    match h.storage.run(move |db| db.load_account(id)).await {
        Ok(Ok((_, a))) => Ok(a),
        _ => Err(Fault::BadArgument),
    }
}

/// What a refusal of `account::apply` is as a fault; `already` is the method's "already there".
fn refused(e: ChangeError, already: Fault) -> Fault {
    match e {
        ChangeError::Refused(Refused::UnknownAccount) => Fault::InvalidPassportUser,
        ChangeError::Refused(Refused::AlreadyThere) => already,
        ChangeError::Refused(Refused::NoSuchGroup) => Fault::GroupDoesNotExist,
        ChangeError::Refused(Refused::ListFull) => Fault::QuotaLimitReached,
        ChangeError::Refused(Refused::OppositeList) => Fault::MemberAlreadyExists,
        ChangeError::Storage(_) | ChangeError::Gone => Fault::BadArgument,
    }
}

async fn change(
    h: &Http,
    id: UserId,
    c: Change,
    already: Fault,
) -> Result<account::Outcome, Fault> {
    account::apply(&h.ns, id, c)
        .await
        .map_err(|e| refused(e, already))
}

/// The contact a request names, among the owner's contacts on list `bit` (0: any list).
fn resolve(a: &Account, c: &ContactRef, bit: u8) -> Option<UserId> {
    let (id, contact) = match c {
        ContactRef::Id(guid) => a.find_by_guid(guid)?,
        ContactRef::Handle(handle) => a.find_by_handle(handle)?,
        ContactRef::Me => return None,
    };
    (bit == 0 || contact.lists & bit != 0).then_some(id)
}

fn group_num(a: &Account, guid: &str) -> Result<u8, Fault> {
    a.group_by_guid(guid)
        .filter(|n| *n != 0)
        .ok_or(Fault::GroupDoesNotExist)
}

fn checked_name(name: &str) -> Result<String, Fault> {
    let name = name.trim();
    if name.is_empty() || Enc(name).to_string().len() > MAX_FRIENDLY_ENCODED {
        return Err(Fault::BadArgument);
    }
    Ok(name.to_string())
}

/// Runs one request for account `id` and builds its answer.
async fn answer(
    h: &Http,
    id: UserId,
    handle: &str,
    host: &str,
    req: SoapRequest,
) -> Result<String, Fault> {
    let method = req.method;
    match req.action {
        Action::Find {
            deltas_only,
            last_change,
        } => {
            let a = load(h, id).await?;
            let current = soap::client_is_current(deltas_only, last_change.as_deref(), a.serial);
            let owner = Owner {
                id,
                handle,
                account: &a,
            };
            Ok(match method {
                Method::FindMembership => sharing::find_membership(host, owner, current),
                Method::AbFindAll => answers::find_all(host, owner, current),
                _ => answers::find_contacts_paged(host, owner, current, None),
            })
        }
        Action::AbAdd => Ok(answers::done(host, method)),
        Action::ContactAdd(contacts) => {
            let mut guid = String::new();
            for c in contacts {
                guid = add_contact(h, id, &c, None).await?;
            }
            Ok(answers::contact_added(host, &guid))
        }
        Action::ContactDelete(contacts) => {
            for c in contacts {
                let a = load(h, id).await?;
                let target = resolve(&a, &c, list::FL).ok_or(Fault::ContactDoesNotExist)?;
                let remove = Change::Remove {
                    target,
                    list: list::FL,
                };
                change(h, id, remove, Fault::ContactDoesNotExist).await?;
            }
            Ok(answers::done(host, method))
        }
        Action::ContactUpdate(changes) => {
            for ContactChange {
                contact,
                display_name,
            } in changes
            {
                let Some(name) = display_name else { continue };
                let name = checked_name(&name)?;
                let c = match contact {
                    ContactRef::Me => Change::Rename(name),
                    other => {
                        let a = load(h, id).await?;
                        let target = resolve(&a, &other, 0).ok_or(Fault::ContactDoesNotExist)?;
                        Change::RenameContact { target, name }
                    }
                };
                change(h, id, c, Fault::BadArgument).await?;
            }
            Ok(answers::done(host, method))
        }
        Action::GroupAdd(name) => {
            let name = name.trim().to_string();
            if name.is_empty() || Enc(&name).to_string().len() > MAX_GROUP_NAME_ADG {
                return Err(Fault::GroupNameTooLong);
            }
            let a = load(h, id).await?;
            if a.groups.values().any(|g| g.name == name) {
                return Err(Fault::GroupAlreadyExists);
            }
            let num = (1..MAX_GROUPS)
                .find(|n| !a.groups.contains_key(n))
                .ok_or(Fault::QuotaLimitReached)?;
            let group = Group {
                name: name.into(),
                guid: crate::auth::guid(),
            };
            let guid = group.guid.clone();
            change(
                h,
                id,
                Change::PutGroup { num, group },
                Fault::GroupAlreadyExists,
            )
            .await?;
            Ok(answers::group_added(host, &guid))
        }
        Action::GroupDelete(guids) => {
            for guid in guids {
                let num = group_num(&load(h, id).await?, &guid)?;
                let c = Change::RemoveGroup {
                    num,
                    drop_sole_members: false,
                };
                change(h, id, c, Fault::BadArgument).await?;
            }
            Ok(answers::done(host, method))
        }
        Action::GroupUpdate(renames) => {
            for (guid, name) in renames {
                let name = name.trim().to_string();
                if name.is_empty() || Enc(&name).to_string().len() > MAX_GROUP_NAME_ADG {
                    return Err(Fault::GroupNameTooLong);
                }
                let a = load(h, id).await?;
                let num = group_num(&a, &guid)?;
                if a.groups.iter().any(|(n, g)| *n != num && g.name == name) {
                    return Err(Fault::GroupAlreadyExists);
                }
                let mut group = a
                    .groups
                    .get(&num)
                    .cloned()
                    .ok_or(Fault::GroupDoesNotExist)?;
                group.name = name.into();
                change(h, id, Change::PutGroup { num, group }, Fault::BadArgument).await?;
            }
            Ok(answers::done(host, method))
        }
        Action::GroupContactAdd(guid, contacts) => {
            let mut last = String::new();
            for c in contacts {
                let a = load(h, id).await?;
                let num = group_num(&a, &guid)?;
                match resolve(&a, &c, list::FL) {
                    Some(target) => {
                        let in_group = a
                            .contacts
                            .get(&target)
                            .is_some_and(|c| c.groups & (1 << num) != 0);
                        if in_group {
                            return Err(Fault::ContactAlreadyInGroup);
                        }
                        let join = Change::JoinGroup { target, group: num };
                        change(h, id, join, Fault::ContactAlreadyInGroup).await?;
                        last = a
                            .contacts
                            .get(&target)
                            .map(|c| c.guid.clone())
                            .unwrap_or_default();
                    }
                    // Not a contact yet: libpurple adds a new contact straight into a group.
                    None => last = add_contact(h, id, &c, Some(num)).await?,
                }
            }
            Ok(answers::group_contact_added(host, &last))
        }
        Action::GroupContactDelete(guid, contacts) => {
            for c in contacts {
                let a = load(h, id).await?;
                let num = group_num(&a, &guid)?;
                let target = resolve(&a, &c, list::FL).ok_or(Fault::ContactDoesNotExist)?;
                if a.contacts
                    .get(&target)
                    .is_none_or(|c| c.groups & (1 << num) == 0)
                {
                    return Err(Fault::ContactNotInGroup);
                }
                let leave = Change::LeaveGroup { target, group: num };
                change(h, id, leave, Fault::ContactNotInGroup).await?;
            }
            Ok(answers::done(host, method))
        }
        Action::AddMember(bit, members) => {
            for m in members {
                add_member(h, id, bit, &m).await?;
            }
            Ok(answers::done(host, method))
        }
        Action::DeleteMember(bit, members) => {
            for m in members {
                delete_member(h, id, bit, &m).await?;
            }
            Ok(answers::done(host, method))
        }
    }
}

/// Puts a contact on the forward list (and into `group`); its `contactId`.
async fn add_contact(
    h: &Http,
    id: UserId,
    c: &ContactRef,
    group: Option<u8>,
) -> Result<String, Fault> {
    let handle = match c {
        ContactRef::Handle(handle) => handle.clone(),
        // A contact id names someone in the address book; this one is not (or not on the FL).
        ContactRef::Id(_) => return Err(Fault::ContactDoesNotExist),
        ContactRef::Me => return Err(Fault::BadArgument),
    };
    let add = Change::Add {
        handle,
        list: list::FL,
        name: None,
        group,
        exclusive_al_bl: false,
    };
    let outcome = change(h, id, add, Fault::ContactAlreadyExists).await?;
    Ok(outcome.contact.map(|(_, c)| c.guid).unwrap_or_default())
}

/// The contact a member reference names on list `bit`, if it is on it.
fn member_on(a: &Account, m: &MemberRef, bit: u8) -> Option<UserId> {
    match m {
        MemberRef::Handle(handle) => a
            .find_by_handle(handle)
            .filter(|(_, c)| c.lists & bit != 0)
            .map(|(id, _)| id),
        MemberRef::MembershipId(n) => soap::membership_target(*n)
            .filter(|(target, b)| *b == bit && a.lists_of(*target) & bit != 0)
            .map(|(target, _)| target),
    }
}

/// `AddMember`: onto the allow or block list (leaving the other one: WLM sends `DeleteMember`
/// first, and the lists the older clients see must not hold a contact on both), or, for the
/// reverse list, the answer to "they added you" (the pending mark goes).
async fn add_member(h: &Http, id: UserId, bit: u8, m: &MemberRef) -> Result<(), Fault> {
    let a = load(h, id).await?;
    match bit {
        list::AL | list::BL => {
            let handle = match m {
                MemberRef::Handle(handle) => handle.clone(),
                MemberRef::MembershipId(n) => soap::membership_target(*n)
                    .and_then(|(target, _)| a.contacts.get(&target))
                    .map(|c| c.handle.clone())
                    .ok_or(Fault::MemberDoesNotExist)?,
            };
            let opposite = if bit == list::AL { list::BL } else { list::AL };
            if let Some((target, c)) = a.find_by_handle(&handle)
                && c.lists & opposite != 0
                && c.lists & bit == 0
            {
                let leave = Change::Remove {
                    target,
                    list: opposite,
                };
                change(h, id, leave, Fault::BadArgument).await?;
            }
            let add = Change::Add {
                handle,
                list: bit,
                name: None,
                group: None,
                exclusive_al_bl: true,
            };
            change(h, id, add, Fault::MemberAlreadyExists).await?;
            Ok(())
        }
        list::RL => {
            let target = member_on(&a, m, list::RL).ok_or(Fault::MemberDoesNotExist)?;
            if a.lists_of(target) & list::PL != 0 {
                change(h, id, Change::Acknowledge { target }, Fault::BadArgument).await?;
            }
            Ok(())
        }
        _ => Err(Fault::BadArgument),
    }
}

/// `DeleteMember`: off the allow or block list, or off the pending list (the prompt answered).
/// The reverse list is the other side's to change.
async fn delete_member(h: &Http, id: UserId, bit: u8, m: &MemberRef) -> Result<(), Fault> {
    let a = load(h, id).await?;
    let Some(target) = member_on(&a, m, bit) else {
        // The prompt may already be answered: libpurple's `ADL l=2` for the contact (which
        // clears the pending mark) races its DeleteMember Pending. The end state holds.
        let answered = bit == list::PL
            && match m {
                MemberRef::Handle(handle) => a.find_by_handle(handle).is_some(),
                MemberRef::MembershipId(n) => soap::membership_target(*n)
                    .is_some_and(|(target, _)| a.contacts.get(&target).is_some()),
            };
        return if answered {
            Ok(())
        } else {
            Err(Fault::MemberDoesNotExist)
        };
    };
    let c = match bit {
        list::AL | list::BL => Change::Remove { target, list: bit },
        list::PL => Change::Acknowledge { target },
        _ => return Err(Fault::BadArgument),
    };
    change(h, id, c, Fault::MemberDoesNotExist).await?;
    Ok(())
}
