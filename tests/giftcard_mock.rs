//! The gift-card vendor mock over loopback HTTP (contract Part B), and the
//! `launchgate webhook` tools against a receiver in this process.

use std::sync::Arc;
use std::time::Duration;

use launchgate::giftcard::mock::{FIXTURE_API_KEY, FIXTURE_WEBHOOK_SECRET};
use launchgate::giftcard::{VendorMock, VendorOptions};
use launchgate::receiver::{Receiver, ReceiverOptions, Verify};
use serde_json::{json, Value};

async fn start(opts: VendorOptions) -> (VendorMock, reqwest::Client) {
    let m = VendorMock::start(opts, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    (m, reqwest::Client::new())
}

async fn post(
    c: &reqwest::Client,
    base: &str,
    body: &Value,
) -> (u16, reqwest::header::HeaderMap, Vec<u8>) {
    let r = c
        .post(format!("{base}/api/v1/orders"))
        .bearer_auth(FIXTURE_API_KEY)
        .json(body)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    (status, headers, r.bytes().await.unwrap().to_vec())
}

fn order(key: Option<&str>, amount: u32) -> Value {
    let mut v = json!({"customer_id": "c1", "brand_id": "GC_DEMO", "amount": amount, "currency": "USD", "reference": "r1"});
    if let Some(k) = key {
        v["idempotency_key"] = json!(k);
    }
    v
}

fn code(body: &[u8]) -> String {
    serde_json::from_slice::<Value>(body).unwrap()["code"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[tokio::test]
async fn idempotency_replays_refuses_and_requires_keys() {
    let (m, c) = start(VendorOptions::default()).await;
    let base = m.base_url();
    let (s1, h1, b1) = post(&c, base, &order(Some("k1"), 25)).await;
    assert_eq!(s1, 201);
    assert!(h1.get("idempotent-replayed").is_none());
    // Same body, keys in another order: the byte-identical original, marked as a replay.
    let reordered: Value = serde_json::from_str(
        r#"{"reference":"r1","currency":"USD","amount":25,"brand_id":"GC_DEMO","customer_id":"c1","idempotency_key":"k1"}"#,
    )
    .unwrap();
    let (s2, h2, b2) = post(&c, base, &reordered).await;
    assert_eq!((s2, &b2), (201, &b1));
    assert_eq!(h2["idempotent-replayed"], "true");
    let (s3, _, b3) = post(&c, base, &order(Some("k1"), 26)).await;
    assert_eq!((s3, code(&b3).as_str()), (409, "IDEMPOTENCY_KEY_REUSED"));
    let (s4, _, b4) = post(&c, base, &order(None, 25)).await;
    assert_eq!((s4, code(&b4).as_str()), (400, "IDEMPOTENCY_KEY_REQUIRED"));
    // No bearer key: 401.
    let r = c
        .post(format!("{base}/api/v1/orders"))
        .json(&order(Some("k2"), 25))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    // Garbage never panics the mock.
    for body in [
        "",
        "[]",
        "{\"amount\": -1}",
        "nul",
        "{\"idempotency_key\": 5}",
    ] {
        let r = c
            .post(format!("{base}/api/v1/orders"))
            .bearer_auth(FIXTURE_API_KEY)
            .body(body)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_client_error(), "{body}: {}", r.status());
    }
    let id = serde_json::from_slice::<Value>(&b1).unwrap()["id"].clone();
    let got: Value = c
        .get(format!("{base}/api/v1/orders/{}", id.as_str().unwrap()))
        .bearer_auth(FIXTURE_API_KEY)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(got["id"], id);
}

#[tokio::test]
async fn concurrent_duplicates_never_create_two_orders() {
    let (m, c) = start(VendorOptions::default()).await;
    let base = m.base_url().to_string();
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let c = c.clone();
        let base = base.clone();
        set.spawn(async move { post(&c, &base, &order(Some("same"), 25)).await });
    }
    let mut ok_bodies = std::collections::BTreeSet::new();
    while let Some(r) = set.join_next().await {
        let (s, _, b) = r.unwrap();
        match s {
            201 => {
                ok_bodies.insert(b);
            }
            409 => assert_eq!(code(&b), "IDEMPOTENCY_IN_PROGRESS"),
            other => panic!("unexpected {other}"),
        }
    }
    assert_eq!(ok_bodies.len(), 1);
    let rec: Value = c
        .get(format!("{base}/api/v1/reconciliation"))
        .bearer_auth(FIXTURE_API_KEY)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(rec["data"].as_array().unwrap().len(), 1, "{rec}");
}

#[tokio::test]
async fn reconciliation_pages_by_cursor_and_webhooks_are_signed_and_retried() {
    let receiver = Arc::new(
        Receiver::start(ReceiverOptions {
            refuse_first: 1,
            ..Default::default()
        })
        .await
        .unwrap(),
    );
    let (m, c) = start(VendorOptions {
        webhook_urls: vec![receiver.url().to_string()],
        webhook_backoff: Duration::from_millis(50),
        fulfil_after: Duration::from_millis(10),
        ..Default::default()
    })
    .await;
    let base = m.base_url();
    for i in 0..3 {
        post(&c, base, &order(Some(&format!("p{i}")), 25)).await;
    }
    let page = |cursor: Option<String>| {
        let c = c.clone();
        let base = base.to_string();
        async move {
            let mut url = format!("{base}/api/v1/reconciliation?limit=2");
            if let Some(cur) = cursor {
                url.push_str(&format!("&cursor={cur}"));
            }
            c.get(url)
                .bearer_auth(FIXTURE_API_KEY)
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        }
    };
    let p1 = page(None).await;
    assert_eq!(p1["data"].as_array().unwrap().len(), 2);
    let p2 = page(p1["next_cursor"].as_str().map(str::to_string)).await;
    assert_eq!(p2["data"].as_array().unwrap().len(), 1);
    assert_eq!(p2["next_cursor"], Value::Null);
    assert_eq!(p2["data"][0]["reference"], "r1");
    assert_eq!(p2["data"][0]["idempotency_key"], "p2");

    // Each order's webhook: refused once, then redelivered with the same event id.
    let verify = Verify::new(
        launchgate::signature::SchemeChoice::Auto,
        "X-Signature-256".into(),
        FIXTURE_WEBHOOK_SECRET.as_bytes().to_vec(),
        launchgate::signature::DEFAULT_TOLERANCE,
    );
    let mut changes = receiver.subscribe();
    let snap = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let s = receiver.snapshot(Some(&verify));
            let accepted = s["deliveries"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|d| d["accepted"] == true)
                .count();
            if accepted >= 3 {
                return s;
            }
            let _ = changes.changed().await;
        }
    })
    .await
    .expect("three accepted deliveries");
    for d in snap["deliveries"].as_array().unwrap() {
        assert_eq!(d["signature_valid"], true, "{d}");
        assert_eq!(d["type"], "order.fulfilled");
        if d["accepted"] == true {
            assert_eq!(d["attempt"], 2, "accepted on the retry of the same id: {d}");
        }
    }
}

use crate::common::bin;

#[test]
fn webhook_sign_prints_the_hex_hmac() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("body.json");
    std::fs::write(&f, "what do ya want for nothing?").unwrap();
    let o = bin()
        .args(["webhook", "sign", "--secret-env", "LG_TEST_SECRET"])
        .arg(&f)
        .env("LG_TEST_SECRET", "Jefe")
        .output()
        .unwrap();
    assert!(o.status.success());
    assert_eq!(
        String::from_utf8_lossy(&o.stdout).trim(),
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    );
    let o = bin()
        .args(["webhook", "sign", "--secret-env", "LG_UNSET_SECRET"])
        .arg(&f)
        .env_remove("LG_UNSET_SECRET")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("LG_UNSET_SECRET"));
}

/// A team's receiver: `strict` verifies the raw body in constant time; otherwise it accepts anything.
async fn team_receiver(strict: bool) -> (String, tokio::task::JoinHandle<()>) {
    use axum::body::Bytes;
    use axum::http::{HeaderMap, StatusCode};
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap, body: Bytes| async move {
            let sig = headers
                .get("x-signature-256")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            if !strict || launchgate::signature::verify(b"team-secret", &body, sig) {
                StatusCode::OK
            } else {
                StatusCode::UNAUTHORIZED
            }
        }),
    );
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", l.local_addr().unwrap());
    let task = tokio::spawn(async move {
        let _ = axum::serve(l, app).await;
    });
    (url, task)
}

#[test]
fn webhook_send_passes_a_verifying_receiver_and_fails_a_trusting_one() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    for (strict, code) in [(true, 0), (false, 1)] {
        let (url, task) = rt.block_on(team_receiver(strict));
        let o = bin()
            .args(["webhook", "send", &url, "--secret-env", "TEAM_SECRET"])
            .env("TEAM_SECRET", "team-secret")
            .output()
            .unwrap();
        let out = String::from_utf8_lossy(&o.stdout);
        assert_eq!(o.status.code(), Some(code), "{out}");
        assert!(!out.contains("team-secret"), "the secret is never printed");
        for v in [
            "signed",
            "tampered",
            "unsigned",
            "replayed",
            "re-serialised",
        ] {
            assert!(out.contains(v), "{v} missing in {out}");
        }
        if !strict {
            assert!(out.contains("tampered       accepted (HTTP 200)"), "{out}");
        }
        task.abort();
    }
    // Nobody listening: exit 3.
    let o = bin()
        .args([
            "webhook",
            "send",
            "http://127.0.0.1:9/hook",
            "--secret-env",
            "TEAM_SECRET",
            "--timeout",
            "2s",
        ])
        .env("TEAM_SECRET", "team-secret")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(3));
}

#[derive(clap::Parser)]
struct MockCli {
    #[command(flatten)]
    args: launchgate::cli::MockArgs,
}

#[test]
fn mock_flags_select_the_vendor_api_without_changing_the_agent_flags() {
    use clap::Parser;
    use launchgate::cli::MockApi;
    let a = MockCli::try_parse_from(["mock"]).unwrap().args;
    assert_eq!(a.api, MockApi::Agent);
    let a = MockCli::try_parse_from([
        "mock",
        "--api",
        "giftcard",
        "--vendor-quirk",
        "webhook-drop=0.25",
        "--vendor-quirk",
        "no-idempotency",
        "--webhook-url",
        "http://127.0.0.1:9000/hooks",
        "--seed",
        "3",
    ])
    .unwrap()
    .args;
    assert_eq!(a.api, MockApi::Giftcard);
    let o = a.vendor_options();
    assert_eq!(o.quirks.len(), 2);
    assert_eq!(o.quirks[0].rate, Some(0.25));
    assert_eq!(o.seed, 3);
    assert_eq!(o.webhook_urls, ["http://127.0.0.1:9000/hooks"]);
    let e = MockCli::try_parse_from(["mock", "--vendor-quirk", "nope"])
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("signature-over-reserialized-json"), "{e}");
}

/// `python3` with the independent webhook libraries (`.ci/run` installs them), or
/// `None` locally without them.
fn webhook_libraries() -> Option<std::path::PathBuf> {
    let ok = std::process::Command::new("python3")
        .args(["-c", "import standardwebhooks, stripe"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must install the webhook libraries: pip install standardwebhooks==1.1.0 stripe==16.1.0"
        );
        eprintln!("standardwebhooks/stripe not installed: skipped locally (CI installs them)");
        return None;
    }
    Some(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/webhook_libraries.py"))
}

/// The vendor mock's Standard Webhooks and Stripe dialects sign as the real
/// libraries verify (the `standardwebhooks` and `stripe` Python packages), and
/// launchgate's verifier recognises what those libraries sign: neither side is
/// checked only against our own code.
#[test]
fn signatures_interoperate_with_the_reference_libraries() {
    use launchgate::giftcard::VendorDialect;
    use launchgate::signature::{Scheme, SchemeChoice, Verifier, DEFAULT_TOLERANCE};
    use std::io::BufRead;
    let Some(script) = webhook_libraries() else {
        return;
    };
    let rt = tokio::runtime::Runtime::new().unwrap();
    for (dialect, scheme) in [
        (VendorDialect::StandardWebhooks, Scheme::StandardWebhooks),
        (VendorDialect::StripeLike, Scheme::Stripe),
    ] {
        // The mock's deliveries, verified by the library.
        let port = crate::common::tcp::free_port();
        let mut py = std::process::Command::new("python3")
            .arg(&script)
            .args([
                "receive",
                &port.to_string(),
                scheme.id(),
                FIXTURE_WEBHOOK_SECRET,
                "1",
            ])
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut lines = std::io::BufReader::new(py.stdout.take().unwrap()).lines();
        let listening = lines.next().unwrap().unwrap();
        assert!(listening.contains("listening"), "{listening}");
        rt.block_on(async {
            let (m, c) = start(VendorOptions {
                dialect,
                webhook_urls: vec![format!("http://127.0.0.1:{port}/hook")],
                ..Default::default()
            })
            .await;
            let r = c
                .post(format!("{}/api/v1/orders", m.base_url()))
                .bearer_auth(FIXTURE_API_KEY)
                .header("Idempotency-Key", "interop-1")
                .json(&order(None, 25))
                .send()
                .await
                .unwrap();
            assert!(r.status().is_success(), "{}", r.status());
        });
        let verdict = lines.next().unwrap().unwrap();
        assert_eq!(verdict, r#"{"ok": true}"#, "{}: {verdict}", scheme.id());
        let _ = py.wait();

        // What the library signs, recognised by launchgate.
        let dir = tempfile::tempdir().unwrap();
        let body = br#"{"id":"evt_lib","type":"order.fulfilled","data":{"order":{"id":"ord_1"}}}"#;
        std::fs::write(dir.path().join("b.json"), body).unwrap();
        let out = std::process::Command::new("python3")
            .arg(&script)
            .args(["sign", scheme.id(), FIXTURE_WEBHOOK_SECRET])
            .arg(dir.path().join("b.json"))
            .output()
            .unwrap();
        let headers: std::collections::BTreeMap<String, String> =
            serde_json::from_slice(&out.stdout).unwrap();
        let headers: Vec<(String, String)> = headers.into_iter().collect();
        let v = Verifier::new(
            SchemeChoice::Auto,
            "X-Signature-256".into(),
            FIXTURE_WEBHOOK_SECRET.as_bytes().to_vec(),
            DEFAULT_TOLERANCE,
        )
        .check(&headers, body, chrono::Utc::now().timestamp());
        assert_eq!((v.valid, v.scheme), (true, Some(scheme)), "{v:?}");
    }
}
