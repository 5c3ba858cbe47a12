//! `receive:` steps: waiting (bounded) at the run's webhook receiver until its
//! deliveries meet a condition. Everything the runner needs of the receiver goes
//! through this file: its URL and refusal count (for `{{ run.* }}`), a change
//! notification, and a snapshot of its deliveries checked against a signature.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_saphyr::{Location, Spanned};

use super::{Runner, Verdict};
use crate::expect;
use crate::http::Response;
use crate::receiver::{Receiver, Verify};
use crate::report::StepReport;
use crate::scenario::{load::parse_wait, ReceiveSpec, SignatureSpec, Suite};
use crate::signature::{SchemeChoice, DEFAULT_TOLERANCE};
use crate::template::{expand_str, Scope};

impl Runner {
    /// Gives `receive:` steps a webhook receiver, and templates `{{ run.webhook_url }}`
    /// and `{{ run.webhook_refuse }}`.
    pub fn with_receiver(mut self, receiver: Arc<Receiver>) -> Runner {
        self.run_vars
            .insert("webhook_url".into(), receiver.url().to_string());
        self.run_vars
            .insert("webhook_refuse".into(), receiver.refuse_first().to_string());
        self.receiver = Some(receiver);
        self
    }

    /// A `receive:` step: waits (bounded) until the deliveries at the receiver match
    /// `until`, then returns them as a JSON pseudo-response.
    pub(super) async fn receive(
        &self,
        suite: &Suite,
        recv: &Spanned<ReceiveSpec>,
        at: Location,
        scope: &Scope<'_>,
        rep: &mut StepReport,
    ) -> Result<(Response, String), Verdict> {
        let fail = |msg: String| Verdict::Error(self.bare_failure(suite, at, &msg));
        let Some(receiver) = &self.receiver else {
            return Err(fail(
                "no webhook receiver is running for this run (it starts when a loaded suite has a `receive:` step)".into(),
            ));
        };
        let spec = &recv.value;
        let within = expand_str(&spec.within.value, scope)
            .map_err(|e| fail(format!("receive.within: {e}")))?;
        let within = parse_wait(&within).map_err(|e| fail(format!("receive.within: {e}")))?;
        let within = within.min(self.options.max_wait).min(self.remaining());
        let verify = match &spec.signature {
            None => None,
            Some(sig) => Some(verify(sig, scope).map_err(fail)?),
        };
        let line = format!("RECEIVE {}", receiver.url());
        rep.request = self.redactor.redact(&line).into_owned();
        rep.attempts = 1;
        let t0 = Instant::now();
        let mut changes = receiver.subscribe();
        loop {
            changes.borrow_and_update();
            let body = receiver.snapshot(verify.as_ref());
            let count = body["count"].as_u64().unwrap_or(0);
            let resp = Response {
                status: 200,
                headers: vec![("content-type".into(), "application/json".into())],
                body: serde_json::to_vec(&body).unwrap_or_default(),
                truncated: false,
                redirects: Vec::new(),
            };
            let done = if spec.until.is_empty() {
                count > 0
            } else {
                expect::check(&spec.until, &resp, scope).is_empty()
            };
            let left = within.saturating_sub(t0.elapsed());
            if done || left.is_zero() {
                let waited = humantime::format_duration(Duration::from_millis(
                    t0.elapsed().as_millis() as u64,
                ));
                let met = if done { "met after" } else { "not met within" };
                self.note(
                    rep,
                    format!("{count} deliveries at the receiver; condition {met} {waited}"),
                );
                return Ok((resp, line));
            }
            // Woken by the next delivery, or by the end of the wait.
            let _ = tokio::time::timeout(left, changes.changed()).await;
        }
    }
}

/// The signature check a `receive.signature` asks for, templates expanded.
fn verify(sig: &SignatureSpec, scope: &Scope<'_>) -> Result<Verify, String> {
    let header =
        expand_str(&sig.header, scope).map_err(|e| format!("receive.signature.header: {e}"))?;
    let secret =
        expand_str(&sig.secret, scope).map_err(|e| format!("receive.signature.secret: {e}"))?;
    let scheme = match &sig.scheme {
        None => SchemeChoice::Auto,
        Some(t) => expand_str(t, scope)
            .map_err(|e| e.to_string())
            .and_then(|t| t.parse())
            .map_err(|e| format!("receive.signature.scheme: {e}"))?,
    };
    let tolerance = match &sig.tolerance {
        None => DEFAULT_TOLERANCE,
        Some(t) => expand_str(t, scope)
            .map_err(|e| e.to_string())
            .and_then(|t| parse_wait(&t).map_err(|e| e.to_string()))
            .map_err(|e| format!("receive.signature.tolerance: {e}"))?,
    };
    Ok(Verify::new(scheme, header, secret.into_bytes(), tolerance))
}
