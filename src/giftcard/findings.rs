//! The scorecard's findings: what the vendor probes measured, read from the
//! values they `record:` (never from prose), put into words beside each answer.

use serde_json::Value;

use super::scorecard::{recorded, records as r, Finding, Question, OPTIONAL_TAG};
use crate::report::{CaseReport, Outcome};

/// The findings for one question, from its probes.
pub fn of(q: Question, cases: &[&CaseReport]) -> Vec<Finding> {
    let mut out = Vec::new();
    let mut add = |name: &str, value: Option<String>| {
        if let Some(value) = value {
            out.push(Finding {
                name: name.to_string(),
                value,
            });
        }
    };
    let text = |name: &str| first(cases, name).map(as_text);
    match q {
        Question::Idempotency => {
            add("Key sent in", text(r::KEY_LOCATION));
            add(
                "Keys required",
                first(cases, r::KEYLESS_STATUS).map(keyless),
            );
            add("Retention window", retention(cases));
        }
        Question::Webhooks => {
            add("Signature scheme", scheme(cases));
            add(
                "Replay protection",
                first(cases, r::REPLAY_PROTECTION).map(replay),
            );
            add("Delivery latency", latency(cases));
            add(
                "Retry schedule",
                first(cases, r::RETRY_INTERVALS_MS).map(retries),
            );
        }
        Question::Reconciliation => {
            add("Pagination", text(r::PAGINATION));
            add("Lookup by reference", text(r::LOOKUP));
        }
    }
    out
}

/// A recorded number: run values arrive as text (`"2.5"`).
fn num(v: &Value) -> Option<f64> {
    v.as_f64()
        .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
}

fn first<'a>(cases: &[&'a CaseReport], name: &str) -> Option<&'a Value> {
    cases.iter().find_map(|c| recorded(c, name))
}

fn as_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn seconds(s: f64) -> String {
    if s >= 1.0 {
        humantime::format_duration(std::time::Duration::from_secs_f64(s.max(0.0)))
            .to_string()
            .split(' ')
            .take(2)
            .collect::<Vec<_>>()
            .join(" ")
    } else {
        format!("{:.0}ms", s * 1000.0)
    }
}

fn keyless(v: &Value) -> String {
    match num(v).map(|n| n as u64) {
        Some(s) if (400..500).contains(&s) => format!("yes: an order without a key was refused (HTTP {s})"),
        Some(s) if (200..300).contains(&s) => format!(
            "no: an order without a key was accepted (HTTP {s}); keys are optional, so the integration must always send one"
        ),
        _ => format!("unclear: an order without a key got {}", as_text(v)),
    }
}

fn retention(cases: &[&CaseReport]) -> Option<String> {
    // The question's optional probe is the retention probe (run only when asked).
    let c = cases
        .iter()
        .find(|c| c.vendor.iter().any(|t| t == OPTIONAL_TAG))?;
    let num = |name: &str| recorded(c, name).and_then(num);
    Some(match c.outcome {
        Outcome::Passed => format!(
            "at least {} verified: a replay after that long returned the original order",
            seconds(num(r::RETENTION_VERIFIED_S).unwrap_or_default())
        ),
        Outcome::Failed => match (num(r::RETENTION_VERIFIED_S), num(r::RETENTION_NEXT_S)) {
            (Some(v), Some(n)) if v > 0.0 => format!(
                "forgotten: the key was remembered after {} but not after {}",
                seconds(v),
                seconds(n)
            ),
            (_, Some(n)) => format!(
                "forgotten within {}: a replay created a new order",
                seconds(n)
            ),
            _ => "forgotten: a replay created a new order".into(),
        },
        Outcome::Skipped | Outcome::Inconclusive => format!(
            "not measured: {}",
            c.reason.as_deref().unwrap_or("the probe did not run")
        ),
        Outcome::Errored => format!(
            "not measured: {}",
            c.failure
                .as_ref()
                .map_or("the probe errored", |f| f.message.as_str())
        ),
    })
}

fn scheme(cases: &[&CaseReport]) -> Option<String> {
    let id = first(cases, r::SIGNATURE_SCHEME)?;
    let label = match id.as_str()? {
        "hex" => "hex HMAC-SHA256 over the raw body",
        "base64" => "base64 HMAC-SHA256 over the raw body",
        "standard-webhooks" => "Standard Webhooks (v1 over id.timestamp.body)",
        "stripe" => "Stripe (t=…,v1=… over timestamp.body)",
        other => other,
    };
    Some(match first(cases, r::SIGNATURE_RECOGNISED) {
        Some(how) => format!("{label}: {}", as_text(how)),
        None => label.to_string(),
    })
}

fn replay(v: &Value) -> String {
    if v.as_bool() == Some(true) {
        "yes: the signature covers a timestamp, so a receiver can refuse a delivery replayed later"
            .into()
    } else {
        "no: the signature covers the body only; a captured delivery can be replayed, so the receiver must deduplicate on the event id".into()
    }
}

fn latency(cases: &[&CaseReport]) -> Option<String> {
    let c = cases
        .iter()
        .find(|c| recorded(c, r::LATENCY_ARRIVALS_MS).is_some())?;
    let from = num(recorded(c, r::LATENCY_FROM_MS)?)?;
    let mut ms: Vec<f64> = recorded(c, r::LATENCY_ARRIVALS_MS)?
        .as_array()?
        .iter()
        .filter_map(num)
        .map(|t| (t - from).max(0.0))
        .collect();
    if ms.is_empty() {
        return Some("not measured: no first delivery carried the probe's reference".into());
    }
    ms.sort_by(f64::total_cmp);
    let pct = |p: f64| ms[((p * ms.len() as f64).ceil() as usize).clamp(1, ms.len()) - 1];
    Some(format!(
        "p50 {}, p95 {}, max {} over {} orders (order placed → first delivery, launchgate's clock)",
        seconds(pct(0.5) / 1000.0),
        seconds(pct(0.95) / 1000.0),
        seconds(ms[ms.len() - 1] / 1000.0),
        ms.len()
    ))
}

fn retries(v: &Value) -> String {
    let gaps: Vec<String> = v
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(num)
                .map(|ms| seconds(ms / 1000.0))
                .collect()
        })
        .unwrap_or_default();
    match gaps.len() {
        0 => "not observed".into(),
        1 => format!(
            "retried {} after the refused delivery (refuse more with --webhook-refuse N to see more of the schedule)",
            gaps[0]
        ),
        _ => format!("retried after {} (intervals between attempts)", gaps.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words() {
        assert_eq!(seconds(0.25), "250ms");
        assert_eq!(seconds(90.0), "1m 30s");
        assert!(keyless(&Value::from(400)).starts_with("yes"));
        assert!(keyless(&Value::from(201)).starts_with("no"));
        assert!(retries(&serde_json::json!([500, 1000])).contains("500ms, 1s"));
    }
}
