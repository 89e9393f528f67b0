//! `msnpd check`: lists accounts whose handles break the handle rule (SECURITY.md, "Handles").
//! Such accounts were created before the rule; they keep working, and the operator decides.

use super::{CliResult, config_for, database_path, open_existing};
use argh::FromArgs;
use std::path::PathBuf;

/// List accounts whose handles break today's handle rule (path or quote characters that old
/// clients turn into file paths or XML). Exits 1 when there are any.
#[derive(FromArgs)]
#[argh(subcommand, name = "check")]
pub(crate) struct Check {
    /// configuration file (default /etc/msnpd/msnpd.toml when it exists); only `db` is read
    #[argh(option)]
    config: Option<PathBuf>,
    /// database file
    #[argh(option)]
    db: Option<PathBuf>,
}

pub(crate) fn check(c: Check) -> CliResult {
    let config = config_for(c.config)?;
    let db_path = database_path(c.db, config.as_deref())?;
    let db = open_existing(&db_path)?;
    let (report, clean) = msnpd::ops::check::report(&db)?;
    print!("{report}");
    if clean {
        Ok(())
    } else {
        Err("accounts break the handle rule (listed above)".into())
    }
}
