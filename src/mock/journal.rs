//! The request journal: a bounded ring buffer the client referee reads through
//! `GET /__launchgate/journal`.
//!
//! Sequence numbers are assigned when an entry is pushed (under the lock), not when the
//! request arrives, so the buffer is always in `seq` order and a reader polling with
//! `after=<last seq seen>` never skips an entry that finished late.

use std::collections::VecDeque;
use std::sync::Arc;

use chrono::{DateTime, SecondsFormat, Utc};
use parking_lot::Mutex;
use serde::Serialize;
use serde_json::Value;

use super::fixtures::Role;

/// Largest request body kept in an entry; bigger bodies are kept as truncated text.
pub(crate) const BODY_CAP: usize = 4096;

/// One request as the mock saw it.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Entry {
    pub seq: u64,
    #[serde(serialize_with = "rfc3339_ms")]
    pub at: DateTime<Utc>,
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    /// The fixture name of the key sent, never the key itself.
    #[serde(serialize_with = "opt_str")]
    pub key_name: Option<Arc<str>>,
    pub role: Option<Role>,
    /// `None` when the connection was dropped without an answer.
    pub status: Option<u16>,
    pub code: Option<&'static str>,
    pub outcome: &'static str,
    pub retry_after: Option<u64>,
    /// `pagination.last_page` of a list response.
    pub last_page: Option<u64>,
    pub duration_ms: f64,
    pub body: Option<Value>,
    /// True when the body was over 4 KiB and `body` holds its first 4 KiB as text
    /// (a small body that is not JSON is kept whole, as text).
    pub body_truncated: bool,
}

fn opt_str<S: serde::Serializer>(v: &Option<Arc<str>>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(name) => s.serialize_str(name),
        None => s.serialize_none(),
    }
}

fn rfc3339_ms<S: serde::Serializer>(at: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&at.to_rfc3339_opts(SecondsFormat::Millis, true))
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
    inner: Mutex<Inner>,
}

struct Inner {
    next_seq: u64,
    entries: VecDeque<Entry>,
}

/// A page of the journal.
#[derive(Debug, Serialize)]
pub(crate) struct Page {
    /// Oldest sequence number still held (entries before it were evicted).
    pub first_seq: u64,
    /// Newest sequence number written so far (0 when nothing was written).
    pub last_seq: u64,
    pub capacity: usize,
    /// True when entries after `after` were already evicted: the reader fell behind.
    pub lost: bool,
    pub entries: Vec<Entry>,
}

impl Journal {
    pub(crate) fn new(capacity: usize) -> Self {
        Journal {
            capacity: capacity.max(1),
            inner: Mutex::new(Inner {
                next_seq: 1,
                entries: VecDeque::with_capacity(capacity.clamp(1, 16_384)),
            }),
        }
    }

    /// Appends an entry, giving it the next sequence number; evicts the oldest when full.
    pub(crate) fn push(&self, mut entry: Entry) {
        let mut inner = self.inner.lock();
        entry.seq = inner.next_seq;
        inner.next_seq += 1;
        if inner.entries.len() >= self.capacity {
            inner.entries.pop_front();
        }
        inner.entries.push_back(entry);
    }

    /// Entries with `seq > after`, at most `limit` of them, oldest first.
    pub(crate) fn page(&self, after: u64, limit: usize) -> Page {
        let inner = self.inner.lock();
        let last_seq = inner.next_seq - 1;
        let first_seq = inner.entries.front().map_or(inner.next_seq, |e| e.seq);
        // Sequence numbers in the buffer are contiguous, so the start is an offset.
        let skip = after.saturating_add(1).saturating_sub(first_seq) as usize;
        let entries = inner
            .entries
            .iter()
            .skip(skip)
            .take(limit)
            .cloned()
            .collect();
        Page {
            first_seq,
            last_seq,
            capacity: self.capacity,
            lost: after.saturating_add(1) < first_seq,
            entries,
        }
    }
}
