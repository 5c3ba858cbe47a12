//! launchgate: a launch-readiness conformance harness.
//!
//! Data flows one way: [`scenario`] files are loaded, planned against a
//! [`target`], executed by the runner (over HTTP, judged by the scenario's
//! expectations), and the results rendered by [`report`]; the [`checklist`], the
//! vendor scorecard ([`giftcard`]) and the client [`referee`] judge what ran. The
//! embedded [`mock`] is the default target. [`commands`] holds the commands
//! `main.rs` calls with the configs [`cli`] parses from the command line.
//!
//! The public modules are what a caller needs: the command line and its commands,
//! the scenario model and its [`template`] language, targets, reports, the
//! judges and their one verdict model ([`evaluation`]), the two mocks, and the
//! webhook tools ([`signature`], [`receiver`]).
//! The machinery (the runner, the HTTP client, expectations, JSONPath, redaction,
//! the plan, the server plumbing, snapshots, the Agent API contract) is private;
//! the few of its items a caller does need are re-exported here.

// Library code never unwraps (errors are types, rendered at the edge) and never
// prints with `print!`, which panics on a closed stdout (`commands::stdout` does not).
#![cfg_attr(not(test), warn(clippy::unwrap_used))]
#![warn(clippy::print_stdout)]
// Functions short enough to read at once: none over 100 lines of code (clippy.toml);
// a table belongs in a const or a data file. Tests may tell a long story.
#![warn(clippy::too_many_lines)]

mod agent_api;
pub mod checklist;
pub mod cli;
pub mod commands;
pub mod evaluation;
mod expect;
pub mod giftcard;
mod http;
mod inputs;
mod jsonpath;
pub mod mock;
mod plan;
pub mod receiver;
mod redact;
pub mod referee;
pub mod report;
mod runner;
pub mod scenario;
mod serve;
pub mod signature;
mod snapshot;
pub mod target;
pub mod template;

pub use http::DEFAULT_BODY_CAP;
pub use inputs::{InputSpec, AGENT_API_INPUTS};
pub use plan::references;
pub use runner::{request_url, RunOptions};
pub use serve::ServerLimits;
