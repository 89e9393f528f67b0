//! `msnpd tls init|show`: the HTTPS certificate kit.

use super::{config_for, database_path};
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
    let dir =
        |d: Option<PathBuf>| d.unwrap_or_else(|| msnpd::tls::tls_dir(&msnpd::Config::new(db)));
    match action {
        TlsAction::Init(i) => {
            let dir = dir(i.tls_dir);
            let created =
                msnpd::tls::kit::init(&dir, &msnpd::tls::kit::default_names(&i.name), i.new_ca)
                    .map_err(|e| e.to_string())?;
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
                msnpd::tls::kit::describe(&dir(s.tls_dir)).map_err(|e| e.to_string())?
            );
        }
    }
    Ok(())
}
