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
//! Every hostile server is a std `TcpListener` on 127.0.0.1:0 with a bounded life:
//! it stops when the test drops it, or after [`SERVER_LIFETIME`] at the latest.

use crate::common;

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use base64::Engine;

/// A canary partner key: key-shaped, so every redaction layer applies.
const CANARY: &str = "rl_agent_Zq9CANARYkq27HostileEcho0123456789abcdef";

/// No hostile server lives longer than this, whatever the test does.
const SERVER_LIFETIME: Duration = Duration::from_secs(40);

/// What a connection handler can see: whether to stop, and a byte counter.
#[derive(Clone)]
struct Ctx {
    stop: Arc<AtomicBool>,
    born: Instant,
    /// Bytes of response the server managed to write (all connections).
    sent: Arc<AtomicU64>,
}

impl Ctx {
    fn done(&self) -> bool {
        self.stop.load(Ordering::Relaxed) || self.born.elapsed() > SERVER_LIFETIME
    }

    /// Writes everything or gives up (client gone, or time to stop).
    fn write(&self, s: &mut TcpStream, bytes: &[u8]) -> bool {
        if self.done() {
            return false;
        }
        match s.write_all(bytes) {
            Ok(()) => {
                self.sent.fetch_add(bytes.len() as u64, Ordering::Relaxed);
                true
            }
            Err(_) => false,
        }
    }
}

struct Hostile {
    port: u16,
    ctx: Ctx,
    accept: Option<JoinHandle<()>>,
}

impl Hostile {
    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for Hostile {
    fn drop(&mut self) {
        self.ctx.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.accept.take() {
            let _ = h.join();
        }
    }
}

/// Starts a server that runs `handler` on a thread per connection.
fn hostile<F>(handler: F) -> Hostile
where
    F: Fn(TcpStream, &Ctx) + Send + Sync + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    let port = listener.local_addr().unwrap().port();
    listener.set_nonblocking(true).unwrap();
    let ctx = Ctx {
        stop: Arc::default(),
        born: Instant::now(),
        sent: Arc::default(),
    };
    let handler = Arc::new(handler);
    let c = ctx.clone();
    let accept = std::thread::spawn(move || {
        while !c.done() {
            match listener.accept() {
                Ok((stream, _)) => {
                    let _ = stream.set_nonblocking(false);
                    let _ = stream.set_write_timeout(Some(Duration::from_secs(5)));
                    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
                    let h = handler.clone();
                    let c2 = c.clone();
                    std::thread::spawn(move || h(stream, &c2));
                }
                Err(_) => std::thread::sleep(Duration::from_millis(5)),
            }
        }
    });
    Hostile {
        port,
        ctx,
        accept: Some(accept),
    }
}

/// Reads a request head (up to the blank line, at most 64 KiB).
fn read_head(s: &mut TcpStream) -> String {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1024];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") && buf.len() < 64 * 1024 {
        match s.read(&mut byte) {
            Ok(0) | Err(_) => break,
            Ok(n) => buf.extend_from_slice(&byte[..n]),
        }
    }
    String::from_utf8_lossy(&buf).into_owned()
}

/// A complete response with a Content-Length.
fn respond(s: &mut TcpStream, ctx: &Ctx, status: &str, headers: &[(&str, &str)], body: &[u8]) {
    let mut head = format!("HTTP/1.1 {status}\r\nContent-Length: {}\r\n", body.len());
    for (n, v) in headers {
        head.push_str(&format!("{n}: {v}\r\n"));
    }
    head.push_str("Connection: close\r\n\r\n");
    if ctx.write(s, head.as_bytes()) {
        ctx.write(s, body);
    }
    let _ = s.flush();
    let _ = s.shutdown(Shutdown::Write);
    // Let the client read before the socket closes (a close with unread input resets).
    let _ = read_head(s);
}

/// At most 3000 characters of `s`, so a failing assertion does not flood the log.
fn clip(s: &str) -> String {
    if s.chars().count() <= 3000 {
        return s.to_string();
    }
    let head: String = s.chars().take(3000).collect();
    format!("{head}… ({} bytes)", s.len())
}

use common::bin;

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
    let junit = dir.join("junit.xml");
    let json = dir.join("report.json");
    let o = bin()
        .arg("run")
        .arg(scenario)
        .args(["--target", url, "--timeout", "1s", "--deadline", "20s"])
        .args(extra)
        .arg("--junit")
        .arg(&junit)
        .arg("--json")
        .arg(&json)
        .arg("--snapshots")
        .arg(dir.join("snapshots"))
        .env("LAUNCHGATE_PARTNER_KEY", CANARY)
        // A backstop only: the deadline (20 s) must end every run long before this.
        .timeout(Duration::from_secs(90))
        .output()
        .expect("runs");
    let out = Out {
        code: o.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        junit: std::fs::read_to_string(&junit).unwrap_or_default(),
        json: serde_json::from_str(&std::fs::read_to_string(&json).unwrap_or_default())
            .unwrap_or(serde_json::Value::Null),
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

#[test]
fn slowloris_headers_time_out() {
    let s = hostile(|mut s, ctx| {
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
    });
    let o = run(&s.url(), SCENARIO, &[]);
    assert_eq!(o.code, 3, "no HTTP response ever arrived");
    assert_reason(&o, "errored", &["no complete response within 1s"]);
}

#[test]
fn a_body_that_never_ends_times_out() {
    let s = hostile(|mut s, ctx| {
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
    });
    let o = run(&s.url(), SCENARIO, &[]);
    assert_reason(&o, "errored", &["no complete response within 1s"]);
}

#[test]
fn an_endless_fast_body_is_cut_at_the_cap_and_not_read_further() {
    const OFFERED: u64 = 256 * 1024 * 1024;
    let s = hostile(|mut s, ctx| {
        read_head(&mut s);
        let head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n";
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
    });
    let o = run(&s.url(), SCENARIO, &[]);
    assert_reason(&o, "failed", &["cut at 1048576 bytes"]);
    // Memory stays bounded: the client stopped reading right after the cap, so the
    // server could not push more than the cap plus the kernel's socket buffers.
    let sent = s.ctx.sent.load(Ordering::Relaxed);
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

#[test]
fn a_10_mb_body_is_cut_at_the_documented_cap() {
    assert_eq!(launchgate::http::DEFAULT_BODY_CAP, 1024 * 1024);
    let s = hostile(|mut s, ctx| {
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
    });
    let o = run(&s.url(), SCENARIO, &[]);
    assert_reason(&o, "failed", &["cut at 1048576 bytes"]);
    assert!(o.stdout.contains("body cut"), "{}", o.stdout);
}

#[test]
fn invalid_utf8_where_json_is_expected() {
    let s = hostile(|mut s, ctx| {
        read_head(&mut s);
        respond(
            &mut s,
            ctx,
            "200 OK",
            &[("Content-Type", "application/json")],
            b"\xff\xfe{\"ok\": \xc3\x28 \x00\x1b[31m}",
        );
    });
    let o = run(&s.url(), SCENARIO, &[]);
    assert_reason(&o, "failed", &["not JSON"]);
}

#[test]
fn html_where_json_is_expected() {
    let s = hostile(|mut s, ctx| {
        read_head(&mut s);
        respond(
            &mut s,
            ctx,
            "200 OK",
            &[("Content-Type", "application/json")],
            b"<html><body>502 Bad Gateway</body></html>",
        );
    });
    let o = run(&s.url(), SCENARIO, &[]);
    assert_reason(&o, "failed", &["not JSON"]);
}

#[test]
fn json_with_the_wrong_content_type() {
    let s = hostile(|mut s, ctx| {
        read_head(&mut s);
        respond(
            &mut s,
            ctx,
            "200 OK",
            &[("Content-Type", "text/html; charset=utf-8")],
            b"{\"ok\": true}",
        );
    });
    let o = run(&s.url(), SCENARIO, &[]);
    assert_reason(&o, "failed", &["Content-Type", "content-type"]);
}

#[test]
fn connection_reset_mid_body() {
    let s = hostile(|mut s, ctx| {
        // Read only part of the request: closing with unread input makes the kernel
        // send RST instead of FIN.
        let mut part = [0u8; 8];
        let _ = s.read_exact(&mut part);
        std::thread::sleep(Duration::from_millis(50));
        let head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"ok\": tr";
        ctx.write(&mut s, head.as_bytes());
        let _ = s.flush();
        std::thread::sleep(Duration::from_millis(100));
        drop(s);
    });
    let o = run(&s.url(), SCENARIO, &[]);
    assert_reason(
        &o,
        "errored",
        &["body broke off", "connection", "cannot connect"],
    );
}

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

#[test]
fn redirect_loop() {
    let s = hostile(|mut s, ctx| {
        read_head(&mut s);
        respond(&mut s, ctx, "302 Found", &[("Location", "/x")], b"");
    });
    let o = run(&s.url(), SCENARIO, &[]);
    assert_reason(&o, "errored", &["too many redirects"]);
}

#[test]
fn tls_to_a_plain_http_server() {
    let s = hostile(|mut s, ctx| {
        // A ClientHello has no blank line: read once, answer in plain HTTP, as nginx does.
        let mut hello = [0u8; 4096];
        let _ = s.read(&mut hello);
        ctx.write(
            &mut s,
            b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n",
        );
        let _ = s.read(&mut hello);
    });
    let url = format!("https://127.0.0.1:{}", s.port);
    let o = run(&url, SCENARIO, &[]);
    assert_eq!(o.code, 3);
    assert_reason(&o, "errored", &["TLS handshake failed"]);
}

#[test]
fn tls_to_a_server_that_sends_garbage() {
    let s = hostile(|mut s, ctx| {
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
    });
    let url = format!("https://127.0.0.1:{}", s.port);
    let o = run(&url, SCENARIO, &[]);
    assert_eq!(o.code, 3);
    assert_reason(&o, "errored", &["TLS handshake failed"]);
}

#[test]
fn plain_http_garbage_instead_of_a_response() {
    let s = hostile(|mut s, ctx| {
        read_head(&mut s);
        ctx.write(&mut s, b"\x16\x03\x01\x00\xffNOT HTTP AT ALL\r\n\r\n");
        let _ = read_head(&mut s);
    });
    let o = run(&s.url(), SCENARIO, &[]);
    assert_eq!(o.code, 3);
    assert_reason(&o, "errored", &["connection failed", "no response"]);
}

/// A 429 whose Retry-After is bigger than u64: not "malformed, wait 1 s and retry",
/// but far above --max-wait, so not retried at all.
#[test]
fn http_429_with_a_huge_retry_after() {
    let s = hostile(|mut s, ctx| {
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
    });
    let o = run(&s.url(), SCENARIO, &[]);
    assert_reason(&o, "failed", &["expected 200, got 429"]);
    let notes = o.notes();
    assert!(
        notes.iter().any(|n| n.contains("not retried")),
        "{}",
        clip(&format!("{notes:?}"))
    );
    assert_eq!(
        o.json["requests_sent"], 1,
        "a wait that cannot be honoured is not waited for"
    );
}

/// A Retry-After within --max-wait but beyond the run deadline: waiting would only
/// burn the deadline for every case behind this one.
#[test]
fn http_429_with_a_retry_after_beyond_the_deadline() {
    let s = hostile(|mut s, ctx| {
        read_head(&mut s);
        respond(
            &mut s,
            ctx,
            "429 Too Many Requests",
            &[("Retry-After", "100"), ("Content-Type", "application/json")],
            b"{\"error\": true}",
        );
    });
    let o = run(&s.url(), SCENARIO, &[]);
    assert_reason(&o, "failed", &["expected 200, got 429"]);
    let notes = o.notes();
    assert!(
        notes.iter().any(|n| n.contains("not retried")),
        "{}",
        clip(&format!("{notes:?}"))
    );
}

/// A malformed and huge Retry-After: retried after the default pause, and the notes
/// do not repeat 16 KiB of garbage.
#[test]
fn http_429_with_a_malformed_huge_retry_after() {
    let s = hostile(|mut s, ctx| {
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
    });
    let o = run(&s.url(), SCENARIO, &[]);
    assert_reason(&o, "failed", &["expected 200, got 429"]);
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

/// The server echoes the key everywhere it can: raw, base64, URL-encoded, in
/// headers (including ones not on the secret-header list), in the body, the whole
/// request head, and placed so that the 2000-character excerpt cuts it in half.
#[test]
fn a_key_echoing_server_cannot_leak_it() {
    let s = hostile(|mut s, ctx| {
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

/// A standalone `launchgate mock` on a free port; killed on drop.
struct StandaloneMock {
    child: std::process::Child,
    url: String,
}

impl StandaloneMock {
    fn start(fixtures: &Path, quirks: &[&str]) -> StandaloneMock {
        use std::io::BufRead;
        let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("launchgate"));
        cmd.args(["mock", "--port", "0", "--rate-window", "2s", "--fixtures"])
            .arg(fixtures)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null());
        for q in quirks {
            cmd.args(["--quirk", q]);
        }
        let mut child = cmd.spawn().expect("mock starts");
        let mut first = String::new();
        let stdout = child.stdout.take().expect("piped");
        let mut reader = std::io::BufReader::new(stdout);
        reader.read_line(&mut first).expect("mock prints its URL");
        // Keep draining: a closed pipe would make the mock's next println! fail.
        std::thread::spawn(move || std::io::copy(&mut reader, &mut std::io::sink()));
        let url = first.trim().rsplit(' ').next().expect("a URL").to_string();
        assert!(url.starts_with("http://127.0.0.1:"), "{first}");
        StandaloneMock { child, url }
    }
}

impl Drop for StandaloneMock {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

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

/// A plain HTTP/1.0 GET over loopback; the body.
fn http_get(base: &str, path: &str) -> String {
    let addr = base.trim_start_matches("http://");
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(s, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").unwrap();
    let mut text = String::new();
    let _ = s.read_to_string(&mut text);
    text.split_once("\r\n\r\n")
        .map(|x| x.1.to_string())
        .unwrap_or_default()
}

/// Every file under `dir`, as text.
fn files_under(dir: &Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(files_under(&p));
            } else if let Ok(bytes) = std::fs::read(&p) {
                out.push((
                    p.display().to_string(),
                    String::from_utf8_lossy(&bytes).into_owned(),
                ));
            }
        }
    }
    out
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
    let probe = StandaloneMock::start(&fixtures, &[]);
    let fx: serde_json::Value =
        serde_json::from_str(&http_get(&probe.url, "/__launchgate/fixtures"))
            .expect("the mock lists its fixtures");
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
        let mock = StandaloneMock::start(&fixtures, quirks);
        std::fs::write(
            &target,
            format!(
                "name: canary\nbase_url: {}\nintegration_key: partner\nrole: partner\nneeds: [read, \"write:transactions\", \"write:rewards\"]\n",
                mock.url
            ),
        )
        .unwrap();
        let out_dir = dir.path().join(label);
        let mut c = bin();
        c.args(["run", "--target"])
            .arg(&target)
            .args([
                "--allow-writes",
                // No referee report here: the launch decision is INCOMPLETE by design.
                "--allow-incomplete",
                "--update-snapshots",
                "--junit-profile",
                profile,
            ])
            .arg("--snapshots")
            .arg(out_dir.join("snapshots"))
            .arg("--junit")
            .arg(out_dir.join("junit.xml"))
            .arg("--json")
            .arg(out_dir.join("report.json"))
            .timeout(Duration::from_secs(240));
        for (k, v) in &env {
            c.env(k, v);
        }
        let o = c.output().unwrap();
        let code = o.status.code().unwrap_or(-1);
        let stdout: String = String::from_utf8_lossy(&o.stdout).into();
        artifacts.push((format!("{label} stdout"), stdout.clone()));
        artifacts.push((
            format!("{label} stderr"),
            String::from_utf8_lossy(&o.stderr).into(),
        ));
        artifacts.extend(files_under(&out_dir));
        (code, stdout)
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
    let s = hostile(|mut s, ctx| {
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
        let mut c = bin();
        c.arg("run")
            .arg(&f)
            .args(["--target", &s.url(), "--timeout", "1s", "--deadline", "20s"])
            .args(["--update-snapshots", "--junit-profile", profile])
            .arg("--snapshots")
            .arg(d.join("snapshots"))
            .arg("--junit")
            .arg(d.join("junit.xml"))
            .arg("--json")
            .arg(d.join("report.json"))
            .env("LAUNCHGATE_PARTNER_KEY", &pos)
            .timeout(Duration::from_secs(90));
        let o = c.output().unwrap();
        assert_eq!(o.status.code(), Some(1));
        artifacts.push((
            format!("echo {profile} stdout"),
            String::from_utf8_lossy(&o.stdout).into(),
        ));
        artifacts.push((
            format!("echo {profile} stderr"),
            String::from_utf8_lossy(&o.stderr).into(),
        ));
        let files = files_under(&d);
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

/// A `Retry-After: 1e300` captured and fed to `wait:` (the pattern the format docs
/// show) is an errored case with a reason, not a panic that drops the case.
#[test]
fn a_retry_after_of_1e300_fed_to_wait_errors_the_case() {
    let s = hostile(|mut s, ctx| {
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
    });
    let scenario = r#"cases:
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
    let o = run(&s.url(), scenario, &[]);
    assert_reason(&o, "errored", &["longest wait"]);
}

/// A server that records every request head it receives.
fn recorder() -> (Hostile, Arc<std::sync::Mutex<Vec<String>>>) {
    let seen: Arc<std::sync::Mutex<Vec<String>>> = Arc::default();
    let s2 = seen.clone();
    let s = hostile(move |mut s, ctx| {
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
    let s = hostile(move |mut s, ctx| {
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
    let s = hostile(move |mut s, ctx| {
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
    let s = hostile(move |mut s, ctx| {
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
    let s = hostile(move |mut s, ctx| {
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
        let s = hostile(move |mut s, ctx| {
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
    let s = hostile(|mut s, ctx| {
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
    let html = dir.path().join("report.html");
    let junit = dir.path().join("junit.xml");
    let json = dir.path().join("report.json");
    let o = bin()
        .arg("run")
        .arg(&f)
        .args(["--target", &s.url(), "--timeout", "1s", "--deadline", "20s"])
        .args(["--update-snapshots", "--html"])
        .arg(&html)
        .arg("--junit")
        .arg(&junit)
        .arg("--json")
        .arg(&json)
        .arg("--snapshots")
        .arg(dir.path().join("snapshots"))
        .env("LAUNCHGATE_PARTNER_KEY", CANARY)
        .env("LAUNCHGATE_VENDOR_KEY", VENDOR_CANARY)
        .timeout(Duration::from_secs(90))
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let mut artifacts = vec![
        (
            "stdout".to_string(),
            String::from_utf8_lossy(&o.stdout).into_owned(),
        ),
        (
            "stderr".to_string(),
            String::from_utf8_lossy(&o.stderr).into_owned(),
        ),
    ];
    artifacts.extend(
        files_under(dir.path())
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
    let s = hostile(move |mut s, ctx| {
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
