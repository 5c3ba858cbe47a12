//! Console rendering: the failure block libtest-mimic prints for a failed case,
//! and the closing summary.

use std::fmt::Write as _;

use super::{CaseReport, Execution, RunReport};

/// The block shown under a failed or errored case.
pub fn failure_block(case: &CaseReport) -> String {
    let mut s = String::new();
    let Some(f) = &case.failure else {
        return format!("{} (no details)", case.outcome.as_str());
    };
    let _ = writeln!(s, "{}", f.message);
    let _ = writeln!(s, "  --> {}", f.location);
    if !f.step.is_empty() {
        let _ = writeln!(s, "  step:    {}", f.step);
    }
    let mut request = f.request.lines();
    if let Some(line) = request.next() {
        let _ = writeln!(s, "  request: {line}");
        for l in request {
            let _ = writeln!(s, "    {l}");
        }
    }
    for d in &f.details {
        let _ = writeln!(s, "  | {d}");
    }
    if let Some(r) = &f.response {
        let _ = writeln!(s, "  response (excerpt):");
        for line in r.lines().take(40) {
            let _ = writeln!(s, "    {line}");
        }
    }
    for st in &case.steps {
        for h in &st.redirects {
            let _ = writeln!(s, "  redirect ({}): {}", st.name, super::hop_line(h));
        }
        for n in &st.notes {
            let _ = writeln!(s, "  note ({}): {n}", st.name);
        }
    }
    s
}

/// One closing line with the counts, in the plain `N passed, N failed` form CI log readers know.
/// Cases that do not apply to the target are counted apart from skips.
pub fn summary(report: &RunReport) -> String {
    let t = report.totals();
    let not_applicable = match report.not_applicable.len() {
        0 => String::new(),
        n => format!("; {n} not applicable to this target"),
    };
    format!(
        "launchgate: {} passed, {} failed, {} skipped ({} errored, {} inconclusive{}) against {} {} in {:.2}s",
        t.passed,
        t.failed + t.errored,
        t.skipped + t.inconclusive,
        t.errored,
        t.inconclusive,
        not_applicable,
        report.target.kind,
        report.target.base_url,
        report.duration_ms as f64 / 1000.0
    )
}

/// One line on how the run used its time: requests and concurrency, then what it
/// waited for and how long (summed over cases: waits of different cases overlap),
/// and the connections it opened.
pub fn execution_line(report: &RunReport, e: &Execution) -> String {
    let mut s = format!(
        "launchgate: {} requests in {}, at most {} in flight (--jobs {})",
        report.requests_sent,
        crate::report::html::format_ms(report.duration_ms as f64),
        e.peak_in_flight,
        e.jobs
    );
    if !e.waited.is_empty() {
        let parts: Vec<String> = e
            .waited
            .iter()
            .map(|w| {
                format!(
                    "{} on {} ({})",
                    crate::report::html::format_ms(w.ms as f64),
                    w.cause.label(),
                    w.count
                )
            })
            .collect();
        let _ = write!(s, "; waited {}", parts.join(", "));
    }
    let c = &e.connections;
    if c.opened > 0 {
        let _ = write!(
            s,
            "; {} connection{} opened in {}",
            c.opened,
            if c.opened == 1 { "" } else { "s" },
            crate::report::html::format_ms(c.setup_ms)
        );
        if c.warmed > 0 {
            let _ = write!(s, " ({} ahead of the run)", c.warmed);
        }
    }
    s
}
