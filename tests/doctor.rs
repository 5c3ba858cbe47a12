//! `launchgate doctor` and `launchgate init` against a standalone `launchgate mock`
//! process used as a real (URL) target: the real binary, real HTTP on loopback.

use crate::common;

use std::path::Path;

use common::bin;
use common::standalone::Standalone;

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

fn doctor(dir: &Path, args: &[&str], env: &[(String, String)]) -> Out {
    let mut c = bin();
    c.current_dir(dir).arg("doctor").args(args);
    for (k, v) in env {
        c.env(k, v);
    }
    let o = c.output().unwrap();
    Out {
        code: o.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

/// The line of the inputs table that names this input.
fn line<'a>(out: &'a Out, input: &str) -> &'a str {
    out.stdout
        .lines()
        .find(|l| l.contains(input) && !l.contains("::"))
        .unwrap_or_else(|| panic!("no line for {input} in\n{}", out.stdout))
}

fn set(env: &mut Vec<(String, String)>, var: &str, value: String) {
    env.retain(|(k, _)| k != var);
    env.push((var.to_string(), value));
}

fn target_file(dir: &Path, url: &str) -> String {
    let p = dir.join("staging.yaml");
    std::fs::write(
        &p,
        format!(
            "name: staging\nbase_url: {url}\nrole: partner\nneeds: [read, \"write:transactions\", \"write:rewards\"]\n"
        ),
    )
    .unwrap();
    p.display().to_string()
}

#[test]
fn a_wrong_role_a_missing_fixture_and_an_affordable_reward_are_all_named() {
    let mock = Standalone::start(&["--rate-window", "1s"]);
    let dir = tempfile::tempdir().unwrap();
    let mut env = mock.staging_env();
    // A partner key where the member key belongs.
    set(&mut env, "LAUNCHGATE_MEMBER_KEY", mock.key("partner"));
    // A reward that does not exist.
    set(
        &mut env,
        "LAUNCHGATE_REWARD_ID",
        "7d4c1a2e-0000-4000-8000-000000000000".into(),
    );
    // The cheap reward (50 points) as the "expensive" one: the member holds 120.
    set(
        &mut env,
        "LAUNCHGATE_EXPENSIVE_REWARD_ID",
        mock.fixture("reward_id"),
    );
    let target = target_file(dir.path(), &mock.url);
    let o = doctor(dir.path(), &["--target", &target], &env);
    assert_eq!(o.code, 1, "{}\n{}", o.stdout, o.stderr);

    let member = line(&o, "key `member` (LAUNCHGATE_MEMBER_KEY)");
    assert!(
        member.contains("WRONG") && member.contains("its role is `partner`, not `member`"),
        "{member}"
    );
    let reward = line(&o, "fixture `reward_id`");
    assert!(
        reward.contains("WRONG") && reward.contains("404"),
        "{reward}"
    );
    let expensive = line(&o, "fixture `expensive_reward_id`");
    assert!(
        expensive.contains("WRONG")
            && expensive.contains("costs 50 points and the member's balance is 120: affordable"),
        "{expensive}"
    );
    // Everything else checks out.
    for ok in [
        "key `partner` (",
        "key `partner_readonly`",
        "key `disabled_partner`",
        "key `ratelimit`",
        "key `revoked`",
        "fixture `card_id`",
        "fixture `foreign_card_id`",
    ] {
        assert!(
            line(&o, ok).trim_start().starts_with("ok"),
            "{}",
            line(&o, ok)
        );
    }
    // The case table says which cases the wrong inputs put at risk.
    assert!(
        o.stdout.contains("at risk   agent-api.roles::member key on a partner route is refused: will run, but key `member` (LAUNCHGATE_MEMBER_KEY) is wrong"),
        "{}",
        o.stdout
    );
    // No key is ever printed.
    for (k, v) in &env {
        if k.ends_with("_KEY") {
            assert!(!o.stdout.contains(v.as_str()), "{k} leaked");
        }
    }
}

#[test]
fn missing_inputs_and_skips_exit_4_with_the_variable_to_set() {
    let mock = Standalone::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let env = [(
        "LAUNCHGATE_PARTNER_KEY".to_string(),
        mock.key("partner_pos"),
    )];
    let o = doctor(dir.path(), &["--target", &mock.url], &env);
    assert_eq!(o.code, 4, "{}\n{}", o.stdout, o.stderr);
    assert!(line(&o, "key `ratelimit`").contains("MISSING"));
    assert!(line(&o, "key `ratelimit`").contains("set LAUNCHGATE_RATELIMIT_KEY"));
    assert!(o.stdout.contains(
        "will skip agent-api.rate-limit::rate limit exceeded gives 429 with Retry-After, then recovers: missing key `ratelimit` (set LAUNCHGATE_RATELIMIT_KEY)"
    ), "{}", o.stdout);
    assert!(
        o.stdout.contains("n/a       agent-api.idempotency::"),
        "{}",
        o.stdout
    );
    // The standalone mock's rate window is 60 s: the default --max-wait (2m) fits it,
    // a shorter one does not.
    let env = [(
        "LAUNCHGATE_RATELIMIT_KEY".to_string(),
        mock.key("ratelimit"),
    )];
    let o = doctor(
        dir.path(),
        &["--target", &mock.url, "--max-wait", "10s"],
        &env,
    );
    assert!(
        line(&o, "key `ratelimit`").contains("exceeds --max-wait 10s"),
        "{}",
        o.stdout
    );
}

#[test]
fn an_unreachable_target_exits_3_and_the_embedded_mock_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let env = [(
        "LAUNCHGATE_PARTNER_KEY".to_string(),
        format!("rl_agent_{}", "x".repeat(40)),
    )];
    let o = doctor(
        dir.path(),
        &["--target", "http://127.0.0.1:9", "--timeout", "2s"],
        &env,
    );
    assert_eq!(o.code, 3, "{}\n{}", o.stdout, o.stderr);
    let o = doctor(dir.path(), &["--target", "mock"], &[]);
    assert_eq!(o.code, 2);
    assert!(o.stderr.contains("real target"), "{}", o.stderr);
}

/// `init` writes a target file and a secrets template that, once filled in,
/// `doctor` accepts in full; it never overwrites without --force.
#[test]
fn init_writes_files_doctor_accepts_once_filled_and_never_overwrites() {
    let mock = Standalone::start(&["--rate-window", "1s"]);
    let dir = tempfile::tempdir().unwrap();
    let o = bin()
        .current_dir(dir.path())
        .args(["init", "--base-url", &mock.url])
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let env_file = dir.path().join("staging.env");
    let template = std::fs::read_to_string(&env_file).unwrap();
    // Every input is listed with what it must be.
    for (var, _) in mock.staging_env() {
        assert!(
            template.contains(&format!("\n{var}=\n")),
            "{var} missing from\n{template}"
        );
    }
    assert!(template.contains("costs more than the member's balance"));

    // Untouched, the template supplies nothing: doctor names what is missing.
    let o = doctor(
        dir.path(),
        &["--target", "staging.yaml", "--secrets", "staging.env"],
        &[],
    );
    assert_eq!(o.code, 4, "{}\n{}", o.stdout, o.stderr);

    // Filled in (the point-of-sale key as the integration's), it is complete.
    let mut filled = template.clone();
    for (var, value) in mock.staging_env() {
        filled = filled.replace(&format!("\n{var}=\n"), &format!("\n{var}={value}\n"));
    }
    std::fs::write(&env_file, &filled).unwrap();
    let o = doctor(
        dir.path(),
        &["--target", "staging.yaml", "--secrets", "staging.env"],
        &[],
    );
    assert_eq!(o.code, 0, "{}\n{}", o.stdout, o.stderr);
    assert!(
        o.stdout.contains("0 wrong, 0 missing, 0 unchecked") && o.stdout.contains(", 0 will skip,"),
        "{}",
        o.stdout
    );

    // The environment wins over the file, and says so (by name only).
    let o = doctor(
        dir.path(),
        &["--target", "staging.yaml", "--secrets", "staging.env"],
        &[("LAUNCHGATE_MEMBER_KEY".into(), mock.key("partner"))],
    );
    assert_eq!(o.code, 1, "{}", o.stdout);
    assert!(line(&o, "key `member` (").contains("WRONG"));
    assert!(
        o.stderr.contains("LAUNCHGATE_MEMBER_KEY is set in the environment and in staging.env; the environment's value is used"),
        "{}",
        o.stderr
    );

    // No overwrite without --force.
    let o = bin().current_dir(dir.path()).arg("init").output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("pass --force"));
    assert_eq!(
        std::fs::read_to_string(&env_file).unwrap(),
        filled,
        "untouched"
    );
    let o = bin()
        .current_dir(dir.path())
        .args(["init", "--force"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(std::fs::read_to_string(&env_file).unwrap(), template);
}
