//! The start step of a run: what it talks to. The webhook receiver (when a suite
//! receives webhooks), the embedded mock or vendor mock (when the target is one),
//! or a real target with its secrets; the redactor and the HTTP client for it.

use std::net::SocketAddr;
use std::sync::Arc;

use crate::giftcard::{VendorDialect, VendorMock, VendorOptions};
use crate::http::Http;
use crate::mock::{MockOptions, MockServer};
use crate::receiver::{Receiver, ReceiverOptions};
use crate::redact::Redactor;
use crate::scenario::Suite;
use crate::signature::{SchemeChoice, Verifier, DEFAULT_TOLERANCE};
use crate::target::{Target, TargetError};

use super::super::{target, Error, TargetChoice};
use super::RunConfig;

/// What a run talks to, started.
pub(super) struct Started {
    /// The target, with its keys, fixtures and facts.
    pub target: Target,
    /// The embedded server launchgate started as the target, if any.
    pub server: Option<Server>,
    /// launchgate's webhook receiver, when a suite receives webhooks.
    pub receiver: Option<Arc<Receiver>>,
    /// Redacts every secret of the target (the receiver's token included).
    pub redactor: Redactor,
    /// The client for the target.
    pub http: Http,
}

/// Opens keep-alive connections to an HTTPS staging target while the run is
/// planned, one per job (at most 16), so its first requests do not pay for TLS
/// handshakes (the JSON report counts them apart: `execution.connections`). A plain
/// HTTP or embedded target has no handshake worth it, and sees no extra request.
fn warm(rt: &tokio::runtime::Runtime, http: &Http, cfg: &RunConfig, base_url: &str) {
    let remote = matches!(cfg.target, TargetChoice::Url(_) | TargetChoice::File(_));
    if !remote || !base_url.starts_with("https://") {
        return;
    }
    let (http, url, n) = (http.clone(), base_url.to_string(), super::jobs(cfg));
    rt.spawn(async move {
        http.warm(&url, n.min(16), std::time::Duration::from_secs(10))
            .await
    });
}

/// An embedded server launchgate started for the run.
pub(super) enum Server {
    /// The Agent API mock.
    Agent(MockServer),
    /// The gift-card vendor mock.
    Vendor(VendorMock),
}

impl Server {
    /// Shuts it down gracefully.
    pub fn stop(self, rt: &tokio::runtime::Runtime) {
        match self {
            Server::Agent(m) => rt.block_on(m.shutdown()),
            Server::Vendor(m) => rt.block_on(m.shutdown()),
        }
    }
}

/// The start step: the receiver first (the embedded vendor mock is told its URL),
/// then the target.
pub(super) fn start(
    rt: &tokio::runtime::Runtime,
    cfg: &RunConfig,
    suites: &[Suite],
) -> Result<Started, Error> {
    let cases = || suites.iter().flat_map(|s| &s.spec.cases);
    let wants_receiver = cases()
        .flat_map(|c| &c.value.steps)
        .any(|st| st.value.receive.is_some());
    let receiver = match wants_receiver {
        true => Some(Arc::new(start_receiver(rt, cfg)?)),
        false => None,
    };
    let (mut target, server) = start_target(rt, cfg, receiver.as_deref())?;
    if cases().any(|c| !c.value.vendor.is_empty()) {
        crate::giftcard::dialect::complete_facts(&mut target.facts)
            .map_err(TargetError::Invalid)?;
    }
    if let Some(r) = &receiver {
        guard_receiver(r, &mut target);
    }
    let redactor = Redactor::new(&target.secrets);
    let http = target::http_for(&target, cfg.run.body_cap)?;
    warm(rt, &http, cfg, &target.base_url);
    Ok(Started {
        target,
        server,
        receiver,
        redactor,
        http,
    })
}

/// The target a run would have, without starting anything (no mock, no receiver):
/// enough to plan and list the cases. An embedded mock's keys and fixtures come
/// from its fixtures file, as the started mock's would.
pub(super) fn target_unstarted(cfg: &RunConfig, suites: &[Suite]) -> Result<Target, Error> {
    let unstarted = "http://127.0.0.1";
    let mut target = match &cfg.target {
        TargetChoice::Mock(opts) => {
            let inputs =
                crate::mock::fixture_inputs(opts.fixtures.as_deref()).map_err(|source| {
                    Error::Start {
                        what: "embedded mock",
                        source,
                    }
                })?;
            Target::mock(unstarted, inputs)
        }
        TargetChoice::Vendor(opts) => {
            let mut t = Target::vendor_mock(
                unstarted,
                crate::giftcard::mock::fixture_inputs(),
                crate::giftcard::mock::fixture_facts(),
            );
            if opts.dialect != VendorDialect::PartB {
                t.facts.extend(opts.dialect.facts());
            }
            t
        }
        TargetChoice::Url(u) => {
            Target::from_url(u, &target::load_secrets(cfg.secrets.as_deref())?)?
        }
        TargetChoice::File(p) => {
            Target::from_file(p, &target::load_secrets(cfg.secrets.as_deref())?)?
        }
    };
    if suites
        .iter()
        .flat_map(|s| &s.spec.cases)
        .any(|c| !c.value.vendor.is_empty())
    {
        crate::giftcard::dialect::complete_facts(&mut target.facts)
            .map_err(TargetError::Invalid)?;
    }
    Ok(target)
}

/// The loopback address with a free port, where the embedded servers listen.
fn loopback() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

/// launchgate's webhook receiver, for `receive:` steps.
fn start_receiver(rt: &tokio::runtime::Runtime, cfg: &RunConfig) -> Result<Receiver, Error> {
    let embedded_vendor = matches!(cfg.target, TargetChoice::Vendor(_));
    let w = &cfg.webhooks;
    let opts = ReceiverOptions {
        listen: w.listen.unwrap_or_else(loopback),
        public_url: w.public_url.clone(),
        // Against the embedded vendor mock the first delivery is refused, so retries are seen.
        refuse_first: w.refuse_first.unwrap_or(u32::from(embedded_vendor)),
        token: w.token.clone(),
        ..Default::default()
    };
    let r = rt
        .block_on(Receiver::start(opts))
        .map_err(Error::Receiver)?;
    eprintln!(
        "launchgate: webhook receiver at {} (listening on {})",
        r.url(),
        r.local_addr()
    );
    Ok(r)
}

/// The target: an embedded mock started for the run, or a real one resolved from
/// the environment and the secrets file.
fn start_target(
    rt: &tokio::runtime::Runtime,
    cfg: &RunConfig,
    receiver: Option<&Receiver>,
) -> Result<(Target, Option<Server>), Error> {
    match &cfg.target {
        TargetChoice::Vendor(opts) => start_vendor(rt, opts.clone(), receiver),
        TargetChoice::Mock(opts) => start_mock(rt, opts.clone()),
        TargetChoice::Url(u) => {
            let secrets = target::load_secrets(cfg.secrets.as_deref())?;
            Ok((Target::from_url(u, &secrets)?, None))
        }
        TargetChoice::File(p) => {
            let secrets = target::load_secrets(cfg.secrets.as_deref())?;
            Ok((Target::from_file(p, &secrets)?, None))
        }
    }
}

fn start_mock(
    rt: &tokio::runtime::Runtime,
    opts: MockOptions,
) -> Result<(Target, Option<Server>), Error> {
    let m = rt
        .block_on(MockServer::start(opts, loopback()))
        .map_err(|source| Error::Start {
            what: "embedded mock",
            source,
        })?;
    let t = Target::mock(m.base_url(), m.inputs());
    Ok((t, Some(Server::Agent(m))))
}

fn start_vendor(
    rt: &tokio::runtime::Runtime,
    mut opts: VendorOptions,
    receiver: Option<&Receiver>,
) -> Result<(Target, Option<Server>), Error> {
    let dialect = opts.dialect;
    if let Some(r) = receiver {
        opts.webhook_urls.push(r.url().to_string());
    }
    let m = rt
        .block_on(VendorMock::start(opts, loopback()))
        .map_err(Error::StartVendor)?;
    let mut t = Target::vendor_mock(
        m.base_url(),
        crate::giftcard::mock::fixture_inputs(),
        crate::giftcard::mock::fixture_facts(),
    );
    // The dialect's ready target file says how to talk to it.
    if dialect != VendorDialect::PartB {
        t.facts.extend(dialect.facts());
    }
    Ok((t, Some(Server::Vendor(m))))
}

/// The receiver stores what is signed with the target's webhook secret, and its
/// path token is a secret like a key (whoever knows it can have a body stored).
fn guard_receiver(r: &Receiver, target: &mut Target) {
    if let Some(secret) = target.inputs.keys.get("webhook_secret") {
        let header = target
            .facts
            .get("signature_header")
            .and_then(|v| v.as_str())
            .unwrap_or("X-Signature-256")
            .to_string();
        r.authenticate_with(Verifier::new(
            SchemeChoice::Auto,
            header,
            secret.as_bytes().to_vec(),
            DEFAULT_TOLERANCE,
        ));
    }
    target.secrets.push(r.token().to_string());
}
