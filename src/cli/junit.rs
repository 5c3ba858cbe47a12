//! `launchgate junit`.

use std::path::PathBuf;

/// Flags of `launchgate junit`.
#[derive(Debug, Clone, clap::Args)]
pub struct JunitArgs {
    /// What to do with the reports.
    #[command(subcommand)]
    pub action: JunitAction,
}

/// What `launchgate junit` does.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum JunitAction {
    /// Merge JUnit reports into one: suites of the same name are joined, counts recomputed.
    Merge {
        /// The merged report (written atomically).
        out: PathBuf,
        /// The reports to merge, e.g. one per `--partition k/n` shard.
        #[arg(required = true)]
        inputs: Vec<PathBuf>,
    },
}
