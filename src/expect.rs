//! Judging a response against expectations. Pure functions: no I/O, no clock.

use std::fmt::Write as _;

use serde_json::Value;
use serde_saphyr::{Location, Spanned};

use crate::http::{Response, TransportFailure};
use crate::scenario::{ExpectSpec, JsonType, LengthSpec, Matcher, TransportErrorSpec};
use crate::template::{expand_value, Scope, TemplateError};

/// One expectation that did not hold.
#[derive(Debug, Clone, PartialEq)]
pub struct Mismatch {
    /// Where the expectation is written.
    pub at: Option<(usize, usize)>,
    /// What was checked (`status`, `header X-RateLimit-Limit`, `$.code`).
    pub subject: String,
    /// What was expected, in words.
    pub expected: String,
    /// What was there.
    pub actual: String,
}

impl Mismatch {
    /// A mismatch of the expectation written at `at`.
    pub fn new(
        at: Location,
        subject: impl Into<String>,
        expected: impl Into<String>,
        actual: impl Into<String>,
    ) -> Self {
        Mismatch {
            at: loc(at),
            subject: subject.into(),
            expected: expected.into(),
            actual: actual.into(),
        }
    }

    /// `subject: expected X, got Y`.
    pub fn line(&self) -> String {
        format!(
            "{}: expected {}, got {}",
            self.subject, self.expected, self.actual
        )
    }
}

fn loc(l: Location) -> Option<(usize, usize)> {
    (l.line() > 0).then(|| (l.line() as usize, l.column() as usize))
}

/// Judges a response. Returns every mismatch (empty = all held).
pub fn check(expect: &ExpectSpec, resp: &Response, scope: &Scope) -> Vec<Mismatch> {
    let mut out = Vec::new();
    if let Some(e) = &expect.error {
        out.push(Mismatch::new(
            e.referenced,
            "response",
            format!("no response ({})", transport_name(e.value)),
            format!("HTTP {}", resp.status),
        ));
        return out;
    }
    if let Some(s) = &expect.status {
        if !s.value.accepts(resp.status) {
            out.push(Mismatch::new(
                s.referenced,
                "status",
                s.value.to_string(),
                resp.status.to_string(),
            ));
        }
    }
    for (name, m) in &expect.headers {
        // Header names may be templates (`"{{ target.replay_header }}"`).
        let expanded = crate::template::expand_str(name, scope);
        let name = expanded.as_deref().unwrap_or(name);
        let actual = resp.header(name).map(Value::String);
        if let Err(e) = check_matcher(&m.value.0, actual.as_ref(), scope, true) {
            out.push(Mismatch::new(
                m.referenced,
                format!("header {name}"),
                e.expected,
                e.actual,
            ));
        }
    }
    let needs_json = !expect.json.is_empty() || expect.schema.is_some();
    if needs_json {
        match resp.json() {
            Err(err) => {
                let at = expect
                    .json
                    .values()
                    .next()
                    .map(|m| m.referenced)
                    .or(expect.schema.as_ref().map(|s| s.referenced))
                    .unwrap_or(Location::UNKNOWN);
                out.push(Mismatch::new(at, "body", "a JSON body", err));
            }
            Ok(body) => {
                for (path, m) in &expect.json {
                    check_path(&mut out, &body, path, m, scope);
                }
                if let Some(schema) = &expect.schema {
                    check_schema(&mut out, &body, schema);
                }
            }
        }
    }
    out
}

/// Judges a transport failure: passes only if the step expected one.
pub fn check_failure(
    expect: &ExpectSpec,
    failure: TransportFailure,
    message: &str,
) -> Vec<Mismatch> {
    match &expect.error {
        Some(e) if e.value == TransportErrorSpec::Any => vec![],
        Some(e)
            if e.value == TransportErrorSpec::Timeout && failure == TransportFailure::Timeout =>
        {
            vec![]
        }
        Some(e)
            if e.value == TransportErrorSpec::Connection
                && failure == TransportFailure::Connection =>
        {
            vec![]
        }
        Some(e) => vec![Mismatch::new(
            e.referenced,
            "response",
            format!("no response ({})", transport_name(e.value)),
            message.to_string(),
        )],
        None => vec![Mismatch {
            at: None,
            subject: "response".into(),
            expected: "an HTTP response".into(),
            actual: message.to_string(),
        }],
    }
}

fn transport_name(t: TransportErrorSpec) -> &'static str {
    match t {
        TransportErrorSpec::Any => "any transport error",
        TransportErrorSpec::Timeout => "a timeout",
        TransportErrorSpec::Connection => "a dropped connection",
    }
}

/// True when the path can select more than one node; its value is then the array of nodes.
fn is_node_list(path: &str) -> bool {
    path.contains('*')
        || path.contains("..")
        || path.contains('?')
        || path.contains(':')
        || path.contains(',')
}

/// The first node a JSONPath selects (captures take one value, even from a filter).
pub fn query_first(body: &Value, path: &str) -> Result<Option<Value>, String> {
    let nodes = crate::jsonpath::query(body, path).map_err(|e| e.to_string())?;
    Ok(nodes.first().map(|v| (*v).clone()))
}

/// Every node a JSONPath selects, as an array (captures with `all: true`).
pub fn query_all(body: &Value, path: &str) -> Result<Value, String> {
    let nodes = crate::jsonpath::query_cloned(body, path).map_err(|e| e.to_string())?;
    Ok(Value::Array(nodes))
}

/// Evaluates a JSONPath within [`crate::jsonpath::BUDGET`]: `None` when nothing matches.
pub fn query(body: &Value, path: &str) -> Result<Option<Value>, String> {
    if is_node_list(path) {
        let nodes = crate::jsonpath::query_cloned(body, path).map_err(|e| e.to_string())?;
        return Ok(Some(Value::Array(nodes)));
    }
    let nodes = crate::jsonpath::query(body, path).map_err(|e| e.to_string())?;
    Ok(nodes.first().map(|v| (*v).clone()))
}

fn check_path(
    out: &mut Vec<Mismatch>,
    body: &Value,
    path: &str,
    m: &Spanned<crate::scenario::MatcherSpec>,
    scope: &Scope,
) {
    let path = match crate::template::expand_str(path, scope) {
        Ok(p) => p,
        Err(e) => {
            out.push(Mismatch::new(
                m.referenced,
                path,
                "a usable JSONPath",
                e.to_string(),
            ));
            return;
        }
    };
    let path = path.as_str();
    match query(body, path) {
        Err(e) => {
            let expected = if e.starts_with("bad JSONPath") {
                "a valid JSONPath"
            } else {
                "a JSONPath within launchgate's work budget"
            };
            out.push(Mismatch::new(m.referenced, path, expected, e));
        }
        Ok(actual) => {
            if let Err(e) = check_matcher(&m.value.0, actual.as_ref(), scope, false) {
                out.push(Mismatch::new(m.referenced, path, e.expected, e.actual));
            }
        }
    }
}

fn check_schema(out: &mut Vec<Mismatch>, body: &Value, schema: &Spanned<Value>) {
    match jsonschema::validator_for(&schema.value) {
        Err(e) => out.push(Mismatch::new(
            schema.referenced,
            "schema",
            "a valid JSON Schema",
            e.to_string(),
        )),
        Ok(v) => {
            let errors: Vec<String> = v
                .iter_errors(body)
                .take(5)
                .map(|e| format!("at {}: {}", e.instance_path(), e))
                .collect();
            if !errors.is_empty() {
                out.push(Mismatch::new(
                    schema.referenced,
                    "schema",
                    "the body to satisfy the schema",
                    errors.join("; "),
                ));
            }
        }
    }
}

/// Why a matcher failed, in words.
#[derive(Debug, Clone, PartialEq)]
pub struct MatchError {
    /// What the matcher wanted.
    pub expected: String,
    /// What it saw.
    pub actual: String,
}

/// Renders a value briefly for messages.
pub fn show(v: Option<&Value>) -> String {
    match v {
        None => "nothing (absent)".into(),
        Some(v) => {
            let s = v.to_string();
            if s.chars().count() > 200 {
                let cut: String = s.chars().take(200).collect();
                format!("{cut}… ({} bytes)", s.len())
            } else {
                s
            }
        }
    }
}

fn operand(v: &Value, scope: &Scope) -> Result<Value, TemplateError> {
    expand_value(v, scope)
}

fn as_number(v: &Value, coerce: bool) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) if coerce => s.trim().parse::<f64>().ok().or_else(|| as_time(s)),
        // Timestamps compare in time order: ISO-8601 / RFC 3339 or a `Y-m-d` day.
        Value::String(s) => as_time(s),
        _ => None,
    }
}

/// Seconds since the epoch for an RFC 3339 timestamp or a `Y-m-d` date (midnight UTC).
fn as_time(s: &str) -> Option<f64> {
    let s = s.trim();
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
        return Some(t.timestamp_millis() as f64 / 1000.0);
    }
    let d = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()?;
    Some(d.and_hms_opt(0, 0, 0)?.and_utc().timestamp() as f64)
}

fn values_equal(expected: &Value, actual: &Value, coerce: bool) -> bool {
    if let (Value::Number(a), Value::Number(b)) = (expected, actual) {
        return a.as_f64() == b.as_f64();
    }
    if coerce {
        if let (Some(a), Some(b)) = (as_number(expected, true), as_number(actual, true)) {
            if matches!(expected, Value::Number(_)) || matches!(actual, Value::Number(_)) {
                return a == b;
            }
        }
        if let (Value::String(a), Value::Bool(b)) | (Value::Bool(b), Value::String(a)) =
            (expected, actual)
        {
            return a.eq_ignore_ascii_case(if *b { "true" } else { "false" });
        }
    }
    expected == actual
}

fn type_matches(t: JsonType, v: &Value, coerce: bool) -> bool {
    match (t, v) {
        (JsonType::String, Value::String(_)) => true,
        (JsonType::Number, Value::Number(_)) => true,
        (JsonType::Integer, Value::Number(n)) => {
            n.is_i64() || n.is_u64() || n.as_f64().is_some_and(|f| f.fract() == 0.0)
        }
        (JsonType::Integer, Value::String(s)) if coerce => s.trim().parse::<i64>().is_ok(),
        (JsonType::Number, Value::String(s)) if coerce => s.trim().parse::<f64>().is_ok(),
        (JsonType::Boolean, Value::Bool(_)) => true,
        (JsonType::Array, Value::Array(_)) => true,
        (JsonType::Object, Value::Object(_)) => true,
        (JsonType::Null, Value::Null) => true,
        _ => false,
    }
}

fn length_of(v: &Value) -> Option<usize> {
    match v {
        Value::Array(a) => Some(a.len()),
        Value::String(s) => Some(s.chars().count()),
        Value::Object(o) => Some(o.len()),
        _ => None,
    }
}

/// Checks one value against a matcher. `coerce` lets numeric strings compare as
/// numbers (headers and guard values are text).
pub fn check_matcher(
    m: &Matcher,
    actual: Option<&Value>,
    scope: &Scope,
    coerce: bool,
) -> Result<(), MatchError> {
    let absent_wanted = m.exists == Some(false) || m.absent == Some(true);
    let Some(v) = actual else {
        if absent_wanted {
            return Ok(());
        }
        return Err(MatchError {
            expected: describe(m, scope),
            actual: show(None),
        });
    };
    let judged = Judged { v, scope, coerce };
    if absent_wanted {
        return Err(judged.fail("to be absent".into()));
    }
    // The kinds in a fixed order; the first that fails is reported.
    judged.equals(m)?;
    judged.not_equals(m)?;
    judged.type_(m)?;
    judged.one_of(m)?;
    judged.regex(m)?;
    judged.bounds(m)?;
    judged.length(m)?;
    judged.contains(m)?;
    judged.subset_of(m)?;
    judged.superset_of(m)?;
    judged.each(m)?;
    judged.any_of(m)
}

/// A present value being judged, with what every matcher kind needs.
struct Judged<'a> {
    v: &'a Value,
    scope: &'a Scope<'a>,
    coerce: bool,
}

impl Judged<'_> {
    fn fail(&self, expected: String) -> MatchError {
        MatchError {
            expected,
            actual: show(Some(self.v)),
        }
    }

    /// An operand with its templates expanded.
    fn op(&self, x: &Value) -> Result<Value, MatchError> {
        operand(x, self.scope).map_err(|e| self.fail(format!("a usable operand ({e})")))
    }

    fn equal(&self, expected: &Value, actual: &Value) -> bool {
        values_equal(expected, actual, self.coerce)
    }

    fn equals(&self, m: &Matcher) -> Result<(), MatchError> {
        let Some(e) = &m.equals else { return Ok(()) };
        let e = self.op(e)?;
        if !self.equal(&e, self.v) {
            return Err(self.fail(show(Some(&e))));
        }
        Ok(())
    }

    fn not_equals(&self, m: &Matcher) -> Result<(), MatchError> {
        let Some(e) = &m.not_equals else {
            return Ok(());
        };
        let e = self.op(e)?;
        if self.equal(&e, self.v) {
            return Err(self.fail(format!("anything but {}", show(Some(&e)))));
        }
        Ok(())
    }

    fn type_(&self, m: &Matcher) -> Result<(), MatchError> {
        match m.type_ {
            Some(t) if !type_matches(t, self.v, self.coerce) => {
                Err(self.fail(format!("a value of type {t}")))
            }
            _ => Ok(()),
        }
    }

    fn one_of(&self, m: &Matcher) -> Result<(), MatchError> {
        let Some(options) = &m.one_of else {
            return Ok(());
        };
        let expanded = options
            .iter()
            .map(|o| self.op(o))
            .collect::<Result<Vec<_>, _>>()?;
        if !expanded.iter().any(|o| self.equal(o, self.v)) {
            return Err(self.fail(format!("one of {}", show(Some(&Value::Array(expanded))))));
        }
        Ok(())
    }

    fn regex(&self, m: &Matcher) -> Result<(), MatchError> {
        let Some(re) = &m.regex else { return Ok(()) };
        let text = match self.v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        match regex::Regex::new(re) {
            Ok(r) if r.is_match(&text) => Ok(()),
            Ok(_) => Err(self.fail(format!("a match for /{re}/"))),
            Err(e) => Err(self.fail(format!("a valid regex ({e})"))),
        }
    }

    /// `lt`, `le`, `gt`, `ge`, in that order.
    fn bounds(&self, m: &Matcher) -> Result<(), MatchError> {
        for (name, bound, ok) in [
            ("<", &m.lt, (|a: f64, b: f64| a < b) as fn(f64, f64) -> bool),
            ("<=", &m.le, |a, b| a <= b),
            (">", &m.gt, |a, b| a > b),
            (">=", &m.ge, |a, b| a >= b),
        ] {
            let Some(b) = bound else { continue };
            let b = self.op(b)?;
            let Some(bn) = as_number(&b, true) else {
                return Err(self.fail(format!(
                    "a number {name} {} (the bound is not a number)",
                    show(Some(&b))
                )));
            };
            match as_number(self.v, self.coerce) {
                Some(an) if ok(an, bn) => {}
                _ => return Err(self.fail(format!("a number {name} {bn}"))),
            }
        }
        Ok(())
    }

    fn length(&self, m: &Matcher) -> Result<(), MatchError> {
        let Some(len) = &m.length else { return Ok(()) };
        check_length(&len.0, self.v, self.scope).map_err(|e| self.fail(e))
    }

    fn contains(&self, m: &Matcher) -> Result<(), MatchError> {
        let Some(c) = &m.contains else { return Ok(()) };
        let c = self.op(c)?;
        let ok = match (self.v, &c) {
            (Value::Array(items), _) => items.iter().any(|i| self.equal(&c, i)),
            (Value::String(s), Value::String(sub)) => s.contains(sub.as_str()),
            _ => false,
        };
        if !ok {
            return Err(self.fail(format!("something containing {}", show(Some(&c)))));
        }
        Ok(())
    }

    fn subset_of(&self, m: &Matcher) -> Result<(), MatchError> {
        let Some(allowed) = &m.subset_of else {
            return Ok(());
        };
        let allowed = self.op(allowed)?;
        let (Value::Array(items), Value::Array(allowed_items)) = (self.v, &allowed) else {
            return Err(self.fail(format!("an array within {}", show(Some(&allowed)))));
        };
        let extra: Vec<Value> = items
            .iter()
            .filter(|i| !allowed_items.iter().any(|a| self.equal(a, i)))
            .cloned()
            .collect();
        if !extra.is_empty() {
            return Err(MatchError {
                expected: format!("only values from {}", show(Some(&allowed))),
                actual: format!(
                    "{} (not needed: {})",
                    show(Some(self.v)),
                    show(Some(&Value::Array(extra)))
                ),
            });
        }
        Ok(())
    }

    fn superset_of(&self, m: &Matcher) -> Result<(), MatchError> {
        let Some(wanted) = &m.superset_of else {
            return Ok(());
        };
        let wanted = self.op(wanted)?;
        let (Value::Array(items), Value::Array(wanted_items)) = (self.v, &wanted) else {
            return Err(self.fail(format!(
                "an array containing all of {}",
                show(Some(&wanted))
            )));
        };
        // The missing elements are the finding (e.g. orders whose webhook never came),
        // so they are listed in full, not elided like other values.
        let missing: Vec<String> = wanted_items
            .iter()
            .filter(|w| !items.iter().any(|i| self.equal(w, i)))
            .map(|m| match m {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            })
            .collect();
        if !missing.is_empty() {
            return Err(MatchError {
                expected: format!("each of the {} values wanted", wanted_items.len()),
                actual: format!("{} missing: {}", missing.len(), missing.join(", ")),
            });
        }
        Ok(())
    }

    fn each(&self, m: &Matcher) -> Result<(), MatchError> {
        let Some(each) = &m.each else { return Ok(()) };
        let Value::Array(items) = self.v else {
            return Err(self.fail("an array (for `each`)".into()));
        };
        for (i, item) in items.iter().enumerate() {
            if let Err(e) = check_matcher(&each.0, Some(item), self.scope, self.coerce) {
                return Err(MatchError {
                    expected: format!("every element to be {}", e.expected),
                    actual: format!("element [{i}] = {}", e.actual),
                });
            }
        }
        Ok(())
    }

    fn any_of(&self, m: &Matcher) -> Result<(), MatchError> {
        let Some(options) = &m.any_of else {
            return Ok(());
        };
        let mut why = Vec::new();
        for o in options {
            match check_matcher(&o.0, Some(self.v), self.scope, self.coerce) {
                Ok(()) => return Ok(()),
                Err(e) => why.push(e.expected),
            }
        }
        if why.is_empty() {
            return Ok(());
        }
        Err(self.fail(format!("any of: {}", why.join(" | "))))
    }
}

fn check_length(spec: &LengthSpec, v: &Value, scope: &Scope) -> Result<(), String> {
    let Some(n) = length_of(v) else {
        return Err("an array, string or object (to measure its length)".into());
    };
    let num = |x: &Option<Value>| -> Result<Option<f64>, String> {
        match x {
            None => Ok(None),
            Some(x) => {
                let e = operand(x, scope).map_err(|e| e.to_string())?;
                as_number(&e, true)
                    .map(Some)
                    .ok_or_else(|| format!("a numeric length bound, not {e}"))
            }
        }
    };
    let n = n as f64;
    if let Some(eq) = num(&spec.equals)? {
        if n != eq {
            return Err(format!("length {eq} (it is {n})"));
        }
    }
    if let Some(min) = num(&spec.min)? {
        if n < min {
            return Err(format!("length >= {min} (it is {n})"));
        }
    }
    if let Some(max) = num(&spec.max)? {
        if n > max {
            return Err(format!("length <= {max} (it is {n})"));
        }
    }
    Ok(())
}

/// A short description of a matcher, for "expected ..." when the value is absent.
fn describe(m: &Matcher, scope: &Scope) -> String {
    let mut parts = Vec::new();
    let show_op = |v: &Value| show(Some(&operand(v, scope).unwrap_or_else(|_| v.clone())));
    if let Some(e) = &m.equals {
        parts.push(show_op(e));
    }
    if let Some(t) = m.type_ {
        parts.push(format!("type {t}"));
    }
    if let Some(r) = &m.regex {
        parts.push(format!("/{r}/"));
    }
    if m.exists == Some(true) {
        parts.push("present".into());
    }
    if parts.is_empty() {
        "a value".into()
    } else {
        parts.join(", ")
    }
}

/// A bounded, redaction-ready excerpt of a response for failure reports.
pub fn excerpt(resp: &Response, max_body: usize) -> String {
    let mut s = format!("HTTP {}\n", resp.status);
    for (n, v) in &resp.headers {
        let _ = writeln!(s, "{n}: {v}");
    }
    let body = String::from_utf8_lossy(&resp.body);
    let cut: String = body.chars().take(max_body).collect();
    s.push('\n');
    s.push_str(&cut);
    if body.chars().count() > max_body || resp.truncated {
        let _ = write!(s, "\n… (body cut; {} bytes received)", resp.body.len());
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn m(yaml: &str) -> Matcher {
        let spec: crate::scenario::MatcherSpec = serde_saphyr::from_str(yaml).unwrap();
        spec.0
    }

    fn ok(matcher: &str, v: Option<Value>, coerce: bool) -> bool {
        check_matcher(&m(matcher), v.as_ref(), &Scope::default(), coerce).is_ok()
    }

    #[test]
    fn bare_values_mean_equals() {
        assert!(ok(
            "AUTH_INVALID_KEY",
            Some(json!("AUTH_INVALID_KEY")),
            false
        ));
        assert!(!ok(
            "AUTH_INVALID_KEY",
            Some(json!("AUTH_MISSING_KEY")),
            false
        ));
        assert!(ok("5", Some(json!(5.0)), false));
        assert!(
            !ok("5", Some(json!("5")), false),
            "body values keep their JSON type"
        );
        assert!(ok("5", Some(json!("5")), true), "header values are text");
    }

    #[test]
    fn existence() {
        assert!(ok("{exists: false}", None, false));
        assert!(ok("{absent: true}", None, false));
        assert!(!ok("{absent: true}", Some(json!(1)), false));
        assert!(!ok("{exists: true}", None, false));
        assert!(!ok("{type: string}", None, false));
    }

    #[test]
    fn numeric_and_length() {
        assert!(ok("{gt: 0, le: 100}", Some(json!(25)), false));
        assert!(!ok("{lt: 10}", Some(json!(10)), false));
        assert!(ok("{type: integer, ge: 1}", Some(json!("60")), true));
        assert!(!ok("{type: integer}", Some(json!("1.5e3ms")), true));
        assert!(ok("{length: {min: 1, max: 3}}", Some(json!([1, 2])), false));
        assert!(!ok("{length: 0}", Some(json!([1])), false));
    }

    #[test]
    fn one_of_regex_contains() {
        assert!(ok(
            "{one_of: [no_retry, fix_request]}",
            Some(json!("fix_request")),
            false
        ));
        assert!(ok(
            "{regex: '^rl_agent_.{8}$'}",
            Some(json!("rl_agent_abcdefgh")),
            false
        ));
        assert!(ok(
            "{contains: order-1}",
            Some(json!(["x", "order-1"])),
            false
        ));
        assert!(ok("{contains: der}", Some(json!("order")), false));
    }

    #[test]
    fn templates_in_operands() {
        let mut scope = Scope::default();
        scope.vars.insert("cost".into(), json!(500));
        let r = check_matcher(
            &m("{lt: '{{ vars.cost }}'}"),
            Some(&json!(120)),
            &scope,
            false,
        );
        assert!(r.is_ok());
        let r = check_matcher(
            &m("{lt: '{{ vars.cost }}'}"),
            Some(&json!(900)),
            &scope,
            false,
        );
        assert_eq!(r.unwrap_err().expected, "a number < 500");
    }

    #[test]
    fn subsets_each_any_of() {
        assert!(ok(
            "{subset_of: [read, 'write:transactions']}",
            Some(json!(["read"])),
            false
        ));
        let e = check_matcher(
            &m("{subset_of: [read]}"),
            Some(&json!(["read", "admin"])),
            &Scope::default(),
            false,
        )
        .unwrap_err();
        assert!(e.actual.contains("not needed: [\"admin\"]"), "{}", e.actual);
        assert!(ok("{each: {type: string}}", Some(json!(["a", "b"])), false));
        assert!(!ok("{each: {type: string}}", Some(json!(["a", 1])), false));
        assert!(ok("{any_of: [null, {gt: 3}]}", Some(json!(null)), false));
        assert!(ok("{any_of: [null, {gt: 3}]}", Some(json!(4)), false));
        assert!(!ok("{any_of: [null, {gt: 3}]}", Some(json!(2)), false));
    }

    #[test]
    fn times_compare_in_order() {
        assert!(ok(
            "{gt: '2026-01-01'}",
            Some(json!("2026-03-08T07:00:00Z")),
            false
        ));
        assert!(!ok(
            "{ge: '2026-03-09'}",
            Some(json!("2026-03-08T23:59:59+00:00")),
            false
        ));
    }

    #[test]
    fn node_lists_are_arrays() {
        let body = json!({"data": [{"note": "a"}, {"note": "b"}]});
        assert_eq!(
            query(&body, "$.data[*].note").unwrap(),
            Some(json!(["a", "b"]))
        );
        assert_eq!(query(&body, "$.data[0].note").unwrap(), Some(json!("a")));
        assert_eq!(query(&body, "$.nope").unwrap(), None);
    }
}
