//! `msnpd invite create|list|revoke`: invitation codes for `--registration invite`.

use super::{CliResult, config_for, database_path, in_db, open_existing, open_or_create_named};
use argh::FromArgs;
use msnpd::storage::DbError;
use std::path::PathBuf;

/// Invitation codes for `--registration invite`.
#[derive(FromArgs)]
#[argh(subcommand, name = "invite")]
pub(crate) struct Invite {
    #[argh(subcommand)]
    pub(crate) action: InviteAction,
}

#[derive(FromArgs)]
#[argh(subcommand)]
pub(crate) enum InviteAction {
    Create(InviteCreate),
    List(InviteList),
    Revoke(InviteRevoke),
}

/// Create an invitation code; prints the code and a registration link.
#[derive(FromArgs)]
#[argh(subcommand, name = "create")]
pub(crate) struct InviteCreate {
    /// how many accounts the code may create (default 1)
    #[argh(option, default = "1")]
    uses: u32,
    /// days until the code expires (default: never)
    #[argh(option)]
    expires: Option<u32>,
    /// start of the printed link (default: http://FIRST-LAN-ADDRESS:8080)
    #[argh(option)]
    url: Option<String>,
    /// database file
    #[argh(option)]
    db: Option<PathBuf>,
}

/// List invitation codes with their uses and state.
#[derive(FromArgs)]
#[argh(subcommand, name = "list")]
pub(crate) struct InviteList {
    /// database file
    #[argh(option)]
    db: Option<PathBuf>,
}

/// Revoke an invitation code.
#[derive(FromArgs)]
#[argh(subcommand, name = "revoke")]
pub(crate) struct InviteRevoke {
    #[argh(positional)]
    code: String,
    /// database file
    #[argh(option)]
    db: Option<PathBuf>,
}

pub(crate) fn invite(action: InviteAction) -> CliResult {
    use msnpd::ops::invites;
    let config = config_for(None)?;
    let now = msnpd::protocol::timestamp::unix_now() as i64;
    match action {
        InviteAction::Create(c) => {
            if c.uses == 0 {
                return Err("--uses must be at least 1".into());
            }
            if c.expires == Some(0) {
                return Err("--expires must be at least 1 day".into());
            }
            let expires = c.expires.map(|d| now + i64::from(d) * 86_400);
            let named = c.db.is_some();
            let db_path = database_path(c.db, config.as_deref())?;
            let mut db = open_or_create_named(&db_path, named)?;
            let code = invites::new_code();
            in_db(&db_path, db.create_invite(&code, c.uses, expires, now))?;
            let base = c.url.unwrap_or_else(invites::default_base_url);
            println!("{code}");
            println!("{}/register?invite={code}", base.trim_end_matches('/'));
            eprintln!(
                "uses: {}, expires: {}",
                c.uses,
                expires.map_or("never".to_string(), invites::date)
            );
        }
        InviteAction::List(l) => {
            let db_path = database_path(l.db, config.as_deref())?;
            let db = open_existing(&db_path)?;
            for i in in_db(&db_path, db.list_invites())? {
                println!("{}", invites::describe(&i, now));
            }
        }
        InviteAction::Revoke(r) => {
            let code = msnpd::http::register::normalize_invite(&r.code);
            let db_path = database_path(r.db, config.as_deref())?;
            let mut db = open_existing(&db_path)?;
            match db.revoke_invite(&code) {
                Ok(()) => println!("revoked {code}"),
                Err(DbError::NotFound) => return Err(format!("no invitation code {code}").into()),
                Err(e) => return Err(e.into()),
            }
        }
    }
    Ok(())
}
