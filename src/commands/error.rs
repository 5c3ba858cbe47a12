//! The commands' one error type, its one mapping to an exit status, and its
//! rendering at the edge: commands return errors, only [`finish`] prints them.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use crate::http::ClientError;
use crate::mock::MockError;
use crate::scenario::Diagnostic;
use crate::target::TargetError;

/// launchgate's exit statuses (documented in README).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Every selected case passed (skips allowed).
    Passed = 0,
    /// At least one case failed or errored.
    Failed = 1,
    /// Usage, configuration or scenario error: nothing was run.
    Usage = 2,
    /// The target never answered: no request got an HTTP response.
    Unreachable = 3,
    /// `--fail-on-skip` and some cases were skipped or inconclusive.
    Skipped = 4,
    /// Interrupted by SIGINT or SIGTERM: the reports were written, with every case
    /// that did not finish reported as errored (128 + SIGINT, as shells report it).
    Interrupted = 130,
}

impl From<Exit> for ExitCode {
    fn from(e: Exit) -> ExitCode {
        ExitCode::from(e as u8)
    }
}

/// A usage or configuration error found before anything ran (exit 2).
#[derive(Debug, thiserror::Error)]
pub enum UsageError {
    /// A flag's value is not acceptable.
    #[error("{flag}: {reason}")]
    Flag {
        /// The flag, as typed (`--webhook-url`).
        flag: &'static str,
        /// What is wrong with its value.
        reason: String,
    },
    /// Flags or inputs that cannot work together, or a value out of its range.
    #[error("{0}")]
    Invalid(String),
    /// The options of an embedded mock are not acceptable.
    #[error(transparent)]
    Mock(#[from] MockError),
    /// Files a command would create exist, and `--force` was not given.
    #[error("{} exist; not overwritten (pass --force to replace them)", list(.0))]
    Exists(Vec<PathBuf>),
    /// An output a command was told to write could not be written: nothing was produced.
    #[error("cannot write {}: {source}", path.display())]
    CannotWrite {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

fn list(paths: &[PathBuf]) -> String {
    let names: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
    names.join(" and ")
}

/// A file a command reads that is missing, unreadable or not what it should be.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    /// The file could not be read.
    #[error("cannot read {}: {source}{hint}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
        /// What to do about it, when there is something to say (starts with a space).
        hint: &'static str,
    },
    /// The file is not the report it should be.
    #[error("{} is not a {what}: {source}", path.display())]
    Parse {
        /// The file.
        path: PathBuf,
        /// What it should be (`referee report`).
        what: &'static str,
        /// What the parser said.
        source: serde_json::Error,
    },
}

/// Why a command stopped without a verdict of its own.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Flags or configuration that cannot work.
    #[error(transparent)]
    Usage(#[from] UsageError),
    /// Scenario files that do not load; each diagnostic names its file, line and column.
    #[error("{} problem{} in {} file{}; nothing was run", .0.len(), plural(.0.len()), files(.0), plural(files(.0)))]
    Scenarios(Vec<Diagnostic>),
    /// The target (its URL, its file, its secrets, its facts) is not usable.
    #[error("target: {0}")]
    Target(#[from] TargetError),
    /// `--referee`: the referee report cannot be read.
    #[error("--referee: {0}")]
    RefereeReport(#[source] InputError),
    /// A report the command reads cannot be read.
    #[error(transparent)]
    Input(#[from] InputError),
    /// `junit merge`: an input is not a JUnit report.
    #[error(transparent)]
    Merge(#[from] crate::report::junit::MergeError),
    /// The async runtime could not be started.
    #[error("cannot start the async runtime: {0}")]
    Runtime(#[source] std::io::Error),
    /// The HTTP client could not be built.
    #[error(transparent)]
    Client(#[from] ClientError),
    /// An embedded server could not start.
    #[error("cannot start the {what}: {source}")]
    Start {
        /// Which (`embedded mock`).
        what: &'static str,
        /// Why.
        source: MockError,
    },
    /// `launchgate mock` could not serve.
    #[error(transparent)]
    Mock(#[from] MockError),
    /// The embedded vendor mock could not start.
    #[error("cannot start the embedded vendor mock: {0}")]
    StartVendor(#[source] crate::giftcard::mock::VendorError),
    /// The webhook receiver could not start.
    #[error("webhook receiver: {0}")]
    Receiver(#[source] crate::receiver::ReceiverError),
    /// A filter that selects none of the planned cases (a typo, most likely).
    #[error("{filter} selects none of the {planned} planned cases; `launchgate run --list` lists their ids")]
    NothingSelected {
        /// The filter flags, as given.
        filter: String,
        /// How many cases were planned.
        planned: usize,
    },
    /// The referee's client could not be started.
    #[error("cannot start `{program}`: {source}")]
    Spawn {
        /// The program.
        program: String,
        /// Why.
        source: std::io::Error,
    },
    /// The referee could not read the mock's journal.
    #[error("{0}")]
    Journal(String),
    /// A report could not be written (exit 1: the command ran, its output is lost).
    #[error("cannot write {}: {source}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The other side never answered (exit 3).
    #[error("{0}")]
    Unreachable(String),
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

fn files(diags: &[Diagnostic]) -> usize {
    let files: std::collections::BTreeSet<_> = diags.iter().map(|d| &d.file).collect();
    files.len()
}

impl Error {
    /// The exit status this error ends the command with: the one mapping.
    pub fn exit(&self) -> Exit {
        match self {
            Error::Write { .. } => Exit::Failed,
            Error::Unreachable(_) => Exit::Unreachable,
            _ => Exit::Usage,
        }
    }

    /// The error as the command prints it on stderr, each line led by `prefix`
    /// (`launchgate doctor`); scenario diagnostics are printed whole before it.
    pub fn render(&self, prefix: &str) -> String {
        match self {
            Error::Scenarios(diags) => {
                let mut out: String = diags.iter().map(|d| format!("{d}\n\n")).collect();
                out.push_str(&format!("{prefix}: {self}\n"));
                out
            }
            Error::Usage(UsageError::Exists(paths)) => paths
                .iter()
                .map(|p| {
                    format!(
                        "{prefix}: {} exists; not overwritten (pass --force to replace it)\n",
                        p.display()
                    )
                })
                .collect(),
            _ => format!("{prefix}: {self}\n"),
        }
    }
}

impl From<Vec<Diagnostic>> for Error {
    fn from(diags: Vec<Diagnostic>) -> Error {
        Error::Scenarios(diags)
    }
}

/// Ends a command: prints its error, if any, and gives the exit status.
pub fn finish(prefix: &str, result: Result<Exit, Error>) -> Exit {
    match result {
        Ok(exit) => exit,
        Err(e) => {
            // stderr may be closed; the exit status still says what happened.
            let _ = std::io::stderr()
                .lock()
                .write_all(e.render(prefix).as_bytes());
            e.exit()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn io() -> std::io::Error {
        std::io::Error::new(std::io::ErrorKind::PermissionDenied, "denied")
    }

    #[test]
    fn one_mapping_to_exit_codes() {
        let write = Error::Write {
            path: "out.xml".into(),
            source: io(),
        };
        assert_eq!(write.exit(), Exit::Failed);
        assert_eq!(
            Error::Unreachable("no answer".into()).exit(),
            Exit::Unreachable
        );
        let usage = Error::from(UsageError::Invalid("bad".into()));
        assert_eq!(usage.exit(), Exit::Usage);
        let cannot_write = Error::from(UsageError::CannotWrite {
            path: "x.md".into(),
            source: io(),
        });
        assert_eq!(cannot_write.exit(), Exit::Usage);
        assert_eq!(Error::Scenarios(Vec::new()).exit(), Exit::Usage);
    }

    #[test]
    fn rendered_with_the_command_prefix_and_diagnostics_whole() {
        let e = Error::from(UsageError::Flag {
            flag: "--webhook-url",
            reason: "not http".into(),
        });
        assert_eq!(
            e.render("launchgate"),
            "launchgate: --webhook-url: not http\n"
        );
        let diags = vec![
            Diagnostic::file(Path::new("a.yaml"), "first"),
            Diagnostic::file(Path::new("a.yaml"), "second"),
        ];
        let text = Error::Scenarios(diags).render("launchgate doctor");
        let summary = "launchgate doctor: 2 problems in 1 file; nothing was run\n";
        assert!(text.ends_with(summary), "{text}");
        assert!(text.find("first") < text.find("second"), "{text}");
        assert!(
            !text.starts_with("launchgate"),
            "diagnostics are not prefixed: {text}"
        );
        let exists = Error::from(UsageError::Exists(vec!["a.yaml".into(), "a.env".into()]));
        assert_eq!(
            exists.render("launchgate init"),
            "launchgate init: a.yaml exists; not overwritten (pass --force to replace it)\n\
             launchgate init: a.env exists; not overwritten (pass --force to replace it)\n"
        );
    }
}
