//! `launchgate referee`: a client against the mock, judged from the journal.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::agent_api::{JournalPage, JOURNAL_PATH};
use crate::evaluation::{console, State};
use crate::mock::{MockOptions, MockServer};
use crate::redact::Redactor;
use crate::referee::{Referee, RefereeOptions, RefereeReport};
use crate::report::{self, junit};
use crate::target::Inputs;

use super::stdout::say;
use super::{runtime, Error, Exit, InputError, UsageError};

/// Everything `launchgate referee` needs.
pub struct RefereeConfig {
    /// The client command to run against the mock (empty: wait for requests from elsewhere).
    pub command: Vec<String>,
    /// The longest the referee runs; the client is stopped then.
    pub max_duration: Duration,
    /// Stop once no request arrived for this long (after the client exited, if there is one).
    pub until_idle: Option<Duration>,
    /// The mock's faults, chosen to provoke the behaviours judged.
    pub mock: MockOptions,
    /// Port for the mock (0: any free port).
    pub port: u16,
    /// Where the JUnit XML goes.
    pub junit: PathBuf,
    /// Where the referee's JSON report goes.
    pub json: PathBuf,
    /// Judging rules.
    pub rules: RefereeOptions,
}

/// The mock a client is refereed against: the given faults, every key limited to
/// `rate_limit` requests per `rate_window`, and what the referee judges provoked.
pub fn provoking_mock(
    fail_rate: f64,
    drop_after_commit: f64,
    rate_limit: u32,
    rate_window: Duration,
    seed: u64,
) -> Result<MockOptions, UsageError> {
    let mock = MockOptions {
        fail_rate,
        drop_after_commit,
        rate_window,
        rate_limit_override: Some(rate_limit),
        seed,
        provoke: true,
        ..MockOptions::default()
    };
    mock.validate()?;
    Ok(mock)
}

/// Reads a referee report written by `launchgate referee`.
pub fn load_referee(path: &Path) -> Result<RefereeReport, InputError> {
    let text = std::fs::read_to_string(path).map_err(|source| InputError::Read {
        path: path.to_path_buf(),
        source,
        hint: "",
    })?;
    serde_json::from_str(&text).map_err(|source| InputError::Parse {
        path: path.to_path_buf(),
        what: "referee report",
        source,
    })
}

/// The longest line of client output kept; the rest of a longer line is dropped.
const MAX_OUTPUT_LINE: usize = 16 * 1024;
/// How long a stopped client's process group gets between SIGTERM and SIGKILL.
const STOP_GRACE: Duration = Duration::from_secs(2);

/// The mock's journal, read through its control route, page by page, into the referee.
struct Journal {
    http: reqwest::Client,
    base: String,
    /// The last entry read.
    after: u64,
    /// Whether the journal evicted entries before they were read.
    lost: bool,
    referee: Referee,
}

impl Journal {
    /// Reads every page after the last entry read, until a page says there is
    /// nothing more; returns how many entries it fed the referee.
    async fn drain(&mut self) -> Result<usize, Error> {
        let mut fed = 0;
        loop {
            let url = format!(
                "{}{JOURNAL_PATH}?after={}&limit={}",
                self.base,
                self.after,
                crate::mock::JOURNAL_PAGE_ENTRIES
            );
            let page: JournalPage = self
                .http
                .get(&url)
                .send()
                .await
                .and_then(|r| r.error_for_status())
                .map_err(|e| Error::Journal(format!("cannot read the journal: {e}")))?
                .json()
                .await
                .map_err(|e| Error::Journal(format!("unreadable journal page: {e}")))?;
            self.lost |= page.lost;
            for e in &page.entries {
                self.after = e.seq;
                self.referee.observe(e);
                fed += 1;
            }
            if page.entries.is_empty() || !page.more {
                return Ok(fed);
            }
        }
    }
}

/// Copies one output stream of the client to our stderr, line by line, redacted.
///
/// Reads bytes, not text: one byte that is not UTF-8 must not stop the reader (the client
/// would then die of a broken pipe). A line longer than [`MAX_OUTPUT_LINE`] is cut; the
/// rest of it is read and dropped, so the buffer stays bounded.
async fn relay_output<R>(mut stream: R, name: &'static str, redactor: Redactor)
where
    R: tokio::io::AsyncRead + Unpin,
{
    use std::io::Write;
    use tokio::io::AsyncReadExt;
    let mut line: Vec<u8> = Vec::with_capacity(1024);
    let mut cut = false;
    let mut chunk = vec![0u8; 8192];
    let emit = |line: &[u8], cut: bool| {
        let text = String::from_utf8_lossy(line);
        let text = redactor.redact(text.trim_end_matches('\r'));
        let mark = if cut { " …(line cut)" } else { "" };
        // Our stderr may be closed; the client must go on regardless.
        let _ = writeln!(std::io::stderr().lock(), "client {name} | {text}{mark}");
    };
    loop {
        let n = match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        for &b in &chunk[..n] {
            if b == b'\n' {
                emit(&line, cut);
                line.clear();
                cut = false;
            } else if line.len() < MAX_OUTPUT_LINE {
                line.push(b);
            } else {
                cut = true;
            }
        }
    }
    if !line.is_empty() {
        emit(&line, cut);
    }
}

/// Sends `signal` to the client's whole process group (the client leads its own group).
#[allow(unsafe_code)]
fn signal_group(pid: u32, signal: libc::c_int) {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return;
    };
    if pid > 1 {
        // SAFETY: kill(2) takes plain integers; a negative pid names the process group
        // the client was started in (`process_group(0)`), never our own group.
        unsafe {
            libc::kill(-pid, signal);
        }
    }
}

/// Ends the client's process group: SIGTERM, a grace period, then SIGKILL. Also run after
/// the client exited by itself, so grandchildren and daemons it left behind go too.
async fn end_group(pid: u32, child: Option<&mut tokio::process::Child>) {
    signal_group(pid, libc::SIGTERM);
    if let Some(c) = child {
        let _ = tokio::time::timeout(STOP_GRACE, c.wait()).await;
    } else {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    signal_group(pid, libc::SIGKILL);
}

/// Starts the client in its own process group, its output relayed through the redactor.
fn spawn_client(
    command: &[String],
    env: &[(String, String)],
    redactor: &Redactor,
) -> Result<tokio::process::Child, Error> {
    let Some((program, args)) = command.split_first() else {
        return Err(UsageError::Invalid("no client command".into()).into());
    };
    let mut cmd = tokio::process::Command::new(program);
    cmd.args(args)
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    let mut c = cmd.spawn().map_err(|source| Error::Spawn {
        program: program.clone(),
        source,
    })?;
    if let Some(s) = c.stdout.take() {
        tokio::spawn(relay_output(s, "out", redactor.clone()));
    }
    if let Some(s) = c.stderr.take() {
        tokio::spawn(relay_output(s, "err", redactor.clone()));
    }
    Ok(c)
}

/// What happened to the client process.
#[derive(Default)]
struct ClientEnd {
    exit_status: Option<i32>,
    problem: Option<String>,
}

/// The client's environment: the mock's URL and fixture keys and ids, the way a
/// staging run would give them.
fn client_env(base: &str, inputs: &Inputs) -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = vec![("LAUNCHGATE_BASE_URL".into(), base.to_string())];
    for (k, v) in &inputs.keys {
        env.push((crate::target::default_key_var(k), v.clone()));
    }
    for (k, v) in &inputs.fixtures {
        env.push((crate::target::default_fixture_var(k), v.clone()));
    }
    // The mock is on loopback, which a proxy from the environment (a CI runner's)
    // cannot reach: exempt it for the client's HTTP library, keeping the rest.
    for var in ["NO_PROXY", "no_proxy"] {
        let mut hosts = std::env::var(var).unwrap_or_default();
        for host in ["127.0.0.1", "localhost", "::1"] {
            if !hosts.split(',').any(|h| h.trim() == host) {
                if !hosts.trim().is_empty() {
                    hosts.push(',');
                }
                hosts.push_str(host);
            }
        }
        env.push((var.to_string(), hosts));
    }
    env
}

/// Runs the mock, the client and the journal reader until the client is done.
async fn referee_run(cfg: &RefereeConfig, started_at: &str) -> Result<RefereeReport, Error> {
    let t0 = Instant::now();
    let addr = SocketAddr::from(([127, 0, 0, 1], cfg.port));
    let mock = MockServer::start(cfg.mock.clone(), addr)
        .await
        .map_err(|source| Error::Start {
            what: "mock",
            source,
        })?;
    let base = mock.base_url().to_string();
    let inputs = mock.inputs();
    let redactor = Redactor::new(inputs.keys.values());
    let mut journal = Journal {
        http: crate::http::control_client(Duration::from_secs(5), true)?,
        base: base.clone(),
        after: 0,
        lost: false,
        referee: Referee::with_options(cfg.rules),
    };
    eprintln!("referee: mock at {base} (journal at {base}{JOURNAL_PATH})");
    let mut child = if cfg.command.is_empty() {
        eprintln!("referee: no client command; point your client at {base} (keys: `launchgate mock` prints them); waiting");
        None
    } else {
        Some(spawn_client(
            &cfg.command,
            &client_env(&base, &inputs),
            &redactor,
        )?)
    };
    let pid = child.as_ref().and_then(|c| c.id());
    let mut end = watch(cfg, t0, &mut journal, &mut child).await?;
    if let Some(pid) = pid {
        end_group(pid, child.as_mut()).await;
    }
    journal.drain().await?;
    mock.shutdown().await;
    if end.problem.is_none() && journal.referee.requests() == 0 {
        end.problem = Some(if cfg.command.is_empty() {
            "no request reached the mock: nothing was judged".into()
        } else {
            "the client sent no request to the mock: nothing was judged (does it read LAUNCHGATE_BASE_URL?)".into()
        });
    }
    Ok(verdicts(cfg, started_at, t0, journal, end, &redactor))
}

/// Reads the journal while the client runs, until it is done: it exited (and, with
/// `--until-idle`, went quiet), or, without a client, requests stopped coming; or
/// `--for` elapsed.
async fn watch(
    cfg: &RefereeConfig,
    t0: Instant,
    journal: &mut Journal,
    child: &mut Option<tokio::process::Child>,
) -> Result<ClientEnd, Error> {
    let mut end = ClientEnd::default();
    let mut last_activity = Instant::now();
    loop {
        tokio::time::sleep(Duration::from_millis(200)).await;
        if journal.drain().await? > 0 {
            last_activity = Instant::now();
        }
        if let Some(c) = child.as_mut() {
            if let Ok(Some(status)) = c.try_wait() {
                end.exit_status = status.code();
                if !status.success() {
                    end.problem = Some(match status.code() {
                        Some(code) => format!("the client exited with status {code}"),
                        None => "the client was killed by a signal".to_string(),
                    });
                }
                *child = None;
            }
        }
        let idle_done = cfg.until_idle.is_some_and(|d| last_activity.elapsed() >= d);
        if !cfg.command.is_empty() && child.is_none() && (cfg.until_idle.is_none() || idle_done) {
            return Ok(end);
        }
        if cfg.command.is_empty() && idle_done && journal.referee.requests() > 0 {
            return Ok(end);
        }
        if t0.elapsed() >= cfg.max_duration {
            let limit = humantime::format_duration(cfg.max_duration);
            eprintln!("referee: {limit} elapsed; stopping");
            if child.is_some() {
                end.problem = Some(format!(
                    "the client did not finish within {limit} (--for) and was stopped"
                ));
            }
            return Ok(end);
        }
    }
}

/// The referee's report: its verdicts, redacted, and what happened to the client.
fn verdicts(
    cfg: &RefereeConfig,
    started_at: &str,
    t0: Instant,
    journal: Journal,
    end: ClientEnd,
    redactor: &Redactor,
) -> RefereeReport {
    let requests = journal.referee.requests();
    RefereeReport {
        version: env!("CARGO_PKG_VERSION").to_string(),
        started_at: started_at.to_string(),
        command: (!cfg.command.is_empty())
            .then(|| redactor.redact(&cfg.command.join(" ")).into_owned()),
        exit_status: end.exit_status,
        requests,
        journal_lost_entries: journal.lost,
        judgements: journal
            .referee
            .finish()
            .into_iter()
            .map(|mut j| {
                j.summary = redactor.redact(&j.summary).into_owned();
                j.evidence = j
                    .evidence
                    .iter()
                    .map(|l| redactor.redact(l).into_owned())
                    .collect();
                j
            })
            .collect(),
        client_problem: end.problem,
        duration_ms: t0.elapsed().as_millis() as u64,
    }
}

/// The referee's JUnit: one test case per verdict, with the run's real time, no invented
/// file or line (the verdicts come from a journal, not from a file).
pub fn referee_junit(r: &RefereeReport) -> String {
    junit::render_evaluation(&crate::referee::evaluation(r), junit::Profile::Generic)
}

fn print_verdicts(report: &RefereeReport) {
    for l in console::lines(&crate::referee::evaluation(report), "") {
        say(l);
    }
    if report.journal_lost_entries {
        say("warning: the journal evicted requests before the referee read them; verdicts may miss some");
    }
    if let Some(p) = &report.client_problem {
        say(format_args!(
            "referee: {p}; the verdicts above cover only what it sent"
        ));
    }
}

/// `launchgate referee`: runs a client against the mock and judges what it did.
/// Exit 1 when a verdict fails or the client had a problem.
pub fn referee(cfg: RefereeConfig) -> Result<Exit, Error> {
    let rt = runtime()?;
    let started_at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let report = rt.block_on(referee_run(&cfg, &started_at))?;
    print_verdicts(&report);
    let mut failed = false;
    for (path, text) in [
        (
            &cfg.json,
            serde_json::to_string_pretty(&report).unwrap_or_default(),
        ),
        (&cfg.junit, referee_junit(&report)),
    ] {
        if let Err(e) = report::write_atomic(path, text.as_bytes()) {
            eprintln!("launchgate: cannot write {}: {e}", path.display());
            failed = true;
        }
    }
    say(format_args!(
        "referee: {} requests judged in {} ms; reports: {} (JSON), {} (JUnit)",
        report.requests,
        report.duration_ms,
        cfg.json.display(),
        cfg.junit.display()
    ));
    // A failed verdict or a client run that did not end cleanly fails the referee; a
    // situation the client never met does not.
    let verdict = crate::referee::evaluation(&report).overall();
    Ok(if failed || verdict == State::Fail {
        Exit::Failed
    } else {
        Exit::Passed
    })
}
