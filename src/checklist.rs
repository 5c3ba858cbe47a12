//! The Final Launch Checklist of the Agent API Production Checklist, as data.
//!
//! Scenario cases tag themselves with the ids below (`checklist: [error-branches]`);
//! the checklist report maps each item to the cases that are its evidence.

/// One item of the Final Launch Checklist.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Item {
    /// Feature flag enabled in the correct environment.
    FeatureFlag,
    /// Partner Agent API permission enabled where required.
    PartnerPermission,
    /// Correct key type chosen.
    KeyType,
    /// Scopes minimized and verified via /health.
    ScopesMinimized,
    /// Retry logic implemented.
    RetryLogic,
    /// Non-idempotent purchase and redemption flows reconciled by external reference.
    ReconcileByReference,
    /// Notes populated with external identifiers where supported.
    Notes,
    /// Pagination implemented.
    Pagination,
    /// Rate-limit handling implemented.
    RateLimitHandling,
    /// Error branches tested.
    ErrorBranches,
    /// Separate keys per environment (Key Management).
    SeparateKeys,
    /// Keys stored in environment variables or a secrets manager (Key Management).
    KeysInSecretStore,
    /// Partner keys kept server-side only (Key Management).
    PartnerKeysServerSide,
}

/// Who can prove an item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Evidence {
    /// Scenarios against the target prove it.
    Scenarios,
    /// Only a referee run of the integration's client proves it.
    Referee,
    /// Partly machine-checkable, but a human must confirm it.
    Manual,
}

impl Item {
    /// Every item, in the checklist's order.
    pub const ALL: [Item; 13] = [
        Item::FeatureFlag,
        Item::PartnerPermission,
        Item::KeyType,
        Item::ScopesMinimized,
        Item::RetryLogic,
        Item::ReconcileByReference,
        Item::Notes,
        Item::Pagination,
        Item::RateLimitHandling,
        Item::ErrorBranches,
        Item::SeparateKeys,
        Item::KeysInSecretStore,
        Item::PartnerKeysServerSide,
    ];

    /// The id used in scenario `checklist:` tags.
    pub fn id(self) -> &'static str {
        match self {
            Item::FeatureFlag => "feature-flag",
            Item::PartnerPermission => "partner-permission",
            Item::KeyType => "key-type",
            Item::ScopesMinimized => "scopes-minimized",
            Item::RetryLogic => "retry-logic",
            Item::ReconcileByReference => "reconcile-by-reference",
            Item::Notes => "notes",
            Item::Pagination => "pagination",
            Item::RateLimitHandling => "rate-limit-handling",
            Item::ErrorBranches => "error-branches",
            Item::SeparateKeys => "separate-keys",
            Item::KeysInSecretStore => "keys-in-secret-store",
            Item::PartnerKeysServerSide => "partner-keys-server-side",
        }
    }

    /// The item's wording in the seed.
    pub fn title(self) -> &'static str {
        match self {
            Item::FeatureFlag => "Feature flag enabled in the correct environment",
            Item::PartnerPermission => "Partner Agent API permission enabled where required",
            Item::KeyType => "Correct key type chosen",
            Item::ScopesMinimized => "Scopes minimized and verified via /health",
            Item::RetryLogic => "Retry logic implemented",
            Item::ReconcileByReference => {
                "Non-idempotent purchase and redemption flows reconciled by external reference"
            }
            Item::Notes => "Notes populated with external identifiers where supported",
            Item::Pagination => "Pagination implemented",
            Item::RateLimitHandling => "Rate-limit handling implemented",
            Item::ErrorBranches => "Error branches tested",
            Item::SeparateKeys => "Separate keys per environment",
            Item::KeysInSecretStore => "Keys stored in environment variables or a secrets manager",
            Item::PartnerKeysServerSide => "Partner keys kept server-side only",
        }
    }

    /// Who can prove it.
    pub fn evidence(self) -> Evidence {
        match self {
            Item::FeatureFlag
            | Item::PartnerPermission
            | Item::KeyType
            | Item::ScopesMinimized
            | Item::ErrorBranches => Evidence::Scenarios,
            Item::RetryLogic
            | Item::ReconcileByReference
            | Item::Notes
            | Item::Pagination
            | Item::RateLimitHandling => Evidence::Referee,
            Item::SeparateKeys | Item::KeysInSecretStore | Item::PartnerKeysServerSide => {
                Evidence::Manual
            }
        }
    }

    /// Looks an item up by its id.
    pub fn from_id(id: &str) -> Option<Item> {
        Item::ALL.into_iter().find(|i| i.id() == id)
    }

    /// All ids, in order.
    pub fn ids() -> impl Iterator<Item = &'static str> {
        Item::ALL.into_iter().map(Item::id)
    }
}

// ---------------------------------------------------------------------------
// Evaluation: from a run's results to a verdict per item and a decision.

use serde::{Deserialize, Serialize};

use crate::report::{CaseReport, Outcome, RunReport};

/// What the evidence says about one item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Every case that is evidence for it ran and passed.
    Verified,
    /// At least one case that is evidence for it failed.
    Failed,
    /// No evidence yet: cases were skipped, inconclusive, or not run.
    NotVerified,
    /// A human must confirm it.
    Manual,
}

impl Verdict {
    /// How the verdict reads in the report.
    pub fn label(self) -> &'static str {
        match self {
            Verdict::Verified => "✅ verified",
            Verdict::Failed => "❌ failed",
            Verdict::NotVerified => "⚠️ not verified",
            Verdict::Manual => "👤 manual",
        }
    }
}

/// The launch decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// Every item verified.
    Go,
    /// Nothing failed, but some items are not verified or need a human.
    GoWithOpenItems,
    /// At least one item failed.
    NoGo,
}

impl Decision {
    /// `GO`, `GO with open items`, `NO-GO`.
    pub fn label(self) -> &'static str {
        match self {
            Decision::Go => "GO",
            Decision::GoWithOpenItems => "GO with open items",
            Decision::NoGo => "NO-GO",
        }
    }
}

/// A case cited as evidence.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CaseRef {
    /// `suite::name`.
    pub id: String,
    /// How it ended.
    pub outcome: Outcome,
    /// Why it was skipped or failed, in one line.
    pub why: Option<String>,
}

/// One checklist item's result.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ItemResult {
    /// The item's id.
    pub id: String,
    /// The item's wording.
    pub title: String,
    /// The verdict.
    pub verdict: Verdict,
    /// One sentence: why this verdict.
    pub summary: String,
    /// What to run, supply or confirm to close it (for open items).
    pub todo: Option<String>,
    /// The cases that are its evidence.
    pub evidence: Vec<CaseRef>,
}

/// One of the seven required launch-time tests of the Production Checklist.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RequiredTest {
    /// Its name in the seed.
    pub name: String,
    /// Verified when its cases passed (for "points or balance", either one).
    pub verdict: Verdict,
    /// The cases.
    pub evidence: Vec<CaseRef>,
}

/// A key-management problem found in the target's configuration (names only, never values).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct KeyFinding {
    /// The checklist item it concerns.
    pub item: String,
    /// What is wrong, naming keys by name.
    pub problem: String,
}

/// The whole checklist report.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ChecklistReport {
    /// The decision.
    pub decision: Decision,
    /// True when the run used the embedded mock: the verdicts then describe the mock, not an environment.
    pub mock_target: bool,
    /// `kind name (base_url)`.
    pub target: String,
    /// When the run started.
    pub run_started_at: String,
    /// launchgate's version.
    pub version: String,
    /// Case counts, one line.
    pub totals: String,
    /// The 13 items.
    pub items: Vec<ItemResult>,
    /// The seven required launch-time tests.
    pub required_tests: Vec<RequiredTest>,
}

/// The seven required launch-time tests and the built-in cases that prove each.
/// `any` = one passing case is enough (the seed's "insufficient points *or* balance").
const REQUIRED: &[(&str, bool, &[&str])] = &[
    (
        "invalid key",
        false,
        &["agent-api.auth::invalid key is refused with AUTH_INVALID_KEY"],
    ),
    (
        "wrong scope",
        false,
        &["agent-api.scopes::read-only partner key cannot purchase"],
    ),
    (
        "wrong role",
        false,
        &[
            "agent-api.roles::member key on a partner route is refused",
            "agent-api.roles::partner key on a member route is refused",
        ],
    ),
    (
        "resource not found",
        false,
        &[
            "agent-api.not-found::unknown card id gives NOT_FOUND",
            "agent-api.not-found::another tenant's card gives NOT_FOUND, not 403",
        ],
    ),
    (
        "insufficient points or balance",
        true,
        &[
            "agent-api.balance::partner redeem above the balance gives INSUFFICIENT_POINTS",
            "agent-api.balance::member claim above the balance gives INSUFFICIENT_BALANCE",
        ],
    ),
    (
        "rate limit exceeded",
        false,
        &["agent-api.rate-limit::rate limit exceeded gives 429 with Retry-After, then recovers"],
    ),
    (
        "partner Agent API disabled",
        false,
        &["agent-api.access::partner without Agent API permission gets FEATURE_DISABLED"],
    ),
];

fn case_ref(c: &CaseReport) -> CaseRef {
    let why = match c.outcome {
        Outcome::Passed => None,
        Outcome::Skipped | Outcome::Inconclusive => c.reason.clone(),
        Outcome::Failed | Outcome::Errored => c
            .failure
            .as_ref()
            .map(|f| format!("{} ({})", f.message, f.location)),
    };
    CaseRef {
        id: c.id.clone(),
        outcome: c.outcome,
        why,
    }
}

/// Verified / failed / not verified from a set of cases (`any`: one pass suffices).
fn verdict_of(cases: &[&CaseReport], any: bool) -> Verdict {
    if cases.is_empty() {
        return Verdict::NotVerified;
    }
    if cases.iter().any(|c| c.outcome.is_failure()) {
        return Verdict::Failed;
    }
    let passed = cases
        .iter()
        .filter(|c| c.outcome == Outcome::Passed)
        .count();
    if (any && passed > 0) || passed == cases.len() {
        Verdict::Verified
    } else {
        Verdict::NotVerified
    }
}

const REFEREE_TODO: &str = "only the integration's own client can prove this: run `launchgate referee -- <your client command>`, then pass its report with `--referee target/launchgate/referee.json`";

/// Evaluates the checklist from a run's results and the key findings of its target.
pub fn evaluate(report: &RunReport, key_findings: &[KeyFinding]) -> ChecklistReport {
    evaluate_with_referee(report, key_findings, None)
}

/// Like [`evaluate`], with a referee run of the integration's client deciding the client items.
pub fn evaluate_with_referee(
    report: &RunReport,
    key_findings: &[KeyFinding],
    referee: Option<&crate::referee::RefereeReport>,
) -> ChecklistReport {
    let cases: Vec<&CaseReport> = report.cases().collect();
    let mock_target = report.target.kind == "mock";
    let mut items = Vec::new();
    for item in Item::ALL {
        let tagged: Vec<&CaseReport> = cases
            .iter()
            .copied()
            .filter(|c| c.checklist.iter().any(|t| t == item.id()))
            .collect();
        let evidence: Vec<CaseRef> = tagged.iter().map(|c| case_ref(c)).collect();
        let findings: Vec<&KeyFinding> = key_findings
            .iter()
            .filter(|f| f.item == item.id())
            .collect();
        let (verdict, summary, todo) = match item.evidence() {
            Evidence::Scenarios => {
                let v = verdict_of(&tagged, false);
                let passed = tagged
                    .iter()
                    .filter(|c| c.outcome == Outcome::Passed)
                    .count();
                let summary = match v {
                    Verdict::Verified => format!("{passed} of {} cases passed", tagged.len()),
                    Verdict::Failed => format!(
                        "{} of {} cases failed",
                        tagged.iter().filter(|c| c.outcome.is_failure()).count(),
                        tagged.len()
                    ),
                    _ if tagged.is_empty() => "no case for this item was in the run".to_string(),
                    _ => format!(
                        "{passed} of {} cases passed; the others did not run",
                        tagged.len()
                    ),
                };
                let todo = (v == Verdict::NotVerified).then(|| {
                    "supply the missing keys or fixtures named in the evidence (or pass --allow-writes), then run the built-in suite against the environment".to_string()
                });
                (v, summary, todo)
            }
            Evidence::Referee => {
                match referee.and_then(|r| r.judgements.iter().find(|j| j.item == item.id())) {
                    Some(j) => referee_verdict(j),
                    None => (
                        Verdict::NotVerified,
                        "a property of the integration's client, not of the API".to_string(),
                        Some(REFEREE_TODO.to_string()),
                    ),
                }
            }
            Evidence::Manual => {
                if let Some(f) = findings.first() {
                    (Verdict::Failed, f.problem.clone(), Some("use a distinct key for each environment and role; rotate the exposed key".to_string()))
                } else {
                    let (summary, todo) = manual_text(item);
                    (Verdict::Manual, summary.to_string(), Some(todo.to_string()))
                }
            }
        };
        // A key finding also fails a scenario-proven item (e.g. a partner key where a member key fits).
        let (verdict, summary) = match (findings.first(), item.evidence()) {
            (Some(f), Evidence::Scenarios) => (Verdict::Failed, f.problem.clone()),
            _ => (verdict, summary),
        };
        // The referee saw the client use a key of the wrong role.
        let referee_key_fail = referee.and_then(|r| {
            r.judgements
                .iter()
                .find(|j| j.item == item.id() && j.verdict == crate::referee::ClientVerdict::Fail)
        });
        let (verdict, summary) = match (referee_key_fail, item.evidence()) {
            (Some(j), Evidence::Scenarios) => (Verdict::Failed, format!("referee: {}", j.summary)),
            _ => (verdict, summary),
        };
        items.push(ItemResult {
            id: item.id().to_string(),
            title: item.title().to_string(),
            verdict,
            summary,
            todo,
            evidence,
        });
    }
    let required_tests = REQUIRED
        .iter()
        .map(|(name, any, ids)| {
            let found: Vec<&CaseReport> = cases
                .iter()
                .copied()
                .filter(|c| ids.contains(&c.id.as_str()))
                .collect();
            RequiredTest {
                name: name.to_string(),
                verdict: verdict_of(&found, *any),
                evidence: found.iter().map(|c| case_ref(c)).collect(),
            }
        })
        .collect::<Vec<_>>();
    // Error branches are tested only when all seven required tests are.
    if let Some(eb) = items.iter_mut().find(|i| i.id == Item::ErrorBranches.id()) {
        if eb.verdict == Verdict::Verified
            && required_tests
                .iter()
                .any(|r| r.verdict != Verdict::Verified)
        {
            eb.verdict = Verdict::NotVerified;
            eb.summary = "some of the seven required launch-time tests did not run".into();
            eb.todo = Some("see \"Required launch-time tests\" below".into());
        }
    }
    let decision = if items.iter().any(|i| i.verdict == Verdict::Failed) {
        Decision::NoGo
    } else if items.iter().all(|i| i.verdict == Verdict::Verified) {
        Decision::Go
    } else {
        Decision::GoWithOpenItems
    };
    let t = report.totals();
    ChecklistReport {
        decision,
        mock_target,
        target: format!(
            "{} `{}` ({})",
            report.target.kind, report.target.name, report.target.base_url
        ),
        run_started_at: report.started_at.clone(),
        version: report.version.clone(),
        totals: format!(
            "{} cases: {} passed, {} failed, {} errored, {} skipped, {} inconclusive",
            t.total, t.passed, t.failed, t.errored, t.skipped, t.inconclusive
        ),
        items,
        required_tests,
    }
}

fn referee_verdict(j: &crate::referee::Judgement) -> (Verdict, String, Option<String>) {
    use crate::referee::ClientVerdict;
    match j.verdict {
        ClientVerdict::Pass => (Verdict::Verified, format!("referee: {}", j.summary), None),
        ClientVerdict::Fail => (
            Verdict::Failed,
            format!("referee: {}", j.summary),
            Some(format!("fix the client; the referee's evidence: {}", j.evidence.first().cloned().unwrap_or_default())),
        ),
        ClientVerdict::NotExercised => (
            Verdict::NotVerified,
            "referee: the client never met this situation".to_string(),
            Some("run the referee longer, or with more faults (--fail-rate, --drop-after-commit, --rate-limit), so the client meets it".to_string()),
        ),
    }
}

fn manual_text(item: Item) -> (&'static str, &'static str) {
    match item {
        Item::SeparateKeys => (
            "no two configured keys share a value (launchgate compares them; a `LAUNCHGATE_PROD_*_KEY` variable is compared too)",
            "confirm that local, staging and production each have their own keys, and each integration surface its own",
        ),
        Item::KeysInSecretStore => (
            "launchgate read every key from the environment or a secrets file; it cannot see how production stores them",
            "confirm production keys live in environment variables or a secrets manager, never in code or config files",
        ),
        Item::PartnerKeysServerSide => (
            "no partner key is configured where a member key fits",
            "confirm partner keys are used only server-side: never in browser code or mobile apps",
        ),
        _ => ("", ""),
    }
}

/// Finds key-management problems in a target's keys, by name only.
///
/// - the same value under two names (`prod_partner` and `partner`: one key for two environments);
/// - a partner or admin key under a member name, or as the integration key of a member integration.
pub fn key_findings(
    keys: &std::collections::BTreeMap<String, String>,
    role: Option<&str>,
) -> Vec<KeyFinding> {
    let mut out = Vec::new();
    let names: Vec<(&String, &String)> = keys
        .iter()
        .filter(|(n, _)| n.as_str() != "integration")
        .collect();
    for (i, (a, va)) in names.iter().enumerate() {
        for (b, vb) in &names[i + 1..] {
            if va == vb {
                let envs = a.starts_with("prod") || b.starts_with("prod");
                out.push(KeyFinding {
                    item: Item::SeparateKeys.id().into(),
                    problem: if envs {
                        format!("keys `{a}` and `{b}` are the same key: one key serves two environments")
                    } else {
                        format!("keys `{a}` and `{b}` are the same key: one key serves two purposes")
                    },
                });
            }
        }
    }
    for (name, value) in &names {
        if name.starts_with("member")
            && (value.starts_with("rl_agent_") || value.starts_with("rl_admin_"))
        {
            out.push(KeyFinding {
                item: Item::PartnerKeysServerSide.id().into(),
                problem: format!("key `{name}` is meant for member wallet operations but holds a partner or admin key"),
            });
        }
    }
    if role == Some("member") {
        if let Some(v) = keys.get("integration") {
            if !v.starts_with("rl_member_") {
                out.push(KeyFinding {
                    item: Item::KeyType.id().into(),
                    problem: "the integration's role is `member`, but its key is not a member key"
                        .into(),
                });
            }
        }
    }
    out
}

/// Renders the report as Markdown, readable in a pull-request comment.
pub fn render_markdown(r: &ChecklistReport) -> String {
    use std::fmt::Write as _;
    let esc = |s: &str| s.replace('|', "\\|").replace('\n', " ");
    let mut s = String::new();
    let _ = writeln!(s, "# Final Launch Checklist: {}\n", r.decision.label());
    if r.mock_target {
        let _ = writeln!(
            s,
            "> **Not a launch decision.** This run used launchgate's embedded mock, so the verdicts describe the mock. Run against the environment you are launching (`launchgate run --target ...`) for a decision.\n"
        );
    }
    let failed = r
        .items
        .iter()
        .filter(|i| i.verdict == Verdict::Failed)
        .count();
    let open = r
        .items
        .iter()
        .filter(|i| matches!(i.verdict, Verdict::NotVerified | Verdict::Manual))
        .count();
    let verified = r
        .items
        .iter()
        .filter(|i| i.verdict == Verdict::Verified)
        .count();
    let _ = writeln!(
        s,
        "**Decision: {}** ({verified} verified, {failed} failed, {open} open of {} items)  ",
        r.decision.label(),
        r.items.len()
    );
    let _ = writeln!(
        s,
        "Target: {} · run started {} · launchgate {}  ",
        r.target, r.run_started_at, r.version
    );
    let _ = writeln!(s, "{}\n", r.totals);
    let _ = writeln!(s, "| # | Item | Verdict | Why |");
    let _ = writeln!(s, "|---|---|---|---|");
    for (n, i) in r.items.iter().enumerate() {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} |",
            n + 1,
            esc(&i.title),
            i.verdict.label(),
            esc(&i.summary)
        );
    }
    let _ = writeln!(s, "\n## Required launch-time tests\n");
    let _ = writeln!(s, "| Test | Verdict | Cases |");
    let _ = writeln!(s, "|---|---|---|");
    for t in &r.required_tests {
        let cases: Vec<String> = t
            .evidence
            .iter()
            .map(|c| format!("`{}` {}", esc(&c.id), c.outcome.as_str()))
            .collect();
        let cases = if cases.is_empty() {
            "not in this run".to_string()
        } else {
            cases.join("<br>")
        };
        let _ = writeln!(s, "| {} | {} | {} |", t.name, t.verdict.label(), cases);
    }
    let open_items: Vec<&ItemResult> = r
        .items
        .iter()
        .filter(|i| i.verdict != Verdict::Verified)
        .collect();
    if !open_items.is_empty() {
        let _ = writeln!(s, "\n## What is left\n");
        for i in open_items {
            let _ = writeln!(
                s,
                "- **{}** ({}): {}",
                i.title,
                i.verdict.label(),
                i.summary
            );
            if let Some(t) = &i.todo {
                let _ = writeln!(s, "  - To close it: {t}");
            }
            for c in i.evidence.iter().filter(|c| c.outcome != Outcome::Passed) {
                let _ = writeln!(
                    s,
                    "  - `{}` {}: {}",
                    c.id,
                    c.outcome.as_str(),
                    c.why.as_deref().unwrap_or("")
                );
            }
        }
    }
    let _ = writeln!(s, "\n## Evidence\n");
    for i in &r.items {
        if i.evidence.is_empty() {
            continue;
        }
        let _ = writeln!(s, "- **{}**", i.title);
        for c in &i.evidence {
            let _ = writeln!(s, "  - `{}`: {}", c.id, c.outcome.as_str());
        }
    }
    s
}
