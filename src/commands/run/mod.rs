//! `launchgate run`: load → start → plan → execute → report, one short step each,
//! every step returning the commands' one [`Error`].
//!
//! `--list` needs the plan (a [`Target`] to plan against), never the runner or a
//! server: it plans against the target built without starting anything
//! ([`start::target_unstarted`]), so it starts no mock and no receiver.

mod config;
mod output;
mod paths;
mod signals;
mod start;
mod trials;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Instant;

use crate::checklist::{self, ChecklistReport, KeyFinding};
use crate::plan::{self, PlannedCase, WritePolicy};
use crate::redact::Redactor;
use crate::referee::RefereeReport;
use crate::report::{
    self, Execution, MissingInput, NotApplicableCase, RunReport, SuiteReport, TargetSummary,
};
use crate::runner::{RunOptions, Runner};
use crate::scenario::Suite;
use crate::snapshot;
use crate::target::Target;

use super::builtin::BUILTIN_SNAPSHOTS;
use super::{exit_status, gate, git, load_referee, load_suites_for, runtime};
use super::{Error, Exit, GatePolicy, TargetChoice};
use output::Results;
use paths::ReportPaths;
use start::Started;
use trials::Indexed;

pub use config::{
    fit_retention_probe, retention_vars, Api, EmbeddedMocks, ReceiverConfig, RunConfig,
};

/// `launchgate run`.
pub fn run(cfg: RunConfig) -> Result<Exit, Error> {
    let loaded = load(&cfg)?;
    if cfg.libtest.list {
        // Listing needs the plan, never a server: no mock or receiver starts.
        let target = start::target_unstarted(&cfg, &loaded.suites)?;
        let redactor = Redactor::new(&target.secrets);
        let planned = plan(&cfg, &loaded.suites, &target, &redactor)?;
        trials::list(&cfg.libtest, &planned.selected, &planned.not_applicable);
        return Ok(Exit::Passed);
    }
    let rt = runtime()?;
    let started = start::start(&rt, &cfg, &loaded.suites)?;
    let planned = plan(&cfg, &loaded.suites, &started.target, &started.redactor)?;
    let executed = execute(&rt, &cfg, loaded.suites, started, &planned);
    report(&cfg, loaded.referee.as_ref(), planned, executed)
}

/// What the run reads before anything starts.
struct Loaded {
    suites: Vec<Suite>,
    /// The referee report deciding the checklist's client items (`--referee`).
    referee: Option<RefereeReport>,
}

/// The load step: the referee report and the suites (every diagnostic at once).
fn load(cfg: &RunConfig) -> Result<Loaded, Error> {
    let referee = cfg
        .referee
        .as_deref()
        .map(load_referee)
        .transpose()
        .map_err(Error::RefereeReport)?;
    let suites = load_suites_for(&cfg.paths, cfg.api)?;
    Ok(Loaded { suites, referee })
}

/// What the run will do, and what the reports need to know of the plan.
struct Planned {
    /// The cases that run, in plan order.
    selected: Vec<PlannedCase>,
    /// The selected cases written for another kind of target.
    not_applicable: Vec<NotApplicableCase>,
    /// Inputs the skipped cases lacked, with where to supply them.
    missing_inputs: Vec<MissingInput>,
    /// Key management, from the configuration.
    key_findings: Vec<KeyFinding>,
    /// The target as the reports name it (redacted).
    target: TargetSummary,
}

/// The plan step: which cases run against this target (the shard, the filters),
/// and what the plan knows for the checklist. A filter that selects nothing is a
/// usage error; one that selects only cases for another kind of target is not.
fn plan(
    cfg: &RunConfig,
    suites: &[Suite],
    target: &Target,
    redactor: &Redactor,
) -> Result<Planned, Error> {
    let policy = WritePolicy {
        allow_writes: cfg.allow_writes,
    };
    let mut planned = plan::plan(suites, target, policy);
    let facts = gate::plan_facts(suites, target, &planned.cases);
    let key_findings = gate::key_findings(target, &facts.keys_used, cfg.secrets.as_deref());
    if let Some((k, n)) = cfg.partition {
        planned = planned.partition(k, n);
    }
    let not_applicable = trials::select_not_applicable(&cfg.libtest, planned.not_applicable);
    let planned_count = planned.cases.len();
    let selected = trials::select(&cfg.libtest, planned.cases);
    if selected.is_empty() && not_applicable.is_empty() && trials::filtering(&cfg.libtest) {
        return Err(Error::NothingSelected {
            filter: trials::describe_filter(&cfg.libtest),
            planned: planned_count,
        });
    }
    Ok(Planned {
        selected,
        not_applicable,
        missing_inputs: facts.missing_inputs,
        key_findings,
        target: TargetSummary {
            kind: target.kind.as_str().to_string(),
            name: target.name.clone(),
            base_url: redactor.redact(&target.base_url).into_owned(),
        },
    })
}

/// What the run did.
struct Executed {
    /// One report per selected case, in plan order, grouped by suite.
    suites: Vec<SuiteReport>,
    /// How many cases never reported (and were reported as errored).
    lost: usize,
    runner: Arc<Runner>,
    redactor: Redactor,
    paths: ReportPaths,
    started_at: chrono::DateTime<chrono::Utc>,
    t0: Instant,
}

/// The execute step: the stale reports removed, the cases run as libtest trials
/// (watching for SIGINT/SIGTERM), the embedded server stopped, every case accounted for.
fn execute(
    rt: &tokio::runtime::Runtime,
    cfg: &RunConfig,
    suites: Vec<Suite>,
    mut started: Started,
    planned: &Planned,
) -> Executed {
    let suites = Arc::new(suites);
    let redactor = started.redactor.clone();
    let server = started.server.take();
    let runner = Arc::new(runner(cfg, &suites, started));
    // No report of an earlier run may survive beside this one's.
    let paths = ReportPaths::of(cfg);
    paths.remove_stale();
    signals::watch(rt, &runner);
    let started_at = chrono::Utc::now();
    let t0 = Instant::now();
    let collected = trials::run(rt, &runner, &planned.selected, &cfg.libtest);
    if let Some(s) = server {
        s.stop(rt);
    }
    let (cases, lost) = trials::reconcile(&runner, &planned.selected, collected);
    Executed {
        suites: group(&suites, cases),
        lost,
        runner,
        redactor,
        paths,
        started_at,
        t0,
    }
}

/// The runner of this run's cases against its target.
fn runner(cfg: &RunConfig, suites: &Arc<Vec<Suite>>, started: Started) -> Runner {
    let run_id = format!("lg-{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
    let store = snapshot::Store {
        dir: cfg.snapshots.clone(),
        update: cfg.update_snapshots,
        builtin: BUILTIN_SNAPSHOTS,
    };
    // `--jobs` is the most requests in flight; the durations in the report this run
    // replaces are the schedule's best estimates.
    let options = RunOptions {
        jobs: jobs(cfg),
        ..cfg.run.clone()
    };
    let mut runner = Runner::new(
        started.http,
        started.target,
        suites.clone(),
        started.redactor,
        options,
        store,
        run_id,
    )
    .with_history(crate::runner::history(&cfg.json));
    if let Some(r) = started.receiver {
        runner = runner.with_receiver(r);
    }
    runner.with_run_vars(retention_vars(cfg.retention_probe))
}

/// Requests in flight: `--jobs`, else more against a real target, where each request
/// waits on the network (a key's advertised budget still caps it), than against
/// the embedded mock, which answers in microseconds.
pub(super) fn jobs(cfg: &RunConfig) -> usize {
    cfg.libtest.test_threads.unwrap_or(match cfg.target {
        TargetChoice::Url(_) | TargetChoice::File(_) => 8,
        _ => cfg.run.jobs,
    })
}

/// The report step: the run's report, the checklist it evidences, every report
/// written, and the exit status the launch gate gives.
fn report(
    cfg: &RunConfig,
    referee: Option<&RefereeReport>,
    planned: Planned,
    mut executed: Executed,
) -> Result<Exit, Error> {
    let selected = planned.selected.len();
    let mut report = assemble(cfg, planned, &mut executed);
    report.execution = Some(execution(&report, &executed.runner));
    let list = checklist_of(&report, referee);
    let results = Results::new(&report, list.as_ref(), referee);
    let written = output::write_reports(cfg, &executed.paths, &results, &executed.redactor);
    if let Some(why) = executed.runner.interrupted() {
        eprintln!("launchgate: interrupted by {why}; the reports list every case, those that did not finish as errored");
        return Ok(Exit::Interrupted);
    }
    let policy = GatePolicy {
        fail_on_skip: cfg.fail_on_skip,
        allow_incomplete: cfg.allow_incomplete,
    };
    let exit = exit_status(&report, list.as_ref(), policy, !written);
    // The last line of defence: a run never passes with fewer cases than it planned.
    let reported = report.totals().total;
    if executed.lost > 0 || reported != selected {
        eprintln!(
            "launchgate: {selected} planned cases, {reported} reported ({} lost and reported as errored); the run fails",
            executed.lost
        );
        if exit == Exit::Passed || exit == Exit::Skipped {
            return Ok(Exit::Failed);
        }
    }
    Ok(exit)
}

/// The Final Launch Checklist speaks of the Agent API: only a run with cases tagged
/// for it (or a referee report) has anything to say there.
fn checklist_of(report: &RunReport, referee: Option<&RefereeReport>) -> Option<ChecklistReport> {
    let evidence = report.cases().any(|c| !c.checklist.is_empty()) || referee.is_some();
    evidence.then(|| checklist::evaluate_with_referee(report, &report.key_findings, referee))
}

/// The run's report: the cases by suite, and only the missing inputs of cases that ran.
fn assemble(cfg: &RunConfig, planned: Planned, executed: &mut Executed) -> RunReport {
    let suites = std::mem::take(&mut executed.suites);
    let ran: BTreeSet<&str> = suites
        .iter()
        .flat_map(|s| s.cases.iter().map(|c| c.id.as_str()))
        .collect();
    let mut missing_inputs = planned.missing_inputs;
    for m in &mut missing_inputs {
        m.cases.retain(|c| ran.contains(c.as_str()));
    }
    missing_inputs.retain(|m| !m.cases.is_empty());
    let (sent, received) = executed.runner.counters();
    RunReport {
        version: env!("CARGO_PKG_VERSION").to_string(),
        target: planned.target,
        hostname: hostname(),
        started_at: executed
            .started_at
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        duration_ms: executed.t0.elapsed().as_millis() as u64,
        requests_sent: sent,
        responses_received: received,
        deadline_hit: executed.runner.deadline_hit(),
        suites,
        not_applicable: planned.not_applicable,
        key_findings: planned.key_findings,
        scenarios_commit: git::scenarios_commit(&cfg.paths),
        missing_inputs,
        execution: None,
    }
}

/// How the run used its time (also said on the console, in one line).
fn execution(report: &RunReport, runner: &Runner) -> Execution {
    let e = Execution {
        jobs: runner.jobs(),
        peak_in_flight: runner.peak_in_flight(),
        waited: report.waiting(),
        connections: runner.connections(),
    };
    eprintln!("{}", report::console::execution_line(report, &e));
    e
}

/// Case reports in plan order, grouped into their suites.
fn group(suites: &[Suite], cases: Vec<Indexed>) -> Vec<SuiteReport> {
    let mut out: Vec<SuiteReport> = Vec::new();
    for (si, _, case) in cases {
        let suite = &suites[si];
        match out.last_mut() {
            Some(last) if last.name == suite.name => last.cases.push(case),
            _ => out.push(SuiteReport {
                name: suite.name.clone(),
                file: suite.path.display().to_string(),
                cases: vec![case],
            }),
        }
    }
    out
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "localhost".into())
}
