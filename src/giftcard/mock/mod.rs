//! The embedded gift-card vendor mock: contract Part B, as a production-grade
//! vendor would do it, with [`VendorQuirk`]s that each break one answer.
//!
//! Orders are idempotent by key (replays are byte-identical, a reused key with
//! another body is refused, concurrent duplicates never create two orders);
//! every status change is delivered as a signed webhook to each registered URL
//! with bounded exponential backoff; reconciliation lists one record per order,
//! paginated by cursor. State sits behind one lock that is never held across an
//! await; orders, idempotency keys and the delivery log are bounded.
//!
//! Laid out like the Agent API mock: this file holds the options, the server and the
//! control routes; `api` the request plumbing (shared state, errors and their dialect
//! rewrite, authentication); one file per thing an evaluator asks about (`orders` with
//! idempotency, `webhooks`, `reconciliation`); `state` what is remembered; `fixtures`
//! the published test key, secret and brands.

mod api;
mod fixtures;
mod orders;
mod reconciliation;
mod state;
mod webhooks;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use parking_lot::Mutex;
use serde_json::json;

pub use fixtures::{
    fixture_facts, fixture_inputs, fixture_summary, BRAND_FAILED, BRAND_FULFILLED, BRAND_REFUNDED,
    FIXTURE_API_KEY, FIXTURE_WEBHOOK_SECRET,
};

use super::dialect::VendorDialect;
use super::quirk::{VendorQuirk, VendorQuirkArg};
use crate::serve::{BindError, Server, ServerLimits};
use api::{dialect_errors, not_found, valid_url, Shared};
use state::{DeliveryLog, VState};

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
        // Deliveries go to launchgate's receiver or a client on this machine.
        let http = crate::http::control_client(Duration::from_secs(5), true)
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
            .route(
                "/api/v1/orders",
                post(orders::create_order).get(orders::list_orders),
            )
            .route("/api/v1/orders/{id}", get(orders::get_order))
            .route(
                "/api/v1/orders/by-reference/{reference}",
                get(orders::orders_by_reference),
            )
            .route(
                "/api/v1/reconciliation",
                get(reconciliation::reconciliation),
            )
            .route(
                "/api/v1/webhooks",
                post(webhooks::register_webhook).get(webhooks::list_webhooks),
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

/// `POST /__launchgate/reset`: forgets orders, keys and deliveries, keeps the webhook
/// URLs. Control routes need no key, as on the Agent API mock.
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

/// `GET /__launchgate/webhooks`: every delivery attempt, and the orders whose webhooks
/// the `webhook-drop` quirk swallowed.
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

/// `GET /__launchgate/fixtures`: the inputs and facts a scenario run gets.
async fn control_fixtures() -> Response {
    let inputs = fixture_inputs();
    Json(json!({ "keys": inputs.keys, "facts": fixture_facts() })).into_response()
}
