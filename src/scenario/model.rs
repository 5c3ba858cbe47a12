//! The scenario file format as plain data. See `docs/scenario-format.md`.
//!
//! Every struct denies unknown fields so a typo is an error, not a silently
//! ignored expectation. Values whose position a later error must point at are
//! wrapped in [`Spanned`].

use std::fmt;

use indexmap::IndexMap;
use serde::de::{self, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::Value;
use serde_saphyr::Spanned;

/// One scenario file: a suite of test cases.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SuiteSpec {
    /// Dotted suite name (JUnit `classname`); defaults to the file's path below `scenarios/`.
    /// Letters, digits, `.`, `-` and `_` only: it names a directory under `--snapshots`.
    pub suite: Option<Spanned<String>>,
    /// What the suite checks, for humans.
    pub description: Option<String>,
    /// Path prefix joined between the target's base URL and each step's path.
    #[serde(default)]
    pub base_path: String,
    /// Settings applied to every step of every case.
    #[serde(default)]
    pub defaults: DefaultsSpec,
    /// How responses are normalized before snapshot comparison.
    #[serde(default)]
    pub snapshot: SnapshotSpec,
    /// The test cases, in file order.
    pub cases: Vec<Spanned<CaseSpec>>,
}

/// Suite-wide defaults.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DefaultsSpec {
    /// Headers sent with every request unless a step sets the same header.
    #[serde(default)]
    pub headers: IndexMap<String, Spanned<String>>,
    /// Values for `{{ target.NAME }}` when the target does not declare `NAME`
    /// (a target file's `facts:` win). Lets a suite name the paths and fields
    /// of a reference API while real targets rename them.
    #[serde(default)]
    pub target: IndexMap<String, Value>,
}

/// Snapshot normalization settings.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SnapshotSpec {
    /// JSONPaths whose values change between runs (ids, timestamps, counters);
    /// they are replaced by a placeholder before comparison.
    #[serde(default)]
    pub volatile: Vec<Spanned<String>>,
}

/// One test case: an ordered list of steps.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaseSpec {
    /// Human name, unique within the file; the JUnit `name`.
    pub name: Spanned<String>,
    /// What the case proves, for humans.
    pub description: Option<String>,
    /// Final Launch Checklist items this case is evidence for.
    #[serde(default)]
    pub checklist: Vec<Spanned<String>>,
    /// Vendor scorecard questions this case answers (`idempotency`, `webhooks`, `reconciliation`).
    #[serde(default)]
    pub vendor: Vec<Spanned<String>>,
    /// Inputs and target kinds the case needs; when missing the case is skipped.
    #[serde(default)]
    pub requires: RequiresSpec,
    /// Run alone: no other case runs at the same time.
    #[serde(default)]
    pub serial: bool,
    /// Named resources on the target this case mutates or depends on; cases
    /// sharing a lock never run at the same time.
    #[serde(default)]
    pub locks: Vec<String>,
    /// Variables set before the first step (templates allowed).
    #[serde(default)]
    pub vars: IndexMap<String, Spanned<Value>>,
    /// The steps, run in order; the first failing step ends the case.
    pub steps: Vec<Spanned<StepSpec>>,
}

/// Explicit requirements of a case (template references add to these).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequiresSpec {
    /// Key names that must be configured.
    #[serde(default)]
    pub keys: Vec<String>,
    /// Fixture names that must be configured.
    #[serde(default)]
    pub fixtures: Vec<String>,
    /// Only run against this kind of target.
    pub target: Option<TargetKindSpec>,
}

/// A kind of target a case may be restricted to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TargetKindSpec {
    /// The embedded mock (or a `launchgate mock` instance).
    Mock,
    /// A real environment.
    Remote,
}

/// One request with its expectations.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepSpec {
    /// Human name, shown in reports; defaults to the request line.
    pub name: Option<String>,
    /// Conditions over variables checked before the request; if one is false
    /// the case is inconclusive (reported as skipped), never passed.
    #[serde(default)]
    pub guard: Vec<Spanned<GuardSpec>>,
    /// Pause before the request: a duration (`2s`, `500ms`) or a number of seconds; templates allowed.
    pub wait: Option<Spanned<String>>,
    /// The request to send (a step has either `request:` or `receive:`).
    pub request: Option<RequestSpec>,
    /// Wait for webhook deliveries at launchgate's receiver instead of sending a request.
    pub receive: Option<Spanned<ReceiveSpec>>,
    /// Send the request this many times at once (2..=50); expectations then judge
    /// every status and a pseudo-body listing the responses.
    pub parallel: Option<Spanned<u32>>,
    /// The request mutates state on the target (skipped against a real target unless `--allow-writes`).
    #[serde(default)]
    pub writes: bool,
    /// Send the request repeatedly until the response matches `until` (bounded by `max`).
    pub repeat: Option<Spanned<RepeatSpec>>,
    /// Walk a paginated list from page 1 until an empty page (bounded by `max`);
    /// expectations then judge a pseudo-body describing every page.
    pub pages: Option<Spanned<PagesSpec>>,
    /// What the (last) response must look like.
    #[serde(default)]
    pub expect: ExpectSpec,
    /// Like `expect`, but a mismatch is only a warning on the step, never a failure.
    #[serde(default)]
    pub warn: ExpectSpec,
    /// Values taken from the response into `vars` for later steps.
    #[serde(default)]
    pub capture: IndexMap<String, Spanned<CaptureSpec>>,
    /// Compare the normalized response with `snapshots/<suite>/<name>.json`.
    pub snapshot: Option<Spanned<String>>,
    /// A step that only prepares the case (creating the order a probe then
    /// examines): when it fails, the case errors ("could not tell") instead of
    /// failing, because the thing the case checks was never reached.
    #[serde(default)]
    pub setup: bool,
    /// Values (templates, e.g. `"{{ vars.latency }}"`) recorded in the step's report
    /// once the step passed, for reporters to read as data (the vendor scorecard's findings).
    #[serde(default)]
    pub record: IndexMap<String, Spanned<Value>>,
}

/// Waiting for webhook deliveries at launchgate's receiver (`{{ run.webhook_url }}`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReceiveSpec {
    /// The longest wait, e.g. `10s` (capped by `--max-wait`); templates allowed.
    pub within: Spanned<String>,
    /// Stop waiting as soon as the deliveries match this; when empty, at the first delivery.
    #[serde(default)]
    pub until: ExpectSpec,
    /// How deliveries are signed, so each gets `signature_valid`.
    pub signature: Option<SignatureSpec>,
}

/// How deliveries are signed: the scheme (or `auto`), the header of the plain
/// HMAC schemes, the shared secret and the timestamp tolerance.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignatureSpec {
    /// The header carrying a plain HMAC signature (templates allowed), e.g.
    /// `X-Signature-256`; Standard Webhooks and Stripe use their own headers.
    pub header: String,
    /// The shared secret, always a key: `{{ keys.webhook_secret }}`.
    pub secret: String,
    /// `auto` (default: recognise the scheme from the headers), `hex`, `base64`,
    /// `standard-webhooks` or `stripe`; templates allowed.
    pub scheme: Option<String>,
    /// How far a signed timestamp may be from launchgate's clock (default `5m`); templates allowed.
    pub tolerance: Option<String>,
}

/// An HTTP request.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestSpec {
    /// HTTP method; `GET` when omitted.
    pub method: Option<Spanned<String>>,
    /// Path below the target's base URL and the suite's `base_path`.
    pub path: Spanned<String>,
    /// Request headers (templates allowed).
    #[serde(default)]
    pub headers: IndexMap<String, Spanned<String>>,
    /// Query parameters (templates allowed).
    #[serde(default)]
    pub query: IndexMap<String, Spanned<Value>>,
    /// JSON body (templates allowed in strings).
    pub json: Option<Spanned<Value>>,
    /// Raw body text, for sending malformed JSON on purpose.
    pub body: Option<Spanned<String>>,
    /// Per-request timeout overriding `--timeout`, e.g. `3s`.
    pub timeout: Option<Spanned<String>>,
}

/// Walking a paginated list to its end: the request is sent with `param=1`, `2`, ...
/// until a page has no items, a response is not 2xx, or `max` pages were requested.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PagesSpec {
    /// The query parameter that numbers pages (default `page`); it replaces any the
    /// request sets.
    #[serde(default = "default_page_param")]
    pub param: String,
    /// Where a page's items are: a top-level member, `$.NAME` (default `$.data`).
    #[serde(default = "default_page_items")]
    pub items: String,
    /// The most pages requested, the final empty one included (1..=1000, default 100).
    #[serde(default = "default_pages_max")]
    pub max: u32,
}

fn default_page_param() -> String {
    "page".into()
}

fn default_page_items() -> String {
    "$.data".into()
}

fn default_pages_max() -> u32 {
    100
}

impl PagesSpec {
    /// The member that holds a page's items (`data` for `$.data`), if `items` names one.
    pub fn items_member(&self) -> Option<&str> {
        let name = self.items.strip_prefix("$.")?;
        (!name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
            .then_some(name)
    }

    /// What is wrong with a `pages:` step, one message each (checked at load time).
    pub fn problems(&self, step: &StepSpec) -> Vec<String> {
        let mut out = Vec::new();
        if !(1..=1000).contains(&self.max) {
            out.push(format!(
                "pages.max is {}; it must be between 1 and 1000",
                self.max
            ));
        }
        if self.items_member().is_none() {
            out.push(format!(
                "pages.items `{}` must name a top-level member, e.g. `$.data`",
                self.items
            ));
        }
        if self.param.is_empty() || self.param.contains(['{', '}']) {
            out.push("pages.param must be a plain query parameter name, e.g. `page`".into());
        }
        let others = [
            ("parallel", step.parallel.is_some()),
            ("repeat", step.repeat.is_some()),
            ("snapshot", step.snapshot.is_some()),
            ("receive", step.receive.is_some()),
        ];
        for (what, set) in others {
            if set {
                out.push(format!("`pages:` cannot be combined with `{what}:`"));
            }
        }
        if !step.expect.headers.is_empty() {
            out.push(
                "with `pages:`, judge each page through the pseudo-body: `$.pages[*].status`, `$.pages[*].body`"
                    .into(),
            );
        }
        out
    }
}

/// A bounded repeat.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RepeatSpec {
    /// The most requests sent (1..=1000).
    pub max: u32,
    /// Stop as soon as a response matches this.
    pub until: ExpectSpec,
    /// Pause between attempts, e.g. `100ms`.
    pub interval: Option<String>,
}

/// Expectations on a response.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectSpec {
    /// Accepted status: a code, a list of codes, or a class such as `4xx`.
    pub status: Option<Spanned<StatusSpec>>,
    /// Header name (any case) → matcher.
    #[serde(default)]
    pub headers: IndexMap<String, Spanned<MatcherSpec>>,
    /// JSONPath (RFC 9535) → matcher, applied to the JSON body. Templates are allowed in the path.
    #[serde(default)]
    pub json: IndexMap<String, Spanned<MatcherSpec>>,
    /// A JSON Schema the body must satisfy.
    pub schema: Option<Spanned<Value>>,
    /// Expect no HTTP response at all (a dropped connection or timeout).
    pub error: Option<Spanned<TransportErrorSpec>>,
}

impl ExpectSpec {
    /// True when nothing is expected.
    pub fn is_empty(&self) -> bool {
        self.status.is_none()
            && self.headers.is_empty()
            && self.json.is_empty()
            && self.schema.is_none()
            && self.error.is_none()
    }
}

/// Which transport failure a step expects instead of a response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TransportErrorSpec {
    /// Any failure to get a response.
    Any,
    /// The request timed out.
    Timeout,
    /// The connection failed or was closed without a response.
    Connection,
}

/// Accepted HTTP statuses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StatusSpec {
    /// Exactly one of these codes.
    Codes(Vec<u16>),
    /// A class: `2` for `2xx`.
    Class(u16),
}

impl StatusSpec {
    /// Whether `status` is accepted.
    pub fn accepts(&self, status: u16) -> bool {
        match self {
            StatusSpec::Codes(codes) => codes.contains(&status),
            StatusSpec::Class(class) => status / 100 == *class,
        }
    }
}

impl fmt::Display for StatusSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StatusSpec::Codes(c) if c.len() == 1 => write!(f, "{}", c[0]),
            StatusSpec::Codes(c) => {
                let parts: Vec<String> = c.iter().map(u16::to_string).collect();
                write!(f, "one of [{}]", parts.join(", "))
            }
            StatusSpec::Class(c) => write!(f, "{c}xx"),
        }
    }
}

fn status_code<E: de::Error>(v: u64) -> Result<u16, E> {
    if (100..=599).contains(&v) {
        Ok(v as u16)
    } else {
        Err(E::custom(format!("HTTP status {v} is outside 100..=599")))
    }
}

impl<'de> Deserialize<'de> for StatusSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = StatusSpec;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str(
                    "a status code (201), a list of codes ([401, 403]) or a class (\"4xx\")",
                )
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<StatusSpec, E> {
                Ok(StatusSpec::Codes(vec![status_code(v)?]))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<StatusSpec, E> {
                let v =
                    u64::try_from(v).map_err(|_| E::custom("a status code cannot be negative"))?;
                self.visit_u64(v)
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<StatusSpec, E> {
                let lower = v.trim().to_ascii_lowercase();
                if let Ok(n) = lower.parse::<u64>() {
                    return self.visit_u64(n);
                }
                match lower.as_bytes() {
                    [c @ b'1'..=b'5', b'x', b'x'] => Ok(StatusSpec::Class(u16::from(c - b'0'))),
                    _ => Err(E::custom(format!(
                        "`{v}` is not a status: use a code such as 201, a list, or a class such as 4xx"
                    ))),
                }
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<StatusSpec, A::Error> {
                let mut codes = Vec::new();
                while let Some(v) = seq.next_element::<u64>()? {
                    codes.push(status_code(v)?);
                }
                if codes.is_empty() {
                    return Err(de::Error::custom(
                        "an empty list of statuses accepts nothing",
                    ));
                }
                Ok(StatusSpec::Codes(codes))
            }
        }
        d.deserialize_any(V)
    }
}

/// A condition over a value checked before a step.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GuardSpec {
    /// The value tested, usually a template such as `{{ vars.balance }}`.
    pub value: Value,
    /// The condition it must meet.
    pub is: MatcherSpec,
    /// Why the guard exists, shown when it does not hold.
    pub because: Option<String>,
}

/// Where a captured value comes from.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaptureSpec {
    /// A JSONPath into the body; the first match is captured.
    pub json: Option<String>,
    /// A response header (any case); captured as a number when it parses as one.
    pub header: Option<String>,
    /// Capture the HTTP status.
    #[serde(default)]
    pub status: bool,
    /// With `json:`, capture the array of every match instead of the first.
    #[serde(default)]
    pub all: bool,
    /// Keep only what this regex matches in the captured value's text: its first
    /// group, or the whole match (`'^(\d{4}-\d{2}-\d{2})'` takes a timestamp's day).
    pub regex: Option<String>,
}

/// A JSON type name for `type:` matchers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum JsonType {
    /// A string.
    String,
    /// Any number.
    Number,
    /// A number without a fractional part (for headers: a decimal integer).
    Integer,
    /// `true` or `false`.
    Boolean,
    /// An array.
    Array,
    /// An object.
    Object,
    /// `null`.
    Null,
}

impl fmt::Display for JsonType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match self {
            JsonType::String => "string",
            JsonType::Number => "number",
            JsonType::Integer => "integer",
            JsonType::Boolean => "boolean",
            JsonType::Array => "array",
            JsonType::Object => "object",
            JsonType::Null => "null",
        };
        f.write_str(s)
    }
}

/// A length constraint: exact, or a range.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LengthSpec {
    /// Exactly this many.
    pub equals: Option<Value>,
    /// At least this many.
    pub min: Option<Value>,
    /// At most this many.
    pub max: Option<Value>,
}

/// Conditions on one value; all listed conditions must hold. Operands may be templates.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Matcher {
    /// Equal to this JSON value (numbers compare by value; for headers, as text).
    pub equals: Option<Value>,
    /// Not equal to this value.
    pub not_equals: Option<Value>,
    /// The value is present (`true`) or absent (`false`).
    pub exists: Option<bool>,
    /// Shorthand for `exists: false`.
    pub absent: Option<bool>,
    /// The value has this JSON type.
    #[serde(rename = "type")]
    pub type_: Option<JsonType>,
    /// Equal to one of these values.
    pub one_of: Option<Vec<Value>>,
    /// A string matching this regular expression (searched, not anchored).
    pub regex: Option<String>,
    /// Numerically less than.
    pub lt: Option<Value>,
    /// Numerically less than or equal.
    pub le: Option<Value>,
    /// Numerically greater than.
    pub gt: Option<Value>,
    /// Numerically greater than or equal.
    pub ge: Option<Value>,
    /// Array, string or object length.
    pub length: Option<LengthOrNumber>,
    /// An array containing this element, or a string containing this substring.
    pub contains: Option<Value>,
    /// An array whose every element is one of these (e.g. granted scopes ⊆ needed scopes).
    pub subset_of: Option<Value>,
    /// An array containing every element of this one; a mismatch lists the missing elements.
    pub superset_of: Option<Value>,
    /// An array whose every element meets this matcher.
    pub each: Option<Box<MatcherSpec>>,
    /// At least one of these matchers holds.
    pub any_of: Option<Vec<MatcherSpec>>,
}

/// `length: 3` or `length: {min: 1, max: 100}`.
#[derive(Debug, Clone)]
pub struct LengthOrNumber(pub LengthSpec);

impl<'de> Deserialize<'de> for LengthOrNumber {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = LengthOrNumber;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a length (3) or a range ({min: 1, max: 100})")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<LengthOrNumber, E> {
                Ok(LengthOrNumber(LengthSpec {
                    equals: Some(Value::from(v)),
                    ..LengthSpec::default()
                }))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<LengthOrNumber, E> {
                Ok(LengthOrNumber(LengthSpec {
                    equals: Some(Value::from(v)),
                    ..LengthSpec::default()
                }))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<LengthOrNumber, A::Error> {
                LengthSpec::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(LengthOrNumber)
            }
        }
        d.deserialize_any(V)
    }
}

impl Matcher {
    /// This matcher and every matcher nested in it (`each`, `any_of`), depth first.
    pub fn all(&self) -> Vec<&Matcher> {
        let mut out = vec![self];
        if let Some(e) = &self.each {
            out.extend(e.0.all());
        }
        for o in self.any_of.iter().flatten() {
            out.extend(o.0.all());
        }
        out
    }

    /// The values this matcher (not its nested ones) compares with; each may be a template.
    pub fn operands(&self) -> impl Iterator<Item = &Value> {
        let length = self
            .length
            .iter()
            .flat_map(|l| [&l.0.equals, &l.0.min, &l.0.max]);
        [
            &self.equals,
            &self.not_equals,
            &self.lt,
            &self.le,
            &self.gt,
            &self.ge,
            &self.contains,
            &self.subset_of,
            &self.superset_of,
        ]
        .into_iter()
        .chain(length)
        .flatten()
        .chain(self.one_of.iter().flatten())
    }

    /// A matcher that only checks equality.
    pub fn equals(value: Value) -> Self {
        Matcher {
            equals: Some(value),
            ..Matcher::default()
        }
    }
}

/// A [`Matcher`] as written in YAML: a bare scalar, list or `null` means `equals`,
/// a map lists conditions.
#[derive(Debug, Clone)]
pub struct MatcherSpec(pub Matcher);

impl<'de> Deserialize<'de> for MatcherSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = MatcherSpec;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str(
                    "a value to compare with, or a map of conditions such as {exists: true} or {regex: \"^a\"}",
                )
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<MatcherSpec, E> {
                Ok(MatcherSpec(Matcher::equals(Value::Bool(v))))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<MatcherSpec, E> {
                Ok(MatcherSpec(Matcher::equals(Value::from(v))))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<MatcherSpec, E> {
                Ok(MatcherSpec(Matcher::equals(Value::from(v))))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<MatcherSpec, E> {
                Ok(MatcherSpec(Matcher::equals(Value::from(v))))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<MatcherSpec, E> {
                Ok(MatcherSpec(Matcher::equals(Value::from(v))))
            }
            fn visit_unit<E: de::Error>(self) -> Result<MatcherSpec, E> {
                Ok(MatcherSpec(Matcher::equals(Value::Null)))
            }
            fn visit_none<E: de::Error>(self) -> Result<MatcherSpec, E> {
                Ok(MatcherSpec(Matcher::equals(Value::Null)))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<MatcherSpec, A::Error> {
                let mut items = Vec::new();
                while let Some(v) = seq.next_element::<Value>()? {
                    items.push(v);
                }
                Ok(MatcherSpec(Matcher::equals(Value::Array(items))))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<MatcherSpec, A::Error> {
                Matcher::deserialize(de::value::MapAccessDeserializer::new(map)).map(MatcherSpec)
            }
        }
        d.deserialize_any(V)
    }
}
