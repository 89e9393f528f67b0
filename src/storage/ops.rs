//! Storage for the operator commands: schema checks, backups, and the sign-out requests that
//! `msnpd user del|passwd` leave for a running server.

use super::db::{Db, DbError, Result};
use std::path::{Path, PathBuf};

/// Where the automatic backup of a database at schema `version` goes: beside it, named after the
/// old schema, never overwriting an earlier one.
pub fn migration_backup_path(db: &Path, version: i64) -> PathBuf {
    let base = format!("{}.schema{version}.bak", db.display());
    let mut path = PathBuf::from(&base);
    let mut n = 1;
    while path.exists() {
        path = PathBuf::from(format!("{base}.{n}"));
        n += 1;
    }
    path
}

impl Db {
    /// Refuses a database written by a newer msnpd, and backs up one about to be migrated.
    pub(super) fn before_migrations(&mut self, current: i64, known: usize) -> Result<()> {
        if current > known as i64 {
            return Err(DbError::Sql(format!(
                "{} has schema version {current} but this msnpd ({}) knows only up to {known}: \
                 it was written by a newer msnpd; run that version or restore a backup",
                self.path.display(),
                env!("CARGO_PKG_VERSION")
            )));
        }
        // A new database (version 0) has nothing to lose.
        if current > 0 && current < known as i64 {
            let dest = migration_backup_path(&self.path, current);
            self.backup_to(&dest).map_err(|e| {
                DbError::Sql(format!(
                    "backup of {} before its schema migration failed ({e}); nothing was changed",
                    self.path.display()
                ))
            })?;
            log::info!(
                "{}: backed up to {} before migrating from schema {current}",
                self.path.display(),
                dest.display()
            );
        }
        Ok(())
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A consistent copy through SQLite's online backup API: it works while the server writes,
    /// and includes changes still in the WAL (a plain copy of the file would miss them). `dest`
    /// must not exist; it is created readable by its owner only (it holds password hashes).
    pub fn backup_to(&self, dest: &Path) -> Result<()> {
        let mut open = std::fs::OpenOptions::new();
        open.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut open, 0o600);
        open.open(dest)
            .map_err(|e| DbError::Sql(format!("cannot create {}: {e}", dest.display())))?;
        let copied = self
            .conn
            .backup(
                rusqlite::MAIN_DB,
                dest,
                None::<fn(rusqlite::backup::Progress)>,
            )
            .map_err(DbError::from);
        if copied.is_err() {
            let _ = std::fs::remove_file(dest);
        }
        copied
    }

    /// The number of the last migration applied (`PRAGMA user_version`), for `msnpd status` and
    /// `msnpd backup`.
    pub fn schema_version(&self) -> Result<i64> {
        Ok(self
            .conn
            .pragma_query_value(None, "user_version", |r| r.get(0))?)
    }

    /// How many accounts exist, for `msnpd status` and `msnpd backup`.
    pub fn account_count(&self) -> Result<i64> {
        Ok(self
            .conn
            .query_row("SELECT count(*) FROM users", [], |r| r.get(0))?)
    }

    /// Which of `handles` already have an account.
    pub fn existing_handles<'a>(
        &self,
        handles: impl Iterator<Item = &'a str>,
    ) -> Result<Vec<String>> {
        let mut st = self
            .conn
            .prepare("SELECT handle FROM users WHERE handle = ?1")?;
        let mut found = Vec::new();
        for h in handles {
            if st.exists([h])? {
                found.push(h.to_string());
            }
        }
        Ok(found)
    }

    /// Forgets sign-out requests left from before the server started.
    pub fn clear_signouts(&mut self) -> Result<()> {
        self.conn.execute("DELETE FROM signouts", [])?;
        self.seen_data_version = self.data_version()?;
        Ok(())
    }

    fn data_version(&self) -> Result<i64> {
        Ok(self
            .conn
            .pragma_query_value(None, "data_version", |r| r.get(0))?)
    }

    /// Sign-out requests committed by other processes since the last call, as (handle, reason).
    /// Costs one PRAGMA when nothing changed.
    pub fn take_signouts(&mut self) -> Result<Vec<(String, String)>> {
        let version = self.data_version()?;
        if version == self.seen_data_version {
            return Ok(Vec::new());
        }
        self.seen_data_version = version;
        let tx = self.conn.transaction()?;
        let rows: Vec<(String, String)> = {
            let mut st = tx.prepare("SELECT handle, reason FROM signouts")?;
            st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<rusqlite::Result<_>>()?
        };
        if !rows.is_empty() {
            tx.execute("DELETE FROM signouts", [])?;
        }
        tx.commit()?;
        Ok(rows)
    }
}
