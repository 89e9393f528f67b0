//! The address book (`/abservice/abservice.asmx`) and sharing service
//! (`/abservice/SharingService.asmx`) WLM 8.0-2009 and libpurple keep their contact lists with:
//! request parsing (which method, the ticket, `deltasOnly`/`lastChange`, the contacts, groups and
//! members named) and answer builders over the project's model (`model::Account`), so that the
//! same SQLite lists that `SYN`/`ADC`/`REM`/`ADG` use are what SOAP shows ("one truth"). Pure
//! functions; the HTTP handler authenticates the ticket (`server::tickets::ServiceTokens`), applies
//! the change through the same storage calls as the NS commands, and answers with these.
//!
//! Shapes follow what the clients read: libpurple 2.10.9 `contact.c` (paths such as
//! `Body/ABFindContactsPagedResponse/ABFindContactsPagedResult/Contacts/Contact`,
//! `detail/errorcode`, the `q0:BadContextToken` fault that makes it renew its ticket) and papyon's
//! `AddressBook` (every `Member` has a numeric `MembershipId`; `faultcode` is compared with
//! `ContactAlreadyExists`, `InvalidPassportUser`, `BadEmailArgument`). Elements are matched by
//! local name, as `protocol::xml` does.

pub mod abservice;
pub mod sharing;

use crate::limits::HTTP_MAX_BODY;
use crate::model::{UserId, list};
use crate::protocol::names::normalize_handle;
use crate::protocol::xml::{self, Bounds, Element, XmlError, escape};
use std::fmt;

/// The methods served, by the name of the body's first element.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    /// Sharing: the allow, block, reverse and pending lists.
    FindMembership,
    /// Sharing: add to AL/BL (or RL, acknowledging a pending contact).
    AddMember,
    /// Sharing: remove from AL/BL/PL.
    DeleteMember,
    /// Address book: contacts (the forward list) and groups, WLM 8.x.
    AbFindAll,
    /// The same, WLM 2009 and libpurple.
    AbFindContactsPaged,
    /// Create the address book (we always have one).
    AbAdd,
    /// Add a contact (to FL).
    AbContactAdd,
    /// Remove a contact (from FL).
    AbContactDelete,
    /// Change a contact's (or one's own) display name or annotations.
    AbContactUpdate,
    /// Create a group.
    AbGroupAdd,
    /// Delete groups.
    AbGroupDelete,
    /// Rename groups.
    AbGroupUpdate,
    /// Put contacts into a group (adding them first if they are new).
    AbGroupContactAdd,
    /// Take contacts out of a group.
    AbGroupContactDelete,
}

impl Method {
    /// The method whose request element (and `SOAPAction` suffix) is `name`.
    pub fn from_name(name: &str) -> Option<Method> {
        Some(match name {
            "FindMembership" => Method::FindMembership,
            "AddMember" => Method::AddMember,
            "DeleteMember" => Method::DeleteMember,
            "ABFindAll" => Method::AbFindAll,
            "ABFindContactsPaged" => Method::AbFindContactsPaged,
            "ABAdd" => Method::AbAdd,
            "ABContactAdd" => Method::AbContactAdd,
            "ABContactDelete" => Method::AbContactDelete,
            "ABContactUpdate" => Method::AbContactUpdate,
            "ABGroupAdd" => Method::AbGroupAdd,
            "ABGroupDelete" => Method::AbGroupDelete,
            "ABGroupUpdate" => Method::AbGroupUpdate,
            "ABGroupContactAdd" => Method::AbGroupContactAdd,
            "ABGroupContactDelete" => Method::AbGroupContactDelete,
            _ => return None,
        })
    }

    /// The element name, which with `Response`/`Result` appended names the answer's elements.
    pub fn name(self) -> &'static str {
        match self {
            Method::FindMembership => "FindMembership",
            Method::AddMember => "AddMember",
            Method::DeleteMember => "DeleteMember",
            Method::AbFindAll => "ABFindAll",
            Method::AbFindContactsPaged => "ABFindContactsPaged",
            Method::AbAdd => "ABAdd",
            Method::AbContactAdd => "ABContactAdd",
            Method::AbContactDelete => "ABContactDelete",
            Method::AbContactUpdate => "ABContactUpdate",
            Method::AbGroupAdd => "ABGroupAdd",
            Method::AbGroupDelete => "ABGroupDelete",
            Method::AbGroupUpdate => "ABGroupUpdate",
            Method::AbGroupContactAdd => "ABGroupContactAdd",
            Method::AbGroupContactDelete => "ABGroupContactDelete",
        }
    }

    /// Whether the method belongs to the sharing service (else the address book).
    pub fn is_sharing(self) -> bool {
        matches!(
            self,
            Method::FindMembership | Method::AddMember | Method::DeleteMember
        )
    }
}

/// A contact as a request names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ContactRef {
    /// By the `contactId` GUID our answers gave (`model::Contact::guid`).
    Id(String),
    /// By handle (`passportName`, or a messenger-enabled `ContactEmail`), normalised.
    Handle(String),
    /// The account itself (`contactType` `Me`, in `ABContactUpdate`).
    Me,
}

/// A member of a sharing-service list as a request names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MemberRef {
    /// By handle (`PassportName` or `Email`), normalised.
    Handle(String),
    /// By the `MembershipId` our `FindMembership` answer gave (see `membership_id`).
    MembershipId(u64),
}

/// What an `ABContactUpdate` changes for one contact.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContactChange {
    /// Which contact.
    pub contact: ContactRef,
    /// A new `displayName` (for `Me`: the friendly name), if given.
    pub display_name: Option<String>,
}

/// What a request asks for, with its arguments.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// `FindMembership`, `ABFindAll`, `ABFindContactsPaged`: the lists, or only what changed
    /// since `last_change` when `deltas_only`.
    Find {
        /// `deltasOnly`.
        deltas_only: bool,
        /// `lastChange`, as the client sent it.
        last_change: Option<String>,
    },
    /// `ABAdd`.
    AbAdd,
    /// `ABContactAdd`: contacts to add to the forward list.
    ContactAdd(Vec<ContactRef>),
    /// `ABContactDelete`.
    ContactDelete(Vec<ContactRef>),
    /// `ABContactUpdate`.
    ContactUpdate(Vec<ContactChange>),
    /// `ABGroupAdd`: the new group's name.
    GroupAdd(String),
    /// `ABGroupDelete`: group GUIDs.
    GroupDelete(Vec<String>),
    /// `ABGroupUpdate`: (group GUID, new name).
    GroupUpdate(Vec<(String, String)>),
    /// `ABGroupContactAdd`: group GUID and contacts.
    GroupContactAdd(String, Vec<ContactRef>),
    /// `ABGroupContactDelete`: group GUID and contacts.
    GroupContactDelete(String, Vec<ContactRef>),
    /// `AddMember`: list bit (`model::list`) and members.
    AddMember(u8, Vec<MemberRef>),
    /// `DeleteMember`: list bit and members.
    DeleteMember(u8, Vec<MemberRef>),
}

/// A parsed address-book or sharing request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SoapRequest {
    /// Which method.
    pub method: Method,
    /// `ABAuthHeader/TicketToken`: the contacts.msn.com token from RST.srf.
    pub ticket: String,
    /// `ABApplicationHeader/PartnerScenario` (`Initial`, `ContactSave`, `BlockUnblock` ...):
    /// logged, and kept for the handler.
    pub scenario: String,
    /// The arguments.
    pub action: Action,
}

/// Faults the clients know, each with the `errorcode` they compare.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// The ticket is unknown or expired: libpurple renews its token and retries on this one.
    BadContextToken,
    /// The contact is already in the address book.
    ContactAlreadyExists,
    /// No such contact.
    ContactDoesNotExist,
    /// The handle has no account here ("the username specified does not exist").
    InvalidPassportUser,
    /// Not an e-mail address.
    BadEmailArgument,
    /// A group with that name exists.
    GroupAlreadyExists,
    /// No such group.
    GroupDoesNotExist,
    /// The group name is empty or too long.
    GroupNameTooLong,
    /// The contact is already in that group.
    ContactAlreadyInGroup,
    /// The contact is not in that group.
    ContactNotInGroup,
    /// The member is already on that list.
    MemberAlreadyExists,
    /// The member is not on that list.
    MemberDoesNotExist,
    /// The list is full (`MAX_LIST_ENTRIES`).
    QuotaLimitReached,
    /// Anything else we cannot use: malformed XML, an unknown method, a missing argument.
    BadArgument,
}

impl Fault {
    /// The `errorcode` (and `faultcode`) text.
    pub fn code(self) -> &'static str {
        match self {
            Fault::BadContextToken => "BadContextToken",
            Fault::ContactAlreadyExists => "ContactAlreadyExists",
            Fault::ContactDoesNotExist => "ContactDoesNotExist",
            Fault::InvalidPassportUser => "InvalidPassportUser",
            Fault::BadEmailArgument => "BadEmailArgument",
            Fault::GroupAlreadyExists => "GroupAlreadyExists",
            Fault::GroupDoesNotExist => "GroupDoesNotExist",
            Fault::GroupNameTooLong => "GroupNameTooLong",
            Fault::ContactAlreadyInGroup => "ContactAlreadyInGroup",
            Fault::ContactNotInGroup => "ContactNotInGroup",
            Fault::MemberAlreadyExists => "MemberAlreadyExists",
            Fault::MemberDoesNotExist => "MemberDoesNotExist",
            Fault::QuotaLimitReached => "QuotaLimitReached",
            Fault::BadArgument => "BadArgument",
        }
    }

    fn text(self) -> &'static str {
        match self {
            Fault::BadContextToken => "Authentication Failure",
            Fault::ContactAlreadyExists => "Contact Already Exists",
            Fault::ContactDoesNotExist => "Contact Does Not Exist",
            Fault::InvalidPassportUser => "Invalid Passport User",
            Fault::BadEmailArgument => "Invalid E-mail Address",
            Fault::GroupAlreadyExists => "Group Already Exists",
            Fault::GroupDoesNotExist => "Group Does Not Exist",
            Fault::GroupNameTooLong => "Group Name Too Long",
            Fault::ContactAlreadyInGroup => "Contact Already In Group",
            Fault::ContactNotInGroup => "Contact Not In Group",
            Fault::MemberAlreadyExists => "Member Already Exists",
            Fault::MemberDoesNotExist => "Member Does Not Exist",
            Fault::QuotaLimitReached => "Quota Limit Reached",
            Fault::BadArgument => "Bad Argument",
        }
    }

    /// The HTTP status line a fault goes out with (SOAP 1.1 sends faults with 500).
    pub fn status(self) -> &'static str {
        "500 Internal Server Error"
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl std::error::Error for Fault {}

impl From<XmlError> for Fault {
    fn from(_: XmlError) -> Fault {
        Fault::BadArgument
    }
}

/// The namespace of the address book and sharing elements.
pub const AB_NS: &str = "http://www.msn.com/webservices/AddressBook";

/// The SOAP fault document for `fault`.
pub fn fault(fault: Fault) -> String {
    let (code, ns) = match fault {
        // libpurple compares the whole faultcode with this prefixed form.
        Fault::BadContextToken => (
            "q0:BadContextToken",
            " xmlns:q0=\"http://schemas.xmlsoap.org/ws/2005/02/sc\"",
        ),
        other => (other.code(), ""),
    };
    format!(
        r#"<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema"><soap:Body><soap:Fault><faultcode{ns}>{code}</faultcode><faultstring>{text}</faultstring><faultactor>http://www.msn.com/webservices/AddressBook</faultactor><detail><errorcode xmlns="{AB_NS}">{errorcode}</errorcode><errorstring xmlns="{AB_NS}">{text}</errorstring><machineName xmlns="{AB_NS}">msnpd</machineName></detail></soap:Fault></soap:Body></soap:Envelope>"#,
        text = fault.text(),
        errorcode = fault.code(),
    )
}

/// Wraps an answer's body element(s) in the envelope with the `ServiceHeader` clients read
/// (`CacheKeyChanged`/`CacheKey`, which libpurple keeps and sends back; `PreferredHostName`, the
/// host later calls go to: pass the name the client used, so it keeps reaching us).
pub fn envelope(preferred_host: &str, body: &str) -> String {
    let mut out = String::with_capacity(600 + body.len());
    out.push_str(r#"<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema"><soap:Header><ServiceHeader xmlns="http://www.msn.com/webservices/AddressBook"><Version>15.01.1408.0000</Version><CacheKey>12r1:msnpd</CacheKey><CacheKeyChanged>true</CacheKeyChanged><PreferredHostName>"#);
    out.push_str(&escape(preferred_host));
    out.push_str("</PreferredHostName><SessionId>00000000-0000-0000-0000-000000000000</SessionId></ServiceHeader></soap:Header><soap:Body>");
    out.push_str(body);
    out.push_str("</soap:Body></soap:Envelope>");
    out
}

/// `<{Method}Response xmlns=".."/>`: the answer of the methods that return nothing.
pub fn empty_response(method: Method) -> String {
    envelope_body_empty(method.name())
}

fn envelope_body_empty(name: &str) -> String {
    format!("<{name}Response xmlns=\"{AB_NS}\"/>")
}

/// The `MembershipId` of `contact`'s entry on the list `bit`: stable, numeric (papyon decodes it
/// as an integer, libpurple with `atoi`), and reversible (`membership_target`), since libpurple
/// names pending-list members by it in `DeleteMember`.
pub fn membership_id(contact: UserId, bit: u8) -> u64 {
    (contact.max(0) as u64) * 8 + u64::from(bit.trailing_zeros())
}

/// The contact and list bit of a `membership_id` (`None` for ids we never gave out, such as the
/// `0` libpurple sends for a pending member it never saw).
pub fn membership_target(id: u64) -> Option<(UserId, u8)> {
    let contact = UserId::try_from(id / 8).ok().filter(|c| *c > 0)?;
    let bit = 1u8.checked_shl((id % 8) as u32)?;
    (bit <= list::PL).then_some((contact, bit))
}

/// The list bit of a sharing-service `MemberRole`.
pub fn role_bit(role: &str) -> Option<u8> {
    Some(match role {
        "Allow" => list::AL,
        "Block" => list::BL,
        "Reverse" => list::RL,
        "Pending" => list::PL,
        _ => return None,
    })
}

/// The `MemberRole` of a list bit.
pub fn role_name(bit: u8) -> &'static str {
    match bit {
        list::AL => "Allow",
        list::BL => "Block",
        list::RL => "Reverse",
        list::PL => "Pending",
        _ => "Forward",
    }
}

fn flag(el: &Element, name: &str) -> bool {
    el.find(name)
        .is_some_and(|e| e.text().eq_ignore_ascii_case("true"))
}

fn handle(raw: &str) -> Result<String, Fault> {
    normalize_handle(raw.trim()).ok_or(Fault::BadEmailArgument)
}

/// A `<Contact>` of a request: `contactId`, or `passportName`, or a messenger-enabled e-mail, or
/// `contactType` `Me`.
fn contact_ref(c: &Element) -> Result<ContactRef, Fault> {
    if let Some(id) = c.child("contactId").map(Element::text)
        && !id.is_empty()
    {
        return Ok(ContactRef::Id(id.to_string()));
    }
    let info = c.child("contactInfo").ok_or(Fault::BadArgument)?;
    if info.path_text(&["contactType"]) == Some("Me") {
        return Ok(ContactRef::Me);
    }
    if let Some(p) = info.child("passportName") {
        return handle(p.text()).map(ContactRef::Handle);
    }
    if let Some(e) = info
        .child("emails")
        .and_then(|emails| emails.children_named("ContactEmail").next())
    {
        let email = e.path_text(&["email"]).ok_or(Fault::BadArgument)?;
        return handle(email).map(ContactRef::Handle);
    }
    Err(Fault::BadArgument)
}

fn contacts_of(el: Option<&Element>) -> Result<Vec<ContactRef>, Fault> {
    let list = el.ok_or(Fault::BadArgument)?;
    let out: Vec<ContactRef> = list
        .children_named("Contact")
        .map(contact_ref)
        .collect::<Result<_, _>>()?;
    if out.is_empty() {
        return Err(Fault::BadArgument);
    }
    Ok(out)
}

fn group_ids(call: &Element) -> Result<Vec<String>, Fault> {
    let ids: Vec<String> = call
        .path(&["groupFilter", "groupIds"])
        .ok_or(Fault::BadArgument)?
        .children_named("guid")
        .map(|g| g.text().to_string())
        .filter(|g| !g.is_empty())
        .collect();
    if ids.is_empty() {
        return Err(Fault::BadArgument);
    }
    Ok(ids)
}

fn members(call: &Element) -> Result<(u8, Vec<MemberRef>), Fault> {
    let membership = call
        .path(&["memberships", "Membership"])
        .ok_or(Fault::BadArgument)?;
    let bit = membership
        .path_text(&["MemberRole"])
        .and_then(role_bit)
        .ok_or(Fault::BadArgument)?;
    let mut out = Vec::new();
    for m in membership
        .child("Members")
        .ok_or(Fault::BadArgument)?
        .children_named("Member")
    {
        let by_name = m
            .child("PassportName")
            .or_else(|| m.child("Email"))
            .map(Element::text)
            .filter(|t| !t.is_empty());
        out.push(match by_name {
            Some(name) => MemberRef::Handle(handle(name)?),
            None => MemberRef::MembershipId(
                m.path_text(&["MembershipId"])
                    .and_then(|id| id.parse().ok())
                    .ok_or(Fault::BadArgument)?,
            ),
        });
    }
    if out.is_empty() {
        return Err(Fault::BadArgument);
    }
    Ok((bit, out))
}

/// Parses a request body. Any failure is a fault to answer with (`Fault::BadArgument` for what
/// is not a request of ours, `BadEmailArgument` for an address that is not one).
pub fn parse_request(body: &[u8]) -> Result<SoapRequest, Fault> {
    let root = xml::parse(body, &Bounds::with_size(HTTP_MAX_BODY))?;
    if root.name != "Envelope" {
        return Err(Fault::BadArgument);
    }
    let header = root.child("Header");
    let ticket = header
        .and_then(|h| h.path_text(&["ABAuthHeader", "TicketToken"]))
        .unwrap_or("")
        .to_string();
    let scenario = header
        .and_then(|h| h.path_text(&["ABApplicationHeader", "PartnerScenario"]))
        .unwrap_or("")
        .to_string();
    let call = root
        .child("Body")
        .and_then(|b| b.children.first())
        .ok_or(Fault::BadArgument)?;
    let method = Method::from_name(&call.name).ok_or(Fault::BadArgument)?;
    let action = match method {
        Method::FindMembership | Method::AbFindAll | Method::AbFindContactsPaged => Action::Find {
            deltas_only: flag(call, "deltasOnly"),
            last_change: call.find("lastChange").map(|e| e.text().to_string()),
        },
        Method::AbAdd => Action::AbAdd,
        Method::AbContactAdd => Action::ContactAdd(contacts_of(call.child("contacts"))?),
        Method::AbContactDelete => Action::ContactDelete(contacts_of(call.child("contacts"))?),
        Method::AbContactUpdate => {
            let list = call.child("contacts").ok_or(Fault::BadArgument)?;
            let mut changes = Vec::new();
            for c in list.children_named("Contact") {
                changes.push(ContactChange {
                    contact: contact_ref(c)?,
                    display_name: c
                        .path_text(&["contactInfo", "displayName"])
                        .map(str::to_string),
                });
            }
            if changes.is_empty() {
                return Err(Fault::BadArgument);
            }
            Action::ContactUpdate(changes)
        }
        Method::AbGroupAdd => {
            let name = call
                .path_text(&["groupInfo", "GroupInfo", "name"])
                .ok_or(Fault::BadArgument)?;
            if name.is_empty() {
                return Err(Fault::GroupNameTooLong);
            }
            Action::GroupAdd(name.to_string())
        }
        Method::AbGroupDelete => Action::GroupDelete(group_ids(call)?),
        Method::AbGroupUpdate => {
            let mut renames = Vec::new();
            for g in call
                .child("groups")
                .ok_or(Fault::BadArgument)?
                .children_named("Group")
            {
                let id = g.path_text(&["groupId"]).ok_or(Fault::BadArgument)?;
                let name = g
                    .path_text(&["groupInfo", "name"])
                    .ok_or(Fault::BadArgument)?;
                if name.is_empty() {
                    return Err(Fault::GroupNameTooLong);
                }
                renames.push((id.to_string(), name.to_string()));
            }
            if renames.is_empty() {
                return Err(Fault::BadArgument);
            }
            Action::GroupUpdate(renames)
        }
        Method::AbGroupContactAdd | Method::AbGroupContactDelete => {
            let mut ids = group_ids(call)?;
            if ids.len() != 1 {
                return Err(Fault::BadArgument);
            }
            let group = ids.remove(0);
            let contacts = contacts_of(call.child("contacts"))?;
            if method == Method::AbGroupContactAdd {
                Action::GroupContactAdd(group, contacts)
            } else {
                Action::GroupContactDelete(group, contacts)
            }
        }
        Method::AddMember => {
            let (bit, m) = members(call)?;
            Action::AddMember(bit, m)
        }
        Method::DeleteMember => {
            let (bit, m) = members(call)?;
            Action::DeleteMember(bit, m)
        }
    };
    Ok(SoapRequest {
        method,
        ticket,
        scenario,
        action,
    })
}

/// Whether a client that sent `last_change` (with `deltas_only`) already has list version
/// `serial`: our `lastChange` values are `protocol::timestamp::from_serial(serial)`, so equal
/// means nothing changed; anything else (another server's date, an older version) gets the full
/// lists, which is always a correct answer.
pub fn client_is_current(deltas_only: bool, last_change: Option<&str>, serial: u32) -> bool {
    deltas_only && last_change.and_then(crate::protocol::timestamp::to_serial) == Some(serial)
}

#[cfg(test)]
pub(crate) mod tests;
