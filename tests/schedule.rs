//! The scheduler (issue 19), seen from a real target over loopback, without timing
//! assertions: the case with the longest chain starts first; a case sleeping on a
//! `wait:` holds no slot, so another runs meanwhile even at `-j 1`; and requests
//! with one key never outnumber what the target advertises in
//! `X-RateLimit-Remaining`, so launchgate does not provoke a 429 itself.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::common::bin;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use parking_lot::Mutex;

/// What the stub target saw: paths in arrival order, concurrency, 429s.
#[derive(Default)]
struct Seen {
    order: Vec<String>,
    in_flight: usize,
    max_in_flight: usize,
    served_429: usize,
    /// Requests counted in the current rate-limit window, and when it ends (Unix s).
    window_count: u64,
    window_end: u64,
}

#[derive(Clone)]
struct Stub {
    seen: Arc<Mutex<Seen>>,
    /// Requests per window before a 429; `None`: no rate limit, no headers.
    limit: Option<u64>,
    hold: Duration,
}

fn now_s() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

async fn serve(State(stub): State<Stub>, uri: axum::http::Uri, _h: HeaderMap) -> Response {
    let headers = {
        let mut s = stub.seen.lock();
        s.order.push(uri.path().to_string());
        s.in_flight += 1;
        s.max_in_flight = s.max_in_flight.max(s.in_flight);
        let now = now_s();
        if now >= s.window_end {
            s.window_end = now + 1;
            s.window_count = 0;
        }
        s.window_count += 1;
        match stub.limit {
            Some(l) if s.window_count > l => {
                s.served_429 += 1;
                Some((StatusCode::TOO_MANY_REQUESTS, l, 0, s.window_end))
            }
            Some(l) => Some((StatusCode::OK, l, l - s.window_count, s.window_end)),
            None => None,
        }
    };
    tokio::time::sleep(stub.hold).await;
    stub.seen.lock().in_flight -= 1;
    match headers {
        None => StatusCode::OK.into_response(),
        Some((status, limit, remaining, reset)) => {
            let mut r = status.into_response();
            let h = r.headers_mut();
            h.insert("x-ratelimit-limit", limit.into());
            h.insert("x-ratelimit-remaining", remaining.into());
            h.insert("x-ratelimit-reset", reset.into());
            if status == StatusCode::TOO_MANY_REQUESTS {
                h.insert("retry-after", (reset.saturating_sub(now_s())).max(1).into());
            }
            r
        }
    }
}

/// Starts the stub; its base URL.
async fn start(stub: Stub) -> String {
    let app = axum::Router::new().fallback(get(serve)).with_state(stub);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

const KEY: &str = "rl_agent_SCHEDULEtest0123456789abcdefghijklmnopq";

/// Runs `yaml` against `url` with these extra arguments; exit code and stdout+stderr.
async fn run(url: &str, yaml: String, extra: &[&str]) -> (Option<i32>, String) {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("cases.yaml");
    std::fs::write(&f, yaml).unwrap();
    let (url, extra) = (
        url.to_string(),
        extra.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
    );
    let d = dir.path().to_path_buf();
    let o = tokio::task::spawn_blocking(move || {
        bin()
            .arg("run")
            .arg(&f)
            .args(["--target", &url])
            .args(&extra)
            .arg("--junit")
            .arg(d.join("junit.xml"))
            .arg("--json")
            .arg(d.join("report.json"))
            .env("LAUNCHGATE_PARTNER_KEY", KEY)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let out = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    (o.status.code(), out)
}

fn case(name: &str, steps: &[&str]) -> String {
    let mut s = format!("  - name: {name}\n    steps:\n");
    for step in steps {
        s += step;
    }
    s
}

fn request(path: &str) -> String {
    format!("      - request: {{path: {path}, headers: {{X-Agent-Key: \"{{{{ keys.partner }}}}\"}}}}\n        expect: {{status: 200}}\n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_case_with_the_longest_chain_starts_first() {
    let stub = Stub {
        seen: Arc::default(),
        limit: None,
        hold: Duration::ZERO,
    };
    let url = start(stub.clone()).await;
    // In file order: short, medium, long. The long one waits, so it must start first.
    // (Which of the others follows is not fixed: both wait for the first answer with
    // the key, which tells its rate-limit budget, and then race for the free slot.)
    let yaml = format!(
        "cases:\n{}{}{}",
        case("short", &[&request("/short")]),
        case("medium", &[&request("/medium-1"), &request("/medium-2")]),
        case(
            "long",
            &[
                &request("/long-1"),
                "      - wait: 300ms\n        request: {path: /long-2}\n        expect: {status: 200}\n",
            ]
        ),
    );
    let (code, out) = run(&url, yaml, &["--jobs", "1"]).await;
    assert_eq!(code, Some(0), "{out}");
    let order = stub.seen.lock().order.clone();
    assert_eq!(order.len(), 5, "{order:?}");
    assert_eq!(
        order[0], "/long-1",
        "the longest chain goes first: {order:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sleeping_case_holds_no_slot_even_at_one_job() {
    let stub = Stub {
        seen: Arc::default(),
        limit: None,
        hold: Duration::ZERO,
    };
    let url = start(stub.clone()).await;
    // The first case sleeps 2 s between its requests: at -j 1 the other case must
    // run meanwhile, not after it.
    let yaml = format!(
        "cases:\n{}{}",
        case(
            "sleeper",
            &[
                &request("/sleeper-1"),
                "      - wait: 2s\n        request: {path: /sleeper-2}\n        expect: {status: 200}\n",
            ]
        ),
        case("other", &[&request("/other")]),
    );
    let (code, out) = run(&url, yaml, &["--jobs", "1"]).await;
    assert_eq!(code, Some(0), "{out}");
    let order = stub.seen.lock().order.clone();
    assert_eq!(
        order,
        ["/sleeper-1", "/other", "/sleeper-2"],
        "the other case ran while the first slept"
    );
}

/// Eight one-request cases with one key, eight jobs.
fn eight_cases() -> String {
    let mut yaml = String::from("cases:\n");
    for i in 0..8 {
        yaml += &case(&format!("case {i}"), &[&request(&format!("/r{i}"))]);
    }
    yaml
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_never_outnumber_the_advertised_remaining_budget() {
    // 2 requests per window, each held 300 ms so that anything sent together
    // overlaps: eight cases ready at -j 8 go two at a time, never more.
    let stub = Stub {
        seen: Arc::default(),
        limit: Some(2),
        hold: Duration::from_millis(300),
    };
    let url = start(stub.clone()).await;
    let (code, out) = run(&url, eight_cases(), &["--jobs", "8"]).await;
    assert_eq!(code, Some(0), "{out}");
    let s = stub.seen.lock();
    assert_eq!(s.order.len(), 8, "{:?}", s.order);
    assert_eq!(s.served_429, 0, "{out}");
    assert_eq!(
        s.max_in_flight, 2,
        "at most the 2 advertised, and as many as that"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_exhausted_budget_waits_for_the_reset_instead_of_provoking_429s() {
    // 3 requests per 1 s window, counted honestly, 429 beyond.
    let stub = Stub {
        seen: Arc::default(),
        limit: Some(3),
        hold: Duration::from_millis(50),
    };
    let url = start(stub.clone()).await;
    let (code, out) = run(&url, eight_cases(), &["--jobs", "8"]).await;
    assert_eq!(code, Some(0), "{out}");
    let s = stub.seen.lock();
    assert_eq!(s.order.len(), 8, "no request was sent twice: {:?}", s.order);
    assert_eq!(s.served_429, 0, "launchgate provoked a 429");
    assert!(s.max_in_flight <= 3, "{}", s.max_in_flight);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_wait_is_told_when_it_starts_and_when_it_ends_and_the_report_says_why() {
    let stub = Stub {
        seen: Arc::default(),
        limit: None,
        hold: Duration::ZERO,
    };
    let url = start(stub.clone()).await;
    let yaml = format!(
        "cases:\n{}",
        case(
            "pauses",
            &[
                &request("/one"),
                "      - wait: 1s\n        request: {path: /two}\n        expect: {status: 200}\n",
            ]
        ),
    );
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("cases.yaml");
    std::fs::write(&f, yaml).unwrap();
    let json = dir.path().join("report.json");
    let (j, u) = (json.clone(), url.clone());
    let o = tokio::task::spawn_blocking(move || {
        bin()
            .arg("run")
            .arg(&f)
            .args(["--target", &u, "--json"])
            .arg(&j)
            .arg("--junit")
            .arg(j.with_extension("xml"))
            .env("LAUNCHGATE_PARTNER_KEY", KEY)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{stderr}");
    // Without a terminal: one line as the wait starts, one as it ends, present tense.
    let start = stderr
        .find("cases::pauses` waits 1s (wait:)")
        .unwrap_or_else(|| panic!("no start line: {stderr}"));
    let end = stderr
        .find("cases::pauses` resumes after 1s")
        .unwrap_or_else(|| panic!("no end line: {stderr}"));
    assert!(start < end, "{stderr}");
    assert!(
        !stderr[..end].contains("waited"),
        "no past tense while it waits: {stderr}"
    );
    // The report says how long the run waited and why, and the connections apart.
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let e = &report["execution"];
    assert_eq!(e["waited"][0]["cause"], "wait", "{e}");
    assert!(e["waited"][0]["ms"].as_u64().unwrap() >= 1000, "{e}");
    assert!(e["connections"]["opened"].as_u64().unwrap() >= 1, "{e}");
    assert_eq!(e["jobs"], 8, "a URL target gets more jobs by default: {e}");
    let step = &report["suites"][0]["cases"][0]["steps"][1];
    assert_eq!(step["method"], "GET");
    assert_eq!(step["path_template"], "/two");
    assert_eq!(step["waits"][0]["cause"], "wait", "{step}");
}

/// `--list` needs the plan, never a server: it starts neither the embedded mock nor
/// the webhook receiver (here: a listen address already taken, which a started
/// receiver could not bind).
#[test]
fn listing_starts_no_server() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let o = bin()
        .args([
            "run",
            "--api",
            "giftcard",
            "--list",
            "--webhook-listen",
            &addr,
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(stdout.contains("giftcard.webhooks::"), "{stdout}");
    assert!(
        !String::from_utf8_lossy(&o.stderr).contains("webhook receiver at"),
        "no receiver started"
    );
}
