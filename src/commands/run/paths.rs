//! Where a run's reports go: the paths given on the command line and those named
//! after them (the JSON beside a Markdown report, the scorecard's JUnit).

use std::path::{Path, PathBuf};

use super::RunConfig;

/// Every report path a run owns, whether this run writes it or not.
#[derive(Debug, Clone)]
pub(super) struct ReportPaths {
    pub junit: PathBuf,
    pub json: PathBuf,
    pub checklist: PathBuf,
    pub checklist_json: PathBuf,
    pub scorecard: PathBuf,
    pub scorecard_json: PathBuf,
    pub scorecard_junit: PathBuf,
    pub html: Option<PathBuf>,
}

impl ReportPaths {
    /// The paths of a run's configuration.
    pub fn of(cfg: &RunConfig) -> ReportPaths {
        ReportPaths {
            junit: cfg.junit.clone(),
            json: cfg.json.clone(),
            checklist: cfg.checklist.clone(),
            checklist_json: json_beside(&cfg.checklist, "checklist", &cfg.json),
            scorecard: cfg.scorecard.clone(),
            scorecard_json: json_beside(&cfg.scorecard, "scorecard", &cfg.json),
            scorecard_junit: scorecard_junit_path(&cfg.scorecard),
            html: cfg.html.clone(),
        }
    }

    /// Removes every one of them before the run starts, so a report of an earlier
    /// run never sits beside this one's (a green JUnit beside a run that was killed,
    /// a checklist a vendor-only run does not write).
    pub fn remove_stale(&self) {
        let owned = [
            &self.junit,
            &self.json,
            &self.checklist,
            &self.checklist_json,
            &self.scorecard,
            &self.scorecard_json,
            &self.scorecard_junit,
        ];
        for p in owned.into_iter().chain(&self.html) {
            match std::fs::remove_file(p) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => eprintln!(
                    "launchgate: warning: cannot remove the earlier report {}: {e}",
                    p.display()
                ),
            }
        }
    }
}

/// The JSON file beside a Markdown report (`checklist.md` → `checklist.json`),
/// renamed (`x-checklist.json`) when that would overwrite the run's JSON report.
fn json_beside(md: &Path, kind: &str, run_json: &Path) -> PathBuf {
    let plain = md.with_extension("json");
    if plain != run_json {
        return plain;
    }
    let stem = md
        .file_stem()
        .map_or_else(|| kind.to_string(), |s| s.to_string_lossy().into_owned());
    md.with_file_name(format!("{stem}-{kind}.json"))
}

/// `scorecard.md` → `scorecard-junit.xml` beside it.
fn scorecard_junit_path(md: &Path) -> PathBuf {
    let stem = md
        .file_stem()
        .map_or_else(|| "scorecard".into(), |s| s.to_string_lossy().into_owned());
    md.with_file_name(format!("{stem}-junit.xml"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_json_beside_never_overwrites_the_run_json() {
        let run_json = Path::new("out/report.json");
        assert_eq!(
            json_beside(Path::new("out/checklist.md"), "checklist", run_json),
            Path::new("out/checklist.json")
        );
        assert_eq!(
            json_beside(Path::new("out/report.md"), "checklist", run_json),
            Path::new("out/report-checklist.json")
        );
        assert_eq!(
            scorecard_junit_path(Path::new("out/scorecard.md")),
            Path::new("out/scorecard-junit.xml")
        );
    }
}
