//! Shared by the integration tests: the real `launchgate` binary with a clean
//! environment (every test that starts the binary, directly or through a shell
//! or script, starts it from here), the standalone mock process, raw-TCP servers
//! that misbehave on purpose, and readers for the reports a run writes.

pub mod mock;
pub mod reports;
pub mod standalone;
pub mod tcp;

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The path of the real `launchgate` binary cargo built for these tests (nextest
/// sets the variable at run time too, so an archived suite finds its copy).
pub fn bin_path() -> PathBuf {
    std::env::var_os("CARGO_BIN_EXE_launchgate").map_or_else(
        || PathBuf::from(env!("CARGO_BIN_EXE_launchgate")),
        PathBuf::from,
    )
}

/// Removes the developer's ambient `LAUNCHGATE_*` variables: a test must see only
/// the inputs it sets.
pub fn clean_env(c: &mut Command) -> &mut Command {
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("LAUNCHGATE_") {
            c.env_remove(k);
        }
    }
    c
}

/// Any program, with the environment cleaned as for the binary: a shell, script
/// or installer that starts `launchgate` (or the installed copy of it).
pub fn command(program: impl AsRef<OsStr>) -> Command {
    let mut c = Command::new(program);
    clean_env(&mut c);
    c
}

/// The binary as a process to spawn (pipes, signals, background servers).
pub fn process() -> Command {
    command(bin_path())
}

/// The binary run to completion, with assert_cmd's `timeout` and `output`.
pub fn bin() -> assert_cmd::Command {
    assert_cmd::Command::from_std(process())
}

/// A finished process's exit code (-1 when a signal ended it) and output as text.
#[derive(Debug)]
pub struct Out {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Out {
    pub fn of(o: &std::process::Output) -> Out {
        Out {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }

    /// stdout then stderr.
    pub fn all(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }
}

/// The repository root (for files the tests read: scenarios, docs, examples).
pub fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Writes `text` to `dir/name` and returns the path.
pub fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}
