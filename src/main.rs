//! The `launchgate` command line: parses arguments and calls the library.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use launchgate::app::{self, Exit, RunConfig, TargetChoice};
use launchgate::mock::MockOptions;
use launchgate::report::junit::Profile;
use launchgate::runner::RunOptions;

/// Launch-readiness conformance harness: YAML scenarios against an embedded
/// stateful mock or a staging API, with JUnit for CI.
#[derive(Parser)]
#[command(name = "launchgate", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run scenarios (the built-in launch suite when no PATHS are given) against a target.
    Run(Box<RunArgs>),
    /// Serve the stateful Agent API mock until Ctrl-C, for your own client and CI.
    Mock(launchgate::mock::cli::MockArgs),
    /// Run your client against the mock (with faults that provoke 429s, 5xx and
    /// ambiguous writes) and judge how it handles them.
    Referee(RefereeArgs),
    /// Render the Final Launch Checklist (Markdown, JSON) from a saved JSON report.
    Checklist {
        /// The JSON report of a run.
        #[arg(
            long,
            default_value = "target/launchgate/report.json",
            value_name = "PATH"
        )]
        report: PathBuf,
        /// A referee report (`launchgate referee`) deciding the client items.
        #[arg(long, value_name = "PATH")]
        referee: Option<PathBuf>,
        /// Write Markdown here instead of printing it.
        #[arg(long, value_name = "PATH")]
        markdown: Option<PathBuf>,
        /// Also write the checklist as JSON.
        #[arg(long, value_name = "PATH")]
        json: Option<PathBuf>,
        /// Also write the self-contained HTML report (decision, checklist, every case).
        #[arg(long, value_name = "FILE")]
        html: Option<PathBuf>,
        /// Exit 0 instead of 4 when the decision for a real target is INCOMPLETE.
        #[arg(long)]
        allow_incomplete: bool,
    },
    /// Tools for your own webhook receiver: sign a body, or send it signed,
    /// tampered, unsigned and replayed events and see which it accepts.
    Webhook {
        /// The environment variable holding the shared secret (never the secret itself).
        #[arg(long, global = true, value_name = "VAR")]
        secret_env: Option<String>,
        /// The header carrying the signature (`send`).
        #[arg(
            long,
            global = true,
            default_value = "X-Signature-256",
            value_name = "NAME"
        )]
        signature_header: String,
        #[command(subcommand)]
        command: WebhookCommand,
    },
    /// Check every input against a real target before a run (read-only requests):
    /// keys, roles, scopes, fixtures and their guards; and what each case will do.
    /// Exit 0 all set, 1 an input is wrong, 2 usage, 3 unreachable, 4 something missing.
    Doctor(DoctorArgs),
    /// Write a commented target file and a secrets template listing every input.
    Init {
        /// The environment's name: writes `<NAME>.yaml` and `<NAME>.env`.
        #[arg(long, default_value = "staging")]
        name: String,
        /// The directory to write them to.
        #[arg(long, default_value = ".", value_name = "DIR")]
        dir: PathBuf,
        /// The environment's base URL, written into the target file.
        #[arg(long, value_name = "URL")]
        base_url: Option<String>,
        /// Overwrite files that exist.
        #[arg(long)]
        force: bool,
    },
    /// Validate scenario files without running them.
    Check {
        /// Scenario files or directories (default: the built-in suite).
        paths: Vec<PathBuf>,
    },
    /// Work with JUnit reports (merge the shards of a `--partition` CI matrix).
    Junit {
        #[command(subcommand)]
        action: JunitAction,
    },
}

#[derive(Subcommand)]
enum JunitAction {
    /// Merge JUnit reports into one: suites of the same name are joined, counts recomputed.
    Merge {
        /// The merged report (written atomically).
        out: PathBuf,
        /// The reports to merge, e.g. one per `--partition k/n` shard.
        #[arg(required = true)]
        inputs: Vec<PathBuf>,
    },
}

#[derive(Subcommand)]
enum WebhookCommand {
    /// Print the hex HMAC-SHA256 signature of a file's raw bytes (`-`: standard input).
    Sign {
        /// The body to sign, byte for byte.
        file: PathBuf,
    },
    /// Deliver signed, tampered, unsigned, replayed and re-serialised events to your
    /// receiver; exit 1 if it accepts a tampered or unsigned one.
    Send {
        /// Your receiver's URL.
        url: String,
        /// Per-delivery timeout.
        #[arg(long, default_value = "10s", value_parser = parse_duration)]
        timeout: Duration,
    },
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    humantime::parse_duration(s).map_err(|e| format!("`{s}`: {e} (write e.g. 10s, 500ms, 5m)"))
}

/// A duration that must be positive: `--timeout 0s` would fail every request
/// before it is sent, `--deadline 0s` every case before it starts.
fn parse_positive_duration(s: &str) -> Result<Duration, String> {
    let d = parse_duration(s)?;
    if d.is_zero() {
        return Err(format!(
            "`{s}` is zero; give a positive duration (e.g. 10s)"
        ));
    }
    Ok(d)
}

/// The most cases run at once: each is a thread, and a target is not a load test.
const MAX_JOBS: usize = 256;

fn parse_jobs(s: &str) -> Result<usize, String> {
    let n: usize = s
        .trim()
        .parse()
        .map_err(|_| format!("`{s}` is not a number of jobs"))?;
    if !(1..=MAX_JOBS).contains(&n) {
        return Err(format!("{n} jobs: use 1 to {MAX_JOBS}"));
    }
    Ok(n)
}

fn parse_partition(s: &str) -> Result<(u32, u32), String> {
    let (k, n) = s.split_once('/').ok_or("write k/n, e.g. 1/3")?;
    let k: u32 = k
        .trim()
        .parse()
        .map_err(|_| format!("`{k}` is not a shard number"))?;
    let n: u32 = n
        .trim()
        .parse()
        .map_err(|_| format!("`{n}` is not a shard count"))?;
    if n == 0 || k == 0 || k > n {
        return Err(format!("shard {k}/{n} does not exist: use 1..=n of n ≥ 1"));
    }
    Ok((k, n))
}

#[derive(Args)]
struct RunArgs {
    /// Scenario files or directories (default: the built-in suite of --api).
    paths: Vec<PathBuf>,
    /// Which API: `agent` (the Agent API launch suite and mock) or `giftcard` (the
    /// vendor pack, `scenarios/giftcard/`, against the embedded vendor mock by default).
    /// Default: `giftcard` when the PATHS are vendor probes (`vendor:` tags), else `agent`.
    #[arg(long, value_enum)]
    api: Option<app::Api>,
    /// `mock` (the embedded mock), a base URL, or a target file (YAML).
    #[arg(long, short = 't', default_value = "mock")]
    target: String,
    /// A `.env`-style file with keys and fixture ids (read before the environment).
    #[arg(long, value_name = "FILE")]
    secrets: Option<PathBuf>,
    /// Allow steps marked `writes: true` against a real target.
    #[arg(long)]
    allow_writes: bool,
    /// Per-request timeout.
    #[arg(long, default_value = "10s", value_parser = parse_positive_duration)]
    timeout: Duration,
    /// Deadline for the whole run; cases still running then are reported as errored.
    #[arg(long, default_value = "10m", value_parser = parse_positive_duration)]
    deadline: Duration,
    /// The longest Retry-After or `wait:` honoured.
    #[arg(long, default_value = "2m", value_parser = parse_duration)]
    max_wait: Duration,
    /// Where to write JUnit XML.
    #[arg(
        long,
        default_value = "target/launchgate/junit.xml",
        value_name = "PATH"
    )]
    junit: PathBuf,
    /// JUnit dialect: `generic` (file/line attributes) or `strict` (Jenkins xUnit schema).
    #[arg(long, value_enum, default_value_t = Profile::Generic)]
    junit_profile: Profile,
    /// Where to write the JSON report.
    #[arg(
        long,
        default_value = "target/launchgate/report.json",
        value_name = "PATH"
    )]
    json: PathBuf,
    /// Where to write the Final Launch Checklist (Markdown; JSON beside it with a .json extension).
    #[arg(
        long,
        default_value = "target/launchgate/checklist.md",
        value_name = "PATH"
    )]
    checklist: PathBuf,
    /// A referee report (`launchgate referee`) deciding the checklist's client items.
    #[arg(long, value_name = "PATH")]
    referee: Option<PathBuf>,
    /// Also write the self-contained HTML report for QA sign-off here.
    #[arg(long, value_name = "FILE")]
    html: Option<PathBuf>,
    /// Directory of snapshot files.
    #[arg(long, default_value = "snapshots", value_name = "DIR")]
    snapshots: PathBuf,
    /// Record snapshots instead of comparing them.
    #[arg(long)]
    update_snapshots: bool,
    /// Exit 4 when any case was skipped or inconclusive.
    #[arg(long)]
    fail_on_skip: bool,
    /// Accept an INCOMPLETE launch decision against a real target (exit 0 instead of 4),
    /// for partial checks: a filtered run, one shard, a subset of the inputs.
    #[arg(long)]
    allow_incomplete: bool,
    /// Run only shard k of n (stable assignment by case id), e.g. `--partition 2/3`.
    #[arg(long, value_parser = parse_partition, value_name = "K/N")]
    partition: Option<(u32, u32)>,
    /// Run only cases whose `suite::name` contains this text.
    #[arg(long, short = 'k', value_name = "TEXT")]
    filter: Option<String>,
    /// With --filter/--skip: match whole ids exactly.
    #[arg(long)]
    exact: bool,
    /// Skip cases whose id contains this text (repeatable).
    #[arg(long, value_name = "TEXT")]
    skip: Vec<String>,
    /// List the cases and exit.
    #[arg(long)]
    list: bool,
    /// Cases run at the same time, 1 to 256 (cases declaring `serial` or shared `locks` never overlap).
    #[arg(long, short = 'j', default_value_t = 4, value_parser = parse_jobs)]
    jobs: usize,
    /// One character per case instead of one line.
    #[arg(long, short = 'q')]
    quiet: bool,
    /// Embedded mock: switch on a quirk (repeatable); see `launchgate mock --help`.
    #[arg(long = "mock-quirk", value_name = "QUIRK")]
    mock_quirks: Vec<String>,
    /// Embedded mock: answer every Agent API route with a bare 404, as with FEATURE_AGENT_API=false.
    #[arg(long)]
    mock_feature_off: bool,
    /// Embedded mock: the rate-limit window (the real server uses 60s; 1s keeps the
    /// rate-limit case's Retry-After wait, the longest step of the suite, at one second).
    #[arg(long, default_value = "1s", value_parser = parse_duration)]
    mock_rate_window: Duration,
    /// Embedded mock: seed for random decisions (e.g. which orders `webhook-drop` loses:
    /// the same seed drops the same orders by sequence).
    #[arg(long, default_value_t = 0, value_name = "N")]
    mock_seed: u64,
    /// Embedded vendor mock (`--api giftcard`): the dialect it speaks: `part-b`, `stripe-like`
    /// or `standard-webhooks` (the probes use the matching target file in docs/vendors/).
    #[arg(long, value_enum, default_value_t = launchgate::giftcard::VendorDialect::PartB)]
    mock_dialect: launchgate::giftcard::VendorDialect,
    /// Embedded vendor mock: the first webhook retry waits this long, each further one twice as long.
    #[arg(long, default_value = "200ms", value_parser = parse_duration)]
    mock_webhook_backoff: Duration,
    /// Vendor probes: replay an idempotency key after this long (and after a quarter and
    /// half of it) to measure the vendor's retention window, e.g. `15m`. Raises
    /// --max-wait and --deadline to fit. Without it the retention probe is skipped.
    #[arg(long, value_parser = parse_duration, value_name = "DURATION")]
    retention_probe: Option<Duration>,
    /// Webhook receiver: listen here (default 127.0.0.1 on a free port).
    #[arg(long, value_name = "ADDR")]
    webhook_listen: Option<std::net::SocketAddr>,
    /// Webhook receiver: the URL the vendor delivers to, when you expose the receiver
    /// elsewhere (a tunnel); `{{ run.webhook_url }}` in scenarios.
    #[arg(long, value_name = "URL")]
    webhook_url: Option<String>,
    /// Webhook receiver: answer 503 to the first N deliveries of each event, to see retries
    /// (default 1 against the embedded vendor mock, 0 elsewhere).
    #[arg(long, value_name = "N")]
    webhook_refuse: Option<u32>,
    /// Webhook receiver: the path token ending its URL (16-128 letters, digits, `-`, `_`;
    /// random by default). Deliveries elsewhere are stored only when signed with the
    /// webhook secret. Fix it when the URL is registered with the vendor ahead of the run.
    #[arg(
        long,
        env = "LAUNCHGATE_WEBHOOK_TOKEN",
        value_name = "TOKEN",
        hide_env_values = true
    )]
    webhook_token: Option<String>,
    /// Where to write the vendor scorecard (Markdown; `.json` and `-junit.xml` beside it),
    /// when cases are tagged `vendor:`.
    #[arg(
        long,
        default_value = "target/launchgate/scorecard.md",
        value_name = "PATH"
    )]
    scorecard: PathBuf,
}

#[derive(Args)]
struct DoctorArgs {
    /// Scenario files or directories (default: the built-in suite of --api).
    paths: Vec<PathBuf>,
    /// Which built-in suite (the input checks are the Agent API suite's).
    #[arg(long, value_enum, default_value_t = app::Api::Agent)]
    api: app::Api,
    /// A base URL or a target file (YAML).
    #[arg(long, short = 't')]
    target: String,
    /// A `.env`-style file with keys and fixture ids (the environment wins over it).
    #[arg(long, value_name = "FILE")]
    secrets: Option<PathBuf>,
    /// Plan as `run --allow-writes` would.
    #[arg(long)]
    allow_writes: bool,
    /// Per-request timeout.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    timeout: Duration,
    /// The run's deadline (the rate-limit key's wait must fit in it).
    #[arg(long, default_value = "10m", value_parser = parse_duration)]
    deadline: Duration,
    /// The longest Retry-After a run honours (the rate-limit key's window must fit in it).
    #[arg(long, default_value = "2m", value_parser = parse_duration)]
    max_wait: Duration,
}

#[derive(Args)]
struct RefereeArgs {
    /// Stop after this long (the client is stopped too).
    #[arg(long = "for", default_value = "5m", value_parser = parse_duration, value_name = "DURATION")]
    max_duration: Duration,
    /// Stop once no request arrived for this long (needed without a COMMAND).
    #[arg(long, value_parser = parse_duration, value_name = "DURATION")]
    until_idle: Option<Duration>,
    /// Fraction of requests answered 500 INTERNAL_ERROR (provokes retries).
    #[arg(long, default_value_t = 0.15)]
    fail_rate: f64,
    /// Fraction of purchases and redemptions whose answer is lost after the commit.
    #[arg(long, default_value_t = 0.3)]
    drop_after_commit: f64,
    /// Every key's rate limit per window (provokes 429s).
    #[arg(long, default_value_t = 12)]
    rate_limit: u32,
    /// The rate-limit window.
    #[arg(long, default_value = "3s", value_parser = parse_duration)]
    rate_window: Duration,
    /// Seed for the faults, so a run can be repeated.
    #[arg(long, default_value_t = 7)]
    seed: u64,
    /// Accept an immediate first retry of a `backoff` error when the later retries back
    /// off (urllib3 2.x's Retry policy) instead of failing retry logic on it.
    #[arg(long)]
    allow_immediate_first_retry: bool,
    /// Port for the mock (0: any free port).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Where to write JUnit XML.
    #[arg(
        long,
        default_value = "target/launchgate/referee-junit.xml",
        value_name = "PATH"
    )]
    junit: PathBuf,
    /// Where to write the referee's JSON report (pass it to `launchgate checklist --referee`).
    #[arg(
        long,
        default_value = "target/launchgate/referee.json",
        value_name = "PATH"
    )]
    json: PathBuf,
    /// The client to run, after `--`; it gets LAUNCHGATE_BASE_URL, LAUNCHGATE_*_KEY and fixture variables.
    #[arg(last = true, value_name = "COMMAND")]
    command: Vec<String>,
}

fn referee(a: RefereeArgs) -> Exit {
    if a.command.is_empty() && a.until_idle.is_none() {
        eprintln!("launchgate referee: give a client command after `--`, or --until-idle to judge requests sent from elsewhere");
        return Exit::Usage;
    }
    let mock = MockOptions {
        fail_rate: a.fail_rate,
        drop_after_commit: a.drop_after_commit,
        rate_window: a.rate_window,
        rate_limit_override: Some(a.rate_limit),
        seed: a.seed,
        provoke: true,
        ..MockOptions::default()
    };
    if let Err(e) = mock.validate() {
        eprintln!("launchgate referee: {e}");
        return Exit::Usage;
    }
    app::referee(app::RefereeConfig {
        command: a.command,
        max_duration: a.max_duration,
        until_idle: a.until_idle,
        mock,
        port: a.port,
        junit: a.junit,
        json: a.json,
        rules: launchgate::referee::RefereeOptions {
            allow_immediate_first_retry: a.allow_immediate_first_retry,
        },
    })
}

fn run(a: RunArgs) -> Exit {
    // A vendor pack given by path runs against the vendor mock, never silently
    // against the Agent API mock (where every probe would skip).
    let api = match a.api {
        Some(api) => api,
        None if a.paths.is_empty() => app::Api::Agent,
        None => match app::detect_api(&a.paths) {
            Ok(api) => api,
            Err(e) => {
                eprintln!("launchgate: {e}");
                return Exit::Usage;
            }
        },
    };
    if let Some(d) = a.retention_probe {
        if d.is_zero() || d > Duration::from_secs(7 * 86_400) {
            eprintln!("launchgate: --retention-probe must be between 1ms and 7 days");
            return Exit::Usage;
        }
    }
    // The retention probe waits its whole delay: the waits and the run must fit it.
    let max_wait = a
        .max_wait
        .max(a.retention_probe.map_or(Duration::ZERO, |d| d / 2 + d / 4));
    let deadline = a.deadline.max(
        a.retention_probe
            .map_or(Duration::ZERO, |d| d + Duration::from_secs(120)),
    );
    let mut mock = MockOptions {
        rate_window: a.mock_rate_window,
        feature_off: a.mock_feature_off,
        seed: a.mock_seed,
        ..MockOptions::default()
    };
    let mut vendor = launchgate::giftcard::VendorOptions {
        seed: a.mock_seed,
        dialect: a.mock_dialect,
        webhook_backoff: a.mock_webhook_backoff,
        ..Default::default()
    };
    for q in &a.mock_quirks {
        let parsed = match api {
            app::Api::Agent => q
                .parse()
                .map(|q| mock.quirks.push(q))
                .map_err(|e| e.to_string()),
            app::Api::Giftcard => q
                .parse::<launchgate::giftcard::VendorQuirkArg>()
                .map(|q| vendor.quirks.push(q)),
        };
        if let Err(e) = parsed {
            eprintln!("launchgate: --mock-quirk: {e}");
            return Exit::Usage;
        }
    }
    if let Some(u) = &a.webhook_url {
        if let Err(e) = launchgate::target::normalize_base_url(u) {
            eprintln!("launchgate: --webhook-url: {e}");
            return Exit::Usage;
        }
    }
    let target = match (api, a.target.as_str()) {
        (app::Api::Giftcard, "mock") => TargetChoice::Vendor(vendor),
        _ => TargetChoice::parse(&a.target, mock),
    };
    let libtest = libtest_mimic::Arguments {
        filter: a.filter,
        exact: a.exact,
        skip: a.skip,
        list: a.list,
        quiet: a.quiet,
        test_threads: Some(a.jobs),
        ..libtest_mimic::Arguments::default()
    };
    app::run(RunConfig {
        paths: a.paths,
        api,
        retention_probe: a.retention_probe,
        webhooks: app::WebhookConfig {
            listen: a.webhook_listen,
            public_url: a.webhook_url,
            refuse_first: a.webhook_refuse,
            token: a.webhook_token,
        },
        scorecard: a.scorecard,
        target,
        secrets: a.secrets,
        allow_writes: a.allow_writes,
        run: RunOptions {
            timeout: a.timeout,
            deadline,
            max_wait,
            ..RunOptions::default()
        },
        junit: a.junit,
        junit_profile: a.junit_profile,
        json: a.json,
        checklist: a.checklist,
        referee: a.referee,
        html: a.html,
        snapshots: a.snapshots,
        update_snapshots: a.update_snapshots,
        fail_on_skip: a.fail_on_skip,
        allow_incomplete: a.allow_incomplete,
        partition: a.partition,
        libtest,
    })
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                Exit::Usage.into()
            } else {
                Exit::Passed.into()
            };
        }
    };
    match cli.command {
        Command::Run(a) => run(*a),
        Command::Check { paths } => app::check(&paths),
        Command::Doctor(a) => app::doctor(app::DoctorConfig {
            target: TargetChoice::parse(&a.target, MockOptions::default()),
            secrets: a.secrets,
            paths: a.paths,
            api: a.api,
            allow_writes: a.allow_writes,
            timeout: a.timeout,
            deadline: a.deadline,
            max_wait: a.max_wait,
        }),
        Command::Init {
            name,
            dir,
            base_url,
            force,
        } => app::init(app::InitConfig {
            dir,
            name,
            base_url,
            force,
        }),
        Command::Webhook {
            secret_env,
            signature_header,
            command,
        } => match secret_env {
            None => {
                eprintln!("launchgate webhook: pass --secret-env VAR, the environment variable holding the shared secret");
                Exit::Usage
            }
            Some(secret_env) => match command {
                WebhookCommand::Sign { file } => app::webhook_sign(&secret_env, &file),
                WebhookCommand::Send { url, timeout } => {
                    app::webhook_send(&url, &secret_env, &signature_header, timeout)
                }
            },
        },
        Command::Referee(a) => referee(a),
        Command::Checklist {
            report,
            referee,
            markdown,
            json,
            html,
            allow_incomplete,
        } => app::checklist_from(
            &report,
            referee.as_deref(),
            markdown.as_deref(),
            json.as_deref(),
            html.as_deref(),
            app::GatePolicy {
                fail_on_skip: false,
                allow_incomplete,
            },
        ),
        Command::Junit {
            action: JunitAction::Merge { out, inputs },
        } => app::junit_merge(&out, &inputs),
        Command::Mock(args) => match launchgate::mock::cli::run(args) {
            Ok(()) => Exit::Passed,
            Err(e) => {
                eprintln!("launchgate mock: {e}");
                Exit::Usage
            }
        },
    }
    .into()
}
