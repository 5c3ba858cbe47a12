//! Telling a person what the run is waiting for, while it waits.
//!
//! A wait of a second or more (a Retry-After, a `wait:`, the rate-limit budget) is
//! announced as it happens. On a terminal a live line (indicatif) shows the cases
//! still running and each wait's countdown, and clears when no wait is left;
//! without a terminal (CI logs) one line says when a wait starts and one when it
//! ends, in the present tense.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use parking_lot::Mutex;

use crate::report::WaitCause;

/// Waits shorter than this pass silently.
const ANNOUNCE_FROM: Duration = Duration::from_secs(1);

/// How waits are shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Display {
    /// A live line on stderr (a terminal).
    Live,
    /// A line when a wait starts and one when it ends (CI logs).
    Lines,
    /// Nothing.
    Off,
}

impl Display {
    /// Live on a terminal, lines otherwise.
    pub fn detect() -> Display {
        use std::io::IsTerminal;
        if std::io::stderr().is_terminal() {
            Display::Live
        } else {
            Display::Lines
        }
    }
}

/// The run's progress reporter.
pub struct Progress {
    display: Display,
    state: Arc<Mutex<State>>,
}

#[derive(Default)]
struct State {
    /// Cases with steps under way.
    running: usize,
    next: u64,
    waits: BTreeMap<u64, Active>,
    bar: Option<ProgressBar>,
}

struct Active {
    case: String,
    cause: WaitCause,
    until: Instant,
}

/// A wait being announced; its end is announced when dropped.
pub struct Announced<'a> {
    progress: &'a Progress,
    id: u64,
    case: String,
    cause: WaitCause,
    began: Instant,
}

impl Progress {
    /// A reporter showing waits this way.
    pub fn new(display: Display) -> Progress {
        Progress {
            display,
            state: Arc::default(),
        }
    }

    /// A case begins (or ends) its steps.
    pub fn case_running(&self, running: bool) {
        let mut s = self.state.lock();
        if running {
            s.running += 1;
        } else {
            s.running = s.running.saturating_sub(1);
        }
    }

    /// Announces a wait of `d` by `case` (when long enough to be worth it).
    pub fn begin(&self, case: &str, cause: WaitCause, d: Duration) -> Option<Announced<'_>> {
        if self.display == Display::Off || d < ANNOUNCE_FROM {
            return None;
        }
        let (id, running) = {
            let mut s = self.state.lock();
            let id = s.next;
            s.next += 1;
            s.waits.insert(
                id,
                Active {
                    case: case.to_string(),
                    cause,
                    until: Instant::now() + d,
                },
            );
            (id, s.running)
        };
        match self.display {
            Display::Lines => eprintln!(
                "launchgate: `{case}` waits {} ({}), {running} case{} running",
                humantime::format_duration(d),
                cause.label(),
                if running == 1 { "" } else { "s" }
            ),
            _ => self.draw(),
        }
        Some(Announced {
            progress: self,
            id,
            case: case.to_string(),
            cause,
            began: Instant::now(),
        })
    }

    /// Runs `f` (which prints) with the live line out of the way.
    pub fn suspend<R>(&self, f: impl FnOnce() -> R) -> R {
        let bar = self.state.lock().bar.clone();
        match bar {
            Some(b) => b.suspend(f),
            None => f(),
        }
    }

    /// Redraws the live line, or clears it when nothing waits; keeps a ticker going
    /// while something does.
    fn draw(&self) {
        let mut s = self.state.lock();
        if s.waits.is_empty() {
            if let Some(b) = s.bar.take() {
                b.finish_and_clear();
            }
            return;
        }
        let message = live_message(&s);
        if let Some(b) = &s.bar {
            b.set_message(message);
            return;
        }
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template("{spinner} {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        bar.set_message(message);
        bar.enable_steady_tick(Duration::from_millis(100));
        s.bar = Some(bar.clone());
        drop(s);
        // The countdown: redraw every quarter second while the line is shown.
        let state = Arc::downgrade(&self.state);
        std::thread::spawn(move || loop {
            std::thread::sleep(Duration::from_millis(250));
            let Some(state) = state.upgrade() else { return };
            let s = state.lock();
            match &s.bar {
                Some(b) if !s.waits.is_empty() => b.set_message(live_message(&s)),
                _ => return,
            }
        });
    }
}

impl Drop for Announced<'_> {
    fn drop(&mut self) {
        self.progress.state.lock().waits.remove(&self.id);
        match self.progress.display {
            Display::Lines => eprintln!(
                "launchgate: `{}` resumes after {} ({})",
                self.case,
                humantime::format_duration(Duration::from_millis(
                    self.began.elapsed().as_millis() as u64
                )),
                self.cause.label()
            ),
            _ => self.progress.draw(),
        }
    }
}

/// `3 cases running · waiting: `a::b` Retry-After 57s`.
fn live_message(s: &State) -> String {
    let (waits, running) = (&s.waits, s.running);
    let now = Instant::now();
    let shown: Vec<String> = waits
        .values()
        .take(3)
        .map(|w| {
            let left = w.until.saturating_duration_since(now).as_secs();
            format!("{} {} {left}s", w.case, w.cause.label())
        })
        .collect();
    let more = waits.len().saturating_sub(shown.len());
    let running = if running > 0 {
        format!("{running} running · ")
    } else {
        String::new()
    };
    let more = if more > 0 {
        format!(" (+{more})")
    } else {
        String::new()
    };
    format!("{running}waiting: {}{more}", shown.join(", "))
}
