//! launchgate's webhook receiver and webhook tools against hostile input, with
//! the real binary over loopback: the receiver stores only authenticated
//! deliveries (its URL's path token, or the webhook secret's signature), bounds
//! each body and everything it keeps; `webhook send` blames a bad header on the
//! caller; `webhook sign` refuses an endless input.

use crate::common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::bin;
use common::tcp::free_port;
use serde_json::Value;

const TOKEN: &str = "tok-0123456789abcdef";
const SECRET: &str = "whsec_receiver-test-secret";

/// One HTTP/1.1 POST on a fresh connection; the status code.
fn post(port: u16, path: &str, headers: &[(&str, String)], body: &[u8]) -> u16 {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut head = format!(
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (n, v) in headers {
        head.push_str(&format!("{n}: {v}\r\n"));
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes()).unwrap();
    // A refused large body may be cut off mid-write: the answer still comes.
    let _ = s.write_all(body);
    let mut answer = String::new();
    let _ = s.read_to_string(&mut answer);
    answer
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
}

fn event(id: usize, pad: usize) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({"id": format!("evt_{id}"), "pad": "x".repeat(pad)}))
        .unwrap()
}

#[test]
fn the_receiver_stores_only_authenticated_deliveries_within_its_bounds() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let posts = 200;
    std::fs::write(
        dir.path().join("target.yaml"),
        "name: t\nbase_url: http://127.0.0.1:9\nkeys:\n  webhook_secret: WH_SECRET\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("wait.yaml"),
        format!(
            r#"cases:
  - name: wait for the posts
    steps:
      - receive:
          within: 60s
          until:
            json:
              $.received: {{ge: {n}}}
        capture:
          count: {{json: $.count}}
          received: {{json: $.received}}
          bytes: {{json: $.stored_bytes}}
          refused: {{json: $.refused_unauthenticated}}
          why: {{json: $.last_refusal}}
          url: {{json: $.url}}
        record:
          count: "{{{{ vars.count }}}}"
          received: "{{{{ vars.received }}}}"
          bytes: "{{{{ vars.bytes }}}}"
          refused: "{{{{ vars.refused }}}}"
          why: "{{{{ vars.why }}}}"
          url: "{{{{ vars.url }}}}"
"#,
            n = posts + 2
        ),
    )
    .unwrap();
    let mut child = common::process()
        .current_dir(dir.path())
        .env("WH_SECRET", SECRET)
        .args(["run", "wait.yaml", "--target", "target.yaml", "-q"])
        .args(["--webhook-listen", &format!("127.0.0.1:{port}")])
        .args([
            "--webhook-token",
            TOKEN,
            "--junit",
            "j.xml",
            "--json",
            "r.json",
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let t0 = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            t0.elapsed() < Duration::from_secs(30),
            "the receiver never listened"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // Neither the token nor a signature: refused, not stored.
    assert_eq!(post(port, "/webhooks", &[], &event(0, 10)), 401);
    // Signed with the webhook secret, at any path: stored.
    let signed = event(1, 10);
    let sig = launchgate::signature::sign(SECRET.as_bytes(), &signed);
    assert_eq!(
        post(port, "/hooks", &[("X-Signature-256", sig)], &signed),
        200
    );
    // The URL's token, unsigned: stored.
    let path = format!("/webhooks/{TOKEN}");
    assert_eq!(post(port, &path, &[], &event(2, 10)), 200);
    // Over the body bound: refused.
    assert_eq!(post(port, &path, &[], &event(3, 300 * 1024)), 413);
    // 200 bodies of 200 KB (40 MB): the oldest are forgotten to stay within 8 MiB.
    for i in 0..posts {
        assert_eq!(post(port, &path, &[], &event(10 + i, 200 * 1024)), 200);
    }
    let status = child.wait().unwrap();
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("r.json")).unwrap()).unwrap();
    assert!(status.success(), "{report}");
    let rec = &report["suites"][0]["cases"][0]["steps"][0]["records"];
    let num = |k: &str| rec[k].as_u64().unwrap_or(0);
    assert_eq!(num("received"), posts as u64 + 2, "{rec}");
    assert_eq!(num("refused"), 1, "{rec}");
    assert!(num("bytes") <= 8 * 1024 * 1024, "{rec}");
    assert!(num("count") < posts as u64, "oldest forgotten: {rec}");
    assert!(
        rec["why"]
            .as_str()
            .unwrap()
            .contains("path token is missing"),
        "{rec}"
    );
    // The token is a secret: never in a report.
    assert!(!report.to_string().contains(TOKEN), "{report}");
}

#[test]
fn webhook_send_blames_an_invalid_header_on_the_caller() {
    let o = bin()
        .env("WH", "s3cret")
        .args([
            "webhook",
            "send",
            "http://127.0.0.1:9/hooks",
            "--secret-env",
            "WH",
        ])
        .args(["--signature-header", "X Bad:Header"])
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("not a valid HTTP header name"), "{err}");
    assert!(!err.contains("never answered"), "{err}");
}

#[test]
fn webhook_sign_refuses_an_endless_input() {
    let o = bin()
        .env("WH", "s3cret")
        .args(["webhook", "sign", "--secret-env", "WH", "/dev/zero"])
        .timeout(Duration::from_secs(120))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("larger than 16 MiB"), "{err}");
}

/// The receiver is served like the mocks: a connection that never finishes its
/// headers is closed after the header timeout, connections past the bound are
/// closed on arrival, and deliveries still get through.
#[tokio::test]
async fn the_receiver_closes_stalled_connections_and_bounds_them() {
    use launchgate::receiver::{Receiver, ReceiverOptions};
    use launchgate::ServerLimits;
    let receiver = Receiver::start(ReceiverOptions {
        token: Some(TOKEN.into()),
        server: ServerLimits {
            header_timeout: Duration::from_millis(500),
            max_connections: 4,
            ..ServerLimits::default()
        },
        ..Default::default()
    })
    .await
    .unwrap();
    let port = receiver.local_addr().port();
    let stalled = tokio::task::spawn_blocking(move || {
        let mut held = Vec::new();
        for _ in 0..8 {
            let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
            // Headers started, never finished.
            let _ = s.write_all(b"POST /webhooks HTTP/1.1\r\nHost: x\r\n");
            held.push(s);
        }
        // Every one is closed by the receiver (EOF or reset) well within a generous
        // deadline shared by all, none left hanging.
        let deadline = Instant::now() + Duration::from_secs(30);
        held.into_iter()
            .filter(|mut s| {
                let left = deadline.saturating_duration_since(Instant::now());
                s.set_read_timeout(Some(left.max(Duration::from_millis(1))))
                    .unwrap();
                let mut buf = [0u8; 256];
                !matches!(s.read(&mut buf), Err(e) if matches!(e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut))
            })
            .count()
    })
    .await
    .unwrap();
    assert_eq!(stalled, 8, "stalled connections left open");
    let path = format!("/webhooks/{TOKEN}");
    let status = tokio::task::spawn_blocking(move || post(port, &path, &[], &event(1, 10)))
        .await
        .unwrap();
    assert_eq!(status, 200);
    assert_eq!(receiver.snapshot(None)["count"], 1);
    receiver.shutdown().await;
}
