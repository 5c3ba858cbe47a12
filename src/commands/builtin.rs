//! Loading suites: the built-in ones that build.rs embeds in the binary (with the
//! snapshots they compare against), or scenario files found under paths.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::scenario::{self, Diagnostic, Suite};

use super::Api;

include!(concat!(env!("OUT_DIR"), "/builtin.rs"));

/// Loads scenario files (or every built-in suite when `paths` is empty), collecting every diagnostic.
pub fn load_suites(paths: &[PathBuf]) -> Result<Vec<Suite>, Vec<Diagnostic>> {
    load_from(paths, None)
}

/// Loads scenario files, or the built-in suite of `api` when `paths` is empty.
pub fn load_suites_for(paths: &[PathBuf], api: Api) -> Result<Vec<Suite>, Vec<Diagnostic>> {
    load_from(paths, Some(api))
}

fn load_from(paths: &[PathBuf], api: Option<Api>) -> Result<Vec<Suite>, Vec<Diagnostic>> {
    let sources = if paths.is_empty() {
        builtin_sources(api)
    } else {
        read_sources(paths)?
    };
    let mut suites = Vec::new();
    let mut diags = Vec::new();
    let mut names = HashMap::new();
    for (path, text) in sources {
        match scenario::load_file(&path, &text) {
            Ok(s) => {
                if let Some(other) = names.insert(s.name.clone(), path.clone()) {
                    diags.push(Diagnostic::file(
                        &path,
                        format!(
                            "suite name `{}` is also used by {}; set `suite:` to tell them apart",
                            s.name,
                            Path::display(&other)
                        ),
                    ));
                }
                suites.push(s);
            }
            Err(d) => diags.extend(d),
        }
    }
    if diags.is_empty() {
        Ok(suites)
    } else {
        Err(diags)
    }
}

/// The built-in scenario files (of `api`, or all of them), as (path, text).
fn builtin_sources(api: Option<Api>) -> Vec<(PathBuf, String)> {
    BUILTIN_SCENARIOS
        .iter()
        .filter(|(p, _)| api.is_none_or(|a| p.starts_with(a.builtin_dir())))
        .map(|(p, text)| (PathBuf::from(p), text.to_string()))
        .collect()
}

/// The scenario files under `paths`, read, as (path, text); every unreadable one is a diagnostic.
fn read_sources(paths: &[PathBuf]) -> Result<Vec<(PathBuf, String)>, Vec<Diagnostic>> {
    let found = scenario::discover(paths).map_err(|d| vec![d])?;
    for n in &found.notes {
        eprintln!("launchgate: note: {n}");
    }
    if found.files.is_empty() {
        return Err(vec![Diagnostic::file(
            &paths[0],
            "no scenario files (*.yaml) found here",
        )]);
    }
    let mut out = Vec::new();
    let mut diags = Vec::new();
    for f in found.files {
        match scenario::load::read_scenario(&f) {
            Ok(text) => out.push((f, text)),
            Err(d) => diags.push(d),
        }
    }
    if diags.is_empty() {
        Ok(out)
    } else {
        Err(diags)
    }
}
