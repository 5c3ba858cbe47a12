//! Any string (and any JSON document) goes through template parsing and expansion
//! without a panic: `{{ today(N) }}` and `{{ epoch(N) }}` take user numbers.
#![no_main]

use std::collections::BTreeMap;

use launchgate::template::{expand_str, expand_value, parse_value, Scope, Template};
use libfuzzer_sys::fuzz_target;
use serde_json::{json, Value};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let keys = BTreeMap::from([("partner".to_string(), "rl_agent_x".to_string())]);
    let fixtures = BTreeMap::from([("card_id".to_string(), "c-1".to_string())]);
    let mut scope = Scope {
        keys: Some(&keys),
        fixtures: Some(&fixtures),
        ..Scope::default()
    };
    scope.vars.insert("n".into(), json!(42));
    scope.vars.insert("obj".into(), json!({"a": [1, "two", null]}));
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
});
