//! The tags a case carries to say what it is evidence for: the Final Launch
//! Checklist's item ids (`checklist: [error-branches]`) and the vendor scorecard's
//! questions (`vendor: [idempotency, optional]`).
//!
//! The scenario format owns these words, so the loader can refuse an unknown tag
//! without knowing the judges; the checklist (`checklist::Item`) and the vendor
//! scorecard (`giftcard::scorecard::Question`) give them their meaning, one enum
//! variant per id in the order listed here.

/// The checklist's item ids, in the checklist's order.
pub const CHECKLIST_ITEMS: [&str; 13] = [
    "feature-flag",
    "partner-permission",
    "key-type",
    "scopes-minimized",
    "retry-logic",
    "reconcile-by-reference",
    "notes",
    "pagination",
    "rate-limit-handling",
    "error-branches",
    "separate-keys",
    "keys-in-secret-store",
    "partner-keys-server-side",
];

/// The vendor scorecard's question ids, in report order.
pub const VENDOR_QUESTIONS: [&str; 3] = ["idempotency", "webhooks", "reconciliation"];

/// The tag that marks a probe as optional: `vendor: [idempotency, optional]`.
pub const OPTIONAL_TAG: &str = "optional";

/// True for a valid `vendor:` tag: a question id or [`OPTIONAL_TAG`].
pub fn is_vendor_tag(tag: &str) -> bool {
    tag == OPTIONAL_TAG || VENDOR_QUESTIONS.contains(&tag)
}
