//! Proxies from the environment, as CI runners and company networks set them
//! (`HTTP_PROXY`, `HTTPS_PROXY`, `ALL_PROXY`, in either case): launchgate's own
//! servers on this machine are reached directly (a proxy cannot reach a runner's
//! loopback), a remote target goes through the proxy, and a referee'd client is
//! told to reach the mock directly too.

use crate::common;

use std::time::Duration;

use common::reports::{referee_in, run_in};
use common::tcp;

/// A proxy that records the head of every request it is sent and answers each
/// with a 401 in the contract's envelope.
fn recording_proxy() -> (tcp::Server, tcp::Heads) {
    tcp::recording(|_| {
        (
            "401 Unauthorized",
            "application/json",
            tcp::MISSING_KEY_ENVELOPE,
        )
    })
}

/// Every variable a library may read a proxy from, all pointing at `url`.
fn proxy_env(url: &str) -> Vec<(&'static str, String)> {
    [
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "http_proxy",
        "https_proxy",
        "all_proxy",
    ]
    .into_iter()
    .map(|k| (k, url.to_string()))
    .collect()
}

/// The main job (the built-in suite against the embedded mock) passes on a runner
/// whose environment names a proxy, and sends the proxy nothing.
#[test]
fn the_main_job_reaches_the_embedded_mock_directly_whatever_proxy_is_set() {
    let (proxy, seen) = recording_proxy();
    let dir = tempfile::tempdir().unwrap();
    let ran = run_in(dir.path())
        .arg("-q")
        .envs(proxy_env(&proxy.url()))
        .in_dir()
        .timeout(Duration::from_secs(120))
        .output();
    assert_eq!(ran.out.code, 0, "{}", ran.out.all());
    assert!(
        seen.lock().unwrap().is_empty(),
        "{:?}",
        seen.lock().unwrap()
    );
}

/// A remote target is reached through the proxy the environment names (no key is
/// needed for the one case that runs without inputs, so none is sent).
#[test]
fn a_remote_target_goes_through_the_proxy_the_environment_names() {
    let (proxy, seen) = recording_proxy();
    let dir = tempfile::tempdir().unwrap();
    let ran = run_in(dir.path())
        .args([
            "--target",
            "http://staging.launchgate.invalid",
            "-k",
            "missing key",
        ])
        .envs(proxy_env(&proxy.url()))
        .in_dir()
        .timeout(Duration::from_secs(120))
        .output();
    let log = seen.lock().unwrap().clone();
    assert!(
        log.iter()
            .any(|l| l.starts_with("GET http://staging.launchgate.invalid/api/agent/v1/")),
        "the proxy saw {log:?}\n{}",
        ran.out.all()
    );
    // NO_PROXY names the host: straight there (nothing answers: unreachable, exit 3).
    let dir = tempfile::tempdir().unwrap();
    let direct = run_in(dir.path())
        .args([
            "--target",
            "http://staging.launchgate.invalid",
            "-k",
            "missing key",
        ])
        .envs(proxy_env(&proxy.url()))
        .env("NO_PROXY", "staging.launchgate.invalid")
        .env("no_proxy", "staging.launchgate.invalid")
        .in_dir()
        .timeout(Duration::from_secs(120))
        .output();
    assert_eq!(direct.out.code, 3, "{}", direct.out.all());
    assert_eq!(
        seen.lock().unwrap().len(),
        log.len(),
        "NO_PROXY was ignored"
    );
    assert_ne!(
        ran.out.code,
        3,
        "the target answered through the proxy: {}",
        ran.out.all()
    );
}

/// `launchgate referee` passes `NO_PROXY` for loopback to the client, so an ordinary
/// client library (Python's urllib here) reaches the mock rather than the proxy.
#[test]
fn a_refereed_client_reaches_the_mock_past_the_runners_proxy() {
    let (proxy, seen) = recording_proxy();
    let dir = tempfile::tempdir().unwrap();
    let client = r#"
import os, urllib.request
base = os.environ["LAUNCHGATE_BASE_URL"]
req = urllib.request.Request(base + "/api/agent/v1/partner/cards",
                             headers={"X-Agent-Key": os.environ["LAUNCHGATE_PARTNER_KEY"]})
try:
    urllib.request.urlopen(req, timeout=10).read()
except urllib.error.HTTPError as e:
    e.read()
"#;
    let ran = referee_in(dir.path())
        .envs(proxy_env(&proxy.url()))
        .env("NO_PROXY", "corp.example")
        .args(["--", "python3", "-c", client])
        .in_dir()
        .timeout(Duration::from_secs(120))
        .output();
    assert!(
        seen.lock().unwrap().is_empty(),
        "{:?}",
        seen.lock().unwrap()
    );
    assert!(
        !ran.out.all().contains("sent no request"),
        "{}",
        ran.out.all()
    );
    assert!(
        !ran.out.all().contains("exited with"),
        "the client failed: {}",
        ran.out.all()
    );
}
