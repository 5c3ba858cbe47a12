//! `launchgate run` with its reports in a directory of the test's, and readers for
//! what it wrote: a missing or unparsable report reads as empty (or JSON null) so
//! the assertion that follows says what was expected, with the run's output.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;

use super::Out;

/// A file's text, or "" when it cannot be read.
pub fn text(path: impl AsRef<Path>) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

/// A file's JSON, or `Null` when it cannot be read or parsed.
pub fn json(path: impl AsRef<Path>) -> Value {
    serde_json::from_str(&text(path)).unwrap_or(Value::Null)
}

/// Every case of a run's JSON report, suite by suite.
pub fn cases(report: &Value) -> Vec<&Value> {
    report["suites"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|s| s["cases"].as_array().into_iter().flatten())
        .collect()
}

/// The case with this id; panics naming it when the report has none.
pub fn case<'a>(report: &'a Value, id: &str) -> &'a Value {
    cases(report)
        .into_iter()
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("no case {id}"))
}

/// A `launchgate` command, env-cleaned, writing its JUnit and JSON reports into a
/// directory (plus whatever the test adds with [`RunIn::reports`]).
pub struct RunIn {
    cmd: assert_cmd::Command,
    dir: PathBuf,
}

/// `launchgate run` with its reports in `dir`: `junit.xml`, `report.json`.
pub fn run_in(dir: &Path) -> RunIn {
    RunIn::new(dir, "run", "junit.xml", "report.json")
}

/// `launchgate referee` with its reports in `dir`: `referee-junit.xml`,
/// `referee.json`. The client goes after `--`.
pub fn referee_in(dir: &Path) -> RunIn {
    RunIn::new(dir, "referee", "referee-junit.xml", "referee.json")
}

impl RunIn {
    fn new(dir: &Path, command: &str, junit: &str, json: &str) -> RunIn {
        let mut cmd = super::bin();
        cmd.arg(command)
            .arg("--junit")
            .arg(dir.join(junit))
            .arg("--json")
            .arg(dir.join(json));
        RunIn {
            cmd,
            dir: dir.to_path_buf(),
        }
    }

    pub fn arg(mut self, a: impl AsRef<OsStr>) -> Self {
        self.cmd.arg(a);
        self
    }

    pub fn args<S: AsRef<OsStr>>(mut self, args: impl IntoIterator<Item = S>) -> Self {
        self.cmd.args(args);
        self
    }

    /// `--FLAG DIR/NAME` for each pair: where the other reports go.
    pub fn reports(mut self, flags: &[(&str, &str)]) -> Self {
        for (flag, name) in flags {
            self.cmd.arg(flag).arg(self.dir.join(name));
        }
        self
    }

    pub fn env(mut self, k: impl AsRef<OsStr>, v: impl AsRef<OsStr>) -> Self {
        self.cmd.env(k, v);
        self
    }

    pub fn env_remove(mut self, k: impl AsRef<OsStr>) -> Self {
        self.cmd.env_remove(k);
        self
    }

    pub fn envs<K: AsRef<OsStr>, V: AsRef<OsStr>>(
        mut self,
        vars: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        self.cmd.envs(vars);
        self
    }

    /// Runs it in `dir` (relative report paths and default outputs land there).
    pub fn in_dir(mut self) -> Self {
        self.cmd.current_dir(&self.dir);
        self
    }

    /// A backstop: kill the run after this long (its own deadline should end it first).
    pub fn timeout(mut self, t: Duration) -> Self {
        self.cmd.timeout(t);
        self
    }

    pub fn output(mut self) -> Ran {
        let o = self.cmd.output().expect("launchgate runs");
        Ran {
            out: Out::of(&o),
            dir: self.dir,
        }
    }
}

/// A finished run: its output, and readers for the files in its directory.
#[derive(Debug)]
pub struct Ran {
    pub out: Out,
    pub dir: PathBuf,
}

impl Ran {
    /// A report's text ("" when it was not written).
    pub fn text(&self, name: &str) -> String {
        text(self.dir.join(name))
    }

    /// A report's JSON (`Null` when it was not written).
    pub fn json(&self, name: &str) -> Value {
        json(self.dir.join(name))
    }
}

/// Every file under `dir` (recursively), with its text: what a leak scan reads.
pub fn files_under(dir: &Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(files_under(&p));
            } else if let Ok(bytes) = std::fs::read(&p) {
                out.push((
                    p.display().to_string(),
                    String::from_utf8_lossy(&bytes).into_owned(),
                ));
            }
        }
    }
    out
}

/// Validates a strict-profile JUnit file against the Jenkins xUnit schema with
/// `xmllint` (skipped locally when it is not installed; CI installs it).
pub fn assert_valid_against_the_xunit_schema(junit: &Path) {
    let xsd = super::root().join("tests/data/junit-10.xsd");
    match std::process::Command::new("xmllint")
        .arg("--noout")
        .arg("--schema")
        .arg(&xsd)
        .arg(junit)
        .output()
    {
        Ok(v) => assert!(
            v.status.success(),
            "xmllint: {}",
            String::from_utf8_lossy(&v.stderr)
        ),
        Err(_) if std::env::var_os("CI").is_none() => {
            eprintln!("xmllint not installed: schema check skipped locally (CI installs it)")
        }
        Err(e) => panic!("xmllint is required in CI: {e}"),
    }
}
