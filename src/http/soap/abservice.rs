//! Address-book answers (`/abservice/abservice.asmx`): the forward list and groups as
//! `ABFindAll` (WLM 8.x: `groups`/`contacts`/`ab`) and `ABFindContactsPaged` (WLM 2009 and
//! libpurple: `Groups`/`Contacts`/`Ab`, plus `CircleResult`) show them, and the small answers of
//! the changing methods. Built from `model::Account`; no I/O.

use super::{AB_NS, Method, envelope};
use crate::model::{Account, UserId, list};
use crate::protocol::timestamp::from_serial;
use crate::protocol::xml::escape_into;

/// The account an answer is about: its id (for the CID), handle and lists.
#[derive(Clone, Copy, Debug)]
pub struct Owner<'a> {
    /// The account's row id.
    pub id: UserId,
    /// Its handle.
    pub handle: &'a str,
    /// Its groups and contacts (the in-memory mirror or a fresh load).
    pub account: &'a Account,
}

/// The CID (a 64-bit contact id the clients carry as a number) of account `id`.
pub fn cid(id: UserId) -> i64 {
    id
}

/// The `contactId` of the account's own ("Me") entry: fixed per account, never a contact's.
pub fn me_contact_id(id: UserId) -> String {
    format!(
        "00000000-0000-0000-0000-{:012x}",
        id.max(0) as u64 & 0xffff_ffff_ffff
    )
}

fn el(out: &mut String, name: &str, text: &str) {
    out.push('<');
    out.push_str(name);
    out.push('>');
    escape_into(out, text);
    out.push_str("</");
    out.push_str(name);
    out.push('>');
}

/// Which of the two answer shapes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Shape {
    FindAll,
    Paged,
}

fn group_xml(out: &mut String, guid: &str, name: &str, changed: &str) {
    out.push_str("<Group>");
    el(out, "groupId", guid);
    out.push_str("<groupInfo><annotations><Annotation><Name>MSN.IM.Display</Name><Value>1</Value></Annotation></annotations><groupType>C8529CE2-6EAD-434d-881F-341E17DB3FF8</groupType>");
    el(out, "name", name);
    out.push_str("<IsNotMobileVisible>false</IsNotMobileVisible><IsPrivate>false</IsPrivate><IsFavorite>false</IsFavorite></groupInfo><propertiesChanged/><fDeleted>false</fDeleted>");
    el(out, "lastChange", changed);
    out.push_str("</Group>");
}

#[allow(clippy::too_many_arguments)]
fn contact_xml(
    out: &mut String,
    contact_id: &str,
    kind: &str,
    handle: &str,
    display: &str,
    cid: i64,
    groups: &[&str],
    annotations: &[(&str, &str)],
    changed: &str,
) {
    out.push_str("<Contact>");
    el(out, "contactId", contact_id);
    out.push_str("<contactInfo>");
    if !annotations.is_empty() {
        out.push_str("<annotations>");
        for (n, v) in annotations {
            out.push_str("<Annotation>");
            el(out, "Name", n);
            el(out, "Value", v);
            out.push_str("</Annotation>");
        }
        out.push_str("</annotations>");
    }
    if !groups.is_empty() {
        out.push_str("<groupIds>");
        for g in groups {
            el(out, "guid", g);
        }
        out.push_str("</groupIds>");
    }
    el(out, "contactType", kind);
    el(out, "quickName", display);
    el(out, "passportName", handle);
    out.push_str("<IsPassportNameHidden>false</IsPassportNameHidden>");
    el(out, "displayName", display);
    out.push_str("<puid>0</puid>");
    el(out, "CID", &cid.to_string());
    out.push_str("<IsNotMobileVisible>false</IsNotMobileVisible><isMobileIMEnabled>false</isMobileIMEnabled><isMessengerUser>true</isMessengerUser><isFavorite>false</isFavorite><isSmtp>false</isSmtp><hasSpace>false</hasSpace><spotWatchState>NoDevice</spotWatchState><birthdate>0001-01-01T00:00:00</birthdate><primaryEmailType>ContactEmailPersonal</primaryEmailType><PrimaryLocation>ContactLocationPersonal</PrimaryLocation><PrimaryPhone>ContactPhonePersonal</PrimaryPhone><IsPrivate>false</IsPrivate><Gender>Unspecified</Gender><TimeZone>None</TimeZone></contactInfo><propertiesChanged/><fDeleted>false</fDeleted>");
    el(out, "lastChange", changed);
    out.push_str("</Contact>");
}

/// GUIDs of the user groups in `mask` (group 0 is "no group" from MSNP10 on, as in `SYN`).
fn group_guids(a: &Account, mask: u32) -> Vec<&str> {
    a.groups
        .iter()
        .filter(|(n, _)| **n != 0 && **n < 32 && mask & (1 << **n) != 0)
        .map(|(_, g)| g.guid.as_str())
        .collect()
}

fn find(owner: Owner<'_>, shape: Shape, current: bool, circle_ticket: Option<&str>) -> String {
    let a = owner.account;
    let changed = from_serial(a.serial);
    let (method, groups_tag, contacts_tag, ab_tag) = match shape {
        Shape::FindAll => (Method::AbFindAll, "groups", "contacts", "ab"),
        Shape::Paged => (Method::AbFindContactsPaged, "Groups", "Contacts", "Ab"),
    };
    let mut out = String::with_capacity(2048 + 1200 * a.contacts.len());
    out.push_str(&format!(
        "<{m}Response xmlns=\"{AB_NS}\"><{m}Result>",
        m = method.name()
    ));
    if !current {
        out.push_str(&format!("<{groups_tag}>"));
        for (n, g) in a.groups.iter() {
            if *n != 0 {
                group_xml(&mut out, &g.guid, &g.name, &changed);
            }
        }
        out.push_str(&format!("</{groups_tag}><{contacts_tag}>"));
        let blp = if a.blp == crate::model::Blp::Allow {
            "1"
        } else {
            "0"
        };
        contact_xml(
            &mut out,
            &me_contact_id(owner.id),
            "Me",
            owner.handle,
            &a.friendly,
            cid(owner.id),
            &[],
            // MPOP: several endpoints may be signed in (libpurple reads this); BLP mirrors the
            // account's default as WLM reads it.
            &[("MSN.IM.MPOP", "1"), ("MSN.IM.BLP", blp)],
            &changed,
        );
        for (id, c) in a.contacts.iter() {
            if c.lists & list::FL == 0 {
                continue;
            }
            contact_xml(
                &mut out,
                &c.guid,
                "Regular",
                &c.handle,
                &c.name,
                cid(*id),
                &group_guids(a, c.groups),
                &[],
                &changed,
            );
        }
        out.push_str(&format!("</{contacts_tag}>"));
    }
    if let (Shape::Paged, Some(ticket)) = (shape, circle_ticket) {
        out.push_str("<CircleResult>");
        el(&mut out, "CircleTicket", ticket);
        out.push_str("</CircleResult>");
    }
    out.push_str(&format!("<{ab_tag}><abId>00000000-0000-0000-0000-000000000000</abId><abInfo><ownerPuid>0</ownerPuid>"));
    el(&mut out, "OwnerCID", &cid(owner.id).to_string());
    el(&mut out, "ownerEmail", owner.handle);
    out.push_str("<fDefault>true</fDefault><joinedNamespace>false</joinedNamespace><IsBot>false</IsBot><IsParentManaged>false</IsParentManaged><SubscribeExternalPartner>false</SubscribeExternalPartner><NotifyExternalPartner>false</NotifyExternalPartner><AddressBookType>Individual</AddressBookType></abInfo>");
    el(&mut out, "lastChange", &changed);
    out.push_str("<DynamicItemLastChanged>0001-01-01T00:00:00</DynamicItemLastChanged>");
    el(&mut out, "createDate", &from_serial(0));
    out.push_str(&format!("<propertiesChanged/></{ab_tag}>"));
    out.push_str(&format!("</{m}Result></{m}Response>", m = method.name()));
    out
}

/// The `ABFindAll` answer (WLM 8.x); `current` leaves groups and contacts out (the client's
/// `lastChange` is this version, see `super::client_is_current`).
pub fn find_all(host: &str, owner: Owner<'_>, current: bool) -> String {
    envelope(host, &find(owner, Shape::FindAll, current, None))
}

/// The `ABFindContactsPaged` answer (WLM 2009, libpurple). `circle_ticket`, when given, goes in
/// `CircleResult/CircleTicket`, which makes libpurple send `USR SHA A` with it.
pub fn find_contacts_paged(
    host: &str,
    owner: Owner<'_>,
    current: bool,
    circle_ticket: Option<&str>,
) -> String {
    envelope(host, &find(owner, Shape::Paged, current, circle_ticket))
}

fn with_guid(host: &str, method: Method, guid: &str) -> String {
    let mut body = format!(
        "<{m}Response xmlns=\"{AB_NS}\"><{m}Result>",
        m = method.name()
    );
    el(&mut body, "guid", guid);
    body.push_str(&format!("</{m}Result></{m}Response>", m = method.name()));
    envelope(host, &body)
}

/// `ABContactAdd` answered with the new (or existing) contact's `contactId`.
pub fn contact_added(host: &str, contact_guid: &str) -> String {
    with_guid(host, Method::AbContactAdd, contact_guid)
}

/// `ABGroupAdd` answered with the new group's GUID.
pub fn group_added(host: &str, group_guid: &str) -> String {
    with_guid(host, Method::AbGroupAdd, group_guid)
}

/// `ABGroupContactAdd` answered with the contact's `contactId` (libpurple reads it when the
/// contact was new).
pub fn group_contact_added(host: &str, contact_guid: &str) -> String {
    with_guid(host, Method::AbGroupContactAdd, contact_guid)
}

/// The answer of a method that returns nothing (`ABAdd`, `ABContactDelete`, `ABContactUpdate`,
/// `ABGroupDelete`, `ABGroupUpdate`, `ABGroupContactDelete`, `AddMember`, `DeleteMember`).
pub fn done(host: &str, method: Method) -> String {
    envelope(host, &super::empty_response(method))
}
