//! The `msnpd` command line: parses it (`cli`) and runs the subcommand, one file each under
//! `src/cli/`.

mod cli;

use cli::Command;
use std::process::ExitCode;

fn main() -> ExitCode {
    msnpd::tune_allocator();
    let args: Vec<String> = std::env::args().collect();
    let serving = args.get(1).is_some_and(|a| a == "serve");
    if !serving {
        // A printing command whose reader went away (`msnpd user list | head`) ends quietly, as
        // other Unix tools do, instead of panicking on the failed write. The server keeps
        // ignoring SIGPIPE: its sockets report EPIPE as an error instead.
        // SAFETY: setting a signal's disposition to the default before any thread starts.
        unsafe {
            libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        }
    }
    if matches!(args.get(1).map(String::as_str), Some("--version" | "-V")) {
        println!("msnpd {}", cli::VERSION);
        return ExitCode::SUCCESS;
    }
    let result = cli::parse_command_line(&args).map_err(Into::into).and_then(
        |(cli, config, rest)| match cli.command {
            Command::Serve(s) => cli::serve::serve(s, config, rest),
            command => {
                cli::init_logging(log::LevelFilter::Info);
                match command {
                    Command::User(u) => cli::user::user(u.action),
                    Command::Status(s) => cli::status::status(s),
                    Command::Backup(b) => cli::backup::backup(b),
                    Command::Invite(i) => cli::invite::invite(i.action),
                    Command::Tls(t) => cli::tls::tls(t.action),
                    Command::Check(c) => cli::check::check(c),
                    Command::Serve(_) => unreachable!("handled above"),
                }
            }
        },
    );
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("msnpd: {e}");
            ExitCode::FAILURE
        }
    }
}
