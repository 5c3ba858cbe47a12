//! What a run leaves behind: its reports, rendered from the results, redacted and
//! written atomically, and the summary on the console that says where they went.

use std::path::PathBuf;

use crate::checklist::{self, ChecklistReport};
use crate::evaluation::console;
use crate::giftcard::scorecard::{self as sc, Scorecard};
use crate::redact::Redactor;
use crate::referee::RefereeReport;
use crate::report::{self, junit, RunReport};

use super::super::gate;
use super::super::html_extras::html_extras;
use super::super::stdout::say;
use super::paths::ReportPaths;
use super::RunConfig;

/// Everything a run's reports are rendered from.
pub(super) struct Results<'a> {
    /// The cases and what the run saw.
    pub report: &'a RunReport,
    /// The Final Launch Checklist, when the run has evidence for it.
    pub list: Option<&'a ChecklistReport>,
    /// The referee report that decided the client items, if one was given.
    pub referee: Option<&'a RefereeReport>,
    /// The vendor scorecard, when cases are tagged `vendor:`.
    pub scorecard: Option<Scorecard>,
}

impl<'a> Results<'a> {
    /// The results of a run, with the scorecard evaluated when it applies.
    pub fn new(
        report: &'a RunReport,
        list: Option<&'a ChecklistReport>,
        referee: Option<&'a RefereeReport>,
    ) -> Results<'a> {
        let scorecard = sc::applies(report).then(|| sc::evaluate(report));
        Results {
            report,
            list,
            referee,
            scorecard,
        }
    }
}

/// Renders and writes every report of a run (atomically, redacted), and prints
/// where they went. False when one could not be written.
pub(super) fn write_reports(
    cfg: &RunConfig,
    paths: &ReportPaths,
    results: &Results<'_>,
    redactor: &Redactor,
) -> bool {
    let mut ok = true;
    for (path, text) in render(cfg, paths, results) {
        let text = redactor.redact(&text);
        if let Err(e) = report::write_atomic(&path, report::xml_safe(&text).as_bytes()) {
            eprintln!("launchgate: cannot write {}: {e}", path.display());
            ok = false;
        }
    }
    print_summary(cfg, paths, results, redactor);
    ok
}

/// Every report file of the run, rendered: (where it goes, its text).
fn render(cfg: &RunConfig, paths: &ReportPaths, r: &Results<'_>) -> Vec<(PathBuf, String)> {
    let report = r.report;
    // A shard (--partition) decides nothing on its own: no decision case to merge twice.
    let decision_case = r
        .list
        .filter(|_| cfg.partition.is_none())
        .and_then(|l| gate::decision_case(l, &report.started_at));
    let mut files: Vec<(PathBuf, String)> = vec![
        (
            paths.junit.clone(),
            junit::render_with(report, cfg.junit_profile, decision_case.as_ref()),
        ),
        (
            paths.json.clone(),
            report::json::render_with(report, r.list.map(gate::decision_json)),
        ),
    ];
    if let Some(list) = r.list {
        files.push((paths.checklist.clone(), checklist::render_markdown(list)));
        files.push((paths.checklist_json.clone(), to_json(list)));
    }
    if let Some(s) = &r.scorecard {
        let ev = sc::evaluation(s, report);
        files.push((paths.scorecard.clone(), sc::render_markdown(s, report)));
        files.push((paths.scorecard_json.clone(), to_json(s)));
        files.push((
            paths.scorecard_junit.clone(),
            junit::render_evaluation(&ev, cfg.junit_profile),
        ));
    }
    if let Some(p) = &paths.html {
        let scorecard = r.scorecard.as_ref().map(|s| sc::evaluation(s, report));
        let extras = html_extras(r.referee, scorecard.as_ref());
        files.push((p.clone(), report::html::render(report, r.list, &extras)));
    }
    files
}

fn to_json<T: serde::Serialize>(v: &T) -> String {
    // Plain data with string keys: serialization cannot fail.
    serde_json::to_string_pretty(v).unwrap_or_default()
}

/// The console's summary: the counts, where each report went, the decision, the
/// scorecard's answers.
fn print_summary(cfg: &RunConfig, paths: &ReportPaths, r: &Results<'_>, redactor: &Redactor) {
    say(report::console::summary(r.report));
    say(format_args!(
        "reports: {} (JUnit, {:?}), {} (JSON)",
        paths.junit.display(),
        cfg.junit_profile,
        paths.json.display()
    ));
    match r.list {
        Some(l) => {
            say(redactor.redact(checklist::render_console(l).trim_end()));
            say(format_args!(
                "checklist: {} ({})",
                paths.checklist.display(),
                l.decision.label()
            ));
        }
        None => say("checklist: not written (no case in this run is evidence for the Final Launch Checklist)"),
    }
    if let Some(p) = &paths.html {
        say(format_args!("HTML report: {}", p.display()));
    }
    if let Some(s) = &r.scorecard {
        say("vendor scorecard:");
        // The reasons quote what the target sent: redacted like every report.
        for l in console::lines(&sc::evaluation(s, r.report), "  ") {
            say(redactor.redact(&l));
        }
        say(format_args!(
            "  {} (Markdown), {} (JUnit)",
            paths.scorecard.display(),
            paths.scorecard_junit.display()
        ));
    }
}
