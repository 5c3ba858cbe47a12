//! Secret redaction: every string launchgate writes passes through a [`Redactor`].
//!
//! A known secret is replaced wherever it appears, in every form a server (or one of
//! launchgate's own encoders) may give it:
//!
//! - as is, and its secret part alone (`rl_agent_` + 40 characters: the 40);
//! - percent-encoded in any style and case, wholly or byte by byte, mixed with literal
//!   characters (`%20` or `+` for a space, `%2A` or `*`, `%7E` or `~`);
//! - JSON-escaped (`\u0072l_agent_…`, `\"`, `\/`), and as XML/HTML character
//!   references (`&amp;`, `&#114;`, `&#x72;`), which the JUnit and HTML writers produce;
//! - base64 (standard and URL-safe, padded or not) at any byte offset, so inside a
//!   longer encoded text too (`Basic base64(user:KEY)`);
//! - hex (lower and upper case).
//!
//! Anything shaped like an Agent API key, and any `Bearer` token, is replaced too, so a
//! key launchgate was never told about still does not leak. Values too short to redact
//! without redacting ordinary words are refused earlier, by the target (see
//! `target::MIN_KEY_LEN`).

use std::borrow::Cow;
use std::sync::OnceLock;

use aho_corasick::{AhoCorasick, MatchKind};
use base64::Engine;
use regex::Regex;

use crate::agent_api::{is_key_placeholder, key_pattern, Role, KEY_PREFIX_REGEX, KEY_SECRET_LEN};

/// Header names whose values are always replaced, whatever they contain (lowercase;
/// the first is the Agent API's [`KEY_HEADER`](crate::agent_api::KEY_HEADER)).
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
    /// All needles at once (leftmost-longest).
    matcher: Option<AhoCorasick>,
    /// The secrets themselves, for matching escaped and percent-encoded forms.
    secrets: Vec<(Vec<u8>, &'static str)>,
}

/// The shortest secret we redact by value: shorter values would redact ordinary words.
pub const MIN_SECRET_LEN: usize = 6;

/// The shortest secret part (after the last `_`) redacted on its own.
const MIN_TAIL: usize = 16;

/// The shortest base64 fragment of a secret redacted: shorter ones could occur by chance.
const MIN_B64_CORE: usize = 8;

/// Text cut by a length limit ends in this marker (`expect::show`, excerpts, notes).
const CUT_MARKER: char = '…';

/// The shortest piece of a secret, right before a cut, that is still redacted.
const MIN_FRAGMENT: usize = 3;

/// A key-shaped value cut short by a length limit: its prefix still must not show.
fn cut_key_shape() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(&format!(
            r"{KEY_PREFIX_REGEX}[A-Za-z0-9]{{1,{}}}(\n?…)",
            KEY_SECRET_LEN - 1
        ))
        .expect("static regex")
    })
}

/// Anything shaped like an Agent API key, and any `Bearer` token.
fn key_shape() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(&format!(
            r"{}|(?i:bearer)\s+[A-Za-z0-9._~+/=-]{{8,}}",
            key_pattern().as_str()
        ))
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
            r.insert(s.as_ref());
        }
        r.build();
        r
    }

    fn insert(&mut self, secret: &str) {
        if secret.len() < MIN_SECRET_LEN || is_key_placeholder(secret) {
            return;
        }
        let replacement = replacement_for(secret);
        self.insert_forms(secret, replacement);
        // The secret part alone (`rl_agent_` + this), as a server may echo it.
        if let Some((_, tail)) = secret.rsplit_once('_') {
            if tail.len() >= MIN_TAIL {
                self.insert_forms(tail, "***");
            }
        }
    }

    fn insert_forms(&mut self, secret: &str, replacement: &'static str) {
        let bytes = secret.as_bytes();
        let mut forms = vec![
            (secret.to_string(), replacement),
            (hex::encode(bytes), replacement),
            (hex::encode_upper(bytes), replacement),
        ];
        for engine in [
            base64::engine::general_purpose::STANDARD,
            base64::engine::general_purpose::URL_SAFE,
        ] {
            let whole = engine.encode(bytes);
            forms.push((whole.trim_end_matches('=').to_string(), replacement));
            forms.push((whole, replacement));
            for core in base64_cores(&engine, bytes) {
                forms.push((core, "***"));
            }
        }
        for (f, r) in forms {
            if f.len() >= MIN_SECRET_LEN && !self.needles.iter().any(|(n, _)| *n == f) {
                self.needles.push((f, r));
            }
        }
        if !self.secrets.iter().any(|(s, _)| s == bytes) {
            self.secrets.push((bytes.to_vec(), replacement));
        }
    }

    fn build(&mut self) {
        self.needles.sort_by_key(|n| std::cmp::Reverse(n.0.len()));
        self.secrets.sort_by_key(|s| std::cmp::Reverse(s.0.len()));
        self.matcher = AhoCorasick::builder()
            .match_kind(MatchKind::LeftmostLongest)
            .build(self.needles.iter().map(|(n, _)| n.as_str()))
            .ok();
    }

    /// Returns `text` with every secret replaced.
    pub fn redact<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let mut out = Cow::Borrowed(text);
        // Key shapes first: a known secret that is only a key prefix must not cut
        // an unknown key in two (the rest would then no longer look like a key).
        if key_shape().is_match(&out) {
            out = Cow::Owned(
                key_shape()
                    .replace_all(&out, |c: &regex::Captures| match c.get(1) {
                        Some(prefix) => format!("{}***", prefix.as_str()),
                        None => "Bearer ***".to_string(),
                    })
                    .into_owned(),
            );
        }
        if let Some(m) = &self.matcher {
            if m.is_match(out.as_ref()) {
                let replacements: Vec<&str> = self.needles.iter().map(|(_, r)| *r).collect();
                out = Cow::Owned(m.replace_all(&out, &replacements));
            }
        }
        if out.contains(['%', '\\', '&', '+']) {
            for (secret, replacement) in &self.secrets {
                if let Some(r) = replace_escaped(&out, secret, replacement) {
                    out = Cow::Owned(r);
                }
            }
        }
        if out.contains(CUT_MARKER) {
            if let Some(cut) = self.redact_cut_fragments(&out) {
                out = Cow::Owned(cut);
            }
        }
        if cut_key_shape().is_match(&out) {
            out = Cow::Owned(
                cut_key_shape()
                    .replace_all(&out, "${1}***${2}")
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
        if let Some(prefix) = c.get(1) {
            return format!("{}***", prefix.as_str());
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

/// The parts of the base64 of `secret` that do not depend on what surrounds it, for
/// each of the three byte offsets it can start at inside a longer encoded text.
fn base64_cores(engine: &base64::engine::GeneralPurpose, secret: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    for offset in 0..3usize {
        let mut framed = vec![0u8; offset];
        framed.extend_from_slice(secret);
        framed.extend_from_slice(&[0, 0]);
        let enc = engine.encode(&framed);
        // Character k holds bits 6k..6k+6; keep those made of secret bits only.
        let first = (8 * offset).div_ceil(6);
        let last = 8 * (offset + secret.len()) / 6;
        if let Some(core) = enc.get(first..last) {
            if core.len() >= MIN_B64_CORE {
                out.push(core.to_string());
            }
        }
    }
    out
}

/// `text` with every occurrence of `secret` written with escapes (percent-encoding,
/// JSON and XML/HTML escapes, `+` for a space), in any mix, replaced; `None` if none.
fn replace_escaped(text: &str, secret: &[u8], replacement: &str) -> Option<String> {
    let t = text.as_bytes();
    let first = *secret.first()?;
    let mut out = String::new();
    let mut stack = Vec::new();
    let mut done = 0;
    let mut i = 0;
    while i < t.len() {
        if t[i] != first && !matches!(t[i], b'%' | b'\\' | b'&' | b'+') {
            i += 1;
            continue;
        }
        match match_escaped(t, i, secret, &mut stack) {
            // Only at character boundaries: escapes are ASCII, so both ends are.
            Some(end) if text.is_char_boundary(i) && text.is_char_boundary(end) => {
                out.push_str(&text[done..i]);
                out.push_str(replacement);
                done = end;
                i = end;
            }
            _ => i += 1,
        }
    }
    if done == 0 {
        return None;
    }
    out.push_str(&text[done..]);
    Some(out)
}

/// Where a match of `secret` starting at `start` ends, each secret byte written
/// literally or as an escape. A small backtracking search (a literal `%` in a secret
/// may also be written `%25`), bounded in steps.
fn match_escaped(
    t: &[u8],
    start: usize,
    secret: &[u8],
    stack: &mut Vec<(usize, usize)>,
) -> Option<usize> {
    if secret.is_empty() {
        return None;
    }
    stack.clear();
    stack.push((start, 0usize));
    let mut steps = 0usize;
    let limit = 8 * secret.len() + 64;
    while let Some((pos, j)) = stack.pop() {
        if j == secret.len() {
            return Some(pos);
        }
        steps += 1;
        if steps > limit || pos >= t.len() {
            if steps > limit {
                return None;
            }
            continue;
        }
        if let Some((bytes, len)) = unescape_at(t, pos) {
            if secret[j..].starts_with(&bytes) {
                stack.push((pos + len, j + bytes.len()));
            }
        }
        if t[pos] == secret[j] {
            stack.push((pos + 1, j + 1));
        }
    }
    None
}

/// The bytes one escape at `pos` stands for, and its length in the text.
fn unescape_at(t: &[u8], pos: usize) -> Option<(Vec<u8>, usize)> {
    let hex = |from: usize, n: usize| -> Option<u32> {
        let s = std::str::from_utf8(t.get(from..from + n)?).ok()?;
        if !s.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        u32::from_str_radix(s, 16).ok()
    };
    let utf8 = |c: u32| -> Option<Vec<u8>> {
        let ch = char::from_u32(c)?;
        Some(ch.to_string().into_bytes())
    };
    match t[pos] {
        b'+' => Some((vec![b' '], 1)),
        b'%' => Some((vec![hex(pos + 1, 2)? as u8], 3)),
        b'\\' => match *t.get(pos + 1)? {
            b'u' => {
                let hi = hex(pos + 2, 4)?;
                if (0xD800..0xDC00).contains(&hi) && t.get(pos + 6..pos + 8) == Some(b"\\u") {
                    let lo = hex(pos + 8, 4)?;
                    let c = 0x10000 + ((hi - 0xD800) << 10) + (lo.checked_sub(0xDC00)?);
                    return Some((utf8(c)?, 12));
                }
                Some((utf8(hi)?, 6))
            }
            b'x' => Some((vec![hex(pos + 2, 2)? as u8], 4)),
            c => {
                let b = match c {
                    b'"' | b'\\' | b'/' | b'\'' => c,
                    b'b' => 0x08,
                    b'f' => 0x0c,
                    b'n' => b'\n',
                    b'r' => b'\r',
                    b't' => b'\t',
                    _ => return None,
                };
                Some((vec![b], 2))
            }
        },
        b'&' => {
            let rest = t.get(pos + 1..(pos + 12).min(t.len()))?;
            let semi = rest.iter().position(|&b| b == b';')?;
            let name = std::str::from_utf8(&rest[..semi]).ok()?;
            let len = semi + 2;
            let bytes = match name {
                "amp" => vec![b'&'],
                "lt" => vec![b'<'],
                "gt" => vec![b'>'],
                "quot" => vec![b'"'],
                "apos" => vec![b'\''],
                n if n.starts_with("#x") || n.starts_with("#X") => {
                    utf8(u32::from_str_radix(&n[2..], 16).ok()?)?
                }
                n if n.starts_with('#') => utf8(n[1..].parse().ok()?)?,
                _ => return None,
            };
            Some((bytes, len))
        }
        _ => None,
    }
}

/// What a secret is replaced with: its role prefix kept for a key (`rl_agent_***`).
fn replacement_for(secret: &str) -> &'static str {
    static MASKS: OnceLock<[String; 3]> = OnceLock::new();
    let masks = MASKS.get_or_init(|| Role::ALL.map(|r| format!("{}***", r.prefix())));
    match Role::of_key(secret) {
        // `Role::ALL` lists the roles in declaration order.
        Some(role) => &masks[role as usize],
        None => "***",
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
        assert!(
            SECRET_HEADERS.contains(&crate::agent_api::KEY_HEADER.to_ascii_lowercase().as_str())
        );
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

    /// Every form listed in issue 17, for a vendor-style secret with a space, `~`
    /// and `*`, and for an Agent API key.
    #[test]
    fn every_encoding_is_redacted() {
        let vendor = "vk live~Zq9*Xw7Lp3Kd8Mv2Hq7Tz";
        let r = Redactor::new([KEY, vendor]);
        let pct_all = |s: &str| s.bytes().map(|b| format!("%{b:02X}")).collect::<String>();
        let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
        let json_u: String = KEY
            .chars()
            .map(|c| format!("\\u{:04x}", c as u32))
            .collect();
        let cases = vec![
            vendor.replace(' ', "%20").replace('*', "%2A"),
            vendor
                .replace(' ', "+")
                .replace('*', "%2a")
                .replace('~', "%7E"),
            vendor.replace(' ', "%20"),
            pct_all(KEY),
            pct_all(KEY).to_lowercase(),
            format!("%72l_agent_{}", &KEY[9..]),
            hex::encode(KEY),
            hex::encode_upper(vendor),
            json_u,
            format!("\\u0072l_agent_{}", &KEY[9..]),
            b64(&format!("user:{KEY}")),
            b64(&format!("u:{KEY}")),
            b64(&format!("us:{vendor}")),
            KEY[9..].to_string(),
            vendor.replace('*', "&#42;").replace(' ', "&#x20;"),
        ];
        let tail = &KEY[9..];
        for shown in cases {
            let text = format!("echo: \"{shown}\" end");
            let out = r.redact(&text);
            assert!(
                !out.contains(&tail[..12]) && !out.contains(&tail[tail.len() - 12..]),
                "{shown} -> {out}"
            );
            assert!(
                !out.contains("Zq9") && !out.contains("Hq7Tz"),
                "{shown} -> {out}"
            );
            // Encoded forms: their middle (inside the secret's encoding) is gone too.
            let mid = shown.len() / 2;
            assert!(!out.contains(&shown[mid - 6..mid + 6]), "{shown} -> {out}");
        }
    }

    #[test]
    fn a_key_prefix_placeholder_does_not_unmask_unknown_keys() {
        let r = Redactor::new(["rl_agent_"]);
        let other = format!("rl_agent_{}", "Q".repeat(40));
        assert_eq!(r.redact(&format!("k={other}")), "k=rl_agent_***");
        assert!(is_key_placeholder("rl_member_"));
    }

    #[test]
    fn a_literal_percent_in_a_secret_matches_escaped_or_not() {
        let r = Redactor::new(["pa%ss+wo&rd-123"]);
        for shown in [
            "pa%25ss%2Bwo%26rd-123",
            "pa%ss+wo&amp;rd-123",
            "pa%ss+wo\\u0026rd-123",
        ] {
            assert_eq!(r.redact(shown), "***", "{shown}");
        }
    }

    #[test]
    fn short_values_are_not_redacted_by_value() {
        let r = Redactor::new(["abc"]);
        assert_eq!(r.redact("abc"), "abc");
    }
}
