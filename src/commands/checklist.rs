//! `launchgate checklist`: the Final Launch Checklist re-rendered from a saved run.

use std::path::{Path, PathBuf};

use crate::checklist::{self, ChecklistReport};
use crate::giftcard::scorecard;
use crate::redact::Redactor;
use crate::referee::RefereeReport;
use crate::report::{self, RunReport};

use super::html_extras::html_extras;
use super::stdout;
use super::{decision_exit, load_referee, Error, Exit, GatePolicy, InputError, UsageError};

/// Everything `launchgate checklist` needs.
#[derive(Debug, Clone)]
pub struct ChecklistConfig {
    /// The JSON report of a run.
    pub report: PathBuf,
    /// A referee report deciding the client items.
    pub referee: Option<PathBuf>,
    /// Where the Markdown goes (stdout when `None`).
    pub markdown: Option<PathBuf>,
    /// Where the checklist's JSON goes, if anywhere.
    pub json: Option<PathBuf>,
    /// Where the HTML report goes, if anywhere.
    pub html: Option<PathBuf>,
    /// How the decision maps to the exit status.
    pub policy: GatePolicy,
}

/// `launchgate checklist`: renders the Final Launch Checklist from a saved JSON report
/// and exits by the same rules as the run.
pub fn checklist_from(cfg: ChecklistConfig) -> Result<Exit, Error> {
    let referee = cfg
        .referee
        .as_deref()
        .map(load_referee)
        .transpose()
        .map_err(Error::RefereeReport)?;
    let run = load_run(&cfg.report)?;
    let list = checklist::evaluate_with_referee(&run, &run.key_findings, referee.as_ref());
    let md = checklist::render_markdown(&list);
    match &cfg.markdown {
        Some(p) => write(p, &md)?,
        // `launchgate checklist | head` must not panic on the closed pipe.
        None => stdout::print(&md),
    }
    if let Some(p) = &cfg.json {
        let j = serde_json::to_string_pretty(&list).unwrap_or_default();
        write(p, &report::xml_safe(&j))?;
    }
    if let Some(p) = &cfg.html {
        write(p, &html_page(&run, &list, referee.as_ref()))?;
    }
    if cfg.markdown.is_some() {
        stdout::print(&checklist::render_console(&list));
    }
    Ok(decision_exit(&list, cfg.policy).unwrap_or(Exit::Passed))
}

/// The saved JSON report of a run.
fn load_run(path: &Path) -> Result<RunReport, InputError> {
    let text = std::fs::read_to_string(path).map_err(|source| InputError::Read {
        path: path.to_path_buf(),
        source,
        hint: " (run `launchgate run` first, or pass --report)",
    })?;
    report::json::parse(&text).map_err(|source| InputError::Parse {
        path: path.to_path_buf(),
        what: "launchgate JSON report",
        source,
    })
}

/// The HTML report of the saved run. No keys are known here; key-shaped values are
/// still redacted.
fn html_page(run: &RunReport, list: &ChecklistReport, referee: Option<&RefereeReport>) -> String {
    let scorecard =
        scorecard::applies(run).then(|| scorecard::evaluation(&scorecard::evaluate(run), run));
    let page = report::html::render(run, Some(list), &html_extras(referee, scorecard.as_ref()));
    Redactor::default().redact(&page).into_owned()
}

/// An output the user named could not be written: nothing usable was produced (exit 2).
fn write(path: &Path, text: &str) -> Result<(), UsageError> {
    report::write_atomic(path, text.as_bytes()).map_err(|source| UsageError::CannotWrite {
        path: path.to_path_buf(),
        source,
    })
}
