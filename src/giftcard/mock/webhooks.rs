//! Signed webhooks (contract Part B): one event per status change, delivered to every
//! registered URL with bounded exponential backoff and logged for the control route.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::Utc;
use serde_json::{json, Value};

use super::api::{authorized, error, unauthorized, valid_url, Shared};
use super::fixtures::{BRAND_FAILED, BRAND_REFUNDED, FIXTURE_WEBHOOK_SECRET};
use super::state::{ts, DeliveryLog, Order};
use super::{VendorOptions, VendorQuirk};
use crate::signature::{self, Scheme};

/// A reproducible draw in 0..1 from the seed and a text (FNV-1a), so which
/// orders lose their webhooks does not depend on request interleaving.
pub(super) fn draw(seed: u64, text: &str) -> f64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ seed.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    for b in text.as_bytes() {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    // Mix the low bits up, so nearby texts do not draw nearby values.
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    (h >> 11) as f64 / (1u64 << 53) as f64
}

/// pending → fulfilled (or failed), then refunded for the refund brand; one
/// webhook per change.
pub(super) fn spawn_lifecycle(shared: Arc<Shared>, order: &Order) {
    let seq = order.seq;
    let steps: &'static [&'static str] = match order.brand_id.as_str() {
        BRAND_FAILED => &["failed"],
        BRAND_REFUNDED => &["fulfilled", "refunded"],
        _ => &["fulfilled"],
    };
    tokio::spawn(async move {
        for status in steps {
            tokio::time::sleep(shared.opts.fulfil_after).await;
            if !transition(&shared, seq, status) {
                return;
            }
        }
    });
}

/// Applies a status change and sends its webhook; false when the order is gone (reset, evicted).
pub(super) fn transition(shared: &Arc<Shared>, seq: u64, status: &'static str) -> bool {
    let opts = &shared.opts;
    let now = Utc::now();
    let (event_id, order_id, type_, body, signed, urls, dropped) = {
        let mut st = shared.state.lock();
        let Some(order) = st.orders.get_mut(&seq) else {
            return false;
        };
        order.status = status;
        order.updated_at = now;
        let order_json = order.json();
        let order_id = order.id.clone();
        let dropped = order.drop_webhooks;
        let event_id = format!("evt_{}", &uuid::Uuid::new_v4().simple().to_string()[..20]);
        let type_ = format!("order.{status}");
        let event = json!({
            "id": event_id,
            "type": type_,
            "created_at": ts(now),
            "data": { "order": order_json },
        });
        let compact = serde_json::to_vec(&event).unwrap_or_default();
        // The quirk: what is sent is not what was signed.
        let body = if opts.has(VendorQuirk::SignatureOverReserializedJson) {
            serde_json::to_vec_pretty(&event).unwrap_or_else(|_| compact.clone())
        } else {
            compact.clone()
        };
        let urls = st.webhooks.clone();
        for url in &urls {
            st.log.push_back(DeliveryLog {
                event_id: event_id.clone(),
                order_id: order_id.clone(),
                type_: type_.clone(),
                url: url.clone(),
                dropped,
                attempts: Vec::new(),
                delivered: false,
            });
        }
        while st.log.len() > opts.log_capacity.max(1) {
            st.log.pop_front();
        }
        (event_id, order_id, type_, body, compact, urls, dropped)
    };
    let _ = (order_id, type_);
    if dropped {
        return true;
    }
    let body = Bytes::from(body);
    let signed = Bytes::from(signed);
    for url in urls {
        let shared = shared.clone();
        let body = body.clone();
        let signed = signed.clone();
        let event_id = event_id.clone();
        tokio::spawn(async move { deliver(shared, url, event_id, body, signed).await });
    }
    true
}

/// The headers one delivery attempt carries in the mock's dialect: signed over
/// `signed` (the bytes sent, unless the re-serialising quirk is on) at Unix time `t`.
pub(super) fn delivery_headers(
    opts: &VendorOptions,
    event_id: &str,
    signed: &[u8],
    t: i64,
) -> Vec<(&'static str, String)> {
    let secret = FIXTURE_WEBHOOK_SECRET;
    let sign = !opts.has(VendorQuirk::UnsignedWebhooks);
    let mut h = Vec::new();
    match opts.dialect.scheme() {
        Scheme::StandardWebhooks => {
            h.push(("webhook-id", event_id.to_string()));
            h.push(("webhook-timestamp", t.to_string()));
            if sign {
                // The fixture secret is whsec_ + base64, so signing cannot fail.
                if let Ok(sig) = signature::sign_standard(secret, event_id, t, signed) {
                    h.push(("webhook-signature", sig));
                }
            }
        }
        Scheme::Stripe => {
            if sign {
                h.push((
                    "stripe-signature",
                    signature::sign_stripe(secret.as_bytes(), t, signed),
                ));
            }
        }
        Scheme::Hex | Scheme::Base64 => {
            h.push(("x-webhook-timestamp", t.to_string()));
            if sign {
                h.push((
                    "x-signature-256",
                    signature::sign(secret.as_bytes(), signed),
                ));
            }
        }
    }
    h
}

pub(super) async fn deliver(
    shared: Arc<Shared>,
    url: String,
    event_id: String,
    body: Bytes,
    signed: Bytes,
) {
    let opts = &shared.opts;
    for attempt in 0..opts.webhook_attempts {
        let status = {
            let Ok(_permit) = shared.deliveries.acquire().await else {
                return;
            };
            let mut req = shared
                .http
                .post(&url)
                .header("content-type", "application/json")
                .header("user-agent", "launchgate-vendor-mock")
                .body(body.clone());
            for (n, v) in delivery_headers(opts, &event_id, &signed, Utc::now().timestamp()) {
                req = req.header(n, v);
            }
            match req.send().await {
                Ok(r) => r.status().as_u16(),
                Err(_) => 0,
            }
        };
        let ok = (200..300).contains(&status);
        {
            let mut st = shared.state.lock();
            if let Some(l) = st
                .log
                .iter_mut()
                .rev()
                .find(|l| l.event_id == event_id && l.url == url)
            {
                l.attempts.push(status);
                l.delivered = ok;
            }
        }
        if ok || opts.has(VendorQuirk::NoWebhookRetry) {
            return;
        }
        let wait = opts.webhook_backoff.saturating_mul(1u32 << attempt.min(16));
        if attempt + 1 < opts.webhook_attempts {
            tokio::time::sleep(wait).await;
        }
    }
}

pub(super) async fn register_webhook(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if !authorized(&headers) {
        return unauthorized();
    }
    let url = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|v| v.get("url").and_then(Value::as_str).map(str::to_string));
    let Some(url) = url else {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "VALIDATION_FAILED",
            "send {\"url\": \"https://...\"}",
        );
    };
    if let Err(e) = valid_url(&url) {
        return error(StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_FAILED", &e);
    }
    let mut st = shared.state.lock();
    if !st.webhooks.contains(&url) {
        if st.webhooks.len() >= 20 {
            return error(
                StatusCode::CONFLICT,
                "TOO_MANY_WEBHOOKS",
                "at most 20 webhook URLs",
            );
        }
        st.webhooks.push(url.clone());
    }
    (
        StatusCode::CREATED,
        Json(json!({ "url": url, "registered": st.webhooks })),
    )
        .into_response()
}

pub(super) async fn list_webhooks(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
) -> Response {
    if !authorized(&headers) {
        return unauthorized();
    }
    let st = shared.state.lock();
    Json(json!({ "registered": st.webhooks })).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_are_reproducible_and_spread() {
        assert_eq!(draw(7, "k1"), draw(7, "k1"));
        assert_ne!(draw(7, "k1"), draw(8, "k1"));
        let hits = (0..10_000)
            .filter(|i| draw(1, &format!("key-{i}")) < 0.1)
            .count();
        assert!((800..1200).contains(&hits), "{hits}");
    }
}
