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
        ts.extra
            .insert("package".into(), suite.file.as_str().into());
        ts.add_properties([
            Property::new("launchgate.version", report.version.as_str()),
            Property::new("target.kind", report.target.kind.as_str()),
            Property::new("target.name", report.target.name.as_str()),
            Property::new("target.base_url", report.target.base_url.as_str()),
            Property::new("file", suite.file.as_str()),
        ]);
        for case in &suite.cases {
            ts.add_test_case(test_case(case, &suite.name, profile));
        }
        root.add_test_suite(ts);
    }
    let xml = root.to_string().unwrap_or_else(|e| {
        format!(
            "<?xml version=\"1.0\"?>\n<!-- junit serialization failed: {e} -->\n<testsuites/>\n"
        )
    });
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

fn test_case(case: &CaseReport, classname: &str, profile: Profile) -> TestCase {
    let location = format!("{}:{}", case.file, case.line);
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
            s.set_message(format!("{label}{reason}"));
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
                        Profile::Strict => format!("{}: {}", f.location, f.message),
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
    if profile == Profile::Generic {
        tc.extra.insert("file".into(), case.file.as_str().into());
        tc.extra.insert("line".into(), case.line.to_string().into());
    }
    let out = steps_text(case);
    if !out.is_empty() {
        tc.set_system_out(format!("{location}\n{out}"));
    }
    tc
}

/// The failure body: location first (mikepenz and Jenkins read it), then details.
fn failure_text(f: &super::FailureReport) -> String {
    let mut s = format!(
        "{}\nstep: {}\nrequest:\n{}\n",
        f.location, f.step, f.request
    );
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
        for n in &st.notes {
            s.push_str(&format!("    note: {n}\n"));
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strict_drops_only_root_skipped() {
        let xml = "<?xml?>\n<testsuites name=\"x\" tests=\"1\" skipped=\"0\" failures=\"0\">\n<testsuite skipped=\"0\">";
        let s = strip_root_skipped(xml);
        assert_eq!(s, "<?xml?>\n<testsuites name=\"x\" tests=\"1\" failures=\"0\">\n<testsuite skipped=\"0\">");
    }
}
