//! CHG, REA, PRP, SBP, UUX: what a user sets about themselves. Stored changes (names, phone
//! numbers) go through `account::apply`; the rest is presence only. The directory actor
//! (`directory/`) stores it and tells the watchers (NLN, FLN, UBX).

use super::account::{self, Change};
use super::{Apply, NsSession, directory};
use crate::limits::{MAX_FRIENDLY_ENCODED, MAX_PRP_VALUE};
use crate::model::{MachineGuid, UserId};
use crate::protocol::ArgError;
use crate::protocol::command::presence::{Chg, Prp, Rea, Sbp, Uun, Uux};
use crate::protocol::names::normalize_handle;
use crate::protocol::percent::{self, encoded_len};
use crate::protocol::reply::{self, Text};
use crate::protocol::uux;
use crate::server::session::{Disconnect, Handled};

/// `CHG trid status {caps} {msnobj}`. A status the client may not set (`FLN`), caps that are
/// not a number or an argument too many cost `201`.
impl<'a> Apply<'a> for Chg<'a> {
    async fn refused(s: &mut NsSession, trid: u32, _: ArgError) -> Handled {
        s.error(201, trid).await
    }

    async fn apply(self, s: &mut NsSession, trid: u32) -> Handled {
        let Some(user) = s.user().cloned() else {
            return Ok(());
        };
        let d = s.dialect();
        let caps = self.caps.unwrap_or(0);
        let caps_ex = self.caps_ex.unwrap_or(0);
        // libpurple's MSNP18 plug-in sends `0` for "no display picture": never an MSNObject.
        let msnobj = self.msnobj.filter(|o| *o != "0");
        s.ns.directory
            .set_status_ex(
                user.id,
                self.status,
                d.presence_caps.then_some((caps, caps_ex)),
                d.presence_msnobj.then(|| msnobj.map(Box::from)),
            )
            .await?;
        s.send(&reply::presence::Chg {
            trid,
            status: self.status.code(),
            caps,
            caps_ex,
            msnobj: self.msnobj,
        })
        .await?;
        // Online now: no `ADL` answer waits for the initial `ADL` any longer (`ns::contacts`).
        s.release_held_adl_acks().await?;
        if !s.announced {
            s.announced = true;
            let lines =
                s.ns.directory
                    .initial_presence(user.id, d, trid, None)
                    .await?;
            for l in lines {
                s.conn.send(&[&l]).await?;
            }
        }
        Ok(())
    }
}

/// Decodes a friendly name and applies the length rule (over the limit: the service disconnected).
fn friendly(raw: &str) -> Result<Option<String>, Disconnect> {
    if raw.len() > MAX_FRIENDLY_ENCODED
        || encoded_len(&percent::decode_name(raw).unwrap_or_default()) > MAX_FRIENDLY_ENCODED
    {
        return Err(Disconnect::new(
            "friendly name longer than 387 encoded bytes",
        ));
    }
    Ok(percent::decode_name(raw).ok().filter(|n| !n.is_empty()))
}

/// Stores a new own friendly name; the directory announces it, the switchboards learn it.
async fn set_own_name(s: &NsSession, user: &super::Me, name: String) -> Result<u32, Disconnect> {
    Ok(account::apply(&s.ns, user.id, Change::Rename(name))
        .await?
        .serial)
}

/// Renames my stored name for one contact.
async fn set_contact_name(
    s: &NsSession,
    user: &super::Me,
    target: UserId,
    name: String,
) -> Result<u32, Disconnect> {
    let change = Change::RenameContact { target, name };
    Ok(account::apply(&s.ns, user.id, change).await?.serial)
}

/// `REA trid handle name` (MSNP2-9): my own friendly name, or my name for a contact.
impl<'a> Apply<'a> for Rea<'a> {
    async fn apply(self, s: &mut NsSession, trid: u32) -> Handled {
        let Some(user) = s.user().cloned() else {
            return Ok(());
        };
        let raw = self.name;
        let Some(name) = friendly(raw)? else {
            return s.error(209, trid).await;
        };
        let handle = self.handle.to_ascii_lowercase();
        let serial = if *handle == *user.handle {
            set_own_name(s, &user, name).await?
        } else {
            let found = s
                .account(&user)
                .await?
                .find_by_handle(&handle)
                .map(|(id, _)| id);
            match found {
                Some(cid) => set_contact_name(s, &user, cid, name).await?,
                None => return s.error(216, trid).await,
            }
        };
        s.send(&reply::presence::Rea {
            trid,
            serial,
            handle: &handle,
            name: Text::Wire(raw),
        })
        .await
    }
}

/// `SBP trid contact-guid kind value` (MSNP10-12): my name (`MFN`) or a phone number for a
/// contact.
impl<'a> Apply<'a> for Sbp<'a> {
    async fn apply(self, s: &mut NsSession, trid: u32) -> Handled {
        let Some(user) = s.user().cloned() else {
            return Ok(());
        };
        let Sbp {
            contact: guid,
            kind,
            value: raw,
        } = self;
        let echo = reply::presence::Sbp {
            trid,
            guid,
            kind,
            value: Text::Wire(raw),
        };
        if kind != "MFN" {
            // Phone numbers of contacts are not stored server-side; acknowledge as the service did.
            return s.send(&echo).await;
        }
        let Some(name) = friendly(raw)? else {
            return s.error(209, trid).await;
        };
        let found = s.account(&user).await?.find_by_guid(guid).map(|(id, _)| id);
        match found {
            Some(cid) => {
                set_contact_name(s, &user, cid, name).await?;
                s.send(&echo).await
            }
            None => s.error(216, trid).await,
        }
    }
}

/// `PRP trid kind {value}`: my friendly name (`MFN`, MSNP10+) or one of my phone fields.
impl<'a> Apply<'a> for Prp<'a> {
    async fn apply(self, s: &mut NsSession, trid: u32) -> Handled {
        let Some(user) = s.user().cloned() else {
            return Ok(());
        };
        let kind = self.kind;
        let raw = self.value.unwrap_or("");
        if kind.len() > 3 {
            return Err(Disconnect::new("PRP with an overlong type"));
        }
        if raw.len() > MAX_PRP_VALUE && kind != "MFN" {
            return Err(Disconnect::new("PRP value longer than allowed"));
        }
        if kind == "MFN" {
            return own_name(s, &user, trid, raw).await;
        }
        set_phone(s, &user, trid, kind, raw).await
    }
}

/// `PRP trid MFN name`: the own friendly name (MSNP10+; `REA` before).
async fn own_name(s: &mut NsSession, user: &super::Me, trid: u32, raw: &str) -> Handled {
    if s.dialect().rea {
        return s.error(715, trid).await;
    }
    let Some(name) = friendly(raw)? else {
        return s.error(209, trid).await;
    };
    set_own_name(s, user, name).await?;
    // `friendly` refused an empty name above, so the value is never left out here.
    s.send(&reply::sync::Prp {
        trid: Some(trid),
        serial: None,
        kind: "MFN",
        value: Text::Wire(raw),
    })
    .await
}

/// `PRP trid PHH|PHW|PHM|MOB|MBE {value}`: one own phone field, announced to who may see it.
async fn set_phone(
    s: &mut NsSession,
    user: &super::Me,
    trid: u32,
    kind: &str,
    raw: &str,
) -> Handled {
    let d = s.dialect();
    let account = s.account(user).await?;
    let mut phones = account.phones().clone();
    let Ok(value) = percent::decode_name(raw) else {
        return s.error(201, trid).await;
    };
    match kind {
        "PHH" => phones.home = value,
        "PHW" => phones.work = value,
        "PHM" => phones.mobile = value,
        "MOB" | "MBE" => {
            let flag = match raw {
                "Y" => true,
                "N" | "" => false,
                _ => return s.error(201, trid).await,
            };
            if kind == "MOB" {
                phones.mob = flag
            } else {
                phones.mbe = flag
            }
        }
        _ => return s.error(715, trid).await,
    }
    if !phones.mbe {
        phones.mob = false;
    }
    drop(account);
    // Who has me on their FL and is not blocked hears of the fields that changed (BPR).
    let serial = account::apply(&s.ns, user.id, Change::Phones(phones))
        .await?
        .serial;
    // An emptied field is echoed without a value, as the SYN dump lists it.
    s.send(&reply::sync::Prp {
        trid: Some(trid),
        serial: d.list_serials.then_some(serial),
        kind,
        value: Text::Wire(raw),
    })
    .await
}

/// `UUX trid len` + payload (MSNP11+): the personal message, and from MSNP13 the machine GUID
/// and (MSNP16+) the endpoint's public and private data (`protocol::uux`).
///
/// The `<Data>` part is what watchers get in `UBX`. A `<Data>` with only the personal fields is
/// relayed as sent (what MSN 7.x clients send and read); one that carries endpoint data (WLM 2009
/// may put it inside `<Data>`) is rewritten with the personal fields only, so no watcher sees an
/// endpoint's private data. A payload that is only `EndpointData`/`PrivateEndpointData`
/// (libpurple sends them as separate `UUX`es) leaves the personal message as it was and goes to
/// the endpoint table (MPOP). Not a payload of those three roots, or not acceptable XML: the
/// service hung up.
impl<'a> Apply<'a> for Uux<'a> {
    async fn apply(self, s: &mut NsSession, trid: u32) -> Handled {
        let Some(user) = s.user().cloned() else {
            return Ok(());
        };
        let body = self.data;
        let parsed = uux::parse(body).map_err(|e| Disconnect::new(e.to_string()))?;
        let personal =
            parsed.psm.is_some() || parsed.current_media.is_some() || parsed.machine_guid.is_some();
        let data_root = body
            .iter()
            .position(|b| !b.is_ascii_whitespace())
            .is_some_and(|i| body[i..].starts_with(b"<Data"));
        if body.iter().all(u8::is_ascii_whitespace) {
            s.ns.directory.set_psm(user.id, None).await?;
        } else if data_root && parsed.endpoint.is_none() && parsed.private_endpoint.is_none() {
            s.ns.directory
                .set_psm(user.id, Some(Box::from(body)))
                .await?;
        } else if personal {
            let data = uux::PersonalData {
                psm: parsed.psm.clone().unwrap_or_default(),
                current_media: parsed.current_media.clone().unwrap_or_default(),
                machine_guid: parsed.machine_guid.clone().unwrap_or_default(),
            };
            let doc = uux::write_ubx(&data, &[]);
            s.ns.directory
                .set_psm(user.id, Some(doc.into_bytes().into_boxed_slice()))
                .await?;
        }
        if let Some(endpoint) = user.endpoint
            && (parsed.endpoint.is_some() || parsed.private_endpoint.is_some())
        {
            s.ns.directory
                .set_endpoint_data(user.id, endpoint, parsed.endpoint, parsed.private_endpoint)
                .await?;
        }
        s.send(&reply::presence::UuxOk { trid }).await
    }
}

/// `UUN trid target type len` (MSNP13+): handed to the target's sessions as `UBN` (to one
/// endpoint when the target names it, `email;{guid}`). To one of my own endpoints, type 4 or 8
/// with `goawyplzthxbye` (or `gtfo`) also signs that endpoint out (MPOP). A target on another
/// network, or not a handle: `204`/`201`; offline, or not accepting me: `217`.
impl<'a> Apply<'a> for Uun<'a> {
    async fn refused(s: &mut NsSession, trid: u32, _: ArgError) -> Handled {
        s.error(201, trid).await
    }

    async fn apply(self, s: &mut NsSession, trid: u32) -> Handled {
        let Some(user) = s.user().cloned() else {
            return Ok(());
        };
        let target = match self.target.split_once(':') {
            Some(("1", rest)) => rest,
            Some(_) => return s.error(204, trid).await,
            None => self.target,
        };
        let (handle, endpoint) = match target.split_once(';') {
            Some((h, g)) => match MachineGuid::parse(g) {
                Some(g) => (h, Some(g)),
                None => return s.error(201, trid).await,
            },
            None => (target, None),
        };
        let Some(handle) = normalize_handle(handle) else {
            return s.error(201, trid).await;
        };
        let message = directory::EndpointMessage {
            from: user.id,
            to: handle,
            endpoint,
            kind: self.kind,
            data: Box::from(self.data),
        };
        if s.ns.directory.endpoint_message(message).await? {
            s.send(&reply::presence::UunOk { trid }).await
        } else {
            s.error(217, trid).await
        }
    }
}
