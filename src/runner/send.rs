//! Sending: one request at a time, re-sent after a 429 the step did not ask for
//! (honouring Retry-After, capped by --max-wait and the deadline) and by `repeat:`
//! until its condition holds.

use std::ops::ControlFlow;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use serde_saphyr::Spanned;

use super::{shorten, Runner};
use crate::expect::{self, Mismatch};
use crate::http::{Request, Response, TransportError};
use crate::report::{StepReport, WaitCause};
use crate::scenario::{RepeatSpec, StepSpec};
use crate::template::Scope;

/// How sending a step's request ended.
pub(super) enum Sent {
    /// The response to judge.
    Response(Response),
    /// `repeat:` ran out of requests; the last response and why it did not do.
    RepeatExhausted(Response, Mismatch),
    /// No response came.
    NoResponse(TransportError),
}

impl Runner {
    /// Sends a step's request until it has its answer: re-sent by `repeat:` and
    /// after an unexpected 429.
    pub(super) async fn send_step(
        &self,
        step: &StepSpec,
        req: &Request,
        scope: &Scope<'_>,
        rep: &mut StepReport,
    ) -> Sent {
        let accepts_429 = step
            .expect
            .status
            .as_ref()
            .is_some_and(|s| s.value.accepts(429));
        let mut retries_429 = 0;
        loop {
            let resp = match self.send_once(req, accepts_429, rep).await {
                Ok(resp) => resp,
                Err(e) => return Sent::NoResponse(e),
            };
            if let Some(repeat) = &step.repeat {
                match self.repeat(repeat, resp, scope, rep).await {
                    ControlFlow::Break(sent) => return sent,
                    ControlFlow::Continue(()) => continue,
                }
            }
            if resp.status == 429
                && !accepts_429
                && retries_429 < self.options.max_429_retries
                && self.wait_after_429(&resp, rep).await
            {
                retries_429 += 1;
                continue;
            }
            return Sent::Response(resp);
        }
    }

    /// One request, once admitted ([`Runner::admit`]; `exempt` from the key's
    /// budget when the step expects a 429): counted, timed, its redirects recorded
    /// (redacted).
    async fn send_once(
        &self,
        req: &Request,
        exempt: bool,
        rep: &mut StepReport,
    ) -> Result<Response, TransportError> {
        let admitted = self.admit(&req.headers, 1, exempt, rep).await;
        rep.attempts += 1;
        self.sent.fetch_add(1, Ordering::Relaxed);
        let sent_at = Instant::now();
        match self.http.send(req).await {
            Ok(resp) => {
                self.learn(&admitted, &resp);
                rep.request_ms = Some(sent_at.elapsed().as_secs_f64() * 1000.0);
                self.received.fetch_add(1, Ordering::Relaxed);
                rep.redirects = self.redacted_hops(&resp.redirects);
                Ok(resp)
            }
            Err(e) => {
                if !e.redirects.is_empty() {
                    // The target did answer (with a redirect launchgate refused).
                    self.received.fetch_add(1, Ordering::Relaxed);
                }
                rep.redirects = self.redacted_hops(&e.redirects);
                Err(e)
            }
        }
    }

    /// `repeat:`: stops with the response that meets `until`, or with a failure
    /// once `max` requests were sent; otherwise waits its interval to send again.
    async fn repeat(
        &self,
        repeat: &Spanned<RepeatSpec>,
        resp: Response,
        scope: &Scope<'_>,
        rep: &mut StepReport,
    ) -> ControlFlow<Sent> {
        let spec = &repeat.value;
        if expect::check(&spec.until, &resp, scope).is_empty() {
            if rep.attempts > 1 {
                self.note(
                    rep,
                    format!(
                        "repeat: condition met on request {} of at most {}",
                        rep.attempts, spec.max
                    ),
                );
            }
            return ControlFlow::Break(Sent::Response(resp));
        }
        if rep.attempts >= spec.max {
            let m = Mismatch::new(
                repeat.referenced,
                "repeat.until",
                format!("a matching response within {} requests", spec.max),
                format!("HTTP {} on the last one", resp.status),
            );
            return ControlFlow::Break(Sent::RepeatExhausted(resp, m));
        }
        if let Some(i) = spec
            .interval
            .as_deref()
            .and_then(|i| humantime::parse_duration(i).ok())
        {
            self.pause(rep, WaitCause::Repeat, i.min(self.options.max_wait))
                .await;
        }
        ControlFlow::Continue(())
    }

    /// After an unexpected 429: waits its Retry-After (or 1 s without a usable one)
    /// and says to send again; false when the wait is too long to honour.
    async fn wait_after_429(&self, resp: &Response, rep: &mut StepReport) -> bool {
        let ra = resp.header("retry-after");
        let pause = match retry_after(ra.as_deref()) {
            // A wait past the run deadline would only starve every case behind this one.
            Some(d) if d <= self.options.max_wait && d < self.remaining() => {
                self.note(
                    rep,
                    format!(
                        "HTTP 429: honouring Retry-After {} before sending again",
                        humantime::format_duration(d)
                    ),
                );
                d
            }
            Some(d) => {
                self.note(
                    rep,
                    format!(
                        "HTTP 429 with Retry-After {} {}; not retried",
                        humantime::format_duration(d),
                        if d > self.options.max_wait {
                            "above --max-wait"
                        } else {
                            "beyond the run deadline"
                        }
                    ),
                );
                return false;
            }
            None => {
                // 1 s, unless --max-wait allows less.
                let pause = Duration::from_secs(1).min(self.options.max_wait);
                self.note(
                    rep,
                    format!(
                        "HTTP 429 without a usable Retry-After ({}); waiting {}",
                        // A hostile server may send kilobytes here; show a little.
                        ra.as_deref().map_or("absent".into(), |v| shorten(v, 40)),
                        humantime::format_duration(pause)
                    ),
                );
                pause
            }
        };
        self.pause(rep, WaitCause::RetryAfter, pause).await;
        true
    }

    /// Sends one page request; an unexpected 429 is answered by waiting its
    /// Retry-After (capped by --max-wait and the deadline) and sending again.
    pub(super) async fn send_politely(
        &self,
        req: &Request,
        rep: &mut StepReport,
    ) -> Result<Response, TransportError> {
        let mut retries = 0;
        loop {
            let admitted = self.admit(&req.headers, 1, false, rep).await;
            rep.attempts += 1;
            self.sent.fetch_add(1, Ordering::Relaxed);
            let resp = self.http.send(req).await?;
            self.learn(&admitted, &resp);
            drop(admitted);
            self.received.fetch_add(1, Ordering::Relaxed);
            if resp.status != 429 || retries >= self.options.max_429_retries {
                return Ok(resp);
            }
            let wait = retry_after(resp.header("retry-after").as_deref())
                .unwrap_or(Duration::from_secs(1));
            if wait > self.options.max_wait || wait >= self.remaining() {
                return Ok(resp);
            }
            retries += 1;
            self.note(
                rep,
                format!(
                    "HTTP 429: honouring Retry-After {} before sending again",
                    humantime::format_duration(wait)
                ),
            );
            self.pause(rep, WaitCause::RetryAfter, wait).await;
        }
    }
}

/// Parses Retry-After: delta-seconds or an HTTP date. Absurd values yield `None`.
pub fn retry_after(value: Option<&str>) -> Option<Duration> {
    let v = value?.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs.min(86_400 * 365)));
    }
    // Digits too many for u64 still mean "a very long time", not "malformed".
    if v.bytes().all(|b| b.is_ascii_digit()) && !v.is_empty() {
        return Some(Duration::from_secs(86_400 * 365));
    }
    let when = httpdate::parse_http_date(v).ok()?;
    Some(
        when.duration_since(std::time::SystemTime::now())
            .unwrap_or(Duration::ZERO),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_forms() {
        assert_eq!(retry_after(Some("2")), Some(Duration::from_secs(2)));
        assert_eq!(retry_after(Some("soon")), None);
        assert_eq!(retry_after(None), None);
        assert_eq!(
            retry_after(Some("Wed, 21 Oct 2015 07:28:00 GMT")),
            Some(Duration::ZERO)
        );
        assert_eq!(
            retry_after(Some("99999999999999")),
            Some(Duration::from_secs(86_400 * 365))
        );
        assert_eq!(
            retry_after(Some("99999999999999999999999999")),
            Some(Duration::from_secs(86_400 * 365)),
            "beyond u64 is still a number"
        );
    }
}
