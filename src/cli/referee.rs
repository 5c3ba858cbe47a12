//! `launchgate referee`.

use std::path::PathBuf;
use std::time::Duration;

use super::{values, UsageError};
use crate::commands::{provoking_mock, RefereeConfig};
use crate::referee::RefereeOptions;

/// Flags of `launchgate referee`.
#[derive(Debug, Clone, clap::Args)]
pub struct RefereeArgs {
    /// Stop after this long (the client is stopped too).
    #[arg(long = "for", default_value = "5m", value_parser = values::duration, value_name = "DURATION")]
    pub max_duration: Duration,
    /// Stop once no request arrived for this long (needed without a COMMAND).
    #[arg(long, value_parser = values::duration, value_name = "DURATION")]
    pub until_idle: Option<Duration>,
    /// Fraction of requests answered 500 INTERNAL_ERROR (provokes retries).
    #[arg(long, default_value_t = 0.15)]
    pub fail_rate: f64,
    /// Fraction of purchases and redemptions whose answer is lost after the commit.
    #[arg(long, default_value_t = 0.3)]
    pub drop_after_commit: f64,
    /// Every key's rate limit per window (provokes 429s).
    #[arg(long, default_value_t = 12)]
    pub rate_limit: u32,
    /// The rate-limit window.
    #[arg(long, default_value = "3s", value_parser = values::duration)]
    pub rate_window: Duration,
    /// Seed for the faults, so a run can be repeated.
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    /// Accept an immediate first retry of a `backoff` error when the later retries back
    /// off (urllib3 2.x's Retry policy) instead of failing retry logic on it.
    #[arg(long)]
    pub allow_immediate_first_retry: bool,
    /// Port for the mock (0: any free port).
    #[arg(long, default_value_t = 0)]
    pub port: u16,
    /// Where to write JUnit XML.
    #[arg(
        long,
        default_value = "target/launchgate/referee-junit.xml",
        value_name = "PATH"
    )]
    pub junit: PathBuf,
    /// Where to write the referee's JSON report (pass it to `launchgate checklist --referee`).
    #[arg(
        long,
        default_value = "target/launchgate/referee.json",
        value_name = "PATH"
    )]
    pub json: PathBuf,
    /// The client to run, after `--`; it gets LAUNCHGATE_BASE_URL, LAUNCHGATE_*_KEY and fixture variables.
    #[arg(last = true, value_name = "COMMAND")]
    pub command: Vec<String>,
}

impl RefereeArgs {
    /// What `launchgate referee` needs: a client to run (or `--until-idle` to judge
    /// one started elsewhere), and a mock whose faults are in range.
    pub fn into_config(self) -> Result<RefereeConfig, UsageError> {
        if self.command.is_empty() && self.until_idle.is_none() {
            return Err(UsageError::Invalid("give a client command after `--`, or --until-idle to judge requests sent from elsewhere".into()));
        }
        let mock = provoking_mock(
            self.fail_rate,
            self.drop_after_commit,
            self.rate_limit,
            self.rate_window,
            self.seed,
        )?;
        Ok(RefereeConfig {
            command: self.command,
            max_duration: self.max_duration,
            until_idle: self.until_idle,
            mock,
            port: self.port,
            junit: self.junit,
            json: self.json,
            rules: RefereeOptions {
                allow_immediate_first_retry: self.allow_immediate_first_retry,
            },
        })
    }
}
