//! Judging a response (real, or the pseudo-response of `parallel:`, `pages:` or
//! `receive:`): expectations, warnings, captures, snapshots; and the failure
//! reports that say what did not hold, redacted.

use serde_json::Value;
use serde_saphyr::Location;

use super::request::scalar_text;
use super::{Runner, Verdict};
use crate::expect::{self, Mismatch};
use crate::http::{Hop, Response};
use crate::report::{FailureReport, StepReport};
use crate::scenario::{StepSpec, Suite};
use crate::snapshot;
use crate::template::{expand_str, Scope};

impl Runner {
    /// Judges a response: expectations, warnings, captures, snapshot.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn judge(
        &self,
        suite: &Suite,
        step: &StepSpec,
        at: Location,
        scope: &mut Scope<'_>,
        rep: &mut StepReport,
        resp: &Response,
        request_line: &str,
    ) -> Verdict {
        rep.status = Some(resp.status);
        let mismatches = expect::check(&step.expect, resp, scope);
        if !mismatches.is_empty() {
            return Verdict::Fail(self.failure(
                suite,
                &rep.name,
                at,
                &mismatches,
                request_line,
                Some(resp),
            ));
        }
        for w in expect::check(&step.warn, resp, scope) {
            let l = self.location(suite, w.at, at);
            self.note(rep, format!("warning: {} ({l})", w.line()));
        }
        if let Err(m) = captures(step, resp, scope) {
            return Verdict::Fail(self.failure(
                suite,
                &rep.name,
                at,
                &[m],
                request_line,
                Some(resp),
            ));
        }
        match self.check_snapshot(suite, step, resp) {
            None => Verdict::Pass,
            Some((m, mm)) => {
                let mut f = self.failure(suite, &rep.name, at, &[m], request_line, None);
                f.message = mm.message;
                f.details.extend(mm.diff.lines().map(str::to_string));
                Verdict::Fail(f)
            }
        }
    }

    /// The step's `snapshot:`, compared with (or recorded as) the golden response;
    /// on a difference, the mismatch and what the store says of it.
    fn check_snapshot(
        &self,
        suite: &Suite,
        step: &StepSpec,
        resp: &Response,
    ) -> Option<(Mismatch, snapshot::SnapshotMismatch)> {
        let snap = step.snapshot.as_ref()?;
        let body = resp
            .json()
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&resp.body).into_owned()));
        let volatile: Vec<String> = suite
            .spec
            .snapshot
            .volatile
            .iter()
            .map(|v| v.value.clone())
            .collect();
        self.snapshots
            .check(
                &suite.name,
                &snap.value,
                resp.status,
                &body,
                &volatile,
                &self.redactor,
            )
            .err()
            .map(|mm| {
                let m = Mismatch::new(
                    snap.referenced,
                    "snapshot",
                    format!("the response recorded in {}", mm.path.display()),
                    "a different response",
                );
                (m, mm)
            })
    }

    /// A failure report: the first mismatch as the message, every one as a detail.
    pub(super) fn failure(
        &self,
        suite: &Suite,
        step: &str,
        at: Location,
        mismatches: &[Mismatch],
        request: &str,
        resp: Option<&Response>,
    ) -> FailureReport {
        let r = &self.redactor;
        let first = mismatches.first();
        let extra = mismatches.len().saturating_sub(1);
        let message = match first {
            Some(m) if extra > 0 => format!("{} (and {extra} more)", m.line()),
            Some(m) => m.line(),
            None => "failed".into(),
        };
        let details = mismatches
            .iter()
            .map(|m| {
                let l = self.location(suite, m.at, at);
                r.redact(&format!("{l}: {}", m.line())).into_owned()
            })
            .collect();
        FailureReport {
            step: step.to_string(),
            location: self.location(suite, first.and_then(|m| m.at), at),
            message: r.redact(&message).into_owned(),
            details,
            request: request.to_string(),
            response: resp.map(|x| self.redacted_excerpt(x)),
        }
    }

    /// A response as a failure report shows it: headers and body redacted, bounded.
    /// Every part is redacted once, before the excerpt is cut (a key cut in half no
    /// longer matches); what the excerpt adds (status line, lengths) holds no secret.
    pub(super) fn redacted_excerpt(&self, resp: &Response) -> String {
        let r = &self.redactor;
        let shown = Response {
            status: resp.status,
            headers: resp
                .headers
                .iter()
                // A hostile target may echo a key in a header's name, too.
                .map(|(n, v)| (r.redact(n).into_owned(), r.header_value(n, v).into_owned()))
                .collect(),
            body: r
                .redact(&String::from_utf8_lossy(&resp.body))
                .into_owned()
                .into_bytes(),
            truncated: resp.truncated,
            redirects: Vec::new(),
        };
        expect::excerpt(&shown, self.options.excerpt_chars)
    }

    /// Redirect hops with their URLs redacted.
    pub(super) fn redacted_hops(&self, hops: &[Hop]) -> Vec<Hop> {
        hops.iter()
            .map(|h| Hop {
                from: self.redactor.redact(&h.from).into_owned(),
                to: self.redactor.redact(&h.to).into_owned(),
                ..h.clone()
            })
            .collect()
    }
}

/// The step's `capture:`s into `scope.vars`; the first that finds nothing fails.
fn captures(step: &StepSpec, resp: &Response, scope: &mut Scope<'_>) -> Result<(), Mismatch> {
    for (var, cap) in &step.capture {
        match capture(&cap.value, resp, scope) {
            Ok(v) => {
                scope.vars.insert(var.clone(), v);
            }
            Err(actual) => {
                let c = &cap.value;
                let source = c
                    .json
                    .clone()
                    .or_else(|| c.header.clone().map(|h| format!("header {h}")))
                    .unwrap_or_default();
                return Err(Mismatch::new(
                    cap.referenced,
                    format!("capture {var}"),
                    format!("a value at {source}"),
                    actual,
                ));
            }
        }
    }
    Ok(())
}

/// The value a capture takes from a response, or what was there instead.
fn capture(
    c: &crate::scenario::CaptureSpec,
    resp: &Response,
    scope: &Scope,
) -> Result<Value, String> {
    let found = if c.status {
        Some(Value::from(resp.status))
    } else if let Some(h) = &c.header {
        resp.header(h).map(|v| number_or_string(&v))
    } else if let Some(p) = &c.json {
        let path = expand_str(p, scope).map_err(|e| e.to_string())?;
        let body = resp.json()?;
        if c.all {
            Some(expect::query_all(&body, &path)?)
        } else {
            expect::query_first(&body, &path)?
        }
    } else {
        None
    };
    match (found, &c.regex) {
        (Some(v), Some(re)) => regex_capture(&v, re),
        (found, _) => found.ok_or_else(|| "nothing".to_string()),
    }
}

/// The part of a captured value's text a capture `regex:` keeps: its first group, or
/// the whole match; what was there when it does not match.
fn regex_capture(v: &Value, re: &str) -> Result<Value, String> {
    let text = scalar_text(v);
    let re = regex::Regex::new(re).map_err(|e| format!("a valid regex ({e})"))?;
    let caps = re
        .captures(&text)
        .ok_or_else(|| format!("{} (no match for /{re}/)", expect::show(Some(v))))?;
    let m = caps
        .get(1)
        .or_else(|| caps.get(0))
        .map_or("", |m| m.as_str());
    Ok(Value::String(m.to_string()))
}

fn number_or_string(s: &str) -> Value {
    let t = s.trim();
    if let Ok(i) = t.parse::<i64>() {
        return Value::from(i);
    }
    if let Ok(f) = t.parse::<f64>() {
        if f.is_finite() {
            return Value::from(f);
        }
    }
    Value::String(s.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_captures_become_numbers() {
        assert_eq!(number_or_string("60"), Value::from(60));
        assert_eq!(number_or_string("abc"), Value::from("abc"));
    }
}
