//! The gift-card vendor pack end to end, over loopback: the built-in probes
//! against the embedded vendor mock answer yes to all three questions, each
//! vendor quirk flips exactly its answer to no, webhook-drop names exactly the
//! orders it dropped, and the default run stays the Agent API suite.

use crate::common;

use std::path::Path;

use launchgate::giftcard::{VendorDialect, VendorQuirk};
use serde_json::Value;

use common::reports;
use common::tcp::free_port;

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
    let ran = reports::run_in(dir)
        .in_dir()
        .arg("-q")
        .reports(&[
            ("--checklist", "checklist.md"),
            ("--scorecard", "scorecard.md"),
        ])
        .args(args)
        .envs(env.iter().copied())
        .output();
    Run {
        code: ran.out.code,
        report: ran.json("report.json"),
        scorecard: ran.json("scorecard.json"),
        scorecard_md: ran.text("scorecard.md"),
        scorecard_junit: ran.text("scorecard-junit.xml"),
        stdout: ran.out.stdout,
        stderr: ran.out.stderr,
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
    reports::case(&r.report, id)["failure"]["message"]
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
    // The HTML report carries the same table, and a vendor-only run leads with it.
    let page = std::fs::read_to_string(&html).unwrap();
    let doc = scraper::Html::parse_document(&page);
    let sel = scraper::Selector::parse("section#scorecard td").unwrap();
    let cells: Vec<String> = doc
        .select(&sel)
        .map(|c| c.text().collect::<String>())
        .collect();
    assert_eq!(cells.iter().filter(|c| *c == "yes").count(), 3, "{cells:?}");
    let first_section = doc
        .select(&scraper::Selector::parse("main > section").unwrap())
        .next()
        .and_then(|s| s.value().attr("id").map(str::to_string));
    assert_eq!(
        first_section.as_deref(),
        Some("scorecard"),
        "the answers come first"
    );
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
    // Markdown leads with the three answers, each with its reason.
    let lead: Vec<&str> = r.scorecard_md.lines().skip(2).take(3).collect();
    assert!(
        lead[0].starts_with("- Do you support idempotency keys? **yes**: all "),
        "{}",
        r.scorecard_md
    );
    assert!(lead[1].contains("webhooks signed") && lead[2].contains("reconciliation"));
    assert!(
        r.scorecard_md
            .contains("| Do you support idempotency keys? | **yes** |"),
        "{}",
        r.scorecard_md
    );
    assert!(r.scorecard_md.contains("request: `POST http://127.0.0.1:"));
    assert!(r.scorecard_md.contains("not a vendor"));
    // The retention probe was not asked for: skipped with its reason, answer still yes.
    assert!(
        r.scorecard_md
            .contains("- Retention window: not measured: not asked for: pass --retention-probe"),
        "{}",
        r.scorecard_md
    );
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
    for text in [
        &r.scorecard_md,
        &r.scorecard_junit,
        &r.report.to_string(),
        &r.stdout,
    ] {
        assert!(!text.contains(launchgate::giftcard::mock::FIXTURE_API_KEY));
        assert!(!text.contains(launchgate::giftcard::mock::FIXTURE_WEBHOOK_SECRET));
    }
}

/// The findings of one question, by name.
fn finding(r: &Run, question: usize, name: &str) -> String {
    r.scorecard["rows"][question]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == name)
        .map(|f| f["value"].as_str().unwrap().to_string())
        .unwrap_or_else(|| panic!("no finding {name}:\n{}", r.scorecard_md))
}

/// Runs the pack against the embedded mock in every dialect at once (one process each).
fn in_every_dialect(extra: &[&str]) -> Vec<(VendorDialect, Run)> {
    let handles: Vec<_> = VendorDialect::ALL
        .iter()
        .map(|d| {
            let mut args: Vec<String> = ["--api", "giftcard", "--mock-dialect", d.id()]
                .iter()
                .map(|s| s.to_string())
                .collect();
            args.extend(extra.iter().map(|s| s.to_string()));
            let d = *d;
            std::thread::spawn(move || {
                let a: Vec<&str> = args.iter().map(String::as_str).collect();
                (d, run(&a))
            })
        })
        .collect();
    handles.into_iter().map(|h| h.join().unwrap()).collect()
}

#[test]
fn the_faithful_vendor_is_yes_in_every_dialect_with_its_findings() {
    for (d, r) in in_every_dialect(&["--retention-probe", "1s"]) {
        assert_eq!(r.code, 0, "{}: {}\n{}", d.id(), r.stdout, r.scorecard_md);
        assert_eq!(answers(&r), ["yes", "yes", "yes"], "{}", d.id());
        let (location, scheme, replay) = match d {
            VendorDialect::PartB => ("body field idempotency_key", "hex HMAC", "no:"),
            VendorDialect::StripeLike => ("header Idempotency-Key", "Stripe", "yes:"),
            VendorDialect::StandardWebhooks => {
                ("header Idempotency-Key", "Standard Webhooks", "yes:")
            }
        };
        assert_eq!(finding(&r, 0, "Key sent in"), location);
        assert!(
            finding(&r, 0, "Retention window").starts_with("at least 1s verified"),
            "{}",
            r.scorecard_md
        );
        assert!(
            finding(&r, 1, "Signature scheme").starts_with(scheme),
            "{}",
            r.scorecard_md
        );
        assert!(finding(&r, 1, "Replay protection").starts_with(replay));
        assert!(finding(&r, 1, "Delivery latency").contains("over 10 orders"));
        assert!(finding(&r, 1, "Retry schedule").starts_with("retried "));
        let keys_required = finding(&r, 0, "Keys required");
        assert_eq!(
            keys_required.starts_with("no:"),
            d == VendorDialect::StripeLike,
            "Stripe accepts an order without a key: {keys_required}"
        );
    }
}

/// The question each quirk must flip to "no" (0 idempotency, 1 webhooks, 2 reconciliation).
fn question_of(q: VendorQuirk) -> usize {
    match q {
        VendorQuirk::NoIdempotency
        | VendorQuirk::IdempotencyIgnoresBody
        | VendorQuirk::ForgetsKeys => 0,
        VendorQuirk::UnsignedWebhooks
        | VendorQuirk::SignatureOverReserializedJson
        | VendorQuirk::WebhookDrop
        | VendorQuirk::NoWebhookRetry => 1,
        VendorQuirk::AggregatedReconciliation
        | VendorQuirk::ReferenceNotEchoed
        | VendorQuirk::NoReconciliation
        | VendorQuirk::ReferenceFilterIgnored => 2,
    }
}

fn check(q: VendorQuirk) {
    // webhook-drop at a rate that loses some of the probes' 20+ orders for certain enough
    // (seeded; the chance that none of 21 is dropped at 0.5 is below 1e-6).
    let arg = match q {
        VendorQuirk::WebhookDrop => "webhook-drop=0.5".to_string(),
        VendorQuirk::ForgetsKeys => "forgets-keys=200ms".to_string(),
        other => other.name().to_string(),
    };
    // Forgotten keys only show when a key is replayed late: the retention probe.
    let mut extra = vec!["--mock-seed", "7", "--mock-quirk", &arg];
    if q == VendorQuirk::ForgetsKeys {
        extra.extend(["--retention-probe", "1s"]);
    }
    for (d, r) in in_every_dialect(&extra) {
        let what = format!("{} in {}", q.name(), d.id());
        assert_eq!(r.code, 1, "{what}: the pack must fail\n{}", r.stdout);
        let mut want = vec!["yes"; 3];
        want[question_of(q)] = "no";
        assert_eq!(answers(&r), want, "{what}:\n{}", r.scorecard_md);
        // The JUnit scorecard fails exactly that question.
        let doc = roxmltree::Document::parse(&r.scorecard_junit).unwrap();
        let failed = doc
            .descendants()
            .filter(|n| n.has_tag_name("failure"))
            .count();
        assert_eq!(failed, 1, "{what}: {}", r.scorecard_junit);
        // The console gives the "no" with its reason and evidence, redacted.
        let no = r.scorecard["rows"][question_of(q)]["title"]
            .as_str()
            .unwrap();
        assert!(
            r.stdout
                .lines()
                .any(|l| l.contains(no) && l.contains(" no ")),
            "{what}: {}",
            r.stdout
        );
        assert!(!r
            .stdout
            .contains(launchgate::giftcard::mock::FIXTURE_API_KEY));
        if q == VendorQuirk::ForgetsKeys {
            let f = finding(&r, 0, "Retention window");
            assert!(f.starts_with("forgotten within 250ms"), "{what}: {f}");
        }
        if q == VendorQuirk::SignatureOverReserializedJson {
            assert!(
                r.scorecard_md
                    .contains("matches only a re-serialised copy of the JSON body"),
                "{what}: {}",
                r.scorecard_md
            );
        }
    }
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
    forgets_keys => VendorQuirk::ForgetsKeys,
    unsigned_webhooks => VendorQuirk::UnsignedWebhooks,
    signature_over_reserialized_json => VendorQuirk::SignatureOverReserializedJson,
    webhook_drop => VendorQuirk::WebhookDrop,
    no_webhook_retry => VendorQuirk::NoWebhookRetry,
    aggregated_reconciliation => VendorQuirk::AggregatedReconciliation,
    reference_not_echoed => VendorQuirk::ReferenceNotEchoed,
    no_reconciliation => VendorQuirk::NoReconciliation,
    reference_filter_ignored => VendorQuirk::ReferenceFilterIgnored,
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
    let port = free_port();
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
            "name: sandbox\nbase_url: {}\nkeys:\n  vendor: SANDBOX_API_KEY\n  webhook_secret: SANDBOX_WEBHOOK_SECRET\nfacts:\n  brand_id: GC_DEMO\n  amount: 25\n  webhook_within: 10s\n",
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

    let case = |id: &str| -> Value { reports::case(&r.report, id).clone() };
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

/// A run of the pack, as an evaluator runs it against a sandbox (target file,
/// keys from the environment, --allow-writes), where the sandbox is the vendor
/// mock with `opts`, in this process. `target` is a target file's text; its
/// `base_url:` line is pointed at the mock.
fn sandbox_run(opts: launchgate::giftcard::VendorOptions, target: &str, extra: &[&str]) -> Run {
    sandbox_run_delivering_to(opts, target, extra, &|port| {
        format!("http://127.0.0.1:{port}/webhooks")
    })
}

/// [`sandbox_run`], with the vendor's webhooks registered at `webhook_url(port)`
/// instead of straight at launchgate's receiver on `port`.
fn sandbox_run_delivering_to(
    opts: launchgate::giftcard::VendorOptions,
    target: &str,
    extra: &[&str],
    webhook_url: &dyn Fn(u16) -> String,
) -> Run {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let port = free_port();
    let mock = rt
        .block_on(launchgate::giftcard::VendorMock::start(
            launchgate::giftcard::VendorOptions {
                webhook_backoff: std::time::Duration::from_millis(100),
                ..opts
            },
            "127.0.0.1:0".parse().unwrap(),
        ))
        .unwrap();
    mock.register_webhook(&webhook_url(port)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vendor.yaml");
    let text: String = target
        .lines()
        .map(|l| {
            if l.starts_with("base_url:") {
                format!("base_url: {}", mock.base_url())
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    std::fs::write(&path, text).unwrap();
    let scenarios = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/giftcard");
    let listen = format!("127.0.0.1:{port}");
    let mut args = vec![
        scenarios.to_str().unwrap(),
        "--target",
        path.to_str().unwrap(),
        "--allow-writes",
        "--webhook-listen",
        &listen,
        "--webhook-refuse",
        "1",
    ];
    args.extend(extra);
    let r = run_in(
        dir.path(),
        &args,
        &[
            (
                "VENDOR_API_KEY",
                launchgate::giftcard::mock::FIXTURE_API_KEY,
            ),
            (
                "VENDOR_WEBHOOK_SECRET",
                launchgate::giftcard::mock::FIXTURE_WEBHOOK_SECRET,
            ),
        ],
    );
    rt.block_on(mock.shutdown());
    r
}

fn dialect_options(d: VendorDialect) -> launchgate::giftcard::VendorOptions {
    launchgate::giftcard::VendorOptions {
        dialect: d,
        ..Default::default()
    }
}

/// The shipped target files, each against the vendor mock switched to its dialect.
#[test]
fn every_vendor_profile_works_against_the_mock_in_its_dialect() {
    let handles: Vec<_> = VendorDialect::ALL
        .iter()
        .map(|&d| {
            std::thread::spawn(move || {
                // A real sandbox is given minutes; the mock delivers at once (10 s covers
                // a loaded CI machine; a met condition ends the wait early).
                let profile = format!("{}\n  webhook_within: 10s\n", d.profile().trim_end());
                (d, sandbox_run(dialect_options(d), &profile, &[]))
            })
        })
        .collect();
    for h in handles {
        let (d, r) = h.join().unwrap();
        assert_eq!(
            r.code,
            0,
            "{}: {}\n{}\n{}",
            d.id(),
            r.stdout,
            r.stderr,
            r.scorecard_md
        );
        assert_eq!(answers(&r), ["yes", "yes", "yes"], "{}", d.id());
        assert_eq!(r.report["target"]["kind"], "remote");
    }
}

/// A vendor described with the key in the wrong place refuses every order: the
/// probes could not run, so every answer is "could not tell", naming the setup
/// failure, and none is "no".
#[test]
fn a_setup_failure_gives_could_not_tell_never_no_in_every_dialect() {
    let handles: Vec<_> = VendorDialect::ALL
        .iter()
        .map(|&d| {
            std::thread::spawn(move || {
                let profile = d.profile();
                // Swap the key's location: header vendors described as body, and back.
                let declared = |l: &str| l.trim_start().starts_with("idempotency_key_header:");
                let wrong = if profile.lines().any(declared) {
                    profile
                        .lines()
                        .filter(|l| !declared(l))
                        .collect::<Vec<_>>()
                        .join("\n")
                } else {
                    profile.replace(
                        "facts:\n",
                        "facts:\n  idempotency_key_header: Idempotency-Key\n",
                    )
                };
                let wrong = format!("{}\n  webhook_within: 2s\n", wrong.trim_end());
                (d, sandbox_run(dialect_options(d), &wrong, &[]))
            })
        })
        .collect();
    for h in handles {
        let (d, r) = h.join().unwrap();
        assert_eq!(
            answers(&r),
            ["could_not_tell", "could_not_tell", "could_not_tell"],
            "{}:\n{}",
            d.id(),
            r.scorecard_md
        );
        for row in r.scorecard["rows"].as_array().unwrap() {
            let why = row["why"].as_str().unwrap();
            assert!(
                why.contains("setup step") || why.contains("no copy was accepted"),
                "{}: the reason names the setup failure: {why}",
                d.id()
            );
        }
        assert!(!r.scorecard_md.contains("**no**"), "{}", r.scorecard_md);
        assert_ne!(r.code, 0, "errored probes fail the run");
        // JUnit: each question skipped (never passed, never failed), named by the
        // question alone, saying what would settle it.
        let doc = roxmltree::Document::parse(&r.scorecard_junit).unwrap();
        let cases: Vec<_> = doc
            .descendants()
            .filter(|n| n.has_tag_name("testcase"))
            .collect();
        assert_eq!(cases.len(), 3, "{}", r.scorecard_junit);
        for c in cases {
            let kids: Vec<_> = c.children().filter(|k| k.is_element()).collect();
            assert_eq!(kids.len(), 1, "{}", r.scorecard_junit);
            assert!(kids[0].has_tag_name("skipped"), "{}", r.scorecard_junit);
            assert_eq!(kids[0].attribute("type"), Some("could_not_tell"));
            assert!(kids[0].text().unwrap_or("").contains("to close it: "));
            assert!(!c.attribute("name").unwrap().contains("could not tell"));
        }
    }
}

/// A key taken in PayPal's header, described so in the target file.
#[test]
fn a_paypal_style_key_header_is_sent_where_the_target_says() {
    let opts = launchgate::giftcard::VendorOptions {
        key_header: Some("PayPal-Request-Id".into()),
        ..Default::default()
    };
    let target = VendorDialect::PartB.profile().replace(
        "facts:\n",
        "facts:\n  idempotency_key_header: PayPal-Request-Id\n",
    );
    let r = sandbox_run(opts, &target, &["-k", "idempotency"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.scorecard_md);
    assert_eq!(answers(&r)[0], "yes");
    assert_eq!(finding(&r, 0, "Key sent in"), "header PayPal-Request-Id");
}

/// `launchgate run scenarios/giftcard` (no --api) runs the vendor pack against the
/// vendor mock instead of skipping everything against the Agent API mock.
#[test]
fn the_vendor_pack_by_path_runs_against_the_vendor_mock() {
    let scenarios = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/giftcard");
    let r = run(&[scenarios.to_str().unwrap(), "-k", "idempotency"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(r.report["target"]["name"], "vendor-mock");
    assert_eq!(answers(&r)[0], "yes");
    // Both packs at once is a usage error, not a run where half the cases skip.
    let both = [
        scenarios.to_str().unwrap().to_string(),
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("scenarios/agent-api")
            .display()
            .to_string(),
    ];
    let r = run(&[&both[0], &both[1]]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("--api giftcard"), "{}", r.stderr);
}

/// `--mock-seed` makes webhook-drop reproducible: the same orders (by sequence)
/// are dropped, so two runs with one job lose as many webhooks in each probe.
#[test]
fn the_same_mock_seed_drops_the_same_orders() {
    let lost = || {
        let r = run(&[
            "--api",
            "giftcard",
            "-j",
            "1",
            "-k",
            "no order's webhook is lost",
            "--mock-seed",
            "7",
            "--mock-quirk",
            "webhook-drop=0.3",
        ]);
        r.report["suites"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|s| s["cases"].as_array().unwrap().clone())
            .map(|c| {
                let text = c["failure"]["message"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string();
                (c["id"].as_str().unwrap().to_string(), ids_in(&text).len())
            })
            .collect::<Vec<_>>()
    };
    // Two processes at once: each waits out the window for the webhooks it dropped.
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(lost);
        let b = s.spawn(lost);
        (a.join().unwrap(), b.join().unwrap())
    });
    assert_eq!(a, b);
    assert!(
        a.iter().any(|(_, n)| *n > 0),
        "seed 7 at 0.3 drops some: {a:?}"
    );
}

/// README's header-key, Standard Webhooks target file, as written, against the
/// vendor mock in that dialect; and README's secret and key are the mock's.
#[test]
fn readme_standard_webhooks_target_file_works_as_written() {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let block: String = readme
        .split("```yaml\n# acme.yaml\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("README shows acme.yaml")
        .to_string();
    assert!(block.contains("idempotency_key_header: Idempotency-Key"));
    assert!(block.contains("signature_scheme: standard-webhooks"));
    assert!(readme.contains(launchgate::giftcard::mock::FIXTURE_WEBHOOK_SECRET));
    assert!(readme.contains(launchgate::giftcard::mock::FIXTURE_API_KEY));
    // As written, but the mock answers sooner than a sandbox.
    let target = format!("{}\n  webhook_within: 10s\n", block.trim_end());
    let r = sandbox_run(
        dialect_options(VendorDialect::StandardWebhooks),
        &target,
        &[],
    );
    assert_eq!(r.code, 0, "{}\n{}\n{}", r.stdout, r.stderr, r.scorecard_md);
    assert_eq!(answers(&r), ["yes", "yes", "yes"]);
    assert_eq!(finding(&r, 0, "Key sent in"), "header Idempotency-Key");
    assert!(finding(&r, 1, "Signature scheme").starts_with("Standard Webhooks"));
}

/// The vendor mock in its reference dialect behind a relay that re-signs each
/// delivery: `resign(body)` gives the signature header (name, value) the relay sends
/// to launchgate's receiver instead of the mock's. Runs the signed-webhook probe.
fn run_behind_resigning_relay(resign: fn(&[u8]) -> (String, String)) -> Run {
    use std::io::{Read, Write};
    use std::sync::atomic::{AtomicU16, Ordering};
    const TOKEN: &str = "relay-token-0123456789abcdef";
    let receiver_port = std::sync::Arc::new(AtomicU16::new(0));
    let rp = receiver_port.clone();
    let relay = common::tcp::serve(move |mut s, ctx| {
        let head = common::tcp::read_head(&mut s);
        let Some((head, first)) = head.split_once("\r\n\r\n") else {
            return;
        };
        let len: usize = head
            .lines()
            .find_map(|l| {
                let (n, v) = l.split_once(':')?;
                n.eq_ignore_ascii_case("content-length")
                    .then(|| v.trim().parse().ok())?
            })
            .unwrap_or(0);
        let mut body = first.as_bytes().to_vec();
        let mut rest = vec![0u8; len.saturating_sub(body.len())];
        if s.read_exact(&mut rest).is_err() {
            return;
        }
        body.extend_from_slice(&rest);
        let (name, value) = resign(&body);
        let port = rp.load(Ordering::Relaxed);
        let forward = || {
            let mut out = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
            out.set_read_timeout(Some(std::time::Duration::from_secs(10)))
                .ok()?;
            let mut req = format!(
                "POST /webhooks/{TOKEN} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n{name}: {value}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            )
            .into_bytes();
            req.extend_from_slice(&body);
            out.write_all(&req).ok()?;
            let answer = common::tcp::read_head(&mut out);
            answer.split(' ').nth(1).map(str::to_string)
        };
        let status = forward().unwrap_or_else(|| "502".into());
        common::tcp::respond(&mut s, ctx, &format!("{status} Relayed"), &[], b"");
    });
    let relay_url = relay.url();
    sandbox_run_delivering_to(
        dialect_options(VendorDialect::PartB),
        VendorDialect::PartB.profile(),
        &["-k", "every delivery is signed", "--webhook-token", TOKEN],
        &|port| {
            receiver_port.store(port, Ordering::Relaxed);
            format!("{relay_url}/hooks")
        },
    )
}

/// A vendor that signs its webhooks with HMAC-SHA512 (a scheme launchgate does not
/// check) is "could not tell" for webhooks, naming why, never "no": launchgate cannot
/// say its signatures are wrong.
#[test]
fn a_signature_launchgate_cannot_check_is_could_not_tell_never_no() {
    let r = run_behind_resigning_relay(|body| {
        use hmac::{Hmac, Mac};
        let mut mac = Hmac::<sha2::Sha512>::new_from_slice(
            launchgate::giftcard::mock::FIXTURE_WEBHOOK_SECRET.as_bytes(),
        )
        .unwrap();
        mac.update(body);
        let sig = hex::encode(mac.finalize().into_bytes());
        ("X-Signature-256".into(), format!("sha512={sig}"))
    });
    assert_eq!(
        answers(&r)[1],
        "could_not_tell",
        "{}\n{}",
        r.stdout,
        r.scorecard_md
    );
    for wanted in [
        "cannot tell whether it is valid",
        "holds no hex HMAC-SHA256",
    ] {
        assert!(
            r.scorecard_md.contains(wanted),
            "{wanted}:\n{}",
            r.scorecard_md
        );
    }
}

/// A vendor whose signature travels in a header the target file does not name is
/// "could not tell", naming the header to configure, never "no" (unsigned).
#[test]
fn a_signature_in_a_header_the_target_does_not_name_is_could_not_tell() {
    let r = run_behind_resigning_relay(|body| {
        let sig = launchgate::signature::sign(
            launchgate::giftcard::mock::FIXTURE_WEBHOOK_SECRET.as_bytes(),
            body,
        );
        ("X-Acme-Signature".into(), sig)
    });
    assert_eq!(
        answers(&r)[1],
        "could_not_tell",
        "{}\n{}",
        r.stdout,
        r.scorecard_md
    );
    assert!(
        r.scorecard_md
            .to_lowercase()
            .contains("header x-acme-signature"),
        "{}",
        r.scorecard_md
    );
}
