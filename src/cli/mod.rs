//! The command line: every flag of every command, as clap structs, and their
//! conversion into the commands' configs (`crate::commands`). A conversion returns a
//! [`UsageError`] instead of printing; `main.rs` renders it and dispatches.
//!
//! One file per command, as ripgrep keeps `flags/` and hurl `cli/options/`.

mod check;
mod checklist;
mod doctor;
mod init;
mod junit;
mod mock;
mod referee;
mod run;
mod values;
mod webhook;

use clap::{Parser, Subcommand};

pub use crate::commands::UsageError;
pub use check::CheckArgs;
pub use checklist::ChecklistArgs;
pub use doctor::DoctorArgs;
pub use init::InitArgs;
pub use junit::{JunitAction, JunitArgs};
pub use mock::{MockApi, MockArgs};
pub use referee::RefereeArgs;
pub use run::RunArgs;
pub use webhook::{WebhookArgs, WebhookCommand};

/// Launch-readiness conformance harness: YAML scenarios against an embedded
/// stateful mock or a staging API, with JUnit for CI.
#[derive(Parser)]
#[command(name = "launchgate", version, about, long_about = None)]
pub struct Cli {
    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
}

/// launchgate's commands.
#[derive(Subcommand)]
pub enum Command {
    /// Run scenarios (the built-in launch suite when no PATHS are given) against a target.
    Run(Box<RunArgs>),
    /// Serve the stateful Agent API mock until Ctrl-C, for your own client and CI.
    Mock(MockArgs),
    /// Run your client against the mock (with faults that provoke 429s, 5xx and
    /// ambiguous writes) and judge how it handles them.
    Referee(RefereeArgs),
    /// Render the Final Launch Checklist (Markdown, JSON) from a saved JSON report.
    Checklist(ChecklistArgs),
    /// Tools for your own webhook receiver: sign a body, or send it signed,
    /// tampered, unsigned and replayed events and see which it accepts.
    Webhook(WebhookArgs),
    /// Check every input against a real target before a run (read-only requests):
    /// keys, roles, scopes, fixtures and their guards; and what each case will do.
    /// Exit 0 all set, 1 an input is wrong, 2 usage, 3 unreachable, 4 something missing.
    Doctor(DoctorArgs),
    /// Write a commented target file and a secrets template listing every input.
    Init(InitArgs),
    /// Validate scenario files without running them.
    Check(CheckArgs),
    /// Work with JUnit reports (merge the shards of a `--partition` CI matrix).
    Junit(JunitArgs),
}

impl Command {
    /// How the command names itself at the start of an error line (`launchgate doctor: ...`).
    pub fn prefix(&self) -> &'static str {
        match self {
            Command::Run(_) | Command::Checklist(_) | Command::Check(_) | Command::Junit(_) => {
                "launchgate"
            }
            Command::Mock(_) => "launchgate mock",
            Command::Referee(_) => "launchgate referee",
            Command::Webhook(w) => match w.command {
                WebhookCommand::Sign { .. } => "launchgate webhook sign",
                WebhookCommand::Send { .. } => "launchgate webhook send",
            },
            Command::Doctor(_) => "launchgate doctor",
            Command::Init(_) => "launchgate init",
        }
    }
}
