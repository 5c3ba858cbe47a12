//! JUnit XML via `quick-junit`, in two profiles.
//!
//! - `generic` (default): adds `file` and `line` attributes to each
//!   `<testcase>`, which GitLab and mikepenz/action-junit-report read for
//!   annotations.
//! - `strict`: valid against the Jenkins xUnit plugin's JUnit schema: no
//!   attribute that schema does not know; `file:line` goes into the failure
//!   message instead.
//!
//! One `<testsuite>` per scenario file, one `<testcase>` per case,
//! `classname` = the suite's dotted name.

use std::time::Duration;

use chrono::{DateTime, FixedOffset};
use quick_junit::{NonSuccessKind, Property, Report, TestCase, TestCaseStatus, TestSuite};

use super::{CaseReport, Outcome, RunReport};
use crate::evaluation::{self, Evaluation};

/// Which consumers the XML is shaped for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Profile {
    /// Adds `file`/`line` on test cases (GitLab, GitHub reporters, Jenkins `junit`).
    #[default]
    Generic,
    /// Only attributes the Jenkins xUnit JUnit schema allows.
    Strict,
}

fn parse_time(s: &str) -> Option<DateTime<FixedOffset>> {
    DateTime::parse_from_rfc3339(s).ok()
}

/// Renders the report as JUnit XML.
pub fn render(report: &RunReport, profile: Profile) -> String {
    render_with(report, profile, None)
}

/// Renders the report as JUnit XML, with an evaluation (the launch decision) after its
/// suites, in a suite of its own.
pub fn render_with(report: &RunReport, profile: Profile, extra: Option<&Evaluation>) -> String {
    let mut root = Report::new("launchgate");
    // The xUnit schema knows no timestamp on <testsuites>; each suite carries one.
    if profile == Profile::Generic {
        if let Some(ts) = parse_time(&report.started_at) {
            root.set_timestamp(ts);
        }
    }
    root.set_time(Duration::from_millis(report.duration_ms));
    for (index, suite) in report.suites.iter().enumerate() {
        let mut ts = TestSuite::new(suite.name.as_str());
        if let Some(first) = suite.cases.first().and_then(|c| parse_time(&c.started_at)) {
            ts.set_timestamp(first);
        } else if let Some(t) = parse_time(&report.started_at) {
            ts.set_timestamp(t);
        }
        let total: u64 = suite.cases.iter().map(|c| c.duration_ms).sum();
        ts.set_time(Duration::from_millis(total));
        ts.extra
            .insert("hostname".into(), report.hostname.as_str().into());
        ts.extra.insert("id".into(), index.to_string().into());
        // Scorecard answers and referee verdicts live in no file: name none, or
        // annotators would pin them on an unrelated path.
        let has_file = suite.cases.iter().any(|c| c.line > 0);
        if has_file {
            ts.extra
                .insert("package".into(), suite.file.as_str().into());
        }
        ts.add_properties([
            Property::new("launchgate.version", report.version.as_str()),
            Property::new("target.kind", report.target.kind.as_str()),
            Property::new("target.name", report.target.name.as_str()),
            Property::new("target.base_url", report.target.base_url.as_str()),
        ]);
        if has_file {
            ts.add_property(Property::new("file", suite.file.as_str()));
        }
        for case in &suite.cases {
            ts.add_test_case(test_case(case, &suite.name, profile));
        }
        root.add_test_suite(ts);
    }
    if let Some(ev) = extra {
        root.add_test_suite(evaluation::junit::suite(ev));
    }
    finish(&root, profile)
}

/// An evaluation (the vendor scorecard, the referee's verdicts) as a JUnit document
/// of one suite: `launchgate <suite>`, its cases rendered by [`evaluation::junit`].
pub fn render_evaluation(ev: &Evaluation, profile: Profile) -> String {
    let mut root = Report::new(format!("launchgate {}", ev.suite));
    if profile == Profile::Generic {
        if let Some(ts) = parse_time(&ev.started_at) {
            root.set_timestamp(ts);
        }
    }
    root.set_time(Duration::from_millis(ev.duration_ms));
    root.add_test_suite(evaluation::junit::suite(ev));
    finish(&root, profile)
}

/// The document as text, readable by every consumer of the profile.
fn finish(root: &Report, profile: Profile) -> String {
    let xml = root.to_string().unwrap_or_else(|e| {
        format!(
            "<?xml version=\"1.0\"?>\n<!-- junit serialization failed: {e} -->\n<testsuites/>\n"
        )
    });
    // quick-junit drops control characters but keeps U+FFFE and U+FFFF, which are
    // not XML either: no consumer could read the file.
    let xml = super::xml_safe(&xml).into_owned();
    match profile {
        Profile::Generic => xml,
        Profile::Strict => strip_root_skipped(&xml),
    }
}

/// quick-junit always writes `skipped` on `<testsuites>`; the xUnit schema forbids it there.
fn strip_root_skipped(xml: &str) -> String {
    let Some(start) = xml.find("<testsuites") else {
        return xml.to_string();
    };
    let Some(len) = xml[start..].find('>') else {
        return xml.to_string();
    };
    let tag = &xml[start..start + len];
    let cleaned = match tag.find(" skipped=\"") {
        Some(at) => {
            let rest = &tag[at + 10..];
            let close = rest.find('"').map_or(rest.len(), |i| i + 1);
            format!("{}{}", &tag[..at], &rest[close..])
        }
        None => tag.to_string(),
    };
    format!("{}{}{}", &xml[..start], cleaned, &xml[start + len..])
}

/// The line of the expectation that failed, when it is in the case's own file
/// (`file:line:col` of the failure), else the case's line; 0 for no file.
fn failing_line(case: &CaseReport) -> usize {
    let Some(f) = case.failure.as_ref().filter(|_| case.line > 0) else {
        return case.line;
    };
    let mut parts = f.location.rsplitn(3, ':');
    let (_col, line, file) = (parts.next(), parts.next(), parts.next());
    match (file, line.and_then(|l| l.parse().ok())) {
        (Some(file), Some(line)) if file == case.file && line > 0 => line,
        _ => case.line,
    }
}

fn test_case(case: &CaseReport, classname: &str, profile: Profile) -> TestCase {
    let line = failing_line(case);
    let status = match case.outcome {
        Outcome::Passed => TestCaseStatus::success(),
        Outcome::Skipped | Outcome::Inconclusive => {
            let mut s = TestCaseStatus::skipped();
            let reason = case
                .reason
                .clone()
                .unwrap_or_else(|| case.outcome.as_str().to_string());
            let label = if case.outcome == Outcome::Inconclusive {
                "inconclusive: "
            } else {
                ""
            };
            // GitLab and the GitHub reporters read the element text, Jenkins the
            // attribute: the reason goes in both.
            s.set_message(format!("{label}{reason}"));
            s.set_description(format!("{label}{reason}"));
            s.set_type(case.outcome.as_str());
            s
        }
        Outcome::Failed | Outcome::Errored => {
            let kind = if case.outcome == Outcome::Failed {
                NonSuccessKind::Failure
            } else {
                NonSuccessKind::Error
            };
            let mut s = TestCaseStatus::non_success(kind);
            match &case.failure {
                Some(f) => {
                    let message = match profile {
                        Profile::Generic => f.message.clone(),
                        Profile::Strict if !f.location.is_empty() => {
                            format!("{}: {}", f.location, f.message)
                        }
                        Profile::Strict => f.message.clone(),
                    };
                    s.set_message(message);
                    s.set_description(failure_text(f));
                }
                None => {
                    s.set_message(case.outcome.as_str());
                }
            }
            s.set_type(if case.outcome == Outcome::Failed {
                "expectation"
            } else {
                "error"
            });
            s
        }
    };
    let mut tc = TestCase::new(case.name.as_str(), status);
    tc.set_classname(classname);
    tc.set_time(Duration::from_millis(case.duration_ms));
    if profile == Profile::Generic && line > 0 {
        tc.extra.insert("file".into(), case.file.as_str().into());
        tc.extra.insert("line".into(), line.to_string().into());
    }
    let out = steps_text(case);
    if !out.is_empty() {
        if line > 0 {
            tc.set_system_out(format!("{}:{line}\n{out}", case.file));
        } else {
            tc.set_system_out(out);
        }
    }
    tc
}

/// The failure body: location first (mikepenz and Jenkins read it), then the message
/// when there are no details, then details. Lines with nothing to say (an errored case
/// may have no step or request) are left out.
fn failure_text(f: &super::FailureReport) -> String {
    let mut s = String::new();
    if !f.location.is_empty() {
        s.push_str(&f.location);
        s.push('\n');
    }
    // GitLab shows only the element text: without details, the message is all there is.
    if f.details.is_empty() {
        s.push_str(&f.message);
        s.push('\n');
    }
    if !f.step.is_empty() {
        s.push_str(&format!("step: {}\n", f.step));
    }
    if !f.request.is_empty() {
        s.push_str(&format!("request:\n{}\n", f.request));
    }
    for d in &f.details {
        s.push_str("  ");
        s.push_str(d);
        s.push('\n');
    }
    if let Some(r) = &f.response {
        s.push_str("response:\n");
        s.push_str(r);
        s.push('\n');
    }
    s
}

fn steps_text(case: &CaseReport) -> String {
    let mut s = String::new();
    for st in &case.steps {
        let status = st
            .status
            .map_or_else(|| "no response".to_string(), |c| c.to_string());
        s.push_str(&format!(
            "[{}] {} -> {} ({} ms, {} request{})\n",
            st.outcome.as_str(),
            st.request,
            status,
            st.duration_ms,
            st.attempts,
            if st.attempts == 1 { "" } else { "s" }
        ));
        for h in &st.redirects {
            s.push_str(&format!("    redirect: {}\n", super::hop_line(h)));
        }
        for n in &st.notes {
            s.push_str(&format!("    note: {n}\n"));
        }
    }
    s
}

/// Why `junit merge` could not merge.
#[derive(Debug, thiserror::Error)]
#[error("{input}: not a JUnit report: {reason}")]
pub struct MergeError {
    /// The input that failed (as given on the command line).
    pub input: String,
    /// What the parser said.
    pub reason: String,
}

/// The result of [`merge`]: the XML and what a CI log should hear about.
#[derive(Debug)]
pub struct Merged {
    /// The merged document.
    pub xml: String,
    /// Test cases in the merged document.
    pub cases: usize,
    /// `classname::name` ids that appear more than once (a shard given twice, say).
    pub duplicates: Vec<String>,
}

/// Merges JUnit reports (`(label, xml)` pairs), e.g. the shards of a `--partition` matrix.
///
/// Test suites with the same name (one scenario file split across shards) become one
/// suite again, cases in input order, so the result looks like an unpartitioned run.
/// Every count is recomputed from the cases; suite and root times are summed (the CPU
/// time of the shards, not the matrix's wall time); the earliest timestamp wins. When
/// no input carries `skipped` on `<testsuites>` (the strict profile), neither does the
/// output, so a strict merge stays valid against the xUnit schema.
pub fn merge<'a>(
    inputs: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> Result<Merged, MergeError> {
    let mut suites: Vec<TestSuite> = Vec::new();
    let mut root_time = Duration::ZERO;
    let mut root_timestamp: Option<DateTime<FixedOffset>> = None;
    let mut name = None;
    let mut strict = true;
    for (label, xml) in inputs {
        let report = Report::deserialize_from_str(xml).map_err(|e| MergeError {
            input: label.to_string(),
            reason: e.to_string(),
        })?;
        strict &= !root_has_skipped(xml);
        name = name.or(report.name);
        root_time += report.time.unwrap_or_default();
        root_timestamp = earliest(root_timestamp, report.timestamp);
        for suite in report.test_suites {
            match suites.iter_mut().find(|s| s.name == suite.name) {
                Some(into) => {
                    into.time = match (into.time, suite.time) {
                        (Some(a), Some(b)) => Some(a + b),
                        (a, b) => a.or(b),
                    };
                    into.timestamp = earliest(into.timestamp, suite.timestamp);
                    into.test_cases.extend(suite.test_cases);
                }
                None => suites.push(suite),
            }
        }
    }
    let mut root = match name {
        Some(n) => Report::new(n),
        None => Report::new("launchgate"),
    };
    root.time = Some(root_time);
    root.timestamp = if strict { None } else { root_timestamp };
    let mut seen = std::collections::HashMap::<String, usize>::new();
    let mut cases = 0;
    for (index, mut suite) in suites.into_iter().enumerate() {
        let test_cases = std::mem::take(&mut suite.test_cases);
        (suite.tests, suite.failures, suite.errors, suite.skipped) = (0, 0, 0, 0);
        if suite.extra.contains_key("id") {
            suite.extra.insert("id".into(), index.to_string().into());
        }
        for tc in test_cases {
            let class = tc.classname.as_ref().map_or("", |c| c.as_str());
            *seen
                .entry(format!("{class}::{}", tc.name.as_str()))
                .or_default() += 1;
            cases += 1;
            suite.add_test_case(tc);
        }
        root.add_test_suite(suite);
    }
    let xml = root.to_string().map_err(|e| MergeError {
        input: "(merged)".into(),
        reason: e.to_string(),
    })?;
    let mut duplicates: Vec<String> = seen
        .into_iter()
        .filter(|(_, n)| *n > 1)
        .map(|(id, _)| id)
        .collect();
    duplicates.sort();
    let xml = super::xml_safe(&xml).into_owned();
    Ok(Merged {
        xml: if strict {
            strip_root_skipped(&xml)
        } else {
            xml
        },
        cases,
        duplicates,
    })
}

fn earliest(
    a: Option<DateTime<FixedOffset>>,
    b: Option<DateTime<FixedOffset>>,
) -> Option<DateTime<FixedOffset>> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// True when the `<testsuites>` start tag carries `skipped` (every profile but strict).
fn root_has_skipped(xml: &str) -> bool {
    xml.find("<testsuites")
        .and_then(|start| {
            let tag = &xml[start..];
            tag.find('>').map(|end| tag[..end].contains(" skipped=\""))
        })
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_joins_same_named_suites_and_recounts() {
        let a = r#"<?xml version="1.0" encoding="UTF-8"?>
<testsuites name="launchgate" tests="2" failures="1" errors="0" skipped="0" time="1.0">
<testsuite name="s1" tests="2" failures="1" errors="0" skipped="0" time="1.0">
<testcase name="a" classname="s1" time="0.5"/>
<testcase name="b" classname="s1" time="0.5"><failure message="x">y</failure></testcase>
</testsuite></testsuites>"#;
        let b = r#"<?xml version="1.0" encoding="UTF-8"?>
<testsuites name="launchgate" tests="2" failures="0" errors="1" skipped="1" time="2.0">
<testsuite name="s1" tests="1" failures="0" errors="1" skipped="0" time="1.0">
<testcase name="c" classname="s1" time="1.0"><error message="e"/></testcase>
</testsuite>
<testsuite name="s2" tests="1" failures="0" errors="0" skipped="1" time="1.0">
<testcase name="d" classname="s2" time="1.0"><skipped message="why"/></testcase>
</testsuite></testsuites>"#;
        let m = merge([("a.xml", a), ("b.xml", b)]).unwrap();
        assert_eq!(m.cases, 4);
        assert!(m.duplicates.is_empty());
        let r = Report::deserialize_from_str(&m.xml).unwrap();
        assert_eq!((r.tests, r.failures, r.errors, r.skipped), (4, 1, 1, 1));
        assert_eq!(r.test_suites.len(), 2);
        assert_eq!(r.test_suites[0].tests, 3);
        assert_eq!(r.time, Some(Duration::from_secs(3)));
        let again = merge([("a.xml", a), ("a.xml", a)]).unwrap();
        assert_eq!(again.duplicates, vec!["s1::a", "s1::b"]);
        assert!(merge([("bad.xml", "<nope")]).is_err());
    }

    #[test]
    fn strict_drops_only_root_skipped() {
        let xml = "<?xml?>\n<testsuites name=\"x\" tests=\"1\" skipped=\"0\" failures=\"0\">\n<testsuite skipped=\"0\">";
        let s = strip_root_skipped(xml);
        assert_eq!(s, "<?xml?>\n<testsuites name=\"x\" tests=\"1\" failures=\"0\">\n<testsuite skipped=\"0\">");
    }
}
