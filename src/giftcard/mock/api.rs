//! The vendor mock's request plumbing: shared state, the error shape and its dialect
//! rewrite, authentication, JSON answers.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use parking_lot::Mutex;
use serde_json::{json, Value};

use super::fixtures::FIXTURE_API_KEY;
use super::state::VState;
use super::VendorOptions;

/// What every handler shares: the state under one lock, the options, the client that
/// delivers webhooks and a bound on concurrent deliveries.
pub(super) struct Shared {
    pub(super) state: Mutex<VState>,
    pub(super) opts: VendorOptions,
    pub(super) http: reqwest::Client,
    pub(super) deliveries: tokio::sync::Semaphore,
}

/// A webhook URL: http or https.
pub(super) fn valid_url(u: &str) -> Result<(), String> {
    let parsed = url::Url::parse(u).map_err(|e| format!("`{u}` is not a URL: {e}"))?;
    if matches!(parsed.scheme(), "http" | "https") {
        Ok(())
    } else {
        Err(format!("`{u}` must be http or https"))
    }
}

/// An early answer from a parsing helper: boxed, so `Result`s stay small.
pub(super) type Refusal = Box<Response>;

/// A Part B error: `{code, message}` with its status.
pub(super) fn error(status: StatusCode, code: &str, message: &str) -> Response {
    (status, Json(json!({ "code": code, "message": message }))).into_response()
}

/// Rewrites Part B's `{code, message}` errors into the dialect's shape: Stripe's
/// `{error: {type, code, message}}`, with 400 for a reused key. One place, so
/// every handler speaks Part B and the dialect is an option, not a copy.
pub(super) async fn dialect_errors(State(shared): State<Arc<Shared>>, r: Response) -> Response {
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

pub(super) fn authorized(headers: &HeaderMap) -> bool {
    headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .is_some_and(|k| k.trim() == FIXTURE_API_KEY)
}

pub(super) fn unauthorized() -> Response {
    error(
        StatusCode::UNAUTHORIZED,
        "UNAUTHENTICATED",
        "send Authorization: Bearer <API key>",
    )
}

pub(super) fn json_response(status: u16, body: Bytes, replayed: bool) -> Response {
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

pub(super) async fn not_found() -> Response {
    error(StatusCode::NOT_FOUND, "NOT_FOUND", "no such route")
}
