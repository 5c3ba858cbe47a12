//! The commands, as library functions: `main.rs` parses the command line into
//! their configs (`src/cli/`) and calls them. Each returns `Result<Exit, Error>`:
//! the exit status of what it did, or the one [`Error`] type, which only
//! [`finish`] prints, with one mapping to the exit status ([`Error::exit`]).
//!
//! One file per command (`run/` is a pipeline of steps); what several share has a
//! file of its own: loading suites (`builtin.rs`), the target and its secrets
//! (`target.rs`), asking git (`git.rs`), the HTML report's extra tables
//! (`html_extras.rs`), the launch gate (`gate.rs`) and a stdout that a closed pipe
//! cannot break (`stdout.rs`).

mod builtin;
mod check;
mod checklist;
mod doctor;
mod error;
mod gate;
mod git;
mod html_extras;
mod init;
mod junit;
pub mod mock;
mod referee;
mod run;
mod stdout;
mod target;
mod webhook;

pub use builtin::{load_suites, load_suites_for};
pub use check::check;
pub use checklist::{checklist_from, ChecklistConfig};
pub use doctor::{doctor, DoctorConfig};
pub use error::{finish, Error, Exit, InputError, UsageError};
pub use gate::{decision_case, decision_exit, exit_status, GatePolicy};
pub use init::{init, InitConfig};
pub use junit::junit_merge;
pub use mock::{MockConfig, MockService};
pub use referee::{load_referee, provoking_mock, referee, referee_junit, RefereeConfig};
pub use run::{
    fit_retention_probe, retention_vars, run, Api, EmbeddedMocks, ReceiverConfig, RunConfig,
};
pub use target::TargetChoice;
pub use webhook::{webhook, WebhookTool};

/// The one shared runtime of a command: two workers, as the machines have two cores.
fn runtime() -> Result<tokio::runtime::Runtime, Error> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(Error::Runtime)
}
