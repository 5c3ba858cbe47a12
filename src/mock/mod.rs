//! The embedded, stateful mock of the Reward Loyalty Agent API (contract Part A).
//!
//! INTERFACE STUB: the mock helper replaces the body of this module; the public
//! items below are what the rest of launchgate relies on and must keep their shape.

use std::net::SocketAddr;
use std::time::Duration;

use crate::target::Inputs;

/// Errors starting or running the mock.
#[derive(Debug, thiserror::Error)]
pub enum MockError {
    /// The listening socket could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address we tried.
        addr: SocketAddr,
        /// Why it failed.
        source: std::io::Error,
    },
    /// A fixtures file could not be read or parsed.
    #[error("fixtures: {0}")]
    Fixtures(String),
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
}

impl Default for MockOptions {
    fn default() -> Self {
        Self {
            quirks: Vec::new(),
            rate_window: Duration::from_secs(60),
            feature_off: false,
            seed: 0,
        }
    }
}

/// A named deviation from the contract, off by default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Quirk {}

/// A running mock server.
pub struct MockServer {
    base_url: String,
}

impl MockServer {
    /// Starts the mock on `addr` (use port 0 for an ephemeral port) on the current tokio runtime.
    pub async fn start(_options: MockOptions, _addr: SocketAddr) -> Result<MockServer, MockError> {
        Err(MockError::Fixtures("not implemented yet".into()))
    }

    /// The server root, e.g. `http://127.0.0.1:40123` (the Agent API lives under `/api/agent/v1`).
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The fixture keys and ids, under the names scenarios use.
    pub fn inputs(&self) -> Inputs {
        Inputs::default()
    }

    /// Stops accepting connections and waits for in-flight requests to finish.
    pub async fn shutdown(self) {}
}

impl std::str::FromStr for Quirk {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Err(format!("unknown quirk `{s}`"))
    }
}
