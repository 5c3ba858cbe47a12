//! The embedded, stateful mock of the Reward Loyalty Agent API (contract Part A).
//!
//! [`MockServer::start`] serves the Agent API under `/api/agent/v1` from the fixed data set
//! in `fixtures.yaml` (§A.8), with a real ledger, per-key rate windows and the check order of
//! §A.2. [`MockOptions`] switches on faults (latency, 5xx, commit-then-drop) and [`Quirk`]s
//! (one broken rule each). Control routes under `/__launchgate/` reset the state, expose the
//! fixtures and the request journal; they need no key and are not rate limited.
//!
//! `src/mock/README.md` lists the fixture keys and ids, the quirks, the control routes and
//! every place where the mock had to decide something the contract leaves open.

mod api;
mod fixtures;
mod handlers;
mod journal;
mod quirk;
mod state;

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{RawQuery, State as AxState};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use parking_lot::Mutex;
use serde_json::json;

pub use quirk::{Quirk, UnknownQuirk};

use crate::serve::{BindError, Server, ServerLimits};
use crate::target::Inputs;

/// Most entries one journal page (`GET /__launchgate/journal`) returns.
pub const JOURNAL_PAGE_ENTRIES: usize = journal::PAGE_MAX_ENTRIES;
use api::{Config, Shared};
use fixtures::Fixtures;
use journal::Journal;
use quirk::QuirkSet;
use state::State;

/// The request header that forces a fault on one request: `drop-after-commit` (answer a
/// successful write by dropping the connection) or `internal-error` (500 INTERNAL_ERROR,
/// nothing written). Several values may be given, comma-separated.
pub const FAULT_HEADER: &str = "X-Launchgate-Fault";

/// Errors starting or running the mock.
#[derive(Debug, thiserror::Error)]
pub enum MockError {
    /// The listening socket could not be bound.
    #[error(transparent)]
    Bind(#[from] BindError),
    /// A fixtures file could not be read or parsed.
    #[error("fixtures: {0}")]
    Fixtures(String),
    /// An option is out of range (a rate outside 0..=1, a zero window, a public bind address...).
    #[error("invalid option: {0}")]
    Options(String),
    /// The server failed while running.
    #[error("mock server: {0}")]
    Serve(#[from] std::io::Error),
}

/// Added latency per request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Latency {
    /// Every request waits this long.
    Fixed(Duration),
    /// Each request waits a duration drawn uniformly from `min..=max` (reproducible from the seed).
    Uniform(Duration, Duration),
}

impl FromStr for Latency {
    type Err = String;

    /// `50ms` or `10ms..200ms` (humantime durations).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let parse = |d: &str| {
            humantime::parse_duration(d.trim())
                .map_err(|e| format!("bad duration `{}`: {e}", d.trim()))
        };
        match s.split_once("..") {
            None => Ok(Latency::Fixed(parse(s)?)),
            Some((lo, hi)) => {
                let (lo, hi) = (parse(lo)?, parse(hi)?);
                if lo > hi {
                    return Err(format!(
                        "latency range `{s}` has its minimum above its maximum"
                    ));
                }
                Ok(Latency::Uniform(lo, hi))
            }
        }
    }
}

impl fmt::Display for Latency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Latency::Fixed(d) => write!(f, "{}", humantime::format_duration(*d)),
            Latency::Uniform(lo, hi) => {
                write!(
                    f,
                    "{}..{}",
                    humantime::format_duration(*lo),
                    humantime::format_duration(*hi)
                )
            }
        }
    }
}

/// How the mock should behave. `Default` is the faithful mock.
#[derive(Debug, Clone)]
pub struct MockOptions {
    /// Quirks switched on (each breaks exactly one contract rule).
    pub quirks: Vec<Quirk>,
    /// Length of the fixed rate-limit window (60 s on the real server).
    pub rate_window: Duration,
    /// Answer every Agent API route with a bare 404, as with `FEATURE_AGENT_API=false`.
    pub feature_off: bool,
    /// Seed for every random decision (faults), so runs are reproducible.
    pub seed: u64,
    /// A fixtures file to use instead of the built-in one.
    pub fixtures: Option<PathBuf>,
    /// Latency added to every Agent API request (after any write is committed).
    pub latency: Option<Latency>,
    /// Fraction (0..=1) of authenticated, in-limit requests answered 500 INTERNAL_ERROR
    /// without doing anything.
    pub fail_rate: f64,
    /// Fraction (0..=1) of successful writes (purchase, redeem, claim, admin changes) whose
    /// connection is dropped after the write was committed, without an answer.
    pub drop_after_commit: f64,
    /// Entries kept by the request journal (oldest evicted first).
    pub journal_capacity: usize,
    /// Bytes (estimated) the request journal may hold; the oldest entries go first.
    pub journal_max_bytes: usize,
    /// Largest request body accepted; a bigger one gets 413.
    pub max_body_bytes: usize,
    /// When set, every key's rate limit per window (instead of the fixture's own).
    pub rate_limit_override: Option<u32>,
    /// Provoke what the client referee judges: 429s early in the run, one definitive
    /// error per `retry_strategy` (422 `fix_request`, 404 and 401 `no_retry`, 403
    /// `contact_support`) on early writes, and a transactions history longer than one
    /// page at `per_page=100` for the fixture member.
    pub provoke: bool,
    /// Limits of the HTTP server itself (timeouts, connections).
    pub server: ServerLimits,
}

impl Default for MockOptions {
    fn default() -> Self {
        Self {
            quirks: Vec::new(),
            rate_window: Duration::from_secs(60),
            feature_off: false,
            seed: 0,
            fixtures: None,
            latency: None,
            fail_rate: 0.0,
            drop_after_commit: 0.0,
            journal_capacity: 10_000,
            journal_max_bytes: 32 * 1024 * 1024,
            max_body_bytes: 1024 * 1024,
            rate_limit_override: None,
            provoke: false,
            server: ServerLimits::default(),
        }
    }
}

impl MockOptions {
    /// Checks ranges: rates in 0..=1, a window of at least 1 ms, a journal of at least one entry.
    pub fn validate(&self) -> Result<(), MockError> {
        for (name, rate) in [
            ("fail_rate", self.fail_rate),
            ("drop_after_commit", self.drop_after_commit),
        ] {
            if !(0.0..=1.0).contains(&rate) {
                return Err(MockError::Options(format!(
                    "{name} must be between 0 and 1, got {rate}"
                )));
            }
        }
        if self.rate_window < Duration::from_millis(1) {
            return Err(MockError::Options(
                "rate_window must be at least 1ms".into(),
            ));
        }
        if self.journal_capacity == 0 {
            return Err(MockError::Options(
                "journal_capacity must be at least 1".into(),
            ));
        }
        if self.journal_max_bytes < 64 * 1024 {
            return Err(MockError::Options(
                "journal_max_bytes must be at least 64 KiB".into(),
            ));
        }
        let l = &self.server;
        if l.max_connections == 0
            || l.header_timeout < Duration::from_millis(10)
            || l.body_timeout < Duration::from_millis(10)
        {
            return Err(MockError::Options(
                "server limits: at least one connection, timeouts of at least 10ms".into(),
            ));
        }
        Ok(())
    }
}

/// The fixture keys and ids of a fixtures file (the built-in one when `None`), without
/// starting a server.
pub fn fixture_inputs(path: Option<&Path>) -> Result<Inputs, MockError> {
    Ok(Fixtures::load(path, chrono::Utc::now())?.inputs)
}

/// A human-readable listing of the fixture keys and ids, as `launchgate mock` prints on start.
/// The keys are published test values (§A.8); they are printed so a developer can use them.
pub fn fixture_summary(inputs: &Inputs) -> String {
    let width = inputs
        .keys
        .keys()
        .chain(inputs.fixtures.keys())
        .map(String::len)
        .max()
        .unwrap_or(0);
    let mut out = format!("keys (header {}):\n", crate::agent_api::KEY_HEADER);
    for (name, key) in &inputs.keys {
        out.push_str(&format!("  {name:<width$}  {key}\n"));
    }
    out.push_str("fixtures:\n");
    for (name, value) in &inputs.fixtures {
        out.push_str(&format!("  {name:<width$}  {value}\n"));
    }
    out
}

/// A running mock server.
pub struct MockServer {
    server: Server,
    inputs: Inputs,
}

impl MockServer {
    /// Starts the mock on `addr` (use port 0 for an ephemeral port) on the current tokio runtime.
    pub async fn start(options: MockOptions, addr: SocketAddr) -> Result<MockServer, MockError> {
        options.validate()?;
        let fx = Fixtures::load(options.fixtures.as_deref(), chrono::Utc::now())?;
        let inputs = fx.inputs.clone();
        let shared = Arc::new(Shared {
            state: Mutex::new(State::for_options(&fx, options.provoke)),
            fx,
            journal: Journal::new(options.journal_capacity, options.journal_max_bytes),
            cfg: Config {
                quirks: QuirkSet::new(&options.quirks),
                window: options.rate_window,
                feature_off: options.feature_off,
                latency: options.latency,
                fail_rate: options.fail_rate,
                drop_rate: options.drop_after_commit,
                seed: options.seed,
                max_body: options.max_body_bytes,
                rate_limit_override: options.rate_limit_override,
                provoke: options.provoke,
                body_timeout: options.server.body_timeout,
            },
            arrivals: AtomicU64::new(0),
            provoked: api::Provoked::default(),
        });
        let app = Router::new()
            .route("/__launchgate/reset", post(control_reset))
            .route(crate::agent_api::JOURNAL_PATH, get(control_journal))
            .route("/__launchgate/fixtures", get(control_fixtures))
            .fallback(fallback)
            .with_state(shared);
        let server = Server::start(addr, app, options.server).await?;
        Ok(MockServer { server, inputs })
    }

    /// The server root, e.g. `http://127.0.0.1:40123` (the Agent API lives under `/api/agent/v1`).
    pub fn base_url(&self) -> &str {
        self.server.base_url()
    }

    /// The address the server listens on (the real port when started on port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.server.local_addr()
    }

    /// The fixture keys and ids, under the names scenarios use.
    pub fn inputs(&self) -> Inputs {
        self.inputs.clone()
    }

    /// [`fixture_summary`] of this server's inputs.
    pub fn fixture_summary(&self) -> String {
        fixture_summary(&self.inputs)
    }

    /// Stops accepting connections and waits for in-flight requests to finish. (A
    /// server dropped without `shutdown` still stops.)
    pub async fn shutdown(self) {
        self.server.shutdown().await;
    }
}

async fn fallback(AxState(shared): AxState<Arc<Shared>>, req: axum::extract::Request) -> Response {
    if req.uri().path().starts_with("/__launchgate") {
        // Unknown control route: not part of the API traffic, so not journaled.
        return (
            StatusCode::NOT_FOUND,
            Json(json!({ "message": "Not Found" })),
        )
            .into_response();
    }
    api::handle(shared, req).await
}

async fn control_reset(AxState(shared): AxState<Arc<Shared>>) -> Response {
    *shared.state.lock() = State::for_options(&shared.fx, shared.cfg.provoke);
    Json(json!({ "reset": true })).into_response()
}

async fn control_journal(AxState(shared): AxState<Arc<Shared>>, RawQuery(q): RawQuery) -> Response {
    let mut after = 0u64;
    let mut limit = 1000usize;
    for (k, v) in url::form_urlencoded::parse(q.unwrap_or_default().as_bytes()) {
        let bad = |what: &str| {
            let msg = format!("{k} must be {what}, got `{v}`");
            (StatusCode::BAD_REQUEST, Json(json!({ "message": msg }))).into_response()
        };
        match &*k {
            "after" => match v.parse() {
                Ok(n) => after = n,
                Err(_) => return bad("a sequence number"),
            },
            "limit" => match v.parse::<usize>() {
                // Larger limits are served a page at a time (see `more`).
                Ok(n) if n >= 1 => limit = n.min(journal::PAGE_MAX_ENTRIES),
                _ => return bad("a positive integer"),
            },
            _ => {}
        }
    }
    Json(shared.journal.page(after, limit)).into_response()
}

async fn control_fixtures(AxState(shared): AxState<Arc<Shared>>) -> Response {
    let inputs = &shared.fx.inputs;
    Json(json!({ "keys": inputs.keys, "fixtures": inputs.fixtures })).into_response()
}
