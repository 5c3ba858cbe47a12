//! CI at scale, end to end with the real binary: a suite split with `--partition`
//! and put back together with `launchgate junit merge`, and `--jobs` respecting
//! `locks:` and `serial:` (proved by a stub target that records what was in flight).

use crate::common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use assert_cmd::Command;
use axum::extract::{Path as AxPath, State};
use axum::http::StatusCode;
use axum::routing::get;
use parking_lot::Mutex;

fn bin() -> Command {
    let mut c = common::bin();
    c.timeout(Duration::from_secs(300));
    c
}

/// `classname::name` of every test case, in document order.
fn case_ids(xml: &str) -> Vec<String> {
    let doc = roxmltree::Document::parse(xml).expect("well-formed JUnit");
    doc.descendants()
        .filter(|n| n.has_tag_name("testcase"))
        .map(|n| {
            format!(
                "{}::{}",
                n.attribute("classname").unwrap_or_default(),
                n.attribute("name").unwrap_or_default()
            )
        })
        .collect()
}

fn listed_ids(extra: &[&str]) -> Vec<String> {
    let o = bin().args(["run", "--list"]).args(extra).output().unwrap();
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .filter_map(|l| l.strip_suffix(": test"))
        .map(str::to_string)
        .collect()
}

/// Runs shards 1..=n, each with its own `--junit`, and merges them.
fn run_shards(dir: &Path, n: u32, extra: &[&str]) -> (PathBuf, String) {
    let mut shards = Vec::new();
    for k in 1..=n {
        let junit = dir.join(format!("junit-{k}.xml"));
        let o = bin()
            .arg("run")
            .args(["--partition", &format!("{k}/{n}"), "-q"])
            .args(extra)
            .arg("--junit")
            .arg(&junit)
            .arg("--json")
            .arg(dir.join(format!("report-{k}.json")))
            .output()
            .unwrap();
        assert_eq!(
            o.status.code(),
            Some(0),
            "shard {k}/{n}: {}",
            String::from_utf8_lossy(&o.stdout)
        );
        shards.push(junit);
    }
    let merged = dir.join("merged").join("junit.xml");
    let o = bin()
        .args(["junit", "merge"])
        .arg(&merged)
        .args(&shards)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout).into_owned();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    (merged, stdout)
}

#[test]
fn three_shards_merge_into_one_report_with_every_case_once() {
    let dir = tempfile::tempdir().unwrap();
    let mut all = listed_ids(&[]);
    assert!(all.len() >= 40, "{}", all.len());
    let (merged, stdout) = run_shards(dir.path(), 3, &[]);
    assert!(
        stdout.contains(&format!("({} cases)", all.len())),
        "{stdout}"
    );
    let xml = std::fs::read_to_string(&merged).unwrap();
    let mut got = case_ids(&xml);
    got.sort();
    all.sort();
    assert_eq!(got, all, "every case exactly once");

    // Counts are recomputed: the root and each suite agree with their cases.
    let doc = roxmltree::Document::parse(&xml).unwrap();
    let root = doc.root_element();
    assert_eq!(
        root.attribute("tests"),
        Some(all.len().to_string().as_str())
    );
    assert_eq!(root.attribute("failures"), Some("0"));
    let mut names = Vec::new();
    for s in doc.descendants().filter(|n| n.has_tag_name("testsuite")) {
        let cases = s.children().filter(|c| c.has_tag_name("testcase")).count();
        assert_eq!(s.attribute("tests"), Some(cases.to_string().as_str()));
        names.push(s.attribute("name").unwrap().to_string());
    }
    let before = names.len();
    names.sort();
    names.dedup();
    assert_eq!(
        names.len(),
        before,
        "a file split across shards is one suite again"
    );

    // Merging a shard twice is reported, not silently double counted in the log.
    let shard = dir.path().join("junit-1.xml");
    let o = bin()
        .args(["junit", "merge"])
        .arg(dir.path().join("twice.xml"))
        .arg(&shard)
        .arg(&shard)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&o.stderr).contains("appears more than once"));

    // A broken input is a usage error that names the file, and nothing is written.
    let bad = dir.path().join("bad.xml");
    std::fs::write(&bad, "<testsuites><testsuite").unwrap();
    let out = dir.path().join("never.xml");
    let o = bin()
        .args(["junit", "merge"])
        .arg(&out)
        .arg(&shard)
        .arg(&bad)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("bad.xml"));
    assert!(!out.exists());
}

#[test]
fn strict_shards_merge_into_a_strict_report() {
    let dir = tempfile::tempdir().unwrap();
    let extra = ["--junit-profile", "strict", "-k", "auth"];
    let mut all = listed_ids(&["-k", "auth"]);
    assert!(!all.is_empty());
    let (merged, _) = run_shards(dir.path(), 2, &extra);
    let xml = std::fs::read_to_string(&merged).unwrap();
    let mut got = case_ids(&xml);
    got.sort();
    all.sort();
    assert_eq!(got, all);
    let doc = roxmltree::Document::parse(&xml).unwrap();
    assert!(doc.root_element().attribute("skipped").is_none());
    common::reports::assert_valid_against_the_xunit_schema(&merged);
}

/// What the stub target saw.
#[derive(Default)]
struct Seen {
    /// Requests in flight now, per path.
    in_flight: BTreeMap<String, usize>,
    /// The most requests ever in flight at once, per path.
    max_in_flight: BTreeMap<String, usize>,
    /// Requests that overlapped a `/serial/...` request (either way round).
    serial_overlaps: Vec<String>,
    /// Requests served.
    served: usize,
}

impl Seen {
    fn total(&self) -> usize {
        self.in_flight.values().sum()
    }
    fn serial_active(&self) -> bool {
        self.in_flight
            .iter()
            .any(|(p, n)| p.starts_with("serial") && *n > 0)
    }
}

async fn record(State(seen): State<Arc<Mutex<Seen>>>, AxPath(p): AxPath<String>) -> StatusCode {
    {
        let mut s = seen.lock();
        let is_serial = p.starts_with("serial");
        if (is_serial && s.total() > 0) || (!is_serial && s.serial_active()) {
            s.serial_overlaps.push(p.clone());
        }
        let group = p.split('-').next().unwrap_or_default().to_string();
        let n = {
            let e = s.in_flight.entry(group.clone()).or_default();
            *e += 1;
            *e
        };
        let m = s.max_in_flight.entry(group).or_default();
        *m = (*m).max(n);
    }
    // Hold the request long enough that unlocked cases would overlap.
    tokio::time::sleep(Duration::from_millis(150)).await;
    let mut s = seen.lock();
    let group = p.split('-').next().unwrap_or_default().to_string();
    if let Some(e) = s.in_flight.get_mut(&group) {
        *e -= 1;
    }
    s.served += 1;
    StatusCode::OK
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cases_sharing_a_lock_never_overlap_and_serial_runs_alone() {
    let seen: Arc<Mutex<Seen>> = Arc::default();
    let app = axum::Router::new()
        .route("/{p}", get(record))
        .with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let server = tokio::spawn(async move { axum::serve(listener, app).await });

    let mut yaml = String::from("cases:\n");
    let case = |name: &str, extra: &str, path: &str| {
        format!(
            "  - name: {name}\n{extra}    steps:\n      - request: {{path: /{path}}}\n        expect: {{status: 200}}\n      - request: {{path: /{path}}}\n        expect: {{status: 200}}\n"
        )
    };
    for i in 0..4 {
        yaml += &case(
            &format!("ledger {i}"),
            "    locks: [ledger]\n",
            &format!("ledger-{i}"),
        );
        yaml += &case(
            &format!("ledger and cards {i}"),
            "    locks: [cards, ledger]\n",
            &format!("ledger-c{i}"),
        );
        yaml += &case(&format!("free {i}"), "", &format!("free-{i}"));
    }
    yaml += &case("serial one", "    serial: true\n", "serial-1");
    yaml += &case("serial two", "    serial: true\n", "serial-2");
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("locks.yaml");
    std::fs::write(&f, yaml).unwrap();

    let d = dir.path().to_path_buf();
    let o = tokio::task::spawn_blocking(move || {
        bin()
            .arg("run")
            .arg(&f)
            .args(["--target", &url, "--jobs", "8"])
            .arg("--junit")
            .arg(d.join("junit.xml"))
            .arg("--json")
            .arg(d.join("report.json"))
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    server.abort();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    let s = seen.lock();
    assert_eq!(s.served, 14 * 2, "every request arrived");
    assert_eq!(
        s.max_in_flight.get("ledger"),
        Some(&1),
        "two cases holding `ledger` overlapped: {:?}",
        s.max_in_flight
    );
    assert_eq!(
        s.max_in_flight.get("serial"),
        Some(&1),
        "{:?}",
        s.max_in_flight
    );
    assert!(
        s.serial_overlaps.is_empty(),
        "requests overlapped a serial case: {:?}",
        s.serial_overlaps
    );
}
