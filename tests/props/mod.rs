// Properties shared by the cargo-fuzz targets (`fuzz/fuzz_targets/*.rs` include this
// file) and by `tests/fuzz_smoke.rs` (CI, stable Rust): one body, two drivers.
//
// - `url_property`: a request URL built from templates never leaves the target's
//   origin or base path, and a captured value is always exactly one path segment.
// - `run_property`: whatever a server sends, every planned case appears exactly once
//   in every report (JUnit, JSON, HTML, console), no key leaks, and the run never
//   ends in a usage error.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use launchgate::request_url;
use launchgate::template::Scope;
use serde_json::Value;

/// Base URLs and suite base paths the URL property is checked under.
const BASES: &[(&str, &str)] = &[
    ("http://127.0.0.1:8080", "/api/agent/v1"),
    ("https://staging.example.com/prefix", ""),
    ("http://h", ""),
];

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Input: a path template, a value for `vars.v` and one for `vars.w` and the raw
/// fact `target.t`, separated by newlines.
pub fn url_property(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let mut parts = text.splitn(3, '\n');
    let template = parts.next().unwrap_or_default();
    let v = parts.next().unwrap_or_default();
    let w = parts.next().unwrap_or_default();
    let mut scope = Scope::default();
    scope.vars.insert("v".into(), Value::String(v.into()));
    scope.vars.insert("w".into(), Value::String(w.into()));
    scope.target.insert("t".into(), Value::String(w.into()));
    for (base, base_path) in BASES {
        let root =
            request_url(base, base_path, "", &Scope::default()).expect("the bases are valid");
        let prefix = root.path().trim_end_matches('/').to_string();
        let home = |url: &url::Url, what: &str| {
            assert_eq!(url.origin(), root.origin(), "{what}: {url} left {base}");
            assert!(
                url.username().is_empty() && url.password().is_none(),
                "{what}: {url}"
            );
            assert!(
                url.path() == prefix || url.path().starts_with(&format!("{prefix}/")),
                "{what}: {url} left the base path {prefix}"
            );
        };
        // Any template, raw facts included: whatever it makes stays home, or is refused.
        if let Ok(url) = request_url(base, base_path, template, &scope) {
            home(&url, template);
        }
        // A captured value is exactly one segment, decoded back to itself.
        match request_url(base, base_path, "/cards/{{ vars.v }}/x", &scope) {
            Ok(url) => {
                home(&url, v);
                let segs: Vec<&str> = url.path_segments().expect("http URLs have paths").collect();
                assert!(segs.len() >= 3, "{url}");
                assert_eq!(percent_decode(segs[segs.len() - 2]), v, "{url}");
            }
            Err(e) => assert!(v == "." || v == "..", "{v:?} refused: {e}"),
        }
    }
}

/// The key the run property's target is given: it must never show in a report.
const KEY: &str = "rl_agent_FuzzPropKey0123456789abcdefghijKLMNOPQR";

/// The suite every run property execution plans: each case exercises another path of
/// the runner (captures into paths and waits, repeats, guards, schemas and JSONPath
/// budgets, parallel requests, transport expectations, node-list captures).
const SCENARIO: &str = r#"suite: props
cases:
  - name: plain
    steps:
      - request: {path: /a, headers: {X-Agent-Key: "{{ keys.partner }}"}, query: {k: "{{ keys.partner }}"}}
        expect:
          status: 200
          headers: {Content-Type: {regex: json}}
          json: {$.ok: true}
  - name: captures feed paths and waits
    steps:
      - request: {path: /b}
        capture:
          next: {json: $.next}
          ra: {header: Retry-After}
      - wait: "{{ vars.ra }}"
        request: {path: "/items/{{ vars.next }}", headers: {X-Agent-Key: "{{ keys.partner }}"}}
  - name: repeat
    steps:
      - request: {path: /c}
        repeat: {max: 3, until: {status: 200}, interval: 1ms}
  - name: guard
    steps:
      - request: {path: /d}
        capture: {n: {json: $.n}}
      - guard:
          - value: "{{ vars.n }}"
            is: {gt: 0}
        request: {path: /e}
        expect: {status: 2xx}
  - name: schema and budget
    steps:
      - request: {path: /f}
        expect:
          schema: {type: object}
          json:
            "$..*": {exists: true}
            "$..a..b..c": {exists: false}
        warn: {json: {$.w: 1}}
  - name: parallel
    steps:
      - request: {method: POST, path: /g, json: {k: "{{ keys.partner }}"}}
        parallel: 2
        expect: {status: 200}
  - name: transport
    steps:
      - request: {path: /h, timeout: 200ms}
        expect: {error: any}
  - name: capture all
    steps:
      - request: {path: /i}
        capture: {all: {json: "$[*]", all: true}}
      - request: {path: "/j/{{ vars.all }}"}
"#;

/// The case names of [`SCENARIO`], in order.
pub const RUN_CASES: &[&str] = &[
    "plain",
    "captures feed paths and waits",
    "repeat",
    "guard",
    "schema and budget",
    "parallel",
    "transport",
    "capture all",
];

/// The statuses a structured response may have.
const STATUSES: &[&str] = &[
    "200 OK",
    "201 Created",
    "204 No Content",
    "302 Found",
    "307 Temporary Redirect",
    "400 Bad Request",
    "404 Not Found",
    "429 Too Many Requests",
    "500 Internal Server Error",
    "503 Service Unavailable",
];

/// A loopback server answering request `i` with response `i mod n` of the current input.
struct Server {
    port: u16,
    responses: Mutex<Vec<Vec<u8>>>,
    hits: AtomicUsize,
}

fn server() -> &'static Server {
    static SERVER: OnceLock<&'static Server> = OnceLock::new();
    SERVER.get_or_init(|| {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let server: &'static Server = Box::leak(Box::new(Server {
            port: listener.local_addr().expect("bound").port(),
            responses: Mutex::new(Vec::new()),
            hits: AtomicUsize::new(0),
        }));
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                std::thread::spawn(move || serve(server, stream));
            }
        });
        server
    })
}

fn serve(server: &Server, mut s: TcpStream) {
    let _ = s.set_read_timeout(Some(Duration::from_millis(500)));
    let _ = s.set_write_timeout(Some(Duration::from_secs(2)));
    let mut head = Vec::new();
    let mut buf = [0u8; 4096];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 64 * 1024 {
        match s.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    let i = server.hits.fetch_add(1, Ordering::Relaxed);
    let response = {
        let all = server.responses.lock().unwrap_or_else(|e| e.into_inner());
        all.get(i % all.len().max(1)).cloned().unwrap_or_default()
    };
    let _ = s.write_all(&response);
    let _ = s.flush();
    let _ = s.shutdown(Shutdown::Write);
    // Drain what the client still sends (a body), so the close is not a reset.
    let _ = s.set_read_timeout(Some(Duration::from_millis(100)));
    while let Ok(n) = s.read(&mut buf) {
        if n == 0 {
            break;
        }
    }
}

/// The responses an input stands for: chunks separated by two NUL bytes; a chunk
/// starting with 0xFF is sent as is, any other is a status (its first byte), header
/// lines and a body (after the first blank line), framed by a correct Content-Length.
fn responses(data: &[u8]) -> Vec<Vec<u8>> {
    let mut chunks: Vec<&[u8]> = Vec::new();
    let mut rest = data;
    while let Some(at) = rest.windows(2).position(|w| w == [0, 0]) {
        chunks.push(&rest[..at]);
        rest = &rest[at + 2..];
    }
    chunks.push(rest);
    chunks
        .into_iter()
        .take(16)
        .map(|c| match c.split_first() {
            Some((0xFF, raw)) => raw.to_vec(),
            Some((status, rest)) => {
                let text = String::from_utf8_lossy(rest);
                let (head, body) = text.split_once("\n\n").unwrap_or((&text, ""));
                let mut out = format!("HTTP/1.1 {}\r\n", STATUSES[*status as usize % STATUSES.len()]);
                for line in head.lines().filter(|l| l.contains(':') && !l.contains('\r')) {
                    out.push_str(line);
                    out.push_str("\r\n");
                }
                out.push_str(&format!(
                    "Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                ));
                out.into_bytes()
            }
            None => b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n{\"ok\":true}".to_vec(),
        })
        .collect()
}

/// Runs [`SCENARIO`] with the real `commands::run` (libtest trials, reports written to a
/// temporary directory) against a server sending what `data` describes, and checks
/// that every planned case is in every report exactly once.
pub fn run_property(data: &[u8]) {
    let srv = server();
    *srv.responses.lock().unwrap_or_else(|e| e.into_inner()) = responses(data);
    srv.hits.store(0, Ordering::Relaxed);
    let dir = tempfile::tempdir().expect("a temporary directory");
    let d = dir.path();
    let scenario = d.join("props.yaml");
    std::fs::write(&scenario, SCENARIO).expect("write the scenario");
    let secrets = d.join("secrets.env");
    std::fs::write(&secrets, format!("LAUNCHGATE_PARTNER_KEY={KEY}\n")).expect("write secrets");
    let console = d.join("console.txt");
    let path = |name: &str| -> PathBuf { d.join(name) };
    let cfg = launchgate::commands::RunConfig {
        paths: vec![scenario],
        api: launchgate::commands::Api::Agent,
        webhooks: Default::default(),
        scorecard: path("scorecard.md"),
        target: launchgate::commands::TargetChoice::Url(format!("http://127.0.0.1:{}", srv.port)),
        secrets: Some(secrets),
        allow_writes: true,
        run: launchgate::RunOptions {
            timeout: Duration::from_millis(300),
            deadline: Duration::from_secs(5),
            max_wait: Duration::from_millis(20),
            verbose_notes: false,
            ..Default::default()
        },
        junit: path("junit.xml"),
        junit_profile: launchgate::report::junit::Profile::Generic,
        json: path("report.json"),
        checklist: path("checklist.md"),
        referee: None,
        html: Some(path("report.html")),
        snapshots: path("snapshots"),
        update_snapshots: false,
        fail_on_skip: false,
        allow_incomplete: true,
        retention_probe: None,
        partition: None,
        libtest: libtest_mimic_args(&console),
    };
    let exit = launchgate::commands::run(cfg);
    assert!(
        matches!(
            exit,
            Ok(launchgate::commands::Exit::Passed
                | launchgate::commands::Exit::Failed
                | launchgate::commands::Exit::Unreachable)
        ),
        "exit {exit:?}"
    );
    let read =
        |name: &str| std::fs::read_to_string(path(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
    let junit = read("junit.xml");
    let json = read("report.json");
    let html = read("report.html");
    let console = std::fs::read_to_string(&console).unwrap_or_default();
    for (what, text) in [
        ("junit", &junit),
        ("json", &json),
        ("html", &html),
        ("console", &console),
    ] {
        assert!(!text.contains(&KEY[9..]), "{what} shows the key");
        // A panic caught inside a case still means a bug: the property fails on it.
        assert!(
            !text.contains("launchgate panicked"),
            "{what}: a case panicked"
        );
        assert!(
            !text.contains("launchgate lost this case"),
            "{what}: a case was lost"
        );
    }
    let doc = roxmltree::Document::parse(&junit).expect("JUnit is well-formed");
    let mut names: Vec<&str> = doc
        .descendants()
        .filter(|n| n.has_tag_name("testcase"))
        .filter_map(|n| n.attribute("name"))
        .collect();
    names.sort_unstable();
    let mut expected: Vec<&str> = RUN_CASES.to_vec();
    expected.sort_unstable();
    assert_eq!(names, expected, "JUnit");
    let report: Value = serde_json::from_str(&json).expect("the JSON report parses");
    let mut ids: Vec<String> = report["suites"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|s| s["cases"].as_array().into_iter().flatten())
        .map(|c| c["name"].as_str().unwrap_or_default().to_string())
        .collect();
    ids.sort_unstable();
    assert_eq!(ids, expected, "JSON");
    assert_eq!(
        html.matches("<details class=\"case").count(),
        RUN_CASES.len(),
        "HTML"
    );
    for name in RUN_CASES {
        let line = format!("test props::{name} ");
        assert_eq!(
            console.matches(&line).count(),
            1,
            "console: {name}\n{console}"
        );
    }
}

fn libtest_mimic_args(console: &std::path::Path) -> libtest_mimic::Arguments {
    libtest_mimic::Arguments {
        logfile: Some(console.display().to_string()),
        test_threads: Some(4),
        ..Default::default()
    }
}
