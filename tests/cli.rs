//! End-to-end tests of the real `launchgate` binary over loopback.

use crate::common;

use std::path::{Path, PathBuf};

use base64::Engine;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use common::reports;
use common::{bin, write};

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
    junit: String,
    json: String,
}

fn run_in(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Out {
    let ran = reports::run_in(dir)
        .args(args)
        .reports(&[("--snapshots", "snapshots")])
        .envs(env.iter().copied())
        .output();
    Out {
        code: ran.out.code,
        junit: ran.text("junit.xml"),
        json: ran.text("report.json"),
        stdout: ran.out.stdout,
        stderr: ran.out.stderr,
    }
}

/// Parsed JUnit: (cases, failures, errors, skipped) from the document itself.
fn junit_counts(xml: &str) -> (usize, usize, usize, usize) {
    let doc = roxmltree::Document::parse(xml).expect("JUnit is well-formed XML");
    let cases: Vec<_> = doc
        .descendants()
        .filter(|n| n.has_tag_name("testcase"))
        .collect();
    let count = |tag: &str| {
        cases
            .iter()
            .filter(|c| c.children().any(|ch| ch.has_tag_name(tag)))
            .count()
    };
    (
        cases.len(),
        count("failure"),
        count("error"),
        count("skipped"),
    )
}

#[test]
fn default_run_passes_the_builtin_suite_against_the_mock() {
    let dir = tempfile::tempdir().unwrap();
    let o = run_in(dir.path(), &[], &[]);
    assert_eq!(o.code, 0, "stdout:\n{}\nstderr:\n{}", o.stdout, o.stderr);
    let (cases, failures, errors, skipped) = junit_counts(&o.junit);
    assert!(cases >= 40, "{cases} cases");
    assert_eq!((failures, errors, skipped), (0, 0, 0));
    assert!(o.stdout.contains("launchgate: "), "{}", o.stdout);
    let report: serde_json::Value = serde_json::from_str(&o.json).unwrap();
    assert_eq!(report["target"]["kind"], "mock");
    // Every suite has a name, a timestamp, a hostname and a time (dorny, Ant, Jenkins need them).
    let doc = roxmltree::Document::parse(&o.junit).unwrap();
    for s in doc.descendants().filter(|n| n.has_tag_name("testsuite")) {
        for attr in [
            "name",
            "tests",
            "failures",
            "errors",
            "time",
            "timestamp",
            "hostname",
        ] {
            assert!(s.attribute(attr).is_some(), "testsuite lacks {attr}");
        }
    }
    for c in doc.descendants().filter(|n| n.has_tag_name("testcase")) {
        assert!(c
            .attribute("classname")
            .is_some_and(|v| v.starts_with("agent-api.")));
        assert!(c.attribute("file").is_some() && c.attribute("line").is_some());
    }
}

#[test]
fn malformed_scenario_is_a_usage_error_with_file_line_col() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(
        dir.path(),
        "bad.yaml",
        "cases:\n  - name: a\n    steps:\n      - request: {path: /health}\n        expect:\n          stauts: 200\n",
    );
    let o = run_in(dir.path(), &[f.to_str().unwrap()], &[]);
    assert_eq!(o.code, 2, "{}", o.stderr);
    assert!(o.stderr.contains("bad.yaml:6:11"), "{}", o.stderr);
    assert!(o.stderr.contains("did you mean `status`?"), "{}", o.stderr);
    assert!(o.junit.is_empty(), "nothing runs, so no report");

    let c = bin().arg("check").arg(&f).output().unwrap();
    assert_eq!(c.status.code(), Some(2));
}

#[test]
fn a_malformed_pages_step_is_refused_with_its_location() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(
        dir.path(),
        "pages.yaml",
        "cases:\n  - name: walk\n    steps:\n      - request: {path: /x}\n        pages: {max: 0, items: \"$.data[*]\"}\n        parallel: 2\n        capture:\n          d: {json: $.x, regex: '(unclosed'}\n",
    );
    let o = bin().arg("check").arg(&f).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    for want in [
        "pages.max is 0",
        "pages.items `$.data[*]` must name a top-level member",
        "`pages:` cannot be combined with `parallel:`",
        "capture regex",
        "pages.yaml:5:",
    ] {
        assert!(err.contains(want), "missing {want:?} in {err}");
    }
}

#[test]
fn check_accepts_the_shipped_scenarios() {
    let o = bin().arg("check").arg("scenarios").output().unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

#[test]
fn unreachable_target_exits_3_and_still_writes_reports() {
    let dir = tempfile::tempdir().unwrap();
    // Port 9 (discard) is closed on loopback: connections are refused at once.
    let o = run_in(
        dir.path(),
        &["--target", "http://127.0.0.1:9"],
        &[(
            "LAUNCHGATE_PARTNER_KEY",
            "rl_agent_0123456789012345678901234567890123456789",
        )],
    );
    assert_eq!(o.code, 3, "{}\n{}", o.stdout, o.stderr);
    let (cases, failures, errors, skipped) = junit_counts(&o.junit);
    // Every case that sent a request errored; the one failure is the launch decision (NO-GO).
    assert!(
        cases > 0 && errors > 0 && failures == 1,
        "{cases} {errors} {skipped}"
    );
    assert!(o.junit.contains("message=\"NO-GO"), "{}", o.junit);
    assert!(o.stderr.contains("never answered"));
}

#[test]
fn failing_expectation_exits_1_with_junit_failure_and_location() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(
        dir.path(),
        "wrong.yaml",
        r#"base_path: /api/agent/v1
cases:
  - name: expects the wrong status
    steps:
      - request:
          path: /health
          headers: {X-Agent-Key: "{{ keys.integration }}"}
        expect:
          status: 418
          json:
            $.data.status: ok
"#,
    );
    let o = run_in(dir.path(), &[f.to_str().unwrap()], &[]);
    assert_eq!(o.code, 1, "{}", o.stdout);
    let doc = roxmltree::Document::parse(&o.junit).unwrap();
    let failure = doc
        .descendants()
        .find(|n| n.has_tag_name("failure"))
        .expect("a <failure>");
    assert_eq!(
        failure.attribute("message"),
        Some("status: expected 418, got 200")
    );
    let text = failure.text().unwrap_or_default();
    assert!(text.contains("wrong.yaml:9:19"), "{text}");
    assert!(text.contains("HTTP 200"), "response excerpt: {text}");
    assert!(
        o.stdout.contains("wrong.yaml:9:19"),
        "console shows the location: {}",
        o.stdout
    );
    // The mock's fixture key is still a key: never shown.
    assert!(
        !o.junit.contains("rl_agent_rMwKx9v0Y"),
        "key leaked into JUnit"
    );
    assert!(
        !o.stdout.contains("rl_agent_rMwKx9v0Y"),
        "key leaked into stdout"
    );
}

const CANARY: &str = "rl_agent_CANARYzz0123456789abcdefghijklmnopqrstuv";

#[tokio::test(flavor = "multi_thread")]
async fn a_hostile_echo_server_cannot_leak_the_key() {
    let server = MockServer::start().await;
    let b64 = base64::engine::general_purpose::STANDARD.encode(CANARY);
    // Echo the key back in a header, the body, base64 and URL-encoded.
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(500)
                .insert_header("x-echo", CANARY)
                .insert_header("authorization", format!("Bearer {CANARY}"))
                .set_body_string(format!(
                    "{{\"you_sent\": \"{CANARY}\", \"b64\": \"{b64}\"}}"
                )),
        )
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let f = write(
        dir.path(),
        "echo.yaml",
        r#"cases:
  - name: echo
    steps:
      - request:
          path: /echo
          headers: {X-Agent-Key: "{{ keys.partner }}"}
          query: {k: "{{ keys.partner }}"}
        expect:
          status: 200
          json:
            $.you_sent: "{{ keys.partner }}"
"#,
    );
    let uri = server.uri();
    let path = dir.path().to_path_buf();
    let f = f.to_str().unwrap().to_string();
    let o = tokio::task::spawn_blocking(move || {
        run_in(
            &path,
            &["--target", &uri, &f],
            &[("LAUNCHGATE_PARTNER_KEY", CANARY)],
        )
    })
    .await
    .unwrap();
    assert_eq!(o.code, 1, "{}\n{}", o.stdout, o.stderr);
    let canary_forms = [
        CANARY.to_string(),
        b64.clone(),
        b64.trim_end_matches('=').to_string(),
    ];
    for (what, text) in [
        ("stdout", &o.stdout),
        ("stderr", &o.stderr),
        ("junit", &o.junit),
        ("json", &o.json),
    ] {
        for form in &canary_forms {
            assert!(
                !text.contains(form.as_str()),
                "{what} leaked {form}:\n{text}"
            );
        }
    }
    assert!(
        o.junit.contains("rl_agent_***"),
        "the redaction marker shows where the key was"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn http_429_is_honoured_with_retry_after() {
    let server = MockServer::start().await;
    Mock::given(path("/slow"))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "1"))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(path("/slow"))
        .respond_with(ResponseTemplate::new(200).set_body_string("{\"ok\":true}"))
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let f = write(
        dir.path(),
        "slow.yaml",
        "cases:\n  - name: slow\n    steps:\n      - request: {path: /slow}\n        expect: {status: 200, json: {$.ok: true}}\n",
    );
    let uri = server.uri();
    let path = dir.path().to_path_buf();
    let f = f.to_str().unwrap().to_string();
    let o = tokio::task::spawn_blocking(move || run_in(&path, &["--target", &uri, &f], &[]))
        .await
        .unwrap();
    assert_eq!(o.code, 0, "{}\n{}", o.stdout, o.stderr);
    assert!(
        o.stderr.contains("honouring Retry-After 1s"),
        "{}",
        o.stderr
    );
    assert!(
        o.json.contains("honouring Retry-After"),
        "the note is in the report"
    );
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
}

#[test]
fn real_target_skips_writes_and_missing_inputs_with_reasons() {
    let dir = tempfile::tempdir().unwrap();
    let o = run_in(
        dir.path(),
        &[
            "--target",
            "http://127.0.0.1:9",
            "--fail-on-skip",
            "-k",
            "idempotency",
        ],
        &[],
    );
    // Both cases run only against the mock: not applicable, not skipped (issue 18).
    // Nothing ran, so --fail-on-skip still makes it 4.
    assert_eq!(o.code, 4, "{}\n{}", o.stdout, o.stderr);
    assert!(o.stderr.contains("no case ran"), "{}", o.stderr);
    assert!(!o.junit.contains("<skipped"), "{}", o.junit);
    let json: serde_json::Value = serde_json::from_str(&o.json).unwrap();
    let na = json["not_applicable"].as_array().unwrap();
    assert_eq!(na.len(), 2, "{json}");
    assert!(na
        .iter()
        .all(|c| c["reason"].as_str().unwrap().contains("embedded mock")));
    assert!(o.stdout.contains("2 not applicable"), "{}", o.stdout);

    let o = run_in(
        dir.path(),
        &[
            "--target",
            "http://127.0.0.1:9",
            "-k",
            "rate limit exceeded",
        ],
        &[],
    );
    // Skips pass no case, and leave a required launch-time test unverified: the
    // launch decision is INCOMPLETE, which a real target turns into exit 4 ...
    assert_eq!(o.code, 4, "{}", o.stderr);
    assert!(o.stdout.contains("decision: INCOMPLETE"), "{}", o.stdout);
    let o = run_in(
        dir.path(),
        &[
            "--target",
            "http://127.0.0.1:9",
            "-k",
            "rate limit exceeded",
            "--allow-incomplete",
        ],
        &[],
    );
    // ... unless a partial check is accepted explicitly.
    assert_eq!(o.code, 0, "skips alone pass: {}", o.stderr);
    assert!(
        o.junit
            .contains("missing key `ratelimit` (set LAUNCHGATE_RATELIMIT_KEY)"),
        "{}",
        o.junit
    );
}

#[test]
fn keys_in_target_files_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let t = write(
        dir.path(),
        "staging.yaml",
        &format!("base_url: https://staging.example.com\nkeys:\n  partner: {CANARY}\n"),
    );
    let o = run_in(dir.path(), &["--target", t.to_str().unwrap()], &[]);
    assert_eq!(o.code, 2);
    assert!(o.stderr.contains("holds only the NAMES"), "{}", o.stderr);
    assert!(!o.stderr.contains(CANARY));
}

#[test]
fn secrets_file_provides_keys_and_stays_secret() {
    let dir = tempfile::tempdir().unwrap();
    let secrets = write(
        dir.path(),
        "staging.env",
        &format!("LAUNCHGATE_PARTNER_KEY={CANARY}\n"),
    );
    let o = run_in(
        dir.path(),
        &[
            "--target",
            "http://127.0.0.1:9",
            "--secrets",
            secrets.to_str().unwrap(),
            "-k",
            "feature flag",
        ],
        &[],
    );
    assert_eq!(
        o.code, 3,
        "the case ran (the key was found) and the target is down: {}",
        o.stderr
    );
    assert!(!o.junit.contains(CANARY) && !o.stdout.contains(CANARY) && !o.stderr.contains(CANARY));
}

#[test]
fn list_filter_and_partition() {
    let o = bin().args(["run", "--list"]).output().unwrap();
    let all = String::from_utf8_lossy(&o.stdout)
        .lines()
        .filter(|l| l.ends_with(": test"))
        .count();
    assert!(all >= 40, "{all}");
    let mut sum = 0;
    for k in 1..=3 {
        let o = bin()
            .args(["run", "--list", "--partition", &format!("{k}/3")])
            .output()
            .unwrap();
        sum += String::from_utf8_lossy(&o.stdout)
            .lines()
            .filter(|l| l.ends_with(": test"))
            .count();
    }
    assert_eq!(sum, all, "the shards cover every case exactly once");
    let o = bin().args(["run", "--partition", "4/3"]).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn strict_profile_is_valid_against_the_xunit_schema() {
    let dir = tempfile::tempdir().unwrap();
    // A mix of outcomes: pass, fail, skip.
    let f = write(
        dir.path(),
        "mixed.yaml",
        r#"base_path: /api/agent/v1
cases:
  - name: passes
    steps:
      - request: {path: /health}
        expect: {status: 401}
  - name: fails
    steps:
      - request: {path: /health}
        expect: {status: 200}
  - name: skipped
    requires: {keys: [nope]}
    steps:
      - request: {path: /health}
"#,
    );
    let o = run_in(
        dir.path(),
        &["--junit-profile", "strict", f.to_str().unwrap()],
        &[],
    );
    assert_eq!(o.code, 1);
    let doc = roxmltree::Document::parse(&o.junit).unwrap();
    for c in doc.descendants().filter(|n| n.has_tag_name("testcase")) {
        let attrs: Vec<&str> = c.attributes().map(|a| a.name()).collect();
        assert!(
            attrs
                .iter()
                .all(|a| ["name", "classname", "time"].contains(a)),
            "{attrs:?}"
        );
    }
    let root = doc.root_element();
    assert!(root.attribute("skipped").is_none());
    let failure = doc
        .descendants()
        .find(|n| n.has_tag_name("failure"))
        .unwrap();
    assert!(failure
        .attribute("message")
        .unwrap()
        .starts_with(&format!("{}:10:", f.display())));
    reports::assert_valid_against_the_xunit_schema(&dir.path().join("junit.xml"));
}

#[test]
fn a_checklist_named_like_the_json_report_does_not_overwrite_it() {
    let dir = tempfile::tempdir().unwrap();
    let md = dir.path().join("report.md");
    let o = run_in(
        dir.path(),
        &["-k", "feature flag", "--checklist", md.to_str().unwrap()],
        &[],
    );
    assert_eq!(o.code, 0, "{}", o.stderr);
    let report: serde_json::Value = serde_json::from_str(&o.json).unwrap();
    assert!(
        report["suites"].is_array(),
        "report.json is still the run report"
    );
    assert!(dir.path().join("report-checklist.json").exists());
}

// ---------------------------------------------------------------------------
// Hardening II (issue 17)

/// Every `<testcase>` name in a JUnit document.
fn junit_case_names(xml: &str) -> Vec<String> {
    let doc = roxmltree::Document::parse(xml).expect("JUnit is well-formed XML");
    doc.descendants()
        .filter(|n| n.has_tag_name("testcase"))
        .map(|n| n.attribute("name").unwrap_or_default().to_string())
        .collect()
}

#[test]
fn check_refuses_an_absurd_wait_with_file_line_col() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(
        dir.path(),
        "wait.yaml",
        "cases:\n  - name: long wait\n    steps:\n      - wait: 1e300\n        request: {path: /x}\n",
    );
    let o = bin().arg("check").arg(&f).output().unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(stderr.contains("wait.yaml:4:15"), "{stderr}");
    assert!(stderr.contains("longest wait"), "{stderr}");
}

#[test]
fn a_panic_inside_a_case_is_an_errored_case_in_every_report() {
    let dir = tempfile::tempdir().unwrap();
    let html = dir.path().join("report.html");
    let victim = "agent-api.snapshots::health shape";
    let o = run_in(
        dir.path(),
        &[
            "-k",
            "agent-api.snapshots::",
            "--html",
            html.to_str().unwrap(),
        ],
        &[("LAUNCHGATE_TEST_PANIC_CASE", victim)],
    );
    assert_eq!(o.code, 1, "stdout:\n{}\nstderr:\n{}", o.stdout, o.stderr);
    let names = junit_case_names(&o.junit);
    assert_eq!(
        names.len(),
        4,
        "every planned case is in the JUnit: {names:?}"
    );
    assert!(names.iter().any(|n| n == "health shape"), "{names:?}");
    let (_, _, errors, _) = junit_counts(&o.junit);
    assert_eq!(errors, 1, "{}", o.junit);
    assert!(
        o.junit.contains("injected by LAUNCHGATE_TEST_PANIC_CASE"),
        "{}",
        o.junit
    );
    let json: serde_json::Value = serde_json::from_str(&o.json).unwrap();
    let cases: Vec<&serde_json::Value> = json["suites"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["cases"].as_array().unwrap())
        .collect();
    assert_eq!(cases.len(), 4);
    let victim_case = cases
        .iter()
        .find(|c| c["id"] == victim)
        .expect("in the JSON");
    assert_eq!(victim_case["outcome"], "errored");
    assert!(victim_case["failure"]["message"]
        .as_str()
        .unwrap()
        .contains("panicked"));
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(
        page.contains("injected by LAUNCHGATE_TEST_PANIC_CASE"),
        "HTML shows it"
    );
    assert!(o.stdout.contains("1 errored"), "{}", o.stdout);
}

#[test]
fn a_filter_that_selects_nothing_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    for extra in [&[][..], &["--fail-on-skip"][..], &["--list"][..]] {
        let mut args = vec!["-k", "no-such-case-typo"];
        args.extend_from_slice(extra);
        let o = run_in(dir.path(), &args, &[]);
        assert_eq!(o.code, 2, "{extra:?}: {}", o.stderr);
        assert!(o.stderr.contains("selects none"), "{}", o.stderr);
    }
    let o = run_in(dir.path(), &["--skip", "agent-api"], &[]);
    assert_eq!(o.code, 2, "{}", o.stderr);
}

/// One symlink loop made the loader read a file 41 times; two loops never finished.
/// Each directory is now walked once per canonical path, and a link out of the tree
/// is not followed, with a note saying so.
#[cfg(unix)]
#[test]
fn symlink_loops_in_a_scenario_directory_are_walked_once() {
    use std::os::unix::fs::symlink;
    let dir = tempfile::tempdir().unwrap();
    let tree = dir.path().join("tree");
    let outside = dir.path().join("outside");
    std::fs::create_dir_all(tree.join("a/b")).unwrap();
    std::fs::create_dir_all(&outside).unwrap();
    let case = "cases:\n  - name: a\n    steps:\n      - request: {path: /x}\n";
    write(&tree.join("a"), "one.yaml", case);
    write(&outside, "secret-suite.yaml", case);
    symlink(&tree, tree.join("loop")).unwrap();
    symlink("..", tree.join("a/b/up")).unwrap();
    symlink(tree.join("a"), tree.join("again")).unwrap();
    symlink(tree.join("a/one.yaml"), tree.join("same.yaml")).unwrap();
    symlink(&outside, tree.join("a/out")).unwrap();
    let o = bin()
        .arg("check")
        .arg(&tree)
        .timeout(std::time::Duration::from_secs(60))
        .output()
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr),
    );
    assert_eq!(o.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(stdout.contains("1 file OK, 1 cases"), "{stdout}");
    assert!(
        stderr.contains("outside") && stderr.contains("not followed"),
        "{stderr}"
    );
    assert!(stderr.contains("already searched"), "{stderr}");
}

/// Configuration mistakes never print a key or a password: a mistyped `--secrets`
/// line, credentials in a base URL (any scheme), a key too short to redact, a key
/// written with YAML escapes in a scenario.
#[test]
fn configuration_errors_never_echo_a_secret() {
    let dir = tempfile::tempdir().unwrap();
    let leak = "hunter2Zq9secret";
    let secrets = write(
        dir.path(),
        "typo.env",
        &format!("LAUNCHGATE_PARTNER_KEY {leak}=x\n"),
    );
    type Args = Vec<String>;
    type Env<'a> = Vec<(&'a str, String)>;
    let cases: Vec<(Args, Env)> = vec![
        (
            vec![
                "--target".into(),
                "http://127.0.0.1:9".into(),
                "--secrets".into(),
                secrets.display().to_string(),
            ],
            vec![],
        ),
        (
            vec!["--target".into(), format!("ftp://user:{leak}@ftp.example/")],
            vec![],
        ),
        (
            vec![
                "--target".into(),
                format!("https://user:{leak}@staging.example/"),
            ],
            vec![],
        ),
        (
            vec!["--target".into(), format!("https://staging example/{leak}")],
            vec![],
        ),
        (
            vec!["--target".into(), "http://127.0.0.1:9".into()],
            vec![("LAUNCHGATE_PARTNER_KEY", "hunt".to_string())],
        ),
    ];
    for (args, env) in cases {
        let mut c = bin();
        c.arg("run").args(&args);
        for (k, v) in &env {
            c.env(k, v);
        }
        let o = c.current_dir(dir.path()).output().unwrap();
        let out = format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        assert_eq!(o.status.code(), Some(2), "{args:?}: {out}");
        assert!(
            !out.contains(leak) && !out.contains("hunt\n") && !out.contains("`hunt`"),
            "{args:?}: {out}"
        );
    }
    let escaped = write(
        dir.path(),
        "escaped.yaml",
        &format!(
            "cases:\n  - name: a\n    steps:\n      - request:\n          path: /x\n          headers: {{X-Agent-Key: \"\\x72l_agent_{}\"}}\n",
            "Zq9".repeat(13) + "k"
        ),
    );
    let o = bin().arg("check").arg(&escaped).output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("looks like an API key") && err.contains("escaped.yaml:6"),
        "{err}"
    );
    assert!(!err.contains("Zq9Zq9"), "{err}");
}

/// `launchgate run | grep -q …` closes stdout early: every case still runs, every
/// report is written, and nothing panics.
#[test]
fn a_closed_stdout_neither_panics_nor_loses_reports() {
    let dir = tempfile::tempdir().unwrap();
    let junit = dir.path().join("junit.xml");
    let mut child = common::process()
        .args(["run", "-k", "agent-api.auth"])
        .arg("--junit")
        .arg(&junit)
        .arg("--json")
        .arg(dir.path().join("report.json"))
        .arg("--checklist")
        .arg(dir.path().join("checklist.md"))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take()); // the reader is gone before the first line
    let o = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    let names = junit_case_names(&std::fs::read_to_string(&junit).unwrap());
    assert!(names.len() >= 3, "{names:?}");
}

/// `launchgate mock | head -1` must not stop the mock.
#[test]
fn the_mock_keeps_serving_when_its_stdout_closes() {
    let port = common::tcp::free_port();
    let mut child = common::process()
        .args(["mock", "--port", &port.to_string()])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let mut answered = false;
    for _ in 0..200 {
        if let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) {
            use std::io::{Read, Write};
            let _ = write!(s, "GET /api/agent/v1/health HTTP/1.0\r\n\r\n");
            let mut text = String::new();
            let _ = s.read_to_string(&mut text);
            answered = text.starts_with("HTTP/1.");
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let alive = child.try_wait().unwrap().is_none();
    let _ = child.kill();
    let _ = child.wait();
    assert!(answered && alive, "answered: {answered}, alive: {alive}");
}

/// Stale reports of an earlier run never sit beside a fresh run's: a run without
/// checklist evidence removes the earlier checklist (and says it wrote none), and
/// reports get the usual permissions.
#[test]
fn a_run_removes_every_stale_report_it_owns() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let checklist = d.join("checklist.md");
    let scorecard = d.join("scorecard.md");
    let run = |args: &[&str]| {
        let o = bin()
            .arg("run")
            .args(args)
            .arg("--junit")
            .arg(d.join("junit.xml"))
            .arg("--json")
            .arg(d.join("report.json"))
            .arg("--checklist")
            .arg(&checklist)
            .arg("--scorecard")
            .arg(&scorecard)
            .output()
            .unwrap();
        (
            o.status.code(),
            String::from_utf8_lossy(&o.stdout).into_owned(),
        )
    };
    let (code, _) = run(&["-k", "agent-api.auth"]);
    assert_eq!(code, Some(0));
    assert!(checklist.exists() && d.join("checklist.json").exists());
    for stale in ["scorecard.md", "scorecard.json", "scorecard-junit.xml"] {
        std::fs::write(d.join(stale), "stale").unwrap();
    }
    let plain = write(
        d,
        "plain.yaml",
        "cases:\n  - name: health\n    steps:\n      - request: {path: /api/agent/v1/health}\n        expect: {status: 401}\n",
    );
    let (code, stdout) = run(&[plain.to_str().unwrap()]);
    assert_eq!(code, Some(0), "{stdout}");
    assert!(stdout.contains("checklist: not written"), "{stdout}");
    for gone in [
        "checklist.md",
        "checklist.json",
        "scorecard.md",
        "scorecard.json",
        "scorecard-junit.xml",
    ] {
        assert!(!d.join(gone).exists(), "{gone} survived beside a fresh run");
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let umask = std::fs::read_to_string("/proc/self/status")
            .ok()
            .and_then(|s| {
                s.lines()
                    .find_map(|l| l.strip_prefix("Umask:"))
                    .and_then(|u| u32::from_str_radix(u.trim(), 8).ok())
            })
            .unwrap_or(0o022);
        let mode = std::fs::metadata(d.join("junit.xml"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o666 & !umask, "reports get the usual permissions");
    }
}

/// SIGINT (or SIGTERM) mid-run: the reports are written, every case listed, the one
/// that was running and those not started errored as interrupted; stale reports of
/// an earlier run are gone; exit 130.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread")]
async fn an_interrupted_run_writes_reports_marking_unfinished_cases() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/slow"))
        .respond_with(ResponseTemplate::new(200).set_delay(std::time::Duration::from_secs(60)))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/fast"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_path_buf();
    let f = write(
        &d,
        "slow.yaml",
        "cases:\n  - name: fast\n    steps:\n      - request: {path: /fast}\n        expect: {status: 200}\n  - name: slow\n    steps:\n      - request: {path: /slow, timeout: 90s}\n        expect: {status: 200}\n  - name: after\n    steps:\n      - request: {path: /fast}\n",
    );
    let html = d.join("report.html");
    for (p, stale) in [
        ("junit.xml", "stale"),
        ("checklist.md", "stale GO"),
        ("report.html", "stale"),
    ] {
        std::fs::write(d.join(p), stale).unwrap();
    }
    for signal in ["-INT", "-TERM"] {
        let child = common::process()
            .arg("run")
            .arg(&f)
            .args(["--target", &server.uri(), "--jobs", "1", "--timeout", "90s"])
            .arg("--junit")
            .arg(d.join("junit.xml"))
            .arg("--json")
            .arg(d.join("report.json"))
            .arg("--checklist")
            .arg(d.join("checklist.md"))
            .arg("--html")
            .arg(&html)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        // Wait until the slow request is in flight.
        for _ in 0..400 {
            let reqs = server.received_requests().await.unwrap_or_default();
            if reqs.iter().any(|r| r.url.path() == "/slow") {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
        let status = std::process::Command::new("kill")
            .args([signal, &child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let o = tokio::task::spawn_blocking(move || child.wait_with_output())
            .await
            .unwrap()
            .unwrap();
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(130), "{signal}: {stderr}");
        let junit = std::fs::read_to_string(d.join("junit.xml")).unwrap();
        assert_eq!(
            junit_case_names(&junit),
            ["fast", "slow", "after"],
            "{junit}"
        );
        let json: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(d.join("report.json")).unwrap()).unwrap();
        let cases = json["suites"][0]["cases"].as_array().unwrap();
        assert_eq!(cases[0]["outcome"], "passed");
        for c in &cases[1..] {
            assert_eq!(c["outcome"], "errored", "{c}");
            assert!(
                c["failure"]["message"]
                    .as_str()
                    .unwrap()
                    .contains("interrupted"),
                "{c}"
            );
        }
        assert!(
            !d.join("checklist.md").exists(),
            "the stale checklist is gone"
        );
        assert!(std::fs::read_to_string(&html)
            .unwrap()
            .contains("interrupted"));
        server.reset().await;
        Mock::given(method("GET"))
            .and(path("/slow"))
            .respond_with(ResponseTemplate::new(200).set_delay(std::time::Duration::from_secs(60)))
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path("/fast"))
            .respond_with(ResponseTemplate::new(200))
            .mount(&server)
            .await;
    }
}

/// `suite: ../../..` (or an absolute name) became a directory under --snapshots and
/// wrote outside it; suite names are now plain names, and `::` cannot make two case
/// ids collide.
#[test]
fn suite_and_case_names_cannot_escape_or_collide() {
    let dir = tempfile::tempdir().unwrap();
    // Reports and snapshots go under a/b/c; `../../..` from its snapshots/ is `a/`.
    let work = dir.path().join("a/b/c");
    std::fs::create_dir_all(&work).unwrap();
    let case = "cases:\n  - name: x\n    steps:\n      - request: {path: /api/agent/v1/health}\n        snapshot: escaped\n";
    for suite in ["../../..", "/tmp/launchgate-escape", "..", "a/b", "s::t"] {
        let f = write(&work, "s.yaml", &format!("suite: \"{suite}\"\n{case}"));
        let o = run_in(&work, &[f.to_str().unwrap(), "--update-snapshots"], &[]);
        assert_eq!(o.code, 2, "{suite}: {}", o.stderr);
        assert!(o.stderr.contains("suite name"), "{}", o.stderr);
    }
    let written: Vec<_> = files_named(dir.path(), "escaped.json");
    assert!(written.is_empty(), "{written:?}");
    assert!(!Path::new("/tmp/launchgate-escape").exists());
    let f = write(
        dir.path(),
        "c.yaml",
        "cases:\n  - name: \"a::b\"\n    steps:\n      - request: {path: /x}\n",
    );
    let o = bin().arg("check").arg(&f).output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("cannot contain `::`"), "{err}");
}

fn files_named(dir: &Path, name: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(files_named(&p, name));
        } else if p.file_name().is_some_and(|n| n == name) {
            out.push(p);
        }
    }
    out
}

/// `--timeout 0s`, `--deadline 0s`, `--jobs 0` and `--jobs 1000000` are usage errors.
#[test]
fn absurd_run_options_are_usage_errors() {
    for args in [
        &["--timeout", "0s"][..],
        &["--deadline", "0ms"],
        &["--jobs", "0"],
        &["--jobs", "1000000"],
    ] {
        let o = bin().arg("run").args(args).output().unwrap();
        assert_eq!(o.status.code(), Some(2), "{args:?}");
    }
}

/// A diagnostic in a huge single-line file shows a window of the line, not all of it;
/// a file beyond the size cap is refused without being parsed.
#[test]
fn huge_single_line_files_are_not_printed_whole() {
    let dir = tempfile::tempdir().unwrap();
    let filler = "x".repeat(1_000_000);
    let f = write(
        dir.path(),
        "wide.yaml",
        &format!(
            "{{cases: [{{name: a, steps: [{{request: {{path: /x, note: \"{filler}\"}}}}]}}]}}\n"
        ),
    );
    let o = bin().arg("check").arg(&f).output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{}", &err[..err.len().min(2000)]);
    assert!(
        err.contains("unknown field `note`"),
        "{}",
        &err[..err.len().min(2000)]
    );
    assert!(err.len() < 4000, "{} bytes of diagnostics", err.len());
    let big = dir.path().join("big.yaml");
    std::fs::write(&big, format!("# {}\n", "y".repeat(9 * 1024 * 1024))).unwrap();
    let o = bin().arg("check").arg(&big).output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2));
    assert!(err.contains("at most") && err.len() < 2000, "{err}");
}

/// The small commands print through the same closed-pipe-proof stdout as `run`:
/// `launchgate webhook sign FILE | head -c0` and friends exit as they would with a
/// reader, never with a panic (exit 101).
#[test]
fn small_commands_survive_a_closed_stdout() {
    let dir = tempfile::tempdir().unwrap();
    let body = write(dir.path(), "body.json", "{\"event\":\"order.fulfilled\"}");
    let run = |args: &[&str], env: &[(&str, &str)]| {
        let mut child = common::process()
            .args(args)
            .envs(env.iter().copied())
            .current_dir(dir.path())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take()); // the reader is gone before the first line
        let o = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&o.stderr).into_owned();
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        (o.status.code(), stderr)
    };
    let body = body.to_str().unwrap();
    let sign = ["webhook", "--secret-env", "LG_TEST_SECRET", "sign", body];
    assert_eq!(run(&sign, &[("LG_TEST_SECRET", "s3cr3t-value")]).0, Some(0));
    assert_eq!(run(&["init", "--dir", "."], &[]).0, Some(0));
    // A saved run's checklist, printed to the closed stdout.
    assert_eq!(run(&["run", "-k", "agent-api.auth", "-q"], &[]).0, Some(0));
    let (code, stderr) = run(&["checklist", "--allow-incomplete"], &[]);
    assert_eq!(code, Some(0), "{stderr}");
}
