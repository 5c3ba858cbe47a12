//! The HTML report's optional sections: the vendor scorecard and the referee's
//! verdicts, each an evaluation rendered as a table.

use crate::evaluation::html::table;
use crate::evaluation::Evaluation;
use crate::referee::{self, RefereeReport};
use crate::report::html::Extras;

/// The HTML report's optional sections for what this run has (the scorecard already
/// in the evaluation model: it needs the run's facts).
pub(crate) fn html_extras(
    referee: Option<&RefereeReport>,
    scorecard: Option<&Evaluation>,
) -> Extras {
    Extras {
        vendor_scorecard: scorecard.map(table),
        referee_verdicts: referee.map(|r| table(&referee::evaluation(r))),
    }
}
