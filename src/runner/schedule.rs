//! Critical-path-first scheduling: which case goes first, and the ticket a case
//! carries while it runs.
//!
//! Every case's duration is estimated (from the previous report's per-case
//! durations when one is at hand, else from its steps: requests, repeats, pages,
//! `wait:`s and `receive:` windows), and a case that shares a lock with others
//! carries their estimates too, since the group runs one at a time. The run then
//! starts cases longest chain first, and a freed slot goes to the longest chain
//! waiting ([`super::slots`]), so the case that decides the run's wall time (the
//! rate-limit case with its Retry-After, a locked group) never queues behind short work.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use tokio::sync::oneshot;

use super::Runner;
use crate::plan::PlannedCase;
use crate::report::Outcome;
use crate::scenario::{load::parse_wait, CaseSpec, StepSpec};
use crate::template::{expand_str, Scope};

/// Assumed latency of one request without a previous report to go by.
const REQUEST_MS: u64 = 20;
/// Assumed length of a wait whose length is only known at run time (a captured
/// Retry-After): long, so a case that will wait starts early.
const UNKNOWN_WAIT_MS: u64 = 1000;
/// Repeats and pages counted at most this many requests.
const MANY: u64 = 10;

tokio::task_local! {
    /// The ticket of the case whose task this is.
    static TICKET: Arc<Ticket>;
}

/// What a running case carries: its priority, and when it really started.
pub(super) struct Ticket {
    /// The case's id.
    pub id: String,
    /// Longest chain first: the estimated milliseconds of the case and of the cases
    /// locked together with it.
    pub priority: u64,
    /// Tells the scheduler the case is in line (for a slot, a lock, a wait), so the
    /// next case may start; taken once.
    settled: Mutex<Option<oneshot::Sender<()>>>,
    /// When it first sent a request or began a wait: queueing before that is not
    /// part of its duration.
    started: OnceLock<(Instant, chrono::DateTime<chrono::Utc>)>,
}

impl Ticket {
    /// A ticket, and what resolves once the case is in line (or done).
    pub fn new(id: &str, priority: u64) -> (Arc<Ticket>, oneshot::Receiver<()>) {
        let (tx, rx) = oneshot::channel();
        let t = Ticket {
            id: id.to_string(),
            priority,
            settled: Mutex::new(Some(tx)),
            started: OnceLock::new(),
        };
        (Arc::new(t), rx)
    }

    /// Runs `f` with this ticket as the current one.
    pub async fn scope<F: std::future::Future>(self: Arc<Self>, f: F) -> F::Output {
        TICKET.scope(self, f).await
    }

    /// The ticket of the current case, if the current task runs one.
    pub fn current() -> Option<Arc<Ticket>> {
        TICKET.try_with(Arc::clone).ok()
    }

    /// The case is in line: the next case may start.
    pub fn settle(&self) {
        if let Some(tx) = self.settled.lock().take() {
            let _ = tx.send(());
        }
    }

    /// The case does something now (a request has its slot, a wait begins).
    pub fn start(&self) {
        self.settle();
        self.started
            .get_or_init(|| (Instant::now(), chrono::Utc::now()));
    }

    /// When it started, if it did.
    pub fn started(&self) -> Option<(Instant, chrono::DateTime<chrono::Utc>)> {
        self.started.get().copied()
    }
}

/// Marks the current case as in line (no-op outside a case).
pub(super) fn settle() {
    if let Some(t) = Ticket::current() {
        t.settle();
    }
}

/// Marks the current case as started (no-op outside a case).
pub(super) fn start() {
    if let Some(t) = Ticket::current() {
        t.start();
    }
}

/// The current case's priority (0 outside a case).
pub(super) fn priority() -> u64 {
    Ticket::current().map_or(0, |t| t.priority)
}

/// What an earlier run says of how long cases take.
#[derive(Debug, Clone, Default)]
pub struct History {
    /// Milliseconds per case id, of cases that ran to a verdict (passed or failed:
    /// an errored case may have been cut short).
    cases: HashMap<String, u64>,
    /// The median latency of one request, the unit of the estimate of a case the
    /// earlier run did not have (so both kinds of estimate are in the same units).
    request_ms: Option<u64>,
}

/// Per-case durations from an earlier JSON report (nothing when there is none or
/// it does not parse): the best estimate of how long each case takes.
pub fn history(path: &Path) -> History {
    let Ok(text) = std::fs::read_to_string(path) else {
        return History::default();
    };
    let Ok(report) = serde_json::from_str::<crate::report::RunReport>(&text) else {
        return History::default();
    };
    let cases = report
        .cases()
        .filter(|c| matches!(c.outcome, Outcome::Passed | Outcome::Failed))
        .map(|c| (c.id.clone(), c.duration_ms))
        .collect();
    let mut latencies: Vec<f64> = report
        .cases()
        .flat_map(|c| &c.steps)
        .filter_map(|s| s.request_ms)
        .collect();
    latencies.sort_by(f64::total_cmp);
    // Rounded down: a case's duration (rounded down too) is never below its request's.
    let request_ms = latencies
        .get(latencies.len() / 2)
        .map(|ms| (*ms as u64).max(1));
    History { cases, request_ms }
}

impl Runner {
    /// The cases in the order they start, each with its priority: longest chain
    /// first, ties in plan order.
    pub(super) fn schedule(&self, selected: &[PlannedCase]) -> Vec<(PlannedCase, u64)> {
        let estimates: Vec<u64> = selected.iter().map(|pc| self.estimate(pc)).collect();
        let cases: Vec<&CaseSpec> = selected
            .iter()
            .map(|pc| &self.suites[pc.suite].spec.cases[pc.case].value)
            .collect();
        // A lock group runs one case at a time: each member's chain holds the others.
        let mut group: BTreeMap<&str, u64> = BTreeMap::new();
        for (c, e) in cases.iter().zip(&estimates) {
            for l in dedup(&c.locks) {
                *group.entry(l).or_default() += e;
            }
        }
        let mut order: Vec<(PlannedCase, u64)> = selected
            .iter()
            .zip(&cases)
            .zip(&estimates)
            .map(|((pc, c), &e)| {
                let locked = dedup(&c.locks)
                    .map(|l| group.get(l).copied().unwrap_or(0).saturating_sub(e))
                    .max()
                    .unwrap_or(0);
                (pc.clone(), e + locked)
            })
            .collect();
        // Stable: equal chains keep plan order.
        order.sort_by_key(|(_, p)| std::cmp::Reverse(*p));
        order
    }

    /// A case's estimated duration in milliseconds.
    fn estimate(&self, pc: &PlannedCase) -> u64 {
        if pc.skip.is_some() {
            return 0;
        }
        if let Some(&ms) = self.history.cases.get(&pc.id) {
            return ms;
        }
        let unit = self.history.request_ms.unwrap_or(REQUEST_MS);
        let suite = &self.suites[pc.suite];
        let scope = self.scope(suite);
        let case = &suite.spec.cases[pc.case].value;
        case.steps
            .iter()
            .map(|s| step_estimate(&s.value, &scope, unit))
            .sum::<u64>()
            .max(1)
    }
}

/// A step's estimated milliseconds, with `request_ms` per request.
fn step_estimate(step: &StepSpec, scope: &Scope<'_>, request_ms: u64) -> u64 {
    let mut ms = 0;
    if let Some(w) = &step.wait {
        ms += duration_ms(&w.value, scope).unwrap_or(UNKNOWN_WAIT_MS);
    }
    if let Some(r) = &step.receive {
        // It ends when its condition holds, usually well within its window.
        ms += duration_ms(&r.value.within.value, scope)
            .unwrap_or(UNKNOWN_WAIT_MS)
            .min(UNKNOWN_WAIT_MS);
    }
    if step.request.is_some() {
        ms += if let Some(r) = &step.repeat {
            let interval = r
                .value
                .interval
                .as_deref()
                .and_then(|i| humantime::parse_duration(i).ok())
                .map_or(0, |d| d.as_millis() as u64);
            u64::from(r.value.max).min(MANY) * (request_ms + interval)
        } else if let Some(p) = &step.pages {
            u64::from(p.value.max).min(MANY) * request_ms
        } else {
            request_ms
        };
    }
    ms
}

/// A duration template's milliseconds, when it is known before the run.
fn duration_ms(template: &str, scope: &Scope<'_>) -> Option<u64> {
    let text = expand_str(template, scope).ok()?;
    let d: Duration = parse_wait(&text).ok()?;
    Some(d.as_millis() as u64)
}

fn dedup(locks: &[String]) -> impl Iterator<Item = &str> {
    let mut names: Vec<&str> = locks.iter().map(String::as_str).collect();
    names.sort_unstable();
    names.dedup();
    names.into_iter()
}
