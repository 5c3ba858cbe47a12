//! The commands, as library functions: `main.rs` parses arguments into these
//! configs and calls them. Everything a user sees as an error is rendered here.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use libtest_mimic::Trial;

use crate::checklist;
use crate::http::Http;
use crate::mock::{MockOptions, MockServer};
use crate::plan::{self, PlannedCase, WritePolicy};
use crate::redact::Redactor;
use crate::report::{self, junit, CaseReport, RunReport, SuiteReport, TargetSummary};
use crate::runner::Runner;
use crate::scenario::{self, Diagnostic, Suite};
use crate::snapshot;
use crate::target::{SecretSource, Target};

include!(concat!(env!("OUT_DIR"), "/builtin.rs"));

mod config;
mod doctor;
mod error;
mod gate;
mod init;
pub mod mock;
mod referee;
mod stdout;
mod tools;

pub use config::{
    fit_retention_probe, retention_vars, Api, EmbeddedMocks, ReceiverConfig, RunConfig,
    TargetChoice,
};
pub use doctor::{doctor, DoctorConfig};
pub use error::UsageError;
pub use gate::{decision_exit, exit_status, GatePolicy};
pub use init::{init, InitConfig};
pub use mock::{MockConfig, MockService};

use stdout::say;

pub use referee::{provoking_mock, referee, referee_junit, RefereeConfig};
pub use tools::{junit_merge, webhook, WebhookTool};

/// launchgate's exit statuses (documented in README).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Every selected case passed (skips allowed).
    Passed = 0,
    /// At least one case failed or errored.
    Failed = 1,
    /// Usage, configuration or scenario error: nothing was run.
    Usage = 2,
    /// The target never answered: no request got an HTTP response.
    Unreachable = 3,
    /// `--fail-on-skip` and some cases were skipped or inconclusive.
    Skipped = 4,
    /// Interrupted by SIGINT or SIGTERM: the reports were written, with every case
    /// that did not finish reported as errored (128 + SIGINT, as shells report it).
    Interrupted = 130,
}

impl From<Exit> for ExitCode {
    fn from(e: Exit) -> ExitCode {
        ExitCode::from(e as u8)
    }
}

fn print_diagnostics(diags: &[Diagnostic]) {
    for d in diags {
        eprintln!("{d}\n");
    }
    let files: std::collections::BTreeSet<_> =
        diags.iter().map(|d| d.file.display().to_string()).collect();
    eprintln!(
        "launchgate: {} problem{} in {} file{}; nothing was run",
        diags.len(),
        if diags.len() == 1 { "" } else { "s" },
        files.len(),
        if files.len() == 1 { "" } else { "s" }
    );
}

/// Loads scenario files (or every built-in suite when `paths` is empty), collecting every diagnostic.
pub fn load_suites(paths: &[PathBuf]) -> Result<Vec<Suite>, Vec<Diagnostic>> {
    load_from(paths, None)
}

/// Loads scenario files, or the built-in suite of `api` when `paths` is empty.
pub fn load_suites_for(paths: &[PathBuf], api: Api) -> Result<Vec<Suite>, Vec<Diagnostic>> {
    load_from(paths, Some(api))
}

fn load_from(paths: &[PathBuf], api: Option<Api>) -> Result<Vec<Suite>, Vec<Diagnostic>> {
    let sources: Vec<(PathBuf, String)> = if paths.is_empty() {
        BUILTIN_SCENARIOS
            .iter()
            .filter(|(p, _)| api.is_none_or(|a| p.starts_with(a.builtin_dir())))
            .map(|(p, text)| (PathBuf::from(p), text.to_string()))
            .collect()
    } else {
        let found = scenario::discover(paths).map_err(|d| vec![d])?;
        for n in &found.notes {
            eprintln!("launchgate: note: {n}");
        }
        let files = found.files;
        if files.is_empty() {
            return Err(vec![Diagnostic::file(
                &paths[0],
                "no scenario files (*.yaml) found here",
            )]);
        }
        let mut out = Vec::new();
        let mut diags = Vec::new();
        for f in files {
            match scenario::load::read_scenario(&f) {
                Ok(text) => out.push((f, text)),
                Err(d) => diags.push(d),
            }
        }
        if !diags.is_empty() {
            return Err(diags);
        }
        out
    };
    let mut suites = Vec::new();
    let mut diags = Vec::new();
    let mut names = std::collections::HashMap::new();
    for (path, text) in sources {
        match scenario::load_file(&path, &text) {
            Ok(s) => {
                if let Some(other) = names.insert(s.name.clone(), path.clone()) {
                    diags.push(Diagnostic::file(
                        &path,
                        format!(
                            "suite name `{}` is also used by {}; set `suite:` to tell them apart",
                            s.name,
                            Path::display(&other)
                        ),
                    ));
                }
                suites.push(s);
            }
            Err(d) => diags.extend(d),
        }
    }
    if diags.is_empty() {
        Ok(suites)
    } else {
        Err(diags)
    }
}

/// `launchgate check`: validates scenario files without running them.
pub fn check(paths: &[PathBuf]) -> Exit {
    match load_suites(paths) {
        Ok(suites) => {
            let cases: usize = suites.iter().map(|s| s.spec.cases.len()).sum();
            say(format_args!(
                "launchgate: {} file{} OK, {cases} cases",
                suites.len(),
                if suites.len() == 1 { "" } else { "s" }
            ));
            Exit::Passed
        }
        Err(diags) => {
            print_diagnostics(&diags);
            Exit::Usage
        }
    }
}

/// Whether requests to this target could meet a certificate: anything but
/// plain HTTP on loopback (a plain-HTTP remote host may redirect to HTTPS).
fn needs_tls_roots(target: &Target) -> bool {
    let Ok(url) = url::Url::parse(&target.base_url) else {
        return true;
    };
    let loopback = match url.host() {
        Some(url::Host::Domain(d)) => d == "localhost",
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    !(url.scheme() == "http" && loopback)
}

/// The one shared runtime of a command: two workers, as the machines have two cores.
fn runtime() -> Option<tokio::runtime::Runtime> {
    match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => Some(rt),
        Err(e) => {
            eprintln!("launchgate: cannot start the async runtime: {e}");
            None
        }
    }
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "localhost".into())
}

/// The receiver stores what is signed with the target's webhook secret, and its
/// path token is a secret like a key (whoever knows it can have a body stored).
fn guard_receiver(r: &crate::giftcard::receiver::Receiver, target: &mut Target) {
    use crate::giftcard::signature::{SchemeChoice, Verifier, DEFAULT_TOLERANCE};
    if let Some(secret) = target.inputs.keys.get("webhook_secret") {
        let header = target
            .facts
            .get("signature_header")
            .and_then(|v| v.as_str())
            .unwrap_or("X-Signature-256")
            .to_string();
        r.authenticate_with(Verifier::new(
            SchemeChoice::Auto,
            header,
            secret.as_bytes().to_vec(),
            DEFAULT_TOLERANCE,
        ));
    }
    target.secrets.push(r.token().to_string());
}

/// The HTML report's optional sections for what this run has.
fn html_extras(
    referee: Option<&crate::referee::RefereeReport>,
    scorecard: Option<&crate::giftcard::scorecard::Scorecard>,
) -> report::html::Extras {
    report::html::Extras {
        vendor_scorecard: scorecard.map(crate::giftcard::scorecard::as_table),
        referee_verdicts: referee.map(|r| report::html::ExtraTable {
            intro: Some(format!(
                "The integration's client, refereed against the mock: {} requests judged{}.",
                r.requests,
                r.command
                    .as_deref()
                    .map(|c| format!(" from `{c}`"))
                    .unwrap_or_default()
            )),
            headers: vec![
                "Behaviour".into(),
                "Verdict".into(),
                "Why".into(),
                "Evidence".into(),
            ],
            rows: r
                .judgements
                .iter()
                .map(|j| {
                    vec![
                        j.title.clone(),
                        j.verdict.label().into(),
                        j.summary.clone(),
                        j.evidence.join("\n"),
                    ]
                })
                .collect(),
        }),
    }
}

/// Reads a referee report written by `launchgate referee`.
pub fn load_referee(path: &Path) -> Result<crate::referee::RefereeReport, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    serde_json::from_str(&text)
        .map_err(|e| format!("{} is not a referee report: {e}", path.display()))
}

/// Reads the environment and the secrets file, saying (by name) which variables the
/// environment overrides: it wins, as in the usual `.env` convention.
fn load_secrets(file: Option<&Path>) -> Result<SecretSource, crate::target::TargetError> {
    let source = SecretSource::load(file)?;
    if let Some(f) = file {
        for var in source.shadowed() {
            eprintln!(
                "launchgate: note: {var} is set in the environment and in {}; the environment's value is used",
                f.display()
            );
        }
    }
    Ok(source)
}

/// `launchgate run`.
pub fn run(cfg: RunConfig) -> Exit {
    let referee_report = match cfg.referee.as_deref().map(load_referee).transpose() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("launchgate: --referee: {e}");
            return Exit::Usage;
        }
    };
    let suites = match load_suites_for(&cfg.paths, cfg.api) {
        Ok(s) => s,
        Err(d) => {
            print_diagnostics(&d);
            return Exit::Usage;
        }
    };
    let wants_receiver = suites
        .iter()
        .flat_map(|s| &s.spec.cases)
        .flat_map(|c| &c.value.steps)
        .any(|st| st.value.receive.is_some());
    let Some(rt) = runtime() else {
        return Exit::Usage;
    };
    // The receiver starts first: the embedded vendor mock is told its URL.
    let receiver = if wants_receiver {
        let embedded_vendor = matches!(cfg.target, TargetChoice::Vendor(_));
        let opts = crate::giftcard::receiver::ReceiverOptions {
            listen: cfg
                .webhooks
                .listen
                .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 0))),
            public_url: cfg.webhooks.public_url.clone(),
            refuse_first: cfg
                .webhooks
                .refuse_first
                .unwrap_or(u32::from(embedded_vendor)),
            token: cfg.webhooks.token.clone(),
            ..Default::default()
        };
        match rt.block_on(crate::giftcard::receiver::Receiver::start(opts)) {
            Ok(r) => {
                eprintln!(
                    "launchgate: webhook receiver at {} (listening on {})",
                    r.url(),
                    r.local_addr()
                );
                Some(Arc::new(r))
            }
            Err(e) => {
                eprintln!("launchgate: webhook receiver: {e}");
                return Exit::Usage;
            }
        }
    } else {
        None
    };
    let mut vendor_server = None;
    let mut mock_server = None;
    let mut target = match &cfg.target {
        TargetChoice::Vendor(opts) => {
            let mut opts = opts.clone();
            let dialect = opts.dialect;
            if let Some(r) = &receiver {
                opts.webhook_urls.push(r.url().to_string());
            }
            let addr = SocketAddr::from(([127, 0, 0, 1], 0));
            match rt.block_on(crate::giftcard::VendorMock::start(opts, addr)) {
                Ok(m) => {
                    let mut t = Target::vendor_mock(m.base_url());
                    // The dialect's ready target file says how to talk to it.
                    if dialect != crate::giftcard::VendorDialect::PartB {
                        t.facts.extend(dialect.facts());
                    }
                    vendor_server = Some(m);
                    t
                }
                Err(e) => {
                    eprintln!("launchgate: cannot start the embedded vendor mock: {e}");
                    return Exit::Usage;
                }
            }
        }
        TargetChoice::Mock(opts) => {
            let addr = SocketAddr::from(([127, 0, 0, 1], 0));
            match rt.block_on(MockServer::start(opts.clone(), addr)) {
                Ok(m) => {
                    let t = Target::mock(m.base_url(), m.inputs());
                    mock_server = Some(m);
                    t
                }
                Err(e) => {
                    eprintln!("launchgate: cannot start the embedded mock: {e}");
                    return Exit::Usage;
                }
            }
        }
        TargetChoice::Url(u) => {
            match load_secrets(cfg.secrets.as_deref()).and_then(|s| Target::from_url(u, &s)) {
                Ok(t) => t,
                Err(e) => {
                    eprintln!("launchgate: target: {e}");
                    return Exit::Usage;
                }
            }
        }
        TargetChoice::File(p) => {
            match load_secrets(cfg.secrets.as_deref()).and_then(|s| Target::from_file(p, &s)) {
                Ok(t) => t,
                Err(e) => {
                    eprintln!("launchgate: target: {e}");
                    return Exit::Usage;
                }
            }
        }
    };
    let vendor_probes = suites
        .iter()
        .flat_map(|s| &s.spec.cases)
        .any(|c| !c.value.vendor.is_empty());
    if vendor_probes {
        if let Err(e) = crate::giftcard::dialect::complete_facts(&mut target.facts) {
            eprintln!("launchgate: target: {e}");
            return Exit::Usage;
        }
    }
    if let Some(r) = &receiver {
        guard_receiver(r, &mut target);
    }
    let redactor = Redactor::new(&target.secrets);
    let http = match Http::new(cfg.run.body_cap, needs_tls_roots(&target)) {
        Ok(h) => h,
        Err(e) => {
            eprintln!("launchgate: {e}");
            return Exit::Usage;
        }
    };
    let jobs = cfg
        .libtest
        .test_threads
        .unwrap_or(default_jobs(&cfg.target, cfg.run.jobs));
    warm_connections(&rt, &http, &cfg.target, &target.base_url, jobs);

    let mut planned = plan::plan(
        &suites,
        &target,
        WritePolicy {
            allow_writes: cfg.allow_writes,
        },
    );
    let facts = gate::plan_facts(&suites, &target, &planned.cases);
    let key_findings = gate::key_findings(&target, &facts.keys_used, cfg.secrets.as_deref());
    if let Some((k, n)) = cfg.partition {
        planned = planned.partition(k, n);
    }
    let not_applicable = selected_not_applicable(planned.not_applicable, &cfg.libtest);
    let planned = planned.cases;
    let planned_count = planned.len();
    let summary = TargetSummary {
        kind: target.kind.as_str().to_string(),
        name: target.name.clone(),
        base_url: redactor.redact(&target.base_url).into_owned(),
    };
    let suites = Arc::new(suites);
    let run_id = format!("lg-{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
    let store = snapshot::Store {
        dir: cfg.snapshots.clone(),
        update: cfg.update_snapshots,
        builtin: BUILTIN_SNAPSHOTS,
    };
    // `--jobs` is the most requests in flight; the previous report's durations (the
    // one this run replaces) are the schedule's estimates.
    let options = crate::runner::RunOptions {
        jobs,
        ..cfg.run.clone()
    };
    let mut runner = Runner::new(
        http,
        target,
        suites.clone(),
        redactor.clone(),
        options,
        store,
        run_id,
    )
    .with_history(crate::runner::history(&cfg.json));
    if let Some(r) = &receiver {
        runner = runner.with_receiver(r.clone());
    }
    runner = runner.with_run_vars(retention_vars(cfg.retention_probe));
    let runner = Arc::new(runner);
    let selected = select(&cfg.libtest, planned);
    // A filter that matches only cases for another kind of target is no typo: they are
    // listed as not applicable, and `--fail-on-skip` says nothing ran.
    if selected.is_empty()
        && not_applicable.is_empty()
        && (cfg.libtest.filter.is_some() || !cfg.libtest.skip.is_empty())
    {
        eprintln!(
            "launchgate: {} selects none of the {planned_count} planned cases; `launchgate run --list` lists their ids",
            describe_filter(&cfg.libtest)
        );
        return Exit::Usage;
    }
    let listing = cfg.libtest.list;
    if !listing {
        // No report of an earlier run may survive beside this one's (a green JUnit
        // beside a run that was killed, a checklist a vendor-only run does not write).
        remove_stale_reports(&cfg);
        watch_signals(&rt, &runner);
    }
    let started_at = chrono::Utc::now();
    let t0 = Instant::now();
    let collected = run_trials(&rt, &runner, &selected, &cfg.libtest);
    if let Some(m) = mock_server {
        rt.block_on(m.shutdown());
    }
    if let Some(m) = vendor_server {
        rt.block_on(m.shutdown());
    }
    if listing {
        // stdout stays libtest's list; the cases left out are named on stderr.
        for c in &not_applicable {
            eprintln!("not applicable to this target: {} — {}", c.id, c.reason);
        }
        return Exit::Passed;
    }
    let (collected, lost) = crate::runner::trials::reconcile(&runner, &selected, collected);

    let (sent, received) = runner.counters();
    let mut suite_reports: Vec<SuiteReport> = Vec::new();
    for (si, _, case) in collected {
        let suite = &suites[si];
        match suite_reports.last_mut() {
            Some(last) if last.name == suite.name => last.cases.push(case),
            _ => suite_reports.push(SuiteReport {
                name: suite.name.clone(),
                file: suite.path.display().to_string(),
                cases: vec![case],
            }),
        }
    }
    let ran: std::collections::BTreeSet<String> = suite_reports
        .iter()
        .flat_map(|s| s.cases.iter().map(|c| c.id.clone()))
        .collect();
    let mut missing_inputs = facts.missing_inputs;
    for m in &mut missing_inputs {
        m.cases.retain(|c| ran.contains(c));
    }
    missing_inputs.retain(|m| !m.cases.is_empty());
    let report = RunReport {
        version: env!("CARGO_PKG_VERSION").to_string(),
        target: summary,
        hostname: hostname(),
        started_at: started_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        duration_ms: t0.elapsed().as_millis() as u64,
        requests_sent: sent,
        responses_received: received,
        deadline_hit: runner.deadline_hit(),
        suites: suite_reports,
        not_applicable,
        key_findings,
        scenarios_commit: scenarios_commit(&cfg.paths),
        missing_inputs,
        execution: None,
    };
    let execution = report::Execution {
        jobs: runner.jobs(),
        peak_in_flight: runner.peak_in_flight(),
        waited: report.waiting(),
        connections: runner.connections(),
    };
    eprintln!("{}", report::console::execution_line(&report, &execution));
    let report = RunReport {
        execution: Some(execution),
        ..report
    };
    // The Final Launch Checklist speaks of the Agent API: only a run with cases
    // tagged for it (or a referee report) has anything to say there.
    let list =
        (report.cases().any(|c| !c.checklist.is_empty()) || referee_report.is_some()).then(|| {
            checklist::evaluate_with_referee(&report, &report.key_findings, referee_report.as_ref())
        });
    let write_failed = !write_reports(
        &cfg,
        &report,
        &redactor,
        referee_report.as_ref(),
        list.as_ref(),
    );
    if let Some(why) = runner.interrupted() {
        eprintln!("launchgate: interrupted by {why}; the reports list every case, those that did not finish as errored");
        return Exit::Interrupted;
    }
    let policy = GatePolicy {
        fail_on_skip: cfg.fail_on_skip,
        allow_incomplete: cfg.allow_incomplete,
    };
    let exit = exit_status(&report, list.as_ref(), policy, write_failed);
    // The last line of defence: a run never passes with fewer cases than it planned.
    if lost > 0 || report.totals().total != selected.len() {
        eprintln!(
            "launchgate: {} planned cases, {} reported ({lost} lost and reported as errored); the run fails",
            selected.len(),
            report.totals().total
        );
        return if exit == Exit::Passed || exit == Exit::Skipped {
            Exit::Failed
        } else {
            exit
        };
    }
    exit
}

/// Requests in flight without `--jobs`: more against a real target, where each
/// request waits on the network (the key's advertised budget still caps it), than
/// against the embedded mock, which answers in microseconds.
fn default_jobs(choice: &TargetChoice, mock_default: usize) -> usize {
    match choice {
        TargetChoice::Url(_) | TargetChoice::File(_) => 8,
        _ => mock_default,
    }
}

/// Opens keep-alive connections to an HTTPS staging target while the run is being
/// planned, one per job (at most 16), so its first requests do not pay for TLS
/// handshakes (the JSON report counts them apart: `execution.connections`). A plain
/// HTTP or embedded target has no handshake worth it, and sees no extra request.
fn warm_connections(
    rt: &tokio::runtime::Runtime,
    http: &Http,
    choice: &TargetChoice,
    base_url: &str,
    jobs: usize,
) {
    let remote = matches!(choice, TargetChoice::Url(_) | TargetChoice::File(_));
    if !remote || !base_url.starts_with("https://") {
        return;
    }
    let (http, url) = (http.clone(), base_url.to_string());
    rt.spawn(async move {
        http.warm(&url, jobs.min(16), std::time::Duration::from_secs(10))
            .await
    });
}

/// Every report path this run owns, written or not: they are all removed before the
/// run starts, so a stale one never sits beside a fresh one.
fn owned_report_paths(cfg: &RunConfig) -> Vec<PathBuf> {
    let mut paths = vec![
        cfg.junit.clone(),
        cfg.json.clone(),
        cfg.checklist.clone(),
        json_beside(&cfg.checklist, "checklist", &cfg.json),
        cfg.scorecard.clone(),
        json_beside(&cfg.scorecard, "scorecard", &cfg.json),
        scorecard_junit_path(&cfg.scorecard),
    ];
    paths.extend(cfg.html.clone());
    paths
}

fn remove_stale_reports(cfg: &RunConfig) {
    for p in owned_report_paths(cfg) {
        match std::fs::remove_file(&p) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => eprintln!(
                "launchgate: warning: cannot remove the earlier report {}: {e}",
                p.display()
            ),
        }
    }
}

/// SIGINT or SIGTERM interrupts the run: running cases stop, the rest end at once,
/// and the reports are written as usual (`Exit::Interrupted`). A second signal ends
/// the process at once.
fn watch_signals(rt: &tokio::runtime::Runtime, runner: &Arc<Runner>) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let _in_runtime = rt.enter();
        let (Ok(mut int), Ok(mut term)) = (
            signal(SignalKind::interrupt()),
            signal(SignalKind::terminate()),
        ) else {
            eprintln!("launchgate: warning: cannot watch SIGINT/SIGTERM; an interrupted run writes no reports");
            return;
        };
        let runner = runner.clone();
        rt.spawn(async move {
            let why = tokio::select! {
                _ = int.recv() => "SIGINT",
                _ = term.recv() => "SIGTERM",
            };
            eprintln!(
                "launchgate: {why}: stopping and writing the reports (again to quit at once)"
            );
            runner.interrupt(why);
            tokio::select! {
                _ = int.recv() => {}
                _ = term.recv() => {}
            }
            std::process::exit(Exit::Interrupted as i32);
        });
    }
    #[cfg(not(unix))]
    let _ = (rt, runner);
}

/// The planned cases `-k`/`--skip`/`--exact` keep, by libtest's own matching rules.
fn select(args: &libtest_mimic::Arguments, planned: Vec<PlannedCase>) -> Vec<PlannedCase> {
    planned
        .into_iter()
        .filter(|pc| !args.is_filtered_out(&Trial::test(pc.id.clone(), || Ok(()))))
        .collect()
}

/// `-k "x" --skip "y"`, for messages.
fn describe_filter(args: &libtest_mimic::Arguments) -> String {
    let mut parts = Vec::new();
    if let Some(f) = &args.filter {
        parts.push(format!("-k `{f}`"));
    }
    for s in &args.skip {
        parts.push(format!("--skip `{s}`"));
    }
    if args.exact {
        parts.push("--exact".into());
    }
    parts.join(" ")
}

/// Runs the selected cases (the runner's scheduler owns the concurrency, `--jobs`
/// requests in flight) and prints them as libtest trials; collects their reports by
/// (suite, case) index.
fn run_trials(
    rt: &tokio::runtime::Runtime,
    runner: &Arc<Runner>,
    selected: &[PlannedCase],
    args: &libtest_mimic::Arguments,
) -> Vec<(usize, usize, CaseReport)> {
    // libtest-mimic unwraps its writes to stdout: it writes into a pipe of ours that
    // a closed stdout cannot break (see `stdout`).
    // A logfile asked for (`RunConfig::libtest`) is used as it is.
    let forward = args
        .logfile
        .is_none()
        .then(stdout::Forward::start)
        .flatten();
    // The selection is made already (see `select`); libtest must not filter again.
    let args = libtest_mimic::Arguments {
        filter: None,
        skip: Vec::new(),
        exact: false,
        logfile: args
            .logfile
            .clone()
            .or_else(|| forward.as_ref().map(stdout::Forward::path)),
        ..args.clone()
    };
    let collected = crate::runner::trials::run(rt, runner, selected, &args);
    if let Some(f) = forward {
        f.finish();
    }
    collected
}

/// The not-applicable cases that `--filter`, `--skip` and `--exact` select, matched
/// as libtest matches the trials, so a filtered run does not list unrelated cases.
fn selected_not_applicable(
    cases: Vec<report::NotApplicableCase>,
    args: &libtest_mimic::Arguments,
) -> Vec<report::NotApplicableCase> {
    cases
        .into_iter()
        .filter(|c| !args.is_filtered_out(&Trial::test(c.id.clone(), || Ok(()))))
        .collect()
}

/// Renders and writes every report of a run (atomically, redacted), and prints
/// where they went. False when one could not be written.
fn write_reports(
    cfg: &RunConfig,
    report: &RunReport,
    redactor: &Redactor,
    referee: Option<&crate::referee::RefereeReport>,
    list: Option<&checklist::ChecklistReport>,
) -> bool {
    use crate::giftcard::scorecard as sc;
    let scorecard = sc::applies(report).then(|| sc::evaluate(report));
    let scorecard_junit = scorecard_junit_path(&cfg.scorecard);

    // A shard (--partition) decides nothing on its own: no decision case to merge twice.
    let decision_case = list
        .filter(|_| cfg.partition.is_none())
        .and_then(gate::decision_case);
    let mut files: Vec<(PathBuf, String)> = vec![
        (
            cfg.junit.clone(),
            junit::render_with(report, cfg.junit_profile, decision_case.as_ref()),
        ),
        (
            cfg.json.clone(),
            report::json::render_with(report, list.map(gate::decision_json)),
        ),
    ];
    if let Some(list) = list {
        files.push((cfg.checklist.clone(), checklist::render_markdown(list)));
        files.push((
            json_beside(&cfg.checklist, "checklist", &cfg.json),
            to_json(list),
        ));
    }
    if let Some(s) = &scorecard {
        files.push((cfg.scorecard.clone(), sc::render_markdown(s)));
        files.push((
            json_beside(&cfg.scorecard, "scorecard", &cfg.json),
            to_json(s),
        ));
        files.push((
            scorecard_junit.clone(),
            junit::render(&sc::as_run(s, report), cfg.junit_profile),
        ));
    }
    if let Some(p) = &cfg.html {
        let page = report::html::render(report, list, &html_extras(referee, scorecard.as_ref()));
        files.push((p.clone(), page));
    }
    let mut ok = true;
    for (path, text) in &files {
        let text = redactor.redact(text);
        if let Err(e) = report::write_atomic(path, report::xml_safe(&text).as_bytes()) {
            eprintln!("launchgate: cannot write {}: {e}", path.display());
            ok = false;
        }
    }

    say(report::console::summary(report));
    say(format_args!(
        "reports: {} (JUnit, {:?}), {} (JSON)",
        cfg.junit.display(),
        cfg.junit_profile,
        cfg.json.display()
    ));
    match list {
        Some(l) => {
            say(redactor.redact(checklist::render_console(l).trim_end()));
            say(format_args!("checklist: {} ({})", cfg.checklist.display(), l.decision.label()));
        }
        None => say("checklist: not written (no case in this run is evidence for the Final Launch Checklist)"),
    }
    if let Some(p) = &cfg.html {
        say(format_args!("HTML report: {}", p.display()));
    }
    if let Some(s) = &scorecard {
        say("vendor scorecard:");
        for r in &s.rows {
            say(format_args!("  {:<64} {}", r.title, r.answer.label()));
        }
        say(format_args!(
            "  {} (Markdown), {} (JUnit)",
            cfg.scorecard.display(),
            scorecard_junit.display()
        ));
    }
    ok
}

/// The JSON file beside a Markdown report (`checklist.md` → `checklist.json`),
/// renamed (`x-checklist.json`) when that would overwrite the run's JSON report.
fn json_beside(md: &Path, kind: &str, run_json: &Path) -> PathBuf {
    let plain = md.with_extension("json");
    if plain != run_json {
        return plain;
    }
    let stem = md
        .file_stem()
        .map_or_else(|| kind.to_string(), |s| s.to_string_lossy().into_owned());
    md.with_file_name(format!("{stem}-{kind}.json"))
}

fn to_json<T: serde::Serialize>(v: &T) -> String {
    // Plain data with string keys: serialization cannot fail.
    serde_json::to_string_pretty(v).unwrap_or_default()
}

/// `scorecard.md` → `scorecard-junit.xml` beside it.
fn scorecard_junit_path(md: &Path) -> PathBuf {
    let stem = md
        .file_stem()
        .map_or_else(|| "scorecard".into(), |s| s.to_string_lossy().into_owned());
    md.with_file_name(format!("{stem}-junit.xml"))
}

/// The git commit of the scenario files: `built-in` for the compiled-in suite, else
/// `git rev-parse HEAD` of their work tree (`-dirty` when they have uncommitted or
/// untracked changes), or `None` when they are not in one git work tree.
fn scenarios_commit(paths: &[PathBuf]) -> Option<String> {
    if paths.is_empty() {
        return Some("built-in".into());
    }
    let git = |dir: &Path, args: &[&str]| -> Option<String> {
        let out = std::process::Command::new("git")
            .arg("-C")
            .arg(dir)
            .args(args)
            .stderr(std::process::Stdio::null())
            .output()
            .ok()?;
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
    };
    let mut commit: Option<String> = None;
    let mut dirty = false;
    for p in paths {
        let (dir, spec) = if p.is_dir() {
            (p.as_path(), ".".to_string())
        } else {
            let dir = match p.parent() {
                Some(d) if !d.as_os_str().is_empty() => d,
                _ => Path::new("."),
            };
            let name = p.file_name()?.to_string_lossy().into_owned();
            (dir, name)
        };
        let head = git(dir, &["rev-parse", "HEAD"]).filter(|h| !h.is_empty())?;
        if commit.as_ref().is_some_and(|c| *c != head) {
            return None;
        }
        commit = Some(head);
        let status = git(
            dir,
            &[
                "status",
                "--porcelain",
                "--untracked-files=all",
                "--",
                &spec,
            ],
        )?;
        dirty |= !status.is_empty();
    }
    commit.map(|c| if dirty { format!("{c}-dirty") } else { c })
}

/// Everything `launchgate checklist` needs.
#[derive(Debug, Clone)]
pub struct ChecklistConfig {
    /// The JSON report of a run.
    pub report: PathBuf,
    /// A referee report deciding the client items.
    pub referee: Option<PathBuf>,
    /// Where the Markdown goes (stdout when `None`).
    pub markdown: Option<PathBuf>,
    /// Where the checklist's JSON goes, if anywhere.
    pub json: Option<PathBuf>,
    /// Where the HTML report goes, if anywhere.
    pub html: Option<PathBuf>,
    /// How the decision maps to the exit status.
    pub policy: GatePolicy,
}

/// `launchgate checklist`: renders the Final Launch Checklist from a saved JSON report.
pub fn checklist_from(cfg: ChecklistConfig) -> Exit {
    let ChecklistConfig {
        report,
        referee,
        markdown,
        json,
        html,
        policy,
    } = cfg;
    let (report, referee, markdown, json, html) = (
        report.as_path(),
        referee.as_deref(),
        markdown.as_deref(),
        json.as_deref(),
        html.as_deref(),
    );
    let referee_report = match referee.map(load_referee).transpose() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("launchgate: --referee: {e}");
            return Exit::Usage;
        }
    };
    let text = match std::fs::read_to_string(report) {
        Ok(t) => t,
        Err(e) => {
            eprintln!(
                "launchgate: cannot read {}: {e} (run `launchgate run` first, or pass --report)",
                report.display()
            );
            return Exit::Usage;
        }
    };
    let run = match report::json::parse(&text) {
        Ok(r) => r,
        Err(e) => {
            eprintln!(
                "launchgate: {} is not a launchgate JSON report: {e}",
                report.display()
            );
            return Exit::Usage;
        }
    };
    let list = checklist::evaluate_with_referee(&run, &run.key_findings, referee_report.as_ref());
    let md = checklist::render_markdown(&list);
    match markdown {
        Some(p) => {
            if let Err(e) = report::write_atomic(p, md.as_bytes()) {
                eprintln!("launchgate: cannot write {}: {e}", p.display());
                return Exit::Usage;
            }
        }
        None => {
            use std::io::Write;
            // `launchgate checklist | head` must not panic on the closed pipe.
            let _ = std::io::stdout().lock().write_all(md.as_bytes());
        }
    }
    if let Some(p) = json {
        let j = serde_json::to_string_pretty(&list).unwrap_or_default();
        if let Err(e) = report::write_atomic(p, report::xml_safe(&j).as_bytes()) {
            eprintln!("launchgate: cannot write {}: {e}", p.display());
            return Exit::Usage;
        }
    }
    if let Some(p) = html {
        // No keys are known here; key-shaped values are still redacted.
        let scorecard = crate::giftcard::scorecard::applies(&run)
            .then(|| crate::giftcard::scorecard::evaluate(&run));
        let page = report::html::render(
            &run,
            Some(&list),
            &html_extras(referee_report.as_ref(), scorecard.as_ref()),
        );
        let page = Redactor::default().redact(&page).into_owned();
        if let Err(e) = report::write_atomic(p, page.as_bytes()) {
            eprintln!("launchgate: cannot write {}: {e}", p.display());
            return Exit::Usage;
        }
    }
    if markdown.is_some() {
        print!("{}", checklist::render_console(&list));
    }
    decision_exit(&list, policy).unwrap_or(Exit::Passed)
}
