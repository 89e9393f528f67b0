//! WLM 8.0-2009 contact lists over SOAP (issue 19 item 3): the address book and the sharing
//! service on the real server, spoken byte for byte over HTTP and HTTPS, in the order papyon's
//! scenarios make the calls (`initial_sync.py`, `messenger_contact_add.py`, `block_contact.py`,
//! `group_add.py` ...), and "one truth" with MSNP2-12: what SOAP changes, an MSNP7 client sees in
//! its `SYN` (and is told of at once, in its own dialect), and what `ADD` changes, SOAP shows.

mod common;
mod wlm_common;
use common::*;
use msnpd::protocol::xml::{self, Bounds, Element};

const A: &str = "alice@example.com";
const B: &str = "bob@example.com";
const C: &str = "carol@example.com";

fn server() -> TestServer {
    TestServer::start(&[(A, "pw"), (B, "pw"), (C, "pw")])
}

/// RST.srf as WLM and libpurple call it: the password once, a token per service. Returns the
/// contacts.msn.com token (`t=...&p=...`).
fn contacts_token(s: &TestServer, handle: &str, password: &str) -> String {
    let body = format!(
        r#"<?xml version="1.0" encoding="utf-8"?><Envelope xmlns="http://schemas.xmlsoap.org/soap/envelope/" xmlns:wsse="http://schemas.xmlsoap.org/ws/2003/06/secext" xmlns:wsp="http://schemas.xmlsoap.org/ws/2002/12/policy" xmlns:wsa="http://schemas.xmlsoap.org/ws/2004/03/addressing" xmlns:wst="http://schemas.xmlsoap.org/ws/2004/04/trust"><Header><wsse:Security><wsse:UsernameToken Id="user"><wsse:Username>{handle}</wsse:Username><wsse:Password>{password}</wsse:Password></wsse:UsernameToken></wsse:Security></Header><Body><ps:RequestMultipleSecurityTokens xmlns:ps="http://schemas.microsoft.com/Passport/SoapServices/PPCRL" Id="RSTS"><wst:RequestSecurityToken Id="RST0"><wst:RequestType>http://schemas.xmlsoap.org/ws/2004/04/security/trust/Issue</wst:RequestType><wsp:AppliesTo><wsa:EndpointReference><wsa:Address>http://Passport.NET/tb</wsa:Address></wsa:EndpointReference></wsp:AppliesTo></wst:RequestSecurityToken><wst:RequestSecurityToken Id="RST1"><wst:RequestType>http://schemas.xmlsoap.org/ws/2004/04/security/trust/Issue</wst:RequestType><wsp:AppliesTo><wsa:EndpointReference><wsa:Address>contacts.msn.com</wsa:Address></wsa:EndpointReference></wsp:AppliesTo><wsse:PolicyReference URI="MBI"></wsse:PolicyReference></wst:RequestSecurityToken></ps:RequestMultipleSecurityTokens></Body></Envelope>"#
    );
    let (status, _, answer) = http(s.http, "POST", "//RST.srf", &[], body.as_bytes());
    assert_eq!(status, 200);
    let doc = read(&answer);
    let tokens = msnpd::http::rst::read_answer(&doc);
    let (_, token, _) = tokens
        .iter()
        .find(|(id, _, _)| id == "Compact1")
        .unwrap_or_else(|| panic!("no contacts token: {}", String::from_utf8_lossy(&answer)));
    assert!(token.starts_with("t="), "{token}");
    token.clone()
}

fn read(doc: &[u8]) -> Element {
    let bounds = Bounds {
        max_bytes: 1 << 22,
        max_depth: 64,
        max_elements: 1 << 20,
    };
    xml::parse(doc, &bounds).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(doc)))
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;")
}

/// A request as libpurple's templates build it.
fn envelope(token: &str, scenario: &str, body: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:soapenc="http://schemas.xmlsoap.org/soap/encoding/"><soap:Header><ABApplicationHeader xmlns="http://www.msn.com/webservices/AddressBook"><ApplicationId>CFE80F9D-180F-4399-82AB-413F33A1FA11</ApplicationId><IsMigration>false</IsMigration><PartnerScenario>{scenario}</PartnerScenario></ABApplicationHeader><ABAuthHeader xmlns="http://www.msn.com/webservices/AddressBook"><ManagedGroupRequest>false</ManagedGroupRequest><TicketToken>{}</TicketToken></ABAuthHeader></soap:Header><soap:Body>{body}</soap:Body></soap:Envelope>"#,
        esc(token)
    )
}

const AB: &str = "//abservice/abservice.asmx";
const SHARING: &str = "//abservice/SharingService.asmx";

/// One SOAP call over plain HTTP; (status, parsed answer).
fn call(s: &TestServer, path: &str, token: &str, scenario: &str, body: &str) -> (u16, Element) {
    let method = body[1..].split([' ', '>', '/']).next().unwrap();
    let action = format!("http://www.msn.com/webservices/AddressBook/{method}");
    let (status, _, answer) = http(
        s.http,
        "POST",
        path,
        &[
            ("SOAPAction", &action),
            ("Content-Type", "text/xml; charset=utf-8"),
        ],
        envelope(token, scenario, body).as_bytes(),
    );
    (status, read(&answer))
}

/// A call that must succeed; its `Body`'s first element.
fn ok(s: &TestServer, path: &str, token: &str, scenario: &str, body: &str) -> Element {
    let (status, doc) = call(s, path, token, scenario, body);
    let answer = doc.child("Body").and_then(|b| b.children.first()).cloned();
    assert_eq!(status, 200, "{body}: {answer:?}");
    answer.unwrap()
}

/// A call that must fail with fault `code` (as `detail/errorcode`).
fn fault(s: &TestServer, path: &str, token: &str, body: &str, code: &str) {
    let (status, doc) = call(s, path, token, "Timer", body);
    assert_eq!(status, 500, "{body}");
    let f = doc.path(&["Body", "Fault"]).expect("a SOAP fault");
    assert_eq!(
        f.path_text(&["detail", "errorcode"]),
        Some(code),
        "{body}: {f:?}"
    );
}

const NS: &str = r#"xmlns="http://www.msn.com/webservices/AddressBook""#;

fn find_membership(deltas: Option<&str>) -> String {
    let delta = match deltas {
        Some(last) => format!("<deltasOnly>true</deltasOnly><lastChange>{last}</lastChange>"),
        None => String::new(),
    };
    format!(
        r#"<FindMembership {NS}><serviceFilter><Types><ServiceType>Messenger</ServiceType><ServiceType>Invitation</ServiceType><ServiceType>SocialNetwork</ServiceType><ServiceType>Space</ServiceType><ServiceType>Profile</ServiceType></Types></serviceFilter><View>Full</View>{delta}</FindMembership>"#
    )
}

fn find_all() -> String {
    format!(
        r#"<ABFindAll {NS}><abId>00000000-0000-0000-0000-000000000000</abId><abView>Full</abView><deltasOnly>false</deltasOnly><lastChange>0001-01-01T00:00:00.0000000-08:00</lastChange></ABFindAll>"#
    )
}

fn find_paged() -> String {
    format!(
        r#"<ABFindContactsPaged {NS}><abView>Full</abView><extendedContent>AB AllGroups CircleResult</extendedContent><filterOptions><DeltasOnly>false</DeltasOnly><LastChanged>0001-01-01T00:00:00.0000000-08:00</LastChanged><ContactFilter><IncludeHiddenContacts>true</IncludeHiddenContacts></ContactFilter></filterOptions><pageContext><PageSize>1500</PageSize><Direction>Forward</Direction></pageContext></ABFindContactsPaged>"#
    )
}

fn contact_add(handle: &str) -> String {
    format!(
        r#"<ABContactAdd {NS}><abId>00000000-0000-0000-0000-000000000000</abId><contacts><Contact {NS}><contactInfo><passportName>{handle}</passportName><isSmtp>false</isSmtp><isMessengerUser>true</isMessengerUser></contactInfo></Contact></contacts><options><EnableAllowListManagement>true</EnableAllowListManagement></options></ABContactAdd>"#
    )
}

fn member(method: &str, role: &str, handle: &str) -> String {
    format!(
        r#"<{method} {NS}><serviceHandle><Id>0</Id><Type>Messenger</Type><ForeignId></ForeignId></serviceHandle><memberships><Membership><MemberRole>{role}</MemberRole><Members><Member xsi:type="PassportMember" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><Type>Passport</Type><State>Accepted</State><PassportName>{handle}</PassportName></Member></Members></Membership></memberships></{method}>"#
    )
}

/// The handles on each role of a FindMembership answer.
fn memberships(answer: &Element) -> Vec<(String, Vec<String>)> {
    let Some(list) = answer.path(&["FindMembershipResult", "Services", "Service", "Memberships"])
    else {
        return Vec::new();
    };
    list.children_named("Membership")
        .map(|m| {
            let role = m.path_text(&["MemberRole"]).unwrap().to_string();
            let names = m
                .child("Members")
                .unwrap()
                .children_named("Member")
                .map(|x| x.path_text(&["PassportName"]).unwrap().to_string())
                .collect();
            (role, names)
        })
        .collect()
}

fn role<'a>(m: &'a [(String, Vec<String>)], name: &str) -> &'a [String] {
    m.iter()
        .find(|(r, _)| r == name)
        .map_or(&[][..], |(_, v)| v.as_slice())
}

/// The regular contacts of an ABFindAll / ABFindContactsPaged answer: (handle, contactId, group ids).
fn contacts(answer: &Element, result: &str, tag: &str) -> Vec<(String, String, Vec<String>)> {
    answer
        .path(&[result, tag])
        .map(|list| {
            list.children_named("Contact")
                .filter(|c| c.path_text(&["contactInfo", "contactType"]) == Some("Regular"))
                .map(|c| {
                    (
                        c.path_text(&["contactInfo", "passportName"])
                            .unwrap()
                            .to_string(),
                        c.path_text(&["contactId"]).unwrap().to_string(),
                        c.path(&["contactInfo", "groupIds"])
                            .map(|g| {
                                g.children_named("guid")
                                    .map(|x| x.text().to_string())
                                    .collect()
                            })
                            .unwrap_or_default(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The groups of an ABFindAll answer: (guid, name).
fn groups(answer: &Element) -> Vec<(String, String)> {
    answer
        .path(&["ABFindAllResult", "groups"])
        .map(|list| {
            list.children_named("Group")
                .map(|g| {
                    (
                        g.path_text(&["groupId"]).unwrap().to_string(),
                        g.path_text(&["groupInfo", "name"]).unwrap().to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// MSNP7 login and `SYN 0`: the `LST`/`LSG` lines.
fn syn7(s: &TestServer, handle: &str) -> Vec<String> {
    let (mut c, _) = login_md5(s, 7, handle, "pw");
    let t = c.t();
    c.send(&format!("SYN {t} 0"));
    let lines = c.drain();
    c.send("OUT");
    lines
}

fn has_line(lines: &[String], needle: &str) -> bool {
    lines.iter().any(|l| l.contains(needle))
}

/// The `LST` line (MSNP7: `LST trid LIST serial index count handle name [groups]`) of `handle`
/// on `list`, split into words.
fn lst<'a>(lines: &'a [String], list: &str, handle: &str) -> Option<Vec<&'a str>> {
    lines
        .iter()
        .map(|l| l.split(' ').collect::<Vec<_>>())
        .find(|w| w[0] == "LST" && w[2] == list && w.get(6) == Some(&handle))
}

/// papyon `initial_sync.py` (FindMembership, then ABFindAll) and libpurple's sign-in
/// (FindMembership, then ABFindContactsPaged), on lists an MSNP7 client built with `ADD`; then
/// `deltasOnly` with the `lastChange` given is empty until something changes.
#[test]
fn initial_sync_shows_what_msnp7_added() {
    let s = server();
    let mut alice = online(&s, 7, A, "pw");
    alice.ok("ADD", &format!("FL {B} {B}"), &format!("FL 1 {B} {B} 0"));
    alice.ok("ADD", &format!("AL {B} {B}"), &format!("AL 2 {B} {B}"));
    alice.ok("ADD", &format!("BL {C} {C}"), &format!("BL 3 {C} {C}"));
    let t = contacts_token(&s, A, "pw");

    let m = ok(&s, SHARING, &t, "Initial", &find_membership(None));
    let roles = memberships(&m);
    assert_eq!(role(&roles, "Allow"), [B.to_string()]);
    assert_eq!(role(&roles, "Block"), [C.to_string()]);
    assert!(role(&roles, "Reverse").is_empty());
    let last = m
        .path_text(&["FindMembershipResult", "Services", "Service", "LastChange"])
        .unwrap()
        .to_string();

    let all = ok(&s, AB, &t, "Initial", &find_all());
    let fl = contacts(&all, "ABFindAllResult", "contacts");
    assert_eq!(fl.len(), 1, "only the FL: {fl:?}");
    assert_eq!(fl[0].0, B);
    let paged = ok(&s, AB, &t, "Initial", &find_paged());
    let fl2 = contacts(&paged, "ABFindContactsPagedResult", "Contacts");
    assert_eq!(fl2, fl, "both shapes show the same contacts");

    // Bob sees alice on his reverse list.
    let tb = contacts_token(&s, B, "pw");
    let mb = ok(&s, SHARING, &tb, "Initial", &find_membership(None));
    assert_eq!(role(&memberships(&mb), "Reverse"), [A.to_string()]);

    // Deltas: nothing changed since `last`, then an MSNP7 REM makes the next answer full.
    let d = ok(&s, SHARING, &t, "Timer", &find_membership(Some(&last)));
    assert!(
        d.path(&["FindMembershipResult", "Services", "Service", "Memberships"])
            .is_none(),
        "no change, no memberships"
    );
    alice.ok("REM", &format!("BL {C}"), &format!("BL 4 {C}"));
    let d = ok(&s, SHARING, &t, "Timer", &find_membership(Some(&last)));
    let roles = memberships(&d);
    assert!(role(&roles, "Block").is_empty(), "{roles:?}");
    assert_eq!(role(&roles, "Allow"), [B.to_string()]);
}

/// papyon `messenger_contact_add.py`: ABContactAdd, then AddMember Allow (the client's ADL
/// follows). The contact is on the FL an MSNP7 client of the same account gets in `SYN`, and the
/// contact, online with MSNP7, is told `ADD 0 RL` at once.
#[test]
fn contact_add_reaches_msnp7_syn_and_the_online_target() {
    let s = server();
    let mut carol = online(&s, 7, C, "pw");
    let t = contacts_token(&s, A, "pw");
    ok(
        &s,
        AB,
        &t,
        "Initial",
        &format!(
            r#"<ABAdd {NS}><abInfo><name/><ownerPuid>0</ownerPuid><ownerEmail>{A}</ownerEmail><fDefault>true</fDefault></abInfo></ABAdd>"#
        ),
    );
    let added = ok(&s, AB, &t, "ContactSave", &contact_add(C));
    let guid = added
        .path_text(&["ABContactAddResult", "guid"])
        .unwrap()
        .to_string();
    assert_eq!(guid.len(), 36, "a contact GUID: {guid}");
    ok(
        &s,
        SHARING,
        &t,
        "ContactMsgrAPI",
        &member("AddMember", "Allow", C),
    );

    let notice = carol.expect("ADD 0 RL ");
    assert!(notice.contains(A), "{notice}");

    let lines = syn7(&s, A);
    assert!(lst(&lines, "FL", C).is_some(), "{lines:?}");
    assert!(lst(&lines, "AL", C).is_some(), "{lines:?}");
    // The GUID is the one the address book goes on giving.
    let all = ok(&s, AB, &t, "Initial", &find_all());
    assert_eq!(contacts(&all, "ABFindAllResult", "contacts")[0].1, guid);
    // A second add is the fault papyon knows.
    fault(&s, AB, &t, &contact_add(C), "ContactAlreadyExists");
    // ABContactDelete by id: off the FL, and the MSNP7 contact hears REM 0 RL.
    ok(
        &s,
        AB,
        &t,
        "Timer",
        &format!(
            r#"<ABContactDelete {NS}><abId>00000000-0000-0000-0000-000000000000</abId><contacts><Contact><contactId>{guid}</contactId></Contact></contacts></ABContactDelete>"#
        ),
    );
    let notice = carol.expect("REM 0 RL ");
    assert!(notice.contains(A), "{notice}");
    let lines = syn7(&s, A);
    assert!(lst(&lines, "FL", C).is_none(), "{lines:?}");
    assert!(
        lst(&lines, "AL", C).is_some(),
        "the allow list is the sharing service's"
    );
}

/// papyon `block_contact.py`: DeleteMember Allow, then AddMember Block; unblock is the reverse.
/// The MSNP7 client of the same account sees BL instead of AL.
#[test]
fn block_and_unblock() {
    let s = server();
    let t = contacts_token(&s, A, "pw");
    ok(&s, AB, &t, "ContactSave", &contact_add(B));
    ok(
        &s,
        SHARING,
        &t,
        "ContactSave",
        &member("AddMember", "Allow", B),
    );
    ok(
        &s,
        SHARING,
        &t,
        "BlockUnblock",
        &member("DeleteMember", "Allow", B),
    );
    ok(
        &s,
        SHARING,
        &t,
        "BlockUnblock",
        &member("AddMember", "Block", B),
    );
    let roles = memberships(&ok(&s, SHARING, &t, "Initial", &find_membership(None)));
    assert_eq!(role(&roles, "Block"), [B.to_string()]);
    assert!(role(&roles, "Allow").is_empty());
    let lines = syn7(&s, A);
    assert!(lst(&lines, "BL", B).is_some(), "{lines:?}");
    assert!(lst(&lines, "AL", B).is_none(), "{lines:?}");

    // Unblock, as libpurple does it without the DeleteMember first: still never on both.
    ok(
        &s,
        SHARING,
        &t,
        "BlockUnblock",
        &member("AddMember", "Allow", B),
    );
    let roles = memberships(&ok(&s, SHARING, &t, "Initial", &find_membership(None)));
    assert_eq!(role(&roles, "Allow"), [B.to_string()]);
    assert!(role(&roles, "Block").is_empty(), "{roles:?}");
    // Deleting a member that is not there is the fault.
    fault(
        &s,
        SHARING,
        &t,
        &member("DeleteMember", "Block", B),
        "MemberDoesNotExist",
    );
}

/// papyon `group_add.py` / libpurple's "add to group": ABGroupAdd, ABGroupContactAdd (a new
/// contact straight into the group), rename, take out, delete; MSNP7 sees the group and the
/// membership in its `LSG`/`LST` lines.
#[test]
fn groups_round_trip() {
    let s = server();
    let t = contacts_token(&s, A, "pw");
    let g = ok(
        &s,
        AB,
        &t,
        "GroupSave",
        &format!(
            r#"<ABGroupAdd {NS}><abId>00000000-0000-0000-0000-000000000000</abId><groupAddOptions><fRenameOnMsgrConflict>false</fRenameOnMsgrConflict></groupAddOptions><groupInfo><GroupInfo><name>Mates</name><groupType>C8529CE2-6EAD-434d-881F-341E17DB3FF8</groupType><fMessenger>false</fMessenger><annotations><Annotation><Name>MSN.IM.Display</Name><Value>1</Value></Annotation></annotations></GroupInfo></groupInfo></ABGroupAdd>"#
        ),
    );
    let gid = g
        .path_text(&["ABGroupAddResult", "guid"])
        .unwrap()
        .to_string();
    fault(
        &s,
        AB,
        &t,
        &format!(
            r#"<ABGroupAdd {NS}><groupInfo><GroupInfo><name>Mates</name></GroupInfo></groupInfo></ABGroupAdd>"#
        ),
        "GroupAlreadyExists",
    );
    let gca = |who: &str| {
        format!(
            r#"<ABGroupContactAdd {NS}><abId>00000000-0000-0000-0000-000000000000</abId><groupFilter><groupIds><guid>{gid}</guid></groupIds></groupFilter><contacts><Contact {NS}><contactInfo><passportName>{who}</passportName><isSmtp>false</isSmtp><isMessengerUser>true</isMessengerUser></contactInfo></Contact></contacts><groupContactAddOptions><fGenerateMissingQuickName>true</fGenerateMissingQuickName><EnableAllowListManagement>true</EnableAllowListManagement></groupContactAddOptions></ABGroupContactAdd>"#
        )
    };
    let added = ok(&s, AB, &t, "GroupSave", &gca(B));
    assert_eq!(
        added
            .path_text(&["ABGroupContactAddResult", "guid"])
            .unwrap()
            .len(),
        36
    );
    fault(&s, AB, &t, &gca(B), "ContactAlreadyInGroup");

    let all = ok(&s, AB, &t, "Initial", &find_all());
    assert_eq!(groups(&all), [(gid.clone(), "Mates".to_string())]);
    let fl = contacts(&all, "ABFindAllResult", "contacts");
    assert_eq!((fl[0].0.as_str(), fl[0].2.clone()), (B, vec![gid.clone()]));
    let lines = syn7(&s, A);
    assert!(
        has_line(&lines, " Mates") && has_line(&lines, "LSG "),
        "{lines:?}"
    );
    assert_eq!(
        lst(&lines, "FL", B).unwrap().last(),
        Some(&"1"),
        "{lines:?}"
    );

    ok(
        &s,
        AB,
        &t,
        "GroupSave",
        &format!(
            r#"<ABGroupUpdate {NS}><abId>00000000-0000-0000-0000-000000000000</abId><groups><Group><groupId>{gid}</groupId><groupInfo><name>Old mates</name></groupInfo><propertiesChanged>GroupName </propertiesChanged></Group></groups></ABGroupUpdate>"#
        ),
    );
    assert!(has_line(&syn7(&s, A), " Old%20mates"));
    let contact = &fl[0].1;
    ok(
        &s,
        AB,
        &t,
        "GroupSave",
        &format!(
            r#"<ABGroupContactDelete {NS}><abId>00000000-0000-0000-0000-000000000000</abId><contacts><Contact><contactId>{contact}</contactId></Contact></contacts><groupFilter><groupIds><guid>{gid}</guid></groupIds></groupFilter></ABGroupContactDelete>"#
        ),
    );
    let all = ok(&s, AB, &t, "Initial", &find_all());
    assert!(
        contacts(&all, "ABFindAllResult", "contacts")[0]
            .2
            .is_empty()
    );
    ok(
        &s,
        AB,
        &t,
        "GroupSave",
        &format!(
            r#"<ABGroupDelete {NS}><abId>00000000-0000-0000-0000-000000000000</abId><groupFilter><groupIds><guid>{gid}</guid></groupIds></groupFilter></ABGroupDelete>"#
        ),
    );
    let all = ok(&s, AB, &t, "Initial", &find_all());
    assert!(groups(&all).is_empty());
    assert_eq!(
        contacts(&all, "ABFindAllResult", "contacts").len(),
        1,
        "the contact stays"
    );
    fault(
        &s,
        AB,
        &t,
        &format!(
            r#"<ABGroupDelete {NS}><groupFilter><groupIds><guid>{gid}</guid></groupIds></groupFilter></ABGroupDelete>"#
        ),
        "GroupDoesNotExist",
    );
}

/// ABContactUpdate of `Me` renames the account: an MSNP7 client signing in gets the new name.
#[test]
fn own_name_from_contact_update() {
    let s = server();
    let t = contacts_token(&s, A, "pw");
    ok(
        &s,
        AB,
        &t,
        "Timer",
        &format!(
            r#"<ABContactUpdate {NS}><abId>00000000-0000-0000-0000-000000000000</abId><contacts><Contact {NS}><contactInfo><contactType>Me</contactType><displayName>Alice &amp; co</displayName></contactInfo><propertiesChanged>DisplayName</propertiesChanged></Contact></contacts></ABContactUpdate>"#
        ),
    );
    let (_, ok_line) = login_md5(&s, 7, A, "pw");
    assert!(ok_line.contains(" Alice%20&%20co"), "{ok_line}");
}

/// The faults clients expect, and bad input: nothing of another account changes, nothing panics.
#[test]
fn faults_and_bad_input() {
    let s = server();
    let mut bob = online(&s, 7, B, "pw");
    bob.ok("ADD", &format!("FL {C} {C}"), &format!("FL 1 {C} {C} 0"));
    let tb = contacts_token(&s, B, "pw");
    let before = ok(&s, AB, &tb, "Initial", &find_all());
    let t = contacts_token(&s, A, "pw");

    fault(
        &s,
        AB,
        &t,
        &contact_add("nobody@example.com"),
        "InvalidPassportUser",
    );
    fault(
        &s,
        AB,
        &t,
        &contact_add("not an address"),
        "BadEmailArgument",
    );
    fault(&s, AB, "t=forged&p=x", &find_all(), "BadContextToken");
    let (_, doc) = call(&s, AB, "t=forged&p=x", "Initial", &find_all());
    assert_eq!(
        doc.path_text(&["Body", "Fault", "faultcode"]),
        Some("q0:BadContextToken"),
        "libpurple renews its token on exactly this"
    );
    // A sharing method on the address-book path, an unknown method, a circle.
    fault(&s, AB, &t, &find_membership(None), "BadArgument");
    fault(&s, AB, &t, &format!("<CreateCircle {NS}/>"), "BadArgument");
    // Another account's contact id or group id is not ours.
    let bobs_contact = &contacts(&before, "ABFindAllResult", "contacts")[0].1;
    fault(
        &s,
        AB,
        &t,
        &format!(
            r#"<ABContactDelete {NS}><contacts><Contact><contactId>{bobs_contact}</contactId></Contact></contacts></ABContactDelete>"#
        ),
        "ContactDoesNotExist",
    );

    // Not XML, an entity bomb, a truncated envelope: a fault, never a panic.
    for raw in [
        &b"garbage"[..],
        b"<?xml version=\"1.0\"?><!DOCTYPE x [<!ENTITY a \"aaaa\"><!ENTITY b \"&a;&a;&a;&a;\">]><x>&b;</x>",
        b"<soap:Envelope xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\"><soap:Body><ABFindAll>",
    ] {
        let (status, _, body) = http(s.http, "POST", AB, &[], raw);
        assert_eq!(status, 500);
        assert!(String::from_utf8_lossy(&body).contains("BadArgument"));
    }
    // Over the body cap: 400 before anything is parsed.
    let big = vec![b'<'; msnpd::limits::HTTP_MAX_BODY + 1];
    let (status, _, _) = http(s.http, "POST", AB, &[], &big);
    assert_eq!(status, 400);
    // GET is not a SOAP call.
    let (status, _, _) = http(s.http, "GET", AB, &[], b"");
    assert_eq!(status, 405);

    // Bob's address book is as it was, and the server still serves.
    let after = ok(&s, AB, &tb, "Initial", &find_all());
    assert_eq!(
        contacts(&before, "ABFindAllResult", "contacts"),
        contacts(&after, "ABFindAllResult", "contacts")
    );
    bob.ok("REM", &format!("FL {C}"), &format!("FL 2 {C}"));
}

/// Over msnpd's own HTTPS, by the host names WLM and libpurple use (the kit's certificate must
/// name them), with libpurple's double slash.
#[test]
fn over_https_by_every_contacts_host_name() {
    let s = TestServer::start_with(
        &[(A, "pw")],
        &["--chl-interval", "0", "--https-listen", "127.0.0.1:0"],
    );
    let https = s.https_addr();
    let ca = std::fs::read(s.dir.path().join("ca.pem")).unwrap();
    let t = contacts_token(&s, A, "pw");
    for host in [
        "contacts.msn.com",
        "omega.contacts.msn.com",
        "byrdr.omega.contacts.msn.com",
        "local-bay.contacts.msn.com",
    ] {
        for (path, body) in [
            ("//abservice/SharingService.asmx", find_membership(None)),
            ("//abservice/abservice.asmx", find_paged()),
        ] {
            let r = https_request(
                https,
                host,
                &ca,
                &format!("POST {path} HTTP/1.1\r\nSOAPAction: x\r\nContent-Type: text/xml\r\n"),
                envelope(&t, "Initial", &body).as_bytes(),
                |_| {},
            )
            .unwrap();
            assert_eq!(r.status, 200, "{host}{path}");
            let doc = read(&r.body);
            assert_eq!(
                doc.path_text(&["Header", "ServiceHeader", "PreferredHostName"]),
                Some(host),
                "later calls come back to the name used"
            );
        }
    }
}

// ---- ADL / RML / FQY (MSNP13+) ----

const GUID: &str = "{F26D1F07-95E2-403C-BC18-D4BFED493428}";

/// `VRB trid len` + `<ml>` as a client sends it.
fn ml_cmd(c: &mut Client, verb: &str, ml: &str) -> u32 {
    let t = c.t();
    c.send_payload(&format!("{verb} {t} {}", ml.len()), ml.as_bytes());
    t
}

/// Reads lines (with their payloads for the verbs that carry one) until one starts with
/// `prefix`; returns it, its payload if any, and what came before.
fn read_until(c: &mut Client, prefix: &str) -> (String, String, Vec<String>) {
    let mut before = Vec::new();
    loop {
        let l = c.line();
        let verb = l.split(' ').next().unwrap_or("").to_string();
        let carries = matches!(
            verb.as_str(),
            "MSG" | "GCF" | "UBX" | "NOT" | "ADL" | "RML" | "FQY"
        ) && l.split(' ').nth(2) != Some("OK");
        let payload = match l.rsplit(' ').next().and_then(|n| n.parse::<usize>().ok()) {
            Some(n) if carries => String::from_utf8(c.payload(n)).unwrap(),
            _ => String::new(),
        };
        if l.starts_with(prefix) {
            return (l, payload, before);
        }
        before.push(format!("{l} {payload}"));
    }
}

/// libpurple's sequence: sign in (MSNP18, SSO), FindMembership + ABFindContactsPaged, BLP, the
/// empty initial `ADL`, CHG; then the contact add (ABContactAdd, `ADL l=2`, `ADL l=1`, FQY). The
/// MSNP7 contact hears `ADD 0 RL` from the SOAP add, the WLM user gets the contact's `ILN` after
/// `ADL l=1`, and an MSNP7 login of the WLM user's account shows the lists.
#[test]
fn msnp18_adl_after_soap_add_subscribes_and_changes_only_what_differs() {
    let s = server();
    let mut bob = online(&s, 7, B, "pw");
    let mut alice = wlm_common::sign_in(&s, 18, A, "pw", Some(GUID)).ns;
    let t = contacts_token(&s, A, "pw");
    ok(&s, SHARING, &t, "Initial", &find_membership(None));
    ok(&s, AB, &t, "Initial", &find_paged());
    let blp = alice.t();
    alice.send(&format!("BLP {blp} AL"));
    read_until(&mut alice, &format!("BLP {blp} "));
    let n = ml_cmd(&mut alice, "ADL", "<ml l='1'/>");
    read_until(&mut alice, &format!("ADL {n} OK"));
    let chg = alice.t();
    alice.send(&format!("CHG {chg} NLN 0"));
    read_until(&mut alice, &format!("CHG {chg} NLN"));

    ok(&s, AB, &t, "ContactSave", &contact_add(B));
    assert!(bob.expect("ADD 0 RL ").contains(A));
    let n = ml_cmd(
        &mut alice,
        "ADL",
        r#"<ml><d n="example.com"><c n="bob" l="2" t="1"/></d></ml>"#,
    );
    read_until(&mut alice, &format!("ADL {n} OK"));
    let n = ml_cmd(
        &mut alice,
        "ADL",
        r#"<ml><d n="example.com"><c n="bob" l="1" t="1"/></d></ml>"#,
    );
    read_until(&mut alice, &format!("ADL {n} OK"));
    let (iln, _, _) = read_until(&mut alice, "ILN ");
    assert!(iln.contains(B) && iln.contains(" NLN "), "{iln}");
    let n = ml_cmd(
        &mut alice,
        "FQY",
        r#"<ml><d n="example.com"><c n="bob"/></d></ml>"#,
    );
    let (_, answer, _) = read_until(&mut alice, &format!("FQY {n} "));
    assert_eq!(
        answer,
        r#"<ml><d n="example.com"><c n="bob" t="1"/></d></ml>"#
    );

    let roles = memberships(&ok(&s, SHARING, &t, "Initial", &find_membership(None)));
    assert_eq!(
        role(&roles, "Allow"),
        [B.to_string()],
        "ADL l=2 is the allow list"
    );
    // The FL add came from SOAP: the ADL l=1 changed nothing, so bob heard of it once.
    bob.expect_silence(std::time::Duration::from_millis(200));

    // RML: off the allow list; the forward list stays.
    let n = ml_cmd(
        &mut alice,
        "RML",
        r#"<ml><d n="example.com"><c n="bob" l="2" t="1"/></d></ml>"#,
    );
    read_until(&mut alice, &format!("RML {n} OK"));
    // An MSNP7 login of the same account (which signs the WLM one out) sees the result.
    let lines = syn7(&s, A);
    assert!(lst(&lines, "AL", B).is_none(), "{lines:?}");
    assert!(lst(&lines, "FL", B).is_some(), "{lines:?}");
}

/// An online target is told in its own dialect: MSNP13+ `ADL 0` / `RML 0` with `l="8"`, MSNP10-12
/// `ADC 0 RL`, MSNP2-9 `ADD 0 RL` (the last two are the existing notices).
#[test]
fn targets_are_told_in_their_own_dialect() {
    let s = server();
    let mut alice = wlm_common::sign_in(&s, 15, A, "pw", None).ns;
    let mut carol = online_any(&s, 11, C, "pw");
    let mut bob = online(&s, 7, B, "pw");
    bob.ok("ADD", &format!("FL {A} {A}"), &format!("FL 1 {A} {A} 0"));
    let (line, payload, _) = read_until(&mut alice, "ADL 0 ");
    assert_eq!(
        line,
        format!("ADL 0 {}", payload.len()),
        "a payload line without trid"
    );
    assert_eq!(
        payload,
        r#"<ml><d n="example.com"><c n="bob" l="8" t="1" f="bob@example.com"/></d></ml>"#
    );
    bob.ok("REM", &format!("FL {A}"), &format!("FL 2 {A}"));
    let (_, payload, _) = read_until(&mut alice, "RML 0 ");
    assert_eq!(
        payload,
        r#"<ml><d n="example.com"><c n="bob" l="8" t="1"/></d></ml>"#
    );
    // WLM's initial list first, as it sends it after the address book.
    let n = ml_cmd(&mut alice, "ADL", "<ml l='1'/>");
    read_until(&mut alice, &format!("ADL {n} OK"));
    // A WLM add reaches MSNP11 as ADC 0 RL.
    let n = ml_cmd(
        &mut alice,
        "ADL",
        r#"<ml><d n="example.com"><c n="carol" l="1" t="1"/></d></ml>"#,
    );
    read_until(&mut alice, &format!("ADL {n} OK"));
    let notice = carol.expect("ADC 0 RL ");
    assert!(notice.contains(&format!("N={A}")), "{notice}");
}

/// Bad payloads get the codes the official server gave, change nothing, and an oversized one
/// ends the connection; the server goes on serving everyone else.
#[test]
fn bad_adl_payloads_are_refused() {
    let s = server();
    let mut bob = online(&s, 7, B, "pw");
    bob.ok("ADD", &format!("AL {C} {C}"), &format!("AL 1 {C} {C}"));
    let mut alice = wlm_common::sign_in(&s, 18, A, "pw", Some(GUID)).ns;
    let many: String = (0..151)
        .map(|i| format!(r#"<c n="u{i}" l="1" t="1"/>"#))
        .collect();
    let cases: Vec<(String, u16)> = vec![
        (r#"<ml><d n="example.com"><c n="bob" l="1" t="5"/></d></ml>"#.into(), 204),
        (r#"<ml><d n="example.com"><c n="bob" l="1" t="32"/></d></ml>"#.into(), 204),
        (
            r#"<ml><d n="live.com"><c n="00000000-0000-0000-0009-000000000001" l="1" t="9"/></d></ml>"#.into(),
            933,
        ),
        (r#"<ml><d n="example.com"></d></ml>"#.into(), 240),
        (r#"<ml><d n="example.com"><c n="bob" l="1" t="1"></d></ml>"#.into(), 241),
        (r#"<!DOCTYPE ml [<!ENTITY x "y">]><ml/>"#.into(), 241),
        (format!(r#"<ml><d n="example.com">{many}</d></ml>"#), 241),
        (r#"<ml><d n="example.com"><c n="nobody" l="1" t="1"/></d></ml>"#.into(), 205),
    ];
    for (ml, code) in &cases {
        let n = ml_cmd(&mut alice, "ADL", ml);
        let (l, _, _) = read_until(&mut alice, &format!("{code} "));
        assert_eq!(l, format!("{code} {n}"), "{ml}");
    }
    let n = ml_cmd(
        &mut alice,
        "RML",
        r#"<ml><d n="example.com"><c n="bob" l="1" t="9"/></d></ml>"#,
    );
    read_until(&mut alice, &format!("933 {n}"));
    // Nothing was added for alice, nothing of bob's changed.
    let t = contacts_token(&s, A, "pw");
    let roles = memberships(&ok(&s, SHARING, &t, "Initial", &find_membership(None)));
    assert!(roles.is_empty(), "{roles:?}");
    let tb = contacts_token(&s, B, "pw");
    let roles = memberships(&ok(&s, SHARING, &tb, "Initial", &find_membership(None)));
    assert_eq!(role(&roles, "Allow"), [C.to_string()], "{roles:?}");
    assert!(role(&roles, "Reverse").is_empty(), "{roles:?}");
    // Over MAX_ML_PAYLOAD: the connection ends, the server stays.
    let big = format!("<ml>{}</ml>", " ".repeat(msnpd::limits::MAX_ML_PAYLOAD));
    ml_cmd(&mut alice, "ADL", &big);
    alice.expect_closed();
    bob.send("PNG");
    bob.expect("QNG");
}

/// The storage service (roaming profile), OIM and RSI keep nothing here: each answers a SOAP
/// fault at once, so clients do not wait on them.
#[test]
fn storage_oim_and_rsi_answer_a_fault_at_once() {
    let s = server();
    for path in [
        "/storageservice/SchematizedStore.asmx",
        "//storageservice/SchematizedStore.asmx",
        "/OimWS/oim.asmx",
        "/rsi/rsi.asmx",
    ] {
        let (status, hs, body) = http(
            s.http,
            "POST",
            path,
            &[(
                "SOAPAction",
                "http://www.msn.com/webservices/storage/2008/GetProfile",
            )],
            envelope("t=x", "Initial", "<GetProfile/>").as_bytes(),
        );
        assert_eq!(status, 500, "{path}");
        assert!(header(&hs, "Content-Type").unwrap().starts_with("text/xml"));
        let doc = read(&body);
        assert_eq!(
            doc.path_text(&["Body", "Fault", "faultcode"]),
            Some("soap:Server"),
            "{path}"
        );
    }
}

/// libpurple answers "bob added you" with `ADL l=2` and a DeleteMember Pending by MembershipId,
/// in either order: the second to arrive finds the prompt answered and succeeds; an id we never
/// gave out (libpurple's `0`) is still the fault it ignores.
#[test]
fn pending_prompt_answered_twice_is_not_a_fault() {
    let s = server();
    let mut bob = online(&s, 7, B, "pw");
    bob.ok("ADD", &format!("FL {A} {A}"), &format!("FL 1 {A} {A} 0"));
    let t = contacts_token(&s, A, "pw");
    let m = ok(&s, SHARING, &t, "Initial", &find_membership(None));
    assert_eq!(role(&memberships(&m), "Pending"), [B.to_string()]);
    let id = m
        .path(&["FindMembershipResult", "Services", "Service", "Memberships"])
        .unwrap()
        .children_named("Membership")
        .find(|x| x.path_text(&["MemberRole"]) == Some("Pending"))
        .and_then(|x| x.path_text(&["Members", "Member", "MembershipId"]))
        .unwrap()
        .to_string();
    let by_id = |n: &str| {
        format!(
            r#"<DeleteMember {NS}><serviceHandle><Id>0</Id><Type>Messenger</Type><ForeignId></ForeignId></serviceHandle><memberships><Membership><MemberRole>Pending</MemberRole><Members><Member xsi:type="PassportMember" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><Type>Passport</Type><MembershipId>{n}</MembershipId><State>Accepted</State></Member></Members></Membership></memberships></DeleteMember>"#
        )
    };
    ok(
        &s,
        SHARING,
        &t,
        "ContactMsgrAPI",
        &member("AddMember", "Allow", B),
    );
    ok(&s, SHARING, &t, "ContactMsgrAPI", &by_id(&id));
    ok(&s, SHARING, &t, "ContactMsgrAPI", &by_id(&id));
    fault(&s, SHARING, &t, &by_id("0"), "MemberDoesNotExist");
    let roles = memberships(&ok(&s, SHARING, &t, "Initial", &find_membership(None)));
    assert!(role(&roles, "Pending").is_empty(), "{roles:?}");
    assert_eq!(role(&roles, "Reverse"), [B.to_string()]);
}

/// A password change voids the address-book token issued before it, like login tickets
/// (issue 21 item 4, extended to the web-service tokens of RST.srf): the old token gets the
/// fault libpurple renews its token on, and a token fetched with the new password works.
#[test]
fn a_service_token_from_before_a_password_change_is_refused() {
    let s = server();
    let old = contacts_token(&s, A, "pw");
    ok(&s, AB, &old, "Initial", &find_all());
    let db = s.db.to_str().unwrap();
    let (code, _, err) = msnpd(
        &["user", "passwd", A, "--password", "new-pw", "--db", db],
        None,
    );
    assert_eq!(code, 0, "{err}");
    fault(&s, AB, &old, &find_all(), "BadContextToken");
    let new = contacts_token(&s, A, "new-pw");
    ok(&s, AB, &new, "Initial", &find_all());
}

/// FQY (MSNP14+): `t="1"` for the addresses with an account here, in the payload's form; an
/// address without one is left out, `208` when none has one; other networks `204`. The session
/// goes on after each.
#[test]
fn fqy_names_the_network_of_each_address() {
    let s = server();
    let mut alice = wlm_common::sign_in(&s, 18, A, "pw", Some(GUID)).ns;
    let n = ml_cmd(
        &mut alice,
        "FQY",
        r#"<ml><d n="example.com"><c n="bob"/><c n="nobody"/><c n="carol"/></d><d n="elsewhere.net"><c n="ghost"/></d></ml>"#,
    );
    let (line, answer, _) = read_until(&mut alice, &format!("FQY {n} "));
    assert_eq!(line, format!("FQY {n} {}", answer.len()));
    assert_eq!(
        answer,
        r#"<ml><d n="example.com"><c n="bob" t="1"/><c n="carol" t="1"/></d></ml>"#
    );
    let n = ml_cmd(
        &mut alice,
        "FQY",
        r#"<ml><d n="example.com"><c n="nobody"/></d></ml>"#,
    );
    assert_eq!(read_until(&mut alice, "208 ").0, format!("208 {n}"));
    let n = ml_cmd(
        &mut alice,
        "FQY",
        r#"<ml><d n="yahoo.com"><c n="someone" t="32"/></d></ml>"#,
    );
    assert_eq!(read_until(&mut alice, "204 ").0, format!("204 {n}"));
    let n = ml_cmd(&mut alice, "FQY", r#"<ml><d n="example.com"></d></ml>"#);
    assert_eq!(read_until(&mut alice, "240 ").0, format!("240 {n}"));
    alice.send("PNG");
    read_until(&mut alice, "QNG");
}

/// libpurple's sign-in when it authorises an "added you" prompt at once: an `ADL l="2"` before
/// its initial `ADL`. The change is made at once; its `OK` comes right after the initial `ADL`'s,
/// so the plug-in's count of awaited answers reaches 0 and it signs on without its 30 s timer.
/// Without an initial `ADL`, the first `CHG` releases the held answer.
#[test]
fn an_adl_before_the_initial_one_is_answered_after_it() {
    let s = server();
    let mut bob = online(&s, 7, B, "pw");
    bob.ok("ADD", &format!("FL {A} {A}"), &format!("FL 1 {A} {A} 0"));
    let mut alice = wlm_common::sign_in(&s, 18, A, "pw", Some(GUID)).ns;
    let t = contacts_token(&s, A, "pw");
    let roles = memberships(&ok(&s, SHARING, &t, "Initial", &find_membership(None)));
    assert_eq!(role(&roles, "Pending"), [B.to_string()], "{roles:?}");
    let early = ml_cmd(
        &mut alice,
        "ADL",
        r#"<ml><d n="example.com"><c n="bob" l="2" t="1"/></d></ml>"#,
    );
    let blp = alice.t();
    alice.send(&format!("BLP {blp} AL"));
    let (_, _, before) = read_until(&mut alice, &format!("BLP {blp} "));
    assert!(
        !before.iter().any(|l| l.starts_with("ADL ")),
        "held until the initial ADL: {before:?}"
    );
    // Already made and committed.
    let roles = memberships(&ok(&s, SHARING, &t, "Initial", &find_membership(None)));
    assert_eq!(role(&roles, "Allow"), [B.to_string()], "{roles:?}");
    let initial = ml_cmd(
        &mut alice,
        "ADL",
        r#"<ml l="1"><d n="example.com"><c n="bob" l="2" t="1"/></d></ml>"#,
    );
    assert_eq!(alice.line(), format!("ADL {initial} OK"));
    assert_eq!(alice.line(), format!("ADL {early} OK"));
    // Later ADLs are answered at once.
    let later = ml_cmd(
        &mut alice,
        "ADL",
        r#"<ml><d n="example.com"><c n="bob" l="1" t="1"/></d></ml>"#,
    );
    read_until(&mut alice, &format!("ADL {later} OK"));

    // A client that goes online without an initial ADL: its CHG releases the held answer.
    let mut carol = wlm_common::sign_in(&s, 15, C, "pw", None).ns;
    let early = ml_cmd(
        &mut carol,
        "ADL",
        r#"<ml><d n="example.com"><c n="bob" l="3" t="1"/></d></ml>"#,
    );
    let chg = carol.t();
    carol.send(&format!("CHG {chg} NLN 0"));
    let (_, _, before) = read_until(&mut carol, &format!("CHG {chg} NLN"));
    assert!(!before.iter().any(|l| l.starts_with("ADL ")), "{before:?}");
    read_until(&mut carol, &format!("ADL {early} OK"));
}
