//! The library side of `launchgate mock`: flag parsing and refusals.

use clap::Parser;
use launchgate::cli::{MockArgs, UsageError};
use launchgate::mock::{Latency, MockError, Quirk};
use std::time::Duration;

#[derive(Parser, Debug)]
struct Cli {
    #[command(flatten)]
    args: MockArgs,
}

fn parse(args: &[&str]) -> Result<MockArgs, String> {
    let mut argv = vec!["mock"];
    argv.extend_from_slice(args);
    Cli::try_parse_from(argv)
        .map(|c| c.args)
        .map_err(|e| e.to_string())
}

#[test]
fn defaults_and_full_flags() {
    let a = parse(&[]).unwrap();
    assert_eq!(a.bind.to_string(), "127.0.0.1");
    assert_eq!(a.port, 8080);
    assert_eq!(a.rate_window, Duration::from_secs(60));
    assert!(a.quirks.is_empty() && !a.feature_off);

    let a = parse(&[
        "--port",
        "0",
        "--quirk",
        "no-retry-after",
        "--quirk",
        "foreign-id-403",
        "--latency",
        "10ms..200ms",
        "--drop-after-commit",
        "0.25",
        "--fail-rate",
        "1",
        "--seed",
        "7",
        "--rate-window",
        "2s",
        "--feature-off",
    ])
    .unwrap();
    assert_eq!(a.quirks, vec![Quirk::NoRetryAfter, Quirk::ForeignId403]);
    assert_eq!(
        a.latency,
        Some(Latency::Uniform(
            Duration::from_millis(10),
            Duration::from_millis(200)
        ))
    );
    let o = a.options();
    assert_eq!((o.drop_after_commit, o.fail_rate, o.seed), (0.25, 1.0, 7));
    assert_eq!(o.rate_window, Duration::from_secs(2));
    assert!(o.feature_off);
}

#[test]
fn invalid_flags_are_clear() {
    let e = parse(&["--fail-rate", "1.5"]).unwrap_err();
    assert!(e.contains("outside 0..=1"), "{e}");
    let e = parse(&["--drop-after-commit", "-0.1"]).unwrap_err();
    assert!(
        e.contains("0..=1") || e.contains("unexpected argument"),
        "{e}"
    );
    let e = parse(&["--quirk", "no-such"]).unwrap_err();
    for q in Quirk::ALL {
        assert!(e.contains(q.name()), "{q} not listed in: {e}");
    }
    let e = parse(&["--latency", "fast"]).unwrap_err();
    assert!(e.contains("latency") || e.contains("fast"), "{e}");
    let e = parse(&["--rate-window", "0s"]).unwrap_err();
    assert!(e.contains("at least"), "{e}");
}

#[test]
fn quirk_help_lists_every_quirk() {
    use clap::CommandFactory;
    let help = Cli::command().render_long_help().to_string();
    for q in Quirk::ALL {
        assert!(
            help.contains(q.name()) && help.contains(q.description()),
            "{q} missing from --help"
        );
    }
}

#[test]
fn non_loopback_needs_the_flag() {
    let a = parse(&["--bind", "0.0.0.0", "--port", "0"]).unwrap();
    match a.into_config() {
        Err(UsageError::Mock(MockError::Options(msg))) => {
            assert!(msg.contains("--allow-non-loopback"), "{msg}")
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[test]
fn fixture_names_scenarios_rely_on() {
    let inputs = launchgate::mock::fixture_inputs(None).unwrap();
    for k in [
        "partner",
        "partner_readonly",
        "partner_pos",
        "disabled_partner",
        "ratelimit",
        "revoked",
        "expired",
        "expiring",
        "foreign_partner",
        "inactive_partner",
        "member",
        "member_readonly",
        "member_inactive",
        "member_anonymous",
        "admin",
        "admin_readonly",
        "bench",
    ] {
        let key = inputs.keys.get(k).unwrap_or_else(|| panic!("key {k}"));
        let body = ["rl_agent_", "rl_member_", "rl_admin_"]
            .iter()
            .find_map(|p| key.strip_prefix(p))
            .unwrap();
        assert!(
            body.len() == 40 && body.bytes().all(|b| b.is_ascii_alphanumeric()),
            "{k}"
        );
    }
    for f in [
        "partner_id",
        "card_id",
        "inactive_card_id",
        "reward_id",
        "expensive_reward_id",
        "unlinked_reward_id",
        "member_identifier",
        "member_id",
        "zero_member_identifier",
        "foreign_card_id",
        "foreign_member_identifier",
        "foreign_reward_id",
        "disabled_partner_id",
        "member_reward_id",
    ] {
        assert!(inputs.fixtures.contains_key(f), "fixture {f}");
    }
    let summary = launchgate::mock::fixture_summary(&inputs);
    assert!(summary.contains("card_id") && summary.contains("partner_readonly"));
}

#[test]
fn broken_fixture_files_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let bad_yaml = dir.path().join("bad.yaml");
    std::fs::write(&bad_yaml, "partners: [\n").unwrap();
    let e = launchgate::mock::fixture_inputs(Some(&bad_yaml)).unwrap_err();
    assert!(matches!(e, MockError::Fixtures(_)), "{e}");

    let builtin = include_str!("../src/mock/fixtures.yaml");
    let short_key = dir.path().join("short.yaml");
    std::fs::write(
        &short_key,
        builtin.replace(
            "rl_admin_8oyiaijAdbd7mluWBtDELJtPjh1TlAQxUlbAeYFA",
            "rl_admin_short",
        ),
    )
    .unwrap();
    let e = launchgate::mock::fixture_inputs(Some(&short_key))
        .unwrap_err()
        .to_string();
    assert!(e.contains("40 alphanumeric"), "{e}");

    let dangling = dir.path().join("dangling.yaml");
    std::fs::write(
        &dangling,
        builtin.replacen(
            "card_ids: [0dd6a32c-c059-4534-97bf-c82d73d9c869]",
            "card_ids: [00000000-0000-4000-8000-000000000000]",
            1,
        ),
    )
    .unwrap();
    let e = launchgate::mock::fixture_inputs(Some(&dangling))
        .unwrap_err()
        .to_string();
    assert!(e.contains("unknown card"), "{e}");
    assert!(!std::path::Path::new("missing.yaml").exists());
    assert!(launchgate::mock::fixture_inputs(Some(std::path::Path::new("missing.yaml"))).is_err());
}
