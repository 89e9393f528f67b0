//! `msnpd user add|passwd|del|list|import`: accounts in the database.

use super::{CliResult, config_for, database_path, in_db, open_existing, open_or_create_named};
use argh::FromArgs;
use msnpd::auth::Credential;
use msnpd::protocol::names::normalize_handle;
use msnpd::storage::DbError;
use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};

/// Manage accounts in the database (works while the server runs).
#[derive(FromArgs)]
#[argh(subcommand, name = "user")]
pub(crate) struct User {
    #[argh(subcommand)]
    pub(crate) action: UserAction,
}

#[derive(FromArgs)]
#[argh(subcommand)]
pub(crate) enum UserAction {
    Add(UserAdd),
    Passwd(UserPasswd),
    Del(UserDel),
    List(UserList),
    Import(UserImport),
}

/// Create an account. Without --password, reads it from stdin (on a terminal: asked twice, not
/// echoed).
#[derive(FromArgs)]
#[argh(subcommand, name = "add")]
pub(crate) struct UserAdd {
    /// the account's e-mail address
    #[argh(positional)]
    email: String,
    /// the password (visible in the process list; prefer stdin)
    #[argh(option)]
    password: Option<String>,
    /// database file
    #[argh(option)]
    db: Option<PathBuf>,
}

/// Change an account's password (read from stdin, or --password).
#[derive(FromArgs)]
#[argh(subcommand, name = "passwd")]
pub(crate) struct UserPasswd {
    #[argh(positional)]
    email: String,
    /// the new password
    #[argh(option)]
    password: Option<String>,
    /// database file
    #[argh(option)]
    db: Option<PathBuf>,
}

/// Delete an account and remove it from everyone's lists.
#[derive(FromArgs)]
#[argh(subcommand, name = "del")]
pub(crate) struct UserDel {
    #[argh(positional)]
    email: String,
    /// database file
    #[argh(option)]
    db: Option<PathBuf>,
}

/// List accounts.
#[derive(FromArgs)]
#[argh(subcommand, name = "list")]
pub(crate) struct UserList {
    /// database file
    #[argh(option)]
    db: Option<PathBuf>,
}

/// Create many accounts from a file, all or none. Each line is `email<TAB>password` (the password
/// may contain spaces) or `email password` (no spaces); # starts a comment line.
#[derive(FromArgs)]
#[argh(subcommand, name = "import")]
pub(crate) struct UserImport {
    /// file with one account per line
    #[argh(positional)]
    file: PathBuf,
    /// database file
    #[argh(option)]
    db: Option<PathBuf>,
}

/// Reads a password: from `--password`, from the terminal (twice, without echo), or one line of
/// stdin (for scripts). Empty passwords are refused everywhere.
pub(crate) fn read_password(given: Option<String>) -> CliResult<String> {
    let pw = match given {
        Some(p) => p,
        None if std::io::stdin().is_terminal() => {
            let first = msnpd::ops::password::prompt_hidden("Password: ")?;
            if first.is_empty() {
                return Err("empty password refused".into());
            }
            let again = msnpd::ops::password::prompt_hidden("Repeat password: ")?;
            if again != first {
                return Err("the passwords differ; nothing was changed".into());
            }
            first
        }
        None => {
            let mut line = String::new();
            std::io::stdin().lock().read_line(&mut line)?;
            line.trim_end_matches(['\r', '\n']).to_string()
        }
    };
    if pw.is_empty() {
        return Err("empty password refused".into());
    }
    msnpd::accounts::password_acceptable(&pw)?;
    Ok(pw)
}

pub(crate) fn handle(email: &str) -> CliResult<String> {
    use msnpd::accounts::Refused;
    msnpd::accounts::new_handle(email).map_err(|e| match e {
        Refused::HandleTooLong => format!(
            "invalid e-mail address: {email} (longer than {} characters)",
            msnpd::limits::MAX_HANDLE
        )
        .into(),
        _ => format!("invalid e-mail address: {email}").into(),
    })
}

pub(crate) fn user(action: UserAction) -> CliResult {
    let config = config_for(None)?;
    match action {
        UserAction::Add(a) => {
            let h = handle(&a.email)?;
            let named = a.db.is_some();
            let db_path = database_path(a.db, config.as_deref())?;
            let pw = read_password(a.password)?;
            // Creates the database only when named with --db (`open_or_create_named`).
            let mut db = open_or_create_named(&db_path, named)?;
            match db.create_user(&h, &Credential::new(&pw)) {
                Ok(_) => println!("created {h}"),
                Err(DbError::Exists) => return Err(format!("account {h} already exists").into()),
                Err(e) => return in_db(&db_path, Err(e)),
            }
        }
        UserAction::Passwd(p) => {
            let h = msnpd::accounts::existing_handle(&p.email)?;
            let db_path = database_path(p.db, config.as_deref())?;
            let mut db = open_existing(&db_path)?;
            if db.lookup(&h).ok().flatten().is_none() {
                return Err(format!("no account {h}").into());
            }
            let pw = read_password(p.password)?;
            match db.set_password(&h, &Credential::new(&pw)) {
                Ok(()) => println!("password changed for {h}"),
                Err(DbError::NotFound) => return Err(format!("no account {h}").into()),
                Err(e) => return in_db(&db_path, Err(e)),
            }
        }
        UserAction::Del(d) => {
            let h = msnpd::accounts::existing_handle(&d.email)?;
            let db_path = database_path(d.db, config.as_deref())?;
            let mut db = open_existing(&db_path)?;
            match db.delete_user(&h) {
                Ok(_) => println!("deleted {h}"),
                Err(DbError::NotFound) => return Err(format!("no account {h}").into()),
                Err(e) => return in_db(&db_path, Err(e)),
            }
        }
        UserAction::List(l) => {
            let db_path = database_path(l.db, config.as_deref())?;
            let db = open_existing(&db_path)?;
            let mut out = std::io::BufWriter::new(std::io::stdout().lock());
            for (h, name) in in_db(&db_path, db.list_users())? {
                writeln!(out, "{h}\t{name}")?;
            }
            out.flush()?;
        }
        UserAction::Import(i) => import(i, config.as_deref())?,
    }
    Ok(())
}

/// One account line of an import file: `email<TAB>password` (the password is everything after
/// the first tab, spaces included) or `email password` (two fields without spaces).
pub(crate) fn import_line(line: &str) -> Option<(&str, &str)> {
    if let Some((email, pw)) = line.split_once('\t') {
        return Some((email.trim(), pw));
    }
    let mut parts = line.split_whitespace();
    match (parts.next(), parts.next(), parts.next()) {
        (Some(email), Some(pw), None) => Some((email, pw)),
        _ => None,
    }
}

/// Accounts hashed between two progress lines when stderr is not a terminal.
pub(crate) const IMPORT_PROGRESS_EVERY: usize = 100;

pub(crate) fn import(i: UserImport, config: Option<&Path>) -> CliResult {
    let file = i.file.display();
    let text = std::fs::read_to_string(&i.file).map_err(|e| format!("cannot read {file}: {e}"))?;
    let mut users = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (n, line) in text.lines().enumerate() {
        let n = n + 1;
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() || line.trim_start().starts_with('#') {
            continue;
        }
        let Some((email, pw)) = import_line(line) else {
            return Err(
                format!("{file}:{n}: expected `email<TAB>password` or `email password`").into(),
            );
        };
        let Some(h) = normalize_handle(email).filter(|h| msnpd::accounts::handle_follows_rule(h))
        else {
            return Err(format!("{file}:{n}: invalid e-mail address {email}").into());
        };
        if pw.is_empty() {
            return Err(format!("{file}:{n}: empty password for {h}").into());
        }
        if !seen.insert(h.clone()) {
            return Err(format!("{file}:{n}: {h} appears twice").into());
        }
        users.push((h, pw.to_string()));
    }
    let named = i.db.is_some();
    let db_path = database_path(i.db, config)?;
    let mut db = open_or_create_named(&db_path, named)?;
    // Checked before the slow hashing; the insert below still refuses a late duplicate.
    let taken = in_db(
        &db_path,
        db.existing_handles(users.iter().map(|(h, _)| h.as_str())),
    )?;
    if let Some(first) = taken.first() {
        let more = match taken.len() {
            1 => String::new(),
            n => format!(" (and {} more)", n - 1),
        };
        return Err(format!("account {first} already exists{more}; nothing was imported").into());
    }
    let creds = hash_all(&users);
    match db.import_users(&creds) {
        Ok(n) => println!("imported {n} accounts"),
        Err(DbError::Exists) => {
            return Err(
                "an account in the file was created meanwhile; nothing was imported".into(),
            );
        }
        Err(e) => return in_db(&db_path, Err(e)),
    }
    Ok(())
}

/// Shows hashing progress on stderr: a line rewritten in place on a terminal, else a line every
/// `IMPORT_PROGRESS_EVERY` accounts (logs, CI).
pub(crate) fn progress(done: usize, total: usize) {
    let mut err = std::io::stderr().lock();
    if err.is_terminal() {
        let _ = write!(err, "\rhashed {done}/{total}");
        if done == total {
            let _ = writeln!(err);
        }
    } else if done.is_multiple_of(IMPORT_PROGRESS_EVERY) && done < total {
        let _ = writeln!(err, "hashed {done}/{total}");
    }
}

pub(crate) fn hash_all(users: &[(String, String)]) -> Vec<(String, Credential)> {
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .max(1);
    let chunk = users.len().div_ceil(threads).max(1);
    let done = std::sync::atomic::AtomicUsize::new(0);
    let total = users.len();
    std::thread::scope(|s| {
        let handles: Vec<_> = users
            .chunks(chunk)
            .map(|part| {
                let done = &done;
                s.spawn(move || {
                    part.iter()
                        .map(|(h, pw)| {
                            let c = (h.clone(), Credential::new(pw));
                            let n = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
                            progress(n, total);
                            c
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("hashing thread"))
            .collect()
    })
}
