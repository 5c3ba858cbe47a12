//! The vendor mock's published test data: its API key, webhook secret and brands, and
//! the inputs and facts a scenario run against it gets.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use crate::giftcard::dialect::VendorDialect;
use crate::signature::Scheme;
use crate::target::Inputs;

/// The mock's API key (a published test value, like the Agent API mock's fixture keys).
pub const FIXTURE_API_KEY: &str = "gc_test_4fJ8kQ2mZr7Lx0VbN3sW9pYd";
/// The mock's webhook signing secret (a published test value).
/// `whsec_` and base64, so it serves every dialect: the plain HMAC and Stripe
/// schemes use it as written, Standard Webhooks base64-decodes what follows `whsec_`.
pub const FIXTURE_WEBHOOK_SECRET: &str = "whsec_zzdNRZY2pjKpXyKWIUXUXSs2Tc6F6PER";
/// A brand whose orders end `fulfilled`.
pub const BRAND_FULFILLED: &str = "GC_DEMO";
/// A brand whose orders end `failed` (provokes the failed status).
pub const BRAND_FAILED: &str = "GC_DECLINED";
/// A brand whose orders are fulfilled, then `refunded`.
pub const BRAND_REFUNDED: &str = "GC_REFUNDED";

/// The keys a scenario uses against the mock: `vendor` (API key) and `webhook_secret`.
pub fn fixture_inputs() -> Inputs {
    let mut inputs = Inputs::default();
    inputs.keys.insert("vendor".into(), FIXTURE_API_KEY.into());
    inputs
        .keys
        .insert("webhook_secret".into(), FIXTURE_WEBHOOK_SECRET.into());
    inputs
}

/// The facts a target file would declare for the mock: what to order, and the
/// brands that provoke each final status.
pub fn fixture_facts() -> BTreeMap<String, Value> {
    let mut f = BTreeMap::new();
    f.insert("brand_id".into(), BRAND_FULFILLED.into());
    f.insert("brand_failed".into(), BRAND_FAILED.into());
    f.insert("brand_refunded".into(), BRAND_REFUNDED.into());
    f.insert("amount".into(), json!(25));
    f.insert("currency".into(), "USD".into());
    f.insert("customer_id".into(), "cust_launchgate".into());
    // The mock delivers within a second (and retries after its backoff), but on a
    // loaded machine (CI running several vendor runs at once on two cores) a retry
    // behind forty deliveries took over 3 s: keep the scenarios' own 10 s.
    f
}

/// A listing of the fixture key, secret and brands, as `launchgate mock --api giftcard` prints.
pub fn fixture_summary(dialect: VendorDialect) -> String {
    let key = dialect
        .key_header()
        .map_or("the body field idempotency_key".to_string(), |h| {
            format!("the {h} header")
        });
    let signed = match dialect.scheme() {
        Scheme::StandardWebhooks => "webhook-id/-timestamp/-signature, Standard Webhooks",
        Scheme::Stripe => "Stripe-Signature: t=…,v1=…",
        Scheme::Hex | Scheme::Base64 => "X-Signature-256: hex HMAC-SHA256 of the raw body",
    };
    format!(
        "dialect: {} (target file: {})\nAPI key (Authorization: Bearer):  {FIXTURE_API_KEY}\nidempotency key in: {key}\nwebhook secret: {FIXTURE_WEBHOOK_SECRET} ({signed})\nbrands: {BRAND_FULFILLED} (fulfilled), {BRAND_FAILED} (failed), {BRAND_REFUNDED} (fulfilled, then refunded)\n",
        dialect.id(),
        match dialect {
            VendorDialect::PartB => "docs/vendor-target.yaml",
            VendorDialect::StripeLike => "docs/vendors/stripe-like.yaml",
            VendorDialect::StandardWebhooks => "docs/vendors/standard-webhooks.yaml",
        }
    )
}
