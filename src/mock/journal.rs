//! The request journal: a bounded ring buffer the client referee reads through
//! `GET /__launchgate/journal`.
//!
//! Sequence numbers are assigned when an entry is pushed (under the lock), not when the
//! request arrives, so the buffer is always in `seq` order and a reader polling with
//! `after=<last seq seen>` never skips an entry that finished late.
//!
//! The ring is bounded twice: by entries and by an estimate of the bytes they hold (long
//! URLs and bodies are cut to [`TEXT_CAP`] / [`BODY_CAP`] first), and a page is bounded by
//! entries and bytes too, so neither memory nor one journal read grows with what a client sends.

use std::collections::VecDeque;

use parking_lot::Mutex;
use serde_json::Value;

use crate::agent_api::{JournalEntry, JournalPage};

/// Largest request body kept in an entry; bigger bodies are kept as truncated text.
pub(crate) const BODY_CAP: usize = 4096;
/// Longest path or query kept in an entry; longer ones are cut and end in `…`.
pub(crate) const TEXT_CAP: usize = 2048;
/// Most entries one journal page returns.
pub const PAGE_MAX_ENTRIES: usize = 1000;
/// Bytes (estimated) after which a journal page stops adding entries.
pub const PAGE_MAX_BYTES: usize = 4 * 1024 * 1024;
/// Fixed per-entry cost in the byte estimate (the struct, timestamps, names).
const ENTRY_OVERHEAD: usize = 512;

/// An estimate of the memory and JSON an entry holds.
fn weight(e: &JournalEntry) -> usize {
    let body = match &e.body {
        None => 0,
        Some(Value::String(s)) => s.len(),
        Some(v) => v.to_string().len(),
    };
    let listed = e.listed_txns.as_ref().map_or(0, |l| l.len() * 40);
    ENTRY_OVERHEAD
        + e.path.len()
        + e.query.as_ref().map_or(0, String::len)
        + body
        + listed
        + e.committed_txn.as_ref().map_or(0, String::len)
}

/// Cuts a path or query to [`TEXT_CAP`] bytes on a character boundary, marking the cut.
pub(crate) fn cap_text(mut s: String) -> String {
    if s.len() <= TEXT_CAP {
        return s;
    }
    let mut end = TEXT_CAP;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s.truncate(end);
    s.push('…');
    // `truncate` keeps the capacity: without this the cut string still holds every byte.
    s.shrink_to_fit();
    s
}

/// What the journal keeps of a request body (POST/PATCH only).
pub(crate) fn body_summary(raw: &[u8]) -> (Option<Value>, bool) {
    if raw.is_empty() {
        return (None, false);
    }
    if raw.len() <= BODY_CAP {
        if let Ok(v) = serde_json::from_slice::<Value>(raw) {
            return (Some(v), false);
        }
    }
    let mut end = raw.len().min(BODY_CAP);
    // Cut on a character boundary (continuation bytes are 0b10xxxxxx) so the text stays valid UTF-8.
    while end > 0 && end < raw.len() && raw[end] & 0xC0 == 0x80 {
        end -= 1;
    }
    let text = String::from_utf8_lossy(&raw[..end]).into_owned();
    (Some(Value::String(text)), end < raw.len())
}

pub(crate) struct Journal {
    capacity: usize,
    max_bytes: usize,
    inner: Mutex<Inner>,
}

struct Inner {
    next_seq: u64,
    bytes: usize,
    entries: VecDeque<(usize, JournalEntry)>,
}

impl Journal {
    pub(crate) fn new(capacity: usize, max_bytes: usize) -> Self {
        Journal {
            capacity: capacity.max(1),
            max_bytes: max_bytes.max(1),
            inner: Mutex::new(Inner {
                next_seq: 1,
                bytes: 0,
                entries: VecDeque::with_capacity(capacity.clamp(1, 16_384)),
            }),
        }
    }

    /// Appends an entry, giving it the next sequence number; evicts the oldest while the
    /// ring is over its entry or byte bound (the newest entry always stays).
    pub(crate) fn push(&self, mut entry: JournalEntry) {
        entry.path = cap_text(std::mem::take(&mut entry.path));
        entry.query = entry.query.take().map(cap_text);
        let weight = weight(&entry);
        let mut inner = self.inner.lock();
        entry.seq = inner.next_seq;
        inner.next_seq += 1;
        while !inner.entries.is_empty()
            && (inner.entries.len() >= self.capacity || inner.bytes + weight > self.max_bytes)
        {
            if let Some((w, _)) = inner.entries.pop_front() {
                inner.bytes -= w;
            }
        }
        inner.bytes += weight;
        inner.entries.push_back((weight, entry));
    }

    /// Entries with `seq > after`, oldest first: at most `limit` (and [`PAGE_MAX_ENTRIES`])
    /// of them, and no more once the page holds [`PAGE_MAX_BYTES`].
    pub(crate) fn page(&self, after: u64, limit: usize) -> JournalPage {
        let limit = limit.clamp(1, PAGE_MAX_ENTRIES);
        let inner = self.inner.lock();
        let last_seq = inner.next_seq - 1;
        let first_seq = inner.entries.front().map_or(inner.next_seq, |(_, e)| e.seq);
        // Sequence numbers in the buffer are contiguous, so the start is an offset.
        let skip = after.saturating_add(1).saturating_sub(first_seq) as usize;
        let mut bytes = 0;
        let mut entries = Vec::new();
        for (w, e) in inner.entries.iter().skip(skip) {
            if entries.len() >= limit || (!entries.is_empty() && bytes + w > PAGE_MAX_BYTES) {
                break;
            }
            bytes += w;
            entries.push(e.clone());
        }
        let more = entries
            .last()
            .is_some_and(|e: &JournalEntry| e.seq < last_seq);
        JournalPage {
            first_seq,
            last_seq,
            capacity: self.capacity,
            max_bytes: self.max_bytes,
            lost: after.saturating_add(1) < first_seq,
            more,
            entries,
        }
    }
}
