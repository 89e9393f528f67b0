//! XMPP's stored credentials and lookups: SCRAM keys per account and mechanism, and the domains
//! the accounts use (the XMPP side serves each of them).

use super::db::{Db, Result};
use crate::auth::{ScramHash, ScramKey};
use crate::model::UserId;
use rusqlite::{OptionalExtension, params};

/// `Db::serves_domain`: the `WHERE` expression is the one the migration `users_domain` indexes.
const SERVES_DOMAIN: &str = "SELECT EXISTS (SELECT 1 FROM users
     WHERE lower(substr(handle, instr(handle, '@') + 1)) = ?1 AND instr(handle, '@') > 0)";

impl Db {
    /// The account's id and its SCRAM keys for `hash`; `None` for an unknown handle, and a `None`
    /// key for an account whose keys were not derived yet (no password set or PLAIN login since
    /// the table was added).
    pub fn scram_key(
        &self,
        handle: &str,
        hash: ScramHash,
    ) -> Result<Option<(UserId, Option<ScramKey>)>> {
        let mut st = self.conn.prepare_cached(
            "SELECT u.id, k.salt, k.iterations, k.stored_key, k.server_key
             FROM users u LEFT JOIN scram_keys k ON k.user_id = u.id AND k.mechanism = ?2
             WHERE u.handle = ?1",
        )?;
        Ok(st
            .query_row(params![handle, hash.mechanism()], |r| {
                let id: UserId = r.get(0)?;
                let salt: Option<Vec<u8>> = r.get(1)?;
                let key = match salt {
                    Some(salt) => Some(ScramKey {
                        hash,
                        salt,
                        iterations: r.get(2)?,
                        stored_key: r.get(3)?,
                        server_key: r.get(4)?,
                    }),
                    None => None,
                };
                Ok((id, key))
            })
            .optional()?)
    }

    /// Whether the account already has SCRAM keys for every mechanism.
    pub fn has_scram_keys(&self, id: UserId) -> Result<bool> {
        let n: i64 = self.conn.query_row(
            "SELECT count(*) FROM scram_keys WHERE user_id = ?1",
            [id],
            |r| r.get(0),
        )?;
        Ok(n as usize >= ScramHash::ALL.len())
    }

    /// Stores SCRAM keys derived at a PLAIN login (the password was just checked) if the
    /// account's credential version is still `version`, the one read with the checked hash: a
    /// password change committed during the Argon2 check must not be overwritten by the old
    /// password's keys. Returns whether the keys were written.
    pub fn set_scram_keys(&mut self, id: UserId, version: u64, keys: &[ScramKey]) -> Result<bool> {
        let tx = self.conn.transaction()?;
        let current: Option<i64> = tx
            .query_row("SELECT cred_version FROM users WHERE id = ?1", [id], |r| {
                r.get(0)
            })
            .optional()?;
        if current.map(|v| v as u64) != Some(version) {
            return Ok(false);
        }
        super::db::replace_scram_keys(&tx, id, keys)?;
        tx.commit()?;
        Ok(true)
    }

    /// Whether any account's handle ends in `@domain` (compared lower case): the XMPP side serves
    /// exactly the domains its accounts use. An exact match on the indexed expression of the
    /// migration `users_domain` (called for every unauthenticated stream: no table scan), so an
    /// account created by another process (`msnpd user add`/`import`) counts at once.
    pub fn serves_domain(&self, domain: &str) -> Result<bool> {
        let mut st = self.conn.prepare_cached(SERVES_DOMAIN)?;
        Ok(st.query_row([domain.to_ascii_lowercase()], |r| r.get(0))?)
    }

    /// The query plan of `serves_domain`, for the test that it uses the index.
    #[doc(hidden)]
    pub fn serves_domain_plan(&self) -> Result<String> {
        let mut st = self
            .conn
            .prepare(&format!("EXPLAIN QUERY PLAN {SERVES_DOMAIN}"))?;
        let rows = st.query_map(["x"], |r| r.get::<_, String>(3))?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?.join("; "))
    }

    /// Every domain the accounts use, sorted (the names the XMPP certificate should carry).
    pub fn account_domains(&self) -> Result<Vec<String>> {
        let domains = {
            let mut st = self.conn.prepare(
                "SELECT DISTINCT lower(substr(handle, instr(handle, '@') + 1)) AS d FROM users
                 WHERE instr(handle, '@') > 0 ORDER BY d",
            )?;
            let rows = st.query_map([], |r| r.get(0))?;
            rows.collect::<rusqlite::Result<_>>()?
        };
        // The scan read every page of `users` into SQLite's cache; asked at start, it would
        // keep an idle server's cache full (about 0.7 MiB at 10,000 accounts).
        self.conn.execute_batch("PRAGMA shrink_memory")?;
        Ok(domains)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::Credential;

    fn temp_db() -> (Db, std::path::PathBuf) {
        let dir = std::env::temp_dir().join(format!("msnpd-scram-{}", crate::auth::token(12)));
        std::fs::create_dir_all(&dir).unwrap();
        let mut db = Db::open(&dir.join("t.db")).unwrap();
        db.migrate().unwrap();
        (db, dir)
    }

    /// A PLAIN login's keys, derived from the old password while `user passwd` committed, must
    /// not replace the new password's keys.
    #[test]
    fn scram_keys_of_a_stale_password_are_not_written() {
        let (mut db, dir) = temp_db();
        let id = db.create_user("a@x.com", &Credential::new("old")).unwrap();
        let read = db.credentials("a@x.com").unwrap().unwrap().version;
        let stale = crate::auth::scram_keys("old");
        let new = Credential::new("new");
        db.set_password("a@x.com", &new).unwrap();
        assert!(!db.set_scram_keys(id, read, &stale).unwrap());
        let hash = ScramHash::ALL[0];
        let (_, key) = db.scram_key("a@x.com", hash).unwrap().unwrap();
        assert_eq!(key.unwrap().stored_key, new.scram[0].stored_key);
        let now = db.credentials("a@x.com").unwrap().unwrap().version;
        assert!(db.set_scram_keys(id, now, &stale).unwrap());
        std::fs::remove_dir_all(dir).unwrap();
    }

    /// `serves_domain` runs for every unauthenticated XMPP stream: an index lookup, not a scan.
    #[test]
    fn served_domains_are_an_indexed_lookup() {
        let (mut db, dir) = temp_db();
        db.create_user("a@example.com", &Credential::new("pw"))
            .unwrap();
        assert!(db.serves_domain("EXAMPLE.com").unwrap());
        assert!(!db.serves_domain("ample.com").unwrap());
        assert!(!db.serves_domain("%").unwrap());
        let plan = db.serves_domain_plan().unwrap();
        assert!(plan.contains("USING INDEX users_domain"), "{plan}");
        std::fs::remove_dir_all(dir).unwrap();
    }
}
