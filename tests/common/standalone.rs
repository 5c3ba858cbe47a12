//! A standalone `launchgate mock` process on a loopback port, used as a *real*
//! (URL) target: the run cannot tell it from a staging server.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Stdio};

use assert_cmd::cargo::CommandCargoExt;
use serde_json::Value;

/// The process, its URL and the fixtures it published; killed on drop.
pub struct Standalone {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// `/__launchgate/fixtures`: `{"keys": {...}, "fixtures": {...}}`.
    pub fixtures: Value,
}

impl Standalone {
    /// Starts `launchgate mock --port 0 ARGS...` and waits for its URL.
    pub fn start(args: &[&str]) -> Standalone {
        let mut cmd = std::process::Command::cargo_bin("launchgate").expect("binary builds");
        for (k, _) in std::env::vars() {
            if k.starts_with("LAUNCHGATE_") {
                cmd.env_remove(k);
            }
        }
        let mut child = cmd
            .args(["mock", "--port", "0"])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("mock starts");
        let stdout = child.stdout.take().expect("stdout");
        let mut reader = BufReader::new(stdout);
        let mut first = String::new();
        reader.read_line(&mut first).expect("mock prints its URL");
        // Keep draining: the mock prints its keys next, and a closed pipe would stop it.
        std::thread::spawn(move || std::io::copy(&mut reader, &mut std::io::sink()));
        let url = first
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .unwrap_or_else(|| panic!("no URL in {first:?}"))
            .to_string();
        let fixtures = serde_json::from_str(&get(&url, "/__launchgate/fixtures")).unwrap();
        Standalone {
            child,
            url,
            fixtures,
        }
    }

    /// The value of a published key.
    pub fn key(&self, name: &str) -> String {
        self.fixtures["keys"][name].as_str().unwrap().to_string()
    }

    /// The value of a published fixture.
    pub fn fixture(&self, name: &str) -> String {
        self.fixtures["fixtures"][name]
            .as_str()
            .unwrap()
            .to_string()
    }

    /// Every input the built-in suite asks a staging environment for, as
    /// `LAUNCHGATE_*` variables, with the point-of-sale key as the integration's key.
    pub fn staging_env(&self) -> Vec<(String, String)> {
        let mut env = vec![(
            "LAUNCHGATE_PARTNER_KEY".to_string(),
            self.key("partner_pos"),
        )];
        for k in [
            "partner_readonly",
            "member",
            "member_readonly",
            "disabled_partner",
            "ratelimit",
            "revoked",
            "expired",
            "inactive_partner",
            "member_inactive",
            "member_anonymous",
        ] {
            env.push((format!("LAUNCHGATE_{}_KEY", k.to_uppercase()), self.key(k)));
        }
        for f in [
            "card_id",
            "reward_id",
            "expensive_reward_id",
            "member_identifier",
            "foreign_card_id",
            "foreign_member_identifier",
        ] {
            env.push((format!("LAUNCHGATE_{}", f.to_uppercase()), self.fixture(f)));
        }
        env
    }
}

impl Drop for Standalone {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A plain HTTP/1.1 GET over loopback; the body as text.
pub fn get(base: &str, path: &str) -> String {
    let hostport = base.trim_start_matches("http://");
    let mut s = TcpStream::connect(hostport).expect("connects");
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {hostport}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    // Read until the server closes; a reset after the response is not an error here.
    let mut bytes = Vec::new();
    let mut buf = [0u8; 8192];
    while let Ok(n) = s.read(&mut buf) {
        if n == 0 {
            break;
        }
        bytes.extend_from_slice(&buf[..n]);
    }
    let raw = String::from_utf8_lossy(&bytes).into_owned();
    let body = raw.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    if raw
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(body)
    } else {
        body.to_string()
    }
}

fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 {
            break;
        }
        out.push_str(&rest[..n]);
        body = rest[n..].trim_start_matches("\r\n");
    }
    out
}
