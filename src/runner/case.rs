//! One case from start to report: its exclusivity (`serial`, `locks`), the run's
//! deadline and interruption, its steps in order, and a report it always gets,
//! even when launchgate itself panics inside it.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

use serde_json::Value;
use serde_saphyr::Location;

use super::schedule::{self, Ticket};
use super::{Runner, Verdict};
use crate::plan::PlannedCase;
use crate::report::{CaseReport, FailureReport, Outcome, StepReport, Wait, WaitCause};
use crate::scenario::{CaseSpec, StepSpec, Suite};
use crate::template::{expand_value, Scope};

/// How a case's run ended, before it becomes a report.
enum CaseEnd {
    /// Its steps ran to a verdict.
    Ran(Verdict),
    /// It never started: the message says why.
    NotStarted(String),
    /// The run deadline cut it short.
    Deadline,
    /// The run was interrupted (by the named signal) while it ran.
    Interrupted(&'static str),
}

/// The declared exclusivity a case holds while it runs (released on drop).
struct Exclusivity<'a> {
    /// Non-serial cases share the run; a `serial: true` case holds it alone.
    _shared: Option<tokio::sync::RwLockReadGuard<'a, ()>>,
    _alone: Option<tokio::sync::RwLockWriteGuard<'a, ()>>,
    /// The case's named `locks`.
    _locks: Vec<tokio::sync::OwnedMutexGuard<()>>,
}

impl Runner {
    /// The report of a planned case before it runs: identity, tags, no steps.
    fn blank_report(&self, planned: &PlannedCase) -> CaseReport {
        let suite = &self.suites[planned.suite];
        let spanned = &suite.spec.cases[planned.case];
        let case = &spanned.value;
        CaseReport {
            id: planned.id.clone(),
            name: case.name.value.clone(),
            file: suite.path.display().to_string(),
            line: spanned.referenced.line() as usize,
            outcome: Outcome::Passed,
            reason: None,
            failure: None,
            checklist: case.checklist.iter().map(|c| c.value.clone()).collect(),
            vendor: case.vendor.iter().map(|c| c.value.clone()).collect(),
            started_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            duration_ms: 0,
            waits: Vec::new(),
            steps: Vec::new(),
        }
    }

    /// An errored report for a planned case that could not report itself (a panic, a
    /// lost result): it still appears in every report, and fails the run.
    pub fn errored_report(&self, planned: &PlannedCase, message: &str) -> CaseReport {
        let suite = &self.suites[planned.suite];
        let at = suite.spec.cases[planned.case].referenced;
        let mut report = self.blank_report(planned);
        report.outcome = Outcome::Errored;
        report.failure = Some(self.bare_failure(suite, at, message));
        report
    }

    /// Runs one planned case on a task of its own, so that a panic anywhere inside
    /// it (a bug in launchgate or in a library) becomes an errored case carrying the
    /// panic message, in every report, instead of a case that silently vanishes.
    pub(super) async fn run_case_guarded(
        self: Arc<Self>,
        planned: PlannedCase,
        ticket: Arc<Ticket>,
    ) -> CaseReport {
        let runner = self.clone();
        let pc = planned.clone();
        let case = ticket.scope(async move { runner.run_case(&pc).await });
        match tokio::spawn(case).await {
            Ok(report) => report,
            Err(e) => {
                let why = if e.is_panic() {
                    panic_message(e.into_panic().as_ref())
                } else {
                    "its task was cancelled".to_string()
                };
                self.errored_report(
                    &planned,
                    &format!(
                        "launchgate panicked while running this case: {why} (a bug in launchgate; please report it)"
                    ),
                )
            }
        }
    }

    /// Runs one planned case to its report. Never panics on target behaviour.
    pub async fn run_case(&self, planned: &PlannedCase) -> CaseReport {
        let suite = &self.suites[planned.suite];
        let spanned = &suite.spec.cases[planned.case];
        let mut report = self.blank_report(planned);
        if let Some(reason) = &planned.skip {
            report.outcome = Outcome::Skipped;
            report.reason = Some(reason.clone());
            return report;
        }
        inject_panic(&planned.id);
        let t0 = Instant::now();
        let held = self.hold_exclusivity(&spanned.value).await;
        let locked = Instant::now();
        wait_since(&mut report.waits, WaitCause::Lock, t0, locked);
        let end = self
            .run_within_limits(suite, &spanned.value, &mut report.steps)
            .await;
        drop(held);
        self.conclude(&mut report, suite, spanned.referenced, end);
        // A case starts with its first request or wait: queueing for its first slot
        // is a wait, not part of its duration.
        let started = Ticket::current().and_then(|t| t.started());
        match started {
            Some((at, wall)) => {
                wait_since(&mut report.waits, WaitCause::Slot, locked, at);
                report.started_at = wall.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
                report.duration_ms = at.elapsed().as_millis() as u64;
            }
            None => report.duration_ms = t0.elapsed().as_millis() as u64,
        }
        report
    }

    /// Declared exclusivity: `serial` excludes everything, `locks` exclude their
    /// namesakes (taken in name order, so two cases never deadlock).
    /// A case that has to wait for one is in line: the next case may start.
    async fn hold_exclusivity(&self, case: &CaseSpec) -> Exclusivity<'_> {
        let (shared, alone) = if case.serial {
            let guard = match self.serial.try_write() {
                Ok(g) => g,
                Err(_) => {
                    schedule::settle();
                    self.serial.write().await
                }
            };
            (None, Some(guard))
        } else {
            let guard = match self.serial.try_read() {
                Ok(g) => g,
                Err(_) => {
                    schedule::settle();
                    self.serial.read().await
                }
            };
            (Some(guard), None)
        };
        let mut names: Vec<&String> = case.locks.iter().collect();
        names.sort();
        names.dedup();
        let mut held = Vec::new();
        for n in names {
            let lock = self.lock_for(n);
            let guard = match lock.clone().try_lock_owned() {
                Ok(g) => g,
                Err(_) => {
                    schedule::settle();
                    lock.lock_owned().await
                }
            };
            held.push(guard);
        }
        Exclusivity {
            _shared: shared,
            _alone: alone,
            _locks: held,
        }
    }

    /// Runs the steps unless the run is interrupted or past its deadline, and stops
    /// them when either happens.
    async fn run_within_limits(
        &self,
        suite: &Suite,
        case: &CaseSpec,
        steps: &mut Vec<StepReport>,
    ) -> CaseEnd {
        let remaining = self.remaining();
        if let Some(why) = self.interrupted() {
            return CaseEnd::NotStarted(format!(
                "the run was interrupted ({why}) before this case started"
            ));
        }
        if remaining.is_zero() {
            self.deadline_hit.store(true, Ordering::Relaxed);
            return CaseEnd::NotStarted("run deadline reached before this case started".into());
        }
        let run = tokio::time::timeout(remaining, self.run_steps(suite, case, steps));
        self.progress.case_running(true);
        let end = tokio::select! {
            r = run => match r {
                Ok(verdict) => CaseEnd::Ran(verdict),
                Err(_) => CaseEnd::Deadline,
            },
            why = self.until_interrupted() => CaseEnd::Interrupted(why),
        };
        self.progress.case_running(false);
        end
    }

    /// Sets the report's outcome, reason and failure from how the case ended.
    fn conclude(&self, report: &mut CaseReport, suite: &Suite, at: Location, end: CaseEnd) {
        let errored = |message: &str| -> Option<FailureReport> {
            Some(self.bare_failure(suite, at, message))
        };
        match end {
            CaseEnd::Ran(Verdict::Pass) => {}
            CaseEnd::Ran(Verdict::Fail(f)) => {
                report.outcome = Outcome::Failed;
                report.failure = Some(f);
            }
            CaseEnd::Ran(Verdict::Error(f)) => {
                report.outcome = Outcome::Errored;
                report.failure = Some(f);
            }
            CaseEnd::Ran(Verdict::Inconclusive(reason)) => {
                report.outcome = Outcome::Inconclusive;
                report.reason = Some(reason);
            }
            CaseEnd::NotStarted(message) => {
                report.outcome = Outcome::Errored;
                report.failure = errored(&message);
            }
            CaseEnd::Deadline => {
                self.deadline_hit.store(true, Ordering::Relaxed);
                report.outcome = Outcome::Errored;
                report.failure = errored(&format!(
                    "run deadline ({}) reached while this case was running",
                    humantime::format_duration(self.options.deadline)
                ));
            }
            CaseEnd::Interrupted(why) => {
                report.outcome = Outcome::Errored;
                report.failure = errored(&format!(
                    "the run was interrupted ({why}) while this case was running"
                ));
            }
        }
    }

    /// The case's `vars:`, then its steps in order, up to the first that does not pass.
    async fn run_steps(
        &self,
        suite: &Suite,
        case: &CaseSpec,
        steps: &mut Vec<StepReport>,
    ) -> Verdict {
        let mut scope = self.scope(suite);
        for (name, v) in &case.vars {
            match expand_value(&v.value, &scope) {
                Ok(x) => {
                    scope.vars.insert(name.clone(), x);
                }
                Err(e) => {
                    return Verdict::Error(self.bare_failure(
                        suite,
                        v.referenced,
                        &format!("vars.{name}: {e}"),
                    ));
                }
            }
        }
        for step in &case.steps {
            let (report, verdict) = self
                .run_step(suite, &step.value, step.referenced, &mut scope)
                .await;
            steps.push(report);
            match verdict {
                Verdict::Pass => {}
                // A failed setup step never reached what the case checks.
                Verdict::Fail(mut f) if step.value.setup => {
                    f.message = format!("setup step `{}` failed: {}", f.step, f.message);
                    return Verdict::Error(f);
                }
                other => return other,
            }
        }
        Verdict::Pass
    }

    /// One step to its report and verdict; a passed step's `record:` is kept.
    async fn run_step(
        &self,
        suite: &Suite,
        step: &StepSpec,
        at: Location,
        scope: &mut Scope<'_>,
    ) -> (StepReport, Verdict) {
        let t0 = Instant::now();
        let mut rep = StepReport {
            name: step_name(step),
            request: String::new(),
            method: None,
            url: None,
            path_template: None,
            waits: Vec::new(),
            status: None,
            attempts: 0,
            duration_ms: 0,
            request_ms: None,
            notes: Vec::new(),
            redirects: Vec::new(),
            outcome: Outcome::Passed,
            records: BTreeMap::new(),
        };
        let verdict = self.step_inner(suite, step, at, scope, &mut rep).await;
        let verdict = match verdict {
            Verdict::Pass => self.record(suite, step, scope, &mut rep),
            other => other,
        };
        // The first step's share of queueing for the case's first slot is not its own.
        let began = Ticket::current()
            .and_then(|t| t.started())
            .map_or(t0, |(at, _)| at.max(t0));
        rep.duration_ms = began.elapsed().as_millis() as u64;
        rep.outcome = match &verdict {
            Verdict::Pass => Outcome::Passed,
            Verdict::Fail(_) => Outcome::Failed,
            Verdict::Error(_) => Outcome::Errored,
            Verdict::Inconclusive(_) => Outcome::Inconclusive,
        };
        (rep, verdict)
    }

    /// A passed step's `record:` values, expanded into its report.
    fn record(
        &self,
        suite: &Suite,
        step: &StepSpec,
        scope: &Scope<'_>,
        rep: &mut StepReport,
    ) -> Verdict {
        for (name, v) in &step.record {
            match expand_value(&v.value, scope) {
                Ok(x) => {
                    let shown = self.redactor.redact(&x.to_string()).into_owned();
                    let x = serde_json::from_str(&shown).unwrap_or(Value::String(shown));
                    rep.records.insert(name.clone(), x);
                }
                Err(e) => {
                    return Verdict::Error(self.bare_failure(
                        suite,
                        v.referenced,
                        &format!("record.{name}: {e}"),
                    ))
                }
            }
        }
        Verdict::Pass
    }
}

/// Records the wait from `from` to `to` (when at least a millisecond).
fn wait_since(waits: &mut Vec<Wait>, cause: WaitCause, from: Instant, to: Instant) {
    let d = to.saturating_duration_since(from);
    if d >= std::time::Duration::from_millis(1) {
        waits.push(Wait {
            cause,
            ms: d.as_millis() as u64,
        });
    }
}

/// A step's name: its own, or `METHOD /path` as written.
fn step_name(step: &StepSpec) -> String {
    step.name.clone().unwrap_or_else(|| match &step.request {
        Some(r) => {
            let m = r.method.as_ref().map_or("GET", |m| m.value.as_str());
            format!("{} {}", m.to_ascii_uppercase(), r.path.value)
        }
        None => "receive webhooks".to_string(),
    })
}

/// The text of a panic payload (`panic!` with a literal or a formatted message).
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "a panic without a message".into())
}

/// Debug builds only: panics inside the case whose id `LAUNCHGATE_TEST_PANIC_CASE`
/// names, so the tests can prove a panic becomes an errored case. Release builds have
/// no such hook.
fn inject_panic(id: &str) {
    #[cfg(debug_assertions)]
    if std::env::var("LAUNCHGATE_TEST_PANIC_CASE").is_ok_and(|v| v == id) {
        panic!("injected by LAUNCHGATE_TEST_PANIC_CASE in `{id}`");
    }
    #[cfg(not(debug_assertions))]
    let _ = id;
}
