use super::migrations::MIGRATIONS;
use crate::auth::Credential;
use crate::limits::{SQLITE_BUSY_TIMEOUT, SQLITE_CACHE_KIB, SQLITE_STATEMENT_CACHE};
use crate::model::{Account, Blp, Contact, Group, OTHER_CONTACTS, Phones, SortedMap, UserId};
use rusqlite::{Connection, OptionalExtension, params};
use std::path::Path;

/// What a storage call can fail with: the two outcomes callers act on (a reply code, a message to
/// the operator), and everything else as SQLite's text, which callers only log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DbError {
    /// The account already exists.
    Exists,
    /// No such account.
    NotFound,
    /// Any other SQLite error, as text (the error type is not `Clone`).
    Sql(String),
}

impl std::fmt::Display for DbError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DbError::Exists => f.write_str("account already exists"),
            DbError::NotFound => f.write_str("no such account"),
            DbError::Sql(e) => write!(f, "database error: {e}"),
        }
    }
}

impl std::error::Error for DbError {}

impl From<rusqlite::Error> for DbError {
    fn from(e: rusqlite::Error) -> Self {
        match &e {
            rusqlite::Error::SqliteFailure(f, _)
                if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                    || f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY =>
            {
                DbError::Exists
            }
            rusqlite::Error::QueryReturnedNoRows => DbError::NotFound,
            _ => DbError::Sql(e.to_string()),
        }
    }
}

pub type Result<T> = std::result::Result<T, DbError>;

/// What a login needs to check a password.
#[derive(Clone, Debug)]
pub struct Credentials {
    /// The account's id, kept by the session once the check succeeds.
    pub id: UserId,
    /// The handle as stored (normalized).
    pub handle: String,
    /// The MD5 challenge of MSNP2-7: the same per-user salt at every login.
    pub md5_salt: String,
    /// MD5(salt + password), what an MSNP2-7 client's answer must equal.
    pub md5_hash: String,
    /// The Argon2id PHC string for HTTP (Passport/RST) logins.
    pub phc: String,
    /// Raised by every password change: a ticket or challenge issued under another version is
    /// refused.
    pub version: u64,
}

/// The one SQLite connection. Only the storage thread holds one while the server runs (the
/// `msnpd user`/`invite` commands open their own, which WAL allows); every SQL statement of the
/// project is a method here or in the files beside this one.
pub struct Db {
    pub(super) conn: Connection,
    /// The file, for error messages and the backup taken before a migration.
    pub(super) path: std::path::PathBuf,
    /// `PRAGMA data_version` when the server last looked for sign-outs (see `storage/ops.rs`).
    pub(super) seen_data_version: i64,
}

impl Db {
    /// Opens or creates the file (owner-only permissions) and sets WAL and `synchronous=FULL`.
    /// Does not migrate: `Storage::start` and `open_existing` call `migrate` next.
    pub fn open(path: &Path) -> Result<Db> {
        super::private::prepare(path)?;
        let conn = Connection::open(path)?;
        // WAL lets `msnpd user ...` write while the server runs; FULL makes every acknowledged
        // change durable before its reply goes out.
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.busy_timeout(SQLITE_BUSY_TIMEOUT)?;
        conn.set_prepared_statement_cache_capacity(SQLITE_STATEMENT_CACHE);
        // A negative cache_size is in KiB (see `SQLITE_CACHE_KIB`).
        conn.pragma_update(None, "cache_size", -SQLITE_CACHE_KIB)?;
        Ok(Db {
            conn,
            path: path.to_path_buf(),
            seen_data_version: 0,
        })
    }

    /// Opens an existing database only (the `user` commands must not create one by accident).
    pub fn open_existing(path: &Path) -> Result<Db> {
        if !path.exists() {
            return Err(DbError::Sql(format!(
                "database {} does not exist",
                path.display()
            )));
        }
        let mut db = Db::open(path)?;
        db.migrate()?;
        Ok(db)
    }

    /// Applies the migrations the file has not seen yet, one transaction each, after the backup
    /// and version checks of `before_migrations`.
    pub fn migrate(&mut self) -> Result<()> {
        let current: i64 = self
            .conn
            .pragma_query_value(None, "user_version", |r| r.get(0))?;
        self.before_migrations(current, MIGRATIONS.len())?;
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(current as usize) {
            let tx = self.conn.transaction()?;
            tx.execute_batch(sql)?;
            tx.pragma_update(None, "user_version", (i + 1) as i64)?;
            tx.commit()?;
            log::info!("database migrated to schema {}", i + 1);
        }
        Ok(())
    }

    /// Folds the WAL back into the file and closes, so that a copied database file is whole.
    pub fn close(self) -> Result<()> {
        let _ = self.conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);");
        self.conn.close().map_err(|(_, e)| e.into())
    }

    /// A trivial query: the database answers (`/healthz`).
    pub fn ping(&self) -> Result<()> {
        Ok(self.conn.query_row("SELECT 1", [], |_| Ok(()))?)
    }

    /// SQLite's `PRAGMA integrity_check` (`ok` when sound): `msnpd backup` checks its copy.
    pub fn integrity_check(&self) -> Result<String> {
        Ok(self
            .conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))?)
    }

    /// The server secret called `name`, created (random, 32 bytes) on first use. Kept in the
    /// database so it survives restarts and moves with the accounts it protects.
    pub fn server_secret(&mut self, name: &str) -> Result<Vec<u8>> {
        let mut fresh = [0u8; 32];
        crate::auth::fill_random(&mut fresh);
        self.conn.execute(
            "INSERT OR IGNORE INTO server_secrets (name, value) VALUES (?1, ?2)",
            params![name, &fresh[..]],
        )?;
        Ok(self.conn.query_row(
            "SELECT value FROM server_secrets WHERE name = ?1",
            params![name],
            |r| r.get(0),
        )?)
    }

    // ---- accounts ----

    /// Creates an account (`msnpd user add`); an existing handle is `DbError::Exists`. The
    /// handle must already be normalized (`accounts::new_handle`).
    pub fn create_user(&mut self, handle: &str, cred: &Credential) -> Result<UserId> {
        let tx = self.conn.transaction()?;
        let id = insert_user(&tx, handle, cred)?;
        tx.commit()?;
        Ok(id)
    }

    /// Creates all accounts or none.
    pub fn import_users(&mut self, users: &[(String, Credential)]) -> Result<usize> {
        let tx = self.conn.transaction()?;
        for (handle, cred) in users {
            insert_user(&tx, handle, cred)?;
        }
        tx.commit()?;
        Ok(users.len())
    }

    /// Changes the password and asks a running server to sign the account's session out.
    pub fn set_password(&mut self, handle: &str, cred: &Credential) -> Result<()> {
        let tx = self.conn.transaction()?;
        let n = tx.execute(
            "UPDATE users SET md5_salt = ?2, md5_hash = ?3, password = ?4,
                 cred_version = cred_version + 1 WHERE handle = ?1",
            params![handle, cred.md5_salt, cred.md5_hash, cred.phc],
        )?;
        if n == 0 {
            return Err(DbError::NotFound);
        }
        let id: UserId = tx.query_row("SELECT id FROM users WHERE handle = ?1", [handle], |r| {
            r.get(0)
        })?;
        replace_keys(&tx, id, &cred.scram)?;
        queue_signout(&tx, handle, "password changed")?;
        tx.commit()?;
        Ok(())
    }

    /// Deletes an account and removes it from every list it is on. Returns its id and the ids of
    /// the accounts whose lists changed.
    pub fn delete_user(&mut self, handle: &str) -> Result<(UserId, Vec<UserId>)> {
        let tx = self.conn.transaction()?;
        let id: UserId = tx.query_row("SELECT id FROM users WHERE handle = ?1", [handle], |r| {
            r.get(0)
        })?;
        let affected: Vec<UserId> = {
            let mut st = tx.prepare("SELECT user_id FROM contacts WHERE contact_id = ?1")?;
            st.query_map([id], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?
        };
        for a in &affected {
            tx.execute("UPDATE users SET serial = serial + 1 WHERE id = ?1", [a])?;
        }
        tx.execute(
            "DELETE FROM contacts WHERE contact_id = ?1 OR user_id = ?1",
            [id],
        )?;
        tx.execute("DELETE FROM groups WHERE user_id = ?1", [id])?;
        tx.execute("DELETE FROM users WHERE id = ?1", [id])?;
        queue_signout(&tx, handle, "account deleted")?;
        tx.commit()?;
        Ok((id, affected))
    }

    /// (handle, friendly name) of every account, by handle (`msnpd user list`).
    pub fn list_users(&self) -> Result<Vec<(String, String)>> {
        let mut st = self
            .conn
            .prepare("SELECT handle, friendly FROM users ORDER BY handle")?;
        let rows = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// What a login needs to check a password; `None` for an unknown handle.
    pub fn credentials(&self, handle: &str) -> Result<Option<Credentials>> {
        let mut st = self.conn.prepare_cached(
            "SELECT id, handle, md5_salt, md5_hash, password, cred_version FROM users
             WHERE handle = ?1",
        )?;
        Ok(st
            .query_row([handle], |r| {
                Ok(Credentials {
                    id: r.get(0)?,
                    handle: r.get(1)?,
                    md5_salt: r.get(2)?,
                    md5_hash: r.get(3)?,
                    phc: r.get(4)?,
                    version: r.get::<_, i64>(5)? as u64,
                })
            })
            .optional()?)
    }

    /// Id and credential version (see `Credentials::version`) of an account by handle: what a
    /// login re-reads when the password is checked, so a change made meanwhile is seen.
    pub fn credential_version(&self, handle: &str) -> Result<Option<(UserId, u64)>> {
        let mut st = self
            .conn
            .prepare_cached("SELECT id, cred_version FROM users WHERE handle = ?1")?;
        Ok(st
            .query_row([handle], |r| Ok((r.get(0)?, r.get::<_, i64>(1)? as u64)))
            .optional()?)
    }

    /// Id and friendly name of an account by handle.
    pub fn lookup(&self, handle: &str) -> Result<Option<(UserId, String)>> {
        let mut st = self
            .conn
            .prepare_cached("SELECT id, friendly FROM users WHERE handle = ?1")?;
        Ok(st
            .query_row([handle], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?)
    }

    /// Everything about one account, and its handle, read in one transaction with cached
    /// statements.
    pub fn load_account(&mut self, id: UserId) -> Result<(String, Account)> {
        let tx = self.conn.transaction()?;
        let (handle, mut account) = {
            let mut st = tx.prepare_cached(
                "SELECT handle, friendly, blp_block, gtc_prompt, serial, phone_home, phone_work,
                        phone_mobile, mob, mbe FROM users WHERE id = ?1",
            )?;
            st.query_row([id], |r| {
                let account = Account {
                    friendly: r.get(1)?,
                    blp: if r.get::<_, bool>(2)? {
                        Blp::Block
                    } else {
                        Blp::Allow
                    },
                    gtc_prompt: r.get(3)?,
                    serial: r.get(4)?,
                    phones: Phones {
                        home: r.get(5)?,
                        work: r.get(6)?,
                        mobile: r.get(7)?,
                        mob: r.get(8)?,
                        mbe: r.get(9)?,
                    }
                    .boxed(),
                    groups: SortedMap::new(),
                    contacts: SortedMap::new(),
                };
                Ok((r.get(0)?, account))
            })?
        };
        {
            let mut st = tx.prepare_cached(
                "SELECT num, guid, name FROM groups WHERE user_id = ?1 ORDER BY num",
            )?;
            let rows = st.query_map([id], |r| {
                Ok((
                    r.get::<_, u8>(0)?,
                    Group {
                        guid: r.get(1)?,
                        name: Group::name_from(r.get(2)?),
                    },
                ))
            })?;
            account.groups = rows.collect::<rusqlite::Result<_>>()?;
        }
        {
            let mut st = tx.prepare_cached(
                "SELECT c.contact_id, u.handle, c.name, c.guid, c.lists, c.groups,
                        u.phone_home, u.phone_work, u.phone_mobile, u.mob, u.mbe
                 FROM contacts c JOIN users u ON u.id = c.contact_id WHERE c.user_id = ?1",
            )?;
            let rows = st.query_map([id], |r| {
                Ok((
                    r.get::<_, UserId>(0)?,
                    Contact {
                        handle: r.get(1)?,
                        name: r.get(2)?,
                        guid: r.get(3)?,
                        lists: r.get(4)?,
                        groups: r.get(5)?,
                        phones: Phones {
                            home: r.get(6)?,
                            work: r.get(7)?,
                            mobile: r.get(8)?,
                            mob: r.get(9)?,
                            mbe: r.get(10)?,
                        },
                    },
                ))
            })?;
            account.contacts = rows.collect::<rusqlite::Result<_>>()?;
        }
        tx.commit()?;
        Ok((handle, account))
    }

    /// Runs `f` in one write transaction; commits only if it returns `Ok`.
    pub fn write<T>(&mut self, f: impl FnOnce(&mut Writer<'_>) -> Result<T>) -> Result<T> {
        let tx = self.conn.transaction()?;
        let mut w = Writer { tx };
        let out = f(&mut w)?;
        w.tx.commit()?;
        Ok(out)
    }
}

pub(super) fn insert_user(
    tx: &rusqlite::Transaction<'_>,
    handle: &str,
    cred: &Credential,
) -> Result<UserId> {
    tx.execute(
        "INSERT INTO users (handle, friendly, md5_salt, md5_hash, password, created)
         VALUES (?1, ?1, ?2, ?3, ?4, strftime('%s','now'))",
        params![handle, cred.md5_salt, cred.md5_hash, cred.phc],
    )?;
    let id = tx.last_insert_rowid();
    tx.execute(
        "INSERT INTO groups (user_id, num, guid, name) VALUES (?1, 0, ?2, ?3)",
        params![id, crate::auth::guid(), OTHER_CONTACTS],
    )?;
    replace_keys(tx, id, &cred.scram)?;
    Ok(id)
}

/// Writes inside one transaction.
pub struct Writer<'a> {
    tx: rusqlite::Transaction<'a>,
}

impl Writer<'_> {
    /// Increments an account's list serial and returns the new value.
    pub fn bump_serial(&mut self, id: UserId) -> Result<u32> {
        let mut st = self.tx.prepare_cached(
            "UPDATE users SET serial = serial + 1 WHERE id = ?1 RETURNING serial",
        )?;
        Ok(st.query_row([id], |r| r.get(0))?)
    }

    /// One contact row of `owner`, with the contact's handle and phones.
    pub fn contact(&mut self, owner: UserId, contact: UserId) -> Result<Option<Contact>> {
        let mut st = self.tx.prepare_cached(
            "SELECT u.handle, c.name, c.guid, c.lists, c.groups,
                    u.phone_home, u.phone_work, u.phone_mobile, u.mob, u.mbe
             FROM contacts c JOIN users u ON u.id = c.contact_id
             WHERE c.user_id = ?1 AND c.contact_id = ?2",
        )?;
        Ok(st
            .query_row([owner, contact], |r| {
                Ok(Contact {
                    handle: r.get(0)?,
                    name: r.get(1)?,
                    guid: r.get(2)?,
                    lists: r.get(3)?,
                    groups: r.get(4)?,
                    phones: Phones {
                        home: r.get(5)?,
                        work: r.get(6)?,
                        mobile: r.get(7)?,
                        mob: r.get(8)?,
                        mbe: r.get(9)?,
                    },
                })
            })
            .optional()?)
    }

    /// Handle and friendly name of an account.
    pub fn user_names(&mut self, id: UserId) -> Result<(String, String)> {
        let mut st = self
            .tx
            .prepare_cached("SELECT handle, friendly FROM users WHERE id = ?1")?;
        Ok(st.query_row([id], |r| Ok((r.get(0)?, r.get(1)?)))?)
    }

    /// Stores a contact row, or deletes it when it is on no list any more.
    pub fn put_contact(&mut self, owner: UserId, contact: UserId, c: &Contact) -> Result<()> {
        if c.lists == 0 {
            let mut st = self
                .tx
                .prepare_cached("DELETE FROM contacts WHERE user_id = ?1 AND contact_id = ?2")?;
            st.execute([owner, contact])?;
        } else {
            let mut st = self.tx.prepare_cached(
                "INSERT INTO contacts (user_id, contact_id, lists, name, guid, groups)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (user_id, contact_id) DO UPDATE
                 SET lists = excluded.lists, name = excluded.name, groups = excluded.groups",
            )?;
            st.execute(params![owner, contact, c.lists, c.name, c.guid, c.groups])?;
        }
        Ok(())
    }

    /// Creates or replaces group `num` of `owner`.
    pub fn put_group(&mut self, owner: UserId, num: u8, g: &Group) -> Result<()> {
        let mut st = self.tx.prepare_cached(
            "INSERT INTO groups (user_id, num, guid, name) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (user_id, num) DO UPDATE SET name = excluded.name",
        )?;
        st.execute(params![owner, num, g.guid, g.name])?;
        Ok(())
    }

    /// Deletes group `num` of `owner`.
    pub fn delete_group(&mut self, owner: UserId, num: u8) -> Result<()> {
        self.tx.execute(
            "DELETE FROM groups WHERE user_id = ?1 AND num = ?2",
            params![owner, num],
        )?;
        Ok(())
    }

    /// Sets the account's friendly name.
    pub fn set_friendly(&mut self, id: UserId, name: &str) -> Result<()> {
        self.tx.execute(
            "UPDATE users SET friendly = ?2 WHERE id = ?1",
            params![id, name],
        )?;
        Ok(())
    }

    /// Sets the account's privacy mode (BLP).
    pub fn set_blp(&mut self, id: UserId, blp: Blp) -> Result<()> {
        self.tx.execute(
            "UPDATE users SET blp_block = ?2 WHERE id = ?1",
            params![id, blp == Blp::Block],
        )?;
        Ok(())
    }

    /// Sets whether the account's client prompts when someone adds it (GTC).
    pub fn set_gtc(&mut self, id: UserId, prompt: bool) -> Result<()> {
        self.tx.execute(
            "UPDATE users SET gtc_prompt = ?2 WHERE id = ?1",
            params![id, prompt],
        )?;
        Ok(())
    }

    /// Sets the account's phone numbers and mobile settings.
    pub fn set_phones(&mut self, id: UserId, p: &Phones) -> Result<()> {
        self.tx.execute(
            "UPDATE users SET phone_home = ?2, phone_work = ?3, phone_mobile = ?4, mob = ?5, mbe = ?6
             WHERE id = ?1",
            params![id, p.home, p.work, p.mobile, p.mob, p.mbe],
        )?;
        Ok(())
    }
}

/// Records that `handle`'s live session (if any) must be signed out, inside the caller's
/// transaction, so the request exists exactly when the change it is for was committed.
fn queue_signout(tx: &rusqlite::Transaction<'_>, handle: &str, reason: &str) -> Result<()> {
    tx.execute(
        "INSERT INTO signouts (handle, reason) VALUES (?1, ?2)",
        params![handle, reason],
    )?;
    Ok(())
}

/// Replaces an account's SCRAM keys with `keys` (inside the caller's transaction).
/// (Here, not in scram.rs, so that db.rs imports no file that imports it.)
pub(super) fn replace_keys(
    tx: &rusqlite::Transaction<'_>,
    id: UserId,
    keys: &[crate::auth::ScramKey],
) -> Result<()> {
    if keys.is_empty() {
        return Ok(());
    }
    tx.execute("DELETE FROM scram_keys WHERE user_id = ?1", [id])?;
    let mut st = tx.prepare_cached(
        "INSERT INTO scram_keys (user_id, mechanism, salt, iterations, stored_key, server_key)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?;
    for k in keys {
        st.execute(params![
            id,
            k.hash.mechanism(),
            k.salt,
            k.iterations,
            k.stored_key,
            k.server_key
        ])?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::list;

    fn temp_db() -> (Db, std::path::PathBuf) {
        let dir = std::env::temp_dir().join(format!("msnpd-db-{}", crate::auth::token(12)));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("t.db");
        let mut db = Db::open(&path).unwrap();
        db.migrate().unwrap();
        (db, dir)
    }

    #[test]
    fn accounts_and_contacts_round_trip() {
        let (mut db, dir) = temp_db();
        let cred = Credential::new("pw");
        let a = db.create_user("a@x.com", &cred).unwrap();
        let b = db.create_user("b@x.com", &cred).unwrap();
        assert_eq!(db.create_user("a@x.com", &cred), Err(DbError::Exists));
        let contact = Contact {
            handle: "b@x.com".into(),
            name: "Bee".into(),
            guid: crate::auth::guid(),
            lists: list::FL | list::AL,
            groups: 1,
            phones: Phones::default(),
        };
        let serial = db
            .write(|w| {
                w.put_contact(a, b, &contact)?;
                w.bump_serial(a)
            })
            .unwrap();
        assert_eq!(serial, 1);
        let (handle, acc) = db.load_account(a).unwrap();
        assert_eq!(handle, "a@x.com");
        assert_eq!(acc.contacts.get(&b), Some(&contact));
        assert_eq!(acc.groups.get(&0).unwrap().name, "Other Contacts");
        let (id, affected) = db.delete_user("b@x.com").unwrap();
        assert_eq!((id, affected), (b, vec![a]));
        assert!(db.load_account(a).unwrap().1.contacts.is_empty());
        assert_eq!(db.integrity_check().unwrap(), "ok");
        std::fs::remove_dir_all(dir).unwrap();
    }
}
