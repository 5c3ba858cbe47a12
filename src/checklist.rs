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
    /// launchgate checks it from the run's configuration (the keys it was given and
    /// where they came from); a person confirms the part it cannot see (production).
    Configuration,
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
        // The format owns the words; the variants are declared in their order.
        crate::scenario::tags::CHECKLIST_ITEMS[self as usize]
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
                Evidence::Configuration
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

use std::collections::{BTreeMap, BTreeSet};

use crate::agent_api::Role;
use crate::evaluation::markdown as md;
pub use crate::report::checklist::{
    CaseRef, ChecklistReport, Decision, ItemResult, KeyFinding, Level, RequiredTest, Verdict,
};
use crate::report::{CaseReport, Outcome, RunReport};

/// A key finding about `item`.
fn finding(item: Item, level: Level, problem: String) -> KeyFinding {
    KeyFinding {
        item: item.id().into(),
        problem,
        level,
    }
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

/// The ids of the built-in cases behind the seven required launch-time tests.
pub fn required_case_ids() -> impl Iterator<Item = &'static str> {
    REQUIRED.iter().flat_map(|(_, _, ids)| ids.iter().copied())
}

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
const REFEREE_SUPPLY: &str = "a referee report of your client: `launchgate referee -- <your client command>`, then `--referee target/launchgate/referee.json`";

/// Evaluates the checklist from a run's results and the key findings of its target.
pub fn evaluate(report: &RunReport, key_findings: &[KeyFinding]) -> ChecklistReport {
    evaluate_with_referee(report, key_findings, None)
}

/// The cases that count as launch-time evidence: every case that applies to the target.
fn counted(report: &RunReport) -> Vec<&CaseReport> {
    let not_applicable: BTreeSet<&str> = report
        .not_applicable
        .iter()
        .map(|c| c.id.as_str())
        .collect();
    report
        .cases()
        .filter(|c| !not_applicable.contains(c.id.as_str()))
        .collect()
}

/// Like [`evaluate`], with a referee run of the integration's client deciding the client items.
pub fn evaluate_with_referee(
    report: &RunReport,
    key_findings: &[KeyFinding],
    referee: Option<&crate::referee::RefereeReport>,
) -> ChecklistReport {
    let cases = counted(report);
    let mut items: Vec<ItemResult> = Item::ALL
        .into_iter()
        .map(|item| evaluate_item(item, &cases, key_findings, referee))
        .collect();
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
            eb.summary = "some of the seven required launch-time tests were not verified".into();
            eb.todo = Some("see \"Required launch-time tests\"".into());
        }
    }
    let (decision, decision_why) = decide(&items, &required_tests, &cases);
    let to_supply = if decision == Decision::Incomplete {
        to_supply(report, &items, &required_tests)
    } else {
        Vec::new()
    };
    let t = report.totals();
    ChecklistReport {
        decision,
        decision_why,
        to_supply,
        mock_target: report.target.kind == "mock",
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
        notes: key_findings
            .iter()
            .filter(|f| f.level == Level::Note)
            .map(|f| f.problem.clone())
            .collect(),
    }
}

fn evaluate_item(
    item: Item,
    cases: &[&CaseReport],
    key_findings: &[KeyFinding],
    referee: Option<&crate::referee::RefereeReport>,
) -> ItemResult {
    let tagged: Vec<&CaseReport> = cases
        .iter()
        .copied()
        .filter(|c| c.checklist.iter().any(|t| t == item.id()))
        .collect();
    let findings: Vec<&KeyFinding> = key_findings
        .iter()
        .filter(|f| f.item == item.id())
        .collect();
    let judgement = referee.and_then(|r| r.judgements.iter().find(|j| j.item == item.id()));
    let (mut verdict, mut summary, mut todo) = match item.evidence() {
        Evidence::Scenarios => scenario_verdict(&tagged),
        Evidence::Referee => match judgement {
            Some(j) => referee_verdict(j, referee.and_then(|r| r.client_problem.as_deref())),
            None => (
                Verdict::NotVerified,
                "a property of the integration's client: no referee report was given".to_string(),
                Some(REFEREE_TODO.to_string()),
            ),
        },
        Evidence::Configuration => configuration_verdict(&findings),
    };
    // A failed configuration check also fails a scenario-proven item (a partner key
    // where a member key belongs), and so does a referee that saw the client use a
    // key of the wrong role.
    if item.evidence() == Evidence::Scenarios {
        if let Some(f) = findings.iter().find(|f| f.level == Level::Fail) {
            (verdict, summary) = (Verdict::Failed, f.problem.clone());
            todo = Some(KEY_TODO.into());
        } else if let Some(j) =
            judgement.filter(|j| j.verdict == crate::referee::ClientVerdict::Fail)
        {
            (verdict, summary) = (Verdict::Failed, format!("referee: {}", j.summary));
        }
    }
    ItemResult {
        id: item.id().to_string(),
        title: item.title().to_string(),
        verdict,
        summary,
        todo,
        sign_off: sign_off_text(item).map(str::to_string),
        evidence: tagged.iter().map(|c| case_ref(c)).collect(),
    }
}

const KEY_TODO: &str =
    "use a distinct key for each environment, purpose and role; rotate a key that was exposed";

fn scenario_verdict(tagged: &[&CaseReport]) -> (Verdict, String, Option<String>) {
    let v = verdict_of(tagged, false);
    let count = |f: fn(&CaseReport) -> bool| tagged.iter().filter(|c| f(c)).count();
    let passed = count(|c| c.outcome == Outcome::Passed);
    let summary = match v {
        Verdict::Verified => format!("{passed} of {} cases passed", tagged.len()),
        Verdict::Failed => format!(
            "{} of {} cases failed",
            count(|c| c.outcome.is_failure()),
            tagged.len()
        ),
        _ if tagged.is_empty() => "no case for this item was in the run".to_string(),
        _ => format!(
            "{passed} of {} cases passed; the others did not run or could not tell",
            tagged.len()
        ),
    };
    let todo = (v == Verdict::NotVerified).then(|| {
        "supply the missing keys or fixtures named in the evidence (or pass --allow-writes), then run the built-in suite against the environment".to_string()
    });
    (v, summary, todo)
}

fn configuration_verdict(findings: &[&KeyFinding]) -> (Verdict, String, Option<String>) {
    let of = |l: Level| findings.iter().filter(move |f| f.level == l);
    if let Some(f) = of(Level::Fail).next() {
        let more = of(Level::Fail).count() - 1;
        let summary = if more > 0 {
            format!("{} (and {more} more)", f.problem)
        } else {
            f.problem.clone()
        };
        return (Verdict::Failed, summary, Some(KEY_TODO.into()));
    }
    match of(Level::Pass).next() {
        Some(f) => (Verdict::Verified, f.problem.clone(), None),
        None => (
            Verdict::NotVerified,
            "no key was configured, so there was nothing to check".into(),
            Some("supply the keys the suite uses (see `launchgate doctor`)".into()),
        ),
    }
}

/// A pass from a client run that crashed, hung, exited non-zero or sent nothing proves
/// nothing about the client's behaviour: it stays not verified, naming the problem.
fn referee_verdict(
    j: &crate::referee::Judgement,
    client_problem: Option<&str>,
) -> (Verdict, String, Option<String>) {
    use crate::referee::ClientVerdict;
    match j.verdict {
        ClientVerdict::Pass if client_problem.is_some() => (
            Verdict::NotVerified,
            format!(
                "referee: the client run did not end cleanly ({}), so its passes prove nothing",
                client_problem.unwrap_or_default()
            ),
            Some(
                "fix the client run so it ends by itself with exit 0, then referee it again"
                    .to_string(),
            ),
        ),
        ClientVerdict::Pass => (Verdict::Verified, format!("referee: {}", j.summary), None),
        ClientVerdict::Fail => (
            Verdict::Failed,
            format!("referee: {}", j.summary),
            Some(format!(
                "fix the client; the referee's evidence: {}",
                j.evidence.first().cloned().unwrap_or_default()
            )),
        ),
        ClientVerdict::NotExercised => (
            Verdict::NotVerified,
            "referee: the client never met this situation".to_string(),
            Some(crate::referee::NOT_EXERCISED_SETTLE.to_string()),
        ),
    }
}

/// What a person must confirm for an item, beyond what launchgate can see.
fn sign_off_text(item: Item) -> Option<&'static str> {
    match item {
        Item::SeparateKeys => Some("local, staging and production each have their own keys, and each integration surface (a POS fleet, a reporting job) its own; launchgate compares production keys only when given as LAUNCHGATE_PROD_<NAME>_KEY"),
        Item::KeysInSecretStore => Some("production keys live in environment variables or a secrets manager, never in code or committed configuration"),
        Item::PartnerKeysServerSide => Some("partner keys are used only server-side: never in browser code or mobile apps"),
        _ => None,
    }
}

/// The decision and its reasons: NO-GO on any failure, INCOMPLETE when a required
/// launch-time test or a checkable item is not verified, else GO.
fn decide(
    items: &[ItemResult],
    required: &[RequiredTest],
    cases: &[&CaseReport],
) -> (Decision, Vec<String>) {
    let mut failures: Vec<String> = items
        .iter()
        .filter(|i| i.verdict == Verdict::Failed)
        .map(|i| format!("{} failed: {}", i.title, i.summary))
        .collect();
    let evidence: BTreeSet<&str> = items
        .iter()
        .flat_map(|i| i.evidence.iter().map(|c| c.id.as_str()))
        .collect();
    let stray: Vec<&&CaseReport> = cases
        .iter()
        .filter(|c| c.outcome.is_failure() && !evidence.contains(c.id.as_str()))
        .collect();
    for c in stray.iter().take(10) {
        failures.push(format!("case `{}` {}", c.id, c.outcome.as_str()));
    }
    if stray.len() > 10 {
        failures.push(format!("… and {} more failed cases", stray.len() - 10));
    }
    if !failures.is_empty() {
        return (Decision::NoGo, failures);
    }
    let mut open: Vec<String> = required
        .iter()
        .filter(|t| t.verdict != Verdict::Verified)
        .map(|t| {
            let why = t
                .evidence
                .iter()
                .find_map(|c| c.why.clone())
                .unwrap_or_else(|| "no case for it was in the run".into());
            format!("required launch-time test `{}` not verified: {why}", t.name)
        })
        .collect();
    let unverified =
        |i: &&ItemResult| i.verdict == Verdict::NotVerified && i.id != Item::ErrorBranches.id();
    let unrefereed = |i: &&ItemResult| i.todo.as_deref() == Some(REFEREE_TODO);
    open.extend(
        items
            .iter()
            .filter(|i| unverified(i) && !unrefereed(i))
            .map(|i| format!("{} not verified: {}", i.title, i.summary)),
    );
    let client: Vec<&str> = items
        .iter()
        .filter(|i| unverified(i) && unrefereed(i))
        .map(|i| i.title.as_str())
        .collect();
    if !client.is_empty() {
        open.push(format!(
            "{} client item{} not verified, for want of a referee report of the integration's client: {}",
            client.len(),
            if client.len() == 1 { "" } else { "s" },
            client.join("; ")
        ));
    }
    if let Some(eb) = items
        .iter()
        .find(|i| i.id == Item::ErrorBranches.id() && i.verdict == Verdict::NotVerified)
    {
        if required.iter().all(|t| t.verdict == Verdict::Verified) {
            open.push(format!("{} not verified: {}", eb.title, eb.summary));
        }
    }
    if open.is_empty() {
        (Decision::Go, Vec::new())
    } else {
        (Decision::Incomplete, open)
    }
}

/// What to supply for an INCOMPLETE run: the variables (or `--allow-writes`) the
/// unverified evidence lacked, and a referee report for the client items.
fn to_supply(report: &RunReport, items: &[ItemResult], required: &[RequiredTest]) -> Vec<String> {
    let open_cases: BTreeSet<&str> = items
        .iter()
        .filter(|i| i.verdict == Verdict::NotVerified)
        .flat_map(|i| &i.evidence)
        .chain(
            required
                .iter()
                .filter(|t| t.verdict != Verdict::Verified)
                .flat_map(|t| &t.evidence),
        )
        .filter(|c| c.outcome != Outcome::Passed)
        .map(|c| c.id.as_str())
        .collect();
    let mut out: BTreeMap<String, String> = BTreeMap::new();
    for m in &report.missing_inputs {
        if m.cases.iter().any(|c| open_cases.contains(c.as_str())) {
            out.entry(m.supply.clone())
                .or_insert_with(|| format!("{} ({})", m.supply, m.input));
        }
    }
    let mut lines: Vec<String> = out.into_values().collect();
    if items
        .iter()
        .any(|i| i.verdict == Verdict::NotVerified && i.todo.as_deref() == Some(REFEREE_TODO))
    {
        lines.push(REFEREE_SUPPLY.into());
    }
    lines
}

/// Key-management findings from a target's keys, by name only.
///
/// Only keys that serve a purpose in the run are compared: those its cases use
/// (`used`, by name), and `prod_*` keys, whose purpose is to be compared with the
/// others. Two such names holding one key fail "Separate keys per environment"; a name
/// no case uses that holds the same key as another is an alias: a note.
pub fn key_findings(
    keys: &BTreeMap<String, String>,
    role: Option<&str>,
    used: &BTreeSet<String>,
) -> Vec<KeyFinding> {
    let purposeful = |n: &str| used.contains(n) || n.starts_with("prod_");
    let names: Vec<(&String, &String)> = keys
        .iter()
        .filter(|(n, _)| n.as_str() != "integration")
        .collect();
    let mut out = Vec::new();
    let mut compared = 0;
    for (i, (a, va)) in names.iter().enumerate() {
        compared += usize::from(purposeful(a));
        for (b, vb) in &names[i + 1..] {
            if va != vb {
                continue;
            }
            let (level, problem) = if purposeful(a) && purposeful(b) {
                let what = if a.starts_with("prod") != b.starts_with("prod") {
                    "one key serves two environments"
                } else {
                    "one key serves two purposes"
                };
                (
                    Level::Fail,
                    format!("keys `{a}` and `{b}` are the same key: {what}"),
                )
            } else {
                let unused = if purposeful(a) { b } else { a };
                (Level::Note, format!("keys `{a}` and `{b}` hold the same key; `{unused}` is used by no case of this run, so it is taken as an alias"))
            };
            out.push(finding(Item::SeparateKeys, level, problem));
        }
    }
    if compared > 0 && !out.iter().any(|f| f.level == Level::Fail) {
        out.push(finding(
            Item::SeparateKeys,
            Level::Pass,
            format!("the {compared} keys this run uses are all different keys"),
        ));
    }
    out.extend(partner_key_findings(
        &names,
        role,
        keys.get("integration"),
        &purposeful,
    ));
    out
}

/// A partner or admin key where a member key belongs.
fn partner_key_findings(
    names: &[(&String, &String)],
    role: Option<&str>,
    integration: Option<&String>,
    purposeful: &dyn Fn(&str) -> bool,
) -> Vec<KeyFinding> {
    let mut out = Vec::new();
    for (name, value) in names {
        if name.starts_with("member")
            && matches!(Role::of_key(value), Some(Role::Partner | Role::Admin))
        {
            let level = if purposeful(name) {
                Level::Fail
            } else {
                Level::Note
            };
            out.push(finding(
                Item::PartnerKeysServerSide,
                level,
                format!("key `{name}` is meant for member wallet operations but holds a partner or admin key"),
            ));
        }
    }
    if role == Some(Role::Member.as_str())
        && integration.is_some_and(|v| Role::of_key(v) != Some(Role::Member))
    {
        out.push(finding(
            Item::KeyType,
            Level::Fail,
            "the integration's role is `member`, but its key is not a member key".into(),
        ));
    }
    if !names.is_empty() && !out.iter().any(|f| f.level == Level::Fail) {
        out.push(finding(
            Item::PartnerKeysServerSide,
            Level::Pass,
            "no partner or admin key is configured where a member key belongs".into(),
        ));
    }
    out
}

/// Where a run's keys came from, for "Keys stored in environment variables or a secrets manager".
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    /// launchgate's embedded mock: its published test keys.
    Mock,
    /// The environment, and perhaps a `--secrets` file.
    Environment {
        /// The secrets file, if one was given.
        secrets_file: Option<String>,
        /// True when that file is tracked by git (its keys are committed).
        tracked_by_git: bool,
    },
}

/// The finding for "Keys stored in environment variables or a secrets manager".
pub fn secret_store_finding(source: &KeySource, keys: usize) -> Option<KeyFinding> {
    let item = Item::KeysInSecretStore;
    let (level, text) = match source {
        _ if keys == 0 => return None,
        KeySource::Mock => (Level::Pass, "the embedded mock's published test keys: no secret is stored anywhere".to_string()),
        KeySource::Environment { secrets_file: Some(f), tracked_by_git: true } => (
            Level::Fail,
            format!("the secrets file `{f}` is tracked by git: its keys are committed; keep it out of the repository (.gitignore) and rotate them"),
        ),
        KeySource::Environment { secrets_file: Some(f), .. } => (
            Level::Pass,
            format!("every key came from the environment or the secrets file `{f}`, which git does not track"),
        ),
        KeySource::Environment { secrets_file: None, .. } => (
            Level::Pass,
            "every key came from environment variables; target and scenario files hold none (launchgate refuses key-shaped values there)".to_string(),
        ),
    };
    Some(finding(item, level, text))
}

/// The decision block the console prints: the headline, then why, then what to supply.
pub fn render_console(r: &ChecklistReport) -> String {
    use std::fmt::Write as _;
    let mut s = format!("decision: {}\n", r.headline());
    for w in &r.decision_why {
        let _ = writeln!(s, "  - {w}");
    }
    if !r.to_supply.is_empty() {
        let _ = writeln!(s, "  to verify the rest, supply:");
        for t in &r.to_supply {
            let _ = writeln!(s, "    - {t}");
        }
    }
    s
}

/// Renders the report as Markdown, readable in a pull-request comment.
pub fn render_markdown(r: &ChecklistReport) -> String {
    use std::fmt::Write as _;
    let mut s = String::new();
    let _ = writeln!(s, "# Final Launch Checklist: {}\n", r.decision.label());
    if r.mock_target {
        let _ = writeln!(
            s,
            "> **Not a launch decision.** This run used launchgate's embedded mock, so the verdicts describe the mock. Run against the environment you are launching (`launchgate run --target ...`) for a decision.\n"
        );
    }
    let items = r.evaluation();
    let _ = writeln!(
        s,
        "**Decision: {}** ({} of {} items)  ",
        r.headline(),
        items.counts(),
        r.items.len()
    );
    let _ = writeln!(
        s,
        "Target: {} · run started {} · launchgate {}  ",
        r.target, r.run_started_at, r.version
    );
    let _ = writeln!(s, "{}\n", r.totals);
    write_decision_why(&mut s, r);
    s.push_str(&md::table(&items));
    write_required(&mut s, r);
    write_sign_off(&mut s, r);
    let open = md::open_rows(&items);
    if !open.is_empty() {
        let _ = write!(s, "\n## What is left\n\n{open}");
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
    crate::report::xml_safe(&s).into_owned()
}

fn write_decision_why(s: &mut String, r: &ChecklistReport) {
    use std::fmt::Write as _;
    if r.decision_why.is_empty() {
        let _ = writeln!(s, "Every required launch-time test and every checkable item is verified, and nothing failed.\n");
        return;
    }
    let head = match r.decision {
        Decision::NoGo => "Why NO-GO",
        _ => "Why not GO",
    };
    let _ = writeln!(s, "**{head}:**\n");
    for w in &r.decision_why {
        let _ = writeln!(s, "- {w}");
    }
    if !r.to_supply.is_empty() {
        let _ = writeln!(s, "\n**To verify the rest, supply:**\n");
        for t in &r.to_supply {
            let _ = writeln!(s, "- {t}");
        }
    }
    for n in &r.notes {
        let _ = writeln!(s, "\n> Note: {n}");
    }
    s.push('\n');
}

fn write_required(s: &mut String, r: &ChecklistReport) {
    use std::fmt::Write as _;
    let _ = writeln!(s, "\n## Required launch-time tests\n");
    let _ = writeln!(s, "| Test | Verdict | Cases |");
    let _ = writeln!(s, "|---|---|---|");
    for t in &r.required_tests {
        let cases: Vec<String> = t
            .evidence
            .iter()
            .map(|c| format!("`{}` {}", md::cell(&c.id), c.outcome.as_str()))
            .collect();
        let cases = if cases.is_empty() {
            "not in this run".to_string()
        } else {
            cases.join("<br>")
        };
        let _ = writeln!(s, "| {} | {} | {} |", t.name, t.verdict.label(), cases);
    }
}

fn write_sign_off(s: &mut String, r: &ChecklistReport) {
    use std::fmt::Write as _;
    let _ = writeln!(s, "\n## For sign-off\n");
    let _ = writeln!(
        s,
        "launchgate cannot see these; a person confirms them before signing (they do not change the decision):\n"
    );
    for i in &r.items {
        if let Some(t) = &i.sign_off {
            let _ = writeln!(s, "- [ ] **{}**: {t}", i.title);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evaluation::State;
    use crate::referee::{ClientVerdict, RefereeReport};
    use crate::report::{SuiteReport, TargetSummary};

    /// Each item's id is the format's word at its place: the variants and the list agree.
    #[test]
    fn every_item_has_its_own_tag_in_the_checklists_order() {
        assert_eq!(
            Item::ALL.len(),
            crate::scenario::tags::CHECKLIST_ITEMS.len()
        );
        for (i, item) in Item::ALL.into_iter().enumerate() {
            assert_eq!(item as usize, i, "{item:?} out of place");
            assert_eq!(Item::from_id(item.id()), Some(item));
        }
    }

    fn case(id: &str, tag: &str, outcome: Outcome) -> CaseReport {
        CaseReport {
            id: id.into(),
            name: id.split_once("::").map_or(id, |(_, n)| n).into(),
            file: "f.yaml".into(),
            line: 1,
            outcome,
            reason: (outcome != Outcome::Passed).then(|| "lacked a key".into()),
            failure: None,
            checklist: vec![tag.into()],
            vendor: Vec::new(),
            started_at: "2024-01-01T00:00:00Z".into(),
            duration_ms: 1,
            waits: Vec::new(),
            steps: Vec::new(),
        }
    }

    /// A staging run in which every item has passing evidence: the scenario items
    /// and the seven required tests by cases, the client items by a clean referee
    /// report, the key-management items by passing findings.
    fn all_evidence() -> (RunReport, Vec<KeyFinding>, RefereeReport) {
        let mut cases: Vec<CaseReport> = required_case_ids()
            .map(|id| case(id, Item::ErrorBranches.id(), Outcome::Passed))
            .collect();
        for item in Item::ALL
            .iter()
            .filter(|i| i.evidence() == Evidence::Scenarios)
        {
            cases.push(case(
                &format!("s::{}", item.id()),
                item.id(),
                Outcome::Passed,
            ));
        }
        let run = RunReport {
            version: "0".into(),
            target: TargetSummary {
                kind: "remote".into(),
                name: "staging".into(),
                base_url: "https://staging.example".into(),
            },
            hostname: "h".into(),
            started_at: "2024-01-01T00:00:00Z".into(),
            duration_ms: 1,
            requests_sent: 1,
            responses_received: 1,
            deadline_hit: false,
            suites: vec![SuiteReport {
                name: "s".into(),
                file: "f.yaml".into(),
                cases,
            }],
            not_applicable: Vec::new(),
            key_findings: Vec::new(),
            scenarios_commit: None,
            execution: None,
            missing_inputs: Vec::new(),
        };
        let keys = Item::ALL
            .into_iter()
            .filter(|i| i.evidence() == Evidence::Configuration)
            .map(|i| finding(i, Level::Pass, "holds".into()))
            .collect();
        let mut judgements = crate::referee::Referee::new().finish();
        for j in &mut judgements {
            j.verdict = ClientVerdict::Pass;
        }
        let referee = RefereeReport {
            version: "0".into(),
            started_at: "2024-01-01T00:00:00Z".into(),
            command: None,
            exit_status: Some(0),
            requests: 1,
            journal_lost_entries: false,
            judgements,
            client_problem: None,
            duration_ms: 1,
        };
        (run, keys, referee)
    }

    /// The dangerous direction: take away the evidence of any one item (a skipped
    /// case, a behaviour the client never met, a key never checked) and the
    /// decision is never GO, the item is unknown in the evaluation model, and every
    /// rendering says so.
    #[test]
    fn an_item_not_verified_is_never_go() {
        let (run, keys, referee) = all_evidence();
        let list = evaluate_with_referee(&run, &keys, Some(&referee));
        assert_eq!(list.decision, Decision::Go, "{:?}", list.decision_why);
        assert_eq!(list.evaluation().overall(), State::Pass);
        for item in Item::ALL {
            let (mut run, mut keys, mut referee) = all_evidence();
            match item.evidence() {
                Evidence::Scenarios => {
                    for c in &mut run.suites[0].cases {
                        if c.checklist.iter().any(|t| t == item.id()) {
                            c.outcome = Outcome::Skipped;
                        }
                    }
                }
                Evidence::Referee => {
                    for j in referee
                        .judgements
                        .iter_mut()
                        .filter(|j| j.item == item.id())
                    {
                        j.verdict = ClientVerdict::NotExercised;
                    }
                }
                Evidence::Configuration => keys.retain(|f| f.item != item.id()),
            }
            let list = evaluate_with_referee(&run, &keys, Some(&referee));
            assert_eq!(list.decision, Decision::Incomplete, "{}", item.id());
            let ev = list.evaluation();
            assert_eq!(ev.overall(), State::Unknown, "{}", item.id());
            let row = ev.rows.iter().find(|r| r.id == item.id()).unwrap();
            assert_eq!(row.state, State::Unknown, "{}", item.id());
            assert!(
                row.open_settle().is_some(),
                "{}: what would settle it",
                item.id()
            );
            let md = render_markdown(&list);
            assert!(
                md.contains(&format!("| {} | ⚠️ not verified |", item.title())),
                "{md}"
            );
            assert!(!md.contains("# Final Launch Checklist: GO"), "{md}");
        }
    }

    /// The referee names the items it judges by id: each must be a checklist item that
    /// a referee report can decide (its client items, and the key type it also sees).
    #[test]
    fn the_referee_judges_checklist_items_by_their_ids() {
        let judged: Vec<String> = crate::referee::Referee::new()
            .finish()
            .into_iter()
            .map(|j| j.item)
            .collect();
        let client: Vec<&str> = Item::ALL
            .into_iter()
            .filter(|i| i.evidence() == Evidence::Referee)
            .map(Item::id)
            .collect();
        for id in &judged {
            assert!(Item::from_id(id).is_some(), "`{id}` is no checklist item");
        }
        for id in client {
            assert!(
                judged.iter().any(|j| j == id),
                "no referee verdict for `{id}`"
            );
        }
    }
}
