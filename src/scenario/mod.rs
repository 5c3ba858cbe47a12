//! Scenario files: the model ([`model`]), the loader with diagnostics ([`load`]), and
//! the vocabulary of the tags that say what a case is evidence for ([`tags`]).

pub mod load;
pub mod model;
pub mod tags;

pub use load::{discover, load_file, Diagnostic, Discovery, Suite};
pub use model::*;
