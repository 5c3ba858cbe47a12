//! The Final Launch Checklist report: verdict logic and a pinned Markdown format.

use std::collections::BTreeMap;

use launchgate::checklist::{self, Decision, Verdict};
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
    assert_eq!(item("separate-keys").verdict, Verdict::Manual);
    let rl = r
        .required_tests
        .iter()
        .find(|t| t.name == "rate limit exceeded")
        .unwrap();
    assert_eq!(rl.verdict, Verdict::NotVerified);
    assert!(!r.mock_target);
}

#[test]
fn all_passing_but_unproven_items_is_go_with_open_items() {
    let mut run = staging_run();
    for c in &mut run.suites[0].cases {
        c.outcome = Outcome::Passed;
        c.failure = None;
        c.reason = None;
    }
    let r = checklist::evaluate(&run, &[]);
    assert_eq!(r.decision, Decision::GoWithOpenItems);
    // Error branches need all seven required tests, and this run lacks some.
    let eb = r.items.iter().find(|i| i.id == "error-branches").unwrap();
    assert_eq!(eb.verdict, Verdict::NotVerified);
}

#[test]
fn shared_keys_and_partner_keys_for_members_are_findings() {
    let mut keys = BTreeMap::new();
    let k = format!("rl_agent_{}", "a".repeat(40));
    keys.insert("partner".to_string(), k.clone());
    keys.insert("prod_partner".to_string(), k.clone());
    keys.insert("member".to_string(), format!("rl_agent_{}", "b".repeat(40)));
    keys.insert("integration".to_string(), k.clone());
    let f = checklist::key_findings(&keys, Some("member"));
    assert!(
        f.iter()
            .any(|x| x.item == "separate-keys" && x.problem.contains("two environments")),
        "{f:?}"
    );
    assert!(
        f.iter().any(|x| x.item == "partner-keys-server-side"),
        "{f:?}"
    );
    assert!(f.iter().any(|x| x.item == "key-type"), "{f:?}");
    assert!(
        f.iter().all(|x| !x.problem.contains(&k)),
        "findings name keys, never show them"
    );
    let r = checklist::evaluate(&staging_run(), &f);
    assert_eq!(
        r.items
            .iter()
            .find(|i| i.id == "separate-keys")
            .unwrap()
            .verdict,
        Verdict::Failed
    );
    assert_eq!(
        r.items.iter().find(|i| i.id == "key-type").unwrap().verdict,
        Verdict::Failed
    );
}

#[test]
fn markdown_format_is_pinned() {
    let r = checklist::evaluate(&staging_run(), &[]);
    insta::assert_snapshot!("checklist_staging", checklist::render_markdown(&r));
    let mock = checklist::evaluate(&report("mock", vec![]), &[]);
    let md = checklist::render_markdown(&mock);
    assert!(md.contains("Not a launch decision"), "{md}");
}
