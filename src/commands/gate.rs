//! The launch gate: what the plan tells the checklist (missing inputs, cases that do
//! not apply, the keys the run uses), the key-management findings, and the exit
//! status that follows the launch decision.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use crate::checklist::{self, ChecklistReport, Decision, KeyFinding, KeySource};
use crate::evaluation::{Evaluation, Row, Seen, Vocabulary};
use crate::plan::{self, PlannedCase};
use crate::report::{MissingInput, RunReport};
use crate::scenario::Suite;
use crate::target::{Kind, Target};

use super::Exit;

/// What the plan knows that the reports need, as data.
#[derive(Debug, Default)]
pub(crate) struct PlanFacts {
    /// Inputs the cases lacked, with where to supply them.
    pub missing_inputs: Vec<MissingInput>,
    /// Key names the applicable cases use (`integration` resolved to its real name).
    pub keys_used: BTreeSet<String>,
}

/// Reads the plan: for every skipped case, what it lacked; which keys the run uses.
pub(crate) fn plan_facts(suites: &[Suite], target: &Target, planned: &[PlannedCase]) -> PlanFacts {
    let mut facts = PlanFacts::default();
    let mut missing: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    let integration = target
        .facts
        .get("integration_key")
        .and_then(|v| v.as_str())
        .unwrap_or("partner")
        .to_string();
    for pc in planned {
        let suite = &suites[pc.suite];
        let case = &suite.spec.cases[pc.case].value;
        if !plan::applies(case, target) {
            continue;
        }
        for k in plan::keys_used(case, suite) {
            let k = if k == "integration" {
                integration.clone()
            } else {
                k
            };
            facts.keys_used.insert(k);
        }
        if pc.skip.is_none() {
            continue;
        }
        let lacks = plan::missing_inputs(case, suite, target);
        if lacks.is_empty()
            && target.kind == Kind::Remote
            && case.steps.iter().any(|s| s.value.writes)
        {
            missing
                .entry((
                    "permission to write to the target".into(),
                    "--allow-writes".into(),
                ))
                .or_default()
                .push(pc.id.clone());
        }
        for m in lacks {
            missing
                .entry((format!("{} `{}`", m.kind, m.name), m.supply))
                .or_default()
                .push(pc.id.clone());
        }
    }
    facts.missing_inputs = missing
        .into_iter()
        .map(|((input, supply), cases)| MissingInput {
            input,
            supply,
            cases,
        })
        .collect();
    facts
}

/// Every key-management finding of a run: key separation, key types, and where the keys came from.
pub(crate) fn key_findings(
    target: &Target,
    keys_used: &BTreeSet<String>,
    secrets_file: Option<&Path>,
) -> Vec<KeyFinding> {
    let mut out = checklist::key_findings(
        &target.inputs.keys,
        target.facts.get("role").and_then(|r| r.as_str()),
        keys_used,
    );
    let source = match target.kind {
        Kind::Mock => KeySource::Mock,
        Kind::Remote => KeySource::Environment {
            secrets_file: secrets_file.map(|p| p.display().to_string()),
            tracked_by_git: secrets_file.is_some_and(super::git::tracked_by_git),
        },
    };
    let real_keys = target
        .inputs
        .keys
        .keys()
        .filter(|k| *k != "integration")
        .count();
    out.extend(checklist::secret_store_finding(&source, real_keys));
    out
}

/// How a finished run (or a re-rendered checklist) may end.
#[derive(Debug, Clone, Copy, Default)]
pub struct GatePolicy {
    /// `--fail-on-skip`: any skipped or inconclusive case exits 4.
    pub fail_on_skip: bool,
    /// `--allow-incomplete`: an INCOMPLETE decision against a real target exits 0.
    pub allow_incomplete: bool,
}

/// The exit status of a finished run. The launch decision, when there is one, has the
/// last word over the case counts: NO-GO exits 1 even when every case passed (a failing
/// referee report), and INCOMPLETE against a real target exits 4 unless allowed.
pub fn exit_status(
    report: &RunReport,
    decision: Option<&ChecklistReport>,
    policy: GatePolicy,
    write_failed: bool,
) -> Exit {
    let t = report.totals();
    if report.requests_sent > 0 && report.responses_received == 0 && t.passed == 0 {
        eprintln!(
            "launchgate: the target never answered ({} requests sent, no HTTP response)",
            report.requests_sent
        );
        return Exit::Unreachable;
    }
    if t.failed + t.errored > 0 || write_failed {
        return Exit::Failed;
    }
    if let Some(exit) = decision.and_then(|d| decision_exit(d, policy)) {
        return exit;
    }
    // Cases that do not apply to the target (`report.not_applicable`) are not
    // counted: they are not skips. A run where nothing applied proved nothing.
    if policy.fail_on_skip && t.total == 0 {
        eprintln!(
            "launchgate: --fail-on-skip: no case ran ({} selected cases do not apply to this target)",
            report.not_applicable.len()
        );
        return Exit::Skipped;
    }
    if policy.fail_on_skip && t.skipped + t.inconclusive > 0 {
        eprintln!(
            "launchgate: --fail-on-skip: {} cases were skipped or inconclusive",
            t.skipped + t.inconclusive
        );
        return Exit::Skipped;
    }
    Exit::Passed
}

/// The exit a decision forces, if any: 1 for NO-GO; 4 for INCOMPLETE against a real
/// target without `--allow-incomplete`.
pub fn decision_exit(list: &ChecklistReport, policy: GatePolicy) -> Option<Exit> {
    match list.decision {
        Decision::NoGo => Some(Exit::Failed),
        Decision::Incomplete if !list.mock_target && !policy.allow_incomplete => {
            eprintln!(
                "launchgate: the launch decision is INCOMPLETE (exit 4, inconclusive); pass --allow-incomplete to accept a partial run"
            );
            Some(Exit::Skipped)
        }
        _ => None,
    }
}

/// The decision as a JUnit test case, so CI consumers show what the exit code says:
/// passed for GO, skipped for INCOMPLETE, failed for NO-GO (class name
/// `launchgate.checklist`, the console's decision block as its text). Against the
/// embedded mock (where the decision decides nothing) only a NO-GO is shown.
pub fn decision_case(list: &ChecklistReport, started_at: &str) -> Option<Evaluation> {
    if list.mock_target && list.decision != Decision::NoGo {
        return None;
    }
    let first = list.decision_why.first().map(String::as_str);
    let mut why = first
        .unwrap_or("every required launch-time test and every checkable item is verified, and nothing failed")
        .to_string();
    if list.mock_target {
        why.push_str(" (not a launch decision: this run used launchgate's embedded mock)");
    }
    let mut row = Row::new("", "launch decision", list.decision.state(), why);
    let text = checklist::render_console(list);
    row.seen = text.lines().map(Seen::line).collect();
    row.seen
        .push(Seen::line("(the Final Launch Checklist has the evidence)"));
    let mut ev = Evaluation::new(Vocabulary::Decision, "launchgate.checklist", "Decision");
    ev.started_at = started_at.to_string();
    ev.properties = vec![("launchgate.decision".into(), list.decision.label().into())];
    ev.rows.push(row);
    Some(ev)
}

/// The decision as the run's JSON report carries it (`launch_decision`).
pub(crate) fn decision_json(list: &ChecklistReport) -> (&'static str, serde_json::Value) {
    (
        "launch_decision",
        serde_json::json!({
            "decision": list.decision,
            "label": list.decision.label(),
            "launch_decision": !list.mock_target,
            "why": list.decision_why,
            "to_supply": list.to_supply,
        }),
    )
}
