//! SIGINT and SIGTERM during a run: a CI job cancelled or timed out still gets its
//! reports.

use std::sync::Arc;

use crate::runner::Runner;

use super::super::Exit;

/// SIGINT or SIGTERM interrupts the run: running cases stop, the rest end at once,
/// and the reports are written as usual (`Exit::Interrupted`). A second signal ends
/// the process at once.
pub(super) fn watch(rt: &tokio::runtime::Runtime, runner: &Arc<Runner>) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let _in_runtime = rt.enter();
        let (Ok(mut int), Ok(mut term)) = (
            signal(SignalKind::interrupt()),
            signal(SignalKind::terminate()),
        ) else {
            eprintln!("launchgate: warning: cannot watch SIGINT/SIGTERM; an interrupted run writes no reports");
            return;
        };
        let runner = runner.clone();
        rt.spawn(async move {
            let why = tokio::select! {
                _ = int.recv() => "SIGINT",
                _ = term.recv() => "SIGTERM",
            };
            eprintln!(
                "launchgate: {why}: stopping and writing the reports (again to quit at once)"
            );
            runner.interrupt(why);
            tokio::select! {
                _ = int.recv() => {}
                _ = term.recv() => {}
            }
            std::process::exit(Exit::Interrupted as i32);
        });
    }
    #[cfg(not(unix))]
    let _ = (rt, runner);
}
