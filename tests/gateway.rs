//! A staging environment behind an access gateway (Cloudflare Access, a reverse
//! proxy asking for Basic auth, a shared header): the target file's `headers:` map
//! names the environment variables that hold the gateway's credentials; every
//! request to the target carries them, and their values never show in a report.

use crate::common;

use std::time::Duration;

use common::reports::run_in;
use common::tcp;

const TOKEN: &str = "gw-secret-2f1c9a7e5b3d";

/// A gateway that records every request head and refuses those without the token
/// (403), answering the others with the Agent API's 401 envelope.
fn gateway() -> (tcp::Server, tcp::Heads) {
    tcp::recording(|head| {
        let allowed = head
            .lines()
            .any(|l| l.to_ascii_lowercase() == format!("x-gateway-token: {TOKEN}"));
        if allowed {
            (
                "401 Unauthorized",
                "application/json",
                tcp::MISSING_KEY_ENVELOPE,
            )
        } else {
            ("403 Forbidden", "text/plain", b"gateway: no token")
        }
    })
}

fn target_file(dir: &std::path::Path, base: &str) -> std::path::PathBuf {
    let path = dir.join("staging.yaml");
    std::fs::write(
        &path,
        format!("name: staging\nbase_url: {base}\nheaders:\n  X-Gateway-Token: GATEWAY_TOKEN\n"),
    )
    .unwrap();
    path
}

#[test]
fn every_request_carries_the_gateways_header_and_no_report_shows_its_value() {
    let (server, seen) = gateway();
    let dir = tempfile::tempdir().unwrap();
    let target = target_file(dir.path(), &server.url());
    let ran = run_in(dir.path())
        .args(["--target", target.to_str().unwrap(), "-k", "missing key"])
        .reports(&[("--html", "report.html")])
        .env("GATEWAY_TOKEN", TOKEN)
        .in_dir()
        .timeout(Duration::from_secs(120))
        .output();
    let heads = seen.lock().unwrap().clone();
    assert!(
        !heads.is_empty(),
        "nothing reached the gateway: {}",
        ran.out.all()
    );
    for h in &heads {
        assert!(
            h.to_ascii_lowercase()
                .contains(&format!("x-gateway-token: {TOKEN}")),
            "a request without the gateway's header:\n{h}"
        );
    }
    assert!(
        !ran.out.all().contains("gateway: no token"),
        "{}",
        ran.out.all()
    );
    for text in [
        ran.out.all(),
        ran.text("junit.xml"),
        ran.text("report.json"),
        ran.text("report.html"),
    ] {
        assert!(!text.contains(TOKEN), "the gateway's token leaked:\n{text}");
    }
}

/// `launchgate doctor` checks the inputs through the same gateway.
#[test]
fn doctor_passes_the_gateway_too() {
    let (server, seen) = gateway();
    let dir = tempfile::tempdir().unwrap();
    let target = target_file(dir.path(), &server.url());
    let out = common::bin()
        .current_dir(dir.path())
        .args(["doctor", "--target", target.to_str().unwrap()])
        .env("GATEWAY_TOKEN", TOKEN)
        .env(
            "LAUNCHGATE_PARTNER_KEY",
            format!("rl_agent_{}", "a".repeat(40)),
        )
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    let out = common::Out::of(&out);
    let heads = seen.lock().unwrap().clone();
    assert!(!heads.is_empty(), "doctor sent nothing: {}", out.all());
    for h in &heads {
        assert!(
            h.to_ascii_lowercase()
                .contains(&format!("x-gateway-token: {TOKEN}")),
            "a request without the gateway's header:\n{h}"
        );
    }
    assert!(!out.all().contains(TOKEN), "{}", out.all());
}

#[test]
fn a_gateway_header_without_its_variable_is_a_configuration_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let target = target_file(dir.path(), "http://127.0.0.1:9");
    let ran = run_in(dir.path())
        .args(["--target", target.to_str().unwrap()])
        .env_remove("GATEWAY_TOKEN")
        .in_dir()
        .timeout(Duration::from_secs(60))
        .output();
    assert_eq!(ran.out.code, 2, "{}", ran.out.all());
    assert!(
        ran.out.stderr.contains("X-Gateway-Token"),
        "{}",
        ran.out.stderr
    );
    assert!(
        ran.out.stderr.contains("GATEWAY_TOKEN"),
        "{}",
        ran.out.stderr
    );
}
