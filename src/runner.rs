//! Running planned cases: one `libtest-mimic` trial per case on a shared tokio
//! runtime and a shared HTTP client.
//!
//! Every request has a timeout, every loop a bound and the whole run a
//! deadline; a 429 that a step did not ask for is answered by waiting
//! Retry-After (capped) and sending again.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use serde_json::Value;
use serde_saphyr::{Location, Spanned};

use crate::expect::{self, Mismatch, Response};
use crate::http::{Http, Request, TransportError};
use crate::plan::PlannedCase;
use crate::receiver::{Receiver, Verify};
use crate::redact::Redactor;
use crate::report::{CaseReport, FailureReport, Outcome, StepReport};
use crate::scenario::{load::parse_wait, CaseSpec, ReceiveSpec, RequestSpec, StepSpec, Suite};
use crate::snapshot;
use crate::target::Target;
use crate::template::{expand_str, expand_value, Scope};

mod pages;

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
    receiver: Option<Arc<Receiver>>,
    /// Set (to the signal's name) when the run is interrupted: running cases stop,
    /// cases not started end at once, all as errored.
    stop: tokio::sync::watch::Sender<Option<&'static str>>,
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

    /// Gives `receive:` steps a webhook receiver, and templates `{{ run.webhook_url }}`
    /// and `{{ run.webhook_refuse }}`.
    pub fn with_receiver(mut self, receiver: Arc<Receiver>) -> Runner {
        self.run_vars
            .insert("webhook_url".into(), receiver.url().to_string());
        self.run_vars
            .insert("webhook_refuse".into(), receiver.refuse_first().to_string());
        self.receiver = Some(receiver);
        self
    }

    /// More `{{ run.NAME }}` values (e.g. the retention probe's delays).
    pub fn with_run_vars(mut self, vars: impl IntoIterator<Item = (String, String)>) -> Runner {
        self.run_vars.extend(vars);
        self
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

    /// The redactor in force.
    pub fn redactor(&self) -> &Redactor {
        &self.redactor
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
    pub async fn run_case_guarded(self: Arc<Self>, planned: PlannedCase) -> CaseReport {
        let runner = self.clone();
        let pc = planned.clone();
        match tokio::spawn(async move { runner.run_case(&pc).await }).await {
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
        let case = &spanned.value;
        let mut report = self.blank_report(planned);
        if let Some(reason) = &planned.skip {
            report.outcome = Outcome::Skipped;
            report.reason = Some(reason.clone());
            return report;
        }
        inject_panic(&planned.id);
        let t0 = Instant::now();

        // Declared exclusivity: `serial` excludes everything, `locks` exclude their namesakes.
        let _serial_guard;
        let _serial_read;
        if case.serial {
            _serial_guard = Some(self.serial.write().await);
            _serial_read = None;
        } else {
            _serial_guard = None;
            _serial_read = Some(self.serial.read().await);
        }
        let mut names: Vec<&String> = case.locks.iter().collect();
        names.sort();
        names.dedup();
        let mut _held = Vec::new();
        for n in names {
            _held.push(self.lock_for(n).lock_owned().await);
        }

        let remaining = self.remaining();
        if let Some(why) = self.interrupted() {
            report.outcome = Outcome::Errored;
            report.failure = Some(self.bare_failure(
                suite,
                spanned.referenced,
                &format!("the run was interrupted ({why}) before this case started"),
            ));
        } else if remaining.is_zero() {
            self.deadline_hit.store(true, Ordering::Relaxed);
            report.outcome = Outcome::Errored;
            report.failure = Some(self.bare_failure(
                suite,
                spanned.referenced,
                "run deadline reached before this case started",
            ));
        } else {
            let run =
                tokio::time::timeout(remaining, self.run_steps(suite, case, &mut report.steps));
            let ended = tokio::select! {
                r = run => Ok(r),
                why = self.until_interrupted() => Err(why),
            };
            match ended {
                Ok(Ok(Verdict::Pass)) => {}
                Ok(Ok(Verdict::Fail(f))) => {
                    report.outcome = Outcome::Failed;
                    report.failure = Some(f);
                }
                Ok(Ok(Verdict::Error(f))) => {
                    report.outcome = Outcome::Errored;
                    report.failure = Some(f);
                }
                Ok(Ok(Verdict::Inconclusive(reason))) => {
                    report.outcome = Outcome::Inconclusive;
                    report.reason = Some(reason);
                }
                Ok(Err(_)) => {
                    self.deadline_hit.store(true, Ordering::Relaxed);
                    report.outcome = Outcome::Errored;
                    report.failure = Some(self.bare_failure(
                        suite,
                        spanned.referenced,
                        &format!(
                            "run deadline ({}) reached while this case was running",
                            humantime::format_duration(self.options.deadline)
                        ),
                    ));
                }
                Err(why) => {
                    report.outcome = Outcome::Errored;
                    report.failure = Some(self.bare_failure(
                        suite,
                        spanned.referenced,
                        &format!("the run was interrupted ({why}) while this case was running"),
                    ));
                }
            }
        }
        report.duration_ms = t0.elapsed().as_millis() as u64;
        report
    }

    fn location(&self, suite: &Suite, at: Option<(usize, usize)>, fallback: Location) -> String {
        let (l, c) = at.unwrap_or((fallback.line() as usize, fallback.column() as usize));
        format!("{}:{}:{}", suite.path.display(), l, c)
    }

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

    /// A `receive:` step: waits (bounded) until the deliveries at the receiver match
    /// `until`, then returns them as a JSON pseudo-response.
    async fn receive(
        &self,
        suite: &Suite,
        recv: &Spanned<ReceiveSpec>,
        at: Location,
        scope: &Scope<'_>,
        rep: &mut StepReport,
    ) -> Result<(Response, String), Verdict> {
        let fail = |msg: String| Verdict::Error(self.bare_failure(suite, at, &msg));
        let Some(receiver) = &self.receiver else {
            return Err(fail(
                "no webhook receiver is running for this run (it starts when a loaded suite has a `receive:` step)".into(),
            ));
        };
        let spec = &recv.value;
        let within = expand_str(&spec.within.value, scope)
            .map_err(|e| fail(format!("receive.within: {e}")))?;
        let within = parse_wait(&within).map_err(|e| fail(format!("receive.within: {e}")))?;
        let within = within.min(self.options.max_wait).min(self.remaining());
        let verify = match &spec.signature {
            None => None,
            Some(sig) => {
                let header = expand_str(&sig.header, scope)
                    .map_err(|e| fail(format!("receive.signature.header: {e}")))?;
                let secret = expand_str(&sig.secret, scope)
                    .map_err(|e| fail(format!("receive.signature.secret: {e}")))?;
                let scheme = match &sig.scheme {
                    None => crate::signature::SchemeChoice::Auto,
                    Some(t) => expand_str(t, scope)
                        .map_err(|e| e.to_string())
                        .and_then(|t| t.parse())
                        .map_err(|e| fail(format!("receive.signature.scheme: {e}")))?,
                };
                let tolerance = match &sig.tolerance {
                    None => crate::signature::DEFAULT_TOLERANCE,
                    Some(t) => expand_str(t, scope)
                        .map_err(|e| e.to_string())
                        .and_then(|t| parse_wait(&t).map_err(|e| e.to_string()))
                        .map_err(|e| fail(format!("receive.signature.tolerance: {e}")))?,
                };
                Some(Verify::new(scheme, header, secret.into_bytes(), tolerance))
            }
        };
        let line = format!("RECEIVE {}", receiver.url());
        rep.request = self.redactor.redact(&line).into_owned();
        rep.attempts = 1;
        let t0 = Instant::now();
        let mut changes = receiver.subscribe();
        loop {
            changes.borrow_and_update();
            let body = receiver.snapshot(verify.as_ref());
            let count = body["count"].as_u64().unwrap_or(0);
            let resp = Response {
                status: 200,
                headers: vec![("content-type".into(), "application/json".into())],
                body: serde_json::to_vec(&body).unwrap_or_default(),
                truncated: false,
                redirects: Vec::new(),
            };
            let done = if spec.until.is_empty() {
                count > 0
            } else {
                expect::check(&spec.until, &resp, scope).is_empty()
            };
            let left = within.saturating_sub(t0.elapsed());
            if done || left.is_zero() {
                let waited = humantime::format_duration(Duration::from_millis(
                    t0.elapsed().as_millis() as u64,
                ));
                self.note(
                    rep,
                    if done {
                        format!("{count} deliveries at the receiver; condition met after {waited}")
                    } else {
                        format!(
                            "{count} deliveries at the receiver; condition not met within {waited}"
                        )
                    },
                );
                return Ok((resp, line));
            }
            // Woken by the next delivery, or by the end of the wait.
            let _ = tokio::time::timeout(left, changes.changed()).await;
        }
    }

    /// A `parallel: N` step: sends N copies of the request at once (each built
    /// separately, so `{{ uuid() }}` differs) and returns a pseudo-response listing them.
    async fn parallel(
        &self,
        suite: &Suite,
        request: &RequestSpec,
        n: u32,
        expected: Option<&crate::scenario::StatusSpec>,
        scope: &Scope<'_>,
        rep: &mut StepReport,
    ) -> Result<(Response, String), String> {
        let mut reqs = Vec::new();
        for _ in 0..n {
            reqs.push(self.build_request(suite, request, scope)?);
        }
        let line = reqs
            .first()
            .map(|r| format!("{} {} (x{n} in parallel)", r.method, r.url))
            .unwrap_or_default();
        rep.request = self.redactor.redact(&line).into_owned();
        rep.attempts = n;
        let mut set = tokio::task::JoinSet::new();
        for (i, req) in reqs.into_iter().enumerate() {
            let http = self.http.clone();
            self.sent.fetch_add(1, Ordering::Relaxed);
            set.spawn(async move {
                let t = Instant::now();
                let r = http.send(&req).await;
                (i, r, t.elapsed())
            });
        }
        let mut results: Vec<Option<(Result<Response, TransportError>, Duration)>> =
            (0..n).map(|_| None).collect();
        while let Some(joined) = set.join_next().await {
            if let Ok((i, r, d)) = joined {
                if r.is_ok() {
                    self.received.fetch_add(1, Ordering::Relaxed);
                }
                if let Some(slot) = results.get_mut(i) {
                    *slot = Some((r, d));
                }
            }
        }
        let mut responses = Vec::new();
        let mut statuses = Vec::new();
        let mut ok_bodies = std::collections::BTreeSet::new();
        let mut first_status = None;
        let mut first_unexpected = None;
        let mut slowest = Duration::ZERO;
        for slot in results {
            let Some((r, d)) = slot else {
                responses
                    .push(serde_json::json!({"status": null, "error": "the request task failed"}));
                statuses.push(Value::Null);
                continue;
            };
            slowest = slowest.max(d);
            match r {
                Ok(resp) => {
                    let mut headers = serde_json::Map::new();
                    for (k, v) in &resp.headers {
                        headers.insert(
                            k.clone(),
                            Value::String(self.redactor.header_value(k, v).into_owned()),
                        );
                    }
                    let body = resp.json().unwrap_or_else(|_| {
                        Value::String(String::from_utf8_lossy(&resp.body).into_owned())
                    });
                    if (200..300).contains(&resp.status) {
                        ok_bodies.insert(resp.body.clone());
                    }
                    first_status.get_or_insert(resp.status);
                    if expected.is_some_and(|e| !e.accepts(resp.status)) {
                        first_unexpected.get_or_insert(resp.status);
                    }
                    statuses.push(Value::from(resp.status));
                    responses.push(serde_json::json!({
                        "status": resp.status,
                        "headers": headers,
                        "body": body,
                    }));
                }
                Err(e) => {
                    statuses.push(Value::Null);
                    responses.push(serde_json::json!({"status": null, "error": e.message}));
                }
            }
        }
        rep.request_ms = Some(slowest.as_secs_f64() * 1000.0);
        self.note(
            rep,
            format!("parallel: statuses {}", Value::Array(statuses.clone())),
        );
        let body = serde_json::json!({
            "responses": responses,
            "statuses": statuses,
            "distinct_bodies": ok_bodies.len(),
        });
        // `status:` must hold for every response: the pseudo-response carries the
        // first status that breaks it, else the first status seen (0: none came).
        let status = first_unexpected.or(first_status).unwrap_or(0);
        Ok((
            Response {
                status,
                headers: vec![("content-type".into(), "application/json".into())],
                body: serde_json::to_vec(&body).unwrap_or_default(),
                truncated: false,
                redirects: Vec::new(),
            },
            line,
        ))
    }

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

    fn step_name(step: &StepSpec) -> String {
        step.name.clone().unwrap_or_else(|| match &step.request {
            Some(r) => {
                let m = r.method.as_ref().map_or("GET", |m| m.value.as_str());
                format!("{} {}", m.to_ascii_uppercase(), r.path.value)
            }
            None => "receive webhooks".to_string(),
        })
    }

    async fn run_step(
        &self,
        suite: &Suite,
        step: &StepSpec,
        at: Location,
        scope: &mut Scope<'_>,
    ) -> (StepReport, Verdict) {
        let t0 = Instant::now();
        let name = Self::step_name(step);
        let mut rep = StepReport {
            name: name.clone(),
            request: String::new(),
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
        rep.duration_ms = t0.elapsed().as_millis() as u64;
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

    fn failure(
        &self,
        suite: &Suite,
        step: &str,
        at: Location,
        mismatches: &[Mismatch],
        request: &str,
        resp: Option<&Response>,
    ) -> FailureReport {
        let r = &self.redactor;
        let first = mismatches.first();
        let extra = mismatches.len().saturating_sub(1);
        let message = match first {
            Some(m) if extra > 0 => format!("{} (and {extra} more)", m.line()),
            Some(m) => m.line(),
            None => "failed".into(),
        };
        let details = mismatches
            .iter()
            .map(|m| {
                let l = self.location(suite, m.at, at);
                r.redact(&format!("{l}: {}", m.line())).into_owned()
            })
            .collect();
        FailureReport {
            step: step.to_string(),
            location: self.location(suite, first.and_then(|m| m.at), at),
            message: r.redact(&message).into_owned(),
            details,
            request: request.to_string(),
            response: resp.map(|x| self.redacted_excerpt(x)),
        }
    }

    /// The request as a failure report shows it: line, headers (secrets masked), body excerpt.
    fn request_excerpt(&self, req: &Request) -> String {
        let mut s = format!("{} {}", req.method, req.url);
        for (n, v) in &req.headers {
            s.push_str(&format!("\n{n}: {}", self.redactor.header_value(n, v)));
        }
        if let Some(b) = &req.body {
            let text = String::from_utf8_lossy(b);
            let cut: String = text.chars().take(self.options.excerpt_chars).collect();
            s.push_str("\n\n");
            s.push_str(&cut);
            if cut.len() < text.len() {
                s.push_str(&format!("\n… ({} bytes)", b.len()));
            }
        }
        self.redactor.redact(&s).into_owned()
    }

    fn redacted_excerpt(&self, resp: &Response) -> String {
        let mut shown = resp.clone();
        // Redact before the excerpt cuts the body: a key cut in half no longer matches.
        shown.body = self
            .redactor
            .redact(&String::from_utf8_lossy(&resp.body))
            .into_owned()
            .into_bytes();
        shown.headers = resp
            .headers
            .iter()
            .map(|(n, v)| (n.clone(), self.redactor.header_value(n, v).into_owned()))
            .collect();
        self.redactor
            .redact(&expect::excerpt(&shown, self.options.excerpt_chars))
            .into_owned()
    }

    fn redacted_hops(&self, hops: &[crate::expect::Hop]) -> Vec<crate::expect::Hop> {
        hops.iter()
            .map(|h| crate::expect::Hop {
                from: self.redactor.redact(&h.from).into_owned(),
                to: self.redactor.redact(&h.to).into_owned(),
                ..h.clone()
            })
            .collect()
    }

    fn note(&self, rep: &mut StepReport, text: String) {
        let text = self.redactor.redact(&text).into_owned();
        if self.options.verbose_notes {
            eprintln!("note: {}: {text}", rep.name);
        }
        rep.notes.push(text);
    }

    async fn step_inner(
        &self,
        suite: &Suite,
        step: &StepSpec,
        at: Location,
        scope: &mut Scope<'_>,
        rep: &mut StepReport,
    ) -> Verdict {
        let name = rep.name.clone();
        let err = |msg: String| Verdict::Error(self.bare_failure(suite, at, &msg));

        // Guards: a false guard means the case cannot prove anything here.
        for g in &step.guard {
            let value = match expand_value(&g.value.value, scope) {
                Ok(v) => v,
                Err(e) => {
                    return Verdict::Error(self.bare_failure(
                        suite,
                        g.referenced,
                        &format!("guard: {e}"),
                    ))
                }
            };
            if let Err(e) = expect::check_matcher(&g.value.is.0, Some(&value), scope, true) {
                let why = g.value.because.as_deref().unwrap_or("guard did not hold");
                let shown = self
                    .redactor
                    .redact(&format!(
                        "{why}: expected {}, got {} (step `{name}`, {})",
                        e.expected,
                        e.actual,
                        self.location(suite, None, g.referenced)
                    ))
                    .into_owned();
                return Verdict::Inconclusive(shown);
            }
        }

        if let Some(w) = &step.wait {
            let text = match expand_str(&w.value, scope) {
                Ok(t) => t,
                Err(e) => {
                    return Verdict::Error(self.bare_failure(
                        suite,
                        w.referenced,
                        &format!("wait: {e}"),
                    ))
                }
            };
            let d = match parse_wait(&text) {
                Ok(d) => d,
                Err(e) => {
                    return Verdict::Error(self.bare_failure(
                        suite,
                        w.referenced,
                        &format!("wait: {e}"),
                    ))
                }
            };
            if d > self.options.max_wait {
                return Verdict::Error(self.bare_failure(
                    suite,
                    w.referenced,
                    &format!(
                        "wait of {} exceeds --max-wait {}",
                        humantime::format_duration(d),
                        humantime::format_duration(self.options.max_wait)
                    ),
                ));
            }
            self.note(rep, format!("waited {}", humantime::format_duration(d)));
            tokio::time::sleep(d).await;
        }

        if let Some(recv) = &step.receive {
            return match self.receive(suite, recv, at, scope, rep).await {
                Ok((resp, line)) => self.judge(suite, step, at, scope, rep, &resp, &line),
                Err(v) => v,
            };
        }
        let Some(request) = &step.request else {
            return err("a step needs `request:` or `receive:`".into());
        };
        if let Some(n) = &step.parallel {
            let expected = step.expect.status.as_ref().map(|s| &s.value);
            return match self
                .parallel(suite, request, n.value, expected, scope, rep)
                .await
            {
                Ok((resp, line)) => self.judge(suite, step, at, scope, rep, &resp, &line),
                Err(e) => err(e),
            };
        }
        if let Some(p) = &step.pages {
            return match self.walk_pages(suite, request, &p.value, scope, rep).await {
                Ok((resp, line)) => self.judge(suite, step, at, scope, rep, &resp, &line),
                Err(e) => err(e),
            };
        }
        let req = match self.build_request(suite, request, scope) {
            Ok(r) => r,
            Err(e) => return err(e),
        };
        rep.request = self
            .redactor
            .redact(&format!("{} {}", req.method, req.url))
            .into_owned();
        let request_line = self.request_excerpt(&req);

        let accepts_429 = step
            .expect
            .status
            .as_ref()
            .is_some_and(|s| s.value.accepts(429));
        let mut retries_429 = 0;
        let result: Result<Response, TransportError> = loop {
            rep.attempts += 1;
            self.sent.fetch_add(1, Ordering::Relaxed);
            let sent_at = Instant::now();
            let r = self.http.send(&req).await;
            let resp = match r {
                Ok(resp) => {
                    rep.request_ms = Some(sent_at.elapsed().as_secs_f64() * 1000.0);
                    self.received.fetch_add(1, Ordering::Relaxed);
                    rep.redirects = self.redacted_hops(&resp.redirects);
                    resp
                }
                Err(e) => {
                    if !e.redirects.is_empty() {
                        // The target did answer (with a redirect launchgate refused).
                        self.received.fetch_add(1, Ordering::Relaxed);
                    }
                    rep.redirects = self.redacted_hops(&e.redirects);
                    break Err(e);
                }
            };
            if let Some(repeat) = &step.repeat {
                if expect::check(&repeat.value.until, &resp, scope).is_empty() {
                    if rep.attempts > 1 {
                        self.note(
                            rep,
                            format!(
                                "repeat: condition met on request {} of at most {}",
                                rep.attempts, repeat.value.max
                            ),
                        );
                    }
                    break Ok(resp);
                }
                if rep.attempts >= repeat.value.max {
                    let m = Mismatch::new(
                        repeat.referenced,
                        "repeat.until",
                        format!("a matching response within {} requests", repeat.value.max),
                        format!("HTTP {} on the last one", resp.status),
                    );
                    return Verdict::Fail(self.failure(
                        suite,
                        &name,
                        at,
                        &[m],
                        &request_line,
                        Some(&resp),
                    ));
                }
                if let Some(i) = repeat
                    .value
                    .interval
                    .as_deref()
                    .and_then(|i| humantime::parse_duration(i).ok())
                {
                    tokio::time::sleep(i.min(self.options.max_wait)).await;
                }
                continue;
            }
            if resp.status == 429 && !accepts_429 && retries_429 < self.options.max_429_retries {
                let ra = resp.header("retry-after");
                match retry_after(ra.as_deref()) {
                    // A wait past the run deadline would only starve every case behind this one.
                    Some(d) if d <= self.options.max_wait && d < self.remaining() => {
                        retries_429 += 1;
                        self.note(
                            rep,
                            format!(
                                "HTTP 429: honouring Retry-After {} before sending again",
                                humantime::format_duration(d)
                            ),
                        );
                        tokio::time::sleep(d).await;
                        continue;
                    }
                    Some(d) => self.note(
                        rep,
                        format!(
                            "HTTP 429 with Retry-After {} {}; not retried",
                            humantime::format_duration(d),
                            if d > self.options.max_wait {
                                "above --max-wait"
                            } else {
                                "beyond the run deadline"
                            }
                        ),
                    ),
                    None => {
                        retries_429 += 1;
                        // 1 s, unless --max-wait allows less.
                        let pause = Duration::from_secs(1).min(self.options.max_wait);
                        self.note(
                            rep,
                            format!(
                                "HTTP 429 without a usable Retry-After ({}); waiting {}",
                                // A hostile server may send kilobytes here; show a little.
                                ra.as_deref().map_or("absent".into(), |v| shorten(v, 40)),
                                humantime::format_duration(pause)
                            ),
                        );
                        tokio::time::sleep(pause).await;
                        continue;
                    }
                }
            }
            break Ok(resp);
        };

        let resp = match result {
            Ok(resp) => resp,
            Err(e) => {
                rep.notes
                    .push(self.redactor.redact(&e.message).into_owned());
                let mismatches = expect::check_failure(&step.expect, e.kind, &e.message);
                if mismatches.is_empty() {
                    return Verdict::Pass;
                }
                let mut f = self.failure(suite, &name, at, &mismatches, &request_line, None);
                f.message = self
                    .redactor
                    .redact(&format!("no response: {}", e.message))
                    .into_owned();
                return if step.expect.error.is_some() {
                    Verdict::Fail(f)
                } else {
                    Verdict::Error(f)
                };
            }
        };
        self.judge(suite, step, at, scope, rep, &resp, &request_line)
    }

    /// Judges a response (real, or a pseudo-response of `parallel:` / `receive:`):
    /// expectations, warnings, captures, snapshot.
    #[allow(clippy::too_many_arguments)]
    fn judge(
        &self,
        suite: &Suite,
        step: &StepSpec,
        at: Location,
        scope: &mut Scope<'_>,
        rep: &mut StepReport,
        resp: &Response,
        request_line: &str,
    ) -> Verdict {
        let name = rep.name.clone();
        let request_line = request_line.to_string();
        rep.status = Some(resp.status);

        let mismatches = expect::check(&step.expect, resp, scope);
        if !mismatches.is_empty() {
            return Verdict::Fail(self.failure(
                suite,
                &name,
                at,
                &mismatches,
                &request_line,
                Some(resp),
            ));
        }
        for w in expect::check(&step.warn, resp, scope) {
            let l = self.location(suite, w.at, at);
            self.note(rep, format!("warning: {} ({l})", w.line()));
        }

        for (var, cap) in &step.capture {
            match capture(&cap.value, resp, scope) {
                Ok(v) => {
                    scope.vars.insert(var.clone(), v);
                }
                Err(actual) => {
                    let c = &cap.value;
                    let source = c
                        .json
                        .clone()
                        .or_else(|| c.header.clone().map(|h| format!("header {h}")))
                        .unwrap_or_default();
                    let m = Mismatch::new(
                        cap.referenced,
                        format!("capture {var}"),
                        format!("a value at {source}"),
                        actual,
                    );
                    return Verdict::Fail(self.failure(
                        suite,
                        &name,
                        at,
                        &[m],
                        &request_line,
                        Some(resp),
                    ));
                }
            }
        }

        if let Some(snap) = &step.snapshot {
            let body = resp.json().unwrap_or_else(|_| {
                Value::String(String::from_utf8_lossy(&resp.body).into_owned())
            });
            let volatile: Vec<String> = suite
                .spec
                .snapshot
                .volatile
                .iter()
                .map(|v| v.value.clone())
                .collect();
            if let Err(mm) = self.snapshots.check(
                &suite.name,
                &snap.value,
                resp.status,
                &body,
                &volatile,
                &self.redactor,
            ) {
                let mut f = self.failure(
                    suite,
                    &name,
                    at,
                    &[Mismatch::new(
                        snap.referenced,
                        "snapshot",
                        format!("the response recorded in {}", mm.path.display()),
                        "a different response",
                    )],
                    &request_line,
                    None,
                );
                f.message = mm.message;
                f.details.extend(mm.diff.lines().map(str::to_string));
                return Verdict::Fail(f);
            }
        }
        Verdict::Pass
    }

    fn build_request(
        &self,
        suite: &Suite,
        r: &RequestSpec,
        scope: &Scope,
    ) -> Result<Request, String> {
        let method_name = r
            .method
            .as_ref()
            .map_or("GET".to_string(), |m| m.value.to_ascii_uppercase());
        let method = reqwest::Method::from_bytes(method_name.as_bytes())
            .map_err(|e| format!("method: {e}"))?;
        let mut url = request_url(
            &self.target.base_url,
            &suite.spec.base_path,
            &r.path.value,
            scope,
        )?
        .to_string();
        if !r.query.is_empty() {
            let mut pairs = url::form_urlencoded::Serializer::new(String::new());
            for (k, v) in &r.query {
                let v = expand_value(&v.value, scope).map_err(|e| format!("query {k}: {e}"))?;
                let k = &expand_str(k, scope).map_err(|e| format!("query name {k}: {e}"))?;
                // A templated name that expands to nothing leaves the parameter out.
                if k.is_empty() {
                    continue;
                }
                match v {
                    Value::Array(items) => {
                        for i in items {
                            pairs.append_pair(k, &scalar_text(&i));
                        }
                    }
                    other => {
                        pairs.append_pair(k, &scalar_text(&other));
                    }
                }
            }
            let q = pairs.finish();
            if !q.is_empty() {
                url.push(if url.contains('?') { '&' } else { '?' });
                url.push_str(&q);
            }
        }
        let mut headers: Vec<(String, String)> = Vec::new();
        let set = |name: &str, value: String, headers: &mut Vec<(String, String)>| {
            headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
            headers.push((name.to_string(), value));
        };
        // Header names may be templates too (`"{{ target.auth_header }}": ...`), so a
        // target can rename the headers a suite sends.
        for (n, v) in suite.spec.defaults.headers.iter().chain(&r.headers) {
            let name = expand_str(n, scope).map_err(|e| format!("header name {n}: {e}"))?;
            if name.is_empty() {
                continue;
            }
            let value = expand_str(&v.value, scope).map_err(|e| format!("header {n}: {e}"))?;
            check_header(&name, &value)?;
            set(&name, value, &mut headers);
        }
        let has = |h: &Vec<(String, String)>, name: &str| {
            h.iter().any(|(n, _)| n.eq_ignore_ascii_case(name))
        };
        let body = if let Some(j) = &r.json {
            let v = expand_value(&j.value, scope).map_err(|e| format!("json: {e}"))?;
            if !has(&headers, "content-type") {
                headers.push(("Content-Type".into(), "application/json".into()));
            }
            Some(serde_json::to_vec(&v).map_err(|e| e.to_string())?)
        } else if let Some(b) = &r.body {
            Some(
                expand_str(&b.value, scope)
                    .map_err(|e| format!("body: {e}"))?
                    .into_bytes(),
            )
        } else {
            None
        };
        if !has(&headers, "accept") {
            headers.push(("Accept".into(), "application/json".into()));
        }
        let timeout = r
            .timeout
            .as_ref()
            .and_then(|t| humantime::parse_duration(&t.value).ok())
            .unwrap_or(self.options.timeout)
            .min(self.remaining().max(Duration::from_millis(1)));
        Ok(Request {
            method,
            url,
            headers,
            body,
            timeout,
        })
    }
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

/// At most `max` characters of `s`, with `…` when cut.
fn shorten(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let cut: String = s.chars().take(max).collect();
    format!("{cut}…")
}

/// The value a capture takes from a response, or what was there instead.
fn capture(
    c: &crate::scenario::CaptureSpec,
    resp: &Response,
    scope: &Scope,
) -> Result<Value, String> {
    let found = if c.status {
        Some(Value::from(resp.status))
    } else if let Some(h) = &c.header {
        resp.header(h).map(|v| number_or_string(&v))
    } else if let Some(p) = &c.json {
        let path = expand_str(p, scope).map_err(|e| e.to_string())?;
        let body = resp.json()?;
        if c.all {
            Some(expect::query_all(&body, &path)?)
        } else {
            expect::query_first(&body, &path)?
        }
    } else {
        None
    };
    match (found, &c.regex) {
        (Some(v), Some(re)) => regex_capture(&v, re),
        (found, _) => found.ok_or_else(|| "nothing".to_string()),
    }
}

/// The part of a captured value's text a capture `regex:` keeps: its first group, or
/// the whole match; what was there when it does not match.
fn regex_capture(v: &Value, re: &str) -> Result<Value, String> {
    let text = scalar_text(v);
    let re = regex::Regex::new(re).map_err(|e| format!("a valid regex ({e})"))?;
    let caps = re
        .captures(&text)
        .ok_or_else(|| format!("{} (no match for /{re}/)", expect::show(Some(v))))?;
    let m = caps
        .get(1)
        .or_else(|| caps.get(0))
        .map_or("", |m| m.as_str());
    Ok(Value::String(m.to_string()))
}

fn scalar_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn number_or_string(s: &str) -> Value {
    let t = s.trim();
    if let Ok(i) = t.parse::<i64>() {
        return Value::from(i);
    }
    if let Ok(f) = t.parse::<f64>() {
        if f.is_finite() {
            return Value::from(f);
        }
    }
    Value::String(s.to_string())
}

/// A header a template built must still be one header: a captured value with a line
/// break would otherwise be refused deep in the HTTP client as a "connection" failure.
fn check_header(name: &str, value: &str) -> Result<(), String> {
    if reqwest::header::HeaderName::from_bytes(name.as_bytes()).is_err() {
        return Err(format!(
            "header name `{}` is not a valid HTTP header name",
            shorten(name, 60)
        ));
    }
    if reqwest::header::HeaderValue::from_str(value).is_err() {
        return Err(format!(
            "header {name}: the value holds a line break or another control character, so it is not sent"
        ));
    }
    Ok(())
}

/// The URL of a request: the target's base URL, the suite's base path and the
/// expanded path ([`expand_path`](crate::template::expand_path): inserted values are
/// percent-encoded as segments).
///
/// The result is checked, whatever the templates produced: it has the target's origin
/// (scheme, host, port), no user info, and stays under the base path; a `.`/`..`
/// segment (which URL normalisation would resolve) is refused. So a value a response
/// supplied can never choose where the next keyed request goes.
pub fn request_url(
    base: &str,
    base_path: &str,
    path_template: &str,
    scope: &Scope,
) -> Result<url::Url, String> {
    let path =
        crate::template::expand_path(path_template, scope).map_err(|e| format!("path: {e}"))?;
    let shown = || shorten(&path, 120);
    if !path.is_empty() && !path.starts_with('/') {
        return Err(format!(
            "path `{}` must start with `/` once expanded",
            shown()
        ));
    }
    let segments = path.split(['?', '#']).next().unwrap_or_default();
    if segments.split('/').any(is_dot_segment) {
        return Err(format!(
            "path `{}` has a `.` or `..` segment, which would move the request off its path; launchgate does not send it",
            shown()
        ));
    }
    let root = url::Url::parse(&join_url(base, base_path, ""))
        .map_err(|e| format!("the target's base URL is not usable: {e}"))?;
    let url = url::Url::parse(&join_url(base, base_path, &path))
        .map_err(|e| format!("path `{}` does not make a valid URL: {e}", shown()))?;
    if url.origin() != root.origin() || !url.username().is_empty() || url.password().is_some() {
        return Err(format!(
            "path `{}` would send the request to another origin than the target's ({}); launchgate does not send it",
            shown(),
            root.origin().ascii_serialization()
        ));
    }
    let prefix = root.path().trim_end_matches('/');
    let inside = url.path() == prefix || url.path().starts_with(&format!("{prefix}/"));
    if !inside {
        return Err(format!(
            "path `{}` leaves the base path `{prefix}`; launchgate does not send it",
            shown()
        ));
    }
    Ok(url)
}

/// `.` or `..`, also percent-encoded (`%2e%2E`): WHATWG URL parsing resolves them all.
fn is_dot_segment(seg: &str) -> bool {
    let lower = seg.to_ascii_lowercase().replace("%2e", ".");
    lower == "." || lower == ".."
}

/// Joins base URL, suite base path and step path, without doubling the base
/// path when the target URL already ends with it (contract §A.11).
pub fn join_url(base: &str, base_path: &str, path: &str) -> String {
    let base = base.trim_end_matches('/');
    let bp = base_path.trim_end_matches('/');
    let prefix = if !bp.is_empty() && base.ends_with(bp) {
        String::new()
    } else {
        bp.to_string()
    };
    format!("{base}{prefix}{path}")
}

/// Parses Retry-After: delta-seconds or an HTTP date. Absurd values yield `None`.
pub fn retry_after(value: Option<&str>) -> Option<Duration> {
    let v = value?.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs.min(86_400 * 365)));
    }
    // Digits too many for u64 still mean "a very long time", not "malformed".
    if v.bytes().all(|b| b.is_ascii_digit()) && !v.is_empty() {
        return Some(Duration::from_secs(86_400 * 365));
    }
    let when = httpdate::parse_http_date(v).ok()?;
    Some(
        when.duration_since(std::time::SystemTime::now())
            .unwrap_or(Duration::ZERO),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_joining() {
        assert_eq!(
            join_url("http://h", "/api/agent/v1", "/health"),
            "http://h/api/agent/v1/health"
        );
        assert_eq!(
            join_url("http://h/api/agent/v1", "/api/agent/v1", "/health"),
            "http://h/api/agent/v1/health"
        );
        assert_eq!(join_url("http://h/prefix/", "", "/x"), "http://h/prefix/x");
    }

    #[test]
    fn retry_after_forms() {
        assert_eq!(retry_after(Some("2")), Some(Duration::from_secs(2)));
        assert_eq!(retry_after(Some("soon")), None);
        assert_eq!(retry_after(None), None);
        assert_eq!(
            retry_after(Some("Wed, 21 Oct 2015 07:28:00 GMT")),
            Some(Duration::ZERO)
        );
        assert_eq!(
            retry_after(Some("99999999999999")),
            Some(Duration::from_secs(86_400 * 365))
        );
        assert_eq!(
            retry_after(Some("99999999999999999999999999")),
            Some(Duration::from_secs(86_400 * 365)),
            "beyond u64 is still a number"
        );
    }

    #[test]
    fn header_captures_become_numbers() {
        assert_eq!(number_or_string("60"), Value::from(60));
        assert_eq!(number_or_string("abc"), Value::from("abc"));
    }
}
