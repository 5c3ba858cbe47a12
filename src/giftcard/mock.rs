//! The embedded gift-card vendor mock: contract Part B, as a production-grade
//! vendor would do it, with [`VendorQuirk`]s that each break one answer.
//!
//! Orders are idempotent by key (replays are byte-identical, a reused key with
//! another body is refused, concurrent duplicates never create two orders);
//! every status change is delivered as a signed webhook to each registered URL
//! with bounded exponential backoff; reconciliation lists one record per order,
//! paginated by cursor. State sits behind one lock that is never held across an
//! await; orders, idempotency keys and the delivery log are bounded.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use parking_lot::Mutex;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use super::dialect::{Paging, VendorDialect};
use super::quirk::{VendorQuirk, VendorQuirkArg};
use crate::serve::{BindError, Server, ServerLimits};
use crate::signature::{self, Scheme};
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

/// How the vendor mock behaves. `Default` is the faithful Part B vendor.
#[derive(Debug, Clone)]
pub struct VendorOptions {
    /// How the mock speaks: Part B, Stripe-like or Standard Webhooks.
    pub dialect: VendorDialect,
    /// The header carrying the idempotency key, instead of the dialect's (e.g. `PayPal-Request-Id`).
    pub key_header: Option<String>,
    /// Quirks switched on (with the drop rate for `webhook-drop`).
    pub quirks: Vec<VendorQuirkArg>,
    /// Seed for the webhook-drop dice.
    pub seed: u64,
    /// URLs that receive webhooks from the start (more via `POST /api/v1/webhooks`).
    pub webhook_urls: Vec<String>,
    /// The first retry waits this long; each further one twice as long.
    pub webhook_backoff: Duration,
    /// Delivery attempts per event and URL (first try included).
    pub webhook_attempts: u32,
    /// How long an order stays `pending` before its final status.
    pub fulfil_after: Duration,
    /// How long a request holds its idempotency key before the order exists (so
    /// concurrent duplicates meet an in-flight key).
    pub processing: Duration,
    /// How long an idempotency key is remembered (24 h in Part B).
    pub retention: Duration,
    /// Orders kept; the oldest (and its key) are forgotten first.
    pub max_orders: usize,
    /// Delivery log entries kept.
    pub log_capacity: usize,
}

impl Default for VendorOptions {
    fn default() -> Self {
        VendorOptions {
            dialect: VendorDialect::default(),
            key_header: None,
            quirks: Vec::new(),
            seed: 0,
            webhook_urls: Vec::new(),
            webhook_backoff: Duration::from_millis(500),
            webhook_attempts: 5,
            fulfil_after: Duration::from_millis(100),
            processing: Duration::from_millis(20),
            retention: Duration::from_secs(24 * 3600),
            max_orders: 50_000,
            log_capacity: 10_000,
        }
    }
}

impl VendorOptions {
    fn has(&self, q: VendorQuirk) -> bool {
        self.quirks.iter().any(|a| a.quirk == q)
    }

    /// The header carrying the idempotency key, or `None` for the body field.
    fn key_header(&self) -> Option<&str> {
        self.key_header
            .as_deref()
            .or_else(|| self.dialect.key_header())
    }

    /// How long a key is remembered (`forgets-keys` shortens it).
    fn key_retention(&self) -> Duration {
        self.quirks
            .iter()
            .filter_map(|a| a.after)
            .fold(self.retention, Duration::min)
    }

    fn drop_rate(&self) -> f64 {
        self.quirks
            .iter()
            .filter(|a| a.quirk == VendorQuirk::WebhookDrop)
            .filter_map(|a| a.rate)
            .fold(0.0, f64::max)
    }
}

#[derive(Debug, Clone)]
struct Order {
    seq: u64,
    id: String,
    idempotency_key: Option<String>,
    reference: Option<String>,
    customer_id: String,
    brand_id: String,
    amount: Value,
    currency: String,
    status: &'static str,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    drop_webhooks: bool,
}

fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

impl Order {
    fn json(&self) -> Value {
        json!({
            "id": self.id,
            "idempotency_key": self.idempotency_key,
            "reference": self.reference,
            "customer_id": self.customer_id,
            "brand_id": self.brand_id,
            "amount": self.amount,
            "currency": self.currency,
            "status": self.status,
            "created_at": ts(self.created_at),
            "updated_at": ts(self.updated_at),
        })
    }
}

#[derive(Debug)]
enum KeyEntry {
    InFlight {
        fingerprint: [u8; 32],
    },
    Done {
        fingerprint: [u8; 32],
        status: u16,
        body: Bytes,
        at: Instant,
    },
}

/// One event's deliveries to one URL, for `GET /__launchgate/webhooks`.
#[derive(Debug, Clone, serde::Serialize)]
struct DeliveryLog {
    event_id: String,
    order_id: String,
    #[serde(rename = "type")]
    type_: String,
    url: String,
    dropped: bool,
    /// HTTP status per attempt (0: no response).
    attempts: Vec<u16>,
    delivered: bool,
}

#[derive(Debug, Default)]
struct VState {
    seq: u64,
    orders: BTreeMap<u64, Order>,
    by_id: HashMap<String, u64>,
    keys: HashMap<String, KeyEntry>,
    key_order: VecDeque<(String, Instant)>,
    webhooks: Vec<String>,
    log: VecDeque<DeliveryLog>,
}

struct Shared {
    state: Mutex<VState>,
    opts: VendorOptions,
    http: reqwest::Client,
    deliveries: tokio::sync::Semaphore,
}

/// Why the vendor mock could not start.
#[derive(Debug, thiserror::Error)]
pub enum VendorError {
    /// An option is out of range or malformed (no delivery attempt, a webhook URL that is none).
    #[error("invalid option: {0}")]
    Options(String),
    /// The listening socket could not be bound.
    #[error(transparent)]
    Bind(#[from] BindError),
}

/// A running vendor mock.
pub struct VendorMock {
    server: Server,
    shared: Arc<Shared>,
}

impl VendorMock {
    /// Starts the vendor mock on `addr` (port 0: any free port) on the current runtime.
    pub async fn start(opts: VendorOptions, addr: SocketAddr) -> Result<VendorMock, VendorError> {
        if opts.webhook_attempts == 0 {
            return Err(VendorError::Options(
                "webhook_attempts must be at least 1".into(),
            ));
        }
        let http = crate::http::control_client(Duration::from_secs(5))
            .map_err(|e| VendorError::Options(e.to_string()))?;
        let mut state = VState::default();
        for u in &opts.webhook_urls {
            valid_url(u).map_err(VendorError::Options)?;
            state.webhooks.push(u.clone());
        }
        let shared = Arc::new(Shared {
            state: Mutex::new(state),
            opts,
            http,
            deliveries: tokio::sync::Semaphore::new(32),
        });
        let app = Router::new()
            .route("/api/v1/orders", post(create_order).get(list_orders))
            .route("/api/v1/orders/{id}", get(get_order))
            .route(
                "/api/v1/orders/by-reference/{reference}",
                get(orders_by_reference),
            )
            .route("/api/v1/reconciliation", get(reconciliation))
            .route(
                "/api/v1/webhooks",
                post(register_webhook).get(list_webhooks),
            )
            .route("/__launchgate/reset", post(control_reset))
            .route("/__launchgate/webhooks", get(control_webhooks))
            .route("/__launchgate/fixtures", get(control_fixtures))
            .fallback(not_found)
            .layer(axum::middleware::map_response_with_state(
                shared.clone(),
                dialect_errors,
            ))
            .layer(axum::extract::DefaultBodyLimit::max(64 * 1024))
            .with_state(shared.clone());
        let server = Server::start(addr, app, ServerLimits::default()).await?;
        Ok(VendorMock { server, shared })
    }

    /// The server root (the API lives under `/api/v1`).
    pub fn base_url(&self) -> &str {
        self.server.base_url()
    }

    /// The listening address.
    pub fn local_addr(&self) -> SocketAddr {
        self.server.local_addr()
    }

    /// Registers a webhook URL, as `POST /api/v1/webhooks` does.
    pub fn register_webhook(&self, url: &str) -> Result<(), String> {
        valid_url(url)?;
        let mut st = self.shared.state.lock();
        if !st.webhooks.iter().any(|u| u == url) {
            st.webhooks.push(url.to_string());
        }
        Ok(())
    }

    /// Stops accepting connections and waits for in-flight requests (also done, without
    /// the wait, when the mock is dropped).
    pub async fn shutdown(self) {
        self.server.shutdown().await;
    }
}

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

fn valid_url(u: &str) -> Result<(), String> {
    let parsed = url::Url::parse(u).map_err(|e| format!("`{u}` is not a URL: {e}"))?;
    if matches!(parsed.scheme(), "http" | "https") {
        Ok(())
    } else {
        Err(format!("`{u}` must be http or https"))
    }
}

/// An early answer from a parsing helper: boxed, so `Result`s stay small.
type Refusal = Box<Response>;

fn error(status: StatusCode, code: &str, message: &str) -> Response {
    (status, Json(json!({ "code": code, "message": message }))).into_response()
}

/// Rewrites Part B's `{code, message}` errors into the dialect's shape: Stripe's
/// `{error: {type, code, message}}`, with 400 for a reused key. One place, so
/// every handler speaks Part B and the dialect is an option, not a copy.
async fn dialect_errors(State(shared): State<Arc<Shared>>, r: Response) -> Response {
    if !shared.opts.dialect.stripe_errors() || r.status().is_success() {
        return r;
    }
    let (parts, body) = r.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, 64 * 1024).await else {
        return (parts.status, Bytes::new()).into_response();
    };
    let v: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    let code = v["code"].as_str().unwrap_or("NOT_FOUND");
    let (status, type_) = match code {
        "IDEMPOTENCY_KEY_REUSED" => (StatusCode::BAD_REQUEST, "idempotency_error"),
        "IDEMPOTENCY_IN_PROGRESS" => (StatusCode::CONFLICT, "idempotency_error"),
        "UNAUTHENTICATED" => (parts.status, "authentication_error"),
        _ => (parts.status, "invalid_request_error"),
    };
    let body = json!({"error": {
        "type": type_,
        "code": code.to_ascii_lowercase(),
        "message": v["message"],
    }});
    (status, Json(body)).into_response()
}

fn authorized(headers: &HeaderMap) -> bool {
    headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .is_some_and(|k| k.trim() == FIXTURE_API_KEY)
}

fn unauthorized() -> Response {
    error(
        StatusCode::UNAUTHORIZED,
        "UNAUTHENTICATED",
        "send Authorization: Bearer <API key>",
    )
}

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

/// A reproducible draw in 0..1 from the seed and a text (FNV-1a), so which
/// orders lose their webhooks does not depend on request interleaving.
fn draw(seed: u64, text: &str) -> f64 {
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

fn json_response(status: u16, body: Bytes, replayed: bool) -> Response {
    let mut r = (StatusCode::from_u16(status).unwrap_or(StatusCode::OK), body).into_response();
    r.headers_mut().insert(
        axum::http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if replayed {
        r.headers_mut()
            .insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    r
}

impl VState {
    /// Forgets idempotency keys past the retention window.
    fn expire_keys(&mut self, retention: Duration) {
        while let Some((k, at)) = self.key_order.front() {
            if at.elapsed() < retention {
                break;
            }
            let k = k.clone();
            self.key_order.pop_front();
            if matches!(self.keys.get(&k), Some(KeyEntry::Done { at, .. }) if at.elapsed() >= retention)
            {
                self.keys.remove(&k);
            }
        }
    }
}

async fn create_order(
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
    let from = match opts.key_header() {
        None => KeyFrom::Body,
        Some(h) => KeyFrom::Header(
            h.to_string(),
            headers
                .get(h)
                .and_then(|v| v.to_str().ok())
                .map(|v| v.trim().to_string()),
        ),
    };
    let require = honour_keys && opts.dialect.requires_key();
    let new = match parse_order(&parsed, from, require) {
        Ok(n) => n,
        Err(r) => return *r,
    };
    let fp = fingerprint(&parsed);
    let mut guard = InFlight {
        shared: shared.clone(),
        key: None,
    };
    if let (true, Some(key)) = (honour_keys, &new.key) {
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
                    return error(
                        StatusCode::CONFLICT,
                        "IDEMPOTENCY_KEY_REUSED",
                        "this idempotency key was used with a different request body",
                    );
                }
                return json_response(*status, body.clone(), true);
            }
            Some(KeyEntry::InFlight { fingerprint }) => {
                let code = if same(fingerprint) {
                    "IDEMPOTENCY_IN_PROGRESS"
                } else {
                    "IDEMPOTENCY_KEY_REUSED"
                };
                return error(
                    StatusCode::CONFLICT,
                    code,
                    "a request with this idempotency key is being processed; retry later",
                );
            }
            None => {
                st.keys
                    .insert(key.clone(), KeyEntry::InFlight { fingerprint: fp });
                guard.key = Some(key.clone());
            }
        }
    }
    // The key is held while the "payment" is processed: a concurrent duplicate
    // meets IDEMPOTENCY_IN_PROGRESS rather than creating a second order.
    tokio::time::sleep(opts.processing).await;

    let now = Utc::now();
    let drop_rate = opts.drop_rate();
    let (order, bytes) = {
        let mut st = shared.state.lock();
        st.seq += 1;
        let seq = st.seq;
        let id = format!("ord_{}", &uuid::Uuid::new_v4().simple().to_string()[..16]);
        // Drawn on the mock's order sequence, not on the (random) key: the same
        // seed drops the same orders (the n-th, the m-th) in every run.
        let drop_webhooks = drop_rate > 0.0 && draw(opts.seed, &seq.to_string()) < drop_rate;
        let order = Order {
            seq,
            id: id.clone(),
            idempotency_key: new.key.clone(),
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
        st.by_id.insert(id, seq);
        st.orders.insert(seq, order.clone());
        while st.orders.len() > opts.max_orders.max(1) {
            if let Some((_, old)) = st.orders.pop_first() {
                st.by_id.remove(&old.id);
                if let Some(k) = &old.idempotency_key {
                    st.keys.remove(k);
                }
            }
        }
        if let (true, Some(key)) = (honour_keys, &new.key) {
            st.keys.insert(
                key.clone(),
                KeyEntry::Done {
                    fingerprint: fp,
                    status: opts.dialect.created_status(),
                    body: bytes.clone(),
                    at: Instant::now(),
                },
            );
            st.key_order.push_back((key.clone(), Instant::now()));
            // The key map is bounded like the orders.
            while st.key_order.len() > opts.max_orders.max(1) {
                if let Some((k, _)) = st.key_order.pop_front() {
                    st.keys.remove(&k);
                }
            }
        }
        (order, bytes)
    };
    guard.key = None;
    spawn_lifecycle(shared.clone(), &order);
    json_response(opts.dialect.created_status(), bytes, false)
}

/// pending → fulfilled (or failed), then refunded for the refund brand; one
/// webhook per change.
fn spawn_lifecycle(shared: Arc<Shared>, order: &Order) {
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
fn transition(shared: &Arc<Shared>, seq: u64, status: &'static str) -> bool {
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
fn delivery_headers(
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

async fn deliver(shared: Arc<Shared>, url: String, event_id: String, body: Bytes, signed: Bytes) {
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

async fn get_order(
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

fn parse_time(name: &str, v: &str, unix: bool) -> Result<DateTime<Utc>, Refusal> {
    let parsed = if unix {
        v.trim()
            .parse::<i64>()
            .ok()
            .and_then(|s| DateTime::from_timestamp(s, 0))
    } else {
        DateTime::parse_from_rfc3339(v)
            .ok()
            .map(|t| t.with_timezone(&Utc))
    };
    parsed.ok_or_else(|| {
        Box::new(error(
            StatusCode::BAD_REQUEST,
            "INVALID_PARAMETER",
            &format!(
                "{name} must be {}",
                if unix {
                    "Unix seconds"
                } else {
                    "an RFC 3339 timestamp"
                }
            ),
        ))
    })
}

fn bad_param(message: &str) -> Refusal {
    Box::new(error(StatusCode::BAD_REQUEST, "INVALID_PARAMETER", message))
}

/// A reconciliation query, read in the mock's dialect.
#[derive(Default)]
struct Query {
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
    reference: Option<String>,
    /// Records after this order sequence number (cursor, `starting_after`).
    after: u64,
    /// 1-based page (page-number dialect).
    page: usize,
    limit: usize,
}

fn parse_query(st: &VState, d: VendorDialect, q: &str) -> Result<Query, Refusal> {
    let (from_name, to_name) = d.window_params();
    let mut out = Query {
        page: 1,
        limit: 100,
        ..Query::default()
    };
    for (k, v) in url::form_urlencoded::parse(q.as_bytes()) {
        let k = k.as_ref();
        match (k, d.paging()) {
            _ if v.is_empty() => {}
            (k, _) if k == from_name => out.from = Some(parse_time(from_name, &v, d.unix_times())?),
            (k, _) if k == to_name => out.to = Some(parse_time(to_name, &v, d.unix_times())?),
            ("reference", _) => out.reference = Some(v.into_owned()),
            ("cursor", Paging::Cursor) => {
                out.after = v
                    .strip_prefix("c_")
                    .and_then(|n| n.parse::<u64>().ok())
                    .ok_or_else(|| bad_param("cursor must be a value returned as next_cursor"))?;
            }
            ("starting_after", Paging::StartingAfter) => {
                out.after = *st
                    .by_id
                    .get(v.as_ref())
                    .ok_or_else(|| bad_param("starting_after must be the id of a listed record"))?;
            }
            ("page", Paging::Page) => {
                out.page = v
                    .parse::<usize>()
                    .ok()
                    .filter(|p| (1..=1_000_000).contains(p))
                    .ok_or_else(|| bad_param("page must be a number from 1"))?;
            }
            ("limit", Paging::Cursor | Paging::StartingAfter) | ("per_page", Paging::Page) => {
                out.limit = v
                    .parse::<usize>()
                    .ok()
                    .filter(|n| (1..=500).contains(n))
                    .ok_or_else(|| bad_param(&format!("{k} must be between 1 and 500")))?;
            }
            _ => {}
        }
    }
    Ok(out)
}

fn record(o: &Order, echo: bool) -> Value {
    json!({
        "order_id": o.id,
        "idempotency_key": o.idempotency_key,
        "reference": if echo { json!(o.reference) } else { Value::Null },
        "amount": o.amount,
        "currency": o.currency,
        "status": o.status,
        "updated_at": ts(o.updated_at),
    })
}

/// Daily totals: what the article calls a dashboard, not a reconciliation API.
fn aggregated<'a>(orders: impl Iterator<Item = &'a Order>) -> Value {
    let mut days: BTreeMap<(String, String), (u64, f64)> = BTreeMap::new();
    for o in orders {
        let e = days
            .entry((
                o.updated_at.format("%Y-%m-%d").to_string(),
                o.currency.clone(),
            ))
            .or_default();
        e.0 += 1;
        e.1 += o.amount.as_f64().unwrap_or(0.0);
    }
    let data: Vec<Value> = days
        .into_iter()
        .map(|((date, currency), (count, amount))| {
            json!({"date": date, "currency": currency, "count": count, "amount": amount})
        })
        .collect();
    json!({ "data": data, "next_cursor": null, "has_more": false })
}

async fn reconciliation(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    if !authorized(&headers) {
        return unauthorized();
    }
    let opts = &shared.opts;
    if opts.has(VendorQuirk::NoReconciliation) {
        return not_found().await;
    }
    let st = shared.state.lock();
    let q = match parse_query(&st, opts.dialect, &q.unwrap_or_default()) {
        Ok(q) => q,
        Err(r) => return *r,
    };
    let filter_ref = !opts.has(VendorQuirk::ReferenceFilterIgnored);
    let wanted = |o: &Order| {
        q.from.is_none_or(|f| o.updated_at >= f)
            && q.to.is_none_or(|t| o.updated_at < t)
            && (!filter_ref || q.reference.is_none() || o.reference == q.reference)
    };
    if opts.has(VendorQuirk::AggregatedReconciliation) {
        return Json(aggregated(st.orders.values().filter(|o| wanted(o)))).into_response();
    }
    let echo = !opts.has(VendorQuirk::ReferenceNotEchoed);
    let matching = st
        .orders
        .range(q.after.saturating_add(1)..)
        .map(|(_, o)| o)
        .filter(|o| wanted(o));
    let body = match opts.dialect.paging() {
        Paging::Page => {
            let all: Vec<&Order> = matching.collect();
            let total_pages = all.len().div_ceil(q.limit).max(1);
            let data: Vec<Value> = all
                .iter()
                .skip((q.page - 1).saturating_mul(q.limit))
                .take(q.limit)
                .map(|o| record(o, echo))
                .collect();
            json!({"data": data, "page": q.page, "per_page": q.limit, "total_pages": total_pages})
        }
        paging => {
            let mut page: Vec<&Order> = matching.take(q.limit + 1).collect();
            let more = page.len() > q.limit;
            page.truncate(q.limit);
            let data: Vec<Value> = page.iter().map(|o| record(o, echo)).collect();
            if paging == Paging::StartingAfter {
                json!({"object": "list", "data": data, "has_more": more})
            } else {
                let next = more.then(|| page.last().map(|o| format!("c_{}", o.seq)));
                json!({"data": data, "next_cursor": next.flatten()})
            }
        }
    };
    Json(body).into_response()
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
async fn list_orders(
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
async fn orders_by_reference(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Path(reference): Path<String>,
) -> Response {
    if !authorized(&headers) {
        return unauthorized();
    }
    by_reference(&shared, Some(&reference))
}

async fn register_webhook(
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

async fn list_webhooks(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    if !authorized(&headers) {
        return unauthorized();
    }
    let st = shared.state.lock();
    Json(json!({ "registered": st.webhooks })).into_response()
}

async fn control_reset(State(shared): State<Arc<Shared>>) -> Response {
    let mut st = shared.state.lock();
    let webhooks = std::mem::take(&mut st.webhooks);
    let seq = st.seq;
    // Sequence numbers keep growing, so lifecycle tasks of forgotten orders find nothing.
    *st = VState {
        seq,
        webhooks,
        ..VState::default()
    };
    Json(json!({ "reset": true })).into_response()
}

async fn control_webhooks(State(shared): State<Arc<Shared>>) -> Response {
    let st = shared.state.lock();
    let log: Vec<&DeliveryLog> = st.log.iter().collect();
    let dropped: std::collections::BTreeSet<&str> = st
        .log
        .iter()
        .filter(|l| l.dropped)
        .map(|l| l.order_id.as_str())
        .collect();
    Json(json!({ "deliveries": log, "dropped_orders": dropped })).into_response()
}

async fn control_fixtures() -> Response {
    let inputs = fixture_inputs();
    Json(json!({ "keys": inputs.keys, "facts": fixture_facts() })).into_response()
}

async fn not_found() -> Response {
    error(StatusCode::NOT_FOUND, "NOT_FOUND", "no such route")
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

    #[test]
    fn bodies_differing_in_key_order_match() {
        let a: Value = serde_json::from_str(r#"{"a":1,"b":{"c":2,"d":3}}"#).unwrap();
        let b: Value = serde_json::from_str(r#"{"b":{"d":3,"c":2},"a":1}"#).unwrap();
        assert_eq!(fingerprint(&a), fingerprint(&b));
    }
}
