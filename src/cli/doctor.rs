//! `launchgate doctor`.

use std::path::PathBuf;
use std::time::Duration;

use super::values;
use crate::commands::{Api, DoctorConfig, TargetChoice};
use crate::mock::MockOptions;

/// Flags of `launchgate doctor`.
#[derive(Debug, Clone, clap::Args)]
pub struct DoctorArgs {
    /// Scenario files or directories (default: the built-in suite of --api).
    pub paths: Vec<PathBuf>,
    /// Which built-in suite (the input checks are the Agent API suite's).
    #[arg(long, value_enum, default_value_t = Api::Agent)]
    pub api: Api,
    /// A base URL or a target file (YAML).
    #[arg(long, short = 't')]
    pub target: String,
    /// A `.env`-style file with keys and fixture ids (the environment wins over it).
    #[arg(long, value_name = "FILE")]
    pub secrets: Option<PathBuf>,
    /// Plan as `run --allow-writes` would.
    #[arg(long)]
    pub allow_writes: bool,
    /// Per-request timeout.
    #[arg(long, default_value = "10s", value_parser = values::duration)]
    pub timeout: Duration,
    /// The run's deadline (the rate-limit key's wait must fit in it).
    #[arg(long, default_value = "10m", value_parser = values::duration)]
    pub deadline: Duration,
    /// The longest Retry-After a run honours (the rate-limit key's window must fit in it).
    #[arg(long, default_value = "2m", value_parser = values::duration)]
    pub max_wait: Duration,
}

impl DoctorArgs {
    /// What `launchgate doctor` needs (it refuses the embedded mock itself).
    pub fn into_config(self) -> DoctorConfig {
        DoctorConfig {
            target: TargetChoice::parse(&self.target, MockOptions::default()),
            secrets: self.secrets,
            paths: self.paths,
            api: self.api,
            allow_writes: self.allow_writes,
            timeout: self.timeout,
            deadline: self.deadline,
            max_wait: self.max_wait,
        }
    }
}
