//! `launchgate run`: the flags, and their conversion into a [`RunConfig`].

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use super::{values, UsageError};
use crate::commands::{fit_retention_probe, Api, EmbeddedMocks, ReceiverConfig, RunConfig};
use crate::giftcard::{VendorDialect, VendorOptions};
use crate::mock::MockOptions;
use crate::report::junit::Profile;
use crate::runner::RunOptions;

/// Flags of `launchgate run`.
#[derive(Debug, Clone, clap::Args)]
pub struct RunArgs {
    /// Scenario files or directories (default: the built-in suite of --api).
    pub paths: Vec<PathBuf>,
    /// Which API: `agent` (the Agent API launch suite and mock) or `giftcard` (the
    /// vendor pack, `scenarios/giftcard/`, against the embedded vendor mock by default).
    /// Default: `giftcard` when the PATHS are vendor probes (`vendor:` tags), else `agent`.
    #[arg(long, value_enum)]
    pub api: Option<Api>,
    /// `mock` (the embedded mock), a base URL, or a target file (YAML).
    #[arg(long, short = 't', default_value = "mock")]
    pub target: String,
    /// A `.env`-style file with keys and fixture ids (read before the environment).
    #[arg(long, value_name = "FILE")]
    pub secrets: Option<PathBuf>,
    /// Allow steps marked `writes: true` against a real target.
    #[arg(long)]
    pub allow_writes: bool,
    /// Per-request timeout.
    #[arg(long, default_value = "10s", value_parser = values::positive_duration)]
    pub timeout: Duration,
    /// Deadline for the whole run; cases still running then are reported as errored.
    #[arg(long, default_value = "10m", value_parser = values::positive_duration)]
    pub deadline: Duration,
    /// The longest Retry-After or `wait:` honoured.
    #[arg(long, default_value = "2m", value_parser = values::duration)]
    pub max_wait: Duration,
    /// Where to write JUnit XML.
    #[arg(
        long,
        default_value = "target/launchgate/junit.xml",
        value_name = "PATH"
    )]
    pub junit: PathBuf,
    /// JUnit dialect: `generic` (file/line attributes) or `strict` (Jenkins xUnit schema).
    #[arg(long, value_enum, default_value_t = Profile::Generic)]
    pub junit_profile: Profile,
    /// Where to write the JSON report.
    #[arg(
        long,
        default_value = "target/launchgate/report.json",
        value_name = "PATH"
    )]
    pub json: PathBuf,
    /// Where to write the Final Launch Checklist (Markdown; JSON beside it with a .json extension).
    #[arg(
        long,
        default_value = "target/launchgate/checklist.md",
        value_name = "PATH"
    )]
    pub checklist: PathBuf,
    /// A referee report (`launchgate referee`) deciding the checklist's client items.
    #[arg(long, value_name = "PATH")]
    pub referee: Option<PathBuf>,
    /// Also write the self-contained HTML report for QA sign-off here.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// Directory of snapshot files.
    #[arg(long, default_value = "snapshots", value_name = "DIR")]
    pub snapshots: PathBuf,
    /// Record snapshots instead of comparing them.
    #[arg(long)]
    pub update_snapshots: bool,
    /// Exit 4 when any case was skipped or inconclusive.
    #[arg(long)]
    pub fail_on_skip: bool,
    /// Accept an INCOMPLETE launch decision against a real target (exit 0 instead of 4),
    /// for partial checks: a filtered run, one shard, a subset of the inputs.
    #[arg(long)]
    pub allow_incomplete: bool,
    /// Run only shard k of n (stable assignment by case id), e.g. `--partition 2/3`.
    #[arg(long, value_parser = values::partition, value_name = "K/N")]
    pub partition: Option<(u32, u32)>,
    /// Run only cases whose `suite::name` contains this text.
    #[arg(long, short = 'k', value_name = "TEXT")]
    pub filter: Option<String>,
    /// With --filter/--skip: match whole ids exactly.
    #[arg(long)]
    pub exact: bool,
    /// Skip cases whose id contains this text (repeatable).
    #[arg(long, value_name = "TEXT")]
    pub skip: Vec<String>,
    /// List the cases and exit.
    #[arg(long)]
    pub list: bool,
    /// Requests in flight at once, 1 to 256 [default: 4 against the embedded mock, 8
    /// against a URL or target file]. A case that waits (Retry-After, `wait:`, a lock)
    /// holds none; requests with one key never exceed the target's advertised
    /// X-RateLimit-Remaining; cases declaring `serial` or shared `locks` never overlap.
    #[arg(long, short = 'j', value_parser = values::jobs)]
    pub jobs: Option<usize>,
    /// One character per case instead of one line.
    #[arg(long, short = 'q')]
    pub quiet: bool,
    /// Embedded mock: switch on a quirk (repeatable); see `launchgate mock --help`.
    #[arg(long = "mock-quirk", value_name = "QUIRK")]
    pub mock_quirks: Vec<String>,
    /// Embedded mock: answer every Agent API route with a bare 404, as with FEATURE_AGENT_API=false.
    #[arg(long)]
    pub mock_feature_off: bool,
    /// Embedded mock: the rate-limit window (the real server uses 60s; 1s keeps the
    /// rate-limit case's Retry-After wait, the longest step of the suite, at one second).
    #[arg(long, default_value = "1s", value_parser = values::duration)]
    pub mock_rate_window: Duration,
    /// Embedded mock: seed for random decisions (e.g. which orders `webhook-drop` loses:
    /// the same seed drops the same orders by sequence).
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub mock_seed: u64,
    /// Embedded vendor mock (`--api giftcard`): the dialect it speaks: `part-b`, `stripe-like`
    /// or `standard-webhooks` (the probes use the matching target file in docs/vendors/).
    #[arg(long, value_enum, default_value_t = VendorDialect::PartB)]
    pub mock_dialect: VendorDialect,
    /// Embedded vendor mock: the first webhook retry waits this long, each further one twice as long.
    #[arg(long, default_value = "200ms", value_parser = values::duration)]
    pub mock_webhook_backoff: Duration,
    /// Vendor probes: replay an idempotency key after this long (and after a quarter and
    /// half of it) to measure the vendor's retention window, e.g. `15m`. Raises
    /// --max-wait and --deadline to fit. Without it the retention probe is skipped.
    #[arg(long, value_parser = values::duration, value_name = "DURATION")]
    pub retention_probe: Option<Duration>,
    /// Webhook receiver: listen here (default 127.0.0.1 on a free port).
    #[arg(long, value_name = "ADDR")]
    pub webhook_listen: Option<SocketAddr>,
    /// Webhook receiver: the URL the vendor delivers to, when you expose the receiver
    /// elsewhere (a tunnel); `{{ run.webhook_url }}` in scenarios.
    #[arg(long, value_name = "URL")]
    pub webhook_url: Option<String>,
    /// Webhook receiver: answer 503 to the first N deliveries of each event, to see retries
    /// (default 1 against the embedded vendor mock, 0 elsewhere).
    #[arg(long, value_name = "N")]
    pub webhook_refuse: Option<u32>,
    /// Webhook receiver: the path token ending its URL (16-128 letters, digits, `-`, `_`;
    /// random by default). Deliveries elsewhere are stored only when signed with the
    /// webhook secret. Fix it when the URL is registered with the vendor ahead of the run.
    #[arg(
        long,
        env = "LAUNCHGATE_WEBHOOK_TOKEN",
        value_name = "TOKEN",
        hide_env_values = true
    )]
    pub webhook_token: Option<String>,
    /// Where to write the vendor scorecard (Markdown; `.json` and `-junit.xml` beside it),
    /// when cases are tagged `vendor:`.
    #[arg(
        long,
        default_value = "target/launchgate/scorecard.md",
        value_name = "PATH"
    )]
    pub scorecard: PathBuf,
}

impl RunArgs {
    /// What `launchgate run` needs. Checks what clap cannot: which API the files
    /// are for, the quirks by that API, the receiver's public URL, the retention probe.
    pub fn into_config(self) -> Result<RunConfig, UsageError> {
        let api = Api::resolve(self.api, &self.paths)?;
        let mut run = RunOptions {
            timeout: self.timeout,
            deadline: self.deadline,
            max_wait: self.max_wait,
            ..RunOptions::default()
        };
        fit_retention_probe(self.retention_probe, &mut run)?;
        let mut mocks = EmbeddedMocks {
            agent: MockOptions {
                rate_window: self.mock_rate_window,
                feature_off: self.mock_feature_off,
                seed: self.mock_seed,
                ..MockOptions::default()
            },
            vendor: VendorOptions {
                seed: self.mock_seed,
                dialect: self.mock_dialect,
                webhook_backoff: self.mock_webhook_backoff,
                ..Default::default()
            },
        };
        for q in &self.mock_quirks {
            mocks.add_quirk(api, q)?;
        }
        let webhooks = ReceiverConfig::new(
            self.webhook_listen,
            self.webhook_url,
            self.webhook_refuse,
            self.webhook_token,
        )?;
        let libtest = libtest_mimic::Arguments {
            filter: self.filter,
            exact: self.exact,
            skip: self.skip,
            list: self.list,
            quiet: self.quiet,
            test_threads: self.jobs,
            ..libtest_mimic::Arguments::default()
        };
        Ok(RunConfig {
            target: mocks.target(api, &self.target),
            paths: self.paths,
            api,
            retention_probe: self.retention_probe,
            webhooks,
            scorecard: self.scorecard,
            secrets: self.secrets,
            allow_writes: self.allow_writes,
            run,
            junit: self.junit,
            junit_profile: self.junit_profile,
            json: self.json,
            checklist: self.checklist,
            referee: self.referee,
            html: self.html,
            snapshots: self.snapshots,
            update_snapshots: self.update_snapshots,
            fail_on_skip: self.fail_on_skip,
            allow_incomplete: self.allow_incomplete,
            partition: self.partition,
            libtest,
        })
    }
}
