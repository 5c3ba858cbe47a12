//! `parallel: N` steps: N copies of a request sent at once (each built separately,
//! so `{{ uuid() }}` differs), answered by a pseudo-response listing them all.

use std::collections::BTreeSet;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::Runner;
use crate::http::{Response, TransportError};
use crate::report::StepReport;
use crate::scenario::{RequestSpec, StatusSpec, Suite};
use crate::template::Scope;

/// One copy's result and latency; `None` when its task failed.
type CopyResult = Option<(Result<Response, TransportError>, Duration)>;

/// What the copies' answers add up to.
#[derive(Default)]
struct Tally {
    responses: Vec<Value>,
    statuses: Vec<Value>,
    ok_bodies: BTreeSet<Vec<u8>>,
    first_status: Option<u16>,
    first_unexpected: Option<u16>,
    slowest: Duration,
}

impl Runner {
    /// A `parallel: N` step: sends N copies of the request at once and returns a
    /// pseudo-response listing them.
    pub(super) async fn parallel(
        &self,
        suite: &Suite,
        request: &RequestSpec,
        n: u32,
        expected: Option<&StatusSpec>,
        scope: &Scope<'_>,
        rep: &mut StepReport,
    ) -> Result<(Response, String), String> {
        let mut reqs = Vec::new();
        for _ in 0..n {
            reqs.push(self.build_request(suite, request, scope)?);
        }
        let line = reqs
            .first()
            .map(|r| format!("{} {} (x{n} in parallel)", r.method, r.url))
            .unwrap_or_default();
        rep.request = self.redactor.redact(&line).into_owned();
        if let Some(first) = reqs.first() {
            self.describe(rep, suite, request, first);
        }
        rep.attempts = n;
        let headers = reqs.first().map(|r| r.headers.clone()).unwrap_or_default();
        // All at once is the point: the copies take their slots together.
        let admitted = self.admit(&headers, n, false, rep).await;
        let results = self.send_copies(reqs).await;
        for (r, _) in results.iter().flatten() {
            if let Ok(resp) = r {
                self.learn(&admitted, resp);
            }
        }
        drop(admitted);
        let mut tally = Tally::default();
        for slot in results {
            self.count(&mut tally, slot, expected);
        }
        rep.request_ms = Some(tally.slowest.as_secs_f64() * 1000.0);
        self.note(
            rep,
            format!(
                "parallel: statuses {}",
                Value::Array(tally.statuses.clone())
            ),
        );
        let body = json!({
            "responses": tally.responses,
            "statuses": tally.statuses,
            "distinct_bodies": tally.ok_bodies.len(),
        });
        // `status:` must hold for every response: the pseudo-response carries the
        // first status that breaks it, else the first status seen (0: none came).
        let status = tally.first_unexpected.or(tally.first_status).unwrap_or(0);
        Ok((
            Response {
                status,
                headers: vec![("content-type".into(), "application/json".into())],
                body: serde_json::to_vec(&body).unwrap_or_default(),
                truncated: false,
                redirects: Vec::new(),
            },
            line,
        ))
    }

    /// Sends every request at once; results in the requests' order.
    async fn send_copies(&self, reqs: Vec<crate::http::Request>) -> Vec<CopyResult> {
        let n = reqs.len();
        let mut set = tokio::task::JoinSet::new();
        for (i, req) in reqs.into_iter().enumerate() {
            let http = self.http.clone();
            self.sent.fetch_add(1, Ordering::Relaxed);
            set.spawn(async move {
                let t = Instant::now();
                let r = http.send(&req).await;
                (i, r, t.elapsed())
            });
        }
        let mut results: Vec<CopyResult> = (0..n).map(|_| None).collect();
        while let Some(joined) = set.join_next().await {
            if let Ok((i, r, d)) = joined {
                if r.is_ok() {
                    self.received.fetch_add(1, Ordering::Relaxed);
                }
                if let Some(slot) = results.get_mut(i) {
                    *slot = Some((r, d));
                }
            }
        }
        results
    }

    /// Adds one copy's answer to the tally (headers redacted).
    fn count(&self, tally: &mut Tally, slot: CopyResult, expected: Option<&StatusSpec>) {
        let Some((r, d)) = slot else {
            tally
                .responses
                .push(json!({"status": null, "error": "the request task failed"}));
            tally.statuses.push(Value::Null);
            return;
        };
        tally.slowest = tally.slowest.max(d);
        let resp = match r {
            Ok(resp) => resp,
            Err(e) => {
                tally.statuses.push(Value::Null);
                tally
                    .responses
                    .push(json!({"status": null, "error": e.message}));
                return;
            }
        };
        let mut headers = serde_json::Map::new();
        for (k, v) in &resp.headers {
            headers.insert(
                k.clone(),
                Value::String(self.redactor.header_value(k, v).into_owned()),
            );
        }
        let body = resp
            .json()
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&resp.body).into_owned()));
        if (200..300).contains(&resp.status) {
            tally.ok_bodies.insert(resp.body.clone());
        }
        tally.first_status.get_or_insert(resp.status);
        if expected.is_some_and(|e| !e.accepts(resp.status)) {
            tally.first_unexpected.get_or_insert(resp.status);
        }
        tally.statuses.push(Value::from(resp.status));
        tally.responses.push(json!({
            "status": resp.status,
            "headers": headers,
            "body": body,
        }));
    }
}
