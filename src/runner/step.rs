//! One step: its guards, its `wait:`, then the exchange it describes (one request,
//! `parallel:` copies, a `pages:` walk or a `receive:`), judged by [`super::judge`].

use serde_saphyr::{Location, Spanned};

use super::send::Sent;
use super::{Runner, Verdict};
use crate::expect;
use crate::report::{StepReport, WaitCause};
use crate::scenario::{load::parse_wait, GuardSpec, RequestSpec, StepSpec, Suite};
use crate::template::{expand_str, expand_value, Scope};

impl Runner {
    /// Runs one step into `rep` and says how it ended (before `record:`).
    pub(super) async fn step_inner(
        &self,
        suite: &Suite,
        step: &StepSpec,
        at: Location,
        scope: &mut Scope<'_>,
        rep: &mut StepReport,
    ) -> Verdict {
        if let Some(v) = self.check_guards(suite, &step.guard, scope, rep) {
            return v;
        }
        if let Some(w) = &step.wait {
            if let Some(v) = self.honour_wait(suite, w, scope, rep).await {
                return v;
            }
        }
        self.exchange(suite, step, at, scope, rep).await
    }

    /// Guards: a false guard means the case cannot prove anything here. `Some` is
    /// the verdict of a guard that did not hold or could not be evaluated.
    fn check_guards(
        &self,
        suite: &Suite,
        guards: &[Spanned<GuardSpec>],
        scope: &Scope<'_>,
        rep: &StepReport,
    ) -> Option<Verdict> {
        for g in guards {
            let value = match expand_value(&g.value.value, scope) {
                Ok(v) => v,
                Err(e) => {
                    let f = self.bare_failure(suite, g.referenced, &format!("guard: {e}"));
                    return Some(Verdict::Error(f));
                }
            };
            if let Err(e) = expect::check_matcher(&g.value.is.0, Some(&value), scope, true) {
                let why = g.value.because.as_deref().unwrap_or("guard did not hold");
                let shown = self
                    .redactor
                    .redact(&format!(
                        "{why}: expected {}, got {} (step `{}`, {})",
                        e.expected,
                        e.actual,
                        rep.name,
                        self.location(suite, None, g.referenced)
                    ))
                    .into_owned();
                return Some(Verdict::Inconclusive(shown));
            }
        }
        None
    }

    /// A step's `wait:` (a template, so it can wait out a captured Retry-After),
    /// bounded by --max-wait; `Some` is the verdict of a wait that cannot be honoured.
    async fn honour_wait(
        &self,
        suite: &Suite,
        w: &Spanned<String>,
        scope: &Scope<'_>,
        rep: &mut StepReport,
    ) -> Option<Verdict> {
        let error =
            |msg: String| Some(Verdict::Error(self.bare_failure(suite, w.referenced, &msg)));
        let d = match expand_str(&w.value, scope)
            .map_err(|e| e.to_string())
            .and_then(|text| parse_wait(&text).map_err(|e| e.to_string()))
        {
            Ok(d) => d,
            Err(e) => return error(format!("wait: {e}")),
        };
        if d > self.options.max_wait {
            return error(format!(
                "wait of {} exceeds --max-wait {}",
                humantime::format_duration(d),
                humantime::format_duration(self.options.max_wait)
            ));
        }
        // Announced as it starts and ends (progress); the report keeps the note.
        self.record_note(rep, format!("waited {}", humantime::format_duration(d)));
        self.pause(rep, WaitCause::Wait, d).await;
        None
    }

    /// The step's exchange, judged.
    async fn exchange(
        &self,
        suite: &Suite,
        step: &StepSpec,
        at: Location,
        scope: &mut Scope<'_>,
        rep: &mut StepReport,
    ) -> Verdict {
        let err = |msg: String| Verdict::Error(self.bare_failure(suite, at, &msg));
        if let Some(recv) = &step.receive {
            return match self.receive(suite, recv, at, scope, rep).await {
                Ok((resp, line)) => self.judge(suite, step, at, scope, rep, &resp, &line),
                Err(v) => v,
            };
        }
        let Some(request) = &step.request else {
            return err("a step needs `request:` or `receive:`".into());
        };
        let pseudo = if let Some(n) = &step.parallel {
            let expected = step.expect.status.as_ref().map(|s| &s.value);
            self.parallel(suite, request, n.value, expected, scope, rep)
                .await
        } else if let Some(p) = &step.pages {
            self.walk_pages(suite, request, &p.value, scope, rep).await
        } else {
            return self.single(suite, step, request, at, scope, rep).await;
        };
        match pseudo {
            Ok((resp, line)) => self.judge(suite, step, at, scope, rep, &resp, &line),
            Err(e) => err(e),
        }
    }

    /// One request (re-sent on an unexpected 429 or by `repeat:`), judged.
    async fn single(
        &self,
        suite: &Suite,
        step: &StepSpec,
        request: &RequestSpec,
        at: Location,
        scope: &mut Scope<'_>,
        rep: &mut StepReport,
    ) -> Verdict {
        let req = match self.build_request(suite, request, scope) {
            Ok(r) => r,
            Err(e) => return Verdict::Error(self.bare_failure(suite, at, &e)),
        };
        rep.request = self
            .redactor
            .redact(&format!("{} {}", req.method, req.url))
            .into_owned();
        self.describe(rep, suite, request, &req);
        let request_line = self.request_excerpt(&req);
        match self.send_step(step, &req, scope, rep).await {
            Sent::Response(resp) => self.judge(suite, step, at, scope, rep, &resp, &request_line),
            Sent::RepeatExhausted(resp, m) => {
                Verdict::Fail(self.failure(suite, &rep.name, at, &[m], &request_line, Some(&resp)))
            }
            Sent::NoResponse(e) => {
                rep.notes
                    .push(self.redactor.redact(&e.message).into_owned());
                let mismatches = expect::check_failure(&step.expect, e.kind, &e.message);
                if mismatches.is_empty() {
                    return Verdict::Pass;
                }
                let mut f = self.failure(suite, &rep.name, at, &mismatches, &request_line, None);
                f.message = self
                    .redactor
                    .redact(&format!("no response: {}", e.message))
                    .into_owned();
                if step.expect.error.is_some() {
                    Verdict::Fail(f)
                } else {
                    Verdict::Error(f)
                }
            }
        }
    }
}
