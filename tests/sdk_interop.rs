//! Interop with a client nobody here wrote: the crates.io `msnp11-sdk` (MSNP11) library, driven
//! through the nexus URL against the real server. Every step has a timeout.
mod common;
use common::*;
use msnp11_sdk::{Client, Event, MsnpList, MsnpStatus, PersonalMessage, PlainText, Switchboard};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc::{UnboundedReceiver, unbounded_channel};
use tokio::time::timeout;

const T: Duration = Duration::from_secs(10);

fn tap_client(c: &Client) -> UnboundedReceiver<Event> {
    let (tx, rx) = unbounded_channel();
    c.add_event_handler_closure(move |e| {
        let tx = tx.clone();
        async move {
            let _ = tx.send(e);
        }
    });
    rx
}

fn tap_sb(sb: &Switchboard) -> UnboundedReceiver<Event> {
    let (tx, rx) = unbounded_channel();
    sb.add_event_handler_closure(move |e| {
        let tx = tx.clone();
        async move {
            let _ = tx.send(e);
        }
    });
    rx
}

async fn wait_for<F: Fn(&Event) -> bool>(
    rx: &mut UnboundedReceiver<Event>,
    what: &str,
    pred: F,
) -> Event {
    timeout(T, async {
        loop {
            match rx.recv().await {
                Some(e) if pred(&e) => return e,
                Some(_) => continue,
                None => panic!("event channel closed waiting for {what}"),
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("timed out waiting for {what}"))
}

/// Logs in through our dispatch redirect and nexus, as an app built on the SDK would.
async fn login(
    server: &TestServer,
    email: &str,
    password: &str,
) -> (Client, UnboundedReceiver<Event>) {
    let nexus = format!("http://{}/rdr/pprdr.asp", server.http);
    let ds = timeout(T, Client::new("127.0.0.1", server.ns.port()))
        .await
        .unwrap()
        .unwrap();
    let first = timeout(
        T,
        ds.login(email.to_string(), password, &nexus, "msnp11-sdk", "0.13.0"),
    )
    .await
    .expect("dispatch login timed out")
    .expect("dispatch login failed");
    let Event::RedirectedTo { server: host, port } = first else {
        panic!("expected a redirect, got {first:?}")
    };
    assert_eq!(port, server.ns.port());
    let client = timeout(T, Client::new(&host, port)).await.unwrap().unwrap();
    let rx = tap_client(&client);
    let ev = timeout(
        T,
        client.login(email.to_string(), password, &nexus, "msnp11-sdk", "0.13.0"),
    )
    .await
    .expect("login timed out")
    .expect("login failed");
    assert!(matches!(ev, Event::Authenticated), "{ev:?}");
    (client, rx)
}

fn text(t: &str) -> PlainText {
    PlainText {
        bold: false,
        italic: false,
        underline: false,
        strikethrough: false,
        color: "0".into(),
        text: t.into(),
    }
}

#[test]
fn sdk_clients_login_add_presence_psm_and_chat() {
    let server = TestServer::start(&[("alice@example.com", "pw123"), ("bob@example.com", "pw456")]);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let (alice, mut a_ev) = login(&server, "alice@example.com", "pw123").await;
        let (bob, mut b_ev) = login(&server, "bob@example.com", "pw456").await;
        timeout(T, alice.set_presence(MsnpStatus::Online)).await.unwrap().unwrap();
        timeout(T, bob.set_presence(MsnpStatus::Online)).await.unwrap().unwrap();

        // Contacts: each adds the other; the added side is told.
        let added = timeout(T, alice.add_contact("bob@example.com", "Bob", MsnpList::ForwardList)).await.unwrap().unwrap();
        assert!(matches!(added, Event::ContactInForwardList { ref email, .. } if email == "bob@example.com"), "{added:?}");
        timeout(T, alice.add_contact("bob@example.com", "Bob", MsnpList::AllowList)).await.unwrap().unwrap();
        wait_for(&mut b_ev, "AddedBy", |e| matches!(e, Event::AddedBy { email, .. } if email == "alice@example.com")).await;
        wait_for(&mut a_ev, "ILN bob", |e| matches!(e, Event::InitialPresenceUpdate { email, .. } if email == "bob@example.com")).await;
        timeout(T, bob.add_contact("alice@example.com", "Alice", MsnpList::ForwardList)).await.unwrap().unwrap();
        timeout(T, bob.add_contact("alice@example.com", "Alice", MsnpList::AllowList)).await.unwrap().unwrap();

        // Presence and display name.
        timeout(T, bob.set_presence(MsnpStatus::Busy)).await.unwrap().unwrap();
        wait_for(&mut a_ev, "NLN BSY", |e| {
            matches!(e, Event::PresenceUpdate { email, presence, .. } if email == "bob@example.com" && presence.status == MsnpStatus::Busy)
        })
        .await;
        timeout(T, bob.set_display_name("Bob the Builder")).await.unwrap().unwrap();
        wait_for(&mut a_ev, "new name", |e| {
            matches!(e, Event::PresenceUpdate { email, display_name, .. } if email == "bob@example.com" && display_name == "Bob the Builder")
        })
        .await;

        // Personal message.
        let pm = PersonalMessage { psm: "hello & <world>".into(), current_media: String::new() };
        timeout(T, bob.set_personal_message(&pm)).await.unwrap().unwrap();
        wait_for(&mut a_ev, "UBX", |e| {
            matches!(e, Event::PersonalMessageUpdate { email, personal_message } if email == "bob@example.com" && personal_message.psm == "hello & <world>")
        })
        .await;

        // Switchboard chat both ways.
        let a_sb = timeout(T, alice.create_session("bob@example.com")).await.unwrap().unwrap();
        let mut a_sb_ev = tap_sb(&a_sb);
        let b_sb: Arc<Switchboard> = match wait_for(&mut b_ev, "SessionAnswered", |e| matches!(e, Event::SessionAnswered(_))).await {
            Event::SessionAnswered(sb) => sb,
            _ => unreachable!(),
        };
        let mut b_sb_ev = tap_sb(&b_sb);
        wait_for(&mut a_sb_ev, "JOI", |e| matches!(e, Event::ParticipantInSwitchboard { email } if email == "bob@example.com")).await;
        wait_for(&mut b_sb_ev, "IRO", |e| matches!(e, Event::ParticipantInSwitchboard { email } if email == "alice@example.com")).await;
        timeout(T, a_sb.send_text_message(&text("hi bob"))).await.unwrap().unwrap();
        wait_for(&mut b_sb_ev, "text to bob", |e| {
            matches!(e, Event::TextMessage { email, message } if email == "alice@example.com" && message.text == "hi bob")
        })
        .await;
        timeout(T, b_sb.send_text_message(&text("hi alice\nline two"))).await.unwrap().unwrap();
        wait_for(&mut a_sb_ev, "text to alice", |e| {
            matches!(e, Event::TextMessage { email, message } if email == "bob@example.com" && message.text == "hi alice\nline two")
        })
        .await;
        timeout(T, a_sb.send_nudge()).await.unwrap().unwrap();
        wait_for(&mut b_sb_ev, "nudge", |e| matches!(e, Event::Nudge { email } if email == "alice@example.com")).await;
        timeout(T, b_sb.disconnect()).await.unwrap().unwrap();
        wait_for(&mut a_sb_ev, "BYE", |e| matches!(e, Event::ParticipantLeftSwitchboard { email } if email == "bob@example.com")).await;

        // Block: bob disappears for... alice blocks bob, so bob sees alice go offline.
        timeout(T, alice.block_contact("bob@example.com")).await.unwrap().unwrap();
        wait_for(&mut b_ev, "FLN alice", |e| matches!(e, Event::ContactOffline { email } if email == "alice@example.com")).await;
        timeout(T, alice.unblock_contact("bob@example.com")).await.unwrap().unwrap();
        wait_for(&mut b_ev, "NLN alice", |e| matches!(e, Event::PresenceUpdate { email, .. } if email == "alice@example.com")).await;

        // Logout: the watcher sees FLN.
        timeout(T, bob.disconnect()).await.unwrap().unwrap();
        wait_for(&mut a_ev, "FLN bob", |e| matches!(e, Event::ContactOffline { email } if email == "bob@example.com")).await;
        let _ = a_sb.disconnect().await;
        let _ = alice.disconnect().await;
    });
}

#[test]
fn sdk_groups_and_contact_removal() {
    let server = TestServer::start(&[("alice@example.com", "pw123"), ("bob@example.com", "pw456")]);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let (alice, _a_ev) = login(&server, "alice@example.com", "pw123").await;
        let added = timeout(
            T,
            alice.add_contact("bob@example.com", "Bob", MsnpList::ForwardList),
        )
        .await
        .unwrap()
        .unwrap();
        let Event::ContactInForwardList {
            guid: contact_guid, ..
        } = added
        else {
            panic!("{added:?}")
        };
        timeout(T, alice.create_group("Friends"))
            .await
            .unwrap()
            .unwrap();
        timeout(T, alice.disconnect()).await.unwrap().unwrap();

        // The group's GUID arrives in the next login's SYN.
        let (alice, mut a_ev) = login(&server, "alice@example.com", "pw123").await;
        let group = wait_for(
            &mut a_ev,
            "LSG",
            |e| matches!(e, Event::Group { name, .. } if name == "Friends"),
        )
        .await;
        let Event::Group {
            guid: group_guid, ..
        } = group
        else {
            unreachable!()
        };
        timeout(T, alice.add_contact_to_group(&contact_guid, &group_guid))
            .await
            .unwrap()
            .unwrap();
        timeout(T, alice.rename_group(&group_guid, "Best Friends"))
            .await
            .unwrap()
            .unwrap();
        timeout(
            T,
            alice.remove_contact_from_group(&contact_guid, &group_guid),
        )
        .await
        .unwrap()
        .unwrap();
        timeout(T, alice.delete_group(&group_guid))
            .await
            .unwrap()
            .unwrap();
        timeout(T, alice.remove_contact_from_forward_list(&contact_guid))
            .await
            .unwrap()
            .unwrap();
        timeout(T, alice.disconnect()).await.unwrap().unwrap();

        // Everything is gone on the next login; bob is not on alice's FL any more.
        let (alice, mut a_ev) = login(&server, "alice@example.com", "pw123").await;
        timeout(T, alice.set_presence(MsnpStatus::Online))
            .await
            .unwrap()
            .unwrap();
        let mut seen = Vec::new();
        while let Ok(Some(e)) = timeout(Duration::from_millis(300), a_ev.recv()).await {
            seen.push(e);
        }
        assert!(
            !seen.iter().any(|e| matches!(e, Event::Group { .. })),
            "{seen:?}"
        );
        assert!(
            !seen
                .iter()
                .any(|e| matches!(e, Event::ContactInForwardList { .. })),
            "{seen:?}"
        );
        let _ = alice.disconnect().await;
    });
}
