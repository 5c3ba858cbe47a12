//! The run's cases as libtest trials: which the filters select (by libtest's own
//! matching rules), listing them, running them (console output, `--jobs`), and
//! making sure every selected case is reported exactly once.

use std::collections::HashMap;
use std::sync::Arc;

use libtest_mimic::{Arguments, Trial};

use crate::plan::PlannedCase;
use crate::report::{CaseReport, NotApplicableCase};
use crate::runner::Runner;

use super::super::stdout;

/// A case's report with its (suite, case) index in the loaded suites.
pub(super) type Indexed = (usize, usize, CaseReport);

/// Whether `-k`/`--skip`/`--exact` leave this id out, matched as libtest matches trials.
fn filtered_out(args: &Arguments, id: &str) -> bool {
    args.is_filtered_out(&Trial::test(id.to_string(), || Ok(())))
}

/// The planned cases the filters keep.
pub(super) fn select(args: &Arguments, planned: Vec<PlannedCase>) -> Vec<PlannedCase> {
    planned
        .into_iter()
        .filter(|pc| !filtered_out(args, &pc.id))
        .collect()
}

/// The not-applicable cases the filters keep, so a filtered run does not list
/// unrelated cases.
pub(super) fn select_not_applicable(
    args: &Arguments,
    cases: Vec<NotApplicableCase>,
) -> Vec<NotApplicableCase> {
    cases
        .into_iter()
        .filter(|c| !filtered_out(args, &c.id))
        .collect()
}

/// Whether a filter was given at all (a filter that selects nothing is a typo).
pub(super) fn filtering(args: &Arguments) -> bool {
    args.filter.is_some() || !args.skip.is_empty()
}

/// `-k "x" --skip "y"`, for messages.
pub(super) fn describe_filter(args: &Arguments) -> String {
    let mut parts = Vec::new();
    if let Some(f) = &args.filter {
        parts.push(format!("-k `{f}`"));
    }
    for s in &args.skip {
        parts.push(format!("--skip `{s}`"));
    }
    if args.exact {
        parts.push("--exact".into());
    }
    parts.join(" ")
}

/// `--list`: libtest's list of the selected cases on stdout; the cases left out
/// for another kind of target are named on stderr. Nothing runs.
pub(super) fn list(
    args: &Arguments,
    selected: &[PlannedCase],
    not_applicable: &[NotApplicableCase],
) {
    let trials = selected
        .iter()
        .map(|pc| Trial::test(pc.id.clone(), || Ok(())))
        .collect();
    libtest(args, trials);
    for c in not_applicable {
        eprintln!("not applicable to this target: {} — {}", c.id, c.reason);
    }
}

/// Runs the selected cases (the runner's scheduler owns the concurrency: `--jobs`
/// requests in flight, longest chain first) and prints them as libtest trials;
/// collects their reports.
pub(super) fn run(
    rt: &tokio::runtime::Runtime,
    runner: &Arc<Runner>,
    selected: &[PlannedCase],
    args: &Arguments,
) -> Vec<Indexed> {
    with_stdout(args, |args| {
        crate::runner::trials::run(rt, runner, selected, args)
    })
}

/// libtest over these trials.
fn libtest(args: &Arguments, trials: Vec<Trial>) {
    with_stdout(args, |args| {
        let _conclusion = libtest_mimic::run(args, trials);
    });
}

/// Runs `f` with libtest's arguments for this run. libtest-mimic unwraps its writes
/// to stdout: it writes into a pipe of ours that a closed stdout cannot break (see
/// `stdout`); a logfile asked for (`RunConfig::libtest`) is used as it is.
fn with_stdout<R>(args: &Arguments, f: impl FnOnce(&Arguments) -> R) -> R {
    let forward = args
        .logfile
        .is_none()
        .then(stdout::Forward::start)
        .flatten();
    // The selection is made already (see `select`); libtest must not filter again.
    let args = Arguments {
        filter: None,
        skip: Vec::new(),
        exact: false,
        logfile: args
            .logfile
            .clone()
            .or_else(|| forward.as_ref().map(stdout::Forward::path)),
        ..args.clone()
    };
    let out = f(&args);
    if let Some(f) = forward {
        f.finish();
    }
    out
}

/// Exactly one report per selected case, in plan order: a case that never reported
/// (whatever the reason) is reported as errored, never dropped. Returns how many were lost.
pub(super) fn reconcile(
    runner: &Runner,
    selected: &[PlannedCase],
    collected: Vec<Indexed>,
) -> (Vec<Indexed>, usize) {
    let mut by_index: HashMap<(usize, usize), CaseReport> = HashMap::new();
    for (s, c, r) in collected {
        by_index.entry((s, c)).or_insert(r);
    }
    let mut lost = 0;
    let mut out: Vec<Indexed> = selected
        .iter()
        .map(|pc| {
            let report = by_index.remove(&(pc.suite, pc.case)).unwrap_or_else(|| {
                lost += 1;
                runner.errored_report(
                    pc,
                    "launchgate lost this case: it was planned but never reported (a bug in launchgate; please report it)",
                )
            });
            (pc.suite, pc.case, report)
        })
        .collect();
    out.sort_by_key(|(s, c, _)| (*s, *c));
    (out, lost)
}
