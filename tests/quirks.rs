//! Detection self-test: for every quirk of the mock, the built-in suite run
//! against the mock with that quirk on fails the case that targets it. This is
//! how we know the suite catches what it claims. (The faithful mock passing
//! everything is `cli::default_run_passes_the_builtin_suite_against_the_mock`.)

use launchgate::mock::Quirk;
use serde_json::Value;

use crate::common::reports;

/// The cases the quirks must make fail (by id); most quirks target one of these.
const WALK: &str =
    "agent-api.lists::walking every page adds up to the total, and last_page is the last non-empty page";
const RATE_LIMIT_429: &str =
    "agent-api.rate-limit::rate limit exceeded gives 429 with Retry-After, then recovers";
const RATE_LIMIT_HEADERS: &str =
    "agent-api.rate-limit::rate-limit headers on a successful response";
const INVALID_KEY: &str = "agent-api.auth::invalid key is refused with AUTH_INVALID_KEY";

fn run(extra: &[&str]) -> (i32, Value) {
    let dir = tempfile::tempdir().unwrap();
    let ran = reports::run_in(dir.path())
        .arg("-q")
        .reports(&[
            ("--checklist", "checklist.md"),
            ("--snapshots", "no-snapshots-here"),
        ])
        .args(extra)
        .output();
    let report = serde_json::from_str(&ran.text("report.json")).unwrap();
    (ran.out.code, report)
}

fn outcome<'a>(report: &'a Value, id: &str) -> &'a str {
    reports::case(report, id)["outcome"].as_str().unwrap()
}

/// The suite run with quirk `q` on fails (exit 1), and fails the case `target`.
fn check(q: Quirk, target: &str) {
    let (code, report) = run(&["--mock-quirk", q.name()]);
    assert_eq!(code, 1, "{}: the suite must fail", q.name());
    assert_eq!(
        outcome(&report, target),
        "failed",
        "{} must fail `{target}`",
        q.name()
    );
}

/// One test per row (`test name => quirk: the case it must fail`), and a check that
/// every quirk of the mock has a row.
macro_rules! quirk_tests {
    ($($name:ident => $q:expr, $target:expr;)*) => {
        $(#[test] fn $name() { check($q, $target); })*

        #[test]
        fn every_quirk_has_a_detection_test() {
            let tested = [$($q),*];
            for q in Quirk::ALL {
                assert!(tested.contains(q), "quirk {} has no detection test", q.name());
            }
        }
    };
}

quirk_tests! {
    no_ratelimit_headers => Quirk::NoRatelimitHeaders, RATE_LIMIT_HEADERS;
    no_retry_after => Quirk::NoRetryAfter, RATE_LIMIT_429;
    foreign_id_403 => Quirk::ForeignId403,
        "agent-api.not-found::another tenant's card gives NOT_FOUND, not 403";
    scope_not_enforced => Quirk::ScopeNotEnforced,
        "agent-api.scopes::read-only partner key cannot purchase";
    role_not_enforced => Quirk::RoleNotEnforced,
        "agent-api.roles::member key on a partner route is refused";
    invalid_key_403 => Quirk::InvalidKey403, INVALID_KEY;
    disabled_partner_allowed => Quirk::DisabledPartnerAllowed,
        "agent-api.access::partner without Agent API permission gets FEATURE_DISABLED";
    overdraft_allowed => Quirk::OverdraftAllowed,
        "agent-api.balance::partner redeem above the balance gives INSUFFICIENT_POINTS";
    wrong_retry_strategy => Quirk::WrongRetryStrategy, RATE_LIMIT_429;
    reset_in_milliseconds => Quirk::ResetInMilliseconds, RATE_LIMIT_HEADERS;
    no_envelope_on_errors => Quirk::NoEnvelopeOnErrors, INVALID_KEY;
    // The docs' form without last_page is accepted (with a warning); only the pinned shape differs.
    no_last_page => Quirk::NoLastPage, "agent-api.snapshots::card list shape";
    per_page_not_clamped => Quirk::PerPageNotClamped,
        "agent-api.lists::per_page above 100 is clamped to 100";
    ratelimit_headers_on_401 => Quirk::RatelimitHeadersOn401, INVALID_KEY;
    no_rate_limit => Quirk::NoRateLimit, RATE_LIMIT_429;
    last_page_floor => Quirk::LastPageFloor, WALK;
    to_date_exclusive => Quirk::ToDateExclusive,
        "agent-api.lists::transactions filter by from and to dates (Y-m-d, inclusive)";
}

#[test]
fn last_page_floor_fails_where_the_server_claims_fewer_pages_than_it_has() {
    let (_, report) = run(&[
        "--mock-quirk",
        "last-page-floor",
        "-k",
        "walking every page",
    ]);
    assert_eq!(outcome(&report, WALK), "failed");
    let failure = report.to_string();
    // 34 transactions up to yesterday, 10 per page: 4 pages walked, last_page claims 3.
    assert!(
        failure.contains("expected every element to be 4, got element [0] = 3"),
        "{failure}"
    );
    assert!(failure.contains("page last_page is the last non-empty page"));
}

#[test]
fn the_walk_accepts_the_documented_form_without_last_page() {
    let (_, report) = run(&["--mock-quirk", "no-last-page", "-k", "walking every page"]);
    assert_eq!(outcome(&report, WALK), "passed");
}

#[test]
fn no_last_page_is_accepted_with_a_warning() {
    let (_, report) = run(&["--mock-quirk", "no-last-page", "-k", "lists default to 25"]);
    let id = "agent-api.lists::lists default to 25 per page";
    assert_eq!(outcome(&report, id), "passed");
    let text = report.to_string();
    assert!(
        text.contains("warning: $.pagination.last_page"),
        "says which form was seen"
    );
}

#[test]
fn feature_flag_off_fails_the_feature_flag_case() {
    let (code, report) = run(&["--mock-feature-off"]);
    assert_eq!(code, 1);
    assert_eq!(
        outcome(
            &report,
            "agent-api.access::feature flag is on (the Agent API answers with its envelope)"
        ),
        "failed"
    );
}
