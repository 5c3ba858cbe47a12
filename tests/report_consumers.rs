//! Every report launchgate writes is read by real consumers after a hostile target
//! sent characters XML 1.0 forbids (NUL, U+FFFE, U+FFFF, lone surrogates escaped in
//! JSON) in bodies and headers: `xmllint` (well-formedness, and the real xUnit schema
//! for the strict profile), `junitparser` and `junit2html` (the Python readers that
//! crashed on such files), and Python's strict JSON parser. Reports are created
//! with the usual permissions (0644 under a default umask).
//!
//! The consumers are installed by `.ci/run` (pinned); locally a missing one is
//! reported and skipped, unless `REQUIRE_REPORT_CONSUMERS=1` (set by `.ci/run`).

use crate::common;

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::bin;
use common::tcp::{path_of, read_head, respond, serve, Ctx, Server};

/// U+FFFE and U+FFFF as UTF-8 bytes, and NUL.
const FFFE: &[u8] = b"\xEF\xBF\xBE";
const FFFF: &[u8] = b"\xEF\xBF\xBF";

/// The headers and body of the answer to `path`: every one carries `X-Evil` with
/// U+FFFE and U+FFFF.
fn answer(path: &str) -> (Vec<(&'static str, &'static str)>, Vec<u8>) {
    let mut headers = vec![
        ("Content-Type", "application/json"),
        ("X-Evil", "a\u{fffe}b\u{ffff}c"),
    ];
    let body = match path {
        // Raw forbidden characters in a body that is not JSON.
        "/raw" => [
            b"raw \0 nul ".as_slice(),
            FFFE,
            b" fffe ",
            FFFF,
            b" ffff \x01\x1b end",
        ]
        .concat(),
        // Valid JSON whose strings decode to forbidden characters.
        "/json" => br#"{"ok": false, "text": "nul \u0000 fffe \ufffe ffff \uffff esc \u001b end"}"#
            .to_vec(),
        // A lone surrogate escaped in JSON (not representable in UTF-8).
        "/lone" => br#"{"ok": false, "lone": "a\ud800b"}"#.to_vec(),
        // NUL in a header value: not HTTP any more.
        "/nul-header" => {
            headers.push(("X-Nul", "a\0b"));
            b"{}".to_vec()
        }
        _ => br#"{"ok": true}"#.to_vec(),
    };
    (headers, body)
}

fn answer_hostile(mut s: TcpStream, ctx: &Ctx) {
    let path = path_of(&read_head(&mut s));
    let (headers, body) = answer(&path);
    respond(&mut s, ctx, "200 OK", &headers, &body);
}

/// A raw-TCP server that answers each path with a hostile response until dropped.
fn hostile() -> Server {
    serve(answer_hostile)
}

const SCENARIO: &str = r#"description: A target that sends what XML 1.0 forbids.
cases:
  - name: raw forbidden characters in the body
    checklist: [error-branches]
    steps:
      - request: {path: /raw}
        expect:
          json:
            $.ok: true
  - name: forbidden characters decoded from JSON strings
    checklist: [error-branches]
    steps:
      - request: {path: /json}
        expect:
          json:
            $.text: "plain"
  - name: a lone surrogate escaped in JSON
    steps:
      - request: {path: /lone}
        expect:
          json:
            $.lone: "ab"
  - name: NUL in a header value
    steps:
      - request: {path: /nul-header}
        expect: {status: 200}
  - name: a guard that cannot hold, quoting the server
    steps:
      - request: {path: /json}
        capture:
          text: {json: $.text}
      - guard:
          - value: "{{ vars.text }}"
            is: "plain"
            because: the server's text must be plain
        request: {path: /ok}
  - name: a warning quoting the server, on a passing case
    steps:
      - request: {path: /json}
        expect: {status: 200}
        warn:
          json:
            $.text: "plain"
          headers:
            X-Evil: "plain"
"#;

/// True for every character XML 1.0 does not allow in a document.
fn forbidden(c: char) -> bool {
    matches!(c, '\u{0}'..='\u{8}' | '\u{b}' | '\u{c}' | '\u{e}'..='\u{1f}' | '\u{fffe}' | '\u{ffff}')
}

/// Character references to forbidden characters (`&#0;`, `&#xFFFE;`): as bad as the raw ones.
fn forbidden_refs(text: &str) -> Vec<String> {
    let re = regex::Regex::new(r"&#(x[0-9a-fA-F]+|[0-9]+);").unwrap();
    re.captures_iter(text)
        .filter(|c| {
            let n = &c[1];
            let v = match n.strip_prefix('x') {
                Some(h) => u32::from_str_radix(h, 16).ok(),
                None => n.parse().ok(),
            };
            v.is_none_or(|v| {
                char::from_u32(v).is_none_or(forbidden) || (0xD800..0xE000).contains(&v)
            })
        })
        .map(|c| c[0].to_string())
        .collect()
}

fn run(dir: &Path, url: &str, profile: &str) -> Vec<PathBuf> {
    let scenario = dir.join("hostile.yaml");
    std::fs::write(&scenario, SCENARIO).unwrap();
    let out = dir.join(profile);
    let o = bin()
        .arg("run")
        .arg(&scenario)
        .args(["--target", url, "--timeout", "2s", "--deadline", "30s"])
        .args(["--junit-profile", profile, "--allow-incomplete"])
        .arg("--junit")
        .arg(out.join("junit.xml"))
        .arg("--json")
        .arg(out.join("report.json"))
        .arg("--checklist")
        .arg(out.join("checklist.md"))
        .arg("--html")
        .arg(out.join("report.html"))
        .timeout(Duration::from_secs(90))
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(1),
        "cases fail, nothing crashes:\n{}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    let files: Vec<PathBuf> = [
        "junit.xml",
        "report.json",
        "checklist.md",
        "checklist.json",
        "report.html",
    ]
    .iter()
    .map(|f| out.join(f))
    .collect();
    for f in &files {
        assert!(f.exists(), "{} was not written", f.display());
    }
    files
}

/// Runs a consumer; `None` when it is not installed (and not required).
fn consumer(program: &str, args: &[&str]) -> Option<std::process::Output> {
    match Command::new(program).args(args).output() {
        Ok(o) => Some(o),
        Err(e) if std::env::var_os("REQUIRE_REPORT_CONSUMERS").is_some() => {
            panic!("{program} is required here (.ci/run installs it): {e}")
        }
        Err(_) => {
            eprintln!("{program} not installed: this consumer is skipped locally");
            None
        }
    }
}

fn python_has(module: &str) -> bool {
    let ok = Command::new("python3")
        .args(["-c", &format!("import {module}")])
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        assert!(
            std::env::var_os("REQUIRE_REPORT_CONSUMERS").is_none(),
            "python3 module {module} is required here (.ci/run installs it)"
        );
        eprintln!("python3 module {module} not installed: skipped locally");
    }
    ok
}

const JUNITPARSER: &str = r#"
import sys
from junitparser import JUnitXml
xml = JUnitXml.fromfile(sys.argv[1])
cases = failures = errors = skipped = 0
for suite in xml:
    for case in suite:
        cases += 1
        for r in case.result:
            kind = type(r).__name__
            failures += kind == "Failure"
            errors += kind == "Error"
            skipped += kind == "Skipped"
            _ = (r.message, r.text)
        _ = (case.name, case.classname, case.time, case.system_out)
print(cases, failures, errors, skipped)
"#;

fn check_with_consumers(files: &[PathBuf], strict: bool) {
    let junit = files[0].to_str().unwrap();
    if let Some(o) = consumer("xmllint", &["--noout", junit]) {
        assert!(
            o.status.success(),
            "xmllint: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
    if strict {
        let xsd = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/junit-10.xsd");
        if let Some(o) = consumer(
            "xmllint",
            &["--noout", "--schema", xsd.to_str().unwrap(), junit],
        ) {
            assert!(
                o.status.success(),
                "xmllint --schema: {}",
                String::from_utf8_lossy(&o.stderr)
            );
        }
    }
    if python_has("junitparser") {
        let o = Command::new("python3")
            .args(["-c", JUNITPARSER, junit])
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "junitparser: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let counts = String::from_utf8_lossy(&o.stdout);
        let n: Vec<usize> = counts
            .split_whitespace()
            .filter_map(|x| x.parse().ok())
            .collect();
        // 6 cases + the launch decision; failures: 3 cases + the NO-GO; one errored (NUL header);
        // one inconclusive (skipped).
        assert_eq!(n, vec![7, 4, 1, 1], "junitparser counted {counts}");
    }
    if python_has("junit2htmlreport") {
        let html = files[0].with_extension("junit2html.html");
        let o = Command::new("python3")
            .args(["-m", "junit2htmlreport", junit, html.to_str().unwrap()])
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "junit2html: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        assert!(html.exists());
    }
    for json in [&files[1], &files[3]] {
        let o = Command::new("python3")
            .args([
                "-c",
                "import json,sys; json.load(open(sys.argv[1], encoding='utf-8'))",
            ])
            .arg(json)
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "{}: {}",
            json.display(),
            String::from_utf8_lossy(&o.stderr)
        );
    }
}

#[test]
fn every_report_survives_forbidden_characters_and_parses_in_real_consumers() {
    let server = hostile();
    let dir = tempfile::tempdir().unwrap();
    for profile in ["generic", "strict"] {
        let files = run(dir.path(), &server.url(), profile);
        for f in &files {
            let text =
                std::fs::read_to_string(f).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
            let bad: Vec<char> = text.chars().filter(|c| forbidden(*c)).collect();
            assert!(
                bad.is_empty(),
                "{}: forbidden characters {bad:?}",
                f.display()
            );
            let refs = forbidden_refs(&text);
            assert!(
                refs.is_empty(),
                "{}: forbidden references {refs:?}",
                f.display()
            );
        }
        // The server's text is still there, its forbidden characters replaced.
        let junit = std::fs::read_to_string(&files[0]).unwrap();
        assert!(junit.contains("fffe"), "{junit}");
        assert!(junit.contains('\u{fffd}'), "replaced, not dropped: {junit}");
        let json = std::fs::read_to_string(&files[1]).unwrap();
        assert!(
            json.contains("ud800"),
            "the lone surrogate's escape is shown as text"
        );
        check_with_consumers(&files, profile == "strict");
    }
}

#[cfg(unix)]
#[test]
fn reports_are_created_readable_by_others_under_the_default_umask() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    // The mode a new file gets is 0666 minus the umask; the test expects the common 022.
    let o = common::command("sh")
        .args(["-c", "umask 022 && exec \"$0\" \"$@\""])
        .arg(common::bin_path())
        .current_dir(dir.path())
        .args([
            "run",
            "-q",
            "-k",
            "invalid key",
            "--html",
            "target/launchgate/report.html",
        ])
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let out = dir.path().join("target/launchgate");
    let mut seen = 0;
    for entry in std::fs::read_dir(&out).unwrap() {
        let p = entry.unwrap().path();
        let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o644, "{} is {mode:o}", p.display());
        seen += 1;
    }
    assert!(seen >= 5, "{seen} reports");
}

/// JUnit as annotators read it: `file`/`line` of the failing expectation, the skip
/// reason as element text, no empty lines for what an errored case never had, and no
/// invented location for cases that live in no file (scorecard, referee).
#[test]
fn junit_locations_skip_texts_and_errors_are_what_consumers_need() {
    let server = hostile();
    let dir = tempfile::tempdir().unwrap();
    let scenario = dir.path().join("s.yaml");
    std::fs::write(
        &scenario,
        "cases:\n  - name: fails further down\n    steps:\n      - request: {path: /ok}\n        expect:\n          status: 200\n          json:\n            $.ok: false\n  - name: skipped for a fixture\n    steps:\n      - request: {path: \"/x/{{ fixtures.nope }}\"}\n  - name: errors before sending\n    steps:\n      - request: {path: \"/x/{{ vars.never_set }}\"}\n",
    )
    .unwrap();
    let junit = dir.path().join("junit.xml");
    let o = bin()
        .arg("run")
        .arg(&scenario)
        .args(["--target", &server.url(), "--json"])
        .arg(dir.path().join("r.json"))
        .arg("--junit")
        .arg(&junit)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    let xml = std::fs::read_to_string(&junit).unwrap();
    let doc = roxmltree::Document::parse(&xml).unwrap();
    let case = |name: &str| {
        doc.descendants()
            .find(|n| n.has_tag_name("testcase") && n.attribute("name") == Some(name))
            .unwrap()
    };
    // `$.ok: false` is on line 8; the case starts on line 2.
    assert_eq!(
        case("fails further down").attribute("line"),
        Some("8"),
        "{xml}"
    );
    let skipped = case("skipped for a fixture")
        .children()
        .find(|c| c.has_tag_name("skipped"))
        .unwrap();
    assert!(
        skipped.text().unwrap_or("").contains("LAUNCHGATE_NOPE"),
        "the reason is element text too: {xml}"
    );
    let error = case("errors before sending")
        .children()
        .find(|c| c.has_tag_name("error"))
        .unwrap();
    let text = error.text().unwrap_or("");
    assert!(text.contains("never_set"), "{text}");
    for line in text.lines() {
        assert!(
            !matches!(line.trim(), "step:" | "request:"),
            "an empty `{line}` line: {text}"
        );
    }

    // Referee verdicts live in no file: no file/line, no `file` property.
    let referee = dir.path().join("referee-junit.xml");
    common::reports::referee_in(dir.path())
        .args(["--for", "30s", "--", "python3"])
        .arg(common::root().join("examples/clients/naive_client.py"))
        .output();
    let xml = std::fs::read_to_string(&referee).unwrap();
    let doc = roxmltree::Document::parse(&xml).unwrap();
    assert!(doc.descendants().any(|n| n.has_tag_name("testcase")));
    for n in doc.descendants().filter(|n| n.has_tag_name("testcase")) {
        assert!(
            n.attribute("file").is_none() && n.attribute("line").is_none(),
            "{xml}"
        );
    }
    assert!(
        !doc.descendants()
            .any(|n| n.attribute("name") == Some("file") || n.attribute("package").is_some()),
        "{xml}"
    );
    assert!(!xml.contains("referee:0"), "{xml}");
    // The real consumers read the verdicts: one case each, and the client's problem
    // if it had one; none errored for the format.
    let cases = doc
        .descendants()
        .filter(|n| n.has_tag_name("testcase"))
        .count();
    if let Some(n) = consumers_read(&referee, false) {
        assert_eq!(n[0], cases, "junitparser counted {n:?}\n{xml}");
        assert!(n[1] > 0, "the naive client fails verdicts: {n:?}");
    }
}

/// The vendor scorecard's JUnit names no file either.
#[test]
fn scorecard_junit_invents_no_location() {
    let dir = tempfile::tempdir().unwrap();
    let o = bin()
        .current_dir(dir.path())
        .args(["run", "-q", "--api", "giftcard"])
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let xml =
        std::fs::read_to_string(dir.path().join("target/launchgate/scorecard-junit.xml")).unwrap();
    let doc = roxmltree::Document::parse(&xml).unwrap();
    let cases: Vec<_> = doc
        .descendants()
        .filter(|n| n.has_tag_name("testcase"))
        .collect();
    assert_eq!(cases.len(), 3, "{xml}");
    for n in cases {
        assert!(
            n.attribute("file").is_none() && n.attribute("line").is_none(),
            "{xml}"
        );
    }
    assert!(
        !xml.contains("vendor-scorecard:0") && !xml.contains("package=\"vendor-scorecard\""),
        "{xml}"
    );
}

/// What the real consumers read in one JUnit file: xmllint (and, for the strict
/// profile, the xUnit schema) accepts it, junit2html renders it, and junitparser's
/// `[cases, failures, errors, skipped]` (`None` when it is not installed locally).
fn consumers_read(junit: &Path, strict: bool) -> Option<Vec<usize>> {
    let path = junit.to_str().unwrap();
    if let Some(o) = consumer("xmllint", &["--noout", path]) {
        assert!(
            o.status.success(),
            "xmllint: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
    if strict {
        let xsd = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/junit-10.xsd");
        if let Some(o) = consumer(
            "xmllint",
            &["--noout", "--schema", xsd.to_str().unwrap(), path],
        ) {
            assert!(
                o.status.success(),
                "xmllint --schema: {}",
                String::from_utf8_lossy(&o.stderr)
            );
        }
    }
    if python_has("junit2htmlreport") {
        let html = junit.with_extension("junit2html.html");
        let o = Command::new("python3")
            .args(["-m", "junit2htmlreport", path, html.to_str().unwrap()])
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "junit2html: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
    if !python_has("junitparser") {
        return None;
    }
    let o = Command::new("python3")
        .args(["-c", JUNITPARSER, path])
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "junitparser: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    Some(
        String::from_utf8_lossy(&o.stdout)
            .split_whitespace()
            .filter_map(|x| x.parse().ok())
            .collect(),
    )
}

const PROBES: &str = r#"cases:
  - name: a probe that passes
    vendor: [idempotency]
    steps:
      - request: {path: /ok}
        expect: {status: 200}
  - name: a probe that fails quoting the server
    vendor: [webhooks]
    steps:
      - request: {path: /json}
        expect:
          json:
            $.text: "plain"
  - name: a probe that could not run
    vendor: [reconciliation]
    steps:
      - request: {path: "/x/{{ fixtures.nope }}"}
"#;

/// The evaluations' JUnit in both profiles, from a hostile server's answers: the
/// scorecard's yes, no and could not tell read by the real consumers as one pass,
/// one failure and one skip (never a pass), valid against the xUnit schema in the
/// strict profile, with nothing XML forbids.
#[test]
fn scorecard_junit_answers_are_read_by_real_consumers() {
    let server = hostile();
    let dir = tempfile::tempdir().unwrap();
    let scenario = dir.path().join("probes.yaml");
    std::fs::write(&scenario, PROBES).unwrap();
    for profile in ["generic", "strict"] {
        let scorecard = dir.path().join(profile).join("scorecard.md");
        let o = bin()
            .arg("run")
            .arg(&scenario)
            .args(["--target", &server.url(), "--junit-profile", profile])
            .arg("--junit")
            .arg(dir.path().join(profile).join("junit.xml"))
            .arg("--json")
            .arg(dir.path().join(profile).join("report.json"))
            .arg("--scorecard")
            .arg(&scorecard)
            .output()
            .unwrap();
        assert_eq!(
            o.status.code(),
            Some(1),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
        let junit = dir.path().join(profile).join("scorecard-junit.xml");
        let xml = std::fs::read_to_string(&junit).unwrap();
        assert!(
            forbidden_refs(&xml).is_empty() && !xml.chars().any(forbidden),
            "{xml}"
        );
        if let Some(n) = consumers_read(&junit, profile == "strict") {
            assert_eq!(
                n,
                vec![3, 1, 0, 1],
                "{profile}: junitparser counted {n:?}\n{xml}"
            );
        }
        let doc = roxmltree::Document::parse(&xml).unwrap();
        let skipped = doc
            .descendants()
            .find(|n| n.has_tag_name("skipped"))
            .unwrap();
        assert_eq!(skipped.attribute("type"), Some("could_not_tell"), "{xml}");
        assert!(
            skipped.text().unwrap_or("").contains("LAUNCHGATE_NOPE"),
            "{xml}"
        );
    }
}
