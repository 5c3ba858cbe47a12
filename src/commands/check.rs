//! `launchgate check`: validates scenario files without running them.

use std::path::PathBuf;

use super::stdout::say;
use super::{load_suites, Error, Exit};

/// `launchgate check`: loads every file (every built-in suite when `paths` is
/// empty) and reports every problem, or how many cases the files hold.
pub fn check(paths: &[PathBuf]) -> Result<Exit, Error> {
    let suites = load_suites(paths)?;
    let cases: usize = suites.iter().map(|s| s.spec.cases.len()).sum();
    say(format_args!(
        "launchgate: {} file{} OK, {cases} cases",
        suites.len(),
        if suites.len() == 1 { "" } else { "s" }
    ));
    Ok(Exit::Passed)
}
