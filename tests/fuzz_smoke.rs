//! A fuzz smoke test for CI (stable Rust, no cargo-fuzz): the same entry points as the
//! `fuzz/` targets, fed the seed corpus, known-hostile inputs and a few thousand
//! deterministic mutations of them. Any panic fails the test and names the input.
//!
//! `LAUNCHGATE_FUZZ_SMOKE_ITERS=N` changes the number of mutations per target.

use crate::props;

use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use launchgate::template::{expand_str, expand_value, parse_value, Scope, Template};
use serde_json::{json, Value};

use crate::common::root;

/// Same body as `fuzz/fuzz_targets/scenario_load.rs`.
fn scenario_target(text: &str) {
    match launchgate::scenario::load_file(Path::new("scenarios/fuzz/input.yaml"), text) {
        Ok(suite) => {
            for case in &suite.spec.cases {
                let _ = launchgate::references(&case.value, &suite);
            }
        }
        Err(diags) => {
            for d in diags {
                let _ = d.to_string();
            }
        }
    }
}

/// Same body as `fuzz/fuzz_targets/template.rs`.
fn template_target(text: &str) {
    let keys = BTreeMap::from([("partner".to_string(), "rl_agent_x".to_string())]);
    let fixtures = BTreeMap::from([("card_id".to_string(), "c-1".to_string())]);
    let mut scope = Scope {
        keys: Some(&keys),
        fixtures: Some(&fixtures),
        ..Scope::default()
    };
    scope.vars.insert("n".into(), json!(42));
    scope
        .vars
        .insert("obj".into(), json!({"a": [1, "two", null]}));
    scope.run.insert("id".into(), "lg-fuzz".into());
    scope.target.insert("kind".into(), json!("mock"));
    if let Ok(t) = Template::parse(text) {
        let _ = t.is_literal();
        let _ = t.references().count();
        let _ = t.render(&scope);
    }
    let _ = expand_str(text, &scope);
    let value = serde_json::from_str::<Value>(text).unwrap_or_else(|_| Value::String(text.into()));
    let _ = parse_value(&value);
    let _ = expand_value(&value, &scope);
}

/// xorshift64*: deterministic, so a failure reproduces.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Tokens that matter to YAML, JSON, the scenario model and the template language.
const DICTIONARY: &[&str] = &[
    "{{",
    "}}",
    "{{ ",
    " }}",
    "(",
    ")",
    "\"",
    "'",
    "vars.",
    "keys.",
    "fixtures.",
    "run.",
    "target.",
    "uuid()",
    "fake_key(\"rl_agent_\")",
    "today(",
    "epoch(",
    "+",
    "-",
    "9223372036854775807",
    "-9223372036854775808",
    "99999999999999999999",
    "1e309",
    "\n",
    "\n  ",
    "\n    - ",
    ": ",
    "- ",
    "&a ",
    "*a",
    "!!str ",
    "!!binary ",
    "<<: ",
    "? ",
    "|\n",
    ">-\n",
    "#",
    "[",
    "]",
    "{",
    "}",
    ",",
    "\t",
    "\u{feff}",
    "\u{0}",
    "é",
    "…",
    "cases:",
    "steps:",
    "request:",
    "expect:",
    "status: ",
    "json:",
    "$.",
    "$..*",
    "[?@.a]",
    "capture:",
    "guard:",
    "repeat:",
    "max: ",
    "wait: ",
    "snapshot: ",
    "locks: ",
    "serial: true",
    "timeout: ",
    "headers:",
    "query:",
    "schema:",
    "regex: ",
    "(?",
    "each:",
    "any_of:",
    "length:",
    "one_of: ",
    "base_path: ",
    "~",
    "null",
    "true",
    ".inf",
    "0x",
    "0o7",
];

fn mutate(rng: &mut Rng, seeds: &[Vec<u8>]) -> Vec<u8> {
    let mut data = seeds[rng.below(seeds.len())].clone();
    for _ in 0..=rng.below(8) {
        let at = rng.below(data.len() + 1);
        match rng.below(6) {
            0 if !data.is_empty() => {
                let i = at.min(data.len() - 1);
                data[i] ^= 1 << rng.below(8);
            }
            1 if !data.is_empty() => {
                let end = (at + rng.below(64)).min(data.len());
                data.drain(at.min(end)..end);
            }
            2 => {
                let end = (at + rng.below(128)).min(data.len());
                let copy = data[at.min(end)..end].to_vec();
                let to = rng.below(data.len() + 1);
                data.splice(to..to, copy);
            }
            3 => {
                let other = &seeds[rng.below(seeds.len())];
                let from = rng.below(other.len() + 1);
                let end = (from + rng.below(256)).min(other.len());
                data.splice(at..at, other[from..end].iter().copied());
            }
            _ => {
                let tok = DICTIONARY[rng.below(DICTIONARY.len())];
                data.splice(at..at, tok.bytes());
            }
        }
    }
    data.truncate(64 * 1024);
    data
}

fn read_dir(dir: &Path) -> Vec<Vec<u8>> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|p| std::fs::read(p).unwrap())
        .collect()
}

fn iterations() -> usize {
    std::env::var("LAUNCHGATE_FUZZ_SMOKE_ITERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5000)
}

/// Runs `target` on every seed, every hostile input and `iterations()` mutations.
fn smoke(name: &str, seeds: Vec<Vec<u8>>, hostile: &[String], target: fn(&str)) {
    smoke_n(name, seeds, hostile, iterations(), |data| {
        target(&String::from_utf8_lossy(data))
    });
}

/// [`smoke`] with `n` mutations, on raw bytes.
fn smoke_n(name: &str, seeds: Vec<Vec<u8>>, hostile: &[String], n: usize, target: impl Fn(&[u8])) {
    let mut rng = Rng(0x5eed_1a0c_4a7e_0001 ^ name.len() as u64);
    let mut inputs: Vec<Vec<u8>> = seeds.clone();
    inputs.extend(hostile.iter().map(|h| h.clone().into_bytes()));
    for _ in 0..n {
        inputs.push(mutate(&mut rng, &seeds));
    }
    // Keep the panic hook quiet: a failure is reported below, with its input.
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let mut crashes = Vec::new();
    for data in &inputs {
        if let Err(p) = catch_unwind(AssertUnwindSafe(|| target(data))) {
            let text = String::from_utf8_lossy(data);
            let msg = p
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            crashes.push((text.into_owned(), msg));
        }
    }
    std::panic::set_hook(hook);
    if let Some((input, msg)) = crashes.first() {
        let dump = std::env::temp_dir().join(format!("launchgate-fuzz-smoke-{name}.txt"));
        let _ = std::fs::write(&dump, input);
        let shown: String = input.chars().take(400).collect();
        panic!(
            "{} of {} {name} inputs panicked; first: {msg}\ninput (full text in {}):\n{shown}",
            crashes.len(),
            inputs.len(),
            dump.display()
        );
    }
}

#[test]
fn scenario_loader_never_panics() {
    let seeds = read_dir(&root().join("scenarios/agent-api"));
    let deep = format!("cases: {}{}", "[".repeat(5000), "]".repeat(5000));
    let hostile = vec![
        String::new(),
        "\u{feff}".into(),
        "cases:\n  - name: a\n    steps: []\n".into(),
        "cases:\n  - name: a\n    steps:\n      - request: {path: \"{{ today(9223372036854775807) }}\"}\n".into(),
        "cases:\n  - name: a\n    steps:\n      - request: {path: /x}\n        expect: {json: {\"$[\": 1}}\n".into(),
        "cases:\n  - name: a\n    steps:\n      - request: {path: /x}\n        expect: {headers: {X: {regex: \"(\"}}}\n".into(),
        "cases:\n  - name: a\n    steps:\n      - request: {path: /x}\n        repeat: {max: 18446744073709551616, until: {status: 200}}\n".into(),
        "a: &a [*a]\n".into(),
        "x: !!binary \"@@@\"\n".into(),
        deep,
        "cases:\n".to_string() + &"  - name: x\n    steps: []\n".repeat(200),
    ];
    smoke("scenario", seeds, &hostile, scenario_target);
}

#[test]
fn templates_never_panic() {
    let seeds = read_dir(&root().join("fuzz/seeds/template"));
    let hostile: Vec<String> = [
        "{{ today(9223372036854775807) }}",
        "{{ today(-9223372036854775808) }}",
        "{{ today(+106751991167300) }}",
        "{{ today(2932897) }}",
        "{{ epoch(9223372036854775807) }}",
        "{{ epoch(-9223372036854775808) }}",
        "{{ epoch(+9223372036854775807) }}",
        "{{ fake_key(\"\") }}",
        "{{ fake_key(\") }}",
        "{{ fake_key(') }}",
        "{{ ( }}",
        "{{ ) }}",
        "{{}}{{",
        "{{ vars. }}",
        "{{ .x }}",
        "{{ vars.é }}",
        "{{{{{{ vars.n }}}}}}",
        "{\"a\": \"{{ epoch(9223372036854775807) }}\"}",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    smoke("template", seeds, &hostile, template_target);
}

/// Same body as `fuzz/fuzz_targets/url_origin.rs`: template-built URLs stay on the
/// target's origin and under its base path; a captured value is one segment.
#[test]
fn template_urls_stay_within_the_target_origin() {
    let seeds = read_dir(&root().join("fuzz/seeds/url_origin"));
    let hostile: Vec<String> = [
        "{{ vars.v }}\n@127.0.0.1:9/x\n",
        "/{{ vars.v }}\n..\n",
        "{{ target.t }}\n\n//evil.example/x",
        "{{ target.t }}\n\n@evil.example",
        "/a/{{ vars.v }}\n\u{0}\r\n\n",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    smoke_n(
        "url_origin",
        seeds,
        &hostile,
        iterations(),
        props::url_property,
    );
}

/// Same body as `fuzz/fuzz_targets/run_reports.rs`: whatever the server sends, every
/// planned case is in every report exactly once. Each input is a whole run, so CI
/// runs a fiftieth of the usual mutations.
#[test]
fn every_planned_case_is_reported_exactly_once() {
    let seeds = read_dir(&root().join("fuzz/seeds/run_reports"));
    smoke_n(
        "run_reports",
        seeds,
        &[],
        iterations() / 50,
        props::run_property,
    );
}
