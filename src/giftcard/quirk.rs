//! Vendor quirks: each breaks the one answer of contract Part B it is named after.

use std::fmt;
use std::str::FromStr;

/// A named deviation from Part B, off by default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum VendorQuirk {
    /// Idempotency keys are ignored: every request creates an order, and a missing key is accepted.
    NoIdempotency,
    /// A reused key with a different body replays the original instead of 409.
    IdempotencyIgnoresBody,
    /// Webhooks carry no signature header.
    UnsignedWebhooks,
    /// The signature covers a compact re-serialisation, while the body is sent pretty-printed.
    SignatureOverReserializedJson,
    /// A fraction of orders never get their webhooks (`webhook-drop=RATE`, default 0.001).
    WebhookDrop,
    /// A refused delivery is never retried.
    NoWebhookRetry,
    /// Reconciliation returns daily totals instead of transaction records.
    AggregatedReconciliation,
    /// Reconciliation records do not echo the caller's reference.
    ReferenceNotEchoed,
    /// There is no reconciliation endpoint (404).
    NoReconciliation,
    /// Lookups and reconciliation ignore the `reference` filter and return every order.
    ReferenceFilterIgnored,
    /// Idempotency keys are forgotten after a short time (`forgets-keys=AFTER`, default 2s).
    ForgetsKeys,
}

impl VendorQuirk {
    /// Every quirk, in documentation order.
    pub const ALL: &'static [VendorQuirk] = &[
        VendorQuirk::NoIdempotency,
        VendorQuirk::IdempotencyIgnoresBody,
        VendorQuirk::UnsignedWebhooks,
        VendorQuirk::SignatureOverReserializedJson,
        VendorQuirk::WebhookDrop,
        VendorQuirk::NoWebhookRetry,
        VendorQuirk::AggregatedReconciliation,
        VendorQuirk::ReferenceNotEchoed,
        VendorQuirk::NoReconciliation,
        VendorQuirk::ReferenceFilterIgnored,
        VendorQuirk::ForgetsKeys,
    ];

    /// The kebab-case name.
    pub fn name(self) -> &'static str {
        match self {
            VendorQuirk::NoIdempotency => "no-idempotency",
            VendorQuirk::IdempotencyIgnoresBody => "idempotency-ignores-body",
            VendorQuirk::UnsignedWebhooks => "unsigned-webhooks",
            VendorQuirk::SignatureOverReserializedJson => "signature-over-reserialized-json",
            VendorQuirk::WebhookDrop => "webhook-drop",
            VendorQuirk::NoWebhookRetry => "no-webhook-retry",
            VendorQuirk::AggregatedReconciliation => "aggregated-reconciliation",
            VendorQuirk::ReferenceNotEchoed => "reference-not-echoed",
            VendorQuirk::NoReconciliation => "no-reconciliation",
            VendorQuirk::ReferenceFilterIgnored => "reference-filter-ignored",
            VendorQuirk::ForgetsKeys => "forgets-keys",
        }
    }

    /// What it breaks.
    pub fn description(self) -> &'static str {
        match self {
            VendorQuirk::NoIdempotency => {
                "idempotency keys are ignored: every POST creates an order; a missing key is accepted"
            }
            VendorQuirk::IdempotencyIgnoresBody => {
                "a reused key with a different body replays the original order instead of 409 IDEMPOTENCY_KEY_REUSED"
            }
            VendorQuirk::UnsignedWebhooks => "webhooks are sent without a signature header",
            VendorQuirk::SignatureOverReserializedJson => {
                "the body is sent pretty-printed but signed in compact form, so only a re-serialising receiver verifies it"
            }
            VendorQuirk::WebhookDrop => {
                "webhook-drop=RATE: that fraction of orders never get a webhook (default 0.001, the article's 99.9 %, which rarely hits one of a run's ~30 orders: use e.g. 0.5 to see it); the same seed drops the same orders by sequence (the mock's n-th order)"
            }
            VendorQuirk::NoWebhookRetry => "a delivery answered non-2xx is never retried",
            VendorQuirk::AggregatedReconciliation => {
                "reconciliation returns daily totals (date, count, amount) instead of one record per order"
            }
            VendorQuirk::ReferenceNotEchoed => "reconciliation records carry reference: null",
            VendorQuirk::NoReconciliation => "GET /api/v1/reconciliation answers 404",
            VendorQuirk::ReferenceFilterIgnored => {
                "lookups by reference and reconciliation's reference filter return every order"
            }
            VendorQuirk::ForgetsKeys => {
                "forgets-keys=AFTER: idempotency keys are forgotten after AFTER (default 2s) instead of 24 h; the retention probe (--retention-probe) finds it"
            }
        }
    }

    /// One line per quirk, for help texts and errors.
    pub fn catalogue() -> String {
        VendorQuirk::ALL
            .iter()
            .map(|q| format!("  {:<34} {}", q.name(), q.description()))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

impl fmt::Display for VendorQuirk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A quirk as given on the command line: `webhook-drop=0.25` carries its rate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VendorQuirkArg {
    /// The quirk.
    pub quirk: VendorQuirk,
    /// For `webhook-drop`: the fraction of orders whose webhooks are dropped.
    pub rate: Option<f64>,
    /// For `forgets-keys`: how long a key is remembered.
    pub after: Option<std::time::Duration>,
}

/// How long `forgets-keys` remembers a key by default.
pub const DEFAULT_FORGET_AFTER: std::time::Duration = std::time::Duration::from_secs(2);

/// The article's figure: 99.9 % delivery.
pub const DEFAULT_DROP_RATE: f64 = 0.001;

impl FromStr for VendorQuirkArg {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (name, value) = match s.split_once(['=', ':']) {
            Some((n, v)) => (n.trim(), Some(v.trim())),
            None => (s.trim(), None),
        };
        let quirk = VendorQuirk::ALL
            .iter()
            .copied()
            .find(|q| q.name().eq_ignore_ascii_case(name))
            .ok_or_else(|| {
                format!(
                    "unknown vendor quirk `{s}`; valid quirks are:\n{}",
                    VendorQuirk::catalogue()
                )
            })?;
        let after = match (quirk, value) {
            (VendorQuirk::ForgetsKeys, Some(v)) => Some(
                humantime::parse_duration(v)
                    .map_err(|e| format!("forgets-keys `{v}`: {e} (write e.g. 2s)"))?,
            ),
            (VendorQuirk::ForgetsKeys, None) => Some(DEFAULT_FORGET_AFTER),
            _ => None,
        };
        let rate = match (quirk, value) {
            (VendorQuirk::WebhookDrop, Some(v)) => {
                let r: f64 = v
                    .parse()
                    .map_err(|_| format!("webhook-drop rate `{v}` is not a number"))?;
                if !(0.0..=1.0).contains(&r) {
                    return Err(format!("webhook-drop rate {r} is outside 0..=1"));
                }
                Some(r)
            }
            (VendorQuirk::WebhookDrop, None) => Some(DEFAULT_DROP_RATE),
            (VendorQuirk::ForgetsKeys, _) => None,
            (_, Some(_)) => return Err(format!("quirk `{name}` takes no value")),
            (_, None) => None,
        };
        Ok(VendorQuirkArg { quirk, rate, after })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_names_and_rates() {
        let q: VendorQuirkArg = "webhook-drop=0.25".parse().unwrap();
        assert_eq!((q.quirk, q.rate), (VendorQuirk::WebhookDrop, Some(0.25)));
        let q: VendorQuirkArg = "webhook-drop".parse().unwrap();
        assert_eq!(q.rate, Some(DEFAULT_DROP_RATE));
        assert!("webhook-drop=2".parse::<VendorQuirkArg>().is_err());
        assert!("no-idempotency=1".parse::<VendorQuirkArg>().is_err());
        let e = "nope".parse::<VendorQuirkArg>().unwrap_err();
        assert!(VendorQuirk::ALL.iter().all(|q| e.contains(q.name())));
    }
}
