//! Concurrency slots: at most `--jobs` requests in flight, handed out by priority.
//!
//! A slot is held only while requests are in flight: a case sleeping on a `wait:`
//! or a Retry-After, or queued on a lock, holds none. When a slot frees up it goes
//! to the waiting request of the case with the longest estimated chain
//! ([`super::schedule`]), ties to the one that asked first, so the critical path
//! never queues behind shorter work.

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::sync::Arc;

use parking_lot::Mutex;
use tokio::sync::oneshot;

/// The run's slots.
#[derive(Clone)]
pub struct Slots {
    inner: Arc<Inner>,
}

struct Inner {
    state: Mutex<State>,
}

struct State {
    free: usize,
    in_flight: usize,
    peak: usize,
    next_seq: u64,
    queue: BinaryHeap<Waiter>,
}

/// A request waiting for slots.
struct Waiter {
    priority: u64,
    seq: u64,
    need: usize,
    grant: oneshot::Sender<Permit>,
}

impl PartialEq for Waiter {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Waiter {}
impl PartialOrd for Waiter {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Waiter {
    /// Higher priority first; among equals, the one that asked first.
    fn cmp(&self, other: &Self) -> Ordering {
        self.priority
            .cmp(&other.priority)
            .then_with(|| other.seq.cmp(&self.seq))
    }
}

/// Slots held; released when dropped.
pub struct Permit {
    inner: Option<Arc<Inner>>,
    count: usize,
}

impl Drop for Permit {
    fn drop(&mut self) {
        if let Some(inner) = self.inner.take() {
            release(&inner, self.count);
        }
    }
}

impl Slots {
    /// `limit` slots (at least one).
    pub fn new(limit: usize) -> Slots {
        Slots {
            inner: Arc::new(Inner {
                state: Mutex::new(State {
                    free: limit.max(1),
                    in_flight: 0,
                    peak: 0,
                    next_seq: 0,
                    queue: BinaryHeap::new(),
                }),
            }),
        }
    }

    /// Waits for `need` slots (a `parallel:` step takes several at once). `queued` is
    /// called once the request is in line or has its slots, so the caller knows the
    /// order is settled.
    pub async fn acquire(&self, priority: u64, need: usize, queued: impl FnOnce()) -> Permit {
        let rx = {
            let mut s = self.inner.state.lock();
            let need = need.clamp(1, s.free + s.in_flight);
            if s.queue.is_empty() && s.free >= need {
                take(&mut s, need);
                drop(s);
                queued();
                return Permit {
                    inner: Some(self.inner.clone()),
                    count: need,
                };
            }
            let (tx, rx) = oneshot::channel();
            let seq = s.next_seq;
            s.next_seq += 1;
            s.queue.push(Waiter {
                priority,
                seq,
                need,
                grant: tx,
            });
            rx
        };
        queued();
        match rx.await {
            Ok(p) => p,
            // The sender is only dropped with the queue, which lives as long as `self`.
            Err(_) => std::future::pending().await,
        }
    }

    /// The most requests that were in flight at once.
    pub fn peak(&self) -> usize {
        self.inner.state.lock().peak
    }
}

fn take(s: &mut State, n: usize) {
    s.free -= n;
    s.in_flight += n;
    s.peak = s.peak.max(s.in_flight);
}

/// Gives `n` slots back and hands free slots to the waiters in priority order.
fn release(inner: &Arc<Inner>, n: usize) {
    let mut s = inner.state.lock();
    s.free += n;
    s.in_flight -= n;
    while let Some(top) = s.queue.peek() {
        if top.need > s.free {
            // Strict priority: the first in line waits for enough slots, nobody
            // overtakes it (so a `parallel:` step is never starved).
            break;
        }
        let Some(w) = s.queue.pop() else { break };
        take(&mut s, w.need);
        let permit = Permit {
            inner: Some(inner.clone()),
            count: w.need,
        };
        if let Err(mut unwanted) = w.grant.send(permit) {
            // Its request went away (the case was interrupted): the slots stay free.
            unwanted.inner = None;
            s.free += w.need;
            s.in_flight -= w.need;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_freed_slot_goes_to_the_highest_priority_then_the_first_in_line() {
        let slots = Slots::new(1);
        let first = slots.acquire(0, 1, || {}).await;
        let order = Arc::new(Mutex::new(Vec::new()));
        let mut tasks = Vec::new();
        for (name, priority) in [("low", 1u64), ("high", 9), ("low-later", 1)] {
            let (slots, order) = (slots.clone(), order.clone());
            let (queued_tx, queued_rx) = oneshot::channel();
            tasks.push(tokio::spawn(async move {
                let _p = slots
                    .acquire(priority, 1, move || {
                        let _ = queued_tx.send(());
                    })
                    .await;
                order.lock().push(name);
            }));
            queued_rx.await.unwrap();
        }
        drop(first);
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(*order.lock(), ["high", "low", "low-later"]);
        assert_eq!(slots.peak(), 1);
    }

    #[tokio::test]
    async fn a_request_that_gives_up_frees_its_slot() {
        let slots = Slots::new(1);
        let held = slots.acquire(0, 1, || {}).await;
        let waiting = tokio::spawn({
            let slots = slots.clone();
            async move { slots.acquire(5, 1, || {}).await }
        });
        tokio::task::yield_now().await;
        waiting.abort();
        let _ = waiting.await;
        drop(held);
        let again = tokio::time::timeout(
            std::time::Duration::from_secs(5),
            slots.acquire(0, 1, || {}),
        )
        .await;
        assert!(again.is_ok(), "the slot came back");
    }

    #[tokio::test]
    async fn several_slots_at_once_are_never_more_than_the_limit() {
        let slots = Slots::new(3);
        let a = slots.acquire(0, 2, || {}).await;
        let b = slots.acquire(0, 1, || {}).await;
        // Asking for more than exist is asking for all of them.
        let all = tokio::spawn({
            let slots = slots.clone();
            async move { slots.acquire(0, 10, || {}).await.count }
        });
        drop(a);
        drop(b);
        assert_eq!(all.await.unwrap(), 3);
        assert_eq!(slots.peak(), 3);
    }
}
