//! The vendor scorecard: the article's three questions (contract §B.4), each
//! answered **yes**, **no** or **could not tell** from the cases tagged
//! `vendor: [QUESTION]`, with the evidence, the request that showed it, and
//! findings (what the probes measured: where the key goes, the retention window,
//! the signature scheme, replay protection, webhook latency, the retry schedule).
//!
//! Like the Final Launch Checklist, it only reads a finished [`RunReport`], and
//! findings only from the values probes `record:` in their step reports:
//! - **no** only when a probe of that question failed on its own terms;
//! - **could not tell** when a required probe did not run to a verdict: skipped,
//!   inconclusive, or errored (a failed `setup:` step, such as an order that
//!   could not be created, errors its case instead of failing it);
//! - **yes** when every required probe passed. A probe tagged `optional` (the
//!   retention probe, run only when asked) answers no when it fails, but its skip
//!   leaves the answer alone and shows as a finding.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::evaluation::{
    markdown as md, Evaluation, Row as EvaluationRow, Seen, State, Vocabulary,
};
use crate::report::{CaseReport, Outcome, RunReport};

pub use crate::scenario::tags::OPTIONAL_TAG;

/// The names probes `record:` and the scorecard reads as findings.
pub mod records {
    /// Where the idempotency key is sent (`header Idempotency-Key`, `body field idempotency_key`).
    pub const KEY_LOCATION: &str = "key_location";
    /// The HTTP status of an order sent without a key.
    pub const KEYLESS_STATUS: &str = "keyless_status";
    /// Seconds after which a replay still found the key.
    pub const RETENTION_VERIFIED_S: &str = "retention_verified_s";
    /// Seconds at which the next replay was due (when the case failed there: the key was gone).
    pub const RETENTION_NEXT_S: &str = "retention_next_s";
    /// The signature scheme that verified (`hex`, `base64`, `standard-webhooks`, `stripe`).
    pub const SIGNATURE_SCHEME: &str = "signature_scheme";
    /// How the scheme was chosen (named in the target file, or recognised from which headers).
    pub const SIGNATURE_RECOGNISED: &str = "signature_recognised";
    /// Whether the signature covers a timestamp.
    pub const REPLAY_PROTECTION: &str = "replay_protection";
    /// Unix milliseconds when the latency probe's orders were placed.
    pub const LATENCY_FROM_MS: &str = "latency_from_ms";
    /// Unix milliseconds of each of those orders' first delivery.
    pub const LATENCY_ARRIVALS_MS: &str = "latency_arrivals_ms";
    /// Milliseconds between successive attempts of a refused event.
    pub const RETRY_INTERVALS_MS: &str = "retry_intervals_ms";
    /// How reconciliation pages (`cursor` or `page`).
    pub const PAGINATION: &str = "pagination";
    /// The lookup by reference the probes used.
    pub const LOOKUP: &str = "lookup";
}

/// True for a valid `vendor:` tag: a question id or [`OPTIONAL_TAG`].
pub fn is_tag(tag: &str) -> bool {
    crate::scenario::tags::is_vendor_tag(tag)
}

/// One of the three questions a vendor must answer before signing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Question {
    /// Idempotency keys: a replay gives one order and the identical response; a reused key with another body is refused.
    Idempotency,
    /// Signed webhooks: signature over the raw body, retried after a refusal, none silently lost.
    Webhooks,
    /// A reconciliation API with transaction-level records echoing the caller's reference.
    Reconciliation,
}

impl Question {
    /// In report order.
    pub const ALL: &'static [Question] = &[
        Question::Idempotency,
        Question::Webhooks,
        Question::Reconciliation,
    ];

    /// The tag used in scenarios (`vendor: [idempotency]`).
    pub fn id(self) -> &'static str {
        // The format owns the words; the variants are declared in their order.
        crate::scenario::tags::VENDOR_QUESTIONS[self as usize]
    }

    /// The question as the article asks it.
    pub fn title(self) -> &'static str {
        match self {
            Question::Idempotency => "Do you support idempotency keys?",
            Question::Webhooks => "Are webhooks signed, retried and delivered?",
            Question::Reconciliation => {
                "Is there a reconciliation API with transaction-level records?"
            }
        }
    }

    /// The tag's question, if it is one.
    pub fn from_id(id: &str) -> Option<Question> {
        Question::ALL.iter().copied().find(|q| q.id() == id)
    }
}

/// An answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Answer {
    /// Every required probe for the question ran and passed.
    Yes,
    /// A probe of this question failed on its own terms.
    No,
    /// A required probe was skipped, inconclusive or errored (its setup failed), or none ran.
    CouldNotTell,
}

impl Answer {
    /// The answer in the evaluation model: could not tell is unknown, never yes.
    pub fn state(self) -> State {
        match self {
            Answer::Yes => State::Pass,
            Answer::No => State::Fail,
            Answer::CouldNotTell => State::Unknown,
        }
    }

    /// `yes`, `no`, `could not tell`.
    pub fn label(self) -> &'static str {
        Vocabulary::Scorecard.word(self.state())
    }
}

/// One probe (case) behind an answer.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Evidence {
    /// The case id (`suite::name`).
    pub case: String,
    /// How it ended.
    pub outcome: Outcome,
    /// An optional probe: its skip does not make the answer "could not tell".
    #[serde(default)]
    pub optional: bool,
    /// Why: the failure message, the skip reason, or the case name when it passed.
    pub summary: String,
    /// The request that showed it (the failing step's, else the case's last).
    pub request: String,
}

/// Something a probe measured, shown beside the answer.
pub use crate::evaluation::Finding;

/// One answered question.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Row {
    /// Which question.
    pub question: Question,
    /// The question's wording.
    pub title: String,
    /// The answer.
    pub answer: Answer,
    /// One sentence: why this answer.
    pub why: String,
    /// What the probes measured.
    #[serde(default)]
    pub findings: Vec<Finding>,
    /// Every probe tagged with the question.
    pub evidence: Vec<Evidence>,
}

/// The whole scorecard.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Scorecard {
    /// The target's name and URL (never a key).
    pub target: String,
    /// True when the target was launchgate's own vendor mock: the answers describe the mock.
    pub mock: bool,
    /// When the run started.
    pub started_at: String,
    /// One row per question.
    pub rows: Vec<Row>,
}

fn evidence(c: &CaseReport) -> Evidence {
    let last_request = c
        .steps
        .iter()
        .rev()
        .map(|s| s.request.clone())
        .find(|r| !r.is_empty())
        .unwrap_or_default();
    let (summary, request) = match (&c.failure, &c.reason) {
        (Some(f), _) => (
            f.message.clone(),
            if f.request.is_empty() {
                last_request
            } else {
                f.request.clone()
            },
        ),
        (None, Some(r)) => (r.clone(), last_request),
        (None, None) => (c.name.clone(), last_request),
    };
    Evidence {
        case: c.id.clone(),
        outcome: c.outcome,
        optional: c.vendor.iter().any(|t| t == OPTIONAL_TAG),
        summary,
        request,
    }
}

/// True when some case of the run carries a `vendor:` tag.
pub fn applies(report: &RunReport) -> bool {
    report.cases().any(|c| !c.vendor.is_empty())
}

/// The answer and its one-line reason, from the probes of one question.
fn answer(evidence: &[Evidence], cases: &[&CaseReport]) -> (Answer, String) {
    let name = |i: usize| cases.get(i).map_or("", |c| c.name.as_str());
    let failed: Vec<usize> = (0..evidence.len())
        .filter(|&i| evidence[i].outcome == Outcome::Failed)
        .collect();
    if let Some(&i) = failed.first() {
        let more = match failed.len() {
            1 => String::new(),
            n => format!(" (and {} more failed probes)", n - 1),
        };
        return (
            Answer::No,
            format!("`{}`: {}{more}", name(i), evidence[i].summary),
        );
    }
    let required: Vec<usize> = (0..evidence.len())
        .filter(|&i| !evidence[i].optional)
        .collect();
    if required.is_empty() {
        return (
            Answer::CouldNotTell,
            "no probe for this question was selected".to_string(),
        );
    }
    let unsettled: Vec<usize> = required
        .iter()
        .copied()
        .filter(|&i| evidence[i].outcome != Outcome::Passed)
        .collect();
    if let Some(&i) = unsettled.first() {
        let what = match evidence[i].outcome {
            Outcome::Errored => "did not run to a verdict",
            Outcome::Inconclusive => "was inconclusive",
            _ => "was skipped",
        };
        let more = match unsettled.len() {
            1 => String::new(),
            n => format!(
                " ({} of {} required probes did not run to a verdict)",
                n,
                required.len()
            ),
        };
        return (
            Answer::CouldNotTell,
            format!("`{}` {what}: {}{more}", name(i), evidence[i].summary),
        );
    }
    (
        Answer::Yes,
        format!("all {} required probes passed", required.len()),
    )
}

/// Answers the three questions from a run.
pub fn evaluate(report: &RunReport) -> Scorecard {
    let rows = Question::ALL
        .iter()
        .map(|&q| {
            let cases: Vec<&CaseReport> = report
                .cases()
                .filter(|c| c.vendor.iter().any(|t| t == q.id()))
                .collect();
            let evidence: Vec<Evidence> = cases.iter().map(|c| evidence(c)).collect();
            let (answer, why) = answer(&evidence, &cases);
            Row {
                question: q,
                title: q.title().to_string(),
                answer,
                why,
                findings: super::findings::of(q, &cases),
                evidence,
            }
        })
        .collect();
    Scorecard {
        target: format!("{} ({})", report.target.name, report.target.base_url),
        mock: report.target.kind == "mock",
        started_at: report.started_at.clone(),
        rows,
    }
}

/// The value a case's steps recorded under `name` (the last one wins).
pub fn recorded<'a>(c: &'a CaseReport, name: &str) -> Option<&'a Value> {
    c.steps.iter().rev().find_map(|s| s.records.get(name))
}

/// The request that best shows a row's answer: the first failed probe's, else the
/// first required probe that did not pass, else the first probe's.
fn shown(r: &Row) -> Option<String> {
    let e = &r.evidence;
    e.iter()
        .find(|e| e.outcome == Outcome::Failed)
        .or_else(|| {
            e.iter()
                .find(|e| e.outcome != Outcome::Passed && !e.optional)
        })
        .or_else(|| e.first())
        .map(|e| e.request.clone())
}

/// What would settle a question the probes could not answer: for each way a
/// required probe fell short, what brings it to a verdict.
fn settle(r: &Row) -> String {
    if r.evidence.iter().all(|e| e.optional) {
        return format!(
            "select a probe tagged `vendor: [{}]` (the built-in ones: `--api giftcard`)",
            r.question.id()
        );
    }
    let short = |o: Outcome| r.evidence.iter().any(|e| !e.optional && e.outcome == o);
    let mut steps = Vec::new();
    if short(Outcome::Skipped) {
        steps.push("supply what the skipped probes lack (each one's reason is in the evidence)");
    }
    if short(Outcome::Errored) {
        steps.push(
            "fix what made the errored probes' setup fail (their messages are in the evidence)",
        );
    }
    if short(Outcome::Inconclusive) {
        steps.push("remove what made the inconclusive probes unable to tell (their reasons are in the evidence)");
    }
    format!("{}, then run the probes again", steps.join("; "))
}

/// The scorecard in the evaluation model: one row per question, its probes as
/// what was seen, and the run's facts for JUnit.
pub fn evaluation(s: &Scorecard, run: &RunReport) -> Evaluation {
    let mut ev = Evaluation::new(Vocabulary::Scorecard, "vendor-scorecard", "Question");
    ev.intro = Some(if s.mock {
        "The article's three questions, answered by probes against launchgate's own vendor mock (not a vendor's answer).".into()
    } else {
        format!(
            "The article's three questions, answered by probes against {}.",
            s.target
        )
    });
    ev.started_at = s.started_at.clone();
    ev.duration_ms = run.duration_ms;
    ev.properties = vec![
        ("launchgate.version".into(), run.version.clone()),
        ("target.kind".into(), run.target.kind.clone()),
        ("target.name".into(), run.target.name.clone()),
        ("target.base_url".into(), run.target.base_url.clone()),
    ];
    ev.nothing_seen = "no probe ran".into();
    ev.rows = s
        .rows
        .iter()
        .map(|r| {
            let mut row =
                EvaluationRow::new(r.question.id(), &r.title, r.answer.state(), r.why.clone());
            row.settle = (r.answer == Answer::CouldNotTell).then(|| settle(r));
            row.findings = r.findings.clone();
            row.shown = shown(r);
            row.seen = r
                .evidence
                .iter()
                .map(|e| Seen {
                    what: format!(
                        "{}{} `{}`: {}",
                        e.outcome.as_str(),
                        if e.optional { " (optional)" } else { "" },
                        e.case,
                        e.summary
                    ),
                    request: Some(e.request.clone()),
                })
                .collect();
            row
        })
        .collect();
    ev
}

/// The scorecard as Markdown (a pull-request comment or a CI job summary): the
/// three answers first, then what the probes measured, then the evidence.
pub fn render_markdown(s: &Scorecard, run: &RunReport) -> String {
    let ev = evaluation(s, run);
    let mut out = String::from("# Vendor scorecard\n\n");
    for l in md::lead_lines(&ev) {
        out.push_str(&format!("- {}\n", md::cell(&l)));
    }
    out.push_str(&format!(
        "\nTarget: {}. Run started {}.\n",
        md::cell(&s.target),
        s.started_at
    ));
    if s.mock {
        out.push_str("\nThis run was against launchgate's own vendor mock: the answers describe the mock, not a vendor.\n");
    }
    out.push('\n');
    out.push_str(&md::table(&ev));
    out.push_str(&md::sections(&ev));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{FailureReport, StepReport, SuiteReport, TargetSummary};

    /// Each question's id is the format's word at its place, and only those and
    /// `optional` are vendor tags.
    #[test]
    fn every_question_has_its_own_tag_in_report_order() {
        assert_eq!(
            Question::ALL.len(),
            crate::scenario::tags::VENDOR_QUESTIONS.len()
        );
        for (i, q) in Question::ALL.iter().enumerate() {
            assert_eq!(*q as usize, i, "{q:?} out of place");
            assert_eq!(Question::from_id(q.id()), Some(*q));
            assert!(is_tag(q.id()));
        }
        assert!(is_tag(OPTIONAL_TAG));
        assert!(!is_tag("idempotent"));
    }

    fn case(outcome: Outcome, tag: &str) -> CaseReport {
        CaseReport {
            id: format!("giftcard.x::{tag} {}", outcome.as_str()),
            name: "n".into(),
            file: "f".into(),
            line: 1,
            outcome,
            reason: outcome.is_skip().then(|| "missing key".to_string()),
            failure: (outcome == Outcome::Failed).then(|| FailureReport {
                step: "s".into(),
                location: "l".into(),
                message: "$.x: expected 1, got 2".into(),
                details: vec![],
                request: "POST http://h/api/v1/orders".into(),
                response: None,
            }),
            checklist: vec![],
            vendor: vec![tag.into()],
            started_at: "2024-01-01T00:00:00Z".into(),
            duration_ms: 1,
            waits: Vec::new(),
            steps: vec![StepReport {
                records: Default::default(),
                name: "s".into(),
                request: "GET http://h/api/v1/reconciliation".into(),
                method: None,
                url: None,
                path_template: None,
                waits: vec![],
                status: Some(200),
                attempts: 1,
                duration_ms: 1,
                request_ms: None,
                notes: vec![],
                redirects: vec![],
                outcome,
            }],
        }
    }

    fn report(cases: Vec<CaseReport>) -> RunReport {
        RunReport {
            version: "0".into(),
            target: TargetSummary {
                kind: "remote".into(),
                name: "sandbox".into(),
                base_url: "https://sandbox.example".into(),
            },
            hostname: "h".into(),
            started_at: "2024-01-01T00:00:00Z".into(),
            duration_ms: 1,
            requests_sent: 1,
            responses_received: 1,
            deadline_hit: false,
            suites: vec![SuiteReport {
                name: "giftcard.x".into(),
                file: "f".into(),
                cases,
            }],
            not_applicable: vec![],
            key_findings: vec![],
            scenarios_commit: None,
            execution: None,
            missing_inputs: Vec::new(),
        }
    }

    #[test]
    fn answers_follow_outcomes() {
        let r = report(vec![
            case(Outcome::Passed, "idempotency"),
            case(Outcome::Failed, "idempotency"),
            case(Outcome::Passed, "webhooks"),
            case(Outcome::Skipped, "reconciliation"),
        ]);
        let s = evaluate(&r);
        let answers: Vec<Answer> = s.rows.iter().map(|r| r.answer).collect();
        assert_eq!(answers, vec![Answer::No, Answer::Yes, Answer::CouldNotTell]);
        let md = render_markdown(&s, &r);
        assert!(
            md.contains("| Do you support idempotency keys? | **no** |"),
            "{md}"
        );
        assert!(md.contains("`POST http://h/api/v1/orders`"), "{md}");
        // JUnit: no fails, yes passes, could not tell is skipped.
        let xml = crate::report::junit::render_evaluation(
            &evaluation(&s, &r),
            crate::report::junit::Profile::Generic,
        );
        let doc = roxmltree::Document::parse(&xml).unwrap();
        let statuses: Vec<&str> = doc
            .descendants()
            .filter(|n| n.has_tag_name("testcase"))
            .map(|c| {
                c.children()
                    .find(|k| k.is_element() && k.tag_name().name() != "system-out")
                    .map_or("passed", |k| k.tag_name().name())
            })
            .collect();
        assert_eq!(statuses, ["failure", "passed", "skipped"], "{xml}");
        assert!(
            xml.contains("could not tell: `n` was skipped: missing key"),
            "{xml}"
        );
        // What settles it follows how the probe fell short; a yes or a no needs nothing.
        let settles: Vec<Option<String>> = evaluation(&s, &r)
            .rows
            .into_iter()
            .map(|r| r.settle)
            .collect();
        assert_eq!(settles[..2], [None, None]);
        assert!(
            settles[2]
                .as_deref()
                .is_some_and(|t| t.starts_with("supply what the skipped probes lack")),
            "{settles:?}"
        );
    }

    #[test]
    fn nothing_tagged_is_could_not_tell() {
        let r = report(vec![]);
        let s = evaluate(&r);
        assert!(s.rows.iter().all(|r| r.answer == Answer::CouldNotTell));
        let ev = evaluation(&s, &r);
        assert_eq!(
            ev.rows[0].settle.as_deref(),
            Some("select a probe tagged `vendor: [idempotency]` (the built-in ones: `--api giftcard`)")
        );
        assert!(crate::evaluation::markdown::sections(&ev).contains("- no probe ran"));
    }
}
