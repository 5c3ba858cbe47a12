//! The checklist report as plain data: what the checklist evaluation
//! (`src/checklist.rs`) concluded from a run (a verdict per item, the seven required
//! launch-time tests, the launch decision), and the key-management findings a run's
//! target produced. The renderers read it; `checklist.json` is this data as is.

use serde::{Deserialize, Serialize};

use super::Outcome;
use crate::evaluation::{self, Evaluation, Row, Seen, State, Vocabulary};

/// What the evidence says about one item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Every case that is evidence for it ran and passed (or the configuration check held).
    Verified,
    /// At least one case that is evidence for it failed (or the configuration check failed).
    Failed,
    /// No evidence yet: cases were skipped, inconclusive, or not run.
    NotVerified,
}

impl Verdict {
    /// The verdict in the evaluation model: not verified is unknown, never a pass.
    pub fn state(self) -> State {
        match self {
            Verdict::Verified => State::Pass,
            Verdict::Failed => State::Fail,
            Verdict::NotVerified => State::Unknown,
        }
    }

    /// How the verdict reads in the Markdown report (`✅ verified`).
    pub fn label(self) -> String {
        evaluation::markdown::label(Vocabulary::Checklist, self.state())
    }
}

/// The launch decision (the rules are in README, "The launch decision").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// Every required launch-time test and every machine-checkable item verified, nothing failed.
    Go,
    /// Nothing failed, but some required launch-time test or checkable item was not verified.
    Incomplete,
    /// Something failed: an item, a required test, or any case of the run.
    NoGo,
}

impl Decision {
    /// The decision in the evaluation model: INCOMPLETE is unknown, never a GO.
    pub fn state(self) -> State {
        match self {
            Decision::Go => State::Pass,
            Decision::Incomplete => State::Unknown,
            Decision::NoGo => State::Fail,
        }
    }

    /// `GO`, `INCOMPLETE`, `NO-GO`.
    pub fn label(self) -> &'static str {
        Vocabulary::Decision.word(self.state())
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
    /// What to run or supply to close it (for items not verified or failed).
    pub todo: Option<String>,
    /// What a person must still confirm, beyond what launchgate can see (not counted by the decision).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sign_off: Option<String>,
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

/// How much a key finding weighs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    /// The check failed: the item fails.
    #[default]
    Fail,
    /// The check ran and held: the item is verified (when nothing failed it).
    Pass,
    /// Worth knowing, never a failure (e.g. two names holding one key, one of them unused).
    Note,
}

/// A key-management finding from the target's configuration (names only, never values).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct KeyFinding {
    /// The checklist item it concerns.
    pub item: String,
    /// What was found, naming keys by name.
    pub problem: String,
    /// Failure, pass or note (absent in reports written before levels existed: a failure).
    #[serde(default)]
    pub level: Level,
}

/// The whole checklist report.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ChecklistReport {
    /// The decision.
    pub decision: Decision,
    /// Why, one line each: what failed, or what was not verified.
    pub decision_why: Vec<String>,
    /// What to supply so the unverified evidence can run: variables, flags, a referee report.
    pub to_supply: Vec<String>,
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
    /// Notes on the configuration that are not failures (aliases, unused keys).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

impl ChecklistReport {
    /// The decision as the console, Markdown, HTML and JUnit state it: the label, and
    /// for a run against the embedded mock the reminder that it decides nothing.
    pub fn headline(&self) -> String {
        if self.mock_target {
            format!(
                "{} (not a launch decision: this run used launchgate's embedded mock)",
                self.decision.label()
            )
        } else {
            self.decision.label().to_string()
        }
    }

    /// The items in the evaluation model, for the renderers. What was seen is the
    /// evidence that did not pass (what keeps an item open); the checklist's own
    /// "Evidence" section lists every case.
    pub fn evaluation(&self) -> Evaluation {
        let mut ev = Evaluation::new(Vocabulary::Checklist, "launchgate.checklist", "Item");
        ev.started_at = self.run_started_at.clone();
        ev.rows = self
            .items
            .iter()
            .map(|i| {
                let mut row = Row::new(&i.id, &i.title, i.verdict.state(), i.summary.clone());
                row.settle = i.todo.clone();
                row.seen = i
                    .evidence
                    .iter()
                    .filter(|c| c.outcome != Outcome::Passed)
                    .map(|c| {
                        Seen::line(format!(
                            "`{}` {}: {}",
                            c.id,
                            c.outcome.as_str(),
                            c.why.as_deref().unwrap_or("")
                        ))
                    })
                    .collect();
                row
            })
            .collect();
        ev
    }
}
