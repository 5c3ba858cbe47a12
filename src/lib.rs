//! launchgate: a launch-readiness conformance harness.
//!
//! Data flows one way: [`scenario`] files are loaded, [`plan`]ned against a
//! [`target`], executed by the [`runner`] (over [`http`], judged by
//! [`expect`]), and the results rendered by [`report`]. The embedded [`mock`]
//! is the default target. [`commands`] holds the commands `main.rs` calls with
//! the configs [`cli`] parses from the command line.

// Library code never unwraps (errors are types, rendered at the edge) and never
// prints with `print!`, which panics on a closed stdout (`commands::stdout` does not).
#![cfg_attr(not(test), warn(clippy::unwrap_used))]
#![warn(clippy::print_stdout)]

pub mod agent_api;
pub mod checklist;
pub mod cli;
pub mod commands;
pub mod evaluation;
pub mod expect;
pub mod giftcard;
pub mod http;
pub mod inputs;
pub mod jsonpath;
pub mod mock;
pub mod plan;
pub mod receiver;
pub mod redact;
pub mod referee;
pub mod report;
pub mod runner;
pub mod scenario;
pub mod serve;
pub mod signature;
pub mod snapshot;
pub mod target;
pub mod template;
