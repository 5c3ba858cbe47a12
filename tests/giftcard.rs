//! The gift-card vendor pack end to end, over loopback: the built-in probes
//! against the embedded vendor mock answer yes to all three questions, each
//! vendor quirk flips exactly its answer to no, webhook-drop names exactly the
//! orders it dropped, and the default run stays the Agent API suite.

mod common;

use std::path::Path;

use launchgate::giftcard::VendorQuirk;
use serde_json::Value;

use common::bin;

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
    report: Value,
    scorecard: Value,
    scorecard_md: String,
    scorecard_junit: String,
}

fn run_in(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut c = bin();
    c.current_dir(dir)
        .args(["run", "-q", "--junit"])
        .arg(dir.join("junit.xml"))
        .arg("--json")
        .arg(dir.join("report.json"))
        .arg("--checklist")
        .arg(dir.join("checklist.md"))
        .arg("--scorecard")
        .arg(dir.join("scorecard.md"))
        .args(args);
    for (k, v) in env {
        c.env(k, v);
    }
    let o = c.output().expect("runs");
    let read = |name: &str| std::fs::read_to_string(dir.join(name)).unwrap_or_default();
    Run {
        code: o.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        report: serde_json::from_str(&read("report.json")).unwrap_or(Value::Null),
        scorecard: serde_json::from_str(&read("scorecard.json")).unwrap_or(Value::Null),
        scorecard_md: read("scorecard.md"),
        scorecard_junit: read("scorecard-junit.xml"),
    }
}

fn run(args: &[&str]) -> Run {
    let dir = tempfile::tempdir().unwrap();
    run_in(dir.path(), args, &[])
}

/// The answer to each question: idempotency, webhooks, reconciliation.
fn answers(r: &Run) -> Vec<String> {
    r.scorecard["rows"]
        .as_array()
        .unwrap_or_else(|| panic!("no scorecard; stdout:\n{}\nstderr:\n{}", r.stdout, r.stderr))
        .iter()
        .map(|row| row["answer"].as_str().unwrap().to_string())
        .collect()
}

fn case_failure(r: &Run, id: &str) -> String {
    r.report["suites"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["cases"].as_array().unwrap())
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("no case {id}"))["failure"]["message"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[test]
fn faithful_vendor_mock_answers_yes_to_all_three() {
    let dir = tempfile::tempdir().unwrap();
    let html = dir.path().join("report.html");
    let r = run_in(
        dir.path(),
        &["--api", "giftcard", "--html", html.to_str().unwrap()],
        &[],
    );
    assert_eq!(r.code, 0, "stdout:\n{}\nstderr:\n{}", r.stdout, r.stderr);
    // The HTML report carries the same table.
    let page = std::fs::read_to_string(&html).unwrap();
    let doc = scraper::Html::parse_document(&page);
    let sel = scraper::Selector::parse("section#scorecard td").unwrap();
    let cells: Vec<String> = doc
        .select(&sel)
        .map(|c| c.text().collect::<String>())
        .collect();
    assert_eq!(cells.iter().filter(|c| *c == "yes").count(), 3, "{cells:?}");
    // A vendor evaluation is not an Agent API launch decision.
    assert!(page.contains("launchgate evaluation report"));
    assert!(
        !page.contains("Final Launch Checklist</h2>"),
        "no Agent API checklist on a vendor run"
    );
    assert!(!dir.path().join("checklist.md").exists());
    assert_eq!(answers(&r), ["yes", "yes", "yes"]);
    let t = r.report["suites"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect::<Vec<_>>();
    assert_eq!(
        t,
        [
            "giftcard.idempotency",
            "giftcard.reconciliation",
            "giftcard.webhooks"
        ]
    );
    // Markdown answers each question with evidence and a request.
    assert!(
        r.scorecard_md
            .contains("| Do you support idempotency keys? | **yes** |"),
        "{}",
        r.scorecard_md
    );
    assert!(r.scorecard_md.contains("request: `POST http://127.0.0.1:"));
    assert!(r.scorecard_md.contains("not a vendor"));
    // JUnit: one passing test case per question.
    let doc = roxmltree::Document::parse(&r.scorecard_junit).unwrap();
    let cases: Vec<_> = doc
        .descendants()
        .filter(|n| n.has_tag_name("testcase"))
        .collect();
    assert_eq!(cases.len(), 3);
    assert!(cases.iter().all(|c| c
        .children()
        .all(|ch| !ch.is_element() || ch.has_tag_name("system-out"))));
    // The mock's published keys never reach a report.
    for text in [&r.scorecard_md, &r.scorecard_junit, &r.report.to_string()] {
        assert!(!text.contains(launchgate::giftcard::mock::FIXTURE_API_KEY));
        assert!(!text.contains(launchgate::giftcard::mock::FIXTURE_WEBHOOK_SECRET));
    }
}

/// The question each quirk must flip to "no" (0 idempotency, 1 webhooks, 2 reconciliation).
fn question_of(q: VendorQuirk) -> usize {
    match q {
        VendorQuirk::NoIdempotency | VendorQuirk::IdempotencyIgnoresBody => 0,
        VendorQuirk::UnsignedWebhooks
        | VendorQuirk::SignatureOverReserializedJson
        | VendorQuirk::WebhookDrop
        | VendorQuirk::NoWebhookRetry => 1,
        VendorQuirk::AggregatedReconciliation
        | VendorQuirk::ReferenceNotEchoed
        | VendorQuirk::NoReconciliation => 2,
    }
}

fn check(q: VendorQuirk) {
    // webhook-drop at a rate that loses some of the probes' 20+ orders for certain enough
    // (seeded; the chance that none of 21 is dropped at 0.5 is below 1e-6).
    let arg = match q {
        VendorQuirk::WebhookDrop => "webhook-drop=0.5".to_string(),
        other => other.name().to_string(),
    };
    let r = run(&[
        "--api",
        "giftcard",
        "--mock-seed",
        "7",
        "--mock-quirk",
        &arg,
    ]);
    assert_eq!(r.code, 1, "{}: the pack must fail\n{}", q.name(), r.stdout);
    let mut want = vec!["yes"; 3];
    want[question_of(q)] = "no";
    assert_eq!(answers(&r), want, "{}:\n{}", q.name(), r.scorecard_md);
    // The JUnit scorecard fails exactly that question.
    let doc = roxmltree::Document::parse(&r.scorecard_junit).unwrap();
    let failed = doc
        .descendants()
        .filter(|n| n.has_tag_name("failure"))
        .count();
    assert_eq!(failed, 1, "{}", r.scorecard_junit);
}

macro_rules! quirk_tests {
    ($($name:ident => $q:expr),* $(,)?) => {
        $(#[test] fn $name() { check($q); })*

        #[test]
        fn every_vendor_quirk_has_a_detection_test() {
            let tested = [$($q),*];
            for q in VendorQuirk::ALL {
                assert!(tested.contains(q), "vendor quirk {} has no detection test", q.name());
            }
        }
    };
}

quirk_tests! {
    no_idempotency => VendorQuirk::NoIdempotency,
    idempotency_ignores_body => VendorQuirk::IdempotencyIgnoresBody,
    unsigned_webhooks => VendorQuirk::UnsignedWebhooks,
    signature_over_reserialized_json => VendorQuirk::SignatureOverReserializedJson,
    webhook_drop => VendorQuirk::WebhookDrop,
    no_webhook_retry => VendorQuirk::NoWebhookRetry,
    aggregated_reconciliation => VendorQuirk::AggregatedReconciliation,
    reference_not_echoed => VendorQuirk::ReferenceNotEchoed,
    no_reconciliation => VendorQuirk::NoReconciliation,
}

fn ids_in(text: &str) -> std::collections::BTreeSet<String> {
    let re = regex::Regex::new(r"ord_[0-9a-f]{16}").unwrap();
    re.find_iter(text).map(|m| m.as_str().to_string()).collect()
}

/// A sandbox-style run (target file, --allow-writes, keys from the environment)
/// against a vendor mock that drops webhooks: the probes name exactly the orders
/// the mock says it dropped, in the webhook case's failure and in the
/// reconciliation case's warning.
#[test]
fn webhook_drop_names_exactly_the_dropped_orders() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    // A free port for launchgate's receiver, registered with the mock before the run.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let opts = launchgate::giftcard::VendorOptions {
        quirks: vec!["webhook-drop=0.5".parse().unwrap()],
        seed: 11,
        webhook_backoff: std::time::Duration::from_millis(100),
        ..Default::default()
    };
    let mock = rt
        .block_on(launchgate::giftcard::VendorMock::start(
            opts,
            "127.0.0.1:0".parse().unwrap(),
        ))
        .unwrap();
    mock.register_webhook(&format!("http://127.0.0.1:{port}/webhooks"))
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("vendor.yaml");
    std::fs::write(
        &target,
        format!(
            "name: sandbox\nbase_url: {}\nkeys:\n  vendor: SANDBOX_API_KEY\n  webhook_secret: SANDBOX_WEBHOOK_SECRET\nfacts:\n  brand_id: GC_DEMO\n  amount: 25\n",
            mock.base_url()
        ),
    )
    .unwrap();
    let scenarios = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/giftcard");
    let r = run_in(
        dir.path(),
        &[
            scenarios.to_str().unwrap(),
            "--target",
            target.to_str().unwrap(),
            "--allow-writes",
            "--webhook-listen",
            &format!("127.0.0.1:{port}"),
            "--webhook-refuse",
            "1",
            "-k",
            "webhook",
        ],
        &[
            (
                "SANDBOX_API_KEY",
                launchgate::giftcard::mock::FIXTURE_API_KEY,
            ),
            (
                "SANDBOX_WEBHOOK_SECRET",
                launchgate::giftcard::mock::FIXTURE_WEBHOOK_SECRET,
            ),
        ],
    );
    // The mock's own account of what it dropped.
    let log: Value = rt.block_on(async {
        reqwest::get(format!("{}/__launchgate/webhooks", mock.base_url()))
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    });
    let dropped: std::collections::BTreeSet<String> = log["dropped_orders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    assert!(!dropped.is_empty(), "seeded drops at 0.5 lose some orders");
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(r.report["target"]["kind"], "remote");

    let case = |id: &str| -> Value {
        r.report["suites"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|s| s["cases"].as_array().unwrap())
            .find(|c| c["id"] == id)
            .unwrap_or_else(|| panic!("no case {id}"))
            .clone()
    };
    let lost = case_failure(&r, "giftcard.webhooks::no order's webhook is lost");
    let reported_by_webhooks = ids_in(&lost);
    let recon =
        case("giftcard.reconciliation::reconciliation names the orders whose webhooks never came");
    assert_eq!(recon["outcome"], "passed", "{recon}");
    // The warning on its last step lists the missing orders.
    let notes = recon["steps"][2]["notes"].to_string();
    let reported_by_reconciliation = ids_in(notes.split("missing: ").nth(1).unwrap_or_default());
    let reported: std::collections::BTreeSet<String> = reported_by_webhooks
        .union(&reported_by_reconciliation)
        .cloned()
        .collect();
    // The single-order webhook cases fail on their own order when it was dropped;
    // their failure message names it.
    let single: std::collections::BTreeSet<String> = [
        "giftcard.webhooks::every delivery is signed over its raw body",
        "giftcard.webhooks::a refused delivery is retried with the same event id",
    ]
    .iter()
    .flat_map(|id| ids_in(&case_failure(&r, id)))
    .collect();
    assert!(single.is_subset(&dropped), "{single:?} vs {dropped:?}");
    let expected: std::collections::BTreeSet<String> =
        dropped.difference(&single).cloned().collect();
    assert_eq!(
        reported, expected,
        "the probes name exactly the dropped orders\nwebhooks case: {lost}\nreconciliation case: {notes}"
    );
    rt.block_on(mock.shutdown());
}

#[test]
fn the_default_run_is_still_only_the_agent_api_suite() {
    let r = run(&["--list"]);
    assert_eq!(r.code, 0);
    assert!(r.stdout.contains("agent-api."), "{}", r.stdout);
    assert!(!r.stdout.contains("giftcard."), "{}", r.stdout);
    let r = run(&["--api", "giftcard", "--list"]);
    assert!(r.stdout.contains("giftcard.idempotency::"), "{}", r.stdout);
    assert!(!r.stdout.contains("agent-api."), "{}", r.stdout);
}

#[test]
fn a_sandbox_without_writes_or_facts_gets_could_not_tell() {
    // Nothing listens here: every case is skipped before sending anything.
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("vendor.yaml");
    std::fs::write(&target, "name: sandbox\nbase_url: http://127.0.0.1:9\n").unwrap();
    let scenarios = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/giftcard");
    let r = run_in(
        dir.path(),
        &[
            scenarios.to_str().unwrap(),
            "--target",
            target.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(
        answers(&r),
        ["could_not_tell", "could_not_tell", "could_not_tell"]
    );
    let text = r.report.to_string();
    assert!(
        text.contains("key `vendor` (set LAUNCHGATE_VENDOR_KEY)"),
        "{text}"
    );
    assert!(
        text.contains("target fact `brand_id` (declare it under `facts:` in the target file)"),
        "{text}"
    );
}
