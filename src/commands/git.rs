//! What launchgate asks git: the commit of the scenario files a run used, and
//! whether git tracks a secrets file. Both shell out to `git` and read nothing
//! else; without git (or outside a work tree) the answer is "unknown" or "no".

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The git commit of the scenario files: `built-in` for the compiled-in suite, else
/// `git rev-parse HEAD` of their work tree (`-dirty` when they have uncommitted or
/// untracked changes), or `None` when they are not in one git work tree.
pub(crate) fn scenarios_commit(paths: &[PathBuf]) -> Option<String> {
    if paths.is_empty() {
        return Some("built-in".into());
    }
    let git = |dir: &Path, args: &[&str]| -> Option<String> {
        let out = Command::new("git")
            .arg("-C")
            .arg(dir)
            .args(args)
            .stderr(Stdio::null())
            .output()
            .ok()?;
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
    };
    let mut commit: Option<String> = None;
    let mut dirty = false;
    for p in paths {
        let (dir, spec) = if p.is_dir() {
            (p.as_path(), ".".to_string())
        } else {
            let dir = match p.parent() {
                Some(d) if !d.as_os_str().is_empty() => d,
                _ => Path::new("."),
            };
            let name = p.file_name()?.to_string_lossy().into_owned();
            (dir, name)
        };
        let head = git(dir, &["rev-parse", "HEAD"]).filter(|h| !h.is_empty())?;
        if commit.as_ref().is_some_and(|c| *c != head) {
            return None;
        }
        commit = Some(head);
        let status = git(
            dir,
            &[
                "status",
                "--porcelain",
                "--untracked-files=all",
                "--",
                &spec,
            ],
        )?;
        dirty |= !status.is_empty();
    }
    commit.map(|c| if dirty { format!("{c}-dirty") } else { c })
}

/// True when git tracks this file (it is committed, or staged to be).
pub(crate) fn tracked_by_git(file: &Path) -> bool {
    let dir = match file.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let Some(name) = file.file_name() else {
        return false;
    };
    Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["ls-files", "--error-unmatch", "--"])
        .arg(name)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}
