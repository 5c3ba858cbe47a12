//! `launchgate mock`: the flags, and their conversion into a [`MockConfig`].

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use super::{values, UsageError};
use crate::commands::{MockConfig, MockService};
use crate::giftcard::{VendorDialect, VendorOptions, VendorQuirk, VendorQuirkArg};
use crate::mock::{Latency, MockError, MockOptions, Quirk};
use crate::serve::ServerLimits;

fn quirk_help() -> String {
    format!(
        "Switch on a quirk (repeatable). Each breaks exactly one contract rule:\n{}",
        Quirk::catalogue()
    )
}

fn vendor_quirk_help() -> String {
    format!(
        "With --api giftcard: switch on a vendor quirk (repeatable). Each breaks one answer:\n{}",
        VendorQuirk::catalogue()
    )
}

/// Which API `launchgate mock` serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum MockApi {
    /// The Reward Loyalty Agent API (contract Part A).
    #[default]
    Agent,
    /// The gift-card vendor API (contract Part B).
    Giftcard,
}

/// Flags of `launchgate mock`.
#[derive(Debug, Clone, clap::Args)]
pub struct MockArgs {
    /// Which API to serve: `agent` (default) or `giftcard` (the vendor mock of contract Part B).
    #[arg(long, value_enum, default_value_t = MockApi::Agent)]
    pub api: MockApi,
    /// With --api giftcard: a vendor quirk, e.g. `no-idempotency` or `webhook-drop=0.001` (repeatable).
    #[arg(long = "vendor-quirk", value_name = "NAME[=RATE]", long_help = vendor_quirk_help())]
    pub vendor_quirks: Vec<VendorQuirkArg>,
    /// With --api giftcard: the dialect the vendor mock speaks: `part-b` (default),
    /// `stripe-like` or `standard-webhooks` (ready target files in docs/vendors/).
    #[arg(long, value_enum, default_value_t = VendorDialect::PartB)]
    pub dialect: VendorDialect,
    /// With --api giftcard: deliver webhooks to this URL (repeatable; clients may also
    /// `POST /api/v1/webhooks {"url": ...}`).
    #[arg(long = "webhook-url", value_name = "URL")]
    pub webhook_urls: Vec<String>,
    /// With --api giftcard: the first webhook retry waits this long, each further one twice as long.
    #[arg(long, value_name = "D", default_value = "1s", value_parser = values::window)]
    pub webhook_backoff: Duration,
    /// Address to listen on. Anything but loopback needs --allow-non-loopback.
    #[arg(long, default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST))]
    pub bind: IpAddr,
    /// Port to listen on (0 = any free port).
    #[arg(long, default_value_t = 8080)]
    pub port: u16,
    /// Fixtures file to use instead of the built-in data set.
    #[arg(long, value_name = "FILE")]
    pub fixtures: Option<PathBuf>,
    /// Switch on a quirk (repeatable).
    #[arg(long = "quirk", value_name = "NAME", long_help = quirk_help())]
    pub quirks: Vec<Quirk>,
    /// Added latency per request: `50ms`, or a range `10ms..200ms` drawn from the seed.
    #[arg(long, value_name = "D|MIN..MAX")]
    pub latency: Option<Latency>,
    /// Fraction (0..=1) of successful writes whose connection is dropped after committing.
    #[arg(long, value_name = "RATE", default_value_t = 0.0, value_parser = values::rate)]
    pub drop_after_commit: f64,
    /// Fraction (0..=1) of requests answered 500 INTERNAL_ERROR.
    #[arg(long, value_name = "RATE", default_value_t = 0.0, value_parser = values::rate)]
    pub fail_rate: f64,
    /// Seed for the fault dice.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub seed: u64,
    /// Length of the fixed rate-limit window (e.g. `2s`; the real server uses 60s).
    #[arg(long, value_name = "D", default_value = "60s", value_parser = values::window)]
    pub rate_window: Duration,
    /// Give every key this rate limit per window instead of its own (to provoke 429s).
    #[arg(long, value_name = "N")]
    pub rate_limit: Option<u32>,
    /// Behave as a server with FEATURE_AGENT_API=false: every agent route is a bare 404.
    #[arg(long)]
    pub feature_off: bool,
    /// Allow binding to a non-loopback address (the fixture keys are public).
    #[arg(long)]
    pub allow_non_loopback: bool,
    /// Requests kept in the journal (GET /__launchgate/journal).
    #[arg(long, value_name = "N", default_value_t = 10_000)]
    pub journal_capacity: usize,
    /// Megabytes (estimated) the journal may hold; the oldest entries are evicted first.
    #[arg(long, value_name = "MB", default_value_t = 32)]
    pub journal_max_mb: usize,
    /// Close a connection that takes longer than this to send its request headers, or sits
    /// idle this long between requests.
    #[arg(long, value_name = "D", default_value = "10s", value_parser = values::window)]
    pub header_timeout: Duration,
    /// Answer 408 to a request whose body takes longer than this.
    #[arg(long, value_name = "D", default_value = "30s", value_parser = values::window)]
    pub body_timeout: Duration,
    /// Connections served at once; more are closed on arrival.
    #[arg(long, value_name = "N", default_value_t = 512)]
    pub max_connections: usize,
    /// Provoke what `launchgate referee` judges: early 429s, one definitive error per
    /// retry_strategy on early writes, a member history longer than one page.
    #[arg(long)]
    pub provoke: bool,
    /// Runtime worker threads when started through `run` (1 = a current-thread runtime,
    /// measured fastest on 2 cores).
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub threads: usize,
}

impl MockArgs {
    /// The server options these flags describe.
    pub fn options(&self) -> MockOptions {
        MockOptions {
            quirks: self.quirks.clone(),
            rate_window: self.rate_window,
            feature_off: self.feature_off,
            seed: self.seed,
            fixtures: self.fixtures.clone(),
            latency: self.latency,
            fail_rate: self.fail_rate,
            drop_after_commit: self.drop_after_commit,
            journal_capacity: self.journal_capacity,
            journal_max_bytes: self.journal_max_mb.saturating_mul(1024 * 1024),
            rate_limit_override: self.rate_limit,
            provoke: self.provoke,
            server: ServerLimits {
                header_timeout: self.header_timeout,
                body_timeout: self.body_timeout,
                max_connections: self.max_connections,
            },
            ..MockOptions::default()
        }
    }
}

impl MockArgs {
    /// The vendor mock's options these flags describe (`--api giftcard`).
    pub fn vendor_options(&self) -> VendorOptions {
        VendorOptions {
            dialect: self.dialect,
            quirks: self.vendor_quirks.clone(),
            seed: self.seed,
            webhook_urls: self.webhook_urls.clone(),
            webhook_backoff: self.webhook_backoff,
            ..Default::default()
        }
    }
}

impl MockArgs {
    /// What `launchgate mock` serves, and where. Refuses a non-loopback address
    /// without `--allow-non-loopback` (the fixture keys are public), and Agent API
    /// quirks for the vendor mock.
    pub fn into_config(self) -> Result<MockConfig, UsageError> {
        if !self.bind.is_loopback() && !self.allow_non_loopback {
            return Err(MockError::Options(format!(
                "refusing to bind {}: the mock's keys are public; pass --allow-non-loopback to do it anyway",
                self.bind
            ))
            .into());
        }
        let service = match self.api {
            MockApi::Agent => MockService::Agent(self.options()),
            MockApi::Giftcard if !self.quirks.is_empty() => {
                return Err(MockError::Options(
                    "--quirk names Agent API quirks; with --api giftcard use --vendor-quirk".into(),
                )
                .into())
            }
            MockApi::Giftcard => MockService::Vendor(self.vendor_options()),
        };
        Ok(MockConfig {
            service,
            addr: SocketAddr::new(self.bind, self.port),
            threads: self.threads,
        })
    }
}
