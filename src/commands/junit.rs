//! `launchgate junit merge`: one JUnit report from the shards of a CI matrix.

use std::path::{Path, PathBuf};

use crate::report::{self, junit};

use super::stdout::say;
use super::{Error, Exit, InputError};

/// `launchgate junit merge OUT IN...`: joins suites of the same name, recomputes
/// every count and writes `out` atomically; warns about a case seen twice.
pub fn junit_merge(out: &Path, inputs: &[PathBuf]) -> Result<Exit, Error> {
    let mut texts = Vec::new();
    for p in inputs {
        let text = std::fs::read_to_string(p).map_err(|source| InputError::Read {
            path: p.clone(),
            source,
            hint: "",
        })?;
        texts.push((p.display().to_string(), text));
    }
    let merged = junit::merge(texts.iter().map(|(l, t)| (l.as_str(), t.as_str())))?;
    for d in &merged.duplicates {
        eprintln!("launchgate: warning: `{d}` appears more than once (was a shard given twice?)");
    }
    report::write_atomic(out, merged.xml.as_bytes()).map_err(|source| Error::Write {
        path: out.to_path_buf(),
        source,
    })?;
    say(format_args!(
        "launchgate: merged {} report{} ({} cases) into {}",
        inputs.len(),
        if inputs.len() == 1 { "" } else { "s" },
        merged.cases,
        out.display()
    ));
    Ok(Exit::Passed)
}
