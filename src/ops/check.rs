//! `msnpd check` (to be wired by the CLI): finds what in a database no longer meets today's
//! rules, for the operator to act on. Nothing here changes the database.

use crate::accounts::handle_follows_rule;
use crate::storage::{Db, DbError};

/// Accounts whose handle breaks the rule for new handles (`accounts::handle_follows_rule`):
/// created before the rule (issue 21) or imported by other means. They still sign in; an operator
/// may rename them with the user's consent, or delete them. Sorted by handle.
pub fn handles_breaking_rule(db: &Db) -> Result<Vec<String>, DbError> {
    Ok(db
        .list_users()?
        .into_iter()
        .map(|(handle, _)| handle)
        .filter(|h| !handle_follows_rule(h))
        .collect())
}

/// The report `msnpd check` prints, one finding a line, and whether everything passed (the
/// exit status: 0 when nothing was found, 1 otherwise).
pub fn report(db: &Db) -> Result<(String, bool), DbError> {
    let bad = handles_breaking_rule(db)?;
    if bad.is_empty() {
        return Ok((
            "handles: every account follows the handle rule\n".into(),
            true,
        ));
    }
    let mut out = format!(
        "handles: {} account(s) break the rule for new handles (letters, digits and . _ + - \
         before @, see SECURITY.md); they still sign in:\n",
        bad.len()
    );
    for h in bad {
        out.push_str("  ");
        out.push_str(&h);
        out.push('\n');
    }
    Ok((out, false))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::Credential;

    #[test]
    fn lists_old_handles_that_break_the_rule() {
        let dir = std::env::temp_dir().join(format!(
            "msnpd-check-{}-{}",
            std::process::id(),
            crate::auth::token(8)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let mut db = Db::open(&dir.join("t.db")).unwrap();
        db.migrate().unwrap();
        // Created the way an old version (or a direct import) could: past the new rule.
        for h in [
            "alice@example.com",
            "a'onerror=x@example.com",
            "b/c@example.com",
        ] {
            db.create_user(h, &Credential::new("pw")).unwrap();
        }
        assert_eq!(
            handles_breaking_rule(&db).unwrap(),
            ["a'onerror=x@example.com", "b/c@example.com"]
        );
        let (text, ok) = report(&db).unwrap();
        assert!(!ok);
        assert!(text.contains("  b/c@example.com\n"), "{text}");
        drop(db);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
