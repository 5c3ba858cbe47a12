//! launchgate's own webhook receiver: a small HTTP listener that records every
//! delivery a vendor makes, so `receive:` steps can judge them as a JSON
//! pseudo-response.
//!
//! It keeps the raw bytes of each body: a signature is only meaningful over
//! exactly what was sent (contract §B.2), so verification happens when a step
//! asks, with the scheme and secret that step names.
//!
//! It may be exposed through a tunnel, so it stores only what it can
//! authenticate: a delivery to its URL's path token (the last segment of
//! `{{ run.webhook_url }}`), or one signed with the run's webhook secret (any
//! scheme, even over a re-serialised body, so the probes can still say what is
//! wrong). Others get 401 and only a count. Memory is bounded: bodies by
//! `max_body`, everything kept by `max_total` bytes and `capacity` deliveries,
//! the oldest forgotten first.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use parking_lot::Mutex;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::serve::{BindError, Server, ServerLimits};
use crate::signature;

/// How the receiver listens and answers.
#[derive(Debug, Clone)]
pub struct ReceiverOptions {
    /// Where to listen (`127.0.0.1:0` by default: loopback, any free port).
    pub listen: SocketAddr,
    /// The URL vendors are told to deliver to, when it is not the listening address
    /// (a tunnel or a public host the evaluator exposes). Without it, `http://<listen>/webhooks`.
    pub public_url: Option<String>,
    /// Answer 503 to the first N deliveries of every event, to see whether the vendor retries.
    pub refuse_first: u32,
    /// Deliveries kept (oldest forgotten first).
    pub capacity: usize,
    /// Largest body accepted; bigger deliveries get 413 and are not recorded.
    pub max_body: usize,
    /// Bodies and headers kept, in bytes, all deliveries together (oldest forgotten first).
    pub max_total: usize,
    /// The path token that authenticates a delivery; random when `None`.
    pub token: Option<String>,
    /// Timeouts and the connection bound (it may be exposed through a tunnel, where it
    /// meets the same slow and abandoned connections as any server).
    pub server: ServerLimits,
}

/// The largest webhook body the receiver accepts (a Stripe event is a few KB).
pub const MAX_BODY: usize = 256 * 1024;
/// What the receiver keeps at most, all deliveries together.
pub const MAX_TOTAL: usize = 8 * 1024 * 1024;

impl Default for ReceiverOptions {
    fn default() -> Self {
        ReceiverOptions {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            public_url: None,
            refuse_first: 0,
            capacity: 10_000,
            max_body: MAX_BODY,
            max_total: MAX_TOTAL,
            token: None,
            server: ServerLimits::default(),
        }
    }
}

/// How a step wants signatures checked.
pub use crate::signature::Verifier as Verify;

#[derive(Debug)]
struct Delivery {
    seq: u64,
    method: String,
    path: String,
    received_at: String,
    /// Unix milliseconds, launchgate's clock (for latency against `epoch_ms()`).
    received_ms: i64,
    /// Milliseconds since the previous attempt of the same event, if any.
    since_previous_ms: Option<i64>,
    headers: Vec<(String, String)>,
    body: Bytes,
    event: String,
    attempt: u32,
    answered: u16,
}

#[derive(Debug, Default)]
struct RecvState {
    deliveries: VecDeque<Arc<Delivery>>,
    /// Per event: attempts so far and when the last one arrived (Unix ms).
    attempts: HashMap<String, (u32, i64)>,
    seq: u64,
    /// Bytes the kept deliveries hold.
    bytes: usize,
    /// Deliveries refused for want of a token or a valid signature.
    refused: u64,
    /// Why the last one was refused.
    last_refusal: Option<String>,
}

impl Delivery {
    /// What keeping it costs, roughly: body, headers, path and bookkeeping.
    fn size(&self) -> usize {
        self.body.len()
            + self.path.len()
            + self.event.len()
            + self
                .headers
                .iter()
                .map(|(n, v)| n.len() + v.len() + 48)
                .sum::<usize>()
            + 256
    }
}

struct RecvShared {
    state: Mutex<RecvState>,
    changed: tokio::sync::watch::Sender<u64>,
    opts: ReceiverOptions,
    token: String,
    /// Checks signatures with the run's webhook secret, once the target is known.
    authenticator: Mutex<Option<Verify>>,
}

/// Why the receiver could not start.
#[derive(Debug, thiserror::Error)]
pub enum ReceiverError {
    /// The path token given is not one.
    #[error("the webhook token must be 16 to 128 letters, digits, `-` or `_`")]
    Token,
    /// The listening socket could not be bound.
    #[error(transparent)]
    Bind(#[from] BindError),
}

/// A running receiver.
pub struct Receiver {
    url: String,
    server: Server,
    shared: Arc<RecvShared>,
}

impl Receiver {
    /// Binds and starts serving on the current tokio runtime.
    pub async fn start(opts: ReceiverOptions) -> Result<Receiver, ReceiverError> {
        let token = match &opts.token {
            Some(t) if is_token(t) => t.clone(),
            Some(_) => return Err(ReceiverError::Token),
            None => uuid::Uuid::new_v4().simple().to_string(),
        };
        let (changed, _) = tokio::sync::watch::channel(0);
        let shared = Arc::new(RecvShared {
            state: Mutex::new(RecvState::default()),
            changed,
            opts: opts.clone(),
            token,
            authenticator: Mutex::new(None),
        });
        let max_body = opts.max_body;
        let app = Router::new()
            .fallback(deliver)
            .layer(axum::extract::DefaultBodyLimit::max(max_body))
            .with_state(shared.clone());
        let server = Server::start(opts.listen, app, opts.server).await?;
        let url = match &opts.public_url {
            Some(u) => format!("{}/{}", u.trim_end_matches('/'), shared.token),
            None => format!("http://{}/webhooks/{}", server.local_addr(), shared.token),
        };
        Ok(Receiver {
            url,
            server,
            shared,
        })
    }

    /// The URL vendors deliver to (`{{ run.webhook_url }}`), its path token included.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The path token (a secret: whoever knows it can have a delivery stored).
    pub fn token(&self) -> &str {
        &self.shared.token
    }

    /// Lets deliveries signed with the run's webhook secret be stored whatever
    /// their path (a URL registered with the vendor without the token).
    pub fn authenticate_with(&self, verifier: Verify) {
        *self.shared.authenticator.lock() = Some(verifier);
    }

    /// The listening address.
    pub fn local_addr(&self) -> SocketAddr {
        self.server.local_addr()
    }

    /// How many deliveries of each event are refused before one is accepted.
    pub fn refuse_first(&self) -> u32 {
        self.shared.opts.refuse_first
    }

    /// A watch that changes whenever a delivery arrives.
    pub fn subscribe(&self) -> tokio::sync::watch::Receiver<u64> {
        self.shared.changed.subscribe()
    }

    /// Every delivery kept, as the JSON pseudo-body of a `receive:` step.
    pub fn snapshot(&self, verify: Option<&Verify>) -> Value {
        // Only the counters and shared handles are read under the lock: describing
        // (parsing bodies, checking signatures) takes long with many deliveries, and a
        // delivery arriving meanwhile must not wait for it.
        let (kept, received, stored_bytes, refused, last_refusal) = {
            let st = self.shared.state.lock();
            let kept: Vec<Arc<Delivery>> = st.deliveries.iter().cloned().collect();
            (kept, st.seq, st.bytes, st.refused, st.last_refusal.clone())
        };
        let events: std::collections::BTreeSet<&str> =
            kept.iter().map(|d| d.event.as_str()).collect();
        let deliveries: Vec<Value> = kept.iter().map(|d| describe(d, verify)).collect();
        json!({
            "url": self.url,
            "count": deliveries.len(),
            "events": events.len(),
            "received": received,
            "stored_bytes": stored_bytes,
            "refused_unauthenticated": refused,
            "last_refusal": last_refusal,
            "refuse_first": self.shared.opts.refuse_first,
            "deliveries": deliveries,
        })
    }

    /// Stops listening (also done when the receiver is dropped).
    pub async fn shutdown(self) {
        self.server.shutdown().await;
    }
}

/// One delivery as the pseudo-body shows it.
fn describe(d: &Delivery, verify: Option<&Verify>) -> Value {
    let parsed: Option<Value> = serde_json::from_slice(&d.body).ok();
    let text_body = || Value::String(String::from_utf8_lossy(&d.body).into_owned());
    let field = |name: &str| {
        parsed
            .as_ref()
            .and_then(|b| b.get(name))
            .cloned()
            .unwrap_or(Value::Null)
    };
    let mut headers = serde_json::Map::new();
    for (n, v) in &d.headers {
        headers.insert(n.clone(), Value::String(v.clone()));
    }
    let sig = verify.map(|v| v.check(&d.headers, &d.body, d.received_ms / 1000));
    let field_of = |f: &dyn Fn(&signature::Verdict) -> Value| sig.as_ref().map_or(Value::Null, f);
    json!({
        "seq": d.seq,
        "method": d.method,
        "path": d.path,
        "received_at": d.received_at,
        "received_ms": d.received_ms,
        "since_previous_ms": d.since_previous_ms,
        "id": field("id"),
        "type": field("type"),
        "event": d.event,
        "attempt": d.attempt,
        "answered": d.answered,
        "accepted": (200..300).contains(&d.answered),
        "headers": headers,
        "signature_present": field_of(&|v| v.present.into()),
        "signature_valid": field_of(&|v| v.valid.into()),
        // A vendor that signs something else than it sends: only a receiver that
        // re-serialises the parsed body (JSON.stringify) would accept it.
        "signature_valid_reserialized": field_of(&|v| (v.valid || v.reserialized).into()),
        "signature_scheme": field_of(&|v| v.scheme.map_or(Value::Null, |s| s.id().into())),
        "signature_recognised": field_of(&|v| v.how.clone().into()),
        "signature_timestamped": field_of(&|v| v.timestamped.into()),
        "signature_problem": field_of(&|v| v.problem.clone().map_or(Value::Null, Value::from)),
        // A signature in a form launchgate cannot check: unknown, not invalid.
        "signature_unreadable": field_of(&|v| {
            v.problem
                .clone()
                .filter(|_| v.unreadable)
                .map_or(Value::Null, Value::from)
        }),
        "body": parsed.unwrap_or_else(text_body),
    })
}

fn is_token(t: &str) -> bool {
    (16..=128).contains(&t.len())
        && t.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Why a delivery may not be stored, or `None` when it may: it came to the
/// token's path, or it is signed with the run's webhook secret.
fn refusal(
    shared: &RecvShared,
    path: &str,
    headers: &[(String, String)],
    body: &[u8],
) -> Option<String> {
    if path.rsplit('/').next() == Some(shared.token.as_str()) {
        return None;
    }
    let auth = shared.authenticator.lock();
    let Some(v) = auth.as_ref() else {
        return Some("not sent to the receiver's URL (its path token is missing) and no webhook secret is known to check a signature".into());
    };
    let verdict = v.check(headers, body, chrono::Utc::now().timestamp());
    if verdict.authentic {
        return None;
    }
    Some(format!(
        "not sent to the receiver's URL (its path token is missing) and not signed with the webhook secret: {}",
        verdict.problem.unwrap_or_default()
    ))
}

/// The event a delivery belongs to: the body's `id`, else a hash of the body, so
/// redeliveries of one event count as attempts of it.
fn event_key(body: &[u8]) -> String {
    let id = serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| match v.get("id") {
            Some(Value::String(s)) => Some(s.clone()),
            Some(Value::Number(n)) => Some(n.to_string()),
            _ => None,
        });
    id.unwrap_or_else(|| format!("sha256:{}", hex::encode(Sha256::digest(body))))
}

async fn deliver(
    State(shared): State<Arc<RecvShared>>,
    method: axum::http::Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let headers: Vec<(String, String)> = headers
        .iter()
        .map(|(n, v)| {
            (
                n.as_str().to_ascii_lowercase(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    if let Some(why) = refusal(&shared, uri.path(), &headers, &body) {
        {
            let mut st = shared.state.lock();
            st.refused = st.refused.saturating_add(1);
            st.last_refusal = Some(why);
        }
        shared.changed.send_modify(|_| {});
        return (
            StatusCode::UNAUTHORIZED,
            axum::Json(json!({"status": "refused: deliver to launchgate's webhook URL, or sign with the shared secret"})),
        )
            .into_response();
    }
    let event = event_key(&body);
    let answered;
    let seq;
    {
        let mut st = shared.state.lock();
        // The attempt map is bounded like the deliveries: forgetting it only
        // means a very old event would be refused again.
        if st.attempts.len() >= shared.opts.capacity.saturating_mul(2).max(1) {
            st.attempts.clear();
        }
        let now = chrono::Utc::now();
        let received_ms = now.timestamp_millis();
        let (attempt, since_previous_ms) = {
            let a = st.attempts.entry(event.clone()).or_insert((0, received_ms));
            let since = (a.0 > 0).then(|| received_ms.saturating_sub(a.1));
            a.0 = a.0.saturating_add(1);
            a.1 = received_ms;
            (a.0, since)
        };
        answered = if attempt <= shared.opts.refuse_first {
            503
        } else {
            200
        };
        st.seq += 1;
        seq = st.seq;
        let d = Delivery {
            seq,
            method: method.to_string(),
            path: uri.path().to_string(),
            received_at: now.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            received_ms,
            since_previous_ms,
            headers,
            body,
            event,
            attempt,
            answered,
        };
        st.bytes = st.bytes.saturating_add(d.size());
        st.deliveries.push_back(Arc::new(d));
        while st.deliveries.len() > shared.opts.capacity.max(1)
            || (st.bytes > shared.opts.max_total && st.deliveries.len() > 1)
        {
            if let Some(old) = st.deliveries.pop_front() {
                st.bytes = st.bytes.saturating_sub(old.size());
            }
        }
    }
    shared.changed.send_replace(seq);
    let status = StatusCode::from_u16(answered).unwrap_or(StatusCode::OK);
    let text = if answered == 200 {
        "received"
    } else {
        "refused on purpose by launchgate (--webhook-refuse): please retry"
    };
    (status, axum::Json(json!({ "status": text }))).into_response()
}
