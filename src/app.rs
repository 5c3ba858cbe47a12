//! The commands, as library functions: `main.rs` parses arguments into these
//! configs and calls them. Everything a user sees as an error is rendered here.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use libtest_mimic::{Completion, Failed, Trial};
use parking_lot::Mutex;

use crate::http::Http;
use crate::mock::{MockOptions, MockServer};
use crate::plan::{self, WritePolicy};
use crate::redact::Redactor;
use crate::report::{self, junit, CaseReport, Outcome, RunReport, SuiteReport, TargetSummary};
use crate::runner::{RunOptions, Runner};
use crate::scenario::{self, Diagnostic, Suite};
use crate::snapshot;
use crate::target::{SecretSource, Target};

include!(concat!(env!("OUT_DIR"), "/builtin.rs"));

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
}

impl From<Exit> for ExitCode {
    fn from(e: Exit) -> ExitCode {
        ExitCode::from(e as u8)
    }
}

/// Which target to run against.
#[derive(Debug, Clone)]
pub enum TargetChoice {
    /// The embedded mock, with these options.
    Mock(MockOptions),
    /// A base URL with the default variable names.
    Url(String),
    /// A target file.
    File(PathBuf),
}

impl TargetChoice {
    /// `mock`, a URL (`http://`, `https://`) or a path to a target file.
    pub fn parse(s: &str, mock: MockOptions) -> TargetChoice {
        if s == "mock" {
            TargetChoice::Mock(mock)
        } else if s.starts_with("http://") || s.starts_with("https://") {
            TargetChoice::Url(s.to_string())
        } else {
            TargetChoice::File(PathBuf::from(s))
        }
    }
}

/// Everything `launchgate run` needs.
pub struct RunConfig {
    /// Scenario files or directories; empty = the built-in launch suite.
    pub paths: Vec<PathBuf>,
    /// The target.
    pub target: TargetChoice,
    /// A `.env`-style secrets file.
    pub secrets: Option<PathBuf>,
    /// Allow writes against a real target.
    pub allow_writes: bool,
    /// Timeouts, deadline, caps.
    pub run: RunOptions,
    /// Where the JUnit XML goes.
    pub junit: PathBuf,
    /// Its profile.
    pub junit_profile: junit::Profile,
    /// Where the JSON report goes.
    pub json: PathBuf,
    /// The snapshot directory.
    pub snapshots: PathBuf,
    /// Accept new snapshots.
    pub update_snapshots: bool,
    /// Exit 4 when anything was skipped or inconclusive.
    pub fail_on_skip: bool,
    /// Run only shard k of n.
    pub partition: Option<(u32, u32)>,
    /// Filters, `--list`, `--jobs` (as `--test-threads`), output format.
    pub libtest: libtest_mimic::Arguments,
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

/// Loads scenario files (or the built-in suite when `paths` is empty), collecting every diagnostic.
pub fn load_suites(paths: &[PathBuf]) -> Result<Vec<Suite>, Vec<Diagnostic>> {
    let sources: Vec<(PathBuf, String)> = if paths.is_empty() {
        BUILTIN_SCENARIOS
            .iter()
            .map(|(p, text)| (PathBuf::from(p), text.to_string()))
            .collect()
    } else {
        let files = scenario::discover(paths).map_err(|d| vec![d])?;
        if files.is_empty() {
            return Err(vec![Diagnostic::file(
                &paths[0],
                "no scenario files (*.yaml) found here",
            )]);
        }
        let mut out = Vec::new();
        let mut diags = Vec::new();
        for f in files {
            match std::fs::read_to_string(&f) {
                Ok(text) => out.push((f, text)),
                Err(e) => diags.push(Diagnostic::file(&f, format!("cannot read: {e}"))),
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
            println!(
                "launchgate: {} file{} OK, {cases} cases",
                suites.len(),
                if suites.len() == 1 { "" } else { "s" }
            );
            Exit::Passed
        }
        Err(diags) => {
            print_diagnostics(&diags);
            Exit::Usage
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

/// `launchgate run`.
pub fn run(cfg: RunConfig) -> Exit {
    let suites = match load_suites(&cfg.paths) {
        Ok(s) => s,
        Err(d) => {
            print_diagnostics(&d);
            return Exit::Usage;
        }
    };
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("launchgate: cannot start the async runtime: {e}");
            return Exit::Usage;
        }
    };
    let mut mock_server = None;
    let target = match &cfg.target {
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
            match SecretSource::load(cfg.secrets.as_deref()).and_then(|s| Target::from_url(u, &s)) {
                Ok(t) => t,
                Err(e) => {
                    eprintln!("launchgate: target: {e}");
                    return Exit::Usage;
                }
            }
        }
        TargetChoice::File(p) => match SecretSource::load(cfg.secrets.as_deref())
            .and_then(|s| Target::from_file(p, &s))
        {
            Ok(t) => t,
            Err(e) => {
                eprintln!("launchgate: target: {e}");
                return Exit::Usage;
            }
        },
    };
    let redactor = Redactor::new(&target.secrets);
    let http = match Http::new(cfg.run.body_cap) {
        Ok(h) => h,
        Err(e) => {
            eprintln!("launchgate: {e}");
            return Exit::Usage;
        }
    };

    let mut planned = plan::plan(
        &suites,
        &target,
        WritePolicy {
            allow_writes: cfg.allow_writes,
        },
    );
    if let Some((k, n)) = cfg.partition {
        planned = plan::partition(planned, k, n);
    }
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
    let runner = Arc::new(Runner::new(
        http,
        target,
        suites.clone(),
        redactor.clone(),
        cfg.run.clone(),
        store,
        run_id,
    ));
    let results: Arc<Mutex<Vec<(usize, usize, CaseReport)>>> = Arc::default();
    let started_at = chrono::Utc::now();
    let t0 = Instant::now();

    let trials: Vec<Trial> = planned
        .into_iter()
        .map(|pc| {
            let runner = runner.clone();
            let results = results.clone();
            let handle = rt.handle().clone();
            let id = pc.id.clone();
            Trial::ignorable_test(id, move || {
                let report = handle.block_on(runner.run_case(&pc));
                let outcome = report.outcome;
                let reason = report.reason.clone();
                let block = report::console::failure_block(&report);
                results.lock().push((pc.suite, pc.case, report));
                match outcome {
                    Outcome::Passed => Ok(Completion::Completed),
                    Outcome::Skipped => Ok(Completion::ignored_with(reason.unwrap_or_default())),
                    Outcome::Inconclusive => Ok(Completion::ignored_with(format!(
                        "inconclusive: {}",
                        reason.unwrap_or_default()
                    ))),
                    Outcome::Failed | Outcome::Errored => Err(Failed::from(block)),
                }
            })
        })
        .collect();

    let listing = cfg.libtest.list;
    let _conclusion = libtest_mimic::run(&cfg.libtest, trials);
    if let Some(m) = mock_server {
        rt.block_on(m.shutdown());
    }
    if listing {
        return Exit::Passed;
    }

    let (sent, received) = runner.counters();
    let mut collected = std::mem::take(&mut *results.lock());
    collected.sort_by_key(|(s, c, _)| (*s, *c));
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
    };
    let mut write_failed = false;
    let junit_xml = redactor
        .redact(&junit::render(&report, cfg.junit_profile))
        .into_owned();
    let json_text = redactor.redact(&report::json::render(&report)).into_owned();
    for (path, text) in [(&cfg.junit, junit_xml), (&cfg.json, json_text)] {
        if let Err(e) = report::write_atomic(path, text.as_bytes()) {
            eprintln!("launchgate: cannot write {}: {e}", path.display());
            write_failed = true;
        }
    }
    println!("{}", report::console::summary(&report));
    println!(
        "reports: {} (JUnit, {:?}), {} (JSON)",
        cfg.junit.display(),
        cfg.junit_profile,
        cfg.json.display()
    );
    exit_status(&report, cfg.fail_on_skip, write_failed)
}

/// The exit status for a finished run.
pub fn exit_status(report: &RunReport, fail_on_skip: bool, write_failed: bool) -> Exit {
    let t = report.totals();
    if report.requests_sent > 0 && report.responses_received == 0 && t.passed == 0 {
        eprintln!(
            "launchgate: the target never answered ({} requests sent, no HTTP response)",
            report.requests_sent
        );
        return Exit::Unreachable;
    }
    if t.failed + t.errored > 0 || write_failed {
        return Exit::Failed;
    }
    if fail_on_skip && t.skipped + t.inconclusive > 0 {
        eprintln!(
            "launchgate: --fail-on-skip: {} cases were skipped or inconclusive",
            t.skipped + t.inconclusive
        );
        return Exit::Skipped;
    }
    Exit::Passed
}

/// `launchgate junit merge OUT IN...`: one JUnit report from the shards of a CI matrix.
pub fn junit_merge(out: &Path, inputs: &[PathBuf]) -> Exit {
    let mut texts = Vec::new();
    for p in inputs {
        match std::fs::read_to_string(p) {
            Ok(t) => texts.push((p.display().to_string(), t)),
            Err(e) => {
                eprintln!("launchgate: cannot read {}: {e}", p.display());
                return Exit::Usage;
            }
        }
    }
    let merged = match junit::merge(texts.iter().map(|(l, t)| (l.as_str(), t.as_str()))) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("launchgate: {e}");
            return Exit::Usage;
        }
    };
    for d in &merged.duplicates {
        eprintln!("launchgate: warning: `{d}` appears more than once (was a shard given twice?)");
    }
    if let Err(e) = report::write_atomic(out, merged.xml.as_bytes()) {
        eprintln!("launchgate: cannot write {}: {e}", out.display());
        return Exit::Failed;
    }
    println!(
        "launchgate: merged {} report{} ({} cases) into {}",
        inputs.len(),
        if inputs.len() == 1 { "" } else { "s" },
        merged.cases,
        out.display()
    );
    Exit::Passed
}
