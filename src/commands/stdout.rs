//! Standard output that a closed pipe cannot break.
//!
//! `launchgate run | grep -q ok` closes the pipe after the first match. `println!`
//! then panics ("failed printing to stdout"), and so does libtest-mimic's console
//! printer, which unwraps every write: the run died with exit 101 before writing a
//! single report. Everything launchgate prints during a run therefore goes through
//! [`say`] (which ignores a closed pipe), and libtest-mimic's printer writes into a
//! pipe of launchgate's own ([`Forward`]), drained by a thread that copies to stdout
//! as long as stdout takes it and discards the rest, so every case still runs and
//! every report is still written.

use std::io::{IsTerminal, Read, Write};
use std::thread::JoinHandle;

/// Prints a line to stdout; a closed or broken stdout is ignored.
pub fn say(line: impl std::fmt::Display) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

/// Prints text as it is (no newline added); a closed or broken stdout is ignored.
pub fn print(text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes());
    let _ = out.flush();
}

/// A pipe standing in for stdout, drained to the real stdout by a thread.
pub struct Forward {
    writer: std::io::PipeWriter,
    thread: JoinHandle<()>,
}

impl Forward {
    /// A forwarder when stdout is not a terminal (a pipe or a file: where a reader can
    /// go away); `None` on a terminal, where output goes straight to it.
    pub fn start() -> Option<Forward> {
        // The pipe is handed to libtest-mimic by path (`/dev/fd/N`): Unix only.
        if !cfg!(unix) || std::io::stdout().is_terminal() {
            return None;
        }
        let (mut reader, writer) = std::io::pipe().ok()?;
        let thread = std::thread::spawn(move || {
            let mut buf = [0u8; 8192];
            let mut open = true;
            loop {
                match reader.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) if open => {
                        let mut out = std::io::stdout().lock();
                        open = out.write_all(&buf[..n]).and_then(|()| out.flush()).is_ok();
                    }
                    Ok(_) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(_) => break,
                }
            }
        });
        let forward = Forward { writer, thread };
        // libtest-mimic panics if it cannot open its logfile: make sure it can.
        if std::fs::OpenOptions::new()
            .write(true)
            .open(forward.path())
            .is_err()
        {
            forward.finish();
            return None;
        }
        Some(forward)
    }

    /// A path that opens the pipe for writing (libtest-mimic's `--logfile`).
    pub fn path(&self) -> String {
        #[cfg(unix)]
        {
            use std::os::fd::AsRawFd;
            format!("/dev/fd/{}", self.writer.as_raw_fd())
        }
        #[cfg(not(unix))]
        String::new()
    }

    /// Closes launchgate's end and waits until everything written was forwarded
    /// (the other writers must be closed already).
    pub fn finish(self) {
        drop(self.writer);
        let _ = self.thread.join();
    }
}
