//! Running planned cases on a shared tokio runtime and a shared HTTP client.
//!
//! Every request has a timeout, every loop a bound and the whole run a
//! deadline; a 429 that a step did not ask for is answered by waiting
//! Retry-After (capped) and sending again.
//!
//! One file per concern, in the order a step flows through them:
//! [`case`] (a case: exclusivity, deadline, interruption, its steps in order),
//! [`step`] (one step: guards, `wait:`, then the kind of exchange), [`request`]
//! (a request from its spec: URL, query, headers, body), [`send`] (sending with
//! 429 handling and `repeat:`), [`parallel`], [`pages`], [`receive`] (the other
//! kinds of exchange), and [`judge`] (expectations, captures, snapshots,
//! failure reports).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use serde_saphyr::Location;

use crate::http::Http;
use crate::http::{Request, Response};
use crate::redact::Redactor;
use crate::report::{FailureReport, StepReport, Wait, WaitCause};
use crate::scenario::RequestSpec;
use crate::scenario::Suite;
use crate::snapshot;
use crate::target::Target;
use crate::template::Scope;

mod budget;
mod case;
mod judge;
mod pages;
mod parallel;
mod progress;
mod receive;
mod request;
mod schedule;
mod send;
mod slots;
mod step;
pub mod trials;

pub use request::{join_url, request_url};
pub use schedule::{history, History};
pub use send::retry_after;

/// Knobs of a run.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Per-request timeout (a step may override it).
    pub timeout: Duration,
    /// The whole run's deadline, from its start.
    pub deadline: Duration,
    /// The longest Retry-After or `wait` honoured; longer ones fail the step.
    pub max_wait: Duration,
    /// How many times one step is re-sent after an unexpected 429.
    pub max_429_retries: u32,
    /// Response bodies are kept up to this many bytes.
    pub body_cap: usize,
    /// How much of a body a failure report shows, in characters.
    pub excerpt_chars: usize,
    /// Print notes (429 waits) to stderr.
    pub verbose_notes: bool,
    /// Requests in flight at most (`--jobs`): a case that waits holds none.
    pub jobs: usize,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            timeout: Duration::from_secs(10),
            deadline: Duration::from_secs(600),
            max_wait: Duration::from_secs(120),
            max_429_retries: 3,
            body_cap: crate::http::DEFAULT_BODY_CAP,
            excerpt_chars: 2000,
            verbose_notes: true,
            jobs: 4,
        }
    }
}

/// Shared state of one run.
pub struct Runner {
    http: Http,
    target: Target,
    suites: Arc<Vec<Suite>>,
    redactor: Redactor,
    options: RunOptions,
    snapshots: snapshot::Store,
    run_vars: BTreeMap<String, String>,
    started: Instant,
    sent: AtomicU64,
    received: AtomicU64,
    deadline_hit: AtomicBool,
    serial: tokio::sync::RwLock<()>,
    locks: Mutex<BTreeMap<String, Arc<tokio::sync::Mutex<()>>>>,
    receiver: Option<Arc<crate::receiver::Receiver>>,
    /// Set (to the signal's name) when the run is interrupted: running cases stop,
    /// cases not started end at once, all as errored.
    stop: tokio::sync::watch::Sender<Option<&'static str>>,
    /// Per-case durations of an earlier run, for the schedule.
    history: History,
    /// Requests in flight, at most `options.jobs`.
    slots: slots::Slots,
    /// The target's rate-limit budget per key.
    budgets: budget::Budgets,
    /// Long waits, told as they happen.
    progress: progress::Progress,
}

/// What lets a request go: its slots and its key's budget (both given back on drop).
struct Admitted<'a> {
    _permit: slots::Permit,
    _spent: budget::Spent<'a>,
    key: Option<&'a str>,
}

/// How a step ended.
enum Verdict {
    Pass,
    Fail(FailureReport),
    Error(FailureReport),
    Inconclusive(String),
}

impl Runner {
    /// A runner for these suites against this target.
    pub fn new(
        http: Http,
        target: Target,
        suites: Arc<Vec<Suite>>,
        redactor: Redactor,
        options: RunOptions,
        snapshots: snapshot::Store,
        run_id: String,
    ) -> Runner {
        let mut run_vars = BTreeMap::new();
        run_vars.insert("id".to_string(), run_id);
        run_vars.insert(
            "date".to_string(),
            chrono::Utc::now().format("%Y-%m-%d").to_string(),
        );
        Runner {
            slots: slots::Slots::new(options.jobs),
            budgets: budget::Budgets::default(),
            progress: progress::Progress::new(if options.verbose_notes {
                progress::Display::detect()
            } else {
                progress::Display::Off
            }),
            history: Default::default(),
            http,
            target,
            suites,
            redactor,
            options,
            snapshots,
            run_vars,
            started: Instant::now(),
            sent: AtomicU64::new(0),
            received: AtomicU64::new(0),
            deadline_hit: AtomicBool::new(false),
            serial: tokio::sync::RwLock::new(()),
            locks: Mutex::new(BTreeMap::new()),
            receiver: None,
            stop: tokio::sync::watch::Sender::new(None),
        }
    }

    /// Interrupts the run (SIGINT, SIGTERM): every case still running ends now, and
    /// every case not started ends at once, each errored with `why` in its reason.
    pub fn interrupt(&self, why: &'static str) {
        self.stop.send_replace(Some(why));
    }

    /// Why the run was interrupted, if it was.
    pub fn interrupted(&self) -> Option<&'static str> {
        *self.stop.borrow()
    }

    /// Resolves when the run is interrupted (never, if it is not).
    async fn until_interrupted(&self) -> &'static str {
        let mut rx = self.stop.subscribe();
        loop {
            if let Some(why) = *rx.borrow_and_update() {
                return why;
            }
            if rx.changed().await.is_err() {
                // The sender lives as long as the runner: this cannot happen.
                return std::future::pending().await;
            }
        }
    }

    /// More `{{ run.NAME }}` values (e.g. the retention probe's delays).
    pub fn with_run_vars(mut self, vars: impl IntoIterator<Item = (String, String)>) -> Runner {
        self.run_vars.extend(vars);
        self
    }

    /// Per-case durations of an earlier run ([`history`]): the schedule's best estimates.
    pub fn with_history(mut self, history: History) -> Runner {
        self.history = history;
        self
    }

    /// The most requests that were in flight at once.
    pub fn peak_in_flight(&self) -> usize {
        self.slots.peak()
    }

    /// Requests allowed in flight at once.
    pub fn jobs(&self) -> usize {
        self.options.jobs
    }

    /// Connections opened so far, and their set-up time.
    pub fn connections(&self) -> crate::http::Connections {
        self.http.connections()
    }

    /// Requests sent and responses received so far.
    pub fn counters(&self) -> (u64, u64) {
        (
            self.sent.load(Ordering::Relaxed),
            self.received.load(Ordering::Relaxed),
        )
    }

    /// True if the deadline cut a case short.
    pub fn deadline_hit(&self) -> bool {
        self.deadline_hit.load(Ordering::Relaxed)
    }

    fn remaining(&self) -> Duration {
        self.options.deadline.saturating_sub(self.started.elapsed())
    }

    fn lock_for(&self, name: &str) -> Arc<tokio::sync::Mutex<()>> {
        self.locks
            .lock()
            .entry(name.to_string())
            .or_default()
            .clone()
    }

    /// `file:line:col` of an expectation (or of `fallback` when it has no place).
    fn location(&self, suite: &Suite, at: Option<(usize, usize)>, fallback: Location) -> String {
        let (l, c) = at.unwrap_or((fallback.line() as usize, fallback.column() as usize));
        format!("{}:{}:{}", suite.path.display(), l, c)
    }

    /// A failure with only a place and a message (no request, no response).
    fn bare_failure(&self, suite: &Suite, at: Location, message: &str) -> FailureReport {
        FailureReport {
            step: String::new(),
            location: self.location(suite, None, at),
            message: self.redactor.redact(message).into_owned(),
            details: Vec::new(),
            request: String::new(),
            response: None,
        }
    }

    /// The template scope a case of `suite` starts with.
    fn scope(&self, suite: &Suite) -> Scope<'_> {
        // The suite's `defaults.target` fill in facts the target does not declare.
        let mut target = self.target.facts.clone();
        for (k, v) in &suite.spec.defaults.target {
            target.entry(k.clone()).or_insert_with(|| v.clone());
        }
        Scope {
            vars: BTreeMap::new(),
            keys: Some(&self.target.inputs.keys),
            fixtures: Some(&self.target.inputs.fixtures),
            run: self.run_vars.clone(),
            target,
        }
    }

    /// Sleeps `d`, recorded in the step as a wait of this cause. The case holds no
    /// slot meanwhile.
    async fn pause(&self, rep: &mut StepReport, cause: WaitCause, d: Duration) {
        schedule::start();
        let case = schedule::Ticket::current().map(|t| t.id.clone());
        let announced = self
            .progress
            .begin(case.as_deref().unwrap_or(&rep.name), cause, d);
        let t = Instant::now();
        tokio::time::sleep(d).await;
        drop(announced);
        record_wait(rep, cause, t.elapsed());
    }

    /// Waits until `n` requests (`headers` says with which key) may go: within the
    /// key's rate-limit budget (unless `exempt`: the step expects a 429) and with
    /// slots free. Both waits are recorded in the step.
    async fn admit<'a>(
        &'a self,
        headers: &[(String, String)],
        n: u32,
        exempt: bool,
        rep: &mut StepReport,
    ) -> Admitted<'a> {
        let key = budget::key_of(headers, &self.target.inputs.keys);
        let t = Instant::now();
        let spent = self.budgets.spend(key, n, exempt, schedule::settle).await;
        record_wait(rep, WaitCause::RateLimit, t.elapsed());
        let t = Instant::now();
        let was_started = schedule::Ticket::current().is_some_and(|t| t.started().is_some());
        let permit = self
            .slots
            .acquire(schedule::priority(), n as usize, schedule::settle)
            .await;
        // Queueing before the case's first request is the case's, not this step's.
        if was_started {
            record_wait(rep, WaitCause::Slot, t.elapsed());
        }
        schedule::start();
        Admitted {
            _permit: permit,
            _spent: spent,
            key,
        }
    }

    /// Learns the key's budget from an answer to an admitted request.
    fn learn(&self, admitted: &Admitted<'_>, resp: &Response) {
        self.budgets.learn(admitted.key, resp, 1);
    }

    /// Records in the step what it sends, as data: method, URL (redacted) and the
    /// path as written.
    fn describe(&self, rep: &mut StepReport, suite: &Suite, spec: &RequestSpec, req: &Request) {
        rep.method = Some(req.method.to_string());
        rep.url = Some(self.redactor.redact(&req.url).into_owned());
        rep.path_template = Some(format!(
            "{}{}",
            suite.spec.base_path.trim_end_matches('/'),
            spec.path.value
        ));
    }

    /// Adds a (redacted) note to a step, and prints it when notes are verbose.
    fn note(&self, rep: &mut StepReport, text: String) {
        let text = self.redactor.redact(&text).into_owned();
        if self.options.verbose_notes {
            self.progress
                .suspend(|| eprintln!("note: {}: {text}", rep.name));
        }
        rep.notes.push(text);
    }

    /// Adds a (redacted) note to a step without printing it (what it says is
    /// announced otherwise, e.g. a wait by [`progress`]).
    fn record_note(&self, rep: &mut StepReport, text: String) {
        rep.notes.push(self.redactor.redact(&text).into_owned());
    }
}

/// Records a wait of at least a millisecond in the step.
fn record_wait(rep: &mut StepReport, cause: WaitCause, d: Duration) {
    if d >= Duration::from_millis(1) {
        rep.waits.push(Wait {
            cause,
            ms: d.as_millis() as u64,
        });
    }
}

/// At most `max` characters of `s`, with `…` when cut.
fn shorten(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let cut: String = s.chars().take(max).collect();
    format!("{cut}…")
}
