//! Evaluations as JUnit test cases: the one place a row becomes a `<testcase>`.
//!
//! A pass is a passing case (why and what was seen in `system-out`), a fail a
//! `failure` (`word: why` as the message, what was seen as the text), an unknown a
//! `skipped` case typed by its word (`not_exercised`, `could_not_tell`) whose text
//! says what would settle it: CI consumers show it as skipped, never as passed.
//! The case names are the questions, stable from run to run, so a consumer's
//! history follows one question across runs. Nothing here lives in a file: no
//! `file`/`line` is invented.

use std::time::Duration;

use quick_junit::{NonSuccessKind, Property, TestCase, TestCaseStatus, TestSuite};

use super::{Evaluation, Row, State};

/// The evaluation as one JUnit suite, named after it: its problem (if any) as an
/// errored case, then one case per row.
pub fn suite(ev: &Evaluation) -> TestSuite {
    let time = Duration::from_millis(ev.duration_ms);
    let mut suite = TestSuite::new(ev.suite.as_str());
    suite.set_time(time);
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(&ev.started_at) {
        suite.set_timestamp(t);
    }
    suite.add_properties(
        ev.properties
            .iter()
            .map(|(k, v)| Property::new(k.as_str(), v.as_str())),
    );
    if let Some(p) = &ev.problem {
        let mut s = TestCaseStatus::non_success(NonSuccessKind::Error);
        s.set_message(p.message.as_str());
        s.set_type(p.kind.as_str());
        s.set_description(p.message.as_str());
        let mut tc = TestCase::new(p.title.as_str(), s);
        tc.set_classname(ev.suite.as_str());
        tc.set_time(Duration::ZERO);
        suite.add_test_case(tc);
    }
    for r in &ev.rows {
        suite.add_test_case(case(ev, r));
    }
    suite
}

/// What was seen, one line each, with the request that showed it.
fn seen_text(r: &Row) -> String {
    let mut out = String::new();
    for s in &r.seen {
        out.push_str(&s.what);
        if let Some(q) = s.request.as_deref().filter(|q| !q.is_empty()) {
            out.push_str(&format!(" ({q})"));
        }
        out.push('\n');
    }
    out
}

fn case(ev: &Evaluation, r: &Row) -> TestCase {
    let word = ev.word(r);
    let settle = r
        .open_settle()
        .map(|t| format!("to close it: {t}\n"))
        .unwrap_or_default();
    let status = match r.state {
        State::Pass => TestCaseStatus::success(),
        State::Fail => {
            let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
            s.set_message(format!("{word}: {}", r.why));
            s.set_type("verdict");
            s.set_description(format!("{}{settle}", seen_text(r)));
            s
        }
        State::Unknown => {
            // GitLab and the GitHub reporters read the element text, Jenkins the
            // attribute: the reason goes in both.
            let mut s = TestCaseStatus::skipped();
            let message = format!("{word}: {}", r.why);
            s.set_description(format!("{message}\n{settle}{}", seen_text(r)));
            s.set_message(message);
            s.set_type(ev.vocabulary.slug(State::Unknown));
            s
        }
    };
    let mut tc = TestCase::new(r.title.as_str(), status);
    // A verdict is judged from the whole run (the suite's time), not timed on its
    // own; a `time` of 0 keeps consumers that read one (dorny's "NaNms", the Ant
    // schema's required attribute) from tripping.
    tc.set_time(Duration::ZERO);
    if r.id.is_empty() {
        tc.set_classname(ev.suite.as_str());
    } else {
        tc.set_classname(format!("{}.{}", ev.suite, r.id));
    }
    if r.state == State::Pass {
        tc.set_system_out(format!("{}\n{}", r.why, seen_text(r)));
    }
    tc
}

#[cfg(test)]
mod tests {
    use super::super::tests::sample;
    use super::super::{Problem, Vocabulary};
    use super::*;

    fn xml(ev: &Evaluation) -> String {
        let mut report = quick_junit::Report::new("t");
        report.add_test_suite(suite(ev));
        report.to_string().unwrap()
    }

    #[test]
    fn each_state_is_its_junit_status_and_unknown_is_skipped_never_passed() {
        for v in Vocabulary::ALL {
            let text = xml(&sample(v));
            let doc = roxmltree::Document::parse(&text).unwrap();
            let cases: Vec<_> = doc
                .descendants()
                .filter(|n| n.has_tag_name("testcase"))
                .collect();
            assert_eq!(cases.len(), 3);
            let kids = |n: &roxmltree::Node| -> Vec<String> {
                n.children()
                    .filter(|c| c.is_element())
                    .map(|c| c.tag_name().name().to_string())
                    .collect()
            };
            assert_eq!(kids(&cases[0]), ["system-out"], "{text}");
            assert_eq!(kids(&cases[1]), ["failure"], "{text}");
            assert_eq!(kids(&cases[2]), ["skipped"], "{text}");
            let skipped = cases[2]
                .children()
                .find(|c| c.has_tag_name("skipped"))
                .unwrap();
            assert_eq!(
                skipped.attribute("type"),
                Some(v.slug(State::Unknown).as_str())
            );
            let message = skipped.attribute("message").unwrap();
            assert!(
                message.starts_with(&format!("{}: ", v.word(State::Unknown))),
                "{message}"
            );
            let body = skipped.text().unwrap_or("");
            assert!(body.contains("to close it: settle-unknown"), "{body}");
            assert!(body.contains("seen-unknown (GET /unknown)"), "{body}");
            let failure = cases[1]
                .children()
                .find(|c| c.has_tag_name("failure"))
                .unwrap();
            assert_eq!(
                failure.attribute("message").unwrap(),
                format!("{}: because `fail` | was seen", v.word(State::Fail))
            );
            assert_eq!(cases[1].attribute("classname"), Some("sample.fail"));
            assert_eq!(cases[0].attribute("name"), Some("Is it pass?"));
            for c in &cases {
                assert!(c.attribute("file").is_none() && c.attribute("line").is_none());
                assert_eq!(c.attribute("time"), Some("0.000"), "every case has a time");
            }
            let suite = doc
                .descendants()
                .find(|n| n.has_tag_name("testsuite"))
                .unwrap();
            assert_eq!(suite.attribute("time"), Some("1.500"));
            assert_eq!(suite.attribute("skipped"), Some("1"));
        }
    }

    /// The one row of a suite (the launch decision) has the suite's class name.
    #[test]
    fn a_row_without_id_is_classed_as_its_suite() {
        let mut ev = sample(Vocabulary::Decision);
        ev.rows.truncate(1);
        ev.rows[0].id.clear();
        let text = xml(&ev);
        assert!(text.contains("classname=\"sample\""), "{text}");
    }

    #[test]
    fn a_problem_is_an_errored_case_before_the_rows() {
        let mut ev = sample(Vocabulary::Referee);
        ev.problem = Some(Problem {
            title: "The client ran to completion".into(),
            kind: "client".into(),
            message: "the client exited with status 3".into(),
        });
        let text = xml(&ev);
        let doc = roxmltree::Document::parse(&text).unwrap();
        let first = doc
            .descendants()
            .find(|n| n.has_tag_name("testcase"))
            .unwrap();
        assert_eq!(
            first.attribute("name"),
            Some("The client ran to completion")
        );
        let error = first.children().find(|c| c.has_tag_name("error")).unwrap();
        assert_eq!(error.attribute("type"), Some("client"));
        assert!(text.contains("the client exited with status 3"));
    }
}
