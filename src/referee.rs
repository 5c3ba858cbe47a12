//! The client referee: judges an integration's own client from the mock's
//! request journal.
//!
//! Half of the Final Launch Checklist is about the client, not the server
//! (retry logic, rate-limit handling, pagination, notes, reconciliation). The
//! referee starts the embedded mock with faults that provoke those situations,
//! lets the client run against it, and reads what the client did. Judging is a
//! streaming state machine over journal entries with bounded state, so a long
//! run keeps constant memory.

use std::collections::{HashMap, VecDeque};
use std::hash::{Hash, Hasher};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::checklist::Item;

/// One request as the mock's journal (`GET /__launchgate/journal`) reports it.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct JournalEntry {
    /// Sequence number, increasing.
    pub seq: u64,
    /// When the request arrived.
    pub at: DateTime<Utc>,
    /// HTTP method.
    pub method: String,
    /// Path, without the query.
    pub path: String,
    /// Raw query string.
    #[serde(default)]
    pub query: Option<String>,
    /// The fixture name of the key used (never the key).
    #[serde(default)]
    pub key_name: Option<String>,
    /// The key's role.
    #[serde(default)]
    pub role: Option<String>,
    /// Response status; `None` when the connection was dropped.
    #[serde(default)]
    pub status: Option<u16>,
    /// Error code of the response.
    #[serde(default)]
    pub code: Option<String>,
    /// `responded` or `dropped`.
    pub outcome: String,
    /// Retry-After of a 429, in seconds.
    #[serde(default)]
    pub retry_after: Option<u64>,
    /// `pagination.last_page` of a list response.
    #[serde(default)]
    pub last_page: Option<u64>,
    /// The request's JSON body (POST/PATCH).
    #[serde(default)]
    pub body: Option<Value>,
}

impl JournalEntry {
    /// One line for evidence: `#12 10:00:01.250 POST /purchase (key partner) → 500 INTERNAL_ERROR`.
    pub fn line(&self) -> String {
        let q = self
            .query
            .as_deref()
            .map(|q| format!("?{q}"))
            .unwrap_or_default();
        let result = match self.status {
            Some(s) => format!(
                "{s}{}",
                self.code
                    .as_deref()
                    .map(|c| format!(" {c}"))
                    .unwrap_or_default()
            ),
            None => "connection dropped after the write was committed".into(),
        };
        format!(
            "#{} {} {} {}{} (key {}) → {}",
            self.seq,
            self.at.format("%H:%M:%S%.3f"),
            self.method,
            self.path,
            q,
            self.key_name.as_deref().unwrap_or("none"),
            result
        )
    }

    fn is_write(&self) -> bool {
        self.method == "POST"
            && (self.path.ends_with("/transactions/purchase")
                || self.path.ends_with("/transactions/redeem"))
    }

    fn note(&self) -> Option<&str> {
        self.body
            .as_ref()?
            .get("note")?
            .as_str()
            .filter(|n| !n.trim().is_empty())
    }

    fn query_param(&self, name: &str) -> Option<String> {
        let q = self.query.as_deref()?;
        url::form_urlencoded::parse(q.as_bytes())
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    }

    /// The query without `page`, identifying "the same list".
    fn list_identity(&self) -> String {
        let q = self.query.as_deref().unwrap_or("");
        let mut rest: Vec<(String, String)> = url::form_urlencoded::parse(q.as_bytes())
            .filter(|(k, _)| k != "page")
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        rest.sort();
        format!(
            "{} {} {rest:?}",
            self.key_name.as_deref().unwrap_or(""),
            self.path
        )
    }

    /// Same key, method, path, query and body: the same request sent again.
    fn fingerprint(&self) -> u64 {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        (&self.key_name, &self.method, &self.path, &self.query).hash(&mut h);
        self.body.as_ref().map(|b| b.to_string()).hash(&mut h);
        h.finish()
    }
}

/// The retry strategy of an error code (contract §A.4; unknown codes: by status).
pub fn retry_strategy(code: Option<&str>, status: u16) -> &'static str {
    match code {
        Some("RATE_LIMITED" | "INTERNAL_ERROR") => "backoff",
        Some("AUTH_OWNER_INACTIVE" | "FEATURE_DISABLED" | "LIMIT_REACHED") => "contact_support",
        Some("VALIDATION_FAILED" | "REWARD_NOT_LINKED") => "fix_request",
        Some(_) => "no_retry",
        None if status >= 500 || status == 429 => "backoff",
        None => "no_retry",
    }
}

/// A referee verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClientVerdict {
    /// The client handled the situation.
    Pass,
    /// The client mishandled it; the evidence says how.
    Fail,
    /// The client never met the situation, so nothing can be said.
    NotExercised,
}

impl ClientVerdict {
    /// Lowercase words.
    pub fn label(self) -> &'static str {
        match self {
            ClientVerdict::Pass => "pass",
            ClientVerdict::Fail => "fail",
            ClientVerdict::NotExercised => "not exercised",
        }
    }
}

/// One judged behaviour.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Judgement {
    /// The checklist item it proves (`retry-logic`, ...).
    pub item: String,
    /// A short title.
    pub title: String,
    /// The verdict.
    pub verdict: ClientVerdict,
    /// One sentence.
    pub summary: String,
    /// Journal lines that show it (at most [`MAX_EVIDENCE`]).
    pub evidence: Vec<String>,
}

/// The referee's report.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RefereeReport {
    /// launchgate's version.
    pub version: String,
    /// When the referee started (RFC 3339).
    pub started_at: String,
    /// The client command, if one was run (arguments may be redacted).
    pub command: Option<String>,
    /// Its exit status, if it exited.
    pub exit_status: Option<i32>,
    /// Journal entries judged.
    pub requests: u64,
    /// True if the journal evicted entries before the referee read them.
    pub journal_lost_entries: bool,
    /// The verdicts.
    pub judgements: Vec<Judgement>,
}

/// Evidence lines kept per verdict.
pub const MAX_EVIDENCE: usize = 8;
/// Distinct requests (or notes, or lists) remembered; the oldest are forgotten first.
const MAX_TRACKED: usize = 10_000;
/// Clock slack when comparing a request's arrival with Retry-After (the client
/// measures from the response, we from the request's arrival).
const RETRY_AFTER_SLACK_MS: i64 = 200;
/// A retry sooner than this after a backoff error is not a backoff.
const MIN_BACKOFF_MS: i64 = 100;
/// More attempts than this at one request is unbounded retrying.
const MAX_ATTEMPTS: u32 = 8;
/// Identical refusals at authentication after which continuing is hammering.
const AUTH_HAMMER: u32 = 3;

/// A bounded map: inserting past the cap forgets the oldest key.
struct Bounded<K, V> {
    map: HashMap<K, V>,
    order: VecDeque<K>,
}

impl<K: Hash + Eq + Clone, V> Bounded<K, V> {
    fn new() -> Self {
        Bounded {
            map: HashMap::new(),
            order: VecDeque::new(),
        }
    }
    fn get_mut(&mut self, k: &K) -> Option<&mut V> {
        self.map.get_mut(k)
    }
    fn get(&self, k: &K) -> Option<&V> {
        self.map.get(k)
    }
    fn insert(&mut self, k: K, v: V) {
        if self.map.insert(k.clone(), v).is_none() {
            self.order.push_back(k);
            if self.order.len() > MAX_TRACKED {
                if let Some(old) = self.order.pop_front() {
                    self.map.remove(&old);
                }
            }
        }
    }
    fn remove(&mut self, k: &K) -> Option<V> {
        self.map.remove(k)
    }
    fn values(&self) -> impl Iterator<Item = &V> {
        self.map.values()
    }
}

#[derive(Default)]
struct Tally {
    exercised: bool,
    failures: u64,
    evidence: Vec<String>,
}

impl Tally {
    fn fail(&mut self, lines: &[String]) {
        self.failures += 1;
        for l in lines {
            if self.evidence.len() < MAX_EVIDENCE && !self.evidence.contains(l) {
                self.evidence.push(l.clone());
            }
        }
    }
    fn show(&mut self, line: String) {
        if self.evidence.len() < MAX_EVIDENCE / 2 && !self.evidence.contains(&line) {
            self.evidence.push(line);
        }
    }
}

/// What we remember about a request the client sent.
struct Sent {
    line: String,
    at: DateTime<Utc>,
    strategy: Option<&'static str>,
    status: Option<u16>,
    attempts: u32,
    last_gap_ms: Option<i64>,
    /// A backoff error that has not been retried yet.
    awaiting_retry: bool,
}

/// The streaming judge.
pub struct Referee {
    requests: u64,
    rate: Tally,
    retry: Tally,
    reconcile: Tally,
    notes: Tally,
    pagination: Tally,
    keys: Tally,
    blocked_until: HashMap<String, (DateTime<Utc>, String)>,
    auth_refusals: Bounded<u64, u32>,
    sent: Bounded<u64, Sent>,
    /// Dropped writes not yet replayed: fingerprint → (line, key, reconciled since?).
    ambiguous: Bounded<u64, (String, Option<String>, bool)>,
    ambiguous_notes: Bounded<String, u64>,
    writes: u64,
    writes_with_note: u64,
    note_owner: Bounded<String, u64>,
    reconciled: u64,
    /// Lists with more pages: identity → (next page wanted, line).
    pages_due: Bounded<String, (u64, String)>,
}

impl Default for Referee {
    fn default() -> Self {
        Referee::new()
    }
}

impl Referee {
    /// A referee that has seen nothing.
    pub fn new() -> Self {
        Referee {
            requests: 0,
            rate: Tally::default(),
            retry: Tally::default(),
            reconcile: Tally::default(),
            notes: Tally::default(),
            pagination: Tally::default(),
            keys: Tally::default(),
            blocked_until: HashMap::new(),
            auth_refusals: Bounded::new(),
            sent: Bounded::new(),
            ambiguous: Bounded::new(),
            ambiguous_notes: Bounded::new(),
            writes: 0,
            writes_with_note: 0,
            note_owner: Bounded::new(),
            reconciled: 0,
            pages_due: Bounded::new(),
        }
    }

    /// Journal entries judged so far.
    pub fn requests(&self) -> u64 {
        self.requests
    }

    /// Feeds one journal entry, in `seq` order.
    pub fn observe(&mut self, e: &JournalEntry) {
        if e.path.starts_with("/__launchgate") {
            return;
        }
        self.requests += 1;
        let line = e.line();
        let key = e.key_name.clone().unwrap_or_default();
        let fp = e.fingerprint();
        self.judge_rate_limit(e, &key, fp, &line);
        self.judge_retry(e, fp, &line);
        self.judge_reconciliation(e, &key, fp, &line);
        self.judge_notes(e, fp, &line);
        self.judge_pagination(e, &line);
        self.judge_key_type(e, &line);
    }

    fn judge_rate_limit(&mut self, e: &JournalEntry, key: &str, fp: u64, line: &str) {
        if let Some((until, l429)) = self.blocked_until.get(key) {
            if e.at < *until {
                let early = (*until - e.at).num_milliseconds();
                let l429 = l429.clone();
                self.rate.fail(&[
                    l429,
                    format!("{line} — sent {early} ms before Retry-After elapsed"),
                ]);
            } else {
                self.blocked_until.remove(key);
            }
        }
        if e.status == Some(429) {
            self.rate.exercised = true;
            let ra = e.retry_after.unwrap_or(1) as i64;
            let until = e.at + chrono::Duration::milliseconds(ra * 1000 - RETRY_AFTER_SLACK_MS);
            self.blocked_until
                .insert(key.to_string(), (until, line.to_string()));
            self.rate.show(line.to_string());
        }
        // Identical requests refused at authentication or authorization, again and again.
        let auth_refusal = matches!(e.status, Some(401 | 403));
        if auth_refusal {
            self.rate.exercised = true;
            let n = match self.auth_refusals.get_mut(&fp) {
                Some(n) => {
                    *n += 1;
                    *n
                }
                None => {
                    self.auth_refusals.insert(fp, 1);
                    1
                }
            };
            if n > AUTH_HAMMER {
                self.rate
                    .fail(&[format!("{line} — the same request refused {n} times")]);
            }
        } else {
            self.auth_refusals.remove(&fp);
        }
    }

    fn judge_retry(&mut self, e: &JournalEntry, fp: u64, line: &str) {
        if let Some(prev) = self.sent.get_mut(&fp) {
            let gap = (e.at - prev.at).num_milliseconds();
            prev.attempts += 1;
            match prev.strategy {
                // 429s are the rate-limit verdict's; here, server errors.
                Some("backoff") if prev.status.is_some_and(|s| s >= 500) => {
                    self.retry.exercised = true;
                    prev.awaiting_retry = false;
                    let shrinking = prev.last_gap_ms.is_some_and(|g| gap < g);
                    if gap < MIN_BACKOFF_MS {
                        let l = prev.line.clone();
                        self.retry
                            .fail(&[l, format!("{line} — retried after {gap} ms: no backoff")]);
                    } else if shrinking {
                        let l = prev.line.clone();
                        self.retry.fail(&[
                            l,
                            format!(
                                "{line} — retried after {gap} ms, sooner than the previous retry"
                            ),
                        ]);
                    } else {
                        self.retry.show(format!("{line} — retried after {gap} ms"));
                    }
                    if prev.attempts > MAX_ATTEMPTS {
                        self.retry.fail(&[format!(
                            "{line} — attempt {} at the same request: no bound",
                            prev.attempts
                        )]);
                    }
                    prev.last_gap_ms = Some(gap);
                }
                Some(s @ ("no_retry" | "fix_request" | "contact_support")) => {
                    self.retry.exercised = true;
                    let l = prev.line.clone();
                    self.retry.fail(&[
                        l,
                        format!("{line} — sent again unchanged after a `{s}` error"),
                    ]);
                }
                _ => {}
            }
            prev.at = e.at;
            prev.line = line.to_string();
            prev.strategy = e
                .status
                .filter(|s| *s >= 400)
                .map(|s| retry_strategy(e.code.as_deref(), s));
            prev.status = e.status;
            if prev.strategy == Some("backoff") && e.status.is_some_and(|s| s >= 500) {
                prev.awaiting_retry = true;
            }
            return;
        }
        let strategy = e
            .status
            .filter(|s| *s >= 400)
            .map(|s| retry_strategy(e.code.as_deref(), s));
        if strategy.is_some() {
            self.retry.exercised |=
                strategy != Some("backoff") || e.status.is_some_and(|s| s >= 500);
        }
        self.sent.insert(
            fp,
            Sent {
                line: line.to_string(),
                at: e.at,
                strategy,
                status: e.status,
                attempts: 1,
                last_gap_ms: None,
                awaiting_retry: strategy == Some("backoff") && e.status.is_some_and(|s| s >= 500),
            },
        );
    }

    fn judge_reconciliation(&mut self, e: &JournalEntry, key: &str, fp: u64, line: &str) {
        // A transactions query by the same key counts as reconciling every open ambiguity.
        if e.method == "GET" && e.path.ends_with("/partner/transactions") {
            let mut n = 0;
            for v in self.ambiguous.map.values_mut() {
                if v.1.as_deref() == Some(key) && !v.2 {
                    v.2 = true;
                    n += 1;
                }
            }
            if n > 0 {
                self.reconciled += n;
                self.reconcile
                    .show(format!("{line} — reconciling before any replay"));
            }
        }
        if !e.is_write() {
            return;
        }
        // A replay: the identical request, or another request carrying the same external id.
        let by_note = e
            .note()
            .and_then(|n| self.ambiguous_notes.get(&n.to_string()).copied());
        let replayed = self
            .ambiguous
            .remove(&fp)
            .or_else(|| by_note.and_then(|f| self.ambiguous.remove(&f)));
        if let Some((first, _, reconciled)) = replayed {
            self.reconcile.exercised = true;
            let committed = e.status.is_some_and(|s| s < 300) || e.outcome == "dropped";
            let what = match (reconciled, committed) {
                (false, true) => "replayed blindly after an ambiguous failure: the order now exists twice",
                (false, false) => "replayed blindly after an ambiguous failure",
                (true, true) => "replayed although the first attempt had committed (its note was in the transactions list): the order now exists twice",
                (true, false) => "replayed after reconciling, although the first attempt had committed",
            };
            self.reconcile.fail(&[first, format!("{line} — {what}")]);
        }
        if e.outcome == "dropped" {
            self.reconcile.exercised = true;
            self.ambiguous
                .insert(fp, (line.to_string(), Some(key.to_string()), false));
            if let Some(n) = e.note() {
                self.ambiguous_notes.insert(n.to_string(), fp);
            }
        }
    }

    fn judge_notes(&mut self, e: &JournalEntry, fp: u64, line: &str) {
        if !e.is_write() {
            return;
        }
        self.notes.exercised = true;
        self.writes += 1;
        match e.note() {
            None => self.notes.fail(&[format!("{line} — no note")]),
            Some(n) => {
                self.writes_with_note += 1;
                match self.note_owner.get(&n.to_string()) {
                    Some(owner) if *owner != fp => {
                        self.notes
                            .fail(&[format!("{line} — note `{n}` already used by another order")]);
                    }
                    Some(_) => {}
                    None => self.note_owner.insert(n.to_string(), fp),
                }
            }
        }
    }

    fn judge_pagination(&mut self, e: &JournalEntry, line: &str) {
        if e.method != "GET" {
            return;
        }
        if let Some(pp) = e
            .query_param("per_page")
            .and_then(|p| p.parse::<i64>().ok())
        {
            if pp > 100 {
                self.pagination.exercised = true;
                self.pagination.fail(&[format!(
                    "{line} — per_page {pp} is above the maximum of 100"
                )]);
            }
        }
        let page = e
            .query_param("page")
            .and_then(|p| p.parse::<u64>().ok())
            .unwrap_or(1);
        let id = e.list_identity();
        if let Some((wanted, _)) = self.pages_due.get(&id) {
            if page >= *wanted {
                self.pages_due.remove(&id);
                self.pagination.show(format!("{line} — next page fetched"));
            }
        }
        if let Some(last) = e.last_page {
            if e.status == Some(200) && last > page {
                self.pagination.exercised = true;
                self.pages_due.insert(id, (page + 1, line.to_string()));
            }
        }
    }

    fn judge_key_type(&mut self, e: &JournalEntry, line: &str) {
        let wanted = if e.path.contains("/api/agent/v1/member/") {
            "member"
        } else if e.path.contains("/api/agent/v1/partner/") {
            "partner"
        } else {
            return;
        };
        self.keys.exercised = true;
        if let Some(role) = &e.role {
            if role != wanted {
                self.keys
                    .fail(&[format!("{line} — a {role} key on a {wanted} operation")]);
            }
        }
    }

    /// The verdicts, once the client is done.
    pub fn finish(mut self) -> Vec<Judgement> {
        // Backoff errors never retried, lists never paged on: judged at the end.
        let unretried: Vec<String> = self
            .sent
            .values()
            .filter(|s| s.awaiting_retry)
            .map(|s| s.line.clone())
            .collect();
        for l in unretried {
            self.retry.exercised = true;
            self.retry
                .fail(&[format!("{l} — a `backoff` error that was never retried")]);
        }
        let unpaged: Vec<String> = self
            .pages_due
            .values()
            .map(|(p, l)| format!("{l} — page {p} was never fetched"))
            .collect();
        for l in unpaged {
            self.pagination.fail(&[l]);
        }
        let share = if self.writes == 0 {
            0.0
        } else {
            100.0 * self.writes_with_note as f64 / self.writes as f64
        };
        let reconciled = self.reconciled;
        let mk = |item: Item, title: &str, t: Tally, pass: String, fail: String| Judgement {
            item: item.id().to_string(),
            title: title.to_string(),
            verdict: if !t.exercised {
                ClientVerdict::NotExercised
            } else if t.failures > 0 {
                ClientVerdict::Fail
            } else {
                ClientVerdict::Pass
            },
            summary: if !t.exercised {
                "the client never met this situation".to_string()
            } else if t.failures > 0 {
                format!(
                    "{fail} ({} finding{})",
                    t.failures,
                    if t.failures == 1 { "" } else { "s" }
                )
            } else {
                pass
            },
            evidence: t.evidence,
        };
        vec![
            mk(
                Item::RateLimitHandling,
                "Rate-limit handling",
                std::mem::take(&mut self.rate),
                "waited out every Retry-After and stopped after repeated refusals".into(),
                "sent requests before Retry-After elapsed, or kept sending refused requests".into(),
            ),
            mk(
                Item::RetryLogic,
                "Retry logic",
                std::mem::take(&mut self.retry),
                "retried backoff errors with growing delays, and nothing else".into(),
                "retried too soon, without bound, never, or retried errors that must not be retried".into(),
            ),
            mk(
                Item::ReconcileByReference,
                "Reconciliation before replay",
                std::mem::take(&mut self.reconcile),
                format!("queried transactions after every ambiguous write ({reconciled}) and did not replay committed ones"),
                "replayed a purchase or redemption whose first attempt had committed".into(),
            ),
            mk(
                Item::Notes,
                "Notes with external identifiers",
                std::mem::take(&mut self.notes),
                format!("{share:.0}% of {} purchases and redemptions carried a unique note", self.writes),
                format!("{share:.0}% of {} purchases and redemptions carried a note, or a note was reused", self.writes),
            ),
            mk(
                Item::Pagination,
                "Pagination",
                std::mem::take(&mut self.pagination),
                "followed every multi-page list to its next page, with per_page ≤ 100".into(),
                "read only part of a multi-page list, or asked for per_page above 100".into(),
            ),
            mk(
                Item::KeyType,
                "Key type",
                std::mem::take(&mut self.keys),
                "member operations with member keys, partner operations with partner keys".into(),
                "used a key of the wrong role".into(),
            ),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ms: i64) -> DateTime<Utc> {
        DateTime::from_timestamp_millis(1_800_000_000_000 + ms).unwrap()
    }

    fn e(
        seq: u64,
        ms: i64,
        method: &str,
        path: &str,
        status: Option<u16>,
        code: Option<&str>,
    ) -> JournalEntry {
        JournalEntry {
            seq,
            at: at(ms),
            method: method.into(),
            path: format!("/api/agent/v1{path}"),
            query: None,
            key_name: Some("referee".into()),
            role: Some("partner".into()),
            status,
            code: code.map(Into::into),
            outcome: if status.is_some() {
                "responded".into()
            } else {
                "dropped".into()
            },
            retry_after: None,
            last_page: None,
            body: None,
        }
    }

    fn verdict(j: &[Judgement], item: &str) -> ClientVerdict {
        j.iter().find(|x| x.item == item).unwrap().verdict
    }

    #[test]
    fn early_request_after_429_is_hammering() {
        let mut r = Referee::new();
        let mut x = e(
            1,
            0,
            "GET",
            "/partner/cards",
            Some(429),
            Some("RATE_LIMITED"),
        );
        x.retry_after = Some(2);
        r.observe(&x);
        r.observe(&e(2, 500, "GET", "/partner/cards", Some(200), None));
        let j = r.finish();
        assert_eq!(verdict(&j, "rate-limit-handling"), ClientVerdict::Fail);
        assert!(
            j[0].evidence
                .iter()
                .any(|l| l.contains("before Retry-After")),
            "{:?}",
            j[0].evidence
        );
    }

    #[test]
    fn waiting_out_retry_after_passes() {
        let mut r = Referee::new();
        let mut x = e(
            1,
            0,
            "GET",
            "/partner/cards",
            Some(429),
            Some("RATE_LIMITED"),
        );
        x.retry_after = Some(1);
        r.observe(&x);
        r.observe(&e(2, 1000, "GET", "/partner/cards", Some(200), None));
        assert_eq!(
            verdict(&r.finish(), "rate-limit-handling"),
            ClientVerdict::Pass
        );
    }

    #[test]
    fn immediate_retry_of_500_is_not_backoff_and_growing_delays_pass() {
        let mut r = Referee::new();
        r.observe(&e(
            1,
            0,
            "GET",
            "/partner/cards",
            Some(500),
            Some("INTERNAL_ERROR"),
        ));
        r.observe(&e(2, 5, "GET", "/partner/cards", Some(200), None));
        assert_eq!(verdict(&r.finish(), "retry-logic"), ClientVerdict::Fail);

        let mut r = Referee::new();
        r.observe(&e(
            1,
            0,
            "GET",
            "/partner/cards",
            Some(500),
            Some("INTERNAL_ERROR"),
        ));
        r.observe(&e(
            2,
            200,
            "GET",
            "/partner/cards",
            Some(500),
            Some("INTERNAL_ERROR"),
        ));
        r.observe(&e(3, 600, "GET", "/partner/cards", Some(200), None));
        assert_eq!(verdict(&r.finish(), "retry-logic"), ClientVerdict::Pass);
    }

    #[test]
    fn retrying_a_no_retry_error_fails_and_unretried_backoff_fails() {
        let mut r = Referee::new();
        r.observe(&e(
            1,
            0,
            "GET",
            "/partner/cards/x",
            Some(404),
            Some("NOT_FOUND"),
        ));
        r.observe(&e(
            2,
            300,
            "GET",
            "/partner/cards/x",
            Some(404),
            Some("NOT_FOUND"),
        ));
        assert_eq!(verdict(&r.finish(), "retry-logic"), ClientVerdict::Fail);
        let mut r = Referee::new();
        r.observe(&e(
            1,
            0,
            "GET",
            "/partner/cards",
            Some(500),
            Some("INTERNAL_ERROR"),
        ));
        assert_eq!(verdict(&r.finish(), "retry-logic"), ClientVerdict::Fail);
    }

    #[test]
    fn blind_replay_after_a_drop_fails_and_reconciling_passes() {
        let body = serde_json::json!({"card_id": "c", "member_identifier": "m", "points": 5, "note": "Order #1"});
        let mut w = e(1, 0, "POST", "/partner/transactions/purchase", None, None);
        w.body = Some(body.clone());
        let mut again = e(
            2,
            300,
            "POST",
            "/partner/transactions/purchase",
            Some(201),
            None,
        );
        again.body = Some(body);

        let mut r = Referee::new();
        r.observe(&w);
        r.observe(&again);
        let j = r.finish();
        assert_eq!(verdict(&j, "reconcile-by-reference"), ClientVerdict::Fail);
        assert!(j
            .iter()
            .any(|x| x.evidence.iter().any(|l| l.contains("exists twice"))));

        let mut r = Referee::new();
        r.observe(&w);
        r.observe(&e(2, 300, "GET", "/partner/transactions", Some(200), None));
        assert_eq!(
            verdict(&r.finish(), "reconcile-by-reference"),
            ClientVerdict::Pass
        );
    }

    #[test]
    fn notes_must_be_present_and_unique() {
        let mut r = Referee::new();
        let mut a = e(
            1,
            0,
            "POST",
            "/partner/transactions/purchase",
            Some(201),
            None,
        );
        a.body = Some(serde_json::json!({"points": 1, "note": "Order #1"}));
        let mut b = e(
            2,
            10,
            "POST",
            "/partner/transactions/purchase",
            Some(201),
            None,
        );
        b.body = Some(serde_json::json!({"points": 2, "note": "Order #1"}));
        r.observe(&a);
        r.observe(&b);
        assert_eq!(verdict(&r.finish(), "notes"), ClientVerdict::Fail);
    }

    #[test]
    fn reading_only_page_one_fails() {
        let mut r = Referee::new();
        let mut p1 = e(1, 0, "GET", "/partner/transactions", Some(200), None);
        p1.last_page = Some(2);
        r.observe(&p1);
        assert_eq!(verdict(&r.finish(), "pagination"), ClientVerdict::Fail);

        let mut r = Referee::new();
        r.observe(&p1);
        let mut p2 = e(2, 10, "GET", "/partner/transactions", Some(200), None);
        p2.query = Some("page=2".into());
        p2.last_page = Some(2);
        r.observe(&p2);
        assert_eq!(verdict(&r.finish(), "pagination"), ClientVerdict::Pass);
    }

    #[test]
    fn unexercised_situations_say_so() {
        let j = Referee::new().finish();
        assert!(j.iter().all(|x| x.verdict == ClientVerdict::NotExercised));
    }

    #[test]
    fn wrong_key_role_fails() {
        let mut r = Referee::new();
        r.observe(&e(
            1,
            0,
            "GET",
            "/member/balance",
            Some(403),
            Some("AUTH_WRONG_ROLE"),
        ));
        assert_eq!(verdict(&r.finish(), "key-type"), ClientVerdict::Fail);
    }
}

#[cfg(test)]
mod bounds {
    use super::*;

    #[test]
    fn state_stays_bounded_on_long_runs() {
        let mut r = Referee::new();
        for i in 0..(MAX_TRACKED as u64 * 3) {
            let e = JournalEntry {
                seq: i,
                at: DateTime::from_timestamp_millis(1_800_000_000_000 + i as i64).unwrap(),
                method: "POST".into(),
                path: "/api/agent/v1/partner/transactions/purchase".into(),
                query: Some(format!("page={i}")),
                key_name: Some("partner".into()),
                role: Some("partner".into()),
                status: if i % 7 == 0 { None } else { Some(201) },
                code: None,
                outcome: if i % 7 == 0 {
                    "dropped".into()
                } else {
                    "responded".into()
                },
                retry_after: None,
                last_page: None,
                body: Some(serde_json::json!({"note": format!("Order #{i}")})),
            };
            r.observe(&e);
        }
        assert!(r.sent.map.len() <= MAX_TRACKED && r.sent.order.len() <= MAX_TRACKED);
        assert!(r.note_owner.map.len() <= MAX_TRACKED);
        assert!(r.ambiguous.map.len() <= MAX_TRACKED);
        let j = r.finish();
        assert!(j.iter().all(|x| x.evidence.len() <= MAX_EVIDENCE));
    }
}
