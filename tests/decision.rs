//! The launch decision end to end: the real binary against a standalone
//! `launchgate mock` process used as a real (URL) target, and real referee reports
//! of the example clients. The decision is the same in every report, and the exit
//! code follows it.

use crate::common;

use std::path::{Path, PathBuf};

use serde_json::Value;

use common::standalone::Standalone;
use common::{bin, reports};

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
    dir: PathBuf,
}

impl Run {
    fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir.join(name))
            .unwrap_or_else(|e| panic!("{name}: {e}\n{}\n{}", self.stdout, self.stderr))
    }

    fn json(&self, name: &str) -> Value {
        serde_json::from_str(&self.read(name)).unwrap()
    }

    /// The decision as each report states it: console, Markdown, checklist JSON,
    /// run JSON, HTML, JUnit.
    fn decisions(&self) -> Vec<(&'static str, String)> {
        let md = self.read("checklist.md");
        let html = self.read("report.html");
        let doc = scraper::Html::parse_document(&html);
        let sel = scraper::Selector::parse(".decision .label").unwrap();
        let html_label: String = doc
            .select(&sel)
            .next()
            .map(|e| e.text().collect())
            .unwrap_or_default();
        let junit = self.read("junit.xml");
        let x = roxmltree::Document::parse(&junit).unwrap();
        let prop = x
            .descendants()
            .find(|n| n.attribute("name") == Some("launchgate.decision"))
            .and_then(|n| n.attribute("value"))
            .unwrap_or("")
            .to_string();
        let console = self
            .stdout
            .lines()
            .find_map(|l| l.strip_prefix("decision: "))
            .unwrap_or("")
            .split(' ')
            .next()
            .unwrap_or("")
            .to_string();
        vec![
            ("console", console),
            (
                "markdown",
                md.lines()
                    .next()
                    .unwrap_or("")
                    .trim_start_matches("# Final Launch Checklist: ")
                    .to_string(),
            ),
            (
                "checklist.json",
                self.json("checklist.json")["decision"]
                    .as_str()
                    .unwrap_or("")
                    .to_string(),
            ),
            (
                "report.json",
                self.json("report.json")["launch_decision"]["label"]
                    .as_str()
                    .unwrap_or("")
                    .to_string(),
            ),
            ("html", html_label),
            ("junit", prop),
        ]
    }

    /// The JUnit test case that carries the decision: (outcome element, message).
    fn junit_decision(&self) -> Option<(String, String)> {
        let junit = self.read("junit.xml");
        let x = roxmltree::Document::parse(&junit).unwrap();
        let case = x.descendants().find(|n| {
            n.has_tag_name("testcase") && n.attribute("classname") == Some("launchgate.checklist")
        })?;
        let status = case
            .children()
            .find(|c| c.is_element() && c.tag_name().name() != "system-out");
        Some(match status {
            Some(s) => (
                s.tag_name().name().to_string(),
                s.attribute("message").unwrap_or("").to_string(),
            ),
            None => ("passed".into(), String::new()),
        })
    }
}

fn run(dir: &Path, args: &[&str], env: &[(String, String)]) -> Run {
    let ran = reports::run_in(dir)
        .in_dir()
        .reports(&[("--html", "report.html"), ("--checklist", "checklist.md")])
        .args(args)
        .envs(env.iter().cloned())
        .output();
    Run {
        code: ran.out.code,
        stdout: ran.out.stdout,
        stderr: ran.out.stderr,
        dir: ran.dir,
    }
}

/// `launchgate referee` on an example client; the path of its JSON report.
fn referee(dir: &Path, client: &str) -> PathBuf {
    let ran = reports::referee_in(dir)
        .args(["--for", "60s", "--", "python3"])
        .arg(common::root().join("examples/clients").join(client))
        .output();
    let json = dir.join("referee.json");
    assert!(json.exists(), "{}", ran.out.stderr);
    json
}

fn checklist_cmd(dir: &Path, extra: &[&str]) -> (i32, String) {
    let o = bin()
        .current_dir(dir)
        .args([
            "checklist",
            "--report",
            "report.json",
            "--markdown",
            "again.md",
        ])
        .args(extra)
        .output()
        .unwrap();
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
    )
}

#[test]
fn a_failing_referee_report_makes_an_all_passing_run_no_go_and_exit_1() {
    let dir = tempfile::tempdir().unwrap();
    let referee = referee(dir.path(), "naive_client.py");
    let r = run(
        dir.path(),
        &["-q", "--referee", referee.to_str().unwrap()],
        &[],
    );
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    let report = r.json("report.json");
    assert_eq!(report["suites"][0]["cases"][0]["outcome"], "passed");
    assert!(
        r.stdout.contains("0 failed"),
        "every case passed: {}",
        r.stdout
    );
    for (report, says) in r.decisions() {
        assert!(says == "NO-GO" || says == "no_go", "{report} says {says:?}");
    }
    let (element, message) = r.junit_decision().expect("the NO-GO is a JUnit failure");
    assert_eq!(element, "failure");
    assert!(message.starts_with("NO-GO"), "{message}");
    assert!(
        r.stdout.contains("Retry logic implemented failed: referee"),
        "{}",
        r.stdout
    );
    // Re-rendering the saved run with the same referee report decides the same.
    let (code, _) = checklist_cmd(dir.path(), &["--referee", referee.to_str().unwrap()]);
    assert_eq!(code, 1);
}

#[test]
fn one_key_against_a_real_target_is_incomplete_everywhere_and_exits_4() {
    let mock = Standalone::start(&["--rate-window", "1s"]);
    let dir = tempfile::tempdir().unwrap();
    let env = [(
        "LAUNCHGATE_PARTNER_KEY".to_string(),
        mock.key("partner_pos"),
    )];
    let r = run(dir.path(), &["--target", &mock.url], &env);
    assert_eq!(r.code, 4, "{}\n{}", r.stdout, r.stderr);
    for (report, says) in r.decisions() {
        assert!(
            says == "INCOMPLETE" || says == "incomplete",
            "{report} says {says:?}"
        );
    }
    let (element, message) = r.junit_decision().expect("shown in JUnit");
    assert_eq!(element, "skipped");
    assert!(message.starts_with("INCOMPLETE"), "{message}");
    // It names what to supply, in every report.
    for text in [&r.stdout, &r.read("checklist.md"), &r.read("report.html")] {
        assert!(text.contains("LAUNCHGATE_RATELIMIT_KEY"), "{text}");
        assert!(text.contains("required launch-time test"), "{text}");
    }
    let supply = r.json("checklist.json")["to_supply"].to_string();
    assert!(
        supply.contains("LAUNCHGATE_MEMBER_KEY")
            && supply.contains("LAUNCHGATE_EXPENSIVE_REWARD_ID"),
        "{supply}"
    );
    assert!(r.stderr.contains("--allow-incomplete"), "{}", r.stderr);
    let (code, _) = checklist_cmd(dir.path(), &[]);
    assert_eq!(code, 4, "`launchgate checklist` follows the same rule");
    let (code, out) = checklist_cmd(dir.path(), &["--allow-incomplete"]);
    assert_eq!(code, 0);
    assert!(out.contains("decision: INCOMPLETE"), "{out}");

    // Accepting a partial check is explicit, and still says INCOMPLETE.
    let r = run(
        dir.path(),
        &["--target", &mock.url, "--allow-incomplete"],
        &env,
    );
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("decision: INCOMPLETE"), "{}", r.stdout);
}

#[test]
fn all_inputs_a_passing_server_and_a_passing_client_say_go() {
    let dir = tempfile::tempdir().unwrap();
    let referee = referee(dir.path(), "careful_client.py");
    let mock = Standalone::start(&["--rate-window", "1s"]);
    let target = dir.path().join("staging.yaml");
    std::fs::write(
        &target,
        format!(
            "name: staging\nbase_url: {}\nrole: partner\nneeds: [read, \"write:transactions\", \"write:rewards\"]\n",
            mock.url
        ),
    )
    .unwrap();
    let mut env = mock.staging_env();
    // A stale second name for the integration's key: an alias, not a NO-GO.
    env.push(("LAUNCHGATE_POS_KEY".into(), mock.key("partner_pos")));
    let r = run(
        dir.path(),
        &[
            "-q",
            "--target",
            target.to_str().unwrap(),
            "--referee",
            referee.to_str().unwrap(),
        ],
        &env,
    );
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    for (report, says) in r.decisions() {
        assert!(says == "GO" || says == "go", "{report} says {says:?}");
    }
    assert_eq!(r.junit_decision().unwrap().0, "passed");
    let list = r.json("checklist.json");
    for item in list["items"].as_array().unwrap() {
        assert_eq!(item["verdict"], "verified", "{item}");
    }
    let notes = list["notes"].to_string();
    assert!(
        notes.contains("`pos`") && notes.contains("alias"),
        "{notes}"
    );
    // The mock-only cases do not apply to a real target and do not hold GO back.
    let report = r.json("report.json");
    assert!(
        report["not_applicable"]
            .as_array()
            .is_some_and(|a| a.len() >= 6),
        "{}",
        report["not_applicable"]
    );
    let md = r.read("checklist.md");
    assert!(md.contains("## For sign-off"), "{md}");
    assert!(md.contains("never in browser code or mobile apps"), "{md}");
}

#[test]
fn two_cases_sharing_one_key_for_two_purposes_are_no_go() {
    let mock = Standalone::start(&["--rate-window", "1s"]);
    let dir = tempfile::tempdir().unwrap();
    let env = [
        (
            "LAUNCHGATE_PARTNER_KEY".to_string(),
            mock.key("partner_pos"),
        ),
        // The read-only case would then prove nothing about scopes.
        (
            "LAUNCHGATE_PARTNER_READONLY_KEY".to_string(),
            mock.key("partner_pos"),
        ),
    ];
    let r = run(
        dir.path(),
        &["-q", "--target", &mock.url, "-k", "scopes"],
        &env,
    );
    let list = r.json("checklist.json");
    assert_eq!(list["decision"], "no_go", "{}", r.stdout);
    let item = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == "separate-keys")
        .unwrap();
    assert_eq!(item["verdict"], "failed");
    assert!(
        item["summary"]
            .as_str()
            .unwrap()
            .contains("`partner` and `partner_readonly` are the same key"),
        "{item}"
    );
    assert_eq!(r.code, 1, "{}", r.stdout);
}
