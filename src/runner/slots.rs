//! Concurrency slots: at most `--jobs` requests in flight, handed out by priority.
//!
//! A slot is held only while requests are in flight: a case sleeping on a `wait:`
//! or a Retry-After, or queued on a lock, holds none. When a slot frees up it goes
//! to the waiting request of the case with the longest estimated chain
//! ([`super::schedule`]), ties to the one that asked first, so the critical path
//! never queues behind shorter work.
//!
//! With two slots or more, the last free slot is kept for the critical path: the
//! unfinished case with the longest chain. Without that reserve, a critical case
//! coming back from a wait finds every slot taken by short work and queues for up
//! to a request's latency at each step; measured at 50 ms per request, that cost the
//! suite's locked chain a tenth of its time.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BinaryHeap};
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
    /// Slots kept for the critical path (1 with two slots or more, else 0).
    reserve: usize,
    /// The priorities of the cases not finished yet, counted: the highest is the
    /// critical path.
    unfinished: BTreeMap<u64, usize>,
}

impl State {
    /// Whether a request of `priority` may take `need` slots now.
    fn may_take(&self, priority: u64, need: usize) -> bool {
        if need > self.free {
            return false;
        }
        let critical = self.unfinished.last_key_value().map_or(0, |(p, _)| *p);
        // A step that needs more than the unreserved slots would otherwise wait
        // for the critical case to finish.
        priority >= critical
            || self.free - need >= self.reserve
            || need > self.free + self.in_flight - self.reserve
    }
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
                    reserve: usize::from(limit >= 2),
                    unfinished: BTreeMap::new(),
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
            if s.queue.is_empty() && s.may_take(priority, need) {
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
            // Free slots may be kept from the waiters ahead but not from this one
            // (it may be the critical path): hand them out again with it in line.
            grant(&self.inner, &mut s);
            rx
        };
        queued();
        match rx.await {
            Ok(p) => p,
            // The sender is only dropped with the queue, which lives as long as `self`.
            Err(_) => std::future::pending().await,
        }
    }

    /// A case of `priority` will run: until [`Slots::finished`], the last slot is
    /// kept for it when it is the longest chain.
    pub fn expect(&self, priority: u64) {
        *self
            .inner
            .state
            .lock()
            .unfinished
            .entry(priority)
            .or_default() += 1;
    }

    /// A case [`Slots::expect`]ed with `priority` has finished; the slot it had
    /// reserved is free for the next longest chain, and waiters get it.
    pub fn finished(&self, priority: u64) {
        let mut s = self.inner.state.lock();
        if let Some(n) = s.unfinished.get_mut(&priority) {
            *n -= 1;
            if *n == 0 {
                s.unfinished.remove(&priority);
            }
        }
        grant(&self.inner, &mut s);
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
    grant(inner, &mut s);
}

/// Hands free slots to the waiters in priority order.
fn grant(inner: &Arc<Inner>, s: &mut State) {
    while let Some(top) = s.queue.peek() {
        if !s.may_take(top.priority, top.need) {
            // Strict priority: the first in line waits for enough slots, nobody
            // overtakes it (so a `parallel:` step is never starved); and as the
            // heap's top it is the most critical waiter, so nobody else may take
            // a reserved slot either.
            break;
        }
        let Some(w) = s.queue.pop() else { break };
        take(s, w.need);
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

    /// The last free slot waits for the critical path: short work queues for it, the
    /// longest unfinished chain takes it at once, and it is released to the short
    /// work when the critical case finishes. With one slot nothing is kept back.
    #[tokio::test]
    async fn the_last_slot_is_kept_for_the_critical_path() {
        let slots = Slots::new(2);
        slots.expect(9);
        slots.expect(1);
        slots.expect(1);
        let short = slots.acquire(1, 1, || {}).await;
        let (queued_tx, queued_rx) = oneshot::channel();
        let other_short = tokio::spawn({
            let slots = slots.clone();
            async move {
                slots
                    .acquire(1, 1, move || {
                        let _ = queued_tx.send(());
                    })
                    .await
            }
        });
        queued_rx.await.unwrap();
        let critical = tokio::time::timeout(
            std::time::Duration::from_secs(5),
            slots.acquire(9, 1, || {}),
        )
        .await;
        assert!(
            critical.is_ok(),
            "the critical case took the kept slot at once"
        );
        assert!(
            !other_short.is_finished(),
            "short work does not take the kept slot"
        );
        drop(critical);
        slots.finished(9);
        let granted = tokio::time::timeout(std::time::Duration::from_secs(5), other_short).await;
        assert!(
            granted.is_ok(),
            "once the critical case is done, short work gets the slot"
        );
        drop(short);
        assert_eq!(slots.peak(), 2);

        let one = Slots::new(1);
        one.expect(9);
        one.expect(1);
        let alone =
            tokio::time::timeout(std::time::Duration::from_secs(5), one.acquire(1, 1, || {})).await;
        assert!(alone.is_ok(), "with one slot, nothing is kept back");
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
