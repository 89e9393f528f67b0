//! Reading a password from the terminal without echo.
//!
//! Echo is switched off before the prompt is shown, so nothing typed after the prompt can ever
//! appear on screen (prompting first and then switching echo off, as password crates do, leaves a
//! moment in which a fast typist or a script is echoed).

use std::io::{BufRead, BufReader, Write};
use std::os::fd::AsRawFd;

/// Restores the terminal's settings when dropped, also on an error.
struct Restore<'a> {
    tty: &'a std::fs::File,
    saved: libc::termios,
}

impl Drop for Restore<'_> {
    fn drop(&mut self) {
        // SAFETY: `saved` came from tcgetattr on this open descriptor.
        unsafe {
            libc::tcsetattr(self.tty.as_raw_fd(), libc::TCSANOW, &self.saved);
        }
    }
}

/// Shows `prompt` on the controlling terminal and reads one line from it without echo.
pub fn prompt_hidden(prompt: &str) -> std::io::Result<String> {
    let tty = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/tty")?;
    let fd = tty.as_raw_fd();
    // SAFETY: termios is plain data; tcgetattr fills it from an open descriptor.
    let mut term: libc::termios = unsafe { std::mem::zeroed() };
    if unsafe { libc::tcgetattr(fd, &mut term) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    let restore = Restore {
        tty: &tty,
        saved: term,
    };
    term.c_lflag &= !libc::ECHO;
    // Still echo the newline, so the next output starts on its own line.
    term.c_lflag |= libc::ECHONL;
    // SAFETY: as above; TCSAFLUSH also drops anything typed before the prompt.
    if unsafe { libc::tcsetattr(fd, libc::TCSAFLUSH, &term) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    (&tty).write_all(prompt.as_bytes())?;
    (&tty).flush()?;
    let mut line = String::new();
    BufReader::new(&tty).read_line(&mut line)?;
    drop(restore);
    Ok(line.trim_end_matches(['\r', '\n']).to_string())
}
