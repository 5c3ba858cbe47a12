//! `launchgate mock`: serves the Agent API mock or the gift-card vendor mock
//! until Ctrl-C, printing its URL and fixtures.

use std::net::SocketAddr;

use crate::giftcard::mock::VendorError;
use crate::giftcard::{VendorMock, VendorOptions};
use crate::mock::{fixture_summary, MockError, MockOptions, MockServer, Quirk};

use super::stdout::{print, say};

/// Which mock `launchgate mock` serves, with its options.
#[derive(Debug, Clone)]
pub enum MockService {
    /// The Agent API mock (contract Part A).
    Agent(MockOptions),
    /// The gift-card vendor mock (contract Part B).
    Vendor(VendorOptions),
}

/// Everything `launchgate mock` needs.
#[derive(Debug, Clone)]
pub struct MockConfig {
    /// The mock and its options.
    pub service: MockService,
    /// Where it listens (a non-loopback address is allowed only when asked for).
    pub addr: SocketAddr,
    /// Runtime worker threads (1: a current-thread runtime, measured fastest on 2 cores).
    pub threads: usize,
}

/// A line to stdout that a closed pipe cannot break: `launchgate mock | head -1`
/// closes it after the first line, and `println!` would panic and stop the mock.
macro_rules! say {
    ($($arg:tt)*) => {
        say(format_args!($($arg)*))
    };
}

async fn serve_vendor(options: VendorOptions, addr: SocketAddr) -> Result<(), MockError> {
    let dialect = options.dialect;
    let quirks = options.quirks.clone();
    let webhook_urls = options.webhook_urls.clone();
    let server = VendorMock::start(options, addr)
        .await
        .map_err(|e| match e {
            VendorError::Options(m) => MockError::Options(m),
            VendorError::Bind(b) => MockError::Bind(b),
        })?;
    say!("launchgate vendor mock listening on {}", server.base_url());
    say!("gift-card API: {}/api/v1", server.base_url());
    say!(
        "control:       {}/__launchgate/{{reset,webhooks,fixtures}}",
        server.base_url()
    );
    if !quirks.is_empty() {
        let names: Vec<String> = quirks
            .iter()
            .map(|q| match q.rate {
                Some(r) => format!("{}={r}", q.quirk),
                None => q.quirk.to_string(),
            })
            .collect();
        say!("quirks:        {}", names.join(", "));
    }
    for u in &webhook_urls {
        say!("webhooks to:   {u}");
    }
    print(&crate::giftcard::mock::fixture_summary(dialect));
    say!("press Ctrl-C to stop");
    let stopped = tokio::signal::ctrl_c().await;
    server.shutdown().await;
    stopped.map_err(MockError::Serve)
}

/// Starts the mock on the current tokio runtime, prints its URL and fixtures, and serves
/// until Ctrl-C, then shuts down gracefully.
pub async fn serve(cfg: MockConfig) -> Result<(), MockError> {
    let addr = cfg.addr;
    if !addr.ip().is_loopback() {
        eprintln!(
            "warning: the mock listens on {} (not loopback); its fixture keys are public test values",
            addr.ip()
        );
    }
    let options = match cfg.service {
        MockService::Vendor(options) => return serve_vendor(options, addr).await,
        MockService::Agent(options) => options,
    };
    let quirks = options.quirks.clone();
    let server = MockServer::start(options, addr).await?;
    say!("launchgate mock listening on {}", server.base_url());
    say!(
        "Agent API:  {}{}",
        server.base_url(),
        crate::agent_api::BASE_PATH
    );
    say!(
        "control:    {}/__launchgate/{{reset,journal,fixtures}}",
        server.base_url()
    );
    if !quirks.is_empty() {
        let names: Vec<String> = quirks.iter().map(Quirk::to_string).collect();
        say!("quirks:     {}", names.join(", "));
    }
    print(&fixture_summary(&server.inputs()));
    say!("press Ctrl-C to stop");
    let stopped = tokio::signal::ctrl_c().await;
    server.shutdown().await;
    stopped.map_err(MockError::Serve)
}

/// [`serve`] on a runtime of its own (`--threads`); for callers that are not async.
pub fn run(cfg: MockConfig) -> Result<(), MockError> {
    let runtime = if cfg.threads <= 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(cfg.threads)
            .enable_all()
            .build()
    }
    .map_err(MockError::Serve)?;
    runtime.block_on(serve(cfg))
}
