//! Webhook signature schemes, as real vendors sign (contract §B.2):
//!
//! - **hex**: HMAC-SHA256 of the raw body under the shared secret, hex, in a
//!   header the vendor names (`X-Signature-256`, GitHub-style `sha256=` prefix allowed);
//! - **base64**: the same HMAC in base64 (Shopify's `X-Shopify-Hmac-Sha256`);
//! - **Standard Webhooks** (Svix): `webhook-id`, `webhook-timestamp` and
//!   `webhook-signature: v1,<base64>` over `id.timestamp.body`, secret
//!   `whsec_<base64>`, several space-separated signatures during a key rotation
//!   (`svix-*` headers are the same scheme under Svix's brand);
//! - **Stripe**: `Stripe-Signature: t=<unix>,v1=<hex>` over `t.body`, the secret
//!   used as it is written.
//!
//! The Standard Webhooks signature itself is computed by the `standardwebhooks`
//! crate (the specification's reference implementation); its `verify` is not
//! used because it fixes the tolerance at five minutes and reports a stale
//! timestamp before it looks at the signature, while an evaluation must say
//! which of the two was wrong. Comparisons run in constant time.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

type HmacSha256 = Hmac<Sha256>;

/// The default tolerance for a signed timestamp (Standard Webhooks and Stripe both use five minutes).
pub const DEFAULT_TOLERANCE: Duration = Duration::from_secs(300);

/// A signature scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Scheme {
    /// Hex HMAC-SHA256 of the raw body in a named header.
    Hex,
    /// Base64 HMAC-SHA256 of the raw body in a named header.
    Base64,
    /// Standard Webhooks: `v1,<base64>` over `id.timestamp.body`.
    StandardWebhooks,
    /// Stripe: `t=…,v1=<hex>` over `t.body`.
    Stripe,
}

impl Scheme {
    /// Every scheme, in the order `auto` tries them on a named header.
    pub const ALL: &'static [Scheme] = &[
        Scheme::Hex,
        Scheme::Base64,
        Scheme::StandardWebhooks,
        Scheme::Stripe,
    ];

    /// The name a target file uses (`signature_scheme: standard-webhooks`).
    pub fn id(self) -> &'static str {
        match self {
            Scheme::Hex => "hex",
            Scheme::Base64 => "base64",
            Scheme::StandardWebhooks => "standard-webhooks",
            Scheme::Stripe => "stripe",
        }
    }

    /// What the scheme signs, for evidence.
    pub fn label(self) -> &'static str {
        match self {
            Scheme::Hex => "hex HMAC over the raw body",
            Scheme::Base64 => "base64 HMAC over the raw body",
            Scheme::StandardWebhooks => "Standard Webhooks (id.timestamp.body)",
            Scheme::Stripe => "Stripe-Signature (timestamp.body)",
        }
    }

    /// The scheme's name alone, for lists after the first.
    pub fn short(self) -> &'static str {
        match self {
            Scheme::Hex => "hex",
            Scheme::Base64 => "base64",
            Scheme::StandardWebhooks => "Standard Webhooks",
            Scheme::Stripe => "Stripe",
        }
    }

    /// Whether the signature covers a timestamp, so a receiver can refuse a
    /// captured delivery replayed later.
    pub fn timestamped(self) -> bool {
        matches!(self, Scheme::StandardWebhooks | Scheme::Stripe)
    }
}

impl fmt::Display for Scheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

/// A scheme named in the target file, or `auto`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SchemeChoice {
    /// Recognise the scheme from the headers of each delivery.
    Auto,
    /// Check this scheme.
    Named(Scheme),
}

impl FromStr for SchemeChoice {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim().to_ascii_lowercase();
        if t.is_empty() || t == "auto" {
            return Ok(SchemeChoice::Auto);
        }
        let alias = match t.as_str() {
            "svix" | "standard" | "standard_webhooks" => "standard-webhooks",
            other => other,
        };
        Scheme::ALL
            .iter()
            .find(|sc| sc.id() == alias)
            .map(|sc| SchemeChoice::Named(*sc))
            .ok_or_else(|| {
                format!("unknown signature scheme `{s}`: use auto, hex, base64, standard-webhooks or stripe")
            })
    }
}

/// How to check the deliveries of a run.
#[derive(Debug, Clone)]
pub struct Verifier {
    /// The scheme, or `auto`.
    pub choice: SchemeChoice,
    /// The header of the plain HMAC schemes (any case).
    pub header: String,
    /// The shared secret as written (`whsec_…` included).
    pub secret: Vec<u8>,
    /// How far a signed timestamp may be from launchgate's clock.
    pub tolerance: Duration,
}

/// What one delivery's signature showed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Verdict {
    /// Some signature header was there.
    pub present: bool,
    /// The signature verifies over the raw bytes (and its timestamp is within tolerance).
    pub valid: bool,
    /// The scheme that verified, or the one named or recognised.
    pub scheme: Option<Scheme>,
    /// The signature covers a timestamp (replay protection).
    pub timestamped: bool,
    /// It only verifies over a re-serialised (compact) copy of the JSON body.
    pub reserialized: bool,
    /// Made with the shared secret (over the raw or a re-serialised body, whatever
    /// its timestamp): what the receiver requires before it stores a delivery.
    pub authentic: bool,
    /// A signature was sent, but in no form launchgate can check (an HMAC-SHA512, a
    /// JWS, Standard Webhooks' asymmetric `v1a`): whether it is valid is unknown, which
    /// is not the same as invalid.
    pub unreadable: bool,
    /// Why it is not valid, naming each scheme checked; `None` when valid.
    pub problem: Option<String>,
    /// How the scheme was chosen: "named in the target file" or "recognised from …".
    pub how: String,
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.trim())
}

fn mac(secret: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    // HMAC accepts keys of any length, so `new_from_slice` cannot fail.
    let Ok(mut m) = HmacSha256::new_from_slice(secret) else {
        return Vec::new();
    };
    for p in parts {
        m.update(p);
    }
    m.finalize().into_bytes().to_vec()
}

fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

/// The signature of `body` under `secret`: lowercase hex HMAC-SHA256.
pub fn sign(secret: &[u8], body: &[u8]) -> String {
    hex::encode(mac(secret, &[body]))
}

/// The base64 HMAC-SHA256 of `body` under `secret`.
pub fn sign_base64(secret: &[u8], body: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(mac(secret, &[body]))
}

/// A `Stripe-Signature` value for `body` sent at Unix time `t`.
pub fn sign_stripe(secret: &[u8], t: i64, body: &[u8]) -> String {
    let sig = mac(secret, &[t.to_string().as_bytes(), b".", body]);
    format!("t={t},v1={}", hex::encode(sig))
}

/// A `webhook-signature` value (`v1,<base64>`) for message `id` sent at Unix time
/// `t`; fails when the secret is not `whsec_<base64>` or the body not UTF-8.
pub fn sign_standard(secret: &str, id: &str, t: i64, body: &[u8]) -> Result<String, String> {
    let wh = standardwebhooks::Webhook::new(secret).map_err(|_| {
        "the webhook secret is not a Standard Webhooks secret (whsec_ followed by base64)"
            .to_string()
    })?;
    wh.sign(id, t, body)
        .map_err(|e| format!("cannot sign the body as Standard Webhooks: {e}"))
}

/// Whether `header` is a valid hex signature of the raw `body` under `secret`
/// (a `sha256=` prefix and any hex case accepted).
pub fn verify(secret: &[u8], body: &[u8], header: &str) -> bool {
    matches!(check_plain(Scheme::Hex, secret, body, header), Some(true))
}

/// Where a delivery carries a signature other than in the headers launchgate
/// checks: another header whose name says signature or HMAC (`X-Acme-Signature`,
/// `Paypal-Transmission-Sig`), or a field of the JSON body that does (Adyen signs
/// fields of the notification and sends `hmacSignature` inside it).
fn signature_elsewhere(headers: &[(String, String)], body: &[u8]) -> Option<String> {
    let looks_signed = |name: &str| {
        let n = name.to_ascii_lowercase();
        n.contains("signature") || n.contains("hmac") || n.ends_with("-sig") || n.ends_with("_sig")
    };
    if let Some((name, _)) = headers.iter().find(|(n, _)| looks_signed(n)) {
        return Some(format!("header {name}"));
    }
    let json: serde_json::Value = serde_json::from_slice(body).ok()?;
    // Breadth-first, bounded: a hostile body cannot make this walk long.
    let mut queue = std::collections::VecDeque::from([(String::new(), &json, 0usize)]);
    let mut visited = 0;
    while let Some((path, v, depth)) = queue.pop_front() {
        visited += 1;
        if visited > 10_000 || depth > 8 {
            break;
        }
        match v {
            serde_json::Value::Object(map) => {
                for (k, child) in map {
                    let here = if path.is_empty() {
                        k.clone()
                    } else {
                        format!("{path}.{k}")
                    };
                    if looks_signed(k) && child.is_string() {
                        return Some(format!("body field {here}"));
                    }
                    queue.push_back((here, child, depth + 1));
                }
            }
            serde_json::Value::Array(items) => {
                for (i, child) in items.iter().enumerate() {
                    queue.push_back((format!("{path}[{i}]"), child, depth + 1));
                }
            }
            _ => {}
        }
    }
    None
}

fn strip_prefix(v: &str) -> &str {
    let v = v.trim();
    v.get(..7)
        .filter(|p| p.eq_ignore_ascii_case("sha256="))
        .map_or(v, |_| &v[7..])
}

/// The length of an HMAC-SHA256, the only MAC the plain schemes carry.
const MAC_LEN: usize = 32;

/// A plain HMAC over `body`: `None` when the value is not an HMAC-SHA256 in the
/// scheme's encoding (another encoding, another length, another kind of signature).
fn check_plain(scheme: Scheme, secret: &[u8], body: &[u8], value: &str) -> Option<bool> {
    let v = strip_prefix(value);
    let given = match scheme {
        Scheme::Hex => hex::decode(v).ok()?,
        Scheme::Base64 => base64::engine::general_purpose::STANDARD.decode(v).ok()?,
        _ => return None,
    };
    (given.len() == MAC_LEN).then(|| same(&mac(secret, &[body]), &given))
}

/// The Stripe header's timestamp and `v1` signatures.
fn stripe_parts(value: &str) -> Option<(i64, Vec<Vec<u8>>)> {
    let mut t = None;
    let mut sigs = Vec::new();
    for item in value.split(',') {
        match item.trim().split_once('=') {
            Some(("t", v)) => t = v.trim().parse::<i64>().ok(),
            Some(("v1", v)) => {
                sigs.extend(hex::decode(v.trim()).ok().filter(|s| s.len() == MAC_LEN))
            }
            _ => {}
        }
    }
    Some((t?, sigs))
}

/// The Standard Webhooks headers (`webhook-*`, or Svix's `svix-*`).
fn standard_headers(headers: &[(String, String)]) -> Option<(&str, &str, &str)> {
    ["webhook", "svix"].iter().find_map(|brand| {
        Some((
            header(headers, &format!("{brand}-id"))?,
            header(headers, &format!("{brand}-timestamp"))?,
            header(headers, &format!("{brand}-signature"))?,
        ))
    })
}

/// The outcome of checking one scheme.
enum Check {
    /// The scheme's headers are not there.
    Absent,
    /// The signature verifies; `fresh` is false when its timestamp is outside the tolerance.
    Match { fresh: bool, age: Option<i64> },
    /// It does not verify (over the raw bytes).
    NoMatch,
    /// The secret cannot be used with the scheme.
    BadSecret(String),
    /// The scheme's header is there, but its value is not one of the scheme's
    /// signatures: why, for the evidence.
    Unreadable(String),
}

impl Verifier {
    /// A verifier for a step's `signature:`.
    pub fn new(choice: SchemeChoice, header: String, secret: Vec<u8>, tolerance: Duration) -> Self {
        Verifier {
            choice,
            header,
            secret,
            tolerance,
        }
    }

    fn fresh(&self, t: i64, now: i64) -> (bool, i64) {
        let age = now.saturating_sub(t);
        let tol = i64::try_from(self.tolerance.as_secs()).unwrap_or(i64::MAX);
        (age.abs() <= tol, age)
    }

    fn check_one(
        &self,
        scheme: Scheme,
        headers: &[(String, String)],
        body: &[u8],
        now: i64,
    ) -> Check {
        match scheme {
            Scheme::Hex | Scheme::Base64 => match header(headers, &self.header) {
                None => Check::Absent,
                Some(v) => match check_plain(scheme, &self.secret, body, v) {
                    Some(true) => Check::Match {
                        fresh: true,
                        age: None,
                    },
                    Some(false) => Check::NoMatch,
                    None => Check::Unreadable(format!(
                        "{} holds no {} HMAC-SHA256",
                        self.header,
                        scheme.short()
                    )),
                },
            },
            Scheme::Stripe => {
                let stripe = header(headers, "stripe-signature");
                let value =
                    stripe.or_else(|| header(headers, &self.header).filter(|v| v.contains("v1=")));
                let Some((t, sigs)) = value.and_then(stripe_parts).filter(|(_, s)| !s.is_empty())
                else {
                    return match stripe {
                        Some(_) => Check::Unreadable(
                            "Stripe-Signature holds no t= timestamp with a v1= HMAC-SHA256".into(),
                        ),
                        None => Check::Absent,
                    };
                };
                let expected = mac(&self.secret, &[t.to_string().as_bytes(), b".", body]);
                if sigs.iter().any(|s| same(s, &expected)) {
                    let (fresh, age) = self.fresh(t, now);
                    Check::Match {
                        fresh,
                        age: Some(age),
                    }
                } else {
                    Check::NoMatch
                }
            }
            Scheme::StandardWebhooks => {
                let Some((id, ts, sigs)) = standard_headers(headers) else {
                    return Check::Absent;
                };
                let Ok(t) = ts.parse::<i64>() else {
                    return Check::Unreadable(format!(
                        "webhook-timestamp `{}` is not Unix seconds",
                        ts.chars().take(40).collect::<String>()
                    ));
                };
                if !sigs.split(' ').any(|s| s.starts_with("v1,")) {
                    // `v1a` is the scheme's asymmetric (ed25519) form, checked with the
                    // vendor's public key, which a shared secret cannot stand in for.
                    return Check::Unreadable(
                        "webhook-signature holds no v1 (symmetric) signature; v1a (ed25519) is not checked".into(),
                    );
                }
                let secret = String::from_utf8_lossy(&self.secret);
                let expected = match sign_standard(&secret, id, t, body) {
                    Ok(s) => s,
                    Err(e) => return Check::BadSecret(e),
                };
                let expected = expected.split_once(',').map_or("", |(_, s)| s);
                let matched = sigs
                    .split(' ')
                    .filter_map(|s| s.split_once(','))
                    .filter(|(v, _)| *v == "v1")
                    .any(|(_, s)| same(s.as_bytes(), expected.as_bytes()));
                if matched {
                    let (fresh, age) = self.fresh(t, now);
                    Check::Match {
                        fresh,
                        age: Some(age),
                    }
                } else {
                    Check::NoMatch
                }
            }
        }
    }

    /// The schemes to try, in order: the named one first, then the others (to
    /// say what the deliveries are when the named one does not match).
    fn order(&self, headers: &[(String, String)]) -> Vec<Scheme> {
        let mut out = Vec::new();
        match self.choice {
            SchemeChoice::Named(s) => out.push(s),
            SchemeChoice::Auto => {
                // A scheme's own headers say which it is.
                if standard_headers(headers).is_some() {
                    out.push(Scheme::StandardWebhooks);
                }
                if header(headers, "stripe-signature").is_some() {
                    out.push(Scheme::Stripe);
                }
            }
        }
        for s in Scheme::ALL {
            if !out.contains(s) {
                out.push(*s);
            }
        }
        out
    }

    /// Checks one delivery's raw `body` and headers at Unix time `now`.
    pub fn check(&self, headers: &[(String, String)], body: &[u8], now: i64) -> Verdict {
        let order = self.order(headers);
        let mut tried = Vec::new();
        let mut absent = Vec::new();
        let mut unreadable = Vec::new();
        let mut present = false;
        for (i, &scheme) in order.iter().enumerate() {
            match self.check_one(scheme, headers, body, now) {
                Check::Absent => absent.push(scheme.short()),
                Check::Unreadable(why) => {
                    present = true;
                    unreadable.push(why);
                }
                Check::BadSecret(e) => {
                    // The secret given cannot check this scheme: unknown, like an
                    // unreadable value, unless another scheme really mismatched.
                    present = true;
                    unreadable.push(format!("{} not checked: {e}", scheme.short()));
                }
                Check::NoMatch => {
                    present = true;
                    tried.push(if tried.is_empty() {
                        scheme.label().to_string()
                    } else {
                        scheme.short().to_string()
                    });
                }
                Check::Match { fresh, age } => {
                    let how = self.how(scheme, i == 0, headers);
                    let problem = (!fresh).then(|| {
                        format!(
                            "{} matches, but its timestamp is {}s off launchgate's clock, outside the {} tolerance",
                            scheme.label(),
                            age.unwrap_or_default(),
                            humantime::format_duration(self.tolerance)
                        )
                    });
                    return Verdict {
                        present: true,
                        valid: fresh,
                        scheme: Some(scheme),
                        timestamped: scheme.timestamped(),
                        reserialized: false,
                        authentic: true,
                        unreadable: false,
                        problem,
                        how,
                    };
                }
            }
        }
        let mut v = self.no_match(headers, body, now, present, &tried);
        if tried.is_empty() && !unreadable.is_empty() && !v.reserialized {
            // Nothing launchgate speaks could even be read: unknown, not invalid.
            v.unreadable = true;
            v.problem = Some(format!(
                "a signature in a form launchgate cannot check ({}): it cannot tell whether it is valid; if the vendor signs in a scheme launchgate speaks, name it (signature_scheme, signature_header) in the target file",
                unreadable.join("; ")
            ));
            return v;
        }
        if let (Some(p), false, false) = (&mut v.problem, absent.is_empty(), v.reserialized) {
            if present {
                p.push_str(&format!(" (no {} headers were sent)", absent.join(" or ")));
            }
        }
        v
    }

    fn how(&self, scheme: Scheme, first: bool, headers: &[(String, String)]) -> String {
        match self.choice {
            SchemeChoice::Named(n) if n == scheme => "named in the target file".into(),
            SchemeChoice::Named(n) => format!(
                "the target file names {}, but the deliveries verify as {}",
                n.id(),
                scheme.id()
            ),
            SchemeChoice::Auto if first && standard_headers(headers).is_some() => {
                "recognised from the webhook-id, webhook-timestamp and webhook-signature headers"
                    .into()
            }
            SchemeChoice::Auto if first && header(headers, "stripe-signature").is_some() => {
                "recognised from the Stripe-Signature header".into()
            }
            SchemeChoice::Auto => format!("recognised: {} in {}", scheme.label(), self.header),
        }
    }

    /// The verdict when no scheme verified over the raw bytes: says what was
    /// checked, and whether a re-serialised body is what the vendor signed.
    fn no_match(
        &self,
        headers: &[(String, String)],
        body: &[u8],
        now: i64,
        present: bool,
        tried: &[String],
    ) -> Verdict {
        if !present {
            if let Some(elsewhere) = signature_elsewhere(headers, body) {
                // Signed, but not where launchgate looks: unknown, not unsigned.
                return Verdict {
                    present: true,
                    unreadable: true,
                    problem: Some(format!(
                        "a signature launchgate cannot check: {elsewhere}; it cannot tell whether it is valid (if it is one of launchgate's schemes in another header, name that header as signature_header in the target file)"
                    )),
                    how: "nothing to recognise".into(),
                    ..Verdict::default()
                };
            }
            return Verdict {
                problem: Some(format!(
                    "no signature: none of {}, webhook-signature, svix-signature or Stripe-Signature was sent",
                    self.header
                )),
                how: "nothing to recognise".into(),
                ..Verdict::default()
            };
        }
        let reserialized = serde_json::from_slice::<serde_json::Value>(body)
            .ok()
            .and_then(|v| serde_json::to_vec(&v).ok())
            .filter(|re| re.as_slice() != body)
            .and_then(|re| {
                self.order(headers)
                    .into_iter()
                    .find(|s| matches!(self.check_one(*s, headers, &re, now), Check::Match { .. }))
            });
        let problem = match reserialized {
            Some(s) => format!(
                "{} matches only a re-serialised copy of the JSON body, not the bytes sent",
                s.label()
            ),
            None => match tried {
                [] => "no signature could be checked".to_string(),
                [one] => format!("{one} did not match"),
                [first, rest @ .., last] => {
                    let others = if rest.is_empty() {
                        last.clone()
                    } else {
                        format!("{}, and {last}", rest.join(", "))
                    };
                    format!("{first} did not match; {others} did not match either")
                }
            },
        };
        Verdict {
            present: true,
            valid: false,
            scheme: reserialized.or(match self.choice {
                SchemeChoice::Named(s) => Some(s),
                SchemeChoice::Auto => None,
            }),
            timestamped: reserialized.is_some_and(Scheme::timestamped),
            reserialized: reserialized.is_some(),
            authentic: reserialized.is_some(),
            unreadable: false,
            problem: Some(problem),
            how: match self.choice {
                SchemeChoice::Named(_) => "named in the target file".into(),
                SchemeChoice::Auto => "no scheme verified".into(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SW_SECRET: &str = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";

    fn v(choice: SchemeChoice, header: &str, secret: &str) -> Verifier {
        Verifier::new(
            choice,
            header.into(),
            secret.as_bytes().to_vec(),
            DEFAULT_TOLERANCE,
        )
    }

    fn h(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn known_vectors() {
        // RFC 4231 test case 2.
        assert_eq!(
            sign(b"Jefe", b"what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        // The Standard Webhooks specification's own example.
        assert_eq!(
            sign_standard(
                SW_SECRET,
                "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk",
                1649367553,
                br#"{"email":"test@example.com","username":"test_user"}"#
            )
            .unwrap(),
            "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw="
        );
    }

    #[test]
    fn verifies_raw_bytes_only() {
        let body = br#"{"id":"evt_1","type":"order.fulfilled"}"#;
        let sig = sign(b"s3cret", body);
        assert!(verify(b"s3cret", body, &sig));
        assert!(verify(
            b"s3cret",
            body,
            &format!("sha256={}", sig.to_uppercase())
        ));
        assert!(!verify(b"other", body, &sig));
        assert!(!verify(
            b"s3cret",
            br#"{"id":"evt_1", "type":"order.fulfilled"}"#,
            &sig
        ));
        assert!(!verify(b"s3cret", body, "not hex"));
        assert!(!verify(b"s3cret", body, &sig[..10]));
    }

    #[test]
    fn auto_recognises_each_scheme() {
        let body = br#"{"id":"evt_1"}"#;
        let now = 1_700_000_000;
        let auto = |hdrs: &[(&str, &str)], secret: &str| {
            v(SchemeChoice::Auto, "X-Sig", secret).check(&h(hdrs), body, now)
        };
        let hex = sign(b"k", body);
        let r = auto(&[("x-sig", &format!("sha256={hex}"))], "k");
        assert_eq!((r.valid, r.scheme), (true, Some(Scheme::Hex)));
        assert!(!r.timestamped);
        let b64 = sign_base64(b"k", body);
        let r = auto(&[("x-sig", &b64)], "k");
        assert_eq!((r.valid, r.scheme), (true, Some(Scheme::Base64)));
        let st = sign_stripe(b"whsec_k", now - 10, body);
        let r = auto(&[("stripe-signature", &st)], "whsec_k");
        assert_eq!((r.valid, r.scheme), (true, Some(Scheme::Stripe)));
        assert!(r.timestamped && r.how.contains("Stripe-Signature"));
        let sw = sign_standard(SW_SECRET, "msg_1", now, body).unwrap();
        let two = format!("v1,bm90IGl0 {sw}");
        let r = auto(
            &[
                ("webhook-id", "msg_1"),
                ("webhook-timestamp", &now.to_string()),
                ("webhook-signature", &two),
            ],
            SW_SECRET,
        );
        assert_eq!(
            (r.valid, r.scheme),
            (true, Some(Scheme::StandardWebhooks)),
            "{r:?}"
        );
        // Svix's branded headers are the same scheme.
        let r = auto(
            &[
                ("svix-id", "msg_1"),
                ("svix-timestamp", &now.to_string()),
                ("svix-signature", &sw),
            ],
            SW_SECRET,
        );
        assert_eq!((r.valid, r.scheme), (true, Some(Scheme::StandardWebhooks)));
    }

    #[test]
    fn stale_timestamps_and_failures_say_what_was_checked() {
        let body = br#"{"id":"evt_1"}"#;
        let now = 1_700_000_000;
        let sw = sign_standard(SW_SECRET, "m", now - 600, body).unwrap();
        let r = v(SchemeChoice::Auto, "X-Sig", SW_SECRET).check(
            &h(&[
                ("webhook-id", "m"),
                ("webhook-timestamp", &(now - 600).to_string()),
                ("webhook-signature", &sw),
            ]),
            body,
            now,
        );
        assert!(!r.valid && r.scheme == Some(Scheme::StandardWebhooks));
        assert!(r.problem.unwrap().contains("600s"));
        let r = v(SchemeChoice::Auto, "X-Sig", "k").check(
            &h(&[("x-sig", &sign(b"wrong", body))]),
            body,
            now,
        );
        let p = r.problem.unwrap();
        assert_eq!(
            p,
            "hex HMAC over the raw body did not match (no Standard Webhooks or Stripe headers were sent)"
        );
        assert!(
            !r.unreadable,
            "a MAC of the right shape that differs is invalid, not unknown"
        );
        let r = v(SchemeChoice::Auto, "X-Sig", "k").check(&[], body, now);
        assert!(!r.present && r.problem.unwrap().contains("X-Sig"));
    }

    /// Signatures in a form launchgate does not speak are unknown, never invalid: a
    /// vendor is not failed for a legitimate scheme launchgate cannot check.
    #[test]
    fn signatures_launchgate_cannot_read_are_unknown_not_invalid() {
        let body = br#"{"id":"evt_1"}"#;
        let now = 1_700_000_000;
        let sha512_hex = "ab".repeat(64);
        let jws = "eyJhbGciOiJSUzI1NiIsImtpZCI6IjEifQ..c2lnbmF0dXJl";
        let ts = now.to_string();
        let cases: [(&str, Vec<(String, String)>); 4] = [
            ("an HMAC-SHA512", h(&[("x-sig", &sha512_hex)])),
            ("a detached JWS", h(&[("x-sig", jws)])),
            (
                "Standard Webhooks' asymmetric v1a",
                h(&[
                    ("webhook-id", "msg_1"),
                    ("webhook-timestamp", &ts),
                    ("webhook-signature", "v1a,aGVsbG8gd29ybGQ="),
                ]),
            ),
            (
                "a Stripe header with only v0",
                h(&[(
                    "stripe-signature",
                    &format!("t={now},v0={}", "cd".repeat(32)),
                )]),
            ),
        ];
        for (what, headers) in cases {
            for choice in [SchemeChoice::Auto, SchemeChoice::Named(Scheme::Hex)] {
                let r = v(choice, "X-Sig", SW_SECRET).check(&headers, body, now);
                assert!(r.present && !r.valid && r.unreadable, "{what}: {r:?}");
                let p = r.problem.unwrap_or_default();
                assert!(p.contains("cannot tell whether it is valid"), "{what}: {p}");
            }
        }
        // A secret that cannot check the scheme sent (not `whsec_…` for Standard
        // Webhooks) leaves the signature unknown, naming why.
        let sw = sign_standard(SW_SECRET, "msg_1", now, body).unwrap();
        let r = v(SchemeChoice::Auto, "X-Sig", "plain-secret").check(
            &h(&[
                ("webhook-id", "msg_1"),
                ("webhook-timestamp", &ts),
                ("webhook-signature", &sw),
            ]),
            body,
            now,
        );
        assert!(r.unreadable && !r.valid, "{r:?}");
        assert!(r
            .problem
            .unwrap_or_default()
            .contains("not a Standard Webhooks secret"));
        // A v1a beside a v1 that matches is a valid signature.
        let sw = sign_standard(SW_SECRET, "msg_1", now, body).unwrap();
        let r = v(SchemeChoice::Auto, "X-Sig", SW_SECRET).check(
            &h(&[
                ("webhook-id", "msg_1"),
                ("webhook-timestamp", &ts),
                ("webhook-signature", &format!("v1a,aGVsbG8= {sw}")),
            ]),
            body,
            now,
        );
        assert!(r.valid && !r.unreadable, "{r:?}");
    }

    /// A signature somewhere launchgate does not look (another header, a field of
    /// the body) is unknown; a delivery with no signature anywhere is unsigned.
    #[test]
    fn a_signature_elsewhere_is_unknown_and_none_at_all_is_unsigned() {
        let verifier = v(SchemeChoice::Auto, "X-Signature-256", "k");
        let plain = br#"{"id":"evt_1","data":{"order":{"id":"ord_1"}}}"#;
        let r = verifier.check(&h(&[("x-acme-signature", "abc")]), plain, 0);
        assert!(r.present && r.unreadable, "{r:?}");
        assert!(r.problem.unwrap().contains("header x-acme-signature"));
        let adyen = br#"{"notificationItems":[{"NotificationRequestItem":{"additionalData":{"hmacSignature":"b0ea55c2"}}}]}"#;
        let r = verifier.check(&[], adyen, 0);
        assert!(r.unreadable, "{r:?}");
        let p = r.problem.unwrap();
        assert!(
            p.contains("body field notificationItems[0].NotificationRequestItem.additionalData.hmacSignature"),
            "{p}"
        );
        let r = verifier.check(&[], plain, 0);
        assert!(!r.present && !r.unreadable, "{r:?}");
        assert!(r.problem.unwrap().starts_with("no signature"));
    }

    #[test]
    fn a_reserialised_body_is_diagnosed() {
        let pretty = b"{\n  \"id\": \"evt_1\"\n}";
        let compact = br#"{"id":"evt_1"}"#;
        let r = v(SchemeChoice::Named(Scheme::Hex), "X-Sig", "k").check(
            &h(&[("x-sig", &sign(b"k", compact))]),
            pretty,
            0,
        );
        assert!(!r.valid && r.reserialized);
        assert!(r.problem.unwrap().contains("re-serialised"));
    }

    #[test]
    fn a_named_scheme_that_does_not_match_says_what_does() {
        let body = br#"{"id":"evt_1"}"#;
        let r = v(SchemeChoice::Named(Scheme::Hex), "X-Sig", "k").check(
            &h(&[("x-sig", &sign_base64(b"k", body))]),
            body,
            0,
        );
        assert_eq!((r.valid, r.scheme), (true, Some(Scheme::Base64)));
        assert!(r.how.contains("names hex"), "{}", r.how);
        assert!("svix".parse::<SchemeChoice>().is_ok());
        assert!("md5".parse::<SchemeChoice>().is_err());
    }
}
