//! The trial glue: the run owns its concurrency, libtest-mimic prints.
//!
//! Every selected case runs as a task of the run's scheduler (longest chain
//! first, at most `--jobs` requests in flight, a waiting case holding no slot).
//! libtest-mimic keeps what users and CI read and rely on: the console format,
//! `--list`, `-q`; each of its trials only waits for its case's report, on a
//! thread of its own, so results print as cases finish.

use std::sync::Arc;

use libtest_mimic::{Completion, Failed, Trial};
use parking_lot::Mutex;
use tokio::sync::oneshot;

use super::schedule::Ticket;
use super::Runner;
use crate::plan::PlannedCase;
use crate::report::{self, CaseReport, Outcome};

/// Most threads libtest-mimic gets to wait on reports (a trial waits, it does not
/// work): results of later cases may print late beyond this many unfinished ones.
const WAITER_THREADS: usize = 64;

/// A case's report by its (suite, case) index.
pub type Collected = Vec<(usize, usize, CaseReport)>;

/// Runs the selected cases and prints them as libtest does (console output,
/// `--list`); collects their reports by (suite, case) index. `args` come with the
/// selection made: libtest filters nothing again.
pub fn run(
    rt: &tokio::runtime::Runtime,
    runner: &Arc<Runner>,
    selected: &[PlannedCase],
    args: &libtest_mimic::Arguments,
) -> Collected {
    let results: Arc<Mutex<Collected>> = Arc::default();
    let mut waiting = Vec::new();
    let mut trials = Vec::new();
    for pc in selected {
        let (tx, rx) = oneshot::channel::<CaseReport>();
        waiting.push((pc.clone(), tx));
        trials.push(trial(pc, rx, results.clone()));
    }
    if !args.list {
        rt.spawn(runner.clone().run_all(waiting));
    }
    let args = libtest_mimic::Arguments {
        test_threads: Some(selected.len().clamp(1, WAITER_THREADS)),
        ..args.clone()
    };
    let _conclusion = libtest_mimic::run(&args, trials);
    let collected = std::mem::take(&mut *results.lock());
    collected
}

/// A trial that waits for its case's report and says how it ended.
fn trial(
    pc: &PlannedCase,
    report: oneshot::Receiver<CaseReport>,
    results: Arc<Mutex<Collected>>,
) -> Trial {
    let (suite, case) = (pc.suite, pc.case);
    Trial::ignorable_test(pc.id.clone(), move || {
        let Ok(report) = report.blocking_recv() else {
            // Reconciled later: the case is reported as lost, and errored.
            return Err(Failed::from("launchgate lost this case's report"));
        };
        let outcome = report.outcome;
        let reason = report.reason.clone();
        let block = report::console::failure_block(&report);
        results.lock().push((suite, case, report));
        match outcome {
            Outcome::Passed => Ok(Completion::Completed),
            Outcome::Skipped => Ok(Completion::ignored_with(reason.unwrap_or_default())),
            Outcome::Inconclusive => Ok(Completion::ignored_with(format!(
                "inconclusive: {}",
                reason.unwrap_or_default()
            ))),
            Outcome::Failed | Outcome::Errored => Err(Failed::from(block)),
        }
    })
}

impl Runner {
    /// Starts every case, longest chain first; each next one once the previous is
    /// in line (has its slot, or waits for one, a lock or a wait), so the order is
    /// the schedule's, not the tasks'. Each report goes to its sender.
    async fn run_all(self: Arc<Self>, cases: Vec<(PlannedCase, oneshot::Sender<CaseReport>)>) {
        let planned: Vec<PlannedCase> = cases.iter().map(|(pc, _)| pc.clone()).collect();
        let mut senders: std::collections::HashMap<String, oneshot::Sender<CaseReport>> = cases
            .into_iter()
            .map(|(pc, tx)| (pc.id.clone(), tx))
            .collect();
        let order: Vec<_> = self
            .schedule(&planned)
            .into_iter()
            .filter_map(|(pc, priority)| Some((senders.remove(&pc.id)?, pc, priority)))
            .collect();
        // Every case is known before the first starts, so the slot kept for the
        // critical path is kept for the right one from the start.
        for (_, _, priority) in &order {
            self.slots.expect(*priority);
        }
        for (tx, pc, priority) in order {
            let (ticket, in_line) = Ticket::new(&pc.id, priority);
            let runner = self.clone();
            tokio::spawn(async move {
                let slots = runner.slots.clone();
                let report = runner.run_case_guarded(pc, ticket).await;
                slots.finished(priority);
                let _ = tx.send(report);
            });
            let _ = in_line.await;
        }
    }
}
