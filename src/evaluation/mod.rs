//! One evaluation model: a question, where it stands, and what shows it.
//!
//! The Final Launch Checklist's items, the vendor scorecard's questions and the
//! referee's verdicts on a client are one idea: a question asked of something
//! launchgate ran, answered **pass**, **fail** or **unknown**, with what was seen
//! and, when it is not a pass, what would settle it. Each of those modules says
//! its answers in its own words (`verified`, `yes`, `pass`; see [`Vocabulary`])
//! and adapts its report into an [`Evaluation`]; the renderers here
//! ([`markdown`], [`html`], [`junit`], [`console`]) are the only code that turns
//! one into Markdown, HTML, JUnit or console lines.
//!
//! The dangerous direction is closed by construction: [`State::Unknown`] ("not
//! verified", "could not tell", "not exercised") is a state of its own, never a
//! flavour of pass, and every renderer shows it as open (a warning mark, an open
//! badge, a skipped JUnit case), never as passed.
//!
//! This module is plain data and renderers: it imports nothing else of launchgate
//! (the checklist, the scorecard and the referee import it).

pub mod console;
pub mod html;
pub mod junit;
pub mod markdown;

use serde::{Deserialize, Serialize};

/// Where an evaluated question stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum State {
    /// What was seen settles it, favourably.
    Pass,
    /// What was seen settles it, unfavourably; the evidence says how.
    Fail,
    /// Nothing seen settles it: not verified, could not tell, not exercised.
    /// Never a pass.
    Unknown,
}

impl State {
    /// In every report order.
    pub const ALL: [State; 3] = [State::Pass, State::Fail, State::Unknown];

    /// The mark a reader scans for.
    pub fn mark(self) -> &'static str {
        match self {
            State::Pass => "✅",
            State::Fail => "❌",
            State::Unknown => "⚠️",
        }
    }

    /// A stable identifier (HTML classes).
    pub fn slug(self) -> &'static str {
        match self {
            State::Pass => "pass",
            State::Fail => "fail",
            State::Unknown => "unknown",
        }
    }
}

/// Whose words a state is said in: each evaluation answers in the words its
/// readers know, and every renderer uses these words and no others.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Vocabulary {
    /// The Final Launch Checklist: verified, failed, not verified.
    Checklist,
    /// The vendor scorecard: yes, no, could not tell.
    Scorecard,
    /// The client referee: pass, fail, not exercised.
    Referee,
    /// The launch decision over the checklist: GO, NO-GO, INCOMPLETE.
    Decision,
}

impl Vocabulary {
    /// Every vocabulary.
    pub const ALL: [Vocabulary; 4] = [
        Vocabulary::Checklist,
        Vocabulary::Scorecard,
        Vocabulary::Referee,
        Vocabulary::Decision,
    ];

    /// The state in this vocabulary's words.
    pub fn word(self, state: State) -> &'static str {
        use State::{Fail, Pass, Unknown};
        match (self, state) {
            (Vocabulary::Checklist, Pass) => "verified",
            (Vocabulary::Checklist, Fail) => "failed",
            (Vocabulary::Checklist, Unknown) => "not verified",
            (Vocabulary::Scorecard, Pass) => "yes",
            (Vocabulary::Scorecard, Fail) => "no",
            (Vocabulary::Scorecard, Unknown) => "could not tell",
            (Vocabulary::Referee, Pass) => "pass",
            (Vocabulary::Referee, Fail) => "fail",
            (Vocabulary::Referee, Unknown) => "not exercised",
            (Vocabulary::Decision, Pass) => "GO",
            (Vocabulary::Decision, Fail) => "NO-GO",
            (Vocabulary::Decision, Unknown) => "INCOMPLETE",
        }
    }

    /// The word as an identifier (`not_verified`, `incomplete`): JUnit types.
    pub fn slug(self, state: State) -> String {
        self.word(state).replace([' ', '-'], "_").to_lowercase()
    }

    /// The heading of the column that holds the state.
    pub fn heading(self) -> &'static str {
        match self {
            Vocabulary::Checklist | Vocabulary::Referee => "Verdict",
            Vocabulary::Scorecard => "Answer",
            Vocabulary::Decision => "Decision",
        }
    }
}

/// Something a probe measured, shown beside the answer.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Finding {
    /// What (`Retention window`, `Signature scheme`, ...).
    pub name: String,
    /// The measurement, in words.
    pub value: String,
}

/// One thing seen that bears on the answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    /// What was seen, in one line (`` passed `suite::case`: … ``, a journal line).
    pub what: String,
    /// The request that showed it, when it is not the line itself.
    pub request: Option<String>,
}

impl Seen {
    /// A line that speaks for itself.
    pub fn line(what: impl Into<String>) -> Seen {
        Seen {
            what: what.into(),
            request: None,
        }
    }
}

/// One evaluated question.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// A stable id (`retry-logic`, `idempotency`): JUnit class names (`suite.id`;
    /// empty for the one row of a suite, whose class name is the suite's).
    pub id: String,
    /// The question, as its readers know it.
    pub title: String,
    /// Where it stands.
    pub state: State,
    /// One sentence: why this state.
    pub why: String,
    /// What would settle it, when it is not a pass (what to run, supply or fix).
    pub settle: Option<String>,
    /// True when a decision waits on it: an unknown then keeps the decision open.
    pub required: bool,
    /// What was measured, beside the answer.
    pub findings: Vec<Finding>,
    /// What was seen.
    pub seen: Vec<Seen>,
    /// The one request that best shows the answer, if there is one.
    pub shown: Option<String>,
}

impl Row {
    /// A row with nothing seen yet.
    pub fn new(id: impl Into<String>, title: impl Into<String>, state: State, why: String) -> Row {
        Row {
            id: id.into(),
            title: title.into(),
            state,
            why,
            settle: None,
            required: true,
            findings: Vec::new(),
            seen: Vec::new(),
            shown: None,
        }
    }

    /// What settles it, shown only while it is not a pass.
    pub fn open_settle(&self) -> Option<&str> {
        self.settle.as_deref().filter(|_| self.state != State::Pass)
    }
}

/// Something that makes a whole evaluation untrustworthy (the refereed client
/// crashed): rendered as an errored case beside the rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// What should have held (`The client ran to completion`).
    pub title: String,
    /// A short kind (`client`): the JUnit error type.
    pub kind: String,
    /// What went wrong.
    pub message: String,
}

/// A set of evaluated questions about one run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evaluation {
    /// Whose words its states are said in.
    pub vocabulary: Vocabulary,
    /// Its name as a JUnit suite (`vendor-scorecard`, `referee`).
    pub suite: String,
    /// The heading of the question column (`Question`, `Behaviour`, `Item`).
    pub subject: String,
    /// One paragraph introducing it.
    pub intro: Option<String>,
    /// When what it evaluates started (RFC 3339).
    pub started_at: String,
    /// How long that took, in milliseconds.
    pub duration_ms: u64,
    /// Facts about the run (`launchgate.version`, `client.command`): JUnit properties.
    pub properties: Vec<(String, String)>,
    /// What makes the whole evaluation untrustworthy, if anything.
    pub problem: Option<Problem>,
    /// What it says to a row with nothing seen (`no probe ran`).
    pub nothing_seen: String,
    /// The questions, in report order.
    pub rows: Vec<Row>,
}

impl Evaluation {
    /// An evaluation with no rows yet.
    pub fn new(vocabulary: Vocabulary, suite: &str, subject: &str) -> Evaluation {
        Evaluation {
            vocabulary,
            suite: suite.to_string(),
            subject: subject.to_string(),
            intro: None,
            started_at: String::new(),
            duration_ms: 0,
            properties: Vec::new(),
            problem: None,
            nothing_seen: "nothing was seen".to_string(),
            rows: Vec::new(),
        }
    }

    /// The state of a row in this evaluation's words.
    pub fn word(&self, row: &Row) -> &'static str {
        self.vocabulary.word(row.state)
    }

    /// How many rows stand where, in its words: `11 verified, 0 failed, 2 not verified`.
    pub fn counts(&self) -> String {
        State::ALL
            .iter()
            .map(|&s| {
                let n = self.rows.iter().filter(|r| r.state == s).count();
                format!("{n} {}", self.vocabulary.word(s))
            })
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Where the whole stands: a fail anywhere or a problem fails it; an unknown
    /// required row keeps it unknown; else it passes. A non-required unknown (a
    /// situation the client never met) does not hold it open.
    pub fn overall(&self) -> State {
        if self.problem.is_some() || self.rows.iter().any(|r| r.state == State::Fail) {
            State::Fail
        } else if self
            .rows
            .iter()
            .any(|r| r.required && r.state == State::Unknown)
        {
            State::Unknown
        } else {
            State::Pass
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// One evaluation holding a row in each state, in the given words.
    pub(crate) fn sample(vocabulary: Vocabulary) -> Evaluation {
        let mut ev = Evaluation::new(vocabulary, "sample", "Question");
        ev.started_at = "2024-01-01T00:00:00Z".into();
        ev.duration_ms = 1500;
        ev.properties = vec![("launchgate.version".into(), "0".into())];
        ev.nothing_seen = "no probe ran".into();
        for state in State::ALL {
            let mut row = Row::new(
                state.slug(),
                format!("Is it {}?", state.slug()),
                state,
                format!("because `{}` | was seen", state.slug()),
            );
            row.settle = Some(format!("settle-{}", state.slug()));
            row.seen = vec![Seen {
                what: format!("seen-{}", state.slug()),
                request: Some(format!("GET /{}", state.slug())),
            }];
            row.findings = vec![Finding {
                name: "Measured".into(),
                value: format!("value-{}", state.slug()),
            }];
            row.shown = Some(format!("GET /{}", state.slug()));
            ev.rows.push(row);
        }
        ev
    }

    #[test]
    fn every_vocabulary_has_three_distinct_words_and_unknown_is_no_pass() {
        for v in Vocabulary::ALL {
            let words: Vec<&str> = State::ALL.iter().map(|&s| v.word(s)).collect();
            assert_eq!(
                words
                    .iter()
                    .collect::<std::collections::BTreeSet<_>>()
                    .len(),
                3,
                "{v:?}: {words:?}"
            );
            let unknown = v.word(State::Unknown);
            for pass_words in ["verified", "yes", "pass", "GO"] {
                assert_ne!(unknown, pass_words, "{v:?}");
            }
            assert!(v
                .slug(State::Unknown)
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b == b'_'));
        }
    }

    #[test]
    fn overall_fails_on_any_fail_and_stays_open_on_a_required_unknown() {
        let mut ev = sample(Vocabulary::Checklist);
        assert_eq!(ev.overall(), State::Fail);
        ev.rows.retain(|r| r.state != State::Fail);
        assert_eq!(
            ev.overall(),
            State::Unknown,
            "a required unknown is never a pass"
        );
        ev.rows[1].required = false;
        assert_eq!(ev.overall(), State::Pass);
        ev.problem = Some(Problem {
            title: "ran".into(),
            kind: "client".into(),
            message: "crashed".into(),
        });
        assert_eq!(ev.overall(), State::Fail, "a problem fails the whole");
    }

    #[test]
    fn counts_name_every_state_in_its_words() {
        assert_eq!(
            sample(Vocabulary::Scorecard).counts(),
            "1 yes, 1 no, 1 could not tell"
        );
        let mut ev = sample(Vocabulary::Checklist);
        ev.rows.retain(|r| r.state != State::Pass);
        assert_eq!(ev.counts(), "0 verified, 1 failed, 1 not verified");
    }

    /// The model imports nothing else of launchgate: the checklist, the scorecard,
    /// the referee and the reports import it, so it can never close a cycle.
    #[test]
    fn evaluation_is_a_leaf_module() {
        let sources = [
            include_str!("mod.rs"),
            include_str!("markdown.rs"),
            include_str!("html.rs"),
            include_str!("junit.rs"),
            include_str!("console.rs"),
        ];
        let path = concat!("crate", "::");
        for text in sources {
            let code = text.split("#[cfg(test)]").next().unwrap_or(text);
            assert!(!code.contains(path), "{}", &code[..80]);
        }
    }

    #[test]
    fn settle_shows_only_while_open() {
        let ev = sample(Vocabulary::Referee);
        let settles: Vec<Option<&str>> = ev.rows.iter().map(Row::open_settle).collect();
        assert_eq!(settles, [None, Some("settle-fail"), Some("settle-unknown")]);
    }
}
