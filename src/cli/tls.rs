//! `msnpd tls init|show`: the HTTPS certificate kit.

use super::{config_for, database_path, give_to_directory_owner};
use argh::FromArgs;
use std::path::PathBuf;

/// Manage the HTTPS certificate kit (a private CA and the server certificates it signs).
#[derive(FromArgs)]
#[argh(subcommand, name = "tls")]
pub(crate) struct Tls {
    #[argh(subcommand)]
    pub(crate) action: TlsAction,
}

#[derive(FromArgs)]
#[argh(subcommand)]
pub(crate) enum TlsAction {
    Init(TlsInit),
    Show(TlsShow),
}

/// Issue new server certificates (and a CA if there is none). Restart the server to use them.
#[derive(FromArgs)]
#[argh(subcommand, name = "init")]
pub(crate) struct TlsInit {
    /// kit directory (default: the database's directory)
    #[argh(option)]
    tls_dir: Option<PathBuf>,
    /// an extra host name or address for the server certificate (repeatable)
    #[argh(option)]
    name: Vec<String>,
    /// also replace the CA (every client PC must then install the new ca.cer)
    #[argh(switch)]
    new_ca: bool,
}

/// Print the kit's files, names, fingerprints and expiry dates.
#[derive(FromArgs)]
#[argh(subcommand, name = "show")]
pub(crate) struct TlsShow {
    /// kit directory (default: the database's directory)
    #[argh(option)]
    tls_dir: Option<PathBuf>,
}

pub(crate) fn tls(action: TlsAction) -> Result<(), Box<dyn std::error::Error>> {
    let db = database_path(None, config_for(None)?.as_deref())?;
    // The kit beside the service's database (through the config file): without --tls-dir, a
    // directory with no database is not a server's, and a CA minted there would be one no client
    // trusts (issue 21: `sudo msnpd tls init --name` next to the service made a new CA).
    let dir = |d: Option<PathBuf>| -> Result<PathBuf, Box<dyn std::error::Error>> {
        match d {
            Some(d) => Ok(d),
            None if !db.exists() => Err(format!(
                "no database at {}, so this is not the server's directory; give --config \
                 (the service's file, e.g. /etc/msnpd/msnpd.toml) or --tls-dir",
                db.display()
            )
            .into()),
            None => Ok(msnpd::tls::tls_dir(&msnpd::Config::new(db.clone()))),
        }
    };
    match action {
        TlsAction::Init(i) => {
            let dir = dir(i.tls_dir)?;
            let created =
                msnpd::tls::kit::init(&dir, &msnpd::tls::kit::default_names(&i.name), i.new_ca)
                    .map_err(|e| e.to_string())?;
            let kit = [
                "ca.pem",
                "ca.cer",
                "ca.key",
                "server.pem",
                "server-legacy.pem",
                "server.key",
                "server-ec.pem",
                "server-ec.key",
            ];
            give_to_directory_owner(&kit.map(|f| dir.join(f)));
            if created {
                println!(
                    "created a new CA: install {} on every client PC",
                    dir.join("ca.cer").display()
                );
            }
            print!(
                "{}",
                msnpd::tls::kit::describe(&dir).map_err(|e| e.to_string())?
            );
        }
        TlsAction::Show(s) => {
            print!(
                "{}",
                msnpd::tls::kit::describe(&dir(s.tls_dir)?).map_err(|e| e.to_string())?
            );
        }
    }
    Ok(())
}
