//! Errors of the commands, rendered once at the edge (`main.rs`).

use crate::mock::MockError;

/// A usage or configuration error found before anything ran (exit 2).
#[derive(Debug, thiserror::Error)]
pub enum UsageError {
    /// A flag's value is not acceptable.
    #[error("{flag}: {reason}")]
    Flag {
        /// The flag, as typed (`--webhook-url`).
        flag: &'static str,
        /// What is wrong with its value.
        reason: String,
    },
    /// Flags or inputs that cannot work together, or a value out of its range.
    #[error("{0}")]
    Invalid(String),
    /// The options of an embedded mock are not acceptable.
    #[error(transparent)]
    Mock(#[from] MockError),
}
