//! The self-contained HTML report for QA sign-off.
//!
//! One file, no external scripts, fonts, stylesheets or images, and no script
//! at all: a strict Content-Security-Policy ([`CSP`]) forbids anything else. It
//! shows the launch decision, the Final Launch Checklist with links to its
//! evidence, every case with its steps (failures first and open), a timeline of
//! the run and the response latency per endpoint as inline SVG. It prints
//! (print CSS): open failures in full, every other case as one line.
//!
//! Everything is generated with `maud`, which escapes every interpolated
//! string: text that came from a target (response excerpts, messages, URLs)
//! cannot become markup. Like every report, the rendered text is passed through
//! the run's redactor by the caller before it is written.

use std::collections::{BTreeMap, HashMap};
use std::sync::OnceLock;

use maud::{html, Markup, PreEscaped, DOCTYPE};
use regex::Regex;

use crate::evaluation::html::{badge, section as extra_section, ticks_as_code};
use crate::evaluation::Vocabulary;
use crate::report::checklist::{CaseRef, ChecklistReport, Decision, Level, Verdict};
use crate::report::{CaseReport, Outcome, RunReport, StepReport};

/// The Content-Security-Policy of the report: inline styles and `data:` images only.
pub const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src data:";

/// A table contributed by another part of launchgate, shown as its own section
/// (an evaluation's rows: [`crate::evaluation::html::table`]).
pub use crate::evaluation::html::Table as ExtraTable;

/// Optional sections, hidden when absent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Extras {
    /// A vendor scorecard (e.g. mock fidelity per vendor behaviour).
    pub vendor_scorecard: Option<ExtraTable>,
    /// Verdicts of the client referee on the integration's own client.
    pub referee_verdicts: Option<ExtraTable>,
}

// ---------------------------------------------------------------------------
// Pure data helpers (unit-tested below).

fn uuid_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r"(?i)[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
            .expect("static regex")
    })
}

/// One path segment of a concrete URL as it reads in a path template.
fn template_segment(seg: &str) -> String {
    if seg.is_empty() {
        return String::new();
    }
    let opaque = seg.len() >= 16
        && seg.bytes().any(|b| b.is_ascii_digit())
        && seg
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
    if seg.bytes().all(|b| b.is_ascii_digit())
        || seg.contains('@')
        || seg.to_ascii_lowercase().contains("%40")
        || opaque
    {
        return "{id}".into();
    }
    uuid_re().replace_all(seg, "{id}").into_owned()
}

/// A stable endpoint label from a request's method and URL: the method and the
/// URL's path, without scheme, host and query, with UUIDs, numbers, member
/// identifiers (e-mail addresses) and long opaque ids replaced by `{id}`.
///
/// `GET`, `https://h/api/cards/0b1f3790-be06-42fd-9aaf-6ec4a380626b?x=1` gives
/// `GET /api/cards/{id}`.
pub fn endpoint_label(method: &str, url: &str) -> String {
    let url = url.trim();
    let path = match url.find("://") {
        Some(i) => {
            let after = &url[i + 3..];
            after.find('/').map_or("/", |j| &after[j..])
        }
        None => url,
    };
    let path = path.split(['?', '#']).next().unwrap_or("");
    let mut templ = path
        .split('/')
        .map(template_segment)
        .collect::<Vec<_>>()
        .join("/");
    if templ.is_empty() {
        templ.push('/');
    }
    if method.is_empty() {
        templ
    } else {
        format!("{method} {templ}")
    }
}

/// The endpoint a step's request went to, from its recorded method and URL. A report
/// written before launchgate recorded them has only the `METHOD URL` line to go by.
fn step_endpoint(s: &StepReport) -> String {
    match (&s.method, &s.url) {
        (Some(m), Some(u)) => endpoint_label(m, u),
        _ => {
            let line = s.request.trim();
            let (m, u) = line.split_once(' ').unwrap_or(("", line));
            endpoint_label(m, u)
        }
    }
}

/// Response latency of one endpoint.
#[derive(Debug, Clone, PartialEq)]
pub struct EndpointLatency {
    /// From [`endpoint_label`].
    pub endpoint: String,
    /// Responses measured.
    pub count: usize,
    /// Fastest, in milliseconds.
    pub min_ms: f64,
    /// Median, in milliseconds.
    pub median_ms: f64,
    /// Slowest, in milliseconds.
    pub max_ms: f64,
}

/// The latency sample of one step: `request_ms`, or for reports written before
/// it existed the step time of a single-attempt step without waits.
fn step_latency(s: &StepReport) -> Option<f64> {
    s.status?;
    if s.request.trim().is_empty() {
        return None;
    }
    match s.request_ms {
        Some(ms) => Some(ms),
        None if s.attempts == 1 && s.notes.is_empty() => Some(s.duration_ms as f64),
        None => None,
    }
}

/// Min / median / max response latency per endpoint, sorted by endpoint.
pub fn latency_by_endpoint(report: &RunReport) -> Vec<EndpointLatency> {
    let mut by: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for s in report.cases().flat_map(|c| &c.steps) {
        if let Some(ms) = step_latency(s) {
            by.entry(step_endpoint(s)).or_default().push(ms);
        }
    }
    by.into_iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(endpoint, mut v)| {
            v.sort_by(f64::total_cmp);
            let n = v.len();
            let median = if n % 2 == 1 {
                v[n / 2]
            } else {
                (v[n / 2 - 1] + v[n / 2]) / 2.0
            };
            EndpointLatency {
                endpoint,
                count: n,
                min_ms: v[0],
                median_ms: median,
                max_ms: v[n - 1],
            }
        })
        .collect()
}

/// Assigns intervals `(start, end)` to lanes so that no two in a lane overlap:
/// first fit in start order. Returns each interval's lane and the number of lanes.
pub fn pack_lanes(intervals: &[(f64, f64)]) -> (Vec<usize>, usize) {
    let mut order: Vec<usize> = (0..intervals.len()).collect();
    order.sort_by(|&a, &b| intervals[a].0.total_cmp(&intervals[b].0).then(a.cmp(&b)));
    let mut lane_end: Vec<f64> = Vec::new();
    let mut lanes = vec![0; intervals.len()];
    for i in order {
        let (start, end) = intervals[i];
        match lane_end.iter().position(|&e| e <= start) {
            Some(l) => {
                lanes[i] = l;
                lane_end[l] = end;
            }
            None => {
                lanes[i] = lane_end.len();
                lane_end.push(end);
            }
        }
    }
    (lanes, lane_end.len())
}

/// True when a step paused: Retry-After, `wait:`, a repeat's interval, the
/// rate-limit budget (queueing for a slot or a lock is not a pause).
fn paused(s: &StepReport) -> bool {
    s.waits.iter().any(|w| w.cause.is_pause())
}

/// `waited 2 s (Retry-After)`, for each pause of a step.
fn pause_texts(s: &StepReport) -> Vec<String> {
    s.waits
        .iter()
        .filter(|w| w.cause.is_pause())
        .map(|w| format!("waited {} ({})", format_ms(w.ms as f64), w.cause.label()))
        .collect()
}

/// Milliseconds since the run's start of an RFC 3339 time (0 when unparsable).
fn offset_ms(run_start: Option<chrono::DateTime<chrono::FixedOffset>>, at: &str) -> f64 {
    match (run_start, chrono::DateTime::parse_from_rfc3339(at)) {
        (Some(s), Ok(t)) => ((t - s).num_microseconds().unwrap_or(0) as f64 / 1000.0).max(0.0),
        _ => 0.0,
    }
}

/// `3 ms`, `1.25 s`, `2 min 5 s`.
pub fn format_ms(ms: f64) -> String {
    if ms < 10.0 {
        let s = format!("{ms:.1}");
        format!("{} ms", s.trim_end_matches(".0"))
    } else if ms < 1000.0 {
        format!("{ms:.0} ms")
    } else if ms < 60_000.0 {
        format!("{:.2} s", ms / 1000.0)
    } else {
        let s = (ms / 1000.0).round() as u64;
        format!("{} min {} s", s / 60, s % 60)
    }
}

/// A "nice" tick step (1, 2 or 5 × 10ⁿ) for an axis of `span` units with about `ticks` ticks.
fn nice_step(span: f64, ticks: f64) -> f64 {
    if span <= 0.0 || !span.is_finite() {
        return 1.0;
    }
    let raw = span / ticks;
    let mag = 10f64.powf(raw.log10().floor());
    let n = raw / mag;
    let f = if n <= 1.0 {
        1.0
    } else if n <= 2.0 {
        2.0
    } else if n <= 5.0 {
        5.0
    } else {
        10.0
    };
    f * mag
}

/// The base URL as shown: no user info, query or fragment.
fn display_url(u: &str) -> String {
    match url::Url::parse(u) {
        Ok(mut url) => {
            let _ = url.set_username("");
            let _ = url.set_password(None);
            url.set_query(None);
            url.set_fragment(None);
            url.to_string()
        }
        Err(_) => u.split(['?', '#']).next().unwrap_or("").to_string(),
    }
}

/// `2026-11-25T15:06:13.821Z` as `2026-11-25 15:06:13 UTC`.
fn display_time(t: &str) -> String {
    match chrono::DateTime::parse_from_rfc3339(t) {
        Ok(d) => d
            .with_timezone(&chrono::Utc)
            .format("%Y-%m-%d %H:%M:%S UTC")
            .to_string(),
        Err(_) => t.to_string(),
    }
}

// ---------------------------------------------------------------------------
// Rendering.

const STYLE: &str = r#"
:root{--fg:#1d2430;--muted:#5b6576;--line:#d9dee7;--bg:#fff;--soft:#f5f7fa;
--pass:#1f7a3a;--pass-bg:#e3f4e8;--fail:#b42318;--fail-bg:#fde8e6;--skip:#596273;--skip-bg:#eceff3;
--inc:#6b4fbb;--inc-bg:#efeafd;--open:#9a5b00;--open-bg:#fff3d6;--wait:#d98a00}
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;color:var(--fg);background:var(--bg)}
main{max-width:1180px;margin:0 auto;padding:24px 28px 48px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin:32px 0 10px;padding-bottom:4px;border-bottom:2px solid var(--line)}
h3{font-size:15px;margin:18px 0 6px}
code,pre,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,"DejaVu Sans Mono",monospace;font-size:12.5px}
pre{background:var(--soft);border:1px solid var(--line);border-radius:4px;padding:8px 10px;white-space:pre-wrap;word-break:break-all;margin:6px 0;max-height:28em;overflow:auto}
a{color:#1b5fb4}
table{border-collapse:collapse;width:100%;margin:6px 0 10px}
th,td{border-bottom:1px solid var(--line);padding:5px 8px;text-align:left;vertical-align:top}
th{background:var(--soft);font-weight:600;font-size:13px}
td.num,th.num{text-align:right;white-space:nowrap;font-variant-numeric:tabular-nums}
.muted{color:var(--muted)}.small{font-size:12.5px}
.decision{border-radius:8px;padding:16px 20px;margin:12px 0 8px;border:2px solid}
.decision .label{font-size:30px;font-weight:800;letter-spacing:.5px}
.d-go{background:var(--pass-bg);border-color:var(--pass);color:var(--pass)}
.d-open{background:var(--open-bg);border-color:var(--open);color:var(--open)}
.d-nogo{background:var(--fail-bg);border-color:var(--fail);color:var(--fail)}
.decision p{margin:4px 0 0;color:var(--fg)}
.decision ul{margin:4px 0 0;padding-left:20px;color:var(--fg)}
.mock{background:#fff0c2;border:2px dashed var(--open);border-radius:8px;padding:10px 16px;margin:8px 0;font-weight:600}
.meta{display:grid;grid-template-columns:max-content 1fr;gap:2px 16px;margin:12px 0}
.meta dt{color:var(--muted)}.meta dd{margin:0;word-break:break-all}
.tiles{display:flex;gap:10px;flex-wrap:wrap;margin:10px 0}
.tile{border:1px solid var(--line);border-radius:6px;padding:6px 14px;min-width:96px}
.tile strong{display:block;font-size:22px}
.badge{display:inline-block;border-radius:10px;padding:0 8px;font-size:12px;font-weight:600;white-space:nowrap;border:1px solid}
.o-passed,.v-pass{color:var(--pass);background:var(--pass-bg);border-color:var(--pass)}
.o-failed,.o-errored,.v-fail{color:var(--fail);background:var(--fail-bg);border-color:var(--fail)}
.o-skipped{color:var(--skip);background:var(--skip-bg);border-color:var(--skip)}
.o-inconclusive{color:var(--inc);background:var(--inc-bg);border-color:var(--inc)}
.v-unknown{color:var(--open);background:var(--open-bg);border-color:var(--open)}
.chips a{display:inline-block;margin:1px 4px 1px 0;text-decoration:none}
details.fold>summary{cursor:pointer;color:var(--muted);margin-top:2px}
.attention li{margin:3px 0}
details.case{border:1px solid var(--line);border-radius:6px;margin:4px 0;background:var(--bg)}
details.case>summary{cursor:pointer;padding:5px 10px;display:flex;gap:10px;align-items:baseline;list-style-position:outside}
details.case>summary .name{flex:1;font-weight:500}
details.case>summary .dur{color:var(--muted);white-space:nowrap;font-variant-numeric:tabular-nums}
details.case .body{padding:4px 12px 10px;border-top:1px solid var(--line)}
details.bad{border-color:var(--fail);border-left:6px solid var(--fail);background:#fffafa}
details.skip{border-left:6px solid var(--skip)}details.inc{border-left:6px solid var(--inc)}
details.case:target{outline:3px solid #1b5fb4}
.reason{color:var(--muted);font-size:12.5px}
.failure{border-left:4px solid var(--fail);padding:2px 10px;margin:8px 0;background:#fffafa}
.failure ul{margin:4px 0;padding-left:18px}
.steps td:nth-child(3){word-break:break-all}
.note{display:block;font-size:12px;color:var(--muted)}.note.wait{color:var(--wait);font-weight:600}
.suite{margin-top:18px}
svg{max-width:100%;height:auto;display:block}
svg text{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;font-size:11px;fill:#5b6576}
.legend{display:flex;gap:14px;flex-wrap:wrap;font-size:12.5px;color:var(--muted);margin:4px 0}
.sw{display:inline-block;width:12px;height:12px;border-radius:2px;vertical-align:-2px;margin-right:4px}
footer{margin-top:36px;color:var(--muted);font-size:12px;border-top:1px solid var(--line);padding-top:8px}
@media print{
 @page{margin:14mm}
 body{font-size:11px}main{max-width:none;padding:0}
 a{color:inherit;text-decoration:none}
 h2{break-after:avoid}tr,details.case,.decision,figure{break-inside:avoid}
 pre{max-height:none;overflow:visible}
 details.case>summary{list-style:none}
 .noprint{display:none}
}
"#;

/// Everything the sections need, computed once.
struct Ctx<'a> {
    report: &'a RunReport,
    /// Case id → anchor (`c1`, `c2`, ...), in report order.
    anchors: HashMap<&'a str, String>,
}

impl<'a> Ctx<'a> {
    fn new(report: &'a RunReport) -> Self {
        let anchors = report
            .cases()
            .enumerate()
            .map(|(i, c)| (c.id.as_str(), format!("c{}", i + 1)))
            .collect();
        Ctx { report, anchors }
    }

    fn anchor(&self, id: &str) -> Option<&str> {
        self.anchors.get(id).map(String::as_str)
    }
}

fn outcome_badge(o: Outcome) -> Markup {
    html! { span class={ "badge o-" (o.as_str()) } { (o.as_str()) } }
}

fn verdict_badge(v: Verdict) -> Markup {
    badge(Vocabulary::Checklist, v.state())
}

/// Links to cases, coloured by outcome. Long lists show the cases that did not
/// pass and fold the passed ones away.
fn case_chips(ctx: &Ctx, refs: &[CaseRef]) -> Markup {
    const FOLD_ABOVE: usize = 6;
    let chip = |c: &CaseRef| {
        let name = c.id.split_once("::").map_or(c.id.as_str(), |(_, n)| n);
        html! {
            @match ctx.anchor(&c.id) {
                Some(a) => a href={ "#" (a) } title=(c.id) { span class={ "badge o-" (c.outcome.as_str()) } { (name) } },
                None => span class={ "badge o-" (c.outcome.as_str()) } title=(c.id) { (name) },
            }
        }
    };
    let (passed, other): (Vec<_>, Vec<_>) = refs.iter().partition(|c| c.outcome == Outcome::Passed);
    html! {
        span.chips {
            @if refs.len() <= FOLD_ABOVE {
                @for c in refs { (chip(c)) }
            } @else {
                @for c in &other { (chip(c)) }
                details.fold {
                    summary.small { (passed.len()) " passed case" @if passed.len() != 1 { "s" } }
                    @for c in &passed { (chip(c)) }
                }
            }
        }
    }
}

/// The header of a run that is not about the Final Launch Checklist (a vendor
/// evaluation): outcome counts instead of a launch decision.
fn evaluation_header(report: &RunReport) -> Markup {
    let t = report.totals();
    let failed = t.failed + t.errored;
    let class = if failed > 0 { "d-nogo" } else { "d-open" };
    html! {
        header {
            h1 { "launchgate evaluation report" }
            div class={ "decision " (class) } {
                div.label { @if failed > 0 { (failed) " failed" } @else { "Evaluation" } }
                p {
                    "This run is not about the Agent API launch checklist; its answers are in the sections below (the vendor scorecard, when there is one). "
                    (t.passed) " passed, " (failed) " failed or errored, " (t.skipped + t.inconclusive) " skipped or inconclusive, of " (t.total) " cases."
                }
            }
            dl.meta {
                dt { "Target" } dd { (report.target.name) " (" (display_url(&report.target.base_url)) ")" }
                dt { "Run started" } dd { (display_time(&report.started_at)) " · took " (format_ms(report.duration_ms as f64)) }
                dt { "launchgate" } dd { "version " (report.version) }
                dt { "Scenarios commit" } dd.mono { (report.scenarios_commit.as_deref().unwrap_or("unknown")) }
            }
        }
    }
}

fn header(report: &RunReport, checklist: Option<&ChecklistReport>) -> Markup {
    let Some(list) = checklist else {
        return evaluation_header(report);
    };
    let (class, says) = match list.decision {
        Decision::Go => (
            "d-go",
            "Every required launch-time test and every checkable item is verified, and nothing failed.",
        ),
        Decision::Incomplete => (
            "d-open",
            "Nothing failed, but some required evidence was not verified: not a GO.",
        ),
        Decision::NoGo => ("d-nogo", "Something failed."),
    };
    let counts = list.evaluation().counts();
    let t = report.totals();
    let target = if list.mock_target {
        "launchgate's embedded mock".to_string()
    } else {
        format!(
            "{} ({})",
            report.target.name,
            display_url(&report.target.base_url)
        )
    };
    html! {
        header {
            h1 { "launchgate launch-readiness report" }
            div class={ "decision " (class) } {
                div.label { (list.decision.label()) }
                p {
                    (says) " "
                    (counts) ", of " (list.items.len()) " checklist items."
                }
                @if !list.decision_why.is_empty() {
                    ul.why { @for w in &list.decision_why { li { (ticks_as_code(w)) } } }
                }
                @if !list.to_supply.is_empty() {
                    p { strong { "To verify the rest, supply:" } }
                    ul.supply { @for t in &list.to_supply { li { (ticks_as_code(t)) } } }
                }
            }
            @if list.mock_target {
                div.mock {
                    "Not a launch decision. This run used launchgate's embedded mock, so the verdicts describe the mock, not an environment. "
                    "Run against the environment you are launching (launchgate run --target …) for a decision."
                }
            }
            dl.meta {
                dt { "Target" } dd { (target) }
                dt { "Run started" } dd { (display_time(&report.started_at)) " · took " (format_ms(report.duration_ms as f64)) }
                dt { "launchgate" } dd { "version " (report.version) }
                dt { "Scenarios commit" } dd.mono { (report.scenarios_commit.as_deref().unwrap_or("unknown")) }
                dt { "Host" } dd { (report.hostname) }
                dt { "Requests" } dd { (report.requests_sent) " sent, " (report.responses_received) " answered"
                    @if report.deadline_hit { " · " strong { "the run deadline cut the run short" } } }
            }
            div.tiles {
                div.tile { strong { (t.total) } "cases" }
                div.tile.o-passed { strong { (t.passed) } "passed" }
                div.tile.o-failed { strong { (t.failed + t.errored) } "failed or errored" }
                div.tile.o-skipped { strong { (t.skipped) } "skipped" }
                div.tile.o-inconclusive { strong { (t.inconclusive) } "inconclusive" }
            }
            nav.small.noprint {
                "Sections: " a href="#attention" { "Needs attention" } " · " a href="#checklist" { "Checklist" }
                " · " a href="#timeline" { "Timeline" } " · " a href="#latency" { "Latency" } " · " a href="#cases" { "All cases" }
            }
        }
    }
}

fn level_word(l: Level) -> &'static str {
    match l {
        Level::Fail => "failed",
        Level::Pass => "holds",
        Level::Note => "note",
    }
}

fn checklist_section(ctx: &Ctx, list: &ChecklistReport) -> Markup {
    html! {
        section #checklist {
            h2 { "Final Launch Checklist" }
            table.checklist {
                thead { tr { th.num style="width:3%" { "#" } th style="width:21%" { "Item" } th style="width:9%" { "Verdict" } th style="width:37%" { "Why, and what closes it" } th { "Evidence" } } }
                tbody {
                    @for (n, i) in list.items.iter().enumerate() {
                        tr {
                            td.num { (n + 1) }
                            td { (i.title) }
                            td { (verdict_badge(i.verdict)) }
                            td { (ticks_as_code(&i.summary))
                                @if let Some(t) = i.todo.as_ref().filter(|_| i.verdict != Verdict::Verified) {
                                    @let same = list.items[..n].iter().position(|p| p.todo.as_ref() == Some(t) && p.verdict != Verdict::Verified);
                                    div.small.muted { "To close it: "
                                        @if let Some(p) = same { "as for item " (p + 1) "." } @else { (ticks_as_code(t)) } }
                                } }
                            td { @if i.evidence.is_empty() { span.muted { "—" } } @else { (case_chips(ctx, &i.evidence)) } }
                        }
                    }
                }
            }
            @if !ctx.report.key_findings.is_empty() {
                h3 { "Key-management findings" }
                ul { @for f in &ctx.report.key_findings { li { code { (f.item) } " (" (level_word(f.level)) "): " (ticks_as_code(&f.problem)) } } }
            }
            h3 { "For sign-off" }
            p.small.muted { "launchgate cannot see these; a person confirms them before signing. They do not change the decision." }
            ul.signoff { @for i in list.items.iter().filter(|i| i.sign_off.is_some()) {
                li { "☐ " strong { (i.title) } ": " (i.sign_off.as_deref().unwrap_or("")) }
            } }
            h3 { "Required launch-time tests" }
            table {
                thead { tr { th { "Test" } th { "Verdict" } th { "Cases" } } }
                tbody {
                    @for r in &list.required_tests {
                        tr {
                            td { (r.name) }
                            td { (verdict_badge(r.verdict)) }
                            td { @if r.evidence.is_empty() { span.muted { "not in this run" } } @else { (case_chips(ctx, &r.evidence)) } }
                        }
                    }
                }
            }
        }
    }
}

fn attention_section(ctx: &Ctx) -> Markup {
    let bad: Vec<&CaseReport> = ctx
        .report
        .cases()
        .filter(|c| c.outcome.is_failure())
        .collect();
    let unproven: Vec<&CaseReport> = ctx.report.cases().filter(|c| c.outcome.is_skip()).collect();
    html! {
        section #attention {
            h2 { "Needs attention" }
            @if bad.is_empty() && unproven.is_empty() {
                p { "Every case passed." }
            }
            @if !bad.is_empty() {
                h3 { "Failed or errored (" (bad.len()) ")" }
                ul.attention {
                    @for c in &bad {
                        li {
                            (outcome_badge(c.outcome)) " "
                            a href={ "#" (ctx.anchor(&c.id).unwrap_or_default()) } { (c.id) }
                            @if let Some(f) = &c.failure { ": " (f.message) " " code { (f.location) } }
                        }
                    }
                }
            }
            @if !unproven.is_empty() {
                h3 { "Skipped or inconclusive (" (unproven.len()) "): proved nothing" }
                ul.attention {
                    @for c in &unproven {
                        li {
                            (outcome_badge(c.outcome)) " "
                            a href={ "#" (ctx.anchor(&c.id).unwrap_or_default()) } { (c.id) }
                            @if let Some(r) = &c.reason { span.reason { " — " (r) } }
                        }
                    }
                }
            }
        }
    }
}

fn outcome_colour(o: Outcome) -> &'static str {
    match o {
        Outcome::Passed => "#3a9d5d",
        Outcome::Failed | Outcome::Errored => "#d0453a",
        Outcome::Skipped => "#9aa3b2",
        Outcome::Inconclusive => "#8c73d6",
    }
}

fn timeline_section(ctx: &Ctx) -> Markup {
    let report = ctx.report;
    let run_start = chrono::DateTime::parse_from_rfc3339(&report.started_at).ok();
    let cases: Vec<&CaseReport> = report.cases().collect();
    let intervals: Vec<(f64, f64)> = cases
        .iter()
        .map(|c| {
            let s = offset_ms(run_start, &c.started_at);
            (s, s + c.duration_ms as f64)
        })
        .collect();
    let (lanes, lane_count) = pack_lanes(&intervals);
    let total = intervals
        .iter()
        .map(|i| i.1)
        .fold(report.duration_ms as f64, f64::max)
        .max(1.0);
    let waits = cases
        .iter()
        .flat_map(|c| &c.steps)
        .filter(|s| paused(s))
        .count();
    const LEFT: f64 = 70.0;
    const WIDTH: f64 = 1100.0;
    // Rows shrink when many cases overlap, so the picture stays about one screen high.
    let row = (360.0 / lane_count.max(1) as f64).clamp(6.0, 20.0);
    const TOP: f64 = 6.0;
    let plot = WIDTH - LEFT - 10.0;
    let x = |ms: f64| LEFT + ms / total * plot;
    let height = TOP + lane_count.max(1) as f64 * row + 28.0;
    let step = nice_step(total, 10.0);
    let ticks: Vec<f64> = (0..)
        .map(|i| i as f64 * step)
        .take_while(|t| *t <= total + 1e-9)
        .collect();
    html! {
        section #timeline {
            h2 { "Timeline of the run" }
            p.small.muted {
                (cases.len()) " cases on " (lane_count) " concurrent lane" @if lane_count != 1 { "s" }
                " over " (format_ms(total)) ". Each bar is a case from its start for its duration (hover for its name, click to open it); "
                "segments in amber are steps that paused (Retry-After, wait:, a repeat interval, the rate-limit budget). " (waits) " step" @if waits != 1 { "s" } " waited."
            }
            figure style="margin:0" {
                svg xmlns="http://www.w3.org/2000/svg" viewBox={ "0 0 " (WIDTH) " " (height) } width=(WIDTH) height=(height) role="img" aria-label="Timeline of the run" {
                    @for t in &ticks {
                        line x1=(fx(x(*t))) x2=(fx(x(*t))) y1=(fx(TOP - 2.0)) y2=(fx(height - 22.0)) stroke="#e3e7ee" stroke-width="1" {}
                        text x=(fx(x(*t))) y=(fx(height - 8.0)) text-anchor="middle" { (format_ms(*t)) }
                    }
                    @for l in (0..lane_count).filter(|l| row >= 12.0 || l % 10 == 0) {
                        text x="4" y=(fx(TOP + l as f64 * row + row.min(14.0))) { "lane " (l + 1) }
                    }
                    @for (i, c) in cases.iter().enumerate() {
                        @let y = TOP + lanes[i] as f64 * row + (row * 0.15).min(3.0);
                        @let x0 = x(intervals[i].0);
                        @let w = (x(intervals[i].1) - x0).max(2.0);
                        a href={ "#" (ctx.anchor(&c.id).unwrap_or_default()) } {
                            title { (c.id) " — " (c.outcome.as_str()) ", " (format_ms(c.duration_ms as f64)) }
                            rect x=(fx(x0)) y=(fx(y)) width=(fx(w)) height=(fx(row * 0.7)) rx="2" fill=(outcome_colour(c.outcome)) {}
                            @for seg in wait_segments(c, intervals[i].0) {
                                rect x=(fx(x(seg.0))) y=(fx(y)) width=(fx((x(seg.1) - x(seg.0)).max(2.0))) height=(fx(row * 0.7)) fill="#f0a928" opacity="0.9" {
                                    title { (c.id) ": " (seg.2) }
                                }
                            }
                        }
                    }
                }
            }
            div.legend {
                span { span.sw style={ "background:" (outcome_colour(Outcome::Passed)) } {} "passed" }
                span { span.sw style={ "background:" (outcome_colour(Outcome::Failed)) } {} "failed / errored" }
                span { span.sw style={ "background:" (outcome_colour(Outcome::Skipped)) } {} "skipped" }
                span { span.sw style={ "background:" (outcome_colour(Outcome::Inconclusive)) } {} "inconclusive" }
                span { span.sw style="background:#f0a928" {} "step that waited" }
            }
        }
    }
}

/// `(start, end, notes)` in run milliseconds of the steps of a case that waited;
/// steps are sequential, so each starts where the previous one ended.
fn wait_segments(c: &CaseReport, case_start: f64) -> Vec<(f64, f64, String)> {
    let mut at = case_start;
    let mut out = Vec::new();
    for s in &c.steps {
        let end = at + s.duration_ms as f64;
        let pauses = pause_texts(s);
        if !pauses.is_empty() {
            out.push((at, end, pauses.join("; ")));
        }
        at = end;
    }
    out
}

/// A number for SVG attributes: one decimal.
fn fx(v: f64) -> String {
    let s = format!("{v:.1}");
    s.trim_end_matches(".0").to_string()
}

fn latency_section(ctx: &Ctx) -> Markup {
    let stats = latency_by_endpoint(ctx.report);
    let scale = stats.iter().map(|s| s.max_ms).fold(0.0, f64::max).max(1.0);
    const W: f64 = 300.0;
    const H: f64 = 18.0;
    let step = nice_step(scale, 4.0);
    let ticks: Vec<f64> = (0..)
        .map(|i| i as f64 * step)
        .take_while(|t| *t <= scale + 1e-9)
        .collect();
    let x = |ms: f64| 18.0 + ms / scale * (W - 36.0);
    html! {
        section #latency {
            h2 { "Response latency per endpoint" }
            @if stats.is_empty() {
                p.muted { "No response was measured." }
            } @else {
                p.small.muted { "Time from sending a request to its whole response, without waits, of the last request of each step. Bar: min to max; dot: median; shared scale." }
                table {
                    thead { tr {
                        th { "Endpoint" } th.num { "n" } th.num { "min" } th.num { "median" } th.num { "max" }
                        th {
                            svg xmlns="http://www.w3.org/2000/svg" viewBox={ "0 0 " (W) " 16" } width=(W) height="16" aria-hidden="true" {
                                @for t in &ticks {
                                    text x=(fx(x(*t))) y="12" text-anchor="middle" { (format_ms(*t)) }
                                }
                            }
                        }
                    } }
                    tbody {
                        @for s in &stats {
                            tr {
                                td.mono { (s.endpoint) }
                                td.num { (s.count) }
                                td.num { (format_ms(s.min_ms)) }
                                td.num { (format_ms(s.median_ms)) }
                                td.num { (format_ms(s.max_ms)) }
                                td {
                                    svg xmlns="http://www.w3.org/2000/svg" viewBox={ "0 0 " (W) " " (H) } width=(W) height=(H) role="img"
                                        aria-label={ (s.endpoint) ": min " (format_ms(s.min_ms)) ", median " (format_ms(s.median_ms)) ", max " (format_ms(s.max_ms)) } {
                                        @for t in &ticks {
                                            line x1=(fx(x(*t))) x2=(fx(x(*t))) y1="0" y2=(H) stroke="#eef1f5" stroke-width="1" {}
                                        }
                                        rect x=(fx(x(s.min_ms))) y="6" width=(fx((x(s.max_ms) - x(s.min_ms)).max(2.0))) height="6" rx="3" fill="#8fb3e0" {}
                                        circle cx=(fx(x(s.median_ms))) cy="9" r="4.5" fill="#1b5fb4" {}
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn failure_block(f: &crate::report::FailureReport) -> Markup {
    html! {
        div.failure {
            p { strong { (f.message) } }
            p.small {
                @if !f.step.is_empty() { "Step " code { (f.step) } " · " }
                "at " code { (f.location) }
            }
            @if !f.details.is_empty() {
                div.small { "Expected vs actual:" }
                ul.mono { @for d in &f.details { li { (d) } } }
            }
            @if !f.request.is_empty() { div.small { "Request: " code { (f.request) } } }
            @if let Some(r) = &f.response {
                div.small { "Response (redacted excerpt):" }
                pre { (r) }
            }
        }
    }
}

fn step_rows(steps: &[StepReport]) -> Markup {
    html! {
        table.steps {
            thead { tr { th.num { "#" } th { "Step" } th { "Request" } th.num { "Status" } th.num { "Attempts" } th.num { "Time" } th { "Outcome" } } }
            tbody {
                @for (n, s) in steps.iter().enumerate() {
                    tr {
                        td.num { (n + 1) }
                        td { (s.name)
                            @for note in &s.notes { span.note { (note) } }
                            @for pause in pause_texts(s) { span.note.wait { (pause) } } }
                        td.mono { (s.request)
                            @for h in &s.redirects { br; span.note { "redirect " (crate::report::hop_line(h)) } } }
                        td.num { @if let Some(st) = s.status { (st) } @else { "—" } }
                        td.num { (s.attempts) }
                        td.num { (format_ms(s.duration_ms as f64))
                            @if let Some(r) = s.request_ms { @if s.duration_ms as f64 > r + 5.0 { span.note { "request " (format_ms(r)) } } } }
                        td { (outcome_badge(s.outcome)) }
                    }
                }
            }
        }
    }
}

fn case_details(ctx: &Ctx, c: &CaseReport) -> Markup {
    let class = match c.outcome {
        Outcome::Failed | Outcome::Errored => "case bad",
        Outcome::Skipped => "case skip",
        Outcome::Inconclusive => "case inc",
        Outcome::Passed => "case",
    };
    html! {
        details class=(class) id=(ctx.anchor(&c.id).unwrap_or_default()) open[c.outcome.is_failure()] {
            summary {
                (outcome_badge(c.outcome))
                span.name { (c.name)
                    @if let Some(r) = &c.reason { span.reason { " — " (r) } } }
                span.dur { (format_ms(c.duration_ms as f64)) }
            }
            div.body {
                p.small.muted {
                    code { (c.file) ":" (c.line) } " · started " (display_time(&c.started_at))
                    @if !c.checklist.is_empty() { " · checklist: " (c.checklist.join(", ")) }
                }
                @if let Some(f) = &c.failure { (failure_block(f)) }
                @if !c.steps.is_empty() { (step_rows(&c.steps)) }
                @else if c.reason.is_none() && c.failure.is_none() { p.small.muted { "No steps ran." } }
            }
        }
    }
}

fn cases_section(ctx: &Ctx) -> Markup {
    html! {
        section #cases {
            h2 { "All cases" }
            p.small.muted.noprint { "Failed and errored cases are open; click any other case to see its steps." }
            @for s in &ctx.report.suites {
                div.suite {
                    h3 { (s.name) " " span.muted.small { code { (s.file) } " · " (s.cases.len()) " case" @if s.cases.len() != 1 { "s" } } }
                    @for c in s.cases.iter().filter(|c| c.outcome.is_failure()) { (case_details(ctx, c)) }
                    @for c in s.cases.iter().filter(|c| !c.outcome.is_failure()) { (case_details(ctx, c)) }
                }
            }
        }
    }
}

/// Renders the report as one self-contained HTML document.
///
/// `checklist` is the checklist evaluation (`checklist::evaluate`) of the same report. The
/// caller redacts the result (as for every report) before writing it.
///
/// `checklist` is `None` for a run with no case tagged for the Final Launch
/// Checklist (a vendor evaluation): the page then leads with the run itself.
pub fn render(report: &RunReport, checklist: Option<&ChecklistReport>, extras: &Extras) -> String {
    let ctx = Ctx::new(report);
    let title = format!(
        "{} — launchgate report, {}",
        checklist.map_or("Evaluation", |c| c.decision.label()),
        display_time(&report.started_at)
    );
    let doc = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta http-equiv="Content-Security-Policy" content=(CSP);
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="referrer" content="no-referrer";
                meta name="generator" content={ "launchgate " (report.version) };
                title { (title) }
                style { (PreEscaped(STYLE)) }
            }
            body {
                main {
                    (header(report, checklist))
                    // A vendor evaluation leads with its three answers.
                    @if let (None, Some(t)) = (checklist, &extras.vendor_scorecard) { (extra_section("scorecard", "Vendor scorecard", t)) }
                    (attention_section(&ctx))
                    @if let Some(list) = checklist { (checklist_section(&ctx, list)) }
                    @if let Some(t) = &extras.referee_verdicts { (extra_section("referee", "Client referee verdicts", t)) }
                    @if let (Some(_), Some(t)) = (checklist, &extras.vendor_scorecard) { (extra_section("scorecard", "Vendor scorecard", t)) }
                    (timeline_section(&ctx))
                    (latency_section(&ctx))
                    (cases_section(&ctx))
                    footer {
                        "Generated by launchgate " (report.version) " from the run of " (display_time(&report.started_at))
                        ". Secrets are redacted as in the JUnit and JSON reports. Self-contained: no scripts, fonts or network."
                    }
                }
            }
        }
    };
    // Characters XML forbids are as unreadable in HTML (a NUL, U+FFFE from a target).
    super::xml_safe(&doc.into_string()).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_labels_are_stable_templates() {
        // `METHOD URL`, as the tests wrote request lines before the fields existed.
        let endpoint_label = |line: &str| {
            let (m, u) = line.split_once(' ').unwrap_or(("", line));
            super::endpoint_label(m, u)
        };
        assert_eq!(
            endpoint_label("GET http://127.0.0.1:44383/api/agent/v1/partner/cards/0b1f3790-be06-42fd-9aaf-6ec4a380626b"),
            "GET /api/agent/v1/partner/cards/{id}"
        );
        assert_eq!(
            endpoint_label("GET https://staging.example.com/api/agent/v1/partner/members/ada@example.com/balance/0DD6A32C-C059-4534-97BF-C82D73D9C869?x=1"),
            "GET /api/agent/v1/partner/members/{id}/balance/{id}"
        );
        assert_eq!(
            endpoint_label("POST http://h:1/api/agent/v1/member/rewards/42/claim"),
            "POST /api/agent/v1/member/rewards/{id}/claim"
        );
        assert_eq!(
            endpoint_label("GET http://h/members/ada%40example.com"),
            "GET /members/{id}"
        );
        assert_eq!(
            endpoint_label("GET http://h/tx/txn_0123456789abcdef"),
            "GET /tx/{id}"
        );
        assert_eq!(endpoint_label("GET http://h"), "GET /");
        assert_eq!(endpoint_label("GET /health?k=1"), "GET /health");
        // Version segments and words stay.
        assert_eq!(
            endpoint_label("GET http://h/api/v1/oauth2/x-1"),
            "GET /api/v1/oauth2/x-1"
        );
        // Same endpoint, different ids: the same label.
        assert_eq!(
            endpoint_label("GET http://a/c/11111111-2222-3333-4444-555555555555"),
            endpoint_label("GET http://b:8/c/aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee")
        );
    }

    #[test]
    fn lanes_never_overlap() {
        let iv = [
            (0.0, 10.0),
            (5.0, 8.0),
            (8.0, 12.0),
            (10.0, 11.0),
            (1.0, 2.0),
        ];
        let (lanes, n) = pack_lanes(&iv);
        assert_eq!(n, 2);
        for i in 0..iv.len() {
            for j in 0..iv.len() {
                if i != j && lanes[i] == lanes[j] {
                    assert!(iv[i].1 <= iv[j].0 || iv[j].1 <= iv[i].0, "{i} {j}");
                }
            }
        }
        assert_eq!(pack_lanes(&[]), (vec![], 0));
    }

    #[test]
    fn durations_and_ticks_read_well() {
        assert_eq!(format_ms(3.0), "3 ms");
        assert_eq!(format_ms(0.4), "0.4 ms");
        assert_eq!(format_ms(250.0), "250 ms");
        assert_eq!(format_ms(2038.0), "2.04 s");
        assert_eq!(format_ms(125_000.0), "2 min 5 s");
        assert_eq!(nice_step(2038.0, 10.0), 500.0);
        assert_eq!(nice_step(9.0, 4.0), 5.0);
        assert_eq!(nice_step(0.0, 4.0), 1.0);
    }

    #[test]
    fn urls_lose_user_info_and_query() {
        assert_eq!(
            display_url("https://user:pw@staging.example.com/base?token=x"),
            "https://staging.example.com/base"
        );
    }
}
