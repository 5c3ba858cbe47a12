//! Targets: where scenarios are sent, and the named inputs (keys, fixtures) they may use.
//!
//! A real target is described without secrets (contract §A.11): a base URL and
//! the *names* of environment variables. Values come from the environment or a
//! `.env`-style `--secrets` file, never from a file that is committed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::agent_api::{is_key_placeholder, key_pattern, Role};

/// Named inputs a target offers to scenarios: secret keys and non-secret fixture ids.
///
/// Names are lowercase (`partner`, `card_id`); on a real target they map to the
/// environment variables `LAUNCHGATE_<NAME>_KEY` and `LAUNCHGATE_<NAME>` (contract §A.11).
#[derive(Debug, Clone, Default)]
pub struct Inputs {
    /// Secret API keys by name. Every value here is redacted from every output.
    pub keys: BTreeMap<String, String>,
    /// Fixture ids by name (card ids, member identifiers, ...). Not secret.
    pub fixtures: BTreeMap<String, String>,
}

/// The kind of a target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// launchgate's embedded mock: writes are always allowed.
    Mock,
    /// A real environment (staging): writes only with `--allow-writes`.
    Remote,
}

impl Kind {
    /// `mock` or `remote`.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Mock => "mock",
            Kind::Remote => "remote",
        }
    }
}

/// A resolved target, ready to receive requests.
#[derive(Debug, Clone)]
pub struct Target {
    /// Mock or remote.
    pub kind: Kind,
    /// A human name (`mock`, `staging`, the host).
    pub name: String,
    /// The server root, without a trailing slash.
    pub base_url: String,
    /// Keys and fixtures.
    pub inputs: Inputs,
    /// Where each name was looked for, for skip messages (`partner` → `LAUNCHGATE_PARTNER_KEY`).
    pub key_vars: BTreeMap<String, String>,
    /// Where each fixture was looked for.
    pub fixture_vars: BTreeMap<String, String>,
    /// Facts scenarios read as `{{ target.NAME }}`: `kind`, `name`, and when
    /// declared `role`, `needs`, `integration_key`. A case referring to a fact
    /// the target lacks is skipped.
    pub facts: BTreeMap<String, serde_json::Value>,
    /// Every secret value known (keys and all secrets-file values), for redaction.
    pub secrets: Vec<String>,
    /// Headers every request to the target carries, with their values (secrets):
    /// the credentials of an access gateway in front of a staging environment.
    pub headers: Vec<(String, String)>,
}

/// A problem with a target description or its secrets.
#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The target file is malformed.
    #[error("{0}")]
    Invalid(String),
}

/// A target file (`--target FILE`).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetFile {
    /// A human name for reports.
    pub name: Option<String>,
    /// The server root (or a prefix under which the API lives). Not a secret.
    pub base_url: Option<String>,
    /// The environment variable holding the base URL, when it is not written here.
    pub base_url_env: Option<String>,
    /// Key name → environment variable name.
    #[serde(default)]
    pub keys: BTreeMap<String, String>,
    /// Fixture name → environment variable name.
    #[serde(default)]
    pub fixtures: BTreeMap<String, String>,
    /// Scopes the integration needs; excess scopes on its key fail "Scopes minimized".
    pub needs: Option<Vec<String>>,
    /// The key role the integration should use (`partner`, `member`, `admin`).
    pub role: Option<String>,
    /// Which key is the integration's own (default `partner`); scenarios see it as `keys.integration`.
    pub integration_key: Option<String>,
    /// Header name → environment variable name: headers every request to the
    /// target carries (an access gateway's credentials, such as Cloudflare Access'
    /// `CF-Access-Client-Id`/`-Secret` or a reverse proxy's `Authorization: Basic`).
    /// Their values are secrets: redacted everywhere, never sent to another origin.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// More facts scenarios read as `{{ target.NAME }}`: what to order from a vendor
    /// sandbox (`brand_id`, `amount`), and the paths, headers and field names of an API
    /// that differs from the one a suite was written for. Never secrets.
    #[serde(default)]
    pub facts: BTreeMap<String, serde_json::Value>,
}

/// The scopes of the point-of-sale preset (contract §A.6): what the mock's integration needs.
pub const POS_SCOPES: &[&str] = &["read", "write:transactions", "write:rewards"];

fn base_facts(kind: Kind, name: &str) -> BTreeMap<String, serde_json::Value> {
    let mut f = BTreeMap::new();
    f.insert("kind".to_string(), kind.as_str().into());
    f.insert("name".to_string(), name.into());
    f
}

/// Adds `keys.integration` as an alias of the integration's key.
fn alias_integration(inputs: &mut Inputs, key_name: &str) {
    if !inputs.keys.contains_key("integration") {
        if let Some(v) = inputs.keys.get(key_name).cloned() {
            inputs.keys.insert("integration".into(), v);
        }
    }
}

/// The default environment variable for a key name (`partner` → `LAUNCHGATE_PARTNER_KEY`).
pub fn default_key_var(name: &str) -> String {
    format!("LAUNCHGATE_{}_KEY", name.to_ascii_uppercase())
}

fn key_vars_name(map: &BTreeMap<String, String>, name: &str) -> String {
    map.get(name)
        .cloned()
        .unwrap_or_else(|| default_key_var(name))
}

/// The default environment variable for a fixture name (`card_id` → `LAUNCHGATE_CARD_ID`).
pub fn default_fixture_var(name: &str) -> String {
    format!("LAUNCHGATE_{}", name.to_ascii_uppercase())
}

/// Where secret values come from: the process environment first, then a secrets file
/// (the usual `.env` convention: a variable already set in the environment wins, so
/// CI can override a file without editing it).
#[derive(Debug, Default, Clone)]
pub struct SecretSource {
    file: BTreeMap<String, String>,
    env: BTreeMap<String, String>,
}

impl SecretSource {
    /// Reads the process environment and, if given, a `.env`-style file.
    pub fn load(secrets_file: Option<&Path>) -> Result<Self, TargetError> {
        let file =
            match secrets_file {
                Some(p) => parse_env_file(&std::fs::read_to_string(p).map_err(|source| {
                    TargetError::Read {
                        path: p.to_path_buf(),
                        source,
                    }
                })?)
                .map_err(|e| TargetError::Invalid(format!("{}: {e}", p.display())))?,
                None => BTreeMap::new(),
            };
        Ok(SecretSource {
            file,
            env: std::env::vars().collect(),
        })
    }

    /// A source from explicit maps (tests).
    pub fn from_maps(file: BTreeMap<String, String>, env: BTreeMap<String, String>) -> Self {
        SecretSource { file, env }
    }

    fn get(&self, var: &str) -> Option<String> {
        let set = |m: &BTreeMap<String, String>| m.get(var).filter(|v| !v.is_empty()).cloned();
        set(&self.env).or_else(|| set(&self.file))
    }

    /// `LAUNCHGATE_*` variables set (non-empty) in both the environment and the secrets
    /// file with different values: the environment's wins, which a user may not expect.
    pub fn shadowed(&self) -> Vec<String> {
        self.file
            .iter()
            .filter(|(k, v)| {
                !v.is_empty()
                    && k.starts_with("LAUNCHGATE_")
                    && self.env.get(*k).is_some_and(|e| !e.is_empty() && e != *v)
            })
            .map(|(k, _)| k.clone())
            .collect()
    }

    fn all_names(&self) -> impl Iterator<Item = &String> {
        self.file.keys().chain(self.env.keys())
    }
}

/// Parses `NAME=value` lines; `#` comments, blank lines, `export ` and quotes are allowed.
///
/// Errors name the line, never its text: a mistyped line may hold a key.
pub fn parse_env_file(text: &str) -> Result<BTreeMap<String, String>, String> {
    let mut out = BTreeMap::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line.strip_prefix("export ").unwrap_or(line);
        let (name, value) = line
            .split_once('=')
            .ok_or_else(|| format!("line {}: expected NAME=value", i + 1))?;
        let name = name.trim();
        if !is_var_name(name) {
            return Err(format!(
                "line {}: the text before `=` is not a variable name (letters, digits and `_`, not starting with a digit); the line is not shown, as it may hold a key",
                i + 1
            ));
        }
        let value = value.trim();
        let value = value
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .or_else(|| value.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')))
            .unwrap_or(value);
        out.insert(name.to_string(), value.to_string());
    }
    Ok(out)
}

fn is_var_name(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Normalizes a base URL: http(s) only, no trailing slash.
///
/// Errors never echo the URL as given (it may carry a password): at most its scheme
/// and host.
pub fn normalize_base_url(raw: &str) -> Result<String, TargetError> {
    let url = url::Url::parse(raw.trim()).map_err(|e| {
        TargetError::Invalid(format!(
            "the base URL is not a URL ({e}); it is not shown, as it may carry a secret"
        ))
    })?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(TargetError::Invalid(format!(
            "the base URL must use http or https, not `{}:`{}",
            url.scheme(),
            url.host_str()
                .map(|h| format!(" (host {h})"))
                .unwrap_or_default()
        )));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(TargetError::Invalid(
            "the base URL must not carry credentials; put keys in the environment".into(),
        ));
    }
    Ok(url.as_str().trim_end_matches('/').to_string())
}

/// The shortest key accepted: a shorter value cannot be redacted from reports
/// without redacting ordinary words, and is no real credential anyway.
pub const MIN_KEY_LEN: usize = 8;

/// The target file's `headers:` (name → environment variable) with their values.
/// Errors name the header and the variable, never the value.
fn gateway_headers(
    spec: &BTreeMap<String, String>,
    source: &SecretSource,
) -> Result<Vec<(String, String)>, TargetError> {
    let mut out = Vec::new();
    for (name, var) in spec {
        if reqwest::header::HeaderName::from_bytes(name.as_bytes()).is_err() {
            return Err(TargetError::Invalid(format!(
                "`headers:` `{name}` is not a valid header name"
            )));
        }
        if !is_var_name(var) {
            return Err(TargetError::Invalid(format!(
                "`headers:` `{name}` must name an environment variable (letters, digits, `_`) that holds its value, not hold the value"
            )));
        }
        let Some(value) = source.get(var) else {
            return Err(TargetError::Invalid(format!(
                "header `{name}` takes its value from {var}, which is not set (set it, or give it in --secrets FILE)"
            )));
        };
        if reqwest::header::HeaderValue::from_str(&value).is_err() {
            return Err(TargetError::Invalid(format!(
                "{var} (the value of header `{name}`) holds a line break or another character a header cannot carry"
            )));
        }
        out.push((name.clone(), value));
    }
    Ok(out)
}

fn check_key_length(var: &str, value: &str) -> Result<(), TargetError> {
    let n = value.chars().count();
    if n < MIN_KEY_LEN {
        return Err(TargetError::Invalid(format!(
            "{var} holds a {n}-character value: too short for a real key, and too short to redact from reports without redacting ordinary words; set the real key (at least {MIN_KEY_LEN} characters)"
        )));
    }
    Ok(())
}

/// Facts are never secrets: a key-shaped fact (also one written with YAML escapes,
/// which the raw-text check cannot see) is refused.
fn check_facts(facts: &BTreeMap<String, serde_json::Value>) -> Result<(), TargetError> {
    for (name, v) in facts {
        if key_pattern().is_match(&v.to_string()) {
            return Err(TargetError::Invalid(format!(
                "fact `{name}` holds what looks like a key; facts are never secrets: put the key in an environment variable (or `--secrets FILE`) and map it under `keys:`"
            )));
        }
    }
    Ok(())
}

impl Target {
    /// A target for the embedded mock at `base_url` with its fixture inputs.
    ///
    /// The mock plays a point-of-sale integration: its key is `partner_pos`,
    /// its role `partner`, and it needs the point-of-sale scopes.
    pub fn mock(base_url: &str, mut inputs: Inputs) -> Target {
        alias_integration(&mut inputs, "partner_pos");
        let mut facts = base_facts(Kind::Mock, "mock");
        facts.insert("role".into(), Role::Partner.as_str().into());
        facts.insert("needs".into(), serde_json::json!(POS_SCOPES));
        facts.insert("integration_key".into(), "partner_pos".into());
        Target::embedded("mock", base_url, inputs, facts)
    }

    /// A target for the embedded gift-card vendor mock at `base_url`, with the
    /// inputs and facts the mock publishes: its API key (`keys.vendor`), webhook
    /// secret (`keys.webhook_secret`), and the brands and amount a target file
    /// would declare as facts.
    pub fn vendor_mock(
        base_url: &str,
        inputs: Inputs,
        mut facts: BTreeMap<String, serde_json::Value>,
    ) -> Target {
        facts.extend(base_facts(Kind::Mock, "vendor-mock"));
        Target::embedded("vendor-mock", base_url, inputs, facts)
    }

    /// One of launchgate's own mocks: every key it publishes is still a secret to redact.
    fn embedded(
        name: &str,
        base_url: &str,
        inputs: Inputs,
        facts: BTreeMap<String, serde_json::Value>,
    ) -> Target {
        let secrets = inputs.keys.values().cloned().collect();
        Target {
            kind: Kind::Mock,
            name: name.into(),
            base_url: base_url.trim_end_matches('/').to_string(),
            inputs,
            key_vars: BTreeMap::new(),
            fixture_vars: BTreeMap::new(),
            facts,
            secrets,
            headers: Vec::new(),
        }
    }

    /// A remote target from a URL, with the default variable names.
    pub fn from_url(url: &str, source: &SecretSource) -> Result<Target, TargetError> {
        Self::from_file_spec(
            TargetFile {
                base_url: Some(url.to_string()),
                ..TargetFile::default()
            },
            source,
        )
    }

    /// A remote target from a target file.
    pub fn from_file(path: &Path, source: &SecretSource) -> Result<Target, TargetError> {
        let text = std::fs::read_to_string(path).map_err(|source| TargetError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        if let Some(m) = key_pattern().find(&text) {
            let line = text[..m.start()].lines().count().max(1);
            return Err(TargetError::Invalid(format!(
                "{}:{line}: this looks like an API key; a target file holds only the NAMES of environment variables (e.g. `partner: LAUNCHGATE_PARTNER_KEY`), and the key goes in that variable or in `--secrets FILE`",
                path.display()
            )));
        }
        let spec: TargetFile = serde_saphyr::from_str(&text).map_err(|e| {
            TargetError::Invalid(format!("{}: {}", path.display(), e.without_snippet()))
        })?;
        let mut t = Self::from_file_spec(spec, source)?;
        if t.name == "remote" {
            t.name = path
                .file_stem()
                .map_or_else(|| "remote".into(), |s| s.to_string_lossy().into_owned());
        }
        Ok(t)
    }

    fn from_file_spec(spec: TargetFile, source: &SecretSource) -> Result<Target, TargetError> {
        for (name, var) in spec.keys.iter().chain(spec.fixtures.iter()) {
            if Role::of_key(var).is_some() {
                return Err(TargetError::Invalid(format!(
                    "`{name}:` holds what looks like a key; a target file holds only the NAMES of environment variables (e.g. `{name}: LAUNCHGATE_{}_KEY`), and the key goes in that variable or in `--secrets FILE`",
                    name.to_ascii_uppercase()
                )));
            }
            if !is_var_name(var) {
                return Err(TargetError::Invalid(format!(
                    "`{name}: {}` must name an environment variable (letters, digits, `_`), not hold a value",
                    if var.len() > 12 { "<value>" } else { var }
                )));
            }
        }
        let base_var = spec
            .base_url_env
            .clone()
            .unwrap_or_else(|| "LAUNCHGATE_BASE_URL".into());
        let raw_base = spec
            .base_url
            .clone()
            .or_else(|| source.get(&base_var))
            .ok_or_else(|| {
                TargetError::Invalid(format!(
                    "no base URL: write `base_url:` in the target file or set {base_var}"
                ))
            })?;
        let base_url = normalize_base_url(&raw_base)?;

        // Every key name: those mapped in the file, plus every LAUNCHGATE_*_KEY variable present.
        let mut key_vars: BTreeMap<String, String> = spec.keys.clone();
        let mut fixture_vars: BTreeMap<String, String> = spec.fixtures.clone();
        for var in source.all_names() {
            let Some(rest) = var.strip_prefix("LAUNCHGATE_") else {
                continue;
            };
            if let Some(name) = rest.strip_suffix("_KEY") {
                key_vars
                    .entry(name.to_ascii_lowercase())
                    .or_insert_with(|| var.clone());
            } else if rest != "BASE_URL" {
                fixture_vars
                    .entry(rest.to_ascii_lowercase())
                    .or_insert_with(|| var.clone());
            }
        }
        let mut inputs = Inputs::default();
        for (name, var) in &key_vars {
            // A bare key prefix (`rl_agent_`) is a placeholder: the key is not set.
            if let Some(v) = source.get(var).filter(|v| !is_key_placeholder(v)) {
                check_key_length(var, &v)?;
                inputs.keys.insert(name.clone(), v);
            }
        }
        for (name, var) in &fixture_vars {
            if let Some(v) = source.get(var) {
                inputs.fixtures.insert(name.clone(), v);
            }
        }
        let integration_key = spec
            .integration_key
            .clone()
            .unwrap_or_else(|| "partner".into());
        alias_integration(&mut inputs, &integration_key);
        key_vars
            .entry("integration".into())
            .or_insert_with(|| key_vars_name(&spec.keys, &integration_key));
        check_facts(&spec.facts)?;
        let mut secrets: Vec<String> = inputs.keys.values().cloned().collect();
        secrets.extend(source.file.values().filter(|v| v.len() >= 8).cloned());
        let headers = gateway_headers(&spec.headers, source)?;
        secrets.extend(headers.iter().map(|(_, v)| v.clone()));
        let name = spec.name.unwrap_or_else(|| "remote".into());
        // Declared facts first; the built-in ones (kind, name, role...) win over them.
        let mut facts = spec.facts;
        facts.extend(base_facts(Kind::Remote, &name));
        facts.insert("integration_key".into(), integration_key.into());
        if let Some(needs) = spec.needs {
            facts.insert("needs".into(), serde_json::json!(needs));
        }
        if let Some(role) = spec.role {
            facts.insert("role".into(), role.into());
        }
        Ok(Target {
            kind: Kind::Remote,
            name,
            base_url,
            inputs,
            key_vars,
            fixture_vars,
            facts,
            secrets,
            headers,
        })
    }

    /// The environment variable a missing key would be read from.
    pub fn key_var(&self, name: &str) -> String {
        self.key_vars
            .get(name)
            .cloned()
            .unwrap_or_else(|| default_key_var(name))
    }

    /// The environment variable a missing fixture would be read from.
    pub fn fixture_var(&self, name: &str) -> String {
        self.fixture_vars
            .get(name)
            .cloned()
            .unwrap_or_else(|| default_fixture_var(name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_file_parsing() {
        let m = parse_env_file("# c\nexport A=1\nB=\"two words\"\n\nC='x'\n").unwrap();
        assert_eq!(m["A"], "1");
        assert_eq!(m["B"], "two words");
        assert_eq!(m["C"], "x");
        assert!(parse_env_file("no equals").is_err());
    }

    #[test]
    fn url_target_reads_default_variables() {
        let mut env = BTreeMap::new();
        env.insert(
            "LAUNCHGATE_PARTNER_KEY".to_string(),
            "rl_agent_x0".to_string(),
        );
        env.insert("LAUNCHGATE_CARD_ID".to_string(), "c1".to_string());
        let t = Target::from_url(
            "https://staging.example.com/",
            &SecretSource::from_maps(BTreeMap::new(), env),
        )
        .unwrap();
        assert_eq!(t.base_url, "https://staging.example.com");
        assert_eq!(t.inputs.keys["partner"], "rl_agent_x0");
        assert_eq!(t.inputs.fixtures["card_id"], "c1");
        assert_eq!(t.key_var("member"), "LAUNCHGATE_MEMBER_KEY");
        assert_eq!(t.kind, Kind::Remote);
    }

    #[test]
    fn the_environment_wins_over_the_secrets_file_and_both_are_redacted() {
        let mut file = BTreeMap::new();
        file.insert(
            "LAUNCHGATE_PARTNER_KEY".to_string(),
            "from-file-secret".to_string(),
        );
        file.insert(
            "LAUNCHGATE_MEMBER_KEY".to_string(),
            "file-only-key".to_string(),
        );
        let mut env = BTreeMap::new();
        env.insert("LAUNCHGATE_PARTNER_KEY".to_string(), "from-env".to_string());
        // An empty variable does not hide the file's value.
        env.insert("LAUNCHGATE_MEMBER_KEY".to_string(), String::new());
        let source = SecretSource::from_maps(file, env);
        assert_eq!(
            source.shadowed(),
            vec!["LAUNCHGATE_PARTNER_KEY".to_string()]
        );
        let t = Target::from_url("http://127.0.0.1:1", &source).unwrap();
        assert_eq!(t.inputs.keys["partner"], "from-env");
        assert_eq!(t.inputs.keys["member"], "file-only-key");
        assert!(t.secrets.contains(&"from-file-secret".to_string()));
    }

    #[test]
    fn bad_urls_are_refused_without_echoing_them() {
        for bad in [
            "ftp://user:hunter2pw@x.example/",
            "not a url hunter2pw",
            "https://user:hunter2pw@x.example",
        ] {
            let e = normalize_base_url(bad).unwrap_err().to_string();
            assert!(!e.contains("hunter2pw"), "{e}");
        }
    }

    #[test]
    fn short_keys_are_refused_and_placeholders_unset() {
        let env = |v: &str| {
            SecretSource::from_maps(
                BTreeMap::new(),
                BTreeMap::from([("LAUNCHGATE_PARTNER_KEY".to_string(), v.to_string())]),
            )
        };
        let e = Target::from_url("http://127.0.0.1:1", &env("abc"))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("LAUNCHGATE_PARTNER_KEY") && !e.contains("abc"),
            "{e}"
        );
        let t = Target::from_url("http://127.0.0.1:1", &env("rl_agent_")).unwrap();
        assert!(t.inputs.keys.is_empty());
    }

    #[test]
    fn env_file_errors_do_not_echo_the_line() {
        let e = parse_env_file("LAUNCHGATE_PARTNER_KEY rl_agent_hunter2=x\n").unwrap_err();
        assert!(!e.contains("hunter2"), "{e}");
        assert!(e.contains("line 1"), "{e}");
    }
}
