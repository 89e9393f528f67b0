//! Requests in the shapes libpurple 2.10.9 (`contact.h` templates) and papyon send them, and
//! answers read back along the paths those clients read.

use super::abservice::{self, Owner};
use super::sharing;
use super::*;
use crate::model::{Account, Blp, Contact, Group, Phones, SortedMap};
use crate::protocol::timestamp::from_serial;

const HOST: &str = "local-bay.contacts.msn.com";

pub(crate) fn account() -> Account {
    let contact = |handle: &str, name: &str, guid: &str, lists: u8, groups: u32| Contact {
        handle: handle.into(),
        name: name.into(),
        guid: guid.into(),
        lists,
        groups,
        phones: Phones::default(),
    };
    Account {
        friendly: "Alice & <Co>".into(),
        blp: Blp::Allow,
        gtc_prompt: true,
        serial: 42,
        phones: None,
        groups: [
            (
                0,
                Group {
                    name: Group::name_from("Other Contacts".into()),
                    guid: "0".into(),
                },
            ),
            (
                1,
                Group {
                    name: "Friends".into(),
                    guid: "11111111-1111-1111-1111-111111111111".into(),
                },
            ),
        ]
        .into_iter()
        .collect(),
        contacts: [
            (
                2,
                contact(
                    "bob@example.com",
                    "Bob",
                    "22222222-2222-2222-2222-222222222222",
                    list::FL | list::AL | list::RL,
                    1 << 1,
                ),
            ),
            (
                3,
                contact("carol@example.com", "Carol", "", list::RL | list::PL, 0),
            ),
            (
                4,
                contact(
                    "dave@example.com",
                    "Dave",
                    "44444444-4444-4444-4444-444444444444",
                    list::FL | list::BL,
                    0,
                ),
            ),
        ]
        .into_iter()
        .collect::<SortedMap<_, _>>(),
    }
}

fn owner(a: &Account) -> Owner<'_> {
    Owner {
        id: 1,
        handle: "alice@example.com",
        account: a,
    }
}

fn read(doc: &str) -> Element {
    let bounds = Bounds {
        max_bytes: 1 << 20,
        max_depth: 32,
        max_elements: 100_000,
    };
    xml::parse(doc.as_bytes(), &bounds).expect("our answer parses")
}

/// A request as libpurple's templates build it: `soap:` envelope, the two AB headers, body.
fn request(scenario: &str, body: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:soapenc="http://schemas.xmlsoap.org/soap/encoding/"><soap:Header><ABApplicationHeader xmlns="http://www.msn.com/webservices/AddressBook"><ApplicationId>CFE80F9D-180F-4399-82AB-413F33A1FA11</ApplicationId><IsMigration>false</IsMigration><PartnerScenario>{scenario}</PartnerScenario></ABApplicationHeader><ABAuthHeader xmlns="http://www.msn.com/webservices/AddressBook"><ManagedGroupRequest>false</ManagedGroupRequest><TicketToken>t=abc&amp;p=def</TicketToken></ABAuthHeader></soap:Header><soap:Body>{body}</soap:Body></soap:Envelope>"#
    )
}

fn parse(scenario: &str, body: &str) -> Result<SoapRequest, Fault> {
    parse_request(request(scenario, body).as_bytes())
}

#[test]
fn reads_the_find_requests() {
    let r = parse("Initial", r#"<FindMembership xmlns="http://www.msn.com/webservices/AddressBook"><serviceFilter><Types><ServiceType>Messenger</ServiceType><ServiceType>Invitation</ServiceType></Types></serviceFilter><View>Full</View><deltasOnly>true</deltasOnly><lastChange>2005-01-01T00:00:42.0000000-00:00</lastChange></FindMembership>"#).unwrap();
    assert_eq!(r.method, Method::FindMembership);
    assert!(r.method.is_sharing());
    assert_eq!(r.ticket, "t=abc&p=def");
    assert_eq!(r.scenario, "Initial");
    let Action::Find {
        deltas_only,
        last_change,
    } = &r.action
    else {
        panic!("{r:?}")
    };
    assert!(*deltas_only);
    assert!(client_is_current(*deltas_only, last_change.as_deref(), 42));
    assert!(!client_is_current(*deltas_only, last_change.as_deref(), 43));
    assert!(!client_is_current(false, last_change.as_deref(), 42));
    assert!(!client_is_current(
        true,
        Some("0001-01-01T00:00:00.0000000-08:00"),
        42
    ));

    let r = parse("Initial", r#"<ABFindContactsPaged xmlns="http://www.msn.com/webservices/AddressBook"><abView>Full</abView><extendedContent>AB AllGroups CircleResult</extendedContent><filterOptions><deltasOnly>true</deltasOnly><lastChange>x</lastChange></filterOptions></ABFindContactsPaged>"#).unwrap();
    assert_eq!(r.method, Method::AbFindContactsPaged);
    assert_eq!(
        r.action,
        Action::Find {
            deltas_only: true,
            last_change: Some("x".into())
        }
    );
    let r = parse("Initial", r#"<ABFindAll xmlns="http://www.msn.com/webservices/AddressBook"><abId>00000000-0000-0000-0000-000000000000</abId><abView>Full</abView><deltasOnly>false</deltasOnly><lastChange>0001-01-01T00:00:00.0000000-08:00</lastChange></ABFindAll>"#).unwrap();
    assert_eq!(r.method, Method::AbFindAll);
    assert!(matches!(
        r.action,
        Action::Find {
            deltas_only: false,
            ..
        }
    ));
}

#[test]
fn reads_the_changing_requests() {
    let cases: Vec<(&str, Action)> = vec![
        (
            r#"<ABContactAdd xmlns="http://www.msn.com/webservices/AddressBook"><abId>00000000-0000-0000-0000-000000000000</abId><contacts><Contact xmlns="http://www.msn.com/webservices/AddressBook"><contactInfo><passportName>Bob@Example.com</passportName><isSmtp>false</isSmtp><isMessengerUser>true</isMessengerUser></contactInfo></Contact></contacts><options><EnableAllowListManagement>true</EnableAllowListManagement></options></ABContactAdd>"#,
            Action::ContactAdd(vec![ContactRef::Handle("bob@example.com".into())]),
        ),
        (
            r#"<ABContactAdd xmlns="http://www.msn.com/webservices/AddressBook"><abId>0</abId><contacts><Contact><contactInfo><emails><ContactEmail><contactEmailType>Messenger3</contactEmailType><email>erin@example.org</email><isMessengerEnabled>true</isMessengerEnabled></ContactEmail></emails></contactInfo></Contact></contacts></ABContactAdd>"#,
            Action::ContactAdd(vec![ContactRef::Handle("erin@example.org".into())]),
        ),
        (
            r#"<ABContactDelete xmlns="http://www.msn.com/webservices/AddressBook"><abId>0</abId><contacts><Contact><contactId>22222222-2222-2222-2222-222222222222</contactId></Contact></contacts></ABContactDelete>"#,
            Action::ContactDelete(vec![ContactRef::Id(
                "22222222-2222-2222-2222-222222222222".into(),
            )]),
        ),
        (
            r#"<ABContactUpdate xmlns="http://www.msn.com/webservices/AddressBook"><abId>0</abId><contacts><Contact xmlns="http://www.msn.com/webservices/AddressBook"><contactInfo><displayName>New &amp; me</displayName><contactType>Me</contactType></contactInfo><propertiesChanged>DisplayName</propertiesChanged></Contact></contacts></ABContactUpdate>"#,
            Action::ContactUpdate(vec![ContactChange {
                contact: ContactRef::Me,
                display_name: Some("New & me".into()),
            }]),
        ),
        (
            r#"<ABGroupAdd xmlns="http://www.msn.com/webservices/AddressBook"><abId>0</abId><groupAddOptions><fRenameOnMsgrConflict>false</fRenameOnMsgrConflict></groupAddOptions><groupInfo><GroupInfo><name>Work &lt;2&gt;</name><groupType>C8529CE2-6EAD-434d-881F-341E17DB3FF8</groupType><fMessenger>false</fMessenger></GroupInfo></groupInfo></ABGroupAdd>"#,
            Action::GroupAdd("Work <2>".into()),
        ),
        (
            r#"<ABGroupDelete xmlns="http://www.msn.com/webservices/AddressBook"><abId>0</abId><groupFilter><groupIds><guid>g1</guid></groupIds></groupFilter></ABGroupDelete>"#,
            Action::GroupDelete(vec!["g1".into()]),
        ),
        (
            r#"<ABGroupUpdate xmlns="http://www.msn.com/webservices/AddressBook"><abId>0</abId><groups><Group><groupId>g1</groupId><groupInfo><name>Mates</name></groupInfo><propertiesChanged>GroupName </propertiesChanged></Group></groups></ABGroupUpdate>"#,
            Action::GroupUpdate(vec![("g1".into(), "Mates".into())]),
        ),
        (
            r#"<ABGroupContactAdd xmlns="http://www.msn.com/webservices/AddressBook"><abId>0</abId><groupFilter><groupIds><guid>g1</guid></groupIds></groupFilter><contacts><Contact xmlns="http://www.msn.com/webservices/AddressBook"><contactInfo><passportName>bob@example.com</passportName><isSmtp>false</isSmtp><isMessengerUser>true</isMessengerUser></contactInfo></Contact></contacts><groupContactAddOptions><fGenerateMissingQuickName>true</fGenerateMissingQuickName><EnableAllowListManagement>true</EnableAllowListManagement></groupContactAddOptions></ABGroupContactAdd>"#,
            Action::GroupContactAdd(
                "g1".into(),
                vec![ContactRef::Handle("bob@example.com".into())],
            ),
        ),
        (
            r#"<ABGroupContactDelete xmlns="http://www.msn.com/webservices/AddressBook"><abId>0</abId><contacts><Contact><contactId>c1</contactId></Contact></contacts><groupFilter><groupIds><guid>g1</guid></groupIds></groupFilter></ABGroupContactDelete>"#,
            Action::GroupContactDelete("g1".into(), vec![ContactRef::Id("c1".into())]),
        ),
        (
            r#"<AddMember xmlns="http://www.msn.com/webservices/AddressBook"><serviceHandle><Id>0</Id><Type>Messenger</Type><ForeignId></ForeignId></serviceHandle><memberships><Membership><MemberRole>Allow</MemberRole><Members><Member xsi:type="PassportMember" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><Type>Passport</Type><State>Accepted</State><PassportName>carol@example.com</PassportName></Member></Members></Membership></memberships></AddMember>"#,
            Action::AddMember(
                list::AL,
                vec![MemberRef::Handle("carol@example.com".into())],
            ),
        ),
        (
            r#"<DeleteMember xmlns="http://www.msn.com/webservices/AddressBook"><serviceHandle><Id>0</Id><Type>Messenger</Type><ForeignId></ForeignId></serviceHandle><memberships><Membership><MemberRole>Pending</MemberRole><Members><Member xsi:type="PassportMember" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><Type>Passport</Type><MembershipId>0</MembershipId><State>Accepted</State></Member></Members></Membership></memberships></DeleteMember>"#,
            Action::DeleteMember(list::PL, vec![MemberRef::MembershipId(0)]),
        ),
        (
            r#"<ABAdd xmlns="http://www.msn.com/webservices/AddressBook"><abInfo><name/><ownerPuid>0</ownerPuid><ownerEmail>alice@example.com</ownerEmail><fDefault>true</fDefault></abInfo></ABAdd>"#,
            Action::AbAdd,
        ),
    ];
    for (body, expected) in cases {
        let r = parse("ContactSave", body).unwrap_or_else(|f| panic!("{f}: {body}"));
        assert_eq!(r.action, expected, "{body}");
        assert_eq!(r.method.name(), &body[1..r.method.name().len() + 1]);
    }
}

#[test]
fn bad_requests_get_the_faults_clients_know() {
    let bad_email = r#"<ABContactAdd xmlns="http://www.msn.com/webservices/AddressBook"><contacts><Contact><contactInfo><passportName>not an address</passportName></contactInfo></Contact></contacts></ABContactAdd>"#;
    assert_eq!(
        parse("ContactSave", bad_email),
        Err(Fault::BadEmailArgument)
    );
    let cases = [
        r#"<ABUnknownMethod/>"#,
        r#"<ABContactAdd><contacts/></ABContactAdd>"#,
        r#"<ABContactAdd/>"#,
        r#"<ABGroupDelete><groupFilter><groupIds/></groupFilter></ABGroupDelete>"#,
        r#"<AddMember><memberships><Membership><MemberRole>Owner</MemberRole><Members><Member><PassportName>a@b.com</PassportName></Member></Members></Membership></memberships></AddMember>"#,
        r#"<DeleteMember><memberships><Membership><MemberRole>Allow</MemberRole><Members><Member><MembershipId>x</MembershipId></Member></Members></Membership></memberships></DeleteMember>"#,
        r#"<CreateCircle/>"#,
    ];
    for body in cases {
        assert_eq!(parse("Initial", body), Err(Fault::BadArgument), "{body}");
    }
    assert_eq!(
        parse(
            "GroupSave",
            r#"<ABGroupAdd><groupInfo><GroupInfo><name></name></GroupInfo></groupInfo></ABGroupAdd>"#
        ),
        Err(Fault::GroupNameTooLong)
    );
    for raw in [
        &b"<!DOCTYPE x [<!ENTITY e SYSTEM 'file:///etc/passwd'>]><x>&e;</x>"[..],
        b"<Envelope><Body></Body></Envelope>",
        b"<Other/>",
        b"\xff\xfe",
        b"",
    ] {
        assert_eq!(parse_request(raw), Err(Fault::BadArgument));
    }
    assert_eq!(
        parse_request(&vec![b'<'; HTTP_MAX_BODY + 1]),
        Err(Fault::BadArgument)
    );

    // The fault documents: libpurple reads detail/errorcode, papyon the faultcode.
    let doc = read(&fault(Fault::InvalidPassportUser));
    let f = doc.path(&["Body", "Fault"]).unwrap();
    assert_eq!(f.path_text(&["faultcode"]), Some("InvalidPassportUser"));
    assert_eq!(
        f.path_text(&["detail", "errorcode"]),
        Some("InvalidPassportUser")
    );
    let doc = read(&fault(Fault::BadContextToken));
    assert_eq!(
        doc.path_text(&["Body", "Fault", "faultcode"]),
        Some("q0:BadContextToken"),
        "libpurple renews its token on exactly this"
    );
    assert!(Fault::ContactAlreadyExists.status().starts_with("500"));
}

#[test]
fn find_contacts_paged_reads_as_libpurple_reads_it() {
    let a = account();
    let doc = read(&abservice::find_contacts_paged(
        HOST,
        owner(&a),
        false,
        Some("ticket<&>"),
    ));
    assert_eq!(
        doc.path_text(&["Header", "ServiceHeader", "CacheKeyChanged"]),
        Some("true")
    );
    assert_eq!(
        doc.path_text(&["Header", "ServiceHeader", "PreferredHostName"]),
        Some(HOST)
    );
    let result = doc
        .path(&[
            "Body",
            "ABFindContactsPagedResponse",
            "ABFindContactsPagedResult",
        ])
        .unwrap();
    let groups: Vec<_> = result
        .child("Groups")
        .unwrap()
        .children_named("Group")
        .map(|g| {
            (
                g.path_text(&["groupId"]).unwrap(),
                g.path_text(&["groupInfo", "name"]).unwrap(),
            )
        })
        .collect();
    assert_eq!(
        groups,
        [("11111111-1111-1111-1111-111111111111", "Friends")],
        "group 0 is not a group from MSNP10 on"
    );
    let contacts: Vec<_> = result
        .child("Contacts")
        .unwrap()
        .children_named("Contact")
        .collect();
    assert_eq!(contacts.len(), 3, "Me, and the two on the forward list");
    let me = contacts[0];
    assert_eq!(me.path_text(&["contactInfo", "contactType"]), Some("Me"));
    assert_eq!(
        me.path_text(&["contactInfo", "displayName"]),
        Some("Alice & <Co>")
    );
    let annotations: Vec<_> = me
        .path(&["contactInfo", "annotations"])
        .unwrap()
        .children_named("Annotation")
        .map(|a| {
            (
                a.path_text(&["Name"]).unwrap(),
                a.path_text(&["Value"]).unwrap(),
            )
        })
        .collect();
    assert!(annotations.contains(&("MSN.IM.MPOP", "1")));
    let bob = contacts[1];
    assert_eq!(
        bob.path_text(&["contactId"]),
        Some("22222222-2222-2222-2222-222222222222")
    );
    let info = bob.child("contactInfo").unwrap();
    assert_eq!(info.path_text(&["contactType"]), Some("Regular"));
    assert_eq!(info.path_text(&["passportName"]), Some("bob@example.com"));
    assert_eq!(info.path_text(&["isMessengerUser"]), Some("true"));
    assert_eq!(info.path_text(&["displayName"]), Some("Bob"));
    let guids: Vec<_> = info
        .child("groupIds")
        .unwrap()
        .children_named("guid")
        .map(Element::text)
        .collect();
    assert_eq!(guids, ["11111111-1111-1111-1111-111111111111"]);
    let dave = contacts[2];
    assert!(
        dave.path(&["contactInfo", "groupIds"]).is_none(),
        "no groupIds: libpurple files it under its default group"
    );
    assert_eq!(
        result.path_text(&["CircleResult", "CircleTicket"]),
        Some("ticket<&>")
    );
    assert_eq!(
        result.path_text(&["Ab", "lastChange"]),
        Some(&*from_serial(42))
    );
}

#[test]
fn find_all_reads_as_papyon_reads_it_and_deltas_are_empty() {
    let a = account();
    let doc = read(&abservice::find_all(HOST, owner(&a), false));
    let result = doc
        .path(&["Body", "ABFindAllResponse", "ABFindAllResult"])
        .unwrap();
    assert_eq!(result.child("groups").unwrap().children.len(), 1);
    let handles: Vec<_> = result
        .child("contacts")
        .unwrap()
        .children_named("Contact")
        .map(|c| c.path_text(&["contactInfo", "passportName"]).unwrap())
        .collect();
    assert_eq!(
        handles,
        ["alice@example.com", "bob@example.com", "dave@example.com"]
    );
    let last = result.path_text(&["ab", "lastChange"]).unwrap();
    assert!(client_is_current(true, Some(last), a.serial));

    let delta = read(&abservice::find_all(HOST, owner(&a), true));
    let result = delta
        .path(&["Body", "ABFindAllResponse", "ABFindAllResult"])
        .unwrap();
    assert!(result.child("contacts").is_none() && result.child("groups").is_none());
    assert_eq!(result.path_text(&["ab", "lastChange"]), Some(last));
}

#[test]
fn find_membership_lists_every_role_with_numeric_ids() {
    let a = account();
    let doc = read(&sharing::find_membership(HOST, owner(&a), false));
    let service = doc
        .path(&[
            "Body",
            "FindMembershipResponse",
            "FindMembershipResult",
            "Services",
            "Service",
        ])
        .unwrap();
    assert_eq!(
        service.path_text(&["Info", "Handle", "Type"]),
        Some("Messenger")
    );
    let mut seen: Vec<(String, u8)> = Vec::new();
    for m in service
        .child("Memberships")
        .unwrap()
        .children_named("Membership")
    {
        let bit = role_bit(m.path_text(&["MemberRole"]).unwrap()).unwrap();
        for member in m.child("Members").unwrap().children_named("Member") {
            assert_eq!(member.attr("type"), Some("PassportMember"));
            assert_eq!(member.path_text(&["Type"]), Some("Passport"));
            let id: u64 = member
                .path_text(&["MembershipId"])
                .unwrap()
                .parse()
                .unwrap();
            let handle = member.path_text(&["PassportName"]).unwrap().to_string();
            let (uid, target_bit) = membership_target(id).unwrap();
            assert_eq!(target_bit, bit);
            assert_eq!(a.contacts.get(&uid).unwrap().handle, handle);
            seen.push((handle, bit));
        }
    }
    // Rebuild each contact's AL/BL/RL/PL bits from the answer: the same as the account's.
    for (_, c) in a.contacts.iter() {
        let bits = seen
            .iter()
            .filter(|(h, _)| *h == c.handle)
            .fold(0, |acc, (_, b)| acc | b);
        assert_eq!(bits, c.lists & !list::FL, "{}", c.handle);
    }
    let last = service.path_text(&["LastChange"]).unwrap();
    assert!(client_is_current(true, Some(last), a.serial));
    let delta = read(&sharing::find_membership(HOST, owner(&a), true));
    assert!(delta.find("Memberships").is_none());
}

#[test]
fn small_answers_carry_what_clients_read() {
    let doc = read(&abservice::contact_added(HOST, "c-guid"));
    assert_eq!(
        doc.path_text(&["Body", "ABContactAddResponse", "ABContactAddResult", "guid"]),
        Some("c-guid")
    );
    let doc = read(&abservice::group_added(HOST, "g-guid"));
    assert_eq!(
        doc.path_text(&["Body", "ABGroupAddResponse", "ABGroupAddResult", "guid"]),
        Some("g-guid")
    );
    let doc = read(&abservice::group_contact_added(HOST, "c-guid"));
    assert_eq!(
        doc.path_text(&[
            "Body",
            "ABGroupContactAddResponse",
            "ABGroupContactAddResult",
            "guid"
        ]),
        Some("c-guid")
    );
    for m in [
        Method::AbAdd,
        Method::AbContactDelete,
        Method::AbContactUpdate,
        Method::AbGroupDelete,
        Method::AbGroupUpdate,
        Method::AbGroupContactDelete,
        Method::AddMember,
        Method::DeleteMember,
    ] {
        let doc = read(&abservice::done(HOST, m));
        let body = doc.child("Body").unwrap();
        assert_eq!(body.children[0].name, format!("{}Response", m.name()));
        assert!(doc.path(&["Body", "Fault"]).is_none());
    }
}

#[test]
fn membership_ids_round_trip_and_refuse_strangers() {
    for (uid, bit) in [
        (1, list::AL),
        (2, list::BL),
        (77, list::RL),
        (1 << 40, list::PL),
    ] {
        assert_eq!(membership_target(membership_id(uid, bit)), Some((uid, bit)));
    }
    assert_eq!(
        membership_target(0),
        None,
        "libpurple's unknown pending member"
    );
    assert_eq!(membership_target(8 + 7), None);
    assert_eq!(membership_target(u64::MAX), None);
}

#[test]
fn a_large_address_book_stays_well_formed() {
    let mut a = account();
    let base = a.contacts.get(&2).unwrap().clone();
    for i in 0..300 {
        let mut c = base.clone();
        c.handle = format!("user{i}@example.com");
        c.name = format!("User <{i}> & \u{1}");
        c.guid = format!("00000000-0000-0000-0000-{i:012}");
        a.contacts.insert(100 + i, c);
    }
    let doc = read(&abservice::find_all(HOST, owner(&a), false));
    let n = doc
        .path(&["Body", "ABFindAllResponse", "ABFindAllResult", "contacts"])
        .unwrap()
        .children
        .len();
    assert_eq!(n, 303);
    let doc = read(&sharing::find_membership(HOST, owner(&a), false));
    assert!(doc.find("Memberships").unwrap().children.len() >= 3);
}
