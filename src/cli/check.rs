//! `launchgate check`.

use std::path::PathBuf;

/// Flags of `launchgate check`.
#[derive(Debug, Clone, clap::Args)]
pub struct CheckArgs {
    /// Scenario files or directories (default: the built-in suite).
    pub paths: Vec<PathBuf>,
}
