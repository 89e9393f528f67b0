//! `msnpd status`: checks a server's database, listeners and who is online.

use super::{CliResult, VERSION, config_for, database_path, in_db};
use argh::FromArgs;
use msnpd::storage::Db;
use std::io::Write;
use std::path::PathBuf;

/// Check a server: its database, whether each listener answers, who is online. Exits 1 when
/// something is wrong.
#[derive(FromArgs)]
#[argh(subcommand, name = "status")]
pub(crate) struct Status {
    /// configuration file (default /etc/msnpd/msnpd.toml when it exists); only `db` is read
    #[argh(option)]
    config: Option<PathBuf>,
    /// database file
    #[argh(option)]
    db: Option<PathBuf>,
}

/// A TLS handshake with the server's HTTPS listener (any certificate: this checks that it
/// answers, not whom to trust), closed cleanly.
fn tls_handshake(s: std::net::TcpStream) -> bool {
    use openssl::ssl::{SslConnector, SslMethod, SslVerifyMode};
    let _ = s.set_read_timeout(Some(std::time::Duration::from_secs(3)));
    let _ = s.set_write_timeout(Some(std::time::Duration::from_secs(3)));
    let Ok(mut b) = SslConnector::builder(SslMethod::tls_client()) else {
        return false;
    };
    b.set_verify(SslVerifyMode::NONE);
    let connector = b.build();
    let Ok(config) = connector.configure() else {
        return false;
    };
    match config
        .verify_hostname(false)
        .use_server_name_indication(false)
        .connect("msnpd", s)
    {
        Ok(mut tls) => {
            let _ = tls.shutdown();
            true
        }
        Err(_) => false,
    }
}

pub(crate) fn status(st: Status) -> CliResult {
    let config = config_for(st.config)?;
    let db_path = database_path(st.db, config.as_deref())?;
    let mut problems = Vec::new();
    println!("msnpd {VERSION}");
    if let Some(f) = &config {
        println!("configuration: {}", f.display());
    }
    match Db::open_existing(&db_path) {
        Ok(db) => {
            let version = db.schema_version().unwrap_or(-1);
            let accounts = db.account_count().unwrap_or(-1);
            println!(
                "database: {} (schema {version}, {accounts} accounts)",
                db_path.display()
            );
        }
        Err(e) => {
            if let Err(e) = in_db::<(), _>(&db_path, Err(e)) {
                println!(
                    "database: {}",
                    e.to_string().replace("database error: ", "")
                );
            }
            problems.push("database");
        }
    }
    match msnpd::ops::published(&db_path) {
        None => {
            println!("server: not running on this database");
            problems.push("server");
        }
        Some(p) => {
            println!("server: running (pid {})", p.pid);
            let mut http = None;
            for (what, addr) in &p.listeners {
                let target = msnpd::ops::reachable_form(*addr);
                let connected = std::net::TcpStream::connect_timeout(
                    &target,
                    std::time::Duration::from_secs(3),
                );
                // HTTPS gets a real handshake: a connection closed before its ClientHello is
                // what a client that gives up looks like, and would leave "https handshake
                // failed: unexpected EOF" in the server's log (the line the README blames on a
                // missing CA).
                let answers = match connected {
                    Ok(s) if what == "https" => tls_handshake(s),
                    Ok(_) => true,
                    Err(_) => false,
                };
                println!(
                    "{what} on {addr}: {}",
                    if answers {
                        "answers"
                    } else {
                        "DOES NOT ANSWER"
                    }
                );
                if !answers {
                    problems.push("listener");
                } else if what == "http" {
                    http = Some(target);
                }
            }
            match http.map(|a| msnpd::ops::ask_status(a, &p.token)) {
                Some(Ok(status)) => {
                    println!("online: {}", status.online.len());
                    for h in status.online {
                        println!("  {h}");
                    }
                    println!(
                        "password checks: {} ({:.1} ms CPU in all)",
                        status.password_hashes,
                        status.password_hash_cpu.as_secs_f64() * 1e3
                    );
                }
                Some(Err(e)) => {
                    println!("online: unknown ({e})");
                    problems.push("status");
                }
                None => println!("online: unknown (HTTP listener unreachable)"),
            }
            match &p.public_host {
                None => println!(
                    "public-host: not set (clients are sent to the address they connected to)"
                ),
                Some(h) => {
                    let (line, ok) = msnpd::ops::check_public_host(h);
                    println!("public-host: {line}");
                    if !ok {
                        problems.push("public-host");
                    }
                }
            }
        }
    }
    std::io::stdout().flush()?;
    match problems.len() {
        0 => Ok(()),
        n => Err(format!("{n} problem(s): {}", problems.join(", ")).into()),
    }
}
