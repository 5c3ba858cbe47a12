//! Orders (contract Part B): idempotent creation, lookup by id and by the client's
//! own reference.

use std::sync::Arc;
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::Utc;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use super::api::{authorized, error, json_response, unauthorized, Refusal, Shared};
use super::state::{KeyEntry, Order};
use super::webhooks::{draw, spawn_lifecycle};
use super::{VendorOptions, VendorQuirk};

/// Sorts object keys recursively, so two bodies that differ only in key order
/// count as the same request.
fn canonical(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            let mut out = Map::new();
            for k in keys {
                out.insert(k.clone(), canonical(&m[k]));
            }
            Value::Object(out)
        }
        Value::Array(a) => Value::Array(a.iter().map(canonical).collect()),
        other => other.clone(),
    }
}

fn fingerprint(v: &Value) -> [u8; 32] {
    let bytes = serde_json::to_vec(&canonical(v)).unwrap_or_default();
    Sha256::digest(bytes).into()
}

/// Releases an in-flight idempotency key if its request never finished (the
/// client went away mid-request), so the key does not stay "in progress" forever.
struct InFlight {
    shared: Arc<Shared>,
    key: Option<String>,
}

impl Drop for InFlight {
    fn drop(&mut self) {
        if let Some(k) = self.key.take() {
            let mut st = self.shared.state.lock();
            if matches!(st.keys.get(&k), Some(KeyEntry::InFlight { .. })) {
                st.keys.remove(&k);
            }
        }
    }
}

struct NewOrder {
    key: Option<String>,
    reference: Option<String>,
    customer_id: String,
    brand_id: String,
    amount: Value,
    currency: String,
}

/// Where the key is read from: the body, or a header (whose value, if any, is given).
enum KeyFrom {
    Body,
    Header(String, Option<String>),
}

fn parse_order(body: &Value, from: KeyFrom, require_key: bool) -> Result<NewOrder, Refusal> {
    let Some(obj) = body.as_object() else {
        return Err(Box::new(error(
            StatusCode::BAD_REQUEST,
            "INVALID_REQUEST",
            "the body must be a JSON object",
        )));
    };
    let key = match (obj.get("idempotency_key"), from) {
        // A vendor taking the key in a header refuses it in the body, as Stripe
        // refuses unknown parameters: a client sending it there is not protected.
        (Some(_), KeyFrom::Header(h, _)) => {
            return Err(Box::new(error(
                StatusCode::BAD_REQUEST,
                "INVALID_REQUEST",
                &format!(
                    "unknown field idempotency_key: send the idempotency key in the {h} header"
                ),
            )))
        }
        (None, KeyFrom::Header(_, value)) => {
            value.filter(|k| !k.trim().is_empty() && k.len() <= 255)
        }
        (None | Some(Value::Null), KeyFrom::Body) => None,
        (Some(Value::String(s)), KeyFrom::Body) if !s.trim().is_empty() && s.len() <= 255 => {
            Some(s.clone())
        }
        (Some(_), KeyFrom::Body) => {
            return Err(Box::new(error(
                StatusCode::UNPROCESSABLE_ENTITY,
                "VALIDATION_FAILED",
                "idempotency_key must be a non-empty string of at most 255 characters",
            )))
        }
    };
    if require_key && key.is_none() {
        return Err(Box::new(error(
            StatusCode::BAD_REQUEST,
            "IDEMPOTENCY_KEY_REQUIRED",
            "idempotency_key is required: retries must not create a second order",
        )));
    }
    let text = |name: &str| -> Result<String, Refusal> {
        match obj.get(name) {
            Some(Value::String(s)) if !s.trim().is_empty() && s.len() <= 255 => Ok(s.clone()),
            _ => Err(Box::new(error(
                StatusCode::UNPROCESSABLE_ENTITY,
                "VALIDATION_FAILED",
                &format!("{name} must be a non-empty string"),
            ))),
        }
    };
    let customer_id = text("customer_id")?;
    let brand_id = text("brand_id")?;
    let currency = text("currency")?;
    let amount = match obj.get("amount") {
        Some(Value::Number(n)) if n.as_f64().is_some_and(|f| f > 0.0 && f < 1e9) => {
            Value::Number(n.clone())
        }
        _ => {
            return Err(Box::new(error(
                StatusCode::UNPROCESSABLE_ENTITY,
                "VALIDATION_FAILED",
                "amount must be a positive number",
            )))
        }
    };
    let reference = match obj.get("reference") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.len() <= 255 => Some(s.clone()),
        Some(_) => {
            return Err(Box::new(error(
                StatusCode::UNPROCESSABLE_ENTITY,
                "VALIDATION_FAILED",
                "reference must be a string of at most 255 characters",
            )))
        }
    };
    Ok(NewOrder {
        key,
        reference,
        customer_id,
        brand_id,
        amount,
        currency,
    })
}

/// `POST /api/v1/orders`: an order, created once per idempotency key. A replay of a
/// finished key gets the stored answer byte for byte; a key in flight or reused with
/// another body is refused.
pub(super) async fn create_order(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if !authorized(&headers) {
        return unauthorized();
    }
    let Ok(parsed) = serde_json::from_slice::<Value>(&body) else {
        return error(
            StatusCode::BAD_REQUEST,
            "INVALID_JSON",
            "the body is not JSON",
        );
    };
    let opts = &shared.opts;
    let honour_keys = !opts.has(VendorQuirk::NoIdempotency);
    let require = honour_keys && opts.dialect.requires_key();
    let new = match parse_order(&parsed, key_source(opts, &headers), require) {
        Ok(n) => n,
        Err(r) => return *r,
    };
    let fp = fingerprint(&parsed);
    let key = new.key.clone().filter(|_| honour_keys);
    let mut guard = match claim_key(&shared, key.as_deref(), fp) {
        Ok(g) => g,
        Err(r) => return *r,
    };
    // The key is held while the "payment" is processed: a concurrent duplicate
    // meets IDEMPOTENCY_IN_PROGRESS rather than creating a second order.
    tokio::time::sleep(opts.processing).await;
    let (order, bytes) = store_order(&shared, new, key, fp);
    guard.key = None;
    spawn_lifecycle(shared.clone(), &order);
    json_response(opts.dialect.created_status(), bytes, false)
}

/// Where this mock reads the idempotency key: the body, or the dialect's (or the
/// configured) header, with the value the request sent there.
fn key_source(opts: &VendorOptions, headers: &HeaderMap) -> KeyFrom {
    match opts.key_header() {
        None => KeyFrom::Body,
        Some(h) => KeyFrom::Header(
            h.to_string(),
            headers
                .get(h)
                .and_then(|v| v.to_str().ok())
                .map(|v| v.trim().to_string()),
        ),
    }
}

/// Takes an idempotency key for this request (`None`: no key, nothing to hold). A key
/// already used answers now: the stored response for the same body, 409 otherwise.
fn claim_key(shared: &Arc<Shared>, key: Option<&str>, fp: [u8; 32]) -> Result<InFlight, Refusal> {
    let mut guard = InFlight {
        shared: shared.clone(),
        key: None,
    };
    let Some(key) = key else {
        return Ok(guard);
    };
    let opts = &shared.opts;
    let mut st = shared.state.lock();
    st.expire_keys(opts.key_retention());
    let same = |other: &[u8; 32]| *other == fp || opts.has(VendorQuirk::IdempotencyIgnoresBody);
    match st.keys.get(key) {
        Some(KeyEntry::Done {
            fingerprint,
            status,
            body,
            ..
        }) => {
            if !same(fingerprint) {
                return Err(Box::new(error(
                    StatusCode::CONFLICT,
                    "IDEMPOTENCY_KEY_REUSED",
                    "this idempotency key was used with a different request body",
                )));
            }
            Err(Box::new(json_response(*status, body.clone(), true)))
        }
        Some(KeyEntry::InFlight { fingerprint }) => {
            let code = if same(fingerprint) {
                "IDEMPOTENCY_IN_PROGRESS"
            } else {
                "IDEMPOTENCY_KEY_REUSED"
            };
            Err(Box::new(error(
                StatusCode::CONFLICT,
                code,
                "a request with this idempotency key is being processed; retry later",
            )))
        }
        None => {
            st.keys
                .insert(key.to_string(), KeyEntry::InFlight { fingerprint: fp });
            guard.key = Some(key.to_string());
            Ok(guard)
        }
    }
}

/// Creates the order (`pending`), and remembers its answer under `key` (the key the
/// request holds, when keys are honoured). The order and its body as sent.
fn store_order(
    shared: &Shared,
    new: NewOrder,
    key: Option<String>,
    fp: [u8; 32],
) -> (Order, Bytes) {
    let opts = &shared.opts;
    let now = Utc::now();
    let drop_rate = opts.drop_rate();
    let mut st = shared.state.lock();
    st.seq += 1;
    let seq = st.seq;
    let id = format!("ord_{}", &uuid::Uuid::new_v4().simple().to_string()[..16]);
    // Drawn on the mock's order sequence, not on the (random) key: the same
    // seed drops the same orders (the n-th, the m-th) in every run.
    let drop_webhooks = drop_rate > 0.0 && draw(opts.seed, &seq.to_string()) < drop_rate;
    let order = Order {
        seq,
        id,
        idempotency_key: new.key,
        reference: new.reference,
        customer_id: new.customer_id,
        brand_id: new.brand_id,
        amount: new.amount,
        currency: new.currency,
        status: "pending",
        created_at: now,
        updated_at: now,
        drop_webhooks,
    };
    let bytes = Bytes::from(serde_json::to_vec(&order.json()).unwrap_or_default());
    st.insert_order(order.clone(), opts.max_orders);
    if let Some(key) = key {
        let done = KeyEntry::Done {
            fingerprint: fp,
            status: opts.dialect.created_status(),
            body: bytes.clone(),
            at: Instant::now(),
        };
        st.remember_key(key, done, opts.max_orders);
    }
    (order, bytes)
}
pub(super) async fn get_order(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if !authorized(&headers) {
        return unauthorized();
    }
    let st = shared.state.lock();
    match st.by_id.get(&id).and_then(|s| st.orders.get(s)) {
        Some(o) => Json(o.json()).into_response(),
        None => error(StatusCode::NOT_FOUND, "NOT_FOUND", "no such order"),
    }
}

/// Orders carrying `reference` (all of them under `reference-filter-ignored`).
fn by_reference(shared: &Shared, reference: Option<&str>) -> Response {
    let st = shared.state.lock();
    let filter = !shared.opts.has(VendorQuirk::ReferenceFilterIgnored);
    let data: Vec<Value> = st
        .orders
        .values()
        .filter(|o| !filter || reference.is_none() || o.reference.as_deref() == reference)
        .take(500)
        .map(Order::json)
        .collect();
    Json(json!({"data": data})).into_response()
}

/// `GET /api/v1/orders?reference=R`: the client's orders by its own reference.
pub(super) async fn list_orders(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    if !authorized(&headers) {
        return unauthorized();
    }
    let reference = url::form_urlencoded::parse(q.unwrap_or_default().as_bytes())
        .find(|(k, _)| k == "reference")
        .map(|(_, v)| v.into_owned());
    by_reference(&shared, reference.as_deref())
}

/// `GET /api/v1/orders/by-reference/{ref}`: the same lookup with the reference in the path.
pub(super) async fn orders_by_reference(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Path(reference): Path<String>,
) -> Response {
    if !authorized(&headers) {
        return unauthorized();
    }
    by_reference(&shared, Some(&reference))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_differing_in_key_order_match() {
        let a: Value = serde_json::from_str(r#"{"a":1,"b":{"c":2,"d":3}}"#).unwrap();
        let b: Value = serde_json::from_str(r#"{"b":{"d":3,"c":2},"a":1}"#).unwrap();
        assert_eq!(fingerprint(&a), fingerprint(&b));
    }
}
