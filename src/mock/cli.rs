//! `launchgate mock`: the library side of the standalone mock command.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use super::{fixture_summary, Latency, MockError, MockOptions, MockServer, Quirk};

fn quirk_help() -> String {
    format!(
        "Switch on a quirk (repeatable). Each breaks exactly one contract rule:\n{}",
        Quirk::catalogue()
    )
}

fn parse_rate(s: &str) -> Result<f64, String> {
    let r: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("`{s}` is not a number"))?;
    if (0.0..=1.0).contains(&r) {
        Ok(r)
    } else {
        Err(format!("{r} is outside 0..=1 (a fraction of requests)"))
    }
}

fn parse_window(s: &str) -> Result<Duration, String> {
    let d = humantime::parse_duration(s.trim()).map_err(|e| format!("`{s}`: {e}"))?;
    if d < Duration::from_millis(1) {
        return Err("the rate window must be at least 1ms".into());
    }
    Ok(d)
}

fn vendor_quirk_help() -> String {
    format!(
        "With --api giftcard: switch on a vendor quirk (repeatable). Each breaks one answer:\n{}",
        crate::giftcard::VendorQuirk::catalogue()
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
    pub vendor_quirks: Vec<crate::giftcard::VendorQuirkArg>,
    /// With --api giftcard: the dialect the vendor mock speaks: `part-b` (default),
    /// `stripe-like` or `standard-webhooks` (ready target files in docs/vendors/).
    #[arg(long, value_enum, default_value_t = crate::giftcard::VendorDialect::PartB)]
    pub dialect: crate::giftcard::VendorDialect,
    /// With --api giftcard: deliver webhooks to this URL (repeatable; clients may also
    /// `POST /api/v1/webhooks {"url": ...}`).
    #[arg(long = "webhook-url", value_name = "URL")]
    pub webhook_urls: Vec<String>,
    /// With --api giftcard: the first webhook retry waits this long, each further one twice as long.
    #[arg(long, value_name = "D", default_value = "1s", value_parser = parse_window)]
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
    #[arg(long, value_name = "RATE", default_value_t = 0.0, value_parser = parse_rate)]
    pub drop_after_commit: f64,
    /// Fraction (0..=1) of requests answered 500 INTERNAL_ERROR.
    #[arg(long, value_name = "RATE", default_value_t = 0.0, value_parser = parse_rate)]
    pub fail_rate: f64,
    /// Seed for the fault dice.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub seed: u64,
    /// Length of the fixed rate-limit window (e.g. `2s`; the real server uses 60s).
    #[arg(long, value_name = "D", default_value = "60s", value_parser = parse_window)]
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
    #[arg(long, value_name = "D", default_value = "10s", value_parser = parse_window)]
    pub header_timeout: Duration,
    /// Answer 408 to a request whose body takes longer than this.
    #[arg(long, value_name = "D", default_value = "30s", value_parser = parse_window)]
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
            server: crate::serve::ServerLimits {
                header_timeout: self.header_timeout,
                body_timeout: self.body_timeout,
                max_connections: self.max_connections,
            },
            ..MockOptions::default()
        }
    }

    fn addr(&self) -> Result<SocketAddr, MockError> {
        if !self.bind.is_loopback() {
            if !self.allow_non_loopback {
                return Err(MockError::Options(format!(
                    "refusing to bind {}: the mock's keys are public; pass --allow-non-loopback to do it anyway",
                    self.bind
                )));
            }
            eprintln!(
                "warning: the mock listens on {} (not loopback); its fixture keys are public test values",
                self.bind
            );
        }
        Ok(SocketAddr::new(self.bind, self.port))
    }
}

impl MockArgs {
    /// The vendor mock's options these flags describe (`--api giftcard`).
    pub fn vendor_options(&self) -> crate::giftcard::VendorOptions {
        crate::giftcard::VendorOptions {
            dialect: self.dialect,
            quirks: self.vendor_quirks.clone(),
            seed: self.seed,
            webhook_urls: self.webhook_urls.clone(),
            webhook_backoff: self.webhook_backoff,
            ..Default::default()
        }
    }
}

/// A line to stdout that a closed pipe cannot break: `launchgate mock | head -1`
/// closes it after the first line, and `println!` would panic and stop the mock.
macro_rules! say {
    ($($arg:tt)*) => {
        say_raw(&format!("{}\n", format_args!($($arg)*)))
    };
}

fn say_raw(text: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
}

async fn serve_vendor(args: MockArgs, addr: SocketAddr) -> Result<(), MockError> {
    if !args.quirks.is_empty() {
        return Err(MockError::Options(
            "--quirk names Agent API quirks; with --api giftcard use --vendor-quirk".into(),
        ));
    }
    let server = crate::giftcard::VendorMock::start(args.vendor_options(), addr)
        .await
        .map_err(|e| match e {
            crate::giftcard::mock::VendorError::Options(m) => MockError::Options(m),
            crate::giftcard::mock::VendorError::Bind(b) => MockError::Bind(b),
        })?;
    say!("launchgate vendor mock listening on {}", server.base_url());
    say!("gift-card API: {}/api/v1", server.base_url());
    say!(
        "control:       {}/__launchgate/{{reset,webhooks,fixtures}}",
        server.base_url()
    );
    if !args.vendor_quirks.is_empty() {
        let names: Vec<String> = args
            .vendor_quirks
            .iter()
            .map(|q| match q.rate {
                Some(r) => format!("{}={r}", q.quirk),
                None => q.quirk.to_string(),
            })
            .collect();
        say!("quirks:        {}", names.join(", "));
    }
    for u in &args.webhook_urls {
        say!("webhooks to:   {u}");
    }
    say_raw(&crate::giftcard::mock::fixture_summary(args.dialect));
    say!("press Ctrl-C to stop");
    let stopped = tokio::signal::ctrl_c().await;
    server.shutdown().await;
    stopped.map_err(MockError::Serve)
}

/// Starts the mock on the current tokio runtime, prints its URL and fixtures, and serves
/// until Ctrl-C, then shuts down gracefully.
pub async fn serve(args: MockArgs) -> Result<(), MockError> {
    let addr = args.addr()?;
    if args.api == MockApi::Giftcard {
        return serve_vendor(args, addr).await;
    }
    let server = MockServer::start(args.options(), addr).await?;
    say!("launchgate mock listening on {}", server.base_url());
    say!("Agent API:  {}/api/agent/v1", server.base_url());
    say!(
        "control:    {}/__launchgate/{{reset,journal,fixtures}}",
        server.base_url()
    );
    if !args.quirks.is_empty() {
        let names: Vec<String> = args.quirks.iter().map(Quirk::to_string).collect();
        say!("quirks:     {}", names.join(", "));
    }
    say_raw(&fixture_summary(&server.inputs()));
    say!("press Ctrl-C to stop");
    let stopped = tokio::signal::ctrl_c().await;
    server.shutdown().await;
    stopped.map_err(MockError::Serve)
}

/// [`serve`] on a runtime of its own (`--threads`); for callers that are not async.
pub fn run(args: MockArgs) -> Result<(), MockError> {
    let runtime = if args.threads <= 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(args.threads)
            .enable_all()
            .build()
    }
    .map_err(MockError::Serve)?;
    runtime.block_on(serve(args))
}
