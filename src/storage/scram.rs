//! XMPP's stored credentials and lookups: SCRAM keys per account and mechanism, and the domains
//! the accounts use (the XMPP side serves each of them).

use super::db::{Db, Result, replace_keys};
use crate::auth::{ScramHash, ScramKey};
use crate::model::UserId;
use rusqlite::{OptionalExtension, params};

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

    /// Stores SCRAM keys derived at a PLAIN login (the password was just checked).
    pub fn set_scram_keys(&mut self, id: UserId, keys: &[ScramKey]) -> Result<()> {
        let tx = self.conn.transaction()?;
        replace_keys(&tx, id, keys)?;
        tx.commit()?;
        Ok(())
    }

    /// Whether any account's handle ends in `@domain` (compared lower case): the XMPP side serves
    /// exactly the domains its accounts use.
    pub fn serves_domain(&self, domain: &str) -> Result<bool> {
        let mut st = self.conn.prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM users WHERE handle LIKE ?1 ESCAPE '\\')",
        )?;
        let escaped: String = domain
            .to_ascii_lowercase()
            .chars()
            .flat_map(|c| match c {
                '%' | '_' | '\\' => vec!['\\', c],
                c => vec![c],
            })
            .collect();
        Ok(st.query_row([format!("%@{escaped}")], |r| r.get(0))?)
    }

    /// Every domain the accounts use, sorted (the names the XMPP certificate should carry).
    pub fn account_domains(&self) -> Result<Vec<String>> {
        let mut st = self.conn.prepare(
            "SELECT DISTINCT lower(substr(handle, instr(handle, '@') + 1)) AS d FROM users
             WHERE instr(handle, '@') > 0 ORDER BY d",
        )?;
        let rows = st.query_map([], |r| r.get(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}
