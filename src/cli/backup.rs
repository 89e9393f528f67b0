//! `msnpd backup`: an online copy of the database.

use super::{CliResult, config_for, database_path, in_db, open_existing};
use argh::FromArgs;
use msnpd::storage::Db;
use std::path::PathBuf;

/// Copy the database to FILE with SQLite's online backup API (safe while the server runs; a
/// plain `cp` of a live database can miss recent changes).
#[derive(FromArgs)]
#[argh(subcommand, name = "backup")]
pub(crate) struct Backup {
    /// the new file (must not exist)
    #[argh(positional)]
    file: PathBuf,
    /// configuration file (default /etc/msnpd/msnpd.toml when it exists); only `db` is read
    #[argh(option)]
    config: Option<PathBuf>,
    /// database file
    #[argh(option)]
    db: Option<PathBuf>,
}

pub(crate) fn backup(b: Backup) -> CliResult {
    let config = config_for(b.config)?;
    let db_path = database_path(b.db, config.as_deref())?;
    let db = open_existing(&db_path)?;
    if b.file.exists() {
        return Err(format!("{} already exists; not overwriting it", b.file.display()).into());
    }
    in_db(&db_path, db.backup_to(&b.file))?;
    let copy = in_db(&b.file, Db::open_existing(&b.file))?;
    let check = in_db(&b.file, copy.integrity_check())?;
    if check != "ok" {
        return Err(format!("{}: integrity check failed: {check}", b.file.display()).into());
    }
    println!(
        "backed up {} to {} (schema {}, {} accounts)",
        db_path.display(),
        b.file.display(),
        copy.schema_version().unwrap_or(-1),
        copy.account_count().unwrap_or(-1)
    );
    Ok(())
}
