//! `launchgate checklist`.

use std::path::PathBuf;

use crate::commands::{ChecklistConfig, GatePolicy};

/// Flags of `launchgate checklist`.
#[derive(Debug, Clone, clap::Args)]
pub struct ChecklistArgs {
    /// The JSON report of a run.
    #[arg(
        long,
        default_value = "target/launchgate/report.json",
        value_name = "PATH"
    )]
    pub report: PathBuf,
    /// A referee report (`launchgate referee`) deciding the client items.
    #[arg(long, value_name = "PATH")]
    pub referee: Option<PathBuf>,
    /// Write Markdown here instead of printing it.
    #[arg(long, value_name = "PATH")]
    pub markdown: Option<PathBuf>,
    /// Also write the checklist as JSON.
    #[arg(long, value_name = "PATH")]
    pub json: Option<PathBuf>,
    /// Also write the self-contained HTML report (decision, checklist, every case).
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// Exit 0 instead of 4 when the decision for a real target is INCOMPLETE.
    #[arg(long)]
    pub allow_incomplete: bool,
}

impl ChecklistArgs {
    /// What `launchgate checklist` needs. A re-rendered checklist has no skips of
    /// its own to fail on: only the decision decides.
    pub fn into_config(self) -> ChecklistConfig {
        ChecklistConfig {
            report: self.report,
            referee: self.referee,
            markdown: self.markdown,
            json: self.json,
            html: self.html,
            policy: GatePolicy {
                fail_on_skip: false,
                allow_incomplete: self.allow_incomplete,
            },
        }
    }
}
