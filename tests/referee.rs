//! The client referee on the two example clients: the naive one fails every
//! verdict it exercises, the careful one passes them all; the checklist takes
//! the verdicts.

use std::path::Path;

use assert_cmd::Command;
use serde_json::Value;

fn referee(client: &str, dir: &Path) -> (i32, Value, String) {
    let json = dir.join("referee.json");
    let script = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples/clients")
        .join(client);
    let o = Command::cargo_bin("launchgate")
        .unwrap()
        .args(["referee", "--for", "60s", "--json"])
        .arg(&json)
        .arg("--junit")
        .arg(dir.join("referee-junit.xml"))
        .arg("--")
        .arg("python3")
        .arg(script)
        .output()
        .unwrap();
    let out = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    let report = serde_json::from_str(&std::fs::read_to_string(&json).unwrap_or_default())
        .unwrap_or(Value::Null);
    (o.status.code().unwrap_or(-1), report, out)
}

fn verdicts(report: &Value) -> Vec<(String, String)> {
    report["judgements"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| {
            (
                j["item"].as_str().unwrap().to_string(),
                j["verdict"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn naive_client_fails_every_verdict_it_exercises() {
    let dir = tempfile::tempdir().unwrap();
    let (code, report, out) = referee("naive_client.py", dir.path());
    assert_eq!(code, 1, "{out}");
    let v = verdicts(&report);
    let exercised: Vec<_> = v
        .iter()
        .filter(|(_, verdict)| verdict != "not_exercised")
        .collect();
    assert!(exercised.len() >= 5, "{v:?}\n{out}");
    assert!(
        exercised.iter().all(|(_, verdict)| verdict == "fail"),
        "{v:?}\n{out}"
    );
    // Evidence cites journal entries, never keys.
    assert!(out.contains("sent again without looking the order up"), "{out}");
    assert!(!out.contains("rl_agent_r") && !report.to_string().contains("rl_agent_r"));
    let junit = std::fs::read_to_string(dir.path().join("referee-junit.xml")).unwrap();
    let doc = roxmltree::Document::parse(&junit).unwrap();
    assert!(
        doc.descendants()
            .filter(|n| n.has_tag_name("failure"))
            .count()
            >= 5
    );
}

#[test]
fn careful_client_passes_every_verdict_and_closes_the_client_items() {
    let dir = tempfile::tempdir().unwrap();
    let (code, report, out) = referee("careful_client.py", dir.path());
    assert_eq!(code, 0, "{out}");
    let v = verdicts(&report);
    assert!(
        v.iter().all(|(_, verdict)| verdict == "pass"),
        "{v:?}\n{out}"
    );

    // The checklist takes the referee's verdicts for the client items.
    let run_json = dir.path().join("report.json");
    let o = Command::cargo_bin("launchgate")
        .unwrap()
        .args(["run", "-q", "--json"])
        .arg(&run_json)
        .arg("--junit")
        .arg(dir.path().join("junit.xml"))
        .arg("--checklist")
        .arg(dir.path().join("checklist.md"))
        .arg("--referee")
        .arg(dir.path().join("referee.json"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0));
    let checklist: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("checklist.json")).unwrap())
            .unwrap();
    for id in [
        "retry-logic",
        "reconcile-by-reference",
        "notes",
        "pagination",
        "rate-limit-handling",
    ] {
        let item = checklist["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["id"] == id)
            .unwrap();
        assert_eq!(item["verdict"], "verified", "{id}: {item}");
    }
}

#[test]
fn referee_needs_a_command_or_until_idle() {
    let o = Command::cargo_bin("launchgate")
        .unwrap()
        .arg("referee")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
}
