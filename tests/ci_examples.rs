//! The CI examples in ci/, the GitHub Action (action.yml, scripts/action.sh),
//! the installer (scripts/install.sh) and the release workflow work as written:
//! every command and option they use exists, their target file loads, and their
//! exact `launchgate run` invocations exit 0 against a real (non-mock) target
//! with every input they set; the action's steps pass the exit code through;
//! the installer installs a packaged release only when its checksum matches.
//!
//! The real target is a standalone `launchgate mock` process on a loopback
//! port, used as a URL target: to launchgate it is a remote server like staging.

use crate::common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command as Proc;

use serde_json::Value;

use common::root;
use common::standalone::Standalone;
use common::tcp::{read_head, respond, serve, Server};

fn read(file: &str) -> String {
    std::fs::read_to_string(root().join(file)).unwrap_or_else(|e| panic!("{file}: {e}"))
}

fn yaml(file: &str) -> Value {
    serde_saphyr::from_str(&read(file)).unwrap_or_else(|e| panic!("{file}: {e}"))
}

/// Every `launchgate SUBCOMMAND --flag ...` invocation in a file.
fn invocations(text: &str) -> Vec<(String, Vec<String>)> {
    let mut out = Vec::new();
    for line in text.lines() {
        let mut rest = line;
        while let Some(at) = rest.find("launchgate ") {
            let before = &rest[..at];
            rest = &rest[at + "launchgate ".len()..];
            // Paths such as tools/launchgate/ci and prose words are not invocations.
            if before.ends_with('/') || before.ends_with('-') {
                continue;
            }
            let words: Vec<&str> = rest.split_whitespace().collect();
            let Some(sub) = words.first() else { continue };
            if !sub.chars().all(|c| c.is_ascii_lowercase()) {
                continue;
            }
            // Flags up to the end of the command (a closing quote or backtick ends it).
            let mut flags = Vec::new();
            for w in &words[1..] {
                let clean = w.trim_end_matches(['\'', '"', '`', ',', ')', ';']);
                if clean.starts_with("--") {
                    flags.push(clean.split('=').next().unwrap_or_default().to_string());
                }
                if clean.len() != w.len() {
                    break;
                }
            }
            out.push((sub.to_string(), flags));
        }
    }
    out
}

fn help(sub: &str) -> String {
    let o = common::bin().args([sub, "--help"]).output().unwrap();
    assert!(o.status.success(), "`launchgate {sub}` is not a command");
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// The files whose launchgate commands users copy.
const CI_FILES: &[&str] = &[
    "ci/github-actions.yml",
    "ci/gitlab-ci.yml",
    "ci/Jenkinsfile",
    "action.yml",
    "scripts/action.sh",
    ".github/workflows/release.yml",
    "README.md",
];

#[test]
fn every_invoked_command_and_flag_exists() {
    let mut seen = BTreeSet::new();
    let known = [
        "run",
        "mock",
        "check",
        "checklist",
        "junit",
        "webhook",
        "referee",
        "doctor",
        "init",
    ];
    for file in CI_FILES {
        for (sub, flags) in invocations(&read(file)) {
            if !known.contains(&sub.as_str()) {
                continue;
            }
            let h = help(&sub);
            for f in flags {
                assert!(
                    h.contains(&format!("{f} ")) || h.contains(&format!("{f}\n")),
                    "{file}: `launchgate {sub}` has no option {f}"
                );
                seen.insert(format!("{sub} {f}"));
            }
        }
    }
    // The action builds its command word by word: each option it adds exists too.
    let run_help = help("run");
    for line in read("scripts/action.sh").lines() {
        for w in line.split(['(', ' ', ')']) {
            if w.starts_with("--") && line.trim_start().starts_with("cmd+=") {
                assert!(
                    run_help.contains(w),
                    "scripts/action.sh: no `run` option {w}"
                );
                seen.insert(format!("run {w}"));
            }
        }
    }
    for needed in [
        "run --target",
        "run --junit-profile",
        "run --fail-on-skip",
        "run --html",
        "run --secrets",
        "doctor --secrets",
        "init --base-url",
        "run --allow-incomplete",
    ] {
        assert!(seen.contains(needed), "{needed} unused? {seen:?}");
    }
}

#[test]
fn ci_yaml_parses_and_the_target_file_loads() {
    for f in [
        "ci/github-actions.yml",
        "ci/gitlab-ci.yml",
        "action.yml",
        ".github/workflows/release.yml",
    ] {
        yaml(f);
    }
    let mut env = BTreeMap::new();
    env.insert(
        "LAUNCHGATE_BASE_URL".to_string(),
        "https://staging.example.com".to_string(),
    );
    let source = launchgate::target::SecretSource::from_maps(Default::default(), env);
    let t =
        launchgate::target::Target::from_file(&root().join("ci/staging.yaml"), &source).unwrap();
    assert_eq!(t.base_url, "https://staging.example.com");
    assert_eq!(
        t.facts["needs"],
        serde_json::json!(["read", "write:transactions", "write:rewards"])
    );
}

#[test]
fn readme_mock_example_uses_a_real_fixture_key() {
    let readme = read("README.md");
    let inputs = launchgate::mock::fixture_inputs(None).unwrap();
    let mut found = 0;
    for word in readme.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')) {
        if word.starts_with("rl_agent_")
            || word.starts_with("rl_member_")
            || word.starts_with("rl_admin_")
        {
            if word.ends_with('_') {
                continue; // the redaction marker `rl_agent_***`
            }
            assert!(
                inputs.keys.values().any(|k| k == word),
                "README shows `{word}`, which is no fixture key"
            );
            found += 1;
        }
    }
    assert!(found >= 1, "the curl example needs a key");
}

// ---------------------------------------------------------------------------
// A real target: a standalone `launchgate mock` process, used as a URL.

/// A standalone `launchgate mock` on a free loopback port (1 s rate window).
fn standalone_mock() -> Standalone {
    Standalone::start(&["--rate-window", "1s"])
}

/// The value for one environment variable of ci/staging.yaml's inputs.
fn value_of(mock: &Standalone, var: &str, inputs: &StagingInputs) -> String {
    if var == "LAUNCHGATE_BASE_URL" {
        return mock.url.clone();
    }
    match inputs.by_var.get(var) {
        // staging.yaml's integration key (`partner`) needs exactly the
        // point-of-sale scopes: the mock's `partner_pos` key has them.
        Some((Input::Key, name)) if name == "partner" => mock.keys["partner_pos"].clone(),
        Some((Input::Key, name)) => mock.keys[name].clone(),
        Some((Input::Fixture, name)) => mock.fixtures[name].clone(),
        None => panic!("the example sets {var}, which ci/staging.yaml does not name"),
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Input {
    Key,
    Fixture,
}

/// ci/staging.yaml's inputs: environment variable → (key or fixture, name).
struct StagingInputs {
    by_var: BTreeMap<String, (Input, String)>,
}

impl StagingInputs {
    fn load() -> StagingInputs {
        let t = yaml("ci/staging.yaml");
        let mut by_var = BTreeMap::new();
        for (section, kind) in [("keys", Input::Key), ("fixtures", Input::Fixture)] {
            for (name, var) in t[section].as_object().expect("a map") {
                let var = var.as_str().expect("a variable name").to_string();
                by_var.insert(var, (kind, name.clone()));
            }
        }
        assert_eq!(t["base_url_env"], "LAUNCHGATE_BASE_URL");
        StagingInputs { by_var }
    }

    /// Every variable a staging run needs.
    fn all_vars(&self) -> BTreeSet<String> {
        let mut all: BTreeSet<String> = self.by_var.keys().cloned().collect();
        all.insert("LAUNCHGATE_BASE_URL".into());
        all
    }
}

/// A working directory laid out like the examples' repository: launchgate
/// vendored at tools/launchgate (here: a link to this checkout).
fn workspace() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("tools")).unwrap();
    std::os::unix::fs::symlink(root(), dir.path().join("tools/launchgate")).unwrap();
    dir
}

/// A shell command as CI runs it: bash, launchgate on PATH, no ambient
/// `LAUNCHGATE_*` variables but the ones given.
fn shell(dir: &Path, script: &str, env: &BTreeMap<String, String>) -> Proc {
    let bin_dir = common::bin_path().parent().unwrap().to_path_buf();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut c = common::command("bash");
    let script = format!("umask 022\n{script}");
    c.args(["-euo", "pipefail", "-c", &script])
        .current_dir(dir)
        .env("PATH", path);
    // The action's own variables, too: only the ones a step sets reach it.
    for (k, _) in std::env::vars() {
        if k.starts_with("GITHUB_") || k.starts_with("LG_") {
            c.env_remove(k);
        }
    }
    c.envs(env);
    c
}

/// Runs one example command; panics with its output unless it exits 0 and
/// wrote its reports.
fn run_example(what: &str, dir: &Path, script: &str, env: &BTreeMap<String, String>) {
    let o = shell(dir, script, env).output().unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr),
    );
    assert_eq!(
        o.status.code(),
        Some(0),
        "{what}: `{script}` failed\n{stdout}\n{stderr}"
    );
    let junit = std::fs::read_to_string(dir.join("reports/junit.xml")).unwrap_or_default();
    assert!(!junit.contains("<skipped"), "{what}: a case was skipped");
    let doc = roxmltree::Document::parse(&junit).expect("valid JUnit");
    let cases = doc.descendants().filter(|n| n.has_tag_name("testcase"));
    assert!(cases.count() >= 30, "{what}: too few cases ran");
    assert!(stdout.contains(" 0 failed, 0 skipped"), "{what}: {stdout}");
    let checklist: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("reports/checklist.json")).unwrap())
            .unwrap();
    assert_eq!(checklist["decision"], "go", "{what}: {stdout}");
}

/// The client the examples referee: launchgate's own careful example client,
/// vendored with it (it passes every verdict).
const CLIENT: &str = "python3 tools/launchgate/examples/clients/careful_client.py";

/// Runs an example's `launchgate referee` command with `var` naming the careful
/// client; panics unless it exits 0 and wrote the report the run reads.
fn referee_example(what: &str, dir: &Path, script: &str, var: &str) {
    let mut env = BTreeMap::new();
    env.insert(var.to_string(), CLIENT.to_string());
    let o = shell(dir, script, &env).output().unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{what}: `{script}` failed\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(dir.join("reports/referee.json").is_file(), "{what}");
}

/// The staging env an example sets: each variable it names, with the mock's value.
fn staging_env(
    mock: &Standalone,
    inputs: &StagingInputs,
    vars: &BTreeSet<String>,
) -> BTreeMap<String, String> {
    vars.iter()
        .map(|v| (v.clone(), value_of(mock, v, inputs)))
        .collect()
}

#[test]
fn gitlab_example_runs_pass_against_a_real_target_with_every_input() {
    let inputs = StagingInputs::load();
    let ci = yaml("ci/gitlab-ci.yml");
    let jobs = ci.as_object().unwrap();
    assert!(ci[".launchgate"]["variables"]["CLIENT_TEST_COMMAND"].is_string());
    // Each job in a workspace of its own, the jobs at once (they mostly wait).
    let job_runs = |job: &str, spec: &Value| -> usize {
        assert_eq!(spec["extends"], ".launchgate", "{job}");
        let dir = workspace();
        let mut refereed = false;
        let mut ran = 0;
        for line in spec["script"].as_array().unwrap() {
            let line = line.as_str().unwrap();
            if line.contains("launchgate referee") {
                referee_example(
                    &format!("gitlab {job}"),
                    dir.path(),
                    line,
                    "CLIENT_TEST_COMMAND",
                );
                refereed = true;
                continue;
            }
            if !line.contains("launchgate run") {
                continue;
            }
            assert!(
                refereed,
                "gitlab {job}: the client is refereed before the run"
            );
            let mock = standalone_mock();
            // GitLab's CI/CD variables: the ones the target file names.
            let env = if line.contains("staging.yaml") {
                staging_env(&mock, &inputs, &inputs.all_vars())
            } else {
                BTreeMap::new()
            };
            run_example(&format!("gitlab {job}"), dir.path(), line, &env);
            ran += 1;
        }
        ran
    };
    let ran: usize = std::thread::scope(|s| {
        let handles: Vec<_> = jobs
            .iter()
            .filter(|(j, _)| !j.starts_with('.'))
            .map(|(job, spec)| s.spawn(move || job_runs(job, spec)))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).sum()
    });
    assert_eq!(ran, 3, "default branch, merge request, fork");
    let template = &ci[".launchgate"];
    assert_eq!(template["variables"]["GIT_SUBMODULE_STRATEGY"], "recursive");
    assert!(template["cache"]["paths"][0].is_string());
    let exit_codes = &jobs["launch-gate:merge-request"]["allow_failure"]["exit_codes"];
    assert_eq!(exit_codes, &serde_json::json!([4]));
}

/// Jenkinsfile: the `environment` variables of the pipeline and of each stage,
/// and the `sh(... script: '...')` commands.
fn jenkins_parts(text: &str) -> (BTreeSet<String>, BTreeSet<String>, Vec<String>) {
    let var = regex::Regex::new(r"^\s+(LAUNCHGATE_[A-Z_]+)\s*=").unwrap();
    let sh = regex::Regex::new(r"script: '([^']*launchgate (?:run|referee)[^']*)'").unwrap();
    let (mut global, mut credentials) = (BTreeSet::new(), BTreeSet::new());
    for line in text.lines() {
        if let Some(c) = var.captures(line) {
            if line.contains("credentials(") {
                credentials.insert(c[1].to_string());
            } else {
                global.insert(c[1].to_string());
            }
        }
    }
    let commands = sh.captures_iter(text).map(|c| c[1].to_string()).collect();
    (global, credentials, commands)
}

#[test]
fn jenkins_example_runs_pass_against_a_real_target_with_every_input() {
    let inputs = StagingInputs::load();
    let text = read("ci/Jenkinsfile");
    let (global, credentials, commands) = jenkins_parts(&text);
    let set: BTreeSet<String> = global.union(&credentials).cloned().collect();
    assert_eq!(set, inputs.all_vars(), "the Jenkinsfile sets every input");
    assert_eq!(commands.len(), 3, "{commands:?}");
    assert!(
        commands[0].contains("launchgate referee"),
        "the client is refereed first: {commands:?}"
    );
    assert!(text.contains("CLIENT_TEST_COMMAND = "));
    let literal = regex::Regex::new(r"(?m)^\s+(LAUNCHGATE_[A-Z_]+)\s*=\s*'([^']*)'").unwrap();
    // Each stage in a workspace of its own, the stages at once.
    std::thread::scope(|s| {
        for cmd in &commands[1..] {
            let (commands, inputs, set, text, literal) =
                (&commands, &inputs, &set, &text, &literal);
            s.spawn(move || {
                let mock = standalone_mock();
                let dir = workspace();
                referee_example("jenkins", dir.path(), &commands[0], "CLIENT_TEST_COMMAND");
                // The fork stage sees the pipeline's environment only, with its literal values.
                let env = if cmd.contains("staging.yaml") {
                    staging_env(&mock, inputs, set)
                } else {
                    literal
                        .captures_iter(text)
                        .map(|c| (c[1].to_string(), c[2].to_string()))
                        .collect()
                };
                run_example("jenkins", dir.path(), cmd, &env);
            });
        }
    });
    // Submodules fetched, the binary installed without cargo, archive before junit.
    assert!(text.contains("SubmoduleOption"));
    assert!(!text.contains("cargo "), "no cargo on the agent");
    let archive = text.find("archiveArtifacts").unwrap();
    assert!(archive < text.find("junit testResults").unwrap());
    for code in ["case 1:", "case 2:", "case 3:", "case 4:"] {
        assert!(text.contains(code), "exit code mapped: {code}");
    }
}

// ---------------------------------------------------------------------------
// The GitHub Action: its steps are scripts/action.sh, run here with the env
// action.yml gives them.

/// action.yml's `env:` for one step, with `${{ inputs.X }}` resolved.
fn action_env(step: &str, with: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    let action = yaml("action.yml");
    let inputs = action["inputs"].as_object().unwrap();
    let s = action["runs"]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| {
            s["run"]
                .as_str()
                .is_some_and(|r| r.ends_with(&format!(" {step}")))
        })
        .unwrap_or_else(|| panic!("action.yml runs `action.sh {step}`"));
    let mut env = BTreeMap::new();
    for (k, v) in s["env"].as_object().unwrap() {
        let v = v.as_str().unwrap();
        let value = match v
            .strip_prefix("${{ inputs.")
            .and_then(|r| r.strip_suffix(" }}"))
        {
            Some(input) => {
                assert!(
                    inputs.contains_key(input),
                    "action.yml has no input {input}"
                );
                with.get(input).cloned().unwrap_or_else(|| {
                    inputs[input]["default"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string()
                })
            }
            None => String::new(), // github.* context: empty outside Actions
        };
        env.insert(k.clone(), value);
    }
    env
}

/// Runs `action.sh run` then `action.sh gate` as the action does; returns
/// (gate's exit code, the step outputs, the gate's stdout).
fn run_action(
    dir: &Path,
    with: &BTreeMap<String, String>,
    step_env: &BTreeMap<String, String>,
) -> (i32, BTreeMap<String, String>, String) {
    let action_sh = root().join("scripts/action.sh");
    let outputs = dir.join("github_output");
    let summary = dir.join("github_summary");
    let _ = std::fs::remove_file(&outputs);
    let mut env = action_env("run", with);
    env.extend(step_env.clone());
    env.insert("GITHUB_OUTPUT".into(), outputs.display().to_string());
    env.insert("GITHUB_STEP_SUMMARY".into(), summary.display().to_string());
    let o = shell(dir, &format!("{} run", action_sh.display()), &env)
        .output()
        .unwrap();
    assert!(o.status.success(), "the run step always exits 0: {o:?}");
    let outs: BTreeMap<String, String> = std::fs::read_to_string(&outputs)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let mut gate_env = action_env("gate", with);
    gate_env.insert(
        "LG_EXIT".into(),
        outs.get("exit-code").cloned().unwrap_or_default(),
    );
    let g = shell(dir, &format!("{} gate", action_sh.display()), &gate_env)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&g.stdout).into_owned();
    (g.status.code().unwrap_or(-1), outs, stdout)
}

/// The `with:` and `env:` of each step of the GitHub example that uses the action.
fn github_action_steps() -> Vec<(String, BTreeMap<String, String>, BTreeSet<String>)> {
    let wf = yaml("ci/github-actions.yml");
    let steps = wf["jobs"]["launch-gate"]["steps"].as_array().unwrap();
    let mut out = Vec::new();
    for s in steps.iter().filter(|s| s["uses"] == "./tools/launchgate") {
        let with = s["with"]
            .as_object()
            .unwrap()
            .iter()
            // Expressions (allow-inconclusive) do not matter for a passing run.
            .filter(|(_, v)| !v.as_str().unwrap_or_default().contains("${{"))
            .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
            .collect();
        let env = s["env"]
            .as_object()
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default();
        out.push((s["if"].as_str().unwrap_or_default().to_string(), with, env));
    }
    out
}

#[test]
fn github_example_runs_pass_against_a_real_target_with_every_input() {
    let inputs = StagingInputs::load();
    let steps = github_action_steps();
    assert_eq!(steps.len(), 2, "staging, and the mock for forks");
    // Each step in a workspace of its own, the steps at once.
    std::thread::scope(|s| {
        for (cond, mut with, env_vars) in steps {
            let inputs = &inputs;
            s.spawn(move || {
                assert!(
                    with.contains_key("referee-command"),
                    "{cond}: the client is refereed"
                );
                with.insert("referee-command".into(), CLIENT.into());
                let mock = standalone_mock();
                let dir = workspace();
                let env = if cond.contains("!= 'true'") {
                    assert_eq!(
                        env_vars,
                        inputs.all_vars(),
                        "the staging step sets every input"
                    );
                    staging_env(&mock, inputs, &env_vars)
                } else {
                    assert!(env_vars.is_empty(), "no secret in the fork step");
                    BTreeMap::new()
                };
                let (code, outs, stdout) = run_action(dir.path(), &with, &env);
                assert_eq!(code, 0, "{cond}: {outs:?} {stdout}");
                assert_eq!(outs["outcome"], "passed");
                let reports = dir.path().join(&outs["reports"]);
                for f in [
                    "junit.xml",
                    "report.json",
                    "checklist.md",
                    "launchgate-reports.html",
                    "referee.json",
                    "referee-junit.xml",
                ] {
                    assert!(reports.join(f).is_file(), "{cond}: no {f}");
                }
                // Readable by the artifact uploader, whoever it runs as (umask 022).
                use std::os::unix::fs::PermissionsExt;
                let mode = std::fs::metadata(reports.join("junit.xml"))
                    .unwrap()
                    .permissions()
                    .mode();
                assert_eq!(mode & 0o777, 0o644, "{cond}: junit.xml mode {mode:o}");
                let checklist: serde_json::Value = serde_json::from_str(
                    &std::fs::read_to_string(reports.join("checklist.json")).unwrap(),
                )
                .unwrap();
                assert_eq!(checklist["decision"], "go", "{cond}: {stdout}");
                let summary = std::fs::read_to_string(dir.path().join("github_summary")).unwrap();
                assert!(summary.contains("Final Launch Checklist"), "{summary}");
            });
        }
    });
}

#[test]
fn github_example_pins_current_majors_and_needs_no_write_permission() {
    let wf = yaml("ci/github-actions.yml");
    assert_eq!(wf["permissions"], serde_json::json!({"contents": "read"}));
    let mut uses: Vec<String> = Vec::new();
    for f in ["ci/github-actions.yml", "action.yml"] {
        for line in read(f).lines() {
            if let Some(u) = line.trim().trim_start_matches("- ").strip_prefix("uses: ") {
                uses.push(u.to_string());
            }
        }
    }
    for expected in [
        "actions/checkout@v7",
        "actions/upload-artifact@v7",
        "mikepenz/action-junit-report@v6",
        "dorny/test-reporter@v3",
    ] {
        assert!(uses.iter().any(|u| u == expected), "{expected}: {uses:?}");
    }
    let annotate = wf["jobs"]["launch-gate"]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| {
            s["uses"]
                .as_str()
                .is_some_and(|u| u.starts_with("mikepenz/"))
        })
        .unwrap();
    assert_eq!(annotate["with"]["test_files_prefix"], "tools/launchgate");
    assert_eq!(annotate["with"]["annotate_only"], true);
}

#[test]
fn the_action_passes_each_exit_code_through_after_writing_the_reports() {
    let dir = workspace();
    // Unreachable: exit 3, reports written, the gate fails with 3.
    let mut with = BTreeMap::new();
    with.insert("target".to_string(), "http://127.0.0.1:9".to_string());
    with.insert("args".to_string(), "-k auth".to_string());
    let mut env = BTreeMap::new();
    env.insert(
        "LAUNCHGATE_PARTNER_KEY".into(),
        "rl_agent_".to_string() + &"x".repeat(40),
    );
    let (code, outs, stdout) = run_action(dir.path(), &with, &env);
    assert_eq!(
        (code, outs["outcome"].as_str()),
        (3, "unreachable"),
        "{stdout}"
    );
    assert!(stdout.contains("::error title=launchgate: unreachable (exit 3)::"));
    assert!(dir.path().join("launchgate-reports/junit.xml").is_file());

    // Inconclusive (skips with --fail-on-skip): 4, or a warning when allowed.
    with.insert("args".into(), "-k rate-limit --fail-on-skip".into());
    let (code, _, stdout) = run_action(dir.path(), &with, &BTreeMap::new());
    assert_eq!(code, 4, "{stdout}");
    with.insert("allow-inconclusive".into(), "true".into());
    let (code, outs, stdout) = run_action(dir.path(), &with, &BTreeMap::new());
    assert_eq!((code, outs["exit-code"].as_str()), (0, "4"), "{stdout}");
    assert!(stdout.contains("::warning title=launchgate: inconclusive (exit 4)::"));

    // A usage error: 2.
    with.insert("target".into(), "no-such-target.yaml".into());
    let (code, outs, _) = run_action(dir.path(), &with, &BTreeMap::new());
    assert_eq!((code, outs["outcome"].as_str()), (2, "usage"));

    // Launchgate never ran (the install step failed): the gate fails.
    let mut gate_env = action_env("gate", &BTreeMap::new());
    gate_env.insert("LG_EXIT".into(), String::new());
    let g = shell(
        dir.path(),
        &format!("{} gate", root().join("scripts/action.sh").display()),
        &gate_env,
    )
    .output()
    .unwrap();
    assert_eq!(g.status.code(), Some(2));
}

// ---------------------------------------------------------------------------
// The installer, against a release packaged by scripts/package.sh and served
// over loopback.

/// Serves the files of `dir` over HTTP on a loopback port until dropped.
fn file_server(dir: PathBuf) -> Server {
    serve(move |mut conn, ctx| {
        let head = read_head(&mut conn);
        let path = head.split_whitespace().nth(1).unwrap_or("/");
        let file = dir.join(path.rsplit('/').next().unwrap_or_default());
        match std::fs::read(&file) {
            Ok(body) => respond(&mut conn, ctx, "200 OK", &[], &body),
            Err(_) => respond(&mut conn, ctx, "404 Not Found", &[], b""),
        }
    })
}

fn install(dir: &Path, base_url: &str, to: &Path, extra: &[&str]) -> std::process::Output {
    common::command("bash")
        .arg(root().join("scripts/install.sh"))
        .args(["--base-url", base_url, "--to"])
        .arg(to)
        .args(extra)
        .current_dir(dir)
        .output()
        .unwrap()
}

#[test]
fn the_installer_installs_a_packaged_release_only_when_its_checksum_matches() {
    let dir = tempfile::tempdir().unwrap();
    let dist = dir.path().join("dist");
    // The test binary without its debug info (hundreds of MB to compress otherwise).
    let mut binary = dir.path().join("launchgate");
    let stripped = Proc::new("strip")
        .arg("-o")
        .arg(&binary)
        .arg(common::bin_path())
        .status();
    if !stripped.is_ok_and(|s| s.success()) {
        binary = common::bin_path();
    }
    let o = common::command("bash")
        .arg(root().join("scripts/package.sh"))
        .arg("--binary")
        .arg(&binary)
        .arg("--out")
        .arg(&dist)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let version = env!("CARGO_PKG_VERSION");
    let tarball = std::fs::read_dir(&dist)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .find(|n| n.ends_with(".tar.gz"))
        .expect("a tarball");
    assert!(
        tarball.starts_with(&format!("launchgate-v{version}-")),
        "{tarball}"
    );
    let listing = Proc::new("tar")
        .arg("-tzf")
        .arg(dist.join(&tarball))
        .output()
        .unwrap();
    let listing = String::from_utf8_lossy(&listing.stdout);
    for f in ["launchgate", "README.md", "LICENSE-MIT", "LICENSE-APACHE"] {
        assert!(
            listing.lines().any(|l| l.ends_with(&format!("/{f}"))),
            "{f}: {listing}"
        );
    }

    let server = file_server(dist.clone());
    let to = dir.path().join("bin");
    let o = install(dir.path(), &server.url(), &to, &[]);
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(stdout.trim().ends_with("/bin/launchgate"), "{stdout}");
    let v = common::command(to.join("launchgate"))
        .arg("--version")
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&v.stdout).trim(),
        format!("launchgate {version}")
    );

    // A tampered tarball is refused and installs nothing.
    std::fs::remove_dir_all(&to).unwrap();
    let mut bytes = std::fs::read(dist.join(&tarball)).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    std::fs::write(dist.join(&tarball), bytes).unwrap();
    let o = install(dir.path(), &server.url(), &to, &[]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert!(stderr.contains("checksum mismatch"), "{stderr}");
    assert!(!to.join("launchgate").exists());

    // Plain HTTP to anything but this machine is refused before any download.
    let o = install(dir.path(), "http://example.com/x", &to, &[]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("refusing to download over plain HTTP"));
}

// ---------------------------------------------------------------------------
// The crate package (`cargo package`, `cargo install launchgate`).

#[test]
fn the_crate_package_ships_what_build_rs_embeds() {
    let o = Proc::new(env!("CARGO"))
        .args(["package", "--list", "--allow-dirty", "--offline"])
        .current_dir(root())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let listed: BTreeSet<String> = String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(str::to_string)
        .collect();
    let git = Proc::new("git")
        .args(["ls-files", "scenarios", "snapshots", "src"])
        .current_dir(root())
        .output()
        .unwrap();
    let tracked = String::from_utf8_lossy(&git.stdout).into_owned();
    assert!(tracked.lines().count() > 20, "git ls-files: {tracked}");
    for f in tracked.lines().chain([
        "build.rs",
        "Cargo.lock",
        "README.md",
        "LICENSE-MIT",
        "LICENSE-APACHE",
    ]) {
        assert!(listed.contains(f), "the crate package lacks {f}");
    }
    assert!(
        !listed.iter().any(|f| f.starts_with("tests/")),
        "{listed:?}"
    );
}
