//! Secret redaction: every string launchgate writes passes through a [`Redactor`].
//!
//! Known secret values are replaced wherever they appear, including their
//! base64 and percent-encoded forms (a hostile server may echo a key back in
//! any of them). Anything shaped like an Agent API key is replaced too, so a
//! key we were never told about still does not leak.

use std::borrow::Cow;
use std::sync::OnceLock;

use base64::Engine;
use regex::Regex;

/// Header names whose values are always replaced, whatever they contain.
pub const SECRET_HEADERS: &[&str] = &[
    "x-agent-key",
    "authorization",
    "proxy-authorization",
    "cookie",
    "set-cookie",
];

/// Replaces secrets in text.
#[derive(Debug, Clone, Default)]
pub struct Redactor {
    /// Secret forms to replace, longest first so a longer form wins over its prefix.
    needles: Vec<(String, &'static str)>,
}

/// The shortest secret we redact by value: shorter values would redact ordinary words.
const MIN_SECRET_LEN: usize = 6;

/// Text cut by a length limit ends in this marker (`expect::show`, excerpts, notes).
const CUT_MARKER: char = '…';

/// The shortest piece of a secret, right before a cut, that is still redacted.
const MIN_FRAGMENT: usize = 3;

/// A key-shaped value cut short by a length limit: its prefix still must not show.
fn cut_key_shape() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r"rl_(agent|member|admin)_[A-Za-z0-9]{1,39}(\n?…)").expect("static regex")
    })
}

fn key_shape() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r"rl_(agent|member|admin)_[A-Za-z0-9]{40}|(?i:bearer)\s+[A-Za-z0-9._~+/=-]{8,}")
            .expect("static regex")
    })
}

impl Redactor {
    /// A redactor for these secret values.
    pub fn new<I, S>(secrets: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut r = Redactor::default();
        for s in secrets {
            r.add(s.as_ref());
        }
        r
    }

    /// Adds one secret value (and its encoded forms).
    pub fn add(&mut self, secret: &str) {
        if secret.len() < MIN_SECRET_LEN {
            return;
        }
        let replacement = replacement_for(secret);
        let b64 = base64::engine::general_purpose::STANDARD;
        let b64url = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let forms = [
            secret.to_string(),
            url::form_urlencoded::byte_serialize(secret.as_bytes()).collect(),
            b64.encode(secret),
            b64url.encode(secret),
            // Base64 of the value inside a longer text only matches at a 3-byte
            // boundary; the unpadded stem catches the common `user:key` cases.
            b64.encode(secret).trim_end_matches('=').to_string(),
        ];
        for f in forms {
            if f.len() >= MIN_SECRET_LEN && !self.needles.iter().any(|(n, _)| *n == f) {
                self.needles.push((f, replacement));
            }
        }
        self.needles.sort_by_key(|n| std::cmp::Reverse(n.0.len()));
    }

    /// Returns `text` with every secret replaced.
    pub fn redact<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let mut out = Cow::Borrowed(text);
        for (needle, replacement) in &self.needles {
            if out.contains(needle.as_str()) {
                out = Cow::Owned(out.replace(needle.as_str(), replacement));
            }
        }
        if out.contains(CUT_MARKER) {
            if let Some(cut) = self.redact_cut_fragments(&out) {
                out = Cow::Owned(cut);
            }
        }
        if key_shape().is_match(&out) {
            out = Cow::Owned(
                key_shape()
                    .replace_all(&out, |c: &regex::Captures| match c.get(1) {
                        Some(role) => format!("rl_{}_***", role.as_str()),
                        None => "Bearer ***".to_string(),
                    })
                    .into_owned(),
            );
        }
        if cut_key_shape().is_match(&out) {
            out = Cow::Owned(
                cut_key_shape()
                    .replace_all(&out, "rl_${1}_***${2}")
                    .into_owned(),
            );
        }
        out
    }

    /// A secret cut in half by a length limit (`…abc` at the end of an excerpt) matches
    /// no needle; replaces the longest secret prefix right before each cut marker.
    fn redact_cut_fragments(&self, text: &str) -> Option<String> {
        let mut out = String::with_capacity(text.len());
        let mut done = 0;
        let mut changed = false;
        for (at, _) in text.match_indices(CUT_MARKER) {
            let before = &text[done..at];
            let stem = before.strip_suffix('\n').unwrap_or(before);
            let best = self
                .needles
                .iter()
                .filter_map(|(needle, replacement)| {
                    (MIN_FRAGMENT..needle.len())
                        .rev()
                        .filter(|&k| needle.is_char_boundary(k))
                        .find(|&k| stem.ends_with(&needle[..k]))
                        .map(|k| (k, *replacement))
                })
                .max_by_key(|(k, _)| *k);
            match best {
                Some((k, replacement)) => {
                    out.push_str(&stem[..stem.len() - k]);
                    out.push_str(replacement);
                    out.push_str(&before[stem.len()..]);
                    changed = true;
                }
                None => out.push_str(before),
            }
            done = at;
        }
        out.push_str(&text[done..]);
        changed.then_some(out)
    }

    /// The value to show for a header: secret headers are always masked.
    pub fn header_value<'a>(&self, name: &str, value: &'a str) -> Cow<'a, str> {
        if SECRET_HEADERS.iter().any(|h| h.eq_ignore_ascii_case(name)) {
            Cow::Owned(mask_header(value))
        } else {
            self.redact(value)
        }
    }
}

fn mask_header(value: &str) -> String {
    if let Some(c) = key_shape().captures(value) {
        if let Some(role) = c.get(1) {
            return format!("rl_{}_***", role.as_str());
        }
    }
    match value.split_once(' ') {
        Some((scheme, _))
            if scheme.eq_ignore_ascii_case("bearer") || scheme.eq_ignore_ascii_case("basic") =>
        {
            format!("{scheme} ***")
        }
        _ => "***".to_string(),
    }
}

fn replacement_for(secret: &str) -> &'static str {
    if secret.starts_with("rl_agent_") {
        "rl_agent_***"
    } else if secret.starts_with("rl_member_") {
        "rl_member_***"
    } else if secret.starts_with("rl_admin_") {
        "rl_admin_***"
    } else {
        "***"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "rl_agent_CANARYcanary0123456789abcdefghijklmnopq";

    #[test]
    fn known_secret_and_encodings_are_replaced() {
        let r = Redactor::new([KEY, "s3cr3t-token"]);
        let b64 = base64::engine::general_purpose::STANDARD.encode(KEY);
        let text = format!("key={KEY} b64={b64} tok=s3cr3t-token");
        let out = r.redact(&text);
        assert!(!out.contains(KEY));
        assert!(!out.contains(&b64));
        assert!(!out.contains("s3cr3t-token"));
        assert!(out.contains("rl_agent_***"));
    }

    #[test]
    fn unknown_key_shapes_are_replaced() {
        let r = Redactor::default();
        let k = format!("rl_member_{}", "Z".repeat(40));
        assert_eq!(r.redact(&format!("echo {k}!")), "echo rl_member_***!");
        assert_eq!(
            r.redact("Authorization: Bearer abcdefghijkl"),
            "Authorization: Bearer ***"
        );
    }

    #[test]
    fn secret_headers_are_always_masked() {
        let r = Redactor::default();
        assert_eq!(r.header_value("X-Agent-Key", "short"), "***");
        assert_eq!(
            r.header_value("authorization", "Basic dXNlcjpwYXNz"),
            "Basic ***"
        );
        assert_eq!(
            r.header_value("Content-Type", "application/json"),
            "application/json"
        );
    }

    #[test]
    fn secrets_cut_by_a_length_limit_are_redacted() {
        let r = Redactor::new([KEY, "s3cr3t-token-value"]);
        let cut = format!("\"pad{}… (231 bytes)", &KEY[..20]);
        assert_eq!(r.redact(&cut), "\"padrl_agent_***… (231 bytes)");
        assert_eq!(
            r.redact("body s3cr3t-tok\n… (body cut)"),
            "body ***\n… (body cut)"
        );
        let unknown = format!("x rl_member_{}…", "Z".repeat(12));
        assert_eq!(Redactor::default().redact(&unknown), "x rl_member_***…");
        assert_eq!(r.redact("ordinary text…"), "ordinary text…");
    }

    #[test]
    fn short_values_are_not_redacted_by_value() {
        let r = Redactor::new(["abc"]);
        assert_eq!(r.redact("abc"), "abc");
    }
}
