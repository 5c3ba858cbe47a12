//! The HTML report's optional sections: the vendor scorecard and the referee's
//! verdicts, as tables the report renders when a run has them.

use crate::giftcard::scorecard::{as_table, Scorecard};
use crate::referee::RefereeReport;
use crate::report::html::{ExtraTable, Extras};

/// The HTML report's optional sections for what this run has.
pub(crate) fn html_extras(
    referee: Option<&RefereeReport>,
    scorecard: Option<&Scorecard>,
) -> Extras {
    Extras {
        vendor_scorecard: scorecard.map(as_table),
        referee_verdicts: referee.map(|r| ExtraTable {
            intro: Some(format!(
                "The integration's client, refereed against the mock: {} requests judged{}.",
                r.requests,
                r.command
                    .as_deref()
                    .map(|c| format!(" from `{c}`"))
                    .unwrap_or_default()
            )),
            headers: vec![
                "Behaviour".into(),
                "Verdict".into(),
                "Why".into(),
                "Evidence".into(),
            ],
            rows: r
                .judgements
                .iter()
                .map(|j| {
                    vec![
                        j.title.clone(),
                        j.verdict.label().into(),
                        j.summary.clone(),
                        j.evidence.join("\n"),
                    ]
                })
                .collect(),
        }),
    }
}
