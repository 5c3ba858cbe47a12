//! The hostile-target matrix: the real `launchgate` binary against small raw-TCP
//! servers on loopback that misbehave on purpose (slowloris, endless bodies, 10 MB
//! bodies, broken encodings, resets, refusals, redirect loops, TLS failures, absurd
//! Retry-After values, key echoes).
//!
//! Each run uses `--timeout 1s --deadline 20s`. Every case must end failed or errored
//! with a clear reason, the reports must be written and well-formed, nothing may
//! panic, and the run deadline must not be what stopped it (the per-request timeout
//! and the body cap must). Nothing here asserts on wall-clock speed.
//!
//! The servers are `common::tcp` servers on 127.0.0.1:0 with a bounded life. The
//! cases that are one server against the one scenario are rows of [`matrix!`]: one
//! named test each, judged by [`check`].

use std::io::Read;
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;

use crate::common::reports;
use crate::common::standalone::Standalone;
use crate::common::tcp::{clip, read_head, respond, serve, Ctx, Server};

/// A canary partner key: key-shaped, so every redaction layer applies.
const CANARY: &str = "rl_agent_Zq9CANARYkq27HostileEcho0123456789abcdef";

/// The one case every hostile server is judged by: a well-behaved JSON answer.
const SCENARIO: &str = r#"cases:
  - name: hostile target
    steps:
      - request:
          path: /x
          headers: {X-Agent-Key: "{{ keys.partner }}"}
          query: {k: "{{ keys.partner }}"}
        expect:
          status: 200
          headers:
            Content-Type: {regex: '^application/json'}
          json:
            $.ok: true
"#;

/// A captured `Retry-After` fed to `wait:`, the pattern the format docs show.
const WAIT_FOR_CAPTURED_RETRY_AFTER: &str = r#"cases:
  - name: hostile target
    steps:
      - request:
          path: /x
          headers: {X-Agent-Key: "{{ keys.partner }}"}
        capture:
          retry_after: {header: Retry-After}
      - wait: "{{ vars.retry_after }}"
        request:
          path: /x
          headers: {X-Agent-Key: "{{ keys.partner }}"}
        expect: {status: 200}
"#;

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
    junit: String,
    json: serde_json::Value,
}

impl Out {
    /// The single case's outcome and its one-line reason.
    fn case(&self) -> (String, String) {
        let c = &self.json["suites"][0]["cases"][0];
        (
            c["outcome"].as_str().unwrap_or_default().to_string(),
            c["failure"]["message"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
        )
    }

    fn notes(&self) -> Vec<String> {
        self.json["suites"][0]["cases"][0]["steps"][0]["notes"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|n| n.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    }
}

fn run(url: &str, scenario: &str, extra: &[&str]) -> Out {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("hostile.yaml");
    std::fs::write(&f, scenario).unwrap();
    run_file(dir.path(), url, &f, extra)
}

fn run_file(dir: &Path, url: &str, scenario: &Path, extra: &[&str]) -> Out {
    let ran = reports::run_in(dir)
        .arg(scenario)
        .args(["--target", url, "--timeout", "1s", "--deadline", "20s"])
        .args(extra)
        .reports(&[("--snapshots", "snapshots")])
        .env("LAUNCHGATE_PARTNER_KEY", CANARY)
        // A backstop only: the deadline (20 s) must end every run long before this.
        .timeout(Duration::from_secs(90))
        .output();
    let out = Out {
        code: ran.out.code,
        junit: ran.text("junit.xml"),
        json: ran.json("report.json"),
        stdout: ran.out.stdout,
        stderr: ran.out.stderr,
    };
    check_invariants(&out);
    out
}

/// What holds for every hostile run: no panic, no hang, reports written and
/// well-formed, the case failed or errored, the deadline not needed, no key shown.
fn check_invariants(o: &Out) {
    let ctx = format!(
        "exit {}\nstdout:\n{}\nstderr:\n{}",
        o.code,
        clip(&o.stdout),
        clip(&o.stderr)
    );
    assert!(
        !o.stderr.contains("panicked") && !o.stdout.contains("panicked"),
        "{ctx}"
    );
    assert!(
        o.code == 1 || o.code == 3,
        "a hostile target fails the run (1) or is unreachable (3): {ctx}"
    );
    let doc = roxmltree::Document::parse(&o.junit)
        .unwrap_or_else(|e| panic!("JUnit is written and well-formed ({e}): {ctx}"));
    let cases: Vec<_> = doc
        .descendants()
        .filter(|n| n.has_tag_name("testcase"))
        .collect();
    assert_eq!(cases.len(), 1, "{ctx}");
    assert!(
        cases[0]
            .children()
            .any(|c| c.has_tag_name("failure") || c.has_tag_name("error")),
        "{}",
        o.junit
    );
    assert!(o.json.is_object(), "the JSON report is written: {ctx}");
    assert_eq!(
        o.json["deadline_hit"], false,
        "the request timeout, not the run deadline, must end a hostile exchange: {ctx}"
    );
    let (outcome, reason) = o.case();
    assert!(
        outcome == "failed" || outcome == "errored",
        "{outcome}: {ctx}"
    );
    assert!(!reason.trim().is_empty(), "a reason is given: {ctx}");
    assert_no_canary(&[
        ("stdout", &o.stdout),
        ("stderr", &o.stderr),
        ("junit", &o.junit),
        ("json", &o.json.to_string()),
    ]);
}

/// Every form of the canary that must never be shown, including a fragment of its
/// secret part (a key cut in half by a length limit is still a leak).
fn canary_forms() -> Vec<String> {
    let b64 = base64::engine::general_purpose::STANDARD.encode(CANARY);
    let b64url = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(CANARY);
    let tail = &CANARY["rl_agent_".len()..];
    vec![
        CANARY.to_string(),
        b64.clone(),
        b64.trim_end_matches('=').to_string(),
        b64url,
        url::form_urlencoded::byte_serialize(CANARY.as_bytes()).collect(),
        tail[..8].to_string(),
        tail[tail.len() - 10..].to_string(),
    ]
}

fn assert_no_canary(texts: &[(&str, &str)]) {
    for form in canary_forms() {
        for (what, text) in texts {
            assert!(
                !text.contains(&form),
                "{what} leaked the canary form `{form}`:\n{}",
                clip(text)
            );
        }
    }
}

fn assert_reason(o: &Out, outcome: &str, needles: &[&str]) {
    let (got, reason) = o.case();
    eprintln!("{got}: {reason}");
    assert_eq!(
        got,
        outcome,
        "reason: {reason}\nstdout:\n{}",
        clip(&o.stdout)
    );
    assert!(
        needles.iter().any(|n| reason.contains(n)),
        "reason `{reason}` should say one of {needles:?}"
    );
}

// ---------------------------------------------------------------------------
// The matrix: one server against one scenario, one row each.

/// One row: how the server misbehaves, and what the run must say about it.
struct Row {
    /// Handles each connection.
    server: fn(TcpStream, &Ctx),
    /// The scenario run against it.
    scenario: &'static str,
    /// `https://` to the server's port instead of `http://`.
    tls: bool,
    /// The exit code, when it must be 3: no HTTP response ever arrived.
    code: Option<i32>,
    /// The case's outcome, and words of which its reason must contain one.
    outcome: &'static str,
    reasons: &'static [&'static str],
    /// What else the row proves, about the run and the server.
    also: fn(&Out, &Server),
}

const ROW: Row = Row {
    server: answers_ok,
    scenario: SCENARIO,
    tls: false,
    code: None,
    outcome: "",
    reasons: &[],
    also: nothing_else,
};

fn check(row: Row) {
    let s = serve(row.server);
    let url = if row.tls {
        format!("https://127.0.0.1:{}", s.port)
    } else {
        s.url()
    };
    let o = run(&url, row.scenario, &[]);
    if let Some(code) = row.code {
        assert_eq!(
            o.code,
            code,
            "no HTTP response ever arrived: {}",
            clip(&o.stdout)
        );
    }
    assert_reason(&o, row.outcome, row.reasons);
    (row.also)(&o, &s);
}

macro_rules! matrix {
    ($($(#[$doc:meta])* $name:ident => $row:expr;)*) => {
        $($(#[$doc])* #[test] fn $name() { check($row); })*
    };
}

matrix! {
    slowloris_headers_time_out => Row {
        server: slowloris, code: Some(3),
        outcome: "errored", reasons: &["no complete response within 1s"], ..ROW
    };
    a_body_that_never_ends_times_out => Row {
        server: body_never_ends,
        outcome: "errored", reasons: &["no complete response within 1s"], ..ROW
    };
    an_endless_fast_body_is_cut_at_the_cap_and_not_read_further => Row {
        server: endless_fast_body,
        outcome: "failed", reasons: &["cut at 1048576 bytes"], also: not_read_further, ..ROW
    };
    a_10_mb_body_is_cut_at_the_documented_cap => Row {
        server: ten_mb_body,
        outcome: "failed", reasons: &["cut at 1048576 bytes"], also: cap_documented_and_said, ..ROW
    };
    invalid_utf8_where_json_is_expected => Row {
        server: invalid_utf8, outcome: "failed", reasons: &["not JSON"], ..ROW
    };
    html_where_json_is_expected => Row {
        server: html_as_json, outcome: "failed", reasons: &["not JSON"], ..ROW
    };
    json_with_the_wrong_content_type => Row {
        server: json_as_html, outcome: "failed", reasons: &["Content-Type", "content-type"], ..ROW
    };
    connection_reset_mid_body => Row {
        server: reset_mid_body,
        outcome: "errored", reasons: &["body broke off", "connection", "cannot connect"], ..ROW
    };
    redirect_loop => Row {
        server: redirects_to_itself, outcome: "errored", reasons: &["too many redirects"], ..ROW
    };
    tls_to_a_plain_http_server => Row {
        server: plain_http_answers_tls, tls: true, code: Some(3),
        outcome: "errored", reasons: &["TLS handshake failed"], ..ROW
    };
    tls_to_a_server_that_sends_garbage => Row {
        server: garbage, tls: true, code: Some(3),
        outcome: "errored", reasons: &["TLS handshake failed"], ..ROW
    };
    plain_http_garbage_instead_of_a_response => Row {
        server: not_http, code: Some(3),
        outcome: "errored", reasons: &["connection failed", "no response"], ..ROW
    };
    /// A 429 whose Retry-After is bigger than u64: not "malformed, wait 1 s and retry",
    /// but far above --max-wait, so not retried at all.
    http_429_with_a_huge_retry_after => Row {
        server: retry_after_beyond_u64,
        outcome: "failed", reasons: &["expected 200, got 429"], also: sent_once_not_retried, ..ROW
    };
    /// A Retry-After within --max-wait but beyond the run deadline: waiting would only
    /// burn the deadline for every case behind this one.
    http_429_with_a_retry_after_beyond_the_deadline => Row {
        server: retry_after_beyond_deadline,
        outcome: "failed", reasons: &["expected 200, got 429"], also: not_retried, ..ROW
    };
    /// A malformed and huge Retry-After: retried after the default pause, and the notes
    /// do not repeat 16 KiB of garbage.
    http_429_with_a_malformed_huge_retry_after => Row {
        server: retry_after_garbage,
        outcome: "failed", reasons: &["expected 200, got 429"], also: retried_with_short_notes, ..ROW
    };
    /// A `Retry-After: 1e300` captured and fed to `wait:` (the pattern the format docs
    /// show) is an errored case with a reason, not a panic that drops the case.
    a_retry_after_of_1e300_fed_to_wait_errors_the_case => Row {
        server: retry_after_1e300, scenario: WAIT_FOR_CAPTURED_RETRY_AFTER,
        outcome: "errored", reasons: &["longest wait"], ..ROW
    };
}

// The servers of the matrix.

fn answers_ok(mut s: TcpStream, ctx: &Ctx) {
    read_head(&mut s);
    respond(
        &mut s,
        ctx,
        "200 OK",
        &[("Content-Type", "application/json")],
        b"{\"ok\": true}",
    );
}

fn slowloris(mut s: TcpStream, ctx: &Ctx) {
    read_head(&mut s);
    if !ctx.write(&mut s, b"HTTP/1.1 200 OK\r\n") {
        return;
    }
    // One header byte every 100 ms, never finishing the head.
    loop {
        if !ctx.write(&mut s, b"X") {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn body_never_ends(mut s: TcpStream, ctx: &Ctx) {
    read_head(&mut s);
    let head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000000\r\n\r\n{\"ok\": true, \"pad\": \"";
    if !ctx.write(&mut s, head.as_bytes()) {
        return;
    }
    loop {
        if !ctx.write(&mut s, b"a") {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// What the endless body offers: far more than anyone should read.
const OFFERED: u64 = 256 * 1024 * 1024;

fn endless_fast_body(mut s: TcpStream, ctx: &Ctx) {
    read_head(&mut s);
    let head =
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n";
    if !ctx.write(&mut s, head.as_bytes()) {
        return;
    }
    let chunk = format!("10000\r\n{}\r\n", "a".repeat(0x10000));
    let mut n = 0u64;
    while n < OFFERED {
        if !ctx.write(&mut s, chunk.as_bytes()) {
            return;
        }
        n += 0x10000;
    }
}

fn not_read_further(o: &Out, s: &Server) {
    // Memory stays bounded: the client stopped reading right after the cap, so the
    // server could not push more than the cap plus the kernel's socket buffers.
    let sent = s.sent();
    assert!(
        sent < 64 * 1024 * 1024,
        "launchgate kept reading: the server wrote {sent} bytes"
    );
    let excerpt = o.json["suites"][0]["cases"][0]["failure"]["response"]
        .as_str()
        .unwrap_or_default();
    assert!(
        excerpt.len() < 8 * 1024,
        "the excerpt is bounded: {} bytes",
        excerpt.len()
    );
}

fn ten_mb_body(mut s: TcpStream, ctx: &Ctx) {
    read_head(&mut s);
    let mut body = b"{\"ok\": true, \"pad\": \"".to_vec();
    body.resize(10 * 1024 * 1024 - 2, b'a');
    body.extend_from_slice(b"\"}");
    respond(
        &mut s,
        ctx,
        "200 OK",
        &[("Content-Type", "application/json")],
        &body,
    );
}

fn cap_documented_and_said(o: &Out, _: &Server) {
    assert_eq!(launchgate::DEFAULT_BODY_CAP, 1024 * 1024);
    assert!(o.stdout.contains("body cut"), "{}", o.stdout);
}

fn invalid_utf8(mut s: TcpStream, ctx: &Ctx) {
    read_head(&mut s);
    respond(
        &mut s,
        ctx,
        "200 OK",
        &[("Content-Type", "application/json")],
        b"\xff\xfe{\"ok\": \xc3\x28 \x00\x1b[31m}",
    );
}

fn html_as_json(mut s: TcpStream, ctx: &Ctx) {
    read_head(&mut s);
    respond(
        &mut s,
        ctx,
        "200 OK",
        &[("Content-Type", "application/json")],
        b"<html><body>502 Bad Gateway</body></html>",
    );
}

fn json_as_html(mut s: TcpStream, ctx: &Ctx) {
    read_head(&mut s);
    respond(
        &mut s,
        ctx,
        "200 OK",
        &[("Content-Type", "text/html; charset=utf-8")],
        b"{\"ok\": true}",
    );
}

fn reset_mid_body(mut s: TcpStream, ctx: &Ctx) {
    // Read only part of the request: closing with unread input makes the kernel
    // send RST instead of FIN.
    let mut part = [0u8; 8];
    let _ = s.read_exact(&mut part);
    std::thread::sleep(Duration::from_millis(50));
    let head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"ok\": tr";
    ctx.write(&mut s, head.as_bytes());
    let _ = std::io::Write::flush(&mut s);
    std::thread::sleep(Duration::from_millis(100));
    drop(s);
}

fn redirects_to_itself(mut s: TcpStream, ctx: &Ctx) {
    read_head(&mut s);
    respond(&mut s, ctx, "302 Found", &[("Location", "/x")], b"");
}

fn plain_http_answers_tls(mut s: TcpStream, ctx: &Ctx) {
    // A ClientHello has no blank line: read once, answer in plain HTTP, as nginx does.
    let mut hello = [0u8; 4096];
    let _ = s.read(&mut hello);
    ctx.write(
        &mut s,
        b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n",
    );
    let _ = s.read(&mut hello);
}

fn garbage(mut s: TcpStream, ctx: &Ctx) {
    let mut x: u32 = 0x9e37_79b9;
    let garbage: Vec<u8> = (0..4096)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect();
    ctx.write(&mut s, &garbage);
    let mut rest = [0u8; 4096];
    let _ = s.read(&mut rest);
}

fn not_http(mut s: TcpStream, ctx: &Ctx) {
    read_head(&mut s);
    ctx.write(&mut s, b"\x16\x03\x01\x00\xffNOT HTTP AT ALL\r\n\r\n");
    let _ = read_head(&mut s);
}

fn retry_after_beyond_u64(mut s: TcpStream, ctx: &Ctx) {
    read_head(&mut s);
    respond(
        &mut s,
        ctx,
        "429 Too Many Requests",
        &[
            ("Retry-After", "99999999999999999999999999999999"),
            ("Content-Type", "application/json"),
        ],
        b"{\"error\": true, \"code\": \"RATE_LIMIT_EXCEEDED\"}",
    );
}

fn sent_once_not_retried(o: &Out, s: &Server) {
    not_retried(o, s);
    assert_eq!(
        o.json["requests_sent"], 1,
        "a wait that cannot be honoured is not waited for"
    );
}

fn retry_after_beyond_deadline(mut s: TcpStream, ctx: &Ctx) {
    read_head(&mut s);
    respond(
        &mut s,
        ctx,
        "429 Too Many Requests",
        &[("Retry-After", "100"), ("Content-Type", "application/json")],
        b"{\"error\": true}",
    );
}

fn not_retried(o: &Out, _: &Server) {
    let notes = o.notes();
    assert!(
        notes.iter().any(|n| n.contains("not retried")),
        "{}",
        clip(&format!("{notes:?}"))
    );
}

fn retry_after_garbage(mut s: TcpStream, ctx: &Ctx) {
    read_head(&mut s);
    let garbage = "soon-ish ".repeat(2048);
    respond(
        &mut s,
        ctx,
        "429 Too Many Requests",
        &[
            ("Retry-After", garbage.trim()),
            ("Content-Type", "application/json"),
        ],
        b"{\"error\": true}",
    );
}

fn retried_with_short_notes(o: &Out, _: &Server) {
    let notes = o.notes();
    assert!(
        notes
            .iter()
            .any(|n| n.contains("without a usable Retry-After")),
        "{}",
        clip(&format!("{notes:?}"))
    );
    assert!(
        notes.iter().all(|n| n.len() < 512),
        "notes stay short: {}",
        clip(&format!("{notes:?}"))
    );
    assert!(o.stderr.len() < 16 * 1024, "stderr stays short");
}

fn retry_after_1e300(mut s: TcpStream, ctx: &Ctx) {
    read_head(&mut s);
    respond(
        &mut s,
        ctx,
        "200 OK",
        &[
            ("Retry-After", "1e300"),
            ("Content-Type", "application/json"),
        ],
        b"{\"ok\": true}",
    );
}

fn nothing_else(_: &Out, _: &Server) {}

// ---------------------------------------------------------------------------
// Cases with more than one server or run.

#[test]
fn connection_refused() {
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let o = run(&format!("http://127.0.0.1:{port}"), SCENARIO, &[]);
    assert_eq!(o.code, 3);
    assert_reason(&o, "errored", &["cannot connect"]);
    assert!(o.stderr.contains("never answered"), "{}", o.stderr);
}

/// The server echoes the key everywhere it can: raw, base64, URL-encoded, in
/// headers (including ones not on the secret-header list), in the body, the whole
/// request head, and placed so that the 2000-character excerpt cuts it in half.
#[test]
fn a_key_echoing_server_cannot_leak_it() {
    let s = serve(|mut s, ctx| {
        let head = read_head(&mut s);
        let b64 = base64::engine::general_purpose::STANDARD.encode(CANARY);
        let enc: String = url::form_urlencoded::byte_serialize(CANARY.as_bytes()).collect();
        let sent_key = head
            .lines()
            .find_map(|l| l.strip_prefix("x-agent-key: "))
            .unwrap_or("")
            .trim()
            .to_string();
        let pad = "p".repeat(1970);
        let body = serde_json::json!({
            "straddle": format!("{pad}{sent_key}"),
            "you_sent": sent_key,
            "b64": b64,
            "enc": enc,
            "head": head,
            "long": format!("{}{sent_key}", "q".repeat(180)),
        });
        respond(
            &mut s,
            ctx,
            "200 OK",
            &[
                ("Content-Type", "application/json"),
                ("X-Echo", &sent_key),
                ("X-Echo-B64", &b64),
                ("Location", &format!("/x?k={enc}")),
                ("WWW-Authenticate", &format!("Bearer {sent_key}")),
                ("Set-Cookie", &format!("k={sent_key}")),
            ],
            // Padding first, so the excerpt (2000 characters of body) cuts `straddle`.
            format!("{{\"a\": \"{pad}{sent_key}\", \"rest\": {body}}}").as_bytes(),
        );
    });
    let o = run(
        &s.url(),
        &SCENARIO.replace(
            "$.ok: true",
            "$.ok: true\n            $.rest.long: \"{{ keys.partner }}\"",
        ),
        &[],
    );
    assert_reason(&o, "failed", &["$.ok", "$.rest.long"]);
    assert!(o.junit.contains("rl_agent_***"), "{}", o.junit);
    // The strict profile renders differently (location in the message): scan it too.
    let o = run(&s.url(), SCENARIO, &["--junit-profile", "strict"]);
    assert!(o.junit.contains("rl_agent_***"), "{}", o.junit);
}

// ---------------------------------------------------------------------------
// The canary run: the whole built-in suite, pass and fail paths, plus the echo
// server, with notes on; every artifact is scanned for every canary key.

/// The mock's fixtures with every key replaced by a canary; returns (file, name → canary).
fn canary_fixtures(dir: &Path) -> (std::path::PathBuf, Vec<(String, String)>) {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("src/mock/fixtures.yaml"),
    )
    .unwrap();
    let key =
        regex::Regex::new(r"\{name: ([a-z_]+), key: (rl_(agent|member|admin)_)[A-Za-z0-9]{40}")
            .unwrap();
    let mut canaries = Vec::new();
    let out = key.replace_all(&text, |c: &regex::Captures| {
        let i = canaries.len();
        // 40 alphanumerics: a marker, the index, then filler that appears nowhere else.
        let tail = format!("CNRY{i:02}Zq9Xw{}", "k7Vb3Mp".repeat(5))[..40].to_string();
        let value = format!("{}{tail}", &c[2]);
        canaries.push((c[1].to_string(), value.clone()));
        format!("{{name: {}, key: {value}", &c[1])
    });
    assert!(canaries.len() >= 10, "fixtures have keys");
    let f = dir.join("canary-fixtures.yaml");
    std::fs::write(&f, out.as_ref()).unwrap();
    (f, canaries)
}

/// A standalone mock serving `fixtures`, with a 2 s rate window and `quirks` on.
fn mock_with(fixtures: &Path, quirks: &[&str]) -> Standalone {
    let fixtures = fixtures.display().to_string();
    let mut args = vec!["--rate-window", "2s", "--fixtures", &fixtures];
    for q in quirks {
        args.extend(["--quirk", q]);
    }
    Standalone::start(&args)
}

/// Every form of a secret that must never show, fragments of its tail included.
fn forms_of(secret: &str) -> Vec<String> {
    let e = base64::engine::general_purpose::STANDARD;
    let b64 = e.encode(secret);
    let tail = secret.split_once('_').map_or(secret, |x| x.1);
    let tail = tail.split_once('_').map_or(tail, |x| x.1);
    vec![
        secret.to_string(),
        b64.clone(),
        b64.trim_end_matches('=').to_string(),
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(secret),
        url::form_urlencoded::byte_serialize(secret.as_bytes()).collect(),
        tail[..8].to_string(),
        tail[tail.len() - 8..].to_string(),
    ]
}

#[test]
fn canary_keys_never_leak_from_a_whole_run() {
    let dir = tempfile::tempdir().unwrap();
    let (fixtures, canaries) = canary_fixtures(dir.path());
    let pos = canaries
        .iter()
        .find(|(n, _)| n == "partner_pos")
        .map(|(_, v)| v.clone())
        .unwrap();
    // The inputs a staging job would set: every key, every fixture id, the integration key.
    let mut env: Vec<(String, String)> = canaries
        .iter()
        .map(|(n, v)| (format!("LAUNCHGATE_{}_KEY", n.to_uppercase()), v.clone()))
        .collect();
    env.push(("LAUNCHGATE_PARTNER_KEY".into(), pos.clone()));
    let probe = mock_with(&fixtures, &[]);
    let fx = probe.served_fixtures();
    drop(probe);
    for (n, v) in fx["fixtures"].as_object().into_iter().flatten() {
        env.push((
            format!("LAUNCHGATE_{}", n.to_uppercase()),
            v.as_str().unwrap_or_default().to_string(),
        ));
    }
    let target = dir.path().join("target.yaml");

    let mut artifacts: Vec<(String, String)> = Vec::new();
    let mut run_suite = |label: &str, quirks: &[&str], profile: &str| {
        let mock = mock_with(&fixtures, quirks);
        std::fs::write(
            &target,
            format!(
                "name: canary\nbase_url: {}\nintegration_key: partner\nrole: partner\nneeds: [read, \"write:transactions\", \"write:rewards\"]\n",
                mock.url
            ),
        )
        .unwrap();
        let out_dir = dir.path().join(label);
        let o = reports::run_in(&out_dir)
            .arg("--target")
            .arg(&target)
            .args([
                "--allow-writes",
                // No referee report here: the launch decision is INCOMPLETE by design.
                "--allow-incomplete",
                "--update-snapshots",
                "--junit-profile",
                profile,
            ])
            .reports(&[
                ("--snapshots", "snapshots"),
                ("--checklist", "checklist.md"),
            ])
            .envs(env.iter().map(|(k, v)| (k, v)))
            .timeout(Duration::from_secs(240))
            .output()
            .out;
        artifacts.push((format!("{label} stdout"), o.stdout.clone()));
        artifacts.push((format!("{label} stderr"), o.stderr));
        artifacts.extend(reports::files_under(&out_dir));
        (o.code, o.stdout)
    };
    // The pass path: everything the suite checks holds.
    let (code, stdout) = run_suite("pass", &[], "generic");
    assert_eq!(
        code,
        0,
        "the suite passes against the canary mock: {}",
        clip(&stdout)
    );
    let report: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("pass").join("report.json")).unwrap(),
    )
    .unwrap();
    let passed = report["suites"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|s| s["cases"].as_array().into_iter().flatten())
        .filter(|c| c["outcome"] == "passed")
        .count();
    assert!(passed >= 30, "the pass path really ran: {passed} passed");
    // The fail path: contract breaks make cases fail, with response excerpts and notes.
    let quirks = [
        "scope-not-enforced",
        "role-not-enforced",
        "invalid-key-403",
        "wrong-retry-strategy",
        "no-envelope-on-errors",
    ];
    assert_eq!(run_suite("fail-generic", &quirks, "generic").0, 1);
    assert_eq!(run_suite("fail-strict", &quirks, "strict").0, 1);

    assert!(
        artifacts
            .iter()
            .any(|(p, t)| p.contains("fail-strict") && t.contains("<failure")),
        "the fail path produced failures"
    );
    // The echo server, with a snapshot recorded from its echo.
    let s = serve(|mut s, ctx| {
        let head = read_head(&mut s);
        let body = serde_json::json!({"you_sent": head, "ok": false});
        respond(
            &mut s,
            ctx,
            "200 OK",
            &[
                ("Content-Type", "application/json"),
                ("X-Echo", &head.replace("\r\n", " | ")),
            ],
            body.to_string().as_bytes(),
        );
    });
    let echo = SCENARIO.replace(
        "        expect:",
        "        snapshot: echo\n        expect:",
    ) + "  - name: echo recorded\n    steps:\n      - request:\n          path: /y\n          headers: {X-Agent-Key: \"{{ keys.partner }}\", Authorization: \"Bearer {{ keys.partner }}\"}\n        snapshot: echo-y\n";
    for profile in ["generic", "strict"] {
        let d = dir.path().join(format!("echo-{profile}"));
        std::fs::create_dir_all(&d).unwrap();
        let f = d.join("echo.yaml");
        std::fs::write(&f, &echo).unwrap();
        let o = reports::run_in(&d)
            .arg(&f)
            .args(["--target", &s.url(), "--timeout", "1s", "--deadline", "20s"])
            .args(["--update-snapshots", "--junit-profile", profile])
            .reports(&[("--snapshots", "snapshots")])
            .env("LAUNCHGATE_PARTNER_KEY", &pos)
            .timeout(Duration::from_secs(90))
            .output()
            .out;
        assert_eq!(o.code, 1);
        artifacts.push((format!("echo {profile} stdout"), o.stdout));
        artifacts.push((format!("echo {profile} stderr"), o.stderr));
        let files = reports::files_under(&d);
        assert!(
            files.iter().any(|(p, _)| p.contains("snapshots")),
            "snapshots were recorded: {:?}",
            files.iter().map(|f| &f.0).collect::<Vec<_>>()
        );
        artifacts.extend(files.into_iter().filter(|(p, _)| !p.ends_with("echo.yaml")));
    }

    // Something was actually written, and redaction markers show where keys were.
    assert!(artifacts
        .iter()
        .any(|(p, _)| p.ends_with(".json") && p.contains("snapshots")));
    assert!(artifacts.iter().any(|(_, t)| t.contains("rl_agent_***")));
    let mut leaks = Vec::new();
    for (_, secret) in &canaries {
        for form in forms_of(secret) {
            for (what, text) in &artifacts {
                if text.contains(&form) {
                    leaks.push(format!("{what}: `{form}`"));
                }
            }
        }
    }
    assert!(leaks.is_empty(), "canary leaks:\n{}", leaks.join("\n"));
}

// ---------------------------------------------------------------------------
// Hardening II (issue 17): a server that tries to make a case vanish, to take the key
// elsewhere, or to choose the host of the next keyed request.

/// A server that records every request head it receives.
fn recorder() -> (Server, Arc<std::sync::Mutex<Vec<String>>>) {
    let seen: Arc<std::sync::Mutex<Vec<String>>> = Arc::default();
    let s2 = seen.clone();
    let s = serve(move |mut s, ctx| {
        let head = read_head(&mut s);
        s2.lock().unwrap().push(head);
        respond(
            &mut s,
            ctx,
            "200 OK",
            &[("Content-Type", "application/json")],
            b"{\"ok\": true}",
        );
    });
    (s, seen)
}

/// A 302 to another origin (another port on the same host is another origin): the
/// request is not sent there at all, so neither `X-Agent-Key` nor any other header
/// (a vendor's key header, `Authorization`, cookies) can follow; the case errors and
/// names the hop, and the step report lists it as typed data.
#[test]
fn a_redirect_to_another_origin_is_not_followed_and_the_key_stays_home() {
    let (elsewhere, seen) = recorder();
    let to = format!("{}/collect", elsewhere.url());
    let s = serve(move |mut s, ctx| {
        read_head(&mut s);
        respond(&mut s, ctx, "302 Found", &[("Location", &to)], b"");
    });
    let scenario = SCENARIO.replace(
        "headers: {X-Agent-Key: \"{{ keys.partner }}\"}",
        "headers: {X-Agent-Key: \"{{ keys.partner }}\", X-Api-Key: \"{{ keys.partner }}\", Authorization: \"Bearer {{ keys.partner }}\", Cookie: \"k={{ keys.partner }}\"}",
    );
    let o = run(&s.url(), &scenario, &[]);
    assert_reason(&o, "errored", &["redirected to another origin"]);
    assert!(
        seen.lock().unwrap().is_empty(),
        "nothing may reach the other origin: {:?}",
        seen.lock().unwrap()
    );
    let hops = &o.json["suites"][0]["cases"][0]["steps"][0]["redirects"];
    assert_eq!(hops.as_array().map(Vec::len), Some(1), "{hops}");
    assert_eq!(hops[0]["status"], 302);
    assert_eq!(hops[0]["followed"], false);
    assert!(
        hops[0]["from"].as_str().unwrap().starts_with(&s.url()),
        "{hops}"
    );
    assert!(
        hops[0]["to"]
            .as_str()
            .unwrap()
            .starts_with(&elsewhere.url()),
        "{hops}"
    );
    assert!(o.junit.contains("redirect: HTTP 302"), "{}", o.junit);
    assert_ne!(o.code, 3, "the target did answer");
}

/// A redirect within the target's origin is followed (headers kept), and every hop
/// is in the step report.
#[test]
fn a_same_origin_redirect_is_followed_and_each_hop_reported() {
    let seen: Arc<std::sync::Mutex<Vec<String>>> = Arc::default();
    let s2 = seen.clone();
    let s = serve(move |mut s, ctx| {
        let head = read_head(&mut s);
        let first = head.lines().next().unwrap_or_default().to_string();
        s2.lock().unwrap().push(head);
        if first.starts_with("GET /x") {
            respond(
                &mut s,
                ctx,
                "307 Temporary Redirect",
                &[("Location", "/y")],
                b"",
            );
        } else if first.starts_with("GET /y") {
            respond(&mut s, ctx, "301 Moved", &[("Location", "/z?k=1")], b"");
        } else {
            respond(
                &mut s,
                ctx,
                "200 OK",
                &[("Content-Type", "application/json")],
                b"{\"ok\": false}",
            );
        }
    });
    let o = run(&s.url(), SCENARIO, &[]);
    assert_reason(&o, "failed", &["$.ok"]);
    let hops = o.json["suites"][0]["cases"][0]["steps"][0]["redirects"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(hops.len(), 2, "{hops:?}");
    assert!(hops.iter().all(|h| h["followed"] == true), "{hops:?}");
    assert!(
        hops[1]["to"].as_str().unwrap().ends_with("/z?k=1"),
        "{hops:?}"
    );
    let heads = seen.lock().unwrap();
    assert_eq!(heads.len(), 3, "{heads:?}");
    assert!(
        heads
            .iter()
            .all(|h| h.to_ascii_lowercase().contains("x-agent-key: ")),
        "the key stays on every same-origin hop"
    );
}

/// A response supplies `@127.0.0.1:B/x` and the scenario puts it at the start of the
/// next path: the value is percent-encoded as a segment, so it cannot become the
/// user-info of `http://A@127.0.0.1:B/x`; the request is refused, nothing reaches B.
#[test]
fn a_captured_value_cannot_choose_the_host_of_the_next_keyed_request() {
    let (elsewhere, seen) = recorder();
    let evil = format!("@{}/x", elsewhere.url().trim_start_matches("http://"));
    let s = serve(move |mut s, ctx| {
        read_head(&mut s);
        let body = serde_json::json!({ "next": evil }).to_string();
        respond(
            &mut s,
            ctx,
            "200 OK",
            &[("Content-Type", "application/json")],
            body.as_bytes(),
        );
    });
    let scenario = r#"cases:
  - name: hostile target
    steps:
      - request: {path: /x}
        capture:
          next: {json: $.next}
      - request:
          path: "{{ vars.next }}"
          headers: {X-Agent-Key: "{{ keys.partner }}"}
        expect: {status: 200}
"#;
    let o = run(&s.url(), scenario, &[]);
    assert_reason(&o, "errored", &["must start with `/`", "another origin"]);
    assert!(seen.lock().unwrap().is_empty(), "nothing may reach B");
}

/// A captured `../../admin` stays inside its segment (`..%2F..%2Fadmin`), and a
/// captured `..` (a whole dot segment, which URL parsing would resolve) is refused.
#[test]
fn a_captured_dot_dot_cannot_leave_the_base_path() {
    let seen: Arc<std::sync::Mutex<Vec<String>>> = Arc::default();
    let s2 = seen.clone();
    let s = serve(move |mut s, ctx| {
        let head = read_head(&mut s);
        s2.lock()
            .unwrap()
            .push(head.lines().next().unwrap_or_default().to_string());
        respond(
            &mut s,
            ctx,
            "200 OK",
            &[("Content-Type", "application/json")],
            b"{\"up\": \"../../admin\", \"dots\": \"..\", \"ok\": false}",
        );
    });
    let scenario = r#"base_path: /api/v1
cases:
  - name: hostile target
    steps:
      - request: {path: /start}
        capture:
          up: {json: $.up}
          dots: {json: $.dots}
      - request:
          path: "/cards/{{ vars.up }}"
          headers: {X-Agent-Key: "{{ keys.partner }}"}
      - request:
          path: "/cards/{{ vars.dots }}/x"
          headers: {X-Agent-Key: "{{ keys.partner }}"}
"#;
    let o = run(&s.url(), scenario, &[]);
    assert_reason(&o, "errored", &["`..` segment"]);
    let lines = seen.lock().unwrap().clone();
    assert_eq!(
        lines,
        vec![
            "GET /api/v1/start HTTP/1.1".to_string(),
            "GET /api/v1/cards/..%2F..%2Fadmin HTTP/1.1".to_string()
        ]
    );
}

/// A body of arrays nested as deep as JSON parsing allows (700 bytes).
fn deep_body(depth: usize, pad: usize) -> Vec<u8> {
    let mut s = String::new();
    for _ in 0..depth {
        s.push('[');
        for _ in 0..pad {
            s.push_str("0,");
        }
    }
    s.push('1');
    for _ in 0..depth {
        s.push(']');
    }
    s.into_bytes()
}

/// `$..*..*..*` on a 700-byte body of nested arrays produced ~200 million nodes
/// (1.7 GB) and `$..*` on an 800 KB deep body copied 3.5 GB; both now stop at the
/// JSONPath work budget and fail the expectation, naming the query.
#[test]
fn jsonpath_queries_are_bounded_by_a_work_budget() {
    for (body, path) in [
        (deep_body(120, 0), "$..*..*..*"),
        (deep_body(120, 3300), "$..*"),
    ] {
        let size = body.len();
        let s = serve(move |mut s, ctx| {
            read_head(&mut s);
            respond(
                &mut s,
                ctx,
                "200 OK",
                &[("Content-Type", "application/json")],
                &body,
            );
        });
        let scenario = SCENARIO.replace("$.ok: true", &format!("\"{path}\": {{exists: true}}"));
        let o = run(&s.url(), &scenario, &[]);
        eprintln!("{size} bytes, {path}");
        assert_reason(&o, "failed", &["work budget"]);
        let (_, reason) = o.case();
        assert!(reason.contains(path), "{reason}");
    }
}

/// A vendor-style secret with a space, `~` and `*` (vendor keys and webhook secrets
/// may hold them).
const VENDOR_CANARY: &str = "vk live~Zq9*Xw7Lp3Kd8Mv2Hq7Tz4Rb";

/// Every encoding issue 17 found unredacted, of both canaries.
fn encoded_forms(secret: &str) -> Vec<String> {
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    let pct_all = |s: &str| s.bytes().map(|b| format!("%{b:02X}")).collect::<String>();
    let tail = secret.rsplit_once('_').map_or(secret, |(_, t)| t);
    vec![
        secret.replace(' ', "%20").replace('*', "%2A"),
        secret
            .replace(' ', "+")
            .replace('*', "%2a")
            .replace('~', "%7E"),
        pct_all(secret),
        pct_all(secret).to_lowercase(),
        hex::encode(secret),
        hex::encode_upper(secret),
        secret
            .chars()
            .map(|c| format!("\\u{:04x}", c as u32))
            .collect(),
        format!("\\u{:04x}{}", secret.as_bytes()[0], &secret[1..]),
        b64(&format!("user:{secret}")),
        b64(&format!("us:{secret}")),
        b64(&format!("u:{secret}")),
        tail.to_string(),
        secret.replace('*', "&#42;").replace(' ', "&#x20;"),
    ]
}

/// The server echoes both secrets in every encoding issue 17 listed (percent-encoding
/// styles, byte by byte, hex, JSON `\u` escapes, base64 of `user:KEY` at each offset,
/// the secret part alone, character references), in the body, headers and a recorded
/// snapshot; nothing of them shows in any artifact, the HTML report included.
#[test]
fn every_encoding_of_a_secret_is_redacted_everywhere() {
    let s = serve(|mut s, ctx| {
        read_head(&mut s);
        let mut forms = encoded_forms(CANARY);
        forms.extend(encoded_forms(VENDOR_CANARY));
        let body = serde_json::json!({ "ok": true, "echo": forms }).to_string();
        // The `\u` forms must reach the body as written, not JSON-escaped again.
        let body = body.replace("\\\\u", "\\u");
        respond(
            &mut s,
            ctx,
            "200 OK",
            &[
                ("Content-Type", "application/json"),
                ("X-Echo-Hex", &hex::encode(VENDOR_CANARY)),
                ("X-Echo-Pct", &encoded_forms(VENDOR_CANARY)[0]),
            ],
            body.as_bytes(),
        );
    });
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("hostile.yaml");
    // Step 1 records the echo as a snapshot; step 2 fails, so the excerpt shows it too.
    let step = r#"      - request:
          path: /x
          headers: {X-Agent-Key: "{{ keys.partner }}", X-Api-Key: "{{ keys.vendor }}"}
          query: {k: "{{ keys.partner }}", v: "{{ keys.vendor }}"}
"#;
    let scenario = format!(
        "cases:\n  - name: hostile target\n    steps:\n{step}        snapshot: echo\n{step}        expect:\n          json:\n            $.ok: false\n"
    );
    std::fs::write(&f, scenario).unwrap();
    let o = reports::run_in(dir.path())
        .arg(&f)
        .args(["--target", &s.url(), "--timeout", "1s", "--deadline", "20s"])
        .arg("--update-snapshots")
        .reports(&[
            ("--html", "report.html"),
            ("--checklist", "checklist.md"),
            ("--snapshots", "snapshots"),
        ])
        .env("LAUNCHGATE_PARTNER_KEY", CANARY)
        .env("LAUNCHGATE_VENDOR_KEY", VENDOR_CANARY)
        .timeout(Duration::from_secs(90))
        .output()
        .out;
    assert_eq!(o.code, 1, "{}", o.stderr);
    let mut artifacts = vec![
        ("stdout".to_string(), o.stdout),
        ("stderr".to_string(), o.stderr),
    ];
    artifacts.extend(
        reports::files_under(dir.path())
            .into_iter()
            .filter(|(p, _)| !p.ends_with(".yaml")),
    );
    assert!(
        artifacts.iter().any(|(p, _)| p.contains("snapshots")),
        "a snapshot was recorded"
    );
    assert!(artifacts.iter().any(|(p, _)| p.ends_with("report.html")));
    let mut leaks = Vec::new();
    for secret in [CANARY, VENDOR_CANARY] {
        let tail = secret.rsplit_once('_').map_or(secret, |(_, t)| t);
        let mut probes: Vec<String> =
            vec![tail[2..14].to_string(), tail[tail.len() - 12..].to_string()];
        for form in encoded_forms(secret) {
            let mid = form.len() / 2;
            probes.push(form[mid - 6..mid + 6].to_string());
        }
        for probe in probes {
            for (what, text) in &artifacts {
                if text.contains(&probe) {
                    leaks.push(format!("{what}: `{probe}`"));
                }
            }
        }
    }
    assert!(leaks.is_empty(), "leaks:\n{}", leaks.join("\n"));
}

/// A placeholder `rl_agent_` in a secrets file used to become a "secret" whose
/// replacement cut every unknown key in two, unmasking its 40 characters.
#[test]
fn a_placeholder_key_in_a_secrets_file_does_not_unmask_unknown_keys() {
    let unknown = format!("rl_agent_{}", &"Unknown7Key9Tail".repeat(3)[..40]);
    let echoed = unknown.clone();
    let s = serve(move |mut s, ctx| {
        read_head(&mut s);
        let body = serde_json::json!({ "ok": false, "leak": echoed }).to_string();
        respond(
            &mut s,
            ctx,
            "200 OK",
            &[("Content-Type", "application/json"), ("X-Other", &echoed)],
            body.as_bytes(),
        );
    });
    let dir = tempfile::tempdir().unwrap();
    let secrets = dir.path().join("staging.env");
    std::fs::write(&secrets, "LAUNCHGATE_MEMBER_KEY=rl_agent_\n").unwrap();
    let o = run(
        &s.url(),
        SCENARIO,
        &["--secrets", secrets.to_str().unwrap()],
    );
    assert_reason(&o, "failed", &["$.ok"]);
    let all = format!("{}{}{}{}", o.stdout, o.stderr, o.junit, o.json);
    assert!(!all.contains(&unknown[9..30]), "{}", clip(&all));
    assert!(all.contains("rl_agent_***"));
}
