//! The HTML report: rendered by the real binary for a passing, a failing and a
//! hostile run, parsed with a real HTML parser, and checked for being
//! self-contained, escaped and free of secrets.

use crate::common;

use std::path::{Path, PathBuf};

use base64::Engine;
use scraper::{Html, Selector};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use common::{bin, reports};

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
    html: String,
    json_path: PathBuf,
}

fn run_in(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Run {
    let ran = reports::run_in(dir)
        .args(args)
        .reports(&[
            ("--checklist", "checklist.md"),
            ("--snapshots", "snapshots"),
            ("--html", "report.html"),
        ])
        .envs(env.iter().copied())
        .output();
    Run {
        code: ran.out.code,
        html: ran.text("report.html"),
        json_path: dir.join("report.json"),
        stdout: ran.out.stdout,
        stderr: ran.out.stderr,
    }
}

/// `launchgate checklist --html` from a saved JSON report.
fn checklist_html(dir: &Path, json: &Path) -> (i32, String) {
    let out = dir.join("from-json.html");
    let o = bin()
        .arg("checklist")
        .arg("--report")
        .arg(json)
        .arg("--markdown")
        .arg(dir.join("from-json.md"))
        .arg("--html")
        .arg(&out)
        .output()
        .unwrap();
    (
        o.status.code().unwrap_or(-1),
        std::fs::read_to_string(&out).unwrap_or_default(),
    )
}

fn sel(s: &str) -> Selector {
    Selector::parse(s).expect("valid selector")
}

/// Parses the document and checks what every report must satisfy: a real HTML
/// document with the strict CSP, no script, and no external reference.
fn parse_and_check(html: &str) -> Html {
    assert!(html.starts_with("<!DOCTYPE html>"), "{}", &html[..80]);
    let doc = Html::parse_document(html);
    // Parse errors from html5ever (e.g. stray end tags) mean broken markup.
    assert!(
        doc.errors.is_empty(),
        "HTML parse errors: {:?}",
        &doc.errors[..doc.errors.len().min(5)]
    );
    let csp = doc
        .select(&sel(r#"meta[http-equiv="Content-Security-Policy"]"#))
        .next()
        .expect("a CSP meta element");
    assert_eq!(
        csp.value().attr("content"),
        Some("default-src 'none'; style-src 'unsafe-inline'; img-src data:")
    );
    assert_eq!(
        doc.select(&sel("script")).count(),
        0,
        "no script elements at all"
    );
    assert_eq!(doc.select(&sel("link")).count(), 0, "no <link> elements");
    assert_eq!(
        doc.select(&sel("iframe, object, embed, img, base, form"))
            .count(),
        0
    );
    for el in doc
        .root_element()
        .descendants()
        .filter_map(scraper::ElementRef::wrap)
    {
        for (name, value) in el.value().attrs() {
            let v = value.trim().to_ascii_lowercase();
            if matches!(
                name,
                "src"
                    | "href"
                    | "xlink:href"
                    | "action"
                    | "formaction"
                    | "srcset"
                    | "poster"
                    | "data"
                    | "background"
            ) {
                assert!(
                    !(v.starts_with("http:")
                        || v.starts_with("https:")
                        || v.starts_with("//")
                        || v.starts_with("javascript:")),
                    "external or script reference {name}={value} on <{}>",
                    el.value().name()
                );
                if name.ends_with("href") {
                    assert!(v.starts_with('#'), "only in-page links: {name}={value}");
                }
            }
            assert!(!name.starts_with("on"), "event handler attribute {name}");
        }
    }
    let lower = html.to_ascii_lowercase();
    assert!(!lower.contains("@import"), "no @import");
    assert!(
        !lower.contains("url(http") && !lower.contains("url(//"),
        "no CSS url() to the network"
    );
    // Every in-page link resolves to an element of the document.
    let ids: std::collections::HashSet<String> = doc
        .root_element()
        .descendants()
        .filter_map(scraper::ElementRef::wrap)
        .filter_map(|e| e.value().id().map(str::to_string))
        .collect();
    for a in doc.select(&sel("a[href]")) {
        let href = a.value().attr("href").unwrap_or_default();
        let target = href.trim_start_matches('#');
        assert!(ids.contains(target), "dangling link {href}");
    }
    doc
}

fn text_of(doc: &Html, selector: &str) -> String {
    doc.select(&sel(selector))
        .map(|e| e.text().collect::<String>())
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn passing_run_renders_the_decision_checklist_and_every_case() {
    let dir = tempfile::tempdir().unwrap();
    let r = run_in(dir.path(), &[], &[]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("HTML report: "), "{}", r.stdout);
    let doc = parse_and_check(&r.html);

    let decision = text_of(&doc, ".decision .label");
    // Nothing failed, but no referee report: the client items are not verified.
    assert_eq!(decision, "INCOMPLETE");
    let why = text_of(&doc, ".decision ul.why");
    assert!(why.contains("referee report"), "{why}");
    let mock = text_of(&doc, ".mock");
    assert!(mock.contains("Not a launch decision"), "{mock}");
    let meta = text_of(&doc, "dl.meta");
    for want in ["launchgate's embedded mock", "version ", "built-in", "UTC"] {
        assert!(meta.contains(want), "header lacks {want}: {meta}");
    }

    // The checklist: 13 items, each with a verdict; evidence links go to cases.
    let rows: Vec<_> = doc
        .select(&sel("#checklist table.checklist tbody tr"))
        .collect();
    assert_eq!(rows.len(), 13);
    let evidence_links = doc
        .select(&sel("#checklist table.checklist a[href^='#c']"))
        .count();
    assert!(evidence_links >= 20, "{evidence_links} evidence links");

    // Every case of the JSON report is there, with its steps.
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&r.json_path).unwrap()).unwrap();
    let cases: Vec<&serde_json::Value> = report["suites"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["cases"].as_array().unwrap())
        .collect();
    assert!(cases.len() >= 40);
    assert_eq!(doc.select(&sel("details.case")).count(), cases.len());
    let all = text_of(&doc, "#cases");
    for c in &cases {
        assert!(all.contains(c["name"].as_str().unwrap()), "{}", c["name"]);
    }
    assert_eq!(
        doc.select(&sel("details.case[open]")).count(),
        0,
        "nothing failed, nothing open"
    );
    assert!(
        doc.select(&sel("details.case table.steps tbody tr"))
            .count()
            >= cases.len()
    );
    // request_ms is recorded for steps that got a response.
    assert!(r.html.len() < 400_000, "{} bytes", r.html.len());
    let json = std::fs::read_to_string(&r.json_path).unwrap();
    assert!(json.contains("\"request_ms\""));
    assert!(json.contains("\"scenarios_commit\": \"built-in\""));

    // The pictures: a timeline with one bar per case, latency per endpoint.
    let bars = doc.select(&sel("#timeline svg a rect")).count();
    assert!(bars >= cases.len(), "{bars} timeline bars");
    let waits = text_of(&doc, "#timeline svg title");
    assert!(
        waits.contains("waited"),
        "the rate-limit wait is on the timeline"
    );
    let endpoints = text_of(&doc, "#latency tbody td.mono");
    assert!(
        endpoints.contains("GET /api/agent/v1/partner/cards/{id}"),
        "{endpoints}"
    );
    assert!(!endpoints.contains("127.0.0.1"), "{endpoints}");
    assert!(doc.select(&sel("#latency tbody svg circle")).count() >= 5);

    // Optional sections are hidden when absent.
    assert_eq!(doc.select(&sel("#scorecard, #referee")).count(), 0);

    // `checklist --html` from the saved JSON renders the same decision.
    let (code, again) = checklist_html(dir.path(), &r.json_path);
    assert_eq!(code, 0);
    let doc2 = parse_and_check(&again);
    assert_eq!(text_of(&doc2, ".decision .label"), "INCOMPLETE");
    assert_eq!(doc2.select(&sel("details.case")).count(), cases.len());
}

#[test]
fn failing_run_shows_no_go_and_the_failure_first_and_open() {
    let dir = tempfile::tempdir().unwrap();
    let r = run_in(dir.path(), &["--mock-quirk", "foreign-id-403"], &[]);
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    let doc = parse_and_check(&r.html);
    assert_eq!(text_of(&doc, ".decision .label"), "NO-GO");
    assert!(text_of(&doc, ".mock").contains("Not a launch decision"));

    // Listed under "Needs attention", linked to the case.
    let attention = text_of(&doc, "#attention");
    assert!(
        attention.contains("agent-api.not-found::another tenant's card gives NOT_FOUND, not 403"),
        "{attention}"
    );
    assert!(attention.contains("not-found.yaml:31:19"), "{attention}");

    // The failed case is open, highlighted, and shows expected vs actual,
    // the location and the redacted response excerpt.
    let open: Vec<_> = doc.select(&sel("details.case.bad[open]")).collect();
    assert_eq!(open.len(), 2, "two cases fail with this quirk");
    let body: String = open[0].text().collect();
    assert!(
        body.contains("at scenarios/agent-api/not-found.yaml:31:19"),
        "{body}"
    );
    assert!(body.contains("status: expected 404, got 403"), "{body}");
    assert!(
        body.contains("expected \"NOT_FOUND\", got \"FORBIDDEN\""),
        "{body}"
    );
    assert!(body.contains("HTTP 403"), "{body}");
    assert!(
        body.contains("This card belongs to another partner."),
        "{body}"
    );
    // Failed cases come first in their suite.
    let suite_cases: Vec<String> = doc
        .select(&sel("details.case"))
        .map(|d| d.value().attr("class").unwrap_or_default().to_string())
        .collect();
    let first_bad = suite_cases.iter().position(|c| c.contains("bad")).unwrap();
    assert!(
        suite_cases[first_bad + 1].contains("bad"),
        "both failures of not-found are together at the top of the suite"
    );

    // The checklist item and required test show failed, linked to the case.
    let row = doc
        .select(&sel("#checklist table.checklist tbody tr"))
        .find(|tr| {
            tr.text()
                .collect::<String>()
                .contains("Error branches tested")
        })
        .unwrap();
    assert!(row.text().collect::<String>().contains("failed"));
    assert!(row.select(&sel("a .o-failed")).count() == 2);

    // From the saved JSON too, with exit 1 for NO-GO.
    let (code, again) = checklist_html(dir.path(), &r.json_path);
    assert_eq!(code, 1);
    assert_eq!(
        text_of(&parse_and_check(&again), ".decision .label"),
        "NO-GO"
    );
}

const CANARY: &str = "rl_agent_CANARYzz0123456789abcdefghijklmnopqrstuv";
const HOSTILE: &str = "<script>alert(1)</script>";

#[tokio::test(flavor = "multi_thread")]
async fn hostile_target_cannot_inject_markup_or_leak_the_key() {
    assert_eq!(CANARY.len(), "rl_agent_".len() + 40);
    let server = MockServer::start().await;
    let b64 = base64::engine::general_purpose::STANDARD.encode(CANARY);
    // First a 429 whose Retry-After is markup (it ends up in a step note)…
    Mock::given(method("GET"))
        .and(path("/echo"))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("retry-after", "<b onmouseover=alert(2)>x</b>"),
        )
        .up_to_n_times(1)
        .mount(&server)
        .await;
    // …then markup and the key in headers and body.
    Mock::given(method("GET"))
        .and(path("/echo"))
        .respond_with(
            ResponseTemplate::new(500)
                .insert_header("x-echo", CANARY)
                .insert_header("x-html", "\"><img src=x onerror=alert(3)>")
                .insert_header("authorization", format!("Bearer {CANARY}"))
                .set_body_string(format!(
                    "{{\"you_sent\": \"{CANARY}\", \"b64\": \"{b64}\", \"html\": \"{HOSTILE}</pre><a href=https://evil.example/>x</a><link rel=stylesheet href=//evil.example/x.css>\"}}"
                )),
        )
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("echo.yaml");
    std::fs::write(
        &f,
        r#"cases:
  - name: echo </details><script>alert(4)</script>
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
    )
    .unwrap();
    let uri = server.uri();
    let path = dir.path().to_path_buf();
    let f = f.to_str().unwrap().to_string();
    let r = tokio::task::spawn_blocking(move || {
        run_in(
            &path,
            &["--target", &uri, &f],
            &[("LAUNCHGATE_PARTNER_KEY", CANARY)],
        )
    })
    .await
    .unwrap();
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    let (_, from_json) = checklist_html(dir.path(), &r.json_path);

    for (what, html) in [("run --html", &r.html), ("checklist --html", &from_json)] {
        let doc = parse_and_check(html);
        // No key, in any form.
        for form in [
            CANARY.to_string(),
            b64.clone(),
            b64.trim_end_matches('=').to_string(),
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(CANARY),
            "CANARYzz0123456789".to_string(),
        ] {
            assert!(!html.contains(&form), "{what} leaked {form}");
        }
        assert!(
            html.contains("rl_agent_***"),
            "{what}: the redaction marker shows"
        );
        // The target's markup is text, not elements.
        assert_eq!(
            doc.select(&sel("script, img, link, b")).count(),
            0,
            "{what}"
        );
        assert!(!html.contains(HOSTILE), "{what}: raw markup in the source");
        assert!(
            html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
            "{what}"
        );
        let failure = text_of(&doc, "details.case.bad .failure pre");
        assert!(
            failure.contains(HOSTILE),
            "{what}: shown as text: {failure}"
        );
        assert!(
            failure.contains("<img src=x onerror=alert(3)>"),
            "{what}: {failure}"
        );
        let notes = text_of(&doc, "details.case .note");
        assert!(
            notes.contains("<b onmouseover=alert(2)>x</b>"),
            "{what}: {notes}"
        );
        let names = text_of(&doc, "details.case summary .name");
        assert!(
            names.contains("echo </details><script>alert(4)</script>"),
            "{what}: {names}"
        );
        // The target is named by its URL, never with the key.
        assert!(
            text_of(&doc, "dl.meta").contains("http://127.0.0.1:"),
            "{what}"
        );
        // Only our links: every href is in-page (checked in parse_and_check).
        assert!(doc.select(&sel("a[href^='https']")).next().is_none());
    }
}

#[test]
fn scenarios_in_a_git_work_tree_name_their_commit() {
    let git_ok = std::process::Command::new("git")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !git_ok {
        eprintln!("skipped: no git on this machine");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("repo");
    std::fs::create_dir_all(repo.join("scen")).unwrap();
    std::fs::write(
        repo.join("scen/health.yaml"),
        "base_path: /api/agent/v1\ncases:\n  - name: health\n    steps:\n      - request:\n          path: /health\n          headers: {X-Agent-Key: \"{{ keys.integration }}\"}\n        expect: {status: 200}\n",
    )
    .unwrap();
    let git = |args: &[&str]| {
        let o = std::process::Command::new("git")
            .arg("-C")
            .arg(&repo)
            .args([
                "-c",
                "user.name=t",
                "-c",
                "user.email=t@example.com",
                "-c",
                "commit.gpgsign=false",
            ])
            .args(args)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8_lossy(&o.stdout).trim().to_string()
    };
    git(&["init", "-q"]);
    git(&["add", "."]);
    git(&["commit", "-q", "-m", "scenarios"]);
    let head = git(&["rev-parse", "HEAD"]);
    let scen = repo.join("scen");
    let out = dir.path().join("out");
    std::fs::create_dir_all(&out).unwrap();
    let r = run_in(&out, &[scen.to_str().unwrap()], &[]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let doc = parse_and_check(&r.html);
    assert!(text_of(&doc, "dl.meta").contains(&head));
    assert!(!text_of(&doc, "dl.meta").contains("-dirty"));

    // An uncommitted change shows.
    let edited = std::fs::read_to_string(repo.join("scen/health.yaml")).unwrap() + "# edited\n";
    std::fs::write(repo.join("scen/health.yaml"), edited).unwrap();
    let r = run_in(&out, &[scen.to_str().unwrap()], &[]);
    let doc = parse_and_check(&r.html);
    assert!(
        text_of(&doc, "dl.meta").contains(&format!("{head}-dirty")),
        "{}",
        r.stderr
    );

    // Outside a git work tree: unknown.
    let plain = dir.path().join("plain");
    std::fs::create_dir_all(&plain).unwrap();
    std::fs::copy(repo.join("scen/health.yaml"), plain.join("health.yaml")).unwrap();
    let r = run_in(&out, &[plain.to_str().unwrap()], &[]);
    let doc = parse_and_check(&r.html);
    assert!(text_of(&doc, "dl.meta").contains("unknown"));
}

#[test]
fn optional_sections_show_when_given_and_escape_their_cells() {
    use launchgate::report::html::{render, ExtraTable, Extras};
    let dir = tempfile::tempdir().unwrap();
    let r = run_in(dir.path(), &["--filter", "agent-api.access"], &[]);
    assert_eq!(r.code, 0);
    let report =
        launchgate::report::json::parse(&std::fs::read_to_string(&r.json_path).unwrap()).unwrap();
    let list = launchgate::checklist::evaluate(&report, &report.key_findings);
    let table = |cell: &str| ExtraTable {
        intro: Some("from elsewhere".into()),
        headers: vec!["what".into(), "verdict".into(), "why".into()],
        rows: vec![vec!["retries".into(), "pass".into(), cell.into()]],
    };
    let extras = Extras {
        vendor_scorecard: Some(table("<script>x</script>")),
        referee_verdicts: Some(table("ok")),
    };
    let html = render(&report, Some(&list), &extras);
    let doc = parse_and_check(&html);
    assert_eq!(doc.select(&sel("#scorecard table tbody tr")).count(), 1);
    assert_eq!(doc.select(&sel("#referee table tbody tr")).count(), 1);
    assert!(text_of(&doc, "#scorecard").contains("<script>x</script>"));
    let html = render(&report, Some(&list), &Extras::default());
    assert!(!html.contains("id=\"scorecard\"") && !html.contains("id=\"referee\""));

    // A few hundred cases stay one readable, parseable file of bounded size.
    let mut big = report.clone();
    let template = big.suites[0].clone();
    big.suites = (0..100)
        .map(|n| {
            let mut s = template.clone();
            s.name = format!("{}-{n}", s.name);
            for c in &mut s.cases {
                c.id = format!("{}::{}", s.name, c.name);
            }
            s
        })
        .collect();
    let cases = big.cases().count();
    assert!(cases >= 300, "{cases}");
    let list = launchgate::checklist::evaluate(&big, &big.key_findings);
    let html = render(&big, Some(&list), &Extras::default());
    let doc = parse_and_check(&html);
    assert_eq!(doc.select(&sel("details.case")).count(), cases);
    assert!(
        html.len() < 2_000_000,
        "{} bytes for {cases} cases",
        html.len()
    );
    eprintln!("{} bytes for {cases} cases", html.len());
}
