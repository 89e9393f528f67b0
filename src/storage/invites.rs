//! Invitation codes for self-registration. A code is used up in the same transaction that creates
//! the account, so two people racing for the last use cannot both get an account.

use super::db::{Db, DbError, Result, insert_user};
use crate::auth::Credential;
use crate::model::UserId;
use rusqlite::{OptionalExtension, params};

/// One invitation as `msnpd invite list` shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Invite {
    /// The code as typed on the form (`K7MQ-X9PD-2TWA`).
    pub code: String,
    /// Accounts the code may create in total.
    pub max_uses: u32,
    /// Accounts created with it so far.
    pub uses: u32,
    /// Unix seconds; `None` never expires.
    pub expires: Option<i64>,
    /// `msnpd invite revoke` was run; the row stays so that the list shows what happened.
    pub revoked: bool,
    /// Unix seconds of `msnpd invite create`.
    pub created: i64,
}

impl Invite {
    /// Why the code cannot be used at `now`, if it cannot.
    pub fn refused(&self, now: i64) -> Option<InviteRefused> {
        if self.revoked {
            Some(InviteRefused::Revoked)
        } else if self.expires.is_some_and(|e| e <= now) {
            Some(InviteRefused::Expired)
        } else if self.uses >= self.max_uses {
            Some(InviteRefused::UsedUp)
        } else {
            None
        }
    }
}

/// Why an invitation code was not accepted. `Display` is the message shown on the form.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InviteRefused {
    /// No such code (a typo, or a guess).
    Unknown,
    /// The operator revoked it.
    Revoked,
    /// Its expiry time has passed.
    Expired,
    /// All its uses are taken.
    UsedUp,
}

impl std::fmt::Display for InviteRefused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            InviteRefused::Unknown => "that invitation code does not exist",
            InviteRefused::Revoked => "that invitation code has been revoked",
            InviteRefused::Expired => "that invitation code has expired",
            InviteRefused::UsedUp => "that invitation code has already been used",
        })
    }
}

/// Outcome of a registration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Registered {
    /// The account exists now (committed), with this id.
    Created(UserId),
    /// The handle is taken.
    Taken,
    /// The invitation code was refused; nothing was written.
    Invite(InviteRefused),
}

fn row_to_invite(r: &rusqlite::Row<'_>) -> rusqlite::Result<Invite> {
    Ok(Invite {
        code: r.get(0)?,
        max_uses: r.get(1)?,
        uses: r.get(2)?,
        expires: r.get(3)?,
        revoked: r.get::<_, i64>(4)? != 0,
        created: r.get(5)?,
    })
}

const INVITE_COLUMNS: &str = "code, max_uses, uses, expires, revoked, created";

impl Db {
    /// Stores a new code (`msnpd invite create`); a duplicate code is `DbError::Exists`.
    pub fn create_invite(
        &mut self,
        code: &str,
        max_uses: u32,
        expires: Option<i64>,
        now: i64,
    ) -> Result<()> {
        self.conn.execute(
            "INSERT INTO invites (code, max_uses, expires, created) VALUES (?1, ?2, ?3, ?4)",
            params![code, max_uses, expires, now],
        )?;
        Ok(())
    }

    /// Every code, oldest first (`msnpd invite list`).
    pub fn list_invites(&self) -> Result<Vec<Invite>> {
        let mut st = self.conn.prepare(&format!(
            "SELECT {INVITE_COLUMNS} FROM invites ORDER BY created, code"
        ))?;
        let rows = st.query_map([], row_to_invite)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The invitation with exactly this code, if any.
    pub fn invite(&self, code: &str) -> Result<Option<Invite>> {
        Ok(self
            .conn
            .query_row(
                &format!("SELECT {INVITE_COLUMNS} FROM invites WHERE code = ?1"),
                [code],
                row_to_invite,
            )
            .optional()?)
    }

    /// Revokes a code; `NotFound` if there is none.
    pub fn revoke_invite(&mut self, code: &str) -> Result<()> {
        match self
            .conn
            .execute("UPDATE invites SET revoked = 1 WHERE code = ?1", [code])?
        {
            0 => Err(DbError::NotFound),
            _ => Ok(()),
        }
    }

    /// Creates an account, first using one use of `invite` when given; all in one transaction,
    /// so a refused invitation creates nothing and a taken handle uses nothing.
    pub fn register_user(
        &mut self,
        handle: &str,
        cred: &Credential,
        invite: Option<&str>,
        now: i64,
    ) -> Result<Registered> {
        let tx = self.conn.transaction()?;
        if let Some(code) = invite {
            let used = tx.execute(
                "UPDATE invites SET uses = uses + 1 WHERE code = ?1 AND revoked = 0
                 AND uses < max_uses AND (expires IS NULL OR expires > ?2)",
                params![code, now],
            )?;
            if used == 0 {
                let why = tx
                    .query_row(
                        &format!("SELECT {INVITE_COLUMNS} FROM invites WHERE code = ?1"),
                        [code],
                        row_to_invite,
                    )
                    .optional()?
                    .map_or(Some(InviteRefused::Unknown), |i| i.refused(now));
                // Dropping `tx` rolls back (nothing was changed anyway).
                return Ok(Registered::Invite(why.unwrap_or(InviteRefused::UsedUp)));
            }
        }
        match insert_user(&tx, handle, cred) {
            Ok(id) => {
                tx.commit()?;
                Ok(Registered::Created(id))
            }
            // Rolls back the invitation use with the transaction.
            Err(DbError::Exists) => Ok(Registered::Taken),
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db() -> Db {
        let mut db = Db::open(std::path::Path::new(":memory:")).unwrap();
        db.migrate().unwrap();
        db
    }

    #[test]
    fn invitation_uses_are_counted_with_the_account() {
        let mut db = db();
        let cred = Credential::new("password1");
        db.create_invite("AAAA", 1, Some(1000), 10).unwrap();
        assert!(matches!(
            db.register_user("a@b.com", &cred, Some("AAAA"), 20)
                .unwrap(),
            Registered::Created(_)
        ));
        // Used up: no account, no further use.
        assert_eq!(
            db.register_user("c@b.com", &cred, Some("AAAA"), 20)
                .unwrap(),
            Registered::Invite(InviteRefused::UsedUp)
        );
        assert!(db.lookup("c@b.com").unwrap().is_none());
        // A taken handle does not use the code up.
        db.create_invite("BBBB", 1, None, 10).unwrap();
        assert_eq!(
            db.register_user("a@b.com", &cred, Some("BBBB"), 20)
                .unwrap(),
            Registered::Taken
        );
        assert_eq!(db.invite("BBBB").unwrap().unwrap().uses, 0);
        assert_eq!(
            db.register_user("d@b.com", &cred, Some("NOPE"), 20)
                .unwrap(),
            Registered::Invite(InviteRefused::Unknown)
        );
        assert_eq!(
            db.register_user("d@b.com", &cred, Some("CCCC"), 20)
                .unwrap(),
            Registered::Invite(InviteRefused::Unknown)
        );
        db.create_invite("CCCC", 5, Some(100), 10).unwrap();
        assert_eq!(
            db.register_user("d@b.com", &cred, Some("CCCC"), 100)
                .unwrap(),
            Registered::Invite(InviteRefused::Expired)
        );
        db.revoke_invite("BBBB").unwrap();
        assert_eq!(
            db.register_user("d@b.com", &cred, Some("BBBB"), 20)
                .unwrap(),
            Registered::Invite(InviteRefused::Revoked)
        );
        assert!(matches!(db.revoke_invite("ZZZZ"), Err(DbError::NotFound)));
        assert!(matches!(
            db.register_user("e@b.com", &cred, None, 20).unwrap(),
            Registered::Created(_)
        ));
        assert_eq!(db.list_invites().unwrap().len(), 3);
    }
}
