//! IQs the server answers itself (RFC 6120 8.2.3): ping (XEP-0199), service discovery
//! (XEP-0030), the roster (RFC 6121 2, read from the MSN contact lists), vCard (XEP-0054: the
//! friendly name). Everything else gets `<service-unavailable/>` (RFC 6120 8.4).

use super::xml::Element;
use crate::model::{Account, list};

/// `jabber:iq:roster`.
pub const NS_ROSTER: &str = "jabber:iq:roster";
/// XEP-0199.
pub const NS_PING: &str = "urn:xmpp:ping";
/// XEP-0030 info.
pub const NS_DISCO_INFO: &str = "http://jabber.org/protocol/disco#info";
/// XEP-0030 items.
pub const NS_DISCO_ITEMS: &str = "http://jabber.org/protocol/disco#items";
/// RFC 6120 resource binding.
pub const NS_BIND: &str = "urn:ietf:params:xml:ns:xmpp-bind";
/// RFC 3921's session establishment, still sent by some clients.
pub const NS_SESSION: &str = "urn:ietf:params:xml:ns:xmpp-session";
/// XEP-0054.
pub const NS_VCARD: &str = "vcard-temp";
/// Stanza error conditions.
pub const NS_STANZAS: &str = "urn:ietf:params:xml:ns:xmpp-stanzas";
/// XEP-0198.
pub const NS_SM: &str = "urn:xmpp:sm:3";
/// XEP-0191 blocking.
pub const NS_BLOCKING: &str = "urn:xmpp:blocking";
/// XEP-0280 message carbons.
pub const NS_CARBONS: &str = "urn:xmpp:carbons:2";

/// The features the server's disco#info lists.
pub const SERVER_FEATURES: [&str; 7] = [
    NS_BLOCKING,
    NS_DISCO_INFO,
    NS_DISCO_ITEMS,
    NS_PING,
    NS_VCARD,
    NS_SM,
    NS_CARBONS,
];

/// A result IQ answering `req` (same id, to and from swapped).
pub fn result(req: &Element, from: &str, to: &str) -> Element {
    let mut r = Element::new("iq", super::xml::NS_CLIENT)
        .attr("type", "result")
        .attr("id", req.get("id").unwrap_or(""));
    if !from.is_empty() {
        r.set_attr("from", from);
    }
    if !to.is_empty() {
        r.set_attr("to", to);
    }
    r
}

/// An error reply to any stanza: the stanza's own name and id, `type='error'`, the condition.
pub fn error(req: &Element, from: &str, to: &str, kind: &str, condition: &str) -> Element {
    let mut r = Element::new(&req.name, super::xml::NS_CLIENT).attr("type", "error");
    if let Some(id) = req.get("id") {
        r.set_attr("id", id);
    }
    if !from.is_empty() {
        r.set_attr("from", from);
    }
    if !to.is_empty() {
        r.set_attr("to", to);
    }
    r.child(
        Element::new("error", super::xml::NS_CLIENT)
            .attr("type", kind)
            .child(Element::new(condition, NS_STANZAS)),
    )
}

/// The disco#info of the server (or of an account's bare JID, which the server answers for).
pub fn disco_info(req: &Element, from: &str, to: &str, account: bool) -> Element {
    let mut q = Element::new("query", NS_DISCO_INFO);
    if let Some(node) = req.find("query", NS_DISCO_INFO).and_then(|q| q.get("node")) {
        q.set_attr("node", node);
    }
    q.children.push(if account {
        Element::new("identity", NS_DISCO_INFO)
            .attr("category", "account")
            .attr("type", "registered")
    } else {
        Element::new("identity", NS_DISCO_INFO)
            .attr("category", "server")
            .attr("type", "im")
            .attr("name", "msnpd")
    });
    let features: &[&str] = if account {
        &[NS_DISCO_INFO]
    } else {
        &SERVER_FEATURES
    };
    for f in features {
        q.children
            .push(Element::new("feature", NS_DISCO_INFO).attr("var", f));
    }
    result(req, from, to).child(q)
}

/// An empty disco#items (the server offers no components).
pub fn disco_items(req: &Element, from: &str, to: &str) -> Element {
    result(req, from, to).child(Element::new("query", NS_DISCO_ITEMS))
}

/// The RFC 6121 subscription state of a contact on `lists`: FL -> "to", RL -> "from", both ->
/// "both"; `None` for contacts on neither (allow/block/pending entries only).
pub fn subscription(lists: u8) -> Option<&'static str> {
    match (lists & list::FL != 0, lists & list::RL != 0) {
        (true, true) => Some("both"),
        (true, false) => Some("to"),
        (false, true) => Some("from"),
        (false, false) => None,
    }
}

/// The roster built from the account's lists: one item per contact on FL or RL, named with the
/// name the owner stored, in the owner's groups.
pub fn roster(req: &Element, to: &str, account: &Account) -> Element {
    let mut q = Element::new("query", NS_ROSTER);
    if account.serial != 0 {
        q.set_attr("ver", &account.serial.to_string());
    }
    for c in account.contacts.values() {
        let Some(sub) = subscription(c.lists) else {
            continue;
        };
        let mut item = Element::new("item", NS_ROSTER)
            .attr("jid", &c.handle)
            .attr("subscription", sub);
        if !c.name.is_empty() && c.name != c.handle {
            item.set_attr("name", &c.name);
        }
        for (num, g) in account.groups.iter() {
            if c.groups & (1u32 << *num) != 0 {
                item.children
                    .push(Element::new("group", NS_ROSTER).with_text(&g.name));
            }
        }
        q.children.push(item);
    }
    result(req, "", to).child(q)
}

/// XEP-0191's block list: the account's BL.
pub fn blocklist(req: &Element, to: &str, account: &Account) -> Element {
    let mut q = Element::new("blocklist", NS_BLOCKING);
    for c in account.contacts.values() {
        if c.lists & list::BL != 0 {
            q.children
                .push(Element::new("item", NS_BLOCKING).attr("jid", &c.handle));
        }
    }
    result(req, "", to).child(q)
}

/// A vCard with the friendly name as full name and nickname.
pub fn vcard(req: &Element, from: &str, to: &str, friendly: &str) -> Element {
    result(req, from, to).child(
        Element::new("vCard", NS_VCARD)
            .child(Element::new("FN", NS_VCARD).with_text(friendly))
            .child(Element::new("NICKNAME", NS_VCARD).with_text(friendly)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Contact, Group, SortedMap};

    #[test]
    fn roster_maps_lists_and_groups() {
        let mut groups = SortedMap::new();
        groups.insert(
            1,
            Group {
                name: "Friends".into(),
                guid: "g".into(),
            },
        );
        let mut contacts = SortedMap::new();
        let c = |h: &str, lists, groups| Contact {
            handle: h.into(),
            name: h.into(),
            guid: String::new(),
            lists,
            groups,
            phones: Default::default(),
        };
        contacts.insert(2, c("to@x.com", list::FL | list::AL, 2));
        contacts.insert(3, c("from@x.com", list::RL, 0));
        contacts.insert(4, c("both@x.com", list::FL | list::RL, 0));
        contacts.insert(5, c("blocked@x.com", list::BL, 0));
        let account = Account {
            friendly: "me".into(),
            blp: crate::model::Blp::Allow,
            gtc_prompt: true,
            serial: 7,
            phones: None,
            groups,
            contacts,
        };
        let req = Element::new("iq", super::super::xml::NS_CLIENT).attr("id", "r1");
        let xml = roster(&req, "me@x.com/r", &account).to_xml();
        assert!(
            xml.contains("<query xmlns='jabber:iq:roster' ver='7'>"),
            "{xml}"
        );
        assert!(
            xml.contains("<item jid='to@x.com' subscription='to'><group>Friends</group></item>")
        );
        assert!(xml.contains("<item jid='from@x.com' subscription='from'/>"));
        assert!(xml.contains("<item jid='both@x.com' subscription='both'/>"));
        assert!(!xml.contains("blocked@x.com"));
    }
}
