//! Planning: which cases run against this target, why the others are skipped,
//! and which do not apply to it at all.
//!
//! Decided before any request is sent, from the scenario files and the target
//! alone, so `--list` and the reports agree with what a run would do.
//!
//! *Not applicable* is not *skipped*: a skipped case could run against this
//! target if the user supplied something (a key, a fixture, `--allow-writes`),
//! so it is evidence that is missing; a case declared for another kind of
//! target (`requires: {target: mock}` against staging) can never run here, so
//! nothing is missing. Not-applicable cases are left out of the run, listed
//! apart in the JSON report and the console summary, and never count towards
//! `--fail-on-skip` or an incomplete decision.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::report::NotApplicableCase;
use crate::scenario::{CaseSpec, ExpectSpec, Suite, TargetKindSpec};
use crate::target::{Kind, Target};
use crate::template::{self, Namespace, Template};

/// One case, with the decision whether to run it.
#[derive(Debug, Clone)]
pub struct PlannedCase {
    /// `suite::case name`.
    pub id: String,
    /// Index of the suite in the plan.
    pub suite: usize,
    /// Index of the case in its suite.
    pub case: usize,
    /// Set when the case will not run, with the reason.
    pub skip: Option<String>,
}

/// What a run will do: the cases that apply to the target (each run or skipped)
/// and, apart, the cases that do not apply to it.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    /// Cases that apply to this target, in file order; each runs or is skipped.
    pub cases: Vec<PlannedCase>,
    /// Cases declared for another kind of target: not run, not skipped.
    pub not_applicable: Vec<NotApplicableCase>,
}

impl Plan {
    /// Keeps the cases of shard `k` of `n` (1-based), applicable or not, so the
    /// shards of a split run list every not-applicable case exactly once.
    pub fn partition(self, k: u32, n: u32) -> Plan {
        Plan {
            cases: partition(self.cases, k, n),
            not_applicable: self
                .not_applicable
                .into_iter()
                .filter(|c| in_shard(&c.id, k, n))
                .collect(),
        }
    }
}

/// Which writes the run may send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WritePolicy {
    /// `--allow-writes` was given.
    pub allow_writes: bool,
}

/// A case's references to target inputs, found in every template it contains.
pub fn references(case: &CaseSpec, suite: &Suite) -> BTreeSet<(Namespace, String)> {
    let mut refs = BTreeSet::new();
    let add_str = |s: &str, refs: &mut BTreeSet<(Namespace, String)>| {
        if let Ok(t) = Template::parse(s) {
            for (ns, name) in t.references() {
                refs.insert((ns, name.to_string()));
            }
        }
    };
    fn add_value(v: &Value, refs: &mut BTreeSet<(Namespace, String)>) {
        if let Ok(ts) = template::parse_value(v) {
            for t in ts {
                for (ns, name) in t.references() {
                    refs.insert((ns, name.to_string()));
                }
            }
        }
    }
    fn add_expect(e: &ExpectSpec, refs: &mut BTreeSet<(Namespace, String)>) {
        for m in e.headers.values().chain(e.json.values()) {
            add_matcher(&m.value.0, refs);
        }
        for p in e.json.keys().chain(e.headers.keys()) {
            add_value(&Value::String(p.clone()), refs);
        }
    }
    fn add_matcher(m: &crate::scenario::Matcher, refs: &mut BTreeSet<(Namespace, String)>) {
        for v in m.all().into_iter().flat_map(|m| m.operands()) {
            add_value(v, refs);
        }
    }
    for v in suite.spec.defaults.headers.values() {
        add_str(&v.value, &mut refs);
    }
    for v in case.vars.values() {
        add_value(&v.value, &mut refs);
    }
    for (n, _) in &suite.spec.defaults.headers {
        add_str(n, &mut refs);
    }
    for step in &case.steps {
        let s = &step.value;
        if let Some(r) = &s.request {
            add_str(&r.path.value, &mut refs);
            for (n, v) in &r.headers {
                add_str(n, &mut refs);
                add_str(&v.value, &mut refs);
            }
            for (k, v) in &r.query {
                add_str(k, &mut refs);
                add_value(&v.value, &mut refs);
            }
            if let Some(j) = &r.json {
                add_value(&j.value, &mut refs);
            }
            if let Some(b) = &r.body {
                add_str(&b.value, &mut refs);
            }
        }
        if let Some(r) = &s.receive {
            add_str(&r.value.within.value, &mut refs);
            add_expect(&r.value.until, &mut refs);
            if let Some(sig) = &r.value.signature {
                add_str(&sig.header, &mut refs);
                add_str(&sig.secret, &mut refs);
                for t in sig.scheme.iter().chain(&sig.tolerance) {
                    add_str(t, &mut refs);
                }
            }
        }
        for c in s.capture.values() {
            if let Some(p) = &c.value.json {
                add_str(p, &mut refs);
            }
        }
        for v in s.record.values() {
            add_value(&v.value, &mut refs);
        }
        if let Some(w) = &s.wait {
            add_str(&w.value, &mut refs);
        }
        for g in &s.guard {
            add_value(&g.value.value, &mut refs);
            add_matcher(&g.value.is.0, &mut refs);
        }
        add_expect(&s.expect, &mut refs);
        add_expect(&s.warn, &mut refs);
        if let Some(r) = &s.repeat {
            add_expect(&r.value.until, &mut refs);
        }
    }
    refs
}

/// One input a case needs and the target lacks.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Missing {
    /// `key`, `fixture` or `target fact`.
    pub kind: &'static str,
    /// The input's name (`ratelimit`, `card_id`, `role`).
    pub name: String,
    /// Where to supply it: the environment variable, or for a fact what to write in
    /// the target file.
    pub supply: String,
    /// True when `supply` is an environment variable.
    pub is_var: bool,
}

impl std::fmt::Display for Missing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.is_var {
            write!(f, "{} `{}` (set {})", self.kind, self.name, self.supply)
        } else {
            write!(f, "{} `{}` ({})", self.kind, self.name, self.supply)
        }
    }
}

/// True when a case is meant for this kind of target: see [`not_applicable`].
pub fn applies(case: &CaseSpec, target: &Target) -> bool {
    not_applicable(case, target).is_none()
}

/// The keys a case uses (templates and `requires.keys`), by name.
pub fn keys_used(case: &CaseSpec, suite: &Suite) -> BTreeSet<String> {
    let mut keys: BTreeSet<String> = case.requires.keys.iter().cloned().collect();
    for (ns, name) in references(case, suite) {
        if ns == Namespace::Keys {
            keys.insert(name);
        }
    }
    keys
}

/// The inputs (keys, fixtures, target facts) a case needs and the target lacks.
pub fn missing_inputs(case: &CaseSpec, suite: &Suite, target: &Target) -> Vec<Missing> {
    let keys = keys_used(case, suite);
    let mut fixtures: BTreeSet<String> = case.requires.fixtures.iter().cloned().collect();
    let mut missing = Vec::new();
    for (ns, name) in references(case, suite) {
        match ns {
            Namespace::Fixtures => {
                fixtures.insert(name);
            }
            Namespace::Target
                if !target.facts.contains_key(&name)
                    && !suite.spec.defaults.target.contains_key(&name) =>
            {
                // role, needs and integration_key are fields of their own; anything else is a fact.
                let supply = if matches!(name.as_str(), "role" | "needs" | "integration_key") {
                    format!("declare `{name}:` in the target file")
                } else {
                    "declare it under `facts:` in the target file".to_string()
                };
                missing.push(Missing {
                    kind: "target fact",
                    name,
                    supply,
                    is_var: false,
                });
            }
            _ => {}
        }
    }
    for k in keys {
        if !target.inputs.keys.contains_key(&k) {
            let supply = target.key_var(&k);
            missing.push(Missing {
                kind: "key",
                name: k,
                supply,
                is_var: true,
            });
        }
    }
    for f in fixtures {
        if !target.inputs.fixtures.contains_key(&f) {
            let supply = target.fixture_var(&f);
            missing.push(Missing {
                kind: "fixture",
                name: f,
                supply,
                is_var: true,
            });
        }
    }
    missing
}

/// Why a case does not apply to this kind of target, if it does not: it is
/// declared for another kind (`requires: {target: ...}`). Nothing the user could
/// supply would make it run here, so it is never a skip.
pub fn not_applicable(case: &CaseSpec, target: &Target) -> Option<String> {
    match (case.requires.target, target.kind) {
        (Some(TargetKindSpec::Mock), Kind::Remote) => Some(
            "runs only against the embedded mock (it needs the mock's fault injection or fixtures)"
                .into(),
        ),
        (Some(TargetKindSpec::Remote), Kind::Mock) => {
            Some("runs only against a real target".into())
        }
        _ => None,
    }
}

/// Why a case that applies to this target cannot run against it, if it cannot
/// (missing inputs, writes not allowed). Call [`not_applicable`] first.
pub fn skip_reason(
    case: &CaseSpec,
    suite: &Suite,
    target: &Target,
    policy: WritePolicy,
) -> Option<String> {
    let missing = missing_inputs(case, suite, target);
    if !missing.is_empty() {
        let shown: Vec<String> = missing.iter().map(Missing::to_string).collect();
        return Some(format!("missing {}", shown.join(", ")));
    }
    if target.kind == Kind::Remote && !policy.allow_writes {
        if let Some(step) = case.steps.iter().find(|s| s.value.writes) {
            let name = step.value.name.clone().unwrap_or_else(|| {
                step.value
                    .request
                    .as_ref()
                    .map_or_else(String::new, |r| r.path.value.clone())
            });
            return Some(format!(
                "step `{name}` writes to the target; pass --allow-writes to run it against a real environment"
            ));
        }
    }
    None
}

/// Plans every case of every suite.
pub fn plan(suites: &[Suite], target: &Target, policy: WritePolicy) -> Plan {
    let mut out = Plan::default();
    for (si, suite) in suites.iter().enumerate() {
        for (ci, case) in suite.spec.cases.iter().enumerate() {
            let id = format!("{}::{}", suite.name, case.value.name.value);
            if let Some(reason) = not_applicable(&case.value, target) {
                out.not_applicable.push(NotApplicableCase {
                    id,
                    file: suite.path.display().to_string(),
                    line: case.referenced.line() as usize,
                    reason,
                });
                continue;
            }
            out.cases.push(PlannedCase {
                id,
                suite: si,
                case: ci,
                skip: skip_reason(&case.value, suite, target, policy),
            });
        }
    }
    out
}

/// Keeps the cases of shard `k` of `n` (1-based); the assignment depends only on the case id.
pub fn partition(cases: Vec<PlannedCase>, k: u32, n: u32) -> Vec<PlannedCase> {
    cases
        .into_iter()
        .filter(|c| in_shard(&c.id, k, n))
        .collect()
}

/// True when the case `id` belongs to shard `k` of `n` (1-based).
pub fn in_shard(id: &str, k: u32, n: u32) -> bool {
    fnv1a(id.as_bytes()) % u64::from(n) == u64::from(k - 1)
}

/// FNV-1a: stable across platforms and releases, unlike `DefaultHasher`.
fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::target::Inputs;
    use std::path::Path;

    fn suite(src: &str) -> Suite {
        crate::scenario::load_file(Path::new("scenarios/t.yaml"), src).unwrap()
    }

    const SRC: &str = r#"
cases:
  - name: uses partner key
    steps:
      - request:
          path: /x
          headers: {X-Agent-Key: "{{ keys.partner }}"}
          query: {card: "{{ fixtures.card_id }}"}
  - name: writes
    steps:
      - request: {method: POST, path: /w}
        writes: true
  - name: mock only
    requires: {target: mock}
    steps:
      - request: {path: /m}
"#;

    #[test]
    fn missing_inputs_and_writes_skip_on_remote() {
        let s = suite(SRC);
        let target = Target::from_url("https://staging.example.com", &Default::default()).unwrap();
        let p = plan(
            std::slice::from_ref(&s),
            &target,
            WritePolicy {
                allow_writes: false,
            },
        );
        let reasons: Vec<_> = p
            .cases
            .iter()
            .map(|c| c.skip.clone().unwrap_or_default())
            .collect();
        assert!(
            reasons[0].contains("key `partner` (set LAUNCHGATE_PARTNER_KEY)"),
            "{}",
            reasons[0]
        );
        assert!(reasons[0].contains("fixture `card_id` (set LAUNCHGATE_CARD_ID)"));
        assert!(reasons[1].contains("--allow-writes"));
        let p = plan(
            std::slice::from_ref(&s),
            &target,
            WritePolicy { allow_writes: true },
        );
        assert!(p.cases[1].skip.is_none());
    }

    #[test]
    fn a_case_for_another_kind_of_target_is_not_applicable_not_skipped() {
        let s = suite(SRC);
        let mut inputs = Inputs::default();
        inputs.keys.insert("partner".into(), "k".into());
        inputs.fixtures.insert("card_id".into(), "c".into());
        let remote = Target::from_url("https://staging.example.com", &Default::default()).unwrap();
        let p = plan(
            std::slice::from_ref(&s),
            &remote,
            WritePolicy { allow_writes: true },
        );
        let ids: Vec<_> = p.cases.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(ids, ["t::uses partner key", "t::writes"]);
        assert_eq!(p.not_applicable.len(), 1, "{p:?}");
        let na = &p.not_applicable[0];
        assert_eq!(
            (na.id.as_str(), na.file.as_str(), na.line),
            ("t::mock only", "scenarios/t.yaml", 13)
        );
        assert!(na.reason.contains("embedded mock"), "{}", na.reason);

        let remote_only = suite(&SRC.replace("target: mock", "target: remote"));
        let mock = Target::mock("http://127.0.0.1:1", inputs);
        let p = plan(
            std::slice::from_ref(&remote_only),
            &mock,
            WritePolicy {
                allow_writes: false,
            },
        );
        assert_eq!(p.cases.len(), 2);
        assert!(p.cases.iter().all(|c| c.skip.is_none()), "{p:?}");
        assert_eq!(
            p.not_applicable[0].reason,
            "runs only against a real target"
        );
    }

    #[test]
    fn shards_list_each_not_applicable_case_once() {
        let src: String = (0..20)
            .map(|i| format!("  - name: c{i}\n    requires: {{target: mock}}\n    steps:\n      - request: {{path: /m}}\n"))
            .collect();
        let s = suite(&format!("cases:\n{src}"));
        let remote = Target::from_url("https://staging.example.com", &Default::default()).unwrap();
        let whole = plan(
            std::slice::from_ref(&s),
            &remote,
            WritePolicy {
                allow_writes: false,
            },
        );
        let mut ids: Vec<String> = (1..=3)
            .flat_map(|k| whole.clone().partition(k, 3).not_applicable)
            .map(|c| c.id)
            .collect();
        ids.sort();
        let mut all: Vec<String> = whole.not_applicable.iter().map(|c| c.id.clone()).collect();
        all.sort();
        assert_eq!(ids, all);
        assert_eq!(all.len(), 20);
    }

    #[test]
    fn partitions_cover_everything_once() {
        let cases: Vec<PlannedCase> = (0..50)
            .map(|i| PlannedCase {
                id: format!("s::c{i}"),
                suite: 0,
                case: i,
                skip: None,
            })
            .collect();
        let mut seen: Vec<usize> = (1..=3)
            .flat_map(|k| partition(cases.clone(), k, 3))
            .map(|c| c.case)
            .collect();
        seen.sort();
        assert_eq!(seen, (0..50).collect::<Vec<_>>());
    }
}
