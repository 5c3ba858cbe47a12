//! The Reward Loyalty Agent API contract as launchgate relies on it (contract Part A),
//! written once: where the API lives, the key header and the key shape (§A.1), the error
//! codes with their status and retry strategy (§A.4), and the wire type of the mock's
//! request journal, which the mock writes and the client referee reads.
//!
//! Everything else reads these from here: the mock, the loader and the target (which
//! refuse key-shaped values in files), redaction, the key-management findings, `doctor`
//! and the referee. A fact changed here changes for all of them.

use std::borrow::Cow;
use std::sync::{Arc, OnceLock};

use chrono::{DateTime, SecondsFormat, Utc};
use regex::Regex;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Where the API lives under a server root (§A.1).
pub const BASE_PATH: &str = "/api/agent/v1";

/// The request header that carries the key (§A.1).
pub const KEY_HEADER: &str = "X-Agent-Key";

/// Characters after a key's role prefix (§A.1).
pub const KEY_SECRET_LEN: usize = 40;

/// A key's role prefix, as a regular expression whose one group is the whole prefix
/// (`rl_agent_`, `rl_member_`, `rl_admin_`).
pub const KEY_PREFIX_REGEX: &str = r"(rl_(?:agent|member|admin)_)";

/// The role a key belongs to, which is also the route group it may call (§A.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// `rl_agent_` keys, owned by a partner.
    Partner,
    /// `rl_member_` keys, owned by a member.
    Member,
    /// `rl_admin_` keys, owned by an admin.
    Admin,
}

impl Role {
    /// Every role.
    pub const ALL: [Role; 3] = [Role::Partner, Role::Member, Role::Admin];

    /// The key prefix of this role.
    pub fn prefix(self) -> &'static str {
        match self {
            Role::Partner => "rl_agent_",
            Role::Member => "rl_member_",
            Role::Admin => "rl_admin_",
        }
    }

    /// The lowercase name used in responses and target files.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Partner => "partner",
            Role::Member => "member",
            Role::Admin => "admin",
        }
    }

    /// The role whose prefix `value` starts with, if any (the value need not be a whole key).
    pub fn of_key(value: &str) -> Option<Role> {
        Role::ALL
            .into_iter()
            .find(|r| value.starts_with(r.prefix()))
    }
}

/// Matches a whole Agent API key (a role prefix and 40 letters or digits) anywhere in a text.
pub fn key_pattern() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(&format!(
            "{KEY_PREFIX_REGEX}[A-Za-z0-9]{{{KEY_SECRET_LEN}}}"
        ))
        .expect("static regex")
    })
}

/// True for a value that is only a role prefix (`rl_agent_`): a placeholder for a key, not one.
pub fn is_key_placeholder(value: &str) -> bool {
    let value = value.trim();
    Role::ALL.into_iter().any(|r| r.prefix() == value)
}

/// How the contract tells a client to treat an error (§A.4 `retry_strategy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RetryStrategy {
    /// Retry with growing delays (429: after Retry-After). §A.3: one internal-error
    /// path of the released server says `retry_later`, which means the same.
    #[serde(alias = "retry_later")]
    Backoff,
    /// Never send the same request again.
    NoRetry,
    /// Send it again only after changing the request.
    FixRequest,
    /// Nothing the client can do; a person must act.
    ContactSupport,
}

impl RetryStrategy {
    /// The envelope's spelling: `backoff`, `no_retry`, `fix_request`, `contact_support`.
    pub fn as_str(self) -> &'static str {
        match self {
            RetryStrategy::Backoff => "backoff",
            RetryStrategy::NoRetry => "no_retry",
            RetryStrategy::FixRequest => "fix_request",
            RetryStrategy::ContactSupport => "contact_support",
        }
    }

    /// The strategy of an error response: its code's, or for a response without a known
    /// code (a bare 404, a proxy's 502), what its status implies.
    pub fn of_response(code: Option<ErrorCode>, status: u16) -> RetryStrategy {
        match code {
            Some(c) => c.retry_strategy(),
            None if status >= 500 || status == 429 || status == 408 => RetryStrategy::Backoff,
            None => RetryStrategy::NoRetry,
        }
    }
}

/// The error codes of §A.4, with the one the mock adds for a quirk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ErrorCode {
    /// 401: the key header is absent.
    AuthMissingKey,
    /// 401: the key is unknown or malformed.
    AuthInvalidKey,
    /// 401: the key was deactivated.
    AuthKeyRevoked,
    /// 401: the key's `expires_at` is past.
    AuthKeyExpired,
    /// 403: the key's owner is inactive.
    AuthOwnerInactive,
    /// 403: a member key of an anonymous member.
    AuthAnonymousMember,
    /// 403: the key's role is not the route group's.
    AuthWrongRole,
    /// 403: the partner lacks `agent_api_permission` (or a product permission).
    FeatureDisabled,
    /// 403: the key holds none of the route's scopes.
    AuthInsufficientScope,
    /// 429: the rate window is exhausted.
    RateLimited,
    /// 422: a bad body or query.
    ValidationFailed,
    /// 404: an unknown id, or another tenant's.
    NotFound,
    /// 422: a plan limit (no route of §A.7 produces it; listed for clients).
    LimitReached,
    /// 422: a partner redeem above the balance.
    InsufficientPoints,
    /// 422: the reward is not attached to the card.
    RewardNotLinked,
    /// 422: a purchase on an inactive card.
    CardInactive,
    /// 422: a member claim above the balance.
    InsufficientBalance,
    /// 403: a member claims a reward not on its cards.
    RewardNotAvailable,
    /// 500: unexpected.
    InternalError,
    /// 403: not in §A.4; only the mock's `foreign-id-403` quirk sends it (a server that
    /// tells another tenant's resources apart from missing ones).
    Forbidden,
}

/// Contract §A.4 as a table, one row per code in declaration order: the code, its
/// spelling in the envelope, its HTTP status, and what a client must do about it.
const CODES: [(ErrorCode, &str, u16, RetryStrategy); 20] = {
    use ErrorCode::*;
    use RetryStrategy::{Backoff, ContactSupport, FixRequest, NoRetry};
    [
        (AuthMissingKey, "AUTH_MISSING_KEY", 401, NoRetry),
        (AuthInvalidKey, "AUTH_INVALID_KEY", 401, NoRetry),
        (AuthKeyRevoked, "AUTH_KEY_REVOKED", 401, NoRetry),
        (AuthKeyExpired, "AUTH_KEY_EXPIRED", 401, NoRetry),
        (
            AuthOwnerInactive,
            "AUTH_OWNER_INACTIVE",
            403,
            ContactSupport,
        ),
        (AuthAnonymousMember, "AUTH_ANONYMOUS_MEMBER", 403, NoRetry),
        (AuthWrongRole, "AUTH_WRONG_ROLE", 403, NoRetry),
        (FeatureDisabled, "FEATURE_DISABLED", 403, ContactSupport),
        (
            AuthInsufficientScope,
            "AUTH_INSUFFICIENT_SCOPE",
            403,
            NoRetry,
        ),
        (RateLimited, "RATE_LIMITED", 429, Backoff),
        (ValidationFailed, "VALIDATION_FAILED", 422, FixRequest),
        (NotFound, "NOT_FOUND", 404, NoRetry),
        (LimitReached, "LIMIT_REACHED", 422, ContactSupport),
        (InsufficientPoints, "INSUFFICIENT_POINTS", 422, NoRetry),
        (RewardNotLinked, "REWARD_NOT_LINKED", 422, FixRequest),
        (CardInactive, "CARD_INACTIVE", 422, NoRetry),
        (InsufficientBalance, "INSUFFICIENT_BALANCE", 422, NoRetry),
        (RewardNotAvailable, "REWARD_NOT_AVAILABLE", 403, NoRetry),
        (InternalError, "INTERNAL_ERROR", 500, Backoff),
        (Forbidden, "FORBIDDEN", 403, NoRetry),
    ]
};

impl ErrorCode {
    /// Every code, in the order of the §A.4 table.
    pub const ALL: [ErrorCode; 20] = {
        let mut all = [ErrorCode::AuthMissingKey; 20];
        let mut i = 0;
        while i < all.len() {
            all[i] = CODES[i].0;
            i += 1;
        }
        all
    };

    /// The code as the envelope spells it (`AUTH_INVALID_KEY`).
    pub fn as_str(self) -> &'static str {
        CODES[self as usize].1
    }

    /// The code spelled `code`, if it is one.
    pub fn parse(code: &str) -> Option<ErrorCode> {
        CODES.iter().find(|row| row.1 == code).map(|row| row.0)
    }

    /// The HTTP status the contract gives it.
    pub fn status(self) -> u16 {
        CODES[self as usize].2
    }

    /// What a client must do about it.
    pub fn retry_strategy(self) -> RetryStrategy {
        CODES[self as usize].3
    }
}

// ---------------------------------------------------------------------------------------
// The request journal (`GET /__launchgate/journal`): the mock writes it, the referee reads it.
// One type on both sides, every field required unless the mock omits it: a field renamed
// here is renamed for both, and a journal without it is an error, not an empty value.
// ---------------------------------------------------------------------------------------

/// Where the mock serves its journal (`?after=SEQ&limit=N`), under the server root.
pub const JOURNAL_PATH: &str = "/__launchgate/journal";

/// Whether the mock answered a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Delivery {
    /// A response was sent.
    Responded,
    /// The connection was dropped without an answer (after committing, for a write).
    Dropped,
}

/// One request as the mock's journal reports it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JournalEntry {
    /// Sequence number, increasing.
    pub seq: u64,
    /// When the request arrived (RFC 3339, microseconds: the referee orders concurrent
    /// requests by it).
    #[serde(serialize_with = "rfc3339_us")]
    pub at: DateTime<Utc>,
    /// HTTP method.
    pub method: String,
    /// Path, without the query.
    pub path: String,
    /// Raw query string.
    #[serde(deserialize_with = "required")]
    pub query: Option<String>,
    /// The fixture name of the key sent, never the key itself.
    #[serde(with = "shared_str")]
    pub key_name: Option<Arc<str>>,
    /// The key's role.
    #[serde(deserialize_with = "required")]
    pub role: Option<Role>,
    /// Response status; `None` when the connection was dropped.
    #[serde(deserialize_with = "required")]
    pub status: Option<u16>,
    /// Error code of the response.
    #[serde(deserialize_with = "required")]
    pub code: Option<ErrorCode>,
    /// Answered or dropped.
    pub outcome: Delivery,
    /// Retry-After of a 429, in seconds.
    #[serde(deserialize_with = "required")]
    pub retry_after: Option<u64>,
    /// `pagination.last_page` of a list response.
    #[serde(deserialize_with = "required")]
    pub last_page: Option<u64>,
    /// Milliseconds the mock took to answer.
    pub duration_ms: f64,
    /// The request's JSON body (POST/PATCH); over 4 KiB, or not JSON, its start as text.
    #[serde(deserialize_with = "required")]
    pub body: Option<Value>,
    /// True when `body` holds only the first 4 KiB of a bigger body, as text.
    pub body_truncated: bool,
    /// The fault the mock injected into this request, if any (`internal-error`,
    /// `drop-after-commit`, `rate-limited`, `definitive-error`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fault: Option<Cow<'static, str>>,
    /// The ledger transaction a committed write created (also when its answer was
    /// dropped): the referee's ground truth for "committed N times".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub committed_txn: Option<String>,
    /// The ledger transactions a successful transactions list returned on this page: the
    /// referee's ground truth for "looked the order up".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub listed_txns: Option<Vec<String>>,
    /// The connection the request came on (numbered in accept order), if known: the
    /// referee tells a request already on its way on another open connection from one
    /// sent after an answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connection: Option<u64>,
    /// When that connection was accepted (RFC 3339, microseconds).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        serialize_with = "rfc3339_us_opt"
    )]
    pub connection_opened_at: Option<DateTime<Utc>>,
}

/// A page of the journal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JournalPage {
    /// Oldest sequence number still held (entries before it were evicted).
    pub first_seq: u64,
    /// Newest sequence number written so far (0 when nothing was written).
    pub last_seq: u64,
    /// Entries the journal keeps.
    pub capacity: usize,
    /// The byte bound of the journal (an estimate of memory held, not exact).
    pub max_bytes: usize,
    /// True when entries after `after` were already evicted: the reader fell behind.
    pub lost: bool,
    /// True when entries after this page exist: ask again with `after` = the last `seq` here.
    pub more: bool,
    /// The entries, oldest first.
    pub entries: Vec<JournalEntry>,
}

/// An `Option` field that must be present (as `null` when empty): serde reads a missing
/// `Option` as `None` unless the field has its own deserializer.
fn required<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d)
}

fn rfc3339_us<S: serde::Serializer>(at: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&at.to_rfc3339_opts(SecondsFormat::Micros, true))
}

fn rfc3339_us_opt<S: serde::Serializer>(
    at: &Option<DateTime<Utc>>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match at {
        Some(at) => rfc3339_us(at, s),
        None => s.serialize_none(),
    }
}

/// `Option<Arc<str>>` as an optional string: the mock shares one allocation per key name
/// across its entries.
mod shared_str {
    use std::sync::Arc;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &Option<Arc<str>>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(name) => s.serialize_str(name),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Arc<str>>, D::Error> {
        Ok(Option::<String>::deserialize(d)?.map(Arc::from))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_through_their_spelling_and_serde() {
        // The table is indexed by the enum's discriminant: every row in its place.
        for (i, row) in CODES.iter().enumerate() {
            assert_eq!(row.0 as usize, i, "{} out of place", row.1);
        }
        for c in ErrorCode::ALL {
            assert_eq!(ErrorCode::parse(c.as_str()), Some(c));
            assert_eq!(serde_json::to_value(c).unwrap(), c.as_str());
        }
        assert_eq!(ErrorCode::parse("RETRY_LATER"), None);
        assert_eq!(
            RetryStrategy::of_response(None, 503),
            RetryStrategy::Backoff
        );
        assert_eq!(
            RetryStrategy::of_response(Some(ErrorCode::FeatureDisabled), 403),
            RetryStrategy::ContactSupport
        );
        let later: RetryStrategy = serde_json::from_str("\"retry_later\"").unwrap();
        assert_eq!(
            later,
            RetryStrategy::Backoff,
            "§A.3: retry_later is backoff"
        );
    }

    #[test]
    fn the_key_shape_is_a_prefix_and_forty_characters() {
        let key = format!("rl_member_{}", "a1".repeat(20));
        assert!(key_pattern().is_match(&key));
        assert!(!key_pattern().is_match(&key[..key.len() - 1]));
        assert_eq!(Role::of_key(&key), Some(Role::Member));
        assert!(is_key_placeholder(" rl_admin_ "));
        assert!(!is_key_placeholder(&key));
    }

    /// A journal entry reads back as what was written, and an entry with a field under
    /// another name is refused rather than read as empty.
    #[test]
    fn journal_entries_round_trip_and_missing_fields_are_errors() {
        let e = JournalEntry {
            seq: 7,
            at: DateTime::from_timestamp_millis(1_800_000_000_123).unwrap(),
            method: "POST".into(),
            path: format!("{BASE_PATH}/partner/transactions/purchase"),
            query: None,
            key_name: Some(Arc::from("partner")),
            role: Some(Role::Partner),
            status: Some(422),
            code: Some(ErrorCode::ValidationFailed),
            outcome: Delivery::Responded,
            retry_after: None,
            last_page: None,
            duration_ms: 1.5,
            body: Some(serde_json::json!({"note": "n"})),
            body_truncated: false,
            fault: Some(Cow::Borrowed("definitive-error")),
            committed_txn: None,
            listed_txns: None,
            connection: Some(3),
            connection_opened_at: DateTime::from_timestamp_micros(1_800_000_000_100_250),
        };
        let v = serde_json::to_value(&e).unwrap();
        assert!(
            v["at"].as_str().unwrap().ends_with(":00.123000Z"),
            "{}",
            v["at"]
        );
        assert_eq!(
            serde_json::from_value::<JournalEntry>(v.clone()).unwrap(),
            e
        );
        for field in ["key_name", "status", "code", "query", "body", "role"] {
            let mut missing = v.clone();
            missing.as_object_mut().unwrap().remove(field);
            assert!(
                serde_json::from_value::<JournalEntry>(missing).is_err(),
                "{field} missing went unnoticed"
            );
        }
        for (from, to) in [("key_name", "key"), ("status", "status_code")] {
            let mut renamed = v.clone();
            let value = renamed.as_object_mut().unwrap().remove(from).unwrap();
            renamed[to] = value;
            assert!(
                serde_json::from_value::<JournalEntry>(renamed).is_err(),
                "{from} renamed to {to} went unnoticed"
            );
        }
    }
}
