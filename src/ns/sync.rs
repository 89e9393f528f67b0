//! SYN (the contact list dump) and the MSNP2-8 client LST/LSG requests. Layouts: NS.md 3.3.

use super::{Apply, NsSession};
use crate::dialect::{Dialect, SynFormat};
use crate::model::{Account, Contact, Phones, list};
use crate::protocol::command::sync::{Lsg, Lst, Syn};
use crate::protocol::reply::lists::Setting;
use crate::protocol::reply::sync::{self as reply, ListVersion, Prp, SynBpr};
use crate::protocol::reply::{Reply, Text};
use crate::protocol::timestamp;
use crate::server::session::Handled;

fn yn(b: bool) -> &'static str {
    if b { "Y" } else { "N" }
}

/// The own-phone PRP fields in SYN order, with values (empty = unset).
fn phone_fields(p: &Phones) -> [(&'static str, String); 5] {
    [
        ("PHH", p.home.clone()),
        ("PHW", p.work.clone()),
        ("PHM", p.mobile.clone()),
        ("MOB", yn(p.mob).into()),
        ("MBE", yn(p.mbe).into()),
    ]
}

/// `groups` bitmask as the MSNP7-9 comma list ("0" when in none).
pub fn group_ids(mask: u32) -> String {
    if mask == 0 {
        return "0".into();
    }
    (0..32)
        .filter(|n| mask & (1 << n) != 0)
        .map(|n| n.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

/// One line of a dump, without its line end (the session adds it when sending; the tests read
/// the lines as the client does). No line of the sync family depends on the dialect.
fn line(reply: impl Reply) -> String {
    let d = Dialect::get(crate::dialect::OLDEST).expect("served");
    let mut bytes = reply.to_bytes(d);
    bytes.truncate(bytes.len().saturating_sub(2));
    String::from_utf8(bytes).expect("replies are written from UTF-8")
}

/// `GTC`/`BLP` inside SYN.
fn setting(verb: &'static str, trid: Option<u32>, serial: Option<u32>, value: &str) -> String {
    line(Setting {
        verb,
        trid,
        serial,
        value,
    })
}

fn gtc_value(a: &Account) -> &'static str {
    if a.gtc_prompt { "A" } else { "N" }
}

impl<'a> Apply<'a> for Syn<'a> {
    async fn apply(self, s: &mut NsSession, trid: u32) -> Handled {
        if s.synced {
            return s.error(715, trid).await;
        }
        let Some(user) = s.user().cloned() else {
            return Ok(());
        };
        let dialect = s.dialect();
        // Snapshot the account so the lock is not held while writing.
        let account = s.account(&user).await?;
        s.synced = true;
        let serial = account.serial;
        let lines = match self {
            Syn::Serial(theirs) if theirs == Some(serial) => vec![line(reply::Syn {
                trid,
                version: ListVersion::Serial(serial),
                counts: None,
            })],
            Syn::Serial(_) if dialect.syn <= SynFormat::ListsGroups => {
                dump_classic(&account, trid, dialect.syn)
            }
            Syn::Serial(_) => dump_bitmask(&account, trid),
            Syn::Timestamps(theirs) => {
                let ts = timestamp::from_serial(serial);
                if theirs == Some((ts.as_str(), ts.as_str())) {
                    vec![line(reply::Syn {
                        trid,
                        version: ListVersion::Stamps(&ts),
                        counts: None,
                    })]
                } else {
                    dump_guid(&account, trid, &ts, dialect.syn == SynFormat::GuidNetwork)
                }
            }
        };
        send_lines(s, lines).await
    }
}

async fn send_lines(s: &mut NsSession, lines: Vec<String>) -> Handled {
    for l in lines {
        s.conn.send(&[l.as_bytes(), b"\r\n"]).await?;
    }
    Ok(())
}

/// MSNP2-7: every line carries the trid and the serial; LST has index and total.
fn dump_classic(a: &Account, trid: u32, syn: SynFormat) -> Vec<String> {
    let ser = a.serial;
    let t = Some(trid);
    let mut out = vec![
        line(reply::Syn {
            trid,
            version: ListVersion::Serial(ser),
            counts: None,
        }),
        setting("GTC", t, Some(ser), gtc_value(a)),
        setting("BLP", t, Some(ser), a.blp.code()),
    ];
    let phones = syn >= SynFormat::ListsPhones;
    if phones {
        for (kind, v) in phone_fields(a.phones()) {
            let value = Text::Plain(&v);
            out.push(line(Prp {
                trid: t,
                serial: Some(ser),
                kind,
                value,
            }));
        }
    }
    if syn >= SynFormat::ListsGroups {
        let total = a.groups.len() as u32;
        for (i, (num, g)) in a.groups.iter().enumerate() {
            out.push(line(reply::Lsg::Indexed {
                trid,
                serial: ser,
                index: i as u32 + 1,
                total,
                id: *num,
                name: Text::Plain(&g.name),
            }));
        }
    }
    for bit in [list::FL, list::AL, list::BL, list::RL] {
        out.extend(classic_list(
            a,
            trid,
            bit,
            syn >= SynFormat::ListsGroups,
            phones,
        ));
    }
    out
}

/// One list in the MSNP2-7 shape (also the answer to a client `LST` request).
fn classic_list(a: &Account, trid: u32, bit: u8, groups: bool, phones: bool) -> Vec<String> {
    let serial = a.serial;
    let name = list::name(bit);
    let members: Vec<&Contact> = a.contacts.values().filter(|c| c.lists & bit != 0).collect();
    if members.is_empty() {
        return vec![line(reply::Lst::Empty {
            trid,
            list: name,
            serial,
        })];
    }
    let total = members.len() as u32;
    let mut out = Vec::with_capacity(members.len());
    for (i, c) in members.into_iter().enumerate() {
        let ids = (groups && bit == list::FL).then(|| group_ids(c.groups));
        out.push(line(reply::Lst::Indexed {
            trid,
            list: name,
            serial,
            index: i as u32 + 1,
            total,
            handle: &c.handle,
            name: Text::Plain(&c.name),
            groups: ids.as_deref(),
        }));
        if phones && bit == list::FL {
            for (kind, v) in phone_fields(&c.phones).into_iter().take(4) {
                out.push(line(SynBpr::Classic {
                    serial,
                    handle: &c.handle,
                    kind,
                    value: Text::Plain(&v),
                }));
            }
        }
    }
    out
}

/// Set phone fields only, as MSNP8+ sends them (PRP for me, BPR for contacts).
fn set_phones(p: &Phones, with_mbe: bool) -> Vec<(&'static str, String)> {
    phone_fields(p)
        .into_iter()
        .filter(|(k, v)| (with_mbe || *k != "MBE") && !v.is_empty() && v != "N")
        .collect()
}

/// The own phone numbers as MSNP8+ dumps them: `PRP kind value`.
fn own_phones(a: &Account, out: &mut Vec<String>) {
    for (kind, v) in set_phones(a.phones(), true) {
        out.push(line(Prp {
            trid: None,
            serial: None,
            kind,
            value: Text::Plain(&v),
        }));
    }
}

/// A contact's phone numbers as MSNP8+ dumps them: `BPR kind value` after their `LST`.
fn contact_phones(c: &Contact, out: &mut Vec<String>) {
    for (kind, v) in set_phones(&c.phones, false) {
        out.push(line(SynBpr::Short {
            kind,
            value: Text::Plain(&v),
        }));
    }
}

/// MSNP8-9: counts on SYN, one LST per contact with a list bitmask.
fn dump_bitmask(a: &Account, trid: u32) -> Vec<String> {
    let mask = list::FL | list::AL | list::BL | list::RL;
    let contacts: Vec<&Contact> = a
        .contacts
        .values()
        .filter(|c| c.lists & mask != 0)
        .collect();
    let mut out = vec![
        line(reply::Syn {
            trid,
            version: ListVersion::Serial(a.serial),
            counts: Some((contacts.len() as u32, a.groups.len() as u32)),
        }),
        setting("GTC", None, None, gtc_value(a)),
        setting("BLP", None, None, a.blp.code()),
    ];
    own_phones(a, &mut out);
    for (num, g) in &a.groups {
        out.push(line(reply::Lsg::Numbered {
            id: *num,
            name: Text::Plain(&g.name),
        }));
    }
    for c in contacts {
        let bits = c.lists & mask;
        let ids = (bits & list::FL != 0).then(|| group_ids(c.groups));
        out.push(line(reply::Lst::Bitmask {
            handle: &c.handle,
            name: Text::Plain(&c.name),
            lists: bits,
            groups: ids.as_deref(),
        }));
        contact_phones(c, &mut out);
    }
    out
}

/// GUIDs of the user groups a contact is in (group 0 is "no group" from MSNP10 on).
pub fn group_guids(a: &Account, mask: u32) -> Vec<&str> {
    a.groups
        .iter()
        .filter(|(num, _)| **num != 0 && mask & (1 << **num) != 0)
        .map(|(_, g)| g.guid.as_str())
        .collect()
}

/// MSNP10-12: timestamps, N=/F=/C=, GUID groups, no group 0; MSNP12 adds the network id.
fn dump_guid(a: &Account, trid: u32, ts: &str, network: bool) -> Vec<String> {
    let groups: Vec<_> = a.groups.iter().filter(|(n, _)| **n != 0).collect();
    let contacts: Vec<&Contact> = a.contacts.values().filter(|c| c.lists != 0).collect();
    let mut out = vec![
        line(reply::Syn {
            trid,
            version: ListVersion::Stamps(ts),
            counts: Some((contacts.len() as u32, groups.len() as u32)),
        }),
        setting("GTC", None, None, gtc_value(a)),
        setting("BLP", None, None, a.blp.code()),
        line(Prp {
            trid: None,
            serial: None,
            kind: "MFN",
            value: Text::Plain(&a.friendly),
        }),
    ];
    own_phones(a, &mut out);
    for (_, g) in &groups {
        out.push(line(reply::Lsg::Guid {
            name: Text::Plain(&g.name),
            guid: &g.guid,
        }));
    }
    for c in contacts {
        let on_fl = c.lists & list::FL != 0;
        let gg = if on_fl {
            group_guids(a, c.groups)
        } else {
            Vec::new()
        };
        let joined = (!gg.is_empty()).then(|| gg.join(","));
        out.push(line(reply::Lst::Guid {
            handle: &c.handle,
            name: Text::Plain(&c.name),
            guid: on_fl.then_some(c.guid.as_str()),
            lists: c.lists,
            network,
            groups: joined.as_deref(),
        }));
        contact_phones(c, &mut out);
    }
    out
}

/// Client `LST trid XL` (MSNP2-8).
impl Apply<'_> for Lst {
    async fn apply(self, s: &mut NsSession, trid: u32) -> Handled {
        let Some(user) = s.user().cloned() else {
            return Ok(());
        };
        let groups = s.dialect().syn >= SynFormat::ListsGroups;
        let account = s.account(&user).await?;
        let lines = classic_list(&account, trid, self.list, groups, false);
        send_lines(s, lines).await
    }
}

/// Client `LSG trid` (MSNP7-8).
impl Apply<'_> for Lsg {
    async fn apply(self, s: &mut NsSession, trid: u32) -> Handled {
        let Some(user) = s.user().cloned() else {
            return Ok(());
        };
        let lines: Vec<String> = {
            let a = s.account(&user).await?;
            let total = a.groups.len() as u32;
            a.groups
                .iter()
                .enumerate()
                .map(|(i, (num, g))| {
                    line(reply::Lsg::Indexed {
                        trid,
                        serial: a.serial,
                        index: i as u32 + 1,
                        total,
                        id: *num,
                        name: Text::Plain(&g.name),
                    })
                })
                .collect()
        };
        send_lines(s, lines).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Blp, Group, SortedMap};

    fn account() -> Account {
        let mut groups = SortedMap::new();
        groups.insert(
            0,
            Group {
                name: "Other Contacts".into(),
                guid: "g0".into(),
            },
        );
        groups.insert(
            1,
            Group {
                name: "Friends".into(),
                guid: "g1".into(),
            },
        );
        let mut contacts = SortedMap::new();
        contacts.insert(
            2,
            Contact {
                handle: "b@x.com".into(),
                name: "Bee B".into(),
                guid: "c2".into(),
                lists: list::FL | list::AL | list::RL,
                groups: 0b11,
                phones: Phones::default(),
            },
        );
        contacts.insert(
            3,
            Contact {
                handle: "c@x.com".into(),
                name: "c@x.com".into(),
                guid: "c3".into(),
                lists: list::RL,
                groups: 0,
                phones: Phones::default(),
            },
        );
        Account {
            friendly: "A".into(),
            blp: Blp::Allow,
            gtc_prompt: true,
            serial: 9,
            phones: Phones {
                home: "123 4".into(),
                ..Default::default()
            }
            .boxed(),
            groups,
            contacts,
        }
    }

    #[test]
    fn msnp7_dump() {
        let l = dump_classic(&account(), 8, SynFormat::ListsGroups);
        assert_eq!(l[0], "SYN 8 9");
        assert_eq!(l[3], "PRP 8 9 PHH 123%204");
        assert_eq!(l[4], "PRP 8 9 PHW");
        assert_eq!(l[8], "LSG 8 9 1 2 0 Other%20Contacts 0");
        assert_eq!(l[10], "LST 8 FL 9 1 1 b@x.com Bee%20B 0,1");
        assert_eq!(l[11], "BPR 9 b@x.com PHH");
        assert!(l.contains(&"LST 8 BL 9 0 0".to_string()));
        assert!(l.contains(&"LST 8 RL 9 2 2 c@x.com c@x.com".to_string()));
    }

    #[test]
    fn msnp8_and_msnp12_dumps() {
        let l = dump_bitmask(&account(), 5);
        assert_eq!(l[0], "SYN 5 9 2 2");
        assert!(l.contains(&"LST b@x.com Bee%20B 11 0,1".to_string()));
        assert!(l.contains(&"LST c@x.com c@x.com 8".to_string()));
        let l = dump_guid(&account(), 5, "T", true);
        assert_eq!(l[0], "SYN 5 T T 2 1");
        assert!(l.contains(&"LSG Friends g1".to_string()));
        assert!(l.contains(&"LST N=b@x.com F=Bee%20B C=c2 11 1 g1".to_string()));
        assert!(l.contains(&"LST N=c@x.com F=c@x.com 8 1".to_string()));
    }
}
