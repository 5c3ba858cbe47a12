//! Vendor dialects: how real gift-card vendors differ from contract Part B on
//! the wire, in two places.
//!
//! - [`VendorDialect`]: the embedded vendor mock speaks Part B, a Stripe-like
//!   dialect or a Standard Webhooks one, as options of one mock (not copies),
//!   each described by a ready target file in `docs/vendors/`.
//! - [`complete_facts`]: what a target file says in a word (`idempotency_key_header:
//!   Idempotency-Key`, `pagination: page`, `time_format: unix`) becomes the facts the
//!   probes in `scenarios/giftcard/` are written against.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::signature::{Scheme, SchemeChoice};

/// How the embedded vendor mock speaks (`--dialect` / `--mock-dialect`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum VendorDialect {
    /// Contract Part B: key in the body, `X-Signature-256` hex HMAC, cursor pages, RFC 3339 times.
    #[default]
    PartB,
    /// Stripe's conventions: `Idempotency-Key` header (optional), `Stripe-Signature: t=…,v1=…`,
    /// `starting_after`/`has_more` lists, Unix-second `created[gte]`/`created[lt]`, `{error: {type, code}}`.
    StripeLike,
    /// Standard Webhooks signatures (`webhook-id`/`-timestamp`/`-signature`, `whsec_` secret),
    /// `Idempotency-Key` header, page-number pagination, Unix-second `since`/`until`.
    StandardWebhooks,
}

/// How a dialect pages reconciliation records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Paging {
    /// `cursor=` / `next_cursor`.
    Cursor,
    /// `starting_after=<last id>` / `has_more`.
    StartingAfter,
    /// `page=` / `per_page=` / `total_pages`.
    Page,
}

impl VendorDialect {
    /// Every dialect, in documentation order.
    pub const ALL: &'static [VendorDialect] = &[
        VendorDialect::PartB,
        VendorDialect::StripeLike,
        VendorDialect::StandardWebhooks,
    ];

    /// The name on the command line.
    pub fn id(self) -> &'static str {
        match self {
            VendorDialect::PartB => "part-b",
            VendorDialect::StripeLike => "stripe-like",
            VendorDialect::StandardWebhooks => "standard-webhooks",
        }
    }

    /// The header carrying the idempotency key; `None`: the body's `idempotency_key`.
    pub fn key_header(self) -> Option<&'static str> {
        match self {
            VendorDialect::PartB => None,
            VendorDialect::StripeLike | VendorDialect::StandardWebhooks => Some("Idempotency-Key"),
        }
    }

    /// Whether an order without a key is refused (Stripe accepts one: keys are optional there).
    pub fn requires_key(self) -> bool {
        !matches!(self, VendorDialect::StripeLike)
    }

    /// How webhooks are signed.
    pub fn scheme(self) -> Scheme {
        match self {
            VendorDialect::PartB => Scheme::Hex,
            VendorDialect::StripeLike => Scheme::Stripe,
            VendorDialect::StandardWebhooks => Scheme::StandardWebhooks,
        }
    }

    /// How reconciliation pages.
    pub fn paging(self) -> Paging {
        match self {
            VendorDialect::PartB => Paging::Cursor,
            VendorDialect::StripeLike => Paging::StartingAfter,
            VendorDialect::StandardWebhooks => Paging::Page,
        }
    }

    /// The reconciliation window's parameters (from, to); Part B takes RFC 3339,
    /// the others Unix seconds.
    pub fn window_params(self) -> (&'static str, &'static str) {
        match self {
            VendorDialect::PartB => ("from", "to"),
            VendorDialect::StripeLike => ("created[gte]", "created[lt]"),
            VendorDialect::StandardWebhooks => ("since", "until"),
        }
    }

    /// Whether times in queries are Unix seconds.
    pub fn unix_times(self) -> bool {
        !matches!(self, VendorDialect::PartB)
    }

    /// Stripe-style errors: `{error: {type, code, message}}`, and 400 for a reused key.
    pub fn stripe_errors(self) -> bool {
        matches!(self, VendorDialect::StripeLike)
    }

    /// The status of a new order (Stripe answers 200).
    pub fn created_status(self) -> u16 {
        if matches!(self, VendorDialect::StripeLike) {
            200
        } else {
            201
        }
    }

    /// The ready target file for this dialect (`docs/vendors/*.yaml`, or
    /// `docs/vendor-target.yaml` for Part B), as shipped.
    pub fn profile(self) -> &'static str {
        match self {
            VendorDialect::PartB => include_str!("../../docs/vendor-target.yaml"),
            VendorDialect::StripeLike => include_str!("../../docs/vendors/stripe-like.yaml"),
            VendorDialect::StandardWebhooks => {
                include_str!("../../docs/vendors/standard-webhooks.yaml")
            }
        }
    }

    /// The facts of the dialect's target file: what the embedded mock's target
    /// declares when it speaks this dialect.
    pub fn facts(self) -> BTreeMap<String, Value> {
        #[derive(serde::Deserialize)]
        struct Profile {
            #[serde(default)]
            facts: BTreeMap<String, Value>,
        }
        // The profiles are compiled in and parsed by a test; an empty map would
        // only make the probes skip, never pass.
        serde_saphyr::from_str::<Profile>(self.profile())
            .map(|p| p.facts)
            .unwrap_or_default()
    }
}

fn text(facts: &BTreeMap<String, Value>, name: &str) -> Option<String> {
    match facts.get(name) {
        Some(Value::String(s)) => Some(s.trim().to_string()),
        Some(Value::Null) | None => None,
        Some(other) => Some(other.to_string()),
    }
}

/// Derives the facts the gift-card probes use from what a target file says in
/// a word; facts the file declares itself are never overwritten. An invalid
/// value is an error naming the fact.
pub fn complete_facts(facts: &mut BTreeMap<String, Value>) -> Result<(), String> {
    let mut derived: Vec<(&str, Value)> = Vec::new();
    // The key in a header: not in the body as well (Stripe refuses unknown fields).
    if let Some(h) = text(facts, "idempotency_key_header").filter(|h| !h.is_empty()) {
        if h.contains(|c: char| c.is_whitespace() || c == ':') {
            return Err(format!(
                "facts.idempotency_key_header `{h}` is not a header name"
            ));
        }
        derived.push(("idempotency_key_field", Value::from("")));
        let location = match text(facts, "idempotency_key_field").filter(|f| !f.is_empty()) {
            Some(f) => format!("header {h} and body field {f}"),
            None => format!("header {h}"),
        };
        derived.push(("idempotency_key_location", Value::from(location)));
    }
    match text(facts, "pagination").as_deref() {
        None | Some("cursor") => {}
        Some("page") => {
            let first = facts
                .get("first_page")
                .and_then(Value::as_i64)
                .unwrap_or(1);
            derived.push(("first_page_param", Value::from("{{ target.page_param }}")));
            derived.push(("next_page_param", Value::from("{{ target.page_param }}")));
            derived.push(("next_page_value", Value::from(first.saturating_add(1))));
        }
        Some(other) => {
            return Err(format!(
                "facts.pagination `{other}`: use cursor (a cursor or the last id from each page) or page (page numbers)"
            ))
        }
    }
    match text(facts, "time_format").as_deref() {
        None | Some("rfc3339") => {}
        Some("unix") => {
            derived.push(("window_from", Value::from("{{ epoch(-120) }}")));
            derived.push(("window_to", Value::from("{{ epoch(+600) }}")));
        }
        Some(other) => {
            return Err(format!(
                "facts.time_format `{other}`: use rfc3339 or unix (seconds)"
            ))
        }
    }
    if let Some(s) = text(facts, "signature_scheme").filter(|s| !s.contains("{{")) {
        s.parse::<SchemeChoice>()
            .map_err(|e| format!("facts.signature_scheme: {e}"))?;
    }
    for (name, value) in derived {
        facts.entry(name.to_string()).or_insert(value);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_keys_leave_the_body() {
        let mut f = BTreeMap::new();
        f.insert(
            "idempotency_key_header".into(),
            Value::from("PayPal-Request-Id"),
        );
        complete_facts(&mut f).unwrap();
        assert_eq!(f["idempotency_key_field"], "");
        assert_eq!(f["idempotency_key_location"], "header PayPal-Request-Id");
        f.insert("pagination".into(), Value::from("pages"));
        assert!(complete_facts(&mut f).unwrap_err().contains("pagination"));
    }

    #[test]
    fn page_numbers_and_unix_times() {
        let mut f = BTreeMap::new();
        f.insert("pagination".into(), Value::from("page"));
        f.insert("first_page".into(), Value::from(0));
        f.insert("time_format".into(), Value::from("unix"));
        f.insert("window_to".into(), Value::from("{{ epoch(+60) }}"));
        complete_facts(&mut f).unwrap();
        assert_eq!(f["next_page_value"], 1);
        assert_eq!(f["window_from"], "{{ epoch(-120) }}");
        assert_eq!(f["window_to"], "{{ epoch(+60) }}", "declared facts win");
    }

    #[test]
    fn every_profile_parses() {
        for d in VendorDialect::ALL {
            let facts = d.facts();
            assert!(facts.contains_key("brand_id"), "{}", d.id());
            let mut f = facts.clone();
            complete_facts(&mut f).unwrap();
        }
    }
}
