//! The database holds MD5 values that work as passwords for MSNP2-7 logins, so its files must be
//! readable by the service alone, whatever the umask of whoever runs `msnpd user add` or `serve`.

use super::DbError;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

/// Creates a missing database file as 0600 before SQLite opens it (SQLite then gives its -wal and
/// -shm files the database's mode), and warns about an existing one that others can read.
pub fn prepare(path: &Path) -> Result<(), DbError> {
    // SQLite's name for a database with no file: there is nothing to protect, nor to create.
    if path.as_os_str() == ":memory:" {
        return Ok(());
    }
    let io = |e: std::io::Error| DbError::Sql(format!("{}: {e}", path.display()));
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
    {
        Ok(_) => return Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(io(e)),
    }
    for suffix in ["", "-wal", "-shm"] {
        let file = format!("{}{suffix}", path.display());
        if let Ok(meta) = std::fs::metadata(&file)
            && meta.permissions().mode() & 0o077 != 0
        {
            log::warn!(
                "{file} is readable by other users (mode {:o}); it holds password equivalents: \
                 chmod 600 it",
                meta.permissions().mode() & 0o777
            );
        }
    }
    Ok(())
}
