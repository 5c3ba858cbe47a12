//! `launchgate referee`: a client against the mock, judged from the journal.

use super::*;

/// Everything `launchgate referee` needs.
pub struct RefereeConfig {
    /// The client command to run against the mock (empty: wait for requests from elsewhere).
    pub command: Vec<String>,
    /// The longest the referee runs; the client is stopped then.
    pub max_duration: std::time::Duration,
    /// Stop once no request arrived for this long (after the client exited, if there is one).
    pub until_idle: Option<std::time::Duration>,
    /// The mock's faults, chosen to provoke the behaviours judged.
    pub mock: MockOptions,
    /// Port for the mock (0: any free port).
    pub port: u16,
    /// Where the JUnit XML goes.
    pub junit: PathBuf,
    /// Where the referee's JSON report goes.
    pub json: PathBuf,
}

/// Reads journal pages after `after` through the control route, feeding the referee.
async fn drain_journal(
    http: &reqwest::Client,
    base: &str,
    after: &mut u64,
    referee: &mut crate::referee::Referee,
    lost: &mut bool,
) -> Result<usize, String> {
    let mut fed = 0;
    loop {
        let url = format!("{base}/__launchgate/journal?after={after}&limit=1000");
        let page: serde_json::Value = http
            .get(&url)
            .send()
            .await
            .and_then(|r| r.error_for_status())
            .map_err(|e| format!("cannot read the journal: {e}"))?
            .json()
            .await
            .map_err(|e| format!("unreadable journal page: {e}"))?;
        *lost |= page["lost"].as_bool().unwrap_or(false);
        let entries = page["entries"].as_array().cloned().unwrap_or_default();
        if entries.is_empty() {
            return Ok(fed);
        }
        for raw in entries {
            match serde_json::from_value::<crate::referee::JournalEntry>(raw) {
                Ok(e) => {
                    *after = e.seq;
                    referee.observe(&e);
                    fed += 1;
                }
                Err(e) => return Err(format!("unexpected journal entry: {e}")),
            }
        }
    }
}

/// The referee's verdicts as a run report, so JUnit and HTML render them like cases.
pub fn referee_as_run(r: &crate::referee::RefereeReport) -> RunReport {
    use crate::referee::ClientVerdict;
    let cases = r
        .judgements
        .iter()
        .map(|j| CaseReport {
            id: format!("referee::{}", j.title),
            name: j.title.clone(),
            file: "referee".into(),
            line: 0,
            outcome: match j.verdict {
                ClientVerdict::Pass => Outcome::Passed,
                ClientVerdict::Fail => Outcome::Failed,
                ClientVerdict::NotExercised => Outcome::Skipped,
            },
            reason: (j.verdict == ClientVerdict::NotExercised).then(|| j.summary.clone()),
            failure: (j.verdict == ClientVerdict::Fail).then(|| report::FailureReport {
                step: String::new(),
                location: "mock request journal".into(),
                message: j.summary.clone(),
                details: j.evidence.clone(),
                request: String::new(),
                response: None,
            }),
            checklist: vec![j.item.clone()],
            vendor: Vec::new(),
            started_at: r.started_at.clone(),
            duration_ms: 0,
            steps: Vec::new(),
        })
        .collect();
    RunReport {
        version: r.version.clone(),
        target: TargetSummary {
            kind: "mock".into(),
            name: "referee".into(),
            base_url: r.command.clone().unwrap_or_default(),
        },
        hostname: hostname(),
        started_at: r.started_at.clone(),
        duration_ms: 0,
        requests_sent: 0,
        responses_received: r.requests,
        deadline_hit: false,
        suites: vec![SuiteReport {
            name: "referee".into(),
            file: "referee".into(),
            cases,
        }],
        not_applicable: Vec::new(),
        key_findings: Vec::new(),
        scenarios_commit: None,
    }
}

/// `launchgate referee`: runs a client against the mock and judges what it did.
pub fn referee(cfg: RefereeConfig) -> Exit {
    use crate::referee::{ClientVerdict, Referee, RefereeReport};
    use tokio::io::AsyncBufReadExt;

    let Some(rt) = runtime() else {
        return Exit::Usage;
    };
    let started_at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let result: Result<RefereeReport, String> = rt.block_on(async {
        let addr = SocketAddr::from(([127, 0, 0, 1], cfg.port));
        let mock = MockServer::start(cfg.mock.clone(), addr).await.map_err(|e| format!("cannot start the mock: {e}"))?;
        let base = mock.base_url().to_string();
        let inputs = mock.inputs();
        let redactor = Redactor::new(inputs.keys.values());
        let http = crate::http::control_client(std::time::Duration::from_secs(5)).map_err(|e| e.to_string())?;
        eprintln!("referee: mock at {base} (journal at {base}/__launchgate/journal)");

        // The client gets the mock's URL and fixture keys the way a staging run would.
        let mut env: Vec<(String, String)> = vec![("LAUNCHGATE_BASE_URL".into(), base.clone())];
        for (k, v) in &inputs.keys {
            env.push((crate::target::default_key_var(k), v.clone()));
        }
        for (k, v) in &inputs.fixtures {
            env.push((crate::target::default_fixture_var(k), v.clone()));
        }
        let mut child = None;
        if let Some((program, args)) = cfg.command.split_first() {
            let mut cmd = tokio::process::Command::new(program);
            cmd.args(args)
                .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
                .stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .kill_on_drop(true);
            let mut c = cmd.spawn().map_err(|e| format!("cannot start `{program}`: {e}"))?;
            // The client's output passes through the redactor: it may print its keys.
            for (stream, name) in [
                (c.stdout.take().map(|s| Box::new(s) as Box<dyn tokio::io::AsyncRead + Unpin + Send>), "out"),
                (c.stderr.take().map(|s| Box::new(s) as Box<dyn tokio::io::AsyncRead + Unpin + Send>), "err"),
            ] {
                if let Some(s) = stream {
                    let r = redactor.clone();
                    tokio::spawn(async move {
                        let mut lines = tokio::io::BufReader::new(s).lines();
                        while let Ok(Some(l)) = lines.next_line().await {
                            eprintln!("client {name} | {}", r.redact(&l));
                        }
                    });
                }
            }
            child = Some(c);
        } else {
            eprintln!("referee: no client command; point your client at {base} (keys: `launchgate mock` prints them); waiting");
        }

        let mut referee = Referee::new();
        let mut after = 0u64;
        let mut lost = false;
        let mut exit_status = None;
        let t0 = Instant::now();
        let mut last_activity = Instant::now();
        loop {
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            if drain_journal(&http, &base, &mut after, &mut referee, &mut lost).await? > 0 {
                last_activity = Instant::now();
            }
            if let Some(c) = child.as_mut() {
                if let Ok(Some(status)) = c.try_wait() {
                    exit_status = Some(status.code().unwrap_or(-1));
                    child = None;
                }
            }
            let client_done = child.is_none() && (exit_status.is_some() || cfg.command.is_empty());
            let idle_done = cfg.until_idle.is_some_and(|d| last_activity.elapsed() >= d);
            if (client_done && (cfg.until_idle.is_none() || idle_done)) && !cfg.command.is_empty() {
                break;
            }
            if cfg.command.is_empty() && idle_done && referee.requests() > 0 {
                break;
            }
            if t0.elapsed() >= cfg.max_duration {
                eprintln!("referee: {} elapsed; stopping", humantime::format_duration(cfg.max_duration));
                if let Some(mut c) = child.take() {
                    let _ = c.kill().await;
                }
                break;
            }
        }
        drain_journal(&http, &base, &mut after, &mut referee, &mut lost).await?;
        mock.shutdown().await;
        Ok(RefereeReport {
            version: env!("CARGO_PKG_VERSION").to_string(),
            started_at: started_at.clone(),
            command: (!cfg.command.is_empty()).then(|| redactor.redact(&cfg.command.join(" ")).into_owned()),
            exit_status,
            requests: referee.requests(),
            journal_lost_entries: lost,
            judgements: referee.finish(),
        })
    });
    let report = match result {
        Ok(r) => r,
        Err(e) => {
            eprintln!("launchgate referee: {e}");
            return Exit::Usage;
        }
    };
    for j in &report.judgements {
        println!("{:<32} {:<14} {}", j.title, j.verdict.label(), j.summary);
        if j.verdict == ClientVerdict::Fail {
            for l in &j.evidence {
                println!("    {l}");
            }
        }
    }
    if report.journal_lost_entries {
        println!("warning: the journal evicted requests before the referee read them; verdicts may miss some");
    }
    let as_run = referee_as_run(&report);
    let mut failed = false;
    for (path, text) in [
        (
            &cfg.json,
            serde_json::to_string_pretty(&report).unwrap_or_default(),
        ),
        (&cfg.junit, junit::render(&as_run, junit::Profile::Generic)),
    ] {
        if let Err(e) = report::write_atomic(path, text.as_bytes()) {
            eprintln!("launchgate: cannot write {}: {e}", path.display());
            failed = true;
        }
    }
    println!(
        "referee: {} requests judged; reports: {} (JSON), {} (JUnit)",
        report.requests,
        cfg.json.display(),
        cfg.junit.display()
    );
    if failed
        || report
            .judgements
            .iter()
            .any(|j| j.verdict == ClientVerdict::Fail)
    {
        Exit::Failed
    } else {
        Exit::Passed
    }
}
