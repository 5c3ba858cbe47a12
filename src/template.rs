//! `{{ ... }}` templates in scenario strings.
//!
//! The language is deliberately tiny: a reference (`vars.x`, `keys.partner`,
//! `fixtures.card_id`, `run.id`, `target.kind`) or a generator call (`uuid()`,
//! `fake_key("rl_agent_")`, `today(-1)`, `epoch(+60)`). A string that is exactly
//! one `{{ ... }}` yields the referenced JSON value unchanged (so a captured
//! number stays a number); anything else yields a string.

use std::collections::BTreeMap;
use std::fmt;

use rand::distributions::Alphanumeric;
use rand::Rng;
use serde_json::Value;

/// Where a reference looks its name up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Namespace {
    /// Variables set by `vars:` or captured by earlier steps.
    Vars,
    /// Secret keys of the target.
    Keys,
    /// Fixture ids of the target.
    Fixtures,
    /// Facts about this run (`id`, `date`).
    Run,
    /// Facts about the target (`kind`, `name`).
    Target,
}

impl Namespace {
    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "vars" => Namespace::Vars,
            "keys" => Namespace::Keys,
            "fixtures" => Namespace::Fixtures,
            "run" => Namespace::Run,
            "target" => Namespace::Target,
            _ => return None,
        })
    }
}

impl fmt::Display for Namespace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Namespace::Vars => "vars",
            Namespace::Keys => "keys",
            Namespace::Fixtures => "fixtures",
            Namespace::Run => "run",
            Namespace::Target => "target",
        })
    }
}

/// A generator function.
#[derive(Debug, Clone, PartialEq)]
pub enum Call {
    /// A random UUID v4.
    Uuid,
    /// A well-formed key that exists nowhere: the prefix plus 40 random alphanumerics.
    FakeKey(String),
    /// Today (UTC) plus a number of days, as `Y-m-d`.
    Today(i64),
    /// Seconds since the Unix epoch, plus an offset in seconds.
    Epoch(i64),
    /// Now (UTC) plus an offset in seconds, as an RFC 3339 timestamp.
    Now(i64),
    /// Milliseconds since the Unix epoch, now: for timing a vendor's webhooks
    /// against launchgate's own clock.
    EpochMs,
}

/// One piece of a template.
#[derive(Debug, Clone, PartialEq)]
enum Part {
    Literal(String),
    Ref(Namespace, String),
    Call(Call),
}

/// A parsed template string.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    parts: Vec<Part>,
}

/// A template that cannot be parsed or expanded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    /// `{{` without a matching `}}`.
    #[error("`{{{{` is not closed by `}}}}`")]
    Unclosed,
    /// `{{ }}` with nothing inside.
    #[error("empty `{{{{ }}}}`")]
    Empty,
    /// A reference with an unknown namespace.
    #[error("unknown name `{0}`: use vars.NAME, keys.NAME, fixtures.NAME, run.id, run.date, target.kind, or a generator: uuid(), fake_key(\"rl_agent_\"), today(-1), epoch(+60)")]
    UnknownNamespace(String),
    /// An unknown or malformed generator call.
    #[error(
        "bad generator `{0}`: expected uuid(), fake_key(\"PREFIX\"), today(DAYS), epoch(SECONDS), epoch_ms() or now(SECONDS), offsets within 1000000 days or 100000000000 seconds"
    )]
    BadCall(String),
    /// A reference whose name is not set at run time.
    #[error("{0}.{1} is not set{hint}", hint = missing_hint(*.0))]
    Missing(Namespace, String),
    /// Target facts that refer to each other more than [`MAX_FACT_DEPTH`] deep (a loop).
    #[error("target.{0} refers to target facts more than {MAX_FACT_DEPTH} levels deep (do two facts refer to each other?)")]
    FactTooDeep(String),
}

/// How deep a target fact's template may refer to other facts.
pub const MAX_FACT_DEPTH: usize = 4;

fn missing_hint(ns: Namespace) -> &'static str {
    match ns {
        Namespace::Vars => " (no earlier step captured it and `vars:` does not set it)",
        Namespace::Keys | Namespace::Fixtures => " (the target does not provide it)",
        Namespace::Target => " (the target file does not declare it)",
        _ => "",
    }
}

impl Template {
    /// Parses a string; text without `{{` is a single literal.
    pub fn parse(s: &str) -> Result<Template, TemplateError> {
        let mut parts = Vec::new();
        let mut rest = s;
        while let Some(start) = rest.find("{{") {
            if start > 0 {
                parts.push(Part::Literal(rest[..start].to_string()));
            }
            let after = &rest[start + 2..];
            let end = after.find("}}").ok_or(TemplateError::Unclosed)?;
            parts.push(parse_expr(after[..end].trim())?);
            rest = &after[end + 2..];
        }
        if !rest.is_empty() {
            parts.push(Part::Literal(rest.to_string()));
        }
        Ok(Template { parts })
    }

    /// True when the string contains no `{{ }}`.
    pub fn is_literal(&self) -> bool {
        self.parts.iter().all(|p| matches!(p, Part::Literal(_)))
    }

    /// The references this template makes.
    pub fn references(&self) -> impl Iterator<Item = (Namespace, &str)> {
        self.parts.iter().filter_map(|p| match p {
            Part::Ref(ns, name) => Some((*ns, name.as_str())),
            _ => None,
        })
    }

    /// Expands the template in `scope`.
    pub fn render(&self, scope: &Scope) -> Result<Value, TemplateError> {
        self.render_at(scope, 0)
    }

    fn render_at(&self, scope: &Scope, depth: usize) -> Result<Value, TemplateError> {
        if let [single] = self.parts.as_slice() {
            if !matches!(single, Part::Literal(_)) {
                return eval(single, scope, depth);
            }
        }
        let mut out = String::new();
        for part in &self.parts {
            match eval(part, scope, depth)? {
                Value::String(s) => out.push_str(&s),
                other => out.push_str(&other.to_string()),
            }
        }
        Ok(Value::String(out))
    }
}

fn parse_expr(expr: &str) -> Result<Part, TemplateError> {
    if expr.is_empty() {
        return Err(TemplateError::Empty);
    }
    if let Some(open) = expr.find('(') {
        let name = expr[..open].trim();
        let args = expr[open + 1..]
            .strip_suffix(')')
            .ok_or_else(|| TemplateError::BadCall(expr.to_string()))?
            .trim();
        let call = match name {
            "uuid" if args.is_empty() => Call::Uuid,
            "epoch_ms" if args.is_empty() => Call::EpochMs,
            "epoch" if args.is_empty() => Call::Epoch(0),
            "epoch" => Call::Epoch(offset(args, MAX_EPOCH_OFFSET, expr)?),
            "fake_key" => Call::FakeKey(
                unquote(args).ok_or_else(|| TemplateError::BadCall(expr.to_string()))?,
            ),
            "now" if args.is_empty() => Call::Now(0),
            "now" => Call::Now(offset(args, MAX_EPOCH_OFFSET, expr)?),
            "today" if args.is_empty() => Call::Today(0),
            "today" => Call::Today(offset(args, MAX_TODAY_OFFSET, expr)?),
            _ => return Err(TemplateError::BadCall(expr.to_string())),
        };
        return Ok(Part::Call(call));
    }
    let (ns, name) = expr
        .split_once('.')
        .ok_or_else(|| TemplateError::UnknownNamespace(expr.to_string()))?;
    let ns = Namespace::parse(ns.trim())
        .ok_or_else(|| TemplateError::UnknownNamespace(expr.to_string()))?;
    let name = name.trim();
    let valid = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if !valid {
        return Err(TemplateError::UnknownNamespace(expr.to_string()));
    }
    Ok(Part::Ref(ns, name.to_string()))
}

/// The largest `today(N)` offset in days (about 2,700 years): more is a typo, and
/// would overflow date arithmetic (found by fuzzing).
const MAX_TODAY_OFFSET: u64 = 1_000_000;
/// The largest `epoch(N)` offset in seconds (about 3,200 years).
const MAX_EPOCH_OFFSET: u64 = 100_000_000_000;

fn offset(args: &str, max: u64, expr: &str) -> Result<i64, TemplateError> {
    args.trim_start_matches('+')
        .parse::<i64>()
        .ok()
        .filter(|n| n.unsigned_abs() <= max)
        .ok_or_else(|| TemplateError::BadCall(expr.to_string()))
}

fn unquote(s: &str) -> Option<String> {
    let s = s.trim();
    let inner = s
        .strip_prefix('"')
        .and_then(|r| r.strip_suffix('"'))
        .or_else(|| s.strip_prefix('\'').and_then(|r| r.strip_suffix('\'')))?;
    Some(inner.to_string())
}

/// The values templates can see while a case runs.
#[derive(Debug, Default, Clone)]
pub struct Scope<'a> {
    /// Case variables (from `vars:` and captures).
    pub vars: BTreeMap<String, Value>,
    /// Target keys (secret).
    pub keys: Option<&'a BTreeMap<String, String>>,
    /// Target fixtures.
    pub fixtures: Option<&'a BTreeMap<String, String>>,
    /// `run.*` values.
    pub run: BTreeMap<String, String>,
    /// `target.*` facts (`kind`, `name`, `role`, `needs`, ...), as JSON.
    pub target: BTreeMap<String, Value>,
}

/// A target fact's value, itself expanded when it holds templates: a target file
/// may write `order_path: "/orders/by-reference/{{ vars.reference }}"` or
/// `window_from: "{{ epoch(-120) }}"`. Facts come from the target file or the
/// suite, never from a response, and the expansion's result is not expanded
/// again, so a server cannot inject a template.
fn fact(name: &str, v: &Value, scope: &Scope, depth: usize) -> Result<Value, TemplateError> {
    if depth >= MAX_FACT_DEPTH {
        return Err(TemplateError::FactTooDeep(name.to_string()));
    }
    Ok(match v {
        Value::String(s) if s.contains("{{") => Template::parse(s)?.render_at(scope, depth + 1)?,
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|i| fact(name, i, scope, depth))
                .collect::<Result<_, _>>()?,
        ),
        other => other.clone(),
    })
}

fn eval(part: &Part, scope: &Scope, depth: usize) -> Result<Value, TemplateError> {
    let missing = |ns: Namespace, name: &str| TemplateError::Missing(ns, name.to_string());
    match part {
        Part::Literal(s) => Ok(Value::String(s.clone())),
        Part::Ref(ns, name) => {
            let text = |m: Option<&BTreeMap<String, String>>| {
                m.and_then(|m| m.get(name))
                    .map(|v| Value::String(v.clone()))
                    .ok_or_else(|| missing(*ns, name))
            };
            match ns {
                Namespace::Vars => scope
                    .vars
                    .get(name)
                    .cloned()
                    .ok_or_else(|| missing(*ns, name)),
                Namespace::Keys => text(scope.keys),
                Namespace::Fixtures => text(scope.fixtures),
                Namespace::Run => text(Some(&scope.run)),
                Namespace::Target => scope
                    .target
                    .get(name)
                    .ok_or_else(|| missing(*ns, name))
                    .and_then(|v| fact(name, v, scope, depth)),
            }
        }
        Part::Call(call) => Ok(match call {
            Call::Uuid => Value::String(uuid::Uuid::new_v4().to_string()),
            Call::FakeKey(prefix) => {
                let tail: String = rand::thread_rng()
                    .sample_iter(&Alphanumeric)
                    .take(crate::agent_api::KEY_SECRET_LEN)
                    .map(char::from)
                    .collect();
                Value::String(format!("{prefix}{tail}"))
            }
            // Offsets are bounded at parse time; saturate anyway rather than panic.
            Call::Today(days) => {
                let today = chrono::Utc::now().date_naive();
                let day = chrono::Duration::try_days(*days)
                    .and_then(|d| today.checked_add_signed(d))
                    .unwrap_or(today);
                Value::String(day.format("%Y-%m-%d").to_string())
            }
            Call::EpochMs => Value::from(chrono::Utc::now().timestamp_millis()),
            Call::Epoch(offset) => {
                Value::from(chrono::Utc::now().timestamp().saturating_add(*offset))
            }
            Call::Now(offset) => {
                let now = chrono::Utc::now();
                let at = now
                    .checked_add_signed(chrono::Duration::seconds(*offset))
                    .unwrap_or(now);
                Value::String(at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
            }
        }),
    }
}

/// Parses every string inside a JSON value, returning the first error.
pub fn parse_value(v: &Value) -> Result<Vec<Template>, TemplateError> {
    let mut out = Vec::new();
    walk_strings(v, &mut |s| {
        out.push(Template::parse(s)?);
        Ok(())
    })?;
    Ok(out)
}

fn walk_strings(
    v: &Value,
    f: &mut dyn FnMut(&str) -> Result<(), TemplateError>,
) -> Result<(), TemplateError> {
    match v {
        Value::String(s) => f(s),
        Value::Array(items) => items.iter().try_for_each(|i| walk_strings(i, f)),
        Value::Object(map) => map.iter().try_for_each(|(k, i)| {
            f(k)?;
            walk_strings(i, f)
        }),
        _ => Ok(()),
    }
}

/// Expands every template string inside a JSON value, object keys included (so a
/// target can rename the fields a suite sends: `"{{ target.amount_field }}": 5`).
/// A templated key that expands to the empty string leaves its entry out, so a
/// target can also drop a field (a vendor taking the idempotency key in a header).
pub fn expand_value(v: &Value, scope: &Scope) -> Result<Value, TemplateError> {
    Ok(match v {
        Value::String(s) => Template::parse(s)?.render(scope)?,
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|i| expand_value(i, scope))
                .collect::<Result<_, _>>()?,
        ),
        Value::Object(map) => {
            let mut out = serde_json::Map::new();
            for (k, i) in map {
                let key = expand_str(k, scope)?;
                if key.is_empty() && !k.is_empty() {
                    continue;
                }
                out.insert(key, expand_value(i, scope)?);
            }
            Value::Object(out)
        }
        other => other.clone(),
    })
}

/// The bytes a value inserted into a path keeps as they are: RFC 3986's unreserved
/// characters. Everything else (`/`, `?`, `#`, `@`, `:`, `%`, spaces, non-ASCII...) is
/// percent-encoded, so an inserted value is always exactly one segment.
const SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Percent-encodes text as (part of) one URL path segment.
pub fn encode_segment(text: &str) -> String {
    percent_encoding::utf8_percent_encode(text, SEGMENT).to_string()
}

/// Expands a request path. The path's own text is kept as written; every value a
/// template inserts is percent-encoded as part of one segment ([`encode_segment`]),
/// so a value captured from a response (`../admin`, `@evil.example/x`) can neither
/// add segments nor change the host. `target.*` facts are the exception: they come
/// from the target file or the suite's `defaults.target` (configuration, not data)
/// and may hold whole paths (`orders_path: /api/v1/orders`).
pub fn expand_path(s: &str, scope: &Scope) -> Result<String, TemplateError> {
    let t = Template::parse(s)?;
    let mut out = String::new();
    for part in &t.parts {
        let text = match eval(part, scope, 0)? {
            Value::String(s) => s,
            other => other.to_string(),
        };
        match part {
            Part::Literal(_) | Part::Ref(Namespace::Target, _) => out.push_str(&text),
            _ => out.push_str(&encode_segment(&text)),
        }
    }
    Ok(out)
}

/// Expands a template string to text (non-string results are rendered as JSON).
pub fn expand_str(s: &str, scope: &Scope) -> Result<String, TemplateError> {
    Ok(match Template::parse(s)?.render(scope)? {
        Value::String(s) => s,
        other => other.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope() -> Scope<'static> {
        let mut s = Scope::default();
        s.vars.insert("n".into(), Value::from(42));
        s.run.insert("id".into(), "r1".into());
        s
    }

    #[test]
    fn whole_reference_keeps_json_type() {
        let t = Template::parse("{{ vars.n }}").unwrap();
        assert_eq!(t.render(&scope()).unwrap(), Value::from(42));
    }

    #[test]
    fn embedded_reference_is_text() {
        let t = Template::parse("order-{{ run.id }}-{{vars.n}}").unwrap();
        assert_eq!(t.render(&scope()).unwrap(), Value::from("order-r1-42"));
    }

    #[test]
    fn fake_key_is_well_formed() {
        let t = Template::parse("{{ fake_key(\"rl_agent_\") }}").unwrap();
        let v = t.render(&scope()).unwrap();
        let s = v.as_str().unwrap();
        assert!(s.starts_with("rl_agent_"));
        assert_eq!(s.len(), "rl_agent_".len() + 40);
        assert!(s["rl_agent_".len()..]
            .chars()
            .all(|c| c.is_ascii_alphanumeric()));
    }

    #[test]
    fn errors_are_specific() {
        assert_eq!(Template::parse("{{ vars.x"), Err(TemplateError::Unclosed));
        assert!(matches!(
            Template::parse("{{ env.HOME }}"),
            Err(TemplateError::UnknownNamespace(_))
        ));
        assert!(matches!(
            Template::parse("{{ nope() }}"),
            Err(TemplateError::BadCall(_))
        ));
        let t = Template::parse("{{ vars.missing }}").unwrap();
        assert!(matches!(
            t.render(&scope()),
            Err(TemplateError::Missing(Namespace::Vars, _))
        ));
    }

    #[test]
    fn absurd_offsets_are_refused_not_panics() {
        for t in [
            "{{ today(9223372036854775807) }}",
            "{{ today(-9223372036854775808) }}",
            "{{ today(1000001) }}",
            "{{ epoch(9223372036854775807) }}",
        ] {
            assert!(
                matches!(Template::parse(t), Err(TemplateError::BadCall(_))),
                "{t}"
            );
        }
        let t = Template::parse("{{ today(-1000000) }}").unwrap();
        assert!(t.render(&scope()).is_ok());
    }

    #[test]
    fn facts_are_templates_expanded_once() {
        let mut s = scope();
        s.vars.insert("ref".into(), Value::from("{{ keys.x }}"));
        s.target.insert(
            "path".into(),
            Value::from("/orders/by-reference/{{ vars.ref }}"),
        );
        s.target
            .insert("loop".into(), Value::from("{{ target.loop }}"));
        let t = Template::parse("{{ target.path }}").unwrap();
        // The captured value is inserted as text, never expanded again.
        assert_eq!(
            t.render(&s).unwrap(),
            Value::from("/orders/by-reference/{{ keys.x }}")
        );
        let t = Template::parse("{{ target.loop }}").unwrap();
        assert!(matches!(t.render(&s), Err(TemplateError::FactTooDeep(_))));
    }

    #[test]
    fn empty_templated_keys_are_left_out() {
        let mut s = scope();
        s.target.insert("field".into(), Value::from(""));
        let v: Value = serde_json::json!({"{{ target.field }}": 1, "b": 2});
        assert_eq!(expand_value(&v, &s).unwrap(), serde_json::json!({"b": 2}));
    }

    #[test]
    fn path_values_are_one_segment_each() {
        let mut s = scope();
        s.vars
            .insert("evil".into(), Value::from("@127.0.0.1:9/x?y#z"));
        s.vars.insert("up".into(), Value::from("../../admin"));
        s.target
            .insert("base".into(), Value::from("/api/v1/orders"));
        assert_eq!(
            expand_path("/cards/{{ vars.evil }}", &s).unwrap(),
            "/cards/%40127.0.0.1%3A9%2Fx%3Fy%23z"
        );
        assert_eq!(
            expand_path("/c/{{ vars.up }}/d", &s).unwrap(),
            "/c/..%2F..%2Fadmin/d"
        );
        assert_eq!(
            expand_path("{{ target.base }}/{{ vars.n }}", &s).unwrap(),
            "/api/v1/orders/42"
        );
        assert_eq!(encode_segment("a b~é"), "a%20b~%C3%A9");
    }

    #[test]
    fn today_offsets() {
        let t = Template::parse("{{ today(-1) }}").unwrap();
        let v = t.render(&scope()).unwrap();
        assert_eq!(v.as_str().unwrap().len(), 10);
    }
}
