//! `launchgate doctor`: before a run, checks every input against the target with
//! read-only requests (each key authenticates and has the role and scopes its name
//! promises, each fixture exists and satisfies its guard, the rate-limit key can be
//! exhausted within the deadline), and shows what every case will do.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde_json::Value;

use crate::agent_api::{ErrorCode, Role, BASE_PATH, KEY_HEADER};
use crate::http::Response;
use crate::http::{Http, Request};
use crate::inputs::{InputKind, InputSpec, Promise, AGENT_API_INPUTS, MAX_BURST_LIMIT};
use crate::plan::{self, WritePolicy};
use crate::redact::Redactor;
use crate::runner::join_url;
use crate::target::{Kind, Target};

use super::stdout;
use super::target::load_secrets;
use super::{load_suites_for, Api, Error, Exit, TargetChoice, UsageError};

/// Everything `launchgate doctor` needs.
pub struct DoctorConfig {
    /// The target: a URL or a target file (not the embedded mock).
    pub target: TargetChoice,
    /// A `.env`-style secrets file.
    pub secrets: Option<PathBuf>,
    /// Scenario files; empty = the built-in suite of `api`.
    pub paths: Vec<PathBuf>,
    /// Which built-in suite.
    pub api: Api,
    /// Plan as `run --allow-writes` would.
    pub allow_writes: bool,
    /// Per-request timeout.
    pub timeout: Duration,
    /// The run's deadline and longest wait, for the rate-limit check.
    pub deadline: Duration,
    /// The longest Retry-After a run honours.
    pub max_wait: Duration,
}

/// How one input checked out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum State {
    Ok,
    Missing,
    Unchecked,
    Wrong,
}

impl State {
    fn label(self) -> &'static str {
        match self {
            State::Ok => "ok",
            State::Missing => "MISSING",
            State::Unchecked => "unchecked",
            State::Wrong => "WRONG",
        }
    }
}

/// One input's line in the table.
struct Check {
    kind: InputKind,
    name: String,
    var: String,
    state: State,
    detail: String,
}

/// Read-only requests against the target, with the answers the checks need.
struct Probe<'a> {
    http: Http,
    target: &'a Target,
    timeout: Duration,
    /// Requests that got an HTTP response, and those that did not.
    answered: std::cell::Cell<u32>,
    failed: std::cell::Cell<u32>,
}

impl Probe<'_> {
    async fn get(&self, path: &str, key: Option<&str>) -> Result<Response, String> {
        let mut headers = vec![("Accept".to_string(), "application/json".to_string())];
        if let Some(k) = key {
            headers.push((KEY_HEADER.into(), k.to_string()));
        }
        let req = Request {
            method: reqwest::Method::GET,
            url: join_url(&self.target.base_url, BASE_PATH, path),
            headers,
            body: None,
            timeout: self.timeout,
        };
        match self.http.send(&req).await {
            Ok(r) => {
                self.answered.set(self.answered.get() + 1);
                Ok(r)
            }
            Err(e) => {
                self.failed.set(self.failed.get() + 1);
                Err(format!("no answer: {}", e.message))
            }
        }
    }

    fn key(&self, name: &str) -> Option<&str> {
        self.target.inputs.keys.get(name).map(String::as_str)
    }

    fn fixture(&self, name: &str) -> Option<&str> {
        self.target.inputs.fixtures.get(name).map(String::as_str)
    }

    fn fact(&self, name: &str) -> Option<&Value> {
        self.target.facts.get(name)
    }
}

/// `status code`, or `status` when the body has no error code.
fn answer(r: &Response) -> String {
    let code = r
        .json()
        .ok()
        .and_then(|b| b["code"].as_str().map(str::to_string));
    match code {
        Some(c) => format!("{} {c}", r.status),
        None => r.status.to_string(),
    }
}

fn body(r: &Response) -> Value {
    r.json().unwrap_or(Value::Null)
}

fn scopes_of(health: &Value) -> Vec<String> {
    health["data"]["key"]["scopes"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// `GET /health` with a key: its role and scopes, or why it is not usable.
async fn health(p: &Probe<'_>, key: &str) -> Result<(String, Vec<String>, Response), String> {
    let r = p.get("/health", Some(key)).await?;
    if r.status != 200 {
        return Err(format!("refused: /health answered {}", answer(&r)));
    }
    let b = body(&r);
    let role = b["data"]["key"]["role"].as_str().unwrap_or("?").to_string();
    Ok((role, scopes_of(&b), r))
}

fn role_ok(role: &str, want: &str) -> Result<(), String> {
    if role == want {
        Ok(())
    } else {
        Err(format!("its role is `{role}`, not `{want}`"))
    }
}

async fn check_key(
    p: &Probe<'_>,
    spec: &InputSpec,
    key: &str,
    cfg: &DoctorConfig,
) -> (State, String) {
    let result = match spec.promise {
        Promise::Role(_) => check_integration_key(p, key).await,
        Promise::ReadOnly(want, write) => health(p, key).await.and_then(|(role, scopes, _)| {
            role_ok(&role, want.as_str())?;
            if scopes.iter().any(|s| s == write || s == "admin") {
                return Err(format!(
                    "it may `{write}` (scopes {}): the wrong-scope case needs a read-only key",
                    scopes.join(", ")
                ));
            }
            Ok(format!("{role} key, scopes {}", scopes.join(", ")))
        }),
        Promise::Writes(want, write) => health(p, key).await.and_then(|(role, scopes, _)| {
            role_ok(&role, want.as_str())?;
            if !scopes.iter().any(|s| s == write || s == "admin") {
                return Err(format!("it lacks `{write}` (scopes {})", scopes.join(", ")));
            }
            Ok(format!("{role} key, scopes {}", scopes.join(", ")))
        }),
        Promise::Refused(code) => {
            let (status, code) = (code.status(), code.as_str());
            let r = p.get("/health", Some(key)).await;
            match r {
                Err(e) => Err(e),
                Ok(r) if r.status == status && answer(&r).ends_with(code) => {
                    Ok(format!("refused with {status} {code}, as it must be"))
                }
                Ok(r) if r.status == 200 => {
                    Err(format!("it authenticates (200), so it cannot show {code}"))
                }
                Ok(r) => Err(format!("refused with {}, not {status} {code}", answer(&r))),
            }
        }
        Promise::FeatureDisabled => check_disabled_partner(p, key).await,
        Promise::LowRateLimit => check_rate_limit_key(p, key, cfg).await,
        _ => health(p, key)
            .await
            .map(|(role, scopes, _)| format!("{role} key, scopes {}", scopes.join(", "))),
    };
    match result {
        Ok(d) => (State::Ok, d),
        Err(d) => (State::Wrong, d),
    }
}

async fn check_integration_key(p: &Probe<'_>, key: &str) -> Result<String, String> {
    let (role, scopes, _) = health(p, key).await?;
    let want = p
        .fact("role")
        .and_then(Value::as_str)
        .unwrap_or(Role::Partner.as_str());
    role_ok(&role, want)?;
    if let Some(needs) = p.fact("needs").and_then(Value::as_array) {
        let needs: Vec<&str> = needs.iter().filter_map(Value::as_str).collect();
        let extra: Vec<&String> = scopes
            .iter()
            .filter(|s| !needs.contains(&s.as_str()))
            .collect();
        if !extra.is_empty() {
            return Err(format!(
                "it holds scopes the target's `needs:` does not list ({}): \"Scopes minimized\" will fail",
                extra.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
            ));
        }
    }
    Ok(format!("{role} key, scopes {}", scopes.join(", ")))
}

async fn check_disabled_partner(p: &Probe<'_>, key: &str) -> Result<String, String> {
    let (role, _, _) = health(p, key).await?;
    role_ok(&role, Role::Partner.as_str())?;
    let r = p.get("/partner/cards", Some(key)).await?;
    let disabled = ErrorCode::FeatureDisabled;
    let want = format!("{} {}", disabled.status(), disabled.as_str());
    match answer(&r) {
        other if other == want => Ok(format!("a partner without Agent API permission ({want})")),
        other if r.status == 200 => Err(format!("its partner has the Agent API permission ({other}): use a partner whose agent_api_permission is off")),
        other => Err(format!("a partner route answered {other}, not {want}")),
    }
}

async fn check_rate_limit_key(
    p: &Probe<'_>,
    key: &str,
    cfg: &DoctorConfig,
) -> Result<String, String> {
    let (_, _, r) = health(p, key).await?;
    let b = body(&r);
    let limit = r
        .header("x-ratelimit-limit")
        .and_then(|v| v.trim().parse::<u64>().ok())
        .or_else(|| b["data"]["key"]["rate_limit"].as_u64())
        .ok_or("it shows no rate limit (no X-RateLimit-Limit, no key.rate_limit)")?;
    if limit > MAX_BURST_LIMIT {
        return Err(format!(
            "its limit is {limit} per window; the rate-limit case bursts at most {} requests: use a key limited to {MAX_BURST_LIMIT} or fewer",
            MAX_BURST_LIMIT + 1
        ));
    }
    // The wait after the burst is at most one window; the reset header says how long it is now.
    let now = chrono::Utc::now().timestamp();
    let window = r
        .header("x-ratelimit-reset")
        .and_then(|v| v.trim().parse::<i64>().ok())
        .map(|reset| Duration::from_secs((reset - now).clamp(1, 3600) as u64))
        .unwrap_or(Duration::from_secs(60));
    let wait = humantime::format_duration(window);
    if window > cfg.max_wait || window >= cfg.deadline {
        return Err(format!(
            "limit {limit}, but the wait after the burst (up to {wait}) exceeds --max-wait {} or --deadline {}",
            humantime::format_duration(cfg.max_wait),
            humantime::format_duration(cfg.deadline)
        ));
    }
    Ok(format!(
        "limit {limit} per window: a burst of {} requests and a wait of about {wait} exhaust it",
        limit + 1
    ))
}

async fn check_fixture(p: &Probe<'_>, spec: &InputSpec, value: &str) -> (State, String) {
    let Some(key) = p.key("integration") else {
        return (
            State::Unchecked,
            "needs the integration's key to check".into(),
        );
    };
    let own = |path: String, what: &'static str| async move {
        let r = p.get(&path, Some(key)).await?;
        match r.status {
            200 => Ok(body(&r)),
            _ => Err(format!(
                "{what} answered {}: not found at the integration's partner",
                answer(&r)
            )),
        }
    };
    let foreign = |path: String| async move {
        let r = p.get(&path, Some(key)).await?;
        match r.status {
            404 => Ok("not visible to the integration's partner (404); launchgate cannot tell another partner's id from an unknown one".to_string()),
            200 => Err("the integration's own partner sees it (200): use another partner's id".to_string()),
            _ => Ok(format!("answers {} (the not-found case wants 404)", answer(&r))),
        }
    };
    let result = match spec.promise {
        Promise::OwnCard => own(format!("/partner/cards/{value}"), "the card")
            .await
            .and_then(|b| {
                if b["data"]["is_active"] == Value::Bool(false) {
                    Err("the card is inactive".to_string())
                } else {
                    Ok(format!(
                        "card `{}`",
                        b["data"]["name"].as_str().unwrap_or("?")
                    ))
                }
            }),
        Promise::OwnReward => own(format!("/partner/rewards/{value}"), "the reward")
            .await
            .map(|b| format!("reward costing {} points", b["data"]["points"])),
        Promise::OwnMember => own(format!("/partner/members/{value}"), "the member")
            .await
            .map(|_| "a member of the integration's partner".to_string()),
        Promise::Unaffordable => check_unaffordable(p, key, value).await,
        Promise::ForeignCard => foreign(format!("/partner/cards/{value}")).await,
        Promise::ForeignMember => foreign(format!("/partner/members/{value}")).await,
        _ => Ok(String::new()),
    };
    match result {
        Ok(d) => (State::Ok, d),
        Err(d) => (State::Wrong, d),
    }
}

/// The guard of the insufficient-points case: the reward must cost more than the balance.
async fn check_unaffordable(p: &Probe<'_>, key: &str, reward: &str) -> Result<String, String> {
    let r = p
        .get(&format!("/partner/rewards/{reward}"), Some(key))
        .await?;
    if r.status != 200 {
        return Err(format!(
            "the reward answered {}: not found at the integration's partner",
            answer(&r)
        ));
    }
    let cost = body(&r)["data"]["points"]
        .as_f64()
        .ok_or("the reward shows no `points` cost")?;
    let (Some(member), Some(card)) = (p.fixture("member_identifier"), p.fixture("card_id")) else {
        return Ok(format!(
            "costs {cost} points (set the member and card fixtures to compare it with a balance)"
        ));
    };
    let r = p
        .get(
            &format!("/partner/members/{member}/balance/{card}"),
            Some(key),
        )
        .await?;
    let balance = body(&r)["data"]["balance"]
        .as_f64()
        .ok_or_else(|| format!("the member's balance on the card answered {}", answer(&r)))?;
    if balance >= cost {
        return Err(format!(
            "it costs {cost} points and the member's balance is {balance}: affordable, so the insufficient-points case could only be inconclusive (it never redeems); use a reward that costs more than {balance}"
        ));
    }
    Ok(format!(
        "costs {cost} points; the member's balance is {balance}"
    ))
}

/// Checks every input of the built-in suite, and any other key the target has.
async fn check_inputs(p: &Probe<'_>, cfg: &DoctorConfig) -> Vec<Check> {
    let integration = p
        .fact("integration_key")
        .and_then(Value::as_str)
        .unwrap_or("partner")
        .to_string();
    let mut out = Vec::new();
    for spec in AGENT_API_INPUTS {
        // The integration's key stands where the table says `partner`.
        let name = if spec.promise == Promise::Role(None) {
            integration.clone()
        } else {
            spec.name.to_string()
        };
        let (value, var) = match spec.kind {
            InputKind::Key => (p.key(&name), p.target.key_var(&name)),
            InputKind::Fixture => (p.fixture(&name), p.target.fixture_var(&name)),
        };
        let (state, detail) = match value {
            None => (State::Missing, format!("set {var}: {}", spec.must_be)),
            Some(v) => match spec.kind {
                InputKind::Key => check_key(p, spec, v, cfg).await,
                InputKind::Fixture => check_fixture(p, spec, v).await,
            },
        };
        out.push(Check {
            kind: spec.kind,
            name,
            var,
            state,
            detail,
        });
    }
    let known: Vec<String> = out.iter().map(|c| c.name.clone()).collect();
    for (name, value) in &p.target.inputs.keys {
        if name == "integration" || known.contains(name) {
            continue;
        }
        let (state, detail) = match health(p, value).await {
            Ok((role, scopes, _)) => (
                State::Ok,
                format!(
                    "{role} key, scopes {} (used by no built-in case)",
                    scopes.join(", ")
                ),
            ),
            Err(e) => (State::Ok, format!("{e} (used by no built-in case)")),
        };
        out.push(Check {
            kind: InputKind::Key,
            name: name.clone(),
            var: p.target.key_var(name),
            state,
            detail,
        });
    }
    out
}

/// What a case will do: run, skip (why), not apply, or run with a wrong input.
fn case_rows(
    suites: &[crate::scenario::Suite],
    target: &Target,
    policy: WritePolicy,
    checks: &[Check],
) -> Vec<(String, String, String)> {
    let wrong: BTreeMap<(InputKind, &str), &Check> = checks
        .iter()
        .filter(|c| c.state == State::Wrong)
        .map(|c| ((c.kind, c.name.as_str()), c))
        .collect();
    let integration = target
        .facts
        .get("integration_key")
        .and_then(Value::as_str)
        .unwrap_or("partner");
    let mut rows = Vec::new();
    let plan = plan::plan(suites, target, policy);
    for pc in plan.cases {
        let suite = &suites[pc.suite];
        let case = &suite.spec.cases[pc.case].value;
        if let Some(why) = pc.skip {
            rows.push(("will skip".into(), pc.id, why));
            continue;
        }
        let mut bad: Vec<String> = Vec::new();
        for k in plan::keys_used(case, suite) {
            let k = if k == "integration" {
                integration.to_string()
            } else {
                k
            };
            if let Some(c) = wrong.get(&(InputKind::Key, k.as_str())) {
                bad.push(format!("key `{}` ({}) is wrong", c.name, c.var));
            }
        }
        for (ns, name) in plan::references(case, suite) {
            if ns == crate::template::Namespace::Fixtures {
                if let Some(c) = wrong.get(&(InputKind::Fixture, name.as_str())) {
                    bad.push(format!("fixture `{}` ({}) is wrong", c.name, c.var));
                }
            }
        }
        if bad.is_empty() {
            rows.push(("will run".into(), pc.id, String::new()));
        } else {
            rows.push((
                "at risk".into(),
                pc.id,
                format!("will run, but {}", bad.join(", ")),
            ));
        }
    }
    for na in plan.not_applicable {
        rows.push(("n/a".into(), na.id, na.reason));
    }
    rows
}

/// The real target doctor checks: the embedded mock brings all of its own inputs.
fn resolve(cfg: &DoctorConfig) -> Result<Target, Error> {
    let secrets = load_secrets(cfg.secrets.as_deref())?;
    Ok(match &cfg.target {
        TargetChoice::Url(u) => Target::from_url(u, &secrets)?,
        TargetChoice::File(f) => Target::from_file(f, &secrets)?,
        TargetChoice::Mock(_) | TargetChoice::Vendor(_) => {
            return Err(UsageError::Invalid("target: doctor checks a real target's inputs: give --target URL or a target file (the embedded mock brings all of its own)".into()).into())
        }
    })
}

/// `launchgate doctor`: exit 0 when every input is set and right, 1 when one is
/// wrong, 3 when the target never answered, 4 when one is missing or a case would skip.
pub fn doctor(cfg: DoctorConfig) -> Result<Exit, Error> {
    let target = resolve(&cfg)?;
    let suites = load_suites_for(&cfg.paths, cfg.api)?;
    let redactor = Redactor::new(&target.secrets);
    let http = super::target::http_for(&target, crate::http::DEFAULT_BODY_CAP)?;
    let rt = super::runtime()?;
    let probe = Probe {
        http,
        target: &target,
        timeout: cfg.timeout,
        answered: Default::default(),
        failed: Default::default(),
    };
    // The input checks speak of the Agent API suite; other suites get the case table only.
    let checks = if cfg.api == Api::Agent && target.kind == Kind::Remote {
        rt.block_on(check_inputs(&probe, &cfg))
    } else {
        Vec::new()
    };
    let policy = WritePolicy {
        allow_writes: cfg.allow_writes,
    };
    let rows = case_rows(&suites, &target, policy, &checks);
    let text = render(&target, &checks, &rows);
    stdout::print(&redactor.redact(&text));
    if probe.failed.get() > 0 && probe.answered.get() == 0 {
        return Err(Error::Unreachable(format!(
            "the target never answered ({} requests)",
            probe.failed.get()
        )));
    }
    let worst = checks.iter().map(|c| c.state).max().unwrap_or(State::Ok);
    let skips = rows.iter().any(|(what, _, _)| what == "will skip");
    Ok(match worst {
        State::Wrong => Exit::Failed,
        State::Missing | State::Unchecked => Exit::Skipped,
        State::Ok if skips => Exit::Skipped,
        State::Ok => Exit::Passed,
    })
}

fn render(target: &Target, checks: &[Check], rows: &[(String, String, String)]) -> String {
    use std::fmt::Write as _;
    let mut s = format!("launchgate doctor: {} ({})\n", target.name, target.base_url);
    if !checks.is_empty() {
        let _ = writeln!(s, "\ninputs (read-only checks against the target):");
        let width = checks
            .iter()
            .map(|c| c.name.len() + c.var.len() + 12)
            .max()
            .unwrap_or(0);
        for c in checks {
            let what = match c.kind {
                InputKind::Key => "key",
                InputKind::Fixture => "fixture",
            };
            let label = format!("{what} `{}` ({})", c.name, c.var);
            let _ = writeln!(s, "  {:<9} {label:<width$}  {}", c.state.label(), c.detail);
        }
    }
    let _ = writeln!(s, "\ncases ({}):", rows.len());
    for (what, id, why) in rows {
        if why.is_empty() {
            let _ = writeln!(s, "  {what:<9} {id}");
        } else {
            let _ = writeln!(s, "  {what:<9} {id}: {why}");
        }
    }
    let count = |st: State| checks.iter().filter(|c| c.state == st).count();
    let rows_of = |w: &str| rows.iter().filter(|r| r.0 == w).count();
    let _ = writeln!(
        s,
        "\nsummary: {} inputs ok, {} wrong, {} missing, {} unchecked; {} cases will run ({} with a wrong input), {} will skip, {} do not apply",
        count(State::Ok),
        count(State::Wrong),
        count(State::Missing),
        count(State::Unchecked),
        rows_of("will run") + rows_of("at risk"),
        rows_of("at risk"),
        rows_of("will skip"),
        rows_of("n/a"),
    );
    s
}
