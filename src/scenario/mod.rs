//! Scenario files: the model ([`model`]) and the loader with diagnostics ([`load`]).

pub mod load;
pub mod model;

pub use load::{discover, load_file, Diagnostic, Discovery, Suite};
pub use model::*;
