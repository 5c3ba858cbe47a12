//! The CI examples in ci/ invoke only commands and options the CLI has, and
//! their target file loads.

use std::collections::BTreeSet;
use std::path::Path;

use assert_cmd::Command;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
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
    let o = Command::cargo_bin("launchgate")
        .unwrap()
        .args([sub, "--help"])
        .output()
        .unwrap();
    assert!(o.status.success(), "`launchgate {sub}` is not a command");
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn every_invoked_command_and_flag_exists() {
    let mut seen = BTreeSet::new();
    for file in [
        "ci/github-actions.yml",
        "ci/gitlab-ci.yml",
        "ci/Jenkinsfile",
        "README.md",
    ] {
        let text = std::fs::read_to_string(root().join(file)).unwrap();
        for (sub, flags) in invocations(&text) {
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
            if !known.contains(&sub.as_str()) {
                continue;
            }
            let h = help(&sub);
            for f in flags {
                assert!(
                    h.contains(&f),
                    "{file}: `launchgate {sub}` has no option {f}"
                );
                seen.insert(format!("{sub} {f}"));
            }
        }
    }
    assert!(seen.contains("run --target"), "{seen:?}");
    assert!(seen.contains("run --junit-profile"), "{seen:?}");
    for documented in [
        "doctor --secrets",
        "init --base-url",
        "run --allow-incomplete",
    ] {
        assert!(
            seen.contains(documented),
            "README shows {documented}: {seen:?}"
        );
    }
}

#[test]
fn ci_yaml_parses_and_the_target_file_loads() {
    for f in ["ci/github-actions.yml", "ci/gitlab-ci.yml"] {
        let text = std::fs::read_to_string(root().join(f)).unwrap();
        let _: serde_json::Value =
            serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{f}: {e}"));
    }
    let mut env = std::collections::BTreeMap::new();
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
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
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
