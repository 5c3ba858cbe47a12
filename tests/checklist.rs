//! The Final Launch Checklist report: verdict logic and a pinned Markdown format.

use std::collections::{BTreeMap, BTreeSet};

use launchgate::checklist::{self, Decision, KeySource, Level, Verdict};
use launchgate::report::{
    CaseReport, FailureReport, Outcome, RunReport, SuiteReport, TargetSummary,
};

fn case(id: &str, outcome: Outcome, tags: &[&str]) -> CaseReport {
    let (suite, name) = id.split_once("::").unwrap();
    CaseReport {
        id: id.into(),
        name: name.into(),
        file: format!("scenarios/{}.yaml", suite.replace('.', "/")),
        line: 10,
        outcome,
        reason: outcome
            .is_skip()
            .then(|| "missing key `ratelimit` (set LAUNCHGATE_RATELIMIT_KEY)".to_string()),
        failure: outcome.is_failure().then(|| FailureReport {
            step: "GET /partner/cards/x".into(),
            location: "scenarios/agent-api/not-found.yaml:40:13".into(),
            message: "$.code: expected \"NOT_FOUND\", got \"FORBIDDEN\"".into(),
            details: vec![],
            request: "GET https://staging.example.com/api/agent/v1/partner/cards/x".into(),
            response: None,
        }),
        checklist: tags.iter().map(|t| t.to_string()).collect(),
        vendor: Vec::new(),
        started_at: "2026-11-25T10:00:00.000Z".into(),
        duration_ms: 12,
        waits: Vec::new(),
        steps: vec![],
    }
}

fn report(kind: &str, cases: Vec<CaseReport>) -> RunReport {
    RunReport {
        version: "0.1.0".into(),
        target: TargetSummary {
            kind: kind.into(),
            name: "staging".into(),
            base_url: "https://staging.example.com".into(),
        },
        hostname: "ci".into(),
        started_at: "2026-11-25T10:00:00.000Z".into(),
        duration_ms: 1234,
        requests_sent: 10,
        responses_received: 10,
        deadline_hit: false,
        suites: vec![SuiteReport {
            name: "agent-api".into(),
            file: "scenarios/agent-api".into(),
            cases,
        }],
        not_applicable: vec![],
        key_findings: vec![],
        scenarios_commit: None,
        execution: None,
        missing_inputs: vec![],
    }
}

fn staging_run() -> RunReport {
    report(
        "remote",
        vec![
            case("agent-api.access::feature flag is on (the Agent API answers with its envelope)", Outcome::Passed, &["feature-flag"]),
            case("agent-api.access::partner without Agent API permission gets FEATURE_DISABLED", Outcome::Passed, &["error-branches", "partner-permission"]),
            case("agent-api.auth::invalid key is refused with AUTH_INVALID_KEY", Outcome::Passed, &["error-branches"]),
            case("agent-api.not-found::another tenant's card gives NOT_FOUND, not 403", Outcome::Failed, &["error-branches"]),
            case("agent-api.rate-limit::rate limit exceeded gives 429 with Retry-After, then recovers", Outcome::Skipped, &["error-branches"]),
            case("agent-api.keys::scopes minimized (the key holds only the scopes the integration needs)", Outcome::Passed, &["scopes-minimized"]),
        ],
    )
}

#[test]
fn a_failed_case_makes_its_item_fail_and_the_decision_no_go() {
    let r = checklist::evaluate(&staging_run(), &[]);
    assert_eq!(r.decision, Decision::NoGo);
    let item = |id: &str| r.items.iter().find(|i| i.id == id).unwrap();
    assert_eq!(item("error-branches").verdict, Verdict::Failed);
    assert_eq!(item("feature-flag").verdict, Verdict::Verified);
    assert_eq!(
        item("key-type").verdict,
        Verdict::NotVerified,
        "no case ran for it"
    );
    assert_eq!(
        item("retry-logic").verdict,
        Verdict::NotVerified,
        "client items need the referee"
    );
    assert_eq!(
        item("separate-keys").verdict,
        Verdict::NotVerified,
        "no key findings given: nothing was compared"
    );
    let rl = r
        .required_tests
        .iter()
        .find(|t| t.name == "rate limit exceeded")
        .unwrap();
    assert_eq!(rl.verdict, Verdict::NotVerified);
    assert!(!r.mock_target);
}

#[test]
fn all_passing_but_unproven_items_is_incomplete_not_go() {
    let mut run = staging_run();
    for c in &mut run.suites[0].cases {
        c.outcome = Outcome::Passed;
        c.failure = None;
        c.reason = None;
    }
    let r = checklist::evaluate(&run, &[]);
    assert_eq!(r.decision, Decision::Incomplete);
    // Error branches need all seven required tests, and this run lacks some.
    let eb = r.items.iter().find(|i| i.id == "error-branches").unwrap();
    assert_eq!(eb.verdict, Verdict::NotVerified);
    assert!(
        r.decision_why
            .iter()
            .any(|w| w.contains("required launch-time test `wrong scope` not verified")),
        "{:?}",
        r.decision_why
    );
}

/// A referee report in which the client passed every verdict.
fn passing_referee() -> launchgate::referee::RefereeReport {
    let judgements: Vec<serde_json::Value> = [
        "retry-logic",
        "reconcile-by-reference",
        "notes",
        "pagination",
        "rate-limit-handling",
    ]
    .iter()
    .map(|id| serde_json::json!({"item": id, "title": id, "verdict": "pass", "summary": "ok", "evidence": []}))
    .collect();
    serde_json::from_value(serde_json::json!({
        "version": "0.1.0", "started_at": "2026-11-25T09:00:00Z", "command": "client",
        "exit_status": 0, "requests": 100, "journal_lost_entries": false, "judgements": judgements,
    }))
    .unwrap()
}

fn evaluate_refereed(
    run: &RunReport,
    findings: &[checklist::KeyFinding],
) -> checklist::ChecklistReport {
    checklist::evaluate_with_referee(run, findings, Some(&passing_referee()))
}

/// Every built-in case the checklist counts, passed; key checks held; the client refereed.
fn complete_run() -> (RunReport, Vec<checklist::KeyFinding>) {
    let mut cases: Vec<CaseReport> = checklist::required_case_ids()
        .map(|id| case(id, Outcome::Passed, &["error-branches"]))
        .collect();
    for (id, tag) in [
        ("agent-api.access::flag", "feature-flag"),
        ("agent-api.access::permission", "partner-permission"),
        ("agent-api.keys::role", "key-type"),
        ("agent-api.keys::scopes", "scopes-minimized"),
    ] {
        cases.push(case(id, Outcome::Passed, &[tag]));
    }
    let mut keys = BTreeMap::new();
    keys.insert(
        "partner".to_string(),
        format!("rl_agent_{}", "a".repeat(40)),
    );
    keys.insert(
        "member".to_string(),
        format!("rl_member_{}", "b".repeat(40)),
    );
    let used: BTreeSet<String> = keys.keys().cloned().collect();
    let mut findings = checklist::key_findings(&keys, Some("partner"), &used);
    findings.extend(checklist::secret_store_finding(
        &KeySource::Environment {
            secrets_file: None,
            tracked_by_git: false,
        },
        2,
    ));
    (report("remote", cases), findings)
}

#[test]
fn go_needs_every_required_test_and_checkable_item_and_no_failure() {
    let (run, findings) = complete_run();
    let r = evaluate_refereed(&run, &findings);
    assert_eq!(r.decision, Decision::Go, "{:?}", r.decision_why);
    assert!(r.items.iter().all(|i| i.verdict == Verdict::Verified));
    // What only a person can confirm is listed for sign-off, and does not hold GO back.
    let sign_off: Vec<_> = r.items.iter().filter_map(|i| i.sign_off.as_ref()).collect();
    assert_eq!(sign_off.len(), 3, "{sign_off:?}");

    // One case outside every item fails: NO-GO, naming it.
    let mut bad = run.clone();
    let mut stray = case(
        "agent-api.lists::per_page above 100 is clamped to 100",
        Outcome::Failed,
        &[],
    );
    stray.checklist.clear();
    bad.suites[0].cases.push(stray);
    let r = evaluate_refereed(&bad, &findings);
    assert_eq!(r.decision, Decision::NoGo);
    assert!(
        r.decision_why
            .iter()
            .any(|w| w.contains("per_page above 100")),
        "{:?}",
        r.decision_why
    );

    // A required test skipped for want of a key: INCOMPLETE, naming the variable.
    let mut open = run.clone();
    let id = "agent-api.rate-limit::rate limit exceeded gives 429 with Retry-After, then recovers";
    let c = open.suites[0]
        .cases
        .iter_mut()
        .find(|c| c.id == id)
        .unwrap();
    c.outcome = Outcome::Skipped;
    c.reason = Some("missing key `ratelimit` (set LAUNCHGATE_RATELIMIT_KEY)".into());
    open.missing_inputs.push(launchgate::report::MissingInput {
        input: "key `ratelimit`".into(),
        supply: "LAUNCHGATE_RATELIMIT_KEY".into(),
        cases: vec![id.into()],
    });
    let r = evaluate_refereed(&open, &findings);
    assert_eq!(r.decision, Decision::Incomplete);
    assert_eq!(
        r.to_supply,
        vec!["LAUNCHGATE_RATELIMIT_KEY (key `ratelimit`)".to_string()]
    );

    // The same case does not apply to this target (mock-only): it is not counted at all,
    // so the required test has no evidence and is still not verified (never passed).
    let mut na = run.clone();
    na.not_applicable.push(not_applicable(id));
    let r = evaluate_refereed(&na, &findings);
    let rl = r
        .required_tests
        .iter()
        .find(|t| t.name == "rate limit exceeded")
        .unwrap();
    assert!(rl.evidence.is_empty());
    assert_eq!(r.decision, Decision::Incomplete);
}

#[test]
fn mock_only_cases_do_not_hold_an_item_back() {
    let (mut run, findings) = complete_run();
    let mut mock_only = case(
        "agent-api.snapshots::health shape",
        Outcome::Skipped,
        &["feature-flag"],
    );
    mock_only.reason = Some("runs only against the embedded mock".into());
    run.not_applicable.push(not_applicable(&mock_only.id));
    run.suites[0].cases.push(mock_only);
    let r = evaluate_refereed(&run, &findings);
    assert_eq!(r.decision, Decision::Go, "{:?}", r.decision_why);
}

#[test]
fn aliases_are_notes_and_only_keys_with_purposes_are_compared() {
    let k = format!("rl_agent_{}", "a".repeat(40));
    let mut keys = BTreeMap::new();
    keys.insert("partner".to_string(), k.clone());
    keys.insert("pos".to_string(), k.clone()); // a second name no case uses
    keys.insert("integration".to_string(), k.clone());
    let used: BTreeSet<String> = ["partner".to_string()].into();
    let f = checklist::key_findings(&keys, Some("partner"), &used);
    assert!(f.iter().all(|x| x.level != Level::Fail), "{f:?}");
    assert!(
        f.iter()
            .any(|x| x.level == Level::Note && x.problem.contains("alias")),
        "{f:?}"
    );
    let (run, mut findings) = complete_run();
    findings.extend(f);
    let r = evaluate_refereed(&run, &findings);
    assert_eq!(r.decision, Decision::Go, "{:?}", r.decision_why);
    assert_eq!(r.notes.len(), 1, "{:?}", r.notes);

    // Both names used by cases: one key, two purposes: failed, NO-GO.
    let used: BTreeSet<String> = ["partner".to_string(), "pos".to_string()].into();
    let f = checklist::key_findings(&keys, Some("partner"), &used);
    assert!(
        f.iter()
            .any(|x| x.level == Level::Fail && x.problem.contains("two purposes")),
        "{f:?}"
    );
}

#[test]
fn a_committed_secrets_file_fails_keys_in_secret_store() {
    let f = checklist::secret_store_finding(
        &KeySource::Environment {
            secrets_file: Some("staging.env".into()),
            tracked_by_git: true,
        },
        3,
    )
    .unwrap();
    assert_eq!(f.level, Level::Fail);
    let (run, mut findings) = complete_run();
    findings.push(f);
    let r = evaluate_refereed(&run, &findings);
    assert_eq!(r.decision, Decision::NoGo);
}

#[test]
fn markdown_format_is_pinned() {
    let r = checklist::evaluate(&staging_run(), &[]);
    insta::assert_snapshot!("checklist_staging", checklist::render_markdown(&r));
    let mock = checklist::evaluate(&report("mock", vec![]), &[]);
    let md = checklist::render_markdown(&mock);
    assert!(md.contains("Not a launch decision"), "{md}");
}

#[test]
fn passes_from_a_client_run_that_did_not_end_cleanly_verify_nothing() {
    let (run, findings) = complete_run();
    let mut referee = passing_referee();
    referee.client_problem = Some("the client exited with status 1".into());
    let r = checklist::evaluate_with_referee(&run, &findings, Some(&referee));
    assert_ne!(r.decision, Decision::Go, "{:?}", r.decision_why);
    let retry = r.items.iter().find(|i| i.id == "retry-logic").unwrap();
    assert_eq!(retry.verdict, Verdict::NotVerified);
    assert!(
        retry.summary.contains("exited with status 1"),
        "{}",
        retry.summary
    );
}

/// A case left out of the run because it does not apply to the target's kind.
fn not_applicable(id: &str) -> launchgate::report::NotApplicableCase {
    launchgate::report::NotApplicableCase {
        id: id.into(),
        file: "scenarios/agent-api/x.yaml".into(),
        line: 1,
        reason: "runs only against the embedded mock".into(),
    }
}
