//! Loading scenario files: parse with spans, then validate everything that can
//! be checked without a network, reporting every problem with `file:line:col`.

use std::collections::HashSet;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use regex::Regex;
use serde_json::Value;
use serde_json_path::JsonPath;
use serde_saphyr::{Location, Spanned};

use super::model::*;
use super::tags::{is_vendor_tag, CHECKLIST_ITEMS, OPTIONAL_TAG, VENDOR_QUESTIONS};
// Key-shaped strings: a scenario must never contain a real key.
use crate::agent_api::{key_pattern, KEY_HEADER};
use crate::template::{self, Template};

/// A loaded, validated scenario file.
#[derive(Debug)]
pub struct Suite {
    /// Dotted suite name (JUnit `classname`).
    pub name: String,
    /// The file, as given or found.
    pub path: PathBuf,
    /// The parsed content.
    pub spec: SuiteSpec,
}

/// A problem in a scenario (or target) file, pointing at the spot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// The file.
    pub file: PathBuf,
    /// 1-based line, 0 when unknown.
    pub line: usize,
    /// 1-based column, 0 when unknown.
    pub column: usize,
    /// What is wrong.
    pub message: String,
    /// What to do about it, when we can tell.
    pub help: Option<String>,
    /// The offending source line, when known (redacted; a window of a long line).
    pub source_line: Option<String>,
    /// The 1-based column of the caret within `source_line`.
    pub source_caret: usize,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "error: {}", self.message)?;
        if self.line == 0 {
            write!(f, "  --> {}", self.file.display())?;
        } else {
            write!(
                f,
                "  --> {}:{}:{}",
                self.file.display(),
                self.line,
                self.column
            )?;
        }
        if let Some(src) = &self.source_line {
            let gutter = self.line.to_string();
            let pad = " ".repeat(gutter.len());
            write!(
                f,
                "\n {pad} |\n {gutter} | {src}\n {pad} | {}^",
                " ".repeat(self.source_caret.saturating_sub(1))
            )?;
        }
        if let Some(help) = &self.help {
            write!(f, "\n  = help: {help}")?;
        }
        Ok(())
    }
}

impl Diagnostic {
    fn at(file: &Path, source: &str, loc: Location, message: impl Into<String>) -> Self {
        let (line, column) = (loc.line() as usize, loc.column() as usize);
        let (source_line, source_caret) = source_excerpt(source, line, column);
        Diagnostic {
            file: file.to_path_buf(),
            line,
            column,
            message: message.into(),
            help: None,
            source_line,
            source_caret,
        }
    }

    /// A diagnostic for a whole file (I/O errors, empty files).
    pub fn file(file: &Path, message: impl Into<String>) -> Self {
        Diagnostic {
            file: file.to_path_buf(),
            line: 0,
            column: 0,
            message: message.into(),
            help: None,
            source_line: None,
            source_caret: 0,
        }
    }

    fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
}

/// The most characters of a source line a diagnostic shows: a window around the
/// column (a 50 MB single-line file must not be printed whole).
const SHOWN_LINE_CHARS: usize = 160;

/// The source line at `line` as a diagnostic shows it (a window around `column` when
/// long, redacted), and the caret's column within it.
fn source_excerpt(source: &str, line: usize, column: usize) -> (Option<String>, usize) {
    if line == 0 {
        return (None, 0);
    }
    let Some(l) = source.lines().nth(line - 1) else {
        return (None, 0);
    };
    let l = l.trim_end();
    let len = l.chars().count();
    let (start, end) = if len <= SHOWN_LINE_CHARS {
        (0, len)
    } else {
        let start = column
            .saturating_sub(1)
            .saturating_sub(SHOWN_LINE_CHARS / 2)
            .min(len - SHOWN_LINE_CHARS);
        (start, start + SHOWN_LINE_CHARS)
    };
    let mut window: String = l.chars().skip(start).take(end - start).collect();
    let mut caret = column.saturating_sub(start);
    if start > 0 {
        window.insert(0, '…');
        caret += 1;
    }
    if end < len {
        window.push('…');
    }
    // A diagnostic must never echo a key that was pasted into the file, also not one
    // written with YAML escapes (then the decoded line is shown, redacted).
    let decoded = decode_yaml_escapes(&window);
    let shown = if window.contains('\\') && key_pattern().is_match(&decoded) {
        decoded
    } else {
        window
    };
    let redacted = crate::redact::Redactor::default()
        .redact(&shown)
        .into_owned();
    (Some(redacted), caret.max(1))
}

fn source_line(source: &str, line: usize) -> Option<String> {
    source_excerpt(source, line, 1).0
}

/// The deepest directory nesting searched for scenario files.
pub const MAX_WALK_DEPTH: usize = 32;
/// The most scenario files one run loads.
pub const MAX_FILES: usize = 10_000;

/// Scenario files found, and what the search has to say about links it did not follow.
#[derive(Debug, Default)]
pub struct Discovery {
    /// The files, in sorted order, each once.
    pub files: Vec<PathBuf>,
    /// Links not followed (out of the tree, broken, looping) and files seen twice.
    pub notes: Vec<String>,
}

/// Finds scenario files: files are taken as given, directories are searched
/// recursively for `*.yaml` / `*.yml`, in sorted order.
///
/// Every directory and file is visited once per canonical path, so a symlink loop
/// costs one note, not an endless walk; a link that leads out of the directory given
/// is not followed (and a note says so). Depth and file count are bounded.
pub fn discover(paths: &[PathBuf]) -> Result<Discovery, Diagnostic> {
    let mut found = Discovery::default();
    let mut seen = HashSet::new();
    for p in paths {
        if p.is_dir() {
            let root = std::fs::canonicalize(p)
                .map_err(|e| Diagnostic::file(p, format!("cannot read directory: {e}")))?;
            let mut walk = Walk {
                root: &root,
                given: p,
                visited: HashSet::from([root.clone()]),
                seen: &mut seen,
                found: &mut found,
            };
            walk.dir(p, 0)?;
        } else if p.exists() {
            let canon = std::fs::canonicalize(p).unwrap_or_else(|_| p.clone());
            if seen.insert(canon) {
                found.files.push(p.clone());
            }
        } else {
            return Err(Diagnostic::file(p, "no such file or directory").help(
                "pass scenario files or directories, e.g. `launchgate run scenarios/agent-api`",
            ));
        }
    }
    Ok(found)
}

struct Walk<'a> {
    root: &'a Path,
    given: &'a Path,
    visited: HashSet<PathBuf>,
    seen: &'a mut HashSet<PathBuf>,
    found: &'a mut Discovery,
}

impl Walk<'_> {
    fn dir(&mut self, dir: &Path, depth: usize) -> Result<(), Diagnostic> {
        if depth > MAX_WALK_DEPTH {
            self.found.notes.push(format!(
                "{}: more than {MAX_WALK_DEPTH} directories deep; not searched",
                dir.display()
            ));
            return Ok(());
        }
        let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(|e| Diagnostic::file(dir, format!("cannot read directory: {e}")))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        entries.sort();
        for p in entries {
            self.entry(&p, depth)?;
        }
        Ok(())
    }

    fn entry(&mut self, p: &Path, depth: usize) -> Result<(), Diagnostic> {
        let is_link = std::fs::symlink_metadata(p).is_ok_and(|m| m.file_type().is_symlink());
        let Ok(canon) = std::fs::canonicalize(p) else {
            if is_link {
                self.found
                    .notes
                    .push(format!("{}: a broken symlink; skipped", p.display()));
            }
            return Ok(());
        };
        if is_link && !canon.starts_with(self.root) {
            self.found.notes.push(format!(
                "{}: a symlink to {}, outside {}; not followed",
                p.display(),
                canon.display(),
                self.given.display()
            ));
            return Ok(());
        }
        if canon.is_dir() {
            if self.visited.insert(canon) {
                return self.dir(p, depth + 1);
            }
            self.found.notes.push(format!(
                "{}: a directory already searched (a symlink loop or a second link); not searched again",
                p.display()
            ));
            return Ok(());
        }
        if !matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml")) {
            return Ok(());
        }
        if !self.seen.insert(canon) {
            self.found.notes.push(format!(
                "{}: the same file as one already loaded; loaded once",
                p.display()
            ));
            return Ok(());
        }
        if self.found.files.len() >= MAX_FILES {
            return Err(Diagnostic::file(
                self.given,
                format!("more than {MAX_FILES} scenario files here; pass a narrower directory"),
            ));
        }
        self.found.files.push(p.to_path_buf());
        Ok(())
    }
}

/// The largest scenario file read (scenario files are a few kilobytes).
pub const MAX_FILE_BYTES: u64 = 8 * 1024 * 1024;

/// The most problems reported per file; the rest are counted.
const MAX_DIAGNOSTICS: usize = 50;

/// Reads a scenario file, refusing one larger than [`MAX_FILE_BYTES`].
pub fn read_scenario(path: &Path) -> Result<String, Diagnostic> {
    let size = std::fs::metadata(path)
        .map_err(|e| Diagnostic::file(path, format!("cannot read: {e}")))?
        .len();
    if size > MAX_FILE_BYTES {
        return Err(Diagnostic::file(
            path,
            format!(
                "the file is {size} bytes; a scenario file may be at most {MAX_FILE_BYTES} bytes"
            ),
        ));
    }
    std::fs::read_to_string(path).map_err(|e| Diagnostic::file(path, format!("cannot read: {e}")))
}

/// Loads and validates one scenario file. `source` is its text.
pub fn load_file(path: &Path, source: &str) -> Result<Suite, Vec<Diagnostic>> {
    if source.trim().is_empty() {
        return Err(vec![Diagnostic::file(path, "the file is empty").help(
            "a scenario file needs at least `cases:` with one case; see docs/scenario-format.md",
        )]);
    }
    let spec: SuiteSpec =
        serde_saphyr::from_str(source).map_err(|e| vec![parse_diagnostic(path, source, &e)])?;
    let mut diags = Vec::new();
    validate(path, source, &spec, &mut diags);
    if diags.len() > MAX_DIAGNOSTICS {
        let more = diags.len() - MAX_DIAGNOSTICS;
        diags.truncate(MAX_DIAGNOSTICS);
        diags.push(Diagnostic::file(
            path,
            format!("… and {more} more problems in this file"),
        ));
    }
    if !diags.is_empty() {
        return Err(diags);
    }
    let name = spec
        .suite
        .as_ref()
        .map(|s| s.value.clone())
        .unwrap_or_else(|| default_suite_name(path));
    Ok(Suite {
        name,
        path: path.to_path_buf(),
        spec,
    })
}

/// `scenarios/agent-api/auth.yaml` → `agent-api.auth`.
fn default_suite_name(path: &Path) -> String {
    let comps: Vec<String> = path
        .with_extension("")
        .components()
        .filter_map(|c| match c {
            std::path::Component::Normal(s) => Some(s.to_string_lossy().into_owned()),
            _ => None,
        })
        .collect();
    let start = comps
        .iter()
        .rposition(|c| c == "scenarios")
        .map_or(0, |i| i + 1);
    let tail = &comps[start.min(comps.len().saturating_sub(1))..];
    // A file name may hold anything; a suite name names a snapshot directory and
    // precedes `::` in case ids, so it keeps to letters, digits, `.`, `-` and `_`.
    tail.join(".")
        .chars()
        .map(|c| if is_suite_char(c) { c } else { '_' })
        .collect()
}

fn is_suite_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_')
}

/// Why a `suite:` name is not usable, if it is not.
fn suite_name_problem(name: &str) -> Option<&'static str> {
    if name.is_empty() {
        Some("is empty")
    } else if !name.chars().all(is_suite_char) {
        Some("may only hold letters, digits, `.`, `-` and `_` (it names a directory under --snapshots, and `::` separates it from case names)")
    } else if name.starts_with('.') {
        Some("must not start with `.` (`.` and `..` would name a directory outside --snapshots)")
    } else {
        None
    }
}

fn parse_diagnostic(path: &Path, source: &str, err: &serde_saphyr::Error) -> Diagnostic {
    static AT: OnceLock<Regex> = OnceLock::new();
    let at = AT.get_or_init(|| Regex::new(r" at line \d+, column \d+$").expect("static regex"));
    let raw = err.without_snippet().to_string();
    let message = at.replace(&raw, "").into_owned();
    let mut d = match err.location() {
        Some(loc) => Diagnostic::at(path, source, loc, message.clone()),
        None => Diagnostic::file(path, message.clone()),
    };
    if let Some(help) = did_you_mean(&message) {
        d = d.help(help);
    } else if message.starts_with("duplicate mapping key") {
        d.message = message
            .split(", set DuplicateKeyPolicy")
            .next()
            .unwrap_or(&message)
            .to_string();
        d = d.help("each key may appear once in a mapping; remove or merge the repeated one");
    }
    d
}

/// For serde's "unknown field `x`, expected one of a, b" messages, suggests the closest field.
fn did_you_mean(message: &str) -> Option<String> {
    let rest = message.strip_prefix("unknown field `")?;
    let (field, expected) = rest.split_once('`')?;
    let candidates: Vec<&str> = expected
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty() && !matches!(*w, "expected" | "one" | "of" | "or"))
        .collect();
    let best = candidates
        .iter()
        .map(|c| (strsim::damerau_levenshtein(field, c), *c))
        .min()?;
    if best.0 <= 2.max(field.len() / 3) {
        Some(format!("did you mean `{}`?", best.1))
    } else {
        Some(format!("valid fields here: {}", candidates.join(", ")))
    }
}

const METHODS: &[&str] = &["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"];

struct Ctx<'a> {
    path: &'a Path,
    source: &'a str,
    diags: &'a mut Vec<Diagnostic>,
}

impl Ctx<'_> {
    fn err(&mut self, loc: Location, message: impl Into<String>) -> &mut Diagnostic {
        self.diags
            .push(Diagnostic::at(self.path, self.source, loc, message));
        self.diags.last_mut().expect("just pushed")
    }

    fn template(&mut self, loc: Location, s: &str) {
        if let Err(e) = Template::parse(s) {
            self.err(loc, format!("bad template: {e}"));
        }
    }

    fn template_value(&mut self, loc: Location, v: &Value) {
        if let Err(e) = template::parse_value(v) {
            self.err(loc, format!("bad template: {e}"));
        }
    }

    fn matcher(&mut self, loc: Location, top: &Matcher) {
        for m in top.all() {
            self.one_matcher(loc, m);
        }
    }

    fn one_matcher(&mut self, loc: Location, m: &Matcher) {
        for v in m.operands() {
            self.template_value(loc, v);
        }
        if let Some(re) = &m.regex {
            if let Err(e) = Regex::new(re) {
                self.err(loc, format!("bad regex `{re}`: {e}"));
            }
        }
        if m.exists == Some(false) && (m.equals.is_some() || m.type_.is_some() || m.regex.is_some())
        {
            self.err(
                loc,
                "`exists: false` contradicts the other conditions of this matcher",
            );
        }
        if matches!((m.exists, m.absent), (Some(true), Some(true))) {
            self.err(
                loc,
                "`exists: true` and `absent: true` contradict each other",
            );
        }
    }

    fn json_path(&mut self, loc: Location, path: &str) {
        if path.contains("{{") {
            // Checked once expanded; here only the template itself.
            self.template(loc, path);
            return;
        }
        if !path.starts_with('$') {
            self.err(loc, format!("`{path}` is not a JSONPath")).help = Some(format!(
                "JSONPaths start at the root: `$.{}`",
                path.trim_start_matches('.')
            ));
        } else if let Err(e) = JsonPath::parse(path) {
            self.err(loc, format!("bad JSONPath `{path}`: {e}"));
        }
    }

    fn expect(&mut self, e: &ExpectSpec) {
        for (name, m) in &e.headers {
            self.template(m.referenced, name);
            self.matcher(m.referenced, &m.value.0);
            if name.trim().is_empty() {
                self.err(m.referenced, "empty header name");
            }
        }
        for (path, m) in &e.json {
            self.json_path(m.referenced, path);
            self.matcher(m.referenced, &m.value.0);
        }
        if let Some(schema) = &e.schema {
            if let Err(err) = jsonschema::validator_for(&schema.value) {
                self.err(schema.referenced, format!("bad JSON Schema: {err}"));
            }
        }
        if let Some(err) = &e.error {
            if e.status.is_some()
                || !e.headers.is_empty()
                || !e.json.is_empty()
                || e.schema.is_some()
            {
                self.err(err.referenced, "`error:` expects no response, so it cannot be combined with status, headers, json or schema");
            }
        }
    }
}

fn validate(path: &Path, source: &str, spec: &SuiteSpec, diags: &mut Vec<Diagnostic>) {
    let mut cx = Ctx {
        path,
        source,
        diags,
    };
    // Secrets first: a key in a scenario file is the one mistake we never let through.
    if !literal_keys(&mut cx) {
        escaped_keys(&mut cx);
    }
    validate_suite(&mut cx, spec);
    let mut names = HashSet::new();
    for case in &spec.cases {
        validate_case(&mut cx, &mut names, &case.value);
    }
}

/// Every line holding something shaped like an API key, pointed at by line and
/// column. True when one was found.
fn literal_keys(cx: &mut Ctx) -> bool {
    let mut found = false;
    for (i, line) in cx.source.lines().enumerate() {
        if let Some(m) = key_pattern().find(line) {
            let column = line[..m.start()].chars().count() + 1;
            let (source_line, source_caret) = source_excerpt(cx.source, i + 1, column);
            cx.diags.push(Diagnostic {
                file: cx.path.to_path_buf(),
                line: i + 1,
                column,
                message: "this looks like an API key; keys never go in scenario files".into(),
                help: Some("reference it as `{{ keys.NAME }}` and provide it through the environment (LAUNCHGATE_NAME_KEY) or `--secrets FILE`".into()),
                source_line,
                source_caret,
            });
            found = true;
        }
    }
    found
}

/// What belongs to the file as a whole: its suite name, defaults, snapshot
/// settings, and having cases at all.
fn validate_suite(cx: &mut Ctx, spec: &SuiteSpec) {
    if let Some(suite) = &spec.suite {
        if let Some(problem) = suite_name_problem(&suite.value) {
            let shown: String = suite.value.chars().take(80).collect();
            cx.err(suite.referenced, format!("suite name `{shown}` {problem}"));
        }
    }
    for (name, v) in &spec.defaults.headers {
        cx.template(v.referenced, &v.value);
        literal_secret_header(cx, name, v);
    }
    for v in &spec.snapshot.volatile {
        cx.json_path(v.referenced, &v.value);
    }
    if spec.cases.is_empty() {
        cx.diags.push(Diagnostic::file(
            cx.path,
            "no cases: a scenario file needs at least one case under `cases:`",
        ));
    }
}

/// One case: its name (unique in the file), its tags, its variables and its steps.
fn validate_case<'s>(cx: &mut Ctx, names: &mut HashSet<&'s str>, c: &'s CaseSpec) {
    case_name(cx, names, c);
    checklist_tags(cx, c);
    for v in c.vars.values() {
        cx.template_value(v.referenced, &v.value);
    }
    if c.steps.is_empty() {
        cx.err(c.name.referenced, "a case needs at least one step");
    }
    vendor_tags(cx, c);
    for step in &c.steps {
        validate_step(cx, &step.value, step.referenced);
    }
}

fn case_name<'s>(cx: &mut Ctx, names: &mut HashSet<&'s str>, c: &'s CaseSpec) {
    if !names.insert(c.name.value.as_str()) {
        cx.err(
            c.name.referenced,
            format!("duplicate case name `{}` in this file", c.name.value),
        );
    }
    if c.name.value.trim().is_empty() {
        cx.err(c.name.referenced, "a case needs a non-empty name");
    }
    if c.name.value.contains("::") {
        cx.err(
            c.name.referenced,
            "a case name cannot contain `::`, which separates suite and case in case ids (`suite::case`); two cases could otherwise share an id",
        );
    }
}

fn checklist_tags(cx: &mut Ctx, c: &CaseSpec) {
    for tag in &c.checklist {
        if !CHECKLIST_ITEMS.contains(&tag.value.as_str()) {
            let d = cx.err(
                tag.referenced,
                format!("unknown checklist item `{}`", tag.value),
            );
            d.help = Some(format!("known items: {}", CHECKLIST_ITEMS.join(", ")));
        }
    }
}

fn vendor_tags(cx: &mut Ctx, c: &CaseSpec) {
    for tag in &c.vendor {
        if !is_vendor_tag(&tag.value) {
            let d = cx.err(
                tag.referenced,
                format!("unknown vendor scorecard question `{}`", tag.value),
            );
            d.help = Some(format!(
                "known questions: {}; `{}` marks an optional probe",
                VENDOR_QUESTIONS.join(", "),
                OPTIONAL_TAG
            ));
        }
    }
}

/// A key written with YAML escapes (`"\x72l_agent_…"`, `"\u0072l_…"`, a `\`
/// line continuation) is invisible to the line scan: every string of the parsed
/// document is checked too, and the diagnostic points at the line that decodes to it.
fn escaped_keys(cx: &mut Ctx) {
    let Ok(doc) = serde_saphyr::from_str::<Value>(cx.source) else {
        return;
    };
    let mut found = false;
    walk_json_strings(&doc, &mut |s| found |= key_pattern().is_match(s));
    if !found {
        return;
    }
    let at = cx.source.lines().enumerate().find_map(|(i, l)| {
        (l.contains('\\') && key_pattern().is_match(&decode_yaml_escapes(l))).then_some(i + 1)
    });
    let d = Diagnostic {
        file: cx.path.to_path_buf(),
        line: at.unwrap_or(0),
        column: at.map_or(0, |_| 1),
        message: "a string here decodes to what looks like an API key (written with YAML escapes); keys never go in scenario files".into(),
        help: Some("reference it as `{{ keys.NAME }}` and provide it through the environment (LAUNCHGATE_NAME_KEY) or `--secrets FILE`".into()),
        source_line: at.and_then(|l| source_line(cx.source, l)),
        source_caret: 1,
    };
    cx.diags.push(d);
}

fn walk_json_strings(v: &Value, f: &mut dyn FnMut(&str)) {
    match v {
        Value::String(s) => f(s),
        Value::Array(items) => items.iter().for_each(|i| walk_json_strings(i, f)),
        Value::Object(map) => map.iter().for_each(|(k, i)| {
            f(k);
            walk_json_strings(i, f);
        }),
        _ => {}
    }
}

/// A line with YAML double-quoted escapes decoded (`\xXX`, `\uXXXX`, `\UXXXXXXXX`,
/// one-character escapes), for finding where an escaped key was written.
fn decode_yaml_escapes(line: &str) -> String {
    let mut out = String::new();
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        let width = match chars.peek() {
            Some('x') => 2,
            Some('u') => 4,
            Some('U') => 8,
            Some(_) => {
                chars.next();
                continue;
            }
            None => break,
        };
        chars.next();
        let hex: String = chars.by_ref().take(width).collect();
        if let Some(ch) = u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32) {
            out.push(ch);
        }
    }
    out
}

fn literal_secret_header(cx: &mut Ctx, name: &str, v: &Spanned<String>) {
    let secret =
        name.eq_ignore_ascii_case(KEY_HEADER) || name.eq_ignore_ascii_case("authorization");
    // Short literals ("not-a-key") are deliberate junk for negative tests;
    // anything long enough to be a real credential must come from the target.
    if secret && !v.value.contains("{{") && v.value.len() >= 20 {
        let d = cx.err(
            v.referenced,
            format!("`{name}` carries a secret and must come from the target"),
        );
        d.help = Some("write `{{ keys.NAME }}` (or `{{ fake_key(\"rl_agent_\") }}` for a key that must not exist)".into());
    }
}

fn validate_step(cx: &mut Ctx, s: &StepSpec, case_at: Location) {
    match (&s.request, &s.receive) {
        (Some(r), None) => validate_request(cx, s, r),
        (None, Some(recv)) => validate_receive(cx, s, recv),
        (Some(_), Some(recv)) => {
            cx.err(
                recv.referenced,
                "a step has either `request:` or `receive:`, not both",
            );
        }
        (None, None) => {
            cx.err(
                case_at,
                "a step needs `request:` (send a request) or `receive:` (wait for webhooks)",
            );
        }
    }
    validate_common(cx, s);
    if let Some(p) = &s.pages {
        for problem in p.value.problems(s) {
            cx.err(p.referenced, problem);
        }
    }
    for c in s.capture.values() {
        if let Some(Err(e)) = c.value.regex.as_deref().map(regex::Regex::new) {
            cx.err(c.referenced, format!("capture regex: {e}"));
        }
    }
}

fn validate_receive(cx: &mut Ctx, s: &StepSpec, recv: &Spanned<ReceiveSpec>) {
    let r = &recv.value;
    cx.template(r.within.referenced, &r.within.value);
    if !r.within.value.contains("{{") {
        if let Err(e) = parse_wait(&r.within.value) {
            cx.err(r.within.referenced, format!("bad receive.within: {e}"));
        }
    }
    cx.expect(&r.until);
    if let Some(sig) = &r.signature {
        cx.template(recv.referenced, &sig.header);
        cx.template(recv.referenced, &sig.secret);
        for t in sig.scheme.iter().chain(&sig.tolerance) {
            cx.template(recv.referenced, t);
        }
        if let Some(scheme) = sig.scheme.as_deref().filter(|s| !s.contains("{{")) {
            if let Err(e) = scheme.parse::<crate::signature::SchemeChoice>() {
                cx.err(recv.referenced, e);
            }
        }
        // The secret is a key like any other: never written in a scenario file.
        let from_keys = Template::parse(&sig.secret).is_ok_and(|t| {
            !t.is_literal()
                && t.references()
                    .all(|(ns, _)| ns == crate::template::Namespace::Keys)
        });
        if !from_keys {
            cx.err(
                recv.referenced,
                "receive.signature.secret must be a key reference such as `{{ keys.webhook_secret }}`",
            )
            .help = Some("set the secret in LAUNCHGATE_WEBHOOK_SECRET_KEY (or `--secrets FILE`), never in a file".into());
        }
    }
    for (what, bad) in [
        ("parallel", s.parallel.is_some()),
        ("repeat", s.repeat.is_some()),
        ("snapshot", s.snapshot.is_some()),
        ("writes", s.writes),
    ] {
        if bad {
            cx.err(
                recv.referenced,
                format!("`{what}:` needs a request; a `receive:` step sends none"),
            );
        }
    }
}

fn validate_request(cx: &mut Ctx, s: &StepSpec, r: &RequestSpec) {
    if let Some(p) = &s.parallel {
        if !(2..=50).contains(&p.value) {
            cx.err(
                p.referenced,
                format!("parallel is {}; it must be between 2 and 50", p.value),
            );
        }
        if s.repeat.is_some() || s.snapshot.is_some() {
            cx.err(
                p.referenced,
                "`parallel:` cannot be combined with `repeat:` or `snapshot:`",
            );
        }
        if !s.expect.headers.is_empty() {
            cx.err(
                p.referenced,
                "with `parallel:`, judge headers through the pseudo-body: `$.responses[*].headers.NAME`",
            );
        }
    }
    if let Some(m) = &r.method {
        if !METHODS.contains(&m.value.to_ascii_uppercase().as_str()) {
            cx.err(
                m.referenced,
                format!(
                    "unknown HTTP method `{}`; use one of {}",
                    m.value,
                    METHODS.join(", ")
                ),
            );
        }
    }
    cx.template(r.path.referenced, &r.path.value);
    if !r.path.value.starts_with('/') && !r.path.value.starts_with("{{") {
        cx.err(
            r.path.referenced,
            format!("path `{}` must start with `/`", r.path.value),
        );
    }
    for (name, v) in &r.headers {
        cx.template(v.referenced, name);
        cx.template(v.referenced, &v.value);
        literal_secret_header(cx, name, v);
    }
    for (k, v) in &r.query {
        cx.template(v.referenced, k);
        cx.template_value(v.referenced, &v.value);
    }
    if let Some(j) = &r.json {
        cx.template_value(j.referenced, &j.value);
    }
    if let (Some(_), Some(b)) = (&r.json, &r.body) {
        cx.err(
            b.referenced,
            "a request has either `json:` or `body:`, not both",
        );
    }
    if let Some(b) = &r.body {
        cx.template(b.referenced, &b.value);
    }
    if let Some(t) = &r.timeout {
        match humantime::parse_duration(&t.value) {
            Err(e) => {
                cx.err(
                    t.referenced,
                    format!(
                        "bad timeout `{}`: {e} (write e.g. `3s` or `500ms`)",
                        t.value
                    ),
                );
            }
            Ok(d) if d.is_zero() => {
                cx.err(
                    t.referenced,
                    "a timeout of zero fails the request before it is sent; write e.g. `3s`",
                );
            }
            Ok(_) => {}
        }
    }
    if let Some(w) = &s.wait {
        cx.template(w.referenced, &w.value);
        if !w.value.contains("{{") {
            if let Err(e) = parse_wait(&w.value) {
                cx.err(w.referenced, format!("bad wait: {e}"));
            }
        }
    }
}

fn validate_common(cx: &mut Ctx, s: &StepSpec) {
    for g in &s.guard {
        cx.template_value(g.referenced, &g.value.value);
        cx.matcher(g.referenced, &g.value.is.0);
    }
    if let Some(rep) = &s.repeat {
        if !(1..=1000).contains(&rep.value.max) {
            cx.err(
                rep.referenced,
                format!(
                    "repeat.max is {}; it must be between 1 and 1000",
                    rep.value.max
                ),
            );
        }
        if rep.value.until.is_empty() {
            cx.err(
                rep.referenced,
                "repeat.until is empty, so the first response would always stop the repeat",
            );
        }
        if let Some(i) = &rep.value.interval {
            if humantime::parse_duration(i).is_err() {
                cx.err(
                    rep.referenced,
                    format!("bad repeat.interval `{i}`: write e.g. `100ms`"),
                );
            }
        }
        cx.expect(&rep.value.until);
    }
    cx.expect(&s.expect);
    cx.expect(&s.warn);
    for v in s.record.values() {
        cx.template_value(v.referenced, &v.value);
    }
    for (name, c) in &s.capture {
        let set = usize::from(c.value.json.is_some())
            + usize::from(c.value.header.is_some())
            + usize::from(c.value.status);
        if set != 1 {
            cx.err(
                c.referenced,
                format!("capture `{name}` needs exactly one of `json`, `header` or `status: true`"),
            );
        }
        if let Some(p) = &c.value.json {
            cx.json_path(c.referenced, p);
        }
        if c.value.all && c.value.json.is_none() {
            cx.err(
                c.referenced,
                format!("capture `{name}`: `all: true` needs `json:`"),
            );
        }
    }
    if let Some(snap) = &s.snapshot {
        let ok = !snap.value.is_empty()
            && snap
                .value
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !ok {
            cx.err(
                snap.referenced,
                "snapshot names use letters, digits, `-` and `_` only",
            );
        }
    }
}

/// The longest wait a scenario may write (a year): anything longer is a typo or a
/// hostile `Retry-After`, and `--max-wait` refuses far less anyway.
pub const MAX_WAIT: std::time::Duration = std::time::Duration::from_secs(365 * 86_400);

/// Why a wait value is not usable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WaitError {
    /// Neither a number of seconds nor a duration.
    #[error("`{0}` is not a duration: write e.g. `2s`, `500ms` or a number of seconds")]
    Malformed(String),
    /// Negative, NaN or infinite.
    #[error("`{0}` is not a usable number of seconds (negative, NaN or infinite)")]
    NotFinite(String),
    /// Longer than [`MAX_WAIT`] (or than a duration can hold).
    #[error("`{0}` is longer than the longest wait launchgate accepts (1 year)")]
    TooLong(String),
}

/// Parses a wait value: a humantime duration (`2s`, `500ms`) or a plain number of
/// seconds. Checked throughout: `1e300` or `99999999999y` is an error, never a panic.
pub fn parse_wait(s: &str) -> Result<std::time::Duration, WaitError> {
    let s = s.trim();
    let shown = || {
        let mut t: String = s.chars().take(40).collect();
        if t.len() < s.len() {
            t.push('…');
        }
        t
    };
    if let Ok(secs) = s.parse::<f64>() {
        if !secs.is_finite() || secs < 0.0 {
            return Err(WaitError::NotFinite(shown()));
        }
        return std::time::Duration::try_from_secs_f64(secs)
            .ok()
            .filter(|d| *d <= MAX_WAIT)
            .ok_or_else(|| WaitError::TooLong(shown()));
    }
    match humantime::parse_duration(s) {
        Ok(d) if d <= MAX_WAIT => Ok(d),
        Ok(_) => Err(WaitError::TooLong(shown())),
        Err(humantime::DurationError::NumberOverflow) => Err(WaitError::TooLong(shown())),
        Err(_) => Err(WaitError::Malformed(shown())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(src: &str) -> Result<Suite, Vec<Diagnostic>> {
        load_file(Path::new("scenarios/demo/x.yaml"), src)
    }

    const GOOD: &str = "cases:\n  - name: health\n    steps:\n      - request: {path: /health}\n        expect: {status: 200}\n";

    #[test]
    fn loads_and_names_suite_from_path() {
        let s = load(GOOD).unwrap();
        assert_eq!(s.name, "demo.x");
        assert_eq!(s.spec.cases.len(), 1);
    }

    #[test]
    fn unknown_field_points_at_line_and_suggests() {
        let src = "cases:\n  - name: a\n    steps:\n      - request: {path: /x}\n        expect:\n          stauts: 200\n";
        let d = &load(src).unwrap_err()[0];
        assert_eq!((d.line, d.column), (6, 11));
        assert!(
            d.message.contains("unknown field `stauts`"),
            "{}",
            d.message
        );
        assert_eq!(d.help.as_deref(), Some("did you mean `status`?"));
        let shown = d.to_string();
        assert!(shown.contains("scenarios/demo/x.yaml:6:11"), "{shown}");
    }

    #[test]
    fn duplicate_keys_are_errors() {
        let src = "cases:\n  - name: a\n    steps:\n      - request: {path: /x}\n        expect:\n          status: 200\n          status: 201\n";
        let d = &load(src).unwrap_err()[0];
        assert_eq!(d.line, 7);
        assert!(d.message.starts_with("duplicate mapping key"));
    }

    #[test]
    fn all_semantic_errors_are_reported() {
        let src = "cases:\n  - name: a\n    steps:\n      - request: {method: FETCH, path: x}\n        expect:\n          json:\n            code: {regex: \"(\"}\n";
        let diags = load(src).unwrap_err();
        assert!(diags.len() >= 4, "{diags:#?}");
        assert!(diags
            .iter()
            .any(|d| d.message.contains("unknown HTTP method")));
        assert!(diags
            .iter()
            .any(|d| d.message.contains("must start with `/`")));
        assert!(diags.iter().any(|d| d.message.contains("not a JSONPath")));
        assert!(diags.iter().any(|d| d.message.contains("bad regex")));
    }

    #[test]
    fn literal_keys_are_refused() {
        let key = format!("rl_agent_{}", "a".repeat(40));
        let src = format!("cases:\n  - name: a\n    steps:\n      - request:\n          path: /x\n          headers: {{X-Agent-Key: {key}}}\n");
        let diags = load(&src).unwrap_err();
        assert!(diags
            .iter()
            .any(|d| d.message.contains("looks like an API key")));
        assert!(
            diags.iter().all(|d| !d.to_string().contains(&key)),
            "the key itself must not be echoed"
        );
    }

    #[test]
    fn keys_written_with_yaml_escapes_are_refused() {
        let tail = "a".repeat(39);
        for written in [
            format!("\"\\x72l_agent_b{tail}\""),
            format!("\"\\u0072l_agent_b{tail}\""),
            format!("\"rl_agent_\\x62{tail}\""),
        ] {
            let src = format!("cases:\n  - name: a\n    steps:\n      - request:\n          path: /x\n          headers: {{X-Agent-Key: {written}}}\n");
            let diags = load(&src).unwrap_err();
            let d = diags
                .iter()
                .find(|d| d.message.contains("looks like an API key"))
                .unwrap_or_else(|| panic!("{written}: {diags:#?}"));
            assert_eq!(d.line, 6, "{written}");
            assert!(!d.to_string().contains(&tail), "{}", d);
        }
    }

    #[test]
    fn nested_matchers_are_validated() {
        let src = "cases:\n  - name: a\n    steps:\n      - request: {path: /x}\n        expect:\n          json:\n            $.a: {each: {regex: \"(\"}, any_of: [{subset_of: \"{{ nope.x }}\"}]}\n";
        let diags = load(src).unwrap_err();
        assert!(
            diags.iter().any(|d| d.message.contains("bad regex")),
            "{diags:#?}"
        );
        assert!(
            diags.iter().any(|d| d.message.contains("bad template")),
            "{diags:#?}"
        );
    }

    #[test]
    fn wait_parses_numbers_and_durations() {
        assert_eq!(parse_wait("2"), Ok(std::time::Duration::from_secs(2)));
        assert_eq!(
            parse_wait("250ms"),
            Ok(std::time::Duration::from_millis(250))
        );
        assert!(matches!(parse_wait("soon"), Err(WaitError::Malformed(_))));
        assert!(matches!(parse_wait("-1"), Err(WaitError::NotFinite(_))));
        assert!(matches!(parse_wait("NaN"), Err(WaitError::NotFinite(_))));
        for huge in [
            "1e300",
            "18446744073709551616",
            "1e19",
            "99999999999999999y",
            "400d",
        ] {
            assert!(
                matches!(parse_wait(huge), Err(WaitError::TooLong(_))),
                "{huge}: {:?}",
                parse_wait(huge)
            );
        }
    }
}
