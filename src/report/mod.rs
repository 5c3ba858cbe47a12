//! Results of a run as plain data, and the reporters that render them.
//!
//! The runner produces a [`RunReport`]; reporters ([`junit`], [`json`],
//! [`console`]) only read it. Every reporter writes through [`write_atomic`],
//! and every string in a report has already passed the redactor.

pub mod checklist;
pub mod console;
pub mod html;
pub mod json;
pub mod junit;

use std::io::Write;
use std::path::Path;

use serde::{Deserialize, Serialize};

/// The outcome of one test case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// Every expectation held.
    Passed,
    /// An expectation did not hold.
    Failed,
    /// The case could not be judged: transport error, deadline, template error.
    Errored,
    /// Not run: missing inputs, writes not allowed, wrong target kind.
    Skipped,
    /// A guard did not hold, so the case could not prove anything; never a pass.
    Inconclusive,
}

impl Outcome {
    /// True for outcomes that make a run fail.
    pub fn is_failure(self) -> bool {
        matches!(self, Outcome::Failed | Outcome::Errored)
    }

    /// True for outcomes that did not prove anything (skipped or inconclusive).
    pub fn is_skip(self) -> bool {
        matches!(self, Outcome::Skipped | Outcome::Inconclusive)
    }

    /// Lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Passed => "passed",
            Outcome::Failed => "failed",
            Outcome::Errored => "errored",
            Outcome::Skipped => "skipped",
            Outcome::Inconclusive => "inconclusive",
        }
    }
}

/// Why a case or a step waited.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WaitCause {
    /// An HTTP 429 the step did not ask for: its Retry-After (or 1 s without one).
    RetryAfter,
    /// The step's own `wait:`.
    Wait,
    /// The interval between two requests of a `repeat:`.
    Repeat,
    /// A `lock` or `serial` another case held.
    Lock,
    /// The target's advertised rate-limit budget for the key (`X-RateLimit-Remaining`
    /// at 0 until its reset), so that launchgate does not provoke a 429 itself.
    RateLimit,
    /// Every concurrency slot (`--jobs`, requests in flight) was taken.
    Slot,
}

impl WaitCause {
    /// Every cause, in the order summaries list them.
    pub const ALL: [WaitCause; 6] = [
        WaitCause::RetryAfter,
        WaitCause::Wait,
        WaitCause::Repeat,
        WaitCause::Lock,
        WaitCause::RateLimit,
        WaitCause::Slot,
    ];

    /// A few words for humans: `Retry-After`, `wait:`.
    pub fn label(self) -> &'static str {
        match self {
            WaitCause::RetryAfter => "Retry-After",
            WaitCause::Wait => "wait:",
            WaitCause::Repeat => "repeat interval",
            WaitCause::Lock => "lock",
            WaitCause::RateLimit => "rate-limit budget",
            WaitCause::Slot => "concurrency slot",
        }
    }

    /// True for a pause the scenario or the target asked for (Retry-After, `wait:`,
    /// a repeat's interval), as opposed to queueing inside launchgate.
    pub fn is_pause(self) -> bool {
        matches!(
            self,
            WaitCause::RetryAfter | WaitCause::Wait | WaitCause::Repeat | WaitCause::RateLimit
        )
    }
}

/// One wait, with its cause and how long it lasted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Wait {
    /// Why.
    pub cause: WaitCause,
    /// How long, in milliseconds.
    pub ms: u64,
}

/// All the waits of one cause in a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct WaitTotal {
    /// Why.
    pub cause: WaitCause,
    /// Milliseconds, summed (waits of different cases overlap in wall time).
    pub ms: u64,
    /// How many waits.
    pub count: usize,
}

/// How a run used its time: concurrency, waits by cause, connections.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Execution {
    /// Requests allowed in flight at once (`--jobs`).
    pub jobs: usize,
    /// The most that were in flight at once.
    pub peak_in_flight: usize,
    /// Time spent waiting, by cause.
    pub waited: Vec<WaitTotal>,
    /// Connections opened and their set-up time, which no request's latency includes.
    pub connections: crate::http::Connections,
}

/// One step as it ran.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StepReport {
    /// The step's name.
    pub name: String,
    /// The request line for humans: `METHOD URL` (redacted), with what kind of
    /// exchange it was (`(x5 in parallel)`, `RECEIVE url`).
    pub request: String,
    /// The HTTP method of the request the step sent; absent for a `receive:` step
    /// and in reports written before launchgate recorded it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// The URL of that request, expanded and redacted (for `pages:`, without the
    /// page parameter).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The path as the scenario writes it, before templates are expanded, behind the
    /// suite's base path: `/api/agent/v1/partner/cards/{{ vars.card }}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path_template: Option<String>,
    /// Every wait of the step, in order, with its cause.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub waits: Vec<Wait>,
    /// The final HTTP status, if a response came.
    pub status: Option<u16>,
    /// Requests sent for this step (repeats and 429 retries included).
    pub attempts: u32,
    /// Wall time of the step in milliseconds, waits included.
    pub duration_ms: u64,
    /// Latency of the last request the step sent, in milliseconds (send to response
    /// head and body read), without waits; absent when no response came.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_ms: Option<f64>,
    /// Things worth knowing: Retry-After honoured, waits, repeats.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// Every redirect the target answered with (URLs redacted), in order: followed
    /// within the target's origin, or the one launchgate refused to follow.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub redirects: Vec<crate::http::Hop>,
    /// How the step ended.
    pub outcome: Outcome,
    /// Values the step's `record:` asked to keep, as data (the vendor scorecard's
    /// findings read them); only for a step that passed.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub records: std::collections::BTreeMap<String, serde_json::Value>,
}

/// One redirect hop in words: `HTTP 302 http://a/x -> http://b/y (not followed)`.
pub fn hop_line(h: &crate::http::Hop) -> String {
    format!(
        "HTTP {} {} -> {} ({})",
        h.status,
        h.from,
        h.to,
        if h.followed {
            "followed"
        } else {
            "not followed"
        }
    )
}

/// Why a case failed or errored.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FailureReport {
    /// The step that failed.
    pub step: String,
    /// `file:line:col` of the failing expectation.
    pub location: String,
    /// One line: what went wrong.
    pub message: String,
    /// Expected vs actual, one mismatch per line.
    pub details: Vec<String>,
    /// The request line (redacted).
    pub request: String,
    /// A bounded, redacted excerpt of the response (status, headers, body).
    pub response: Option<String>,
}

/// One test case as it ran.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CaseReport {
    /// `suite::case name`, the libtest trial name.
    pub id: String,
    /// The case name.
    pub name: String,
    /// The scenario file.
    pub file: String,
    /// The line of the case in its file; 0 when the case has no place in a file
    /// (a scorecard answer, a referee verdict): reports then name no file.
    pub line: usize,
    /// How it ended.
    pub outcome: Outcome,
    /// For skipped and inconclusive cases: why.
    pub reason: Option<String>,
    /// For failed and errored cases: what and where.
    pub failure: Option<FailureReport>,
    /// Checklist items this case is evidence for.
    pub checklist: Vec<String>,
    /// Vendor scorecard questions this case answers (`vendor:` in the scenario).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub vendor: Vec<String>,
    /// When it started (RFC 3339).
    pub started_at: String,
    /// Wall time in milliseconds.
    pub duration_ms: u64,
    /// Waits before its first step (a lock another case held).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub waits: Vec<Wait>,
    /// The steps that ran.
    pub steps: Vec<StepReport>,
}

/// One scenario file's results.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SuiteReport {
    /// Dotted suite name.
    pub name: String,
    /// The scenario file.
    pub file: String,
    /// Its cases, in file order (filtered-out cases are absent).
    pub cases: Vec<CaseReport>,
}

/// A case that does not apply to the run's kind of target (`requires: {target: mock}`
/// against a real target): it was not run and is not a skip, because nothing the
/// user could supply would make it run there. It never counts towards
/// `--fail-on-skip`, an incomplete decision or any total in [`Totals`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotApplicableCase {
    /// `suite::case name`.
    pub id: String,
    /// The scenario file.
    pub file: String,
    /// The line of the case in its file.
    pub line: usize,
    /// Which kind of target it is for.
    pub reason: String,
}

/// Counts by outcome.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Totals {
    /// Cases reported.
    pub total: usize,
    /// Passed.
    pub passed: usize,
    /// Failed.
    pub failed: usize,
    /// Errored.
    pub errored: usize,
    /// Skipped.
    pub skipped: usize,
    /// Inconclusive.
    pub inconclusive: usize,
}

/// What was tested.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TargetSummary {
    /// `mock` or `remote`.
    pub kind: String,
    /// A human name.
    pub name: String,
    /// The base URL (never carries a key).
    pub base_url: String,
}

/// The whole run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunReport {
    /// launchgate's version.
    pub version: String,
    /// The target.
    pub target: TargetSummary,
    /// Machine name (JUnit `hostname`).
    pub hostname: String,
    /// Start time (RFC 3339).
    pub started_at: String,
    /// Wall time of the run in milliseconds.
    pub duration_ms: u64,
    /// HTTP requests sent, and how many got a response.
    pub requests_sent: u64,
    /// Requests that got an HTTP response (0 with requests sent = target unreachable).
    pub responses_received: u64,
    /// True if the run deadline cut the run short.
    pub deadline_hit: bool,
    /// Per file.
    pub suites: Vec<SuiteReport>,
    /// Cases left out because they do not apply to this kind of target (not skips).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub not_applicable: Vec<NotApplicableCase>,
    /// Key-management problems in the target's configuration (names only).
    #[serde(default)]
    pub key_findings: Vec<checklist::KeyFinding>,
    /// The git commit of the scenario files (`git rev-parse HEAD`, `-dirty` appended when
    /// they have uncommitted changes), `built-in` for the suite compiled into launchgate,
    /// absent when unknown (not in a git work tree).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scenarios_commit: Option<String>,
    /// How the run used its time (absent in reports of other origins, e.g. a scorecard).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution: Option<Execution>,
    /// Inputs (keys, fixtures, target facts) that cases needed and the target lacked,
    /// each with where to supply it: what the checklist names for an INCOMPLETE decision.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub missing_inputs: Vec<MissingInput>,
}

/// An input a run lacked, and the cases that needed it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MissingInput {
    /// What it is: ``key `ratelimit` ``, ``fixture `card_id` ``, ``target fact `role` ``.
    pub input: String,
    /// Where to supply it: an environment variable (`LAUNCHGATE_RATELIMIT_KEY`) or what to
    /// declare in the target file.
    pub supply: String,
    /// The ids of the cases that needed it.
    pub cases: Vec<String>,
}

impl RunReport {
    /// Counts by outcome.
    pub fn totals(&self) -> Totals {
        let mut t = Totals::default();
        for c in self.suites.iter().flat_map(|s| &s.cases) {
            t.total += 1;
            match c.outcome {
                Outcome::Passed => t.passed += 1,
                Outcome::Failed => t.failed += 1,
                Outcome::Errored => t.errored += 1,
                Outcome::Skipped => t.skipped += 1,
                Outcome::Inconclusive => t.inconclusive += 1,
            }
        }
        t
    }

    /// Every case, in order.
    pub fn cases(&self) -> impl Iterator<Item = &CaseReport> {
        self.suites.iter().flat_map(|s| &s.cases)
    }

    /// Time spent waiting, by cause, summed over every case and step (only causes
    /// with some wait).
    pub fn waiting(&self) -> Vec<WaitTotal> {
        let mut by: std::collections::BTreeMap<WaitCause, WaitTotal> = Default::default();
        for c in self.cases() {
            let waits = c.waits.iter().chain(c.steps.iter().flat_map(|s| &s.waits));
            for w in waits {
                let e = by.entry(w.cause).or_insert(WaitTotal {
                    cause: w.cause,
                    ms: 0,
                    count: 0,
                });
                e.ms += w.ms;
                e.count += 1;
            }
        }
        by.into_values().collect()
    }
}

/// Writes `contents` to `path` atomically: a temp file in the same directory, then rename,
/// so a reader never sees half a report, even if the run is killed mid-write.
///
/// The file is created with mode 0666 minus the process umask (0644 under the usual
/// 022), like any file a tool writes: a CI agent running as another user must be able
/// to read what a container wrote. (A temporary file alone would be 0600.)
pub fn write_atomic(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(dir)?;
    let mut builder = tempfile::Builder::new();
    // Created like any other file (0666 less the umask), not tempfile's 0600: CI
    // artifact uploaders, and the host user of a container, read the reports.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(0o666));
    }
    let mut tmp = builder.tempfile_in(dir)?;
    tmp.write_all(contents)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// True for a character XML 1.0 does not allow anywhere in a document: C0 controls
/// other than tab, line feed and carriage return, and U+FFFE / U+FFFF. (Lone
/// surrogates cannot occur in a Rust string; one escaped in a JSON body stays the
/// escape's text.)
pub fn xml_forbidden(c: char) -> bool {
    matches!(c, '\u{0}'..='\u{8}' | '\u{b}' | '\u{c}' | '\u{e}'..='\u{1f}' | '\u{fffe}' | '\u{ffff}')
}

/// Replaces every character XML 1.0 forbids with U+FFFD, so any report (JUnit, HTML,
/// Markdown, JSON) stays readable by every consumer whatever a target sent.
pub fn xml_safe(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.chars().any(xml_forbidden) {
        return std::borrow::Cow::Borrowed(text);
    }
    std::borrow::Cow::Owned(
        text.chars()
            .map(|c| if xml_forbidden(c) { '\u{fffd}' } else { c })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forbidden_characters_are_replaced_and_the_rest_kept() {
        let s = "a\u{0}b\u{fffe}c\u{ffff}d\u{1b}e\tf\ng\rh\u{fffd}i\u{10ffff}";
        assert_eq!(
            xml_safe(s),
            "a\u{fffd}b\u{fffd}c\u{fffd}d\u{fffd}e\tf\ng\rh\u{fffd}i\u{10ffff}"
        );
        assert!(matches!(xml_safe("plain"), std::borrow::Cow::Borrowed(_)));
    }
}
