//! Golden responses: a step's normalized response compared with a file under `snapshots/`.
//!
//! Volatile values (ids, timestamps, counters) are replaced by a placeholder
//! through configured JSONPaths before comparing, so a snapshot changes only
//! when the contract does.

use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use crate::redact::Redactor;

/// What replaces a volatile value.
pub const PLACEHOLDER: &str = "[volatile]";

/// Where snapshots live and whether to accept new ones.
#[derive(Debug, Clone)]
pub struct Store {
    /// The directory (`snapshots/` by default).
    pub dir: PathBuf,
    /// `--update-snapshots`: write instead of compare.
    pub update: bool,
    /// Snapshots built into the binary, by path relative to the directory's parent.
    pub builtin: &'static [(&'static str, &'static str)],
}

/// A snapshot that does not match.
#[derive(Debug, Clone)]
pub struct SnapshotMismatch {
    /// The snapshot file.
    pub path: PathBuf,
    /// One line.
    pub message: String,
    /// A unified diff (snapshot → response), or empty.
    pub diff: String,
}

/// Replaces every node selected by the paths with the placeholder. A path that is
/// not valid, or that exceeds the JSONPath work budget on this body, replaces nothing
/// (the comparison then shows the difference).
pub fn normalize(mut body: Value, volatile: &[String]) -> Value {
    for p in volatile {
        let Ok(pointers) = crate::jsonpath::pointers(&body, p) else {
            continue;
        };
        for ptr in pointers {
            if let Some(slot) = body.pointer_mut(&ptr) {
                *slot = Value::String(PLACEHOLDER.into());
            }
        }
    }
    body
}

/// True for a name that is one ordinary path component: the loader keeps suite
/// and snapshot names so, and the store checks again, so that no name can write
/// outside `--snapshots` (`..`, `/etc`, `a/../../b`).
fn is_plain_component(name: &str) -> bool {
    let mut comps = Path::new(name).components();
    matches!(
        (comps.next(), comps.next()),
        (Some(std::path::Component::Normal(_)), None)
    ) && !name.contains(['/', '\\'])
}

impl Store {
    fn file(&self, suite: &str, name: &str) -> Result<PathBuf, SnapshotMismatch> {
        if !is_plain_component(suite) || !is_plain_component(name) {
            let shown: String = format!("{suite}/{name}").chars().take(120).collect();
            return Err(SnapshotMismatch {
                path: self.dir.clone(),
                message: format!(
                    "snapshot `{shown}` would be written outside {}; suite and snapshot names must be plain names",
                    self.dir.display()
                ),
                diff: String::new(),
            });
        }
        Ok(self.dir.join(suite).join(format!("{name}.json")))
    }

    fn read(&self, path: &Path, suite: &str, name: &str) -> Option<String> {
        if let Ok(text) = std::fs::read_to_string(path) {
            return Some(text);
        }
        let rel = format!("snapshots/{suite}/{name}.json");
        self.builtin
            .iter()
            .find(|(p, _)| *p == rel)
            .map(|(_, t)| t.to_string())
    }

    /// Compares (or with `update`, records) a response.
    pub fn check(
        &self,
        suite: &str,
        name: &str,
        status: u16,
        body: &Value,
        volatile: &[String],
        redactor: &Redactor,
    ) -> Result<(), SnapshotMismatch> {
        let doc = json!({"status": status, "body": normalize(body.clone(), volatile)});
        let pretty = serde_json::to_string_pretty(&doc).unwrap_or_default() + "\n";
        let actual = redactor.redact(&pretty).into_owned();
        let path = self.file(suite, name)?;
        if self.update {
            return crate::report::write_atomic(&path, actual.as_bytes()).map_err(|e| {
                SnapshotMismatch {
                    path: path.clone(),
                    message: format!("cannot write snapshot {}: {e}", path.display()),
                    diff: String::new(),
                }
            });
        }
        let Some(expected) = self.read(&path, suite, name) else {
            let new = path.with_extension("json.new");
            let _ = crate::report::write_atomic(&new, actual.as_bytes());
            return Err(SnapshotMismatch {
                path: path.clone(),
                message: format!(
                    "no snapshot at {}; the response was written to {} — review it, then run with --update-snapshots to accept",
                    path.display(),
                    new.display()
                ),
                diff: String::new(),
            });
        };
        if expected.trim_end() == actual.trim_end() {
            return Ok(());
        }
        let diff = similar::TextDiff::from_lines(expected.as_str(), actual.as_str())
            .unified_diff()
            .context_radius(3)
            .header(&format!("{} (snapshot)", path.display()), "response")
            .to_string();
        Err(SnapshotMismatch {
            path: path.clone(),
            message: format!(
                "response differs from snapshot {} (run with --update-snapshots to accept)",
                path.display()
            ),
            diff,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn volatile_paths_are_replaced() {
        let v = json!({"data": [{"id": "a", "n": 1}, {"id": "b", "n": 2}], "t": "now"});
        let n = normalize(v, &["$.data[*].id".into(), "$.t".into()]);
        assert_eq!(
            n,
            json!({"data": [{"id": PLACEHOLDER, "n": 1}, {"id": PLACEHOLDER, "n": 2}], "t": PLACEHOLDER})
        );
    }

    #[test]
    fn record_then_compare_then_diff() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store {
            dir: dir.path().to_path_buf(),
            update: true,
            builtin: &[],
        };
        let r = Redactor::default();
        store
            .check("s", "health", 200, &json!({"ok": true}), &[], &r)
            .unwrap();
        store.update = false;
        store
            .check("s", "health", 200, &json!({"ok": true}), &[], &r)
            .unwrap();
        let err = store
            .check("s", "health", 200, &json!({"ok": false}), &[], &r)
            .unwrap_err();
        assert!(err.diff.contains("-    \"ok\": true"), "{}", err.diff);
        assert!(err.diff.contains("+    \"ok\": false"), "{}", err.diff);
    }

    #[test]
    fn names_cannot_leave_the_directory() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store {
            dir: dir.path().join("snaps"),
            update: true,
            builtin: &[],
        };
        for (suite, name) in [
            ("..", "x"),
            ("../../..", "x"),
            ("/etc", "x"),
            ("a/b", "x"),
            ("s", ".."),
        ] {
            let e = store
                .check(suite, name, 200, &json!(1), &[], &Redactor::default())
                .unwrap_err();
            assert!(
                e.message.contains("outside"),
                "{suite}/{name}: {}",
                e.message
            );
        }
        assert!(
            std::fs::read_dir(dir.path()).unwrap().next().is_none(),
            "nothing written"
        );
    }

    #[test]
    fn missing_snapshot_fails_and_writes_new() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store {
            dir: dir.path().to_path_buf(),
            update: false,
            builtin: &[],
        };
        let err = store
            .check("s", "x", 200, &json!(1), &[], &Redactor::default())
            .unwrap_err();
        assert!(err.message.contains("no snapshot"));
        assert!(dir.path().join("s/x.json.new").exists());
    }
}
