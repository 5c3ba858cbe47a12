//! The target's rate-limit budget per key, so launchgate never provokes a 429 itself.
//!
//! Every response with `X-RateLimit-Remaining` tells how many more requests the
//! key may send in this window (and `X-RateLimit-Reset` when the window ends; a
//! 429's `Retry-After` when the key may send again). Requests with that key then
//! never outnumber what is left: a request that would exceed it waits (a wait
//! with its cause, [`WaitCause::RateLimit`](crate::report::WaitCause)) until a
//! response says more or the window resets. Before the first answer for a key
//! only one request with it is in flight (its answer tells the budget); a target
//! that advertises nothing gets the full concurrency. Steps that expect a 429
//! (probing the limit on purpose) are not held back.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use tokio::sync::Notify;

use super::retry_after;
use crate::http::Response;

/// The longest a key is held back on the target's word (a Reset or Retry-After
/// further away is not believed; the step's own 429 handling then applies).
const MAX_HOLD: Duration = Duration::from_secs(3600);

/// Two resets this close are the same window (a reset in whole seconds, read at
/// different moments, moves by the fraction of a second).
const WINDOW_SLACK: Duration = Duration::from_millis(500);

/// Budgets of every key seen.
#[derive(Default)]
pub struct Budgets {
    keys: Mutex<HashMap<String, KeyState>>,
    changed: Notify,
}

#[derive(Default)]
struct KeyState {
    known: Known,
    in_flight: u32,
    /// A 429 said: not before then.
    blocked_until: Option<Instant>,
}

#[derive(Default, Debug, Clone, Copy, PartialEq)]
enum Known {
    /// No answer yet: one request at a time until one says.
    #[default]
    Unprobed,
    /// Answers carry no rate-limit headers: no budget to keep.
    Unadvertised,
    /// What the last answer allows, less what was sent since.
    Advertised {
        remaining: u64,
        limit: Option<u64>,
        reset: Option<Instant>,
    },
}

/// What a request may do now.
enum Decision {
    Go,
    WaitUntil(Instant),
    WaitForAnswer,
}

/// Requests in flight for a key; gives them back when dropped.
pub struct Spent<'a> {
    budgets: &'a Budgets,
    key: Option<String>,
    n: u32,
}

impl Drop for Spent<'_> {
    fn drop(&mut self) {
        if let Some(k) = &self.key {
            if let Some(s) = self.budgets.keys.lock().get_mut(k) {
                s.in_flight = s.in_flight.saturating_sub(self.n);
            }
            self.budgets.changed.notify_waiters();
        }
    }
}

impl Budgets {
    /// Waits until `n` requests with `key` may go (at once, unless `exempt`), then
    /// counts them in flight. `waiting` is called once when it has to wait.
    pub async fn spend(
        &self,
        key: Option<&str>,
        n: u32,
        exempt: bool,
        mut waiting: impl FnMut(),
    ) -> Spent<'_> {
        let Some(key) = key else {
            return Spent {
                budgets: self,
                key: None,
                n,
            };
        };
        let mut told = false;
        loop {
            let changed = self.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            let decision = self.decide(key, n, exempt, Instant::now());
            let until = match decision {
                Decision::Go => break,
                Decision::WaitUntil(t) => Some(t),
                Decision::WaitForAnswer => None,
            };
            if !told {
                told = true;
                waiting();
            }
            match until {
                Some(t) => {
                    let _ = tokio::time::timeout_at(t.into(), changed).await;
                }
                None => changed.await,
            }
        }
        Spent {
            budgets: self,
            key: Some(key.to_string()),
            n,
        }
    }

    fn decide(&self, key: &str, n: u32, exempt: bool, now: Instant) -> Decision {
        let mut keys = self.keys.lock();
        let s = keys.entry(key.to_string()).or_default();
        if exempt {
            s.in_flight += n;
            return Decision::Go;
        }
        if let Some(t) = s.blocked_until.filter(|t| *t > now) {
            return Decision::WaitUntil(t);
        }
        if let Known::Advertised {
            limit,
            reset: Some(r),
            ..
        } = s.known
        {
            if r <= now {
                // A new window.
                s.known = match limit {
                    Some(l) => Known::Advertised {
                        remaining: l,
                        limit,
                        reset: None,
                    },
                    None => Known::Unprobed,
                };
            }
        }
        let go = match &mut s.known {
            Known::Unadvertised => true,
            Known::Unprobed => s.in_flight == 0,
            Known::Advertised {
                remaining, reset, ..
            } => {
                if *remaining >= u64::from(n) {
                    *remaining -= u64::from(n);
                    true
                } else if let Some(r) = *reset {
                    return Decision::WaitUntil(r);
                } else {
                    // Nothing more to learn from answers in flight: one goes.
                    s.in_flight == 0
                }
            }
        };
        if go {
            s.in_flight += n;
            Decision::Go
        } else {
            Decision::WaitForAnswer
        }
    }

    /// Learns the key's budget from an answer (call before its [`Spent`] is dropped).
    pub fn learn(&self, key: Option<&str>, resp: &Response, n: u32) {
        let Some(key) = key else { return };
        let now = Instant::now();
        let number = |h: &str| resp.header(h).and_then(|v| v.trim().parse::<u64>().ok());
        let mut keys = self.keys.lock();
        let s = keys.entry(key.to_string()).or_default();
        // A 429's Retry-After is the precise word on when the key may send again.
        let again = (resp.status == 429)
            .then(|| retry_after(resp.header("retry-after").as_deref()))
            .flatten()
            .filter(|d| *d <= MAX_HOLD)
            .map(|d| now + d);
        if again.is_some() {
            s.blocked_until = again;
        }
        match number("x-ratelimit-remaining") {
            Some(remaining) => {
                // Requests still in flight may not be counted in it yet: assume they are not.
                let others = u64::from(s.in_flight.saturating_sub(n));
                let mut remaining = remaining.saturating_sub(others);
                let reset =
                    again.or_else(|| number("x-ratelimit-reset").and_then(|r| reset_at(r, now)));
                // Answers arrive out of order: within one window, an older answer
                // (more left) never undoes what a newer one said.
                if let Known::Advertised {
                    remaining: known,
                    reset: Some(known_reset),
                    ..
                } = s.known
                {
                    let same_window = reset.is_none_or(|r| r <= known_reset + WINDOW_SLACK);
                    if same_window {
                        remaining = remaining.min(known);
                    }
                }
                s.known = Known::Advertised {
                    remaining,
                    limit: number("x-ratelimit-limit"),
                    reset,
                };
            }
            None if s.known == Known::Unprobed => s.known = Known::Unadvertised,
            None => {}
        }
        drop(keys);
        self.changed.notify_waiters();
    }
}

/// When a window ends, from `X-RateLimit-Reset`: Unix seconds (the Agent API's
/// form) or, for a small number, seconds from now; `None` when past or absurd.
fn reset_at(value: u64, now: Instant) -> Option<Instant> {
    let in_secs = if value > 1_000_000_000 {
        let epoch = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .ok()?
            .as_secs_f64();
        // The window ends when its second is over.
        value as f64 + 1.0 - epoch
    } else {
        value as f64
    };
    let d = Duration::try_from_secs_f64(in_secs).ok()?;
    (d <= MAX_HOLD).then(|| now + d)
}

/// The name of the key a request carries: the first of `keys` whose value is in a
/// header (alone, or after a scheme such as `Bearer `).
pub fn key_of<'a>(
    headers: &[(String, String)],
    keys: &'a std::collections::BTreeMap<String, String>,
) -> Option<&'a str> {
    keys.iter()
        .find(|(_, v)| !v.is_empty() && headers.iter().any(|(_, h)| h.contains(v.as_str())))
        .map(|(k, _)| k.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resp(status: u16, headers: &[(&str, &str)]) -> Response {
        Response {
            status,
            headers: headers
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect(),
            ..Response::default()
        }
    }

    #[tokio::test]
    async fn requests_never_outnumber_the_remaining_budget() {
        let b = Budgets::default();
        // Before any answer: one at a time.
        let first = b.spend(Some("k"), 1, false, || {}).await;
        assert!(matches!(
            b.decide("k", 1, false, Instant::now()),
            Decision::WaitForAnswer
        ));
        b.learn(
            Some("k"),
            &resp(
                200,
                &[("x-ratelimit-remaining", "2"), ("x-ratelimit-limit", "5")],
            ),
            1,
        );
        drop(first);
        let a = b.spend(Some("k"), 1, false, || {}).await;
        let c = b.spend(Some("k"), 1, false, || {}).await;
        assert!(
            !matches!(b.decide("k", 1, false, Instant::now()), Decision::Go),
            "a third would exceed the 2 remaining"
        );
        // A step that expects the 429 is not held back.
        let _probe = b.spend(Some("k"), 1, true, || {}).await;
        drop((a, c));
    }

    #[tokio::test]
    async fn an_older_answer_does_not_undo_a_newer_one_in_the_same_window() {
        let b = Budgets::default();
        let h = |left: &'static str| {
            resp(
                200,
                &[("x-ratelimit-remaining", left), ("x-ratelimit-reset", "5")],
            )
        };
        let probe = b.spend(Some("k"), 1, false, || {}).await;
        b.learn(Some("k"), &h("2"), 1);
        drop(probe);
        let first = b.spend(Some("k"), 1, false, || {}).await;
        let second = b.spend(Some("k"), 1, false, || {}).await;
        // The second's answer overtakes the first's.
        b.learn(Some("k"), &h("0"), 1);
        drop(second);
        b.learn(Some("k"), &h("1"), 1);
        drop(first);
        assert!(
            !matches!(b.decide("k", 1, false, Instant::now()), Decision::Go),
            "nothing is left in this window"
        );
    }

    #[tokio::test]
    async fn a_429_holds_the_key_until_retry_after_and_a_silent_target_is_not_limited() {
        let b = Budgets::default();
        let s = b.spend(Some("k"), 1, false, || {}).await;
        b.learn(
            Some("k"),
            &resp(
                429,
                &[("retry-after", "30"), ("x-ratelimit-remaining", "0")],
            ),
            1,
        );
        drop(s);
        assert!(matches!(
            b.decide("k", 1, false, Instant::now()),
            Decision::WaitUntil(_)
        ));
        let s = b.spend(Some("quiet"), 1, false, || {}).await;
        b.learn(Some("quiet"), &resp(200, &[]), 1);
        let more: Vec<_> = futures_none(&b).await;
        assert_eq!(more.len(), 3);
        drop(s);
    }

    async fn futures_none(b: &Budgets) -> Vec<Spent<'_>> {
        let mut v = Vec::new();
        for _ in 0..3 {
            v.push(b.spend(Some("quiet"), 1, false, || {}).await);
        }
        v
    }

    #[test]
    fn reset_is_epoch_seconds_or_seconds_from_now() {
        let now = Instant::now();
        let epoch = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let r = reset_at(epoch + 10, now).unwrap();
        assert!(r > now + Duration::from_secs(9) && r <= now + Duration::from_secs(12));
        assert_eq!(reset_at(5, now), Some(now + Duration::from_secs(5)));
        assert_eq!(reset_at(epoch + 86_400, now), None, "absurd");
    }
}
