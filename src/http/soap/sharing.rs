//! Sharing-service answers (`/abservice/SharingService.asmx`): `FindMembership` lists the
//! allow, block, reverse and pending lists as `Membership`s of `PassportMember`s, each with the
//! numeric `MembershipId` papyon requires (`super::membership_id`). Built from
//! `model::Account`; no I/O.

use super::abservice::{Owner, cid};
use super::{AB_NS, envelope, membership_id, role_name};
use crate::model::list;
use crate::protocol::timestamp::from_serial;
use crate::protocol::xml::escape_into;

fn el(out: &mut String, name: &str, text: &str) {
    out.push('<');
    out.push_str(name);
    out.push('>');
    escape_into(out, text);
    out.push_str("</");
    out.push_str(name);
    out.push('>');
}

/// The `FindMembership` answer; `current` leaves the memberships out (nothing changed since the
/// client's `lastChange`, see `super::client_is_current`).
pub fn find_membership(host: &str, owner: Owner<'_>, current: bool) -> String {
    let a = owner.account;
    let changed = from_serial(a.serial);
    let mut out = String::with_capacity(1536 + 700 * a.contacts.len());
    out.push_str(&format!(
        "<FindMembershipResponse xmlns=\"{AB_NS}\"><FindMembershipResult><Services><Service>"
    ));
    if !current {
        out.push_str("<Memberships>");
        for bit in [list::AL, list::BL, list::RL, list::PL] {
            let mut members = a.contacts.iter().filter(|(_, c)| c.lists & bit != 0);
            let Some(first) = members.next() else {
                continue;
            };
            out.push_str("<Membership>");
            el(&mut out, "MemberRole", role_name(bit));
            out.push_str("<Members>");
            for (id, c) in std::iter::once(first).chain(members) {
                out.push_str("<Member xsi:type=\"PassportMember\">");
                el(
                    &mut out,
                    "MembershipId",
                    &membership_id(*id, bit).to_string(),
                );
                out.push_str("<Type>Passport</Type>");
                el(&mut out, "DisplayName", &c.name);
                out.push_str("<State>Accepted</State><Deleted>false</Deleted>");
                el(&mut out, "LastChanged", &changed);
                el(&mut out, "JoinedDate", &changed);
                out.push_str("<ExpirationDate>0001-01-01T00:00:00</ExpirationDate><Changes/>");
                el(&mut out, "PassportName", &c.handle);
                out.push_str(
                    "<IsPassportNameHidden>false</IsPassportNameHidden><PassportId>0</PassportId>",
                );
                el(&mut out, "CID", &cid(*id).to_string());
                out.push_str("<PassportChanges/></Member>");
            }
            out.push_str(
                "</Members><MembershipIsComplete>true</MembershipIsComplete></Membership>",
            );
        }
        out.push_str("</Memberships>");
    }
    out.push_str("<Info><Handle><Id>1</Id><Type>Messenger</Type><ForeignId/></Handle><InverseRequired>false</InverseRequired><AuthorizationCriteria>Everyone</AuthorizationCriteria><IsBot>false</IsBot></Info><Changes/>");
    el(&mut out, "LastChange", &changed);
    out.push_str("<Deleted>false</Deleted></Service></Services><OwnerNamespace><Info><Handle><Id>00000000-0000-0000-0000-000000000000</Id><IsPassportNameHidden>false</IsPassportNameHidden><CID>0</CID></Handle><CreatorPuid>0</CreatorPuid>");
    el(&mut out, "CreatorCID", &cid(owner.id).to_string());
    el(&mut out, "CreatorPassportName", owner.handle);
    out.push_str("<CircleAttributes><IsPresenceEnabled>false</IsPresenceEnabled><Domain>WindowsLive</Domain></CircleAttributes><MessengerApplicationServiceCreated>false</MessengerApplicationServiceCreated></Info><Changes/>");
    el(&mut out, "CreateDate", &from_serial(0));
    el(&mut out, "LastChange", &changed);
    out.push_str("</OwnerNamespace></FindMembershipResult></FindMembershipResponse>");
    envelope(host, &out)
}
