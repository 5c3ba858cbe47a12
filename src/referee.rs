//! The client referee: judges an integration's own client from the mock's
//! request journal.
//!
//! Half of the Final Launch Checklist is about the client, not the server
//! (retry logic, rate-limit handling, pagination, notes, reconciliation). The
//! referee starts the embedded mock with faults that provoke those situations,
//! lets the client run against it, and reads what the client did. Judging is a
//! streaming state machine over journal entries with bounded state, so a long
//! run keeps constant memory.
//!
//! The rules (README "Referee your client" states them for users):
//! - **Logical orders.** A purchase or redemption belongs to an order found by its note,
//!   or else by what the ledger sees (key, endpoint, card, member, amount or reward) while
//!   an earlier attempt with the same fields is unresolved (no 2xx yet) and at most
//!   [`ORDER_WINDOW_MS`] old. The mock's ledger (`committed_txn`) counts the commits.
//! - **Reconciling** is a successful transactions list, after the ambiguous failure and
//!   before the next write of that order, whose page returned the order's transaction.
//! - **Retry sequences** are the attempts at one operation (a read's key, method, path and
//!   query; a write's logical order) until it succeeds or goes quiet for [`QUIET_GAP_MS`].
//!   Other operations in between, by other workers of a concurrent client, do not end it.
//! - **Concurrency.** The journal is in answer order, `at` is the arrival time (in
//!   microseconds), `duration_ms` how long the answer took. A request that
//!   reached the mock before an earlier one was answered cannot have reacted to that answer:
//!   it is no retry of it, no replay of its order, and no breach of its 429; from a key seen
//!   sending concurrently, neither is another operation's request within
//!   [`IN_FLIGHT_TOLERANCE_MS`] after a 429's answer.
//! - **Walks.** Pagination is judged per walk through a list, not per list: a page 1 starts
//!   a walk, page n continues the oldest open walk of the same list at page n-1 (else the
//!   oldest lacking page n: pages answered out of order). Walks no longer followed (the caps
//!   [`MAX_WALKS_PER_LIST`], [`MAX_OPEN_WALKS`], [`MAX_PAGES_AHEAD`]) forbid a pass: one of
//!   them may have stopped early unseen.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::hash::Hash;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::agent_api::JournalEntry;
use crate::agent_api::{Delivery, ErrorCode, RetryStrategy, Role, BASE_PATH};
use crate::evaluation::{Evaluation, Problem, Row, Seen, State, Vocabulary};

/// Query parameters whose values never appear in evidence.
fn secret_param(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    ["key", "token", "secret", "password", "auth", "signature"]
        .iter()
        .any(|s| n.contains(s))
}

/// The query as evidence shows it: values of secret-looking parameters, and anything
/// shaped like an Agent API key, replaced.
fn shown_query(q: &str) -> String {
    q.split('&')
        .map(|pair| match pair.split_once('=') {
            Some((k, v)) => {
                let decoded: String = url::form_urlencoded::parse(pair.as_bytes())
                    .next()
                    .map(|(_, v)| v.into_owned())
                    .unwrap_or_default();
                let keyish = Role::ALL.iter().any(|r| decoded.contains(r.prefix()));
                if secret_param(k) || keyish {
                    format!("{k}=[REDACTED]")
                } else {
                    format!("{k}={v}")
                }
            }
            None => pair.to_string(),
        })
        .collect::<Vec<_>>()
        .join("&")
}

impl JournalEntry {
    /// One line for evidence: `#12 10:00:01.250 POST /purchase (key partner) → 500 INTERNAL_ERROR`.
    pub fn line(&self) -> String {
        let q = self
            .query
            .as_deref()
            .filter(|q| !q.is_empty())
            .map(|q| format!("?{}", shown_query(q)))
            .unwrap_or_default();
        let result = match self.status {
            Some(s) => format!(
                "{s}{}",
                self.code
                    .map(|c| format!(" {}", c.as_str()))
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

    /// When the mock sent its answer: arrival plus the time it took.
    fn answered_at(&self) -> DateTime<Utc> {
        // duration_ms is finite and small (the mock measured it); bounded to a day anyway.
        let micros = (self.duration_ms * 1000.0).clamp(0.0, 86_400_000_000.0) as i64;
        self.at + chrono::Duration::microseconds(micros)
    }

    fn is_success(&self) -> bool {
        self.status.is_some_and(|s| (200..300).contains(&s))
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

    /// What the ledger sees of a write: key, endpoint and the body without its note.
    /// For any other request: key, method, path and query.
    fn operation(&self) -> String {
        let key = self.key_name.as_deref().unwrap_or("");
        if self.is_write() {
            let mut body = self.body.clone().unwrap_or(Value::Null);
            if let Some(o) = body.as_object_mut() {
                o.remove("note");
            }
            // serde_json keeps insertion order here; sort keys so field order does not matter.
            let fields: std::collections::BTreeMap<String, String> = body
                .as_object()
                .map(|o| o.iter().map(|(k, v)| (k.clone(), v.to_string())).collect())
                .unwrap_or_default();
            format!("{key} {} {fields:?}", self.path)
        } else {
            format!(
                "{key} {} {} {}",
                self.method,
                self.path,
                self.query.as_deref().unwrap_or("")
            )
        }
    }
}

/// How the contract says to treat an error response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    Success,
    /// 429: wait for Retry-After (judged by the rate-limit verdict).
    RateLimited,
    /// `backoff` server errors: retry with growing delays.
    Backoff,
    /// `no_retry`, `fix_request`, `contact_support`: never send the same request again.
    Definitive(RetryStrategy),
    /// No answer: the write may have committed.
    Dropped,
    Other,
}

fn classify(e: &JournalEntry) -> Class {
    match e.status {
        None => Class::Dropped,
        Some(s) if (200..300).contains(&s) => Class::Success,
        Some(429) => Class::RateLimited,
        Some(s) if s >= 400 => match RetryStrategy::of_response(e.code, s) {
            RetryStrategy::Backoff => Class::Backoff,
            other => Class::Definitive(other),
        },
        Some(_) => Class::Other,
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
    /// The verdict in the evaluation model: not exercised is unknown, never a pass.
    pub fn state(self) -> State {
        match self {
            ClientVerdict::Pass => State::Pass,
            ClientVerdict::Fail => State::Fail,
            ClientVerdict::NotExercised => State::Unknown,
        }
    }

    /// Lowercase words.
    pub fn label(self) -> &'static str {
        Vocabulary::Referee.word(self.state())
    }
}

/// What settles a verdict the client never met.
pub const NOT_EXERCISED_SETTLE: &str = "run the referee longer, or with more faults (--fail-rate, --drop-after-commit, --rate-limit), so the client meets it";

/// The referee's report in the evaluation model: one row per judged behaviour, the
/// journal lines as what was seen, a client run that did not end cleanly as the
/// problem. No row is required: a situation the client never met fails nothing.
pub fn evaluation(r: &RefereeReport) -> Evaluation {
    let mut ev = Evaluation::new(Vocabulary::Referee, "referee", "Behaviour");
    ev.intro = Some(format!(
        "The integration's client, refereed against the mock: {} requests judged{}.",
        r.requests,
        r.command
            .as_deref()
            .map(|c| format!(" from `{c}`"))
            .unwrap_or_default()
    ));
    ev.started_at = r.started_at.clone();
    ev.duration_ms = r.duration_ms;
    let mut props = vec![("launchgate.version", r.version.clone())];
    props.extend(r.command.clone().map(|c| ("client.command", c)));
    props.extend(r.exit_status.map(|s| ("client.exit_status", s.to_string())));
    props.push(("requests", r.requests.to_string()));
    props.extend(r.client_problem.clone().map(|p| ("client.problem", p)));
    ev.properties = props.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
    ev.problem = r.client_problem.as_ref().map(|p| Problem {
        title: "The client ran to completion".into(),
        kind: "client".into(),
        message: p.clone(),
    });
    ev.nothing_seen = "no journal entry shows it".into();
    ev.rows = r
        .judgements
        .iter()
        .map(|j| {
            let state = j.verdict.state();
            // The stored summary of an unexercised verdict leads with its word;
            // the renderers say the word themselves.
            let why = j
                .summary
                .strip_prefix("not exercised: ")
                .unwrap_or(&j.summary);
            let mut row = Row::new(&j.item, &j.title, state, why.to_string());
            row.required = false;
            row.settle = (state == State::Unknown).then(|| NOT_EXERCISED_SETTLE.to_string());
            row.seen = j.evidence.iter().map(Seen::line).collect();
            row
        })
        .collect();
    ev
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
    /// One or two sentences: what happened, with exact counts.
    pub summary: String,
    /// Journal lines that show it, in journal order (at most [`MAX_EVIDENCE`]): for a
    /// failed verdict only the lines of failures.
    pub evidence: Vec<String>,
    /// Findings behind a failed verdict (0 otherwise).
    #[serde(default)]
    pub findings: u64,
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
    /// Why the run as a whole cannot be trusted (the client crashed, hung or sent nothing),
    /// if so: the referee then exits non-zero whatever the verdicts say.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_problem: Option<String>,
    /// How long the referee ran, in milliseconds.
    #[serde(default)]
    pub duration_ms: u64,
}

/// Options of the judging rules.
#[derive(Debug, Clone, Copy, Default)]
pub struct RefereeOptions {
    /// Accept an immediate first retry of a `backoff` error when later retries back off
    /// (urllib3 2.x's `Retry` policy) instead of failing retry logic on it.
    pub allow_immediate_first_retry: bool,
}

/// The finding kind of an immediate first retry (urllib3 2.x's policy).
const POLICY_KIND: &str = "policy: immediate first retry";
/// The finding kind of a request sent while the key waited out a 429.
const RATE_KIND: &str = "request sent before Retry-After elapsed";
/// The finding kind of a retry sooner than [`MIN_BACKOFF_MS`].
const NO_BACKOFF_KIND: &str = "retry without backoff";

/// Evidence lines kept per verdict.
pub const MAX_EVIDENCE: usize = 8;
/// Distinct operations, orders or notes remembered; the oldest are forgotten first.
const MAX_TRACKED: usize = 10_000;
/// Timer granularity allowed when comparing a request with the Retry-After before it.
pub const RETRY_AFTER_TOLERANCE_MS: i64 = 100;
/// A retry of a `backoff` error sooner than this is no backoff.
pub const MIN_BACKOFF_MS: i64 = 100;
/// Jitter tolerance: a retry delay may fall short of the longest earlier delay of the same
/// sequence by this much, or by half that delay if more, before it counts as shrinking.
pub const JITTER_TOLERANCE_MS: i64 = 1000;
/// More attempts than this in one retry sequence is unbounded retrying.
pub const MAX_ATTEMPTS: u32 = 10;
/// A write with the same ledger fields as an unresolved earlier attempt, sent within this
/// long, is taken as the same order.
pub const ORDER_WINDOW_MS: i64 = 60_000;
/// A retry sequence whose operation has not been attempted for this long is over: the next
/// attempt starts a new one. Longer than any delay of the retry libraries the referee is
/// tested with (stamina's default cap is 5 s; the example clients' got, axios-retry, urllib3
/// and tenacity settings wait less) and than the mock's Retry-After, so a backed-off retry
/// is not cut off; short enough that a routine query repeated later is a new sequence.
pub const QUIET_GAP_MS: i64 = 30_000;
/// From a client seen sending concurrently with the key, a request of another operation
/// that reached the mock no later than this after a 429 was answered is taken as already on
/// its way when the client read the 429 (one worker's answer and another's 429 arrive
/// together, and the event loop serves the first; on a loaded machine that was measured at
/// 73 ms). A client sending one request at a time, and a retry of the 429'd request itself,
/// get no such allowance: they follow the answer.
pub const IN_FLIGHT_TOLERANCE_MS: i64 = 250;
/// Open walks followed per list (two workers, or one worker twice, reading the same list at
/// once). A walk with no page for [`QUIET_GAP_MS`] is over and judged as it stands; past this
/// many walks of one list open within that time, a new walk displaces the oldest, which is
/// no longer followed.
pub const MAX_WALKS_PER_LIST: usize = 64;
/// Open walks followed in all (once the quiet ones are judged); a walk started past this is
/// not followed.
pub const MAX_OPEN_WALKS: usize = 4096;
/// Pages a walk may have fetched beyond a missing one (pages fetched at once and answered out
/// of order) before it is no longer followed.
pub const MAX_PAGES_AHEAD: usize = 64;

/// `at` (an arrival as the journal gives it) certainly came before `answered`: the request
/// was sent before that answer reached the client. The journal gives arrivals in
/// microseconds; one on a whole millisecond may have been cut to it (an older journal), so
/// it is allowed a millisecond: a retry is never excused for the rounding.
fn certainly_before(at: DateTime<Utc>, answered: DateTime<Utc>) -> bool {
    let slack = if at.timestamp_subsec_micros().is_multiple_of(1000) {
        chrono::Duration::milliseconds(1)
    } else {
        chrono::Duration::microseconds(1)
    };
    at + slack <= answered
}

/// A bounded map: inserting past the cap forgets the oldest key. Removal is O(1): the
/// insertion queue keeps stale keys, told apart by a generation, and is compacted when it
/// grows past twice the cap.
struct Bounded<K, V> {
    map: HashMap<K, (u64, V)>,
    order: VecDeque<(K, u64)>,
    generation: u64,
}

impl<K: Hash + Eq + Clone, V> Bounded<K, V> {
    fn new() -> Self {
        Bounded {
            map: HashMap::new(),
            order: VecDeque::new(),
            generation: 0,
        }
    }
    fn get_mut(&mut self, k: &K) -> Option<&mut V> {
        self.map.get_mut(k).map(|(_, v)| v)
    }
    fn get(&self, k: &K) -> Option<&V> {
        self.map.get(k).map(|(_, v)| v)
    }
    fn insert(&mut self, k: K, v: V) {
        if let Some(slot) = self.map.get_mut(&k) {
            slot.1 = v;
            return;
        }
        self.generation += 1;
        self.map.insert(k.clone(), (self.generation, v));
        self.order.push_back((k, self.generation));
        while self.map.len() > MAX_TRACKED {
            match self.order.pop_front() {
                Some((old, g)) => {
                    if self.map.get(&old).is_some_and(|(live, _)| *live == g) {
                        self.map.remove(&old);
                    }
                }
                None => break,
            }
        }
        if self.order.len() > 2 * MAX_TRACKED {
            let map = &self.map;
            self.order
                .retain(|(k, g)| map.get(k).is_some_and(|(live, _)| live == g));
        }
    }
    fn remove(&mut self, k: &K) -> Option<V> {
        self.map.remove(k).map(|(_, v)| v)
    }
    fn drain(&mut self) -> Vec<V> {
        self.order.clear();
        self.map.drain().map(|(_, (_, v))| v).collect()
    }
}

/// A verdict being built: exact counts, and the first journal lines by sequence.
#[derive(Default)]
struct Tally {
    exercised: bool,
    failures: u64,
    /// Findings by kind, in the order first met.
    kinds: Vec<(&'static str, u64)>,
    /// Failure lines: seq → (entry line, annotations).
    failed: Vec<(u64, String, Vec<String>)>,
    /// Lines that show a pass.
    shown: Vec<(u64, String, Vec<String>)>,
}

fn add_line(list: &mut Vec<(u64, String, Vec<String>)>, seq: u64, line: &str, note: &str) {
    if let Some((_, _, notes)) = list.iter_mut().find(|(s, _, _)| *s == seq) {
        if !note.is_empty() && !notes.iter().any(|n| n == note) {
            notes.push(note.to_string());
        }
        return;
    }
    let notes = if note.is_empty() {
        Vec::new()
    } else {
        vec![note.to_string()]
    };
    if list.len() < MAX_EVIDENCE {
        list.push((seq, line.to_string(), notes));
    } else if let Some(max) = list.iter_mut().max_by_key(|(s, _, _)| *s) {
        // Keep the earliest lines: a later one only replaces a later one.
        if seq < max.0 {
            *max = (seq, line.to_string(), notes);
        }
    }
}

impl Tally {
    /// Counts findings of one kind.
    fn count(&mut self, kind: &'static str, n: u64) {
        self.exercised = true;
        self.failures += n;
        match self.kinds.iter_mut().find(|(k, _)| *k == kind) {
            Some((_, c)) => *c += n,
            None => self.kinds.push((kind, n)),
        }
    }
    /// What failed, by kind: `replay without a lookup (2); order committed more than once (1)`.
    fn kinds_text(&self) -> String {
        self.kinds
            .iter()
            .map(|(k, n)| format!("{k} ({n})"))
            .collect::<Vec<_>>()
            .join("; ")
    }
    /// One finding of `kind`, shown by these `(seq, line, note)` lines.
    fn fail_as(&mut self, kind: &'static str, lines: &[(u64, &str, &str)]) {
        self.count(kind, 1);
        for (seq, line, note) in lines {
            add_line(&mut self.failed, *seq, line, note);
        }
    }
    fn show(&mut self, seq: u64, line: &str, note: &str) {
        if self.shown.len() < MAX_EVIDENCE / 2 || self.shown.iter().any(|(s, _, _)| *s == seq) {
            add_line(&mut self.shown, seq, line, note);
        }
    }
    fn evidence(&mut self) -> Vec<String> {
        let list = if self.failures > 0 {
            &mut self.failed
        } else {
            &mut self.shown
        };
        list.sort_by_key(|(s, _, _)| *s);
        list.iter()
            .map(|(_, l, notes)| {
                if notes.is_empty() {
                    l.clone()
                } else {
                    format!("{l} — {}", notes.join("; "))
                }
            })
            .collect()
    }
}

/// A retry sequence: the attempts at one operation until it succeeds or goes quiet.
struct Sequence {
    attempts: u32,
    last_seq: u64,
    last_line: String,
    last_at: DateTime<Utc>,
    /// When the last attempt was answered: an attempt sent before then is concurrent.
    last_answered: DateTime<Utc>,
    last_class: Class,
    last_code: Option<ErrorCode>,
    last_note: Option<String>,
    /// Retries of `backoff` errors judged, and the longest delay among them.
    backoff_retries: u32,
    longest_gap_ms: Option<i64>,
    /// The first retry was immediate (a policy finding if every later one backed off).
    immediate_first: Option<(u64, String, i64)>,
    bounded_reported: bool,
    new_note_reported: bool,
}

/// A 429 a key is waiting out.
struct Blocked {
    at: DateTime<Utc>,
    answered: DateTime<Utc>,
    retry_after_s: u64,
    seq: u64,
    line: String,
    /// The 429'd request's operation: its own retry follows the answer, so it gets no
    /// in-flight allowance.
    operation: String,
}

impl Blocked {
    fn until(&self) -> DateTime<Utc> {
        // Clamped to a day: a Retry-After is no reason to overflow.
        self.at + chrono::Duration::seconds(self.retry_after_s.min(86_400) as i64)
    }

    /// When `e` came, relative to this 429's answer.
    fn arrival(&self, e: &JournalEntry, operation: &str) -> Arrival {
        if certainly_before(e.at, self.answered) {
            Arrival::Before
        } else if operation != self.operation
            && e.at <= self.answered + chrono::Duration::milliseconds(IN_FLIGHT_TOLERANCE_MS)
        {
            Arrival::Within
        } else {
            Arrival::After
        }
    }
}

/// When a request came, relative to a 429's answer.
enum Arrival {
    /// Before it was answered: it cannot honour it.
    Before,
    /// Another operation, within [`IN_FLIGHT_TOLERANCE_MS`] after: on its way unless the
    /// client sends one request at a time.
    Within,
    After,
}

/// What the referee has seen of one key's concurrency, and the requests whose judgement
/// waits on it.
#[derive(Default)]
struct KeyTrack {
    /// The latest answer to a request of the key so far.
    latest_answered: Option<DateTime<Utc>>,
    /// The newest connection its requests came on.
    newest_connection: u64,
    /// Two of its requests were under way at once: one arrived before an earlier one was
    /// answered, or came on an older connection after a newer one had been used.
    concurrent: bool,
    /// Requests sent early, [`Arrival::Within`] a 429's allowance, before the key showed
    /// concurrency: breaches unless it does. The first few `(429 seq, 429 line, seq, line,
    /// note)`; the count of the rest.
    unsure: Vec<(u64, String, u64, String, String)>,
    unsure_more: u64,
}

impl KeyTrack {
    /// Notes what `e` shows of the key's concurrency.
    fn track(&mut self, e: &JournalEntry) {
        if self
            .latest_answered
            .is_some_and(|t| certainly_before(e.at, t))
        {
            self.concurrent = true;
        }
        if let Some(c) = e.connection {
            self.concurrent |= c < self.newest_connection;
            self.newest_connection = self.newest_connection.max(c);
        }
        let answered = e.answered_at();
        self.latest_answered = Some(self.latest_answered.map_or(answered, |t| t.max(answered)));
    }
}

/// A logical order: the attempts at one purchase or redemption.
struct Order {
    operation: String,
    notes: Vec<String>,
    /// Ledger commits, exactly counted; the first few lines kept for evidence.
    commits: u64,
    commit_lines: Vec<(u64, String)>,
    /// The last attempt got no 2xx (an error or no answer): the order is unresolved.
    open: bool,
    confirmed: bool,
    last_at: DateTime<Utc>,
    /// When its last attempt was answered: a write with its fields sent before then is
    /// another order (a concurrent one), not a retry of it.
    last_answered: DateTime<Utc>,
    /// An ambiguous attempt not followed by another write yet: (seq, line, txn, looked up by).
    ambiguous: Option<Ambiguous>,
    /// The transaction a lookup returned, once looked up.
    looked_up: Option<(u64, String)>,
    redeem: bool,
}

struct Ambiguous {
    seq: u64,
    line: String,
    txn: Option<String>,
    found_by: Option<(u64, String)>,
}

/// One reading of a multi-page list, from its page 1.
struct Walk {
    last_page: u64,
    /// Pages 1 to `through` fetched.
    through: u64,
    /// Pages past `through + 1` fetched already (answered out of order), at most
    /// [`MAX_PAGES_AHEAD`].
    ahead: BTreeSet<u64>,
    seq: u64,
    line: String,
    /// When its latest page arrived.
    at: DateTime<Utc>,
    /// A page returned a transaction of the client's own orders: a search may stop here.
    found_own: bool,
}

/// The streaming judge.
pub struct Referee {
    opts: RefereeOptions,
    requests: u64,
    rate: Tally,
    retry: Tally,
    reconcile: Tally,
    notes: Tally,
    pagination: Tally,
    keys: Tally,
    /// Per key: the 429 being waited out.
    blocked: HashMap<String, Blocked>,
    /// Per key: its concurrency.
    key_tracks: HashMap<String, KeyTrack>,
    /// Per key: when its latest 429 came.
    last_429_at: HashMap<String, DateTime<Utc>>,
    rate_limited: u64,
    shortest_wait: Option<(i64, u64)>,
    /// Requests already on their way when a 429 was answered: not counted against it.
    in_flight: u64,
    // Retry logic.
    sequences: Bounded<String, Sequence>,
    backoff_errors: u64,
    backoff_unretried: u64,
    backoff_retried_sequences: u64,
    gave_up: u64,
    recovered: u64,
    ended_otherwise: u64,
    definitive_met: HashMap<RetryStrategy, u64>,
    policy_immediate: u64,
    policy_backed_off_later: u64,
    policy_lines: Vec<(u64, String, i64)>,
    // Orders.
    orders: Bounded<u64, Order>,
    next_order: u64,
    by_note: Bounded<String, u64>,
    by_operation: Bounded<String, u64>,
    by_txn: Bounded<String, u64>,
    writes: u64,
    writes_with_note: u64,
    ambiguous_total: u64,
    looked_up_total: u64,
    // Pagination.
    /// Per list: its open walks, oldest first.
    walks: HashMap<String, VecDeque<Walk>>,
    open_walks: usize,
    /// Walks no longer followed (a cap was hit): pagination cannot pass.
    walks_untracked: u64,
    walks_completed: u64,
    walks_found: u64,
}

impl Default for Referee {
    fn default() -> Self {
        Referee::new()
    }
}

impl Referee {
    /// A referee that has seen nothing, with the default rules.
    pub fn new() -> Self {
        Referee::with_options(RefereeOptions::default())
    }

    /// A referee with these rules.
    pub fn with_options(opts: RefereeOptions) -> Self {
        Referee {
            opts,
            requests: 0,
            rate: Tally::default(),
            retry: Tally::default(),
            reconcile: Tally::default(),
            notes: Tally::default(),
            pagination: Tally::default(),
            keys: Tally::default(),
            blocked: HashMap::new(),
            key_tracks: HashMap::new(),
            last_429_at: HashMap::new(),
            rate_limited: 0,
            shortest_wait: None,
            in_flight: 0,
            sequences: Bounded::new(),
            backoff_errors: 0,
            backoff_unretried: 0,
            backoff_retried_sequences: 0,
            gave_up: 0,
            recovered: 0,
            ended_otherwise: 0,
            definitive_met: HashMap::new(),
            policy_immediate: 0,
            policy_backed_off_later: 0,
            policy_lines: Vec::new(),
            orders: Bounded::new(),
            next_order: 0,
            by_note: Bounded::new(),
            by_operation: Bounded::new(),
            by_txn: Bounded::new(),
            writes: 0,
            writes_with_note: 0,
            ambiguous_total: 0,
            looked_up_total: 0,
            walks: HashMap::new(),
            open_walks: 0,
            walks_untracked: 0,
            walks_completed: 0,
            walks_found: 0,
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
        let key = e.key_name.as_deref().unwrap_or_default().to_string();
        // A write's retry sequence is its logical order's; a read's, its request.
        let order = e.is_write().then(|| self.order_of(e, &line));
        let operation = match order {
            Some((id, _)) => format!("order {id}"),
            None => e.operation(),
        };
        self.judge_rate_limit(e, &key, &operation, &line);
        self.judge_retry(e, &key, &operation, &line);
        if let Some((id, existing)) = order {
            self.judge_write(e, &line, id, existing);
        }
        self.judge_lookup(e, &line);
        self.judge_pagination(e, &line);
        self.judge_key_type(e, &line);
    }

    fn judge_rate_limit(&mut self, e: &JournalEntry, key: &str, operation: &str, line: &str) {
        let track = self.key_tracks.entry(key.to_string()).or_default();
        track.track(e);
        if let Some(b) = self.blocked.get(key) {
            let waited = (e.at - b.at).num_milliseconds();
            let asked = b.retry_after_s.min(86_400) as i64 * 1000;
            let note = format!(
                "sent {waited} ms after the 429 #{}, whose Retry-After was {} s",
                b.seq, b.retry_after_s
            );
            if waited >= asked - RETRY_AFTER_TOLERANCE_MS {
                if self.shortest_wait.is_none_or(|(w, _)| waited < w) {
                    self.shortest_wait = Some((waited, b.retry_after_s));
                }
                self.blocked.remove(key);
            } else {
                match b.arrival(e, operation) {
                    // Sent before the client could read the 429: it cannot honour it.
                    Arrival::Before => self.in_flight += 1,
                    Arrival::Within if track.concurrent => self.in_flight += 1,
                    Arrival::Within => {
                        // Judged at the end: on its way if the key shows concurrency.
                        if track.unsure.len() < MAX_EVIDENCE {
                            let l = (b.seq, b.line.clone(), e.seq, line.to_string(), note);
                            track.unsure.push(l);
                        } else {
                            track.unsure_more += 1;
                        }
                    }
                    Arrival::After => {
                        let (seq429, l429) = (b.seq, b.line.clone());
                        self.rate
                            .fail_as(RATE_KIND, &[(seq429, &l429, ""), (e.seq, line, &note)]);
                    }
                }
            }
        }
        if e.status == Some(429) {
            self.rate_limited_by(e, key, operation, line);
        }
    }

    /// Requests sent just after a 429: on their way if their key sent concurrently,
    /// else breaches.
    fn settle_unsure(&mut self) {
        for (_, t) in self.key_tracks.drain() {
            let n = t.unsure.len() as u64 + t.unsure_more;
            if t.concurrent {
                self.in_flight += n;
                continue;
            }
            for (seq429, l429, seq, line, note) in &t.unsure {
                self.rate
                    .fail_as(RATE_KIND, &[(*seq429, l429, ""), (*seq, line, note)]);
            }
            if t.unsure_more > 0 {
                self.rate.count(RATE_KIND, t.unsure_more);
            }
        }
    }

    /// A 429: the key must now wait out its Retry-After.
    fn rate_limited_by(&mut self, e: &JournalEntry, key: &str, operation: &str, line: &str) {
        self.rate.exercised = true;
        let latest = self.last_429_at.entry(key.to_string()).or_insert(e.at);
        *latest = (*latest).max(e.at);
        self.rate_limited += 1;
        let b = Blocked {
            at: e.at,
            answered: e.answered_at(),
            retry_after_s: e.retry_after.unwrap_or(1),
            seq: e.seq,
            line: line.to_string(),
            operation: operation.to_string(),
        };
        // Concurrent 429s: the key waits out the one that ends last.
        if self
            .blocked
            .get(key)
            .is_none_or(|old| old.until() <= b.until())
        {
            self.blocked.insert(key.to_string(), b);
        }
        self.rate.show(e.seq, line, "");
    }

    fn judge_retry(&mut self, e: &JournalEntry, key: &str, operation: &str, line: &str) {
        let class = classify(e);
        let mut current = self.sequences.remove(&operation.to_string());
        if let Some(s) = current.take_if(|s| (e.at - s.last_at).num_milliseconds() > QUIET_GAP_MS) {
            // Quiet for long enough: the operation's sequence is over.
            self.close_sequence(s, false);
        }
        match current {
            // Sent before the last attempt was answered: another worker's attempt at the
            // same request, not a retry of it.
            Some(s) if certainly_before(e.at, s.last_answered) => {
                if class == Class::Success {
                    self.recovered += u64::from(s.backoff_retries > 0);
                    self.close_sequence(s, true);
                } else {
                    self.sequences.insert(operation.to_string(), s);
                }
            }
            Some(mut s) => {
                // A 429 of the key answered since the last attempt held this one back for
                // Retry-After: its delay is the rate limit's, not the backoff's.
                let held = self
                    .last_429_at
                    .get(key)
                    .is_some_and(|&t| t > s.last_at && t < e.at);
                self.judge_attempt(&mut s, e, line, held);
                if class == Class::Success {
                    self.recovered += u64::from(s.backoff_retries > 0);
                    self.close_sequence(s, true);
                } else {
                    self.record_attempt(&mut s, e, class, line);
                    self.sequences.insert(operation.to_string(), s);
                }
            }
            None if class != Class::Success => {
                let mut s = Sequence {
                    attempts: 0,
                    last_seq: 0,
                    last_line: String::new(),
                    last_at: e.at,
                    last_answered: e.at,
                    last_class: class,
                    last_code: None,
                    last_note: None,
                    backoff_retries: 0,
                    longest_gap_ms: None,
                    immediate_first: None,
                    bounded_reported: false,
                    new_note_reported: false,
                };
                self.record_attempt(&mut s, e, class, line);
                self.sequences.insert(operation.to_string(), s);
            }
            None => {}
        }
        match class {
            Class::Backoff => {
                self.retry.exercised = true;
                self.backoff_errors += 1;
            }
            Class::Definitive(strategy) => {
                *self.definitive_met.entry(strategy).or_default() += 1;
            }
            _ => {}
        }
    }

    fn record_attempt(&mut self, s: &mut Sequence, e: &JournalEntry, class: Class, line: &str) {
        s.attempts += 1;
        s.last_seq = e.seq;
        s.last_line = line.to_string();
        s.last_at = e.at;
        s.last_answered = e.answered_at();
        s.last_class = class;
        s.last_code = e.code;
        s.last_note = e.note().map(str::to_owned);
    }

    /// Judges one more attempt at an operation whose previous attempt failed.
    fn judge_attempt(&mut self, s: &mut Sequence, e: &JournalEntry, line: &str, held: bool) {
        let gap = (e.at - s.last_at).num_milliseconds();
        let (prev_seq, prev_line) = (s.last_seq, s.last_line.clone());
        if s.attempts >= MAX_ATTEMPTS && !s.bounded_reported {
            s.bounded_reported = true;
            let note = format!("attempt {} in one retry sequence: no bound", s.attempts + 1);
            self.retry
                .fail_as("retry sequence without a bound", &[(e.seq, line, &note)]);
        }
        if e.is_write() && matches!(s.last_class, Class::Backoff | Class::RateLimited) {
            if let (Some(before), Some(now)) = (&s.last_note, e.note()) {
                if before != now && !s.new_note_reported {
                    s.new_note_reported = true;
                    let note = format!(
                        "retried under a new note (`{before}` → `{now}`): a new order id per attempt, so a committed attempt cannot be found and told apart"
                    );
                    self.retry.fail_as(
                        "retried under a new order id",
                        &[(prev_seq, &prev_line, ""), (e.seq, line, &note)],
                    );
                }
            }
        }
        match s.last_class {
            Class::Backoff => self.judge_backoff_gap(s, e, line, gap, held),
            Class::Definitive(strategy) => {
                let code = s.last_code.map_or("", ErrorCode::as_str);
                let strategy = strategy.as_str();
                let only_note = e.is_write() && s.last_note.as_deref() != e.note();
                let note = format!(
                    "sent again {}after a `{strategy}` error ({code}) {gap} ms earlier",
                    if only_note {
                        "with only its note changed "
                    } else {
                        "unchanged "
                    }
                );
                self.retry.fail_as(
                    "request resent after an error that says not to",
                    &[(prev_seq, &prev_line, ""), (e.seq, line, &note)],
                );
            }
            // 429 waits are the rate-limit verdict's; drops are reconciliation's.
            _ => {}
        }
    }

    /// Judges the delay before a retry of a `backoff` error. One `held` back by the key's
    /// Retry-After is judged, but is no earlier delay a later one may not shrink below.
    fn judge_backoff_gap(
        &mut self,
        s: &mut Sequence,
        e: &JournalEntry,
        line: &str,
        gap: i64,
        held: bool,
    ) {
        s.backoff_retries += 1;
        if s.backoff_retries == 1 {
            self.backoff_retried_sequences += 1;
        }
        let (prev_seq, prev_line) = (s.last_seq, s.last_line.clone());
        if gap < MIN_BACKOFF_MS {
            if s.backoff_retries == 1 {
                // Judged when the sequence ends: a policy if the later retries back off.
                s.immediate_first = Some((e.seq, line.to_string(), gap));
            } else {
                let note = format!("retried {gap} ms after the error: no backoff");
                self.retry.fail_as(
                    NO_BACKOFF_KIND,
                    &[(prev_seq, &prev_line, ""), (e.seq, line, &note)],
                );
            }
        } else if let Some(longest) = s.longest_gap_ms {
            let tolerance = JITTER_TOLERANCE_MS.max(longest / 2);
            if gap < longest - tolerance {
                let note = format!(
                    "retried {gap} ms after the error, after an earlier delay of {longest} ms in the same sequence: the backoff shrinks by more than the {tolerance} ms jitter tolerance"
                );
                self.retry.fail_as(
                    "backoff shrinking beyond the jitter tolerance",
                    &[(prev_seq, &prev_line, ""), (e.seq, line, &note)],
                );
            } else {
                self.retry.show(
                    e.seq,
                    line,
                    &format!("a retry, {gap} ms after the error #{prev_seq}"),
                );
            }
        } else {
            self.retry.show(
                e.seq,
                line,
                &format!("a retry, {gap} ms after the error #{prev_seq}"),
            );
        }
        if gap >= MIN_BACKOFF_MS && !held {
            s.longest_gap_ms = Some(s.longest_gap_ms.map_or(gap, |l| l.max(gap)));
        }
    }

    /// A sequence ended: with a success, or (`succeeded` false) after a quiet gap or at
    /// the end of the run.
    fn close_sequence(&mut self, s: Sequence, succeeded: bool) {
        if let Some((seq, line, gap)) = s.immediate_first {
            // Settled at the end: urllib3 2.x's policy, unless the client also retries
            // immediately later in a sequence (then it simply does not back off).
            self.policy_immediate += 1;
            self.policy_backed_off_later += u64::from(s.backoff_retries >= 2);
            if self.policy_lines.len() < MAX_EVIDENCE {
                self.policy_lines.push((seq, line, gap));
            }
        }
        if !succeeded && s.backoff_retries > 0 && s.last_class != Class::Backoff {
            self.ended_otherwise += 1;
        }
        if s.last_class == Class::Backoff && !succeeded {
            if s.backoff_retries == 0 && s.attempts == 1 {
                self.backoff_unretried += 1;
            } else {
                self.gave_up += 1;
                self.retry.show(
                    s.last_seq,
                    &s.last_line,
                    &format!("gave up after {} attempts", s.attempts),
                );
            }
        }
    }

    fn new_order(&mut self, e: &JournalEntry, operation: String) -> u64 {
        let id = self.next_order;
        self.next_order += 1;
        self.orders.insert(
            id,
            Order {
                operation: operation.clone(),
                notes: Vec::new(),
                commits: 0,
                commit_lines: Vec::new(),
                open: true,
                confirmed: false,
                last_at: e.at,
                last_answered: e.answered_at(),
                ambiguous: None,
                looked_up: None,
                redeem: e.path.ends_with("/redeem"),
            },
        );
        self.by_operation.insert(operation, id);
        id
    }

    /// The order a write belongs to: by note, else by ledger fields while unresolved.
    fn order_of(&mut self, e: &JournalEntry, line: &str) -> (u64, bool) {
        let operation = e.operation();
        if let Some(note) = e.note() {
            if let Some(&id) = self.by_note.get(&note.to_string()) {
                if let Some(o) = self.orders.get(&id) {
                    if o.operation == operation || !o.confirmed {
                        return (id, true);
                    }
                    let note = format!("note `{note}` already named another order");
                    self.notes
                        .fail_as("note naming two orders", &[(e.seq, line, &note)]);
                }
            }
        }
        if let Some(&id) = self.by_operation.get(&operation) {
            if let Some(o) = self.orders.get(&id) {
                if o.open
                    && (e.at - o.last_at).num_milliseconds() <= ORDER_WINDOW_MS
                    && !certainly_before(e.at, o.last_answered)
                {
                    return (id, true);
                }
            }
        }
        (self.new_order(e, operation), false)
    }

    /// Judges a write of order `id` (`existing`: an attempt at an order seen before).
    fn judge_write(&mut self, e: &JournalEntry, line: &str, id: u64, existing: bool) {
        self.writes += 1;
        self.notes.exercised = true;
        let note = e.note().map(str::to_owned);
        match &note {
            None => self
                .notes
                .fail_as("write without a note", &[(e.seq, line, "no note")]),
            Some(n) => {
                self.writes_with_note += 1;
                self.by_note.insert(n.clone(), id);
            }
        }
        let Some(o) = self.orders.get_mut(&id) else {
            return;
        };
        let findings = if existing {
            replay_findings(o, note.as_ref(), e, line)
        } else {
            Vec::new()
        };
        let ambiguous = o.record_write(e, note.as_ref(), line);
        if let Some(txn) = &e.committed_txn {
            self.by_txn.insert(txn.clone(), id);
        }
        if ambiguous {
            self.ambiguous_total += 1;
            self.reconcile.exercised = true;
        }
        self.fail_write_findings(&findings);
    }

    /// Counts a write's findings. A reconciliation finding is one finding with two
    /// lines: one with an empty note is paired with the next.
    fn fail_write_findings(&mut self, findings: &[WriteFinding]) {
        let mut i = 0;
        while i < findings.len() {
            let (t, kind, seq, l, n) = &findings[i];
            let tally = match t {
                Tally_::Notes => &mut self.notes,
                Tally_::Reconcile => &mut self.reconcile,
            };
            if n.is_empty() && i + 1 < findings.len() {
                let (_, _, seq2, l2, n2) = &findings[i + 1];
                tally.fail_as(kind, &[(*seq, l, ""), (*seq2, l2, n2)]);
                i += 2;
            } else {
                tally.fail_as(kind, &[(*seq, l, n)]);
                i += 1;
            }
        }
    }

    /// A successful transactions list that returned an ambiguous order's transaction looks
    /// that order up.
    fn judge_lookup(&mut self, e: &JournalEntry, line: &str) {
        let Some(listed) = e.listed_txns.as_ref().filter(|_| e.is_success()) else {
            return;
        };
        for txn in listed {
            let Some(&id) = self.by_txn.get(txn) else {
                continue;
            };
            let Some(o) = self.orders.get_mut(&id) else {
                continue;
            };
            if let Some(amb) = o.ambiguous.as_mut() {
                if amb.found_by.is_none() && amb.txn.as_deref() == Some(txn.as_str()) {
                    amb.found_by = Some((e.seq, line.to_string()));
                    o.looked_up = Some((e.seq, line.to_string()));
                    self.looked_up_total += 1;
                    let note = format!("returned the order of the ambiguous attempt #{}", amb.seq);
                    self.reconcile.show(e.seq, line, &note);
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
            .and_then(|p| p.trim().parse::<i64>().ok())
        {
            if pp > 100 {
                let note =
                    format!("per_page {pp} is above the maximum of 100 (the server clamps it)");
                self.pagination
                    .fail_as("per_page above 100", &[(e.seq, line, &note)]);
            }
        }
        if !e.is_success() {
            return;
        }
        let Some(last) = e.last_page else {
            return;
        };
        let page = e
            .query_param("page")
            .and_then(|p| p.trim().parse::<u64>().ok())
            .unwrap_or(1)
            .max(1);
        if page > last {
            // Past the end (a client reading until an empty page): no page of any walk.
            return;
        }
        let own = e
            .listed_txns
            .as_ref()
            .is_some_and(|l| l.iter().any(|t| self.by_txn.get(t).is_some()));
        let id = e.list_identity();
        if page == 1 {
            if last > 1 {
                self.start_walk(id, e, last, own, line);
            }
        } else {
            self.continue_walk(&id, page, last, own, e, line);
        }
    }

    /// A page 1 (or a list request without a page): a new walk of its list, beside any
    /// walk of the same list still open.
    fn start_walk(&mut self, id: String, e: &JournalEntry, last: u64, own: bool, line: &str) {
        self.pagination.exercised = true;
        self.end_quiet_walks(Some(&id), e.at);
        if self.open_walks >= MAX_OPEN_WALKS {
            self.end_quiet_walks(None, e.at);
        }
        if self.open_walks >= MAX_OPEN_WALKS {
            self.walks_untracked += 1;
            return;
        }
        let list = self.walks.entry(id).or_default();
        if list.len() >= MAX_WALKS_PER_LIST && list.pop_front().is_some() {
            self.open_walks -= 1;
            self.walks_untracked += 1;
        }
        list.push_back(Walk {
            last_page: last,
            through: 1,
            ahead: BTreeSet::new(),
            seq: e.seq,
            line: line.to_string(),
            at: e.at,
            found_own: own,
        });
        self.open_walks += 1;
    }

    /// Judges the walks of list `id` (or of every list) that had no page for [`QUIET_GAP_MS`].
    fn end_quiet_walks(&mut self, id: Option<&str>, now: DateTime<Utc>) {
        let quiet = |w: &Walk| (now - w.at).num_milliseconds() >= QUIET_GAP_MS;
        let mut over = Vec::new();
        let mut take = |list: &mut VecDeque<Walk>| {
            while let Some(i) = list.iter().position(quiet) {
                over.extend(list.remove(i));
            }
        };
        match id {
            Some(id) => {
                if let Some(list) = self.walks.get_mut(id) {
                    take(list);
                    if list.is_empty() {
                        self.walks.remove(id);
                    }
                }
            }
            None => {
                self.walks.values_mut().for_each(&mut take);
                self.walks.retain(|_, l| !l.is_empty());
            }
        }
        self.open_walks -= over.len();
        over.sort_by_key(|w| w.seq);
        for w in over {
            self.end_walk(w);
        }
    }

    /// Page `page` continues the oldest open walk of its list that is at page `page - 1`;
    /// failing that (pages fetched at once, answered out of order), the oldest that lacks it.
    fn continue_walk(
        &mut self,
        id: &str,
        page: u64,
        last: u64,
        own: bool,
        e: &JournalEntry,
        line: &str,
    ) {
        self.end_quiet_walks(Some(id), e.at);
        let Some(list) = self.walks.get_mut(id) else {
            return;
        };
        let next = list.iter().position(|w| w.through + 1 == page);
        let Some(i) = next.or_else(|| {
            list.iter()
                .position(|w| page > w.through + 1 && !w.ahead.contains(&page))
        }) else {
            return;
        };
        let w = &mut list[i];
        w.last_page = last;
        w.found_own |= own;
        w.seq = e.seq;
        w.at = e.at;
        w.line = line.to_string();
        if page == w.through + 1 {
            w.through = page;
            while w.ahead.remove(&(w.through + 1)) {
                w.through += 1;
            }
        } else {
            w.ahead.insert(page);
        }
        let lost = w.ahead.len() > MAX_PAGES_AHEAD;
        let done = w.through >= w.last_page;
        if lost || done {
            if let Some(w) = list.remove(i) {
                self.open_walks -= 1;
                if lost {
                    self.walks_untracked += 1;
                } else {
                    self.walks_completed += 1;
                    let note = format!("read to the last page, {}", w.last_page);
                    self.pagination.show(w.seq, &w.line, &note);
                }
            }
        }
        if self.walks.get(id).is_some_and(VecDeque::is_empty) {
            self.walks.remove(id);
        }
    }

    /// Judges a walk that is over: at the end of the run, or displaced with its verdict final.
    fn end_walk(&mut self, w: Walk) {
        if w.through >= w.last_page {
            self.walks_completed += 1;
        } else if w.found_own {
            self.walks_found += 1;
            let note = format!(
                "stopped at page {} of {} once a page returned one of its own transactions (a search)",
                w.through, w.last_page
            );
            self.pagination.show(w.seq, &w.line, &note);
        } else {
            let note = format!(
                "stopped at page {} of {}: page {} was never fetched",
                w.through,
                w.last_page,
                w.through + 1
            );
            self.pagination
                .fail_as("list read only in part", &[(w.seq, &w.line, &note)]);
        }
    }

    fn judge_key_type(&mut self, e: &JournalEntry, line: &str) {
        let group = |role: Role| format!("{BASE_PATH}/{}/", role.as_str());
        let wanted = if e.path.contains(&group(Role::Member)) {
            Role::Member
        } else if e.path.contains(&group(Role::Partner)) {
            Role::Partner
        } else {
            return;
        };
        self.keys.exercised = true;
        if let Some(role) = e.role {
            if role != wanted {
                let note = format!("a {} key on a {} operation", role.as_str(), wanted.as_str());
                self.keys
                    .fail_as("key of the wrong role", &[(e.seq, line, &note)]);
            }
        }
    }

    /// End-of-run findings: unresolved ambiguities, double commits, unfinished lists,
    /// sequences still open.
    fn settle(&mut self) {
        self.settle_unsure();
        for s in self.sequences.drain() {
            self.close_sequence(s, false);
        }
        if self.backoff_errors > 0 && self.backoff_retried_sequences == 0 {
            let note = format!(
                "met {} `backoff` error{} and retried none",
                self.backoff_errors,
                plural(self.backoff_errors)
            );
            self.retry.count("backoff errors never retried", 1);
            add_line(&mut self.retry.failed, u64::MAX, &note, "");
        }
        let no_backoff = self.retry.kinds.iter().any(|(k, _)| *k == NO_BACKOFF_KIND);
        // Only a client seen backing off on later retries follows the urllib3 policy; one
        // that never showed a later delay simply does not back off.
        let defect = no_backoff || self.policy_backed_off_later == 0;
        if self.policy_immediate > 0 && (defect || !self.opts.allow_immediate_first_retry) {
            let lines = std::mem::take(&mut self.policy_lines);
            let (kind, why) = if defect {
                (NO_BACKOFF_KIND, "")
            } else {
                (
                    POLICY_KIND,
                    " (policy: urllib3 2.x's Retry never sleeps before its first retry)",
                )
            };
            for (seq, line, gap) in &lines {
                let note = format!("first retry {gap} ms after the error{why}");
                add_line(&mut self.retry.failed, *seq, line, &note);
            }
            self.retry.count(kind, self.policy_immediate);
            if defect {
                self.policy_immediate = 0;
            }
        }
        let mut orders = self.orders.drain();
        orders.sort_by_key(|o| o.last_at);
        for o in orders {
            if let Some(amb) = &o.ambiguous {
                if amb.found_by.is_none() {
                    self.reconcile.fail_as("ambiguous write never looked up", &[(
                        amb.seq,
                        &amb.line,
                        "never looked up afterwards: no successful transactions list returned this order",
                    )]);
                }
            }
            if o.commits > 1 {
                let what = if o.redeem { "deducted" } else { "awarded" };
                let first = o.commit_lines.first().map(|(s, _)| *s).unwrap_or(0);
                let note = format!(
                    "order of #{first} committed {} times: {what} {} times",
                    o.commits, o.commits
                );
                self.reconcile.exercised = true;
                self.reconcile.count("order committed more than once", 1);
                for (i, (seq, l)) in o.commit_lines.iter().enumerate() {
                    let n = if i + 1 == o.commit_lines.len() {
                        note.as_str()
                    } else {
                        ""
                    };
                    add_line(&mut self.reconcile.failed, *seq, l, n);
                }
            }
        }
        let mut open: Vec<Walk> = self.walks.drain().flat_map(|(_, l)| l).collect();
        open.sort_by_key(|w| w.seq);
        self.open_walks = 0;
        for w in open {
            self.end_walk(w);
        }
    }

    /// The verdicts, once the client is done.
    pub fn finish(mut self) -> Vec<Judgement> {
        self.settle();
        let rate = self.rate_summary();
        let retry = self.retry_summary();
        let reconcile = self.reconcile_summary();
        let notes = self.notes_summary();
        let pagination = self.pagination_summary();
        let keys = (
            "member operations with member keys, partner operations with partner keys".to_string(),
            String::new(),
            "the client called no partner or member route".to_string(),
        );
        if self.walks_untracked > 0 && self.pagination.failures == 0 {
            // A walk no longer followed may have stopped early: never a pass.
            self.pagination.exercised = false;
        }
        let retry_exercised = self.retry_fully_exercised();
        if !retry_exercised && self.retry.failures == 0 {
            self.retry.exercised = false;
        }
        vec![
            judgement(
                "rate-limit-handling",
                "Rate-limit handling",
                &mut self.rate,
                rate,
            ),
            judgement("retry-logic", "Retry logic", &mut self.retry, retry),
            judgement(
                "reconcile-by-reference",
                "Reconciliation before replay",
                &mut self.reconcile,
                reconcile,
            ),
            judgement(
                "notes",
                "Notes with external identifiers",
                &mut self.notes,
                notes,
            ),
            judgement("pagination", "Pagination", &mut self.pagination, pagination),
            judgement("key-type", "Key type", &mut self.keys, keys),
        ]
    }

    fn retry_fully_exercised(&self) -> bool {
        self.backoff_errors > 0 && !self.definitive_met.is_empty()
    }

    fn rate_summary(&self) -> (String, String, String) {
        let wait = self
            .shortest_wait
            .map(|(w, ra)| format!("; the shortest wait was {w} ms, for a Retry-After of {ra} s"))
            .unwrap_or_default();
        let in_flight = if self.in_flight > 0 {
            format!(
                "; {} request{} already on {} way when a 429 was answered not counted",
                self.in_flight,
                plural(self.in_flight),
                if self.in_flight == 1 { "its" } else { "their" }
            )
        } else {
            String::new()
        };
        (
            format!(
                "waited out Retry-After after each of {} 429 response{}{wait}{in_flight}",
                self.rate_limited,
                plural(self.rate_limited)
            ),
            format!(
                "{} 429 response{} met",
                self.rate_limited,
                plural(self.rate_limited)
            ),
            "the client met no 429 (the referee's mock answers the 3rd and 30th authenticated requests with one, and more than --rate-limit requests per key within --rate-window)".into(),
        )
    }

    fn retry_summary(&self) -> (String, String, String) {
        let met: Vec<String> = [
            RetryStrategy::NoRetry,
            RetryStrategy::FixRequest,
            RetryStrategy::ContactSupport,
        ]
        .iter()
        .filter_map(|s| {
            self.definitive_met
                .get(s)
                .map(|n| format!("{n} `{}`", s.as_str()))
        })
        .collect();
        let definitive = if met.is_empty() {
            "no `no_retry`, `fix_request` or `contact_support` error".to_string()
        } else {
            met.join(", ")
        };
        let policy = if self.policy_immediate > 0 && self.opts.allow_immediate_first_retry {
            format!(
                "; the first retry of {} sequence{} came at once (accepted with --allow-immediate-first-retry)",
                self.policy_immediate,
                plural(self.policy_immediate)
            )
        } else {
            String::new()
        };
        let sequences = self.backoff_retried_sequences + self.backoff_unretried;
        let pass = format!(
            "retried {} of {sequences} `backoff` error sequence{} with delays of at least {MIN_BACKOFF_MS} ms that did not shrink beyond the jitter tolerance ({} recovered, {} gave up within {MAX_ATTEMPTS} attempts, {} ended with another answer); never resent a request refused with {definitive}{policy}",
            self.backoff_retried_sequences,
            plural(sequences),
            self.recovered,
            self.gave_up,
            self.ended_otherwise,
        );
        let fail = if self.policy_immediate > 0
            && self.retry.kinds.iter().any(|(k, _)| *k == POLICY_KIND)
        {
            let later = format!(
                "later retries backed off in {} sequence{}",
                self.policy_backed_off_later,
                plural(self.policy_backed_off_later)
            );
            format!(
                "the first retry of {} `backoff` sequence{} came at once, as urllib3 2.x's Retry always does ({later}); the checklist asks for a delay before every retry: pass --allow-immediate-first-retry to accept this policy",
                self.policy_immediate,
                plural(self.policy_immediate)
            )
        } else {
            String::new()
        };
        let missing = match (self.backoff_errors > 0, !self.definitive_met.is_empty()) {
            (false, false) => "the client met neither a `backoff` error nor a definitive one (--fail-rate provokes 500s; the referee's mock refuses the 3rd, 5th, 7th and 9th purchase or redemption with one error per retry_strategy)".to_string(),
            (true, false) => format!("its retries of `backoff` errors were fine ({} sequence{} retried), but it met no `no_retry`, `fix_request` or `contact_support` error, so resending those was not judged (the referee's mock refuses the 3rd, 5th, 7th and 9th purchase or redemption with one)", self.backoff_retried_sequences, plural(self.backoff_retried_sequences)),
            _ => format!("it met {definitive} and never resent them, but met no `backoff` error, so backoff was not judged (--fail-rate provokes 500s)"),
        };
        (pass, fail, missing)
    }

    fn reconcile_summary(&self) -> (String, String, String) {
        (
            format!(
                "looked up each of the {} ambiguous write{} (a successful transactions list returned its transaction) before any replay; no order was committed twice",
                self.ambiguous_total,
                plural(self.ambiguous_total)
            ),
            format!(
                "{} ambiguous write{}, {} looked up",
                self.ambiguous_total,
                plural(self.ambiguous_total),
                self.looked_up_total
            ),
            "no write of the client was ambiguous (the referee's mock drops the answer of the first committed purchase or redemption, and of --drop-after-commit of the others)".into(),
        )
    }

    fn notes_summary(&self) -> (String, String, String) {
        (
            format!(
                "all {} purchases and redemptions carried a note, one per order across its attempts",
                self.writes
            ),
            format!(
                "{} of {} purchases and redemptions carried a note",
                self.writes_with_note, self.writes
            ),
            "the client sent no purchase or redemption".into(),
        )
    }

    fn pagination_summary(&self) -> (String, String, String) {
        let untracked = format!(
            "{} walk{} through a list no longer followed (more than {MAX_WALKS_PER_LIST} walks of one list, or {MAX_OPEN_WALKS} in all, open within {} s, or pages fetched more than {MAX_PAGES_AHEAD} ahead of a missing one): could not tell whether it reached its end; a run reading fewer lists at once would settle it",
            self.walks_untracked,
            plural(self.walks_untracked),
            QUIET_GAP_MS / 1000
        );
        let missing = if self.walks_untracked > 0 {
            untracked.clone()
        } else {
            "the client read no list longer than one page (the referee's mock gives the fixture member a transaction history longer than one page at per_page=100)".into()
        };
        let fail = if self.walks_untracked > 0 {
            format!("besides, {untracked}")
        } else {
            String::new()
        };
        (
            format!(
                "read {} multi-page list{} to the last page{}, with per_page ≤ 100",
                self.walks_completed,
                plural(self.walks_completed),
                if self.walks_found > 0 {
                    format!(
                        "; stopped {} search{} on the page that returned its own transaction",
                        self.walks_found,
                        if self.walks_found == 1 { "" } else { "es" }
                    )
                } else {
                    String::new()
                }
            ),
            fail,
            missing,
        )
    }
}

/// A finding of a write: its verdict, kind, and `(seq, line, note)`.
type WriteFinding = (Tally_, &'static str, u64, String, String);

/// What sending order `o` again shows: a new note for the same order, a replay
/// without (or despite) a lookup after an ambiguous attempt, or a replay after a
/// confirmed success. Takes the order's pending ambiguity: it is judged now.
fn replay_findings(
    o: &mut Order,
    note: Option<&String>,
    e: &JournalEntry,
    line: &str,
) -> Vec<WriteFinding> {
    let mut findings: Vec<WriteFinding> = Vec::new();
    if let (Some(first), Some(n)) = (o.notes.first(), note) {
        if first != n && o.notes.len() < 2 {
            findings.push((
                Tally_::Notes,
                "order sent again under a new note",
                e.seq,
                line.to_string(),
                format!("the same order (same card, member and amount, unresolved) sent again under a new note: `{first}` → `{n}`"),
            ));
        }
    }
    if let Some(amb) = o.ambiguous.take() {
        let (kind, note) = match &amb.found_by {
            None => (
                "replay without a lookup",
                format!(
                    "sent again without looking the order up after its ambiguous attempt #{}",
                    amb.seq
                ),
            ),
            Some((s, _)) => (
                "replay after a lookup had found it",
                format!(
                    "sent again although the lookup #{s} had returned its committed transaction"
                ),
            ),
        };
        findings.push((Tally_::Reconcile, kind, amb.seq, amb.line, String::new()));
        findings.push((Tally_::Reconcile, kind, e.seq, line.to_string(), note));
    } else if o.confirmed {
        findings.push((
            Tally_::Reconcile,
            "replay after a confirmed success",
            e.seq,
            line.to_string(),
            "sent again after a confirmed success".into(),
        ));
    }
    findings
}

impl Order {
    /// Records one write of the order: its note, whether it is still open, its
    /// commit. True when its answer was lost (dropped, or no status): the order is
    /// then ambiguous until the client looks it up.
    fn record_write(&mut self, e: &JournalEntry, note: Option<&String>, line: &str) -> bool {
        if let Some(n) = note {
            if !self.notes.contains(n) && self.notes.len() < 4 {
                self.notes.push(n.clone());
            }
        }
        self.last_at = e.at;
        self.last_answered = e.answered_at();
        self.open = !e.is_success();
        self.confirmed |= e.is_success();
        if e.committed_txn.is_some() {
            self.commits += 1;
            if self.commit_lines.len() < MAX_EVIDENCE / 2 {
                self.commit_lines.push((e.seq, line.to_string()));
            }
        }
        let ambiguous = e.outcome == Delivery::Dropped || e.status.is_none();
        if ambiguous {
            self.ambiguous = Some(Ambiguous {
                seq: e.seq,
                line: line.to_string(),
                txn: e.committed_txn.clone(),
                found_by: None,
            });
        }
        ambiguous
    }
}

/// Which verdict a write finding belongs to.
enum Tally_ {
    Notes,
    Reconcile,
}

fn plural(n: u64) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// One verdict on the checklist item `item` (its id: the checklist owns the items).
fn judgement(
    item: &str,
    title: &str,
    t: &mut Tally,
    (pass, fail, missing): (String, String, String),
) -> Judgement {
    let (verdict, summary) = if t.failures > 0 {
        let context = if fail.is_empty() {
            String::new()
        } else {
            format!("; {fail}")
        };
        (ClientVerdict::Fail, format!("{}{context}", t.kinds_text()))
    } else if !t.exercised {
        (
            ClientVerdict::NotExercised,
            format!("not exercised: {missing}"),
        )
    } else {
        (ClientVerdict::Pass, pass)
    };
    let evidence = if verdict == ClientVerdict::NotExercised {
        Vec::new()
    } else {
        t.evidence()
    };
    Judgement {
        item: item.to_string(),
        title: title.to_string(),
        verdict,
        summary,
        evidence,
        findings: if verdict == ClientVerdict::Fail {
            t.failures
        } else {
            0
        },
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
            path: format!("{BASE_PATH}{path}"),
            query: None,
            key_name: Some("partner".into()),
            role: Some(Role::Partner),
            status,
            code: code.map(|c| ErrorCode::parse(c).expect("a contract code")),
            outcome: if status.is_some() {
                Delivery::Responded
            } else {
                Delivery::Dropped
            },
            retry_after: None,
            last_page: None,
            body: None,
            body_truncated: false,
            duration_ms: 0.2,
            fault: None,
            committed_txn: None,
            listed_txns: None,
            connection: None,
            connection_opened_at: None,
        }
    }

    fn retries(gaps: &[i64]) -> Vec<Judgement> {
        let mut r = Referee::new();
        let mut t = 0;
        let mut seq = 1;
        r.observe(&e(
            seq,
            t,
            "GET",
            "/partner/cards",
            Some(500),
            Some("INTERNAL_ERROR"),
        ));
        for (i, g) in gaps.iter().enumerate() {
            t += g;
            seq += 1;
            let last = i + 1 == gaps.len();
            let (s, c) = if last {
                (Some(200), None)
            } else {
                (Some(500), Some("INTERNAL_ERROR"))
            };
            r.observe(&e(seq, t, "GET", "/partner/cards", s, c));
        }
        // A definitive error met and not resent, so the verdict can pass.
        r.observe(&e(
            seq + 1,
            t + 10,
            "GET",
            "/partner/cards/x",
            Some(404),
            Some("NOT_FOUND"),
        ));
        r.finish()
    }

    fn retry_verdict(j: &[Judgement]) -> ClientVerdict {
        j.iter().find(|x| x.item == "retry-logic").unwrap().verdict
    }

    #[test]
    fn stamina_jitter_974_then_831_ms_passes_and_a_real_shrink_fails() {
        assert_eq!(
            retry_verdict(&retries(&[974, 831, 1200])),
            ClientVerdict::Pass
        );
        // Additive jitter of up to 1 s: 1.1 s then 0.2 s still passes.
        assert_eq!(retry_verdict(&retries(&[1100, 200])), ClientVerdict::Pass);
        // 4 s then 0.5 s shrinks by more than max(1 s, 2 s).
        let j = retries(&[4000, 500]);
        assert_eq!(retry_verdict(&j), ClientVerdict::Fail);
        assert!(j[1].summary.contains("shrinking"), "{}", j[1].summary);
    }

    #[test]
    fn immediate_first_retry_then_backoff_is_the_named_policy() {
        let j = retries(&[0, 400, 800]);
        assert_eq!(retry_verdict(&j), ClientVerdict::Fail);
        assert!(
            j[1].summary.starts_with("policy: immediate first retry"),
            "{}",
            j[1].summary
        );
        // Immediate every time is no backoff, not a policy.
        let j = retries(&[0, 1, 2]);
        assert!(
            j[1].summary.starts_with("retry without backoff"),
            "{}",
            j[1].summary
        );
        let mut r = Referee::with_options(RefereeOptions {
            allow_immediate_first_retry: true,
        });
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
            5,
            "GET",
            "/partner/cards",
            Some(500),
            Some("INTERNAL_ERROR"),
        ));
        r.observe(&e(3, 405, "GET", "/partner/cards", Some(200), None));
        r.observe(&e(
            9,
            5000,
            "GET",
            "/partner/cards/x",
            Some(404),
            Some("NOT_FOUND"),
        ));
        assert_eq!(retry_verdict(&r.finish()), ClientVerdict::Pass);
    }

    #[test]
    fn counters_reset_after_a_success() {
        let mut r = Referee::new();
        let mut seq = 0;
        for i in 0..30 {
            seq += 1;
            r.observe(&e(seq, i * 1000, "GET", "/partner/cards", Some(200), None));
        }
        r.observe(&e(
            seq + 1,
            40_000,
            "GET",
            "/partner/cards",
            Some(500),
            Some("INTERNAL_ERROR"),
        ));
        r.observe(&e(
            seq + 2,
            40_300,
            "GET",
            "/partner/cards",
            Some(200),
            None,
        ));
        r.observe(&e(
            seq + 3,
            40_400,
            "GET",
            "/partner/cards/x",
            Some(404),
            Some("NOT_FOUND"),
        ));
        assert_eq!(retry_verdict(&r.finish()), ClientVerdict::Pass);
    }

    const ERR: Option<&str> = Some("INTERNAL_ERROR");

    /// Feeds `(ms, path, status)` as journal entries, one per row, in answer order;
    /// then a definitive error met and not resent, so retry logic is exercised.
    fn journal(rows: &[(i64, &str, u16)]) -> Vec<Judgement> {
        let mut r = Referee::new();
        for (i, (ms, path, status)) in rows.iter().enumerate() {
            let code = (*status == 500).then_some(ERR).flatten();
            r.observe(&e(i as u64 + 1, *ms, "GET", path, Some(*status), code));
        }
        let end = rows.iter().map(|r| r.0).max().unwrap_or(0) + 10;
        r.observe(&e(
            9999,
            end,
            "GET",
            "/partner/cards/x",
            Some(404),
            Some("NOT_FOUND"),
        ));
        r.finish()
    }

    fn findings(j: &[Judgement], item: &str) -> String {
        let j = j.iter().find(|x| x.item == item).unwrap();
        format!("{:?}: {}\n{:#?}", j.verdict, j.summary, j.evidence)
    }

    /// The old false pass: an immediate retry of a 500 with another worker's request in
    /// between was taken for a new sequence, so it was never judged.
    #[test]
    fn an_immediate_retry_with_another_workers_request_in_between_fails() {
        let j = journal(&[
            // One sequence retried with backoff, nothing in between.
            (0, "/partner/cards", 500),
            (300, "/partner/cards", 200),
            // Worker 1 retries /partner/rewards at once; worker 2's reads interleave.
            (1000, "/partner/rewards", 500),
            (1001, "/partner/balance", 200),
            (1002, "/partner/rewards", 500),
            (1003, "/partner/balance", 200),
            (1004, "/partner/rewards", 200),
        ]);
        assert_eq!(
            retry_verdict(&j),
            ClientVerdict::Fail,
            "{}",
            findings(&j, "retry-logic")
        );
        assert!(
            j[1].summary.starts_with("retry without backoff"),
            "{}",
            j[1].summary
        );
        assert!(
            j[1].evidence.iter().any(|l| l.starts_with("#5 ")),
            "{:#?}",
            j[1].evidence
        );
    }

    /// Backed-off retries always interleaved with other workers' requests: every one is a
    /// retry (the old rules counted none, and failed "never retried").
    #[test]
    fn backed_off_retries_interleaved_with_other_operations_pass() {
        let j = journal(&[
            (0, "/partner/cards", 500),
            (10, "/partner/rewards", 500),
            (20, "/member/balance", 200),
            (300, "/partner/cards", 500),
            (320, "/partner/rewards", 200),
            (330, "/member/balance", 200),
            (900, "/partner/cards", 200),
        ]);
        assert_eq!(
            retry_verdict(&j),
            ClientVerdict::Pass,
            "{}",
            findings(&j, "retry-logic")
        );
        assert!(j[1].summary.contains("retried 2 of 2"), "{}", j[1].summary);
    }

    /// The attempt bound counts across other workers' requests; a quiet gap of
    /// [`QUIET_GAP_MS`] starts a new sequence.
    #[test]
    fn the_attempt_bound_holds_across_interleaving_and_resets_after_a_quiet_gap() {
        let mut rows = Vec::new();
        for i in 0..12 {
            rows.push((i * 400, "/partner/cards", 500));
            rows.push((i * 400 + 1, "/member/balance", 200));
        }
        let j = journal(&rows);
        assert!(
            j[1].summary.contains("retry sequence without a bound"),
            "{}",
            findings(&j, "retry-logic")
        );
        let mut rows = Vec::new();
        for i in 0..8 {
            rows.push((i * 400, "/partner/cards", 500));
            rows.push((i * 400 + 20_000 + QUIET_GAP_MS, "/partner/cards", 500));
        }
        rows.sort_by_key(|r| r.0);
        let j = journal(&rows);
        assert_eq!(
            retry_verdict(&j),
            ClientVerdict::Pass,
            "{}",
            findings(&j, "retry-logic")
        );
        assert!(j[1].summary.contains("2 gave up"), "{}", j[1].summary);
    }

    /// A request refused with a definitive error and sent again is a resend, whatever
    /// other requests come between (the old rules forgot the refusal at the next one).
    #[test]
    fn a_resend_after_a_definitive_refusal_is_seen_through_other_requests() {
        let mut r = Referee::new();
        r.observe(&e(1, 0, "GET", "/partner/rewards", Some(500), ERR));
        r.observe(&e(2, 300, "GET", "/partner/rewards", Some(200), None));
        r.observe(&e(
            3,
            400,
            "GET",
            "/partner/cards/x",
            Some(404),
            Some("NOT_FOUND"),
        ));
        r.observe(&e(4, 410, "GET", "/partner/cards", Some(200), None));
        r.observe(&e(
            5,
            420,
            "GET",
            "/partner/cards/x",
            Some(404),
            Some("NOT_FOUND"),
        ));
        let j = r.finish();
        assert!(
            j[1].summary
                .starts_with("request resent after an error that says not to"),
            "{}",
            findings(&j, "retry-logic")
        );
    }

    /// A duplicate of a request sent before the first was answered (another worker's) is
    /// no retry of it: it is not judged as one.
    #[test]
    fn a_duplicate_sent_before_the_first_was_answered_is_no_retry() {
        let judge = |dup_at: i64| {
            let mut r = Referee::new();
            let mut first = e(1, 0, "GET", "/partner/rewards", Some(500), ERR);
            first.duration_ms = 30.0;
            r.observe(&first);
            r.observe(&e(2, dup_at, "GET", "/partner/rewards", Some(500), ERR));
            r.observe(&e(3, 400, "GET", "/partner/rewards", Some(200), None));
            r.observe(&e(
                4,
                900,
                "GET",
                "/partner/cards/x",
                Some(404),
                Some("NOT_FOUND"),
            ));
            r.finish()
        };
        // #2 arrived at 10 ms, before #1 was answered at 30 ms.
        let j = judge(10);
        assert_eq!(
            retry_verdict(&j),
            ClientVerdict::Pass,
            "{}",
            findings(&j, "retry-logic")
        );
        // Sent 5 ms after the answer, it is an immediate retry.
        let j = judge(35);
        assert_eq!(
            retry_verdict(&j),
            ClientVerdict::Fail,
            "{}",
            findings(&j, "retry-logic")
        );
    }

    /// A retry held back by the key's Retry-After (another worker met a 429 meanwhile)
    /// waited for the rate limit: a later, ordinary backoff delay may be shorter.
    #[test]
    fn a_delay_held_by_the_keys_retry_after_is_no_delay_to_shrink_from() {
        let judge = |with_429: bool| {
            let mut r = Referee::new();
            r.observe(&e(1, 0, "GET", "/partner/rewards", Some(500), ERR));
            if with_429 {
                let mut limited = e(
                    2,
                    100,
                    "GET",
                    "/partner/cards",
                    Some(429),
                    Some("RATE_LIMITED"),
                );
                limited.retry_after = Some(2);
                r.observe(&limited);
            }
            r.observe(&e(3, 2200, "GET", "/partner/rewards", Some(500), ERR));
            r.observe(&e(4, 2800, "GET", "/partner/rewards", Some(200), None));
            r.observe(&e(
                5,
                2900,
                "GET",
                "/partner/cards/x",
                Some(404),
                Some("NOT_FOUND"),
            ));
            r.finish()
        };
        let j = judge(true);
        assert_eq!(
            retry_verdict(&j),
            ClientVerdict::Pass,
            "{}",
            findings(&j, "retry-logic")
        );
        let j = judge(false);
        assert!(
            j[1].summary.contains("shrinking"),
            "{}",
            findings(&j, "retry-logic")
        );
    }

    /// Requests in flight when a 429 was answered cannot honour it: one that arrived
    /// before the 429 was answered, and, from a client seen sending concurrently, one of
    /// another operation within [`IN_FLIGHT_TOLERANCE_MS`] after. A later one is a breach;
    /// so is a retry of the 429'd request itself, and the next request of a client that
    /// sends one at a time (on the same connection, or a new one), however soon.
    #[test]
    fn requests_in_flight_when_a_429_was_answered_are_no_breach() {
        // `(seq, arrival ms, connection, opened at ms, path)`: the 429 is #10, at 1000 ms
        // on connection 1.
        let judge = |rows: &[(u64, i64, u64, i64, &str)]| {
            let mut r = Referee::new();
            let mut limited = e(
                10,
                1000,
                "GET",
                "/partner/cards",
                Some(429),
                Some("RATE_LIMITED"),
            );
            limited.retry_after = Some(1);
            limited.connection = Some(1);
            limited.connection_opened_at = Some(at(0));
            let mut rows: Vec<JournalEntry> = rows
                .iter()
                .map(|(seq, ms, conn, opened, path)| {
                    let mut x = e(*seq, *ms, "GET", path, Some(200), None);
                    x.connection = Some(*conn);
                    x.connection_opened_at =
                        Some(at(0) + chrono::Duration::microseconds(opened * 1000 + 250));
                    x
                })
                .chain([limited])
                .collect();
            rows.sort_by_key(|x| x.seq);
            rows.iter().for_each(|x| r.observe(x));
            r.finish()
                .into_iter()
                .find(|x| x.item == "rate-limit-handling")
                .unwrap()
        };
        let rate = judge(&[
            (11, 990, 2, 0, "/partner/rewards"),
            (12, 1000, 3, 0, "/member/balance"),
            (
                13,
                1000 + IN_FLIGHT_TOLERANCE_MS,
                2,
                0,
                "/partner/transactions",
            ),
            (14, 2000, 1, 0, "/partner/cards"),
        ]);
        assert_eq!(rate.verdict, ClientVerdict::Pass, "{rate:#?}");
        let rate = judge(&[
            (11, 990, 2, 0, "/partner/rewards"),
            (12, 1300, 2, 0, "/partner/transactions"),
        ]);
        assert_eq!(rate.verdict, ClientVerdict::Fail, "{rate:#?}");
        assert_eq!(rate.findings, 1, "{rate:#?}");
        assert!(
            rate.evidence.iter().any(|l| l.starts_with("#12 ")),
            "{rate:#?}"
        );
        // Concurrency shown only later (connection 1 used again after connection 2): the
        // request 10 ms after the 429 was on its way.
        let rate = judge(&[
            (11, 1010, 2, 0, "/member/balance"),
            (12, 2100, 1, 0, "/partner/rewards"),
        ]);
        assert_eq!(rate.verdict, ClientVerdict::Pass, "{rate:#?}");
        assert!(
            rate.summary.contains("1 request already on its way"),
            "{rate:#?}"
        );
        // The 429'd request again, 5 ms after, on another open connection.
        let rate = judge(&[(11, 1005, 2, 0, "/partner/cards")]);
        assert_eq!(rate.verdict, ClientVerdict::Fail, "{rate:#?}");
        // One request at a time: the next order 4 ms after the 429 (got's app does this),
        // on the same kept-alive connection, or on a new one.
        let rate = judge(&[(11, 1004, 1, 0, "/member/balance")]);
        assert_eq!(rate.verdict, ClientVerdict::Fail, "{rate:#?}");
        let rate = judge(&[(11, 1004, 2, 1003, "/member/balance")]);
        assert_eq!(rate.verdict, ClientVerdict::Fail, "{rate:#?}");
    }

    /// Two orders with the same card, member and amount under different notes, the second
    /// sent while the first was unanswered, are two orders; the same write sent again
    /// after the answer under a new note is one order retried under a new note.
    #[test]
    fn concurrent_orders_with_the_same_fields_are_not_one_order_under_two_notes() {
        let write = |seq: u64, ms: i64, note: &str, status: u16| {
            let code = (status == 500).then_some(ERR).flatten();
            let mut w = e(
                seq,
                ms,
                "POST",
                "/partner/transactions/purchase",
                Some(status),
                code,
            );
            w.body = Some(
                serde_json::json!({"card_id": "c", "member_identifier": "m", "purchase_amount": 5, "note": note}),
            );
            w.duration_ms = 40.0;
            w
        };
        let notes_of = |writes: &[JournalEntry]| {
            let mut r = Referee::new();
            writes.iter().for_each(|w| r.observe(w));
            r.finish().into_iter().find(|x| x.item == "notes").unwrap()
        };
        // Answer order: the second arrived at 10 ms, before the first's answer at 40 ms.
        let n = notes_of(&[
            write(1, 0, "A", 500),
            write(2, 10, "B", 200),
            write(3, 400, "A", 200),
        ]);
        assert_eq!(n.verdict, ClientVerdict::Pass, "{n:#?}");
        let n = notes_of(&[write(1, 0, "A", 500), write(2, 400, "B", 200)]);
        assert_eq!(n.verdict, ClientVerdict::Fail, "{n:#?}");
    }

    /// A successful page of the partner transactions list: `(seq, ms, page, last_page)`.
    fn page(seq: u64, ms: i64, page: u64, last: u64) -> JournalEntry {
        let mut p = e(seq, ms, "GET", "/partner/transactions", Some(200), None);
        p.query = Some(format!("per_page=100&page={page}"));
        p.last_page = Some(last);
        p
    }

    /// Pagination's verdict and summary after these `(ms, page, last_page)` pages.
    fn walks(pages: &[(i64, u64, u64)]) -> (ClientVerdict, String) {
        let mut r = Referee::new();
        for (i, (ms, p, last)) in pages.iter().enumerate() {
            r.observe(&page(i as u64 + 1, *ms, *p, *last));
        }
        let j = r.finish();
        let p = j.iter().find(|x| x.item == "pagination").unwrap();
        (p.verdict, p.summary.clone())
    }

    #[test]
    fn two_interleaved_walks_of_one_list_that_both_complete_pass() {
        // Two workers (or one worker twice) read the same three-page list at once.
        let (verdict, summary) = walks(&[
            (0, 1, 3),
            (5, 1, 3),
            (10, 2, 3),
            (15, 2, 3),
            (20, 3, 3),
            (25, 3, 3),
        ]);
        assert_eq!(verdict, ClientVerdict::Pass, "{summary}");
        assert!(summary.starts_with("read 2 multi-page lists"), "{summary}");
        // A second walk started before the first one ends.
        let (verdict, summary) = walks(&[(0, 1, 2), (5, 1, 2), (10, 2, 2), (15, 2, 2)]);
        assert_eq!(verdict, ClientVerdict::Pass, "{summary}");
    }

    #[test]
    fn one_of_two_interleaved_walks_stopping_early_fails() {
        // The second walk stops at page 1 of 3 while the first reads to the end.
        let (verdict, summary) = walks(&[(0, 1, 3), (5, 1, 3), (10, 2, 3), (20, 3, 3)]);
        assert_eq!(verdict, ClientVerdict::Fail, "{summary}");
        assert!(
            summary.starts_with("list read only in part (1)"),
            "{summary}"
        );
        // Each walk reads page 2, only one reads page 3.
        let (verdict, summary) = walks(&[(0, 1, 3), (5, 1, 3), (10, 2, 3), (15, 2, 3), (20, 3, 3)]);
        assert_eq!(verdict, ClientVerdict::Fail, "{summary}");
        assert!(
            summary.starts_with("list read only in part (1)"),
            "{summary}"
        );
        // Page 1 and the last page only: page 2 is missing.
        let (verdict, summary) = walks(&[(0, 1, 3), (10, 3, 3)]);
        assert_eq!(verdict, ClientVerdict::Fail, "{summary}");
    }

    #[test]
    fn pages_fetched_at_once_and_answered_out_of_order_complete_a_walk() {
        let (verdict, summary) = walks(&[(0, 1, 4), (10, 3, 4), (11, 4, 4), (12, 2, 4)]);
        assert_eq!(verdict, ClientVerdict::Pass, "{summary}");
        // A page past the end (reading until an empty page) belongs to no walk.
        let (verdict, summary) = walks(&[(0, 1, 2), (10, 2, 2), (20, 3, 2)]);
        assert_eq!(verdict, ClientVerdict::Pass, "{summary}");
    }

    #[test]
    fn a_walk_quiet_for_the_gap_is_judged_as_it_stands() {
        let later = QUIET_GAP_MS + 1;
        // The first walk stopped at page 1; a page 2 after the gap continues the new walk.
        let (verdict, summary) = walks(&[(0, 1, 2), (later, 1, 2), (later + 10, 2, 2)]);
        assert_eq!(verdict, ClientVerdict::Fail, "{summary}");
        assert!(
            summary.starts_with("list read only in part (1)"),
            "{summary}"
        );
    }

    #[test]
    fn walks_past_the_cap_are_never_a_pass() {
        // One more walk of one list at once than is followed: every walk it still follows
        // reads to the end, the displaced one cannot be told, so no pass.
        let n = MAX_WALKS_PER_LIST as u64 + 1;
        let mut pages: Vec<(i64, u64, u64)> = (0..n).map(|i| (i as i64, 1, 2)).collect();
        pages.extend((0..n).map(|i| (1000 + i as i64, 2, 2)));
        let (verdict, summary) = walks(&pages);
        assert_eq!(verdict, ClientVerdict::NotExercised, "{summary}");
        assert!(
            summary.contains("1 walk through a list no longer followed"),
            "{summary}"
        );
        // A failure it did see still fails.
        pages.truncate(pages.len() - 2);
        let (verdict, summary) = walks(&pages);
        assert_eq!(verdict, ClientVerdict::Fail, "{summary}");
        assert!(summary.contains("besides, 1 walk"), "{summary}");
        // The state stays bounded however many lists are read at once.
        let mut r = Referee::new();
        for i in 0..(MAX_OPEN_WALKS as u64 + 10) {
            let mut p = page(i + 1, 0, 1, 2);
            p.query = Some(format!("per_page=100&page=1&member={i}"));
            r.observe(&p);
        }
        assert_eq!(r.open_walks, MAX_OPEN_WALKS);
        assert_eq!(r.walks_untracked, 10);
    }

    #[test]
    fn bounded_map_forgets_the_oldest_and_stays_bounded() {
        let mut m: Bounded<u64, u64> = Bounded::new();
        for i in 0..(MAX_TRACKED as u64 * 3) {
            m.insert(i, i);
            if i % 2 == 0 {
                m.remove(&i);
            }
        }
        assert!(m.map.len() <= MAX_TRACKED);
        assert!(m.order.len() <= 2 * MAX_TRACKED + 1);
        assert!(m.get(&(MAX_TRACKED as u64 * 3 - 1)).is_some());
    }

    /// A client that met nothing: every verdict not exercised, each a skipped JUnit
    /// case saying what would exercise it, and the referee not failed for it.
    #[test]
    fn not_exercised_is_skipped_with_what_would_exercise_it() {
        let report = RefereeReport {
            version: "0".into(),
            started_at: "2024-01-01T00:00:00Z".into(),
            command: Some("client".into()),
            exit_status: Some(0),
            requests: 0,
            journal_lost_entries: false,
            judgements: Referee::new().finish(),
            client_problem: None,
            duration_ms: 5,
        };
        let ev = evaluation(&report);
        assert_eq!(
            ev.overall(),
            State::Pass,
            "nothing required, nothing failed"
        );
        let xml =
            crate::report::junit::render_evaluation(&ev, crate::report::junit::Profile::Generic);
        let doc = roxmltree::Document::parse(&xml).unwrap();
        let skipped: Vec<_> = doc
            .descendants()
            .filter(|n| n.has_tag_name("skipped"))
            .collect();
        assert_eq!(skipped.len(), report.judgements.len(), "{xml}");
        for s in skipped {
            assert_eq!(s.attribute("type"), Some("not_exercised"));
            let message = s.attribute("message").unwrap();
            assert!(
                message.starts_with("not exercised: ")
                    && !message.contains("not exercised: not exercised"),
                "{message}"
            );
            assert!(
                s.text().unwrap_or("").contains(NOT_EXERCISED_SETTLE),
                "{xml}"
            );
        }
        assert!(
            !xml.contains("<system-out>") && !xml.contains("<failure"),
            "{xml}"
        );
    }

    #[test]
    fn nothing_seen_is_not_exercised() {
        assert!(Referee::new()
            .finish()
            .iter()
            .all(|j| j.verdict == ClientVerdict::NotExercised && j.evidence.is_empty()));
    }
}
