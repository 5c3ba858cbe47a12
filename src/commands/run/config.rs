//! What `launchgate run` needs, as plain data, and the decisions that turn its
//! flags into it: which API a set of files is for, which embedded mock `mock`
//! means, which quirks `--mock-quirk` names, how far `--retention-probe` stretches
//! the waits. The command line (`src/cli/`) calls these; they never print.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::giftcard::{VendorOptions, VendorQuirkArg};
use crate::mock::MockOptions;
use crate::report::junit;
use crate::runner::RunOptions;

use super::super::{load_suites, TargetChoice, UsageError};

/// Which API a run's built-in suite and embedded mock are for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Api {
    /// The Reward Loyalty Agent API (contract Part A): `scenarios/agent-api/`.
    #[default]
    Agent,
    /// The gift-card vendor API (contract Part B): `scenarios/giftcard/`.
    Giftcard,
}

impl Api {
    /// The directory of its built-in suite.
    pub fn builtin_dir(self) -> &'static str {
        match self {
            Api::Agent => "scenarios/agent-api/",
            Api::Giftcard => "scenarios/giftcard/",
        }
    }
}

impl Api {
    /// The API of a run: the one given with `--api`; else, with PATHS, what their
    /// tags say ([`Api::detect`]); else the Agent API. A vendor pack given by path
    /// thus runs against the vendor mock, never silently against the Agent API mock
    /// (where every probe would skip).
    pub fn resolve(given: Option<Api>, paths: &[PathBuf]) -> Result<Api, UsageError> {
        match given {
            Some(api) => Ok(api),
            None if paths.is_empty() => Ok(Api::Agent),
            None => Api::detect(paths),
        }
    }

    /// Which API a set of scenario files is for, from their tags: `giftcard` when
    /// they are vendor probes (`vendor:`) and nothing in them is Agent API checklist
    /// evidence, `agent` otherwise. An error when they mix both; files that cannot be
    /// loaded count as `agent` (the run reports the load errors itself).
    pub fn detect(paths: &[PathBuf]) -> Result<Api, UsageError> {
        let Ok(suites) = load_suites(paths) else {
            return Ok(Api::Agent);
        };
        let cases = || suites.iter().flat_map(|s| &s.spec.cases);
        let vendor = cases().any(|c| !c.value.vendor.is_empty());
        let agent = cases().any(|c| !c.value.checklist.is_empty());
        match (vendor, agent) {
            (true, true) => Err(UsageError::Invalid("these scenarios hold gift-card vendor probes (`vendor:`) and Agent API checklist cases (`checklist:`); run each set on its own, with --api giftcard or --api agent".into())),
            (true, false) => Ok(Api::Giftcard),
            _ => Ok(Api::Agent),
        }
    }
}

/// launchgate's webhook receiver for `receive:` steps.
#[derive(Debug, Clone, Default)]
pub struct ReceiverConfig {
    /// Where it listens (default `127.0.0.1:0`).
    pub listen: Option<SocketAddr>,
    /// The URL vendors deliver to, when exposed elsewhere (a tunnel).
    pub public_url: Option<String>,
    /// Refuse the first N deliveries of every event (default: 1 against the
    /// embedded vendor mock, so retries are seen; 0 elsewhere).
    pub refuse_first: Option<u32>,
    /// The path token of the receiver's URL (random when `None`).
    pub token: Option<String>,
}

/// Everything `launchgate run` needs.
pub struct RunConfig {
    /// Scenario files or directories; empty = the built-in suite of `api`.
    pub paths: Vec<PathBuf>,
    /// Which built-in suite runs when `paths` is empty.
    pub api: Api,
    /// The webhook receiver (started when a suite has a `receive:` step).
    pub webhooks: ReceiverConfig,
    /// Where the vendor scorecard goes (Markdown; JSON and JUnit beside it), when
    /// some case is tagged `vendor:`.
    pub scorecard: PathBuf,
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
    /// Where the Final Launch Checklist goes (Markdown; JSON beside it).
    pub checklist: PathBuf,
    /// A referee report (`launchgate referee --json`) deciding the checklist's client items.
    pub referee: Option<PathBuf>,
    /// Where the self-contained HTML report goes, if anywhere.
    pub html: Option<PathBuf>,
    /// The snapshot directory.
    pub snapshots: PathBuf,
    /// Accept new snapshots.
    pub update_snapshots: bool,
    /// Exit 4 when anything was skipped or inconclusive.
    pub fail_on_skip: bool,
    /// Accept an INCOMPLETE launch decision against a real target (exit 0 instead of 4).
    pub allow_incomplete: bool,
    /// Run only shard k of n.
    pub partition: Option<(u32, u32)>,
    /// Filters, `--list`, `--jobs` (as `--test-threads`), output format.
    pub libtest: libtest_mimic::Arguments,
    /// `--retention-probe`: replay an idempotency key after this long (the probe is
    /// skipped, with that reason, when `None`).
    pub retention_probe: Option<Duration>,
}

/// The `{{ run.retention_* }}` values of the retention probe: the whole delay and
/// its checkpoints (a quarter, a half, all of it), and the waits between them.
pub fn retention_vars(probe: Option<Duration>) -> Vec<(String, String)> {
    let d = probe.unwrap_or_default();
    let secs = |x: Duration| format!("{}", x.as_secs_f64());
    let wait = |x: Duration| format!("{}ms", x.as_millis());
    vec![
        ("retention_probe_s".into(), secs(d)),
        ("retention_check_1_s".into(), secs(d / 4)),
        ("retention_check_2_s".into(), secs(d / 2)),
        ("retention_wait_1".into(), wait(d / 4)),
        ("retention_wait_2".into(), wait(d / 2 - d / 4)),
        ("retention_wait_3".into(), wait(d - d / 2)),
    ]
}

impl ReceiverConfig {
    /// The receiver's settings, with the public URL checked as a base URL would be.
    pub fn new(
        listen: Option<SocketAddr>,
        public_url: Option<String>,
        refuse_first: Option<u32>,
        token: Option<String>,
    ) -> Result<ReceiverConfig, UsageError> {
        if let Some(u) = &public_url {
            crate::target::normalize_base_url(u).map_err(|e| UsageError::Flag {
                flag: "--webhook-url",
                reason: e.to_string(),
            })?;
        }
        Ok(ReceiverConfig {
            listen,
            public_url,
            refuse_first,
            token,
        })
    }
}

/// The embedded mocks a run may start, before one is chosen by `--api`.
#[derive(Debug, Clone, Default)]
pub struct EmbeddedMocks {
    /// The Agent API mock's options.
    pub agent: MockOptions,
    /// The gift-card vendor mock's options.
    pub vendor: VendorOptions,
}

impl EmbeddedMocks {
    /// `--mock-quirk NAME`: an Agent API quirk, or a vendor quirk with `--api giftcard`.
    pub fn add_quirk(&mut self, api: Api, quirk: &str) -> Result<(), UsageError> {
        let parsed = match api {
            Api::Agent => quirk
                .parse()
                .map(|q| self.agent.quirks.push(q))
                .map_err(|e| e.to_string()),
            Api::Giftcard => quirk
                .parse::<VendorQuirkArg>()
                .map(|q| self.vendor.quirks.push(q)),
        };
        parsed.map_err(|reason| UsageError::Flag {
            flag: "--mock-quirk",
            reason,
        })
    }

    /// The target `--target` names: `mock` is the embedded mock of `api` (the vendor
    /// mock for `giftcard`), anything else a URL or a target file.
    pub fn target(self, api: Api, target: &str) -> TargetChoice {
        match (api, target) {
            (Api::Giftcard, "mock") => TargetChoice::Vendor(self.vendor),
            _ => TargetChoice::parse(target, self.agent),
        }
    }
}

/// The longest `--retention-probe`: a vendor's retention window is hours or days.
const MAX_RETENTION_PROBE: Duration = Duration::from_secs(7 * 86_400);

/// `--retention-probe`: between 1 ms and 7 days. The probe waits its whole delay,
/// so the longest wait and the run's deadline are raised to fit it.
pub fn fit_retention_probe(
    probe: Option<Duration>,
    run: &mut RunOptions,
) -> Result<(), UsageError> {
    let Some(d) = probe else {
        return Ok(());
    };
    if d.is_zero() || d > MAX_RETENTION_PROBE {
        return Err(UsageError::Invalid(
            "--retention-probe must be between 1ms and 7 days".into(),
        ));
    }
    run.max_wait = run.max_wait.max(d / 2 + d / 4);
    run.deadline = run.deadline.max(d + Duration::from_secs(120));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_retention_probe_stretches_the_waits_and_the_deadline() {
        let mut run = RunOptions {
            max_wait: Duration::from_secs(120),
            deadline: Duration::from_secs(600),
            ..RunOptions::default()
        };
        fit_retention_probe(Some(Duration::from_secs(3600)), &mut run).unwrap();
        assert_eq!(run.max_wait, Duration::from_secs(2700));
        assert_eq!(run.deadline, Duration::from_secs(3720));
        for bad in [Duration::ZERO, MAX_RETENTION_PROBE + Duration::from_secs(1)] {
            assert!(fit_retention_probe(Some(bad), &mut run).is_err());
        }
    }

    #[test]
    fn mock_quirks_and_the_mock_follow_the_api() {
        let mut mocks = EmbeddedMocks::default();
        mocks.add_quirk(Api::Agent, "no-retry-after").unwrap();
        mocks.add_quirk(Api::Giftcard, "no-idempotency").unwrap();
        assert_eq!(
            (mocks.agent.quirks.len(), mocks.vendor.quirks.len()),
            (1, 1)
        );
        let e = mocks.add_quirk(Api::Agent, "no-idempotency").unwrap_err();
        assert!(e.to_string().starts_with("--mock-quirk: "), "{e}");
        let vendor = mocks.clone().target(Api::Giftcard, "mock");
        assert!(matches!(vendor, TargetChoice::Vendor(_)));
        assert!(matches!(
            mocks.clone().target(Api::Agent, "mock"),
            TargetChoice::Mock(_)
        ));
        let url = mocks.target(Api::Giftcard, "https://sandbox.example.com");
        assert!(matches!(url, TargetChoice::Url(_)));
    }

    #[test]
    fn the_receiver_url_is_checked_like_a_base_url() {
        let e = ReceiverConfig::new(None, Some("ftp://x".into()), None, None).unwrap_err();
        assert!(e.to_string().starts_with("--webhook-url: "), "{e}");
        assert!(ReceiverConfig::new(None, Some("https://t.example/h".into()), None, None).is_ok());
    }
}
